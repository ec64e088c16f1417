// SPDX-License-Identifier: MIT
/* Unit tests for core/event_loop.c. No timing: every wait is bounded by an event. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vireo/event_loop.h>

struct counter {
	int fd;
	unsigned int calls;
	uint64_t drained;
	struct event_loop *loop;
	int remove_fd; /* fd this handler removes when called, or -1 */
};

static void count_handler(void *opaque, uint32_t events)
{
	struct counter *c = opaque;

	assert_true(events & EPOLLIN);
	c->calls++;
	c->drained += vireo_eventfd_drain_fd(c->fd);
	if (c->remove_fd >= 0)
		assert_int_equal(vireo_event_loop_remove(c->loop, c->remove_fd), 0);
}

static int setup(void **state)
{
	static struct event_loop loop;

	if (vireo_event_loop_init(&loop) < 0)
		return -1;
	*state = &loop;
	return 0;
}

static int teardown(void **state)
{
	vireo_event_loop_destroy(*state);
	return 0;
}

static void test_eventfd_handler_called(void **state)
{
	struct event_loop *loop = *state;
	struct counter c = {.fd = eventfd(0, EFD_NONBLOCK), .remove_fd = -1};

	assert_true(c.fd >= 0);
	assert_int_equal(vireo_event_loop_add(loop, c.fd, count_handler, &c), 0);
	assert_int_equal(vireo_event_loop_run_once(loop, 0), 0);
	assert_int_equal(vireo_eventfd_signal_fd(c.fd), 0);
	assert_int_equal(vireo_eventfd_signal_fd(c.fd), 0);
	assert_int_equal(vireo_event_loop_run_once(loop, -1), 1);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.drained, 2);
	/* Drained: level-triggered epoll has nothing more to report. */
	assert_int_equal(vireo_event_loop_run_once(loop, 0), 0);
	assert_int_equal(vireo_event_loop_remove(loop, c.fd), 0);
	close(c.fd);
}

static void test_add_errors(void **state)
{
	struct event_loop *loop = *state;
	struct counter c = {.fd = eventfd(0, EFD_NONBLOCK), .remove_fd = -1};
	int fds[EVENT_LOOP_MAX_HANDLERS];
	unsigned int i;

	assert_int_equal(vireo_event_loop_add(loop, c.fd, count_handler, &c), 0);
	assert_int_equal(vireo_event_loop_add(loop, c.fd, count_handler, &c), -EEXIST);
	assert_int_equal(vireo_event_loop_add(loop, -1, count_handler, &c), -EINVAL);
	assert_int_equal(vireo_event_loop_remove(loop, 12345), -ENOENT);
	/* One slot is taken by c.fd: the last of these finds the table full. */
	for (i = 0; i < EVENT_LOOP_MAX_HANDLERS; i++) {
		fds[i] = eventfd(0, EFD_NONBLOCK);
		assert_true(fds[i] >= 0);
		assert_int_equal(vireo_event_loop_add(loop, fds[i], count_handler, &c),
				 i < EVENT_LOOP_MAX_HANDLERS - 1 ? 0 : -ENOSPC);
	}
	for (i = 0; i < EVENT_LOOP_MAX_HANDLERS; i++) {
		assert_int_equal(vireo_event_loop_remove(loop, fds[i]),
				 i < EVENT_LOOP_MAX_HANDLERS - 1 ? 0 : -ENOENT);
		close(fds[i]);
	}
	assert_int_equal(vireo_event_loop_remove(loop, c.fd), 0);
	close(c.fd);
}

