// SPDX-License-Identifier: MIT
/*
 * Unit tests for core/device_queue.c: queue configuration, enable through
 * ring validation, kicks, the pop/push/flush wrappers, reset. The driver side
 * of the ring is written by hand, so these do not depend on
 * ring/split_driver.c. Spec labels as in /work/shared/spec-checklist.md §2.1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vireo/device.h>
#include <vireo/inflight.h>

#include "tests/lib/bounded_call.h"
#include "tests/lib/fake_vdev.h"

#define DESC_OFF 0x0000u
#define AVAIL_OFF 0x1000u
#define USED_OFF 0x2000u
#define DATA_OFF 0x8000u

/* ---- queues: configuration ---- */

static void test_queue_config_errors(void **state)
{
	struct fvdev *f = *state;
	struct vdev *dev = &f->vdev;
	int fd = eventfd(0, EFD_NONBLOCK);

	/* Index out of range: this device has 2 queues, the table 64. */
	assert_int_equal(vireo_vdev_queue_set_num(dev, FVDEV_QUEUES, 8), -EINVAL);
	assert_int_equal(vireo_vdev_queue_set_num(dev, VDEV_MAX_QUEUES, 8), -EINVAL);
	assert_int_equal(vireo_vdev_queue_set_num(dev, UINT32_MAX, 8), -EINVAL);
	assert_int_equal(vireo_vdev_queue_set_addr(dev, FVDEV_QUEUES, 0, 0, 0), -EINVAL);
	assert_int_equal(vireo_vdev_queue_set_base(dev, FVDEV_QUEUES, 0), -EINVAL);
	assert_int_equal(vireo_vdev_queue_get_base(dev, FVDEV_QUEUES), -EINVAL);
	assert_int_equal(vireo_vdev_queue_set_kick_fd(dev, FVDEV_QUEUES, fd), -EINVAL);
	assert_int_equal(vireo_vdev_queue_set_call_fd(dev, FVDEV_QUEUES, fd), -EINVAL);
	assert_int_equal(vireo_vdev_queue_enable(dev, FVDEV_QUEUES), -EINVAL);
	vireo_vdev_queue_disable(dev, FVDEV_QUEUES); /* harmless */
	/* Bad sizes: 0, not a power of two, above the maximum, above 16 bits. */
	assert_int_equal(vireo_vdev_queue_set_num(dev, 0, 0), -EINVAL);
	assert_int_equal(vireo_vdev_queue_set_num(dev, 0, 3), -EINVAL);
	assert_int_equal(vireo_vdev_queue_set_num(dev, 0, FVDEV_QMAX * 2), -EINVAL);
	assert_int_equal(vireo_vdev_queue_set_num(dev, 0, 0x10000 + 8), -EINVAL);
	assert_int_equal(dev->queues[0].num, FVDEV_QMAX);
	assert_int_equal(vireo_vdev_queue_set_num(dev, 0, 1), 0);
	assert_int_equal(vireo_vdev_queue_set_num(dev, 0, 8), 0);
	assert_int_equal(dev->queues[0].num, 8);
	/* fds below -1 are refused and stay the caller's. */
	assert_int_equal(vireo_vdev_queue_set_kick_fd(dev, 0, -2), -EINVAL);
	assert_int_equal(vireo_vdev_queue_set_call_fd(dev, 0, -5), -EINVAL);
	assert_true(fvdev_fd_is_open(fd));
	/* Enabling needs addresses (and memory). */
	assert_int_equal(vireo_vdev_queue_enable(dev, 0), -EINVAL);
	assert_int_equal(vireo_vdev_queue_set_base(dev, 0, 7), 0);
	assert_int_equal(vireo_vdev_queue_get_base(dev, 0), 7);
	close(fd);
}

/* Replacing an fd closes the previous one; setting the same one again keeps it. */
static void test_queue_fd_ownership(void **state)
{
	struct fvdev *f = *state;
	struct vdev *dev = &f->vdev;
	int a = eventfd(0, EFD_NONBLOCK), b = eventfd(0, EFD_NONBLOCK);

	assert_int_equal(vireo_vdev_queue_set_call_fd(dev, 1, a), 0);
	assert_int_equal(vireo_vdev_queue_set_call_fd(dev, 1, a), 0);
	assert_true(fvdev_fd_is_open(a));
	assert_int_equal(vireo_vdev_queue_set_call_fd(dev, 1, b), 0);
	assert_false(fvdev_fd_is_open(a));
	assert_int_equal(vireo_vdev_queue_set_call_fd(dev, 1, -1), 0);
	assert_false(fvdev_fd_is_open(b));
	a = eventfd(0, EFD_NONBLOCK);
	assert_int_equal(vireo_vdev_queue_set_kick_fd(dev, 1, a), 0);
	vireo_vdev_reset(dev);
	assert_false(fvdev_fd_is_open(a));
	assert_int_equal(dev->queues[1].kick_fd, -1);
}

/* ---- queues: the ring (the driver side written by hand) ---- */

