/* SPDX-License-Identifier: MIT */
/*
 * One ring of either format with both sides on it, each reached only through
 * its format seam: the driver through the virtqueue_* verbs (struct
 * virtqueue_ops), the device through struct vring_dev_ops, so a test written
 * once runs on split and packed alike (test_ring_sleep, test_ring_model,
 * test_packed_adversarial). Guest memory is one heap block and guest address
 * == host address. Life cycle: ring_pair_new() / ring_pair_free(); a cmocka
 * assertion fails the test if setup fails. Nothing global.
 */
#ifndef VIREO_TESTS_RING_PAIR_H
#define VIREO_TESTS_RING_PAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vireo/spec.h>
#include <vireo/virtqueue.h>
#include <vireo/vring.h>

#define RING_PAIR_BUF 256u /* bytes per test buffer (ring_pair_buf()) */
#define RING_PAIR_IMAX 8u  /* descriptors per indirect table in the pool */

enum ring_pair_format { RING_PAIR_SPLIT, RING_PAIR_PACKED };

struct ring_pair {
	const struct vring_dev_ops *ops;
	uint8_t *mem;
	size_t mem_len;
	uint16_t num;
	uint64_t desc_addr, driver_addr, device_addr, pool_addr, bufs_addr;
	struct vring_desc_extra *extra;
	void *state;
	struct virtqueue vq;
	union vring_dev_ring dev;
	struct vring_dev_config dev_config; /* what ring_pair_new() gave the device */
};

/* A @num-entry ring of @format, @event_idx / @indirect / @in_order on both sides. */
struct ring_pair *ring_pair_new(enum ring_pair_format format, uint16_t num, bool event_idx,
				bool indirect, bool in_order);
void ring_pair_free(struct ring_pair *p);

/* The device side anew from its first configuration (a broken ring works again). Return: 0 or -errno */
int ring_pair_device_reinit(struct ring_pair *p);

/* Guest address of the i-th test buffer (modulo the ring size). */
uint64_t ring_pair_buf(const struct ring_pair *p, unsigned int i);

/* Host pointer of guest address @gpa (guest address == host address). */
void *ring_pair_host(uint64_t gpa);

#endif /* VIREO_TESTS_RING_PAIR_H */
