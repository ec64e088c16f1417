// SPDX-License-Identifier: MIT
/*
 * A hostile driver against the virtio-pci function model: every access the specs forbid
 * or the layout does not have (bad widths and alignment, straddling fields, read-only
 * registers, selectors out of range, BARs that do not exist or offsets beyond them,
 * memory decoding off, bad queue sizes, rings outside guest memory or misaligned,
 * vectors beyond the table, notify writes of the wrong form) is refused with a log line
 * and leaves the state as it was, or sets DEVICE_NEEDS_RESET where the ring cannot be
 * served; then a random access storm. Nothing may crash (also run under ASan).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/pci_regs.h>
#include <string.h>

#include "tests/lib/log_capture.h"
#include "tests/lib/pci_harness.h"
#include "tests/lib/xorshift.h"

#define RING_F (VIRTIO_BIT(VIRTIO_F_VERSION_1))
#define PACKED_F (RING_F | VIRTIO_BIT(VIRTIO_F_RING_PACKED))

static int bar_read_rc(struct pci_harness *h, unsigned int bar, uint64_t off, unsigned int size,
		       uint64_t *v)
{
	*v = 0x1234;
	return vireo_pci_bar_read(h->fn, bar, off, size, v);
}

/* Configuration space: only aligned 1/2/4-byte accesses inside 256 bytes; RO bits stay */
static void test_pci_hostile_config_space(void **state)
{
	struct pci_harness h;
	uint32_t v;

	(void)state;
	pci_harness_init_rng(&h, NULL);
	assert_int_equal(vireo_pci_config_read(h.fn, 1, 2, &v), -EINVAL);
	assert_int_equal(v, 0xffff);
	assert_int_equal(vireo_pci_config_read(h.fn, 2, 4, &v), -EINVAL);
	assert_int_equal(vireo_pci_config_read(h.fn, 0, 3, &v), -EINVAL);
	assert_int_equal(vireo_pci_config_read(h.fn, 0, 8, &v), -EINVAL);
	assert_int_equal(vireo_pci_config_read(h.fn, 256, 4, &v), -EINVAL);
	assert_int_equal(vireo_pci_config_read(h.fn, 0xfffffffcu, 4, &v), -EINVAL);
	assert_int_equal(vireo_pci_config_write(h.fn, 3, 2, 0), -EINVAL);
	assert_int_equal(vireo_pci_config_write(h.fn, 4096, 4, 0), -EINVAL);
	/* read-only header fields: writes are dropped, as on hardware (D-PCI-01/02/03) */
	pci_harness_cfg_write(&h, PCI_VENDOR_ID, 4, 0xdeadbeef);
	assert_int_equal(pci_harness_cfg_read(&h, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(pci_harness_cfg_read(&h, PCI_DEVICE_ID, 2), 0x1044);
	pci_harness_cfg_write(&h, PCI_STATUS, 2, 0xffff);
	assert_int_equal(pci_harness_cfg_read(&h, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
	pci_harness_cfg_write(&h, PCI_COMMAND, 2, 0xffff); /* no I/O space to enable */
	assert_false(pci_harness_cfg_read(&h, PCI_COMMAND, 2) & PCI_COMMAND_IO);
	pci_harness_cfg_write(&h, PCI_BASE_ADDRESS_3, 4, 0xffffffffu); /* unimplemented BAR */
	assert_int_equal(pci_harness_cfg_read(&h, PCI_BASE_ADDRESS_3, 4), 0);
	pci_harness_cfg_write(&h, PCI_ROM_ADDRESS, 4, 0xffffffffu);
	assert_int_equal(pci_harness_cfg_read(&h, PCI_ROM_ADDRESS, 4), 0);
	pci_harness_cfg_write(&h, PCI_COMMAND, 2, 0);
	pci_harness_bus_setup(&h);
	/* capability bytes other than the PCI_CFG window's are read-only (a driver breaking §4.1.4) */
	pci_harness_cfg_write(&h, PCI_CAPABILITY_LIST, 1, 0x80);
	pci_harness_cfg_write(&h, h.cap_msix + PCI_MSIX_TABLE, 4, 0x1235);
	assert_int_equal(pci_harness_cfg_read(&h, h.cap_msix + PCI_MSIX_TABLE, 4), 2);
	pci_harness_cfg_write(&h, h.cap_msix + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_QSIZE);
	assert_int_equal(pci_harness_cfg_read(&h, h.cap_msix + PCI_MSIX_FLAGS, 2),
			 h.dev->num_queues);
	pci_harness_bus_setup(&h); /* the walk still finds the same list */
	/* the window with a bad length or a misaligned offset does nothing (§4.1.4.9) */
	pci_harness_cfg_write(&h, h.cap_pci_cfg + 8, 4, h.common + PCI_CC(queue_select) + 1);
	pci_harness_cfg_write(&h, h.cap_pci_cfg + 12, 4, 2);
	pci_harness_cfg_write(&h, h.cap_pci_cfg + 16, 4, 0x0505);
	pci_harness_cfg_write(&h, h.cap_pci_cfg + 12, 4, 3);
	pci_harness_cfg_write(&h, h.cap_pci_cfg + 16, 4, 0x0505);
	pci_harness_cfg_write(&h, h.cap_pci_cfg + 4, 1, 5); /* BAR 5: not implemented */
	pci_harness_cfg_write(&h, h.cap_pci_cfg + 8, 4, 0);
	pci_harness_cfg_write(&h, h.cap_pci_cfg + 12, 4, 4);
	pci_harness_cfg_write(&h, h.cap_pci_cfg + 16, 4, 0x0505);
	assert_int_equal(pci_harness_cfg_read(&h, h.cap_pci_cfg + 16, 4), 0xffffffffu);
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(queue_select), 2), 0);
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(device_feature_select), 4), 0);
	pci_harness_destroy(&h);
}

