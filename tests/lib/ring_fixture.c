// SPDX-License-Identifier: MIT
/*
 * Shared fixture for the ring/ unit tests: one split ring, both sides, in
 * guest memory fenced by PROT_NONE guard pages (see ring_fixture.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "tests/lib/ring_fixture.h"

uint64_t ring_fixture_align(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

void *ring_fixture_translate(const void *opaque, uint64_t addr, uint64_t len, uint64_t *contig)
{
	const struct ring_fixture *f = opaque;
	uint64_t off, end, left;

	if (len == 0 || addr < RING_FIXTURE_GPA || len - 1 > UINT64_MAX - addr)
		return NULL;
	off = addr - RING_FIXTURE_GPA;
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

void *ring_fixture_host(struct ring_fixture *f, uint64_t gpa)
{
	uint64_t c;

	return ring_fixture_translate(f, gpa, 1, &c);
}

static bool ring_fixture_notify(struct virtqueue *vq)
{
	struct ring_fixture *f = vq->priv;

	f->notifies++;
	return true;
}

/* Guest addresses: ring parts, indirect pool and buffers, each 64-byte aligned. */
static void ring_fixture_layout(struct ring_fixture *f, uint16_t num, uint64_t split_at)
{
	uint64_t off;

	f->num = num;
	f->desc_gpa = RING_FIXTURE_GPA;
	off = virtq_desc_table_size(num);
	f->avail_gpa = RING_FIXTURE_GPA + ring_fixture_align(off, 64);
	off = ring_fixture_align(off, 64) + virtq_avail_size(num);
	f->used_gpa = RING_FIXTURE_GPA + ring_fixture_align(off, 64);
	off = ring_fixture_align(off, 64) + virtq_used_size(num);
	f->pool_gpa = RING_FIXTURE_GPA + ring_fixture_align(off, 64);
	off = ring_fixture_align(off, 64) +
	      (uint64_t)num * RING_FIXTURE_IMAX * sizeof(struct virtq_desc);
	f->bufs_gpa = RING_FIXTURE_GPA + ring_fixture_align(off, 64);
	off = ring_fixture_align(off, 64) + (uint64_t)num * RING_FIXTURE_BUF;
	f->mem_len = ring_fixture_align(off, RING_FIXTURE_PAGE);
	if (split_at && f->mem_len < split_at + RING_FIXTURE_PAGE)
		f->mem_len = split_at + RING_FIXTURE_PAGE;
	f->split_at = split_at;
}

/*
 * Map guard | region 0 | guard | region 1 | guard (region 1 only when split).
 * Return: 0, -EINVAL for a bad split point, -ENOMEM if mmap() failed, or
 * mprotect()'s -errno.
 */
