// SPDX-License-Identifier: MIT
/*
 * The device side of a split virtqueue (virtio 1.2 §2.7). Nothing the driver
 * wrote is trusted: the geometry is validated once at init (STYLE.md
 * checklist item 1), each pop checks the avail index distance and the head
 * (item 2) before chain.c walks the chain (items 3-4), and each push checks
 * the head is in flight and the length is within what was offered (item 5).
 *
 * Fast-path choices: avail->idx is re-read only when the cached value is
 * exhausted; used->idx is stored once per vring_split_dev_flush().
 */
#include <errno.h>

#include <vireo/vring.h>

#include "ring/chain.h"
#include "ring/in_flight_bits.h"
#include "ring/platform.h"

/* §2.7.8: avail_event is the word after the used ring's @num entries. */
static inline le16 *dev_avail_event(const struct vring_split_dev *q)
{
	return (le16 *)(void *)((uint8_t *)q->used + virtq_used_size(q->num) - sizeof(le16));
}

/* §2.7.6: used_event is the word after the avail ring's @num entries. */
static inline const le16 *dev_used_event(const struct vring_split_dev *q)
{
	return (const le16 *)(const void *)((const uint8_t *)q->avail + virtq_avail_size(q->num) -
					    sizeof(le16));
}

size_t vring_split_dev_state_size(uint16_t num)
{
	return vring_in_flight_bytes(num) + ((size_t)num * sizeof(uint32_t) + 7u) / 8u * 8u;
}

/* Record the first protocol violation; it is sticky. */
static int dev_fail(struct vring_split_dev *q, enum vring_error err)
{
	/* vhost-user IOTLB miss: every pop fails before it consumes anything, so it can be retried. */
	if (err == VRING_ERR_MAP_PENDING) {
		q->map_pending = true; /* the model can tell this from an empty ring */
		return -EAGAIN;
	}
	q->error = err;
	return -EPROTO;
}

static void dev_reset_fields(struct vring_split_dev *q)
{
	q->desc = NULL;
	q->avail = NULL;
	q->used = NULL;
	q->in_flight = NULL;
	q->writable_bytes = NULL;
	q->mem_last = NULL;
	q->num = 0;
	q->last_avail_idx = 0;
	q->avail_idx_shadow = 0;
	q->used_idx = 0;
	q->signalled_used = 0;
	q->used_idx_published = 0;
	q->num_in_flight = 0;
	q->signalled_used_valid = false;
	q->notify_enabled = true;
	q->event_idx = false;
	q->indirect = false;
	q->map_pending = false;
	q->error = VRING_ERR_GEOMETRY;
}

/* §2.7: size a power of two within the device maximum; state usable. */
static bool dev_config_ok(const struct vring_split_dev_config *cfg)
{
	return vring_is_pow2(cfg->num) && cfg->max_num <= VIRTQ_SPLIT_MAX_SIZE &&
	       cfg->num <= cfg->max_num && cfg->mem.translate && cfg->state &&
	       (uintptr_t)cfg->state % sizeof(uint64_t) == 0;
}

/*
 * Make the ring's suppression words say what notify_enabled (true) says: a
 * previous user of the ring (another back-end, or ours in poll mode) may
 * have left kicks suppressed, and a driver would then never kick us
 * (§2.7.10, D-SR-12/13). GUEST: used (flags, avail_event) validated by init.
 */
static void dev_publish_notify_state(struct vring_split_dev *q)
{
	vring_write_once16(&q->used->flags, 0);
	if (q->event_idx)
		vring_write_once16(dev_avail_event(q), q->last_avail_idx);
}

/*
 * vring_split_dev_init() - see <vireo/vring.h>.
 * Fails with -EINVAL (error GEOMETRY) on a bad size, misaligned part or a
 * part not inside one guest region.
 */
