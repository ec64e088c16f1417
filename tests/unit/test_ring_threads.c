// SPDX-License-Identifier: MIT
/*
 * Threaded tests for ring/: one ring driven by a driver and a device thread,
 * checking the memory ordering and that no wake-up is lost. Each test runs on a
 * split ring (§2.7) and on a packed one (§2.8, sizes not a power of two), both
 * sides through their format seams (tests/lib/ring_pair.h): what a side wrote
 * before its release store (split: avail/used idx; packed: the batch's first
 * head flags, R-PR-08, and the used descriptor's flags) must be visible after
 * the other side's acquire.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include <vireo/spec.h>
#include <vireo/virtqueue.h>
#include <vireo/vring.h>

#include "tests/lib/ring_pair.h"
#include "tests/lib/sleep_wake.h"
#include "tests/lib/xorshift.h"

/*
 * The same ring driven by two real threads (polling), so the acquire/release
 * pairs and fences are exercised: the driver writes a sequence number into
 * each readable buffer before adding it, the device answers 3 * seq in the
 * writable one, and the driver checks the answer after get_buf (data
 * written before a published index must be visible after it). With
 * @publish the driver never decides on a kick: virtqueue_publish() alone
 * must make each batch visible (R-SR-11: a release store of avail->idx after
 * the ring entries; under TSan a weaker store shows as a race on the
 * buffers), or the device never sees it and the run times out.
 */
#define THR_NUM 16u
#define THR_OPS 50000u
#define THR_TIMEOUT_S 20

struct thr {
	struct ring_pair *f;
	atomic_bool stop;
	atomic_uint device_errors;
};

static void *thr_device(void *arg)
{
	struct thr *t = arg;
	struct ring_pair *f = t->f;
	unsigned int since_flush = 0;

	while (!atomic_load(&t->stop)) {
		struct vring_iov iov[2];
		struct vring_chain c;
		uint64_t v;
		int r = f->ops->pop(&f->dev, &c, iov, 2);

		if (r == -EAGAIN) {
			f->ops->flush(&f->dev);
			since_flush = 0;
			sched_yield();
			continue;
		}
		if (r || c.readable != 1 || c.writable != 1 || iov[0].len != 8 || iov[1].len != 8) {
			atomic_fetch_add(&t->device_errors, 1);
			break;
		}
		memcpy(&v, iov[0].base, sizeof(v));
		v *= 3;
		memcpy(iov[1].base, &v, sizeof(v));
		if (f->ops->push(&f->dev, c.head, 8)) {
			atomic_fetch_add(&t->device_errors, 1);
			break;
		}
		if (++since_flush == 16) {
			f->ops->flush(&f->dev);
			since_flush = 0;
		}
	}
	f->ops->flush(&f->dev);
	return NULL;
}

