// SPDX-License-Identifier: MIT
/* Unit tests for ring/split_device.c and ring/chain.c: the device side of a split ring. */
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

#include <vireo/guest_mem.h>
#include <vireo/spec.h>
#include <vireo/virtqueue.h>
#include <vireo/vring.h>

#include "tests/lib/ring_fixture.h"

static void expect_geometry(struct ring_fixture *f, struct vring_split_dev_config *vc)
{
	struct vring_split_dev q;

	assert_int_equal(vring_split_dev_init(&q, vc), -EINVAL);
	assert_int_equal(vring_split_dev_error(&q), VRING_ERR_GEOMETRY);
	assert_true(vring_split_dev_is_broken(&q));
	assert_int_equal(vring_split_dev_pop(&q, NULL, NULL, 0), -EIO);
	*vc = ring_fixture_dev_config(f);
}

/* Checklist item 1: geometry validated once at init. */
static void test_init_geometry(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);
	struct vring_split_dev_config vc = ring_fixture_dev_config(f);
	struct vring_split_dev q;

	(void)state;
	assert_int_equal(vring_split_dev_init(&q, &vc), 0);
	vc.num = 0;
	expect_geometry(f, &vc);
	vc.num = 6;
	expect_geometry(f, &vc);
	vc.max_num = 4; /* size above the device maximum */
	expect_geometry(f, &vc);
	vc.max_num = 65535;
	expect_geometry(f, &vc);
	vc.desc_addr += 8; /* §2.7 alignment 16/2/4 */
	expect_geometry(f, &vc);
	vc.avail_addr += 1;
	expect_geometry(f, &vc);
	vc.used_addr += 2;
	expect_geometry(f, &vc);
	vc.desc_addr = RING_FIXTURE_GPA - 4096; /* outside guest memory */
	expect_geometry(f, &vc);
	vc.used_addr = RING_FIXTURE_GPA + f->mem_len - 16; /* sticks out of the region */
	expect_geometry(f, &vc);
	vc.avail_addr = UINT64_MAX - 1; /* wraps */
	expect_geometry(f, &vc);
	vc.state = (uint8_t *)f->state + 4;
	expect_geometry(f, &vc);
	vc.mem.translate = NULL;
	expect_geometry(f, &vc);
	assert_int_equal(vring_split_dev_init(&q, NULL), -EINVAL);
	ring_fixture_free(f);
}

/* A ring part straddling two guest regions is refused (must be in ONE region). */
static void test_init_part_across_regions(void **state)
{
	struct ring_fixture *f = ring_fixture_new(64, false, false, 4096);
	struct vring_split_dev_config vc = ring_fixture_dev_config(f);
	struct vring_split_dev q;

	(void)state;
	assert_true(f->used_gpa + virtq_used_size(64) <= RING_FIXTURE_GPA + 4096);
	vc.desc_addr = RING_FIXTURE_GPA + 4096 - 512; /* 1 KiB table across the boundary */
	assert_int_equal(vring_split_dev_init(&q, &vc), -EINVAL);
	assert_int_equal(vring_split_dev_error(&q), VRING_ERR_GEOMETRY);
	vc.desc_addr = RING_FIXTURE_GPA + 4096; /* wholly in region 1: fine */
	assert_int_equal(vring_split_dev_init(&q, &vc), 0);
	ring_fixture_free(f);
}

