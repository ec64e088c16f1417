// SPDX-License-Identifier: MIT
/*
 * vhost-user front-end (QEMU docs/interop/vhost-user.rst, "front-end"
 * role): the connection, the checked request/reply round trip, and the
 * config operations (features, status, config space, reset). The rings are
 * in vhost_user_frontend_vq.c.
 */
#include <errno.h>
#include <stddef.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <vireo/dma.h>
#include <vireo/log.h>
#include <vireo/spec.h>

#include "transport/clock.h"
#include "transport/vhost_user_frontend_internal.h"

#define VHU_FE_DEFAULT_TIMEOUT_MS 5000
#define VHU_FE_BLK_QUEUE_SIZE 256u
#define VHU_FE_QUEUE_SIZE 64u

/* The protocol features we can use; others are never set, whatever is offered. */
#define VHU_FE_PROTOCOL_WANTED                                                            \
	((1ull << VHOST_USER_PROTOCOL_F_MQ) | (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) | \
	 (1ull << VHOST_USER_PROTOCOL_F_CONFIG) | (1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE))

#define VHU_FE_F_PROTOCOL (1ull << VHOST_USER_F_PROTOCOL_FEATURES)

/* The protocol bits a vIOMMU needs: updates, and the channel misses come on. */
#define VHU_FE_PROTOCOL_IOMMU \
	((1ull << VHOST_USER_PROTOCOL_F_IOTLB) | (1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ))

/*
 * INFLIGHT_SHMFD only when we would reconnect: the region is for the next
 * back-end. IOTLB and BACKEND_REQ only as a vIOMMU.
 */
static uint64_t vhu_fe_protocol_wanted(const struct vhost_user_frontend *fe)
{
	return VHU_FE_PROTOCOL_WANTED |
	       (fe->reconnect_ms > 0 ? 1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD : 0) |
	       (fe->iommu ? VHU_FE_PROTOCOL_IOMMU : 0);
}

static struct vhost_user_frontend *to_fe(struct virtio_device *vdev)
{
	return vdev->transport;
}

void vhu_fe_break(struct vhost_user_frontend *fe, const char *why)
{
	/* Relaxed: the flag carries no data; whoever sees it just fails. */
	if (atomic_load_explicit(&fe->reconnecting, memory_order_relaxed)) {
		/* An attempt of vhu_fe_reconnect() failed: it tries again or says so. */
		atomic_store_explicit(&fe->broken, true, memory_order_relaxed);
		log_debug("vhost-user: reconnection attempt: %s", why);
		return;
	}
	if (!atomic_exchange_explicit(&fe->broken, true, memory_order_relaxed))
		log_warn("vhost-user: back-end: %s; the device is broken", why);
}

/*
 * The whole reply within the timeout, however the back-end spreads its bytes
 * (a per-recvmsg timeout would let it trickle one byte per period forever).
 * Return: 0; -ETIMEDOUT; vireo_vhost_user_recv()'s errors; -errno from poll.
 */
static int vhu_fe_recv_within(struct vhost_user_frontend *fe, struct vhost_user_msg *reply)
{
	int64_t deadline = transport_clock_ms() + fe->timeout_ms;
	struct pollfd p = {.fd = fe->sock, .events = POLLIN};
	size_t got = 0;
	int64_t left = 0;
	int n;

	for (;;) {
		n = vireo_vhost_user_recv_step(fe->sock, reply, &got, true);
		if (n != 0)
			return n < 0 ? n : 0;
		left = deadline - transport_clock_ms();
		if (left <= 0)
			break;
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno != EINTR) {
			n = -errno;
			break;
		}
	}
	/* A partial message's fds are the reply's; it is dropped with them. */
	vireo_vhost_user_msg_close_fds(reply);
	return left <= 0 ? -ETIMEDOUT : n;
}

/*
 * Receive the reply to @req and check what the table cannot: the request id.
 * Return: 0, or a short reason in *@why and -EIO.
 */
static int vhu_fe_recv_reply(struct vhost_user_frontend *fe, uint32_t req,
			     struct vhost_user_msg *reply, const char **why)
{
	/* Checks version, REPLY flag, size by the table, no fds; closes any fds. */
	int ret = vhu_fe_recv_within(fe, reply);

