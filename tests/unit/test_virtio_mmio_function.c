// SPDX-License-Identifier: MIT
/*
 * The virtio-mmio function model (transport/virtio_mmio_function.c) played
 * by a driver made of register accesses: the identity registers, a split
 * ring built by hand for the rng and blk models (data verified), the
 * interrupt line and InterruptStatus/ACK, ConfigGeneration, reset and queue
 * reset. A hostile driver: test_virtio_mmio_function_hostile.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <vireo/blk_device.h>
#include <vireo/device.h>
#include <vireo/guest_mem.h>
#include <vireo/log.h>
#include <vireo/rng_device.h>
#include <vireo/spec.h>
#include <vireo/virtio_mmio_function.h>

#include "tests/lib/mmio_fn_fixture.h"

/* D-MMIO-01/02: identity, and what an unused queue or SHM id reads. */
static void test_identity(void **state)
{
	struct mmio_fx *f = *state;

	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_VERSION_REG), 2);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_DEVICE_ID), VIRTIO_ID_ENTROPY);
	mmio_fx_write(f, VIREO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_true(mmio_fx_read(f, VIREO_MMIO_DEVICE_FEATURES) & 1u); /* VERSION_1 is bit 32 */
	assert_true(mmio_fx_read(f, VIREO_MMIO_DEVICE_FEATURES) &
		    (1u << (VIRTIO_F_NOTIFICATION_DATA - 32)));
	mmio_fx_write(f, VIREO_MMIO_DEVICE_FEATURES_SEL, 7);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_DEVICE_FEATURES), 0);
	mmio_fx_write(f, VIREO_MMIO_QUEUE_SEL, 1); /* rng has one queue */
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_QUEUE_SIZE_MAX), 0);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_QUEUE_READY), 0);
	mmio_fx_write(f, VIREO_MMIO_SHM_SEL, 0);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_SHM_LEN_LOW), 0xffffffffu);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_SHM_BASE_HIGH), 0xffffffffu);
	assert_int_equal(vireo_mmio_function_size(f->fn), 0x100);
	assert_true(vireo_mmio_function_notify_fd(f->fn, 0) >= 0);
	assert_int_equal(vireo_mmio_function_notify_fd(f->fn, 1), -EINVAL);
}

/*
 * rng: one request end to end; D-MMIO-03: bit 0 from the completion until
 * ACK, bit 1 never; D-MMIO-04: a reset clears a pending interrupt and QueueReady.
 */
static void test_rng_request_interrupt_reset(void **state)
{
	struct mmio_fx *f = *state;
	struct virtq_desc d = {.addr = BUF_GPA, .len = 64, .flags = VIRTQ_DESC_F_WRITE};
	struct virtq_used *used = mmio_fx_gpa(f, USED_GPA);
	static const uint8_t zero[64];

	mmio_fx_negotiate(f, 0);
	mmio_fx_queue(f, 0);
	mmio_fx_driver_ok(f);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_INTERRUPT_STATUS), 0);
	memset(mmio_fx_gpa(f, BUF_GPA), 0, 64);
	mmio_fx_post(f, 0, &d, 1);
	assert_true(mmio_fx_wait_used(f, 0, 1, 2000));
	assert_int_equal(used->ring[0].len, 64);
	assert_memory_not_equal(mmio_fx_gpa(f, BUF_GPA), zero, 64);
	assert_true(mmio_fx_wait_level(f, true));
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_INTERRUPT_STATUS), VIREO_MMIO_INT_VRING);
	/* Held until acknowledged. */
	usleep(20000);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_INTERRUPT_STATUS), VIREO_MMIO_INT_VRING);
	assert_true(__atomic_load_n(&f->level, __ATOMIC_ACQUIRE));
	mmio_fx_write(f, VIREO_MMIO_INTERRUPT_ACK, VIREO_MMIO_INT_VRING);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_INTERRUPT_STATUS), 0);
	assert_false(__atomic_load_n(&f->level, __ATOMIC_ACQUIRE));

	/* A second completion left pending, then reset. */
	mmio_fx_post(f, 0, &d, 1);
	assert_true(mmio_fx_wait_used(f, 0, 2, 2000));
	assert_true(mmio_fx_wait_level(f, true));
	mmio_fx_write(f, VIREO_MMIO_STATUS, 0);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_STATUS), 0);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_INTERRUPT_STATUS), 0);
	assert_false(__atomic_load_n(&f->level, __ATOMIC_ACQUIRE));
	mmio_fx_write(f, VIREO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_QUEUE_READY), 0);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_QUEUE_RESET), 0);
}

