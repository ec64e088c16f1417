// SPDX-License-Identifier: MIT
/*
 * End to end: our virtio-blk driver -> the loopback transport -> our
 * virtio-blk device model -> an image file, checked against the file itself
 * (pread). A second, raw driver in this file hand-builds requests to reach
 * the device's own checks (read-only, out of range) past the real driver's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vireo/blk_device.h>
#include <vireo/dma.h>
#include <vireo/driver.h>
#include <vireo/loopback.h>
#include <vireo/virtio_blk.h>

#define IMAGE_BYTES (4u << 20)
#define IMAGE_FILL 0xee
#define SECTORS (IMAGE_BYTES / 512u)
#define SERIAL "e2e-serial-0123456789" /* 21 bytes: GET_ID keeps 20 */
#define MQ_QUEUES 4u
#define MQ_REQS 32u
#define MQ_BS 4096u
#define WAIT_MS 5000

struct e2e {
	char path[64];
	int fd; /* the test's own view of the image */
	struct virtio_bus bus;
	struct virtio_blk_driver drv;
	struct blk_device *dev;
	struct loopback *lb;
	struct virtio_blk *blk;
};

/* ---- image and stack ---- */

static int setup(void **state)
{
	struct e2e *e = calloc(1, sizeof(*e));
	uint8_t *fill = malloc(IMAGE_BYTES);

	assert_non_null(e);
	assert_non_null(fill);
	snprintf(e->path, sizeof(e->path), "/tmp/vireo-e2e-XXXXXX");
	e->fd = mkstemp(e->path);
	assert_true(e->fd >= 0);
	memset(fill, IMAGE_FILL, IMAGE_BYTES);
	assert_int_equal(pwrite(e->fd, fill, IMAGE_BYTES, 0), IMAGE_BYTES);
	free(fill);
	*state = e;
	return 0;
}

static void stack_close(struct e2e *e)
{
	if (e->lb)
		vireo_loopback_free(e->lb);
	if (e->dev)
		vireo_blk_device_free(e->dev);
	virtio_blk_unregister(&e->bus, &e->drv);
	e->lb = NULL;
	e->dev = NULL;
	e->blk = NULL;
}

static int teardown(void **state)
{
	struct e2e *e = *state;

	stack_close(e);
	close(e->fd);
	unlink(e->path);
	free(e);
	return 0;
}

static void stack_open(struct e2e *e, bool readonly, unsigned int queues, uint64_t refuse)
{
	struct blk_device_options opt = {
		.path = e->path, .readonly = readonly, .num_queues = queues, .serial = SERIAL};

	virtio_bus_init(&e->bus);
	memset(&e->drv, 0, sizeof(e->drv));
	e->drv.refuse_features = refuse;
	assert_int_equal(virtio_blk_register(&e->bus, &e->drv), 0);
	assert_int_equal(vireo_blk_device_new(&e->dev, &opt), 0);
	assert_int_equal(
		vireo_loopback_new(&e->lb, &e->bus, vireo_blk_device_vdev(e->dev), 8u << 20), 0);
	e->blk = virtio_blk_from_device(vireo_loopback_virtio_device(e->lb));
	assert_non_null(e->blk);
	assert_int_equal(virtio_blk_capacity(e->blk), SECTORS);
}

/* The image bytes [@off, @off + @len) as the file holds them. */
static uint8_t *image_read(struct e2e *e, uint64_t off, size_t len)
{
	uint8_t *b = malloc(len);

	assert_non_null(b);
	assert_int_equal(pread(e->fd, b, len, (off_t)off), (ssize_t)len);
	return b;
}

static void assert_image_filled(struct e2e *e, uint64_t off, size_t len, uint8_t byte)
{
	uint8_t *b = image_read(e, off, len);
	size_t i;

	for (i = 0; i < len; i++) {
		if (b[i] != byte)
			fail_msg("image byte %zu is 0x%02x, expected 0x%02x", (size_t)off + i, b[i],
				 byte);
	}
	free(b);
}

static void fill_pattern(uint8_t *b, size_t len, uint32_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = (uint8_t)((i * 131u + seed * 7u + (i >> 9)) ^ seed);
}

