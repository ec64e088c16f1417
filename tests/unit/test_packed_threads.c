// SPDX-License-Identifier: MIT
/*
 * Threaded tests for the packed ring (virtio 1.2 §2.8): our packed driver and
 * our packed device on one ring, each on its own thread, both sleeping on
 * eventfds (driver: enable_cb's re-check, then sleep; device: notifications
 * left on from init, pop until -EAGAIN, then sleep; the device's
 * enable_notify protocol is test_ring_sleep.c's). The
 * driver writes a sequence number into each readable buffer, the device
 * answers 3 * seq in the writable one, and the driver checks it after
 * get_buf: what a side wrote before its release store (the batch's first
 * head flags, the used descriptor's flags) must be visible after the other
 * side's acquire. Either side waiting RACE_TIMEOUT_MS is a lost wake-up (not
 * a timing assertion: a wake-up takes microseconds; the timeout stands for
 * "never"). The split ring's counterpart is test_ring_threads.c. With
 * publish the driver also calls virtqueue_publish() after random adds: the
 * device then often pops a batch (R-PR-08: its first head's flags stored with
 * release after every descriptor of it) before the kick decision, which must
 * still cover those buffers, or the sleeping device is never kicked.
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

#include "tests/lib/sleep_wake.h"
#include "tests/lib/xorshift.h"

#define PRING_BUF 128u

/* One packed ring, both sides, in one heap block: guest address == host address. */
struct pring {
	uint8_t *mem;
	size_t len;
	uint16_t num;
	struct vring_desc_extra *extra;
	void *state;
	struct virtqueue vq;
	struct vring_packed_dev dev;
	uint8_t *bufs;
};

static void *pring_translate(const void *opaque, uint64_t addr, uint64_t len, uint64_t *contig)
{
	const struct pring *p = opaque;
	uint64_t base = (uint64_t)(uintptr_t)p->mem;

	if (addr < base || len > p->len || addr - base > p->len - len)
		return NULL;
	*contig = len;
	return (void *)(uintptr_t)addr;
}

static uint64_t pring_buf(const struct pring *p, unsigned int slot)
{
	return (uint64_t)(uintptr_t)(p->bufs + (size_t)slot * PRING_BUF);
}

static void *pring_host(uint64_t gpa)
{
	return (void *)(uintptr_t)gpa;
}

static struct pring *pring_new(uint16_t num, bool event_idx, bool in_order)
{
	struct pring *p = calloc(1, sizeof(*p));
	size_t ring = 16u * num;
	struct vring_packed_drv_config dc;
	struct vring_dev_config vc;
	uint64_t gpa;

	assert_non_null(p);
	p->num = num;
	p->len = ring + 128 + (size_t)num * PRING_BUF;
	p->mem = aligned_alloc(64, (p->len + 63) & ~(size_t)63);
	p->extra = calloc(num, sizeof(*p->extra));
	p->state = aligned_alloc(64, (vring_packed_dev_state_size(num) + 63) & ~(size_t)63);
	assert_non_null(p->mem);
	assert_non_null(p->extra);
	assert_non_null(p->state);
	memset(p->mem, 0, p->len);
	gpa = (uint64_t)(uintptr_t)p->mem;
	p->bufs = p->mem + ring + 128;
	dc = (struct vring_packed_drv_config){
		.num = num,
		.desc = (struct pvirtq_desc *)(void *)p->mem,
		/* the two event areas a cache line apart: each side writes one */
		.driver_event = (struct pvirtq_event_suppress *)(void *)(p->mem + ring),
		.device_event = (struct pvirtq_event_suppress *)(void *)(p->mem + ring + 64),
		.extra = p->extra,
		.event_idx = event_idx,
		.in_order = in_order,
	};
	assert_int_equal(virtqueue_packed_init(&p->vq, &dc), 0);
	vc = (struct vring_dev_config){
		.num = num,
		.max_num = VIRTQ_PACKED_MAX_SIZE,
		.desc_addr = gpa,
		.driver_addr = gpa + ring,
		.device_addr = gpa + ring + 64,
		.position = {.avail_wrap = true, .used_wrap = true},
		.event_idx = event_idx,
		.in_order = in_order,
		.mem = {.translate = pring_translate, .opaque = p},
		.state = p->state,
	};
	assert_int_equal(vring_packed_dev_init(&p->dev, &vc), 0);
	return p;
}

static void pring_free(struct pring *p)
{
	free(p->mem);
	free(p->extra);
	free(p->state);
	free(p);
}

/*
 * The race (after test_ring_threads.c's): the device completes every
 * RACE_FLUSH chains while the driver refills, and the driver spins a random
 * while before it sleeps, so adds often meet the device's last pop and used
 * descriptors the driver's re-arm.
 */