static uint64_t q_off(unsigned int qi, uint32_t part)
{
	return qi * 0x3000u + part;
}

static void *gpa(struct fvdev *f, uint64_t off)
{
	return f->guest + off;
}

/* Configure queue @qi with @num entries and fresh kick/call eventfds (dups returned). */
static void setup_queue(struct fvdev *f, unsigned int qi, uint16_t num, int *kick, int *call)
{
	struct vdev *dev = &f->vdev;
	int k = eventfd(0, EFD_NONBLOCK), c = eventfd(0, EFD_NONBLOCK);

	assert_true(k >= 0 && c >= 0);
	assert_int_equal(vireo_vdev_queue_set_num(dev, qi, num), 0);
	assert_int_equal(vireo_vdev_queue_set_addr(dev, qi, FVDEV_GUEST_BASE + q_off(qi, DESC_OFF),
						   FVDEV_GUEST_BASE + q_off(qi, AVAIL_OFF),
						   FVDEV_GUEST_BASE + q_off(qi, USED_OFF)),
			 0);
	*kick = dup(k);
	*call = dup(c);
	assert_int_equal(vireo_vdev_queue_set_kick_fd(dev, qi, k), 0);
	assert_int_equal(vireo_vdev_queue_set_call_fd(dev, qi, c), 0);
}

/* Make a two-descriptor chain (@out readable bytes, @in writable) available at @head. */
static void drv_add_chain(struct fvdev *f, unsigned int qi, uint16_t num, uint16_t head,
			  uint32_t out, uint32_t in)
{
	struct virtq_desc *d = gpa(f, q_off(qi, DESC_OFF));
	struct virtq_avail *avail = gpa(f, q_off(qi, AVAIL_OFF));
	uint16_t idx = avail->idx;

	d[head] = (struct virtq_desc){.addr = FVDEV_GUEST_BASE + DATA_OFF,
				      .len = out,
				      .flags = VIRTQ_DESC_F_NEXT,
				      .next = (uint16_t)((head + 1) % num)};
	d[(head + 1) % num] = (struct virtq_desc){.addr = FVDEV_GUEST_BASE + DATA_OFF + 0x100,
						  .len = in,
						  .flags = VIRTQ_DESC_F_WRITE};
	avail->ring[idx % num] = head;
	/* Pairs with the device's acquire load of avail->idx. */
	__atomic_store_n(&avail->idx, (uint16_t)(idx + 1), __ATOMIC_RELEASE);
}

/* STYLE.md checklist item 1: rings outside memory or misaligned are refused at enable. */
static void test_queue_enable_bad_rings(void **state)
{
	struct fvdev *f = *state;
	struct vdev *dev = &f->vdev;
	const uint64_t d = FVDEV_GUEST_BASE + DESC_OFF, a = FVDEV_GUEST_BASE + AVAIL_OFF,
		       u = FVDEV_GUEST_BASE + USED_OFF, end = FVDEV_GUEST_BASE + FVDEV_GUEST_SIZE;
	const uint64_t bad[][3] = {
		{end, a, u},			   /* desc past the end */
		{d, a, end - 8},		   /* used straddles the end */
		{FVDEV_GUEST_BASE - 0x1000, a, u}, /* desc below memory */
		{d, UINT64_MAX - 1, u},		   /* avail wraps the address space */
		{d + 8, a, u},			   /* desc not 16-aligned */
		{d, a + 1, u},			   /* avail not 2-aligned */
		{d, a, u + 2},			   /* used not 4-aligned */
	};
	unsigned int i;

	assert_int_equal(fvdev_features_ok(dev, F_V1), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(vireo_vdev_queue_set_addr(dev, 0, bad[i][0], bad[i][1], bad[i][2]),
				 0);
		assert_int_equal(vireo_vdev_queue_enable(dev, 0), -EINVAL);
		assert_false(dev->queues[0].enabled);
		assert_null(dev->queues[0].ring_state);
	}
	/* No memory map at all. */
	assert_int_equal(vireo_vdev_queue_set_addr(dev, 0, d, a, u), 0);
	vireo_vdev_set_memory(dev, NULL);
	assert_int_equal(vireo_vdev_queue_enable(dev, 0), -EINVAL);
	vireo_vdev_set_memory(dev, &f->mem);
	assert_int_equal(vireo_vdev_queue_enable(dev, 0), 0);
	assert_true(dev->queues[0].enabled);
	assert_false(vdev_needs_reset(dev));
}

/* A driver-set ring that is bad at DRIVER_OK: NEEDS_RESET, config notification, no activate. */
static void test_bad_ring_at_driver_ok(void **state)
{
	struct fvdev *f = *state;
	struct vdev *dev = &f->vdev;

	assert_int_equal(fvdev_features_ok(dev, F_V1), 0);
	assert_int_equal(vireo_vdev_queue_set_addr(dev, 1, FVDEV_GUEST_BASE + FVDEV_GUEST_SIZE,
						   FVDEV_GUEST_BASE, FVDEV_GUEST_BASE + 0x100),
			 0);
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK | S_DRV | S_FOK | S_DOK), -EINVAL);
	assert_int_equal(vireo_vdev_get_status(dev), S_ACK | S_DRV | S_FOK | S_DOK | S_NR);
	assert_int_equal(f->activate_calls, 0);
	assert_int_equal(fvdev_config_signals(f), 1);
}

