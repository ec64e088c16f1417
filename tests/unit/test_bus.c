// SPDX-License-Identifier: MIT
/*
 * Unit tests for drivers/bus.c: matching, the virtio 1.2 §3.1.1 device
 * initialization sequence (drv:GI/Device Initialization), failure paths,
 * feature masking (drv:BF/Feature Bits), unbinding (drv:GI/Device Cleanup)
 * and the config generation loop (drv:BF/Device Configuration Space).
 * Checklist ids (R-BF-xx) refer to /work/shared/spec-checklist.md §3.1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/driver.h>

#include "tests/lib/fake_transport.h"

#define TEST_VENDOR 0x56495245u

struct test_drv {
	struct virtio_driver drv;
	struct virtio_device_id ids[3];
	unsigned int table[8];
	int probe_ret;
	bool use_queue;
	bool ready_early;
	unsigned int probes, removes, config_changes;
	unsigned int event_at_remove; /* fake_dev nevents when remove ran */
	uint8_t status_at_remove;
	struct fake_dev *fd;
};

static struct test_drv *test_drv_of(struct virtio_device *vdev)
{
	return (struct test_drv *)(void *)((char *)vdev->driver - offsetof(struct test_drv, drv));
}

static int test_probe(struct virtio_device *vdev)
{
	struct test_drv *t = test_drv_of(vdev);
	virtqueue_callback *cbs[1] = {NULL};
	const char *const names[1] = {"q0"};
	struct virtqueue *vqs[1];
	int err;

	t->probes++;
	if (t->use_queue) {
		err = vdev->config->find_vqs(vdev, 1, vqs, cbs, names);
		if (err)
			return err;
	}
	if (t->probe_ret) {
		if (t->use_queue)
			vdev->config->del_vqs(vdev);
		return t->probe_ret;
	}
	if (t->ready_early)
		virtio_device_ready(vdev);
	return 0;
}

static void test_remove(struct virtio_device *vdev)
{
	struct test_drv *t = test_drv_of(vdev);

	t->removes++;
	t->event_at_remove = t->fd ? t->fd->nevents : 0;
	t->status_at_remove = vdev->config->get_status(vdev);
}

static void test_config_changed(struct virtio_device *vdev)
{
	test_drv_of(vdev)->config_changes++;
}

static void test_drv_init(struct test_drv *t, uint32_t device, uint32_t vendor)
{
	memset(t, 0, sizeof(*t));
	t->ids[0] = (struct virtio_device_id){device, vendor};
	t->drv.name = "test";
	t->drv.id_table = t->ids;
	t->drv.feature_table = t->table;
	t->drv.probe = test_probe;
	t->drv.remove = test_remove;
	t->drv.config_changed = test_config_changed;
}

struct bus_fixture {
	struct virtio_bus bus;
	struct fake_dev fd;
	struct test_drv t;
};

static int fixture_setup(void **state)
{
	struct bus_fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	virtio_bus_init(&f->bus);
	assert_int_equal(
		fake_dev_init(&f->fd, VIRTIO_ID_BLOCK, VIRTIO_BIT(VIRTIO_F_VERSION_1), 256 * 1024),
		0);
	test_drv_init(&f->t, VIRTIO_ID_BLOCK, VIRTIO_DEV_ANY_ID);
	f->t.fd = &f->fd;
	*state = f;
	return 0;
}

static int fixture_teardown(void **state)
{
	struct bus_fixture *f = *state;

	fake_dev_destroy(&f->fd);
	free(f);
	return 0;
}

/* Index of the first event of @kind with @val at or after @from, or -1. */
static int find_event(const struct fake_dev *fd, unsigned int from, enum fake_event_kind kind,
		      uint64_t val)
{
	unsigned int i;

	for (i = from; i < fd->nevents; i++)
		if (fd->events[i].kind == kind && fd->events[i].val == val)
			return (int)i;
	return -1;
}

