// SPDX-License-Identifier: MIT
/*
 * Unit tests for the virtio-pci driver (transport/virtio_pci_*.c) against a fake PCI function
 * (tests/lib/fake_pci_fn.c): the register sequence of a well-formed device, and refusals of
 * hostile ones (bad capabilities, features changing, queue_size 0, generation churn, a reset
 * that never completes). Labels: R-PCI-xx in /work/shared/spec-checklist-pci-mmio.md.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>

#include <vireo/driver.h>
#include <vireo/event_loop.h>
#include <vireo/spec.h>
#include <vireo/virtio_pci_driver.h>

#include "tests/lib/fake_pci_fn.h"

#define CC(field) offsetof(struct vireo_pci_common_cfg, field)
#define T_VIRTIO_ID 4u /* entropy: one queue, no config needed */

struct t_ctx {
	struct fake_pci_fn f;
	struct virtio_bus bus;
	struct virtio_driver drv;
	struct virtio_device_id ids[3];
	unsigned int nvqs;
	struct virtqueue *vqs[4];
	unsigned int callbacks, config_changes;
	struct vireo_pci_device_options opt;
	struct vireo_pci_device *dev;
};

static struct t_ctx *t_of(struct virtio_device *vdev)
{
	return vdev->priv;
}

static void t_callback(struct virtqueue *vq)
{
	t_of(vq->vdev)->callbacks++;
}

static int t_probe(struct virtio_device *vdev)
{
	struct t_ctx *t =
		(struct t_ctx *)(void *)((char *)vdev->driver - offsetof(struct t_ctx, drv));
	virtqueue_callback *cbs[4] = {t_callback, t_callback, t_callback, t_callback};
	const char *const names[4] = {"q0", "q1", "q2", "q3"};

	vdev->priv = t;
	return vdev->config->find_vqs(vdev, t->nvqs, t->vqs, cbs, names);
}

static void t_config_changed(struct virtio_device *vdev)
{
	t_of(vdev)->config_changes++;
}

static int setup(void **state)
{
	struct t_ctx *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	fake_pci_fn_init(&t->f, T_VIRTIO_ID);
	virtio_bus_init(&t->bus);
	t->ids[0].device = T_VIRTIO_ID;
	t->ids[0].vendor = VIRTIO_DEV_ANY_ID;
	t->drv.name = "test";
	t->drv.id_table = t->ids;
	t->drv.probe = t_probe;
	t->drv.config_changed = t_config_changed;
	t->nvqs = 1;
	t->opt.reset_timeout_ms = 100;
	virtio_register_driver(&t->bus, &t->drv);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t_ctx *t = *state;

	vireo_pci_device_free(t->dev);
	virtio_unregister_driver(&t->bus, &t->drv);
	free(t);
	return 0;
}

static int t_new(struct t_ctx *t)
{
	return vireo_pci_device_new(&t->bus, &fake_pci_fn_ops, &t->f, &t->opt, &t->dev);
}