static void test_pop_empty_and_basic(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);
	struct vring_iov iov[4];
	struct vring_chain c;

	(void)state;
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 4), -EAGAIN);
	assert_false(vring_split_dev_has_avail(&f->dev));
	ring_fixture_set_desc(f, 5, ring_fixture_buf(f, 0), 16, VIRTQ_DESC_F_NEXT, 2);
	ring_fixture_set_desc(f, 2, ring_fixture_buf(f, 1), 100, VIRTQ_DESC_F_WRITE, 0);
	ring_fixture_offer(f, 5);
	assert_true(vring_split_dev_has_avail(&f->dev));
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 4), 0);
	assert_int_equal(c.head, 5);
	assert_int_equal(c.readable, 1);
	assert_int_equal(c.writable, 1);
	assert_int_equal(c.readable_bytes, 16);
	assert_int_equal(c.writable_bytes, 100);
	assert_ptr_equal(iov[0].base, ring_fixture_host(f, ring_fixture_buf(f, 0)));
	assert_int_equal(iov[0].len, 16);
	assert_ptr_equal(iov[1].base, ring_fixture_host(f, ring_fixture_buf(f, 1)));
	assert_int_equal(iov[1].len, 100);
	assert_int_equal(vring_split_dev_in_flight(&f->dev), 1);
	assert_int_equal(vring_split_dev_get_last_avail(&f->dev), 1);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 4), -EAGAIN);
	/* Push: visible only at flush (one used->idx store). */
	assert_int_equal(vring_split_dev_push(&f->dev, 5, 50), 0);
	assert_int_equal(f->used->idx, 0);
	assert_int_equal(f->used->ring[0].id, 5);
	assert_int_equal(f->used->ring[0].len, 50);
	vring_split_dev_flush(&f->dev);
	assert_int_equal(f->used->idx, 1);
	assert_int_equal(vring_split_dev_in_flight(&f->dev), 0);
	ring_fixture_free(f);
}

/* Checklist item 4: a buffer across two regions becomes two iov entries. */
static void test_pop_split_across_regions(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 8192);
	struct vring_iov iov[4];
	struct vring_chain c;
	uint64_t gpa = RING_FIXTURE_GPA + 8192 - 100;

	(void)state;
	assert_true(f->bufs_gpa + 8 * RING_FIXTURE_BUF <= RING_FIXTURE_GPA + 8192);
	ring_fixture_set_desc(f, 0, gpa, 300, VIRTQ_DESC_F_WRITE, 0);
	ring_fixture_offer(f, 0);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 4), 0);
	assert_int_equal(c.writable, 2);
	assert_int_equal(c.writable_bytes, 300);
	assert_ptr_equal(iov[0].base, f->mem + 8192 - 100);
	assert_int_equal(iov[0].len, 100);
	assert_ptr_equal(iov[1].base, f->mem2);
	assert_int_equal(iov[1].len, 200);
	/* Not enough iov entries for the split: IOV_CAPACITY. */
	ring_fixture_offer(f, 1);
	ring_fixture_set_desc(f, 1, gpa, 300, 0, 0);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 1), -EPROTO);
	assert_int_equal(vring_split_dev_error(&f->dev), VRING_ERR_IOV_CAPACITY);
	ring_fixture_free(f);
}

/* Zero-length descriptors: allowed, no iov entry, never translated. */
static void test_pop_zero_length(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);
	struct vring_iov iov[4];
	struct vring_chain c;

	(void)state;
	ring_fixture_set_desc(f, 0, 0xdead0000000ull, 0, VIRTQ_DESC_F_NEXT, 1);
	ring_fixture_set_desc(f, 1, ring_fixture_buf(f, 1), 8,
			      VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	ring_fixture_set_desc(f, 2, 0, 0, VIRTQ_DESC_F_WRITE, 0);
	ring_fixture_offer(f, 0);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 4), 0);
	assert_int_equal(c.readable, 0);
	assert_int_equal(c.writable, 1);
	assert_int_equal(c.writable_bytes, 8);
	ring_fixture_free(f);
}

/* D-SR-04/05: direct descriptors then one indirect; WRITE on it is ignored. */
static void test_pop_mixed_indirect(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, true, 0);
	struct vring_iov iov[8];
	struct vring_chain c;
	struct virtq_desc *tab = f->pool;

	(void)state;
	tab[0] = (struct virtq_desc){ring_fixture_buf(f, 2), 32, VIRTQ_DESC_F_NEXT, 2};
	tab[2] = (struct virtq_desc){ring_fixture_buf(f, 3), 64,
				     VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1};
	tab[1] = (struct virtq_desc){ring_fixture_buf(f, 4), 8, VIRTQ_DESC_F_WRITE, 0};
	ring_fixture_set_desc(f, 3, ring_fixture_buf(f, 1), 16, VIRTQ_DESC_F_NEXT, 6);
	ring_fixture_set_desc(f, 6, f->pool_gpa, 3 * 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE,
			      0);
	ring_fixture_offer(f, 3);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 8), 0);
	assert_int_equal(c.head, 3);
	assert_int_equal(c.readable, 2);
	assert_int_equal(c.writable, 2);
	assert_int_equal(c.readable_bytes, 48);
	assert_int_equal(c.writable_bytes, 72);
	assert_ptr_equal(iov[1].base, ring_fixture_host(f, ring_fixture_buf(f, 2)));
	assert_ptr_equal(iov[3].base, ring_fixture_host(f, ring_fixture_buf(f, 4)));
	assert_int_equal(vring_split_dev_push(&f->dev, 3, 72), 0);
	ring_fixture_free(f);
}

