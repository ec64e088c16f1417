// SPDX-License-Identifier: MIT
/* Unit tests for ring/split_device.c and ring/chain.c: the device side of a split ring. */
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
#include <sys/mman.h>

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

/* Driver side by hand: write descriptor @i. */
static void set_desc(struct fix *f, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	f->desc[i] = (struct virtq_desc){.addr = addr, .len = len, .flags = flags, .next = next};
}

/* Make @head available (and publish avail->idx). */
static void offer(struct fix *f, uint16_t head)
{
	f->avail->ring[f->avail->idx % f->num] = head;
	f->avail->idx++;
}

static void expect_geometry(struct fix *f, struct vring_split_dev_config *vc)
{
	struct vring_split_dev q;

	assert_int_equal(vring_split_dev_init(&q, vc), -EINVAL);
	assert_int_equal(vring_split_dev_error(&q), VRING_ERR_GEOMETRY);
	assert_true(vring_split_dev_is_broken(&q));
	assert_int_equal(vring_split_dev_pop(&q, NULL, NULL, 0), -EIO);
	*vc = fix_dev_config(f);
}

/* Checklist item 1: geometry validated once at init. */
static void test_init_geometry(void **state)
{
	struct fix *f = fix_new(8, false, false);
	struct vring_split_dev_config vc = fix_dev_config(f);
	struct vring_split_dev q;

	(void)state;
	assert_int_equal(vring_split_dev_init(&q, &vc), 0);
	vc.num = 0;
	expect_geometry(f, &vc);
	vc.num = 6;
	expect_geometry(f, &vc);
	vc.max_num = 4; /* size above the device maximum */
	expect_geometry(f, &vc);
	vc.max_num = 65535;
	expect_geometry(f, &vc);
	vc.desc_addr += 8; /* §2.7 alignment 16/2/4 */
	expect_geometry(f, &vc);
	vc.avail_addr += 1;
	expect_geometry(f, &vc);
	vc.used_addr += 2;
	expect_geometry(f, &vc);
	vc.desc_addr = FIX_GPA - 4096; /* outside guest memory */
	expect_geometry(f, &vc);
	vc.used_addr = FIX_GPA + f->mem_len - 16; /* sticks out of the region */
	expect_geometry(f, &vc);
	vc.avail_addr = UINT64_MAX - 1; /* wraps */
	expect_geometry(f, &vc);
	vc.state = (uint8_t *)f->state + 4;
	expect_geometry(f, &vc);
	vc.mem.translate = NULL;
	expect_geometry(f, &vc);
	assert_int_equal(vring_split_dev_init(&q, NULL), -EINVAL);
	fix_free(f);
}

/* A ring part straddling two guest regions is refused (must be in ONE region). */
static void test_init_part_across_regions(void **state)
{
	struct fix *f = fix_new_split(64, false, false, 4096);
	struct vring_split_dev_config vc = fix_dev_config(f);
	struct vring_split_dev q;

	(void)state;
	assert_true(f->used_gpa + virtq_used_size(64) <= FIX_GPA + 4096);
	vc.desc_addr = FIX_GPA + 4096 - 512; /* 1 KiB table across the boundary */
	assert_int_equal(vring_split_dev_init(&q, &vc), -EINVAL);
	assert_int_equal(vring_split_dev_error(&q), VRING_ERR_GEOMETRY);
	vc.desc_addr = FIX_GPA + 4096; /* wholly in region 1: fine */
	assert_int_equal(vring_split_dev_init(&q, &vc), 0);
	fix_free(f);
}

