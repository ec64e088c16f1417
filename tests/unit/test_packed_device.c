// SPDX-License-Identifier: MIT
/*
 * The device side of the packed virtqueue (ring/packed_device.c) against a
 * scripted driver written here from packed-ring.tex (§2.8): wrap at sizes
 * that are not powers of two, chains, indirect tables, batched publication,
 * out-of-order and in-order completion, event suppression, unpop, ring
 * positions with wrap counters, and one test per hostile driver (the queue
 * ends broken with a named error, later calls fail -EIO). Guest memory is
 * fenced by PROT_NONE guard pages, so a stray access faults.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <vireo/spec.h>
#include <vireo/vring.h>

#define PK_GPA 0x100000ull
#define PK_PAGE 4096u
#define PK_MEM (32u * PK_PAGE)
#define PK_DRV_EVENT 0x8000u /* offsets in guest memory */
#define PK_DEV_EVENT 0x8010u
#define PK_TABLES 0x9000u /* indirect tables, 256 bytes each */
#define PK_BUFS 0x10000u  /* buffers, 256 bytes each */
#define PK_BUF 256u
#define PK_MAXNUM 64u

/* A packed ring in fenced guest memory, the device and a scripted driver. */
struct pk {
	uint8_t *map;
	uint8_t *mem;
	uint16_t num;
	struct pvirtq_desc *desc;
	struct pvirtq_event_suppress *drv_event, *dev_event;
	struct vring_packed_dev dev;
	uint64_t state[PK_MAXNUM / 64 + 1 + PK_MAXNUM];
	/* the driver's side (§2.8.21 example) */
	uint16_t next_avail, next_used;
	bool avail_wrap, used_wrap;
	uint16_t sgs[PK_MAXNUM];
};

static void *pk_translate(const void *opaque, uint64_t addr, uint64_t len, uint64_t *contig)
{
	const struct pk *p = opaque;
	uint64_t off;

	if (len == 0 || addr < PK_GPA || len - 1 > UINT64_MAX - addr)
		return NULL;
	off = addr - PK_GPA;
	if (off >= PK_MEM)
		return NULL;
	*contig = len < PK_MEM - off ? len : PK_MEM - off;
	return p->mem + off;
}

static struct vring_dev_config pk_config(struct pk *p)
{
	return (struct vring_dev_config){
		.num = p->num,
		.max_num = PK_MAXNUM,
		.desc_addr = PK_GPA,
		.driver_addr = PK_GPA + PK_DRV_EVENT,
		.device_addr = PK_GPA + PK_DEV_EVENT,
		.position = {.avail_wrap = true, .used_wrap = true},
		.mem = {.translate = pk_translate, .opaque = p},
		.state = p->state,
	};
}

static struct pk *pk_new_cfg(uint16_t num, bool event_idx, bool indirect, bool in_order)
{
	struct pk *p = calloc(1, sizeof(*p));
	struct vring_dev_config cfg;

	assert_non_null(p);
	assert_true(vring_packed_dev_state_size(PK_MAXNUM) <= sizeof(p->state));
	p->map = mmap(NULL, PK_MEM + 2 * PK_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p->map != MAP_FAILED);
	p->mem = p->map + PK_PAGE;
	assert_int_equal(mprotect(p->mem, PK_MEM, PROT_READ | PROT_WRITE), 0);
	p->num = num;
	p->desc = (struct pvirtq_desc *)(void *)p->mem;
	p->drv_event = (struct pvirtq_event_suppress *)(void *)(p->mem + PK_DRV_EVENT);
	p->dev_event = (struct pvirtq_event_suppress *)(void *)(p->mem + PK_DEV_EVENT);
	p->avail_wrap = p->used_wrap = true;
	cfg = pk_config(p);
	cfg.event_idx = event_idx;
	cfg.indirect = indirect;
	cfg.in_order = in_order;
	assert_int_equal(vring_packed_dev_init(&p->dev, &cfg), 0);
	return p;
}

static struct pk *pk_new(uint16_t num)
{
	return pk_new_cfg(num, false, true, false);
}

static void pk_free(struct pk *p)
{
	munmap(p->map, PK_MEM + 2 * PK_PAGE);
	free(p);
}

static uint64_t pk_buf(unsigned int i)
{
	return PK_GPA + PK_BUFS + (uint64_t)(i % 64) * PK_BUF;
}

/* One element the scripted driver adds. */
struct pk_elem {
	uint64_t addr;
	uint32_t len;
	uint16_t flags; /* WRITE, INDIRECT; NEXT is added */
};

