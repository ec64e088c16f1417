// SPDX-License-Identifier: MIT
/*
 * The tools' block stack: blk model -> loopback or virtio-mmio -> bus -> blk driver,
 * vhost-user back-end -> vhost-user front-end -> bus -> blk driver, or
 * PCI function -> VFIO -> virtio-pci transport -> bus -> blk driver.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tools/blk_stack.h"

/* blk_stack_open() - see blk_stack.h */
int blk_stack_open(struct blk_stack *s, const char *path, bool readonly, unsigned int queues,
		   size_t dma_bytes, enum virtio_ring_format ring, enum tool_transport transport)
{
	struct vireo_mmio_bus_options mopt = {.driver.dma_bytes = dma_bytes};
	struct vireo_pci_bus_options popt = {.driver.dma_bytes = dma_bytes};
	struct blk_device_options opt = {
		.path = path,
		.readonly = readonly,
		.num_queues = queues,
		.serial = "vireo-blk",
	};
	struct virtio_device *vdev;
	int ret;

	memset(s, 0, sizeof(*s));
	virtio_bus_init(&s->bus);
	s->bus.ring_format = ring;
	ret = virtio_blk_register(&s->bus, &s->drv);
	if (ret < 0)
		return ret;
	ret = vireo_blk_device_new(&s->dev, &opt);
	if (ret < 0)
		goto out_unregister;
	if (transport == TOOL_TRANSPORT_MMIO)
		ret = vireo_mmio_bus_new(&s->mmio, &s->bus, vireo_blk_device_vdev(s->dev), &mopt);
	else if (transport == TOOL_TRANSPORT_PCI)
		ret = vireo_pci_bus_new(&s->pcibus, &s->bus, vireo_blk_device_vdev(s->dev), &popt);
	else
		ret = vireo_loopback_new(&s->lb, &s->bus, vireo_blk_device_vdev(s->dev), dma_bytes);
	if (ret < 0)
		goto out_free_dev;
	vdev = blk_stack_virtio_device(s);
	s->blk = virtio_blk_from_device(vdev);
	if (!s->blk) {
		ret = -ENODEV;
		goto out_free_lb;
	}
	return 0;

out_free_lb:
	vireo_loopback_free(s->lb);
	vireo_mmio_bus_free(s->mmio);
	vireo_pci_bus_free(s->pcibus);
out_free_dev:
	vireo_blk_device_free(s->dev);
out_unregister:
	virtio_blk_unregister(&s->bus, &s->drv);
	memset(s, 0, sizeof(*s));
	return ret;
}

/* blk_stack_connect() - see blk_stack.h */
int blk_stack_connect(struct blk_stack *s, const char *socket_path, unsigned int queues,
		      size_t dma_bytes, enum virtio_ring_format ring, unsigned int reconnect_ms,
		      const struct opt_iommu *iommu)
{
	struct vhost_user_frontend_options opt = {
		.socket_path = socket_path,
		.device_id = VIRTIO_ID_BLOCK,
		.dma_bytes = dma_bytes,
		.reconnect_ms = (int)reconnect_ms,
	};

	if (iommu && iommu->on) {
		opt.iommu = true;
		opt.iotlb_page = iommu->page;
		opt.iotlb_preload = iommu->preload;
		opt.iotlb_invalidate_every = iommu->invalidate_every;
	}
	int ret;

	memset(s, 0, sizeof(*s));
	virtio_bus_init(&s->bus);
	s->bus.ring_format = ring;
	s->drv.max_queues = queues;
	ret = virtio_blk_register(&s->bus, &s->drv);
	if (ret < 0)
		return ret;
	ret = vireo_vhost_user_frontend_new(&s->fe, &s->bus, &opt);
	if (ret < 0)
		goto out_unregister;
	s->blk = virtio_blk_from_device(vireo_vhost_user_frontend_virtio_device(s->fe));
	if (!s->blk) {
		ret = -ENODEV;
		goto out_free_fe;
	}
	return 0;

out_free_fe:
	vireo_vhost_user_frontend_free(s->fe);
out_unregister:
	virtio_blk_unregister(&s->bus, &s->drv);
	memset(s, 0, sizeof(*s));
	return ret;
}

/* blk_stack_pci() - see blk_stack.h */
int blk_stack_pci(struct blk_stack *s, const char *bdf, unsigned int queues, size_t dma_bytes,
		  enum virtio_ring_format ring)
{
	struct vireo_pci_device_options opt = {.dma_bytes = dma_bytes};
	int ret;

	memset(s, 0, sizeof(*s));
	virtio_bus_init(&s->bus);
	s->bus.ring_format = ring;
	s->drv.max_queues = queues;
	ret = virtio_blk_register(&s->bus, &s->drv);
	if (ret < 0)
		return ret;
	ret = vireo_vfio_pci_open(bdf, &s->vfio);
	if (ret < 0)
		goto out_unregister;
	ret = vireo_pci_device_new(&s->bus, vireo_vfio_pci_access(s->vfio), s->vfio, &opt, &s->pci);
	if (ret < 0)
		goto out_close_vfio;
	s->blk = virtio_blk_from_device(vireo_pci_device_virtio_device(s->pci));
	if (!s->blk) {
		fprintf(stderr, "vireo: %s is virtio device type %u, not virtio-blk (2)\n", bdf,
			vireo_pci_device_virtio_device(s->pci)->id.device);
		ret = -ENODEV;
		goto out_free_pci;
	}
	return 0;

out_free_pci:
	vireo_pci_device_free(s->pci);
out_close_vfio:
	vireo_vfio_pci_close(s->vfio);
out_unregister:
	virtio_blk_unregister(&s->bus, &s->drv);
	memset(s, 0, sizeof(*s));
	return ret;
}

void blk_stack_close(struct blk_stack *s)
{
	if (s->pci)
		vireo_pci_device_free(s->pci);
	if (s->vfio)
		vireo_vfio_pci_close(s->vfio);
	if (s->fe)
		vireo_vhost_user_frontend_free(s->fe);
	if (s->lb)
		vireo_loopback_free(s->lb);
	vireo_mmio_bus_free(s->mmio);
	vireo_pci_bus_free(s->pcibus);
	if (s->dev)
		vireo_blk_device_free(s->dev);
	virtio_blk_unregister(&s->bus, &s->drv);
	memset(s, 0, sizeof(*s));
}

struct virtio_device *blk_stack_virtio_device(struct blk_stack *s)
{
	if (s->pci)
		return vireo_pci_device_virtio_device(s->pci);
	if (s->pcibus)
		return vireo_pci_bus_virtio_device(s->pcibus);
	if (s->fe)
		return vireo_vhost_user_frontend_virtio_device(s->fe);
	return s->mmio ? vireo_mmio_bus_virtio_device(s->mmio)
		       : vireo_loopback_virtio_device(s->lb);
}
