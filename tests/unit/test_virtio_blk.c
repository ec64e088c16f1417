// SPDX-License-Identifier: MIT
/*
 * Unit tests for the virtio-blk driver (drivers/blk*.c) against a tiny
 * in-memory block device served in the same thread through the device-side
 * ring API (tests/lib/fake_transport.c). The device checks the requests'
 * format (virtio 1.2 §5.2.6, drv:BLK/Device Operation; checklist R-BLK-xx)
 * and records their layout.
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

#include "tests/lib/fake_transport.h"

#define DISK_SECTORS 2048u
#define DISK_BYTES (DISK_SECTORS * VIRTIO_BLK_SECTOR_SIZE)
#define SCRATCH_BYTES (DISK_BYTES + 4096u)
#define NO_FORCE (-1)

struct blk_fake {
	uint8_t *disk;
	uint8_t *scratch;
	struct virtio_blk_outhdr last_hdr;
	unsigned int last_readable, last_writable;
	uint32_t last_readable_bytes, last_writable_bytes;
	uint8_t last_payload[64];
	unsigned int requests;
	unsigned int violations;
	int force_status;
	/* A lying device: used len reported instead of the truth (NO_FORCE: honest). */
	int64_t force_used_len;
	/* IN: status written, data left as it was (stale) */
	bool skip_data;
	char id[VIRTIO_BLK_ID_BYTES];
};

struct blk_fixture {
	struct virtio_bus bus;
	struct fake_dev fd;
	struct virtio_blk_driver bd;
	struct blk_fake dev;
	struct virtio_blk *blk;
};

static void copy_from_iov(uint8_t *dst, const struct vring_iov *iov, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		memcpy(dst, iov[i].base, iov[i].len);
		dst += iov[i].len;
	}
}

/* Scatter @len bytes of @src into @iov (the writable part), stopping at @len. */
static void copy_to_iov(struct vring_iov *iov, unsigned int n, const uint8_t *src, size_t len)
{
	unsigned int i;

	for (i = 0; i < n && len; i++) {
		size_t c = iov[i].len < len ? iov[i].len : len;

		memcpy(iov[i].base, src, c);
		src += c;
		len -= c;
	}
}

/* DISCARD / WRITE_ZEROES: every segment in range; unmap only for write zeroes (R-BLK-08). */
static uint8_t blk_fake_ranges(struct blk_fake *d, uint32_t type, const uint8_t *p, uint32_t len)
{
	uint32_t i;

	if (len == 0 || len % 16)
		d->violations++;
	for (i = 0; i + 16 <= len; i += 16) {
		struct virtio_blk_discard_write_zeroes seg;

		memcpy(&seg, p + i, sizeof(seg));
		if (seg.sector + seg.num_sectors > DISK_SECTORS)
			return VIRTIO_BLK_S_IOERR;
		if (type == VIRTIO_BLK_T_DISCARD && seg.flags != 0)
			d->violations++;
		memset(d->disk + seg.sector * 512, 0, (size_t)seg.num_sectors * 512);
	}
	return VIRTIO_BLK_S_OK;
}

/* IN / OUT against d->disk. Return: the status; *@written: data bytes written */
static uint8_t blk_fake_rw(struct blk_fake *d, const struct virtio_blk_outhdr *h,
			   struct vring_iov *w, unsigned int nw, uint32_t len, uint32_t *written)
{
	if (len == 0 || len % 512) /* R-BLK-05 */
		d->violations++;
	if (h->sector > DISK_SECTORS || len / 512 > DISK_SECTORS - h->sector)
		return VIRTIO_BLK_S_IOERR;
	if (h->type == VIRTIO_BLK_T_IN) {
		if (!d->skip_data)
			copy_to_iov(w, nw, d->disk + h->sector * 512, len);
		*written = len;
	} else {
		memcpy(d->disk + h->sector * 512, d->scratch + sizeof(*h), len);
	}
	return VIRTIO_BLK_S_OK;
}

/* Check and record the request's shape; copy its readable part to d->scratch. */
static bool blk_fake_parse(struct blk_fake *d, const struct vring_chain *c,
			   const struct vring_iov *iov, struct virtio_blk_outhdr *h)
{
	uint32_t data_out;

	d->requests++;
	d->last_readable = c->readable;
	d->last_writable = c->writable;
	d->last_readable_bytes = c->readable_bytes;
	d->last_writable_bytes = c->writable_bytes;
	if (c->readable_bytes < sizeof(*h) || c->writable_bytes < 1 ||
	    c->readable_bytes > SCRATCH_BYTES) {
		d->violations++;
		return false;
	}
	copy_from_iov(d->scratch, iov, c->readable);
	memcpy(h, d->scratch, sizeof(*h));
	d->last_hdr = *h;
	data_out = c->readable_bytes - (uint32_t)sizeof(*h);
	memcpy(d->last_payload, d->scratch + sizeof(*h),
	       data_out < sizeof(d->last_payload) ? data_out : sizeof(d->last_payload));
	/* §5.2.6: reserved is 0; sector is 0 except for IN and OUT (R-BLK-04). */
	if (h->reserved || (h->type != VIRTIO_BLK_T_IN && h->type != VIRTIO_BLK_T_OUT && h->sector))
		d->violations++;
	return true;
}

