// SPDX-License-Identifier: MIT
/*
 * The in-process virtio-pci bus (virtio_pci_bus.h): access operations that post every
 * configuration-space and BAR access to the function's device thread (the function model is
 * single-threaded, as a vdev is), vectors that signal the eventfds the driver gave, and
 * dma_map that makes the driver's arena the device's guest memory.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/event_loop.h>
#include <vireo/guest_mem.h>
#include <vireo/log.h>
#include <vireo/spec.h>
#include <vireo/virtio_pci_bus.h>

#include "transport/vdev_thread.h"

#define PBUS_VECTORS VIREO_PCI_FUNCTION_MAX_VECTORS

enum pbus_op { PBUS_CFG_READ, PBUS_CFG_WRITE, PBUS_BAR_READ, PBUS_BAR_WRITE, PBUS_BAR_SIZE };

struct vireo_pci_bus {
	struct guest_mem mem;
	struct vdev_thread thread;
	struct vireo_pci_function *fn;
	struct vireo_pci_device *drv;
	bool attached;
	/* MSI-X capability (found at set-up) and the table's place */
	uint32_t msix_pos;
	unsigned int table_bar;
	uint64_t table_offset;
	bool msix_enabled;
	int vector_fd
		[PBUS_VECTORS]; /* __atomic: set by the driver's thread, read by the device's */
	/* The notify area, as a VMM binds ioeventfds to it (vireo_pci_notify_location()) */
	unsigned int notify_bar, notify_queues;
	uint64_t notify_base, notify_stride;
	struct virtio_device *direct; /* __atomic: the bound driver's device; NULL until then */
};

struct pbus_req {
	struct vireo_pci_bus *pb;
	enum pbus_op op;
	unsigned int bar, size;
	uint64_t offset, value;
	int ret;
};

static void pbus_do_access(struct vdev *dev, void *arg)
{
	struct pbus_req *r = arg;
	struct vireo_pci_function *fn = r->pb->fn;
	uint32_t v32 = 0, flags;

	(void)dev;
	switch (r->op) {
	case PBUS_CFG_READ:
		r->ret = vireo_pci_config_read(fn, (uint32_t)r->offset, r->size, &v32);
		r->value = v32;
		break;
	case PBUS_CFG_WRITE:
		r->ret = vireo_pci_config_write(fn, (uint32_t)r->offset, r->size,
						(uint32_t)r->value);
		break;
	case PBUS_BAR_READ:
		r->ret = vireo_pci_bar_read(fn, r->bar, r->offset, r->size, &r->value);
		break;
	case PBUS_BAR_WRITE:
		r->ret = vireo_pci_bar_write(fn, r->bar, r->offset, r->size, r->value);
		break;
	case PBUS_BAR_SIZE:
		r->ret = vireo_pci_bar_info(fn, r->bar, &r->value, &flags);
		break;
	}
}

/* One access on the device thread. Return: its result, or -EIO if the thread is gone. */
static int pbus_call(struct vireo_pci_bus *pb, struct pbus_req *r)
{
	int ret;

	r->pb = pb;
	ret = vdev_thread_call(&pb->thread, pbus_do_access, r);
	return ret < 0 ? ret : r->ret;
}

static int pbus_config_read(void *opaque, uint32_t offset, unsigned int size, uint32_t *value)
{
	struct pbus_req r = {.op = PBUS_CFG_READ, .offset = offset, .size = size};
	int ret = pbus_call(opaque, &r);

	*value = (uint32_t)r.value;
	return ret;
}

static int pbus_config_write(void *opaque, uint32_t offset, unsigned int size, uint32_t value)
{
	struct pbus_req r = {.op = PBUS_CFG_WRITE, .offset = offset, .size = size, .value = value};

	return pbus_call(opaque, &r);
}

static int pbus_bar_read(void *opaque, unsigned int bar, uint64_t offset, unsigned int size,
			 uint64_t *value)
{
	struct pbus_req r = {.op = PBUS_BAR_READ, .bar = bar, .offset = offset, .size = size};
	int ret = pbus_call(opaque, &r);

	*value = r.value;
	return ret;
}

