// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the virtio-blk request parser (devices/blk/blk_req.c):
 * the input is a hostile driver. It picks the disk (capacity, read-only),
 * how many readable and writable segments the popped chain has, their
 * lengths and the readable bytes (header, data, discard segments). Each
 * segment is its own exact-size allocation, so ASan sees any overrun.
 *
 * After blk_req_parse() we check the invariants that keep the back-end
 * safe: an accepted request stays inside capacity, IN/OUT lengths are whole
 * sectors, the data iov covers exactly the right bytes of the right part of
 * the chain, the status pointer is the chain's last writable byte, nothing
 * write-like is accepted on a read-only disk, guest memory is not written.
 * Then the status is compared with what virtio 1.2 §5.2.6 asks for.
 *
 * Input layout (little-endian):
 *   0..7   capacity in sectors (masked to 54 bits: an image is at most
 *          2^63 bytes, and blk.c sizes the disk as st_size >> 9)
 *   8      flags: bit0 read-only (RO offered, DISCARD / WRITE_ZEROES not,
 *          as blk.c offers them), bit1 many segments (up to FUZZ_MAX_SEGS
 *          per part, to reach the seg_max check; else up to 16)
 *   9..10  readable segment count, 11..12 writable segment count
 *   13     length table entries n (1 + value % 32), then n u16 lengths
 *          (13 bits used); segment k of the chain (readable first) gets entry k % n
 *   then   the readable bytes, in chain order (zero once the input ends)
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/blk/blk_internal.h"

#include "tests/fuzz/fuzz_check.h"

#define FUZZ_HDR 14u
#define FUZZ_MAX_SEGS 1100u	  /* per part: above BLK_SEG_MAX_CAP (1024) */
#define FUZZ_MAX_BYTES (1u << 17) /* per input: later segments get length 0 */
#define FUZZ_CAP_MASK ((1ull << 54) - 1)
#define FUZZ_CANARY 0xa5u

/* One part (readable or writable) of the chain: its segments and a flat copy. */
struct fuzz_part {
	uint8_t **buf;
	size_t *len;
	unsigned int n;
	uint32_t bytes;
	uint8_t *flat; /* the part's bytes before the parse, concatenated */
};

struct fuzz_case {
	struct blk_limits lim;
	struct fuzz_part part[2]; /* [0] readable, [1] writable */
	struct vring_iov *iov;
	struct blk_req req;
};

static uint16_t fuzz_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint64_t fuzz_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/*
 * Allocate @p's @n segments, the chain's segments @first.. (lengths from
 * @tab); fill them from @src, or with a canary if @src is NULL.
 */
static bool fuzz_part_build(struct fuzz_part *p, unsigned int n, const uint8_t *tab,
			    unsigned int ntab, unsigned int first, size_t *budget,
			    const uint8_t **src, size_t *left)
{
	p->n = n;
	p->buf = calloc(n + 1u, sizeof(*p->buf));
	p->len = calloc(n + 1u, sizeof(*p->len));
	if (!p->buf || !p->len)
		return false;
	for (unsigned int k = 0; k < n; k++) {
		size_t len = fuzz_le16(tab + 2u * ((first + k) % ntab)) & 0x1fffu;
		size_t take;

		if (len > *budget)
			len = 0;
		*budget -= len;
		/* an empty segment still gets its own allocation: nothing may touch it */
		p->buf[k] = malloc(len ? len : 1);
		if (!p->buf[k])
			return false;
		p->len[k] = len;
		p->bytes += (uint32_t)len;
		if (!src) {
			memset(p->buf[k], FUZZ_CANARY, len);
			continue;
		}
		take = len < *left ? len : *left;
		memcpy(p->buf[k], *src, take);
		memset(p->buf[k] + take, 0, len - take);
		*src += take;
		*left -= take;
	}
	p->flat = malloc(p->bytes + 1u);
	if (!p->flat)
		return false;
	for (unsigned int k = 0, off = 0; k < n; off += (unsigned int)p->len[k], k++)
		memcpy(p->flat + off, p->buf[k], p->len[k]);
	return true;
}