/* An indirect table at an address that is not 8-aligned is read bytewise. */
static void test_pop_unaligned_indirect(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, true, 0);
	struct vring_iov iov[4];
	struct vring_chain c;
	struct virtq_desc d = {ring_fixture_buf(f, 1), 24, VIRTQ_DESC_F_WRITE, 0};
	uint64_t gpa = f->pool_gpa + 3;

	(void)state;
	memcpy(ring_fixture_host(f, gpa), &d, sizeof(d));
	ring_fixture_set_desc(f, 0, gpa, 16, VIRTQ_DESC_F_INDIRECT, 0);
	ring_fixture_offer(f, 0);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 4), 0);
	assert_int_equal(c.writable_bytes, 24);
	assert_ptr_equal(iov[0].base, ring_fixture_host(f, ring_fixture_buf(f, 1)));
	ring_fixture_free(f);
}

/* §2.7.7.2 without EVENT_IDX: flags decide, used_event ignored (D-SR-06/07). */
static void test_need_notify_flags(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);
	struct vring_iov iov[2];
	struct vring_chain c;

	(void)state;
	assert_false(vring_split_dev_need_notify(&f->dev)); /* nothing used */
	f->avail->ring[8] = 77;				    /* used_event: garbage, ignored */
	for (uint16_t i = 0; i < 4; i++) {
		ring_fixture_set_desc(f, i, ring_fixture_buf(f, i), 8, VIRTQ_DESC_F_WRITE, 0);
		ring_fixture_offer(f, i);
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 2), 0);
		assert_int_equal(vring_split_dev_push(&f->dev, c.head, 0), 0);
		vring_split_dev_flush(&f->dev);
		assert_true(vring_split_dev_need_notify(&f->dev));
		assert_false(vring_split_dev_need_notify(&f->dev)); /* nothing new */
	}
	f->avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 2), 0);
	assert_int_equal(vring_split_dev_push(&f->dev, c.head, 0), 0);
	vring_split_dev_flush(&f->dev);
	assert_false(vring_split_dev_need_notify(&f->dev));
	ring_fixture_free(f);
}

/* One used entry per call through the device; returns need_notify. */
static bool complete_one(struct ring_fixture *f)
{
	struct vring_iov iov[2];
	struct vring_chain c;
	uint16_t head = (uint16_t)(f->avail->idx % f->num);

	ring_fixture_set_desc(f, head, ring_fixture_buf(f, head), 8, VIRTQ_DESC_F_WRITE, 0);
	ring_fixture_offer(f, head);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 2), 0);
	assert_int_equal(vring_split_dev_push(&f->dev, c.head, 0), 0);
	vring_split_dev_flush(&f->dev);
	return vring_split_dev_need_notify(&f->dev);
}

/* Heads 0..2 offered, popped, returned in one push burst (nothing written) and flushed. */
static void push_burst_of_three(struct ring_fixture *f)
{
	struct vring_iov iov[2];
	struct vring_chain c;
	uint16_t heads[3];

	for (int i = 0; i < 3; i++) {
		uint16_t head = (uint16_t)i;

		ring_fixture_set_desc(f, head, ring_fixture_buf(f, head), 8, VIRTQ_DESC_F_WRITE, 0);
		ring_fixture_offer(f, head);
		assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 2), 0);
		heads[i] = c.head;
	}
	assert_int_equal(vring_split_dev_push_burst(&f->dev, heads, NULL, 3), 0);
	vring_split_dev_flush(&f->dev);
}

