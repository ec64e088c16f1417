// SPDX-License-Identifier: MIT
/*
 * virtio-net data path (virtio 1.2 §5.1.6): frames copied into per-slot
 * transmit buffers behind an all-zero header, one kick per burst; receive
 * buffers taken, checked, copied out and refilled, one kick per refill.
 * Nothing the device wrote is used before it is checked.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <vireo/inet_csum.h>
#include <vireo/log.h>

#include "drivers/net.h"

/* Header flags known to this driver; others are ignored (drv:NET/.../Processing of Incoming Packets). */
#define NET_HDR_KNOWN_FLAGS \
	(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID | VIRTIO_NET_HDR_F_RSC_INFO)

static int net_broken(struct virtio_net *net, struct virtqueue *vq, bool *warned)
{
	if (!*warned) {
		log_warn("virtio-net%u: queue %s: the device broke the ring protocol",
			 net->vdev->index, vq->name ? vq->name : "?");
		*warned = true;
	}
	return -EIO;
}

/* Kick @vq if the device wants it (§2.7.10). Return: true if a notification went out */
static bool net_kick(struct virtqueue *vq)
{
	return virtqueue_kick_prepare(vq) && virtqueue_notify(vq);
}

/* ---- transmit ---- */

unsigned int virtio_net_tx_reclaim(struct virtio_net *net)
{
	unsigned int n = 0;
	uint32_t len;
	void *buf;

	/* The ring refused a used len above 0: nothing on this queue is device-writable. */
	while ((buf = virtqueue_get_buf(net->txq, &len)) != NULL) {
		net_pool_put(&net->tx, buf);
		n++;
	}
	return n;
}

/*
 * One frame behind a zero header in one descriptor (§5.1.6.2: any layout
 * with VERSION_1). R-NET-05/06/07: flags 0, gso_type NONE, num_buffers 0.
 * Return: 0, -ENOSPC (no slot or ring full) or -EIO
 */
static int net_tx_one(struct virtio_net *net, const void *frame, size_t len)
{
	uint8_t *buf = net_pool_get(&net->tx);
	struct virtio_sg sg;
	int err;

	if (!buf)
		return -ENOSPC;
	memset(buf, 0, NET_HDR_LEN);
	memcpy(buf + NET_HDR_LEN, frame, len);
	sg.addr = net_pool_addr(&net->tx, buf);
	sg.len = (uint32_t)(NET_HDR_LEN + len);
	err = virtqueue_add_outbuf(net->txq, &sg, 1, buf);
	if (err) {
		net_pool_put(&net->tx, buf);
		return err;
	}
	net->stats.tx_frames++;
	net->stats.tx_bytes += len;
	return 0;
}

int virtio_net_send_burst(struct virtio_net *net, const void *const frames[], const size_t lens[],
			  unsigned int count)
{
	unsigned int i, done = 0;
	int err = 0;

	/* R-NET-03: nothing above mtu plus the Ethernet header and a VLAN tag. */
	for (i = 0; i < count; i++)
		if (!frames[i] || lens[i] < NET_ETH_HLEN || lens[i] > net->max_frame)
			return -EINVAL;
	if (virtqueue_is_broken(net->txq))
		return net_broken(net, net->txq, &net->tx_warned);
	virtio_net_tx_reclaim(net);
	for (; done < count; done++) {
		err = net_tx_one(net, frames[done], lens[done]);
		if (err)
			break;
	}
	if (done && net_kick(net->txq))
		net->stats.tx_kicks++;
	if (err && err != -ENOSPC)
		return net_broken(net, net->txq, &net->tx_warned);
	return (int)done;
}

int virtio_net_send(struct virtio_net *net, const void *frame, size_t len)
{
	const void *frames[1] = {frame};
	size_t lens[1] = {len};

	return virtio_net_send_burst(net, frames, lens, 1);
}

/* ---- receive ---- */

/*
 * Post every free receive buffer (device-writable, R-SR-02) and kick once.
 * Return: the number posted, or -EIO if the queue is broken.
 */
