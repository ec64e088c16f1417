// SPDX-License-Identifier: MIT
/*
 * The driver side of a packed virtqueue (virtio 1.2 §2.8, packed-ring.tex):
 * one descriptor ring both sides write, an avail and a used wrap counter,
 * buffer IDs from a free list in the caller's struct vring_desc_extra array
 * (indexed by ID), and the two event suppression structures.
 *
 * Fast-path choice, as for split: the buffers added since the last
 * kick_prepare or publish are published by one release store, of the first
 * one's head flags; every later descriptor of the batch is complete before it.
 *
 * The device is not trusted: a used descriptor's flags must match the used
 * wrap counter, its ID must be in range and in flight, its length within
 * what was posted writable; anything else breaks the queue (sticky -EIO).
 */
#include <errno.h>

#include <vireo/virtqueue.h>

#include "ring/driver.h"
#include "ring/platform.h"

#define PACKED_WRAP_BIT (1u << PVIRTQ_EVENT_WRAP_SHIFT)
#define PACKED_OFF_MASK (PACKED_WRAP_BIT - 1u)
#define PACKED_AVAIL_USED (VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED)
#define PACKED_EVENT_FLAGS_MASK 0x3u

static const struct virtqueue_ops packed_ops;

/* §2.8.1: available = AVAIL matches the wrap counter, USED its inverse. */
static inline uint16_t packed_avail_bits(bool wrap)
{
	return wrap ? VIRTQ_DESC_F_AVAIL : VIRTQ_DESC_F_USED;
}

/* §2.8.1: used = AVAIL and USED both equal to the wrap counter. */
static inline uint16_t packed_used_bits(bool wrap)
{
	return wrap ? PACKED_AVAIL_USED : 0;
}

static void packed_set_broken(struct virtqueue *vq)
{
	vq->broken = true;
}

/* Descriptors the device can see and has not given back. */
static inline uint16_t packed_published_in_flight(const struct vring_packed_drv *p)
{
	return (uint16_t)(p->num - p->num_free - p->num_pending);
}

static bool packed_config_ok(const struct vring_packed_drv_config *cfg)
{
	if (cfg->num == 0 || cfg->num > VIRTQ_PACKED_MAX_SIZE)
		return false;
	if (!cfg->desc || !cfg->driver_event || !cfg->device_event || !cfg->extra)
		return false;
	/* §2.8.10.1 (R-PR-01): descriptor ring 16, event suppression areas 4 bytes aligned */
	if ((uintptr_t)cfg->desc % PVIRTQ_DESC_ALIGN ||
	    (uintptr_t)cfg->driver_event % PVIRTQ_EVENT_ALIGN ||
	    (uintptr_t)cfg->device_event % PVIRTQ_EVENT_ALIGN)
		return false;
	if (cfg->indirect_max &&
	    (!cfg->indirect_pool || (uintptr_t)cfg->indirect_pool % PVIRTQ_DESC_ALIGN ||
	     cfg->indirect_pool_addr % PVIRTQ_DESC_ALIGN))
		return false;
	return true;
}

/*
 * virtqueue_packed_init() - see <vireo/virtqueue.h>.
 * Fails with -EINVAL on a bad size, a missing or misaligned pointer.
 */
