// SPDX-License-Identifier: MIT
/* Unit tests for core/inet_csum.c: the Internet checksum and partial-checksum completion. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include <vireo/inet_csum.h>

/* RFC 1071 §3's example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2. */
static void test_rfc1071_example(void **state)
{
	static const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};

	(void)state;
	assert_int_equal(vireo_inet_csum_fold(vireo_inet_csum_add(0, b, sizeof(b))), 0xddf2);
	/* Split in two even pieces: the same sum. */
	assert_int_equal(
		vireo_inet_csum_fold(vireo_inet_csum_add(vireo_inet_csum_add(0, b, 4), b + 4, 4)),
		0xddf2);
	/* An odd length pads with a zero byte. */
	assert_int_equal(vireo_inet_csum_fold(vireo_inet_csum_add(0, b, 7)), 0xddf2 - 0x00f7);
}

/* The field must be inside the frame, with csum_start inside too; no 16-bit wrap. */
static void test_partial_fits(void **state)
{
	(void)state;
	assert_true(inet_csum_partial_fits(34, 16, 52));
	assert_false(inet_csum_partial_fits(34, 16, 51));
	assert_false(inet_csum_partial_fits(52, 0, 52));
	assert_true(inet_csum_partial_fits(0, 0, 2));
	assert_false(inet_csum_partial_fits(0, 0, 1));
	assert_false(inet_csum_partial_fits(10, 0xffff, 100));
	assert_true(inet_csum_partial_fits(0xffff, 0xffff, 0x20000));
	assert_false(inet_csum_partial_fits(0xffff, 0xffff, 0x1ffff));
}

/*
 * Completion: with the field replaced, the range plus the pseudo-header sum it held (what a
 * receiver adds itself) sums to 0xffff; a zero result is sent as 0xffff.
 */
static void test_complete(void **state)
{
	uint8_t f[40];

	(void)state;
	for (unsigned int i = 0; i < sizeof(f); i++)
		f[i] = (uint8_t)(i * 13 + 5);
	f[20] = 0x12; /* the "pseudo-header sum" */
	f[21] = 0x34;
	assert_int_equal(vireo_inet_csum_complete(f, sizeof(f), 10, 10), 0);
	assert_int_equal(vireo_inet_csum_fold(vireo_inet_csum_add(0x1234, f + 10, sizeof(f) - 10)),
			 0xffff);
	assert_int_equal(vireo_inet_csum_complete(f, sizeof(f), 10, 29), -EINVAL);
	memset(f, 0, sizeof(f));
	assert_int_equal(vireo_inet_csum_complete(f, 4, 0, 2), 0); /* ~0 over zeroes: 0xffff */
	assert_int_equal(f[2], 0xff);
	assert_int_equal(f[3], 0xff);
	memset(f, 0xff, 4);
	f[2] = f[3] = 0; /* sum 0xffff, complement 0: stored as 0xffff */
	assert_int_equal(vireo_inet_csum_complete(f, 4, 0, 2), 0);
	assert_int_equal(f[2], 0xff);
	assert_int_equal(f[3], 0xff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1071_example),
		cmocka_unit_test(test_partial_fits),
		cmocka_unit_test(test_complete),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
