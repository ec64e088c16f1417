// SPDX-License-Identifier: MIT
/*
 * A front-end that turns the eventfds it shares with the back-end against it,
 * played against the REAL `vireo serve blk` (1 and 2 queues) and `vireo serve
 * net` of this build (the ASan build runs its ASan vireo):
 *  - "full": it clears O_NONBLOCK on its call and err eventfds (the open file
 *    description, so the server's copy too) and fills their counters to the
 *    maximum, then has requests completed (call) and breaks a ring (err);
 *  - "thief": it makes its kick eventfds blocking and reads them itself in a
 *    loop while kicking, so the server finds them empty after epoll said
 *    readable.
 * Each time the server must stay alive and answer GET_VRING_BASE, serve a
 * good client afterwards, hold no more fds than before the session, and exit
 * 0 on SIGTERM without a sanitizer report. Before core/peer_eventfd.c a server
 * thread blocked for good in write() or read() on such an fd.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vireo/spec.h>
#include <vireo/vhost_user.h>
#include <vireo/virtqueue.h>

#include "tests/lib/fd_count.h"
#include "tests/lib/vireo_proc.h"
#include "tests/lib/vu_client.h"

#define EVENTFD_FULL 0xfffffffffffffffeull
#define IMAGE_BYTES (1u << 20)
#define THIEF_KICKS 800
#define BLK_READS 8u
#define NET_HDR 12u

enum hostile_mode { MODE_FULL, MODE_THIEF };

struct server {
	struct vireo_proc proc;
	char sock[128];
	char image[128];
	bool net;
	unsigned int queues;	/* rings the client starts */
	unsigned int queue_num; /* GET_QUEUE_NUM: net has a control queue too */
	unsigned int fds_idle;
};

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void server_start(struct server *s, bool net, unsigned int blk_queues)
{
	char queues[16];
	int fd;

	memset(s, 0, sizeof(*s));
	vireo_proc_dir(&s->proc);
	snprintf(s->sock, sizeof(s->sock), "%s/vu.sock", s->proc.dir);
	s->net = net;
	if (net) {
		const char *args[] = {"serve", "net", "--socket", s->sock, NULL};

		s->queues = 2; /* rx, tx */
		s->queue_num = 3;
		vireo_proc_start(&s->proc, args, s->sock);
	} else {
		const char *args[] = {"serve",	"blk",	    "--socket", s->sock, "--image",
				      s->image, "--queues", queues,	NULL};

		snprintf(s->image, sizeof(s->image), "%s/image", s->proc.dir);
		snprintf(queues, sizeof(queues), "%u", blk_queues);
		fd = open(s->image, O_CREAT | O_RDWR, 0600);
		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, IMAGE_BYTES), 0);
		close(fd);
		s->queues = blk_queues;
		s->queue_num = blk_queues;
		vireo_proc_start(&s->proc, args, s->sock);
	}
	s->fds_idle = fd_count_of_process(s->proc.pid);
	assert_true(s->fds_idle > 0);
}

/* SIGTERM: exit 0, no sanitizer report. */
static void server_stop(struct server *s)
{
	int status;
	char *out = vireo_proc_stop(&s->proc, &status);

	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("vireo exited with status %#x:\n%s", status, out);
	if (strstr(out, "Sanitizer") || strstr(out, "runtime error"))
		fail_msg("sanitizer report:\n%s", out);
	if (s->image[0])
		unlink(s->image);
	vireo_proc_cleanup(&s->proc);
}

/* After the clients left the server holds what it held idle (bounded wait for the disconnect). */
static void server_expect_idle_fds(const struct server *s)
{
	unsigned int n = 0;

	for (int t = 0; t < VU_WAIT_MS / 10; t++) {
		n = fd_count_of_process(s->proc.pid);
		if (n == s->fds_idle)
			return;
		sleep_ms(10);
	}
	fail_msg("vireo holds %u fds, %u when idle", n, s->fds_idle);
}

/* The counter of one of our eventfds, read without touching it (/proc fdinfo). */
static uint64_t eventfd_count(int fd)
{
	char path[64], line[128];
	uint64_t count = 0;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "eventfd-count:", 14) == 0) {
			count = strtoull(line + 14, NULL, 16);
			found = true;
		}
	fclose(f);
	assert_true(found);
	return count;
}

/* Wait (bounded) until the server signalled @fd on top of our EVENTFD_FULL. */
static void expect_saturated(int fd, const char *what)
{
	for (int t = 0; t < VU_WAIT_MS / 10; t++) {
		if (eventfd_count(fd) == UINT64_MAX)
			return;
		sleep_ms(10);
	}
	fail_msg("the server never signalled the full %s eventfd", what);
}

