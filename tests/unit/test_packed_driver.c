// SPDX-License-Identifier: MIT
/*
 * Unit tests for ring/packed_driver.c, the driver side of a packed virtqueue
 * (virtio 1.2 §2.8), against a device scripted here: it reads the ring as
 * §2.8 describes and writes used descriptors the test chooses, honest or
 * hostile. Guest address == host address (the ring is plain heap memory).
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

#define PT_IMAX 4u
#define PT_BUF 64u
#define PT_MAX_NUM 64u

/* A scripted device's view of the ring (it trusts the driver under test). */
struct pt_dev {
	uint16_t next_avail, next_used;
	bool avail_wrap, used_wrap;
	uint16_t chain_len[PT_MAX_NUM]; /* ring descriptors per buffer ID */
};

struct pt {
	uint16_t num;
	struct pvirtq_desc *desc;
	struct pvirtq_event_suppress *drv_ev, *dev_ev;
	struct pvirtq_desc *pool;
	struct vring_desc_extra extra[PT_MAX_NUM];
	uint8_t bufs[PT_MAX_NUM][PT_BUF];
	struct virtqueue vq;
	struct pt_dev dev;
};

/* One buffer as the scripted device popped it. */
struct pt_buf {
	uint16_t id;
	uint16_t descs; /* ring descriptors it took */
	uint16_t elems; /* elements (in the table, if indirect) */
	uint32_t writable;
	bool indirect;
};

static struct pt *pt_new(uint16_t num, bool event_idx, bool indirect, bool in_order)
{
	struct pt *t = calloc(1, sizeof(*t));
	struct vring_packed_drv_config c;

	assert_non_null(t);
	t->num = num;
	t->desc = aligned_alloc(64, 16u * PT_MAX_NUM);
	t->drv_ev = aligned_alloc(64, 64);
	t->dev_ev = aligned_alloc(64, 64);
	t->pool = aligned_alloc(64, sizeof(struct pvirtq_desc) * PT_MAX_NUM * PT_IMAX);
	assert_non_null(t->desc);
	assert_non_null(t->pool);
	memset(t->desc, 0, 16u * PT_MAX_NUM);
	memset(t->drv_ev, 0xee, 64); /* init must set what the device reads */
	memset(t->dev_ev, 0, 64);
	c = (struct vring_packed_drv_config){
		.num = num,
		.desc = t->desc,
		.driver_event = t->drv_ev,
		.device_event = t->dev_ev,
		.extra = t->extra,
		.indirect_pool = indirect ? t->pool : NULL,
		.indirect_pool_addr = (uint64_t)(uintptr_t)t->pool,
		.indirect_max = indirect ? PT_IMAX : 0,
		.event_idx = event_idx,
		.in_order = in_order,
	};
	assert_int_equal(virtqueue_packed_init(&t->vq, &c), 0);
	t->dev.avail_wrap = true;
	t->dev.used_wrap = true;
	return t;
}

static void pt_free(struct pt *t)
{
	free(t->desc);
	free(t->drv_ev);
	free(t->dev_ev);
	free(t->pool);
	free(t);
}

static uint16_t pt_advance(const struct pt *t, uint16_t pos, uint16_t n, bool *wrap)
{
	uint32_t next = (uint32_t)pos + n;

	if (next >= t->num) {
		next -= t->num;
		*wrap = !*wrap;
	}
	return (uint16_t)next;
}

static bool pt_is_avail(uint16_t flags, bool wrap)
{
	bool a = flags & VIRTQ_DESC_F_AVAIL, u = flags & VIRTQ_DESC_F_USED;

	return a == wrap && u != wrap;
}

