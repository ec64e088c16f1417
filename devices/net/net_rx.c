// SPDX-License-Identifier: MIT
/*
 * The receive path (virtio 1.2 §5.1.6.3, §5.1.6.4): filter, pick a receive
 * queue, place header and frame into the driver's buffers and publish them.
 * Without MRG_RXBUF a frame goes into one chain (D-NET-21); with it, into as
 * many chains as it needs, every one but the last filled (D-NET-24), all
 * pushed together (D-NET-25) with num_buffers in the first (D-NET-23). When
 * the buffers run out halfway, the chains taken go back unused (unpop): the
 * driver never sees part of a frame. A pop that waits for a buffer's
 * translation (vIOMMU) holds the frame instead (net_rx_hold.c).
 */
#include <errno.h>
#include <string.h>

#include <vireo/iov.h>
#include <vireo/log.h>

#include "devices/net/net_internal.h"

/* Returned by the placement helpers when the ring is broken (NEEDS_RESET). */
#define NET_RX_BROKEN (-2)
/* ... and when a buffer's translation is pending: nothing consumed, the frame waits. */
#define NET_RX_PENDING (-3)

void net_rx_filter_reset(struct net_rx_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->promisc = true;
}

static bool net_mac_in(const uint8_t (*list)[NET_ETH_ALEN], unsigned int n, const uint8_t *mac)
{
	for (unsigned int i = 0; i < n; i++)
		if (memcmp(list[i], mac, NET_ETH_ALEN) == 0)
			return true;
	return false;
}

bool net_rx_filter_accepts(const struct net_device *nd, const uint8_t *dst)
{
	const struct net_rx_filter *f = &nd->filter;

	/* Without CTRL_RX the driver asked for no filtering: everything passes. */
	if (!vdev_has_feature(&nd->vdev, VIRTIO_NET_F_CTRL_RX) || f->promisc)
		return true;
	if (net_mac_is_broadcast(dst))
		return true; /* NOBCAST needs CTRL_RX_EXTRA, which is not offered */
	if (net_mac_is_multicast(dst))
		return f->allmulti || f->table.multi_overflow ||
		       net_mac_in(f->table.multi, f->table.n_multi, dst);
	return memcmp(dst, nd->config.mac, NET_ETH_ALEN) == 0 || f->table.uni_overflow ||
	       net_mac_in(f->table.uni, f->table.n_uni, dst);
}

/* A flow's hash from its IPv4 addresses and ports, to spread flows over queue pairs. */
static uint32_t net_flow_hash(const struct net_packet *pkt)
{
	const uint8_t *d = pkt->data;
	uint32_t h = 2166136261u, n;
	unsigned int ihl;

	if (pkt->len < NET_ETH_HLEN + 20u || d[12] != 0x08 || d[13] != 0x00)
		return 0;
	ihl = (d[NET_ETH_HLEN] & 0x0fu) * 4u;
	/* addresses, and the ports when they are inside the frame */
	n = ihl >= 20u && pkt->len >= NET_ETH_HLEN + ihl + 4u ? 12u : 8u;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t at = i < 8u ? NET_ETH_HLEN + 12u + i : NET_ETH_HLEN + ihl + i - 8u;

		h = (h ^ d[at]) * 16777619u;
	}
	return h;
}

/* The receive queue for @pkt, or NULL if none is running and enabled (D-VU-03). */
static struct vdev_queue *net_rx_queue(struct net_device *nd, const struct net_packet *pkt)
{
	unsigned int pairs = net_data_pairs(nd), pair = 0;
	struct vdev_queue *q;

	if (vdev_has_feature(&nd->vdev, VIRTIO_NET_F_CTRL_VQ) && nd->active_pairs < pairs)
		pairs = nd->active_pairs; /* D-NET-63: no queue beyond VQ_PAIRS_SET */
	if (pairs > 1)
		pair = net_flow_hash(pkt) % pairs;
	q = &nd->vdev.queues[2u * pair];
	if (!q->enabled || q->disabled)
		q = &nd->vdev.queues[0];
	return q->enabled && !q->disabled ? q : NULL;
}

