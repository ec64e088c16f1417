/* SPDX-License-Identifier: MIT */
/*
 * Shared harness for the virtio-pci function tests (test_virtio_pci_function,
 * test_virtio_pci_hostile): a blk or rng model in-process, with real guest memory and the
 * core, wrapped in a vireo_pci_function; the test plays the guest driver by configuration
 * space and BAR accesses only (capability walk, BAR sizing, MSI-X table, common config,
 * notify writes) and builds its rings with the driver-side ring code. Interrupts come back
 * through the host ops and are counted per MSI-X vector (the message data is the vector)
 * and as INTx edges. Everything runs on the test's thread, which also runs the device's
 * event loop (pci_harness_wait_used), as the function's threading contract asks.
 */
#ifndef VIREO_TESTS_PCI_HARNESS_H
#define VIREO_TESTS_PCI_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vireo/blk_device.h>
#include <vireo/event_loop.h>
#include <vireo/guest_mem.h>
#include <vireo/rng_device.h>
#include <vireo/virtio_pci_function.h>
#include <vireo/virtqueue.h>

#define PCI_HARNESS_GPA_BASE 0x40000000ull
#define PCI_HARNESS_MEM_SIZE (4u << 20)
#define PCI_HARNESS_QNUM 16u
#define PCI_HARNESS_IMG_SIZE (64u << 10)
#define PCI_HARNESS_BAR0_ADDR 0xe0000000ull
#define PCI_HARNESS_BAR2_ADDR 0xe1000000ull
#define PCI_HARNESS_MSI_ADDR 0xfee00000ull
#define PCI_HARNESS_VECTORS 8u

struct pci_harness;

struct pci_harness_queue {
	struct pci_harness *h;
	unsigned int index;
	struct virtqueue vq;
	struct vring_desc_extra extra[PCI_HARNESS_QNUM];
	uint64_t desc, driver, device; /* where its ring parts are */
};

struct pci_harness {
	uint8_t *host;
	struct guest_mem mem;
	struct event_loop loop;
	struct rng_device *rng;
	struct blk_device *blk;
	char path[64];
	int img_fd;
	struct vdev *dev;
	struct vireo_pci_function *fn;
	/* found by the capability walk */
	uint8_t cap_msix, cap_pci_cfg;
	uint32_t common, notify, isr, device, notify_mult, device_len;
	/* interrupts seen */
	unsigned int msix[PCI_HARNESS_VECTORS];
	unsigned int msix_bad; /* a message to an address/data the harness never programmed */
	bool intx;
	unsigned int intx_edges;
	uint64_t features;
	struct pci_harness_queue q[2];
	uint64_t heap;
};

/* The model (with guest memory, loop and the PCI function, nothing configured yet). */
void pci_harness_init_rng(struct pci_harness *h, const struct vireo_pci_function_options *o);
void pci_harness_init_blk(struct pci_harness *h, const struct vireo_pci_function_options *o);
void pci_harness_destroy(struct pci_harness *h);

void *pci_harness_g2h(struct pci_harness *h, uint64_t gpa);
uint64_t pci_harness_galloc(struct pci_harness *h, size_t len);

/* Accesses that must succeed; the raw API is for those that must not. */
uint32_t pci_harness_cfg_read(struct pci_harness *h, uint32_t off, unsigned int size);
void pci_harness_cfg_write(struct pci_harness *h, uint32_t off, unsigned int size, uint32_t v);
uint64_t pci_harness_bar0_read(struct pci_harness *h, uint32_t off, unsigned int size);
void pci_harness_bar0_write(struct pci_harness *h, uint32_t off, unsigned int size, uint64_t v);
/* A common-config field by its struct vireo_pci_common_cfg offset. */
uint64_t pci_harness_cc_read(struct pci_harness *h, uint32_t field, unsigned int size);
void pci_harness_cc_write(struct pci_harness *h, uint32_t field, unsigned int size, uint64_t v);
#define PCI_CC(field) offsetof(struct vireo_pci_common_cfg, field)

/* Memory decoding + bus mastering, BAR placement, capability walk (asserts the layout). */
void pci_harness_bus_setup(struct pci_harness *h);
/* Program @n table entries (data = vector, unmasked) and enable MSI-X. */
void pci_harness_msix_setup(struct pci_harness *h, unsigned int n);
/* Reset, ACKNOWLEDGE, DRIVER, negotiate @want & offered, FEATURES_OK (asserted). */
void pci_harness_negotiate(struct pci_harness *h, uint64_t want);
/* Set queue @i's size, vector (@vector), ring addresses and enable it. */
void pci_harness_queue_setup(struct pci_harness *h, unsigned int i, uint16_t vector);
/* The same with the ring at @base (0x3000 bytes: desc, driver, device pages) and size @num. */
void pci_harness_queue_setup_at(struct pci_harness *h, unsigned int i, uint16_t vector,
				uint64_t base, uint16_t num);
void pci_harness_driver_ok(struct pci_harness *h);
/* All of the above for @nq queues, queue i on vector i + 1, config on vector 0. */
void pci_harness_up(struct pci_harness *h, uint64_t want, unsigned int nq);

uint8_t pci_harness_status(struct pci_harness *h);
/* Run the device loop until queue @i returns a buffer; NULL after a bounded wait. */
void *pci_harness_wait_used(struct pci_harness *h, unsigned int i, uint32_t *len);
/* Run the device loop for about @ms milliseconds. */
void pci_harness_run(struct pci_harness *h, int ms);

#endif /* VIREO_TESTS_PCI_HARNESS_H */
