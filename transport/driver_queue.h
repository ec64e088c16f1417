/* SPDX-License-Identifier: MIT */
/*
 * What every driver-side transport keeps per queue (loopback, virtio-mmio, virtio-pci,
 * the vhost-user front-end): the virtqueue, its ring memory in the negotiated format and
 * the thread that drives it. One place allocates, binds and frees them; each transport's
 * queue embeds this and adds its own (fds, vectors, notify addresses).
 */
#ifndef VIREO_TRANSPORT_DRIVER_QUEUE_H
#define VIREO_TRANSPORT_DRIVER_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include <vireo/virtio_ring_alloc.h>
#include <vireo/virtqueue.h>

struct driver_queue {
	struct virtqueue vq;
	struct virtio_vring_alloc ring;
	bool allocated;		     /* @ring holds memory */
	_Atomic unsigned long owner; /* the thread that kicked it last (queue_owner.h) */
};

/* Who a queue belongs to: the fields of struct virtqueue the ring's init leaves alone. */
struct driver_queue_binding {
	unsigned int index;
	const char *name;
	virtqueue_callback *callback;
	bool (*notify)(struct virtqueue *vq);
	void *priv; /* the transport's queue */
};

/*
 * driver_queue_alloc() - a ring of @num entries for @q in @vdev's negotiated format,
 * and @q->vq bound to @vdev and @b.
 * Return: 0, or virtio_vring_alloc()'s -EINVAL / -ENOMEM (nothing allocated then).
 */
int driver_queue_alloc(struct driver_queue *q, struct virtio_device *vdev, uint16_t num,
		       const struct driver_queue_binding *b);

/*
 * driver_queue_renew() - a fresh ring of @num entries for a queue that was reset
 * (§2.6.1), bound as before. Return: as driver_queue_alloc().
 */
int driver_queue_renew(struct driver_queue *q, struct virtio_device *vdev, uint16_t num);

/* driver_queue_release() - the ring freed, the virtqueue cleared, nobody drives it. */
void driver_queue_release(struct driver_queue *q, struct virtio_device *vdev);

#endif /* VIREO_TRANSPORT_DRIVER_QUEUE_H */