static uint16_t pk_avail_flags(const struct pk *p, bool wrap)
{
	(void)p;
	return wrap ? VIRTQ_DESC_F_AVAIL : VIRTQ_DESC_F_USED;
}

/* §2.8.21 "Placing Available Buffers": the list, id in the last, head flags last. */
static void pk_add(struct pk *p, uint16_t id, const struct pk_elem *e, unsigned int n)
{
	uint16_t first = p->next_avail, head_flags = 0;

	for (unsigned int i = 0; i < n; i++) {
		struct pvirtq_desc *d = &p->desc[p->next_avail];
		uint16_t f = (uint16_t)(e[i].flags | pk_avail_flags(p, p->avail_wrap));

		if (i + 1 < n)
			f |= VIRTQ_DESC_F_NEXT;
		d->addr = e[i].addr;
		d->len = e[i].len;
		d->id = id;
		if (i == 0)
			head_flags = f;
		else
			d->flags = f;
		if (++p->next_avail == p->num) {
			p->next_avail = 0;
			p->avail_wrap = !p->avail_wrap;
		}
	}
	p->sgs[id] = (uint16_t)n;
	/* R-PR-08: the head's flags last. */
	__atomic_store_n(&p->desc[first].flags, head_flags, __ATOMIC_RELEASE);
}

/* One readable and one writable buffer of @len bytes each. */
static void pk_add_rw(struct pk *p, uint16_t id, uint32_t len)
{
	struct pk_elem e[2] = {{pk_buf(2u * id), len, 0},
			       {pk_buf(2u * id + 1), len, VIRTQ_DESC_F_WRITE}};

	pk_add(p, id, e, 2);
}

/* The driver's used poll: true and the id/len of the next used descriptor. */
static bool pk_get_used(struct pk *p, uint16_t *id, uint32_t *len)
{
	struct pvirtq_desc *d = &p->desc[p->next_used];
	uint16_t flags = __atomic_load_n(&d->flags, __ATOMIC_ACQUIRE);

	if (!!(flags & VIRTQ_DESC_F_USED) != p->used_wrap ||
	    !!(flags & VIRTQ_DESC_F_AVAIL) != p->used_wrap)
		return false;
	*id = d->id;
	*len = d->len;
	assert_true(*id < p->num);
	p->next_used = (uint16_t)(p->next_used + p->sgs[*id]);
	if (p->next_used >= p->num) {
		p->next_used = (uint16_t)(p->next_used - p->num);
		p->used_wrap = !p->used_wrap;
	}
	return true;
}

static int pk_pop(struct pk *p, struct vring_chain *c, struct vring_iov *iov)
{
	return vring_packed_dev_pop(&p->dev, c, iov, 16);
}

/* Non-power-of-two sizes, many laps, chains of 1..3: ids, bytes and wraps agree. */
static void test_wrap_round_trip(void **state)
{
	static const uint16_t sizes[] = {1, 3, 5, 7, 64};

	(void)state;
	for (unsigned int s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct pk *p = pk_new(sizes[s]);

		for (unsigned int round = 0; round < 50; round++) {
			unsigned int n = 1u + round % 3u;
			struct pk_elem e[3];
			struct vring_iov iov[16];
			struct vring_chain c;
			uint16_t id = (uint16_t)(round % p->num), uid;
			uint32_t ulen;

			if (n > p->num)
				n = p->num;
			for (unsigned int i = 0; i < n; i++)
				e[i] = (struct pk_elem){pk_buf(i), 10u + i,
							i + 1 == n ? VIRTQ_DESC_F_WRITE : 0};
			pk_add(p, id, e, n);
			assert_true(vring_packed_dev_has_avail(&p->dev));
			assert_int_equal(pk_pop(p, &c, iov), 0);
			assert_int_equal(c.head, id);
			assert_int_equal(c.readable + c.writable, n);
			assert_int_equal(c.writable, 1);
			assert_ptr_equal(iov[n - 1].base, p->mem + (pk_buf(n - 1) - PK_GPA));
			assert_int_equal(pk_pop(p, &c, iov), -EAGAIN);
			assert_false(pk_get_used(p, &uid, &ulen));
			assert_int_equal(vring_packed_dev_push(&p->dev, id, 3), 0);
			vring_packed_dev_flush(&p->dev);
			assert_true(pk_get_used(p, &uid, &ulen));
			assert_int_equal(uid, id);
			assert_int_equal(ulen, 3);
			assert_int_equal(
				p->desc[(p->next_used + p->num - p->sgs[id]) % p->num].flags &
					VIRTQ_DESC_F_WRITE,
				VIRTQ_DESC_F_WRITE);
		}
		struct vring_dev_position pos;

		vring_packed_dev_get_position(&p->dev, &pos);
		assert_int_equal(pos.avail_idx, p->next_avail);
		assert_int_equal(pos.avail_wrap, p->avail_wrap);
		assert_int_equal(pos.used_idx, p->next_used);
		assert_int_equal(pos.used_wrap, p->used_wrap);
		assert_int_equal(vring_packed_dev_in_flight(&p->dev), 0);
		pk_free(p);
	}
}

