// SPDX-License-Identifier: MIT
/*
 * Device queues: configuration (checked once here for every transport),
 * enable through the ring format's init (split or packed, chosen by the
 * negotiated VIRTIO_F_RING_PACKED; it validates the geometry against guest
 * memory), the kick handler, and the pop/push/flush wrappers that turn a
 * ring protocol violation into DEVICE_NEEDS_RESET. The core reaches a ring
 * only through struct vring_dev_ops.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <vireo/device.h>
#include <vireo/inflight.h>
#include <vireo/log.h>

#include "core/device_internal.h"

void vdev_queue_defaults(struct vdev *dev, struct vdev_queue *q, uint16_t index)
{
	void *model_data = q->model_data;
	struct event_loop *loop = q->loop;
	struct vring_mem iova_mem = q->iova_mem;
	struct vinflight *inflight = q->inflight;
	uint64_t kicks = q->kicks, calls = q->calls;

	memset(q, 0, sizeof(*q));
	q->loop = loop;		/* the transport's choice, kept across reset like model_data */
	q->iova_mem = iova_mem; /* the transport's too */
	q->inflight = inflight; /* the transport's too: it drops it with the region */
	q->dev = dev;
	q->index = index;
	q->num = dev->queue_max_size;
	q->kick_fd = -1;
	q->call_fd = -1;
	/* §2.8.1: both ring wrap counters start at 1 */
	q->position = (struct vring_dev_position){.avail_wrap = true, .used_wrap = true};
	q->model_data = model_data;
	/* Counters span resets: they tell an operator what the queue did since start. */
	q->kicks = kicks;
	q->calls = calls;
}

static struct vdev_queue *vdev_queue_get(struct vdev *dev, unsigned int index)
{
	return index < dev->num_queues ? &dev->queues[index] : NULL;
}

/*
 * The kick fd became readable. The front-end holds it too and may have read
 * it since, or made it blocking: vireo_peer_eventfd_drain() cannot block anyway.
 */
static void vdev_queue_kick(void *opaque, uint32_t events)
{
	struct vdev_queue *q = opaque;
	struct vdev *dev = q->dev;

	vdev_counter_add(&q->kicks, 1);
	if ((events & EPOLLIN) && vireo_peer_eventfd_drain(q->kick_fd) == -EOPNOTSUPP) {
		/* Level-triggered: an fd we cannot drain would wake us forever. */
		vdev_queue_unwatch(q);
		vireo_vdev_queue_set_needs_reset(q, "kick fd cannot be read without blocking");
		return;
	}
	/* dev:BF/Device Status Field: nothing is consumed before DRIVER_OK. */
	if (!q->enabled || !dev->activated || vdev_needs_reset(dev))
		return;
	if (dev->ops->queue_notify)
		dev->ops->queue_notify(dev, q);
}

/*
 * Signal a newly installed call fd once the queue runs: used buffers the
 * driver waits for may have been published, or signalled on the fd it
 * replaced, before a reconnection (libvhost-user does the same "in case of
 * I/O hang after reconnecting"). Not before DRIVER_OK (D-BF-01); a driver
 * must cope with a spurious notification anyway.
 */
static void vdev_queue_signal_fresh_call(struct vdev_queue *q)
{
	if (!q->call_fresh || !q->call_signal || !q->enabled || !q->dev->activated ||
	    vdev_needs_reset(q->dev))
		return;
	q->call_fresh = false;
	(void)vireo_peer_eventfd_signal(q->call_signal);
	vdev_counter_add(&q->calls, 1);
}

int vdev_queue_watch(struct vdev_queue *q)
{
	struct vdev *dev = q->dev;
	int ret;

	if (q->kick_watched || !q->enabled || !dev->activated || vdev_needs_reset(dev) ||
	    dev->stopped || !vdev_queue_loop(q) || q->kick_fd < 0)
		return 0;
	ret = vireo_event_loop_add(vdev_queue_loop(q), q->kick_fd, vdev_queue_kick, q);
	if (ret < 0) {
		log_warn("%s: queue %u: cannot watch kick fd: %d", vdev_name(dev), q->index, ret);
		return ret;
	}
	q->kick_watched = true;
	/*
	 * A ring that starts or restarts (a new kick fd, GET_VRING_BASE then a
	 * restart) may hold buffers kicked on a fd no longer watched: look once.
	 */
	if (dev->ops->queue_notify)
		dev->ops->queue_notify(dev, q);
	vdev_queue_signal_fresh_call(q);
	return 0;
}