/* D-SR-08/09: with EVENT_IDX exactly one notification, when used idx passes used_event. */
static void test_need_notify_event_idx(void **state)
{
	struct ring_fixture *f = ring_fixture_new(4, true, false, 0);
	le16 *used_event = &f->avail->ring[4];

	(void)state;
	f->avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT; /* ignored with EVENT_IDX */
	*used_event = 2;
	/* The first decision after init notifies whatever used_event says (issue 9 §7a). */
	assert_true(complete_one(f));  /* used idx 1 */
	assert_false(complete_one(f)); /* 2 */
	assert_true(complete_one(f));  /* 3: entry 2 written */
	assert_false(complete_one(f));
	/* Around the wrap: used_event 65535 fires exactly once, at 65535 -> 0. */
	*used_event = 1;
	unsigned int fired = 0;
	while (f->dev.used_idx != 65533) {
		if (complete_one(f))
			fired++;
	}
	assert_int_equal(fired, 0);
	*used_event = 65535;
	assert_false(complete_one(f)); /* 65534 */
	assert_false(complete_one(f)); /* 65535 */
	assert_true(complete_one(f));  /* 0 */
	assert_int_equal(f->used->idx, 0);
	assert_false(complete_one(f));
	/* Batched: one push burst and flush whose middle entry is used_event fires once. */
	*used_event = 2;
	push_burst_of_three(f);
	assert_int_equal(f->used->idx, 4);
	assert_true(vring_split_dev_need_notify(&f->dev));
	assert_false(vring_split_dev_need_notify(&f->dev));
	/* used_event just past the burst: not crossed. */
	*used_event = 7;
	push_burst_of_three(f);
	assert_int_equal(f->used->idx, 7);
	assert_false(vring_split_dev_need_notify(&f->dev));
	ring_fixture_free(f);
}

/*
 * Issue 9 §7a (§2.7.7.2, D-SR-08): a used entry published by a ring that then
 * stopped before deciding to notify (a back-end restarted between flush and
 * signal) must still reach the driver: the restarted ring's first decision
 * ignores the old used_event, as vhost, QEMU and DPDK do.
 */
static void test_restart_first_notify(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, true, false, 0);
	struct vring_split_dev_config vc = ring_fixture_dev_config(f);
	struct vring_iov iov[2];
	struct vring_chain c;

	(void)state;
	f->avail->ring[8] = 0; /* used_event: wake me when entry 0 is used */
	ring_fixture_set_desc(f, 0, ring_fixture_buf(f, 0), 8, VIRTQ_DESC_F_WRITE, 0);
	ring_fixture_offer(f, 0);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 2), 0);
	assert_int_equal(vring_split_dev_push(&f->dev, c.head, 0), 0);
	vring_split_dev_flush(&f->dev); /* ...and the back-end goes before the signal */
	vc.last_avail_idx = 1;
	assert_int_equal(vring_split_dev_init(&f->dev, &vc), 0);
	assert_false(vring_split_dev_need_notify(&f->dev)); /* nothing new yet */
	assert_true(complete_one(f));			    /* used idx 2: notify */
	assert_false(complete_one(f));			    /* 3: used_event 0 is past */
	ring_fixture_free(f);
}

/*
 * Issue 9 §7b (§2.7.10, D-SR-12/13): a restarted ring wants kicks. used.flags
 * left at NO_NOTIFY by a polling user, or an avail_event far behind, would
 * keep the driver from ever kicking it: init writes both.
 */
static void test_restart_kick_state(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);
	struct ring_fixture *e = ring_fixture_new(8, true, false, 0);
	struct vring_split_dev_config vc = ring_fixture_dev_config(f);
	struct vring_split_dev_config vce = ring_fixture_dev_config(e);
	le16 *avail_event = ring_fixture_avail_event(e);

	(void)state;
	vring_split_dev_disable_notify(&f->dev); /* e.g. serve net --poll */
	assert_int_equal(f->used->flags, VIRTQ_USED_F_NO_NOTIFY);
	assert_int_equal(vring_split_dev_init(&f->dev, &vc), 0);
	assert_int_equal(f->used->flags, 0);
	*avail_event = 1234;
	e->used->flags = VIRTQ_USED_F_NO_NOTIFY; /* never set with EVENT_IDX: cleared too */
	vce.last_avail_idx = 5;
	assert_int_equal(vring_split_dev_init(&e->dev, &vce), 0);
	assert_int_equal(*avail_event, 5);
	assert_int_equal(e->used->flags, 0);
	ring_fixture_free(f);
	ring_fixture_free(e);
}