static void thr_run(enum ring_pair_format format, bool event_idx, bool indirect, bool publish)
{
	time_t deadline = time(NULL) + THR_TIMEOUT_S;
	struct thr t = {.f = ring_pair_new(format, THR_NUM, event_idx, indirect, false)};
	struct ring_pair *f = t.f;
	uint64_t seq[THR_NUM];
	uint16_t free_slots[THR_NUM];
	unsigned int n_free = THR_NUM, sent = 0, done = 0;
	pthread_t dev;

	for (unsigned int i = 0; i < THR_NUM; i++)
		free_slots[i] = (uint16_t)i;
	virtqueue_disable_cb(&f->vq);
	assert_int_equal(pthread_create(&dev, NULL, thr_device, &t), 0);
	while (done < THR_OPS) {
		uint32_t len;
		void *tok;

		while (sent < THR_OPS && n_free && virtqueue_get_num_free(&f->vq) >= 2) {
			unsigned int slot = free_slots[--n_free];
			uint64_t *out = ring_pair_host(ring_pair_buf(f, slot));
			struct virtio_sg sg[2] = {{ring_pair_buf(f, slot), 8},
						  {ring_pair_buf(f, slot) + 64, 8}};

			seq[slot] = sent++;
			*out = seq[slot];
			assert_int_equal(
				virtqueue_add_sgs(&f->vq, sg, 1, 1, (void *)(uintptr_t)(slot + 1)),
				0);
		}
		if (publish)
			virtqueue_publish(&f->vq);
		else
			virtqueue_kick_prepare(&f->vq);
		if (!virtqueue_more_used(&f->vq))
			sched_yield(); /* the device may share our CPU */
		while ((tok = virtqueue_get_buf(&f->vq, &len))) {
			unsigned int slot = (unsigned int)(uintptr_t)tok - 1;
			uint64_t *in = ring_pair_host(ring_pair_buf(f, slot) + 64);

			assert_int_equal(len, 8);
			assert_int_equal(*in, 3 * seq[slot]);
			free_slots[n_free++] = (uint16_t)slot;
			done++;
		}
		if (atomic_load(&t.device_errors) || time(NULL) > deadline)
			break;
	}
	atomic_store(&t.stop, true);
	pthread_join(dev, NULL);
	assert_int_equal(atomic_load(&t.device_errors), 0);
	assert_int_equal(done, THR_OPS);
	assert_false(virtqueue_is_broken(&f->vq));
	assert_int_equal(f->ops->error(&f->dev), VRING_ERR_NONE);
	ring_pair_free(f);
}

static void test_threads_plain(void **state)
{
	(void)state;
	thr_run(RING_PAIR_SPLIT, false, false, false);
	thr_run(RING_PAIR_PACKED, false, false, false);
}

static void test_threads_event_idx_indirect(void **state)
{
	(void)state;
	thr_run(RING_PAIR_SPLIT, true, true, false);
	thr_run(RING_PAIR_PACKED, true, true, false);
}

/* Poll mode: publish only, never a kick decision (what `bench ring --notify-checks off` does). */
static void test_threads_publish(void **state)
{
	(void)state;
	thr_run(RING_PAIR_SPLIT, true, false, true);
	thr_run(RING_PAIR_PACKED, true, false, true);
}

/*
 * Lost-kick regression (`vireo bench blk` hung): a device that never calls
 * enable/disable_notify, so notifications stay on from init and pop keeps
 * the avail event current (split: avail_event; packed with EVENT_IDX: the
 * device event area's off_wrap). It sleeps on its kick eventfd as soon as pop
 * says -EAGAIN, which is safe only if pop made that store visible before its
 * last look at the ring (§2.7.10, dev_avail_recheck(); §2.8.10). The driver sleeps on its call eventfd with the
 * enable_cb / re-check protocol. Either side waiting RACE_TIMEOUT_MS is a lost
 * wake-up (not a timing assertion: a wake-up takes microseconds; the timeout
 * stands for "never"). The driver spins a random while before sleeping and the
 * device completes every RACE_FLUSH chains, so adds often meet the device's
 * last pop: with the fence removed this catches the hang in most runs on an
 * idle 2-CPU box. With publish the driver also calls virtqueue_publish() after
 * random adds, so the device often sees buffers (packed: pops a batch, its
 * first head's flags stored last) before the kick decision: kick_prepare must
 * still decide for all of them (a publish that counted as a decision loses
 * the kick the sleeping device waits for).
 */
#define RACE_NUM_MAX 64u
#define RACE_SPIN 2000u /* driver polls up to this many times before sleeping */
#define RACE_FLUSH 4u	/* device completes every RACE_FLUSH chains */
#define RACE_OPS 3000000u
#define RACE_NS 3000000000ull
#define RACE_TIMEOUT_MS 2000

/* What one race runs on. Each buffer takes two descriptors: depth * 2 <= num. */
struct race_shape {
	enum ring_pair_format format;
	uint16_t num;
	unsigned int depth; /* buffers in flight at most */
	bool event_idx, in_order;
	bool publish; /* virtqueue_publish() after random adds */
};

