// SPDX-License-Identifier: MIT
/*
 * vhost-user front-end rings: the memory table, the per-ring messages
 * (vhost-user.rst "Starting and stopping rings"), kicks and the wait for
 * used-buffer signals.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vireo/event_loop.h>
#include <vireo/log.h>
#include <vireo/spec.h>

#include "transport/queue_owner.h"
#include "transport/vhost_user_frontend_internal.h"

static struct vhost_user_frontend *to_fe(struct virtio_device *vdev)
{
	return vdev->transport;
}

/*
 * Ring address of DMA address @dma: our own virtual address, or as a vIOMMU
 * the IOVA itself (vhost-user.rst SET_VRING_ADDR: with ACCESS_PLATFORM the
 * addresses are I/O virtual addresses; D-VU-IOTLB-02).
 */
static uint64_t vhu_fe_user_addr(const struct vhost_user_frontend *fe, uint64_t dma)
{
	if (fe->iommu)
		return dma;
	return (uint64_t)(uintptr_t)fe->arena.base + (dma - fe->arena.dma_base);
}

/* The driver's notify hook: one signal of the ring's kick eventfd, which cannot block. */
static bool vhu_fe_notify(struct virtqueue *vq)
{
	struct vhu_fe_queue *q = vq->priv;
	struct vhost_user_frontend *fe = q->fe;

	queue_owner_claim(&q->dq.owner);
	if (vireo_vhost_user_frontend_broken(fe))
		return false;
	/* Relaxed: a statistic, read after the run. */
	atomic_fetch_add_explicit(&fe->kicks, 1, memory_order_relaxed);
	return vireo_peer_eventfd_signal(q->kick_signal) == 0;
}

static void vhu_fe_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void vhu_fe_queue_release(struct vhost_user_frontend *fe, struct vhu_fe_queue *q)
{
	driver_queue_release(&q->dq, &fe->vdev);
	q->started = false;
	vireo_peer_eventfd_free(q->kick_signal);
	q->kick_signal = NULL;
	vhu_fe_close_fd(&q->kick_fd);
	vhu_fe_close_fd(&q->call_fd);
	vhu_fe_close_fd(&q->err_fd);
}

/* SET_VRING_KICK/CALL/ERR for ring @i with @fd. Return: as vhu_fe_request(). */
static int vhu_fe_vring_fd(struct vhost_user_frontend *fe, uint32_t req, unsigned int i, int fd)
{
	uint64_t v = i;

	return vhu_fe_request(fe, req, &v, sizeof(v), &fd, 1, NULL);
}

/*
 * SET_VRING_BASE for a fresh ring. Split: avail index 0. Packed: QEMU's
 * encoding (hw/virtio/virtio.c, packed last_avail_idx): bits 0-14 the avail
 * position, bit 15 its wrap counter, bits 16-30 the used position, bit 31
 * its wrap counter; both counters start at 1 (§2.8.1). A back-end that
 * reads only the low 16 bits (DPDK) gets position 0 with wrap counter 1.
 */
static uint32_t vhu_fe_ring_base(const struct vhu_fe_queue *q)
{
	const uint32_t wrap = 1u << PVIRTQ_EVENT_WRAP_SHIFT;

	return q->dq.ring.packed ? (wrap | wrap << 16) : 0;
}

/*
 * The messages for ring @i, in QEMU's order; the kick fd starts the ring
 * (vhost-user.rst "Ring states"), so it goes after everything the back-end
 * needs to serve it. With protocol features rings start disabled.
 * Return: 0 or -EIO.
 */
int vhu_fe_start_ring(struct vhost_user_frontend *fe, struct vhu_fe_queue *q, unsigned int i)
{
	struct vhost_user_vring_addr a = {
		.index = i,
		.desc_user_addr = vhu_fe_user_addr(fe, q->dq.ring.desc_addr),
		.used_user_addr = vhu_fe_user_addr(fe, q->dq.ring.used_addr),
		.avail_user_addr = vhu_fe_user_addr(fe, q->dq.ring.avail_addr),
	};
	int ret;

	ret = vhu_fe_vring_state(fe, VHOST_USER_SET_VRING_NUM, i, q->dq.ring.num);
	if (!ret)
		ret = vhu_fe_vring_state(fe, VHOST_USER_SET_VRING_BASE, i, vhu_fe_ring_base(q));
	if (!ret)
		ret = vhu_fe_request(fe, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0, NULL);
	if (!ret)
		ret = vhu_fe_vring_fd(fe, VHOST_USER_SET_VRING_CALL, i, q->call_fd);
	if (!ret)
		ret = vhu_fe_vring_fd(fe, VHOST_USER_SET_VRING_ERR, i, q->err_fd);
	if (ret)
		return ret;
	ret = vhu_fe_vring_fd(fe, VHOST_USER_SET_VRING_KICK, i, q->kick_fd);
	/* Even a refused kick may have started it: stop it before freeing the ring. */
	q->started = true;
	if (!ret && (fe->offered & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)))
		ret = vhu_fe_vring_state(fe, VHOST_USER_SET_VRING_ENABLE, i, 1);
	return ret;
}

