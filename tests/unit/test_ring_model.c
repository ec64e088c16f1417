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
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include <vireo/spec.h>
#include <vireo/virtqueue.h>
#include <vireo/vring.h>

/*
 * Test fixture: one split ring, both sides, in "guest memory" that is an
 * mmap'd area with PROT_NONE guard pages on both sides, so any access
 * outside it faults. Guest address FIX_GPA maps to the start of the area.
 * With @split_at non-zero the memory is two regions whose host copies are
 * not adjacent (a guard page between them), so buffers crossing the
 * boundary must be split into two iov entries.
 */
#define FIX_GPA 0x100000ull
#define FIX_BUF 256u
#define FIX_IMAX 8u
#define FIX_PAGE 4096u

struct fix {
	uint8_t *map;
	size_t map_len;
	uint8_t *mem;  /* region 0 host */
	uint8_t *mem2; /* region 1 host (split mode) */
	uint64_t mem_len;
	uint64_t split_at; /* guest offset where region 1 starts, 0 = one region */
	uint16_t num;
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	struct virtq_desc *pool;
	uint64_t desc_gpa, avail_gpa, used_gpa, pool_gpa, bufs_gpa;
	struct vring_desc_extra *extra;
	struct virtqueue vq;
	struct vring_split_dev dev;
	void *state;
	unsigned int notifies;
};

