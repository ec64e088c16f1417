// SPDX-License-Identifier: MIT
/*
 * Our virtio-mmio driver (transport/virtio_mmio_driver.c) x our virtio-mmio
 * function model through the in-process bus: blk, rng and net drivers over
 * split and packed rings, with and without EVENT_IDX, INDIRECT, IN_ORDER and
 * NOTIFICATION_DATA, data verified; a queue reset (RING_RESET). The
 * driver's register rules and a hostile device: test_virtio_mmio_hostile.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vireo/blk_device.h>
#include <vireo/device.h>
#include <vireo/driver.h>
#include <vireo/event_loop.h>
#include <vireo/guest_mem.h>
#include <vireo/net_device.h>
#include <vireo/rng_device.h>
#include <vireo/spec.h>
#include <vireo/virtio_blk.h>
#include <vireo/virtio_mmio_bus.h>
#include <vireo/virtio_mmio_driver.h>
#include <vireo/virtio_mmio_function.h>
#include <vireo/virtio_net.h>
#include <vireo/virtio_rng.h>

#include "tests/lib/bus_rig.h"
#include "tests/lib/sleep_wake.h"

struct mix {
	enum virtio_ring_format format;
	bool in_order;
	bool no_event_idx;
	bool no_indirect;
	bool no_notification_data;
};

static void mix_offer(struct vdev *dev, const struct mix *m)
{
	if (m->no_event_idx)
		dev->offered_features &= ~VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);
	if (m->no_indirect)
		dev->offered_features &= ~VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC);
}

static void mix_check(struct virtio_device *vdev, const struct mix *m)
{
	bus_rig_check_ring(vdev, m->format, !m->no_event_idx, !m->no_indirect);
	assert_int_equal(virtio_has_feature(vdev, VIRTIO_F_NOTIFICATION_DATA),
			 !m->no_notification_data);
	assert_string_equal(vdev->config->bus_name(vdev), "virtio-mmio");
}

static struct vireo_mmio_bus_options mix_opts(const struct mix *m)
{
	struct vireo_mmio_bus_options o = {0};

	o.driver.no_notification_data = m->no_notification_data;
	o.driver.dma_bytes = 8u << 20;
	return o;
}

/* ---- blk ---- */

static void blk_case(const struct mix *m)
{
	const struct bus_rig_blk_rounds how = {.seed = 777, .count = 200, .mul = 31};
	struct vireo_mmio_bus_options o = mix_opts(m);
	struct bus_rig_blk r;
	struct vireo_mmio_bus *mb;

	bus_rig_blk_init(&r, "/tmp/vireo-mmio-drv-XXXXXX", m->format, m->in_order);
	mix_offer(bus_rig_blk_vdev(&r), m);
	assert_int_equal(vireo_mmio_bus_new(&mb, &r.bus, bus_rig_blk_vdev(&r), &o), 0);
	mix_check(vireo_mmio_bus_virtio_device(mb), m);
	bus_rig_blk_rounds(&r, vireo_mmio_bus_virtio_device(mb), &how);
	vireo_mmio_bus_free(mb);
	/* The image holds what the driver wrote, through the register path. */
	bus_rig_blk_check_image(&r);
	bus_rig_blk_destroy(&r);
}

static void test_blk_split(void **state)
{
	const struct mix m = {.format = VIRTIO_RING_SPLIT};

	(void)state;
	blk_case(&m);
}

static void test_blk_packed(void **state)
{
	const struct mix m = {.format = VIRTIO_RING_PACKED};

	(void)state;
	blk_case(&m);
}

static void test_blk_split_bare(void **state)
{
	const struct mix m = {.format = VIRTIO_RING_SPLIT,
			      .no_event_idx = true,
			      .no_indirect = true,
			      .no_notification_data = true};

	(void)state;
	blk_case(&m);
}

static void test_blk_packed_bare(void **state)
{
	const struct mix m = {.format = VIRTIO_RING_PACKED,
			      .no_event_idx = true,
			      .no_indirect = true,
			      .no_notification_data = true};

	(void)state;
	blk_case(&m);
}

/* ---- rng ---- */

static void rng_case(const struct mix *m)
{
	struct vireo_mmio_bus_options o = mix_opts(m);
	struct bus_rig_rng r;
	struct vireo_mmio_bus *mb;

	bus_rig_rng_init(&r, m->format, m->in_order);
	mix_offer(bus_rig_rng_vdev(&r), m);
	assert_int_equal(vireo_mmio_bus_new(&mb, &r.bus, bus_rig_rng_vdev(&r), &o), 0);
	mix_check(vireo_mmio_bus_virtio_device(mb), m);
	assert_int_equal(virtio_has_feature(vireo_mmio_bus_virtio_device(mb), VIRTIO_F_IN_ORDER),
			 m->in_order);
	bus_rig_rng_reads(vireo_mmio_bus_virtio_device(mb));
	vireo_mmio_bus_free(mb);
	bus_rig_rng_destroy(&r);
}

static void test_rng_split_in_order(void **state)
{
	const struct mix m = {.format = VIRTIO_RING_SPLIT, .in_order = true};

	(void)state;
	rng_case(&m);
}

