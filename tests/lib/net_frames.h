/* SPDX-License-Identifier: MIT */
/*
 * Test frames for the network tests: Ethernet (optionally one 802.1Q tag)
 * with IPv4 or IPv6 and TCP, UDP or ICMP echo, and ARP requests, all with
 * correct checksums; the partial-checksum and TSO forms a Linux guest
 * transmits (NEEDS_CSUM, the pseudo-header sum in the checksum field,
 * gso_type/gso_size/hdr_len); and a verifier that parses a frame and checks
 * every length and checksum in it.
 *
 * The checksum code here is written apart from core/inet_csum.c on
 * purpose, so tests compare the library against an independent value.
 * Builders return the frame length, or 0 if @cap is too small (or the
 * payload does not fit an IP packet); nothing is written past @cap.
 */
#ifndef VIREO_TESTS_NET_FRAMES_H
#define VIREO_TESTS_NET_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vireo/net_packet.h>

#define NET_FRAMES_PROTO_ICMP 1u
#define NET_FRAMES_PROTO_TCP 6u
#define NET_FRAMES_PROTO_UDP 17u
#define NET_FRAMES_PROTO_ICMPV6 58u

#define NET_FRAMES_TCP_FIN 0x01u
#define NET_FRAMES_TCP_SYN 0x02u
#define NET_FRAMES_TCP_PSH 0x08u
#define NET_FRAMES_TCP_ACK 0x10u
#define NET_FRAMES_TCP_CWR 0x80u

/**
 * struct net_flow - the addresses and header fields of the frames built
 * @dst_mac, @src_mac: Ethernet addresses
 * @vlan_tci: 0 for an untagged frame, else the 802.1Q tag control field
 * @ipv6: IPv6 rather than IPv4
 * @src_ip, @dst_ip: addresses; IPv4 uses the first 4 bytes
 * @ip_id: IPv4 identification
 * @sport, @dport: TCP/UDP ports (ICMP echo: @sport is the identifier)
 * @seq, @ack: TCP sequence and acknowledgment numbers
 * @tcp_flags: NET_FRAMES_TCP_*
 * @tcp_opt_len: bytes of TCP options (NOPs ending in a zero-filled
 *	timestamp-like block), a multiple of 4, at most 40
 */
struct net_flow {
	uint8_t dst_mac[NET_ETH_ALEN];
	uint8_t src_mac[NET_ETH_ALEN];
	uint16_t vlan_tci;
	bool ipv6;
	uint8_t src_ip[16];
	uint8_t dst_ip[16];
	uint16_t ip_id;
	uint16_t sport;
	uint16_t dport;
	uint32_t seq;
	uint32_t ack;
	uint8_t tcp_flags;
	uint8_t tcp_opt_len;
};

/**
 * net_flow_init() - a flow 02:00:00:00:00:01 -> 02:00:00:00:00:02,
 * 10.0.0.1 -> 10.0.0.2 (or fd00::1 -> fd00::2), port 40000 -> 80,
 * seq 1000, ack 1, flags ACK|PSH, no VLAN, no TCP options
 */
void net_flow_init(struct net_flow *f, bool ipv6);

/** net_flow_set_macs() - set @f's source and destination MAC addresses */
void net_flow_set_macs(struct net_flow *f, const uint8_t *src, const uint8_t *dst);

/**
 * net_frame_tcp() - a complete TCP segment carrying @payload
 * Return: the frame length, or 0 if it does not fit @cap or an IP packet.
 */
size_t net_frame_tcp(const struct net_flow *f, const uint8_t *payload, size_t plen, uint8_t *buf,
		     size_t cap);

/** net_frame_udp() - a complete UDP datagram; as net_frame_tcp() */
size_t net_frame_udp(const struct net_flow *f, const uint8_t *payload, size_t plen, uint8_t *buf,
		     size_t cap);

