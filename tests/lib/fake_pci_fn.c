// SPDX-License-Identifier: MIT
/*
 * The fake virtio-pci function of fake_pci_fn.h: just enough of a device to drive our
 * driver's register sequence and to misbehave on demand.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stddef.h>
#include <string.h>

#include <vireo/spec.h>

#include "tests/lib/fake_pci_fn.h"

#define CC(field) offsetof(struct vireo_pci_common_cfg, field)

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

void fake_pci_fn_set_cap(struct fake_pci_fn *f, uint32_t pos, uint8_t cap_len, uint8_t type,
			 uint8_t bar, uint32_t offset, uint32_t length, uint8_t next)
{
	f->cfg[pos] = PCI_CAP_ID_VNDR;
	f->cfg[pos + 1] = next;
	f->cfg[pos + 2] = cap_len;
	f->cfg[pos + 3] = type;
	f->cfg[pos + 4] = bar;
	put32(&f->cfg[pos + 8], offset);
	put32(&f->cfg[pos + 12], length);
}

void fake_pci_fn_init(struct fake_pci_fn *f, uint32_t virtio_id)
{
	unsigned int i;

	memset(f, 0, sizeof(*f));
	put16(&f->cfg[PCI_VENDOR_ID], VIREO_PCI_VENDOR_ID);
	put16(&f->cfg[PCI_DEVICE_ID], (uint16_t)(VIREO_PCI_DEVICE_ID_BASE + virtio_id));
	put16(&f->cfg[PCI_STATUS], PCI_STATUS_CAP_LIST);
	f->cfg[PCI_REVISION_ID] = 1;
	f->cfg[PCI_CAPABILITY_LIST] = FPCI_CAP_COMMON;
	fake_pci_fn_set_cap(f, FPCI_CAP_COMMON, 16, VIREO_PCI_CAP_COMMON_CFG, 0, FPCI_COMMON_OFF,
			    sizeof(struct vireo_pci_common_cfg), FPCI_CAP_NOTIFY);
	fake_pci_fn_set_cap(f, FPCI_CAP_NOTIFY, 20, VIREO_PCI_CAP_NOTIFY_CFG, 0, FPCI_NOTIFY_OFF,
			    0x100, FPCI_CAP_ISR);
	put32(&f->cfg[FPCI_CAP_NOTIFY + 16], FPCI_NOTIFY_MULT);
	fake_pci_fn_set_cap(f, FPCI_CAP_ISR, 16, VIREO_PCI_CAP_ISR_CFG, 0, FPCI_ISR_OFF, 1,
			    FPCI_CAP_DEVICE);
	fake_pci_fn_set_cap(f, FPCI_CAP_DEVICE, 16, VIREO_PCI_CAP_DEVICE_CFG, 0, FPCI_DEVICE_OFF,
			    FPCI_DEVICE_LEN, FPCI_CAP_MSIX);
	f->cfg[FPCI_CAP_MSIX] = PCI_CAP_ID_MSIX;
	f->cfg[FPCI_CAP_MSIX + 1] = 0;
	put16(&f->cfg[FPCI_CAP_MSIX + PCI_MSIX_FLAGS], FPCI_MAX_VECTORS - 1);
	f->bar_size[0] = FPCI_BAR0_SIZE;
	f->device_features = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	f->num_queues = FPCI_QUEUES;
	f->config_msix = VIREO_PCI_MSI_NO_VECTOR;
	f->max_vector = FPCI_MAX_VECTORS;
	for (i = 0; i < FPCI_QUEUES; i++) {
		f->q[i].max = f->q[i].size = 256;
		f->q[i].msix = VIREO_PCI_MSI_NO_VECTOR;
		f->q[i].notify_off = (uint16_t)i;
		f->q[i].notif_data = (uint16_t)(0x100 + i);
	}
	for (i = 0; i < FPCI_MAX_VECTORS; i++)
		f->vector_fd[i] = -1;
	for (i = 0; i < FPCI_DEVICE_LEN; i++)
		f->device_cfg[i] = (uint8_t)(0xa0 + i);
}

/* ---- configuration space ---- */

