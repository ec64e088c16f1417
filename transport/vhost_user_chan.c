// SPDX-License-Identifier: MIT
/*
 * The vhost-user back-end channel (vhost-user.rst "Back-end communication",
 * SET_BACKEND_REQ_FD): the socket on which the back-end asks the front-end
 * for IOTLB entries (BACKEND_IOTLB_MSG type MISS) and reports access
 * failures. Sends never wait (MSG_DONTWAIT). With REPLY_ACK negotiated a miss
 * asks for a reply (NEED_REPLY); the replies are read here, without
 * blocking, from the back-end's loop: a non-zero one means the front-end
 * could not translate that IOVA, and the queue that asked is failed instead
 * of missing forever (D-VU-IOTLB-07). Anything else on the channel closes it.
 *
 * Threads: queue threads send misses (under @lock, which also orders the
 * ring of replies awaited); the control thread reads replies, and replaces or
 * closes the channel only while the queue threads are stopped.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vireo/log.h>

#include "transport/vhost_user_internal.h"

/* Return: 1 (sent, reply awaited); 0 (sent); -ENOTCONN (no channel); -errno (never waits). */
int vub_chan_send_iotlb(struct vhost_user_backend *b, uint8_t type, uint64_t iova, uint8_t perm,
			unsigned int queue)
{
	struct vub_backend_chan *ch = &b->chan;
	bool ack = type == VHOST_IOTLB_MISS &&
		   (b->protocol_features & VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK));
	struct vhost_user_msg m;
	int ret = -ENOTCONN;

	/* D-VU-23: a miss or access failure carries its type, IOVA and permission. */
	vireo_vhost_user_msg_init(&m, VHOST_USER_BACKEND_IOTLB_MSG,
				  sizeof(struct vhost_user_iotlb));
	m.payload.iotlb.iova = iova;
	m.payload.iotlb.perm = perm;
	m.payload.iotlb.type = type;
	pthread_mutex_lock(&ch->lock);
	/* A reply is tracked while there is room; beyond, the miss goes without one. */
	ack = ack && ch->count < VUB_MISS_REPLIES;
	if (ack)
		m.hdr.flags |= VHOST_USER_NEED_REPLY_MASK;
	if (ch->fd >= 0)
		ret = vireo_vhost_user_send_nowait(ch->fd, &m);
	if (ret == 0 && ack) {
		unsigned int w = (ch->first + ch->count++) % VUB_MISS_REPLIES;

		ch->waiting[w].queue = queue;
		ch->waiting[w].iova = iova;
		ch->waiting[w].perm = perm;
		/* Written by the control thread only while this (queue) thread is stopped. */
		ch->waiting[w].invalidations = b->iotlb.invalidations;
	}
	pthread_mutex_unlock(&ch->lock);
	if (ret < 0)
		log_warn("vhost-user: cannot send IOTLB %s for iova 0x%" PRIx64 ": %s",
			 type == VHOST_IOTLB_MISS ? "miss" : "access failure", iova,
			 strerror(-ret));
	return ret < 0 ? ret : ack;
}

/* Control thread, queue threads stopped: no channel any more. */
void vub_chan_close(struct vhost_user_backend *b)
{
	struct vub_backend_chan *ch = &b->chan;

	pthread_mutex_lock(&ch->lock);
	if (ch->fd >= 0) {
		(void)vireo_event_loop_remove(b->loop, ch->fd);
		close(ch->fd);
	}
	ch->fd = -1;
	ch->first = ch->count = ch->stale = 0;
	ch->got = 0;
	pthread_mutex_unlock(&ch->lock);
}

void vub_chan_forget_waiting(struct vhost_user_backend *b)
{
	pthread_mutex_lock(&b->chan.lock);
	b->chan.stale = b->chan.count;
	pthread_mutex_unlock(&b->chan.lock);
}

/*
 * One reply: the oldest miss asked with NEED_REPLY. QEMU sends the update
 * (and waits for its REPLY_ACK) before this reply, so the IOTLB already holds
 * whatever the front-end could translate. Return: 0, or -EPROTO (a reply
 * nobody asked for, or not a BACKEND_IOTLB_MSG u64 reply).
 */
