/* SPDX-License-Identifier: MIT */
/*
 * The virtio-net device model (virtio 1.2 §5.1): receive and transmit queue
 * pairs, an optional control queue, the v1 header, MAC, STATUS, MTU, partial
 * checksums and TCP segmentation in both directions, mergeable receive
 * buffers, CTRL_RX, CTRL_MAC_ADDR and MQ. The model embeds a struct vdev; a
 * transport drives it through vireo_net_device_vdev().
 *
 * The model does not know where frames go: frames the driver transmits are
 * handed to a callback (a switch port), and vireo_net_device_receive() puts a
 * frame into the driver's receive buffers. Everything the driver wrote is
 * checked: a transmit header whose offsets or GSO fields do not fit the
 * frame, a frame above the MTU, a chain split anywhere (headers are read as
 * a byte stream) are dropped and counted by reason, never read past.
 *
 * Threading: single-threaded, like every vdev (device.h); the transport
 * must not give its queues their own threads.
 */
#ifndef VIREO_NET_DEVICE_H
#define VIREO_NET_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include <vireo/device.h>
#include <vireo/net_packet.h>
#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NET_DEVICE_DEFAULT_QUEUE_SIZE 256u
#define NET_DEVICE_MAX_QUEUE_PAIRS 8u

/* Why a frame was dropped; one counter each. */
#define NET_DROP_REASONS(X)                                                                     \
	X(TX_SHORT_HEADER, "tx-short-header", "transmit chain shorter than the header")         \
	X(TX_RUNT, "tx-runt", "transmitted frame shorter than an Ethernet header")              \
	X(TX_OVERSIZE, "tx-oversize", "transmitted frame above MTU plus headers, or 64 KiB")    \
	X(TX_BAD_CSUM, "tx-bad-csum", "csum_start/csum_offset outside the frame, or no CSUM")   \
	X(TX_BAD_GSO, "tx-bad-gso", "gso_type not negotiated, without NEEDS_CSUM, or MSS < 48") \
	X(TX_WRITABLE, "tx-writable", "device-writable descriptor in a transmit chain")         \
	X(TX_DISABLED, "tx-disabled", "transmitted on a disabled queue (discarded)")            \
	X(RX_NOT_READY, "rx-not-ready", "no driver, link down or no enabled receive queue")     \
	X(RX_NO_BUFFER, "rx-no-buffer", "no receive buffer available")                          \
	X(RX_SMALL_BUFFER, "rx-small-buffer", "receive buffers too small for the frame")        \
	X(RX_FILTERED, "rx-filtered", "not for us by the MAC table and rx mode")                \
	X(RX_OVERSIZE, "rx-oversize", "received frame above MTU plus headers")                  \
	X(RX_OFFLOAD, "rx-offload", "frame needs an offload the driver did not negotiate")      \
	X(RX_IOTLB_WAIT, "rx-iotlb-wait", "hold full while a receive buffer's IOVA is missed")  \
	X(CTRL_BAD, "ctrl-bad", "control command malformed or not supported (answered ERR)")    \
	X(CTRL_DISABLED, "ctrl-disabled", "control command on a disabled queue (not applied)")

#define NET_DROP_ENUM(name, short_name, text) NET_DROP_##name,
enum net_drop_reason { NET_DROP_REASONS(NET_DROP_ENUM) NET_DROP_COUNT };
#undef NET_DROP_ENUM

/** vireo_net_drop_reason_name() - short name of @r ("tx-runt"), for counters */
VIREO_API const char *vireo_net_drop_reason_name(enum net_drop_reason r);

/** vireo_net_drop_reason_text() - one-line description of @r */
VIREO_API const char *vireo_net_drop_reason_text(enum net_drop_reason r);

/**
 * struct net_device_stats
 * @tx_frames, @tx_bytes: frames the driver transmitted and the model passed on
 * @rx_frames, @rx_bytes: frames placed in the driver's receive buffers
 * @rx_buffers: receive buffers used (above @rx_frames with MRG_RXBUF)
 * @rx_held: frames kept because a receive buffer's translation was pending
 *	(vhost-user IOTLB miss), to be placed when it arrives
 * @kicks: queue notifications handled (kick fd or poll rounds that found work)
 * @rx_signals, @tx_signals: used-buffer notifications sent to the driver
 * @drops: per reason
 */
struct net_device_stats {
	uint64_t tx_frames;
	uint64_t tx_bytes;
	uint64_t rx_frames;
	uint64_t rx_bytes;
	uint64_t rx_buffers;
	uint64_t rx_held;
	uint64_t kicks;
	uint64_t rx_signals;
	uint64_t tx_signals;
	uint64_t drops[NET_DROP_COUNT];
};

