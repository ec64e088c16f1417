/* SPDX-License-Identifier: MIT */
/*
 * What the driver-side ring fuzz targets (fuzz_split_get_buf, fuzz_packed_get_buf) share: the
 * input is a hostile device. Our driver posts buffers as the script says and takes back what
 * the device "wrote"; the target supplies the two device verbs (write a used entry, write the
 * device's notification state) for its ring format. Invariants: a token comes back only if it
 * was posted and not yet returned, with a length within the writable bytes posted; buffers in
 * flight never exceed the queue size; once broken, the queue stays broken (-EIO, NULL, false).
 *
 * Script: a sequence of operations, each an opcode byte (mod 8) and its operands:
 *   0 add a buffer (shape byte: bits 0-1 readable, 2-3 writable elements; a length byte each)
 *   1 kick_prepare   2 device writes a used entry (target's operands)   3 get_buf
 *   4 disable_cb     5 enable_cb (operand bit 0) or enable_cb_delayed
 *   6 device writes its notification state (target's operands)   7 more_used
 * Header-only: each target is built from its one .c file (scripts/fuzz.sh, the replay rule).
 */
#ifndef VIREO_TESTS_FUZZ_GET_BUF_H
#define VIREO_TESTS_FUZZ_GET_BUF_H

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

struct fuzz_driver;

/* The device side of one ring format: reads its operands from the script. */
struct fuzz_device_verbs {
	void (*write_used)(struct fuzz_driver *s);
	void (*write_event)(struct fuzz_driver *s);
};

struct fuzz_driver {
	const uint8_t *in;
	size_t left;
	uint16_t num;
	struct virtqueue vq;
	struct vring_desc_extra extra[FUZZ_MAX_NUM];
	struct fuzz_tok toks[FUZZ_MAX_NUM];
	unsigned int posted;
	const struct fuzz_device_verbs *device;
	void *ring; /* the target's view of the device-written memory */
};

static inline uint8_t fuzz_byte(struct fuzz_driver *s)
{
	if (!s->left)
		return 0;
	s->left--;
	return *s->in++;
}

static inline uint16_t fuzz_u16(struct fuzz_driver *s)
{
	uint16_t lo = fuzz_byte(s);

	return (uint16_t)(lo | fuzz_byte(s) << 8);
}

static inline uint32_t fuzz_u32(struct fuzz_driver *s)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v |= (uint32_t)fuzz_byte(s) << (8 * i);
	return v;
}

static inline void fuzz_driver_add(struct fuzz_driver *s)
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

static inline void fuzz_driver_get(struct fuzz_driver *s)
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

static inline void fuzz_driver_step(struct fuzz_driver *s)
{
	switch (fuzz_byte(s) % 8u) {
	case 0:
		fuzz_driver_add(s);
		break;
	case 1:
		virtqueue_kick_prepare(&s->vq);
		break;
	case 2:
		s->device->write_used(s);
		break;
	case 3:
		fuzz_driver_get(s);
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
		s->device->write_event(s);
		break;
	default:
		virtqueue_more_used(&s->vq);
		break;
	}
	/* Every buffer in flight holds at least one descriptor. */
	FUZZ_CHECK(virtqueue_get_num_free(&s->vq) + s->posted <= s->num);
}

/* Run the script left in @s on its initialised queue. */
static inline void fuzz_driver_run(struct fuzz_driver *s)
{
	while (s->left) {
		bool was_broken = s->vq.broken;

		fuzz_driver_step(s);
		/* Sticky: once broken, always broken. */
		FUZZ_CHECK(!was_broken || virtqueue_is_broken(&s->vq));
	}
}

#endif /* VIREO_TESTS_FUZZ_GET_BUF_H */
