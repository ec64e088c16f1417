// SPDX-License-Identifier: MIT
/*
 * Unit tests for core/log.c. The threshold is read once per process, so this
 * program sets VIREO_LOG before the first log call and checks the result.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include <vireo/log.h>

static void test_threshold_from_env(void **state)
{
	(void)state;
	assert_true(vireo_log_enabled(VIREO_LOG_ERROR));
	assert_true(vireo_log_enabled(VIREO_LOG_WARN));
	assert_true(vireo_log_enabled(VIREO_LOG_INFO));
	assert_false(vireo_log_enabled(VIREO_LOG_DEBUG));
	/* Read once: a later change of the environment has no effect. */
	setenv("VIREO_LOG", "debug", 1);
	assert_false(vireo_log_enabled(VIREO_LOG_DEBUG));
}

static void test_log_lines(void **state)
{
	(void)state;
	/* Must not crash: out-of-range level, trailing newline, plain lines. */
	log_info("test_log: an info line %d", 1);
	log_debug("test_log: suppressed %s", "debug line");
	log_warn("test_log: a line with its own newline\n");
	vireo_log((enum vireo_log_level)42, "never printed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threshold_from_env),
		cmocka_unit_test(test_log_lines),
	};

	setenv("VIREO_LOG", "info", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