/* NOTIFICATION_DATA: the low 16 bits name the queue; the rest is the driver's position. */
static void test_rng_notification_data(void **state)
{
	struct mmio_fx *f = *state;
	struct virtq_desc d = {.addr = BUF_GPA, .len = 16, .flags = VIRTQ_DESC_F_WRITE};
	struct virtq_avail *avail = mmio_fx_gpa(f, AVAIL_GPA);

	mmio_fx_negotiate(f, VIRTIO_BIT(VIRTIO_F_NOTIFICATION_DATA));
	mmio_fx_queue(f, 0);
	mmio_fx_driver_ok(f);
	*(struct virtq_desc *)mmio_fx_gpa(f, DESC_GPA) = d;
	avail->ring[0] = 0;
	__atomic_store_n(&avail->idx, 1, __ATOMIC_RELEASE);
	mmio_fx_write(f, VIREO_MMIO_QUEUE_NOTIFY, (1u << 16) | 0u);
	assert_true(mmio_fx_wait_used(f, 0, 1, 2000));
	/* Queue 1 does not exist, whatever the upper bits say. */
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_QUEUE_NOTIFY, 4, (1u << 16) | 1u),
			 -EINVAL);
}

/* D-MMIO-06: with QueueReady 0 the device does not touch the ring, kicked or not. */
static void test_ready_gate(void **state)
{
	struct mmio_fx *f = *state;
	struct virtq_desc d = {.addr = BUF_GPA, .len = 16, .flags = VIRTQ_DESC_F_WRITE};
	struct virtq_avail *avail = mmio_fx_gpa(f, AVAIL_GPA);
	struct virtq_used *used = mmio_fx_gpa(f, USED_GPA);

	mmio_fx_negotiate(f, 0);
	memset(mmio_fx_gpa(f, DESC_GPA), 0, 0x600);
	mmio_fx_write(f, VIREO_MMIO_QUEUE_SEL, 0);
	mmio_fx_write(f, VIREO_MMIO_QUEUE_SIZE, QSIZE);
	mmio_fx_write(f, VIREO_MMIO_QUEUE_DESC_LOW, (uint32_t)DESC_GPA);
	mmio_fx_write(f, VIREO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(DESC_GPA >> 32));
	mmio_fx_write(f, VIREO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)AVAIL_GPA);
	mmio_fx_write(f, VIREO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(AVAIL_GPA >> 32));
	mmio_fx_write(f, VIREO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)USED_GPA);
	mmio_fx_write(f, VIREO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(USED_GPA >> 32));
	mmio_fx_driver_ok(f);
	*(struct virtq_desc *)mmio_fx_gpa(f, DESC_GPA) = d;
	avail->ring[0] = 0;
	__atomic_store_n(&avail->idx, 1, __ATOMIC_RELEASE);
	mmio_fx_write(f, VIREO_MMIO_QUEUE_NOTIFY, 0);
	assert_false(mmio_fx_wait_used(f, 0, 1, 100));
	assert_int_equal(used->flags, 0);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_INTERRUPT_STATUS), 0);
}

/* D-MMIO-07/08: QueueReset reads 0 after enable; 1 resets; both read 0; the queue restarts. */
static void test_queue_reset(void **state)
{
	struct mmio_fx *f = *state;
	struct virtq_desc d = {.addr = BUF_GPA, .len = 16, .flags = VIRTQ_DESC_F_WRITE};

	mmio_fx_negotiate(f, VIRTIO_BIT(VIRTIO_F_RING_RESET));
	mmio_fx_queue(f, 0);
	mmio_fx_driver_ok(f);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_QUEUE_RESET), 0);
	mmio_fx_post(f, 0, &d, 1);
	assert_true(mmio_fx_wait_used(f, 0, 1, 2000));
	mmio_fx_write(f, VIREO_MMIO_QUEUE_SEL, 0);
	mmio_fx_write(f, VIREO_MMIO_QUEUE_RESET, 1);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_QUEUE_RESET), 0);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_QUEUE_READY), 0);
	/* A new ring elsewhere, from index 0 again. */
	mmio_fx_queue(f, 0x8000);
	mmio_fx_post(f, 0x8000, &d, 1);
	assert_true(mmio_fx_wait_used(f, 0x8000, 1, 2000));
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_QUEUE_RESET), 0);
}

static void test_queue_reset_not_negotiated(void **state)
{
	struct mmio_fx *f = *state;

	mmio_fx_negotiate(f, 0);
	mmio_fx_queue(f, 0);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_QUEUE_RESET, 4, 1), -EINVAL);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_QUEUE_READY), 1);
}

static void fx_config_changed(struct vdev *dev, void *arg)
{
	(void)arg;
	vireo_vdev_config_changed(dev);
}

