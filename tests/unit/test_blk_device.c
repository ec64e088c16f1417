// SPDX-License-Identifier: MIT
/*
 * Unit tests for devices/blk, the I/O paths: the virtio-blk model driven
 * through the core (vireo_vdev_set_status, queue config, kicks) by the driver-side
 * ring over a shared "guest memory" block, without a transport
 * (tests/lib/blk_harness.c). The image is a temp file under /tmp; every check
 * reads the file back directly too. Requests the device must refuse:
 * test_blk_device_refusals.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vireo/blk_device.h>
#include <vireo/device.h>
#include <vireo/event_loop.h>

#include "tests/lib/blk_harness.h"

static void test_blk_config(void **state)
{
	struct blk_harness h;
	struct vireo_blk_config c;
	uint64_t f;

	(void)state;
	blk_harness_init(&h, NULL, 0);
	f = h.dev->offered_features;
	assert_true(f & VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX));
	/* The core's ring formats; blk completes out of order: never IN_ORDER (D-BF-19). */
	assert_true(f & VIRTIO_BIT(VIRTIO_F_RING_PACKED));
	assert_false(f & VIRTIO_BIT(VIRTIO_F_IN_ORDER));
	assert_true(f & VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE));
	assert_true(f & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
	assert_true(f & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD));
	assert_true(f & VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES));
	assert_false(f & VIRTIO_BIT(VIRTIO_BLK_F_MQ));
	assert_false(f & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	assert_false(f & VIRTIO_BIT(VIRTIO_BLK_F_CONFIG_WCE));
	/* D-BLK-20: a file has no lifetime metrics; D-BF-20: no SR-IOV without PCI. */
	assert_false(f & VIRTIO_BIT(VIRTIO_BLK_F_LIFETIME));
	assert_false(f & VIRTIO_BIT(VIRTIO_F_SR_IOV));
	assert_true(f & VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_int_equal(vireo_vdev_config_read(h.dev, 0, &c, sizeof(c)), 0);
	assert_int_equal(c.capacity, BLK_HARNESS_IMG_SECTORS);
	assert_int_equal(vireo_blk_device_capacity(h.blk), BLK_HARNESS_IMG_SECTORS);
	assert_int_equal(c.seg_max, BLK_HARNESS_QNUM - 2);
	assert_int_equal(c.blk_size, 512);
	assert_int_equal(c.num_queues, 1);
	assert_true(c.max_discard_sectors > 0);
	assert_true(c.max_discard_seg > 0);
	assert_int_equal(c.discard_sector_alignment, 1);
	assert_true(c.max_write_zeroes_sectors > 0);
	assert_true(c.max_write_zeroes_seg > 0);
	assert_int_equal(c.write_zeroes_may_unmap, 1);
	/* D-BLK-03: padding and every unused field reads 0 */
	assert_int_equal(c.unused0, 0);
	assert_int_equal(c.unused1[0] | c.unused1[1] | c.unused1[2], 0);
	assert_int_equal(c.size_max | c.writeback | c.max_secure_erase_sectors, 0);
	blk_harness_destroy(&h);
}

static void fill_pattern2(uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 13 + 0x31);
}

/* OUT over three data descriptors with a split header, then IN back over two. */
static void write_read_back(uint64_t ring)
{
	struct blk_harness h;
	uint8_t data[2048], *img, *in1, *in2;
	struct blk_harness_req r;
	uint32_t len;

	blk_harness_init(&h, NULL, ring);
	fill_pattern2(data, sizeof(data));
	blk_harness_req_init(&r);
	blk_harness_req_hdr(&h, &r, VIRTIO_BLK_T_OUT, 10, true);
	blk_harness_req_out(&h, &r, data, 512);
	blk_harness_req_out(&h, &r, data + 512, 1024);
	blk_harness_req_out(&h, &r, data + 1536, 512);
	blk_harness_req_status(&h, &r);
	assert_int_equal(blk_harness_req_run(&h, 0, &r, &len), VIRTIO_BLK_S_OK);
	assert_int_equal(len, 1);
	img = blk_harness_image_read(&h);
	assert_memory_equal(img + 10 * 512, data, sizeof(data));
	assert_int_equal(img[10 * 512 - 1], blk_harness_pattern(10 * 512 - 1));
	assert_int_equal(img[14 * 512], blk_harness_pattern(14 * 512));
	free(img);

	/* read back: 1536 bytes, then 512 data bytes sharing a descriptor with the status */
	blk_harness_req_init(&r);
	blk_harness_req_hdr(&h, &r, VIRTIO_BLK_T_IN, 10, true);
	in1 = blk_harness_req_in(&h, &r, 1536, false);
	in2 = blk_harness_req_in(&h, &r, 512, true);
	assert_int_equal(blk_harness_req_run(&h, 0, &r, &len), VIRTIO_BLK_S_OK);
	assert_int_equal(len, sizeof(data) + 1);
	assert_memory_equal(in1, data, 1536);
	assert_memory_equal(in2, data + 1536, 512);
	blk_harness_destroy(&h);
}