/* BARs: decoding off, no such BAR, beyond it, bad widths, straddling, holes */
static void test_pci_hostile_bar_access(void **state)
{
	struct pci_harness h;
	uint64_t v;

	(void)state;
	pci_harness_init_blk(&h, NULL);
	pci_harness_bus_setup(&h);
	/* memory decoding off: ignored (reads all ones), the write does not land */
	pci_harness_cfg_write(&h, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	assert_int_equal(vireo_pci_bar_write(h.fn, 0, h.common + PCI_CC(queue_select), 2, 1),
			 -EACCES);
	assert_int_equal(bar_read_rc(&h, 0, h.common + PCI_CC(num_queues), 2, &v), -EACCES);
	assert_int_equal(v, 0xffff);
	pci_harness_cfg_write(&h, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(queue_select), 2), 0);
	/* BARs that do not exist, offsets beyond, bad sizes */
	assert_int_equal(bar_read_rc(&h, 1, 0, 4, &v), -EINVAL);
	assert_int_equal(v, 0xffffffffu);
	assert_int_equal(bar_read_rc(&h, 6, 0, 4, &v), -EINVAL);
	assert_int_equal(bar_read_rc(&h, 0xffffffffu, 0, 4, &v), -EINVAL);
	assert_int_equal(bar_read_rc(&h, 0, 0x4000, 1, &v), -EINVAL);
	assert_int_equal(bar_read_rc(&h, 0, 0x3ffe, 4, &v), -EINVAL);
	assert_int_equal(bar_read_rc(&h, 0, UINT64_MAX, 1, &v), -EINVAL);
	assert_int_equal(bar_read_rc(&h, 0, UINT64_MAX - 2, 4, &v), -EINVAL);
	assert_int_equal(bar_read_rc(&h, 0, 0, 3, &v), -EINVAL);
	assert_int_equal(bar_read_rc(&h, 0, 0, 0, &v), -EINVAL);
	assert_int_equal(bar_read_rc(&h, 0, 0, 16, &v), -EINVAL);
	assert_int_equal(vireo_pci_bar_write(h.fn, 2, 1u << 20, 4, 0), -EINVAL);
	/* common config: wrong width, misaligned, straddling two fields (§4.1.3.1) */
	assert_int_equal(bar_read_rc(&h, 0, h.common + PCI_CC(device_feature), 2, &v), -EINVAL);
	assert_int_equal(bar_read_rc(&h, 0, h.common + PCI_CC(device_feature) + 1, 1, &v), -EINVAL);
	assert_int_equal(bar_read_rc(&h, 0, h.common + PCI_CC(num_queues), 4, &v), -EINVAL);
	assert_int_equal(bar_read_rc(&h, 0, h.common + PCI_CC(device_status), 2, &v), -EINVAL);
	assert_int_equal(bar_read_rc(&h, 0, h.common + PCI_CC(queue_desc) + 2, 4, &v), -EINVAL);
	assert_int_equal(bar_read_rc(&h, 0, h.common + PCI_CC(admin_queue_num), 4, &v), -EINVAL);
	assert_int_equal(vireo_pci_bar_write(h.fn, 0, h.common + PCI_CC(queue_select), 4, 0x10001),
			 -EINVAL);
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(queue_select), 2), 0);
	/* a 64-bit field in one access is fine */
	assert_int_equal(bar_read_rc(&h, 0, h.common + PCI_CC(queue_desc), 8, &v), 0);
	/* ISR: one byte, read-only */
	assert_int_equal(bar_read_rc(&h, 0, h.isr, 4, &v), -EINVAL);
	assert_int_equal(vireo_pci_bar_write(h.fn, 0, h.isr, 1, 3), -EPERM);
	/* device config: the core's bounds, aligned widths up to 4 */
	assert_int_equal(bar_read_rc(&h, 0, h.device + h.device_len, 1, &v), 0); /* a hole */
	assert_int_equal(bar_read_rc(&h, 0, h.device + h.device_len - 2, 4, &v), -EINVAL);
	assert_int_equal(bar_read_rc(&h, 0, h.device + 1, 2, &v), -EINVAL);
	assert_int_equal(bar_read_rc(&h, 0, h.device, 8, &v), -EINVAL);
	assert_true(vireo_pci_bar_write(h.fn, 0, h.device, 4, 0) < 0); /* capacity */
	assert_int_equal(pci_harness_bar0_read(&h, h.device, 4),
			 (uint32_t)vireo_blk_device_capacity(h.blk));
	/* a write into a hole, an access straddling a hole and a structure */
	assert_int_equal(vireo_pci_bar_write(h.fn, 0, 0x800, 4, 1), -EINVAL);
	assert_int_equal(bar_read_rc(&h, 0, h.isr - 2, 4, &v), -EINVAL);
	assert_int_equal(bar_read_rc(&h, 0, h.notify - 4, 8, &v), -EINVAL);
	/* MSI-X: DWORD/QWORD only; the PBA is read-only */
	assert_int_equal(vireo_pci_bar_write(h.fn, 2, 0, 2, 0), -EINVAL);
	assert_int_equal(vireo_pci_bar_write(h.fn, 2, 2, 4, 0), -EINVAL);
	assert_int_equal(vireo_pci_bar_write(h.fn, 2, 0x1000, 8, ~0ull), -EPERM);
	assert_int_equal(bar_read_rc(&h, 2, 0x1000, 8, &v), 0);
	assert_int_equal(v, 0);
	/* reserved vector-control bits stay 0 */
	assert_int_equal(vireo_pci_bar_write(h.fn, 2, 12, 4, 0xfffffffeu), 0);
	assert_int_equal(bar_read_rc(&h, 2, 12, 4, &v), 0);
	assert_int_equal(v, 0);
	/* MSI-X reads: DWORD/QWORD only; between the table and the PBA reads 0 */
	assert_int_equal(bar_read_rc(&h, 2, 0, 2, &v), -EINVAL);
	assert_int_equal(bar_read_rc(&h, 2, 0x800, 4, &v), 0);
	assert_int_equal(v, 0);
	/* the notify area is written, never read: it reads 0 */
	assert_int_equal(bar_read_rc(&h, 0, h.notify, 2, &v), 0);
	assert_int_equal(v, 0);
	pci_harness_destroy(&h);
}

