/* SPDX-License-Identifier: MIT */
/*
 * A block device behind the whole driver-side stack, for the tools: either
 * our blk device model on an image through the loopback transport, any
 * vhost-user-blk back-end through the vhost-user front-end, or a virtio-blk
 * PCI function through VFIO; a bus with our blk driver bound to it.
 */
#ifndef VIREO_TOOLS_BLK_STACK_H
#define VIREO_TOOLS_BLK_STACK_H

#include <stdbool.h>
#include <stddef.h>

#include <vireo/blk_device.h>
#include <vireo/driver.h>
#include <vireo/virtio_blk.h>

#include "tools/options.h"
#include "tools/tool_frontend.h"

struct blk_stack {
	struct virtio_bus bus;
	struct virtio_blk_driver drv;
	struct blk_device *dev; /* our model, for blk_stack_open() only */
	struct tool_frontend front;
	struct virtio_blk *blk;
};

/**
 * blk_stack_open() - serve @path and bind our driver to it
 * @dma_bytes: DMA arena for rings and request buffers (0: loopback default)
 * @ring: the ring format the bus negotiates (VIRTIO_RING_DEFAULT: split)
 * @transport: loopback, or our virtio-mmio (virtio-pci) driver on our virtio-mmio (virtio-pci)
 *	function
 * Return: 0, or -errno from the device (open, size), the transport or the
 * driver's probe (-ENODEV if no blk driver bound, e.g. @ring packed and the
 * device does not offer it).
 */
int blk_stack_open(struct blk_stack *s, const char *path, bool readonly, unsigned int queues,
		   size_t dma_bytes, enum virtio_ring_format ring, enum tool_transport transport);

/**
 * blk_stack_connect() - connect to the vhost-user-blk back-end listening on
 * @socket_path and bind our driver to it
 * @queues: use at most this many request queues (0: all the back-end has)
 * @dma_bytes: DMA arena shared with the back-end (0: front-end default)
 * @ring: as for blk_stack_open()
 * @reconnect_ms: if the back-end goes away, connect again for this long and go
 *	on (0: the device breaks); only with a back-end offering INFLIGHT_SHMFD
 * @iommu: the vIOMMU options (NULL or off: none)
 * Return: 0, or -errno from the connection (-ENOENT, -ECONNREFUSED), -EIO
 * (the back-end broke the protocol), or the driver's probe (-ENODEV if no
 * blk driver bound).
 */
int blk_stack_connect(struct blk_stack *s, const char *socket_path, unsigned int queues,
		      size_t dma_bytes, enum virtio_ring_format ring, unsigned int reconnect_ms,
		      const struct opt_iommu *iommu);

/**
 * blk_stack_pci() - open the virtio-blk PCI function @bdf through VFIO (bound to vfio-pci)
 * and bind our driver to it over the virtio-pci transport
 * @queues, @dma_bytes, @ring: as for blk_stack_connect()
 * Return: 0, or -errno from VFIO (logged with what to do), the transport (-ENODEV: not a
 * virtio-pci function we accept) or the driver's probe (-ENODEV if no blk driver bound).
 */
int blk_stack_pci(struct blk_stack *s, const char *bdf, unsigned int queues, size_t dma_bytes,
		  enum virtio_ring_format ring);

/** blk_stack_virtio_device() - the device our driver is bound to */
struct virtio_device *blk_stack_virtio_device(struct blk_stack *s);

/** blk_stack_close() - unbind, stop the device, close the image or the connection */
void blk_stack_close(struct blk_stack *s);

#endif /* VIREO_TOOLS_BLK_STACK_H */
