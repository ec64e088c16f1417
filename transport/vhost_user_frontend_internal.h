/* SPDX-License-Identifier: MIT */
/*
 * Private to the vhost-user front-end: its state, shared by
 * vhost_user_frontend.c (connection, messages, config operations) and
 * vhost_user_frontend_vq.c (rings, notifications, wait).
 */
#ifndef VIREO_TRANSPORT_VHOST_USER_FRONTEND_INTERNAL_H
#define VIREO_TRANSPORT_VHOST_USER_FRONTEND_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <vireo/driver.h>
#include <vireo/peer_eventfd.h>
#include <vireo/vhost_user.h>
#include <vireo/vhost_user_frontend.h>
#include <vireo/virtio_ring_alloc.h>

#include "transport/driver_queue.h"
#include "transport/queue_owner.h"

/*
 * @started: the kick fd went out, so the back-end may be processing the
 * ring; only GET_VRING_BASE stops it (vhost-user.rst "Ring states").
 * @owner: the thread that last kicked the queue (see loopback.c): wait()
 * polls only its caller's queues, so threads driving different queues never
 * consume each other's signals.
 */
struct vhu_fe_queue {
	struct driver_queue dq;
	struct vhost_user_frontend *fe;
	bool started;
	int kick_fd;
	struct peer_eventfd *kick_signal; /* the back-end holds @kick_fd too */
	int call_fd;
	int err_fd;
};

/*
 * @lock: one request/reply round trip on @sock at a time
 * @offered: GET_FEATURES as the back-end sent it (bit 30 included)
 * @hidden: offered device features not shown to drivers (vhu_fe_quirks())
 * @protocol: the protocol features we set (0 if bit 30 was not offered)
 * @queue_num: GET_QUEUE_NUM (1 without MQ)
 * @status: the local device status byte (vhost-user has none without
 *	PROTOCOL_F_STATUS): the bus's §3.1 sequence is followed here
 * @features_set: SET_FEATURES succeeded since the last reset (FEATURES_OK sticks)
 * @dirty: something was set up since the last reset (a reset must be sent)
 * @broken: sticky: the back-end broke the protocol or went away
 * @path: the back-end's socket, for a reconnection
 * @reconnect_ms: how long to try reconnecting to a back-end that went away
 *	(0: never); only with INFLIGHT_SHMFD negotiated, so nothing is lost
 * @inflight_fd, @inflight: the back-end's inflight region (GET_INFLIGHT_FD),
 *	kept for the next back-end (-1: none)
 * @reconnect_lock, @generation: one reconnection per disconnection
 * @iommu, @iotlb_page, @iotlb_preload, @invalidate_every: the options
 * @chan_fd: our end of the back-end channel (SET_BACKEND_REQ_FD; -1: none)
 * @chan_lock: one reader of @chan_fd at a time (@chan_in, @chan_got); taken
 *	before @lock, never after it
 * @iotlb_*: vhost_user_frontend_iotlb_stats counters (relaxed atomics)
 * @wakeups: used-buffer wake-ups, for @invalidate_every
 */
struct vhost_user_frontend {
	struct virtio_device vdev;
	struct virtio_dma_arena arena;
	bool arena_ready;
	int sock;
	int timeout_ms;
	pthread_mutex_t lock;
	uint32_t device_id;
	unsigned int queue_size;
	uint64_t offered;
	uint64_t hidden;
	uint64_t protocol;
	unsigned int queue_num;
	uint8_t status;
	bool features_set;
	bool dirty;
	bool registered;
	atomic_bool broken;
	atomic_bool reconnecting; /* vhu_fe_reconnect() runs: broken is not final yet */
	_Atomic unsigned long reconnect_owner; /* its thread (queue_owner.h), 0 when none */
	atomic_uint_fast64_t kicks;
	atomic_uint_fast64_t calls;
	atomic_uint_fast64_t signals;
	unsigned int nvqs;
	struct vhu_fe_queue queues[VHOST_USER_FRONTEND_MAX_QUEUES];
	char path[108];
	int reconnect_ms;
	int inflight_fd;
	struct vhost_user_inflight inflight;
	pthread_mutex_t reconnect_lock;
	unsigned long generation;
	bool iommu;
	uint64_t iotlb_page;
	bool iotlb_preload;
	unsigned int invalidate_every;
	int chan_fd;
	pthread_mutex_t chan_lock;
	unsigned char chan_in[sizeof(struct vhost_user_header) + sizeof(struct vhost_user_iotlb)];
	size_t chan_got;
	atomic_uint_fast64_t iotlb_misses;
	atomic_uint_fast64_t iotlb_refused;
	atomic_uint_fast64_t iotlb_updates;
	atomic_uint_fast64_t iotlb_invalidations;
	atomic_uint_fast64_t wakeups;
};