static void test_pop_empty_and_basic(void **state)
{
	struct fix *f = fix_new(8, false, false);
	struct vring_iov iov[4];
	struct vring_chain c;

	(void)state;
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 4), -EAGAIN);
	assert_false(vring_split_dev_has_avail(&f->dev));
	set_desc(f, 5, fix_buf(f, 0), 16, VIRTQ_DESC_F_NEXT, 2);
	set_desc(f, 2, fix_buf(f, 1), 100, VIRTQ_DESC_F_WRITE, 0);
	offer(f, 5);
	assert_true(vring_split_dev_has_avail(&f->dev));
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 4), 0);
	assert_int_equal(c.head, 5);
	assert_int_equal(c.readable, 1);
	assert_int_equal(c.writable, 1);
	assert_int_equal(c.readable_bytes, 16);
	assert_int_equal(c.writable_bytes, 100);
	assert_ptr_equal(iov[0].base, fix_host(f, fix_buf(f, 0)));
	assert_int_equal(iov[0].len, 16);
	assert_ptr_equal(iov[1].base, fix_host(f, fix_buf(f, 1)));
	assert_int_equal(iov[1].len, 100);
	assert_int_equal(vring_split_dev_in_flight(&f->dev), 1);
	assert_int_equal(vring_split_dev_get_last_avail(&f->dev), 1);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 4), -EAGAIN);
	/* Push: visible only at flush (one used->idx store). */
	assert_int_equal(vring_split_dev_push(&f->dev, 5, 50), 0);
	assert_int_equal(f->used->idx, 0);
	assert_int_equal(f->used->ring[0].id, 5);
	assert_int_equal(f->used->ring[0].len, 50);
	vring_split_dev_flush(&f->dev);
	assert_int_equal(f->used->idx, 1);
	assert_int_equal(vring_split_dev_in_flight(&f->dev), 0);
	fix_free(f);
}

/* Checklist item 4: a buffer across two regions becomes two iov entries. */
static void test_pop_split_across_regions(void **state)
{
	struct fix *f = fix_new_split(8, false, false, 8192);
	struct vring_iov iov[4];
	struct vring_chain c;
	uint64_t gpa = FIX_GPA + 8192 - 100;

	(void)state;
	assert_true(f->bufs_gpa + 8 * FIX_BUF <= FIX_GPA + 8192);
	set_desc(f, 0, gpa, 300, VIRTQ_DESC_F_WRITE, 0);
	offer(f, 0);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 4), 0);
	assert_int_equal(c.writable, 2);
	assert_int_equal(c.writable_bytes, 300);
	assert_ptr_equal(iov[0].base, f->mem + 8192 - 100);
	assert_int_equal(iov[0].len, 100);
	assert_ptr_equal(iov[1].base, f->mem2);
	assert_int_equal(iov[1].len, 200);
	/* Not enough iov entries for the split: IOV_CAPACITY. */
	offer(f, 1);
	set_desc(f, 1, gpa, 300, 0, 0);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 1), -EPROTO);
	assert_int_equal(vring_split_dev_error(&f->dev), VRING_ERR_IOV_CAPACITY);
	fix_free(f);
}

/* Zero-length descriptors: allowed, no iov entry, never translated. */
static void test_pop_zero_length(void **state)
{
	struct fix *f = fix_new(8, false, false);
	struct vring_iov iov[4];
	struct vring_chain c;

	(void)state;
	set_desc(f, 0, 0xdead0000000ull, 0, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, fix_buf(f, 1), 8, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	set_desc(f, 2, 0, 0, VIRTQ_DESC_F_WRITE, 0);
	offer(f, 0);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 4), 0);
	assert_int_equal(c.readable, 0);
	assert_int_equal(c.writable, 1);
	assert_int_equal(c.writable_bytes, 8);
	fix_free(f);
}

/* D-SR-04/05: direct descriptors then one indirect; WRITE on it is ignored. */
static void test_pop_mixed_indirect(void **state)
{
	struct fix *f = fix_new(8, false, true);
	struct vring_iov iov[8];
	struct vring_chain c;
	struct virtq_desc *tab = f->pool;

	(void)state;
	tab[0] = (struct virtq_desc){fix_buf(f, 2), 32, VIRTQ_DESC_F_NEXT, 2};
	tab[2] = (struct virtq_desc){fix_buf(f, 3), 64, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1};
	tab[1] = (struct virtq_desc){fix_buf(f, 4), 8, VIRTQ_DESC_F_WRITE, 0};
	set_desc(f, 3, fix_buf(f, 1), 16, VIRTQ_DESC_F_NEXT, 6);
	set_desc(f, 6, f->pool_gpa, 3 * 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	offer(f, 3);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 8), 0);
	assert_int_equal(c.head, 3);
	assert_int_equal(c.readable, 2);
	assert_int_equal(c.writable, 2);
	assert_int_equal(c.readable_bytes, 48);
	assert_int_equal(c.writable_bytes, 72);
	assert_ptr_equal(iov[1].base, fix_host(f, fix_buf(f, 2)));
	assert_ptr_equal(iov[3].base, fix_host(f, fix_buf(f, 4)));
	assert_int_equal(vring_split_dev_push(&f->dev, 3, 72), 0);
	fix_free(f);
}

