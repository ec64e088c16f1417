/* SPDX-License-Identifier: MIT */
/*
 * vhost-user inflight I/O tracking (vhost-user.rst, "Inflight I/O tracking";
 * protocol feature INFLIGHT_SHMFD): the per-queue region a back-end keeps in
 * memory the front-end holds on to, so that a restarted back-end resubmits
 * exactly the requests that were in flight when its predecessor died.
 *
 * The front-end hands the region back (SET_INFLIGHT_FD) and may have changed
 * any byte of it: every field is checked before it is used (D-VU-INFL-*).
 */
#ifndef VIREO_INFLIGHT_H
#define VIREO_INFLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vireo/api.h>
#include <vireo/vring.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The region format this code writes and accepts (0 = not yet initialized). */
#define VINFLIGHT_VERSION 1u
/* Each queue's region starts on this boundary (our choice; only we interpret it). */
#define VINFLIGHT_QUEUE_ALIGN 64u

/* D-VU-INFL-04: one entry per descriptor head, 16 bytes. */
struct vinflight_split_desc {
	uint8_t inflight;
	uint8_t padding[5];
	uint16_t next;
	uint64_t counter;
};

/* D-VU-INFL-04: a 16-byte header, then desc_num entries. */
struct vinflight_split_region {
	uint64_t features;
	uint16_t version;
	uint16_t desc_num;
	uint16_t last_batch_head;
	uint16_t used_idx;
	struct vinflight_split_desc desc[];
};

/* D-VU-INFL-05: one entry per ring slot, 32 bytes. */
struct vinflight_packed_desc {
	uint8_t inflight;
	uint8_t padding;
	uint16_t next;
	uint16_t last;
	uint16_t num;
	uint64_t counter;
	uint16_t id;
	uint16_t flags;
	uint32_t len;
	uint64_t addr;
};

/* D-VU-INFL-05: natural alignment puts desc[] at 32, not 29 (never declare it packed). */
struct vinflight_packed_region {
	uint64_t features;
	uint16_t version;
	uint16_t desc_num;
	uint16_t free_head;
	uint16_t old_free_head;
	uint16_t used_idx;
	uint16_t old_used_idx;
	uint8_t used_wrap_counter;
	uint8_t old_used_wrap_counter;
	uint8_t padding[7];
	struct vinflight_packed_desc desc[];
};

VIREO_STATIC_ASSERT(sizeof(struct vinflight_split_desc) == 16, "DescStateSplit");
VIREO_STATIC_ASSERT(offsetof(struct vinflight_split_desc, next) == 6, "DescStateSplit.next");
VIREO_STATIC_ASSERT(offsetof(struct vinflight_split_region, desc) == 16, "QueueRegionSplit.desc");
VIREO_STATIC_ASSERT(sizeof(struct vinflight_packed_desc) == 32, "DescStatePacked");
VIREO_STATIC_ASSERT(offsetof(struct vinflight_packed_desc, counter) == 8,
		    "DescStatePacked.counter");
VIREO_STATIC_ASSERT(offsetof(struct vinflight_packed_region, used_wrap_counter) == 20,
		    "QueueRegionPacked wrap counters");
VIREO_STATIC_ASSERT(offsetof(struct vinflight_packed_region, desc) == 32, "QueueRegionPacked.desc");

/**
 * struct vinflight - the back-end's view of one queue's region
 * @region: the queue's region in the shared mapping (not owned)
 * @size: bytes of it we may touch
 * @packed: which layout (the negotiated ring format)
 * @num: the ring size the region was checked against (vinflight_recover)
 * @counter: the next submission counter (D-VU-INFL-15)
 * @batch: heads pushed and not yet published (split: linked from last_batch_head)
 * @resubmit: heads (split) or head entries (packed) to hand out again, in
 *	submission order, @resubmit_pos next
 * @entry_of: packed: buffer id -> its head entry in the region
 * @batch_ids: packed: buffer ids pushed and not yet published
 * @descs: packed: room for one chain's descriptors (copy in, resubmit out)
 * @used_idx, @used_wrap: packed: our own copy of the used position we record
 */
struct vinflight {
	void *region;
	size_t size;
	bool packed;
	uint16_t num;
	uint64_t counter;
	uint16_t batch;
	uint16_t *resubmit;
	uint16_t resubmit_len;
	uint16_t resubmit_pos;
	uint16_t *entry_of;
	uint16_t *batch_ids;
	struct pvirtq_desc *descs;
	uint16_t used_idx;
	bool used_wrap;
};

