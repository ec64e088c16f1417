// SPDX-License-Identifier: MIT
/*
 * The device side of a packed virtqueue (virtio 1.2 §2.8, packed-ring.tex).
 * Nothing the driver wrote is trusted (STYLE.md guest-memory checklist):
 * the geometry is validated once at init (item 1); each pop reads every
 * descriptor once into a local, checks its AVAIL/USED flags against the
 * wrap counter expected at its slot, bounds the chain by the ring slots not
 * in flight, checks indirect tables (negotiated, not in a NEXT chain, not
 * nested, length a multiple of 16, in one region), the buffer id (< num,
 * not in flight) and translates every buffer with its length (items 3-4,
 * chain.c); each push checks the id is in flight and the length within what
 * was offered (item 5). A violation is sticky: every later call fails -EIO.
 *
 * Ring positions: a slot (0..num-1) and a wrap counter. For comparisons the
 * pair is a "lap position" in [0, 2 * num): slot + (wrap ? 0 : num).
 */
#include <errno.h>

#include <vireo/vring.h>

#include "ring/chain.h"
#include "ring/in_flight_bits.h"
#include "ring/platform.h"

size_t vring_packed_dev_state_size(uint16_t num)
{
	return vring_in_flight_bytes(num) + (size_t)num * sizeof(uint32_t) +
	       ((size_t)num * sizeof(uint16_t) + 7u) / 8u * 8u;
}

static uint32_t packed_lap_pos(const struct vring_packed_dev *q, uint16_t idx, bool wrap)
{
	return (uint32_t)idx + (wrap ? 0u : q->num);
}

/* Advance a ring position by @n (<= num) slots, flipping the wrap counter at the end. */
static void packed_advance(const struct vring_packed_dev *q, uint16_t *idx, bool *wrap, uint16_t n)
{
	uint32_t next = (uint32_t)*idx + n;

	if (next >= q->num) {
		next -= q->num;
		*wrap = !*wrap;
	}
	*idx = (uint16_t)next;
}

static int packed_fail(struct vring_packed_dev *q, enum vring_error err)
{
	/* vhost-user IOTLB miss: every pop fails before it consumes anything, so it can be retried. */
	if (err == VRING_ERR_MAP_PENDING) {
		q->map_pending = true; /* the model can tell this from an empty ring */
		return -EAGAIN;
	}
	q->error = err;
	return -EPROTO;
}

static void packed_reset_fields(struct vring_packed_dev *q)
{
	*q = (struct vring_packed_dev){.error = VRING_ERR_GEOMETRY, .notify_enabled = true};
}

static bool packed_config_ok(const struct vring_dev_config *cfg)
{
	const struct vring_dev_position *p = &cfg->position;

	/* §2.8: any size up to 2^15; the positions must lie inside the ring */
	return cfg->num != 0 && cfg->max_num <= VIRTQ_PACKED_MAX_SIZE && cfg->num <= cfg->max_num &&
	       cfg->mem.translate && cfg->state && (uintptr_t)cfg->state % sizeof(uint64_t) == 0 &&
	       p->avail_idx < cfg->num && p->used_idx < cfg->num;
}

/* Lay the private state out and clear the in-flight bitmap. */
static void packed_state_init(struct vring_packed_dev *q, void *state, uint16_t num)
{
	char *base = state;

	q->in_flight = state;
	q->writable_bytes = (uint32_t *)(void *)(base + vring_in_flight_bytes(num));
	q->slots = (uint16_t *)(void *)(base + vring_in_flight_bytes(num) +
					(size_t)num * sizeof(uint32_t));
	/* Atomic stores: a plain loop could become a memset call (free-standing). */
	for (size_t w = 0; w < vring_in_flight_bytes(num) / sizeof(uint64_t); w++)
		vring_write_once64(&q->in_flight[w], 0);
}

/*
 * vring_packed_dev_init() - see <vireo/vring.h>.
 * Fails with -EINVAL (error GEOMETRY).
 */
