/* SPDX-License-Identifier: MIT */
/*
 * VIREO_API marks a declaration as part of libvireo's ABI. The library is built with
 * -fvisibility=hidden, so a function without it stays inside libvireo.so however many
 * source files call it; the version script (libvireo.map) names the ABI's version.
 * tests/cli/test_symbols.sh checks that libvireo.so exports exactly the functions and
 * objects the headers in include/vireo/ declare.
 */
#ifndef VIREO_API_H
#define VIREO_API_H

#if defined(__GNUC__) || defined(__clang__)
#define VIREO_API __attribute__((visibility("default")))
#else
#define VIREO_API
#endif

#endif /* VIREO_API_H */
