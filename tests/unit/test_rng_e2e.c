// SPDX-License-Identifier: MIT
/*
 * End to end: our virtio-rng driver -> the loopback transport -> our
 * virtio-rng device model. Bytes arrive, they are not constant, reads of any
 * length complete, and the asynchronous API returns each request once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <vireo/driver.h>
#include <vireo/loopback.h>
#include <vireo/rng_device.h>
#include <vireo/virtio_rng.h>

#define ASYNC_REQS 8u
#define WAIT_MS 5000

struct rng_e2e {
	struct virtio_bus bus;
	struct virtio_rng_driver drv;
	struct rng_device *dev;
	struct loopback *lb;
	struct virtio_rng *rng;
};

static int setup(void **state)
{
	struct rng_e2e *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	virtio_bus_init(&e->bus);
	assert_int_equal(virtio_rng_register(&e->bus, &e->drv), 0);
	assert_int_equal(vireo_rng_device_new(&e->dev, NULL), 0);
	assert_int_equal(vireo_loopback_new(&e->lb, &e->bus, vireo_rng_device_vdev(e->dev), 0), 0);
	e->rng = virtio_rng_from_device(vireo_loopback_virtio_device(e->lb));
	assert_non_null(e->rng);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct rng_e2e *e = *state;

	vireo_loopback_free(e->lb);
	vireo_rng_device_free(e->dev);
	virtio_rng_unregister(&e->bus, &e->drv);
	free(e);
	return 0;
}

/* 32 random bytes being all equal has probability 2^-248. */
static bool all_same(const uint8_t *b, size_t len)
{
	size_t i;

	for (i = 1; i < len; i++) {
		if (b[i] != b[0])
			return false;
	}
	return true;
}

static void test_bytes_arrive(void **state)
{
	struct rng_e2e *e = *state;
	uint8_t a[32], b[32];

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	assert_int_equal(virtio_rng_read(e->rng, a, sizeof(a)), sizeof(a));
	assert_int_equal(virtio_rng_read(e->rng, b, sizeof(b)), sizeof(b));
	assert_false(all_same(a, sizeof(a)));
	assert_memory_not_equal(a, b, sizeof(a));
}

static void test_long_and_odd_reads(void **state)
{
	struct rng_e2e *e = *state;
	size_t len = 3 * VIRTIO_RNG_BOUNCE_SIZE + 7;
	uint8_t *buf = calloc(1, len);
	uint8_t one = 0;

	assert_non_null(buf);
	assert_int_equal(virtio_rng_read(e->rng, buf, len), (ssize_t)len);
	/* Each bounce-sized piece was filled, the tail too. */
	assert_false(all_same(buf, 32));
	assert_false(all_same(buf + 2 * VIRTIO_RNG_BOUNCE_SIZE, 32));
	assert_false(all_same(buf + len - 32, 32));
	assert_int_equal(virtio_rng_read(e->rng, &one, 1), 1);
	free(buf);
}

static void test_async_each_once(void **state)
{
	struct rng_e2e *e = *state;
	struct virtio_rng_request reqs[ASYNC_REQS], *done[ASYNC_REQS];
	unsigned int seen[ASYNC_REQS] = {0}, got = 0, i;
	int n;

	memset(reqs, 0, sizeof(reqs));
	for (i = 0; i < ASYNC_REQS; i++) {
		reqs[i].len = 64;
		reqs[i].data = virtio_rng_alloc_buffer(e->rng, 64);
		reqs[i].token = &seen[i];
		assert_non_null(reqs[i].data);
		assert_int_equal(virtio_rng_submit(e->rng, &reqs[i]), 0);
	}
	while (got < ASYNC_REQS) {
		n = virtio_rng_poll(e->rng, done, ASYNC_REQS, WAIT_MS);
		assert_true(n > 0);
		for (i = 0; i < (unsigned int)n; i++) {
			assert_int_equal(done[i]->result, 0);
			assert_true(done[i]->written > 0 && done[i]->written <= 64);
			(*(unsigned int *)done[i]->token)++;
		}
		got += (unsigned int)n;
	}
	for (i = 0; i < ASYNC_REQS; i++) {
		assert_int_equal(seen[i], 1);
		virtio_rng_free_buffer(e->rng, reqs[i].data);
	}
	assert_int_equal(virtio_rng_poll(e->rng, done, ASYNC_REQS, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bytes_arrive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_and_odd_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_each_once, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
