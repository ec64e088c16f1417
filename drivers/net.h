/* SPDX-License-Identifier: MIT */
/* Private to drivers/net*.c: the state of one bound virtio-net device. */
#ifndef VIREO_DRIVERS_NET_H
#define VIREO_DRIVERS_NET_H

#include <stdbool.h>
#include <stdint.h>

#include <vireo/virtio_net.h>

/* Ethernet header (14) plus one VLAN tag (4): a frame's bytes beyond the MTU (R-NET-03). */
#define NET_L2_OVERHEAD 18u
#define NET_ETH_HLEN 14u
#define NET_HDR_LEN ((uint32_t)sizeof(struct vireo_net_hdr_v1))
/* Receive buffer size with MRG_RXBUF: frames longer than this span several buffers. */
#define NET_MRG_BUF_SIZE 2048u
/* Buffers are laid out on this boundary in DMA memory. */
#define NET_BUF_ALIGN 64u
#define NET_POOL_EMPTY 0xffffu
/* How long a control command may take before the control queue is given up. */
#define NET_CTRL_TIMEOUT_MS 5000

/*
 * A set of equal DMA buffers, one per descriptor of a queue. A buffer's
 * address is its own ring token, so a used id maps back to it without
 * a lookup; @free is a stack of the indices not on the ring.
 */
struct net_pool {
	uint8_t *base;
	uint64_t addr;
	uint32_t buf_size;
	uint16_t num;
	uint16_t nfree;
	uint16_t *free;
};

/*
 * The control queue's one command in DMA memory (§5.1.6.5): class and
 * command, up to 8 bytes of data (readable), then the ack (writable).
 */
struct net_ctrl_wire {
	struct vireo_net_ctrl_hdr hdr;
	uint8_t data[8];
	uint8_t ack;
	uint8_t pad[5];
};
_Static_assert(sizeof(struct net_ctrl_wire) == 16, "net_ctrl_wire");

/*
 * @max_frame: longest frame sent or accepted: mtu + NET_L2_OVERHEAD
 * @ctrl_dead: a command went unanswered; its buffer may still be written,
 *	so the control queue is not used again
 */
struct virtio_net {
	struct virtio_device *vdev;
	struct virtqueue *rxq;
	struct virtqueue *txq;
	struct virtqueue *ctrlq;
	struct net_pool rx;
	struct net_pool tx;
	struct net_ctrl_wire *ctrl;
	uint64_t ctrl_addr;
	uint8_t mac[6];
	unsigned int mtu;
	uint32_t max_frame;
	bool mrg_rxbuf;
	bool guest_csum;
	bool ctrl_rx;
	bool ctrl_mac;
	bool ctrl_dead;
	bool rx_warned;
	bool tx_warned;
	bool ctrl_warned;
	struct virtio_net_stats stats;
};

/* net.c */
void *net_pool_get(struct net_pool *p);
void net_pool_put(struct net_pool *p, void *buf);
uint64_t net_pool_addr(const struct net_pool *p, const void *buf);

/* net_io.c */
int net_rx_refill(struct virtio_net *net);

#endif /* VIREO_DRIVERS_NET_H */
