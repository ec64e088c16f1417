// SPDX-License-Identifier: MIT
/*
 * The virtio-pci function model (virtio 1.2 §4.1): PCI configuration space (header,
 * capability list, BAR registers and their sizing, command register), the PCI_CFG access
 * window, and the dispatch of BAR accesses to the structures of BAR 0 (common config,
 * ISR, device config, notify) and BAR 2 (MSI-X). Layout and threading: see
 * include/vireo/virtio_pci_function.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/pci_regs.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vireo/log.h>
#include <vireo/virtio_pci_function.h>

#include "transport/virtio_pci_internal.h"

/* Class codes (base class, subclass) as QEMU's virtio-pci gives each device type. */
#define PCI_FN_CLASS_STORAGE_SCSI 0x0100u
#define PCI_FN_CLASS_NETWORK_ETHERNET 0x0200u
#define PCI_FN_CLASS_COMMUNICATION_OTHER 0x0780u
#define PCI_FN_CLASS_OTHERS 0xff00u

/* Where the capability list starts (the header ends at 0x40). */
#define PCI_FN_CAP_START 0x40u
#define PCI_FN_MSIX_CAP_LEN 12u

/* Command register bits the driver may set: no I/O BARs, so no I/O space enable. */
#define PCI_FN_COMMAND_WRITABLE                                                            \
	(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY | PCI_COMMAND_SERR | \
	 PCI_COMMAND_INTX_DISABLE)

static uint16_t pci_fn_class_code(uint32_t device_id)
{
	switch (device_id) {
	case VIRTIO_ID_BLOCK:
		return PCI_FN_CLASS_STORAGE_SCSI;
	case VIRTIO_ID_NET:
		return PCI_FN_CLASS_NETWORK_ETHERNET;
	case VIRTIO_ID_CONSOLE:
		return PCI_FN_CLASS_COMMUNICATION_OTHER;
	default:
		return PCI_FN_CLASS_OTHERS;
	}
}

bool pci_fn_warn_ok(struct vireo_pci_function *fn)
{
	if (fn->warnings < PCI_FN_WARN_LIMIT) {
		fn->warnings++;
		return true;
	}
	/* Counted up to one past the limit, no further: a wrapped count would log again. */
	if (fn->warnings == PCI_FN_WARN_LIMIT) {
		fn->warnings++;
		log_warn("%s: pci: %u refusals logged; further ones are not", fn->dev->name,
			 PCI_FN_WARN_LIMIT);
	}
	return false;
}

uint16_t pci_fn_command(const struct vireo_pci_function *fn)
{
	return (uint16_t)pci_fn_get_le(&fn->config[PCI_COMMAND], 2);
}

