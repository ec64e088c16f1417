// SPDX-License-Identifier: MIT
/*
 * The vhost-user back-end's IOTLB table (transport/vhost_user_iotlb.c) against
 * a reference model: random updates and invalidations over a small IOVA space,
 * then every address looked up. A lookup may miss what the model maps only
 * after an eviction; it never returns a translation the model does not have
 * (no stale or wrong mapping survives an invalidation or a remap:
 * D-VU-IOTLB-03), never grants an access the entry lacks (D-VU-IOTLB-06), and
 * its contiguous length covers only mapped, continuing, permitted bytes. The
 * table stays sorted and non-overlapping, and within its bound. Edges: ranges
 * at the top of the 64-bit space, sizes that wrap.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "tests/lib/xorshift.h"
#include "transport/vhost_user_internal.h"

#define SPACE 512u /* IOVAs 0..SPACE-1 (bytes) */

struct ref {
	bool valid;
	uint64_t uaddr;
	uint8_t perm;
};

static void ref_update(struct ref *m, uint64_t iova, uint64_t size, uint64_t uaddr, uint8_t perm)
{
	for (uint64_t i = 0; i < size; i++)
		m[iova + i] = (struct ref){true, uaddr + i, perm};
}

static void ref_invalidate(struct ref *m, uint64_t iova, uint64_t size)
{
	for (uint64_t i = 0; i < size && iova + i < SPACE; i++)
		m[iova + i].valid = false;
}

static void check_sorted(const struct vub_iotlb *t)
{
	assert_true(t->num <= VUB_IOTLB_MAX_ENTRIES);
	for (unsigned int i = 0; i < t->num; i++) {
		assert_true(t->entries[i].iova <= t->entries[i].last);
		if (i)
			assert_true(t->entries[i - 1].last < t->entries[i].iova);
	}
}

/* Every address, every access, lengths 1 and up to the end of the space. */
static void check_against(const struct vub_iotlb *t, const struct ref *m, bool evicted)
{
	static const uint8_t needs[] = {0, VHOST_ACCESS_RO, VHOST_ACCESS_WO, VHOST_ACCESS_RW};

	for (uint64_t a = 0; a < SPACE; a++) {
		for (unsigned int k = 0; k < 4; k++) {
			uint8_t need = needs[k];
			uint64_t ua = 0, contig = 0, len = SPACE - a;
			int ret = vub_iotlb_lookup(t, a, len, need, &ua, &contig);

			if (ret == -EAGAIN) {
				assert_true(!m[a].valid || evicted);
				continue;
			}
			assert_true(m[a].valid);
			if (ret == -EACCES) {
				assert_true(need ? (m[a].perm & need) != need : m[a].perm == 0);
				continue;
			}
			assert_int_equal(ret, 0);
			assert_int_equal(ua, m[a].uaddr);
			assert_true(contig >= 1 && contig <= len);
			uint64_t run = 0;

			/* The model's run of mapped, continuing, permitted bytes from @a. */
			while (run < len && m[a + run].valid && m[a + run].uaddr == ua + run &&
			       (need ? (m[a + run].perm & need) == need : m[a + run].perm != 0))
				run++;
			/* Never more; without evictions, all of it (neighbours are joined). */
			assert_true(contig <= run);
			if (!evicted)
				assert_int_equal(contig, run);
		}
	}
}

static void test_random_against_model(void **state)
{
	static struct ref model[SPACE];
	struct vub_iotlb t = {.evict_state = 1};
	struct xorshift rng = {0x1234567};

	(void)state;
	for (unsigned int round = 0; round < 300; round++) {
		uint64_t iova = xorshift_next(&rng) % SPACE;
		uint64_t size = 1 + xorshift_next(&rng) % 48;

		if (iova + size > SPACE)
			size = SPACE - iova;
		if (xorshift_next(&rng) % 3) {
			/* Often continuing (or overlapping by one) its left neighbour's user address. */
			unsigned int how = (unsigned int)(xorshift_next(&rng) % 4);
			uint64_t ua = 0x10000 + xorshift_next(&rng) % 0x10000;

			if (how < 2 && iova && model[iova - 1].valid)
				ua = model[iova - 1].uaddr + 1 - how;
			uint8_t perm = (uint8_t)(1 + xorshift_next(&rng) % 3);

			assert_true(vub_iotlb_update(&t, iova, size, ua, perm) >= 0);
			ref_update(model, iova, size, ua, perm);
		} else {
			assert_true(vub_iotlb_invalidate(&t, iova, size) >= 0);
			ref_invalidate(model, iova, size);
		}
		check_sorted(&t);
		if (round % 10 == 9)
			check_against(&t, model, t.evictions != 0);
	}
	assert_int_equal(t.evictions, 0);
	vub_iotlb_destroy(&t);
}

