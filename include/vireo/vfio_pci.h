/* SPDX-License-Identifier: MIT */
/*
 * A PCI function bound to vfio-pci, as a struct vireo_pci_access_ops for the virtio-pci
 * driver (<vireo/virtio_pci_driver.h>): configuration space and BARs through the VFIO device
 * fd (BARs mmap'd where VFIO allows it), MSI-X vectors as eventfds (VFIO_DEVICE_SET_IRQS), and
 * DMA through a type-1 IOMMU container (VFIO_IOMMU_MAP_DMA). Linux only; needs an IOMMU (a
 * vIOMMU in a guest) and access to /dev/vfio.
 */
#ifndef VIREO_VFIO_PCI_H
#define VIREO_VFIO_PCI_H

#include <vireo/virtio_pci_driver.h>
#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vireo_vfio_pci;

/**
 * vireo_vfio_pci_open() - open the function @bdf ("DDDD:BB:DD.F", or "BB:DD.F" in domain 0)
 *
 * Finds its IOMMU group, puts the group in a new container with a type-1 (v2) IOMMU, gets
 * the device fd, maps its BARs, and enables memory decoding and bus mastering.
 * Return: 0 and *@out set; -EINVAL (@bdf malformed); -ENOENT (no such function); -ENODEV
 * (not bound to vfio-pci, or no IOMMU group: the IOMMU is off); -EBUSY (the group is not
 * viable: another device in it is bound to a host driver); -EOPNOTSUPP (no type-1 IOMMU);
 * -EACCES / -errno from open or ioctl. Each failure is logged with what to do about it.
 */
VIREO_API int vireo_vfio_pci_open(const char *bdf, struct vireo_vfio_pci **out);

/**
 * vireo_vfio_pci_close() - disable interrupts, reset the function (VFIO_DEVICE_RESET where
 * supported), unmap and close everything. Free the virtio-pci device using it first.
 */
VIREO_API void vireo_vfio_pci_close(struct vireo_vfio_pci *v);

/** vireo_vfio_pci_access() - the access operations; their opaque argument is @v */
VIREO_API const struct vireo_pci_access_ops *vireo_vfio_pci_access(struct vireo_vfio_pci *v);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_VFIO_PCI_H */
