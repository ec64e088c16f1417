// SPDX-License-Identifier: MIT
/*
 * Hostile peers on the packed ring (virtio 1.2 §2.8), hand-made rings, one
 * case per broken rule, named after the spec rule (its normative label in
 * packed-ring.tex: drv:... for what a driver broke, dev:... for what a device
 * broke). Our own side's rules are cited by their checklist labels where the
 * test fails if we break them (docs/conformance/README.md). The device is
 * driven only through struct vring_dev_ops and the driver only through the
 * virtqueue_* verbs, the seams the rest of Vireo uses.
 * Device side: the queue ends broken with the named error, later calls fail
 * -EIO. Driver side (a hostile device: bogus ids, lengths, flags): get_buf
 * returns nothing and the queue is broken. Event-suppression words have no
 * normative text (checklist §4.3): nonsense there must never break a queue,
 * and where a notification is in doubt, one is sent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/spec.h>
#include <vireo/virtqueue.h>
#include <vireo/vring.h>

#include "tests/lib/ring_pair.h"

#define ADV_NUM 4u
#define AVAIL VIRTQ_DESC_F_AVAIL
#define USED VIRTQ_DESC_F_USED
#define NEXT VIRTQ_DESC_F_NEXT
#define WRITE VIRTQ_DESC_F_WRITE
#define INDIRECT VIRTQ_DESC_F_INDIRECT

static struct ring_pair *adv_new(bool event_idx, bool indirect, bool in_order)
{
	return ring_pair_new(RING_PAIR_PACKED, ADV_NUM, event_idx, indirect, in_order);
}

static struct pvirtq_desc *adv_ring(struct ring_pair *p)
{
	return (struct pvirtq_desc *)(void *)(p->mem + p->desc_addr);
}

static struct pvirtq_event_suppress *adv_driver_event(struct ring_pair *p)
{
	return (struct pvirtq_event_suppress *)(void *)(p->mem + p->driver_addr);
}

static struct pvirtq_event_suppress *adv_device_event(struct ring_pair *p)
{
	return (struct pvirtq_event_suppress *)(void *)(p->mem + p->device_addr);
}

/* An indirect table in the pool (guest address, host pointer). */
static uint64_t adv_table(struct ring_pair *p, struct pvirtq_desc **host)
{
	uint64_t gpa = (uint64_t)(uintptr_t)p->mem + p->pool_addr;

	*host = ring_pair_host(gpa);
	return gpa;
}

/* Write ring slot @slot by hand, its flags last with a release (what a driver or device does). */
static void adv_write(struct ring_pair *p, uint16_t slot, uint64_t addr, uint32_t len, uint16_t id,
		      uint16_t flags)
{
	struct pvirtq_desc *d = &adv_ring(p)[slot];

	d->addr = addr;
	d->len = len;
	d->id = id;
	atomic_store_explicit((_Atomic uint16_t *)&d->flags, flags, memory_order_release);
}

/* The flags that make a descriptor available in lap @wrap (§2.8.1). */
static uint16_t adv_avail(bool wrap)
{
	return wrap ? AVAIL : USED;
}

/* The flags of a used descriptor in lap @wrap (§2.8.1: AVAIL == USED == wrap). */
static uint16_t adv_used(bool wrap)
{
	return wrap ? (uint16_t)(AVAIL | USED) : 0;
}

static int adv_pop(struct ring_pair *p, struct vring_chain *c)
{
	struct vring_iov iov[16];

	return p->ops->pop(&p->dev, c, iov, 16);
}

/* The device is broken with @err and inert from now on. */
static void adv_expect_refused_after(struct ring_pair *p, enum vring_error err)
{
	struct vring_chain c;

	assert_int_equal(p->ops->error(&p->dev), err);
	assert_int_equal(adv_pop(p, &c), -EIO);
	assert_int_equal(p->ops->push(&p->dev, 0, 0), -EIO);
	p->ops->flush(&p->dev);
	assert_false(p->ops->need_notify(&p->dev));
	assert_false(p->ops->enable_notify(&p->dev));
	ring_pair_free(p);
}

