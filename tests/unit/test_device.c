// SPDX-License-Identifier: MIT
/*
 * Unit tests for core/device.c: status machine, features, config space,
 * NEEDS_RESET, driven through the fake model of tests/lib/fake_vdev.c. Spec
 * labels are those of /work/shared/spec-checklist.md §2.1 (dev: =
 * devicenormative, drv: = drivernormative, BF/ = Basic Facilities of a
 * Virtio Device).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vireo/device.h>

#include "tests/lib/fake_vdev.h"

/* ---- init and features ---- */

static void test_init_rejects_bad_args(void **state)
{
	struct vdev dev;
	uint8_t cfg[4];

	(void)state;
	assert_int_equal(vireo_vdev_init(&dev, NULL, "x", 1, 0, 1, 8, NULL, 0), -EINVAL);
	assert_int_equal(vireo_vdev_init(&dev, &fvdev_bare_ops, "x", 1, 0, 0, 8, NULL, 0), -EINVAL);
	assert_int_equal(
		vireo_vdev_init(&dev, &fvdev_bare_ops, "x", 1, 0, VDEV_MAX_QUEUES + 1, 8, NULL, 0),
		-EINVAL);
	assert_int_equal(vireo_vdev_init(&dev, &fvdev_bare_ops, "x", 1, 0, 1, 0, NULL, 0), -EINVAL);
	assert_int_equal(vireo_vdev_init(&dev, &fvdev_bare_ops, "x", 1, 0, 1, 24, NULL, 0),
			 -EINVAL);
	assert_int_equal(vireo_vdev_init(&dev, &fvdev_bare_ops, "x", 1, 0, 1, 65535, NULL, 0),
			 -EINVAL);
	assert_int_equal(vireo_vdev_init(&dev, &fvdev_bare_ops, "x", 1, 0, 1, 8, NULL, 4), -EINVAL);
	assert_int_equal(
		vireo_vdev_init(&dev, &fvdev_bare_ops, NULL, 1, 0, VDEV_MAX_QUEUES, 32768, cfg, 4),
		0);
	assert_int_equal(dev.queues[VDEV_MAX_QUEUES - 1].num, 32768);
	assert_int_equal(dev.queues[0].kick_fd, -1);
	vireo_vdev_destroy(&dev);
}

/*
 * D-BF-05 (dev:BF/Feature Bits): offer no reserved bit we cannot honour, but
 * every device-type bit (virtio 1.4 §2.2: 0-23, 41, 42, 50-127; issue 9 §7d).
 * D-BF-18 (dev:Reserved Feature Bits): VERSION_1 is always offered.
 */
static void test_feature_masking(void **state)
{
	uint64_t type_bits = VIRTIO_BIT(0) | VIRTIO_BIT(23) | VIRTIO_BIT(41) | VIRTIO_BIT(42) |
			     VIRTIO_BIT(50) | VIRTIO_BIT(63);
	uint64_t asked = type_bits | VIRTIO_BIT(24) | VIRTIO_BIT(30) | VIRTIO_BIT(40) |
			 VIRTIO_BIT(43) | VIRTIO_BIT(44) | VIRTIO_BIT(49) |
			 VIRTIO_BIT(VIRTIO_F_RING_PACKED);
	struct vdev dev;

	(void)state;
	assert_int_equal(vireo_vdev_init(&dev, &fvdev_bare_ops, "x", 1, asked, 1, 8, NULL, 0), 0);
	assert_int_equal(dev.offered_features, type_bits | VDEV_CORE_FEATURES);
	assert_true(dev.offered_features & F_V1);
	vireo_vdev_destroy(&dev);
}

/* ---- status machine ---- */

