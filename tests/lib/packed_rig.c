// SPDX-License-Identifier: MIT
/* A packed ring's driver side against a scripted device: see packed_rig.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "tests/lib/packed_rig.h"

struct packed_rig *packed_rig_new(uint16_t num, bool event_idx, bool indirect, bool in_order)
{
	struct packed_rig *t = calloc(1, sizeof(*t));
	struct vring_packed_drv_config c;

	assert_non_null(t);
	t->num = num;
	t->desc = aligned_alloc(64, 16u * PACKED_RIG_MAX_NUM);
	t->drv_ev = aligned_alloc(64, 64);
	t->dev_ev = aligned_alloc(64, 64);
	t->pool = aligned_alloc(64, sizeof(struct pvirtq_desc) * PACKED_RIG_MAX_NUM *
					    PACKED_RIG_INDIRECT_MAX);
	assert_non_null(t->desc);
	assert_non_null(t->pool);
	memset(t->desc, 0, 16u * PACKED_RIG_MAX_NUM);
	memset(t->drv_ev, 0xee, 64); /* init must set what the device reads */
	memset(t->dev_ev, 0, 64);
	c = (struct vring_packed_drv_config){
		.num = num,
		.desc = t->desc,
		.driver_event = t->drv_ev,
		.device_event = t->dev_ev,
		.extra = t->extra,
		.indirect_pool = indirect ? t->pool : NULL,
		.indirect_pool_addr = (uint64_t)(uintptr_t)t->pool,
		.indirect_max = indirect ? PACKED_RIG_INDIRECT_MAX : 0,
		.event_idx = event_idx,
		.in_order = in_order,
	};
	assert_int_equal(virtqueue_packed_init(&t->vq, &c), 0);
	t->dev.avail_wrap = true;
	t->dev.used_wrap = true;
	return t;
}

void packed_rig_free(struct packed_rig *t)
{
	free(t->desc);
	free(t->drv_ev);
	free(t->dev_ev);
	free(t->pool);
	free(t);
}

static uint16_t packed_rig_advance(const struct packed_rig *t, uint16_t pos, uint16_t n, bool *wrap)
{
	uint32_t next = (uint32_t)pos + n;

	if (next >= t->num) {
		next -= t->num;
		*wrap = !*wrap;
	}
	return (uint16_t)next;
}

bool packed_rig_is_avail(uint16_t flags, bool wrap)
{
	bool a = flags & VIRTQ_DESC_F_AVAIL, u = flags & VIRTQ_DESC_F_USED;

	return a == wrap && u != wrap;
}

/* Device: take the next available buffer, if any (§2.8.6: the list, ID in the last). */
bool packed_rig_device_pop(struct packed_rig *t, struct packed_rig_buf *b)
{
	struct packed_rig_device *d = &t->dev;
	uint16_t pos = d->next_avail, flags;
	bool wrap = d->avail_wrap;

	memset(b, 0, sizeof(*b));
	if (!packed_rig_is_avail(t->desc[pos].flags, wrap))
		return false;
	do {
		const struct pvirtq_desc *x = &t->desc[pos];

		flags = x->flags;
		assert_true(packed_rig_is_avail(flags, wrap));
		b->descs++;
		if (flags & VIRTQ_DESC_F_INDIRECT) {
			const struct pvirtq_desc *tab = (const void *)(uintptr_t)x->addr;

			assert_int_equal(x->len % 16, 0);
			b->indirect = true;
			for (uint32_t k = 0; k < x->len / 16; k++) {
				/* §2.8.8 (R-PR-07): only WRITE in an indirect table */
				assert_int_equal(tab[k].flags & ~VIRTQ_DESC_F_WRITE, 0);
				if (tab[k].flags & VIRTQ_DESC_F_WRITE)
					b->writable += tab[k].len;
				b->elems++;
			}
		} else {
			if (flags & VIRTQ_DESC_F_WRITE)
				b->writable += x->len;
			b->elems++;
		}
		b->id = x->id;
		pos = packed_rig_advance(t, pos, 1, &wrap);
	} while (flags & VIRTQ_DESC_F_NEXT);
	d->next_avail = pos;
	d->avail_wrap = wrap;
	d->chain_len[b->id] = b->descs;
	return true;
}

/* Device: write a used descriptor (raw @flags) at next_used and skip @skip descriptors. */
void packed_rig_device_push_raw(struct packed_rig *t, uint16_t id, uint32_t len, uint16_t flags,
				uint16_t skip)
{
	struct pvirtq_desc *x = &t->desc[t->dev.next_used];

	x->id = id;
	x->len = len;
	__atomic_store_n(&x->flags, flags, __ATOMIC_RELEASE);
	t->dev.next_used = packed_rig_advance(t, t->dev.next_used, skip, &t->dev.used_wrap);
}

uint16_t packed_rig_used_flags(const struct packed_rig *t, uint32_t len)
{
	uint16_t f = t->dev.used_wrap ? (VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED) : 0;

	return (uint16_t)(f | (len ? VIRTQ_DESC_F_WRITE : 0));
}

/* Device: an honest used descriptor for buffer @id. */
void packed_rig_device_push(struct packed_rig *t, uint16_t id, uint32_t len)
{
	packed_rig_device_push_raw(t, id, len, packed_rig_used_flags(t, len), t->dev.chain_len[id]);
}

int packed_rig_add_in(struct packed_rig *t, unsigned int i, void *token)
{
	struct virtio_sg sg = {.addr = (uint64_t)(uintptr_t)t->bufs[i % PACKED_RIG_MAX_NUM],
			       .len = PACKED_RIG_BUF};

	return virtqueue_add_inbuf(&t->vq, &sg, 1, token);
}
