// SPDX-License-Identifier: MIT
/*
 * virtio-mmio version 2, driver role (virtio 1.2 §4.2, §4.2.3): struct
 * virtio_config_ops over one register block reached through access ops.
 * The device is hostile until checked: a block that is not "virt" version 2
 * is refused, a queue it calls unavailable fails the probe, features that
 * change under us fail negotiation, and every wait on the device is bounded.
 *
 * One interrupt line serves every queue: whichever thread waits when it
 * fires reads InterruptStatus, acknowledges it and passes a used-buffer event
 * to each queue through a private eventfd, so a thread driving one queue
 * never swallows the notification another thread waits for.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <vireo/dma.h>
#include <vireo/event_loop.h>
#include <vireo/log.h>
#include <vireo/spec.h>
#include <vireo/virtio_mmio_driver.h>
#include <vireo/virtio_ring_alloc.h>

#include "transport/driver_queue.h"
#include "transport/queue_owner.h"

#define MMIO_DRV_MAX_QUEUES 64u
#define MMIO_DRV_DEFAULT_DMA (8u << 20)
#define MMIO_DRV_QUEUE_CAP 1024u
/* How long a reset or a queue reset may take before we give up on the device. */
#define MMIO_DRV_RESET_POLLS 1000u
#define MMIO_DRV_RESET_POLL_US 1000u

struct mmio_drv_queue {
	struct driver_queue dq;
	int event_fd; /* used-buffer events passed on by the interrupt handler */
};

struct vireo_mmio_device {
	struct virtio_device vdev;
	const struct vireo_mmio_access_ops *ops;
	void *opaque;
	struct vireo_mmio_device_options opts;
	struct virtio_dma_arena arena;
	bool arena_ready;
	bool mapped;
	bool registered;
	_Atomic bool broken; /* a reset never completed: the device is not talked to again */
	int irq_fd;
	uint64_t device_features;    /* as read by get_features */
	uint64_t device_features_hi; /* bits 64-127, as read by get_features_hi */
	pthread_mutex_t irq_lock;    /* one interrupt handler at a time */
	unsigned int nvqs;
	struct mmio_drv_queue queues[MMIO_DRV_MAX_QUEUES];
};

static const struct virtio_config_ops mmio_drv_config_ops;

static struct vireo_mmio_device *to_mmio(struct virtio_device *vdev)
{
	return vdev->transport;
}

/* The device cannot be trusted with anything more: one log line, then reads 0, writes fail. */
static void mmio_break(struct vireo_mmio_device *d, const char *why)
{
	/* Relaxed: the flag carries no data; whoever sees it just fails (as virtio-pci's). */
	if (!atomic_exchange_explicit(&d->broken, true, memory_order_relaxed))
		log_error("virtio-mmio: %s; the device is broken", why);
}

static bool mmio_broken(struct vireo_mmio_device *d)
{
	return atomic_load_explicit(&d->broken, memory_order_relaxed);
}

/* A register read; a failed access reads 0, like a device that is gone. */
static uint32_t mmio_rd(struct vireo_mmio_device *d, uint64_t off)
{
	uint32_t v = 0;

	if (mmio_broken(d))
		return 0;
	/* R-MMIO-02: control registers are read 32 bits wide and aligned. */
	if (d->ops->read(d->opaque, off, 4, &v) < 0) {
		log_debug("virtio-mmio: read of %#llx failed", (unsigned long long)off);
		return 0;
	}
	return v;
}

static int mmio_wr(struct vireo_mmio_device *d, uint64_t off, uint32_t v)
{
	int ret = mmio_broken(d) ? -EIO : d->ops->write(d->opaque, off, 4, v);

	if (ret < 0)
		log_debug("virtio-mmio: write of %#x to %#llx failed: %d", v,
			  (unsigned long long)off, ret);
	return ret;
}

/* ---- config space (R-MMIO-02: 8-bit fields by bytes, aligned 16/32 otherwise) ---- */

