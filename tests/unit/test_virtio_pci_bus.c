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

#define IMAGE_BYTES (1u << 20)
#define SECTORS (IMAGE_BYTES / 512u)

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

static void mix_bus(struct virtio_bus *bus, const struct mix *m)
{
	virtio_bus_init(bus);
	bus->ring_format = m->format;
	bus->ring_in_order = m->in_order;
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

	assert_int_equal(virtio_has_feature(vdev, VIRTIO_F_RING_PACKED),
			 m->format == VIRTIO_RING_PACKED);
	assert_int_equal(virtio_has_feature(vdev, VIRTIO_F_RING_EVENT_IDX), !m->no_event_idx);
	assert_int_equal(virtio_has_feature(vdev, VIRTIO_F_RING_INDIRECT_DESC), !m->no_indirect);
	/* The function offers these transport bits; our driver takes them. */
	assert_true(virtio_has_feature(vdev, VIRTIO_F_NOTIFICATION_DATA));
	assert_true(virtio_has_feature(vdev, VIRTIO_F_RING_RESET));
	assert_string_equal(vdev->config->bus_name(vdev), "virtio-pci");
	assert_int_equal(vireo_pci_device_interrupts(vireo_pci_bus_driver(pb)), m->want_vectors);
}

/* ---- blk ---- */

static void blk_case(const struct mix *m)
{
	char path[] = "/tmp/vireo-pci-bus-XXXXXX";
	int fd = mkstemp(path);
	struct blk_device_options opt = {.path = path, .num_queues = 2};
	struct vireo_pci_bus_options o = mix_opts(m);
	struct virtio_blk_driver drv = {0};
	struct virtio_bus bus;
	struct blk_device *dev;
	struct vireo_pci_bus *pb;
	struct virtio_blk *blk;
	uint8_t *mirror = calloc(1, IMAGE_BYTES), *buf = malloc(64u << 10);
	uint32_t seed = 4242;

	assert_true(fd >= 0);
	assert_non_null(mirror);
	assert_non_null(buf);
	assert_int_equal(ftruncate(fd, IMAGE_BYTES), 0);
	mix_bus(&bus, m);
	assert_int_equal(virtio_blk_register(&bus, &drv), 0);
	assert_int_equal(vireo_blk_device_new(&dev, &opt), 0);
	mix_offer(vireo_blk_device_vdev(dev), m);
	assert_int_equal(vireo_pci_bus_new(&pb, &bus, vireo_blk_device_vdev(dev), &o), 0);
	blk = virtio_blk_from_device(vireo_pci_bus_virtio_device(pb));
	assert_non_null(blk);
	mix_check(pb, m);
	for (unsigned int i = 0; i < 150; i++) {
		uint32_t sectors, sector;

		seed = seed * 1103515245u + 12345u;
		sectors = 1 + (seed >> 8) % 128;
		sector = (seed >> 4) % (SECTORS - sectors);
		for (uint32_t k = 0; k < sectors * 512u; k++)
			buf[k] = (uint8_t)(i * 29u + k);
		assert_int_equal(virtio_blk_write(blk, sector, buf, sectors * 512u), 0);
		memcpy(mirror + (size_t)sector * 512u, buf, sectors * 512u);
		assert_int_equal(virtio_blk_read(blk, sector / 2, buf, 512u * 64), 0);
		assert_memory_equal(buf, mirror + (size_t)(sector / 2) * 512u, 512u * 64);
	}
	vireo_pci_bus_free(pb);
	/* The image holds what the driver wrote, through the register path. */
	assert_int_equal(pread(fd, buf, 64u << 10, 0), 64u << 10);
	assert_memory_equal(buf, mirror, 64u << 10);
	vireo_blk_device_free(dev);
	virtio_blk_unregister(&bus, &drv);
	close(fd);
	unlink(path);
	free(mirror);
	free(buf);
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
	struct virtio_rng_driver drv = {0};
	struct virtio_bus bus;
	struct rng_device *dev;
	struct vireo_pci_bus *pb;
	struct virtio_rng *rng;
	uint8_t b[100];

	mix_bus(&bus, m);
	assert_int_equal(virtio_rng_register(&bus, &drv), 0);
	assert_int_equal(vireo_rng_device_new(&dev, NULL), 0);
	mix_offer(vireo_rng_device_vdev(dev), m);
	assert_int_equal(vireo_pci_bus_new(&pb, &bus, vireo_rng_device_vdev(dev), &o), 0);
	rng = virtio_rng_from_device(vireo_pci_bus_virtio_device(pb));
	assert_non_null(rng);
	mix_check(pb, m);
	assert_int_equal(virtio_has_feature(vireo_pci_bus_virtio_device(pb), VIRTIO_F_IN_ORDER),
			 m->in_order);
	/* More reads than the queue holds: the ring wraps several times. */
	for (unsigned int i = 0; i < 1000; i++)
		assert_int_equal(virtio_rng_read(rng, b, 1 + i % sizeof(b)), 1 + i % sizeof(b));
	vireo_pci_bus_free(pb);
	vireo_rng_device_free(dev);
	virtio_rng_unregister(&bus, &drv);
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
	struct virtio_rng_driver drv = {0};
	struct virtio_bus bus;
	struct rng_device *dev;
	struct vireo_pci_bus *pb;
	struct vireo_pci_device *d;
	struct virtio_rng *rng;
	uint8_t b[64];

	(void)state;
	mix_bus(&bus, &m);
	assert_int_equal(virtio_rng_register(&bus, &drv), 0);
	assert_int_equal(vireo_rng_device_new(&dev, NULL), 0);
	assert_int_equal(vireo_pci_bus_new(&pb, &bus, vireo_rng_device_vdev(dev), &o), 0);
	rng = virtio_rng_from_device(vireo_pci_bus_virtio_device(pb));
	d = vireo_pci_bus_driver(pb);
	assert_non_null(rng);
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
	vireo_rng_device_free(dev);
	virtio_rng_unregister(&bus, &drv);
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