/* Device: take the next available buffer, if any (§2.8.6: the list, ID in the last). */
static bool pt_pop(struct pt *t, struct pt_buf *b)
{
	struct pt_dev *d = &t->dev;
	uint16_t pos = d->next_avail, flags;
	bool wrap = d->avail_wrap;

	memset(b, 0, sizeof(*b));
	if (!pt_is_avail(t->desc[pos].flags, wrap))
		return false;
	do {
		const struct pvirtq_desc *x = &t->desc[pos];

		flags = x->flags;
		assert_true(pt_is_avail(flags, wrap));
		b->descs++;
		if (flags & VIRTQ_DESC_F_INDIRECT) {
			const struct pvirtq_desc *tab = (const void *)(uintptr_t)x->addr;

			assert_int_equal(x->len % 16, 0);
			b->indirect = true;
			for (uint32_t k = 0; k < x->len / 16; k++) {
				/* §2.8.8 (R-PR-07): only WRITE in an indirect table */
				assert_int_equal(tab[k].flags & ~VIRTQ_DESC_F_WRITE, 0);
				if (tab[k].flags & VIRTQ_DESC_F_WRITE)
					b->writable += tab[k].len;
				b->elems++;
			}
		} else {
			if (flags & VIRTQ_DESC_F_WRITE)
				b->writable += x->len;
			b->elems++;
		}
		b->id = x->id;
		pos = pt_advance(t, pos, 1, &wrap);
	} while (flags & VIRTQ_DESC_F_NEXT);
	d->next_avail = pos;
	d->avail_wrap = wrap;
	d->chain_len[b->id] = b->descs;
	return true;
}

/* Device: write a used descriptor (raw @flags) at next_used and skip @skip descriptors. */
static void pt_push_raw(struct pt *t, uint16_t id, uint32_t len, uint16_t flags, uint16_t skip)
{
	struct pvirtq_desc *x = &t->desc[t->dev.next_used];

	x->id = id;
	x->len = len;
	__atomic_store_n(&x->flags, flags, __ATOMIC_RELEASE);
	t->dev.next_used = pt_advance(t, t->dev.next_used, skip, &t->dev.used_wrap);
}

static uint16_t pt_used_flags(const struct pt *t, uint32_t len)
{
	uint16_t f = t->dev.used_wrap ? (VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED) : 0;

	return (uint16_t)(f | (len ? VIRTQ_DESC_F_WRITE : 0));
}

/* Device: an honest used descriptor for buffer @id. */
static void pt_push(struct pt *t, uint16_t id, uint32_t len)
{
	pt_push_raw(t, id, len, pt_used_flags(t, len), t->dev.chain_len[id]);
}

static int pt_add_in(struct pt *t, unsigned int i, void *token)
{
	struct virtio_sg sg = {.addr = (uint64_t)(uintptr_t)t->bufs[i % PT_MAX_NUM], .len = PT_BUF};

	return virtqueue_add_inbuf(&t->vq, &sg, 1, token);
}

static void test_init_rejects_bad_config(void **state)
{
	struct pt *t = pt_new(5, false, false, false);
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
	pt_free(t);
}

/*
 * §2.9 (R-PR-03): with NOTIFICATION_DATA the value names the queue and the next descriptor
 * not yet made available: next_off in bits 16-30, next_wrap (the Driver Ring Wrap Counter,
 * 1 at start) in bit 31; past the ring's end the offset restarts and the counter flips.
 */
static void test_notification_data(void **state)
{
	struct pt *t = pt_new(5, false, false, false);
	int tokens[5];
	struct pt_buf b;
	uint32_t len;

	(void)state;
	t->vq.index = 3;
	assert_int_equal(virtqueue_notification_data(&t->vq), 0x80000003u);
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(pt_add_in(t, i, &tokens[i]), 0);
	assert_int_equal(virtqueue_notification_data(&t->vq), 0x80030003u);
	assert_true(virtqueue_kick(&t->vq));
	for (unsigned int i = 0; i < 3; i++) {
		assert_true(pt_pop(t, &b));
		pt_push(t, b.id, 1);
	}
	for (unsigned int i = 0; i < 3; i++)
		assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &tokens[i]);
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(pt_add_in(t, i, &tokens[i]), 0);
	assert_int_equal(virtqueue_notification_data(&t->vq), 0x00010003u);
	pt_free(t);
}