static unsigned int mmio_cfg_width(unsigned int offset, unsigned int left)
{
	if (left >= 4 && offset % 4 == 0)
		return 4;
	if (left >= 2 && offset % 2 == 0)
		return 2;
	return 1;
}

static void mmio_get(struct virtio_device *vdev, unsigned int offset, void *buf, unsigned int len)
{
	struct vireo_mmio_device *d = to_mmio(vdev);
	uint8_t *p = buf;
	unsigned int done = 0, w, i;
	uint32_t v;

	while (done < len) {
		w = mmio_cfg_width(offset + done, len - done);
		v = 0;
		if (d->ops->read(d->opaque, VIREO_MMIO_CONFIG + offset + done, w, &v) < 0)
			log_warn("virtio-mmio: config read [%u, +%u) failed", offset + done, w);
		for (i = 0; i < w; i++) /* little-endian (§2.5) */
			p[done + i] = (uint8_t)(v >> (8 * i));
		done += w;
	}
}

static void mmio_set(struct virtio_device *vdev, unsigned int offset, const void *buf,
		     unsigned int len)
{
	struct vireo_mmio_device *d = to_mmio(vdev);
	const uint8_t *p = buf;
	unsigned int done = 0, w, i;
	uint32_t v;

	while (done < len) {
		w = mmio_cfg_width(offset + done, len - done);
		for (v = 0, i = 0; i < w; i++)
			v |= (uint32_t)p[done + i] << (8 * i);
		if (d->ops->write(d->opaque, VIREO_MMIO_CONFIG + offset + done, w, v) < 0)
			log_warn("virtio-mmio: config write [%u, +%u) failed", offset + done, w);
		done += w;
	}
}

/* §2.5.1 / §4.2.2 ConfigGeneration; the bus bounds its retry loop (virtio_cread). */
static uint32_t mmio_generation(struct virtio_device *vdev)
{
	return mmio_rd(to_mmio(vdev), VIREO_MMIO_CONFIG_GENERATION);
}

static uint8_t mmio_get_status(struct virtio_device *vdev)
{
	struct vireo_mmio_device *d = to_mmio(vdev);
	uint8_t s = (uint8_t)mmio_rd(d, VIREO_MMIO_STATUS);

	return mmio_broken(d) ? (uint8_t)(s | VIRTIO_STATUS_DEVICE_NEEDS_RESET) : s;
}

static void mmio_set_status(struct virtio_device *vdev, uint8_t status)
{
	(void)mmio_wr(to_mmio(vdev), VIREO_MMIO_STATUS, status);
}

/*
 * Reset: write 0, then wait (bounded) until Status reads 0 (drv:BF/Device Reset). A device
 * that never does may still use the rings and buffers we are about to free: broken.
 */
static void mmio_reset_dev(struct virtio_device *vdev)
{
	struct vireo_mmio_device *d = to_mmio(vdev);
	unsigned int i;

	(void)mmio_wr(d, VIREO_MMIO_STATUS, 0);
	for (i = 0; i < MMIO_DRV_RESET_POLLS; i++) {
		if (mmio_rd(d, VIREO_MMIO_STATUS) == 0)
			return;
		usleep(MMIO_DRV_RESET_POLL_US);
	}
	mmio_break(d, "device status never read 0 after reset");
}

/* Offered bits 0-63 (@sel 0) or 64-127 (@sel 2). */
static uint64_t mmio_read_features(struct vireo_mmio_device *d, uint32_t sel)
{
	uint64_t lo, hi;

	/* R-MMIO-05: DeviceFeaturesSel before each DeviceFeatures read. */
	(void)mmio_wr(d, VIREO_MMIO_DEVICE_FEATURES_SEL, sel);
	lo = mmio_rd(d, VIREO_MMIO_DEVICE_FEATURES);
	(void)mmio_wr(d, VIREO_MMIO_DEVICE_FEATURES_SEL, sel + 1);
	hi = mmio_rd(d, VIREO_MMIO_DEVICE_FEATURES);
	return lo | hi << 32;
}

