// SPDX-License-Identifier: MIT
/* Constant and seeded data patterns (see pattern.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tools/options.h"
#include "tools/pattern.h"

/* splitmix64: a cheap, well-mixed function of the seed and the word index. */
static uint64_t pattern_word(uint64_t seed, uint64_t index)
{
	uint64_t z = seed + (index + 1) * 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint8_t pattern_byte_at(const struct pattern *p, uint64_t offset)
{
	if (!p->seeded)
		return p->byte;
	return (uint8_t)(pattern_word(p->seed, offset >> 3) >> ((offset & 7) * 8));
}

int pattern_parse(const char *s, struct pattern *p)
{
	uint64_t v;

	memset(p, 0, sizeof(*p));
	if (strncmp(s, "seed:", 5) == 0) {
		if (opt_parse_uint(s + 5, 0, UINT64_MAX, &v) < 0)
			return -EINVAL;
		p->seeded = true;
		p->seed = v;
		return 0;
	}
	if (opt_parse_uint(s, 0, 255, &v) < 0)
		return -EINVAL;
	p->byte = (uint8_t)v;
	return 0;
}

void pattern_describe(const struct pattern *p, char *buf, size_t size)
{
	if (p->seeded)
		snprintf(buf, size, "seed:%llu", (unsigned long long)p->seed);
	else
		snprintf(buf, size, "byte 0x%02x", p->byte);
}

void pattern_fill(const struct pattern *p, uint64_t offset, void *buf, size_t len)
{
	uint8_t *b = buf;
	size_t i = 0;

	if (!p->seeded) {
		memset(buf, p->byte, len);
		return;
	}
	for (; i < len && ((offset + i) & 7); i++)
		b[i] = pattern_byte_at(p, offset + i);
	for (; i + 8 <= len; i += 8) {
		uint64_t w = pattern_word(p->seed, (offset + i) >> 3);

		memcpy(b + i, &w, 8); /* little-endian: byte k of the word is offset k */
	}
	for (; i < len; i++)
		b[i] = pattern_byte_at(p, offset + i);
}

size_t pattern_check(const struct pattern *p, uint64_t offset, const void *buf, size_t len)
{
	const uint8_t *b = buf;
	uint8_t chunk[4096];
	size_t i, k, n;

	for (i = 0; i < len; i += n) {
		n = len - i < sizeof(chunk) ? len - i : sizeof(chunk);
		pattern_fill(p, offset + i, chunk, n);
		if (memcmp(chunk, b + i, n) == 0)
			continue;
		for (k = 0; k < n; k++) {
			if (chunk[k] != b[i + k])
				return i + k;
		}
	}
	return len;
}