static void test_rng_packed_in_order(void **state)
{
	const struct mix m = {.format = VIRTIO_RING_PACKED, .in_order = true};

	(void)state;
	rng_case(&m);
}

static void test_rng_packed_no_data(void **state)
{
	const struct mix m = {.format = VIRTIO_RING_PACKED, .no_notification_data = true};

	(void)state;
	rng_case(&m);
}

/* RING_RESET through QueueReset: the queue works again with a fresh ring. */
static void test_rng_queue_reset(void **state)
{
	const struct mix m = {.format = VIRTIO_RING_SPLIT};
	struct vireo_mmio_bus_options o = mix_opts(&m);
	struct bus_rig_rng r;
	struct vireo_mmio_bus *mb;
	struct virtio_device *vdev;
	struct virtio_rng *rng;
	uint8_t b[64];

	(void)state;
	bus_rig_rng_init(&r, m.format, m.in_order);
	assert_int_equal(vireo_mmio_bus_new(&mb, &r.bus, bus_rig_rng_vdev(&r), &o), 0);
	vdev = vireo_mmio_bus_virtio_device(mb);
	rng = bus_rig_rng_driver(vdev);
	assert_true(virtio_has_feature(vdev, VIRTIO_F_RING_RESET));
	for (unsigned int round = 0; round < 3; round++) {
		for (unsigned int i = 0; i < 300; i++)
			assert_int_equal(virtio_rng_read(rng, b, sizeof(b)), sizeof(b));
		assert_int_equal(vireo_mmio_queue_reset(vdev, 0, NULL, NULL), 0);
	}
	assert_int_equal(virtio_rng_read(rng, b, sizeof(b)), sizeof(b));
	assert_int_equal(vireo_mmio_queue_reset(vdev, 5, NULL, NULL), -EINVAL);
	vireo_mmio_bus_free(mb);
	bus_rig_rng_destroy(&r);
}

/* ---- net: the device echoes each frame back to the driver ---- */

static void net_echo(void *opaque, const struct net_packet *pkt)
{
	struct net_packet copy = *pkt;

	memset(&copy.vnet, 0, sizeof(copy.vnet));
	(void)vireo_net_device_receive(opaque, &copy);
}

static void net_case(const struct mix *m)
{
	struct net_device_options opt = {.mac = {0x52, 0x54, 0, 1, 2, 3}, .queue_size = 256};
	struct vireo_mmio_bus_options o = mix_opts(m);
	struct virtio_net_driver drv = {0};
	struct virtio_bus bus;
	struct net_device *dev;
	struct vireo_mmio_bus *mb;
	struct virtio_net *net;
	uint8_t frame[300], got[2048];

	bus_rig_bus_init(&bus, m->format, m->in_order);
	assert_int_equal(virtio_net_register(&bus, &drv), 0);
	assert_int_equal(vireo_net_device_new(&dev, &opt), 0);
	vireo_net_device_set_tx_handler(dev, net_echo, dev);
	mix_offer(vireo_net_device_vdev(dev), m);
	assert_int_equal(vireo_mmio_bus_new(&mb, &bus, vireo_net_device_vdev(dev), &o), 0);
	net = virtio_net_from_device(vireo_mmio_bus_virtio_device(mb));
	assert_non_null(net);
	mix_check(vireo_mmio_bus_virtio_device(mb), m);
	for (unsigned int i = 0; i < 500; i++) {
		size_t len = 60 + i % 200;
		int n = 0;

		memset(frame, 0xff, 6);
		memcpy(frame + 6, opt.mac, 6);
		for (size_t k = 12; k < len; k++)
			frame[k] = (uint8_t)(i + k);
		assert_int_equal(virtio_net_send(net, frame, len), 1);
		/* About 10 s by the clock: a wait returns at once while transmit buffers are
		 * used, so they are taken first (counting waits gave up too soon). */
		for (uint64_t end = sleep_wake_now_ns() + 10000000000ull;
		     n == 0 && sleep_wake_now_ns() < end;) {
			n = virtio_net_recv(net, got, sizeof(got));
			if (n == 0) {
				(void)virtio_net_tx_reclaim(net);
				(void)virtio_net_wait(net, 100);
			}
		}
		assert_int_equal(n, (int)len);
		assert_memory_equal(got, frame, len);
		(void)virtio_net_tx_reclaim(net);
	}
	vireo_mmio_bus_free(mb);
	vireo_net_device_free(dev);
	virtio_net_unregister(&bus, &drv);
}

static void test_net_split(void **state)
{
	const struct mix m = {.format = VIRTIO_RING_SPLIT, .in_order = true};

	(void)state;
	net_case(&m);
}

static void test_net_packed(void **state)
{
	const struct mix m = {.format = VIRTIO_RING_PACKED, .no_indirect = true};

	(void)state;
	net_case(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blk_split),
		cmocka_unit_test(test_blk_packed),
		cmocka_unit_test(test_blk_split_bare),
		cmocka_unit_test(test_blk_packed_bare),
		cmocka_unit_test(test_rng_split_in_order),
		cmocka_unit_test(test_rng_packed_in_order),
		cmocka_unit_test(test_rng_packed_no_data),
		cmocka_unit_test(test_rng_queue_reset),
		cmocka_unit_test(test_net_split),
		cmocka_unit_test(test_net_packed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
