// SPDX-License-Identifier: MIT
/*
 * The two sleep protocols, each side on its own thread, on both ring formats
 * through the format seams (ring_pair: virtqueue_* on the driver side,
 * struct vring_dev_ops on the device side):
 *  - the device sleeps: disable_notify while it works, then enable_notify →
 *    re-check (enable_notify's return) → sleep on the kick eventfd; the
 *    driver kicks only when kick_prepare says so;
 *  - the driver sleeps: enable_cb (return ignored) → get_buf until empty →
 *    sleep on the call eventfd; the device signals only when need_notify
 *    says so.
 * The two threads go in lock-step, one buffer per round, and the waker adds
 * (or completes) after a random delay, so its store lands on the sleeper's
 * arm-then-re-check window round after round; stale eventfd counts are
 * drained before each round so a leftover wake-up cannot hide a lost one.
 * Without the sleeper's fence (enable_notify, enable_cb) or the waker's
 * (kick_prepare, need_notify) both sides can read the other's old word
 * (store-buffer reordering, §2.7.10, §2.8.21): the sleeper waits for a
 * wake-up that never comes. That needs the two threads on two CPUs at once
 * (they are pinned to two): on a loaded machine a run catches it less often.
 * The waker's fences are R-SR-12 (split) and R-PR-09 (packed), and the
 * device's need_notify fence pairs with them. In the ThreadSanitizer build
 * ($(O)-tsan) a release weakened to relaxed is a race report: the avail idx
 * (R-SR-11), used idx (D-SR-10) and both packed flags stores (R-PR-08).
 * Waiting
 * SLEEP_TIMEOUT_MS is that lost wake-up (not a timing assertion: a wake-up
 * takes microseconds; the timeout stands for "never").
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <vireo/spec.h>
#include <vireo/virtqueue.h>
#include <vireo/vring.h>

#include "tests/lib/ring_pair.h"
#include "tests/lib/sleep_wake.h"
#include "tests/lib/xorshift.h"

#define SLEEP_NUM 64u
#define SLEEP_ROUNDS 400000u	    /* at most; SLEEP_NS ends a run earlier */
#define SLEEP_NS 1000000000ull	    /* per run */
#define SLEEP_TIMEOUT_MS 5000	    /* a sleeper waiting this long was never woken */
#define SLEEP_SPIN_NS 5000000000ull /* a lock-step wait this long: the other side is stuck */
#define SLEEP_DELAY 96u		    /* the waker waits 0..SLEEP_DELAY-1 loop turns */
/* The sleeper waits 0..n-1 turns before arming, n spanning the waker's reaction time. */
#define SLEEP_DEV_ARM_DELAY 384u
#define SLEEP_DRV_ARM_DELAY 1536u

enum sleep_failure {
	SLEEP_OK,
	SLEEP_LOST_KICK,    /* the device slept and no kick came */
	SLEEP_LOST_CALL,    /* the driver slept and no used-buffer signal came */
	SLEEP_STUCK,	    /* a lock-step wait never ended */
	SLEEP_BAD_CHAIN,    /* pop failed or returned a chain the driver did not post */
	SLEEP_BAD_ANSWER,   /* get_buf returned the wrong token, length or data */
	SLEEP_DRIVER_ERROR, /* add failed */
};

static const char *const sleep_failure_names[] = {
	"ok",	      "lost kick",    "lost used-buffer signal", "stuck", "bad chain",
	"bad answer", "driver error",
};

struct sleep_run {
	struct ring_pair *p;
	int kick_fd, call_fd;
	atomic_uint drv_round; /* rounds the driver finished its wake-up step for */
	atomic_uint dev_round; /* rounds the device is ready for (or finished) */
	atomic_bool stop;
	atomic_int failure;
	uint64_t end_ns;
	unsigned int rounds; /* driver: buffers that came back */
	unsigned int sleeps, wakes;
};

static void sleep_fail(struct sleep_run *s, enum sleep_failure why)
{
	int none = SLEEP_OK;
	uint64_t one = 1;

	atomic_compare_exchange_strong(&s->failure, &none, (int)why);
	atomic_store(&s->stop, true);
	/* Wake whoever sleeps so both threads end. */
	if (write(s->kick_fd, &one, sizeof(one)) < 0 || write(s->call_fd, &one, sizeof(one)) < 0)
		abort();
}

