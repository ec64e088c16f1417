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

#define IMAGE_BYTES (1u << 20)
#define SECTORS (IMAGE_BYTES / 512u)
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
	char path[] = "/tmp/vireo-fmt-e2e-XXXXXX";
	int fd = mkstemp(path);
	struct blk_device_options opt = {.path = path, .num_queues = 2};
	struct virtio_blk_driver drv = {0};
	struct virtio_bus bus;
	struct blk_device *dev;
	struct loopback *lb;
	struct virtio_blk *blk;
	uint8_t *mirror = calloc(1, IMAGE_BYTES), *buf = malloc(64u << 10);
	uint32_t seed = 12345;

	assert_true(fd >= 0);
	assert_non_null(mirror);
	assert_non_null(buf);
	assert_int_equal(ftruncate(fd, IMAGE_BYTES), 0);
	virtio_bus_init(&bus);
	bus.ring_format = c->format;
	bus.ring_in_order = c->in_order;
	assert_int_equal(virtio_blk_register(&bus, &drv), 0);
	assert_int_equal(vireo_blk_device_new(&dev, &opt), 0);
	offer_ring_bits(vireo_blk_device_vdev(dev), c);
	assert_int_equal(vireo_loopback_new(&lb, &bus, vireo_blk_device_vdev(dev), 8u << 20), 0);
	blk = virtio_blk_from_device(vireo_loopback_virtio_device(lb));
	assert_non_null(blk);
	check_negotiated(vireo_loopback_virtio_device(lb), c);
	for (unsigned int i = 0; i < ROUNDS; i++) {
		uint32_t sectors, sector;

		seed = seed * 1103515245u + 12345u;
		sectors = 1 + (seed >> 8) % 128;
		sector = (seed >> 4) % (SECTORS - sectors);
		for (uint32_t k = 0; k < sectors * 512u; k++)
			buf[k] = (uint8_t)(i * 31u + k);
		assert_int_equal(virtio_blk_write(blk, sector, buf, sectors * 512u), 0);
		memcpy(mirror + (size_t)sector * 512u, buf, sectors * 512u);
		assert_int_equal(virtio_blk_read(blk, sector / 2, buf, 512u * 64), 0);
		assert_memory_equal(buf, mirror + (size_t)(sector / 2) * 512u, 512u * 64);
	}
	vireo_loopback_free(lb);
	vireo_blk_device_free(dev);
	virtio_blk_unregister(&bus, &drv);
	close(fd);
	unlink(path);
	free(mirror);
	free(buf);
}

static void rng_case(const struct fmt_case *c)
{
	struct virtio_rng_driver drv = {0};
	struct virtio_bus bus;
	struct rng_device *dev;
	struct loopback *lb;
	struct virtio_rng *rng;
	uint8_t b[100];

	virtio_bus_init(&bus);
	bus.ring_format = c->format;
	bus.ring_in_order = c->in_order;
	assert_int_equal(virtio_rng_register(&bus, &drv), 0);
	assert_int_equal(vireo_rng_device_new(&dev, NULL), 0);
	offer_ring_bits(vireo_rng_device_vdev(dev), c);
	assert_int_equal(vireo_loopback_new(&lb, &bus, vireo_rng_device_vdev(dev), 0), 0);
	rng = virtio_rng_from_device(vireo_loopback_virtio_device(lb));
	assert_non_null(rng);
	check_negotiated(vireo_loopback_virtio_device(lb), c);
	/* More reads than the queue holds: the ring wraps several times. */
	for (unsigned int i = 0; i < 1000; i++)
		assert_int_equal(virtio_rng_read(rng, b, 1 + i % sizeof(b)), 1 + i % sizeof(b));
	vireo_loopback_free(lb);
	vireo_rng_device_free(dev);
	virtio_rng_unregister(&bus, &drv);
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
	struct virtio_rng_driver drv = {0};
	struct virtio_bus bus;
	struct rng_device *dev;
	struct loopback *lb = NULL;
	int ret;

	(void)state;
	virtio_bus_init(&bus);
	bus.ring_format = VIRTIO_RING_PACKED;
	assert_int_equal(virtio_rng_register(&bus, &drv), 0);
	assert_int_equal(vireo_rng_device_new(&dev, NULL), 0);
	/* A device without the packed layout (the core offers it now: take it away). */
	vireo_rng_device_vdev(dev)->offered_features &= ~VIRTIO_BIT(VIRTIO_F_RING_PACKED);
	ret = vireo_loopback_new(&lb, &bus, vireo_rng_device_vdev(dev), 0);
	if (ret == 0) {
		assert_null(virtio_rng_from_device(vireo_loopback_virtio_device(lb)));
		vireo_loopback_free(lb);
	} else {
		assert_int_equal(ret, -ENODEV);
	}
	vireo_rng_device_free(dev);
	virtio_rng_unregister(&bus, &drv);
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
