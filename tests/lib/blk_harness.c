// SPDX-License-Identifier: MIT
/*
 * The devices/blk test harness shared by test_blk_device and
 * test_blk_device_refusals; see blk_harness.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vireo/event_loop.h>

#include "tests/lib/blk_harness.h"

#define GPA_BASE BLK_HARNESS_GPA_BASE
#define MEM_SIZE BLK_HARNESS_MEM_SIZE
#define HEAP_START (1u << 20)
#define QUEUE_STRIDE 0x10000u
#define INDIRECT_MAX 16u

void *blk_harness_g2h(struct blk_harness *h, uint64_t gpa)
{
	return h->host + (gpa - GPA_BASE);
}

uint64_t blk_harness_galloc(struct blk_harness *h, size_t len)
{
	uint64_t gpa = GPA_BASE + h->heap;

	h->heap += (len + 63) & ~(size_t)63;
	assert_true(h->heap <= MEM_SIZE);
	return gpa;
}

static bool hq_notify(struct virtqueue *vq)
{
	struct blk_harness_queue *hq = vq->priv;

	return vireo_eventfd_signal_fd(hq->kick_fd) == 0;
}

uint8_t blk_harness_pattern(size_t off)
{
	return (uint8_t)(off * 7 + off / 512 + 1);
}

/* Fill the image open at h->img_fd with the pattern. */
static void image_fill(struct blk_harness *h)
{
	uint8_t *buf = malloc(BLK_HARNESS_IMG_SIZE);

	assert_non_null(buf);
	for (size_t i = 0; i < BLK_HARNESS_IMG_SIZE; i++)
		buf[i] = blk_harness_pattern(i);
	assert_int_equal(pwrite(h->img_fd, buf, BLK_HARNESS_IMG_SIZE, 0), BLK_HARNESS_IMG_SIZE);
	free(buf);
}

uint8_t *blk_harness_image_read(struct blk_harness *h)
{
	uint8_t *buf = malloc(BLK_HARNESS_IMG_SIZE);

	assert_non_null(buf);
	assert_int_equal(pread(h->img_fd, buf, BLK_HARNESS_IMG_SIZE, 0), BLK_HARNESS_IMG_SIZE);
	return buf;
}

static void queue_setup(struct blk_harness *h, unsigned int i, uint64_t features)
{
	struct blk_harness_queue *hq = &h->q[i];
	uint64_t base = GPA_BASE + (uint64_t)i * QUEUE_STRIDE;
	bool indirect = features & VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC);
	struct vring_split_drv_config cfg = {
		.num = BLK_HARNESS_QNUM,
		.desc = blk_harness_g2h(h, base),
		.avail = blk_harness_g2h(h, base + 0x1000),
		.used = blk_harness_g2h(h, base + 0x2000),
		.extra = hq->extra,
		.indirect_pool = indirect ? blk_harness_g2h(h, base + 0x4000) : NULL,
		.indirect_pool_addr = indirect ? base + 0x4000 : 0,
		.indirect_max = indirect ? INDIRECT_MAX : 0,
		.event_idx = features & VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX),
	};

	assert_int_equal(virtqueue_split_init(&hq->vq, &cfg), 0);
	hq->vq.notify = hq_notify;
	hq->vq.priv = hq;
	hq->vq.index = i;
	hq->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(hq->kick_fd >= 0);
	assert_int_equal(vireo_vdev_queue_set_num(h->dev, i, BLK_HARNESS_QNUM), 0);
	assert_int_equal(vireo_vdev_queue_set_addr(h->dev, i, base, base + 0x1000, base + 0x2000),
			 0);
	/* the core owns both fds from here; we keep writing to the kick fd */
	assert_int_equal(vireo_vdev_queue_set_kick_fd(h->dev, i, hq->kick_fd), 0);
	assert_int_equal(vireo_vdev_queue_set_call_fd(h->dev, i, eventfd(0, EFD_NONBLOCK)), 0);
}

/* Guest memory and the loop; h->path and h->img_fd come next. */
static void harness_begin(struct blk_harness *h)
{
	memset(h, 0, sizeof(*h));
	h->heap = HEAP_START;
	h->host = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(h->host != MAP_FAILED);
	vireo_guest_mem_init(&h->mem);
	assert_int_equal(vireo_guest_mem_add_region(&h->mem, GPA_BASE, MEM_SIZE, h->host), 0);
	assert_int_equal(vireo_event_loop_init(&h->loop), 0);
}