int vring_split_dev_init(struct vring_split_dev *q, const struct vring_split_dev_config *cfg)
{
	dev_reset_fields(q);
	if (!cfg || !dev_config_ok(cfg))
		return -EINVAL;
	q->mem = cfg->mem;
	/* §2.7 (R-SR-01): alignments 16/2/4; sizes include the event words */
	q->desc = vring_map_ring_part(&q->mem, cfg->desc_addr, virtq_desc_table_size(cfg->num),
				      VIRTQ_DESC_ALIGN);
	q->avail = vring_map_ring_part(&q->mem, cfg->avail_addr, virtq_avail_size(cfg->num),
				       VIRTQ_AVAIL_ALIGN);
	q->used = vring_map_ring_part(&q->mem, cfg->used_addr, virtq_used_size(cfg->num),
				      VIRTQ_USED_ALIGN);
	if (!q->desc || !q->avail || !q->used)
		return -EINVAL;
	q->in_flight = cfg->state;
	q->writable_bytes =
		(uint32_t *)(void *)((char *)cfg->state + vring_in_flight_bytes(cfg->num));
	/* Atomic stores: a plain loop could become a memset call (free-standing). */
	for (size_t w = 0; w < vring_in_flight_bytes(cfg->num) / sizeof(uint64_t); w++)
		vring_write_once64(&q->in_flight[w], 0);
	q->num = cfg->num;
	q->last_avail_idx = cfg->last_avail_idx;
	q->avail_idx_shadow = cfg->last_avail_idx;
	/* GUEST: used validated just above. Resume where the ring says (0 when fresh). */
	q->used_idx = vring_read_once16(&q->used->idx);
	q->used_idx_published = q->used_idx;
	/*
	 * A (re)started ring knows nothing of what was signalled before: the
	 * first flush notifies whatever used_event says (vhost, QEMU and DPDK
	 * also invalidate it at enable), or a notification due before a
	 * restart is lost for good.
	 */
	q->signalled_used = q->used_idx;
	q->signalled_used_valid = false;
	q->event_idx = cfg->event_idx;
	q->indirect = cfg->indirect;
	q->error = VRING_ERR_NONE;
	dev_publish_notify_state(q);
	return 0;
}

/*
 * Re-read avail->idx. Return: 0 if chains are available, -EAGAIN if none,
 * -EPROTO if the driver moved it more than a queue ahead (§2.7.6, R-SR-07).
 */
static int dev_avail_reload(struct vring_split_dev *q)
{
	/*
	 * GUEST: avail validated at init. Pairs with the release store in
	 * virtqueue_kick_prepare(): ring entries and descriptors before idx.
	 */
	uint16_t idx = vring_load_acquire16(&q->avail->idx);

	if (VRING_UNLIKELY((uint16_t)(idx - q->last_avail_idx) > q->num))
		return dev_fail(q, VRING_ERR_AVAIL_IDX);
	q->avail_idx_shadow = idx;
	return idx == q->last_avail_idx ? -EAGAIN : 0;
}

/*
 * The ring looks empty while kicks are wanted, so the caller may now sleep
 * until one comes. Our avail_event store can still sit in this CPU's store
 * buffer, and a driver adding meanwhile may read the old value and skip its
 * kick (§2.7.10): make the request visible, then look once more.
 * Pairs with vring_mb() in virtqueue_kick_prepare().
 */
static int dev_avail_recheck(struct vring_split_dev *q)
{
	/* GUEST: used (and its avail_event word) validated at init. */
	if (q->event_idx)
		vring_write_once16(dev_avail_event(q), q->last_avail_idx);
	vring_mb();
	return dev_avail_reload(q);
}

/*
 * Take the chain at last_avail_idx (the caller saw it available). Every
 * check of checklist items 2-4 is here, so a burst checks each chain as a
 * single pop does. Return: 0, or -EPROTO (the queue is now broken).
 */