static int fpci_config_read(void *opaque, uint32_t offset, unsigned int size, uint32_t *value)
{
	struct fake_pci_fn *f = opaque;
	unsigned int i;

	if (f->fail_accesses)
		return -EIO;
	if ((size != 1 && size != 2 && size != 4) || offset > 256 - size)
		return -EINVAL;
	*value = 0;
	for (i = 0; i < size; i++)
		*value |= (uint32_t)f->cfg[offset + i] << (8 * i);
	return 0;
}

static int fpci_config_write(void *opaque, uint32_t offset, unsigned int size, uint32_t value)
{
	struct fake_pci_fn *f = opaque;

	(void)offset;
	(void)size;
	(void)value;
	f->config_writes++;
	return 0;
}

/* ---- common configuration ---- */

static struct fpci_queue *fpci_sel(struct fake_pci_fn *f)
{
	return f->queue_select < FPCI_QUEUES ? &f->q[f->queue_select] : NULL;
}

static unsigned int fpci_field_width(uint64_t off)
{
	if (off < CC(config_msix_vector))
		return 4;
	if (off == CC(device_status) || off == CC(config_generation))
		return 1;
	if (off >= CC(queue_desc) && off < CC(queue_notif_config_data))
		return 4; /* 64-bit fields as 32-bit halves */
	return 2;
}

static uint64_t fpci_common_read(struct fake_pci_fn *f, uint64_t off)
{
	struct fpci_queue *q = fpci_sel(f);

	switch (off) {
	case CC(device_feature_select):
		return f->dfeat_sel;
	case CC(device_feature): {
		uint64_t feats = f->device_features;

		if (f->features_flip && f->dfeat_sel == 0)
			feats ^= (uint64_t)(f->feature_reads++ & 1) << 5;
		return f->dfeat_sel == 0 ? (uint32_t)feats : f->dfeat_sel == 1 ? feats >> 32 : 0;
	}
	case CC(driver_feature_select):
		return f->gfeat_sel;
	case CC(config_msix_vector):
		return f->config_msix;
	case CC(num_queues):
		return f->num_queues;
	case CC(device_status):
		if (f->status == 0 && f->status_zero_after != 0 &&
		    (f->status_zero_after < 0 || f->status_reads++ < f->status_zero_after))
			return VIRTIO_STATUS_ACKNOWLEDGE; /* still resetting */
		return f->status;
	case CC(config_generation):
		if (f->generation_churn)
			f->generation++;
		return f->generation;
	case CC(queue_select):
		return f->queue_select;
	default:
		break;
	}
	if (!q)
		return 0;
	switch (off) {
	case CC(queue_size):
		return q->size;
	case CC(queue_msix_vector):
		return q->msix;
	case CC(queue_enable):
		return q->enable;
	case CC(queue_notify_off):
		return q->notify_off;
	case CC(queue_notif_config_data):
		return q->notif_data;
	case CC(queue_reset):
		if (q->reset && f->queue_reset_reads >= 0 && f->queue_reset_reads-- == 0) {
			q->reset = 0;
			q->enable = 0;
		}
		return q->reset;
	default:
		return 0;
	}
}

static bool fpci_is_read_only(uint64_t off)
{
	return off == CC(device_feature) || off == CC(num_queues) || off == CC(config_generation) ||
	       off == CC(queue_notify_off) || off == CC(queue_notif_config_data);
}

static void fpci_status_write(struct fake_pci_fn *f, uint8_t v)
{
	unsigned int i;

	if (f->nstatus_writes < 16)
		f->status_writes[f->nstatus_writes++] = v;
	/* R-PCI-11: nothing but 0 before the reset was seen to complete. */
	if (v != 0 && f->status == 0 && f->status_zero_after > 0 &&
	    f->status_reads <= f->status_zero_after)
		f->violations++;
	/* drv:BF/Device Status Field: bits only accumulate until a reset (0). */
	if (v != 0 && (v & f->status) != f->status)
		f->violations++;
	f->status = v;
	if (v != 0)
		return;
	f->status_reads = 0;
	f->driver_features = 0;
	f->config_msix = VIREO_PCI_MSI_NO_VECTOR;
	for (i = 0; i < FPCI_QUEUES; i++) {
		f->q[i].enable = 0;
		f->q[i].size = f->q[i].max;
		f->q[i].msix = VIREO_PCI_MSI_NO_VECTOR;
	}
}