/* The device on h->path, through the §3.1.1 sequence; @created: unlink the file. */
static void harness_bring_up(struct blk_harness *h, const struct blk_device_options *extra,
			     uint64_t ring, uint64_t drop, bool created)
{
	struct blk_device_options opt = {.queue_size = BLK_HARNESS_QNUM,
					 .serial = BLK_HARNESS_SERIAL};
	uint64_t f;

	image_fill(h);
	if (extra) {
		opt.readonly = extra->readonly;
		opt.num_queues = extra->num_queues;
		if (extra->serial)
			opt.serial = extra->serial;
	}
	opt.path = h->path;
	assert_int_equal(vireo_blk_device_new(&h->blk, &opt), 0);
	/* both fds stay open; a failing test leaves no file behind */
	if (created)
		unlink(h->path);
	h->dev = vireo_blk_device_vdev(h->blk);
	h->nq = opt.num_queues ? opt.num_queues : 1;
	vireo_vdev_set_memory(h->dev, &h->mem);
	vireo_vdev_set_event_loop(h->dev, &h->loop);
	assert_int_equal(vireo_vdev_set_status(h->dev, VIRTIO_STATUS_ACKNOWLEDGE), 0);
	assert_int_equal(
		vireo_vdev_set_status(h->dev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER), 0);
	/* The harness drives a split ring: RING_PACKED is never acked here. */
	f = h->dev->offered_features &
	    ~(VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) |
	      VIRTIO_BIT(VIRTIO_F_RING_PACKED));
	f |= ring & h->dev->offered_features;
	f &= ~drop;
	assert_int_equal(vireo_vdev_set_driver_features(h->dev, f), 0);
	assert_int_equal(vireo_vdev_set_status(h->dev, VIRTIO_STATUS_ACKNOWLEDGE |
							       VIRTIO_STATUS_DRIVER |
							       VIRTIO_STATUS_FEATURES_OK),
			 0);
	for (unsigned int i = 0; i < h->nq; i++)
		queue_setup(h, i, f);
	assert_int_equal(vireo_vdev_set_status(h->dev, VIRTIO_STATUS_ACKNOWLEDGE |
							       VIRTIO_STATUS_DRIVER |
							       VIRTIO_STATUS_FEATURES_OK |
							       VIRTIO_STATUS_DRIVER_OK),
			 0);
	assert_false(vdev_needs_reset(h->dev));
}

/* Bring a device up on a fresh image in @dir. */
void blk_harness_init_in(struct blk_harness *h, const struct blk_device_options *extra,
			 uint64_t ring, const char *dir, uint64_t drop)
{
	harness_begin(h);
	snprintf(h->path, sizeof(h->path), "%s/vireo-blk-test-XXXXXX", dir);
	h->img_fd = mkstemp(h->path);
	assert_true(h->img_fd >= 0);
	harness_bring_up(h, extra, ring, drop, true);
}

/* Bring a device up on the existing file or block device @path. */
void blk_harness_init_on(struct blk_harness *h, const struct blk_device_options *extra,
			 uint64_t ring, const char *path, uint64_t drop)
{
	harness_begin(h);
	assert_true(strlen(path) < sizeof(h->path));
	strcpy(h->path, path);
	h->img_fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(h->img_fd >= 0);
	harness_bring_up(h, extra, ring, drop, false);
}

void blk_harness_init(struct blk_harness *h, const struct blk_device_options *extra, uint64_t ring)
{
	blk_harness_init_in(h, extra, ring, "/tmp", 0);
}

void blk_harness_destroy(struct blk_harness *h)
{
	vireo_blk_device_free(h->blk);
	vireo_event_loop_destroy(&h->loop);
	close(h->img_fd);
	munmap(h->host, MEM_SIZE);
}

void blk_harness_req_init(struct blk_harness_req *r)
{
	memset(r, 0, sizeof(*r));
}

void blk_harness_req_sg(struct blk_harness_req *r, uint64_t gpa, uint32_t len, bool writable)
{
	assert_true(r->out + r->in < 24);
	if (!writable)
		assert_int_equal(r->in, 0);
	r->sg[r->out + r->in] = (struct virtio_sg){.addr = gpa, .len = len};
	if (writable)
		r->in++;
	else
		r->out++;
}

