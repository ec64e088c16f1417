// SPDX-License-Identifier: MIT
/*
 * Which queue an IOTLB answer retries (vhost-user.rst "IOMMU support": a miss
 * is completed by "an update message containing the IOTLB entry containing
 * requested address", or by a reply that brought none). An update retries
 * only the queue whose miss it covers: the others do not ask again for what
 * is still unmapped. And no path leaves a queue with a miss nobody will
 * answer: a reply that judges an IOMMU since changed, a replaced or closed
 * back-end channel, a device stop. Labels: D-VU-IOTLB-05, D-VU-IOTLB-07.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vireo/event_loop.h>
#include <vireo/spec.h>
#include <vireo/vhost_user.h>
#include <vireo/vhost_user_backend.h>

#include "tests/lib/vu_iotlb_fe.h"

#define FAR_IOVA 0x100000000ull /* mapped by nobody: an invalidation there touches no ring */

/* Two queues of one front-end, and what its IOMMU answered so far. */
struct two {
	struct vui_fe f;
	struct vu_ring q1;
	uint64_t asked[32]; /* the pages missed, each once (D-VU-IOTLB-05) */
	unsigned int num_asked;
	unsigned int replies; /* misses answered by an update, their replies not sent yet */
};

/* Both rings at IOVAs, started; the whole arena mapped (the rings' misses answered). */
static void two_start(struct vu_blk_fixture *s, struct two *t)
{
	memset(t, 0, sizeof(*t));
	vui_negotiate(s, &t->f, 0);
	vui_start_ring(&t->f);
	vu_ring_start_iova(&t->q1, &t->f.c, 1);
	vui_map_all(&t->f);
}

/*
 * The next back-end message within @ms: a miss of a page not asked before
 * (a queue retried by an update that is not its answer asks again: that is
 * what fails here). Return: 1 and *@m, or 0 if none came.
 */
static int two_new_miss(struct two *t, struct vhost_user_iotlb *m, int ms)
{
	uint64_t page;

	if (!vui_backend_msg(&t->f, m, ms))
		return 0;
	assert_int_equal(m->type, VHOST_IOTLB_MISS);
	page = m->iova & ~(VUI_PAGE - 1);
	for (unsigned int i = 0; i < t->num_asked; i++)
		if (t->asked[i] == page)
			fail_msg("iova 0x%llx asked for again before or after its answer",
				 (unsigned long long)m->iova);
	assert_true(t->num_asked < sizeof(t->asked) / sizeof(t->asked[0]));
	t->asked[t->num_asked++] = page;
	t->replies++;
	return 1;
}

/*
 * two_start(), then a read on each queue at a request of its own whose pages
 * are unmapped (*@r0 at *@ga0, *@r1 at *@ga1): both first misses read, in
 * that order, not answered.
 */
static void two_both_missed(struct vu_blk_fixture *s, struct two *t, struct vu_blk_req **r0,
			    uint64_t *ga0, struct vu_blk_req **r1, uint64_t *ga1)
{
	struct vhost_user_iotlb m;

	two_start(s, t);
	*r0 = vui_req_unmapped(&t->f, ga0);
	*r1 = vui_req_unmapped(&t->f, ga1);
	vui_post(&t->f, *r0, *ga0, VIRTIO_BLK_T_IN, 0);
	assert_int_equal(two_new_miss(t, &m, VU_WAIT_MS), 1);
	assert_int_equal(m.iova, *ga0);
	vui_post_vq(&t->q1.vq, *r1, *ga1, VIRTIO_BLK_T_IN, 8);
	assert_int_equal(two_new_miss(t, &m, VU_WAIT_MS), 1);
	assert_int_equal(m.iova, *ga1);
}

/* Answer with an update of @iova's page, RW; its reply comes later (in order, two_replies()). */
static void two_map(struct two *t, uint64_t iova)
{
	uint64_t page = iova & ~(VUI_PAGE - 1);

	assert_int_equal(vui_iotlb(&t->f, VHOST_IOTLB_UPDATE, page, VUI_PAGE, vui_uaddr(page),
				   VHOST_ACCESS_RW),
			 0);
}

