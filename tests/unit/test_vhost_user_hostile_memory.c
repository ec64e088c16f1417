// SPDX-License-Identifier: MIT
/*
 * Hostile front-ends against guest memory and ring set-up (the hardening
 * classes "memory unmapped under in-flight I/O", "a shrunk memfd" and the
 * smaller gaps), each against the real `vireo serve blk` of this build
 * (tests/lib/vireo_proc.h) driven by a scripted front-end (tests/lib/vu_client.h):
 * - a front-end that truncates its memory file after SET_MEM_TABLE loses its
 *   connection at its next kick instead of killing the server with SIGBUS
 *   (mem_guard.h); the next front-end is served; a SIGBUS that is not in a
 *   guarded mapping still kills;
 * - SET_MEM_TABLE and GET_VRING_BASE/restart cycles under a steady stream of
 *   I/O: every request answered exactly once, data intact, no access to an
 *   unmapped page (ASan build);
 * - a ring started without SET_FEATURES, SET_FEATURES changing features under
 *   a running ring, SET_VRING_ADDR with the LOG flag: each refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vireo/inflight.h>
#include <vireo/mem_guard.h>

#include "tests/lib/fd_count.h"
#include "tests/lib/poll_until.h"
#include "tests/lib/vireo_proc.h"
#include "tests/lib/vu_client.h"

#define STRESS_SECONDS 3
#define STRESS_DEPTH 8u
#define BASE_FEATURES (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES))

#define IMAGE_BYTES (1u << 20)

/* The real server of this build on a fresh 1 MiB image, with what it had open when idle. */
struct server {
	struct vireo_proc proc;
	char sock[128], image[128];
	unsigned int fds_idle;
	unsigned int fds_before;
	unsigned long goods;
};

static int setup(void **state)
{
	struct server *s = calloc(1, sizeof(*s));
	const char *args[] = {"serve", "blk", "--socket", s->sock, "--image", s->image, NULL};
	int fd;

	if (!s)
		return -1;
	s->fds_before = fd_count_open();
	vireo_proc_dir(&s->proc);
	snprintf(s->sock, sizeof(s->sock), "%s/sock", s->proc.dir);
	snprintf(s->image, sizeof(s->image), "%s/image", s->proc.dir);
	fd = open(s->image, O_CREAT | O_RDWR, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, IMAGE_BYTES), 0);
	close(fd);
	vireo_proc_start(&s->proc, args, s->sock);
	s->fds_idle = fd_count_of_process(s->proc.pid);
	*state = s;
	return 0;
}

static bool server_is_idle(void *arg)
{
	struct server *s = arg;

	return fd_count_of_process(s->proc.pid) == s->fds_idle;
}

/* The last front-end's close may still be on its way: bounded wait, not a timing check. */
static void server_wait_idle(struct server *s)
{
	poll_until(server_is_idle, s, 5000);
	assert_int_equal(fd_count_of_process(s->proc.pid), s->fds_idle);
}

/* SIGTERM: exit 0, nothing left open or mapped from a front-end, no sanitizer report. */
static int teardown(void **state)
{
	struct server *s = *state;
	int status;
	char *out;

	server_wait_idle(s);
	out = vireo_proc_stop(&s->proc, &status);
	assert_int_equal(status, 0);
	assert_null(strstr(out, "Sanitizer"));
	unlink(s->image);
	unlink(s->sock);
	vireo_proc_cleanup(&s->proc);
	assert_int_equal(fd_count_open(), s->fds_before);
	free(s);
	return 0;
}