int vring_packed_dev_init(struct vring_packed_dev *q, const struct vring_dev_config *cfg)
{
	uint32_t avail, used, gap;

	packed_reset_fields(q);
	if (!cfg || !packed_config_ok(cfg))
		return -EINVAL;
	q->mem = cfg->mem;
	/* §2.8.10.1 (R-PR-01): descriptor ring 16-aligned, 16 * num; each event structure 4/4 */
	q->desc = vring_map_ring_part(&q->mem, cfg->desc_addr,
				      (size_t)cfg->num * sizeof(struct pvirtq_desc),
				      PVIRTQ_DESC_ALIGN);
	q->driver_event =
		vring_map_ring_part(&q->mem, cfg->driver_addr, sizeof(struct pvirtq_event_suppress),
				    PVIRTQ_EVENT_ALIGN);
	q->device_event =
		vring_map_ring_part(&q->mem, cfg->device_addr, sizeof(struct pvirtq_event_suppress),
				    PVIRTQ_EVENT_ALIGN);
	if (!q->desc || !q->driver_event || !q->device_event)
		return -EINVAL;
	q->num = cfg->num;
	/* Slots between used and avail were popped before a restart: at most a ring of them. */
	avail = packed_lap_pos(q, cfg->position.avail_idx, cfg->position.avail_wrap);
	used = packed_lap_pos(q, cfg->position.used_idx, cfg->position.used_wrap);
	gap = (avail + 2u * q->num - used) % (2u * q->num);
	if (gap > q->num)
		return -EINVAL;
	packed_state_init(q, cfg->state, cfg->num);
	q->last_avail_idx = cfg->position.avail_idx;
	q->avail_wrap = cfg->position.avail_wrap;
	q->used_idx = cfg->position.used_idx;
	q->used_wrap = cfg->position.used_wrap;
	q->published_idx = q->used_idx;
	q->published_wrap = q->used_wrap;
	/* Those slots' ids are unknown after a restart: they are never pushed, only skipped. */
	q->slots_in_flight = (uint16_t)gap;
	q->event_idx = cfg->event_idx;
	q->indirect = cfg->indirect;
	q->in_order = cfg->in_order;
	q->map_pending = false;
	q->error = VRING_ERR_NONE;
	/*
	 * notify_enabled starts true, and signalled_valid false (the first flush
	 * notifies as the driver's event structure says): make the device event
	 * structure agree, a previous user may have left it DISABLE (§2.8.10).
	 * GUEST: device_event validated above.
	 */
	vring_write_once16(&q->device_event->flags, RING_EVENT_FLAGS_ENABLE);
	return 0;
}

/* §2.8.1: available when AVAIL matches the wrap counter and USED does not. */
static inline bool packed_desc_avail(uint16_t flags, bool wrap)
{
	return !!(flags & VIRTQ_DESC_F_AVAIL) == wrap && !!(flags & VIRTQ_DESC_F_USED) != wrap;
}

/* Read a ring slot's flags; later reads of the slot see what the driver wrote before them. */
static inline uint16_t packed_flags_acquire(const struct vring_packed_dev *q, uint16_t idx)
{
	/* GUEST: idx < num, the ring validated at init. Pairs with R-PR-08's barrier before flags. */
	return vring_load_acquire16(&q->desc[idx].flags);
}

/*
 * Walk the indirect table @d names into @w (§2.8.8). Only WRITE is valid in
 * its entries; NEXT and the id are ignored (reserved), INDIRECT is nesting.
 */
static enum vring_error packed_walk_indirect(struct vring_packed_dev *q, struct vring_chain_acc *w,
					     const struct pvirtq_desc *d)
{
	const void *t = NULL;
	uint32_t n = 0;
	enum vring_error err;
	struct pvirtq_desc e;

	err = vring_chain_map_table(&q->mem, &q->mem_last, d->addr, d->len, (uint32_t)sizeof(e), &t,
				    &n);
	if (err)
		return err;
	for (uint32_t i = 0; i < n; i++) {
		/* GUEST: i < n, the table translated whole just above. Copied once. */
		vring_pdesc_read((const struct pvirtq_desc *)t + i, &e, true);
		if (e.flags & VIRTQ_DESC_F_INDIRECT)
			return VRING_ERR_INDIRECT_NESTED;
		err = vring_chain_acc_add(w, e.addr, e.len, e.flags & VIRTQ_DESC_F_WRITE);
		if (err)
			return err;
	}
	return VRING_ERR_NONE;
}