int virtqueue_packed_init(struct virtqueue *vq, const struct vring_packed_drv_config *cfg)
{
	struct vring_packed_drv *p;

	if (!vq || !cfg || !packed_config_ok(cfg))
		return -EINVAL;
	p = &vq->packed;
	p->desc = cfg->desc;
	p->driver_event = cfg->driver_event;
	p->device_event = cfg->device_event;
	p->extra = cfg->extra;
	p->indirect_pool = cfg->indirect_max ? cfg->indirect_pool : NULL;
	p->indirect_pool_addr = cfg->indirect_pool_addr;
	p->indirect_max = cfg->indirect_max;
	p->num = cfg->num;
	p->num_free = cfg->num;
	p->free_id = 0;
	p->next_avail = 0;
	p->next_used = 0;
	p->pending_head = 0;
	p->pending_flags = 0;
	p->num_pending = 0;
	p->num_added = 0;
	p->batch_last = 0;
	p->batch_len = 0;
	p->in_batch = false;
	/* §2.8.1: both wrap counters start at 1 */
	p->avail_wrap = true;
	p->used_wrap = true;
	p->event_idx = cfg->event_idx;
	p->in_order = cfg->in_order;
	for (uint32_t i = 0; i < cfg->num; i++) {
		p->extra[i].token = NULL;
		p->extra[i].writable_bytes = 0;
		p->extra[i].chain_len = 0;
		p->extra[i].next = (uint16_t)(i + 1);
	}
	p->event_flags_shadow = RING_EVENT_FLAGS_ENABLE;
	vring_write_once16(&p->driver_event->off_wrap, 0);
	vring_write_once16(&p->driver_event->flags, RING_EVENT_FLAGS_ENABLE);
	vq->broken = false;
	vq->ops = &packed_ops;
	return 0;
}

/* Step a ring position, toggling @wrap after the last descriptor (§2.8.1). */
static inline uint16_t packed_advance(const struct vring_packed_drv *p, uint16_t pos,
				      uint16_t count, bool *wrap)
{
	uint32_t next = (uint32_t)pos + count;

	if (next >= p->num) {
		next -= p->num;
		*wrap = !*wrap;
	}
	return (uint16_t)next;
}

/* Write a descriptor's body; its flags are stored separately (they expose it). */
static inline void packed_desc_fill(struct pvirtq_desc *d, uint64_t addr, uint32_t len, uint16_t id)
{
	d->addr = cpu_to_le64(addr);
	d->len = cpu_to_le32(len);
	d->id = cpu_to_le16(id);
}

/*
 * One ring descriptor pointing at the table in the indirect pool slot @id.
 * §2.8.8 (R-PR-07): only WRITE inside the table. Return: the head's flags.
 */
static uint16_t packed_add_indirect(struct vring_packed_drv *p, const struct virtio_sg *sg,
				    unsigned int out_num, unsigned int total, uint16_t id)
{
	struct pvirtq_desc *t = p->indirect_pool + (size_t)id * p->indirect_max;
	uint16_t head = p->next_avail;
	uint16_t flags = (uint16_t)(VIRTQ_DESC_F_INDIRECT | packed_avail_bits(p->avail_wrap));

	for (unsigned int k = 0; k < total; k++) {
		packed_desc_fill(&t[k], sg[k].addr, sg[k].len, 0);
		t[k].flags = cpu_to_le16(k >= out_num ? VIRTQ_DESC_F_WRITE : 0);
	}
	packed_desc_fill(&p->desc[head],
			 p->indirect_pool_addr +
				 (uint64_t)id * p->indirect_max * sizeof(struct pvirtq_desc),
			 (uint32_t)(total * sizeof(struct pvirtq_desc)), id);
	p->next_avail = packed_advance(p, head, 1, &p->avail_wrap);
	return flags;
}

/*
 * A NEXT chain in the ring (§2.8.6). Every descriptor but the head gets its
 * flags now; the head's are returned, to be stored last (R-PR-06).
 */
static uint16_t packed_add_direct(struct vring_packed_drv *p, const struct virtio_sg *sg,
				  unsigned int out_num, unsigned int total, uint16_t id)
{
	uint16_t pos = p->next_avail;
	uint16_t head_flags = 0;

	for (unsigned int k = 0; k < total; k++) {
		/* §2.8.6: AVAIL/USED/WRITE correct in every descriptor of the list */
		uint16_t flags = packed_avail_bits(p->avail_wrap);

		if (k + 1 < total)
			flags |= VIRTQ_DESC_F_NEXT;
		/* §2.8.14 (R-PR-05): writable elements after all readable ones */
		if (k >= out_num)
			flags |= VIRTQ_DESC_F_WRITE;
		packed_desc_fill(&p->desc[pos], sg[k].addr, sg[k].len, id);
		if (k == 0)
			head_flags = flags;
		else
			vring_write_once16(&p->desc[pos].flags, flags);
		pos = packed_advance(p, pos, 1, &p->avail_wrap);
	}
	p->next_avail = pos;
	return head_flags;
}

