/* SPDX-License-Identifier: MIT */
/*
 * Private to devices/blk: the device, its per-queue io_uring state and one
 * in-flight request. blk.c owns the device life cycle, blk_req.c parses and
 * validates a popped chain (no I/O, no side effects: fuzzable), blk_io.c
 * runs requests on io_uring and completes them.
 */
#ifndef VIREO_DEVICES_BLK_INTERNAL_H
#define VIREO_DEVICES_BLK_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <liburing.h>

#include <vireo/blk_device.h>
#include <vireo/device.h>
#include <vireo/spec.h>
#include <vireo/vring.h>

/* readv/writev take the iov as-is: the ring's iov must be struct iovec. */
_Static_assert(sizeof(struct vring_iov) == sizeof(struct iovec), "vring_iov size");
_Static_assert(offsetof(struct vring_iov, base) == offsetof(struct iovec, iov_base), "iov_base");
_Static_assert(offsetof(struct vring_iov, len) == offsetof(struct iovec, iov_len), "iov_len");

/* Config limits we advertise (and enforce on every request). */
#define BLK_SEG_MAX_CAP 1024u	       /* readv/writev take at most IOV_MAX (1024) */
#define BLK_IOV_SLACK 32u	       /* extra iov entries for region splits */
#define BLK_MAX_DWZ_SEG 16u	       /* max_discard_seg = max_write_zeroes_seg */
#define BLK_MAX_DWZ_SECTORS (1u << 22) /* 2 GiB per discard/write-zeroes segment */
#define BLK_ZERO_CHUNK 65536u	       /* write-zeroes fallback: bytes per write */

/* blk_req_parse() result when the chain cannot carry a status byte at all. */
#define BLK_REQ_UNANSWERABLE 0xffu

/* How a write-zeroes segment is being carried out (fallbacks in order). */
enum blk_zero_mode { BLK_ZERO_PUNCH, BLK_ZERO_RANGE, BLK_ZERO_WRITE };

/** struct blk_range - one validated discard / write-zeroes segment, in bytes */
struct blk_range {
	uint64_t offset;
	uint64_t len;
	bool unmap;
};

/**
 * struct blk_limits - what a request is checked against
 * @capacity: image size in sectors
 * @readonly: VIRTIO_BLK_F_RO offered
 */
struct blk_limits {
	uint64_t capacity;
	bool readonly;
};

struct blk_queue;

/**
 * struct blk_req - one request, from pop to push
 * @iov: the popped chain's segments (@iov_cap entries, owned by the queue)
 * @data, @data_cnt, @data_len: the data part inside @iov (header and status cut off)
 * @status: host address of the status byte (the chain's last writable byte)
 * @written: bytes written into the writable part from its start (IN, GET_ID data)
 */
struct blk_req {
	struct blk_queue *bq;
	struct vring_chain chain;
	struct vring_iov *iov;
	uint8_t *status;
	uint32_t type;
	uint64_t offset;
	struct vring_iov *data;
	unsigned int data_cnt;
	uint32_t data_len;
	uint32_t written;
	struct blk_range ranges[BLK_MAX_DWZ_SEG];
	unsigned int nranges;
	unsigned int range_idx;
	uint64_t range_done;
	enum blk_zero_mode zero_mode;
	unsigned int next_free;
};

/**
 * struct blk_queue - io_uring state of one virtqueue
 * @ring_ready: @ring, @event_fd and @reqs are set up
 * @reqs: @num requests, @iovs: @num * @iov_cap entries
 * @in_flight: SQEs submitted to io_uring and not completed (one per request at most)
 * @stopping: reset is waiting for in-flight I/O: complete nothing
 * @pushed: this round pushed used entries; flush them once at its end
 * @starved: popping stopped because every request was busy (a queue
 *	resized under us); the next completion pops again
 */
struct blk_queue {
	struct blk_device *blk;
	struct vdev_queue *vq;
	bool ring_ready;
	struct io_uring ring;
	int event_fd;
	struct blk_req *reqs;
	struct vring_iov *iovs;
	unsigned int num;
	unsigned int iov_cap;
	unsigned int free_head;
	unsigned int in_flight;
	bool stopping;
	bool pushed;
	bool starved;
	struct blk_device_queue_stats stats; /* kicks, calls and in_flight unused */
};

struct blk_device {
	struct vdev vdev;
	struct vireo_blk_config config;
	int fd;
	bool readonly;
	uint64_t capacity;
	char serial[VIRTIO_BLK_ID_BYTES];
	unsigned int num_queues;
	uint16_t queue_size;
	struct blk_queue queues[BLK_DEVICE_MAX_QUEUES];
};

/*
 * §5.2.6.2: FLUSH not negotiated: each write is stable at completion (RWF_DSYNC). Read
 * per request from the features now in force: a front-end may negotiate again without a
 * reset (vhost-user: rings stopped, SET_FEATURES, restarted) while the queue's io_uring stays.
 */
static inline bool blk_writes_stable(const struct blk_queue *bq)
{
	return !vdev_has_feature(&bq->blk->vdev, VIRTIO_BLK_F_FLUSH);
}

/**
 * blk_req_parse() - read and check the request in @req->chain / @req->iov
 * Fills @req's type, offset, data and ranges, trimming @req->iov in place
 * (header and status cut off). Touches nothing outside @req: guest memory
 * is only read (the header and discard segments, once each).
 * Return: VIRTIO_BLK_S_OK if the request can go to the back-end; another
 * VIRTIO_BLK_S_* to complete it at once with that status; or
 * BLK_REQ_UNANSWERABLE (header too short, no writable status byte).
 */
uint8_t blk_req_parse(struct blk_req *req, const struct blk_limits *lim);

/**
 * blk_queue_setup() - create @bq's io_uring, request pool and completion
 * eventfd (watched in the queue's loop). Return: 0, -ENOMEM, or -errno from
 * io_uring / eventfd / vireo_event_loop_add.
 */
int blk_queue_setup(struct blk_queue *bq);

/**
 * blk_queue_drain() - wait for every request in flight and answer it (status
 * byte, used entry, one flush): afterwards no I/O targets guest memory. Pops
 * nothing new. Waits on the image file only.
 */
void blk_queue_drain(struct blk_queue *bq);

/** blk_queue_teardown() - wait for in-flight I/O, then free what setup took */
void blk_queue_teardown(struct blk_queue *bq);

/** blk_queue_process() - pop every available chain and start it */
void blk_queue_process(struct blk_queue *bq);

#endif /* VIREO_DEVICES_BLK_INTERNAL_H */
