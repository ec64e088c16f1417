// SPDX-License-Identifier: MIT
/* Hostile-peer tests for ring/: one hand-made ring per protocol violation. */
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

/* The device is driven only through the format seam, as the core drives it. */
static const struct vring_dev_ops *const dev_ops = &vring_split_dev_ops;

/*
 * Each test below hand-crafts one protocol violation and checks that the
 * queue ends broken with the named error, that every later call fails with
 * -EIO (and touches nothing), and - via the guard pages around guest memory
 * and ASan in the sanitizer build - that nothing outside guest memory was
 * touched. Spec labels are those of /work/shared/spec-checklist.md §2.2/§3.2.
 */

/* Move the descriptor table to the last bytes before the trailing guard page. */
static void desc_at_end(struct ring_fixture *f)
{
	struct vring_split_dev_config sc = ring_fixture_dev_config(f);
	struct vring_dev_config vc = {
		.num = sc.num,
		.max_num = sc.max_num,
		.desc_addr = RING_FIXTURE_GPA + f->mem_len - virtq_desc_table_size(f->num),
		.driver_addr = sc.avail_addr,
		.device_addr = sc.used_addr,
		.position = {.avail_idx = sc.last_avail_idx, .avail_wrap = true, .used_wrap = true},
		.event_idx = sc.event_idx,
		.indirect = sc.indirect,
		.mem = sc.mem,
		.state = sc.state,
	};

	assert_int_equal(dev_ops->init(&f->ring, &vc), 0);
	f->desc = ring_fixture_host(f, vc.desc_addr);
}

/* The queue is broken with @err and stays inert. */
static void expect_broken(struct ring_fixture *f, enum vring_error err)
{
	struct vring_iov iov[8];
	struct vring_chain c;
	uint16_t used = f->used->idx;

	assert_int_equal(dev_ops->error(&f->ring), err);
	assert_int_not_equal(dev_ops->error(&f->ring), VRING_ERR_NONE);
	assert_int_equal(dev_ops->pop(&f->ring, &c, iov, 8), -EIO);
	assert_int_equal(dev_ops->push(&f->ring, 0, 0), -EIO);
	dev_ops->flush(&f->ring);
	assert_int_equal(f->used->idx, used);
	assert_false(dev_ops->need_notify(&f->ring));
	assert_false(dev_ops->enable_notify(&f->ring));
}

static void expect_pop_error(struct ring_fixture *f, enum vring_error err)
{
	struct vring_iov iov[8];
	struct vring_chain c;

	assert_int_equal(dev_ops->pop(&f->ring, &c, iov, 8), -EPROTO);
	expect_broken(f, err);
	ring_fixture_free(f);
}

/* drv:BF/Virtqueues/The Virtqueue Descriptor Table (R-SR-03): no loops. */
static void test_descriptor_loop(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);

	(void)state;
	ring_fixture_set_desc(f, 0, ring_fixture_buf(f, 0), 8, VIRTQ_DESC_F_NEXT, 1);
	ring_fixture_set_desc(f, 1, ring_fixture_buf(f, 1), 8, VIRTQ_DESC_F_NEXT, 0);
	ring_fixture_offer(f, 0);
	expect_pop_error(f, VRING_ERR_CHAIN_LOOP);
}

/* drv:BF/Virtqueues/The Virtqueue Descriptor Table (R-SR-05): chain <= queue size. */
static void test_chain_longer_than_queue(void **state)
{
	struct ring_fixture *f = ring_fixture_new(4, false, false, 0);

	(void)state;
	for (uint16_t i = 0; i < 4; i++)
		ring_fixture_set_desc(f, i, ring_fixture_buf(f, i), 8, VIRTQ_DESC_F_NEXT,
				      (uint16_t)((i + 1) % 4));
	ring_fixture_offer(f, 2);
	expect_pop_error(f, VRING_ERR_CHAIN_LOOP);
}