static void test_blk_write_read(void **state)
{
	(void)state;
	write_read_back(0);
}

static void test_blk_write_read_indirect_event_idx(void **state)
{
	(void)state;
	write_read_back(VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC) |
			VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
}

/*
 * D-SR-01: a request split across descriptors at odd points (the header cut at every
 * byte, data in 1 + 2 + 510 + 1023 bytes) is served the same; D-SR-02: the readable
 * buffers are not written; D-SR-03: the descriptor table is not written (compared
 * before the driver takes the used buffer back).
 */
static void test_blk_framing_and_readonly_buffers(void **state)
{
	static const uint32_t cut[] = {1, 2, 510, 1023};
	uint8_t data[1536], table[BLK_HARNESS_QNUM * sizeof(struct virtq_desc)], *img;
	uint8_t *out[4], *hdr;
	struct vireo_blk_outhdr oh = {.type = VIRTIO_BLK_T_OUT};
	struct blk_harness_req r;
	struct blk_harness h;
	unsigned int split, i, off;
	uint64_t ga;
	uint32_t len;

	(void)state;
	blk_harness_init(&h, NULL, 0);
	for (split = 1; split < sizeof(oh); split++) {
		oh.sector = split * 4;
		for (i = 0; i < sizeof(data); i++)
			data[i] = (uint8_t)(i * 13 + split);
		blk_harness_req_init(&r);
		ga = blk_harness_galloc(&h, sizeof(oh));
		hdr = blk_harness_g2h(&h, ga);
		memcpy(hdr, &oh, sizeof(oh));
		blk_harness_req_sg(&r, ga, split, false);
		blk_harness_req_sg(&r, ga + split, sizeof(oh) - split, false);
		for (i = 0, off = 0; i < 4; off += cut[i], i++) {
			ga = blk_harness_galloc(&h, cut[i]);
			out[i] = blk_harness_g2h(&h, ga);
			memcpy(out[i], data + off, cut[i]);
			blk_harness_req_sg(&r, ga, cut[i], false);
		}
		blk_harness_req_status(&h, &r);
		blk_harness_req_add(&h, 0, &r);
		memcpy(table, h.q[0].vq.split.desc, sizeof(table));
		blk_harness_kick(&h, 0);
		for (i = 0; i < 400 && !virtqueue_more_used(&h.q[0].vq); i++)
			(void)vireo_event_loop_run_once(&h.loop, 50);
		assert_memory_equal(h.q[0].vq.split.desc, table, sizeof(table));
		assert_ptr_equal(blk_harness_wait_used(&h, 0, &len), &r);
		assert_int_equal(*r.status, VIRTIO_BLK_S_OK);
		assert_int_equal(len, 1);
		assert_memory_equal(hdr, &oh, sizeof(oh));
		for (i = 0, off = 0; i < 4; off += cut[i], i++)
			assert_memory_equal(out[i], data + off, cut[i]);
		img = blk_harness_image_read(&h);
		assert_memory_equal(img + oh.sector * 512, data, sizeof(data));
		free(img);
	}
	blk_harness_destroy(&h);
}

/*
 * D-SR-14: available-buffer notifications with nothing new are harmless: a kick storm
 * before and after one request serves it exactly once, and the device stays usable.
 */
