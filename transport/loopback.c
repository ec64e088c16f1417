// SPDX-License-Identifier: MIT
/*
 * Loopback transport (DESIGN.md "loopback"): our driver and our device model
 * in one process. struct vdev is single-threaded, so the model runs in its own
 * thread (vdev_thread.h) and every config operation of the driver is posted
 * to it through that thread's mailbox: callers one at a time, each sleeping
 * until its request ran (or failing with -EIO once the device loop ended).
 * The data path never goes through the mailbox: the driver writes the kick
 * eventfd, the core watches it; the core writes the call eventfd, the
 * driver's wait() polls it.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vireo/device.h>
#include <vireo/dma.h>
#include <vireo/driver.h>
#include <vireo/event_loop.h>
#include <vireo/guest_mem.h>
#include <vireo/log.h>
#include <vireo/loopback.h>
#include <vireo/virtio_ring_alloc.h>

#include "transport/driver_queue.h"
#include "transport/queue_owner.h"
#include "transport/vdev_thread.h"

/* Queues larger than this buy nothing in one process and cost DMA memory. */
#define LB_QUEUE_SIZE_CAP 1024u

/*
 * @owner: the thread (pthread_self()) that last kicked the queue, i.e. the
 * one driving it. wait() polls only the queues of its caller, so threads
 * driving different queues (virtio_blk_poll per queue) never consume each
 * other's signals.
 */
struct lb_queue {
	struct driver_queue dq;
	struct loopback *lb;
	int kick_fd;
	int call_fd;
};

struct loopback {
	struct virtio_device vdev;
	struct virtio_dma_arena arena;
	struct guest_mem mem;
	struct vdev *dev;
	struct vdev_thread thread; /* the model's loop and mailbox */
	bool attached;		   /* the model uses our memory and loop (lb_do_attach) */
	bool registered;
	int config_fd;

	unsigned int nvqs;
	struct lb_queue queues[VDEV_MAX_QUEUES];
};

static struct loopback *to_lb(struct virtio_device *vdev)
{
	return vdev->transport;
}

/*
 * vireo_loopback_run_in_device() - see the header. Called from the device thread
 * itself (a model's callback into the driver), it runs @fn directly.
 */
int vireo_loopback_run_in_device(struct loopback *lb, void (*fn)(struct vdev *dev, void *arg),
				 void *arg)
{
	return vdev_thread_call(&lb->thread, fn, arg);
}

/* ---- config operations, each forwarded to the device thread ---- */

struct lb_cfg_req {
	uint32_t offset;
	void *buf;
	const void *cbuf;
	uint32_t len;
	int ret;
};

static void lb_do_get(struct vdev *dev, void *arg)
{
	struct lb_cfg_req *r = arg;

	r->ret = vireo_vdev_config_read(dev, r->offset, r->buf, r->len);
}

static void lb_get(struct virtio_device *vdev, unsigned int offset, void *buf, unsigned int len)
{
	struct lb_cfg_req r = {.offset = offset, .buf = buf, .len = len};

	if (vireo_loopback_run_in_device(to_lb(vdev), lb_do_get, &r) < 0 || r.ret < 0) {
		/* Like a read beyond a PCI BAR's config window: all ones would
		 * be closer to hardware, zeroes are kinder to a driver's sizing. */
		memset(buf, 0, len);
		log_warn("loopback: config read [%u, +%u) refused", offset, len);
	}
}

static void lb_do_set(struct vdev *dev, void *arg)
{
	struct lb_cfg_req *r = arg;

	r->ret = vireo_vdev_config_write(dev, r->offset, r->cbuf, r->len);
}

static void lb_set(struct virtio_device *vdev, unsigned int offset, const void *buf,
		   unsigned int len)
{
	struct lb_cfg_req r = {.offset = offset, .cbuf = buf, .len = len};

	if (vireo_loopback_run_in_device(to_lb(vdev), lb_do_set, &r) < 0 || r.ret < 0)
		log_warn("loopback: config write [%u, +%u) dropped", offset, len);
}

struct lb_val_req {
	uint64_t val;
	uint64_t val_hi; /* feature bits 64-127 */
	int ret;
};

static void lb_do_generation(struct vdev *dev, void *arg)
{
	((struct lb_val_req *)arg)->val = dev->config_generation;
}