	if (ret == -ETIMEDOUT) {
		*why = "no whole reply in time";
		return -EIO;
	}
	if (ret == -ECONNRESET || ret == -EPIPE) {
		*why = "connection closed";
		return -EIO;
	}
	if (ret == -EBADF || ret == -ECOMM) {
		*why = "reply with file descriptors";
		return -EIO;
	}
	if (ret < 0) {
		*why = ret == -EMSGSIZE ? "reply of the wrong size" : "malformed reply";
		return -EIO;
	}
	if (reply->hdr.request != req) {
		*why = "reply to another request";
		return -EIO;
	}
	return 0;
}

/*
 * Take fe->lock outside another thread's reconnection: until vhu_fe_reconnect() has
 * replayed the set-up, the new socket carries its handshake alone (a request of ours in
 * between would be out of order, or read a reply meant for it). The reconnecting thread
 * sets reconnecting before it takes fe->lock to swap the socket, so a request that holds
 * the lock and sees no reconnection ends before the swap.
 */
static void vhu_fe_lock_outside_reconnection(struct vhost_user_frontend *fe)
{
	pthread_mutex_lock(&fe->lock);
	/* Relaxed: the locks order what the reconnection wrote before we read it. */
	while (atomic_load_explicit(&fe->reconnecting, memory_order_relaxed) &&
	       !queue_owner_is_self(&fe->reconnect_owner)) {
		pthread_mutex_unlock(&fe->lock);
		pthread_mutex_lock(&fe->reconnect_lock); /* held for the whole reconnection */
		pthread_mutex_unlock(&fe->reconnect_lock);
		pthread_mutex_lock(&fe->lock);
	}
}

int vhu_fe_request(struct vhost_user_frontend *fe, uint32_t req, const void *payload, uint32_t size,
		   const int *fds, unsigned int nfds, struct vhost_user_msg *reply)
{
	bool own_reply = vireo_vhost_user_request_has_reply(req), ack;
	struct vhost_user_msg msg, ackmsg;
	const char *why = NULL;
	int ret = 0;

	vhu_fe_lock_outside_reconnection(fe);
	if (vireo_vhost_user_frontend_broken(fe)) {
		pthread_mutex_unlock(&fe->lock);
		return -EIO;
	}
	ack = !own_reply && vhu_fe_has_protocol(fe, VHOST_USER_PROTOCOL_F_REPLY_ACK);
	vireo_vhost_user_msg_init(&msg, req, size);
	if (ack)
		msg.hdr.flags |= VHOST_USER_NEED_REPLY_MASK;
	if (size)
		memcpy(&msg.payload, payload, size);
	if (vireo_vhost_user_send(fe->sock, &msg, fds, nfds) < 0) {
		why = "connection lost";
		ret = -EIO;
	} else if (own_reply || ack) {
		ret = vhu_fe_recv_reply(fe, req, own_reply ? reply : &ackmsg, &why);
	}
	pthread_mutex_unlock(&fe->lock);
	if (ret < 0) {
		log_debug("vhost-user: %s: %s", vireo_vhost_user_request_name(req), why);
		vhu_fe_break(fe, why);
		return ret;
	}
	if (ack && ackmsg.payload.u64 != 0) {
		log_warn("vhost-user: back-end refused %s", vireo_vhost_user_request_name(req));
		return -EIO;
	}
	return 0;
}

int vhu_fe_vring_state(struct vhost_user_frontend *fe, uint32_t req, uint32_t index, uint32_t num)
{
	struct vhost_user_vring_state st = {.index = index, .num = num};

	return vhu_fe_request(fe, req, &st, sizeof(st), NULL, 0, NULL);
}

/* A GET_* request answered with a u64. Return: 0 or -EIO. */
static int vhu_fe_get_u64(struct vhost_user_frontend *fe, uint32_t req, uint64_t *val)
{
	struct vhost_user_msg reply;
	int ret = vhu_fe_request(fe, req, NULL, 0, NULL, 0, &reply);

	if (ret == 0)
		*val = reply.payload.u64;
	return ret;
}

int vhu_fe_set_u64(struct vhost_user_frontend *fe, uint32_t req, uint64_t val)
{
	return vhu_fe_request(fe, req, &val, sizeof(val), NULL, 0, NULL);
}

