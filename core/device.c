// SPDX-License-Identifier: MIT
/*
 * The device core: the status machine (virtio 1.2 §2.1, §3.1), feature
 * masking and negotiation (§2.2, §6), config space bounds (§2.5),
 * DEVICE_NEEDS_RESET and reset. Every rule lives here once so that no
 * transport or model repeats (or forgets) it. Queues are in device_queue.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <vireo/device.h>
#include <vireo/log.h>

#include "core/device_internal.h"

/* §2.1: the bits a driver writes; DEVICE_NEEDS_RESET is the device's own. */
#define VDEV_DRIVER_STATUS_BITS                                                         \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK | \
	 VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FAILED)

/*
 * §2.2: the device type's bits of the first word (0-23, 41, 42, 50-63); the rest belong to
 * the core. The second word (64-127) is all the device type's: nothing to mask there.
 */
#define VDEV_DEVICE_FEATURE_MASK VIRTIO_DEVICE_TYPE_FEATURES
/* Reserved bits a model may ask for: it alone knows it uses buffers in order (D-BF-19). */
#define VDEV_MODEL_RING_FEATURES VIRTIO_BIT(VIRTIO_F_IN_ORDER)

const char *vdev_name(const struct vdev *dev)
{
	return dev->name ? dev->name : "device";
}

