// SPDX-License-Identifier: MIT
/*
 * The public virtqueue_*() verbs: each goes through the queue's struct
 * virtqueue_ops, so a driver never knows which ring format it drives (the
 * seed's virtqueue → virtqueue_ops). The split and packed formats live in
 * split_driver.c and packed_driver.c; what they share is here.
 */
#include <errno.h>

#include <vireo/virtqueue.h>

#include "ring/driver.h"

bool vring_drv_notify(struct virtqueue *vq)
{
	if (vq->broken)
		return false;
	if (vq->notify && !vq->notify(vq)) {
		vq->broken = true;
		return false;
	}
	return true;
}

bool vring_drv_is_broken(const struct virtqueue *vq)
{
	return vq->broken;
}

/* Fails with -EINVAL when the chain totals more than 2^32 - 1 bytes. */
int vring_drv_count_bytes(const struct virtio_sg *sg, unsigned int out_num, unsigned int total,
			  uint32_t *writable)
{
	uint64_t all = 0, in = 0;

	for (unsigned int k = 0; k < total; k++) {
		all += sg[k].len;
		if (k >= out_num)
			in += sg[k].len;
	}
	if (all > UINT32_MAX)
		return -EINVAL;
	*writable = (uint32_t)in;
	return 0;
}

int virtqueue_add_sgs(struct virtqueue *vq, const struct virtio_sg *sg, unsigned int out_num,
		      unsigned int in_num, void *token)
{
	return vq->ops->add_sgs(vq, sg, out_num, in_num, token);
}

int virtqueue_add_outbuf(struct virtqueue *vq, const struct virtio_sg *sg, unsigned int num,
			 void *token)
{
	return vq->ops->add_sgs(vq, sg, num, 0, token);
}

int virtqueue_add_inbuf(struct virtqueue *vq, const struct virtio_sg *sg, unsigned int num,
			void *token)
{
	return vq->ops->add_sgs(vq, sg, 0, num, token);
}

void virtqueue_publish(struct virtqueue *vq)
{
	vq->ops->publish(vq);
}

bool virtqueue_kick_prepare(struct virtqueue *vq)
{
	return vq->ops->kick_prepare(vq);
}

bool virtqueue_notify(struct virtqueue *vq)
{
	return vq->ops->notify(vq);
}

bool virtqueue_kick(struct virtqueue *vq)
{
	if (vq->ops->kick_prepare(vq))
		return vq->ops->notify(vq);
	return !vq->ops->is_broken(vq);
}

void *virtqueue_get_buf(struct virtqueue *vq, uint32_t *len)
{
	return vq->ops->get_buf(vq, len);
}

bool virtqueue_more_used(const struct virtqueue *vq)
{
	return vq->ops->more_used(vq);
}

void virtqueue_disable_cb(struct virtqueue *vq)
{
	vq->ops->disable_cb(vq);
}

bool virtqueue_enable_cb(struct virtqueue *vq)
{
	return vq->ops->enable_cb(vq);
}

bool virtqueue_enable_cb_delayed(struct virtqueue *vq)
{
	return vq->ops->enable_cb_delayed(vq);
}

void *virtqueue_detach_unused_buf(struct virtqueue *vq)
{
	return vq->ops->detach_unused_buf(vq);
}

void virtqueue_break(struct virtqueue *vq)
{
	vq->broken = true;
}

/* A queue never initialized (no ops) counts as broken. */
bool virtqueue_is_broken(const struct virtqueue *vq)
{
	return !vq->ops || vq->ops->is_broken(vq);
}

unsigned int virtqueue_get_vring_size(const struct virtqueue *vq)
{
	return vq->ops->get_vring_size(vq);
}

unsigned int virtqueue_get_num_free(const struct virtqueue *vq)
{
	return vq->ops->get_num_free(vq);
}

uint32_t virtqueue_notification_data(const struct virtqueue *vq)
{
	return vq->ops->notification_data(vq) << 16 | (uint16_t)vq->index;
}