/*
 * Expose the head at @head: the first of a batch waits for publish or
 * kick_prepare; later ones are stored now, invisible until the first one is.
 */
static void packed_post_head(struct vring_packed_drv *p, uint16_t head, uint16_t flags,
			     uint16_t descs)
{
	uint32_t added = (uint32_t)p->num_added + descs;

	if (p->num_pending == 0) {
		p->pending_head = head;
		p->pending_flags = flags;
	} else {
		vring_write_once16(&p->desc[head].flags, flags);
	}
	p->num_pending = (uint16_t)(p->num_pending + descs);
	/* Saturates: publish-only rounds may add more than ring positions can compare. */
	p->num_added = added > UINT16_MAX ? UINT16_MAX : (uint16_t)added;
	p->num_free = (uint16_t)(p->num_free - descs);
}

/*
 * packed_add_sgs() - virtqueue_add_sgs() for the packed format.
 * Fails with -EIO (broken), -EINVAL (empty list, NULL token, chain longer
 * than the queue or over 4 GiB) or -ENOSPC (not enough free descriptors).
 */
static int packed_add_sgs(struct virtqueue *vq, const struct virtio_sg *sg, unsigned int out_num,
			  unsigned int in_num, void *token)
{
	struct vring_packed_drv *p = &vq->packed;
	unsigned int total = out_num + in_num;
	uint16_t head = p->next_avail, descs, id, flags;
	uint32_t writable;
	bool indirect;

	if (VRING_UNLIKELY(vq->broken))
		return -EIO;
	if (!token || !sg || total == 0 || out_num > UINT16_MAX || in_num > UINT16_MAX)
		return -EINVAL;
	if (vring_drv_count_bytes(sg, out_num, total, &writable))
		return -EINVAL;
	indirect = p->indirect_max && total > 1 && total <= p->indirect_max;
	/* §2.8.14 (R-PR-04): no list longer than the queue size */
	if (!indirect && total > p->num)
		return -EINVAL;
	descs = indirect ? 1 : (uint16_t)total;
	/* §2.8.14 (R-PR-05): room for the whole list before exposing any of it */
	if (descs > p->num_free)
		return -ENOSPC;
	/* IN_ORDER: the ID is the head's position, so the used order is checkable. */
	id = p->in_order ? head : p->free_id;
	if (indirect)
		flags = packed_add_indirect(p, sg, out_num, total, id);
	else
		flags = packed_add_direct(p, sg, out_num, total, id);
	if (!p->in_order)
		p->free_id = p->extra[id].next;
	p->extra[id].token = token;
	p->extra[id].writable_bytes = writable;
	p->extra[id].chain_len = descs;
	packed_post_head(p, head, flags, descs);
	return 0;
}

/* With EVENT_IDX: did this publish cross the descriptor the device asked for (§2.8.10)? */
static bool packed_device_wants(const struct vring_packed_drv *p, uint16_t off_wrap,
				uint16_t old_pos, uint16_t new_pos)
{
	uint16_t event = (uint16_t)(off_wrap & PACKED_OFF_MASK);

	/* An event in the previous lap sits one ring length below this lap's positions. */
	if ((bool)(off_wrap >> PVIRTQ_EVENT_WRAP_SHIFT) != p->avail_wrap)
		event = (uint16_t)(event - p->num);
	return virtq_need_event(event, new_pos, old_pos);
}

/* Store the pending batch's first head flags; the next add opens a new batch. */
static inline void packed_publish_pending(struct vring_packed_drv *p)
{
	/*
	 * §2.8.21.1 (R-PR-08): the whole batch before the first head's flags.
	 * Pairs with the acquire load of the descriptor flags in the device's pop.
	 */
	vring_store_release16(&p->desc[p->pending_head].flags, p->pending_flags);
	p->num_pending = 0;
}

/*
 * packed_publish() - virtqueue_publish() for the packed format: one release
 * store, no fence, no read of anything the device writes.
 */
