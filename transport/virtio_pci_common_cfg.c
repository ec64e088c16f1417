// SPDX-License-Identifier: MIT
/*
 * The common configuration structure of a virtio-pci function (virtio 1.2 §4.1.4.3),
 * the notification area (§4.1.4.4, §4.1.5.2) and device-specific configuration
 * (§4.1.4.6), each register mapped onto the core (struct vdev): features, status,
 * queue set-up and enable, queue reset, kicks. Every driver write is checked; a bad one
 * is logged and ignored, or sets DEVICE_NEEDS_RESET where a ring cannot be served.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/pci_regs.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

#include <vireo/event_loop.h>
#include <vireo/log.h>

#include "transport/virtio_pci_internal.h"

#define CC(field) offsetof(struct vireo_pci_common_cfg, field)
#define CC_SIZE(field) sizeof(((struct vireo_pci_common_cfg *)0)->field)

/* Fields with a 64-bit layout: the driver writes them as two 32-bit halves (D-PCI-04). */
static bool pci_fn_cc_is_64(uint32_t field)
{
	return field == CC(queue_desc) || field == CC(queue_driver) || field == CC(queue_device);
}

/* Width of the field starting at @field, 0 if no field starts there. */
static unsigned int pci_fn_cc_width(uint32_t field)
{
	static const struct {
		uint8_t offset, width;
	} fields[] = {
		{CC(device_feature_select), CC_SIZE(device_feature_select)},
		{CC(device_feature), CC_SIZE(device_feature)},
		{CC(driver_feature_select), CC_SIZE(driver_feature_select)},
		{CC(driver_feature), CC_SIZE(driver_feature)},
		{CC(config_msix_vector), CC_SIZE(config_msix_vector)},
		{CC(num_queues), CC_SIZE(num_queues)},
		{CC(device_status), CC_SIZE(device_status)},
		{CC(config_generation), CC_SIZE(config_generation)},
		{CC(queue_select), CC_SIZE(queue_select)},
		{CC(queue_size), CC_SIZE(queue_size)},
		{CC(queue_msix_vector), CC_SIZE(queue_msix_vector)},
		{CC(queue_enable), CC_SIZE(queue_enable)},
		{CC(queue_notify_off), CC_SIZE(queue_notify_off)},
		{CC(queue_desc), CC_SIZE(queue_desc)},
		{CC(queue_driver), CC_SIZE(queue_driver)},
		{CC(queue_device), CC_SIZE(queue_device)},
		{CC(queue_notif_config_data), CC_SIZE(queue_notif_config_data)},
		{CC(queue_reset), CC_SIZE(queue_reset)},
		{CC(admin_queue_index), CC_SIZE(admin_queue_index)},
		{CC(admin_queue_num), CC_SIZE(admin_queue_num)},
	};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i].offset == field)
			return fields[i].width;
	return 0;
}

/*
 * Map an access onto a field: its start in *@field and the byte offset inside it in *@part.
 * Each field takes its own width; a 64-bit field also either 32-bit half (§4.1.3.1).
 */
static bool pci_fn_cc_field(uint32_t offset, unsigned int size, uint32_t *field, unsigned int *part)
{
	if (size == 4 && (offset & 7) == 4 && pci_fn_cc_is_64(offset - 4)) {
		*field = offset - 4;
		*part = 4;
		return true;
	}
	*field = offset;
	*part = 0;
	return pci_fn_cc_width(offset) == size || (size == 4 && pci_fn_cc_is_64(offset));
}

void pci_fn_common_defaults(struct vireo_pci_function *fn)
{
	fn->device_feature_select = 0;
	fn->driver_feature_select = 0;
	fn->driver_features = 0;
	fn->driver_features_hi = 0;
	fn->queue_select = 0;
	/* D-PCI-41: after reset no event is mapped to a vector. */
	fn->config_msix_vector = VIREO_PCI_MSI_NO_VECTOR;
	fn->core_generation = fn->dev->config_generation;
	for (unsigned int i = 0; i < VDEV_MAX_QUEUES; i++) {
		struct pci_fn_queue *q = &fn->queues[i];

		q->size = fn->dev->queue_max_size;
		q->msix_vector = VIREO_PCI_MSI_NO_VECTOR;
		q->enabled = false;
		q->desc = q->driver = q->device = 0;
	}
}