/* A busy loop of @turns: a compiler barrier only, no fence (it must not hide one). */
static void sleep_delay(unsigned int turns)
{
	for (volatile unsigned int i = 0; i < turns; i++)
		atomic_signal_fence(memory_order_seq_cst);
}

/* Spin until *@ctr >= @want. Return: false if the run stopped or the other side is stuck. */
static bool sleep_spin_until(struct sleep_run *s, atomic_uint *ctr, unsigned int want)
{
	uint64_t deadline = 0;

	for (unsigned int spins = 0;; spins++) {
		/* relaxed: a fence here would hide the one under test */
		if (atomic_load_explicit(ctr, memory_order_relaxed) >= want)
			return true;
		if (atomic_load_explicit(&s->stop, memory_order_relaxed))
			return false;
		if (spins % 256 != 255)
			continue;
		sched_yield(); /* the other side may share our CPU */
		if (!deadline)
			deadline = sleep_wake_now_ns() + SLEEP_SPIN_NS;
		else if (sleep_wake_now_ns() > deadline) {
			sleep_fail(s, SLEEP_STUCK);
			return false;
		}
	}
}

/* One more turn of a polling loop. Return: false if the run stopped. */
static bool sleep_poll_on(struct sleep_run *s, unsigned int spins)
{
	if (spins % 64 == 0)
		sched_yield(); /* the other side may share our CPU */
	return !atomic_load_explicit(&s->stop, memory_order_relaxed);
}

/* Add round @k's buffer: seq k readable, 8 writable bytes for the answer. */
static bool sleep_drv_add(struct sleep_run *s, unsigned int k)
{
	struct ring_pair *p = s->p;
	uint64_t buf = ring_pair_buf(p, k);
	struct virtio_sg sg[2] = {{buf, 8}, {buf + 64, 8}};
	uint64_t seq = k;

	memcpy(ring_pair_host(buf), &seq, sizeof(seq));
	memset(ring_pair_host(buf + 64), 0, 8);
	if (virtqueue_add_sgs(&p->vq, sg, 1, 1, (void *)(uintptr_t)(k + 1)) == 0)
		return true;
	sleep_fail(s, SLEEP_DRIVER_ERROR);
	return false;
}

/* Check a used buffer is round @k's, answered 3 * k. */
static bool sleep_drv_check(struct sleep_run *s, unsigned int k, void *tok, uint32_t len)
{
	uint64_t answer;

	memcpy(&answer, ring_pair_host(ring_pair_buf(s->p, k) + 64), sizeof(answer));
	if (tok == (void *)(uintptr_t)(k + 1) && len == 8 && answer == 3ull * k)
		return true;
	sleep_fail(s, SLEEP_BAD_ANSWER);
	return false;
}

/* Pop one chain and answer it (3 * seq), then publish it. Return: false on a bad chain. */
static bool sleep_dev_serve(struct sleep_run *s)
{
	const struct vring_dev_ops *ops = s->p->ops;
	union vring_dev_ring *d = &s->p->dev;
	struct vring_iov iov[2];
	struct vring_chain c;
	uint64_t v;

	if (ops->pop(d, &c, iov, 2) || c.readable != 1 || c.writable != 1 || iov[0].len != 8 ||
	    iov[1].len != 8) {
		sleep_fail(s, SLEEP_BAD_CHAIN);
		return false;
	}
	memcpy(&v, iov[0].base, sizeof(v));
	v *= 3;
	memcpy(iov[1].base, &v, sizeof(v));
	if (ops->push(d, c.head, 8)) {
		sleep_fail(s, SLEEP_BAD_CHAIN);
		return false;
	}
	ops->flush(d);
	return true;
}

/*
 * Device sleeps. Round k: wait until the driver is done kicking for round
 * k-1 and drop its leftover kick; tell the driver we are ready; then
 * enable_notify → re-check → sleep until the driver's kick for buffer k;
 * then notifications off while we work, as a real device does.
 */
