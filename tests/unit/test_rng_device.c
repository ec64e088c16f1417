// SPDX-License-Identifier: MIT
/*
 * Unit tests for devices/rng: the entropy model driven through the core by
 * the driver-side ring over a shared "guest memory" block, no transport.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vireo/device.h>
#include <vireo/event_loop.h>
#include <vireo/guest_mem.h>
#include <vireo/rng_device.h>
#include <vireo/virtqueue.h>

#define GPA_BASE 0x80000000ull
#define MEM_SIZE (2u << 20)
#define HEAP_START 0x10000u
#define QNUM 16u

struct harness {
	uint8_t *host;
	struct guest_mem mem;
	struct event_loop loop;
	struct rng_device *rng;
	struct vdev *dev;
	struct virtqueue vq;
	struct vring_desc_extra extra[QNUM];
	int kick_fd;
	uint64_t heap;
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
	memset(g2h(h, gpa), 0, len);
	return gpa;
}

static bool notify(struct virtqueue *vq)
{
	struct harness *h = vq->priv;

	return vireo_eventfd_signal_fd(h->kick_fd) == 0;
}

/*
 * Up to DRIVER_OK; with @indirect_max > 0 the driver also takes INDIRECT_DESC
 * and uses tables that long.
 */
static void harness_up_indirect(struct harness *h, uint16_t indirect_max)
{
	const uint8_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	struct rng_device_options opt = {.queue_size = QNUM};
	struct vring_split_drv_config cfg = {.num = QNUM};
	uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1);

	memset(h, 0, sizeof(*h));
	h->heap = HEAP_START;
	h->host = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(h->host != MAP_FAILED);
	vireo_guest_mem_init(&h->mem);
	assert_int_equal(vireo_guest_mem_add_region(&h->mem, GPA_BASE, MEM_SIZE, h->host), 0);
	assert_int_equal(vireo_event_loop_init(&h->loop), 0);
	assert_int_equal(vireo_rng_device_new(&h->rng, &opt), 0);
	h->dev = vireo_rng_device_vdev(h->rng);
	assert_int_equal(h->dev->device_id, VIRTIO_ID_ENTROPY);
	assert_int_equal(h->dev->config_size, 0);
	vireo_vdev_set_memory(h->dev, &h->mem);
	vireo_vdev_set_event_loop(h->dev, &h->loop);
	assert_int_equal(vireo_vdev_set_status(h->dev, VIRTIO_STATUS_ACKNOWLEDGE), 0);
	assert_int_equal(vireo_vdev_set_status(h->dev, s), 0);
	if (indirect_max)
		features |= VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC);
	assert_int_equal(vireo_vdev_set_driver_features(h->dev, features), 0);
	assert_int_equal(vireo_vdev_set_status(h->dev, s | VIRTIO_STATUS_FEATURES_OK), 0);
	cfg.desc = g2h(h, GPA_BASE);
	cfg.avail = g2h(h, GPA_BASE + 0x1000);
	cfg.used = g2h(h, GPA_BASE + 0x2000);
	cfg.extra = h->extra;
	if (indirect_max) {
		cfg.indirect_max = indirect_max;
		cfg.indirect_pool_addr = galloc(h, (size_t)QNUM * indirect_max * 16u);
		cfg.indirect_pool = g2h(h, cfg.indirect_pool_addr);
	}
	assert_int_equal(virtqueue_split_init(&h->vq, &cfg), 0);
	h->vq.notify = notify;
	h->vq.priv = h;
	h->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_int_equal(vireo_vdev_queue_set_num(h->dev, 0, QNUM), 0);
	assert_int_equal(vireo_vdev_queue_set_addr(h->dev, 0, GPA_BASE, GPA_BASE + 0x1000,
						   GPA_BASE + 0x2000),
			 0);
	assert_int_equal(vireo_vdev_queue_set_kick_fd(h->dev, 0, h->kick_fd), 0);
	assert_int_equal(vireo_vdev_queue_set_call_fd(h->dev, 0, eventfd(0, EFD_NONBLOCK)), 0);
	assert_int_equal(vireo_vdev_set_status(h->dev, s | VIRTIO_STATUS_FEATURES_OK |
							       VIRTIO_STATUS_DRIVER_OK),
			 0);
}