/* D-SR-12/13: used.flags 0/1 without EVENT_IDX, always 0 with it; avail_event after pops. */
static void test_enable_disable_notify(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);
	struct ring_fixture *e = ring_fixture_new(8, true, false, 0);
	le16 *avail_event = ring_fixture_avail_event(e);

	(void)state;
	vring_split_dev_disable_notify(&f->dev);
	assert_int_equal(f->used->flags, VIRTQ_USED_F_NO_NOTIFY);
	assert_false(vring_split_dev_enable_notify(&f->dev));
	assert_int_equal(f->used->flags, 0);
	ring_fixture_set_desc(f, 0, ring_fixture_buf(f, 0), 8, 0, 0);
	ring_fixture_offer(f, 0);
	vring_split_dev_disable_notify(&f->dev);
	assert_true(vring_split_dev_enable_notify(&f->dev)); /* came meanwhile */

	vring_split_dev_disable_notify(&e->dev);
	assert_int_equal(e->used->flags, 0);
	complete_one(e);
	assert_int_equal(*avail_event, 0); /* disabled: not moved */
	assert_false(vring_split_dev_enable_notify(&e->dev));
	assert_int_equal(*avail_event, 1);
	complete_one(e);
	assert_int_equal(*avail_event, 2); /* written after the pop */
	assert_int_equal(e->used->flags, 0);
	ring_fixture_free(f);
	ring_fixture_free(e);
}

static void test_set_last_avail(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);
	struct vring_iov iov[2];
	struct vring_chain c;

	(void)state;
	for (uint16_t i = 0; i < 3; i++) {
		ring_fixture_set_desc(f, i, ring_fixture_buf(f, i), 8, 0, 0);
		ring_fixture_offer(f, i);
	}
	vring_split_dev_set_last_avail(&f->dev, 2);
	assert_int_equal(vring_split_dev_get_last_avail(&f->dev), 2);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 2), 0);
	assert_int_equal(c.head, 2);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 2), -EAGAIN);
	/* A re-init resumes at the ring's used idx and the given last_avail. */
	f->used->idx = 40;
	struct vring_split_dev_config vc = ring_fixture_dev_config(f);
	vc.last_avail_idx = 3;
	assert_int_equal(vring_split_dev_init(&f->dev, &vc), 0);
	assert_int_equal(vring_split_dev_get_last_avail(&f->dev), 3);
	assert_int_equal(vring_split_dev_in_flight(&f->dev), 0);
	ring_fixture_free(f);
}

/* Unpop gives chains back in LIFO order; they pop again, re-walked; used ring untouched. */
static void test_unpop(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, true, false, 0);
	struct vring_iov iov[2];
	struct vring_chain a, b, c;

	(void)state;
	for (uint16_t i = 0; i < 2; i++) {
		ring_fixture_set_desc(f, i, ring_fixture_buf(f, i), 64, VIRTQ_DESC_F_WRITE, 0);
		ring_fixture_offer(f, i);
	}
	assert_int_equal(vring_split_dev_unpop(&f->dev, 0), -EINVAL); /* nothing popped */
	assert_int_equal(vring_split_dev_pop(&f->dev, &a, iov, 2), 0);
	assert_int_equal(vring_split_dev_pop(&f->dev, &b, iov, 2), 0);
	assert_int_equal(*ring_fixture_avail_event(f), 2);
	assert_int_equal(vring_split_dev_unpop(&f->dev, b.head), 0);
	assert_int_equal(vring_split_dev_unpop(&f->dev, b.head), -EINVAL); /* no longer in flight */
	assert_int_equal(vring_split_dev_unpop(&f->dev, a.head), 0);
	assert_int_equal(vring_split_dev_in_flight(&f->dev), 0);
	assert_int_equal(vring_split_dev_get_last_avail(&f->dev), 0);
	assert_int_equal(*ring_fixture_avail_event(f), 0); /* ask for a kick at once again */
	/* The driver rewrote descriptor 0 meanwhile: the second pop sees the new length. */
	ring_fixture_set_desc(f, 0, ring_fixture_buf(f, 0), 32, VIRTQ_DESC_F_WRITE, 0);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 2), 0);
	assert_int_equal(c.head, 0);
	assert_int_equal(c.writable_bytes, 32);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 2), 0);
	assert_int_equal(c.head, 1);
	assert_int_equal(f->used->idx, 0);
	assert_int_equal(vring_split_dev_push(&f->dev, 1, 64), 0);
	assert_int_equal(vring_split_dev_unpop(&f->dev, 1), -EINVAL);
	assert_false(vring_split_dev_is_broken(&f->dev));
	ring_fixture_free(f);
}

