/* SPDX-License-Identifier: MIT */
/*
 * What the device-side ring fuzz targets (fuzz_split_pop, fuzz_packed_pop) share: guest memory
 * in one or two regions copied from the input (each its own exact-size allocation, so ASan
 * sees any overrun), the translate and region hooks over it, the per-chain invariants, and the
 * burst differential: pop everything one chain at a time (translate hook) and again in bursts
 * (region hook and the ring's region cache) on a second copy of memory, through the ring
 * format's struct vring_dev_ops; both runs must see the same chains, iov entries and end.
 * Header-only: each target is built from its one .c file (scripts/fuzz.sh, the replay rule).
 */
#ifndef VIREO_TESTS_FUZZ_RING_H
#define VIREO_TESTS_FUZZ_RING_H

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/vring.h>

#define FUZZ_GPA 0x10000ull
#define FUZZ_MAX_MEM 65536u
#define FUZZ_IOV 16u

struct fuzz_mem {
	uint8_t *host[2];
	uint64_t start[2]; /* guest offsets */
	uint64_t len[2];
	unsigned int n;
	struct vring_mem_region slots[2]; /* the same regions, for the region hook */
};

static inline const struct vring_mem_region *fuzz_region(const void *opaque, uint64_t addr)
{
	const struct fuzz_mem *m = opaque;

	for (unsigned int i = 0; i < m->n; i++)
		if (addr >= m->slots[i].guest_addr &&
		    addr - m->slots[i].guest_addr < m->slots[i].size)
			return &m->slots[i];
	return NULL;
}

static inline void *fuzz_translate(const void *opaque, uint64_t addr, uint64_t len,
				   uint64_t *contig)
{
	const struct fuzz_mem *m = opaque;

	if (len == 0 || addr < FUZZ_GPA || len - 1 > UINT64_MAX - addr)
		return NULL;
	for (unsigned int i = 0; i < m->n; i++) {
		uint64_t off = addr - FUZZ_GPA;

		if (off >= m->start[i] && off - m->start[i] < m->len[i]) {
			uint64_t left = m->len[i] - (off - m->start[i]);

			*contig = len < left ? len : left;
			return m->host[i] + (off - m->start[i]);
		}
	}
	return NULL;
}

/* Every iov entry inside one region, counts and totals consistent with @c. */
static inline void fuzz_check_chain(const struct fuzz_mem *m, const struct vring_chain *c,
				    const struct vring_iov *iov, unsigned int cap, uint16_t num)
{
	uint64_t bytes[2] = {0, 0};

	assert(c->head < num);
	assert((unsigned int)c->readable + c->writable <= cap);
	for (unsigned int k = 0; k < (unsigned int)c->readable + c->writable; k++) {
		const uint8_t *p = iov[k].base;
		bool inside = false;

		assert(iov[k].len > 0);
		for (unsigned int i = 0; i < m->n; i++) {
			if (p >= m->host[i] && p < m->host[i] + m->len[i] &&
			    iov[k].len <= (size_t)(m->host[i] + m->len[i] - p))
				inside = true;
		}
		assert(inside);
		bytes[k >= c->readable] += iov[k].len;
	}
	assert(bytes[0] == c->readable_bytes);
	assert(bytes[1] == c->writable_bytes);
	assert((uint64_t)c->readable_bytes + c->writable_bytes <= UINT32_MAX);
}

static inline uint16_t fuzz_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/*
 * Guest memory from @image (@mem_len bytes), split into two regions at @split (0 or beyond
 * the end: one). Return: false if out of memory (fuzz_mem_free() frees what was taken).
 */
static inline bool fuzz_mem_fill(struct fuzz_mem *m, const uint8_t *image, size_t mem_len,
				 size_t split)
{
	m->n = split && split < mem_len ? 2 : 1;
	m->len[0] = m->n == 2 ? split : mem_len;
	m->start[1] = split;
	m->len[1] = mem_len - split;
	for (unsigned int i = 0; i < m->n; i++) {
		m->host[i] = malloc(m->len[i]);
		if (!m->host[i])
			return false;
		memcpy(m->host[i], image + m->start[i], m->len[i]);
		m->slots[i] =
			(struct vring_mem_region){FUZZ_GPA + m->start[i], m->len[i], m->host[i]};
	}
	return true;
}

static inline void fuzz_mem_free(struct fuzz_mem *m)
{
	for (unsigned int i = 0; i < m->n; i++)
		free(m->host[i]);
}

/* What a pop-only run saw: each chain (iov as region + offset) and how it ended. */
struct fuzz_trace {
	uint32_t words[4096];
	unsigned int n;
	int end;
	enum vring_error err;
};

