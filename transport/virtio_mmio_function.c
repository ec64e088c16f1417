// SPDX-License-Identifier: MIT
/*
 * virtio-mmio version 2, device role (virtio 1.2 §4.2.2, transport-mmio.tex):
 * the register block of one device over the core. What the core already
 * decides (status machine, feature subset, queue geometry through guest
 * memory, config bounds, NEEDS_RESET) it still decides; this file maps
 * registers onto it and keeps what only MMIO has: the selectors, the queue
 * registers until QueueReady, InterruptStatus, and the transport feature bits
 * the core does not know (NOTIFICATION_DATA, RING_RESET).
 *
 * A driver's register access is hostile until checked: a bad width,
 * alignment, offset or direction is logged (once per kind at warn level)
 * and ignored; a value the core refuses is refused the core's way.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vireo/log.h>
#include <vireo/spec.h>
#include <vireo/virtio_mmio_function.h>

#include "transport/vdev_thread.h"

/* Transport feature bits this file implements on top of the core's offer. */
#define MMIO_TRANSPORT_FEATURES \
	(VIRTIO_BIT(VIRTIO_F_NOTIFICATION_DATA) | VIRTIO_BIT(VIRTIO_F_RING_RESET))

/* Kinds of refused accesses; each is logged at warn level the first time. */
enum mmio_refusal {
	MMIO_BAD_ACCESS = 1u << 0, /* width, alignment, unknown offset */
	MMIO_RO_WRITE = 1u << 1,
	MMIO_WO_READ = 1u << 2,
	MMIO_BAD_QUEUE = 1u << 3, /* QueueSel out of range, or the queue is ready */
	MMIO_BAD_VALUE = 1u << 4,
	MMIO_FEATURES = 1u << 5,
	MMIO_CONFIG = 1u << 6,
};

/* The queue registers as the driver wrote them; the core sees them at QueueReady. */
struct mmio_queue {
	uint32_t num;
	uint64_t desc, driver, device;
	bool ready;
	int kick_fd; /* ours; the core gets a dup at QueueReady */
};

struct vireo_mmio_function {
	struct vdev *dev;
	const struct guest_mem *mem;
	struct vireo_mmio_host_ops host;
	void *opaque;
	uint32_t vendor_id;
	uint64_t transport_offered;
	uint64_t transport_acked; /* __atomic: QueueNotify reads it on any thread */
	uint32_t warned;	  /* __atomic: enum mmio_refusal bits logged */
	struct vdev_thread thread;
	bool attached;
	int vring_irq_fd; /* the core's call fds are dups of it */
	int config_irq_fd;
	pthread_mutex_t irq_lock; /* @int_status and the level of the line */
	uint32_t int_status;
	/* Device thread only: */
	uint32_t device_features_sel, driver_features_sel, queue_sel, shm_sel;
	uint64_t driver_features, driver_features_hi; /* bits 0-63, 64-127 */
	struct mmio_queue queues[VDEV_MAX_QUEUES];
};

/* Return: -EINVAL, after one log line (warn the first time of its kind). */
static int mmio_refuse(struct vireo_mmio_function *fn, enum mmio_refusal kind, const char *what,
		       uint64_t offset, uint32_t value)
{
	uint32_t old = __atomic_fetch_or(&fn->warned, (uint32_t)kind, __ATOMIC_RELAXED);

	vireo_log((old & kind) ? VIREO_LOG_DEBUG : VIREO_LOG_WARN,
		  "%s: virtio-mmio: %s (offset %#llx, value %#x) refused",
		  fn->dev->name ? fn->dev->name : "device", what, (unsigned long long)offset,
		  value);
	return -EINVAL;
}

/* ---- the interrupt line (any thread, under irq_lock) ---- */

/* D-MMIO-03: a bit is set from the event until the driver acknowledges it. */
static void mmio_irq_raise(struct vireo_mmio_function *fn, uint32_t bit)
{
	uint32_t old;

	pthread_mutex_lock(&fn->irq_lock);
	old = fn->int_status;
	/* The bit first: a driver woken by the signal must find it. */
	fn->int_status |= bit;
	if (!fn->host.irq_set)
		fn->host.irq_signal(fn->opaque);
	else if (!old)
		fn->host.irq_set(fn->opaque, true);
	pthread_mutex_unlock(&fn->irq_lock);
}