/* blk: config through 8/16/32-bit reads; ConfigGeneration moves (D-MMIO-05) with bit 1. */
static void test_blk_config_generation(void **state)
{
	struct mmio_fx *f = *state;
	uint32_t v, gen;

	mmio_fx_negotiate(f, 0);
	/* capacity: 1 MiB = 2048 sectors, two aligned 32-bit reads. */
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_CONFIG + 0), 2048);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_CONFIG + 4), 0);
	assert_int_equal(vireo_mmio_read(f->fn, VIREO_MMIO_CONFIG + 0, 2, &v), 0);
	assert_int_equal(v, 2048);
	assert_int_equal(vireo_mmio_read(f->fn, VIREO_MMIO_CONFIG + 1, 1, &v), 0);
	assert_int_equal(v, 2048 >> 8);
	/* Misaligned 16-bit and 32-bit config accesses are refused. */
	assert_int_equal(vireo_mmio_read(f->fn, VIREO_MMIO_CONFIG + 1, 2, &v), -EINVAL);
	assert_int_equal(vireo_mmio_read(f->fn, VIREO_MMIO_CONFIG + 2, 4, &v), -EINVAL);
	/* Beyond the model's config space; and 4 GiB on, which must not wrap back into it. */
	assert_int_equal(vireo_mmio_read(f->fn, VIREO_MMIO_CONFIG + 0x1000, 4, &v), -EINVAL);
	assert_int_equal(v, 0);
	assert_int_equal(vireo_mmio_read(f->fn, (1ull << 32) + VIREO_MMIO_CONFIG, 4, &v), -EINVAL);
	assert_int_equal(v, 0);
	assert_int_equal(vireo_mmio_read(f->fn, UINT64_MAX - 3, 4, &v), -EINVAL);
	/* blk's config is read-only: a write is refused and changes nothing. */
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_CONFIG, 4, 7), -EINVAL);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_CONFIG + 0), 2048);
	mmio_fx_queue(f, 0);
	mmio_fx_driver_ok(f);
	gen = mmio_fx_read(f, VIREO_MMIO_CONFIG_GENERATION);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(vireo_mmio_function_run_in_device(f->fn, fx_config_changed, NULL), 0);
	assert_int_not_equal(mmio_fx_read(f, VIREO_MMIO_CONFIG_GENERATION), gen);
	assert_true(mmio_fx_wait_level(f, true));
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_INTERRUPT_STATUS), VIREO_MMIO_INT_CONFIG);
	mmio_fx_write(f, VIREO_MMIO_INTERRUPT_ACK, VIREO_MMIO_INT_CONFIG);
	assert_false(__atomic_load_n(&f->level, __ATOMIC_ACQUIRE));
}

/* blk: a write then a read of sector 3 through the hand-made ring; the image holds it. */
static void test_blk_write_read(void **state)
{
	struct mmio_fx *f = *state;
	struct vireo_blk_outhdr *h = mmio_fx_gpa(f, BUF_GPA);
	uint8_t *data = mmio_fx_gpa(f, BUF_GPA + 0x100), *st = mmio_fx_gpa(f, BUF_GPA + 0x400),
		back[512];
	struct virtq_desc chain[3] = {
		{.addr = BUF_GPA, .len = sizeof(*h)},
		{.addr = BUF_GPA + 0x100, .len = 512},
		{.addr = BUF_GPA + 0x400, .len = 1, .flags = VIRTQ_DESC_F_WRITE},
	};
	int fd;

	mmio_fx_negotiate(f, 0);
	mmio_fx_queue(f, 0);
	mmio_fx_driver_ok(f);
	*h = (struct vireo_blk_outhdr){.type = VIRTIO_BLK_T_OUT, .sector = 3};
	for (unsigned int i = 0; i < 512; i++)
		data[i] = (uint8_t)(i * 7 + 1);
	*st = 0xff;
	mmio_fx_post(f, 0, chain, 3);
	assert_true(mmio_fx_wait_used(f, 0, 1, 2000));
	assert_int_equal(*st, VIRTIO_BLK_S_OK);
	fd = open(f->path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, back, 512, 3 * 512), 512);
	close(fd);
	assert_memory_equal(back, data, 512);
	/* Read it back into fresh memory. */
	*h = (struct vireo_blk_outhdr){.type = VIRTIO_BLK_T_IN, .sector = 3};
	memset(data, 0, 512);
	chain[1].flags = VIRTQ_DESC_F_WRITE;
	*st = 0xff;
	mmio_fx_post(f, 0, chain, 3);
	assert_true(mmio_fx_wait_used(f, 0, 2, 2000));
	assert_int_equal(*st, VIRTIO_BLK_S_OK);
	assert_memory_equal(back, data, 512);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity, mmio_fx_setup_rng, mmio_fx_teardown),
		cmocka_unit_test_setup_teardown(test_rng_request_interrupt_reset, mmio_fx_setup_rng,
						mmio_fx_teardown),
		cmocka_unit_test_setup_teardown(test_rng_notification_data, mmio_fx_setup_rng,
						mmio_fx_teardown),
		cmocka_unit_test_setup_teardown(test_ready_gate, mmio_fx_setup_rng,
						mmio_fx_teardown),
		cmocka_unit_test_setup_teardown(test_queue_reset, mmio_fx_setup_rng,
						mmio_fx_teardown),
		cmocka_unit_test_setup_teardown(test_queue_reset_not_negotiated, mmio_fx_setup_rng,
						mmio_fx_teardown),
		cmocka_unit_test_setup_teardown(test_blk_config_generation, mmio_fx_setup_blk,
						mmio_fx_teardown),
		cmocka_unit_test_setup_teardown(test_blk_write_read, mmio_fx_setup_blk,
						mmio_fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