/* The device: check the request, serve it from d->disk, status in the last writable byte. */
static uint32_t blk_fake_handler(struct fake_dev *fd, unsigned int q, const struct vring_chain *c,
				 struct vring_iov *iov)
{
	struct blk_fake *d = fd->priv;
	struct vring_iov *w = iov + c->readable, *last;
	uint32_t data_in = c->writable_bytes ? c->writable_bytes - 1 : 0;
	uint32_t data_out = c->readable_bytes - 16, written = 0;
	struct virtio_blk_outhdr h;
	uint8_t status = VIRTIO_BLK_S_OK;

	(void)q;
	if (!blk_fake_parse(d, c, iov, &h))
		return 0;
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		status = blk_fake_rw(d, &h, w, c->writable,
				     h.type == VIRTIO_BLK_T_IN ? data_in : data_out, &written);
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (data_out || data_in)
			d->violations++;
		break;
	case VIRTIO_BLK_T_GET_ID:
		if (data_in != VIRTIO_BLK_ID_BYTES) /* R-BLK-05 */
			d->violations++;
		copy_to_iov(w, c->writable, (const uint8_t *)d->id, sizeof(d->id));
		written = sizeof(d->id);
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		status = blk_fake_ranges(d, h.type, d->scratch + sizeof(h), data_out);
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
	}
	if (d->force_status != NO_FORCE)
		status = (uint8_t)d->force_status;
	last = &w[c->writable - 1];
	((uint8_t *)last->base)[last->len - 1] = status;
	if (d->force_used_len != NO_FORCE)
		return (uint32_t)d->force_used_len;
	return written + 1;
}

static void set_config(struct fake_dev *fd, size_t off, const void *v, size_t len)
{
	memcpy(fd->config + off, v, len);
}

#define CFG(field) offsetof(struct virtio_blk_config, field)

static int fixture_setup(void **state)
{
	struct blk_fixture *f = calloc(1, sizeof(*f));
	uint64_t cap = DISK_SECTORS;

	assert_non_null(f);
	f->dev.disk = calloc(1, DISK_BYTES);
	f->dev.scratch = calloc(1, SCRATCH_BYTES);
	assert_non_null(f->dev.disk);
	assert_non_null(f->dev.scratch);
	f->dev.force_status = NO_FORCE;
	f->dev.force_used_len = NO_FORCE;
	memcpy(f->dev.id, "vireo-test-id", 13);
	virtio_bus_init(&f->bus);
	assert_int_equal(
		fake_dev_init(&f->fd, VIRTIO_ID_BLOCK, VIRTIO_BIT(VIRTIO_F_VERSION_1), 4u << 20),
		0);
	f->fd.handler = blk_fake_handler;
	f->fd.priv = &f->dev;
	set_config(&f->fd, CFG(capacity), &cap, sizeof(cap));
	*state = f;
	return 0;
}

static int fixture_teardown(void **state)
{
	struct blk_fixture *f = *state;

	if (f->fd.vdev.bus)
		unregister_virtio_device(&f->fd.vdev);
	virtio_blk_unregister(&f->bus, &f->bd);
	assert_int_equal(f->dev.violations, 0);
	assert_false(f->fd.device_error);
	assert_false(f->fd.kick_before_driver_ok);
	fake_dev_destroy(&f->fd);
	free(f->dev.disk);
	free(f->dev.scratch);
	free(f);
	return 0;
}

/* Bind the driver to the fake device offering VERSION_1 | @features. */
static void start(struct blk_fixture *f, uint64_t features)
{
	f->fd.offered |= features;
	assert_int_equal(virtio_blk_register(&f->bus, &f->bd), 0);
	assert_int_equal(register_virtio_device(&f->bus, &f->fd.vdev), 0);
	f->blk = virtio_blk_from_device(virtio_bus_find(&f->bus, VIRTIO_ID_BLOCK, 0));
	assert_non_null(f->blk);
}

static void fill_pattern(uint8_t *p, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 9));
}

static void test_probe_reads_config(void **state)
{
	struct blk_fixture *f = *state;
	uint32_t blk_size = 4096, seg_max = 7;

	set_config(&f->fd, CFG(blk_size), &blk_size, 4);
	set_config(&f->fd, CFG(seg_max), &seg_max, 4);
	start(f, VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
			 VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) | VIRTIO_BIT(VIRTIO_BLK_F_GEOMETRY));
	assert_int_equal(virtio_blk_capacity(f->blk), DISK_SECTORS);
	assert_int_equal(virtio_blk_blk_size(f->blk), 4096);
	assert_int_equal(virtio_blk_seg_max(f->blk), 7);
	assert_int_equal(virtio_blk_size_max(f->blk), 0);
	assert_false(virtio_blk_read_only(f->blk));
	assert_int_equal(virtio_blk_num_queues(f->blk), 1);
	assert_int_equal(virtio_blk_queue_size(f->blk, 0), 64);
	assert_int_equal(virtio_blk_queue_size(f->blk, 1), 0);
	assert_true(virtio_blk_has_feature(f->blk, VIRTIO_BLK_F_FLUSH));
	/* Offered but not implemented by the driver: not negotiated. */
	assert_false(virtio_blk_has_feature(f->blk, VIRTIO_BLK_F_GEOMETRY));
	assert_true(f->fd.status & VIRTIO_STATUS_DRIVER_OK);
	assert_null(virtio_blk_from_device(NULL));
}

