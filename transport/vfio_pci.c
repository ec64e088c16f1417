// SPDX-License-Identifier: MIT
/*
 * A PCI function through VFIO (Linux Documentation/driver-api/vfio.rst): container (type-1
 * v2 IOMMU), group, device fd; configuration space and BARs as regions of the device fd,
 * BARs mmap'd where the region allows it; MSI-X vectors as eventfds; DMA mapped into the
 * container's IOMMU domain. The access operations of <vireo/virtio_pci_driver.h>.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vireo/log.h>
#include <vireo/vfio_pci.h>

#define VFIO_BARS 6u
#define VFIO_MAX_VECTORS 2048u

struct vfio_bar {
	uint64_t offset; /* of the region in the device fd */
	uint64_t size;
	void *map; /* NULL: pread/pwrite */
};

struct vireo_vfio_pci {
	char bdf[16];
	int container, group, device;
	uint32_t device_flags;
	uint64_t config_offset;
	struct vfio_bar bars[VFIO_BARS];
	unsigned int msix_count; /* vectors the device has */
	unsigned int enabled;	 /* vectors enabled in VFIO (0: MSI-X off) */
	int *vector_fd;		 /* msix_count entries */
};

/* @in has the shape of @form: 'h' a hex digit, anything else itself. */
static bool vfio_bdf_shape(const char *in, const char *form)
{
	for (; *form; in++, form++) {
		if (*form == 'h' ? !isxdigit((unsigned char)*in) : *in != *form)
			return false;
	}
	return *in == '\0';
}

/* "DDDD:BB:DD.F" or "BB:DD.F"; written back in the long form. Return: 0 or -EINVAL. */
static int vfio_parse_bdf(const char *in, char out[16])
{
	unsigned int dom = 0, bus, dev, fn;

	if (vfio_bdf_shape(in, "hhhh:hh:hh.h"))
		(void)sscanf(in, "%4x:%2x:%2x.%1x", &dom, &bus, &dev, &fn);
	else if (vfio_bdf_shape(in, "hh:hh.h"))
		(void)sscanf(in, "%2x:%2x.%1x", &bus, &dev, &fn);
	else
		return -EINVAL;
	if (dev > 0x1f || fn > 7)
		return -EINVAL;
	snprintf(out, 16, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	return 0;
}

/* The last path element of the symlink @dir/@name, in @buf. Return: 0 or -errno. */
static int vfio_link_name(const char *bdf, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;
	const char *slash;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, name);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	slash = strrchr(target, '/');
	slash = slash ? slash + 1 : target;
	if (strlen(slash) >= len)
		return -ENAMETOOLONG;
	memcpy(buf, slash, strlen(slash) + 1);
	return 0;
}

/* The function exists, is bound to vfio-pci, and has an IOMMU group. Return: group or -errno. */
static int vfio_find_group(const char *bdf)
{
	char path[PATH_MAX], name[64], group[64];
	int ret;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", bdf);
	if (access(path, F_OK) < 0) {
		log_error("vfio: no PCI function %s (%s)", bdf, path);
		return -ENOENT;
	}
	/* The group first: without an IOMMU vfio-pci cannot bind, and that is the cause. */
	if (vfio_link_name(bdf, "iommu_group", group, sizeof(group)) < 0) {
		log_error("vfio: %s has no IOMMU group: is the IOMMU on (intel_iommu=on)?", bdf);
		return -ENODEV;
	}
	ret = vfio_link_name(bdf, "driver", name, sizeof(name));
	if (ret < 0 || strcmp(name, "vfio-pci") != 0) {
		log_error("vfio: %s is %s%s, not vfio-pci: echo vfio-pci > %s/driver_override, "
			  "then bind it (drivers_probe)",
			  bdf, ret < 0 ? "not bound to a driver" : "bound to ", ret < 0 ? "" : name,
			  path);
		return -ENODEV;
	}
	return atoi(group);
}

