/* SPDX-License-Identifier: MIT */
/*
 * The tools' front-end set-up: whichever transport the command line named, bringing a virtio
 * device to the tool's bus, where the tool's driver binds. Our device model over loopback,
 * our virtio-mmio function or our virtio-pci function in-process (--transport); a vhost-user
 * back-end through the vhost-user front-end (--socket, with the vIOMMU options); or a PCI
 * function bound to vfio-pci through the virtio-pci transport (--pci). Used by blk_stack.c
 * (vireo blk, vireo bench blk), cmd_rng.c (vireo rng) and bench_net.c (vireo bench net).
 */
#ifndef VIREO_TOOLS_TOOL_FRONTEND_H
#define VIREO_TOOLS_TOOL_FRONTEND_H

#include <stddef.h>
#include <stdint.h>

#include <vireo/device.h>
#include <vireo/driver.h>
#include <vireo/loopback.h>
#include <vireo/vfio_pci.h>
#include <vireo/vhost_user_frontend.h>
#include <vireo/virtio_mmio_bus.h>
#include <vireo/virtio_pci_bus.h>
#include <vireo/virtio_pci_driver.h>

#include "tools/options.h"

/* One of these is set once a tool_frontend_*() set-up succeeded (two for --pci). */
struct tool_frontend {
	struct loopback *lb;
	struct vireo_mmio_bus *mmio;
	struct vireo_pci_bus *pcibus;
	struct vhost_user_frontend *fe;
	struct vireo_vfio_pci *vfio;
	struct vireo_pci_device *pci;
};

/* Memory a remote transport sets up; a zero field takes the transport's default. */
struct tool_frontend_sizes {
	size_t dma_bytes;	 /* DMA arena for rings and buffers */
	unsigned int queue_size; /* ring size, a power of two */
};

/**
 * tool_frontend_local() - our model @dev on @bus over @transport, in-process
 * @dma_bytes: DMA arena for rings and buffers (0: the transport's default)
 * Return: 0, or -errno from the transport (then @f holds nothing).
 */
int tool_frontend_local(struct tool_frontend *f, struct virtio_bus *bus, struct vdev *dev,
			enum tool_transport transport, size_t dma_bytes);

/**
 * tool_frontend_socket() - the vhost-user back-end listening on @socket_path, of virtio
 * device type @device_id, on @bus
 * @sizes: DMA arena shared with the back-end and ring size (NULL: the front-end's defaults)
 * @reconnect_ms: if the back-end goes away, connect again for this long (0: the device breaks)
 * @iommu: the vIOMMU options (NULL or off: none)
 * Return: 0, or -errno from the connection (-ENOENT, -ECONNREFUSED) or -EIO (the back-end
 * broke the protocol); then @f holds nothing.
 */
int tool_frontend_socket(struct tool_frontend *f, struct virtio_bus *bus, const char *socket_path,
			 uint32_t device_id, const struct tool_frontend_sizes *sizes,
			 unsigned int reconnect_ms, const struct opt_iommu *iommu);

/**
 * tool_frontend_vfio() - the virtio-pci function @bdf (bound to vfio-pci) on @bus
 * @sizes: DMA arena and largest ring size (NULL: the transport's defaults)
 * Return: 0, or -errno from VFIO (logged with what to do) or the transport (-ENODEV: not a
 * virtio-pci function we accept); then @f holds nothing.
 */
int tool_frontend_vfio(struct tool_frontend *f, struct virtio_bus *bus, const char *bdf,
		       const struct tool_frontend_sizes *sizes);

/** tool_frontend_virtio_device() - the device the set-up brought to the bus */
struct virtio_device *tool_frontend_virtio_device(const struct tool_frontend *f);

/** tool_frontend_close() - stop whichever transport is set up (none: nothing); @f zeroed */
void tool_frontend_close(struct tool_frontend *f);

#endif /* VIREO_TOOLS_TOOL_FRONTEND_H */