/* A request of @vq is used: @r, status OK. Return: whether one was. */
static bool two_used(struct virtqueue *vq, int call, struct vu_blk_req *r)
{
	uint32_t len;
	void *got;

	vireo_eventfd_drain_fd(call);
	got = virtqueue_get_buf(vq, &len);
	if (!got)
		return false;
	assert_ptr_equal(got, r);
	assert_int_equal(r->status, VIRTIO_BLK_S_OK);
	return true;
}

/* Serve misses (each a new page) until @r0 on queue 0 and @r1 on queue 1 (NULL: none) are used. */
static void two_serve(struct two *t, struct vu_blk_req *r0, struct vu_blk_req *r1)
{
	struct pollfd p[3] = {{.fd = t->f.bsock, .events = POLLIN},
			      {.fd = t->f.c.call, .events = POLLIN},
			      {.fd = t->q1.call, .events = POLLIN}};
	struct vhost_user_iotlb m;

	while (r0 || r1) {
		assert_true(poll(p, 3, VU_WAIT_MS) >= 1);
		if ((p[0].revents & POLLIN) && two_new_miss(t, &m, 0))
			two_map(t, m.iova);
		if (r0 && two_used(&t->f.c.vq, t->f.c.call, r0)) {
			r0 = NULL;
			p[1].fd = -1;
		}
		if (r1 && two_used(&t->q1.vq, t->q1.call, r1)) {
			r1 = NULL;
			p[2].fd = -1;
		}
	}
}

/*
 * The server's counters are honest: each miss counted is one the front-end
 * received, each update one it sent (vireo_vhost_user_backend_iotlb_stats()).
 */
static void counters_match(struct vu_blk_fixture *s, const struct vui_fe *f)
{
	struct vhost_user_backend_iotlb_stats st;

	vui_server_stop(s, &st);
	assert_int_equal(st.misses, f->received);
	assert_int_equal(st.updates, f->updates);
}

/* The replies owed, in order (each IOVA is mapped by now); no NEEDS_RESET; the channel quiet. */
static void two_finish(struct two *t)
{
	struct pollfd p[2] = {{.fd = t->f.c.err, .events = POLLIN},
			      {.fd = t->q1.err, .events = POLLIN}};
	struct vhost_user_iotlb m;

	for (; t->replies; t->replies--)
		vui_backend_reply(&t->f, 0);
	assert_int_equal(vui_backend_msg(&t->f, &m, 200), 0);
	assert_int_equal(poll(p, 2, 0), 0);
	assert_true(vu_client_get_u64(&t->f.c, VHOST_USER_GET_FEATURES) != 0);
	vu_ring_close(&t->q1);
	vui_close(&t->f);
}

/*
 * D-VU-IOTLB-05: queues 0 and 1 miss on their own requests' pages. The
 * updates that answer queue 0 (two pages) do not retry queue 1, whose page is
 * still unmapped: it asks once, not once more per update. Then its own
 * update completes it. Replies come last, in order, as a slow front-end's.
 */
static void test_update_retries_only_its_queue(void **state)
{
	struct vhost_user_iotlb m;
	struct vu_blk_req *r0, *r1;
	uint64_t ga0, ga1;
	struct two t;

	two_both_missed(*state, &t, &r0, &ga0, &r1, &ga1);
	/* Queue 0's answers only: each of its misses is of its own request. */
	two_map(&t, ga0);
	two_serve(&t, r0, NULL);
	assert_int_equal(t.num_asked, 3); /* ga0, ga1, and queue 0's data page */
	assert_true(t.asked[2] == ga0 + VUI_PAGE);
	/* Queue 1 did not ask again meanwhile (two_new_miss() fails on a repeat). */
	assert_int_equal(two_new_miss(&t, &m, 200), 0);
	assert_int_equal(r1->status, 0xff);
	two_map(&t, ga1);
	two_serve(&t, NULL, r1);
	assert_int_equal(t.num_asked, 4);
	two_finish(&t);
	counters_match(*state, &t.f);
}

/*
 * D-VU-IOTLB-07 with two queues: queue 0's miss is refused after an
 * invalidation (no verdict): queue 0 asks again at once, queue 1 (whose miss
 * is pending elsewhere) does not; then both are answered and complete.
 */