/* Common config: read-only fields, selectors out of range, vectors beyond the table */
static void test_pci_hostile_registers(void **state)
{
	struct pci_harness h;
	uint64_t offered;

	(void)state;
	pci_harness_init_blk(&h, NULL);
	pci_harness_bus_setup(&h);
	offered = h.dev->offered_features;
	/* a driver writing read-only fields (§4.1.4.3): the device keeps them */
	assert_int_equal(vireo_pci_bar_write(h.fn, 0, h.common + PCI_CC(device_feature), 4, 0),
			 -EPERM);
	assert_int_equal(vireo_pci_bar_write(h.fn, 0, h.common + PCI_CC(num_queues), 2, 60),
			 -EPERM);
	assert_int_equal(vireo_pci_bar_write(h.fn, 0, h.common + PCI_CC(config_generation), 1, 9),
			 -EPERM);
	assert_int_equal(vireo_pci_bar_write(h.fn, 0, h.common + PCI_CC(queue_notify_off), 2, 9),
			 -EPERM);
	assert_int_equal(
		vireo_pci_bar_write(h.fn, 0, h.common + PCI_CC(queue_notif_config_data), 2, 9),
		-EPERM);
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(num_queues), 2), 2);
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(device_feature), 4), (uint32_t)offered);
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(queue_notify_off), 2), 0);
	/* D-PCI-16: an unavailable queue reads 0 and takes no writes */
	for (uint32_t sel = 2; sel < 0x10000; sel = sel * 3 + 1) {
		pci_harness_cc_write(&h, PCI_CC(queue_select), 2, sel);
		assert_int_equal(pci_harness_cc_read(&h, PCI_CC(queue_size), 2), 0);
		assert_int_equal(pci_harness_cc_read(&h, PCI_CC(queue_enable), 2), 0);
		assert_int_equal(
			vireo_pci_bar_write(h.fn, 0, h.common + PCI_CC(queue_enable), 2, 1),
			-EINVAL);
		assert_int_equal(
			vireo_pci_bar_write(h.fn, 0, h.common + PCI_CC(queue_desc), 4, 0x1000),
			-EINVAL);
	}
	/* D-PCI-42: a vector beyond the table reads back NO_VECTOR */
	pci_harness_cc_write(&h, PCI_CC(config_msix_vector), 2, h.dev->num_queues + 1);
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(config_msix_vector), 2),
			 VIREO_PCI_MSI_NO_VECTOR);
	pci_harness_cc_write(&h, PCI_CC(queue_select), 2, 1);
	pci_harness_cc_write(&h, PCI_CC(queue_msix_vector), 2, 0x7ff);
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(queue_msix_vector), 2),
			 VIREO_PCI_MSI_NO_VECTOR);
	pci_harness_cc_write(&h, PCI_CC(queue_msix_vector), 2, h.dev->num_queues);
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(queue_msix_vector), 2), h.dev->num_queues);
	/* features: outside negotiation the write is dropped */
	pci_harness_cc_write(&h, PCI_CC(driver_feature_select), 4, 0);
	pci_harness_cc_write(&h, PCI_CC(driver_feature), 4, 0xffffffffu);
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(driver_feature), 4), 0);
	/* status: skipping steps and clearing bits are refused */
	pci_harness_cc_write(&h, PCI_CC(device_status), 1, VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(pci_harness_status(&h), 0);
	pci_harness_cc_write(&h, PCI_CC(device_status), 1, VIRTIO_STATUS_ACKNOWLEDGE);
	pci_harness_cc_write(&h, PCI_CC(device_status), 1, VIRTIO_STATUS_DRIVER);
	assert_int_equal(pci_harness_status(&h), VIRTIO_STATUS_ACKNOWLEDGE);
	pci_harness_destroy(&h);
}