/* Container with a type-1 v2 IOMMU, holding the viable group @n. Return: 0 or -errno. */
static int vfio_open_container(struct vireo_vfio_pci *v, int n)
{
	struct vfio_group_status st = {.argsz = sizeof(st)};
	char path[64];

	v->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container < 0) {
		log_error("vfio: /dev/vfio/vfio: %s (is the vfio module loaded?)", strerror(errno));
		return -errno;
	}
	if (ioctl(v->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0) {
		log_error("vfio: no type-1 v2 IOMMU (load vfio_iommu_type1)");
		return -EOPNOTSUPP;
	}
	snprintf(path, sizeof(path), "/dev/vfio/%d", n);
	v->group = open(path, O_RDWR | O_CLOEXEC);
	if (v->group < 0) {
		log_error("vfio: %s: %s", path, strerror(errno));
		return -errno;
	}
	if (ioctl(v->group, VFIO_GROUP_GET_STATUS, &st) < 0)
		return -errno;
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		log_error("vfio: IOMMU group %d is not viable: bind every device in it to vfio-pci",
			  n);
		return -EBUSY;
	}
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container) < 0 ||
	    ioctl(v->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0) {
		log_error("vfio: setting up the IOMMU container failed: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* Region @index of the device: offset and size, mmap'd if it is a BAR VFIO lets us map. */
static int vfio_region(struct vireo_vfio_pci *v, unsigned int index, struct vfio_bar *out)
{
	struct vfio_region_info ri = {.argsz = sizeof(ri), .index = index};
	void *p;

	if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &ri) < 0)
		return -errno;
	out->offset = ri.offset;
	out->size = ri.size;
	out->map = NULL;
	if (index >= VFIO_BARS || !ri.size || !(ri.flags & VFIO_REGION_INFO_FLAG_MMAP))
		return 0;
	p = mmap(NULL, ri.size, PROT_READ | PROT_WRITE, MAP_SHARED, v->device, (off_t)ri.offset);
	if (p != MAP_FAILED)
		out->map = p;
	return 0;
}

static int vfio_config_read(void *opaque, uint32_t offset, unsigned int size, uint32_t *value)
{
	struct vireo_vfio_pci *v = opaque;

	*value = 0;
	if (size != 1 && size != 2 && size != 4)
		return -EINVAL;
	if (pread(v->device, value, size, (off_t)(v->config_offset + offset)) != (ssize_t)size)
		return -EIO;
	return 0;
}

static int vfio_config_write(void *opaque, uint32_t offset, unsigned int size, uint32_t value)
{
	struct vireo_vfio_pci *v = opaque;

	if (size != 1 && size != 2 && size != 4)
		return -EINVAL;
	if (pwrite(v->device, &value, size, (off_t)(v->config_offset + offset)) != (ssize_t)size)
		return -EIO;
	return 0;
}

static int vfio_bar_check(const struct vireo_vfio_pci *v, unsigned int bar, uint64_t offset,
			  unsigned int size)
{
	if (bar >= VFIO_BARS || (size != 1 && size != 2 && size != 4 && size != 8))
		return -EINVAL;
	if (offset > v->bars[bar].size || size > v->bars[bar].size - offset)
		return -ERANGE;
	return 0;
}

/* One MMIO load of exactly @size bytes (a device register: the width matters). */
static uint64_t vfio_mmio_load(const volatile void *p, unsigned int size)
{
	switch (size) {
	case 1:
		return *(const volatile uint8_t *)p;
	case 2:
		return *(const volatile uint16_t *)p;
	case 4:
		return *(const volatile uint32_t *)p;
	default:
		return *(const volatile uint64_t *)p;
	}
}

static void vfio_mmio_store(volatile void *p, unsigned int size, uint64_t value)
{
	switch (size) {
	case 1:
		*(volatile uint8_t *)p = (uint8_t)value;
		break;
	case 2:
		*(volatile uint16_t *)p = (uint16_t)value;
		break;
	case 4:
		*(volatile uint32_t *)p = (uint32_t)value;
		break;
	default:
		*(volatile uint64_t *)p = value;
	}
}