static int dev_pop_one(struct vring_split_dev *q, struct vring_chain *chain, struct vring_iov *iov,
		       unsigned int iov_cap)
{
	enum vring_error err;
	uint64_t *word, bit;
	uint16_t head;

	/* GUEST: avail validated at init for num entries; the slot is masked. */
	head = vring_read_once16(&q->avail->ring[q->last_avail_idx & (q->num - 1u)]);
	if (VRING_UNLIKELY(head >= q->num))
		return dev_fail(q, VRING_ERR_HEAD_RANGE);
	word = &q->in_flight[head / VRING_IN_FLIGHT_WORD_BITS];
	bit = 1ull << (head % VRING_IN_FLIGHT_WORD_BITS);
	if (VRING_UNLIKELY(*word & bit))
		return dev_fail(q, VRING_ERR_HEAD_IN_FLIGHT);
	err = vring_split_chain_walk(q, head, chain, iov, iov_cap);
	if (VRING_UNLIKELY(err))
		return dev_fail(q, err);
	*word |= bit;
	q->writable_bytes[head] = chain->writable_bytes;
	q->num_in_flight++;
	q->last_avail_idx++;
	return 0;
}

/*
 * Is a chain available? Re-reads avail->idx only when the cached one is
 * used up; the recheck (before the caller may sleep) only when @first.
 * Return: 0, -EAGAIN or -EPROTO.
 */
static int dev_avail_next(struct vring_split_dev *q, bool first)
{
	int r;

	if (q->last_avail_idx != q->avail_idx_shadow)
		return 0;
	r = dev_avail_reload(q);
	if (r == -EAGAIN && first && q->notify_enabled)
		r = dev_avail_recheck(q);
	return r;
}

/*
 * vring_split_dev_pop_burst() - see <vireo/vring.h>.
 * Fails with -EAGAIN (empty), -EPROTO (the first chain broke the ring) or
 * -EIO (already broken); a later chain that breaks it ends the burst.
 */
int vring_split_dev_pop_burst(struct vring_split_dev *q, struct vring_chain *chains,
			      unsigned int max, struct vring_iov *iov, unsigned int iov_len,
			      unsigned int iov_cap)
{
	unsigned int n = 0, used = 0;
	int r = 0;

	if (VRING_UNLIKELY(q->error))
		return -EIO;
	q->map_pending = false;
	while (n < max && iov_len - used >= iov_cap) {
		r = dev_avail_next(q, n == 0);
		if (r)
			break;
		r = dev_pop_one(q, &chains[n], iov + used, iov_cap);
		if (r)
			break;
		used += (unsigned int)chains[n].readable + chains[n].writable;
		n++;
	}
	/*
	 * §2.7.10: with kicks wanted, ask for one once the driver adds past
	 * these (once per burst). GUEST: used (avail_event) validated at init.
	 */
	if (n && q->event_idx && q->notify_enabled && !q->error)
		vring_write_once16(dev_avail_event(q), q->last_avail_idx);
	if (n)
		return (int)n;
	return r ? r : -EAGAIN;
}

/*
 * vring_split_dev_pop() - see <vireo/vring.h>: a burst of one.
 * Fails with -EAGAIN (empty), -EPROTO (driver broke the ring: see
 * vring_split_dev_error()) or -EIO (already broken).
 */
int vring_split_dev_pop(struct vring_split_dev *q, struct vring_chain *chain, struct vring_iov *iov,
			unsigned int iov_cap)
{
	int r = vring_split_dev_pop_burst(q, chain, 1, iov, iov_cap, iov_cap);

	return r > 0 ? 0 : r;
}

/*
 * vring_split_dev_pop_head() - see <vireo/vring.h>.
 * Fails like pop: -EPROTO (head out of range or in flight, chain invalid)
 * or -EIO. The head comes from the inflight region, which the front-end
 * could forge: it is checked like one read from the avail ring.
 */
int vring_split_dev_pop_head(struct vring_split_dev *q, uint16_t head, struct vring_chain *chain,
			     struct vring_iov *iov, unsigned int iov_cap)
{
	enum vring_error err;