/*
 * Burst pop: chains in avail order, their iov entries one after the other in
 * the shared array, avail_event moved once (to past the last), and the burst
 * ends while fewer than iov_cap entries are left.
 */
static void test_pop_burst(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, true, false, 4096);
	struct vring_iov iov[6];
	struct vring_chain c[4];
	uint16_t heads[4];

	(void)state;
	ring_fixture_set_desc(f, 3, ring_fixture_buf(f, 0), 16, VIRTQ_DESC_F_NEXT, 4);
	ring_fixture_set_desc(f, 4, ring_fixture_buf(f, 1), 8, VIRTQ_DESC_F_WRITE, 0);
	ring_fixture_set_desc(f, 6, ring_fixture_buf(f, 2), 32, 0, 0);
	ring_fixture_set_desc(f, 1, ring_fixture_buf(f, 3), 64, 0, 0);
	ring_fixture_offer(f, 3);
	ring_fixture_offer(f, 6);
	ring_fixture_offer(f, 1);
	/* Room for chain 0 (2 entries), then 4 left >= 3: chain 1; 3 left: chain 2; then 2 < 3. */
	assert_int_equal(vring_split_dev_pop_burst(&f->dev, c, 4, iov, 6, 3), 3);
	assert_int_equal(c[0].head, 3);
	assert_int_equal(c[0].readable + c[0].writable, 2);
	assert_int_equal(c[1].head, 6);
	assert_int_equal(c[2].head, 1);
	assert_ptr_equal(iov[0].base, ring_fixture_host(f, ring_fixture_buf(f, 0)));
	assert_ptr_equal(iov[1].base, ring_fixture_host(f, ring_fixture_buf(f, 1)));
	assert_ptr_equal(iov[2].base, ring_fixture_host(f, ring_fixture_buf(f, 2)));
	assert_int_equal(iov[2].len, 32);
	assert_ptr_equal(iov[3].base, ring_fixture_host(f, ring_fixture_buf(f, 3)));
	assert_int_equal(iov[3].len, 64);
	assert_int_equal(*ring_fixture_avail_event(f), 3);
	assert_int_equal(vring_split_dev_in_flight(&f->dev), 3);
	assert_int_equal(vring_split_dev_pop_burst(&f->dev, c, 4, iov, 6, 3), -EAGAIN);
	/* iov_len below iov_cap: nothing fits, nothing popped, not an error. */
	ring_fixture_set_desc(f, 0, ring_fixture_buf(f, 4), 8, 0, 0);
	ring_fixture_offer(f, 0);
	assert_int_equal(vring_split_dev_pop_burst(&f->dev, c, 4, iov, 2, 3), -EAGAIN);
	assert_int_equal(vring_split_dev_get_last_avail(&f->dev), 3);
	/* Push burst: in order, published by one flush; @written NULL means 0 each. */
	heads[0] = 6;
	heads[1] = 1;
	heads[2] = 3;
	assert_int_equal(vring_split_dev_push_burst(&f->dev, heads, NULL, 3), 0);
	assert_int_equal(f->used->idx, 0); /* D-SR-10: entries first, the index at flush */
	vring_split_dev_flush(&f->dev);
	assert_int_equal(f->used->idx, 3);
	assert_int_equal(f->used->ring[0].id, 6);
	assert_int_equal(f->used->ring[1].id, 1);
	assert_int_equal(f->used->ring[2].id, 3);
	assert_int_equal(f->used->ring[2].len, 0);
	ring_fixture_free(f);
}

/*
 * A hostile chain in the middle of a burst: the chains before it are
 * returned, the bad one breaks the queue with the error a single pop gives
 * (D-SR-11 for the push burst: a length above the writable bytes).
 */