static void packed_publish(struct virtqueue *vq)
{
	struct vring_packed_drv *p = &vq->packed;

	if (vq->broken || p->num_pending == 0)
		return;
	packed_publish_pending(p);
}

static bool packed_kick_prepare(struct virtqueue *vq)
{
	struct vring_packed_drv *p = &vq->packed;
	uint16_t new_pos = p->next_avail;
	uint16_t added = p->num_added;
	uint16_t flags;

	if (vq->broken || added == 0)
		return false;
	p->num_added = 0;
	if (p->num_pending)
		packed_publish_pending(p);
	/*
	 * §2.8.21.2 (R-PR-09): the flags must be visible before we read the
	 * device's event suppression. Pairs with the device's fence between
	 * enabling notifications and re-checking for descriptors.
	 */
	vring_mb();
	flags = vring_read_once16(&p->device_event->flags) & PACKED_EVENT_FLAGS_MASK;
	if (flags == RING_EVENT_FLAGS_DISABLE)
		return false;
	/* DESC counts only with EVENT_IDX (§2.8.10); the reserved value 3 kicks. */
	if (flags != RING_EVENT_FLAGS_DESC || !p->event_idx)
		return true;
	/*
	 * More than a ring's worth since the last decision (publish-only rounds):
	 * positions within two laps no longer say whether the event descriptor was
	 * made available. Kick, as the flags-only mode would: §2.8.10's events
	 * only advise, and a notification is always allowed (§2.7.10: "The
	 * device MUST handle spurious notifications from the driver").
	 */
	if (added > p->num)
		return true;
	return packed_device_wants(p, vring_read_once16(&p->device_event->off_wrap),
				   (uint16_t)(new_pos - added), new_pos);
}

/*
 * Look at the descriptor at next_used. Return: 1 if the device used it
 * (flags read with acquire, so its id and len are readable), 0 if not yet,
 * -EPROTO if its flags fit neither state §2.8.1 allows there.
 */
static int packed_peek_used(const struct vring_packed_drv *p, uint16_t *flags_out)
{
	/* Pairs with the device's release store of the used descriptor's flags. */
	uint16_t flags = vring_load_acquire16(&p->desc[p->next_used].flags);
	uint16_t bits = flags & PACKED_AVAIL_USED;

	*flags_out = flags;
	if (bits == packed_used_bits(p->used_wrap))
		/* A used descriptor with nothing of ours exposed: the device made it up. */
		return packed_published_in_flight(p) ? 1 : -EPROTO;
	/*
	 * While descriptors are exposed, the one at next_used is ours, still
	 * available (posted in the lap of used_wrap), or the device's used one.
	 */
	if (packed_published_in_flight(p) && bits != packed_avail_bits(p->used_wrap))
		return -EPROTO;
	return 0;
}

/* Give buffer @id's descriptors back and move next_used past them. */
static void packed_release(struct vring_packed_drv *p, uint16_t id)
{
	struct vring_desc_extra *x = &p->extra[id];

	p->next_used = packed_advance(p, p->next_used, x->chain_len, &p->used_wrap);
	p->num_free = (uint16_t)(p->num_free + x->chain_len);
	x->token = NULL;
	if (!p->in_order) {
		x->next = p->free_id;
		p->free_id = id;
	}
}

/*
 * Nothing used yet: with EVENT_IDX and callbacks on, move off_wrap to where
 * we are, then look once more (the device may have used the descriptor just
 * before it saw the new off_wrap). Return: as packed_peek_used().
 */
static int packed_used_refill(struct vring_packed_drv *p, uint16_t *flags)
{
	uint16_t off_wrap = (uint16_t)(p->next_used | (p->used_wrap ? PACKED_WRAP_BIT : 0u));

	if (p->event_flags_shadow != RING_EVENT_FLAGS_DESC ||
	    vring_read_once16(&p->driver_event->off_wrap) == off_wrap)
		return 0;
	vring_write_once16(&p->driver_event->off_wrap, off_wrap);
	/* Pairs with the device's fence before it reads the driver event suppression. */
	vring_mb();
	return packed_peek_used(p, flags);
}

