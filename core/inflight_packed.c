// SPDX-License-Identifier: MIT
/*
 * vhost-user inflight I/O tracking, the packed layout (vhost-user.rst
 * "Inflight I/O tracking"): each fetched chain's descriptors are copied into
 * entries taken from a free list (the ring slots themselves are overwritten
 * by used descriptors), and a published batch returns its entries to the
 * list. The old_* fields are the last consistent state to roll back to.
 *
 * One deviation in timing, not in result: a completion's free-list steps
 * (D-VU-INFL-11 steps 3-4 and used_idx) run when its batch is published,
 * not at push, so a chain fetched between a push and its publish never takes
 * an entry a rollback would have to give back. The free list starts as
 * 0 -> 1 -> ... -> num-1 -> num (the end; the document leaves it open).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/inflight.h>

#include "core/inflight_internal.h"

static struct vinflight_packed_region *vinflight_packed(const struct vinflight *inf)
{
	return inf->region;
}

/* Advance a used position by @n slots of a ring of @num. */
static void vinflight_advance(uint16_t num, uint16_t *idx, bool *wrap, uint16_t n)
{
	uint32_t next = (uint32_t)*idx + n;

	if (next >= num) {
		next -= num;
		*wrap = !*wrap;
	}
	*idx = (uint16_t)next;
}

static void vinflight_packed_format(struct vinflight *inf, uint16_t num,
				    const struct vring_dev_position *pos)
{
	struct vinflight_packed_region *r = vinflight_packed(inf);

	memset(r->desc, 0, (size_t)num * sizeof(r->desc[0]));
	for (uint16_t i = 0; i < num; i++)
		VINF_STORE(&r->desc[i].next, (uint16_t)(i + 1u));
	VINF_STORE(&r->features, 0);
	VINF_STORE(&r->desc_num, num);
	VINF_STORE(&r->free_head, 0);
	VINF_STORE(&r->old_free_head, 0);
	VINF_STORE(&r->used_idx, pos->used_idx);
	VINF_STORE(&r->old_used_idx, pos->used_idx);
	VINF_STORE(&r->used_wrap_counter, (uint8_t)pos->used_wrap);
	VINF_STORE(&r->old_used_wrap_counter, (uint8_t)pos->used_wrap);
	__atomic_store_n(&r->version, (uint16_t)VINFLIGHT_VERSION, __ATOMIC_RELEASE);
}

/* The private arrays; Return: 0 or -ENOMEM. */
static int vinflight_packed_alloc(struct vinflight *inf, uint16_t num)
{
	inf->entry_of = calloc(num, sizeof(*inf->entry_of));
	inf->batch_ids = calloc(num, sizeof(*inf->batch_ids));
	inf->descs = calloc(num, sizeof(*inf->descs));
	return inf->entry_of && inf->batch_ids && inf->descs ? 0 : -ENOMEM;
}

/*
 * D-VU-INFL-12/-13: commit the last batch if its first used descriptor
 * reached the ring, then roll back to the old_* state.
 * Return: 0 or -EPROTO (header or position fields out of range).
 */
static int vinflight_packed_settle(struct vinflight *inf, uint16_t num,
				   uint16_t (*slot_flags)(const void *ring, uint16_t idx),
				   const void *ring)
{
	struct vinflight_packed_region *r = vinflight_packed(inf);
	uint16_t used = VINF_LOAD(&r->used_idx), old_used = VINF_LOAD(&r->old_used_idx);
	uint16_t free_head = VINF_LOAD(&r->free_head), old_free = VINF_LOAD(&r->old_free_head);
	uint8_t wrap = VINF_LOAD(&r->used_wrap_counter);
	uint8_t old_wrap = VINF_LOAD(&r->old_used_wrap_counter);

	if (VINF_LOAD(&r->version) != VINFLIGHT_VERSION || VINF_LOAD(&r->features) != 0 ||
	    VINF_LOAD(&r->desc_num) != num || used >= num || old_used >= num || wrap > 1 ||
	    old_wrap > 1 || free_head > num || old_free > num)
		return -EPROTO;
	if (used != old_used) {
		uint16_t avail = old_wrap ? VIRTQ_DESC_F_AVAIL : VIRTQ_DESC_F_USED;
		uint16_t flags = slot_flags(ring, old_used);

		/* The used flags changed: the batch reached the driver, so it "has to commit". */
		if ((flags & (VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED)) != avail) {
			old_free = free_head;
			old_used = used;
			old_wrap = wrap;
		}
	}
	VINF_STORE(&r->free_head, old_free);
	VINF_STORE(&r->old_free_head, old_free);
	VINF_STORE(&r->used_idx, old_used);
	VINF_STORE(&r->old_used_idx, old_used);
	VINF_STORE(&r->used_wrap_counter, old_wrap);
	VINF_STORE(&r->old_used_wrap_counter, old_wrap);
	inf->used_idx = old_used;
	inf->used_wrap = old_wrap;
	/* D-VU-INFL-13: whatever is on the free list is not in flight. */
	for (uint16_t i = 0, e = old_free; i < num && e < num; i++) {
		VINF_STORE(&r->desc[e].inflight, 0);
		e = VINF_LOAD(&r->desc[e].next);
	}
	return 0;
}

