// SPDX-License-Identifier: MIT
/*
 * Our virtio-pci driver (transport/virtio_pci_*.c) x our virtio-pci function model
 * (transport/virtio_pci_function.c) through the in-process bus (virtio_pci_bus.c): blk and
 * rng drivers over split and packed rings, with and without EVENT_IDX, INDIRECT and
 * IN_ORDER, NOTIFICATION_DATA as the function offers it; MSI-X with a vector per queue, a
 * shared one, or none (polling); data verified, and the image file checked; a queue reset
 * (RING_RESET, R-PCI-13) with the queue working again after it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vireo/blk_device.h>
#include <vireo/driver.h>
#include <vireo/rng_device.h>
#include <vireo/spec.h>
#include <vireo/virtio_blk.h>
#include <vireo/virtio_pci_bus.h>
#include <vireo/virtio_rng.h>

#include "tests/lib/bus_rig.h"

struct mix {
	enum virtio_ring_format format;
	bool in_order;
	bool no_event_idx;
	bool no_indirect;
	unsigned int msix_vectors; /* 0: the function's default (one per queue + config) */
	bool poll;
	unsigned int want_vectors; /* what the driver must end up using */
};

static void mix_offer(struct vdev *dev, const struct mix *m)
{
	if (m->no_event_idx)
		dev->offered_features &= ~VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);
	if (m->no_indirect)
		dev->offered_features &= ~VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC);
}

static struct vireo_pci_bus_options mix_opts(const struct mix *m)
{
	struct vireo_pci_bus_options o = {0};

	o.function.msix_vectors = m->msix_vectors;
	o.driver.poll = m->poll;
	return o;
}

static void mix_check(struct vireo_pci_bus *pb, const struct mix *m)
{
	struct virtio_device *vdev = vireo_pci_bus_virtio_device(pb);

	bus_rig_check_ring(vdev, m->format, !m->no_event_idx, !m->no_indirect);
	/* The function offers these transport bits; our driver takes them. */
	assert_true(virtio_has_feature(vdev, VIRTIO_F_NOTIFICATION_DATA));
	assert_true(virtio_has_feature(vdev, VIRTIO_F_RING_RESET));
	assert_string_equal(vdev->config->bus_name(vdev), "virtio-pci");
	assert_int_equal(vireo_pci_device_interrupts(vireo_pci_bus_driver(pb)), m->want_vectors);
}

/* ---- blk ---- */

static void blk_case(const struct mix *m)
{
	const struct bus_rig_blk_rounds how = {.seed = 4242, .count = 150, .mul = 29};
	struct vireo_pci_bus_options o = mix_opts(m);
	struct bus_rig_blk r;
	struct vireo_pci_bus *pb;

	bus_rig_blk_init(&r, "/tmp/vireo-pci-bus-XXXXXX", m->format, m->in_order);
	mix_offer(bus_rig_blk_vdev(&r), m);
	assert_int_equal(vireo_pci_bus_new(&pb, &r.bus, bus_rig_blk_vdev(&r), &o), 0);
	mix_check(pb, m);
	bus_rig_blk_rounds(&r, vireo_pci_bus_virtio_device(pb), &how);
	vireo_pci_bus_free(pb);
	/* The image holds what the driver wrote, through the register path. */
	bus_rig_blk_check_image(&r);
	bus_rig_blk_destroy(&r);
}

/* Two request queues + config: three vectors by default. */
static void test_blk_split(void **state)
{
	const struct mix m = {.format = VIRTIO_RING_SPLIT, .want_vectors = 3};

	(void)state;
	blk_case(&m);
}

static void test_blk_packed(void **state)
{
	const struct mix m = {.format = VIRTIO_RING_PACKED, .want_vectors = 3};

	(void)state;
	blk_case(&m);
}

/* R-PCI-18: a table of 2 for 2 queues + config: config on 0, both queues share 1. */
static void test_blk_split_bare_shared_vector(void **state)
{
	const struct mix m = {.format = VIRTIO_RING_SPLIT,
			      .no_event_idx = true,
			      .no_indirect = true,
			      .msix_vectors = 2,
			      .want_vectors = 2};

	(void)state;
	blk_case(&m);
}