/* The device refused with -EPROTO, is broken with @err and inert from now on. */
static void adv_expect_refused(struct ring_pair *p, enum vring_error err)
{
	struct vring_chain c;

	assert_int_equal(adv_pop(p, &c), -EPROTO);
	adv_expect_refused_after(p, err);
}

/* One full lap with the real driver, so both wrap counters are 0 (lap 2). */
static void adv_one_lap(struct ring_pair *p)
{
	struct vring_chain c;
	uint32_t len;

	for (unsigned int i = 0; i < ADV_NUM; i++) {
		struct virtio_sg sg = {ring_pair_buf(p, i), 8};

		assert_int_equal(virtqueue_add_sgs(&p->vq, &sg, 0, 1, p), 0);
		virtqueue_kick_prepare(&p->vq);
		assert_int_equal(adv_pop(p, &c), 0);
		assert_int_equal(p->ops->push(&p->dev, c.head, 8), 0);
		p->ops->flush(&p->dev);
		assert_ptr_equal(virtqueue_get_buf(&p->vq, &len), p);
	}
	assert_int_equal(p->ops->error(&p->dev), VRING_ERR_NONE);
}

/* D-PR-04: a slot still holding last lap's used descriptor, or last lap's AVAIL, is no buffer. */
static void test_d_pr_04_stale_lap_not_consumed(void **state)
{
	struct ring_pair *p = adv_new(false, false, false);
	struct vring_chain c;

	(void)state;
	adv_one_lap(p);
	assert_false(p->ops->has_avail(&p->dev));
	assert_int_equal(adv_pop(p, &c), -EAGAIN);
	/* a driver that forgot to flip: lap 1's "available" polarity in lap 2 */
	adv_write(p, 0, ring_pair_buf(p, 0), 8, 0, adv_avail(true));
	assert_false(p->ops->has_avail(&p->dev));
	assert_int_equal(adv_pop(p, &c), -EAGAIN);
	assert_int_equal(p->ops->in_flight(&p->dev), 0);
	assert_int_equal(p->ops->error(&p->dev), VRING_ERR_NONE);
	ring_pair_free(p);
}

/* D-PR-04 and §2.8.1: AVAIL at the wrap value with USED set too is a used descriptor, not a buffer. */
static void test_d_pr_04_avail_with_used_flag(void **state)
{
	for (unsigned int lap = 1; lap <= 2; lap++) {
		struct ring_pair *p = adv_new(false, false, false);

		(void)state;
		if (lap == 2)
			adv_one_lap(p);
		adv_write(p, 0, ring_pair_buf(p, 0), 8, 0, adv_used(lap == 1));
		adv_expect_refused(p, VRING_ERR_DESC_FLAGS);
	}
}

/*
 * A driver breaking drv:BF/Packed Virtqueues/Scatter-Gather Support (the
 * rest of a list before its head): a list crossing the ring end whose tail
 * still has last lap's flags.
 */
static void test_drv_sg_tail_stale_across_ring_end(void **state)
{
	struct ring_pair *p = adv_new(false, false, false);
	struct vring_chain c;
	uint32_t len;

	(void)state;
	/* move to slot 3 of lap 1 */
	for (unsigned int i = 0; i < ADV_NUM - 1; i++) {
		struct virtio_sg sg = {ring_pair_buf(p, i), 8};

		assert_int_equal(virtqueue_add_sgs(&p->vq, &sg, 0, 1, p), 0);
		virtqueue_kick_prepare(&p->vq);
		assert_int_equal(adv_pop(p, &c), 0);
		assert_int_equal(p->ops->push(&p->dev, c.head, 8), 0);
		p->ops->flush(&p->dev);
		assert_ptr_equal(virtqueue_get_buf(&p->vq, &len), p);
	}
	/* slot 0 holds lap 1's used descriptor; the tail needed lap 2's AVAIL there */
	adv_write(p, 3, ring_pair_buf(p, 3), 8, 1, (uint16_t)(adv_avail(true) | NEXT));
	adv_expect_refused(p, VRING_ERR_DESC_FLAGS);
}

