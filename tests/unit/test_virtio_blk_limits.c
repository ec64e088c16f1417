// SPDX-License-Identifier: MIT
/*
 * Unit tests for the virtio-blk driver (drivers/blk*.c) against a hostile or
 * oddly configured device (tests/lib/blk_fake.c): foreign used ids, used len
 * short of the data or status (R-SR-09), config values at and beyond their
 * limits (size_max, seg_max, num_queues, blk_size). Request formatting and the ordinary
 * I/O paths: test_virtio_blk.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/virtio_blk.h>

#include "tests/lib/blk_fake.h"

/* STYLE checklist item 6: a used id that is not ours breaks the queue: -EIO, not a crash. */
static void test_hostile_used_id(void **state)
{
	struct blk_fake_fixture *f = *state;
	struct virtio_blk_request reqs[1], *ptrs[1], *done[1];
	struct virtq_used *used;
	uint8_t buf[512];

	f->fd.defer = true;
	blk_fake_start(f, 0);
	blk_fake_alloc_requests(f, reqs, ptrs, 1, VIRTIO_BLK_T_IN);
	assert_int_equal(virtio_blk_submit(f->blk, 0, ptrs[0]), 0);
	used = (struct virtq_used *)((char *)f->fd.dma.base +
				     (f->fd.vqs[0]->mem.used_addr - FAKE_DMA_BASE));
	used->ring[0].id = 999;
	used->ring[0].len = 0;
	used->idx = 1;
	assert_int_equal(virtio_blk_poll(f->blk, 0, done, 1, 0), -EIO);
	assert_int_equal(virtio_blk_poll(f->blk, 0, done, 1, -1), -EIO);
	assert_int_equal(virtio_blk_read(f->blk, 0, buf, sizeof(buf)), -EIO);
	blk_fake_free_requests(f, reqs, 1);
	f->fd.defer = false;
}

/*
 * R-SR-09 (drv:BF/Virtqueues/The Virtqueue Used Ring): nothing beyond the used
 * len may be relied on. A device claiming S_OK for a read while its used len
 * stops short of data + status must not hand the caller stale bounce bytes.
 */