__attribute__((unused)) static uint64_t fix_align(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

__attribute__((unused)) static void *fix_translate(const void *opaque, uint64_t addr, uint64_t len,
						   uint64_t *contig)
{
	const struct fix *f = opaque;
	uint64_t off, end, left;

	if (len == 0 || addr < FIX_GPA || len - 1 > UINT64_MAX - addr)
		return NULL;
	off = addr - FIX_GPA;
	if (off >= f->mem_len)
		return NULL;
	end = f->mem_len;
	if (f->split_at && off < f->split_at)
		end = f->split_at;
	left = end - off;
	*contig = len < left ? len : left;
	if (f->split_at && off >= f->split_at)
		return f->mem2 + (off - f->split_at);
	return f->mem + off;
}

/* Host pointer of guest address @gpa (test side, trusted). */
__attribute__((unused)) static void *fix_host(struct fix *f, uint64_t gpa)
{
	uint64_t c;

	return fix_translate(f, gpa, 1, &c);
}

__attribute__((unused)) static bool fix_notify(struct virtqueue *vq)
{
	struct fix *f = vq->priv;

	f->notifies++;
	return true;
}

__attribute__((unused)) static struct fix *fix_new_split(uint16_t num, bool event_idx,
							 bool indirect, uint64_t split_at)
{
	struct fix *f = calloc(1, sizeof(*f));
	uint64_t off = 0;
	uint8_t *p;

	assert_non_null(f);
	f->num = num;
	f->desc_gpa = FIX_GPA;
	off = virtq_desc_table_size(num);
	f->avail_gpa = FIX_GPA + fix_align(off, 64);
	off = fix_align(off, 64) + virtq_avail_size(num);
	f->used_gpa = FIX_GPA + fix_align(off, 64);
	off = fix_align(off, 64) + virtq_used_size(num);
	f->pool_gpa = FIX_GPA + fix_align(off, 64);
	off = fix_align(off, 64) + (uint64_t)num * FIX_IMAX * sizeof(struct virtq_desc);
	f->bufs_gpa = FIX_GPA + fix_align(off, 64);
	off = fix_align(off, 64) + (uint64_t)num * FIX_BUF;
	f->mem_len = fix_align(off, FIX_PAGE);
	if (split_at && f->mem_len < split_at + FIX_PAGE)
		f->mem_len = split_at + FIX_PAGE;
	f->split_at = split_at;
	/* guard | region 0 | guard | region 1 | guard (region 1 only when split) */
	f->map_len = f->mem_len + 3 * FIX_PAGE;
	p = mmap(NULL, f->map_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	f->map = p;
	if (split_at) {
		assert_true(split_at % FIX_PAGE == 0 && split_at < f->mem_len);
		f->mem = p + FIX_PAGE;
		f->mem2 = p + 2 * FIX_PAGE + split_at;
		assert_int_equal(mprotect(f->mem, split_at, PROT_READ | PROT_WRITE), 0);
		assert_int_equal(mprotect(f->mem2, f->mem_len - split_at, PROT_READ | PROT_WRITE),
				 0);
	} else {
		f->mem = p + FIX_PAGE;
		assert_int_equal(mprotect(f->mem, f->mem_len, PROT_READ | PROT_WRITE), 0);
	}
	f->desc = fix_host(f, f->desc_gpa);
	f->avail = fix_host(f, f->avail_gpa);
	f->used = fix_host(f, f->used_gpa);
	f->pool = fix_host(f, f->pool_gpa);
	f->extra = calloc(num, sizeof(*f->extra));
	f->state = aligned_alloc(8, fix_align(vring_split_dev_state_size(num), 8));
	assert_non_null(f->extra);
	assert_non_null(f->state);

	struct vring_split_drv_config dc = {
		.num = num,
		.desc = f->desc,
		.avail = f->avail,
		.used = f->used,
		.extra = f->extra,
		.indirect_pool = indirect ? f->pool : NULL,
		.indirect_pool_addr = f->pool_gpa,
		.indirect_max = indirect ? FIX_IMAX : 0,
		.event_idx = event_idx,
	};
	f->vq.notify = fix_notify;
	f->vq.priv = f;
	f->vq.name = "test";
	assert_int_equal(virtqueue_split_init(&f->vq, &dc), 0);

	struct vring_split_dev_config vc = {
		.num = num,
		.max_num = 32768,
		.desc_addr = f->desc_gpa,
		.avail_addr = f->avail_gpa,
		.used_addr = f->used_gpa,
		.event_idx = event_idx,
		.indirect = indirect,
		.mem = {.translate = fix_translate, .opaque = f},
		.state = f->state,
	};
	assert_int_equal(vring_split_dev_init(&f->dev, &vc), 0);
	return f;
}

__attribute__((unused)) static struct fix *fix_new(uint16_t num, bool event_idx, bool indirect)
{
	return fix_new_split(num, event_idx, indirect, 0);
}

__attribute__((unused)) static void fix_free(struct fix *f)
{
	munmap(f->map, f->map_len);
	free(f->extra);
	free(f->state);
	free(f);
}

/* Guest address of the i-th test buffer. */
__attribute__((unused)) static uint64_t fix_buf(const struct fix *f, unsigned int i)
{
	return f->bufs_gpa + (uint64_t)(i % f->num) * FIX_BUF;
}

/* §2.7.8: avail_event, the word after the used ring's entries. */
__attribute__((unused)) static le16 *fix_avail_event(struct fix *f)
{
	return (le16 *)(void *)((uint8_t *)f->used + virtq_used_size(f->num) - sizeof(le16));
}

/* A device config for re-running init on the fixture with other values. */
__attribute__((unused)) static struct vring_split_dev_config fix_dev_config(struct fix *f)
{
	struct vring_split_dev_config vc = {
		.num = f->num,
		.max_num = 32768,
		.desc_addr = f->desc_gpa,
		.avail_addr = f->avail_gpa,
		.used_addr = f->used_gpa,
		.event_idx = f->dev.event_idx,
		.indirect = f->dev.indirect,
		.mem = {.translate = fix_translate, .opaque = f},
		.state = f->state,
	};
	return vc;
}

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
#define MODEL_MAX_SG 6u
#define MODEL_SG_STRIDE 40u

struct rng {
	uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1Dull;
}

static unsigned int rng_below(struct rng *r, unsigned int n)
{
	return (unsigned int)(rng_next(r) % n);
}

enum tok_state { T_FREE, T_POSTED, T_POPPED, T_PUSHED };

struct tok {
	enum tok_state st;
	uint16_t out, in;
	uint32_t rbytes, wbytes;
	uint32_t pushed_len;
	uint16_t head;
};

struct model {
	struct fix *f;
	struct rng r;
	struct tok *toks; /* slot i <-> token &toks[i] <-> buffer fix_buf(i) */
	uint16_t *popped; /* device side: slots popped, not pushed */
	unsigned int n_popped;
	uint16_t *pushed_order; /* pushed, in used-ring order, not yet returned */
	unsigned int pushed_head, pushed_tail, pushed_cap;
	unsigned int unflushed; /* pushed but not flushed */
	bool dev_sleeping, drv_sleeping;
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
	struct fix *f = m->f;
	struct virtio_sg sg[MODEL_MAX_SG];
	unsigned int slot, out, in;
	struct tok *t;
	int r;

	for (slot = 0; slot < f->num && m->toks[slot].st != T_FREE; slot++)
		;
	if (slot == f->num)
		return;
	out = rng_below(&m->r, 4);
	in = rng_below(&m->r, 4);
	if (out + in == 0)
		in = 1;
	t = &m->toks[slot];
	*t = (struct tok){.out = (uint16_t)out, .in = (uint16_t)in};
	for (unsigned int k = 0; k < out + in; k++) {
		uint32_t len = 1 + rng_below(&m->r, MODEL_SG_STRIDE);

		sg[k] = (struct virtio_sg){fix_buf(f, slot) + k * MODEL_SG_STRIDE, len};
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
}

static void model_kick(struct model *m)
{
	struct fix *f = m->f;
	bool published = f->vq.split.num_added != 0;
	bool kick = virtqueue_kick_prepare(&f->vq);

	/* A sleeping device must be kicked by any new publish. */
	if (m->dev_sleeping && published)
		assert_true(kick);
	if (kick) {
		m->kicks++;
		m->dev_sleeping = false;
	}
}

static void model_pop(struct model *m)
{
	struct fix *f = m->f;
	struct vring_iov iov[MODEL_MAX_SG];
	struct vring_chain c;
	unsigned int slot;
	struct tok *t;
	int r;

	if (m->dev_sleeping)
		return;
	r = vring_split_dev_pop(&f->dev, &c, iov, MODEL_MAX_SG);
	if (r == -EAGAIN)
		return;
	assert_int_equal(r, 0);
	slot = (unsigned int)(((uint8_t *)iov[0].base - (uint8_t *)fix_host(f, f->bufs_gpa)) /
			      FIX_BUF);
	assert_true(slot < f->num);
	t = &m->toks[slot];
	assert_int_equal(t->st, T_POSTED);
	assert_int_equal(c.readable, t->out);
	assert_int_equal(c.writable, t->in);
	assert_int_equal(c.readable_bytes, t->rbytes);
	assert_int_equal(c.writable_bytes, t->wbytes);
	for (unsigned int k = 0; k < (unsigned int)(c.readable + c.writable); k++)
		assert_ptr_equal(iov[k].base, fix_host(f, fix_buf(f, slot) + k * MODEL_SG_STRIDE));
	t->st = T_POPPED;
	t->head = c.head;
	m->popped[m->n_popped++] = (uint16_t)slot;
}

/* Out of order: any popped chain may complete next. */
static void model_push(struct model *m)
{
	struct fix *f = m->f;
	unsigned int i, slot;
	struct tok *t;

	if (m->n_popped == 0)
		return;
	i = rng_below(&m->r, m->n_popped);
	slot = m->popped[i];
	m->popped[i] = m->popped[--m->n_popped];
	t = &m->toks[slot];
	t->pushed_len = t->wbytes ? rng_below(&m->r, t->wbytes + 1) : 0;
	assert_int_equal(vring_split_dev_push(&f->dev, t->head, t->pushed_len), 0);
	t->st = T_PUSHED;
	m->pushed_order[m->pushed_tail++ % m->pushed_cap] = (uint16_t)slot;
	m->unflushed++;
}

static void model_flush(struct model *m)
{
	struct fix *f = m->f;
	bool fresh = m->unflushed != 0;
	bool signal;

	vring_split_dev_flush(&f->dev);
	m->unflushed = 0;
	signal = vring_split_dev_need_notify(&f->dev);
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
	struct fix *f = m->f;
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
	struct fix *f = m->f;

	/* A sleeping side does nothing until woken. */
	switch (rng_below(&m->r, 6)) {
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
			vring_split_dev_disable_notify(&f->dev);
		break;
	default:
		if (!m->dev_sleeping && !vring_split_dev_enable_notify(&f->dev))
			m->dev_sleeping = true;
		break;
	}
}

static void model_step(struct model *m)
{
	switch (rng_below(&m->r, 16)) {
	case 0:
	case 1:
	case 2:
		model_add(m);
		break;
	case 3:
	case 4:
		model_kick(m);
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
	struct fix *f = m->f;

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
	assert_int_equal(vring_split_dev_in_flight(&f->dev), 0);
	assert_false(virtqueue_is_broken(&f->vq));
	assert_false(vring_split_dev_is_broken(&f->dev));
}

static void model_run(uint16_t num, bool event_idx, bool indirect)
{
	uint64_t seed = model_seed();
	struct model m = {.r = {seed | 1}};

	printf("# model num=%u event_idx=%d indirect=%d VIREO_SEED=0x%llx\n", num, event_idx,
	       indirect, (unsigned long long)seed);
	m.f = fix_new(num, event_idx, indirect);
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
	fix_free(m.f);
}

static void test_model_plain(void **state)
{
	(void)state;
	model_run(16, false, false);
}

static void test_model_event_idx(void **state)
{
	(void)state;
	model_run(8, true, false);
}

static void test_model_indirect(void **state)
{
	(void)state;
	model_run(8, false, true);
}

static void test_model_event_idx_indirect(void **state)
{
	(void)state;
	model_run(4, true, true);
}

static void test_model_large(void **state)
{
	(void)state;
	model_run(64, true, true);
}

/*
 * The same ring driven by two real threads (polling), so the acquire/release
 * pairs and fences are exercised: the driver writes a sequence number into
 * each readable buffer before adding it, the device answers 3 * seq in the
 * writable one, and the driver checks the answer after get_buf (data
 * written before a published index must be visible after it).
 */
#define THR_OPS 50000u

struct thr {
	struct fix *f;
	atomic_bool stop;
	atomic_uint device_errors;
};

static void *thr_device(void *arg)
{
	struct thr *t = arg;
	struct fix *f = t->f;
	unsigned int since_flush = 0;

	while (!atomic_load(&t->stop)) {
		struct vring_iov iov[2];
		struct vring_chain c;
		uint64_t v;
		int r = vring_split_dev_pop(&f->dev, &c, iov, 2);

		if (r == -EAGAIN) {
			vring_split_dev_flush(&f->dev);
			since_flush = 0;
			sched_yield();
			continue;
		}
		if (r || c.readable != 1 || c.writable != 1 || iov[0].len != 8 || iov[1].len != 8) {
			atomic_fetch_add(&t->device_errors, 1);
			break;
		}
		memcpy(&v, iov[0].base, sizeof(v));
		v *= 3;
		memcpy(iov[1].base, &v, sizeof(v));
		if (vring_split_dev_push(&f->dev, c.head, 8)) {
			atomic_fetch_add(&t->device_errors, 1);
			break;
		}
		if (++since_flush == 16) {
			vring_split_dev_flush(&f->dev);
			since_flush = 0;
		}
	}
	vring_split_dev_flush(&f->dev);
	return NULL;
}

static void thr_run(bool event_idx, bool indirect)
{
	struct thr t = {.f = fix_new(16, event_idx, indirect)};
	struct fix *f = t.f;
	uint64_t seq[16];
	uint16_t free_slots[16];
	unsigned int n_free = 16, sent = 0, done = 0;
	pthread_t dev;

	for (unsigned int i = 0; i < 16; i++)
		free_slots[i] = (uint16_t)i;
	virtqueue_disable_cb(&f->vq);
	assert_int_equal(pthread_create(&dev, NULL, thr_device, &t), 0);
	while (done < THR_OPS) {
		uint32_t len;
		void *tok;

		while (sent < THR_OPS && n_free && virtqueue_get_num_free(&f->vq) >= 2) {
			unsigned int slot = free_slots[--n_free];
			uint64_t *out = fix_host(f, fix_buf(f, slot));
			struct virtio_sg sg[2] = {{fix_buf(f, slot), 8},
						  {fix_buf(f, slot) + 64, 8}};

			seq[slot] = sent++;
			*out = seq[slot];
			assert_int_equal(
				virtqueue_add_sgs(&f->vq, sg, 1, 1, (void *)(uintptr_t)(slot + 1)),
				0);
		}
		virtqueue_kick_prepare(&f->vq);
		if (!virtqueue_more_used(&f->vq))
			sched_yield(); /* the device may share our CPU */
		while ((tok = virtqueue_get_buf(&f->vq, &len))) {
			unsigned int slot = (unsigned int)(uintptr_t)tok - 1;
			uint64_t *in = fix_host(f, fix_buf(f, slot) + 64);

			assert_int_equal(len, 8);
			assert_int_equal(*in, 3 * seq[slot]);
			free_slots[n_free++] = (uint16_t)slot;
			done++;
		}
		if (atomic_load(&t.device_errors))
			break;
	}
	atomic_store(&t.stop, true);
	pthread_join(dev, NULL);
	assert_int_equal(atomic_load(&t.device_errors), 0);
	assert_int_equal(done, THR_OPS);
	assert_false(virtqueue_is_broken(&f->vq));
	fix_free(f);
}

static void test_threads_plain(void **state)
{
	(void)state;
	thr_run(false, false);
}

static void test_threads_event_idx_indirect(void **state)
{
	(void)state;
	thr_run(true, true);
}

/*
 * Lost-kick regression (`vireo bench blk` hung): a device that never calls
 * enable/disable_notify, so notifications stay on from init and each pop
 * writes avail_event. It sleeps on its kick eventfd as soon as pop says
 * -EAGAIN, which is safe only if pop made its avail_event store visible
 * before its last look at avail->idx (§2.7.10; dev_avail_recheck()). The
 * driver sleeps on its call eventfd with the enable_cb / re-check protocol.
 * Either side waiting RACE_TIMEOUT_MS is a lost wake-up (not a timing
 * assertion: a wake-up takes microseconds; the timeout stands for "never").
 * The driver spins a random while before sleeping and the device completes
 * every RACE_FLUSH chains, so adds often meet the device's last pop: with
 * the fence removed this catches the hang in most runs on an idle 2-CPU box.
 */
#define RACE_NUM 64u
#define RACE_DEPTH 32u
#define RACE_SPIN 2000u /* driver polls up to this many times before sleeping */
#define RACE_FLUSH 4u	/* device completes every RACE_FLUSH chains */
#define RACE_OPS 3000000u
#define RACE_NS 3000000000ull
#define RACE_TIMEOUT_MS 2000

struct race {
	struct fix *f;
	int kick_fd, call_fd;
	atomic_bool stop;
	atomic_bool dev_timeout, drv_timeout, dev_bad, drv_bad;
	uint64_t seq[RACE_NUM];
	uint64_t sent, done, kicks, sleeps;
};

static uint64_t race_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Best effort: driver and device on different CPUs makes the race real. */
static void race_pin(unsigned int cpu)
{
	cpu_set_t set;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void race_signal(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		abort();
}

/* Return: 1 when @fd was signalled (count consumed), 0 on timeout. */
static int race_wait(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	uint64_t v;
	int r;

	do
		r = poll(&p, 1, RACE_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	if (r < 0 || (r > 0 && read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v)))
		abort();
	return r;
}

static void race_dev_complete(struct race *rc)
{
	vring_split_dev_flush(&rc->f->dev);
	if (vring_split_dev_need_notify(&rc->f->dev))
		race_signal(rc->call_fd);
}

/* Pop until the ring looks empty, answering 3 * seq. Return: false on a bad chain. */
static bool race_dev_serve(struct race *rc)
{
	struct vring_split_dev *d = &rc->f->dev;
	struct vring_iov iov[2];
	struct vring_chain c;
	unsigned int n = 0;
	uint64_t v;
	int r;

	while ((r = vring_split_dev_pop(d, &c, iov, 2)) == 0) {
		if (c.readable != 1 || c.writable != 1 || iov[0].len != 8 || iov[1].len != 8)
			return false;
		memcpy(&v, iov[0].base, sizeof(v));
		v *= 3;
		memcpy(iov[1].base, &v, sizeof(v));
		if (vring_split_dev_push(d, c.head, 8))
			return false;
		/* Complete as we go, like a real device: the driver refills
		 * while we pop, so its adds meet our -EAGAIN. */
		if (++n % RACE_FLUSH == 0)
			race_dev_complete(rc);
	}
	return r == -EAGAIN;
}

static void *race_device(void *arg)
{
	struct race *rc = arg;

	race_pin(1);
	while (!atomic_load(&rc->stop)) {
		if (!race_dev_serve(rc)) {
			atomic_store(&rc->dev_bad, true);
			break;
		}
		race_dev_complete(rc);
		if (!race_wait(rc->kick_fd)) {
			atomic_store(&rc->dev_timeout, !atomic_load(&rc->stop));
			break;
		}
	}
	atomic_store(&rc->stop, true);
	race_signal(rc->call_fd);
	return NULL;
}

/*
 * Add a batch of 1..8 buffers, keeping at most RACE_DEPTH in flight.
 * Return: false if an add failed (no cmocka assert off the main thread).
 */
static bool race_drv_add(struct race *rc, struct rng *r, uint64_t limit)
{
	struct fix *f = rc->f;
	unsigned int batch = 1 + rng_below(r, 8);

	while (batch-- && rc->sent < limit && rc->sent - rc->done < RACE_DEPTH) {
		/* The device completes in pop order and at most RACE_DEPTH <
		 * RACE_NUM are in flight, so this slot is free. */
		unsigned int slot = (unsigned int)(rc->sent % RACE_NUM);
		struct virtio_sg sg[2] = {{fix_buf(f, slot), 8}, {fix_buf(f, slot) + 64, 8}};
		uint64_t *out = fix_host(f, fix_buf(f, slot));

		rc->seq[slot] = rc->sent;
		*out = rc->sent;
		if (virtqueue_add_sgs(&f->vq, sg, 1, 1, (void *)(uintptr_t)(slot + 1)))
			return false;
		rc->sent++;
	}
	return true;
}

/* Take every used buffer. Return: how many, or -1 on a wrong answer. */
static int race_drv_reap(struct race *rc)
{
	struct fix *f = rc->f;
	uint32_t len;
	void *tok;
	int n = 0;

	while ((tok = virtqueue_get_buf(&f->vq, &len))) {
		unsigned int slot = (unsigned int)(uintptr_t)tok - 1;
		uint64_t *in = fix_host(f, fix_buf(f, slot) + 64);

		if (slot >= RACE_NUM || len != 8 || *in != 3 * rc->seq[slot])
			return -1;
		rc->done++;
		n++;
	}
	return n;
}

static void *race_driver(void *arg)
{
	struct race *rc = arg;
	struct virtqueue *vq = &rc->f->vq;
	struct rng r = {0x9e3779b97f4a7c15ull};
	uint64_t limit = RACE_OPS, end = race_now() + RACE_NS;
	int n;

	race_pin(0);
	virtqueue_disable_cb(vq);
	while (rc->done < limit && !atomic_load(&rc->stop)) {
		if (limit == RACE_OPS && race_now() > end)
			limit = rc->sent; /* out of time: drain what is in flight */
		if (!race_drv_add(rc, &r, limit)) {
			atomic_store(&rc->drv_bad, true);
			break;
		}
		if (virtqueue_kick_prepare(vq)) {
			race_signal(rc->kick_fd);
			rc->kicks++;
		}
		n = race_drv_reap(rc);
		if (n < 0) {
			atomic_store(&rc->drv_bad, true);
			break;
		}
		if (n || (rc->sent < limit && rc->sent - rc->done < RACE_DEPTH))
			continue;
		/*
		 * Nothing to do: poll a random while (so our next add often
		 * meets the device's last pop), then arm the callback,
		 * re-check, and sleep.
		 */
		for (unsigned int spin = rng_below(&r, RACE_SPIN); spin; spin--)
			if (virtqueue_more_used(vq))
				break;
		if (virtqueue_more_used(vq))
			continue;
		if (!virtqueue_enable_cb(vq)) {
			virtqueue_disable_cb(vq);
			continue;
		}
		rc->sleeps++;
		if (!race_wait(rc->call_fd))
			atomic_store(&rc->drv_timeout, !atomic_load(&rc->stop));
		virtqueue_disable_cb(vq);
		if (atomic_load(&rc->drv_timeout))
			break;
	}
	atomic_store(&rc->stop, true);
	race_signal(rc->kick_fd);
	return NULL;
}

/* The ring indices after both threads stopped, for a failure report. */
static void race_report(struct race *rc)
{
	struct fix *f = rc->f;
	const le16 *used_event =
		(const le16 *)(const void *)((const uint8_t *)f->avail + virtq_avail_size(f->num) -
					     sizeof(le16));

	printf("# lost wake-up: device %s, driver %s; avail idx %u, last_avail %u, used idx %u,"
	       " avail_event %u, used_event %u; sent %llu, done %llu\n",
	       atomic_load(&rc->dev_timeout) ? "timed out" : "ok",
	       atomic_load(&rc->drv_timeout) ? "timed out" : "ok", le16_to_cpu(f->avail->idx),
	       vring_split_dev_get_last_avail(&f->dev), le16_to_cpu(f->used->idx),
	       le16_to_cpu(*fix_avail_event(f)), le16_to_cpu(*used_event),
	       (unsigned long long)rc->sent, (unsigned long long)rc->done);
}

static void race_run(bool event_idx)
{
	struct race *rc = calloc(1, sizeof(*rc));
	pthread_t dev, drv;
	bool lost;

	assert_non_null(rc);
	rc->f = fix_new(RACE_NUM, event_idx, false);
	rc->kick_fd = eventfd(0, EFD_CLOEXEC);
	rc->call_fd = eventfd(0, EFD_CLOEXEC);
	assert_true(rc->kick_fd >= 0 && rc->call_fd >= 0);
	assert_int_equal(pthread_create(&dev, NULL, race_device, rc), 0);
	assert_int_equal(pthread_create(&drv, NULL, race_driver, rc), 0);
	pthread_join(drv, NULL);
	pthread_join(dev, NULL);
	lost = atomic_load(&rc->dev_timeout) || atomic_load(&rc->drv_timeout);
	if (lost)
		race_report(rc);
	printf("# race event_idx=%d: %llu buffers, %llu kicks, %llu driver sleeps\n", event_idx,
	       (unsigned long long)rc->done, (unsigned long long)rc->kicks,
	       (unsigned long long)rc->sleeps);
	assert_false(lost);
	assert_false(atomic_load(&rc->dev_bad));
	assert_false(atomic_load(&rc->drv_bad));
	assert_int_equal(rc->done, rc->sent);
	assert_true(rc->done > 0);
	assert_false(virtqueue_is_broken(&rc->f->vq));
	close(rc->kick_fd);
	close(rc->call_fd);
	fix_free(rc->f);
	free(rc);
}

static void test_race_kick_event_idx(void **state)
{
	(void)state;
	race_run(true);
}

static void test_race_kick_plain(void **state)
{
	(void)state;
	race_run(false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_plain),
		cmocka_unit_test(test_model_event_idx),
		cmocka_unit_test(test_model_indirect),
		cmocka_unit_test(test_model_event_idx_indirect),
		cmocka_unit_test(test_model_large),
		cmocka_unit_test(test_threads_plain),
		cmocka_unit_test(test_threads_event_idx_indirect),
		cmocka_unit_test(test_race_kick_event_idx),
		cmocka_unit_test(test_race_kick_plain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
