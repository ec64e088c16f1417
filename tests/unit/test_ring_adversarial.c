// SPDX-License-Identifier: MIT
/* Hostile-peer tests for ring/: one hand-made ring per protocol violation. */
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

/*
 * Each test below hand-crafts one protocol violation and checks that the
 * queue ends broken with the named error, that every later call fails with
 * -EIO (and touches nothing), and - via the guard pages around guest memory
 * and ASan in the sanitizer build - that nothing outside guest memory was
 * touched. Spec labels are those of /work/shared/spec-checklist.md §2.2/§3.2.
 */

static void set_desc(struct fix *f, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	f->desc[i] = (struct virtq_desc){.addr = addr, .len = len, .flags = flags, .next = next};
}

static void offer(struct fix *f, uint16_t head)
{
	f->avail->ring[f->avail->idx % f->num] = head;
	f->avail->idx++;
}

/* Move the descriptor table to the last bytes before the trailing guard page. */
static void desc_at_end(struct fix *f)
{
	struct vring_split_dev_config vc = fix_dev_config(f);

	vc.desc_addr = FIX_GPA + f->mem_len - virtq_desc_table_size(f->num);
	assert_int_equal(vring_split_dev_init(&f->dev, &vc), 0);
	f->desc = fix_host(f, vc.desc_addr);
}

/* The queue is broken with @err and stays inert. */
static void expect_broken(struct fix *f, enum vring_error err)
{
	struct vring_iov iov[8];
	struct vring_chain c;
	uint16_t used = f->used->idx;

	assert_int_equal(vring_split_dev_error(&f->dev), err);
	assert_true(vring_split_dev_is_broken(&f->dev));
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 8), -EIO);
	assert_int_equal(vring_split_dev_push(&f->dev, 0, 0), -EIO);
	vring_split_dev_flush(&f->dev);
	assert_int_equal(f->used->idx, used);
	assert_false(vring_split_dev_need_notify(&f->dev));
	assert_false(vring_split_dev_enable_notify(&f->dev));
}

static void expect_pop_error(struct fix *f, enum vring_error err)
{
	struct vring_iov iov[8];
	struct vring_chain c;

	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 8), -EPROTO);
	expect_broken(f, err);
	fix_free(f);
}

/* drv:BF/Virtqueues/The Virtqueue Descriptor Table (R-SR-03): no loops. */
static void test_descriptor_loop(void **state)
{
	struct fix *f = fix_new(8, false, false);

	(void)state;
	set_desc(f, 0, fix_buf(f, 0), 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, fix_buf(f, 1), 8, VIRTQ_DESC_F_NEXT, 0);
	offer(f, 0);
	expect_pop_error(f, VRING_ERR_CHAIN_LOOP);
}

/* drv:BF/Virtqueues/The Virtqueue Descriptor Table (R-SR-05): chain <= queue size. */
static void test_chain_longer_than_queue(void **state)
{
	struct fix *f = fix_new(4, false, false);

	(void)state;
	for (uint16_t i = 0; i < 4; i++)
		set_desc(f, i, fix_buf(f, i), 8, VIRTQ_DESC_F_NEXT, (uint16_t)((i + 1) % 4));
	offer(f, 2);
	expect_pop_error(f, VRING_ERR_CHAIN_LOOP);
}

/* drv:BF/Virtqueues/The Virtqueue Descriptor Table: next indexes the table. */
static void test_next_out_of_range(void **state)
{
	struct fix *f = fix_new(8, false, false);

	(void)state;
	desc_at_end(f);
	set_desc(f, 7, fix_buf(f, 0), 8, VIRTQ_DESC_F_NEXT, 8);
	offer(f, 7);
	expect_pop_error(f, VRING_ERR_NEXT_RANGE);
}

/* dev:BF/Virtqueues/The Virtqueue Descriptor Table: buffers are guest memory. */
static void test_address_outside_memory(void **state)
{
	struct fix *f = fix_new(8, false, false);

	(void)state;
	set_desc(f, 0, FIX_GPA + f->mem_len, 8, 0, 0);
	offer(f, 0);
	expect_pop_error(f, VRING_ERR_ADDRESS);

	f = fix_new(8, false, false);
	set_desc(f, 0, FIX_GPA - 8, 8, 0, 0);
	offer(f, 0);
	expect_pop_error(f, VRING_ERR_ADDRESS);

	/* Starts inside, runs past the end. */
	f = fix_new(8, false, false);
	set_desc(f, 0, FIX_GPA + f->mem_len - 8, 16, VIRTQ_DESC_F_WRITE, 0);
	offer(f, 0);
	expect_pop_error(f, VRING_ERR_ADDRESS);
}