/*
 * A kick in exactly the form the function accepts (its queue's slot, the negotiated width,
 * the queue's index) goes straight to the queue's notify eventfd on the caller's thread, as
 * KVM's ioeventfd does for a VMM: no trip to the function's thread. Return: true if sent.
 */
static bool pbus_notify_direct(struct vireo_pci_bus *pb, unsigned int bar, uint64_t offset,
			       unsigned int size, uint64_t value, int *ret)
{
	struct virtio_device *vd = __atomic_load_n(&pb->direct, __ATOMIC_ACQUIRE);
	uint64_t rel = offset - pb->notify_base;
	unsigned int width;

	if (!vd || bar != pb->notify_bar || offset < pb->notify_base || rel % pb->notify_stride ||
	    rel / pb->notify_stride >= pb->notify_queues)
		return false;
	width = virtio_has_feature(vd, VIRTIO_F_NOTIFICATION_DATA) ? 4 : 2;
	if (size != width || VIREO_NOTIFY_DATA_QUEUE(value) != rel / pb->notify_stride)
		return false;
	*ret = vireo_eventfd_signal_fd(
		vireo_pci_function_notify_fd(pb->fn, (unsigned int)(rel / pb->notify_stride)));
	return true;
}

static int pbus_bar_write(void *opaque, unsigned int bar, uint64_t offset, unsigned int size,
			  uint64_t value)
{
	struct pbus_req r = {
		.op = PBUS_BAR_WRITE, .bar = bar, .offset = offset, .size = size, .value = value};
	int ret;

	if (pbus_notify_direct(opaque, bar, offset, size, value, &ret))
		return ret;
	return pbus_call(opaque, &r);
}

static int pbus_bar_size(void *opaque, unsigned int bar, uint64_t *size)
{
	struct pbus_req r = {.op = PBUS_BAR_SIZE, .bar = bar};
	int ret = pbus_call(opaque, &r);

	*size = ret < 0 ? 0 : r.value;
	return ret;
}

/*
 * What the platform does for MSI-X (VFIO_DEVICE_SET_IRQS on real hardware): enable it in
 * the capability on the first vector, and unmask (or mask) that vector's table entry.
 */
static int pbus_set_vector_eventfd(void *opaque, unsigned int vector, int fd)
{
	struct vireo_pci_bus *pb = opaque;
	uint64_t ctrl_off = pb->table_offset + (uint64_t)vector * sizeof(struct vireo_msix_entry) +
			    offsetof(struct vireo_msix_entry, vector_control);
	uint32_t ctrl;
	int ret;

	if (vector >= PBUS_VECTORS || !pb->msix_pos)
		return -EINVAL;
	/* Release: pairs with the acquire in pbus_vector_signal(). */
	__atomic_store_n(&pb->vector_fd[vector], fd, __ATOMIC_RELEASE);
	if (fd >= 0 && !pb->msix_enabled) {
		ret = pbus_config_read(pb, pb->msix_pos + PCI_MSIX_FLAGS, 2, &ctrl);
		if (!ret)
			ret = pbus_config_write(pb, pb->msix_pos + PCI_MSIX_FLAGS, 2,
						(ctrl | PCI_MSIX_FLAGS_ENABLE) &
							~(uint32_t)PCI_MSIX_FLAGS_MASKALL);
		if (ret < 0)
			return ret;
		pb->msix_enabled = true;
	}
	return pbus_bar_write(pb, pb->table_bar, ctrl_off, 4,
			      fd >= 0 ? 0 : VIREO_MSIX_ENTRY_MASKED);
}

/* The function's interrupt: the eventfd the driver set for @vector (an irqfd, in effect). */
static int pbus_vector_signal(void *opaque, uint16_t vector)
{
	struct vireo_pci_bus *pb = opaque;
	int fd = __atomic_load_n(&pb->vector_fd[vector], __ATOMIC_ACQUIRE);

	return fd >= 0 ? vireo_eventfd_signal_fd(fd) : 0;
}

