// SPDX-License-Identifier: MIT
/*
 * The device queue's side of vhost-user inflight tracking: a queue with a
 * region records each head it pops and clears each batch it publishes, and
 * at enable repairs the region against the ring and hands out the requests
 * a previous back-end left in flight before any new one (submission order).
 */
#include <errno.h>
#include <string.h>

#include <vireo/device.h>
#include <vireo/inflight.h>
#include <vireo/log.h>

#include "core/device_internal.h"

/* Return: 0; -EINVAL (index); -EBUSY (enabled). */
int vireo_vdev_queue_set_inflight(struct vdev *dev, unsigned int index, struct vinflight *inf)
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

static uint16_t vdev_queue_slot_flags(const void *ring, uint16_t idx)
{
	const struct vdev_queue *q = ring;

	return q->ring_ops->slot_flags(&q->ring, idx);
}

/* Packed: the region, not the front-end's base, says where both positions are. */
static int vdev_queue_inflight_start_packed(struct vdev_queue *q, struct vring_dev_position *pos)
{
	if (!q->ring_ops->pop_descs || !q->ring_ops->copy_popped || !q->ring_ops->slot_flags)
		return -ENOTSUP;
	return vireo_vinflight_packed_recover(q->inflight, q->num, vdev_queue_slot_flags, q, pos);
}

/*
 * After the ring's init: check and repair the region (D-VU-INFL-06, -09,
 * -12, -13), and resume the avail ring after everything that was fetched.
 * Return: 0; -EPROTO (region forged or not for this ring); -ENOMEM; -ENOTSUP.
 */
int vdev_queue_inflight_start(struct vdev_queue *q)
{
	struct vring_dev_position pos, was;
	int ret;

	if (q->inflight->packed != vdev_queue_is_packed(q))
		return -ENOTSUP;
	q->ring_ops->get_position(&q->ring, &pos);
	was = pos;
	if (q->inflight->packed) {
		ret = vdev_queue_inflight_start_packed(q, &pos);
	} else if (!q->ring_ops->pop_head) {
		ret = -ENOTSUP;
	} else {
		ret = vireo_vinflight_split_recover(q->inflight, q->num, pos.used_idx,
						    &pos.avail_idx);
	}
	if (ret < 0)
		return ret;
	if (memcmp(&pos, &was, sizeof(pos)) != 0 || q->inflight->resubmit_len)
		log_info("%s: queue %u: inflight region: %u requests to resubmit, avail resumes at "
			 "%u (front-end said %u)",
			 vdev_name(q->dev), q->index, q->inflight->resubmit_len, pos.avail_idx,
			 was.avail_idx);
	q->ring_ops->set_position(&q->ring, &pos);
	return 0;
}

/* Return: 1 and a chain (a resubmitted request); 0 (none left); the ring's pop errors. */
int vdev_queue_inflight_pop(struct vdev_queue *q, struct vring_chain *chain, struct vring_iov *iov,
			    unsigned int iov_cap)
{
	uint16_t head;
	int ret;

	if (q->inflight->packed) {
		ret = vireo_vinflight_packed_next_resubmit(q->inflight);
		if (ret <= 0)
			return ret;
		ret = q->ring_ops->pop_descs(&q->ring, q->inflight->descs, (uint16_t)ret, chain,
					     iov, iov_cap);
		return ret < 0 ? ret : 1;
	}
	if (!vireo_vinflight_next_resubmit(q->inflight, &head))
		return 0;
	ret = q->ring_ops->pop_head(&q->ring, head, chain, iov, iov_cap);
	return ret < 0 ? ret : 1;
}

/* Recorded before the model starts the request (D-VU-INFL-07, -10). */
void vdev_queue_inflight_popped(struct vdev_queue *q, uint16_t head)
{
	struct vinflight *inf = q->inflight;
	uint16_t n;

	if (!inf->packed) {
		vireo_vinflight_split_popped(inf, head);
		return;
	}
	n = q->ring_ops->copy_popped(&q->ring, head, inf->descs, inf->num);
	if (n)
		vireo_vinflight_packed_popped(inf, head, inf->descs, n);
}

/* Return: 0, or -EOPNOTSUP: a packed chain's entries cannot be given back (no model needs it). */
int vdev_queue_inflight_unpopped(struct vdev_queue *q, uint16_t head)
{
	if (q->inflight->packed)
		return -EOPNOTSUPP;
	vireo_vinflight_split_unpopped(q->inflight, head);
	return 0;
}

void vdev_queue_inflight_pushed(struct vdev_queue *q, uint16_t head)
{
	if (q->inflight->packed)
		vireo_vinflight_packed_pushed(q->inflight, head);
	else
		vireo_vinflight_split_pushed(q->inflight, head);
}

void vdev_queue_inflight_publishing(struct vdev_queue *q)
{
	if (q->inflight->packed)
		vireo_vinflight_packed_publishing(q->inflight);
}

void vdev_queue_inflight_published(struct vdev_queue *q)
{
	struct vring_dev_position pos;

	if (q->inflight->packed) {
		vireo_vinflight_packed_published(q->inflight);
		return;
	}
	q->ring_ops->get_position(&q->ring, &pos);
	vireo_vinflight_split_published(q->inflight, pos.used_idx);
}
