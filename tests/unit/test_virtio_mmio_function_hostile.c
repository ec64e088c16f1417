// SPDX-License-Identifier: MIT
/*
 * A hostile driver against the virtio-mmio function model
 * (transport/virtio_mmio_function.c): every access the spec forbids, every bad
 * queue value, features and queue resets out of turn, mixed InterruptACK
 * values, a bounded refusal log, and random accesses, after which the device
 * still works. docs/threat-model.md, "the virtio-mmio function model".
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include <vireo/device.h>

#include "tests/lib/log_capture.h"
#include "tests/lib/mmio_fn_fixture.h"

static int mmio_fx_read_ret(struct mmio_fx *f, uint64_t off, unsigned int size, uint32_t *v)
{
	*v = 0xdeadbeef;
	return vireo_mmio_read(f->fn, off, size, v);
}

/* Width, alignment, direction, unknown offsets: a driver breaking the register rules. */
static void test_hostile_accesses(void **state)
{
	struct mmio_fx *f = *state;
	static const uint64_t ro[] = {VIREO_MMIO_MAGIC_VALUE,	   VIREO_MMIO_VERSION_REG,
				      VIREO_MMIO_DEVICE_ID,	   VIREO_MMIO_VENDOR_ID,
				      VIREO_MMIO_DEVICE_FEATURES,  VIREO_MMIO_QUEUE_SIZE_MAX,
				      VIREO_MMIO_INTERRUPT_STATUS, VIREO_MMIO_SHM_LEN_LOW,
				      VIREO_MMIO_CONFIG_GENERATION};
	static const uint64_t wo[] = {VIREO_MMIO_DEVICE_FEATURES_SEL, VIREO_MMIO_DRIVER_FEATURES,
				      VIREO_MMIO_DRIVER_FEATURES_SEL, VIREO_MMIO_QUEUE_SEL,
				      VIREO_MMIO_QUEUE_SIZE,	      VIREO_MMIO_QUEUE_NOTIFY,
				      VIREO_MMIO_INTERRUPT_ACK,	      VIREO_MMIO_QUEUE_DESC_LOW,
				      VIREO_MMIO_QUEUE_DEVICE_HIGH,   VIREO_MMIO_SHM_SEL};
	uint32_t v;
	unsigned int i;

	assert_int_equal(mmio_fx_read_ret(f, VIREO_MMIO_MAGIC_VALUE, 2, &v), -EINVAL);
	assert_int_equal(v, 0);
	assert_int_equal(mmio_fx_read_ret(f, VIREO_MMIO_MAGIC_VALUE, 1, &v), -EINVAL);
	assert_int_equal(mmio_fx_read_ret(f, VIREO_MMIO_MAGIC_VALUE, 8, &v), -EINVAL);
	assert_int_equal(mmio_fx_read_ret(f, VIREO_MMIO_MAGIC_VALUE + 2, 4, &v), -EINVAL);
	assert_int_equal(mmio_fx_read_ret(f, 0x0f8, 4, &v), -EINVAL);
	assert_int_equal(mmio_fx_read_ret(f, 0x0c4, 4, &v), -EINVAL);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_STATUS, 1, 1), -EINVAL);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_STATUS + 1, 4, 1), -EINVAL);
	assert_int_equal(vireo_mmio_write(f->fn, 0x0e0, 4, 1), -EINVAL);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_STATUS), 0);
	for (i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		assert_int_equal(vireo_mmio_write(f->fn, ro[i], 4, 0x12345678), -EINVAL);
	for (i = 0; i < sizeof(wo) / sizeof(wo[0]); i++) {
		assert_int_equal(mmio_fx_read_ret(f, wo[i], 4, &v), -EINVAL);
		assert_int_equal(v, 0);
	}
	/* Nothing changed: the identity still reads right. */
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_VERSION_REG), 2);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_DEVICE_ID), VIRTIO_ID_ENTROPY);
	/* Config: a width no field has; rng has no config at all. */
	assert_int_equal(mmio_fx_read_ret(f, VIREO_MMIO_CONFIG, 3, &v), -EINVAL);
	assert_int_equal(mmio_fx_read_ret(f, VIREO_MMIO_CONFIG, 4, &v), -EINVAL);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_CONFIG, 1, 1), -EINVAL);
}