/*
 * A driver breaking drv:BF/Packed Virtqueues/Scatter-Gather Support (a list
 * no longer than the ring): NEXT everywhere meets itself, and never loops.
 */
static void test_drv_sg_list_never_ends(void **state)
{
	struct ring_pair *p = adv_new(false, false, false);
	struct vring_chain c;

	(void)state;
	/* a fresh ring: after the last slot the walk finds its own head, lap 1's flags */
	for (uint16_t i = ADV_NUM; i-- > 0;)
		adv_write(p, i, ring_pair_buf(p, i), 8, 0, (uint16_t)(adv_avail(true) | NEXT));
	adv_expect_refused(p, VRING_ERR_DESC_FLAGS);

	/*
	 * One buffer in flight, its slot rewritten with lap 2's flags: the list
	 * would run onto a slot the device still owns (more slots than free).
	 */
	p = adv_new(false, false, false);
	adv_write(p, 0, ring_pair_buf(p, 0), 8, 0, adv_avail(true));
	assert_int_equal(adv_pop(p, &c), 0);
	adv_write(p, 0, ring_pair_buf(p, 0), 8, 1, (uint16_t)(adv_avail(false) | NEXT));
	for (uint16_t i = ADV_NUM - 1; i >= 1; i--)
		adv_write(p, i, ring_pair_buf(p, i), 8, 1, (uint16_t)(adv_avail(true) | NEXT));
	adv_expect_refused(p, VRING_ERR_CHAIN_LENGTH);
}

/* A driver breaking §2.8.6's buffer ids: below the queue size (in lap 2 too), never reused in flight. */
static void test_drv_ids_out_of_range_or_reused(void **state)
{
	static const uint16_t bad_ids[] = {ADV_NUM, 0x7fff, 0xffff};
	struct ring_pair *p;
	struct vring_chain c;

	(void)state;
	for (unsigned int i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		p = adv_new(false, false, false);
		adv_one_lap(p);
		adv_write(p, 0, ring_pair_buf(p, 0), 8, bad_ids[i], adv_avail(false));
		adv_expect_refused(p, VRING_ERR_HEAD_RANGE);
	}
	p = adv_new(false, false, false);
	adv_one_lap(p);
	adv_write(p, 0, ring_pair_buf(p, 0), 8, 2, adv_avail(false));
	assert_int_equal(adv_pop(p, &c), 0);
	assert_int_equal(c.head, 2);
	adv_write(p, 1, ring_pair_buf(p, 1), 8, 2, adv_avail(false));
	adv_expect_refused(p, VRING_ERR_HEAD_IN_FLIGHT);
}

/* One indirect case: ring descriptor @ring_flags/@len naming table entries @e0/@e1. */
static void adv_indirect_case(bool negotiated, uint16_t ring_flags, uint32_t len, uint16_t e0,
			      uint16_t e1, uint64_t e1_addr, enum vring_error err)
{
	struct ring_pair *p = adv_new(false, negotiated, false);
	struct pvirtq_desc *t;
	uint64_t table = adv_table(p, &t);

	t[0] = (struct pvirtq_desc){.addr = ring_pair_buf(p, 1), .len = 8, .flags = e0};
	t[1] = (struct pvirtq_desc){
		.addr = e1_addr ? e1_addr : ring_pair_buf(p, 2), .len = 8, .flags = e1};
	if (ring_flags & NEXT)
		adv_write(p, 1, ring_pair_buf(p, 0), 8, 0, adv_avail(true));
	adv_write(p, 0, table, len, 0, (uint16_t)(ring_flags | adv_avail(true)));
	adv_expect_refused(p, err);
}