/*
 * vhu_fe_setup_queue() - eventfds, ring in the DMA arena, then the ring's
 * messages. Return: 0; -ENOMEM (arena exhausted); -errno from eventfd or
 * io_uring (vireo_peer_eventfd_new); -EIO.
 */
static int vhu_fe_setup_queue(struct vhost_user_frontend *fe, unsigned int i,
			      virtqueue_callback *callback, const char *name)
{
	struct vhu_fe_queue *q = &fe->queues[i];
	int ret;

	q->fe = fe;
	q->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	q->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	q->err_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->kick_fd < 0 || q->call_fd < 0 || q->err_fd < 0)
		return -errno;
	ret = vireo_peer_eventfd_new(&q->kick_signal, q->kick_fd);
	if (ret < 0)
		return ret;
	ret = driver_queue_alloc(&q->dq, &fe->vdev, (uint16_t)fe->queue_size,
				 &(struct driver_queue_binding){.index = i,
								.name = name,
								.callback = callback,
								.notify = vhu_fe_notify,
								.priv = q});
	if (ret < 0)
		return ret;
	return vhu_fe_start_ring(fe, q, i);
}

/*
 * SET_MEM_TABLE: the whole DMA arena as one region (as a vIOMMU at a guest
 * address no IOVA equals), then any IOTLB pre-loading. Return: 0 or -EIO.
 */
int vhu_fe_send_mem_table(struct vhost_user_frontend *fe)
{
	struct vhost_user_memory m = {.nregions = 1};
	int ret;

	m.regions[0] = (struct vhost_user_mem_region){
		.guest_addr = fe->iommu ? VHOST_USER_FRONTEND_DMA_BASE : fe->arena.dma_base,
		.size = fe->arena.size,
		.user_addr = (uint64_t)(uintptr_t)fe->arena.base,
		.mmap_offset = 0,
	};
	ret = vhu_fe_request(fe, VHOST_USER_SET_MEM_TABLE, &m,
			     (uint32_t)(offsetof(struct vhost_user_memory, regions) +
					sizeof(struct vhost_user_mem_region)),
			     &fe->arena.memfd, 1, NULL);
	return ret ? ret : vhu_fe_iotlb_preload(fe);
}

void vhu_fe_stop_queues(struct vhost_user_frontend *fe)
{
	struct vhost_user_vring_state st;
	struct vhost_user_msg reply;
	unsigned int i;

	for (i = 0; i < fe->nvqs; i++) {
		if (!fe->queues[i].started)
			continue;
		fe->queues[i].started = false;
		st = (struct vhost_user_vring_state){.index = i};
		if (vhu_fe_request(fe, VHOST_USER_GET_VRING_BASE, &st, sizeof(st), NULL, 0,
				   &reply) < 0)
			continue;
		if (reply.payload.state.index != i)
			vhu_fe_break(fe, "GET_VRING_BASE reply for another ring");
	}
}

void vhu_fe_del_vqs(struct virtio_device *vdev)
{
	struct vhost_user_frontend *fe = to_fe(vdev);
	unsigned int i;

	/* Normally the reset stopped them; a driver that skipped it must not free live rings. */
	vhu_fe_stop_queues(fe);
	for (i = 0; i < fe->nvqs; i++)
		vhu_fe_queue_release(fe, &fe->queues[i]);
	fe->nvqs = 0;
}

/*
 * vhu_fe_find_vqs() - memory table, then @nvqs rings of the configured size.
 * Return: 0; -EBUSY (queues exist); -EINVAL (more than GET_QUEUE_NUM);
 * -ENOMEM; -errno from eventfd; -EIO (the back-end refused or broke).
 */
int vhu_fe_find_vqs(struct virtio_device *vdev, unsigned int nvqs, struct virtqueue *vqs[],
		    virtqueue_callback *callbacks[], const char *const names[])
{
	struct vhost_user_frontend *fe = to_fe(vdev);
	unsigned int i;
	int ret;

	if (fe->nvqs)
		return -EBUSY;
	if (nvqs == 0 || nvqs > fe->queue_num)
		return -EINVAL;
	fe->dirty = true;
	ret = vhu_fe_send_mem_table(fe);
	if (ret == 0)
		ret = vhu_fe_inflight_setup(fe, nvqs);
	if (ret < 0)
		return ret;
	for (i = 0; i < nvqs; i++) {
		fe->nvqs = i + 1;
		ret = vhu_fe_setup_queue(fe, i, callbacks ? callbacks[i] : NULL,
					 names ? names[i] : NULL);
		if (ret < 0) {
			log_warn("vhost-user: queue %u setup failed: %s", i, strerror(-ret));
			vhu_fe_del_vqs(vdev);
			return ret;
		}
		vqs[i] = &fe->queues[i].dq.vq;
	}
	return 0;
}