static void fuzz_part_free(struct fuzz_part *p)
{
	for (unsigned int k = 0; p->buf && k < p->n; k++)
		free(p->buf[k]);
	free(p->buf);
	free(p->len);
	free(p->flat);
}

/* The chain as vring_split_dev_pop() would hand it over: readable, then writable. */
static bool fuzz_case_chain(struct fuzz_case *fc)
{
	unsigned int n = fc->part[0].n + fc->part[1].n, i = 0;

	fc->iov = calloc(n + 1u, sizeof(*fc->iov));
	if (!fc->iov)
		return false;
	for (unsigned int d = 0; d < 2; d++)
		for (unsigned int k = 0; k < fc->part[d].n; k++)
			fc->iov[i++] = (struct vring_iov){fc->part[d].buf[k], fc->part[d].len[k]};
	fc->req.iov = fc->iov;
	fc->req.chain.readable = (uint16_t)fc->part[0].n;
	fc->req.chain.writable = (uint16_t)fc->part[1].n;
	fc->req.chain.readable_bytes = fc->part[0].bytes;
	fc->req.chain.writable_bytes = fc->part[1].bytes;
	return true;
}

/* The byte at offset @off of part @d (which must hold it). */
static const uint8_t *fuzz_part_at(const struct fuzz_part *p, uint32_t off)
{
	unsigned int k = 0;

	while (off >= p->len[k]) {
		off -= (uint32_t)p->len[k];
		k++;
	}
	return p->buf[k] + off;
}

/*
 * req->data must describe exactly bytes [@start, @start + req->data_len)
 * of part @d, in order, each entry inside one of the given segments, and
 * must be entries of req->iov.
 */
static void fuzz_check_data(const struct fuzz_case *fc, unsigned int d, uint32_t start)
{
	const struct fuzz_part *p = &fc->part[d];
	const struct blk_req *req = &fc->req;
	unsigned int k = 0;
	size_t seg_off = 0; /* part offset of segment k */
	size_t pos = start;

	FUZZ_CHECK(req->data >= fc->iov);
	FUZZ_CHECK(req->data + req->data_cnt <= fc->iov + fc->part[0].n + fc->part[1].n);
	for (unsigned int i = 0; i < req->data_cnt; i++) {
		const struct vring_iov *e = &req->data[i];

		if (e->len == 0)
			continue;
		while (k < p->n && seg_off + p->len[k] <= pos)
			seg_off += p->len[k++];
		FUZZ_CHECK(k < p->n);
		FUZZ_CHECK((const uint8_t *)e->base == p->buf[k] + (pos - seg_off));
		FUZZ_CHECK(e->len <= p->len[k] - (pos - seg_off));
		pos += e->len;
	}
	FUZZ_CHECK(pos - start == req->data_len);
}

/* Guest memory is only read by the parser. */
static void fuzz_check_unchanged(const struct fuzz_case *fc)
{
	for (unsigned int d = 0; d < 2; d++) {
		const struct fuzz_part *p = &fc->part[d];

		for (unsigned int k = 0, off = 0; k < p->n; off += (unsigned int)p->len[k], k++)
			FUZZ_CHECK(memcmp(p->buf[k], p->flat + off, p->len[k]) == 0);
	}
}

static bool fuzz_is_write(uint32_t type)
{
	return type == VIRTIO_BLK_T_OUT || type == VIRTIO_BLK_T_DISCARD ||
	       type == VIRTIO_BLK_T_WRITE_ZEROES;
}

static bool fuzz_in_capacity(const struct blk_limits *lim, uint64_t off, uint64_t len)
{
	uint64_t cap = lim->capacity * VIRTIO_BLK_SECTOR_SIZE;

	return off % VIRTIO_BLK_SECTOR_SIZE == 0 && len % VIRTIO_BLK_SECTOR_SIZE == 0 &&
	       off <= cap && len <= cap - off;
}

