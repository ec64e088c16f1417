// SPDX-License-Identifier: MIT
/*
 * Waiting for used buffers in userspace: enable the queue's callback, re-check
 * the used ring, then block in the transport's wait (our interrupt handler).
 */
#include <errno.h>
#include <time.h>

#include <vireo/log.h>

#include "drivers/vq_poll.h"

/*
 * A device may set DEVICE_NEEDS_RESET without the config notification
 * (before DRIVER_OK, or a transport that carries none): a long wait reads
 * the status this often.
 */
#define VQ_POLL_STATUS_MS 1000

static int64_t vq_poll_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A sticky broken queue (the device broke the ring protocol): say so once. */
static int vq_poll_broken(struct virtqueue *vq, bool *warned)
{
	if (!*warned) {
		log_warn("%s: queue %s: the device broke the ring protocol; its requests fail",
			 vq->vdev->config->bus_name ? vq->vdev->config->bus_name(vq->vdev)
						    : "virtio",
			 vq->name ? vq->name : "?");
		*warned = true;
	}
	return -EIO;
}

int virtio_vq_wait_used(struct virtqueue *vq, int timeout_ms, bool *warned)
{
	struct virtio_device *vdev = vq->vdev;
	int64_t deadline = timeout_ms > 0 ? vq_poll_now_ms() + timeout_ms : 0;
	int left = timeout_ms, slice, err;

	for (;;) {
		if (virtqueue_more_used(vq))
			return 1;
		if (virtqueue_is_broken(vq))
			return vq_poll_broken(vq, warned);
		/* Reset already: nothing more will be used (§2.1.1, drv:BF/Device Status Field). */
		if (virtio_device_needs_reset(vdev))
			return -EIO;
		if (timeout_ms > 0) {
			int64_t rest = deadline - vq_poll_now_ms();

			left = rest > 0 ? (int)rest : 0;
		}
		if (left == 0 || !vdev->config->wait)
			return 0;
		slice = left < 0 || left > VQ_POLL_STATUS_MS ? VQ_POLL_STATUS_MS : left;
		/*
		 * §2.7.10 (the note in "Receiving Used Buffers"): a buffer used
		 * between the check above and enabling the callback raises no
		 * signal, so enable_cb re-checks and says so.
		 */
		if (!virtqueue_enable_cb(vq)) {
			virtqueue_disable_cb(vq);
			continue;
		}
		err = vdev->config->wait(vdev, slice);
		virtqueue_disable_cb(vq);
		/* A timeout or a transport error: is it the device giving up? (looked at above) */
		if ((err == -ETIMEDOUT || (err < 0 && err != -EINTR)) &&
		    virtio_check_needs_reset(vdev))
			continue;
		if (err < 0 && err != -ETIMEDOUT && err != -EINTR)
			return virtqueue_more_used(vq) ? 1 : err;
	}
}