/* drv:GI/Device Initialization order, each step accepted; dev:BF/Device Reset on 0. */
static void test_status_legal_sequence(void **state)
{
	struct fvdev *f = *state;
	struct vdev *dev = &f->vdev;

	assert_int_equal(vireo_vdev_get_status(dev), 0);
	assert_int_equal(fvdev_features_ok(dev, F_V1 | VIRTIO_BIT(3)), 0);
	assert_int_equal(vireo_vdev_get_status(dev), S_ACK | S_DRV | S_FOK);
	assert_int_equal(f->set_features_calls, 1);
	assert_int_equal(f->features_seen, F_V1 | VIRTIO_BIT(3));
	assert_true(vdev_has_feature(dev, 3));
	assert_false(vdev_has_feature(dev, 0));
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK | S_DRV | S_FOK | S_DOK), 0);
	assert_int_equal(vireo_vdev_get_status(dev), S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(f->activate_calls, 1);
	assert_true(dev->activated);
	/* Writing the same value again changes nothing and activates nothing. */
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK | S_DRV | S_FOK | S_DOK), 0);
	assert_int_equal(f->activate_calls, 1);
	/* dev:BF/Device Reset (D-BF-06): 0 resets, status reads back 0. */
	assert_int_equal(vireo_vdev_set_status(dev, 0), 0);
	assert_int_equal(vireo_vdev_get_status(dev), 0);
	assert_int_equal(f->reset_calls, 1);
	assert_int_equal(dev->acked_features, 0);
	assert_false(dev->activated);
	/* Several steps in one write are fine if in order. */
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK | S_DRV), 0);
	assert_int_equal(vireo_vdev_get_status(dev), S_ACK | S_DRV);
}

/* A driver breaking drv:BF/Device Status Field (a bit cleared) or the drv:GI order. */
static void test_status_illegal_transitions(void **state)
{
	struct fvdev *f = *state;
	struct vdev *dev = &f->vdev;

	/* Skipping a step. */
	assert_int_equal(vireo_vdev_set_status(dev, S_DRV), -EINVAL);
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK | S_FOK), -EINVAL);
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK | S_DRV | S_DOK), -EINVAL);
	assert_int_equal(vireo_vdev_get_status(dev), 0);
	/* Unknown bits (16, 32). */
	assert_int_equal(vireo_vdev_set_status(dev, 0x10), -EINVAL);
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK | 0x20), -EINVAL);
	assert_int_equal(vireo_vdev_get_status(dev), 0);

	assert_int_equal(fvdev_features_ok(dev, F_V1), 0);
	/* DRIVER_OK without FEATURES_OK in the written value: clears a bit. */
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK | S_DRV | S_DOK), -EINVAL);
	/* Clearing bits. */
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK), -EINVAL);
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK | S_FOK), -EINVAL);
	assert_int_equal(vireo_vdev_get_status(dev), S_ACK | S_DRV | S_FOK);
	assert_int_equal(f->activate_calls, 0);

	/* FAILED may come at any step; afterwards only a reset (the drv:BF/Device Status Field rule). */
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK | S_DRV | S_FOK | S_FAILED), 0);
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK | S_DRV | S_FOK | S_FAILED | S_DOK),
			 -EINVAL);
	assert_int_equal(vireo_vdev_get_status(dev), S_ACK | S_DRV | S_FOK | S_FAILED);
	assert_int_equal(f->activate_calls, 0);
	assert_int_equal(vireo_vdev_set_status(dev, 0), 0);
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK), 0);
	/* The driver cannot set NEEDS_RESET: it is the device's bit. */
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK | S_NR), 0);
	assert_false(vdev_needs_reset(dev));
}

/* D-BF-04 (dev:BF/Feature Bits): an unoffered feature -> FEATURES_OK reads back clear. */
static void test_features_ok_refused_unoffered(void **state)
{
	struct fvdev *f = *state;
	struct vdev *dev = &f->vdev;

	assert_int_equal(fvdev_features_ok(dev, F_V1 | VIRTIO_BIT(5)), -EPERM);
	assert_int_equal(vireo_vdev_get_status(dev), S_ACK | S_DRV);
	assert_int_equal(f->set_features_calls, 0);
	assert_int_equal(dev->acked_features, 0);
	/* A reserved bit the core does not offer is refused the same way. */
	assert_int_equal(vireo_vdev_set_driver_features(dev, F_V1 | VIRTIO_BIT(VIRTIO_F_IN_ORDER)),
			 0);
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK | S_DRV | S_FOK), -EPERM);
	/* FEATURES_OK is still clear, so the driver may try again with a subset. */
	assert_int_equal(vireo_vdev_set_driver_features(dev, F_V1 | VIRTIO_BIT(0)), 0);
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK | S_DRV | S_FOK), 0);
	assert_int_equal(dev->acked_features, F_V1 | VIRTIO_BIT(0));
}

