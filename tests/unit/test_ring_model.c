// SPDX-License-Identifier: MIT
/*
 * Model test for ring/, both formats (virtio 1.2 §2.7 split, §2.8 packed): our
 * driver and our device on one ring, each reached only through its format seam
 * (the virtqueue_* verbs; struct vring_dev_ops, as the core drives a device),
 * random interleavings of their operations, with and without indirect tables,
 * EVENT_IDX and IN_ORDER; packed rings of sizes that are not powers of two, so
 * both wrap counters flip many times. Every token must come back exactly once
 * with the length the device pushed (with IN_ORDER, a buffer the device folded
 * into a batch comes back with all its writable bytes, §2.8.9), every popped
 * chain must be what the driver posted, and no wake-up may be lost: a sleeping
 * device (enable_notify returned false) must be kicked by the next publish, a
 * sleeping driver (enable_cb returned true) signalled by the next flush.
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

#include "tests/lib/ring_pair.h"
#include "tests/lib/ring_push_mixed.h"
#include "tests/lib/xorshift.h"

#define MODEL_OPS 200000u
#define MODEL_MAX_SG 6u
#define MODEL_SG_STRIDE 40u
_Static_assert(MODEL_MAX_SG *MODEL_SG_STRIDE <= RING_PAIR_BUF, "a chain fits one test buffer");

enum tok_state { T_FREE, T_POSTED, T_POPPED, T_PUSHED };

struct tok {
	enum tok_state st;
	uint16_t out, in;
	uint32_t rbytes, wbytes;
	uint32_t pushed_len;
	uint16_t id;
};

struct model {
	struct ring_pair *p; /* the ring, both sides */
	bool in_order;
	uint8_t *bufs; /* host address of test buffer 0 (ring_pair_buf()) */
	struct xorshift r;
	struct tok *toks; /* slot i <-> token &toks[i] <-> buffer ring_pair_buf(p, i) */
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

