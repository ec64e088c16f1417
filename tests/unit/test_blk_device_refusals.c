// SPDX-License-Identifier: MIT
/*
 * Unit tests for devices/blk, the refusals: requests the virtio-blk model
 * must answer with IOERR / UNSUPP (or used len 0) without touching the image
 * -- read-only, beyond capacity, unsupported types and flags, malformed
 * chains, a shrunk image -- driven through the core by the driver-side ring
 * (tests/lib/blk_harness.c). The I/O paths: test_blk_device.c.
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
#include <vireo/spec.h>

#include "tests/lib/blk_harness.h"

/* The image shrank under the device: the read comes up short, which is IOERR */
static void test_blk_short_transfer(void **state)
{
	struct blk_harness h;
	uint32_t len;

	(void)state;
	blk_harness_init(&h, NULL, 0);
	assert_int_equal(ftruncate(h.img_fd, BLK_HARNESS_IMG_SIZE / 2), 0);
	assert_int_equal(blk_harness_simple(&h, VIRTIO_BLK_T_IN, BLK_HARNESS_IMG_SECTORS - 1, NULL,
					    0, 512, &len),
			 VIRTIO_BLK_S_IOERR);
	/* D-SR-11: no data written, and the status is not at the buffer's start: len 0 */
	assert_int_equal(len, 0);
	assert_int_equal(blk_harness_simple(&h, VIRTIO_BLK_T_IN, 0, NULL, 0, 512, &len),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(len, 513);
	blk_harness_destroy(&h);
}

static void test_blk_readonly(void **state)
{
	struct blk_device_options o = {.readonly = true};
	struct vireo_blk_discard_write_zeroes seg = {.sector = 0, .num_sectors = 8};
	struct blk_harness h;
	uint8_t data[512], *before, *after;
	uint32_t len;
	uint64_t f;

	(void)state;
	blk_harness_init(&h, &o, 0);
	f = h.dev->offered_features;
	assert_true(f & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	assert_false(f & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD));
	assert_false(f & VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES));
	before = blk_harness_image_read(&h);
	memset(data, 0xab, sizeof(data));
	/* D-BLK-14 / D-BLK-15: IOERR and no data written */
	assert_int_equal(blk_harness_simple(&h, VIRTIO_BLK_T_OUT, 0, data, 512, 0, &len),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(len, 1);
	assert_int_equal(blk_harness_dwz(&h, VIRTIO_BLK_T_DISCARD, &seg, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(blk_harness_dwz(&h, VIRTIO_BLK_T_WRITE_ZEROES, &seg, 1),
			 VIRTIO_BLK_S_IOERR);
	seg.flags = VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	assert_int_equal(blk_harness_dwz(&h, VIRTIO_BLK_T_WRITE_ZEROES, &seg, 1),
			 VIRTIO_BLK_S_IOERR);
	after = blk_harness_image_read(&h);
	assert_memory_equal(before, after, BLK_HARNESS_IMG_SIZE);
	/* reads and flushes still work */
	assert_int_equal(blk_harness_simple(&h, VIRTIO_BLK_T_IN, 0, NULL, 0, 512, &len),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(len, 513);
	assert_int_equal(blk_harness_simple(&h, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0, NULL),
			 VIRTIO_BLK_S_OK);
	free(before);
	free(after);
	blk_harness_destroy(&h);
}

static void test_blk_beyond_capacity(void **state)
{
	struct vireo_blk_discard_write_zeroes seg = {.sector = BLK_HARNESS_IMG_SECTORS - 1,
						     .num_sectors = 2};
	struct blk_harness h;
	uint8_t data[1024], *before, *after, *in;
	struct blk_harness_req r;

	(void)state;
	blk_harness_init(&h, NULL, 0);
	before = blk_harness_image_read(&h);
	memset(data, 0xcd, sizeof(data));
	assert_int_equal(blk_harness_simple(&h, VIRTIO_BLK_T_OUT, BLK_HARNESS_IMG_SECTORS - 1, data,
					    1024, 0, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(blk_harness_simple(&h, VIRTIO_BLK_T_OUT, BLK_HARNESS_IMG_SECTORS, data,
					    512, 0, NULL),
			 VIRTIO_BLK_S_IOERR);
	/* sector + length wraps around 2^64 */
	assert_int_equal(blk_harness_simple(&h, VIRTIO_BLK_T_OUT, UINT64_MAX, data, 512, 0, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(
		blk_harness_simple(&h, VIRTIO_BLK_T_OUT, UINT64_MAX >> 9, data, 1024, 0, NULL),
		VIRTIO_BLK_S_IOERR);
	assert_int_equal(blk_harness_dwz(&h, VIRTIO_BLK_T_DISCARD, &seg, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(blk_harness_dwz(&h, VIRTIO_BLK_T_WRITE_ZEROES, &seg, 1),
			 VIRTIO_BLK_S_IOERR);
	seg.sector = UINT64_MAX - 1;
	assert_int_equal(blk_harness_dwz(&h, VIRTIO_BLK_T_WRITE_ZEROES, &seg, 1),
			 VIRTIO_BLK_S_IOERR);
	/* a write of a length that is not a multiple of 512 */
	assert_int_equal(blk_harness_simple(&h, VIRTIO_BLK_T_OUT, 0, data, 100, 0, NULL),
			 VIRTIO_BLK_S_IOERR);
	after = blk_harness_image_read(&h);
	assert_memory_equal(before, after, BLK_HARNESS_IMG_SIZE);
	/* a read past the end leaves the guest's buffer alone */
	blk_harness_req_init(&r);
	blk_harness_req_hdr(&h, &r, VIRTIO_BLK_T_IN, BLK_HARNESS_IMG_SECTORS - 1, false);
	in = blk_harness_req_in(&h, &r, 1024, false);
	blk_harness_req_status(&h, &r);
	assert_int_equal(blk_harness_req_run(&h, 0, &r, NULL), VIRTIO_BLK_S_IOERR);
	for (int i = 0; i < 1024; i++)
		assert_int_equal(in[i], 0x5a);
	/* the last sector itself is fine */
	assert_int_equal(blk_harness_simple(&h, VIRTIO_BLK_T_IN, BLK_HARNESS_IMG_SECTORS - 1, NULL,
					    0, 512, NULL),
			 VIRTIO_BLK_S_OK);
	free(before);
	free(after);
	blk_harness_destroy(&h);
}

static void test_blk_unsupported(void **state)
{
	struct vireo_blk_discard_write_zeroes seg[17];
	struct blk_harness h;
	uint8_t *before, *after;
	uint32_t len;

	(void)state;
	blk_harness_init(&h, NULL, 0);
	before = blk_harness_image_read(&h);
	assert_int_equal(blk_harness_simple(&h, 99, 0, NULL, 0, 0, &len), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(len, 1);
	assert_int_equal(blk_harness_simple(&h, VIRTIO_BLK_T_GET_LIFETIME, 0, NULL, 0, 8, NULL),
			 VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(blk_harness_simple(&h, VIRTIO_BLK_T_SECURE_ERASE, 0, NULL, 0, 0, NULL),
			 VIRTIO_BLK_S_UNSUPP);
	memset(seg, 0, sizeof(seg));
	for (int i = 0; i < 17; i++) {
		seg[i].sector = (uint64_t)i * 8;
		seg[i].num_sectors = 8;
	}
	/* D-BLK-17: DISCARD with unmap; D-BLK-16: reserved flag bits */
	seg[1].flags = VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	assert_int_equal(blk_harness_dwz(&h, VIRTIO_BLK_T_DISCARD, seg, 2), VIRTIO_BLK_S_UNSUPP);
	seg[1].flags = 2;
	assert_int_equal(blk_harness_dwz(&h, VIRTIO_BLK_T_DISCARD, seg, 2), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(blk_harness_dwz(&h, VIRTIO_BLK_T_WRITE_ZEROES, seg, 2),
			 VIRTIO_BLK_S_UNSUPP);
	seg[1].flags = 0;
	/* more segments than max_*_seg (16); a payload not made of whole segments */
	assert_int_equal(blk_harness_dwz(&h, VIRTIO_BLK_T_WRITE_ZEROES, seg, 17),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(blk_harness_simple(&h, VIRTIO_BLK_T_DISCARD, 0, seg, 20, 0, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(blk_harness_simple(&h, VIRTIO_BLK_T_DISCARD, 0, NULL, 0, 0, NULL),
			 VIRTIO_BLK_S_IOERR);
	after = blk_harness_image_read(&h);
	assert_memory_equal(before, after, BLK_HARNESS_IMG_SIZE);
	free(before);
	free(after);
	blk_harness_destroy(&h);
}

static void test_blk_short_header(void **state)
{
	struct blk_harness h;
	struct blk_harness_req r;
	uint64_t a;
	uint32_t len;

	(void)state;
	blk_harness_init(&h, NULL, 0);
	blk_harness_req_init(&r);
	a = blk_harness_galloc(&h, 8);
	memset(blk_harness_g2h(&h, a), 0, 8);
	blk_harness_req_sg(&r, a, 8, false);
	blk_harness_req_status(&h, &r);
	assert_int_equal(blk_harness_req_run(&h, 0, &r, &len), VIRTIO_BLK_S_IOERR);
	assert_int_equal(len, 1);
	/* no readable part at all */
	blk_harness_req_init(&r);
	blk_harness_req_status(&h, &r);
	assert_int_equal(blk_harness_req_run(&h, 0, &r, &len), VIRTIO_BLK_S_IOERR);
	assert_false(vdev_needs_reset(h.dev));
	blk_harness_destroy(&h);
}

static void test_blk_missing_status(void **state)
{
	struct blk_harness h;
	uint8_t data[512], *before, *after;
	struct blk_harness_req r;
	uint32_t len = 99;

	(void)state;
	blk_harness_init(&h, NULL, 0);
	before = blk_harness_image_read(&h);
	memset(data, 0x11, sizeof(data));
	blk_harness_req_init(&r);
	blk_harness_req_hdr(&h, &r, VIRTIO_BLK_T_OUT, 0, false);
	blk_harness_req_out(&h, &r, data, 512);
	blk_harness_req_run(&h, 0, &r, &len);
	/* nothing to answer with: the chain comes back with used len 0, nothing written */
	assert_int_equal(len, 0);
	after = blk_harness_image_read(&h);
	assert_memory_equal(before, after, BLK_HARNESS_IMG_SIZE);
	assert_false(vdev_needs_reset(h.dev));
	assert_int_equal(blk_harness_simple(&h, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0, NULL),
			 VIRTIO_BLK_S_OK);
	free(before);
	free(after);
	blk_harness_destroy(&h);
}

/*
 * A chain of @n descriptors (header, @n - 2 data segments of 512 bytes, status)
 * in one indirect table, written into queue 0's split ring by hand: the
 * driver's own tables hold 16, and a table longer than the queue is what a
 * driver must not make (drv:…/The Virtqueue Descriptor Table). Kicked, the
 * loop run until it is used or the device needs a reset. Return: the status
 * byte's address; *@data_out the data segments' (contiguous).
 */
static uint8_t *blk_raw_indirect_chain(struct blk_harness *h, unsigned int n, uint8_t **data_out)
{
	struct virtq_avail *avail = blk_harness_g2h(h, BLK_HARNESS_GPA_BASE + 0x1000);
	struct virtq_used *used = blk_harness_g2h(h, BLK_HARNESS_GPA_BASE + 0x2000);
	struct virtq_desc *ring = blk_harness_g2h(h, BLK_HARNESS_GPA_BASE);
	uint64_t table = blk_harness_galloc(h, (size_t)n * sizeof(struct virtq_desc));
	uint64_t hdr = blk_harness_galloc(h, sizeof(struct vireo_blk_outhdr));
	uint64_t data = blk_harness_galloc(h, (size_t)(n - 2) * 512);
	uint64_t status = blk_harness_galloc(h, 1);
	struct virtq_desc *t = blk_harness_g2h(h, table);
	struct vireo_blk_outhdr *oh = blk_harness_g2h(h, hdr);
	uint8_t *st = blk_harness_g2h(h, status);

	oh->type = cpu_to_le32(VIRTIO_BLK_T_IN);
	oh->sector = cpu_to_le64(0);
	*data_out = blk_harness_g2h(h, data);
	memset(*data_out, 0xee, (size_t)(n - 2) * 512);
	*st = 0xff;
	for (unsigned int i = 0; i < n; i++) {
		uint64_t addr = i == 0 ? hdr : i == n - 1 ? status : data + (i - 1) * 512u;
		uint32_t len = i == 0 ? sizeof(*oh) : i == n - 1 ? 1 : 512;
		uint16_t flags = (i ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0);

		t[i] = (struct virtq_desc){cpu_to_le64(addr), cpu_to_le32(len), cpu_to_le16(flags),
					   cpu_to_le16((uint16_t)(i + 1))};
	}
	ring[0] = (struct virtq_desc){cpu_to_le64(table), cpu_to_le32(n * sizeof(*t)),
				      cpu_to_le16(VIRTQ_DESC_F_INDIRECT), 0};
	avail->ring[0] = 0;
	__atomic_store_n(&avail->idx, cpu_to_le16(1), __ATOMIC_RELEASE);
	assert_int_equal(vireo_eventfd_signal_fd(h->q[0].kick_fd), 0);
	for (int i = 0;
	     i < 400 && !vdev_needs_reset(h->dev) && !__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE);
	     i++)
		(void)vireo_event_loop_run_once(&h->loop, 50);
	return st;
}

/* The model's iov pool per request (blk_io.c: iov_cap): seg_max + 2, plus 32 region splits. */
static unsigned int blk_iov_pool(struct blk_harness *h)
{
	uint32_t seg_max;

	assert_int_equal(vireo_vdev_config_read(h->dev, offsetof(struct vireo_blk_config, seg_max),
						&seg_max, sizeof(seg_max)),
			 0);
	return le32_to_cpu(seg_max) + 2 + 32;
}

/* One descriptor beyond the pool: a ring error (IOV_CAPACITY), NEEDS_RESET, nothing written. */
static void test_blk_chain_beyond_iov_pool(void **state)
{
	struct blk_harness h;
	uint8_t *status, *data;

	(void)state;
	blk_harness_init(&h, NULL, VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC));
	status = blk_raw_indirect_chain(&h, blk_iov_pool(&h) + 1, &data);
	assert_true(vdev_needs_reset(h.dev));
	assert_int_equal(*status, 0xff);
	assert_int_equal(data[0], 0xee);
	blk_harness_destroy(&h);
}

/* Exactly the pool: served (IN of 512 per data segment), status OK. */
static void test_blk_chain_filling_iov_pool(void **state)
{
	unsigned int n;
	struct virtq_used *used;
	struct blk_harness h;
	uint8_t *status, *data, *image;

	(void)state;
	blk_harness_init(&h, NULL, VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC));
	used = blk_harness_g2h(&h, BLK_HARNESS_GPA_BASE + 0x2000);
	n = blk_iov_pool(&h);
	status = blk_raw_indirect_chain(&h, n, &data);
	assert_false(vdev_needs_reset(h.dev));
	assert_int_equal(__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE), 1);
	assert_int_equal(*status, VIRTIO_BLK_S_OK);
	image = blk_harness_image_read(&h);
	assert_memory_equal(data, image, (size_t)(n - 2) * 512);
	free(image);
	blk_harness_destroy(&h);
}

/*
 * The model's own queue-index check, behind the core's (which refuses an index the
 * device does not have before any model sees it): the model's notify called directly,
 * as a transport that skipped the core would, with a queue it does not have, does
 * nothing. Without the check the ASan build sees the read past its queue array.
 */
static void test_blk_notify_foreign_queue(void **state)
{
	static const uint16_t bad[] = {1, 2, UINT16_MAX};
	struct blk_harness h;

	(void)state;
	blk_harness_init(&h, NULL, 0);
	assert_int_equal(h.dev->num_queues, 1);
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vdev_queue q = {.dev = h.dev, .index = bad[i]};

		h.dev->ops->queue_notify(h.dev, &q);
	}
	assert_false(vdev_needs_reset(h.dev));
	assert_int_equal(blk_harness_simple(&h, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0, NULL),
			 VIRTIO_BLK_S_OK);
	blk_harness_destroy(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blk_short_transfer),
		cmocka_unit_test(test_blk_notify_foreign_queue),
		cmocka_unit_test(test_blk_readonly),
		cmocka_unit_test(test_blk_beyond_capacity),
		cmocka_unit_test(test_blk_unsupported),
		cmocka_unit_test(test_blk_short_header),
		cmocka_unit_test(test_blk_missing_status),
		cmocka_unit_test(test_blk_chain_beyond_iov_pool),
		cmocka_unit_test(test_blk_chain_filling_iov_pool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
