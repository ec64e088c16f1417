/* SPDX-License-Identifier: MIT */
/*
 * The in-process virtio-mmio bus: our virtio-mmio driver (virtio_mmio_driver.h)
 * on our virtio-mmio function model (virtio_mmio_function.h) in one process.
 * Register accesses are calls (the function posts them to its device
 * thread), the interrupt line is an eventfd, and the device's guest memory is
 * the driver's DMA arena, as with the loopback transport (loopback.h), which
 * it can stand in for: the same device model, the same drivers, plus the
 * register path.
 */
#ifndef VIREO_VIRTIO_MMIO_BUS_H
#define VIREO_VIRTIO_MMIO_BUS_H

#include <stddef.h>

#include <vireo/device.h>
#include <vireo/driver.h>
#include <vireo/virtio_mmio_driver.h>
#include <vireo/virtio_mmio_function.h>
#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vireo_mmio_bus;

/**
 * struct vireo_mmio_bus_options - NULL means all zero
 * @function: the device side's options
 * @driver: the driver side's (dma_bytes: the arena, 0: 8 MiB)
 */
struct vireo_mmio_bus_options {
	struct vireo_mmio_function_options function;
	struct vireo_mmio_device_options driver;
};

/**
 * vireo_mmio_bus_new() - put @dev behind a virtio-mmio function and register
 * it on @bus through our virtio-mmio driver (the matching driver binds now)
 * @dev: an initialised device model; it stays the caller's, but belongs to
 *	the function's thread until vireo_mmio_bus_free()
 * @opts: may be NULL
 * Return: 0 and *@out; -ENOMEM; -EINVAL (@dev's device id is 0); -errno from
 * the function (eventfd, epoll, pthread_create) or the driver (memfd, the
 * matching driver's probe).
 */
VIREO_API int vireo_mmio_bus_new(struct vireo_mmio_bus **out, struct virtio_bus *bus,
				 struct vdev *dev, const struct vireo_mmio_bus_options *opts);

/** vireo_mmio_bus_free() - unregister, reset, stop the device thread; NULL is fine */
VIREO_API void vireo_mmio_bus_free(struct vireo_mmio_bus *mb);

/** vireo_mmio_bus_virtio_device() - the device as drivers see it */
VIREO_API struct virtio_device *vireo_mmio_bus_virtio_device(struct vireo_mmio_bus *mb);

/** vireo_mmio_bus_function() - the device side (for tests: register accesses of their own) */
VIREO_API struct vireo_mmio_function *vireo_mmio_bus_function(struct vireo_mmio_bus *mb);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_VIRTIO_MMIO_BUS_H */
