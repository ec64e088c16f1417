// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the virtio-pci function model (transport/virtio_pci_*.c): the input
 * is a hostile guest driver making configuration-space and BAR accesses of any offset,
 * size and value against an rng model with the core, 64 KiB of guest memory (one exact
 * allocation, so ASan sees any access past it) and the device's event loop run between
 * accesses. Oracles, after every access: a read gives at most its size's bits and all
 * ones when refused; the identity, the capability pointer and num_queues never change;
 * vector fields read NO_VECTOR or a vector the table has; an unavailable queue's size
 * reads 0 and a split queue's a power of 2 (D-PCI-16/17/42); an ISR read right after
 * another reads 0; MSI-X messages go out only while MSI-X is enabled, unmasked and bus
 * mastering is on, carrying the programmed entry; INTx only changes level, and only
 * while MSI-X is off. Bus Master Enable (PCI 3.0 §6.2.2; QEMU's behaviour where virtio is
 * silent): while it is clear the status never shows DRIVER_OK and the model answers no
 * request; a device it stopped sends no message and raises no INTx until a reset. The
 * model also offers feature bits 64-127 (FUZZ_OFFER_HI):
 * device_feature shows the 128-bit offer at any select, 0 from 4 up (D-PCI-08),
 * driver_feature reads back within it (D-PCI-09), and nothing unoffered is ever acked
 * (D-BF-04).
 *
 * Input layout:
 *   0      flags: bit0 bring the function up first (decoding, BARs, ACKNOWLEDGE, DRIVER,
 *          VERSION_1 and bit1 ? RING_PACKED : nothing, FEATURES_OK), bit2 MSI-X on
 *   then   12-byte operations until the input ends:
 *          0: kind (% 6: config read, config write, BAR 0 read, BAR 0 write, BAR 2
 *             access (bit 7: write), run the event loop once)
 *          1: size selector (% 8: 0, 1, 2, 3, 4, 8, 16, 4)
 *          2..3: offset (config: % 512; BAR 0: % 0x4100; BAR 2: % 0x2100)
 *          4..11: value
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/event_loop.h>
#include <vireo/guest_mem.h>
#include <vireo/rng_device.h>
#include <vireo/virtio_pci_function.h>

#include "tests/fuzz/fuzz_check.h"

#define FUZZ_GPA 0x10000u
#define FUZZ_MEM (64u << 10)
#define FUZZ_OP 12u
#define FUZZ_MAX_OPS 2000u
#define FUZZ_MSIX_CAP 0x40u /* checked against the list at set-up */
/* Feature bits 65, 90 and 127 (the rng model offers none of its own up there). */
#define FUZZ_OFFER_HI (VIRTIO_BIT(1) | VIRTIO_BIT(26) | VIRTIO_BIT(63))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_ctx {
	struct vireo_pci_function *fn;
	struct vdev *dev;
	struct rng_device *rng;
	uint64_t requests; /* the model's answered requests after the last operation */
	bool intx;
	bool in_host_op;
};

