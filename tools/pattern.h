/* SPDX-License-Identifier: MIT */
/*
 * Data patterns for the tools: a constant byte, or a pseudo-random stream
 * keyed by a seed and the absolute image offset, so that any sub-range can
 * be verified on its own.
 */
#ifndef VIREO_TOOLS_PATTERN_H
#define VIREO_TOOLS_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pattern {
	bool seeded;
	uint8_t byte;
	uint64_t seed;
};

/**
 * pattern_parse() - "0xa5" / "165" (a byte value) or "seed:N"
 * Return: 0 or -EINVAL.
 */
int pattern_parse(const char *s, struct pattern *p);

/** pattern_describe() - "byte 0xa5" or "seed 7" into @buf */
void pattern_describe(const struct pattern *p, char *buf, size_t size);

/** pattern_fill() - the pattern's bytes for image offsets [@offset, @offset + @len) */
void pattern_fill(const struct pattern *p, uint64_t offset, void *buf, size_t len);

/**
 * pattern_check() - compare @buf with the pattern at @offset
 * Return: the index of the first differing byte, or @len if all match.
 */
size_t pattern_check(const struct pattern *p, uint64_t offset, const void *buf, size_t len);

#endif /* VIREO_TOOLS_PATTERN_H */
