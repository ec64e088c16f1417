// SPDX-License-Identifier: MIT
/* Unit tests for ring/split_driver.c: the driver side of a split virtqueue. */
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

#include <vireo/spec.h>
#include <vireo/virtqueue.h>
#include <vireo/vring.h>

#include "tests/lib/ring_fixture.h"

/* Device side: pop everything available, push each with min(@written, writable). */
static unsigned int serve(struct ring_fixture *f, uint32_t written)
{
	struct vring_iov iov[16];
	struct vring_chain c;
	unsigned int n = 0;

	while (vring_split_dev_pop(&f->dev, &c, iov, 16) == 0) {
		uint32_t w = written < c.writable_bytes ? written : c.writable_bytes;

		assert_int_equal(vring_split_dev_push(&f->dev, c.head, w), 0);
		n++;
	}
	assert_false(vring_split_dev_is_broken(&f->dev));
	vring_split_dev_flush(&f->dev);
	return n;
}

static int add_in(struct ring_fixture *f, unsigned int i, void *token)
{
	struct virtio_sg sg = {.addr = ring_fixture_buf(f, i), .len = RING_FIXTURE_BUF};

	return virtqueue_add_inbuf(&f->vq, &sg, 1, token);
}

static void test_init_rejects_bad_config(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);
	struct virtqueue vq = {0};
	struct vring_split_drv_config c = {
		.num = 8,
		.desc = f->desc,
		.avail = f->avail,
		.used = f->used,
		.extra = f->extra,
	};

	(void)state;
	assert_int_equal(virtqueue_split_init(&vq, &c), 0);
	c.num = 0;
	assert_int_equal(virtqueue_split_init(&vq, &c), -EINVAL);
	c.num = 6;
	assert_int_equal(virtqueue_split_init(&vq, &c), -EINVAL);
	c.num = 8;
	c.desc = (struct virtq_desc *)((uint8_t *)f->desc + 8);
	assert_int_equal(virtqueue_split_init(&vq, &c), -EINVAL);
	c.desc = f->desc;
	c.avail = (struct virtq_avail *)((uint8_t *)f->avail + 1);
	assert_int_equal(virtqueue_split_init(&vq, &c), -EINVAL);
	c.avail = f->avail;
	c.used = (struct virtq_used *)((uint8_t *)f->used + 2);
	assert_int_equal(virtqueue_split_init(&vq, &c), -EINVAL);
	c.used = f->used;
	c.indirect_max = 4; /* no pool */
	assert_int_equal(virtqueue_split_init(&vq, &c), -EINVAL);
	c.extra = NULL;
	c.indirect_max = 0;
	assert_int_equal(virtqueue_split_init(&vq, &c), -EINVAL);
	ring_fixture_free(f);
}

static void test_add_get_roundtrip(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);
	int tokens[8];
	uint32_t len = 0;

	(void)state;
	assert_null(virtqueue_get_buf(&f->vq, &len));
	for (int i = 0; i < 8; i++)
		assert_int_equal(add_in(f, (unsigned int)i, &tokens[i]), 0);
	assert_int_equal(virtqueue_get_num_free(&f->vq), 0);
	assert_int_equal(add_in(f, 0, &tokens[0]), -ENOSPC);
	/* Nothing is visible to the device before kick_prepare publishes it. */
	assert_int_equal(serve(f, 10), 0);
	assert_true(virtqueue_kick(&f->vq));
	assert_int_equal(serve(f, 10), 8);
	assert_true(virtqueue_more_used(&f->vq));
	for (int i = 0; i < 8; i++) {
		assert_ptr_equal(virtqueue_get_buf(&f->vq, &len), &tokens[i]);
		assert_int_equal(len, 10);
	}
	assert_null(virtqueue_get_buf(&f->vq, &len));
	assert_false(virtqueue_more_used(&f->vq));
	assert_int_equal(virtqueue_get_num_free(&f->vq), 8);
	assert_int_equal(virtqueue_get_vring_size(&f->vq), 8);
	ring_fixture_free(f);
}

/*
 * §2.9: with NOTIFICATION_DATA the value names the queue and, in bits 16-31, the avail index
 * the next buffer gets: all 16 bits (15 as next_off, bit 15 as next_wrap), free-running
 * past the ring's size.
 */