static void test_short_read_is_eio(void **state)
{
	struct blk_fake_fixture *f = *state;
	uint8_t buf[4096], want[4096];
	char id[VIRTIO_BLK_ID_BYTES + 1];
	const int64_t lies[] = {0, 1, 100, sizeof(buf)};
	unsigned int i;

	blk_fake_start(f, 0);
	blk_fake_fill_pattern(f->dev.disk, 8 * 512, 0x11);
	blk_fake_fill_pattern(f->dev.disk + 8 * 512, 8 * 512, 0x77);
	/* The bounce buffer now holds sectors 0..7. */
	assert_int_equal(virtio_blk_read(f->blk, 0, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, f->dev.disk, sizeof(buf));
	/* Status OK written, data left stale, used len short of 4096 + 1. */
	f->dev.skip_data = true;
	for (i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
		f->dev.force_used_len = lies[i];
		memset(buf, 0x5a, sizeof(buf));
		assert_int_equal(virtio_blk_read(f->blk, 8, buf, sizeof(buf)), -EIO);
		memset(want, 0x5a, sizeof(want));
		assert_memory_equal(buf, want, sizeof(buf)); /* nothing copied */
	}
	/* All data written but the used len does not cover the status byte. */
	f->dev.skip_data = false;
	f->dev.force_used_len = sizeof(buf);
	assert_int_equal(virtio_blk_read(f->blk, 8, buf, sizeof(buf)), -EIO);
	/* GET_ID: 20 bytes + status, or the answer is not trusted either. */
	f->dev.force_used_len = VIRTIO_BLK_ID_BYTES;
	assert_int_equal(virtio_blk_get_id(f->blk, id), -EIO);
	assert_string_equal(id, "");
	/* Honest again: the real bytes arrive. */
	f->dev.force_used_len = BLK_FAKE_NO_FORCE;
	assert_int_equal(virtio_blk_read(f->blk, 8, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, f->dev.disk + 8 * 512, sizeof(buf));
	assert_int_equal(f->dev.requests, 8);
}

/* OUT / FLUSH: the status byte is the whole writable part; used len 0 does not cover it. */
static void test_status_not_covered_is_eio(void **state)
{
	struct blk_fake_fixture *f = *state;
	uint8_t buf[512] = {0};

	blk_fake_start(f, VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
	f->dev.force_used_len = 0;
	assert_int_equal(virtio_blk_write(f->blk, 0, buf, sizeof(buf)), -EIO);
	assert_int_equal(virtio_blk_flush(f->blk), -EIO);
	f->dev.force_used_len = 1;
	assert_int_equal(virtio_blk_write(f->blk, 0, buf, sizeof(buf)), 0);
	assert_int_equal(virtio_blk_flush(f->blk), 0);
}

/* Async: the request reports the used len; a short one is not a success. */
static void test_async_short_read(void **state)
{
	struct blk_fake_fixture *f = *state;
	struct virtio_blk_request reqs[2], *ptrs[2], *done[2];

	f->fd.defer = true;
	blk_fake_start(f, 0);
	blk_fake_alloc_requests(f, reqs, ptrs, 2, VIRTIO_BLK_T_IN);
	f->dev.force_used_len = 100;
	assert_int_equal(virtio_blk_submit(f->blk, 0, ptrs[0]), 0);
	assert_int_equal(virtio_blk_poll(f->blk, 0, done, 2, -1), 1);
	assert_ptr_equal(done[0], &reqs[0]);
	assert_int_equal(reqs[0].written, 100);
	assert_int_equal(reqs[0].result, -EIO);
	assert_int_not_equal(reqs[0].status, VIRTIO_BLK_S_OK);
	/* The full length: success, and the length is reported. */
	f->dev.force_used_len = BLK_FAKE_NO_FORCE;
	assert_int_equal(virtio_blk_submit(f->blk, 0, ptrs[1]), 0);
	assert_int_equal(virtio_blk_poll(f->blk, 0, done, 2, -1), 1);
	assert_int_equal(reqs[1].written, 4096 + 1);
	assert_int_equal(reqs[1].result, 0);
	assert_int_equal(reqs[1].status, VIRTIO_BLK_S_OK);
	blk_fake_free_requests(f, reqs, 2);
}

/* size_max below one sector (0 included) cannot carry any request: refused in probe. */
static void test_size_max_below_sector(void **state)
{
	struct blk_fake_fixture *f = *state;
	const uint32_t bad[] = {0, 1, 511};
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		blk_fake_set_config(&f->fd, BLK_FAKE_CFG(size_max), &bad[i], 4);
		blk_fake_start_refused(f, VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX), -EINVAL);
		vireo_unregister_virtio_device(&f->fd.vdev);
		virtio_blk_unregister(&f->bus, &f->bd);
	}
	/* 512 is the smallest usable value: one sector per segment. */
	blk_fake_set_config(&f->fd, BLK_FAKE_CFG(size_max), &(uint32_t){512}, 4);
	blk_fake_start(f, VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX));
	assert_int_equal(virtio_blk_size_max(f->blk), 512);
	blk_fake_fill_pattern(f->dev.disk, 2048, 5);
	{
		uint8_t buf[2048];

		assert_int_equal(virtio_blk_read(f->blk, 0, buf, sizeof(buf)), 0);
		assert_memory_equal(buf, f->dev.disk, sizeof(buf));
		assert_int_equal(f->dev.last_writable, 4 + 1);
	}
}

/*
 * blk_size is only advice (§5.2.5), but callers align to it: a value no disk has is
 * replaced by 512; a sane one (512..64 KiB, a power of two) is passed on.
 */
static void test_blk_size_bogus(void **state)
{
	struct blk_fake_fixture *f = *state;
	const uint32_t bad[] = {0, 1, 511, 513, 3000, 131072, UINT32_MAX};
	const uint32_t good[] = {512, 4096, 65536};
	const unsigned int n_bad = sizeof(bad) / sizeof(bad[0]);
	const unsigned int n = n_bad + sizeof(good) / sizeof(good[0]);

	for (unsigned int i = 0; i < n; i++) {
		uint32_t v = i < n_bad ? bad[i] : good[i - n_bad];

		blk_fake_set_config(&f->fd, BLK_FAKE_CFG(blk_size), &v, 4);
		blk_fake_start(f, VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE));
		assert_int_equal(virtio_blk_blk_size(f->blk), i < n_bad ? 512 : v);
		if (i + 1 < n) /* the last one stays for the teardown */
			blk_fake_stop(f);
	}
}

