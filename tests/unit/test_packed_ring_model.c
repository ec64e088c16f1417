// SPDX-License-Identifier: MIT
/*
 * Model test for the packed ring (virtio 1.2 §2.8): our driver
 * (ring/packed_driver.c) and our device (ring/packed_device.c) on one ring,
 * random interleavings of their operations, queue sizes that are not powers
 * of two so both wrap counters flip many times, with and without indirect
 * tables, EVENT_IDX and IN_ORDER. Every token must come back exactly once
 * with the length the device pushed (with IN_ORDER, a buffer the device
 * folded into a batch comes back with all its writable bytes, §2.8.9), every
 * popped chain must be what the driver posted, and no wake-up may be lost.
 * The seed is printed; VIREO_SEED=... replays a run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vireo/spec.h>
#include <vireo/virtqueue.h>
#include <vireo/vring.h>

#include "tests/lib/ring_push_mixed.h"
#include "tests/lib/xorshift.h"

#define MODEL_OPS 150000u
#define MODEL_MAX_SG 6u
#define MODEL_SG_STRIDE 40u
#define MODEL_BUF (MODEL_MAX_SG * MODEL_SG_STRIDE)
#define MODEL_IMAX 8u

/* The device is driven only through the format seam, as the core drives it. */
static const struct vring_dev_ops *const dev_ops = &vring_packed_dev_ops;

enum tok_state { T_FREE, T_POSTED, T_POPPED, T_PUSHED };

struct tok {
	enum tok_state st;
	uint16_t out, in;
	uint32_t rbytes, wbytes;
	uint32_t pushed_len;
	uint16_t id;
};

/* Guest memory: one block, guest address == host address. */
struct model_mem {
	uint8_t *base;
	size_t len;
	struct pvirtq_desc *desc;
	struct pvirtq_event_suppress *drv_ev, *dev_ev;
	struct pvirtq_desc *pool;
	uint8_t *bufs;
};

struct model {
	uint16_t num;
	bool in_order;
	struct model_mem mem;
	struct virtqueue vq;
	struct vring_desc_extra *extra;
	union vring_dev_ring dev; /* driven through dev_ops only */
	void *dev_state;
	struct xorshift r;
	struct tok *toks; /* slot i <-> token &toks[i] <-> buffer bufs + i * MODEL_BUF */
	uint16_t *popped; /* device side: slots popped, not pushed, in pop order */
	unsigned int n_popped;
	uint16_t *pushed_order; /* pushed, in used order, not yet returned */
	unsigned int pushed_head, pushed_tail, pushed_cap;
	unsigned int unflushed;
	bool dev_sleeping, drv_sleeping;
	unsigned int unpublished; /* added since the last publish or kick_prepare */
	bool kick_owed;		  /* published while the device slept, no kick decision since */
	uint64_t added, returned, kicks, signals;
	struct vring_dev_position pos; /* the device's, to count wrap-counter flips */
	uint64_t avail_flips, used_flips;
};

static void *model_translate(const void *opaque, uint64_t addr, uint64_t len, uint64_t *contig)
{
	const struct model_mem *m = opaque;
	uint64_t base = (uint64_t)(uintptr_t)m->base;

	if (addr < base || len > m->len || addr - base > m->len - len)
		return NULL;
	*contig = len;
	return (void *)(uintptr_t)addr;
}

