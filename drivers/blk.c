// SPDX-License-Identifier: MIT
/*
 * virtio-blk front-end (virtio 1.2 §5.2): binding, configuration and
 * queue setup. The I/O paths are in blk_io.c (async) and blk_sync.c.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/log.h>
#include <vireo/virtio_ring_alloc.h>

#include "drivers/blk.h"

/* Device features this driver implements (§5.2.3). */
static const unsigned int blk_known_features[] = {
	VIRTIO_BLK_F_SIZE_MAX,	   /* data split into segments of size_max */
	VIRTIO_BLK_F_SEG_MAX,	   /* at most seg_max data segments */
	VIRTIO_BLK_F_RO,	   /* writes refused before sending */
	VIRTIO_BLK_F_BLK_SIZE,	   /* reported to the caller */
	VIRTIO_BLK_F_FLUSH,	   /* VIRTIO_BLK_T_FLUSH */
	VIRTIO_BLK_F_MQ,	   /* num_queues request queues */
	VIRTIO_BLK_F_DISCARD,	   /* VIRTIO_BLK_T_DISCARD */
	VIRTIO_BLK_F_WRITE_ZEROES, /* VIRTIO_BLK_T_WRITE_ZEROES */
};

static const struct virtio_device_id blk_ids[] = {
	{VIRTIO_ID_BLOCK, VIRTIO_DEV_ANY_ID},
	{0, 0},
};

static int blk_probe(struct virtio_device *vdev);
static void blk_remove(struct virtio_device *vdev);

#define BLK_CFG(field) offsetof(struct vireo_blk_config, field)

static uint32_t blk_cread32(struct virtio_device *vdev, unsigned int offset)
{
	le32 v;

	virtio_cread(vdev, offset, &v, sizeof(v));
	return le32_to_cpu(v);
}

static void blk_read_capacity(struct virtio_blk *blk)
{
	le64 cap;

	/* R-BF-08: a 64-bit field is not read atomically: virtio_cread loops on the generation. */
	virtio_cread(blk->vdev, BLK_CFG(capacity), &cap, sizeof(cap));
	atomic_store_explicit(&blk->capacity, le64_to_cpu(cap), memory_order_relaxed);
}

static void blk_config_changed(struct virtio_device *vdev)
{
	struct virtio_blk *blk = vdev->priv;

	/* §5.2 driver SHOULD: re-check capacity after a configuration change. */
	if (blk)
		blk_read_capacity(blk);
}

/* The largest block size we take as advice: what Linux's block layer accepts (64 KiB). */
#define BLK_ADVISED_SIZE_MAX 65536u

/*
 * blk_size is advice only (§5.2.5: the protocol's unit stays 512 bytes), but callers
 * align to it: a value no disk has (0, not a power of two, below 512 or above 64 KiB)
 * is logged and replaced by 512 rather than passed on.
 */
static uint32_t blk_advised_size(uint32_t v)
{
	if (v >= VIRTIO_BLK_SECTOR_SIZE && v <= BLK_ADVISED_SIZE_MAX && (v & (v - 1u)) == 0)
		return v;
	log_warn("virtio-blk: blk_size %u is not a power of two in 512..65536; using 512", v);
	return VIRTIO_BLK_SECTOR_SIZE;
}

/*
 * Read the configuration (§5.2.4), only fields whose feature was negotiated
 * (R-BF-09). Return: 0 or -EINVAL for values we cannot work with.
 */