static void mmio_irq_clear(struct vireo_mmio_function *fn, uint32_t bits)
{
	pthread_mutex_lock(&fn->irq_lock);
	if (fn->int_status && !(fn->int_status & ~bits) && fn->host.irq_set)
		fn->host.irq_set(fn->opaque, false);
	fn->int_status &= ~bits;
	pthread_mutex_unlock(&fn->irq_lock);
}

static uint32_t mmio_irq_status(struct vireo_mmio_function *fn)
{
	uint32_t v;

	pthread_mutex_lock(&fn->irq_lock);
	v = fn->int_status;
	pthread_mutex_unlock(&fn->irq_lock);
	return v;
}

/* Device thread: the core signalled a used buffer on some queue. */
static void mmio_vring_event(void *opaque, uint32_t events)
{
	struct vireo_mmio_function *fn = opaque;

	(void)events;
	if (vireo_eventfd_drain_fd(fn->vring_irq_fd))
		mmio_irq_raise(fn, VIREO_MMIO_INT_VRING);
}

/* Device thread: a config change (NEEDS_RESET comes this way too). */
static void mmio_config_event(void *opaque, uint32_t events)
{
	struct vireo_mmio_function *fn = opaque;

	(void)events;
	if (vireo_eventfd_drain_fd(fn->config_irq_fd))
		mmio_irq_raise(fn, VIREO_MMIO_INT_CONFIG);
}

/* ---- reset, queues (device thread) ---- */

static void mmio_queue_defaults(struct vireo_mmio_function *fn, struct mmio_queue *q)
{
	q->num = fn->dev->queue_max_size;
	q->desc = q->driver = q->device = 0;
	q->ready = false;
	vireo_eventfd_drain_fd(q->kick_fd);
}

/*
 * Status 0 (dev:BF/Device Reset): the core resets the model; D-MMIO-04:
 * InterruptStatus and every QueueReady read 0 afterwards, and (D-MMIO-07)
 * QueueReset too.
 */
static void mmio_reset(struct vireo_mmio_function *fn)
{
	struct vdev *dev = fn->dev;
	unsigned int i;
	int fd;

	vireo_vdev_reset(dev);
	for (i = 0; i < dev->num_queues; i++)
		mmio_queue_defaults(fn, &fn->queues[i]);
	fn->device_features_sel = fn->driver_features_sel = fn->queue_sel = fn->shm_sel = 0;
	fn->driver_features = fn->driver_features_hi = 0;
	__atomic_store_n(&fn->transport_acked, 0, __ATOMIC_RELAXED);
	vireo_eventfd_drain_fd(fn->vring_irq_fd);
	vireo_eventfd_drain_fd(fn->config_irq_fd);
	mmio_irq_clear(fn, ~0u);
	/* vireo_vdev_reset() closed the config fd it held: hand it a fresh one. */
	fd = dup(fn->config_irq_fd);
	if (fd < 0 || vireo_vdev_set_config_call_fd(dev, fd) < 0) {
		log_warn("%s: virtio-mmio: no config-change fd: config interrupts lost",
			 dev->name ? dev->name : "device");
		if (fd >= 0)
			close(fd);
	}
}

static struct mmio_queue *mmio_selected(struct vireo_mmio_function *fn)
{
	return fn->queue_sel < fn->dev->num_queues ? &fn->queues[fn->queue_sel] : NULL;
}

/* Hand the core its copies of our kick fd and of the interrupt fd. Return: 0 or -errno. */
static int mmio_queue_give_fds(struct vireo_mmio_function *fn, unsigned int i)
{
	int kick = dup(fn->queues[i].kick_fd), call = dup(fn->vring_irq_fd), ret;

	if (kick < 0 || call < 0) {
		ret = -errno;
		goto out_close;
	}
	/* The core takes a kick fd unless it says -EINVAL, a call fd only on 0. */
	ret = vireo_vdev_queue_set_kick_fd(fn->dev, i, kick);
	if (ret != -EINVAL)
		kick = -1;
	if (!ret) {
		ret = vireo_vdev_queue_set_call_fd(fn->dev, i, call);
		if (!ret) {
			call = -1;
			/*
			 * The core signals a fresh call fd once, for a driver that
			 * reconnected; ours comes with the queue, nothing can have
			 * been missed, and D-MMIO-03 forbids a bit for no event.
			 */
			fn->dev->queues[i].call_fresh = false;
		}
	}
out_close:
	if (kick >= 0)
		close(kick);
	if (call >= 0)
		close(call);
	return ret;
}

