// SPDX-License-Identifier: MIT
/*
 * virtio-blk device model (virtio 1.2 §5.2): life cycle, feature offer and
 * config space. The request path is in blk_req.c (checks) and blk_io.c
 * (io_uring). A queue's io_uring is set up when the device activates, or at
 * its first kick if the transport enabled it later (vhost-user enables
 * queues one by one), and torn down at reset.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vireo/log.h>

#include "devices/blk/blk_internal.h"

static struct blk_device *blk_from_vdev(struct vdev *dev)
{
	return (struct blk_device *)((char *)dev - offsetof(struct blk_device, vdev));
}

static void blk_teardown_all(struct blk_device *blk)
{
	for (unsigned int i = 0; i < blk->num_queues; i++)
		blk_queue_teardown(&blk->queues[i]);
}

/* DRIVER_OK: every queue enabled so far gets its io_uring now, so errors show early. */
static int blk_activate(struct vdev *dev)
{
	struct blk_device *blk = blk_from_vdev(dev);

	for (unsigned int i = 0; i < blk->num_queues; i++) {
		struct blk_queue *bq = &blk->queues[i];
		int rc;

		if (!bq->vq->enabled || bq->ring_ready)
			continue;
		rc = blk_queue_setup(bq);
		if (rc) {
			log_error("blk: queue %u: io_uring setup failed (%d)", i, rc);
			blk_teardown_all(blk);
			return rc;
		}
	}
	return 0;
}

static void blk_queue_notify(struct vdev *dev, struct vdev_queue *q)
{
	struct blk_device *blk = blk_from_vdev(dev);
	struct blk_queue *bq;

	if (q->index >= blk->num_queues)
		return;
	bq = &blk->queues[q->index];
	/* the driver resized an idle queue (vhost-user re-enable): size the pool anew */
	if (bq->ring_ready && bq->num != q->num && bq->in_flight == 0)
		blk_queue_teardown(bq);
	if (!bq->ring_ready && blk_queue_setup(bq) != 0) {
		vireo_vdev_queue_set_needs_reset(q, "cannot set up a queue's io_uring");
		return;
	}
	blk_queue_process(bq);
}

/* device.h queue_stop: nothing of @q's may still write into guest memory afterwards. */
static void blk_queue_stop(struct vdev *dev, struct vdev_queue *q)
{
	struct blk_device *blk = blk_from_vdev(dev);

	if (q->index < blk->num_queues)
		blk_queue_drain(&blk->queues[q->index]);
}

static void blk_reset(struct vdev *dev)
{
	blk_teardown_all(blk_from_vdev(dev));
}

static const struct vdev_ops blk_ops = {
	.activate = blk_activate,
	.queue_notify = blk_queue_notify,
	.queue_stop = blk_queue_stop,
	.reset = blk_reset,
};

/* Image size in bytes: a regular file's length or a block device's size. Return: 0 or -errno */
static int blk_image_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size) < 0 ? -errno : 0;
	return -EINVAL;
}

/*
 * §5.2.4. blk_size is 512: the image is served through the page cache (no
 * O_DIRECT), so 512-byte requests cost nothing extra, and any image whose
 * size is a multiple of 512 keeps every sector reachable.
 */
static void blk_init_config(struct blk_device *blk)
{
	struct vireo_blk_config *c = &blk->config;
	uint32_t seg_max = blk->queue_size > 2 ? blk->queue_size - 2u : 1u;

	memset(c, 0, sizeof(*c));
	if (seg_max > BLK_SEG_MAX_CAP)
		seg_max = BLK_SEG_MAX_CAP;
	c->capacity = cpu_to_le64(blk->capacity);
	c->seg_max = cpu_to_le32(seg_max);
	c->blk_size = cpu_to_le32(VIRTIO_BLK_SECTOR_SIZE);
	c->num_queues = cpu_to_le16((uint16_t)blk->num_queues);
	c->max_discard_sectors = cpu_to_le32(BLK_MAX_DWZ_SECTORS);
	c->max_discard_seg = cpu_to_le32(BLK_MAX_DWZ_SEG);
	c->discard_sector_alignment = cpu_to_le32(1);
	c->max_write_zeroes_sectors = cpu_to_le32(BLK_MAX_DWZ_SECTORS);
	c->max_write_zeroes_seg = cpu_to_le32(BLK_MAX_DWZ_SEG);
	/* punching holes reads back as zeroes, so write-zeroes may deallocate */
	c->write_zeroes_may_unmap = 1;
}