/* §2.8.8: an indirect table; only WRITE counts in it; the ring descriptor's WRITE is ignored. */
static void test_indirect(void **state)
{
	struct pk *p = pk_new(4);
	struct pvirtq_desc *t = (struct pvirtq_desc *)(void *)(p->mem + PK_TABLES);
	struct pk_elem e = {PK_GPA + PK_TABLES, 3 * sizeof(*t),
			    VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE};
	struct vring_iov iov[16];
	struct vring_chain c;

	(void)state;
	t[0] = (struct pvirtq_desc){.addr = pk_buf(0), .len = 16, .id = 77, .flags = 0};
	t[1] = (struct pvirtq_desc){.addr = pk_buf(1), .len = 32, .flags = VIRTQ_DESC_F_NEXT};
	t[2] = (struct pvirtq_desc){.addr = pk_buf(2), .len = 64, .flags = VIRTQ_DESC_F_WRITE};
	pk_add(p, 2, &e, 1);
	assert_int_equal(pk_pop(p, &c, iov), 0);
	assert_int_equal(c.head, 2);
	assert_int_equal(c.readable, 2);
	assert_int_equal(c.writable, 1);
	assert_int_equal(c.readable_bytes, 48);
	assert_int_equal(c.writable_bytes, 64);
	assert_int_equal(vring_packed_dev_push(&p->dev, 2, 64), 0);
	assert_int_equal(vring_packed_dev_push(&p->dev, 2, 0), -EPROTO); /* twice */
	assert_int_equal(vring_packed_dev_error(&p->dev), VRING_ERR_PUSH_NOT_IN_FLIGHT);
	pk_free(p);
}

/* One release store per batch: nothing is visible before flush, all of it after. */
static void test_batch_and_out_of_order(void **state)
{
	struct pk *p = pk_new(6);
	struct vring_iov iov[16];
	struct vring_chain c;
	uint16_t id;
	uint32_t len;

	(void)state;
	for (uint16_t i = 0; i < 3; i++)
		pk_add_rw(p, i, 8);
	for (uint16_t i = 0; i < 3; i++)
		assert_int_equal(pk_pop(p, &c, iov), 0);
	/* D-PR-02: used descriptors in completion order, not avail order */
	assert_int_equal(vring_packed_dev_push(&p->dev, 2, 1), 0);
	assert_int_equal(vring_packed_dev_push(&p->dev, 0, 2), 0);
	assert_false(pk_get_used(p, &id, &len));
	assert_int_equal(vring_packed_dev_push(&p->dev, 1, 3), 0);
	assert_false(pk_get_used(p, &id, &len));
	vring_packed_dev_flush(&p->dev);
	assert_true(pk_get_used(p, &id, &len));
	assert_int_equal(id, 2);
	assert_int_equal(len, 1);
	assert_true(pk_get_used(p, &id, &len));
	assert_int_equal(id, 0);
	assert_true(pk_get_used(p, &id, &len));
	assert_int_equal(id, 1);
	assert_int_equal(len, 3);
	assert_false(pk_get_used(p, &id, &len));
	/* the ring is reusable across the wrap */
	for (uint16_t i = 0; i < 3; i++)
		pk_add_rw(p, i, 8);
	for (uint16_t i = 0; i < 3; i++) {
		assert_int_equal(pk_pop(p, &c, iov), 0);
		assert_int_equal(vring_packed_dev_push(&p->dev, c.head, 0), 0);
	}
	vring_packed_dev_flush(&p->dev);
	for (uint16_t i = 0; i < 3; i++)
		assert_true(pk_get_used(p, &id, &len));
	assert_int_equal(p->next_used, 0);
	assert_true(p->used_wrap); /* 12 slots of a 6-slot ring: two laps */
	pk_free(p);
}