/*
 * QueueReady 1: the core checks size (power of two for split, ≤ max) and
 * places every ring part inside guest memory; a queue it refuses is a driver
 * error: DEVICE_NEEDS_RESET, and QueueReady stays 0.
 */
static void mmio_queue_enable(struct vireo_mmio_function *fn, unsigned int i)
{
	struct mmio_queue *q = &fn->queues[i];
	struct vdev *dev = fn->dev;
	char reason[128];
	const char *what = "size";
	int ret;

	ret = vireo_vdev_queue_set_num(dev, i, q->num);
	if (!ret) {
		what = "addresses";
		ret = vireo_vdev_queue_set_addr(dev, i, q->desc, q->driver, q->device);
	}
	if (!ret) {
		what = "eventfds";
		ret = mmio_queue_give_fds(fn, i);
	}
	if (!ret) {
		what = "ring (outside guest memory or misaligned)";
		ret = vireo_vdev_queue_enable(dev, i);
	}
	if (ret < 0) {
		snprintf(reason, sizeof(reason), "virtio-mmio queue %u (size %u): %s refused (%d)",
			 i, q->num, what, ret);
		vireo_vdev_set_needs_reset(dev, reason);
		return;
	}
	q->ready = true;
}

/* QueueReset 1 (§2.6.1, D-MMIO-08): done before the write returns, so it reads 0. */
static void mmio_queue_reset(struct vireo_mmio_function *fn, unsigned int i)
{
	const struct vring_dev_position start = {.avail_wrap = true, .used_wrap = true};

	vireo_vdev_queue_disable(fn->dev, i);
	(void)vireo_vdev_queue_set_position(fn->dev, i, &start);
	mmio_queue_defaults(fn, &fn->queues[i]);
}

/* ---- registers (device thread) ---- */

struct mmio_req {
	struct vireo_mmio_function *fn;
	uint64_t offset;
	unsigned int size;
	uint32_t value;
	int ret;
};

static uint32_t mmio_device_features(struct vireo_mmio_function *fn)
{
	uint64_t all = fn->dev->offered_features | fn->transport_offered;

	/* Bits DeviceFeaturesSel*32 .. +31 of the 128; 0 from select 4 up. */
	return vireo_feature_dword(all, fn->dev->offered_features_hi, fn->device_features_sel);
}

