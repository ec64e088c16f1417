// SPDX-License-Identifier: MIT
/*
 * Unit tests for drivers/virtqueue_alloc.c: split and packed ring memory
 * for transports (virtio 1.2 §2.7, drv:BF/Virtqueues alignment, R-SR-01;
 * §2.8.10.1, R-PR-01; no indirect pool unless negotiated, R-SR-05, R-PR-07).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/virtio_ring_alloc.h>

#define BASE 0x40000000ull

struct alloc_fixture {
	struct virtio_dma_arena dma;
	struct virtio_device vdev;
	struct virtqueue vq;
};

static int fixture_setup(void **state)
{
	struct alloc_fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(virtio_dma_arena_init(&f->dma, 1u << 20, BASE), 0);
	f->vdev.dma = &f->dma;
	f->vdev.features = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	f->vq.vdev = &f->vdev;
	*state = f;
	return 0;
}

static int fixture_teardown(void **state)
{
	struct alloc_fixture *f = *state;

	virtio_dma_arena_destroy(&f->dma);
	free(f);
	return 0;
}

static bool all_zero(const void *p, size_t len)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (c[i])
			return false;
	return true;
}

static void test_layout(void **state)
{
	struct alloc_fixture *f = *state;
	struct virtio_vring_alloc a;
	uint16_t sizes[] = {1, 2, 64, 256, 1024};
	unsigned int i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint16_t num = sizes[i];

		assert_int_equal(virtio_vring_alloc(&f->vdev, &f->vq, num, &a), 0);
		assert_int_equal(a.num, num);
		/* R-SR-01: desc 16, avail 2, used 4. */
		assert_int_equal(a.desc_addr % 16, 0);
		assert_int_equal(a.avail_addr % 2, 0);
		assert_int_equal(a.used_addr % 4, 0);
		/* The parts do not overlap and lie inside the block. */
		assert_true(a.avail_addr >= a.desc_addr + virtq_desc_table_size(num));
		assert_true(a.used_addr >= a.avail_addr + virtq_avail_size(num));
		assert_true(a.used_addr + virtq_used_size(num) <= a.desc_addr + a.ring_size);
		assert_int_equal(a.desc_addr, virtio_dma_addr(&f->dma, a.ring));
		assert_true(virtio_dma_contains(&f->dma, a.ring, a.ring_size));
		assert_true(all_zero(a.ring, a.ring_size));
		assert_non_null(a.extra);
		assert_null(a.indirect);
		assert_int_equal(virtqueue_get_vring_size(&f->vq), num);
		assert_int_equal(virtqueue_get_num_free(&f->vq), num);
		virtio_vring_free(&f->vdev, &a);
		assert_null(a.ring);
		assert_null(a.extra);
	}
}

static void test_indirect_only_when_negotiated(void **state)
{
	struct alloc_fixture *f = *state;
	struct virtio_vring_alloc a;

	f->vdev.features |= VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC);
	assert_int_equal(virtio_vring_alloc(&f->vdev, &f->vq, 64, &a), 0);
	assert_non_null(a.indirect);
	assert_true(virtio_dma_contains(
		&f->dma, a.indirect, 64 * VIRTIO_VRING_INDIRECT_MAX * sizeof(struct virtq_desc)));
	assert_int_equal((uintptr_t)a.indirect % 16, 0);
	virtio_vring_free(&f->vdev, &a);
	assert_null(a.indirect);
}

static void test_invalid_sizes(void **state)
{
	struct alloc_fixture *f = *state;
	struct virtio_vring_alloc a;

	assert_int_equal(virtio_vring_alloc(&f->vdev, &f->vq, 0, &a), -EINVAL);
	assert_int_equal(virtio_vring_alloc(&f->vdev, &f->vq, 3, &a), -EINVAL);
	assert_int_equal(virtio_vring_alloc(&f->vdev, &f->vq, 65535, &a), -EINVAL);
	f->vdev.dma = NULL;
	assert_int_equal(virtio_vring_alloc(&f->vdev, &f->vq, 8, &a), -EINVAL);
}

/* RING_PACKED negotiated: the packed layout, any size up to 2^15 (§2.8). */
static void test_packed_layout(void **state)
{
	struct alloc_fixture *f = *state;
	struct virtio_vring_alloc a;
	uint16_t sizes[] = {1, 3, 100, 256, 1000};
	struct virtio_sg sg = {.addr = BASE, .len = 8};
	int token;

	f->vdev.features |= VIRTIO_BIT(VIRTIO_F_RING_PACKED) | VIRTIO_BIT(VIRTIO_F_IN_ORDER);
	for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint16_t num = sizes[i];

		assert_int_equal(virtio_vring_alloc(&f->vdev, &f->vq, num, &a), 0);
		assert_true(a.packed);
		/* R-PR-01: descriptor ring 16, event suppression areas 4. */
		assert_int_equal(a.desc_addr % 16, 0);
		assert_int_equal(a.avail_addr % 4, 0);
		assert_int_equal(a.used_addr % 4, 0);
		assert_true(a.avail_addr >= a.desc_addr + 16u * num);
		assert_true(a.used_addr >= a.avail_addr + 4);
		assert_true(a.used_addr + 4 <= a.desc_addr + a.ring_size);
		assert_true(virtio_dma_contains(&f->dma, a.ring, a.ring_size));
		assert_true(all_zero(a.ring, a.ring_size));
		assert_ptr_equal(f->vq.packed.desc, a.ring);
		assert_true(f->vq.packed.in_order);
		assert_int_equal(virtqueue_get_vring_size(&f->vq), num);
		/* One buffer lands in the first descriptor, AVAIL set (wrap counter 1). */
		assert_int_equal(virtqueue_add_outbuf(&f->vq, &sg, 1, &token), 0);
		virtqueue_kick_prepare(&f->vq);
		assert_int_equal(f->vq.packed.desc[0].flags, VIRTQ_DESC_F_AVAIL);
		virtio_vring_free(&f->vdev, &a);
	}
	assert_int_equal(virtio_vring_alloc(&f->vdev, &f->vq, 0, &a), -EINVAL);
	f->vdev.features |= VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC);
	assert_int_equal(virtio_vring_alloc(&f->vdev, &f->vq, 5, &a), 0);
	assert_non_null(a.indirect);
	assert_int_equal(f->vq.packed.indirect_max, VIRTIO_VRING_INDIRECT_MAX);
	virtio_vring_free(&f->vdev, &a);
}

/* Exhaustion: -ENOMEM, and nothing stays allocated. */
static void test_exhaustion_leaves_nothing(void **state)
{
	struct alloc_fixture *f = *state;
	struct virtio_vring_alloc a;
	void *all;

	f->vdev.features |= VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC);
	/* 32768 entries: the ring fits in 1 MiB, its indirect pool (8 MiB) does not. */
	assert_int_equal(virtio_vring_alloc(&f->vdev, &f->vq, 32768, &a), -ENOMEM);
	assert_null(a.ring);
	all = virtio_dma_alloc(&f->dma, 1u << 20, 16, NULL);
	assert_non_null(all);
	virtio_dma_free(&f->dma, all);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_layout),	       T(test_indirect_only_when_negotiated),
		T(test_invalid_sizes), T(test_exhaustion_leaves_nothing),
		T(test_packed_layout),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