/* FEATURES_OK with a feature never offered: refused, the status reads without it */
static void test_pci_hostile_features_ok(void **state)
{
	const uint8_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	struct pci_harness h;

	(void)state;
	pci_harness_init_rng(&h, NULL);
	pci_harness_bus_setup(&h);
	pci_harness_cc_write(&h, PCI_CC(device_status), 1, VIRTIO_STATUS_ACKNOWLEDGE);
	pci_harness_cc_write(&h, PCI_CC(device_status), 1, s);
	pci_harness_cc_write(&h, PCI_CC(driver_feature_select), 4, 0);
	pci_harness_cc_write(&h, PCI_CC(driver_feature), 4, 1u << 20); /* not offered */
	pci_harness_cc_write(&h, PCI_CC(driver_feature_select), 4, 1);
	pci_harness_cc_write(&h, PCI_CC(driver_feature), 4, 1); /* VERSION_1 */
	/* D-PCI-09: only valid bits read back */
	pci_harness_cc_write(&h, PCI_CC(driver_feature_select), 4, 0);
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(driver_feature), 4), 0);
	pci_harness_cc_write(&h, PCI_CC(device_status), 1, s | VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(pci_harness_status(&h), s);
	/* queue set-up before FEATURES_OK is ignored */
	pci_harness_cc_write(&h, PCI_CC(queue_select), 2, 0);
	assert_int_equal(vireo_pci_bar_write(h.fn, 0, h.common + PCI_CC(queue_size), 2, 4),
			 -EINVAL);
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(queue_size), 2), PCI_HARNESS_QNUM);
	pci_harness_cc_write(&h, PCI_CC(queue_desc), 4, 0x1000);
	pci_harness_cc_write(&h, PCI_CC(queue_enable), 2, 1);
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(queue_enable), 2), 0);
	assert_false(h.dev->queues[0].enabled);
	/* R-BF-15: after FEATURES_OK a driver_feature write is dropped; the set reads as it was. */
	pci_harness_negotiate(&h, RING_F);
	pci_harness_cc_write(&h, PCI_CC(driver_feature_select), 4, 1);
	pci_harness_cc_write(&h, PCI_CC(driver_feature), 4, 0);
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(driver_feature), 4), 1);
	assert_true(h.dev->acked_features & VIRTIO_BIT(VIRTIO_F_VERSION_1));
	pci_harness_destroy(&h);
}

