// SPDX-License-Identifier: MIT
/*
 * The vhost-user front-end as a vIOMMU (vhost-user.rst "IOMMU support",
 * "Back-end communication"; virtio 1.2 §6.1 VIRTIO_F_ACCESS_PLATFORM): the
 * DMA arena's addresses are I/O virtual addresses (VHOST_USER_FRONTEND_IOVA_BASE),
 * which the memory table does not hold; the back-end learns their
 * translation to our user addresses only through IOTLB_MSG updates: sent
 * ahead (pre-loading) or when it asks (BACKEND_IOTLB_MSG type MISS on the
 * back-end channel), in entries of options.iotlb_page bytes.
 *
 * The back-end is hostile: a miss outside the arena or with a permission
 * other than RO/WO/RW is refused (a non-zero reply if it asked for one), a
 * malformed message on the channel breaks the device. The channel is read
 * without blocking, by whichever thread waits for used buffers.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vireo/log.h>

#include "transport/vhost_user_frontend_internal.h"

/* The back-end channel's request that says the device config changed (no payload). */
#define VHU_FE_BACKEND_CONFIG_CHANGE_MSG 2

void vhu_fe_iotlb_close(struct vhost_user_frontend *fe)
{
	pthread_mutex_lock(&fe->chan_lock);
	if (fe->chan_fd >= 0)
		close(fe->chan_fd);
	fe->chan_fd = -1;
	fe->chan_got = 0;
	pthread_mutex_unlock(&fe->chan_lock);
}

/* Return: 0; -errno from socketpair; -EIO. */
int vhu_fe_iotlb_channel(struct vhost_user_frontend *fe)
{
	int sv[2], ret;

	if (!fe->iommu)
		return 0;
	vhu_fe_iotlb_close(fe);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
		return -errno;
	/* D-VU-IOTLB-07's misses come here: SET_BACKEND_REQ_FD before any ring starts. */
	ret = vhu_fe_request(fe, VHOST_USER_SET_BACKEND_REQ_FD, NULL, 0, &sv[1], 1, NULL);
	close(sv[1]);
	if (ret < 0) {
		close(sv[0]);
		return ret;
	}
	pthread_mutex_lock(&fe->chan_lock);
	fe->chan_fd = sv[0];
	pthread_mutex_unlock(&fe->chan_lock);
	return 0;
}

/*
 * IOTLB_MSG @type for [@iova, +@size), read and write (the arena is the
 * driver's for both). Return: 0, or -EIO (refused by the back-end, or broken).
 */
static int vhu_fe_iotlb_msg(struct vhost_user_frontend *fe, uint8_t type, uint64_t iova,
			    uint64_t size)
{
	struct vhost_user_iotlb m = {.iova = iova, .size = size, .type = type};
	struct vhost_user_msg reply;
	int ret;

	if (type == VHOST_IOTLB_UPDATE) {
		m.uaddr = (uint64_t)(uintptr_t)fe->arena.base + (iova - fe->arena.dma_base);
		m.perm = VHOST_ACCESS_RW;
	}
	ret = vhu_fe_request(fe, VHOST_USER_IOTLB_MSG, &m, sizeof(m), NULL, 0, &reply);
	if (ret < 0)
		return ret;
	/* D-VU-22: IOTLB_MSG is always answered, 0 meaning applied. */
	if (reply.payload.u64 != 0) {
		log_warn("vhost-user: back-end refused IOTLB %s of iova 0x%" PRIx64
			 " size 0x%" PRIx64,
			 type == VHOST_IOTLB_UPDATE ? "update" : "invalidation", iova, size);
		return -EIO;
	}
	/* Relaxed: statistics. */
	atomic_fetch_add_explicit(type == VHOST_IOTLB_UPDATE ? &fe->iotlb_updates
							     : &fe->iotlb_invalidations,
				  1, memory_order_relaxed);
	return 0;
}

/* The entry holding @iova: an iotlb_page-aligned piece of the arena, or all of it. */
static void vhu_fe_iotlb_entry(const struct vhost_user_frontend *fe, uint64_t iova, uint64_t *start,
			       uint64_t *size)
{
	uint64_t base = fe->arena.dma_base, end = base + fe->arena.size;

	if (fe->iotlb_page == 0) {
		*start = base;
		*size = fe->arena.size;
		return;
	}
	*start = iova & ~(fe->iotlb_page - 1);
	if (*start < base)
		*start = base;
	*size = end - *start < fe->iotlb_page ? end - *start : fe->iotlb_page;
}

