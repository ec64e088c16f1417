// SPDX-License-Identifier: MIT
/* xorshift64* for tests (see xorshift.h). */
#include "tests/lib/xorshift.h"

uint64_t xorshift_next(struct xorshift *x)
{
	x->s ^= x->s >> 12;
	x->s ^= x->s << 25;
	x->s ^= x->s >> 27;
	return x->s * 0x2545F4914F6CDD1Dull;
}

unsigned int xorshift_below(struct xorshift *x, unsigned int n)
{
	return (unsigned int)(xorshift_next(x) % n);
}