	if (VRING_UNLIKELY(q->error))
		return -EIO;
	q->map_pending = false;
	if (VRING_UNLIKELY(head >= q->num))
		return dev_fail(q, VRING_ERR_HEAD_RANGE);
	if (VRING_UNLIKELY(vring_in_flight_test(q->in_flight, head)))
		return dev_fail(q, VRING_ERR_HEAD_IN_FLIGHT);
	err = vring_split_chain_walk(q, head, chain, iov, iov_cap);
	if (VRING_UNLIKELY(err))
		return dev_fail(q, err);
	vring_in_flight_flip(q->in_flight, head);
	q->writable_bytes[head] = chain->writable_bytes;
	q->num_in_flight++;
	return 0;
}

/*
 * vring_split_dev_unpop() - see <vireo/vring.h>.
 * Fails with -EINVAL (@head not in flight, or no pop to undo) or -EIO.
 * The caller, not the driver, names @head, so a mistake is not a protocol
 * violation. The chain is walked and checked again when popped again.
 */
int vring_split_dev_unpop(struct vring_split_dev *q, uint16_t head)
{
	if (VRING_UNLIKELY(q->error))
		return -EIO;
	if (head >= q->num || !vring_in_flight_test(q->in_flight, head) || q->num_in_flight == 0)
		return -EINVAL;
	vring_in_flight_flip(q->in_flight, head);
	q->num_in_flight--;
	q->last_avail_idx--;
	/* GUEST: used (and its avail_event word) validated at init. Ask again for this one. */
	if (q->event_idx && q->notify_enabled)
		vring_write_once16(dev_avail_event(q), q->last_avail_idx);
	return 0;
}

/*
 * Push @heads[0..@n) (@written[k] bytes, NULL: 0) into the used ring in
 * order, each checked (checklist item 5) before its entry is written; the
 * first bad one ends the burst. used_idx stays in a local across the burst
 * (the entry stores could alias q's fields); flush publishes it once.
 * Return: heads pushed; *@err the reason the burst stopped early.
 */
static VRING_ALWAYS_INLINE unsigned int dev_push_some(struct vring_split_dev *q,
						      const uint16_t *heads,
						      const uint32_t *written, unsigned int n,
						      enum vring_error *err)
{
	const uint32_t *wbytes = q->writable_bytes;
	struct virtq_used_elem *ring = q->used->ring;
	const uint16_t num = q->num;
	uint16_t used_idx = q->used_idx;
	unsigned int k;

	for (k = 0; k < n; k++) {
		uint16_t head = heads[k];
		uint32_t len = written ? written[k] : 0;
		struct virtq_used_elem *e;

		if (VRING_UNLIKELY(head >= num || !vring_in_flight_test(q->in_flight, head))) {
			*err = VRING_ERR_PUSH_NOT_IN_FLIGHT;
			break;
		}
		/* §2.7.8 (D-SR-11): len never overstates what the device could write */
		if (VRING_UNLIKELY(len > wbytes[head])) {
			*err = VRING_ERR_PUSH_LEN;
			break;
		}
		/* GUEST: used validated at init for num entries; the slot is masked. */
		e = &ring[used_idx & (num - 1u)];
		vring_write_once32(&e->id, head);
		vring_write_once32(&e->len, len);
		vring_in_flight_flip(q->in_flight, head);
		used_idx++;
	}
	q->used_idx = used_idx;
	q->num_in_flight = (uint16_t)(q->num_in_flight - k);
	return k;
}

/*
 * vring_split_dev_push() - see <vireo/vring.h>: a burst of one.
 * Fails with -EPROTO (head not in flight, or @written above the chain's
 * writable bytes; the queue is then broken) or -EIO (already broken).
 */
int vring_split_dev_push(struct vring_split_dev *q, uint16_t head, uint32_t written)
{
	return vring_split_dev_push_burst(q, &head, &written, 1);
}

/*
 * vring_split_dev_push_burst() - see <vireo/vring.h>. The entries are
 * written here, used->idx once at flush (D-SR-10). Fails like push.
 */
