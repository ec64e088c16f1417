// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the device side of the split ring: the input is a
 * hostile driver. It supplies the queue configuration, the point where guest
 * memory splits into two regions, and the whole guest memory image (ring,
 * descriptors, indirect tables). We init, then pop/push/flush until error
 * or -EAGAIN, and check the invariants: every iov entry lies inside guest
 * memory (one region), byte totals match the iov, counts fit the capacity,
 * a broken queue stays broken.
 *
 * Input layout (little-endian):
 *   0      flags: bit0 EVENT_IDX, bit1 INDIRECT_DESC, bit2 fixed ring layout,
 *          bit3 push one byte too many on the 3rd pop, bits 4-7 log2(queue size) (0..8)
 *   1      bits 0-3: iov capacity - 1; bit4: keep chains in flight and push them
 *          at the end in reverse order, one push burst; bit5: disable notifications first;
 *          bit6: differential: pop everything one chain at a time (translate
 *          hook) and again in bursts of 1 + (byte 2 & 7) chains (the region
 *          hook and its cache) on a second copy of memory: the same chains,
 *          iov entries and final error, or the burst path checks differently;
 *          bit7: the region hook (and the ring's region cache) in the normal run
 *   2..3   last_avail_idx to resume from
 *   4..5   split point: guest offset where region 1 starts (0: one region)
 *   6..11  desc/avail/used guest offsets (16 bits each; ignored with bit2)
 *   12..   guest memory image, at guest address FUZZ_GPA
 */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/vring.h>

#define FUZZ_GPA 0x10000ull
#define FUZZ_HDR 12u
#define FUZZ_MAX_MEM 65536u
#define FUZZ_IOV 16u

struct fuzz_mem {
	uint8_t *host[2];
	uint64_t start[2]; /* guest offsets */
	uint64_t len[2];
	unsigned int n;
	struct vring_mem_region slots[2]; /* the same regions, for the region hook */
};

static const struct vring_mem_region *fuzz_region(const void *opaque, uint64_t addr)
{
	const struct fuzz_mem *m = opaque;

	for (unsigned int i = 0; i < m->n; i++)
		if (addr >= m->slots[i].guest_addr &&
		    addr - m->slots[i].guest_addr < m->slots[i].size)
			return &m->slots[i];
	return NULL;
}

static void *fuzz_translate(const void *opaque, uint64_t addr, uint64_t len, uint64_t *contig)
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
static void fuzz_check_chain(const struct fuzz_mem *m, const struct vring_chain *c,
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

static uint16_t fuzz_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void fuzz_layout(struct vring_split_dev_config *cfg, const uint8_t *data, bool fixed)
{
	if (fixed) {
		cfg->desc_addr = FUZZ_GPA;
		cfg->avail_addr = FUZZ_GPA + virtq_desc_table_size(cfg->num);
		cfg->used_addr = (cfg->avail_addr + virtq_avail_size(cfg->num) + 3) & ~3ull;
		return;
	}
	cfg->desc_addr = FUZZ_GPA + fuzz_le16(data + 6);
	cfg->avail_addr = FUZZ_GPA + fuzz_le16(data + 8);
	cfg->used_addr = FUZZ_GPA + fuzz_le16(data + 10);
}

struct fuzz_opts {
	unsigned int cap;
	bool overpush; /* push one byte too many on the third chain */
	bool defer;    /* keep chains in flight, push them at the end in reverse */
	bool quiet;    /* disable notifications first */
};

/* Push @head with its writable bytes (+1 when @over); checks the outcome. */
static bool fuzz_push(struct vring_split_dev *q, uint16_t head, uint32_t w, bool over)
{
	int r = vring_split_dev_push(q, head, over && w < UINT32_MAX ? w + 1 : w);

	if (r) {
		assert(r == -EPROTO && over && vring_split_dev_error(q) == VRING_ERR_PUSH_LEN);
		return false;
	}
	return true;
}

/* Pop (and push) until the ring is empty or broken. */
static void fuzz_run(struct vring_split_dev *q, const struct fuzz_mem *m, const struct fuzz_opts *o)
{
	struct vring_iov iov[FUZZ_IOV];
	struct vring_chain c;
	uint16_t held[256];
	uint32_t held_w[256];
	unsigned int pops = 0, n_held = 0;

	if (o->quiet)
		vring_split_dev_disable_notify(q);
	for (unsigned int round = 0; round < 4u * q->num + 4u; round++) {
		int r = vring_split_dev_pop(q, &c, iov, o->cap);

		if (r == -EAGAIN)
			break;
		if (r) {
			assert(r == -EPROTO);
			assert(vring_split_dev_is_broken(q));
			assert(vring_split_dev_error(q) != VRING_ERR_NONE);
			assert(vring_split_dev_pop(q, &c, iov, o->cap) == -EIO);
			break;
		}
		pops++;
		fuzz_check_chain(m, &c, iov, o->cap, q->num);
		assert(vring_split_dev_in_flight(q) >= 1);
		if (o->defer && n_held < 256) {
			held[n_held] = c.head;
			held_w[n_held++] = c.writable_bytes;
			continue;
		}
		if (!fuzz_push(q, c.head, c.writable_bytes, o->overpush && pops == 3))
			break;
		if (round & 1) {
			vring_split_dev_flush(q);
			(void)vring_split_dev_need_notify(q);
		}
	}
	/* The held chains in reverse, in one push burst (each checked as a push checks it). */
	for (unsigned int i = 0; i < n_held / 2; i++) {
		uint16_t h = held[i];
		uint32_t w = held_w[i];

		held[i] = held[n_held - 1 - i];
		held_w[i] = held_w[n_held - 1 - i];
		held[n_held - 1 - i] = h;
		held_w[n_held - 1 - i] = w;
	}
	if (n_held && !vring_split_dev_is_broken(q))
		assert(vring_split_dev_push_burst(q, held, held_w, n_held) == 0);
	vring_split_dev_flush(q);
	(void)vring_split_dev_need_notify(q);
	(void)vring_split_dev_enable_notify(q);
}

/* What a pop-only run saw: each chain (iov as region + offset) and how it ended. */
struct fuzz_trace {
	uint32_t words[4096];
	unsigned int n;
	int end;
	enum vring_error err;
};

static void fuzz_trace_put(struct fuzz_trace *t, uint32_t w)
{
	if (t->n < sizeof(t->words) / sizeof(t->words[0]))
		t->words[t->n++] = w;
}

static void fuzz_trace_chain(struct fuzz_trace *t, const struct fuzz_mem *m,
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

/* Pop until empty or broken, one chain per call (@burst 0) or in bursts of @burst. */
static void fuzz_pop_all(struct vring_split_dev *q, const struct fuzz_mem *m, unsigned int cap,
			 unsigned int burst, struct fuzz_trace *t)
{
	struct vring_iov iov[FUZZ_IOV + 8];
	struct vring_chain c[8];
	int r = 0;

	for (unsigned int round = 0; round < 4u * q->num + 4u && r >= 0; round++) {
		unsigned int off = 0;

		r = burst ? vring_split_dev_pop_burst(q, c, burst, iov, cap + burst - 1, cap)
			  : vring_split_dev_pop(q, c, iov, cap);
		for (int k = 0; k < (burst ? r : (r == 0)); k++) {
			fuzz_check_chain(m, &c[k], iov + off, cap, q->num);
			fuzz_trace_chain(t, m, &c[k], iov + off);
			off += (unsigned int)c[k].readable + c[k].writable;
		}
		assert(!burst || r != 0);
		/* A burst that ended on a broken chain: the next call says so. */
		if (burst && r > 0 && vring_split_dev_is_broken(q))
			r = vring_split_dev_pop(q, c, iov, cap) == -EIO ? -EPROTO : 0;
	}
	t->end = r;
	t->err = vring_split_dev_error(q);
}

/* Fill both copies of guest memory from the input. Return: false if out of memory. */
static bool fuzz_mem_fill(struct fuzz_mem *m, const uint8_t *data, size_t mem_len, size_t split)
{
	m->n = split && split < mem_len ? 2 : 1;
	m->len[0] = m->n == 2 ? split : mem_len;
	m->start[1] = split;
	m->len[1] = mem_len - split;
	for (unsigned int i = 0; i < m->n; i++) {
		m->host[i] = malloc(m->len[i]);
		if (!m->host[i])
			return false;
		memcpy(m->host[i], data + FUZZ_HDR + m->start[i], m->len[i]);
		m->slots[i] =
			(struct vring_mem_region){FUZZ_GPA + m->start[i], m->len[i], m->host[i]};
	}
	return true;
}

/* bit6 of byte 1: single pops and bursts must see the same chains and the same end. */
static void fuzz_differential(struct vring_split_dev_config cfg, const uint8_t *data,
			      size_t mem_len, size_t split, unsigned int cap)
{
	static struct fuzz_trace one,
		many; /* too big for the stack; the fuzzer is single-threaded */
	uint64_t state[(256 / 64) + (256 * 4) / 8];
	struct fuzz_mem m[2];
	struct vring_split_dev q;

	memset(m, 0, sizeof(m));
	one.n = many.n = 0;
	for (unsigned int i = 0; i < 2; i++)
		if (!fuzz_mem_fill(&m[i], data, mem_len, split))
			goto out;
	cfg.state = state;
	cfg.mem = (struct vring_mem){.translate = fuzz_translate, .opaque = &m[0]};
	if (vring_split_dev_init(&q, &cfg) != 0)
		goto out;
	fuzz_pop_all(&q, &m[0], cap, 0, &one);
	cfg.mem = (struct vring_mem){
		.translate = fuzz_translate, .opaque = &m[1], .region = fuzz_region};
	assert(vring_split_dev_init(&q, &cfg) == 0);
	fuzz_pop_all(&q, &m[1], cap, 1u + (data[2] & 7u), &many);
	assert(one.n == many.n && memcmp(one.words, many.words, one.n * sizeof(one.words[0])) == 0);
	assert(one.end == many.end && one.err == many.err);
out:
	for (unsigned int i = 0; i < 2; i++)
		for (unsigned int j = 0; j < m[i].n; j++)
			free(m[i].host[j]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vring_split_dev_config cfg = {0};
	struct vring_split_dev q;
	struct fuzz_mem m = {0};
	struct fuzz_opts o;
	uint64_t state[(256 / 64) + (256 * 4) / 8]; /* vring_split_dev_state_size(256) */
	size_t mem_len, split;

	if (size < FUZZ_HDR + 1)
		return 0;
	mem_len = size - FUZZ_HDR;
	if (mem_len > FUZZ_MAX_MEM)
		mem_len = FUZZ_MAX_MEM;
	cfg.num = (uint16_t)(1u << ((data[0] >> 4) % 9));
	cfg.max_num = 256;
	cfg.event_idx = data[0] & 1;
	cfg.indirect = data[0] & 2;
	o.cap = 1u + (data[1] & 15u);
	o.overpush = data[0] & 8;
	o.defer = data[1] & 16;
	o.quiet = data[1] & 32;
	cfg.last_avail_idx = fuzz_le16(data + 2);
	fuzz_layout(&cfg, data, data[0] & 4);
	split = fuzz_le16(data + 4);
	/*
	 * Differential: pops write avail_event (EVENT_IDX), bursts once per burst; a
	 * layout that overlaps it with descriptors would differ for that reason alone.
	 */
	if ((data[1] & 64) && (!cfg.event_idx || (data[0] & 4))) {
		fuzz_differential(cfg, data, mem_len, split, o.cap);
		return 0;
	}
	/* Each region gets its own exact-size allocation, so ASan sees any overrun. */
	if (!fuzz_mem_fill(&m, data, mem_len, split))
		goto out_free;
	cfg.mem.translate = fuzz_translate;
	cfg.mem.opaque = &m;
	/* Half the inputs go through the region hook and the ring's region cache. */
	if (data[1] & 128)
		cfg.mem.region = fuzz_region;
	cfg.state = state;
	if (vring_split_dev_init(&q, &cfg) == 0)
		fuzz_run(&q, &m, &o);
	else
		assert(vring_split_dev_error(&q) == VRING_ERR_GEOMETRY);
out_free:
	for (unsigned int i = 0; i < m.n; i++)
		free(m.host[i]);
	return 0;
}