/*
 * List the in-flight head entries; *@slots = their chains' descriptors.
 * Return: the count (into @pairs), or -EPROTO (flag, chain length, total).
 */
static int vinflight_packed_collect(struct vinflight *inf, uint16_t num,
				    struct vinflight_pair *pairs, uint32_t *slots)
{
	struct vinflight_packed_region *r = vinflight_packed(inf);
	int n = 0;

	*slots = 0;
	for (uint16_t i = 0; i < num; i++) {
		uint8_t flag = VINF_LOAD(&r->desc[i].inflight);
		uint16_t len = VINF_LOAD(&r->desc[i].num);

		if (flag > 1)
			return -EPROTO;
		if (!flag)
			continue;
		*slots += len;
		if (len == 0 || len > num || *slots > num)
			return -EPROTO;
		pairs[n++] = (struct vinflight_pair){VINF_LOAD(&r->desc[i].counter), i};
	}
	return n;
}

/* Return: 0; -EPROTO; -ENOMEM (see the header). */
int vireo_vinflight_packed_recover(struct vinflight *inf, uint16_t num,
				   uint16_t (*slot_flags)(const void *ring, uint16_t idx),
				   const void *ring, struct vring_dev_position *pos)
{
	struct vinflight_packed_region *r = vinflight_packed(inf);
	struct vinflight_pair *pairs;
	uint32_t slots;
	int n, ret;

	inf->num = num;
	inf->batch = 0;
	vireo_vinflight_destroy(inf);
	if (!inf->packed || num == 0 || inf->size < vireo_vinflight_queue_size(true, num))
		return -EPROTO;
	ret = vinflight_packed_alloc(inf, num);
	if (ret < 0)
		return ret;
	if (VINF_LOAD(&r->version) == 0) {
		vinflight_packed_format(inf, num, pos);
		inf->used_idx = pos->used_idx;
		inf->used_wrap = pos->used_wrap;
		return 0;
	}
	ret = vinflight_packed_settle(inf, num, slot_flags, ring);
	if (ret < 0)
		return ret;
	pairs = calloc(num, sizeof(*pairs));
	if (!pairs)
		return -ENOMEM;
	n = vinflight_packed_collect(inf, num, pairs, &slots);
	ret = n < 0 ? n : vinflight_order(inf, pairs, (uint16_t)n);
	free(pairs);
	if (ret < 0)
		return ret;
	/* Fetched = used + in flight, in slots: the avail position follows them all. */
	pos->used_idx = inf->used_idx;
	pos->used_wrap = inf->used_wrap;
	pos->avail_idx = inf->used_idx;
	pos->avail_wrap = inf->used_wrap;
	vinflight_advance(num, &pos->avail_idx, &pos->avail_wrap, (uint16_t)slots);
	return 0;
}