int net_rx_refill(struct virtio_net *net)
{
	struct virtio_sg sg;
	uint8_t *buf;
	int n = 0, err;

	while ((buf = net_pool_get(&net->rx)) != NULL) {
		sg.addr = net_pool_addr(&net->rx, buf);
		sg.len = net->rx.buf_size;
		err = virtqueue_add_inbuf(net->rxq, &sg, 1, buf);
		if (err) {
			net_pool_put(&net->rx, buf);
			if (err != -ENOSPC)
				return net_broken(net, net->rxq, &net->rx_warned);
			break;
		}
		n++;
	}
	if (n && net_kick(net->rxq))
		net->stats.rx_kicks++;
	return n;
}

/*
 * The header's offload fields against what was negotiated (D-NET-26/27..30,
 * D-NET-41, D-NET-44): no GUEST_TSO* or RSC_EXT ever, so gso_type is NONE
 * and RSC_INFO clear; NEEDS_CSUM and DATA_VALID only with GUEST_CSUM.
 * Unknown flag bits are ignored (R-NET-11).
 */
static bool net_rx_hdr_ok(const struct virtio_net *net, const struct vireo_net_hdr_v1 *hdr)
{
	uint8_t flags = hdr->flags & NET_HDR_KNOWN_FLAGS;

	if (hdr->gso_type != VIRTIO_NET_HDR_GSO_NONE || (flags & VIRTIO_NET_HDR_F_RSC_INFO))
		return false;
	return net->guest_csum || flags == 0;
}

/*
 * num_buffers (D-NET-22/23): with MRG_RXBUF 1..one ring's worth; without
 * it 1, or 0: DPDK's vhost library leaves the field unwritten when
 * MRG_RXBUF is off (its buffers were zeroed when allocated). Harmless, as
 * the frame is in this one buffer either way, so it is let through.
 * Return: the buffers the frame spans, or 0 to drop it
 */
static unsigned int net_rx_num_buffers(const struct virtio_net *net,
				       const struct vireo_net_hdr_v1 *hdr)
{
	unsigned int nbuf = le16_to_cpu(hdr->num_buffers);

	if (net->mrg_rxbuf)
		return nbuf <= net->rx.num ? nbuf : 0;
	return nbuf <= 1 ? 1 : 0;
}

/*
 * The frame's remaining buffers with MRG_RXBUF (§5.1.6.4): @nbuf - 1 more
 * used buffers, already visible (D-NET-25), every one but the last full
 * (D-NET-24). Their bytes go after @got bytes in @out (up to @cap).
 * Return: the frame's total length, or 0 if the device broke the rules
 * (what it had used of the frame is consumed either way).
 */
static uint32_t net_rx_merge(struct virtio_net *net, uint32_t got, uint32_t prev_len,
			     unsigned int nbuf, uint8_t *out, size_t cap)
{
	bool bad = false;
	unsigned int i;
	uint32_t len;
	uint8_t *buf;

	for (i = 1; i < nbuf; i++) {
		if (prev_len != net->rx.buf_size)
			bad = true;
		buf = virtqueue_get_buf(net->rxq, &len);
		if (!buf)
			return 0; /* fewer used buffers than num_buffers (or broken) */
		if (len == 0)
			bad = true;
		if (!bad && got < cap)
			memcpy(out + got, buf, len < cap - got ? len : cap - got);
		got += len;
		prev_len = len;
		net_pool_put(&net->rx, buf);
	}
	return bad ? 0 : got;
}