static void test_blk_spurious_kicks(void **state)
{
	struct blk_harness_req r;
	struct blk_harness h;
	unsigned int i;
	uint32_t len;

	(void)state;
	blk_harness_init(&h, NULL, 0);
	for (i = 0; i < 32; i++) {
		blk_harness_kick(&h, 0);
		(void)vireo_event_loop_run_once(&h.loop, 0);
	}
	assert_false(virtqueue_more_used(&h.q[0].vq));
	blk_harness_req_init(&r);
	blk_harness_req_hdr(&h, &r, VIRTIO_BLK_T_IN, 0, false);
	blk_harness_req_in(&h, &r, 512, false);
	blk_harness_req_status(&h, &r);
	assert_int_equal(blk_harness_req_run(&h, 0, &r, &len), VIRTIO_BLK_S_OK);
	for (i = 0; i < 32; i++) {
		blk_harness_kick(&h, 0);
		(void)vireo_event_loop_run_once(&h.loop, 0);
	}
	assert_false(virtqueue_more_used(&h.q[0].vq));
	assert_null(virtqueue_get_buf(&h.q[0].vq, &len));
	assert_false(vireo_vdev_get_status(h.dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_int_equal(blk_harness_simple(&h, VIRTIO_BLK_T_IN, 1, NULL, 0, 512, &len),
			 VIRTIO_BLK_S_OK);
	blk_harness_destroy(&h);
}

static void test_blk_flush(void **state)
{
	struct blk_harness h;
	uint8_t data[512];
	uint32_t len;

	(void)state;
	blk_harness_init(&h, NULL, 0);
	memset(data, 0x77, sizeof(data));
	assert_int_equal(blk_harness_simple(&h, VIRTIO_BLK_T_OUT, 3, data, 512, 0, NULL),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(blk_harness_simple(&h, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0, &len),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(len, 1);
	blk_harness_destroy(&h);
}

static void test_blk_get_id(void **state)
{
	struct blk_harness h;
	struct blk_harness_req r;
	uint8_t *id, expect[20] = BLK_HARNESS_SERIAL;
	uint32_t len;

	(void)state;
	blk_harness_init(&h, NULL, 0);
	blk_harness_req_init(&r);
	blk_harness_req_hdr(&h, &r, VIRTIO_BLK_T_GET_ID, 0, false);
	id = blk_harness_req_in(&h, &r, 20, false);
	blk_harness_req_status(&h, &r);
	assert_int_equal(blk_harness_req_run(&h, 0, &r, &len), VIRTIO_BLK_S_OK);
	assert_int_equal(len, 21);
	/* NUL-padded up to 20 bytes */
	assert_memory_equal(id, expect, 20);
	/* a larger buffer gets 20 bytes; len covers only those (D-SR-11) */
	blk_harness_req_init(&r);
	blk_harness_req_hdr(&h, &r, VIRTIO_BLK_T_GET_ID, 0, false);
	id = blk_harness_req_in(&h, &r, 64, false);
	blk_harness_req_status(&h, &r);
	assert_int_equal(blk_harness_req_run(&h, 0, &r, &len), VIRTIO_BLK_S_OK);
	assert_int_equal(len, 20);
	assert_memory_equal(id, expect, 20);
	assert_int_equal(id[20], 0x5a);
	blk_harness_destroy(&h);

	/* exactly 20 characters: no terminator */
	struct blk_device_options o = {.serial = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"};

	blk_harness_init(&h, &o, 0);
	blk_harness_req_init(&r);
	blk_harness_req_hdr(&h, &r, VIRTIO_BLK_T_GET_ID, 0, false);
	id = blk_harness_req_in(&h, &r, 20, true);
	assert_int_equal(blk_harness_req_run(&h, 0, &r, &len), VIRTIO_BLK_S_OK);
	assert_int_equal(len, 21);
	assert_memory_equal(id, "ABCDEFGHIJKLMNOPQRST", 20);
	blk_harness_destroy(&h);
}

static void assert_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			fail_msg("byte %zu is %#x, not 0", i, p[i]);
}

static void test_blk_discard(void **state)
{
	struct vireo_blk_discard_write_zeroes seg = {.sector = 128, .num_sectors = 128};
	struct blk_harness h;
	uint8_t *img;
	off_t hole;

	(void)state;
	blk_harness_init(&h, NULL, 0);
	assert_int_equal(fsync(h.img_fd), 0);
	assert_int_equal(blk_harness_dwz(&h, VIRTIO_BLK_T_DISCARD, &seg, 1), VIRTIO_BLK_S_OK);
	/* the 64 KiB at 64 KiB is a hole now (tmp is ext4 here; tmpfs punches too) */
	hole = lseek(h.img_fd, 65536, SEEK_HOLE);
	assert_int_equal(hole, 65536);
	img = blk_harness_image_read(&h);
	assert_zero(img + 65536, 65536);
	assert_int_equal(img[65535], blk_harness_pattern(65535));
	assert_int_equal(img[131072], blk_harness_pattern(131072));
	free(img);
	blk_harness_destroy(&h);
}

static void write_zeroes_check(bool unmap, const char *dir)
{
	struct vireo_blk_discard_write_zeroes seg[2] = {
		{.sector = 20, .num_sectors = 3, .flags = unmap},
		{.sector = 256, .num_sectors = 256, .flags = unmap},
	};
	struct blk_harness h;
	uint8_t *img, *in;
	struct blk_harness_req r;

	blk_harness_init_in(&h, NULL, 0, dir, 0);
	assert_int_equal(blk_harness_dwz(&h, VIRTIO_BLK_T_WRITE_ZEROES, seg, 2), VIRTIO_BLK_S_OK);
	img = blk_harness_image_read(&h);
	assert_zero(img + 20 * 512, 3 * 512);
	assert_zero(img + 256 * 512, 256 * 512);
	assert_int_equal(img[20 * 512 - 1], blk_harness_pattern(20 * 512 - 1));
	assert_int_equal(img[23 * 512], blk_harness_pattern(23 * 512));
	assert_int_equal(img[512 * 512], blk_harness_pattern(512 * 512));
	free(img);
	/* D-BLK-18: reads through the device return zeroes too */
	blk_harness_req_init(&r);
	blk_harness_req_hdr(&h, &r, VIRTIO_BLK_T_IN, 19, false);
	in = blk_harness_req_in(&h, &r, 5 * 512, true);
	assert_int_equal(blk_harness_req_run(&h, 0, &r, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(in[511], blk_harness_pattern(20 * 512 - 1));
	assert_zero(in + 512, 3 * 512);
	assert_int_equal(in[4 * 512], blk_harness_pattern(23 * 512));
	blk_harness_destroy(&h);
}

static void test_blk_write_zeroes(void **state)
{
	(void)state;
	write_zeroes_check(false, "/tmp");
}

/* tmpfs has no FALLOC_FL_ZERO_RANGE: the model falls back to writing zeroes */
static void test_blk_write_zeroes_fallback(void **state)
{
	(void)state;
	if (access("/dev/shm", W_OK) != 0)
		skip();
	write_zeroes_check(false, "/dev/shm");
	write_zeroes_check(true, "/dev/shm");
}

static void test_blk_write_zeroes_unmap(void **state)
{
	(void)state;
	write_zeroes_check(true, "/tmp");
}

/* FLUSH offered, not negotiated: writes must be stable at completion (RWF_DSYNC, fdatasync) */
static void test_blk_no_flush_negotiated(void **state)
{
	struct vireo_blk_discard_write_zeroes seg = {.sector = 8, .num_sectors = 8};
	struct blk_harness h;
	uint8_t data[1024], *img;

	(void)state;
	blk_harness_init_in(&h, NULL, 0, "/tmp", VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
	assert_false(vdev_has_feature(h.dev, VIRTIO_BLK_F_FLUSH));
	memset(data, 0x3c, sizeof(data));
	assert_int_equal(blk_harness_simple(&h, VIRTIO_BLK_T_OUT, 6, data, 1024, 0, NULL),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(blk_harness_dwz(&h, VIRTIO_BLK_T_WRITE_ZEROES, &seg, 1), VIRTIO_BLK_S_OK);
	img = blk_harness_image_read(&h);
	assert_memory_equal(img + 6 * 512, data, 1024);
	assert_zero(img + 8 * 512, 8 * 512);
	free(img);
	blk_harness_destroy(&h);
}

/* Two queues, each with many requests in flight at once, served independently. */
static void test_blk_two_queues(void **state)
{
	struct blk_device_options o = {.num_queues = 2};
	struct blk_harness_req w[2][16], rd[16];
	uint8_t data[2][16][512], *in[16], *img;
	struct vireo_blk_config c;
	struct blk_harness h;
	uint32_t len;

	(void)state;
	blk_harness_init(&h, &o, 0);
	assert_true(h.dev->offered_features & VIRTIO_BIT(VIRTIO_BLK_F_MQ));
	assert_int_equal(vireo_vdev_config_read(h.dev, 0, &c, sizeof(c)), 0);
	assert_int_equal(c.num_queues, 2);
	for (unsigned int q = 0; q < 2; q++) {
		for (unsigned int i = 0; i < 16; i++) {
			memset(data[q][i], (int)(q * 16 + i + 1), 512);
			blk_harness_req_init(&w[q][i]);
			blk_harness_req_hdr(&h, &w[q][i], VIRTIO_BLK_T_OUT, q * 100 + i, false);
			blk_harness_req_out(&h, &w[q][i], data[q][i], 512);
			blk_harness_req_status(&h, &w[q][i]);
			blk_harness_req_add(&h, q, &w[q][i]);
		}
		blk_harness_kick(&h, q);
	}
	for (unsigned int q = 0; q < 2; q++)
		for (unsigned int i = 0; i < 16; i++)
			assert_int_equal(*blk_harness_wait_used(&h, q, &len)->status,
					 VIRTIO_BLK_S_OK);
	img = blk_harness_image_read(&h);
	for (unsigned int q = 0; q < 2; q++)
		for (unsigned int i = 0; i < 16; i++)
			assert_memory_equal(img + (q * 100 + i) * 512, data[q][i], 512);
	free(img);
	/* read queue 0's data through queue 1 */
	for (unsigned int i = 0; i < 16; i++) {
		blk_harness_req_init(&rd[i]);
		blk_harness_req_hdr(&h, &rd[i], VIRTIO_BLK_T_IN, i, false);
		in[i] = blk_harness_req_in(&h, &rd[i], 512, true);
		blk_harness_req_add(&h, 1, &rd[i]);
	}
	blk_harness_kick(&h, 1);
	for (unsigned int i = 0; i < 16; i++) {
		struct blk_harness_req *r = blk_harness_wait_used(&h, 1, &len);

		assert_int_equal(*r->status, VIRTIO_BLK_S_OK);
		assert_int_equal(len, 513);
	}
	for (unsigned int i = 0; i < 16; i++)
		assert_memory_equal(in[i], data[0][i], 512);
	blk_harness_destroy(&h);
}

/* A reset with requests still in io_uring waits for them (ASan catches the rest). */
static void test_blk_reset_in_flight(void **state)
{
	struct blk_harness h;
	struct blk_harness_req r[8];
	uint8_t data[8][4096];

	(void)state;
	blk_harness_init(&h, NULL, 0);
	for (unsigned int i = 0; i < 8; i++) {
		memset(data[i], (int)i + 1, sizeof(data[i]));
		blk_harness_req_init(&r[i]);
		blk_harness_req_hdr(&h, &r[i], VIRTIO_BLK_T_OUT, i * 8, false);
		blk_harness_req_out(&h, &r[i], data[i], sizeof(data[i]));
		blk_harness_req_status(&h, &r[i]);
		blk_harness_req_add(&h, 0, &r[i]);
	}
	blk_harness_kick(&h, 0);
	/* one dispatch: the kick handler pops all eight and submits them */
	assert_int_equal(vireo_event_loop_run_once(&h.loop, 1000), 1);
	assert_int_equal(vireo_vdev_set_status(h.dev, 0), 0);
	assert_int_equal(vireo_vdev_get_status(h.dev), 0);
	blk_harness_destroy(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blk_config),
		cmocka_unit_test(test_blk_write_read),
		cmocka_unit_test(test_blk_write_read_indirect_event_idx),
		cmocka_unit_test(test_blk_framing_and_readonly_buffers),
		cmocka_unit_test(test_blk_spurious_kicks),
		cmocka_unit_test(test_blk_flush),
		cmocka_unit_test(test_blk_get_id),
		cmocka_unit_test(test_blk_discard),
		cmocka_unit_test(test_blk_write_zeroes),
		cmocka_unit_test(test_blk_write_zeroes_unmap),
		cmocka_unit_test(test_blk_write_zeroes_fallback),
		cmocka_unit_test(test_blk_no_flush_negotiated),
		cmocka_unit_test(test_blk_two_queues),
		cmocka_unit_test(test_blk_reset_in_flight),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
