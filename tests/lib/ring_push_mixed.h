/* SPDX-License-Identifier: MIT */
/*
 * The ring model tests' push: @n used buffers returned either by push (a
 * single one, half the time) or by one push_burst, with the lengths array or
 * (all lengths 0, half the time) NULL — a burst must write what the same
 * pushes one by one would, so the driver's checks are the same either way.
 */
#ifndef VIREO_TESTS_RING_PUSH_MIXED_H
#define VIREO_TESTS_RING_PUSH_MIXED_H

#include <stdint.h>

#include <vireo/vring.h>

#include "tests/lib/xorshift.h"

/* Return: what the ring's push or push_burst returned (0, or -errno). */
int ring_push_mixed(const struct vring_dev_ops *ops, union vring_dev_ring *ring, struct xorshift *r,
		    const uint16_t *ids, const uint32_t *lens, unsigned int n);

#endif