/* A good front-end: handshake, a write and its read-back, through the image file too. */
static void good_client(struct server *s)
{
	uint8_t out[4096], in[4096];
	struct vu_client c;
	unsigned int i;
	int fd;

	s->goods++;
	for (i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + s->goods);
	vu_client_connect(&c, s->sock);
	vu_client_handshake(&c);
	assert_int_equal(vu_client_blk(&c, VIRTIO_BLK_T_OUT, 8, out, sizeof(out)), VIRTIO_BLK_S_OK);
	memset(in, 0, sizeof(in));
	assert_int_equal(vu_client_blk(&c, VIRTIO_BLK_T_IN, 8, in, sizeof(in)), VIRTIO_BLK_S_OK);
	assert_memory_equal(in, out, sizeof(out));
	vu_client_close(&c);
	fd = open(s->image, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, in, sizeof(in), 8 * 512), (ssize_t)sizeof(in));
	close(fd);
	assert_memory_equal(in, out, sizeof(out));
}

/* ---- mem_guard on its own ---- */

static void test_guard_absorbs_sigbus(void **state)
{
	long page = sysconf(_SC_PAGESIZE);
	volatile uint8_t *map;
	int fd, slot;

	(void)state;
	fd = memfd_create("guard-test", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4 * page), 0);
	map = mmap(NULL, (size_t)(4 * page), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(map != MAP_FAILED);
	map[3 * page] = 7;
	slot = vireo_mem_guard_register((void *)map, (size_t)(4 * page), (size_t)page);
	assert_true(slot >= 0);
	assert_false(vireo_mem_guard_faulted(slot));
	assert_int_equal(ftruncate(fd, page), 0);
	/* Past the new end of file: a zero page instead of a dead process. */
	assert_int_equal(map[3 * page], 0);
	map[3 * page + 1] = 9;
	assert_int_equal(map[3 * page + 1], 9);
	assert_true(vireo_mem_guard_faulted(slot));
	map[0] = 1; /* still backed by the file */
	vireo_mem_guard_unregister(slot);
	assert_false(vireo_mem_guard_faulted(slot));
	assert_int_equal(munmap((void *)map, (size_t)(4 * page)), 0);
	close(fd);
	assert_int_equal(vireo_mem_guard_register((void *)1, 4096, 4096), -EINVAL);
	assert_int_equal(vireo_mem_guard_register(NULL, 4096, 3000), -EINVAL);
}

/*
 * Run in a fresh process (re-executed: cmocka's own SIGBUS handler must not be
 * the one the guard chains to): a guard is installed, a SIGBUS outside any
 * guarded mapping happens. Return: only if the process survived it.
 */
static int unguarded_sigbus(void)
{
	long page = sysconf(_SC_PAGESIZE);
	volatile uint8_t *map;
	void *guarded;
	int fd = memfd_create("unguarded", MFD_CLOEXEC);

	guarded = mmap(NULL, (size_t)page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fd < 0 || ftruncate(fd, 2 * page) < 0 || guarded == MAP_FAILED ||
	    vireo_mem_guard_register(guarded, (size_t)page, (size_t)page) < 0)
		return 2;
	map = mmap(NULL, (size_t)(2 * page), PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED || ftruncate(fd, 0) < 0)
		return 3;
	(void)map[page];
	return 0;
}

/* The guard only takes what is its own: any other SIGBUS still kills. */
static void test_unguarded_sigbus_still_kills(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/proc/self/exe", "test_vhost_user_hostile_memory", "unguarded-sigbus",
		      (char *)NULL);
		_exit(4);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* Killed by SIGBUS; under ASan its own handler reports the fault and exits 1. */
	if (WIFEXITED(status))
		assert_int_equal(WEXITSTATUS(status), 1);
	else
		assert_int_equal(WTERMSIG(status), SIGBUS);
}

/* ---- a front-end that shrinks its memory ---- */