/* The selected queue, or NULL (out of range: its fields read 0, writes are dropped). */
static struct pci_fn_queue *pci_fn_selected(struct vireo_pci_function *fn)
{
	return fn->queue_select < fn->dev->num_queues ? &fn->queues[fn->queue_select] : NULL;
}

/* D-PCI-10: any number of changes between two reads moves the 8-bit value. */
static uint8_t pci_fn_generation(struct vireo_pci_function *fn)
{
	uint32_t core = fn->dev->config_generation;

	if (core != fn->core_generation) {
		fn->core_generation = core;
		fn->generation++;
	}
	return fn->generation;
}

static uint64_t pci_fn_queue_read(struct vireo_pci_function *fn, uint32_t field)
{
	struct pci_fn_queue *q = pci_fn_selected(fn);

	if (!q)
		return 0; /* D-PCI-16: an unavailable queue's size reads 0 */
	switch (field) {
	case CC(queue_size):
		return q->size;
	case CC(queue_msix_vector):
		return q->msix_vector;
	case CC(queue_enable):
		return q->enabled;
	case CC(queue_notify_off):
	case CC(queue_notif_config_data):
		return fn->queue_select;
	case CC(queue_desc):
		return q->desc;
	case CC(queue_driver):
		return q->driver;
	case CC(queue_device):
		return q->device;
	default:
		return 0; /* queue_reset: a reset completes within the write (D-PCI-13/14/15) */
	}
}

static uint64_t pci_fn_cc_value(struct vireo_pci_function *fn, uint32_t field)
{
	uint64_t offered = fn->dev->offered_features;
	uint64_t offered_hi = fn->dev->offered_features_hi;

	switch (field) {
	case CC(device_feature_select):
		return fn->device_feature_select;
	case CC(device_feature):
		/* D-PCI-08: bits select*32.. of the 128-bit offer; 0 from select 4 up. */
		return vireo_feature_dword(offered, offered_hi, fn->device_feature_select);
	case CC(driver_feature_select):
		return fn->driver_feature_select;
	case CC(driver_feature):
		/* D-PCI-09: the valid bits the driver wrote. */
		return vireo_feature_dword(fn->driver_features & offered,
					   fn->driver_features_hi & offered_hi,
					   fn->driver_feature_select);
	case CC(config_msix_vector):
		return fn->config_msix_vector;
	case CC(num_queues):
		return fn->dev->num_queues;
	case CC(device_status):
		return vireo_vdev_get_status(fn->dev);
	case CC(config_generation):
		return pci_fn_generation(fn);
	case CC(queue_select):
		return fn->queue_select;
	case CC(admin_queue_index):
	case CC(admin_queue_num):
		return 0; /* no admin virtqueue */
	default:
		return pci_fn_queue_read(fn, field);
	}
}

int pci_fn_common_read(struct vireo_pci_function *fn, uint32_t offset, unsigned int size,
		       uint64_t *value)
{
	uint32_t field;
	unsigned int part;

	if (!pci_fn_cc_field(offset, size, &field, &part)) {
		pci_fn_warn(fn,
			    "%s: pci: %u-byte common config read at %#x is not a field; ignored",
			    fn->dev->name, size, offset);
		return -EINVAL;
	}
	*value = pci_fn_cc_value(fn, field) >> (8 * part);
	return 0;
}

/* The core's config-change and used-buffer signals reach the function's own eventfds. */
static int pci_fn_install_queue_fds(struct vireo_pci_function *fn, unsigned int index)
{
	struct vdev_queue *vq = &fn->dev->queues[index];
	struct pci_fn_queue *q = &fn->queues[index];
	int fd, ret;

	/* The core closes what it holds at reset: it gets duplicates, ours stay. */
	if (vq->kick_fd < 0) {
		fd = dup(q->notify_fd);
		if (fd < 0)
			return -errno;
		ret = vireo_vdev_queue_set_kick_fd(fn->dev, index, fd);
		if (ret < 0)
			return ret; /* the core owns @fd even on error */
	}
	if (vq->call_fd < 0) {
		fd = dup(q->call_fd);
		if (fd < 0)
			return -errno;
		ret = vireo_vdev_queue_set_call_fd(fn->dev, index, fd);
		if (ret < 0) {
			close(fd);
			return ret;
		}
	}
	return 0;
}

