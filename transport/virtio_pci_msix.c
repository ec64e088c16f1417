// SPDX-License-Identifier: MIT
/*
 * Interrupts of the virtio-pci function: the MSI-X table and pending-bit array in BAR 2
 * (PCI 3.0 §6.8.2), the ISR status byte and INTx (virtio 1.2 §4.1.4.5, §4.1.5.3-4), and
 * the path from the core to them: the core signals eventfds the function owns (one per
 * queue for used buffers, one for config changes); their handlers, run by the device's
 * event loop, set ISR and send the vector the driver mapped through the host ops.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vireo/event_loop.h>
#include <vireo/log.h>

#include "transport/virtio_pci_internal.h"

#define PCI_FN_PAGE 4096u

int pci_fn_msix_init(struct vireo_pci_function *fn, unsigned int vectors)
{
	size_t pba_words = (vectors + 63) / 64;

	if (vectors == 0 || vectors > VIREO_PCI_FUNCTION_MAX_VECTORS)
		return -EINVAL;
	fn->msix_table = calloc(vectors, sizeof(*fn->msix_table));
	fn->msix_pba = calloc(pba_words, sizeof(*fn->msix_pba));
	if (!fn->msix_table || !fn->msix_pba) {
		pci_fn_msix_destroy(fn);
		return -ENOMEM;
	}
	fn->msix_vectors = vectors;
	/* PCI 3.0 §6.8.2.9: every vector starts masked. */
	for (unsigned int i = 0; i < vectors; i++)
		fn->msix_table[i].vector_control = cpu_to_le32(VIREO_MSIX_ENTRY_MASKED);
	/* The PBA on a page of its own after the table: a VMM may map them differently. */
	fn->msix_pba_offset = (vectors * 16u + PCI_FN_PAGE - 1) & ~(PCI_FN_PAGE - 1);
	return 0;
}

void pci_fn_msix_destroy(struct vireo_pci_function *fn)
{
	free(fn->msix_table);
	free(fn->msix_pba);
	fn->msix_table = NULL;
	fn->msix_pba = NULL;
}

uint64_t pci_fn_msix_bar_size(const struct vireo_pci_function *fn)
{
	uint64_t end = fn->msix_pba_offset + ((fn->msix_vectors + 63) / 64) * 8u,
		 size = PCI_FN_PAGE;

	while (size < end)
		size <<= 1;
	return size;
}

static uint16_t pci_fn_msix_control(const struct vireo_pci_function *fn)
{
	return (uint16_t)pci_fn_get_le(&fn->config[fn->msix_cap + PCI_MSIX_FLAGS], 2);
}

bool pci_fn_msix_enabled(const struct vireo_pci_function *fn)
{
	return (pci_fn_msix_control(fn) & PCI_MSIX_FLAGS_ENABLE) != 0;
}

/* Can vector @v be sent now? Masked by its entry or the function, or no bus mastering. */
static bool pci_fn_msix_deliverable(const struct vireo_pci_function *fn, uint16_t v)
{
	return !(pci_fn_msix_control(fn) & PCI_MSIX_FLAGS_MASKALL) &&
	       (pci_fn_command(fn) & PCI_COMMAND_MASTER) &&
	       !(le32_to_cpu(fn->msix_table[v].vector_control) & VIREO_MSIX_ENTRY_MASKED);
}

static void pci_fn_msix_send(struct vireo_pci_function *fn, uint16_t v)
{
	const struct vireo_msix_entry *e = &fn->msix_table[v];
	uint64_t address =
		((uint64_t)le32_to_cpu(e->address_hi) << 32) | le32_to_cpu(e->address_lo);
	int ret = 0;

	if (fn->host.msix_send)
		ret = fn->host.msix_send(fn->opaque, address, le32_to_cpu(e->data));
	else if (fn->host.vector_signal)
		ret = fn->host.vector_signal(fn->opaque, v);
	if (ret < 0)
		pci_fn_warn(fn, "%s: pci: MSI-X vector %u not delivered: %d", fn->dev->name, v,
			    ret);
	else
		fn->msix_sent++;
}

static void pci_fn_msix_pend(struct vireo_pci_function *fn, uint16_t v, bool pending)
{
	uint64_t bit = 1ull << (v % 64);

	if (pending)
		fn->msix_pba[v / 64] |= bit;
	else
		fn->msix_pba[v / 64] &= ~bit;
}