/* R-PCI-01, R-PCI-07, R-PCI-08, R-PCI-10, R-PCI-11, R-PCI-12: the whole init sequence. */
static void test_init_sequence(void **state)
{
	struct t_ctx *t = *state;
	static const uint8_t want[] = {0, 1, 3, 11, 15};

	assert_int_equal(t_new(t), 0);
	assert_int_equal(t->f.nstatus_writes, sizeof(want));
	assert_memory_equal(t->f.status_writes, want, sizeof(want));
	assert_true(t->f.driver_features & VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_int_equal(t->f.violations, 0);
	assert_int_equal(t->f.config_writes, 0);
	assert_true(fake_pci_fn_enable_last(&t->f, 0));
	assert_int_equal(t->f.q[0].enable, 1);
	assert_int_equal(t->f.mapped_iova, VIREO_PCI_DEFAULT_DMA_BASE);
	assert_true(t->f.q[0].desc >= t->f.mapped_iova &&
		    t->f.q[0].device < t->f.mapped_iova + t->f.mapped_len);
	/* Two vectors: config 0, the queue 1. */
	assert_int_equal(vireo_pci_device_interrupts(t->dev), 2);
	assert_int_equal(t->f.config_msix, 0);
	assert_int_equal(t->f.q[0].msix, 1);
	vireo_pci_device_free(t->dev);
	t->dev = NULL;
	assert_int_equal(t->f.mapped_len, 0);
	assert_int_equal(t->f.status, 0);
}

/* R-PCI-09: a split ring's size is a power of 2 under the device's maximum; packed need not. */
static void test_queue_size(void **state)
{
	struct t_ctx *t = *state;

	t->f.q[0].max = t->f.q[0].size = 100;
	assert_int_equal(t_new(t), 0);
	assert_int_equal(t->f.q[0].size, 64);
	assert_int_equal(t->f.violations, 0);
	vireo_pci_device_free(t->dev);
	t->dev = NULL;
	t->f.device_features |= VIRTIO_BIT(VIRTIO_F_RING_PACKED);
	assert_int_equal(t_new(t), 0);
	assert_int_equal(t->f.q[0].size, 100);
	assert_true(t->f.driver_features & VIRTIO_BIT(VIRTIO_F_RING_PACKED));
	assert_int_equal(t->f.violations, 0);
}

static int t_add_one(struct t_ctx *t, unsigned int q)
{
	struct virtio_device *vdev = vireo_pci_device_virtio_device(t->dev);
	uint64_t addr;
	void *buf = virtio_dma_alloc(vdev->dma, 64, 16, &addr);
	struct virtio_sg sg = {.addr = addr, .len = 64};

	assert_non_null(buf);
	return virtqueue_add_inbuf(t->vqs[q], &sg, 1, buf);
}

/* R-PCI-21, R-PCI-22: 16-bit writes of the queue index at notify_off × multiplier. */
static void test_notify(void **state)
{
	struct t_ctx *t = *state;

	t->nvqs = 2;
	assert_int_equal(t_new(t), 0);
	assert_int_equal(t_add_one(t, 1), 0);
	assert_true(virtqueue_kick(t->vqs[1]));
	assert_int_equal(t->f.nnotifies, 1);
	assert_int_equal(t->f.notifies[0].offset, FPCI_NOTIFY_OFF + 1 * FPCI_NOTIFY_MULT);
	assert_int_equal(t->f.notifies[0].size, 2);
	assert_int_equal(t->f.notifies[0].value, 1);
}

/* R-PCI-21, R-PCI-22: with NOTIFICATION_DATA 32 bits and the next avail index; with
 * NOTIF_CONFIG_DATA the device's value instead of the index. */
static void test_notify_data(void **state)
{
	struct t_ctx *t = *state;

	t->f.device_features |=
		VIRTIO_BIT(VIRTIO_F_NOTIFICATION_DATA) | VIRTIO_BIT(VIRTIO_F_NOTIF_CONFIG_DATA);
	assert_int_equal(t_new(t), 0);
	assert_true(t->f.driver_features & VIRTIO_BIT(VIRTIO_F_NOTIFICATION_DATA));
	assert_int_equal(t_add_one(t, 0), 0);
	assert_true(virtqueue_kick(t->vqs[0]));
	assert_int_equal(t->f.nnotifies, 1);
	assert_int_equal(t->f.notifies[0].size, 4);
	assert_int_equal(t->f.notifies[0].value, 0x100u | 1u << 16);
	assert_int_equal(t->f.violations, 0);
}

/* Interrupts: a fired vector runs its queue's callback; config vector → config_changed. */
static void test_msix_per_queue(void **state)
{
	struct t_ctx *t = *state;
	struct virtio_device *vdev;

	t->nvqs = 3;
	assert_int_equal(t_new(t), 0);
	vdev = vireo_pci_device_virtio_device(t->dev);
	assert_int_equal(vireo_pci_device_interrupts(t->dev), 4);
	assert_int_equal(t->f.q[2].msix, 3);
	assert_int_equal(vdev->config->wait(vdev, 0), -ETIMEDOUT);
	assert_int_equal(vireo_eventfd_signal_fd(t->f.vector_fd[3]), 0);
	assert_int_equal(vdev->config->wait(vdev, 1000), 0);
	assert_int_equal(t->callbacks, 1);
	assert_int_equal(vireo_eventfd_signal_fd(t->f.vector_fd[0]), 0);
	assert_int_equal(vdev->config->wait(vdev, 1000), 0);
	assert_int_equal(t->config_changes, 1);
	assert_int_equal(t->callbacks, 1);
}

/* R-PCI-18, R-PCI-19, R-PCI-20: refused vectors (read back NO_VECTOR) → fewer, then polling. */
static void test_msix_fallback(void **state)
{
	struct t_ctx *t = *state;
	struct virtio_device *vdev;

	t->f.max_vector = 1;
	assert_int_equal(t_new(t), 0);
	assert_int_equal(vireo_pci_device_interrupts(t->dev), 1);
	assert_int_equal(t->f.q[0].msix, 0);
	vireo_pci_device_free(t->dev);
	t->dev = NULL;
	t->f.max_vector = 0;
	assert_int_equal(t_new(t), 0);
	vdev = vireo_pci_device_virtio_device(t->dev);
	assert_int_equal(vireo_pci_device_interrupts(t->dev), 0);
	assert_int_equal(t->f.q[0].msix, VIREO_PCI_MSI_NO_VECTOR);
	/* Polling: the ISR's config bit is a config change (R-PCI-23). */
	t->f.isr = VIREO_PCI_ISR_CONFIG | VIREO_PCI_ISR_QUEUE;
	assert_int_equal(vdev->config->wait(vdev, 100), 0);
	assert_int_equal(t->config_changes, 1);
	assert_int_equal(vdev->config->wait(vdev, 5), -ETIMEDOUT);
	assert_int_equal(t->f.violations, 0);
}

/* R-PCI-18, R-PCI-19: a table of 2 vectors for 3 queues: shared; of 1: everything on 0. */
static void test_msix_small_table(void **state)
{
	struct t_ctx *t = *state;
	unsigned int i;

	t->nvqs = 3;
	t->f.cfg[FPCI_CAP_MSIX + PCI_MSIX_FLAGS] = 1; /* Table Size 2 */
	assert_int_equal(t_new(t), 0);
	assert_int_equal(vireo_pci_device_interrupts(t->dev), 2);
	assert_int_equal(t->f.config_msix, 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(t->f.q[i].msix, 1);
	assert_int_equal(t->f.vector_fd[2], -1);
	vireo_pci_device_free(t->dev);
	t->dev = NULL;
	t->f.cfg[FPCI_CAP_MSIX + PCI_MSIX_FLAGS] = 0; /* Table Size 1 */
	assert_int_equal(t_new(t), 0);
	assert_int_equal(vireo_pci_device_interrupts(t->dev), 1);
	for (i = 0; i < 3; i++)
		assert_int_equal(t->f.q[i].msix, 0);
	assert_int_equal(t->f.vector_fd[1], -1);
	assert_int_equal(t->f.violations, 0);
}

/* R-PCI-05, R-PCI-06: reserved types and BARs ignored; a long cap_len and length accepted. */
static void test_caps_tolerated(void **state)
{
	struct t_ctx *t = *state;

	fake_pci_fn_set_cap(&t->f, 0x98, 16, 0xff, 7, 0, 16, 0xa8);
	fake_pci_fn_set_cap(&t->f, 0xa8, 16, VIREO_PCI_CAP_COMMON_CFG, 6, 0, 64, FPCI_CAP_COMMON);
	t->f.cfg[PCI_CAPABILITY_LIST] = 0x98;
	t->f.cfg[FPCI_CAP_COMMON + 2] = 0x18;
	t->f.cfg[FPCI_CAP_COMMON + 12] = 0;
	t->f.cfg[FPCI_CAP_COMMON + 13] = 0x10; /* length 0x1000 */
	t->f.cfg[PCI_REVISION_ID] = 0;	       /* R-PCI-03 */
	assert_int_equal(t_new(t), 0);
	assert_int_equal(t->f.violations, 0);
}

/* R-PCI-02: a transitional id binds through the modern capabilities. */
static void test_transitional_id(void **state)
{
	struct t_ctx *t = *state;

	t->f.cfg[PCI_DEVICE_ID] = 0x05;
	t->f.cfg[PCI_DEVICE_ID + 1] = 0x10;
	t->f.cfg[PCI_SUBSYSTEM_ID] = T_VIRTIO_ID;
	assert_int_equal(t_new(t), 0);
	assert_int_equal(vireo_pci_device_virtio_device(t->dev)->id.device, T_VIRTIO_ID);
}

/* A refused layout: -ENODEV and not one register write. */
static void t_refused(struct t_ctx *t)
{
	assert_int_equal(t_new(t), -ENODEV);
	assert_null(t->dev);
	assert_int_equal(t->f.nwrites, 0);
	assert_int_equal(t->f.mapped_len, 0);
}

static void test_refuse_outside_bar(void **state)
{
	struct t_ctx *t = *state;

	fake_pci_fn_set_cap(&t->f, FPCI_CAP_COMMON, 16, VIREO_PCI_CAP_COMMON_CFG, 0,
			    FPCI_BAR0_SIZE - 32, 64, FPCI_CAP_NOTIFY);
	t_refused(t);
}

static void test_refuse_offset_overflow(void **state)
{
	struct t_ctx *t = *state;

	fake_pci_fn_set_cap(&t->f, FPCI_CAP_ISR, 16, VIREO_PCI_CAP_ISR_CFG, 0, 0xffffffffu,
			    0xffffffffu, FPCI_CAP_DEVICE);
	t_refused(t);
}

static void test_refuse_overlap(void **state)
{
	struct t_ctx *t = *state;

	fake_pci_fn_set_cap(&t->f, FPCI_CAP_ISR, 16, VIREO_PCI_CAP_ISR_CFG, 0, 0x20, 1,
			    FPCI_CAP_DEVICE);
	t_refused(t);
}

static void test_refuse_loop(void **state)
{
	struct t_ctx *t = *state;

	t->f.cfg[FPCI_CAP_MSIX + 1] = FPCI_CAP_NOTIFY;
	t_refused(t);
}

static void test_refuse_bad_pointer(void **state)
{
	struct t_ctx *t = *state;

	t->f.cfg[FPCI_CAP_MSIX + 1] = 0x20; /* inside the standard header */
	t_refused(t);
}

static void test_refuse_short_common(void **state)
{
	struct t_ctx *t = *state;

	t->f.cfg[FPCI_CAP_COMMON + 12] = 40;
	t_refused(t);
}

static void test_refuse_misaligned(void **state)
{
	struct t_ctx *t = *state;

	t->f.cfg[FPCI_CAP_DEVICE + 8] = 2; /* device configuration at 0x2002 */
	t_refused(t);
}

static void test_refuse_bad_multiplier(void **state)
{
	struct t_ctx *t = *state;

	t->f.cfg[FPCI_CAP_NOTIFY + 16] = 3;
	t_refused(t);
}

/* R-PCI-24: no NOTIFY (its type reserved), or no list at all: refused without I/O. */
static void test_refuse_missing(void **state)
{
	struct t_ctx *t = *state;

	t->f.cfg[FPCI_CAP_NOTIFY + 3] = 6;
	t_refused(t);
	t->f.cfg[FPCI_CAP_NOTIFY + 3] = VIREO_PCI_CAP_NOTIFY_CFG;
	t->f.cfg[PCI_STATUS] = 0;
	t_refused(t);
}

static void test_refuse_ids(void **state)
{
	struct t_ctx *t = *state;

	t->f.cfg[PCI_VENDOR_ID] = 0x86;
	t->f.cfg[PCI_VENDOR_ID + 1] = 0x80;
	t_refused(t);
	t->f.cfg[PCI_VENDOR_ID] = 0xf4;
	t->f.cfg[PCI_VENDOR_ID + 1] = 0x1a;
	t->f.cfg[PCI_DEVICE_ID] = 0x80; /* 0x1080: past the virtio range */
	t_refused(t);
}

/* The bus gave up with FAILED (the device is reset again when it is freed). */
static bool t_failed_written(const struct t_ctx *t)
{
	unsigned int i;

	for (i = 0; i < t->f.nstatus_writes; i++)
		if (t->f.status_writes[i] & VIRTIO_STATUS_FAILED)
			return true;
	return false;
}

static void test_refuse_queue_size_zero(void **state)
{
	struct t_ctx *t = *state;

	t->f.q[0].max = t->f.q[0].size = 0;
	assert_int_equal(t_new(t), -ENOENT);
	assert_true(t_failed_written(t));
	assert_int_equal(t->f.mapped_len, 0);
}

static void test_refuse_features_changing(void **state)
{
	struct t_ctx *t = *state;

	t->f.features_flip = true;
	assert_int_equal(t_new(t), -ENODEV);
	assert_true(t_failed_written(t));
	assert_int_equal(t->f.driver_features, 0);
}

static int64_t t_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* R-PCI-11: a reset completing after a few reads is waited for; one that never does fails. */
static void test_reset_wait(void **state)
{
	struct t_ctx *t = *state;
	int64_t start;

	t->f.status_zero_after = 5;
	assert_int_equal(t_new(t), 0);
	assert_int_equal(t->f.violations, 0);
	vireo_pci_device_free(t->dev);
	t->dev = NULL;
	t->f.status_zero_after = -1;
	start = t_now_ms();
	assert_int_equal(t_new(t), -EIO);
	assert_true(t_now_ms() - start < 5000);
}

/* §2.5.1: a churning config_generation cannot make a config read loop forever. R-PCI-04. */
static void test_generation_churn(void **state)
{
	struct t_ctx *t = *state;
	struct virtio_device *vdev;
	uint8_t buf[8];
	unsigned int i;

	t->f.generation_churn = true;
	assert_int_equal(t_new(t), 0);
	vdev = vireo_pci_device_virtio_device(t->dev);
	virtio_cread(vdev, 8, buf, sizeof(buf));
	for (i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0xa8 + i);
	virtio_cread(vdev, 3, buf, 3); /* 8-bit then 16-bit accesses */
	assert_int_equal(buf[0], 0xa3);
	assert_int_equal(buf[2], 0xa5);
	assert_int_equal(t->f.violations, 0);
}

static void test_access_failure(void **state)
{
	struct t_ctx *t = *state;

	t->f.fail_accesses = true;
	assert_int_equal(t_new(t), -EIO);
	assert_null(t->dev);
}

/* R-PCI-13: a queue reset is complete only once queue_reset reads 0; then re-enable. */
static void test_queue_reset(void **state)
{
	struct t_ctx *t = *state;

	assert_int_equal(t_new(t), 0);
	assert_int_equal(vireo_pci_queue_reset(t->dev, 0), -EOPNOTSUPP);
	vireo_pci_device_free(t->dev);
	t->dev = NULL;
	t->f.device_features |= VIRTIO_BIT(VIRTIO_F_RING_RESET);
	t->f.queue_reset_reads = 3;
	assert_int_equal(t_new(t), 0);
	assert_int_equal(vireo_pci_queue_reset(t->dev, 0), 0);
	assert_int_equal(t->f.q[0].reset, 0);
	assert_int_equal(t->f.q[0].enable, 0);
	assert_int_equal(vireo_pci_queue_reenable(t->dev, 0), 0);
	assert_int_equal(t->f.q[0].enable, 1);
	assert_int_equal(t->f.q[0].msix, 1);
	assert_int_equal(t->f.violations, 0);
	t->f.queue_reset_reads = -1;
	assert_int_equal(vireo_pci_queue_reset(t->dev, 0), -ETIMEDOUT);
	assert_true(vireo_pci_device_broken(t->dev));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_init_sequence),
		T(test_queue_size),
		T(test_notify),
		T(test_notify_data),
		T(test_msix_per_queue),
		T(test_msix_fallback),
		T(test_msix_small_table),
		T(test_caps_tolerated),
		T(test_transitional_id),
		T(test_refuse_outside_bar),
		T(test_refuse_offset_overflow),
		T(test_refuse_overlap),
		T(test_refuse_loop),
		T(test_refuse_bad_pointer),
		T(test_refuse_short_common),
		T(test_refuse_misaligned),
		T(test_refuse_bad_multiplier),
		T(test_refuse_missing),
		T(test_refuse_ids),
		T(test_refuse_queue_size_zero),
		T(test_refuse_features_changing),
		T(test_reset_wait),
		T(test_generation_churn),
		T(test_access_failure),
		T(test_queue_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
