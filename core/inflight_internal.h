/* SPDX-License-Identifier: MIT */
/* Private to core/inflight*.c: shared-region access and the resubmission order. */
#ifndef VIREO_CORE_INFLIGHT_INTERNAL_H
#define VIREO_CORE_INFLIGHT_INTERNAL_H

#include <stdint.h>

#include <vireo/inflight.h>

/*
 * The front-end shares the region: one relaxed atomic access per field,
 * so each value is read once and never torn (its checks then hold).
 */
#define VINF_LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define VINF_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

struct vinflight_pair {
	uint64_t counter;
	uint16_t head;
};

/*
 * vinflight_order() - sort @pairs (@n of them) by counter into @inf's
 * resubmission list and raise @inf's counter above them.
 * Return: 0; -EPROTO (a counter repeats); -ENOMEM.
 */
int vinflight_order(struct vinflight *inf, struct vinflight_pair *pairs, uint16_t n);

#endif /* VIREO_CORE_INFLIGHT_INTERNAL_H */
