/* SPDX-License-Identifier: MIT */
/*
 * The in-process virtio-pci bus: our virtio-pci driver (virtio_pci_driver.h) on our
 * virtio-pci function model (virtio_pci_function.h) in one process, the seed's "virtual PCI"
 * with both halves ours. Configuration-space and BAR accesses are calls posted to the
 * model's own thread, MSI-X vectors are eventfds (the function's vector_signal), and the
 * device's guest memory is the driver's DMA arena (dma_map adds it), as with the loopback
 * transport (loopback.h), which it can stand in for: the same device model, the same drivers,
 * plus the register path. It plays the firmware's part too: memory decoding and bus
 * mastering on, MSI-X enabled and the vectors unmasked as the driver sets them.
 */
#ifndef VIREO_VIRTIO_PCI_BUS_H
#define VIREO_VIRTIO_PCI_BUS_H

#include <vireo/device.h>
#include <vireo/driver.h>
#include <vireo/virtio_pci_driver.h>
#include <vireo/virtio_pci_function.h>
#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vireo_pci_bus;

/**
 * struct vireo_pci_bus_options - NULL means all zero
 * @function: the device side's options (msix_vectors 0: one per queue plus config)
 * @driver: the driver side's (dma_bytes 0: 8 MiB; poll: no interrupts)
 */
struct vireo_pci_bus_options {
	struct vireo_pci_function_options function;
	struct vireo_pci_device_options driver;
};

/**
 * vireo_pci_bus_new() - put @dev behind a virtio-pci function served by a thread of its own
 * and register it on @bus through our virtio-pci driver (the matching driver binds now)
 * @dev: an initialised device model; it stays the caller's, but belongs to the function's
 *	thread until vireo_pci_bus_free()
 * @opts: may be NULL
 * Return: 0 and *@out; -ENOMEM; -EINVAL (@dev's device id is 0); -errno from the thread
 * (eventfd, epoll, pthread_create), the function or the driver (capabilities, memfd, the
 * matching driver's probe).
 */
VIREO_API int vireo_pci_bus_new(struct vireo_pci_bus **out, struct virtio_bus *bus,
				struct vdev *dev, const struct vireo_pci_bus_options *opts);

/** vireo_pci_bus_free() - unregister, reset, free the function, stop the thread; NULL is fine */
VIREO_API void vireo_pci_bus_free(struct vireo_pci_bus *pb);

/** vireo_pci_bus_virtio_device() - the device as drivers see it */
VIREO_API struct virtio_device *vireo_pci_bus_virtio_device(struct vireo_pci_bus *pb);

/** vireo_pci_bus_driver() - the driver side (for vireo_pci_queue_reset() and the like) */
VIREO_API struct vireo_pci_device *vireo_pci_bus_driver(struct vireo_pci_bus *pb);

/**
 * vireo_pci_bus_function() - the device side, as a VMM holds it: for accesses the driver does
 * not make itself (a platform's configuration write, say). Use it only inside
 * vireo_pci_bus_run_in_device(): the function belongs to the device's thread.
 */
VIREO_API struct vireo_pci_function *vireo_pci_bus_function(struct vireo_pci_bus *pb);

/**
 * vireo_pci_bus_run_in_device() - run @cb(@dev, @arg) on the function's thread, which owns the
 * device model, and wait (to read the model's counters, or change it, safely)
 * Return: 0, or -EIO if the thread has stopped.
 */
VIREO_API int vireo_pci_bus_run_in_device(struct vireo_pci_bus *pb,
					  void (*cb)(struct vdev *dev, void *arg), void *arg);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_VIRTIO_PCI_BUS_H */