/* A chain being popped: where it ends in the ring and what it says. */
struct packed_walk {
	uint16_t idx;
	bool wrap;
	uint16_t slots;
	uint16_t id;
};

/*
 * Read one ring descriptor of the chain at @pw->idx (flags already checked
 * for the head) and account it. Return: VRING_ERR_NONE and *@more if NEXT.
 */
static enum vring_error packed_walk_one(struct vring_packed_dev *q, struct packed_walk *pw,
					struct vring_chain_acc *w, uint16_t flags, bool *more)
{
	struct pvirtq_desc d;
	enum vring_error err;

	/* R-PR-04: a chain never longer than the ring (the slots not in flight), so no loop */
	if (++pw->slots > q->num - q->slots_in_flight)
		return VRING_ERR_CHAIN_LENGTH;
	/* GUEST: idx < num, the ring validated at init; read after the acquire of flags. */
	vring_pdesc_read(&q->desc[pw->idx], &d, false);
	pw->id = d.id;
	*more = flags & VIRTQ_DESC_F_NEXT;
	if (flags & VIRTQ_DESC_F_INDIRECT) {
		/* §2.8.8 (R-PR-07): negotiated, never in or ending a NEXT list */
		if (!q->indirect)
			return VRING_ERR_INDIRECT_FEATURE;
		if (*more || pw->slots > 1)
			return VRING_ERR_INDIRECT_NEXT;
		err = packed_walk_indirect(q, w, &d);
	} else {
		err = vring_chain_acc_add(w, d.addr, d.len, flags & VIRTQ_DESC_F_WRITE);
	}
	packed_advance(q, &pw->idx, &pw->wrap, 1);
	return err;
}

/* A one-buffer chain vring_chain_one() declined: the general steps, which find the error. */
static VRING_NOINLINE enum vring_error
packed_single_general(struct vring_packed_dev *q, const struct pvirtq_desc *d, bool writable,
		      struct vring_chain *chain, struct vring_iov *iov, unsigned int iov_cap)
{
	struct vring_chain_acc w;
	enum vring_error err;

	vring_chain_acc_init(&w, &q->mem, &q->mem_last, iov, iov_cap);
	err = vring_chain_acc_add(&w, d->addr, d->len, writable);
	vring_chain_acc_fill(&w, d->id, chain);
	return err;
}

/* Record buffer @id (@slots ring slots from last_avail_idx) as popped. */
static inline void packed_popped(struct vring_packed_dev *q, uint16_t id, uint16_t slots,
				 uint32_t writable_bytes, uint16_t next_idx, bool next_wrap)
{
	vring_in_flight_flip(q->in_flight, id);
	q->writable_bytes[id] = writable_bytes;
	q->slots[id] = slots;
	q->slots_in_flight = (uint16_t)(q->slots_in_flight + slots);
	q->num_in_flight++;
	q->last_avail_idx = next_idx;
	q->avail_wrap = next_wrap;
}

/*
 * Pop the chain of one direct descriptor (flags @flags, no NEXT, no
 * INDIRECT) at last_avail_idx: the checks of a list walk, in the same order
 * (R-PR-04 length, the buffer, the id), with the position in locals.
 * Return: 0 or -EPROTO.
 */
static inline int packed_pop_single(struct vring_packed_dev *q, uint16_t flags,
				    struct vring_chain *chain, struct vring_iov *iov,
				    unsigned int iov_cap)
{
	bool writable = flags & VIRTQ_DESC_F_WRITE, wrap = q->avail_wrap;
	uint16_t idx = q->last_avail_idx;
	enum vring_error err;
	struct pvirtq_desc d;

	/* R-PR-04: a chain never longer than the ring (the slots not in flight) */
	if (VRING_UNLIKELY(q->slots_in_flight >= q->num))
		return packed_fail(q, VRING_ERR_CHAIN_LENGTH);
	/* GUEST: idx < num, the ring validated (16-aligned) at init; read after the acquire of flags. */
	vring_pdesc_read_aligned(&q->desc[idx], &d);
	if (VRING_UNLIKELY(!vring_chain_one(&q->mem, &q->mem_last, d.addr, d.len, writable, d.id,
					    chain, iov, iov_cap))) {
		err = packed_single_general(q, &d, writable, chain, iov, iov_cap);
		if (err)
			return packed_fail(q, err);
	}
	/* §2.8.6: the buffer id is in the last descriptor of the list */
	if (VRING_UNLIKELY(d.id >= q->num))
		return packed_fail(q, VRING_ERR_HEAD_RANGE);
	if (VRING_UNLIKELY(vring_in_flight_test(q->in_flight, d.id)))
		return packed_fail(q, VRING_ERR_HEAD_IN_FLIGHT);
	if (++idx == q->num) {
		idx = 0;
		wrap = !wrap;
	}
	packed_popped(q, d.id, 1, chain->writable_bytes, idx, wrap);
	return 0;
}