/**
 * struct net_device_options
 * @mac: the address offered in config (VIRTIO_NET_F_MAC); all zero: no MAC offered
 * @mtu: offered as VIRTIO_NET_F_MTU, 68..65535 (0: NET_DEFAULT_MTU)
 * @queue_pairs: 1..NET_DEVICE_MAX_QUEUE_PAIRS (0: 1); above 1 offers MQ
 * @queue_size: maximum ring size, a power of two 2..32768 (0: 256)
 * @offloads: NET_OFFLOAD_* offered both ways (CSUM/GUEST_CSUM, HOST_TSO4/
 *	GUEST_TSO4, HOST_TSO6/GUEST_TSO6); 0 offers none
 * @no_ctrl_vq: do not offer CTRL_VQ (nor CTRL_RX, CTRL_MAC_ADDR, MQ)
 * @link_down: start with the link down (VIRTIO_NET_S_LINK_UP clear)
 */
struct net_device_options {
	uint8_t mac[NET_ETH_ALEN];
	uint16_t mtu;
	unsigned int queue_pairs;
	uint16_t queue_size;
	uint32_t offloads;
	bool no_ctrl_vq;
	bool link_down;
};

struct net_device;

/**
 * vireo_net_device_new() - allocate and initialise a network device
 * Return: 0 and *@out set; -EINVAL (bad MTU, queue pairs or queue size);
 * -ENOMEM.
 */
VIREO_API int vireo_net_device_new(struct net_device **out, const struct net_device_options *opt);

/** vireo_net_device_vdev() - the core device inside @nd (for the transport) */
VIREO_API struct vdev *vireo_net_device_vdev(struct net_device *nd);

/** vireo_net_device_free() - reset the device and free it */
VIREO_API void vireo_net_device_free(struct net_device *nd);

/**
 * vireo_net_device_set_tx_handler() - where transmitted frames go
 * @fn: called once per valid frame, in order; @pkt is valid during the call
 */
VIREO_API void vireo_net_device_set_tx_handler(struct net_device *nd,
					       void (*fn)(void *opaque,
							  const struct net_packet *pkt),
					       void *opaque);

/**
 * vireo_net_device_receive() - put @pkt into the driver's receive buffers and
 * publish it (one used->idx store, a signal if the driver wants one)
 * The frame must not need an offload the driver did not negotiate
 * (vireo_net_device_rx_offloads()); the switch sees to that.
 * Behind a vIOMMU a receive buffer whose translation is still to come holds
 * the frame (a copy; later frames queue behind it, at most 64 frames or
 * 1 MiB): it is placed when the queue is kicked again, or dropped then.
 * Return: 0 (placed or held); or a negative errno with the drop counted:
 * -ENETDOWN (RX_NOT_READY), -ENOBUFS (RX_NO_BUFFER, RX_SMALL_BUFFER,
 * RX_IOTLB_WAIT: the hold is full; also its -ENOMEM), -EPERM
 * (RX_FILTERED), -EMSGSIZE (RX_OVERSIZE), -EOPNOTSUPP (RX_OFFLOAD), -EIO
 * (the driver broke the ring: the device now NEEDS_RESET).
 */
VIREO_API int vireo_net_device_receive(struct net_device *nd, const struct net_packet *pkt);

/** vireo_net_device_rx_offloads() - NET_OFFLOAD_* the driver negotiated for receive */
VIREO_API uint32_t vireo_net_device_rx_offloads(const struct net_device *nd);

/** vireo_net_device_set_link() - link up or down (STATUS; signals a config change) */
VIREO_API void vireo_net_device_set_link(struct net_device *nd, bool up);

/** vireo_net_device_mac() - the MAC address in config now (CTRL_MAC_ADDR may change it) */
VIREO_API void vireo_net_device_mac(const struct net_device *nd, uint8_t mac[NET_ETH_ALEN]);

/**
 * vireo_net_device_set_polling() - busy-polling mode: ask the driver not to kick
 * the transmit queues (the caller runs vireo_net_device_poll() instead)
 */
VIREO_API void vireo_net_device_set_polling(struct net_device *nd, bool polling);

/**
 * vireo_net_device_poll() - serve every running transmit queue and the control
 * queue once, without a kick
 * Return: the number of transmit frames handled.
 */
VIREO_API unsigned int vireo_net_device_poll(struct net_device *nd);

/** vireo_net_device_get_stats() - a copy of the counters */
VIREO_API void vireo_net_device_get_stats(const struct net_device *nd, struct net_device_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_NET_DEVICE_H */