/* §2.8.9 IN_ORDER: completely used buffers are covered by the last id of the batch. */
static void test_in_order_batch(void **state)
{
	struct pk *p = pk_new_cfg(8, false, false, true);
	struct vring_iov iov[16];
	struct vring_chain c;
	uint16_t id;
	uint32_t len;

	(void)state;
	for (uint16_t i = 0; i < 4; i++)
		pk_add_rw(p, i, 8);
	for (uint16_t i = 0; i < 4; i++)
		assert_int_equal(pk_pop(p, &c, iov), 0);
	assert_int_equal(vring_packed_dev_push(&p->dev, 0, 8), 0);
	assert_int_equal(vring_packed_dev_push(&p->dev, 1, 8), 0);
	assert_int_equal(vring_packed_dev_push(&p->dev, 2, 5), 0); /* short: not covered */
	assert_int_equal(vring_packed_dev_push(&p->dev, 3, 8), 0);
	vring_packed_dev_flush(&p->dev);
	/* The driver skips sgs[2] slots after id 2: tell it the batch took 0-2's slots. */
	p->sgs[2] = 6;
	assert_true(pk_get_used(p, &id, &len));
	assert_int_equal(id, 2);
	assert_int_equal(len, 5);
	assert_int_equal(p->next_used, 6);
	assert_true(pk_get_used(p, &id, &len));
	assert_int_equal(id, 3);
	assert_int_equal(p->next_used, 0);
	assert_false(p->used_wrap);
	pk_free(p);
}

/* Driver event suppression: DISABLE, ENABLE, and DESC with off_wrap under EVENT_IDX. */
static void test_need_notify(void **state)
{
	struct pk *p = pk_new_cfg(4, true, false, false);
	struct vring_iov iov[16];
	struct vring_chain c;

	(void)state;
	for (unsigned int round = 0; round < 6; round++) {
		pk_add_rw(p, 0, 8);
		assert_int_equal(pk_pop(p, &c, iov), 0);
		assert_int_equal(vring_packed_dev_push(&p->dev, 0, 1), 0);
		vring_packed_dev_flush(&p->dev);
		switch (round) {
		case 0: /* ENABLE (the zeroed structure) */
			assert_true(vring_packed_dev_need_notify(&p->dev));
			assert_false(vring_packed_dev_need_notify(&p->dev)); /* nothing new */
			p->drv_event->flags = RING_EVENT_FLAGS_DISABLE;
			break;
		case 1:
			assert_false(vring_packed_dev_need_notify(&p->dev));
			p->drv_event->flags = RING_EVENT_FLAGS_ENABLE;
			break;
		case 2:
			assert_true(vring_packed_dev_need_notify(&p->dev));
			/* used is at slot 2 of lap 1 (wrap 0): ask for slot 1 of lap 2 */
			p->drv_event->off_wrap = (uint16_t)(1u | 1u << 15);
			p->drv_event->flags = RING_EVENT_FLAGS_DESC;
			break;
		case 3: /* used moved over slots 2-3 of lap 1: not yet */
			assert_false(vring_packed_dev_need_notify(&p->dev));
			break;
		case 4: /* over slots 0-1 of lap 2: slot 1 crossed */
			assert_true(vring_packed_dev_need_notify(&p->dev));
			p->drv_event->off_wrap = (uint16_t)(3u | 1u << 15);
			break;
		case 5: /* over slots 2-3 of lap 2, wrapping: slot 3 crossed */
			assert_true(vring_packed_dev_need_notify(&p->dev));
			break;
		}
		uint16_t id;
		uint32_t len;
		assert_true(pk_get_used(p, &id, &len));
	}
	pk_free(p);
}

/* Two flushes without a notify decision that move used a whole lap pair still notify. */
static void test_need_notify_full_laps(void **state)
{
	struct pk *p = pk_new(1);
	struct vring_iov iov[16];
	struct vring_chain c;
	struct pk_elem e = {pk_buf(0), 8, VIRTQ_DESC_F_WRITE};
	uint16_t id;
	uint32_t len;

	(void)state;
	assert_false(vring_packed_dev_need_notify(&p->dev)); /* nothing published yet */
	for (unsigned int i = 0; i < 2; i++) {
		pk_add(p, 0, &e, 1);
		assert_int_equal(pk_pop(p, &c, iov), 0);
		assert_int_equal(vring_packed_dev_push(&p->dev, 0, 8), 0);
		vring_packed_dev_flush(&p->dev);
		assert_true(pk_get_used(p, &id, &len));
	}
	assert_true(vring_packed_dev_need_notify(&p->dev));
	assert_false(vring_packed_dev_need_notify(&p->dev));
	pk_free(p);
}

/* Device event suppression: disable writes DISABLE, enable ENABLE and looks again. */
static void test_enable_disable_notify(void **state)
{
	struct pk *p = pk_new(4);

	(void)state;
	vring_packed_dev_disable_notify(&p->dev);
	assert_int_equal(p->dev_event->flags, RING_EVENT_FLAGS_DISABLE);
	assert_false(vring_packed_dev_enable_notify(&p->dev));
	assert_int_equal(p->dev_event->flags, RING_EVENT_FLAGS_ENABLE);
	vring_packed_dev_disable_notify(&p->dev);
	pk_add_rw(p, 1, 8);
	assert_true(vring_packed_dev_enable_notify(&p->dev));
	pk_free(p);
}