/* Lines of /proc/@pid/maps that name @needle. */
static unsigned int maps_count(pid_t pid, const char *needle)
{
	char path[64], line[512];
	unsigned int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

struct maps_query {
	pid_t pid;
	const char *needle;
};

static bool maps_are_gone(void *arg)
{
	const struct maps_query *q = arg;

	return maps_count(q->pid, q->needle) == 0;
}

/*
 * Wait up to 5 s for @pid to hold no mapping that names @needle: the server
 * closes a connection's fds before it unmaps its memory (vub_disconnect()
 * resets the device, finishing in-flight I/O, in between), so an idle fd
 * count does not yet say the mappings are gone. Return: the mappings left.
 */
static unsigned int maps_wait_gone(pid_t pid, const char *needle)
{
	struct maps_query q = {.pid = pid, .needle = needle};

	poll_until(maps_are_gone, &q, 5000);
	return maps_count(pid, needle);
}

/*
 * The request sits in the arena's last pages, the ring in its first: the file
 * is cut between them, so only the server's access to the request faults (the
 * test, which shares the mapping, never touches those pages again).
 */
static void test_truncated_memfd(void **state)
{
	struct server *s = *state;
	size_t off = VU_ARENA_BYTES - 8192;
	struct vireo_blk_outhdr *hdr;
	struct virtio_sg sg[3];
	struct vu_client c;

	good_client(s);
	vu_client_connect(&c, s->sock);
	vu_client_handshake(&c);
	hdr = (struct vireo_blk_outhdr *)((uint8_t *)c.arena.base + off);
	hdr->type = VIRTIO_BLK_T_IN;
	hdr->sector = 0;
	sg[0] = (struct virtio_sg){VU_GUEST_BASE + off, sizeof(*hdr)};
	sg[1] = (struct virtio_sg){VU_GUEST_BASE + off + 512, 512};
	sg[2] = (struct virtio_sg){VU_GUEST_BASE + off + 4096, 1};
	assert_int_equal(virtqueue_add_sgs(&c.vq, sg, 1, 2, hdr), 0);
	assert_int_equal(ftruncate(c.arena.memfd, VU_ARENA_BYTES / 2), 0);
	virtqueue_kick(&c.vq);
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	/* Only that connection went: the next front-end is served, nothing of it kept. */
	good_client(s);
	server_wait_idle(s);
	assert_int_equal(maps_wait_gone(s->proc.pid, "vireo-dma"), 0);
}

/*
 * The same for the inflight region (PROTOCOL_F_INFLIGHT_SHMFD, `serve blk`'s
 * default): a front-end's own inflight file (the regions we make are sealed)
 * shrunk under the mapping. The server's next write there, when it pops the
 * request, faults; the guard absorbs it and the connection is closed; the
 * next front-end is served.
 */
static void test_truncated_inflight_file(void **state)
{
	struct server *s = *state;
	uint64_t size = vireo_vinflight_queue_size(false, VU_QSZ);
	int fd = memfd_create("vu-inflight", MFD_CLOEXEC);
	uint8_t buf[512] = {0x22};
	struct vu_client c;

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	vu_client_connect(&c, s->sock);
	vu_client_negotiate_inflight(&c, true);
	vu_client_start_with_inflight(&c, fd, size);
	assert_int_equal(vu_client_blk(&c, VIRTIO_BLK_T_OUT, 1, buf, sizeof(buf)), VIRTIO_BLK_S_OK);
	assert_int_equal(ftruncate(fd, 0), 0);
	/* Not waited for: the server closes the connection instead of answering. */
	(void)vu_client_queue_read(&c, 1);
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	close(fd);
	good_client(s);
	server_wait_idle(s);
}

/* ---- memory-table changes under a steady stream of I/O ---- */

struct stream {
	struct vu_client c;
	struct vu_blk_req *req[STRESS_DEPTH];
	uint64_t ga[STRESS_DEPTH];
	unsigned long submitted, completed;
};

static void stream_submit(struct stream *st, unsigned int slot)
{
	struct vu_blk_req *r = st->req[slot];
	uint64_t ga = st->ga[slot], sector = (st->submitted % 64) * 8;
	struct virtio_sg sg[3];
	bool write = st->submitted % 2 == 0;

	r->hdr.type = write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
	r->hdr.sector = sector;
	r->status = 0xff;
	if (write)
		memset(r->data, (int)(sector & 0xff), sizeof(r->data));
	sg[0] = (struct virtio_sg){ga + offsetof(struct vu_blk_req, hdr), sizeof(r->hdr)};
	sg[1] = (struct virtio_sg){ga + offsetof(struct vu_blk_req, data), sizeof(r->data)};
	sg[2] = (struct virtio_sg){ga + offsetof(struct vu_blk_req, status), 1};
	assert_int_equal(virtqueue_add_sgs(&st->c.vq, sg, write ? 2 : 1, write ? 1 : 2,
					   (void *)(uintptr_t)(slot + 1)),
			 0);
	st->submitted++;
}

/* Take every answered request, check it, put its slot back in the stream. */
static void stream_reap(struct stream *st)
{
	uint32_t len;
	void *token;

	while ((token = virtqueue_get_buf(&st->c.vq, &len))) {
		unsigned int slot = (unsigned int)(uintptr_t)token - 1;
		struct vu_blk_req *r = st->req[slot];

		assert_int_equal(r->status, VIRTIO_BLK_S_OK);
		if (r->hdr.type == VIRTIO_BLK_T_IN)
			assert_int_equal(r->data[100], (uint8_t)(r->hdr.sector & 0xff));
		st->completed++;
		stream_submit(st, slot);
	}
	virtqueue_kick(&st->c.vq);
}

/* GET_VRING_BASE, then the ring again from there (QEMU's stop/start). */
static void stream_restart_ring(struct stream *st)
{
	struct vhost_user_vring_state s0 = {.index = 0};
	struct vhost_user_vring_addr a = {.index = 0};
	struct vhost_user_msg m;

	assert_int_equal(
		vu_client_send(&st->c, VHOST_USER_GET_VRING_BASE, &s0, sizeof(s0), NULL, 0, false),
		0);
	vu_client_reply(&st->c, VHOST_USER_GET_VRING_BASE, &m);
	/* Stopped only after every request in flight was answered: base == avail idx. */
	stream_reap(st);
	vu_client_state(&st->c, VHOST_USER_SET_VRING_BASE, 0, m.payload.state.num);
	a.desc_user_addr = vu_client_user_addr(st->c.desc);
	a.avail_user_addr = vu_client_user_addr(st->c.avail);
	a.used_user_addr = vu_client_user_addr(st->c.used);
	assert_int_equal(vu_client_ack(&st->c, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0),
			 0);
	close(st->c.kick);
	vu_client_vring_fd(&st->c, VHOST_USER_SET_VRING_KICK, &st->c.kick);
	virtqueue_kick(&st->c.vq);
}

static void test_mem_table_under_io(void **state)
{
	struct server *s = *state;
	struct stream st;
	unsigned int i, round = 0;
	time_t end;

	memset(&st, 0, sizeof(st));
	vu_client_connect(&st.c, s->sock);
	vu_client_handshake(&st.c);
	/* Every sector the stream touches holds its known content before it starts. */
	for (i = 0; i < 64; i++) {
		uint8_t data[4096];

		memset(data, (int)((i * 8) & 0xff), sizeof(data));
		assert_int_equal(vu_client_blk(&st.c, VIRTIO_BLK_T_OUT, i * 8, data, sizeof(data)),
				 VIRTIO_BLK_S_OK);
	}
	for (i = 0; i < STRESS_DEPTH; i++) {
		st.req[i] = virtio_dma_alloc(&st.c.arena, sizeof(struct vu_blk_req), 16, &st.ga[i]);
		assert_non_null(st.req[i]);
		stream_submit(&st, i);
	}
	virtqueue_kick(&st.c.vq);
	end = time(NULL) + STRESS_SECONDS;
	while (time(NULL) < end) {
		/* A new mapping of the same memfd each time: the old one is unmapped. */
		if (round % 3 == 2)
			stream_restart_ring(&st);
		else
			vu_client_mem(&st.c);
		stream_reap(&st);
		round++;
	}
	while (st.completed + STRESS_DEPTH < st.submitted) {
		vu_client_wait_used(&st.c, NULL);
		stream_reap(&st);
	}
	print_message("# %u memory-table changes or ring restarts, %lu requests answered\n", round,
		      st.completed);
	assert_true(round > 10);
	assert_true(st.completed > round);
	vu_client_close(&st.c);
	good_client(s);
}

/* ---- refused set-ups ---- */

/* Memory, queue 0's ring in it, and SET_VRING_ADDR with @flags. */
static void send_ring_addr(struct vu_client *c, uint32_t flags, bool need_reply)
{
	struct vhost_user_vring_addr a = {.index = 0, .flags = flags};

	vu_client_mem(c);
	vu_client_ring(c);
	a.desc_user_addr = vu_client_user_addr(c->desc);
	a.avail_user_addr = vu_client_user_addr(c->avail);
	a.used_user_addr = vu_client_user_addr(c->used);
	assert_int_equal(
		vu_client_send(c, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0, need_reply),
		0);
}

static void test_ring_without_set_features(void **state)
{
	struct server *s = *state;
	struct vu_client c;

	vu_client_connect(&c, s->sock);
	(void)vu_client_get_u64(&c, VHOST_USER_GET_FEATURES);
	assert_int_equal(vu_client_send(&c, VHOST_USER_SET_PROTOCOL_FEATURES,
					&(uint64_t){VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK)}, 8,
					NULL, 0, false),
			 0);
	assert_int_equal(vu_client_send(&c, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0, false), 0);
	send_ring_addr(&c, 0, false);
	vu_client_vring_fd(&c, VHOST_USER_SET_VRING_KICK, &c.kick);
	/* Started, addressed, enabled: it would run now, but features were never set. */
	assert_int_equal(vu_client_send(&c, VHOST_USER_SET_VRING_ENABLE,
					&(struct vhost_user_vring_state){.index = 0, .num = 1}, 8,
					NULL, 0, true),
			 0);
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	good_client(s);
}

