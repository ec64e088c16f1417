/* SPDX-License-Identifier: MIT */
/*
 * Private to the virtio-net model: its state, shared by net.c (life cycle,
 * features, config), net_hdr.c (header checks), net_tx.c (transmit queues),
 * net_rx.c (receive queues and filtering) and net_ctrl.c (control queue).
 */
#ifndef VIREO_DEVICES_NET_INTERNAL_H
#define VIREO_DEVICES_NET_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <vireo/device.h>
#include <vireo/net_device.h>

/* Unicast and multicast entries kept from MAC_TABLE_SET; more set the overflow flag. */
#define NET_MAC_TABLE_MAX 64u
/* Chains served per transmit queue per call before yielding to other queues. */
#define NET_TX_BUDGET 256u
/*
 * Chains popped in one burst, sent, then returned to the driver together: publishing the
 * used index only at the end of a 256-chain call left a driver waiting on a full ring while
 * we worked through it.
 */
#define NET_TX_BURST 32u
/* Control commands per call (net_ctrl_process()). */
#define NET_CTRL_BUDGET 32u
/* iov entries a chain may need beyond the queue size: splits at guest region borders. */
#define NET_IOV_SLACK 32u
/* Largest control command we read (MAC_TABLE_SET with full tables fits). */
#define NET_CTRL_MAX 1024u

struct net_mac_table {
	uint8_t uni[NET_MAC_TABLE_MAX][NET_ETH_ALEN];
	uint8_t multi[NET_MAC_TABLE_MAX][NET_ETH_ALEN];
	unsigned int n_uni;
	unsigned int n_multi;
	bool uni_overflow;
	bool multi_overflow;
};

/*
 * The driver's receive filter (§5.1.6.5.1, CTRL_RX). Reset state: promiscuous,
 * like QEMU, so a driver that never sends a command still gets its frames.
 */
struct net_rx_filter {
	bool promisc;
	bool allmulti;
	struct net_mac_table table;
};

/* Frames held while a receive buffer's translation is pending (net_rx_hold.c). */
#define NET_RX_HOLD_FRAMES 64u
#define NET_RX_HOLD_BYTES (1024u * 1024u)

struct net_rx_held;

struct net_rx_hold {
	struct net_rx_held *frames[NET_RX_HOLD_FRAMES]; /* a ring: [first, first + count) */
	unsigned int first;
	unsigned int count;
	uint32_t bytes;
};

struct net_device {
	struct vdev vdev;
	struct vireo_net_config config;
	struct net_device_options opt;
	unsigned int max_pairs;
	unsigned int active_pairs; /* VQ_PAIRS_SET; 1 after reset (D-NET-62) */
	bool link_up;
	bool polling;
	struct net_rx_filter filter;
	void (*tx_fn)(void *opaque, const struct net_packet *pkt);
	void *tx_opaque;
	struct net_device_stats stats;
	struct net_rx_hold hold; /* one per device: the port's frames stay in order */
	/* Scratch: one chain's iov (ctrl, the first rx buffer), the next rx buffers. */
	unsigned int iov_cap;
	struct vring_iov *iov;
	struct vring_iov *iov_more;
	/*
	 * Transmit: one burst's chains (iov_cap + NET_TX_BURST - 1 entries, shared as
	 * vireo_vdev_queue_pop_burst() says); its own, as a frame sent may reach a receive path
	 * before we are done.
	 */
	struct vring_iov *tx_iov;
	unsigned int tx_iov_len;
	uint16_t *rx_heads; /* heads popped for one frame (MRG_RXBUF), to push or unpop */
	uint32_t *rx_lens;
	uint8_t *frame; /* a transmitted frame, copied out of guest memory */
	uint8_t *ctrl;	/* a control command, copied out */
};

static inline struct net_device *net_from_vdev(struct vdev *dev)
{
	return (struct net_device *)((char *)dev - offsetof(struct net_device, vdev));
}

/* net.c: the roles of queue indexes under the negotiated features (§5.1.2). */
unsigned int net_data_pairs(const struct net_device *nd);
int net_ctrl_index(const struct net_device *nd);
void net_count_drop(struct net_device *nd, enum net_drop_reason r);

/* net_hdr.c */
/**
 * net_hdr_check_tx() - check a transmitted frame's header and length against
 * what was negotiated (§5.1.6.2); clears flag bits the device ignores
 * @acked: the negotiated features; @mtu: the device's MTU
 * Return: -1 if the frame may go, else the enum net_drop_reason to count.
 */
int net_hdr_check_tx(struct vireo_net_hdr_v1 *hdr, uint32_t frame_len, uint64_t acked,
		     uint16_t mtu);

/**
 * net_hdr_check_rx() - may @pkt go to a driver that negotiated @acked?
 * (§5.1.6.4: no offload it did not ask for, D-NET-26..30; no frame above
 * the MTU without GSO, D-NET-04)
 * Return: -1 if yes, else the enum net_drop_reason to count.
 */
int net_hdr_check_rx(const struct net_packet *pkt, uint64_t acked, uint16_t mtu);

/* net_tx.c */
/** net_tx_process() - serve transmit queue @q. Return: frames handled (dropped included) */
unsigned int net_tx_process(struct net_device *nd, struct vdev_queue *q);

/* net_rx.c */
/** net_rx_filter_reset() - the filter after reset (promiscuous, empty tables) */
void net_rx_filter_reset(struct net_rx_filter *f);
/** net_rx_filter_accepts() - does the filter let a frame to @dst through? */
bool net_rx_filter_accepts(const struct net_device *nd, const uint8_t *dst);

/** net_rx_hold_flush() - place held frames, oldest first, until one waits again */
void net_rx_hold_flush(struct net_device *nd);

/* net_rx_hold.c: frames kept while a receive buffer's translation is pending */
bool net_rx_hold_empty(const struct net_device *nd);
/** net_rx_hold_add() - keep a copy of @pkt last. Return: 0; -ENOBUFS (hold full); -ENOMEM */
int net_rx_hold_add(struct net_device *nd, const struct net_packet *pkt);
/** net_rx_hold_front() - the oldest held frame, or NULL */
const struct net_packet *net_rx_hold_front(const struct net_device *nd);
/** net_rx_hold_pop() - free the oldest held frame */
void net_rx_hold_pop(struct net_device *nd);
/** net_rx_hold_clear() - free every held frame, each counted as RX_NOT_READY if @count_drops */
void net_rx_hold_clear(struct net_device *nd, bool count_drops);

/* net_ctrl.c */
/** net_ctrl_process() - answer every command on the control queue @q */
void net_ctrl_process(struct net_device *nd, struct vdev_queue *q);

#endif /* VIREO_DEVICES_NET_INTERNAL_H */
