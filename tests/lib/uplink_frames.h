/* SPDX-License-Identifier: MIT */
/*
 * Frame builders and parsers for the uplink tests (tap, libslirp): Ethernet,
 * ARP, IPv4, UDP and TCP with correct checksums, so the tests can play a
 * guest or a host on the switch side. Addresses are in host byte order.
 */
#ifndef VIREO_TESTS_UPLINK_FRAMES_H
#define VIREO_TESTS_UPLINK_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UPLINK_IP(a, b, c, d) (((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))

#define UPLINK_TCP_FIN 0x01u
#define UPLINK_TCP_SYN 0x02u
#define UPLINK_TCP_RST 0x04u
#define UPLINK_TCP_PSH 0x08u
#define UPLINK_TCP_ACK 0x10u

uint16_t uplink_get_be16(const uint8_t *p);
uint32_t uplink_get_be32(const uint8_t *p);
void uplink_put_be16(uint8_t *p, uint16_t v);
void uplink_put_be32(uint8_t *p, uint32_t v);

/** uplink_csum_add() - add @len bytes to a ones' complement running sum */
uint32_t uplink_csum_add(uint32_t sum, const uint8_t *p, size_t len);
/** uplink_csum_fold() - fold a running sum to 16 bits (not complemented) */
uint16_t uplink_csum_fold(uint32_t sum);
/** uplink_pseudo_sum() - the IPv4 pseudo-header's running sum */
uint32_t uplink_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint32_t l4_len);

/** uplink_arp_frame() - ARP (op 1 request to broadcast, 2 reply to @tmac). Return: length */
size_t uplink_arp_frame(uint8_t *f, uint16_t op, const uint8_t *smac, uint32_t sip,
			const uint8_t *tmac, uint32_t tip);

/**
 * struct uplink_l4 - what a UDP or TCP frame carries
 * @flags, @seq, @ack, @win, @mss: TCP only (@mss 0: no option)
 * @no_csum: UDP: leave the checksum 0 (none)
 */
struct uplink_l4 {
	const uint8_t *dmac;
	const uint8_t *smac;
	uint32_t src, dst;
	uint16_t sport, dport;
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t win, mss;
	bool no_csum;
};

/** uplink_ipv4_header() - a 20-byte header with its checksum. Return: 20 */
size_t uplink_ipv4_header(uint8_t *ip, uint32_t src, uint32_t dst, uint8_t proto,
			  size_t payload_len);
/** uplink_udp_frame() - Ethernet + IPv4 + UDP + @len bytes. Return: frame length */
size_t uplink_udp_frame(uint8_t *f, const struct uplink_l4 *l4, const void *payload, size_t len);
/** uplink_tcp_frame() - Ethernet + IPv4 + TCP (+MSS option) + @len bytes. Return: length */
size_t uplink_tcp_frame(uint8_t *f, const struct uplink_l4 *l4, const void *payload, size_t len);

/**
 * struct uplink_parsed - a frame taken apart (IPv4 fields only when @type is IPv4)
 * @l4, @l4_len: the transport header and everything after it, by IP's total length
 */
struct uplink_parsed {
	uint16_t type;
	const uint8_t *ip;
	uint32_t ihl;
	uint32_t src, dst;
	uint8_t proto;
	const uint8_t *l4;
	uint32_t l4_len;
	uint16_t sport, dport;
};

/** uplink_parse() - Return: false if the frame is not Ethernet, or IPv4 that does not fit */
bool uplink_parse(const uint8_t *f, uint32_t len, struct uplink_parsed *p);

#endif /* VIREO_TESTS_UPLINK_FRAMES_H */