static uint64_t model_seed(void)
{
	const char *env = getenv("VIREO_SEED");
	struct timespec ts;

	if (env && *env)
		return strtoull(env, NULL, 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid();
}

static uint64_t model_buf(const struct model *m, unsigned int slot, unsigned int k)
{
	return ring_pair_buf(m->p, slot) + k * MODEL_SG_STRIDE;
}

static void model_add(struct model *m)
{
	struct virtio_sg sg[MODEL_MAX_SG];
	unsigned int slot, out, in;
	struct tok *t;
	int r;

	for (slot = 0; slot < m->p->num && m->toks[slot].st != T_FREE; slot++)
		;
	if (slot == m->p->num)
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
	r = virtqueue_add_sgs(&m->p->vq, sg, out, in, t);
	if (r == -ENOSPC || r == -EINVAL) {
		/* -EINVAL: a direct chain longer than a tiny queue (R-PR-04). */
		assert_true(r == -ENOSPC || out + in > m->p->num);
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
 * (split, R-SR-11: avail->idx stored after the ring entries; packed, R-PR-08:
 * the batch's first head flags stored after the rest), with no kick decision.
 */
static void model_publish(struct model *m)
{
	if (m->dev_sleeping && m->unpublished)
		m->kick_owed = true;
	virtqueue_publish(&m->p->vq);
	if (m->unpublished)
		assert_true(m->p->ops->has_avail(&m->p->dev));
	m->unpublished = 0;
}

static void model_kick(struct model *m)
{
	bool owed = m->dev_sleeping && (m->unpublished || m->kick_owed);
	bool kick = virtqueue_kick_prepare(&m->p->vq);

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
	r = m->p->ops->pop(&m->p->dev, &c, iov, MODEL_MAX_SG);
	if (r == -EAGAIN)
		return;
	assert_int_equal(r, 0);
	slot = (unsigned int)(((uint8_t *)iov[0].base - m->bufs) / RING_PAIR_BUF);
	assert_true(slot < m->p->num);
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
	assert_int_equal(ring_push_mixed(m->p->ops, &m->p->dev, &m->r, ids, lens, n), 0);
}

static void model_flush(struct model *m)
{
	bool fresh = m->unflushed != 0;
	bool signal;

	m->p->ops->flush(&m->p->dev);
	m->unflushed = 0;
	signal = m->p->ops->need_notify(&m->p->dev);
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
	t = virtqueue_get_buf(&m->p->vq, &len);
	if (!t)
		return;
	slot = (unsigned int)(t - m->toks);
	assert_true(slot < m->p->num);
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
			virtqueue_disable_cb(&m->p->vq);
		break;
	case 1:
		if (!m->drv_sleeping && virtqueue_enable_cb(&m->p->vq))
			m->drv_sleeping = true;
		break;
	case 2:
		if (!m->drv_sleeping)
			virtqueue_enable_cb_delayed(&m->p->vq);
		break;
	case 3:
		if (!m->dev_sleeping)
			m->p->ops->disable_notify(&m->p->dev);
		break;
	default:
		if (!m->dev_sleeping && !m->p->ops->enable_notify(&m->p->dev))
			m->dev_sleeping = true;
		break;
	}
}

/* Count flips of both wrap counters (each is one lap of a packed ring; split has none). */
static void model_count_laps(struct model *m)
{
	struct vring_dev_position now;

	m->p->ops->get_position(&m->p->dev, &now);
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
	for (unsigned int round = 0; round < 4u * m->p->num + 8u; round++) {
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
	for (unsigned int i = 0; i < m->p->num; i++)
		assert_int_equal(m->toks[i].st, T_FREE);
	assert_int_equal(virtqueue_get_num_free(&m->p->vq), m->p->num);
	assert_int_equal(m->p->ops->in_flight(&m->p->dev), 0);
	assert_false(virtqueue_is_broken(&m->p->vq));
	assert_int_equal(m->p->ops->error(&m->p->dev), VRING_ERR_NONE);
}

static void model_run(enum ring_pair_format format, uint16_t num, bool event_idx, bool indirect,
		      bool in_order)
{
	uint64_t seed = model_seed();
	struct model m = {.in_order = in_order, .r = {seed | 1}};
	bool packed = format == RING_PAIR_PACKED;

	printf("# %s model num=%u event_idx=%d indirect=%d in_order=%d VIREO_SEED=0x%llx\n",
	       packed ? "packed" : "split", num, event_idx, indirect, in_order,
	       (unsigned long long)seed);
	/* IN_ORDER on both sides: the split driver uses descriptors in ring order (R-SR-04). */
	m.p = ring_pair_new(format, num, event_idx, indirect, in_order);
	m.bufs = ring_pair_host(ring_pair_buf(m.p, 0));
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
	printf("# %llu buffers, %llu kicks, %llu signals", (unsigned long long)m.added,
	       (unsigned long long)m.kicks, (unsigned long long)m.signals);
	if (packed)
		printf(", wrap counters flipped %llu (avail) and %llu (used) times",
		       (unsigned long long)m.avail_flips, (unsigned long long)m.used_flips);
	printf("\n");
	assert_true(m.added > MODEL_OPS / 40);
	/* packed: both counters wrapped many times (each flip is a full lap of the ring) */
	if (packed)
		assert_true(m.avail_flips >= 20 && m.used_flips >= 20);
	free(m.toks);
	free(m.popped);
	free(m.pushed_order);
	ring_pair_free(m.p);
}

/* Split rings are powers of two (§2.7); packed ones any size (§2.8), here mostly odd. */
#define MODEL_TEST(name, split_num, packed_num, event_idx, indirect, in_order)          \
	static void test_split_##name(void **state)                                     \
	{                                                                               \
		(void)state;                                                            \
		model_run(RING_PAIR_SPLIT, split_num, event_idx, indirect, in_order);   \
	}                                                                               \
	static void test_packed_##name(void **state)                                    \
	{                                                                               \
		(void)state;                                                            \
		model_run(RING_PAIR_PACKED, packed_num, event_idx, indirect, in_order); \
	}

MODEL_TEST(plain, 16, 13, false, false, false)
MODEL_TEST(event_idx, 8, 7, true, false, false)
MODEL_TEST(indirect, 8, 5, false, true, false)
MODEL_TEST(event_idx_indirect, 4, 3, true, true, false)
MODEL_TEST(in_order, 16, 11, true, false, true)
MODEL_TEST(in_order_indirect, 8, 6, false, true, true)
MODEL_TEST(large, 64, 100, true, true, false)

#define MODEL_TESTS(name) cmocka_unit_test(test_split_##name), cmocka_unit_test(test_packed_##name)

int main(void)
{
	const struct CMUnitTest tests[] = {
		MODEL_TESTS(plain),    MODEL_TESTS(event_idx),
		MODEL_TESTS(indirect), MODEL_TESTS(event_idx_indirect),
		MODEL_TESTS(in_order), MODEL_TESTS(in_order_indirect),
		MODEL_TESTS(large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
