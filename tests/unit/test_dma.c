// SPDX-License-Identifier: MIT
/* Unit tests for drivers/dma.c: the memfd-backed DMA arena and its allocator. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vireo/dma.h>

#define ARENA_SIZE (64u * 1024u)
#define DMA_BASE 0x100000000ull

static int arena_setup(void **state)
{
	struct virtio_dma_arena *a = calloc(1, sizeof(*a));

	assert_non_null(a);
	assert_int_equal(virtio_dma_arena_init(a, ARENA_SIZE, DMA_BASE), 0);
	*state = a;
	return 0;
}

static int arena_teardown(void **state)
{
	virtio_dma_arena_destroy(*state);
	free(*state);
	return 0;
}

static void test_init_rejects_zero(void **state)
{
	struct virtio_dma_arena a;

	(void)state;
	assert_int_equal(virtio_dma_arena_init(&a, 0, 0), -EINVAL);
}

static void test_alloc_addr_and_zeroed(void **state)
{
	struct virtio_dma_arena *a = *state;
	uint64_t addr = 0;
	unsigned char *p = virtio_dma_alloc(a, 100, 1, &addr);
	size_t i;

	assert_non_null(p);
	assert_true(virtio_dma_contains(a, p, 100));
	assert_int_equal(addr, virtio_dma_addr(a, p));
	assert_true(addr >= DMA_BASE && addr < DMA_BASE + ARENA_SIZE);
	for (i = 0; i < 100; i++)
		assert_int_equal(p[i], 0);
	memset(p, 0xab, 100);
	virtio_dma_free(a, p);
	/* Freed then reallocated memory comes back zeroed. */
	p = virtio_dma_alloc(a, 100, 1, NULL);
	assert_non_null(p);
	for (i = 0; i < 100; i++)
		assert_int_equal(p[i], 0);
	virtio_dma_free(a, p);
}

static void test_alignment(void **state)
{
	struct virtio_dma_arena *a = *state;
	size_t aligns[] = {1, 2, 16, 64, 512, 4096};
	void *small = virtio_dma_alloc(a, 1, 1, NULL);
	size_t i;

	assert_non_null(small); /* shifts the next free offset off any alignment */
	for (i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
		uint64_t addr;
		void *p = virtio_dma_alloc(a, 24, aligns[i], &addr);

		assert_non_null(p);
		assert_int_equal((uintptr_t)p % aligns[i], 0);
		assert_int_equal(addr % aligns[i], 0);
		/* Every block is at least 16-aligned: virtq_desc needs it. */
		assert_int_equal((uintptr_t)p % 16, 0);
		virtio_dma_free(a, p);
	}
	virtio_dma_free(a, small);
	assert_null(virtio_dma_alloc(a, 16, 3, NULL)); /* not a power of two */
	assert_null(virtio_dma_alloc(a, 0, 16, NULL));
}

static void test_exhaustion_and_coalesce(void **state)
{
	struct virtio_dma_arena *a = *state;
	void *q[4];
	unsigned int i;

	/* Four quarters fill the arena exactly; nothing more fits. */
	for (i = 0; i < 4; i++) {
		q[i] = virtio_dma_alloc(a, ARENA_SIZE / 4, 16, NULL);
		assert_non_null(q[i]);
	}
	assert_null(virtio_dma_alloc(a, 16, 16, NULL));
	/* Freeing 1 and 2 (in the order 2, 1) must coalesce into one half. */
	virtio_dma_free(a, q[2]);
	virtio_dma_free(a, q[1]);
	assert_null(virtio_dma_alloc(a, ARENA_SIZE / 2 + 16, 16, NULL));
	q[1] = virtio_dma_alloc(a, ARENA_SIZE / 2, 16, NULL);
	assert_non_null(q[1]);
	virtio_dma_free(a, q[1]);
	virtio_dma_free(a, q[0]);
	virtio_dma_free(a, q[3]);
	/* Everything free again: the whole arena is one block. */
	q[0] = virtio_dma_alloc(a, ARENA_SIZE, 4096, NULL);
	assert_non_null(q[0]);
	virtio_dma_free(a, q[0]);
	assert_null(virtio_dma_alloc(a, ARENA_SIZE + 1, 16, NULL));
}

static void test_bad_free_is_ignored(void **state)
{
	struct virtio_dma_arena *a = *state;
	char *p = virtio_dma_alloc(a, 64, 16, NULL);
	int outside;

	assert_non_null(p);
	virtio_dma_free(a, p + 16); /* not a block start: logged, ignored */
	virtio_dma_free(a, &outside);
	virtio_dma_free(a, NULL);
	virtio_dma_free(a, p);
	virtio_dma_free(a, p); /* double free: logged, ignored */
	p = virtio_dma_alloc(a, ARENA_SIZE, 16, NULL);
	assert_non_null(p);
	virtio_dma_free(a, p);
}

/* The memfd is what a transport hands to another process: same bytes through a second map. */
static void test_memfd_shareable(void **state)
{
	struct virtio_dma_arena *a = *state;
	unsigned char *p = virtio_dma_alloc(a, 256, 64, NULL);
	unsigned char *second;
	size_t off;

	assert_non_null(p);
	memcpy(p, "vireo dma", 10);
	second = mmap(NULL, a->size, PROT_READ | PROT_WRITE, MAP_SHARED, a->memfd, 0);
	assert_true(second != MAP_FAILED);
	off = (size_t)(p - (unsigned char *)a->base);
	assert_memory_equal(second + off, "vireo dma", 10);
	second[off] = 'V';
	assert_int_equal(p[0], 'V');
	munmap(second, a->size);
	virtio_dma_free(a, p);
}

static void *alloc_thread(void *arg)
{
	struct virtio_dma_arena *a = arg;
	unsigned int i;

	for (i = 0; i < 2000; i++) {
		void *p = virtio_dma_alloc(a, 48 + (i % 7) * 16, 16, NULL);

		if (!p)
			return (void *)1;
		memset(p, 0x5a, 48);
		virtio_dma_free(a, p);
	}
	return NULL;
}

static void test_thread_safe(void **state)
{
	struct virtio_dma_arena *a = *state;
	pthread_t t[4];
	void *ret;
	unsigned int i;

	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, alloc_thread, a), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_null(ret);
	}
	/* All freed and coalesced. */
	ret = virtio_dma_alloc(a, ARENA_SIZE, 16, NULL);
	assert_non_null(ret);
	virtio_dma_free(a, ret);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_rejects_zero),
		cmocka_unit_test_setup_teardown(test_alloc_addr_and_zeroed, arena_setup,
						arena_teardown),
		cmocka_unit_test_setup_teardown(test_alignment, arena_setup, arena_teardown),
		cmocka_unit_test_setup_teardown(test_exhaustion_and_coalesce, arena_setup,
						arena_teardown),
		cmocka_unit_test_setup_teardown(test_bad_free_is_ignored, arena_setup,
						arena_teardown),
		cmocka_unit_test_setup_teardown(test_memfd_shareable, arena_setup, arena_teardown),
		cmocka_unit_test_setup_teardown(test_thread_safe, arena_setup, arena_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