/*
 * Read the used descriptor at next_used and check it. Return: 1 and *@id,
 * *@len filled; 0 if none is ready; -EPROTO if the device broke the rules.
 */
static int packed_read_used(struct vring_packed_drv *p, uint16_t *id, uint32_t *len)
{
	const struct pvirtq_desc *d = &p->desc[p->next_used];
	uint16_t flags;
	int r = packed_peek_used(p, &flags);

	if (r == 0)
		r = packed_used_refill(p, &flags);
	if (r <= 0)
		return r;
	/* Read each field once: the device may rewrite the descriptor under us. */
	*id = vring_read_once16(&d->id);
	*len = vring_read_once32(&d->len);
	/* §2.8.3: used ID must be one we posted and that is still in flight */
	if (*id >= p->num || !p->extra[*id].token)
		return -EPROTO;
	/*
	 * §2.8.5: len is reserved without WRITE. QEMU's devices (hw/virtio/virtio.c, packed
	 * fill) never set WRITE in a used descriptor yet put the written length there, as Linux
	 * reads it: without WRITE a len within the writable bytes posted is taken, a larger
	 * one ignored (0). With WRITE it must never exceed them.
	 */
	if (*len > p->extra[*id].writable_bytes) {
		if (flags & VIRTQ_DESC_F_WRITE)
			return -EPROTO;
		*len = 0;
	}
	return 1;
}

/*
 * IN_ORDER (§2.8.9): the used ID names the last buffer of a batch that
 * starts at next_used. Walk the buffers in flight, in ring order, to it.
 * Return: true if @id heads one of them; false means out of order.
 */
static bool packed_in_order_find(const struct vring_packed_drv *p, uint16_t id)
{
	uint16_t pos = p->next_used;
	uint32_t walked = 0, exposed = packed_published_in_flight(p);
	bool wrap = p->used_wrap;

	while (walked < exposed) {
		const struct vring_desc_extra *x = &p->extra[pos];

		if (!x->token)
			return false;
		if (pos == id)
			return true;
		walked += x->chain_len;
		pos = packed_advance(p, pos, x->chain_len, &wrap);
	}
	return false;
}

static void *packed_get_buf_in_order(struct virtqueue *vq, uint32_t *len)
{
	struct vring_packed_drv *p = &vq->packed;
	uint16_t id = p->next_used;
	void *token;
	uint32_t used_len;

	if (!p->in_batch) {
		uint16_t last;
		int r = packed_read_used(p, &last, &used_len);

		if (r == 0)
			return NULL;
		/* IN_ORDER promises ring order: a used ID behind or outside the batch breaks it. */
		if (VRING_UNLIKELY(r < 0 || !packed_in_order_find(p, last))) {
			packed_set_broken(vq);
			return NULL;
		}
		p->batch_last = last;
		p->batch_len = used_len;
		p->in_batch = true;
	}
	token = p->extra[id].token;
	/* §2.8.9: the skipped buffers count as used completely */
	used_len = p->extra[id].writable_bytes;
	if (id == p->batch_last) {
		used_len = p->batch_len;
		p->in_batch = false;
	}
	packed_release(p, id);
	if (len)
		*len = used_len;
	return token;
}

static void *packed_get_buf(struct virtqueue *vq, uint32_t *len)
{
	struct vring_packed_drv *p = &vq->packed;
	uint32_t used_len;
	uint16_t id;
	void *token;
	int r;

	if (VRING_UNLIKELY(vq->broken))
		return NULL;
	if (p->in_order)
		return packed_get_buf_in_order(vq, len);
	r = packed_read_used(p, &id, &used_len);
	if (r <= 0) {
		if (VRING_UNLIKELY(r < 0))
			packed_set_broken(vq);
		return NULL;
	}
	token = p->extra[id].token;
	/* §2.8.6: the device skips the whole list; so do we, by the ID's length */
	packed_release(p, id);
	if (len)
		*len = used_len;
	return token;
}

static bool packed_more_used(const struct virtqueue *vq)
{
	const struct vring_packed_drv *p = &vq->packed;
	uint16_t flags;

	if (vq->broken)
		return false;
	if (p->in_batch)
		return true;
	/* A malformed descriptor counts as more: get_buf will break the queue on it. */
	return packed_peek_used(p, &flags) != 0;
}

