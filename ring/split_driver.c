// SPDX-License-Identifier: MIT
/*
 * The driver side of a split virtqueue (virtio 1.2 §2.7.13 "Supplying Buffers
 * to The Device", §2.7.14 "Receiving Used Buffers From The Device").
 *
 * Fast-path choices: added buffers are published with one release store of
 * avail->idx per virtqueue_kick_prepare() or virtqueue_publish() (not per
 * add), and the used index is cached in used_idx_shadow so used->idx (a line
 * the device keeps writing) is re-read only when every cached entry has been
 * consumed.
 *
 * The device is not trusted: used ids and lengths are checked against the
 * driver's private struct vring_desc_extra copy, never against the
 * descriptor table the device could have scribbled on.
 */
#include <errno.h>

#include <vireo/virtqueue.h>

#include "ring/driver.h"
#include "ring/platform.h"

/* §2.7.7: distance used_event is moved away to suppress used notifications. */
#define DRV_EVENT_FAR 0x8000u

/* §2.7.6: used_event is the word after the avail ring's @num entries. */
static inline le16 *drv_used_event(const struct vring_split_drv *s)
{
	return (le16 *)(void *)((uint8_t *)s->avail + virtq_avail_size(s->num) - sizeof(le16));
}

/* §2.7.8: avail_event is the word after the used ring's @num entries. */
static inline le16 *drv_avail_event(const struct vring_split_drv *s)
{
	return (le16 *)(void *)((uint8_t *)s->used + virtq_used_size(s->num) - sizeof(le16));
}

/* The avail idx the device can see (what the last publish or kick_prepare stored). */
static inline uint16_t drv_avail_published(const struct vring_split_drv *s)
{
	return s->avail_idx_published;
}

static const struct virtqueue_ops split_ops;

static void drv_set_broken(struct virtqueue *vq)
{
	vq->broken = true;
}

static bool drv_config_ok(const struct vring_split_drv_config *cfg)
{
	if (!vring_is_pow2(cfg->num) || cfg->num > VIRTQ_SPLIT_MAX_SIZE)
		return false;
	if (!cfg->desc || !cfg->avail || !cfg->used || !cfg->extra)
		return false;
	/* §2.7 (R-SR-01): descriptor table 16, avail ring 2, used ring 4 bytes aligned */
	if ((uintptr_t)cfg->desc % VIRTQ_DESC_ALIGN || (uintptr_t)cfg->avail % VIRTQ_AVAIL_ALIGN ||
	    (uintptr_t)cfg->used % VIRTQ_USED_ALIGN)
		return false;
	if (cfg->indirect_max &&
	    (!cfg->indirect_pool || (uintptr_t)cfg->indirect_pool % VIRTQ_DESC_ALIGN ||
	     cfg->indirect_pool_addr % VIRTQ_DESC_ALIGN))
		return false;
	return true;
}

/*
 * virtqueue_split_init() - see <vireo/virtqueue.h>.
 * Fails with -EINVAL on a bad size, a missing or misaligned pointer.
 */
int virtqueue_split_init(struct virtqueue *vq, const struct vring_split_drv_config *cfg)
{
	struct vring_split_drv *s;

	if (!vq || !cfg || !drv_config_ok(cfg))
		return -EINVAL;
	s = &vq->split;
	s->desc = cfg->desc;
	s->avail = cfg->avail;
	s->used = cfg->used;
	s->extra = cfg->extra;
	s->indirect_pool = cfg->indirect_max ? cfg->indirect_pool : NULL;
	s->indirect_pool_addr = cfg->indirect_pool_addr;
	s->indirect_max = cfg->indirect_max;
	s->num = cfg->num;
	s->free_head = 0;
	s->num_free = cfg->num;
	s->avail_idx_shadow = 0;
	s->avail_idx_published = 0;
	s->avail_flags_shadow = 0;
	s->last_used_idx = 0;
	s->num_added = 0;
	s->used_idx_shadow = 0;
	s->event_idx = cfg->event_idx;
	s->in_order = cfg->in_order;
	s->used_head = 0;
	s->batch_last = 0;
	s->batch_len = 0;
	s->in_batch = false;
	for (uint32_t i = 0; i < cfg->num; i++) {
		s->extra[i].token = NULL;
		s->extra[i].writable_bytes = 0;
		s->extra[i].chain_len = 0;
		s->extra[i].next = (uint16_t)((i + 1) & (cfg->num - 1u));
	}
	vq->broken = false;
	vq->ops = &split_ops;
	return 0;
}

