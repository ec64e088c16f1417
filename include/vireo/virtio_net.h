/* SPDX-License-Identifier: MIT */
/*
 * The userspace virtio-net front-end driver (virtio 1.2 §5.1): one receive
 * and one transmit queue (queue pair 1), and the control queue when the
 * device offers it. Receive buffers come from DMA memory and are refilled as
 * frames are taken; transmit buffers are copies in DMA memory, reclaimed as
 * the device uses them. Offloads (CSUM, GUEST_CSUM, TSO, MRG_RXBUF) are off
 * unless the caller asks: every frame is sent complete, and frames arrive
 * complete.
 *
 * Nothing the device returns is trusted: a used length shorter than the
 * header or longer than the buffer, num_buffers out of range, or a header
 * asking for offloads that were not negotiated drops that frame (counted).
 *
 * Register it on a bus with a caller-owned struct virtio_net_driver; once a
 * transport registers a network device, find it with virtio_bus_find(bus,
 * VIRTIO_ID_NET, n) and virtio_net_from_device(). One thread drives a
 * device at a time.
 */
#ifndef VIREO_VIRTIO_NET_H
#define VIREO_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vireo/driver.h>
#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

struct virtio_net;

/* Largest frame the driver sends or takes without offloads: MTU 1500 plus Ethernet and VLAN. */
#define VIRTIO_NET_DRIVER_FRAME_MAX 1518u

/* Options of struct virtio_net_driver. */
#define VIRTIO_NET_DRIVER_MRG_RXBUF 1u /* negotiate VIRTIO_NET_F_MRG_RXBUF */
#define VIRTIO_NET_DRIVER_CSUM 2u      /* negotiate CSUM and GUEST_CSUM */
#define VIRTIO_NET_DRIVER_NO_CTRL 4u   /* do not negotiate CTRL_VQ */

/**
 * struct virtio_net_driver - the driver, in memory the caller owns; zero it
 * except @options, and keep it valid and unmoved until virtio_net_unregister()
 * @options: VIRTIO_NET_DRIVER_* bits
 * @features: private (the feature table built from @options)
 * @nfeatures: private
 */
struct virtio_net_driver {
	struct virtio_driver drv;
	unsigned int options;
	unsigned int features[24];
	unsigned int nfeatures;
};

/**
 * struct virtio_net_stats - the driver's counters
 * @tx_frames, @tx_bytes: frames handed to the device
 * @rx_frames, @rx_bytes: frames taken from the device
 * @rx_dropped: frames dropped because the device's header or length was bad
 * @tx_kicks: notifications sent on the transmit queue
 * @rx_kicks: notifications sent on the receive queue (refills)
 * @rx_interrupts: waits that woke because the device signalled
 */
struct virtio_net_stats {
	uint64_t tx_frames;
	uint64_t tx_bytes;
	uint64_t rx_frames;
	uint64_t rx_bytes;
	uint64_t rx_dropped;
	uint64_t tx_kicks;
	uint64_t rx_kicks;
	uint64_t rx_interrupts;
};

/** virtio_net_register() - register on @bus. Return: 0 or -EEXIST */
VIREO_API int virtio_net_register(struct virtio_bus *bus, struct virtio_net_driver *nd);

/** virtio_net_unregister() - unbind from every device and remove the driver */
VIREO_API void virtio_net_unregister(struct virtio_bus *bus, struct virtio_net_driver *nd);

/** virtio_net_from_device() - the net instance bound to @vdev, or NULL */
VIREO_API struct virtio_net *virtio_net_from_device(struct virtio_device *vdev);

/** virtio_net_mac() - the device's MAC (VIRTIO_NET_F_MAC), or the random local one we chose */
VIREO_API void virtio_net_mac(const struct virtio_net *net, uint8_t mac[6]);

/** virtio_net_link_up() - the link status (VIRTIO_NET_F_STATUS), true without it */
VIREO_API bool virtio_net_link_up(struct virtio_net *net);

/** virtio_net_mtu() - the device's MTU (VIRTIO_NET_F_MTU), else 1500 */
VIREO_API unsigned int virtio_net_mtu(const struct virtio_net *net);

/**
 * virtio_net_send_burst() - queue up to @count frames for transmission and
 * kick once; frames are copied, the caller's memory is free on return
 * Return: the number queued (fewer when the ring is full: reclaim with
 * virtio_net_tx_reclaim() or try again), or -EINVAL (a frame shorter than
 * 14 bytes or above the MTU plus headers), -EIO (the device broke the ring).
 */
VIREO_API int virtio_net_send_burst(struct virtio_net *net, const void *const frames[],
				    const size_t lens[], unsigned int count);

/** virtio_net_send() - virtio_net_send_burst() of one frame. Return: 1, 0 (full) or -errno */
VIREO_API int virtio_net_send(struct virtio_net *net, const void *frame, size_t len);

/** virtio_net_tx_reclaim() - take back transmit buffers the device used. Return: how many */
VIREO_API unsigned int virtio_net_tx_reclaim(struct virtio_net *net);

/**
 * virtio_net_recv() - take one received frame
 * @buf, @cap: where to copy it (a longer frame is truncated to @cap)
 * Return: the frame's length (0 < n), 0 if none is ready, -EIO if the
 * device broke the ring. Used buffers are refilled (one kick per burst).
 */
VIREO_API int virtio_net_recv(struct virtio_net *net, void *buf, size_t cap);

/**
 * virtio_net_wait() - block until the device signals the receive or
 * transmit queue, or @timeout_ms passes (-1: forever)
 * Return: 1 if frames or used transmit buffers are ready, 0 on timeout,
 * -EIO (broken), or the transport's -errno.
 */
VIREO_API int virtio_net_wait(struct virtio_net *net, int timeout_ms);

/**
 * virtio_net_set_rx_mode() - CTRL_RX: promiscuous and all-multicast
 * Return: 0; -EOPNOTSUPP without CTRL_RX; -EIO if the device answered ERR
 * or broke the ring.
 */
VIREO_API int virtio_net_set_rx_mode(struct virtio_net *net, bool promisc, bool allmulti);

/**
 * virtio_net_set_mac() - CTRL_MAC_ADDR: change the device's address
 * Return: 0; -EOPNOTSUPP without CTRL_MAC_ADDR; -EIO (ERR or broken).
 */
VIREO_API int virtio_net_set_mac(struct virtio_net *net, const uint8_t mac[6]);

/** virtio_net_get_stats() - a copy of the counters */
VIREO_API void virtio_net_get_stats(const struct virtio_net *net, struct virtio_net_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_VIRTIO_NET_H */