/* The length checks and offloads of a whole frame. Return: true to deliver it */
static bool net_rx_finish(struct virtio_net *net, const struct vireo_net_hdr_v1 *hdr, uint8_t *out,
			  uint32_t len, size_t cap)
{
	/* Runts, and frames above mtu plus L2 headers (D-NET-04). */
	if (len < NET_ETH_HLEN || len > net->max_frame)
		return false;
	if (!(hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return true;
	/* Only complete in the caller's copy: a truncated frame's checksum cannot be computed. */
	if (len > cap)
		return true;
	/* D-NET-36/37: the field holds the pseudo-header sum; finish it, offsets checked. */
	return vireo_inet_csum_complete(out, len, le16_to_cpu(hdr->csum_start),
					le16_to_cpu(hdr->csum_offset)) == 0;
}

/*
 * Take one frame. Return: its length copied into @out (> 0), 0 if none is
 * ready, -EAGAIN after dropping one, or -EIO.
 */
static int net_rx_take(struct virtio_net *net, uint8_t *out, size_t cap)
{
	struct vireo_net_hdr_v1 hdr;
	unsigned int nbuf;
	uint32_t len, flen;
	uint8_t *buf = virtqueue_get_buf(net->rxq, &len);

	if (!buf)
		return virtqueue_is_broken(net->rxq) ? net_broken(net, net->rxq, &net->rx_warned)
						     : 0;
	/* The ring checked len <= the buffer's size; the header needs 12 of them. */
	if (len < NET_HDR_LEN) {
		net_pool_put(&net->rx, buf);
		goto drop;
	}
	memcpy(&hdr, buf, sizeof(hdr));
	nbuf = net_rx_num_buffers(net, &hdr);
	if (nbuf == 0) {
		net_pool_put(&net->rx, buf);
		goto drop;
	}
	flen = len - NET_HDR_LEN;
	memcpy(out, buf + NET_HDR_LEN, flen < cap ? flen : cap);
	net_pool_put(&net->rx, buf);
	if (nbuf > 1) {
		flen = net_rx_merge(net, flen, len, nbuf, out, cap);
		if (flen == 0) {
			if (virtqueue_is_broken(net->rxq))
				return net_broken(net, net->rxq, &net->rx_warned);
			goto drop;
		}
	}
	if (!net_rx_hdr_ok(net, &hdr) || !net_rx_finish(net, &hdr, out, flen, cap))
		goto drop;
	net->stats.rx_frames++;
	net->stats.rx_bytes += flen;
	return (int)(flen < cap ? flen : cap);

drop:
	net->stats.rx_dropped++;
	return -EAGAIN;
}

/*
 * Return: the bytes copied into @buf: the frame, or its first @cap bytes
 * when it is longer (n <= @cap always, so a caller never reads past what
 * was written).
 */
int virtio_net_recv(struct virtio_net *net, void *buf, size_t cap)
{
	int n;

	if (cap == 0)
		return -EINVAL;
	do
		n = net_rx_take(net, buf, cap);
	while (n == -EAGAIN);
	/*
	 * Refill once the burst is over (nothing more used) or half the ring
	 * waits: one kick for many buffers, and the ring never runs dry.
	 */
	if (n <= 0 || !virtqueue_more_used(net->rxq) || net->rx.nfree >= net->rx.num / 2) {
		int r = net_rx_refill(net);

		if (r < 0 && n >= 0)
			n = r;
	}
	return n;
}

/* ---- waiting ---- */

static int64_t net_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool net_ready(const struct virtio_net *net)
{
	return virtqueue_more_used(net->rxq) || virtqueue_more_used(net->txq);
}

/*
 * Callbacks on both queues for the wait only. §2.7.10: a buffer used just
 * before enable_cb raises no signal; enable_cb says so and we look again.
 * Return: true if it is safe to sleep.
 */
static bool net_arm(struct virtio_net *net)
{
	bool rx = virtqueue_enable_cb(net->rxq), tx = virtqueue_enable_cb(net->txq);

	if (rx && tx)
		return true;
	virtqueue_disable_cb(net->rxq);
	virtqueue_disable_cb(net->txq);
	return false;
}

int virtio_net_wait(struct virtio_net *net, int timeout_ms)
{
	struct virtio_device *vdev = net->vdev;
	int64_t deadline = timeout_ms > 0 ? net_now_ms() + timeout_ms : 0;
	int left = timeout_ms, err;

	for (;;) {
		if (net_ready(net))
			return 1;
		if (virtqueue_is_broken(net->rxq))
			return net_broken(net, net->rxq, &net->rx_warned);
		if (virtqueue_is_broken(net->txq))
			return net_broken(net, net->txq, &net->tx_warned);
		/* Reset after DEVICE_NEEDS_RESET (virtio_check_needs_reset()): nothing more comes. */
		if (virtio_device_needs_reset(vdev))
			return -EIO;
		if (timeout_ms > 0) {
			int64_t rest = deadline - net_now_ms();

			left = rest > 0 ? (int)rest : 0;
		}
		if (left == 0 || !vdev->config->wait)
			return 0;
		if (!net_arm(net))
			continue;
		err = vdev->config->wait(vdev, left);
		virtqueue_disable_cb(net->rxq);
		virtqueue_disable_cb(net->txq);
		if (err == 0)
			net->stats.rx_interrupts++;
		else if (err != -EINTR && virtio_check_needs_reset(vdev))
			continue;
		else if (err != -ETIMEDOUT && err != -EINTR)
			return net_ready(net) ? 1 : err;
	}
}
