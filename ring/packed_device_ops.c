// SPDX-License-Identifier: MIT
/* The packed ring behind the device-side format seam (struct vring_dev_ops), and its getters. */
#include <errno.h>

#include <vireo/vring.h>

/* The queue's state read back, for the seam and for callers of the format's own functions. */
void vring_packed_dev_get_position(const struct vring_packed_dev *q, struct vring_dev_position *pos)
{
	pos->avail_idx = q->last_avail_idx;
	pos->avail_wrap = q->avail_wrap;
	pos->used_idx = q->used_idx;
	pos->used_wrap = q->used_wrap;
}

unsigned int vring_packed_dev_in_flight(const struct vring_packed_dev *q)
{
	return q->num_in_flight;
}

enum vring_error vring_packed_dev_error(const struct vring_packed_dev *q)
{
	return q->error;
}

static int packed_ops_pop_descs(union vring_dev_ring *r, const struct pvirtq_desc *d, uint16_t n,
				struct vring_chain *chain, struct vring_iov *iov,
				unsigned int iov_cap)
{
	return vring_packed_dev_pop_descs(&r->packed, d, n, chain, iov, iov_cap);
}

static uint16_t packed_ops_copy_popped(const union vring_dev_ring *r, uint16_t id,
				       struct pvirtq_desc *out, uint16_t cap)
{
	return vring_packed_dev_copy_popped(&r->packed, id, out, cap);
}

static uint16_t packed_ops_slot_flags(const union vring_dev_ring *r, uint16_t idx)
{
	return vring_packed_dev_slot_flags(&r->packed, idx);
}

static int packed_ops_init(union vring_dev_ring *r, const struct vring_dev_config *cfg)
{
	return vring_packed_dev_init(&r->packed, cfg);
}

static int packed_ops_pop(union vring_dev_ring *r, struct vring_chain *chain, struct vring_iov *iov,
			  unsigned int iov_cap)
{
	return vring_packed_dev_pop(&r->packed, chain, iov, iov_cap);
}

static int packed_ops_pop_burst(union vring_dev_ring *r, struct vring_chain *chains,
				unsigned int max, struct vring_iov *iov, unsigned int iov_len,
				unsigned int iov_cap)
{
	return vring_packed_dev_pop_burst(&r->packed, chains, max, iov, iov_len, iov_cap);
}

static int packed_ops_push_burst(union vring_dev_ring *r, const uint16_t *ids,
				 const uint32_t *written, unsigned int n)
{
	return vring_packed_dev_push_burst(&r->packed, ids, written, n);
}

static int packed_ops_unpop(union vring_dev_ring *r, uint16_t id)
{
	return vring_packed_dev_unpop(&r->packed, id);
}

static int packed_ops_push(union vring_dev_ring *r, uint16_t id, uint32_t written)
{
	return vring_packed_dev_push(&r->packed, id, written);
}

static void packed_ops_flush(union vring_dev_ring *r)
{
	vring_packed_dev_flush(&r->packed);
}

static bool packed_ops_need_notify(union vring_dev_ring *r)
{
	return vring_packed_dev_need_notify(&r->packed);
}

static void packed_ops_disable_notify(union vring_dev_ring *r)
{
	vring_packed_dev_disable_notify(&r->packed);
}

static bool packed_ops_enable_notify(union vring_dev_ring *r)
{
	return vring_packed_dev_enable_notify(&r->packed);
}

static bool packed_ops_has_avail(union vring_dev_ring *r)
{
	return vring_packed_dev_has_avail(&r->packed);
}

static void packed_ops_get_position(const union vring_dev_ring *r, struct vring_dev_position *pos)
{
	vring_packed_dev_get_position(&r->packed, pos);
}

/* Only for a ring with nothing in flight; a position outside the ring is ignored. */
static void packed_ops_set_position(union vring_dev_ring *r, const struct vring_dev_position *pos)
{
	struct vring_packed_dev *q = &r->packed;

	if (q->error || q->num_in_flight || pos->avail_idx >= q->num || pos->used_idx >= q->num)
		return;
	q->last_avail_idx = pos->avail_idx;
	q->avail_wrap = pos->avail_wrap;
	q->used_idx = pos->used_idx;
	q->used_wrap = pos->used_wrap;
	q->published_idx = pos->used_idx;
	q->published_wrap = pos->used_wrap;
	q->pending = false;
	q->batch_open = false;
	q->signalled_valid = false;
	q->signal_pending = false;
	q->slots_in_flight = 0;
}

static unsigned int packed_ops_in_flight(const union vring_dev_ring *r)
{
	return vring_packed_dev_in_flight(&r->packed);
}

static enum vring_error packed_ops_error(const union vring_dev_ring *r)
{
	return vring_packed_dev_error(&r->packed);
}

static bool packed_ops_map_pending(const union vring_dev_ring *r)
{
	return r->packed.map_pending;
}

const struct vring_dev_ops vring_packed_dev_ops = {
	.name = "packed",
	.state_size = vring_packed_dev_state_size,
	.init = packed_ops_init,
	.pop = packed_ops_pop,
	.pop_burst = packed_ops_pop_burst,
	.push_burst = packed_ops_push_burst,
	.pop_descs = packed_ops_pop_descs,
	.copy_popped = packed_ops_copy_popped,
	.slot_flags = packed_ops_slot_flags,
	.unpop = packed_ops_unpop,
	.push = packed_ops_push,
	.flush = packed_ops_flush,
	.need_notify = packed_ops_need_notify,
	.disable_notify = packed_ops_disable_notify,
	.enable_notify = packed_ops_enable_notify,
	.has_avail = packed_ops_has_avail,
	.get_position = packed_ops_get_position,
	.set_position = packed_ops_set_position,
	.in_flight = packed_ops_in_flight,
	.error = packed_ops_error,
	.map_pending = packed_ops_map_pending,
};
