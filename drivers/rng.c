// SPDX-License-Identifier: MIT
/*
 * virtio-rng (entropy) front-end (virtio 1.2 §5.4): one request queue of
 * device-writable buffers. The request itself is the ring token, so there is
 * nothing to allocate per request.
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/log.h>
#include <vireo/virtio_rng.h>

#include "drivers/vq_poll.h"

/* A device that keeps answering with zero bytes is given up on after this many. */
#define RNG_MAX_EMPTY 64u

struct virtio_rng {
	struct virtio_device *vdev;
	struct virtqueue *vq;
	void *bounce;
	pthread_mutex_t sync_lock;
	struct virtio_rng_request *done_head;
	struct virtio_rng_request *done_tail;
	bool broken_warned;
};

static const struct virtio_device_id rng_ids[] = {
	{VIRTIO_ID_ENTROPY, VIRTIO_DEV_ANY_ID},
	{0, 0},
};

static void rng_vq_callback(struct virtqueue *vq)
{
	(void)vq; /* completions are collected by polling */
}

static void rng_free(struct virtio_rng *rng)
{
	if (rng->bounce)
		virtio_dma_free(rng->vdev->dma, rng->bounce);
	pthread_mutex_destroy(&rng->sync_lock);
	free(rng);
}

/* Bind: one queue, one bounce buffer. Return: 0 or -errno (all undone) */
static int rng_probe(struct virtio_device *vdev)
{
	virtqueue_callback *cbs[1] = {rng_vq_callback};
	const char *const names[1] = {"req.0"};
	struct virtqueue *vqs[1];
	struct virtio_rng *rng;
	int err;

	if (!vdev->dma)
		return -EINVAL;
	rng = calloc(1, sizeof(*rng));
	if (!rng)
		return -ENOMEM;
	rng->vdev = vdev;
	pthread_mutex_init(&rng->sync_lock, NULL);
	rng->bounce = virtio_dma_alloc(vdev->dma, VIRTIO_RNG_BOUNCE_SIZE, 64, NULL);
	if (!rng->bounce) {
		err = -ENOMEM;
		goto out_free;
	}
	err = vdev->config->find_vqs(vdev, 1, vqs, cbs, names);
	if (err)
		goto out_free;
	rng->vq = vqs[0];
	virtqueue_disable_cb(rng->vq);
	vdev->priv = rng;
	return 0;

out_free:
	rng_free(rng);
	return err;
}

static void rng_remove(struct virtio_device *vdev)
{
	struct virtio_rng *rng = vdev->priv;

	if (!rng)
		return;
	vdev->priv = NULL;
	rng_free(rng);
}

int virtio_rng_register(struct virtio_bus *bus, struct virtio_rng_driver *rd)
{
	rd->drv.name = "virtio-rng";
	rd->drv.id_table = rng_ids;
	rd->drv.feature_table = NULL; /* §5.4.3: no device features */
	rd->drv.feature_table_size = 0;
	rd->drv.probe = rng_probe;
	rd->drv.remove = rng_remove;
	rd->drv.config_changed = NULL;
	return virtio_register_driver(bus, &rd->drv);
}

void virtio_rng_unregister(struct virtio_bus *bus, struct virtio_rng_driver *rd)
{
	virtio_unregister_driver(bus, &rd->drv);
}

struct virtio_rng *virtio_rng_from_device(struct virtio_device *vdev)
{
	if (!vdev || !vdev->driver || vdev->driver->probe != rng_probe)
		return NULL;
	return vdev->priv;
}

void *virtio_rng_alloc_buffer(struct virtio_rng *rng, size_t len)
{
	return virtio_dma_alloc(rng->vdev->dma, len, 64, NULL);
}

void virtio_rng_free_buffer(struct virtio_rng *rng, void *buf)
{
	virtio_dma_free(rng->vdev->dma, buf);
}

int virtio_rng_submit(struct virtio_rng *rng, struct virtio_rng_request *req)
{
	struct virtio_sg sg;
	int err;

	if (req->len == 0 || !req->data ||
	    !virtio_dma_contains(rng->vdev->dma, req->data, req->len))
		return -EINVAL;
	sg.addr = virtio_dma_addr(rng->vdev->dma, req->data);
	sg.len = req->len;
	req->written = 0;
	req->result = 0;
	/* R-RNG-01: requestq buffers are device-writable only. */
	err = virtqueue_add_inbuf(rng->vq, &sg, 1, req);
	if (err)
		return err == -ENOSPC ? -EAGAIN : err;
	virtqueue_kick(rng->vq);
	return 0;
}

