// SPDX-License-Identifier: MIT
/*
 * End to end over each ring format: our virtio-blk and virtio-rng drivers ->
 * the loopback transport -> our device models, with the bus asked for a
 * packed ring (VIRTIO_RING_PACKED) and/or IN_ORDER. The device models do not
 * offer RING_PACKED / IN_ORDER yet, so the test adds them to the device's
 * offer itself (the core implements both formats behind its ring seam).
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
#include <vireo/loopback.h>
#include <vireo/rng_device.h>
#include <vireo/virtio_blk.h>
#include <vireo/virtio_rng.h>

#include "tests/lib/bus_rig.h"

#define ROUNDS 300u

struct fmt_case {
	enum virtio_ring_format format;
	bool in_order;
	bool offer_packed;
};

/* The device's offer plus the ring bits the case needs. */
static void offer_ring_bits(struct vdev *dev, const struct fmt_case *c)
{
	if (c->offer_packed)
		dev->offered_features |= VIRTIO_BIT(VIRTIO_F_RING_PACKED);
	if (c->in_order)
		dev->offered_features |= VIRTIO_BIT(VIRTIO_F_IN_ORDER);
}

static void check_negotiated(struct virtio_device *vdev, const struct fmt_case *c)
{
	/* The bus's default takes the packed layout whenever it is offered. */
	bool packed = c->format == VIRTIO_RING_PACKED ||
		      (c->format == VIRTIO_RING_DEFAULT && c->offer_packed);

	assert_int_equal(virtio_has_feature(vdev, VIRTIO_F_RING_PACKED), packed);
	assert_int_equal(virtio_has_feature(vdev, VIRTIO_F_IN_ORDER), c->in_order);
}

/* Writes of varying size and place, read back and compared with a mirror. */
static void blk_case(const struct fmt_case *c)
{
	const struct bus_rig_blk_rounds how = {.seed = 12345, .count = ROUNDS, .mul = 31};
	struct bus_rig_blk r;
	struct loopback *lb;

	bus_rig_blk_init(&r, "/tmp/vireo-fmt-e2e-XXXXXX", c->format, c->in_order);
	offer_ring_bits(bus_rig_blk_vdev(&r), c);
	assert_int_equal(vireo_loopback_new(&lb, &r.bus, bus_rig_blk_vdev(&r), 8u << 20), 0);
	check_negotiated(vireo_loopback_virtio_device(lb), c);
	bus_rig_blk_rounds(&r, vireo_loopback_virtio_device(lb), &how);
	vireo_loopback_free(lb);
	bus_rig_blk_destroy(&r);
}

static void rng_case(const struct fmt_case *c)
{
	struct bus_rig_rng r;
	struct loopback *lb;

	bus_rig_rng_init(&r, c->format, c->in_order);
	offer_ring_bits(bus_rig_rng_vdev(&r), c);
	assert_int_equal(vireo_loopback_new(&lb, &r.bus, bus_rig_rng_vdev(&r), 0), 0);
	check_negotiated(vireo_loopback_virtio_device(lb), c);
	bus_rig_rng_reads(vireo_loopback_virtio_device(lb));
	vireo_loopback_free(lb);
	bus_rig_rng_destroy(&r);
}

static void test_blk_packed(void **state)
{
	const struct fmt_case c = {.format = VIRTIO_RING_PACKED, .offer_packed = true};

	(void)state;
	blk_case(&c);
}

static void test_blk_packed_in_order(void **state)
{
	const struct fmt_case c = {
		.format = VIRTIO_RING_PACKED, .in_order = true, .offer_packed = true};

	(void)state;
	blk_case(&c);
}

static void test_blk_split_in_order(void **state)
{
	const struct fmt_case c = {.format = VIRTIO_RING_SPLIT, .in_order = true};

	(void)state;
	blk_case(&c);
}

/* --ring split: a device offering packed still gets split. */
static void test_blk_split_forced(void **state)
{
	const struct fmt_case c = {.format = VIRTIO_RING_SPLIT, .offer_packed = true};

	(void)state;
	blk_case(&c);
}

/* A device offering packed while the bus is left at its default: packed. */
static void test_blk_default_takes_packed(void **state)
{
	const struct fmt_case c = {.format = VIRTIO_RING_DEFAULT, .offer_packed = true};

	(void)state;
	blk_case(&c);
}

static void test_rng_packed(void **state)
{
	const struct fmt_case c = {.format = VIRTIO_RING_PACKED, .offer_packed = true};

	(void)state;
	rng_case(&c);
}

static void test_rng_packed_in_order(void **state)
{
	const struct fmt_case c = {
		.format = VIRTIO_RING_PACKED, .in_order = true, .offer_packed = true};

	(void)state;
	rng_case(&c);
}

/* Packed asked for, not offered: the driver does not bind. */
static void test_packed_not_offered(void **state)
{
	struct bus_rig_rng r;
	struct loopback *lb = NULL;
	int ret;

	(void)state;
	bus_rig_rng_init(&r, VIRTIO_RING_PACKED, false);
	/* A device without the packed layout (the core offers it now: take it away). */
	bus_rig_rng_vdev(&r)->offered_features &= ~VIRTIO_BIT(VIRTIO_F_RING_PACKED);
	ret = vireo_loopback_new(&lb, &r.bus, bus_rig_rng_vdev(&r), 0);
	if (ret == 0) {
		assert_null(virtio_rng_from_device(vireo_loopback_virtio_device(lb)));
		vireo_loopback_free(lb);
	} else {
		assert_int_equal(ret, -ENODEV);
	}
	bus_rig_rng_destroy(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blk_packed),
		cmocka_unit_test(test_blk_packed_in_order),
		cmocka_unit_test(test_blk_split_in_order),
		cmocka_unit_test(test_blk_default_takes_packed),
		cmocka_unit_test(test_blk_split_forced),
		cmocka_unit_test(test_rng_packed),
		cmocka_unit_test(test_rng_packed_in_order),
		cmocka_unit_test(test_packed_not_offered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
