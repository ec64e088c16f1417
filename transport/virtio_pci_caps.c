// SPDX-License-Identifier: MIT
/*
 * virtio-pci capability discovery (virtio 1.2 §4.1.2 PCI Device Discovery, §4.1.4 Virtio
 * Structure PCI Capabilities): the ids, then a bounded walk of the capability list, then the
 * checks that make the four structures safe to use. The device is a peer: a list that loops,
 * a structure outside its BAR, overlapping structures, a too-short common config or a notify
 * multiplier the spec does not allow make us refuse the function, with one log line naming
 * the rule.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <vireo/log.h>
#include <vireo/spec.h>

#include "transport/virtio_pci_driver_internal.h"

/* Standard configuration space: capabilities live in [0x40, 0x100), 4-byte aligned. */
#define VPCI_CFG_SPACE 256u
#define VPCI_CAP_FIRST 0x40u
/* A capability takes at least 4 bytes, so no list holds more entries than this. */
#define VPCI_CAP_MAX ((VPCI_CFG_SPACE - VPCI_CAP_FIRST) / 4u)
#define VPCI_BAR_MAX 5u
/* Transitional device ids (§4.1.2): 0x1000..0x103f, type in the subsystem id. */
#define VPCI_TRANSITIONAL_FIRST 0x1000u
#define VPCI_TRANSITIONAL_LAST 0x103fu

struct vpci_walk {
	const struct vireo_pci_access_ops *ops;
	void *opaque;
	int err;
};

