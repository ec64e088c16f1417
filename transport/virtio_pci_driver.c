// SPDX-License-Identifier: MIT
/*
 * The driver role over virtio-pci (virtio 1.2 §4.1): virtio_config_ops on the common
 * configuration structure of a checked capability layout (virtio_pci_caps.c), and the life
 * cycle (DMA arena mapped for the device, registration on the bus). Queues, notifications
 * and interrupts are in virtio_pci_vq.c.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vireo/log.h>
#include <vireo/spec.h>

#include "transport/virtio_pci_driver_internal.h"

#define CC(field) offsetof(struct vireo_pci_common_cfg, field)
#define VPCI_DEFAULT_RESET_MS 1000

/* Transport bits this driver implements when the device offers them (§6). */
#define VPCI_TRANSPORT_FEATURES                                                          \
	(VIRTIO_BIT(VIRTIO_F_ACCESS_PLATFORM) | VIRTIO_BIT(VIRTIO_F_NOTIFICATION_DATA) | \
	 VIRTIO_BIT(VIRTIO_F_NOTIF_CONFIG_DATA) | VIRTIO_BIT(VIRTIO_F_RING_RESET))

static struct vireo_pci_device *to_vpci(struct virtio_device *vdev)
{
	return vdev->transport;
}

void vpci_break(struct vireo_pci_device *d, const char *why)
{
	/* Relaxed: the flag carries no data; whoever sees it just fails. */
	if (!atomic_exchange_explicit(&d->broken, true, memory_order_relaxed))
		log_error("virtio-pci: %s; the device is broken", why);
}

bool vireo_pci_device_broken(const struct vireo_pci_device *d)
{
	return atomic_load_explicit(&d->broken, memory_order_relaxed);
}

uint64_t vpci_read(struct vireo_pci_device *d, const struct vpci_region *r, uint64_t off,
		   unsigned int size)
{
	uint64_t v = 0;

	if (vireo_pci_device_broken(d))
		return 0;
	if (d->ops->bar_read(d->opaque, r->bar, r->offset + off, size, &v) < 0) {
		vpci_break(d, "a BAR read failed");
		return 0;
	}
	return size == 8 ? v : v & ((1ull << (8 * size)) - 1);
}

void vpci_write(struct vireo_pci_device *d, const struct vpci_region *r, uint64_t off,
		unsigned int size, uint64_t value)
{
	if (vireo_pci_device_broken(d))
		return;
	if (d->ops->bar_write(d->opaque, r->bar, r->offset + off, size, value) < 0)
		vpci_break(d, "a BAR write failed");
}

/* A 64-bit common config field as two 32-bit halves, low first (§4.1.3.1). */
void vpci_write64(struct vireo_pci_device *d, uint64_t off, uint64_t value)
{
	vpci_write(d, &d->layout.common, off, 4, (uint32_t)value);
	vpci_write(d, &d->layout.common, off + 4, 4, value >> 32);
}

static int64_t vpci_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Read @size bytes at @off until they are 0, sleeping 1 µs, doubling up to 1 ms, for at most
 * the reset timeout: a device that never completes cannot hang us.
 * Return: true once read 0; false on timeout or a failed access.
 */
bool vpci_poll_until_zero(struct vireo_pci_device *d, const struct vpci_region *r, uint64_t off,
			  unsigned int size)
{
	int64_t deadline = vpci_now_us() + (int64_t)d->opt.reset_timeout_ms * 1000;
	long sleep_ns = 1000;

	for (;;) {
		if (vpci_read(d, r, off, size) == 0)
			return !vireo_pci_device_broken(d);
		if (vireo_pci_device_broken(d) || vpci_now_us() > deadline)
			return false;
		nanosleep(&(struct timespec){.tv_nsec = sleep_ns}, NULL);
		if (sleep_ns < 1000000)
			sleep_ns *= 2;
	}
}

/* ---- virtio_config_ops ---- */

