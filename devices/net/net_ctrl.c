// SPDX-License-Identifier: MIT
/*
 * The control queue (virtio 1.2 §5.1.6.5): each chain is a command (class,
 * command, data: device-readable, read as one byte stream) followed by a
 * one-byte ack the device writes. Supported: CTRL_RX PROMISC/ALLMULTI,
 * CTRL_MAC TABLE_SET and ADDR_SET, CTRL_MQ VQ_PAIRS_SET. Anything else, or a
 * command whose length does not match, is answered VIRTIO_NET_ERR and
 * counted; a chain with no room for the ack is returned unanswered.
 */
#include <string.h>

#include <vireo/iov.h>
#include <vireo/log.h>

#include "devices/net/net_internal.h"

/* Return: VIRTIO_NET_OK or VIRTIO_NET_ERR. */
static uint8_t net_ctrl_rx(struct net_device *nd, uint8_t cmd, const uint8_t *data, uint32_t len)
{
	/* drv:CVQ/Packet Receive Filtering: only with CTRL_RX; the EXTRA commands are not offered. */
	if (!vdev_has_feature(&nd->vdev, VIRTIO_NET_F_CTRL_RX) || len != 1)
		return VIRTIO_NET_ERR;
	switch (cmd) {
	case VIRTIO_NET_CTRL_RX_PROMISC: /* D-NET-54 */
		nd->filter.promisc = data[0] != 0;
		return VIRTIO_NET_OK;
	case VIRTIO_NET_CTRL_RX_ALLMULTI:
		nd->filter.allmulti = data[0] != 0;
		return VIRTIO_NET_OK;
	default:
		return VIRTIO_NET_ERR;
	}
}

/*
 * One list of MAC_TABLE_SET: le32 count, then count addresses. Entries
 * beyond the table set its overflow flag (that class then passes unfiltered).
 * Return: bytes consumed, or 0 if the list does not fit in @len.
 */
static uint32_t net_ctrl_mac_list(const uint8_t *data, uint32_t len, uint8_t (*list)[NET_ETH_ALEN],
				  unsigned int *n, bool *overflow)
{
	uint32_t count;
	le32 raw;

	if (len < sizeof(raw))
		return 0;
	memcpy(&raw, data, sizeof(raw));
	count = le32_to_cpu(raw);
	if (count > (len - sizeof(raw)) / NET_ETH_ALEN)
		return 0;
	*overflow = count > NET_MAC_TABLE_MAX;
	*n = *overflow ? 0 : count;
	memcpy(list, data + sizeof(raw), (size_t)*n * NET_ETH_ALEN);
	return (uint32_t)sizeof(raw) + count * NET_ETH_ALEN;
}

/* Return: VIRTIO_NET_OK or VIRTIO_NET_ERR (R-NET-13 layout, exact length). */
static uint8_t net_ctrl_mac_table(struct net_device *nd, const uint8_t *data, uint32_t len)
{
	struct net_mac_table t;
	uint32_t used, more;

	if (!vdev_has_feature(&nd->vdev, VIRTIO_NET_F_CTRL_RX))
		return VIRTIO_NET_ERR;
	memset(&t, 0, sizeof(t));
	used = net_ctrl_mac_list(data, len, t.uni, &t.n_uni, &t.uni_overflow);
	if (used == 0)
		return VIRTIO_NET_ERR;
	more = net_ctrl_mac_list(data + used, len - used, t.multi, &t.n_multi, &t.multi_overflow);
	if (more == 0 || used + more != len)
		return VIRTIO_NET_ERR;
	/* D-NET-57: in force before the command is marked used. */
	nd->filter.table = t;
	return VIRTIO_NET_OK;
}

/* Return: VIRTIO_NET_OK or VIRTIO_NET_ERR. */
static uint8_t net_ctrl_mac(struct net_device *nd, uint8_t cmd, const uint8_t *data, uint32_t len)
{
	if (cmd == VIRTIO_NET_CTRL_MAC_TABLE_SET)
		return net_ctrl_mac_table(nd, data, len);
	if (cmd != VIRTIO_NET_CTRL_MAC_ADDR_SET || len != NET_ETH_ALEN ||
	    !vdev_has_feature(&nd->vdev, VIRTIO_NET_F_CTRL_MAC_ADDR))
		return VIRTIO_NET_ERR;
	/* A multicast address cannot be a station's own. */
	if (net_mac_is_multicast(data))
		return VIRTIO_NET_ERR;
	/* D-NET-58: config mac updated before the command is marked used. */
	memcpy(nd->config.mac, data, NET_ETH_ALEN);
	vireo_vdev_config_changed(&nd->vdev);
	return VIRTIO_NET_OK;
}