static uint16_t fpci_vector(const struct fake_pci_fn *f, uint64_t v)
{
	return v < f->max_vector ? (uint16_t)v : VIREO_PCI_MSI_NO_VECTOR;
}

/* R-PCI-09: the size the driver writes: non-zero, <= max, a power of 2 for split rings. */
static void fpci_queue_size_write(struct fake_pci_fn *f, struct fpci_queue *q, uint64_t v)
{
	bool packed = (f->driver_features & VIRTIO_BIT(VIRTIO_F_RING_PACKED)) != 0;

	if (v == 0 || v > q->max || (!packed && (v & (v - 1))))
		f->violations++;
	q->size = (uint16_t)v;
}

static void fpci_queue_write(struct fake_pci_fn *f, uint64_t off, uint64_t v)
{
	struct fpci_queue *q = fpci_sel(f);
	uint64_t *field;

	if (!q) {
		f->violations++;
		return;
	}
	if (off == CC(queue_reset)) {
		q->reset = (uint16_t)v;
		return;
	}
	/* R-PCI-10/12: fields before queue_enable; enable only ever 1. */
	if (q->enable || (off == CC(queue_enable) && v != 1))
		f->violations++;
	if (off == CC(queue_size))
		fpci_queue_size_write(f, q, v);
	else if (off == CC(queue_msix_vector))
		q->msix = fpci_vector(f, v);
	else if (off == CC(queue_enable))
		q->enable = (uint16_t)v;
	if (off < CC(queue_desc) || off >= CC(queue_notif_config_data))
		return;
	field = off < CC(queue_driver)	 ? &q->desc
		: off < CC(queue_device) ? &q->driver
					 : &q->device;
	if ((off & 7) == 0)
		*field = (*field & ~0xffffffffull) | v;
	else
		*field = (*field & 0xffffffffull) | v << 32;
}

static void fpci_common_write(struct fake_pci_fn *f, uint64_t off, uint64_t v)
{
	if (fpci_is_read_only(off)) {
		f->violations++; /* R-PCI-08 */
		return;
	}
	switch (off) {
	case CC(device_feature_select):
		f->dfeat_sel = (uint32_t)v;
		return;
	case CC(driver_feature_select):
		f->gfeat_sel = (uint32_t)v;
		return;
	case CC(driver_feature):
		if (f->gfeat_sel < 2) {
			unsigned int sh = 32 * f->gfeat_sel;

			f->driver_features &= ~(0xffffffffull << sh);
			f->driver_features |= v << sh;
		}
		return;
	case CC(config_msix_vector):
		f->config_msix = fpci_vector(f, v);
		return;
	case CC(device_status):
		fpci_status_write(f, (uint8_t)v);
		return;
	case CC(queue_select):
		f->queue_select = (uint16_t)v;
		return;
	default:
		fpci_queue_write(f, off, v);
	}
}

/* ---- BAR 0 ---- */

static int fpci_bar_check(struct fake_pci_fn *f, unsigned int bar, uint64_t offset,
			  unsigned int size)
{
	if (f->fail_accesses)
		return -EIO;
	if (bar != 0 || offset > FPCI_BAR0_SIZE || size > FPCI_BAR0_SIZE - offset)
		return -EINVAL;
	/* R-PCI-04: every access naturally aligned. */
	if (offset & (size - 1))
		f->violations++;
	return 0;
}