/* A queue of 5: many laps, so both wrap counters flip many times (§2.8.1). */
static void test_wrap_around_non_pow2(void **state)
{
	struct pt *t = pt_new(5, false, false, false);
	int tokens[5];
	struct pt_buf b;
	uint32_t len;

	(void)state;
	for (unsigned int round = 0; round < 40; round++) {
		unsigned int n = 1 + round % 5;

		for (unsigned int i = 0; i < n; i++)
			assert_int_equal(pt_add_in(t, i, &tokens[i]), 0);
		if (n == 5)
			assert_int_equal(pt_add_in(t, 0, &tokens[0]), -ENOSPC);
		/* Nothing exposed before kick_prepare: the head of the batch waits. */
		assert_false(pt_pop(t, &b));
		assert_true(virtqueue_kick(&t->vq));
		for (unsigned int i = 0; i < n; i++) {
			assert_true(pt_pop(t, &b));
			assert_int_equal(b.writable, PT_BUF);
			pt_push(t, b.id, 10 + i);
		}
		assert_false(pt_pop(t, &b));
		for (unsigned int i = 0; i < n; i++) {
			assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &tokens[i]);
			assert_int_equal(len, 10 + i);
		}
		assert_null(virtqueue_get_buf(&t->vq, &len));
		assert_int_equal(virtqueue_get_num_free(&t->vq), 5);
	}
	assert_int_equal(virtqueue_get_vring_size(&t->vq), 5);
	assert_false(virtqueue_is_broken(&t->vq));
	pt_free(t);
}

/* §2.8.6: NEXT on all but the last; WRITE after the readable; head flags stored last. */
static void test_chain_across_the_ring_end(void **state)
{
	struct pt *t = pt_new(6, false, false, false);
	struct virtio_sg sg[3] = {
		{.addr = 0x1000, .len = 16},
		{.addr = 0x2000, .len = 32},
		{.addr = 0x3000, .len = 64},
	};
	int t1, t2;
	struct pt_buf b;
	uint32_t len;

	(void)state;
	/* Move to position 4 first, so the chain covers 4, 5, 0 and wraps. */
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pt_add_in(t, 0, &t1), 0);
		virtqueue_kick(&t->vq);
		assert_true(pt_pop(t, &b));
		pt_push(t, b.id, 0);
		assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &t1);
		assert_int_equal(len, 0);
	}
	assert_int_equal(virtqueue_add_sgs(&t->vq, sg, 2, 1, &t2), 0);
	/* Before the kick: the tail has its flags, the head does not (R-PR-06). */
	assert_false(pt_is_avail(t->desc[4].flags, true));
	assert_int_equal(t->desc[5].flags, VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_NEXT);
	/* Position 0 is in the next lap: wrap counter 0, so USED set, AVAIL clear. */
	assert_int_equal(t->desc[0].flags, VIRTQ_DESC_F_USED | VIRTQ_DESC_F_WRITE);
	virtqueue_kick(&t->vq);
	assert_int_equal(t->desc[4].flags, VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_NEXT);
	assert_int_equal(t->desc[0].len, 64);
	assert_int_equal(t->desc[0].addr, 0x3000);
	assert_true(pt_pop(t, &b));
	assert_int_equal(b.descs, 3);
	assert_int_equal(b.writable, 64);
	assert_int_equal(virtqueue_get_num_free(&t->vq), 3);
	pt_push(t, b.id, 64);
	assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &t2);
	assert_int_equal(len, 64);
	assert_int_equal(virtqueue_get_num_free(&t->vq), 6);
	/* The device's used position skipped the list: the next buffer lands at 1. */
	assert_int_equal(pt_add_in(t, 0, &t1), 0);
	virtqueue_kick(&t->vq);
	assert_true(pt_is_avail(t->desc[1].flags, false));
	pt_free(t);
}

static void test_add_errors(void **state)
{
	struct pt *t = pt_new(3, false, false, false);
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
	pt_free(t);
}

