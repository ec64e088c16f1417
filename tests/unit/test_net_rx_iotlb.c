// SPDX-License-Identifier: MIT
/*
 * The receive path behind a vIOMMU: a receive buffer at an IOVA whose
 * translation is not known yet (a vhost-user IOTLB miss, D-VU-IOTLB-05)
 * makes the pop fail with nothing consumed. The frame is held, not dropped
 * as rx-no-buffer, and placed in order once the queue is kicked again (the
 * update's retry); the hold is bounded (rx-iotlb-wait beyond it), and an
 * empty ring still drops as before. The rx queue's ring memory here is the
 * harness's guest memory behind a fake translate_access that misses on one
 * chosen range, as vub_iova_translate_access() does before an update.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/net_device.h>

#include "tests/lib/net_harness.h"

#define HDR sizeof(struct vireo_net_hdr_v1)
#define HOLD_FRAMES 64u /* NET_RX_HOLD_FRAMES */

static const uint8_t mac_dev[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x0a};

/* The fake IOTLB: identity IOVAs, except [miss_lo, miss_hi) which is not mapped yet. */
struct fake_iotlb {
	struct net_harness h;
	uint64_t miss_lo, miss_hi;
	unsigned int misses;
};

static void *fake_translate(const void *opaque, uint64_t addr, uint64_t len, uint64_t *contig)
{
	const struct fake_iotlb *t = opaque;

	return vireo_guest_mem_translate(&t->h.mem, addr, len, contig);
}

static int fake_translate_access(const void *opaque, uint64_t addr, uint64_t len,
				 bool device_writes, void **host, uint64_t *contig)
{
	struct fake_iotlb *t = (struct fake_iotlb *)opaque;

	(void)device_writes;
	if (addr < t->miss_hi && addr + len > t->miss_lo) {
		t->misses++;
		return -EAGAIN; /* asked for; the test plays the update and the re-kick */
	}
	*host = vireo_guest_mem_translate(&t->h.mem, addr, len, contig);
	return *host ? 0 : -EFAULT;
}

/* A device whose receive queue goes through the fake IOTLB. */
static struct fake_iotlb *fake_new(uint64_t want)
{
	struct fake_iotlb *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	net_harness_init(&t->h, NULL, want);
	vireo_vdev_queue_disable(t->h.dev, 0);
	t->h.dev->queues[0].iova_mem = (struct vring_mem){
		.translate = fake_translate,
		.translate_access = fake_translate_access,
		.opaque = t,
	};
	assert_int_equal(vireo_vdev_queue_enable(t->h.dev, 0), 0);
	return t;
}

static void fake_free(struct fake_iotlb *t)
{
	net_harness_destroy(&t->h);
	free(t);
}

static int rx(struct fake_iotlb *t, uint32_t len, uint8_t seed)
{
	uint8_t *f = net_harness_frame(mac_dev, mac_a, len, seed);
	struct net_packet pkt = {.data = f, .len = len};
	int rc = vireo_net_device_receive(t->h.nd, &pkt);

	free(f);
	return rc;
}

static struct net_device_stats stats(struct fake_iotlb *t)
{
	struct net_device_stats st;

	vireo_net_device_get_stats(t->h.nd, &st);
	return st;
}

/* The update arrived: the range is mapped and the queue kicked again (vub_iotlb_retry). */
static void fake_update(struct fake_iotlb *t)
{
	t->miss_lo = t->miss_hi = 0;
	assert_int_equal(vireo_vdev_queue_kick_again(&t->h.dev->queues[0]), 0);
	for (int i = 0; i < 10; i++)
		(void)vireo_event_loop_run_once(&t->h.loop, 10);
}

/* The used buffer next in line is @gpa and holds frame (@len, @seed) after a header. */
static void expect_used(struct fake_iotlb *t, uint64_t gpa, uint32_t len, uint8_t seed)
{
	uint32_t used = 0;
	uint8_t *f = net_harness_frame(mac_dev, mac_a, len, seed);

	assert_int_equal(net_harness_take_rx(&t->h, &used), gpa);
	assert_int_equal(used, HDR + len);
	assert_memory_equal((const uint8_t *)net_harness_g2h(&t->h, gpa) + HDR, f, len);
	free(f);
}

/* D-VU-IOTLB-05: a miss holds the frame; the update's kick places it, and a later one, in order. */
static void test_rx_held_until_update(void **state)
{
	struct fake_iotlb *t = fake_new(0);
	uint64_t a, b;
	uint32_t used;

	(void)state;
	a = net_harness_post_rx(&t->h, 2048, 1);
	b = net_harness_post_rx(&t->h, 2048, 1);
	t->miss_lo = a;
	t->miss_hi = a + 2048;
	assert_int_equal(rx(t, 600, 1), 0);
	/* The second frame's buffer is mapped, but it must not pass the first. */
	assert_int_equal(rx(t, 700, 2), 0);
	assert_true(t->misses >= 1);
	assert_int_equal(net_harness_take_rx(&t->h, &used), 0);
	assert_int_equal(stats(t).rx_held, 2);
	assert_int_equal(stats(t).rx_frames, 0);
	assert_int_equal(net_harness_drops(&t->h, NET_DROP_RX_NO_BUFFER), 0);
	fake_update(t);
	expect_used(t, a, 600, 1);
	expect_used(t, b, 700, 2);
	assert_int_equal(stats(t).rx_frames, 2);
	/* Nothing left held: the next frame goes straight in. */
	a = net_harness_post_rx(&t->h, 2048, 1);
	assert_int_equal(rx(t, 800, 3), 0);
	expect_used(t, a, 800, 3);
	assert_int_equal(stats(t).rx_held, 2);
	assert_false(vdev_needs_reset(t->h.dev));
	fake_free(t);
}

