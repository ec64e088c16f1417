// SPDX-License-Identifier: MIT
/*
 * The packed ring's push burst (ring/packed_device.c) on hand-made rings,
 * read back slot by slot: a batch of used descriptors is written with the
 * first one's flags last, at flush (one release store publishes the batch:
 * the driver polls only the next descriptor's flags, packed-ring.tex
 * "Polling of available and used descriptors"), each later
 * descriptor with the wrap counter of the lap it lands in when the batch
 * crosses the ring's end (§2.8.1), an IN_ORDER batch as one descriptor
 * (§2.8.9), and the driver's event offset anywhere inside a batch asks for
 * a notification (§2.8.10). The device is reached only through struct
 * vring_dev_ops, as the core reaches it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <vireo/spec.h>
#include <vireo/vring.h>

#include "tests/lib/ring_pair.h"

#define PB_NUM 4u
#define AVAIL VIRTQ_DESC_F_AVAIL
#define USED VIRTQ_DESC_F_USED
#define WRITE VIRTQ_DESC_F_WRITE

static struct pvirtq_desc *pb_ring(struct ring_pair *p)
{
	return (struct pvirtq_desc *)(void *)(p->mem + p->desc_addr);
}

static struct pvirtq_event_suppress *pb_driver_event(struct ring_pair *p)
{
	return (struct pvirtq_event_suppress *)(void *)(p->mem + p->driver_addr);
}

/* The driver makes slot @slot available in lap @wrap: 8 writable bytes, id @id, flags last. */
static void pb_offer(struct ring_pair *p, uint16_t slot, uint16_t id, bool wrap)
{
	struct pvirtq_desc *d = &pb_ring(p)[slot];

	d->addr = ring_pair_buf(p, slot);
	d->len = 8;
	d->id = id;
	atomic_store_explicit((_Atomic uint16_t *)&d->flags,
			      (uint16_t)(WRITE | (wrap ? AVAIL : USED)), memory_order_release);
}

/* The flags of a used descriptor in lap @wrap (§2.8.1), WRITE if it says @len bytes (§2.8.3). */
static uint16_t pb_used_flags(bool wrap, uint32_t len)
{
	return (uint16_t)((wrap ? AVAIL | USED : 0) | (len ? WRITE : 0));
}

static void pb_expect_slot(struct ring_pair *p, uint16_t slot, uint16_t flags, uint16_t id,
			   uint32_t len)
{
	const struct pvirtq_desc *d = &pb_ring(p)[slot];

	assert_int_equal(d->flags, flags);
	assert_int_equal(d->id, id);
	assert_int_equal(d->len, len);
}

/*
 * Move both positions to slot 2 of the first lap: two buffers popped,
 * pushed, flushed, with the notification decision taken.
 */
static void pb_first_two(struct ring_pair *p)
{
	struct vring_iov iov[8];
	struct vring_chain c[2];
	uint16_t ids[2] = {0, 1};

	pb_offer(p, 0, 0, true);
	pb_offer(p, 1, 1, true);
	assert_int_equal(p->ops->pop_burst(&p->dev, c, 2, iov, 8, 4), 2);
	assert_int_equal(p->ops->push_burst(&p->dev, ids, NULL, 2), 0);
	p->ops->flush(&p->dev);
	(void)p->ops->need_notify(&p->dev);
}

/* Four buffers in slots 2, 3 (lap 1) and 0, 1 (lap 2), ids 0..3, all popped. */
static void pb_four_across_end(struct ring_pair *p)
{
	struct vring_iov iov[16];
	struct vring_chain c[4];

	pb_offer(p, 2, 0, true);
	pb_offer(p, 3, 1, true);
	pb_offer(p, 0, 2, false);
	pb_offer(p, 1, 3, false);
	assert_int_equal(p->ops->pop_burst(&p->dev, c, 4, iov, 16, 4), 4);
}

/*
 * D-PR-02: a burst out of order across the ring's end, used in push order. Before the
 * flush the middle descriptors are written (each with its own lap's flags),
 * the first still holds what the driver wrote, so the driver sees nothing;
 * the flush writes the first's flags and the whole batch is there.
 */
static void test_burst_first_flags_last_across_end(void **state)
{
	struct ring_pair *p = ring_pair_new(RING_PAIR_PACKED, PB_NUM, false, false, false);
	uint16_t ids[4] = {1, 0, 3, 2};
	uint32_t lens[4] = {5, 0, 8, 1};
	struct vring_dev_position pos;

	(void)state;
	pb_first_two(p);
	pb_four_across_end(p);
	assert_int_equal(p->ops->push_burst(&p->dev, ids, lens, 4), 0);
	pb_expect_slot(p, 2, WRITE | AVAIL, 1, 5); /* id, len written; flags the driver's */
	pb_expect_slot(p, 3, pb_used_flags(true, 0), 0, 0);
	pb_expect_slot(p, 0, pb_used_flags(false, 8), 3, 8);
	/* The last one pushed waits for the flush too (IN_ORDER could still cover it). */
	pb_expect_slot(p, 1, WRITE | USED, 3, 8);
	assert_false(p->ops->need_notify(&p->dev)); /* nothing published yet */
	p->ops->flush(&p->dev);
	pb_expect_slot(p, 1, pb_used_flags(false, 1), 2, 1);
	pb_expect_slot(p, 2, pb_used_flags(true, 5), 1, 5);
	p->ops->get_position(&p->dev, &pos);
	assert_int_equal(pos.used_idx, 2);
	assert_false(pos.used_wrap);
	assert_int_equal(p->ops->in_flight(&p->dev), 0);
	ring_pair_free(p);
}