/*
 * With EVENT_IDX, enable asks for one kick at the device's next position
 * (§2.8.10 DESC), and each pop while kicks are wanted moves that position on.
 */
static void test_enable_notify_event_idx(void **state)
{
	struct pk *p = pk_new_cfg(4, true, true, false);
	struct vring_chain c;
	struct vring_iov iov[16];

	(void)state;
	vring_packed_dev_disable_notify(&p->dev);
	assert_int_equal(p->dev_event->flags, RING_EVENT_FLAGS_DISABLE);
	assert_false(vring_packed_dev_enable_notify(&p->dev));
	assert_int_equal(p->dev_event->flags, RING_EVENT_FLAGS_DESC);
	assert_int_equal(p->dev_event->off_wrap, 0u | 1u << PVIRTQ_EVENT_WRAP_SHIFT);
	pk_add_rw(p, 1, 8); /* two descriptors */
	assert_int_equal(pk_pop(p, &c, iov), 0);
	assert_int_equal(p->dev_event->off_wrap, 2u | 1u << PVIRTQ_EVENT_WRAP_SHIFT);
	assert_int_equal(vring_packed_dev_unpop(&p->dev, c.head), 0);
	assert_int_equal(p->dev_event->off_wrap, 0u | 1u << PVIRTQ_EVENT_WRAP_SHIFT);
	/* Kicks not wanted: popping leaves the position where it was. */
	vring_packed_dev_disable_notify(&p->dev);
	assert_int_equal(pk_pop(p, &c, iov), 0);
	assert_int_equal(p->dev_event->off_wrap, 0u | 1u << PVIRTQ_EVENT_WRAP_SHIFT);
	pk_free(p);
}

/* unpop gives chains back in reverse order, across the ring's end (wrap counter restored). */
static void test_unpop(void **state)
{
	struct pk *p = pk_new(3);
	struct vring_iov iov[16];
	struct vring_chain c, c2;
	struct vring_dev_position pos;
	uint16_t id;
	uint32_t len;

	(void)state;
	pk_add_rw(p, 0, 8); /* slots 0-1 */
	assert_int_equal(pk_pop(p, &c, iov), 0);
	assert_int_equal(vring_packed_dev_push(&p->dev, 0, 8), 0);
	vring_packed_dev_flush(&p->dev);
	assert_true(pk_get_used(p, &id, &len));
	pk_add_rw(p, 1, 8); /* slots 2 and 0 of the next lap */
	assert_int_equal(pk_pop(p, &c, iov), 0);
	vring_packed_dev_get_position(&p->dev, &pos);
	assert_int_equal(pos.avail_idx, 1);
	assert_false(pos.avail_wrap);
	assert_int_equal(vring_packed_dev_unpop(&p->dev, 0), -EINVAL);
	assert_int_equal(vring_packed_dev_unpop(&p->dev, 1), 0);
	vring_packed_dev_get_position(&p->dev, &pos);
	assert_int_equal(pos.avail_idx, 2);
	assert_true(pos.avail_wrap);
	assert_int_equal(vring_packed_dev_in_flight(&p->dev), 0);
	assert_int_equal(pk_pop(p, &c2, iov), 0);
	assert_int_equal(c2.head, 1);
	assert_int_equal(c2.writable_bytes, c.writable_bytes);
	assert_int_equal(vring_packed_dev_push(&p->dev, 1, 8), 0);
	vring_packed_dev_flush(&p->dev);
	assert_true(pk_get_used(p, &id, &len));
	assert_int_equal(id, 1);
	pk_free(p);
}