/* The front-end's move: blocking, and the counter at its maximum. */
static void make_blocking_and_full(int fd)
{
	uint64_t full = EVENTFD_FULL, v;

	/* Empty first: a started ring's call fd had its one signal (issue 9 §7c). */
	(void)!read(fd, &v, sizeof(v));
	assert_int_equal(write(fd, &full, sizeof(full)), (ssize_t)sizeof(full));
	assert_int_equal(fcntl(fd, F_SETFL, 0), 0);
}

/* Wait (bounded) for @n used buffers without reading the call fd. */
static void poll_used(struct virtqueue *vq, unsigned int n)
{
	uint32_t len;

	for (int t = 0; n > 0 && t < VU_WAIT_MS; t++) {
		assert_false(virtqueue_is_broken(vq));
		while (n > 0 && virtqueue_get_buf(vq, &len))
			n--;
		if (n > 0)
			sleep_ms(1);
	}
	assert_int_equal(n, 0);
}

static uint64_t session_features(const struct server *s)
{
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES);

	if (!s->net && s->queues > 1)
		f |= VIRTIO_BIT(VIRTIO_BLK_F_MQ);
	return f;
}

static void session_open(const struct server *s, struct vu_client *c, struct vu_ring *r)
{
	vu_client_connect(c, s->sock);
	vu_client_negotiate_queues(c, session_features(s), s->queue_num);
	vu_client_mem(c);
	for (unsigned int q = 0; q < s->queues; q++)
		vu_ring_start(&r[q], c, q);
}

static void session_close(const struct server *s, struct vu_client *c, struct vu_ring *r)
{
	for (unsigned int q = 0; q < s->queues; q++)
		vu_ring_close(&r[q]);
	vu_client_close(c);
}

/* Put @n requests on ring @r (no kick): blk reads, or net frames on the tx ring. */
static void post_work(const struct server *s, struct vu_ring *r, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (!s->net) {
			(void)vu_ring_read(r, i * 8);
			continue;
		}
		uint64_t ga;
		uint8_t *p = virtio_dma_alloc(&r->c->arena, NET_HDR + 60, 16, &ga);
		struct virtio_sg sg = {.addr = ga, .len = NET_HDR + 60};

		assert_non_null(p);
		memset(p, 0, NET_HDR);
		memset(p + NET_HDR, 0xff, 12); /* broadcast, flooded to no one */
		p[NET_HDR + 12] = 0x88;
		p[NET_HDR + 13] = 0xb5;
		assert_int_equal(virtqueue_add_sgs(&r->vq, &sg, 1, 0, p), 0);
	}
}

/* The ring whose buffers the server uses on its own: blk any, net the tx ring (1). */
static struct vu_ring *work_ring(const struct server *s, struct vu_ring *r, unsigned int q)
{
	return s->net ? &r[1] : &r[q];
}

/* A descriptor outside guest memory: the ring breaks, the device NEEDS_RESET. */
static void break_ring(struct vu_ring *r)
{
	struct virtio_sg sg = {.addr = VU_GUEST_BASE + 64 * (uint64_t)VU_ARENA_BYTES, .len = 64};
	int token;

	assert_int_equal(virtqueue_add_sgs(&r->vq, &sg, 1, 0, &token), 0);
	virtqueue_kick(&r->vq);
}

/* The control thread still answers: GET_VRING_BASE of ring 0 (it stops every queue thread). */
static void expect_control_answers(struct vu_client *c)
{
	struct vhost_user_vring_state st = {.index = 0};
	struct vhost_user_msg m;

	assert_int_equal(
		vu_client_send(c, VHOST_USER_GET_VRING_BASE, &st, sizeof(st), NULL, 0, false), 0);
	vu_client_reply(c, VHOST_USER_GET_VRING_BASE, &m);
	assert_int_equal(m.payload.state.index, 0);
}

static void hostile_full(const struct server *s, struct vu_ring *r)
{
	unsigned int units = s->net ? 1 : s->queues;

	for (unsigned int q = 0; q < s->queues; q++) {
		make_blocking_and_full(r[q].call);
		make_blocking_and_full(r[q].err);
	}
	/* Completions: every served ring signals its full, blocking call fd. */
	for (unsigned int u = 0; u < units; u++) {
		struct vu_ring *w = work_ring(s, r, u);

		post_work(s, w, BLK_READS);
		virtqueue_kick(&w->vq);
		poll_used(&w->vq, BLK_READS);
		expect_saturated(w->call, "call");
	}
	/* NEEDS_RESET: the control thread signals every full, blocking err fd. */
	break_ring(work_ring(s, r, 0));
	for (unsigned int q = 0; q < s->queues; q++)
		expect_saturated(r[q].err, "err");
}

struct thief {
	int fd;
	unsigned long stolen;
};