/* ---- config operations ---- */

/*
 * GET_CONFIG of [0, offset + len), then the part asked for. Always from
 * offset 0, as QEMU asks: libvhost-user back-ends (qemu-storage-daemon)
 * ignore the offset and copy from the start of their config. The reply
 * must be for exactly the range asked; an empty reply is the back-end's
 * "no" (the read fails, the device is not broken).
 */
static void vhu_fe_get(struct virtio_device *vdev, unsigned int offset, void *buf, unsigned int len)
{
	struct vhost_user_frontend *fe = to_fe(vdev);
	struct vhost_user_config cfg = {.offset = 0, .size = offset + len};
	struct vhost_user_msg reply;

	memset(buf, 0, len);
	if (!vhu_fe_has_protocol(fe, VHOST_USER_PROTOCOL_F_CONFIG) || len > VHOST_USER_CONFIG_MAX ||
	    offset > VHOST_USER_CONFIG_MAX - len) {
		log_warn("vhost-user: config read [%u, +%u) not possible", offset, len);
		return;
	}
	if (vhu_fe_request(fe, VHOST_USER_GET_CONFIG, &cfg, VHOST_USER_CONFIG_HDR_SIZE + cfg.size,
			   NULL, 0, &reply) < 0)
		return;
	if (reply.hdr.size == 0) {
		log_warn("vhost-user: back-end refused config read [%u, +%u)", offset, len);
		return;
	}
	if (reply.payload.config.offset != 0 || reply.payload.config.size != cfg.size) {
		vhu_fe_break(fe, "GET_CONFIG reply for another range");
		return;
	}
	memcpy(buf, reply.payload.config.region + offset, len);
}

/* SET_CONFIG with flags 0 (VHOST_SET_CONFIG_TYPE_FRONTEND). */
static void vhu_fe_set(struct virtio_device *vdev, unsigned int offset, const void *buf,
		       unsigned int len)
{
	struct vhost_user_frontend *fe = to_fe(vdev);
	struct vhost_user_config cfg = {.offset = offset, .size = len};

	if (!vhu_fe_has_protocol(fe, VHOST_USER_PROTOCOL_F_CONFIG) || len > VHOST_USER_CONFIG_MAX ||
	    offset > VHOST_USER_CONFIG_MAX - len) {
		log_warn("vhost-user: config write [%u, +%u) not possible", offset, len);
		return;
	}
	memcpy(cfg.region, buf, len);
	if (vhu_fe_request(fe, VHOST_USER_SET_CONFIG, &cfg, VHOST_USER_CONFIG_HDR_SIZE + len, NULL,
			   0, NULL) < 0)
		log_warn("vhost-user: config write [%u, +%u) failed", offset, len);
}

