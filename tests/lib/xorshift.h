/* SPDX-License-Identifier: MIT */
/*
 * xorshift64*: a small, seedable pseudo-random generator for tests that want
 * reproducible random interleavings (test_ring_model, test_ring_threads).
 * Not for anything that needs real randomness. The state must not be 0.
 */
#ifndef VIREO_TESTS_XORSHIFT_H
#define VIREO_TESTS_XORSHIFT_H

#include <stdint.h>

struct xorshift {
	uint64_t s;
};

uint64_t xorshift_next(struct xorshift *x);

/* A value in [0, @n); @n must not be 0. */
unsigned int xorshift_below(struct xorshift *x, unsigned int n);

#endif /* VIREO_TESTS_XORSHIFT_H */