static void test_queue_busy_while_enabled(void **state)
{
	struct fvdev *f = *state;
	struct vdev *dev = &f->vdev;
	int kick, call, k2 = eventfd(0, EFD_NONBLOCK);

	assert_int_equal(fvdev_features_ok(dev, F_V1), 0);
	setup_queue(f, 0, 8, &kick, &call);
	assert_int_equal(vireo_vdev_queue_enable(dev, 0), 0);
	assert_int_equal(vireo_vdev_queue_enable(dev, 0), 0); /* idempotent */
	assert_int_equal(vireo_vdev_queue_set_num(dev, 0, 4), -EBUSY);
	assert_int_equal(vireo_vdev_queue_set_addr(dev, 0, 0, 0, 0), -EBUSY);
	assert_int_equal(vireo_vdev_queue_set_base(dev, 0, 3), -EBUSY);
	/* fds may change under a running ring (vhost-user does that). */
	assert_int_equal(vireo_vdev_queue_set_kick_fd(dev, 0, k2), 0);
	assert_int_equal(dev->queues[0].num, 8);
	vireo_vdev_queue_disable(dev, 0);
	assert_null(dev->queues[0].ring_state);
	assert_int_equal(vireo_vdev_queue_set_num(dev, 0, 4), 0);
	close(kick);
	close(call);
}

/* D-BF-01: kicks are served only after DRIVER_OK, then on every kick. */
static void test_driver_ok_enables_and_serves_kicks(void **state)
{
	struct fvdev *f = *state;
	struct vdev *dev = &f->vdev;
	int kick, call;

	setup_queue(f, 0, 8, &kick, &call);
	assert_int_equal(vireo_eventfd_signal_fd(kick), 0);
	assert_int_equal(vireo_event_loop_run_once(&f->loop, 0), 0);
	assert_int_equal(f->notify_calls, 0);
	fvdev_driver_ok(dev, F_V1 | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
	assert_true(dev->queues[0].enabled);
	assert_true(dev->queues[0].ring.split.event_idx);
	assert_false(dev->queues[0].ring.split.indirect);
	assert_false(dev->queues[1].enabled); /* never configured */
	/* A ring that starts is looked at once (buffers may predate its kick fd). */
	assert_int_equal(f->notify_calls, 1);
	assert_ptr_equal(f->notified, &dev->queues[0]);
	/* The kick sent before DRIVER_OK is still pending. */
	assert_int_equal(vireo_event_loop_run_once(&f->loop, 0), 1);
	assert_int_equal(f->notify_calls, 2);
	assert_int_equal(vireo_event_loop_run_once(&f->loop, 0), 0);
	assert_int_equal(vireo_eventfd_signal_fd(kick), 0);
	assert_int_equal(vireo_event_loop_run_once(&f->loop, 0), 1);
	assert_int_equal(f->notify_calls, 3);
	close(kick);
	close(call);
}

/* vhost-user's path: no status byte, queue enabled first, then vireo_vdev_activate(). */
static void test_activate_without_status(void **state)
{
	struct fvdev *f = *state;
	struct vdev *dev = &f->vdev;
	int kick, call;

	assert_int_equal(vireo_vdev_negotiate_features(dev, F_V1 | VIRTIO_BIT(0)), 0);
	assert_int_equal(vireo_vdev_negotiate_features(dev, F_V1 | VIRTIO_BIT(5)), -EINVAL);
	setup_queue(f, 1, 16, &kick, &call);
	assert_int_equal(vireo_vdev_queue_enable(dev, 1), 0);
	assert_int_equal(vireo_eventfd_signal_fd(kick), 0);
	assert_int_equal(vireo_event_loop_run_once(&f->loop, 0), 0);
	assert_int_equal(vireo_vdev_activate(dev), 0);
	assert_int_equal(vireo_vdev_activate(dev), 0);
	assert_int_equal(f->activate_calls, 1);
	assert_int_equal(vireo_event_loop_run_once(&f->loop, 0), 1);
	assert_ptr_equal(f->notified, &dev->queues[1]);
	/* Ring features cannot change under an enabled ring. */
	assert_int_equal(
		vireo_vdev_negotiate_features(dev, F_V1 | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX)),
		-EBUSY);
	/* Activated stands in for DRIVER_OK: config changes are signalled. */
	vireo_vdev_config_changed(dev);
	assert_int_equal(fvdev_config_signals(f), 1);
	close(kick);
	close(call);
}