/* The 16-byte header; @split puts it in two descriptors (5 + 11 bytes, apart). */
void blk_harness_req_hdr(struct blk_harness *h, struct blk_harness_req *r, uint32_t type,
			 uint64_t sector, bool split)
{
	struct vireo_blk_outhdr hdr = {.type = type, .sector = sector};
	uint64_t a = blk_harness_galloc(h, 16);

	if (!split) {
		memcpy(blk_harness_g2h(h, a), &hdr, 16);
		blk_harness_req_sg(r, a, 16, false);
		return;
	}
	uint64_t b = blk_harness_galloc(h, 16);

	memcpy(blk_harness_g2h(h, a), &hdr, 5);
	memcpy(blk_harness_g2h(h, b), (uint8_t *)&hdr + 5, 11);
	blk_harness_req_sg(r, a, 5, false);
	blk_harness_req_sg(r, b, 11, false);
}

uint8_t *blk_harness_req_out(struct blk_harness *h, struct blk_harness_req *r, const void *data,
			     uint32_t len)
{
	uint64_t a = blk_harness_galloc(h, len);

	memcpy(blk_harness_g2h(h, a), data, len);
	blk_harness_req_sg(r, a, len, false);
	return blk_harness_g2h(h, a);
}

/* A writable data buffer, pre-filled with 0x5a; @with_status appends the status byte to it. */
uint8_t *blk_harness_req_in(struct blk_harness *h, struct blk_harness_req *r, uint32_t len,
			    bool with_status)
{
	uint64_t a = blk_harness_galloc(h, len + 1);

	memset(blk_harness_g2h(h, a), 0x5a, len + 1);
	blk_harness_req_sg(r, a, len + with_status, true);
	if (with_status)
		r->status = (uint8_t *)blk_harness_g2h(h, a) + len;
	return blk_harness_g2h(h, a);
}

void blk_harness_req_status(struct blk_harness *h, struct blk_harness_req *r)
{
	uint64_t a = blk_harness_galloc(h, 1);

	r->status = blk_harness_g2h(h, a);
	*r->status = 0xee;
	blk_harness_req_sg(r, a, 1, true);
}

void blk_harness_req_add(struct blk_harness *h, unsigned int qi, struct blk_harness_req *r)
{
	assert_int_equal(virtqueue_add_sgs(&h->q[qi].vq, r->sg, r->out, r->in, r), 0);
}

void blk_harness_kick(struct blk_harness *h, unsigned int qi)
{
	virtqueue_kick(&h->q[qi].vq);
}

/* Run the device's loop until @qi returns a buffer; Return: its token. */
struct blk_harness_req *blk_harness_wait_used(struct blk_harness *h, unsigned int qi, uint32_t *len)
{
	for (int i = 0; i < 400; i++) {
		struct blk_harness_req *r = virtqueue_get_buf(&h->q[qi].vq, len);

		if (r)
			return r;
		int rc = vireo_event_loop_run_once(&h->loop, 50);

		/* io_uring's task work interrupts epoll_wait: -EINTR is routine */
		if (rc < 0 && rc != -EINTR)
			fail_msg("vireo_event_loop_run_once: %d", rc);
	}
	fail_msg("no used buffer on queue %u", qi);
	return NULL;
}

/* Submit @r alone on @qi and wait for it. Return: its status byte; *@len: used len. */
uint8_t blk_harness_req_run(struct blk_harness *h, unsigned int qi, struct blk_harness_req *r,
			    uint32_t *len)
{
	uint32_t dummy;

	blk_harness_req_add(h, qi, r);
	blk_harness_kick(h, qi);
	assert_ptr_equal(blk_harness_wait_used(h, qi, len ? len : &dummy), r);
	return r->status ? *r->status : 0xee;
}

uint8_t blk_harness_simple(struct blk_harness *h, uint32_t type, uint64_t sector, const void *out,
			   uint32_t out_len, uint32_t in_len, uint32_t *len)
{
	struct blk_harness_req r;

	blk_harness_req_init(&r);
	blk_harness_req_hdr(h, &r, type, sector, false);
	if (out_len)
		blk_harness_req_out(h, &r, out, out_len);
	if (in_len)
		blk_harness_req_in(h, &r, in_len, false);
	blk_harness_req_status(h, &r);
	return blk_harness_req_run(h, 0, &r, len);
}

uint8_t blk_harness_dwz(struct blk_harness *h, uint32_t type,
			const struct vireo_blk_discard_write_zeroes *seg, unsigned int n)
{
	return blk_harness_simple(h, type, 0, seg, n * (uint32_t)sizeof(*seg), 0, NULL);
}
