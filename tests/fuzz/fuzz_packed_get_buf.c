// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the driver side of the packed ring: the input is a
 * hostile device (tests/fuzz/fuzz_get_buf.h runs the script and checks the
 * invariants). The device writes the descriptor ring (any position, id, len,
 * flags) and its event suppression area at will. The ring and the event areas
 * are allocated to their exact size, so ASan sees any access beyond them.
 *
 * Input layout: byte 0 flags (bit0 EVENT_IDX, bit1 indirect, bit2 IN_ORDER),
 * byte 1 queue size - 1 (1..64 after masking), then the script: opcode 2
 * takes a position byte, id (2 bytes), len (4), flags (2); opcode 6 the
 * device event area's off_wrap (2) and flags (2).
 */
#include "tests/fuzz/fuzz_get_buf.h"

struct fuzz_packed_ring {
	struct pvirtq_desc *desc;
	struct pvirtq_event_suppress *drv_ev, *dev_ev;
};

/* The device writes one descriptor: position, id, len, flags from the input. */
static void fuzz_packed_write_used(struct fuzz_driver *s)
{
	struct fuzz_packed_ring *ring = s->ring;
	struct pvirtq_desc *d = &ring->desc[fuzz_byte(s) % s->num];
	uint16_t id = fuzz_u16(s);
	uint32_t len = fuzz_u32(s);
	uint16_t flags = fuzz_u16(s);

	d->id = id;
	d->len = len;
	__atomic_store_n(&d->flags, flags, __ATOMIC_RELEASE);
}

static void fuzz_packed_write_event(struct fuzz_driver *s)
{
	struct fuzz_packed_ring *ring = s->ring;

	ring->dev_ev->off_wrap = fuzz_u16(s);
	ring->dev_ev->flags = fuzz_u16(s);
}

static const struct fuzz_device_verbs fuzz_packed_device = {
	.write_used = fuzz_packed_write_used,
	.write_event = fuzz_packed_write_event,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_packed_ring ring;
	struct fuzz_driver *s;
	struct vring_packed_drv_config c;
	struct pvirtq_desc *pool;
	uint8_t flags;

	if (size < 2)
		return 0;
	s = calloc(1, sizeof(*s));
	FUZZ_CHECK(s != NULL);
	flags = data[0];
	s->num = (uint16_t)(1u + (data[1] & (FUZZ_MAX_NUM - 1u)));
	s->in = data + 2;
	s->left = size - 2;
	s->device = &fuzz_packed_device;
	s->ring = &ring;
	ring.desc = aligned_alloc(16, sizeof(struct pvirtq_desc) * s->num);
	ring.drv_ev = aligned_alloc(4, sizeof(*ring.drv_ev));
	ring.dev_ev = aligned_alloc(4, sizeof(*ring.dev_ev));
	pool = aligned_alloc(16, sizeof(struct pvirtq_desc) * s->num * FUZZ_IMAX);
	FUZZ_CHECK(ring.desc && ring.drv_ev && ring.dev_ev && pool);
	memset(ring.desc, 0, sizeof(struct pvirtq_desc) * s->num);
	memset(ring.dev_ev, 0, sizeof(*ring.dev_ev));
	c = (struct vring_packed_drv_config){
		.num = s->num,
		.desc = ring.desc,
		.driver_event = ring.drv_ev,
		.device_event = ring.dev_ev,
		.extra = s->extra,
		.indirect_pool = pool,
		.indirect_pool_addr = 0x100000,
		.indirect_max = (flags & 2) ? FUZZ_IMAX : 0,
		.event_idx = flags & 1,
		.in_order = flags & 4,
	};
	FUZZ_CHECK(virtqueue_packed_init(&s->vq, &c) == 0);
	fuzz_driver_run(s);
	free(pool);
	free(ring.dev_ev);
	free(ring.drv_ev);
	free(ring.desc);
	free(s);
	return 0;
}