/* A ring restarted from a position with both wrap counters carries on (vhost-user base). */
static void test_position_restart(void **state)
{
	struct pk *p = pk_new(5);
	struct vring_iov iov[16];
	struct vring_chain c;
	struct vring_dev_position pos;
	struct vring_dev_config cfg;
	uint16_t id;
	uint32_t len;

	(void)state;
	for (unsigned int i = 0; i < 7; i++) {
		pk_add_rw(p, (uint16_t)(i % 5), 8);
		assert_int_equal(pk_pop(p, &c, iov), 0);
		assert_int_equal(vring_packed_dev_push(&p->dev, c.head, 1), 0);
		vring_packed_dev_flush(&p->dev);
		assert_true(pk_get_used(p, &id, &len));
	}
	vring_packed_dev_get_position(&p->dev, &pos);
	assert_int_equal(pos.avail_idx, 4); /* 14 slots: lap 2, slot 4, wrap 1 */
	assert_true(pos.avail_wrap);
	cfg = pk_config(p);
	cfg.position = pos;
	assert_int_equal(vring_packed_dev_init(&p->dev, &cfg), 0);
	for (unsigned int i = 0; i < 4; i++) {
		pk_add_rw(p, (uint16_t)i, 8);
		assert_int_equal(pk_pop(p, &c, iov), 0);
		assert_int_equal(c.head, i);
		assert_int_equal(vring_packed_dev_push(&p->dev, c.head, 1), 0);
		vring_packed_dev_flush(&p->dev);
		assert_true(pk_get_used(p, &id, &len));
		assert_int_equal(id, i);
	}
	/* A position outside the ring, or more than a ring between used and avail: refused. */
	cfg.position = (struct vring_dev_position){5, true, 0, true};
	assert_int_equal(vring_packed_dev_init(&p->dev, &cfg), -EINVAL);
	cfg.position = (struct vring_dev_position){1, true, 0, false};
	assert_int_equal(vring_packed_dev_init(&p->dev, &cfg), -EINVAL);
	assert_int_equal(vring_packed_dev_error(&p->dev), VRING_ERR_GEOMETRY);
	pk_free(p);
}

/*
 * Issue 9 §7a/b (§2.8.10): a restarted ring (vhost-user GET_VRING_BASE, then
 * SET_VRING_BASE and a new kick, perhaps another back-end) wants kicks, so
 * it writes the device event flags ENABLE over what a polling user left
 * (DISABLE), and its first notification decision ignores the old driver
 * event offset: a used descriptor published before the restart but never
 * signalled must not leave the driver waiting.
 */
static void test_restart_notify_state(void **state)
{
	struct pk *p = pk_new_cfg(4, true, false, false);
	struct vring_iov iov[16];
	struct vring_chain c;
	struct vring_dev_position pos;
	struct vring_dev_config cfg;
	uint16_t id;
	uint32_t len;

	(void)state;
	vring_packed_dev_disable_notify(&p->dev); /* e.g. serve net --poll */
	assert_int_equal(p->dev_event->flags, RING_EVENT_FLAGS_DISABLE);
	/* The driver asks to hear of slot 0 of lap 1; the old device uses it but never says. */
	p->drv_event->off_wrap = (uint16_t)(0u | 1u << 15);
	p->drv_event->flags = RING_EVENT_FLAGS_DESC;
	pk_add_rw(p, 0, 8);
	assert_int_equal(pk_pop(p, &c, iov), 0);
	assert_int_equal(vring_packed_dev_push(&p->dev, 0, 1), 0);
	vring_packed_dev_flush(&p->dev);
	vring_packed_dev_get_position(&p->dev, &pos);
	cfg = pk_config(p);
	cfg.event_idx = true;
	cfg.position = pos;
	assert_int_equal(vring_packed_dev_init(&p->dev, &cfg), 0);
	assert_int_equal(p->dev_event->flags, RING_EVENT_FLAGS_ENABLE);
	pk_add_rw(p, 1, 8);
	assert_int_equal(pk_pop(p, &c, iov), 0);
	assert_int_equal(vring_packed_dev_push(&p->dev, 1, 1), 0);
	vring_packed_dev_flush(&p->dev);
	assert_true(vring_packed_dev_need_notify(&p->dev));
	assert_true(pk_get_used(p, &id, &len));
	assert_true(pk_get_used(p, &id, &len));
	pk_free(p);
}

/* STYLE.md checklist item 1 for packed: sizes, alignment, placement. */
static void test_init_geometry(void **state)
{
	struct pk *p = pk_new(4);
	struct vring_dev_config cfg;

	(void)state;
	cfg = pk_config(p);
	cfg.num = 0;
	assert_int_equal(vring_packed_dev_init(&p->dev, &cfg), -EINVAL);
	cfg = pk_config(p);
	cfg.num = PK_MAXNUM + 1;
	assert_int_equal(vring_packed_dev_init(&p->dev, &cfg), -EINVAL);
	cfg = pk_config(p);
	cfg.desc_addr += 8; /* R-PR-01: 16-aligned */
	assert_int_equal(vring_packed_dev_init(&p->dev, &cfg), -EINVAL);
	cfg = pk_config(p);
	cfg.driver_addr += 2;
	assert_int_equal(vring_packed_dev_init(&p->dev, &cfg), -EINVAL);
	cfg = pk_config(p);
	cfg.device_addr = PK_GPA + PK_MEM - 2; /* crosses the guard page */
	assert_int_equal(vring_packed_dev_init(&p->dev, &cfg), -EINVAL);
	cfg = pk_config(p);
	cfg.desc_addr = PK_GPA + PK_MEM - 48; /* 4 * 16 bytes do not fit */
	assert_int_equal(vring_packed_dev_init(&p->dev, &cfg), -EINVAL);
	assert_int_equal(vring_packed_dev_error(&p->dev), VRING_ERR_GEOMETRY);
	pk_free(p);
}

