// SPDX-License-Identifier: MIT
/*
 * The transmit path (virtio 1.2 §5.1.6.2): pop a chain, read the header and
 * the frame out of it as one byte stream (a driver may split them anywhere,
 * §2.6.4 "Message Framing"), check both, hand the frame on, return the chain
 * with nothing written. The frame is copied out of guest memory before any
 * check looks at it: what was checked cannot change under us.
 */
#include <string.h>

#include <vireo/event_loop.h>
#include <vireo/iov.h>
#include <vireo/log.h>

#include "devices/net/net_internal.h"

/* One chain. Return: -1 if the frame was passed on, else the drop reason. */
static int net_tx_chain(struct net_device *nd, const struct vring_chain *c,
			const struct vring_iov *iov)
{
	struct net_packet pkt;
	uint32_t frame_len;
	int why;

	/* Transmit buffers are device-readable only (§5.1.6.2). */
	if (c->writable)
		return NET_DROP_TX_WRITABLE;
	if (c->readable_bytes < sizeof(pkt.vnet))
		return NET_DROP_TX_SHORT_HEADER;
	frame_len = c->readable_bytes - (uint32_t)sizeof(pkt.vnet);
	if (frame_len > NET_FRAME_MAX)
		return NET_DROP_TX_OVERSIZE;
	/* GUEST: iov entries the ring translated with their lengths; copies are bounded by them. */
	if (iov[0].len >= c->readable_bytes) {
		/* The usual layout, header and frame in one buffer: two plain copies. */
		memcpy(&pkt.vnet, iov[0].base, sizeof(pkt.vnet));
		why = net_hdr_check_tx(&pkt.vnet, frame_len, nd->vdev.acked_features, nd->opt.mtu);
		if (why >= 0)
			return why;
		memcpy(nd->frame, (const uint8_t *)iov[0].base + sizeof(pkt.vnet), frame_len);
	} else {
		(void)vireo_iov_to_buf(iov, c->readable, 0, &pkt.vnet, sizeof(pkt.vnet));
		why = net_hdr_check_tx(&pkt.vnet, frame_len, nd->vdev.acked_features, nd->opt.mtu);
		if (why >= 0)
			return why;
		if (vireo_iov_to_buf(iov, c->readable, sizeof(pkt.vnet), nd->frame, frame_len) !=
		    frame_len)
			return NET_DROP_TX_SHORT_HEADER; /* cannot happen: readable_bytes counted them */
	}
	pkt.data = nd->frame;
	pkt.len = frame_len;
	nd->stats.tx_frames++;
	nd->stats.tx_bytes += frame_len;
	if (nd->tx_fn)
		nd->tx_fn(nd->tx_opaque, &pkt);
	return -1;
}

/* Pop the next transmit chain into @iov and prefetch its first bytes. Return: true if popped. */
static bool net_tx_pop(struct net_device *nd, struct vdev_queue *q, struct vring_chain *c,
		       struct vring_iov *iov)
{
	if (vireo_vdev_queue_pop(q, c, iov, nd->iov_cap) != 0)
		return false;
	/* The driver just wrote the frame on its CPU: start the transfer early (header + 64 bytes). */
	if (c->readable) {
		__builtin_prefetch(iov[0].base);
		if (iov[0].len > 64)
			__builtin_prefetch((const uint8_t *)iov[0].base + 64);
	}
	return true;
}

/*
 * Chains are popped up to NET_TX_AHEAD - 1 ahead of the one being sent, so
 * the next chains' descriptor reads and their frames' cache misses overlap
 * this chain's work. Chain k (in pop order) sits in slot k % NET_TX_AHEAD.
 */
unsigned int net_tx_process(struct net_device *nd, struct vdev_queue *q)
{
	struct vring_chain chains[NET_TX_AHEAD];
	unsigned int done = 0, popped = 0, slot;
	bool more = true;
	int why;

	for (;;) {
		while (more && popped < NET_TX_BUDGET && popped - done < NET_TX_AHEAD) {
			slot = popped % NET_TX_AHEAD;
			more = net_tx_pop(nd, q, &chains[slot], nd->tx_iov[slot]);
			popped += more;
		}
		if (done == popped)
			break;
		slot = done % NET_TX_AHEAD;
		/* D-VU-04: a disabled ring's frames are taken and discarded, never sent. */
		why = q->disabled ? NET_DROP_TX_DISABLED
				  : net_tx_chain(nd, &chains[slot], nd->tx_iov[slot]);
		if (why >= 0)
			net_count_drop(nd, (enum net_drop_reason)why);
		/* The device writes nothing into a transmit buffer: used length 0. */
		if (vireo_vdev_queue_push(q, chains[slot].head, 0) < 0)
			return done;
		done++;
		if (done % NET_TX_FLUSH_EVERY == 0 && vireo_vdev_queue_flush(q))
			nd->stats.tx_signals++;
	}
	if (done) {
		if (done % NET_TX_FLUSH_EVERY && vireo_vdev_queue_flush(q))
			nd->stats.tx_signals++;
		/* Budget spent with chains left: come back after the other queues had a turn. */
		if (done == NET_TX_BUDGET && !nd->polling && q->kick_fd >= 0 &&
		    vireo_vdev_queue_kick_again(q) < 0)
			vireo_vdev_queue_set_needs_reset(q, "cannot re-arm the kick fd");
	}
	return done;
}