/**
 * vireo_vinflight_queue_size() - bytes of one queue's region for a ring of @num
 * (a multiple of VINFLIGHT_QUEUE_ALIGN; 0 for @num 0)
 */
VIREO_API size_t vireo_vinflight_queue_size(bool packed, uint16_t num);

/**
 * vireo_vinflight_init() - track a ring through @region (@size bytes)
 * Return: 0, or -EINVAL (NULL or misaligned region).
 */
VIREO_API int vireo_vinflight_init(struct vinflight *inf, void *region, size_t size, bool packed);

/** vireo_vinflight_destroy() - free the resubmission list (the region stays) */
VIREO_API void vireo_vinflight_destroy(struct vinflight *inf);

/**
 * vireo_vinflight_split_recover() - at ring start: initialize a fresh region, or
 * repair the last batch (D-VU-INFL-09) and list the in-flight heads in
 * counter order for resubmission
 * @num: the ring's size
 * @ring_used_idx: used->idx as the ring holds it now
 * @last_avail: set to where the avail ring resumes (used idx + heads in flight)
 * Return: 0; -EPROTO (a field the front-end could have forged is out of
 * range: version, desc_num, features, a batch or head index, an inflight
 * flag, a repeated counter); -ENOMEM.
 */
VIREO_API int vireo_vinflight_split_recover(struct vinflight *inf, uint16_t num,
					    uint16_t ring_used_idx, uint16_t *last_avail);

/** vireo_vinflight_split_popped() - D-VU-INFL-07: head @head fetched (before it starts) */
VIREO_API void vireo_vinflight_split_popped(struct vinflight *inf, uint16_t head);

/** vireo_vinflight_split_unpopped() - @head was given back unused: no longer in flight */
VIREO_API void vireo_vinflight_split_unpopped(struct vinflight *inf, uint16_t head);

/** vireo_vinflight_split_pushed() - D-VU-INFL-08 first half: @head joins the batch */
VIREO_API void vireo_vinflight_split_pushed(struct vinflight *inf, uint16_t head);

/**
 * vireo_vinflight_split_published() - D-VU-INFL-08 second half: used->idx now is
 * @used_idx (stored before this call): clear the batch, record @used_idx
 */
VIREO_API void vireo_vinflight_split_published(struct vinflight *inf, uint16_t used_idx);

/**
 * vireo_vinflight_packed_recover() - the packed counterpart of split_recover
 * (D-VU-INFL-06, -12, -13): format a fresh region at *@pos's used position,
 * or commit or roll back the last batch, clear the free list, list the
 * in-flight chains in counter order and set *@pos (used from the region,
 * avail after every in-flight chain's slots).
 * @slot_flags: reads a ring slot's flags (the batch's first used descriptor)
 * Return: 0; -EPROTO (a forged field: header, position, index, flag, chain
 * length, counter); -ENOMEM.
 */
VIREO_API int vireo_vinflight_packed_recover(struct vinflight *inf, uint16_t num,
					     uint16_t (*slot_flags)(const void *ring, uint16_t idx),
					     const void *ring, struct vring_dev_position *pos);

/** vireo_vinflight_packed_popped() - D-VU-INFL-10: buffer @id's @n descriptors @d fetched */
VIREO_API void vireo_vinflight_packed_popped(struct vinflight *inf, uint16_t id,
					     const struct pvirtq_desc *d, uint16_t n);

/** vireo_vinflight_packed_pushed() - buffer @id completed (recorded at the next publish) */
VIREO_API void vireo_vinflight_packed_pushed(struct vinflight *inf, uint16_t id);

/** vireo_vinflight_packed_publishing() - D-VU-INFL-11 before the used flags are stored */
VIREO_API void vireo_vinflight_packed_publishing(struct vinflight *inf);

/** vireo_vinflight_packed_published() - D-VU-INFL-11 after the used flags were stored */
VIREO_API void vireo_vinflight_packed_published(struct vinflight *inf);

/**
 * vireo_vinflight_packed_next_resubmit() - the next chain to resubmit, its
 * descriptors in @inf->descs. Return: their count, 0 when none remain, or
 * -EPROTO (the chain's entries in the region are out of range).
 */
VIREO_API int vireo_vinflight_packed_next_resubmit(struct vinflight *inf);

/** vireo_vinflight_next_resubmit() - Return: true and *@head set while heads remain to resubmit */
VIREO_API bool vireo_vinflight_next_resubmit(struct vinflight *inf, uint16_t *head);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_INFLIGHT_H */