static void test_notification_data(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);
	int token;
	uint32_t len;

	(void)state;
	f->vq.index = 2;
	assert_int_equal(virtqueue_notification_data(&f->vq), 0x00000002u);
	for (unsigned int round = 0; round < 11; round++) {
		assert_int_equal(add_in(f, round % 8, &token), 0);
		assert_int_equal(virtqueue_notification_data(&f->vq), (round + 1) << 16 | 2u);
		assert_true(virtqueue_kick(&f->vq));
		assert_int_equal(serve(f, 1), 1);
		assert_ptr_equal(virtqueue_get_buf(&f->vq, &len), &token);
	}
	ring_fixture_free(f);
}

static void test_add_errors(void **state)
{
	struct ring_fixture *f = ring_fixture_new(4, false, false, 0);
	struct virtio_sg sg[5];
	int t;

	(void)state;
	for (unsigned int i = 0; i < 5; i++)
		sg[i] = (struct virtio_sg){.addr = ring_fixture_buf(f, i), .len = 16};
	assert_int_equal(virtqueue_add_sgs(&f->vq, sg, 1, 0, NULL), -EINVAL);
	assert_int_equal(virtqueue_add_sgs(&f->vq, sg, 0, 0, &t), -EINVAL);
	/* §2.7.5.2 (R-SR-05): no chain longer than the queue */
	assert_int_equal(virtqueue_add_sgs(&f->vq, sg, 2, 3, &t), -EINVAL);
	/* R-SR-03: no chain over 2^32 bytes */
	sg[0].len = UINT32_MAX;
	assert_int_equal(virtqueue_add_sgs(&f->vq, sg, 1, 1, &t), -EINVAL);
	sg[0].len = 16;
	assert_int_equal(virtqueue_add_sgs(&f->vq, sg, 2, 1, &t), 0);
	assert_int_equal(virtqueue_get_num_free(&f->vq), 1);
	assert_int_equal(virtqueue_add_sgs(&f->vq, sg, 1, 1, &t), -ENOSPC);
	f->vq.broken = true;
	assert_int_equal(virtqueue_add_sgs(&f->vq, sg, 1, 0, &t), -EIO);
	ring_fixture_free(f);
}

static void test_chain_layout(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);
	struct virtio_sg sg[3] = {
		{.addr = ring_fixture_buf(f, 0), .len = 16},
		{.addr = ring_fixture_buf(f, 1), .len = 32},
		{.addr = ring_fixture_buf(f, 2), .len = 64},
	};
	struct vring_iov iov[4];
	struct vring_chain c;
	int t;
	uint32_t len;

	(void)state;
	assert_int_equal(virtqueue_add_sgs(&f->vq, sg, 2, 1, &t), 0);
	virtqueue_kick(&f->vq);
	assert_int_equal(f->avail->idx, 1);
	uint16_t h = f->avail->ring[0];
	assert_int_equal(f->desc[h].flags, VIRTQ_DESC_F_NEXT);
	uint16_t n1 = f->desc[h].next;
	assert_int_equal(f->desc[n1].flags, VIRTQ_DESC_F_NEXT);
	uint16_t n2 = f->desc[n1].next;
	assert_int_equal(f->desc[n2].flags, VIRTQ_DESC_F_WRITE);
	assert_int_equal(f->desc[n2].len, 64);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 4), 0);
	assert_int_equal(c.readable, 2);
	assert_int_equal(c.writable, 1);
	assert_int_equal(c.readable_bytes, 48);
	assert_int_equal(c.writable_bytes, 64);
	assert_ptr_equal(iov[2].base, ring_fixture_host(f, ring_fixture_buf(f, 2)));
	assert_int_equal(vring_split_dev_push(&f->dev, c.head, 64), 0);
	vring_split_dev_flush(&f->dev);
	assert_ptr_equal(virtqueue_get_buf(&f->vq, &len), &t);
	assert_int_equal(len, 64);
	assert_int_equal(virtqueue_get_num_free(&f->vq), 8);
	ring_fixture_free(f);
}

