// SPDX-License-Identifier: MIT
/* Unit tests for core/guest_mem.c: the region table and translation (STYLE.md item 4). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include <vireo/guest_mem.h>

static char buf_a[4096];
static char buf_b[4096];

static void test_add_rejects_bad_ranges(void **state)
{
	struct guest_mem mem;

	(void)state;
	vireo_guest_mem_init(&mem);
	assert_int_equal(vireo_guest_mem_add_region(&mem, 0x1000, 0, buf_a), -EINVAL);
	assert_int_equal(vireo_guest_mem_add_region(&mem, 0x1000, 16, NULL), -EINVAL);
	/* Last byte would be past 2^64 - 1. */
	assert_int_equal(vireo_guest_mem_add_region(&mem, UINT64_MAX - 10, 12, buf_a), -EINVAL);
	assert_int_equal(vireo_guest_mem_add_region(&mem, 1, UINT64_MAX, buf_a), -EINVAL);
	/* The host side must not wrap either. */
	assert_int_equal(vireo_guest_mem_add_region(&mem, 0, 16, (void *)(UINTPTR_MAX - 7)),
			 -EINVAL);
	assert_int_equal(mem.num_regions, 0);
	/* A region ending exactly at the top of the address space is fine. */
	assert_int_equal(vireo_guest_mem_add_region(&mem, UINT64_MAX - 15, 16, buf_a), 0);
	assert_int_equal(mem.num_regions, 1);
}

static void test_add_rejects_overlap(void **state)
{
	struct guest_mem mem;

	(void)state;
	vireo_guest_mem_init(&mem);
	assert_int_equal(vireo_guest_mem_add_region(&mem, 0x1000, 0x1000, buf_a), 0);
	/* Same, inside, straddling the start, straddling the end, covering. */
	assert_int_equal(vireo_guest_mem_add_region(&mem, 0x1000, 0x1000, buf_b), -EINVAL);
	assert_int_equal(vireo_guest_mem_add_region(&mem, 0x1800, 0x10, buf_b), -EINVAL);
	assert_int_equal(vireo_guest_mem_add_region(&mem, 0x0800, 0x801, buf_b), -EINVAL);
	assert_int_equal(vireo_guest_mem_add_region(&mem, 0x1fff, 0x10, buf_b), -EINVAL);
	assert_int_equal(vireo_guest_mem_add_region(&mem, 0x0, 0x10000, buf_b), -EINVAL);
	/* Touching on either side is not overlap. */
	assert_int_equal(vireo_guest_mem_add_region(&mem, 0x0800, 0x800, buf_b), 0);
	assert_int_equal(vireo_guest_mem_add_region(&mem, 0x2000, 0x100, buf_b + 0x800), 0);
	assert_int_equal(mem.num_regions, 3);
}

static void test_table_full(void **state)
{
	struct guest_mem mem;
	unsigned int i;

	(void)state;
	vireo_guest_mem_init(&mem);
	/* Added in descending order: the table keeps itself sorted. */
	for (i = 0; i < GUEST_MEM_MAX_REGIONS; i++)
		assert_int_equal(vireo_guest_mem_add_region(
					 &mem, (uint64_t)(GUEST_MEM_MAX_REGIONS - i) * 0x100, 0x10,
					 buf_a + i * 0x10),
				 0);
	assert_int_equal(vireo_guest_mem_add_region(&mem, 0x100000, 0x10, buf_b), -ENOSPC);
	/* Overlap is still reported as such on a full table. */
	assert_int_equal(vireo_guest_mem_add_region(&mem, 0x100, 0x10, buf_b), -EINVAL);
	for (i = 1; i < GUEST_MEM_MAX_REGIONS; i++)
		assert_true(mem.regions[i - 1].guest_addr < mem.regions[i].guest_addr);
	/* Every region is found by the binary search. */
	for (i = 0; i < GUEST_MEM_MAX_REGIONS; i++)
		assert_ptr_equal(
			vireo_guest_mem_translate_all(
				&mem, (uint64_t)(GUEST_MEM_MAX_REGIONS - i) * 0x100 + 4, 4),
			buf_a + i * 0x10 + 4);
	assert_int_equal(vireo_guest_mem_remove_region(&mem, 0x100), 0);
	assert_int_equal(vireo_guest_mem_add_region(&mem, 0x100000, 0x10, buf_b), 0);
}

static void test_translate(void **state)
{
	struct guest_mem mem;
	uint64_t contig = 0;

	(void)state;
	vireo_guest_mem_init(&mem);
	assert_int_equal(vireo_guest_mem_add_region(&mem, 0x10000, sizeof(buf_a), buf_a), 0);
	assert_ptr_equal(vireo_guest_mem_translate(&mem, 0x10000, 16, &contig), buf_a);
	assert_int_equal(contig, 16);
	assert_ptr_equal(vireo_guest_mem_translate(&mem, 0x10ff0, 16, &contig), buf_a + 0xff0);
	assert_int_equal(contig, 16);
	/* Clipped at the region's end. */
	assert_ptr_equal(vireo_guest_mem_translate(&mem, 0x10ff0, 0x100, &contig), buf_a + 0xff0);
	assert_int_equal(contig, 0x10);
	/* Below, just past the end, zero length. */
	assert_null(vireo_guest_mem_translate(&mem, 0xffff, 1, &contig));
	assert_null(vireo_guest_mem_translate(&mem, 0x11000, 1, &contig));
	assert_null(vireo_guest_mem_translate(&mem, 0x10000, 0, &contig));
	assert_null(vireo_guest_mem_translate_all(&mem, 0x10ff0, 0x11));
	assert_ptr_equal(vireo_guest_mem_translate_all(&mem, 0x10ff0, 0x10), buf_a + 0xff0);
}