/* Queue sizes the ring format does not allow (§2.7, §2.8; the driver must not write them) */
static void test_pci_hostile_queue_size(void **state)
{
	struct pci_harness h;

	(void)state;
	pci_harness_init_rng(&h, NULL);
	pci_harness_bus_setup(&h);
	pci_harness_negotiate(&h, RING_F);
	pci_harness_cc_write(&h, PCI_CC(queue_select), 2, 0);
	assert_int_equal(vireo_pci_bar_write(h.fn, 0, h.common + PCI_CC(queue_size), 2, 0),
			 -EINVAL);
	assert_int_equal(vireo_pci_bar_write(h.fn, 0, h.common + PCI_CC(queue_size), 2, 12),
			 -EINVAL);
	assert_int_equal(vireo_pci_bar_write(h.fn, 0, h.common + PCI_CC(queue_size), 2,
					     PCI_HARNESS_QNUM * 2),
			 -EINVAL);
	/* D-PCI-17: still the maximum, a power of 2 */
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(queue_size), 2), PCI_HARNESS_QNUM);
	pci_harness_cc_write(&h, PCI_CC(queue_size), 2, 4);
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(queue_size), 2), 4);
	/* packed: any size up to the maximum */
	pci_harness_negotiate(&h, PACKED_F);
	pci_harness_cc_write(&h, PCI_CC(queue_size), 2, 12);
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(queue_size), 2), 12);
	assert_int_equal(vireo_pci_bar_write(h.fn, 0, h.common + PCI_CC(queue_size), 2, 0),
			 -EINVAL);
	pci_harness_destroy(&h);
}

