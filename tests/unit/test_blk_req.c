// SPDX-License-Identifier: MIT
/*
 * Unit tests for devices/blk/blk_req.c: request parsing and checks on
 * hand-made iov arrays (no ring, no I/O), including layouts a ring test
 * cannot easily produce.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "devices/blk/blk_internal.h"

/* blk_req_parse() alone: odd but legal layouts (zero-length pieces, data sharing descriptors). */
static void test_blk_parse_layouts(void **state)
{
	struct virtio_blk_outhdr hdr = {.type = VIRTIO_BLK_T_OUT, .sector = 4};
	struct blk_limits lim = {.capacity = 16};
	uint8_t rd[16 + 1024], wr[4];
	struct vring_iov iov[8];
	struct blk_req req;

	(void)state;
	memcpy(rd, &hdr, sizeof(hdr));
	memset(&req, 0, sizeof(req));
	req.iov = iov;
	/* header over 3 pieces (one empty), data starting inside the third */
	iov[0] = (struct vring_iov){rd, 7};
	iov[1] = (struct vring_iov){rd + 7, 0};
	iov[2] = (struct vring_iov){rd + 7, 9 + 512};
	iov[3] = (struct vring_iov){rd + 16 + 512, 512};
	/* writable: the status, then an empty piece */
	iov[4] = (struct vring_iov){wr, 1};
	iov[5] = (struct vring_iov){wr + 1, 0};
	req.chain = (struct vring_chain){
		.readable = 4, .writable = 2, .readable_bytes = 16 + 1024, .writable_bytes = 1};
	assert_int_equal(blk_req_parse(&req, &lim), VIRTIO_BLK_S_OK);
	assert_ptr_equal(req.status, wr);
	assert_int_equal(req.data_len, 1024);
	assert_int_equal(req.offset, 4 * 512);
	assert_int_equal(req.data_cnt, 2);
	assert_ptr_equal(req.data[0].base, rd + 16);
	assert_int_equal(req.data[0].len, 512);

	/* IN: data and status in one piece; the data is the piece minus its last byte */
	hdr.type = VIRTIO_BLK_T_IN;
	memcpy(rd, &hdr, sizeof(hdr));
	iov[0] = (struct vring_iov){rd, 16};
	iov[1] = (struct vring_iov){rd + 16, 513};
	req.chain = (struct vring_chain){
		.readable = 1, .writable = 1, .readable_bytes = 16, .writable_bytes = 513};
	assert_int_equal(blk_req_parse(&req, &lim), VIRTIO_BLK_S_OK);
	assert_ptr_equal(req.status, rd + 16 + 512);
	assert_int_equal(req.data_cnt, 1);
	assert_int_equal(req.data_len, 512);

	/* only empty writable pieces: nothing to answer with */
	iov[1] = (struct vring_iov){wr, 0};
	req.chain = (struct vring_chain){
		.readable = 1, .writable = 1, .readable_bytes = 16, .writable_bytes = 0};
	assert_int_equal(blk_req_parse(&req, &lim), BLK_REQ_UNANSWERABLE);

	/* sector 16 + 1 sector on a 16-sector disk */
	hdr.sector = 16;
	memcpy(rd, &hdr, sizeof(hdr));
	iov[1] = (struct vring_iov){rd + 16, 513};
	req.chain = (struct vring_chain){
		.readable = 1, .writable = 1, .readable_bytes = 16, .writable_bytes = 513};
	assert_int_equal(blk_req_parse(&req, &lim), VIRTIO_BLK_S_IOERR);
}

/* blk_req_parse() trims the iov in place (as after a pop): rebuild it for each parse. */
static uint8_t parse_flat(struct blk_req *req, void *rd, size_t len, uint8_t *st,
			  const struct blk_limits *lim)
{
	req->iov[0] = (struct vring_iov){rd, len};
	req->iov[1] = (struct vring_iov){st, 1};
	req->chain = (struct vring_chain){
		.readable = 1, .writable = 1, .readable_bytes = (uint32_t)len, .writable_bytes = 1};
	return blk_req_parse(req, lim);
}

/* DISCARD / WRITE_ZEROES payloads: copied once, flags before ranges, limits enforced. */
static void test_blk_parse_dwz(void **state)
{
	struct {
		struct virtio_blk_outhdr hdr;
		struct virtio_blk_discard_write_zeroes seg[BLK_MAX_DWZ_SEG + 1];
	} rd;
	struct blk_limits lim = {.capacity = 1000};
	struct vring_iov iov[2];
	struct blk_req req;
	uint8_t st;
	size_t len;

	(void)state;
	memset(&rd, 0, sizeof(rd));
	memset(&req, 0, sizeof(req));
	req.iov = iov;
	rd.hdr.type = VIRTIO_BLK_T_WRITE_ZEROES;
	rd.seg[0] = (struct virtio_blk_discard_write_zeroes){
		.sector = 10, .num_sectors = 5, .flags = 1};
	rd.seg[1] = (struct virtio_blk_discard_write_zeroes){.sector = 995, .num_sectors = 5};
	len = sizeof(rd.hdr) + 2 * sizeof(rd.seg[0]);
	assert_int_equal(parse_flat(&req, &rd, len, &st, &lim), VIRTIO_BLK_S_OK);
	assert_int_equal(req.nranges, 2);
	assert_int_equal(req.ranges[0].offset, 10 * 512);
	assert_int_equal(req.ranges[0].len, 5 * 512);
	assert_true(req.ranges[0].unmap);
	assert_false(req.ranges[1].unmap);
	/* one sector past the end, in the second segment */
	rd.seg[1].num_sectors = 6;
	assert_int_equal(parse_flat(&req, &rd, len, &st, &lim), VIRTIO_BLK_S_IOERR);
	/* read-only: IOERR before anything else */
	lim.readonly = true;
	assert_int_equal(parse_flat(&req, &rd, len, &st, &lim), VIRTIO_BLK_S_IOERR);
	lim.readonly = false;
	/* reserved flags are UNSUPP even when a range is also bad (flags first) */
	rd.seg[1].flags = 0x80000000u;
	assert_int_equal(parse_flat(&req, &rd, len, &st, &lim), VIRTIO_BLK_S_UNSUPP);
	/* DISCARD with unmap */
	rd.seg[1].flags = 0;
	rd.seg[1].num_sectors = 5;
	rd.hdr.type = VIRTIO_BLK_T_DISCARD;
	assert_int_equal(parse_flat(&req, &rd, len, &st, &lim), VIRTIO_BLK_S_UNSUPP);
	rd.seg[0].flags = 0;
	assert_int_equal(parse_flat(&req, &rd, len, &st, &lim), VIRTIO_BLK_S_OK);
	/* a segment above max_discard_sectors */
	rd.seg[0].num_sectors = BLK_MAX_DWZ_SECTORS + 1;
	rd.seg[0].sector = 0;
	lim.capacity = UINT64_MAX >> 9;
	assert_int_equal(parse_flat(&req, &rd, len, &st, &lim), VIRTIO_BLK_S_IOERR);
	/* more segments than max_discard_seg */
	rd.seg[0].num_sectors = 1;
	len = sizeof(rd);
	assert_int_equal(parse_flat(&req, &rd, len, &st, &lim), VIRTIO_BLK_S_IOERR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blk_parse_layouts),
		cmocka_unit_test(test_blk_parse_dwz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