/* Split: a power of two, full at depth. Packed: any size (§2.8), 61 leaves 5 spare. */
#define RACE_SPLIT(...)                              \
	{                                            \
		RING_PAIR_SPLIT, 64, 32, __VA_ARGS__ \
	}
#define RACE_PACKED(...)                              \
	{                                             \
		RING_PAIR_PACKED, 61, 28, __VA_ARGS__ \
	}

struct race {
	struct ring_pair *f;
	struct race_shape shape;
	int kick_fd, call_fd;
	atomic_bool stop;
	atomic_bool dev_timeout, drv_timeout, dev_bad, drv_bad;
	uint64_t seq[RACE_NUM_MAX];
	uint64_t sent, done, kicks, sleeps;
};

static void race_dev_complete(struct race *rc)
{
	struct ring_pair *f = rc->f;

	f->ops->flush(&f->dev);
	if (f->ops->need_notify(&f->dev))
		sleep_wake_signal(rc->call_fd);
}

/* Pop until the ring looks empty, answering 3 * seq. Return: false on a bad chain. */
static bool race_dev_serve(struct race *rc)
{
	struct ring_pair *f = rc->f;
	struct vring_iov iov[2];
	struct vring_chain c;
	unsigned int n = 0;
	uint64_t v;
	int r;

	while ((r = f->ops->pop(&f->dev, &c, iov, 2)) == 0) {
		if (c.readable != 1 || c.writable != 1 || iov[0].len != 8 || iov[1].len != 8)
			return false;
		memcpy(&v, iov[0].base, sizeof(v));
		v *= 3;
		memcpy(iov[1].base, &v, sizeof(v));
		if (f->ops->push(&f->dev, c.head, 8))
			return false;
		/* Complete as we go, like a real device: the driver refills
		 * while we pop, so its adds meet our -EAGAIN. */
		if (++n % RACE_FLUSH == 0)
			race_dev_complete(rc);
	}
	return r == -EAGAIN;
}

static void *race_device(void *arg)
{
	struct race *rc = arg;

	sleep_wake_pin(1);
	while (!atomic_load(&rc->stop)) {
		if (!race_dev_serve(rc)) {
			atomic_store(&rc->dev_bad, true);
			break;
		}
		race_dev_complete(rc);
		if (!sleep_wake_wait(rc->kick_fd, RACE_TIMEOUT_MS)) {
			atomic_store(&rc->dev_timeout, !atomic_load(&rc->stop));
			break;
		}
	}
	atomic_store(&rc->stop, true);
	sleep_wake_signal(rc->call_fd);
	return NULL;
}

/*
 * Add a batch of 1..8 buffers, keeping at most the shape's depth in flight.
 * Return: false if an add failed (no cmocka assert off the main thread).
 */
static bool race_drv_add(struct race *rc, struct xorshift *r, uint64_t limit)
{
	struct ring_pair *f = rc->f;
	unsigned int batch = 1 + xorshift_below(r, 8);

	while (batch-- && rc->sent < limit && rc->sent - rc->done < rc->shape.depth) {
		/* The device completes in pop order and fewer than num are in
		 * flight, so this slot is free. */
		unsigned int slot = (unsigned int)(rc->sent % rc->shape.num);
		struct virtio_sg sg[2] = {{ring_pair_buf(f, slot), 8},
					  {ring_pair_buf(f, slot) + 64, 8}};
		uint64_t *out = ring_pair_host(ring_pair_buf(f, slot));

		rc->seq[slot] = rc->sent;
		*out = rc->sent;
		if (virtqueue_add_sgs(&f->vq, sg, 1, 1, (void *)(uintptr_t)(slot + 1)))
			return false;
		rc->sent++;
		if (rc->shape.publish && xorshift_below(r, 2))
			virtqueue_publish(&f->vq);
	}
	return true;
}