static void assert_event(const struct fake_dev *fd, unsigned int i, enum fake_event_kind kind,
			 uint64_t val)
{
	assert_true(i < fd->nevents);
	assert_int_equal(fd->events[i].kind, kind);
	assert_int_equal(fd->events[i].val, val);
}

/*
 * R-BF-01, R-BF-13: reset, ACK, DRIVER, features, FEATURES_OK, re-check, setup, DRIVER_OK;
 * R-BF-15: the features are written once, before FEATURES_OK, never after.
 */
static void test_init_sequence_order(void **state)
{
	struct bus_fixture *f = *state;
	const uint8_t ack = VIRTIO_STATUS_ACKNOWLEDGE, drv = ack | VIRTIO_STATUS_DRIVER;
	const uint8_t fok = drv | VIRTIO_STATUS_FEATURES_OK;
	uint64_t want = VIRTIO_BIT(VIRTIO_F_VERSION_1);

	f->t.use_queue = true;
	assert_int_equal(virtio_register_driver(&f->bus, &f->t.drv), 0);
	assert_int_equal(vireo_register_virtio_device(&f->bus, &f->fd.vdev), 0);

	assert_event(&f->fd, 0, FAKE_EV_RESET, 0);
	assert_event(&f->fd, 1, FAKE_EV_STATUS, ack);
	assert_event(&f->fd, 2, FAKE_EV_STATUS, drv);
	assert_event(&f->fd, 3, FAKE_EV_FINALIZE, want);
	assert_event(&f->fd, 4, FAKE_EV_STATUS, fok);
	assert_event(&f->fd, 5, FAKE_EV_FIND_VQS, 1);
	assert_event(&f->fd, 6, FAKE_EV_STATUS, fok | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(f->fd.nevents, 7);

	assert_int_equal(f->t.probes, 1);
	assert_ptr_equal(f->fd.vdev.driver, &f->t.drv);
	assert_int_equal(f->fd.vdev.features, want);
	assert_false(f->fd.status_cleared); /* R-BF-02 */
	assert_false(f->fd.config_written); /* R-BF-14 */
	assert_ptr_equal(virtio_bus_find(&f->bus, VIRTIO_ID_BLOCK, 0), &f->fd.vdev);
	assert_null(virtio_bus_find(&f->bus, VIRTIO_ID_BLOCK, 1));
	assert_null(virtio_bus_find(&f->bus, VIRTIO_ID_NET, 0));
	vireo_unregister_virtio_device(&f->fd.vdev);
}

/* R-BF-04/05/07, R-BF-23: only offered bits the driver knows, ring bits the bus supports. */
static void test_feature_masking(void **state)
{
	struct bus_fixture *f = *state;
	uint64_t expect;

	f->fd.offered = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) |
			VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_RING_PACKED) |
			VIRTIO_BIT(VIRTIO_F_ACCESS_PLATFORM) | VIRTIO_BIT(0) | VIRTIO_BIT(5) |
			VIRTIO_BIT(23) | VIRTIO_BIT(41) | VIRTIO_BIT(43) | VIRTIO_BIT(63);
	/*
	 * Table: 0 and 1 (1 not offered), a reserved ring bit, an out-of-range bit,
	 * device-type bits 41 and 63 (§2.2, issue 9 §7d), transport bit 43.
	 */
	f->t.table[0] = 0;
	f->t.table[1] = 1;
	f->t.table[2] = VIRTIO_F_RING_PACKED;
	f->t.table[3] = 64;
	f->t.table[4] = 41;
	f->t.table[5] = 43;
	f->t.table[6] = 63;
	f->t.drv.feature_table_size = 7;
	assert_int_equal(virtio_register_driver(&f->bus, &f->t.drv), 0);
	assert_int_equal(vireo_register_virtio_device(&f->bus, &f->fd.vdev), 0);

	/* The packed layout is taken when offered (the bus's default), from the bus, not the table. */
	expect = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) |
		 VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_RING_PACKED) |
		 VIRTIO_BIT(0) | VIRTIO_BIT(41) | VIRTIO_BIT(63);
	assert_int_equal(f->fd.acked, expect);
	assert_int_equal(f->fd.vdev.features, expect);
	assert_true(virtio_has_feature(&f->fd.vdev, 0));
	assert_false(virtio_has_feature(&f->fd.vdev, 5));
	assert_true(f->fd.status & VIRTIO_STATUS_DRIVER_OK);
	vireo_unregister_virtio_device(&f->fd.vdev);
}

