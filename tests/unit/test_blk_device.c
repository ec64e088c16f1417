// SPDX-License-Identifier: MIT
/*
 * Unit tests for devices/blk: the virtio-blk model driven through the core
 * (vdev_set_status, queue config, kicks) by the driver-side ring over a
 * shared "guest memory" block, without a transport. The image is a temp
 * file under /tmp; every check reads the file back directly too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vireo/blk_device.h>
#include <vireo/device.h>
#include <vireo/event_loop.h>
#include <vireo/guest_mem.h>
#include <vireo/virtqueue.h>

#define GPA_BASE 0x40000000ull
#define MEM_SIZE (8u << 20)
#define HEAP_START (1u << 20)
#define QUEUE_STRIDE 0x10000u
#define QNUM 64u
#define INDIRECT_MAX 16u
#define IMG_SIZE (1u << 20)
#define IMG_SECTORS (IMG_SIZE / 512u)
#define SERIAL "vireo-test-serial"

struct hqueue {
	struct virtqueue vq;
	struct vring_desc_extra extra[QNUM];
	int kick_fd;
};

struct harness {
	uint8_t *host;
	struct guest_mem mem;
	struct event_loop loop;
	char path[64];
	int img_fd;
	struct blk_device *blk;
	struct vdev *dev;
	struct hqueue q[2];
	unsigned int nq;
	uint64_t heap;
};

/* One request as the driver builds it. */
struct breq {
	struct virtio_sg sg[24];
	unsigned int out, in;
	uint8_t *status;
	int token;
};

static void *g2h(struct harness *h, uint64_t gpa)
{
	return h->host + (gpa - GPA_BASE);
}

static uint64_t galloc(struct harness *h, size_t len)
{
	uint64_t gpa = GPA_BASE + h->heap;

	h->heap += (len + 63) & ~(size_t)63;
	assert_true(h->heap <= MEM_SIZE);
	return gpa;
}

static bool hq_notify(struct virtqueue *vq)
{
	struct hqueue *hq = vq->priv;

	return eventfd_signal_fd(hq->kick_fd) == 0;
}

static uint8_t pattern(size_t off)
{
	return (uint8_t)(off * 7 + off / 512 + 1);
}

static void image_create(struct harness *h, const char *dir)
{
	uint8_t *buf = malloc(IMG_SIZE);

	assert_non_null(buf);
	snprintf(h->path, sizeof(h->path), "%s/vireo-blk-test-XXXXXX", dir);
	h->img_fd = mkstemp(h->path);
	assert_true(h->img_fd >= 0);
	for (size_t i = 0; i < IMG_SIZE; i++)
		buf[i] = pattern(i);
	assert_int_equal(pwrite(h->img_fd, buf, IMG_SIZE, 0), IMG_SIZE);
	free(buf);
}

static uint8_t *image_read(struct harness *h)
{
	uint8_t *buf = malloc(IMG_SIZE);

	assert_non_null(buf);
	assert_int_equal(pread(h->img_fd, buf, IMG_SIZE, 0), IMG_SIZE);
	return buf;
}

static void queue_setup(struct harness *h, unsigned int i, uint64_t features)
{
	struct hqueue *hq = &h->q[i];
	uint64_t base = GPA_BASE + (uint64_t)i * QUEUE_STRIDE;
	bool indirect = features & VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC);
	struct vring_split_drv_config cfg = {
		.num = QNUM,
		.desc = g2h(h, base),
		.avail = g2h(h, base + 0x1000),
		.used = g2h(h, base + 0x2000),
		.extra = hq->extra,
		.indirect_pool = indirect ? g2h(h, base + 0x4000) : NULL,
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
	assert_int_equal(vdev_queue_set_num(h->dev, i, QNUM), 0);
	assert_int_equal(vdev_queue_set_addr(h->dev, i, base, base + 0x1000, base + 0x2000), 0);
	/* the core owns both fds from here; we keep writing to the kick fd */
	assert_int_equal(vdev_queue_set_kick_fd(h->dev, i, hq->kick_fd), 0);
	assert_int_equal(vdev_queue_set_call_fd(h->dev, i, eventfd(0, EFD_NONBLOCK)), 0);
}