/* drv:BF/Virtqueues/The Virtqueue Descriptor Table: next indexes the table. */
static void test_next_out_of_range(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);

	(void)state;
	desc_at_end(f);
	ring_fixture_set_desc(f, 7, ring_fixture_buf(f, 0), 8, VIRTQ_DESC_F_NEXT, 8);
	ring_fixture_offer(f, 7);
	expect_pop_error(f, VRING_ERR_NEXT_RANGE);
}

/* dev:BF/Virtqueues/The Virtqueue Descriptor Table: buffers are guest memory. */
static void test_address_outside_memory(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);

	(void)state;
	ring_fixture_set_desc(f, 0, RING_FIXTURE_GPA + f->mem_len, 8, 0, 0);
	ring_fixture_offer(f, 0);
	expect_pop_error(f, VRING_ERR_ADDRESS);

	f = ring_fixture_new(8, false, false, 0);
	ring_fixture_set_desc(f, 0, RING_FIXTURE_GPA - 8, 8, 0, 0);
	ring_fixture_offer(f, 0);
	expect_pop_error(f, VRING_ERR_ADDRESS);

	/* Starts inside, runs past the end. */
	f = ring_fixture_new(8, false, false, 0);
	ring_fixture_set_desc(f, 0, RING_FIXTURE_GPA + f->mem_len - 8, 16, VIRTQ_DESC_F_WRITE, 0);
	ring_fixture_offer(f, 0);
	expect_pop_error(f, VRING_ERR_ADDRESS);
}

/* STYLE.md checklist 4: gpa + len overflow. */
static void test_address_len_overflow(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);

	(void)state;
	ring_fixture_set_desc(f, 0, UINT64_MAX - 10, 100, 0, 0);
	ring_fixture_offer(f, 0);
	expect_pop_error(f, VRING_ERR_ADDRESS);
}

/* drv:…/Indirect Descriptors (R-SR-05): no INDIRECT inside an indirect table. */
static void test_nested_indirect(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, true, 0);

	(void)state;
	f->pool[0] = (struct virtq_desc){ring_fixture_buf(f, 0), 8, VIRTQ_DESC_F_NEXT, 1};
	f->pool[1] = (struct virtq_desc){f->pool_gpa + 64, 16, VIRTQ_DESC_F_INDIRECT, 0};
	ring_fixture_set_desc(f, 0, f->pool_gpa, 32, VIRTQ_DESC_F_INDIRECT, 0);
	ring_fixture_offer(f, 0);
	expect_pop_error(f, VRING_ERR_INDIRECT_NESTED);
}

/* drv:…/Indirect Descriptors (R-SR-05): never INDIRECT together with NEXT. */
static void test_indirect_with_next(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, true, 0);

	(void)state;
	f->pool[0] = (struct virtq_desc){ring_fixture_buf(f, 0), 8, 0, 0};
	ring_fixture_set_desc(f, 0, f->pool_gpa, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	ring_fixture_set_desc(f, 1, ring_fixture_buf(f, 1), 8, 0, 0);
	ring_fixture_offer(f, 0);
	expect_pop_error(f, VRING_ERR_INDIRECT_NEXT);
}

/* drv:…/Indirect Descriptors: the table length is a multiple of 16, non-zero. */
static void test_indirect_len(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, true, 0);

	(void)state;
	ring_fixture_set_desc(f, 0, f->pool_gpa, 24, VIRTQ_DESC_F_INDIRECT, 0);
	ring_fixture_offer(f, 0);
	expect_pop_error(f, VRING_ERR_INDIRECT_LEN);

	f = ring_fixture_new(8, false, true, 0);
	ring_fixture_set_desc(f, 0, f->pool_gpa, 0, VIRTQ_DESC_F_INDIRECT, 0);
	ring_fixture_offer(f, 0);
	expect_pop_error(f, VRING_ERR_INDIRECT_LEN);

	/* Larger than any queue: refused before it is walked. */
	f = ring_fixture_new(8, false, true, 0);
	ring_fixture_set_desc(f, 0, f->pool_gpa, 0xfffffff0u, VIRTQ_DESC_F_INDIRECT, 0);
	ring_fixture_offer(f, 0);
	expect_pop_error(f, VRING_ERR_INDIRECT_LEN);
}