static void *dev_sleeper(void *arg)
{
	struct sleep_run *s = arg;
	const struct vring_dev_ops *ops = s->p->ops;
	union vring_dev_ring *d = &s->p->dev;
	struct xorshift r = {0x5eed0003u};

	sleep_wake_pin(1);
	for (unsigned int k = 0;; k++) {
		if (!sleep_spin_until(s, &s->drv_round, k))
			return NULL;
		sleep_wake_drain(s->kick_fd);
		atomic_store_explicit(&s->dev_round, k + 1, memory_order_relaxed);
		sleep_delay(xorshift_below(&r, SLEEP_DEV_ARM_DELAY));
		while (!ops->enable_notify(d)) {
			if (atomic_load(&s->stop))
				return NULL;
			s->sleeps++;
			if (!sleep_wake_wait(s->kick_fd, SLEEP_TIMEOUT_MS)) {
				sleep_fail(s, SLEEP_LOST_KICK);
				return NULL;
			}
			s->wakes++;
		}
		/* Off while we work (so the next round's enable_notify writes its word). */
		ops->disable_notify(d);
		if (atomic_load(&s->stop) || !sleep_dev_serve(s))
			return NULL;
		ops->need_notify(d); /* the driver polls: no call */
	}
}

/* Driver of the device-sleeps test: add after a random delay, kick when asked, poll. */
static void *drv_waker(void *arg)
{
	struct sleep_run *s = arg;
	struct virtqueue *vq = &s->p->vq;
	struct xorshift r = {0x5eed0001u};
	uint32_t len;
	void *tok;

	sleep_wake_pin(0);
	virtqueue_disable_cb(vq);
	for (unsigned int k = 0; k < SLEEP_ROUNDS && sleep_wake_now_ns() < s->end_ns; k++) {
		if (!sleep_spin_until(s, &s->dev_round, k + 1))
			return NULL;
		sleep_delay(xorshift_below(&r, SLEEP_DELAY));
		if (!sleep_drv_add(s, k))
			return NULL;
		if (virtqueue_kick_prepare(vq))
			sleep_wake_signal(s->kick_fd);
		atomic_store_explicit(&s->drv_round, k + 1, memory_order_relaxed);
		for (unsigned int spins = 1; !(tok = virtqueue_get_buf(vq, &len)); spins++)
			if (!sleep_poll_on(s, spins))
				return NULL;
		if (!sleep_drv_check(s, k, tok, len))
			return NULL;
		s->rounds++;
	}
	atomic_store(&s->stop, true);
	sleep_wake_signal(s->kick_fd);
	return NULL;
}

/* Device of the driver-sleeps test: poll for round k's buffer, complete it after a random delay. */
static void *dev_waker(void *arg)
{
	struct sleep_run *s = arg;
	const struct vring_dev_ops *ops = s->p->ops;
	union vring_dev_ring *d = &s->p->dev;
	struct xorshift r = {0x5eed0002u};

	sleep_wake_pin(1);
	ops->disable_notify(d); /* we poll */
	for (unsigned int k = 0;; k++) {
		for (unsigned int spins = 1; !ops->has_avail(d); spins++)
			if (!sleep_poll_on(s, spins))
				return NULL;
		sleep_delay(xorshift_below(&r, SLEEP_DELAY));
		if (!sleep_dev_serve(s))
			return NULL;
		if (ops->need_notify(d))
			sleep_wake_signal(s->call_fd);
		atomic_store_explicit(&s->dev_round, k + 1, memory_order_relaxed);
	}
}

/*
 * Driver sleeps. Round k: wait until the device is done signalling for
 * round k-1 and drop its leftover signal; add buffer k; then callbacks on
 * (enable_cb's own answer ignored) → get_buf until empty → sleep.
 */