static int vfio_bar_read(void *opaque, unsigned int bar, uint64_t offset, unsigned int size,
			 uint64_t *value)
{
	struct vireo_vfio_pci *v = opaque;
	int ret = vfio_bar_check(v, bar, offset, size);

	*value = 0;
	if (ret < 0)
		return ret;
	if (v->bars[bar].map) {
		/* Device reads after our ring stores: x86 orders them; the fence says so. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		*value = vfio_mmio_load((char *)v->bars[bar].map + offset, size);
		return 0;
	}
	if (pread(v->device, value, size, (off_t)(v->bars[bar].offset + offset)) != (ssize_t)size)
		return -EIO;
	return 0;
}

static int vfio_bar_write(void *opaque, unsigned int bar, uint64_t offset, unsigned int size,
			  uint64_t value)
{
	struct vireo_vfio_pci *v = opaque;
	int ret = vfio_bar_check(v, bar, offset, size);

	if (ret < 0)
		return ret;
	if (v->bars[bar].map) {
		/* A notification must follow the ring stores it announces (§2.7.13 step 4). */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		vfio_mmio_store((char *)v->bars[bar].map + offset, size, value);
		return 0;
	}
	if (pwrite(v->device, &value, size, (off_t)(v->bars[bar].offset + offset)) != (ssize_t)size)
		return -EIO;
	return 0;
}

static int vfio_bar_size(void *opaque, unsigned int bar, uint64_t *size)
{
	struct vireo_vfio_pci *v = opaque;

	if (bar >= VFIO_BARS)
		return -EINVAL;
	*size = v->bars[bar].size;
	return 0;
}

/* VFIO_DEVICE_SET_IRQS on the MSI-X index: @count eventfds from vector 0, or off. */
static int vfio_msix_set(struct vireo_vfio_pci *v, unsigned int start, unsigned int count)
{
	size_t sz = sizeof(struct vfio_irq_set) + count * sizeof(int32_t);
	struct vfio_irq_set *set = calloc(1, sz);
	int ret = 0;

	if (!set)
		return -ENOMEM;
	set->argsz = (uint32_t)sz;
	set->flags = VFIO_IRQ_SET_ACTION_TRIGGER |
		     (count ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE);
	set->index = VFIO_PCI_MSIX_IRQ_INDEX;
	set->start = start;
	set->count = count;
	if (count)
		memcpy(set->data, &v->vector_fd[start], count * sizeof(int32_t));
	if (ioctl(v->device, VFIO_DEVICE_SET_IRQS, set) < 0)
		ret = -errno;
	free(set);
	return ret;
}

/*
 * Vector @vector fires @fd. A vector past those enabled re-enables MSI-X with more (kernels
 * before 6.5 cannot grow an enabled set); the driver sets vectors before it maps them.
 */
static int vfio_set_vector_eventfd(void *opaque, unsigned int vector, int fd)
{
	struct vireo_vfio_pci *v = opaque;
	unsigned int count = 0, i;
	int ret;

	if (vector >= v->msix_count)
		return -EINVAL;
	v->vector_fd[vector] = fd;
	for (i = 0; i < v->msix_count; i++)
		if (v->vector_fd[i] >= 0)
			count = i + 1;
	if (v->enabled && vector < v->enabled)
		return vfio_msix_set(v, vector, 1);
	if (v->enabled) {
		ret = vfio_msix_set(v, 0, 0);
		v->enabled = 0;
		if (ret < 0)
			return ret;
	}
	if (!count)
		return 0;
	ret = vfio_msix_set(v, 0, count);
	if (ret < 0) {
		log_error("vfio: enabling %u MSI-X vectors failed: %s", count, strerror(-ret));
		return ret;
	}
	v->enabled = count;
	return 0;
}

static int vfio_dma_map(void *opaque, void *vaddr, uint64_t iova, uint64_t len)
{
	struct vireo_vfio_pci *v = opaque;
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uint64_t)(uintptr_t)vaddr,
		.iova = iova,
		.size = len,
	};

	return ioctl(v->container, VFIO_IOMMU_MAP_DMA, &m) < 0 ? -errno : 0;
}

static int vfio_dma_unmap(void *opaque, uint64_t iova, uint64_t len)
{
	struct vireo_vfio_pci *v = opaque;
	struct vfio_iommu_type1_dma_unmap u = {.argsz = sizeof(u), .iova = iova, .size = len};

	return ioctl(v->container, VFIO_IOMMU_UNMAP_DMA, &u) < 0 ? -errno : 0;
}