static uint32_t lb_generation(struct virtio_device *vdev)
{
	struct lb_val_req r = {0};

	vireo_loopback_run_in_device(to_lb(vdev), lb_do_generation, &r);
	return (uint32_t)r.val;
}

static void lb_do_get_status(struct vdev *dev, void *arg)
{
	((struct lb_val_req *)arg)->val = vireo_vdev_get_status(dev);
}

static uint8_t lb_get_status(struct virtio_device *vdev)
{
	struct lb_val_req r = {0};

	if (vireo_loopback_run_in_device(to_lb(vdev), lb_do_get_status, &r) < 0)
		return 0;
	return (uint8_t)r.val;
}

static void lb_do_set_status(struct vdev *dev, void *arg)
{
	struct lb_val_req *r = arg;

	r->ret = vireo_vdev_set_status(dev, (uint8_t)r->val);
}

static void lb_set_status(struct virtio_device *vdev, uint8_t status)
{
	struct lb_val_req r = {.val = status};

	/* A refused write leaves the status as it was; the bus reads it back. */
	if (vireo_loopback_run_in_device(to_lb(vdev), lb_do_set_status, &r) == 0 && r.ret < 0)
		log_debug("loopback: status %#x refused: %s", status, strerror(-r.ret));
}

/*
 * Device thread: reset, then hand the core a fresh config-change fd (reset
 * may have closed the one it held).
 */
static void lb_do_reset(struct vdev *dev, void *arg)
{
	struct loopback *lb = arg;
	int fd, ret;

	vireo_vdev_reset(dev);
	fd = dup(lb->config_fd);
	if (fd < 0) {
		log_warn("loopback: dup config fd: %s", strerror(errno));
		return;
	}
	ret = vireo_vdev_set_config_call_fd(dev, fd);
	if (ret < 0) {
		log_warn("loopback: config fd refused: %d", ret);
		close(fd);
	}
}

static void lb_reset(struct virtio_device *vdev)
{
	struct loopback *lb = to_lb(vdev);

	vireo_loopback_run_in_device(lb, lb_do_reset, lb);
}

static void lb_do_get_features(struct vdev *dev, void *arg)
{
	((struct lb_val_req *)arg)->val = dev->offered_features;
	((struct lb_val_req *)arg)->val_hi = dev->offered_features_hi;
}

static uint64_t lb_get_features(struct virtio_device *vdev)
{
	struct lb_val_req r = {0};

	vireo_loopback_run_in_device(to_lb(vdev), lb_do_get_features, &r);
	return r.val;
}

/* Bits 64-127 (§2.2): loopback calls the core directly, so they pass as they are. */
static uint64_t lb_get_features_hi(struct virtio_device *vdev)
{
	struct lb_val_req r = {0};

	vireo_loopback_run_in_device(to_lb(vdev), lb_do_get_features, &r);
	return r.val_hi;
}

static void lb_do_finalize_features(struct vdev *dev, void *arg)
{
	struct lb_val_req *r = arg;

	r->ret = vireo_vdev_set_driver_features(dev, r->val);
	if (!r->ret)
		r->ret = vireo_vdev_set_driver_features_hi(dev, r->val_hi);
}

/* finalize_features: Return 0, -EPERM (wrong status) or -EIO (thread gone). */
static int lb_finalize_features(struct virtio_device *vdev)
{
	struct lb_val_req r = {.val = vdev->features, .val_hi = vdev->features_hi};
	int ret = vireo_loopback_run_in_device(to_lb(vdev), lb_do_finalize_features, &r);

	return ret < 0 ? ret : r.ret;
}

static const char *lb_bus_name(struct virtio_device *vdev)
{
	(void)vdev;
	return "loopback";
}

/* ---- queues ---- */

struct lb_queue_req {
	unsigned int index;
	unsigned int num;
	uint64_t desc, avail, used;
	int kick_fd, call_fd; /* the core's copies; -1 once handed over */
	int ret;
};

/*
 * Device thread: configure and enable one queue, as a virtio-pci driver
 * would through queue_select/queue_size/queue_desc/.../queue_enable.
 */