static void test_pop_push_flush(void **state)
{
	struct fvdev *f = *state;
	struct vdev *dev = &f->vdev;
	struct virtq_used *used = gpa(f, q_off(0, USED_OFF));
	struct vring_iov iov[4];
	struct vring_chain chain;
	int kick, call;

	setup_queue(f, 0, 8, &kick, &call);
	fvdev_driver_ok(dev, F_V1);
	/* A fresh call fd is signalled once when its queue starts (issue 9 §7c). */
	assert_int_equal(vireo_eventfd_drain_fd(call), 1);
	assert_int_equal(vireo_vdev_queue_pop(&dev->queues[0], &chain, iov, 4), -EAGAIN);
	drv_add_chain(f, 0, 8, 2, 16, 64);
	assert_int_equal(vireo_vdev_queue_pop(&dev->queues[0], &chain, iov, 4), 0);
	assert_int_equal(chain.head, 2);
	assert_int_equal(chain.readable, 1);
	assert_int_equal(chain.writable, 1);
	assert_int_equal(chain.writable_bytes, 64);
	assert_ptr_equal(iov[0].base, gpa(f, DATA_OFF));
	assert_ptr_equal(iov[1].base, gpa(f, DATA_OFF + 0x100));
	assert_int_equal(vireo_vdev_queue_get_base(dev, 0), 1);
	assert_int_equal(vireo_vdev_queue_push(&dev->queues[0], 2, 10), 0);
	assert_int_equal(vireo_eventfd_drain_fd(call), 0);
	vireo_vdev_queue_flush(&dev->queues[0]);
	assert_int_equal(used->idx, 1);
	assert_int_equal(used->ring[0].id, 2);
	assert_int_equal(used->ring[0].len, 10);
	assert_int_equal(vireo_eventfd_drain_fd(call), 1);
	assert_int_equal(vireo_vdev_queue_pop(&dev->queues[0], &chain, iov, 4), -EAGAIN);
	/* A push of a head not in flight is the device's bug, but still stops the queue. */
	assert_int_equal(vireo_vdev_queue_push(&dev->queues[0], 2, 0), -EPROTO);
	assert_true(vdev_needs_reset(dev));
	close(kick);
	close(call);
}

/* Pop, push and flush one chain at @head of queue 0. Return: vireo_vdev_queue_flush()'s answer. */
static bool serve_one(struct fvdev *f, uint16_t head)
{
	struct vdev_queue *q = &f->vdev.queues[0];
	struct vring_iov iov[4];
	struct vring_chain chain;

	drv_add_chain(f, 0, 8, head, 16, 64);
	assert_int_equal(vireo_vdev_queue_pop(q, &chain, iov, 4), 0);
	assert_int_equal(vireo_vdev_queue_push(q, chain.head, 0), 0);
	return vireo_vdev_queue_flush(q);
}

/*
 * Issue 9 §7c: a flush with no call fd takes no notification decision (it
 * would be lost: used_event 0 below is never signalled otherwise), and a
 * call fd installed on a running queue is signalled once at once, as
 * libvhost-user does after a reconnection. Not before DRIVER_OK (D-BF-01).
 */
