// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the driver side of the split ring: the input is a
 * hostile device (tests/fuzz/fuzz_get_buf.h runs the script and checks the
 * invariants). The device writes used ring entries anywhere (any id, any
 * len), moves used->idx by any amount, and writes used->flags and
 * avail_event at will. The three ring parts are allocated to their exact
 * size, so ASan sees any access beyond them.
 *
 * Input layout: byte 0 flags (bit0 EVENT_IDX, bit1 indirect, bit2 IN_ORDER),
 * byte 1 bits 0-2 log2(queue size) (1..64 after the modulo), then the
 * script: opcode 2 takes a position byte, id (4 bytes), len (4) and how far
 * used->idx moves (2: 0 leaves it); opcode 6 used->flags (2) and
 * avail_event (2).
 */
#include "tests/fuzz/fuzz_get_buf.h"

struct fuzz_split_ring {
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
};

static void fuzz_split_write_used(struct fuzz_driver *s)
{
	struct fuzz_split_ring *ring = s->ring;
	struct virtq_used_elem *e = &ring->used->ring[fuzz_byte(s) % s->num];
	uint32_t id = fuzz_u32(s);
	uint32_t len = fuzz_u32(s);
	uint16_t step = fuzz_u16(s);

	e->id = id;
	e->len = len;
	/* The device's publish: the entry before the index (the driver loads it acquire). */
	if (step)
		__atomic_store_n(&ring->used->idx, (uint16_t)(ring->used->idx + step),
				 __ATOMIC_RELEASE);
}

/* §2.7.7, §2.7.10: the device's notification state the driver reads before a kick. */
static void fuzz_split_write_event(struct fuzz_driver *s)
{
	struct fuzz_split_ring *ring = s->ring;
	le16 *avail_event =
		(le16 *)(void *)((uint8_t *)ring->used + virtq_used_size(s->num) - sizeof(le16));

	ring->used->flags = fuzz_u16(s);
	*avail_event = fuzz_u16(s);
}

static const struct fuzz_device_verbs fuzz_split_device = {
	.write_used = fuzz_split_write_used,
	.write_event = fuzz_split_write_event,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_split_ring ring;
	struct fuzz_driver *s;
	struct vring_split_drv_config c;
	struct virtq_desc *pool;
	uint8_t flags;

	if (size < 2)
		return 0;
	s = calloc(1, sizeof(*s));
	FUZZ_CHECK(s != NULL);
	flags = data[0];
	s->num = (uint16_t)(1u << ((data[1] & 7u) % 7u));
	s->in = data + 2;
	s->left = size - 2;
	s->device = &fuzz_split_device;
	s->ring = &ring;
	/* malloc's alignment (16) covers the parts' (16, 2, 4); aligned_alloc wants multiples. */
	ring.desc = calloc(1, virtq_desc_table_size(s->num));
	ring.avail = calloc(1, virtq_avail_size(s->num));
	ring.used = calloc(1, virtq_used_size(s->num));
	pool = calloc(s->num * FUZZ_IMAX, sizeof(*pool));
	FUZZ_CHECK(ring.desc && ring.avail && ring.used && pool);
	c = (struct vring_split_drv_config){
		.num = s->num,
		.desc = ring.desc,
		.avail = ring.avail,
		.used = ring.used,
		.extra = s->extra,
		.indirect_pool = pool,
		.indirect_pool_addr = 0x100000,
		.indirect_max = (flags & 2) ? FUZZ_IMAX : 0,
		.event_idx = flags & 1,
		.in_order = flags & 4,
	};
	FUZZ_CHECK(virtqueue_split_init(&s->vq, &c) == 0);
	fuzz_driver_run(s);
	free(pool);
	free(ring.used);
	free(ring.avail);
	free(ring.desc);
	free(s);
	return 0;
}
