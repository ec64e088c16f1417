// SPDX-License-Identifier: MIT
#include <stdbool.h>

#include "tests/lib/ring_push_mixed.h"

int ring_push_mixed(const struct vring_dev_ops *ops, union vring_dev_ring *ring, struct xorshift *r,
		    const uint16_t *ids, const uint32_t *lens, unsigned int n)
{
	bool zero = true;

	for (unsigned int k = 0; k < n; k++)
		zero = zero && lens[k] == 0;
	if (n == 1 && xorshift_below(r, 2))
		return ops->push(ring, ids[0], lens[0]);
	return ops->push_burst(ring, ids, zero && xorshift_below(r, 2) ? NULL : lens, n);
}
