/* SPDX-License-Identifier: MIT */
/*
 * Shared fixture for the ring/ unit tests (test_split_device, test_split_driver,
 * test_ring_adversarial, test_ring_threads): one split ring,
 * both sides (a struct virtqueue driver and a struct vring_split_dev device),
 * in "guest memory" that is an mmap'd area with PROT_NONE guard pages on both
 * sides, so any access outside it faults. Guest address RING_FIXTURE_GPA maps
 * to the start of the area. With a non-zero @split_at the memory is two
 * regions whose host copies are not adjacent (a guard page between them), so
 * buffers crossing the boundary must be split into two iov entries.
 *
 * Life cycle: ring_fixture_init() / ring_fixture_destroy() on storage the
 * caller owns (it must not move in between: the translate hook and the
 * driver's priv point at it), or ring_fixture_new() / ring_fixture_free() for
 * a heap instance in one line of a cmocka test. Nothing global: each test
 * has its own instance.
 */
#ifndef VIREO_TESTS_RING_FIXTURE_H
#define VIREO_TESTS_RING_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vireo/spec.h>
#include <vireo/virtqueue.h>
#include <vireo/vring.h>

#define RING_FIXTURE_GPA 0x100000ull /* guest address of guest memory's first byte */
#define RING_FIXTURE_BUF 256u	     /* bytes per test buffer (ring_fixture_buf()) */
#define RING_FIXTURE_IMAX 8u	     /* descriptors per indirect table in the pool */
#define RING_FIXTURE_PAGE 4096u

struct ring_fixture {
	uint8_t *map; /* the whole mapping, guard pages included */
	size_t map_len;
	uint8_t *mem;  /* region 0 host */
	uint8_t *mem2; /* region 1 host (split mode) */
	uint64_t mem_len;
	uint64_t split_at; /* guest offset where region 1 starts, 0 = one region */
	uint16_t num;
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	struct virtq_desc *pool; /* the driver's indirect pool */
	uint64_t desc_gpa, avail_gpa, used_gpa, pool_gpa, bufs_gpa;
	struct vring_desc_extra *extra;
	struct virtqueue vq;
	union { /* the device: by its format's functions, or through struct vring_dev_ops */
		struct vring_split_dev dev;
		union vring_dev_ring ring;
	};
	void *state;
	unsigned int notifies; /* driver kicks seen by the notify hook */
};

/*
 * Lay out a @num-entry ring (then the indirect pool, then @num test buffers)
 * in fresh guest memory and initialise both sides on it; @event_idx and
 * @indirect go to both sides; @split_at (a multiple of RING_FIXTURE_PAGE, or 0)
 * splits guest memory into two regions there.
 * Return: 0; -EINVAL for a bad @split_at; -ENOMEM when memory is short; the
 * -errno of a failed mprotect(); or the error of virtqueue_split_init() /
 * vring_split_dev_init(). On error nothing is left to destroy.
 */
int ring_fixture_init(struct ring_fixture *f, uint16_t num, bool event_idx, bool indirect,
		      uint64_t split_at);
void ring_fixture_destroy(struct ring_fixture *f);

/* ring_fixture_init() on a heap instance; a cmocka assertion fails the test on error. */
struct ring_fixture *ring_fixture_new(uint16_t num, bool event_idx, bool indirect,
				      uint64_t split_at);
void ring_fixture_free(struct ring_fixture *f);

/* @v rounded up to a multiple of @a. */
uint64_t ring_fixture_align(uint64_t v, uint64_t a);

/* The device's translate hook (opaque = the fixture). Return: NULL outside guest memory. */
void *ring_fixture_translate(const void *opaque, uint64_t addr, uint64_t len, uint64_t *contig);

/* Host pointer of guest address @gpa (test side, trusted). Return: NULL outside guest memory. */
void *ring_fixture_host(struct ring_fixture *f, uint64_t gpa);

/* Guest address of the i-th test buffer (modulo the ring size). */
uint64_t ring_fixture_buf(const struct ring_fixture *f, unsigned int i);

/* §2.7.8: avail_event, the word after the used ring's entries. */
le16 *ring_fixture_avail_event(struct ring_fixture *f);

/* A device config for re-running init on the fixture with other values. */
struct vring_split_dev_config ring_fixture_dev_config(struct ring_fixture *f);

/* Driver side by hand: write descriptor @i. */
void ring_fixture_set_desc(struct ring_fixture *f, uint16_t i, uint64_t addr, uint32_t len,
			   uint16_t flags, uint16_t next);

/* Driver side by hand: make @head available (and publish avail->idx). */
void ring_fixture_offer(struct ring_fixture *f, uint16_t head);

#endif /* VIREO_TESTS_RING_FIXTURE_H */
