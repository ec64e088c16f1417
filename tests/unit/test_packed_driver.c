// SPDX-License-Identifier: MIT
/*
 * Unit tests for ring/packed_driver.c, the driver side of a packed virtqueue
 * (virtio 1.2 §2.8), against the scripted device of tests/lib/packed_rig: an
 * honest one here, a hostile one in test_packed_driver_hostile.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/spec.h>
#include <vireo/virtqueue.h>

#include "tests/lib/packed_rig.h"

static void test_init_rejects_bad_config(void **state)
{
	struct packed_rig *t = packed_rig_new(5, false, false, false);
	struct virtqueue vq = {0};
	struct vring_packed_drv_config c = {
		.num = 5,
		.desc = t->desc,
		.driver_event = t->drv_ev,
		.device_event = t->dev_ev,
		.extra = t->extra,
	};

	(void)state;
	assert_true(virtqueue_is_broken(&vq)); /* never initialized */
	/* §2.8: any size up to 2^15, not only powers of two */
	assert_int_equal(virtqueue_packed_init(&vq, &c), 0);
	assert_false(virtqueue_is_broken(&vq));
	c.num = 0;
	assert_int_equal(virtqueue_packed_init(&vq, &c), -EINVAL);
	c.num = VIRTQ_PACKED_MAX_SIZE + 1;
	assert_int_equal(virtqueue_packed_init(&vq, &c), -EINVAL);
	c.num = 5;
	/* §2.8.10.1 (R-PR-01): ring 16-aligned, event areas 4-aligned */
	c.desc = (struct pvirtq_desc *)((uint8_t *)t->desc + 8);
	assert_int_equal(virtqueue_packed_init(&vq, &c), -EINVAL);
	c.desc = t->desc;
	c.driver_event = (struct pvirtq_event_suppress *)((uint8_t *)t->drv_ev + 2);
	assert_int_equal(virtqueue_packed_init(&vq, &c), -EINVAL);
	c.driver_event = t->drv_ev;
	c.device_event = (struct pvirtq_event_suppress *)((uint8_t *)t->dev_ev + 2);
	assert_int_equal(virtqueue_packed_init(&vq, &c), -EINVAL);
	c.device_event = t->dev_ev;
	c.indirect_max = 4; /* no pool */
	assert_int_equal(virtqueue_packed_init(&vq, &c), -EINVAL);
	c.indirect_max = 0;
	c.extra = NULL;
	assert_int_equal(virtqueue_packed_init(&vq, &c), -EINVAL);
	/* init wrote ENABLE into the driver event suppression area (§2.8.10) */
	assert_int_equal(t->drv_ev->flags, RING_EVENT_FLAGS_ENABLE);
	packed_rig_free(t);
}

/*
 * §2.9 (R-PR-03): with NOTIFICATION_DATA the value names the queue and the next descriptor
 * not yet made available: next_off in bits 16-30, next_wrap (the Driver Ring Wrap Counter,
 * 1 at start) in bit 31; past the ring's end the offset restarts and the counter flips.
 */
static void test_notification_data(void **state)
{
	struct packed_rig *t = packed_rig_new(5, false, false, false);
	int tokens[5];
	struct packed_rig_buf b;
	uint32_t len;

	(void)state;
	t->vq.index = 3;
	assert_int_equal(virtqueue_notification_data(&t->vq), 0x80000003u);
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(packed_rig_add_in(t, i, &tokens[i]), 0);
	assert_int_equal(virtqueue_notification_data(&t->vq), 0x80030003u);
	assert_true(virtqueue_kick(&t->vq));
	for (unsigned int i = 0; i < 3; i++) {
		assert_true(packed_rig_device_pop(t, &b));
		packed_rig_device_push(t, b.id, 1);
	}
	for (unsigned int i = 0; i < 3; i++)
		assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &tokens[i]);
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(packed_rig_add_in(t, i, &tokens[i]), 0);
	assert_int_equal(virtqueue_notification_data(&t->vq), 0x00010003u);
	packed_rig_free(t);
}

