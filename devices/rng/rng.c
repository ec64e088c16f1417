// SPDX-License-Identifier: MIT
/*
 * virtio-rng (entropy) device model (virtio 1.2 §5.4): one queue; each
 * chain's device-writable part is filled from getrandom(2). Every chain
 * available at a kick is answered, then published with one flush.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include <vireo/log.h>
#include <vireo/rng_device.h>

/* §5.4.6.2: the device MAY fill less than the buffer; cap a chain's cost. */
#define RNG_MAX_BYTES_PER_CHAIN 65536u
#define RNG_IOV_SLACK 32u

struct rng_device {
	struct vdev vdev;
	unsigned int iov_cap;
	struct vring_iov *iov;
	uint64_t requests; /* vireo_rng_device_queue_stats() */
	uint64_t bytes;
};

static struct rng_device *rng_from_vdev(struct vdev *dev)
{
	return (struct rng_device *)((char *)dev - offsetof(struct rng_device, vdev));
}

/* Fill up to @len bytes at @buf. Return: bytes filled (0 only if getrandom fails at once). */
static size_t rng_fill(void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = getrandom((char *)buf + done, len - done, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_warn("virtio-rng: getrandom failed (%d)", n < 0 ? errno : 0);
			break;
		}
		done += (size_t)n;
	}
	return done;
}

/* Fill the writable part of a popped chain. Return: bytes written into the guest. */
static uint32_t rng_serve_chain(struct rng_device *rng, const struct vring_chain *c)
{
	uint32_t budget = RNG_MAX_BYTES_PER_CHAIN;
	uint32_t written = 0;

	for (unsigned int i = c->readable; i < (unsigned int)c->readable + c->writable; i++) {
		size_t want =
			rng->iov[i].len < budget - written ? rng->iov[i].len : budget - written;
		size_t got;

		if (want == 0)
			continue;
		/* GUEST: a writable iov entry the ring translated with its length */
		got = rng_fill(rng->iov[i].base, want);
		written += (uint32_t)got;
		if (got < want || written == budget)
			break;
	}
	return written;
}

static void rng_queue_notify(struct vdev *dev, struct vdev_queue *q)
{
	struct rng_device *rng = rng_from_vdev(dev);
	struct vring_chain chain;
	bool pushed = false;
	uint32_t len;

	while (vireo_vdev_queue_pop(q, &chain, rng->iov, rng->iov_cap) == 0) {
		/*
		 * drv:RNG/Device Operation: the driver MUST NOT place device-readable
		 * buffers in the queue. The device side says nothing more, so this is
		 * a protocol violation like any other: DEVICE_NEEDS_RESET.
		 */
		if (chain.readable) {
			vireo_vdev_set_needs_reset(dev, "device-readable buffer in the queue");
			return;
		}
		/* dev:RNG/Device Operation: one or more random bytes; used len says how many */
		len = rng_serve_chain(rng, &chain);
		vireo_vdev_queue_push(q, chain.head, len);
		vdev_counter_add(&rng->requests, 1);
		vdev_counter_add(&rng->bytes, len);
		pushed = true;
	}
	if (pushed)
		vireo_vdev_queue_flush(q);
}

static const struct vdev_ops rng_ops = {
	.queue_notify = rng_queue_notify,
};

int vireo_rng_device_new(struct rng_device **out, const struct rng_device_options *opt)
{
	uint16_t qs = opt && opt->queue_size ? opt->queue_size : RNG_DEVICE_DEFAULT_QUEUE_SIZE;
	struct rng_device *rng;
	int rc;

	if (qs < 2 || qs > 32768 || (qs & (qs - 1)))
		return -EINVAL;
	rng = calloc(1, sizeof(*rng));
	if (!rng)
		return -ENOMEM;
	/* a chain is at most the queue size in descriptors (§2.7.5.3.1), plus region splits */
	rng->iov_cap = qs + RNG_IOV_SLACK;
	rng->iov = calloc(rng->iov_cap, sizeof(*rng->iov));
	if (!rng->iov) {
		rc = -ENOMEM;
		goto out_free;
	}
	/* IN_ORDER: each chain is filled and pushed as it is popped (D-BF-19). */
	rc = vireo_vdev_init(&rng->vdev, &rng_ops, "virtio-rng", VIRTIO_ID_ENTROPY,
			     VIRTIO_BIT(VIRTIO_F_IN_ORDER), 1, qs, NULL, 0);
	if (rc)
		goto out_free_iov;
	*out = rng;
	return 0;

out_free_iov:
	free(rng->iov);
out_free:
	free(rng);
	return rc;
}

struct vdev *vireo_rng_device_vdev(struct rng_device *rng)
{
	return &rng->vdev;
}

void vireo_rng_device_free(struct rng_device *rng)
{
	if (!rng)
		return;
	vireo_vdev_destroy(&rng->vdev);
	free(rng->iov);
	free(rng);
}

void vireo_rng_device_queue_stats(const struct rng_device *rng, struct rng_device_queue_stats *out)
{
	out->requests = vdev_queue_counter(&rng->requests);
	out->bytes = vdev_queue_counter(&rng->bytes);
	out->kicks = vdev_queue_counter(&rng->vdev.queues[0].kicks);
	out->calls = vdev_queue_counter(&rng->vdev.queues[0].calls);
}
