/* SPDX-License-Identifier: MIT */
/*
 * The Internet checksum (RFC 1071): a running 32-bit ones' complement sum of
 * big-endian 16-bit words, folded to 16 bits at the end; the TCP/UDP
 * pseudo-header sums of IPv4 (RFC 793 §3.1) and IPv6 (RFC 8200 §8.1); and
 * the completion of a virtio-net partial checksum (§5.1.6.2: NEEDS_CSUM).
 * A base utility like log.h: the device side (software offloads, header
 * checks, the tap uplink) and our driver (receive with GUEST_CSUM) share it.
 * Implemented in core/inet_csum.c.
 */
#ifndef VIREO_INET_CSUM_H
#define VIREO_INET_CSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * vireo_inet_csum_add() - add @len bytes at @buf to the running sum @sum
 * An odd @len pads the last byte with a zero byte, so only the last piece
 * of a checksummed range may have an odd length.
 * Return: the new running sum (never overflows for any number of calls).
 */
VIREO_API uint32_t vireo_inet_csum_add(uint32_t sum, const uint8_t *buf, size_t len);

/** vireo_inet_csum_fold() - fold a running sum to 16 bits (not complemented) */
VIREO_API uint16_t vireo_inet_csum_fold(uint32_t sum);

/**
 * vireo_inet_csum_pseudo4() - the running sum of the IPv4 pseudo-header
 * @addrs: the source then destination address (8 bytes, as in the IP header)
 * @proto: the upper-layer protocol; @len: the upper-layer length
 */
VIREO_API uint32_t vireo_inet_csum_pseudo4(const uint8_t *addrs, uint8_t proto, uint32_t len);

/**
 * vireo_inet_csum_pseudo6() - the running sum of the IPv6 pseudo-header
 * @addrs: the source then destination address (32 bytes, as in the IP header)
 * @proto: the upper-layer protocol (next header); @len: the upper-layer length
 */
VIREO_API uint32_t vireo_inet_csum_pseudo6(const uint8_t *addrs, uint8_t proto, uint32_t len);

/**
 * inet_csum_partial_fits() - does a partial checksum (virtio-net csum_start,
 * csum_offset, both peer values) lie inside a @len-byte frame? csum_start
 * must be inside it, and so must the 2-byte field csum_offset after it.
 */
static inline bool inet_csum_partial_fits(uint16_t start, uint16_t offset, uint32_t len)
{
	/* 16-bit operands: the sums cannot overflow 32 bits. */
	return start < len && (uint32_t)offset + 2u <= len - start;
}

/**
 * vireo_inet_csum_complete() - finish a partial checksum in @frame: the field at
 * @start + @offset holds the pseudo-header sum, so the complemented sum
 * from @start to the end is the checksum. 0 is stored as 0xffff (the same
 * to TCP, required by UDP: RFC 768 reads 0 as "no checksum").
 * Return: 0, or -EINVAL if inet_csum_partial_fits() says no (nothing written).
 */
VIREO_API int vireo_inet_csum_complete(uint8_t *frame, uint32_t len, uint16_t start,
				       uint16_t offset);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_INET_CSUM_H */