static void packed_disable_cb(struct virtqueue *vq)
{
	struct vring_packed_drv *p = &vq->packed;

	if (p->event_flags_shadow == RING_EVENT_FLAGS_DISABLE)
		return;
	p->event_flags_shadow = RING_EVENT_FLAGS_DISABLE;
	vring_write_once16(&p->driver_event->flags, RING_EVENT_FLAGS_DISABLE);
}

/*
 * Ask for a signal: ENABLE, or with EVENT_IDX DESC at ring position @off
 * of lap @wrap. Return: true if nothing used is pending yet.
 */
static bool packed_arm_cb(struct virtqueue *vq, uint16_t off, bool wrap)
{
	struct vring_packed_drv *p = &vq->packed;
	uint16_t flags = p->event_idx ? RING_EVENT_FLAGS_DESC : RING_EVENT_FLAGS_ENABLE;

	if (p->event_idx)
		vring_write_once16(&p->driver_event->off_wrap,
				   (uint16_t)(off | (wrap ? PACKED_WRAP_BIT : 0u)));
	if (p->event_flags_shadow != flags) {
		p->event_flags_shadow = flags;
		vring_write_once16(&p->driver_event->flags, flags);
	}
	/*
	 * The suppression words must be visible before we look at the ring,
	 * or a device using a descriptor meanwhile could skip the signal.
	 * Pairs with the device's fence before it reads them.
	 */
	vring_mb();
	return !packed_more_used(vq);
}

static bool packed_enable_cb(struct virtqueue *vq)
{
	return packed_arm_cb(vq, vq->packed.next_used, vq->packed.used_wrap);
}

static bool packed_enable_cb_delayed(struct virtqueue *vq)
{
	struct vring_packed_drv *p = &vq->packed;
	uint16_t in_flight = packed_published_in_flight(p);
	bool wrap = p->used_wrap;
	uint16_t off;

	if (!p->event_idx)
		return packed_enable_cb(vq);
	/* Ask for a signal once about 3/4 of the descriptors in flight are used. */
	off = packed_advance(p, p->next_used, (uint16_t)((in_flight * 3u) >> 2), &wrap);
	return packed_arm_cb(vq, off, wrap);
}

static void *packed_detach_unused_buf(struct virtqueue *vq)
{
	struct vring_packed_drv *p = &vq->packed;

	for (uint32_t i = 0; i < p->num; i++) {
		struct vring_desc_extra *x = &p->extra[i];
		void *token = x->token;

		if (token) {
			p->num_free = (uint16_t)(p->num_free + x->chain_len);
			x->token = NULL;
			x->next = p->free_id;
			p->free_id = (uint16_t)i;
			return token;
		}
	}
	return NULL;
}

static unsigned int packed_get_vring_size(const struct virtqueue *vq)
{
	return vq->packed.num;
}

static unsigned int packed_get_num_free(const struct virtqueue *vq)
{
	return vq->packed.num_free;
}

/* §2.9: next_off (15 bits), then next_wrap, the Driver Ring Wrap Counter. */
static uint32_t packed_notification_data(const struct virtqueue *vq)
{
	return (uint32_t)vq->packed.next_avail | (uint32_t)vq->packed.avail_wrap << 15;
}

static const struct virtqueue_ops packed_ops = {
	.add_sgs = packed_add_sgs,
	.publish = packed_publish,
	.kick_prepare = packed_kick_prepare,
	.notify = vring_drv_notify,
	.get_buf = packed_get_buf,
	.more_used = packed_more_used,
	.disable_cb = packed_disable_cb,
	.enable_cb = packed_enable_cb,
	.enable_cb_delayed = packed_enable_cb_delayed,
	.detach_unused_buf = packed_detach_unused_buf,
	.is_broken = vring_drv_is_broken,
	.get_vring_size = packed_get_vring_size,
	.get_num_free = packed_get_num_free,
	.notification_data = packed_notification_data,
};