/* R-PCI-04: 8-bit fields 8-bit, 16-bit aligned 16-bit, wider ones as aligned 32-bit. */
static unsigned int vpci_cfg_width(unsigned int offset, unsigned int left)
{
	if (left >= 4 && (offset & 3) == 0)
		return 4;
	if (left >= 2 && (offset & 1) == 0)
		return 2;
	return 1;
}

static bool vpci_cfg_range_ok(struct vireo_pci_device *d, unsigned int offset, unsigned int len)
{
	const struct vpci_region *r = &d->layout.device;

	return r->present && offset <= r->length && len <= r->length - offset;
}

static void vpci_get(struct virtio_device *vdev, unsigned int offset, void *buf, unsigned int len)
{
	struct vireo_pci_device *d = to_vpci(vdev);
	unsigned char *p = buf;
	unsigned int w;

	memset(buf, 0, len);
	if (!vpci_cfg_range_ok(d, offset, len)) {
		log_warn("virtio-pci: config read [%u, +%u) outside the device configuration",
			 offset, len);
		return;
	}
	for (; len; offset += w, p += w, len -= w) {
		uint64_t v;

		w = vpci_cfg_width(offset, len);
		v = vpci_read(d, &d->layout.device, offset, w);
		/* Little-endian host (x86_64): the register value is the field's bytes. */
		memcpy(p, &v, w);
	}
}

static void vpci_set(struct virtio_device *vdev, unsigned int offset, const void *buf,
		     unsigned int len)
{
	struct vireo_pci_device *d = to_vpci(vdev);
	const unsigned char *p = buf;
	unsigned int w;

	if (!vpci_cfg_range_ok(d, offset, len)) {
		log_warn("virtio-pci: config write [%u, +%u) outside the device configuration",
			 offset, len);
		return;
	}
	for (; len; offset += w, p += w, len -= w) {
		uint64_t v = 0;

		w = vpci_cfg_width(offset, len);
		memcpy(&v, p, w);
		vpci_write(d, &d->layout.device, offset, w, v);
	}
}

static uint32_t vpci_generation(struct virtio_device *vdev)
{
	struct vireo_pci_device *d = to_vpci(vdev);

	return (uint32_t)vpci_read(d, &d->layout.common, CC(config_generation), 1);
}

static uint8_t vpci_get_status(struct virtio_device *vdev)
{
	struct vireo_pci_device *d = to_vpci(vdev);
	uint8_t s = (uint8_t)vpci_read(d, &d->layout.common, CC(device_status), 1);

	/* §2.1.2: a device we cannot talk to any more is one that needs a reset. */
	return vireo_pci_device_broken(d) ? (uint8_t)(s | VIRTIO_STATUS_DEVICE_NEEDS_RESET) : s;
}

static void vpci_set_status(struct virtio_device *vdev, uint8_t status)
{
	struct vireo_pci_device *d = to_vpci(vdev);

	vpci_write(d, &d->layout.common, CC(device_status), 1, status);
}

/* R-PCI-11: after writing 0, wait until device_status reads 0 (bounded). */
static void vpci_reset(struct virtio_device *vdev)
{
	struct vireo_pci_device *d = to_vpci(vdev);

	vpci_write(d, &d->layout.common, CC(device_status), 1, 0);
	if (!vpci_poll_until_zero(d, &d->layout.common, CC(device_status), 1))
		vpci_break(d, "device_status never read 0 after a reset");
}

/* Offered bits 0-63 (@sel 0) or 64-127 (@sel 2) through device_feature_select (§4.1.4.3). */
static uint64_t vpci_read_features(struct vireo_pci_device *d, uint32_t sel)
{
	const struct vpci_region *c = &d->layout.common;
	uint64_t lo, hi;

	vpci_write(d, c, CC(device_feature_select), 4, sel);
	lo = vpci_read(d, c, CC(device_feature), 4);
	vpci_write(d, c, CC(device_feature_select), 4, sel + 1);
	hi = vpci_read(d, c, CC(device_feature), 4);
	return lo | hi << 32;
}

