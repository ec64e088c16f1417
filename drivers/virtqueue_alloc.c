// SPDX-License-Identifier: MIT
/*
 * Memory for a driver-side split virtqueue (see <vireo/virtio_ring_alloc.h>):
 * ring/ never allocates, so every driver-role transport gets its rings here.
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

/* The pool only if INDIRECT_DESC was negotiated (R-SR-05: no INDIRECT without it). */
static int vring_alloc_indirect(struct virtio_device *vdev, struct virtio_vring_alloc *a,
				struct vring_split_drv_config *cfg)
{
	size_t bytes = sizeof(struct virtq_desc) * a->num * VIRTIO_VRING_INDIRECT_MAX;

	if (!virtio_has_feature(vdev, VIRTIO_F_RING_INDIRECT_DESC))
		return 0;
	a->indirect =
		virtio_dma_alloc(vdev->dma, bytes, VIRTQ_DESC_ALIGN, &cfg->indirect_pool_addr);
	if (!a->indirect)
		return -ENOMEM;
	cfg->indirect_pool = a->indirect;
	cfg->indirect_max = VIRTIO_VRING_INDIRECT_MAX;
	return 0;
}

int virtio_vring_alloc(struct virtio_device *vdev, struct virtqueue *vq, uint16_t num,
		       struct virtio_vring_alloc *out)
{
	struct vring_split_drv_config cfg = {.num = num};
	size_t avail_off, used_off;
	uint64_t ring_addr;
	int err;

	memset(out, 0, sizeof(*out));
	if (!vdev->dma || num == 0 || num > VIRTQ_SPLIT_MAX_SIZE || (num & (num - 1)))
		return -EINVAL;
	out->num = num;
	out->ring_size = vring_alloc_layout(num, &avail_off, &used_off);
	out->ring = virtio_dma_alloc(vdev->dma, out->ring_size, VRING_ALLOC_RING_ALIGN, &ring_addr);
	if (!out->ring)
		goto out_nomem;
	out->extra = calloc(num, sizeof(*out->extra));
	if (!out->extra)
		goto out_nomem;
	err = vring_alloc_indirect(vdev, out, &cfg);
	if (err)
		goto out_free;

	out->desc_addr = ring_addr;
	out->avail_addr = ring_addr + avail_off;
	out->used_addr = ring_addr + used_off;
	cfg.desc = out->ring;
	cfg.avail = (struct virtq_avail *)((char *)out->ring + avail_off);
	cfg.used = (struct virtq_used *)((char *)out->ring + used_off);
	cfg.extra = out->extra;
	cfg.event_idx = virtio_has_feature(vdev, VIRTIO_F_RING_EVENT_IDX);
	err = virtqueue_split_init(vq, &cfg);
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