/* §2.8.8: one ring descriptor, INDIRECT, pointing at a table with only WRITE flags. */
static void test_indirect(void **state)
{
	struct pt *t = pt_new(3, false, true, false);
	struct virtio_sg sg[5];
	int tok[4];
	struct pt_buf b;
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
		assert_true(pt_pop(t, &b));
		assert_true(b.indirect);
		assert_int_equal(b.descs, 1);
		assert_int_equal(b.elems, 4);
		assert_int_equal(b.writable, 300);
		pt_push(t, b.id, 300);
	}
	for (int i = 0; i < 3; i++) {
		assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &tok[i]);
		assert_int_equal(len, 300);
	}
	/* Longer than a table: a direct chain; a single element: direct too. */
	assert_int_equal(virtqueue_add_sgs(&t->vq, sg, 2, 3, &tok[3]), -EINVAL);
	assert_int_equal(virtqueue_add_sgs(&t->vq, sg, 1, 0, &tok[3]), 0);
	virtqueue_kick(&t->vq);
	assert_true(pt_pop(t, &b));
	assert_false(b.indirect);
	pt_free(t);
}

/* Without IN_ORDER the device may complete in any order (§2.8 note). */
static void test_out_of_order_completion(void **state)
{
	struct pt *t = pt_new(4, false, false, false);
	struct virtio_sg chain[2] = {{.addr = 0x1000, .len = 8}, {.addr = 0x2000, .len = 8}};
	struct pt_buf a, b, c;
	int ta, tb, tc;
	uint32_t len;

	(void)state;
	assert_int_equal(virtqueue_add_sgs(&t->vq, chain, 1, 1, &ta), 0);
	assert_int_equal(pt_add_in(t, 1, &tb), 0);
	assert_int_equal(pt_add_in(t, 2, &tc), 0);
	virtqueue_kick(&t->vq);
	assert_true(pt_pop(t, &a));
	assert_true(pt_pop(t, &b));
	assert_true(pt_pop(t, &c));
	pt_push(t, c.id, 1);
	pt_push(t, a.id, 8);
	pt_push(t, b.id, 2);
	assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &tc);
	assert_int_equal(len, 1);
	assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &ta);
	assert_int_equal(len, 8);
	assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &tb);
	assert_int_equal(len, 2);
	assert_int_equal(virtqueue_get_num_free(&t->vq), 4);
	assert_false(virtqueue_is_broken(&t->vq));
	pt_free(t);
}

/* §2.8.5: a used descriptor without WRITE has a reserved length: the driver reports 0. */
static void test_len_without_write_flag_is_zero(void **state)
{
	struct pt *t = pt_new(4, false, false, false);
	struct pt_buf b;
	int tok;
	uint32_t len = 99;

	(void)state;
	assert_int_equal(pt_add_in(t, 0, &tok), 0);
	virtqueue_kick(&t->vq);
	assert_true(pt_pop(t, &b));
	pt_push_raw(t, b.id, 5000, pt_used_flags(t, 0), 1);
	assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &tok);
	assert_int_equal(len, 0);
	pt_free(t);
}

/* QEMU's packed used descriptors carry the length without WRITE: one within bounds counts. */
static void test_len_without_write_flag_within_bounds(void **state)
{
	struct pt *t = pt_new(4, false, false, false);
	struct pt_buf b;
	int tok;
	uint32_t len = 99;

	(void)state;
	assert_int_equal(pt_add_in(t, 0, &tok), 0);
	virtqueue_kick(&t->vq);
	assert_true(pt_pop(t, &b));
	pt_push_raw(t, b.id, 1, pt_used_flags(t, 0), 1);
	assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &tok);
	assert_int_equal(len, 1);
	assert_false(virtqueue_is_broken(&t->vq));
	pt_free(t);
}

/* Add one buffer and kick; Return: whether the driver says the device wants a kick. */
static bool pt_add_kick(struct pt *t, int *tok)
{
	assert_int_equal(pt_add_in(t, 0, tok), 0);
	return virtqueue_kick_prepare(&t->vq);
}

/* Device: take and complete everything, driver: collect it. */
static void pt_drain(struct pt *t)
{
	struct pt_buf b;
	uint32_t len;

	while (pt_pop(t, &b))
		pt_push(t, b.id, 0);
	while (virtqueue_get_buf(&t->vq, &len))
		;
	assert_false(virtqueue_is_broken(&t->vq));
}