/* Take every used buffer. Return: how many, or -1 on a wrong answer. */
static int race_drv_reap(struct race *rc)
{
	struct ring_pair *f = rc->f;
	uint32_t len;
	void *tok;
	int n = 0;

	while ((tok = virtqueue_get_buf(&f->vq, &len))) {
		unsigned int slot = (unsigned int)(uintptr_t)tok - 1;
		uint64_t *in = ring_pair_host(ring_pair_buf(f, slot) + 64);

		if (slot >= rc->shape.num || len != 8 || *in != 3 * rc->seq[slot])
			return -1;
		rc->done++;
		n++;
	}
	return n;
}

/*
 * Nothing to do: poll a random while (so our next add often meets the
 * device's last pop), then arm the callback, re-check, and sleep.
 * Return: false if the call never came (a lost wake-up).
 */
static bool race_drv_sleep(struct race *rc, struct xorshift *r)
{
	struct virtqueue *vq = &rc->f->vq;

	for (unsigned int spin = xorshift_below(r, RACE_SPIN); spin; spin--)
		if (virtqueue_more_used(vq))
			return true;
	if (virtqueue_more_used(vq))
		return true;
	if (!virtqueue_enable_cb(vq)) {
		virtqueue_disable_cb(vq);
		return true;
	}
	rc->sleeps++;
	if (!sleep_wake_wait(rc->call_fd, RACE_TIMEOUT_MS))
		atomic_store(&rc->drv_timeout, !atomic_load(&rc->stop));
	virtqueue_disable_cb(vq);
	return !atomic_load(&rc->drv_timeout);
}

static void *race_driver(void *arg)
{
	struct race *rc = arg;
	struct virtqueue *vq = &rc->f->vq;
	struct xorshift r = {0x9e3779b97f4a7c15ull};
	uint64_t limit = RACE_OPS, end = sleep_wake_now_ns() + RACE_NS;
	int n;

	sleep_wake_pin(0);
	virtqueue_disable_cb(vq);
	while (rc->done < limit && !atomic_load(&rc->stop)) {
		if (limit == RACE_OPS && sleep_wake_now_ns() > end)
			limit = rc->sent; /* out of time: drain what is in flight */
		if (!race_drv_add(rc, &r, limit)) {
			atomic_store(&rc->drv_bad, true);
			break;
		}
		if (virtqueue_kick_prepare(vq)) {
			sleep_wake_signal(rc->kick_fd);
			rc->kicks++;
		}
		n = race_drv_reap(rc);
		if (n < 0) {
			atomic_store(&rc->drv_bad, true);
			break;
		}
		/*
		 * done == limit: the deadline cut limit to what was already
		 * reaped; nothing is in flight, so no call would ever come.
		 */
		if (n || rc->done >= limit ||
		    (rc->sent < limit && rc->sent - rc->done < rc->shape.depth))
			continue;
		if (!race_drv_sleep(rc, &r))
			break;
	}
	atomic_store(&rc->stop, true);
	sleep_wake_signal(rc->kick_fd);
	return NULL;
}

/* The ring's positions after both threads stopped, for a failure report. */
static void race_report(struct race *rc)
{
	struct ring_pair *f = rc->f;
	const uint8_t *drv = f->mem + f->driver_addr, *dev = f->mem + f->device_addr;
	struct vring_dev_position pos;
	uint16_t words[4];

	f->ops->get_position(&f->dev, &pos);
	/* split: avail flags, idx; used flags, idx. packed: each event area's off_wrap, flags. */
	memcpy(&words[0], drv, 4);
	memcpy(&words[2], dev, 4);
	printf("# lost wake-up: device %s, driver %s; device at avail %u/%d used %u/%d; driver "
	       "area "
	       "%#x %#x, device area %#x %#x; sent %llu, done %llu\n",
	       atomic_load(&rc->dev_timeout) ? "timed out" : "ok",
	       atomic_load(&rc->drv_timeout) ? "timed out" : "ok", pos.avail_idx, pos.avail_wrap,
	       pos.used_idx, pos.used_wrap, words[0], words[1], words[2], words[3],
	       (unsigned long long)rc->sent, (unsigned long long)rc->done);
}