static void harness_up(struct harness *h)
{
	harness_up_indirect(h, 0);
}

static void harness_down(struct harness *h)
{
	vireo_rng_device_free(h->rng);
	vireo_event_loop_destroy(&h->loop);
	munmap(h->host, MEM_SIZE);
}

/* Run the loop until a buffer comes back. Return: its token, or NULL after a bounded wait. */
static void *wait_used(struct harness *h, uint32_t *len)
{
	for (int i = 0; i < 40; i++) {
		void *t = virtqueue_get_buf(&h->vq, len);
		int rc;

		if (t)
			return t;
		rc = vireo_event_loop_run_once(&h->loop, 50);
		if (rc < 0 && rc != -EINTR)
			fail_msg("vireo_event_loop_run_once: %d", rc);
	}
	return NULL;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* D-RNG-01: 1 byte, 4 KiB and a two-descriptor chain; len is what was filled */
static void test_rng_fills_buffers(void **state)
{
	struct harness h;
	struct virtio_sg sg[2];
	uint64_t a = 0, b = 0, c = 0;
	uint32_t len;
	int tok[3];

	(void)state;
	harness_up(&h);
	a = galloc(&h, 1);
	b = galloc(&h, 4096);
	c = galloc(&h, 2 * 1024);
	sg[0] = (struct virtio_sg){.addr = a, .len = 1};
	assert_int_equal(virtqueue_add_inbuf(&h.vq, sg, 1, &tok[0]), 0);
	sg[0] = (struct virtio_sg){.addr = b, .len = 4096};
	assert_int_equal(virtqueue_add_inbuf(&h.vq, sg, 1, &tok[1]), 0);
	sg[0] = (struct virtio_sg){.addr = c, .len = 1024};
	sg[1] = (struct virtio_sg){.addr = c + 1024, .len = 1024};
	assert_int_equal(virtqueue_add_inbuf(&h.vq, sg, 2, &tok[2]), 0);
	virtqueue_kick(&h.vq);
	assert_ptr_equal(wait_used(&h, &len), &tok[0]);
	assert_int_equal(len, 1);
	assert_ptr_equal(wait_used(&h, &len), &tok[1]);
	assert_int_equal(len, 4096);
	assert_false(all_zero(g2h(&h, b), 4096));
	assert_ptr_equal(wait_used(&h, &len), &tok[2]);
	assert_int_equal(len, 2048);
	assert_false(all_zero(g2h(&h, c), 1024));
	assert_false(all_zero(g2h(&h, c + 1024), 1024));
	harness_down(&h);
}

/* §5.4.6.2: the device MAY use less than the buffer: a huge buffer gets 64 KiB */
static void test_rng_large_buffer_capped(void **state)
{
	struct harness h;
	struct virtio_sg sg = {.len = 256 * 1024};
	uint32_t len;
	int tok;

	(void)state;
	harness_up(&h);
	sg.addr = galloc(&h, sg.len);
	assert_int_equal(virtqueue_add_inbuf(&h.vq, &sg, 1, &tok), 0);
	virtqueue_kick(&h.vq);
	assert_ptr_equal(wait_used(&h, &len), &tok);
	assert_true(len >= 1 && len <= sg.len);
	assert_int_equal(len, 65536);
	assert_true(all_zero(g2h(&h, sg.addr + len), sg.len - len));
	harness_down(&h);
}

/* drv:RNG/Device Operation forbids device-readable buffers: NEEDS_RESET, nothing written */
static void test_rng_readable_buffer_needs_reset(void **state)
{
	struct harness h;
	struct virtio_sg sg[2];
	uint32_t len;
	int tok;

	(void)state;
	harness_up(&h);
	sg[0] = (struct virtio_sg){.addr = galloc(&h, 64), .len = 64};
	sg[1] = (struct virtio_sg){.addr = galloc(&h, 64), .len = 64};
	assert_int_equal(virtqueue_add_sgs(&h.vq, sg, 1, 1, &tok), 0);
	virtqueue_kick(&h.vq);
	/* one dispatch of the kick is enough; -EINTR would be a spurious wake-up */
	for (int i = 0; i < 40 && !vdev_needs_reset(h.dev); i++)
		vireo_event_loop_run_once(&h.loop, 50);
	assert_true(vdev_needs_reset(h.dev));
	assert_null(virtqueue_get_buf(&h.vq, &len));
	assert_true(all_zero(g2h(&h, sg[1].addr), 64));
	/* a reset brings the device back to its initial state */
	assert_int_equal(vireo_vdev_set_status(h.dev, 0), 0);
	assert_int_equal(vireo_vdev_get_status(h.dev), 0);
	harness_down(&h);
}

/*
 * One buffer of @segs 8-byte pieces in one indirect table, posted and kicked
 * on a fresh device (@h). The model's iov pool holds a chain of the queue
 * size plus 32 region splits (rng.c: iov_cap). Return: the buffer's address.
 */
static uint64_t rng_post_pieces(struct harness *h, unsigned int segs, int *tok)
{
	struct virtio_sg sg[QNUM + 33];
	uint64_t buf;

	assert_true(segs <= QNUM + 33);
	harness_up_indirect(h, (uint16_t)segs);
	buf = galloc(h, segs * 8);
	for (unsigned int i = 0; i < segs; i++)
		sg[i] = (struct virtio_sg){.addr = buf + i * 8, .len = 8};
	assert_int_equal(virtqueue_add_inbuf(&h->vq, sg, segs, tok), 0);
	virtqueue_kick(&h->vq);
	return buf;
}

/*
 * An indirect table longer than the pool (and than the queue, which a driver
 * must not make: drv:…/The Virtqueue Descriptor Table) is a ring error:
 * NEEDS_RESET, nothing written, no write past the pool.
 */
static void test_rng_chain_beyond_iov_pool_needs_reset(void **state)
{
	struct harness h;
	uint64_t buf;
	uint32_t len;
	int tok;

	(void)state;
	buf = rng_post_pieces(&h, QNUM + 33, &tok);
	for (int i = 0; i < 40 && !vdev_needs_reset(h.dev); i++)
		vireo_event_loop_run_once(&h.loop, 50);
	assert_true(vdev_needs_reset(h.dev));
	assert_null(virtqueue_get_buf(&h.vq, &len));
	assert_true(all_zero(g2h(&h, buf), (QNUM + 33) * 8));
	harness_down(&h);
}

/* Exactly the pool, in the same kind of table: filled in full. */
static void test_rng_chain_filling_iov_pool(void **state)
{
	struct harness h;
	uint32_t len;
	int tok;

	(void)state;
	(void)rng_post_pieces(&h, QNUM + 32, &tok);
	assert_ptr_equal(wait_used(&h, &len), &tok);
	assert_int_equal(len, (QNUM + 32) * 8);
	assert_false(vdev_needs_reset(h.dev));
	harness_down(&h);
}

static void test_rng_options(void **state)
{
	struct rng_device_options bad = {.queue_size = 48};
	struct rng_device *rng;

	(void)state;
	assert_int_equal(vireo_rng_device_new(&rng, &bad), -EINVAL);
	assert_int_equal(vireo_rng_device_new(&rng, NULL), 0);
	assert_int_equal(vireo_rng_device_vdev(rng)->queue_max_size, RNG_DEVICE_DEFAULT_QUEUE_SIZE);
	assert_int_equal(vireo_rng_device_vdev(rng)->num_queues, 1);
	vireo_rng_device_free(rng);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rng_fills_buffers),
		cmocka_unit_test(test_rng_large_buffer_capped),
		cmocka_unit_test(test_rng_readable_buffer_needs_reset),
		cmocka_unit_test(test_rng_chain_beyond_iov_pool_needs_reset),
		cmocka_unit_test(test_rng_chain_filling_iov_pool),
		cmocka_unit_test(test_rng_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