/* A chain of several descriptors, or an indirect one, from last_avail_idx. */
static VRING_NOINLINE enum vring_error packed_walk_list(struct vring_packed_dev *q, uint16_t flags,
							struct packed_walk *pw,
							struct vring_chain *chain,
							struct vring_iov *iov, unsigned int iov_cap)
{
	struct vring_chain_acc w;
	enum vring_error err;
	bool more = true;

	vring_chain_acc_init(&w, &q->mem, &q->mem_last, iov, iov_cap);
	for (;;) {
		err = packed_walk_one(q, pw, &w, flags, &more);
		if (err || !more)
			break;
		/* §2.8.6 (R-PR-06): the rest of a list is available before its head */
		flags = packed_flags_acquire(q, pw->idx);
		if (!packed_desc_avail(flags, pw->wrap))
			return VRING_ERR_DESC_FLAGS;
	}
	if (err)
		return err;
	/* §2.8.6: the buffer id is in the last descriptor of the list */
	if (pw->id >= q->num)
		return VRING_ERR_HEAD_RANGE;
	if (vring_in_flight_test(q->in_flight, pw->id))
		return VRING_ERR_HEAD_IN_FLIGHT;
	vring_chain_acc_fill(&w, pw->id, chain);
	return VRING_ERR_NONE;
}

/*
 * §2.8.10 with EVENT_IDX: a kick only once the driver makes the descriptor at
 * our next position available. GUEST: device_event validated at init.
 */
static void packed_ask_kick_at_next(struct vring_packed_dev *q)
{
	uint16_t off_wrap = (uint16_t)(q->last_avail_idx |
				       (q->avail_wrap ? 1u << PVIRTQ_EVENT_WRAP_SHIFT : 0u));

	vring_write_once16(&q->device_event->off_wrap, off_wrap);
}

/*
 * Take the chain at last_avail_idx if available: every check of checklist
 * items 2-4 is here, so a burst checks each chain as a single pop does.
 * Return: 0, -EAGAIN (not available) or -EPROTO (the queue is now broken).
 */
static int packed_pop_one(struct vring_packed_dev *q, struct vring_chain *chain,
			  struct vring_iov *iov, unsigned int iov_cap)
{
	struct packed_walk pw;
	enum vring_error err;
	uint16_t flags;

	flags = packed_flags_acquire(q, q->last_avail_idx);
	/* D-PR-04: nothing is used before its AVAIL bit has changed */
	if (!packed_desc_avail(flags, q->avail_wrap)) {
		/* Both bits at the wrap value: a used descriptor of this lap no device wrote. */
		if (!!(flags & VIRTQ_DESC_F_AVAIL) == q->avail_wrap)
			return packed_fail(q, VRING_ERR_DESC_FLAGS);
		return -EAGAIN;
	}
	if (VRING_LIKELY(!(flags & (VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_INDIRECT))))
		return packed_pop_single(q, flags, chain, iov, iov_cap);
	pw = (struct packed_walk){.idx = q->last_avail_idx, .wrap = q->avail_wrap};
	err = packed_walk_list(q, flags, &pw, chain, iov, iov_cap);
	if (VRING_UNLIKELY(err))
		return packed_fail(q, err);
	packed_popped(q, pw.id, pw.slots, chain->writable_bytes, pw.idx, pw.wrap);
	return 0;
}

/*
 * vring_packed_dev_pop_burst() - see <vireo/vring.h>.
 * Fails with -EAGAIN (empty), -EPROTO (the first chain broke the ring) or
 * -EIO (already broken); a later chain that breaks it ends the burst.
 */
