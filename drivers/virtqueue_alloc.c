// SPDX-License-Identifier: MIT
/*
 * Memory for a driver-side virtqueue, split or packed (see
 * <vireo/virtio_ring_alloc.h>): ring/ never allocates, so every driver-role
 * transport gets its rings here, in the format the features chose.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/log.h>
#include <vireo/virtio_ring_alloc.h>

/*
 * The used ring is written by the device and the avail ring by the driver:
 * a cache line apart they do not false-share. §2.7 only asks for 4.
 */
#define VRING_ALLOC_USED_ALIGN 64u
#define VRING_ALLOC_RING_ALIGN 64u

static size_t vring_alloc_align(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Lay the three parts out in one block (§2.7: desc 16, avail 2, used 4 aligned). */
static size_t vring_alloc_layout(uint16_t num, size_t *avail_off, size_t *used_off)
{
	*avail_off = virtq_desc_table_size(num);
	*used_off = vring_alloc_align(*avail_off + virtq_avail_size(num), VRING_ALLOC_USED_ALIGN);
	return *used_off + virtq_used_size(num);
}

/*
 * §2.8.10.1: descriptor ring (16-aligned), then the driver event suppression
 * area, then the device's on its own cache line (the device writes it).
 */
static size_t vring_alloc_packed_layout(uint16_t num, size_t *driver_off, size_t *device_off)
{
	*driver_off = sizeof(struct pvirtq_desc) * num;
	*device_off = vring_alloc_align(*driver_off + sizeof(struct pvirtq_event_suppress),
					VRING_ALLOC_USED_ALIGN);
	return *device_off + sizeof(struct pvirtq_event_suppress);
}

/*
 * The pool only if INDIRECT_DESC was negotiated (R-SR-05, R-PR-07: no
 * INDIRECT without it). Both formats' descriptors are 16 bytes.
 */
static int vring_alloc_indirect(struct virtio_device *vdev, struct virtio_vring_alloc *a,
				uint64_t *pool_addr, uint16_t *indirect_max)
{
	size_t bytes = sizeof(struct virtq_desc) * a->num * VIRTIO_VRING_INDIRECT_MAX;

	if (!virtio_has_feature(vdev, VIRTIO_F_RING_INDIRECT_DESC))
		return 0;
	a->indirect = virtio_dma_alloc(vdev->dma, bytes, VIRTQ_DESC_ALIGN, pool_addr);
	if (!a->indirect)
		return -ENOMEM;
	*indirect_max = VIRTIO_VRING_INDIRECT_MAX;
	return 0;
}

/*
 * Either format: @size bytes of ring (the descriptors first, the second and
 * third parts at @second_off and @third_off: avail/used, or the driver/device
 * event areas), the indirect pool, and the addresses the device is given.
 * Return: 0 or -ENOMEM.
 */
static int vring_alloc_area(struct virtio_device *vdev, struct virtio_vring_alloc *a, size_t size,
			    size_t second_off, size_t third_off, uint64_t *pool_addr,
			    uint16_t *indirect_max)
{
	uint64_t ring_addr;

	a->ring_size = size;
	a->ring = virtio_dma_alloc(vdev->dma, a->ring_size, VRING_ALLOC_RING_ALIGN, &ring_addr);
	if (!a->ring)
		return -ENOMEM;
	a->desc_addr = ring_addr;
	a->avail_addr = ring_addr + second_off;
	a->used_addr = ring_addr + third_off;
	return vring_alloc_indirect(vdev, a, pool_addr, indirect_max);
}

/* Split: desc, avail, used; -EINVAL unless @a->num is a power of two (§2.7). */
static int vring_alloc_split(struct virtio_device *vdev, struct virtqueue *vq,
			     struct virtio_vring_alloc *a)
{
	struct vring_split_drv_config cfg = {.num = a->num};
	size_t avail_off, used_off, size;
	int err;

	if (a->num & (a->num - 1))
		return -EINVAL;
	size = vring_alloc_layout(a->num, &avail_off, &used_off);
	err = vring_alloc_area(vdev, a, size, avail_off, used_off, &cfg.indirect_pool_addr,
			       &cfg.indirect_max);
	if (err)
		return err;
	cfg.indirect_pool = a->indirect;
	cfg.desc = a->ring;
	cfg.avail = (struct virtq_avail *)((char *)a->ring + avail_off);
	cfg.used = (struct virtq_used *)((char *)a->ring + used_off);
	cfg.extra = a->extra;
	cfg.event_idx = virtio_has_feature(vdev, VIRTIO_F_RING_EVENT_IDX);
	cfg.in_order = virtio_has_feature(vdev, VIRTIO_F_IN_ORDER);
	return virtqueue_split_init(vq, &cfg);
}

/* Packed: descriptor ring, driver area, device area (any size up to 2^15, §2.8). */
static int vring_alloc_packed(struct virtio_device *vdev, struct virtqueue *vq,
			      struct virtio_vring_alloc *a)
{
	struct vring_packed_drv_config cfg = {.num = a->num};
	size_t driver_off, device_off, size;
	int err;

	size = vring_alloc_packed_layout(a->num, &driver_off, &device_off);
	err = vring_alloc_area(vdev, a, size, driver_off, device_off, &cfg.indirect_pool_addr,
			       &cfg.indirect_max);
	if (err)
		return err;
	cfg.indirect_pool = a->indirect;
	a->packed = true;
	cfg.desc = a->ring;
	cfg.driver_event = (struct pvirtq_event_suppress *)((char *)a->ring + driver_off);
	cfg.device_event = (struct pvirtq_event_suppress *)((char *)a->ring + device_off);
	cfg.extra = a->extra;
	cfg.event_idx = virtio_has_feature(vdev, VIRTIO_F_RING_EVENT_IDX);
	cfg.in_order = virtio_has_feature(vdev, VIRTIO_F_IN_ORDER);
	return virtqueue_packed_init(vq, &cfg);
}

int virtio_vring_alloc(struct virtio_device *vdev, struct virtqueue *vq, uint16_t num,
		       struct virtio_vring_alloc *out)
{
	bool packed = virtio_has_feature(vdev, VIRTIO_F_RING_PACKED);
	int err;

	memset(out, 0, sizeof(*out));
	if (!vdev->dma || num == 0 || num > (packed ? VIRTQ_PACKED_MAX_SIZE : VIRTQ_SPLIT_MAX_SIZE))
		return -EINVAL;
	out->num = num;
	out->extra = calloc(num, sizeof(*out->extra));
	if (!out->extra)
		goto out_nomem;
	err = packed ? vring_alloc_packed(vdev, vq, out) : vring_alloc_split(vdev, vq, out);
	if (err == -ENOMEM)
		goto out_nomem;
	if (err)
		goto out_free;
	return 0;

out_nomem:
	log_warn("vring: no memory for a queue of %u entries", num);
	err = -ENOMEM;
out_free:
	virtio_vring_free(vdev, out);
	return err;
}

void virtio_vring_free(struct virtio_device *vdev, struct virtio_vring_alloc *a)
{
	if (a->ring)
		virtio_dma_free(vdev->dma, a->ring);
	if (a->indirect)
		virtio_dma_free(vdev->dma, a->indirect);
	free(a->extra);
	memset(a, 0, sizeof(*a));
}