static uint32_t vpci_cfg(struct vpci_walk *w, uint32_t off, unsigned int size)
{
	uint32_t v = 0;
	int ret;

	if (w->err)
		return 0;
	ret = w->ops->config_read(w->opaque, off, size, &v);
	if (ret < 0) {
		log_error("virtio-pci: configuration space read at 0x%x failed: %s", off,
			  strerror(-ret));
		w->err = -EIO;
		return 0;
	}
	return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

/*
 * R-PCI-01/02/03: vendor 0x1af4, device 0x1040 + type, or a transitional id whose subsystem
 * id names the type; any revision. Return: 0 or -ENODEV.
 */
static int vpci_ids(struct vpci_walk *w, struct vpci_layout *l)
{
	l->vendor_id = (uint16_t)vpci_cfg(w, PCI_VENDOR_ID, 2);
	l->device_id = (uint16_t)vpci_cfg(w, PCI_DEVICE_ID, 2);
	if (w->err)
		return w->err;
	if (l->vendor_id != VIREO_PCI_VENDOR_ID) {
		log_error("virtio-pci: vendor id 0x%04x is not virtio's (0x%04x)", l->vendor_id,
			  VIREO_PCI_VENDOR_ID);
		return -ENODEV;
	}
	if (l->device_id >= VIREO_PCI_DEVICE_ID_BASE && l->device_id <= VIREO_PCI_DEVICE_ID_LAST)
		l->virtio_id = l->device_id - VIREO_PCI_DEVICE_ID_BASE;
	else if (l->device_id >= VPCI_TRANSITIONAL_FIRST && l->device_id <= VPCI_TRANSITIONAL_LAST)
		l->virtio_id = vpci_cfg(w, PCI_SUBSYSTEM_ID, 2);
	else
		l->virtio_id = 0;
	if (w->err)
		return w->err;
	if (l->virtio_id == 0) {
		log_error("virtio-pci: device id 0x%04x is not a virtio device", l->device_id);
		return -ENODEV;
	}
	return 0;
}

/* One vendor-specific capability at @pos (R-PCI-05/06: reserved types and BARs ignored). */
static void vpci_vendor_cap(struct vpci_walk *w, uint32_t pos, struct vpci_layout *l)
{
	uint32_t cap_len, type, bar;
	struct vpci_region *r = NULL;

	/* A capability too close to the end to hold the fields: no reads past 0xff. */
	if (pos > VPCI_CFG_SPACE - sizeof(struct vireo_pci_cap))
		return;
	cap_len = vpci_cfg(w, pos + 2, 1);
	type = vpci_cfg(w, pos + offsetof(struct vireo_pci_cap, cfg_type), 1);
	bar = vpci_cfg(w, pos + offsetof(struct vireo_pci_cap, bar), 1);
	if (cap_len < sizeof(struct vireo_pci_cap) || pos + cap_len > VPCI_CFG_SPACE ||
	    bar > VPCI_BAR_MAX)
		return;
	if (type == VIREO_PCI_CAP_COMMON_CFG)
		r = &l->common;
	else if (type == VIREO_PCI_CAP_ISR_CFG)
		r = &l->isr;
	else if (type == VIREO_PCI_CAP_DEVICE_CFG)
		r = &l->device;
	else if (type == VIREO_PCI_CAP_NOTIFY_CFG && cap_len >= sizeof(struct vireo_pci_notify_cap))
		r = &l->notify;
	/* §4.1.4: the first instance of each type we can use. */
	if (!r || r->present)
		return;
	r->present = true;
	r->bar = (uint8_t)bar;
	r->offset = vpci_cfg(w, pos + offsetof(struct vireo_pci_cap, offset), 4);
	r->length = vpci_cfg(w, pos + offsetof(struct vireo_pci_cap, length), 4);
	if (r == &l->notify)
		l->notify_off_multiplier = vpci_cfg(
			w, pos + offsetof(struct vireo_pci_notify_cap, notify_off_multiplier), 4);
}

/*
 * Walk the list: at most VPCI_CAP_MAX entries, each inside [0x40, 0x100) and visited once.
 * Return: 0, -ENODEV (no list, or a malformed one), -EIO.
 */
static int vpci_walk_caps(struct vpci_walk *w, struct vpci_layout *l)
{
	bool seen[VPCI_CFG_SPACE / 4] = {false};
	unsigned int steps = 0;
	uint32_t pos;

	if (!(vpci_cfg(w, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST)) {
		/* R-PCI-24: no capabilities: a legacy-only device; refused without touching it. */
		log_error("virtio-pci: the function has no capability list (a legacy device?)");
		return w->err ? w->err : -ENODEV;
	}
	pos = vpci_cfg(w, PCI_CAPABILITY_LIST, 1) & ~3u;
	while (pos && !w->err) {
		if (pos < VPCI_CAP_FIRST || pos > VPCI_CFG_SPACE - 4) {
			log_error("virtio-pci: capability pointer 0x%x outside [0x40, 0xfc]", pos);
			return -ENODEV;
		}
		if (seen[pos / 4] || ++steps > VPCI_CAP_MAX) {
			log_error("virtio-pci: the capability list loops (at 0x%x)", pos);
			return -ENODEV;
		}
		seen[pos / 4] = true;
		switch (vpci_cfg(w, pos + PCI_CAP_LIST_ID, 1)) {
		case PCI_CAP_ID_VNDR:
			vpci_vendor_cap(w, pos, l);
			break;
		case PCI_CAP_ID_MSIX:
			l->msix_table_size =
				(vpci_cfg(w, pos + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE) + 1u;
			break;
		default:
			break;
		}
		pos = vpci_cfg(w, pos + PCI_CAP_LIST_NEXT, 1) & ~3u;
	}
	return w->err;
}

/* @r lies inside its BAR (offset + length without overflow). Return: 0 or -ENODEV. */
static int vpci_check_in_bar(struct vpci_walk *w, const struct vpci_region *r, const char *what)
{
	uint64_t size = 0;
	int ret = w->ops->bar_size ? w->ops->bar_size(w->opaque, r->bar, &size) : -EOPNOTSUPP;

	if (ret < 0) {
		log_error("virtio-pci: %s: size of BAR %u unknown: %s", what, r->bar,
			  strerror(-ret));
		return -EIO;
	}
	if (r->offset > size || r->length > size - r->offset) {
		log_error("virtio-pci: %s structure [0x%llx, +0x%llx) is outside BAR %u (0x%llx "
			  "bytes)",
			  what, (unsigned long long)r->offset, (unsigned long long)r->length,
			  r->bar, (unsigned long long)size);
		return -ENODEV;
	}
	return 0;
}

static bool vpci_overlap(const struct vpci_region *a, const struct vpci_region *b)
{
	if (!a->present || !b->present || a->bar != b->bar)
		return false;
	return a->offset < b->offset + b->length && b->offset < a->offset + a->length;
}

/* Sizes and the notify rules (§4.1.4.3, §4.1.4.4). Return: 0 or -ENODEV. */
static int vpci_check_sizes(const struct vpci_layout *l)
{
	uint32_t m = l->notify_off_multiplier;

	if (l->common.length < VPCI_COMMON_MIN_LEN) {
		log_error("virtio-pci: common configuration is %llu bytes, at least %u are needed",
			  (unsigned long long)l->common.length, VPCI_COMMON_MIN_LEN);
		return -ENODEV;
	}
	/* dev:PCI/Common configuration and Device-specific configuration: 4-byte aligned. */
	if ((l->common.offset & 3) || (l->device.present && (l->device.offset & 3))) {
		log_error("virtio-pci: common (0x%llx) or device (0x%llx) configuration offset is "
			  "not 4-byte aligned",
			  (unsigned long long)l->common.offset,
			  (unsigned long long)l->device.offset);
		return -ENODEV;
	}
	if (l->isr.length < 1 || l->notify.length < 2) {
		log_error("virtio-pci: ISR (%llu bytes) or notification (%llu bytes) structure "
			  "too short",
			  (unsigned long long)l->isr.length, (unsigned long long)l->notify.length);
		return -ENODEV;
	}
	/* dev:PCI/Notification capability: 0, or an even power of 2; the offset 2-aligned. */
	if ((m != 0 && ((m & (m - 1)) != 0 || (m & 1) != 0)) || (l->notify.offset & 1)) {
		log_error("virtio-pci: notify_off_multiplier %u / notify offset 0x%llx not as "
			  "§4.1.4.4 requires",
			  m, (unsigned long long)l->notify.offset);
		return -ENODEV;
	}
	return 0;
}

/* Everything the driver needs is present, in its BAR, alone. Return: 0, -ENODEV, -EIO. */
static int vpci_check_layout(struct vpci_walk *w, struct vpci_layout *l)
{
	const struct vpci_region *r[] = {&l->common, &l->notify, &l->isr, &l->device};
	static const char *const names[] = {"common", "notify", "ISR", "device"};
	unsigned int i, j;
	int ret;

	if (l->device.present && l->device.length == 0)
		l->device.present = false;
	if (!l->common.present || !l->notify.present || !l->isr.present) {
		log_error("virtio-pci: missing capability:%s%s%s (a legacy device?)",
			  l->common.present ? "" : " COMMON", l->notify.present ? "" : " NOTIFY",
			  l->isr.present ? "" : " ISR");
		return -ENODEV;
	}
	for (i = 0; i < 4; i++) {
		if (!r[i]->present)
			continue;
		ret = vpci_check_in_bar(w, r[i], names[i]);
		if (ret < 0)
			return ret;
		for (j = i + 1; j < 4; j++) {
			if (vpci_overlap(r[i], r[j])) {
				log_error("virtio-pci: %s and %s structures overlap in BAR %u",
					  names[i], names[j], r[i]->bar);
				return -ENODEV;
			}
		}
	}
	return vpci_check_sizes(l);
}

int vpci_caps_discover(const struct vireo_pci_access_ops *ops, void *opaque,
		       struct vpci_layout *out)
{
	struct vpci_walk w = {.ops = ops, .opaque = opaque, .err = 0};
	int ret;

	memset(out, 0, sizeof(*out));
	ret = vpci_ids(&w, out);
	if (!ret)
		ret = vpci_walk_caps(&w, out);
	if (!ret)
		ret = vpci_check_layout(&w, out);
	return ret;
}