/* Return: 0 and *@v, or -EINVAL (refused and logged). */
static int mmio_read_control(struct vireo_mmio_function *fn, uint64_t off, uint32_t *v)
{
	struct mmio_queue *q = mmio_selected(fn);

	switch (off) {
	case VIREO_MMIO_DEVICE_FEATURES:
		*v = mmio_device_features(fn);
		return 0;
	case VIREO_MMIO_QUEUE_SIZE_MAX:
		/* 0: the queue is not available. */
		*v = q ? fn->dev->queue_max_size : 0;
		return 0;
	case VIREO_MMIO_QUEUE_READY:
		*v = q && q->ready;
		return 0;
	case VIREO_MMIO_STATUS:
		*v = vireo_vdev_get_status(fn->dev);
		return 0;
	case VIREO_MMIO_SHM_LEN_LOW:
	case VIREO_MMIO_SHM_LEN_HIGH:
	case VIREO_MMIO_SHM_BASE_LOW:
	case VIREO_MMIO_SHM_BASE_HIGH:
		/* No shared memory regions: every id is unused (length -1, base all ones). */
		*v = 0xffffffffu;
		return 0;
	case VIREO_MMIO_QUEUE_RESET:
		*v = 0; /* a queue reset completes within its write (D-MMIO-07/08) */
		return 0;
	case VIREO_MMIO_CONFIG_GENERATION:
		*v = fn->dev->config_generation;
		return 0;
	case VIREO_MMIO_DEVICE_FEATURES_SEL:
	case VIREO_MMIO_DRIVER_FEATURES:
	case VIREO_MMIO_DRIVER_FEATURES_SEL:
	case VIREO_MMIO_QUEUE_SEL:
	case VIREO_MMIO_QUEUE_SIZE:
	case VIREO_MMIO_QUEUE_NOTIFY:
	case VIREO_MMIO_INTERRUPT_ACK:
	case VIREO_MMIO_QUEUE_DESC_LOW:
	case VIREO_MMIO_QUEUE_DESC_HIGH:
	case VIREO_MMIO_QUEUE_DRIVER_LOW:
	case VIREO_MMIO_QUEUE_DRIVER_HIGH:
	case VIREO_MMIO_QUEUE_DEVICE_LOW:
	case VIREO_MMIO_QUEUE_DEVICE_HIGH:
	case VIREO_MMIO_SHM_SEL:
		/* R-MMIO-01: the driver MUST NOT read a write-only register. */
		*v = 0;
		return mmio_refuse(fn, MMIO_WO_READ, "read of a write-only register", off, 0);
	default:
		*v = 0;
		return mmio_refuse(fn, MMIO_BAD_ACCESS, "read of no register", off, 0);
	}
}

/* DriverFeatures: one 32-bit word of the driver's set; the core keeps its rules. */
static int mmio_write_driver_features(struct vireo_mmio_function *fn, uint32_t v)
{
	uint64_t set = fn->driver_features, set_hi = fn->driver_features_hi;
	unsigned int sel = fn->driver_features_sel;
	int ret;

	/* Bits 0-127 at select 0-3 (§2.2); a larger select has no bits to write. */
	if (!vireo_feature_set_dword(&set, &set_hi, sel, v))
		return v ? mmio_refuse(fn, MMIO_FEATURES, "feature bits above 127", 0x20, v) : 0;
	/* The core sees only its own bits; the transport's are ours to check. */
	ret = sel < 2 ? vireo_vdev_set_driver_features(fn->dev, set & ~fn->transport_offered)
		      : vireo_vdev_set_driver_features_hi(fn->dev, set_hi);
	if (ret < 0)
		/* §3.1.1: features are written between DRIVER and FEATURES_OK only. */
		return mmio_refuse(fn, MMIO_FEATURES,
				   "DriverFeatures write outside DRIVER..FEATURES_OK", 0x20, v);
	fn->driver_features = set;
	fn->driver_features_hi = set_hi;
	return 0;
}

static int mmio_write_status(struct vireo_mmio_function *fn, uint32_t v)
{
	uint8_t before = vireo_vdev_get_status(fn->dev);
	int ret;

	if (v > 0xff)
		return mmio_refuse(fn, MMIO_BAD_VALUE, "Status above 8 bits", VIREO_MMIO_STATUS, v);
	if (v == 0) {
		mmio_reset(fn);
		return 0;
	}
	ret = vireo_vdev_set_status(fn->dev, (uint8_t)v);
	if (ret < 0)
		/* The driver reads the status back (§3.1.1 step 6); nothing to add. */
		log_debug("%s: virtio-mmio: status %#x refused: %d",
			  fn->dev->name ? fn->dev->name : "device", v, ret);
	if (!(before & VIRTIO_STATUS_FEATURES_OK) &&
	    (vireo_vdev_get_status(fn->dev) & VIRTIO_STATUS_FEATURES_OK))
		__atomic_store_n(&fn->transport_acked, fn->driver_features & fn->transport_offered,
				 __ATOMIC_RELAXED);
	return 0;
}

