// SPDX-License-Identifier: MIT
/* One ring, either format, both sides through their seams (ring_pair.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "tests/lib/ring_pair.h"

static void *ring_pair_translate(const void *opaque, uint64_t addr, uint64_t len, uint64_t *contig)
{
	const struct ring_pair *p = opaque;
	uint64_t base = (uint64_t)(uintptr_t)p->mem;

	if (addr < base || len > p->mem_len || addr - base > p->mem_len - len)
		return NULL;
	*contig = len;
	return (void *)(uintptr_t)addr;
}

static size_t ring_pair_round(size_t v)
{
	return (v + 63) & ~(size_t)63;
}

/* Offsets of the parts, each on its own cache line (each side writes its own). */
static void ring_pair_layout(struct ring_pair *p, enum ring_pair_format format)
{
	size_t desc = ring_pair_round(16u * p->num), drv, dev;

	if (format == RING_PAIR_SPLIT) {
		drv = ring_pair_round(virtq_avail_size(p->num));
		dev = ring_pair_round(virtq_used_size(p->num));
	} else {
		drv = 64;
		dev = 64;
	}
	p->desc_addr = 0;
	p->driver_addr = desc;
	p->device_addr = desc + drv;
	p->pool_addr = desc + drv + dev;
	p->bufs_addr = p->pool_addr + ring_pair_round((size_t)p->num * RING_PAIR_IMAX * 16u);
	p->mem_len = (size_t)p->bufs_addr + (size_t)p->num * RING_PAIR_BUF;
}

static void ring_pair_init_driver(struct ring_pair *p, enum ring_pair_format format, bool event_idx,
				  bool indirect, bool in_order)
{
	uint8_t *m = p->mem;
	uint64_t base = (uint64_t)(uintptr_t)m;

	if (format == RING_PAIR_SPLIT) {
		struct vring_split_drv_config c = {
			.num = p->num,
			.desc = (struct virtq_desc *)(void *)(m + p->desc_addr),
			.avail = (struct virtq_avail *)(void *)(m + p->driver_addr),
			.used = (struct virtq_used *)(void *)(m + p->device_addr),
			.extra = p->extra,
			.indirect_pool =
				indirect ? (struct virtq_desc *)(void *)(m + p->pool_addr) : NULL,
			.indirect_pool_addr = base + p->pool_addr,
			.indirect_max = indirect ? RING_PAIR_IMAX : 0,
			.event_idx = event_idx,
			.in_order = in_order,
		};
		assert_int_equal(virtqueue_split_init(&p->vq, &c), 0);
		return;
	}
	struct vring_packed_drv_config c = {
		.num = p->num,
		.desc = (struct pvirtq_desc *)(void *)(m + p->desc_addr),
		.driver_event = (struct pvirtq_event_suppress *)(void *)(m + p->driver_addr),
		.device_event = (struct pvirtq_event_suppress *)(void *)(m + p->device_addr),
		.extra = p->extra,
		.indirect_pool = indirect ? (struct pvirtq_desc *)(void *)(m + p->pool_addr) : NULL,
		.indirect_pool_addr = base + p->pool_addr,
		.indirect_max = indirect ? RING_PAIR_IMAX : 0,
		.event_idx = event_idx,
		.in_order = in_order,
	};
	assert_int_equal(virtqueue_packed_init(&p->vq, &c), 0);
}

struct ring_pair *ring_pair_new(enum ring_pair_format format, uint16_t num, bool event_idx,
				bool indirect, bool in_order)
{
	struct ring_pair *p = calloc(1, sizeof(*p));
	uint64_t base;

	assert_non_null(p);
	p->num = num;
	p->ops = format == RING_PAIR_SPLIT ? &vring_split_dev_ops : &vring_packed_dev_ops;
	ring_pair_layout(p, format);
	p->mem = aligned_alloc(64, ring_pair_round(p->mem_len));
	p->extra = calloc(num, sizeof(*p->extra));
	p->state = aligned_alloc(64, ring_pair_round(p->ops->state_size(num)));
	assert_non_null(p->mem);
	assert_non_null(p->extra);
	assert_non_null(p->state);
	memset(p->mem, 0, p->mem_len);
	ring_pair_init_driver(p, format, event_idx, indirect, in_order);
	base = (uint64_t)(uintptr_t)p->mem;
	p->dev_config = (struct vring_dev_config){
		.num = num,
		.max_num = 32768,
		.desc_addr = base + p->desc_addr,
		.driver_addr = base + p->driver_addr,
		.device_addr = base + p->device_addr,
		.position = {.avail_wrap = true, .used_wrap = true},
		.event_idx = event_idx,
		.indirect = indirect,
		.in_order = in_order,
		.mem = {.translate = ring_pair_translate, .opaque = p},
		.state = p->state,
	};
	assert_int_equal(ring_pair_device_reinit(p), 0);
	return p;
}

int ring_pair_device_reinit(struct ring_pair *p)
{
	return p->ops->init(&p->dev, &p->dev_config);
}

void ring_pair_free(struct ring_pair *p)
{
	if (!p)
		return;
	free(p->mem);
	free(p->extra);
	free(p->state);
	free(p);
}

uint64_t ring_pair_buf(const struct ring_pair *p, unsigned int i)
{
	return (uint64_t)(uintptr_t)p->mem + p->bufs_addr + (uint64_t)(i % p->num) * RING_PAIR_BUF;
}

void *ring_pair_host(uint64_t gpa)
{
	return (void *)(uintptr_t)gpa;
}
