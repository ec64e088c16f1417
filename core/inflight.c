// SPDX-License-Identifier: MIT
/*
 * vhost-user inflight I/O tracking, the split layout (vhost-user.rst
 * "Inflight I/O tracking"): record a head before its request starts, clear
 * it after its used entry is published, and at ring start repair the last
 * batch and list what was in flight, in submission order.
 *
 * The region is shared with the front-end, which may rewrite it at any
 * time: each field is loaded once into a local, checked, then used; an
 * index read back from the region is bounded before it indexes anything.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/inflight.h>

#include "core/inflight_internal.h"

size_t vireo_vinflight_queue_size(bool packed, uint16_t num)
{
	size_t bytes;

	if (num == 0)
		return 0;
	if (packed)
		bytes = sizeof(struct vinflight_packed_region) +
			(size_t)num * sizeof(struct vinflight_packed_desc);
	else
		bytes = sizeof(struct vinflight_split_region) +
			(size_t)num * sizeof(struct vinflight_split_desc);
	return (bytes + VINFLIGHT_QUEUE_ALIGN - 1) & ~(size_t)(VINFLIGHT_QUEUE_ALIGN - 1);
}

/* Return: 0, or -EINVAL (NULL or misaligned region). */
int vireo_vinflight_init(struct vinflight *inf, void *region, size_t size, bool packed)
{
	memset(inf, 0, sizeof(*inf));
	if (!region || (uintptr_t)region % sizeof(uint64_t) != 0)
		return -EINVAL;
	inf->region = region;
	inf->size = size;
	inf->packed = packed;
	inf->counter = 1;
	return 0;
}

void vireo_vinflight_destroy(struct vinflight *inf)
{
	free(inf->entry_of);
	free(inf->batch_ids);
	free(inf->descs);
	inf->entry_of = NULL;
	inf->batch_ids = NULL;
	inf->descs = NULL;
	free(inf->resubmit);
	inf->resubmit = NULL;
	inf->resubmit_len = 0;
	inf->resubmit_pos = 0;
}

bool vireo_vinflight_next_resubmit(struct vinflight *inf, uint16_t *head)
{
	if (inf->resubmit_pos >= inf->resubmit_len)
		return false;
	*head = inf->resubmit[inf->resubmit_pos++];
	return true;
}

static int vinflight_pair_cmp(const void *a, const void *b)
{
	const struct vinflight_pair *x = a, *y = b;

	return x->counter < y->counter ? -1 : x->counter > y->counter;
}

/*
 * Sort @pairs by counter into the resubmission list; a repeated counter
 * means the region was forged (two requests cannot share one fetch).
 * Return: 0, -EPROTO or -ENOMEM.
 */
int vinflight_order(struct vinflight *inf, struct vinflight_pair *pairs, uint16_t n)
{
	uint16_t i;

	free(inf->resubmit);
	inf->resubmit = NULL;
	inf->resubmit_len = 0;
	inf->resubmit_pos = 0;
	if (n == 0)
		return 0;
	qsort(pairs, n, sizeof(*pairs), vinflight_pair_cmp);
	for (i = 1; i < n; i++)
		if (pairs[i].counter == pairs[i - 1].counter)
			return -EPROTO;
	inf->resubmit = calloc(n, sizeof(*inf->resubmit));
	if (!inf->resubmit)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		inf->resubmit[i] = pairs[i].head;
	inf->resubmit_len = n;
	/* D-VU-INFL-15: new requests sort after the resubmitted ones. */
	if (pairs[n - 1].counter >= inf->counter)
		inf->counter = pairs[n - 1].counter + 1;
	return 0;
}

static struct vinflight_split_region *vinflight_split(const struct vinflight *inf)
{
	return inf->region;
}

/* A fresh region (version 0, D-VU-INFL-06): nothing to recover; the version goes last. */
static void vinflight_split_format(struct vinflight *inf, uint16_t num, uint16_t used_idx)
{
	struct vinflight_split_region *r = vinflight_split(inf);

	memset(r->desc, 0, (size_t)num * sizeof(r->desc[0]));
	VINF_STORE(&r->features, 0);
	VINF_STORE(&r->desc_num, num);
	VINF_STORE(&r->last_batch_head, 0);
	VINF_STORE(&r->used_idx, used_idx);
	__atomic_store_n(&r->version, (uint16_t)VINFLIGHT_VERSION, __ATOMIC_RELEASE);
}

/* Return: 0 or -EPROTO: the header is not ours for a ring of @num. */
static int vinflight_split_check_header(const struct vinflight *inf, uint16_t num)
{
	struct vinflight_split_region *r = vinflight_split(inf);

	if (inf->size < vireo_vinflight_queue_size(false, num))
		return -EPROTO;
	if (VINF_LOAD(&r->version) != VINFLIGHT_VERSION || VINF_LOAD(&r->features) != 0 ||
	    VINF_LOAD(&r->desc_num) != num)
		return -EPROTO;
	return 0;
}