static void test_unjudged_reply_retries_only_its_queue(void **state)
{
	struct vhost_user_iotlb m;
	struct vu_blk_req *r0, *r1;
	uint64_t ga0, ga1;
	struct two t;

	two_both_missed(*state, &t, &r0, &ga0, &r1, &ga1);
	assert_int_equal(vui_iotlb(&t.f, VHOST_IOTLB_INVALIDATE, FAR_IOVA, VUI_PAGE, 0, 0), 0);
	/* The reply to queue 0's miss: failed, but the IOMMU changed since: asked again. */
	vui_backend_reply(&t.f, 1);
	t.replies--;
	assert_int_equal(vui_backend_msg(&t.f, &m, VU_WAIT_MS), 1);
	assert_int_equal(m.type, VHOST_IOTLB_MISS);
	assert_int_equal(m.iova, ga0);
	t.replies++;
	/* Nothing else: queue 1 still waits for its own answer. */
	assert_int_equal(two_new_miss(&t, &m, 200), 0);
	two_map(&t, ga1);
	two_map(&t, ga0);
	two_serve(&t, r0, r1);
	two_finish(&t);
	counters_match(*state, &t.f);
}

/*
 * A new back-end channel (SET_BACKEND_REQ_FD again) while a miss is pending:
 * its reply will never come on the old one, so the queue asks again on the
 * new channel, unprompted by any update; answered there, the I/O completes.
 */
static void test_channel_replaced_asks_again(void **state)
{
	struct vhost_user_iotlb m;
	struct vu_blk_req *r;
	struct vui_fe f;
	uint64_t ga;

	r = vui_req_missed(*state, &f, &ga);
	vui_replace_channel(&f, 0);
	assert_int_equal(vui_backend_msg(&f, &m, VU_WAIT_MS), 1);
	assert_int_equal(m.type, VHOST_IOTLB_MISS);
	assert_int_equal(m.iova, ga);
	vui_serve_miss(&f, &m);
	assert_int_equal(vui_complete(&f, r), VIRTIO_BLK_S_OK);
	vui_close(&f);
}

/*
 * A front-end that never reads the back-end channel: the back-end never waits
 * for it (misses are sent MSG_DONTWAIT). The channel's send buffer is made the
 * smallest the kernel allows, and one read has a segment on each of 30 unmapped
 * pages: each update the front-end sends on the main socket is answered while
 * the misses it provokes find the channel full and are dropped; once every page
 * is mapped the request completes. Fewer misses than pages are on the channel.
 */
static void test_channel_full_never_blocks(void **state)
{
	enum { PAGES = 32 };
	struct vhost_user_iotlb m;
	struct virtio_sg sg[PAGES];
	struct vireo_blk_outhdr *hdr;
	unsigned int k, seen = 0;
	struct pollfd p;
	struct vui_fe f;
	uint32_t len;
	uint8_t *area;
	uint64_t ga;
	void *got;

	vui_connect(*state, &f);
	vui_map_all(&f);
	vui_replace_channel(&f, 1); /* the smallest send buffer the kernel allows */
	area = virtio_dma_alloc(&f.c.arena, PAGES * VUI_PAGE, VUI_PAGE, &ga);
	assert_non_null(area);
	hdr = (struct vireo_blk_outhdr *)area;
	*hdr = (struct vireo_blk_outhdr){.type = VIRTIO_BLK_T_IN, .sector = 0};
	area[(PAGES - 1) * VUI_PAGE] = 0xff;
	sg[0] = (struct virtio_sg){ga, sizeof(*hdr)};
	for (k = 1; k < PAGES - 1; k++)
		sg[k] = (struct virtio_sg){ga + k * VUI_PAGE, 512};
	sg[PAGES - 1] = (struct virtio_sg){ga + (PAGES - 1) * VUI_PAGE, 1};
	assert_int_equal(
		vui_iotlb(&f, VHOST_IOTLB_INVALIDATE, ga + VUI_PAGE, (PAGES - 2) * VUI_PAGE, 0, 0),
		0);
	assert_int_equal(virtqueue_add_sgs(&f.c.vq, sg, 1, PAGES - 1, area), 0);
	virtqueue_kick(&f.c.vq);
	for (k = 1; k < PAGES - 1; k++)
		assert_int_equal(vui_iotlb(&f, VHOST_IOTLB_UPDATE, ga + k * VUI_PAGE, VUI_PAGE,
					   vui_uaddr(ga + k * VUI_PAGE), VHOST_ACCESS_RW),
				 0);
	/* The call fd may hold an old signal (a new call fd is signalled once): wait for the buffer. */
	p = (struct pollfd){.fd = f.c.call, .events = POLLIN};
	while (!(got = virtqueue_get_buf(&f.c.vq, &len))) {
		assert_int_equal(poll(&p, 1, VU_WAIT_MS), 1);
		(void)vireo_eventfd_drain_fd(f.c.call);
	}
	assert_ptr_equal(got, area);
	assert_int_equal(area[(PAGES - 1) * VUI_PAGE], VIRTIO_BLK_S_OK);
	while (vui_backend_msg(&f, &m, 0)) {
		assert_int_equal(m.type, VHOST_IOTLB_MISS);
		seen++;
	}
	printf("# %u of %u misses were on the channel, the rest dropped\n", seen, PAGES - 2);
	assert_true(seen >= 1 && seen < PAGES - 2);
	vui_close(&f);
}

