// SPDX-License-Identifier: MIT
/*
 * virtqueue_publish() on both ring formats (ring_pair: the driver through
 * virtqueue_*, the device through struct vring_dev_ops):
 *  - what was added is visible to the device's pop after publish alone, and
 *    not before (R-SR-11: avail->idx stored after the ring entries; R-PR-08:
 *    the batch's first head flags stored after the rest of the batch);
 *  - publish is no kick decision: the next kick_prepare decides for every
 *    buffer added since the previous one, published or not (EVENT_IDX and
 *    flag-based suppression, §2.7.10 / §2.8.10);
 *  - after more than a ring's worth of publish-only buffers (and well over
 *    65536 of them) kick_prepare asks for a kick: num_added saturates;
 *  - a broken queue publishes nothing.
 * The device's suppression words are written by hand where a test needs a
 * kick asked for at a given place (the device's own notify is disabled so
 * its pops leave them alone).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <vireo/spec.h>
#include <vireo/virtqueue.h>
#include <vireo/vring.h>

#include "tests/lib/ring_pair.h"

#define PUB_NUM 8u

static const enum ring_pair_format formats[] = {RING_PAIR_SPLIT, RING_PAIR_PACKED};

static bool is_packed(const struct ring_pair *p)
{
	return p->ops == &vring_packed_dev_ops;
}

/* Add one device-readable buffer holding @seq; its token is @seq + 1. */
static void pub_add(struct ring_pair *p, unsigned int seq)
{
	struct virtio_sg sg = {ring_pair_buf(p, seq), 8};
	uint64_t v = seq;

	memcpy(ring_pair_host(sg.addr), &v, sizeof(v));
	assert_int_equal(virtqueue_add_outbuf(&p->vq, &sg, 1, (void *)(uintptr_t)(seq + 1)), 0);
}

/* Device: pop one buffer and check it holds @seq. Return: pop's result. */
static int pub_pop(struct ring_pair *p, unsigned int seq, uint16_t *head)
{
	struct vring_iov iov[2];
	struct vring_chain c;
	uint64_t v;
	int r = p->ops->pop(&p->dev, &c, iov, 2);

	if (r)
		return r;
	assert_int_equal(c.readable, 1);
	assert_int_equal(iov[0].len, 8);
	memcpy(&v, iov[0].base, sizeof(v));
	assert_int_equal(v, seq);
	*head = c.head;
	return 0;
}

/* Device uses @head; driver takes it back and checks the token. */
static void pub_complete(struct ring_pair *p, uint16_t head, unsigned int seq)
{
	uint32_t len;

	assert_int_equal(p->ops->push(&p->dev, head, 0), 0);
	p->ops->flush(&p->dev);
	assert_ptr_equal(virtqueue_get_buf(&p->vq, &len), (void *)(uintptr_t)(seq + 1));
}

/*
 * Device, by hand: with EVENT_IDX, ask for a kick when the buffer @ahead
 * places after the driver's next one is made available (split: avail_event,
 * §2.7.10; packed: DESC at that ring position and lap, §2.8.10).
 */
static void pub_want_kick_at(struct ring_pair *p, int ahead)
{
	uint8_t *dev = p->mem + p->device_addr;

	if (!is_packed(p)) {
		le16 *ev = (le16 *)(void *)(dev + virtq_used_size(p->num) - sizeof(le16));

		*ev = cpu_to_le16((uint16_t)(p->vq.split.avail_idx_shadow + ahead));
		return;
	}
	struct pvirtq_event_suppress *e = (struct pvirtq_event_suppress *)(void *)dev;
	int pos = (int)p->vq.packed.next_avail + ahead;
	bool wrap = p->vq.packed.avail_wrap;

	while (pos >= (int)p->num) {
		pos -= p->num;
		wrap = !wrap;
	}
	while (pos < 0) {
		pos += p->num;
		wrap = !wrap;
	}
	e->off_wrap = cpu_to_le16((uint16_t)(pos | (wrap ? 1u << PVIRTQ_EVENT_WRAP_SHIFT : 0u)));
	e->flags = cpu_to_le16(RING_EVENT_FLAGS_DESC);
}