int pci_fn_install_core_fds(struct vireo_pci_function *fn)
{
	int fd = dup(fn->config_fd), ret;

	if (fd < 0)
		return -errno;
	ret = vireo_vdev_set_config_call_fd(fn->dev, fd);
	if (ret < 0)
		close(fd);
	return ret;
}

static void pci_fn_queue_enable(struct vireo_pci_function *fn, struct pci_fn_queue *q)
{
	unsigned int index = fn->queue_select;
	struct vdev_queue *vq = &fn->dev->queues[index];
	char reason[160];
	int ret;

	if (fn->dev->stopped) {
		pci_fn_warn(fn,
			    "%s: pci: queue %u enabled after bus mastering stopped the device; "
			    "ignored until a reset",
			    fn->dev->name, index);
		return;
	}
	/* §3.1.1: queues are set up after FEATURES_OK (the ring format is known then). */
	if (!(vireo_vdev_get_status(fn->dev) & VIRTIO_STATUS_FEATURES_OK)) {
		pci_fn_warn(fn, "%s: pci: queue %u enabled before FEATURES_OK; ignored",
			    fn->dev->name, index);
		return;
	}
	ret = vireo_vdev_queue_set_num(fn->dev, index, q->size);
	if (ret == 0)
		ret = vireo_vdev_queue_set_addr(fn->dev, index, q->desc, q->driver, q->device);
	if (ret == 0)
		ret = pci_fn_install_queue_fds(fn, index);
	if (ret == 0)
		ret = vireo_vdev_queue_enable(fn->dev, index);
	if (ret == 0) {
		q->enabled = true;
		return;
	}
	if (vq->ring_ops && vq->ring_ops->error(&vq->ring) != VRING_ERR_NONE)
		snprintf(reason, sizeof(reason), "queue %u enabled with a bad ring: %s", index,
			 vring_error_string(vq->ring_ops->error(&vq->ring)));
	else
		snprintf(reason, sizeof(reason), "queue %u cannot be enabled (size %u): %d", index,
			 q->size, ret);
	vireo_vdev_set_needs_reset(fn->dev, reason);
}

/* §4.1.4.3.2 with VIRTIO_F_RING_RESET: the queue goes back to its state after reset. */
static void pci_fn_queue_reset(struct vireo_pci_function *fn, struct pci_fn_queue *q)
{
	const struct vring_dev_position start = {.avail_wrap = true, .used_wrap = true};
	unsigned int index = fn->queue_select;

	if (!vdev_has_feature(fn->dev, VIRTIO_F_RING_RESET)) {
		pci_fn_warn(fn, "%s: pci: queue_reset written without VIRTIO_F_RING_RESET; ignored",
			    fn->dev->name);
		return;
	}
	vireo_vdev_queue_disable(fn->dev, index);
	(void)vireo_vdev_queue_set_position(fn->dev, index, &start);
	(void)vireo_eventfd_drain_fd(q->call_fd);
	q->size = fn->dev->queue_max_size;
	q->msix_vector = VIREO_PCI_MSI_NO_VECTOR;
	q->enabled = false;
	q->desc = q->driver = q->device = 0;
	log_info("%s: pci: queue %u reset", fn->dev->name, index);
}

/*
 * Sizes the core accepts for the negotiated ring format (§2.7, §2.8; R-PCI-09 is the
 * driver's side). Only after FEATURES_OK: the format is not known before (§3.1.1), and a
 * split queue must keep reading a power of 2 (D-PCI-17).
 */
static bool pci_fn_queue_size_ok(struct vireo_pci_function *fn, uint64_t size)
{
	if (!(vireo_vdev_get_status(fn->dev) & VIRTIO_STATUS_FEATURES_OK))
		return false;
	if (size == 0 || size > fn->dev->queue_max_size)
		return false;
	return vdev_has_feature(fn->dev, VIRTIO_F_RING_PACKED) || (size & (size - 1)) == 0;
}

static uint16_t pci_fn_vector(struct vireo_pci_function *fn, uint64_t value, const char *what)
{
	/* D-PCI-42: a vector the table does not have is a failed mapping: NO_VECTOR. */
	if (value != VIREO_PCI_MSI_NO_VECTOR && value >= fn->msix_vectors) {
		pci_fn_warn(fn,
			    "%s: pci: %s vector %" PRIu64
			    " beyond the %u-entry MSI-X table; unmapped",
			    fn->dev->name, what, value, fn->msix_vectors);
		return VIREO_PCI_MSI_NO_VECTOR;
	}
	return (uint16_t)value;
}