/* Return: 0 or -EIO. */
int vhu_fe_iotlb_preload(struct vhost_user_frontend *fe)
{
	uint64_t at = fe->arena.dma_base, end = fe->arena.dma_base + fe->arena.size;
	uint64_t start, size;
	int ret;

	if (!fe->iommu || !fe->iotlb_preload)
		return 0;
	while (at < end) {
		vhu_fe_iotlb_entry(fe, at, &start, &size);
		ret = vhu_fe_iotlb_msg(fe, VHOST_IOTLB_UPDATE, start, size);
		if (ret < 0)
			return ret;
		at = start + size;
	}
	return 0;
}

/*
 * One MISS: an update of the entry holding its IOVA (acknowledged before the
 * reply, as QEMU does, so the back-end finds it when the reply comes).
 * Return: 0 (answered), 1 (refused: not ours to map), -EIO (broken).
 */
static int vhu_fe_iotlb_miss(struct vhost_user_frontend *fe, const struct vhost_user_iotlb *m)
{
	uint64_t start, size;
	int ret;

	if (m->iova < fe->arena.dma_base || m->iova - fe->arena.dma_base >= fe->arena.size ||
	    m->perm == 0 || (m->perm & ~VHOST_ACCESS_RW)) {
		log_warn("vhost-user: back-end missed iova 0x%" PRIx64 " perm %u: not mapped "
			 "(outside the DMA arena, or a bad permission)",
			 m->iova, m->perm);
		atomic_fetch_add_explicit(&fe->iotlb_refused, 1, memory_order_relaxed);
		return 1;
	}
	vhu_fe_iotlb_entry(fe, m->iova, &start, &size);
	ret = vhu_fe_iotlb_msg(fe, VHOST_IOTLB_UPDATE, start, size);
	if (ret < 0 && vireo_vhost_user_frontend_broken(fe))
		return -EIO;
	if (ret < 0) {
		/* The back-end refused our update: the miss stays unanswered. */
		atomic_fetch_add_explicit(&fe->iotlb_refused, 1, memory_order_relaxed);
		return 1;
	}
	atomic_fetch_add_explicit(&fe->iotlb_misses, 1, memory_order_relaxed);
	return 0;
}

/* The reply to a message that asked for one: 0 done, 1 not. Return: 0 or -EIO. */
static int vhu_fe_chan_reply(struct vhost_user_frontend *fe, uint32_t request, uint64_t status)
{
	struct vhost_user_msg r;

	vireo_vhost_user_msg_init(&r, request, sizeof(uint64_t));
	r.hdr.flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK;
	r.payload.u64 = status;
	/* Never waits: a back-end that does not read its replies loses the channel. */
	return vireo_vhost_user_send_nowait(fe->chan_fd, &r) < 0 ? -EIO : 0;
}

/*
 * One whole message in @fe->chan_in. Return: 0, or -EIO with *@why (a
 * request we do not know, a size that does not fit it, a reply).
 */
static int vhu_fe_chan_message(struct vhost_user_frontend *fe, const char **why)
{
	struct vhost_user_header h;
	struct vhost_user_iotlb m;
	int ret = 0;

	memcpy(&h, fe->chan_in, sizeof(h));
	if (h.request == VHU_FE_BACKEND_CONFIG_CHANGE_MSG) {
		log_info("vhost-user: back-end says its configuration changed");
	} else {
		memcpy(&m, fe->chan_in + sizeof(h), sizeof(m));
		if (m.type != VHOST_IOTLB_MISS) {
			*why = "back-end channel: an IOTLB message that is not a miss";
			return -EIO;
		}
		ret = vhu_fe_iotlb_miss(fe, &m);
		if (ret < 0) {
			*why = "IOTLB update failed";
			return ret;
		}
	}
	if (!(h.flags & VHOST_USER_NEED_REPLY_MASK))
		return 0;
	if (vhu_fe_chan_reply(fe, h.request, ret != 0) < 0) {
		*why = "back-end channel: the back-end does not read its replies";
		return -EIO;
	}
	return 0;
}

