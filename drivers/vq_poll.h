/* SPDX-License-Identifier: MIT */
/* Private to drivers/: waiting for used buffers on one queue, shared by blk and rng. */
#ifndef VIREO_DRIVERS_VQ_POLL_H
#define VIREO_DRIVERS_VQ_POLL_H

#include <stdbool.h>

#include <vireo/driver.h>

/**
 * virtio_vq_wait_used() - wait until @vq has used buffers to collect
 * @timeout_ms: 0: do not wait; -1: forever
 * @warned: per-queue flag of the caller: the first time the queue is seen
 *	broken, one line is logged and *@warned set
 *
 * Callbacks of @vq stay disabled outside the wait: a polling driver wants no
 * signal while it is busy anyway.
 * A device that set DEVICE_NEEDS_RESET (seen at a config notification, a
 * transport error, or a status read at least every second of waiting) was
 * reset by virtio_check_needs_reset(): the wait then ends with -EIO, and the
 * caller fails what it had posted (virtio_device_needs_reset() says why).
 * Return: 1 if used buffers are pending, 0 if the time passed (or the
 * transport cannot wait), -EIO if the queue is broken or the device needed a
 * reset, or the transport's -errno.
 */
int virtio_vq_wait_used(struct virtqueue *vq, int timeout_ms, bool *warned);

#endif /* VIREO_DRIVERS_VQ_POLL_H */