/* STYLE.md checklist 4: gpa + len overflow. */
static void test_address_len_overflow(void **state)
{
	struct fix *f = fix_new(8, false, false);

	(void)state;
	set_desc(f, 0, UINT64_MAX - 10, 100, 0, 0);
	offer(f, 0);
	expect_pop_error(f, VRING_ERR_ADDRESS);
}

/* drv:…/Indirect Descriptors (R-SR-05): no INDIRECT inside an indirect table. */
static void test_nested_indirect(void **state)
{
	struct fix *f = fix_new(8, false, true);

	(void)state;
	f->pool[0] = (struct virtq_desc){fix_buf(f, 0), 8, VIRTQ_DESC_F_NEXT, 1};
	f->pool[1] = (struct virtq_desc){f->pool_gpa + 64, 16, VIRTQ_DESC_F_INDIRECT, 0};
	set_desc(f, 0, f->pool_gpa, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_pop_error(f, VRING_ERR_INDIRECT_NESTED);
}

/* drv:…/Indirect Descriptors (R-SR-05): never INDIRECT together with NEXT. */
static void test_indirect_with_next(void **state)
{
	struct fix *f = fix_new(8, false, true);

	(void)state;
	f->pool[0] = (struct virtq_desc){fix_buf(f, 0), 8, 0, 0};
	set_desc(f, 0, f->pool_gpa, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, fix_buf(f, 1), 8, 0, 0);
	offer(f, 0);
	expect_pop_error(f, VRING_ERR_INDIRECT_NEXT);
}

/* drv:…/Indirect Descriptors: the table length is a multiple of 16, non-zero. */
static void test_indirect_len(void **state)
{
	struct fix *f = fix_new(8, false, true);

	(void)state;
	set_desc(f, 0, f->pool_gpa, 24, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_pop_error(f, VRING_ERR_INDIRECT_LEN);

	f = fix_new(8, false, true);
	set_desc(f, 0, f->pool_gpa, 0, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_pop_error(f, VRING_ERR_INDIRECT_LEN);

	/* Larger than any queue: refused before it is walked. */
	f = fix_new(8, false, true);
	set_desc(f, 0, f->pool_gpa, 0xfffffff0u, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_pop_error(f, VRING_ERR_INDIRECT_LEN);
}

/* drv:…/Indirect Descriptors (R-SR-05): no INDIRECT unless negotiated. */
static void test_indirect_not_negotiated(void **state)
{
	struct fix *f = fix_new(8, false, false);

	(void)state;
	f->pool[0] = (struct virtq_desc){fix_buf(f, 0), 8, 0, 0};
	set_desc(f, 0, f->pool_gpa, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_pop_error(f, VRING_ERR_INDIRECT_FEATURE);
}

/* The indirect table itself must lie in one guest region. */
static void test_indirect_table_outside(void **state)
{
	struct fix *f = fix_new(8, false, true);

	(void)state;
	set_desc(f, 0, FIX_GPA + f->mem_len - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_pop_error(f, VRING_ERR_ADDRESS);

	f = fix_new_split(8, false, true, 8192);
	set_desc(f, 0, FIX_GPA + 8192 - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_pop_error(f, VRING_ERR_ADDRESS);
}

/* Loops and next range inside an indirect table; the table ends at the guard page. */
static void test_indirect_loop_and_next(void **state)
{
	struct fix *f = fix_new(8, false, true);
	uint64_t tab_gpa = FIX_GPA + f->mem_len - 32;
	struct virtq_desc *tab = fix_host(f, tab_gpa);

	(void)state;
	tab[0] = (struct virtq_desc){fix_buf(f, 0), 8, VIRTQ_DESC_F_NEXT, 1};
	tab[1] = (struct virtq_desc){fix_buf(f, 1), 8, VIRTQ_DESC_F_NEXT, 0};
	set_desc(f, 0, tab_gpa, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_pop_error(f, VRING_ERR_CHAIN_LOOP);

	f = fix_new(8, false, true);
	tab = fix_host(f, tab_gpa);
	tab[0] = (struct virtq_desc){fix_buf(f, 0), 8, VIRTQ_DESC_F_NEXT, 1};
	tab[1] = (struct virtq_desc){fix_buf(f, 1), 8, VIRTQ_DESC_F_NEXT, 2};
	set_desc(f, 0, tab_gpa, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_pop_error(f, VRING_ERR_NEXT_RANGE);
}

/* drv:BF/Message Framing (R-SR-02): writable elements after all readable ones. */
static void test_readable_after_writable(void **state)
{
	struct fix *f = fix_new(8, false, false);

	(void)state;
	set_desc(f, 0, fix_buf(f, 0), 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, fix_buf(f, 1), 8, 0, 0);
	offer(f, 0);
	expect_pop_error(f, VRING_ERR_WRITABLE_ORDER);
}

/* drv:BF/Virtqueues/The Virtqueue Available Ring (R-SR-07): idx moves <= queue size. */
static void test_avail_idx_ahead(void **state)
{
	struct fix *f = fix_new(8, false, false);

	(void)state;
	set_desc(f, 0, fix_buf(f, 0), 8, 0, 0);
	f->avail->idx = 9;
	expect_pop_error(f, VRING_ERR_AVAIL_IDX);

	/* Decreasing avail idx looks like a jump of almost 2^16. */
	f = fix_new(8, false, false);
	f->avail->idx = 0xffff;
	assert_true(vring_split_dev_has_avail(&f->dev));
	expect_broken(f, VRING_ERR_AVAIL_IDX);
	fix_free(f);
}

/* dev:BF/Virtqueues/The Virtqueue Available Ring: a head indexes the table. */
static void test_head_out_of_range(void **state)
{
	struct fix *f = fix_new(8, false, false);

	(void)state;
	desc_at_end(f);
	offer(f, 8);
	expect_pop_error(f, VRING_ERR_HEAD_RANGE);
}

/* A head offered again while still in flight. */
static void test_head_in_flight(void **state)
{
	struct fix *f = fix_new(8, false, false);
	struct vring_iov iov[2];
	struct vring_chain c;

	(void)state;
	set_desc(f, 3, fix_buf(f, 0), 8, 0, 0);
	offer(f, 3);
	offer(f, 3);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 2), 0);
	expect_pop_error(f, VRING_ERR_HEAD_IN_FLIGHT);
}

/* 32-bit chain byte total, with a translate that maps a huge guest space. */
static void *huge_translate(const void *opaque, uint64_t addr, uint64_t len, uint64_t *contig)
{
	if (addr >= (1ull << 40)) {
		*contig = len;
		return (void *)(uintptr_t)opaque; /* never dereferenced by the ring */
	}
	return fix_translate(opaque, addr, len, contig);
}

static void test_bytes_overflow(void **state)
{
	struct fix *f = fix_new(8, false, false);

	(void)state;
	f->dev.mem.translate = huge_translate;
	set_desc(f, 0, 1ull << 40, 0x80000000u, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, 1ull << 41, 0x80000000u, VIRTQ_DESC_F_WRITE, 0);
	offer(f, 0);
	expect_pop_error(f, VRING_ERR_BYTES_OVERFLOW);
}

static void test_iov_capacity(void **state)
{
	struct fix *f = fix_new(16, false, false);
	struct vring_iov iov[8];
	struct vring_chain c;

	(void)state;
	for (uint16_t i = 0; i < 9; i++)
		set_desc(f, i, fix_buf(f, i), 8, i < 8 ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	offer(f, 0);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 8), -EPROTO);
	expect_broken(f, VRING_ERR_IOV_CAPACITY);
	fix_free(f);
}

/* STYLE.md checklist 5: push only heads in flight. */
static void test_push_not_in_flight(void **state)
{
	struct fix *f = fix_new(8, false, false);

	(void)state;
	assert_int_equal(vring_split_dev_push(&f->dev, 2, 0), -EPROTO);
	expect_broken(f, VRING_ERR_PUSH_NOT_IN_FLIGHT);
	fix_free(f);
	f = fix_new(8, false, false);
	assert_int_equal(vring_split_dev_push(&f->dev, 9, 0), -EPROTO);
	expect_broken(f, VRING_ERR_PUSH_NOT_IN_FLIGHT);
	fix_free(f);
}

/* dev:BF/Virtqueues/The Virtqueue Used Ring (D-SR-11): len <= writable bytes. */
static void test_push_len_above_writable(void **state)
{
	struct fix *f = fix_new(8, false, false);
	struct vring_iov iov[2];
	struct vring_chain c;

	(void)state;
	set_desc(f, 0, fix_buf(f, 0), 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, fix_buf(f, 1), 16, VIRTQ_DESC_F_WRITE, 0);
	offer(f, 0);
	assert_int_equal(vring_split_dev_pop(&f->dev, &c, iov, 2), 0);
	assert_int_equal(vring_split_dev_push(&f->dev, 0, 17), -EPROTO);
	expect_broken(f, VRING_ERR_PUSH_LEN);
	fix_free(f);
}

/* Driver side vs a hostile device (STYLE.md checklist 6). */
static struct fix *drv_with_two_posted(int *t)
{
	struct fix *f = fix_new(8, false, false);
	struct virtio_sg sg = {.addr = fix_buf(f, 0), .len = 64};

	assert_int_equal(virtqueue_add_inbuf(&f->vq, &sg, 1, &t[0]), 0);
	assert_int_equal(virtqueue_add_inbuf(&f->vq, &sg, 1, &t[1]), 0);
	virtqueue_kick(&f->vq);
	return f;
}

static void expect_drv_broken(struct fix *f, int *t)
{
	struct virtio_sg sg = {.addr = fix_buf(f, 0), .len = 64};

	assert_null(virtqueue_get_buf(&f->vq, NULL));
	assert_true(virtqueue_is_broken(&f->vq));
	assert_int_equal(virtqueue_add_inbuf(&f->vq, &sg, 1, t), -EIO);
	assert_null(virtqueue_get_buf(&f->vq, NULL));
	assert_false(virtqueue_kick(&f->vq));
	assert_false(virtqueue_more_used(&f->vq));
	fix_free(f);
}

/* drv:BF/Virtqueues/The Virtqueue Used Ring: id is a head the driver posted. */
static void test_drv_bogus_used_id(void **state)
{
	int t[3];
	struct fix *f = drv_with_two_posted(t);

	(void)state;
	f->used->ring[0] = (struct virtq_used_elem){.id = 8, .len = 0};
	f->used->idx = 1;
	expect_drv_broken(f, t);

	f = drv_with_two_posted(t);
	f->used->ring[0] = (struct virtq_used_elem){.id = 0xffffffffu, .len = 0};
	f->used->idx = 1;
	expect_drv_broken(f, t);
}

static void test_drv_used_id_not_in_flight(void **state)
{
	int t[3];
	struct fix *f = drv_with_two_posted(t);

	(void)state;
	f->used->ring[0] = (struct virtq_used_elem){.id = 5, .len = 0};
	f->used->idx = 1;
	expect_drv_broken(f, t);

	/* The same head returned twice. */
	f = drv_with_two_posted(t);
	f->used->ring[0] = (struct virtq_used_elem){.id = 0, .len = 0};
	f->used->ring[1] = (struct virtq_used_elem){.id = 0, .len = 0};
	f->used->idx = 2;
	assert_ptr_equal(virtqueue_get_buf(&f->vq, NULL), &t[0]);
	expect_drv_broken(f, t);
}

/* D-SR-11 seen from the driver: len above the writable bytes posted. */
static void test_drv_used_len_too_large(void **state)
{
	int t[3];
	struct fix *f = drv_with_two_posted(t);

	(void)state;
	f->used->ring[0] = (struct virtq_used_elem){.id = 0, .len = 65};
	f->used->idx = 1;
	expect_drv_broken(f, t);
}

/* More used entries than were ever made available. */
static void test_drv_used_idx_ahead(void **state)
{
	int t[3];
	struct fix *f = drv_with_two_posted(t);

	(void)state;
	f->used->idx = 3;
	expect_drv_broken(f, t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_descriptor_loop),
		cmocka_unit_test(test_chain_longer_than_queue),
		cmocka_unit_test(test_next_out_of_range),
		cmocka_unit_test(test_address_outside_memory),
		cmocka_unit_test(test_address_len_overflow),
		cmocka_unit_test(test_nested_indirect),
		cmocka_unit_test(test_indirect_with_next),
		cmocka_unit_test(test_indirect_len),
		cmocka_unit_test(test_indirect_not_negotiated),
		cmocka_unit_test(test_indirect_table_outside),
		cmocka_unit_test(test_indirect_loop_and_next),
		cmocka_unit_test(test_readable_after_writable),
		cmocka_unit_test(test_avail_idx_ahead),
		cmocka_unit_test(test_head_out_of_range),
		cmocka_unit_test(test_head_in_flight),
		cmocka_unit_test(test_bytes_overflow),
		cmocka_unit_test(test_iov_capacity),
		cmocka_unit_test(test_push_not_in_flight),
		cmocka_unit_test(test_push_len_above_writable),
		cmocka_unit_test(test_drv_bogus_used_id),
		cmocka_unit_test(test_drv_used_id_not_in_flight),
		cmocka_unit_test(test_drv_used_len_too_large),
		cmocka_unit_test(test_drv_used_idx_ahead),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
