// SPDX-License-Identifier: MIT
/*
 * Frames waiting for a receive buffer's translation. Behind a vIOMMU
 * (vhost-user IOTLB, docs/vhost-user.md "Behind a vIOMMU") a receive pop
 * may miss: the back-end asks the front-end and kicks the queue again when
 * the update arrives (D-VU-IOTLB-05), and nothing was consumed. Like the
 * kernel's vhost-net, the frame is kept instead of dropped, and later
 * frames queue behind it so the port's order holds. The hold is bounded
 * (NET_RX_HOLD_FRAMES frames, NET_RX_HOLD_BYTES bytes): a front-end that
 * never answers costs at most that, the rest is dropped as rx-iotlb-wait.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/net/net_internal.h"

struct net_rx_held {
	struct net_packet pkt;
	uint8_t data[]; /* pkt.data points here */
};

bool net_rx_hold_empty(const struct net_device *nd)
{
	return nd->hold.count == 0;
}

int net_rx_hold_add(struct net_device *nd, const struct net_packet *pkt)
{
	struct net_rx_hold *h = &nd->hold;
	struct net_rx_held *f;

	if (h->count == NET_RX_HOLD_FRAMES || pkt->len > NET_RX_HOLD_BYTES - h->bytes)
		return -ENOBUFS;
	f = malloc(sizeof(*f) + pkt->len);
	if (!f)
		return -ENOMEM;
	f->pkt = *pkt;
	f->pkt.data = f->data;
	memcpy(f->data, pkt->data, pkt->len);
	h->frames[(h->first + h->count) % NET_RX_HOLD_FRAMES] = f;
	h->count++;
	h->bytes += pkt->len;
	nd->stats.rx_held++;
	return 0;
}

const struct net_packet *net_rx_hold_front(const struct net_device *nd)
{
	const struct net_rx_hold *h = &nd->hold;

	return h->count ? &h->frames[h->first]->pkt : NULL;
}

void net_rx_hold_pop(struct net_device *nd)
{
	struct net_rx_hold *h = &nd->hold;
	struct net_rx_held *f;

	if (!h->count)
		return;
	f = h->frames[h->first];
	h->frames[h->first] = NULL;
	h->first = (h->first + 1u) % NET_RX_HOLD_FRAMES;
	h->count--;
	h->bytes -= f->pkt.len;
	free(f);
}

void net_rx_hold_clear(struct net_device *nd, bool count_drops)
{
	while (nd->hold.count) {
		if (count_drops)
			net_count_drop(nd, NET_DROP_RX_NOT_READY);
		net_rx_hold_pop(nd);
	}
}