#define RACE_NUM 61u	/* not a power of two: §2.8 allows any size */
#define RACE_DEPTH 28u	/* two descriptors each: 30 fit in 61 */
#define RACE_SPIN 2000u /* driver polls up to this many times before sleeping */
#define RACE_FLUSH 4u	/* device completes every RACE_FLUSH chains */
#define RACE_OPS 3000000u
#define RACE_NS 3000000000ull
#define RACE_TIMEOUT_MS 2000

struct race {
	struct pring *f;
	int kick_fd, call_fd;
	atomic_bool stop;
	atomic_bool dev_timeout, drv_timeout, dev_bad, drv_bad;
	uint64_t seq[RACE_NUM];
	uint64_t sent, done, kicks, sleeps;
	bool publish; /* virtqueue_publish() after random adds */
};

static void race_dev_complete(struct race *rc)
{
	vring_packed_dev_flush(&rc->f->dev);
	if (vring_packed_dev_need_notify(&rc->f->dev))
		sleep_wake_signal(rc->call_fd);
}

/* Pop until the ring looks empty, answering 3 * seq. Return: false on a bad chain. */
static bool race_dev_serve(struct race *rc)
{
	struct vring_packed_dev *d = &rc->f->dev;
	struct vring_iov iov[2];
	struct vring_chain c;
	unsigned int n = 0;
	uint64_t v;
	int r;

	while ((r = vring_packed_dev_pop(d, &c, iov, 2)) == 0) {
		if (c.readable != 1 || c.writable != 1 || iov[0].len != 8 || iov[1].len != 8)
			return false;
		memcpy(&v, iov[0].base, sizeof(v));
		v *= 3;
		memcpy(iov[1].base, &v, sizeof(v));
		if (vring_packed_dev_push(d, c.head, 8))
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
	struct pring *f = rc->f;
	unsigned int batch = 1 + xorshift_below(r, 8);

	while (batch-- && rc->sent < limit && rc->sent - rc->done < RACE_DEPTH) {
		/* The device completes in pop order and at most RACE_DEPTH <
		 * RACE_NUM are in flight, so this slot is free. */
		unsigned int slot = (unsigned int)(rc->sent % RACE_NUM);
		struct virtio_sg sg[2] = {{pring_buf(f, slot), 8}, {pring_buf(f, slot) + 64, 8}};
		uint64_t *out = pring_host(pring_buf(f, slot));

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
	struct pring *f = rc->f;
	uint32_t len;
	void *tok;
	int n = 0;

	while ((tok = virtqueue_get_buf(&f->vq, &len))) {
		unsigned int slot = (unsigned int)(uintptr_t)tok - 1;
		uint64_t *in = pring_host(pring_buf(f, slot) + 64);

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

static void race_run(bool event_idx, bool in_order, bool publish)
{
	struct race *rc = calloc(1, sizeof(*rc));
	pthread_t dev, drv;
	bool lost;

	assert_non_null(rc);
	rc->f = pring_new(RACE_NUM, event_idx, in_order);
	rc->publish = publish;
	rc->kick_fd = eventfd(0, EFD_CLOEXEC);
	rc->call_fd = eventfd(0, EFD_CLOEXEC);
	assert_true(rc->kick_fd >= 0 && rc->call_fd >= 0);
	assert_int_equal(pthread_create(&dev, NULL, race_device, rc), 0);
	assert_int_equal(pthread_create(&drv, NULL, race_driver, rc), 0);
	pthread_join(drv, NULL);
	pthread_join(dev, NULL);
	lost = atomic_load(&rc->dev_timeout) || atomic_load(&rc->drv_timeout);
	printf("# packed race event_idx=%d in_order=%d publish=%d: %llu buffers, %llu kicks, "
	       "%llu driver sleeps%s\n",
	       event_idx, in_order, publish, (unsigned long long)rc->done,
	       (unsigned long long)rc->kicks, (unsigned long long)rc->sleeps,
	       lost ? ", LOST WAKE-UP" : "");
	assert_false(lost);
	assert_false(atomic_load(&rc->dev_bad));
	assert_false(atomic_load(&rc->drv_bad));
	assert_int_equal(rc->done, rc->sent);
	assert_true(rc->done > 0);
	assert_false(virtqueue_is_broken(&rc->f->vq));
	assert_int_equal(vring_packed_dev_error(&rc->f->dev), VRING_ERR_NONE);
	close(rc->kick_fd);
	close(rc->call_fd);
	pring_free(rc->f);
	free(rc);
}

static void test_race_event_idx(void **state)
{
	(void)state;
	race_run(true, false, false);
}

static void test_race_publish(void **state)
{
	(void)state;
	race_run(true, false, true);
}

static void test_race_plain(void **state)
{
	(void)state;
	race_run(false, false, false);
}

static void test_race_in_order(void **state)
{
	(void)state;
	race_run(true, true, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_race_event_idx),
		cmocka_unit_test(test_race_plain),
		cmocka_unit_test(test_race_in_order),
		cmocka_unit_test(test_race_publish),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