/* Writes to the selected queue's registers. Return: 0 or -EINVAL. */
static int mmio_write_queue(struct vireo_mmio_function *fn, uint64_t off, uint32_t v)
{
	struct mmio_queue *q = mmio_selected(fn);
	unsigned int i = fn->queue_sel;

	if (!q)
		return mmio_refuse(fn, MMIO_BAD_QUEUE, "queue register with QueueSel out of range",
				   off, fn->queue_sel);
	if (off == VIREO_MMIO_QUEUE_READY) {
		if (v > 1)
			return mmio_refuse(fn, MMIO_BAD_VALUE, "QueueReady not 0 or 1", off, v);
		/* §3.1.1: queues come after FEATURES_OK (the ring format is known then), as PCI. */
		if (v && !(vireo_vdev_get_status(fn->dev) & VIRTIO_STATUS_FEATURES_OK))
			return mmio_refuse(fn, MMIO_BAD_VALUE, "QueueReady before FEATURES_OK", off,
					   v);
		if (v && !q->ready)
			mmio_queue_enable(fn, i);
		if (!v && q->ready) {
			vireo_vdev_queue_disable(fn->dev, i);
			q->ready = false;
		}
		return 0;
	}
	if (off == VIREO_MMIO_QUEUE_RESET) {
		if (v != 1 || !(__atomic_load_n(&fn->transport_acked, __ATOMIC_RELAXED) &
				VIRTIO_BIT(VIRTIO_F_RING_RESET)))
			return mmio_refuse(fn, MMIO_BAD_VALUE,
					   "QueueReset other than 1, or RING_RESET not negotiated",
					   off, v);
		mmio_queue_reset(fn, i);
		return 0;
	}
	/* R-MMIO-07: size and addresses are not touched while QueueReady is set. */
	if (q->ready)
		return mmio_refuse(fn, MMIO_BAD_QUEUE, "queue register written while QueueReady",
				   off, v);
	switch (off) {
	case VIREO_MMIO_QUEUE_SIZE:
		q->num = v; /* checked by the core at QueueReady */
		break;
	case VIREO_MMIO_QUEUE_DESC_LOW:
	case VIREO_MMIO_QUEUE_DESC_HIGH:
		q->desc = off & 4 ? (q->desc & 0xffffffffu) | ((uint64_t)v << 32)
				  : (q->desc & ~0xffffffffull) | v;
		break;
	case VIREO_MMIO_QUEUE_DRIVER_LOW:
	case VIREO_MMIO_QUEUE_DRIVER_HIGH:
		q->driver = off & 4 ? (q->driver & 0xffffffffu) | ((uint64_t)v << 32)
				    : (q->driver & ~0xffffffffull) | v;
		break;
	default:
		q->device = off & 4 ? (q->device & 0xffffffffu) | ((uint64_t)v << 32)
				    : (q->device & ~0xffffffffull) | v;
		break;
	}
	return 0;
}

static int mmio_write_control(struct vireo_mmio_function *fn, uint64_t off, uint32_t v)
{
	switch (off) {
	case VIREO_MMIO_DEVICE_FEATURES_SEL:
		fn->device_features_sel = v;
		return 0;
	case VIREO_MMIO_DRIVER_FEATURES:
		return mmio_write_driver_features(fn, v);
	case VIREO_MMIO_DRIVER_FEATURES_SEL:
		fn->driver_features_sel = v;
		return 0;
	case VIREO_MMIO_QUEUE_SEL:
		fn->queue_sel = v; /* checked where it is used */
		return 0;
	case VIREO_MMIO_SHM_SEL:
		fn->shm_sel = v;
		return 0;
	case VIREO_MMIO_STATUS:
		return mmio_write_status(fn, v);
	case VIREO_MMIO_QUEUE_SIZE:
	case VIREO_MMIO_QUEUE_READY:
	case VIREO_MMIO_QUEUE_RESET:
	case VIREO_MMIO_QUEUE_DESC_LOW:
	case VIREO_MMIO_QUEUE_DESC_HIGH:
	case VIREO_MMIO_QUEUE_DRIVER_LOW:
	case VIREO_MMIO_QUEUE_DRIVER_HIGH:
	case VIREO_MMIO_QUEUE_DEVICE_LOW:
	case VIREO_MMIO_QUEUE_DEVICE_HIGH:
		return mmio_write_queue(fn, off, v);
	case VIREO_MMIO_MAGIC_VALUE:
	case VIREO_MMIO_VERSION_REG:
	case VIREO_MMIO_DEVICE_ID:
	case VIREO_MMIO_VENDOR_ID:
	case VIREO_MMIO_DEVICE_FEATURES:
	case VIREO_MMIO_QUEUE_SIZE_MAX:
	case VIREO_MMIO_INTERRUPT_STATUS:
	case VIREO_MMIO_SHM_LEN_LOW:
	case VIREO_MMIO_SHM_LEN_HIGH:
	case VIREO_MMIO_SHM_BASE_LOW:
	case VIREO_MMIO_SHM_BASE_HIGH:
	case VIREO_MMIO_CONFIG_GENERATION:
		/* R-MMIO-01: the driver MUST NOT write a read-only register. */
		return mmio_refuse(fn, MMIO_RO_WRITE, "write of a read-only register", off, v);
	default:
		return mmio_refuse(fn, MMIO_BAD_ACCESS, "write of no register", off, v);
	}
}