static uint64_t mmio_get_features(struct virtio_device *vdev)
{
	struct vireo_mmio_device *d = to_mmio(vdev);

	d->device_features = mmio_read_features(d, 0);
	return d->device_features;
}

/* Bits 64-127: DeviceFeaturesSel 2 and 3 (§2.2, §4.2.2). */
static uint64_t mmio_get_features_hi(struct virtio_device *vdev)
{
	struct vireo_mmio_device *d = to_mmio(vdev);

	d->device_features_hi = mmio_read_features(d, 2);
	return d->device_features_hi;
}

/* Transport bits this driver implements; the bus knows only ring and device bits. */
static uint64_t mmio_transport_features(const struct vireo_mmio_device *d)
{
	uint64_t want = 0;

	if (!d->opts.no_notification_data)
		want |= VIRTIO_BIT(VIRTIO_F_NOTIFICATION_DATA);
	if (!d->opts.no_ring_reset)
		want |= VIRTIO_BIT(VIRTIO_F_RING_RESET);
	return want;
}

/* Return: 0, -EPROTO (the offer changed since get_features), or the write's -errno. */
static int mmio_finalize_features(struct virtio_device *vdev)
{
	struct vireo_mmio_device *d = to_mmio(vdev);
	uint64_t now = mmio_read_features(d, 0), now_hi = mmio_read_features(d, 2);
	uint32_t sel;
	int ret = 0;

	if (now != d->device_features || now_hi != d->device_features_hi) {
		log_error("virtio-mmio: device features changed under the driver (%#llx, then "
			  "%#llx); device refused",
			  (unsigned long long)d->device_features, (unsigned long long)now);
		return -EPROTO;
	}
	vdev->features |= d->device_features & mmio_transport_features(d);
	/* R-MMIO-05: DriverFeaturesSel before each DriverFeatures write; 2 and 3 if offered. */
	for (sel = 0; !ret && sel < (now_hi ? 4u : 2u); sel++) {
		ret = mmio_wr(d, VIREO_MMIO_DRIVER_FEATURES_SEL, sel);
		if (!ret)
			ret = mmio_wr(d, VIREO_MMIO_DRIVER_FEATURES,
				      vireo_feature_dword(vdev->features, vdev->features_hi, sel));
	}
	return ret;
}

static const char *mmio_bus_name(struct virtio_device *vdev)
{
	(void)vdev;
	return "virtio-mmio";
}

/* ---- queues ---- */

/* QueueNotify: the index, or with NOTIFICATION_DATA where the driver stopped (§2.9). */
static bool mmio_notify(struct virtqueue *vq)
{
	struct vireo_mmio_device *d = to_mmio(vq->vdev);
	struct mmio_drv_queue *q = &d->queues[vq->index];
	uint32_t v = vq->index;

	queue_owner_claim(&q->dq.owner);
	if (virtio_has_feature(vq->vdev, VIRTIO_F_NOTIFICATION_DATA))
		v = virtqueue_notification_data(vq);
	return mmio_wr(d, VIREO_MMIO_QUEUE_NOTIFY, v) == 0;
}

static void mmio_queue_release(struct vireo_mmio_device *d, struct mmio_drv_queue *q)
{
	driver_queue_release(&q->dq, &d->vdev);
	if (q->event_fd >= 0)
		close(q->event_fd);
	q->event_fd = -1;
}

/* Split rings need a power of two (§2.7); a device's odd maximum is rounded down. */
static unsigned int mmio_queue_num(const struct vireo_mmio_device *d, uint32_t max)
{
	unsigned int cap = d->opts.max_queue_size ? d->opts.max_queue_size : MMIO_DRV_QUEUE_CAP;
	unsigned int num = max < cap ? max : cap, p = 1;

	if (virtio_has_feature(&d->vdev, VIRTIO_F_RING_PACKED))
		return num > VIRTQ_PACKED_MAX_SIZE ? VIRTQ_PACKED_MAX_SIZE : num;
	while (p * 2 <= num && p < VIRTQ_SPLIT_MAX_SIZE)
		p *= 2;
	return p;
}