/* drv:…/Indirect Descriptors (R-SR-05): no INDIRECT unless negotiated. */
static void test_indirect_not_negotiated(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);

	(void)state;
	f->pool[0] = (struct virtq_desc){ring_fixture_buf(f, 0), 8, 0, 0};
	ring_fixture_set_desc(f, 0, f->pool_gpa, 16, VIRTQ_DESC_F_INDIRECT, 0);
	ring_fixture_offer(f, 0);
	expect_pop_error(f, VRING_ERR_INDIRECT_FEATURE);
}

/* The indirect table itself must lie in one guest region. */
static void test_indirect_table_outside(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, true, 0);

	(void)state;
	ring_fixture_set_desc(f, 0, RING_FIXTURE_GPA + f->mem_len - 16, 32, VIRTQ_DESC_F_INDIRECT,
			      0);
	ring_fixture_offer(f, 0);
	expect_pop_error(f, VRING_ERR_ADDRESS);

	f = ring_fixture_new(8, false, true, 8192);
	ring_fixture_set_desc(f, 0, RING_FIXTURE_GPA + 8192 - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	ring_fixture_offer(f, 0);
	expect_pop_error(f, VRING_ERR_ADDRESS);
}

/* Loops and next range inside an indirect table; the table ends at the guard page. */
static void test_indirect_loop_and_next(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, true, 0);
	uint64_t tab_gpa = RING_FIXTURE_GPA + f->mem_len - 32;
	struct virtq_desc *tab = ring_fixture_host(f, tab_gpa);

	(void)state;
	tab[0] = (struct virtq_desc){ring_fixture_buf(f, 0), 8, VIRTQ_DESC_F_NEXT, 1};
	tab[1] = (struct virtq_desc){ring_fixture_buf(f, 1), 8, VIRTQ_DESC_F_NEXT, 0};
	ring_fixture_set_desc(f, 0, tab_gpa, 32, VIRTQ_DESC_F_INDIRECT, 0);
	ring_fixture_offer(f, 0);
	expect_pop_error(f, VRING_ERR_CHAIN_LOOP);

	f = ring_fixture_new(8, false, true, 0);
	tab = ring_fixture_host(f, tab_gpa);
	tab[0] = (struct virtq_desc){ring_fixture_buf(f, 0), 8, VIRTQ_DESC_F_NEXT, 1};
	tab[1] = (struct virtq_desc){ring_fixture_buf(f, 1), 8, VIRTQ_DESC_F_NEXT, 2};
	ring_fixture_set_desc(f, 0, tab_gpa, 32, VIRTQ_DESC_F_INDIRECT, 0);
	ring_fixture_offer(f, 0);
	expect_pop_error(f, VRING_ERR_NEXT_RANGE);
}

/* drv:BF/Message Framing (R-SR-02): writable elements after all readable ones. */
static void test_readable_after_writable(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);

	(void)state;
	ring_fixture_set_desc(f, 0, ring_fixture_buf(f, 0), 8,
			      VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	ring_fixture_set_desc(f, 1, ring_fixture_buf(f, 1), 8, 0, 0);
	ring_fixture_offer(f, 0);
	expect_pop_error(f, VRING_ERR_WRITABLE_ORDER);
}

/* drv:BF/Virtqueues/The Virtqueue Available Ring (R-SR-07): idx moves <= queue size. */
static void test_avail_idx_ahead(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);

	(void)state;
	ring_fixture_set_desc(f, 0, ring_fixture_buf(f, 0), 8, 0, 0);
	f->avail->idx = 9;
	expect_pop_error(f, VRING_ERR_AVAIL_IDX);

	/* Decreasing avail idx looks like a jump of almost 2^16. */
	f = ring_fixture_new(8, false, false, 0);
	f->avail->idx = 0xffff;
	assert_true(dev_ops->has_avail(&f->ring));
	expect_broken(f, VRING_ERR_AVAIL_IDX);
	ring_fixture_free(f);
}

