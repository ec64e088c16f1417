/* SPDX-License-Identifier: MIT */
/*
 * Memory for a driver-side virtqueue, for transports to call from their
 * find_vqs: the ring in the device's DMA arena (packed if
 * VIRTIO_F_RING_PACKED was negotiated, split otherwise), the private
 * vring_desc_extra array on the heap, and (only if VIRTIO_F_RING_INDIRECT_DESC
 * was negotiated) a pool of indirect tables in DMA memory. Then
 * virtqueue_split_init() or virtqueue_packed_init() on the caller's struct
 * virtqueue.
 */
#ifndef VIREO_VIRTIO_RING_ALLOC_H
#define VIREO_VIRTIO_RING_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vireo/driver.h>
#include <vireo/virtqueue.h>
#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Descriptors per indirect table: enough for a header, a few data segments and a status. */
#define VIRTIO_VRING_INDIRECT_MAX 16u

/**
 * struct virtio_vring_alloc - what virtio_vring_alloc() allocated
 * @ring: the whole ring in one zeroed DMA block (split: desc table, avail
 *	ring, used ring; packed: descriptor ring, driver and device event
 *	suppression areas)
 * @ring_size: bytes of @ring
 * @extra: @num private entries (heap)
 * @indirect: the indirect pool (DMA memory), or NULL
 * @desc_addr, @avail_addr, @used_addr: device-visible addresses of the three
 *	parts, to hand to the device (queue_desc / queue_driver / queue_device;
 *	vhost-user's desc / avail / used addresses, for both formats)
 * @num: queue size
 * @packed: the ring is packed (§2.8)
 */
struct virtio_vring_alloc {
	void *ring;
	size_t ring_size;
	struct vring_desc_extra *extra;
	void *indirect;
	uint64_t desc_addr;
	uint64_t avail_addr;
	uint64_t used_addr;
	uint16_t num;
	bool packed;
};

/**
 * virtio_vring_alloc() - carve a split ring of @num entries from @vdev->dma
 * and initialize @vq over it
 *
 * Uses @vdev->features (already negotiated) for RING_PACKED, EVENT_IDX,
 * INDIRECT_DESC and IN_ORDER. Split layout (§2.7): desc table 16-aligned,
 * then avail (2-aligned), then used 4-aligned. Packed layout (§2.8.10.1):
 * descriptor ring 16-aligned, then the driver area, then the device area on
 * its own cache line. All zeroed. The caller sets @vq's callback, notify,
 * name, vdev, index and priv, before or after.
 * Return: 0; -EINVAL if @num is 0 or above 32768, not a power of two for a
 * split ring, or @vdev has no DMA arena; -ENOMEM if the arena or the heap is
 * exhausted. On failure nothing stays allocated.
 */
VIREO_API int virtio_vring_alloc(struct virtio_device *vdev, struct virtqueue *vq, uint16_t num,
				 struct virtio_vring_alloc *out);

/** virtio_vring_free() - give back what virtio_vring_alloc() took; @a is zeroed */
VIREO_API void virtio_vring_free(struct virtio_device *vdev, struct virtio_vring_alloc *a);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_VIRTIO_RING_ALLOC_H */
