/* SPDX-License-Identifier: MIT */
/*
 * Software offloads: what the switch does for a port that cannot take a
 * frame as it is. A frame with NEEDS_CSUM gets its checksum completed; a TCP
 * GSO frame (TCPv4, TCPv6) is cut into MSS-sized frames, each with correct
 * IP and TCP headers and checksums. The input is never modified (it may be
 * on its way to other ports too): the output is built in caller scratch.
 *
 * Every offset in the header and the frame is checked before use: a frame
 * whose csum_start/csum_offset, IP or TCP headers point outside it is
 * refused with -EINVAL, never read past.
 */
#ifndef VIREO_NET_OFFLOAD_H
#define VIREO_NET_OFFLOAD_H

#include <stdint.h>

#include <vireo/net_packet.h>
#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Scratch bytes vireo_net_offload_deliver() needs. */
#define NET_OFFLOAD_SCRATCH NET_FRAME_MAX

/**
 * vireo_net_offload_needed() - the NET_OFFLOAD_* bits @pkt needs that @offloads lacks
 * Return: 0 if a port taking @offloads can take @pkt as it is.
 */
VIREO_API uint32_t vireo_net_offload_needed(const struct net_packet *pkt, uint32_t offloads);

/**
 * vireo_net_offload_checksum() - complete @pkt's partial checksum, in place:
 * the ones' complement sum from csum_start to the end of the frame, stored
 * at csum_start + csum_offset; NEEDS_CSUM is then cleared
 * Return: 0 (also when NEEDS_CSUM was not set), or -EINVAL if the checksum
 * field does not lie inside the frame.
 */
VIREO_API int vireo_net_offload_checksum(struct net_packet *pkt);

/**
 * vireo_net_offload_deliver() - hand @pkt to @emit in a form a port taking
 * @offloads accepts: as it is, checksummed, or segmented (one @emit per
 * segment, in order)
 * @scratch: NET_OFFLOAD_SCRATCH bytes; the segments are built there
 * Return: 0 when every @emit returned 0; the first negative value an @emit
 * returned (the remaining segments are still emitted); -EINVAL if @pkt is
 * malformed for what it asks, or asks for segments smaller than NET_TSO_MSS_MIN
 * (nothing emitted).
 */
VIREO_API int vireo_net_offload_deliver(const struct net_packet *pkt, uint32_t offloads,
					uint8_t *scratch,
					int (*emit)(void *opaque, const struct net_packet *pkt),
					void *opaque);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_NET_OFFLOAD_H */