/* Put @head in the next avail slot; it becomes visible at publish or kick_prepare. */
static void drv_post_head(struct vring_split_drv *s, uint16_t head)
{
	s->avail->ring[s->avail_idx_shadow & (s->num - 1u)] = cpu_to_le16(head);
	s->avail_idx_shadow++;
	/* Saturates: publish-only rounds may add more than a u16 distance can hold. */
	s->num_added = (uint16_t)(s->num_added + (s->num_added != UINT16_MAX));
}

static uint16_t drv_desc_flags(unsigned int k, unsigned int out_num, unsigned int total)
{
	uint16_t flags = 0;

	if (k + 1 < total)
		flags |= VIRTQ_DESC_F_NEXT;
	/* §2.7.4.2 (R-SR-02): writable elements follow all readable ones */
	if (k >= out_num)
		flags |= VIRTQ_DESC_F_WRITE;
	return flags;
}

/* One descriptor in the ring pointing at a table in the indirect pool (slot = head). */
static uint16_t drv_add_indirect(struct vring_split_drv *s, const struct virtio_sg *sg,
				 unsigned int out_num, unsigned int total)
{
	uint16_t head = s->free_head;
	struct virtq_desc *t = s->indirect_pool + (size_t)head * s->indirect_max;
	struct virtq_desc *d = &s->desc[head];

	for (unsigned int k = 0; k < total; k++) {
		t[k].addr = cpu_to_le64(sg[k].addr);
		t[k].len = cpu_to_le32(sg[k].len);
		t[k].flags = cpu_to_le16(drv_desc_flags(k, out_num, total));
		t[k].next = cpu_to_le16((uint16_t)(k + 1));
	}
	d->addr = cpu_to_le64(s->indirect_pool_addr +
			      (uint64_t)head * s->indirect_max * sizeof(struct virtq_desc));
	d->len = cpu_to_le32((uint32_t)(total * sizeof(struct virtq_desc)));
	d->flags = cpu_to_le16(VIRTQ_DESC_F_INDIRECT);
	d->next = 0;
	s->free_head = s->extra[head].next;
	s->num_free--;
	s->extra[head].chain_len = 1;
	return head;
}

/* A chain along the free list; extra[].next keeps the chain's links privately. */
static uint16_t drv_add_direct(struct vring_split_drv *s, const struct virtio_sg *sg,
			       unsigned int out_num, unsigned int total)
{
	uint16_t head = s->free_head;
	uint16_t i = head;

	for (unsigned int k = 0; k < total; k++) {
		struct virtq_desc *d = &s->desc[i];

		d->addr = cpu_to_le64(sg[k].addr);
		d->len = cpu_to_le32(sg[k].len);
		d->flags = cpu_to_le16(drv_desc_flags(k, out_num, total));
		d->next = cpu_to_le16(s->extra[i].next);
		i = s->extra[i].next;
	}
	s->free_head = i;
	s->num_free = (uint16_t)(s->num_free - total);
	s->extra[head].chain_len = (uint16_t)total;
	return head;
}

/*
 * split_add_sgs() - virtqueue_add_sgs() for the split format.
 * Fails with -EIO (broken), -EINVAL (empty list, NULL token, chain too long
 * or over 4 GiB) or -ENOSPC (not enough free descriptors).
 */
static int split_add_sgs(struct virtqueue *vq, const struct virtio_sg *sg, unsigned int out_num,
			 unsigned int in_num, void *token)
{
	struct vring_split_drv *s = &vq->split;
	unsigned int total = out_num + in_num;
	uint32_t writable;
	uint16_t head;

	if (VRING_UNLIKELY(vq->broken))
		return -EIO;
	if (!token || !sg || total == 0 || out_num > UINT16_MAX || in_num > UINT16_MAX)
		return -EINVAL;
	if (vring_drv_count_bytes(sg, out_num, total, &writable))
		return -EINVAL;
	if (s->indirect_max && total > 1 && total <= s->indirect_max) {
		if (s->num_free == 0)
			return -ENOSPC;
		head = drv_add_indirect(s, sg, out_num, total);
	} else {
		/* §2.7.5.2 (R-SR-05): no chain longer than the queue size */
		if (total > s->num)
			return -EINVAL;
		if (total > s->num_free)
			return -ENOSPC;
		head = drv_add_direct(s, sg, out_num, total);
	}
	s->extra[head].token = token;
	s->extra[head].writable_bytes = writable;
	drv_post_head(s, head);
	return 0;
}