/*
 * D-BF-04 (dev:BF/Feature Bits) with D-BF-18 (dev:Reserved Feature Bits:
 * a device MAY fail to operate if VERSION_1 is not accepted): modern-only.
 */
static void test_features_ok_refused_without_version_1(void **state)
{
	struct fvdev *f = *state;
	struct vdev *dev = &f->vdev;

	assert_int_equal(fvdev_features_ok(dev, VIRTIO_BIT(0)), -EPERM);
	assert_int_equal(vireo_vdev_get_status(dev), S_ACK | S_DRV);
	assert_int_equal(dev->acked_features, 0);
	assert_int_equal(vireo_vdev_negotiate_features(dev, 0), -EINVAL);
	/* DRIVER_OK cannot follow a refused FEATURES_OK. */
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK | S_DRV | S_FOK | S_DOK), -EPERM);
	assert_int_equal(vireo_vdev_get_status(dev), S_ACK | S_DRV);
	assert_int_equal(f->activate_calls, 0);
}

/* D-BF-04: the model may refuse a combination too. */
static void test_features_ok_refused_by_model(void **state)
{
	struct fvdev *f = *state;

	f->set_features_ret = -EINVAL;
	assert_int_equal(fvdev_features_ok(&f->vdev, F_V1), -EPERM);
	assert_int_equal(f->set_features_calls, 1);
	assert_int_equal(vireo_vdev_get_status(&f->vdev), S_ACK | S_DRV);
	assert_int_equal(f->vdev.acked_features, 0);
}

/* drv:GI/Device Initialization: features only between DRIVER and FEATURES_OK. */
static void test_driver_features_window(void **state)
{
	struct fvdev *f = *state;
	struct vdev *dev = &f->vdev;

	assert_int_equal(vireo_vdev_set_driver_features(dev, F_V1), -EPERM);
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK), 0);
	assert_int_equal(vireo_vdev_set_driver_features(dev, F_V1), -EPERM);
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK | S_DRV), 0);
	assert_int_equal(vireo_vdev_set_driver_features(dev, F_V1), 0);
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK | S_DRV | S_FOK), 0);
	assert_int_equal(vireo_vdev_set_driver_features(dev, F_V1 | VIRTIO_BIT(0)), -EPERM);
	assert_int_equal(dev->acked_features, F_V1);
}

/* ---- config space ---- */

/* D-BF-08 (dev:BF/Device Configuration Space): readable before FEATURES_OK. */
static void test_config_bounds(void **state)
{
	struct fvdev *f = *state;
	struct vdev *dev = &f->vdev;
	uint8_t buf[32] = {0};
	uint8_t w[2] = {0xaa, 0xbb};

	assert_int_equal(vireo_vdev_config_read(dev, 0, buf, 16), 0);
	assert_memory_equal(buf, f->config, 16);
	assert_int_equal(vireo_vdev_config_read(dev, 12, buf, 4), 0);
	assert_int_equal(buf[0], 12);
	assert_int_equal(vireo_vdev_config_read(dev, 16, buf, 0), 0);
	assert_int_equal(vireo_vdev_config_read(dev, 17, buf, 0), -EINVAL);
	assert_int_equal(vireo_vdev_config_read(dev, 12, buf, 5), -EINVAL);
	assert_int_equal(vireo_vdev_config_read(dev, 0, buf, 17), -EINVAL);
	/* offset + len wraps 32 bits: must not pass as a small sum. */
	assert_int_equal(vireo_vdev_config_read(dev, UINT32_MAX, buf, 2), -EINVAL);
	assert_int_equal(vireo_vdev_config_read(dev, 4, buf, UINT32_MAX - 1), -EINVAL);
	assert_int_equal(vireo_vdev_config_write(dev, UINT32_MAX - 1, w, 4), -EINVAL);
	assert_int_equal(vireo_vdev_config_write(dev, 15, w, 2), -EINVAL);
	/* The model decides which bytes are writable. */
	assert_int_equal(vireo_vdev_config_write(dev, 14, w, 2), 0);
	assert_int_equal(f->config[14], 0xaa);
	assert_int_equal(f->config[15], 0xbb);
	assert_int_equal(vireo_vdev_config_write(dev, 0, w, 2), -EPERM);
	assert_int_equal(f->config[0], 0);
}