static void test_write_read_format(void **state)
{
	struct blk_fixture *f = *state;
	uint8_t out[3 * 512], in[3 * 512];

	start(f, 0);
	fill_pattern(out, sizeof(out), 1);
	assert_int_equal(virtio_blk_write(f->blk, 10, out, sizeof(out)), 0);
	assert_int_equal(f->dev.last_hdr.type, VIRTIO_BLK_T_OUT);
	assert_int_equal(f->dev.last_hdr.sector, 10);
	assert_int_equal(f->dev.last_readable_bytes, 16 + sizeof(out));
	assert_int_equal(f->dev.last_writable_bytes, 1);
	assert_int_equal(f->dev.last_readable, 2); /* header, data */
	assert_memory_equal(f->dev.disk + 10 * 512, out, sizeof(out));

	memset(in, 0, sizeof(in));
	assert_int_equal(virtio_blk_read(f->blk, 10, in, sizeof(in)), 0);
	assert_int_equal(f->dev.last_hdr.type, VIRTIO_BLK_T_IN);
	assert_int_equal(f->dev.last_hdr.sector, 10);
	assert_int_equal(f->dev.last_readable_bytes, 16);
	assert_int_equal(f->dev.last_writable_bytes, sizeof(in) + 1);
	assert_int_equal(f->dev.last_writable, 2); /* data, status */
	assert_memory_equal(in, out, sizeof(in));
	assert_int_equal(f->dev.requests, 2);
}

/* Larger than the bounce buffer: split into several requests, all bytes land. */
static void test_large_io_is_chunked(void **state)
{
	struct blk_fixture *f = *state;
	size_t len = 3 * VIRTIO_BLK_BOUNCE_SIZE + 1024;
	uint8_t *out = malloc(len), *in = malloc(len);

	assert_non_null(out);
	assert_non_null(in);
	start(f, VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC));
	fill_pattern(out, len, 9);
	assert_int_equal(virtio_blk_write(f->blk, 4, out, len), 0);
	assert_int_equal(f->dev.requests, 4);
	assert_memory_equal(f->dev.disk + 4 * 512, out, len);
	assert_int_equal(virtio_blk_read(f->blk, 4, in, len), 0);
	assert_memory_equal(in, out, len);
	free(out);
	free(in);
}

/* VIRTIO_BLK_F_SIZE_MAX: data split into segments of at most size_max bytes. */
static void test_size_max_splits_segments(void **state)
{
	struct blk_fixture *f = *state;
	uint32_t size_max = 4096;
	uint8_t buf[16384];

	set_config(&f->fd, CFG(size_max), &size_max, 4);
	start(f, VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX));
	assert_int_equal(virtio_blk_size_max(f->blk), 4096);
	fill_pattern(buf, sizeof(buf), 3);
	assert_int_equal(virtio_blk_write(f->blk, 0, buf, sizeof(buf)), 0);
	assert_int_equal(f->dev.last_readable, 1 + 4);
	assert_memory_equal(f->dev.disk, buf, sizeof(buf));
}