/*
 * drv_publish_idx() - make every buffer added so far visible: one release
 * store of avail->idx, skipped when the device already sees that value.
 */
static void drv_publish_idx(struct vring_split_drv *s)
{
	if (s->avail_idx_published == s->avail_idx_shadow)
		return;
	/*
	 * §2.7.13.3 (R-SR-11): ring entries and descriptors before the index.
	 * Pairs with the acquire load in dev_avail_reload() (split_device.c).
	 */
	vring_store_release16(&s->avail->idx, s->avail_idx_shadow);
	s->avail_idx_published = s->avail_idx_shadow;
}

/* virtqueue_publish() for the split format: no fence, no read of device data. */
static void split_publish(struct virtqueue *vq)
{
	if (!vq->broken)
		drv_publish_idx(&vq->split);
}

static bool split_kick_prepare(struct virtqueue *vq)
{
	struct vring_split_drv *s = &vq->split;
	uint16_t new_idx = s->avail_idx_shadow;
	uint16_t added = s->num_added;

	if (vq->broken || added == 0)
		return false;
	s->num_added = 0;
	drv_publish_idx(s);
	/*
	 * §2.7.13.4 (R-SR-12): the idx store (here or in an earlier
	 * virtqueue_publish()) must be visible before we read the
	 * device's suppression word. Pairs with vring_mb() in
	 * vring_split_dev_enable_notify().
	 */
	vring_mb();
	if (!s->event_idx)
		return !(vring_read_once16(&s->used->flags) & VIRTQ_USED_F_NO_NOTIFY);
	/*
	 * More than a ring's worth since the last decision (publish-only rounds):
	 * num_added may have saturated, so old_idx is no longer known. Kick:
	 * §2.7.10 only says the driver "SHOULD NOT" otherwise, and "The device MUST
	 * handle spurious notifications from the driver".
	 */
	if (added > s->num)
		return true;
	return virtq_need_event(vring_read_once16(drv_avail_event(s)), new_idx,
				(uint16_t)(new_idx - added));
}

/*
 * Re-read used->idx. A device that claims more used entries than we made
 * available broke the protocol (§2.7.8): the queue becomes broken.
 * Return: true if entries are pending.
 */
static bool drv_used_reload(struct virtqueue *vq)
{
	struct vring_split_drv *s = &vq->split;
	/* Pairs with the release store in vring_split_dev_flush(): entries before idx. */
	uint16_t idx = vring_load_acquire16(&s->used->idx);
	uint16_t outstanding = (uint16_t)(drv_avail_published(s) - s->last_used_idx);

	if (VRING_UNLIKELY((uint16_t)(idx - s->last_used_idx) > outstanding)) {
		drv_set_broken(vq);
		return false;
	}
	s->used_idx_shadow = idx;
	return idx != s->last_used_idx;
}

/*
 * Nothing cached: reload, and with callbacks on under EVENT_IDX, move
 * used_event to where we are before giving up, so the next used entry is
 * signalled (§2.7.7). The recheck after the fence closes the race with a
 * device that published just before seeing the new used_event.
 */
static bool drv_used_refill(struct virtqueue *vq)
{
	struct vring_split_drv *s = &vq->split;
	le16 *ev = drv_used_event(s);

	if (drv_used_reload(vq))
		return true;
	if (vq->broken || !s->event_idx || (s->avail_flags_shadow & VIRTQ_AVAIL_F_NO_INTERRUPT))
		return false;
	if (vring_read_once16(ev) == s->last_used_idx)
		return false;
	vring_write_once16(ev, s->last_used_idx);
	/* Pairs with vring_mb() in vring_split_dev_need_notify(). */
	vring_mb();
	return drv_used_reload(vq);
}

/*
 * Give a finished chain's descriptors back to the free list. With IN_ORDER
 * the list stays the ring order (extra[i].next = i + 1, R-SR-04): chains
 * come back in the order they went out, so only the count changes.
 */