/* §2.8.10: the device event suppression structure decides the kick. */
static void test_kick_device_event_flags(void **state)
{
	struct pt *t = pt_new(5, false, false, false);
	int tok;

	(void)state;
	assert_false(virtqueue_kick_prepare(&t->vq)); /* nothing added */
	t->dev_ev->flags = RING_EVENT_FLAGS_ENABLE;
	assert_true(pt_add_kick(t, &tok));
	t->dev_ev->flags = RING_EVENT_FLAGS_DISABLE;
	assert_false(pt_add_kick(t, &tok));
	/* DESC is only valid with EVENT_IDX: without it, a kick. */
	t->dev_ev->flags = RING_EVENT_FLAGS_DESC;
	t->dev_ev->off_wrap = 4;
	assert_true(pt_add_kick(t, &tok));
	/* The reserved value kicks (safe side). */
	t->dev_ev->flags = 3;
	assert_true(pt_add_kick(t, &tok));
	pt_free(t);
}

static uint16_t pt_off_wrap(uint16_t off, bool wrap)
{
	return (uint16_t)(off | (wrap ? 0x8000u : 0));
}

/* §2.8.10 with EVENT_IDX: a kick when the published range covers off_wrap, also across the wrap. */
static void test_kick_device_event_desc_at_wrap(void **state)
{
	struct pt *t = pt_new(5, true, false, false);
	int tok[5];

	(void)state;
	t->dev_ev->flags = RING_EVENT_FLAGS_DESC;
	/* Event at descriptor 2 of lap 1: publishing 0..1 does not reach it, 2 does. */
	t->dev_ev->off_wrap = pt_off_wrap(2, true);
	assert_false(pt_add_kick(t, &tok[0]));
	assert_false(pt_add_kick(t, &tok[1]));
	assert_true(pt_add_kick(t, &tok[2]));
	/* Published 3, 4 then wrap to lap 0: an event at 1 of lap 0 is not reached by 3..4. */
	t->dev_ev->off_wrap = pt_off_wrap(1, false);
	pt_drain(t);
	assert_false(pt_add_kick(t, &tok[3]));
	assert_false(pt_add_kick(t, &tok[4]));
	pt_drain(t);
	/* A batch 0, 1 of lap 0 (the ring wrapped) covers it. */
	assert_int_equal(pt_add_in(t, 0, &tok[0]), 0);
	assert_int_equal(pt_add_in(t, 0, &tok[1]), 0);
	assert_true(virtqueue_kick_prepare(&t->vq));
	pt_drain(t);
	/* A batch crossing the ring end (2, 3, 4 of lap 0, 0 of lap 1) covers 4 of lap 0. */
	t->dev_ev->off_wrap = pt_off_wrap(4, false);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pt_add_in(t, 0, &tok[i]), 0);
	assert_true(virtqueue_kick_prepare(&t->vq));
	pt_drain(t);
	/* An event behind the batch (position 0 of lap 0, already passed) is not crossed. */
	t->dev_ev->off_wrap = pt_off_wrap(0, false);
	assert_false(pt_add_kick(t, &tok[0]));
	pt_free(t);
}

/* §2.8.10: disable_cb writes DISABLE; enable_cb ENABLE (no EVENT_IDX). */
static void test_driver_event_enable_disable(void **state)
{
	struct pt *t = pt_new(4, false, false, false);
	struct pt_buf b;
	int tok;

	(void)state;
	virtqueue_disable_cb(&t->vq);
	assert_int_equal(t->drv_ev->flags, RING_EVENT_FLAGS_DISABLE);
	assert_true(virtqueue_enable_cb(&t->vq));
	assert_int_equal(t->drv_ev->flags, RING_EVENT_FLAGS_ENABLE);
	/* A used buffer pending: enable_cb says so (no signal may come for it). */
	assert_int_equal(pt_add_in(t, 0, &tok), 0);
	virtqueue_kick(&t->vq);
	assert_true(pt_pop(t, &b));
	pt_push(t, b.id, 0);
	virtqueue_disable_cb(&t->vq);
	assert_true(virtqueue_more_used(&t->vq));
	assert_false(virtqueue_enable_cb(&t->vq));
	assert_false(virtqueue_enable_cb_delayed(&t->vq));
	pt_free(t);
}