int vring_packed_dev_pop_burst(struct vring_packed_dev *q, struct vring_chain *chains,
			       unsigned int max, struct vring_iov *iov, unsigned int iov_len,
			       unsigned int iov_cap)
{
	unsigned int n = 0, used = 0;
	int r = 0;

	if (VRING_UNLIKELY(q->error))
		return -EIO;
	q->map_pending = false;
	while (n < max && iov_len - used >= iov_cap) {
		r = packed_pop_one(q, &chains[n], iov + used, iov_cap);
		if (r)
			break;
		used += (unsigned int)chains[n].readable + chains[n].writable;
		n++;
	}
	/* With kicks wanted under EVENT_IDX, ask for one once the driver adds past these. */
	if (n && q->event_idx && q->notify_enabled && !q->error)
		packed_ask_kick_at_next(q);
	if (n)
		return (int)n;
	return r ? r : -EAGAIN;
}

/*
 * vring_packed_dev_pop() - see <vireo/vring.h>: a burst of one.
 * Fails with -EAGAIN (empty), -EPROTO (driver broke the ring) or -EIO.
 */
int vring_packed_dev_pop(struct vring_packed_dev *q, struct vring_chain *chain,
			 struct vring_iov *iov, unsigned int iov_cap)
{
	int r = vring_packed_dev_pop_burst(q, chain, 1, iov, iov_cap, iov_cap);

	return r > 0 ? 0 : r;
}

/*
 * vring_packed_dev_unpop() - see <vireo/vring.h>.
 * Fails with -EINVAL (@id not in flight, or no pop to undo) or -EIO.
 */
int vring_packed_dev_unpop(struct vring_packed_dev *q, uint16_t id)
{
	uint32_t pos;

	if (VRING_UNLIKELY(q->error))
		return -EIO;
	if (id >= q->num || !vring_in_flight_test(q->in_flight, id) || q->num_in_flight == 0)
		return -EINVAL;
	vring_in_flight_flip(q->in_flight, id);
	q->num_in_flight--;
	q->slots_in_flight = (uint16_t)(q->slots_in_flight - q->slots[id]);
	/* Step back by the chain's slots, un-flipping the wrap counter if we cross slot 0. */
	pos = packed_lap_pos(q, q->last_avail_idx, q->avail_wrap);
	pos = (pos + 2u * q->num - q->slots[id]) % (2u * q->num);
	q->avail_wrap = pos < q->num;
	q->last_avail_idx = (uint16_t)(pos < q->num ? pos : pos - q->num);
	/* Ask again for this one (EVENT_IDX, kicks wanted). */
	if (q->event_idx && q->notify_enabled)
		packed_ask_kick_at_next(q);
	return 0;
}

/*
 * Write the used descriptor of buffer @id (@len bytes written, @slots ring
 * slots) at used_idx (§2.8.7) and skip its slots. Its flags wait for flush
 * if it opens the batch; later ones are stored now: the driver reads them
 * only after it has seen the batch's first flags (§2.8.6 polling order).
 */
static inline void packed_write_used(struct vring_packed_dev *q, uint16_t id, uint32_t len,
				     uint16_t slots)
{
	/* GUEST: used_idx < num, the ring validated at init. */
	struct pvirtq_desc *d = &q->desc[q->used_idx];
	/* §2.8.1: a used descriptor has AVAIL and USED both equal to the device wrap counter */
	uint16_t flags = q->used_wrap ? (uint16_t)(VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED) : 0;

	/* §2.8.3: WRITE in a used descriptor says data was written */
	if (len)
		flags |= VIRTQ_DESC_F_WRITE;
	vring_write_once16(&d->id, id);
	vring_write_once32(&d->len, len);
	if (!q->batch_open) {
		q->batch_open = true;
		q->batch_idx = q->used_idx;
		q->batch_flags = flags;
	} else {
		vring_write_once16(&d->flags, flags);
	}
	packed_advance(q, &q->used_idx, &q->used_wrap, slots);
}

/* The buffer pushed last and not yet written (IN_ORDER may cover it by the next one). */
struct packed_pending {
	bool open;
	bool covered; /* the next push covers it: IN_ORDER and written completely (§2.8.9) */
	uint16_t id;
	uint16_t slots;
	uint32_t len;
};

