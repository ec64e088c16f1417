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
	struct vireo_blk_outhdr hdr = {.type = VIRTIO_BLK_T_OUT, .sector = 4};
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
		struct vireo_blk_outhdr hdr;
		struct vireo_blk_discard_write_zeroes seg[BLK_MAX_DWZ_SEG + 1];
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
	rd.seg[0] =
		(struct vireo_blk_discard_write_zeroes){.sector = 10, .num_sectors = 5, .flags = 1};
	rd.seg[1] = (struct vireo_blk_discard_write_zeroes){.sector = 995, .num_sectors = 5};
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

/* An IN whose writable part is data + status, the data being @data_len bytes in one piece. */
static uint8_t parse_in(struct blk_req *req, void *hdr, uint8_t *wr, uint32_t data_len,
			const struct blk_limits *lim)
{
	req->iov[0] = (struct vring_iov){hdr, sizeof(struct vireo_blk_outhdr)};
	req->iov[1] = (struct vring_iov){wr, data_len};
	req->iov[2] = (struct vring_iov){wr + data_len, 1};
	req->chain = (struct vring_chain){.readable = 1,
					  .writable = 2,
					  .readable_bytes = sizeof(struct vireo_blk_outhdr),
					  .writable_bytes = data_len + 1};
	return blk_req_parse(req, lim);
}

/* A driver breaking drv:BLK/Device Operation: IN data is whole sectors; anything else is IOERR, with the status byte found. */
static void test_blk_parse_in_not_sector_multiple(void **state)
{
	struct vireo_blk_outhdr hdr = {.type = VIRTIO_BLK_T_IN, .sector = 0};
	struct blk_limits lim = {.capacity = 16};
	const uint32_t bad[] = {1, 511, 513, 1000, 1535};
	static uint8_t wr[2048 + 1];
	struct vring_iov iov[3];
	struct blk_req req;
	unsigned int i;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.iov = iov;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse_in(&req, &hdr, wr, bad[i], &lim), VIRTIO_BLK_S_IOERR);
		/* answerable: the status is the last writable byte */
		assert_ptr_equal(req.status, wr + bad[i]);
		assert_int_equal(req.type, VIRTIO_BLK_T_IN);
	}
	assert_int_equal(parse_in(&req, &hdr, wr, 2048, &lim), VIRTIO_BLK_S_OK);
	assert_int_equal(req.data_len, 2048);
	assert_int_equal(req.offset, 0);
	/* OUT too, with the same sizes in the readable part */
	hdr.type = VIRTIO_BLK_T_OUT;
	memcpy(wr, &hdr, sizeof(hdr));
	iov[0] = (struct vring_iov){wr, sizeof(hdr) + 513};
	iov[1] = (struct vring_iov){wr + 2048, 1};
	req.chain = (struct vring_chain){.readable = 1,
					 .writable = 1,
					 .readable_bytes = sizeof(hdr) + 513,
					 .writable_bytes = 1};
	assert_int_equal(blk_req_parse(&req, &lim), VIRTIO_BLK_S_IOERR);
	assert_ptr_equal(req.status, wr + 2048);
}

/*
 * Data in more than BLK_SEG_MAX_CAP (1024, readv's IOV_MAX) pieces is IOERR,
 * for IN (writable data) and OUT (readable data); exactly 1024 is fine.
 * @nseg pieces of 1 byte, then one piece completing a whole number of sectors.
 */
static uint8_t parse_many(struct blk_req *req, uint32_t type, unsigned int nseg, uint8_t *mem,
			  uint8_t *st, const struct blk_limits *lim)
{
	struct vireo_blk_outhdr hdr = {.type = type, .sector = 2};
	uint32_t data = ((nseg + 511u) / 512u + 1u) * 512u; /* > nseg - 1, whole sectors */
	unsigned int i, n = 0;
	bool in = type == VIRTIO_BLK_T_IN;

	memcpy(mem, &hdr, sizeof(hdr));
	req->iov[n++] = (struct vring_iov){mem, sizeof(hdr)};
	for (i = 0; i + 1 < nseg; i++)
		req->iov[n++] = (struct vring_iov){mem + sizeof(hdr) + i, 1};
	req->iov[n++] = (struct vring_iov){mem + sizeof(hdr) + i, data - i};
	req->iov[n++] = (struct vring_iov){st, 1};
	req->chain = (struct vring_chain){
		.readable = (uint16_t)(in ? 1 : n - 1),
		.writable = (uint16_t)(in ? n - 1 : 1),
		.readable_bytes = (uint32_t)sizeof(hdr) + (in ? 0 : data),
		.writable_bytes = (in ? data : 0) + 1,
	};
	return blk_req_parse(req, lim);
}

static void test_blk_parse_segment_limit(void **state)
{
	enum { MAXSEG = BLK_SEG_MAX_CAP + 8 };
	struct blk_limits lim = {.capacity = 64};
	static struct vring_iov iov[MAXSEG + 2];
	static uint8_t mem[16 + 4096];
	const uint32_t types[] = {VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT};
	struct blk_req req;
	uint8_t st;
	unsigned int t;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.iov = iov;
	for (t = 0; t < 2; t++) {
		assert_int_equal(parse_many(&req, types[t], BLK_SEG_MAX_CAP, mem, &st, &lim),
				 VIRTIO_BLK_S_OK);
		assert_int_equal(req.data_cnt, BLK_SEG_MAX_CAP);
		assert_int_equal(req.offset, 2 * 512);
		assert_int_equal(parse_many(&req, types[t], BLK_SEG_MAX_CAP + 1, mem, &st, &lim),
				 VIRTIO_BLK_S_IOERR);
		assert_ptr_equal(req.status, &st);
		assert_int_equal(parse_many(&req, types[t], MAXSEG, mem, &st, &lim),
				 VIRTIO_BLK_S_IOERR);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blk_parse_layouts),
		cmocka_unit_test(test_blk_parse_dwz),
		cmocka_unit_test(test_blk_parse_in_not_sector_multiple),
		cmocka_unit_test(test_blk_parse_segment_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
