// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the driver side of the packed ring: the input is a
 * hostile device. Our driver (ring/packed_driver.c) posts buffers as the
 * script says, and the device "writes" whatever the input says into the
 * descriptor ring and the device event suppression area. Invariants: a
 * token comes back only if it was posted and not yet returned, with a
 * length within the writable bytes posted; free descriptors never exceed the
 * queue size; once broken, the queue stays broken (-EIO, NULL, false). The
 * ring and the event areas are allocated to their exact size, so ASan sees
 * any access beyond them.
 *
 * Input layout: byte 0 flags (bit0 EVENT_IDX, bit1 indirect, bit2 IN_ORDER),
 * byte 1 queue size - 1 (1..64 after masking), then a script of
 * operations, each an opcode byte and its operands (see fuzz_step()).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/virtqueue.h>

#include "tests/fuzz/fuzz_check.h"

#define FUZZ_MAX_NUM 64u
#define FUZZ_IMAX 4u
#define FUZZ_SG 4u

struct fuzz_tok {
	bool posted;
	uint32_t wbytes;
};

struct fuzz_state {
	const uint8_t *in;
	size_t left;
	uint16_t num;
	struct pvirtq_desc *desc;
	struct pvirtq_event_suppress *drv_ev, *dev_ev;
	struct virtqueue vq;
	struct vring_desc_extra extra[FUZZ_MAX_NUM];
	struct fuzz_tok toks[FUZZ_MAX_NUM];
	unsigned int posted;
};

static uint8_t fuzz_byte(struct fuzz_state *s)
{
	if (!s->left)
		return 0;
	s->left--;
	return *s->in++;
}

static uint32_t fuzz_u32(struct fuzz_state *s)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v |= (uint32_t)fuzz_byte(s) << (8 * i);
	return v;
}

static void fuzz_add(struct fuzz_state *s)
{
	uint8_t shape = fuzz_byte(s);
	unsigned int out = shape & 3u, in = (shape >> 2) & 3u, slot;
	struct virtio_sg sg[FUZZ_SG * 2];
	uint32_t wbytes = 0;
	int r;

	for (slot = 0; slot < s->num && s->toks[slot].posted; slot++)
		;
	if (slot == s->num || out + in == 0)
		return;
	for (unsigned int k = 0; k < out + in; k++) {
		sg[k] = (struct virtio_sg){.addr = 0x1000u * (slot + 1) + 64u * k,
					   .len = 1u + (fuzz_byte(s) & 63u)};
		if (k >= out)
			wbytes += sg[k].len;
	}
	r = virtqueue_add_sgs(&s->vq, sg, out, in, &s->toks[slot]);
	if (s->vq.broken) {
		FUZZ_CHECK(r == -EIO);
		return;
	}
	FUZZ_CHECK(r == 0 || r == -ENOSPC || r == -EINVAL);
	if (r == 0) {
		s->toks[slot] = (struct fuzz_tok){.posted = true, .wbytes = wbytes};
		s->posted++;
	}
}

/* The device writes one descriptor: position, id, len, flags from the input. */
static void fuzz_device_write(struct fuzz_state *s)
{
	struct pvirtq_desc *d = &s->desc[fuzz_byte(s) % s->num];
	uint16_t id = (uint16_t)(fuzz_byte(s) | fuzz_byte(s) << 8);
	uint32_t len = fuzz_u32(s);
	uint16_t flags = (uint16_t)(fuzz_byte(s) | fuzz_byte(s) << 8);

	d->id = id;
	d->len = len;
	__atomic_store_n(&d->flags, flags, __ATOMIC_RELEASE);
}

static void fuzz_get(struct fuzz_state *s)
{
	uint32_t len = UINT32_MAX;
	struct fuzz_tok *t = virtqueue_get_buf(&s->vq, &len);

	if (!t)
		return;
	FUZZ_CHECK(!s->vq.broken);
	FUZZ_CHECK(t >= s->toks && t < s->toks + s->num);
	FUZZ_CHECK(t->posted);
	FUZZ_CHECK(len <= t->wbytes);
	t->posted = false;
	s->posted--;
}

static void fuzz_step(struct fuzz_state *s)
{
	switch (fuzz_byte(s) % 8u) {
	case 0:
		fuzz_add(s);
		break;
	case 1:
		virtqueue_kick_prepare(&s->vq);
		break;
	case 2:
		fuzz_device_write(s);
		break;
	case 3:
		fuzz_get(s);
		break;
	case 4:
		virtqueue_disable_cb(&s->vq);
		break;
	case 5:
		if (fuzz_byte(s) & 1)
			virtqueue_enable_cb(&s->vq);
		else
			virtqueue_enable_cb_delayed(&s->vq);
		break;
	case 6:
		s->dev_ev->off_wrap = (uint16_t)(fuzz_byte(s) | fuzz_byte(s) << 8);
		s->dev_ev->flags = (uint16_t)(fuzz_byte(s) | fuzz_byte(s) << 8);
		break;
	default:
		virtqueue_more_used(&s->vq);
		break;
	}
	/* Every buffer in flight holds at least one descriptor. */
	FUZZ_CHECK(virtqueue_get_num_free(&s->vq) + s->posted <= s->num);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_state *s;
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
	s->desc = aligned_alloc(16, sizeof(struct pvirtq_desc) * s->num);
	s->drv_ev = aligned_alloc(4, sizeof(*s->drv_ev));
	s->dev_ev = aligned_alloc(4, sizeof(*s->dev_ev));
	pool = aligned_alloc(16, sizeof(struct pvirtq_desc) * s->num * FUZZ_IMAX);
	FUZZ_CHECK(s->desc && s->drv_ev && s->dev_ev && pool);
	memset(s->desc, 0, sizeof(struct pvirtq_desc) * s->num);
	memset(s->dev_ev, 0, sizeof(*s->dev_ev));
	c = (struct vring_packed_drv_config){
		.num = s->num,
		.desc = s->desc,
		.driver_event = s->drv_ev,
		.device_event = s->dev_ev,
		.extra = s->extra,
		.indirect_pool = pool,
		.indirect_pool_addr = 0x100000,
		.indirect_max = (flags & 2) ? FUZZ_IMAX : 0,
		.event_idx = flags & 1,
		.in_order = flags & 4,
	};
	FUZZ_CHECK(virtqueue_packed_init(&s->vq, &c) == 0);
	while (s->left) {
		bool was_broken = s->vq.broken;

		fuzz_step(s);
		/* Sticky: once broken, always broken. */
		FUZZ_CHECK(!was_broken || virtqueue_is_broken(&s->vq));
	}
	free(pool);
	free(s->dev_ev);
	free(s->drv_ev);
	free(s->desc);
	free(s);
	return 0;
}