/* A queue of 5: many laps, so both wrap counters flip many times (§2.8.1). */
static void test_wrap_around_non_pow2(void **state)
{
	struct packed_rig *t = packed_rig_new(5, false, false, false);
	int tokens[5];
	struct packed_rig_buf b;
	uint32_t len;

	(void)state;
	for (unsigned int round = 0; round < 40; round++) {
		unsigned int n = 1 + round % 5;

		for (unsigned int i = 0; i < n; i++)
			assert_int_equal(packed_rig_add_in(t, i, &tokens[i]), 0);
		if (n == 5)
			assert_int_equal(packed_rig_add_in(t, 0, &tokens[0]), -ENOSPC);
		/* Nothing exposed before kick_prepare: the head of the batch waits. */
		assert_false(packed_rig_device_pop(t, &b));
		assert_true(virtqueue_kick(&t->vq));
		for (unsigned int i = 0; i < n; i++) {
			assert_true(packed_rig_device_pop(t, &b));
			assert_int_equal(b.writable, PACKED_RIG_BUF);
			packed_rig_device_push(t, b.id, 10 + i);
		}
		assert_false(packed_rig_device_pop(t, &b));
		for (unsigned int i = 0; i < n; i++) {
			assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &tokens[i]);
			assert_int_equal(len, 10 + i);
		}
		assert_null(virtqueue_get_buf(&t->vq, &len));
		assert_int_equal(virtqueue_get_num_free(&t->vq), 5);
	}
	assert_int_equal(virtqueue_get_vring_size(&t->vq), 5);
	assert_false(virtqueue_is_broken(&t->vq));
	packed_rig_free(t);
}

/* §2.8.6: NEXT on all but the last; WRITE after the readable; head flags stored last. */
static void test_chain_across_the_ring_end(void **state)
{
	struct packed_rig *t = packed_rig_new(6, false, false, false);
	struct virtio_sg sg[3] = {
		{.addr = 0x1000, .len = 16},
		{.addr = 0x2000, .len = 32},
		{.addr = 0x3000, .len = 64},
	};
	int t1, t2;
	struct packed_rig_buf b;
	uint32_t len;

	(void)state;
	/* Move to position 4 first, so the chain covers 4, 5, 0 and wraps. */
	for (int i = 0; i < 4; i++) {
		assert_int_equal(packed_rig_add_in(t, 0, &t1), 0);
		virtqueue_kick(&t->vq);
		assert_true(packed_rig_device_pop(t, &b));
		packed_rig_device_push(t, b.id, 0);
		assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &t1);
		assert_int_equal(len, 0);
	}
	assert_int_equal(virtqueue_add_sgs(&t->vq, sg, 2, 1, &t2), 0);
	/* Before the kick: the tail has its flags, the head does not (R-PR-06). */
	assert_false(packed_rig_is_avail(t->desc[4].flags, true));
	assert_int_equal(t->desc[5].flags, VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_NEXT);
	/* Position 0 is in the next lap: wrap counter 0, so USED set, AVAIL clear. */
	assert_int_equal(t->desc[0].flags, VIRTQ_DESC_F_USED | VIRTQ_DESC_F_WRITE);
	virtqueue_kick(&t->vq);
	assert_int_equal(t->desc[4].flags, VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_NEXT);
	assert_int_equal(t->desc[0].len, 64);
	assert_int_equal(t->desc[0].addr, 0x3000);
	assert_true(packed_rig_device_pop(t, &b));
	assert_int_equal(b.descs, 3);
	assert_int_equal(b.writable, 64);
	assert_int_equal(virtqueue_get_num_free(&t->vq), 3);
	packed_rig_device_push(t, b.id, 64);
	assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &t2);
	assert_int_equal(len, 64);
	assert_int_equal(virtqueue_get_num_free(&t->vq), 6);
	/* The device's used position skipped the list: the next buffer lands at 1. */
	assert_int_equal(packed_rig_add_in(t, 0, &t1), 0);
	virtqueue_kick(&t->vq);
	assert_true(packed_rig_is_avail(t->desc[1].flags, false));
	packed_rig_free(t);
}

