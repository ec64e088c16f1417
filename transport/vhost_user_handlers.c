// SPDX-License-Identifier: MIT
/*
 * The back-end's request handlers. Each runs only after the message layer
 * checked the payload size and fd count against the table; these check the
 * values (queue index, addresses, features) and drive the device core.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include <vireo/log.h>

#include "transport/vhost_user_internal.h"

#define VUB_ERR(msg_)           \
	do {                    \
		*why = (msg_);  \
		return -EINVAL; \
	} while (0)

static void vub_reply_u64(struct vhost_user_msg *reply, uint64_t v)
{
	reply->hdr.size = sizeof(uint64_t);
	reply->payload.u64 = v;
}

/* Return: 0, or -EINVAL (*@why set) for an index beyond the device's queues. */
static int vub_queue_index(struct vhost_user_backend *b, uint64_t index, const char **why)
{
	if (index >= b->dev->num_queues) {
		*why = "queue index out of range";
		return -EINVAL;
	}
	return 0;
}

void vub_reset_connection_state(struct vhost_user_backend *b)
{
	unsigned int i;

	for (i = 0; i < VDEV_MAX_QUEUES; i++) {
		vireo_peer_eventfd_free(b->queues[i].err_signal);
		if (b->queues[i].err_fd >= 0)
			close(b->queues[i].err_fd);
		memset(&b->queues[i], 0, sizeof(b->queues[i]));
		b->queues[i].err_fd = -1;
	}
	b->protocol_features = 0;
	b->protocol_negotiated = false;
	b->err_signalled = false;
}

/* RESET_OWNER, RESET_DEVICE: every ring stopped, device state initial, memory kept. */
static void vub_reset_device(struct vhost_user_backend *b)
{
	uint64_t pf = b->protocol_features;

	vireo_vdev_reset(b->dev);
	vub_reset_connection_state(b);
	b->protocol_features = pf;
}