static void test_translate_overflow(void **state)
{
	struct guest_mem mem;
	uint64_t contig = 0;

	(void)state;
	vireo_guest_mem_init(&mem);
	assert_int_equal(vireo_guest_mem_add_region(&mem, UINT64_MAX - 0xfff, 0x1000, buf_a), 0);
	/* The last byte of the address space translates... */
	assert_ptr_equal(vireo_guest_mem_translate(&mem, UINT64_MAX, 1, &contig), buf_a + 0xfff);
	assert_int_equal(contig, 1);
	/* ...but a range running past it does not, whatever the clipping would give. */
	assert_null(vireo_guest_mem_translate(&mem, UINT64_MAX, 2, &contig));
	assert_null(vireo_guest_mem_translate(&mem, UINT64_MAX - 0xf, UINT64_MAX, &contig));
	assert_null(vireo_guest_mem_translate_all(&mem, UINT64_MAX - 0xf, 0x11));
}

static void test_contiguous_across_adjacent_regions(void **state)
{
	struct guest_mem mem;
	uint64_t contig = 0;
	char *p;

	(void)state;
	vireo_guest_mem_init(&mem);
	/* Adjacent in guest space, apart in host space. */
	assert_int_equal(vireo_guest_mem_add_region(&mem, 0x2000, 0x1000, buf_b), 0);
	assert_int_equal(vireo_guest_mem_add_region(&mem, 0x1000, 0x1000, buf_a), 0);
	p = vireo_guest_mem_translate(&mem, 0x1f00, 0x200, &contig);
	assert_ptr_equal(p, buf_a + 0xf00);
	assert_int_equal(contig, 0x100);
	p = vireo_guest_mem_translate(&mem, 0x1f00 + contig, 0x200 - contig, &contig);
	assert_ptr_equal(p, buf_b);
	assert_int_equal(contig, 0x100);
	/* One fixed-size structure may not straddle the two. */
	assert_null(vireo_guest_mem_translate_all(&mem, 0x1f00, 0x200));
}

static void test_remove(void **state)
{
	struct guest_mem mem;
	uint64_t contig;

	(void)state;
	vireo_guest_mem_init(&mem);
	assert_int_equal(vireo_guest_mem_add_region(&mem, 0x1000, 0x100, buf_a), 0);
	assert_int_equal(vireo_guest_mem_add_region(&mem, 0x2000, 0x100, buf_b), 0);
	assert_int_equal(vireo_guest_mem_add_region(&mem, 0x3000, 0x100, buf_a + 0x100), 0);
	/* Only a region's exact start removes it. */
	assert_int_equal(vireo_guest_mem_remove_region(&mem, 0x2001), -ENOENT);
	assert_int_equal(vireo_guest_mem_remove_region(&mem, 0x2000), 0);
	assert_int_equal(vireo_guest_mem_remove_region(&mem, 0x2000), -ENOENT);
	assert_int_equal(mem.num_regions, 2);
	assert_null(vireo_guest_mem_translate(&mem, 0x2000, 1, &contig));
	assert_ptr_equal(vireo_guest_mem_translate(&mem, 0x1000, 1, &contig), buf_a);
	assert_ptr_equal(vireo_guest_mem_translate(&mem, 0x3000, 1, &contig), buf_a + 0x100);
	/* The freed range can be reused. */
	assert_int_equal(vireo_guest_mem_add_region(&mem, 0x1f00, 0x1100, buf_b), 0);
	assert_int_equal(vireo_guest_mem_remove_region(&mem, 0x1000), 0);
	assert_int_equal(vireo_guest_mem_remove_region(&mem, 0x3000), 0);
	assert_int_equal(vireo_guest_mem_remove_region(&mem, 0x1f00), 0);
	assert_int_equal(mem.num_regions, 0);
	assert_null(vireo_guest_mem_translate(&mem, 0x1f00, 1, &contig));
}

static void test_vring_mem_hook(void **state)
{
	struct guest_mem mem;
	struct vring_mem vm;
	uint64_t contig = 0;

	(void)state;
	vireo_guest_mem_init(&mem);
	assert_int_equal(vireo_guest_mem_add_region(&mem, 0x4000, 0x100, buf_a), 0);
	vm = vireo_guest_mem_vring_mem(&mem);
	assert_ptr_equal(vm.opaque, &mem);
	assert_ptr_equal(vm.translate(vm.opaque, 0x40f0, 0x20, &contig), buf_a + 0xf0);
	assert_int_equal(contig, 0x10);
	assert_null(vm.translate(vm.opaque, 0x4100, 1, &contig));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_rejects_bad_ranges),
		cmocka_unit_test(test_add_rejects_overlap),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_translate),
		cmocka_unit_test(test_translate_overflow),
		cmocka_unit_test(test_contiguous_across_adjacent_regions),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_vring_mem_hook),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