/* ---- through the real driver ---- */

static void test_write_read_verify(void **state)
{
	struct e2e *e = *state;
	size_t len = 1u << 20;
	uint8_t *w = malloc(len), *r = malloc(len), *img;

	stack_open(e, false, 1, 0);
	fill_pattern(w, len, 1);
	assert_int_equal(virtio_blk_write(e->blk, 8, w, len), 0);
	memset(r, 0, len);
	assert_int_equal(virtio_blk_read(e->blk, 8, r, len), 0);
	assert_memory_equal(r, w, len);
	img = image_read(e, 8 * 512, len);
	assert_memory_equal(img, w, len);
	/* Around it, nothing moved. */
	assert_image_filled(e, 0, 8 * 512, IMAGE_FILL);
	assert_image_filled(e, 8 * 512 + len, 4096, IMAGE_FILL);
	free(img);
	free(w);
	free(r);
}

static void test_image_holds_data_after_close(void **state)
{
	struct e2e *e = *state;
	uint8_t w[8192], *img;

	stack_open(e, false, 1, 0);
	fill_pattern(w, sizeof(w), 9);
	assert_int_equal(virtio_blk_write(e->blk, SECTORS - 16, w, sizeof(w)), 0);
	assert_int_equal(virtio_blk_flush(e->blk), 0);
	stack_close(e);
	img = image_read(e, IMAGE_BYTES - sizeof(w), sizeof(w));
	assert_memory_equal(img, w, sizeof(w));
	free(img);
}

static void test_flush(void **state)
{
	struct e2e *e = *state;
	uint8_t w[512];

	stack_open(e, false, 1, 0);
	assert_true(virtio_blk_has_feature(e->blk, VIRTIO_BLK_F_FLUSH));
	memset(w, 0x42, sizeof(w));
	assert_int_equal(virtio_blk_write(e->blk, 0, w, sizeof(w)), 0);
	assert_int_equal(virtio_blk_flush(e->blk), 0);
	assert_image_filled(e, 0, 512, 0x42);
}

static void test_discard_reads_zeroes(void **state)
{
	struct e2e *e = *state;
	uint8_t r[64 * 512];
	size_t i;

	stack_open(e, false, 1, 0);
	if (!virtio_blk_has_feature(e->blk, VIRTIO_BLK_F_DISCARD))
		skip();
	assert_int_equal(virtio_blk_discard(e->blk, 128, 64), 0);
	assert_int_equal(virtio_blk_read(e->blk, 128, r, sizeof(r)), 0);
	for (i = 0; i < sizeof(r); i++)
		assert_int_equal(r[i], 0);
	assert_image_filled(e, 128 * 512, sizeof(r), 0);
	assert_image_filled(e, 127 * 512, 512, IMAGE_FILL);
	assert_image_filled(e, 192 * 512, 512, IMAGE_FILL);
}

static void test_write_zeroes(void **state)
{
	struct e2e *e = *state;
	uint8_t r[16 * 512];
	size_t i;

	stack_open(e, false, 1, 0);
	if (!virtio_blk_has_feature(e->blk, VIRTIO_BLK_F_WRITE_ZEROES))
		skip();
	assert_int_equal(virtio_blk_write_zeroes(e->blk, 300, 16, false), 0);
	assert_int_equal(virtio_blk_write_zeroes(e->blk, 400, 16, true), 0);
	assert_int_equal(virtio_blk_read(e->blk, 300, r, sizeof(r)), 0);
	for (i = 0; i < sizeof(r); i++)
		assert_int_equal(r[i], 0);
	assert_int_equal(virtio_blk_read(e->blk, 400, r, sizeof(r)), 0);
	for (i = 0; i < sizeof(r); i++)
		assert_int_equal(r[i], 0);
	assert_image_filled(e, 300 * 512, sizeof(r), 0);
	assert_image_filled(e, 400 * 512, sizeof(r), 0);
	assert_image_filled(e, 316 * 512, 512, IMAGE_FILL);
}

static void test_get_id_serial(void **state)
{
	struct e2e *e = *state;
	char id[VIRTIO_BLK_ID_BYTES + 1];

	stack_open(e, false, 1, 0);
	assert_int_equal(virtio_blk_get_id(e->blk, id), 0);
	assert_string_equal(id, "e2e-serial-012345678");
}

