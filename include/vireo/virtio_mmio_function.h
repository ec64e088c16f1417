/* SPDX-License-Identifier: MIT */
/*
 * The device role of virtio over MMIO, version 2 (virtio 1.2 §4.2): the
 * register block of one virtio-mmio device, driving a device model (struct
 * vdev) through the core. A VMM calls vireo_mmio_read()/vireo_mmio_write()
 * from its MMIO exit handler (offsets relative to the block's base: the
 * VIREO_MMIO_* registers of spec.h, device config from VIREO_MMIO_CONFIG);
 * the function raises its one interrupt line through the VMM's host ops.
 *
 * Threading: the function runs the device model in a thread of its own (an
 * event loop, as the loopback transport does). Register accesses may come
 * from any thread (a vCPU's): the data path is handled on the caller's thread
 * without waiting (QueueNotify is one eventfd write, InterruptStatus and
 * InterruptACK one lock), every other register is posted to the device thread
 * and the caller waits for it, so the vdev is still touched by one thread.
 */
#ifndef VIREO_VIRTIO_MMIO_FUNCTION_H
#define VIREO_VIRTIO_MMIO_FUNCTION_H

#include <stdbool.h>
#include <stdint.h>

#include <vireo/device.h>
#include <vireo/guest_mem.h>
#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vireo_mmio_function;

/**
 * struct vireo_mmio_host_ops - how the function interrupts the driver (the VMM's)
 * @irq_set: level-triggered line: asserted while InterruptStatus is not 0.
 *	Called from the device thread (an event) and from the thread that
 *	writes InterruptACK or Status (deassert), under the function's lock.
 * @irq_signal: edge/irqfd style, used when @irq_set is NULL: called once per
 *	event (a used buffer or a config change), from the device thread.
 * Both are called under the function's interrupt lock: they must not access
 * the function's registers (post such work elsewhere).
 */
struct vireo_mmio_host_ops {
	void (*irq_set)(void *opaque, bool asserted);
	void (*irq_signal)(void *opaque);
};

/**
 * struct vireo_mmio_function_options - NULL means all zero
 * @vendor_id: what VendorID reads
 * @hide_notification_data: do not offer VIRTIO_F_NOTIFICATION_DATA
 * @hide_ring_reset: do not offer VIRTIO_F_RING_RESET (QueueReset)
 */
struct vireo_mmio_function_options {
	uint32_t vendor_id;
	bool hide_notification_data;
	bool hide_ring_reset;
};

/**
 * vireo_mmio_function_new() - a virtio-mmio register block for @dev
 * @dev: an initialised device model, not attached to another transport; it
 *	stays the caller's but belongs to the function's thread until _free()
 * @mem: the guest memory the rings and buffers are translated through; it
 *	stays the caller's, must outlive the function and may be changed only
 *	from the device thread (vireo_mmio_function_run_in_device())
 * @opts: may be NULL
 * @host: interrupt delivery (copied); at least one of its members must be set
 * @opaque: passed to @host's functions
 * Return: 0 and *@out; -EINVAL (no interrupt op, no @mem); -ENOMEM; -errno
 * from eventfd, epoll or pthread_create.
 */
VIREO_API int vireo_mmio_function_new(struct vdev *dev, const struct guest_mem *mem,
				      const struct vireo_mmio_function_options *opts,
				      const struct vireo_mmio_host_ops *host, void *opaque,
				      struct vireo_mmio_function **out);

/**
 * vireo_mmio_function_free() - reset the device, stop the thread, free; the
 * model is detached (no memory, no loop) and can be freed or attached again.
 * No register access may be in progress or come later (stop the vCPUs first).
 */
VIREO_API void vireo_mmio_function_free(struct vireo_mmio_function *fn);

/**
 * vireo_mmio_read() - the driver reads @size bytes at @offset of the block
 * Control registers (below VIREO_MMIO_CONFIG) take aligned 32-bit reads only;
 * device config takes aligned 8-, 16- and 32-bit reads (§4.2.2).
 * Return: 0 and *@value; -EINVAL for an access the spec forbids (a read of a
 * write-only register, a bad width or alignment, an unknown offset, config
 * outside the model's): logged, *@value is 0; -EIO if the device thread is gone.
 */
VIREO_API int vireo_mmio_read(struct vireo_mmio_function *fn, uint64_t offset, unsigned int size,
			      uint32_t *value);

/**
 * vireo_mmio_write() - the driver writes @value (@size bytes) at @offset
 * Return: 0 (done, or refused the way the spec and the core say: a feature
 * write after FEATURES_OK is ignored, a queue that cannot be enabled sets
 * DEVICE_NEEDS_RESET, ...); -EINVAL for an access the spec forbids (a write
 * of a read-only register, bad width or alignment, unknown offset, a value no
 * register takes): logged and ignored; -EIO if the device thread is gone.
 */
VIREO_API int vireo_mmio_write(struct vireo_mmio_function *fn, uint64_t offset, unsigned int size,
			       uint32_t value);

/**
 * vireo_mmio_function_run_in_device() - run @cb(@dev, @arg) in the device
 * thread and wait (to change guest memory, or for tests to look at the model)
 * Return: 0, or -EIO if the device thread has stopped.
 */
VIREO_API int vireo_mmio_function_run_in_device(struct vireo_mmio_function *fn,
						void (*cb)(struct vdev *dev, void *arg), void *arg);

/**
 * vireo_mmio_function_notify_fd() - the eventfd a QueueNotify of @queue
 * signals (a VMM may register it as an ioeventfd on QueueNotify with the
 * queue index as datamatch, when VIRTIO_F_NOTIFICATION_DATA is not used)
 * Return: the fd (the function's; do not close it), or -EINVAL.
 */
VIREO_API int vireo_mmio_function_notify_fd(struct vireo_mmio_function *fn, unsigned int queue);

/** vireo_mmio_function_size() - bytes of the register block (config included) */
VIREO_API uint64_t vireo_mmio_function_size(const struct vireo_mmio_function *fn);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_VIRTIO_MMIO_FUNCTION_H */