/* Held chains (heads and writable bytes) in reverse order: pushed out of order on purpose. */
static inline void fuzz_reverse_held(uint16_t *heads, uint32_t *written, unsigned int n)
{
	for (unsigned int i = 0; i < n / 2; i++) {
		uint16_t h = heads[i];
		uint32_t w = written[i];

		heads[i] = heads[n - 1 - i];
		written[i] = written[n - 1 - i];
		heads[n - 1 - i] = h;
		written[n - 1 - i] = w;
	}
}

static inline void fuzz_trace_put(struct fuzz_trace *t, uint32_t w)
{
	if (t->n < sizeof(t->words) / sizeof(t->words[0]))
		t->words[t->n++] = w;
}

static inline void fuzz_trace_chain(struct fuzz_trace *t, const struct fuzz_mem *m,
				    const struct vring_chain *c, const struct vring_iov *iov)
{
	fuzz_trace_put(t, c->head);
	fuzz_trace_put(t, (uint32_t)c->readable << 16 | c->writable);
	fuzz_trace_put(t, c->readable_bytes);
	fuzz_trace_put(t, c->writable_bytes);
	for (unsigned int k = 0; k < (unsigned int)c->readable + c->writable; k++) {
		const uint8_t *p = iov[k].base;
		unsigned int r = p >= m->host[0] && p < m->host[0] + m->len[0] ? 0 : 1;

		fuzz_trace_put(t, r << 31 | (uint32_t)(p - m->host[r]));
		fuzz_trace_put(t, (uint32_t)iov[k].len);
	}
}

/*
 * Pop from the @num-entry ring @q until empty or broken, one chain per call (@burst 0) or in
 * bursts of @burst (at most 8).
 */
static inline void fuzz_pop_all(const struct vring_dev_ops *ops, union vring_dev_ring *q,
				uint16_t num, const struct fuzz_mem *m, unsigned int cap,
				unsigned int burst, struct fuzz_trace *t)
{
	struct vring_iov iov[FUZZ_IOV + 8];
	struct vring_chain c[8];
	int r = 0;

	for (unsigned int round = 0; round < 4u * num + 4u && r >= 0; round++) {
		unsigned int off = 0;

		r = burst ? ops->pop_burst(q, c, burst, iov, cap + burst - 1, cap)
			  : ops->pop(q, c, iov, cap);
		for (int k = 0; k < (burst ? r : (r == 0)); k++) {
			fuzz_check_chain(m, &c[k], iov + off, cap, num);
			fuzz_trace_chain(t, m, &c[k], iov + off);
			off += (unsigned int)c[k].readable + c[k].writable;
		}
		assert(!burst || r != 0);
		/* A burst that ended on a broken chain: the next call says so. */
		if (burst && r > 0 && ops->error(q) != VRING_ERR_NONE)
			r = ops->pop(q, c, iov, cap) == -EIO ? -EPROTO : 0;
	}
	t->end = r;
	t->err = ops->error(q);
}

/* (Re)initialise @q from the target's own config @cfg, on guest memory @mem. Return: 0 or -errno */
typedef int (*fuzz_ring_init_fn)(union vring_dev_ring *q, void *cfg, const struct vring_mem *mem);

/*
 * The burst differential on a ring of @num entries (@init with @cfg, guest memory from @image
 * as fuzz_mem_fill() takes it): single pops and bursts of @burst must see the same chains and
 * the same end. A config @init refuses is no case.
 */
static inline void fuzz_burst_differential(const struct vring_dev_ops *ops, fuzz_ring_init_fn init,
					   void *cfg, uint16_t num, const uint8_t *image,
					   size_t mem_len, size_t split, unsigned int cap,
					   unsigned int burst)
{
	static struct fuzz_trace one,
		many; /* too big for the stack; the fuzzer is single-threaded */
	struct fuzz_mem m[2];
	union vring_dev_ring q;
	struct vring_mem mem;

	memset(m, 0, sizeof(m));
	one.n = many.n = 0;
	for (unsigned int i = 0; i < 2; i++)
		if (!fuzz_mem_fill(&m[i], image, mem_len, split))
			goto out;
	mem = (struct vring_mem){.translate = fuzz_translate, .opaque = &m[0]};
	if (init(&q, cfg, &mem) != 0)
		goto out;
	fuzz_pop_all(ops, &q, num, &m[0], cap, 0, &one);
	mem = (struct vring_mem){
		.translate = fuzz_translate, .opaque = &m[1], .region = fuzz_region};
	assert(init(&q, cfg, &mem) == 0);
	fuzz_pop_all(ops, &q, num, &m[1], cap, burst, &many);
	assert(one.n == many.n && memcmp(one.words, many.words, one.n * sizeof(one.words[0])) == 0);
	assert(one.end == many.end && one.err == many.err);
out:
	for (unsigned int i = 0; i < 2; i++)
		fuzz_mem_free(&m[i]);
}

#endif /* VIREO_TESTS_FUZZ_RING_H */