/* A receive chain with a device-readable part, or too small for a header: the driver broke §5.1.6.3. */
static bool net_rx_chain_bad(struct net_device *nd, struct vdev_queue *q,
			     const struct vring_chain *c)
{
	if (c->readable) {
		vireo_vdev_queue_set_needs_reset(q, "device-readable buffer in a receive queue");
		return true;
	}
	/* drv:NET/Setting Up Receive Buffers: with MRG_RXBUF every buffer holds a header. */
	if (vdev_has_feature(&nd->vdev, VIRTIO_NET_F_MRG_RXBUF) &&
	    c->writable_bytes < sizeof(struct vireo_net_hdr_v1)) {
		vireo_vdev_queue_set_needs_reset(q, "receive buffer smaller than the header");
		return true;
	}
	return false;
}

/* Without MRG_RXBUF. Return: -1 placed; a drop reason; NET_RX_BROKEN. */
static int net_rx_single(struct net_device *nd, struct vdev_queue *q, const struct net_packet *pkt,
			 struct vireo_net_hdr_v1 *hdr)
{
	uint32_t total = (uint32_t)sizeof(*hdr) + pkt->len;
	struct vring_chain c;
	int r;

	r = vireo_vdev_queue_pop(q, &c, nd->iov, nd->iov_cap);
	if (r == -EAGAIN)
		return vireo_vdev_queue_map_pending(q) ? NET_RX_PENDING : NET_DROP_RX_NO_BUFFER;
	if (r < 0 || net_rx_chain_bad(nd, q, &c))
		return NET_RX_BROKEN;
	if (c.writable_bytes < total) {
		/* The buffer may suit a smaller frame: give it back (D-NET-21: never split). */
		return vireo_vdev_queue_unpop(q, c.head) < 0 ? NET_RX_BROKEN
							     : NET_DROP_RX_SMALL_BUFFER;
	}
	hdr->num_buffers = cpu_to_le16(1); /* D-NET-22 */
	/* GUEST: writable iov entries translated with their lengths; writes stay inside them. */
	(void)vireo_buf_to_iov(nd->iov, c.writable, 0, hdr, sizeof(*hdr));
	(void)vireo_buf_to_iov(nd->iov, c.writable, sizeof(*hdr), pkt->data, pkt->len);
	if (vireo_vdev_queue_push(q, c.head, total) < 0)
		return NET_RX_BROKEN;
	nd->stats.rx_buffers++;
	return -1;
}

/* Give back the @n chains popped for one frame, last first. Return: -1, or NET_RX_BROKEN. */
static int net_rx_unpop(struct net_device *nd, struct vdev_queue *q, unsigned int n)
{
	while (n-- > 0)
		if (vireo_vdev_queue_unpop(q, nd->rx_heads[n]) < 0)
			return NET_RX_BROKEN;
	return -1;
}

/* Fill one more chain with the next bytes of @pkt. Return: bytes of the frame placed. */
static uint32_t net_rx_fill(struct vring_iov *iov, const struct vring_chain *c,
			    const struct net_packet *pkt, uint32_t placed, bool first,
			    const struct vireo_net_hdr_v1 *hdr)
{
	uint32_t skip = first ? (uint32_t)sizeof(*hdr) : 0;
	uint32_t room = c->writable_bytes - skip, left = pkt->len - placed;
	uint32_t chunk = room < left ? room : left;

	/* GUEST: writable iov entries translated with their lengths; writes stay inside them. */
	if (first)
		(void)vireo_buf_to_iov(iov, c->writable, 0, hdr, sizeof(*hdr));
	(void)vireo_buf_to_iov(iov, c->writable, skip, pkt->data + placed, chunk);
	return chunk;
}