static void test_call_fd_late_and_fresh(void **state)
{
	struct fvdev *f = *state;
	struct vdev *dev = &f->vdev;
	struct virtq_avail *avail = gpa(f, q_off(0, AVAIL_OFF));
	int kick, call, c2 = eventfd(0, EFD_NONBLOCK);

	setup_queue(f, 0, 8, &kick, &call);
	assert_int_equal(vireo_eventfd_drain_fd(call), 0); /* before DRIVER_OK: nothing */
	assert_int_equal(vireo_vdev_queue_set_call_fd(dev, 0, -1), 0);
	fvdev_driver_ok(dev, F_V1 | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
	avail->ring[8] = 0; /* used_event: signal when entry 0 is used */
	assert_false(serve_one(f, 0));
	assert_int_equal(vireo_vdev_queue_set_call_fd(dev, 0, dup(call)), 0);
	assert_int_equal(vireo_eventfd_drain_fd(call), 1);
	/* Entry 0 was never signalled by the ring: the next flush still decides to. */
	assert_true(serve_one(f, 2));
	assert_int_equal(vireo_eventfd_drain_fd(call), 1);
	assert_false(serve_one(f, 4)); /* used_event 0 is behind now */
	/* A replacement fd on a running queue gets its one signal too. */
	assert_int_equal(vireo_vdev_queue_set_call_fd(dev, 0, c2), 0);
	assert_int_equal(vireo_eventfd_drain_fd(call), 0);
	assert_int_equal(vireo_eventfd_drain_fd(c2), 1);
	assert_int_equal(vireo_eventfd_drain_fd(c2), 0);
	close(kick);
	close(call);
}

/* The front-end's moves on the file description it shares with the core. */
static void peer_blocking_full(int fd)
{
	uint64_t max = 0xfffffffffffffffeull;

	assert_int_equal(write(fd, &max, sizeof(max)), (ssize_t)sizeof(max));
	assert_int_equal(fcntl(fd, F_SETFL, 0), 0);
}

struct flush_job {
	struct vdev_queue *q;
	bool signalled;
};

static void flush_job_run(void *arg)
{
	struct flush_job *j = arg;

	j->signalled = vireo_vdev_queue_flush(j->q);
}

/* The "front-end" reading its own kick fd, dispatched just before the kick handler. */
struct kick_thief {
	int trigger; /* ours: readable first, so epoll lists it before the kick */
	int kick;
	int handled;
};

static void kick_thief_event(void *opaque, uint32_t events)
{
	struct kick_thief *t = opaque;
	uint64_t v;

	(void)events;
	vireo_eventfd_drain_fd(t->trigger);
	/* Blocking read on a count epoll just reported: it takes the kick. */
	if (read(t->kick, &v, sizeof(v)) == (ssize_t)sizeof(v))
		t->handled++;
}

static void run_once_job(void *arg)
{
	struct fvdev *f = arg;

	(void)vireo_event_loop_run_once(&f->loop, 0);
}

/*
 * A front-end made the call fd blocking and full and made the kick fd
 * blocking, then read its own kick: the flush returns (it signals without a
 * write), the kick handler does not block on the empty fd, and the queue
 * keeps serving.
 */
static void test_hostile_call_and_kick_fds(void **state)
{
	struct fvdev *f = *state;
	struct vdev *dev = &f->vdev;
	struct vdev_queue *q = &dev->queues[0];
	struct flush_job job = {.q = q};
	struct kick_thief thief = {0};
	struct vring_iov iov[4];
	struct vring_chain chain;
	uint64_t v;
	int kick, call;

	setup_queue(f, 0, 8, &kick, &call);
	fvdev_driver_ok(dev, F_V1);
	assert_int_equal(vireo_eventfd_drain_fd(call), 1); /* the fresh fd's one signal */
	peer_blocking_full(call);
	assert_int_equal(fcntl(kick, F_SETFL, 0), 0);
	for (uint16_t head = 0; head < 6; head += 2) {
		drv_add_chain(f, 0, 8, head, 16, 64);
		assert_int_equal(vireo_vdev_queue_pop(q, &chain, iov, 4), 0);
		assert_int_equal(vireo_vdev_queue_push(q, chain.head, 0), 0);
		assert_true(bounded_call(flush_job_run, &job));
		assert_true(job.signalled);
	}
	/* Saturated, so still "signalled"; the used entries are all published. */
	assert_int_equal(read(call, &v, sizeof(v)), (ssize_t)sizeof(v));
	assert_true(v == UINT64_MAX);
	assert_int_equal(((struct virtq_used *)gpa(f, q_off(0, USED_OFF)))->idx, 3);
	/*
	 * epoll reports the kick readable, then the front-end reads it first:
	 * the ready list is FIFO, so the thief's fd (signalled first) runs first.
	 */
	thief.kick = kick;
	thief.trigger = eventfd(0, EFD_NONBLOCK);
	assert_int_equal(vireo_event_loop_add(&f->loop, thief.trigger, kick_thief_event, &thief),
			 0);
	f->notify_calls = 0;
	assert_int_equal(vireo_eventfd_signal_fd(thief.trigger), 0);
	assert_int_equal(vireo_eventfd_signal_fd(kick), 0);
	assert_true(bounded_call(run_once_job, f));
	assert_int_equal(thief.handled, 1);
	/* The kick handler ran (and found the count gone) and still served the queue. */
	assert_int_equal(f->notify_calls, 1);
	assert_int_equal(vireo_event_loop_remove(&f->loop, thief.trigger), 0);
	close(thief.trigger);
	close(kick);
	close(call);
}

/*
 * A driver that moves avail->idx more than the queue size ahead
 * (STYLE.md item 2): NEEDS_RESET with a config notification (D-BF-02), and
 * the queue stops: no pops, no pushes, no kicks served, until reset.
 */
static void test_broken_ring_needs_reset(void **state)
{
	struct fvdev *f = *state;
	struct vdev *dev = &f->vdev;
	struct virtq_avail *avail = gpa(f, q_off(0, AVAIL_OFF));
	struct vring_iov iov[4];
	struct vring_chain chain;
	int kick, call, kick1, call1;

	setup_queue(f, 0, 8, &kick, &call);
	fvdev_driver_ok(dev, F_V1);
	f->notify_calls = 0;				   /* the look at start */
	assert_int_equal(vireo_eventfd_drain_fd(call), 1); /* the fresh fd's one signal */
	drv_add_chain(f, 0, 8, 0, 16, 64);
	assert_int_equal(vireo_vdev_queue_pop(&dev->queues[0], &chain, iov, 4), 0);
	__atomic_store_n(&avail->idx, (uint16_t)(1 + 8 + 1), __ATOMIC_RELEASE);
	assert_int_equal(vireo_vdev_queue_pop(&dev->queues[0], &chain, iov, 4), -EPROTO);
	assert_true(vdev_needs_reset(dev));
	assert_int_equal(vireo_vdev_get_status(dev) & S_NR, S_NR);
	assert_int_equal(fvdev_config_signals(f), 1);
	assert_int_equal(vireo_vdev_queue_pop(&dev->queues[0], &chain, iov, 4), -EIO);
	assert_int_equal(vireo_vdev_queue_push(&dev->queues[0], 0, 0), -EIO);
	vireo_vdev_queue_flush(&dev->queues[0]);
	assert_int_equal(vireo_eventfd_drain_fd(call), 0);
	assert_int_equal(vireo_eventfd_signal_fd(kick), 0);
	assert_int_equal(vireo_event_loop_run_once(&f->loop, 0), 0);
	assert_int_equal(f->notify_calls, 0);
	/* Other queues cannot start either. */
	setup_queue(f, 1, 8, &kick1, &call1);
	assert_int_equal(vireo_vdev_queue_enable(dev, 1), -EIO);
	/* Reset recovers; the device can be brought up again. */
	assert_int_equal(vireo_vdev_set_status(dev, 0), 0);
	assert_false(vdev_needs_reset(dev));
	assert_false(dev->queues[0].enabled);
	assert_null(dev->queues[0].ring_state);
	fvdev_give_config_fd(f);
	close(kick);
	close(call);
	close(kick1);
	close(call1);
}

/* dev:BF/Device Reset (D-BF-06, D-BF-07): every resource back, nothing served after. */
static void test_reset_frees_everything(void **state)
{
	struct fvdev *f = *state;
	struct vdev *dev = &f->vdev;
	struct vring_iov iov[4];
	struct vring_chain chain;
	int kick[2], call[2], core_fds[5];
	unsigned int i;

	setup_queue(f, 0, 8, &kick[0], &call[0]);
	setup_queue(f, 1, 4, &kick[1], &call[1]);
	assert_int_equal(vireo_vdev_queue_set_base(dev, 1, 0), 0);
	fvdev_driver_ok(dev, F_V1 | VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC));
	f->notify_calls = 0; /* the looks at start */
	dev->queues[1].model_data = f;
	drv_add_chain(f, 0, 8, 4, 8, 8);
	assert_int_equal(vireo_vdev_queue_pop(&dev->queues[0], &chain, iov, 4), 0);
	core_fds[0] = dev->queues[0].kick_fd;
	core_fds[1] = dev->queues[0].call_fd;
	core_fds[2] = dev->queues[1].kick_fd;
	core_fds[3] = dev->queues[1].call_fd;
	core_fds[4] = dev->config_call_fd;

	assert_int_equal(vireo_vdev_set_status(dev, 0), 0);
	assert_int_equal(f->reset_calls, 1);
	for (i = 0; i < 5; i++)
		assert_false(fvdev_fd_is_open(core_fds[i]));
	assert_int_equal(dev->config_call_fd, -1);
	for (i = 0; i < FVDEV_QUEUES; i++) {
		const struct vdev_queue *q = &dev->queues[i];

		assert_false(q->enabled);
		assert_false(q->addr_set);
		assert_false(q->kick_watched);
		assert_null(q->ring_state);
		assert_int_equal(q->num, FVDEV_QMAX);
		assert_int_equal(q->desc_addr | q->avail_addr | q->used_addr, 0);
		assert_int_equal(q->position.avail_idx, 0);
		assert_int_equal(q->kick_fd, -1);
		assert_int_equal(q->call_fd, -1);
	}
	assert_ptr_equal(dev->queues[1].model_data, f);
	assert_int_equal(vireo_vdev_get_status(dev), 0);
	assert_int_equal(dev->driver_features | dev->acked_features, 0);
	assert_false(dev->activated);
	/* The memory map and loop stay: they are the transport's. */
	assert_ptr_equal(dev->mem, &f->mem);
	assert_ptr_equal(dev->loop, &f->loop);
	/* Nothing is watched any more. */
	assert_int_equal(vireo_eventfd_signal_fd(kick[0]), 0);
	assert_int_equal(vireo_event_loop_run_once(&f->loop, 0), 0);
	assert_int_equal(f->notify_calls, 0);
	for (i = 0; i < 2; i++) {
		close(kick[i]);
		close(call[i]);
	}
	fvdev_give_config_fd(f);
}