struct pbus_map {
	struct vireo_pci_bus *pb;
	void *vaddr;
	uint64_t iova, len;
	int ret;
};

static void pbus_do_map(struct vdev *dev, void *arg)
{
	struct pbus_map *m = arg;

	(void)dev;
	m->ret = vireo_guest_mem_add_region(&m->pb->mem, m->iova, m->len, m->vaddr);
}

static void pbus_do_unmap(struct vdev *dev, void *arg)
{
	struct pbus_map *m = arg;

	/* Nothing the model started may still point into the region. */
	vireo_vdev_quiesce(dev);
	m->ret = vireo_guest_mem_remove_region(&m->pb->mem, m->iova);
}

static int pbus_dma_map(void *opaque, void *vaddr, uint64_t iova, uint64_t len)
{
	struct pbus_map m = {.pb = opaque, .vaddr = vaddr, .iova = iova, .len = len};
	int ret = vdev_thread_call(&m.pb->thread, pbus_do_map, &m);

	return ret < 0 ? ret : m.ret;
}

static int pbus_dma_unmap(void *opaque, uint64_t iova, uint64_t len)
{
	struct pbus_map m = {.pb = opaque, .iova = iova, .len = len};
	int ret = vdev_thread_call(&m.pb->thread, pbus_do_unmap, &m);

	return ret < 0 ? ret : m.ret;
}

static const struct vireo_pci_access_ops pbus_access_ops = {
	.config_read = pbus_config_read,
	.config_write = pbus_config_write,
	.bar_read = pbus_bar_read,
	.bar_write = pbus_bar_write,
	.bar_size = pbus_bar_size,
	.set_vector_eventfd = pbus_set_vector_eventfd,
	.dma_map = pbus_dma_map,
	.dma_unmap = pbus_dma_unmap,
};

static const struct vireo_pci_host_ops pbus_host_ops = {
	.vector_signal = pbus_vector_signal,
};

/* ---- life cycle ---- */

struct pbus_attach {
	struct vireo_pci_bus *pb;
	const struct vireo_pci_function_options *opts;
	int ret;
};

/* Where each queue's kick lands (fixed for the function's life; the width is negotiated). */
static void pbus_find_notify(struct vireo_pci_bus *pb, unsigned int queues)
{
	unsigned int bar1, width;
	uint64_t off1;

	pb->notify_stride = 1;
	if (vireo_pci_notify_location(pb->fn, 0, &pb->notify_bar, &pb->notify_base, &width) < 0)
		return;
	if (queues > 1 && vireo_pci_notify_location(pb->fn, 1, &bar1, &off1, &width) == 0) {
		if (bar1 != pb->notify_bar || off1 <= pb->notify_base)
			return; /* not a plain array of slots: every kick takes the slow path */
		pb->notify_stride = off1 - pb->notify_base;
	}
	pb->notify_queues = queues;
}

static void pbus_do_attach(struct vdev *dev, void *arg)
{
	struct pbus_attach *a = arg;

	vireo_vdev_set_memory(dev, &a->pb->mem);
	vireo_vdev_set_event_loop(dev, &a->pb->thread.loop);
	a->pb->attached = true;
	a->ret = vireo_pci_function_new(dev, a->opts, &pbus_host_ops, a->pb, &a->pb->fn);
	if (a->ret == 0)
		pbus_find_notify(a->pb, dev->num_queues);
}

static void pbus_do_detach(struct vdev *dev, void *arg)
{
	struct vireo_pci_bus *pb = arg;

	vireo_pci_function_free(pb->fn);
	pb->fn = NULL;
	vireo_vdev_set_event_loop(dev, NULL);
	vireo_vdev_set_memory(dev, NULL);
}

/*
 * The firmware's part: memory decoding and bus mastering on; where the MSI-X table is.
 * Return: 0 or -errno.
 */