/* A driver breaking drv:BF/Packed Virtqueues/.../Indirect Descriptors (§2.8.8), every way. */
static void test_drv_indirect_abuse(void **state)
{
	(void)state;
	/* not negotiated */
	adv_indirect_case(false, INDIRECT, 32, 0, WRITE, 0, VRING_ERR_INDIRECT_FEATURE);
	/* nested */
	adv_indirect_case(true, INDIRECT, 32, INDIRECT, WRITE, 0, VRING_ERR_INDIRECT_NESTED);
	/* INDIRECT together with NEXT */
	adv_indirect_case(true, INDIRECT | NEXT, 32, 0, WRITE, 0, VRING_ERR_INDIRECT_NEXT);
	/* a length that is no whole number of descriptors, or none at all */
	adv_indirect_case(true, INDIRECT, 24, 0, WRITE, 0, VRING_ERR_INDIRECT_LEN);
	adv_indirect_case(true, INDIRECT, 0, 0, WRITE, 0, VRING_ERR_INDIRECT_LEN);
	/* readable after writable inside the table (Scatter-Gather Support) */
	adv_indirect_case(true, INDIRECT, 32, WRITE, 0, 0, VRING_ERR_WRITABLE_ORDER);
	/* a table entry pointing outside guest memory */
	adv_indirect_case(true, INDIRECT, 32, 0, WRITE, 8, VRING_ERR_ADDRESS);
	/* more entries than any table may have */
	adv_indirect_case(true, INDIRECT, 0x10000000u, 0, WRITE, 0, VRING_ERR_INDIRECT_LEN);
}

/* Checklist item 4: an indirect table that runs past the end of guest memory, never read. */
static void test_drv_indirect_table_outside(void **state)
{
	struct ring_pair *p = adv_new(false, true, false);
	uint64_t end = (uint64_t)(uintptr_t)p->mem + p->mem_len;

	(void)state;
	adv_write(p, 0, end - 16, 32, 0, (uint16_t)(INDIRECT | adv_avail(true)));
	adv_expect_refused(p, VRING_ERR_ADDRESS);
}

/* A driver breaking §2.8.8: an indirect descriptor inside a NEXT list (not its head). */
static void test_drv_indirect_in_list(void **state)
{
	struct ring_pair *p = adv_new(false, true, false);
	struct pvirtq_desc *t;
	uint64_t table = adv_table(p, &t);

	(void)state;
	t[0] = (struct pvirtq_desc){.addr = ring_pair_buf(p, 1), .len = 8, .flags = WRITE};
	adv_write(p, 1, table, 16, 0, (uint16_t)(INDIRECT | adv_avail(true)));
	adv_write(p, 0, ring_pair_buf(p, 0), 8, 0, (uint16_t)(NEXT | adv_avail(true)));
	adv_expect_refused(p, VRING_ERR_INDIRECT_NEXT);
}

/* Checklist §1 item 5: push only a buffer in flight, with at most its writable bytes. */
static void test_push_not_in_flight_or_too_long(void **state)
{
	struct ring_pair *p = adv_new(false, false, false);
	struct vring_chain c;

	(void)state;
	assert_int_equal(p->ops->push(&p->dev, 1, 0), -EPROTO);
	assert_int_equal(p->ops->error(&p->dev), VRING_ERR_PUSH_NOT_IN_FLIGHT);
	ring_pair_free(p);

	p = adv_new(false, false, false);
	adv_write(p, 0, ring_pair_buf(p, 0), 8, 0, (uint16_t)(WRITE | adv_avail(true)));
	assert_int_equal(adv_pop(p, &c), 0);
	assert_int_equal(p->ops->push(&p->dev, 0, 9), -EPROTO);
	assert_int_equal(p->ops->error(&p->dev), VRING_ERR_PUSH_LEN);
	ring_pair_free(p);
}

/*
 * §2.8.10 (checklist §4.3, no normative text): the driver's off_wrap names a
 * slot beyond the ring, or its flags hold the reserved value 3. The device
 * cannot tell when the driver wants a signal, so it signals; nothing breaks.
 */