/*
 * The queue registers, in §4.2.3.2's order: QueueSize, the three address
 * pairs, QueueReady 1, read back. Return: 0 or -EIO (the device refused).
 */
static int mmio_queue_program(struct vireo_mmio_device *d, unsigned int i)
{
	struct virtio_vring_alloc *r = &d->queues[i].dq.ring;

	(void)mmio_wr(d, VIREO_MMIO_QUEUE_SEL, i);
	(void)mmio_wr(d, VIREO_MMIO_QUEUE_SIZE, r->num);
	(void)mmio_wr(d, VIREO_MMIO_QUEUE_DESC_LOW, (uint32_t)r->desc_addr);
	(void)mmio_wr(d, VIREO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(r->desc_addr >> 32));
	(void)mmio_wr(d, VIREO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)r->avail_addr);
	(void)mmio_wr(d, VIREO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(r->avail_addr >> 32));
	(void)mmio_wr(d, VIREO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)r->used_addr);
	(void)mmio_wr(d, VIREO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(r->used_addr >> 32));
	(void)mmio_wr(d, VIREO_MMIO_QUEUE_READY, 1);
	if (mmio_rd(d, VIREO_MMIO_QUEUE_READY) != 1) {
		log_error("virtio-mmio: the device did not enable queue %u", i);
		return -EIO;
	}
	return 0;
}

/* Ring memory for queue @i of @num entries. Return: 0 or -ENOMEM/-EINVAL. */
static int mmio_queue_alloc(struct vireo_mmio_device *d, unsigned int i, unsigned int num,
			    virtqueue_callback *callback, const char *name)
{
	struct mmio_drv_queue *q = &d->queues[i];

	return driver_queue_alloc(&q->dq, &d->vdev, (uint16_t)num,
				  &(struct driver_queue_binding){.index = i,
								 .name = name,
								 .callback = callback,
								 .notify = mmio_notify,
								 .priv = q});
}

/* Return: 0; -EBUSY (already in use); -ENOENT (not available); -ENOMEM; -EIO; -errno. */
static int mmio_setup_queue(struct vireo_mmio_device *d, unsigned int i,
			    virtqueue_callback *callback, const char *name)
{
	struct mmio_drv_queue *q = &d->queues[i];
	uint32_t max;
	int ret;

	(void)mmio_wr(d, VIREO_MMIO_QUEUE_SEL, i);
	if (mmio_rd(d, VIREO_MMIO_QUEUE_READY) != 0) {
		log_error("virtio-mmio: queue %u is already in use after reset", i);
		return -EBUSY;
	}
	max = mmio_rd(d, VIREO_MMIO_QUEUE_SIZE_MAX);
	if (max == 0) {
		log_error("virtio-mmio: queue %u is not available (QueueSizeMax 0)", i);
		return -ENOENT;
	}
	q->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->event_fd < 0)
		return -errno;
	/* R-MMIO-06: QueueSize never above QueueSizeMax. */
	ret = mmio_queue_alloc(d, i, mmio_queue_num(d, max), callback, name);
	if (!ret)
		ret = mmio_queue_program(d, i);
	if (ret < 0)
		mmio_queue_release(d, q);
	return ret;
}

/* R-MMIO-08: to stop a queue, write 0 to QueueReady and read it back. */
static void mmio_queue_stop(struct vireo_mmio_device *d, unsigned int i)
{
	(void)mmio_wr(d, VIREO_MMIO_QUEUE_SEL, i);
	(void)mmio_wr(d, VIREO_MMIO_QUEUE_READY, 0);
	if (mmio_rd(d, VIREO_MMIO_QUEUE_READY) != 0)
		log_warn("virtio-mmio: queue %u still reads ready after QueueReady 0", i);
}

static void mmio_del_vqs(struct virtio_device *vdev)
{
	struct vireo_mmio_device *d = to_mmio(vdev);
	unsigned int i;

	for (i = 0; i < d->nvqs; i++) {
		mmio_queue_stop(d, i);
		mmio_queue_release(d, &d->queues[i]);
	}
	d->nvqs = 0;
}

