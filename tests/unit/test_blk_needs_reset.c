// SPDX-License-Identifier: MIT
/*
 * Issue 9 §7e: a device that sets DEVICE_NEEDS_RESET while our virtio-blk
 * driver waits for it. virtio 1.4 §2.1.1 (drv:BF/Device Status Field): the
 * driver cannot rely on the requests in flight completing, and a reset
 * recovers; dev:BF/Device Status Field (D-BF-02): the device sends a config
 * notification with it. The device here is a model that pops the first
 * request and gives up (NEEDS_RESET, nothing used), served over loopback
 * (config notification) and over vhost-user (SET_VRING_ERR), and `vireo blk`
 * run against the vhost-user one. Expected: the waiting requests fail with
 * -EIO within a bound, the driver resets the device, later requests fail at
 * once, and `vireo blk` says DEVICE_NEEDS_RESET and exits non-zero.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vireo/device.h>
#include <vireo/driver.h>
#include <vireo/event_loop.h>
#include <vireo/loopback.h>
#include <vireo/vhost_user_backend.h>
#include <vireo/vhost_user_frontend.h>
#include <vireo/virtio_blk.h>

#include "tests/lib/bounded_call.h"
#include "tests/lib/vireo_proc.h"

#define GIVEUP_SECTORS 2048u
#define NREQS 3u

/* ---- the device: a block device that gives up on its first request ---- */

struct giveup {
	struct vdev vdev; /* first: the ops get it */
	struct vireo_blk_config config;
	atomic_uint popped;
};

static void giveup_queue_notify(struct vdev *dev, struct vdev_queue *q)
{
	struct giveup *g = (struct giveup *)(void *)dev;
	struct vring_iov iov[8];
	struct vring_chain chain;

	if (vireo_vdev_queue_pop(q, &chain, iov, 8) != 0)
		return;
	atomic_fetch_add(&g->popped, 1);
	/* Nothing is ever pushed: the request waits until the driver notices. */
	vireo_vdev_queue_set_needs_reset(q, "test model: cannot go on");
}

static const struct vdev_ops giveup_ops = {.queue_notify = giveup_queue_notify};

static void giveup_init(struct giveup *g)
{
	memset(g, 0, sizeof(*g));
	g->config.capacity = cpu_to_le64(GIVEUP_SECTORS);
	assert_int_equal(vireo_vdev_init(&g->vdev, &giveup_ops, "giveup", VIRTIO_ID_BLOCK, 0, 1,
					 256, &g->config, sizeof(g->config)),
			 0);
}

/* ---- the driver stack over either transport ---- */

struct stack {
	struct giveup g;
	struct virtio_bus bus;
	struct virtio_blk_driver drv;
	struct loopback *lb;
	/* vhost-user: our back-end in a thread, our front-end */
	char dir[64], sock[128];
	struct event_loop loop;
	struct vhost_user_backend *b;
	pthread_t thread;
	struct vhost_user_frontend *fe;
	struct virtio_device *vdev;
	struct virtio_blk *blk;
};

static void *server_thread(void *arg)
{
	struct stack *s = arg;

	assert_int_equal(vireo_vhost_user_backend_run(s->b), 0);
	return NULL;
}

