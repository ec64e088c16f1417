/* SPDX-License-Identifier: MIT */
/* The fuzz targets' oracle check: in every build (the replay build may define NDEBUG one day). */
#ifndef VIREO_TESTS_FUZZ_CHECK_H
#define VIREO_TESTS_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

/* FUZZ_CHECK() - abort with the failed condition and its line (libFuzzer keeps the input) */
#define FUZZ_CHECK(cond)                                                                         \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                 \
		}                                                                                \
	} while (0)

#endif /* VIREO_TESTS_FUZZ_CHECK_H */