static void drv_detach(struct vring_split_drv *s, uint16_t head)
{
	struct vring_desc_extra *x = &s->extra[head];
	uint16_t tail = head;

	if (s->in_order) {
		s->num_free = (uint16_t)(s->num_free + x->chain_len);
		x->token = NULL;
		return;
	}

	for (uint16_t i = 1; i < x->chain_len; i++)
		tail = s->extra[tail].next;
	s->extra[tail].next = s->free_head;
	s->free_head = head;
	s->num_free = (uint16_t)(s->num_free + x->chain_len);
	x->token = NULL;
}

/*
 * IN_ORDER (§2.7.9): the used entry names the head of the last buffer of a
 * batch starting at the oldest buffer in flight, and used->idx moved by the
 * batch's size. Walk the buffers the device can see, in ring order, to it.
 * Return: the batch's size in buffers, or 0 if @id heads none of them.
 */
static uint16_t drv_in_order_batch(const struct vring_split_drv *s, uint32_t id)
{
	uint16_t exposed = (uint16_t)(drv_avail_published(s) - s->last_used_idx);
	uint16_t head = s->used_head;

	for (uint16_t k = 1; k <= exposed; k++) {
		const struct vring_desc_extra *x = &s->extra[head];

		if (!x->token)
			return 0;
		if (head == id)
			return k;
		head = (uint16_t)((head + x->chain_len) & (s->num - 1u));
	}
	return 0;
}

/* Read and check the used entry that opens a batch; false breaks the queue. */
static bool drv_in_order_open(struct vring_split_drv *s)
{
	const struct virtq_used_elem *e = &s->used->ring[s->last_used_idx & (s->num - 1u)];
	/* Read each field once: the device may rewrite the entry under us. */
	uint32_t id = vring_read_once32(&e->id);
	uint32_t used_len = vring_read_once32(&e->len);
	uint16_t batch;

	if (id >= s->num || !s->extra[id].token || used_len > s->extra[id].writable_bytes)
		return false;
	/* Out of order, or a batch larger than what used->idx says was used. */
	batch = drv_in_order_batch(s, id);
	if (!batch || batch > (uint16_t)(s->used_idx_shadow - s->last_used_idx))
		return false;
	s->batch_last = (uint16_t)id;
	s->batch_len = used_len;
	s->in_batch = true;
	return true;
}

static void *split_get_buf_in_order(struct virtqueue *vq, uint32_t *len)
{
	struct vring_split_drv *s = &vq->split;
	uint16_t head = s->used_head;
	uint32_t used_len;
	void *token;

	if (!s->in_batch) {
		if (s->last_used_idx == s->used_idx_shadow && !drv_used_refill(vq))
			return NULL;
		if (VRING_UNLIKELY(!drv_in_order_open(s))) {
			drv_set_broken(vq);
			return NULL;
		}
	}
	token = s->extra[head].token;
	/* §2.7.9: the skipped buffers count as used completely */
	used_len = s->extra[head].writable_bytes;
	if (head == s->batch_last) {
		used_len = s->batch_len;
		s->in_batch = false;
	}
	s->used_head = (uint16_t)((head + s->extra[head].chain_len) & (s->num - 1u));
	drv_detach(s, head);
	s->last_used_idx++;
	if (len)
		*len = used_len;
	return token;
}

static void *split_get_buf(struct virtqueue *vq, uint32_t *len)
{
	struct vring_split_drv *s = &vq->split;
	const struct virtq_used_elem *e;
	struct vring_desc_extra *x;
	uint32_t id, used_len;
	void *token;

	if (VRING_UNLIKELY(vq->broken))
		return NULL;
	if (s->in_order)
		return split_get_buf_in_order(vq, len);
	if (s->last_used_idx == s->used_idx_shadow && !drv_used_refill(vq))
		return NULL;
	e = &s->used->ring[s->last_used_idx & (s->num - 1u)];
	/* Read each field once: the device may rewrite the entry under us. */
	id = vring_read_once32(&e->id);
	used_len = vring_read_once32(&e->len);
	/* §2.7.8: id must be a head we posted and that is still in flight */
	if (VRING_UNLIKELY(id >= s->num)) {
		drv_set_broken(vq);
		return NULL;
	}
	x = &s->extra[id];
	token = x->token;
	/* §2.7.8 (D-SR-11): the device cannot have written more than we offered */
	if (VRING_UNLIKELY(!token || used_len > x->writable_bytes)) {
		drv_set_broken(vq);
		return NULL;
	}
	drv_detach(s, (uint16_t)id);
	s->last_used_idx++;
	if (len)
		*len = used_len;
	return token;
}