/* Bring a device up on a fresh image in @dir, through the §3.1.1 sequence. */
static void harness_up_in(struct harness *h, const struct blk_device_options *extra, uint64_t ring,
			  const char *dir, uint64_t drop)
{
	struct blk_device_options opt = {.queue_size = QNUM, .serial = SERIAL};
	uint64_t f;

	memset(h, 0, sizeof(*h));
	h->heap = HEAP_START;
	h->host = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(h->host != MAP_FAILED);
	guest_mem_init(&h->mem);
	assert_int_equal(guest_mem_add_region(&h->mem, GPA_BASE, MEM_SIZE, h->host), 0);
	assert_int_equal(event_loop_init(&h->loop), 0);
	image_create(h, dir);
	if (extra) {
		opt.readonly = extra->readonly;
		opt.num_queues = extra->num_queues;
		if (extra->serial)
			opt.serial = extra->serial;
	}
	opt.path = h->path;
	assert_int_equal(blk_device_new(&h->blk, &opt), 0);
	/* both fds stay open; a failing test leaves no file behind */
	unlink(h->path);
	h->dev = blk_device_vdev(h->blk);
	h->nq = opt.num_queues ? opt.num_queues : 1;
	vdev_set_memory(h->dev, &h->mem);
	vdev_set_event_loop(h->dev, &h->loop);
	assert_int_equal(vdev_set_status(h->dev, VIRTIO_STATUS_ACKNOWLEDGE), 0);
	assert_int_equal(vdev_set_status(h->dev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER),
			 0);
	f = h->dev->offered_features &
	    ~(VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
	f |= ring & h->dev->offered_features;
	f &= ~drop;
	assert_int_equal(vdev_set_driver_features(h->dev, f), 0);
	assert_int_equal(vdev_set_status(h->dev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
							 VIRTIO_STATUS_FEATURES_OK),
			 0);
	for (unsigned int i = 0; i < h->nq; i++)
		queue_setup(h, i, f);
	assert_int_equal(vdev_set_status(h->dev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
							 VIRTIO_STATUS_FEATURES_OK |
							 VIRTIO_STATUS_DRIVER_OK),
			 0);
	assert_false(vdev_needs_reset(h->dev));
}

static void harness_up(struct harness *h, const struct blk_device_options *extra, uint64_t ring)
{
	harness_up_in(h, extra, ring, "/tmp", 0);
}

static void harness_down(struct harness *h)
{
	blk_device_free(h->blk);
	event_loop_destroy(&h->loop);
	close(h->img_fd);
	munmap(h->host, MEM_SIZE);
}

/* ---- request building ---- */

static void breq_init(struct breq *r)
{
	memset(r, 0, sizeof(*r));
}

static void breq_sg(struct breq *r, uint64_t gpa, uint32_t len, bool writable)
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
static void breq_hdr(struct harness *h, struct breq *r, uint32_t type, uint64_t sector, bool split)
{
	struct virtio_blk_outhdr hdr = {.type = type, .sector = sector};
	uint64_t a = galloc(h, 16);

	if (!split) {
		memcpy(g2h(h, a), &hdr, 16);
		breq_sg(r, a, 16, false);
		return;
	}
	uint64_t b = galloc(h, 16);

	memcpy(g2h(h, a), &hdr, 5);
	memcpy(g2h(h, b), (uint8_t *)&hdr + 5, 11);
	breq_sg(r, a, 5, false);
	breq_sg(r, b, 11, false);
}

static uint8_t *breq_out(struct harness *h, struct breq *r, const void *data, uint32_t len)
{
	uint64_t a = galloc(h, len);

	memcpy(g2h(h, a), data, len);
	breq_sg(r, a, len, false);
	return g2h(h, a);
}

/* A writable data buffer, pre-filled with 0x5a; @with_status appends the status byte to it. */
static uint8_t *breq_in(struct harness *h, struct breq *r, uint32_t len, bool with_status)
{
	uint64_t a = galloc(h, len + 1);

	memset(g2h(h, a), 0x5a, len + 1);
	breq_sg(r, a, len + with_status, true);
	if (with_status)
		r->status = (uint8_t *)g2h(h, a) + len;
	return g2h(h, a);
}

static void breq_status(struct harness *h, struct breq *r)
{
	uint64_t a = galloc(h, 1);

	r->status = g2h(h, a);
	*r->status = 0xee;
	breq_sg(r, a, 1, true);
}

static void breq_add(struct harness *h, unsigned int qi, struct breq *r)
{
	assert_int_equal(virtqueue_add_sgs(&h->q[qi].vq, r->sg, r->out, r->in, r), 0);
}

static void kick(struct harness *h, unsigned int qi)
{
	virtqueue_kick(&h->q[qi].vq);
}

/* Run the device's loop until @qi returns a buffer; Return: its token. */
static struct breq *wait_used(struct harness *h, unsigned int qi, uint32_t *len)
{
	for (int i = 0; i < 400; i++) {
		struct breq *r = virtqueue_get_buf(&h->q[qi].vq, len);

		if (r)
			return r;
		int rc = event_loop_run_once(&h->loop, 50);

		/* io_uring's task work interrupts epoll_wait: -EINTR is routine */
		if (rc < 0 && rc != -EINTR)
			fail_msg("event_loop_run_once: %d", rc);
	}
	fail_msg("no used buffer on queue %u", qi);
	return NULL;
}

/* Submit @r alone on @qi and wait for it. Return: its status byte; *@len: used len. */
static uint8_t breq_run(struct harness *h, unsigned int qi, struct breq *r, uint32_t *len)
{
	uint32_t dummy;

	breq_add(h, qi, r);
	kick(h, qi);
	assert_ptr_equal(wait_used(h, qi, len ? len : &dummy), r);
	return r->status ? *r->status : 0xee;
}

static uint8_t simple(struct harness *h, uint32_t type, uint64_t sector, const void *out,
		      uint32_t out_len, uint32_t in_len, uint32_t *len)
{
	struct breq r;

	breq_init(&r);
	breq_hdr(h, &r, type, sector, false);
	if (out_len)
		breq_out(h, &r, out, out_len);
	if (in_len)
		breq_in(h, &r, in_len, false);
	breq_status(h, &r);
	return breq_run(h, 0, &r, len);
}

static uint8_t dwz(struct harness *h, uint32_t type,
		   const struct virtio_blk_discard_write_zeroes *seg, unsigned int n)
{
	return simple(h, type, 0, seg, n * (uint32_t)sizeof(*seg), 0, NULL);
}

/* ---- tests ---- */

static void test_blk_config(void **state)
{
	struct harness h;
	struct virtio_blk_config c;
	uint64_t f;

	(void)state;
	harness_up(&h, NULL, 0);
	f = h.dev->offered_features;
	assert_true(f & VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX));
	assert_true(f & VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE));
	assert_true(f & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
	assert_true(f & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD));
	assert_true(f & VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES));
	assert_false(f & VIRTIO_BIT(VIRTIO_BLK_F_MQ));
	assert_false(f & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	assert_false(f & VIRTIO_BIT(VIRTIO_BLK_F_CONFIG_WCE));
	assert_true(f & VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_int_equal(vdev_config_read(h.dev, 0, &c, sizeof(c)), 0);
	assert_int_equal(c.capacity, IMG_SECTORS);
	assert_int_equal(blk_device_capacity(h.blk), IMG_SECTORS);
	assert_int_equal(c.seg_max, QNUM - 2);
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
	harness_down(&h);
}

static void fill_pattern2(uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 13 + 0x31);
}