/* What any accepted request must satisfy, from the parser's outputs alone. */
static void fuzz_check_accepted(const struct fuzz_case *fc)
{
	const struct blk_req *req = &fc->req;

	FUZZ_CHECK(!(fc->lim.readonly && fuzz_is_write(req->type)));
	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		FUZZ_CHECK(req->data_len % VIRTIO_BLK_SECTOR_SIZE == 0);
		FUZZ_CHECK(req->data_cnt <= BLK_SEG_MAX_CAP);
		FUZZ_CHECK(fuzz_in_capacity(&fc->lim, req->offset, req->data_len));
		fuzz_check_data(fc, req->type == VIRTIO_BLK_T_IN,
				req->type == VIRTIO_BLK_T_OUT ? sizeof(struct vireo_blk_outhdr)
							      : 0);
		break;
	case VIRTIO_BLK_T_GET_ID:
		fuzz_check_data(fc, 1, 0);
		break;
	case VIRTIO_BLK_T_FLUSH:
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		FUZZ_CHECK(req->nranges >= 1 && req->nranges <= BLK_MAX_DWZ_SEG);
		for (unsigned int i = 0; i < req->nranges; i++) {
			const struct blk_range *r = &req->ranges[i];

			FUZZ_CHECK(fuzz_in_capacity(&fc->lim, r->offset, r->len));
			FUZZ_CHECK(r->len <=
				   (uint64_t)BLK_MAX_DWZ_SECTORS * VIRTIO_BLK_SECTOR_SIZE);
			FUZZ_CHECK(!(r->unmap && req->type == VIRTIO_BLK_T_DISCARD));
		}
		break;
	default:
		FUZZ_CHECK(!"unknown type accepted");
	}
}

/*
 * DISCARD / WRITE_ZEROES per §5.2.6: unknown flags and unmap on DISCARD are
 * UNSUPP (device MUST); malformed payloads and bad ranges are IOERR. When OK,
 * the parsed ranges must be the guest's segments.
 */
static uint8_t fuzz_expect_dwz(const struct fuzz_case *fc, uint32_t type)
{
	const struct fuzz_part *rd = &fc->part[0];
	uint32_t dlen = rd->bytes - (uint32_t)sizeof(struct vireo_blk_outhdr);
	struct vireo_blk_discard_write_zeroes seg;
	unsigned int n = dlen / (unsigned int)sizeof(seg), i;
	uint8_t st = VIRTIO_BLK_S_OK;
	uint64_t off, len;
	uint32_t flags;

	if (fc->lim.readonly || dlen == 0 || dlen % sizeof(seg) || n > BLK_MAX_DWZ_SEG)
		return VIRTIO_BLK_S_IOERR;
	for (i = 0; i < n; i++) {
		memcpy(&seg, rd->flat + sizeof(struct vireo_blk_outhdr) + i * sizeof(seg),
		       sizeof(seg));
		flags = le32_to_cpu(seg.flags);
		if ((flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) ||
		    (type == VIRTIO_BLK_T_DISCARD && flags))
			return VIRTIO_BLK_S_UNSUPP;
		off = le64_to_cpu(seg.sector);
		len = le32_to_cpu(seg.num_sectors);
		if (len > BLK_MAX_DWZ_SECTORS || off > fc->lim.capacity ||
		    len > fc->lim.capacity - off)
			st = VIRTIO_BLK_S_IOERR;
		else if (fc->req.nranges == n)
			FUZZ_CHECK(fc->req.ranges[i].offset == off * VIRTIO_BLK_SECTOR_SIZE &&
				   fc->req.ranges[i].len == len * VIRTIO_BLK_SECTOR_SIZE &&
				   fc->req.ranges[i].unmap == (flags != 0));
	}
	return st;
}