/* Read twice: a device whose offer changes under us is refused (it offers nothing). */
static uint64_t vpci_get_feature_word(struct virtio_device *vdev, uint32_t sel)
{
	struct vireo_pci_device *d = to_vpci(vdev);
	uint64_t a = vpci_read_features(d, sel), b = vpci_read_features(d, sel);

	if (a != b) {
		log_error("virtio-pci: device_feature %u-%u changed between two reads (0x%llx, "
			  "0x%llx): refused",
			  sel, sel + 1, (unsigned long long)a, (unsigned long long)b);
		return 0;
	}
	return a;
}

static uint64_t vpci_get_features(struct virtio_device *vdev)
{
	return vpci_get_feature_word(vdev, 0);
}

/* Bits 64-127: device_feature_select 2 and 3 (§2.2, §4.1.4.3). */
static uint64_t vpci_get_features_hi(struct virtio_device *vdev)
{
	return vpci_get_feature_word(vdev, 2);
}

/* The transport bits we can use with this layout, of those offered. */
static uint64_t vpci_transport_features(const struct vireo_pci_device *d, uint64_t offered)
{
	uint64_t f = offered & VPCI_TRANSPORT_FEATURES;

	/* queue_notif_config_data and queue_reset exist only in a long enough common config. */
	if (d->layout.common.length < CC(queue_reset))
		f &= ~VIRTIO_BIT(VIRTIO_F_NOTIF_CONFIG_DATA);
	if (d->layout.common.length < CC(admin_queue_index))
		f &= ~VIRTIO_BIT(VIRTIO_F_RING_RESET);
	/* A 32-bit notification must fit the notify structure (§4.1.4.4). */
	if (d->layout.notify.length < 4 || (d->layout.notify.offset & 3) ||
	    (d->layout.notify_off_multiplier & 3))
		f &= ~VIRTIO_BIT(VIRTIO_F_NOTIFICATION_DATA);
	return f;
}

/*
 * The bus's choice plus our transport bits, written through driver_feature_select. The offer
 * is read again: a device that changed it since get_features is refused.
 * Return: 0, -EPROTO (the offer changed), -EIO (an access failed).
 */
static int vpci_finalize_features(struct virtio_device *vdev)
{
	struct vireo_pci_device *d = to_vpci(vdev);
	const struct vpci_region *c = &d->layout.common;
	uint64_t offered = vpci_read_features(d, 0);
	uint64_t offered_hi = vpci_read_features(d, 2);
	uint32_t sel;

	if ((vdev->features & ~offered) != 0 || (vdev->features_hi & ~offered_hi) != 0) {
		log_error("virtio-pci: device_feature changed under the driver (now 0x%llx, "
			  "0x%llx accepted)",
			  (unsigned long long)offered, (unsigned long long)vdev->features);
		return -EPROTO;
	}
	vdev->features |= vpci_transport_features(d, offered);
	/* Select 2 and 3 (bits 64-127) only for a device that offers any of them. */
	for (sel = 0; sel < (offered_hi ? 4u : 2u); sel++) {
		vpci_write(d, c, CC(driver_feature_select), 4, sel);
		vpci_write(d, c, CC(driver_feature), 4,
			   vireo_feature_dword(vdev->features, vdev->features_hi, sel));
	}
	return vireo_pci_device_broken(d) ? -EIO : 0;
}

static const char *vpci_bus_name(struct virtio_device *vdev)
{
	(void)vdev;
	return "virtio-pci";
}

static const struct virtio_config_ops vpci_config_ops = {
	.get = vpci_get,
	.set = vpci_set,
	.generation = vpci_generation,
	.get_status = vpci_get_status,
	.set_status = vpci_set_status,
	.reset = vpci_reset,
	.get_features = vpci_get_features,
	.get_features_hi = vpci_get_features_hi,
	.finalize_features = vpci_finalize_features,
	.find_vqs = vpci_find_vqs,
	.del_vqs = vpci_del_vqs,
	.wait = vpci_wait,
	.bus_name = vpci_bus_name,
};

/* ---- life cycle ---- */

static void vpci_destroy(struct vireo_pci_device *d)
{
	vpci_del_vqs(&d->vdev);
	vpci_vectors_release(d);
	if (d->mapped && d->ops->dma_unmap)
		(void)d->ops->dma_unmap(d->opaque, d->arena.dma_base, d->arena.size);
	if (d->arena_ready)
		virtio_dma_arena_destroy(&d->arena);
	free(d);
}