/* Out-of-range QueueSel, bad QueueReady values, InterruptACK of undefined bits. */
static void test_hostile_selectors(void **state)
{
	struct mmio_fx *f = *state;

	mmio_fx_negotiate(f, 0);
	mmio_fx_write(f, VIREO_MMIO_QUEUE_SEL, 0xffffffffu);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_QUEUE_SIZE_MAX), 0);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_QUEUE_READY), 0);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_QUEUE_SIZE, 4, 8), -EINVAL);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_QUEUE_READY, 4, 1), -EINVAL);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_QUEUE_DESC_LOW, 4, 0), -EINVAL);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_QUEUE_NOTIFY, 4, 7), -EINVAL);
	mmio_fx_queue(f, 0);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_QUEUE_READY, 4, 2), -EINVAL);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_QUEUE_READY), 1);
	/* Size and addresses written while ready (a driver rule broken): ignored. */
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_QUEUE_SIZE, 4, 4), -EINVAL);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_QUEUE_DESC_LOW, 4, 0), -EINVAL);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_INTERRUPT_ACK, 4, 0x80), -EINVAL);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_STATUS, 4, 0x100), -EINVAL);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_DRIVER_FEATURES_SEL, 4, 4), 0);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_DRIVER_FEATURES, 4, 1), -EINVAL);
	/* The queue still works. */
	mmio_fx_driver_ok(f);
	{
		struct virtq_desc d = {.addr = BUF_GPA, .len = 16, .flags = VIRTQ_DESC_F_WRITE};

		mmio_fx_post(f, 0, &d, 1);
		assert_true(mmio_fx_wait_used(f, 0, 1, 2000));
	}
}

struct fx_features {
	uint64_t driver, acked;
};

static void fx_read_features(struct vdev *dev, void *arg)
{
	struct fx_features *r = arg;

	r->driver = dev->driver_features;
	r->acked = dev->acked_features;
}

