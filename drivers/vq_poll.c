// SPDX-License-Identifier: MIT
/*
 * Waiting for used buffers in userspace: enable the queue's callback, re-check
 * the used ring, then block in the transport's wait (our interrupt handler).
 */
#include <errno.h>
#include <time.h>

#include <vireo/log.h>

#include "drivers/vq_poll.h"

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
	int left = timeout_ms, err;

	for (;;) {
		if (virtqueue_more_used(vq))
			return 1;
		if (virtqueue_is_broken(vq))
			return vq_poll_broken(vq, warned);
		if (timeout_ms > 0) {
			int64_t rest = deadline - vq_poll_now_ms();

			left = rest > 0 ? (int)rest : 0;
		}
		if (left == 0 || !vdev->config->wait)
			return 0;
		/*
		 * §2.7.10 (the note in "Receiving Used Buffers"): a buffer used
		 * between the check above and enabling the callback raises no
		 * signal, so enable_cb re-checks and says so.
		 */
		if (!virtqueue_enable_cb(vq)) {
			virtqueue_disable_cb(vq);
			continue;
		}
		err = vdev->config->wait(vdev, left);
		virtqueue_disable_cb(vq);
		if (err < 0 && err != -ETIMEDOUT && err != -EINTR)
			return virtqueue_more_used(vq) ? 1 : err;
	}
}
