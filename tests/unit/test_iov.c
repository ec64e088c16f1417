// SPDX-License-Identifier: MIT
/* Unit tests for core/iov.c: copies and slices across segment boundaries. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <vireo/iov.h>

static char seg0[3], seg1[5], seg2[8];

static unsigned int make_iov(struct vring_iov *iov)
{
	iov[0] = (struct vring_iov){seg0, sizeof(seg0)};
	iov[1] = (struct vring_iov){NULL, 0}; /* empty segments are legal */
	iov[2] = (struct vring_iov){seg1, sizeof(seg1)};
	iov[3] = (struct vring_iov){seg2, sizeof(seg2)};
	return 4;
}

static void test_size(void **state)
{
	struct vring_iov iov[4], big[2] = {{seg0, SIZE_MAX}, {seg1, 2}};
	unsigned int cnt = make_iov(iov);

	(void)state;
	assert_int_equal(vireo_iov_size(iov, cnt), 16);
	assert_int_equal(vireo_iov_size(iov, 0), 0);
	assert_true(vireo_iov_size(big, 2) == SIZE_MAX);
}

static void test_to_buf_skip(void **state)
{
	struct vring_iov iov[4];
	unsigned int cnt = make_iov(iov);
	char out[16];

	(void)state;
	memcpy(seg0, "abc", 3);
	memcpy(seg1, "defgh", 5);
	memcpy(seg2, "ijklmnop", 8);
	assert_int_equal(vireo_iov_to_buf(iov, cnt, 0, out, 16), 16);
	assert_memory_equal(out, "abcdefghijklmnop", 16);
	/* Skip into the second segment, stop inside the third. */
	assert_int_equal(vireo_iov_to_buf(iov, cnt, 4, out, 6), 6);
	assert_memory_equal(out, "efghij", 6);
	/* Past the end: short counts, no overrun. */
	assert_int_equal(vireo_iov_to_buf(iov, cnt, 14, out, 16), 2);
	assert_memory_equal(out, "op", 2);
	assert_int_equal(vireo_iov_to_buf(iov, cnt, 16, out, 16), 0);
	assert_int_equal(vireo_iov_to_buf(iov, cnt, 100, out, 16), 0);
}

static void test_buf_to_iov_and_memset(void **state)
{
	struct vring_iov iov[4];
	unsigned int cnt = make_iov(iov);
	char out[16];

	(void)state;
	memset(seg0, 0, 3);
	memset(seg1, 0, 5);
	memset(seg2, 0, 8);
	assert_int_equal(vireo_buf_to_iov(iov, cnt, 2, "XYZW", 4), 4);
	assert_int_equal(vireo_iov_memset(iov, cnt, 15, '!', 5), 1);
	vireo_iov_to_buf(iov, cnt, 0, out, 16);
	assert_memory_equal(out, "\0\0XYZW\0\0\0\0\0\0\0\0\0!", 16);
	assert_int_equal(vireo_buf_to_iov(iov, cnt, 10, "0123456789", 10), 6);
}

static void test_slice(void **state)
{
	struct vring_iov iov[4], dst[4];
	unsigned int cnt = make_iov(iov), n;
	size_t covered = 0;

	(void)state;
	/* Bytes [2, 12): 1 of seg0, all of seg1, 4 of seg2. */
	n = vireo_iov_slice(iov, cnt, 2, 10, dst, 4, &covered);
	assert_int_equal(n, 3);
	assert_int_equal(covered, 10);
	assert_ptr_equal(dst[0].base, seg0 + 2);
	assert_int_equal(dst[0].len, 1);
	assert_ptr_equal(dst[1].base, seg1);
	assert_int_equal(dst[1].len, 5);
	assert_ptr_equal(dst[2].base, seg2);
	assert_int_equal(dst[2].len, 4);
	/* Capacity limits the slice; covered says how much. */
	n = vireo_iov_slice(iov, cnt, 0, 16, dst, 2, &covered);
	assert_int_equal(n, 2);
	assert_int_equal(covered, 8);
	/* A request past the end covers what exists. */
	n = vireo_iov_slice(iov, cnt, 10, 100, dst, 4, NULL);
	assert_int_equal(n, 1);
	assert_int_equal(dst[0].len, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_to_buf_skip),
		cmocka_unit_test(test_buf_to_iov_and_memset),
		cmocka_unit_test(test_slice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