static void test_remove_stops_calls(void **state)
{
	struct event_loop *loop = *state;
	struct counter c = {.fd = eventfd(0, EFD_NONBLOCK), .remove_fd = -1};

	assert_int_equal(vireo_event_loop_add(loop, c.fd, count_handler, &c), 0);
	assert_int_equal(vireo_event_loop_remove(loop, c.fd), 0);
	assert_int_equal(vireo_event_loop_remove(loop, c.fd), -ENOENT);
	assert_int_equal(vireo_eventfd_signal_fd(c.fd), 0);
	assert_int_equal(vireo_event_loop_run_once(loop, 0), 0);
	assert_int_equal(c.calls, 0);
	/* And it can be watched again. */
	assert_int_equal(vireo_event_loop_add(loop, c.fd, count_handler, &c), 0);
	assert_int_equal(vireo_event_loop_run_once(loop, -1), 1);
	assert_int_equal(c.calls, 1);
	assert_int_equal(vireo_event_loop_remove(loop, c.fd), 0);
	close(c.fd);
}

/* Two fds ready in one batch; whichever handler runs first removes the other. */
static void test_remove_during_dispatch(void **state)
{
	struct event_loop *loop = *state;
	struct counter a = {.fd = eventfd(0, EFD_NONBLOCK), .loop = loop};
	struct counter b = {.fd = eventfd(0, EFD_NONBLOCK), .loop = loop};

	a.remove_fd = b.fd;
	b.remove_fd = a.fd;
	assert_int_equal(vireo_event_loop_add(loop, a.fd, count_handler, &a), 0);
	assert_int_equal(vireo_event_loop_add(loop, b.fd, count_handler, &b), 0);
	assert_int_equal(vireo_eventfd_signal_fd(a.fd), 0);
	assert_int_equal(vireo_eventfd_signal_fd(b.fd), 0);
	assert_int_equal(vireo_event_loop_run_once(loop, -1), 1);
	assert_int_equal(a.calls + b.calls, 1);
	assert_int_equal(vireo_event_loop_run_once(loop, 0), 0);
	/* Exactly one of them is left in the table. */
	assert_int_equal((vireo_event_loop_remove(loop, a.fd) == 0) +
				 (vireo_event_loop_remove(loop, b.fd) == 0),
			 1);
	close(a.fd);
	close(b.fd);
}

struct stopper {
	struct event_loop *loop;
	int ready_fd;
};

static void *stop_thread(void *arg)
{
	struct stopper *s = arg;

	/* Signal the loop's own handler, then stop it: both come from this thread. */
	vireo_eventfd_signal_fd(s->ready_fd);
	vireo_event_loop_stop(s->loop);
	return NULL;
}

static void test_stop_from_another_thread(void **state)
{
	struct event_loop *loop = *state;
	struct counter c = {.fd = eventfd(0, EFD_NONBLOCK), .remove_fd = -1};
	struct stopper s = {.loop = loop, .ready_fd = c.fd};
	pthread_t tid;

	assert_int_equal(vireo_event_loop_add(loop, c.fd, count_handler, &c), 0);
	assert_int_equal(pthread_create(&tid, NULL, stop_thread, &s), 0);
	/* Returns only once the other thread's stop arrived. */
	assert_int_equal(vireo_event_loop_run(loop), 0);
	assert_int_equal(pthread_join(tid, NULL), 0);
	assert_false(loop->stopping);
	/* The stop is consumed: the loop can run again (and is stopped again). */
	vireo_event_loop_stop(loop);
	assert_int_equal(vireo_event_loop_run(loop), 0);
	/* The thread signalled c.fd before the stop, so run() saw it before returning. */
	assert_int_equal(c.calls, 1);
	assert_int_equal(vireo_event_loop_run_once(loop, 0), 0);
	assert_int_equal(vireo_event_loop_remove(loop, c.fd), 0);
	close(c.fd);
}

static void test_drain_empty_does_not_block(void **state)
{
	int fd = eventfd(0, 0); /* blocking on purpose */

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(vireo_eventfd_drain_fd(fd), 0);
	assert_int_equal(vireo_eventfd_signal_fd(fd), 0);
	assert_int_equal(vireo_eventfd_drain_fd(fd), 1);
	assert_int_equal(vireo_eventfd_drain_fd(fd), 0);
	assert_true(vireo_eventfd_signal_fd(-1) < 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_eventfd_handler_called, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_stops_calls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_during_dispatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_from_another_thread, setup, teardown),
		cmocka_unit_test(test_drain_empty_does_not_block),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