/* Feature writes after FEATURES_OK are ignored: the negotiated set stays. */
static void test_hostile_features_after_ok(void **state)
{
	struct mmio_fx *f = *state;
	struct fx_features before, after;

	mmio_fx_negotiate(f, VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
	assert_int_equal(vireo_mmio_function_run_in_device(f->fn, fx_read_features, &before), 0);
	mmio_fx_write(f, VIREO_MMIO_DRIVER_FEATURES_SEL, 0);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_DRIVER_FEATURES, 4, 0), -EINVAL);
	assert_int_equal(vireo_mmio_function_run_in_device(f->fn, fx_read_features, &after), 0);
	assert_true(after.acked == before.acked && after.driver == before.driver);
	assert_true(after.acked & VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
	/* A status that clears bits is refused by the core's machine. */
	mmio_fx_write(f, VIREO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	assert_true(mmio_fx_read(f, VIREO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	/* Accepting an unoffered feature: FEATURES_OK is not kept. */
	mmio_fx_write(f, VIREO_MMIO_STATUS, 0);
	mmio_fx_write(f, VIREO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	mmio_fx_write(f, VIREO_MMIO_DRIVER_FEATURES_SEL, 1);
	mmio_fx_write(f, VIREO_MMIO_DRIVER_FEATURES, 1u | (1u << (41 - 32)));
	mmio_fx_write(f, VIREO_MMIO_STATUS,
		      VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_false(mmio_fx_read(f, VIREO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
}

/* QueueReady with a bad size or a ring outside guest memory: NEEDS_RESET, not ready. */
static void fx_bad_queue(struct mmio_fx *f, uint32_t num, uint64_t desc)
{
	mmio_fx_negotiate(f, 0);
	mmio_fx_write(f, VIREO_MMIO_QUEUE_SEL, 0);
	mmio_fx_write(f, VIREO_MMIO_QUEUE_SIZE, num);
	mmio_fx_write(f, VIREO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	mmio_fx_write(f, VIREO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	mmio_fx_write(f, VIREO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)AVAIL_GPA);
	mmio_fx_write(f, VIREO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(AVAIL_GPA >> 32));
	mmio_fx_write(f, VIREO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)USED_GPA);
	mmio_fx_write(f, VIREO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(USED_GPA >> 32));
	mmio_fx_write(f, VIREO_MMIO_QUEUE_READY, 1);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_QUEUE_READY), 0);
	assert_true(mmio_fx_read(f, VIREO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	/* Nothing moves while NEEDS_RESET stands: good rings stay off, DRIVER_OK is not taken. */
	mmio_fx_write(f, VIREO_MMIO_QUEUE_SIZE, QSIZE);
	mmio_fx_write(f, VIREO_MMIO_QUEUE_DESC_LOW, (uint32_t)DESC_GPA);
	mmio_fx_write(f, VIREO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(DESC_GPA >> 32));
	mmio_fx_write(f, VIREO_MMIO_QUEUE_READY, 1);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_QUEUE_READY), 0);
	mmio_fx_write(f, VIREO_MMIO_STATUS,
		      VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			      VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK, 0);
	/* Only a reset helps; afterwards the device is fresh. */
	mmio_fx_write(f, VIREO_MMIO_STATUS, 0);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_STATUS), 0);
}

/*
 * §3.1.1: virtqueues are set up after FEATURES_OK. QueueReady 1 before it
 * (at status 0, or with DRIVER set) is refused and the queue stays off, so
 * the negotiation that follows is not blocked by a ring running without
 * features; then the queue is set up and served as usual.
 */
static void test_hostile_ready_before_features_ok(void **state)
{
	struct mmio_fx *f = *state;
	struct virtq_desc d = {.addr = BUF_GPA, .len = 16, .flags = VIRTQ_DESC_F_WRITE};

	for (int step = 0; step < 2; step++) {
		mmio_fx_write(f, VIREO_MMIO_STATUS, 0);
		if (step)
			mmio_fx_write(f, VIREO_MMIO_STATUS,
				      VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
		mmio_fx_write(f, VIREO_MMIO_QUEUE_SEL, 0);
		mmio_fx_write(f, VIREO_MMIO_QUEUE_SIZE, QSIZE);
		mmio_fx_write(f, VIREO_MMIO_QUEUE_DESC_LOW, (uint32_t)DESC_GPA);
		mmio_fx_write(f, VIREO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)AVAIL_GPA);
		mmio_fx_write(f, VIREO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)USED_GPA);
		assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_QUEUE_READY, 4, 1), -EINVAL);
		assert_int_equal(mmio_fx_read(f, VIREO_MMIO_QUEUE_READY), 0);
		assert_int_equal(
			mmio_fx_read(f, VIREO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
	}
	mmio_fx_negotiate(f, 0);
	mmio_fx_queue(f, 0);
	mmio_fx_driver_ok(f);
	mmio_fx_post(f, 0, &d, 1);
	assert_true(mmio_fx_wait_used(f, 0, 1, 2000));
}

static void test_hostile_queue_values(void **state)
{
	struct mmio_fx *f = *state;
	uint32_t max;

	mmio_fx_write(f, VIREO_MMIO_QUEUE_SEL, 0);
	max = mmio_fx_read(f, VIREO_MMIO_QUEUE_SIZE_MAX);
	fx_bad_queue(f, 0, DESC_GPA);
	fx_bad_queue(f, max * 2, DESC_GPA);
	fx_bad_queue(f, 3, DESC_GPA);		/* split: a power of two (§2.7) */
	fx_bad_queue(f, QSIZE, 0x1000);		/* below guest memory */
	fx_bad_queue(f, QSIZE, GPA + RAM - 16); /* runs off its end */
	fx_bad_queue(f, QSIZE, DESC_GPA + 8);	/* misaligned descriptor table */
	/* After all that, a correct driver still gets served. */
	mmio_fx_negotiate(f, 0);
	mmio_fx_queue(f, 0);
	mmio_fx_driver_ok(f);
	{
		struct virtq_desc d = {.addr = BUF_GPA, .len = 16, .flags = VIRTQ_DESC_F_WRITE};

		mmio_fx_post(f, 0, &d, 1);
		assert_true(mmio_fx_wait_used(f, 0, 1, 2000));
	}
}

/* R-BF-13 (§3.1.1): DriverFeatures before DRIVER is refused; the set stays empty. */
static void test_hostile_features_before_driver(void **state)
{
	struct mmio_fx *f = *state;
	struct fx_features after;

	for (int step = 0; step < 2; step++) {
		mmio_fx_write(f, VIREO_MMIO_STATUS, step ? VIRTIO_STATUS_ACKNOWLEDGE : 0);
		for (uint32_t sel = 0; sel < 2; sel++) {
			mmio_fx_write(f, VIREO_MMIO_DRIVER_FEATURES_SEL, sel);
			assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_DRIVER_FEATURES, 4, 1),
					 -EINVAL);
		}
		assert_int_equal(vireo_mmio_function_run_in_device(f->fn, fx_read_features, &after),
				 0);
		assert_true(after.driver == 0 && after.acked == 0);
	}
	/* In turn, the same writes are taken. */
	mmio_fx_negotiate(f, 0);
	assert_int_equal(vireo_mmio_function_run_in_device(f->fn, fx_read_features, &after), 0);
	assert_int_equal(after.acked, VIRTIO_BIT(VIRTIO_F_VERSION_1));
}