/* With MRG_RXBUF. Return: -1 placed; a drop reason; NET_RX_BROKEN. */
static int net_rx_merge(struct net_device *nd, struct vdev_queue *q, const struct net_packet *pkt,
			struct vireo_net_hdr_v1 *hdr)
{
	struct vring_iov hdr_iov[sizeof(*hdr)];
	unsigned int n = 0, hdr_cnt = 0;
	uint32_t placed = 0;
	struct vring_chain c;
	le16 nbuf;
	int r;

	hdr->num_buffers = 0; /* written last, once the count is known */
	while (n == 0 || placed < pkt->len) {
		struct vring_iov *iov = n == 0 ? nd->iov : nd->iov_more;

		if (n == q->num)
			return net_rx_unpop(nd, q, n) == -1 ? NET_DROP_RX_NO_BUFFER : NET_RX_BROKEN;
		r = vireo_vdev_queue_pop(q, &c, iov, nd->iov_cap);
		if (r == -EAGAIN && vireo_vdev_queue_map_pending(q))
			return net_rx_unpop(nd, q, n) == -1 ? NET_RX_PENDING : NET_RX_BROKEN;
		if (r == -EAGAIN)
			return net_rx_unpop(nd, q, n) == -1 ? NET_DROP_RX_NO_BUFFER : NET_RX_BROKEN;
		if (r < 0 || net_rx_chain_bad(nd, q, &c))
			return NET_RX_BROKEN;
		if (n == 0)
			hdr_cnt = vireo_iov_slice(
				iov, c.writable, 0, sizeof(*hdr), hdr_iov,
				(unsigned int)(sizeof(hdr_iov) / sizeof(hdr_iov[0])), NULL);
		r = (int)net_rx_fill(iov, &c, pkt, placed, n == 0, hdr);
		placed += (uint32_t)r;
		nd->rx_heads[n] = c.head;
		nd->rx_lens[n] = (uint32_t)r + (n == 0 ? (uint32_t)sizeof(*hdr) : 0);
		n++;
	}
	nbuf = cpu_to_le16((uint16_t)n); /* D-NET-20/23: buffers this frame spans */
	(void)vireo_buf_to_iov(hdr_iov, hdr_cnt, offsetof(struct vireo_net_hdr_v1, num_buffers),
			       &nbuf, sizeof(nbuf));
	for (unsigned int i = 0; i < n; i++)
		if (vireo_vdev_queue_push(q, nd->rx_heads[i], nd->rx_lens[i]) < 0)
			return NET_RX_BROKEN;
	nd->stats.rx_buffers += n;
	return -1;
}

/* Return: -1 if @pkt may be placed, else the drop reason. */
static int net_rx_admit(struct net_device *nd, const struct net_packet *pkt)
{
	if (!nd->vdev.activated || vdev_needs_reset(&nd->vdev) || !nd->link_up)
		return NET_DROP_RX_NOT_READY;
	if (pkt->len >= NET_ETH_HLEN && !net_rx_filter_accepts(nd, pkt->data))
		return NET_DROP_RX_FILTERED;
	return net_hdr_check_rx(pkt, nd->vdev.acked_features, nd->opt.mtu);
}

static int net_rx_errno(int why)
{
	switch (why) {
	case NET_RX_BROKEN:
		return -EIO;
	case NET_DROP_RX_NOT_READY:
		return -ENETDOWN;
	case NET_DROP_RX_FILTERED:
		return -EPERM;
	case NET_DROP_RX_OVERSIZE:
		return -EMSGSIZE;
	case NET_DROP_RX_OFFLOAD:
		return -EOPNOTSUPP;
	default:
		return -ENOBUFS;
	}
}

