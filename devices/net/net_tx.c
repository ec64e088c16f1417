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

/* 64-byte frames (the small-packet benchmarks' size): copied with a fixed size, no call. */
#define NET_TX_SMALL_COPY 64u

/*
 * net_hdr_check_tx() for the common header, no offload asked (no NEEDS_CSUM,
 * gso_type NONE) and a frame of plain size: its checks and changes, inline.
 * Return: false if the header needs the general check.
 */
static inline bool net_tx_hdr_plain(struct vireo_net_hdr_v1 *hdr, uint32_t frame_len, uint16_t mtu)
{
	if ((hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) ||
	    hdr->gso_type != VIRTIO_NET_HDR_GSO_NONE || frame_len < NET_ETH_HLEN ||
	    frame_len > (uint32_t)mtu + NET_ETH_HLEN + NET_VLAN_HLEN)
		return false;
	/* D-NET-10: flag bits we do not act on are ignored, as net_hdr_check_tx() does. */
	hdr->flags = 0;
	hdr->num_buffers = 0;
	return true;
}

/* Copy the header out of @iov and check it. Return: -1 if the frame may go, else the reason. */
static inline int net_tx_hdr(struct net_device *nd, const struct vring_chain *c,
			     const struct vring_iov *iov, struct vireo_net_hdr_v1 *hdr,
			     uint32_t frame_len)
{
	/* GUEST: iov entries the ring translated with their lengths; copies are bounded by them. */
	if (iov[0].len >= sizeof(*hdr))
		memcpy(hdr, iov[0].base, sizeof(*hdr));
	else
		(void)vireo_iov_to_buf(iov, c->readable, 0, hdr, sizeof(*hdr));
	if (net_tx_hdr_plain(hdr, frame_len, nd->opt.mtu))
		return -1;
	return net_hdr_check_tx(hdr, frame_len, nd->vdev.acked_features, nd->opt.mtu);
}

/* One chain. Return: -1 if the frame was passed on, else the drop reason. */
static int net_tx_chain(struct net_device *nd, const struct vring_chain *c,
			const struct vring_iov *iov)
{
	const size_t hlen = sizeof(struct vireo_net_hdr_v1);
	struct net_packet pkt;
	uint32_t frame_len;
	int why;

	/* Transmit buffers are device-readable only (§5.1.6.2). */
	if (c->writable)
		return NET_DROP_TX_WRITABLE;
	if (c->readable_bytes < hlen)
		return NET_DROP_TX_SHORT_HEADER;
	frame_len = c->readable_bytes - (uint32_t)hlen;
	if (frame_len > NET_FRAME_MAX)
		return NET_DROP_TX_OVERSIZE;
	why = net_tx_hdr(nd, c, iov, &pkt.vnet, frame_len);
	if (why >= 0)
		return why;
	/* GUEST: as above; the frame is copied out before anything looks at it. */
	if (iov[0].len >= c->readable_bytes && frame_len == NET_TX_SMALL_COPY)
		memcpy(nd->frame, (const uint8_t *)iov[0].base + hlen, NET_TX_SMALL_COPY);
	else if (iov[0].len >= c->readable_bytes) /* header and frame in one buffer, the usual */
		memcpy(nd->frame, (const uint8_t *)iov[0].base + hlen, frame_len);
	else if (vireo_iov_to_buf(iov, c->readable, hlen, nd->frame, frame_len) != frame_len)
		return NET_DROP_TX_SHORT_HEADER; /* cannot happen: readable_bytes counted them */
	pkt.data = nd->frame;
	pkt.len = frame_len;
	nd->stats.tx_frames++;
	nd->stats.tx_bytes += frame_len;
	if (nd->tx_fn)
		nd->tx_fn(nd->tx_opaque, &pkt);
	return -1;
}

/*
 * Pop up to @max chains into nd->tx_iov and prefetch each frame's first bytes: the
 * driver just wrote them on its CPU, and the transfers overlap the rest of the burst.
 * Return: chains popped (0: none, or the queue broke).
 */
static unsigned int net_tx_pop_burst(struct net_device *nd, struct vdev_queue *q,
				     struct vring_chain *chains, unsigned int max)
{
	unsigned int off = 0;
	int n = vireo_vdev_queue_pop_burst(q, chains, max, nd->tx_iov, nd->tx_iov_len, nd->iov_cap);

	/* The driver broke the ring after these: the device is NEEDS_RESET, nothing more is sent. */
	if (n <= 0 || vdev_needs_reset(q->dev))
		return 0;
	for (int k = 0; k < n; k++) {
		const struct vring_iov *iov = &nd->tx_iov[off];

		if (chains[k].readable) {
			__builtin_prefetch(iov[0].base);
			if (iov[0].len > 64)
				__builtin_prefetch((const uint8_t *)iov[0].base + 64);
		}
		off += (unsigned int)chains[k].readable + chains[k].writable;
	}
	return (unsigned int)n;
}

/*
 * Bursts of up to NET_TX_BURST chains: popped (each checked as a single pop is) with
 * their frames prefetched, sent, returned with one push burst and published.
 */
unsigned int net_tx_process(struct net_device *nd, struct vdev_queue *q)
{
	struct vring_chain chains[NET_TX_BURST];
	uint16_t heads[NET_TX_BURST];
	unsigned int done = 0, n, k, off;
	int why;

	while (done < NET_TX_BUDGET) {
		n = net_tx_pop_burst(nd, q, chains,
				     NET_TX_BUDGET - done < NET_TX_BURST ? NET_TX_BUDGET - done
									 : NET_TX_BURST);
		if (n == 0)
			break;
		for (k = 0, off = 0; k < n; k++) {
			/* D-VU-04: a disabled ring's frames are taken and discarded, never sent. */
			why = q->disabled ? NET_DROP_TX_DISABLED
					  : net_tx_chain(nd, &chains[k], &nd->tx_iov[off]);
			if (why >= 0)
				net_count_drop(nd, (enum net_drop_reason)why);
			heads[k] = chains[k].head;
			off += (unsigned int)chains[k].readable + chains[k].writable;
		}
		/* The device writes nothing into a transmit buffer: used length 0. */
		if (vireo_vdev_queue_push_burst(q, heads, NULL, n) < 0)
			return done;
		done += n;
		if (vireo_vdev_queue_flush(q))
			nd->stats.tx_signals++;
	}
	/* Budget spent with chains left: come back after the other queues had a turn. */
	if (done == NET_TX_BUDGET && !nd->polling && q->kick_fd >= 0 &&
	    vireo_vdev_queue_kick_again(q) < 0)
		vireo_vdev_queue_set_needs_reset(q, "cannot re-arm the kick fd");
	return done;
}