/* Merge a 32-bit half (@part 0 or 4) or a whole 64-bit write into @reg. */
static uint64_t pci_fn_merge(uint64_t reg, unsigned int part, unsigned int size, uint64_t value)
{
	if (size == 8)
		return value;
	if (part)
		return (reg & 0xffffffffu) | (value << 32);
	return (reg & ~(uint64_t)0xffffffffu) | (value & 0xffffffffu);
}

static int pci_fn_queue_write(struct vireo_pci_function *fn, uint32_t field, unsigned int part,
			      unsigned int size, uint64_t value)
{
	struct pci_fn_queue *q = pci_fn_selected(fn);

	if (!q) {
		pci_fn_warn(fn, "%s: pci: write to queue %u's registers: no such queue; ignored",
			    fn->dev->name, fn->queue_select);
		return -EINVAL;
	}
	if (field == CC(queue_reset)) {
		if (value == 0) /* nothing: a reset completes within the write */
			return 0;
		if (value != 1) {
			pci_fn_warn(fn,
				    "%s: pci: queue_reset %" PRIu64 " written (only 1 is); ignored",
				    fn->dev->name, value);
			return -EINVAL;
		}
		pci_fn_queue_reset(fn, q);
		return 0;
	}
	if (field == CC(queue_msix_vector)) {
		q->msix_vector = pci_fn_vector(fn, value, "queue");
		return 0;
	}
	if (q->enabled) {
		/* §4.1.4.3.2: the driver sets a queue up before enabling it, not after. */
		pci_fn_warn(fn, "%s: pci: queue %u register %#x written while enabled; ignored",
			    fn->dev->name, fn->queue_select, field);
		return -EBUSY;
	}
	switch (field) {
	case CC(queue_size):
		if (!pci_fn_queue_size_ok(fn, value)) {
			pci_fn_warn(fn,
				    "%s: pci: queue %u size %" PRIu64
				    " (max %u; a power of 2 for a split ring); ignored",
				    fn->dev->name, fn->queue_select, value,
				    fn->dev->queue_max_size);
			return -EINVAL;
		}
		q->size = (uint16_t)value;
		return 0;
	case CC(queue_enable):
		if (value != 1) {
			/* R-PCI-12: a driver never writes 0; a queue stops by queue_reset. */
			pci_fn_warn(fn,
				    "%s: pci: queue_enable %" PRIu64
				    " written (only 1 is); ignored",
				    fn->dev->name, value);
			return -EINVAL;
		}
		pci_fn_queue_enable(fn, q);
		return 0;
	case CC(queue_desc):
		q->desc = pci_fn_merge(q->desc, part, size, value);
		return 0;
	case CC(queue_driver):
		q->driver = pci_fn_merge(q->driver, part, size, value);
		return 0;
	case CC(queue_device):
		q->device = pci_fn_merge(q->device, part, size, value);
		return 0;
	default:
		return -EPERM; /* not reached: read-only fields are caught before */
	}
}

/* Kicks the device did not take (stopped, or before a reset) are not for the next run. */
static void pci_fn_drop_kicks(struct vireo_pci_function *fn)
{
	for (unsigned int i = 0; i < fn->dev->num_queues; i++)
		(void)vireo_eventfd_drain_fd(fn->queues[i].notify_fd);
}

/*
 * D-PCI-01, PCI 3.0 §6.2.2 command bit 2: with Bus Master Enable clear the function
 * initiates no memory transaction. The virtio spec says nothing more, so QEMU is the reference
 * (virtio_write_config() in hw/virtio/virtio-pci.c): the live device is disabled and
 * DRIVER_OK cleared; setting the bit again does not restart it, a reset (status 0) does.
 * Requests in flight are finished by the stop (the model's queue_stop): their I/O already
 * happened, and the writes to the guest land before the configuration write that cleared
 * the bit completes (configuration writes are non-posted). Their signals are dropped.
 */