static void test_add_errors(void **state)
{
	struct packed_rig *t = packed_rig_new(3, false, false, false);
	struct virtio_sg sg[4];
	int tok;

	(void)state;
	for (unsigned int i = 0; i < 4; i++)
		sg[i] = (struct virtio_sg){.addr = 0x1000 * (i + 1), .len = 16};
	assert_int_equal(virtqueue_add_sgs(&t->vq, sg, 1, 0, NULL), -EINVAL);
	assert_int_equal(virtqueue_add_sgs(&t->vq, sg, 0, 0, &tok), -EINVAL);
	/* §2.8.14 (R-PR-04): no list longer than the queue size */
	assert_int_equal(virtqueue_add_sgs(&t->vq, sg, 2, 2, &tok), -EINVAL);
	sg[0].len = UINT32_MAX;
	assert_int_equal(virtqueue_add_sgs(&t->vq, sg, 1, 1, &tok), -EINVAL);
	sg[0].len = 16;
	assert_int_equal(virtqueue_add_sgs(&t->vq, sg, 1, 1, &tok), 0);
	/* §2.8.14 (R-PR-05): room for the whole list first */
	assert_int_equal(virtqueue_add_sgs(&t->vq, sg, 1, 1, &tok), -ENOSPC);
	assert_int_equal(virtqueue_add_sgs(&t->vq, sg, 1, 0, &tok), 0);
	assert_int_equal(virtqueue_get_num_free(&t->vq), 0);
	packed_rig_free(t);
}

/* §2.8.8: one ring descriptor, INDIRECT, pointing at a table with only WRITE flags. */
static void test_indirect(void **state)
{
	struct packed_rig *t = packed_rig_new(3, false, true, false);
	struct virtio_sg sg[5];
	int tok[4];
	struct packed_rig_buf b;
	uint32_t len;

	(void)state;
	for (unsigned int i = 0; i < 5; i++)
		sg[i] = (struct virtio_sg){.addr = 0x1000 * (i + 1), .len = 100};
	for (int i = 0; i < 3; i++)
		assert_int_equal(virtqueue_add_sgs(&t->vq, sg, 1, 3, &tok[i]), 0);
	assert_int_equal(virtqueue_get_num_free(&t->vq), 0);
	virtqueue_kick(&t->vq);
	assert_int_equal(t->desc[0].flags, VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_INDIRECT);
	assert_int_equal(t->desc[0].len, 4 * sizeof(struct pvirtq_desc));
	for (int i = 0; i < 3; i++) {
		assert_true(packed_rig_device_pop(t, &b));
		assert_true(b.indirect);
		assert_int_equal(b.descs, 1);
		assert_int_equal(b.elems, 4);
		assert_int_equal(b.writable, 300);
		packed_rig_device_push(t, b.id, 300);
	}
	for (int i = 0; i < 3; i++) {
		assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &tok[i]);
		assert_int_equal(len, 300);
	}
	/* Longer than a table: a direct chain; a single element: direct too. */
	assert_int_equal(virtqueue_add_sgs(&t->vq, sg, 2, 3, &tok[3]), -EINVAL);
	assert_int_equal(virtqueue_add_sgs(&t->vq, sg, 1, 0, &tok[3]), 0);
	virtqueue_kick(&t->vq);
	assert_true(packed_rig_device_pop(t, &b));
	assert_false(b.indirect);
	packed_rig_free(t);
}

/* Without IN_ORDER the device may complete in any order (§2.8 note). */
static void test_out_of_order_completion(void **state)
{
	struct packed_rig *t = packed_rig_new(4, false, false, false);
	struct virtio_sg chain[2] = {{.addr = 0x1000, .len = 8}, {.addr = 0x2000, .len = 8}};
	struct packed_rig_buf a, b, c;
	int ta, tb, tc;
	uint32_t len;

	(void)state;
	assert_int_equal(virtqueue_add_sgs(&t->vq, chain, 1, 1, &ta), 0);
	assert_int_equal(packed_rig_add_in(t, 1, &tb), 0);
	assert_int_equal(packed_rig_add_in(t, 2, &tc), 0);
	virtqueue_kick(&t->vq);
	assert_true(packed_rig_device_pop(t, &a));
	assert_true(packed_rig_device_pop(t, &b));
	assert_true(packed_rig_device_pop(t, &c));
	packed_rig_device_push(t, c.id, 1);
	packed_rig_device_push(t, a.id, 8);
	packed_rig_device_push(t, b.id, 2);
	assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &tc);
	assert_int_equal(len, 1);
	assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &ta);
	assert_int_equal(len, 8);
	assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &tb);
	assert_int_equal(len, 2);
	assert_int_equal(virtqueue_get_num_free(&t->vq), 4);
	assert_false(virtqueue_is_broken(&t->vq));
	packed_rig_free(t);
}