/* Return: 0; -EIO (no kick fd); -errno from vireo_peer_eventfd_new/_signal. */
int vireo_vdev_queue_kick_again(struct vdev_queue *q)
{
	int ret;

	if (q->kick_fd < 0)
		return -EIO;
	/* Made on first use: only a model that defers work pays for it. */
	if (!q->kick_signal) {
		ret = vireo_peer_eventfd_new(&q->kick_signal, q->kick_fd);
		if (ret < 0)
			return ret;
	}
	return vireo_peer_eventfd_signal(q->kick_signal);
}

void vdev_queue_unwatch(struct vdev_queue *q)
{
	if (!q->kick_watched)
		return;
	if (vdev_queue_loop(q))
		(void)vireo_event_loop_remove(vdev_queue_loop(q), q->kick_fd);
	q->kick_watched = false;
}

/* Stop serving @q: the ring state goes, the resume index stays. */
static void vdev_queue_stop(struct vdev_queue *q)
{
	if (!q->enabled)
		return;
	vdev_queue_unwatch(q);
	q->ring_ops->get_position(&q->ring, &q->position);
	free(q->ring_state);
	q->ring_state = NULL;
	memset(&q->ring, 0, sizeof(q->ring));
	q->enabled = false;
}

void vdev_queue_release(struct vdev_queue *q)
{
	vdev_queue_stop(q);
	vireo_peer_eventfd_free(q->kick_signal);
	if (q->kick_fd >= 0)
		close(q->kick_fd);
	vireo_peer_eventfd_free(q->call_signal);
	if (q->call_fd >= 0)
		close(q->call_fd);
	vdev_queue_defaults(q->dev, q, q->index);
}

/* Return: 0; -EINVAL (index, size 0, above max, or not a power of two for split); -EBUSY. */
int vireo_vdev_queue_set_num(struct vdev *dev, unsigned int index, unsigned int num)
{
	struct vdev_queue *q = vdev_queue_get(dev, index);

	if (!q)
		return -EINVAL;
	if (q->enabled)
		return -EBUSY;
	/* §2.7: a split queue's size is a power of two; §2.8: a packed one any; both within the maximum. */
	if (num == 0 || num > dev->queue_max_size ||
	    (!vdev_queue_is_packed(q) && !vdev_is_pow2(num)))
		return -EINVAL;
	q->num = (uint16_t)num;
	return 0;
}

/*
 * Return: 0; -EINVAL (index); -EBUSY. Alignment and placement are checked
 * at enable, against the memory map in force then.
 */
int vireo_vdev_queue_set_addr(struct vdev *dev, unsigned int index, uint64_t desc, uint64_t avail,
			      uint64_t used)
{
	struct vdev_queue *q = vdev_queue_get(dev, index);

	if (!q)
		return -EINVAL;
	if (q->enabled)
		return -EBUSY;
	q->desc_addr = desc;
	q->avail_addr = avail;
	q->used_addr = used;
	q->addr_set = true;
	return 0;
}

/* Return: 0; -EINVAL (index); -EBUSY. */
int vireo_vdev_queue_set_base(struct vdev *dev, unsigned int index, uint16_t last_avail_idx)
{
	struct vdev_queue *q = vdev_queue_get(dev, index);

	if (!q)
		return -EINVAL;
	if (q->enabled)
		return -EBUSY;
	q->position.avail_idx = last_avail_idx;
	return 0;
}

/* Return: 0; -EINVAL (index, an index above the packed maximum); -EBUSY. */
int vireo_vdev_queue_set_position(struct vdev *dev, unsigned int index,
				  const struct vring_dev_position *pos)
{
	struct vdev_queue *q = vdev_queue_get(dev, index);

	if (!q || pos->avail_idx >= VIRTQ_PACKED_MAX_SIZE || pos->used_idx >= VIRTQ_PACKED_MAX_SIZE)
		return -EINVAL;
	if (q->enabled)
		return -EBUSY;
	q->position = *pos;
	return 0;
}