static uint64_t blk_features(const struct blk_device *blk)
{
	uint64_t f = VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
		     VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);

	if (blk->num_queues > 1)
		f |= VIRTIO_BIT(VIRTIO_BLK_F_MQ);
	/* a read-only disk fails every write anyway (§5.2.6.2): do not offer those */
	if (blk->readonly)
		f |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
	else
		f |= VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	return f;
}

static int blk_check_options(const struct blk_device_options *opt, unsigned int *nq, uint16_t *qs)
{
	if (!opt || !opt->path)
		return -EINVAL;
	*nq = opt->num_queues ? opt->num_queues : BLK_DEVICE_DEFAULT_QUEUES;
	*qs = opt->queue_size ? opt->queue_size : BLK_DEVICE_DEFAULT_QUEUE_SIZE;
	if (*nq > BLK_DEVICE_MAX_QUEUES || *qs < 2 || *qs > 32768 || (*qs & (*qs - 1)))
		return -EINVAL;
	return 0;
}

static int blk_open_image(struct blk_device *blk, const char *path)
{
	uint64_t size;
	int rc;

	blk->fd = open(path, (blk->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (blk->fd < 0)
		return -errno;
	rc = blk_image_size(blk->fd, &size);
	if (rc == 0 && size < VIRTIO_BLK_SECTOR_SIZE)
		rc = -EINVAL;
	if (rc) {
		close(blk->fd);
		return rc;
	}
	blk->capacity = size >> VIRTIO_BLK_SECTOR_SHIFT;
	return 0;
}

int vireo_blk_device_new(struct blk_device **out, const struct blk_device_options *opt)
{
	struct blk_device *blk;
	unsigned int nq;
	uint16_t qs;
	int rc = blk_check_options(opt, &nq, &qs);

	if (rc)
		return rc;
	blk = calloc(1, sizeof(*blk));
	if (!blk)
		return -ENOMEM;
	blk->readonly = opt->readonly;
	blk->num_queues = nq;
	blk->queue_size = qs;
	if (opt->serial)
		memcpy(blk->serial, opt->serial, strnlen(opt->serial, VIRTIO_BLK_ID_BYTES));
	rc = blk_open_image(blk, opt->path);
	if (rc)
		goto out_free;
	blk_init_config(blk);
	rc = vireo_vdev_init(&blk->vdev, &blk_ops, "virtio-blk", VIRTIO_ID_BLOCK, blk_features(blk),
			     nq, qs, &blk->config, sizeof(blk->config));
	if (rc)
		goto out_close;
	for (unsigned int i = 0; i < nq; i++) {
		blk->queues[i].blk = blk;
		blk->queues[i].vq = &blk->vdev.queues[i];
		blk->queues[i].event_fd = -1;
	}
	*out = blk;
	return 0;

out_close:
	close(blk->fd);
out_free:
	free(blk);
	return rc;
}

struct vdev *vireo_blk_device_vdev(struct blk_device *blk)
{
	return &blk->vdev;
}

uint64_t vireo_blk_device_capacity(const struct blk_device *blk)
{
	return blk->capacity;
}

void vireo_blk_device_free(struct blk_device *blk)
{
	if (!blk)
		return;
	/* first our I/O (it needs the loop and guest memory), then the core */
	blk_teardown_all(blk);
	vireo_vdev_destroy(&blk->vdev);
	close(blk->fd);
	free(blk);
}

/* Return: 0, or -EINVAL for an index beyond the device's queues. */
int vireo_blk_device_queue_stats(const struct blk_device *blk, unsigned int index,
				 struct blk_device_queue_stats *out)
{
	const struct blk_queue *bq;
	const struct vdev_queue *q;
	unsigned int i;

	if (index >= blk->num_queues)
		return -EINVAL;
	bq = &blk->queues[index];
	q = &blk->vdev.queues[index];
	for (i = 0; i < BLK_DEVICE_REQ_KINDS; i++)
		out->requests[i] = vdev_queue_counter(&bq->stats.requests[i]);
	out->bytes_read = vdev_queue_counter(&bq->stats.bytes_read);
	out->bytes_written = vdev_queue_counter(&bq->stats.bytes_written);
	out->errors = vdev_queue_counter(&bq->stats.errors);
	out->kicks = vdev_queue_counter(&q->kicks);
	out->calls = vdev_queue_counter(&q->calls);
	out->in_flight = __atomic_load_n(&bq->in_flight, __ATOMIC_RELAXED);
	return 0;
}

const char *vireo_blk_device_request_kind_name(enum blk_device_request_kind kind)
{
	static const char *const names[BLK_DEVICE_REQ_KINDS] = {
		"in", "out", "flush", "get-id", "discard", "write-zeroes", "other",
	};

	return (unsigned int)kind < BLK_DEVICE_REQ_KINDS ? names[kind] : "?";
}
