// SPDX-License-Identifier: MIT
/*
 * Unit tests for VIRTIO_F_IN_ORDER on the driver side of a split virtqueue
 * (ring/split_driver.c, virtio 1.2 §2.7.9): descriptors go out in ring
 * order (R-SR-04, R-SR-06), and the device may give a batch back with one
 * used entry naming the last buffer's head while used->idx moves by the
 * batch's size. The used ring is written by hand here (the device side of
 * the fixture only pops).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>

#include <vireo/spec.h>
#include <vireo/virtqueue.h>
#include <vireo/vring.h>

#include "tests/lib/ring_fixture.h"

/* The fixture's ring with the driver re-initialized for IN_ORDER. */
static struct ring_fixture *in_order_new(uint16_t num, bool indirect)
{
	struct ring_fixture *f = ring_fixture_new(num, false, indirect, 0);
	struct vring_split_drv_config c = {
		.num = num,
		.desc = f->desc,
		.avail = f->avail,
		.used = f->used,
		.extra = f->extra,
		.indirect_pool = indirect ? f->pool : NULL,
		.indirect_pool_addr = f->pool_gpa,
		.indirect_max = indirect ? RING_FIXTURE_IMAX : 0,
		.in_order = true,
	};
	bool (*notify)(struct virtqueue *) = f->vq.notify;
	void *priv = f->vq.priv;

	assert_int_equal(virtqueue_split_init(&f->vq, &c), 0);
	f->vq.notify = notify;
	f->vq.priv = priv;
	return f;
}

/* Device by hand: one used entry at the used ring's next slot; used->idx moves by @advance. */
static void used_batch(struct ring_fixture *f, uint32_t id, uint32_t len, uint16_t advance)
{
	uint16_t idx = f->used->idx;

	f->used->ring[idx % f->num].id = id;
	f->used->ring[idx % f->num].len = len;
	__atomic_store_n(&f->used->idx, (uint16_t)(idx + advance), __ATOMIC_RELEASE);
}

static int add_in(struct ring_fixture *f, unsigned int i, void *token)
{
	struct virtio_sg sg = {.addr = ring_fixture_buf(f, i), .len = RING_FIXTURE_BUF};

	return virtqueue_add_inbuf(&f->vq, &sg, 1, token);
}

/* A chain of 2 (8 readable + 30 writable) then three single writable buffers. */
static void add_four(struct ring_fixture *f, int tok[4])
{
	struct virtio_sg chain[2] = {
		{.addr = ring_fixture_buf(f, 0), .len = 8},
		{.addr = ring_fixture_buf(f, 1), .len = 30},
	};

	assert_int_equal(virtqueue_add_sgs(&f->vq, chain, 1, 1, &tok[0]), 0);
	for (unsigned int i = 1; i < 4; i++)
		assert_int_equal(add_in(f, i + 1, &tok[i]), 0);
	virtqueue_kick(&f->vq);
}

/* §2.7.5 (R-SR-04): descriptors in ring order, next = x + 1, wrapping to 0. */
static void test_descriptors_in_ring_order(void **state)
{
	struct ring_fixture *f = in_order_new(8, false);
	int tok[4];
	uint16_t expect = 0;
	uint32_t len;

	(void)state;
	for (unsigned int round = 0; round < 5; round++) {
		uint16_t a = (uint16_t)(f->avail->idx);

		add_four(f, tok);
		assert_int_equal(f->avail->ring[a % 8], expect);
		assert_int_equal(f->desc[expect].flags, VIRTQ_DESC_F_NEXT);
		assert_int_equal(f->desc[expect].next, (expect + 1) % 8);
		for (unsigned int i = 1; i < 4; i++)
			assert_int_equal(f->avail->ring[(a + i) % 8], (expect + 1 + i) % 8);
		used_batch(f, (expect + 4) % 8, 0, 4);
		for (unsigned int i = 0; i < 4; i++)
			assert_ptr_equal(virtqueue_get_buf(&f->vq, &len), &tok[i]);
		expect = (uint16_t)((expect + 5) % 8);
	}
	assert_false(virtqueue_is_broken(&f->vq));
	ring_fixture_free(f);
}