/* GET/SET_VRING_BASE: the resume index survives disable and re-enable. */
static void test_base_round_trip(void **state)
{
	struct fvdev *f = *state;
	struct vdev *dev = &f->vdev;
	struct virtq_avail *avail = gpa(f, q_off(0, AVAIL_OFF));
	struct vring_iov iov[4];
	struct vring_chain chain;
	int kick, call;

	setup_queue(f, 0, 8, &kick, &call);
	avail->idx = 5;
	assert_int_equal(vireo_vdev_queue_set_base(dev, 0, 5), 0);
	fvdev_driver_ok(dev, F_V1);
	assert_int_equal(vireo_vdev_queue_get_base(dev, 0), 5);
	drv_add_chain(f, 0, 8, 6, 4, 4);
	assert_int_equal(vireo_vdev_queue_pop(&dev->queues[0], &chain, iov, 4), 0);
	assert_int_equal(chain.head, 6);
	assert_int_equal(vireo_vdev_queue_get_base(dev, 0), 6);
	vireo_vdev_queue_disable(dev, 0);
	assert_int_equal(vireo_vdev_queue_get_base(dev, 0), 6);
	assert_int_equal(vireo_vdev_queue_pop(&dev->queues[0], &chain, iov, 4), -EIO);
	assert_int_equal(vireo_vdev_queue_enable(dev, 0), 0);
	assert_int_equal(vireo_vdev_queue_get_base(dev, 0), 6);
	assert_int_equal(vireo_vdev_queue_pop(&dev->queues[0], &chain, iov, 4), -EAGAIN);
	close(kick);
	close(call);
}