static void lb_do_setup_queue(struct vdev *dev, void *arg)
{
	struct lb_queue_req *r = arg;
	int ret;

	ret = vireo_vdev_queue_set_num(dev, r->index, r->num);
	if (!ret)
		ret = vireo_vdev_queue_set_addr(dev, r->index, r->desc, r->avail, r->used);
	/* The core takes a kick fd unless it refuses it with -EINVAL, a call fd only on 0. */
	if (!ret) {
		ret = vireo_vdev_queue_set_kick_fd(dev, r->index, r->kick_fd);
		if (ret != -EINVAL)
			r->kick_fd = -1;
	}
	if (!ret) {
		ret = vireo_vdev_queue_set_call_fd(dev, r->index, r->call_fd);
		if (ret == 0)
			r->call_fd = -1;
	}
	if (!ret)
		ret = vireo_vdev_queue_enable(dev, r->index);
	r->ret = ret;
}

static void lb_do_queue_max(struct vdev *dev, void *arg)
{
	((struct lb_val_req *)arg)->val = dev->queue_max_size;
}

/* The driver's notify hook: one eventfd write, like an ioeventfd MMIO store. */
static bool lb_notify(struct virtqueue *vq)
{
	struct lb_queue *q = vq->priv;

	queue_owner_claim(&q->dq.owner);
	return vireo_eventfd_signal_fd(q->kick_fd) == 0;
}

static void lb_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void lb_queue_release(struct loopback *lb, struct lb_queue *q)
{
	driver_queue_release(&q->dq, &lb->vdev);
	lb_close_fd(&q->kick_fd);
	lb_close_fd(&q->call_fd);
}

/*
 * lb_setup_queue() - allocate ring @i, its eventfds, and enable it in the
 * device. Return: 0 or -errno (-ENOMEM: DMA arena exhausted).
 */
static int lb_setup_queue(struct loopback *lb, unsigned int i, unsigned int num,
			  virtqueue_callback *callback, const char *name)
{
	struct lb_queue *q = &lb->queues[i];
	struct lb_queue_req r = {.index = i, .num = num, .kick_fd = -1, .call_fd = -1};
	int ret;

	q->lb = lb;
	q->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	q->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->kick_fd < 0 || q->call_fd < 0) {
		ret = -errno;
		goto out_release;
	}
	ret = driver_queue_alloc(&q->dq, &lb->vdev, (uint16_t)num,
				 &(struct driver_queue_binding){.index = i,
								.name = name,
								.callback = callback,
								.notify = lb_notify,
								.priv = q});
	if (ret < 0)
		goto out_release;
	r.desc = q->dq.ring.desc_addr;
	r.avail = q->dq.ring.avail_addr;
	r.used = q->dq.ring.used_addr;
	r.kick_fd = dup(q->kick_fd);
	r.call_fd = dup(q->call_fd);
	if (r.kick_fd < 0 || r.call_fd < 0) {
		ret = -errno;
		goto out_close_dups;
	}
	ret = vireo_loopback_run_in_device(lb, lb_do_setup_queue, &r);
	if (!ret)
		ret = r.ret;
out_close_dups:
	/* Whatever the core did not take is still ours. */
	lb_close_fd(&r.kick_fd);
	lb_close_fd(&r.call_fd);
	if (!ret)
		return 0;
out_release:
	lb_queue_release(lb, q);
	return ret;
}

/* Device thread: stop serving every ring (already so after a reset). */
static void lb_do_disable_queues(struct vdev *dev, void *arg)
{
	unsigned int i, n = *(unsigned int *)arg;

	for (i = 0; i < n; i++)
		vireo_vdev_queue_disable(dev, i);
}

/*
 * del_vqs comes after a reset, so the device no longer reads the rings; the
 * queues are disabled again anyway, so that a driver that skipped the reset
 * cannot make the device touch freed DMA memory.
 */
static void lb_del_vqs(struct virtio_device *vdev)
{
	struct loopback *lb = to_lb(vdev);
	unsigned int i, n = lb->nvqs;

	if (n)
		vireo_loopback_run_in_device(lb, lb_do_disable_queues, &n);
	for (i = 0; i < lb->nvqs; i++)
		lb_queue_release(lb, &lb->queues[i]);
	lb->nvqs = 0;
}

