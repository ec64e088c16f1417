/* SPDX-License-Identifier: MIT */
/*
 * The Internet checksum (RFC 1071) for the net offloads: a running 32-bit
 * ones' complement sum of big-endian 16-bit words, folded to 16 bits at the
 * end, and the TCP/UDP pseudo-header sums of IPv4 (RFC 793 §3.1) and IPv6
 * (RFC 8200 §8.1). Private to devices/net.
 */
#ifndef VIREO_DEVICES_NET_CHECKSUM_H
#define VIREO_DEVICES_NET_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/**
 * net_csum_add() - add @len bytes at @buf to the running sum @sum
 * An odd @len pads the last byte with a zero byte, so only the last piece
 * of a checksummed range may have an odd length.
 * Return: the new running sum (never overflows for any number of calls).
 */
uint32_t net_csum_add(uint32_t sum, const uint8_t *buf, size_t len);

/** net_csum_fold() - fold a running sum to 16 bits (not complemented) */
uint16_t net_csum_fold(uint32_t sum);

/**
 * net_csum_pseudo4() - the running sum of the IPv4 pseudo-header
 * @addrs: the source then destination address (8 bytes, as in the IP header)
 * @proto: the upper-layer protocol; @len: the upper-layer length
 */
uint32_t net_csum_pseudo4(const uint8_t *addrs, uint8_t proto, uint32_t len);

/**
 * net_csum_pseudo6() - the running sum of the IPv6 pseudo-header
 * @addrs: the source then destination address (32 bytes, as in the IP header)
 * @proto: the upper-layer protocol (next header); @len: the upper-layer length
 */
uint32_t net_csum_pseudo6(const uint8_t *addrs, uint8_t proto, uint32_t len);

#endif /* VIREO_DEVICES_NET_CHECKSUM_H */
