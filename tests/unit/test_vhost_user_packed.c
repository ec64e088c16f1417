// SPDX-License-Identifier: MIT
/*
 * Packed rings through the real vhost-user back-end (an in-process blk
 * server): VIRTIO_F_RING_PACKED negotiated, a hand-written packed ring in
 * the front-end's memory (SET_VRING_ADDR's avail/used carry the driver and
 * device event suppression areas, as QEMU's hw/virtio/vhost.c sends them),
 * blk requests served on it, and GET/SET_VRING_BASE in both encodings:
 * QEMU's (bits 0-14 avail index, 15 avail wrap, 16-30 used index, 31 used
 * wrap) and DPDK's 16-bit one (used = avail). D-VU-07; spec-checklist §2.3.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vireo/blk_device.h>
#include <vireo/event_loop.h>
#include <vireo/spec.h>
#include <vireo/vhost_user.h>
#include <vireo/vhost_user_backend.h>

#include "tests/lib/vu_blk_fixture.h"
#include "tests/lib/vu_client.h"

#define PQ_NUM 7u /* not a power of two: packed allows any size */

struct server {
	struct vu_blk_fixture fx;
};

static int setup(void **state)
{
	struct server *s = calloc(1, sizeof(*s));
	struct blk_device_options bo = {.serial = "vu-packed"};
	struct vhost_user_backend_options vo = {0};

	assert_non_null(s);
	vu_blk_fixture_start(&s->fx, "/tmp/vireo-vup-XXXXXX", &bo, &vo);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct server *s = *state;

	vu_blk_fixture_stop(&s->fx);
	free(s);
	return 0;
}

/* A front-end's packed ring: the three areas and the driver's counters. */
struct pq {
	struct vu_client c;
	struct pvirtq_desc *desc;
	uint64_t desc_ga, drv_ga, dev_ga;
	uint16_t next_avail, next_used;
	bool avail_wrap, used_wrap;
	struct vu_blk_req *req;
	uint64_t req_ga;
};

static void pq_connect(struct server *s, struct pq *q)
{
	memset(q, 0, sizeof(*q));
	vu_client_connect(&q->c, s->fx.sock);
	vu_client_negotiate(&q->c, VIRTIO_BIT(VIRTIO_F_VERSION_1) |
					   VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES) |
					   VIRTIO_BIT(VIRTIO_F_RING_PACKED));
	vu_client_mem(&q->c);
	q->desc = virtio_dma_alloc(&q->c.arena, 16 * PQ_NUM, 16, &q->desc_ga);
	assert_non_null(virtio_dma_alloc(&q->c.arena, 4, 4, &q->drv_ga));
	assert_non_null(virtio_dma_alloc(&q->c.arena, 4, 4, &q->dev_ga));
	q->req = virtio_dma_alloc(&q->c.arena, sizeof(*q->req), 16, &q->req_ga);
	assert_non_null(q->desc);
	assert_non_null(q->req);
	q->avail_wrap = q->used_wrap = true;
}

/* SET_VRING_NUM/BASE/ADDR, kick, call, err, enable: the ring starts. */
static void pq_start(struct pq *q, uint32_t base)
{
	vu_client_ring_setup(&q->c, 0, PQ_NUM, base, q->desc_ga, q->drv_ga, q->dev_ga);
	vu_client_vring_fd(&q->c, VHOST_USER_SET_VRING_KICK, &q->c.kick);
	vu_client_vring_fd(&q->c, VHOST_USER_SET_VRING_CALL, &q->c.call);
	vu_client_vring_fd(&q->c, VHOST_USER_SET_VRING_ERR, &q->c.err);
	vu_client_state(&q->c, VHOST_USER_SET_VRING_ENABLE, 0, 1);
}

static void pq_set_desc(struct pq *q, uint16_t flags, uint64_t ga, uint32_t len, uint16_t id)
{
	struct pvirtq_desc *d = &q->desc[q->next_avail];
	uint16_t f = (uint16_t)(flags | (q->avail_wrap ? VIRTQ_DESC_F_AVAIL : VIRTQ_DESC_F_USED));

	d->addr = ga;
	d->len = len;
	d->id = id;
	__atomic_store_n(&d->flags, f, __ATOMIC_RELEASE);
	if (++q->next_avail == PQ_NUM) {
		q->next_avail = 0;
		q->avail_wrap = !q->avail_wrap;
	}
}

