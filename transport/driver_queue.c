// SPDX-License-Identifier: MIT
/*
 * A driver-side transport's queue: ring memory from virtio_vring_alloc() and the
 * virtqueue bound to its device and transport (see driver_queue.h).
 */
#include <string.h>

#include "transport/driver_queue.h"
#include "transport/queue_owner.h"

static void driver_queue_bind(struct driver_queue *q, struct virtio_device *vdev,
			      const struct driver_queue_binding *b)
{
	q->vq.vdev = vdev;
	q->vq.index = b->index;
	q->vq.name = b->name;
	q->vq.callback = b->callback;
	q->vq.notify = b->notify;
	q->vq.priv = b->priv;
}

int driver_queue_alloc(struct driver_queue *q, struct virtio_device *vdev, uint16_t num,
		       const struct driver_queue_binding *b)
{
	int ret = virtio_vring_alloc(vdev, &q->vq, num, &q->ring);

	if (ret < 0)
		return ret;
	q->allocated = true;
	driver_queue_bind(q, vdev, b);
	return 0;
}

int driver_queue_renew(struct driver_queue *q, struct virtio_device *vdev, uint16_t num)
{
	const struct driver_queue_binding b = {
		.index = q->vq.index,
		.name = q->vq.name,
		.callback = q->vq.callback,
		.notify = q->vq.notify,
		.priv = q->vq.priv,
	};

	if (q->allocated)
		virtio_vring_free(vdev, &q->ring);
	q->allocated = false;
	return driver_queue_alloc(q, vdev, num, &b);
}

void driver_queue_release(struct driver_queue *q, struct virtio_device *vdev)
{
	if (q->allocated)
		virtio_vring_free(vdev, &q->ring);
	q->allocated = false;
	memset(&q->vq, 0, sizeof(q->vq));
	queue_owner_clear(&q->owner);
}