static int mmio_find_vqs(struct virtio_device *vdev, unsigned int nvqs, struct virtqueue *vqs[],
			 virtqueue_callback *callbacks[], const char *const names[])
{
	struct vireo_mmio_device *d = to_mmio(vdev);
	unsigned int i;
	int ret;

	if (d->nvqs)
		return -EBUSY;
	if (nvqs == 0 || nvqs > MMIO_DRV_MAX_QUEUES)
		return -EINVAL;
	if (mmio_broken(d))
		return -EIO;
	for (i = 0; i < nvqs; i++) {
		ret = mmio_setup_queue(d, i, callbacks ? callbacks[i] : NULL,
				       names ? names[i] : NULL);
		if (ret < 0) {
			mmio_del_vqs(vdev);
			return ret;
		}
		d->nvqs = i + 1;
		vqs[i] = &d->queues[i].dq.vq;
	}
	return 0;
}

/* ---- the interrupt (R-MMIO-15) ---- */

static void mmio_handle_irq(struct vireo_mmio_device *d)
{
	uint32_t status, handled;
	unsigned int i;

	pthread_mutex_lock(&d->irq_lock);
	vireo_eventfd_drain_fd(d->irq_fd);
	status = mmio_rd(d, VIREO_MMIO_INTERRUPT_STATUS);
	/* R-MMIO-09/10: undefined bits are ignored and never acknowledged. */
	handled = status & (VIREO_MMIO_INT_VRING | VIREO_MMIO_INT_CONFIG);
	if (handled)
		(void)mmio_wr(d, VIREO_MMIO_INTERRUPT_ACK, handled);
	pthread_mutex_unlock(&d->irq_lock);
	/* One bit for every queue: each learns it through its own eventfd. */
	if (handled & VIREO_MMIO_INT_VRING)
		for (i = 0; i < d->nvqs; i++)
			(void)vireo_eventfd_signal_fd(d->queues[i].event_fd);
	if (handled & VIREO_MMIO_INT_CONFIG)
		virtio_config_changed(&d->vdev);
}

/* The caller's queues (it kicked them last), or all of them. Return: how many. */
static unsigned int mmio_wait_select(struct vireo_mmio_device *d, unsigned int *idx)
{
	return queue_owner_select(&d->queues[0].dq.owner, sizeof(d->queues[0]), d->nvqs, idx);
}

/* Return: 0, -ETIMEDOUT or -errno from poll. */
static int mmio_wait(struct virtio_device *vdev, int timeout_ms)
{
	struct vireo_mmio_device *d = to_mmio(vdev);
	struct pollfd pfd[MMIO_DRV_MAX_QUEUES + 1];
	unsigned int idx[MMIO_DRV_MAX_QUEUES];
	unsigned int i, n = mmio_wait_select(d, idx);
	int ret;

	pfd[0] = (struct pollfd){.fd = d->irq_fd, .events = POLLIN};
	for (i = 0; i < n; i++)
		pfd[i + 1] = (struct pollfd){.fd = d->queues[idx[i]].event_fd, .events = POLLIN};
	do
		ret = poll(pfd, n + 1, timeout_ms);
	while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	if (ret == 0)
		return -ETIMEDOUT;
	if (pfd[0].revents & POLLIN)
		mmio_handle_irq(d);
	for (i = 0; i < n; i++) {
		struct virtqueue *vq = &d->queues[idx[i]].dq.vq;

		if (vireo_eventfd_drain_fd(d->queues[idx[i]].event_fd) && vq->callback)
			vq->callback(vq);
	}
	return 0;
}