static void test_readonly_driver_refuses(void **state)
{
	struct e2e *e = *state;
	struct virtio_blk_request req = {.type = VIRTIO_BLK_T_OUT, .len = 512};
	uint8_t w[512], r[512];

	stack_open(e, true, 1, 0);
	assert_true(virtio_blk_read_only(e->blk));
	memset(w, 0x11, sizeof(w));
	assert_int_equal(virtio_blk_write(e->blk, 0, w, sizeof(w)), -EROFS);
	req.data = virtio_blk_alloc_buffer(e->blk, 512);
	assert_non_null(req.data);
	assert_int_equal(virtio_blk_submit(e->blk, 0, &req), -EROFS);
	virtio_blk_free_buffer(e->blk, req.data);
	/* Reads still work. */
	assert_int_equal(virtio_blk_read(e->blk, 0, r, sizeof(r)), 0);
	assert_int_equal(r[0], IMAGE_FILL);
	assert_image_filled(e, 0, 4096, IMAGE_FILL);
}

/*
 * The driver told not to negotiate VIRTIO_BLK_F_RO does not know the device
 * is read-only and sends the write; the device must fail it (§5.2.6.1: IOERR
 * for a write when VIRTIO_BLK_F_RO is offered, no data written).
 */
static void test_readonly_device_ioerr(void **state)
{
	struct e2e *e = *state;
	uint8_t w[4096];

	stack_open(e, true, 1, VIRTIO_BIT(VIRTIO_BLK_F_RO));
	assert_false(virtio_blk_read_only(e->blk));
	memset(w, 0x22, sizeof(w));
	assert_int_equal(virtio_blk_write(e->blk, 16, w, sizeof(w)), -EIO);
	assert_image_filled(e, 16 * 512, sizeof(w), IMAGE_FILL);
}

static void test_out_of_range_driver(void **state)
{
	struct e2e *e = *state;
	uint8_t w[1024];

	stack_open(e, false, 1, 0);
	memset(w, 0x33, sizeof(w));
	assert_int_equal(virtio_blk_write(e->blk, SECTORS - 1, w, sizeof(w)), -EINVAL);
	assert_int_equal(virtio_blk_write(e->blk, SECTORS, w, 512), -EINVAL);
	assert_int_equal(virtio_blk_read(e->blk, SECTORS, w, 512), -EINVAL);
	assert_int_equal(virtio_blk_write(e->blk, UINT64_MAX, w, 512), -EINVAL);
	assert_image_filled(e, IMAGE_BYTES - 1024, 1024, IMAGE_FILL);
	assert_int_equal(lseek(e->fd, 0, SEEK_END), IMAGE_BYTES);
}

/* ---- multi-queue, asynchronous, one thread per queue ---- */

struct mq_thread {
	struct e2e *e;
	unsigned int queue;
	int failed_line;
};

/* Write MQ_REQS blocks on this thread's queue, then read them back there. */
static int mq_run(struct mq_thread *t, uint32_t type)
{
	struct virtio_blk_request reqs[MQ_REQS], *ptrs[MQ_REQS], *done[MQ_REQS];
	unsigned int i, got = 0;
	int n, ret = 0;

	memset(reqs, 0, sizeof(reqs));
	for (i = 0; i < MQ_REQS; i++) {
		reqs[i].type = type;
		reqs[i].sector = (uint64_t)(t->queue * MQ_REQS + i) * (MQ_BS / 512);
		reqs[i].len = MQ_BS;
		reqs[i].data = virtio_blk_alloc_buffer(t->e->blk, MQ_BS);
		if (!reqs[i].data)
			return __LINE__;
		if (type == VIRTIO_BLK_T_OUT)
			fill_pattern(reqs[i].data, MQ_BS, t->queue * MQ_REQS + i);
		ptrs[i] = &reqs[i];
	}
	for (i = 0; i < MQ_REQS; i += (unsigned int)n) {
		n = virtio_blk_submit_batch(t->e->blk, t->queue, ptrs + i, MQ_REQS - i);
		if (n <= 0) {
			ret = __LINE__;
			break;
		}
	}
	while (!ret && got < MQ_REQS) {
		n = virtio_blk_poll(t->e->blk, t->queue, done, MQ_REQS, WAIT_MS);
		if (n <= 0)
			ret = __LINE__;
		for (i = 0; i < (unsigned int)(n > 0 ? n : 0); i++)
			ret = ret ? ret : done[i]->result ? __LINE__ : 0;
		got += n > 0 ? (unsigned int)n : 0;
	}
	for (i = 0; i < MQ_REQS && !ret && type == VIRTIO_BLK_T_IN; i++) {
		uint8_t want[MQ_BS];

		fill_pattern(want, MQ_BS, t->queue * MQ_REQS + i);
		if (memcmp(want, reqs[i].data, MQ_BS) != 0)
			ret = __LINE__;
	}
	for (i = 0; i < MQ_REQS; i++)
		virtio_blk_free_buffer(t->e->blk, reqs[i].data);
	return ret;
}