static void race_run(struct race_shape shape)
{
	struct race *rc = calloc(1, sizeof(*rc));
	pthread_t dev, drv;
	bool lost;

	assert_non_null(rc);
	assert_true(shape.num <= RACE_NUM_MAX && shape.depth * 2u <= shape.num);
	rc->shape = shape;
	rc->f = ring_pair_new(shape.format, shape.num, shape.event_idx, false, shape.in_order);
	rc->kick_fd = eventfd(0, EFD_CLOEXEC);
	rc->call_fd = eventfd(0, EFD_CLOEXEC);
	assert_true(rc->kick_fd >= 0 && rc->call_fd >= 0);
	assert_int_equal(pthread_create(&dev, NULL, race_device, rc), 0);
	assert_int_equal(pthread_create(&drv, NULL, race_driver, rc), 0);
	pthread_join(drv, NULL);
	pthread_join(dev, NULL);
	lost = atomic_load(&rc->dev_timeout) || atomic_load(&rc->drv_timeout);
	if (lost)
		race_report(rc);
	printf("# race %s event_idx=%d in_order=%d publish=%d: %llu buffers, %llu kicks, "
	       "%llu driver sleeps\n",
	       rc->f->ops->name, shape.event_idx, shape.in_order, shape.publish,
	       (unsigned long long)rc->done, (unsigned long long)rc->kicks,
	       (unsigned long long)rc->sleeps);
	assert_false(lost);
	assert_false(atomic_load(&rc->dev_bad));
	assert_false(atomic_load(&rc->drv_bad));
	assert_int_equal(rc->done, rc->sent);
	assert_true(rc->done > 0);
	assert_false(virtqueue_is_broken(&rc->f->vq));
	assert_int_equal(rc->f->ops->error(&rc->f->dev), VRING_ERR_NONE);
	close(rc->kick_fd);
	close(rc->call_fd);
	ring_pair_free(rc->f);
	free(rc);
}

/* One test per shape, so a lost wake-up names its ring. Arguments: event_idx, in_order, publish. */
#define RACE_TEST(name, shape)                      \
	static void name(void **state)              \
	{                                           \
		(void)state;                        \
		race_run((struct race_shape)shape); \
	}

RACE_TEST(test_race_split_event_idx, RACE_SPLIT(true, false, false))
RACE_TEST(test_race_split_plain, RACE_SPLIT(false, false, false))
RACE_TEST(test_race_split_in_order, RACE_SPLIT(true, true, false))
RACE_TEST(test_race_split_publish, RACE_SPLIT(true, false, true))
RACE_TEST(test_race_packed_event_idx, RACE_PACKED(true, false, false))
RACE_TEST(test_race_packed_plain, RACE_PACKED(false, false, false))
RACE_TEST(test_race_packed_in_order, RACE_PACKED(true, true, false))
RACE_TEST(test_race_packed_publish, RACE_PACKED(true, false, true))

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_plain),
		cmocka_unit_test(test_threads_event_idx_indirect),
		cmocka_unit_test(test_threads_publish),
		cmocka_unit_test(test_race_split_event_idx),
		cmocka_unit_test(test_race_split_plain),
		cmocka_unit_test(test_race_split_in_order),
		cmocka_unit_test(test_race_split_publish),
		cmocka_unit_test(test_race_packed_event_idx),
		cmocka_unit_test(test_race_packed_plain),
		cmocka_unit_test(test_race_packed_in_order),
		cmocka_unit_test(test_race_packed_publish),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