static int vub_chan_reply(struct vhost_user_backend *b, const struct vhost_user_header *h,
			  uint64_t status)
{
	struct vub_backend_chan *ch = &b->chan;
	uint64_t iova, ua, contig, invalidations;
	unsigned int queue;
	uint8_t perm;

	if (h->request != VHOST_USER_BACKEND_IOTLB_MSG ||
	    h->flags != (VHOST_USER_VERSION | VHOST_USER_REPLY_MASK) || h->size != sizeof(uint64_t))
		return -EPROTO;
	pthread_mutex_lock(&ch->lock);
	if (ch->count == 0) {
		pthread_mutex_unlock(&ch->lock);
		return -EPROTO;
	}
	queue = ch->waiting[ch->first].queue;
	iova = ch->waiting[ch->first].iova;
	perm = ch->waiting[ch->first].perm;
	invalidations = ch->waiting[ch->first].invalidations;
	ch->first = (ch->first + 1) % VUB_MISS_REPLIES;
	ch->count--;
	if (ch->stale) {
		/* Asked before the IOTLB was dropped: its entry is gone with the others. */
		ch->stale--;
		pthread_mutex_unlock(&ch->lock);
		return 0;
	}
	pthread_mutex_unlock(&ch->lock);
	/*
	 * D-VU-IOTLB-07: a failure, or a success that brought no entry: do not
	 * miss forever. An invalidation since the miss means the IOMMU changed
	 * meanwhile: it may have taken the entry the front-end sent, or the
	 * guest unmapped the IOVA and mapped it again for another use (strict
	 * mode recycles IOVAs at once), so even a failure judges an old state:
	 * the queue asks again now (no update may ever cover its miss).
	 */
	if (b->iotlb.invalidations != invalidations) {
		vub_threads_stop(b);
		vub_iotlb_miss_unjudged(b, queue, iova, perm);
		vub_threads_start(b);
		return 0;
	}
	/* The update came first, and retried the queue (vub_iotlb_retry()). */
	if (status == 0 && vub_iotlb_lookup(&b->iotlb, iova, 1, perm, &ua, &contig) == 0)
		return 0;
	log_warn("vhost-user: queue %u: the front-end did not map iova 0x%" PRIx64
		 " for the access it missed (reply %" PRIu64 ")",
		 queue, iova, status);
	vub_threads_stop(b);
	vireo_vdev_set_needs_reset(b->dev, "an IOVA the front-end cannot translate");
	vub_threads_start(b);
	return 0;
}

/* The channel is readable: replies, assembled without blocking. */
static void vub_chan_event(void *opaque, uint32_t events)
{
	struct vhost_user_backend *b = opaque;
	struct vub_backend_chan *ch = &b->chan;
	struct vhost_user_header h;
	uint64_t status;
	ssize_t n;

	(void)events;
	for (;;) {
		if (ch->fd < 0)
			return;
		n = recv(ch->fd, ch->in + ch->got, sizeof(ch->in) - ch->got, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			/* Normal at a disconnect, where the front-end may close this one first. */
			log_info("vhost-user: back-end channel closed by the front-end");
			break;
		}
		ch->got += (size_t)n;
		if (ch->got < sizeof(ch->in))
			continue;
		ch->got = 0;
		memcpy(&h, ch->in, sizeof(h));
		memcpy(&status, ch->in + sizeof(h), sizeof(status));
		if (vub_chan_reply(b, &h, status) < 0) {
			log_warn("vhost-user: back-end channel: unexpected message (request %u, "
				 "flags 0x%x, size %u): closed",
				 h.request, h.flags, h.size);
			break;
		}
	}
	vub_threads_stop(b);
	vub_chan_close(b);
	vub_iotlb_chan_changed(b);
	vub_threads_start(b);
}

/* Return: 0, VUB_REFUSED (not negotiated, not a stream socket: the fd is closed), -errno. */
int vub_backend_req_set(struct vhost_user_backend *b, struct vhost_user_msg *msg)
{
	int fd, ret, type = 0;
	socklen_t len = sizeof(type);
	struct stat st;

	if (!(b->protocol_features & VIRTIO_BIT(VHOST_USER_PROTOCOL_F_BACKEND_REQ))) {
		log_warn("vhost-user: SET_BACKEND_REQ_FD without PROTOCOL_F_BACKEND_REQ: refused");
		return VUB_REFUSED;
	}
	fd = vireo_vhost_user_msg_take_fd(msg, 0);
	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM) {
		log_warn("vhost-user: SET_BACKEND_REQ_FD: not a stream socket: refused");
		close(fd);
		return VUB_REFUSED;
	}
	vub_chan_close(b);
	ret = vireo_event_loop_add(b->loop, fd, vub_chan_event, b);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	pthread_mutex_lock(&b->chan.lock);
	b->chan.fd = fd;
	pthread_mutex_unlock(&b->chan.lock);
	/* The misses pending went to the old channel (or nowhere): asked again on this one. */
	vub_iotlb_chan_changed(b);
	return 0;
}