/* R-BLK-04: FLUSH has sector 0 and no data; without F_FLUSH nothing is sent. */
static void test_flush(void **state)
{
	struct blk_fixture *f = *state;
	struct virtio_blk_request req = {.type = VIRTIO_BLK_T_FLUSH}, *done[1];

	start(f, VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
	assert_int_equal(virtio_blk_flush(f->blk), 0);
	assert_int_equal(f->dev.requests, 1);
	assert_int_equal(f->dev.last_hdr.type, VIRTIO_BLK_T_FLUSH);
	assert_int_equal(f->dev.last_hdr.sector, 0);
	assert_int_equal(f->dev.last_readable_bytes, 16);
	assert_int_equal(f->dev.last_writable_bytes, 1);
	/* An async FLUSH carrying a sector is still sent with sector 0. */
	req.sector = 123;
	assert_int_equal(virtio_blk_submit(f->blk, 0, &req), 0);
	assert_int_equal(virtio_blk_poll(f->blk, 0, done, 1, -1), 1);
	assert_ptr_equal(done[0], &req);
	assert_int_equal(req.result, 0);
	assert_int_equal(f->dev.requests, 2);
	assert_int_equal(f->dev.last_hdr.sector, 0);
}

static void test_flush_without_feature(void **state)
{
	struct blk_fixture *f = *state;

	start(f, 0);
	assert_int_equal(virtio_blk_flush(f->blk), 0);
	assert_int_equal(f->dev.requests, 0);
}

/* R-BLK-05/08: one 16-byte segment; discard has unmap 0, write zeroes may set it. */
static void test_discard_write_zeroes_format(void **state)
{
	struct blk_fixture *f = *state;
	struct virtio_blk_discard_write_zeroes seg;
	uint32_t max = 64, one = 1;

	set_config(&f->fd, CFG(max_discard_sectors), &max, 4);
	set_config(&f->fd, CFG(max_discard_seg), &one, 4);
	set_config(&f->fd, CFG(max_write_zeroes_sectors), &max, 4);
	set_config(&f->fd, CFG(max_write_zeroes_seg), &one, 4);
	start(f, VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES));
	memset(f->dev.disk, 0xee, DISK_BYTES);

	assert_int_equal(virtio_blk_discard(f->blk, 100, 8), 0);
	assert_int_equal(f->dev.last_hdr.type, VIRTIO_BLK_T_DISCARD);
	assert_int_equal(f->dev.last_hdr.sector, 0);
	assert_int_equal(f->dev.last_readable_bytes, 16 + 16);
	memcpy(&seg, f->dev.last_payload, sizeof(seg));
	assert_int_equal(seg.sector, 100);
	assert_int_equal(seg.num_sectors, 8);
	assert_int_equal(seg.flags, 0);

	assert_int_equal(virtio_blk_write_zeroes(f->blk, 200, 4, true), 0);
	assert_int_equal(f->dev.last_hdr.type, VIRTIO_BLK_T_WRITE_ZEROES);
	memcpy(&seg, f->dev.last_payload, sizeof(seg));
	assert_int_equal(seg.sector, 200);
	assert_int_equal(seg.num_sectors, 4);
	assert_int_equal(seg.flags, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	assert_int_equal(f->dev.disk[200 * 512], 0);
	assert_int_equal(f->dev.disk[204 * 512], 0xee);
	assert_int_equal(virtio_blk_write_zeroes(f->blk, 300, 1, false), 0);
	memcpy(&seg, f->dev.last_payload, sizeof(seg));
	assert_int_equal(seg.flags, 0);

	/* Above max_discard_sectors, or past the end: refused before sending. */
	assert_int_equal(virtio_blk_discard(f->blk, 0, max + 1), -EINVAL);
	assert_int_equal(virtio_blk_write_zeroes(f->blk, DISK_SECTORS - 1, 2, false), -EINVAL);
	assert_int_equal(f->dev.requests, 3);
}

static void test_discard_not_negotiated(void **state)
{
	struct blk_fixture *f = *state;

	/* Offered by the device, refused by the caller's option. */
	f->bd.refuse_features = VIRTIO_BIT(VIRTIO_BLK_F_DISCARD);
	start(f, VIRTIO_BIT(VIRTIO_BLK_F_DISCARD));
	assert_false(virtio_blk_has_feature(f->blk, VIRTIO_BLK_F_DISCARD));
	assert_int_equal(virtio_blk_discard(f->blk, 0, 1), -EOPNOTSUPP);
	assert_int_equal(virtio_blk_write_zeroes(f->blk, 0, 1, false), -EOPNOTSUPP);
	assert_int_equal(f->dev.requests, 0);
}

static void test_get_id(void **state)
{
	struct blk_fixture *f = *state;
	char id[VIRTIO_BLK_ID_BYTES + 1];

	start(f, 0);
	memset(id, 'x', sizeof(id));
	assert_int_equal(virtio_blk_get_id(f->blk, id), 0);
	assert_string_equal(id, "vireo-test-id");
	assert_int_equal(f->dev.last_hdr.type, VIRTIO_BLK_T_GET_ID);
	assert_int_equal(f->dev.last_writable_bytes, VIRTIO_BLK_ID_BYTES + 1);
	/* All 20 bytes used: no NUL from the device, one from the driver. */
	memcpy(f->dev.id, "ABCDEFGHIJKLMNOPQRST", VIRTIO_BLK_ID_BYTES);
	assert_int_equal(virtio_blk_get_id(f->blk, id), 0);
	assert_string_equal(id, "ABCDEFGHIJKLMNOPQRST");
}

static void test_status_mapping(void **state)
{
	struct blk_fixture *f = *state;
	uint8_t buf[512] = {0};
	char id[VIRTIO_BLK_ID_BYTES + 1];

	start(f, VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
	f->dev.force_status = VIRTIO_BLK_S_IOERR;
	assert_int_equal(virtio_blk_read(f->blk, 0, buf, sizeof(buf)), -EIO);
	assert_int_equal(virtio_blk_write(f->blk, 0, buf, sizeof(buf)), -EIO);
	f->dev.force_status = VIRTIO_BLK_S_UNSUPP;
	assert_int_equal(virtio_blk_flush(f->blk), -EOPNOTSUPP);
	assert_int_equal(virtio_blk_get_id(f->blk, id), -EOPNOTSUPP);
	assert_string_equal(id, "");
	f->dev.force_status = 7; /* not a status the spec defines */
	assert_int_equal(virtio_blk_read(f->blk, 0, buf, sizeof(buf)), -EIO);
	f->dev.force_status = NO_FORCE;
	assert_int_equal(virtio_blk_read(f->blk, 0, buf, sizeof(buf)), 0);
}

/* VIRTIO_BLK_F_RO: writes refused before anything reaches the device. */
static void test_read_only(void **state)
{
	struct blk_fixture *f = *state;
	uint8_t buf[512] = {0};
	struct virtio_blk_request req = {.type = VIRTIO_BLK_T_OUT, .len = 512};

	start(f, VIRTIO_BIT(VIRTIO_BLK_F_RO) | VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |
			 VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES));
	assert_true(virtio_blk_read_only(f->blk));
	assert_int_equal(virtio_blk_write(f->blk, 0, buf, sizeof(buf)), -EROFS);
	assert_int_equal(virtio_blk_discard(f->blk, 0, 1), -EROFS);
	assert_int_equal(virtio_blk_write_zeroes(f->blk, 0, 1, false), -EROFS);
	req.data = virtio_blk_alloc_buffer(f->blk, 512);
	assert_non_null(req.data);
	assert_int_equal(virtio_blk_submit(f->blk, 0, &req), -EROFS);
	assert_int_equal(f->dev.requests, 0);
	assert_int_equal(virtio_blk_read(f->blk, 0, buf, sizeof(buf)), 0);
	assert_int_equal(f->dev.requests, 1);
	virtio_blk_free_buffer(f->blk, req.data);
}

/* R-BLK-03: nothing reaches beyond capacity; R-BLK-05: whole sectors only. */
static void test_out_of_range(void **state)
{
	struct blk_fixture *f = *state;
	uint8_t buf[1024] = {0};

	start(f, 0);
	assert_int_equal(virtio_blk_read(f->blk, DISK_SECTORS - 1, buf, 1024), -EINVAL);
	assert_int_equal(virtio_blk_write(f->blk, DISK_SECTORS, buf, 512), -EINVAL);
	assert_int_equal(virtio_blk_read(f->blk, UINT64_MAX, buf, 512), -EINVAL);
	assert_int_equal(virtio_blk_read(f->blk, 0, buf, 100), -EINVAL);
	assert_int_equal(f->dev.requests, 0);
	assert_int_equal(virtio_blk_read(f->blk, DISK_SECTORS - 2, buf, 1024), 0);
}

static void test_capacity_change(void **state)
{
	struct blk_fixture *f = *state;
	uint64_t cap = DISK_SECTORS / 2;
	uint8_t buf[512] = {0};

	start(f, 0);
	set_config(&f->fd, CFG(capacity), &cap, sizeof(cap));
	f->fd.generation++;
	virtio_config_changed(&f->fd.vdev);
	assert_int_equal(virtio_blk_capacity(f->blk), DISK_SECTORS / 2);
	assert_int_equal(virtio_blk_read(f->blk, DISK_SECTORS / 2, buf, 512), -EINVAL);
}

/* Requests are freed by the caller; helper for the async tests. */
static void alloc_requests(struct blk_fixture *f, struct virtio_blk_request *reqs,
			   struct virtio_blk_request **ptrs, unsigned int n, uint32_t type)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		reqs[i] = (struct virtio_blk_request){
			.type = type, .sector = i * 8u, .len = 4096, .token = &reqs[i]};
		reqs[i].data = virtio_blk_alloc_buffer(f->blk, 4096);
		assert_non_null(reqs[i].data);
		fill_pattern(reqs[i].data, 4096, (uint8_t)i);
		ptrs[i] = &reqs[i];
	}
}