static void test_kick_prepare_no_notify(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);
	int t;

	(void)state;
	/* Nothing added: nothing to kick for. */
	assert_false(virtqueue_kick_prepare(&f->vq));
	assert_int_equal(add_in(f, 0, &t), 0);
	assert_true(virtqueue_kick_prepare(&f->vq));
	/* §2.7.10 (R-SR-10): used.flags NO_NOTIFY suppresses the kick */
	vring_split_dev_disable_notify(&f->dev);
	assert_int_equal(f->used->flags, VIRTQ_USED_F_NO_NOTIFY);
	assert_int_equal(add_in(f, 1, &t), 0);
	assert_false(virtqueue_kick_prepare(&f->vq));
	assert_true(vring_split_dev_enable_notify(&f->dev));
	assert_int_equal(f->used->flags, 0);
	assert_int_equal(add_in(f, 2, &t), 0);
	assert_true(virtqueue_kick_prepare(&f->vq));
	/* avail_event is ignored without EVENT_IDX. */
	*ring_fixture_avail_event(f) = 1234;
	assert_int_equal(add_in(f, 3, &t), 0);
	f->notifies = 0;
	assert_true(virtqueue_kick(&f->vq));
	assert_int_equal(f->notifies, 1);
	ring_fixture_free(f);
}

/* Drive the driver's avail idx to @target by add/serve/get cycles. */
static void advance_to(struct ring_fixture *f, uint16_t target)
{
	int t;
	uint32_t len;

	while (f->vq.split.avail_idx_shadow != target) {
		assert_int_equal(add_in(f, 0, &t), 0);
		virtqueue_kick_prepare(&f->vq);
		serve(f, 0);
		assert_ptr_equal(virtqueue_get_buf(&f->vq, &len), &t);
	}
}

static void test_kick_prepare_event_idx(void **state)
{
	struct ring_fixture *f = ring_fixture_new(4, true, false, 0);
	le16 *avail_event = ring_fixture_avail_event(f);
	int t[4];

	(void)state;
	/* used.flags low bit is ignored with EVENT_IDX (R-SR-10). */
	f->used->flags = VIRTQ_USED_F_NO_NOTIFY;
	/* avail_event = 0: the publish 0 -> 1 crosses it. */
	assert_int_equal(add_in(f, 0, &t[0]), 0);
	assert_true(virtqueue_kick_prepare(&f->vq));
	/* avail_event still 0 (device did not pop): publish 1 -> 2 does not cross. */
	assert_int_equal(add_in(f, 1, &t[1]), 0);
	assert_false(virtqueue_kick_prepare(&f->vq));
	/* avail_event = 3: 2 -> 3 does not reach it, 3 -> 4 does. */
	*avail_event = 3;
	assert_int_equal(add_in(f, 2, &t[2]), 0);
	assert_false(virtqueue_kick_prepare(&f->vq));
	assert_int_equal(add_in(f, 3, &t[3]), 0);
	assert_true(virtqueue_kick_prepare(&f->vq));
	serve(f, 0);
	for (int i = 0; i < 4; i++)
		assert_non_null(virtqueue_get_buf(&f->vq, NULL));
	/* Wrap: publish 65534 -> 0 (two adds) with avail_event at 65535 kicks. */
	vring_split_dev_disable_notify(&f->dev);
	advance_to(f, 65534);
	*avail_event = 65535;
	assert_int_equal(add_in(f, 0, &t[0]), 0);
	assert_int_equal(add_in(f, 1, &t[1]), 0);
	assert_true(virtqueue_kick_prepare(&f->vq));
	assert_int_equal(f->avail->idx, 0);
	/* avail_event = 1: publish 0 -> 1 does not reach it (old <= ev < new fails). */
	*avail_event = 1;
	assert_int_equal(add_in(f, 2, &t[2]), 0);
	assert_false(virtqueue_kick_prepare(&f->vq));
	*avail_event = 65535; /* behind: no kick */
	assert_int_equal(add_in(f, 3, &t[3]), 0);
	assert_false(virtqueue_kick_prepare(&f->vq));
	ring_fixture_free(f);
}