/* The queue is broken with @err and inert: every later call fails or does nothing. */
static void pk_expect_broken(struct pk *p, enum vring_error err)
{
	struct vring_iov iov[16];
	struct vring_chain c;

	assert_int_equal(vring_packed_dev_error(&p->dev), err);
	assert_int_equal(pk_pop(p, &c, iov), -EIO);
	assert_int_equal(vring_packed_dev_push(&p->dev, 0, 0), -EIO);
	assert_int_equal(vring_packed_dev_unpop(&p->dev, 0), -EIO);
	vring_packed_dev_flush(&p->dev);
	assert_false(vring_packed_dev_need_notify(&p->dev));
	assert_false(vring_packed_dev_enable_notify(&p->dev));
	pk_free(p);
}

static void pk_expect_pop_error(struct pk *p, enum vring_error err)
{
	struct vring_iov iov[16];
	struct vring_chain c;

	assert_int_equal(pk_pop(p, &c, iov), -EPROTO);
	pk_expect_broken(p, err);
}

/* D-PR-04 and §2.8.1: a head with AVAIL and USED both at the wrap value is no buffer. */
static void test_hostile_head_flags(void **state)
{
	struct pk *p = pk_new(4);

	(void)state;
	p->desc[0] = (struct pvirtq_desc){.addr = pk_buf(0), .len = 8, .id = 0};
	p->desc[0].flags = VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED;
	pk_expect_pop_error(p, VRING_ERR_DESC_FLAGS);
}

/* R-PR-06: the rest of a list is available before the head; here it is not. */
static void test_hostile_chain_tail_not_avail(void **state)
{
	struct pk *p = pk_new(4);
	struct pk_elem e[2] = {{pk_buf(0), 8, 0}, {pk_buf(1), 8, VIRTQ_DESC_F_WRITE}};

	(void)state;
	pk_add(p, 0, e, 2);
	p->desc[1].flags = VIRTQ_DESC_F_USED; /* the old lap's polarity */
	pk_expect_pop_error(p, VRING_ERR_DESC_FLAGS);
}

/* R-PR-04: a list longer than the ring slots not in flight (it would loop onto them). */
static void test_hostile_chain_too_long(void **state)
{
	struct pk *p = pk_new(4);
	struct pk_elem one = {pk_buf(0), 8, 0};
	struct pk_elem e[4] = {
		{pk_buf(1), 8, 0}, {pk_buf(2), 8, 0}, {pk_buf(3), 8, 0}, {pk_buf(4), 8, 0}};
	struct vring_iov iov[16];
	struct vring_chain c;

	(void)state;
	pk_add(p, 0, &one, 1);
	assert_int_equal(pk_pop(p, &c, iov), 0);
	pk_add(p, 1, e, 4); /* slots 1, 2, 3 and 0 (still in flight) */
	pk_expect_pop_error(p, VRING_ERR_CHAIN_LENGTH);
}

static void pk_indirect_case(uint16_t ring_flags, uint32_t len, uint16_t entry_flags,
			     bool negotiated, enum vring_error err)
{
	struct pk *p = pk_new_cfg(4, false, negotiated, false);
	struct pvirtq_desc *t = (struct pvirtq_desc *)(void *)(p->mem + PK_TABLES);
	struct pk_elem e[2] = {{PK_GPA + PK_TABLES, len, ring_flags}, {pk_buf(0), 8, 0}};

	t[0] = (struct pvirtq_desc){.addr = pk_buf(1), .len = 8, .flags = entry_flags};
	t[1] = (struct pvirtq_desc){.addr = pk_buf(2), .len = 8, .flags = VIRTQ_DESC_F_WRITE};
	pk_add(p, 0, e, (ring_flags & VIRTQ_DESC_F_NEXT) ? 2 : 1);
	if (ring_flags & VIRTQ_DESC_F_NEXT)
		p->desc[0].flags |= VIRTQ_DESC_F_NEXT;
	pk_expect_pop_error(p, err);
}