static int fpci_bar_read(void *opaque, unsigned int bar, uint64_t offset, unsigned int size,
			 uint64_t *value)
{
	struct fake_pci_fn *f = opaque;
	int ret = fpci_bar_check(f, bar, offset, size);
	unsigned int i;

	if (ret < 0)
		return ret;
	*value = 0;
	if (offset < FPCI_COMMON_OFF + sizeof(struct vireo_pci_common_cfg)) {
		if (size != fpci_field_width(offset))
			f->violations++;
		*value = fpci_common_read(f, offset);
	} else if (offset == FPCI_ISR_OFF) {
		*value = f->isr;
		f->isr = 0;
	} else if (offset >= FPCI_DEVICE_OFF &&
		   offset + size <= FPCI_DEVICE_OFF + FPCI_DEVICE_LEN) {
		for (i = 0; i < size; i++)
			*value |= (uint64_t)f->device_cfg[offset - FPCI_DEVICE_OFF + i] << (8 * i);
	}
	return 0;
}

static int fpci_bar_write(void *opaque, unsigned int bar, uint64_t offset, unsigned int size,
			  uint64_t value)
{
	struct fake_pci_fn *f = opaque;
	int ret = fpci_bar_check(f, bar, offset, size);
	struct fpci_write w = {.offset = offset, .size = size, .value = value};

	if (ret < 0)
		return ret;
	if (offset >= FPCI_NOTIFY_OFF) {
		if (f->nnotifies < 16)
			f->notifies[f->nnotifies++] = w;
		return 0;
	}
	if (offset >= FPCI_DEVICE_OFF) {
		if (offset + size <= FPCI_DEVICE_OFF + FPCI_DEVICE_LEN)
			memcpy(&f->device_cfg[offset - FPCI_DEVICE_OFF], &value, size);
		return 0;
	}
	if (offset >= sizeof(struct vireo_pci_common_cfg))
		return 0;
	if (size != fpci_field_width(offset))
		f->violations++;
	if (f->nwrites < FPCI_MAX_WRITES)
		f->writes[f->nwrites++] = w;
	fpci_common_write(f, offset, value);
	return 0;
}

static int fpci_bar_size(void *opaque, unsigned int bar, uint64_t *size)
{
	struct fake_pci_fn *f = opaque;

	if (bar > 5)
		return -EINVAL;
	*size = f->bar_size[bar];
	return 0;
}

static int fpci_set_vector_eventfd(void *opaque, unsigned int vector, int fd)
{
	struct fake_pci_fn *f = opaque;

	if (vector >= FPCI_MAX_VECTORS)
		return -EINVAL;
	f->vector_fd[vector] = fd;
	return 0;
}

static int fpci_dma_map(void *opaque, void *vaddr, uint64_t iova, uint64_t len)
{
	struct fake_pci_fn *f = opaque;

	(void)vaddr;
	f->mapped_iova = iova;
	f->mapped_len = len;
	return 0;
}

static int fpci_dma_unmap(void *opaque, uint64_t iova, uint64_t len)
{
	struct fake_pci_fn *f = opaque;

	if (iova == f->mapped_iova && len == f->mapped_len)
		f->mapped_len = 0;
	return 0;
}

const struct vireo_pci_access_ops fake_pci_fn_ops = {
	.config_read = fpci_config_read,
	.config_write = fpci_config_write,
	.bar_read = fpci_bar_read,
	.bar_write = fpci_bar_write,
	.bar_size = fpci_bar_size,
	.set_vector_eventfd = fpci_set_vector_eventfd,
	.dma_map = fpci_dma_map,
	.dma_unmap = fpci_dma_unmap,
};

bool fake_pci_fn_enable_last(const struct fake_pci_fn *f, unsigned int q)
{
	unsigned int i, sel = 0xffff, fields = 0;
	bool enabled = false;

	for (i = 0; i < f->nwrites; i++) {
		uint64_t off = f->writes[i].offset;

		if (off == CC(queue_select)) {
			sel = (unsigned int)f->writes[i].value;
			continue;
		}
		if (sel != q || off < CC(queue_size) || off == CC(queue_reset))
			continue;
		if (enabled)
			return false;
		if (off == CC(queue_enable))
			enabled = fields == 6; /* desc, driver, device: two halves each */
		else if (off >= CC(queue_desc) && off < CC(queue_notif_config_data))
			fields++;
	}
	return enabled;
}