static uint64_t model_seed(void)
{
	const char *env = getenv("VIREO_SEED");
	struct timespec ts;

	if (env && *env)
		return strtoull(env, NULL, 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid();
}

static uint8_t *model_carve(struct model_mem *mm, size_t *off, size_t bytes)
{
	uint8_t *p = mm->base + *off;

	*off = (*off + bytes + 63u) & ~(size_t)63u;
	return p;
}

static void model_setup(struct model *m, bool event_idx, bool indirect)
{
	struct model_mem *mm = &m->mem;
	size_t off = 0, ring = 16u * m->num, pool = 16u * m->num * MODEL_IMAX;
	struct vring_packed_drv_config dc;
	struct vring_dev_config vc;

	mm->len = ((ring + 64 + 64 + pool + (size_t)m->num * MODEL_BUF) + 4096) & ~(size_t)4095;
	mm->base = aligned_alloc(4096, mm->len);
	assert_non_null(mm->base);
	memset(mm->base, 0, mm->len);
	mm->desc = (struct pvirtq_desc *)model_carve(mm, &off, ring);
	mm->drv_ev = (struct pvirtq_event_suppress *)model_carve(mm, &off, 4);
	mm->dev_ev = (struct pvirtq_event_suppress *)model_carve(mm, &off, 4);
	mm->pool = (struct pvirtq_desc *)model_carve(mm, &off, pool);
	mm->bufs = model_carve(mm, &off, (size_t)m->num * MODEL_BUF);
	assert_true(off <= mm->len);
	m->extra = calloc(m->num, sizeof(*m->extra));
	m->dev_state = aligned_alloc(64, (dev_ops->state_size(m->num) + 63) & ~(size_t)63);
	assert_non_null(m->extra);
	assert_non_null(m->dev_state);
	dc = (struct vring_packed_drv_config){
		.num = m->num,
		.desc = mm->desc,
		.driver_event = mm->drv_ev,
		.device_event = mm->dev_ev,
		.extra = m->extra,
		.indirect_pool = indirect ? mm->pool : NULL,
		.indirect_pool_addr = (uint64_t)(uintptr_t)mm->pool,
		.indirect_max = indirect ? MODEL_IMAX : 0,
		.event_idx = event_idx,
		.in_order = m->in_order,
	};
	assert_int_equal(virtqueue_packed_init(&m->vq, &dc), 0);
	vc = (struct vring_dev_config){
		.num = m->num,
		.max_num = VIRTQ_PACKED_MAX_SIZE,
		.desc_addr = (uint64_t)(uintptr_t)mm->desc,
		.driver_addr = (uint64_t)(uintptr_t)mm->drv_ev,
		.device_addr = (uint64_t)(uintptr_t)mm->dev_ev,
		.position = {.avail_idx = 0, .avail_wrap = true, .used_idx = 0, .used_wrap = true},
		.event_idx = event_idx,
		.indirect = indirect,
		.in_order = m->in_order,
		.mem = {.translate = model_translate, .opaque = mm},
		.state = m->dev_state,
	};
	assert_int_equal(dev_ops->init(&m->dev, &vc), 0);
}

static uint64_t model_buf(const struct model *m, unsigned int slot, unsigned int k)
{
	return (uint64_t)(uintptr_t)(m->mem.bufs + (size_t)slot * MODEL_BUF + k * MODEL_SG_STRIDE);
}

static void model_add(struct model *m)
{
	struct virtio_sg sg[MODEL_MAX_SG];
	unsigned int slot, out, in;
	struct tok *t;
	int r;

	for (slot = 0; slot < m->num && m->toks[slot].st != T_FREE; slot++)
		;
	if (slot == m->num)
		return;
	out = xorshift_below(&m->r, 4);
	in = xorshift_below(&m->r, 4);
	if (out + in == 0)
		in = 1;
	t = &m->toks[slot];
	*t = (struct tok){.out = (uint16_t)out, .in = (uint16_t)in};
	for (unsigned int k = 0; k < out + in; k++) {
		uint32_t len = 1 + xorshift_below(&m->r, MODEL_SG_STRIDE);

		sg[k] = (struct virtio_sg){model_buf(m, slot, k), len};
		if (k < out)
			t->rbytes += len;
		else
			t->wbytes += len;
	}
	r = virtqueue_add_sgs(&m->vq, sg, out, in, t);
	if (r == -ENOSPC || r == -EINVAL) {
		/* -EINVAL: a direct chain longer than a tiny queue (R-PR-04). */
		assert_true(r == -ENOSPC || out + in > m->num);
		t->st = T_FREE;
		return;
	}
	assert_int_equal(r, 0);
	t->st = T_POSTED;
	m->added++;
	m->unpublished++;
}

/*
 * virtqueue_publish(): what was added becomes visible to the device at once
 * (R-PR-08: the batch's first head flags stored after the rest), with no
 * kick decision.
 */
static void model_publish(struct model *m)
{
	if (m->dev_sleeping && m->unpublished)
		m->kick_owed = true;
	virtqueue_publish(&m->vq);
	if (m->unpublished)
		assert_true(dev_ops->has_avail(&m->dev));
	m->unpublished = 0;
}

static void model_kick(struct model *m)
{
	bool owed = m->dev_sleeping && (m->unpublished || m->kick_owed);
	bool kick = virtqueue_kick_prepare(&m->vq);

	/*
	 * A sleeping device must be kicked for anything published since it went
	 * to sleep, by this call or by a virtqueue_publish() since the last one.
	 */
	m->unpublished = 0;
	m->kick_owed = false;
	if (owed)
		assert_true(kick);
	if (kick) {
		m->kicks++;
		m->dev_sleeping = false;
	}
}

static void model_pop(struct model *m)
{
	struct vring_iov iov[MODEL_MAX_SG];
	struct vring_chain c;
	unsigned int slot;
	struct tok *t;
	int r;

	if (m->dev_sleeping)
		return;
	r = dev_ops->pop(&m->dev, &c, iov, MODEL_MAX_SG);
	if (r == -EAGAIN)
		return;
	assert_int_equal(r, 0);
	slot = (unsigned int)(((uint8_t *)iov[0].base - m->mem.bufs) / MODEL_BUF);
	assert_true(slot < m->num);
	t = &m->toks[slot];
	assert_int_equal(t->st, T_POSTED);
	assert_int_equal(c.readable, t->out);
	assert_int_equal(c.writable, t->in);
	assert_int_equal(c.readable_bytes, t->rbytes);
	assert_int_equal(c.writable_bytes, t->wbytes);
	for (unsigned int k = 0; k < (unsigned int)(c.readable + c.writable); k++)
		assert_ptr_equal(iov[k].base, (void *)(uintptr_t)model_buf(m, slot, k));
	t->st = T_POPPED;
	t->id = c.head;
	m->popped[m->n_popped++] = (uint16_t)slot;
}

/* Take one popped buffer to push: any without IN_ORDER, the oldest with it (D-BF-19). */
static struct tok *model_take_popped(struct model *m)
{
	unsigned int i = m->in_order ? 0 : xorshift_below(&m->r, m->n_popped);
	unsigned int slot = m->popped[i];
	struct tok *t = &m->toks[slot];

	memmove(&m->popped[i], &m->popped[i + 1], (m->n_popped - i - 1) * sizeof(*m->popped));
	m->n_popped--;
	t->pushed_len = t->wbytes ? xorshift_below(&m->r, t->wbytes + 1) : 0;
	/* Fully written buffers are the ones an IN_ORDER device folds into a batch. */
	if (m->in_order && xorshift_below(&m->r, 2))
		t->pushed_len = t->wbytes;
	t->st = T_PUSHED;
	m->pushed_order[m->pushed_tail++ % m->pushed_cap] = (uint16_t)slot;
	m->unflushed++;
	return t;
}

/*
 * Push 1..MODEL_PUSH_BURST buffers, by push or push_burst (lengths NULL when
 * all are 0): a burst writes what the same pushes one by one would, so the
 * driver's checks (used order, lengths, wraps, IN_ORDER batches) are the same.
 */
#define MODEL_PUSH_BURST 6u
static void model_push(struct model *m)
{
	uint16_t ids[MODEL_PUSH_BURST];
	uint32_t lens[MODEL_PUSH_BURST];
	unsigned int n;

	if (m->n_popped == 0)
		return;
	n = 1 +
	    xorshift_below(&m->r, m->n_popped < MODEL_PUSH_BURST ? m->n_popped : MODEL_PUSH_BURST);
	for (unsigned int k = 0; k < n; k++) {
		struct tok *t = model_take_popped(m);

		ids[k] = t->id;
		lens[k] = t->pushed_len;
	}
	assert_int_equal(ring_push_mixed(dev_ops, &m->dev, &m->r, ids, lens, n), 0);
}

static void model_flush(struct model *m)
{
	bool fresh = m->unflushed != 0;
	bool signal;

	dev_ops->flush(&m->dev);
	m->unflushed = 0;
	signal = dev_ops->need_notify(&m->dev);
	/* A sleeping driver must be signalled for any new used descriptor. */
	if (m->drv_sleeping && fresh)
		assert_true(signal);
	if (signal) {
		m->signals++;
		m->drv_sleeping = false;
	}
}

static void model_get(struct model *m)
{
	uint32_t len = 0;
	struct tok *t;
	unsigned int slot;

	if (m->drv_sleeping)
		return;
	t = virtqueue_get_buf(&m->vq, &len);
	if (!t)
		return;
	slot = (unsigned int)(t - m->toks);
	assert_true(slot < m->num);
	assert_int_equal(t->st, T_PUSHED);
	/* Used order is push order. */
	assert_true(m->pushed_head != m->pushed_tail);
	assert_int_equal(m->pushed_order[m->pushed_head++ % m->pushed_cap], slot);
	if (len != t->pushed_len) {
		/* §2.8.9: only a buffer folded into an IN_ORDER batch, then fully used. */
		assert_true(m->in_order);
		assert_int_equal(len, t->wbytes);
	}
	t->st = T_FREE;
	m->returned++;
}

static void model_notify_ops(struct model *m)
{
	switch (xorshift_below(&m->r, 6)) {
	case 0:
		if (!m->drv_sleeping)
			virtqueue_disable_cb(&m->vq);
		break;
	case 1:
		if (!m->drv_sleeping && virtqueue_enable_cb(&m->vq))
			m->drv_sleeping = true;
		break;
	case 2:
		if (!m->drv_sleeping)
			virtqueue_enable_cb_delayed(&m->vq);
		break;
	case 3:
		if (!m->dev_sleeping)
			dev_ops->disable_notify(&m->dev);
		break;
	default:
		if (!m->dev_sleeping && !dev_ops->enable_notify(&m->dev))
			m->dev_sleeping = true;
		break;
	}
}

/* Count flips of both wrap counters (each is one lap of the ring). */
static void model_count_laps(struct model *m)
{
	struct vring_dev_position now;

	dev_ops->get_position(&m->dev, &now);
	m->avail_flips += now.avail_wrap != m->pos.avail_wrap;
	m->used_flips += now.used_wrap != m->pos.used_wrap;
	m->pos = now;
}

static void model_step(struct model *m)
{
	unsigned int op = xorshift_below(&m->r, 16);

	model_count_laps(m);
	if (op < 3)
		model_add(m);
	else if (op < 4)
		model_kick(m);
	else if (op < 5)
		model_publish(m);
	else if (op < 8)
		model_pop(m);
	else if (op < 11)
		model_push(m);
	else if (op < 12)
		model_flush(m);
	else if (op < 15)
		model_get(m);
	else
		model_notify_ops(m);
}

/* Finish everything in flight; every token must come back exactly once. */
static void model_drain(struct model *m)
{
	for (unsigned int round = 0; round < 4u * m->num + 8u; round++) {
		model_kick(m);
		m->dev_sleeping = false;
		model_pop(m);
		while (m->n_popped)
			model_push(m);
		model_flush(m);
		m->drv_sleeping = false;
		while (m->pushed_head != m->pushed_tail) {
			unsigned int before = m->pushed_head;

			model_get(m);
			if (m->pushed_head == before)
				break;
		}
	}
	assert_int_equal(m->added, m->returned);
	for (unsigned int i = 0; i < m->num; i++)
		assert_int_equal(m->toks[i].st, T_FREE);
	assert_int_equal(virtqueue_get_num_free(&m->vq), m->num);
	assert_int_equal(dev_ops->in_flight(&m->dev), 0);
	assert_false(virtqueue_is_broken(&m->vq));
	assert_int_equal(dev_ops->error(&m->dev), VRING_ERR_NONE);
}

static void model_run(uint16_t num, bool event_idx, bool indirect, bool in_order)
{
	uint64_t seed = model_seed();
	struct model m = {.num = num, .in_order = in_order, .r = {seed | 1}};

	printf("# packed model num=%u event_idx=%d indirect=%d in_order=%d VIREO_SEED=0x%llx\n",
	       num, event_idx, indirect, in_order, (unsigned long long)seed);
	model_setup(&m, event_idx, indirect);
	m.pos = (struct vring_dev_position){.avail_wrap = true, .used_wrap = true};
	m.toks = calloc(num, sizeof(*m.toks));
	m.popped = calloc(num, sizeof(*m.popped));
	m.pushed_cap = num;
	m.pushed_order = calloc(num, sizeof(*m.pushed_order));
	assert_non_null(m.toks);
	assert_non_null(m.popped);
	assert_non_null(m.pushed_order);
	for (unsigned int i = 0; i < MODEL_OPS; i++)
		model_step(&m);
	model_drain(&m);
	printf("# %llu buffers, %llu kicks, %llu signals, wrap counters flipped %llu (avail) and "
	       "%llu (used) times\n",
	       (unsigned long long)m.added, (unsigned long long)m.kicks,
	       (unsigned long long)m.signals, (unsigned long long)m.avail_flips,
	       (unsigned long long)m.used_flips);
	assert_true(m.added > MODEL_OPS / 40);
	/* both counters wrapped many times (each flip is a full lap of the ring) */
	assert_true(m.avail_flips >= 20 && m.used_flips >= 20);
	free(m.toks);
	free(m.popped);
	free(m.pushed_order);
	free(m.extra);
	free(m.dev_state);
	free(m.mem.base);
}

static void test_model_plain(void **state)
{
	(void)state;
	model_run(13, false, false, false);
}

static void test_model_event_idx(void **state)
{
	(void)state;
	model_run(7, true, false, false);
}

static void test_model_indirect(void **state)
{
	(void)state;
	model_run(5, false, true, false);
}

static void test_model_event_idx_indirect(void **state)
{
	(void)state;
	model_run(3, true, true, false);
}

static void test_model_in_order(void **state)
{
	(void)state;
	model_run(11, true, false, true);
}

static void test_model_in_order_indirect(void **state)
{
	(void)state;
	model_run(6, false, true, true);
}

static void test_model_large(void **state)
{
	(void)state;
	model_run(100, true, true, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_plain),
		cmocka_unit_test(test_model_event_idx),
		cmocka_unit_test(test_model_indirect),
		cmocka_unit_test(test_model_event_idx_indirect),
		cmocka_unit_test(test_model_in_order),
		cmocka_unit_test(test_model_in_order_indirect),
		cmocka_unit_test(test_model_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