/* Return: 0; -EINVAL for a bad queue index. */
int vireo_vdev_queue_get_position(const struct vdev *dev, unsigned int index,
				  struct vring_dev_position *pos)
{
	const struct vdev_queue *q;

	if (index >= dev->num_queues)
		return -EINVAL;
	q = &dev->queues[index];
	if (q->enabled)
		q->ring_ops->get_position(&q->ring, pos);
	else
		*pos = q->position;
	return 0;
}

/* Return: the resume index, or -EINVAL for a bad queue index. */
int vireo_vdev_queue_get_base(const struct vdev *dev, unsigned int index)
{
	const struct vdev_queue *q;

	if (index >= dev->num_queues)
		return -EINVAL;
	q = &dev->queues[index];
	if (q->enabled) {
		struct vring_dev_position pos;

		q->ring_ops->get_position(&q->ring, &pos);
		return pos.avail_idx;
	}
	return q->position.avail_idx;
}

/* Return: 0; -EINVAL (index, fd below -1: caller keeps @fd); -errno from the loop. */
int vireo_vdev_queue_set_kick_fd(struct vdev *dev, unsigned int index, int fd)
{
	struct vdev_queue *q = vdev_queue_get(dev, index);

	if (!q || fd < -1)
		return -EINVAL;
	if (fd == q->kick_fd)
		return 0;
	vdev_queue_unwatch(q);
	vireo_peer_eventfd_free(q->kick_signal);
	q->kick_signal = NULL;
	if (q->kick_fd >= 0)
		close(q->kick_fd);
	q->kick_fd = fd;
	return vdev_queue_watch(q);
}

/*
 * Return: 0; -EINVAL (index, fd below -1, not an eventfd); -errno from
 * io_uring. On error the caller keeps @fd and the old call fd stays.
 */
int vireo_vdev_queue_set_call_fd(struct vdev *dev, unsigned int index, int fd)
{
	struct vdev_queue *q = vdev_queue_get(dev, index);
	struct peer_eventfd *signal = NULL;
	int ret;

	if (!q || fd < -1)
		return -EINVAL;
	if (fd == q->call_fd)
		return 0;
	if (fd >= 0) {
		ret = vireo_peer_eventfd_new(&signal, fd);
		if (ret < 0)
			return ret;
	}
	vireo_peer_eventfd_free(q->call_signal);
	if (q->call_fd >= 0)
		close(q->call_fd);
	q->call_fd = fd;
	q->call_signal = signal;
	q->call_fresh = fd >= 0;
	vdev_queue_signal_fresh_call(q);
	return 0;
}

/*
 * Return: 0; -EINVAL; -EIO (NEEDS_RESET); -ENOMEM; -EPROTO (the inflight
 * region does not fit this ring or was forged); -errno from the loop.
 */