/* An indirect table at an address that is not 8-aligned is read bytewise. */
static void test_pop_unaligned_indirect(void **state)
{
	struct fix *f = fix_new(8, false, true);
	struct vring_iov iov[4];
	struct vring_chain c;
	struct virtq_desc d = {fix_buf(f, 1), 24, VIRTQ_DESC_F_WRITE, 0};
	uint64_t gpa = f->pool_gpa + 3;

	(void)state;
	memcpy(fix_host(f, gpa), &d, sizeof(d));
	set_desc(f, 0, gpa, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 4), 0);
	assert_int_equal(c.writable_bytes, 24);
	assert_ptr_equal(iov[0].base, fix_host(f, fix_buf(f, 1)));
	fix_free(f);
}

/* §2.7.7.2 without EVENT_IDX: flags decide, used_event ignored (D-SR-06/07). */
static void test_need_notify_flags(void **state)
{
	struct fix *f = fix_new(8, false, false);
	struct vring_iov iov[2];
	struct vring_chain c;

	(void)state;
	assert_false(vring_split_dev_need_notify(&f->dev)); /* nothing used */
	f->avail->ring[8] = 77;				    /* used_event: garbage, ignored */
	for (uint16_t i = 0; i < 4; i++) {
		set_desc(f, i, fix_buf(f, i), 8, VIRTQ_DESC_F_WRITE, 0);
		offer(f, i);
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 2), 0);
		assert_int_equal(vring_split_dev_push(&f->dev, c.head, 0), 0);
		vring_split_dev_flush(&f->dev);
		assert_true(vring_split_dev_need_notify(&f->dev));
		assert_false(vring_split_dev_need_notify(&f->dev)); /* nothing new */
	}
	f->avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 2), 0);
	assert_int_equal(vring_split_dev_push(&f->dev, c.head, 0), 0);
	vring_split_dev_flush(&f->dev);
	assert_false(vring_split_dev_need_notify(&f->dev));
	fix_free(f);
}

/* One used entry per call through the device; returns need_notify. */
static bool complete_one(struct fix *f)
{
	struct vring_iov iov[2];
	struct vring_chain c;
	uint16_t head = (uint16_t)(f->avail->idx % f->num);

	set_desc(f, head, fix_buf(f, head), 8, VIRTQ_DESC_F_WRITE, 0);
	offer(f, head);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 2), 0);
	assert_int_equal(vring_split_dev_push(&f->dev, c.head, 0), 0);
	vring_split_dev_flush(&f->dev);
	return vring_split_dev_need_notify(&f->dev);
}

/* D-SR-08/09: with EVENT_IDX exactly one notification, when used idx passes used_event. */
static void test_need_notify_event_idx(void **state)
{
	struct fix *f = fix_new(4, true, false);
	le16 *used_event = &f->avail->ring[4];

	(void)state;
	f->avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT; /* ignored with EVENT_IDX */
	*used_event = 2;
	assert_false(complete_one(f)); /* used idx 1 */
	assert_false(complete_one(f)); /* 2 */
	assert_true(complete_one(f));  /* 3: entry 2 written */
	assert_false(complete_one(f));
	/* Around the wrap: used_event 65535 fires exactly once, at 65535 -> 0. */
	*used_event = 1;
	unsigned int fired = 0;
	while (f->dev.used_idx != 65533) {
		if (complete_one(f))
			fired++;
	}
	assert_int_equal(fired, 0);
	*used_event = 65535;
	assert_false(complete_one(f)); /* 65534 */
	assert_false(complete_one(f)); /* 65535 */
	assert_true(complete_one(f));  /* 0 */
	assert_int_equal(f->used->idx, 0);
	assert_false(complete_one(f));
	/* Batched: one flush covering used_event fires once. */
	*used_event = 3;
	struct vring_iov iov[2];
	struct vring_chain c;
	for (int i = 0; i < 3; i++) {
		uint16_t head = (uint16_t)i;

		set_desc(f, head, fix_buf(f, head), 8, VIRTQ_DESC_F_WRITE, 0);
		offer(f, head);
		assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 2), 0);
		assert_int_equal(vring_split_dev_push(&f->dev, c.head, 0), 0);
	}
	vring_split_dev_flush(&f->dev);
	assert_true(vring_split_dev_need_notify(&f->dev));
	assert_false(vring_split_dev_need_notify(&f->dev));
	fix_free(f);
}

