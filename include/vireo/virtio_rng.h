/* SPDX-License-Identifier: MIT */
/*
 * The userspace virtio-rng (entropy) front-end driver (virtio 1.2 §5.4):
 * one request queue of device-writable buffers the device fills with
 * random bytes.
 *
 * Synchronous virtio_rng_read() on any memory (bounced through DMA memory,
 * serialized on a per-device lock), or asynchronous submit/poll with buffers
 * from virtio_rng_alloc_buffer() (one thread at a time; do not mix with
 * virtio_rng_read() from another thread while requests are in flight).
 */
#ifndef VIREO_VIRTIO_RNG_H
#define VIREO_VIRTIO_RNG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <vireo/driver.h>
#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

struct virtio_rng;

/* Largest single device request of virtio_rng_read(); longer reads loop. */
#define VIRTIO_RNG_BOUNCE_SIZE 4096u

/**
 * struct virtio_rng_driver - the driver, in memory the caller owns; zero it
 * and keep it valid and unmoved until virtio_rng_unregister()
 */
struct virtio_rng_driver {
	struct virtio_driver drv;
};

/** virtio_rng_register() - register on @bus. Return: 0 or -EEXIST */
VIREO_API int virtio_rng_register(struct virtio_bus *bus, struct virtio_rng_driver *rd);

/** virtio_rng_unregister() - unbind from every device and remove the driver */
VIREO_API void virtio_rng_unregister(struct virtio_bus *bus, struct virtio_rng_driver *rd);

/** virtio_rng_from_device() - the rng instance bound to @vdev, or NULL */
VIREO_API struct virtio_rng *virtio_rng_from_device(struct virtio_device *vdev);

/**
 * virtio_rng_read() - fill @buf (any memory) with @len random bytes
 * Loops until @len bytes arrived (the device may return fewer per request).
 * Return: @len, or -EIO (queue broken), -ENOMEM (no bounce buffer).
 */
VIREO_API ssize_t virtio_rng_read(struct virtio_rng *rng, void *buf, size_t len);

/**
 * struct virtio_rng_request - one asynchronous request, owned by the caller
 * @data: buffer from virtio_rng_alloc_buffer()
 * @len: bytes asked for (> 0)
 * @token: for the caller
 * @written: on completion, bytes of random data the device wrote (may be < @len)
 * @result: on completion, 0 or -errno
 * @next: private
 */
struct virtio_rng_request {
	void *data;
	uint32_t len;
	void *token;
	uint32_t written;
	int result;
	struct virtio_rng_request *next;
};

/** virtio_rng_alloc_buffer() - @len zeroed bytes of DMA memory, or NULL */
VIREO_API void *virtio_rng_alloc_buffer(struct virtio_rng *rng, size_t len);

/** virtio_rng_free_buffer() - give back a buffer from virtio_rng_alloc_buffer() */
VIREO_API void virtio_rng_free_buffer(struct virtio_rng *rng, void *buf);

/**
 * virtio_rng_submit() - post @req, kick the device
 * Return: 0, -EAGAIN (queue full), -EINVAL (len 0 or data outside DMA
 * memory), -EIO (queue broken).
 */
VIREO_API int virtio_rng_submit(struct virtio_rng *rng, struct virtio_rng_request *req);

/**
 * virtio_rng_poll() - collect up to @max completed requests into @done
 * @timeout_ms: 0 returns at once; else wait (-1: forever) for at least one
 * Return: the number collected (0 on timeout) or -EIO.
 */
VIREO_API int virtio_rng_poll(struct virtio_rng *rng, struct virtio_rng_request **done,
			      unsigned int max, int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_VIRTIO_RNG_H */