/* R-BF-06: without VERSION_1 (a legacy device) there is no fallback: FAILED. */
static void test_refuses_legacy_device(void **state)
{
	struct bus_fixture *f = *state;

	f->fd.offered = VIRTIO_BIT(0);
	assert_int_equal(virtio_register_driver(&f->bus, &f->t.drv), 0);
	assert_int_equal(vireo_register_virtio_device(&f->bus, &f->fd.vdev), -ENODEV);
	assert_true(f->fd.status & VIRTIO_STATUS_FAILED);
	assert_false(f->fd.status & VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(find_event(&f->fd, 0, FAKE_EV_FINALIZE, 0), -1);
	assert_int_equal(f->t.probes, 0);
	assert_null(f->fd.vdev.driver);
	assert_null(virtio_bus_find(&f->bus, VIRTIO_ID_BLOCK, 0));
	vireo_unregister_virtio_device(&f->fd.vdev);
}

/* §3.1.1 step 6, R-BF-16: FEATURES_OK not kept -> FAILED, no probe, no DRIVER_OK. */
static void test_features_ok_refused(void **state)
{
	struct bus_fixture *f = *state;

	f->fd.refuse_features_ok = true;
	assert_int_equal(virtio_register_driver(&f->bus, &f->t.drv), 0);
	assert_int_equal(vireo_register_virtio_device(&f->bus, &f->fd.vdev), -ENODEV);
	assert_true(f->fd.status & VIRTIO_STATUS_FAILED);
	assert_false(f->fd.status & VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(f->t.probes, 0);
	assert_int_equal(find_event(&f->fd, 0, FAKE_EV_FIND_VQS, 1), -1);
	assert_null(f->fd.vdev.driver);
	assert_false(f->fd.status_cleared);
	vireo_unregister_virtio_device(&f->fd.vdev);
}

/* R-BF-16: a failing probe leaves FAILED set and DRIVER_OK unset. */
static void test_probe_failure(void **state)
{
	struct bus_fixture *f = *state;

	f->t.probe_ret = -EIO;
	f->t.use_queue = true;
	assert_int_equal(virtio_register_driver(&f->bus, &f->t.drv), 0);
	assert_int_equal(vireo_register_virtio_device(&f->bus, &f->fd.vdev), -EIO);
	assert_true(f->fd.status & VIRTIO_STATUS_FAILED);
	assert_true(f->fd.status & VIRTIO_STATUS_FEATURES_OK);
	assert_false(f->fd.status & VIRTIO_STATUS_DRIVER_OK);
	assert_null(f->fd.vdev.driver);
	assert_int_equal(f->fd.nvqs, 0);
	assert_false(f->fd.status_cleared);
	assert_int_equal(f->t.removes, 0);
	vireo_unregister_virtio_device(&f->fd.vdev);
	assert_int_equal(f->t.removes, 0);
}

/* A transport error in find_vqs is a probe failure too. */
static void test_find_vqs_failure(void **state)
{
	struct bus_fixture *f = *state;

	f->t.use_queue = true;
	f->fd.find_vqs_err = -ENOMEM;
	assert_int_equal(virtio_register_driver(&f->bus, &f->t.drv), 0);
	assert_int_equal(vireo_register_virtio_device(&f->bus, &f->fd.vdev), -ENOMEM);
	assert_true(f->fd.status & VIRTIO_STATUS_FAILED);
	vireo_unregister_virtio_device(&f->fd.vdev);
}

/* R-BF-03: after FAILED, a new driver's attempt starts with a reset. */
static void test_retry_after_failed_resets(void **state)
{
	struct bus_fixture *f = *state;
	struct test_drv second;
	unsigned int mark;
	int i;

	f->t.probe_ret = -EIO;
	assert_int_equal(virtio_register_driver(&f->bus, &f->t.drv), 0);
	assert_int_equal(vireo_register_virtio_device(&f->bus, &f->fd.vdev), -EIO);
	mark = f->fd.nevents;

	test_drv_init(&second, VIRTIO_ID_BLOCK, TEST_VENDOR);
	assert_int_equal(virtio_register_driver(&f->bus, &second.drv), 0);
	i = find_event(&f->fd, mark, FAKE_EV_RESET, 0);
	assert_int_equal(i, (int)mark);
	assert_event(&f->fd, mark + 1, FAKE_EV_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(second.probes, 1);
	assert_ptr_equal(f->fd.vdev.driver, &second.drv);
	assert_true(f->fd.status & VIRTIO_STATUS_DRIVER_OK);
	assert_false(f->fd.status & VIRTIO_STATUS_FAILED);
	vireo_unregister_virtio_device(&f->fd.vdev);
	virtio_unregister_driver(&f->bus, &second.drv);
}

/* A probe may set DRIVER_OK itself (to use its queues); the bus does not repeat it. */
static void test_probe_ready_early(void **state)
{
	struct bus_fixture *f = *state;
	unsigned int i, driver_ok_writes = 0;

	f->t.ready_early = true;
	assert_int_equal(virtio_register_driver(&f->bus, &f->t.drv), 0);
	assert_int_equal(vireo_register_virtio_device(&f->bus, &f->fd.vdev), 0);
	for (i = 0; i < f->fd.nevents; i++)
		if (f->fd.events[i].kind == FAKE_EV_STATUS &&
		    (f->fd.events[i].val & VIRTIO_STATUS_DRIVER_OK))
			driver_ok_writes++;
	assert_int_equal(driver_ok_writes, 1);
	vireo_unregister_virtio_device(&f->fd.vdev);
}

/* Matching: device id, vendor exact or VIRTIO_DEV_ANY_ID; late driver registration binds. */
static void test_id_matching(void **state)
{
	struct bus_fixture *f = *state;
	struct test_drv other_vendor, wrong_device;

	test_drv_init(&other_vendor, VIRTIO_ID_BLOCK, TEST_VENDOR + 1);
	test_drv_init(&wrong_device, VIRTIO_ID_NET, VIRTIO_DEV_ANY_ID);
	assert_int_equal(virtio_register_driver(&f->bus, &other_vendor.drv), 0);
	assert_int_equal(virtio_register_driver(&f->bus, &wrong_device.drv), 0);
	assert_int_equal(vireo_register_virtio_device(&f->bus, &f->fd.vdev), 0);
	assert_null(f->fd.vdev.driver);
	assert_int_equal(f->fd.status, VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(other_vendor.probes + wrong_device.probes, 0);
	assert_null(virtio_bus_find(&f->bus, VIRTIO_ID_BLOCK, 0));

	/* A matching driver registered later binds the waiting device. */
	f->t.ids[0].vendor = TEST_VENDOR;
	assert_int_equal(virtio_register_driver(&f->bus, &f->t.drv), 0);
	assert_int_equal(f->t.probes, 1);
	assert_ptr_equal(f->fd.vdev.driver, &f->t.drv);
	assert_int_equal(virtio_register_driver(&f->bus, &f->t.drv), -EEXIST);
	assert_int_equal(f->t.probes, 1);

	vireo_unregister_virtio_device(&f->fd.vdev);
	virtio_unregister_driver(&f->bus, &other_vendor.drv);
	virtio_unregister_driver(&f->bus, &wrong_device.drv);
}

/* R-BF-19: reset before the driver reclaims its buffers; then the queues go. */
static void test_unregister_device(void **state)
{
	struct bus_fixture *f = *state;
	unsigned int mark;

	f->t.use_queue = true;
	assert_int_equal(virtio_register_driver(&f->bus, &f->t.drv), 0);
	assert_int_equal(vireo_register_virtio_device(&f->bus, &f->fd.vdev), 0);
	assert_int_equal(f->fd.nvqs, 1);
	mark = f->fd.nevents;
	vireo_unregister_virtio_device(&f->fd.vdev);

	assert_event(&f->fd, mark, FAKE_EV_RESET, 0);
	assert_int_equal(f->t.removes, 1);
	assert_int_equal(f->t.event_at_remove, mark + 1);
	assert_int_equal(f->t.status_at_remove, 0);
	assert_event(&f->fd, mark + 1, FAKE_EV_DEL_VQS, 1);
	assert_int_equal(f->fd.nvqs, 0);
	assert_null(f->fd.vdev.driver);
	assert_null(f->bus.devices);
	assert_null(virtio_bus_find(&f->bus, VIRTIO_ID_BLOCK, 0));
}

static void test_unregister_driver(void **state)
{
	struct bus_fixture *f = *state;

	f->t.use_queue = true;
	assert_int_equal(virtio_register_driver(&f->bus, &f->t.drv), 0);
	assert_int_equal(vireo_register_virtio_device(&f->bus, &f->fd.vdev), 0);
	virtio_unregister_driver(&f->bus, &f->t.drv);
	assert_int_equal(f->t.removes, 1);
	assert_null(f->fd.vdev.driver);
	assert_int_equal(f->fd.nvqs, 0);
	assert_int_equal(f->fd.status, 0);
	assert_null(f->bus.drivers);
	assert_ptr_equal(f->bus.devices, &f->fd.vdev);
	/* Registering again binds again. */
	assert_int_equal(virtio_register_driver(&f->bus, &f->t.drv), 0);
	assert_int_equal(f->t.probes, 2);
	vireo_unregister_virtio_device(&f->fd.vdev);
	assert_int_equal(f->t.removes, 2);
}

static void test_config_changed_dispatch(void **state)
{
	struct bus_fixture *f = *state;

	virtio_config_changed(&f->fd.vdev); /* unbound: nothing to call */
	assert_int_equal(virtio_register_driver(&f->bus, &f->t.drv), 0);
	assert_int_equal(vireo_register_virtio_device(&f->bus, &f->fd.vdev), 0);
	virtio_config_changed(&f->fd.vdev);
	assert_int_equal(f->t.config_changes, 1);
	vireo_unregister_virtio_device(&f->fd.vdev);
}

/* R-BF-08 (§2.5.1): re-read while the generation changes. */
static void test_cread_generation_loop(void **state)
{
	struct bus_fixture *f = *state;
	uint64_t v = 0, want = 0x1122334455667788ull;

	memcpy(f->fd.config, &want, sizeof(want));
	f->fd.gen_flaps = 3;
	virtio_cread(&f->fd.vdev, 0, &v, sizeof(v));
	assert_int_equal(v, want);
	assert_int_equal(f->fd.gen_flaps, 0);
	assert_true(f->fd.config_reads >= 2);

	/* A device whose generation never settles: bounded, the last read is used. */
	f->fd.config_reads = 0;
	f->fd.gen_flaps = 1000000;
	virtio_cread(&f->fd.vdev, 0, &v, sizeof(v));
	assert_int_equal(v, want);
	assert_true(f->fd.config_reads < 1000000 / 2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_init_sequence_order),
		T(test_feature_masking),
		T(test_refuses_legacy_device),
		T(test_features_ok_refused),
		T(test_probe_failure),
		T(test_find_vqs_failure),
		T(test_retry_after_failed_resets),
		T(test_probe_ready_early),
		T(test_id_matching),
		T(test_unregister_device),
		T(test_unregister_driver),
		T(test_config_changed_dispatch),
		T(test_cread_generation_loop),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
