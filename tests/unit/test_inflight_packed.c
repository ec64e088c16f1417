// SPDX-License-Identifier: MIT
/*
 * Unit tests for core/inflight_packed.c: descriptor copies on a free list
 * (D-VU-INFL-10/-11), recovery with commit or rollback of the last batch
 * after a crash at each step (D-VU-INFL-12/-13), the positions it derives,
 * and a region the front-end forged (-EPROTO, nothing outside the region:
 * run under ASan).
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
	struct vinflight_packed_region *r;
	uint16_t flags[NUM]; /* the ring slots' flags, as recovery reads them */
	struct vring_dev_position pos;
};

static uint16_t fake_slot_flags(const void *ring, uint16_t idx)
{
	const struct fixture *f = ring;

	assert_true(idx < NUM);
	return f->flags[idx];
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->size = vireo_vinflight_queue_size(true, NUM);
	f->r = aligned_alloc(64, f->size);
	memset(f->r, 0, f->size);
	assert_int_equal(vireo_vinflight_init(&f->inf, f->r, f->size, true), 0);
	/* First lap: the driver made every slot available (AVAIL=1, USED=0). */
	for (unsigned int i = 0; i < NUM; i++)
		f->flags[i] = VIRTQ_DESC_F_AVAIL;
	f->pos = (struct vring_dev_position){.avail_wrap = true, .used_wrap = true};
	assert_int_equal(vireo_vinflight_packed_recover(&f->inf, NUM, fake_slot_flags, f, &f->pos),
			 0);
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

static int restart(struct fixture *f)
{
	vireo_vinflight_destroy(&f->inf);
	assert_int_equal(vireo_vinflight_init(&f->inf, f->r, f->size, true), 0);
	f->pos = (struct vring_dev_position){.avail_wrap = true, .used_wrap = true};
	return vireo_vinflight_packed_recover(&f->inf, NUM, fake_slot_flags, f, &f->pos);
}

/* Pop buffer @id of @n descriptors; addr encodes (id, i) for the checks. */
static void pop(struct fixture *f, uint16_t id, uint16_t n)
{
	struct pvirtq_desc d[4];

	for (uint16_t i = 0; i < n; i++)
		d[i] = (struct pvirtq_desc){
			.addr = 0x1000u * id + i,
			.len = 512,
			.id = id,
			.flags = (uint16_t)(VIRTQ_DESC_F_AVAIL |
					    (i + 1u < n ? VIRTQ_DESC_F_NEXT : 0))};
	vireo_vinflight_packed_popped(&f->inf, id, d, n);
}

static void expect_chain(struct fixture *f, uint16_t id, uint16_t n)
{
	assert_int_equal(vireo_vinflight_packed_next_resubmit(&f->inf), n);
	for (uint16_t i = 0; i < n; i++) {
		assert_int_equal(f->inf.descs[i].addr, 0x1000u * id + i);
		assert_int_equal(f->inf.descs[i].id, id);
	}
}

/* D-VU-INFL-06: a fresh region is formatted at the ring's position. */
static void test_fresh(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(f->r->version, VINFLIGHT_VERSION);
	assert_int_equal(f->r->desc_num, NUM);
	assert_int_equal(f->r->free_head, 0);
	assert_int_equal(f->r->desc[NUM - 1].next, NUM);
	assert_int_equal(f->r->used_wrap_counter, 1);
	assert_int_equal(vireo_vinflight_packed_next_resubmit(&f->inf), 0);
}

/* Buffers 5 (2 slots), 2 (1), 7 (3); 2 completes and its flags reach the ring. */
static void run_batch(struct fixture *f, bool flags_written, bool published)
{
	pop(f, 5, 2);
	pop(f, 2, 1);
	pop(f, 7, 3);
	assert_int_equal(f->r->free_head, 6);
	vireo_vinflight_packed_pushed(&f->inf, 2);
	vireo_vinflight_packed_publishing(&f->inf);
	assert_int_equal(f->r->used_idx, 1);
	if (flags_written)
		f->flags[0] = VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED; /* used, wrap 1 */
	if (published)
		vireo_vinflight_packed_published(&f->inf);
}

/* D-VU-INFL-11/-13/-15: the rest comes back in fetch order; positions from the region. */
static void test_resubmit_after_publish(void **state)
{
	struct fixture *f = *state;

	run_batch(f, true, true);
	assert_int_equal(f->r->old_used_idx, 1);
	assert_int_equal(restart(f), 0);
	expect_chain(f, 5, 2);
	expect_chain(f, 7, 3);
	assert_int_equal(vireo_vinflight_packed_next_resubmit(&f->inf), 0);
	/* used after buffer 2's one slot; avail after the 5 slots still in flight */
	assert_int_equal(f->pos.used_idx, 1);
	assert_int_equal(f->pos.avail_idx, 6);
	assert_true(f->pos.avail_wrap);
}

/* D-VU-INFL-12: killed after the flags store, before the old_* copy: commit. */
static void test_crash_after_flags(void **state)
{
	struct fixture *f = *state;

	run_batch(f, true, false);
	assert_int_equal(restart(f), 0);
	expect_chain(f, 5, 2);
	expect_chain(f, 7, 3);
	assert_int_equal(vireo_vinflight_packed_next_resubmit(&f->inf), 0);
	assert_int_equal(f->pos.used_idx, 1);
}

/* D-VU-INFL-13: killed before the flags store: roll back, buffer 2 comes back too. */
static void test_crash_before_flags(void **state)
{
	struct fixture *f = *state;

	run_batch(f, false, false);
	assert_int_equal(restart(f), 0);
	expect_chain(f, 5, 2);
	expect_chain(f, 2, 1);
	expect_chain(f, 7, 3);
	assert_int_equal(f->pos.used_idx, 0);
	assert_int_equal(f->pos.avail_idx, 6);
}

/* Killed in the middle of a fetch: the half-recorded chain is on the free list again. */
static void test_crash_mid_pop(void **state)
{
	struct fixture *f = *state;
	uint16_t head;

	pop(f, 5, 2);
	head = f->r->old_free_head;
	pop(f, 9, 3);
	f->r->old_free_head = head; /* the last descriptor's step never ran */
	assert_int_equal(restart(f), 0);
	expect_chain(f, 5, 2);
	assert_int_equal(vireo_vinflight_packed_next_resubmit(&f->inf), 0);
	assert_int_equal(f->pos.avail_idx, 2);
}

/* A wrap: positions advance across the end of the ring and flip the counter. */
static void test_wrap(void **state)
{
	struct fixture *f = *state;

	f->r->used_idx = f->r->old_used_idx = NUM - 1;
	pop(f, 4, 3);
	assert_int_equal(restart(f), 0);
	assert_int_equal(f->pos.used_idx, NUM - 1);
	assert_int_equal(f->pos.avail_idx, 2);
	assert_false(f->pos.avail_wrap);
	assert_true(f->pos.used_wrap);
}

static void expect_refused(struct fixture *f)
{
	assert_int_equal(restart(f), -EPROTO);
}

/* D-VU-INFL-05/-06: header and position fields out of range. */
static void test_hostile_header(void **state)
{
	struct fixture *f = *state;
	struct vinflight_packed_region saved;

	pop(f, 5, 2);
	memcpy(&saved, f->r, sizeof(saved));
	f->r->version = 7;
	expect_refused(f);
	memcpy(f->r, &saved, sizeof(saved));
	f->r->desc_num = NUM + 1;
	expect_refused(f);
	memcpy(f->r, &saved, sizeof(saved));
	f->r->used_idx = NUM;
	expect_refused(f);
	memcpy(f->r, &saved, sizeof(saved));
	f->r->old_used_wrap_counter = 2;
	expect_refused(f);
	memcpy(f->r, &saved, sizeof(saved));
	f->r->free_head = NUM + 1;
	expect_refused(f);
	memcpy(f->r, &saved, sizeof(saved));
	f->r->features = 2;
	expect_refused(f);
	memcpy(f->r, &saved, sizeof(saved));
	assert_int_equal(restart(f), 0);
}

/* Entries: a flag other than 0/1, a chain of 0 or too many slots, a repeated counter. */
static void test_hostile_entries(void **state)
{
	struct fixture *f = *state;

	pop(f, 5, 2);
	pop(f, 6, 1);
	f->r->desc[2].inflight = 3;
	expect_refused(f);
	f->r->desc[2].inflight = 1;
	f->r->desc[0].num = 0;
	expect_refused(f);
	f->r->desc[0].num = NUM;
	expect_refused(f); /* 16 + 1 slots in flight in a ring of 16 */
	f->r->desc[0].num = 2;
	f->r->desc[2].counter = f->r->desc[0].counter;
	expect_refused(f);
}

/* Links and ids read back at resubmission: out of range is -EPROTO, never an access. */
static void test_hostile_chain(void **state)
{
	struct fixture *f = *state;

	pop(f, 5, 3);
	f->r->desc[0].next = 0xfff0;
	assert_int_equal(restart(f), 0);
	assert_int_equal(vireo_vinflight_packed_next_resubmit(&f->inf), -EPROTO);
	f->r->desc[0].next = 1;
	f->r->desc[2].id = NUM;
	assert_int_equal(restart(f), 0);
	assert_int_equal(vireo_vinflight_packed_next_resubmit(&f->inf), -EPROTO);
}

/* The front-end rewrites an entry's last link before a publish: skipped, nothing outside. */
static void test_hostile_publish(void **state)
{
	struct fixture *f = *state;

	pop(f, 5, 2);
	f->r->desc[0].last = 0xffff;
	vireo_vinflight_packed_pushed(&f->inf, 5);
	vireo_vinflight_packed_publishing(&f->inf);
	vireo_vinflight_packed_published(&f->inf);
	assert_int_equal(f->r->desc[0].inflight, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resubmit_after_publish, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_after_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_before_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_mid_pop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_publish, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
