/* SPDX-License-Identifier: MIT */
/*
 * A fake virtio-pci function for driver tests: a configuration space with a capability list
 * the test lays out, and a BAR 0 whose common configuration answers the way a device does,
 * with knobs for hostile behaviour. It records every common-config write and counts the
 * driver's rule violations (writes to read-only fields, queue_enable 0, queue fields changed
 * after enable, bad queue sizes, device-config accesses of the wrong width) in @violations.
 * Not thread-safe: one test thread.
 */
#ifndef VIREO_TESTS_FAKE_PCI_FN_H
#define VIREO_TESTS_FAKE_PCI_FN_H

#include <stdbool.h>
#include <stdint.h>

#include <vireo/virtio_pci_driver.h>

/* BAR 0 layout of the default function. */
#define FPCI_COMMON_OFF 0x0000u
#define FPCI_ISR_OFF 0x1000u
#define FPCI_DEVICE_OFF 0x2000u
#define FPCI_NOTIFY_OFF 0x3000u
#define FPCI_BAR0_SIZE 0x4000u
#define FPCI_DEVICE_LEN 0x40u
#define FPCI_NOTIFY_MULT 4u
#define FPCI_QUEUES 4u
#define FPCI_MAX_WRITES 512u
#define FPCI_MAX_VECTORS 8u

/* Capability positions in configuration space (the default list is in this order). */
#define FPCI_CAP_COMMON 0x40u
#define FPCI_CAP_NOTIFY 0x50u
#define FPCI_CAP_ISR 0x68u
#define FPCI_CAP_DEVICE 0x78u
#define FPCI_CAP_MSIX 0x88u

struct fpci_write {
	uint64_t offset; /* within BAR 0 */
	unsigned int size;
	uint64_t value;
};

struct fpci_queue {
	uint16_t max, size, msix, enable, notify_off, notif_data, reset;
	uint64_t desc, driver, device;
};

struct fake_pci_fn {
	uint8_t cfg[256];
	uint64_t bar_size[6];
	uint8_t device_cfg[FPCI_DEVICE_LEN];
	/* device state */
	uint64_t device_features, driver_features;
	uint32_t dfeat_sel, gfeat_sel;
	uint8_t status, generation, isr;
	uint16_t queue_select, num_queues, config_msix;
	struct fpci_queue q[FPCI_QUEUES];
	int vector_fd[FPCI_MAX_VECTORS];
	/* hostile knobs */
	bool features_flip; /* device_feature differs on every other read */
	unsigned int feature_reads;
	bool generation_churn;	 /* config_generation changes on every read */
	int status_zero_after;	 /* reads of device_status before a reset shows 0 (-1: never) */
	int status_reads;	 /* since the last write of 0 */
	int queue_reset_reads;	 /* reads of queue_reset before it shows 0 (-1: never) */
	unsigned int max_vector; /* vectors >= this read back NO_VECTOR */
	bool fail_accesses;	 /* every access fails with -EIO */
	/* records */
	struct fpci_write writes[FPCI_MAX_WRITES];
	unsigned int nwrites;
	uint8_t status_writes[16];
	unsigned int nstatus_writes;
	struct fpci_write notifies[16];
	unsigned int nnotifies;
	unsigned int violations;
	unsigned int config_writes; /* configuration-space writes (R-PCI-07) */
	uint64_t mapped_iova, mapped_len;
};

/* The default: a virtio-@virtio_id function, VERSION_1 offered, queues of 256, 8 vectors. */
void fake_pci_fn_init(struct fake_pci_fn *f, uint32_t virtio_id);

/* Set vendor capability @pos: type, bar, offset, length; cap_len @cap_len; next @next. */
void fake_pci_fn_set_cap(struct fake_pci_fn *f, uint32_t pos, uint8_t cap_len, uint8_t type,
			 uint8_t bar, uint32_t offset, uint32_t length, uint8_t next);

/* Whether the common-config write log has queue_enable for queue @q after its other fields. */
bool fake_pci_fn_enable_last(const struct fake_pci_fn *f, unsigned int q);

extern const struct vireo_pci_access_ops fake_pci_fn_ops;

#endif /* VIREO_TESTS_FAKE_PCI_FN_H */