static struct vireo_pci_device *vpci_alloc(const struct vireo_pci_access_ops *ops, void *opaque,
					   const struct vireo_pci_device_options *opt)
{
	struct vireo_pci_device *d = calloc(1, sizeof(*d));
	unsigned int i;

	if (!d)
		return NULL;
	d->ops = ops;
	d->opaque = opaque;
	d->vdev.transport = d;
	if (opt)
		d->opt = *opt;
	if (!d->opt.dma_bytes)
		d->opt.dma_bytes = VIREO_PCI_DEFAULT_DMA_BYTES;
	if (!d->opt.dma_base)
		d->opt.dma_base = VIREO_PCI_DEFAULT_DMA_BASE;
	if (!d->opt.queue_size)
		d->opt.queue_size = 256;
	if (d->opt.reset_timeout_ms <= 0)
		d->opt.reset_timeout_ms = VPCI_DEFAULT_RESET_MS;
	for (i = 0; i <= VIREO_PCI_MAX_QUEUES; i++)
		d->vector_fd[i] = -1;
	return d;
}

/* The arena, reachable by the device at its dma_base. Return: 0 or -errno. */
static int vpci_map_arena(struct vireo_pci_device *d)
{
	int ret = virtio_dma_arena_init(&d->arena, d->opt.dma_bytes, d->opt.dma_base);

	if (ret < 0)
		return ret;
	d->arena_ready = true;
	if (!d->ops->dma_map)
		return 0;
	ret = d->ops->dma_map(d->opaque, d->arena.base, d->arena.dma_base, d->arena.size);
	if (ret < 0) {
		log_error("virtio-pci: mapping the DMA arena at 0x%llx failed: %s",
			  (unsigned long long)d->arena.dma_base, strerror(-ret));
		return ret;
	}
	d->mapped = true;
	return 0;
}

int vireo_pci_device_new(struct virtio_bus *bus, const struct vireo_pci_access_ops *ops,
			 void *opaque, const struct vireo_pci_device_options *opt,
			 struct vireo_pci_device **out)
{
	struct vireo_pci_device *d;
	int ret;

	if (!ops || !ops->config_read || !ops->bar_read || !ops->bar_write)
		return -EINVAL;
	d = vpci_alloc(ops, opaque, opt);
	if (!d)
		return -ENOMEM;
	ret = vpci_caps_discover(ops, opaque, &d->layout);
	if (!ret)
		ret = vpci_map_arena(d);
	if (ret < 0)
		goto out_destroy;
	d->vdev.id.device = d->layout.virtio_id;
	d->vdev.id.vendor = VIREO_PCI_VENDOR_ID;
	d->vdev.config = &vpci_config_ops;
	d->vdev.transport = d;
	d->vdev.dma = &d->arena;
	ret = vireo_register_virtio_device(bus, &d->vdev);
	d->registered = true;
	/* An access that failed, or a reset that never completed, says more than the bus's no. */
	if (vireo_pci_device_broken(d))
		ret = -EIO;
	if (ret < 0) {
		log_warn("virtio-pci: device %04x:%04x: driver failed to bind: %s",
			 d->layout.vendor_id, d->layout.device_id, strerror(-ret));
		goto out_destroy;
	}
	*out = d;
	return 0;

out_destroy:
	if (d->registered)
		vireo_unregister_virtio_device(&d->vdev);
	vpci_destroy(d);
	return ret;
}

void vireo_pci_device_free(struct vireo_pci_device *d)
{
	if (!d)
		return;
	if (d->registered)
		vireo_unregister_virtio_device(&d->vdev);
	d->registered = false;
	vpci_destroy(d);
}

struct virtio_device *vireo_pci_device_virtio_device(struct vireo_pci_device *d)
{
	return &d->vdev;
}

unsigned int vireo_pci_device_interrupts(const struct vireo_pci_device *d)
{
	return d->nvectors;
}