/* §2.7.9: one entry for a batch; the skipped buffers count as used completely. */
static void test_batches_by_last_head(void **state)
{
	struct ring_fixture *f = in_order_new(8, false);
	int tok[4];
	uint32_t len;

	(void)state;
	for (unsigned int round = 0; round < 40; round++) {
		uint16_t head0 = (uint16_t)((round * 5) % 8);
		uint16_t head[4] = {head0, (uint16_t)((head0 + 2) % 8), (uint16_t)((head0 + 3) % 8),
				    (uint16_t)((head0 + 4) % 8)};

		add_four(f, tok);
		if (round % 2) {
			/* The first three by the third's head, then the fourth alone. */
			used_batch(f, head[2], 7, 3);
			used_batch(f, head[3], 9, 1);
		} else {
			used_batch(f, head[3], 9, 4);
		}
		assert_ptr_equal(virtqueue_get_buf(&f->vq, &len), &tok[0]);
		assert_int_equal(len, 30);
		assert_ptr_equal(virtqueue_get_buf(&f->vq, &len), &tok[1]);
		assert_int_equal(len, RING_FIXTURE_BUF);
		assert_true(virtqueue_more_used(&f->vq));
		assert_ptr_equal(virtqueue_get_buf(&f->vq, &len), &tok[2]);
		assert_int_equal(len, round % 2 ? 7 : RING_FIXTURE_BUF);
		assert_ptr_equal(virtqueue_get_buf(&f->vq, &len), &tok[3]);
		assert_int_equal(len, 9);
		assert_null(virtqueue_get_buf(&f->vq, &len));
		assert_int_equal(virtqueue_get_num_free(&f->vq), 8);
	}
	assert_false(virtqueue_is_broken(&f->vq));
	ring_fixture_free(f);
}

/* The device side of the fixture used in order, one entry per buffer: the plain case. */
static void test_device_one_entry_each(void **state)
{
	struct ring_fixture *f = in_order_new(4, true);
	struct vring_iov iov[8];
	struct vring_chain c;
	int tok[4];
	uint32_t len;

	(void)state;
	for (unsigned int round = 0; round < 30; round++) {
		add_four(f, tok);
		for (unsigned int i = 0; i < 4; i++) {
			assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 8), 0);
			assert_int_equal(vring_split_dev_push(&f->dev, c.head, c.writable_bytes),
					 0);
		}
		vring_split_dev_flush(&f->dev);
		assert_ptr_equal(virtqueue_get_buf(&f->vq, &len), &tok[0]);
		assert_int_equal(len, 30);
		for (unsigned int i = 1; i < 4; i++)
			assert_ptr_equal(virtqueue_get_buf(&f->vq, &len), &tok[i]);
		assert_null(virtqueue_get_buf(&f->vq, &len));
	}
	assert_false(virtqueue_is_broken(&f->vq));
	ring_fixture_free(f);
}

static void assert_broken(struct ring_fixture *f)
{
	int t;
	uint32_t len;

	assert_null(virtqueue_get_buf(&f->vq, &len));
	assert_true(virtqueue_is_broken(&f->vq));
	assert_int_equal(add_in(f, 0, &t), -EIO);
	assert_null(virtqueue_get_buf(&f->vq, &len));
}

/* A head already given back: out of order. */
static void test_hostile_head_behind(void **state)
{
	struct ring_fixture *f = in_order_new(8, false);
	int tok[4];
	uint32_t len;

	(void)state;
	add_four(f, tok);
	used_batch(f, 2, 0, 2);
	assert_ptr_equal(virtqueue_get_buf(&f->vq, &len), &tok[0]);
	assert_ptr_equal(virtqueue_get_buf(&f->vq, &len), &tok[1]);
	used_batch(f, 0, 0, 1);
	assert_broken(f);
	ring_fixture_free(f);
}

/* The second descriptor of a chain is no buffer's head. */
static void test_hostile_not_a_head(void **state)
{
	struct ring_fixture *f = in_order_new(8, false);
	int tok[4];

	(void)state;
	add_four(f, tok);
	used_batch(f, 1, 0, 1);
	assert_broken(f);
	ring_fixture_free(f);
}

/* A batch ending at a buffer added but not yet made available (no kick). */
static void test_hostile_not_exposed(void **state)
{
	struct ring_fixture *f = in_order_new(8, false);
	int tok[5];

	(void)state;
	add_four(f, tok);
	assert_int_equal(add_in(f, 6, &tok[4]), 0);
	used_batch(f, 5, 0, 4);
	assert_broken(f);
	ring_fixture_free(f);
}

/* used->idx moved by less than the batch the entry names. */
static void test_hostile_batch_beyond_used_idx(void **state)
{
	struct ring_fixture *f = in_order_new(8, false);
	int tok[4];

	(void)state;
	add_four(f, tok);
	used_batch(f, 4, 0, 2);
	assert_broken(f);
	ring_fixture_free(f);
}

/* The last buffer's length above what it offered (D-SR-11). */
static void test_hostile_len_beyond_posted(void **state)
{
	struct ring_fixture *f = in_order_new(8, false);
	int tok[4];

	(void)state;
	add_four(f, tok);
	used_batch(f, 4, RING_FIXTURE_BUF + 1, 4);
	assert_broken(f);
	ring_fixture_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_descriptors_in_ring_order),
		cmocka_unit_test(test_batches_by_last_head),
		cmocka_unit_test(test_device_one_entry_each),
		cmocka_unit_test(test_hostile_head_behind),
		cmocka_unit_test(test_hostile_not_a_head),
		cmocka_unit_test(test_hostile_not_exposed),
		cmocka_unit_test(test_hostile_batch_beyond_used_idx),
		cmocka_unit_test(test_hostile_len_beyond_posted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