/*
 * Push @ids[0..@n) (@written[k] bytes, NULL: 0) in order: each checked
 * (checklist item 5) before anything of it is recorded, the first bad one
 * ends the burst. The ring's constants and the pending buffer are kept in
 * locals across the burst: the stores into the ring could alias q's fields.
 * Return: buffers pushed; *@err the reason the burst stopped early.
 */
static VRING_ALWAYS_INLINE unsigned int packed_push_some(struct vring_packed_dev *q,
							 const uint16_t *ids,
							 const uint32_t *written, unsigned int n,
							 enum vring_error *err)
{
	const uint32_t *wbytes = q->writable_bytes;
	const uint16_t *slots = q->slots;
	uint64_t *bits = q->in_flight;
	const uint16_t num = q->num;
	const bool in_order = q->in_order;
	struct packed_pending p = {q->pending, q->pending && q->pending_full, q->pending_id,
				   q->pending_slots, q->pending_len};
	uint32_t freed = 0;
	unsigned int k;

	for (k = 0; k < n; k++) {
		uint16_t id = ids[k];
		uint32_t len = written ? written[k] : 0;
		uint64_t bit = 1ull << (id % VRING_IN_FLIGHT_WORD_BITS);
		uint16_t s;

		if (VRING_UNLIKELY(id >= num || !(bits[id / VRING_IN_FLIGHT_WORD_BITS] & bit))) {
			*err = VRING_ERR_PUSH_NOT_IN_FLIGHT;
			break;
		}
		/* D-SR-11 holds for packed too: len never overstates what the device could write */
		if (VRING_UNLIKELY(len > wbytes[id])) {
			*err = VRING_ERR_PUSH_LEN;
			break;
		}
		bits[id / VRING_IN_FLIGHT_WORD_BITS] ^= bit;
		s = slots[id];
		freed += s;
		/* §2.8.9: with IN_ORDER the next used descriptor covers a completely used buffer */
		if (!p.covered) {
			if (p.open)
				packed_write_used(q, p.id, p.len, p.slots);
			p.open = true;
			p.slots = 0;
		}
		p.slots = (uint16_t)(p.slots + s);
		p.id = id;
		p.len = len;
		p.covered = in_order && len == wbytes[id];
	}
	q->num_in_flight = (uint16_t)(q->num_in_flight - k);
	q->slots_in_flight = (uint16_t)(q->slots_in_flight - freed);
	q->pending = p.open;
	q->pending_full = p.covered;
	q->pending_id = p.id;
	q->pending_slots = p.slots;
	q->pending_len = p.len;
	return k;
}

/*
 * vring_packed_dev_push_burst() - see <vireo/vring.h>. The used descriptors
 * are written here, the batch's first flags at flush (D-PR-05, one release
 * store for the whole batch). Fails like push.
 */
int vring_packed_dev_push_burst(struct vring_packed_dev *q, const uint16_t *ids,
				const uint32_t *written, unsigned int n)
{
	enum vring_error err = VRING_ERR_NONE;
	unsigned int k;

	if (VRING_UNLIKELY(q->error))
		return -EIO;
	/* Two copies of the loop: nothing written (transmit queues) needs no lengths. */
	k = written ? packed_push_some(q, ids, written, n, &err)
		    : packed_push_some(q, ids, NULL, n, &err);
	if (VRING_UNLIKELY(k != n))
		return packed_fail(q, err);
	return 0;
}

/*
 * vring_packed_dev_push() - see <vireo/vring.h>: a burst of one.
 * Fails with -EPROTO (id not in flight, or @written above its writable
 * bytes; the queue is then broken) or -EIO (already broken).
 */
int vring_packed_dev_push(struct vring_packed_dev *q, uint16_t id, uint32_t written)
{
	return vring_packed_dev_push_burst(q, &id, &written, 1);
}