bool vdev_is_pow2(unsigned int v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

/*
 * Return: 0, or -EINVAL for no ops, a queue count outside 1..VDEV_MAX_QUEUES,
 * a maximum queue size that is not a power of two up to 32768 (§2.6), or a
 * config size without config memory.
 */
int vireo_vdev_init(struct vdev *dev, const struct vdev_ops *ops, const char *name,
		    uint32_t device_id, uint64_t device_features, unsigned int num_queues,
		    uint16_t queue_max_size, void *config, uint32_t config_size)
{
	uint64_t dropped = device_features & ~(VDEV_DEVICE_FEATURE_MASK | VDEV_MODEL_RING_FEATURES);
	unsigned int i;

	if (!ops || num_queues == 0 || num_queues > VDEV_MAX_QUEUES)
		return -EINVAL;
	if (!vdev_is_pow2(queue_max_size) || queue_max_size > VIRTQ_SPLIT_MAX_SIZE)
		return -EINVAL;
	if (config_size && !config)
		return -EINVAL;

	memset(dev, 0, sizeof(*dev));
	dev->ops = ops;
	dev->name = name;
	dev->device_id = device_id;
	/*
	 * dev:BF/Feature Bits: offer nothing we cannot honour. Transport and
	 * reserved bits (24-40, 43-49) are the core's to offer, and it offers only what ring/
	 * implements; dev:Reserved Feature Bits: VERSION_1 is always offered.
	 */
	if (dropped)
		log_warn("%s: reserved feature bits %#" PRIx64 " asked by the model dropped",
			 vdev_name(dev), dropped);
	dev->offered_features =
		(device_features & (VDEV_DEVICE_FEATURE_MASK | VDEV_MODEL_RING_FEATURES)) |
		VDEV_CORE_FEATURES;
	dev->config_call_fd = -1;
	dev->queue_max_size = queue_max_size;
	dev->num_queues = num_queues;
	dev->config = config;
	dev->config_size = config_size;
	for (i = 0; i < VDEV_MAX_QUEUES; i++)
		vdev_queue_defaults(dev, &dev->queues[i], (uint16_t)i);
	return 0;
}

void vireo_vdev_destroy(struct vdev *dev)
{
	vireo_vdev_reset(dev);
	dev->mem = NULL;
	dev->loop = NULL;
}

void vireo_vdev_set_memory(struct vdev *dev, const struct guest_mem *mem)
{
	dev->mem = mem;
}

void vireo_vdev_set_event_loop(struct vdev *dev, struct event_loop *loop)
{
	unsigned int i;

	/* Kick fds watched in the old loop must not fire there any more. */
	for (i = 0; i < dev->num_queues; i++)
		vdev_queue_unwatch(&dev->queues[i]);
	dev->loop = loop;
	for (i = 0; i < dev->num_queues; i++)
		(void)vdev_queue_watch(&dev->queues[i]);
}

/* Return: 0; -EINVAL or -errno from vireo_peer_eventfd_new (the caller keeps @fd). */
int vireo_vdev_set_config_call_fd(struct vdev *dev, int fd)
{
	struct peer_eventfd *signal = NULL;
	int ret;

	if (fd == dev->config_call_fd || (fd < 0 && dev->config_call_fd < 0))
		return 0;
	if (fd >= 0) {
		ret = vireo_peer_eventfd_new(&signal, fd);
		if (ret < 0)
			return ret;
	}
	vireo_peer_eventfd_free(dev->config_call_signal);
	if (dev->config_call_fd >= 0)
		close(dev->config_call_fd);
	dev->config_call_fd = fd < 0 ? -1 : fd;
	dev->config_call_signal = signal;
	return 0;
}

uint8_t vireo_vdev_get_status(const struct vdev *dev)
{
	/* Acquire: pairs with the release fetch_or of vireo_vdev_queue_set_needs_reset(). */
	return __atomic_load_n(&dev->status, __ATOMIC_ACQUIRE);
}

/*
 * dev:BF/Device Status Field: the device MUST NOT notify the driver before
 * DRIVER_OK. Over vhost-user without the STATUS protocol feature the status
 * byte is never written, so activation stands in for DRIVER_OK.
 */
static void vdev_signal_config(struct vdev *dev)
{
	if (!dev->config_call_signal)
		return;
	if (!(vireo_vdev_get_status(dev) & VIRTIO_STATUS_DRIVER_OK) && !dev->activated)
		return;
	/* Stopped: DRIVER_OK is gone, and so is the right to notify. */
	if (dev->stopped)
		return;
	(void)vireo_peer_eventfd_signal(dev->config_call_signal);
}

void vireo_vdev_set_needs_reset(struct vdev *dev, const char *reason)
{
	unsigned int i;

	if (vdev_needs_reset(dev))
		return;
	log_warn("%s: %s; device needs reset", vdev_name(dev), reason);
	/* Release: pairs with the acquire load in vdev_needs_reset() of queue threads. */
	__atomic_fetch_or(&dev->status, (uint8_t)VIRTIO_STATUS_DEVICE_NEEDS_RESET,
			  __ATOMIC_RELEASE);
	/* No more kicks: the queues stay as they are for the driver to reset. */
	for (i = 0; i < dev->num_queues; i++)
		vdev_queue_unwatch(&dev->queues[i]);
	/*
	 * dev:BF/Device Status Field (DEVICENEEDSRESET): with DRIVER_OK set, a
	 * configuration change notification MUST follow NEEDS_RESET.
	 */
	vdev_signal_config(dev);
}

/*
 * From a queue's own thread: only the status bit (atomic), this queue's kick
 * and the config notification. Other queues see the bit in vdev_needs_reset()
 * and stop serving; the transport stops their threads before touching them.
 */
void vireo_vdev_queue_set_needs_reset(struct vdev_queue *q, const char *reason)
{
	struct vdev *dev = q->dev;
	uint8_t old;

	if (!q->loop) {
		vireo_vdev_set_needs_reset(dev, reason);
		return;
	}
	/* Release: pairs with the acquire load in vdev_needs_reset(). */
	old = __atomic_fetch_or(&dev->status, (uint8_t)VIRTIO_STATUS_DEVICE_NEEDS_RESET,
				__ATOMIC_RELEASE);
	vdev_queue_unwatch(q);
	if (old & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		return;
	log_warn("%s: %s; device needs reset", vdev_name(dev), reason);
	/* dev:BF/Device Status Field (DEVICENEEDSRESET): config change follows. */
	vdev_signal_config(dev);
}

/* Return: 0, or -EPERM outside DRIVER-set-and-FEATURES_OK-clear (§3.1.1 step 4). */
int vireo_vdev_set_driver_features(struct vdev *dev, uint64_t features)
{
	if (!(dev->status & VIRTIO_STATUS_DRIVER) || (dev->status & VIRTIO_STATUS_FEATURES_OK))
		return -EPERM;
	dev->driver_features = features;
	return 0;
}

/* Return: 0, or -EPERM outside DRIVER-set-and-FEATURES_OK-clear (§3.1.1 step 4). */
int vireo_vdev_set_driver_features_hi(struct vdev *dev, uint64_t features_hi)
{
	if (!(dev->status & VIRTIO_STATUS_DRIVER) || (dev->status & VIRTIO_STATUS_FEATURES_OK))
		return -EPERM;
	dev->driver_features_hi = features_hi;
	return 0;
}

/* Return: 0, or -EBUSY once the driver has begun: the offer it read must not change. */
int vireo_vdev_offer_features_hi(struct vdev *dev, uint64_t features_hi)
{
	if (dev->status)
		return -EBUSY;
	/* dev:BF/Feature Bits: bits 64-127 are all the device type's; nothing to mask. */
	dev->offered_features_hi = features_hi;
	return 0;
}

static bool vdev_any_queue_enabled(const struct vdev *dev)
{
	unsigned int i;

	for (i = 0; i < dev->num_queues; i++)
		if (dev->queues[i].enabled)
			return true;
	return false;
}

/* Return: 0 or the model's error (set_features_ext for bits 64-127, else set_features). */
static int vdev_model_set_features(struct vdev *dev, uint64_t features, uint64_t features_hi)
{
	if (dev->ops->set_features_ext)
		return dev->ops->set_features_ext(dev, features, features_hi);
	if (dev->ops->set_features)
		return dev->ops->set_features(dev, features);
	return 0;
}

int vireo_vdev_negotiate_features(struct vdev *dev, uint64_t features)
{
	return vireo_vdev_negotiate_features_ext(dev, features, 0);
}

/* Return: 0; -EINVAL (unoffered bit, no VERSION_1); -EBUSY; the model's error. */
int vireo_vdev_negotiate_features_ext(struct vdev *dev, uint64_t features, uint64_t features_hi)
{
	uint64_t unoffered = features & ~dev->offered_features;
	uint64_t unoffered_hi = features_hi & ~dev->offered_features_hi;
	int ret;

	/* drv:BF/Feature Bits forbids it; dev:BF/Feature Bits lets us refuse (D-BF-04). */
	if (unoffered || unoffered_hi) {
		log_info("%s: driver accepted features %#" PRIx64 " (bits 64-127: %#" PRIx64
			 ") that were not offered",
			 vdev_name(dev), unoffered, unoffered_hi);
		return -EINVAL;
	}
	/*
	 * dev:Reserved Feature Bits: a device MAY fail to operate if VERSION_1
	 * is not accepted. Vireo is modern-only: without VERSION_1 the driver
	 * is legacy and expects guest-endian rings, the legacy ring layout and
	 * config access before FEATURES_OK, none of which we implement.
	 */
	if (!(features & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
		log_info("%s: driver did not accept VERSION_1 (legacy drivers unsupported)",
			 vdev_name(dev));
		return -EINVAL;
	}
	/*
	 * Rings snapshot the ring features at enable and models size their queues
	 * by the rest (net's MQ places the control queue): no change of any bit
	 * while a ring runs. The same set again is fine (vhost-user re-sends it).
	 */
	if ((features != dev->acked_features || features_hi != dev->acked_features_hi) &&
	    vdev_any_queue_enabled(dev)) {
		log_info("%s: features changed while a ring runs", vdev_name(dev));
		return -EBUSY;
	}
	ret = vdev_model_set_features(dev, features, features_hi);
	if (ret < 0)
		return ret;
	dev->acked_features = features;
	dev->acked_features_hi = features_hi;
	return 0;
}

/* Return: 0 or -errno from the model; on error the device NEEDS_RESET. */
void vireo_vdev_describe_rings(const struct vdev *dev, char *buf, size_t size)
{
	uint64_t f = __atomic_load_n(&dev->acked_features, __ATOMIC_RELAXED);

	if (!size)
		return;
	if (!(f & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
		snprintf(buf, size, "no features negotiated");
		return;
	}
	snprintf(buf, size, "%s rings:%s%s%s",
		 (f & VIRTIO_BIT(VIRTIO_F_RING_PACKED)) ? "packed" : "split",
		 (f & VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX)) ? " event_idx" : "",
		 (f & VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC)) ? " indirect" : "",
		 (f & VIRTIO_BIT(VIRTIO_F_IN_ORDER)) ? " in_order" : "");
}

int vireo_vdev_activate(struct vdev *dev)
{
	char rings[96];
	unsigned int i;
	int ret;

	if (vdev_needs_reset(dev) || dev->stopped)
		return -EIO;
	if (dev->activated)
		return 0;
	if (dev->ops->activate) {
		ret = dev->ops->activate(dev);
		if (ret < 0) {
			vireo_vdev_set_needs_reset(dev, "the device model failed to activate");
			return ret;
		}
	}
	dev->activated = true;
	vireo_vdev_describe_rings(dev, rings, sizeof(rings));
	log_info("%s: activated, %s", vdev_name(dev), rings);
	/* Kicks that came before activation are still counted in the eventfds. */
	for (i = 0; i < dev->num_queues; i++) {
		ret = vdev_queue_watch(&dev->queues[i]);
		if (ret < 0) {
			vireo_vdev_set_needs_reset(dev, "cannot watch a kick fd");
			return ret;
		}
	}
	return 0;
}

/* FEATURES_OK (§3.1.1 steps 5-6). Return: 0 or -EPERM (refused, bit left clear). */
static int vdev_status_features_ok(struct vdev *dev)
{
	/* dev:BF/Feature Bits: refusing = failing to set FEATURES_OK. */
	if (vireo_vdev_negotiate_features_ext(dev, dev->driver_features, dev->driver_features_hi) <
	    0)
		return -EPERM;
	dev->status |= VIRTIO_STATUS_FEATURES_OK;
	return 0;
}

/*
 * DRIVER_OK: enable each queue the driver set up but did not enable itself
 * (a virtio-pci-style driver enables each; ours may not), then activate.
 * Return: 0 or -errno; on error DEVICE_NEEDS_RESET is set.
 */
static int vdev_status_driver_ok(struct vdev *dev)
{
	char reason[128];
	unsigned int i;
	int ret;

	dev->status |= VIRTIO_STATUS_DRIVER_OK;
	for (i = 0; i < dev->num_queues; i++) {
		struct vdev_queue *q = &dev->queues[i];

		if (q->enabled || !q->addr_set || q->num == 0)
			continue;
		ret = vireo_vdev_queue_enable(dev, i);
		if (ret < 0) {
			if (q->ring_ops && q->ring_ops->error(&q->ring) != VRING_ERR_NONE)
				snprintf(reason, sizeof(reason), "queue %u: %s", i,
					 vring_error_string(q->ring_ops->error(&q->ring)));
			else
				snprintf(reason, sizeof(reason), "queue %u cannot be enabled (%d)",
					 i, ret);
			vireo_vdev_set_needs_reset(dev, reason);
			return ret;
		}
	}
	return vireo_vdev_activate(dev);
}

/* Return: -EINVAL unless every added step has the step before it (§3.1.1 order). */
static int vdev_status_check_order(uint8_t next, uint8_t added)
{
	static const uint8_t order[] = {VIRTIO_STATUS_ACKNOWLEDGE, VIRTIO_STATUS_DRIVER,
					VIRTIO_STATUS_FEATURES_OK, VIRTIO_STATUS_DRIVER_OK};
	unsigned int i;

	for (i = 1; i < sizeof(order); i++)
		if ((added & order[i]) && !(next & order[i - 1]))
			return -EINVAL;
	return 0;
}

/* Return: see device.h; the checks leave the status unchanged on -EINVAL/-EIO. */
int vireo_vdev_set_status(struct vdev *dev, uint8_t status)
{
	uint8_t cur = dev->status & VDEV_DRIVER_STATUS_BITS;
	/* The driver may echo NEEDS_RESET back; it cannot set or clear it. */
	uint8_t next = status & (uint8_t)~VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	uint8_t added = next & (uint8_t)~cur;
	int ret;

	/* dev:BF/Device Reset: writing 0 resets; status reads 0 afterwards. */
	if (status == 0) {
		vireo_vdev_reset(dev);
		return 0;
	}
	if (next & (uint8_t)~VDEV_DRIVER_STATUS_BITS)
		return -EINVAL;
	/* drv:BF/Device Status Field: the driver MUST NOT clear a status bit. */
	if (cur & (uint8_t)~next)
		return -EINVAL;
	if (!added)
		return 0;
	/* drv:BF/Device Status Field: after FAILED, only a reset may follow. */
	if (cur & VIRTIO_STATUS_FAILED)
		return -EINVAL;
	ret = vdev_status_check_order(next, added);
	if (ret < 0)
		return ret;
	if ((vdev_needs_reset(dev) || dev->stopped) && (added & (uint8_t)~VIRTIO_STATUS_FAILED))
		return -EIO;

	dev->status |= added & (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	if (added & VIRTIO_STATUS_FEATURES_OK) {
		ret = vdev_status_features_ok(dev);
		if (ret < 0)
			return ret;
	}
	if (added & VIRTIO_STATUS_DRIVER_OK) {
		ret = vdev_status_driver_ok(dev);
		if (ret < 0)
			return ret;
	}
	dev->status |= added & VIRTIO_STATUS_FAILED;
	return 0;
}

/* [@offset, @offset + @len) inside config space, without computing the sum. */
static bool vdev_config_range_ok(const struct vdev *dev, uint32_t offset, uint32_t len)
{
	return offset <= dev->config_size && len <= dev->config_size - offset;
}

/*
 * dev:BF/Device Configuration Space: readable at any time, before
 * FEATURES_OK too. Return: 0 or -EINVAL (out of bounds).
 */
int vireo_vdev_config_read(const struct vdev *dev, uint32_t offset, void *buf, uint32_t len)
{
	if (!vdev_config_range_ok(dev, offset, len))
		return -EINVAL;
	if (len)
		memcpy(buf, (const char *)dev->config + offset, len);
	return 0;
}

/* Return: 0; -EINVAL (out of bounds); -EPERM (read-only config); the model's error. */
int vireo_vdev_config_write(struct vdev *dev, uint32_t offset, const void *buf, uint32_t len)
{
	int ret;

	if (!vdev_config_range_ok(dev, offset, len))
		return -EINVAL;
	if (!dev->ops->config_write)
		return -EPERM;
	if (len == 0)
		return 0;
	ret = dev->ops->config_write(dev, offset, buf, len);
	return ret < 0 ? ret : 0;
}

void vireo_vdev_config_changed(struct vdev *dev)
{
	dev->config_generation++;
	vdev_signal_config(dev);
}

/*
 * The transport's memory access is gone: queue_stop and disable for every
 * queue (vireo_vdev_queue_disable() does both, enabled or not), then DRIVER_OK
 * goes, so the driver sees the device is no longer live and has to reset it.
 */
void vireo_vdev_stop(struct vdev *dev)
{
	unsigned int i;

	if (dev->stopped)
		return;
	dev->stopped = true;
	for (i = 0; i < dev->num_queues; i++)
		vireo_vdev_queue_disable(dev, i);
	/* Release: pairs with the acquire load of vireo_vdev_get_status(). */
	__atomic_fetch_and(&dev->status, (uint8_t)~VIRTIO_STATUS_DRIVER_OK, __ATOMIC_RELEASE);
}

/*
 * The model first, so it can finish or cancel in-flight work while the
 * rings it pushes to still exist; then every ring and fd; status last, so
 * "0" is shown only once nothing runs (dev:BF/Device Reset).
 */
void vireo_vdev_reset(struct vdev *dev)
{
	unsigned int i;

	if (dev->ops && dev->ops->reset)
		dev->ops->reset(dev);
	for (i = 0; i < VDEV_MAX_QUEUES; i++)
		vdev_queue_release(&dev->queues[i]);
	(void)vireo_vdev_set_config_call_fd(dev, -1);
	dev->driver_features = 0;
	dev->acked_features = 0;
	dev->driver_features_hi = 0;
	dev->acked_features_hi = 0;
	dev->activated = false;
	dev->stopped = false;
	dev->status = 0;
}