/* §2.8.10 with EVENT_IDX: enable_cb asks for the next used descriptor (DESC, off_wrap). */
static void test_driver_event_desc_at_wrap(void **state)
{
	struct pt *t = pt_new(5, true, false, false);
	int tok[5];
	uint32_t len;

	(void)state;
	assert_true(virtqueue_enable_cb(&t->vq));
	assert_int_equal(t->drv_ev->flags, RING_EVENT_FLAGS_DESC);
	assert_int_equal(t->drv_ev->off_wrap, pt_off_wrap(0, true));
	/* Consume 4, then enable: position 4 of lap 1. */
	for (int i = 0; i < 4; i++)
		pt_add_in(t, 0, &tok[i]);
	virtqueue_kick(&t->vq);
	pt_drain(t);
	assert_true(virtqueue_enable_cb(&t->vq));
	assert_int_equal(t->drv_ev->off_wrap, pt_off_wrap(4, true));
	/* One more: next_used wraps to 0 of lap 0. */
	pt_add_in(t, 0, &tok[0]);
	virtqueue_kick(&t->vq);
	pt_drain(t);
	assert_true(virtqueue_enable_cb(&t->vq));
	assert_int_equal(t->drv_ev->off_wrap, pt_off_wrap(0, false));
	/* Delayed with 4 in flight from 0 of lap 0: 3 ahead. */
	for (int i = 0; i < 4; i++)
		pt_add_in(t, 0, &tok[i]);
	virtqueue_kick(&t->vq);
	assert_true(virtqueue_enable_cb_delayed(&t->vq));
	assert_int_equal(t->drv_ev->off_wrap, pt_off_wrap(3, false));
	pt_drain(t);
	/* Now at 4 of lap 0, 4 in flight: 3 ahead wraps to 2 of lap 1. */
	for (int i = 0; i < 4; i++)
		pt_add_in(t, 0, &tok[i]);
	virtqueue_kick(&t->vq);
	assert_true(virtqueue_enable_cb_delayed(&t->vq));
	assert_int_equal(t->drv_ev->off_wrap, pt_off_wrap(2, true));
	virtqueue_disable_cb(&t->vq);
	assert_int_equal(t->drv_ev->flags, RING_EVENT_FLAGS_DISABLE);
	/* get_buf finding nothing with callbacks on moves off_wrap to where it is. */
	pt_drain(t);
	assert_true(virtqueue_enable_cb(&t->vq));
	t->drv_ev->off_wrap = 0x7777;
	assert_null(virtqueue_get_buf(&t->vq, &len));
	assert_int_equal(t->drv_ev->off_wrap, pt_off_wrap(3, true));
	pt_free(t);
}

static void test_detach_unused(void **state)
{
	struct pt *t = pt_new(4, false, false, false);
	int tok[3];
	int found = 0;
	void *x;

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(pt_add_in(t, 0, &tok[i]), 0);
	virtqueue_kick(&t->vq);
	while ((x = virtqueue_detach_unused_buf(&t->vq)) != NULL)
		found += x == &tok[0] || x == &tok[1] || x == &tok[2];
	assert_int_equal(found, 3);
	assert_int_equal(virtqueue_get_num_free(&t->vq), 4);
	pt_free(t);
}

