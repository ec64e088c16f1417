// SPDX-License-Identifier: MIT
/*
 * Threaded tests for ring/: one split ring driven by a driver and a device
 * thread, checking the memory ordering and that no wake-up is lost.
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

#include "tests/lib/ring_fixture.h"
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
#define THR_OPS 50000u
#define THR_TIMEOUT_S 20

struct thr {
	struct ring_fixture *f;
	atomic_bool stop;
	atomic_uint device_errors;
};

static void *thr_device(void *arg)
{
	struct thr *t = arg;
	struct ring_fixture *f = t->f;
	unsigned int since_flush = 0;

	while (!atomic_load(&t->stop)) {
		struct vring_iov iov[2];
		struct vring_chain c;
		uint64_t v;
		int r = vring_split_dev_pop(&f->dev, &c, iov, 2);

		if (r == -EAGAIN) {
			vring_split_dev_flush(&f->dev);
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
		if (vring_split_dev_push(&f->dev, c.head, 8)) {
			atomic_fetch_add(&t->device_errors, 1);
			break;
		}
		if (++since_flush == 16) {
			vring_split_dev_flush(&f->dev);
			since_flush = 0;
		}
	}
	vring_split_dev_flush(&f->dev);
	return NULL;
}

static void thr_run(bool event_idx, bool indirect, bool publish)
{
	time_t deadline = time(NULL) + THR_TIMEOUT_S;
	struct thr t = {.f = ring_fixture_new(16, event_idx, indirect, 0)};
	struct ring_fixture *f = t.f;
	uint64_t seq[16];
	uint16_t free_slots[16];
	unsigned int n_free = 16, sent = 0, done = 0;
	pthread_t dev;

	for (unsigned int i = 0; i < 16; i++)
		free_slots[i] = (uint16_t)i;
	virtqueue_disable_cb(&f->vq);
	assert_int_equal(pthread_create(&dev, NULL, thr_device, &t), 0);
	while (done < THR_OPS) {
		uint32_t len;
		void *tok;

		while (sent < THR_OPS && n_free && virtqueue_get_num_free(&f->vq) >= 2) {
			unsigned int slot = free_slots[--n_free];
			uint64_t *out = ring_fixture_host(f, ring_fixture_buf(f, slot));
			struct virtio_sg sg[2] = {{ring_fixture_buf(f, slot), 8},
						  {ring_fixture_buf(f, slot) + 64, 8}};

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
			uint64_t *in = ring_fixture_host(f, ring_fixture_buf(f, slot) + 64);

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
	ring_fixture_free(f);
}

static void test_threads_plain(void **state)
{
	(void)state;
	thr_run(false, false, false);
}

static void test_threads_event_idx_indirect(void **state)
{
	(void)state;
	thr_run(true, true, false);
}

/* Poll mode: publish only, never a kick decision (what `bench ring --notify-checks off` does). */
static void test_threads_publish(void **state)
{
	(void)state;
	thr_run(true, false, true);
}

/*
 * Lost-kick regression (`vireo bench blk` hung): a device that never calls
 * enable/disable_notify, so notifications stay on from init and each pop
 * writes avail_event. It sleeps on its kick eventfd as soon as pop says
 * -EAGAIN, which is safe only if pop made its avail_event store visible
 * before its last look at avail->idx (§2.7.10; dev_avail_recheck()). The
 * driver sleeps on its call eventfd with the enable_cb / re-check protocol.
 * Either side waiting RACE_TIMEOUT_MS is a lost wake-up (not a timing
 * assertion: a wake-up takes microseconds; the timeout stands for "never").
 * The driver spins a random while before sleeping and the device completes
 * every RACE_FLUSH chains, so adds often meet the device's last pop: with
 * the fence removed this catches the hang in most runs on an idle 2-CPU box.
 * With @publish the driver also calls virtqueue_publish() after random adds,
 * so the device often sees buffers before the kick decision: kick_prepare
 * must still decide for all of them (a publish that counted as a decision
 * loses the kick the sleeping device waits for).
 */
#define RACE_NUM 64u
#define RACE_DEPTH 32u
#define RACE_SPIN 2000u /* driver polls up to this many times before sleeping */
#define RACE_FLUSH 4u	/* device completes every RACE_FLUSH chains */
#define RACE_OPS 3000000u
#define RACE_NS 3000000000ull
#define RACE_TIMEOUT_MS 2000

struct race {
	struct ring_fixture *f;
	int kick_fd, call_fd;
	atomic_bool stop;
	atomic_bool dev_timeout, drv_timeout, dev_bad, drv_bad;
	uint64_t seq[RACE_NUM];
	uint64_t sent, done, kicks, sleeps;
	bool publish; /* virtqueue_publish() after random adds */
};

static void race_dev_complete(struct race *rc)
{
	vring_split_dev_flush(&rc->f->dev);
	if (vring_split_dev_need_notify(&rc->f->dev))
		sleep_wake_signal(rc->call_fd);
}