/* Ask for @bit at FEATURES_OK. Return: whether FEATURES_OK was kept. */
static bool fx_features_ok_with(struct mmio_fx *f, unsigned int bit)
{
	uint64_t want = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(bit);
	const uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	mmio_fx_write(f, VIREO_MMIO_STATUS, 0);
	mmio_fx_write(f, VIREO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	mmio_fx_write(f, VIREO_MMIO_STATUS, s);
	mmio_fx_write(f, VIREO_MMIO_DRIVER_FEATURES_SEL, 1);
	mmio_fx_write(f, VIREO_MMIO_DRIVER_FEATURES, (uint32_t)(want >> 32));
	mmio_fx_write(f, VIREO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK);
	return mmio_fx_read(f, VIREO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK;
}

/*
 * D-BF-04: a transport bit the function was told to hide (not offered) and the driver
 * accepts anyway: FEATURES_OK is not kept. Offered, the same bit is taken.
 */
static void test_hostile_hidden_transport_bit(void **state)
{
	const struct vireo_mmio_function_options hide = {.hide_notification_data = true,
							 .hide_ring_reset = true};
	struct mmio_fx *f = *state;

	assert_true(fx_features_ok_with(f, VIRTIO_F_NOTIFICATION_DATA));
	assert_true(fx_features_ok_with(f, VIRTIO_F_RING_RESET));
	mmio_fx_restart(f, &hide);
	mmio_fx_write(f, VIREO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_DEVICE_FEATURES) &
				 ((1u << (VIRTIO_F_NOTIFICATION_DATA - 32)) |
				  (1u << (VIRTIO_F_RING_RESET - 32))),
			 0);
	assert_false(fx_features_ok_with(f, VIRTIO_F_NOTIFICATION_DATA));
	assert_false(fx_features_ok_with(f, VIRTIO_F_RING_RESET));
	/* Without them the device is still usable. */
	mmio_fx_negotiate(f, 0);
}

/* D-MMIO-07/08: with RING_RESET negotiated, QueueReset 0 or 2 is refused; the queue serves on. */
static void test_hostile_queue_reset_values(void **state)
{
	struct mmio_fx *f = *state;
	struct virtq_desc d = {.addr = BUF_GPA, .len = 16, .flags = VIRTQ_DESC_F_WRITE};

	mmio_fx_negotiate(f, VIRTIO_BIT(VIRTIO_F_RING_RESET));
	mmio_fx_queue(f, 0);
	mmio_fx_driver_ok(f);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_QUEUE_RESET, 4, 0), -EINVAL);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_QUEUE_RESET, 4, 2), -EINVAL);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_QUEUE_RESET, 4, 0xffffffffu), -EINVAL);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_QUEUE_RESET), 0);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_QUEUE_READY), 1);
	mmio_fx_post(f, 0, &d, 1);
	assert_true(mmio_fx_wait_used(f, 0, 1, 2000));
}

/* R-MMIO-10: an InterruptACK with a defined and an undefined bit: the defined one is acked. */
static void test_hostile_interrupt_ack_mixed(void **state)
{
	struct mmio_fx *f = *state;
	struct virtq_desc d = {.addr = BUF_GPA, .len = 16, .flags = VIRTQ_DESC_F_WRITE};

	mmio_fx_negotiate(f, 0);
	mmio_fx_queue(f, 0);
	mmio_fx_driver_ok(f);
	mmio_fx_post(f, 0, &d, 1);
	assert_true(mmio_fx_wait_used(f, 0, 1, 2000));
	assert_true(mmio_fx_wait_level(f, true));
	assert_int_equal(
		vireo_mmio_write(f->fn, VIREO_MMIO_INTERRUPT_ACK, 4, VIREO_MMIO_INT_VRING | 0x80u),
		-EINVAL);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_INTERRUPT_STATUS), 0);
	assert_false(__atomic_load_n(&f->level, __ATOMIC_ACQUIRE));
	/* The next completion raises the line again. */
	mmio_fx_post(f, 0, &d, 1);
	assert_true(mmio_fx_wait_used(f, 0, 2, 2000));
	assert_true(mmio_fx_wait_level(f, true));
}

