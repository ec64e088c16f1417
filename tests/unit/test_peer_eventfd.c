// SPDX-License-Identifier: MIT
/*
 * core/peer_eventfd.c: signalling and draining an eventfd that a hostile
 * peer also holds. The "peer" here is the test itself working on the same
 * open file description: it clears O_NONBLOCK, fills the counter to its
 * maximum, reads the fd itself, all while we signal and drain. Each call
 * runs under bounded_call(): a call that blocks fails the test instead of
 * hanging it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vireo/peer_eventfd.h>

#include "tests/lib/bounded_call.h"
#include "tests/lib/fd_count.h"

#define EVENTFD_MAX 0xfffffffffffffffeull
#define ROUNDS 20000

/* The peer's moves on the shared file description. */
static void peer_make_blocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	assert_true(flags >= 0);
	assert_int_equal(fcntl(fd, F_SETFL, flags & ~O_NONBLOCK), 0);
}

/* Return: whether the counter was set to its maximum (a racing signal may prevent it). */
static bool peer_fill(int fd)
{
	uint64_t v = EVENTFD_MAX;
	uint64_t old;
	int flags = fcntl(fd, F_GETFL);
	bool filled;

	/* Whatever was there goes first; non-blocking, so the add cannot block the test. */
	(void)fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	(void)!read(fd, &old, sizeof(old));
	filled = write(fd, &v, sizeof(v)) == (ssize_t)sizeof(v);
	(void)fcntl(fd, F_SETFL, flags);
	return filled;
}

static uint64_t peer_read_nonblocking(int fd)
{
	uint64_t v = 0;
	int flags = fcntl(fd, F_GETFL);

	(void)fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		v = 0;
	(void)fcntl(fd, F_SETFL, flags);
	return v;
}

struct call {
	struct peer_eventfd *pe;
	int fd;
	int rounds;
	bool kick; /* the driver's side kicks before each drain */
	int ret;
	int64_t drained;
};

static void call_signal(void *arg)
{
	struct call *c = arg;

	for (int i = 0; i < c->rounds; i++) {
		c->ret = vireo_peer_eventfd_signal(c->pe);
		if (c->ret < 0)
			return;
	}
}

static void call_drain(void *arg)
{
	struct call *c = arg;

	uint64_t one = 1;

	for (int i = 0; i < c->rounds; i++) {
		if (c->kick)
			(void)!write(c->fd, &one, sizeof(one));
		c->drained = vireo_peer_eventfd_drain(c->fd);
		if (c->drained < 0)
			return;
	}
}

static void test_signal_counts(void **state)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct peer_eventfd *pe;

	(void)state;
	assert_int_equal(vireo_peer_eventfd_new(&pe, fd), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(vireo_peer_eventfd_signal(pe), 0);
	assert_int_equal(vireo_peer_eventfd_drain(fd), 3);
	assert_int_equal(vireo_peer_eventfd_drain(fd), 0);
	vireo_peer_eventfd_free(pe);
	vireo_peer_eventfd_free(NULL);
	close(fd);
}

/* The review's case: the peer made the call fd blocking and full. We return at once. */
static void test_signal_blocking_full(void **state)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct call c = {.fd = fd, .rounds = 100};

	(void)state;
	assert_int_equal(vireo_peer_eventfd_new(&c.pe, fd), 0);
	peer_make_blocking(fd);
	assert_true(peer_fill(fd));
	assert_true(bounded_call(call_signal, &c));
	assert_int_equal(c.ret, 0);
	/* The kernel saturated the counter: still "signalled", and readable. */
	assert_int_equal(peer_read_nonblocking(fd), UINT64_MAX);
	/* Once the peer has read, signals count again. */
	assert_int_equal(vireo_peer_eventfd_signal(c.pe), 0);
	assert_int_equal(peer_read_nonblocking(fd), 1);
	vireo_peer_eventfd_free(c.pe);
	close(fd);
}

struct racer {
	int fd;
	atomic_bool stop;
	unsigned long moves, fills;
};

/* The peer flips O_NONBLOCK and refills the counter as fast as it can. */
static void *racer_flip_and_fill(void *arg)
{
	struct racer *r = arg;

	/* No cmocka assertion here: it would jump out of the wrong thread. */
	while (!atomic_load(&r->stop)) {
		r->fills += peer_fill(r->fd);
		(void)fcntl(r->fd, F_SETFL, 0);
		(void)fcntl(r->fd, F_SETFL, O_NONBLOCK);
		(void)fcntl(r->fd, F_SETFL, 0);
		r->moves++;
	}
	return NULL;
}