static void test_features_change_under_running_ring(void **state)
{
	struct server *s = *state;
	uint64_t same = BASE_FEATURES, other = BASE_FEATURES | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);
	uint8_t buf[512];
	struct vu_client c;

	vu_client_connect(&c, s->sock);
	vu_client_handshake(&c);
	/* The same set again is what QEMU does: accepted, the ring keeps running. */
	assert_int_equal(vu_client_ack(&c, VHOST_USER_SET_FEATURES, &same, 8, NULL, 0), 0);
	assert_int_equal(vu_client_blk(&c, VIRTIO_BLK_T_IN, 0, buf, sizeof(buf)), VIRTIO_BLK_S_OK);
	assert_int_equal(vu_client_send(&c, VHOST_USER_SET_FEATURES, &other, 8, NULL, 0, true), 0);
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	good_client(s);
}

static void test_vring_addr_log_flag(void **state)
{
	struct server *s = *state;
	struct vu_client c;

	vu_client_connect(&c, s->sock);
	vu_client_negotiate(&c, BASE_FEATURES);
	send_ring_addr(&c, 1 /* VHOST_VRING_F_LOG */, true);
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	good_client(s);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guard_absorbs_sigbus),
		cmocka_unit_test(test_unguarded_sigbus_still_kills),
		cmocka_unit_test_setup_teardown(test_truncated_memfd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_inflight_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mem_table_under_io, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_without_set_features, setup, teardown),
		cmocka_unit_test_setup_teardown(test_features_change_under_running_ring, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vring_addr_log_flag, setup, teardown),
	};

	if (argc > 1 && strcmp(argv[1], "unguarded-sigbus") == 0)
		return unguarded_sigbus();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