/* D-PCI-27: the Interrupt Status bit is the OR of the ISR bits while INTx is in use. */
void pci_fn_update_interrupt_status(struct vireo_pci_function *fn)
{
	bool pending = fn->isr != 0 && !pci_fn_msix_enabled(fn);
	bool assert = pending && !(pci_fn_command(fn) & PCI_COMMAND_INTX_DISABLE);

	if (pending)
		fn->config[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
	else
		fn->config[PCI_STATUS] &= (uint8_t)~PCI_STATUS_INTERRUPT;
	if (assert == fn->intx_asserted)
		return;
	fn->intx_asserted = assert;
	if (fn->host.intx_set)
		fn->host.intx_set(fn->opaque, assert);
}

/* Set bytes [@off, @off + @size) to @value and their driver-writable bits to @wmask. */
static void pci_fn_cfg_init(struct vireo_pci_function *fn, uint32_t off, unsigned int size,
			    uint64_t value, uint64_t wmask)
{
	pci_fn_put_le(&fn->config[off], size, value);
	pci_fn_put_le(&fn->wmask[off], size, wmask);
}

/* A vendor capability (§4.1.4) at @off; Return: its length. */
static uint8_t pci_fn_add_vendor_cap(struct vireo_pci_function *fn, uint8_t off, uint8_t len,
				     uint8_t type, uint32_t offset, uint32_t length)
{
	/* D-PCI-05: cap_len covers the extra fields (notify multiplier, window data). */
	pci_fn_cfg_init(fn, off + offsetof(struct vireo_pci_cap, cap_vndr), 1, PCI_CAP_ID_VNDR, 0);
	pci_fn_cfg_init(fn, off + offsetof(struct vireo_pci_cap, cap_len), 1, len, 0);
	pci_fn_cfg_init(fn, off + offsetof(struct vireo_pci_cap, cfg_type), 1, type, 0);
	pci_fn_cfg_init(fn, off + offsetof(struct vireo_pci_cap, bar), 1,
			VIREO_PCI_FUNCTION_VIRTIO_BAR, 0);
	pci_fn_cfg_init(fn, off + offsetof(struct vireo_pci_cap, offset), 4, offset, 0);
	pci_fn_cfg_init(fn, off + offsetof(struct vireo_pci_cap, length), 4, length, 0);
	return len;
}

/* Chain capability @off after @prev (0: it is the first). */
static void pci_fn_link_cap(struct vireo_pci_function *fn, uint8_t prev, uint8_t off)
{
	if (prev)
		fn->config[prev + 1] = off;
	else
		fn->config[PCI_CAPABILITY_LIST] = off;
}

static void pci_fn_build_caps(struct vireo_pci_function *fn)
{
	uint32_t notify_len = fn->dev->num_queues * PCI_FN_NOTIFY_MULTIPLIER;
	uint8_t off = PCI_FN_CAP_START, prev;
	uint8_t cfg_data = offsetof(struct vireo_pci_cfg_cap, pci_cfg_data);

	/* MSI-X: Table Size is N-1; function mask and enable are the driver's (PCI 3.0 §6.8.2). */
	fn->msix_cap = off;
	pci_fn_cfg_init(fn, off, 1, PCI_CAP_ID_MSIX, 0);
	pci_fn_cfg_init(fn, off + PCI_MSIX_FLAGS, 2, fn->msix_vectors - 1,
			PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	pci_fn_cfg_init(fn, off + PCI_MSIX_TABLE, 4, VIREO_PCI_FUNCTION_MSIX_BAR, 0);
	pci_fn_cfg_init(fn, off + PCI_MSIX_PBA, 4,
			fn->msix_pba_offset | VIREO_PCI_FUNCTION_MSIX_BAR, 0);
	pci_fn_link_cap(fn, 0, off);
	prev = off;
	off += 16;
	/* D-PCI-06/07: common config at a 4-aligned offset. */
	pci_fn_link_cap(fn, prev, off);
	prev = off;
	off += pci_fn_add_vendor_cap(fn, off, sizeof(struct vireo_pci_cap),
				     VIREO_PCI_CAP_COMMON_CFG, PCI_FN_COMMON_OFFSET,
				     PCI_FN_COMMON_LEN);
	/* D-PCI-19/21/23: one 4-byte slot per queue; the area ends after the last one. */
	pci_fn_link_cap(fn, prev, off);
	prev = off;
	pci_fn_add_vendor_cap(fn, off, sizeof(struct vireo_pci_notify_cap),
			      VIREO_PCI_CAP_NOTIFY_CFG, PCI_FN_NOTIFY_OFFSET, notify_len);
	pci_fn_cfg_init(fn, off + offsetof(struct vireo_pci_notify_cap, notify_off_multiplier), 4,
			PCI_FN_NOTIFY_MULTIPLIER, 0);
	off += sizeof(struct vireo_pci_notify_cap);
	/* D-PCI-24 */
	pci_fn_link_cap(fn, prev, off);
	prev = off;
	off += pci_fn_add_vendor_cap(fn, off, sizeof(struct vireo_pci_cap), VIREO_PCI_CAP_ISR_CFG,
				     PCI_FN_ISR_OFFSET, PCI_FN_ISR_LEN);
	/* D-PCI-29/30: only a type with device-specific config has one. */
	if (fn->dev->config_size) {
		pci_fn_link_cap(fn, prev, off);
		prev = off;
		off += pci_fn_add_vendor_cap(fn, off, sizeof(struct vireo_pci_cap),
					     VIREO_PCI_CAP_DEVICE_CFG, PCI_FN_DEVICE_OFFSET,
					     fn->dev->config_size);
	}
	/* D-PCI-35: the window; bar, offset, length and data are the driver's to write. */
	pci_fn_link_cap(fn, prev, off);
	fn->pci_cfg_cap = off;
	pci_fn_add_vendor_cap(fn, off, sizeof(struct vireo_pci_cfg_cap), VIREO_PCI_CAP_PCI_CFG, 0,
			      0);
	fn->wmask[off + offsetof(struct vireo_pci_cap, bar)] = 0xff;
	pci_fn_put_le(&fn->wmask[off + offsetof(struct vireo_pci_cap, offset)], 4, 0xffffffffu);
	pci_fn_put_le(&fn->wmask[off + offsetof(struct vireo_pci_cap, length)], 4, 0xffffffffu);
	pci_fn_put_le(&fn->wmask[off + cfg_data], 4, 0xffffffffu);
}

/* The type 0 header (PCI 3.0 §6.2) of a non-transitional virtio device (§4.1.2). */
static void pci_fn_build_header(struct vireo_pci_function *fn,
				const struct vireo_pci_function_options *opts)
{
	uint32_t device_id = fn->dev->device_id;
	uint16_t subsys_vendor =
		opts->subsystem_vendor ? opts->subsystem_vendor : VIREO_PCI_VENDOR_ID;
	uint16_t subsys_id = opts->subsystem_id
				     ? opts->subsystem_id
				     : (uint16_t)(VIREO_PCI_SUBSYSTEM_ID_MIN + device_id);
	uint64_t bar0_mask = ~(uint64_t)(fn->bar_size[VIREO_PCI_FUNCTION_VIRTIO_BAR] - 1);
	uint32_t bar2_mask = ~(uint32_t)(fn->bar_size[VIREO_PCI_FUNCTION_MSIX_BAR] - 1);

	/* D-PCI-02/03, §4.1.2.1: revision 1 and subsystem ID >= 0x40 for non-transitional. */
	pci_fn_cfg_init(fn, PCI_VENDOR_ID, 2, VIREO_PCI_VENDOR_ID, 0);
	pci_fn_cfg_init(fn, PCI_DEVICE_ID, 2, VIREO_PCI_DEVICE_ID_BASE + device_id, 0);
	pci_fn_cfg_init(fn, PCI_COMMAND, 2, 0, PCI_FN_COMMAND_WRITABLE);
	pci_fn_cfg_init(fn, PCI_STATUS, 2, PCI_STATUS_CAP_LIST, 0);
	pci_fn_cfg_init(fn, PCI_REVISION_ID, 1, VIREO_PCI_REVISION_ID, 0);
	pci_fn_cfg_init(fn, PCI_CLASS_DEVICE, 2, pci_fn_class_code(device_id), 0);
	pci_fn_cfg_init(fn, PCI_CACHE_LINE_SIZE, 1, 0, 0xff);
	pci_fn_cfg_init(fn, PCI_LATENCY_TIMER, 1, 0, 0xff);
	pci_fn_cfg_init(fn, PCI_HEADER_TYPE, 1, PCI_HEADER_TYPE_NORMAL, 0);
	/* BAR sizing: the address bits below the size are read-only zeroes. */
	pci_fn_cfg_init(fn, PCI_BASE_ADDRESS_0, 4, PCI_BASE_ADDRESS_MEM_TYPE_64,
			(uint32_t)bar0_mask & PCI_BASE_ADDRESS_MEM_MASK);
	pci_fn_cfg_init(fn, PCI_BASE_ADDRESS_1, 4, 0, bar0_mask >> 32);
	pci_fn_cfg_init(fn, PCI_BASE_ADDRESS_2, 4, PCI_BASE_ADDRESS_MEM_TYPE_32,
			bar2_mask & PCI_BASE_ADDRESS_MEM_MASK);
	pci_fn_cfg_init(fn, PCI_SUBSYSTEM_VENDOR_ID, 2, subsys_vendor, 0);
	pci_fn_cfg_init(fn, PCI_SUBSYSTEM_ID, 2, subsys_id, 0);
	pci_fn_cfg_init(fn, PCI_INTERRUPT_LINE, 1, 0, 0xff);
	pci_fn_cfg_init(fn, PCI_INTERRUPT_PIN, 1, 1, 0); /* INTA# */
}

static int pci_fn_check_options(const struct vdev *dev, const struct vireo_pci_function_options *o)
{
	if (!dev->mem || !dev->loop) {
		log_warn("%s: pci: the device needs its guest memory and event loop set",
			 dev->name);
		return -EINVAL;
	}
	if (VIREO_PCI_DEVICE_ID_BASE + dev->device_id > VIREO_PCI_DEVICE_ID_LAST ||
	    dev->config_size > PCI_FN_DEVICE_MAX) {
		log_warn("%s: pci: device type %u or config size %u does not fit", dev->name,
			 dev->device_id, dev->config_size);
		return -EINVAL;
	}
	if (o->msix_vectors > VIREO_PCI_FUNCTION_MAX_VECTORS) {
		log_warn("%s: pci: %u MSI-X vectors, at most %u", dev->name, o->msix_vectors,
			 VIREO_PCI_FUNCTION_MAX_VECTORS);
		return -EINVAL;
	}
	return 0;
}

int vireo_pci_function_new(struct vdev *dev, const struct vireo_pci_function_options *opts,
			   const struct vireo_pci_host_ops *host, void *opaque,
			   struct vireo_pci_function **out)
{
	static const struct vireo_pci_function_options defaults;
	struct vireo_pci_function *fn;
	unsigned int vectors;
	int ret;

	if (!opts)
		opts = &defaults;
	ret = pci_fn_check_options(dev, opts);
	if (ret < 0)
		return ret;
	fn = calloc(1, sizeof(*fn));
	if (!fn)
		return -ENOMEM;
	fn->dev = dev;
	fn->opaque = opaque;
	if (host)
		fn->host = *host;
	fn->config_fd = -1;
	for (unsigned int i = 0; i < VDEV_MAX_QUEUES; i++)
		fn->queues[i].notify_fd = fn->queues[i].call_fd = -1;
	vectors = opts->msix_vectors ? opts->msix_vectors : dev->num_queues + 1;
	ret = pci_fn_msix_init(fn, vectors);
	if (ret < 0)
		goto out_free;
	fn->bar_size[VIREO_PCI_FUNCTION_VIRTIO_BAR] = PCI_FN_VIRTIO_BAR_SIZE;
	fn->bar_size[VIREO_PCI_FUNCTION_MSIX_BAR] = pci_fn_msix_bar_size(fn);
	pci_fn_build_header(fn, opts);
	pci_fn_build_caps(fn);
	/*
	 * Transport features the function implements itself (§6: RING_RESET through
	 * queue_reset, NOTIFICATION_DATA in the notify area); taken back at free.
	 */
	vireo_vdev_reset(dev);
	fn->added_features = PCI_FN_TRANSPORT_FEATURES & ~dev->offered_features;
	dev->offered_features |= fn->added_features;
	pci_fn_common_defaults(fn);
	ret = pci_fn_watch_signals(fn);
	if (ret < 0)
		goto out_msix;
	ret = pci_fn_install_core_fds(fn);
	if (ret < 0)
		goto out_unwatch;
	*out = fn;
	return 0;
out_unwatch:
	pci_fn_unwatch_signals(fn);
out_msix:
	dev->offered_features &= ~fn->added_features;
	pci_fn_msix_destroy(fn);
out_free:
	free(fn);
	return ret;
}

void vireo_pci_function_free(struct vireo_pci_function *fn)
{
	if (!fn)
		return;
	vireo_vdev_reset(fn->dev);
	fn->dev->offered_features &= ~fn->added_features;
	pci_fn_unwatch_signals(fn);
	pci_fn_msix_destroy(fn);
	free(fn);
}

/* ---- BAR accesses ---- */

static bool pci_fn_overlaps(uint32_t offset, unsigned int size, uint32_t start, uint32_t len)
{
	return offset < start + len && start < offset + size;
}

static int pci_fn_isr_access(struct vireo_pci_function *fn, bool write, unsigned int size,
			     uint64_t *value)
{
	if (write) {
		pci_fn_warn(fn, "%s: pci: driver wrote the read-only ISR status; ignored",
			    fn->dev->name);
		return -EPERM;
	}
	if (size != 1) {
		pci_fn_warn(fn, "%s: pci: %u-byte ISR read (the ISR is one byte); ignored",
			    fn->dev->name, size);
		return -EINVAL;
	}
	*value = pci_fn_isr_read_clear(fn);
	return 0;
}

/* An access to BAR 0 inside the BAR; each structure checks its own widths. */
static int pci_fn_virtio_bar_access(struct vireo_pci_function *fn, uint64_t offset,
				    unsigned int size, bool write, uint64_t *value)
{
	uint32_t off = (uint32_t)offset;
	uint32_t notify_len = fn->dev->num_queues * PCI_FN_NOTIFY_MULTIPLIER;

	if (off < PCI_FN_COMMON_OFFSET + PCI_FN_COMMON_LEN)
		return write ? pci_fn_common_write(fn, off - PCI_FN_COMMON_OFFSET, size, *value)
			     : pci_fn_common_read(fn, off - PCI_FN_COMMON_OFFSET, size, value);
	if (off == PCI_FN_ISR_OFFSET)
		return pci_fn_isr_access(fn, write, size, value);
	if (off >= PCI_FN_DEVICE_OFFSET && off < PCI_FN_DEVICE_OFFSET + fn->dev->config_size)
		return write ? pci_fn_device_cfg_write(fn, off - PCI_FN_DEVICE_OFFSET, size, *value)
			     : pci_fn_device_cfg_read(fn, off - PCI_FN_DEVICE_OFFSET, size, value);
	if (off >= PCI_FN_NOTIFY_OFFSET && off < PCI_FN_NOTIFY_OFFSET + notify_len) {
		if (write)
			return pci_fn_notify_write(fn, off - PCI_FN_NOTIFY_OFFSET, size, *value);
		*value = 0; /* nothing to read in the notify area */
		return 0;
	}
	/* Between structures: reads as zero; a write there is a driver bug. */
	if (pci_fn_overlaps(off, size, PCI_FN_ISR_OFFSET, PCI_FN_ISR_LEN) ||
	    pci_fn_overlaps(off, size, PCI_FN_DEVICE_OFFSET, fn->dev->config_size) ||
	    pci_fn_overlaps(off, size, PCI_FN_NOTIFY_OFFSET, notify_len)) {
		pci_fn_warn(fn,
			    "%s: pci: %u-byte access at BAR 0 offset %#x straddles a structure; "
			    "ignored",
			    fn->dev->name, size, off);
		return -EINVAL;
	}
	if (write) {
		pci_fn_warn(fn, "%s: pci: write to unused BAR 0 offset %#x; ignored", fn->dev->name,
			    off);
		return -EINVAL;
	}
	*value = 0;
	return 0;
}

/* Any BAR access, memory decoding aside (the PCI_CFG window needs none). */
static int pci_fn_bar_access(struct vireo_pci_function *fn, unsigned int bar, uint64_t offset,
			     unsigned int size, bool write, uint64_t *value)
{
	if (bar >= 6 || !fn->bar_size[bar]) {
		pci_fn_warn(fn, "%s: pci: access to unimplemented BAR %u; ignored", fn->dev->name,
			    bar);
		return -EINVAL;
	}
	if ((size != 1 && size != 2 && size != 4 && size != 8) || offset >= fn->bar_size[bar] ||
	    size > fn->bar_size[bar] - offset) {
		pci_fn_warn(fn,
			    "%s: pci: %u-byte access at BAR %u offset %#" PRIx64
			    " is outside it or of a bad size; ignored",
			    fn->dev->name, size, bar, offset);
		return -EINVAL;
	}
	if (bar == VIREO_PCI_FUNCTION_MSIX_BAR)
		return write ? pci_fn_msix_write(fn, offset, size, *value)
			     : pci_fn_msix_read(fn, offset, size, value);
	return pci_fn_virtio_bar_access(fn, offset, size, write, value);
}

/* PCI 3.0 §6.2.2: with Memory Space clear the function does not respond to memory cycles. */
static bool pci_fn_decoding(struct vireo_pci_function *fn, unsigned int bar, uint64_t offset)
{
	if (pci_fn_command(fn) & PCI_COMMAND_MEMORY)
		return true;
	pci_fn_warn(fn,
		    "%s: pci: BAR %u offset %#" PRIx64
		    " accessed with memory decoding off; ignored",
		    fn->dev->name, bar, offset);
	return false;
}

int vireo_pci_bar_read(struct vireo_pci_function *fn, unsigned int bar, uint64_t offset,
		       unsigned int size, uint64_t *value)
{
	int ret;

	*value = 0;
	ret = pci_fn_decoding(fn, bar, offset)
		      ? pci_fn_bar_access(fn, bar, offset, size, false, value)
		      : -EACCES;
	if (ret < 0)
		*value = pci_fn_all_ones(size);
	else if (size < 8)
		*value &= pci_fn_all_ones(size);
	return ret;
}

int vireo_pci_bar_write(struct vireo_pci_function *fn, unsigned int bar, uint64_t offset,
			unsigned int size, uint64_t value)
{
	if (!pci_fn_decoding(fn, bar, offset))
		return -EACCES;
	if (size < 8)
		value &= pci_fn_all_ones(size);
	return pci_fn_bar_access(fn, bar, offset, size, true, &value);
}

int vireo_pci_bar_info(struct vireo_pci_function *fn, unsigned int bar, uint64_t *size,
		       uint32_t *flags)
{
	if (bar >= 6 || !fn->bar_size[bar]) {
		*size = 0;
		*flags = 0;
		return -ENOENT;
	}
	*size = fn->bar_size[bar];
	*flags = bar == VIREO_PCI_FUNCTION_VIRTIO_BAR ? VIREO_PCI_BAR_MEM_64 : 0;
	return 0;
}

int vireo_pci_bar_address(struct vireo_pci_function *fn, unsigned int bar, uint64_t *address)
{
	uint32_t reg = PCI_BASE_ADDRESS_0 + 4 * bar;

	if (bar >= 6 || !fn->bar_size[bar])
		return -ENOENT;
	*address = pci_fn_get_le(&fn->config[reg], 4) & PCI_BASE_ADDRESS_MEM_MASK;
	if (fn->config[reg] & PCI_BASE_ADDRESS_MEM_TYPE_64)
		*address |= pci_fn_get_le(&fn->config[reg + 4], 4) << 32;
	return 0;
}

int vireo_pci_notify_location(struct vireo_pci_function *fn, unsigned int queue, unsigned int *bar,
			      uint64_t *offset, unsigned int *width)
{
	if (queue >= fn->dev->num_queues)
		return -EINVAL;
	*bar = VIREO_PCI_FUNCTION_VIRTIO_BAR;
	*offset = PCI_FN_NOTIFY_OFFSET + queue * PCI_FN_NOTIFY_MULTIPLIER;
	*width = vdev_has_feature(fn->dev, VIRTIO_F_NOTIFICATION_DATA) ? 4 : 2;
	return 0;
}

int vireo_pci_function_notify_fd(struct vireo_pci_function *fn, unsigned int queue)
{
	return queue < fn->dev->num_queues ? fn->queues[queue].notify_fd : -EINVAL;
}

uint8_t vireo_pci_function_isr_peek(const struct vireo_pci_function *fn)
{
	return fn->isr;
}

/* ---- configuration space ---- */

static bool pci_fn_config_access_ok(struct vireo_pci_function *fn, uint32_t offset,
				    unsigned int size, const char *what)
{
	/* Configuration cycles address one dword with byte enables: no straddling. */
	if ((size == 1 || size == 2 || size == 4) && (offset & (size - 1)) == 0 &&
	    offset < VIREO_PCI_CONFIG_SPACE_SIZE)
		return true;
	pci_fn_warn(fn, "%s: pci: %u-byte config %s at %#x is not an aligned access; ignored",
		    fn->dev->name, size, what, offset);
	return false;
}

/*
 * §4.1.4.9: the PCI_CFG window reaches cap.length bytes at cap.offset in cap.bar.
 * R-PCI-15/16 (driver rules) are checked: length 1, 2 or 4, offset aligned to it.
 */
static void pci_fn_cfg_window(struct vireo_pci_function *fn, bool write)
{
	uint8_t *cap = &fn->config[fn->pci_cfg_cap];
	uint8_t *data = cap + offsetof(struct vireo_pci_cfg_cap, pci_cfg_data);
	unsigned int bar = cap[offsetof(struct vireo_pci_cap, bar)];
	uint32_t off = (uint32_t)pci_fn_get_le(cap + offsetof(struct vireo_pci_cap, offset), 4);
	uint32_t len = (uint32_t)pci_fn_get_le(cap + offsetof(struct vireo_pci_cap, length), 4);
	uint64_t value;

	if ((len != 1 && len != 2 && len != 4) || (off & (len - 1))) {
		pci_fn_warn(fn,
			    "%s: pci: PCI_CFG window of %u bytes at %#x is not aligned; ignored",
			    fn->dev->name, len, off);
		return;
	}
	if (write) {
		value = pci_fn_get_le(data, len);
		(void)pci_fn_bar_access(fn, bar, off, len, true, &value);
		return;
	}
	if (pci_fn_bar_access(fn, bar, off, len, false, &value) < 0)
		value = pci_fn_all_ones(len);
	pci_fn_put_le(data, len, value);
}

int vireo_pci_config_read(struct vireo_pci_function *fn, uint32_t offset, unsigned int size,
			  uint32_t *value)
{
	uint32_t data = fn->pci_cfg_cap + offsetof(struct vireo_pci_cfg_cap, pci_cfg_data);

	if (!pci_fn_config_access_ok(fn, offset, size, "read")) {
		*value = (uint32_t)pci_fn_all_ones(size < 4 ? size : 4);
		return -EINVAL;
	}
	/* D-PCI-37: reading the window's data performs the BAR read (an ISR read clears it). */
	if (pci_fn_overlaps(offset, size, data, 4))
		pci_fn_cfg_window(fn, false);
	*value = (uint32_t)pci_fn_get_le(&fn->config[offset], size);
	return 0;
}

int vireo_pci_config_write(struct vireo_pci_function *fn, uint32_t offset, unsigned int size,
			   uint32_t value)
{
	uint32_t data = fn->pci_cfg_cap + offsetof(struct vireo_pci_cfg_cap, pci_cfg_data);
	uint16_t old_command = pci_fn_command(fn);
	unsigned int i;

	if (!pci_fn_config_access_ok(fn, offset, size, "write"))
		return -EINVAL;
	/* Read-only bits keep their value: BAR sizing reads back the size mask this way. */
	for (i = 0; i < size; i++) {
		uint8_t b = (uint8_t)(value >> (8 * i)), m = fn->wmask[offset + i];

		fn->config[offset + i] = (uint8_t)((fn->config[offset + i] & ~m) | (b & m));
	}
	if (pci_fn_overlaps(offset, size, PCI_COMMAND, 2) && pci_fn_command(fn) != old_command) {
		log_debug("%s: pci: command %#x -> %#x", fn->dev->name, old_command,
			  pci_fn_command(fn));
		/* Bus mastering gates the device's memory access, then the interrupt path. */
		pci_fn_bus_master_changed(fn, old_command);
		pci_fn_update_interrupt_status(fn);
		pci_fn_msix_control_changed(fn);
	}
	if (pci_fn_overlaps(offset, size, fn->msix_cap + PCI_MSIX_FLAGS, 2))
		pci_fn_msix_control_changed(fn);
	/* D-PCI-36: a write of the window's data writes the BAR. */
	if (pci_fn_overlaps(offset, size, data, 4))
		pci_fn_cfg_window(fn, true);
	return 0;
}
