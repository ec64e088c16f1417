/* SPDX-License-Identifier: MIT */
/*
 * The virtio-blk device model (virtio 1.2 §5.2): a raw image file served
 * with io_uring, one ring per virtqueue. The model embeds a struct vdev;
 * a transport drives it through blk_device_vdev() and the vdev_* calls.
 *
 * Completions arrive on an eventfd in the device's event loop (dev->loop).
 * io_uring's task work interrupts epoll_wait() in that thread, so
 * event_loop_run_once() returns -EINTR now and then: call it again.
 */
#ifndef VIREO_BLK_DEVICE_H
#define VIREO_BLK_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include <vireo/device.h>

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
 * blk_device_new() - open the image, size it and set up config space
 * Return: 0 and *@out set; -EINVAL (bad option, image smaller than one
 * sector), -ENOMEM, or -errno from open/fstat.
 */
int blk_device_new(struct blk_device **out, const struct blk_device_options *opt);

/** blk_device_vdev() - the core device inside @blk (for the transport) */
struct vdev *blk_device_vdev(struct blk_device *blk);

/** blk_device_capacity() - image size in 512-byte sectors */
uint64_t blk_device_capacity(const struct blk_device *blk);

/**
 * blk_device_free() - reset the device (waits for in-flight I/O), close the
 * image, free. Call it from the device's thread, or once that thread has
 * exited: io_uring completes requests in the thread that submitted them.
 */
void blk_device_free(struct blk_device *blk);

#endif /* VIREO_BLK_DEVICE_H */