/* dev:BF/Virtqueues/The Virtqueue Available Ring: a head indexes the table. */
static void test_head_out_of_range(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);

	(void)state;
	desc_at_end(f);
	ring_fixture_offer(f, 8);
	expect_pop_error(f, VRING_ERR_HEAD_RANGE);
}

/* A head offered again while still in flight. */
static void test_head_in_flight(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);
	struct vring_iov iov[2];
	struct vring_chain c;

	(void)state;
	ring_fixture_set_desc(f, 3, ring_fixture_buf(f, 0), 8, 0, 0);
	ring_fixture_offer(f, 3);
	ring_fixture_offer(f, 3);
	assert_int_equal(dev_ops->pop(&f->ring, &c, iov, 2), 0);
	expect_pop_error(f, VRING_ERR_HEAD_IN_FLIGHT);
}

/* 32-bit chain byte total, with a translate that maps a huge guest space. */
static void *huge_translate(const void *opaque, uint64_t addr, uint64_t len, uint64_t *contig)
{
	if (addr >= (1ull << 40)) {
		*contig = len;
		return (void *)(uintptr_t)opaque; /* never dereferenced by the ring */
	}
	return ring_fixture_translate(opaque, addr, len, contig);
}

static void test_bytes_overflow(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);

	(void)state;
	f->dev.mem.translate = huge_translate;
	ring_fixture_set_desc(f, 0, 1ull << 40, 0x80000000u, VIRTQ_DESC_F_NEXT, 1);
	ring_fixture_set_desc(f, 1, 1ull << 41, 0x80000000u, VIRTQ_DESC_F_WRITE, 0);
	ring_fixture_offer(f, 0);
	expect_pop_error(f, VRING_ERR_BYTES_OVERFLOW);
}

static void test_iov_capacity(void **state)
{
	struct ring_fixture *f = ring_fixture_new(16, false, false, 0);
	struct vring_iov iov[8];
	struct vring_chain c;

	(void)state;
	for (uint16_t i = 0; i < 9; i++)
		ring_fixture_set_desc(f, i, ring_fixture_buf(f, i), 8,
				      i < 8 ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	ring_fixture_offer(f, 0);
	assert_int_equal(dev_ops->pop(&f->ring, &c, iov, 8), -EPROTO);
	expect_broken(f, VRING_ERR_IOV_CAPACITY);
	ring_fixture_free(f);
}

/* STYLE.md checklist 5: push only heads in flight. */
static void test_push_not_in_flight(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);

	(void)state;
	assert_int_equal(dev_ops->push(&f->ring, 2, 0), -EPROTO);
	expect_broken(f, VRING_ERR_PUSH_NOT_IN_FLIGHT);
	ring_fixture_free(f);
	f = ring_fixture_new(8, false, false, 0);
	assert_int_equal(dev_ops->push(&f->ring, 9, 0), -EPROTO);
	expect_broken(f, VRING_ERR_PUSH_NOT_IN_FLIGHT);
	ring_fixture_free(f);
}

/* dev:BF/Virtqueues/The Virtqueue Used Ring (D-SR-11): len <= writable bytes. */
static void test_push_len_above_writable(void **state)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);
	struct vring_iov iov[2];
	struct vring_chain c;

	(void)state;
	ring_fixture_set_desc(f, 0, ring_fixture_buf(f, 0), 8, VIRTQ_DESC_F_NEXT, 1);
	ring_fixture_set_desc(f, 1, ring_fixture_buf(f, 1), 16, VIRTQ_DESC_F_WRITE, 0);
	ring_fixture_offer(f, 0);
	assert_int_equal(dev_ops->pop(&f->ring, &c, iov, 2), 0);
	assert_int_equal(dev_ops->push(&f->ring, 0, 17), -EPROTO);
	expect_broken(f, VRING_ERR_PUSH_LEN);
	ring_fixture_free(f);
}