/* IN_ORDER (§2.8.9): one used descriptor with the batch's last ID; the rest count as fully used. */
static void test_in_order_batches(void **state)
{
	struct pt *t = pt_new(7, false, false, true);
	struct virtio_sg chain[2] = {{.addr = 0x1000, .len = 8}, {.addr = 0x2000, .len = 30}};
	int tok[4];
	struct pt_buf b[4];
	uint32_t len;

	(void)state;
	for (unsigned int round = 0; round < 20; round++) {
		/* A chain of 2 then three single buffers: 5 descriptors of 7, across the wrap. */
		assert_int_equal(virtqueue_add_sgs(&t->vq, chain, 1, 1, &tok[0]), 0);
		for (unsigned int i = 1; i < 4; i++)
			assert_int_equal(pt_add_in(t, i, &tok[i]), 0);
		virtqueue_kick(&t->vq);
		for (unsigned int i = 0; i < 4; i++)
			assert_true(pt_pop(t, &b[i]));
		if (round % 2) {
			/* The batch of the first three by the third's ID, then the fourth alone. */
			pt_push_raw(t, b[2].id, 7, pt_used_flags(t, 7),
				    (uint16_t)(b[0].descs + b[1].descs + b[2].descs));
			pt_push(t, b[3].id, 9);
		} else {
			/* The whole batch by the last ID. */
			pt_push_raw(t, b[3].id, 9, pt_used_flags(t, 9), 5);
		}
		assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &tok[0]);
		assert_int_equal(len, 30);
		assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &tok[1]);
		assert_int_equal(len, PT_BUF);
		assert_true(virtqueue_more_used(&t->vq));
		assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &tok[2]);
		assert_int_equal(len, round % 2 ? 7 : PT_BUF);
		assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &tok[3]);
		assert_int_equal(len, 9);
		assert_null(virtqueue_get_buf(&t->vq, &len));
		assert_int_equal(virtqueue_get_num_free(&t->vq), 7);
	}
	assert_false(virtqueue_is_broken(&t->vq));
	pt_free(t);
}

/* Every later call fails once the device broke the protocol. */
static void pt_assert_broken(struct pt *t)
{
	int tok;
	uint32_t len;

	assert_true(virtqueue_is_broken(&t->vq));
	assert_int_equal(pt_add_in(t, 0, &tok), -EIO);
	assert_null(virtqueue_get_buf(&t->vq, &len));
	assert_false(virtqueue_more_used(&t->vq));
	assert_false(virtqueue_kick_prepare(&t->vq));
	assert_false(virtqueue_notify(&t->vq));
}

enum pt_hostile {
	PT_ID_RANGE,
	PT_ID_NOT_IN_FLIGHT,
	PT_ID_REUSED,
	PT_LEN_OVER,
	PT_USED_WITHOUT_AVAIL,
	PT_WRONG_WRAP,
	PT_USED_NOTHING_EXPOSED,
	PT_IN_ORDER_BEHIND,
	PT_IN_ORDER_NOT_A_HEAD,
	PT_IN_ORDER_NOT_EXPOSED,
};

