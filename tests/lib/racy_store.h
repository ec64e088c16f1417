/* SPDX-License-Identifier: MIT */
/*
 * A driver rewriting guest memory under the device (the racing-writer tests): stores of 2, 4
 * or 8 bytes, relaxed atomics so each value lands whole (never torn) and the compiler keeps
 * every store. Racy by design: the device reads these bytes with plain loads meanwhile.
 */
#ifndef VIREO_TESTS_RACY_STORE_H
#define VIREO_TESTS_RACY_STORE_H

#include <stdint.h>

static inline void racy_store(void *where, unsigned int size, uint64_t v)
{
	if (size == 8)
		__atomic_store_n((uint64_t *)where, v, __ATOMIC_RELAXED);
	else if (size == 4)
		__atomic_store_n((uint32_t *)where, (uint32_t)v, __ATOMIC_RELAXED);
	else
		__atomic_store_n((uint16_t *)where, (uint16_t)v, __ATOMIC_RELAXED);
}

#endif /* VIREO_TESTS_RACY_STORE_H */