static void free_requests(struct blk_fixture *f, struct virtio_blk_request *reqs, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		virtio_blk_free_buffer(f->blk, reqs[i].data);
}

/* Drain @queue until @n completions arrived; check every one. */
static void collect(struct blk_fixture *f, unsigned int queue, unsigned int n)
{
	struct virtio_blk_request *done[8];
	unsigned int got = 0;

	while (got < n) {
		int r = virtio_blk_poll(f->blk, queue, done, 8, -1);
		int i;

		assert_true(r > 0);
		for (i = 0; i < r; i++) {
			assert_ptr_equal(done[i]->token, done[i]);
			assert_int_equal(done[i]->result, 0);
			assert_int_equal(done[i]->status, VIRTIO_BLK_S_OK);
		}
		got += (unsigned int)r;
	}
	assert_int_equal(got, n);
}

/* 32 writes in flight, one batch, one kick; all complete with their data on disk. */
static void test_async_many_in_flight(void **state)
{
	struct blk_fixture *f = *state;
	struct virtio_blk_request reqs[32], *ptrs[32], *none[1];
	unsigned int i;

	f->fd.defer = true;
	start(f, VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
	alloc_requests(f, reqs, ptrs, 32, VIRTIO_BLK_T_OUT);
	assert_int_equal(virtio_blk_submit_batch(f->blk, 0, ptrs, 32), 32);
	assert_int_equal(virtio_blk_in_flight(f->blk, 0), 32);
	assert_int_equal(fake_dev_kicks(&f->fd, 0), 1);
	assert_int_equal(f->dev.requests, 0);
	assert_int_equal(virtio_blk_poll(f->blk, 0, none, 1, 0), 0); /* nothing used yet */
	collect(f, 0, 32);
	assert_int_equal(virtio_blk_in_flight(f->blk, 0), 0);
	for (i = 0; i < 32; i++)
		assert_memory_equal(f->dev.disk + i * 8 * 512, reqs[i].data, 4096);
	/* Reads back through the same requests. */
	for (i = 0; i < 32; i++) {
		reqs[i].type = VIRTIO_BLK_T_IN;
		memset(reqs[i].data, 0, 4096);
	}
	assert_int_equal(virtio_blk_submit_batch(f->blk, 0, ptrs, 32), 32);
	collect(f, 0, 32);
	for (i = 0; i < 32; i++) {
		assert_memory_equal(f->dev.disk + i * 8 * 512, reqs[i].data, 4096);
		assert_int_equal(reqs[i].written, 4096 + 1);
	}
	free_requests(f, reqs, 32);
}

/* Without indirect each request takes 3 descriptors: a ring of 8 holds 2. */
static void test_async_ring_full(void **state)
{
	struct blk_fixture *f = *state;
	struct virtio_blk_request reqs[4], *ptrs[4];

	f->fd.defer = true;
	f->fd.queue_size = 8;
	start(f, 0);
	alloc_requests(f, reqs, ptrs, 4, VIRTIO_BLK_T_OUT);
	assert_int_equal(virtio_blk_submit_batch(f->blk, 0, ptrs, 4), 2);
	assert_int_equal(virtio_blk_submit(f->blk, 0, ptrs[2]), -EAGAIN);
	assert_int_equal(virtio_blk_submit_batch(f->blk, 0, ptrs + 2, 2), -EAGAIN);
	collect(f, 0, 2);
	assert_int_equal(virtio_blk_submit_batch(f->blk, 0, ptrs + 2, 2), 2);
	collect(f, 0, 2);
	free_requests(f, reqs, 4);
}

/* With indirect each request takes one descriptor: the ring of 8 holds 8. */
static void test_async_ring_full_indirect(void **state)
{
	struct blk_fixture *f = *state;
	struct virtio_blk_request reqs[9], *ptrs[9];

	f->fd.defer = true;
	f->fd.queue_size = 8;
	start(f, VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC));
	alloc_requests(f, reqs, ptrs, 9, VIRTIO_BLK_T_OUT);
	assert_int_equal(virtio_blk_submit_batch(f->blk, 0, ptrs, 9), 8);
	assert_int_equal(virtio_blk_submit(f->blk, 0, ptrs[8]), -EAGAIN);
	collect(f, 0, 8);
	assert_int_equal(virtio_blk_submit(f->blk, 0, ptrs[8]), 0);
	collect(f, 0, 1);
	free_requests(f, reqs, 9);
}