/* D-VU-INFL-10, per descriptor, in the document's order. */
void vireo_vinflight_packed_popped(struct vinflight *inf, uint16_t id, const struct pvirtq_desc *d,
				   uint16_t n)
{
	struct vinflight_packed_region *r = vinflight_packed(inf);
	uint16_t head = VINF_LOAD(&r->old_free_head);

	if (id >= inf->num || head >= inf->num)
		return;
	inf->entry_of[id] = head;
	for (uint16_t i = 0; i < n; i++) {
		uint16_t f = VINF_LOAD(&r->free_head);

		if (f >= inf->num)
			return;
		if (i == 0) {
			VINF_STORE(&r->desc[head].num, 0);
			VINF_STORE(&r->desc[head].counter, inf->counter++);
			VINF_STORE(&r->desc[head].inflight, 1);
		}
		if (i + 1u == n)
			VINF_STORE(&r->desc[head].last, f);
		VINF_STORE(&r->desc[head].num, (uint16_t)(VINF_LOAD(&r->desc[head].num) + 1u));
		VINF_STORE(&r->desc[f].addr, d[i].addr);
		VINF_STORE(&r->desc[f].len, d[i].len);
		VINF_STORE(&r->desc[f].flags, d[i].flags);
		VINF_STORE(&r->desc[f].id, d[i].id);
		VINF_STORE(&r->free_head, VINF_LOAD(&r->desc[f].next));
		if (i + 1u == n)
			VINF_STORE(&r->old_free_head, VINF_LOAD(&r->free_head));
	}
}

void vireo_vinflight_packed_pushed(struct vinflight *inf, uint16_t id)
{
	if (id < inf->num && inf->batch < inf->num)
		inf->batch_ids[inf->batch++] = id;
}

/* D-VU-INFL-11 steps 3-4 for the batch, then used_idx: all before the flags store. */
void vireo_vinflight_packed_publishing(struct vinflight *inf)
{
	struct vinflight_packed_region *r = vinflight_packed(inf);

	for (uint16_t i = 0; i < inf->batch; i++) {
		uint16_t e = inf->entry_of[inf->batch_ids[i]];
		uint16_t last = VINF_LOAD(&r->desc[e].last);
		uint16_t slots = VINF_LOAD(&r->desc[e].num);

		if (last >= inf->num || slots > inf->num)
			continue;
		VINF_STORE(&r->desc[last].next, VINF_LOAD(&r->free_head));
		VINF_STORE(&r->free_head, e);
		vinflight_advance(inf->num, &inf->used_idx, &inf->used_wrap, slots);
	}
	VINF_STORE(&r->used_idx, inf->used_idx);
	VINF_STORE(&r->used_wrap_counter, (uint8_t)inf->used_wrap);
	/* Pairs with the ring's release store of the batch's flags: the above lands first. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

/*
 * D-VU-INFL-11 last steps, after the flags store (the fence keeps these
 * after it; recovery reads those flags in the next process).
 */
void vireo_vinflight_packed_published(struct vinflight *inf)
{
	struct vinflight_packed_region *r = vinflight_packed(inf);

	if (inf->batch == 0)
		return;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (uint16_t i = 0; i < inf->batch; i++)
		VINF_STORE(&r->desc[inf->entry_of[inf->batch_ids[i]]].inflight, 0);
	VINF_STORE(&r->old_free_head, VINF_LOAD(&r->free_head));
	VINF_STORE(&r->old_used_idx, inf->used_idx);
	VINF_STORE(&r->old_used_wrap_counter, (uint8_t)inf->used_wrap);
	inf->batch = 0;
}

/* Return: descriptors in inf->descs, 0 when done, -EPROTO (see the header). */
int vireo_vinflight_packed_next_resubmit(struct vinflight *inf)
{
	struct vinflight_packed_region *r = vinflight_packed(inf);
	uint16_t e, n;

	if (inf->resubmit_pos >= inf->resubmit_len)
		return 0;
	e = inf->resubmit[inf->resubmit_pos++];
	n = VINF_LOAD(&r->desc[e].num);
	if (n == 0 || n > inf->num)
		return -EPROTO;
	for (uint16_t i = 0, f = e; i < n; i++) {
		if (f >= inf->num)
			return -EPROTO;
		inf->descs[i] = (struct pvirtq_desc){
			.addr = VINF_LOAD(&r->desc[f].addr),
			.len = VINF_LOAD(&r->desc[f].len),
			.id = VINF_LOAD(&r->desc[f].id),
			.flags = VINF_LOAD(&r->desc[f].flags),
		};
		f = VINF_LOAD(&r->desc[f].next);
	}
	/* §2.8.6: the id is in the last descriptor; the ring checks it again (in flight?). */
	if (inf->descs[n - 1].id >= inf->num)
		return -EPROTO;
	/* The entries stay in flight; their buffer id finds them again at its push. */
	inf->entry_of[inf->descs[n - 1].id] = e;
	return n;
}
