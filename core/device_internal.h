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

/* Queue @q of @dev as after vdev_init(): size = maximum, no addresses, no fds. */
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

#endif /* VIREO_CORE_DEVICE_INTERNAL_H */