int vireo_vdev_queue_enable(struct vdev *dev, unsigned int index)
{
	struct vdev_queue *q = vdev_queue_get(dev, index);
	const struct vring_dev_ops *ops;
	struct vring_dev_config cfg;
	int ret;

	if (!q)
		return -EINVAL;
	if (q->enabled)
		return 0;
	if (vdev_needs_reset(dev) || dev->stopped)
		return -EIO;
	if (!dev->mem || !q->addr_set)
		return -EINVAL;
	ops = vdev_queue_is_packed(q) ? &vring_packed_dev_ops : &vring_split_dev_ops;
	cfg = (struct vring_dev_config){
		.num = q->num,
		.max_num = dev->queue_max_size,
		.desc_addr = q->desc_addr,
		.driver_addr = q->avail_addr,
		.device_addr = q->used_addr,
		.position = q->position,
		.event_idx = vdev_has_feature(dev, VIRTIO_F_RING_EVENT_IDX),
		.indirect = vdev_has_feature(dev, VIRTIO_F_RING_INDIRECT_DESC),
		.in_order = vdev_has_feature(dev, VIRTIO_F_IN_ORDER),
		.mem = vireo_guest_mem_vring_mem(dev->mem),
	};
	/* D-VU-IOTLB-01: with ACCESS_PLATFORM the ring holds IOVAs, translated by the transport. */
	if (q->iova_mem.translate)
		cfg.mem = q->iova_mem;
	/* calloc's alignment (16) covers the 8 the ring asks for. */
	cfg.state = calloc(1, ops->state_size(q->num));
	if (!cfg.state)
		return -ENOMEM;
	/* Checklist item 1: size, alignment and placement of every part, once. */
	q->ring_ops = ops;
	if (ops->init(&q->ring, &cfg) < 0) {
		log_info("%s: queue %u: %s ring: %s", vdev_name(dev), index, ops->name,
			 vring_error_string(ops->error(&q->ring)));
		free(cfg.state);
		/* q->ring keeps its error for the caller's log line; it is not enabled. */
		return -EINVAL;
	}
	ret = q->inflight ? vdev_queue_inflight_start(q) : 0;
	if (ret < 0) {
		log_warn("%s: queue %u: inflight region refused (%d)", vdev_name(dev), index, ret);
		free(cfg.state);
		memset(&q->ring, 0, sizeof(q->ring));
		return ret == -ENOMEM ? ret : -EPROTO;
	}
	q->ring_state = cfg.state;
	q->enabled = true;
	log_info("%s: queue %u: %s ring of %u", vdev_name(dev), index, ops->name, q->num);
	ret = vdev_queue_watch(q);
	if (ret < 0)
		vdev_queue_stop(q);
	return ret;
}

void vireo_vdev_queue_disable(struct vdev *dev, unsigned int index)
{
	struct vdev_queue *q = vdev_queue_get(dev, index);

	if (!q)
		return;
	/* The model answers (or cancels) what it started while the ring still exists. */
	if (dev->ops && dev->ops->queue_stop)
		dev->ops->queue_stop(dev, q);
	vdev_queue_stop(q);
}

void vireo_vdev_quiesce(struct vdev *dev)
{
	unsigned int i;

	if (!dev->ops || !dev->ops->queue_stop)
		return;
	for (i = 0; i < dev->num_queues; i++)
		dev->ops->queue_stop(dev, &dev->queues[i]);
}

/* The ring reported a protocol violation: one log line, NEEDS_RESET. */
static void vdev_queue_broken(struct vdev_queue *q)
{
	char reason[128];

	snprintf(reason, sizeof(reason), "queue %u: %s", q->index,
		 vring_error_string(q->ring_ops->error(&q->ring)));
	vireo_vdev_queue_set_needs_reset(q, reason);
}

/* Return: 0; -EAGAIN; -EPROTO (now NEEDS_RESET); -EIO (stopped or already broken). */
int vireo_vdev_queue_pop(struct vdev_queue *q, struct vring_chain *chain, struct vring_iov *iov,
			 unsigned int iov_cap)
{
	int ret;

	if (!q->enabled || vdev_needs_reset(q->dev))
		return -EIO;
	ret = q->inflight ? vdev_queue_inflight_pop(q, chain, iov, iov_cap) : 0;
	if (ret == 0) {
		ret = q->ring_ops->pop(&q->ring, chain, iov, iov_cap);
		/* Recorded before the model starts the request (D-VU-INFL-07). */
		if (ret == 0 && q->inflight)
			vdev_queue_inflight_popped(q, chain->head);
	}
	if (ret == -EPROTO || ret == -EIO)
		vdev_queue_broken(q);
	return ret < 0 ? ret : 0;
}

/* One pop at a time, so inflight tracking records each head as it is taken. */
static int vdev_queue_pop_each(struct vdev_queue *q, struct vring_chain *chains, unsigned int max,
			       struct vring_iov *iov, unsigned int iov_len, unsigned int iov_cap)
{
	unsigned int n = 0, used = 0;
	int ret = 0;

	while (n < max && iov_len - used >= iov_cap) {
		ret = vireo_vdev_queue_pop(q, &chains[n], iov + used, iov_cap);
		if (ret < 0)
			break;
		used += (unsigned int)chains[n].readable + chains[n].writable;
		n++;
	}
	return n ? (int)n : ret;
}

/* Return: chains taken; -EAGAIN; -EPROTO (now NEEDS_RESET); -EIO (stopped or already broken). */
int vireo_vdev_queue_pop_burst(struct vdev_queue *q, struct vring_chain *chains, unsigned int max,
			       struct vring_iov *iov, unsigned int iov_len, unsigned int iov_cap)
{
	int ret;