/** net_frame_icmp_echo() - an ICMP (or ICMPv6) echo request; as net_frame_tcp() */
size_t net_frame_icmp_echo(const struct net_flow *f, const uint8_t *payload, size_t plen,
			   uint8_t *buf, size_t cap);

/**
 * net_frame_arp_request() - a broadcast ARP request: who has @f->dst_ip,
 * tell @f->src_ip (@f->src_mac); @f->vlan_tci applies
 * Return: the frame length (42, or 46 tagged), or 0 if @cap is too small.
 */
size_t net_frame_arp_request(const struct net_flow *f, uint8_t *buf, size_t cap);

/**
 * net_frame_make_partial() - turn the complete TCP or UDP frame @buf into
 * what a driver with VIRTIO_NET_F_CSUM sends: the checksum field holds the
 * pseudo-header sum (folded, not complemented) and @vnet says NEEDS_CSUM
 * with csum_start/csum_offset; the other @vnet fields are zeroed
 * Return: 0, or -EINVAL if @buf is not a TCP/UDP frame net_frame_verify() accepts.
 */
int net_frame_make_partial(uint8_t *buf, size_t len, struct vireo_net_hdr_v1 *vnet);

/**
 * net_frame_tso() - a TSO super-frame as a Linux guest sends it: one TCP
 * frame with all of @payload (the IP length fields as for one packet),
 * NEEDS_CSUM with the pseudo-header sum over the whole TCP length, and
 * gso_type TCPV4/TCPV6 (by @f->ipv6), gso_size @mss, hdr_len the
 * Ethernet-to-TCP-options length
 * Return: the frame length, or 0 (does not fit @cap or an IP packet).
 */
size_t net_frame_tso(const struct net_flow *f, const uint8_t *payload, size_t plen, uint16_t mss,
		     uint8_t *buf, size_t cap, struct vireo_net_hdr_v1 *vnet);

/**
 * struct net_frame_info - what net_frame_verify() found
 * @vlan: a tag was present (@vlan_tci holds it)
 * @ethertype: after the tag, if any
 * @l3_off, @l4_off: header offsets (IPv4/IPv6; TCP/UDP/ICMP)
 * @proto: the IP protocol / next header
 * @payload_off, @payload_len: the L4 payload
 * @ip_id: IPv4 identification
 * @seq, @tcp_flags: TCP fields
 * @l4_csum: the checksum field of the L4 header as stored
 */
struct net_frame_info {
	bool vlan;
	uint16_t vlan_tci;
	uint16_t ethertype;
	bool ipv6;
	uint32_t l3_off;
	uint32_t l4_off;
	uint8_t proto;
	uint32_t payload_off;
	uint32_t payload_len;
	uint16_t ip_id;
	uint32_t seq;
	uint8_t tcp_flags;
	uint16_t l4_csum;
};

/**
 * net_frame_verify() - parse @buf and check it is a complete, correct frame:
 * IPv4 header checksum, IP length fields equal to the frame's, and the
 * TCP/UDP/ICMP/ICMPv6 checksum; ARP and other EtherTypes only parse
 * Return: 0 and @info filled (may be NULL); -EINVAL if truncated or a length
 * field disagrees; -EBADMSG if a checksum is wrong.
 */
int net_frame_verify(const uint8_t *buf, size_t len, struct net_frame_info *info);

/**
 * net_frames_sum() - RFC 1071 running sum of @len bytes (big-endian words,
 * an odd last byte padded with zero) added to @sum
 */
uint32_t net_frames_sum(uint32_t sum, const uint8_t *p, size_t len);

/** net_frames_fold() - fold a running sum to 16 bits, not complemented */
uint16_t net_frames_fold(uint32_t sum);

/** net_frames_pattern() - fill @buf with a position-dependent pattern from @seed */
void net_frames_pattern(uint8_t *buf, size_t len, uint32_t seed);

#endif /* VIREO_TESTS_NET_FRAMES_H */