static uint8_t vhu_fe_get_status(struct virtio_device *vdev)
{
	struct vhost_user_frontend *fe = to_fe(vdev);

	/* §2.1.2: a device that cannot go on says DEVICE_NEEDS_RESET. */
	if (vireo_vhost_user_frontend_broken(fe))
		return (uint8_t)(fe->status | VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	return fe->status;
}

/*
 * The local status byte. FEATURES_OK only sticks if SET_FEATURES went
 * through (§3.1.1 step 6: the bus re-reads it); nothing sticks on a broken
 * device.
 */
static void vhu_fe_set_status(struct virtio_device *vdev, uint8_t status)
{
	struct vhost_user_frontend *fe = to_fe(vdev);

	if (vireo_vhost_user_frontend_broken(fe))
		return;
	if ((status & VIRTIO_STATUS_FEATURES_OK) && !fe->features_set)
		status = (uint8_t)(status & ~VIRTIO_STATUS_FEATURES_OK);
	fe->status = status;
}

/*
 * Stop every ring (GET_VRING_BASE: the back-end finishes in-flight requests
 * first), then RESET_DEVICE, or the older RESET_OWNER without it. Nothing is
 * sent if nothing was set up since the last reset.
 */
static void vhu_fe_reset(struct virtio_device *vdev)
{
	struct vhost_user_frontend *fe = to_fe(vdev);

	vhu_fe_stop_queues(fe);
	if (fe->dirty) {
		uint32_t req = vhu_fe_has_protocol(fe, VHOST_USER_PROTOCOL_F_RESET_DEVICE)
				       ? VHOST_USER_RESET_DEVICE
				       : VHOST_USER_RESET_OWNER;

		(void)vhu_fe_request(fe, req, NULL, 0, NULL, 0, NULL);
		fe->dirty = false;
	}
	fe->features_set = false;
	fe->status = 0;
}

/* The device's features: bit 30 is vhost-user's, not the device's. */
static uint64_t vhu_fe_get_features(struct virtio_device *vdev)
{
	struct vhost_user_frontend *fe = to_fe(vdev);

	return fe->offered & ~(VHU_FE_F_PROTOCOL | fe->hidden);
}

/*
 * SET_FEATURES: the bus's choice, plus bit 30 if offered (without it the
 * protocol features we set would be void), plus ACCESS_PLATFORM as a vIOMMU
 * (a transport bit: ours to accept, §6). Return: 0 or -EIO.
 */
static int vhu_fe_finalize_features(struct virtio_device *vdev)
{
	struct vhost_user_frontend *fe = to_fe(vdev);
	uint64_t f;
	int ret;

	if (fe->iommu)
		vdev->features |= fe->offered & VIRTIO_BIT(VIRTIO_F_ACCESS_PLATFORM);
	f = (vdev->features & ~VHU_FE_F_PROTOCOL) | (fe->offered & VHU_FE_F_PROTOCOL);

	fe->dirty = true;
	ret = vhu_fe_set_u64(fe, VHOST_USER_SET_FEATURES, f);
	fe->features_set = ret == 0;
	return ret;
}

static const char *vhu_fe_bus_name(struct virtio_device *vdev)
{
	(void)vdev;
	return "vhost-user";
}

static const struct virtio_config_ops vhu_fe_config_ops = {
	.get = vhu_fe_get,
	.set = vhu_fe_set,
	.get_status = vhu_fe_get_status,
	.set_status = vhu_fe_set_status,
	.reset = vhu_fe_reset,
	.get_features = vhu_fe_get_features,
	.finalize_features = vhu_fe_finalize_features,
	.find_vqs = vhu_fe_find_vqs,
	.del_vqs = vhu_fe_del_vqs,
	.wait = vhu_fe_wait,
	.bus_name = vhu_fe_bus_name,
};

/* ---- life cycle ---- */

/* Return: 0, -EINVAL (path), or -errno from socket/connect. */
int vhu_fe_connect(struct vhost_user_frontend *fe, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int ret;

	if (!path || strlen(path) >= sizeof(sa.sun_path))
		return -EINVAL;
	strcpy(sa.sun_path, path);
	fe->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fe->sock < 0)
		return -errno;
	do
		ret = connect(fe->sock, (struct sockaddr *)&sa, sizeof(sa));
	while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	/* A back-end that stops reading must not hang us in sendmsg forever. */
	{
		struct timeval tv = {.tv_sec = fe->timeout_ms / 1000,
				     .tv_usec = (fe->timeout_ms % 1000) * 1000};

		(void)setsockopt(fe->sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		(void)setsockopt(fe->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	return 0;
}

/*
 * The handshake before the device is shown to drivers, in QEMU's order:
 * SET_OWNER, GET_FEATURES, GET/SET_PROTOCOL_FEATURES, GET_QUEUE_NUM.
 * Return: 0 or -EIO.
 */
int vhu_fe_handshake(struct vhost_user_frontend *fe)
{
	uint64_t pf = 0, qn = 1;
	int ret;

	ret = vhu_fe_request(fe, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0, NULL);
	if (!ret)
		ret = vhu_fe_get_u64(fe, VHOST_USER_GET_FEATURES, &fe->offered);
	if (ret || !(fe->offered & VHU_FE_F_PROTOCOL))
		return ret;
	ret = vhu_fe_get_u64(fe, VHOST_USER_GET_PROTOCOL_FEATURES, &pf);
	if (!ret)
		ret = vhu_fe_set_u64(fe, VHOST_USER_SET_PROTOCOL_FEATURES,
				     pf & vhu_fe_protocol_wanted(fe));
	if (ret)
		return ret;
	/* From now on REPLY_ACK (if set) applies to every request without a reply. */
	fe->protocol = pf & vhu_fe_protocol_wanted(fe);
	if (fe->iommu) {
		/* vhost-user.rst "IOMMU support": updates need IOTLB, misses BACKEND_REQ. */
		if ((fe->protocol & VHU_FE_PROTOCOL_IOMMU) != VHU_FE_PROTOCOL_IOMMU ||
		    !(fe->offered & VIRTIO_BIT(VIRTIO_F_ACCESS_PLATFORM))) {
			log_error("vhost-user: --iommu: the back-end does not offer "
				  "VIRTIO_F_ACCESS_PLATFORM, PROTOCOL_F_IOTLB and "
				  "PROTOCOL_F_BACKEND_REQ");
			return -EOPNOTSUPP;
		}
		ret = vhu_fe_iotlb_channel(fe);
		if (ret)
			return ret;
	}
	if (vhu_fe_has_protocol(fe, VHOST_USER_PROTOCOL_F_MQ)) {
		ret = vhu_fe_get_u64(fe, VHOST_USER_GET_QUEUE_NUM, &qn);
		if (ret)
			return ret;
		if (qn == 0) {
			vhu_fe_break(fe, "GET_QUEUE_NUM says 0 queues");
			return -EIO;
		}
	}
	fe->queue_num = qn > VHOST_USER_FRONTEND_MAX_QUEUES ? VHOST_USER_FRONTEND_MAX_QUEUES
							    : (unsigned int)qn;
	return 0;
}

/*
 * qemu-storage-daemon's vhost-user-blk export offers VIRTIO_BLK_F_SIZE_MAX
 * with size_max 0, meaning "no limit" (it takes any segment size). Our
 * driver rightly refuses a limit below one sector, so the bit is not shown
 * to it: not negotiating an offered feature is always allowed (§2.2).
 */
static void vhu_fe_quirks(struct vhost_user_frontend *fe)
{
	le32 size_max;

	if (fe->device_id != VIRTIO_ID_BLOCK || !(fe->offered & VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX)))
		return;
	vhu_fe_get(&fe->vdev, offsetof(struct vireo_blk_config, size_max), &size_max,
		   sizeof(size_max));
	if (vireo_vhost_user_frontend_broken(fe) || le32_to_cpu(size_max) != 0)
		return;
	log_info("vhost-user: back-end offers VIRTIO_BLK_F_SIZE_MAX with size_max 0: "
		 "not negotiated (no segment size limit)");
	fe->hidden |= VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX);
}

static void vhu_fe_destroy(struct vhost_user_frontend *fe)
{
	vhu_fe_iotlb_close(fe);
	pthread_mutex_destroy(&fe->chan_lock);
	if (fe->sock >= 0)
		close(fe->sock);
	if (fe->inflight_fd >= 0)
		close(fe->inflight_fd);
	pthread_mutex_destroy(&fe->reconnect_lock);
	if (fe->arena_ready)
		virtio_dma_arena_destroy(&fe->arena);
	pthread_mutex_destroy(&fe->lock);
	free(fe);
}

static struct vhost_user_frontend *vhu_fe_alloc(const struct vhost_user_frontend_options *opt)
{
	struct vhost_user_frontend *fe = calloc(1, sizeof(*fe));
	unsigned int i;

	if (!fe)
		return NULL;
	fe->sock = -1;
	fe->inflight_fd = -1;
	fe->chan_fd = -1;
	fe->iommu = opt->iommu;
	fe->iotlb_page = opt->iotlb_page;
	fe->iotlb_preload = opt->iotlb_preload;
	fe->invalidate_every = opt->iotlb_invalidate_every;
	fe->reconnect_ms = opt->reconnect_ms > 0 ? opt->reconnect_ms : 0;
	if (opt->socket_path && strlen(opt->socket_path) < sizeof(fe->path))
		strcpy(fe->path, opt->socket_path);
	fe->device_id = opt->device_id;
	fe->timeout_ms = opt->timeout_ms > 0 ? opt->timeout_ms : VHU_FE_DEFAULT_TIMEOUT_MS;
	fe->queue_size = opt->queue_size;
	if (!fe->queue_size)
		fe->queue_size = opt->device_id == VIRTIO_ID_BLOCK ? VHU_FE_BLK_QUEUE_SIZE
								   : VHU_FE_QUEUE_SIZE;
	fe->queue_num = 1;
	for (i = 0; i < VHOST_USER_FRONTEND_MAX_QUEUES; i++) {
		fe->queues[i].kick_fd = -1;
		fe->queues[i].call_fd = -1;
		fe->queues[i].err_fd = -1;
	}
	pthread_mutex_init(&fe->lock, NULL);
	pthread_mutex_init(&fe->reconnect_lock, NULL);
	pthread_mutex_init(&fe->chan_lock, NULL);
	return fe;
}

/* Return: 0 or -errno; see the header. */
int vireo_vhost_user_frontend_new(struct vhost_user_frontend **out, struct virtio_bus *bus,
				  const struct vhost_user_frontend_options *opt)
{
	struct vhost_user_frontend *fe;
	int ret;

	if (opt->queue_size != 0 &&
	    (opt->queue_size > VIRTQ_SPLIT_MAX_SIZE || (opt->queue_size & (opt->queue_size - 1))))
		return -EINVAL;
	/* An IOTLB entry is whole pages: a power of two of at least 4 KiB. */
	if (opt->iotlb_page != 0 &&
	    (opt->iotlb_page < 4096 || (opt->iotlb_page & (opt->iotlb_page - 1))))
		return -EINVAL;
	fe = vhu_fe_alloc(opt);
	if (!fe)
		return -ENOMEM;
	ret = vhu_fe_connect(fe, opt->socket_path);
	if (ret < 0)
		goto out_destroy;
	ret = virtio_dma_arena_init(
		&fe->arena, opt->dma_bytes ? opt->dma_bytes : VHOST_USER_FRONTEND_DEFAULT_DMA_BYTES,
		opt->iommu ? VHOST_USER_FRONTEND_IOVA_BASE : VHOST_USER_FRONTEND_DMA_BASE);
	if (ret < 0)
		goto out_destroy;
	fe->arena_ready = true;
	ret = vhu_fe_handshake(fe);
	if (ret < 0)
		goto out_destroy;
	fe->vdev.transport = fe;
	vhu_fe_quirks(fe);
	if (vireo_vhost_user_frontend_broken(fe)) {
		ret = -EIO;
		goto out_destroy;
	}

	fe->vdev.id.device = fe->device_id;
	fe->vdev.config = &vhu_fe_config_ops;
	fe->vdev.transport = fe;
	fe->vdev.dma = &fe->arena;
	fe->registered = true;
	ret = vireo_register_virtio_device(bus, &fe->vdev);
	if (ret < 0) {
		log_warn("vhost-user: %s: driver failed to bind: %s", opt->socket_path,
			 strerror(-ret));
		vireo_unregister_virtio_device(&fe->vdev);
		vhu_fe_del_vqs(&fe->vdev);
		goto out_destroy;
	}
	*out = fe;
	return 0;

out_destroy:
	vhu_fe_destroy(fe);
	return ret;
}

void vireo_vhost_user_frontend_free(struct vhost_user_frontend *fe)
{
	if (!fe)
		return;
	if (fe->registered)
		vireo_unregister_virtio_device(&fe->vdev);
	fe->registered = false;
	/* A driver that forgot del_vqs must not leak rings or fds. */
	vhu_fe_del_vqs(&fe->vdev);
	vhu_fe_destroy(fe);
}

struct virtio_device *vireo_vhost_user_frontend_virtio_device(struct vhost_user_frontend *fe)
{
	return &fe->vdev;
}

bool vireo_vhost_user_frontend_broken(const struct vhost_user_frontend *fe)
{
	/* Relaxed, both: flags without data. A reconnection's failed attempts break nothing yet. */
	return atomic_load_explicit(&fe->broken, memory_order_relaxed) &&
	       !atomic_load_explicit(&fe->reconnecting, memory_order_relaxed);
}

void vireo_vhost_user_frontend_stats(const struct vhost_user_frontend *fe,
				     struct vhost_user_frontend_stats *st)
{
	st->kicks = atomic_load_explicit(&fe->kicks, memory_order_relaxed);
	st->calls = atomic_load_explicit(&fe->calls, memory_order_relaxed);
	st->signals = atomic_load_explicit(&fe->signals, memory_order_relaxed);
}