static void test_driver_event_off_wrap_beyond_ring(void **state)
{
	static const uint16_t bad[][2] = {
		{RING_EVENT_FLAGS_DESC, ADV_NUM},
		{RING_EVENT_FLAGS_DESC, 0x7fff},
		{RING_EVENT_FLAGS_DESC, 0xffff},
		{3, 0},
	};

	(void)state;
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ring_pair *p = adv_new(true, false, false);
		struct pvirtq_event_suppress *ev = adv_driver_event(p);
		struct vring_chain c;

		adv_one_lap(p);
		p->ops->need_notify(&p->dev);
		ev->off_wrap = bad[i][1];
		ev->flags = bad[i][0];
		adv_write(p, 0, ring_pair_buf(p, 0), 8, 0, (uint16_t)(WRITE | adv_avail(false)));
		assert_int_equal(adv_pop(p, &c), 0);
		assert_int_equal(p->ops->push(&p->dev, c.head, 8), 0);
		p->ops->flush(&p->dev);
		assert_true(p->ops->need_notify(&p->dev));
		assert_int_equal(p->ops->error(&p->dev), VRING_ERR_NONE);
		ring_pair_free(p);
	}
}

/* D-PR-05: once its USED bit flipped, a descriptor is the driver's: the device never rewrites it. */
static void test_d_pr_05_used_descriptor_left_alone(void **state)
{
	struct ring_pair *p = adv_new(false, false, false);
	struct pvirtq_desc first;
	struct vring_chain a, b;
	int tok[2];
	uint32_t len;

	(void)state;
	for (unsigned int i = 0; i < 2; i++) {
		struct virtio_sg sg = {ring_pair_buf(p, i), 8};

		assert_int_equal(virtqueue_add_sgs(&p->vq, &sg, 0, 1, &tok[i]), 0);
	}
	virtqueue_kick_prepare(&p->vq);
	assert_int_equal(adv_pop(p, &a), 0);
	assert_int_equal(adv_pop(p, &b), 0);
	assert_int_equal(p->ops->push(&p->dev, a.head, 4), 0);
	p->ops->flush(&p->dev);
	memcpy(&first, &adv_ring(p)[0], sizeof(first));
	/* everything else the device may do next */
	assert_int_equal(p->ops->push(&p->dev, b.head, 8), 0);
	p->ops->flush(&p->dev);
	p->ops->need_notify(&p->dev);
	p->ops->enable_notify(&p->dev);
	p->ops->disable_notify(&p->dev);
	assert_int_equal(adv_pop(p, &a), -EAGAIN);
	assert_memory_equal(&adv_ring(p)[0], &first, sizeof(first));
	assert_ptr_equal(virtqueue_get_buf(&p->vq, &len), &tok[0]);
	assert_int_equal(len, 4);
	assert_ptr_equal(virtqueue_get_buf(&p->vq, &len), &tok[1]);
	assert_int_equal(len, 8);
	ring_pair_free(p);
}

/* D-PR-01: buffers are processed in ring order, whatever their ids say. */
static void test_d_pr_01_ring_order(void **state)
{
	static const uint16_t ids[ADV_NUM] = {3, 1, 0, 2};
	struct ring_pair *p = adv_new(false, false, false);
	struct vring_iov iov[4];
	struct vring_chain c;

	(void)state;
	for (uint16_t i = ADV_NUM; i-- > 0;)
		adv_write(p, i, ring_pair_buf(p, i), 8, ids[i], adv_avail(true));
	for (uint16_t i = 0; i < ADV_NUM; i++) {
		assert_int_equal(p->ops->pop(&p->dev, &c, iov, 4), 0);
		assert_int_equal(c.head, ids[i]);
		assert_ptr_equal(iov[0].base, ring_pair_host(ring_pair_buf(p, i)));
	}
	ring_pair_free(p);
}