static inline bool vhu_fe_has_protocol(const struct vhost_user_frontend *fe, unsigned int bit)
{
	return (fe->protocol & (1ull << bit)) != 0;
}

/** vhu_fe_break() - mark @fe broken (sticky), logging @why once */
void vhu_fe_break(struct vhost_user_frontend *fe, const char *why);

/**
 * vhu_fe_request() - send @req with @size bytes of @payload and @nfds fds,
 * then receive and check its reply: the request's own (GET_*, into @reply)
 * or, with REPLY_ACK negotiated, the u64 status.
 * Return: 0; -EIO if the back-end broke the protocol, went away, or (with
 * REPLY_ACK) refused the request (then @fe is not broken: the peer said no).
 */
int vhu_fe_request(struct vhost_user_frontend *fe, uint32_t req, const void *payload, uint32_t size,
		   const int *fds, unsigned int nfds, struct vhost_user_msg *reply);

/** vhu_fe_vring_state() - a request whose payload is {index, num}. Return: as vhu_fe_request */
int vhu_fe_vring_state(struct vhost_user_frontend *fe, uint32_t req, uint32_t index, uint32_t num);

/* vhost_user_frontend_vq.c: the queue operations of virtio_config_ops. */
int vhu_fe_find_vqs(struct virtio_device *vdev, unsigned int nvqs, struct virtqueue *vqs[],
		    virtqueue_callback *callbacks[], const char *const names[]);
void vhu_fe_del_vqs(struct virtio_device *vdev);
int vhu_fe_wait(struct virtio_device *vdev, int timeout_ms);
/** vhu_fe_stop_queues() - GET_VRING_BASE on every started ring (before a reset) */
void vhu_fe_stop_queues(struct vhost_user_frontend *fe);

/* Shared with the reconnection (see their definitions). */
int vhu_fe_connect(struct vhost_user_frontend *fe, const char *path);
int vhu_fe_handshake(struct vhost_user_frontend *fe);
int vhu_fe_set_u64(struct vhost_user_frontend *fe, uint32_t req, uint64_t val);
int vhu_fe_send_mem_table(struct vhost_user_frontend *fe);
int vhu_fe_start_ring(struct vhost_user_frontend *fe, struct vhu_fe_queue *q, unsigned int i);

/* vhost_user_frontend_iotlb.c: the vIOMMU side (options.iommu) */
/**
 * vhu_fe_iotlb_channel() - with @iommu: a socketpair, one end to the back-end
 * (SET_BACKEND_REQ_FD), ours kept in @chan_fd. Return: 0 (also without
 * @iommu); -errno from socketpair; -EIO.
 */
int vhu_fe_iotlb_channel(struct vhost_user_frontend *fe);
/**
 * vhu_fe_iotlb_preload() - with @iommu and @iotlb_preload: updates for the
 * whole arena (after SET_MEM_TABLE: entries must lie in its regions).
 * Return: 0 or -EIO.
 */
int vhu_fe_iotlb_preload(struct vhost_user_frontend *fe);
/**
 * vhu_fe_iotlb_serve() - answer what the back-end sent on the channel, without
 * blocking: misses with an update (then the reply it asked for). A malformed
 * message breaks the device. Return: 0 or -EIO (broken).
 */
int vhu_fe_iotlb_serve(struct vhost_user_frontend *fe);
/** vhu_fe_iotlb_after_wakeup() - count a used-buffer wake-up; invalidate every @invalidate_every */
void vhu_fe_iotlb_after_wakeup(struct vhost_user_frontend *fe);
/** vhu_fe_iotlb_close() - close our end of the channel */
void vhu_fe_iotlb_close(struct vhost_user_frontend *fe);

/* vhost_user_frontend_reconnect.c */
/**
 * vhu_fe_inflight_setup() - with INFLIGHT_SHMFD negotiated: GET_INFLIGHT_FD
 * for @nvqs rings, kept, and SET_INFLIGHT_FD. Return: 0 (also without it) or -EIO.
 */
int vhu_fe_inflight_setup(struct vhost_user_frontend *fe, unsigned int nvqs);
/**
 * vhu_fe_reconnect() - the back-end hung up (generation @gen): connect again
 * within reconnect_ms and replay the set-up (features, memory, the kept
 * inflight region, every ring). Return: 0 (running again, or another thread
 * did it), -EIO (not possible or failed: the device is broken).
 */
int vhu_fe_reconnect(struct vhost_user_frontend *fe, unsigned long gen);
/** vhu_fe_can_reconnect() - reconnection asked for and the region to resume with exists */
bool vhu_fe_can_reconnect(const struct vhost_user_frontend *fe);

#endif /* VIREO_TRANSPORT_VHOST_USER_FRONTEND_INTERNAL_H */
