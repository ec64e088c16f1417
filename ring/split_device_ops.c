// SPDX-License-Identifier: MIT
/* The split ring behind the device-side format seam (struct vring_dev_ops). */
#include <errno.h>

#include <vireo/vring.h>

/* Return: 0 or -EINVAL (vring_split_dev_init). Split keeps no used position: used->idx is in the ring. */
static int split_ops_init(union vring_dev_ring *r, const struct vring_dev_config *cfg)
{
	struct vring_split_dev_config c = {
		.num = cfg->num,
		.max_num = cfg->max_num,
		.desc_addr = cfg->desc_addr,
		.avail_addr = cfg->driver_addr,
		.used_addr = cfg->device_addr,
		.last_avail_idx = cfg->position.avail_idx,
		.event_idx = cfg->event_idx,
		.indirect = cfg->indirect,
		.mem = cfg->mem,
		.state = cfg->state,
	};

	return vring_split_dev_init(&r->split, &c);
}

static int split_ops_pop(union vring_dev_ring *r, struct vring_chain *chain, struct vring_iov *iov,
			 unsigned int iov_cap)
{
	return vring_split_dev_pop(&r->split, chain, iov, iov_cap);
}

static int split_ops_pop_head(union vring_dev_ring *r, uint16_t head, struct vring_chain *chain,
			      struct vring_iov *iov, unsigned int iov_cap)
{
	return vring_split_dev_pop_head(&r->split, head, chain, iov, iov_cap);
}

static int split_ops_pop_burst(union vring_dev_ring *r, struct vring_chain *chains,
			       unsigned int max, struct vring_iov *iov, unsigned int iov_len,
			       unsigned int iov_cap)
{
	return vring_split_dev_pop_burst(&r->split, chains, max, iov, iov_len, iov_cap);
}

static int split_ops_push_burst(union vring_dev_ring *r, const uint16_t *heads,
				const uint32_t *written, unsigned int n)
{
	return vring_split_dev_push_burst(&r->split, heads, written, n);
}

static int split_ops_unpop(union vring_dev_ring *r, uint16_t head)
{
	return vring_split_dev_unpop(&r->split, head);
}

static int split_ops_push(union vring_dev_ring *r, uint16_t head, uint32_t written)
{
	return vring_split_dev_push(&r->split, head, written);
}

static void split_ops_flush(union vring_dev_ring *r)
{
	vring_split_dev_flush(&r->split);
}

static bool split_ops_need_notify(union vring_dev_ring *r)
{
	return vring_split_dev_need_notify(&r->split);
}

static void split_ops_disable_notify(union vring_dev_ring *r)
{
	vring_split_dev_disable_notify(&r->split);
}

static bool split_ops_enable_notify(union vring_dev_ring *r)
{
	return vring_split_dev_enable_notify(&r->split);
}

static bool split_ops_has_avail(union vring_dev_ring *r)
{
	return vring_split_dev_has_avail(&r->split);
}

static void split_ops_get_position(const union vring_dev_ring *r, struct vring_dev_position *pos)
{
	pos->avail_idx = vring_split_dev_get_last_avail(&r->split);
	pos->avail_wrap = true;
	pos->used_idx = r->split.used_idx;
	pos->used_wrap = true;
}

static void split_ops_set_position(union vring_dev_ring *r, const struct vring_dev_position *pos)
{
	vring_split_dev_set_last_avail(&r->split, pos->avail_idx);
}

static unsigned int split_ops_in_flight(const union vring_dev_ring *r)
{
	return vring_split_dev_in_flight(&r->split);
}

static enum vring_error split_ops_error(const union vring_dev_ring *r)
{
	return vring_split_dev_error(&r->split);
}

static bool split_ops_map_pending(const union vring_dev_ring *r)
{
	return r->split.map_pending;
}

const struct vring_dev_ops vring_split_dev_ops = {
	.name = "split",
	.state_size = vring_split_dev_state_size,
	.init = split_ops_init,
	.pop = split_ops_pop,
	.pop_head = split_ops_pop_head,
	.pop_burst = split_ops_pop_burst,
	.push_burst = split_ops_push_burst,
	.unpop = split_ops_unpop,
	.push = split_ops_push,
	.flush = split_ops_flush,
	.need_notify = split_ops_need_notify,
	.disable_notify = split_ops_disable_notify,
	.enable_notify = split_ops_enable_notify,
	.has_avail = split_ops_has_avail,
	.get_position = split_ops_get_position,
	.set_position = split_ops_set_position,
	.in_flight = split_ops_in_flight,
	.error = split_ops_error,
	.map_pending = split_ops_map_pending,
};