static void *drv_sleeper(void *arg)
{
	struct sleep_run *s = arg;
	struct virtqueue *vq = &s->p->vq;
	struct xorshift r = {0x5eed0004u};
	uint32_t len;
	void *tok;

	sleep_wake_pin(0);
	for (unsigned int k = 0; k < SLEEP_ROUNDS && sleep_wake_now_ns() < s->end_ns; k++) {
		virtqueue_disable_cb(vq);
		if (!sleep_spin_until(s, &s->dev_round, k))
			return NULL;
		sleep_wake_drain(s->call_fd);
		if (!sleep_drv_add(s, k))
			return NULL;
		virtqueue_kick_prepare(vq); /* the device polls: no kick */
		sleep_delay(xorshift_below(&r, SLEEP_DRV_ARM_DELAY));
		(void)virtqueue_enable_cb(vq);
		while (!(tok = virtqueue_get_buf(vq, &len))) {
			if (atomic_load(&s->stop))
				return NULL;
			s->sleeps++;
			if (!sleep_wake_wait(s->call_fd, SLEEP_TIMEOUT_MS)) {
				sleep_fail(s, SLEEP_LOST_CALL);
				return NULL;
			}
			s->wakes++;
		}
		if (!sleep_drv_check(s, k, tok, len))
			return NULL;
		s->rounds++;
	}
	atomic_store(&s->stop, true);
	return NULL;
}

static void sleep_run(enum ring_pair_format format, bool event_idx, bool device_sleeps)
{
	struct sleep_run *s = calloc(1, sizeof(*s));
	pthread_t drv, dev;
	int failure;

	assert_non_null(s);
	s->p = ring_pair_new(format, SLEEP_NUM, event_idx, false, false);
	s->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(s->kick_fd >= 0 && s->call_fd >= 0);
	s->end_ns = sleep_wake_now_ns() + SLEEP_NS;
	assert_int_equal(pthread_create(&dev, NULL, device_sleeps ? dev_sleeper : dev_waker, s), 0);
	assert_int_equal(pthread_create(&drv, NULL, device_sleeps ? drv_waker : drv_sleeper, s), 0);
	pthread_join(drv, NULL);
	pthread_join(dev, NULL);
	failure = atomic_load(&s->failure);
	printf("# %s %s sleeps, event_idx=%d: %u rounds, %u sleeps, %u wake-ups: %s\n",
	       s->p->ops->name, device_sleeps ? "device" : "driver", event_idx, s->rounds,
	       s->sleeps, s->wakes, sleep_failure_names[failure]);
	assert_int_equal(failure, SLEEP_OK);
	assert_true(s->rounds > 0);
	assert_true(s->sleeps > 0); /* the protocol under test ran */
	assert_false(virtqueue_is_broken(&s->p->vq));
	assert_int_equal(s->p->ops->error(&s->p->dev), VRING_ERR_NONE);
	close(s->kick_fd);
	close(s->call_fd);
	ring_pair_free(s->p);
	free(s);
}

static void test_split_device_sleeps(void **state)
{
	(void)state;
	sleep_run(RING_PAIR_SPLIT, false, true);
}

static void test_split_device_sleeps_event_idx(void **state)
{
	(void)state;
	sleep_run(RING_PAIR_SPLIT, true, true);
}

static void test_split_driver_sleeps(void **state)
{
	(void)state;
	sleep_run(RING_PAIR_SPLIT, false, false);
}

static void test_split_driver_sleeps_event_idx(void **state)
{
	(void)state;
	sleep_run(RING_PAIR_SPLIT, true, false);
}

static void test_packed_device_sleeps(void **state)
{
	(void)state;
	sleep_run(RING_PAIR_PACKED, false, true);
}

static void test_packed_device_sleeps_event_idx(void **state)
{
	(void)state;
	sleep_run(RING_PAIR_PACKED, true, true);
}

static void test_packed_driver_sleeps(void **state)
{
	(void)state;
	sleep_run(RING_PAIR_PACKED, false, false);
}

static void test_packed_driver_sleeps_event_idx(void **state)
{
	(void)state;
	sleep_run(RING_PAIR_PACKED, true, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_device_sleeps),
		cmocka_unit_test(test_split_device_sleeps_event_idx),
		cmocka_unit_test(test_split_driver_sleeps),
		cmocka_unit_test(test_split_driver_sleeps_event_idx),
		cmocka_unit_test(test_packed_device_sleeps),
		cmocka_unit_test(test_packed_device_sleeps_event_idx),
		cmocka_unit_test(test_packed_driver_sleeps),
		cmocka_unit_test(test_packed_driver_sleeps_event_idx),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