static int blk_read_config(struct virtio_blk *blk)
{
	struct virtio_device *vdev = blk->vdev;

	blk_read_capacity(blk);
	blk->blk_size = VIRTIO_BLK_SECTOR_SIZE;
	if (virtio_has_feature(vdev, VIRTIO_BLK_F_BLK_SIZE))
		blk->blk_size = blk_advised_size(blk_cread32(vdev, BLK_CFG(blk_size)));
	if (virtio_has_feature(vdev, VIRTIO_BLK_F_SIZE_MAX))
		blk->size_max = blk_cread32(vdev, BLK_CFG(size_max));
	blk->seg_max = BLK_DATA_SEGS_MAX;
	if (virtio_has_feature(vdev, VIRTIO_BLK_F_SEG_MAX))
		blk->seg_max = blk_cread32(vdev, BLK_CFG(seg_max));
	blk->ro = virtio_has_feature(vdev, VIRTIO_BLK_F_RO);
	if (virtio_has_feature(vdev, VIRTIO_BLK_F_DISCARD)) {
		blk->max_discard_sectors = blk_cread32(vdev, BLK_CFG(max_discard_sectors));
		blk->max_discard_seg = blk_cread32(vdev, BLK_CFG(max_discard_seg));
	}
	if (virtio_has_feature(vdev, VIRTIO_BLK_F_WRITE_ZEROES)) {
		blk->max_wz_sectors = blk_cread32(vdev, BLK_CFG(max_write_zeroes_sectors));
		blk->max_wz_seg = blk_cread32(vdev, BLK_CFG(max_write_zeroes_seg));
	}
	/*
	 * §5.2.3 makes size_max the largest data segment; no keyworded rule
	 * bounds it. Below one sector (0 included: no data at all) a request
	 * would need more segments than we post, so the device is refused
	 * rather than guessed at. 0 means "no limit" only without the feature.
	 */
	if (virtio_has_feature(vdev, VIRTIO_BLK_F_SIZE_MAX) &&
	    blk->size_max < VIRTIO_BLK_SECTOR_SIZE) {
		log_error("virtio-blk: size_max %u is below one sector", blk->size_max);
		return -EINVAL;
	}
	/* seg_max 0 (§5.2.3, not keyworded) would allow no data: take it as 1. */
	if (blk->seg_max == 0)
		blk->seg_max = 1;
	return 0;
}

static unsigned int blk_wanted_queues(struct virtio_blk *blk, const struct virtio_blk_driver *bd)
{
	unsigned int n = 1;

	if (virtio_has_feature(blk->vdev, VIRTIO_BLK_F_MQ)) {
		le16 nq;

		virtio_cread(blk->vdev, BLK_CFG(num_queues), &nq, sizeof(nq));
		n = le16_to_cpu(nq) ? le16_to_cpu(nq) : 1;
	}
	if (bd->max_queues && n > bd->max_queues)
		n = bd->max_queues;
	/* num_queues comes from the device: a sane bound before it sizes allocations. */
	return n < BLK_MAX_QUEUES ? n : BLK_MAX_QUEUES;
}

/* Slots: one per descriptor, the most requests a queue can hold. Return: 0 or -ENOMEM */
static int blk_queue_init(struct virtio_blk *blk, struct blk_queue *q, struct virtqueue *vq)
{
	uint64_t addr;
	uint16_t i;

	q->vq = vq;
	q->num = (uint16_t)virtqueue_get_vring_size(vq);
	q->slots = calloc(q->num, sizeof(*q->slots));
	q->wire = virtio_dma_alloc(blk->vdev->dma, sizeof(*q->wire) * q->num, 64, &addr);
	if (!q->slots || !q->wire)
		return -ENOMEM;
	for (i = 0; i < q->num; i++) {
		q->slots[i].wire = &q->wire[i];
		q->slots[i].wire_addr = addr + sizeof(*q->wire) * i;
		q->slots[i].next_free = (uint16_t)(i + 1u < q->num ? i + 1u : BLK_SLOT_NONE);
	}
	q->free_head = 0;
	/* A polling driver wants no signals unless it waits (vq_poll.c enables them). */
	virtqueue_disable_cb(vq);
	return 0;
}