/* The front-end reading its own kick fd with blocking reads, until cancelled in read(). */
static void *thief_run(void *arg)
{
	struct thief *t = arg;
	uint64_t v;

	for (;;)
		if (read(t->fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
			t->stolen++;
	return NULL;
}

/*
 * Kicks while the front-end reads its own kick fd, each followed by a
 * message (GET_FEATURES; with queue threads every message joins them first).
 * A server thread that lost the race for a kick in a blocking read() waits
 * for a kick that does not come before the message, which then goes
 * unanswered.
 */
static void hostile_thief(const struct server *s, struct vu_client *c, struct vu_ring *r)
{
	unsigned int units = s->net ? 1 : s->queues;
	struct thief thieves[2] = {0};
	pthread_t threads[2];
	uint64_t one = 1;

	for (unsigned int u = 0; u < units; u++) {
		struct vu_ring *w = work_ring(s, r, u);

		thieves[u].fd = w->kick;
		assert_int_equal(fcntl(w->kick, F_SETFL, 0), 0);
		post_work(s, w, BLK_READS);
		assert_int_equal(pthread_create(&threads[u], NULL, thief_run, &thieves[u]), 0);
	}
	for (unsigned int i = 0; i < THIEF_KICKS; i++) {
		for (unsigned int u = 0; u < units; u++)
			assert_int_equal(write(work_ring(s, r, u)->kick, &one, sizeof(one)),
					 (ssize_t)sizeof(one));
		/* Paced: the server and the reader both asleep when the kick comes, a fresh race. */
		usleep(200);
		(void)vu_client_get_u64(c, VHOST_USER_GET_FEATURES);
	}
	for (unsigned int u = 0; u < units; u++) {
		struct vu_ring *w = work_ring(s, r, u);

		assert_int_equal(pthread_cancel(threads[u]), 0);
		assert_int_equal(pthread_join(threads[u], NULL), 0);
		print_message("ring %u: the front-end took %lu of %u kicks itself\n", w->index,
			      thieves[u].stolen, THIEF_KICKS);
		/* One kick the server sees: everything posted is served. */
		virtqueue_kick(&w->vq);
		poll_used(&w->vq, BLK_READS);
	}
}

/* A good front-end afterwards: every ring serves a request, then it leaves. */
static void good_session(const struct server *s)
{
	struct vu_ring r[2];
	struct vu_client c;
	unsigned int units = s->net ? 1 : s->queues;

	session_open(s, &c, r);
	for (unsigned int u = 0; u < units; u++) {
		struct vu_ring *w = work_ring(s, r, u);

		post_work(s, w, 1);
		virtqueue_kick(&w->vq);
		poll_used(&w->vq, 1);
	}
	expect_control_answers(&c);
	session_close(s, &c, r);
}

static void run_hostile(void **state, bool net, unsigned int blk_queues, enum hostile_mode mode)
{
	unsigned int fds_before = fd_count_open();
	struct server *s = *state;
	struct vu_ring r[2];
	struct vu_client c;

	server_start(s, net, blk_queues);
	good_session(s);
	session_open(s, &c, r);
	if (mode == MODE_FULL)
		hostile_full(s, r);
	else
		hostile_thief(s, &c, r);
	expect_control_answers(&c);
	session_close(s, &c, r);
	good_session(s);
	server_expect_idle_fds(s);
	server_stop(s);
	assert_int_equal(fd_count_open(), fds_before);
}

static int setup(void **state)
{
	*state = calloc(1, sizeof(struct server));
	return *state ? 0 : -1;
}

/* A failed test leaves its server running (perhaps stuck): it goes here, with its files. */
static int teardown(void **state)
{
	struct server *s = *state;

	if (s->proc.pid > 0) {
		vireo_proc_kill(&s->proc);
		unlink(s->sock);
		if (s->image[0])
			unlink(s->image);
		vireo_proc_cleanup(&s->proc);
	}
	free(s);
	return 0;
}

static void test_blk_full_call_err(void **state)
{
	run_hostile(state, false, 1, MODE_FULL);
}

static void test_blk_kick_thief(void **state)
{
	run_hostile(state, false, 1, MODE_THIEF);
}

static void test_blk2_full_call_err(void **state)
{
	run_hostile(state, false, 2, MODE_FULL);
}

static void test_blk2_kick_thief(void **state)
{
	run_hostile(state, false, 2, MODE_THIEF);
}

static void test_net_full_call_err(void **state)
{
	run_hostile(state, true, 0, MODE_FULL);
}

static void test_net_kick_thief(void **state)
{
	run_hostile(state, true, 0, MODE_THIEF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_blk_full_call_err, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blk_kick_thief, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blk2_full_call_err, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blk2_kick_thief, setup, teardown),
		cmocka_unit_test_setup_teardown(test_net_full_call_err, setup, teardown),
		cmocka_unit_test_setup_teardown(test_net_kick_thief, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
