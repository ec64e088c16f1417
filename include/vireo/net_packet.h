/* SPDX-License-Identifier: MIT */
/*
 * A network frame as it travels between ports of Vireo's switch: the
 * Ethernet frame in one linear buffer, and the virtio-net header that says
 * which offloads it still needs (a partial checksum, segmentation). Both the
 * device model (devices/net) and the uplinks (tap, libslirp) speak it; the
 * offload helpers turn a frame a port cannot take into frames it can.
 */
#ifndef VIREO_NET_PACKET_H
#define VIREO_NET_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vireo/spec.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NET_ETH_ALEN 6u
#define NET_ETH_HLEN 14u
#define NET_VLAN_HLEN 4u
#define NET_ETH_P_IPV4 0x0800u
#define NET_ETH_P_ARP 0x0806u
#define NET_ETH_P_VLAN 0x8100u
#define NET_ETH_P_IPV6 0x86ddu

/* The default MTU, and the largest frame without segmentation at that MTU. */
#define NET_DEFAULT_MTU 1500u

/*
 * The largest frame any port carries: a 64 KiB GSO frame (the IP length
 * field's limit) plus Ethernet and VLAN headers (§5.1.6.3: 65589 bytes is
 * the most a driver must expect; we stay within it).
 */
#define NET_FRAME_MAX (65535u + NET_ETH_HLEN + NET_VLAN_HLEN)

/*
 * The smallest TCP segmentation MSS (gso_size) accepted: Linux's floor for any TCP
 * sender (TCP_MIN_SND_MSS). Below it a 64 KiB frame would become up to 65000 segments,
 * each built, checksummed and delivered to every port that cannot take it whole.
 */
#define NET_TSO_MSS_MIN 48u

/*
 * What a port takes without help (and so what the switch may hand it as is):
 * frames with NEEDS_CSUM, TCPv4 and TCPv6 segmentation. Everything else is
 * completed in software before it reaches that port (net_offload.h).
 */
#define NET_OFFLOAD_CSUM 1u
#define NET_OFFLOAD_TSO4 2u
#define NET_OFFLOAD_TSO6 4u
#define NET_OFFLOAD_ALL (NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6)

/**
 * struct net_packet - one frame
 * @vnet: offload metadata in the virtio-net header's terms (host byte order
 *	is little-endian, so the le16 fields are used as they are): flags
 *	(NEEDS_CSUM, DATA_VALID), gso_type, gso_size, csum_start, csum_offset,
 *	hdr_len; num_buffers is unused. All zero: a complete, plain frame.
 * @data: the Ethernet frame (destination MAC first)
 * @len: its length in bytes, at most NET_FRAME_MAX
 *
 * A packet handed to a callback is valid only during the call.
 */
struct net_packet {
	struct vireo_net_hdr_v1 vnet;
	uint8_t *data;
	uint32_t len;
};

static inline bool net_mac_is_multicast(const uint8_t *mac)
{
	return (mac[0] & 1u) != 0; /* broadcast included */
}

static inline bool net_mac_is_broadcast(const uint8_t *mac)
{
	return (mac[0] & mac[1] & mac[2] & mac[3] & mac[4] & mac[5]) == 0xffu;
}

static inline bool net_mac_is_zero(const uint8_t *mac)
{
	return (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0;
}

#ifdef __cplusplus
}
#endif

#endif /* VIREO_NET_PACKET_H */