/* D-PR-06: a list's descriptors are used in the order made available, across the ring end too. */
static void test_d_pr_06_list_order_across_ring_end(void **state)
{
	struct ring_pair *p = adv_new(false, false, false);
	struct virtio_sg sg[3] = {
		{ring_pair_buf(p, 2), 8}, {ring_pair_buf(p, 0), 16}, {ring_pair_buf(p, 1), 24}};
	struct vring_iov iov[4];
	struct vring_chain c;
	uint32_t len;

	(void)state;
	for (unsigned int i = 0; i < 2; i++) { /* to slot 2: the list takes 2, 3 and 0 */
		assert_int_equal(virtqueue_add_sgs(&p->vq, &sg[2], 0, 1, p), 0);
		virtqueue_kick_prepare(&p->vq);
		assert_int_equal(adv_pop(p, &c), 0);
		assert_int_equal(p->ops->push(&p->dev, c.head, 0), 0);
		p->ops->flush(&p->dev);
		assert_ptr_equal(virtqueue_get_buf(&p->vq, &len), p);
	}
	assert_int_equal(virtqueue_add_sgs(&p->vq, sg, 2, 1, p), 0);
	virtqueue_kick_prepare(&p->vq);
	assert_int_equal(p->ops->pop(&p->dev, &c, iov, 4), 0);
	assert_int_equal(c.readable, 2);
	assert_int_equal(c.writable, 1);
	for (unsigned int i = 0; i < 3; i++) {
		assert_ptr_equal(iov[i].base, ring_pair_host(sg[i].addr));
		assert_int_equal(iov[i].len, sg[i].len);
	}
	ring_pair_free(p);
}

/* --- the mirror set: our driver against a hostile device --- */

/* The driver got nothing back and is broken; every later call fails. */
static void adv_expect_driver_broken(struct ring_pair *p)
{
	struct virtio_sg sg = {ring_pair_buf(p, 0), 8};
	uint32_t len;

	assert_null(virtqueue_get_buf(&p->vq, &len));
	assert_true(virtqueue_is_broken(&p->vq));
	assert_int_equal(virtqueue_add_sgs(&p->vq, &sg, 0, 1, p), -EIO);
	assert_null(virtqueue_get_buf(&p->vq, &len));
	assert_false(virtqueue_kick_prepare(&p->vq));
	ring_pair_free(p);
}

/* Two one-descriptor buffers (8 writable bytes each, tokens &tok[0], &tok[1]) exposed. */
static struct ring_pair *adv_driver_two(int *tok, bool in_order)
{
	struct ring_pair *p = adv_new(false, false, in_order);

	for (unsigned int i = 0; i < 2; i++) {
		struct virtio_sg sg = {ring_pair_buf(p, i), 8};

		assert_int_equal(virtqueue_add_sgs(&p->vq, &sg, 0, 1, &tok[i]), 0);
	}
	virtqueue_kick_prepare(&p->vq);
	return p;
}

/* The id the driver gave the buffer in ring slot @slot (what a device reads). */
static uint16_t adv_posted_id(struct ring_pair *p, uint16_t slot)
{
	return adv_ring(p)[slot].id;
}

/* A device breaking §2.8.6/§2.8.7's used ids: out of range, never posted, or twice. */
static void test_dev_bogus_used_ids(void **state)
{
	static const uint16_t bad_ids[] = {ADV_NUM, 0x7fff, 0xffff};
	int tok[2];
	struct ring_pair *p;
	uint32_t len;

	(void)state;
	for (unsigned int i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		p = adv_driver_two(tok, false);
		adv_write(p, 0, 0, 8, bad_ids[i], adv_used(true));
		adv_expect_driver_broken(p);
	}
	/* an id in range the driver never posted (only two are out) */
	p = adv_driver_two(tok, false);
	for (uint16_t id = 0; id < ADV_NUM; id++) {
		if (id != adv_posted_id(p, 0) && id != adv_posted_id(p, 1)) {
			adv_write(p, 0, 0, 8, id, adv_used(true));
			break;
		}
	}
	adv_expect_driver_broken(p);
	/* the same buffer given back twice */
	p = adv_driver_two(tok, false);
	adv_write(p, 0, 0, 8, adv_posted_id(p, 0), adv_used(true));
	assert_ptr_equal(virtqueue_get_buf(&p->vq, &len), &tok[0]);
	adv_write(p, 1, 0, 8, adv_posted_id(p, 0), adv_used(true));
	adv_expect_driver_broken(p);
}

/* STYLE.md checklist item 6: a device's used length above the writable bytes posted. */
static void test_dev_used_len_beyond_posted(void **state)
{
	int tok[2];
	struct ring_pair *p = adv_driver_two(tok, false);

	(void)state;
	/* §2.8.5: len counts only with WRITE in the used flags, so set it */
	adv_write(p, 0, 0, 9, adv_posted_id(p, 0), (uint16_t)(adv_used(true) | WRITE));
	adv_expect_driver_broken(p);
}