/* §2.8.5: a used descriptor without WRITE has a reserved length: the driver reports 0. */
static void test_len_without_write_flag_is_zero(void **state)
{
	struct packed_rig *t = packed_rig_new(4, false, false, false);
	struct packed_rig_buf b;
	int tok;
	uint32_t len = 99;

	(void)state;
	assert_int_equal(packed_rig_add_in(t, 0, &tok), 0);
	virtqueue_kick(&t->vq);
	assert_true(packed_rig_device_pop(t, &b));
	packed_rig_device_push_raw(t, b.id, 5000, packed_rig_used_flags(t, 0), 1);
	assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &tok);
	assert_int_equal(len, 0);
	packed_rig_free(t);
}

/* QEMU's packed used descriptors carry the length without WRITE: one within bounds counts. */
static void test_len_without_write_flag_within_bounds(void **state)
{
	struct packed_rig *t = packed_rig_new(4, false, false, false);
	struct packed_rig_buf b;
	int tok;
	uint32_t len = 99;

	(void)state;
	assert_int_equal(packed_rig_add_in(t, 0, &tok), 0);
	virtqueue_kick(&t->vq);
	assert_true(packed_rig_device_pop(t, &b));
	packed_rig_device_push_raw(t, b.id, 1, packed_rig_used_flags(t, 0), 1);
	assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &tok);
	assert_int_equal(len, 1);
	assert_false(virtqueue_is_broken(&t->vq));
	packed_rig_free(t);
}

/* Add one buffer and kick; Return: whether the driver says the device wants a kick. */
static bool add_and_kick(struct packed_rig *t, int *tok)
{
	assert_int_equal(packed_rig_add_in(t, 0, tok), 0);
	return virtqueue_kick_prepare(&t->vq);
}

/* Device: take and complete everything, driver: collect it. */
static void drain_used(struct packed_rig *t)
{
	struct packed_rig_buf b;
	uint32_t len;

	while (packed_rig_device_pop(t, &b))
		packed_rig_device_push(t, b.id, 0);
	while (virtqueue_get_buf(&t->vq, &len))
		;
	assert_false(virtqueue_is_broken(&t->vq));
}

/* §2.8.10: the device event suppression structure decides the kick. */
static void test_kick_device_event_flags(void **state)
{
	struct packed_rig *t = packed_rig_new(5, false, false, false);
	int tok;

	(void)state;
	assert_false(virtqueue_kick_prepare(&t->vq)); /* nothing added */
	t->dev_ev->flags = RING_EVENT_FLAGS_ENABLE;
	assert_true(add_and_kick(t, &tok));
	t->dev_ev->flags = RING_EVENT_FLAGS_DISABLE;
	assert_false(add_and_kick(t, &tok));
	/* DESC is only valid with EVENT_IDX: without it, a kick. */
	t->dev_ev->flags = RING_EVENT_FLAGS_DESC;
	t->dev_ev->off_wrap = 4;
	assert_true(add_and_kick(t, &tok));
	/* The reserved value kicks (safe side). */
	t->dev_ev->flags = 3;
	assert_true(add_and_kick(t, &tok));
	packed_rig_free(t);
}

static uint16_t off_wrap(uint16_t off, bool wrap)
{
	return (uint16_t)(off | (wrap ? 0x8000u : 0));
}

