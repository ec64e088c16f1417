/* SPDX-License-Identifier: MIT */
/*
 * Private to the virtio-pci function model: its state and the functions its three files
 * (virtio_pci_function.c: config space, capabilities, BAR dispatch; virtio_pci_common_cfg.c:
 * the common configuration registers and notifications; virtio_pci_msix.c: MSI-X, ISR,
 * INTx and the interrupt path) share.
 */
#ifndef VIREO_TRANSPORT_VIRTIO_PCI_INTERNAL_H
#define VIREO_TRANSPORT_VIRTIO_PCI_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <vireo/device.h>
#include <vireo/log.h>
#include <vireo/spec.h>
#include <vireo/virtio_pci_function.h>

/* BAR 0 layout: one 4 KiB page per structure (a VMM may map them apart). */
#define PCI_FN_COMMON_OFFSET 0x0000u
#define PCI_FN_COMMON_LEN ((uint32_t)sizeof(struct vireo_pci_common_cfg))
#define PCI_FN_ISR_OFFSET 0x1000u
#define PCI_FN_ISR_LEN 1u
#define PCI_FN_DEVICE_OFFSET 0x2000u
#define PCI_FN_DEVICE_MAX 0x1000u
#define PCI_FN_NOTIFY_OFFSET 0x3000u
/* D-PCI-20/22: 4 is a power of 2, "even" both ways, and a multiple of 4. */
#define PCI_FN_NOTIFY_MULTIPLIER 4u
#define PCI_FN_VIRTIO_BAR_SIZE 0x4000u

/* The driver's view of one queue's common-config registers (§4.1.4.3). */
struct pci_fn_queue {
	struct vireo_pci_function *fn;
	uint16_t index;
	uint16_t size;
	uint16_t msix_vector;
	bool enabled;
	uint64_t desc;
	uint64_t driver;
	uint64_t device;
	int notify_fd; /* kicks: written by BAR notify writes (or a VMM's ioeventfd) */
	int call_fd;   /* used-buffer signals of the core, watched by the function */
};

/* Transport features the function offers on top of the model's. */
#define PCI_FN_TRANSPORT_FEATURES \
	(VIRTIO_BIT(VIRTIO_F_RING_RESET) | VIRTIO_BIT(VIRTIO_F_NOTIFICATION_DATA))

struct vireo_pci_function {
	struct vdev *dev;
	uint64_t added_features; /* PCI_FN_TRANSPORT_FEATURES the model did not offer */
	struct vireo_pci_host_ops host;
	void *opaque;

	uint8_t config[VIREO_PCI_CONFIG_SPACE_SIZE];
	uint8_t wmask[VIREO_PCI_CONFIG_SPACE_SIZE]; /* driver-writable bits */
	uint8_t msix_cap;			    /* offsets of capabilities */
	uint8_t pci_cfg_cap;
	uint64_t bar_size[6];

	/* MSI-X (virtio_pci_msix.c) */
	unsigned int msix_vectors;
	struct vireo_msix_entry *msix_table;
	uint64_t *msix_pba;
	uint32_t msix_pba_offset;
	uint64_t msix_sent;    /* messages delivered, for logs */
	unsigned int warnings; /* refusals logged (pci_fn_warn) */
	uint8_t isr;
	bool intx_asserted;
	bool kick_refusal_logged; /* a kick came with bus mastering off (logged once) */
	int config_fd;

	/* Common configuration (virtio_pci_common_cfg.c) */
	uint32_t device_feature_select;
	uint32_t driver_feature_select;
	uint64_t driver_features;    /* as the driver wrote them */
	uint64_t driver_features_hi; /* bits 64-127 (select 2 and 3), as written */
	uint16_t config_msix_vector;
	uint16_t queue_select;
	uint8_t generation;	  /* config_generation as the driver reads it */
	uint32_t core_generation; /* the core's generation when last read */
	struct pci_fn_queue queues[VDEV_MAX_QUEUES];
};

/* Refusals logged per function before it goes quiet: a driver must not flood the log. */
#define PCI_FN_WARN_LIMIT 64u

/* virtio_pci_function.c */
bool pci_fn_warn_ok(struct vireo_pci_function *fn);
#define pci_fn_warn(fn, ...)                   \
	do {                                   \
		if (pci_fn_warn_ok(fn))        \
			log_warn(__VA_ARGS__); \
	} while (0)
uint16_t pci_fn_command(const struct vireo_pci_function *fn);
void pci_fn_update_interrupt_status(struct vireo_pci_function *fn);

/* virtio_pci_common_cfg.c */
void pci_fn_common_defaults(struct vireo_pci_function *fn);
int pci_fn_common_read(struct vireo_pci_function *fn, uint32_t offset, unsigned int size,
		       uint64_t *value);
int pci_fn_common_write(struct vireo_pci_function *fn, uint32_t offset, unsigned int size,
			uint64_t value);
int pci_fn_notify_write(struct vireo_pci_function *fn, uint32_t offset, unsigned int size,
			uint64_t value);
int pci_fn_device_cfg_read(struct vireo_pci_function *fn, uint32_t offset, unsigned int size,
			   uint64_t *value);
int pci_fn_device_cfg_write(struct vireo_pci_function *fn, uint32_t offset, unsigned int size,
			    uint64_t value);
int pci_fn_install_core_fds(struct vireo_pci_function *fn);
void pci_fn_bus_master_changed(struct vireo_pci_function *fn, uint16_t old_command);

/* virtio_pci_msix.c */
int pci_fn_msix_init(struct vireo_pci_function *fn, unsigned int vectors);
void pci_fn_msix_destroy(struct vireo_pci_function *fn);
uint64_t pci_fn_msix_bar_size(const struct vireo_pci_function *fn);
int pci_fn_msix_read(struct vireo_pci_function *fn, uint64_t offset, unsigned int size,
		     uint64_t *value);
int pci_fn_msix_write(struct vireo_pci_function *fn, uint64_t offset, unsigned int size,
		      uint64_t value);
bool pci_fn_msix_enabled(const struct vireo_pci_function *fn);
void pci_fn_msix_control_changed(struct vireo_pci_function *fn);
void pci_fn_msix_drop_pending(struct vireo_pci_function *fn);
void pci_fn_interrupt(struct vireo_pci_function *fn, uint8_t isr_bit, uint16_t vector);
uint8_t pci_fn_isr_read_clear(struct vireo_pci_function *fn);
void pci_fn_isr_reset(struct vireo_pci_function *fn);
int pci_fn_watch_signals(struct vireo_pci_function *fn);
void pci_fn_unwatch_signals(struct vireo_pci_function *fn);

/* Little-endian helpers over a byte array (config space, table entries). */
static inline uint64_t pci_fn_get_le(const uint8_t *p, unsigned int size)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < size; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static inline void pci_fn_put_le(uint8_t *p, unsigned int size, uint64_t v)
{
	for (unsigned int i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t pci_fn_all_ones(unsigned int size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

#endif /* VIREO_TRANSPORT_VIRTIO_PCI_INTERNAL_H */