/* Device config, little-endian, through the core's bounds (§4.2.2: byte-aligned space). */
static void mmio_do_config(struct vdev *dev, void *arg)
{
	struct mmio_req *r = arg;
	uint32_t off = (uint32_t)(r->offset - VIREO_MMIO_CONFIG);
	uint8_t b[4] = {0};
	unsigned int i;

	(void)dev;
	if (r->ret) { /* a write: r->ret was 1 */
		for (i = 0; i < r->size; i++)
			b[i] = (uint8_t)(r->value >> (8 * i));
		r->ret = vireo_vdev_config_write(r->fn->dev, off, b, r->size);
	} else {
		r->ret = vireo_vdev_config_read(r->fn->dev, off, b, r->size);
		r->value = 0;
		for (i = 0; i < r->size; i++)
			r->value |= (uint32_t)b[i] << (8 * i);
	}
	if (r->ret < 0) {
		r->value = 0;
		r->ret = mmio_refuse(r->fn, MMIO_CONFIG, "config access outside the model's",
				     r->offset, r->value);
	}
}

static void mmio_do_read(struct vdev *dev, void *arg)
{
	struct mmio_req *r = arg;

	(void)dev;
	r->ret = mmio_read_control(r->fn, r->offset, &r->value);
}

static void mmio_do_write(struct vdev *dev, void *arg)
{
	struct mmio_req *r = arg;

	(void)dev;
	r->ret = mmio_write_control(r->fn, r->offset, r->value);
}

/* Return: 0 if the access has a legal width and alignment (R-MMIO-02), else -EINVAL. */
static int mmio_check_access(struct vireo_mmio_function *fn, uint64_t off, unsigned int size,
			     uint32_t v)
{
	if (off < VIREO_MMIO_CONFIG) {
		if (size == 4 && off % 4 == 0)
			return 0;
		return mmio_refuse(fn, MMIO_BAD_ACCESS,
				   "control register access not 32-bit aligned", off, v);
	}
	/* The core takes a 32-bit config offset: nothing beyond may wrap back into it. */
	if (off - VIREO_MMIO_CONFIG > UINT32_MAX - 4u)
		return mmio_refuse(fn, MMIO_CONFIG, "config access beyond any config space", off,
				   v);
	if ((size == 1 || size == 2 || size == 4) && off % size == 0)
		return 0;
	return mmio_refuse(fn, MMIO_BAD_ACCESS, "config access of a bad width or alignment", off,
			   v);
}

int vireo_mmio_read(struct vireo_mmio_function *fn, uint64_t offset, unsigned int size,
		    uint32_t *value)
{
	struct mmio_req r = {.fn = fn, .offset = offset, .size = size};
	int ret;

	*value = 0;
	ret = mmio_check_access(fn, offset, size, 0);
	if (ret < 0)
		return ret;
	/* Constants and InterruptStatus: no trip to the device thread. */
	switch (offset) {
	case VIREO_MMIO_MAGIC_VALUE:
		*value = VIREO_MMIO_MAGIC; /* D-MMIO-01 */
		return 0;
	case VIREO_MMIO_VERSION_REG:
		*value = VIREO_MMIO_VERSION; /* D-MMIO-02 */
		return 0;
	case VIREO_MMIO_DEVICE_ID:
		*value = fn->dev->device_id;
		return 0;
	case VIREO_MMIO_VENDOR_ID:
		*value = fn->vendor_id;
		return 0;
	case VIREO_MMIO_INTERRUPT_STATUS:
		*value = mmio_irq_status(fn);
		return 0;
	default:
		break;
	}
	ret = vdev_thread_call(&fn->thread,
			       offset < VIREO_MMIO_CONFIG ? mmio_do_read : mmio_do_config, &r);
	if (ret < 0)
		return ret;
	*value = r.value;
	return r.ret;
}

