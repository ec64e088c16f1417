/* SPDX-License-Identifier: MIT */
/*
 * A block image behind the whole driver-side stack, for the tools: our blk
 * device model on the image, the loopback transport, a bus with our blk
 * driver bound to it.
 */
#ifndef VIREO_TOOLS_BLK_STACK_H
#define VIREO_TOOLS_BLK_STACK_H

#include <stdbool.h>
#include <stddef.h>

#include <vireo/blk_device.h>
#include <vireo/driver.h>
#include <vireo/loopback.h>
#include <vireo/virtio_blk.h>

struct blk_stack {
	struct virtio_bus bus;
	struct virtio_blk_driver drv;
	struct blk_device *dev;
	struct loopback *lb;
	struct virtio_blk *blk;
};

/**
 * blk_stack_open() - serve @path and bind our driver to it
 * @dma_bytes: DMA arena for rings and request buffers (0: loopback default)
 * Return: 0, or -errno from the device (open, size), the transport or the
 * driver's probe (-ENODEV if no blk driver bound).
 */
int blk_stack_open(struct blk_stack *s, const char *path, bool readonly, unsigned int queues,
		   size_t dma_bytes);

/** blk_stack_close() - unbind, stop the device, close the image */
void blk_stack_close(struct blk_stack *s);

#endif /* VIREO_TOOLS_BLK_STACK_H */
