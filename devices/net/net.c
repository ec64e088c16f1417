// SPDX-License-Identifier: MIT
/*
 * virtio-net device model (virtio 1.2 §5.1): life cycle, feature offer,
 * config space, the roles of queue indexes and the dispatch of kicks. The
 * transmit path is in net_tx.c, receive in net_rx.c, the control queue in
 * net_ctrl.c, the header rules in net_hdr.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/log.h>

#include "devices/net/net_internal.h"

#define NET_DROP_NAME(name, short_name, text) short_name,
static const char *const net_drop_names[] = {NET_DROP_REASONS(NET_DROP_NAME)};
#undef NET_DROP_NAME
#define NET_DROP_TEXT(name, short_name, text) text,
static const char *const net_drop_texts[] = {NET_DROP_REASONS(NET_DROP_TEXT)};
#undef NET_DROP_TEXT

const char *vireo_net_drop_reason_name(enum net_drop_reason r)
{
	return (unsigned int)r < NET_DROP_COUNT ? net_drop_names[r] : "unknown";
}

const char *vireo_net_drop_reason_text(enum net_drop_reason r)
{
	return (unsigned int)r < NET_DROP_COUNT ? net_drop_texts[r] : "unknown drop reason";
}

void net_count_drop(struct net_device *nd, enum net_drop_reason r)
{
	if ((unsigned int)r < NET_DROP_COUNT)
		nd->stats.drops[r]++;
}

/* §5.1.2: N pairs with MQ negotiated, else 1. */
unsigned int net_data_pairs(const struct net_device *nd)
{
	return vdev_has_feature(&nd->vdev, VIRTIO_NET_F_MQ) ? nd->max_pairs : 1u;
}

/* §5.1.2: controlq is 2N, and exists only with CTRL_VQ. Return: its index or -1. */
int net_ctrl_index(const struct net_device *nd)
{
	if (!vdev_has_feature(&nd->vdev, VIRTIO_NET_F_CTRL_VQ))
		return -1;
	return (int)(2u * net_data_pairs(nd));
}

static void net_queue_notify(struct vdev *dev, struct vdev_queue *q)
{
	struct net_device *nd = net_from_vdev(dev);

	nd->stats.kicks++;
	if ((int)q->index == net_ctrl_index(nd)) {
		net_ctrl_process(nd, q);
		return;
	}
	/* Odd indexes below 2N transmit; a receive queue's kick may bring a translation. */
	if (q->index < 2u * net_data_pairs(nd) && (q->index & 1u))
		(void)net_tx_process(nd, q);
	else if (q->index < 2u * net_data_pairs(nd))
		net_rx_hold_flush(nd);
}

/* A new driver, or none: the filter, pairs and MAC go back to their reset values. */
static void net_reset(struct vdev *dev)
{
	struct net_device *nd = net_from_vdev(dev);

	/* Frames held for an old driver's buffers are not the new one's. */
	net_rx_hold_clear(nd, true);
	net_rx_filter_reset(&nd->filter); /* D-NET-56: empty MAC table */
	nd->active_pairs = 1;		  /* D-NET-62 */
	memcpy(nd->config.mac, nd->opt.mac, NET_ETH_ALEN);
}

static const struct vdev_ops net_ops = {
	.queue_notify = net_queue_notify,
	.reset = net_reset,
};

/* Return: 0 with defaults filled in, or -EINVAL. */
static int net_check_options(struct net_device_options *o)
{
	if (o->mtu == 0)
		o->mtu = NET_DEFAULT_MTU;
	if (o->queue_pairs == 0)
		o->queue_pairs = 1;
	if (o->queue_size == 0)
		o->queue_size = NET_DEVICE_DEFAULT_QUEUE_SIZE;
	/* D-NET-01, D-NET-02 */
	if (o->mtu < VIRTIO_NET_MTU_MIN || o->queue_pairs > NET_DEVICE_MAX_QUEUE_PAIRS ||
	    (o->queue_pairs > 1 && o->no_ctrl_vq))
		return -EINVAL;
	if (o->queue_size < 2 || o->queue_size > VIRTQ_SPLIT_MAX_SIZE ||
	    (o->queue_size & (o->queue_size - 1u)) || net_mac_is_multicast(o->mac))
		return -EINVAL;
	/* D-BF-03: TSO needs CSUM, in both directions. */
	if (o->offloads & (NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6))
		o->offloads |= NET_OFFLOAD_CSUM;
	return 0;
}

