/* SPDX-License-Identifier: MIT */
/*
 * The userspace virtio-blk front-end driver (virtio 1.2 §5.2).
 *
 * Register it on a bus with a caller-owned struct virtio_blk_driver; once a
 * transport registers a block device, find it with virtio_bus_find(bus,
 * VIRTIO_ID_BLOCK, n) and virtio_blk_from_device().
 *
 * Two APIs:
 * - synchronous: virtio_blk_read/write/flush/discard/write_zeroes/get_id on
 *   any memory (bounced through DMA memory). They use queue 0 and serialize
 *   on a per-device lock; do not call them while another thread drives queue
 *   0 asynchronously (same thread is fine: async completions they meet are
 *   kept for the next virtio_blk_poll()).
 * - asynchronous: struct virtio_blk_request with a data buffer from
 *   virtio_blk_alloc_buffer(); virtio_blk_submit()/virtio_blk_submit_batch()
 *   and virtio_blk_poll() per queue. No allocation per request, one kick
 *   per batch. One thread per queue at a time; different queues may be
 *   driven by different threads.
 *
 * Errors: -EIO (VIRTIO_BLK_S_IOERR, or the device broke the ring protocol),
 * -EOPNOTSUPP (VIRTIO_BLK_S_UNSUPP, or a feature that was not negotiated),
 * -EROFS (write-class request to a VIRTIO_BLK_F_RO device, refused before
 * sending), -EINVAL (range beyond capacity, bad length or alignment).
 */
#ifndef VIREO_VIRTIO_BLK_H
#define VIREO_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vireo/driver.h>
#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

struct virtio_blk;
struct virtio_blk_slot;

/* Maximum data bytes of one synchronous request chunk (larger calls are split). */
#define VIRTIO_BLK_BOUNCE_SIZE (256u * 1024u)

/**
 * struct virtio_blk_driver - the driver, in memory the caller owns
 * @drv: registered on the bus (filled by virtio_blk_register())
 * @max_queues: use at most this many request queues (0: all the device offers)
 * @refuse_features: device feature bits (VIRTIO_BIT(VIRTIO_BLK_F_*)) not to
 *	negotiate even if supported, e.g. to test fallbacks
 * @features: private (the feature table built from @refuse_features)
 * @nfeatures: private
 *
 * Must stay valid and unmoved until virtio_blk_unregister().
 */
struct virtio_blk_driver {
	struct virtio_driver drv;
	unsigned int max_queues;
	uint64_t refuse_features;
	unsigned int features[24];
	unsigned int nfeatures;
};

/**
 * virtio_blk_register() - register the blk driver on @bus (binds to block
 * devices already there and to later ones)
 * @bd: zeroed except for the options max_queues and refuse_features
 * Return: 0 or -EEXIST if @bd is already registered.
 */
VIREO_API int virtio_blk_register(struct virtio_bus *bus, struct virtio_blk_driver *bd);

/** virtio_blk_unregister() - unbind from every device and remove the driver */
VIREO_API void virtio_blk_unregister(struct virtio_bus *bus, struct virtio_blk_driver *bd);

/** virtio_blk_from_device() - the blk instance bound to @vdev, or NULL if none */
VIREO_API struct virtio_blk *virtio_blk_from_device(struct virtio_device *vdev);

/** virtio_blk_capacity() - device size in 512-byte sectors (§5.2.4) */
VIREO_API uint64_t virtio_blk_capacity(const struct virtio_blk *blk);

/** virtio_blk_blk_size() - the optimal block size (VIRTIO_BLK_F_BLK_SIZE, if a power of two in
 * 512..65536), else 512 */
VIREO_API uint32_t virtio_blk_blk_size(const struct virtio_blk *blk);

/** virtio_blk_read_only() - VIRTIO_BLK_F_RO was negotiated */
VIREO_API bool virtio_blk_read_only(const struct virtio_blk *blk);

/** virtio_blk_num_queues() - request queues in use (>= 1) */
VIREO_API unsigned int virtio_blk_num_queues(const struct virtio_blk *blk);

/** virtio_blk_queue_size() - descriptors in request queue @queue (0 if out of range) */
VIREO_API unsigned int virtio_blk_queue_size(const struct virtio_blk *blk, unsigned int queue);

/** virtio_blk_seg_max() - data segments per request (VIRTIO_BLK_F_SEG_MAX, else our limit) */
VIREO_API uint32_t virtio_blk_seg_max(const struct virtio_blk *blk);

/** virtio_blk_size_max() - bytes per data segment (VIRTIO_BLK_F_SIZE_MAX, else 0: no limit) */
VIREO_API uint32_t virtio_blk_size_max(const struct virtio_blk *blk);

/** virtio_blk_has_feature() - device feature @bit (VIRTIO_BLK_F_*) was negotiated */
VIREO_API bool virtio_blk_has_feature(const struct virtio_blk *blk, unsigned int bit);

/**
 * virtio_blk_read() - read @len bytes at @sector into @buf (any memory)
 * Return: 0; -EINVAL if @len is not a multiple of 512 or the range passes
 * the capacity; -EIO; -ENOMEM if no bounce buffer could be allocated.
 */
VIREO_API int virtio_blk_read(struct virtio_blk *blk, uint64_t sector, void *buf, size_t len);