static const struct vireo_pci_access_ops vfio_access_ops = {
	.config_read = vfio_config_read,
	.config_write = vfio_config_write,
	.bar_read = vfio_bar_read,
	.bar_write = vfio_bar_write,
	.bar_size = vfio_bar_size,
	.set_vector_eventfd = vfio_set_vector_eventfd,
	.dma_map = vfio_dma_map,
	.dma_unmap = vfio_dma_unmap,
};

const struct vireo_pci_access_ops *vireo_vfio_pci_access(struct vireo_vfio_pci *v)
{
	(void)v;
	return &vfio_access_ops;
}

/* Regions, MSI-X count, and memory decoding + bus mastering on. Return: 0 or -errno. */
static int vfio_setup_device(struct vireo_vfio_pci *v)
{
	struct vfio_device_info di = {.argsz = sizeof(di)};
	struct vfio_irq_info ii = {.argsz = sizeof(ii), .index = VFIO_PCI_MSIX_IRQ_INDEX};
	struct vfio_bar cfg = {0};
	uint32_t cmd;
	unsigned int i;
	int ret;

	if (ioctl(v->device, VFIO_DEVICE_GET_INFO, &di) < 0 || !(di.flags & VFIO_DEVICE_FLAGS_PCI))
		return -ENODEV;
	v->device_flags = di.flags;
	for (i = 0; i < VFIO_BARS; i++) {
		ret = vfio_region(v, VFIO_PCI_BAR0_REGION_INDEX + i, &v->bars[i]);
		if (ret < 0)
			return ret;
	}
	ret = vfio_region(v, VFIO_PCI_CONFIG_REGION_INDEX, &cfg);
	if (ret < 0)
		return ret;
	v->config_offset = cfg.offset;
	if (ioctl(v->device, VFIO_DEVICE_GET_IRQ_INFO, &ii) == 0 && ii.count <= VFIO_MAX_VECTORS)
		v->msix_count = ii.count;
	v->vector_fd = calloc(v->msix_count ? v->msix_count : 1, sizeof(int));
	if (!v->vector_fd)
		return -ENOMEM;
	for (i = 0; i < v->msix_count; i++)
		v->vector_fd[i] = -1;
	ret = vfio_config_read(v, PCI_COMMAND, 2, &cmd);
	if (!ret)
		ret = vfio_config_write(v, PCI_COMMAND, 2,
					cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	return ret;
}

static void vfio_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void vireo_vfio_pci_close(struct vireo_vfio_pci *v)
{
	unsigned int i;

	if (!v)
		return;
	if (v->device >= 0) {
		if (v->enabled)
			(void)vfio_msix_set(v, 0, 0);
		if (v->device_flags & VFIO_DEVICE_FLAGS_RESET)
			(void)ioctl(v->device, VFIO_DEVICE_RESET);
	}
	for (i = 0; i < VFIO_BARS; i++)
		if (v->bars[i].map)
			munmap(v->bars[i].map, v->bars[i].size);
	vfio_close_fd(&v->device);
	vfio_close_fd(&v->group);
	vfio_close_fd(&v->container);
	free(v->vector_fd);
	free(v);
}

int vireo_vfio_pci_open(const char *bdf, struct vireo_vfio_pci **out)
{
	struct vireo_vfio_pci *v;
	int group, ret;

	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->container = v->group = v->device = -1;
	ret = bdf ? vfio_parse_bdf(bdf, v->bdf) : -EINVAL;
	if (ret < 0) {
		log_error("vfio: '%s' is not a PCI address (DDDD:BB:DD.F)", bdf ? bdf : "");
		goto out_close;
	}
	group = vfio_find_group(v->bdf);
	ret = group < 0 ? group : vfio_open_container(v, group);
	if (ret < 0)
		goto out_close;
	v->device = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, v->bdf);
	if (v->device < 0) {
		ret = -errno;
		log_error("vfio: getting the device fd of %s failed: %s", v->bdf, strerror(-ret));
		goto out_close;
	}
	ret = vfio_setup_device(v);
	if (ret < 0) {
		log_error("vfio: setting up %s failed: %s", v->bdf, strerror(-ret));
		goto out_close;
	}
	*out = v;
	return 0;

out_close:
	vireo_vfio_pci_close(v);
	return ret;
}