/* §5.1.3, with the dependencies of "Feature bit requirements" (D-BF-03). */
static uint64_t net_features(const struct net_device_options *o)
{
	/* IN_ORDER: every queue pops and pushes in ring order, rx merges included (D-BF-19). */
	uint64_t f = VIRTIO_BIT(VIRTIO_NET_F_STATUS) | VIRTIO_BIT(VIRTIO_NET_F_MTU) |
		     VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_F_IN_ORDER);

	if (!net_mac_is_zero(o->mac))
		f |= VIRTIO_BIT(VIRTIO_NET_F_MAC);
	if (o->offloads & NET_OFFLOAD_CSUM)
		f |= VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM);
	if (o->offloads & NET_OFFLOAD_TSO4)
		f |= VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4);
	if (o->offloads & NET_OFFLOAD_TSO6)
		f |= VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6);
	if (!o->no_ctrl_vq)
		f |= VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_RX) |
		     VIRTIO_BIT(VIRTIO_NET_F_CTRL_MAC_ADDR);
	if (o->queue_pairs > 1)
		f |= VIRTIO_BIT(VIRTIO_NET_F_MQ);
	return f;
}

/* Return: 0 or -ENOMEM (the caller frees what was allocated). */
static int net_alloc_scratch(struct net_device *nd)
{
	nd->iov_cap = nd->opt.queue_size + NET_IOV_SLACK;
	nd->iov = calloc(nd->iov_cap, sizeof(*nd->iov));
	nd->iov_more = calloc(nd->iov_cap, sizeof(*nd->iov_more));
	nd->tx_iov_len = nd->iov_cap + NET_TX_BURST - 1u;
	nd->tx_iov = calloc(nd->tx_iov_len, sizeof(*nd->tx_iov));
	if (!nd->tx_iov)
		return -ENOMEM;
	nd->rx_heads = calloc(nd->opt.queue_size, sizeof(*nd->rx_heads));
	nd->rx_lens = calloc(nd->opt.queue_size, sizeof(*nd->rx_lens));
	nd->frame = malloc(NET_FRAME_MAX);
	nd->ctrl = malloc(NET_CTRL_MAX);
	if (!nd->iov || !nd->iov_more || !nd->rx_heads || !nd->rx_lens || !nd->frame || !nd->ctrl)
		return -ENOMEM;
	return 0;
}

static void net_free_scratch(struct net_device *nd)
{
	net_rx_hold_clear(nd, false);
	free(nd->iov);
	free(nd->iov_more);
	free(nd->tx_iov);
	free(nd->rx_heads);
	free(nd->rx_lens);
	free(nd->frame);
	free(nd->ctrl);
}

static void net_init_config(struct net_device *nd)
{
	struct vireo_net_config *c = &nd->config;

	memset(c, 0, sizeof(*c));
	memcpy(c->mac, nd->opt.mac, NET_ETH_ALEN);
	c->status = cpu_to_le16(nd->link_up ? VIRTIO_NET_S_LINK_UP : 0);
	c->max_virtqueue_pairs = cpu_to_le16((uint16_t)nd->max_pairs);
	c->mtu = cpu_to_le16(nd->opt.mtu);
	c->speed = cpu_to_le32(0xffffffffu); /* unknown; SPEED_DUPLEX is not offered */
	c->duplex = 0xff;
}

