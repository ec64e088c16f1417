// SPDX-License-Identifier: MIT
/*
 * The vireo command's argument helpers (tools/options.c) and data patterns
 * (tools/pattern.c), compiled into this test directly: tools/ is not part of
 * the library.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "tools/options.c"
#include "tools/pattern.c"

static void test_sizes(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(opt_parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(opt_parse_size("4k", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(opt_parse_size("1M", &v), 0);
	assert_int_equal(v, 1u << 20);
	assert_int_equal(opt_parse_size("2GiB", &v), 0);
	assert_int_equal(v, 2ull << 30);
	assert_int_equal(opt_parse_size("3mb", &v), 0);
	assert_int_equal(v, 3u << 20);
	assert_int_equal(opt_parse_size("0x200", &v), 0);
	assert_int_equal(v, 512);
	assert_int_equal(opt_parse_size("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(opt_parse_size("", &v), -EINVAL);
	assert_int_equal(opt_parse_size("-1", &v), -EINVAL);
	assert_int_equal(opt_parse_size("12Q", &v), -EINVAL);
	assert_int_equal(opt_parse_size("1kk", &v), -EINVAL);
	assert_int_equal(opt_parse_size("k", &v), -EINVAL);
	assert_int_equal(opt_parse_size("99999999999T", &v), -ERANGE);
	assert_int_equal(opt_parse_size("99999999999999999999", &v), -ERANGE);
}

static void test_uints_and_seconds(void **state)
{
	uint64_t v = 0;
	double d = 0;

	(void)state;
	assert_int_equal(opt_parse_uint("16", 1, 16, &v), 0);
	assert_int_equal(v, 16);
	assert_int_equal(opt_parse_uint("17", 1, 16, &v), -ERANGE);
	assert_int_equal(opt_parse_uint("0", 1, 16, &v), -ERANGE);
	assert_int_equal(opt_parse_uint("-3", 0, 16, &v), -EINVAL);
	assert_int_equal(opt_parse_uint(" 3", 0, 16, &v), -EINVAL);
	assert_int_equal(opt_parse_uint("3x", 0, 16, &v), -EINVAL);
	assert_int_equal(opt_parse_seconds("0.5", &d), 0);
	assert_true(d > 0.49 && d < 0.51);
	assert_int_equal(opt_parse_seconds("0", &d), -EINVAL);
	assert_int_equal(opt_parse_seconds("-1", &d), -EINVAL);
	assert_int_equal(opt_parse_seconds("nan", &d), -EINVAL);
	assert_int_equal(opt_parse_seconds("2s", &d), -EINVAL);
}

static void test_counts(void **state)
{
	unsigned int n = 7;

	(void)state;
	assert_int_equal(opt_parse_count("test", "queues", "4", 1, 16, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(opt_parse_count("test", "queues", "17", 1, 16, &n), EXIT_USAGE);
	assert_int_equal(opt_parse_count("test", "queues", "0", 1, 16, &n), EXIT_USAGE);
	assert_int_equal(opt_parse_count("test", "queues", "x", 1, 16, &n), EXIT_USAGE);
	assert_int_equal(n, 4);
}

/* opt_parse_args() callback: records the options, fails on 'f'. */
static int args_one(void *ctx, int opt, char **argv)
{
	char *seen = ctx;

	(void)argv;
	seen[strlen(seen)] = (char)opt;
	return opt == 'f' ? EXIT_USAGE : 0;
}

static int args_run(char *seen, const char *a1, const char *a2, const char *a3)
{
	static const struct option longopts[] = {{"all", no_argument, NULL, 'a'},
						 {"fail", no_argument, NULL, 'f'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	char *argv[] = {(char *)"t", (char *)a1, (char *)a2, (char *)a3, NULL};

	memset(seen, 0, 8);
	return opt_parse_args(4, argv, "afh", longopts, "# usage: t\n", args_one, seen);
}

static void test_parse_args(void **state)
{
	char seen[8];

	(void)state;
	/* Twice in one process: each parse starts from the first argument. */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(args_run(seen, "-a", "--all", "word"), 0);
		assert_string_equal(seen, "aa");
		assert_int_equal(optind, 3);
	}
	assert_int_equal(args_run(seen, "-a", "--help", "-f"), -1);
	assert_string_equal(seen, "a");
	assert_int_equal(args_run(seen, "--fail", "-a", "-h"), EXIT_USAGE);
	assert_string_equal(seen, "f");
	assert_int_equal(args_run(seen, "-a", "--bogus", "-h"), -1);
	assert_string_equal(seen, "a?");
}

static void test_pattern_parse(void **state)
{
	struct pattern p;

	(void)state;
	assert_int_equal(pattern_parse("0xa5", &p), 0);
	assert_false(p.seeded);
	assert_int_equal(p.byte, 0xa5);
	assert_int_equal(pattern_parse("seed:7", &p), 0);
	assert_true(p.seeded);
	assert_int_equal(p.seed, 7);
	assert_int_equal(pattern_parse("256", &p), -EINVAL);
	assert_int_equal(pattern_parse("seed:", &p), -EINVAL);
	assert_int_equal(pattern_parse("bogus", &p), -EINVAL);
}

/* Any sub-range of a seeded pattern equals the same bytes of the whole. */
static void test_pattern_offsets(void **state)
{
	struct pattern p = {.seeded = true, .seed = 99};
	uint8_t whole[4096], part[1000];
	size_t bad;

	(void)state;
	pattern_fill(&p, 1000, whole, sizeof(whole));
	pattern_fill(&p, 1003, part, sizeof(part));
	assert_memory_equal(part, whole + 3, sizeof(part));
	assert_int_equal(pattern_check(&p, 1000, whole, sizeof(whole)), sizeof(whole));
	whole[2049] ^= 1;
	bad = pattern_check(&p, 1000, whole, sizeof(whole));
	assert_int_equal(bad, 2049);
	/* Different seeds differ. */
	p.seed = 100;
	assert_int_not_equal(pattern_check(&p, 1003, part, sizeof(part)), sizeof(part));
	/* A byte pattern is just that byte. */
	p = (struct pattern){.byte = 0x5a};
	pattern_fill(&p, 12345, part, sizeof(part));
	assert_int_equal(part[0], 0x5a);
	assert_int_equal(part[999], 0x5a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),	      cmocka_unit_test(test_uints_and_seconds),
		cmocka_unit_test(test_counts),	      cmocka_unit_test(test_parse_args),
		cmocka_unit_test(test_pattern_parse), cmocka_unit_test(test_pattern_offsets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
