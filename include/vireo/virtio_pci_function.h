/* SPDX-License-Identifier: MIT */
/*
 * The device role of virtio over PCI (virtio 1.2 §4.1): a virtio-pci function model
 * driving an existing struct vdev, for a VMM (or an in-process software bus) to put on its
 * PCI bus. The VMM forwards configuration-space and BAR accesses of the driver in, and gets
 * interrupts out through struct vireo_pci_host_ops.
 *
 * Layout: a non-transitional function (device ID 0x1040 + virtio ID, revision 1) with
 * BAR 0: 64-bit memory, non-prefetchable (ISR reads have a side effect), holding common
 *	config (0x0000), ISR (0x1000), device config (0x2000) and the notify area (0x3000,
 *	one 4-byte slot per queue: notify_off_multiplier 4);
 * BAR 2: 32-bit memory, the MSI-X table at 0 and the PBA after it. A BAR of its own so
 *	that a VMM which emulates or passes MSI-X through itself (irqfd routing) can trap it
 *	separately, and the virtio BAR's layout does not move with the vector count.
 * Capabilities: MSI-X, then the vendor capabilities COMMON, NOTIFY, ISR, DEVICE (only if
 * the model has config space) and PCI_CFG. INTx pin A when MSI-X is disabled.
 *
 * Threading: like every vireo_vdev_* call, every function below runs on the device's thread (the
 * thread running the vdev's event loop). A VMM whose vCPU threads take the exits posts
 * them there (vireo_loopback_run_in_device() shows the pattern) and waits for read results. The
 * host ops are called on that thread too, from the event loop: the core signals per-queue
 * and config eventfds the function owns, and its handlers set ISR and send the vector.
 * Only the notify eventfds (vireo_pci_function_notify_fd()) may be written from anywhere,
 * e.g. bound with KVM_IOEVENTFD.
 *
 * Bus Master Enable (command register bit 2) clear: no access to guest memory. A live
 * device is stopped (vireo_vdev_stop(): DRIVER_OK cleared, kicks and interrupts dropped)
 * until the driver resets it, as QEMU does; DRIVER_OK is refused while the bit is clear.
 *
 * Everything the driver writes is checked: a bad access is logged and ignored (reads then
 * return all ones), and rule-breaking queue set-up sets DEVICE_NEEDS_RESET, as the spec
 * asks. Nothing a driver does crashes the function or reaches outside guest memory.
 */
#ifndef VIREO_VIRTIO_PCI_FUNCTION_H
#define VIREO_VIRTIO_PCI_FUNCTION_H

#include <stdbool.h>
#include <stdint.h>

#include <vireo/device.h>
#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Conventional PCI configuration space: 256 bytes (no PCIe extended capabilities). */
#define VIREO_PCI_CONFIG_SPACE_SIZE 256u

/* The BARs the function implements (see the layout above). */
#define VIREO_PCI_FUNCTION_VIRTIO_BAR 0u
#define VIREO_PCI_FUNCTION_MSIX_BAR 2u

/* MSI-X vectors a function may have: the Table Size field's range (PCI 3.0 §6.8.2.3). */
#define VIREO_PCI_FUNCTION_MAX_VECTORS 2048u

/* Flags of vireo_pci_bar_info(): the BAR's low bits as the BAR register shows them. */
#define VIREO_PCI_BAR_MEM_64 0x4u
#define VIREO_PCI_BAR_PREFETCH 0x8u

/**
 * struct vireo_pci_host_ops - how interrupts leave the function (the VMM's side); any may
 * be NULL. Called on the device's thread.
 * @msix_send: deliver the MSI-X message the driver programmed in the table entry (its
 *	address and data). Return 0 or -errno (logged).
 * @vector_signal: used when @msix_send is NULL: signal vector @vector (a VMM with its
 *	own routing, irqfd style). Return 0 or -errno (logged).
 * @intx_set: the INTx (pin A) level while MSI-X is disabled: asserted while ISR is
 *	non-zero, deasserted by the ISR read that clears it (§4.1.4.5).
 */
struct vireo_pci_host_ops {
	int (*msix_send)(void *opaque, uint64_t address, uint32_t data);
	int (*vector_signal)(void *opaque, uint16_t vector);
	void (*intx_set)(void *opaque, bool asserted);
};

/**
 * struct vireo_pci_function_options - identity and interrupts; zero means default
 * @subsystem_vendor: Subsystem Vendor ID (0: 0x1af4)
 * @subsystem_id: Subsystem ID (0: 0x40 + the virtio device ID: §4.1.2.1 asks a
 *	non-transitional device for 0x40 or higher)
 * @msix_vectors: MSI-X Table Size, 1..2048 (0: one per queue plus one for config)
 */
struct vireo_pci_function_options {
	uint16_t subsystem_vendor;
	uint16_t subsystem_id;
	unsigned int msix_vectors;
};

struct vireo_pci_function;