static void blk_free(struct virtio_blk *blk)
{
	unsigned int i;

	for (i = 0; blk->queues && i < blk->nq; i++) {
		free(blk->queues[i].slots);
		if (blk->queues[i].wire)
			virtio_dma_free(blk->vdev->dma, blk->queues[i].wire);
	}
	if (blk->bounce)
		virtio_dma_free(blk->vdev->dma, blk->bounce);
	pthread_mutex_destroy(&blk->sync_lock);
	free(blk->queues);
	free(blk->names);
	free(blk);
}

static void blk_vq_callback(struct virtqueue *vq)
{
	(void)vq; /* completions are collected by virtio_blk_poll() */
}

/* Largest data chain (segments) a queue can take: one indirect table or the whole ring. */
static void blk_set_limits(struct virtio_blk *blk)
{
	uint32_t ring = UINT32_MAX, segs, chunk;
	unsigned int i;

	for (i = 0; i < blk->nq; i++)
		if (blk->queues[i].num < ring)
			ring = blk->queues[i].num;
	/* With indirect, a chain up to one table's size needs one descriptor only. */
	if (virtio_has_feature(blk->vdev, VIRTIO_F_RING_INDIRECT_DESC) &&
	    ring < VIRTIO_VRING_INDIRECT_MAX)
		ring = VIRTIO_VRING_INDIRECT_MAX;
	segs = ring > 2 ? ring - 2 : 1;
	if (segs > blk->seg_max)
		segs = blk->seg_max;
	if (segs > BLK_DATA_SEGS_MAX)
		segs = BLK_DATA_SEGS_MAX;
	blk->max_data_segs = segs;
	chunk = VIRTIO_BLK_BOUNCE_SIZE;
	if (blk->size_max && (uint64_t)blk->size_max * segs < chunk)
		chunk = (blk->size_max * segs) & ~(VIRTIO_BLK_SECTOR_SIZE - 1);
	blk->sync_chunk = chunk;
}

/* find_vqs for @n request queues ("req.0", ...). Return: 0 or -errno */
static int blk_setup_queues(struct virtio_blk *blk, unsigned int n)
{
	struct virtqueue **vqs = calloc(n, sizeof(*vqs));
	virtqueue_callback **cbs = calloc(n, sizeof(*cbs));
	const char **names = calloc(n, sizeof(*names));
	unsigned int i;
	int err = -ENOMEM;

	blk->names = calloc(n, sizeof(*blk->names));
	blk->queues = calloc(n, sizeof(*blk->queues));
	if (!vqs || !cbs || !names || !blk->names || !blk->queues)
		goto out;
	for (i = 0; i < n; i++) {
		snprintf(blk->names[i], sizeof(blk->names[i]), "req.%u", i);
		names[i] = blk->names[i];
		cbs[i] = blk_vq_callback;
	}
	err = blk->vdev->config->find_vqs(blk->vdev, n, vqs, cbs, names);
	if (err)
		goto out;
	blk->nq = n;
	for (i = 0; i < n && !err; i++)
		err = blk_queue_init(blk, &blk->queues[i], vqs[i]);
	if (err)
		blk->vdev->config->del_vqs(blk->vdev);
out:
	free(vqs);
	free(cbs);
	free(names);
	return err;
}

/* The caller's struct virtio_blk_driver around the bound struct virtio_driver. */
static const struct virtio_blk_driver *blk_driver_of(const struct virtio_device *vdev)
{
	size_t off = offsetof(struct virtio_blk_driver, drv);

	return (const struct virtio_blk_driver *)(const void *)((const char *)vdev->driver - off);
}