/* OUT over three data descriptors with a split header, then IN back over two. */
static void write_read_back(uint64_t ring)
{
	struct harness h;
	uint8_t data[2048], *img, *in1, *in2;
	struct breq r;
	uint32_t len;

	harness_up(&h, NULL, ring);
	fill_pattern2(data, sizeof(data));
	breq_init(&r);
	breq_hdr(&h, &r, VIRTIO_BLK_T_OUT, 10, true);
	breq_out(&h, &r, data, 512);
	breq_out(&h, &r, data + 512, 1024);
	breq_out(&h, &r, data + 1536, 512);
	breq_status(&h, &r);
	assert_int_equal(breq_run(&h, 0, &r, &len), VIRTIO_BLK_S_OK);
	assert_int_equal(len, 1);
	img = image_read(&h);
	assert_memory_equal(img + 10 * 512, data, sizeof(data));
	assert_int_equal(img[10 * 512 - 1], pattern(10 * 512 - 1));
	assert_int_equal(img[14 * 512], pattern(14 * 512));
	free(img);

	/* read back: 1536 bytes, then 512 data bytes sharing a descriptor with the status */
	breq_init(&r);
	breq_hdr(&h, &r, VIRTIO_BLK_T_IN, 10, true);
	in1 = breq_in(&h, &r, 1536, false);
	in2 = breq_in(&h, &r, 512, true);
	assert_int_equal(breq_run(&h, 0, &r, &len), VIRTIO_BLK_S_OK);
	assert_int_equal(len, sizeof(data) + 1);
	assert_memory_equal(in1, data, 1536);
	assert_memory_equal(in2, data + 1536, 512);
	harness_down(&h);
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

static void test_blk_flush(void **state)
{
	struct harness h;
	uint8_t data[512];
	uint32_t len;

	(void)state;
	harness_up(&h, NULL, 0);
	memset(data, 0x77, sizeof(data));
	assert_int_equal(simple(&h, VIRTIO_BLK_T_OUT, 3, data, 512, 0, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(simple(&h, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0, &len), VIRTIO_BLK_S_OK);
	assert_int_equal(len, 1);
	harness_down(&h);
}

static void test_blk_get_id(void **state)
{
	struct harness h;
	struct breq r;
	uint8_t *id, expect[20] = SERIAL;
	uint32_t len;

	(void)state;
	harness_up(&h, NULL, 0);
	breq_init(&r);
	breq_hdr(&h, &r, VIRTIO_BLK_T_GET_ID, 0, false);
	id = breq_in(&h, &r, 20, false);
	breq_status(&h, &r);
	assert_int_equal(breq_run(&h, 0, &r, &len), VIRTIO_BLK_S_OK);
	assert_int_equal(len, 21);
	/* NUL-padded up to 20 bytes */
	assert_memory_equal(id, expect, 20);
	/* a larger buffer gets 20 bytes; len covers only those (D-SR-11) */
	breq_init(&r);
	breq_hdr(&h, &r, VIRTIO_BLK_T_GET_ID, 0, false);
	id = breq_in(&h, &r, 64, false);
	breq_status(&h, &r);
	assert_int_equal(breq_run(&h, 0, &r, &len), VIRTIO_BLK_S_OK);
	assert_int_equal(len, 20);
	assert_memory_equal(id, expect, 20);
	assert_int_equal(id[20], 0x5a);
	harness_down(&h);

	/* exactly 20 characters: no terminator */
	struct blk_device_options o = {.serial = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"};

	harness_up(&h, &o, 0);
	breq_init(&r);
	breq_hdr(&h, &r, VIRTIO_BLK_T_GET_ID, 0, false);
	id = breq_in(&h, &r, 20, true);
	assert_int_equal(breq_run(&h, 0, &r, &len), VIRTIO_BLK_S_OK);
	assert_int_equal(len, 21);
	assert_memory_equal(id, "ABCDEFGHIJKLMNOPQRST", 20);
	harness_down(&h);
}

static void assert_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			fail_msg("byte %zu is %#x, not 0", i, p[i]);
}

static void test_blk_discard(void **state)
{
	struct virtio_blk_discard_write_zeroes seg = {.sector = 128, .num_sectors = 128};
	struct harness h;
	uint8_t *img;
	off_t hole;

	(void)state;
	harness_up(&h, NULL, 0);
	assert_int_equal(fsync(h.img_fd), 0);
	assert_int_equal(dwz(&h, VIRTIO_BLK_T_DISCARD, &seg, 1), VIRTIO_BLK_S_OK);
	/* the 64 KiB at 64 KiB is a hole now (tmp is ext4 here; tmpfs punches too) */
	hole = lseek(h.img_fd, 65536, SEEK_HOLE);
	assert_int_equal(hole, 65536);
	img = image_read(&h);
	assert_zero(img + 65536, 65536);
	assert_int_equal(img[65535], pattern(65535));
	assert_int_equal(img[131072], pattern(131072));
	free(img);
	harness_down(&h);
}

static void write_zeroes_check(bool unmap, const char *dir)
{
	struct virtio_blk_discard_write_zeroes seg[2] = {
		{.sector = 20, .num_sectors = 3, .flags = unmap},
		{.sector = 256, .num_sectors = 256, .flags = unmap},
	};
	struct harness h;
	uint8_t *img, *in;
	struct breq r;

	harness_up_in(&h, NULL, 0, dir, 0);
	assert_int_equal(dwz(&h, VIRTIO_BLK_T_WRITE_ZEROES, seg, 2), VIRTIO_BLK_S_OK);
	img = image_read(&h);
	assert_zero(img + 20 * 512, 3 * 512);
	assert_zero(img + 256 * 512, 256 * 512);
	assert_int_equal(img[20 * 512 - 1], pattern(20 * 512 - 1));
	assert_int_equal(img[23 * 512], pattern(23 * 512));
	assert_int_equal(img[512 * 512], pattern(512 * 512));
	free(img);
	/* D-BLK-18: reads through the device return zeroes too */
	breq_init(&r);
	breq_hdr(&h, &r, VIRTIO_BLK_T_IN, 19, false);
	in = breq_in(&h, &r, 5 * 512, true);
	assert_int_equal(breq_run(&h, 0, &r, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(in[511], pattern(20 * 512 - 1));
	assert_zero(in + 512, 3 * 512);
	assert_int_equal(in[4 * 512], pattern(23 * 512));
	harness_down(&h);
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

/* The image shrank under the device: the read comes up short, which is IOERR */
static void test_blk_short_transfer(void **state)
{
	struct harness h;
	uint32_t len;

	(void)state;
	harness_up(&h, NULL, 0);
	assert_int_equal(ftruncate(h.img_fd, IMG_SIZE / 2), 0);
	assert_int_equal(simple(&h, VIRTIO_BLK_T_IN, IMG_SECTORS - 1, NULL, 0, 512, &len),
			 VIRTIO_BLK_S_IOERR);
	/* D-SR-11: no data written, and the status is not at the buffer's start: len 0 */
	assert_int_equal(len, 0);
	assert_int_equal(simple(&h, VIRTIO_BLK_T_IN, 0, NULL, 0, 512, &len), VIRTIO_BLK_S_OK);
	assert_int_equal(len, 513);
	harness_down(&h);
}

static void test_blk_write_zeroes_unmap(void **state)
{
	(void)state;
	write_zeroes_check(true, "/tmp");
}

/* FLUSH offered, not negotiated: writes must be stable at completion (RWF_DSYNC, fdatasync) */
static void test_blk_no_flush_negotiated(void **state)
{
	struct virtio_blk_discard_write_zeroes seg = {.sector = 8, .num_sectors = 8};
	struct harness h;
	uint8_t data[1024], *img;

	(void)state;
	harness_up_in(&h, NULL, 0, "/tmp", VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
	assert_false(vdev_has_feature(h.dev, VIRTIO_BLK_F_FLUSH));
	memset(data, 0x3c, sizeof(data));
	assert_int_equal(simple(&h, VIRTIO_BLK_T_OUT, 6, data, 1024, 0, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(dwz(&h, VIRTIO_BLK_T_WRITE_ZEROES, &seg, 1), VIRTIO_BLK_S_OK);
	img = image_read(&h);
	assert_memory_equal(img + 6 * 512, data, 1024);
	assert_zero(img + 8 * 512, 8 * 512);
	free(img);
	harness_down(&h);
}

static void test_blk_readonly(void **state)
{
	struct blk_device_options o = {.readonly = true};
	struct virtio_blk_discard_write_zeroes seg = {.sector = 0, .num_sectors = 8};
	struct harness h;
	uint8_t data[512], *before, *after;
	uint32_t len;
	uint64_t f;

	(void)state;
	harness_up(&h, &o, 0);
	f = h.dev->offered_features;
	assert_true(f & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	assert_false(f & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD));
	assert_false(f & VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES));
	before = image_read(&h);
	memset(data, 0xab, sizeof(data));
	/* D-BLK-14 / D-BLK-15: IOERR and no data written */
	assert_int_equal(simple(&h, VIRTIO_BLK_T_OUT, 0, data, 512, 0, &len), VIRTIO_BLK_S_IOERR);
	assert_int_equal(len, 1);
	assert_int_equal(dwz(&h, VIRTIO_BLK_T_DISCARD, &seg, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(dwz(&h, VIRTIO_BLK_T_WRITE_ZEROES, &seg, 1), VIRTIO_BLK_S_IOERR);
	seg.flags = VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	assert_int_equal(dwz(&h, VIRTIO_BLK_T_WRITE_ZEROES, &seg, 1), VIRTIO_BLK_S_IOERR);
	after = image_read(&h);
	assert_memory_equal(before, after, IMG_SIZE);
	/* reads and flushes still work */
	assert_int_equal(simple(&h, VIRTIO_BLK_T_IN, 0, NULL, 0, 512, &len), VIRTIO_BLK_S_OK);
	assert_int_equal(len, 513);
	assert_int_equal(simple(&h, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0, NULL), VIRTIO_BLK_S_OK);
	free(before);
	free(after);
	harness_down(&h);
}

static void test_blk_beyond_capacity(void **state)
{
	struct virtio_blk_discard_write_zeroes seg = {.sector = IMG_SECTORS - 1, .num_sectors = 2};
	struct harness h;
	uint8_t data[1024], *before, *after, *in;
	struct breq r;

	(void)state;
	harness_up(&h, NULL, 0);
	before = image_read(&h);
	memset(data, 0xcd, sizeof(data));
	assert_int_equal(simple(&h, VIRTIO_BLK_T_OUT, IMG_SECTORS - 1, data, 1024, 0, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(simple(&h, VIRTIO_BLK_T_OUT, IMG_SECTORS, data, 512, 0, NULL),
			 VIRTIO_BLK_S_IOERR);
	/* sector + length wraps around 2^64 */
	assert_int_equal(simple(&h, VIRTIO_BLK_T_OUT, UINT64_MAX, data, 512, 0, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(simple(&h, VIRTIO_BLK_T_OUT, UINT64_MAX >> 9, data, 1024, 0, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(dwz(&h, VIRTIO_BLK_T_DISCARD, &seg, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(dwz(&h, VIRTIO_BLK_T_WRITE_ZEROES, &seg, 1), VIRTIO_BLK_S_IOERR);
	seg.sector = UINT64_MAX - 1;
	assert_int_equal(dwz(&h, VIRTIO_BLK_T_WRITE_ZEROES, &seg, 1), VIRTIO_BLK_S_IOERR);
	/* a write of a length that is not a multiple of 512 */
	assert_int_equal(simple(&h, VIRTIO_BLK_T_OUT, 0, data, 100, 0, NULL), VIRTIO_BLK_S_IOERR);
	after = image_read(&h);
	assert_memory_equal(before, after, IMG_SIZE);
	/* a read past the end leaves the guest's buffer alone */
	breq_init(&r);
	breq_hdr(&h, &r, VIRTIO_BLK_T_IN, IMG_SECTORS - 1, false);
	in = breq_in(&h, &r, 1024, false);
	breq_status(&h, &r);
	assert_int_equal(breq_run(&h, 0, &r, NULL), VIRTIO_BLK_S_IOERR);
	for (int i = 0; i < 1024; i++)
		assert_int_equal(in[i], 0x5a);
	/* the last sector itself is fine */
	assert_int_equal(simple(&h, VIRTIO_BLK_T_IN, IMG_SECTORS - 1, NULL, 0, 512, NULL),
			 VIRTIO_BLK_S_OK);
	free(before);
	free(after);
	harness_down(&h);
}

static void test_blk_unsupported(void **state)
{
	struct virtio_blk_discard_write_zeroes seg[17];
	struct harness h;
	uint8_t *before, *after;
	uint32_t len;

	(void)state;
	harness_up(&h, NULL, 0);
	before = image_read(&h);
	assert_int_equal(simple(&h, 99, 0, NULL, 0, 0, &len), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(len, 1);
	assert_int_equal(simple(&h, VIRTIO_BLK_T_GET_LIFETIME, 0, NULL, 0, 8, NULL),
			 VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(simple(&h, VIRTIO_BLK_T_SECURE_ERASE, 0, NULL, 0, 0, NULL),
			 VIRTIO_BLK_S_UNSUPP);
	memset(seg, 0, sizeof(seg));
	for (int i = 0; i < 17; i++) {
		seg[i].sector = (uint64_t)i * 8;
		seg[i].num_sectors = 8;
	}
	/* D-BLK-17: DISCARD with unmap; D-BLK-16: reserved flag bits */
	seg[1].flags = VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	assert_int_equal(dwz(&h, VIRTIO_BLK_T_DISCARD, seg, 2), VIRTIO_BLK_S_UNSUPP);
	seg[1].flags = 2;
	assert_int_equal(dwz(&h, VIRTIO_BLK_T_DISCARD, seg, 2), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(dwz(&h, VIRTIO_BLK_T_WRITE_ZEROES, seg, 2), VIRTIO_BLK_S_UNSUPP);
	seg[1].flags = 0;
	/* more segments than max_*_seg (16); a payload not made of whole segments */
	assert_int_equal(dwz(&h, VIRTIO_BLK_T_WRITE_ZEROES, seg, 17), VIRTIO_BLK_S_IOERR);
	assert_int_equal(simple(&h, VIRTIO_BLK_T_DISCARD, 0, seg, 20, 0, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(simple(&h, VIRTIO_BLK_T_DISCARD, 0, NULL, 0, 0, NULL), VIRTIO_BLK_S_IOERR);
	after = image_read(&h);
	assert_memory_equal(before, after, IMG_SIZE);
	free(before);
	free(after);
	harness_down(&h);
}

static void test_blk_short_header(void **state)
{
	struct harness h;
	struct breq r;
	uint64_t a;
	uint32_t len;

	(void)state;
	harness_up(&h, NULL, 0);
	breq_init(&r);
	a = galloc(&h, 8);
	memset(g2h(&h, a), 0, 8);
	breq_sg(&r, a, 8, false);
	breq_status(&h, &r);
	assert_int_equal(breq_run(&h, 0, &r, &len), VIRTIO_BLK_S_IOERR);
	assert_int_equal(len, 1);
	/* no readable part at all */
	breq_init(&r);
	breq_status(&h, &r);
	assert_int_equal(breq_run(&h, 0, &r, &len), VIRTIO_BLK_S_IOERR);
	assert_false(vdev_needs_reset(h.dev));
	harness_down(&h);
}

static void test_blk_missing_status(void **state)
{
	struct harness h;
	uint8_t data[512], *before, *after;
	struct breq r;
	uint32_t len = 99;

	(void)state;
	harness_up(&h, NULL, 0);
	before = image_read(&h);
	memset(data, 0x11, sizeof(data));
	breq_init(&r);
	breq_hdr(&h, &r, VIRTIO_BLK_T_OUT, 0, false);
	breq_out(&h, &r, data, 512);
	breq_run(&h, 0, &r, &len);
	/* nothing to answer with: the chain comes back with used len 0, nothing written */
	assert_int_equal(len, 0);
	after = image_read(&h);
	assert_memory_equal(before, after, IMG_SIZE);
	assert_false(vdev_needs_reset(h.dev));
	assert_int_equal(simple(&h, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0, NULL), VIRTIO_BLK_S_OK);
	free(before);
	free(after);
	harness_down(&h);
}

/* Two queues, each with many requests in flight at once, served independently. */
static void test_blk_two_queues(void **state)
{
	struct blk_device_options o = {.num_queues = 2};
	struct breq w[2][16], rd[16];
	uint8_t data[2][16][512], *in[16], *img;
	struct virtio_blk_config c;
	struct harness h;
	uint32_t len;

	(void)state;
	harness_up(&h, &o, 0);
	assert_true(h.dev->offered_features & VIRTIO_BIT(VIRTIO_BLK_F_MQ));
	assert_int_equal(vdev_config_read(h.dev, 0, &c, sizeof(c)), 0);
	assert_int_equal(c.num_queues, 2);
	for (unsigned int q = 0; q < 2; q++) {
		for (unsigned int i = 0; i < 16; i++) {
			memset(data[q][i], (int)(q * 16 + i + 1), 512);
			breq_init(&w[q][i]);
			breq_hdr(&h, &w[q][i], VIRTIO_BLK_T_OUT, q * 100 + i, false);
			breq_out(&h, &w[q][i], data[q][i], 512);
			breq_status(&h, &w[q][i]);
			breq_add(&h, q, &w[q][i]);
		}
		kick(&h, q);
	}
	for (unsigned int q = 0; q < 2; q++)
		for (unsigned int i = 0; i < 16; i++)
			assert_int_equal(*wait_used(&h, q, &len)->status, VIRTIO_BLK_S_OK);
	img = image_read(&h);
	for (unsigned int q = 0; q < 2; q++)
		for (unsigned int i = 0; i < 16; i++)
			assert_memory_equal(img + (q * 100 + i) * 512, data[q][i], 512);
	free(img);
	/* read queue 0's data through queue 1 */
	for (unsigned int i = 0; i < 16; i++) {
		breq_init(&rd[i]);
		breq_hdr(&h, &rd[i], VIRTIO_BLK_T_IN, i, false);
		in[i] = breq_in(&h, &rd[i], 512, true);
		breq_add(&h, 1, &rd[i]);
	}
	kick(&h, 1);
	for (unsigned int i = 0; i < 16; i++) {
		struct breq *r = wait_used(&h, 1, &len);

		assert_int_equal(*r->status, VIRTIO_BLK_S_OK);
		assert_int_equal(len, 513);
	}
	for (unsigned int i = 0; i < 16; i++)
		assert_memory_equal(in[i], data[0][i], 512);
	harness_down(&h);
}

/* A reset with requests still in io_uring waits for them (ASan catches the rest). */
static void test_blk_reset_in_flight(void **state)
{
	struct harness h;
	struct breq r[8];
	uint8_t data[8][4096];

	(void)state;
	harness_up(&h, NULL, 0);
	for (unsigned int i = 0; i < 8; i++) {
		memset(data[i], (int)i + 1, sizeof(data[i]));
		breq_init(&r[i]);
		breq_hdr(&h, &r[i], VIRTIO_BLK_T_OUT, i * 8, false);
		breq_out(&h, &r[i], data[i], sizeof(data[i]));
		breq_status(&h, &r[i]);
		breq_add(&h, 0, &r[i]);
	}
	kick(&h, 0);
	/* one dispatch: the kick handler pops all eight and submits them */
	assert_int_equal(event_loop_run_once(&h.loop, 1000), 1);
	assert_int_equal(vdev_set_status(h.dev, 0), 0);
	assert_int_equal(vdev_get_status(h.dev), 0);
	harness_down(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blk_config),
		cmocka_unit_test(test_blk_write_read),
		cmocka_unit_test(test_blk_write_read_indirect_event_idx),
		cmocka_unit_test(test_blk_flush),
		cmocka_unit_test(test_blk_get_id),
		cmocka_unit_test(test_blk_discard),
		cmocka_unit_test(test_blk_write_zeroes),
		cmocka_unit_test(test_blk_write_zeroes_unmap),
		cmocka_unit_test(test_blk_write_zeroes_fallback),
		cmocka_unit_test(test_blk_short_transfer),
		cmocka_unit_test(test_blk_no_flush_negotiated),
		cmocka_unit_test(test_blk_readonly),
		cmocka_unit_test(test_blk_beyond_capacity),
		cmocka_unit_test(test_blk_unsupported),
		cmocka_unit_test(test_blk_short_header),
		cmocka_unit_test(test_blk_missing_status),
		cmocka_unit_test(test_blk_two_queues),
		cmocka_unit_test(test_blk_reset_in_flight),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