/**
 * vireo_pci_function_new() - a PCI function serving @dev
 * @dev: an initialised model with its guest memory (vireo_vdev_set_memory()) and event loop
 *	(vireo_vdev_set_event_loop()) set; both must stay while the function exists. @dev
 *	is reset; the function adds VIRTIO_F_RING_RESET and VIRTIO_F_NOTIFICATION_DATA
 *	(transport features) to its offer until freed, and owns its kick, call and
 *	config fds from now on (call no vireo_vdev_* function on it meanwhile, except the
 *	model's own use of the core and vireo_vdev_config_changed()).
 * @opts: may be NULL (defaults)
 * @host: may be NULL (no interrupts go out); copied
 * @opaque: passed to @host's ops
 * Return: 0 and *@out; -EINVAL (no memory or loop, a device ID with no PCI device ID,
 * more queues than fit, @msix_vectors above 2048); -ENOMEM; -errno from eventfd or the
 * event loop.
 */
VIREO_API int vireo_pci_function_new(struct vdev *dev,
				     const struct vireo_pci_function_options *opts,
				     const struct vireo_pci_host_ops *host, void *opaque,
				     struct vireo_pci_function **out);

/**
 * vireo_pci_function_free() - reset the device, take back the transport features, close
 * the function's fds and free it (NULL: no-op); the model can then go to another transport
 */
VIREO_API void vireo_pci_function_free(struct vireo_pci_function *fn);

/**
 * vireo_pci_config_read() / vireo_pci_config_write() - a configuration-space access
 * @offset, @size: 1, 2 or 4 bytes, naturally aligned, inside the 256 bytes
 * Reads of the PCI_CFG capability's data perform the BAR read it describes (§4.1.4.9).
 * Return: 0; -EINVAL for a bad size, alignment or offset (logged; a read gives all ones,
 * a write is ignored). Writes to read-only bits are ignored, as on hardware.
 */
VIREO_API int vireo_pci_config_read(struct vireo_pci_function *fn, uint32_t offset,
				    unsigned int size, uint32_t *value);
VIREO_API int vireo_pci_config_write(struct vireo_pci_function *fn, uint32_t offset,
				     unsigned int size, uint32_t value);

/**
 * vireo_pci_bar_read() / vireo_pci_bar_write() - a memory access inside BAR @bar
 * @offset: from the start of the BAR (the VMM subtracts the address it placed it at)
 * @size: 1, 2, 4 or 8; each register takes its own width only (§4.1.3: 64-bit fields as
 *	two 32-bit halves or one 64-bit access)
 * Return: 0; -EINVAL (no such BAR, beyond it, a bad size or alignment, straddling
 * fields); -EACCES (memory decoding is off in the command register); -EPERM (a write to
 * a read-only register). Every refusal is logged; a refused read gives all ones.
 */
VIREO_API int vireo_pci_bar_read(struct vireo_pci_function *fn, unsigned int bar, uint64_t offset,
				 unsigned int size, uint64_t *value);
VIREO_API int vireo_pci_bar_write(struct vireo_pci_function *fn, unsigned int bar, uint64_t offset,
				  unsigned int size, uint64_t value);

/**
 * vireo_pci_bar_info() - BAR @bar's size and type, for a VMM placing it
 * @flags: VIREO_PCI_BAR_MEM_64, VIREO_PCI_BAR_PREFETCH (0 for a 32-bit memory BAR)
 * Return: 0; -ENOENT for a BAR the function does not implement (size 0).
 */
VIREO_API int vireo_pci_bar_info(struct vireo_pci_function *fn, unsigned int bar, uint64_t *size,
				 uint32_t *flags);

/**
 * vireo_pci_bar_address() - where the driver placed BAR @bar (its BAR registers)
 * Return: 0; -ENOENT (no such BAR).
 */
VIREO_API int vireo_pci_bar_address(struct vireo_pci_function *fn, unsigned int bar,
				    uint64_t *address);

/**
 * vireo_pci_notify_location() - where queue @queue's notification lands: BAR, offset
 * in it and width (2; 4 once VIRTIO_F_NOTIFICATION_DATA is negotiated; §4.1.5.2)
 * Return: 0; -EINVAL (no such queue).
 */
VIREO_API int vireo_pci_notify_location(struct vireo_pci_function *fn, unsigned int queue,
					unsigned int *bar, uint64_t *offset, unsigned int *width);

/**
 * vireo_pci_function_notify_fd() - the eventfd queue @queue's kicks go to: a VMM may bind
 * it with KVM_IOEVENTFD at vireo_pci_notify_location() (datamatch: the queue index).
 * It stays the function's (do not close it) and the same for the function's lifetime.
 * Return: the fd, or -EINVAL (no such queue).
 */
VIREO_API int vireo_pci_function_notify_fd(struct vireo_pci_function *fn, unsigned int queue);

/**
 * vireo_pci_function_isr_peek() - the ISR status byte without clearing it (for tests and
 * debuggers; the driver's read clears it)
 */
VIREO_API uint8_t vireo_pci_function_isr_peek(const struct vireo_pci_function *fn);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_VIRTIO_PCI_FUNCTION_H */