/*
 * D-VU-INFL-09: used->idx got ahead of the region's used_idx, so the process
 * died between publishing a batch and clearing it: clear it now.
 * Return: 0 or -EPROTO (batch larger than the ring, index out of range).
 */
static int vinflight_split_repair(struct vinflight *inf, uint16_t num, uint16_t ring_used_idx)
{
	struct vinflight_split_region *r = vinflight_split(inf);
	uint16_t batch = (uint16_t)(ring_used_idx - VINF_LOAD(&r->used_idx));
	uint16_t head = VINF_LOAD(&r->last_batch_head);

	if (batch > num)
		return -EPROTO;
	for (uint16_t i = 0; i < batch; i++) {
		if (head >= num)
			return -EPROTO;
		VINF_STORE(&r->desc[head].inflight, 0);
		head = VINF_LOAD(&r->desc[head].next);
	}
	VINF_STORE(&r->used_idx, ring_used_idx);
	return 0;
}

/* Return: 0; -EPROTO; -ENOMEM (see the header). */
int vireo_vinflight_split_recover(struct vinflight *inf, uint16_t num, uint16_t ring_used_idx,
				  uint16_t *last_avail)
{
	struct vinflight_split_region *r = vinflight_split(inf);
	struct vinflight_pair *pairs;
	uint16_t n = 0;
	int ret;

	inf->num = num;
	inf->batch = 0;
	vireo_vinflight_destroy(inf);
	if (inf->packed || num == 0 || inf->size < vireo_vinflight_queue_size(false, num))
		return -EPROTO;
	if (VINF_LOAD(&r->version) == 0) {
		vinflight_split_format(inf, num, ring_used_idx);
		return 0;
	}
	ret = vinflight_split_check_header(inf, num);
	if (ret == 0)
		ret = vinflight_split_repair(inf, num, ring_used_idx);
	if (ret < 0)
		return ret;
	pairs = calloc(num, sizeof(*pairs));
	if (!pairs)
		return -ENOMEM;
	for (uint16_t i = 0; i < num; i++) {
		uint8_t flag = VINF_LOAD(&r->desc[i].inflight);

		if (flag > 1) {
			free(pairs);
			return -EPROTO;
		}
		if (flag)
			pairs[n++] = (struct vinflight_pair){VINF_LOAD(&r->desc[i].counter), i};
	}
	ret = vinflight_order(inf, pairs, n);
	free(pairs);
	if (ret < 0)
		return ret;
	/* Fetched = completed + in flight: the avail ring resumes after them all. */
	*last_avail = (uint16_t)(ring_used_idx + n);
	return 0;
}

/* D-VU-INFL-07: counter first, then the flag that makes the entry count. */
void vireo_vinflight_split_popped(struct vinflight *inf, uint16_t head)
{
	struct vinflight_split_region *r = vinflight_split(inf);

	if (head >= inf->num)
		return;
	VINF_STORE(&r->desc[head].counter, inf->counter++);
	VINF_STORE(&r->desc[head].inflight, 1);
}

void vireo_vinflight_split_unpopped(struct vinflight *inf, uint16_t head)
{
	struct vinflight_split_region *r = vinflight_split(inf);

	if (head < inf->num)
		VINF_STORE(&r->desc[head].inflight, 0);
}

/* D-VU-INFL-08: link @head into the batch before used->idx covers it. */
void vireo_vinflight_split_pushed(struct vinflight *inf, uint16_t head)
{
	struct vinflight_split_region *r = vinflight_split(inf);

	if (head >= inf->num)
		return;
	VINF_STORE(&r->desc[head].next, VINF_LOAD(&r->last_batch_head));
	VINF_STORE(&r->last_batch_head, head);
	inf->batch++;
}

/*
 * D-VU-INFL-08: used->idx was raised by the caller; clear the batch, then
 * record the new used idx. The fence keeps the clears after that store (it
 * pairs with the repair reading used->idx in the next process).
 */
void vireo_vinflight_split_published(struct vinflight *inf, uint16_t used_idx)
{
	struct vinflight_split_region *r = vinflight_split(inf);
	uint16_t head = VINF_LOAD(&r->last_batch_head);

	if (inf->batch == 0)
		return;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (uint16_t i = 0; i < inf->batch && head < inf->num; i++) {
		VINF_STORE(&r->desc[head].inflight, 0);
		head = VINF_LOAD(&r->desc[head].next);
	}
	VINF_STORE(&r->used_idx, used_idx);
	inf->batch = 0;
}
