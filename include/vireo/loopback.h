/* SPDX-License-Identifier: MIT */
/*
 * The loopback transport: both roles in one process. A device model (struct
 * vdev) runs in its own thread with its own event loop; our drivers reach it
 * through a struct virtio_device whose config operations are forwarded to
 * that thread. The driver's rings live in a memfd DMA arena that is also the
 * device's only guest-memory region, at a device-visible base far from 0 so
 * that a pointer mistaken for a DMA address does not translate. Kicks and
 * used-buffer signals travel through eventfds, as with ioeventfd/irqfd and
 * vhost-user.
 */
#ifndef VIREO_LOOPBACK_H
#define VIREO_LOOPBACK_H

#include <stddef.h>
#include <stdint.h>

#include <vireo/device.h>
#include <vireo/driver.h>
#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Device-visible address of the first byte of the DMA arena. */
#define LOOPBACK_DMA_BASE 0x100000000ull

/* Used when vireo_loopback_new() is given 0 DMA bytes. */
#define LOOPBACK_DEFAULT_DMA_BYTES (8u << 20)

struct loopback;

/**
 * vireo_loopback_new() - serve @dev in a new device thread and register it on @bus
 * @dev: an initialised device model; it stays the caller's, but belongs to
 *	the loopback's thread until vireo_loopback_free()
 * @dma_bytes: size of the DMA arena (rings and driver buffers); 0: default
 *
 * The bus binds the matching driver during this call (virtio 1.2 §3.1.1).
 * Return: 0 and *@out set; -ENOMEM; -errno from memfd, eventfd, epoll or
 * pthread_create; or the error of the matching driver's probe (nothing is
 * left registered then).
 */
VIREO_API int vireo_loopback_new(struct loopback **out, struct virtio_bus *bus, struct vdev *dev,
				 size_t dma_bytes);

/**
 * vireo_loopback_free() - unregister (driver remove, device reset), stop the device
 * thread and free everything; the device model is detached and can be freed.
 */
VIREO_API void vireo_loopback_free(struct loopback *lb);

/** vireo_loopback_virtio_device() - the device as drivers see it */
VIREO_API struct virtio_device *vireo_loopback_virtio_device(struct loopback *lb);

/**
 * vireo_loopback_run_in_device() - call @fn(@dev, @arg) in the device thread and
 * wait for it to return (tests use it to look at the model safely)
 * Return: 0, or -EIO if the device thread has stopped.
 */
VIREO_API int vireo_loopback_run_in_device(struct loopback *lb,
					   void (*fn)(struct vdev *dev, void *arg), void *arg);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_LOOPBACK_H */