/* One 512-byte blk request of @type at @sector as a three-descriptor list; wait for it. */
static uint8_t pq_blk(struct pq *q, uint32_t type, uint64_t sector, uint16_t id)
{
	uint16_t first = q->next_avail;
	struct pollfd p = {.fd = q->c.call, .events = POLLIN};
	struct pvirtq_desc *u;
	uint16_t fl;

	q->req->hdr = (struct vireo_blk_outhdr){.type = type, .sector = sector};
	q->req->status = 0xff;
	/* The list's head is made available last (§2.8.6, as a driver must): fill 2 and 3 first. */
	bool head_wrap = q->avail_wrap;

	if (++q->next_avail == PQ_NUM) {
		q->next_avail = 0;
		q->avail_wrap = !q->avail_wrap;
	}
	pq_set_desc(q, VIRTQ_DESC_F_NEXT | (type == VIRTIO_BLK_T_IN ? VIRTQ_DESC_F_WRITE : 0),
		    q->req_ga + offsetof(struct vu_blk_req, data), 512, id);
	pq_set_desc(q, VIRTQ_DESC_F_WRITE, q->req_ga + offsetof(struct vu_blk_req, status), 1, id);
	q->desc[first].addr = q->req_ga;
	q->desc[first].len = sizeof(q->req->hdr);
	q->desc[first].id = id;
	__atomic_store_n(&q->desc[first].flags,
			 (uint16_t)(VIRTQ_DESC_F_NEXT |
				    (head_wrap ? VIRTQ_DESC_F_AVAIL : VIRTQ_DESC_F_USED)),
			 __ATOMIC_RELEASE);
	assert_int_equal(eventfd_write(q->c.kick, 1), 0);
	u = &q->desc[q->next_used];
	for (;;) {
		fl = __atomic_load_n(&u->flags, __ATOMIC_ACQUIRE);
		if (!!(fl & VIRTQ_DESC_F_USED) == q->used_wrap &&
		    !!(fl & VIRTQ_DESC_F_AVAIL) == q->used_wrap)
			break;
		assert_int_equal(poll(&p, 1, VU_WAIT_MS), 1);
		eventfd_t v;
		(void)eventfd_read(q->c.call, &v);
	}
	assert_int_equal(u->id, id);
	q->next_used = (uint16_t)(q->next_used + 3);
	if (q->next_used >= PQ_NUM) {
		q->next_used = (uint16_t)(q->next_used - PQ_NUM);
		q->used_wrap = !q->used_wrap;
	}
	return q->req->status;
}

static uint32_t qemu_base(uint16_t avail, bool aw, uint16_t used, bool uw)
{
	return (uint32_t)avail | (uint32_t)aw << 15 | (uint32_t)used << 16 | (uint32_t)uw << 31;
}

/* A fresh packed ring serves requests across the wrap; GET_VRING_BASE answers QEMU's form. */
static void test_packed_requests_and_base(void **state)
{
	struct server *s = *state;
	struct pq q;

	pq_connect(s, &q);
	pq_start(&q, qemu_base(0, true, 0, true));
	for (uint16_t i = 0; i < 5; i++) {
		memset(q.req->data, 0x40 + i, 512);
		assert_int_equal(pq_blk(&q, VIRTIO_BLK_T_OUT, i, i), VIRTIO_BLK_S_OK);
	}
	memset(q.req->data, 0, 512);
	assert_int_equal(pq_blk(&q, VIRTIO_BLK_T_IN, 3, 2), VIRTIO_BLK_S_OK);
	assert_int_equal(q.req->data[511], 0x43);
	/* 6 requests of 3 descriptors in a ring of 7: slot 4 of the third lap (wrap 1) */
	assert_int_equal(q.next_avail, 4);
	assert_true(q.avail_wrap);
	assert_int_equal(vu_client_vring_base(&q.c), qemu_base(4, true, 4, true));
	vu_client_close(&q.c);
}