/*
 * A device breaking §2.8.1's flags: while a buffer is exposed its slot
 * holds either our available flags or a used descriptor (AVAIL == USED ==
 * the used wrap counter). USED alone, or the other lap's used polarity, is a
 * device that broke the ring.
 */
static void test_dev_bogus_used_flags(void **state)
{
	static const uint16_t bad[] = {USED, USED | WRITE, 0, WRITE};
	int tok[2];

	(void)state;
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ring_pair *p = adv_driver_two(tok, false);

		adv_write(p, 0, 0, 8, adv_posted_id(p, 0), bad[i]);
		adv_expect_driver_broken(p);
	}
}

/* A device breaking dev:Reserved Feature Bits (IN_ORDER): a batch naming an id behind the ring order. */
static void test_dev_in_order_behind(void **state)
{
	int tok[2];
	struct ring_pair *p = adv_driver_two(tok, true);
	uint32_t len;

	(void)state;
	adv_write(p, 0, 0, 8, adv_posted_id(p, 0), adv_used(true));
	assert_ptr_equal(virtqueue_get_buf(&p->vq, &len), &tok[0]);
	adv_write(p, 1, 0, 8, adv_posted_id(p, 0), adv_used(true));
	adv_expect_driver_broken(p);
}

/* R-PR-02: our driver never changes a descriptor it exposed until the device used it. */
static void test_r_pr_02_exposed_descriptors_left_alone(void **state)
{
	int tok[4];
	struct ring_pair *p = adv_driver_two(tok, false);
	struct virtio_sg sg = {ring_pair_buf(p, 2), 8};
	struct pvirtq_desc exposed[2];
	uint32_t len;

	(void)state;
	memcpy(exposed, adv_ring(p), sizeof(exposed));
	/* everything else the driver may do meanwhile */
	assert_int_equal(virtqueue_add_sgs(&p->vq, &sg, 0, 1, &tok[2]), 0);
	assert_true(virtqueue_enable_cb(&p->vq)); /* nothing used yet */
	virtqueue_disable_cb(&p->vq);
	assert_null(virtqueue_get_buf(&p->vq, &len));
	virtqueue_kick_prepare(&p->vq);
	assert_memory_equal(adv_ring(p), exposed, sizeof(exposed));
	/* the device uses the first: the second stays untouched through get_buf and an add */
	adv_write(p, 0, 0, 8, adv_posted_id(p, 0), (uint16_t)(adv_used(true) | WRITE));
	assert_ptr_equal(virtqueue_get_buf(&p->vq, &len), &tok[0]);
	sg.addr = ring_pair_buf(p, 3);
	assert_int_equal(virtqueue_add_sgs(&p->vq, &sg, 0, 1, &tok[3]), 0);
	virtqueue_kick_prepare(&p->vq);
	assert_memory_equal(&adv_ring(p)[1], &exposed[1], sizeof(exposed[1]));
	assert_false(virtqueue_is_broken(&p->vq));
	ring_pair_free(p);
}

/*
 * §2.8.10 from the driver's side: the device's off_wrap beyond the ring or
 * the reserved flags value. The driver may kick or not (only the device loses
 * by a missing kick), but the queue keeps working.
 */
static void test_device_event_off_wrap_beyond_ring(void **state)
{
	static const uint16_t bad[][2] = {
		{RING_EVENT_FLAGS_DESC, ADV_NUM},
		{RING_EVENT_FLAGS_DESC, 0x7fff},
		{RING_EVENT_FLAGS_DESC, 0xffff},
		{3, 0xffff},
	};

	(void)state;
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ring_pair *p = adv_new(true, false, false);
		struct pvirtq_event_suppress *ev = adv_device_event(p);

		adv_one_lap(p);
		ev->off_wrap = bad[i][1];
		ev->flags = bad[i][0];
		adv_one_lap(p);
		assert_false(virtqueue_is_broken(&p->vq));
		assert_int_equal(virtqueue_get_num_free(&p->vq), ADV_NUM);
		ring_pair_free(p);
	}
}

