// SPDX-License-Identifier: MIT
/* A fake driver-role transport for unit tests; see fake_transport.h. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/fake_transport.h"

static struct fake_dev *fake_of(struct virtio_device *vdev)
{
	return vdev->transport;
}

static void fake_log(struct fake_dev *fd, enum fake_event_kind kind, uint64_t val)
{
	if (fd->nevents < FAKE_MAX_EVENTS)
		fd->events[fd->nevents++] = (struct fake_event){kind, val};
}

static void fake_get(struct virtio_device *vdev, unsigned int offset, void *buf, unsigned int len)
{
	struct fake_dev *fd = fake_of(vdev);

	fd->config_reads++;
	memset(buf, 0, len);
	if (offset < sizeof(fd->config) && len <= sizeof(fd->config) - offset)
		memcpy(buf, fd->config + offset, len);
}

static void fake_set(struct virtio_device *vdev, unsigned int offset, const void *buf,
		     unsigned int len)
{
	struct fake_dev *fd = fake_of(vdev);

	fd->config_written = true;
	fake_log(fd, FAKE_EV_CONFIG_WRITE, offset);
	if (offset < sizeof(fd->config) && len <= sizeof(fd->config) - offset)
		memcpy(fd->config + offset, buf, len);
}

static uint32_t fake_generation(struct virtio_device *vdev)
{
	struct fake_dev *fd = fake_of(vdev);

	if (fd->gen_flaps) {
		fd->gen_flaps--;
		fd->generation++;
	}
	return fd->generation;
}

static uint8_t fake_get_status(struct virtio_device *vdev)
{
	return fake_of(vdev)->status;
}

static void fake_set_status(struct virtio_device *vdev, uint8_t status)
{
	struct fake_dev *fd = fake_of(vdev);

	if ((status & fd->status) != fd->status)
		fd->status_cleared = true;
	fake_log(fd, FAKE_EV_STATUS, status);
	if (fd->refuse_features_ok)
		status &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	fd->status = status;
}

static void fake_reset(struct virtio_device *vdev)
{
	struct fake_dev *fd = fake_of(vdev);

	fake_log(fd, FAKE_EV_RESET, 0);
	fd->status = 0;
	fd->acked = 0;
}

static uint64_t fake_get_features(struct virtio_device *vdev)
{
	return fake_of(vdev)->offered;
}

static int fake_finalize_features(struct virtio_device *vdev)
{
	struct fake_dev *fd = fake_of(vdev);

	fd->acked = vdev->features;
	fake_log(fd, FAKE_EV_FINALIZE, vdev->features);
	return 0;
}

static void *fake_translate(const void *opaque, uint64_t addr, uint64_t len, uint64_t *contiguous)
{
	const struct fake_dev *fd = opaque;
	uint64_t off = addr - FAKE_DMA_BASE;

	if (addr < FAKE_DMA_BASE || off > fd->dma.size || len > fd->dma.size - off)
		return NULL;
	*contiguous = len;
	return (char *)fd->dma.base + off;
}

static bool fake_notify(struct virtqueue *vq)
{
	struct fake_vq *fvq = vq->priv;
	struct fake_dev *fd = fvq->fd;

	fvq->kicks++;
	/* R-BF-17: no notification before DRIVER_OK. */
	if (!(fd->status & VIRTIO_STATUS_DRIVER_OK))
		fd->kick_before_driver_ok = true;
	if (!fd->defer)
		fake_dev_process(fd, vq->index, UINT_MAX);
	return true;
}

static void fake_free_vq(struct fake_dev *fd, struct fake_vq *fvq)
{
	virtio_vring_free(&fd->vdev, &fvq->mem);
	free(fvq->dev_state);
	free(fvq);
}

static void fake_del_vqs(struct virtio_device *vdev)
{
	struct fake_dev *fd = fake_of(vdev);
	unsigned int i;

	fake_log(fd, FAKE_EV_DEL_VQS, fd->nvqs);
	for (i = 0; i < fd->nvqs; i++)
		fake_free_vq(fd, fd->vqs[i]);
	fd->nvqs = 0;
}

/* The driver's ring and the device's view of it, over the same DMA memory. */
static int fake_setup_vq(struct fake_dev *fd, unsigned int i, virtqueue_callback *cb,
			 const char *name, struct fake_vq **out)
{
	struct fake_vq *fvq = calloc(1, sizeof(*fvq));
	struct vring_split_dev_config cfg = {0};
	int err;

	if (!fvq)
		return -ENOMEM;
	fvq->fd = fd;
	fvq->vq = (struct virtqueue){.callback = cb,
				     .notify = fake_notify,
				     .name = name,
				     .vdev = &fd->vdev,
				     .index = i,
				     .priv = fvq};
	err = virtio_vring_alloc(&fd->vdev, &fvq->vq, fd->queue_size, &fvq->mem);
	if (err) {
		free(fvq);
		return err;
	}
	fvq->dev_state = calloc(1, vring_split_dev_state_size(fd->queue_size));
	cfg.num = cfg.max_num = fd->queue_size;
	cfg.desc_addr = fvq->mem.desc_addr;
	cfg.avail_addr = fvq->mem.avail_addr;
	cfg.used_addr = fvq->mem.used_addr;
	cfg.event_idx = virtio_has_feature(&fd->vdev, VIRTIO_F_RING_EVENT_IDX);
	cfg.indirect = virtio_has_feature(&fd->vdev, VIRTIO_F_RING_INDIRECT_DESC);
	cfg.mem = (struct vring_mem){.translate = fake_translate, .opaque = fd};
	cfg.state = fvq->dev_state;
	if (!fvq->dev_state || vring_split_dev_init(&fvq->dev, &cfg)) {
		fake_free_vq(fd, fvq);
		return -EINVAL;
	}
	*out = fvq;
	return 0;
}

