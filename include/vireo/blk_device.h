/* SPDX-License-Identifier: MIT */
/*
 * The virtio-blk device model (virtio 1.2 §5.2): a raw image file served
 * with io_uring, one ring per virtqueue. The model embeds a struct vdev;
 * a transport drives it through vireo_blk_device_vdev() and the vireo_vdev_* calls.
 *
 * Completions arrive on an eventfd in the device's event loop (dev->loop).
 * io_uring's task work interrupts epoll_wait() in that thread, so
 * vireo_event_loop_run_once() returns -EINTR now and then: call it again.
 */
#ifndef VIREO_BLK_DEVICE_H
#define VIREO_BLK_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include <vireo/device.h>
#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

struct blk_device;

/* Defaults used when an option is 0. */
#define BLK_DEVICE_DEFAULT_QUEUES 1u
#define BLK_DEVICE_DEFAULT_QUEUE_SIZE 256u
#define BLK_DEVICE_MAX_QUEUES 16u

/**
 * struct blk_device_options - how to serve an image
 * @path: raw image file (its size is rounded down to 512-byte sectors)
 * @readonly: open O_RDONLY and offer VIRTIO_BLK_F_RO
 * @num_queues: 1..BLK_DEVICE_MAX_QUEUES (0: 1); above 1 offers VIRTIO_BLK_F_MQ
 * @queue_size: maximum queue size, a power of two 2..32768 (0: 256)
 * @serial: GET_ID answer, at most 20 bytes used (NULL: empty)
 */
struct blk_device_options {
	const char *path;
	bool readonly;
	unsigned int num_queues;
	uint16_t queue_size;
	const char *serial;
};

/**
 * vireo_blk_device_new() - open the image, size it and set up config space
 * Return: 0 and *@out set; -EINVAL (bad option, image smaller than one
 * sector), -ENOMEM, or -errno from open/fstat.
 */
VIREO_API int vireo_blk_device_new(struct blk_device **out, const struct blk_device_options *opt);

/** vireo_blk_device_vdev() - the core device inside @blk (for the transport) */
VIREO_API struct vdev *vireo_blk_device_vdev(struct blk_device *blk);

/** vireo_blk_device_capacity() - image size in 512-byte sectors */
VIREO_API uint64_t vireo_blk_device_capacity(const struct blk_device *blk);

/* Request kinds counted per queue (virtio 1.2 §5.2.6 types; OTHER: anything else). */
enum blk_device_request_kind {
	BLK_DEVICE_REQ_IN,
	BLK_DEVICE_REQ_OUT,
	BLK_DEVICE_REQ_FLUSH,
	BLK_DEVICE_REQ_GET_ID,
	BLK_DEVICE_REQ_DISCARD,
	BLK_DEVICE_REQ_WRITE_ZEROES,
	BLK_DEVICE_REQ_OTHER,
	BLK_DEVICE_REQ_KINDS
};

/**
 * struct blk_device_queue_stats - what one queue did since the device was made
 * @requests: answered requests by kind
 * @bytes_read, @bytes_written: data moved by IN and OUT requests that succeeded
 * @errors: requests answered IOERR or UNSUPP, or without a status byte
 * @kicks, @calls: kicks handled, used-buffer notifications sent
 * @in_flight: requests started and not answered yet
 */
struct blk_device_queue_stats {
	uint64_t requests[BLK_DEVICE_REQ_KINDS];
	uint64_t bytes_read;
	uint64_t bytes_written;
	uint64_t errors;
	uint64_t kicks;
	uint64_t calls;
	unsigned int in_flight;
};

/**
 * vireo_blk_device_queue_stats() - @blk's counters for queue @index; safe from any
 * thread while the queues run (the numbers are each current, not a snapshot)
 * Return: 0, or -EINVAL for an index beyond the device's queues.
 */
VIREO_API int vireo_blk_device_queue_stats(const struct blk_device *blk, unsigned int index,
					   struct blk_device_queue_stats *out);

/** vireo_blk_device_request_kind_name() - "in", "out", "flush", ... for @kind */
VIREO_API const char *vireo_blk_device_request_kind_name(enum blk_device_request_kind kind);

/**
 * vireo_blk_device_free() - reset the device (waits for in-flight I/O), close the
 * image, free. Call it from the device's thread, or once that thread has
 * exited: io_uring completes requests in the thread that submitted them.
 */
VIREO_API void vireo_blk_device_free(struct blk_device *blk);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_BLK_DEVICE_H */
