// SPDX-License-Identifier: MIT
/*
 * The tools' block stack: blk model -> loopback, virtio-mmio or virtio-pci -> bus -> blk
 * driver, vhost-user back-end -> vhost-user front-end -> bus -> blk driver, or
 * PCI function -> VFIO -> virtio-pci transport -> bus -> blk driver (tool_frontend.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tools/blk_stack.h"

/* The bus for @ring with our blk driver on it, taking at most @max_queues (0: all). */
static int blk_stack_begin(struct blk_stack *s, enum virtio_ring_format ring,
			   unsigned int max_queues)
{
	memset(s, 0, sizeof(*s));
	virtio_bus_init(&s->bus);
	s->bus.ring_format = ring;
	s->drv.max_queues = max_queues;
	return virtio_blk_register(&s->bus, &s->drv);
}

/*
 * Once the front-end set-up returned @ret: our driver bound to its device, or all undone.
 * @bdf: the VFIO function, named when it is not a blk device (NULL: other transports).
 */
static int blk_stack_bind(struct blk_stack *s, int ret, const char *bdf)
{
	struct virtio_device *vdev;

	if (ret < 0)
		goto out_close;
	vdev = tool_frontend_virtio_device(&s->front);
	s->blk = virtio_blk_from_device(vdev);
	if (s->blk)
		return 0;
	if (bdf)
		fprintf(stderr, "vireo: %s is virtio device type %u, not virtio-blk (2)\n", bdf,
			vdev->id.device);
	ret = -ENODEV;
out_close:
	blk_stack_close(s);
	return ret;
}

/* blk_stack_open() - see blk_stack.h */
int blk_stack_open(struct blk_stack *s, const char *path, bool readonly, unsigned int queues,
		   size_t dma_bytes, enum virtio_ring_format ring, enum tool_transport transport)
{
	struct blk_device_options opt = {
		.path = path,
		.readonly = readonly,
		.num_queues = queues,
		.serial = "vireo-blk",
	};
	int ret = blk_stack_begin(s, ring, 0);

	if (ret < 0)
		return ret;
	ret = vireo_blk_device_new(&s->dev, &opt);
	if (ret == 0)
		ret = tool_frontend_local(&s->front, &s->bus, vireo_blk_device_vdev(s->dev),
					  transport, dma_bytes);
	return blk_stack_bind(s, ret, NULL);
}

/* blk_stack_connect() - see blk_stack.h */
int blk_stack_connect(struct blk_stack *s, const char *socket_path, unsigned int queues,
		      size_t dma_bytes, enum virtio_ring_format ring, unsigned int reconnect_ms,
		      const struct opt_iommu *iommu)
{
	struct tool_frontend_sizes sizes = {.dma_bytes = dma_bytes};
	int ret = blk_stack_begin(s, ring, queues);

	if (ret < 0)
		return ret;
	ret = tool_frontend_socket(&s->front, &s->bus, socket_path, VIRTIO_ID_BLOCK, &sizes,
				   reconnect_ms, iommu);
	return blk_stack_bind(s, ret, NULL);
}

/* blk_stack_pci() - see blk_stack.h */
int blk_stack_pci(struct blk_stack *s, const char *bdf, unsigned int queues, size_t dma_bytes,
		  enum virtio_ring_format ring)
{
	struct tool_frontend_sizes sizes = {.dma_bytes = dma_bytes};
	int ret = blk_stack_begin(s, ring, queues);

	if (ret < 0)
		return ret;
	ret = tool_frontend_vfio(&s->front, &s->bus, bdf, &sizes);
	return blk_stack_bind(s, ret, bdf);
}

void blk_stack_close(struct blk_stack *s)
{
	tool_frontend_close(&s->front);
	if (s->dev)
		vireo_blk_device_free(s->dev);
	virtio_blk_unregister(&s->bus, &s->drv);
	memset(s, 0, sizeof(*s));
}

struct virtio_device *blk_stack_virtio_device(struct blk_stack *s)
{
	return tool_frontend_virtio_device(&s->front);
}
