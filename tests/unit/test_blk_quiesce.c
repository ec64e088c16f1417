// SPDX-License-Identifier: MIT
/*
 * device.h queue_stop through vireo_vdev_quiesce() and vireo_vdev_queue_disable(): once
 * they return, the blk model holds no request that can still write into
 * guest memory. Requests are popped and submitted to io_uring by one kick
 * (one loop round), then quiesced before any completion round runs: every
 * request must be answered by then (status byte written; used entry pushed
 * while the ring runs). Without queue_stop, nothing would be, and a memory
 * table change would unmap what io_uring and the completion still write.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <vireo/device.h>
#include <vireo/spec.h>

#include "tests/lib/blk_harness.h"

#define REQS 16u /* three descriptors each: 48 of the ring's 64 */

/* @n reads of 4 KiB, added and kicked, the kick handled: all go to io_uring. */
static void submit_reads(struct blk_harness *h, struct blk_harness_req *r, uint8_t **status,
			 unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		blk_harness_req_init(&r[i]);
		blk_harness_req_hdr(h, &r[i], VIRTIO_BLK_T_IN, 8 * i, false);
		(void)blk_harness_req_in(h, &r[i], 4096, false);
		blk_harness_req_status(h, &r[i]);
		status[i] = r[i].status;
		blk_harness_req_add(h, 0, &r[i]);
	}
	blk_harness_kick(h, 0);
	/* The kick's round only: pops and submits, no completion round yet. */
	assert_true(vireo_event_loop_run_once(&h->loop, 1000) >= 1);
}

static void test_quiesce_answers_in_flight(void **state)
{
	struct blk_harness_req r[REQS];
	uint8_t *status[REQS];
	struct blk_harness h;
	unsigned int i, used = 0;
	uint32_t len;

	(void)state;
	blk_harness_init(&h, NULL, 0);
	submit_reads(&h, r, status, REQS);
	vireo_vdev_quiesce(h.dev);
	while (virtqueue_get_buf(&h.q[0].vq, &len))
		used++;
	assert_int_equal(used, REQS);
	for (i = 0; i < REQS; i++)
		assert_int_equal(*status[i], VIRTIO_BLK_S_OK);
	/* The queue still runs afterwards. */
	assert_int_equal(blk_harness_simple(&h, VIRTIO_BLK_T_IN, 0, NULL, 0, 512, &len),
			 VIRTIO_BLK_S_OK);
	blk_harness_destroy(&h);
}

/* NEEDS_RESET: the rings take nothing more; the model's I/O is still reaped by quiesce. */
static void test_quiesce_after_needs_reset(void **state)
{
	struct blk_harness_req r[REQS];
	uint8_t *status[REQS];
	struct blk_harness h;
	unsigned int i;
	uint32_t len;

	(void)state;
	blk_harness_init(&h, NULL, 0);
	submit_reads(&h, r, status, REQS);

	vireo_vdev_set_needs_reset(h.dev, "test: a queue broke while I/O was in flight");
	vireo_vdev_quiesce(h.dev);
	/* Answered into guest memory that is still mapped; nothing pushed to a broken ring. */
	for (i = 0; i < REQS; i++)
		assert_int_equal(*status[i], VIRTIO_BLK_S_OK);
	assert_null(virtqueue_get_buf(&h.q[0].vq, &len));
	blk_harness_destroy(&h);
}

/* vireo_vdev_queue_disable() (GET_VRING_BASE) answers what is in flight before the ring stops. */
static void test_disable_answers_in_flight(void **state)
{
	struct blk_harness_req r[REQS];
	uint8_t *status[REQS];
	struct blk_harness h;
	unsigned int used = 0;
	uint32_t len;

	(void)state;
	blk_harness_init(&h, NULL, 0);
	submit_reads(&h, r, status, REQS);
	vireo_vdev_queue_disable(h.dev, 0);
	while (virtqueue_get_buf(&h.q[0].vq, &len))
		used++;
	assert_int_equal(used, REQS);
	assert_int_equal(vireo_vdev_queue_get_base(h.dev, 0), REQS);
	blk_harness_destroy(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quiesce_answers_in_flight),
		cmocka_unit_test(test_quiesce_after_needs_reset),
		cmocka_unit_test(test_disable_answers_in_flight),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