static void *mq_thread_fn(void *arg)
{
	struct mq_thread *t = arg;

	t->failed_line = mq_run(t, VIRTIO_BLK_T_OUT);
	if (!t->failed_line)
		t->failed_line = mq_run(t, VIRTIO_BLK_T_IN);
	return NULL;
}

static void test_multi_queue_async(void **state)
{
	struct e2e *e = *state;
	struct mq_thread t[MQ_QUEUES];
	pthread_t th[MQ_QUEUES];
	unsigned int q, i;

	stack_open(e, false, MQ_QUEUES, 0);
	assert_true(virtio_blk_has_feature(e->blk, VIRTIO_BLK_F_MQ));
	assert_int_equal(virtio_blk_num_queues(e->blk), MQ_QUEUES);
	for (q = 0; q < MQ_QUEUES; q++) {
		t[q] = (struct mq_thread){.e = e, .queue = q};
		assert_int_equal(pthread_create(&th[q], NULL, mq_thread_fn, &t[q]), 0);
	}
	for (q = 0; q < MQ_QUEUES; q++) {
		pthread_join(th[q], NULL);
		assert_int_equal(t[q].failed_line, 0);
	}
	/* Every queue's writes are in the file where they belong. */
	for (i = 0; i < MQ_QUEUES * MQ_REQS; i++) {
		uint8_t want[MQ_BS], *img = image_read(e, (uint64_t)i * MQ_BS, MQ_BS);

		fill_pattern(want, MQ_BS, i);
		assert_memory_equal(img, want, MQ_BS);
		free(img);
	}
}

/* ---- a raw driver: hand-built requests, no driver-side checks ---- */

struct raw_driver {
	struct virtio_driver drv;
	struct virtqueue *vq;
};

static int raw_probe(struct virtio_device *vdev)
{
	struct raw_driver *rd = (struct raw_driver *)vdev->driver;
	const char *const names[] = {"raw"};

	return vdev->config->find_vqs(vdev, 1, &rd->vq, NULL, names);
}

static const struct virtio_device_id raw_ids[] = {{VIRTIO_ID_BLOCK, VIRTIO_DEV_ANY_ID}, {0, 0}};

/* One request: header, @len data bytes (out for OUT, in for IN), status. Return: status */
static int raw_request(struct virtio_device *vdev, struct virtqueue *vq, uint32_t type,
		       uint64_t sector, uint32_t len, uint8_t fill)
{
	struct vireo_blk_outhdr *hdr;
	struct virtio_sg sg[3];
	uint8_t *data, *status;
	uint32_t used;
	int ret;

	hdr = virtio_dma_alloc(vdev->dma, sizeof(*hdr), 16, &sg[0].addr);
	data = virtio_dma_alloc(vdev->dma, len, 512, &sg[1].addr);
	status = virtio_dma_alloc(vdev->dma, 1, 1, &sg[2].addr);
	assert_true(hdr && data && status);
	hdr->type = type;
	hdr->sector = sector;
	memset(data, fill, len);
	*status = 0xff;
	sg[0].len = sizeof(*hdr);
	sg[1].len = len;
	sg[2].len = 1;
	if (type == VIRTIO_BLK_T_OUT)
		assert_int_equal(virtqueue_add_sgs(vq, sg, 2, 1, hdr), 0);
	else
		assert_int_equal(virtqueue_add_sgs(vq, sg, 1, 2, hdr), 0);
	virtqueue_kick(vq);
	while (!virtqueue_get_buf(vq, &used)) {
		assert_false(virtqueue_is_broken(vq));
		if (virtqueue_enable_cb(vq))
			assert_int_equal(vdev->config->wait(vdev, WAIT_MS), 0);
		virtqueue_disable_cb(vq);
	}
	ret = *status;
	virtio_dma_free(vdev->dma, hdr);
	virtio_dma_free(vdev->dma, data);
	virtio_dma_free(vdev->dma, status);
	return ret;
}