/*
 * The core picks the packed format when VIRTIO_F_RING_PACKED is negotiated:
 * any queue size, a resume position with both wrap counters, pop/push/flush
 * through the seam, and a hostile descriptor (D-PR-04: USED and AVAIL both
 * at the wrap value) turns into DEVICE_NEEDS_RESET.
 */
static void test_packed_queue(void **state)
{
	struct fvdev *f = *state;
	struct vdev *dev = &f->vdev;
	struct vdev_queue *q = &dev->queues[0];
	struct pvirtq_desc *d = gpa(f, q_off(0, DESC_OFF));
	struct vring_dev_position pos = {2, false, 2, false};
	struct vring_iov iov[4];
	struct vring_chain chain;

	assert_int_equal(vireo_vdev_queue_set_num(dev, 0, 6), -EINVAL); /* split: a power of two */
	assert_int_equal(fvdev_features_ok(dev, F_V1 | VIRTIO_BIT(VIRTIO_F_RING_PACKED)), 0);
	assert_int_equal(vireo_vdev_queue_set_num(dev, 0, 6), 0);
	assert_int_equal(vireo_vdev_queue_set_position(
				 dev, 0, &(struct vring_dev_position){.avail_idx = 0x8000}),
			 -EINVAL);
	assert_int_equal(vireo_vdev_queue_set_position(dev, 0, &pos), 0);
	assert_int_equal(vireo_vdev_queue_set_addr(dev, 0, FVDEV_GUEST_BASE + q_off(0, DESC_OFF),
						   FVDEV_GUEST_BASE + q_off(0, AVAIL_OFF),
						   FVDEV_GUEST_BASE + q_off(0, USED_OFF)),
			 0);
	/* Slot 2 in a wrap-0 lap: AVAIL clear, USED set; its id 4 */
	d[2] = (struct pvirtq_desc){FVDEV_GUEST_BASE + DATA_OFF, 64, 4, 0};
	d[2].flags = VIRTQ_DESC_F_USED | VIRTQ_DESC_F_WRITE;
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK | S_DRV | S_FOK | S_DOK), 0);
	assert_ptr_equal(q->ring_ops, &vring_packed_dev_ops);
	assert_int_equal(vireo_vdev_queue_pop(q, &chain, iov, 4), 0);
	assert_int_equal(chain.head, 4);
	assert_int_equal(chain.writable_bytes, 64);
	assert_int_equal(vireo_vdev_queue_push(q, 4, 10), 0);
	(void)vireo_vdev_queue_flush(q);
	/* used with the device wrap counter 0: AVAIL and USED clear, WRITE: data written */
	assert_int_equal(d[2].flags, VIRTQ_DESC_F_WRITE);
	assert_int_equal(d[2].len, 10);
	assert_int_equal(vireo_vdev_queue_get_position(dev, 0, &pos), 0);
	assert_int_equal(pos.avail_idx, 3);
	assert_false(pos.avail_wrap);
	assert_int_equal(pos.used_idx, 3);
	assert_false(pos.used_wrap);
	d[3] = (struct pvirtq_desc){FVDEV_GUEST_BASE + DATA_OFF, 64, 1, 0};
	assert_false(vdev_needs_reset(dev));
	assert_int_equal(vireo_vdev_queue_pop(q, &chain, iov, 4), -EPROTO);
	assert_true(vdev_needs_reset(dev));
}

/*
 * Issue 9 §7b through the core, both formats: a ring served in poll mode
 * (kicks off: split used->flags NO_NOTIFY, packed device event DISABLE) is
 * stopped (vhost-user GET_VRING_BASE) and enabled again by a user that
 * wants kicks (serve net --poll, then without): the suppression word in
 * guest memory says "kick me" again (§2.7.10 D-SR-12, §2.8.10).
 */