/* Two bursts before one flush: still one batch, its first flags written last. */
static void test_two_bursts_one_batch(void **state)
{
	struct ring_pair *p = ring_pair_new(RING_PAIR_PACKED, PB_NUM, false, false, false);
	uint16_t a[2] = {0, 1}, b[2] = {2, 3};

	(void)state;
	pb_first_two(p);
	pb_four_across_end(p);
	assert_int_equal(p->ops->push_burst(&p->dev, a, NULL, 2), 0);
	assert_int_equal(p->ops->push_burst(&p->dev, b, NULL, 2), 0);
	pb_expect_slot(p, 2, WRITE | AVAIL, 0, 0);
	pb_expect_slot(p, 3, pb_used_flags(true, 0), 1, 0);
	pb_expect_slot(p, 0, pb_used_flags(false, 0), 2, 0);
	p->ops->flush(&p->dev);
	pb_expect_slot(p, 1, pb_used_flags(false, 0), 3, 0);
	pb_expect_slot(p, 2, pb_used_flags(true, 0), 0, 0);
	ring_pair_free(p);
}

/*
 * §2.8.9 IN_ORDER: buffers used completely are covered by the next used
 * descriptor, so a burst crossing the ring's end is one descriptor in the
 * batch's first slot, with the last id, and the position skips all four.
 */
static void test_in_order_burst_is_one_descriptor(void **state)
{
	struct ring_pair *p = ring_pair_new(RING_PAIR_PACKED, PB_NUM, false, false, true);
	uint16_t ids[4] = {0, 1, 2, 3};
	uint32_t lens[4] = {8, 8, 8, 3};
	struct vring_dev_position pos;

	(void)state;
	pb_first_two(p);
	pb_four_across_end(p);
	assert_int_equal(p->ops->push_burst(&p->dev, ids, lens, 4), 0);
	pb_expect_slot(p, 2, WRITE | AVAIL, 0, 8); /* nothing written before the flush */
	p->ops->flush(&p->dev);
	pb_expect_slot(p, 2, pb_used_flags(true, 3), 3, 3);
	pb_expect_slot(p, 3, WRITE | AVAIL, 1, 8); /* skipped slots left alone */
	pb_expect_slot(p, 0, WRITE | USED, 2, 8);
	p->ops->get_position(&p->dev, &pos);
	assert_int_equal(pos.used_idx, 2);
	assert_false(pos.used_wrap);
	ring_pair_free(p);
}

/*
 * §2.8.10 with EVENT_IDX: a batch over slots 2, 3 (lap 1) and 0, 1 (lap 2)
 * crossed the driver's event offset if it is any of them; not the slot after.
 */
static void test_need_notify_event_inside_burst(void **state)
{
	static const struct {
		uint16_t slot;
		bool wrap;
		bool notify;
	} cases[] = {
		{2, true, true},  {3, true, true},   {0, false, true},
		{1, false, true}, {2, false, false}, {1, true, false},
	};

	(void)state;
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ring_pair *p = ring_pair_new(RING_PAIR_PACKED, PB_NUM, true, false, false);
		struct pvirtq_event_suppress *ev = pb_driver_event(p);
		uint16_t ids[4] = {0, 1, 2, 3};

		pb_first_two(p);
		ev->off_wrap = (uint16_t)(cases[i].slot |
					  (cases[i].wrap ? 1u << PVIRTQ_EVENT_WRAP_SHIFT : 0u));
		ev->flags = RING_EVENT_FLAGS_DESC;
		pb_four_across_end(p);
		assert_int_equal(p->ops->push_burst(&p->dev, ids, NULL, 4), 0);
		p->ops->flush(&p->dev);
		assert_int_equal(p->ops->need_notify(&p->dev), cases[i].notify);
		ring_pair_free(p);
	}
}

/*
 * Checklist item 5 in a burst: a bad id stops it; the ones before it are
 * recorded, the queue is broken and the flush publishes nothing.
 */
static void test_burst_bad_id_publishes_nothing(void **state)
{
	struct ring_pair *p = ring_pair_new(RING_PAIR_PACKED, PB_NUM, false, false, false);
	uint16_t ids[3] = {1, 1, 0};

	(void)state;
	pb_first_two(p);
	pb_four_across_end(p);
	assert_int_equal(p->ops->push_burst(&p->dev, ids, NULL, 3), -EPROTO);
	assert_int_equal(p->ops->error(&p->dev), VRING_ERR_PUSH_NOT_IN_FLIGHT);
	p->ops->flush(&p->dev);
	assert_int_equal(pb_ring(p)[2].flags, WRITE | AVAIL);
	assert_int_equal(p->ops->push_burst(&p->dev, ids, NULL, 1), -EIO);
	ring_pair_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_first_flags_last_across_end),
		cmocka_unit_test(test_two_bursts_one_batch),
		cmocka_unit_test(test_in_order_burst_is_one_descriptor),
		cmocka_unit_test(test_need_notify_event_inside_burst),
		cmocka_unit_test(test_burst_bad_id_publishes_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