static void raw_open(struct e2e *e, struct raw_driver *rd, bool readonly)
{
	struct blk_device_options opt = {.path = e->path, .readonly = readonly};

	memset(rd, 0, sizeof(*rd));
	rd->drv.name = "raw-blk";
	rd->drv.id_table = raw_ids;
	rd->drv.probe = raw_probe;
	virtio_bus_init(&e->bus);
	assert_int_equal(virtio_register_driver(&e->bus, &rd->drv), 0);
	assert_int_equal(vireo_blk_device_new(&e->dev, &opt), 0);
	assert_int_equal(
		vireo_loopback_new(&e->lb, &e->bus, vireo_blk_device_vdev(e->dev), 1u << 20), 0);
	assert_non_null(rd->vq);
}

static void raw_close(struct e2e *e, struct raw_driver *rd)
{
	vireo_loopback_free(e->lb);
	vireo_blk_device_free(e->dev);
	virtio_unregister_driver(&e->bus, &rd->drv);
	e->lb = NULL;
	e->dev = NULL;
}

static void test_raw_device_checks(void **state)
{
	struct e2e *e = *state;
	struct raw_driver rd;
	struct virtio_device *vdev;

	raw_open(e, &rd, false);
	vdev = vireo_loopback_virtio_device(e->lb);
	/* The raw path works at all: a good write lands. */
	assert_int_equal(raw_request(vdev, rd.vq, VIRTIO_BLK_T_OUT, 2, 512, 0x44), VIRTIO_BLK_S_OK);
	assert_image_filled(e, 1024, 512, 0x44);
	/* Straddling the end, at the end, far beyond: IOERR, nothing written (§5.2.6.1). */
	assert_int_equal(raw_request(vdev, rd.vq, VIRTIO_BLK_T_OUT, SECTORS - 1, 1024, 0x55),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(raw_request(vdev, rd.vq, VIRTIO_BLK_T_OUT, SECTORS, 512, 0x55),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(raw_request(vdev, rd.vq, VIRTIO_BLK_T_OUT, UINT64_MAX, 512, 0x55),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(raw_request(vdev, rd.vq, VIRTIO_BLK_T_IN, SECTORS, 512, 0),
			 VIRTIO_BLK_S_IOERR);
	assert_image_filled(e, IMAGE_BYTES - 512, 512, IMAGE_FILL);
	assert_int_equal(lseek(e->fd, 0, SEEK_END), IMAGE_BYTES);
	raw_close(e, &rd);
}

static void test_raw_readonly_ioerr(void **state)
{
	struct e2e *e = *state;
	struct raw_driver rd;
	struct virtio_device *vdev;

	raw_open(e, &rd, true);
	vdev = vireo_loopback_virtio_device(e->lb);
	assert_false(virtio_has_feature(vdev, VIRTIO_BLK_F_RO));
	assert_int_equal(raw_request(vdev, rd.vq, VIRTIO_BLK_T_OUT, 0, 512, 0x66),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(raw_request(vdev, rd.vq, VIRTIO_BLK_T_IN, 0, 512, 0), VIRTIO_BLK_S_OK);
	assert_image_filled(e, 0, 512, IMAGE_FILL);
	raw_close(e, &rd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_read_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_holds_data_after_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discard_reads_zeroes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_zeroes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_id_serial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_driver_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_device_ioerr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_range_driver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multi_queue_async, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_device_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_readonly_ioerr, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