/* Pop until the ring looks empty, answering 3 * seq. Return: false on a bad chain. */
static bool race_dev_serve(struct race *rc)
{
	struct vring_split_dev *d = &rc->f->dev;
	struct vring_iov iov[2];
	struct vring_chain c;
	unsigned int n = 0;
	uint64_t v;
	int r;

	while ((r = vring_split_dev_pop(d, &c, iov, 2)) == 0) {
		if (c.readable != 1 || c.writable != 1 || iov[0].len != 8 || iov[1].len != 8)
			return false;
		memcpy(&v, iov[0].base, sizeof(v));
		v *= 3;
		memcpy(iov[1].base, &v, sizeof(v));
		if (vring_split_dev_push(d, c.head, 8))
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
 * Add a batch of 1..8 buffers, keeping at most RACE_DEPTH in flight.
 * Return: false if an add failed (no cmocka assert off the main thread).
 */
static bool race_drv_add(struct race *rc, struct xorshift *r, uint64_t limit)
{
	struct ring_fixture *f = rc->f;
	unsigned int batch = 1 + xorshift_below(r, 8);

	while (batch-- && rc->sent < limit && rc->sent - rc->done < RACE_DEPTH) {
		/* The device completes in pop order and at most RACE_DEPTH <
		 * RACE_NUM are in flight, so this slot is free. */
		unsigned int slot = (unsigned int)(rc->sent % RACE_NUM);
		struct virtio_sg sg[2] = {{ring_fixture_buf(f, slot), 8},
					  {ring_fixture_buf(f, slot) + 64, 8}};
		uint64_t *out = ring_fixture_host(f, ring_fixture_buf(f, slot));

		rc->seq[slot] = rc->sent;
		*out = rc->sent;
		if (virtqueue_add_sgs(&f->vq, sg, 1, 1, (void *)(uintptr_t)(slot + 1)))
			return false;
		rc->sent++;
		if (rc->publish && xorshift_below(r, 2))
			virtqueue_publish(&f->vq);
	}
	return true;
}

/* Take every used buffer. Return: how many, or -1 on a wrong answer. */
static int race_drv_reap(struct race *rc)
{
	struct ring_fixture *f = rc->f;
	uint32_t len;
	void *tok;
	int n = 0;

	while ((tok = virtqueue_get_buf(&f->vq, &len))) {
		unsigned int slot = (unsigned int)(uintptr_t)tok - 1;
		uint64_t *in = ring_fixture_host(f, ring_fixture_buf(f, slot) + 64);

		if (slot >= RACE_NUM || len != 8 || *in != 3 * rc->seq[slot])
			return -1;
		rc->done++;
		n++;
	}
	return n;
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
		    (rc->sent < limit && rc->sent - rc->done < RACE_DEPTH))
			continue;
		/*
		 * Nothing to do: poll a random while (so our next add often
		 * meets the device's last pop), then arm the callback,
		 * re-check, and sleep.
		 */
		for (unsigned int spin = xorshift_below(&r, RACE_SPIN); spin; spin--)
			if (virtqueue_more_used(vq))
				break;
		if (virtqueue_more_used(vq))
			continue;
		if (!virtqueue_enable_cb(vq)) {
			virtqueue_disable_cb(vq);
			continue;
		}
		rc->sleeps++;
		if (!sleep_wake_wait(rc->call_fd, RACE_TIMEOUT_MS))
			atomic_store(&rc->drv_timeout, !atomic_load(&rc->stop));
		virtqueue_disable_cb(vq);
		if (atomic_load(&rc->drv_timeout))
			break;
	}
	atomic_store(&rc->stop, true);
	sleep_wake_signal(rc->kick_fd);
	return NULL;
}

/* The ring indices after both threads stopped, for a failure report. */
static void race_report(struct race *rc)
{
	struct ring_fixture *f = rc->f;
	const le16 *used_event =
		(const le16 *)(const void *)((const uint8_t *)f->avail + virtq_avail_size(f->num) -
					     sizeof(le16));

	printf("# lost wake-up: device %s, driver %s; avail idx %u, last_avail %u, used idx %u,"
	       " avail_event %u, used_event %u; sent %llu, done %llu\n",
	       atomic_load(&rc->dev_timeout) ? "timed out" : "ok",
	       atomic_load(&rc->drv_timeout) ? "timed out" : "ok", le16_to_cpu(f->avail->idx),
	       vring_split_dev_get_last_avail(&f->dev), le16_to_cpu(f->used->idx),
	       le16_to_cpu(*ring_fixture_avail_event(f)), le16_to_cpu(*used_event),
	       (unsigned long long)rc->sent, (unsigned long long)rc->done);
}

static void race_run(bool event_idx, bool publish)
{
	struct race *rc = calloc(1, sizeof(*rc));
	pthread_t dev, drv;
	bool lost;

	assert_non_null(rc);
	rc->f = ring_fixture_new(RACE_NUM, event_idx, false, 0);
	rc->publish = publish;
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
	printf("# race event_idx=%d publish=%d: %llu buffers, %llu kicks, %llu driver sleeps\n",
	       event_idx, publish, (unsigned long long)rc->done, (unsigned long long)rc->kicks,
	       (unsigned long long)rc->sleeps);
	assert_false(lost);
	assert_false(atomic_load(&rc->dev_bad));
	assert_false(atomic_load(&rc->drv_bad));
	assert_int_equal(rc->done, rc->sent);
	assert_true(rc->done > 0);
	assert_false(virtqueue_is_broken(&rc->f->vq));
	close(rc->kick_fd);
	close(rc->call_fd);
	ring_fixture_free(rc->f);
	free(rc);
}

static void test_race_kick_event_idx(void **state)
{
	(void)state;
	race_run(true, false);
}

static void test_race_kick_publish(void **state)
{
	(void)state;
	race_run(true, true);
}

static void test_race_kick_plain(void **state)
{
	(void)state;
	race_run(false, false);
}
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_plain),
		cmocka_unit_test(test_threads_event_idx_indirect),
		cmocka_unit_test(test_threads_publish),
		cmocka_unit_test(test_race_kick_event_idx),
		cmocka_unit_test(test_race_kick_plain),
		cmocka_unit_test(test_race_kick_publish),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