/* QueueNotify on the caller's thread: one eventfd write, as an ioeventfd would. */
static int mmio_notify(struct vireo_mmio_function *fn, uint32_t v)
{
	bool data = __atomic_load_n(&fn->transport_acked, __ATOMIC_RELAXED) &
		    VIRTIO_BIT(VIRTIO_F_NOTIFICATION_DATA);
	/* §4.2.2: the queue index, or (NOTIFICATION_DATA) its low 16 bits. */
	uint32_t index = data ? VIREO_NOTIFY_DATA_QUEUE(v) : v;

	if (index >= fn->dev->num_queues)
		return mmio_refuse(fn, MMIO_BAD_QUEUE, "QueueNotify of no queue",
				   VIREO_MMIO_QUEUE_NOTIFY, v);
	/* D-MMIO-06: the core does not watch the fd of a queue that is not ready. */
	return vireo_eventfd_signal_fd(fn->queues[index].kick_fd);
}

int vireo_mmio_write(struct vireo_mmio_function *fn, uint64_t offset, unsigned int size,
		     uint32_t value)
{
	struct mmio_req r = {.fn = fn, .offset = offset, .size = size, .value = value, .ret = 1};
	int ret = mmio_check_access(fn, offset, size, value);

	if (ret < 0)
		return ret;
	if (offset == VIREO_MMIO_QUEUE_NOTIFY)
		return mmio_notify(fn, value);
	if (offset == VIREO_MMIO_INTERRUPT_ACK) {
		/* R-MMIO-10 forbids undefined bits; the defined ones are still acknowledged. */
		mmio_irq_clear(fn, value & (VIREO_MMIO_INT_VRING | VIREO_MMIO_INT_CONFIG));
		if (value & ~(uint32_t)(VIREO_MMIO_INT_VRING | VIREO_MMIO_INT_CONFIG))
			return mmio_refuse(fn, MMIO_BAD_VALUE, "InterruptACK of undefined bits",
					   offset, value);
		return 0;
	}
	ret = vdev_thread_call(&fn->thread,
			       offset < VIREO_MMIO_CONFIG ? mmio_do_write : mmio_do_config, &r);
	return ret < 0 ? ret : r.ret;
}

/* ---- life cycle ---- */

static void mmio_do_attach(struct vdev *dev, void *arg)
{
	struct vireo_mmio_function *fn = arg;
	int ret;

	vireo_vdev_set_memory(dev, fn->mem);
	vireo_vdev_set_event_loop(dev, &fn->thread.loop);
	ret = vireo_event_loop_add(&fn->thread.loop, fn->vring_irq_fd, mmio_vring_event, fn);
	if (!ret)
		ret = vireo_event_loop_add(&fn->thread.loop, fn->config_irq_fd, mmio_config_event,
					   fn);
	if (ret < 0)
		log_warn("%s: virtio-mmio: cannot watch the interrupt fds: %d",
			 dev->name ? dev->name : "device", ret);
	fn->attached = ret == 0;
	mmio_reset(fn);
}

static void mmio_do_detach(struct vdev *dev, void *arg)
{
	struct vireo_mmio_function *fn = arg;

	vireo_vdev_reset(dev);
	(void)vireo_vdev_set_config_call_fd(dev, -1);
	(void)vireo_event_loop_remove(&fn->thread.loop, fn->vring_irq_fd);
	(void)vireo_event_loop_remove(&fn->thread.loop, fn->config_irq_fd);
	vireo_vdev_set_event_loop(dev, NULL);
	vireo_vdev_set_memory(dev, NULL);
}