/* SET_VRING_BASE in QEMU's form, then in DPDK's 16-bit form: the ring resumes there. */
static void test_packed_base_encodings(void **state)
{
	struct server *s = *state;
	struct pq q;

	pq_connect(s, &q);
	/*
	 * QEMU: resume at slot 5 with both wrap counters 0. The ring looks like
	 * one that did a lap: slots 5-6 hold the wrap-1 lap's used descriptors,
	 * 0-4 this lap's (wrap 0: AVAIL and USED clear).
	 */
	q.desc[5].flags = q.desc[6].flags = VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED;
	q.next_avail = q.next_used = 5;
	q.avail_wrap = q.used_wrap = false;
	pq_start(&q, qemu_base(5, false, 5, false));
	assert_int_equal(pq_blk(&q, VIRTIO_BLK_T_IN, 0, 6), VIRTIO_BLK_S_OK);
	assert_int_equal(vu_client_vring_base(&q.c), qemu_base(1, true, 1, true));
	/* DPDK: bits 0-15 only (virtio-user sends 1 << 15 for a fresh ring) */
	memset(q.desc, 0, 16 * PQ_NUM);
	q.next_avail = q.next_used = 2;
	q.avail_wrap = q.used_wrap = true;
	vu_client_state(&q.c, VHOST_USER_SET_VRING_BASE, 0, 2u | 1u << 15);
	close(q.c.kick);
	vu_client_vring_fd(&q.c, VHOST_USER_SET_VRING_KICK, &q.c.kick);
	assert_int_equal(pq_blk(&q, VIRTIO_BLK_T_IN, 0, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(vu_client_vring_base(&q.c), qemu_base(5, true, 5, true));
	vu_client_close(&q.c);
}

/* A base outside the ring (index >= size) is refused when the ring starts: connection closed. */
static void test_packed_base_outside_ring(void **state)
{
	struct server *s = *state;
	struct pq q;

	pq_connect(s, &q);
	vu_client_ring_setup(&q.c, 0, PQ_NUM, qemu_base(PQ_NUM, true, 0, true), q.desc_ga, q.drv_ga,
			     q.dev_ga);
	vu_client_vring_fd(&q.c, VHOST_USER_SET_VRING_CALL, &q.c.call);
	vu_client_vring_fd(&q.c, VHOST_USER_SET_VRING_KICK, &q.c.kick);
	assert_int_equal(vu_client_send(&q.c, VHOST_USER_SET_VRING_ENABLE,
					&(struct vhost_user_vring_state){0, 1}, 8, NULL, 0, true),
			 0);
	vu_client_expect_closed(&q.c);
	vu_client_close(&q.c);
}

/*
 * A hostile packed descriptor (its buffer outside the memory table; then a
 * used-looking head): DEVICE_NEEDS_RESET through the core, said on the error
 * eventfd; the connection still answers and nothing was consumed.
 */
static void test_packed_bad_descriptor(void **state)
{
	static const uint16_t heads[2][2] = {
		{VIRTQ_DESC_F_AVAIL, 0},			  /* address outside */
		{VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED, 0x1000}, /* D-PR-04: flags */
	};
	struct server *s = *state;

	for (unsigned int i = 0; i < 2; i++) {
		struct pollfd p;
		struct pq q;

		pq_connect(s, &q);
		pq_start(&q, qemu_base(0, true, 0, true));
		q.desc[0].addr = heads[i][1] ? q.req_ga : VU_GUEST_BASE + 2 * VU_ARENA_BYTES;
		q.desc[0].len = 16;
		q.desc[0].id = 0;
		__atomic_store_n(&q.desc[0].flags, heads[i][0], __ATOMIC_RELEASE);
		assert_int_equal(eventfd_write(q.c.kick, 1), 0);
		p = (struct pollfd){.fd = q.c.err, .events = POLLIN};
		assert_int_equal(poll(&p, 1, VU_WAIT_MS), 1);
		assert_true(vu_client_get_u64(&q.c, VHOST_USER_GET_FEATURES) != 0);
		assert_int_equal(vu_client_vring_base(&q.c), qemu_base(0, true, 0, true));
		assert_int_equal(q.desc[0].flags, heads[i][0]);
		vu_client_close(&q.c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_packed_requests_and_base, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packed_base_encodings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packed_base_outside_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packed_bad_descriptor, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
