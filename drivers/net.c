// SPDX-License-Identifier: MIT
/*
 * virtio-net front-end (virtio 1.2 §5.1): binding, feature table,
 * configuration, queues and their DMA buffers. The data path is in
 * net_io.c, the control queue in net_ctrl.c.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <vireo/log.h>

#include "drivers/net.h"

static const struct virtio_device_id net_ids[] = {
	{VIRTIO_ID_NET, VIRTIO_DEV_ANY_ID},
	{0, 0},
};

#define NET_CFG(field) offsetof(struct vireo_net_config, field)

static int net_probe(struct virtio_device *vdev);

/* ---- buffer pools ---- */

static uint32_t net_align(uint32_t v)
{
	return (v + NET_BUF_ALIGN - 1) & ~(NET_BUF_ALIGN - 1);
}

/* @num buffers of @size bytes in one DMA block. Return: 0 or -ENOMEM */
static int net_pool_init(struct net_pool *p, struct virtio_dma_arena *dma, uint16_t num,
			 uint32_t size)
{
	uint16_t i;

	p->num = num;
	p->buf_size = size;
	p->free = calloc(num, sizeof(*p->free));
	p->base = virtio_dma_alloc(dma, (size_t)num * size, 4096, &p->addr);
	if (!p->free || !p->base)
		return -ENOMEM;
	/* Pushed in reverse so buffer 0 goes out first: rings fill in address order. */
	for (i = 0; i < num; i++)
		p->free[i] = (uint16_t)(num - 1u - i);
	p->nfree = num;
	return 0;
}

static void net_pool_destroy(struct net_pool *p, struct virtio_dma_arena *dma)
{
	if (p->base)
		virtio_dma_free(dma, p->base);
	free(p->free);
	memset(p, 0, sizeof(*p));
}

void *net_pool_get(struct net_pool *p)
{
	if (p->nfree == 0)
		return NULL;
	return p->base + (size_t)p->free[--p->nfree] * p->buf_size;
}

/* @buf came back from the ring, which checked it is a token of ours in flight. */
void net_pool_put(struct net_pool *p, void *buf)
{
	size_t idx = (size_t)((uint8_t *)buf - p->base) / p->buf_size;

	if (p->nfree < p->num)
		p->free[p->nfree++] = (uint16_t)idx;
}

uint64_t net_pool_addr(const struct net_pool *p, const void *buf)
{
	return p->addr + (uint64_t)((const uint8_t *)buf - p->base);
}

/* ---- configuration ---- */

/* R-NET-02: no MAC from the device: a random one, locally administered and unicast. */
static void net_random_mac(uint8_t mac[6])
{
	struct timespec ts;
	uint64_t v;

	if (getrandom(mac, 6, GRND_NONBLOCK) != 6) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		v = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 32);
		memcpy(mac, &v, 6);
	}
	mac[0] = (uint8_t)((mac[0] & 0xfeu) | 0x02u);
}

/*
 * Only fields whose feature was negotiated are read; none is ever written
 * (R-NET-01). A device's mtu outside 68..65535 (D-NET-02) is not used: a
 * vhost-user net back-end offers VIRTIO_NET_F_MTU while its front-end owns
 * the config space (QEMU's host_mtu), so ours may read zeroes there.
 */
static void net_read_config(struct virtio_net *net)
{
	struct virtio_device *vdev = net->vdev;
	le16 mtu;

	if (virtio_has_feature(vdev, VIRTIO_NET_F_MAC))
		virtio_cread(vdev, NET_CFG(mac), net->mac, sizeof(net->mac));
	else
		net_random_mac(net->mac);
	net->mtu = VIRTIO_NET_DRIVER_FRAME_MAX - NET_L2_OVERHEAD;
	if (virtio_has_feature(vdev, VIRTIO_NET_F_MTU)) {
		virtio_cread(vdev, NET_CFG(mtu), &mtu, sizeof(mtu));
		if (le16_to_cpu(mtu) >= VIRTIO_NET_MTU_MIN)
			net->mtu = le16_to_cpu(mtu);
		else
			log_warn("virtio-net%u: device mtu %u is not in 68..65535; using %u",
				 vdev->index, le16_to_cpu(mtu), net->mtu);
	}
	net->max_frame = net->mtu + NET_L2_OVERHEAD;
	net->mrg_rxbuf = virtio_has_feature(vdev, VIRTIO_NET_F_MRG_RXBUF);
	net->guest_csum = virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_CSUM);
	/* §5.1.3.1: CTRL_RX and CTRL_MAC_ADDR depend on CTRL_VQ; MAC commands on CTRL_RX (R-NET-12). */
	if (virtio_has_feature(vdev, VIRTIO_NET_F_CTRL_VQ)) {
		net->ctrl_rx = virtio_has_feature(vdev, VIRTIO_NET_F_CTRL_RX);
		net->ctrl_mac =
			net->ctrl_rx && virtio_has_feature(vdev, VIRTIO_NET_F_CTRL_MAC_ADDR);
	}
}

