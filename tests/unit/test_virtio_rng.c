// SPDX-License-Identifier: MIT
/*
 * Unit tests for the virtio-rng driver (drivers/rng.c) against an in-memory
 * entropy device served in the same thread (tests/lib/fake_transport.c).
 * Virtio 1.2 §5.4, drv:RNG/Device Operation (checklist R-RNG-01/02).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/virtio_rng.h>

#include "tests/lib/fake_transport.h"

struct rng_fake {
	uint8_t next;	     /* the "random" byte stream: a counter */
	uint32_t max_fill;   /* short fills: at most this many bytes per request */
	uint32_t max_report; /* used len reported: at most this (below max_fill: a lie) */
	unsigned int requests;
	unsigned int violations;
	uint32_t last_writable_bytes;
};

struct rng_fixture {
	struct virtio_bus bus;
	struct fake_dev fd;
	struct virtio_rng_driver rd;
	struct rng_fake dev;
	struct virtio_rng *rng;
};

static uint32_t rng_fake_handler(struct fake_dev *fd, unsigned int q, const struct vring_chain *c,
				 struct vring_iov *iov)
{
	struct rng_fake *d = fd->priv;
	uint32_t budget = d->max_fill, written = 0;
	unsigned int i;

	(void)q;
	d->requests++;
	d->last_writable_bytes = c->writable_bytes;
	if (c->readable) /* R-RNG-01: device-writable buffers only */
		d->violations++;
	for (i = c->readable; i < (unsigned int)c->readable + c->writable && budget; i++) {
		uint8_t *p = iov[i].base;
		size_t k;

		for (k = 0; k < iov[i].len && budget; k++, budget--, written++)
			p[k] = d->next++;
	}
	return written < d->max_report ? written : d->max_report;
}

static int fixture_setup(void **state)
{
	struct rng_fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	virtio_bus_init(&f->bus);
	assert_int_equal(fake_dev_init(&f->fd, VIRTIO_ID_ENTROPY,
				       VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(0), 1u << 20),
			 0);
	f->dev.max_fill = UINT32_MAX;
	f->dev.max_report = UINT32_MAX;
	f->fd.handler = rng_fake_handler;
	f->fd.priv = &f->dev;
	assert_int_equal(virtio_rng_register(&f->bus, &f->rd), 0);
	assert_int_equal(vireo_register_virtio_device(&f->bus, &f->fd.vdev), 0);
	f->rng = virtio_rng_from_device(virtio_bus_find(&f->bus, VIRTIO_ID_ENTROPY, 0));
	assert_non_null(f->rng);
	*state = f;
	return 0;
}

static int fixture_teardown(void **state)
{
	struct rng_fixture *f = *state;

	vireo_unregister_virtio_device(&f->fd.vdev);
	virtio_rng_unregister(&f->bus, &f->rd);
	assert_int_equal(f->dev.violations, 0);
	assert_false(f->fd.device_error);
	assert_false(f->fd.kick_before_driver_ok);
	fake_dev_destroy(&f->fd);
	free(f);
	return 0;
}

static void assert_counter_bytes(const uint8_t *p, size_t len, uint8_t first)
{
	size_t i;

	for (i = 0; i < len; i++)
		assert_int_equal(p[i], (uint8_t)(first + i));
}

