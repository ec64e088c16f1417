/* SPDX-License-Identifier: MIT */
/*
 * Private to core/device.c and core/device_queue.c: the queue helpers the
 * status machine and reset need.
 */
#ifndef VIREO_CORE_DEVICE_INTERNAL_H
#define VIREO_CORE_DEVICE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <vireo/device.h>

/* @dev->name, or a placeholder for log lines. */
const char *vdev_name(const struct vdev *dev);

bool vdev_is_pow2(unsigned int v);

/* Queue @q of @dev as after vireo_vdev_init(): size = maximum, no addresses, no fds. */
void vdev_queue_defaults(struct vdev *dev, struct vdev_queue *q, uint16_t index);

/*
 * Watch @q's kick fd in the device's loop if the queue is live (enabled,
 * device activated, not NEEDS_RESET, a loop and a kick fd set).
 * Return: 0 (also when there is nothing to watch) or -errno from the loop.
 */
int vdev_queue_watch(struct vdev_queue *q);

/* Stop watching @q's kick fd (if it is watched). */
void vdev_queue_unwatch(struct vdev_queue *q);

/* Disable @q, close its fds and restore the defaults (reset); model_data is kept. */
void vdev_queue_release(struct vdev_queue *q);

/* core/device_queue_inflight.c: the hooks of vhost-user inflight tracking (q->inflight set). */
int vdev_queue_inflight_start(struct vdev_queue *q);
int vdev_queue_inflight_pop(struct vdev_queue *q, struct vring_chain *chain, struct vring_iov *iov,
			    unsigned int iov_cap);
void vdev_queue_inflight_popped(struct vdev_queue *q, uint16_t head);
int vdev_queue_inflight_unpopped(struct vdev_queue *q, uint16_t head);
void vdev_queue_inflight_pushed(struct vdev_queue *q, uint16_t head);
void vdev_queue_inflight_publishing(struct vdev_queue *q);
void vdev_queue_inflight_published(struct vdev_queue *q);

#endif /* VIREO_CORE_DEVICE_INTERNAL_H */