/* §2.8.10 with EVENT_IDX: a kick when the published range covers off_wrap, also across the wrap. */
static void test_kick_device_event_desc_at_wrap(void **state)
{
	struct packed_rig *t = packed_rig_new(5, true, false, false);
	int tok[5];

	(void)state;
	t->dev_ev->flags = RING_EVENT_FLAGS_DESC;
	/* Event at descriptor 2 of lap 1: publishing 0..1 does not reach it, 2 does. */
	t->dev_ev->off_wrap = off_wrap(2, true);
	assert_false(add_and_kick(t, &tok[0]));
	assert_false(add_and_kick(t, &tok[1]));
	assert_true(add_and_kick(t, &tok[2]));
	/* Published 3, 4 then wrap to lap 0: an event at 1 of lap 0 is not reached by 3..4. */
	t->dev_ev->off_wrap = off_wrap(1, false);
	drain_used(t);
	assert_false(add_and_kick(t, &tok[3]));
	assert_false(add_and_kick(t, &tok[4]));
	drain_used(t);
	/* A batch 0, 1 of lap 0 (the ring wrapped) covers it. */
	assert_int_equal(packed_rig_add_in(t, 0, &tok[0]), 0);
	assert_int_equal(packed_rig_add_in(t, 0, &tok[1]), 0);
	assert_true(virtqueue_kick_prepare(&t->vq));
	drain_used(t);
	/* A batch crossing the ring end (2, 3, 4 of lap 0, 0 of lap 1) covers 4 of lap 0. */
	t->dev_ev->off_wrap = off_wrap(4, false);
	for (int i = 0; i < 4; i++)
		assert_int_equal(packed_rig_add_in(t, 0, &tok[i]), 0);
	assert_true(virtqueue_kick_prepare(&t->vq));
	drain_used(t);
	/* An event behind the batch (position 0 of lap 0, already passed) is not crossed. */
	t->dev_ev->off_wrap = off_wrap(0, false);
	assert_false(add_and_kick(t, &tok[0]));
	packed_rig_free(t);
}

/* §2.8.10: disable_cb writes DISABLE; enable_cb ENABLE (no EVENT_IDX). */
static void test_driver_event_enable_disable(void **state)
{
	struct packed_rig *t = packed_rig_new(4, false, false, false);
	struct packed_rig_buf b;
	int tok;

	(void)state;
	virtqueue_disable_cb(&t->vq);
	assert_int_equal(t->drv_ev->flags, RING_EVENT_FLAGS_DISABLE);
	assert_true(virtqueue_enable_cb(&t->vq));
	assert_int_equal(t->drv_ev->flags, RING_EVENT_FLAGS_ENABLE);
	/* A used buffer pending: enable_cb says so (no signal may come for it). */
	assert_int_equal(packed_rig_add_in(t, 0, &tok), 0);
	virtqueue_kick(&t->vq);
	assert_true(packed_rig_device_pop(t, &b));
	packed_rig_device_push(t, b.id, 0);
	virtqueue_disable_cb(&t->vq);
	assert_true(virtqueue_more_used(&t->vq));
	assert_false(virtqueue_enable_cb(&t->vq));
	assert_false(virtqueue_enable_cb_delayed(&t->vq));
	packed_rig_free(t);
}

/* §2.8.10 with EVENT_IDX: enable_cb asks for the next used descriptor (DESC, off_wrap). */
static void test_driver_event_desc_at_wrap(void **state)
{
	struct packed_rig *t = packed_rig_new(5, true, false, false);
	int tok[5];
	uint32_t len;

	(void)state;
	assert_true(virtqueue_enable_cb(&t->vq));
	assert_int_equal(t->drv_ev->flags, RING_EVENT_FLAGS_DESC);
	assert_int_equal(t->drv_ev->off_wrap, off_wrap(0, true));
	/* Consume 4, then enable: position 4 of lap 1. */
	for (int i = 0; i < 4; i++)
		packed_rig_add_in(t, 0, &tok[i]);
	virtqueue_kick(&t->vq);
	drain_used(t);
	assert_true(virtqueue_enable_cb(&t->vq));
	assert_int_equal(t->drv_ev->off_wrap, off_wrap(4, true));
	/* One more: next_used wraps to 0 of lap 0. */
	packed_rig_add_in(t, 0, &tok[0]);
	virtqueue_kick(&t->vq);
	drain_used(t);
	assert_true(virtqueue_enable_cb(&t->vq));
	assert_int_equal(t->drv_ev->off_wrap, off_wrap(0, false));
	/* Delayed with 4 in flight from 0 of lap 0: 3 ahead. */
	for (int i = 0; i < 4; i++)
		packed_rig_add_in(t, 0, &tok[i]);
	virtqueue_kick(&t->vq);
	assert_true(virtqueue_enable_cb_delayed(&t->vq));
	assert_int_equal(t->drv_ev->off_wrap, off_wrap(3, false));
	drain_used(t);
	/* Now at 4 of lap 0, 4 in flight: 3 ahead wraps to 2 of lap 1. */
	for (int i = 0; i < 4; i++)
		packed_rig_add_in(t, 0, &tok[i]);
	virtqueue_kick(&t->vq);
	assert_true(virtqueue_enable_cb_delayed(&t->vq));
	assert_int_equal(t->drv_ev->off_wrap, off_wrap(2, true));
	virtqueue_disable_cb(&t->vq);
	assert_int_equal(t->drv_ev->flags, RING_EVENT_FLAGS_DISABLE);
	/* get_buf finding nothing with callbacks on moves off_wrap to where it is. */
	drain_used(t);
	assert_true(virtqueue_enable_cb(&t->vq));
	t->drv_ev->off_wrap = 0x7777;
	assert_null(virtqueue_get_buf(&t->vq, &len));
	assert_int_equal(t->drv_ev->off_wrap, off_wrap(3, true));
	packed_rig_free(t);
}