void vring_packed_dev_flush(struct vring_packed_dev *q)
{
	if (q->error)
		return;
	if (q->pending) {
		packed_write_used(q, q->pending_id, q->pending_len, q->pending_slots);
		q->pending = false;
	}
	if (!q->batch_open)
		return;
	/*
	 * D-PR-05: the batch's first flags last, one release store: everything
	 * written above is visible first. Pairs with the driver's acquire read of
	 * the used flags (drv "read_memory_barrier" of §2.8.21).
	 * GUEST: batch_idx < num, the ring validated at init.
	 */
	vring_store_release16(&q->desc[q->batch_idx].flags, q->batch_flags);
	q->batch_open = false;
	q->published_idx = q->used_idx;
	q->published_wrap = q->used_wrap;
	q->signal_pending = true;
}

/* §2.8.10 with EVENT_IDX: was the descriptor at off_wrap used by the last flush? */
static bool packed_event_crossed(const struct vring_packed_dev *q, uint16_t off_wrap,
				 uint32_t old_pos, uint32_t new_pos)
{
	uint32_t span = 2u * q->num;
	uint16_t off = off_wrap & 0x7fffu;
	uint32_t event;

	if (off >= q->num)
		return true; /* nonsense from the driver: notifying is always safe */
	event = packed_lap_pos(q, off, off_wrap >> PVIRTQ_EVENT_WRAP_SHIFT);
	/* virtq_need_event() in lap positions: event in [old, new) */
	return (new_pos + span - event - 1u) % span < (new_pos + span - old_pos) % span;
}

bool vring_packed_dev_need_notify(struct vring_packed_dev *q)
{
	uint32_t old_pos = packed_lap_pos(q, q->signalled_idx, q->signalled_wrap);
	uint32_t new_pos = packed_lap_pos(q, q->published_idx, q->published_wrap);
	bool valid = q->signalled_valid;
	uint16_t flags, off_wrap;

	/* A flag, not old != new: lap positions repeat every 2 * num slots. */
	if (q->error || !q->signal_pending)
		return false;
	q->signal_pending = false;
	/*
	 * The used flags store must be visible before we read the driver's
	 * suppression structure. Pairs with the driver's barrier between
	 * writing its event flags and re-reading the used flags (§2.8.21 note).
	 */
	vring_mb();
	q->signalled_idx = q->published_idx;
	q->signalled_wrap = q->published_wrap;
	q->signalled_valid = true;
	/* GUEST: driver_event validated at init; each word read once. */
	off_wrap = vring_read_once16(&q->driver_event->off_wrap);
	flags = vring_read_once16(&q->driver_event->flags) & 0x3u;
	if (flags == RING_EVENT_FLAGS_DISABLE)
		return false;
	/* DESC is valid only with EVENT_IDX; ENABLE and the reserved 3 notify */
	if (flags != RING_EVENT_FLAGS_DESC || !q->event_idx || !valid)
		return true;
	return packed_event_crossed(q, off_wrap, old_pos, new_pos);
}

void vring_packed_dev_disable_notify(struct vring_packed_dev *q)
{
	if (q->error || !q->notify_enabled)
		return;
	q->notify_enabled = false;
	/* GUEST: device_event validated at init. A hint: the driver may kick anyway. */
	vring_write_once16(&q->device_event->flags, RING_EVENT_FLAGS_DISABLE);
}

bool vring_packed_dev_enable_notify(struct vring_packed_dev *q)
{
	if (q->error)
		return false;
	/*
	 * GUEST: device_event validated at init. With EVENT_IDX, DESC: one kick
	 * when the driver reaches our position, not one per buffer (ENABLE made
	 * a driver adding while we woke up kick for each).
	 */
	if (q->event_idx) {
		/* Written every time: whatever set the flags before (init: ENABLE), DESC now. */
		packed_ask_kick_at_next(q);
		vring_write_once16(&q->device_event->flags, RING_EVENT_FLAGS_DESC);
	} else if (!q->notify_enabled) {
		vring_write_once16(&q->device_event->flags, RING_EVENT_FLAGS_ENABLE);
	}
	q->notify_enabled = true;
	/*
	 * The flags must be visible before we look at the ring again, or a driver
	 * adding meanwhile could skip the kick. Pairs with R-PR-09's barrier.
	 */
	vring_mb();
	return vring_packed_dev_has_avail(q);
}