static bool pci_fn_msix_pending(const struct vireo_pci_function *fn, uint16_t v)
{
	return (fn->msix_pba[v / 64] >> (v % 64)) & 1u;
}

/* A pending vector is sent as soon as nothing masks it any more (PCI 3.0 §6.8.3.4). */
static void pci_fn_msix_flush_vector(struct vireo_pci_function *fn, uint16_t v)
{
	if (!pci_fn_msix_enabled(fn) || !pci_fn_msix_pending(fn, v) ||
	    !pci_fn_msix_deliverable(fn, v))
		return;
	pci_fn_msix_pend(fn, v, false);
	pci_fn_msix_send(fn, v);
}

void pci_fn_msix_control_changed(struct vireo_pci_function *fn)
{
	for (unsigned int v = 0; v < fn->msix_vectors; v++)
		pci_fn_msix_flush_vector(fn, (uint16_t)v);
	/* Enabling MSI-X takes the function off INTx, disabling puts it back. */
	pci_fn_update_interrupt_status(fn);
}

/* The device was stopped (bus mastering off): what was pending is not for the driver any more. */
void pci_fn_msix_drop_pending(struct vireo_pci_function *fn)
{
	memset(fn->msix_pba, 0, ((fn->msix_vectors + 63) / 64) * sizeof(*fn->msix_pba));
}

void pci_fn_interrupt(struct vireo_pci_function *fn, uint8_t isr_bit, uint16_t vector)
{
	/*
	 * Stopped by bus mastering going off: DRIVER_OK is cleared, so no notification
	 * (D-BF-01), also not once the bit is set again; a reset starts the device anew.
	 */
	if (fn->dev->stopped)
		return;
	if (!pci_fn_msix_enabled(fn)) {
		/* D-PCI-25/26: ISR first, then the (level) interrupt. */
		fn->isr |= isr_bit;
		pci_fn_update_interrupt_status(fn);
		return;
	}
	/* D-PCI-25: the config bit is set in MSI-X mode too (unconditional in §4.1.4.5). */
	if (isr_bit == VIREO_PCI_ISR_CONFIG)
		fn->isr |= isr_bit;
	/* D-PCI-43/44: an unmapped event sends nothing. */
	if (vector == VIREO_PCI_MSI_NO_VECTOR || vector >= fn->msix_vectors)
		return;
	if (!pci_fn_msix_deliverable(fn, vector)) {
		pci_fn_msix_pend(fn, vector, true);
		return;
	}
	pci_fn_msix_send(fn, vector);
}

uint8_t pci_fn_isr_read_clear(struct vireo_pci_function *fn)
{
	uint8_t isr = fn->isr;

	/* D-PCI-28: the read clears the byte and deasserts INTx. */
	fn->isr = 0;
	pci_fn_update_interrupt_status(fn);
	return isr;
}

void pci_fn_isr_reset(struct vireo_pci_function *fn)
{
	fn->isr = 0;
	pci_fn_update_interrupt_status(fn);
}

/* ---- the MSI-X BAR ---- */

int pci_fn_msix_read(struct vireo_pci_function *fn, uint64_t offset, unsigned int size,
		     uint64_t *value)
{
	uint64_t table_len = (uint64_t)fn->msix_vectors * sizeof(struct vireo_msix_entry);
	uint64_t pba_len = ((fn->msix_vectors + 63) / 64) * 8u;

	/* PCI 3.0 §6.8.2: table and PBA take aligned DWORD or QWORD accesses. */
	if ((size != 4 && size != 8) || (offset & (size - 1))) {
		pci_fn_warn(fn, "%s: pci: %u-byte MSI-X read at %#" PRIx64 ": bad width; ignored",
			    fn->dev->name, size, offset);
		return -EINVAL;
	}
	if (offset + size <= table_len) {
		*value = pci_fn_get_le((const uint8_t *)fn->msix_table + offset, size);
		return 0;
	}
	if (offset >= fn->msix_pba_offset && offset + size <= fn->msix_pba_offset + pba_len) {
		uint64_t word = fn->msix_pba[(offset - fn->msix_pba_offset) / 8];

		*value = size == 8 ? word : word >> (8 * (offset & 4));
		return 0;
	}
	*value = 0;
	return 0;
}