static void test_bind(void **state)
{
	struct rng_fixture *f = *state;

	assert_true(f->fd.status & VIRTIO_STATUS_DRIVER_OK);
	/* §5.4.3: no device features; an offered unknown bit is not accepted. */
	assert_int_equal(f->fd.acked, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_int_equal(f->fd.nvqs, 1);
	assert_null(virtio_rng_from_device(NULL));
}

static void test_sync_read(void **state)
{
	struct rng_fixture *f = *state;
	uint8_t buf[100];

	assert_int_equal(virtio_rng_read(f->rng, buf, sizeof(buf)), sizeof(buf));
	assert_counter_bytes(buf, sizeof(buf), 0);
	assert_int_equal(f->dev.requests, 1);
	assert_int_equal(f->dev.last_writable_bytes, sizeof(buf));
	assert_int_equal(virtio_rng_read(f->rng, buf, 0), 0);
}

/* R-RNG-02: short fills are counted by the used length; the read loops. */
static void test_short_fills(void **state)
{
	struct rng_fixture *f = *state;
	uint8_t buf[100];

	f->dev.max_fill = 7;
	assert_int_equal(virtio_rng_read(f->rng, buf, sizeof(buf)), sizeof(buf));
	assert_counter_bytes(buf, sizeof(buf), 0);
	assert_int_equal(f->dev.requests, (100 + 6) / 7);
}

/* Longer than the bounce buffer: several requests, in order. */
static void test_long_read(void **state)
{
	struct rng_fixture *f = *state;
	size_t len = 3 * VIRTIO_RNG_BOUNCE_SIZE + 5;
	uint8_t *buf = malloc(len);

	assert_non_null(buf);
	assert_int_equal(virtio_rng_read(f->rng, buf, len), (ssize_t)len);
	assert_counter_bytes(buf, len, 0);
	assert_int_equal(f->dev.requests, 4);
	free(buf);
}

/* A device that never returns data is given up on, not waited for forever. */
static void test_device_returns_nothing(void **state)
{
	struct rng_fixture *f = *state;
	uint8_t buf[16];

	f->dev.max_fill = 0;
	assert_int_equal(virtio_rng_read(f->rng, buf, sizeof(buf)), -EIO);
}

/* A synchronous read whose request (on its own stack) the device still holds when it fails. */
static __attribute__((noinline)) ssize_t sync_read_one(struct virtio_rng *rng)
{
	uint8_t buf[64];

	return virtio_rng_read(rng, buf, sizeof(buf));
}

/*
 * The device does not answer and sets DEVICE_NEEDS_RESET: the read fails and the device is
 * reset (drv:BF/Device Status Field). It then uses the old buffer anyway: the next poll must
 * not hand back the read's request, a pointer into a stack frame that is gone (found by an
 * outside review).
 */
static void test_sync_request_never_outlives_its_call(void **state)
{
	struct rng_fixture *f = *state;
	struct virtio_rng_request *done[1] = {NULL};

	f->fd.defer = true;
	f->fd.hold[0] = true;
	f->fd.status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	assert_int_equal(sync_read_one(f->rng), -EIO);
	f->fd.hold[0] = false;
	assert_int_equal(fake_dev_process(&f->fd, 0, UINT_MAX), 1);
	assert_true(virtio_rng_poll(f->rng, done, 1, 0) <= 0);
	assert_null(done[0]);
	f->fd.defer = false;
}

static void test_async(void **state)
{
	struct rng_fixture *f = *state;
	struct virtio_rng_request reqs[8], *done[8];
	unsigned int i, got = 0;
	int r;

	f->fd.defer = true;
	for (i = 0; i < 8; i++) {
		reqs[i] = (struct virtio_rng_request){.len = 32, .token = &reqs[i]};
		reqs[i].data = virtio_rng_alloc_buffer(f->rng, 32);
		assert_non_null(reqs[i].data);
		assert_int_equal(virtio_rng_submit(f->rng, &reqs[i]), 0);
	}
	assert_int_equal(virtio_rng_poll(f->rng, done, 8, 0), 0);
	while (got < 8) {
		r = virtio_rng_poll(f->rng, done, 8, -1);
		assert_true(r > 0);
		for (i = 0; i < (unsigned int)r; i++) {
			assert_ptr_equal(done[i]->token, done[i]);
			assert_int_equal(done[i]->written, 32);
			assert_int_equal(done[i]->result, 0);
		}
		got += (unsigned int)r;
	}
	for (i = 0; i < 8; i++) {
		assert_counter_bytes(reqs[i].data, 32, (uint8_t)(i * 32));
		virtio_rng_free_buffer(f->rng, reqs[i].data);
	}
}

static void test_async_ring_full_and_validation(void **state)
{
	struct rng_fixture *f = *state;
	struct virtio_rng_request reqs[65], *done[65];
	uint8_t heap[8];
	unsigned int i;
	int r, got = 0;

	f->fd.defer = true;
	for (i = 0; i < 65; i++) {
		reqs[i] = (struct virtio_rng_request){.len = 8};
		reqs[i].data = virtio_rng_alloc_buffer(f->rng, 8);
		assert_non_null(reqs[i].data);
	}
	for (i = 0; i < 64; i++)
		assert_int_equal(virtio_rng_submit(f->rng, &reqs[i]), 0);
	assert_int_equal(virtio_rng_submit(f->rng, &reqs[64]), -EAGAIN);
	while (got < 64) {
		r = virtio_rng_poll(f->rng, done, 65, -1);
		assert_true(r > 0);
		got += r;
	}
	assert_int_equal(virtio_rng_submit(f->rng, &reqs[64]), 0);
	assert_int_equal(virtio_rng_poll(f->rng, done, 65, -1), 1);

	reqs[0].len = 0;
	assert_int_equal(virtio_rng_submit(f->rng, &reqs[0]), -EINVAL);
	virtio_rng_free_buffer(f->rng, reqs[64].data);
	reqs[64].len = sizeof(heap);
	reqs[64].data = heap; /* not DMA memory */
	assert_int_equal(virtio_rng_submit(f->rng, &reqs[64]), -EINVAL);
	for (i = 0; i < 64; i++)
		virtio_rng_free_buffer(f->rng, reqs[i].data);
}

/* A sync read meeting async completions keeps them for the next poll. */
static void test_sync_keeps_async_completions(void **state)
{
	struct rng_fixture *f = *state;
	struct virtio_rng_request req = {.len = 4}, *done[2];
	uint8_t buf[4];

	f->fd.defer = true;
	req.data = virtio_rng_alloc_buffer(f->rng, 4);
	assert_int_equal(virtio_rng_submit(f->rng, &req), 0);
	assert_int_equal(virtio_rng_read(f->rng, buf, sizeof(buf)), sizeof(buf));
	assert_int_equal(virtio_rng_poll(f->rng, done, 2, 0), 1);
	assert_ptr_equal(done[0], &req);
	assert_counter_bytes(req.data, 4, 0);
	assert_counter_bytes(buf, 4, 4);
	virtio_rng_free_buffer(f->rng, req.data);
}

/*
 * R-SR-09 / R-RNG-02: only the first used-len bytes count. The device fills
 * the whole buffer but reports 3 bytes a request: the bytes past the used
 * len (written, but not reported) must never reach the caller. Requests of
 * 10, 7, 4 and 1 bytes get counter bytes 0-9, 10-16, 17-20 and 21.
 */
static void test_bytes_beyond_used_len_dropped(void **state)
{
	struct rng_fixture *f = *state;
	struct virtio_rng_request req = {.len = 16}, *done[1];
	uint8_t buf[10], want[10] = {0, 1, 2, 10, 11, 12, 17, 18, 19, 21};

	f->dev.max_report = 3;
	assert_int_equal(virtio_rng_read(f->rng, buf, sizeof(buf)), sizeof(buf));
	assert_memory_equal(buf, want, sizeof(buf));
	assert_int_equal(f->dev.requests, 4);
	/* Async: the request says how many bytes count. */
	f->fd.defer = true;
	req.data = virtio_rng_alloc_buffer(f->rng, req.len);
	assert_non_null(req.data);
	assert_int_equal(virtio_rng_submit(f->rng, &req), 0);
	assert_int_equal(virtio_rng_poll(f->rng, done, 1, -1), 1);
	assert_ptr_equal(done[0], &req);
	assert_int_equal(req.written, 3);
	assert_int_equal(req.result, 0);
	virtio_rng_free_buffer(f->rng, req.data);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_bind),
		T(test_sync_read),
		T(test_short_fills),
		T(test_long_read),
		T(test_device_returns_nothing),
		T(test_async),
		T(test_async_ring_full_and_validation),
		T(test_sync_keeps_async_completions),
		T(test_bytes_beyond_used_len_dropped),
		T(test_sync_request_never_outlives_its_call),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