int vireo_net_device_new(struct net_device **out, const struct net_device_options *opt)
{
	struct net_device_options o = opt ? *opt : (struct net_device_options){0};
	struct net_device *nd;
	unsigned int nq;
	int rc = net_check_options(&o);

	if (rc)
		return rc;
	nd = calloc(1, sizeof(*nd));
	if (!nd)
		return -ENOMEM;
	nd->opt = o;
	nd->max_pairs = o.queue_pairs;
	nd->active_pairs = 1;
	nd->link_up = !o.link_down;
	net_rx_filter_reset(&nd->filter);
	rc = net_alloc_scratch(nd);
	if (rc)
		goto out_free;
	net_init_config(nd);
	nq = 2u * nd->max_pairs + (o.no_ctrl_vq ? 0u : 1u);
	rc = vireo_vdev_init(&nd->vdev, &net_ops, "virtio-net", VIRTIO_ID_NET, net_features(&o), nq,
			     o.queue_size, &nd->config, sizeof(nd->config));
	if (rc)
		goto out_free;
	/* vhost-user "Ring states": a disabled ring is served, transmit discarded (net_tx.c). */
	nd->vdev.serves_disabled_rings = true;
	*out = nd;
	return 0;

out_free:
	net_free_scratch(nd);
	free(nd);
	return rc;
}

struct vdev *vireo_net_device_vdev(struct net_device *nd)
{
	return &nd->vdev;
}

void vireo_net_device_free(struct net_device *nd)
{
	if (!nd)
		return;
	vireo_vdev_destroy(&nd->vdev);
	net_free_scratch(nd);
	free(nd);
}

void vireo_net_device_set_tx_handler(struct net_device *nd,
				     void (*fn)(void *opaque, const struct net_packet *pkt),
				     void *opaque)
{
	nd->tx_fn = fn;
	nd->tx_opaque = opaque;
}

uint32_t vireo_net_device_rx_offloads(const struct net_device *nd)
{
	uint32_t o = 0;

	if (vdev_has_feature(&nd->vdev, VIRTIO_NET_F_GUEST_CSUM))
		o |= NET_OFFLOAD_CSUM;
	if (vdev_has_feature(&nd->vdev, VIRTIO_NET_F_GUEST_TSO4))
		o |= NET_OFFLOAD_TSO4;
	if (vdev_has_feature(&nd->vdev, VIRTIO_NET_F_GUEST_TSO6))
		o |= NET_OFFLOAD_TSO6;
	return o;
}

void vireo_net_device_set_link(struct net_device *nd, bool up)
{
	if (nd->link_up == up)
		return;
	nd->link_up = up;
	nd->config.status = cpu_to_le16(up ? VIRTIO_NET_S_LINK_UP : 0);
	vireo_vdev_config_changed(&nd->vdev);
}

void vireo_net_device_mac(const struct net_device *nd, uint8_t mac[NET_ETH_ALEN])
{
	memcpy(mac, nd->config.mac, NET_ETH_ALEN);
}

void vireo_net_device_set_polling(struct net_device *nd, bool polling)
{
	nd->polling = polling;
}

unsigned int vireo_net_device_poll(struct net_device *nd)
{
	unsigned int pairs, done = 0;
	int ctrl;

	if (!nd->vdev.activated || vdev_needs_reset(&nd->vdev))
		return 0;
	pairs = net_data_pairs(nd);
	for (unsigned int p = 0; p < pairs; p++) {
		struct vdev_queue *q = &nd->vdev.queues[2u * p + 1u];

		if (!q->enabled)
			continue;
		/* A polled queue needs no kicks: spare the driver the exits (§2.7.10). */
		(void)vireo_vdev_queue_set_notify(q, !nd->polling);
		done += net_tx_process(nd, q);
	}
	ctrl = net_ctrl_index(nd);
	if (ctrl >= 0 && nd->vdev.queues[ctrl].enabled)
		net_ctrl_process(nd, &nd->vdev.queues[ctrl]);
	if (done)
		nd->stats.kicks++;
	return done;
}

void vireo_net_device_get_stats(const struct net_device *nd, struct net_device_stats *st)
{
	*st = nd->stats;
}
