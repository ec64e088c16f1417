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
#include "fuzz_ring.h"

#define FUZZ_HDR 12u

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
	fuzz_reverse_held(held, held_w, n_held);
	if (n_held && !vring_split_dev_is_broken(q))
		assert(vring_split_dev_push_burst(q, held, held_w, n_held) == 0);
	vring_split_dev_flush(q);
	(void)vring_split_dev_need_notify(q);
	(void)vring_split_dev_enable_notify(q);
}

/* fuzz_ring_init_fn: the differential's two runs, each on its own copy of memory. */
static int fuzz_split_init(union vring_dev_ring *q, void *cfg, const struct vring_mem *mem)
{
	struct vring_split_dev_config *c = cfg;

	c->mem = *mem;
	return vring_split_dev_init(&q->split, c);
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
		/* bit6 of byte 1: single pops and bursts must see the same chains and end. */
		cfg.state = state;
		fuzz_burst_differential(&vring_split_dev_ops, fuzz_split_init, &cfg, cfg.num,
					data + FUZZ_HDR, mem_len, split, o.cap,
					1u + (data[2] & 7u));
		return 0;
	}
	/* Each region gets its own exact-size allocation, so ASan sees any overrun. */
	if (!fuzz_mem_fill(&m, data + FUZZ_HDR, mem_len, split))
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
	fuzz_mem_free(&m);
	return 0;
}