/*
 * R-BLK-06: a DISCARD or WRITE_ZEROES never carries more segments than the device's
 * max_discard_seg / max_write_zeroes_seg: three segments against a limit of two are
 * refused before the device sees them; two go through.
 */
static void test_segment_count_limits(void **state)
{
	struct blk_fake_fixture *f = *state;
	static const uint32_t types[] = {VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES};
	const uint32_t two = 2, sectors = 64;
	struct vireo_blk_discard_write_zeroes *seg;
	struct virtio_blk_request req, *done[1];
	unsigned int t, i, before;

	blk_fake_set_config(&f->fd, BLK_FAKE_CFG(max_discard_seg), &two, 4);
	blk_fake_set_config(&f->fd, BLK_FAKE_CFG(max_discard_sectors), &sectors, 4);
	blk_fake_set_config(&f->fd, BLK_FAKE_CFG(max_write_zeroes_seg), &two, 4);
	blk_fake_set_config(&f->fd, BLK_FAKE_CFG(max_write_zeroes_sectors), &sectors, 4);
	blk_fake_start(f, VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES));
	seg = virtio_blk_alloc_buffer(f->blk, 3 * sizeof(*seg));
	assert_non_null(seg);
	for (i = 0; i < 3; i++)
		seg[i] = (struct vireo_blk_discard_write_zeroes){.sector = cpu_to_le64(i * 16),
								 .num_sectors = cpu_to_le32(8)};
	for (t = 0; t < 2; t++) {
		before = f->dev.requests;
		req = (struct virtio_blk_request){
			.type = types[t], .data = seg, .len = 3 * sizeof(*seg)};
		assert_int_equal(virtio_blk_submit(f->blk, 0, &req), -EINVAL);
		assert_int_equal(f->dev.requests, before);
		req.len = 2 * sizeof(*seg);
		assert_int_equal(virtio_blk_submit(f->blk, 0, &req), 0);
		assert_int_equal(virtio_blk_poll(f->blk, 0, done, 1, -1), 1);
		assert_int_equal(req.result, 0);
		assert_int_equal(f->dev.requests, before + 1);
	}
	virtio_blk_free_buffer(f->blk, seg);
}

/* seg_max 0 is taken as 1: one data segment per request, I/O still works. */
static void test_seg_max_zero(void **state)
{
	struct blk_fake_fixture *f = *state;
	uint32_t zero = 0, size_max = 4096;
	uint8_t out[16384], in[16384];

	blk_fake_set_config(&f->fd, BLK_FAKE_CFG(seg_max), &zero, 4);
	blk_fake_set_config(&f->fd, BLK_FAKE_CFG(size_max), &size_max, 4);
	blk_fake_start(f, VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX));
	assert_int_equal(virtio_blk_seg_max(f->blk), 1);
	blk_fake_fill_pattern(out, sizeof(out), 21);
	assert_int_equal(virtio_blk_write(f->blk, 0, out, sizeof(out)), 0);
	assert_int_equal(f->dev.requests, 4);
	assert_int_equal(f->dev.last_readable, 2); /* header, one data segment */
	assert_int_equal(virtio_blk_read(f->blk, 0, in, sizeof(in)), 0);
	assert_int_equal(f->dev.requests, 8);
	assert_int_equal(f->dev.last_writable, 2);
	assert_memory_equal(in, out, sizeof(in));
}