/* Enable a queue at @desc/@drv/@dev; Return: NEEDS_RESET was set. */
static bool enable_with(struct pci_harness *h, uint64_t features, uint64_t desc, uint64_t drv,
			uint64_t dev)
{
	pci_harness_negotiate(h, features);
	pci_harness_cc_write(h, PCI_CC(queue_select), 2, 0);
	pci_harness_cc_write(h, PCI_CC(queue_desc), 8, desc);
	pci_harness_cc_write(h, PCI_CC(queue_driver), 8, drv);
	pci_harness_cc_write(h, PCI_CC(queue_device), 8, dev);
	pci_harness_cc_write(h, PCI_CC(queue_enable), 2, 1);
	return pci_harness_status(h) & VIRTIO_STATUS_DEVICE_NEEDS_RESET;
}

/* Rings outside guest memory or misaligned (§2.7/§2.8 alignment): NEEDS_RESET */
static void test_pci_hostile_queue_enable(void **state)
{
	const uint64_t g = PCI_HARNESS_GPA_BASE;
	const uint64_t end = g + PCI_HARNESS_MEM_SIZE;
	struct pci_harness h;

	(void)state;
	pci_harness_init_rng(&h, NULL);
	pci_harness_bus_setup(&h);
	pci_harness_msix_setup(&h, 2);
	assert_true(enable_with(&h, RING_F, 0x1000, g + 0x1000, g + 0x2000));
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(queue_enable), 2), 0);
	assert_true(enable_with(&h, RING_F, g, g + 0x1000, end - 8));
	assert_true(enable_with(&h, RING_F, g + 8, g + 0x1000, g + 0x2000));
	assert_true(enable_with(&h, RING_F, g, g + 0x1001, g + 0x2000));
	assert_true(enable_with(&h, RING_F, g, g + 0x1000, g + 0x2002));
	assert_true(enable_with(&h, RING_F, UINT64_MAX - 0xff, g + 0x1000, g + 0x2000));
	assert_true(enable_with(&h, PACKED_F, g + 4, g + 0x1000, g + 0x2000));
	assert_true(enable_with(&h, PACKED_F, g, g + 0x1002, g + 0x2000));
	/* after NEEDS_RESET the driver may only reset: further queue writes do nothing */
	pci_harness_cc_write(&h, PCI_CC(queue_desc), 8, g);
	pci_harness_cc_write(&h, PCI_CC(queue_driver), 8, g + 0x1000);
	pci_harness_cc_write(&h, PCI_CC(queue_enable), 2, 1);
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(queue_enable), 2), 0);
	assert_false(h.dev->queues[0].enabled);
	pci_harness_cc_write(&h, PCI_CC(device_status), 1,
			     pci_harness_status(&h) | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(pci_harness_status(&h) & VIRTIO_STATUS_DRIVER_OK, 0);
	/* §4.1.4.3: a driver never writes 0 to queue_enable; ignored */
	assert_int_equal(vireo_pci_bar_write(h.fn, 0, h.common + PCI_CC(queue_enable), 2, 0),
			 -EINVAL);
	/* a correct ring after a reset works */
	assert_false(enable_with(&h, RING_F, g, g + 0x1000, g + 0x2000));
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(queue_enable), 2), 1);
	/* writes to an enabled queue's set-up are ignored */
	assert_int_equal(vireo_pci_bar_write(h.fn, 0, h.common + PCI_CC(queue_size), 2, 4), -EBUSY);
	assert_int_equal(vireo_pci_bar_write(h.fn, 0, h.common + PCI_CC(queue_desc), 4, 0), -EBUSY);
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(queue_desc), 8), g);
	/* queue_reset without VIRTIO_F_RING_RESET negotiated: ignored */
	pci_harness_cc_write(&h, PCI_CC(queue_reset), 2, 1);
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(queue_enable), 2), 1);
	pci_harness_driver_ok(&h);
	pci_harness_destroy(&h);
}