/* No interrupts at all: the driver polls the rings. */
static void test_blk_packed_poll(void **state)
{
	const struct mix m = {.format = VIRTIO_RING_PACKED, .poll = true, .want_vectors = 0};

	(void)state;
	blk_case(&m);
}

/* ---- rng ---- */

static void rng_case(const struct mix *m)
{
	struct vireo_pci_bus_options o = mix_opts(m);
	struct bus_rig_rng r;
	struct vireo_pci_bus *pb;

	bus_rig_rng_init(&r, m->format, m->in_order);
	mix_offer(bus_rig_rng_vdev(&r), m);
	assert_int_equal(vireo_pci_bus_new(&pb, &r.bus, bus_rig_rng_vdev(&r), &o), 0);
	mix_check(pb, m);
	assert_int_equal(virtio_has_feature(vireo_pci_bus_virtio_device(pb), VIRTIO_F_IN_ORDER),
			 m->in_order);
	bus_rig_rng_reads(vireo_pci_bus_virtio_device(pb));
	vireo_pci_bus_free(pb);
	bus_rig_rng_destroy(&r);
}

static void test_rng_split_in_order(void **state)
{
	const struct mix m = {.format = VIRTIO_RING_SPLIT, .in_order = true, .want_vectors = 2};

	(void)state;
	rng_case(&m);
}

static void test_rng_packed_in_order(void **state)
{
	const struct mix m = {.format = VIRTIO_RING_PACKED, .in_order = true, .want_vectors = 2};

	(void)state;
	rng_case(&m);
}

/* R-PCI-18: a table of one vector: config and the queue share it. */
static void test_rng_packed_one_vector(void **state)
{
	const struct mix m = {.format = VIRTIO_RING_PACKED, .msix_vectors = 1, .want_vectors = 1};

	(void)state;
	rng_case(&m);
}

/* R-PCI-13: RING_RESET through queue_reset: the queue works again with a fresh ring. */
static void test_rng_queue_reset(void **state)
{
	const struct mix m = {.format = VIRTIO_RING_SPLIT};
	struct vireo_pci_bus_options o = mix_opts(&m);
	struct bus_rig_rng r;
	struct vireo_pci_bus *pb;
	struct vireo_pci_device *d;
	struct virtio_rng *rng;
	uint8_t b[64];

	(void)state;
	bus_rig_rng_init(&r, m.format, m.in_order);
	assert_int_equal(vireo_pci_bus_new(&pb, &r.bus, bus_rig_rng_vdev(&r), &o), 0);
	rng = bus_rig_rng_driver(vireo_pci_bus_virtio_device(pb));
	d = vireo_pci_bus_driver(pb);
	for (unsigned int round = 0; round < 3; round++) {
		for (unsigned int i = 0; i < 300; i++)
			assert_int_equal(virtio_rng_read(rng, b, sizeof(b)), sizeof(b));
		assert_int_equal(vireo_pci_queue_reset(d, 0), 0);
		assert_int_equal(vireo_pci_queue_reset(d, 0), -EINVAL); /* not re-enabled yet */
		assert_int_equal(vireo_pci_queue_reenable(d, 0), 0);
	}
	assert_int_equal(virtio_rng_read(rng, b, sizeof(b)), sizeof(b));
	assert_int_equal(vireo_pci_queue_reset(d, 5), -EINVAL);
	assert_false(vireo_pci_device_broken(d));
	vireo_pci_bus_free(pb);
	bus_rig_rng_destroy(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blk_split),
		cmocka_unit_test(test_blk_packed),
		cmocka_unit_test(test_blk_split_bare_shared_vector),
		cmocka_unit_test(test_blk_packed_poll),
		cmocka_unit_test(test_rng_split_in_order),
		cmocka_unit_test(test_rng_packed_in_order),
		cmocka_unit_test(test_rng_packed_one_vector),
		cmocka_unit_test(test_rng_queue_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