/* No window between a check and the write for the peer to hit: there is no write. */
static void test_signal_races_peer(void **state)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct racer r = {.fd = fd};
	struct call c = {.fd = fd, .rounds = ROUNDS};
	pthread_t t;

	(void)state;
	assert_int_equal(vireo_peer_eventfd_new(&c.pe, fd), 0);
	assert_int_equal(pthread_create(&t, NULL, racer_flip_and_fill, &r), 0);
	assert_true(bounded_call(call_signal, &c));
	atomic_store(&r.stop, true);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(c.ret, 0);
	print_message("%d signals against %lu peer flip-and-fill rounds (%lu fills)\n", ROUNDS,
		      r.moves, r.fills);
	assert_true(r.fills > 0);
	vireo_peer_eventfd_free(c.pe);
	close(fd);
}

/* Only an eventfd can be registered: the kind is the one thing the peer fixed for good. */
static void test_not_an_eventfd(void **state)
{
	struct peer_eventfd *pe = (struct peer_eventfd *)&pe;
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(vireo_peer_eventfd_new(&pe, p[1]), -EINVAL);
	assert_null(pe);
	assert_int_equal(vireo_peer_eventfd_new(&pe, -1), -EINVAL);
	close(p[0]);
	close(p[1]);
}

/* The kernel holds its own reference: closing our fd does not stop the signals. */
static void test_signal_after_close(void **state)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), peer = dup(fd);
	unsigned int before = fd_count_open();
	struct peer_eventfd *pe;

	(void)state;
	assert_int_equal(vireo_peer_eventfd_new(&pe, fd), 0);
	/* One io_uring fd per signaller, and it goes with it. */
	assert_int_equal(fd_count_open(), before + 1);
	close(fd);
	assert_int_equal(vireo_peer_eventfd_signal(pe), 0);
	assert_int_equal(vireo_peer_eventfd_drain(peer), 1);
	vireo_peer_eventfd_free(pe);
	assert_int_equal(fd_count_open(), before - 1); /* @fd closed above */
	close(peer);
}

/* A blocking eventfd with a zero count: the drain returns at once. */
static void test_drain_blocking_empty(void **state)
{
	int fd = eventfd(0, EFD_CLOEXEC);
	struct call c = {.fd = fd, .rounds = 100};
	uint64_t one = 1;

	(void)state;
	assert_true(bounded_call(call_drain, &c));
	assert_int_equal(c.drained, 0);
	assert_int_equal(write(fd, &one, sizeof(one)), (ssize_t)sizeof(one));
	assert_int_equal(vireo_peer_eventfd_drain(fd), 1);
	close(fd);
}

/* A semaphore eventfd gives 1 per read; a count is still a count. */
static void test_drain_semaphore(void **state)
{
	int fd = eventfd(3, EFD_SEMAPHORE | EFD_CLOEXEC);

	(void)state;
	assert_int_equal(vireo_peer_eventfd_drain(fd), 1);
	assert_int_equal(vireo_peer_eventfd_drain(fd), 1);
	assert_int_equal(vireo_peer_eventfd_drain(fd), 1);
	assert_int_equal(vireo_peer_eventfd_drain(fd), 0);
	close(fd);
}

/* The peer reads the kick fd itself with blocking reads, and kicks it, while we drain. */
static void *racer_read_and_kick(void *arg)
{
	struct racer *r = arg;
	uint64_t v, one = 1;

	while (!atomic_load(&r->stop)) {
		(void)!write(r->fd, &one, sizeof(one));
		(void)!read(r->fd, &v, sizeof(v)); /* blocking: may wait for our next kick */
		r->moves++;
	}
	return NULL;
}

static void test_drain_races_peer_reader(void **state)
{
	int fd = eventfd(0, EFD_CLOEXEC);
	struct racer r = {.fd = fd};
	struct call c = {.fd = fd, .rounds = ROUNDS, .kick = true};
	uint64_t one = 1;
	pthread_t t;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, racer_read_and_kick, &r), 0);
	assert_true(bounded_call(call_drain, &c));
	assert_true(c.drained >= 0);
	atomic_store(&r.stop, true);
	/* The peer may sit in its blocking read: one more count lets it see the stop. */
	assert_int_equal(write(fd, &one, sizeof(one)), (ssize_t)sizeof(one));
	assert_int_equal(pthread_join(t, NULL), 0);
	print_message("%d drains against %lu peer read-and-kick rounds\n", ROUNDS, r.moves);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signal_counts),
		cmocka_unit_test(test_signal_blocking_full),
		cmocka_unit_test(test_signal_races_peer),
		cmocka_unit_test(test_not_an_eventfd),
		cmocka_unit_test(test_signal_after_close),
		cmocka_unit_test(test_drain_blocking_empty),
		cmocka_unit_test(test_drain_semaphore),
		cmocka_unit_test(test_drain_races_peer_reader),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
