// SPDX-License-Identifier: MIT
/*
 * The in-process virtio-mmio bus (virtio_mmio_bus.h): access ops that call
 * the function model, an interrupt line that signals the eventfd the driver
 * gave, and dma_map that makes the driver's arena the device's guest memory
 * (the map is changed in the device thread, where the core reads it).
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <vireo/event_loop.h>
#include <vireo/guest_mem.h>
#include <vireo/log.h>
#include <vireo/virtio_mmio_bus.h>

struct vireo_mmio_bus {
	struct guest_mem mem;
	struct vireo_mmio_function *fn;
	struct vireo_mmio_device *drv;
	int irq_fd; /* __atomic: set by the driver's thread, read by the device's */
};

static int mbus_read(void *opaque, uint64_t offset, unsigned int size, uint32_t *value)
{
	return vireo_mmio_read(((struct vireo_mmio_bus *)opaque)->fn, offset, size, value);
}

static int mbus_write(void *opaque, uint64_t offset, unsigned int size, uint32_t value)
{
	return vireo_mmio_write(((struct vireo_mmio_bus *)opaque)->fn, offset, size, value);
}

/* The line's edge: one eventfd signal per event (an irqfd). */
static void mbus_irq_signal(void *opaque)
{
	struct vireo_mmio_bus *mb = opaque;
	int fd = __atomic_load_n(&mb->irq_fd, __ATOMIC_ACQUIRE);

	if (fd >= 0)
		(void)vireo_eventfd_signal_fd(fd);
}

/* The fd stays the driver's; it unsets it before closing it. */
static int mbus_set_irq_eventfd(void *opaque, int fd)
{
	/* Release: pairs with the acquire in mbus_irq_signal(). */
	__atomic_store_n(&((struct vireo_mmio_bus *)opaque)->irq_fd, fd, __ATOMIC_RELEASE);
	return 0;
}

struct mbus_map {
	struct vireo_mmio_bus *mb;
	void *vaddr;
	uint64_t iova, len;
	int ret;
};

static void mbus_do_map(struct vdev *dev, void *arg)
{
	struct mbus_map *m = arg;

	(void)dev;
	m->ret = vireo_guest_mem_add_region(&m->mb->mem, m->iova, m->len, m->vaddr);
}

static void mbus_do_unmap(struct vdev *dev, void *arg)
{
	struct mbus_map *m = arg;

	/* Nothing the model started may still point into the region. */
	vireo_vdev_quiesce(dev);
	m->ret = vireo_guest_mem_remove_region(&m->mb->mem, m->iova);
}

static int mbus_dma_map(void *opaque, void *vaddr, uint64_t iova, uint64_t len)
{
	struct mbus_map m = {.mb = opaque, .vaddr = vaddr, .iova = iova, .len = len};
	int ret = vireo_mmio_function_run_in_device(m.mb->fn, mbus_do_map, &m);

	return ret < 0 ? ret : m.ret;
}

static int mbus_dma_unmap(void *opaque, uint64_t iova, uint64_t len)
{
	struct mbus_map m = {.mb = opaque, .iova = iova, .len = len};
	int ret = vireo_mmio_function_run_in_device(m.mb->fn, mbus_do_unmap, &m);

	return ret < 0 ? ret : m.ret;
}

static const struct vireo_mmio_access_ops mbus_access_ops = {
	.read = mbus_read,
	.write = mbus_write,
	.set_irq_eventfd = mbus_set_irq_eventfd,
	.dma_map = mbus_dma_map,
	.dma_unmap = mbus_dma_unmap,
};

static const struct vireo_mmio_host_ops mbus_host_ops = {
	.irq_signal = mbus_irq_signal,
};

int vireo_mmio_bus_new(struct vireo_mmio_bus **out, struct virtio_bus *bus, struct vdev *dev,
		       const struct vireo_mmio_bus_options *opts)
{
	struct vireo_mmio_bus_options none = {0};
	struct vireo_mmio_bus *mb;
	int ret;

	if (!opts)
		opts = &none;
	if (dev->device_id == 0)
		return -EINVAL; /* a placeholder would bind nothing */
	mb = calloc(1, sizeof(*mb));
	if (!mb)
		return -ENOMEM;
	mb->irq_fd = -1;
	vireo_guest_mem_init(&mb->mem);
	ret = vireo_mmio_function_new(dev, &mb->mem, &opts->function, &mbus_host_ops, mb, &mb->fn);
	if (ret < 0)
		goto out_free;
	ret = vireo_mmio_device_new(&mbus_access_ops, mb, &opts->driver, bus, &mb->drv);
	if (!ret && !mb->drv)
		ret = -ENODEV;
	if (ret < 0)
		goto out_free_fn;
	*out = mb;
	return 0;

out_free_fn:
	vireo_mmio_function_free(mb->fn);
out_free:
	free(mb);
	return ret;
}

void vireo_mmio_bus_free(struct vireo_mmio_bus *mb)
{
	if (!mb)
		return;
	vireo_mmio_device_free(mb->drv);
	vireo_mmio_function_free(mb->fn);
	free(mb);
}

struct virtio_device *vireo_mmio_bus_virtio_device(struct vireo_mmio_bus *mb)
{
	return vireo_mmio_device_virtio_device(mb->drv);
}

struct vireo_mmio_function *vireo_mmio_bus_function(struct vireo_mmio_bus *mb)
{
	return mb->fn;
}