static void test_callbacks_flags(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);
	int t;

	(void)state;
	virtqueue_disable_cb(&f->vq);
	assert_int_equal(f->avail->flags, VIRTQ_AVAIL_F_NO_INTERRUPT);
	assert_true(virtqueue_enable_cb(&f->vq));
	assert_int_equal(f->avail->flags, 0);
	virtqueue_disable_cb(&f->vq);
	assert_int_equal(add_in(f, 0, &t), 0);
	virtqueue_kick(&f->vq);
	serve(f, 1);
	assert_false(vring_split_dev_need_notify(&f->dev));
	/* A buffer is pending: enable_cb says so (no signal may come for it). */
	assert_false(virtqueue_enable_cb(&f->vq));
	assert_int_equal(f->avail->flags, 0);
	assert_ptr_equal(virtqueue_get_buf(&f->vq, NULL), &t);
	assert_true(virtqueue_enable_cb(&f->vq));
	/* Without EVENT_IDX delayed is the same as enable_cb. */
	assert_true(virtqueue_enable_cb_delayed(&f->vq));
	assert_int_equal(add_in(f, 0, &t), 0);
	virtqueue_kick(&f->vq);
	serve(f, 1);
	assert_true(vring_split_dev_need_notify(&f->dev));
	ring_fixture_free(f);
}

static void test_callbacks_event_idx(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, true, false, 0);
	le16 *used_event = &f->avail->ring[8];
	int t[8];

	(void)state;
	virtqueue_disable_cb(&f->vq);
	/* R-SR-08: avail.flags stays 0 with EVENT_IDX; used_event moves far away. */
	assert_int_equal(f->avail->flags, 0);
	assert_int_equal(*used_event, 0x8000);
	for (int i = 0; i < 8; i++)
		assert_int_equal(add_in(f, (unsigned int)i, &t[i]), 0);
	virtqueue_kick(&f->vq);
	serve(f, 0);
	/* The device's first decision after init notifies anyway (issue 9 §7a)... */
	assert_true(vring_split_dev_need_notify(&f->dev));
	for (int i = 0; i < 8; i++)
		assert_ptr_equal(virtqueue_get_buf(&f->vq, NULL), &t[i]);
	for (int i = 0; i < 8; i++)
		assert_int_equal(add_in(f, (unsigned int)i, &t[i]), 0);
	virtqueue_kick(&f->vq);
	serve(f, 0);
	/* ...later ones honour the suppression. */
	assert_false(vring_split_dev_need_notify(&f->dev));
	assert_false(virtqueue_enable_cb(&f->vq));
	assert_int_equal(*used_event, 8);
	for (int i = 0; i < 8; i++)
		assert_ptr_equal(virtqueue_get_buf(&f->vq, NULL), &t[i]);
	assert_true(virtqueue_enable_cb(&f->vq));
	assert_int_equal(*used_event, 16);
	/* Delayed: 8 in flight -> signal after 3/4 of them, at used idx 16 + 6. */
	for (int i = 0; i < 8; i++)
		assert_int_equal(add_in(f, (unsigned int)i, &t[i]), 0);
	virtqueue_kick(&f->vq);
	virtqueue_disable_cb(&f->vq);
	assert_true(virtqueue_enable_cb_delayed(&f->vq));
	assert_int_equal(*used_event, 22);
	serve(f, 0);
	assert_true(vring_split_dev_need_notify(&f->dev));
	/* get_buf with callbacks on keeps used_event at the consumer when it runs dry. */
	for (int i = 0; i < 8; i++)
		assert_ptr_equal(virtqueue_get_buf(&f->vq, NULL), &t[i]);
	assert_null(virtqueue_get_buf(&f->vq, NULL));
	assert_int_equal(*used_event, 24);
	ring_fixture_free(f);
}

static void test_detach_unused(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, true, 0);
	struct virtio_sg sg[3] = {
		{.addr = ring_fixture_buf(f, 0), .len = 16},
		{.addr = ring_fixture_buf(f, 1), .len = 16},
		{.addr = ring_fixture_buf(f, 2), .len = 16},
	};
	int t[3];
	bool seen[3] = {false};
	void *tok;

	(void)state;
	assert_int_equal(virtqueue_add_sgs(&f->vq, sg, 1, 0, &t[0]), 0);
	assert_int_equal(virtqueue_add_sgs(&f->vq, sg, 1, 2, &t[1]), 0);
	assert_int_equal(virtqueue_add_sgs(&f->vq, sg, 3, 0, &t[2]), 0);
	virtqueue_kick(&f->vq);
	while ((tok = virtqueue_detach_unused_buf(&f->vq))) {
		int i = (int)((int *)tok - t);

		assert_true(i >= 0 && i < 3);
		assert_false(seen[i]);
		seen[i] = true;
	}
	assert_true(seen[0] && seen[1] && seen[2]);
	assert_int_equal(virtqueue_get_num_free(&f->vq), 8);
	ring_fixture_free(f);
}