static void test_detach_unused(void **state)
{
	struct packed_rig *t = packed_rig_new(4, false, false, false);
	int tok[3];
	int found = 0;
	void *x;

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(packed_rig_add_in(t, 0, &tok[i]), 0);
	virtqueue_kick(&t->vq);
	while ((x = virtqueue_detach_unused_buf(&t->vq)) != NULL)
		found += x == &tok[0] || x == &tok[1] || x == &tok[2];
	assert_int_equal(found, 3);
	assert_int_equal(virtqueue_get_num_free(&t->vq), 4);
	packed_rig_free(t);
}

/* IN_ORDER (§2.8.9): one used descriptor with the batch's last ID; the rest count as fully used. */
static void test_in_order_batches(void **state)
{
	struct packed_rig *t = packed_rig_new(7, false, false, true);
	struct virtio_sg chain[2] = {{.addr = 0x1000, .len = 8}, {.addr = 0x2000, .len = 30}};
	int tok[4];
	struct packed_rig_buf b[4];
	uint32_t len;

	(void)state;
	for (unsigned int round = 0; round < 20; round++) {
		/* A chain of 2 then three single buffers: 5 descriptors of 7, across the wrap. */
		assert_int_equal(virtqueue_add_sgs(&t->vq, chain, 1, 1, &tok[0]), 0);
		for (unsigned int i = 1; i < 4; i++)
			assert_int_equal(packed_rig_add_in(t, i, &tok[i]), 0);
		virtqueue_kick(&t->vq);
		for (unsigned int i = 0; i < 4; i++)
			assert_true(packed_rig_device_pop(t, &b[i]));
		if (round % 2) {
			/* The batch of the first three by the third's ID, then the fourth alone. */
			packed_rig_device_push_raw(
				t, b[2].id, 7, packed_rig_used_flags(t, 7),
				(uint16_t)(b[0].descs + b[1].descs + b[2].descs));
			packed_rig_device_push(t, b[3].id, 9);
		} else {
			/* The whole batch by the last ID. */
			packed_rig_device_push_raw(t, b[3].id, 9, packed_rig_used_flags(t, 9), 5);
		}
		assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &tok[0]);
		assert_int_equal(len, 30);
		assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &tok[1]);
		assert_int_equal(len, PACKED_RIG_BUF);
		assert_true(virtqueue_more_used(&t->vq));
		assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &tok[2]);
		assert_int_equal(len, round % 2 ? 7 : PACKED_RIG_BUF);
		assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &tok[3]);
		assert_int_equal(len, 9);
		assert_null(virtqueue_get_buf(&t->vq, &len));
		assert_int_equal(virtqueue_get_num_free(&t->vq), 7);
	}
	assert_false(virtqueue_is_broken(&t->vq));
	packed_rig_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_rejects_bad_config),
		cmocka_unit_test(test_wrap_around_non_pow2),
		cmocka_unit_test(test_notification_data),
		cmocka_unit_test(test_chain_across_the_ring_end),
		cmocka_unit_test(test_add_errors),
		cmocka_unit_test(test_indirect),
		cmocka_unit_test(test_out_of_order_completion),
		cmocka_unit_test(test_len_without_write_flag_is_zero),
		cmocka_unit_test(test_len_without_write_flag_within_bounds),
		cmocka_unit_test(test_kick_device_event_flags),
		cmocka_unit_test(test_kick_device_event_desc_at_wrap),
		cmocka_unit_test(test_driver_event_enable_disable),
		cmocka_unit_test(test_driver_event_desc_at_wrap),
		cmocka_unit_test(test_detach_unused),
		cmocka_unit_test(test_in_order_batches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
