// SPDX-License-Identifier: MIT
/*
 * `vireo serve blk|rng` options as a front-end sees them: the real binary
 * (next to this test's folder: build/tests/.. /vireo) is started with
 * --queue-size and --serial, and our drivers connect through
 * vhost_user_frontend.
 *  - --queue-size N: a ring of N works, a ring of 2N is refused (the back-end
 *    closes the connection on SET_VRING_NUM, so vireo_vhost_user_frontend_new fails).
 *  - --serial S: GET_ID returns S NUL-padded to 20 bytes, or all 20 bytes
 *    with no terminator (virtio 1.2 §5.2.6).
 *  - a full ring: with --queue-size 4 the driver posts requests until the
 *    ring refuses more (-EAGAIN), and every one of them completes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vireo/driver.h>
#include <vireo/spec.h>
#include <vireo/vhost_user_frontend.h>
#include <vireo/virtio_blk.h>
#include <vireo/virtio_rng.h>

#define IMAGE_BYTES (1u << 20)
#define WAIT_STEPS 1000 /* of 10 ms: how long the server may take to listen */

extern char **environ;

struct serve {
	char vireo[512];
	char dir[64];
	char sock[128];
	char image[128];
	pid_t pid;
};

/* The vireo binary of this build: this test lives in <build>/tests/. */
static void serve_locate(struct serve *s, const char *argv0)
{
	char copy[512];

	snprintf(copy, sizeof(copy), "%s", argv0);
	snprintf(s->vireo, sizeof(s->vireo), "%s/../vireo", dirname(copy));
	if (access(s->vireo, X_OK) != 0)
		fail_msg("%s is not built (make tests builds it)", s->vireo);
}

/* Start `vireo serve KIND --socket ... ARGS...` and wait until it listens. */
static void serve_start(struct serve *s, const char *kind, const char *const *args)
{
	const char *argv[16] = {s->vireo, "serve", kind, "--socket", s->sock};
	unsigned int n = 5;
	struct stat st;
	int fd;

	strcpy(s->dir, "/tmp/vireo-serveopt-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->sock, sizeof(s->sock), "%s/sock", s->dir);
	snprintf(s->image, sizeof(s->image), "%s/image", s->dir);
	argv[4] = s->sock;
	if (strcmp(kind, "blk") == 0) {
		fd = open(s->image, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, IMAGE_BYTES), 0);
		close(fd);
		argv[n++] = "--image";
		argv[n++] = s->image;
	}
	while (*args && n < 15)
		argv[n++] = *args++;
	argv[n] = NULL;
	assert_int_equal(posix_spawn(&s->pid, s->vireo, NULL, NULL, (char *const *)argv, environ),
			 0);
	for (int i = 0; i < WAIT_STEPS && stat(s->sock, &st) != 0; i++)
		usleep(10000);
	assert_int_equal(stat(s->sock, &st), 0);
}