static void restart_wants_kicks(struct fvdev *f, bool packed)
{
	struct vdev *dev = &f->vdev;
	struct vdev_queue *q = &dev->queues[0];
	struct virtq_used *used = gpa(f, q_off(0, USED_OFF));
	struct pvirtq_event_suppress *dev_event = gpa(f, q_off(0, USED_OFF));
	uint64_t feat = F_V1 | (packed ? VIRTIO_BIT(VIRTIO_F_RING_PACKED) : 0);
	int kick, call;

	setup_queue(f, 0, 8, &kick, &call);
	fvdev_driver_ok(dev, feat);
	assert_false(vireo_vdev_queue_set_notify(q, false));
	if (packed)
		assert_int_equal(dev_event->flags, RING_EVENT_FLAGS_DISABLE);
	else
		assert_int_equal(used->flags, VIRTQ_USED_F_NO_NOTIFY);
	vireo_vdev_queue_disable(dev, 0);
	assert_int_equal(vireo_vdev_queue_enable(dev, 0), 0);
	if (packed)
		assert_int_equal(dev_event->flags, RING_EVENT_FLAGS_ENABLE);
	else
		assert_int_equal(used->flags, 0);
	close(kick);
	close(call);
}

static void test_restart_wants_kicks_split(void **state)
{
	restart_wants_kicks(*state, false);
}

static void test_restart_wants_kicks_packed(void **state)
{
	restart_wants_kicks(*state, true);
}

/*
 * Burst pop through the core: chains before a hostile one are handed out, the
 * hostile one sets NEEDS_RESET (one config signal, D-BF-02) as a single pop
 * does; with inflight tracking each head of a burst is recorded (D-VU-INFL-07).
 */
static void test_pop_burst_needs_reset(void **state)
{
	struct fvdev *f = *state;
	struct vdev *dev = &f->vdev;
	struct vdev_queue *q = &dev->queues[0];
	size_t size = vireo_vinflight_queue_size(false, 8);
	struct vinflight_split_region *r = aligned_alloc(64, size);
	struct vinflight inf;
	struct vring_iov iov[8 + 3];
	struct vring_chain c[4];
	uint16_t heads[2];
	int kick, call;

	assert_non_null(r);
	memset(r, 0, size);
	assert_int_equal(vireo_vinflight_init(&inf, r, size, false), 0);
	setup_queue(f, 0, 8, &kick, &call);
	assert_int_equal(vireo_vdev_queue_set_inflight(dev, 0, &inf), 0);
	fvdev_driver_ok(dev, F_V1);
	drv_add_chain(f, 0, 8, 0, 16, 64);
	drv_add_chain(f, 0, 8, 2, 16, 64);
	assert_int_equal(vireo_vdev_queue_pop_burst(q, c, 4, iov, 11, 4), 2);
	assert_int_equal(c[0].head, 0);
	assert_int_equal(c[1].head, 2);
	assert_int_equal(r->desc[0].inflight, 1);
	assert_int_equal(r->desc[2].inflight, 1);
	heads[0] = 0;
	heads[1] = 2;
	assert_int_equal(vireo_vdev_queue_push_burst(q, heads, NULL, 2), 0);
	(void)vireo_vdev_queue_flush(q);
	assert_int_equal(r->desc[0].inflight, 0);
	assert_int_equal(r->desc[2].inflight, 0);
	assert_int_equal(vireo_vdev_queue_set_inflight(dev, 0, NULL), -EBUSY);
	/* Without inflight tracking (the ring's own burst): good, good, then head 9 of 8. */
	q->inflight = NULL;
	drv_add_chain(f, 0, 8, 4, 16, 64);
	drv_add_chain(f, 0, 8, 6, 16, 64);
	drv_add_chain(f, 0, 8, 9, 16, 64);
	assert_false(vdev_needs_reset(dev));
	assert_int_equal(vireo_vdev_queue_pop_burst(q, c, 4, iov, 11, 4), 2);
	assert_int_equal(c[0].head, 4);
	assert_int_equal(c[1].head, 6);
	assert_true(vdev_needs_reset(dev));
	assert_int_equal(fvdev_config_signals(f), 1);
	heads[0] = 4;
	heads[1] = 6;
	assert_int_equal(vireo_vdev_queue_push_burst(q, heads, NULL, 2), -EIO);
	assert_int_equal(vireo_vdev_queue_pop_burst(q, c, 4, iov, 11, 4), -EIO);
	vireo_vinflight_destroy(&inf);
	free(r);
	close(kick);
	close(call);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fvdev_setup, fvdev_teardown)
	const struct CMUnitTest tests[] = {
		T(test_packed_queue),
		T(test_queue_config_errors),
		T(test_queue_fd_ownership),
		T(test_queue_enable_bad_rings),
		T(test_bad_ring_at_driver_ok),
		T(test_queue_busy_while_enabled),
		T(test_driver_ok_enables_and_serves_kicks),
		T(test_activate_without_status),
		T(test_pop_push_flush),
		T(test_broken_ring_needs_reset),
		T(test_pop_burst_needs_reset),
		T(test_reset_frees_everything),
		T(test_base_round_trip),
		T(test_hostile_call_and_kick_fds),
		T(test_call_fd_late_and_fresh),
		T(test_restart_wants_kicks_split),
		T(test_restart_wants_kicks_packed),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