/* Bind: read config, set up queues and per-slot memory. Return: 0 or -errno (all undone) */
static int blk_probe(struct virtio_device *vdev)
{
	const struct virtio_blk_driver *bd = blk_driver_of(vdev);
	struct virtio_blk *blk;
	int err;

	if (!vdev->dma)
		return -EINVAL;
	blk = calloc(1, sizeof(*blk));
	if (!blk)
		return -ENOMEM;
	blk->vdev = vdev;
	pthread_mutex_init(&blk->sync_lock, NULL);
	err = blk_read_config(blk);
	if (err)
		goto out_free;
	err = blk_setup_queues(blk, blk_wanted_queues(blk, bd));
	if (err)
		goto out_free;
	blk_set_limits(blk);
	blk->bounce = virtio_dma_alloc(vdev->dma, VIRTIO_BLK_BOUNCE_SIZE, 4096, NULL);
	if (!blk->bounce) {
		err = -ENOMEM;
		vdev->config->del_vqs(vdev);
		goto out_free;
	}
	vdev->priv = blk;
	log_info("virtio-blk%u: %llu sectors, %u queue(s) of %u%s", vdev->index,
		 (unsigned long long)virtio_blk_capacity(blk), blk->nq, blk->queues[0].num,
		 blk->ro ? ", read-only" : "");
	return 0;

out_free:
	blk_free(blk);
	return err;
}

/* The bus reset the device before this: nothing is in flight any more (R-BF-19). */
static void blk_remove(struct virtio_device *vdev)
{
	struct virtio_blk *blk = vdev->priv;

	if (!blk)
		return;
	vdev->priv = NULL;
	blk_free(blk);
}

int virtio_blk_register(struct virtio_bus *bus, struct virtio_blk_driver *bd)
{
	unsigned int i;

	bd->nfeatures = 0;
	for (i = 0; i < sizeof(blk_known_features) / sizeof(blk_known_features[0]); i++)
		if (!(bd->refuse_features & VIRTIO_BIT(blk_known_features[i])))
			bd->features[bd->nfeatures++] = blk_known_features[i];
	bd->drv.name = "virtio-blk";
	bd->drv.id_table = blk_ids;
	bd->drv.feature_table = bd->features;
	bd->drv.feature_table_size = bd->nfeatures;
	bd->drv.probe = blk_probe;
	bd->drv.remove = blk_remove;
	bd->drv.config_changed = blk_config_changed;
	return virtio_register_driver(bus, &bd->drv);
}

void virtio_blk_unregister(struct virtio_bus *bus, struct virtio_blk_driver *bd)
{
	virtio_unregister_driver(bus, &bd->drv);
}

struct virtio_blk *virtio_blk_from_device(struct virtio_device *vdev)
{
	if (!vdev || !vdev->driver || vdev->driver->probe != blk_probe)
		return NULL;
	return vdev->priv;
}

uint64_t virtio_blk_capacity(const struct virtio_blk *blk)
{
	return atomic_load_explicit(&blk->capacity, memory_order_relaxed);
}

uint32_t virtio_blk_blk_size(const struct virtio_blk *blk)
{
	return blk->blk_size;
}

bool virtio_blk_read_only(const struct virtio_blk *blk)
{
	return blk->ro;
}

unsigned int virtio_blk_num_queues(const struct virtio_blk *blk)
{
	return blk->nq;
}

unsigned int virtio_blk_queue_size(const struct virtio_blk *blk, unsigned int queue)
{
	return queue < blk->nq ? blk->queues[queue].num : 0;
}

uint32_t virtio_blk_seg_max(const struct virtio_blk *blk)
{
	return blk->max_data_segs;
}

uint32_t virtio_blk_size_max(const struct virtio_blk *blk)
{
	return blk->size_max;
}

bool virtio_blk_has_feature(const struct virtio_blk *blk, unsigned int bit)
{
	return virtio_has_feature(blk->vdev, bit);
}

void *virtio_blk_alloc_buffer(struct virtio_blk *blk, size_t len)
{
	return virtio_dma_alloc(blk->vdev->dma, len, 4096, NULL);
}

void virtio_blk_free_buffer(struct virtio_blk *blk, void *buf)
{
	virtio_dma_free(blk->vdev->dma, buf);
}