static const struct virtio_config_ops mmio_drv_config_ops = {
	.get = mmio_get,
	.set = mmio_set,
	.generation = mmio_generation,
	.get_status = mmio_get_status,
	.set_status = mmio_set_status,
	.reset = mmio_reset_dev,
	.get_features = mmio_get_features,
	.get_features_hi = mmio_get_features_hi,
	.finalize_features = mmio_finalize_features,
	.find_vqs = mmio_find_vqs,
	.del_vqs = mmio_del_vqs,
	.wait = mmio_wait,
	.bus_name = mmio_bus_name,
};

/* ---- queue reset (§2.6.1, VIRTIO_F_RING_RESET) ---- */

/* A fresh ring of @num entries for queue @i, programmed and ready. Return: 0 or -errno. */
static int mmio_queue_renew(struct vireo_mmio_device *d, unsigned int i, unsigned int num)
{
	struct mmio_drv_queue *q = &d->queues[i];
	int ret;

	vireo_eventfd_drain_fd(q->event_fd);
	ret = driver_queue_renew(&q->dq, &d->vdev, (uint16_t)num);
	return ret < 0 ? ret : mmio_queue_program(d, i);
}

int vireo_mmio_queue_reset(struct virtio_device *vdev, unsigned int index,
			   void (*unused)(void *token, void *arg), void *arg)
{
	struct vireo_mmio_device *d;
	struct mmio_drv_queue *q;
	unsigned int i, num;
	void *token;

	if (vdev->config != &mmio_drv_config_ops)
		return -EINVAL;
	d = to_mmio(vdev);
	if (!virtio_has_feature(vdev, VIRTIO_F_RING_RESET))
		return -EOPNOTSUPP;
	if (index >= d->nvqs)
		return -EINVAL;
	q = &d->queues[index];
	(void)mmio_wr(d, VIREO_MMIO_QUEUE_SEL, index);
	(void)mmio_wr(d, VIREO_MMIO_QUEUE_RESET, 1);
	/* R-MMIO-11: not complete until QueueReset reads 0 again. */
	for (i = 0; mmio_rd(d, VIREO_MMIO_QUEUE_RESET) != 0; i++) {
		if (i == MMIO_DRV_RESET_POLLS) {
			log_error("virtio-mmio: queue %u: QueueReset never read 0", index);
			return -ETIMEDOUT;
		}
		usleep(MMIO_DRV_RESET_POLL_US);
	}
	while ((token = virtqueue_detach_unused_buf(&q->dq.vq)) != NULL)
		if (unused)
			unused(token, arg);
	num = q->dq.ring.num;
	return mmio_queue_renew(d, index, num);
}

/* ---- life cycle ---- */

/* R-MMIO-12: MagicValue and Version first. Return: 0 or -ENODEV (logged). */
static int mmio_check_block(const struct vireo_mmio_access_ops *ops, void *opaque)
{
	uint32_t magic = 0, version = 0;

	if (ops->read(opaque, VIREO_MMIO_MAGIC_VALUE, 4, &magic) < 0 || magic != VIREO_MMIO_MAGIC) {
		/* R-MMIO-03: ignored; an error may be reported. */
		log_error("virtio-mmio: magic value %#x is not \"virt\"; device ignored", magic);
		return -ENODEV;
	}
	if (ops->read(opaque, VIREO_MMIO_VERSION_REG, 4, &version) < 0 ||
	    version != VIREO_MMIO_VERSION) {
		log_error("virtio-mmio: version %u (1 is legacy) is not 2; device ignored",
			  version);
		return -ENODEV;
	}
	return 0;
}

static void mmio_device_destroy(struct vireo_mmio_device *d)
{
	unsigned int i;

	if (d->registered)
		vireo_unregister_virtio_device(&d->vdev);
	mmio_del_vqs(&d->vdev);
	/* The device stops using our memory before it is unmapped. */
	(void)mmio_wr(d, VIREO_MMIO_STATUS, 0);
	if (d->irq_fd >= 0) {
		if (d->ops->set_irq_eventfd)
			(void)d->ops->set_irq_eventfd(d->opaque, -1);
		close(d->irq_fd);
	}
	if (d->mapped && d->ops->dma_unmap)
		(void)d->ops->dma_unmap(d->opaque, d->arena.dma_base, d->arena.size);
	if (d->arena_ready)
		virtio_dma_arena_destroy(&d->arena);
	for (i = 0; i < MMIO_DRV_MAX_QUEUES; i++)
		if (d->queues[i].event_fd >= 0)
			close(d->queues[i].event_fd);
	pthread_mutex_destroy(&d->irq_lock);
	free(d);
}