static void mmio_close_fds(struct vireo_mmio_function *fn)
{
	unsigned int i;

	for (i = 0; i < VDEV_MAX_QUEUES; i++)
		if (fn->queues[i].kick_fd >= 0)
			close(fn->queues[i].kick_fd);
	if (fn->vring_irq_fd >= 0)
		close(fn->vring_irq_fd);
	if (fn->config_irq_fd >= 0)
		close(fn->config_irq_fd);
}

/* Return: 0 or -errno from eventfd. */
static int mmio_open_fds(struct vireo_mmio_function *fn)
{
	unsigned int i;

	fn->vring_irq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	fn->config_irq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fn->vring_irq_fd < 0 || fn->config_irq_fd < 0)
		return -errno;
	for (i = 0; i < fn->dev->num_queues; i++) {
		fn->queues[i].kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (fn->queues[i].kick_fd < 0)
			return -errno;
	}
	return 0;
}

static struct vireo_mmio_function *mmio_alloc(struct vdev *dev, const struct guest_mem *mem,
					      const struct vireo_mmio_function_options *opts)
{
	struct vireo_mmio_function *fn = calloc(1, sizeof(*fn));
	unsigned int i;

	if (!fn)
		return NULL;
	fn->dev = dev;
	fn->mem = mem;
	fn->vring_irq_fd = fn->config_irq_fd = -1;
	for (i = 0; i < VDEV_MAX_QUEUES; i++)
		fn->queues[i].kick_fd = -1;
	fn->transport_offered = MMIO_TRANSPORT_FEATURES;
	if (opts) {
		fn->vendor_id = opts->vendor_id;
		if (opts->hide_notification_data)
			fn->transport_offered &= ~VIRTIO_BIT(VIRTIO_F_NOTIFICATION_DATA);
		if (opts->hide_ring_reset)
			fn->transport_offered &= ~VIRTIO_BIT(VIRTIO_F_RING_RESET);
	}
	pthread_mutex_init(&fn->irq_lock, NULL);
	return fn;
}

int vireo_mmio_function_new(struct vdev *dev, const struct guest_mem *mem,
			    const struct vireo_mmio_function_options *opts,
			    const struct vireo_mmio_host_ops *host, void *opaque,
			    struct vireo_mmio_function **out)
{
	struct vireo_mmio_function *fn;
	int ret;

	if (!dev || !mem || !host || (!host->irq_set && !host->irq_signal))
		return -EINVAL;
	fn = mmio_alloc(dev, mem, opts);
	if (!fn)
		return -ENOMEM;
	fn->host = *host;
	fn->opaque = opaque;
	ret = mmio_open_fds(fn);
	if (!ret)
		ret = vdev_thread_start(&fn->thread, dev);
	if (ret < 0)
		goto out_free;
	ret = vdev_thread_call(&fn->thread, mmio_do_attach, fn);
	if (!ret && !fn->attached)
		ret = -ENOSPC;
	if (ret < 0) {
		vireo_mmio_function_free(fn);
		return ret;
	}
	*out = fn;
	return 0;

out_free:
	mmio_close_fds(fn);
	pthread_mutex_destroy(&fn->irq_lock);
	free(fn);
	return ret;
}

void vireo_mmio_function_free(struct vireo_mmio_function *fn)
{
	if (!fn)
		return;
	(void)vdev_thread_call(&fn->thread, mmio_do_detach, fn);
	vdev_thread_stop(&fn->thread);
	mmio_close_fds(fn);
	pthread_mutex_destroy(&fn->irq_lock);
	free(fn);
}

int vireo_mmio_function_run_in_device(struct vireo_mmio_function *fn,
				      void (*cb)(struct vdev *dev, void *arg), void *arg)
{
	return vdev_thread_call(&fn->thread, cb, arg);
}

int vireo_mmio_function_notify_fd(struct vireo_mmio_function *fn, unsigned int queue)
{
	return queue < fn->dev->num_queues ? fn->queues[queue].kick_fd : -EINVAL;
}

uint64_t vireo_mmio_function_size(const struct vireo_mmio_function *fn)
{
	return VIREO_MMIO_CONFIG + (uint64_t)fn->dev->config_size;
}