static void server_start(struct stack *s)
{
	struct vhost_user_backend_options vo = {0};

	strcpy(s->dir, "/tmp/vireo-nr-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->sock, sizeof(s->sock), "%s/sock", s->dir);
	vo.socket_path = s->sock;
	assert_int_equal(vireo_event_loop_init(&s->loop), 0);
	assert_int_equal(vireo_vhost_user_backend_new(&s->b, &s->g.vdev, &s->loop, &vo), 0);
	assert_int_equal(pthread_create(&s->thread, NULL, server_thread, s), 0);
}

static void stack_open(struct stack *s, bool vhost_user)
{
	memset(s, 0, sizeof(*s));
	giveup_init(&s->g);
	virtio_bus_init(&s->bus);
	assert_int_equal(virtio_blk_register(&s->bus, &s->drv), 0);
	if (vhost_user) {
		struct vhost_user_frontend_options o = {.socket_path = s->sock,
							.device_id = VIRTIO_ID_BLOCK,
							.dma_bytes = 1u << 20,
							.timeout_ms = 2000};

		server_start(s);
		o.socket_path = s->sock;
		assert_int_equal(vireo_vhost_user_frontend_new(&s->fe, &s->bus, &o), 0);
		s->vdev = vireo_vhost_user_frontend_virtio_device(s->fe);
	} else {
		assert_int_equal(vireo_loopback_new(&s->lb, &s->bus, &s->g.vdev, 1u << 20), 0);
		s->vdev = vireo_loopback_virtio_device(s->lb);
	}
	s->blk = virtio_blk_from_device(s->vdev);
	assert_non_null(s->blk);
	assert_int_equal(virtio_blk_capacity(s->blk), GIVEUP_SECTORS);
}

static void stack_close(struct stack *s)
{
	if (s->lb)
		vireo_loopback_free(s->lb);
	if (s->fe)
		vireo_vhost_user_frontend_free(s->fe);
	if (s->b) {
		vireo_event_loop_stop(&s->loop);
		assert_int_equal(pthread_join(s->thread, NULL), 0);
		vireo_vhost_user_backend_free(s->b);
		vireo_event_loop_destroy(&s->loop);
		rmdir(s->dir);
	}
	virtio_blk_unregister(&s->bus, &s->drv);
	vireo_vdev_destroy(&s->g.vdev);
}

/* ---- the calls that must end ---- */

struct read_job {
	struct virtio_blk *blk;
	void *buf;
	int ret;
};

static void read_job_run(void *arg)
{
	struct read_job *j = arg;

	j->ret = virtio_blk_read(j->blk, 0, j->buf, 512);
}

/* A synchronous read waits on the device, which gives up: -EIO, reset, and then at once. */
static void sync_read_fails(struct stack *s)
{
	struct read_job j = {.blk = s->blk};
	char buf[512];

	j.buf = buf;
	assert_true(bounded_call(read_job_run, &j));
	assert_int_equal(j.ret, -EIO);
	assert_int_equal(atomic_load(&s->g.popped), 1);
	assert_true(virtio_device_needs_reset(s->vdev));
	/* Later requests fail without reaching the (reset) device. */
	assert_true(bounded_call(read_job_run, &j));
	assert_int_equal(j.ret, -EIO);
	assert_int_equal(atomic_load(&s->g.popped), 1);
}

static void test_loopback_sync_read(void **state)
{
	struct stack *s = malloc(sizeof(*s));

	(void)state;
	assert_non_null(s);
	stack_open(s, false);
	sync_read_fails(s);
	/* The driver reset the device: its status reads 0, no NEEDS_RESET left. */
	assert_int_equal(s->vdev->config->get_status(s->vdev), 0);
	stack_close(s);
	free(s);
}

static void test_vhost_user_sync_read(void **state)
{
	struct stack *s = malloc(sizeof(*s));

	(void)state;
	assert_non_null(s);
	stack_open(s, true);
	sync_read_fails(s);
	stack_close(s);
	free(s);
}

struct poll_job {
	struct virtio_blk *blk;
	struct virtio_blk_request *done[NREQS];
	unsigned int got;
	int ret;
};

static void poll_job_run(void *arg)
{
	struct poll_job *j = arg;

	while (j->got < NREQS) {
		j->ret = virtio_blk_poll(j->blk, 0, j->done + j->got, NREQS - j->got, -1);
		if (j->ret <= 0)
			return;
		j->got += (unsigned int)j->ret;
	}
}

/* Asynchronous requests in flight all come back, failed with -EIO. */
static void test_loopback_async_requests(void **state)
{
	struct stack *s = malloc(sizeof(*s));
	struct virtio_blk_request reqs[NREQS], *ptrs[NREQS];
	struct poll_job j = {0};
	void *buf;

	(void)state;
	assert_non_null(s);
	stack_open(s, false);
	buf = virtio_blk_alloc_buffer(s->blk, NREQS * 512);
	assert_non_null(buf);
	for (unsigned int i = 0; i < NREQS; i++) {
		reqs[i] = (struct virtio_blk_request){.type = VIRTIO_BLK_T_IN,
						      .sector = i,
						      .data = (char *)buf + i * 512,
						      .len = 512};
		ptrs[i] = &reqs[i];
	}
	assert_int_equal(virtio_blk_submit_batch(s->blk, 0, ptrs, NREQS), NREQS);
	j.blk = s->blk;
	assert_true(bounded_call(poll_job_run, &j));
	assert_int_equal(j.got, NREQS);
	for (unsigned int i = 0; i < NREQS; i++)
		assert_int_equal(j.done[i]->result, -EIO);
	assert_int_equal(virtio_blk_in_flight(s->blk, 0), 0);
	assert_int_equal(virtio_blk_submit(s->blk, 0, &reqs[0]), -EIO);
	virtio_blk_free_buffer(s->blk, buf);
	stack_close(s);
	free(s);
}

/* ---- `vireo blk` against the vhost-user device ---- */

static void test_cli_blk_exits(void **state)
{
	struct stack *s = malloc(sizeof(*s));
	struct vireo_proc p;
	char log[4096] = "";
	int status = 0, fd;
	pid_t got = 0;
	ssize_t n;

	(void)state;
	assert_non_null(s);
	memset(s, 0, sizeof(*s));
	giveup_init(&s->g);
	server_start(s);
	vireo_proc_dir(&p);
	const char *args[] = {"blk", "--socket", s->sock, "read", "--length", "4096", NULL};
	vireo_proc_start(&p, args, s->sock);
	/* A hang detector, not a timer: the command must end on its own. */
	for (int t = 0; t < BOUNDED_CALL_SECONDS * 100 && got == 0; t++) {
		got = waitpid(p.pid, &status, WNOHANG);
		if (got == 0)
			usleep(10000);
	}
	if (got == 0)
		vireo_proc_kill(&p);
	fd = open(p.log, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, log, sizeof(log) - 1);
	close(fd);
	log[n > 0 ? n : 0] = '\0';
	if (got == 0)
		fail_msg("vireo blk still waits on a device that set NEEDS_RESET:\n%s", log);
	p.pid = 0;
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 0);
	if (!strstr(log, "DEVICE_NEEDS_RESET"))
		fail_msg("vireo blk did not name DEVICE_NEEDS_RESET:\n%s", log);
	vireo_proc_cleanup(&p);
	vireo_event_loop_stop(&s->loop);
	assert_int_equal(pthread_join(s->thread, NULL), 0);
	vireo_vhost_user_backend_free(s->b);
	vireo_event_loop_destroy(&s->loop);
	rmdir(s->dir);
	vireo_vdev_destroy(&s->g.vdev);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loopback_sync_read),
		cmocka_unit_test(test_loopback_async_requests),
		cmocka_unit_test(test_vhost_user_sync_read),
		cmocka_unit_test(test_cli_blk_exits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