void pci_fn_bus_master_changed(struct vireo_pci_function *fn, uint16_t old_command)
{
	bool was_on = old_command & PCI_COMMAND_MASTER;
	bool is_on = pci_fn_command(fn) & PCI_COMMAND_MASTER;

	if (was_on == is_on)
		return;
	fn->kick_refusal_logged = false;
	/* Before DRIVER_OK nothing runs, and DRIVER_OK is refused while the bit is clear. */
	if (is_on || !(vireo_vdev_get_status(fn->dev) & VIRTIO_STATUS_DRIVER_OK))
		return;
	vireo_vdev_stop(fn->dev);
	for (unsigned int i = 0; i < fn->dev->num_queues; i++)
		(void)vireo_eventfd_drain_fd(fn->queues[i].call_fd);
	pci_fn_drop_kicks(fn);
	pci_fn_msix_drop_pending(fn);
	log_info("%s: pci: bus mastering turned off: device stopped, DRIVER_OK cleared; it "
		 "runs again only after a reset",
		 fn->dev->name);
}

static void pci_fn_status_write(struct vireo_pci_function *fn, uint8_t status)
{
	int ret;

	/* No DMA without bus mastering: the device would serve its rings (PCI 3.0 §6.2.2). */
	if ((status & VIRTIO_STATUS_DRIVER_OK) && !(pci_fn_command(fn) & PCI_COMMAND_MASTER) &&
	    !(vireo_vdev_get_status(fn->dev) & VIRTIO_STATUS_DRIVER_OK)) {
		pci_fn_warn(fn, "%s: pci: DRIVER_OK written with bus mastering off; ignored",
			    fn->dev->name);
		return;
	}
	ret = vireo_vdev_set_status(fn->dev, status);
	if (status == 0) {
		/* D-PCI-11: the reset is done when the write returns; status reads 0. */
		pci_fn_common_defaults(fn);
		pci_fn_isr_reset(fn);
		pci_fn_drop_kicks(fn);
		fn->kick_refusal_logged = false;
		if (pci_fn_install_core_fds(fn) < 0)
			pci_fn_warn(fn, "%s: pci: config-change signals lost after reset",
				    fn->dev->name);
		return;
	}
	if (ret == -EPERM)
		log_info("%s: pci: FEATURES_OK refused for features %#" PRIx64
			 " (bits 64-127: %#" PRIx64 ")",
			 fn->dev->name, fn->driver_features, fn->driver_features_hi);
	else if (ret == -EIO && fn->dev->stopped)
		pci_fn_warn(fn,
			    "%s: pci: device_status %#x refused: bus mastering stopped the device, "
			    "reset it first",
			    fn->dev->name, status);
	else if (ret < 0)
		pci_fn_warn(fn, "%s: pci: device_status %#x refused (%d)", fn->dev->name, status,
			    ret);
}

static void pci_fn_driver_feature_write(struct vireo_pci_function *fn, uint64_t value)
{
	unsigned int sel = fn->driver_feature_select;
	uint64_t lo = fn->driver_features, hi = fn->driver_features_hi;
	uint64_t unoffered, unoffered_hi;
	int ret;

	/* Bits 0-127 at select 0-3 (§2.2); a larger select has no bits to write. */
	if (!vireo_feature_set_dword(&lo, &hi, sel, (uint32_t)value)) {
		if (value)
			pci_fn_warn(fn,
				    "%s: pci: driver_feature bits %#" PRIx64
				    " written at select %u (no such bits); ignored",
				    fn->dev->name, value, sel);
		return;
	}
	ret = sel < 2 ? vireo_vdev_set_driver_features(fn->dev, lo)
		      : vireo_vdev_set_driver_features_hi(fn->dev, hi);
	if (ret < 0) {
		pci_fn_warn(fn,
			    "%s: pci: driver_feature written outside feature negotiation; ignored",
			    fn->dev->name);
		return;
	}
	unoffered = lo & ~fn->dev->offered_features;
	unoffered_hi = hi & ~fn->dev->offered_features_hi;
	if (unoffered || unoffered_hi)
		log_info("%s: pci: driver accepts features %#" PRIx64 " (bits 64-127: %#" PRIx64
			 ") that were not offered",
			 fn->dev->name, unoffered, unoffered_hi);
	fn->driver_features = lo;
	fn->driver_features_hi = hi;
}

