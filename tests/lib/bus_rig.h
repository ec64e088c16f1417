/* SPDX-License-Identifier: MIT */
/*
 * Shared rig for the driver x model tests over an in-process transport
 * (test_virtio_mmio_driver, test_virtio_pci_bus, test_ring_format_e2e): a virtio_bus asking for
 * a ring format (and IN_ORDER), our blk or rng driver registered on it, our device model, and
 * the workloads that check data end to end. The transport between the model and the bus
 * (loopback, virtio-mmio, virtio-pci) is the test's own: it puts bus_rig_*_vdev() on
 * &rig.bus and hands the driver-side virtio_device to the workload.
 *
 * Life cycle: bus_rig_*_init() on storage the caller owns, then the transport, the workload,
 * the transport freed, then bus_rig_*_destroy(). Every function fails the running cmocka test
 * on any error; nothing global.
 */
#ifndef VIREO_TESTS_BUS_RIG_H
#define VIREO_TESTS_BUS_RIG_H

#include <stdbool.h>
#include <stdint.h>

#include <vireo/blk_device.h>
#include <vireo/device.h>
#include <vireo/driver.h>
#include <vireo/rng_device.h>
#include <vireo/virtio_blk.h>
#include <vireo/virtio_rng.h>

#define BUS_RIG_IMAGE_BYTES (1u << 20)
/* What bus_rig_blk_check_image() compares: the first 64 KiB. */
#define BUS_RIG_CHECK_BYTES (64u << 10)

/* The driver-side bus, asking for @format and, if @in_order, VIRTIO_F_IN_ORDER. */
void bus_rig_bus_init(struct virtio_bus *bus, enum virtio_ring_format format, bool in_order);

/*
 * The ring features the driver negotiated: RING_PACKED exactly when @format is packed,
 * EVENT_IDX and INDIRECT_DESC as @event_idx and @indirect say.
 */
void bus_rig_check_ring(struct virtio_device *vdev, enum virtio_ring_format format, bool event_idx,
			bool indirect);

struct bus_rig_blk {
	struct virtio_bus bus;
	struct virtio_blk_driver drv;
	struct blk_device *dev;
	char path[64];
	int fd;
	uint8_t *mirror; /* what the image must hold */
	uint8_t *buf;
};

/* How bus_rig_blk_rounds() writes: its pseudo-random places and data. */
struct bus_rig_blk_rounds {
	uint32_t seed;	    /* of the places and lengths */
	unsigned int count; /* how many write + read rounds */
	uint8_t mul;	    /* data byte k of round i is i * mul + k */
};

/*
 * A zeroed image of BUS_RIG_IMAGE_BYTES (a temp file from @tmpl, "/tmp/name-XXXXXX"), our
 * blk model on it with two request queues, the blk driver registered on a bus for @format.
 */
void bus_rig_blk_init(struct bus_rig_blk *r, const char *tmpl, enum virtio_ring_format format,
		      bool in_order);
struct vdev *bus_rig_blk_vdev(struct bus_rig_blk *r);
/*
 * Through the blk driver bound to @vdev: writes of 1..128 sectors at pseudo-random places,
 * each followed by a 64-sector read compared with the mirror of everything written.
 */
void bus_rig_blk_rounds(struct bus_rig_blk *r, struct virtio_device *vdev,
			const struct bus_rig_blk_rounds *how);
/* The image file holds what the driver wrote (call once the transport is freed). */
void bus_rig_blk_check_image(struct bus_rig_blk *r);
void bus_rig_blk_destroy(struct bus_rig_blk *r);

struct bus_rig_rng {
	struct virtio_bus bus;
	struct virtio_rng_driver drv;
	struct rng_device *dev;
};

/* Our rng model and the rng driver registered on a bus for @format. */
void bus_rig_rng_init(struct bus_rig_rng *r, enum virtio_ring_format format, bool in_order);
struct vdev *bus_rig_rng_vdev(struct bus_rig_rng *r);
/* The rng driver bound to @vdev (asserted). */
struct virtio_rng *bus_rig_rng_driver(struct virtio_device *vdev);
/* Reads of 1..100 bytes, more than the queue holds: the ring wraps several times. */
void bus_rig_rng_reads(struct virtio_device *vdev);
void bus_rig_rng_destroy(struct bus_rig_rng *r);

#endif /* VIREO_TESTS_BUS_RIG_H */