/* The header of the message being read: known request, its size, no reply flag. */
static bool vhu_fe_chan_header_ok(const struct vhost_user_header *h)
{
	if ((h->flags & ~VHOST_USER_NEED_REPLY_MASK) != VHOST_USER_VERSION)
		return false;
	if (h->request == VHOST_USER_BACKEND_IOTLB_MSG)
		return h->size == sizeof(struct vhost_user_iotlb);
	return h->request == VHU_FE_BACKEND_CONFIG_CHANGE_MSG && h->size == 0;
}

/*
 * Read what has arrived; under chan_lock. Return: 0; -ECONNRESET (the
 * back-end closed the channel); -EIO with *@why (a malformed message).
 */
static int vhu_fe_chan_read(struct vhost_user_frontend *fe, const char **why)
{
	struct vhost_user_header h;
	size_t want;
	ssize_t n;

	for (;;) {
		want = sizeof(h);
		if (fe->chan_got >= sizeof(h)) {
			memcpy(&h, fe->chan_in, sizeof(h));
			want += h.size;
		}
		/* No fds are ever sent on the channel: any that come are dropped by recv. */
		n = recv(fe->chan_fd, fe->chan_in + fe->chan_got, want - fe->chan_got,
			 MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0)
			return -ECONNRESET;
		fe->chan_got += (size_t)n;
		if (fe->chan_got == sizeof(h)) {
			memcpy(&h, fe->chan_in, sizeof(h));
			if (!vhu_fe_chan_header_ok(&h)) {
				*why = "back-end channel: malformed message";
				return -EIO;
			}
		}
		if (fe->chan_got < sizeof(h) || fe->chan_got < sizeof(h) + h.size)
			continue;
		fe->chan_got = 0;
		if (vhu_fe_chan_message(fe, why) < 0)
			return -EIO;
	}
}

/*
 * Return: 0 (a closed channel too: at a disconnection the main socket's
 * hang-up decides, reconnection included) or -EIO (broken).
 */
int vhu_fe_iotlb_serve(struct vhost_user_frontend *fe)
{
	const char *why = NULL;
	int ret = 0;

	pthread_mutex_lock(&fe->chan_lock);
	if (fe->chan_fd >= 0)
		ret = vhu_fe_chan_read(fe, &why);
	pthread_mutex_unlock(&fe->chan_lock);
	if (ret == -ECONNRESET) {
		log_info("vhost-user: the back-end closed its back-end channel");
		vhu_fe_iotlb_close(fe);
		return 0;
	}
	if (ret < 0) {
		vhu_fe_break(fe, why);
		vhu_fe_iotlb_close(fe);
	}
	return ret;
}

void vhu_fe_iotlb_after_wakeup(struct vhost_user_frontend *fe)
{
	uint64_t n;

	if (!fe->iommu || fe->invalidate_every == 0)
		return;
	/* Relaxed: a count; one waiter sees each multiple. */
	n = atomic_fetch_add_explicit(&fe->wakeups, 1, memory_order_relaxed) + 1;
	if (n % fe->invalidate_every == 0)
		(void)vireo_vhost_user_frontend_iotlb_invalidate(fe, fe->arena.dma_base,
								 fe->arena.size);
}

/* Return: 0; -EOPNOTSUPP; -EINVAL; -EIO (see the header). */
int vireo_vhost_user_frontend_iotlb_invalidate(struct vhost_user_frontend *fe, uint64_t iova,
					       uint64_t size)
{
	if (!fe->iommu)
		return -EOPNOTSUPP;
	if (size == 0 || size - 1 > UINT64_MAX - iova)
		return -EINVAL;
	/* D-VU-IOTLB-03: acknowledged only once the back-end no longer uses the range. */
	return vhu_fe_iotlb_msg(fe, VHOST_IOTLB_INVALIDATE, iova, size);
}

void vireo_vhost_user_frontend_iotlb_stats(const struct vhost_user_frontend *fe,
					   struct vhost_user_frontend_iotlb_stats *st)
{
	st->misses = atomic_load_explicit(&fe->iotlb_misses, memory_order_relaxed);
	st->refused = atomic_load_explicit(&fe->iotlb_refused, memory_order_relaxed);
	st->updates = atomic_load_explicit(&fe->iotlb_updates, memory_order_relaxed);
	st->invalidations = atomic_load_explicit(&fe->iotlb_invalidations, memory_order_relaxed);
}