static struct vireo_mmio_device *mmio_device_alloc(const struct vireo_mmio_access_ops *ops,
						   void *opaque,
						   const struct vireo_mmio_device_options *opts)
{
	struct vireo_mmio_device *d = calloc(1, sizeof(*d));
	unsigned int i;

	if (!d)
		return NULL;
	d->ops = ops;
	d->opaque = opaque;
	if (opts)
		d->opts = *opts;
	d->irq_fd = -1;
	for (i = 0; i < MMIO_DRV_MAX_QUEUES; i++)
		d->queues[i].event_fd = -1;
	pthread_mutex_init(&d->irq_lock, NULL);
	d->vdev.config = &mmio_drv_config_ops;
	d->vdev.transport = d;
	d->vdev.dma = &d->arena;
	return d;
}

/* DMA arena, mapped for the device; the interrupt eventfd. Return: 0 or -errno. */
static int mmio_device_setup(struct vireo_mmio_device *d)
{
	size_t bytes = d->opts.dma_bytes ? d->opts.dma_bytes : MMIO_DRV_DEFAULT_DMA;
	uint64_t base = d->opts.dma_base ? d->opts.dma_base : VIREO_MMIO_DMA_BASE;
	int ret = virtio_dma_arena_init(&d->arena, bytes, base);

	if (ret < 0)
		return ret;
	d->arena_ready = true;
	ret = d->ops->dma_map ? d->ops->dma_map(d->opaque, d->arena.base, base, d->arena.size) : 0;
	if (ret < 0)
		return ret;
	d->mapped = d->ops->dma_map != NULL;
	d->irq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->irq_fd < 0)
		return -errno;
	return d->ops->set_irq_eventfd ? d->ops->set_irq_eventfd(d->opaque, d->irq_fd) : -EINVAL;
}

int vireo_mmio_device_new(const struct vireo_mmio_access_ops *ops, void *opaque,
			  const struct vireo_mmio_device_options *opts, struct virtio_bus *bus,
			  struct vireo_mmio_device **out)
{
	struct vireo_mmio_device *d;
	uint32_t id = 0;
	int ret;

	*out = NULL;
	if (!ops || !ops->read || !ops->write)
		return -EINVAL;
	ret = mmio_check_block(ops, opaque);
	if (ret < 0)
		return ret;
	ret = ops->read(opaque, VIREO_MMIO_DEVICE_ID, 4, &id);
	if (ret < 0)
		return ret;
	/* R-MMIO-04/12: a placeholder; no other register is touched, no error reported. */
	if (id == 0)
		return 0;
	d = mmio_device_alloc(ops, opaque, opts);
	if (!d)
		return -ENOMEM;
	d->vdev.id.device = id;
	d->vdev.id.vendor = mmio_rd(d, VIREO_MMIO_VENDOR_ID);
	ret = mmio_device_setup(d);
	if (ret < 0)
		goto out_destroy;
	ret = vireo_register_virtio_device(bus, &d->vdev);
	d->registered = true;
	/* A reset that never completed says more than the bus's no. */
	if (mmio_broken(d))
		ret = -EIO;
	if (ret < 0) {
		log_warn("virtio-mmio: device %u: driver failed to bind: %s", id, strerror(-ret));
		goto out_destroy;
	}
	*out = d;
	return 0;

out_destroy:
	mmio_device_destroy(d);
	return ret;
}

void vireo_mmio_device_free(struct vireo_mmio_device *d)
{
	if (d)
		mmio_device_destroy(d);
}

struct virtio_device *vireo_mmio_device_virtio_device(struct vireo_mmio_device *d)
{
	return &d->vdev;
}