/*
 * lb_find_vqs() - rings of the device's maximum size (capped), enabled in
 * the device before the bus sets DRIVER_OK.
 * Return: 0; -EINVAL (too many queues, or the device refused a ring); -EBUSY
 * (queues already exist); -ENOMEM; -errno from eventfd.
 */
static int lb_find_vqs(struct virtio_device *vdev, unsigned int nvqs, struct virtqueue *vqs[],
		       virtqueue_callback *callbacks[], const char *const names[])
{
	struct loopback *lb = to_lb(vdev);
	struct lb_val_req max = {0};
	unsigned int i, num;
	int ret;

	if (lb->nvqs)
		return -EBUSY;
	if (nvqs == 0 || nvqs > VDEV_MAX_QUEUES)
		return -EINVAL;
	ret = vireo_loopback_run_in_device(lb, lb_do_queue_max, &max);
	if (ret < 0)
		return ret;
	num = max.val < LB_QUEUE_SIZE_CAP ? (unsigned int)max.val : LB_QUEUE_SIZE_CAP;
	for (i = 0; i < nvqs; i++) {
		ret = lb_setup_queue(lb, i, num, callbacks ? callbacks[i] : NULL,
				     names ? names[i] : NULL);
		if (ret < 0) {
			log_warn("loopback: queue %u setup failed: %s", i, strerror(-ret));
			lb->nvqs = i;
			lb_del_vqs(vdev);
			return ret;
		}
		lb->nvqs = i + 1;
		vqs[i] = &lb->queues[i].dq.vq;
	}
	return 0;
}

/*
 * lb_wait_select() - the queues the calling thread drives (it kicked them
 * last); all of them if it drives none. Fills @pfd and @idx.
 * Return: the number selected.
 */
static unsigned int lb_wait_select(struct loopback *lb, struct pollfd *pfd, unsigned int *idx)
{
	unsigned int i, n;

	n = queue_owner_select(&lb->queues[0].dq.owner, sizeof(lb->queues[0]), lb->nvqs, idx);
	for (i = 0; i < n; i++)
		pfd[i] = (struct pollfd){.fd = lb->queues[idx[i]].call_fd, .events = POLLIN};
	return n;
}

/*
 * lb_wait() - the driver's interrupt handler: poll the call eventfds of the
 * caller's queues and the config-change eventfd, then run the callbacks of
 * what was signalled.
 * Return: 0, -ETIMEDOUT, or -errno from poll.
 */
static int lb_wait(struct virtio_device *vdev, int timeout_ms)
{
	struct loopback *lb = to_lb(vdev);
	struct pollfd pfd[VDEV_MAX_QUEUES + 1];
	unsigned int idx[VDEV_MAX_QUEUES];
	unsigned int i, n;
	int ret;

	n = lb_wait_select(lb, pfd, idx);
	pfd[n] = (struct pollfd){.fd = lb->config_fd, .events = POLLIN};
	do
		ret = poll(pfd, n + 1, timeout_ms);
	while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	if (ret == 0)
		return -ETIMEDOUT;
	for (i = 0; i < n; i++) {
		struct virtqueue *vq = &lb->queues[idx[i]].dq.vq;

		if (!(pfd[i].revents & POLLIN))
			continue;
		vireo_eventfd_drain_fd(pfd[i].fd);
		if (vq->callback)
			vq->callback(vq);
	}
	if (pfd[n].revents & POLLIN) {
		vireo_eventfd_drain_fd(lb->config_fd);
		/* The bus looks at the status first: NEEDS_RESET comes this way too. */
		virtio_config_changed(vdev);
	}
	return 0;
}

static const struct virtio_config_ops lb_config_ops = {
	.get = lb_get,
	.set = lb_set,
	.generation = lb_generation,
	.get_status = lb_get_status,
	.set_status = lb_set_status,
	.reset = lb_reset,
	.get_features = lb_get_features,
	.get_features_hi = lb_get_features_hi,
	.finalize_features = lb_finalize_features,
	.find_vqs = lb_find_vqs,
	.del_vqs = lb_del_vqs,
	.wait = lb_wait,
	.bus_name = lb_bus_name,
};

/* ---- life cycle ---- */