static int fake_find_vqs(struct virtio_device *vdev, unsigned int nvqs, struct virtqueue *vqs[],
			 virtqueue_callback *callbacks[], const char *const names[])
{
	struct fake_dev *fd = fake_of(vdev);
	unsigned int i;
	int err;

	fake_log(fd, FAKE_EV_FIND_VQS, nvqs);
	if (fd->find_vqs_err)
		return fd->find_vqs_err;
	if (nvqs > FAKE_MAX_VQS)
		return -EINVAL;
	for (i = 0; i < nvqs; i++) {
		err = fake_setup_vq(fd, i, callbacks[i], names[i], &fd->vqs[i]);
		if (err) {
			fd->nvqs = i;
			fake_del_vqs(vdev);
			return err;
		}
		vqs[i] = &fd->vqs[i]->vq;
	}
	fd->nvqs = nvqs;
	return 0;
}

/* The "interrupt handler": serve what is pending, then run the signalled callbacks. */
static int fake_wait(struct virtio_device *vdev, int timeout_ms)
{
	struct fake_dev *fd = fake_of(vdev);
	unsigned int i, served = 0;

	(void)timeout_ms;
	for (i = 0; i < fd->nvqs; i++) {
		if (fake_dev_process(fd, i, UINT_MAX) == 0)
			continue;
		served++;
		if (fd->vqs[i]->vq.callback)
			fd->vqs[i]->vq.callback(&fd->vqs[i]->vq);
	}
	return served ? 0 : -ETIMEDOUT;
}

static const char *fake_bus_name(struct virtio_device *vdev)
{
	(void)vdev;
	return "fake";
}

static const struct virtio_config_ops fake_ops = {
	.get = fake_get,
	.set = fake_set,
	.generation = fake_generation,
	.get_status = fake_get_status,
	.set_status = fake_set_status,
	.reset = fake_reset,
	.get_features = fake_get_features,
	.finalize_features = fake_finalize_features,
	.find_vqs = fake_find_vqs,
	.del_vqs = fake_del_vqs,
	.wait = fake_wait,
	.bus_name = fake_bus_name,
};

int fake_dev_init(struct fake_dev *fd, uint32_t device_id, uint64_t offered, size_t dma_size)
{
	memset(fd, 0, sizeof(*fd));
	fd->vdev.id.device = device_id;
	fd->vdev.id.vendor = 0x56495245; /* "VIRE" */
	fd->vdev.config = &fake_ops;
	fd->vdev.transport = fd;
	fd->vdev.dma = &fd->dma;
	fd->offered = offered;
	fd->queue_size = 64;
	fd->config_len = sizeof(fd->config);
	return virtio_dma_arena_init(&fd->dma, dma_size, FAKE_DMA_BASE);
}

void fake_dev_destroy(struct fake_dev *fd)
{
	unsigned int i;

	for (i = 0; i < fd->nvqs; i++)
		fake_free_vq(fd, fd->vqs[i]);
	fd->nvqs = 0;
	virtio_dma_arena_destroy(&fd->dma);
}

unsigned int fake_dev_process(struct fake_dev *fd, unsigned int q, unsigned int max)
{
	struct vring_iov iov[FAKE_IOV_MAX];
	struct vring_chain chain;
	struct fake_vq *fvq;
	unsigned int n = 0;

	if (q >= fd->nvqs || fd->hold[q])
		return 0;
	fvq = fd->vqs[q];
	do {
		while (n < max) {
			int err = vring_split_dev_pop(&fvq->dev, &chain, iov, FAKE_IOV_MAX);
			uint32_t written;

			if (err == -EAGAIN)
				break;
			if (err) {
				fd->device_error = true;
				return n;
			}
			written = fd->handler ? fd->handler(fd, q, &chain, iov) : 0;
			if (vring_split_dev_push(&fvq->dev, chain.head, written))
				fd->device_error = true;
			n++;
		}
		vring_split_dev_flush(&fvq->dev);
		/* Re-arm kicks (avail_event with EVENT_IDX); loop if more came meanwhile. */
	} while (n < max && vring_split_dev_enable_notify(&fvq->dev));
	fd->processed += n;
	return n;
}

unsigned int fake_dev_kicks(const struct fake_dev *fd, unsigned int q)
{
	return q < fd->nvqs ? fd->vqs[q]->kicks : 0;
}