static void test_pop_burst_hostile_middle(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);
	struct vring_iov iov[8];
	struct vring_chain c[4];
	uint16_t heads[2] = {0, 1};
	uint32_t lens[2] = {0, 9};

	(void)state;
	ring_fixture_set_desc(f, 0, ring_fixture_buf(f, 0), 8, 0, 0);
	ring_fixture_set_desc(f, 1, ring_fixture_buf(f, 1), 8, VIRTQ_DESC_F_WRITE, 0);
	ring_fixture_set_desc(f, 2, RING_FIXTURE_GPA + f->mem_len, 8, 0, 0); /* outside memory */
	ring_fixture_offer(f, 0);
	ring_fixture_offer(f, 1);
	ring_fixture_offer(f, 2);
	ring_fixture_offer(f, 3);
	assert_int_equal(vring_split_dev_pop_burst(&f->dev, c, 4, iov, 8, 4), 2);
	assert_int_equal(c[0].head, 0);
	assert_int_equal(c[1].head, 1);
	assert_ptr_equal(iov[1].base, ring_fixture_host(f, ring_fixture_buf(f, 1)));
	assert_int_equal(vring_split_dev_error(&f->dev), VRING_ERR_ADDRESS);
	assert_int_equal(vring_split_dev_get_last_avail(&f->dev), 2);
	assert_int_equal(vring_split_dev_pop_burst(&f->dev, c, 4, iov, 8, 4), -EIO);
	assert_int_equal(vring_split_dev_push_burst(&f->dev, heads, NULL, 2), -EIO);
	ring_fixture_free(f);

	/* The first chain bad: -EPROTO, nothing taken. */
	f = ring_fixture_new(8, false, false, 0);
	ring_fixture_set_desc(f, 0, ring_fixture_buf(f, 0), 8, VIRTQ_DESC_F_NEXT, 8);
	ring_fixture_offer(f, 0);
	assert_int_equal(vring_split_dev_pop_burst(&f->dev, c, 4, iov, 8, 4), -EPROTO);
	assert_int_equal(vring_split_dev_error(&f->dev), VRING_ERR_NEXT_RANGE);
	assert_int_equal(vring_split_dev_in_flight(&f->dev), 0);
	ring_fixture_free(f);

	/* Push burst: the second length is above its chain's 8 writable bytes. */
	f = ring_fixture_new(8, false, false, 0);
	ring_fixture_set_desc(f, 0, ring_fixture_buf(f, 0), 8, VIRTQ_DESC_F_WRITE, 0);
	ring_fixture_set_desc(f, 1, ring_fixture_buf(f, 1), 8, VIRTQ_DESC_F_WRITE, 0);
	ring_fixture_offer(f, 0);
	ring_fixture_offer(f, 1);
	assert_int_equal(vring_split_dev_pop_burst(&f->dev, c, 4, iov, 8, 4), 2);
	assert_int_equal(vring_split_dev_push_burst(&f->dev, heads, lens, 2), -EPROTO);
	assert_int_equal(vring_split_dev_error(&f->dev), VRING_ERR_PUSH_LEN);
	vring_split_dev_flush(&f->dev);
	assert_int_equal(f->used->idx, 0); /* the first push is never published */
	ring_fixture_free(f);
}

/* Host memory standing in for guest memory that moved: a buffer's new home. */
static uint8_t *moved_copy(size_t len)
{
	uint8_t *p = calloc(1, len);

	assert_non_null(p);
	return p;
}

/*
 * The region cache (vring_mem.region, guest_mem): after the table changes
 * between pops - a region remapped elsewhere, removed, or its slot taken by
 * another region - a pop translates with the table in force, never stale.
 */
