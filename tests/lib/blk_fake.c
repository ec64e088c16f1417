// SPDX-License-Identifier: MIT
/*
 * The in-memory virtio-blk device and driver fixture shared by the
 * virtio-blk driver tests; see blk_fake.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/blk_fake.h"

#define DISK_SECTORS BLK_FAKE_DISK_SECTORS
#define SCRATCH_BYTES BLK_FAKE_SCRATCH_BYTES

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
		struct vireo_blk_discard_write_zeroes seg;

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
static uint8_t blk_fake_rw(struct blk_fake *d, const struct vireo_blk_outhdr *h,
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
			   const struct vring_iov *iov, struct vireo_blk_outhdr *h)
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
	struct vireo_blk_outhdr h;
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
	if (d->force_status != BLK_FAKE_NO_FORCE)
		status = (uint8_t)d->force_status;
	last = &w[c->writable - 1];
	((uint8_t *)last->base)[last->len - 1] = status;
	if (d->force_used_len != BLK_FAKE_NO_FORCE)
		return (uint32_t)d->force_used_len;
	return written + 1;
}

void blk_fake_set_config(struct fake_dev *fd, size_t off, const void *v, size_t len)
{
	memcpy(fd->config + off, v, len);
}

int blk_fake_init(struct blk_fake_fixture *f)
{
	uint64_t cap = DISK_SECTORS;
	int r;

	f->dev.disk = calloc(1, BLK_FAKE_DISK_BYTES);
	f->dev.scratch = calloc(1, SCRATCH_BYTES);
	if (!f->dev.disk || !f->dev.scratch) {
		free(f->dev.disk);
		free(f->dev.scratch);
		return -ENOMEM;
	}
	f->dev.force_status = BLK_FAKE_NO_FORCE;
	f->dev.force_used_len = BLK_FAKE_NO_FORCE;
	memcpy(f->dev.id, "vireo-test-id", 13);
	virtio_bus_init(&f->bus);
	r = fake_dev_init(&f->fd, VIRTIO_ID_BLOCK, VIRTIO_BIT(VIRTIO_F_VERSION_1), 4u << 20);
	if (r) {
		free(f->dev.disk);
		free(f->dev.scratch);
		return r;
	}
	f->fd.handler = blk_fake_handler;
	f->fd.priv = &f->dev;
	blk_fake_set_config(&f->fd, BLK_FAKE_CFG(capacity), &cap, sizeof(cap));
	return 0;
}

void blk_fake_stop(struct blk_fake_fixture *f)
{
	if (f->fd.vdev.bus)
		vireo_unregister_virtio_device(&f->fd.vdev);
	virtio_blk_unregister(&f->bus, &f->bd);
}

void blk_fake_destroy(struct blk_fake_fixture *f)
{
	fake_dev_destroy(&f->fd);
	free(f->dev.disk);
	free(f->dev.scratch);
}

int blk_fake_setup(void **state)
{
	struct blk_fake_fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(blk_fake_init(f), 0);
	*state = f;
	return 0;
}

int blk_fake_teardown(void **state)
{
	struct blk_fake_fixture *f = *state;

	blk_fake_stop(f);
	assert_int_equal(f->dev.violations, 0);
	assert_false(f->fd.device_error);
	assert_false(f->fd.kick_before_driver_ok);
	blk_fake_destroy(f);
	free(f);
	return 0;
}

void blk_fake_start(struct blk_fake_fixture *f, uint64_t features)
{
	f->fd.offered |= features;
	assert_int_equal(virtio_blk_register(&f->bus, &f->bd), 0);
	assert_int_equal(vireo_register_virtio_device(&f->bus, &f->fd.vdev), 0);
	f->blk = virtio_blk_from_device(virtio_bus_find(&f->bus, VIRTIO_ID_BLOCK, 0));
	assert_non_null(f->blk);
}

void blk_fake_start_refused(struct blk_fake_fixture *f, uint64_t features, int err)
{
	f->fd.offered |= features;
	assert_int_equal(virtio_blk_register(&f->bus, &f->bd), 0);
	assert_int_equal(vireo_register_virtio_device(&f->bus, &f->fd.vdev), err);
	assert_null(virtio_blk_from_device(&f->fd.vdev));
	assert_true(f->fd.status & VIRTIO_STATUS_FAILED);
	assert_false(f->fd.status & VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(f->fd.nvqs, 0);
}

void blk_fake_fill_pattern(uint8_t *p, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 9));
}

void blk_fake_alloc_requests(struct blk_fake_fixture *f, struct virtio_blk_request *reqs,
			     struct virtio_blk_request **ptrs, unsigned int n, uint32_t type)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		reqs[i] = (struct virtio_blk_request){
			.type = type, .sector = i * 8u, .len = 4096, .token = &reqs[i]};
		reqs[i].data = virtio_blk_alloc_buffer(f->blk, 4096);
		assert_non_null(reqs[i].data);
		blk_fake_fill_pattern(reqs[i].data, 4096, (uint8_t)i);
		ptrs[i] = &reqs[i];
	}
}

void blk_fake_free_requests(struct blk_fake_fixture *f, struct virtio_blk_request *reqs,
			    unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		virtio_blk_free_buffer(f->blk, reqs[i].data);
}

/* Drain @queue until @n completions arrived; check every one. */
void blk_fake_collect(struct blk_fake_fixture *f, unsigned int queue, unsigned int n)
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