/* §2.8.8 (R-PR-07): indirect only if negotiated, not nested, not with NEXT, len % 16 == 0. */
static void test_hostile_indirect(void **state)
{
	(void)state;
	pk_indirect_case(VIRTQ_DESC_F_INDIRECT, 32, 0, false, VRING_ERR_INDIRECT_FEATURE);
	pk_indirect_case(VIRTQ_DESC_F_INDIRECT, 32, VIRTQ_DESC_F_INDIRECT, true,
			 VRING_ERR_INDIRECT_NESTED);
	pk_indirect_case(VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 32, 0, true,
			 VRING_ERR_INDIRECT_NEXT);
	pk_indirect_case(VIRTQ_DESC_F_INDIRECT, 24, 0, true, VRING_ERR_INDIRECT_LEN);
	pk_indirect_case(VIRTQ_DESC_F_INDIRECT, 0, 0, true, VRING_ERR_INDIRECT_LEN);
}

/* An indirect descriptor in the middle of a NEXT list is refused too. */
static void test_hostile_indirect_in_list(void **state)
{
	struct pk *p = pk_new(4);
	struct pk_elem e[2] = {{pk_buf(0), 8, 0}, {PK_GPA + PK_TABLES, 16, VIRTQ_DESC_F_INDIRECT}};

	(void)state;
	pk_add(p, 0, e, 2);
	pk_expect_pop_error(p, VRING_ERR_INDIRECT_NEXT);
}

/* An indirect table that runs into the guard page: refused before it is read. */
static void test_hostile_indirect_outside(void **state)
{
	struct pk *p = pk_new(4);
	struct pk_elem e = {PK_GPA + PK_MEM - 16, 32, VIRTQ_DESC_F_INDIRECT};

	(void)state;
	pk_add(p, 0, &e, 1);
	pk_expect_pop_error(p, VRING_ERR_ADDRESS);
}

/* Buffer ids: below the queue size, and never reused while in flight. */
static void test_hostile_ids(void **state)
{
	struct pk *p = pk_new(4);
	struct vring_iov iov[16];
	struct vring_chain c;

	(void)state;
	pk_add_rw(p, 1, 8);
	assert_int_equal(pk_pop(p, &c, iov), 0);
	pk_add_rw(p, 1, 8);
	pk_expect_pop_error(p, VRING_ERR_HEAD_IN_FLIGHT);

	p = pk_new(4);
	struct pk_elem e = {pk_buf(0), 8, 0};
	pk_add(p, 0, &e, 1);
	p->desc[0].id = 4;
	pk_expect_pop_error(p, VRING_ERR_HEAD_RANGE);
}

/* Checklist item 4: addresses outside guest memory, and across its end. */
static void test_hostile_addresses(void **state)
{
	static const struct pk_elem bad[] = {
		{0, 8, 0},
		{PK_GPA + PK_MEM - 4, 8, VIRTQ_DESC_F_WRITE},
		{UINT64_MAX - 3, 8, 0},
	};

	(void)state;
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pk *p = pk_new(4);

		pk_add(p, 0, &bad[i], 1);
		pk_expect_pop_error(p, VRING_ERR_ADDRESS);
	}
}

/* Checklist item 5: push only what is in flight, with at most its writable bytes. */
static void test_hostile_push(void **state)
{
	struct pk *p = pk_new(4);
	struct vring_iov iov[16];
	struct vring_chain c;

	(void)state;
	pk_add_rw(p, 0, 8);
	assert_int_equal(pk_pop(p, &c, iov), 0);
	assert_int_equal(vring_packed_dev_push(&p->dev, 0, 9), -EPROTO);
	pk_expect_broken(p, VRING_ERR_PUSH_LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrap_round_trip),
		cmocka_unit_test(test_indirect),
		cmocka_unit_test(test_batch_and_out_of_order),
		cmocka_unit_test(test_in_order_batch),
		cmocka_unit_test(test_need_notify),
		cmocka_unit_test(test_need_notify_full_laps),
		cmocka_unit_test(test_enable_disable_notify),
		cmocka_unit_test(test_enable_notify_event_idx),
		cmocka_unit_test(test_unpop),
		cmocka_unit_test(test_position_restart),
		cmocka_unit_test(test_restart_notify_state),
		cmocka_unit_test(test_init_geometry),
		cmocka_unit_test(test_hostile_head_flags),
		cmocka_unit_test(test_hostile_chain_tail_not_avail),
		cmocka_unit_test(test_hostile_chain_too_long),
		cmocka_unit_test(test_hostile_indirect),
		cmocka_unit_test(test_hostile_indirect_in_list),
		cmocka_unit_test(test_hostile_indirect_outside),
		cmocka_unit_test(test_hostile_ids),
		cmocka_unit_test(test_hostile_addresses),
		cmocka_unit_test(test_hostile_push),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
