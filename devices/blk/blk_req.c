// SPDX-License-Identifier: MIT
/*
 * virtio-blk request parsing and validation (virtio 1.2 §5.2.6). Every
 * request is checked here, before the back-end touches the image or guest
 * memory is written: a request that fails a check is completed with its
 * status and no I/O. Guest memory is only read, each byte once: the header
 * and the discard / write-zeroes segments are copied out before use.
 */
#include <string.h>

#include <vireo/iov.h>

#include "devices/blk/blk_internal.h"

/*
 * The status byte is the last byte of the device-writable part (§5.2.6,
 * struct virtio_blk_req). Cut it off the writable iov and remember where it
 * is; the rest of the writable part becomes the data of IN / GET_ID.
 * Return: false if there is no writable byte at all.
 */
static bool blk_req_take_status(struct blk_req *req)
{
	const struct vring_chain *c = &req->chain;
	unsigned int first = c->readable;
	unsigned int i = first + c->writable;

	while (i > first && req->iov[i - 1].len == 0)
		i--;
	if (i == first)
		return false;
	i--;
	req->iov[i].len--;
	req->status = (uint8_t *)req->iov[i].base + req->iov[i].len;
	req->data = &req->iov[first];
	req->data_cnt = i - first + (req->iov[i].len != 0);
	req->data_len = c->writable_bytes - 1;
	return true;
}

/* The readable part after the 16-byte header is the data of OUT / DISCARD / WRITE_ZEROES. */
static void blk_req_readable_data(struct blk_req *req)
{
	size_t skip = sizeof(struct vireo_blk_outhdr);
	unsigned int i = 0;

	while (i < req->chain.readable && skip >= req->iov[i].len) {
		skip -= req->iov[i].len;
		i++;
	}
	if (i < req->chain.readable) {
		req->iov[i].base = (uint8_t *)req->iov[i].base + skip;
		req->iov[i].len -= skip;
	}
	req->data = &req->iov[i];
	req->data_cnt = req->chain.readable - i;
	req->data_len = req->chain.readable_bytes - (uint32_t)sizeof(struct vireo_blk_outhdr);
}

/* §5.2.6.1: requests must stay inside capacity; a driver error is IOERR. */
static bool blk_range_ok(const struct blk_limits *lim, uint64_t sector, uint64_t nsectors)
{
	return sector <= lim->capacity && nsectors <= lim->capacity - sector;
}

static uint8_t blk_req_check_rw(struct blk_req *req, const struct blk_limits *lim, uint64_t sector)
{
	/* §5.2.6.1: IN / OUT data is a multiple of 512 bytes */
	if (req->data_len % VIRTIO_BLK_SECTOR_SIZE)
		return VIRTIO_BLK_S_IOERR;
	/* readv/writev refuse more than IOV_MAX segments; we advertise seg_max below it */
	if (req->data_cnt > BLK_SEG_MAX_CAP)
		return VIRTIO_BLK_S_IOERR;
	if (!blk_range_ok(lim, sector, req->data_len >> VIRTIO_BLK_SECTOR_SHIFT))
		return VIRTIO_BLK_S_IOERR;
	req->offset = sector << VIRTIO_BLK_SECTOR_SHIFT;
	return VIRTIO_BLK_S_OK;
}

/*
 * DISCARD / WRITE_ZEROES payload: whole segments, at most max_*_seg of them
 * (§5.2.6.1 driver requirements; a driver breaking them gets IOERR, "device
 * or driver error", §5.2.6). Flags first, since those carry a device MUST
 * (§5.2.6.2): unknown flags, or unmap on DISCARD, are UNSUPP.
 */
static uint8_t blk_req_check_dwz(struct blk_req *req, const struct blk_limits *lim)
{
	struct vireo_blk_discard_write_zeroes seg[BLK_MAX_DWZ_SEG];
	size_t seg_size = sizeof(seg[0]);
	unsigned int n, i;

	if (req->data_len == 0 || req->data_len % seg_size)
		return VIRTIO_BLK_S_IOERR;
	n = req->data_len / (unsigned int)seg_size;
	if (n > BLK_MAX_DWZ_SEG)
		return VIRTIO_BLK_S_IOERR;
	/* one copy of the guest's segments: what we check is what we use */
	/* GUEST: data lies in readable iov entries the ring translated with their lengths */
	vireo_iov_to_buf(req->data, req->data_cnt, 0, seg, n * seg_size);
	for (i = 0; i < n; i++) {
		uint32_t flags = le32_to_cpu(seg[i].flags);

		if (flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)
			return VIRTIO_BLK_S_UNSUPP;
		if (req->type == VIRTIO_BLK_T_DISCARD && flags)
			return VIRTIO_BLK_S_UNSUPP;
	}
	for (i = 0; i < n; i++) {
		uint64_t sector = le64_to_cpu(seg[i].sector);
		uint32_t nsec = le32_to_cpu(seg[i].num_sectors);

		if (nsec > BLK_MAX_DWZ_SECTORS || !blk_range_ok(lim, sector, nsec))
			return VIRTIO_BLK_S_IOERR;
		req->ranges[i].offset = sector << VIRTIO_BLK_SECTOR_SHIFT;
		req->ranges[i].len = (uint64_t)nsec << VIRTIO_BLK_SECTOR_SHIFT;
		req->ranges[i].unmap =
			le32_to_cpu(seg[i].flags) & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	}
	req->nranges = n;
	return VIRTIO_BLK_S_OK;
}

uint8_t blk_req_parse(struct blk_req *req, const struct blk_limits *lim)
{
	struct vireo_blk_outhdr hdr;

	req->status = NULL;
	req->data = NULL;
	req->data_cnt = 0;
	req->data_len = 0;
	req->written = 0;
	req->nranges = 0;
	req->range_idx = 0;
	req->range_done = 0;
	req->offset = 0;
	req->type = 0;
	/*
	 * Without a writable byte nothing can be answered: the chain goes back
	 * with used len 0, which is exactly what was written
	 * (dev:BF/Virtqueues/The Virtqueue Used Ring). NEEDS_RESET would stop
	 * every queue for a request that harms nothing.
	 */
	if (!blk_req_take_status(req))
		return BLK_REQ_UNANSWERABLE;
	/* a header shorter than 16 bytes is a driver error the status can report */
	if (req->chain.readable_bytes < sizeof(hdr))
		return VIRTIO_BLK_S_IOERR;
	/* GUEST: readable iov entries, translated with their lengths; 16 bytes are there */
	vireo_iov_to_buf(req->iov, req->chain.readable, 0, &hdr, sizeof(hdr));
	req->type = le32_to_cpu(hdr.type);

	switch (req->type) {
	case VIRTIO_BLK_T_IN:
		return blk_req_check_rw(req, lim, le64_to_cpu(hdr.sector));
	case VIRTIO_BLK_T_OUT:
		/* §5.2.6.2: with RO offered, every write request fails with IOERR */
		if (lim->readonly)
			return VIRTIO_BLK_S_IOERR;
		blk_req_readable_data(req);
		return blk_req_check_rw(req, lim, le64_to_cpu(hdr.sector));
	case VIRTIO_BLK_T_FLUSH:
	case VIRTIO_BLK_T_GET_ID:
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (lim->readonly)
			return VIRTIO_BLK_S_IOERR;
		blk_req_readable_data(req);
		return blk_req_check_dwz(req, lim);
	default:
		/* §5.2.6: anything else (lifetime, secure erase, zones) is UNSUPP */
		return VIRTIO_BLK_S_UNSUPP;
	}
}
