// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for vhost-user inflight regions (core/inflight.c,
 * core/inflight_packed.c): the input is a region a hostile front-end handed
 * back with SET_INFLIGHT_FD. Recovery either refuses it (-EPROTO) or yields
 * a resubmission list and positions the ring can use: split heads below the
 * ring size and distinct, at most a ring of them, the avail index at most a
 * ring ahead of used; packed chains of 1..num descriptors with an id below
 * num, positions inside the ring. Then a few fetches and completions run on
 * the region, which must never be touched outside its bytes (ASan).
 *
 * Input layout:
 *   0      bit0: packed; bits 1-3: log2(ring size) (1..128); bit 4: the ring's
 *          used slot reads as published (packed commit) instead of available
 *   1..2   used index the ring reports (split: used->idx; packed: position)
 *   3..    the region's bytes (zero-padded to the region's size)
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/inflight.h>

#include "tests/fuzz/fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint16_t fuzz_slot_flags(const void *ring, uint16_t idx)
{
	(void)idx;
	return *(const uint16_t *)ring;
}

static void fuzz_split(struct vinflight *inf, uint16_t num, uint16_t used)
{
	uint16_t last = used, head, n = 0; /* QEMU's base after a crash: used->idx */
	uint8_t seen[128] = {0};

	if (vireo_vinflight_split_recover(inf, num, used, &last) < 0)
		return;
	while (vireo_vinflight_next_resubmit(inf, &head)) {
		FUZZ_CHECK(head < num && !seen[head]);
		seen[head] = 1;
		n++;
	}
	FUZZ_CHECK(n <= num);
	FUZZ_CHECK((uint16_t)(last - used) <= num);
	/* Go on: fetch, complete, publish on whatever the region holds. */
	vireo_vinflight_split_popped(inf, (uint16_t)(num - 1));
	vireo_vinflight_split_pushed(inf, (uint16_t)(num - 1));
	vireo_vinflight_split_published(inf, (uint16_t)(used + 1));
}

static void fuzz_packed(struct vinflight *inf, uint16_t num, uint16_t used, bool committed)
{
	uint16_t flags = committed ? (VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED) : VIRTQ_DESC_F_AVAIL;
	struct vring_dev_position pos = {.used_idx = (uint16_t)(used % num), .used_wrap = true};
	struct pvirtq_desc d = {.id = 0, .len = 1};
	int n;

	if (vireo_vinflight_packed_recover(inf, num, fuzz_slot_flags, &flags, &pos) < 0)
		return;
	FUZZ_CHECK(pos.used_idx < num && pos.avail_idx < num);
	while ((n = vireo_vinflight_packed_next_resubmit(inf)) > 0) {
		FUZZ_CHECK(n <= num);
		FUZZ_CHECK(inf->descs[n - 1].id < num);
	}
	FUZZ_CHECK(n == 0 || n == -EPROTO);
	vireo_vinflight_packed_popped(inf, 0, &d, 1);
	vireo_vinflight_packed_pushed(inf, 0);
	vireo_vinflight_packed_publishing(inf);
	vireo_vinflight_packed_published(inf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vinflight inf;
	uint16_t num, used;
	bool packed;
	size_t bytes;
	void *region;

	if (size < 3)
		return 0;
	packed = data[0] & 1u;
	num = (uint16_t)(1u << (((data[0] >> 1) & 7u) % 8u));
	used = (uint16_t)(data[1] | data[2] << 8);
	bytes = vireo_vinflight_queue_size(packed, num);
	region = aligned_alloc(64, bytes);
	if (!region)
		return 0;
	memset(region, 0, bytes);
	memcpy(region, data + 3, size - 3 < bytes ? size - 3 : bytes);
	FUZZ_CHECK(vireo_vinflight_init(&inf, region, bytes, packed) == 0);
	if (packed)
		fuzz_packed(&inf, num, used, data[0] & 0x10u);
	else
		fuzz_split(&inf, num, used);
	vireo_vinflight_destroy(&inf);
	free(region);
	return 0;
}
