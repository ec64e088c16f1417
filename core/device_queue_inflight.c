// SPDX-License-Identifier: MIT
/*
 * The device queue's side of vhost-user inflight tracking: a queue with a
 * region records each head it pops and clears each batch it publishes, and
 * at enable repairs the region against the ring and hands out the requests
 * a previous back-end left in flight before any new one (submission order).
 */
#include <errno.h>

#include <vireo/device.h>
#include <vireo/inflight.h>
#include <vireo/log.h>

#include "core/device_internal.h"

/* Return: 0; -EINVAL (index); -EBUSY (enabled). */
int vdev_queue_set_inflight(struct vdev *dev, unsigned int index, struct vinflight *inf)
{
	struct vdev_queue *q;

	if (index >= dev->num_queues)
		return -EINVAL;
	q = &dev->queues[index];
	if (q->enabled)
		return -EBUSY;
	q->inflight = inf;
	return 0;
}

/*
 * After the ring's init: check and repair the region (D-VU-INFL-06, -09),
 * and resume the avail ring after everything that was fetched.
 * Return: 0; -EPROTO (region forged or not for this ring); -ENOMEM; -ENOTSUP.
 */
int vdev_queue_inflight_start(struct vdev_queue *q)
{
	struct vring_dev_position pos;
	uint16_t last;
	int ret;

	if (q->inflight->packed != vdev_queue_is_packed(q) || !q->ring_ops->pop_head)
		return -ENOTSUP;
	q->ring_ops->get_position(&q->ring, &pos);
	last = pos.avail_idx;
	ret = vinflight_split_recover(q->inflight, q->num, pos.used_idx, &last);
	if (ret < 0)
		return ret;
	if (last != pos.avail_idx || q->inflight->resubmit_len)
		log_info("%s: queue %u: inflight region: %u requests to resubmit, avail resumes at "
			 "%u (front-end said %u)",
			 vdev_name(q->dev), q->index, q->inflight->resubmit_len, last,
			 pos.avail_idx);
	pos.avail_idx = last;
	q->ring_ops->set_position(&q->ring, &pos);
	return 0;
}

/* Return: 1 and a chain (a resubmitted request); 0 (none left); the ring's pop errors. */
int vdev_queue_inflight_pop(struct vdev_queue *q, struct vring_chain *chain, struct vring_iov *iov,
			    unsigned int iov_cap)
{
	uint16_t head;
	int ret;

	if (!vinflight_next_resubmit(q->inflight, &head))
		return 0;
	ret = q->ring_ops->pop_head(&q->ring, head, chain, iov, iov_cap);
	return ret < 0 ? ret : 1;
}

void vdev_queue_inflight_popped(struct vdev_queue *q, uint16_t head)
{
	vinflight_split_popped(q->inflight, head);
}

void vdev_queue_inflight_unpopped(struct vdev_queue *q, uint16_t head)
{
	vinflight_split_unpopped(q->inflight, head);
}

void vdev_queue_inflight_pushed(struct vdev_queue *q, uint16_t head)
{
	vinflight_split_pushed(q->inflight, head);
}

void vdev_queue_inflight_published(struct vdev_queue *q)
{
	struct vring_dev_position pos;

	q->ring_ops->get_position(&q->ring, &pos);
	vinflight_split_published(q->inflight, pos.used_idx);
}