static bool split_more_used(const struct virtqueue *vq)
{
	const struct vring_split_drv *s = &vq->split;

	if (vq->broken)
		return false;
	if (s->last_used_idx != s->used_idx_shadow)
		return true;
	/* Pairs with the release store in vring_split_dev_flush(). */
	return vring_load_acquire16(&s->used->idx) != s->last_used_idx;
}

static void split_disable_cb(struct virtqueue *vq)
{
	struct vring_split_drv *s = &vq->split;

	if (s->avail_flags_shadow & VIRTQ_AVAIL_F_NO_INTERRUPT)
		return;
	s->avail_flags_shadow |= VIRTQ_AVAIL_F_NO_INTERRUPT;
	/*
	 * §2.7.7 (R-SR-08): with EVENT_IDX avail->flags stays 0; instead put
	 * used_event half the index space away, which no used idx in flight
	 * can cross.
	 */
	if (s->event_idx)
		vring_write_once16(drv_used_event(s), (uint16_t)(s->last_used_idx + DRV_EVENT_FAR));
	else
		vring_write_once16(&s->avail->flags, s->avail_flags_shadow);
}

/* Arm a signal at used entry @event; return true if none is pending yet. */
static bool drv_arm_cb(struct virtqueue *vq, uint16_t event)
{
	struct vring_split_drv *s = &vq->split;

	s->avail_flags_shadow &= (uint16_t)~VIRTQ_AVAIL_F_NO_INTERRUPT;
	if (s->event_idx)
		vring_write_once16(drv_used_event(s), event);
	else
		vring_write_once16(&s->avail->flags, s->avail_flags_shadow);
	/*
	 * The suppression word must be visible before we look at used->idx, or
	 * a device publishing meanwhile could skip the signal. Pairs with
	 * vring_mb() in vring_split_dev_need_notify().
	 */
	vring_mb();
	drv_used_reload(vq);
	if (vq->broken)
		return true;
	return (uint16_t)(s->used_idx_shadow - s->last_used_idx) <=
	       (uint16_t)(event - s->last_used_idx);
}

static bool split_enable_cb(struct virtqueue *vq)
{
	return drv_arm_cb(vq, vq->split.last_used_idx);
}

static bool split_enable_cb_delayed(struct virtqueue *vq)
{
	struct vring_split_drv *s = &vq->split;
	uint16_t in_flight = (uint16_t)(drv_avail_published(s) - s->last_used_idx);

	if (!s->event_idx)
		return split_enable_cb(vq);
	/* Ask for a signal once about 3/4 of what is in flight has been used. */
	return drv_arm_cb(vq, (uint16_t)(s->last_used_idx + ((in_flight * 3u) >> 2)));
}

static void *split_detach_unused_buf(struct virtqueue *vq)
{
	struct vring_split_drv *s = &vq->split;

	for (uint32_t i = 0; i < s->num; i++) {
		void *token = s->extra[i].token;

		if (token) {
			drv_detach(s, (uint16_t)i);
			return token;
		}
	}
	return NULL;
}

static unsigned int split_get_vring_size(const struct virtqueue *vq)
{
	return vq->split.num;
}

static unsigned int split_get_num_free(const struct virtqueue *vq)
{
	return vq->split.num_free;
}

/* §2.9: next_idx, the avail index the next buffer gets (our shadow of avail->idx). */
static uint32_t split_notification_data(const struct virtqueue *vq)
{
	return vq->split.avail_idx_shadow;
}

static const struct virtqueue_ops split_ops = {
	.add_sgs = split_add_sgs,
	.publish = split_publish,
	.kick_prepare = split_kick_prepare,
	.notify = vring_drv_notify,
	.get_buf = split_get_buf,
	.more_used = split_more_used,
	.disable_cb = split_disable_cb,
	.enable_cb = split_enable_cb,
	.enable_cb_delayed = split_enable_cb_delayed,
	.detach_unused_buf = split_detach_unused_buf,
	.is_broken = vring_drv_is_broken,
	.get_vring_size = split_get_vring_size,
	.get_num_free = split_get_num_free,
	.notification_data = split_notification_data,
};
