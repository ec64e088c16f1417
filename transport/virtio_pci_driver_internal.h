/* SPDX-License-Identifier: MIT */
/*
 * Shared by the virtio-pci driver's files: the checked capability layout (virtio_pci_caps.c),
 * the device (virtio_pci_driver.c) and its queues and interrupts (virtio_pci_vq.c).
 */
#ifndef VIREO_TRANSPORT_VIRTIO_PCI_DRIVER_INTERNAL_H
#define VIREO_TRANSPORT_VIRTIO_PCI_DRIVER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <vireo/dma.h>
#include <vireo/driver.h>
#include <vireo/virtio_pci_driver.h>
#include <vireo/virtio_ring_alloc.h>

#include "transport/driver_queue.h"

/* Common config bytes every device has: up to and including queue_device (§4.1.4.3). */
#define VPCI_COMMON_MIN_LEN 56u

/* One virtio structure: where it is, checked against its BAR (§4.1.4). */
struct vpci_region {
	bool present;
	uint8_t bar;
	uint64_t offset;
	uint64_t length;
};

/*
 * struct vpci_layout - what capability discovery found and checked
 * @msix_table_size: MSI-X Table Size (1..2048), 0 without an MSI-X capability
 */
struct vpci_layout {
	uint16_t vendor_id;
	uint16_t device_id;
	uint32_t virtio_id;
	struct vpci_region common, notify, isr, device;
	uint32_t notify_off_multiplier;
	unsigned int msix_table_size;
};

struct vpci_queue {
	struct driver_queue dq;
	struct vireo_pci_device *dev;
	bool reset;		/* vireo_pci_queue_reset() done, not re-enabled */
	uint64_t notify_offset; /* within the notify region's BAR */
	uint16_t notify_value;	/* vq index or queue_notif_config_data (R-PCI-22) */
	unsigned int vector;	/* index into dev->vector_fd, or VIREO_PCI_MSI_NO_VECTOR */
	virtqueue_callback *callback;
	const char *name;
};

struct vireo_pci_device {
	struct virtio_device vdev;
	const struct vireo_pci_access_ops *ops;
	void *opaque;
	struct vireo_pci_device_options opt;
	struct vpci_layout layout;
	struct virtio_dma_arena arena;
	bool arena_ready, mapped, registered;
	_Atomic bool broken;
	unsigned int nvqs;
	struct vpci_queue queues[VIREO_PCI_MAX_QUEUES];
	/* MSI-X: vector i signals vector_fd[i]; nvectors 0 means polling. */
	unsigned int nvectors;
	int vector_fd[VIREO_PCI_MAX_QUEUES + 1];
	unsigned int config_vector;
};

/*
 * vpci_caps_discover() - read the ids and walk the capability list (§4.1.4).
 * Return: 0; -ENODEV (not virtio, or a layout the log line names); -EIO (access failed).
 */
int vpci_caps_discover(const struct vireo_pci_access_ops *ops, void *opaque,
		       struct vpci_layout *out);

/* Register access helpers: on failure they break the device and read as 0. */
void vpci_break(struct vireo_pci_device *d, const char *why);
uint64_t vpci_read(struct vireo_pci_device *d, const struct vpci_region *r, uint64_t off,
		   unsigned int size);
void vpci_write(struct vireo_pci_device *d, const struct vpci_region *r, uint64_t off,
		unsigned int size, uint64_t value);
void vpci_write64(struct vireo_pci_device *d, uint64_t off, uint64_t value);
bool vpci_poll_until_zero(struct vireo_pci_device *d, const struct vpci_region *r, uint64_t off,
			  unsigned int size);

/* Queues and interrupts (virtio_pci_vq.c). */
int vpci_find_vqs(struct virtio_device *vdev, unsigned int nvqs, struct virtqueue *vqs[],
		  virtqueue_callback *callbacks[], const char *const names[]);
void vpci_del_vqs(struct virtio_device *vdev);
int vpci_wait(struct virtio_device *vdev, int timeout_ms);
void vpci_vectors_release(struct vireo_pci_device *d);

#endif /* VIREO_TRANSPORT_VIRTIO_PCI_DRIVER_INTERNAL_H */