/* Vector Control: only the mask bit is the driver's; the rest is reserved (reads 0). */
static void pci_fn_msix_entry_write(struct vireo_pci_function *fn, uint64_t offset,
				    unsigned int size, uint64_t value)
{
	uint16_t v = (uint16_t)(offset / sizeof(struct vireo_msix_entry));
	uint8_t *p = (uint8_t *)fn->msix_table + offset;
	uint32_t ctrl_off = offsetof(struct vireo_msix_entry, vector_control);

	pci_fn_put_le(p, size, value);
	fn->msix_table[v].vector_control = cpu_to_le32(
		le32_to_cpu(fn->msix_table[v].vector_control) & VIREO_MSIX_ENTRY_MASKED);
	if (offset % sizeof(struct vireo_msix_entry) + size > ctrl_off)
		pci_fn_msix_flush_vector(fn, v);
}

int pci_fn_msix_write(struct vireo_pci_function *fn, uint64_t offset, unsigned int size,
		      uint64_t value)
{
	uint64_t table_len = (uint64_t)fn->msix_vectors * sizeof(struct vireo_msix_entry);

	if ((size != 4 && size != 8) || (offset & (size - 1))) {
		pci_fn_warn(fn, "%s: pci: %u-byte MSI-X write at %#" PRIx64 ": bad width; ignored",
			    fn->dev->name, size, offset);
		return -EINVAL;
	}
	if (offset + size > table_len) {
		pci_fn_warn(fn,
			    "%s: pci: MSI-X write at %#" PRIx64 " outside the table (PBA is "
			    "read-only); ignored",
			    fn->dev->name, offset);
		return -EPERM;
	}
	pci_fn_msix_entry_write(fn, offset, size, value);
	return 0;
}

/* ---- signals from the core ---- */

static void pci_fn_call_handler(void *opaque, uint32_t events)
{
	struct pci_fn_queue *q = opaque;

	(void)events;
	if (vireo_eventfd_drain_fd(q->call_fd))
		pci_fn_interrupt(q->fn, VIREO_PCI_ISR_QUEUE, q->msix_vector);
}

static void pci_fn_config_handler(void *opaque, uint32_t events)
{
	struct vireo_pci_function *fn = opaque;

	(void)events;
	if (vireo_eventfd_drain_fd(fn->config_fd))
		pci_fn_interrupt(fn, VIREO_PCI_ISR_CONFIG, fn->config_msix_vector);
}

static int pci_fn_new_eventfd(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int pci_fn_watch_signals(struct vireo_pci_function *fn)
{
	struct event_loop *loop = fn->dev->loop;
	int ret;

	ret = fn->config_fd = pci_fn_new_eventfd();
	if (ret >= 0)
		ret = vireo_event_loop_add(loop, fn->config_fd, pci_fn_config_handler, fn);
	for (unsigned int i = 0; ret >= 0 && i < fn->dev->num_queues; i++) {
		struct pci_fn_queue *q = &fn->queues[i];

		q->fn = fn;
		q->index = (uint16_t)i;
		ret = q->notify_fd = pci_fn_new_eventfd();
		if (ret >= 0)
			ret = q->call_fd = pci_fn_new_eventfd();
		if (ret >= 0)
			ret = vireo_event_loop_add(loop, q->call_fd, pci_fn_call_handler, q);
	}
	if (ret < 0) {
		pci_fn_unwatch_signals(fn);
		return ret;
	}
	return 0;
}

static void pci_fn_close_watched(struct event_loop *loop, int *fd)
{
	if (*fd < 0)
		return;
	(void)vireo_event_loop_remove(loop, *fd);
	close(*fd);
	*fd = -1;
}

void pci_fn_unwatch_signals(struct vireo_pci_function *fn)
{
	struct event_loop *loop = fn->dev->loop;

	pci_fn_close_watched(loop, &fn->config_fd);
	for (unsigned int i = 0; i < VDEV_MAX_QUEUES; i++) {
		pci_fn_close_watched(loop, &fn->queues[i].call_fd);
		if (fn->queues[i].notify_fd >= 0)
			close(fn->queues[i].notify_fd);
		fn->queues[i].notify_fd = -1;
	}
}
