/* SPDX-License-Identifier: MIT */
/*
 * The driver role of virtio over MMIO, version 2 (virtio 1.2 §4.2): our
 * drivers (struct virtio_config_ops) on one virtio-mmio register block. The
 * block is reached through access ops, whatever holds it: our in-process
 * function model (virtio_mmio_bus.h), or a VMM/UIO mapping later. The
 * driver's rings and buffers live in a DMA arena it makes reachable with
 * dma_map.
 */
#ifndef VIREO_VIRTIO_MMIO_DRIVER_H
#define VIREO_VIRTIO_MMIO_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vireo/driver.h>
#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * struct vireo_mmio_access_ops - how the driver reaches one register block
 * @read: read @size (1, 2 or 4) bytes at @offset of the block. Return 0 or -errno.
 * @write: write them. Return 0 or -errno.
 * @set_irq_eventfd: make the device's interrupt line signal eventfd @fd
 *	(-1: unset); the fd stays the driver's. Return 0 or -errno.
 * @dma_map: make [@vaddr, +@len) reachable by the device at bus address
 *	@iova. Return 0 or -errno.
 * @dma_unmap: undo it (the device is reset first). Return 0 or -errno.
 */
struct vireo_mmio_access_ops {
	int (*read)(void *opaque, uint64_t offset, unsigned int size, uint32_t *value);
	int (*write)(void *opaque, uint64_t offset, unsigned int size, uint32_t value);
	int (*set_irq_eventfd)(void *opaque, int fd);
	int (*dma_map)(void *opaque, void *vaddr, uint64_t iova, uint64_t len);
	int (*dma_unmap)(void *opaque, uint64_t iova, uint64_t len);
};

/* Device-visible base of the driver's DMA arena when the options give none. */
#define VIREO_MMIO_DMA_BASE 0x100000000ull

/**
 * struct vireo_mmio_device_options - NULL means all zero
 * @dma_bytes: the DMA arena (rings, request buffers); 0: 8 MiB
 * @dma_base: its bus address; 0: VIREO_MMIO_DMA_BASE
 * @max_queue_size: cap on each queue's size; 0: 1024
 * @no_notification_data: do not accept VIRTIO_F_NOTIFICATION_DATA
 * @no_ring_reset: do not accept VIRTIO_F_RING_RESET
 */
struct vireo_mmio_device_options {
	size_t dma_bytes;
	uint64_t dma_base;
	unsigned int max_queue_size;
	bool no_notification_data;
	bool no_ring_reset;
};

struct vireo_mmio_device;

/**
 * vireo_mmio_device_new() - check the register block and register it on @bus
 * (the matching driver binds during the call, virtio 1.2 §3.1.1)
 *
 * R-MMIO-12: MagicValue and Version are read first; a block that is not
 * "virt" version 2 is refused. R-MMIO-04: a DeviceID of 0 is a placeholder:
 * nothing else is touched, nothing is logged, 0 is returned with *@out NULL.
 * Return: 0; -ENODEV (not a virtio-mmio version 2 block: logged); -ENOMEM;
 * -errno from the access ops, memfd or eventfd; the matching driver's probe
 * error (nothing is left registered then).
 */
VIREO_API int vireo_mmio_device_new(const struct vireo_mmio_access_ops *ops, void *opaque,
				    const struct vireo_mmio_device_options *opts,
				    struct virtio_bus *bus, struct vireo_mmio_device **out);

/** vireo_mmio_device_free() - unregister (driver remove, reset), unmap, free; NULL is fine */
VIREO_API void vireo_mmio_device_free(struct vireo_mmio_device *d);

/** vireo_mmio_device_virtio_device() - the device as drivers see it */
VIREO_API struct virtio_device *vireo_mmio_device_virtio_device(struct vireo_mmio_device *d);

/**
 * vireo_mmio_queue_reset() - reset queue @index (VIRTIO_F_RING_RESET, §2.6.1)
 * and enable it again with a fresh ring. The caller drives the queue and has
 * no request of it outstanding it still wants answered: each buffer the
 * device had not used is handed to @unused (may be NULL) before the ring goes.
 * Return: 0; -EOPNOTSUPP (RING_RESET not negotiated); -EINVAL (no such
 * queue); -ETIMEDOUT (QueueReset never read 0 again: R-MMIO-11); -EIO (the
 * device did not re-enable it); -ENOMEM.
 */
VIREO_API int vireo_mmio_queue_reset(struct virtio_device *vdev, unsigned int index,
				     void (*unused)(void *token, void *arg), void *arg);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_VIRTIO_MMIO_DRIVER_H */