static void rng_stash(struct virtio_rng *rng, struct virtio_rng_request *req)
{
	req->next = NULL;
	if (rng->done_tail)
		rng->done_tail->next = req;
	else
		rng->done_head = req;
	rng->done_tail = req;
}

static struct virtio_rng_request *rng_unstash(struct virtio_rng *rng)
{
	struct virtio_rng_request *req = rng->done_head;

	if (req) {
		rng->done_head = req->next;
		if (!rng->done_head)
			rng->done_tail = NULL;
	}
	return req;
}

static struct virtio_rng_request *rng_harvest_one(struct virtio_rng *rng)
{
	struct virtio_rng_request *req;
	uint32_t len;

	/* Reset after DEVICE_NEEDS_RESET: no completion may be relied on (drv:BF/Device Status Field). */
	if (virtio_device_needs_reset(rng->vdev))
		return NULL;
	/* R-RNG-02: the used length is how many random bytes arrived (the ring bounds it). */
	req = virtqueue_get_buf(rng->vq, &len);
	if (req) {
		req->written = len;
		req->result = 0;
	}
	return req;
}

int virtio_rng_poll(struct virtio_rng *rng, struct virtio_rng_request **done, unsigned int max,
		    int timeout_ms)
{
	unsigned int n = 0;
	int err;

	for (;;) {
		while (n < max && (done[n] = rng_unstash(rng)) != NULL)
			n++;
		while (n < max && (done[n] = rng_harvest_one(rng)) != NULL)
			n++;
		if (n || max == 0)
			return (int)n;
		err = virtio_vq_wait_used(rng->vq, timeout_ms, &rng->broken_warned);
		if (err <= 0)
			return err;
	}
}

/*
 * The wait for the caller's @req (on its stack) failed: the queue is broken, so no later
 * harvest can hand back a token the caller no longer owns. Return: @err, or -EIO for 0.
 */
static int rng_sync_failed(struct virtio_rng *rng, int err)
{
	virtqueue_break(rng->vq);
	return err ? err : -EIO;
}

/* Post @req and wait for it, stashing other completions. Return: 0 or -errno */
static int rng_sync_one(struct virtio_rng *rng, struct virtio_rng_request *req)
{
	struct virtio_rng_request *got;
	int err;

	while ((err = virtio_rng_submit(rng, req)) == -EAGAIN) {
		err = virtio_vq_wait_used(rng->vq, -1, &rng->broken_warned);
		if (err <= 0)
			return err ? err : -EIO;
		got = rng_harvest_one(rng);
		if (!got)
			return -EIO; /* the queue broke */
		rng_stash(rng, got);
	}
	if (err)
		return err;
	for (;;) {
		while ((got = rng_harvest_one(rng)) != NULL) {
			if (got == req)
				return 0;
			rng_stash(rng, got);
		}
		err = virtio_vq_wait_used(rng->vq, -1, &rng->broken_warned);
		if (err <= 0)
			return rng_sync_failed(rng, err);
	}
}

ssize_t virtio_rng_read(struct virtio_rng *rng, void *buf, size_t len)
{
	struct virtio_rng_request req;
	unsigned int empty = 0;
	size_t done = 0;
	int err = 0;

	pthread_mutex_lock(&rng->sync_lock);
	while (done < len && !err) {
		size_t want =
			len - done < VIRTIO_RNG_BOUNCE_SIZE ? len - done : VIRTIO_RNG_BOUNCE_SIZE;

		req = (struct virtio_rng_request){.data = rng->bounce, .len = (uint32_t)want};
		err = rng_sync_one(rng, &req);
		if (err)
			break;
		/* Short fills are normal (R-RNG-02); endless empty ones are not. */
		if (req.written == 0 && ++empty >= RNG_MAX_EMPTY) {
			log_warn("virtio-rng%u: device keeps returning no data", rng->vdev->index);
			err = -EIO;
			break;
		}
		memcpy((char *)buf + done, rng->bounce, req.written);
		done += req.written;
	}
	pthread_mutex_unlock(&rng->sync_lock);
	return err ? err : (ssize_t)len;
}