/* ---- queues ---- */

static void net_vq_callback(struct virtqueue *vq)
{
	(void)vq; /* used buffers are collected by polling (net_io.c) */
}

/*
 * receiveq1 (0), transmitq1 (1) and, with CTRL_VQ, the control queue: 2,
 * since without MQ there is one queue pair (§5.1.2). Return: 0 or -errno
 */
static int net_setup_queues(struct virtio_net *net)
{
	static const char *const names[3] = {"rx.0", "tx.0", "ctrl"};
	virtqueue_callback *cbs[3] = {net_vq_callback, net_vq_callback, net_vq_callback};
	struct virtqueue *vqs[3] = {NULL, NULL, NULL};
	unsigned int n = virtio_has_feature(net->vdev, VIRTIO_NET_F_CTRL_VQ) ? 3 : 2;
	int err;

	err = net->vdev->config->find_vqs(net->vdev, n, vqs, cbs, names);
	if (err)
		return err;
	net->rxq = vqs[0];
	net->txq = vqs[1];
	net->ctrlq = vqs[2];
	/* A polling driver wants no signals unless it waits (net_io.c enables them). */
	virtqueue_disable_cb(net->rxq);
	virtqueue_disable_cb(net->txq);
	if (net->ctrlq)
		virtqueue_disable_cb(net->ctrlq);
	return 0;
}

/*
 * Receive buffers: without MRG_RXBUF each holds the header and the longest
 * frame (R-NET-03), and at least the 1526 bytes §5.1.6.3.1 asks for; with
 * it, NET_MRG_BUF_SIZE each (R-NET-10: above the header size).
 * Transmit buffers: the header and the longest frame. Return: 0 or -ENOMEM
 */
static int net_alloc_buffers(struct virtio_net *net)
{
	struct virtio_dma_arena *dma = net->vdev->dma;
	uint32_t whole = net_align(NET_HDR_LEN + net->max_frame);
	uint32_t rx_size = whole, min = net_align(NET_HDR_LEN + VIRTIO_NET_DRIVER_FRAME_MAX);
	int err;

	if (net->mrg_rxbuf)
		rx_size = NET_MRG_BUF_SIZE;
	else if (rx_size < min)
		rx_size = min;
	err = net_pool_init(&net->rx, dma, (uint16_t)virtqueue_get_vring_size(net->rxq), rx_size);
	if (!err)
		err = net_pool_init(&net->tx, dma, (uint16_t)virtqueue_get_vring_size(net->txq),
				    whole);
	if (!err && net->ctrlq) {
		net->ctrl = virtio_dma_alloc(dma, sizeof(*net->ctrl), 64, &net->ctrl_addr);
		if (!net->ctrl)
			err = -ENOMEM;
	}
	return err;
}

static void net_free(struct virtio_net *net)
{
	struct virtio_dma_arena *dma = net->vdev->dma;

	net_pool_destroy(&net->rx, dma);
	net_pool_destroy(&net->tx, dma);
	if (net->ctrl)
		virtio_dma_free(dma, net->ctrl);
	free(net);
}

/*
 * Bind (§5.1.5): queues, buffers, receive ring filled, then DRIVER_OK
 * early so the first refill can be announced (no kick before DRIVER_OK,
 * R-BF-17). Return: 0 or -errno (all undone)
 */