/* A driver that keeps breaking rules: one warning per kind of refusal, the rest at debug. */
static void test_hostile_refusal_log_once_per_kind(void **state)
{
	struct log_capture log = LOG_CAPTURE_INIT;
	struct mmio_fx *f = *state;
	int refused = 0;
	uint32_t v;

	mmio_fx_negotiate(f, 0);
	log_capture_begin(&log);
	for (int i = 0; i < 100; i++) {
		refused += vireo_mmio_write(f->fn, VIREO_MMIO_INTERRUPT_ACK, 4, 0x80) == -EINVAL;
		refused += vireo_mmio_write(f->fn, VIREO_MMIO_QUEUE_READY, 4, 2) == -EINVAL;
		refused += mmio_fx_read_ret(f, VIREO_MMIO_QUEUE_SEL, 4, &v) == -EINVAL;
	}
	log_capture_end(&log);
	assert_int_equal(refused, 300);
	/* Two kinds (a bad value, a read of a write-only register): two lines. */
	assert_int_equal(log_capture_count(&log, "InterruptACK of undefined bits"), 1);
	assert_int_equal(log_capture_count(&log, "QueueReady not 0 or 1"), 0);
	assert_int_equal(log_capture_count(&log, "read of a write-only register"), 1);
	assert_int_equal(log_capture_count(&log, "vireo: "), 2);
	log_capture_remove(&log);
}

/* Random accesses: never a crash, and a reset brings the device back. */
static void test_hostile_random(void **state)
{
	struct mmio_fx *f = *state;
	static const unsigned int sizes[] = {1, 2, 3, 4, 8};
	uint32_t seed = 99, v;
	struct virtq_desc d = {.addr = BUF_GPA, .len = 16, .flags = VIRTQ_DESC_F_WRITE};

	for (unsigned int i = 0; i < 20000; i++) {
		uint64_t off;
		unsigned int size;

		seed = seed * 1103515245u + 12345u;
		off = (seed >> 8) % 0x140;
		size = sizes[(seed >> 3) % 5];
		seed = seed * 1103515245u + 12345u;
		/* Mostly aligned words, so that registers really get hit. */
		if (seed & 1)
			off &= ~3ull, size = 4;
		if (off == VIREO_MMIO_STATUS && (seed & 0x30))
			continue; /* let the machine get somewhere between resets */
		if (seed & 2)
			(void)vireo_mmio_read(f->fn, off, size, &v);
		else
			(void)vireo_mmio_write(f->fn, off, size,
					       (seed & 4) ? seed >> 16 : seed & 7);
	}
	mmio_fx_negotiate(f, 0);
	mmio_fx_queue(f, 0);
	mmio_fx_driver_ok(f);
	mmio_fx_post(f, 0, &d, 1);
	assert_true(mmio_fx_wait_used(f, 0, 1, 2000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hostile_accesses, mmio_fx_setup_rng,
						mmio_fx_teardown),
		cmocka_unit_test_setup_teardown(test_hostile_selectors, mmio_fx_setup_rng,
						mmio_fx_teardown),
		cmocka_unit_test_setup_teardown(test_hostile_features_after_ok, mmio_fx_setup_rng,
						mmio_fx_teardown),
		cmocka_unit_test_setup_teardown(test_hostile_features_before_driver,
						mmio_fx_setup_rng, mmio_fx_teardown),
		cmocka_unit_test_setup_teardown(test_hostile_hidden_transport_bit,
						mmio_fx_setup_rng, mmio_fx_teardown),
		cmocka_unit_test_setup_teardown(test_hostile_queue_values, mmio_fx_setup_rng,
						mmio_fx_teardown),
		cmocka_unit_test_setup_teardown(test_hostile_queue_reset_values, mmio_fx_setup_rng,
						mmio_fx_teardown),
		cmocka_unit_test_setup_teardown(test_hostile_ready_before_features_ok,
						mmio_fx_setup_rng, mmio_fx_teardown),
		cmocka_unit_test_setup_teardown(test_hostile_interrupt_ack_mixed, mmio_fx_setup_rng,
						mmio_fx_teardown),
		cmocka_unit_test_setup_teardown(test_hostile_refusal_log_once_per_kind,
						mmio_fx_setup_rng, mmio_fx_teardown),
		cmocka_unit_test_setup_teardown(test_hostile_random, mmio_fx_setup_rng,
						mmio_fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