/* The queues the calling thread drives (it kicked them last); all if none. */
static unsigned int vhu_fe_wait_select(struct vhost_user_frontend *fe, struct pollfd *pfd,
				       unsigned int *idx)
{
	unsigned int i, n;

	n = queue_owner_select(&fe->queues[0].dq.owner, sizeof(fe->queues[0]), fe->nvqs, idx);
	for (i = 0; i < n; i++)
		pfd[i] = (struct pollfd){.fd = fe->queues[idx[i]].call_fd, .events = POLLIN};
	return n;
}

/* Run the callbacks of the signalled call fds among the first @n of @pfd. */
static void vhu_fe_wait_calls(struct vhost_user_frontend *fe, const struct pollfd *pfd,
			      const unsigned int *idx, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct virtqueue *vq = &fe->queues[idx[i]].dq.vq;
		int64_t cnt;

		if (!(pfd[i].revents & POLLIN))
			continue;
		/* The back-end holds the call fd too: it may have read it, or made it blocking. */
		cnt = vireo_peer_eventfd_drain(pfd[i].fd);
		if (cnt < 0)
			cnt = 0;
		/* Relaxed: statistics, read after the run. */
		atomic_fetch_add_explicit(&fe->calls, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&fe->signals, (uint64_t)cnt, memory_order_relaxed);
		if (vq->callback)
			vq->callback(vq);
		vhu_fe_iotlb_after_wakeup(fe);
	}
}

/*
 * vhu_fe_wait() - poll the call eventfds of the caller's queues, every
 * SET_VRING_ERR eventfd and the socket (a back-end that went away), then run
 * the callbacks of what was signalled.
 * Return: 0, -ETIMEDOUT, -EIO (broken: a device error or a disconnection),
 * or -errno from poll.
 */
int vhu_fe_wait(struct virtio_device *vdev, int timeout_ms)
{
	struct vhost_user_frontend *fe = to_fe(vdev);
	struct pollfd pfd[2 * VHOST_USER_FRONTEND_MAX_QUEUES + 2];
	unsigned int idx[VHOST_USER_FRONTEND_MAX_QUEUES];
	unsigned int i, n, m, chan;
	unsigned long gen;
	int ret;

	if (vireo_vhost_user_frontend_broken(fe))
		return -EIO;
	pthread_mutex_lock(&fe->reconnect_lock);
	gen = fe->generation;
	pthread_mutex_unlock(&fe->reconnect_lock);
	n = vhu_fe_wait_select(fe, pfd, idx);
	m = n;
	for (i = 0; i < fe->nvqs; i++)
		pfd[m++] = (struct pollfd){.fd = fe->queues[i].err_fd, .events = POLLIN};
	/* The back-end channel (a vIOMMU's misses; -1 is skipped by poll). */
	chan = m;
	pthread_mutex_lock(&fe->chan_lock);
	pfd[m++] = (struct pollfd){.fd = fe->chan_fd, .events = POLLIN};
	pthread_mutex_unlock(&fe->chan_lock);
	/* Only a hang-up: a reply another thread is waiting for is not ours to see. */
	pfd[m++] = (struct pollfd){.fd = fe->sock, .events = POLLRDHUP};
	do
		ret = poll(pfd, m, timeout_ms);
	while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	if (ret == 0)
		return -ETIMEDOUT;
	if (pfd[chan].revents)
		(void)vhu_fe_iotlb_serve(fe);
	vhu_fe_wait_calls(fe, pfd, idx, n);
	for (i = n; i < chan; i++)
		if (pfd[i].revents & POLLIN)
			vhu_fe_break(fe, "device error (SET_VRING_ERR signalled)");
	if ((pfd[m - 1].revents & (POLLRDHUP | POLLHUP | POLLERR)) &&
	    (!vhu_fe_can_reconnect(fe) || vhu_fe_reconnect(fe, gen) < 0))
		vhu_fe_break(fe, "connection closed");
	return vireo_vhost_user_frontend_broken(fe) ? -EIO : 0;
}

/* Return: 0; -EINVAL; -EOPNOTSUPP; -EIO (see the header). */
int vireo_vhost_user_frontend_set_vring_enable(struct vhost_user_frontend *fe, unsigned int index,
					       bool enable)
{
	if (index >= fe->nvqs || !fe->queues[index].started)
		return -EINVAL;
	if (!(fe->offered & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)))
		return -EOPNOTSUPP;
	return vhu_fe_vring_state(fe, VHOST_USER_SET_VRING_ENABLE, index, enable ? 1 : 0);
}