/* Return: 0 or -EINVAL (*@why): features not offered, refused by the core or the model. */
static int vub_set_features(struct vhost_user_backend *b, uint64_t features, const char **why)
{
	uint64_t pbit = VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES);
	unsigned int i;
	int ret;

	/* The core never offers bit 30: it is vhost-user's, not the device's. */
	ret = vireo_vdev_negotiate_features(b->dev, features & ~pbit);
	if (ret < 0)
		VUB_ERR("SET_FEATURES refused by the device");
	b->protocol_negotiated = (features & pbit) != 0;
	if (features & VIRTIO_BIT(VIRTIO_F_ACCESS_PLATFORM))
		log_info("vhost-user: ACCESS_PLATFORM negotiated: ring and buffer addresses are "
			 "IOVAs, translated through the IOTLB");
	if (b->protocol_negotiated)
		return 0;
	/* "Ring states": without protocol features every ring starts enabled. */
	for (i = 0; i < b->dev->num_queues; i++) {
		b->queues[i].enabled = true;
		ret = vub_try_start(b, i, why);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Return: 0 or -EINVAL (*@why): bad index, an address outside every region. */
static int vub_set_vring_addr(struct vhost_user_backend *b, const struct vhost_user_vring_addr *a,
			      const char **why)
{
	struct vub_queue *q;
	uint64_t ga;

	if (vub_queue_index(b, a->index, why) < 0)
		return -EINVAL;
	if (b->dev->queues[a->index].enabled)
		VUB_ERR("SET_VRING_ADDR on a running ring");
	/* VHOST_VRING_F_LOG asks for dirty logging, which needs LOG_ALL: never offered. */
	if (a->flags != 0)
		VUB_ERR("SET_VRING_ADDR with flags (dirty logging is not offered)");
	/*
	 * Ring addresses are the front-end's user addresses, or IOVAs with
	 * ACCESS_PLATFORM (D-VU-IOTLB-02: translated when the ring starts).
	 */
	if (!vdev_has_feature(b->dev, VIRTIO_F_ACCESS_PLATFORM) &&
	    (vub_mem_user_to_guest(b, a->desc_user_addr, &ga) < 0 ||
	     vub_mem_user_to_guest(b, a->avail_user_addr, &ga) < 0 ||
	     vub_mem_user_to_guest(b, a->used_user_addr, &ga) < 0))
		VUB_ERR("ring address outside the memory table");
	q = &b->queues[a->index];
	q->desc_ua = a->desc_user_addr;
	q->avail_ua = a->avail_user_addr;
	q->used_ua = a->used_user_addr;
	q->addr_set = true;
	return vub_try_start(b, a->index, why);
}

/* Return: 0 or -EINVAL (*@why). The fd (if any) goes to the core. */
static int vub_set_vring_kick(struct vhost_user_backend *b, struct vhost_user_msg *msg,
			      const char **why)
{
	uint64_t v = msg->payload.u64;
	unsigned int i = (unsigned int)(v & VHOST_USER_VRING_IDX_MASK);
	int fd;

	if (vub_queue_index(b, i, why) < 0)
		return -EINVAL;
	if (v & ~(VHOST_USER_VRING_IDX_MASK | VHOST_USER_VRING_NOFD_MASK))
		VUB_ERR("SET_VRING_KICK with reserved bits set");
	if (v & VHOST_USER_VRING_NOFD_MASK) {
		/* Polling is not implemented: the ring stays stopped until a kick fd comes. */
		log_warn("vhost-user: queue %u: kick by polling is not supported", i);
		vub_quiesce(b, i);
		b->queues[i].started = false;
		return vireo_vdev_queue_set_kick_fd(b->dev, i, -1);
	}
	fd = vireo_vhost_user_msg_take_fd(msg, 0);
	if (!vireo_vhost_user_fd_is_eventfd(fd)) {
		close(fd);
		VUB_ERR("kick fd is not an eventfd");
	}
	(void)vireo_vdev_queue_set_kick_fd(b->dev, i, fd);
	/* "Ring states": the kick fd starts the ring. */
	b->queues[i].started = true;
	return vub_try_start(b, i, why);
}

/* SET_VRING_CALL / SET_VRING_ERR. Return: 0 or -EINVAL (*@why). */
static int vub_set_vring_fd(struct vhost_user_backend *b, struct vhost_user_msg *msg, bool err,
			    const char **why)
{
	uint64_t v = msg->payload.u64;
	unsigned int i = (unsigned int)(v & VHOST_USER_VRING_IDX_MASK);
	struct peer_eventfd *signal = NULL;
	int fd = -1;

	if (vub_queue_index(b, i, why) < 0)
		return -EINVAL;
	if (v & ~(VHOST_USER_VRING_IDX_MASK | VHOST_USER_VRING_NOFD_MASK))
		VUB_ERR("vring fd message with reserved bits set");
	if (!(v & VHOST_USER_VRING_NOFD_MASK)) {
		fd = vireo_vhost_user_msg_take_fd(msg, 0);
		if (!vireo_vhost_user_fd_is_eventfd(fd)) {
			close(fd);
			VUB_ERR("call/err fd is not an eventfd");
		}
	}
	/* Both are signalled through io_uring, never written (peer_eventfd.h). */
	if (!err && vireo_vdev_queue_set_call_fd(b->dev, i, fd) == 0)
		return 0;
	if (err && (fd < 0 || vireo_peer_eventfd_new(&signal, fd) == 0)) {
		vireo_peer_eventfd_free(b->queues[i].err_signal);
		if (b->queues[i].err_fd >= 0)
			close(b->queues[i].err_fd);
		b->queues[i].err_fd = fd;
		b->queues[i].err_signal = signal;
		return 0;
	}
	if (fd >= 0)
		close(fd);
	VUB_ERR("cannot signal the call/err eventfd (io_uring refused it)");
}

/*
 * "Ring states" / GET_VRING_BASE for packed rings, QEMU's encoding (its
 * virtio_queue_packed_get_last_avail_idx): bits 0-14 the last avail index,
 * bit 15 the avail wrap counter, bits 16-30 the used index, bit 31 the used
 * wrap counter.
 */
static uint32_t vub_packed_base_encode(const struct vring_dev_position *pos)
{
	uint32_t avail = (uint32_t)(pos->avail_idx & 0x7fffu) | (uint32_t)pos->avail_wrap << 15;
	uint32_t used = (uint32_t)(pos->used_idx & 0x7fffu) | (uint32_t)pos->used_wrap << 15;

	return avail | used << 16;
}

/*
 * SET_VRING_BASE for packed rings: QEMU's 32-bit encoding, or DPDK's 16-bit
 * one (bits 0-15 only; its back-end sets used = avail, its virtio-user sends
 * 1 << 15). Upper half zero means the 16-bit form: used = avail. That reads
 * QEMU's encoding right too whenever nothing was in flight at the stop.
 */
static struct vring_dev_position vub_packed_base_decode(uint32_t num)
{
	struct vring_dev_position pos = {
		.avail_idx = (uint16_t)(num & 0x7fffu),
		.avail_wrap = (num >> 15) & 1u,
	};

	if (num >> 16) {
		pos.used_idx = (uint16_t)((num >> 16) & 0x7fffu);
		pos.used_wrap = num >> 31;
	} else {
		pos.used_idx = pos.avail_idx;
		pos.used_wrap = pos.avail_wrap;
	}
	return pos;
}

/* Return: 0 or -EINVAL (*@why). Stops the ring and reports where to resume. */
static int vub_get_vring_base(struct vhost_user_backend *b, const struct vhost_user_vring_state *s,
			      struct vhost_user_msg *reply, const char **why)
{
	int base;

	if (vub_queue_index(b, s->index, why) < 0)
		return -EINVAL;
	/* "Ring states": GET_VRING_BASE stops the ring; no kick may restart it. */
	b->queues[s->index].started = false;
	(void)vireo_vdev_queue_set_kick_fd(b->dev, s->index, -1);
	vub_quiesce(b, s->index);
	base = vireo_vdev_queue_get_base(b->dev, s->index);
	if (base < 0)
		VUB_ERR("GET_VRING_BASE failed");
	reply->hdr.size = sizeof(reply->payload.state);
	reply->payload.state.index = s->index;
	reply->payload.state.num = (uint32_t)base;
	if (vdev_has_feature(b->dev, VIRTIO_F_RING_PACKED)) {
		struct vring_dev_position pos;

		(void)vireo_vdev_queue_get_position(b->dev, s->index, &pos);
		reply->payload.state.num = vub_packed_base_encode(&pos);
	}
	vub_iotlb_device_stopped(b);
	return 0;
}

/* Return: 0 or -EINVAL (*@why). */
static int vub_set_vring_enable(struct vhost_user_backend *b,
				const struct vhost_user_vring_state *s, const char **why)
{
	if (vub_queue_index(b, s->index, why) < 0)
		return -EINVAL;
	if (s->num > 1)
		VUB_ERR("SET_VRING_ENABLE with a value other than 0 or 1");
	b->queues[s->index].enabled = s->num == 1;
	/*
	 * "Ring states": a started but disabled ring is processed without side
	 * effects (D-VU-02; net: transmit discarded, nothing received, D-VU-03/04).
	 */
	if (b->dev->serves_disabled_rings) {
		b->dev->queues[s->index].disabled = s->num == 0;
		return vub_try_start(b, s->index, why);
	}
	if (s->num == 1)
		return vub_try_start(b, s->index, why);
	/* Not serving it is free of side effects for blk and rng. */
	vub_quiesce(b, s->index);
	return 0;
}

/* Return: 0 or -EINVAL (*@why): bad index, size or base, or the ring is running. */
static int vub_set_vring_state(struct vhost_user_backend *b, const struct vhost_user_msg *msg,
			       const char **why)
{
	const struct vhost_user_vring_state *s = &msg->payload.state;
	int ret;

	if (vub_queue_index(b, s->index, why) < 0)
		return -EINVAL;
	if (msg->hdr.request == VHOST_USER_SET_VRING_NUM) {
		ret = vireo_vdev_queue_set_num(b->dev, s->index, s->num);
		if (ret < 0)
			VUB_ERR("bad ring size, or ring running");
		return 0;
	}
	if (vdev_has_feature(b->dev, VIRTIO_F_RING_PACKED)) {
		struct vring_dev_position pos = vub_packed_base_decode(s->num);

		/* Whether the indices fit the ring's size is checked when it starts. */
		if (vireo_vdev_queue_set_position(b->dev, s->index, &pos) < 0)
			VUB_ERR("SET_VRING_BASE on a running ring");
		return 0;
	}
	if (s->num > UINT16_MAX)
		VUB_ERR("SET_VRING_BASE beyond 16 bits");
	if (vireo_vdev_queue_set_base(b->dev, s->index, (uint16_t)s->num) < 0)
		VUB_ERR("SET_VRING_BASE on a running ring");
	return 0;
}

/* GET_CONFIG: bytes past the model's config space read as 0; an error is an empty reply. */
static void vub_get_config(struct vhost_user_backend *b, const struct vhost_user_config *req,
			   struct vhost_user_msg *reply)
{
	struct vhost_user_config *out = &reply->payload.config;
	uint32_t size = req->size, have = 0;

	reply->hdr.size = 0;
	/* vhost-user.rst GET_CONFIG: a front-end asks "when PROTOCOL_F_CONFIG is negotiated". */
	if (!(b->protocol_features & VIRTIO_BIT(VHOST_USER_PROTOCOL_F_CONFIG)))
		return;
	if (req->offset >= VHOST_USER_CONFIG_MAX || size > VHOST_USER_CONFIG_MAX - req->offset)
		return;
	if (req->offset < b->dev->config_size)
		have = b->dev->config_size - req->offset < size ? b->dev->config_size - req->offset
								: size;
	memset(out, 0, sizeof(*out));
	if (have && vireo_vdev_config_read(b->dev, req->offset, out->region, have) < 0)
		return;
	out->offset = req->offset;
	out->size = size;
	out->flags = req->flags;
	reply->hdr.size = VHOST_USER_CONFIG_HDR_SIZE + size;
}

/*
 * SET_CONFIG: Return 0, or VUB_REFUSED (PROTOCOL_F_CONFIG not negotiated, bad flags,
 * read-only field, out of bounds).
 */
static int vub_set_config(struct vhost_user_backend *b, const struct vhost_user_config *c)
{
	if (!(b->protocol_features & VIRTIO_BIT(VHOST_USER_PROTOCOL_F_CONFIG)))
		return VUB_REFUSED;
	/* SET_CONFIG: the back-end "must check the flags field". */
	if (c->flags > 1)
		return VUB_REFUSED;
	if (vireo_vdev_config_write(b->dev, c->offset, c->region, c->size) < 0)
		return VUB_REFUSED;
	return 0;
}

/* Return: 0 or -EINVAL (*@why): protocol features not offered. */
static int vub_set_protocol_features(struct vhost_user_backend *b, uint64_t f, const char **why)
{
	if (f & ~vub_protocol_offered(&b->opt))
		VUB_ERR("SET_PROTOCOL_FEATURES with features not offered");
	b->protocol_features = f;
	return 0;
}

static int vub_handle_memory(struct vhost_user_backend *b, struct vhost_user_msg *msg,
			     const char **why)
{
	switch (msg->hdr.request) {
	case VHOST_USER_SET_MEM_TABLE:
		return vub_mem_set_table(b, msg, why);
	case VHOST_USER_ADD_MEM_REG:
		return vub_mem_add(b, msg, why);
	default:
		/* REM_MEM_REG: a stray fd is closed unused by the caller (MUST). */
		return vub_mem_remove(b, &msg->payload.mem_reg.region, why);
	}
}

/* Return: 0; VUB_REFUSED; -errno for a protocol violation (see the internal header). */
int vub_handle(struct vhost_user_backend *b, struct vhost_user_msg *msg,
	       struct vhost_user_msg *reply, const char **why)
{
	switch (msg->hdr.request) {
	case VHOST_USER_GET_FEATURES:
		vub_reply_u64(reply, b->dev->offered_features |
					     VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES));
		return 0;
	case VHOST_USER_SET_FEATURES:
		return vub_set_features(b, msg->payload.u64, why);
	case VHOST_USER_SET_OWNER:
		return 0;
	case VHOST_USER_RESET_OWNER:
	case VHOST_USER_RESET_DEVICE:
		vub_reset_device(b);
		return 0;
	case VHOST_USER_SET_MEM_TABLE:
	case VHOST_USER_ADD_MEM_REG:
	case VHOST_USER_REM_MEM_REG:
		return vub_handle_memory(b, msg, why);
	case VHOST_USER_SET_VRING_NUM:
	case VHOST_USER_SET_VRING_BASE:
		return vub_set_vring_state(b, msg, why);
	case VHOST_USER_SET_VRING_ADDR:
		return vub_set_vring_addr(b, &msg->payload.addr, why);
	case VHOST_USER_GET_VRING_BASE:
		return vub_get_vring_base(b, &msg->payload.state, reply, why);
	case VHOST_USER_SET_VRING_KICK:
		return vub_set_vring_kick(b, msg, why);
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
		return vub_set_vring_fd(b, msg, msg->hdr.request == VHOST_USER_SET_VRING_ERR, why);
	case VHOST_USER_GET_PROTOCOL_FEATURES:
		vub_reply_u64(reply, vub_protocol_offered(&b->opt));
		return 0;
	case VHOST_USER_SET_PROTOCOL_FEATURES:
		return vub_set_protocol_features(b, msg->payload.u64, why);
	case VHOST_USER_GET_QUEUE_NUM:
		vub_reply_u64(reply, b->dev->num_queues);
		return 0;
	case VHOST_USER_SET_VRING_ENABLE:
		return vub_set_vring_enable(b, &msg->payload.state, why);
	case VHOST_USER_GET_CONFIG:
		vub_get_config(b, &msg->payload.config, reply);
		return 0;
	case VHOST_USER_SET_CONFIG:
		return vub_set_config(b, &msg->payload.config);
	case VHOST_USER_GET_INFLIGHT_FD:
		return vub_inflight_get(b, msg, reply, why);
	case VHOST_USER_SET_INFLIGHT_FD:
		return vub_inflight_set(b, msg, why);
	case VHOST_USER_IOTLB_MSG:
		vub_iotlb_msg(b, &msg->payload.iotlb, reply);
		return 0;
	case VHOST_USER_SET_BACKEND_REQ_FD:
		return vub_backend_req_set(b, msg);
	case VHOST_USER_GET_MAX_MEM_SLOTS:
		vub_reply_u64(reply, GUEST_MEM_MAX_REGIONS);
		return 0;
	default:
		VUB_ERR("request not handled");
	}
}