/* Three buffers in flight (a chain of 2, then two), then one hostile used descriptor. */
static void pt_hostile(enum pt_hostile kind)
{
	bool in_order = kind >= PT_IN_ORDER_BEHIND;
	struct pt *t = pt_new(5, false, false, in_order);
	struct virtio_sg chain[2] = {{.addr = 0x1000, .len = 8}, {.addr = 0x2000, .len = 8}};
	uint16_t used = pt_used_flags(t, 4);
	int ta, tb, tc;
	struct pt_buf a, b, c;
	uint32_t len;

	if (kind == PT_USED_NOTHING_EXPOSED) {
		/* §2.8.1: a used descriptor for a buffer added but not yet exposed (no kick) */
		assert_int_equal(pt_add_in(t, 0, &ta), 0);
		pt_push_raw(t, 0, 0, used, 1);
		assert_true(virtqueue_more_used(&t->vq));
		assert_null(virtqueue_get_buf(&t->vq, &len));
		pt_assert_broken(t);
		pt_free(t);
		return;
	}
	assert_int_equal(virtqueue_add_sgs(&t->vq, chain, 1, 1, &ta), 0);
	assert_int_equal(pt_add_in(t, 1, &tb), 0);
	assert_int_equal(pt_add_in(t, 2, &tc), 0);
	virtqueue_kick(&t->vq);
	assert_true(pt_pop(t, &a));
	assert_true(pt_pop(t, &b));
	assert_true(pt_pop(t, &c));
	switch (kind) {
	case PT_ID_RANGE: /* §2.8.3: ID beyond the queue size */
		pt_push_raw(t, 5, 4, used, 1);
		break;
	case PT_ID_NOT_IN_FLIGHT: /* an ID never posted */
		pt_push_raw(t, 3, 4, used, 1);
		break;
	case PT_ID_REUSED: /* the same buffer given back twice */
		pt_push(t, b.id, 4);
		assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &tb);
		pt_push_raw(t, b.id, 4, pt_used_flags(t, 4), 1);
		break;
	case PT_LEN_OVER: /* D-SR-11's packed twin: len above the writable bytes */
		pt_push_raw(t, a.id, 9, used, 2);
		break;
	case PT_USED_WITHOUT_AVAIL: /* §2.8.1: used means AVAIL == USED */
		pt_push_raw(t, a.id, 4, (uint16_t)(VIRTQ_DESC_F_USED | VIRTQ_DESC_F_WRITE), 2);
		break;
	case PT_WRONG_WRAP: /* AVAIL == USED but with the other lap's value */
		pt_push_raw(t, a.id, 4, VIRTQ_DESC_F_WRITE, 2);
		break;
	case PT_IN_ORDER_BEHIND: /* IN_ORDER: a batch up to the second buffer, then the first again */
		pt_push_raw(t, b.id, 4, used, (uint16_t)(a.descs + b.descs));
		assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &ta);
		assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &tb);
		pt_push_raw(t, a.id, 4, pt_used_flags(t, 4), 2);
		break;
	case PT_IN_ORDER_NOT_A_HEAD: /* IN_ORDER: the ID of the chain's second descriptor */
		pt_push_raw(t, 1, 4, used, 2);
		(void)c;
		(void)tc;
		break;
	case PT_IN_ORDER_NOT_EXPOSED: /* IN_ORDER: a batch ending at a buffer not yet exposed */
		assert_int_equal(pt_add_in(t, 3, &tc), 0);
		pt_push_raw(t, 4, 4, used, 5);
		break;
	case PT_USED_NOTHING_EXPOSED:
		break;
	}
	assert_null(virtqueue_get_buf(&t->vq, &len));
	pt_assert_broken(t);
	pt_free(t);
}

static void test_hostile_id_out_of_range(void **state)
{
	(void)state;
	pt_hostile(PT_ID_RANGE);
}

static void test_hostile_id_not_in_flight(void **state)
{
	(void)state;
	pt_hostile(PT_ID_NOT_IN_FLIGHT);
}

static void test_hostile_id_reused(void **state)
{
	(void)state;
	pt_hostile(PT_ID_REUSED);
}

static void test_hostile_len_beyond_posted(void **state)
{
	(void)state;
	pt_hostile(PT_LEN_OVER);
}

static void test_hostile_used_without_avail(void **state)
{
	(void)state;
	pt_hostile(PT_USED_WITHOUT_AVAIL);
}

static void test_hostile_flags_wrong_wrap(void **state)
{
	(void)state;
	pt_hostile(PT_WRONG_WRAP);
}

static void test_hostile_used_nothing_exposed(void **state)
{
	(void)state;
	pt_hostile(PT_USED_NOTHING_EXPOSED);
}

static void test_hostile_in_order_out_of_order(void **state)
{
	(void)state;
	pt_hostile(PT_IN_ORDER_BEHIND);
}

static void test_hostile_in_order_not_a_head(void **state)
{
	(void)state;
	pt_hostile(PT_IN_ORDER_NOT_A_HEAD);
}

static void test_hostile_in_order_not_exposed(void **state)
{
	(void)state;
	pt_hostile(PT_IN_ORDER_NOT_EXPOSED);
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
		cmocka_unit_test(test_hostile_id_out_of_range),
		cmocka_unit_test(test_hostile_id_not_in_flight),
		cmocka_unit_test(test_hostile_id_reused),
		cmocka_unit_test(test_hostile_len_beyond_posted),
		cmocka_unit_test(test_hostile_used_without_avail),
		cmocka_unit_test(test_hostile_flags_wrong_wrap),
		cmocka_unit_test(test_hostile_used_nothing_exposed),
		cmocka_unit_test(test_hostile_in_order_out_of_order),
		cmocka_unit_test(test_hostile_in_order_not_a_head),
		cmocka_unit_test(test_hostile_in_order_not_exposed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