/* One 64-byte rng request on queue 0, kicked by a notify write, comes back filled. */
static void rng_served(struct pci_harness *h)
{
	uint64_t gpa = pci_harness_galloc(h, 64);
	uint8_t *buf = pci_harness_g2h(h, gpa);
	struct virtio_sg sg = {.addr = gpa, .len = 64};
	uint32_t len = 0;

	assert_int_equal(virtqueue_add_inbuf(&h->q[0].vq, &sg, 1, buf), 0);
	virtqueue_kick(&h->q[0].vq);
	assert_ptr_equal(pci_harness_wait_used(h, 0, &len), buf);
	assert_int_equal(len, 64);
}

/* §4.1.4.3.2: only 1 written to queue_reset acts; 0 means nothing, other values are refused. */
static void test_pci_hostile_queue_reset_values(void **state)
{
	static const uint64_t values[] = {2, 0xffff, 0};
	struct log_capture log = LOG_CAPTURE_INIT;
	struct pci_harness h;
	int rc[3];

	(void)state;
	pci_harness_init_rng(&h, NULL);
	pci_harness_up(&h, RING_F | VIRTIO_BIT(VIRTIO_F_RING_RESET), 1);
	pci_harness_cc_write(&h, PCI_CC(queue_select), 2, 0);
	log_capture_begin(&log);
	for (unsigned int i = 0; i < 3; i++)
		rc[i] = vireo_pci_bar_write(h.fn, 0, h.common + PCI_CC(queue_reset), 2, values[i]);
	log_capture_end(&log);
	assert_int_equal(rc[0], -EINVAL);
	assert_int_equal(rc[1], -EINVAL);
	assert_int_equal(rc[2], 0);
	assert_int_equal(log_capture_count(&log, "written (only 1 is)"), 2);
	log_capture_remove(&log);
	/* The queue was left as it was: enabled, and served. */
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(queue_reset), 2), 0);
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(queue_enable), 2), 1);
	assert_true(h.dev->queues[0].enabled);
	rng_served(&h);
	/* 1 resets it (D-PCI-13): off, reads 0 again once done. */
	pci_harness_cc_write(&h, PCI_CC(queue_reset), 2, 1);
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(queue_reset), 2), 0);
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(queue_enable), 2), 0);
	assert_false(h.dev->queues[0].enabled);
	pci_harness_destroy(&h);
}

/* A driver that keeps writing what is refused: 64 lines, one saying so, then silence. */
static void test_pci_hostile_refusal_log_bounded(void **state)
{
	struct log_capture log = LOG_CAPTURE_INIT;
	struct pci_harness h;
	int refused = 0;

	(void)state;
	pci_harness_init_rng(&h, NULL);
	pci_harness_up(&h, RING_F, 1);
	pci_harness_cc_write(&h, PCI_CC(queue_select), 2, 0);
	log_capture_begin(&log);
	for (int i = 0; i < 1000; i++)
		refused +=
			vireo_pci_bar_write(h.fn, 0, h.common + PCI_CC(queue_desc), 4, 0) == -EBUSY;
	log_capture_end(&log);
	assert_int_equal(refused, 1000);
	assert_int_equal(log_capture_count(&log, "written while enabled; ignored"), 64);
	assert_int_equal(log_capture_count(&log, "64 refusals logged; further ones are not"), 1);
	assert_int_equal(log_capture_count(&log, "vireo: "), 65);
	log_capture_remove(&log);
	/* The ring was not touched: still enabled, and served. */
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(queue_enable), 2), 1);
	assert_true(h.dev->queues[0].enabled);
	rng_served(&h);
	pci_harness_destroy(&h);
}

