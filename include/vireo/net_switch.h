/* SPDX-License-Identifier: MIT */
/*
 * A small learning L2 switch (IEEE 802.1D in miniature): ports are virtio-net
 * device models served over vhost-user, a tap device or a libslirp uplink.
 * A frame entering from a port teaches the switch its source MAC; it leaves
 * through the port that MAC was last seen on, or through every other port
 * when the destination is unknown, multicast or broadcast. Before a frame
 * leaves through a port, the switch completes whatever offload the port
 * cannot take (net_offload.h).
 *
 * Threading: none; one thread drives a switch and all its ports.
 */
#ifndef VIREO_NET_SWITCH_H
#define VIREO_NET_SWITCH_H

#include <stdint.h>

#include <vireo/net_packet.h>
#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NET_SWITCH_MAX_PORTS 32u
/* Learned addresses are forgotten after this long without a frame from them. */
#define NET_SWITCH_AGEING_MS 300000u

struct net_switch;
struct net_switch_port;

/**
 * struct net_port_ops - what a port implements
 * @transmit: send @pkt out of the port (into a guest's receive queue, a
 *	tap, libslirp). @pkt is valid during the call only. Return: 0, or a
 *	negative errno for a frame the port dropped (it counts its own reasons)
 * @offloads: NET_OFFLOAD_* the port takes now (for a guest, what its driver
 *	negotiated); optional, none without it
 */
struct net_port_ops {
	int (*transmit)(void *opaque, const struct net_packet *pkt);
	uint32_t (*offloads)(void *opaque);
};

/**
 * struct net_switch_port_stats - one port, as the switch sees it
 * @in_frames, @in_bytes: frames that entered the switch from the port
 * @out_frames, @out_bytes: frames the port's transmit accepted
 * @out_dropped: frames the port's transmit refused
 * @offload_errors: frames that needed a software offload and were malformed
 * @hairpin: unicast frames whose destination was learned on the same port
 */
struct net_switch_port_stats {
	uint64_t in_frames;
	uint64_t in_bytes;
	uint64_t out_frames;
	uint64_t out_bytes;
	uint64_t out_dropped;
	uint64_t offload_errors;
	uint64_t hairpin;
};

/**
 * vireo_net_switch_new() - an empty switch
 * Return: 0 and *@out set, or -ENOMEM.
 */
VIREO_API int vireo_net_switch_new(struct net_switch **out);

/** vireo_net_switch_free() - free the switch (its ports' owners keep their objects) */
VIREO_API void vireo_net_switch_free(struct net_switch *sw);

/**
 * vireo_net_switch_add_port() - attach a port
 * @name: for counters and logs (copied)
 * Return: 0 and *@out set; -ENOSPC (NET_SWITCH_MAX_PORTS reached); -ENOMEM.
 */
VIREO_API int vireo_net_switch_add_port(struct net_switch *sw, const char *name,
					const struct net_port_ops *ops, void *opaque,
					struct net_switch_port **out);

/** vireo_net_switch_remove_port() - detach @port and forget the addresses learned on it */
VIREO_API void vireo_net_switch_remove_port(struct net_switch *sw, struct net_switch_port *port);

/** vireo_net_switch_port_flush() - forget the addresses learned on @port (it reconnected) */
VIREO_API void vireo_net_switch_port_flush(struct net_switch *sw, struct net_switch_port *port);

/**
 * vireo_net_switch_input() - a frame entered from @from: learn, then forward
 * Frames shorter than an Ethernet header, or whose source MAC is multicast
 * or zero, are dropped (counted in @from's in_frames only).
 */
VIREO_API void vireo_net_switch_input(struct net_switch *sw, struct net_switch_port *from,
				      const struct net_packet *pkt);

/** vireo_net_switch_port_name() - the name given at add */
VIREO_API const char *vireo_net_switch_port_name(const struct net_switch_port *port);

/** vireo_net_switch_port_get_stats() - a copy of @port's counters */
VIREO_API void vireo_net_switch_port_get_stats(const struct net_switch_port *port,
					       struct net_switch_port_stats *st);

/**
 * vireo_net_switch_for_each_mac() - call @fn for every learned address
 * (@port is where it was learned), for status output and tests
 */
VIREO_API void vireo_net_switch_for_each_mac(const struct net_switch *sw,
					     void (*fn)(void *opaque, const uint8_t *mac,
							const struct net_switch_port *port),
					     void *opaque);

/**
 * vireo_net_switch_set_clock() - replace the millisecond clock used for ageing
 * (CLOCK_MONOTONIC_COARSE by default); for tests
 */
VIREO_API void vireo_net_switch_set_clock(struct net_switch *sw, uint64_t (*now_ms)(void *opaque),
					  void *opaque);

#ifdef __cplusplus
}
#endif

/**
 * vireo_net_switch_batch_begin() - read the ageing clock once for the frames that follow, until
 * vireo_net_switch_batch_end(): for a caller that feeds a burst of frames (a polling round), so
 * the clock is not read per frame. Keep a batch short (the ageing is in milliseconds).
 */
VIREO_API void vireo_net_switch_batch_begin(struct net_switch *sw);

/** vireo_net_switch_batch_end() - read the clock per frame again */
VIREO_API void vireo_net_switch_batch_end(struct net_switch *sw);

#endif /* VIREO_NET_SWITCH_H */
