// SPDX-License-Identifier: MIT
/*
 * Unit tests for core/inflight.c, split layout: the record/clear protocol
 * (D-VU-INFL-07/-08), recovery after a crash at each step (D-VU-INFL-09,
 * -15), and a region the front-end forged (every field checked, -EPROTO,
 * never an access outside the region: run under ASan).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/inflight.h>

#define NUM 16u

struct fixture {
	struct vinflight inf;
	size_t size;
	struct vinflight_split_region *r;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->size = vireo_vinflight_queue_size(false, NUM);
	f->r = aligned_alloc(64, f->size);
	memset(f->r, 0, f->size);
	assert_int_equal(vireo_vinflight_init(&f->inf, f->r, f->size, false), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vireo_vinflight_destroy(&f->inf);
	free(f->r);
	free(f);
	return 0;
}

/* A restarted back-end: a new view of the same region, then recovery. */
static int restart(struct fixture *f, uint16_t ring_used, uint16_t *last_avail)
{
	vireo_vinflight_destroy(&f->inf);
	assert_int_equal(vireo_vinflight_init(&f->inf, f->r, f->size, false), 0);
	return vireo_vinflight_split_recover(&f->inf, NUM, ring_used, last_avail);
}

static void expect_resubmit(struct fixture *f, const uint16_t *heads, unsigned int n)
{
	uint16_t head;

	for (unsigned int i = 0; i < n; i++) {
		assert_true(vireo_vinflight_next_resubmit(&f->inf, &head));
		assert_int_equal(head, heads[i]);
	}
	assert_false(vireo_vinflight_next_resubmit(&f->inf, &head));
}

/* D-VU-INFL-03/-04: 16-byte header and entries, each queue's region 64-aligned. */
static void test_sizes(void **state)
{
	(void)state;
	assert_int_equal(vireo_vinflight_queue_size(false, 256), 4160);
	assert_int_equal(vireo_vinflight_queue_size(false, 1), 64);
	assert_int_equal(vireo_vinflight_queue_size(true, 256),
			 8256); /* 32 + 256 * 32, 64-aligned */
	assert_int_equal(vireo_vinflight_queue_size(false, 0), 0);
}

/* D-VU-INFL-06: a version-0 region is formatted; the front-end's base stands. */
static void test_fresh_region(void **state)
{
	struct fixture *f = *state;
	uint16_t last = 77;

	assert_int_equal(vireo_vinflight_split_recover(&f->inf, NUM, 5, &last), 0);
	assert_int_equal(last, 77);
	assert_int_equal(f->r->version, VINFLIGHT_VERSION);
	assert_int_equal(f->r->desc_num, NUM);
	assert_int_equal(f->r->used_idx, 5);
	expect_resubmit(f, NULL, 0);
}

/* D-VU-INFL-07/-09/-15: out-of-order completion; what is left comes back in fetch order. */
static void test_resubmit_in_counter_order(void **state)
{
	struct fixture *f = *state;
	uint16_t last = 0, want[] = {9, 3, 7};
	uint64_t max;

	assert_int_equal(vireo_vinflight_split_recover(&f->inf, NUM, 0, &last), 0);
	vireo_vinflight_split_popped(&f->inf, 9);
	vireo_vinflight_split_popped(&f->inf, 1);
	vireo_vinflight_split_popped(&f->inf, 3);
	vireo_vinflight_split_popped(&f->inf, 7);
	assert_int_equal(f->r->desc[9].inflight, 1);
	assert_true(f->r->desc[1].counter < f->r->desc[3].counter);
	vireo_vinflight_split_pushed(&f->inf, 1);
	vireo_vinflight_split_published(&f->inf, 1);
	assert_int_equal(f->r->desc[1].inflight, 0);
	assert_int_equal(f->r->used_idx, 1);
	max = f->r->desc[7].counter;
	/* Killed here: used->idx is 1; 4 fetched, so the avail ring resumes at 4. */
	assert_int_equal(restart(f, 1, &last), 0);
	assert_int_equal(last, 4);
	expect_resubmit(f, want, 3);
	/* D-VU-INFL-15: new requests sort after the resubmitted ones. */
	vireo_vinflight_split_popped(&f->inf, 2);
	assert_true(f->r->desc[2].counter > max);
}

/* D-VU-INFL-08/-09: killed after used->idx covered a batch, before it was cleared. */
static void test_crash_after_used_idx(void **state)
{
	struct fixture *f = *state;
	uint16_t last = 0, want[] = {4};

	assert_int_equal(vireo_vinflight_split_recover(&f->inf, NUM, 0, &last), 0);
	vireo_vinflight_split_popped(&f->inf, 2);
	vireo_vinflight_split_popped(&f->inf, 4);
	vireo_vinflight_split_popped(&f->inf, 6);
	vireo_vinflight_split_pushed(&f->inf, 6);
	vireo_vinflight_split_pushed(&f->inf, 2);
	/* The ring published used->idx = 2; the process died before published(). */
	assert_int_equal(restart(f, 2, &last), 0);
	assert_int_equal(f->r->desc[2].inflight, 0);
	assert_int_equal(f->r->desc[6].inflight, 0);
	assert_int_equal(f->r->used_idx, 2);
	assert_int_equal(last, 3);
	expect_resubmit(f, want, 1);
}