/* Notify writes of the wrong width, slot offset or value are dropped (§4.1.5.2) */
static void test_pci_hostile_notify(void **state)
{
	struct pci_harness h;

	(void)state;
	pci_harness_init_blk(&h, NULL);
	pci_harness_up(&h, RING_F, 2);
	assert_int_equal(vireo_pci_bar_write(h.fn, 0, h.notify, 4, 0), -EINVAL);
	assert_int_equal(vireo_pci_bar_write(h.fn, 0, h.notify, 1, 0), -EINVAL);
	assert_int_equal(vireo_pci_bar_write(h.fn, 0, h.notify + 2, 2, 0), -EINVAL);
	assert_int_equal(vireo_pci_bar_write(h.fn, 0, h.notify, 2, 1), -EINVAL);
	assert_int_equal(vireo_pci_bar_write(h.fn, 0, h.notify + 4, 2, 0), -EINVAL);
	assert_int_equal(vireo_pci_bar_write(h.fn, 0, h.notify + 8, 2, 2), -EINVAL);
	assert_int_equal(vireo_pci_bar_write(h.fn, 0, h.notify, 2, 0), 0);
	assert_int_equal(vireo_pci_bar_write(h.fn, 0, h.notify + 4, 2, 1), 0);
	pci_harness_run(&h, 20);
	assert_false(pci_harness_status(&h) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	pci_harness_destroy(&h);
}

/* Random accesses everywhere after a normal bring-up: refusals only, never a crash */
static void test_pci_hostile_storm(void **state)
{
	static const unsigned int sizes[] = {0, 1, 2, 3, 4, 8, 16};
	struct xorshift x = {.s = 0x9e3779b97f4a7c15ull};
	struct pci_harness h;

	(void)state;
	pci_harness_init_blk(&h, NULL);
	pci_harness_up(&h, PACKED_F | VIRTIO_BIT(VIRTIO_F_RING_RESET), 2);
	for (int i = 0; i < 20000; i++) {
		unsigned int size = sizes[xorshift_below(&x, 7)];
		uint64_t v = xorshift_next(&x), r;
		uint32_t r32;
		unsigned int bar = xorshift_below(&x, 4) == 0 ? 2 : 0;
		uint64_t off = xorshift_below(&x, 0x4100);

		switch (xorshift_below(&x, 4)) {
		case 0:
			(void)vireo_pci_config_read(h.fn, (uint32_t)off & 0x1ff, size, &r32);
			break;
		case 1:
			/* keep the BARs where they are: a storm on them is a bus's business */
			if ((off & 0xff) >= PCI_BASE_ADDRESS_0 && (off & 0xff) < PCI_CARDBUS_CIS)
				break;
			(void)vireo_pci_config_write(h.fn, (uint32_t)off & 0x1ff, size,
						     (uint32_t)v);
			break;
		case 2:
			(void)vireo_pci_bar_read(h.fn, bar, off, size, &r);
			break;
		default:
			(void)vireo_pci_bar_write(h.fn, bar, off, size, v);
			break;
		}
		if (i % 1000 == 0)
			(void)vireo_event_loop_run_once(&h.loop, 0);
	}
	pci_harness_destroy(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pci_hostile_config_space),
		cmocka_unit_test(test_pci_hostile_bar_access),
		cmocka_unit_test(test_pci_hostile_registers),
		cmocka_unit_test(test_pci_hostile_features_ok),
		cmocka_unit_test(test_pci_hostile_queue_size),
		cmocka_unit_test(test_pci_hostile_queue_enable),
		cmocka_unit_test(test_pci_hostile_queue_reset_values),
		cmocka_unit_test(test_pci_hostile_refusal_log_bounded),
		cmocka_unit_test(test_pci_hostile_notify),
		cmocka_unit_test(test_pci_hostile_storm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
