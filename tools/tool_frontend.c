// SPDX-License-Identifier: MIT
/*
 * The tools' front-end set-up (loopback, virtio-mmio, virtio-pci in-process, vhost-user,
 * VFIO); see tool_frontend.h.
 */
#include <string.h>

#include "tools/tool_frontend.h"

/* tool_frontend_local() - see tool_frontend.h */
int tool_frontend_local(struct tool_frontend *f, struct virtio_bus *bus, struct vdev *dev,
			enum tool_transport transport, size_t dma_bytes)
{
	struct vireo_mmio_bus_options mopt = {.driver.dma_bytes = dma_bytes};
	struct vireo_pci_bus_options popt = {.driver.dma_bytes = dma_bytes};

	memset(f, 0, sizeof(*f));
	if (transport == TOOL_TRANSPORT_MMIO)
		return vireo_mmio_bus_new(&f->mmio, bus, dev, &mopt);
	if (transport == TOOL_TRANSPORT_PCI)
		return vireo_pci_bus_new(&f->pcibus, bus, dev, &popt);
	return vireo_loopback_new(&f->lb, bus, dev, dma_bytes);
}

/* tool_frontend_socket() - see tool_frontend.h */
int tool_frontend_socket(struct tool_frontend *f, struct virtio_bus *bus, const char *socket_path,
			 uint32_t device_id, const struct tool_frontend_sizes *sizes,
			 unsigned int reconnect_ms, const struct opt_iommu *iommu)
{
	struct vhost_user_frontend_options opt = {
		.socket_path = socket_path,
		.device_id = device_id,
		.reconnect_ms = (int)reconnect_ms,
	};

	if (sizes) {
		opt.dma_bytes = sizes->dma_bytes;
		opt.queue_size = sizes->queue_size;
	}

	if (iommu && iommu->on) {
		opt.iommu = true;
		opt.iotlb_page = iommu->page;
		opt.iotlb_preload = iommu->preload;
		opt.iotlb_invalidate_every = iommu->invalidate_every;
	}
	memset(f, 0, sizeof(*f));
	return vireo_vhost_user_frontend_new(&f->fe, bus, &opt);
}

/* tool_frontend_vfio() - see tool_frontend.h */
int tool_frontend_vfio(struct tool_frontend *f, struct virtio_bus *bus, const char *bdf,
		       const struct tool_frontend_sizes *sizes)
{
	struct vireo_pci_device_options opt = {0};
	int ret;

	if (sizes) {
		opt.dma_bytes = sizes->dma_bytes;
		opt.queue_size = sizes->queue_size;
	}

	memset(f, 0, sizeof(*f));
	ret = vireo_vfio_pci_open(bdf, &f->vfio);
	if (ret < 0)
		return ret;
	ret = vireo_pci_device_new(bus, vireo_vfio_pci_access(f->vfio), f->vfio, &opt, &f->pci);
	if (ret < 0) {
		vireo_vfio_pci_close(f->vfio);
		f->vfio = NULL;
	}
	return ret;
}

struct virtio_device *tool_frontend_virtio_device(const struct tool_frontend *f)
{
	if (f->pci)
		return vireo_pci_device_virtio_device(f->pci);
	if (f->pcibus)
		return vireo_pci_bus_virtio_device(f->pcibus);
	if (f->fe)
		return vireo_vhost_user_frontend_virtio_device(f->fe);
	return f->mmio ? vireo_mmio_bus_virtio_device(f->mmio)
		       : vireo_loopback_virtio_device(f->lb);
}

void tool_frontend_close(struct tool_frontend *f)
{
	if (f->pci)
		vireo_pci_device_free(f->pci);
	if (f->vfio)
		vireo_vfio_pci_close(f->vfio);
	if (f->fe)
		vireo_vhost_user_frontend_free(f->fe);
	if (f->lb)
		vireo_loopback_free(f->lb);
	vireo_mmio_bus_free(f->mmio);
	vireo_pci_bus_free(f->pcibus);
	memset(f, 0, sizeof(*f));
}