/* The header the driver sees: only what it negotiated and what the frame needs. */
static void net_rx_header(const struct net_device *nd, struct vireo_net_hdr_v1 *hdr)
{
	/* D-NET-26: flags are only ours to set with GUEST_CSUM; no RSC_INFO (D-NET-44). */
	hdr->flags &= vdev_has_feature(&nd->vdev, VIRTIO_NET_F_GUEST_CSUM)
			      ? VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID
			      : 0;
	if (!(hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		hdr->csum_start = hdr->csum_offset = 0;
	/* D-NET-41: a frame sent as it is says GSO_NONE (not ECN alone), and no MSS. */
	if ((hdr->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) == VIRTIO_NET_HDR_GSO_NONE) {
		hdr->gso_type = VIRTIO_NET_HDR_GSO_NONE;
		hdr->gso_size = 0;
		hdr->hdr_len = 0;
	}
}

/* Admit and place @pkt. Return: -1 placed; a drop reason; NET_RX_BROKEN; NET_RX_PENDING. */
static int net_rx_place(struct net_device *nd, const struct net_packet *pkt, struct vdev_queue **qp)
{
	struct vireo_net_hdr_v1 hdr = pkt->vnet;
	struct vdev_queue *q;
	int why = net_rx_admit(nd, pkt);

	if (why >= 0)
		return why;
	q = net_rx_queue(nd, pkt);
	if (!q)
		return NET_DROP_RX_NOT_READY;
	*qp = q;
	/* No kicks wanted on receive queues: frames are dropped when buffers lack (held only
	 * for a translation, whose update kicks the queue itself: net_rx_hold.c). */
	(void)vireo_vdev_queue_set_notify(q, false);
	net_rx_header(nd, &hdr);
	return vdev_has_feature(&nd->vdev, VIRTIO_NET_F_MRG_RXBUF)
		       ? net_rx_merge(nd, q, pkt, &hdr)
		       : net_rx_single(nd, q, pkt, &hdr);
}

/* Count what net_rx_place() did with @pkt. Return: 0, or the errno of its drop. */
static int net_rx_account(struct net_device *nd, struct vdev_queue *q, const struct net_packet *pkt,
			  int why)
{
	if (why == NET_RX_BROKEN)
		return -EIO;
	if (why >= 0) {
		net_count_drop(nd, (enum net_drop_reason)why);
		return net_rx_errno(why);
	}
	nd->stats.rx_frames++;
	nd->stats.rx_bytes += pkt->len;
	if (vireo_vdev_queue_flush(q))
		nd->stats.rx_signals++;
	return 0;
}

void net_rx_hold_flush(struct net_device *nd)
{
	const struct net_packet *pkt;

	while ((pkt = net_rx_hold_front(nd)) != NULL) {
		struct vdev_queue *q = NULL;
		int why = net_rx_place(nd, pkt, &q);

		if (why == NET_RX_PENDING)
			return; /* still missing: the next update kicks the queue again */
		(void)net_rx_account(nd, q, pkt, why);
		net_rx_hold_pop(nd);
	}
}

/* Keep @pkt behind the held frames; a full hold drops it. Return: 0 or -ENOBUFS. */
static int net_rx_hold_or_drop(struct net_device *nd, const struct net_packet *pkt)
{
	if (net_rx_hold_add(nd, pkt) == 0)
		return 0;
	net_count_drop(nd, NET_DROP_RX_IOTLB_WAIT);
	return -ENOBUFS;
}

int vireo_net_device_receive(struct net_device *nd, const struct net_packet *pkt)
{
	struct vdev_queue *q = NULL;
	int why;

	/* Frames waiting for a translation go first: the port's order holds. */
	if (!net_rx_hold_empty(nd)) {
		net_rx_hold_flush(nd);
		why = net_rx_admit(nd, pkt);
		if (!net_rx_hold_empty(nd) && why < 0)
			return net_rx_hold_or_drop(nd, pkt);
	}
	why = net_rx_place(nd, pkt, &q);
	if (why == NET_RX_PENDING)
		return net_rx_hold_or_drop(nd, pkt);
	return net_rx_account(nd, q, pkt, why);
}