static void test_detach_unused_direct(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);
	struct virtio_sg sg[3] = {
		{.addr = ring_fixture_buf(f, 0), .len = 16},
		{.addr = ring_fixture_buf(f, 1), .len = 16},
		{.addr = ring_fixture_buf(f, 2), .len = 16},
	};
	int t[3];
	unsigned int n = 0;

	(void)state;
	assert_int_equal(virtqueue_add_sgs(&f->vq, sg, 1, 2, &t[0]), 0);
	assert_int_equal(virtqueue_add_sgs(&f->vq, sg, 2, 1, &t[1]), 0);
	assert_int_equal(virtqueue_add_sgs(&f->vq, sg, 1, 0, &t[2]), 0);
	assert_int_equal(virtqueue_get_num_free(&f->vq), 1);
	while (virtqueue_detach_unused_buf(&f->vq))
		n++;
	assert_int_equal(n, 3);
	assert_int_equal(virtqueue_get_num_free(&f->vq), 8);
	/* The free list is intact: the whole ring can be used again. */
	for (int i = 0; i < 8; i++)
		assert_int_equal(add_in(f, (unsigned int)i, &t[0]), 0);
	ring_fixture_free(f);
}

/*
 * A ring full of indirect chains (one descriptor each): one more chain, indirect
 * or single, is refused with -ENOSPC and changes neither the ring nor the
 * tables in flight; every chain then completes, and the ring takes new ones.
 */
static void test_full_ring_indirect(void **state)
{
	struct ring_fixture *f = ring_fixture_new(4, false, true, 0);
	struct virtq_desc desc[4], pool[4 * RING_FIXTURE_IMAX];
	struct virtio_sg sg[3];
	int t[5];
	uint32_t len;

	(void)state;
	for (unsigned int round = 0; round < 2; round++) {
		for (unsigned int i = 0; i < 4; i++) {
			for (unsigned int j = 0; j < 3; j++)
				sg[j] = (struct virtio_sg){.addr = ring_fixture_buf(f, i) + 16 * j,
							   .len = 16};
			assert_int_equal(virtqueue_add_sgs(&f->vq, sg, 1, 2, &t[i]), 0);
		}
		assert_int_equal(virtqueue_get_num_free(&f->vq), 0);
		memcpy(desc, f->desc, sizeof(desc));
		memcpy(pool, f->pool, sizeof(pool));
		assert_int_equal(virtqueue_add_sgs(&f->vq, sg, 1, 2, &t[4]), -ENOSPC);
		assert_int_equal(virtqueue_add_sgs(&f->vq, sg, 1, 0, &t[4]), -ENOSPC);
		assert_memory_equal(desc, f->desc, sizeof(desc));
		assert_memory_equal(pool, f->pool, sizeof(pool));
		assert_true(virtqueue_kick(&f->vq));
		assert_int_equal(serve(f, 32), 4);
		for (unsigned int i = 0; i < 4; i++) {
			assert_ptr_equal(virtqueue_get_buf(&f->vq, &len), &t[i]);
			assert_int_equal(len, 32);
		}
		assert_null(virtqueue_get_buf(&f->vq, &len));
		assert_int_equal(virtqueue_get_num_free(&f->vq), 4);
	}
	ring_fixture_free(f);
}