/** virtio_blk_write() - write @len bytes from @buf at @sector. Return: as read, or -EROFS */
VIREO_API int virtio_blk_write(struct virtio_blk *blk, uint64_t sector, const void *buf,
			       size_t len);

/**
 * virtio_blk_flush() - VIRTIO_BLK_T_FLUSH
 * Return: 0 (also, without sending anything, when VIRTIO_BLK_F_FLUSH was not
 * negotiated: §5.2.6 makes completed writes stable if the device offered it,
 * and gives no way to flush if it did not), -EIO, -EOPNOTSUPP.
 */
VIREO_API int virtio_blk_flush(struct virtio_blk *blk);

/**
 * virtio_blk_discard() - discard @nsectors at @sector (one segment)
 * Return: 0; -EOPNOTSUPP without VIRTIO_BLK_F_DISCARD or on S_UNSUPP;
 * -EINVAL out of range or above max_discard_sectors; -EROFS; -EIO.
 */
VIREO_API int virtio_blk_discard(struct virtio_blk *blk, uint64_t sector, uint32_t nsectors);

/**
 * virtio_blk_write_zeroes() - zero @nsectors at @sector; @unmap lets the
 * device deallocate them
 * Return: as virtio_blk_discard(), with VIRTIO_BLK_F_WRITE_ZEROES.
 */
VIREO_API int virtio_blk_write_zeroes(struct virtio_blk *blk, uint64_t sector, uint32_t nsectors,
				      bool unmap);

/**
 * virtio_blk_get_id() - the device id string (VIRTIO_BLK_T_GET_ID),
 * NUL-terminated in @id (at most 20 characters)
 * Return: 0, -EIO, -EOPNOTSUPP.
 */
VIREO_API int virtio_blk_get_id(struct virtio_blk *blk, char id[VIRTIO_BLK_ID_BYTES + 1]);

/**
 * struct virtio_blk_request - one asynchronous request, owned by the caller
 * @type: VIRTIO_BLK_T_IN, _OUT, _FLUSH, _GET_ID, _DISCARD, _WRITE_ZEROES
 * @sector: for IN and OUT (ignored otherwise; sent as 0)
 * @data: buffer from virtio_blk_alloc_buffer() (NULL for FLUSH); for
 *	DISCARD/WRITE_ZEROES it holds struct vireo_blk_discard_write_zeroes
 *	segments the caller filled
 * @len: bytes of @data; a multiple of 512 for IN and OUT, of 16 for
 *	DISCARD/WRITE_ZEROES, 20 for GET_ID
 * @token: for the caller
 * @status: on completion, the device's VIRTIO_BLK_S_* (0xff if it wrote none,
 *	or if @written does not cover every writable byte posted: R-SR-09)
 * @result: on completion, 0 or -errno (see the file comment); -EIO whenever
 *	@written is short of data + status (IN, GET_ID) or of the status (others)
 * @written: on completion, bytes the device reports written (status included)
 * @slot, @next: private
 */
struct virtio_blk_request {
	uint32_t type;
	uint64_t sector;
	void *data;
	uint32_t len;
	void *token;
	uint8_t status;
	int result;
	uint32_t written;
	struct virtio_blk_slot *slot;
	struct virtio_blk_request *next;
};

/**
 * virtio_blk_alloc_buffer() - @len zeroed bytes of DMA memory, 4096-aligned
 * Return: the buffer or NULL if the device's DMA arena is exhausted.
 */
VIREO_API void *virtio_blk_alloc_buffer(struct virtio_blk *blk, size_t len);

/** virtio_blk_free_buffer() - give back a buffer from virtio_blk_alloc_buffer() */
VIREO_API void virtio_blk_free_buffer(struct virtio_blk *blk, void *buf);

/**
 * virtio_blk_submit_batch() - post up to @n requests on @queue, one kick
 *
 * A FLUSH without VIRTIO_BLK_F_FLUSH is not sent: it completes at once (see
 * virtio_blk_flush()) and the next virtio_blk_poll() returns it.
 * Return: the number posted (1..@n; the rest were not: retry them after a
 * poll), or, if none was posted: -EAGAIN (queue full), -EINVAL (bad
 * request or @queue), -EROFS, -EOPNOTSUPP (type not negotiated), -EIO
 * (queue broken).
 */
VIREO_API int virtio_blk_submit_batch(struct virtio_blk *blk, unsigned int queue,
				      struct virtio_blk_request *const reqs[], unsigned int n);

/** virtio_blk_submit() - one request. Return: 0 or as virtio_blk_submit_batch() */
VIREO_API int virtio_blk_submit(struct virtio_blk *blk, unsigned int queue,
				struct virtio_blk_request *req);

/**
 * virtio_blk_poll() - collect completed requests of @queue
 * @done: filled with up to @max completed requests
 * @timeout_ms: 0 returns at once; otherwise wait (via the transport's wait,
 *	-1 forever) until at least one completes
 * Return: the number in @done (0 on timeout), or -EIO if the queue is broken
 * (-EINVAL for a bad @queue).
 */
VIREO_API int virtio_blk_poll(struct virtio_blk *blk, unsigned int queue,
			      struct virtio_blk_request **done, unsigned int max, int timeout_ms);

/** virtio_blk_in_flight() - requests submitted on @queue and not yet returned by poll */
VIREO_API unsigned int virtio_blk_in_flight(const struct virtio_blk *blk, unsigned int queue);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_VIRTIO_BLK_H */