/* SIGTERM; the server must exit 0 (serve's documented contract). */
static void serve_stop(struct serve *s)
{
	int status;

	assert_int_equal(kill(s->pid, SIGTERM), 0);
	assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
	s->pid = 0;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* cmocka prestate: argv[0]. */
static int setup(void **state)
{
	struct serve *s = calloc(1, sizeof(*s));

	if (!s)
		return -1;
	serve_locate(s, *state);
	*state = s;
	return 0;
}

/* Also after a failed assertion: no server left running, no files left. */
static int teardown(void **state)
{
	struct serve *s = *state;

	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	unlink(s->sock);
	unlink(s->image);
	rmdir(s->dir);
	free(s);
	return 0;
}

struct fe_blk {
	struct virtio_bus bus;
	struct virtio_blk_driver drv;
	struct vhost_user_frontend *fe;
	struct virtio_blk *blk;
};

/* Return: 0 with @f connected, or vireo_vhost_user_frontend_new()'s error (nothing left). */
static int fe_blk_open(struct fe_blk *f, const struct serve *s, unsigned int queue_size)
{
	struct vhost_user_frontend_options o = {.socket_path = s->sock,
						.device_id = VIRTIO_ID_BLOCK,
						.queue_size = queue_size,
						.timeout_ms = 5000};
	int ret;

	memset(f, 0, sizeof(*f));
	virtio_bus_init(&f->bus);
	assert_int_equal(virtio_blk_register(&f->bus, &f->drv), 0);
	ret = vireo_vhost_user_frontend_new(&f->fe, &f->bus, &o);
	if (ret < 0) {
		virtio_blk_unregister(&f->bus, &f->drv);
		return ret;
	}
	f->blk = virtio_blk_from_device(vireo_vhost_user_frontend_virtio_device(f->fe));
	assert_non_null(f->blk);
	return 0;
}

static void fe_blk_close(struct fe_blk *f)
{
	vireo_vhost_user_frontend_free(f->fe);
	virtio_blk_unregister(&f->bus, &f->drv);
}

/* GET_ID into a buffer pre-set to 'X', so padding and terminator are visible. */
static void check_id(struct virtio_blk *blk, const char *serial)
{
	char id[VIRTIO_BLK_ID_BYTES + 1];
	size_t len = strlen(serial);

	memset(id, 'X', sizeof(id));
	assert_int_equal(virtio_blk_get_id(blk, id), 0);
	assert_memory_equal(id, serial, len);
	for (size_t i = len; i < VIRTIO_BLK_ID_BYTES; i++)
		assert_int_equal(id[i], '\0');
	assert_int_equal(id[VIRTIO_BLK_ID_BYTES], '\0');
}

static void test_blk_queue_size_and_serial(void **state)
{
	const char *const args[] = {"--queue-size", "8", "--serial", "short-id", NULL};
	struct serve *s = *state;
	struct fe_blk f;

	serve_start(s, "blk", args);
	assert_int_equal(fe_blk_open(&f, s, 16), -EIO);
	assert_int_equal(fe_blk_open(&f, s, 8), 0);
	assert_int_equal(virtio_blk_queue_size(f.blk, 0), 8);
	check_id(f.blk, "short-id");
	fe_blk_close(&f);
	/* a smaller ring than the maximum is fine too */
	assert_int_equal(fe_blk_open(&f, s, 4), 0);
	assert_int_equal(virtio_blk_queue_size(f.blk, 0), 4);
	fe_blk_close(&f);
	serve_stop(s);
}

/* A serial of exactly 20 bytes comes back whole, with no terminator from the device. */
static void test_blk_serial_20_bytes(void **state)
{
	const char *const args[] = {"--serial", "abcdefghij0123456789", NULL};
	struct serve *s = *state;
	struct fe_blk f;

	serve_start(s, "blk", args);
	assert_int_equal(fe_blk_open(&f, s, 0), 0);
	assert_int_equal(virtio_blk_queue_size(f.blk, 0), 256);
	check_id(f.blk, "abcdefghij0123456789");
	fe_blk_close(&f);
	serve_stop(s);
}

/* Every descriptor in use: posts stop at -EAGAIN, then everything completes. */
static void test_blk_full_ring(void **state)
{
	const char *const args[] = {"--queue-size", "4", NULL};
	struct virtio_blk_request req[8], *done[8];
	unsigned int posted = 0, completed = 0;
	struct serve *s = *state;
	struct fe_blk f;
	int ret;

	serve_start(s, "blk", args);
	assert_int_equal(fe_blk_open(&f, s, 4), 0);
	for (unsigned int round = 0; round < 3; round++) {
		memset(req, 0, sizeof(req));
		posted = completed = 0;
		for (unsigned int i = 0; i < 8; i++) {
			req[i].type = VIRTIO_BLK_T_OUT;
			req[i].sector = 8 * i;
			req[i].len = 4096;
			req[i].data = virtio_blk_alloc_buffer(f.blk, 4096);
			assert_non_null(req[i].data);
			memset(req[i].data, (int)(0x10 * round + i + 1), 4096);
		}
		while ((ret = virtio_blk_submit(f.blk, 0, &req[posted])) == 0)
			posted++;
		assert_int_equal(ret, -EAGAIN);
		printf("# round %u: %u requests fill the ring of 4\n", round, posted);
		assert_true(posted >= 1 && posted <= 4);
		assert_int_equal(virtio_blk_in_flight(f.blk, 0), posted);
		while (completed < posted) {
			ret = virtio_blk_poll(f.blk, 0, done, 8, 5000);
			assert_true(ret > 0);
			for (int i = 0; i < ret; i++)
				assert_int_equal(done[i]->result, 0);
			completed += (unsigned int)ret;
		}
		assert_int_equal(virtio_blk_in_flight(f.blk, 0), 0);
		for (unsigned int i = 0; i < posted; i++) {
			uint8_t back[4096];

			assert_int_equal(virtio_blk_read(f.blk, 8 * i, back, sizeof(back)), 0);
			assert_memory_equal(back, req[i].data, sizeof(back));
		}
		for (unsigned int i = 0; i < 8; i++)
			virtio_blk_free_buffer(f.blk, req[i].data);
	}
	fe_blk_close(&f);
	serve_stop(s);
}

static void test_rng_queue_size(void **state)
{
	const char *const args[] = {"--queue-size", "4", NULL};
	struct vhost_user_frontend_options o = {.device_id = VIRTIO_ID_ENTROPY, .timeout_ms = 5000};
	struct virtio_rng_driver drv = {0};
	struct vhost_user_frontend *fe;
	struct virtio_bus bus;
	struct virtio_rng *rng;
	uint8_t buf[256];
	struct serve *s = *state;

	serve_start(s, "rng", args);
	o.socket_path = s->sock;
	virtio_bus_init(&bus);
	assert_int_equal(virtio_rng_register(&bus, &drv), 0);
	o.queue_size = 8;
	assert_int_equal(vireo_vhost_user_frontend_new(&fe, &bus, &o), -EIO);
	o.queue_size = 4;
	assert_int_equal(vireo_vhost_user_frontend_new(&fe, &bus, &o), 0);
	rng = virtio_rng_from_device(vireo_vhost_user_frontend_virtio_device(fe));
	assert_non_null(rng);
	assert_int_equal(virtio_rng_read(rng, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	vireo_vhost_user_frontend_free(fe);
	virtio_rng_unregister(&bus, &drv);
	serve_stop(s);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate_setup_teardown(test_blk_queue_size_and_serial, setup,
							 teardown, argv[0]),
		cmocka_unit_test_prestate_setup_teardown(test_blk_serial_20_bytes, setup, teardown,
							 argv[0]),
		cmocka_unit_test_prestate_setup_teardown(test_blk_full_ring, setup, teardown,
							 argv[0]),
		cmocka_unit_test_prestate_setup_teardown(test_rng_queue_size, setup, teardown,
							 argv[0]),
	};

	(void)argc;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