static void test_config_read_only_model(void **state)
{
	uint8_t cfg[4] = {1, 2, 3, 4}, w = 9;
	struct vdev dev;

	(void)state;
	assert_int_equal(vireo_vdev_init(&dev, &fvdev_bare_ops, "ro", 1, 0, 1, 8, cfg, 4), 0);
	assert_int_equal(vireo_vdev_config_write(&dev, 0, &w, 1), -EPERM);
	assert_int_equal(cfg[0], 1);
	/* A model without any optional op still goes through the whole sequence. */
	assert_int_equal(fvdev_features_ok(&dev, F_V1), 0);
	assert_int_equal(vireo_vdev_set_status(&dev, S_ACK | S_DRV | S_FOK | S_DOK), 0);
	vireo_vdev_destroy(&dev);
}

/* dev:BF/Device Status Field: no notification before DRIVER_OK (D-BF-01). */
static void test_config_changed_signals_after_driver_ok(void **state)
{
	struct fvdev *f = *state;
	struct vdev *dev = &f->vdev;
	uint32_t gen = dev->config_generation;

	vireo_vdev_config_changed(dev);
	assert_int_equal(dev->config_generation, gen + 1);
	assert_int_equal(fvdev_config_signals(f), 0);
	assert_int_equal(fvdev_features_ok(dev, F_V1), 0);
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK | S_DRV | S_FOK | S_DOK), 0);
	vireo_vdev_config_changed(dev);
	assert_int_equal(dev->config_generation, gen + 2);
	assert_int_equal(fvdev_config_signals(f), 1);
}

/* D-BF-02 (dev:BF/Device Status Field, DEVICENEEDSRESET): activate fails -> NEEDS_RESET + config. */
static void test_activate_failure_needs_reset(void **state)
{
	struct fvdev *f = *state;
	struct vdev *dev = &f->vdev;

	f->activate_ret = -EIO;
	assert_int_equal(fvdev_features_ok(dev, F_V1), 0);
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK | S_DRV | S_FOK | S_DOK), -EIO);
	assert_int_equal(vireo_vdev_get_status(dev), S_ACK | S_DRV | S_FOK | S_DOK | S_NR);
	assert_false(dev->activated);
	assert_int_equal(fvdev_config_signals(f), 1);
	/* Sticky: a second report neither logs nor signals again. */
	vireo_vdev_set_needs_reset(dev, "again");
	assert_int_equal(fvdev_config_signals(f), 0);
	/* The driver may echo the status back with NEEDS_RESET or add FAILED. */
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK | S_DRV | S_FOK | S_DOK | S_NR), 0);
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK | S_DRV | S_FOK | S_DOK | S_FAILED), 0);
	assert_true(vdev_needs_reset(dev));
	assert_int_equal(vireo_vdev_set_status(dev, 0), 0);
	assert_int_equal(vireo_vdev_get_status(dev), 0);
	assert_false(vdev_needs_reset(dev));
}

/* NEEDS_RESET before DRIVER_OK: no config notification (D-BF-01), no more steps. */
static void test_needs_reset_before_driver_ok(void **state)
{
	struct fvdev *f = *state;
	struct vdev *dev = &f->vdev;

	assert_int_equal(fvdev_features_ok(dev, F_V1), 0);
	vireo_vdev_set_needs_reset(dev, "test");
	assert_int_equal(fvdev_config_signals(f), 0);
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK | S_DRV | S_FOK | S_DOK), -EIO);
	assert_int_equal(f->activate_calls, 0);
	assert_int_equal(vireo_vdev_activate(dev), -EIO);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fvdev_setup, fvdev_teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_rejects_bad_args),
		cmocka_unit_test(test_feature_masking),
		T(test_status_legal_sequence),
		T(test_status_illegal_transitions),
		T(test_features_ok_refused_unoffered),
		T(test_features_ok_refused_without_version_1),
		T(test_features_ok_refused_by_model),
		T(test_driver_features_window),
		T(test_config_bounds),
		cmocka_unit_test(test_config_read_only_model),
		T(test_config_changed_signals_after_driver_ok),
		T(test_activate_failure_needs_reset),
		T(test_needs_reset_before_driver_ok),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