static void test_async_validation(void **state)
{
	struct blk_fixture *f = *state;
	struct virtio_blk_request req = {.type = VIRTIO_BLK_T_IN, .len = 512};
	struct virtio_blk_request flush = {.type = VIRTIO_BLK_T_FLUSH}, *done[2];
	uint8_t heap[512];

	start(f, 0);
	req.data = heap; /* not DMA memory */
	assert_int_equal(virtio_blk_submit(f->blk, 0, &req), -EINVAL);
	req.data = virtio_blk_alloc_buffer(f->blk, 1024);
	req.len = 100;
	assert_int_equal(virtio_blk_submit(f->blk, 0, &req), -EINVAL);
	req.len = 1024;
	req.sector = DISK_SECTORS - 1;
	assert_int_equal(virtio_blk_submit(f->blk, 0, &req), -EINVAL);
	req.sector = 0;
	assert_int_equal(virtio_blk_submit(f->blk, 1, &req), -EINVAL);
	assert_int_equal(virtio_blk_poll(f->blk, 1, done, 2, 0), -EINVAL);
	req.type = VIRTIO_BLK_T_GET_LIFETIME;
	assert_int_equal(virtio_blk_submit(f->blk, 0, &req), -EOPNOTSUPP);
	req.type = VIRTIO_BLK_T_DISCARD;
	assert_int_equal(virtio_blk_submit(f->blk, 0, &req), -EOPNOTSUPP);
	assert_int_equal(f->dev.requests, 0);
	/* FLUSH without F_FLUSH completes at once, without the device. */
	assert_int_equal(virtio_blk_submit(f->blk, 0, &flush), 0);
	assert_int_equal(virtio_blk_poll(f->blk, 0, done, 2, 0), 1);
	assert_ptr_equal(done[0], &flush);
	assert_int_equal(flush.result, 0);
	assert_int_equal(f->dev.requests, 0);
	virtio_blk_free_buffer(f->blk, req.data);
}

/* An async completion met by a sync call is kept for the next poll. */
static void test_sync_keeps_async_completions(void **state)
{
	struct blk_fixture *f = *state;
	struct virtio_blk_request reqs[2], *ptrs[2], *done[4];
	uint8_t buf[512];

	f->fd.defer = true;
	start(f, 0);
	alloc_requests(f, reqs, ptrs, 2, VIRTIO_BLK_T_OUT);
	assert_int_equal(virtio_blk_submit_batch(f->blk, 0, ptrs, 2), 2);
	assert_int_equal(virtio_blk_read(f->blk, 1000, buf, sizeof(buf)), 0);
	assert_int_equal(virtio_blk_poll(f->blk, 0, done, 4, 0), 2);
	assert_ptr_equal(done[0], &reqs[0]);
	assert_ptr_equal(done[1], &reqs[1]);
	free_requests(f, reqs, 2);
}