static int ring_fixture_map(struct ring_fixture *f)
{
	const int rw = PROT_READ | PROT_WRITE;
	uint64_t split_at = f->split_at;
	uint8_t *p;
	int r;

	if (split_at && (split_at % RING_FIXTURE_PAGE != 0 || split_at >= f->mem_len))
		return -EINVAL;
	f->map_len = f->mem_len + 3 * RING_FIXTURE_PAGE;
	p = mmap(NULL, f->map_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	f->map = p;
	f->mem = p + RING_FIXTURE_PAGE;
	if (split_at) {
		f->mem2 = p + 2 * RING_FIXTURE_PAGE + split_at;
		if (mprotect(f->mem, split_at, rw) || mprotect(f->mem2, f->mem_len - split_at, rw))
			goto fail;
	} else if (mprotect(f->mem, f->mem_len, rw)) {
		goto fail;
	}
	return 0;
fail:
	r = -errno;
	munmap(f->map, f->map_len);
	return r;
}

static struct vring_split_dev_config ring_fixture_make_dev_config(struct ring_fixture *f,
								  bool event_idx, bool indirect)
{
	struct vring_split_dev_config vc = {
		.num = f->num,
		.max_num = 32768,
		.desc_addr = f->desc_gpa,
		.avail_addr = f->avail_gpa,
		.used_addr = f->used_gpa,
		.event_idx = event_idx,
		.indirect = indirect,
		.mem = {.translate = ring_fixture_translate, .opaque = f},
		.state = f->state,
	};
	return vc;
}

/* Return: 0 or the error of virtqueue_split_init() / vring_split_dev_init(). */
static int ring_fixture_init_sides(struct ring_fixture *f, bool event_idx, bool indirect)
{
	struct vring_split_drv_config dc = {
		.num = f->num,
		.desc = f->desc,
		.avail = f->avail,
		.used = f->used,
		.extra = f->extra,
		.indirect_pool = indirect ? f->pool : NULL,
		.indirect_pool_addr = f->pool_gpa,
		.indirect_max = indirect ? RING_FIXTURE_IMAX : 0,
		.event_idx = event_idx,
	};
	struct vring_split_dev_config vc = ring_fixture_make_dev_config(f, event_idx, indirect);
	int r;

	f->vq.notify = ring_fixture_notify;
	f->vq.priv = f;
	f->vq.name = "test";
	r = virtqueue_split_init(&f->vq, &dc);
	if (r)
		return r;
	return vring_split_dev_init(&f->dev, &vc);
}

int ring_fixture_init(struct ring_fixture *f, uint16_t num, bool event_idx, bool indirect,
		      uint64_t split_at)
{
	int r;

	memset(f, 0, sizeof(*f));
	ring_fixture_layout(f, num, split_at);
	r = ring_fixture_map(f);
	if (r)
		return r;
	f->desc = ring_fixture_host(f, f->desc_gpa);
	f->avail = ring_fixture_host(f, f->avail_gpa);
	f->used = ring_fixture_host(f, f->used_gpa);
	f->pool = ring_fixture_host(f, f->pool_gpa);
	f->extra = calloc(num, sizeof(*f->extra));
	f->state = aligned_alloc(8, ring_fixture_align(vring_split_dev_state_size(num), 8));
	if (!f->extra || !f->state)
		r = -ENOMEM;
	else
		r = ring_fixture_init_sides(f, event_idx, indirect);
	if (r)
		ring_fixture_destroy(f);
	return r;
}

void ring_fixture_destroy(struct ring_fixture *f)
{
	munmap(f->map, f->map_len);
	free(f->extra);
	free(f->state);
	memset(f, 0, sizeof(*f));
}

struct ring_fixture *ring_fixture_new(uint16_t num, bool event_idx, bool indirect,
				      uint64_t split_at)
{
	struct ring_fixture *f = malloc(sizeof(*f));

	assert_non_null(f);
	assert_int_equal(ring_fixture_init(f, num, event_idx, indirect, split_at), 0);
	return f;
}

void ring_fixture_free(struct ring_fixture *f)
{
	ring_fixture_destroy(f);
	free(f);
}

uint64_t ring_fixture_buf(const struct ring_fixture *f, unsigned int i)
{
	return f->bufs_gpa + (uint64_t)(i % f->num) * RING_FIXTURE_BUF;
}

le16 *ring_fixture_avail_event(struct ring_fixture *f)
{
	return (le16 *)(void *)((uint8_t *)f->used + virtq_used_size(f->num) - sizeof(le16));
}

struct vring_split_dev_config ring_fixture_dev_config(struct ring_fixture *f)
{
	return ring_fixture_make_dev_config(f, f->dev.event_idx, f->dev.indirect);
}

void ring_fixture_set_desc(struct ring_fixture *f, uint16_t i, uint64_t addr, uint32_t len,
			   uint16_t flags, uint16_t next)
{
	f->desc[i] = (struct virtq_desc){.addr = addr, .len = len, .flags = flags, .next = next};
}

void ring_fixture_offer(struct ring_fixture *f, uint16_t head)
{
	f->avail->ring[f->avail->idx % f->num] = head;
	f->avail->idx++;
}