/* Bad arguments change nothing. */
static void test_refused_arguments(void **state)
{
	struct vub_iotlb t = {.evict_state = 1};
	uint64_t ua, contig;

	(void)state;
	assert_int_equal(vub_iotlb_update(&t, 0x1000, 0x1000, 0x5000, VHOST_ACCESS_RW), 0);
	assert_int_equal(vub_iotlb_update(&t, 0x1000, 0, 0x5000, VHOST_ACCESS_RW), -EINVAL);
	assert_int_equal(vub_iotlb_update(&t, UINT64_MAX, 2, 0x5000, VHOST_ACCESS_RW), -EINVAL);
	assert_int_equal(vub_iotlb_update(&t, 0x1000, 2, UINT64_MAX, VHOST_ACCESS_RW), -EINVAL);
	assert_int_equal(vub_iotlb_update(&t, 0x1000, 0x10, 0x5000, 0), -EINVAL);
	assert_int_equal(vub_iotlb_update(&t, 0x1000, 0x10, 0x5000, 4), -EINVAL);
	assert_int_equal(vub_iotlb_invalidate(&t, 0x1000, 0), -EINVAL);
	assert_int_equal(vub_iotlb_invalidate(&t, UINT64_MAX, 2), -EINVAL);
	assert_int_equal(vub_iotlb_invalidate(&t, 0x9000, 0x1000), 0); /* nothing there */
	assert_int_equal(t.num, 1);
	assert_int_equal(vub_iotlb_lookup(&t, 0x1800, 0x800, VHOST_ACCESS_WO, &ua, &contig), 0);
	assert_int_equal(ua, 0x5800);
	assert_int_equal(contig, 0x800);
	assert_int_equal(vub_iotlb_lookup(&t, 0x1800, 0, 0, &ua, &contig), -EAGAIN);
	vub_iotlb_destroy(&t);
}

/* The last byte of the 64-bit space can be mapped, looked up, split and invalidated. */
static void test_top_of_space(void **state)
{
	struct vub_iotlb t = {.evict_state = 1};
	uint64_t ua, contig;

	(void)state;
	assert_int_equal(vub_iotlb_update(&t, UINT64_MAX - 0xfff, 0x1000, 0x7000, VHOST_ACCESS_RO),
			 0);
	assert_int_equal(vub_iotlb_lookup(&t, UINT64_MAX, 1, VHOST_ACCESS_RO, &ua, &contig), 0);
	assert_int_equal(ua, 0x7fff);
	assert_int_equal(contig, 1);
	/* Asking past the end gets what is there, never a wrapped length. */
	assert_int_equal(vub_iotlb_lookup(&t, UINT64_MAX - 1, 16, 0, &ua, &contig), 0);
	assert_int_equal(contig, 2);
	assert_int_equal(vub_iotlb_lookup(&t, UINT64_MAX, 1, VHOST_ACCESS_WO, &ua, &contig),
			 -EACCES);
	/* Invalidate its middle: both ends stay, trimmed. */
	assert_int_equal(vub_iotlb_invalidate(&t, UINT64_MAX - 0x7ff, 0x10), 1);
	assert_int_equal(t.num, 2);
	assert_int_equal(vub_iotlb_lookup(&t, UINT64_MAX - 0x7ff, 1, 0, &ua, &contig), -EAGAIN);
	assert_int_equal(vub_iotlb_lookup(&t, UINT64_MAX - 0x7ef, 1, 0, &ua, &contig), 0);
	assert_int_equal(ua, 0x7000 + 0x810);
	assert_int_equal(vub_iotlb_invalidate(&t, UINT64_MAX, 1), 1);
	assert_int_equal(vub_iotlb_lookup(&t, UINT64_MAX, 1, 0, &ua, &contig), -EAGAIN);
	vub_iotlb_destroy(&t);
}

/* A flood stays within the bound: evictions, and every survivor is still right. */
static void test_flood_bounded(void **state)
{
	struct vub_iotlb t = {.evict_state = 1};
	uint64_t ua, contig;
	unsigned int kept = 0;

	(void)state;
	for (uint64_t i = 0; i < 3 * VUB_IOTLB_MAX_ENTRIES; i++)
		assert_int_equal(
			vub_iotlb_update(&t, i * 0x1000, 0x1000, i * 0x10000, VHOST_ACCESS_RW), 0);
	check_sorted(&t);
	assert_int_equal(t.num, VUB_IOTLB_MAX_ENTRIES);
	assert_int_equal(t.evictions, 2 * VUB_IOTLB_MAX_ENTRIES);
	for (uint64_t i = 0; i < 3 * VUB_IOTLB_MAX_ENTRIES; i++) {
		if (vub_iotlb_lookup(&t, i * 0x1000 + 5, 1, 0, &ua, &contig) < 0)
			continue;
		assert_int_equal(ua, i * 0x10000 + 5);
		kept++;
	}
	assert_int_equal(kept, VUB_IOTLB_MAX_ENTRIES);
	vub_iotlb_destroy(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_against_model),
		cmocka_unit_test(test_refused_arguments),
		cmocka_unit_test(test_top_of_space),
		cmocka_unit_test(test_flood_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