static void test_region_cache_table_changes(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);
	struct vring_split_dev_config vc = ring_fixture_dev_config(f);
	const uint64_t b_gpa = RING_FIXTURE_GPA + 0x100000, b_len = 4096;
	uint8_t *b = moved_copy(b_len), *moved = moved_copy(b_len), *low = moved_copy(4096);
	struct guest_mem gm;
	struct vring_iov iov[2];
	struct vring_chain c;

	(void)state;
	vireo_guest_mem_init(&gm);
	assert_int_equal(vireo_guest_mem_add_region(&gm, RING_FIXTURE_GPA, f->mem_len, f->mem), 0);
	assert_int_equal(vireo_guest_mem_add_region(&gm, b_gpa, b_len, b), 0);
	vc.mem = vireo_guest_mem_vring_mem(&gm);
	assert_int_equal(vring_split_dev_init(&f->dev, &vc), 0);
	for (uint16_t i = 0; i < 4; i++)
		ring_fixture_set_desc(f, i, b_gpa + 64u * i, 16, 0, 0);
	ring_fixture_offer(f, 0);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 2), 0);
	assert_ptr_equal(iov[0].base, b);
	/* Region B remapped to other host memory: the next buffer is found there. */
	assert_int_equal(vireo_guest_mem_remove_region(&gm, b_gpa), 0);
	assert_int_equal(vireo_guest_mem_add_region(&gm, b_gpa, b_len, moved), 0);
	ring_fixture_offer(f, 1);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 2), 0);
	assert_ptr_equal(iov[0].base, moved + 64);
	/* A region below takes the cached slot's place in the table: still right. */
	assert_int_equal(vireo_guest_mem_add_region(&gm, RING_FIXTURE_GPA - 4096, 4096, low), 0);
	ring_fixture_offer(f, 2);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 2), 0);
	assert_ptr_equal(iov[0].base, moved + 128);
	/* Region B gone: its buffers are outside guest memory now (checklist item 4). */
	assert_int_equal(vireo_guest_mem_remove_region(&gm, b_gpa), 0);
	ring_fixture_offer(f, 3);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 2), -EPROTO);
	assert_int_equal(vring_split_dev_error(&f->dev), VRING_ERR_ADDRESS);
	free(b);
	free(moved);
	free(low);
	ring_fixture_free(f);
}

static void test_error_strings(void **state)
{
	(void)state;
	for (int i = 0; i < VRING_ERR_COUNT; i++) {
		const char *s = vring_error_string((enum vring_error)i);

		assert_non_null(s);
		assert_true(strlen(s) > 0);
	}
	assert_string_equal(vring_error_string(VRING_ERR_NONE), "no error");
	assert_string_equal(vring_error_string((enum vring_error)999), "unknown ring error");
}

/* 16-bit wrap on the device side: > 65536 pops/pushes on a 2-entry queue. */
static void test_device_index_wrap(void **state)
{
	struct ring_fixture *f = ring_fixture_new(2, false, false, 0);
	struct vring_iov iov[2];
	struct vring_chain c;

	(void)state;
	ring_fixture_set_desc(f, 0, ring_fixture_buf(f, 0), 8, VIRTQ_DESC_F_WRITE, 0);
	ring_fixture_set_desc(f, 1, ring_fixture_buf(f, 1), 8, VIRTQ_DESC_F_WRITE, 0);
	for (unsigned int i = 0; i < 70000; i++) {
		ring_fixture_offer(f, (uint16_t)(i & 1));
		assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 2), 0);
		assert_int_equal(c.head, i & 1);
		assert_int_equal(vring_split_dev_push(&f->dev, c.head, (uint32_t)(i & 7)), 0);
		if (i & 1)
			vring_split_dev_flush(&f->dev);
	}
	assert_int_equal(f->used->idx, (uint16_t)70000);
	assert_false(vring_split_dev_is_broken(&f->dev));
	ring_fixture_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_geometry),
		cmocka_unit_test(test_init_part_across_regions),
		cmocka_unit_test(test_pop_empty_and_basic),
		cmocka_unit_test(test_pop_split_across_regions),
		cmocka_unit_test(test_pop_zero_length),
		cmocka_unit_test(test_pop_mixed_indirect),
		cmocka_unit_test(test_pop_unaligned_indirect),
		cmocka_unit_test(test_need_notify_flags),
		cmocka_unit_test(test_need_notify_event_idx),
		cmocka_unit_test(test_restart_first_notify),
		cmocka_unit_test(test_restart_kick_state),
		cmocka_unit_test(test_enable_disable_notify),
		cmocka_unit_test(test_set_last_avail),
		cmocka_unit_test(test_unpop),
		cmocka_unit_test(test_pop_burst),
		cmocka_unit_test(test_pop_burst_hostile_middle),
		cmocka_unit_test(test_region_cache_table_changes),
		cmocka_unit_test(test_error_strings),
		cmocka_unit_test(test_device_index_wrap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
