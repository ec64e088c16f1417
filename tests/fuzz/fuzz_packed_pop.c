// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the device side of the packed ring: the input is a
 * hostile driver. It supplies the queue size (any, 1..256), the resume
 * positions with both wrap counters, the ring layout, the point where guest
 * memory splits into two regions, and the whole guest memory image
 * (descriptor ring, event suppression structures, indirect tables). We init,
 * then pop/unpop/push/flush until error or -EAGAIN, and check: every iov
 * entry lies inside one region, byte totals match the iov, counts fit the
 * capacity, ids are below the size, a popped-then-unpopped chain pops again
 * the same, a broken queue stays broken.
 *
 * Input layout (little-endian):
 *   0      flags: bit0 EVENT_IDX, bit1 INDIRECT_DESC, bit2 fixed ring layout,
 *          bit3 push one byte too many on the 3rd pop, bit4 IN_ORDER
 *   1      bits 0-3: iov capacity - 1; bit4: keep chains in flight and push them
 *          at the end in reverse order, one push burst; bit5: disable notifications first;
 *          bit6: differential: pop everything one chain at a time (translate
 *          hook) and again in bursts of 1 + (byte 2 & 7) chains (the region
 *          hook and its cache) on a second copy of memory: the same chains,
 *          iov entries and final error, or the burst path checks differently;
 *          bit7: the region hook (and the ring's region cache) in the normal run
 *   2..3   queue size - 1 (mod 256)
 *   4..5   avail position: bits 0-14 slot, bit 15 wrap counter
 *   6..7   used position, the same
 *   8..9   split point: guest offset where region 1 starts (0: one region)
 *   10..15 desc/driver/device area guest offsets (16 bits each; ignored with bit2)
 *   16..   guest memory image, at guest address FUZZ_GPA
 */
#include "fuzz_ring.h"

#define FUZZ_HDR 16u
#define FUZZ_MAXNUM 256u

static struct vring_dev_position fuzz_position(const uint8_t *a, const uint8_t *u)
{
	uint16_t av = fuzz_le16(a), us = fuzz_le16(u);

	return (struct vring_dev_position){(uint16_t)(av & 0x7fffu), av >> 15,
					   (uint16_t)(us & 0x7fffu), us >> 15};
}

static void fuzz_layout(struct vring_dev_config *cfg, const uint8_t *data, bool fixed)
{
	if (fixed) {
		cfg->desc_addr = FUZZ_GPA;
		cfg->driver_addr = FUZZ_GPA + 16u * cfg->num;
		cfg->device_addr = cfg->driver_addr + 4;
		return;
	}
	cfg->desc_addr = FUZZ_GPA + fuzz_le16(data + 10);
	cfg->driver_addr = FUZZ_GPA + fuzz_le16(data + 12);
	cfg->device_addr = FUZZ_GPA + fuzz_le16(data + 14);
}

struct fuzz_opts {
	unsigned int cap;
	bool overpush; /* push one byte too many on the third chain */
	bool defer;    /* keep chains in flight, push them at the end in reverse */
	bool quiet;    /* disable notifications first */
};

/* Push @id with its writable bytes (+1 when @over); checks the outcome. */
static bool fuzz_push(struct vring_packed_dev *q, uint16_t id, uint32_t w, bool over)
{
	int r = vring_packed_dev_push(q, id, over && w < UINT32_MAX ? w + 1 : w);

	if (r) {
		assert(r == -EPROTO && over && vring_packed_dev_error(q) == VRING_ERR_PUSH_LEN);
		return false;
	}
	return true;
}

/* Pop once; on every third, give it back and pop it again: the same chain must come. */
static int fuzz_pop(struct vring_packed_dev *q, struct vring_chain *c, struct vring_iov *iov,
		    const struct fuzz_opts *o, unsigned int round)
{
	struct vring_chain again;
	int r = vring_packed_dev_pop(q, c, iov, o->cap);

	if (r || round % 3 != 2)
		return r;
	assert(vring_packed_dev_unpop(q, c->head) == 0);
	assert(vring_packed_dev_pop(q, &again, iov, o->cap) == 0);
	assert(again.head == c->head && again.readable == c->readable &&
	       again.writable == c->writable && again.readable_bytes == c->readable_bytes &&
	       again.writable_bytes == c->writable_bytes);
	return 0;
}

/* Pop (and push) until the ring is empty or broken. */
static void fuzz_run(struct vring_packed_dev *q, const struct fuzz_mem *m,
		     const struct fuzz_opts *o)
{
	struct vring_iov iov[FUZZ_IOV];
	struct vring_chain c;
	uint16_t held[FUZZ_MAXNUM];
	uint32_t held_w[FUZZ_MAXNUM];
	unsigned int pops = 0, n_held = 0;

	if (o->quiet)
		vring_packed_dev_disable_notify(q);
	for (unsigned int round = 0; round < 4u * q->num + 4u; round++) {
		int r = fuzz_pop(q, &c, iov, o, round);

		if (r == -EAGAIN)
			break;
		if (r) {
			assert(r == -EPROTO);
			assert(vring_packed_dev_error(q) != VRING_ERR_NONE);
			assert(vring_packed_dev_pop(q, &c, iov, o->cap) == -EIO);
			break;
		}
		pops++;
		fuzz_check_chain(m, &c, iov, o->cap, q->num);
		assert(vring_packed_dev_in_flight(q) >= 1 &&
		       vring_packed_dev_in_flight(q) <= q->num);
		if (o->defer && n_held < FUZZ_MAXNUM) {
			held[n_held] = c.head;
			held_w[n_held++] = c.writable_bytes;
			continue;
		}
		if (!fuzz_push(q, c.head, c.writable_bytes, o->overpush && pops == 3))
			break;
		if (round & 1) {
			vring_packed_dev_flush(q);
			(void)vring_packed_dev_need_notify(q);
		}
	}
	/* The held chains in reverse, in one push burst (each checked as a push checks it). */
	fuzz_reverse_held(held, held_w, n_held);
	if (n_held && vring_packed_dev_error(q) == VRING_ERR_NONE)
		assert(vring_packed_dev_push_burst(q, held, held_w, n_held) == 0);
	vring_packed_dev_flush(q);
	(void)vring_packed_dev_need_notify(q);
	(void)vring_packed_dev_enable_notify(q);
}

/* fuzz_ring_init_fn: the differential's two runs, each on its own copy of memory. */
static int fuzz_packed_init(union vring_dev_ring *q, void *cfg, const struct vring_mem *mem)
{
	struct vring_dev_config *c = cfg;

	c->mem = *mem;
	return vring_packed_dev_init(&q->packed, c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vring_dev_config cfg = {0};
	struct vring_packed_dev q;
	struct fuzz_mem m = {0};
	struct fuzz_opts o;
	/* vring_packed_dev_state_size(256): bitmap, 4 and 2 bytes per id */
	uint64_t state[FUZZ_MAXNUM / 64 + FUZZ_MAXNUM * 6 / 8];
	size_t mem_len, split;

	if (size < FUZZ_HDR + 1)
		return 0;
	mem_len = size - FUZZ_HDR;
	if (mem_len > FUZZ_MAX_MEM)
		mem_len = FUZZ_MAX_MEM;
	cfg.num = (uint16_t)(1u + fuzz_le16(data + 2) % FUZZ_MAXNUM);
	cfg.max_num = FUZZ_MAXNUM;
	cfg.event_idx = data[0] & 1;
	cfg.indirect = data[0] & 2;
	cfg.in_order = data[0] & 16;
	o.cap = 1u + (data[1] & 15u);
	o.overpush = data[0] & 8;
	o.defer = data[1] & 16;
	o.quiet = data[1] & 32;
	cfg.position = fuzz_position(data + 4, data + 6);
	fuzz_layout(&cfg, data, data[0] & 4);
	split = fuzz_le16(data + 8);
	assert(vring_packed_dev_state_size(FUZZ_MAXNUM) <= sizeof(state));
	/*
	 * Differential: pops write the device event structure (EVENT_IDX), bursts once per
	 * burst; a layout that overlaps it with descriptors would differ for that alone.
	 */
	if ((data[1] & 64) && (!cfg.event_idx || (data[0] & 4))) {
		/* bit6 of byte 1: single pops and bursts must see the same chains and end. */
		cfg.state = state;
		fuzz_burst_differential(&vring_packed_dev_ops, fuzz_packed_init, &cfg, cfg.num,
					data + FUZZ_HDR, mem_len, split, o.cap,
					1u + (data[2] & 7u));
		return 0;
	}
	/* Each region gets its own exact-size allocation, so ASan sees any overrun. */
	if (!fuzz_mem_fill(&m, data + FUZZ_HDR, mem_len, split))
		goto out_free;
	cfg.mem.translate = fuzz_translate;
	cfg.mem.opaque = &m;
	if (data[1] & 128)
		cfg.mem.region = fuzz_region;
	cfg.state = state;
	if (vring_packed_dev_init(&q, &cfg) == 0)
		fuzz_run(&q, &m, &o);
	else
		assert(vring_packed_dev_error(&q) == VRING_ERR_GEOMETRY);
out_free:
	fuzz_mem_free(&m);
	return 0;
}