int pci_fn_common_write(struct vireo_pci_function *fn, uint32_t offset, unsigned int size,
			uint64_t value)
{
	uint32_t field;
	unsigned int part;

	if (!pci_fn_cc_field(offset, size, &field, &part)) {
		pci_fn_warn(fn,
			    "%s: pci: %u-byte common config write at %#x is not a field; ignored",
			    fn->dev->name, size, offset);
		return -EINVAL;
	}
	switch (field) {
	case CC(device_feature_select):
		fn->device_feature_select = (uint32_t)value;
		return 0;
	case CC(driver_feature_select):
		fn->driver_feature_select = (uint32_t)value;
		return 0;
	case CC(driver_feature):
		pci_fn_driver_feature_write(fn, value);
		return 0;
	case CC(config_msix_vector):
		fn->config_msix_vector = pci_fn_vector(fn, value, "config");
		return 0;
	case CC(device_status):
		pci_fn_status_write(fn, (uint8_t)value);
		return 0;
	case CC(queue_select):
		fn->queue_select = (uint16_t)value;
		return 0;
	case CC(device_feature):
	case CC(num_queues):
	case CC(config_generation):
	case CC(queue_notify_off):
	case CC(queue_notif_config_data):
	case CC(admin_queue_index):
	case CC(admin_queue_num):
		/* R-PCI-08 is the driver's rule; the device keeps the field as it was. */
		pci_fn_warn(fn, "%s: pci: driver wrote read-only common config field %#x; ignored",
			    fn->dev->name, field);
		return -EPERM;
	default:
		return pci_fn_queue_write(fn, field, part, size, value);
	}
}

/*
 * §4.1.5.2: a write to queue Q's slot kicks Q. The value is Q's index (16 bits), or with
 * VIRTIO_F_NOTIFICATION_DATA 32 bits carrying the index and the next available position
 * (§2.9). That position is a hint the core does not need: at each kick it reads the ring's
 * own index (through its checks), so a lying hint cannot mislead it.
 */
int pci_fn_notify_write(struct vireo_pci_function *fn, uint32_t offset, unsigned int size,
			uint64_t value)
{
	bool data = vdev_has_feature(fn->dev, VIRTIO_F_NOTIFICATION_DATA);
	unsigned int width = data ? 4 : 2;
	uint32_t queue = offset / PCI_FN_NOTIFY_MULTIPLIER;

	if (offset % PCI_FN_NOTIFY_MULTIPLIER || size != width ||
	    VIREO_NOTIFY_DATA_QUEUE(value) != queue) {
		pci_fn_warn(fn,
			    "%s: pci: %u-byte notify write of %#" PRIx64
			    " at slot offset %#x (queue %u expects %u bytes carrying its index); "
			    "ignored",
			    fn->dev->name, size, value, offset, queue, width);
		return -EINVAL;
	}
	/* The write is taken (it is posted), but nothing may read a ring now: no kick. */
	if (!(pci_fn_command(fn) & PCI_COMMAND_MASTER) || fn->dev->stopped) {
		if (!fn->kick_refusal_logged)
			log_info("%s: pci: queue %u kicked with bus mastering off%s; not served",
				 fn->dev->name, queue,
				 fn->dev->stopped ? " (device stopped until reset)" : "");
		fn->kick_refusal_logged = true;
		return 0;
	}
	return vireo_eventfd_signal_fd(fn->queues[queue].notify_fd);
}

/* §4.1.4.6: device config through the core's bounds; fields take aligned 1/2/4-byte accesses. */
int pci_fn_device_cfg_read(struct vireo_pci_function *fn, uint32_t offset, unsigned int size,
			   uint64_t *value)
{
	uint8_t buf[4];

	if (size > 4 || (offset & (size - 1)) ||
	    vireo_vdev_config_read(fn->dev, offset, buf, size) < 0) {
		pci_fn_warn(fn, "%s: pci: %u-byte device config read at %#x refused", fn->dev->name,
			    size, offset);
		return -EINVAL;
	}
	*value = pci_fn_get_le(buf, size);
	return 0;
}

int pci_fn_device_cfg_write(struct vireo_pci_function *fn, uint32_t offset, unsigned int size,
			    uint64_t value)
{
	uint8_t buf[4];
	int ret;

	if (size > 4 || (offset & (size - 1))) {
		pci_fn_warn(fn, "%s: pci: %u-byte device config write at %#x: bad width; ignored",
			    fn->dev->name, size, offset);
		return -EINVAL;
	}
	pci_fn_put_le(buf, size, value);
	ret = vireo_vdev_config_write(fn->dev, offset, buf, size);
	if (ret < 0)
		pci_fn_warn(fn, "%s: pci: %u-byte device config write at %#x refused (%d)",
			    fn->dev->name, size, offset, ret);
	return ret;
}