/* Return: VIRTIO_NET_OK or VIRTIO_NET_ERR (R-NET-15: 1..max_virtqueue_pairs). */
static uint8_t net_ctrl_mq(struct net_device *nd, uint8_t cmd, const uint8_t *data, uint32_t len)
{
	uint16_t pairs;
	le16 raw;

	if (!vdev_has_feature(&nd->vdev, VIRTIO_NET_F_MQ) ||
	    cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET || len != sizeof(raw))
		return VIRTIO_NET_ERR;
	memcpy(&raw, data, sizeof(raw));
	pairs = le16_to_cpu(raw);
	if (pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || pairs > nd->max_pairs)
		return VIRTIO_NET_ERR;
	nd->active_pairs = pairs; /* D-NET-63: in force once marked used */
	return VIRTIO_NET_OK;
}

/* One command out of nd->ctrl (@len bytes). Return: VIRTIO_NET_OK or VIRTIO_NET_ERR. */
static uint8_t net_ctrl_dispatch(struct net_device *nd, uint32_t len)
{
	const struct vireo_net_ctrl_hdr *h = (const struct vireo_net_ctrl_hdr *)nd->ctrl;
	const uint8_t *data = nd->ctrl + sizeof(*h);

	if (len < sizeof(*h))
		return VIRTIO_NET_ERR;
	len -= (uint32_t)sizeof(*h);
	switch (h->command_class) {
	case VIRTIO_NET_CTRL_RX:
		return net_ctrl_rx(nd, h->cmd, data, len);
	case VIRTIO_NET_CTRL_MAC:
		return net_ctrl_mac(nd, h->cmd, data, len);
	case VIRTIO_NET_CTRL_MQ:
		return net_ctrl_mq(nd, h->cmd, data, len);
	default:
		return VIRTIO_NET_ERR; /* VLAN, ANNOUNCE, GUEST_OFFLOADS: not offered */
	}
}

/* One command in @c (its iov in nd->iov) carried out. Return: bytes written (the ack). */
static uint32_t net_ctrl_command(struct net_device *nd, const struct vring_chain *c)
{
	uint8_t ack = VIRTIO_NET_ERR;

	/* GUEST: readable iov entries translated with their lengths; the copy is bounded. */
	if (c->readable_bytes <= NET_CTRL_MAX) {
		(void)vireo_iov_to_buf(nd->iov, c->readable, 0, nd->ctrl, c->readable_bytes);
		ack = net_ctrl_dispatch(nd, c->readable_bytes);
	}
	if (ack != VIRTIO_NET_OK)
		net_count_drop(nd, NET_DROP_CTRL_BAD);
	/* GUEST: the ack goes into the first writable byte, if there is one. */
	if (c->writable_bytes == 0)
		return 0;
	return (uint32_t)vireo_buf_to_iov(nd->iov + c->readable, c->writable, 0, &ack, 1);
}

/*
 * Up to NET_CTRL_BUDGET commands, then the other queues' turn (a driver that keeps
 * posting cannot hold the device's thread; the rest wait for the next call, as transmit's).
 */
void net_ctrl_process(struct net_device *nd, struct vdev_queue *q)
{
	struct vring_chain c;
	unsigned int done = 0;
	uint32_t written;

	while (done < NET_CTRL_BUDGET && vireo_vdev_queue_pop(q, &c, nd->iov, nd->iov_cap) == 0) {
		done++;
		/* vhost-user "Ring states": a disabled ring is served without side effects. */
		if (q->disabled) {
			net_count_drop(nd, NET_DROP_CTRL_DISABLED);
			written = 0;
		} else {
			written = net_ctrl_command(nd, &c);
		}
		if (vireo_vdev_queue_push(q, c.head, written) < 0)
			return;
	}
	(void)vireo_vdev_queue_flush(q);
	if (done == NET_CTRL_BUDGET && !nd->polling && q->kick_fd >= 0 &&
	    vireo_vdev_queue_kick_again(q) < 0)
		vireo_vdev_queue_set_needs_reset(q, "cannot re-arm the kick fd");
}
