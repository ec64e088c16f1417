// SPDX-License-Identifier: MIT
/* Model test for ring/: random driver/device interleavings on one split ring. */
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

#include "tests/lib/ring_fixture.h"
#include "tests/lib/ring_push_mixed.h"
#include "tests/lib/xorshift.h"

/*
 * The model: random interleavings of driver and device operations on one
 * ring, checked against a shadow of what each side should see. Every token
 * must come back exactly once with the length the device pushed; every
 * popped chain must be exactly what the driver posted; and no wake-up may
 * be lost: a sleeping device (enable_notify returned false) must be kicked
 * by the next publish, a sleeping driver (enable_cb returned true) must be
 * signalled by the next flush.
 */
#define MODEL_OPS 200000u

/* The device is driven only through the format seam, as the core drives it. */
static const struct vring_dev_ops *const dev_ops = &vring_split_dev_ops;
#define MODEL_MAX_SG 6u
#define MODEL_SG_STRIDE 40u

enum tok_state { T_FREE, T_POSTED, T_POPPED, T_PUSHED };

struct tok {
	enum tok_state st;
	uint16_t out, in;
	uint32_t rbytes, wbytes;
	uint32_t pushed_len;
	uint16_t head;
};

struct model {
	struct ring_fixture *f;
	struct xorshift r;
	struct tok *toks; /* slot i <-> token &toks[i] <-> buffer ring_fixture_buf(i) */
	uint16_t *popped; /* device side: slots popped, not pushed */
	unsigned int n_popped;
	uint16_t *pushed_order; /* pushed, in used-ring order, not yet returned */
	unsigned int pushed_head, pushed_tail, pushed_cap;
	unsigned int unflushed; /* pushed but not flushed */
	bool dev_sleeping, drv_sleeping;
	unsigned int unpublished; /* added since the last publish or kick_prepare */
	bool kick_owed;		  /* published while the device slept, no kick decision since */
	bool in_order;		  /* VIRTIO_F_IN_ORDER: the device completes in pop order */
	uint64_t added, returned, kicks, signals;
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

static void model_add(struct model *m)
{
	struct ring_fixture *f = m->f;
	struct virtio_sg sg[MODEL_MAX_SG];
	unsigned int slot, out, in;
	struct tok *t;
	int r;

	for (slot = 0; slot < f->num && m->toks[slot].st != T_FREE; slot++)
		;
	if (slot == f->num)
		return;
	out = xorshift_below(&m->r, 4);
	in = xorshift_below(&m->r, 4);
	if (out + in == 0)
		in = 1;
	t = &m->toks[slot];
	*t = (struct tok){.out = (uint16_t)out, .in = (uint16_t)in};
	for (unsigned int k = 0; k < out + in; k++) {
		uint32_t len = 1 + xorshift_below(&m->r, MODEL_SG_STRIDE);

		sg[k] = (struct virtio_sg){ring_fixture_buf(f, slot) + k * MODEL_SG_STRIDE, len};
		if (k < out)
			t->rbytes += len;
		else
			t->wbytes += len;
	}
	r = virtqueue_add_sgs(&f->vq, sg, out, in, t);
	if (r == -ENOSPC) {
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
 * (R-SR-11: avail->idx stored after the ring entries), with no kick decision.
 */
static void model_publish(struct model *m)
{
	struct ring_fixture *f = m->f;

	if (m->dev_sleeping && m->unpublished)
		m->kick_owed = true;
	virtqueue_publish(&f->vq);
	if (m->unpublished)
		assert_true(dev_ops->has_avail(&f->ring));
	m->unpublished = 0;
}

static void model_kick(struct model *m)
{
	struct ring_fixture *f = m->f;
	bool owed = m->dev_sleeping && (m->unpublished || m->kick_owed);
	bool kick = virtqueue_kick_prepare(&f->vq);

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
	struct ring_fixture *f = m->f;
	struct vring_iov iov[MODEL_MAX_SG];
	struct vring_chain c;
	unsigned int slot;
	struct tok *t;
	int r;

	if (m->dev_sleeping)
		return;
	r = dev_ops->pop(&f->ring, &c, iov, MODEL_MAX_SG);
	if (r == -EAGAIN)
		return;
	assert_int_equal(r, 0);
	slot = (unsigned int)(((uint8_t *)iov[0].base -
			       (uint8_t *)ring_fixture_host(f, f->bufs_gpa)) /
			      RING_FIXTURE_BUF);
	assert_true(slot < f->num);
	t = &m->toks[slot];
	assert_int_equal(t->st, T_POSTED);
	assert_int_equal(c.readable, t->out);
	assert_int_equal(c.writable, t->in);
	assert_int_equal(c.readable_bytes, t->rbytes);
	assert_int_equal(c.writable_bytes, t->wbytes);
	for (unsigned int k = 0; k < (unsigned int)(c.readable + c.writable); k++)
		assert_ptr_equal(iov[k].base, ring_fixture_host(f, ring_fixture_buf(f, slot) +
									   k * MODEL_SG_STRIDE));
	t->st = T_POPPED;
	t->head = c.head;
	m->popped[m->n_popped++] = (uint16_t)slot;
}

/* Out of order: any popped chain may complete next. */
/* Take one popped head to push: any without IN_ORDER, the oldest with it (D-BF-19). */
static struct tok *model_take_popped(struct model *m)
{
	unsigned int i, slot;
	struct tok *t;

	if (m->in_order) {
		slot = m->popped[0];
		m->n_popped--;
		memmove(&m->popped[0], &m->popped[1], m->n_popped * sizeof(*m->popped));
	} else {
		i = xorshift_below(&m->r, m->n_popped);
		slot = m->popped[i];
		m->popped[i] = m->popped[--m->n_popped];
	}
	t = &m->toks[slot];
	t->pushed_len = t->wbytes ? xorshift_below(&m->r, t->wbytes + 1) : 0;
	t->st = T_PUSHED;
	m->pushed_order[m->pushed_tail++ % m->pushed_cap] = (uint16_t)slot;
	m->unflushed++;
	return t;
}

/*
 * Push 1..MODEL_PUSH_BURST heads, by push or push_burst (lengths NULL when
 * all are 0): the used entries must be the same either way.
 */
#define MODEL_PUSH_BURST 6u
static void model_push(struct model *m)
{
	struct ring_fixture *f = m->f;
	uint16_t heads[MODEL_PUSH_BURST];
	uint32_t lens[MODEL_PUSH_BURST];
	unsigned int n;

	if (m->n_popped == 0)
		return;
	n = 1 +
	    xorshift_below(&m->r, m->n_popped < MODEL_PUSH_BURST ? m->n_popped : MODEL_PUSH_BURST);
	for (unsigned int k = 0; k < n; k++) {
		struct tok *t = model_take_popped(m);

		heads[k] = t->head;
		lens[k] = t->pushed_len;
	}
	assert_int_equal(ring_push_mixed(dev_ops, &f->ring, &m->r, heads, lens, n), 0);
}

static void model_flush(struct model *m)
{
	struct ring_fixture *f = m->f;
	bool fresh = m->unflushed != 0;
	bool signal;

	dev_ops->flush(&f->ring);
	m->unflushed = 0;
	signal = dev_ops->need_notify(&f->ring);
	/* A sleeping driver must be signalled for any new used entry. */
	if (m->drv_sleeping && fresh)
		assert_true(signal);
	if (signal) {
		m->signals++;
		m->drv_sleeping = false;
	}
}

static void model_get(struct model *m)
{
	struct ring_fixture *f = m->f;
	uint32_t len = 0;
	struct tok *t;
	unsigned int slot;

	if (m->drv_sleeping)
		return;
	t = virtqueue_get_buf(&f->vq, &len);
	if (!t)
		return;
	slot = (unsigned int)(t - m->toks);
	assert_true(slot < f->num);
	assert_int_equal(t->st, T_PUSHED);
	/* Used-ring order is push order. */
	assert_true(m->pushed_head != m->pushed_tail);
	assert_int_equal(m->pushed_order[m->pushed_head++ % m->pushed_cap], slot);
	assert_int_equal(len, t->pushed_len);
	t->st = T_FREE;
	m->returned++;
}

static void model_notify_ops(struct model *m)
{
	struct ring_fixture *f = m->f;

	/* A sleeping side does nothing until woken. */
	switch (xorshift_below(&m->r, 6)) {
	case 0:
		if (!m->drv_sleeping)
			virtqueue_disable_cb(&f->vq);
		break;
	case 1:
		/* The driver goes to sleep only if nothing is pending. */
		if (!m->drv_sleeping && virtqueue_enable_cb(&f->vq))
			m->drv_sleeping = true;
		break;
	case 2:
		if (!m->drv_sleeping)
			virtqueue_enable_cb_delayed(&f->vq);
		break;
	case 3:
		if (!m->dev_sleeping)
			dev_ops->disable_notify(&f->ring);
		break;
	default:
		if (!m->dev_sleeping && !dev_ops->enable_notify(&f->ring))
			m->dev_sleeping = true;
		break;
	}
}

static void model_step(struct model *m)
{
	switch (xorshift_below(&m->r, 16)) {
	case 0:
	case 1:
	case 2:
		model_add(m);
		break;
	case 3:
		model_kick(m);
		break;
	case 4:
		model_publish(m);
		break;
	case 5:
	case 6:
	case 7:
		model_pop(m);
		break;
	case 8:
	case 9:
	case 10:
		model_push(m);
		break;
	case 11:
		model_flush(m);
		break;
	case 12:
	case 13:
	case 14:
		model_get(m);
		break;
	default:
		model_notify_ops(m);
		break;
	}
}

/* Finish everything in flight; every token must come back exactly once. */
static void model_drain(struct model *m)
{
	struct ring_fixture *f = m->f;

	for (unsigned int round = 0; round < 4u * f->num + 8u; round++) {
		model_kick(m);
		m->dev_sleeping = false;
		model_pop(m);
		while (m->n_popped)
			model_push(m);
		model_flush(m);
		m->drv_sleeping = false;
		model_get(m);
	}
	assert_int_equal(m->added, m->returned);
	for (unsigned int i = 0; i < f->num; i++)
		assert_int_equal(m->toks[i].st, T_FREE);
	assert_int_equal(virtqueue_get_num_free(&f->vq), f->num);
	assert_int_equal(dev_ops->in_flight(&f->ring), 0);
	assert_false(virtqueue_is_broken(&f->vq));
	assert_int_equal(dev_ops->error(&f->ring), VRING_ERR_NONE);
}

/* The fixture's driver again, with IN_ORDER (descriptors in ring order, R-SR-04). */
static void model_driver_in_order(struct ring_fixture *f, bool event_idx, bool indirect)
{
	struct vring_split_drv_config c = {
		.num = f->num,
		.desc = f->desc,
		.avail = f->avail,
		.used = f->used,
		.extra = f->extra,
		.indirect_pool = indirect ? f->pool : NULL,
		.indirect_pool_addr = f->pool_gpa,
		.indirect_max = indirect ? RING_FIXTURE_IMAX : 0,
		.event_idx = event_idx,
		.in_order = true,
	};
	bool (*notify)(struct virtqueue *) = f->vq.notify;
	void *priv = f->vq.priv;

	assert_int_equal(virtqueue_split_init(&f->vq, &c), 0);
	f->vq.notify = notify;
	f->vq.priv = priv;
}

static void model_run(uint16_t num, bool event_idx, bool indirect, bool in_order)
{
	uint64_t seed = model_seed();
	struct model m = {.r = {seed | 1}, .in_order = in_order};

	printf("# model num=%u event_idx=%d indirect=%d in_order=%d VIREO_SEED=0x%llx\n", num,
	       event_idx, indirect, in_order, (unsigned long long)seed);
	m.f = ring_fixture_new(num, event_idx, indirect, 0);
	if (in_order)
		model_driver_in_order(m.f, event_idx, indirect);
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
	printf("# %llu buffers, %llu kicks, %llu signals\n", (unsigned long long)m.added,
	       (unsigned long long)m.kicks, (unsigned long long)m.signals);
	assert_true(m.added > MODEL_OPS / 40);
	free(m.toks);
	free(m.popped);
	free(m.pushed_order);
	ring_fixture_free(m.f);
}

static void test_model_plain(void **state)
{
	(void)state;
	model_run(16, false, false, false);
}

static void test_model_event_idx(void **state)
{
	(void)state;
	model_run(8, true, false, false);
}

static void test_model_indirect(void **state)
{
	(void)state;
	model_run(8, false, true, false);
}

static void test_model_event_idx_indirect(void **state)
{
	(void)state;
	model_run(4, true, true, false);
}

static void test_model_large(void **state)
{
	(void)state;
	model_run(64, true, true, false);
}

static void test_model_in_order(void **state)
{
	(void)state;
	model_run(16, true, false, true);
}

static void test_model_in_order_indirect(void **state)
{
	(void)state;
	model_run(8, false, true, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_plain),
		cmocka_unit_test(test_model_event_idx),
		cmocka_unit_test(test_model_indirect),
		cmocka_unit_test(test_model_event_idx_indirect),
		cmocka_unit_test(test_model_large),
		cmocka_unit_test(test_model_in_order),
		cmocka_unit_test(test_model_in_order_indirect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