/* VIRTIO_BLK_F_MQ: num_queues from config, capped by the driver option. */
static void test_multiqueue(void **state)
{
	struct blk_fixture *f = *state;
	struct virtio_blk_request reqs[2], *ptrs[2];
	uint16_t nq = 4;

	set_config(&f->fd, CFG(num_queues), &nq, sizeof(nq));
	f->bd.max_queues = 2;
	start(f, VIRTIO_BIT(VIRTIO_BLK_F_MQ) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
	assert_int_equal(virtio_blk_num_queues(f->blk), 2);
	assert_int_equal(f->fd.nvqs, 2);
	alloc_requests(f, reqs, ptrs, 2, VIRTIO_BLK_T_OUT);
	assert_int_equal(virtio_blk_submit(f->blk, 1, ptrs[0]), 0);
	assert_int_equal(virtio_blk_submit(f->blk, 0, ptrs[1]), 0);
	assert_int_equal(fake_dev_kicks(&f->fd, 1), 1);
	collect(f, 1, 1);
	collect(f, 0, 1);
	assert_int_equal(virtio_blk_submit(f->blk, 2, ptrs[0]), -EINVAL);
	free_requests(f, reqs, 2);
}

/* Unbinding with requests in flight: the reset comes first, nothing leaks (ASan). */
static void test_unbind_with_in_flight(void **state)
{
	struct blk_fixture *f = *state;
	struct virtio_blk_request reqs[4], *ptrs[4];

	f->fd.defer = true;
	start(f, 0);
	alloc_requests(f, reqs, ptrs, 4, VIRTIO_BLK_T_IN);
	assert_int_equal(virtio_blk_submit_batch(f->blk, 0, ptrs, 4), 4);
	free_requests(f, reqs, 4);
	unregister_virtio_device(&f->fd.vdev);
	assert_null(virtio_blk_from_device(&f->fd.vdev));
	assert_int_equal(f->fd.nvqs, 0);
}

/* STYLE checklist item 6: a used id that is not ours breaks the queue: -EIO, not a crash. */
static void test_hostile_used_id(void **state)
{
	struct blk_fixture *f = *state;
	struct virtio_blk_request reqs[1], *ptrs[1], *done[1];
	struct virtq_used *used;
	uint8_t buf[512];

	f->fd.defer = true;
	start(f, 0);
	alloc_requests(f, reqs, ptrs, 1, VIRTIO_BLK_T_IN);
	assert_int_equal(virtio_blk_submit(f->blk, 0, ptrs[0]), 0);
	used = (struct virtq_used *)((char *)f->fd.dma.base +
				     (f->fd.vqs[0]->mem.used_addr - FAKE_DMA_BASE));
	used->ring[0].id = 999;
	used->ring[0].len = 0;
	used->idx = 1;
	assert_int_equal(virtio_blk_poll(f->blk, 0, done, 1, 0), -EIO);
	assert_int_equal(virtio_blk_poll(f->blk, 0, done, 1, -1), -EIO);
	assert_int_equal(virtio_blk_read(f->blk, 0, buf, sizeof(buf)), -EIO);
	free_requests(f, reqs, 1);
	f->fd.defer = false;
}

/*
 * R-SR-09 (drv:BF/Virtqueues/The Virtqueue Used Ring): nothing beyond the used
 * len may be relied on. A device claiming S_OK for a read while its used len
 * stops short of data + status must not hand the caller stale bounce bytes.
 */
static void test_short_read_is_eio(void **state)
{
	struct blk_fixture *f = *state;
	uint8_t buf[4096], want[4096];
	char id[VIRTIO_BLK_ID_BYTES + 1];
	const int64_t lies[] = {0, 1, 100, sizeof(buf)};
	unsigned int i;

	start(f, 0);
	fill_pattern(f->dev.disk, 8 * 512, 0x11);
	fill_pattern(f->dev.disk + 8 * 512, 8 * 512, 0x77);
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
	f->dev.force_used_len = NO_FORCE;
	assert_int_equal(virtio_blk_read(f->blk, 8, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, f->dev.disk + 8 * 512, sizeof(buf));
	assert_int_equal(f->dev.requests, 8);
}

/* OUT / FLUSH: the status byte is the whole writable part; used len 0 does not cover it. */
static void test_status_not_covered_is_eio(void **state)
{
	struct blk_fixture *f = *state;
	uint8_t buf[512] = {0};

	start(f, VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
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
	struct blk_fixture *f = *state;
	struct virtio_blk_request reqs[2], *ptrs[2], *done[2];

	f->fd.defer = true;
	start(f, 0);
	alloc_requests(f, reqs, ptrs, 2, VIRTIO_BLK_T_IN);
	f->dev.force_used_len = 100;
	assert_int_equal(virtio_blk_submit(f->blk, 0, ptrs[0]), 0);
	assert_int_equal(virtio_blk_poll(f->blk, 0, done, 2, -1), 1);
	assert_ptr_equal(done[0], &reqs[0]);
	assert_int_equal(reqs[0].written, 100);
	assert_int_equal(reqs[0].result, -EIO);
	assert_int_not_equal(reqs[0].status, VIRTIO_BLK_S_OK);
	/* The full length: success, and the length is reported. */
	f->dev.force_used_len = NO_FORCE;
	assert_int_equal(virtio_blk_submit(f->blk, 0, ptrs[1]), 0);
	assert_int_equal(virtio_blk_poll(f->blk, 0, done, 2, -1), 1);
	assert_int_equal(reqs[1].written, 4096 + 1);
	assert_int_equal(reqs[1].result, 0);
	assert_int_equal(reqs[1].status, VIRTIO_BLK_S_OK);
	free_requests(f, reqs, 2);
}

/* Start expecting the probe to fail with @err: the device is left FAILED, nothing bound. */
static void start_refused(struct blk_fixture *f, uint64_t features, int err)
{
	f->fd.offered |= features;
	assert_int_equal(virtio_blk_register(&f->bus, &f->bd), 0);
	assert_int_equal(register_virtio_device(&f->bus, &f->fd.vdev), err);
	assert_null(virtio_blk_from_device(&f->fd.vdev));
	assert_true(f->fd.status & VIRTIO_STATUS_FAILED);
	assert_false(f->fd.status & VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(f->fd.nvqs, 0);
}

/* size_max below one sector (0 included) cannot carry any request: refused in probe. */
static void test_size_max_below_sector(void **state)
{
	struct blk_fixture *f = *state;
	const uint32_t bad[] = {0, 1, 511};
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		set_config(&f->fd, CFG(size_max), &bad[i], 4);
		start_refused(f, VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX), -EINVAL);
		unregister_virtio_device(&f->fd.vdev);
		virtio_blk_unregister(&f->bus, &f->bd);
	}
	/* 512 is the smallest usable value: one sector per segment. */
	set_config(&f->fd, CFG(size_max), &(uint32_t){512}, 4);
	start(f, VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX));
	assert_int_equal(virtio_blk_size_max(f->blk), 512);
	fill_pattern(f->dev.disk, 2048, 5);
	{
		uint8_t buf[2048];

		assert_int_equal(virtio_blk_read(f->blk, 0, buf, sizeof(buf)), 0);
		assert_memory_equal(buf, f->dev.disk, sizeof(buf));
		assert_int_equal(f->dev.last_writable, 4 + 1);
	}
}

/* seg_max 0 is taken as 1: one data segment per request, I/O still works. */
static void test_seg_max_zero(void **state)
{
	struct blk_fixture *f = *state;
	uint32_t zero = 0, size_max = 4096;
	uint8_t out[16384], in[16384];

	set_config(&f->fd, CFG(seg_max), &zero, 4);
	set_config(&f->fd, CFG(size_max), &size_max, 4);
	start(f, VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX));
	assert_int_equal(virtio_blk_seg_max(f->blk), 1);
	fill_pattern(out, sizeof(out), 21);
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
	struct blk_fixture *f = *state;
	uint32_t huge = UINT32_MAX, size_max = 512;
	size_t len = 2 * 128 * 512;
	uint8_t *out = malloc(len), *in = malloc(len);

	assert_non_null(out);
	assert_non_null(in);
	fill_pattern(out, len, 33);
	set_config(&f->fd, CFG(seg_max), &huge, 4);
	set_config(&f->fd, CFG(size_max), &size_max, 4);
	/* Without indirect: header + 62 data + status fill the 64-entry ring, no more. */
	start(f, VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX));
	assert_int_equal(virtio_blk_seg_max(f->blk), 64 - 2);
	assert_int_equal(virtio_blk_write(f->blk, 0, out, 62 * 512), 0);
	assert_int_equal(f->dev.requests, 1);
	assert_int_equal(f->dev.last_readable, 1 + 62);
	unregister_virtio_device(&f->fd.vdev);
	virtio_blk_unregister(&f->bus, &f->bd);
	/* A 256-entry ring: our own cap of 128 segments (the stack sg array), 64 KiB a chunk. */
	f->dev.requests = 0;
	f->fd.queue_size = 256;
	start(f, 0);
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
	struct blk_fixture *f = *state;
	uint16_t nq = 0;
	uint8_t buf[512];

	set_config(&f->fd, CFG(num_queues), &nq, sizeof(nq));
	start(f, VIRTIO_BIT(VIRTIO_BLK_F_MQ));
	assert_int_equal(virtio_blk_num_queues(f->blk), 1);
	assert_int_equal(last_find_vqs(&f->fd), 1);
	assert_int_equal(virtio_blk_read(f->blk, 0, buf, sizeof(buf)), 0);
	unregister_virtio_device(&f->fd.vdev);
	virtio_blk_unregister(&f->bus, &f->bd);
	/* 65535 queues offered: 64 asked for (more than this fake has: the probe fails). */
	nq = UINT16_MAX;
	set_config(&f->fd, CFG(num_queues), &nq, sizeof(nq));
	f->fd.nevents = 0;
	start_refused(f, 0, -EINVAL);
	assert_int_equal(last_find_vqs(&f->fd), 64);
	unregister_virtio_device(&f->fd.vdev);
	virtio_blk_unregister(&f->bus, &f->bd);
	/* Within the fake's 8: as many as offered. */
	nq = 5;
	set_config(&f->fd, CFG(num_queues), &nq, sizeof(nq));
	start(f, 0);
	assert_int_equal(virtio_blk_num_queues(f->blk), 5);
	assert_int_equal(f->fd.nvqs, 5);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_probe_reads_config),
		T(test_write_read_format),
		T(test_large_io_is_chunked),
		T(test_size_max_splits_segments),
		T(test_flush),
		T(test_flush_without_feature),
		T(test_discard_write_zeroes_format),
		T(test_discard_not_negotiated),
		T(test_get_id),
		T(test_status_mapping),
		T(test_read_only),
		T(test_out_of_range),
		T(test_capacity_change),
		T(test_async_many_in_flight),
		T(test_async_ring_full),
		T(test_async_ring_full_indirect),
		T(test_async_validation),
		T(test_sync_keeps_async_completions),
		T(test_multiqueue),
		T(test_unbind_with_in_flight),
		T(test_hostile_used_id),
		T(test_short_read_is_eio),
		T(test_status_not_covered_is_eio),
		T(test_async_short_read),
		T(test_size_max_below_sector),
		T(test_seg_max_zero),
		T(test_seg_max_huge),
		T(test_num_queues_bounds),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