/* Driver side vs a hostile device (STYLE.md checklist 6). */
static struct ring_fixture *drv_with_two_posted(int *t)
{
	struct ring_fixture *f = ring_fixture_new(8, false, false, 0);
	struct virtio_sg sg = {.addr = ring_fixture_buf(f, 0), .len = 64};

	assert_int_equal(virtqueue_add_inbuf(&f->vq, &sg, 1, &t[0]), 0);
	assert_int_equal(virtqueue_add_inbuf(&f->vq, &sg, 1, &t[1]), 0);
	virtqueue_kick(&f->vq);
	return f;
}

static void expect_drv_broken(struct ring_fixture *f, int *t)
{
	struct virtio_sg sg = {.addr = ring_fixture_buf(f, 0), .len = 64};

	assert_null(virtqueue_get_buf(&f->vq, NULL));
	assert_true(virtqueue_is_broken(&f->vq));
	assert_int_equal(virtqueue_add_inbuf(&f->vq, &sg, 1, t), -EIO);
	assert_null(virtqueue_get_buf(&f->vq, NULL));
	assert_false(virtqueue_kick(&f->vq));
	assert_false(virtqueue_more_used(&f->vq));
	ring_fixture_free(f);
}

/* drv:BF/Virtqueues/The Virtqueue Used Ring: id is a head the driver posted. */
static void test_drv_bogus_used_id(void **state)
{
	int t[3];
	struct ring_fixture *f = drv_with_two_posted(t);

	(void)state;
	f->used->ring[0] = (struct virtq_used_elem){.id = 8, .len = 0};
	f->used->idx = 1;
	expect_drv_broken(f, t);

	f = drv_with_two_posted(t);
	f->used->ring[0] = (struct virtq_used_elem){.id = 0xffffffffu, .len = 0};
	f->used->idx = 1;
	expect_drv_broken(f, t);
}

static void test_drv_used_id_not_in_flight(void **state)
{
	int t[3];
	struct ring_fixture *f = drv_with_two_posted(t);

	(void)state;
	f->used->ring[0] = (struct virtq_used_elem){.id = 5, .len = 0};
	f->used->idx = 1;
	expect_drv_broken(f, t);

	/* The same head returned twice. */
	f = drv_with_two_posted(t);
	f->used->ring[0] = (struct virtq_used_elem){.id = 0, .len = 0};
	f->used->ring[1] = (struct virtq_used_elem){.id = 0, .len = 0};
	f->used->idx = 2;
	assert_ptr_equal(virtqueue_get_buf(&f->vq, NULL), &t[0]);
	expect_drv_broken(f, t);
}

/* D-SR-11 seen from the driver: len above the writable bytes posted. */
static void test_drv_used_len_too_large(void **state)
{
	int t[3];
	struct ring_fixture *f = drv_with_two_posted(t);

	(void)state;
	f->used->ring[0] = (struct virtq_used_elem){.id = 0, .len = 65};
	f->used->idx = 1;
	expect_drv_broken(f, t);
}

/* More used entries than were ever made available. */
static void test_drv_used_idx_ahead(void **state)
{
	int t[3];
	struct ring_fixture *f = drv_with_two_posted(t);

	(void)state;
	f->used->idx = 3;
	expect_drv_broken(f, t);
}

/* One hostile chain (at head 4) for the mid-burst test, and the error it must give. */
struct burst_case {
	uint16_t flags, next;
	uint64_t addr_off; /* from the start of guest memory; UINT64_MAX: past its end */
	uint16_t head;	   /* what the avail ring names */
	enum vring_error err;
};

/*
 * A burst checks each chain as a single pop does: two good chains, then a
 * hostile one, then a good one. The burst returns the two, stops at the bad
 * one with the error a single pop gives, and the queue is broken.
 */
