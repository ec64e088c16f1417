// SPDX-License-Identifier: MIT
/*
 * One front-end at a time, and a front-end that reconnects is not a second one.
 * The back-end's loop is driven by the test here, so the order in which it sees
 * two events is the test's to choose: epoll reports ready fds in the order they
 * became ready. A new connection that arrives before the served front-end's
 * close is seen takes the accept-time path (vub_conn_gone: the old one has hung
 * up, so it is dropped and the new one served, not refused); a second front-end
 * while the first is alive is refused with one log line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <vireo/blk_device.h>
#include <vireo/event_loop.h>
#include <vireo/spec.h>
#include <vireo/vhost_user.h>
#include <vireo/vhost_user_backend.h>

#include "tests/lib/log_capture.h"
#include "tests/lib/vu_blk_fixture.h"
#include "tests/lib/vu_client.h"

struct accept_fixture {
	struct vu_blk_fixture fx;
	unsigned long connects, disconnects; /* __atomic */
	pthread_t loop_thread;
};

static void on_connect(void *opaque, unsigned long conn)
{
	struct accept_fixture *f = opaque;

	(void)conn;
	__atomic_add_fetch(&f->connects, 1, __ATOMIC_RELAXED);
}

static void on_disconnect(void *opaque, unsigned long conn, const char *reason)
{
	struct accept_fixture *f = opaque;

	(void)conn;
	(void)reason;
	__atomic_add_fetch(&f->disconnects, 1, __ATOMIC_RELAXED);
}

/* The server thread's accepts so far reach @n (bounded wait). */
/* The back-end saw @connects connections and @disconnects disconnections so far. */
static void expect_connections(struct accept_fixture *f, unsigned long connects,
			       unsigned long disconnects)
{
	assert_int_equal(__atomic_load_n(&f->connects, __ATOMIC_RELAXED), connects);
	assert_int_equal(__atomic_load_n(&f->disconnects, __ATOMIC_RELAXED), disconnects);
}

static void wait_connects(struct accept_fixture *f, unsigned long n)
{
	for (int i = 0; i < 2000 && __atomic_load_n(&f->connects, __ATOMIC_RELAXED) < n; i++)
		usleep(1000);
	assert_int_equal(__atomic_load_n(&f->connects, __ATOMIC_RELAXED), n);
}

static int setup(void **state)
{
	struct accept_fixture *f = calloc(1, sizeof(*f));
	struct blk_device_options bo = {.serial = "vu-accept"};
	struct vhost_user_backend_options vo = {
		.on_connect = on_connect, .on_disconnect = on_disconnect, .opaque = f};

	if (!f)
		return -1;
	vu_blk_fixture_start(&f->fx, "/tmp/vireo-vu-accept-XXXXXX", &bo, &vo);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct accept_fixture *f = *state;

	vu_blk_fixture_stop_closed(&f->fx);
	free(f);
	return 0;
}

static void *loop_thread(void *arg)
{
	struct accept_fixture *f = arg;

	assert_int_equal(vireo_vhost_user_backend_run(f->fx.b), 0);
	return NULL;
}

/* Hand the back-end's loop back to a thread of its own, then check @c is served. */
static void resume_and_expect_served(struct accept_fixture *f, struct vu_client *c)
{
	assert_int_equal(pthread_create(&f->loop_thread, NULL, loop_thread, f), 0);
	assert_true(vu_client_get_u64(c, VHOST_USER_GET_FEATURES) & VIRTIO_BIT(VIRTIO_F_VERSION_1));
	vireo_event_loop_stop(&f->fx.loop);
	assert_int_equal(pthread_join(f->loop_thread, NULL), 0);
}

/* @fd is readable within a second (a connection queued, a close seen). */
static void expect_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	assert_int_equal(poll(&p, 1, 1000), 1);
}

/*
 * A is served; B connects, then A hangs up, and only then does the back-end look:
 * the listener is first in epoll's ready list, so B's accept sees A gone, drops A
 * and serves B. A's close event, queued behind it in the same batch, is skipped
 * (its handler is gone): one handler ran, where the other order runs two.
 */
static void test_reconnect_seen_at_accept(void **state)
{
	struct accept_fixture *f = *state;
	struct log_capture log = LOG_CAPTURE_INIT;
	struct vu_client a, b;
	int handled;

	vu_client_connect(&a, f->fx.sock);
	wait_connects(f, 1);
	vu_blk_fixture_halt(&f->fx); /* from here the test runs the back-end's loop */
	vu_client_connect(&b, f->fx.sock);
	vu_client_close(&a);
	log_capture_begin(&log);
	handled = vireo_event_loop_run_once(&f->fx.loop, 1000);
	log_capture_end(&log);
	assert_int_equal(handled, 1);
	assert_int_equal(log_capture_count(&log, "second front-end refused"), 0);
	log_capture_remove(&log);
	expect_connections(f, 2, 1);
	resume_and_expect_served(f, &b);
	vu_client_close(&b);
}

/* The other order: A's close is seen first (its own event), then B is accepted. */
static void test_reconnect_seen_at_close(void **state)
{
	struct accept_fixture *f = *state;
	struct vu_client a, b;

	vu_client_connect(&a, f->fx.sock);
	wait_connects(f, 1);
	vu_blk_fixture_halt(&f->fx);
	vu_client_close(&a);
	vu_client_connect(&b, f->fx.sock);
	assert_int_equal(vireo_event_loop_run_once(&f->fx.loop, 1000), 2);
	expect_connections(f, 2, 1);
	resume_and_expect_served(f, &b);
	vu_client_close(&b);
}

/* B connects while A is alive: refused at once, one line; A is still served. */
static void test_second_front_end_refused(void **state)
{
	struct accept_fixture *f = *state;
	struct log_capture log = LOG_CAPTURE_INIT;
	struct vu_client a, b;
	int handled;
	char byte;

	vu_client_connect(&a, f->fx.sock);
	wait_connects(f, 1);
	vu_blk_fixture_halt(&f->fx);
	vu_client_connect(&b, f->fx.sock);
	log_capture_begin(&log);
	handled = vireo_event_loop_run_once(&f->fx.loop, 1000);
	log_capture_end(&log);
	assert_int_equal(handled, 1);
	assert_int_equal(log_capture_count(&log, "second front-end refused"), 1);
	assert_int_equal(log_capture_count(&log, "vireo: "), 1);
	log_capture_remove(&log);
	/* B finds its connection closed; A was not touched. */
	expect_readable(b.sock);
	assert_int_equal(read(b.sock, &byte, 1), 0);
	expect_connections(f, 1, 0);
	resume_and_expect_served(f, &a);
	vu_client_close(&b);
	vu_client_close(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reconnect_seen_at_accept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconnect_seen_at_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_front_end_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