static int net_probe(struct virtio_device *vdev)
{
	struct virtio_net *net;
	int err;

	if (!vdev->dma)
		return -EINVAL;
	net = calloc(1, sizeof(*net));
	if (!net)
		return -ENOMEM;
	net->vdev = vdev;
	net_read_config(net);
	err = net_setup_queues(net);
	if (err)
		goto out_free;
	err = net_alloc_buffers(net);
	if (err)
		goto out_del_vqs;
	vdev->priv = net;
	virtio_device_ready(vdev);
	(void)net_rx_refill(net);
	log_info("virtio-net%u: %02x:%02x:%02x:%02x:%02x:%02x, mtu %u, queues of %u%s%s%s",
		 vdev->index, net->mac[0], net->mac[1], net->mac[2], net->mac[3], net->mac[4],
		 net->mac[5], net->mtu, net->rx.num, net->mrg_rxbuf ? ", mrg_rxbuf" : "",
		 net->guest_csum ? ", guest_csum" : "", net->ctrlq ? ", control queue" : "");
	return 0;

out_del_vqs:
	vdev->config->del_vqs(vdev);
out_free:
	net_free(net);
	return err;
}

/* The bus reset the device before this: no buffer is in the device's hands (R-BF-19). */
static void net_remove(struct virtio_device *vdev)
{
	struct virtio_net *net = vdev->priv;

	if (!net)
		return;
	vdev->priv = NULL;
	net_free(net);
}

/* The table of what the caller's options allow (VERSION_1 and the ring bits are the bus's). */
static void net_build_features(struct virtio_net_driver *nd)
{
	unsigned int n = 0;

	nd->features[n++] = VIRTIO_NET_F_MAC;
	nd->features[n++] = VIRTIO_NET_F_STATUS;
	nd->features[n++] = VIRTIO_NET_F_MTU;
	if (nd->options & VIRTIO_NET_DRIVER_MRG_RXBUF)
		nd->features[n++] = VIRTIO_NET_F_MRG_RXBUF;
	if (nd->options & VIRTIO_NET_DRIVER_CSUM) {
		nd->features[n++] = VIRTIO_NET_F_CSUM;
		nd->features[n++] = VIRTIO_NET_F_GUEST_CSUM;
	}
	if (!(nd->options & VIRTIO_NET_DRIVER_NO_CTRL)) {
		nd->features[n++] = VIRTIO_NET_F_CTRL_VQ;
		nd->features[n++] = VIRTIO_NET_F_CTRL_RX;
		nd->features[n++] = VIRTIO_NET_F_CTRL_MAC_ADDR;
	}
	nd->nfeatures = n;
}

int virtio_net_register(struct virtio_bus *bus, struct virtio_net_driver *nd)
{
	net_build_features(nd);
	nd->drv.name = "virtio-net";
	nd->drv.id_table = net_ids;
	nd->drv.feature_table = nd->features;
	nd->drv.feature_table_size = nd->nfeatures;
	nd->drv.probe = net_probe;
	nd->drv.remove = net_remove;
	nd->drv.config_changed = NULL;
	return virtio_register_driver(bus, &nd->drv);
}

void virtio_net_unregister(struct virtio_bus *bus, struct virtio_net_driver *nd)
{
	virtio_unregister_driver(bus, &nd->drv);
}

struct virtio_net *virtio_net_from_device(struct virtio_device *vdev)
{
	if (!vdev || !vdev->driver || vdev->driver->probe != net_probe)
		return NULL;
	return vdev->priv;
}

void virtio_net_mac(const struct virtio_net *net, uint8_t mac[6])
{
	memcpy(mac, net->mac, sizeof(net->mac));
}

/* Read each time: the status changes with the link (a config change). */
bool virtio_net_link_up(struct virtio_net *net)
{
	le16 status;

	if (!virtio_has_feature(net->vdev, VIRTIO_NET_F_STATUS))
		return true;
	virtio_cread(net->vdev, NET_CFG(status), &status, sizeof(status));
	return (le16_to_cpu(status) & VIRTIO_NET_S_LINK_UP) != 0;
}

unsigned int virtio_net_mtu(const struct virtio_net *net)
{
	return net->mtu;
}

void virtio_net_get_stats(const struct virtio_net *net, struct virtio_net_stats *st)
{
	*st = net->stats;
}