	if (!q->enabled || vdev_needs_reset(q->dev))
		return -EIO;
	if (q->inflight || !q->ring_ops->pop_burst)
		return vdev_queue_pop_each(q, chains, max, iov, iov_len, iov_cap);
	ret = q->ring_ops->pop_burst(&q->ring, chains, max, iov, iov_len, iov_cap);
	/* Chains before a bad one are handed out; the bad one stops the device (dev:BF/NEEDS_RESET). */
	if (ret == -EPROTO || ret == -EIO ||
	    (ret > 0 && q->ring_ops->error(&q->ring) != VRING_ERR_NONE))
		vdev_queue_broken(q);
	return ret;
}

/* Return: 0; -EPROTO (now NEEDS_RESET); -EIO (stopped or already broken). */
int vireo_vdev_queue_push_burst(struct vdev_queue *q, const uint16_t *heads,
				const uint32_t *written, unsigned int n)
{
	int ret = 0;

	if (!q->enabled || vdev_needs_reset(q->dev))
		return -EIO;
	if (q->inflight || !q->ring_ops->push_burst) {
		for (unsigned int k = 0; k < n && ret == 0; k++)
			ret = vireo_vdev_queue_push(q, heads[k], written ? written[k] : 0);
		return ret;
	}
	ret = q->ring_ops->push_burst(&q->ring, heads, written, n);
	if (ret == -EPROTO || ret == -EIO)
		vdev_queue_broken(q);
	return ret;
}

/* Return: 0; -EPROTO (now NEEDS_RESET); -EIO (stopped or already broken). */
int vireo_vdev_queue_push(struct vdev_queue *q, uint16_t head, uint32_t written)
{
	int ret;

	if (!q->enabled || vdev_needs_reset(q->dev))
		return -EIO;
	ret = q->ring_ops->push(&q->ring, head, written);
	if (ret == -EPROTO || ret == -EIO)
		vdev_queue_broken(q);
	else if (ret == 0 && q->inflight)
		vdev_queue_inflight_pushed(q, head);
	return ret;
}

bool vireo_vdev_queue_flush(struct vdev_queue *q)
{
	/* dev:BF/Device Reset: no notification from a queue that is not served. */
	if (!q->enabled || vdev_needs_reset(q->dev))
		return false;
	if (q->inflight)
		vdev_queue_inflight_publishing(q);
	q->ring_ops->flush(&q->ring);
	if (q->inflight && q->ring_ops->error(&q->ring) == VRING_ERR_NONE)
		vdev_queue_inflight_published(q);
	/* need_notify() takes the decision: none without a fd to carry it (issue 9 §7c). */
	if (!q->call_signal || !q->ring_ops->need_notify(&q->ring))
		return false;
	q->call_fresh = false;
	(void)vireo_peer_eventfd_signal(q->call_signal);
	vdev_counter_add(&q->calls, 1);
	return true;
}

/* The ring's answer for the last pop (vring_dev_ops.map_pending); never fails. */
bool vireo_vdev_queue_map_pending(const struct vdev_queue *q)
{
	return q->enabled && q->ring_ops && q->ring_ops->map_pending &&
	       q->ring_ops->map_pending(&q->ring);
}

/* Return: 0; -EINVAL; -EIO (stopped or broken). */
int vireo_vdev_queue_unpop(struct vdev_queue *q, uint16_t head)
{
	int ret;

	if (!q->enabled || vdev_needs_reset(q->dev))
		return -EIO;
	if (q->inflight && q->inflight->packed)
		return -EOPNOTSUPP;
	ret = q->ring_ops->unpop(&q->ring, head);
	if (ret == 0 && q->inflight)
		(void)vdev_queue_inflight_unpopped(q, head);
	return ret;
}

bool vireo_vdev_queue_set_notify(struct vdev_queue *q, bool enable)
{
	if (!q->enabled || vdev_needs_reset(q->dev))
		return false;
	if (enable)
		return q->ring_ops->enable_notify(&q->ring);
	q->ring_ops->disable_notify(&q->ring);
	return false;
}