/* Killed after the used entries were written but before used->idx: all resubmitted. */
static void test_crash_before_used_idx(void **state)
{
	struct fixture *f = *state;
	uint16_t last = 0, want[] = {2, 4};

	assert_int_equal(vireo_vinflight_split_recover(&f->inf, NUM, 0, &last), 0);
	vireo_vinflight_split_popped(&f->inf, 2);
	vireo_vinflight_split_popped(&f->inf, 4);
	vireo_vinflight_split_pushed(&f->inf, 4);
	assert_int_equal(restart(f, 0, &last), 0);
	assert_int_equal(last, 2);
	expect_resubmit(f, want, 2);
}

/* An unpopped head is no longer in flight. */
static void test_unpop(void **state)
{
	struct fixture *f = *state;
	uint16_t last = 0;

	assert_int_equal(vireo_vinflight_split_recover(&f->inf, NUM, 0, &last), 0);
	vireo_vinflight_split_popped(&f->inf, 5);
	vireo_vinflight_split_unpopped(&f->inf, 5);
	assert_int_equal(restart(f, 0, &last), 0);
	assert_int_equal(last, 0);
	expect_resubmit(f, NULL, 0);
}

/* A used region to forge: heads 1 and 3 in flight, used idx 0. */
static void prepare(struct fixture *f)
{
	uint16_t last = 0;

	assert_int_equal(vireo_vinflight_split_recover(&f->inf, NUM, 0, &last), 0);
	vireo_vinflight_split_popped(&f->inf, 1);
	vireo_vinflight_split_popped(&f->inf, 3);
}

static void expect_refused(struct fixture *f, uint16_t ring_used)
{
	uint16_t last = 42, head;

	assert_int_equal(restart(f, ring_used, &last), -EPROTO);
	assert_int_equal(last, 42);
	assert_false(vireo_vinflight_next_resubmit(&f->inf, &head));
}

/* D-VU-INFL-04/-06: a header that is not ours for this ring is refused. */
static void test_hostile_header(void **state)
{
	struct fixture *f = *state;
	uint16_t last = 0;

	prepare(f);
	f->r->version = 2;
	expect_refused(f, 0);
	f->r->version = VINFLIGHT_VERSION;
	f->r->features = 1;
	expect_refused(f, 0);
	f->r->features = 0;
	f->r->desc_num = NUM * 2;
	expect_refused(f, 0);
	f->r->desc_num = NUM;
	/* A region too small for the ring (SET_INFLIGHT_FD's queue size was smaller). */
	vireo_vinflight_destroy(&f->inf);
	assert_int_equal(vireo_vinflight_init(&f->inf, f->r, f->size - 64, false), 0);
	assert_int_equal(vireo_vinflight_split_recover(&f->inf, NUM, 0, &last), -EPROTO);
	assert_int_equal(restart(f, 0, &last), 0);
}

/* Entries: a flag other than 0/1, two requests with one counter. */
static void test_hostile_entries(void **state)
{
	struct fixture *f = *state;

	prepare(f);
	f->r->desc[5].inflight = 0xff;
	expect_refused(f, 0);
	f->r->desc[5].inflight = 0;
	f->r->desc[3].counter = f->r->desc[1].counter;
	expect_refused(f, 0);
}

/* D-VU-INFL-09 repair: a batch larger than the ring, heads and links out of range. */
static void test_hostile_batch(void **state)
{
	struct fixture *f = *state;

	prepare(f);
	expect_refused(f, NUM + 1);
	f->r->used_idx = 0;
	f->r->last_batch_head = NUM;
	expect_refused(f, 1);
	f->r->used_idx = 0;
	f->r->last_batch_head = 1;
	f->r->desc[1].next = 0xffff;
	expect_refused(f, 2);
}

/* The front-end rewrites links while a batch is being cleared: nothing outside the region. */
static void test_hostile_links_at_publish(void **state)
{
	struct fixture *f = *state;

	prepare(f);
	vireo_vinflight_split_pushed(&f->inf, 3);
	vireo_vinflight_split_pushed(&f->inf, 1);
	f->r->desc[1].next = 0xfff0;
	vireo_vinflight_split_published(&f->inf, 2);
	assert_int_equal(f->r->desc[1].inflight, 0);
	assert_int_equal(f->r->used_idx, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test_setup_teardown(test_fresh_region, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resubmit_in_counter_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_after_used_idx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_before_used_idx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unpop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_links_at_publish, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
