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
 * Return: 1 if used buffers are pending, 0 if the time passed (or the
 * transport cannot wait), -EIO if the queue is broken, or the transport's
 * -errno.
 */
int virtio_vq_wait_used(struct virtqueue *vq, int timeout_ms, bool *warned);

#endif /* VIREO_DRIVERS_VQ_POLL_H */