/* Device thread: take the model over (memory, loop, config-change fd). */
static void lb_do_attach(struct vdev *dev, void *arg)
{
	struct loopback *lb = arg;

	vireo_vdev_set_memory(dev, &lb->mem);
	vireo_vdev_set_event_loop(dev, &lb->thread.loop);
	lb_do_reset(dev, lb);
}

/* Device thread: give the model back stopped, holding nothing of ours. */
static void lb_do_detach(struct vdev *dev, void *arg)
{
	(void)arg;
	vireo_vdev_reset(dev);
	(void)vireo_vdev_set_config_call_fd(dev, -1);
	vireo_vdev_set_event_loop(dev, NULL);
	vireo_vdev_set_memory(dev, NULL);
}

/*
 * lb_start_device() - the config-change eventfd, the model's thread.
 * Return: 0 or -errno.
 */
static int lb_start_device(struct loopback *lb)
{
	int ret;

	lb->config_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (lb->config_fd < 0)
		return -errno;
	ret = vdev_thread_start(&lb->thread, lb->dev);
	if (ret < 0)
		lb_close_fd(&lb->config_fd);
	return ret;
}

static void lb_destroy(struct loopback *lb)
{
	int ret = vdev_thread_call(&lb->thread, lb_do_detach, NULL);

	vdev_thread_stop(&lb->thread);
	/*
	 * The device loop had ended (-EIO): the model would keep pointers into
	 * @lb. Its thread is joined now, so this one may detach it.
	 */
	if (ret < 0 && lb->attached)
		lb_do_detach(lb->dev, NULL);
	lb_close_fd(&lb->config_fd);
	virtio_dma_arena_destroy(&lb->arena);
	free(lb);
}

static struct loopback *lb_alloc(struct vdev *dev)
{
	struct loopback *lb = calloc(1, sizeof(*lb));
	unsigned int i;

	if (!lb)
		return NULL;
	lb->dev = dev;
	lb->config_fd = -1;
	for (i = 0; i < VDEV_MAX_QUEUES; i++) {
		lb->queues[i].kick_fd = -1;
		lb->queues[i].call_fd = -1;
	}
	return lb;
}

int vireo_loopback_new(struct loopback **out, struct virtio_bus *bus, struct vdev *dev,
		       size_t dma_bytes)
{
	struct loopback *lb = lb_alloc(dev);
	int ret;

	if (!lb)
		return -ENOMEM;
	ret = virtio_dma_arena_init(&lb->arena, dma_bytes ? dma_bytes : LOOPBACK_DEFAULT_DMA_BYTES,
				    LOOPBACK_DMA_BASE);
	if (ret < 0) {
		free(lb);
		return ret;
	}
	vireo_guest_mem_init(&lb->mem);
	ret = vireo_guest_mem_add_region(&lb->mem, lb->arena.dma_base, lb->arena.size,
					 lb->arena.base);
	if (!ret)
		ret = lb_start_device(lb);
	if (!ret)
		ret = vireo_loopback_run_in_device(lb, lb_do_attach, lb);
	if (ret < 0)
		goto out_destroy;
	lb->attached = true;

	lb->vdev.id.device = dev->device_id;
	lb->vdev.id.vendor = 0;
	lb->vdev.config = &lb_config_ops;
	lb->vdev.transport = lb;
	lb->vdev.dma = &lb->arena;
	ret = vireo_register_virtio_device(bus, &lb->vdev);
	lb->registered = true;
	if (ret < 0) {
		log_warn("loopback: %s: driver failed to bind: %s", dev->name, strerror(-ret));
		goto out_destroy;
	}
	*out = lb;
	return 0;

out_destroy:
	if (lb->registered)
		vireo_unregister_virtio_device(&lb->vdev);
	lb_del_vqs(&lb->vdev);
	lb_destroy(lb);
	return ret;
}

void vireo_loopback_free(struct loopback *lb)
{
	if (!lb)
		return;
	if (lb->registered)
		vireo_unregister_virtio_device(&lb->vdev);
	lb->registered = false;
	/* A driver that forgot del_vqs must not leak rings or fds. */
	lb_del_vqs(&lb->vdev);
	lb_destroy(lb);
}

struct virtio_device *vireo_loopback_virtio_device(struct loopback *lb)
{
	return &lb->vdev;
}