static uint64_t fuzz_ones(unsigned int size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static uint32_t fuzz_cfg(struct fuzz_ctx *c, uint32_t off, unsigned int size)
{
	uint32_t v = 0;

	FUZZ_CHECK(vireo_pci_config_read(c->fn, off, size, &v) == 0);
	return v;
}

/* The message must be the one the driver programmed, and allowed to go out now. */
static int fuzz_msix_send(void *opaque, uint64_t address, uint32_t data)
{
	struct fuzz_ctx *c = opaque;
	uint16_t ctrl = (uint16_t)fuzz_cfg(c, FUZZ_MSIX_CAP + PCI_MSIX_FLAGS, 2);
	uint64_t lo = 0, hi = 0, d = 0, found = 0;

	FUZZ_CHECK(ctrl & PCI_MSIX_FLAGS_ENABLE);
	FUZZ_CHECK(!(ctrl & PCI_MSIX_FLAGS_MASKALL));
	FUZZ_CHECK(fuzz_cfg(c, PCI_COMMAND, 2) & PCI_COMMAND_MASTER);
	FUZZ_CHECK(!c->dev->stopped);
	for (unsigned int v = 0; v <= (ctrl & PCI_MSIX_FLAGS_QSIZE); v++) {
		uint64_t ctl = 0;

		/* the table is read around the memory-decoding check: use the window-free path */
		if (vireo_pci_bar_read(c->fn, 2, v * 16u, 4, &lo) < 0)
			return 0; /* decoding off: cannot look, nothing to check */
		(void)vireo_pci_bar_read(c->fn, 2, v * 16u + 4, 4, &hi);
		(void)vireo_pci_bar_read(c->fn, 2, v * 16u + 8, 4, &d);
		(void)vireo_pci_bar_read(c->fn, 2, v * 16u + 12, 4, &ctl);
		if (((hi << 32) | lo) == address && d == data && !(ctl & 1))
			found = 1;
	}
	FUZZ_CHECK(found);
	return 0;
}

static void fuzz_intx_set(void *opaque, bool asserted)
{
	struct fuzz_ctx *c = opaque;

	FUZZ_CHECK(asserted != c->intx);
	FUZZ_CHECK(!asserted || !c->dev->stopped);
	if (asserted)
		FUZZ_CHECK(
			!(fuzz_cfg(c, FUZZ_MSIX_CAP + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE));
	c->intx = asserted;
}

static const struct vireo_pci_host_ops fuzz_host = {
	.msix_send = fuzz_msix_send,
	.intx_set = fuzz_intx_set,
};

static void fuzz_cc_write(struct fuzz_ctx *c, uint32_t field, unsigned int size, uint64_t v)
{
	FUZZ_CHECK(vireo_pci_bar_write(c->fn, 0, field, size, v) == 0);
}

static void fuzz_bring_up(struct fuzz_ctx *c, uint8_t flags)
{
	const uint8_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1);

	if (flags & 2)
		f |= VIRTIO_BIT(VIRTIO_F_RING_PACKED);
	FUZZ_CHECK(vireo_pci_config_write(c->fn, PCI_BASE_ADDRESS_0, 4, 0xe0000000u) == 0);
	FUZZ_CHECK(vireo_pci_config_write(c->fn, PCI_BASE_ADDRESS_2, 4, 0xe1000000u) == 0);
	FUZZ_CHECK(vireo_pci_config_write(c->fn, PCI_COMMAND, 2,
					  PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER) == 0);
	fuzz_cc_write(c, offsetof(struct vireo_pci_common_cfg, device_status), 1,
		      VIRTIO_STATUS_ACKNOWLEDGE);
	fuzz_cc_write(c, offsetof(struct vireo_pci_common_cfg, device_status), 1, s);
	fuzz_cc_write(c, offsetof(struct vireo_pci_common_cfg, driver_feature_select), 4, 1);
	fuzz_cc_write(c, offsetof(struct vireo_pci_common_cfg, driver_feature), 4, f >> 32);
	fuzz_cc_write(c, offsetof(struct vireo_pci_common_cfg, device_status), 1,
		      s | VIRTIO_STATUS_FEATURES_OK);
	if (flags & 4)
		FUZZ_CHECK(vireo_pci_config_write(c->fn, FUZZ_MSIX_CAP + PCI_MSIX_FLAGS, 2,
						  PCI_MSIX_FLAGS_ENABLE) == 0);
}

static uint64_t fuzz_cc_read(struct fuzz_ctx *c, uint32_t field, unsigned int size)
{
	uint64_t v = 0;

	FUZZ_CHECK(vireo_pci_bar_read(c->fn, 0, field, size, &v) == 0);
	return v;
}

/* D-PCI-08/09 and D-BF-04 over all 128 bits, at whatever selects the input left. */
static void fuzz_check_features(struct fuzz_ctx *c)
{
	const uint64_t lo = c->dev->offered_features, hi = c->dev->offered_features_hi;
	uint32_t sel, shown;

	sel = (uint32_t)fuzz_cc_read(
		c, offsetof(struct vireo_pci_common_cfg, device_feature_select), 4);
	shown = (uint32_t)fuzz_cc_read(c, offsetof(struct vireo_pci_common_cfg, device_feature), 4);
	FUZZ_CHECK(shown == vireo_feature_dword(lo, hi, sel));
	sel = (uint32_t)fuzz_cc_read(
		c, offsetof(struct vireo_pci_common_cfg, driver_feature_select), 4);
	shown = (uint32_t)fuzz_cc_read(c, offsetof(struct vireo_pci_common_cfg, driver_feature), 4);
	FUZZ_CHECK((shown & ~vireo_feature_dword(lo, hi, sel)) == 0);
	FUZZ_CHECK((c->dev->acked_features & ~lo) == 0);
	FUZZ_CHECK((c->dev->acked_features_hi & ~hi) == 0);
}

/* Registers whose values are rules, read through BAR 0 (when decoding is on). */
static void fuzz_check_registers(struct fuzz_ctx *c)
{
	uint64_t v = 0, sel = 0, size = 0;
	unsigned int vectors = (fuzz_cfg(c, FUZZ_MSIX_CAP + PCI_MSIX_FLAGS, 2) & 0x7ff) + 1;

	FUZZ_CHECK(fuzz_cfg(c, PCI_VENDOR_ID, 4) == (0x1044u << 16 | 0x1af4u));
	FUZZ_CHECK(fuzz_cfg(c, PCI_CAPABILITY_LIST, 1) == FUZZ_MSIX_CAP);
	FUZZ_CHECK(fuzz_cfg(c, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	if (vireo_pci_bar_read(c->fn, 0, offsetof(struct vireo_pci_common_cfg, num_queues), 2, &v) <
	    0)
		return;
	FUZZ_CHECK(v == c->dev->num_queues);
	fuzz_check_features(c);
	(void)vireo_pci_bar_read(c->fn, 0,
				 offsetof(struct vireo_pci_common_cfg, config_msix_vector), 2, &v);
	FUZZ_CHECK(v == 0xffff || v < vectors);
	(void)vireo_pci_bar_read(c->fn, 0, offsetof(struct vireo_pci_common_cfg, queue_msix_vector),
				 2, &v);
	FUZZ_CHECK(v == 0xffff || v < vectors || v == 0);
	(void)vireo_pci_bar_read(c->fn, 0, offsetof(struct vireo_pci_common_cfg, queue_select), 2,
				 &sel);
	(void)vireo_pci_bar_read(c->fn, 0, offsetof(struct vireo_pci_common_cfg, queue_size), 2,
				 &size);
	if (sel >= c->dev->num_queues)
		FUZZ_CHECK(size == 0);
	if (!(c->dev->acked_features & VIRTIO_BIT(VIRTIO_F_RING_PACKED)))
		FUZZ_CHECK((size & (size - 1)) == 0);
	/* ISR read-to-clear, nothing runs in between */
	if (vireo_pci_bar_read(c->fn, 0, 0x1000, 1, &v) == 0) {
		FUZZ_CHECK(v <= 3);
		FUZZ_CHECK(vireo_pci_bar_read(c->fn, 0, 0x1000, 1, &v) == 0 && v == 0);
	}
}

/* Bus mastering off: no DRIVER_OK, and not one request answered since the last operation. */
static void fuzz_check_bus_master(struct fuzz_ctx *c)
{
	struct rng_device_queue_stats st;

	vireo_rng_device_queue_stats(c->rng, &st);
	if (!(fuzz_cfg(c, PCI_COMMAND, 2) & PCI_COMMAND_MASTER)) {
		FUZZ_CHECK(!(vireo_vdev_get_status(c->dev) & VIRTIO_STATUS_DRIVER_OK));
		FUZZ_CHECK(st.requests == c->requests);
	}
	c->requests = st.requests;
}

static void fuzz_op(struct fuzz_ctx *c, struct event_loop *loop, const uint8_t *op)
{
	static const unsigned int sizes[] = {0, 1, 2, 3, 4, 8, 16, 4};
	unsigned int size = sizes[op[1] % 8];
	uint32_t off = (uint32_t)(op[2] | op[3] << 8), r32 = 0;
	uint64_t v = 0, r = 0;
	int ret;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | op[4 + i];
	switch (op[0] % 6) {
	case 0:
		ret = vireo_pci_config_read(c->fn, off % 512, size, &r32);
		FUZZ_CHECK(ret == 0 || r32 == (uint32_t)fuzz_ones(size < 4 ? size : 4));
		FUZZ_CHECK(r32 <= (uint32_t)fuzz_ones(size < 4 ? size : 4));
		break;
	case 1:
		(void)vireo_pci_config_write(c->fn, off % 512, size, (uint32_t)v);
		break;
	case 2:
		ret = vireo_pci_bar_read(c->fn, 0, off % 0x4100, size, &r);
		FUZZ_CHECK(r <= fuzz_ones(size));
		FUZZ_CHECK(ret == 0 || r == fuzz_ones(size));
		break;
	case 3:
		(void)vireo_pci_bar_write(c->fn, 0, off % 0x4100, size, v);
		break;
	case 4:
		if (op[0] & 0x80)
			(void)vireo_pci_bar_write(c->fn, 2, off % 0x2100, size, v);
		else
			(void)vireo_pci_bar_read(c->fn, 2, off % 0x2100, size, &r);
		break;
	default:
		(void)vireo_event_loop_run_once(loop, 0);
		break;
	}
	fuzz_check_registers(c);
	fuzz_check_bus_master(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rng_device_options opt = {.queue_size = 16};
	struct fuzz_ctx c = {0};
	struct rng_device *rng;
	struct event_loop loop;
	struct guest_mem mem;
	uint8_t *host;

	if (size < 1)
		return 0;
	host = calloc(1, FUZZ_MEM);
	FUZZ_CHECK(host);
	vireo_guest_mem_init(&mem);
	FUZZ_CHECK(vireo_guest_mem_add_region(&mem, FUZZ_GPA, FUZZ_MEM, host) == 0);
	FUZZ_CHECK(vireo_event_loop_init(&loop) == 0);
	FUZZ_CHECK(vireo_rng_device_new(&rng, &opt) == 0);
	c.rng = rng;
	c.dev = vireo_rng_device_vdev(rng);
	FUZZ_CHECK(vireo_vdev_offer_features_hi(c.dev, FUZZ_OFFER_HI) == 0);
	vireo_vdev_set_memory(c.dev, &mem);
	vireo_vdev_set_event_loop(c.dev, &loop);
	FUZZ_CHECK(vireo_pci_function_new(c.dev, NULL, &fuzz_host, &c, &c.fn) == 0);
	FUZZ_CHECK((fuzz_cfg(&c, FUZZ_MSIX_CAP, 1)) == PCI_CAP_ID_MSIX);
	if (data[0] & 1)
		fuzz_bring_up(&c, data[0]);
	for (size_t at = 1, n = 0; at + FUZZ_OP <= size && n < FUZZ_MAX_OPS; at += FUZZ_OP, n++)
		fuzz_op(&c, &loop, data + at);
	(void)vireo_event_loop_run_once(&loop, 0);
	vireo_pci_function_free(c.fn);
	vireo_rng_device_free(rng);
	vireo_event_loop_destroy(&loop);
	free(host);
	return 0;
}