bool vring_packed_dev_has_avail(struct vring_packed_dev *q)
{
	uint16_t flags;

	if (q->error)
		return true;
	flags = packed_flags_acquire(q, q->last_avail_idx);
	/* Anything with AVAIL at the wrap value is either a buffer or an error for pop. */
	return !!(flags & VIRTQ_DESC_F_AVAIL) == q->avail_wrap;
}

/* The packed ring behind the device-side format seam (struct vring_dev_ops). */

/*
 * vring_packed_dev_copy_popped() - see <vireo/vring.h>. The slots are read
 * again: a driver that rewrote them since the pop only changes the copy,
 * which is checked like ring descriptors if it is ever resubmitted.
 */
uint16_t vring_packed_dev_copy_popped(const struct vring_packed_dev *q, uint16_t id,
				      struct pvirtq_desc *out, uint16_t cap)
{
	uint32_t pos;
	uint16_t n, idx;

	if (q->error || id >= q->num || !vring_in_flight_test(q->in_flight, id))
		return 0;
	n = q->slots[id];
	if (n == 0 || n > cap)
		return 0;
	pos = (packed_lap_pos(q, q->last_avail_idx, q->avail_wrap) + 2u * q->num - n) %
	      (2u * q->num);
	idx = (uint16_t)(pos < q->num ? pos : pos - q->num);
	for (uint16_t i = 0; i < n; i++) {
		/* GUEST: idx < num, the ring validated at init. */
		vring_pdesc_read(&q->desc[idx], &out[i], true);
		idx = (uint16_t)(idx + 1u == q->num ? 0u : idx + 1u);
	}
	return n;
}

/*
 * vring_packed_dev_pop_descs() - see <vireo/vring.h>. The descriptors are
 * copies from the inflight region, checked as if read from the ring: NEXT
 * on all but the last, the indirect rules, the id, the chain's length.
 */
int vring_packed_dev_pop_descs(struct vring_packed_dev *q, const struct pvirtq_desc *d, uint16_t n,
			       struct vring_chain *chain, struct vring_iov *iov,
			       unsigned int iov_cap)
{
	struct vring_chain_acc w;
	enum vring_error err = VRING_ERR_NONE;
	uint16_t id;

	if (VRING_UNLIKELY(q->error))
		return -EIO;
	q->map_pending = false;
	if (n == 0 || n > q->num - q->slots_in_flight)
		return packed_fail(q, VRING_ERR_CHAIN_LENGTH);
	vring_chain_acc_init(&w, &q->mem, &q->mem_last, iov, iov_cap);
	for (uint16_t i = 0; i < n && !err; i++) {
		bool more = d[i].flags & VIRTQ_DESC_F_NEXT;

		if (more != (i + 1u < n))
			return packed_fail(q, VRING_ERR_DESC_FLAGS);
		if (d[i].flags & VIRTQ_DESC_F_INDIRECT) {
			if (!q->indirect)
				return packed_fail(q, VRING_ERR_INDIRECT_FEATURE);
			err = n > 1 ? VRING_ERR_INDIRECT_NEXT : packed_walk_indirect(q, &w, &d[i]);
		} else {
			err = vring_chain_acc_add(&w, d[i].addr, d[i].len,
						  d[i].flags & VIRTQ_DESC_F_WRITE);
		}
	}
	if (err)
		return packed_fail(q, err);
	/* §2.8.6: the buffer id is in the last descriptor of the list */
	id = d[n - 1].id;
	if (id >= q->num)
		return packed_fail(q, VRING_ERR_HEAD_RANGE);
	if (vring_in_flight_test(q->in_flight, id))
		return packed_fail(q, VRING_ERR_HEAD_IN_FLIGHT);
	vring_chain_acc_fill(&w, id, chain);
	vring_in_flight_flip(q->in_flight, id);
	q->writable_bytes[id] = chain->writable_bytes;
	q->slots[id] = n;
	q->slots_in_flight = (uint16_t)(q->slots_in_flight + n);
	q->num_in_flight++;
	return 0;
}

/* vring_packed_dev_slot_flags() - see <vireo/vring.h>. */
uint16_t vring_packed_dev_slot_flags(const struct vring_packed_dev *q, uint16_t idx)
{
	if (q->error || idx >= q->num)
		return 0;
	return packed_flags_acquire(q, idx);
}
