/* SPDX-License-Identifier: MIT */
/*
 * A driver made of register accesses for the virtio-mmio function model
 * (transport/virtio_mmio_function.c): an rng or blk model behind it, 1 MiB of
 * guest memory, a split ring built by hand and the interrupt line watched.
 * cmocka set-up/teardown functions; helpers assert. Used by
 * test_virtio_mmio_function and test_virtio_mmio_function_hostile.
 */
#ifndef VIREO_TESTS_MMIO_FN_FIXTURE_H
#define VIREO_TESTS_MMIO_FN_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include <vireo/guest_mem.h>
#include <vireo/spec.h>
#include <vireo/virtio_mmio_function.h>

#define GPA 0x80000000ull
#define RAM (1u << 20)
#define QSIZE 8u
/* Where the hand-made ring lives (guest addresses). */
#define DESC_GPA (GPA + 0x0)
#define AVAIL_GPA (GPA + 0x200)
#define USED_GPA (GPA + 0x400)
#define BUF_GPA (GPA + 0x1000)

struct mmio_fx {
	struct guest_mem mem;
	uint8_t *ram;
	struct vireo_mmio_function *fn;
	struct rng_device *rng;
	struct blk_device *blk;
	struct vdev *dev;
	char path[64];
	bool level;	    /* __atomic */
	unsigned int edges; /* __atomic: level raises */
	uint16_t avail_idx;
};

/* cmocka set-ups: *@state is a struct mmio_fx around an rng / a 1 MiB blk model. */
int mmio_fx_setup_rng(void **state);
int mmio_fx_setup_blk(void **state);
int mmio_fx_teardown(void **state);

/* A new function for the same model and memory, with @o (the old one freed: a reset). */
void mmio_fx_restart(struct mmio_fx *f, const struct vireo_mmio_function_options *o);

/* A 4-byte register access that must succeed. */
uint32_t mmio_fx_read(struct mmio_fx *f, uint64_t off);
void mmio_fx_write(struct mmio_fx *f, uint64_t off, uint32_t v);

/* Guest address @a in the fixture's memory. */
void *mmio_fx_gpa(struct mmio_fx *f, uint64_t a);

/* §3.1.1 up to FEATURES_OK with @features (VERSION_1 always). */
void mmio_fx_negotiate(struct mmio_fx *f, uint64_t features);

/* Queue 0: a zeroed split ring of QSIZE at DESC/AVAIL/USED_GPA + @shift, ready. */
void mmio_fx_queue(struct mmio_fx *f, uint64_t shift);

/* DRIVER_OK, and no NEEDS_RESET. */
void mmio_fx_driver_ok(struct mmio_fx *f);

/* Put a chain of @n descriptors (head 0) on the ring and kick. */
void mmio_fx_post(struct mmio_fx *f, uint64_t shift, const struct virtq_desc *d, unsigned int n);

/* Wait (bounded by @ms) until used->idx reaches @idx. Return: true if it did. */
bool mmio_fx_wait_used(struct mmio_fx *f, uint64_t shift, uint16_t idx, int ms);

/* Wait (bounded) until the interrupt line is @want. Return: true if it was. */
bool mmio_fx_wait_level(struct mmio_fx *f, bool want);

#endif /* VIREO_TESTS_MMIO_FN_FIXTURE_H */