static int pbus_enable(struct vireo_pci_bus *pb)
{
	uint32_t pos, id, table, steps = 0;
	int ret = pbus_config_write(pb, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);

	if (ret < 0 || (ret = pbus_config_read(pb, PCI_CAPABILITY_LIST, 1, &pos)) < 0)
		return ret;
	/* Our own model: a short walk; bounded all the same. */
	while (pos >= 0x40 && pos < 0x100 && steps++ < 48 && !pb->msix_pos) {
		ret = pbus_config_read(pb, pos + PCI_CAP_LIST_ID, 1, &id);
		if (!ret && id == PCI_CAP_ID_MSIX &&
		    !(ret = pbus_config_read(pb, pos + PCI_MSIX_TABLE, 4, &table))) {
			pb->msix_pos = pos;
			pb->table_bar = table & PCI_MSIX_TABLE_BIR;
			pb->table_offset = table & PCI_MSIX_TABLE_OFFSET;
		}
		if (ret < 0 || (ret = pbus_config_read(pb, pos + PCI_CAP_LIST_NEXT, 1, &pos)) < 0)
			return ret;
		pos &= ~3u;
	}
	return 0;
}

void vireo_pci_bus_free(struct vireo_pci_bus *pb)
{
	if (!pb)
		return;
	__atomic_store_n(&pb->direct, NULL, __ATOMIC_RELEASE); /* the driver's device goes first */
	vireo_pci_device_free(pb->drv);
	if (pb->attached)
		(void)vdev_thread_call(&pb->thread, pbus_do_detach, pb);
	vdev_thread_stop(&pb->thread);
	free(pb);
}

int vireo_pci_bus_new(struct vireo_pci_bus **out, struct virtio_bus *bus, struct vdev *dev,
		      const struct vireo_pci_bus_options *opts)
{
	struct vireo_pci_bus_options none = {0};
	struct vireo_pci_bus *pb;
	struct pbus_attach a;
	unsigned int i;
	int ret;

	if (!opts)
		opts = &none;
	if (dev->device_id == 0)
		return -EINVAL; /* a placeholder would bind nothing */
	pb = calloc(1, sizeof(*pb));
	if (!pb)
		return -ENOMEM;
	for (i = 0; i < PBUS_VECTORS; i++)
		pb->vector_fd[i] = -1;
	vireo_guest_mem_init(&pb->mem);
	ret = vdev_thread_start(&pb->thread, dev);
	if (ret < 0) {
		free(pb);
		return ret;
	}
	a = (struct pbus_attach){.pb = pb, .opts = &opts->function};
	ret = vdev_thread_call(&pb->thread, pbus_do_attach, &a);
	if (!ret)
		ret = a.ret;
	if (!ret)
		ret = pbus_enable(pb);
	if (!ret)
		ret = vireo_pci_device_new(bus, &pbus_access_ops, pb, &opts->driver, &pb->drv);
	/* Release: pairs with the acquire in pbus_notify_direct() (threads kicking from now on). */
	if (!ret)
		__atomic_store_n(&pb->direct, vireo_pci_device_virtio_device(pb->drv),
				 __ATOMIC_RELEASE);
	if (ret < 0) {
		log_warn("virtio-pci bus: %s: %s", dev->name ? dev->name : "device",
			 strerror(-ret));
		vireo_pci_bus_free(pb);
		return ret;
	}
	*out = pb;
	return 0;
}

struct virtio_device *vireo_pci_bus_virtio_device(struct vireo_pci_bus *pb)
{
	return vireo_pci_device_virtio_device(pb->drv);
}

struct vireo_pci_device *vireo_pci_bus_driver(struct vireo_pci_bus *pb)
{
	return pb->drv;
}

struct vireo_pci_function *vireo_pci_bus_function(struct vireo_pci_bus *pb)
{
	return pb->fn;
}

int vireo_pci_bus_run_in_device(struct vireo_pci_bus *pb, void (*cb)(struct vdev *dev, void *arg),
				void *arg)
{
	return vdev_thread_call(&pb->thread, cb, arg);
}
