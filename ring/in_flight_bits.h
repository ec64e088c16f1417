/* SPDX-License-Identifier: MIT */
/*
 * Private to ring/: the device side's bitmap of the buffers a guest has made
 * available and we have not returned yet (one bit per head or buffer ID), which
 * both formats check before a pop takes and a push returns an entry.
 */
#ifndef VIREO_RING_IN_FLIGHT_BITS_H
#define VIREO_RING_IN_FLIGHT_BITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VRING_IN_FLIGHT_WORD_BITS 64u

static inline bool vring_in_flight_test(const uint64_t *bits, uint16_t id)
{
	return (bits[id / VRING_IN_FLIGHT_WORD_BITS] >> (id % VRING_IN_FLIGHT_WORD_BITS)) & 1u;
}

static inline void vring_in_flight_flip(uint64_t *bits, uint16_t id)
{
	bits[id / VRING_IN_FLIGHT_WORD_BITS] ^= 1ull << (id % VRING_IN_FLIGHT_WORD_BITS);
}

/* The bitmap's size for a ring of @num entries, in whole 64-bit words. */
static inline size_t vring_in_flight_bytes(uint16_t num)
{
	return ((size_t)num + VRING_IN_FLIGHT_WORD_BITS - 1) / VRING_IN_FLIGHT_WORD_BITS *
	       sizeof(uint64_t);
}

#endif /* VIREO_RING_IN_FLIGHT_BITS_H */