/*
 * A burst checks each chain as a single pop does (D-PR-04 and the buffer id
 * rules): good buffers, then a hostile one; the burst returns the good ones,
 * stops at the bad one with the error a single pop gives, the queue broken.
 * A push burst naming an id not in flight breaks it too.
 */
static void test_burst_hostile_in_the_middle(void **state)
{
	static const struct {
		uint16_t id, flags_used; /* flags_used: the bad slot holds a used descriptor */
		enum vring_error err;
	} cases[] = {
		{ADV_NUM, 0, VRING_ERR_HEAD_RANGE},
		{0, 0, VRING_ERR_HEAD_IN_FLIGHT},
		{2, 1, VRING_ERR_DESC_FLAGS},
	};

	(void)state;
	for (unsigned int k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct ring_pair *p = adv_new(false, false, false);
		struct vring_iov iov[20];
		struct vring_chain c[4];

		adv_one_lap(p);
		adv_write(p, 0, ring_pair_buf(p, 0), 8, 0, adv_avail(false));
		adv_write(p, 1, ring_pair_buf(p, 1), 8, 1, adv_avail(false));
		adv_write(p, 2, ring_pair_buf(p, 2), 8, cases[k].id,
			  cases[k].flags_used ? adv_used(false) : adv_avail(false));
		adv_write(p, 3, ring_pair_buf(p, 3), 8, 3, adv_avail(false));
		assert_int_equal(p->ops->pop_burst(&p->dev, c, 4, iov, 20, 16), 2);
		assert_int_equal(c[0].head, 0);
		assert_int_equal(c[1].head, 1);
		assert_ptr_equal(iov[1].base, ring_pair_host(ring_pair_buf(p, 1)));
		assert_int_equal(p->ops->pop_burst(&p->dev, c, 4, iov, 20, 16), -EIO);
		adv_expect_refused_after(p, cases[k].err);
	}
	{
		struct ring_pair *p = adv_new(false, false, false);
		struct vring_iov iov[20];
		struct vring_chain c[4];
		uint16_t ids[3] = {0, 3, 1};

		adv_write(p, 0, ring_pair_buf(p, 0), 8, 0, adv_avail(true));
		adv_write(p, 1, ring_pair_buf(p, 1), 8, 1, adv_avail(true));
		assert_int_equal(p->ops->pop_burst(&p->dev, c, 4, iov, 20, 16), 2);
		assert_int_equal(p->ops->push_burst(&p->dev, ids, NULL, 3), -EPROTO);
		adv_expect_refused_after(p, VRING_ERR_PUSH_NOT_IN_FLIGHT);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_d_pr_04_stale_lap_not_consumed),
		cmocka_unit_test(test_burst_hostile_in_the_middle),
		cmocka_unit_test(test_d_pr_04_avail_with_used_flag),
		cmocka_unit_test(test_drv_sg_tail_stale_across_ring_end),
		cmocka_unit_test(test_drv_sg_list_never_ends),
		cmocka_unit_test(test_drv_ids_out_of_range_or_reused),
		cmocka_unit_test(test_drv_indirect_abuse),
		cmocka_unit_test(test_drv_indirect_in_list),
		cmocka_unit_test(test_drv_indirect_table_outside),
		cmocka_unit_test(test_push_not_in_flight_or_too_long),
		cmocka_unit_test(test_driver_event_off_wrap_beyond_ring),
		cmocka_unit_test(test_d_pr_05_used_descriptor_left_alone),
		cmocka_unit_test(test_d_pr_01_ring_order),
		cmocka_unit_test(test_d_pr_06_list_order_across_ring_end),
		cmocka_unit_test(test_r_pr_02_exposed_descriptors_left_alone),
		cmocka_unit_test(test_dev_bogus_used_ids),
		cmocka_unit_test(test_dev_used_len_beyond_posted),
		cmocka_unit_test(test_dev_bogus_used_flags),
		cmocka_unit_test(test_dev_in_order_behind),
		cmocka_unit_test(test_device_event_off_wrap_beyond_ring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