static struct ring_pair *pub_pair(enum ring_pair_format f, bool event_idx)
{
	struct ring_pair *p = ring_pair_new(f, PUB_NUM, event_idx, false, false);

	/* Our pops must not move the words the test writes. */
	p->ops->disable_notify(&p->dev);
	return p;
}

/*
 * R-SR-11 / R-PR-08: publish alone makes the buffers visible, in batches,
 * with the data written before the add; nothing is visible before it.
 */
static void test_publish_visible(void **state)
{
	(void)state;
	for (unsigned int k = 0; k < 2; k++) {
		struct ring_pair *p = pub_pair(formats[k], true);
		unsigned int seq = 0;
		uint16_t heads[PUB_NUM];

		for (unsigned int round = 0; round < 3 * PUB_NUM; round++) {
			unsigned int n = 1 + round % 3, first = seq;

			for (unsigned int i = 0; i < n; i++)
				pub_add(p, seq++);
			assert_int_equal(pub_pop(p, 0, &heads[0]), -EAGAIN);
			virtqueue_publish(&p->vq);
			virtqueue_publish(&p->vq); /* a second one has nothing to do */
			for (unsigned int i = 0; i < n; i++)
				assert_int_equal(pub_pop(p, first + i, &heads[i]), 0);
			assert_int_equal(pub_pop(p, 0, &heads[0]), -EAGAIN);
			for (unsigned int i = 0; i < n; i++)
				pub_complete(p, heads[i], first + i);
		}
		assert_false(virtqueue_is_broken(&p->vq));
		assert_int_equal(p->ops->error(&p->dev), VRING_ERR_NONE);
		ring_pair_free(p);
	}
}

/* EVENT_IDX: the kick decision after publish covers the published buffers. */
static void test_kick_after_publish_event_idx(void **state)
{
	(void)state;
	for (unsigned int k = 0; k < 2; k++) {
		struct ring_pair *p = pub_pair(formats[k], true);
		uint16_t h[4];

		/* The device wants a kick at the second of three published buffers. */
		pub_want_kick_at(p, 1);
		for (unsigned int i = 0; i < 3; i++)
			pub_add(p, i);
		virtqueue_publish(&p->vq);
		for (unsigned int i = 0; i < 3; i++)
			assert_int_equal(pub_pop(p, i, &h[i]), 0);
		assert_true(virtqueue_kick_prepare(&p->vq));
		assert_false(virtqueue_kick_prepare(&p->vq));
		for (unsigned int i = 0; i < 3; i++)
			pub_complete(p, h[i], i);

		/* The event is behind: two published buffers do not cross it. */
		pub_want_kick_at(p, -1);
		pub_add(p, 3);
		pub_add(p, 4);
		virtqueue_publish(&p->vq);
		assert_false(virtqueue_kick_prepare(&p->vq));

		/* Event at the third buffer: two published, one not yet. */
		pub_want_kick_at(p, 2);
		pub_add(p, 5);
		pub_add(p, 6);
		virtqueue_publish(&p->vq);
		pub_add(p, 7);
		assert_true(virtqueue_kick_prepare(&p->vq));

		/* Event at the first of two publishes, then no add before the decision. */
		for (unsigned int i = 0; i < 5; i++) {
			assert_int_equal(pub_pop(p, 3 + i, &h[0]), 0);
			pub_complete(p, h[0], 3 + i);
		}
		pub_want_kick_at(p, 0);
		pub_add(p, 8);
		virtqueue_publish(&p->vq);
		pub_add(p, 9);
		virtqueue_publish(&p->vq);
		assert_true(virtqueue_kick_prepare(&p->vq));
		assert_false(virtqueue_is_broken(&p->vq));
		ring_pair_free(p);
	}
}