/*
 * The front-end closes the back-end channel with a miss pending: no reply,
 * no miss can be sent any more. The updates it still sends on the main
 * socket (for both of the request's pages) carry the queue to completion.
 */
static void test_channel_closed_updates_still_serve(void **state)
{
	struct vu_blk_req *r;
	struct vui_fe f;
	uint64_t ga;

	r = vui_req_missed(*state, &f, &ga);
	close(f.bsock);
	f.bsock = -1; /* vui_next_used() polls it: ignored */
	for (uint64_t page = ga; page < ga + 2 * VUI_PAGE; page += VUI_PAGE)
		assert_int_equal(vui_iotlb(&f, VHOST_IOTLB_UPDATE, page, VUI_PAGE, vui_uaddr(page),
					   VHOST_ACCESS_RW),
				 0);
	assert_int_equal(vui_complete(&f, r), VIRTIO_BLK_S_OK);
	assert_true(vu_client_get_u64(&f.c, VHOST_USER_GET_FEATURES) != 0);
	vui_close(&f);
	/* The misses that could not be sent any more are not counted as asked. */
	counters_match(*state, &f);
}

/*
 * The device stops (GET_VRING_BASE) with a miss pending, and its reply comes
 * after (not judged: the IOTLB was dropped). The ring restarted at its base
 * asks for its ring and the request's pages again and completes the request.
 */
static void test_device_stop_with_miss_pending(void **state)
{
	struct vu_blk_req *r;
	struct vui_fe f;
	uint32_t base;
	uint64_t ga;

	r = vui_req_missed(*state, &f, &ga);
	base = vu_client_vring_base(&f.c);
	vui_backend_reply(&f, 1);
	close(f.c.kick);
	close(f.c.call);
	close(f.c.err);
	vui_start_ring_at(&f, base);
	f.misses = 0;
	assert_int_equal(vui_complete(&f, r), VIRTIO_BLK_S_OK);
	assert_true(f.misses >= 3); /* the ring's pages, the request's */
	vui_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_update_retries_only_its_queue, vui_setup_mq,
						vui_teardown),
		cmocka_unit_test_setup_teardown(test_unjudged_reply_retries_only_its_queue,
						vui_setup_mq, vui_teardown),
		cmocka_unit_test_setup_teardown(test_channel_full_never_blocks, vui_setup,
						vui_teardown),
		cmocka_unit_test_setup_teardown(test_channel_replaced_asks_again, vui_setup,
						vui_teardown),
		cmocka_unit_test_setup_teardown(test_channel_closed_updates_still_serve, vui_setup,
						vui_teardown),
		cmocka_unit_test_setup_teardown(test_device_stop_with_miss_pending, vui_setup,
						vui_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