/* D-SR-12/13: used.flags 0/1 without EVENT_IDX, always 0 with it; avail_event after pops. */
static void test_enable_disable_notify(void **state)
{
	struct fix *f = fix_new(8, false, false);
	struct fix *e = fix_new(8, true, false);
	le16 *avail_event = fix_avail_event(e);

	(void)state;
	vring_split_dev_disable_notify(&f->dev);
	assert_int_equal(f->used->flags, VIRTQ_USED_F_NO_NOTIFY);
	assert_false(vring_split_dev_enable_notify(&f->dev));
	assert_int_equal(f->used->flags, 0);
	set_desc(f, 0, fix_buf(f, 0), 8, 0, 0);
	offer(f, 0);
	vring_split_dev_disable_notify(&f->dev);
	assert_true(vring_split_dev_enable_notify(&f->dev)); /* came meanwhile */

	vring_split_dev_disable_notify(&e->dev);
	assert_int_equal(e->used->flags, 0);
	complete_one(e);
	assert_int_equal(*avail_event, 0); /* disabled: not moved */
	assert_false(vring_split_dev_enable_notify(&e->dev));
	assert_int_equal(*avail_event, 1);
	complete_one(e);
	assert_int_equal(*avail_event, 2); /* written after the pop */
	assert_int_equal(e->used->flags, 0);
	fix_free(f);
	fix_free(e);
}

static void test_set_last_avail(void **state)
{
	struct fix *f = fix_new(8, false, false);
	struct vring_iov iov[2];
	struct vring_chain c;

	(void)state;
	for (uint16_t i = 0; i < 3; i++) {
		set_desc(f, i, fix_buf(f, i), 8, 0, 0);
		offer(f, i);
	}
	vring_split_dev_set_last_avail(&f->dev, 2);
	assert_int_equal(vring_split_dev_get_last_avail(&f->dev), 2);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 2), 0);
	assert_int_equal(c.head, 2);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 2), -EAGAIN);
	/* A re-init resumes at the ring's used idx and the given last_avail. */
	f->used->idx = 40;
	struct vring_split_dev_config vc = fix_dev_config(f);
	vc.last_avail_idx = 3;
	assert_int_equal(vring_split_dev_init(&f->dev, &vc), 0);
	assert_int_equal(vring_split_dev_get_last_avail(&f->dev), 3);
	assert_int_equal(vring_split_dev_in_flight(&f->dev), 0);
	fix_free(f);
}

static void test_error_strings(void **state)
{
	(void)state;
	for (int i = 0; i < VRING_ERR_COUNT; i++) {
		const char *s = vring_error_string((enum vring_error)i);

		assert_non_null(s);
		assert_true(strlen(s) > 0);
	}
	assert_string_equal(vring_error_string(VRING_ERR_NONE), "no error");
	assert_string_equal(vring_error_string((enum vring_error)999), "unknown ring error");
}

/* 16-bit wrap on the device side: > 65536 pops/pushes on a 2-entry queue. */
static void test_device_index_wrap(void **state)
{
	struct fix *f = fix_new(2, false, false);
	struct vring_iov iov[2];
	struct vring_chain c;

	(void)state;
	set_desc(f, 0, fix_buf(f, 0), 8, VIRTQ_DESC_F_WRITE, 0);
	set_desc(f, 1, fix_buf(f, 1), 8, VIRTQ_DESC_F_WRITE, 0);
	for (unsigned int i = 0; i < 70000; i++) {
		offer(f, (uint16_t)(i & 1));
		assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 2), 0);
		assert_int_equal(c.head, i & 1);
		assert_int_equal(vring_split_dev_push(&f->dev, c.head, (uint32_t)(i & 7)), 0);
		if (i & 1)
			vring_split_dev_flush(&f->dev);
	}
	assert_int_equal(f->used->idx, (uint16_t)70000);
	assert_false(vring_split_dev_is_broken(&f->dev));
	fix_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_geometry),
		cmocka_unit_test(test_init_part_across_regions),
		cmocka_unit_test(test_pop_empty_and_basic),
		cmocka_unit_test(test_pop_split_across_regions),
		cmocka_unit_test(test_pop_zero_length),
		cmocka_unit_test(test_pop_mixed_indirect),
		cmocka_unit_test(test_pop_unaligned_indirect),
		cmocka_unit_test(test_need_notify_flags),
		cmocka_unit_test(test_need_notify_event_idx),
		cmocka_unit_test(test_enable_disable_notify),
		cmocka_unit_test(test_set_last_avail),
		cmocka_unit_test(test_error_strings),
		cmocka_unit_test(test_device_index_wrap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
