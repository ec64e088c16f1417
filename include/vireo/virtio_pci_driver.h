/* SPDX-License-Identifier: MIT */
/*
 * The driver role over virtio-pci (virtio 1.2 §4.1, "Virtio Over PCI Bus"): our drivers on a
 * PCI function, reached through struct vireo_pci_access_ops — VFIO (<vireo/vfio_pci.h>) for a
 * real or virtual function, or an in-process software bus in front of a device-role model.
 *
 * The function is a peer, trusted no more than a device: the capability list is walked with
 * loop and bounds protection and every virtio structure is checked against its BAR and the
 * others before use (a device that fails the checks is refused with one clear log line);
 * device_feature, queue_size, config_generation and the status byte are re-checked where a
 * hostile device could make us loop or use a bad value. Register accesses that fail break the
 * device for good: the status then reads DEVICE_NEEDS_RESET and the driver's requests fail.
 */
#ifndef VIREO_VIRTIO_PCI_DRIVER_H
#define VIREO_VIRTIO_PCI_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vireo/driver.h>
#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * struct vireo_pci_access_ops - how the driver reaches one PCI function
 * @config_read: read @size (1, 2 or 4) bytes of PCI configuration space at @offset
 * @config_write: write them
 * @bar_read: read @size (1, 2, 4) bytes of BAR @bar at @offset
 * @bar_write: write them
 * @bar_size: the size in bytes of BAR @bar (0 if absent). Return: 0 or -errno
 * @set_vector_eventfd: MSI-X vector @vector fires eventfd @fd (-1: unset). The first call
 *	enables MSI-X; unsetting every vector may disable it. May be NULL: no interrupts, the
 *	driver polls
 * @dma_map: make [@vaddr, @vaddr + @len) reachable by the device at bus address @iova
 * @dma_unmap: undo it
 *
 * Every operation returns 0 or a negative errno; reads fill *@value (little-endian register
 * values, as the CPU sees them). Values are zero-extended to the width of @value.
 */
struct vireo_pci_access_ops {
	int (*config_read)(void *opaque, uint32_t offset, unsigned int size, uint32_t *value);
	int (*config_write)(void *opaque, uint32_t offset, unsigned int size, uint32_t value);
	int (*bar_read)(void *opaque, unsigned int bar, uint64_t offset, unsigned int size,
			uint64_t *value);
	int (*bar_write)(void *opaque, unsigned int bar, uint64_t offset, unsigned int size,
			 uint64_t value);
	int (*bar_size)(void *opaque, unsigned int bar, uint64_t *size);
	int (*set_vector_eventfd)(void *opaque, unsigned int vector, int fd);
	int (*dma_map)(void *opaque, void *vaddr, uint64_t iova, uint64_t len);
	int (*dma_unmap)(void *opaque, uint64_t iova, uint64_t len);
};

/* Device-visible (IOVA) address of the first byte of the DMA arena when the options give 0. */
#define VIREO_PCI_DEFAULT_DMA_BASE 0x100000000ull

/* Used when the options give 0 DMA bytes. */
#define VIREO_PCI_DEFAULT_DMA_BYTES (8u << 20)

/* Most queues one device drives. */
#define VIREO_PCI_MAX_QUEUES 64u

/**
 * struct vireo_pci_device_options
 * @dma_bytes: size of the DMA arena (rings and driver buffers); 0: default
 * @dma_base: its bus address (IOVA); 0: VIREO_PCI_DEFAULT_DMA_BASE
 * @queue_size: largest ring size to use (0: 256); the device's maximum wins if smaller
 * @poll: use no interrupts even if the function has MSI-X: wait() polls the used rings
 * @reset_timeout_ms: how long a device reset (status 0) or queue reset may take (0: 1000)
 */
struct vireo_pci_device_options {
	size_t dma_bytes;
	uint64_t dma_base;
	unsigned int queue_size;
	bool poll;
	int reset_timeout_ms;
};

struct vireo_pci_device;

/**
 * vireo_pci_device_new() - check the function, create its DMA arena (mapped with
 * @ops->dma_map) and register it on @bus, which binds the matching driver (virtio 1.2 §3.1.1)
 * @ops, @opaque: how to reach the function; they must outlive the device
 * @opt: may be NULL (defaults)
 *
 * The vendor and device id must be a virtio one (0x1af4, 0x1040..0x107f, or a transitional
 * 0x1000..0x103f with its subsystem id naming the type); the capability list must hold valid
 * COMMON, NOTIFY and ISR structures (DEVICE is optional: types without config space).
 * Return: 0 and *@out set; -ENODEV (not a virtio function, or a capability layout we refuse:
 * the log says which rule); -EIO (a register access failed, or the device never finished a
 * reset); -ENOMEM; -errno of @ops->dma_map; or the matching driver's probe error (nothing is
 * left registered or mapped then).
 */
VIREO_API int vireo_pci_device_new(struct virtio_bus *bus, const struct vireo_pci_access_ops *ops,
				   void *opaque, const struct vireo_pci_device_options *opt,
				   struct vireo_pci_device **out);

/**
 * vireo_pci_device_free() - unregister (driver remove, device reset), unset the vectors,
 * unmap and free the DMA arena. The function itself (@ops) stays the caller's.
 */
VIREO_API void vireo_pci_device_free(struct vireo_pci_device *dev);

/** vireo_pci_device_virtio_device() - the device as drivers see it */
VIREO_API struct virtio_device *vireo_pci_device_virtio_device(struct vireo_pci_device *dev);

/** vireo_pci_device_broken() - a register access failed or the device broke a rule */
VIREO_API bool vireo_pci_device_broken(const struct vireo_pci_device *dev);

/**
 * vireo_pci_device_interrupts() - MSI-X vectors in use: 0 when the driver polls, 1 when
 * every event shares one, 2 (config + all queues), or 1 + the queue count
 */
VIREO_API unsigned int vireo_pci_device_interrupts(const struct vireo_pci_device *dev);

/**
 * vireo_pci_queue_reset() - reset queue @index alone (VIRTIO_F_RING_RESET, §2.6.1): write 1
 * to queue_reset and wait until it reads back 0 (R-PCI-13). The queue's buffers are then
 * the driver's again (virtqueue_detach_unused_buf()).
 * Return: 0; -EOPNOTSUPP (RING_RESET not negotiated); -EINVAL (no such queue);
 * -ETIMEDOUT (the device never completed it; the device is broken then); -EIO.
 */
VIREO_API int vireo_pci_queue_reset(struct vireo_pci_device *dev, unsigned int index);

/**
 * vireo_pci_queue_reenable() - set queue @index up again after vireo_pci_queue_reset(): a
 * fresh ring in the same struct virtqueue (same callback and name), then queue_enable.
 * Return: 0; -EINVAL (no such queue, or not reset); -EIO; -ENOMEM.
 */
VIREO_API int vireo_pci_queue_reenable(struct vireo_pci_device *dev, unsigned int index);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_VIRTIO_PCI_DRIVER_H */