/* Without EVENT_IDX: the flags the device set when the decision is made. */
static void test_kick_after_publish_flags(void **state)
{
	(void)state;
	for (unsigned int k = 0; k < 2; k++) {
		struct ring_pair *p = pub_pair(formats[k], false);
		uint16_t h;

		/* Kicks wanted (split used->flags 0, packed ENABLE). */
		assert_false(p->ops->enable_notify(&p->dev));
		pub_add(p, 0);
		virtqueue_publish(&p->vq);
		assert_true(virtqueue_kick_prepare(&p->vq));
		assert_int_equal(pub_pop(p, 0, &h), 0);
		pub_complete(p, h, 0);

		/* Not wanted (NO_NOTIFY, DISABLE). */
		p->ops->disable_notify(&p->dev);
		pub_add(p, 1);
		virtqueue_publish(&p->vq);
		assert_false(virtqueue_kick_prepare(&p->vq));
		ring_pair_free(p);
	}
}

/*
 * @cycles publish-only round trips of one buffer, then the device asks for a
 * kick three buffers ahead: kick_prepare must say yes, whatever a wrapped
 * count would compare.
 */
static void pub_cycles_then_kick(enum ring_pair_format f, unsigned int cycles)
{
	struct ring_pair *p = pub_pair(f, true);
	uint16_t h;

	assert_false(virtqueue_kick_prepare(&p->vq));
	for (unsigned int i = 0; i < cycles; i++) {
		pub_add(p, i);
		virtqueue_publish(&p->vq);
		assert_int_equal(pub_pop(p, i, &h), 0);
		pub_complete(p, h, i);
	}
	pub_want_kick_at(p, 3);
	assert_true(virtqueue_kick_prepare(&p->vq));
	assert_false(virtqueue_is_broken(&p->vq));
	ring_pair_free(p);
}

/* Below a ring's worth the event compare still decides (control for the next test). */
static void test_few_published_event_ahead(void **state)
{
	(void)state;
	for (unsigned int k = 0; k < 2; k++) {
		struct ring_pair *p = pub_pair(formats[k], true);
		uint16_t h;

		for (unsigned int i = 0; i < PUB_NUM - 1; i++) {
			pub_add(p, i);
			virtqueue_publish(&p->vq);
			assert_int_equal(pub_pop(p, i, &h), 0);
			pub_complete(p, h, i);
		}
		pub_want_kick_at(p, 3);
		assert_false(virtqueue_kick_prepare(&p->vq));
		ring_pair_free(p);
	}
}

/* Past a ring's worth, past 65536 (a wrapping u16 count reads 1), and far past. */
static void test_publish_only_saturates(void **state)
{
	static const unsigned int cycles[] = {3 * PUB_NUM + 1, 65536u + 1, 3u * 65536u + 5};

	(void)state;
	for (unsigned int k = 0; k < 2; k++)
		for (unsigned int c = 0; c < sizeof(cycles) / sizeof(cycles[0]); c++)
			pub_cycles_then_kick(formats[k], cycles[c]);
}

static bool pub_notify_fails(struct virtqueue *vq)
{
	(void)vq;
	return false;
}

/* A broken queue publishes nothing: the device sees no buffer. */
static void test_publish_broken_noop(void **state)
{
	(void)state;
	for (unsigned int k = 0; k < 2; k++) {
		struct ring_pair *p = pub_pair(formats[k], true);
		uint16_t h;

		pub_add(p, 0);
		pub_add(p, 1);
		/* A notification the transport cannot deliver breaks the queue. */
		p->vq.notify = pub_notify_fails;
		assert_false(virtqueue_notify(&p->vq));
		assert_true(virtqueue_is_broken(&p->vq));
		virtqueue_publish(&p->vq);
		assert_int_equal(pub_pop(p, 0, &h), -EAGAIN);
		assert_false(virtqueue_kick_prepare(&p->vq));
		assert_int_equal(pub_pop(p, 0, &h), -EAGAIN);
		ring_pair_free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_publish_visible),
		cmocka_unit_test(test_kick_after_publish_event_idx),
		cmocka_unit_test(test_kick_after_publish_flags),
		cmocka_unit_test(test_few_published_event_ahead),
		cmocka_unit_test(test_publish_only_saturates),
		cmocka_unit_test(test_publish_broken_noop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