int vring_split_dev_push_burst(struct vring_split_dev *q, const uint16_t *heads,
			       const uint32_t *written, unsigned int n)
{
	enum vring_error err = VRING_ERR_NONE;
	unsigned int k;

	if (VRING_UNLIKELY(q->error))
		return -EIO;
	/* Two copies of the loop: nothing written (transmit queues) needs no lengths. */
	k = written ? dev_push_some(q, heads, written, n, &err)
		    : dev_push_some(q, heads, NULL, n, &err);
	if (VRING_UNLIKELY(k != n))
		return dev_fail(q, err);
	return 0;
}

void vring_split_dev_flush(struct vring_split_dev *q)
{
	if (q->error || q->used_idx == q->used_idx_published)
		return;
	/*
	 * §2.7.8 (D-SR-10): used entries before used->idx. GUEST: used validated
	 * at init. Pairs with the acquire load in drv_used_reload().
	 */
	vring_store_release16(&q->used->idx, q->used_idx);
	q->used_idx_published = q->used_idx;
}

bool vring_split_dev_need_notify(struct vring_split_dev *q)
{
	uint16_t old_idx = q->signalled_used;
	uint16_t new_idx = q->used_idx_published;
	bool valid = q->signalled_used_valid;

	/* Nothing published since the last decision (or since init): nothing to say. */
	if (q->error || old_idx == new_idx)
		return false;
	/*
	 * The used->idx store must be visible before we read the driver's
	 * suppression word. Pairs with vring_mb() in drv_arm_cb() and
	 * drv_used_refill() (split_driver.c).
	 */
	vring_mb();
	q->signalled_used = new_idx;
	q->signalled_used_valid = true;
	/*
	 * §2.7.7.2 (D-SR-08/09): with EVENT_IDX only used_event counts.
	 * GUEST: avail (flags and used_event words) validated at init.
	 */
	if (q->event_idx)
		return !valid ||
		       virtq_need_event(vring_read_once16(dev_used_event(q)), new_idx, old_idx);
	/* D-SR-06/07: without it, used_event is ignored and flags decide */
	return !(vring_read_once16(&q->avail->flags) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

void vring_split_dev_disable_notify(struct vring_split_dev *q)
{
	if (q->error || !q->notify_enabled)
		return;
	q->notify_enabled = false;
	/*
	 * §2.7.10 (D-SR-12/13): flags is 0 or 1 without EVENT_IDX, always 0
	 * with it. GUEST: used validated at init.
	 */
	if (!q->event_idx)
		vring_write_once16(&q->used->flags, VIRTQ_USED_F_NO_NOTIFY);
}

bool vring_split_dev_enable_notify(struct vring_split_dev *q)
{
	if (q->error)
		return false;
	/* GUEST: used (flags and avail_event words) validated at init. */
	if (q->event_idx)
		vring_write_once16(dev_avail_event(q), q->last_avail_idx);
	else if (!q->notify_enabled)
		vring_write_once16(&q->used->flags, 0);
	q->notify_enabled = true;
	/*
	 * The suppression word must be visible before we re-read avail->idx, or
	 * a driver adding meanwhile could skip the kick. Pairs with vring_mb()
	 * in virtqueue_kick_prepare().
	 */
	vring_mb();
	return vring_split_dev_has_avail(q);
}

bool vring_split_dev_has_avail(struct vring_split_dev *q)
{
	if (q->error)
		return true;
	if (q->last_avail_idx != q->avail_idx_shadow)
		return true;
	return dev_avail_reload(q) != -EAGAIN;
}

uint16_t vring_split_dev_get_last_avail(const struct vring_split_dev *q)
{
	return q->last_avail_idx;
}

void vring_split_dev_set_last_avail(struct vring_split_dev *q, uint16_t idx)
{
	q->last_avail_idx = idx;
	q->avail_idx_shadow = idx;
}

unsigned int vring_split_dev_in_flight(const struct vring_split_dev *q)
{
	return q->num_in_flight;
}

enum vring_error vring_split_dev_error(const struct vring_split_dev *q)
{
	return q->error;
}