static void test_indirect(void **state)
{
	struct ring_fixture *f = ring_fixture_new(4, false, true, 0);
	struct virtio_sg sg[RING_FIXTURE_IMAX + 1];
	struct vring_iov iov[16];
	struct vring_chain c;
	int t[3];
	uint32_t len;

	(void)state;
	for (unsigned int i = 0; i <= RING_FIXTURE_IMAX; i++)
		sg[i] = (struct virtio_sg){.addr = ring_fixture_buf(f, i) + 8 * i, .len = 8};
	assert_int_equal(virtqueue_add_sgs(&f->vq, sg, 1, 2, &t[0]), 0);
	/* One ring descriptor for a 3-element chain; table in pool slot = head. */
	assert_int_equal(virtqueue_get_num_free(&f->vq), 3);
	uint16_t h = f->avail->ring[0];
	assert_int_equal(f->desc[h].flags, VIRTQ_DESC_F_INDIRECT);
	assert_int_equal(f->desc[h].len, 3 * sizeof(struct virtq_desc));
	assert_int_equal(f->desc[h].addr, f->pool_gpa + (uint64_t)h * RING_FIXTURE_IMAX * 16);
	struct virtq_desc *tab = f->pool + (size_t)h * RING_FIXTURE_IMAX;
	assert_int_equal(tab[0].flags, VIRTQ_DESC_F_NEXT);
	assert_int_equal(tab[0].next, 1);
	assert_int_equal(tab[1].flags, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE);
	assert_int_equal(tab[2].flags, VIRTQ_DESC_F_WRITE);
	/* One element: no indirect. More than indirect_max: a direct chain. */
	assert_int_equal(virtqueue_add_sgs(&f->vq, sg, 1, 0, &t[1]), 0);
	assert_int_equal(virtqueue_get_num_free(&f->vq), 2);
	assert_int_equal(virtqueue_add_sgs(&f->vq, sg, RING_FIXTURE_IMAX + 1, 0, &t[2]), -EINVAL);
	virtqueue_kick(&f->vq);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 16), 0);
	assert_int_equal(c.head, h);
	assert_int_equal(c.readable, 1);
	assert_int_equal(c.writable, 2);
	assert_int_equal(c.writable_bytes, 16);
	assert_ptr_equal(iov[1].base, ring_fixture_host(f, sg[1].addr));
	assert_int_equal(vring_split_dev_push(&f->dev, c.head, 16), 0);
	vring_split_dev_flush(&f->dev);
	assert_ptr_equal(virtqueue_get_buf(&f->vq, &len), &t[0]);
	assert_int_equal(len, 16);
	assert_int_equal(virtqueue_get_num_free(&f->vq), 3);
	ring_fixture_free(f);
}

/* 16-bit index wrap: > 65536 ops through a 4-entry queue, in varying batches. */
static void test_index_wrap(void **state)
{
	struct ring_fixture *f = ring_fixture_new(4, true, false, 0);
	uintptr_t next_tok = 1, expect = 1;
	unsigned int done = 0;

	(void)state;
	while (done < 70000) {
		unsigned int n = 1 + done % 4;
		uint32_t len;
		void *tok;

		for (unsigned int i = 0; i < n; i++)
			assert_int_equal(add_in(f, i, (void *)next_tok++), 0);
		virtqueue_kick(&f->vq);
		assert_int_equal(serve(f, 7), n);
		vring_split_dev_need_notify(&f->dev);
		while ((tok = virtqueue_get_buf(&f->vq, &len))) {
			assert_int_equal((uintptr_t)tok, expect++);
			assert_int_equal(len, 7);
			done++;
		}
	}
	assert_false(virtqueue_is_broken(&f->vq));
	assert_int_equal(virtqueue_get_num_free(&f->vq), 4);
	ring_fixture_free(f);
}

static bool failing_notify(struct virtqueue *vq)
{
	(void)vq;
	return false;
}

static void test_notify_failure_breaks(void **state)
{
	struct ring_fixture *f = ring_fixture_new(4, false, false, 0);
	int t;

	(void)state;
	f->vq.notify = failing_notify;
	assert_int_equal(add_in(f, 0, &t), 0);
	assert_false(virtqueue_kick(&f->vq));
	assert_true(virtqueue_is_broken(&f->vq));
	assert_int_equal(add_in(f, 0, &t), -EIO);
	assert_null(virtqueue_get_buf(&f->vq, NULL));
	assert_false(virtqueue_notify(&f->vq));
	ring_fixture_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_rejects_bad_config),
		cmocka_unit_test(test_add_get_roundtrip),
		cmocka_unit_test(test_notification_data),
		cmocka_unit_test(test_add_errors),
		cmocka_unit_test(test_chain_layout),
		cmocka_unit_test(test_kick_prepare_no_notify),
		cmocka_unit_test(test_kick_prepare_event_idx),
		cmocka_unit_test(test_callbacks_flags),
		cmocka_unit_test(test_callbacks_event_idx),
		cmocka_unit_test(test_detach_unused),
		cmocka_unit_test(test_detach_unused_direct),
		cmocka_unit_test(test_indirect),
		cmocka_unit_test(test_full_ring_indirect),
		cmocka_unit_test(test_index_wrap),
		cmocka_unit_test(test_notify_failure_breaks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