/* MRG_RXBUF: a miss on the second buffer gives the first back; the whole frame waits. */
static void test_rx_merge_held_until_update(void **state)
{
	struct fake_iotlb *t = fake_new(VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	const struct vireo_net_hdr_v1 *hdr;
	uint8_t *f = net_harness_frame(mac_dev, mac_a, 1000, 7);
	uint64_t a, b;
	uint32_t used = 0;

	(void)state;
	a = net_harness_post_rx(&t->h, HDR + 600, 1);
	b = net_harness_post_rx(&t->h, 1024, 1);
	t->miss_lo = b;
	t->miss_hi = b + 1024;
	assert_int_equal(rx(t, 1000, 7), 0);
	assert_int_equal(net_harness_take_rx(&t->h, &used), 0);
	assert_int_equal(stats(t).rx_held, 1);
	fake_update(t);
	assert_int_equal(net_harness_take_rx(&t->h, &used), a);
	assert_int_equal(used, HDR + 600);
	assert_int_equal(net_harness_take_rx(&t->h, &used), b);
	assert_int_equal(used, 400);
	hdr = net_harness_g2h(&t->h, a);
	assert_int_equal(le16_to_cpu(hdr->num_buffers), 2); /* D-NET-23 */
	assert_memory_equal((const uint8_t *)hdr + HDR, f, 600);
	assert_memory_equal(net_harness_g2h(&t->h, b), f + 600, 400);
	assert_int_equal(net_harness_drops(&t->h, NET_DROP_RX_NO_BUFFER), 0);
	free(f);
	fake_free(t);
}

/* A front-end that never answers: the hold stops at its bound, the rest counted rx-iotlb-wait. */
static void test_rx_hold_bounded(void **state)
{
	struct fake_iotlb *t = fake_new(0);
	uint64_t a;
	uint32_t used;

	(void)state;
	a = net_harness_post_rx(&t->h, 2048, 1);
	t->miss_lo = a;
	t->miss_hi = a + 2048;
	for (unsigned int i = 0; i < HOLD_FRAMES; i++)
		assert_int_equal(rx(t, 100, (uint8_t)i), 0);
	assert_int_equal(rx(t, 100, 0xee), -ENOBUFS);
	assert_int_equal(rx(t, 100, 0xef), -ENOBUFS);
	assert_int_equal(net_harness_drops(&t->h, NET_DROP_RX_IOTLB_WAIT), 2);
	assert_int_equal(net_harness_drops(&t->h, NET_DROP_RX_NO_BUFFER), 0);
	assert_int_equal(stats(t).rx_held, HOLD_FRAMES);
	/* The update comes after all: the first held frame is placed, the others wait for buffers. */
	fake_update(t);
	expect_used(t, a, 100, 0);
	assert_int_equal(net_harness_take_rx(&t->h, &used), 0);
	/* The ring is empty now (not a miss): the held frames go as rx-no-buffer. */
	assert_int_equal(net_harness_drops(&t->h, NET_DROP_RX_NO_BUFFER), HOLD_FRAMES - 1);
	fake_free(t);
}

/* No buffer at all (no miss): dropped at once as rx-no-buffer, nothing held. */
static void test_rx_empty_ring_drops(void **state)
{
	struct fake_iotlb *t = fake_new(0);

	(void)state;
	assert_int_equal(rx(t, 100, 1), -ENOBUFS);
	assert_int_equal(net_harness_drops(&t->h, NET_DROP_RX_NO_BUFFER), 1);
	assert_int_equal(stats(t).rx_held, 0);
	assert_int_equal(t->misses, 0);
	fake_free(t);
}

/* A reset drops what was held for the old driver (counted rx-not-ready), frees it. */
static void test_rx_hold_dropped_on_reset(void **state)
{
	struct fake_iotlb *t = fake_new(0);
	uint64_t a;

	(void)state;
	a = net_harness_post_rx(&t->h, 2048, 1);
	t->miss_lo = a;
	t->miss_hi = a + 2048;
	assert_int_equal(rx(t, 100, 1), 0);
	assert_int_equal(rx(t, 100, 2), 0);
	assert_int_equal(vireo_vdev_set_status(t->h.dev, 0), 0);
	assert_int_equal(net_harness_drops(&t->h, NET_DROP_RX_NOT_READY), 2);
	fake_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rx_held_until_update),
		cmocka_unit_test(test_rx_merge_held_until_update),
		cmocka_unit_test(test_rx_hold_bounded),
		cmocka_unit_test(test_rx_empty_ring_drops),
		cmocka_unit_test(test_rx_hold_dropped_on_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