/* A huge seg_max is capped by the ring and by our stack sg array (BLK_DATA_SEGS_MAX). */
static void test_seg_max_huge(void **state)
{
	struct blk_fake_fixture *f = *state;
	uint32_t huge = UINT32_MAX, size_max = 512;
	size_t len = 2 * 128 * 512;
	uint8_t *out = malloc(len), *in = malloc(len);

	assert_non_null(out);
	assert_non_null(in);
	blk_fake_fill_pattern(out, len, 33);
	blk_fake_set_config(&f->fd, BLK_FAKE_CFG(seg_max), &huge, 4);
	blk_fake_set_config(&f->fd, BLK_FAKE_CFG(size_max), &size_max, 4);
	/* Without indirect: header + 62 data + status fill the 64-entry ring, no more. */
	blk_fake_start(f, VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX));
	assert_int_equal(virtio_blk_seg_max(f->blk), 64 - 2);
	assert_int_equal(virtio_blk_write(f->blk, 0, out, 62 * 512), 0);
	assert_int_equal(f->dev.requests, 1);
	assert_int_equal(f->dev.last_readable, 1 + 62);
	vireo_unregister_virtio_device(&f->fd.vdev);
	virtio_blk_unregister(&f->bus, &f->bd);
	/* A 256-entry ring: our own cap of 128 segments (the stack sg array), 64 KiB a chunk. */
	f->dev.requests = 0;
	f->fd.queue_size = 256;
	blk_fake_start(f, 0);
	assert_int_equal(virtio_blk_seg_max(f->blk), 128);
	assert_int_equal(virtio_blk_write(f->blk, 0, out, len), 0);
	assert_int_equal(f->dev.last_readable, 1 + 128);
	assert_int_equal(virtio_blk_read(f->blk, 0, in, len), 0);
	assert_int_equal(f->dev.requests, 4);
	assert_int_equal(f->dev.last_writable, 128 + 1);
	assert_memory_equal(in, out, len);
	assert_memory_equal(f->dev.disk, out, len);
	free(out);
	free(in);
}

/* The number of queues find_vqs was last asked for. */
static unsigned int last_find_vqs(const struct fake_dev *fd)
{
	unsigned int i;

	for (i = fd->nevents; i > 0; i--)
		if (fd->events[i - 1].kind == FAKE_EV_FIND_VQS)
			return (unsigned int)fd->events[i - 1].val;
	return 0;
}

/* VIRTIO_BLK_F_MQ: num_queues 0 means one queue; a huge one is capped at 64 (BLK_MAX_QUEUES). */
static void test_num_queues_bounds(void **state)
{
	struct blk_fake_fixture *f = *state;
	uint16_t nq = 0;
	uint8_t buf[512];

	blk_fake_set_config(&f->fd, BLK_FAKE_CFG(num_queues), &nq, sizeof(nq));
	blk_fake_start(f, VIRTIO_BIT(VIRTIO_BLK_F_MQ));
	assert_int_equal(virtio_blk_num_queues(f->blk), 1);
	assert_int_equal(last_find_vqs(&f->fd), 1);
	assert_int_equal(virtio_blk_read(f->blk, 0, buf, sizeof(buf)), 0);
	vireo_unregister_virtio_device(&f->fd.vdev);
	virtio_blk_unregister(&f->bus, &f->bd);
	/* 65535 queues offered: 64 asked for (more than this fake has: the probe fails). */
	nq = UINT16_MAX;
	blk_fake_set_config(&f->fd, BLK_FAKE_CFG(num_queues), &nq, sizeof(nq));
	f->fd.nevents = 0;
	blk_fake_start_refused(f, 0, -EINVAL);
	assert_int_equal(last_find_vqs(&f->fd), 64);
	vireo_unregister_virtio_device(&f->fd.vdev);
	virtio_blk_unregister(&f->bus, &f->bd);
	/* Within the fake's 8: as many as offered. */
	nq = 5;
	blk_fake_set_config(&f->fd, BLK_FAKE_CFG(num_queues), &nq, sizeof(nq));
	blk_fake_start(f, 0);
	assert_int_equal(virtio_blk_num_queues(f->blk), 5);
	assert_int_equal(f->fd.nvqs, 5);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, blk_fake_setup, blk_fake_teardown)
	const struct CMUnitTest tests[] = {
		T(test_hostile_used_id),
		T(test_short_read_is_eio),
		T(test_status_not_covered_is_eio),
		T(test_async_short_read),
		T(test_size_max_below_sector),
		T(test_blk_size_bogus),
		T(test_segment_count_limits),
		T(test_seg_max_zero),
		T(test_seg_max_huge),
		T(test_num_queues_bounds),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