/* IN / OUT: whole sectors inside capacity (§5.2.6.1 / §5.2.6); OUT on RO is IOERR. */
static uint8_t fuzz_expect_rw(const struct fuzz_case *fc, uint32_t type, uint64_t sector)
{
	uint32_t len = type == VIRTIO_BLK_T_IN
			       ? fc->part[1].bytes - 1
			       : fc->part[0].bytes - (uint32_t)sizeof(struct vireo_blk_outhdr);
	uint64_t nsec = len / VIRTIO_BLK_SECTOR_SIZE;

	if (type == VIRTIO_BLK_T_OUT && fc->lim.readonly)
		return VIRTIO_BLK_S_IOERR;
	if (len % VIRTIO_BLK_SECTOR_SIZE || sector > fc->lim.capacity ||
	    nsec > fc->lim.capacity - sector)
		return VIRTIO_BLK_S_IOERR;
	/* our seg_max: more data segments than readv takes is IOERR too */
	if (fc->req.data_cnt > BLK_SEG_MAX_CAP)
		return VIRTIO_BLK_S_IOERR;
	FUZZ_CHECK(fc->req.offset == sector * VIRTIO_BLK_SECTOR_SIZE);
	return VIRTIO_BLK_S_OK;
}

/* The status §5.2.6 asks for, computed from the flat copies; @st is the parser's. */
static void fuzz_check_status(const struct fuzz_case *fc, uint8_t st)
{
	const struct fuzz_part *rd = &fc->part[0], *wr = &fc->part[1];
	struct vireo_blk_outhdr hdr;
	uint8_t want;

	/* no writable byte: no status can be written */
	if (wr->bytes == 0) {
		FUZZ_CHECK(st == BLK_REQ_UNANSWERABLE);
		return;
	}
	/* §5.2.6: the status is the last byte of the device-writable part */
	FUZZ_CHECK(fc->req.status == fuzz_part_at(wr, wr->bytes - 1));
	if (rd->bytes < sizeof(hdr)) {
		FUZZ_CHECK(st == VIRTIO_BLK_S_IOERR);
		return;
	}
	memcpy(&hdr, rd->flat, sizeof(hdr));
	FUZZ_CHECK(fc->req.type == le32_to_cpu(hdr.type));
	switch (fc->req.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		want = fuzz_expect_rw(fc, fc->req.type, le64_to_cpu(hdr.sector));
		break;
	case VIRTIO_BLK_T_FLUSH:
	case VIRTIO_BLK_T_GET_ID:
		want = VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		want = fuzz_expect_dwz(fc, fc->req.type);
		break;
	default:
		want = VIRTIO_BLK_S_UNSUPP; /* §5.2.6: unknown types (and zones: D-BLK-22) */
	}
	FUZZ_CHECK(st == want);
}

static void fuzz_case_free(struct fuzz_case *fc)
{
	fuzz_part_free(&fc->part[0]);
	fuzz_part_free(&fc->part[1]);
	free(fc->iov);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_case fc = {0};
	unsigned int max, ntab, nr, nw;
	size_t budget = FUZZ_MAX_BYTES, left;
	const uint8_t *src;
	uint8_t st;

	if (size < FUZZ_HDR)
		return 0;
	ntab = 1u + data[13] % 32u;
	if (size < FUZZ_HDR + 2u * ntab)
		return 0;
	fc.lim.capacity = fuzz_le64(data) & FUZZ_CAP_MASK;
	fc.lim.readonly = data[8] & 1;
	max = data[8] & 2 ? FUZZ_MAX_SEGS : 16u;
	nr = fuzz_le16(data + 9) % (max + 1u);
	nw = fuzz_le16(data + 11) % (max + 1u);
	src = data + FUZZ_HDR + 2u * ntab;
	left = size - FUZZ_HDR - 2u * ntab;
	if (!fuzz_part_build(&fc.part[0], nr, data + FUZZ_HDR, ntab, 0, &budget, &src, &left) ||
	    !fuzz_part_build(&fc.part[1], nw, data + FUZZ_HDR, ntab, nr, &budget, NULL, NULL) ||
	    !fuzz_case_chain(&fc))
		goto out;

	st = blk_req_parse(&fc.req, &fc.lim);
	FUZZ_CHECK(st == VIRTIO_BLK_S_OK || st == VIRTIO_BLK_S_IOERR || st == VIRTIO_BLK_S_UNSUPP ||
		   st == BLK_REQ_UNANSWERABLE);
	fuzz_check_unchanged(&fc);
	fuzz_check_status(&fc, st);
	if (st == VIRTIO_BLK_S_OK)
		fuzz_check_accepted(&fc);
out:
	fuzz_case_free(&fc);
	return 0;
}
