// SPDX-License-Identifier: MIT
/*
 * The in-process driver x model rig; see bus_rig.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vireo/spec.h>

#include "tests/lib/bus_rig.h"

#define SECTORS (BUS_RIG_IMAGE_BYTES / 512u)
#define READ_SECTORS 64u
#define MAX_WRITE_SECTORS 128u

void bus_rig_bus_init(struct virtio_bus *bus, enum virtio_ring_format format, bool in_order)
{
	virtio_bus_init(bus);
	bus->ring_format = format;
	bus->ring_in_order = in_order;
}

void bus_rig_check_ring(struct virtio_device *vdev, enum virtio_ring_format format, bool event_idx,
			bool indirect)
{
	assert_int_equal(virtio_has_feature(vdev, VIRTIO_F_RING_PACKED),
			 format == VIRTIO_RING_PACKED);
	assert_int_equal(virtio_has_feature(vdev, VIRTIO_F_RING_EVENT_IDX), event_idx);
	assert_int_equal(virtio_has_feature(vdev, VIRTIO_F_RING_INDIRECT_DESC), indirect);
}

void bus_rig_blk_init(struct bus_rig_blk *r, const char *tmpl, enum virtio_ring_format format,
		      bool in_order)
{
	struct blk_device_options opt = {.path = r->path, .num_queues = 2};

	memset(r, 0, sizeof(*r));
	assert_true(strlen(tmpl) < sizeof(r->path));
	strcpy(r->path, tmpl);
	r->fd = mkstemp(r->path);
	assert_true(r->fd >= 0);
	r->mirror = calloc(1, BUS_RIG_IMAGE_BYTES);
	r->buf = malloc(MAX_WRITE_SECTORS * 512u);
	assert_non_null(r->mirror);
	assert_non_null(r->buf);
	assert_int_equal(ftruncate(r->fd, BUS_RIG_IMAGE_BYTES), 0);
	bus_rig_bus_init(&r->bus, format, in_order);
	assert_int_equal(virtio_blk_register(&r->bus, &r->drv), 0);
	assert_int_equal(vireo_blk_device_new(&r->dev, &opt), 0);
}

struct vdev *bus_rig_blk_vdev(struct bus_rig_blk *r)
{
	return vireo_blk_device_vdev(r->dev);
}

void bus_rig_blk_rounds(struct bus_rig_blk *r, struct virtio_device *vdev,
			const struct bus_rig_blk_rounds *how)
{
	struct virtio_blk *blk = virtio_blk_from_device(vdev);
	uint32_t seed = how->seed;

	assert_non_null(blk);
	for (unsigned int i = 0; i < how->count; i++) {
		uint32_t sectors, sector;

		seed = seed * 1103515245u + 12345u;
		sectors = 1 + (seed >> 8) % MAX_WRITE_SECTORS;
		sector = (seed >> 4) % (SECTORS - sectors);
		for (uint32_t k = 0; k < sectors * 512u; k++)
			r->buf[k] = (uint8_t)(i * how->mul + k);
		assert_int_equal(virtio_blk_write(blk, sector, r->buf, sectors * 512u), 0);
		memcpy(r->mirror + (size_t)sector * 512u, r->buf, sectors * 512u);
		assert_int_equal(virtio_blk_read(blk, sector / 2, r->buf, 512u * READ_SECTORS), 0);
		assert_memory_equal(r->buf, r->mirror + (size_t)(sector / 2) * 512u,
				    512u * READ_SECTORS);
	}
}

void bus_rig_blk_check_image(struct bus_rig_blk *r)
{
	assert_int_equal(pread(r->fd, r->buf, BUS_RIG_CHECK_BYTES, 0), BUS_RIG_CHECK_BYTES);
	assert_memory_equal(r->buf, r->mirror, BUS_RIG_CHECK_BYTES);
}

void bus_rig_blk_destroy(struct bus_rig_blk *r)
{
	vireo_blk_device_free(r->dev);
	virtio_blk_unregister(&r->bus, &r->drv);
	close(r->fd);
	unlink(r->path);
	free(r->mirror);
	free(r->buf);
}

void bus_rig_rng_init(struct bus_rig_rng *r, enum virtio_ring_format format, bool in_order)
{
	memset(r, 0, sizeof(*r));
	bus_rig_bus_init(&r->bus, format, in_order);
	assert_int_equal(virtio_rng_register(&r->bus, &r->drv), 0);
	assert_int_equal(vireo_rng_device_new(&r->dev, NULL), 0);
}

struct vdev *bus_rig_rng_vdev(struct bus_rig_rng *r)
{
	return vireo_rng_device_vdev(r->dev);
}

struct virtio_rng *bus_rig_rng_driver(struct virtio_device *vdev)
{
	struct virtio_rng *rng = virtio_rng_from_device(vdev);

	assert_non_null(rng);
	return rng;
}

void bus_rig_rng_reads(struct virtio_device *vdev)
{
	struct virtio_rng *rng = bus_rig_rng_driver(vdev);
	uint8_t b[100];

	for (unsigned int i = 0; i < 1000; i++)
		assert_int_equal(virtio_rng_read(rng, b, 1 + i % sizeof(b)), 1 + i % sizeof(b));
}

void bus_rig_rng_destroy(struct bus_rig_rng *r)
{
	vireo_rng_device_free(r->dev);
	virtio_rng_unregister(&r->bus, &r->drv);
}