static void test_burst_hostile_in_the_middle(void **state)
{
	static const struct burst_case cases[] = {
		{0, 0, 0, 8, VRING_ERR_HEAD_RANGE},		    /* R-SR head < num */
		{0, 0, 0, 0, VRING_ERR_HEAD_IN_FLIGHT},		    /* head 0 popped just before */
		{VIRTQ_DESC_F_NEXT, 8, 0, 4, VRING_ERR_NEXT_RANGE}, /* next outside the table */
		{VIRTQ_DESC_F_NEXT, 4, 0, 4, VRING_ERR_CHAIN_LOOP}, /* next = itself */
		{0, 0, UINT64_MAX, 4, VRING_ERR_ADDRESS},	    /* outside guest memory */
		{VIRTQ_DESC_F_INDIRECT, 0, 0, 4, VRING_ERR_INDIRECT_FEATURE}, /* not negotiated */
		{VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 5, 0, 4, VRING_ERR_WRITABLE_ORDER},
	};

	(void)state;
	for (unsigned int k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct burst_case *bc = &cases[k];
		struct ring_fixture *f = ring_fixture_new(8, false, false, 0);
		uint64_t addr = bc->addr_off == UINT64_MAX ? RING_FIXTURE_GPA + f->mem_len
							   : ring_fixture_buf(f, 4);
		struct vring_iov iov[20];
		struct vring_chain c[4];

		ring_fixture_set_desc(f, 0, ring_fixture_buf(f, 0), 8, 0, 0);
		ring_fixture_set_desc(f, 1, ring_fixture_buf(f, 1), 8, 0, 0);
		ring_fixture_set_desc(f, 4, addr, 8, bc->flags, bc->next);
		ring_fixture_set_desc(f, 5, ring_fixture_buf(f, 5), 8, 0, 0); /* readable after W */
		ring_fixture_set_desc(f, 6, ring_fixture_buf(f, 6), 8, 0, 0);
		ring_fixture_offer(f, 0);
		ring_fixture_offer(f, 1);
		ring_fixture_offer(f, bc->head);
		ring_fixture_offer(f, 6);
		assert_int_equal(dev_ops->pop_burst(&f->ring, c, 4, iov, 20, 16), 2);
		assert_int_equal(c[0].head, 0);
		assert_int_equal(c[1].head, 1);
		assert_ptr_equal(iov[1].base, ring_fixture_host(f, ring_fixture_buf(f, 1)));
		expect_broken(f, bc->err);
		assert_int_equal(dev_ops->pop_burst(&f->ring, c, 4, iov, 20, 16), -EIO);
		ring_fixture_free(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_descriptor_loop),
		cmocka_unit_test(test_chain_longer_than_queue),
		cmocka_unit_test(test_next_out_of_range),
		cmocka_unit_test(test_address_outside_memory),
		cmocka_unit_test(test_address_len_overflow),
		cmocka_unit_test(test_nested_indirect),
		cmocka_unit_test(test_indirect_with_next),
		cmocka_unit_test(test_indirect_len),
		cmocka_unit_test(test_indirect_not_negotiated),
		cmocka_unit_test(test_indirect_table_outside),
		cmocka_unit_test(test_indirect_loop_and_next),
		cmocka_unit_test(test_readable_after_writable),
		cmocka_unit_test(test_avail_idx_ahead),
		cmocka_unit_test(test_head_out_of_range),
		cmocka_unit_test(test_head_in_flight),
		cmocka_unit_test(test_bytes_overflow),
		cmocka_unit_test(test_iov_capacity),
		cmocka_unit_test(test_push_not_in_flight),
		cmocka_unit_test(test_push_len_above_writable),
		cmocka_unit_test(test_drv_bogus_used_id),
		cmocka_unit_test(test_drv_used_id_not_in_flight),
		cmocka_unit_test(test_drv_used_len_too_large),
		cmocka_unit_test(test_drv_used_idx_ahead),
		cmocka_unit_test(test_burst_hostile_in_the_middle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
