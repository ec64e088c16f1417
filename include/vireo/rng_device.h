/* SPDX-License-Identifier: MIT */
/*
 * The virtio-rng (entropy) device model (virtio 1.2 §5.4): one queue whose
 * device-writable buffers are filled from getrandom(2). The model embeds a
 * struct vdev; a transport drives it through vireo_rng_device_vdev().
 */
#ifndef VIREO_RNG_DEVICE_H
#define VIREO_RNG_DEVICE_H

#include <stdint.h>

#include <vireo/device.h>
#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rng_device;

#define RNG_DEVICE_DEFAULT_QUEUE_SIZE 64u

/**
 * struct rng_device_options - how to serve entropy
 * @queue_size: maximum queue size, a power of two 2..32768 (0: 64)
 */
struct rng_device_options {
	uint16_t queue_size;
};

/**
 * vireo_rng_device_new() - allocate and initialise an entropy device
 * @opt: may be NULL for defaults
 * Return: 0 and *@out set; -EINVAL (bad queue size) or -ENOMEM.
 */
VIREO_API int vireo_rng_device_new(struct rng_device **out, const struct rng_device_options *opt);

/** vireo_rng_device_vdev() - the core device inside @rng (for the transport) */
VIREO_API struct vdev *vireo_rng_device_vdev(struct rng_device *rng);

/**
 * struct rng_device_queue_stats - what the request queue did since the device was made
 * @requests: answered requests
 * @bytes: random bytes given
 * @kicks, @calls: kicks handled, used-buffer notifications sent
 */
struct rng_device_queue_stats {
	uint64_t requests;
	uint64_t bytes;
	uint64_t kicks;
	uint64_t calls;
};

/** vireo_rng_device_queue_stats() - @rng's counters; safe from any thread */
VIREO_API void vireo_rng_device_queue_stats(const struct rng_device *rng,
					    struct rng_device_queue_stats *out);

/** vireo_rng_device_free() - reset the device and free it */
VIREO_API void vireo_rng_device_free(struct rng_device *rng);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_RNG_DEVICE_H */
