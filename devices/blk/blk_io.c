// SPDX-License-Identifier: MIT
/*
 * virtio-blk back-end: requests run on io_uring, one ring per virtqueue.
 * Reads and writes go straight between the image and guest memory (the
 * ring's iov is a struct iovec array). Each request has at most one SQE in
 * flight, so a ring of the queue's size never overflows. Completions arrive
 * on an eventfd in the queue's event loop (vdev_queue_loop()); each round
 * pushes every finished request and publishes them with one flush, so one
 * interrupt covers many.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vireo/iov.h>
#include <vireo/log.h>
#include <vireo/uring_restrict.h>

#include "devices/blk/blk_internal.h"

#define BLK_REQ_NONE UINT32_MAX
/* blk_req_start(): the request went to io_uring (not a VIRTIO_BLK_S_* value) */
#define BLK_REQ_SUBMITTED 0xfeu

/* The write-zeroes fallback's source: read-only, shared by every queue. */
static const uint8_t blk_zero_buf[BLK_ZERO_CHUNK];

/*
 * The only opcodes our rings may carry (vireo_uring_restrict(): seccomp does not
 * see io_uring opcodes): readv, writev, the write-zeroes fallback's write and
 * fallocate, fsync.
 */
static const uint8_t blk_uring_ops[] = {
	IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_WRITE, IORING_OP_FALLOCATE, IORING_OP_FSYNC,
};

static struct blk_req *blk_req_alloc(struct blk_queue *bq)
{
	struct blk_req *req;

	if (bq->free_head == BLK_REQ_NONE)
		return NULL;
	req = &bq->reqs[bq->free_head];
	bq->free_head = req->next_free;
	return req;
}

static void blk_req_free(struct blk_req *req)
{
	struct blk_queue *bq = req->bq;

	req->next_free = bq->free_head;
	bq->free_head = (unsigned int)(req - bq->reqs);
}

static enum blk_device_request_kind blk_req_kind(uint32_t type)
{
	switch (type) {
	case VIRTIO_BLK_T_IN:
		return BLK_DEVICE_REQ_IN;
	case VIRTIO_BLK_T_OUT:
		return BLK_DEVICE_REQ_OUT;
	case VIRTIO_BLK_T_FLUSH:
		return BLK_DEVICE_REQ_FLUSH;
	case VIRTIO_BLK_T_GET_ID:
		return BLK_DEVICE_REQ_GET_ID;
	case VIRTIO_BLK_T_DISCARD:
		return BLK_DEVICE_REQ_DISCARD;
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return BLK_DEVICE_REQ_WRITE_ZEROES;
	default:
		return BLK_DEVICE_REQ_OTHER;
	}
}

/* The counters of one answered request (vireo_blk_device_queue_stats()). */
static void blk_req_count(struct blk_req *req, uint8_t status)
{
	struct blk_device_queue_stats *st = &req->bq->stats;

	vdev_counter_add(&st->requests[blk_req_kind(req->type)], 1);
	if (status != VIRTIO_BLK_S_OK)
		vdev_counter_add(&st->errors, 1);
	else if (req->type == VIRTIO_BLK_T_IN)
		vdev_counter_add(&st->bytes_read, req->written);
	else if (req->type == VIRTIO_BLK_T_OUT)
		vdev_counter_add(&st->bytes_written, req->data_len);
}

/* Write the status byte, give the chain back; published at the round's flush. */
static void blk_req_complete(struct blk_req *req, uint8_t status)
{
	struct blk_queue *bq = req->bq;
	uint32_t len = req->written;

	blk_req_count(req, status);

	/* GUEST: status is the chain's last writable byte, translated by pop */
	*req->status = status;
	/*
	 * dev:BF/Virtqueues/The Virtqueue Used Ring: used len never overstates;
	 * bytes [0, len) of the writable part were written. That is the data
	 * written from its start, plus the status byte when it follows at once
	 * (all data written, or none expected): "data + 1" for every answered
	 * request except a failed read, whose untouched tail is not claimed.
	 */
	if (len == req->chain.writable_bytes - 1)
		len++;
	vireo_vdev_queue_push(bq->vq, req->chain.head, len);
	bq->pushed = true;
	blk_req_free(req);
}

static struct io_uring_sqe *blk_get_sqe(struct blk_queue *bq)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&bq->ring);

	if (!sqe) {
		/* cannot happen with one SQE per request; make room anyway */
		io_uring_submit(&bq->ring);
		sqe = io_uring_get_sqe(&bq->ring);
	}
	return sqe;
}

/* The next non-empty discard / write-zeroes range, with its first method. */
static bool blk_req_next_range(struct blk_req *req)
{
	while (req->range_idx < req->nranges && req->ranges[req->range_idx].len == 0)
		req->range_idx++;
	if (req->range_idx == req->nranges)
		return false;
	req->range_done = 0;
	/* DISCARD and WRITE_ZEROES with unmap deallocate; the rest zero in place */
	req->zero_mode = req->ranges[req->range_idx].unmap || req->type == VIRTIO_BLK_T_DISCARD
				 ? BLK_ZERO_PUNCH
				 : BLK_ZERO_RANGE;
	return true;
}

static void blk_prep_range(struct blk_req *req, struct io_uring_sqe *sqe, int fd)
{
	const struct blk_range *r = &req->ranges[req->range_idx];
	uint64_t off = r->offset + req->range_done;
	uint64_t left = r->len - req->range_done;
	int mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;

	if (req->zero_mode == BLK_ZERO_WRITE) {
		unsigned int n = left < BLK_ZERO_CHUNK ? (unsigned int)left : BLK_ZERO_CHUNK;

		io_uring_prep_write(sqe, fd, blk_zero_buf, n, off);
		return;
	}
	if (req->zero_mode == BLK_ZERO_RANGE)
		mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	io_uring_prep_fallocate(sqe, fd, mode, off, left);
}

/* Queue the request's next operation. Return: false if no SQE could be had. */
static bool blk_req_submit(struct blk_req *req)
{
	struct blk_queue *bq = req->bq;
	int fd = bq->blk->fd;
	struct io_uring_sqe *sqe = blk_get_sqe(bq);

	if (!sqe)
		return false;
	switch (req->type) {
	case VIRTIO_BLK_T_IN:
		io_uring_prep_readv(sqe, fd, (const struct iovec *)req->data, req->data_cnt,
				    req->offset);
		break;
	case VIRTIO_BLK_T_OUT:
		/* §5.2.6.2: FLUSH offered but not negotiated: writes are stable at completion */
		io_uring_prep_writev2(sqe, fd, (const struct iovec *)req->data, req->data_cnt,
				      req->offset, blk_writes_stable(bq) ? RWF_DSYNC : 0);
		break;
	case VIRTIO_BLK_T_FLUSH:
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
		break;
	default:
		blk_prep_range(req, sqe, fd);
		break;
	}
	io_uring_sqe_set_data(sqe, req);
	/* One writer; vireo_blk_device_queue_stats() reads it from another thread. */
	__atomic_store_n(&bq->in_flight, bq->in_flight + 1, __ATOMIC_RELAXED);
	return true;
}

/* A discard / write-zeroes step finished with @res. Return: the status, or -1 to go on. */
static int blk_range_done(struct blk_req *req, int res)
{
	if (res == -EOPNOTSUPP && req->type == VIRTIO_BLK_T_DISCARD)
		res = 0; /* §5.2.6.2: a discard MAY deallocate; not doing it is fine */
	if (res == -EOPNOTSUPP && req->zero_mode != BLK_ZERO_WRITE) {
		/* the file system cannot punch / zero a range: try the next method */
		req->zero_mode++;
		log_debug("blk: write-zeroes falls back to method %d", (int)req->zero_mode);
		return -1;
	}
	if (res < 0 || (req->zero_mode == BLK_ZERO_WRITE && res == 0))
		return VIRTIO_BLK_S_IOERR;
	if (req->zero_mode == BLK_ZERO_WRITE) {
		req->range_done += (uint64_t)res;
		if (req->range_done < req->ranges[req->range_idx].len)
			return -1;
	}
	req->range_idx++;
	if (blk_req_next_range(req))
		return -1;
	if (blk_writes_stable(req->bq) && req->type == VIRTIO_BLK_T_WRITE_ZEROES) {
		/* §5.2.6.2 (no FLUSH negotiated): stable at completion; finish as a flush */
		req->type = VIRTIO_BLK_T_FLUSH;
		return -1;
	}
	return VIRTIO_BLK_S_OK;
}

/* One CQE for @req: complete it or queue its next step. */
static void blk_req_done(struct blk_req *req, int res)
{
	int status;

	if (res == -EAGAIN || res == -EINTR) {
		status = -1;
	} else if (req->type == VIRTIO_BLK_T_IN || req->type == VIRTIO_BLK_T_OUT) {
		if (req->type == VIRTIO_BLK_T_IN && res > 0)
			req->written = (uint32_t)res;
		/* a short transfer (image shrunk under us) is an I/O error */
		status = res >= 0 && (uint32_t)res == req->data_len ? VIRTIO_BLK_S_OK
								    : VIRTIO_BLK_S_IOERR;
	} else if (req->type == VIRTIO_BLK_T_FLUSH) {
		status = res < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	} else {
		status = blk_range_done(req, res);
	}
	if (status >= 0)
		blk_req_complete(req, (uint8_t)status);
	else if (!blk_req_submit(req))
		blk_req_complete(req, VIRTIO_BLK_S_IOERR);
}

/* §5.2.6: GET_ID answers up to 20 bytes, NUL-padded, no terminator at 20. */
static uint8_t blk_get_id(struct blk_req *req)
{
	size_t n = req->data_len < VIRTIO_BLK_ID_BYTES ? req->data_len : VIRTIO_BLK_ID_BYTES;

	/* GUEST: data is the writable part minus the status byte, translated by pop */
	req->written =
		(uint32_t)vireo_buf_to_iov(req->data, req->data_cnt, 0, req->bq->blk->serial, n);
	return VIRTIO_BLK_S_OK;
}

/* Does a valid request need the back-end? Empty reads, writes and range lists do not. */
static bool blk_req_ready(struct blk_req *req)
{
	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return req->data_len != 0;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return blk_req_next_range(req); /* also sets up the first range */
	default:
		return true;
	}
}

/* Parse a popped chain and either finish it at once or hand it to io_uring. */
static void blk_req_start(struct blk_req *req)
{
	struct blk_device *blk = req->bq->blk;
	struct blk_limits lim = {
		.capacity = blk->capacity,
		.readonly = blk->readonly,
	};
	uint8_t status = blk_req_parse(req, &lim);

	if (status == BLK_REQ_UNANSWERABLE) {
		log_debug("blk: chain %u has no status byte", req->chain.head);
		vdev_counter_add(&req->bq->stats.errors, 1);
		vireo_vdev_queue_push(req->bq->vq, req->chain.head, 0);
		req->bq->pushed = true;
		blk_req_free(req);
		return;
	}
	if (status == VIRTIO_BLK_S_OK && req->type == VIRTIO_BLK_T_GET_ID)
		status = blk_get_id(req);
	else if (status == VIRTIO_BLK_S_OK && blk_req_ready(req))
		status = blk_req_submit(req) ? BLK_REQ_SUBMITTED : VIRTIO_BLK_S_IOERR;
	if (status != BLK_REQ_SUBMITTED)
		blk_req_complete(req, status);
}

/* Publish what this round pushed: one used->idx store, one interrupt at most. */
static void blk_queue_publish(struct blk_queue *bq)
{
	if (io_uring_sq_ready(&bq->ring)) {
		int rc = io_uring_submit(&bq->ring);

		/* what stays in the SQ goes with the next submit */
		if (rc < 0)
			log_warn("blk: queue %u: io_uring submit failed (%d)", bq->vq->index, rc);
	}
	if (bq->pushed) {
		bq->pushed = false;
		vireo_vdev_queue_flush(bq->vq);
	}
}

void blk_queue_process(struct blk_queue *bq)
{
	struct blk_req *req;
	int rc;

	if (!bq->ring_ready)
		return;
	bq->starved = false;
	for (;;) {
		req = blk_req_alloc(bq);
		if (!req) {
			/* every request is busy: pop again when one completes */
			bq->starved = true;
			break;
		}
		rc = vireo_vdev_queue_pop(bq->vq, &req->chain, req->iov, bq->iov_cap);

		if (rc < 0) {
			/* -EAGAIN: empty; -EPROTO/-EIO: the core set NEEDS_RESET */
			blk_req_free(req);
			break;
		}
		blk_req_start(req);
	}
	blk_queue_publish(bq);
}

/* Take every CQE that is ready; Return: how many. */
static unsigned int blk_queue_reap(struct blk_queue *bq)
{
	struct io_uring_cqe *cqe;
	unsigned int n = 0;

	while (io_uring_peek_cqe(&bq->ring, &cqe) == 0) {
		struct blk_req *req = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&bq->ring, cqe);
		__atomic_store_n(&bq->in_flight, bq->in_flight - 1, __ATOMIC_RELAXED);
		n++;
		if (bq->stopping)
			blk_req_free(req);
		else
			blk_req_done(req, res);
	}
	return n;
}

static void blk_queue_on_completion(void *opaque, uint32_t events)
{
	struct blk_queue *bq = opaque;

	(void)events;
	vireo_eventfd_drain_fd(bq->event_fd);
	blk_queue_reap(bq);
	if (bq->starved)
		blk_queue_process(bq);
	else
		blk_queue_publish(bq);
}

static int blk_queue_alloc(struct blk_queue *bq)
{
	unsigned int i;

	bq->num = bq->vq->num;
	bq->iov_cap = le32_to_cpu(bq->blk->config.seg_max) + 2 + BLK_IOV_SLACK;
	bq->reqs = calloc(bq->num, sizeof(*bq->reqs));
	bq->iovs = calloc((size_t)bq->num * bq->iov_cap, sizeof(*bq->iovs));
	if (!bq->reqs || !bq->iovs) {
		free(bq->reqs);
		free(bq->iovs);
		bq->reqs = NULL;
		bq->iovs = NULL;
		return -ENOMEM;
	}
	for (i = 0; i < bq->num; i++) {
		bq->reqs[i].bq = bq;
		bq->reqs[i].iov = &bq->iovs[(size_t)i * bq->iov_cap];
		bq->reqs[i].next_free = i + 1 < bq->num ? i + 1 : BLK_REQ_NONE;
	}
	bq->free_head = 0;
	bq->in_flight = 0;
	return 0;
}

static void blk_queue_free_pool(struct blk_queue *bq)
{
	free(bq->reqs);
	free(bq->iovs);
	bq->reqs = NULL;
	bq->iovs = NULL;
}

int blk_queue_setup(struct blk_queue *bq)
{
	int rc = blk_queue_alloc(bq);

	if (rc)
		return rc;
	/* Disabled until restricted to blk_uring_ops (after the eventfd registration). */
	rc = io_uring_queue_init(bq->num, &bq->ring, IORING_SETUP_R_DISABLED);
	if (rc)
		goto out_free_pool;
	bq->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (bq->event_fd < 0) {
		rc = -errno;
		goto out_exit_ring;
	}
	rc = io_uring_register_eventfd(&bq->ring, bq->event_fd);
	if (rc)
		goto out_close_eventfd;
	rc = vireo_uring_restrict(&bq->ring, blk_uring_ops, sizeof(blk_uring_ops));
	if (rc)
		goto out_close_eventfd;
	rc = vireo_event_loop_add(vdev_queue_loop(bq->vq), bq->event_fd, blk_queue_on_completion,
				  bq);
	if (rc)
		goto out_close_eventfd;
	bq->stopping = false;
	bq->pushed = false;
	bq->starved = false;
	bq->ring_ready = true;
	return 0;

out_close_eventfd:
	close(bq->event_fd);
	bq->event_fd = -1;
out_exit_ring:
	io_uring_queue_exit(&bq->ring);
out_free_pool:
	blk_queue_free_pool(bq);
	return rc;
}

/* Wait for one CQE at least. Return: 0, or -errno when waiting itself fails. */
static int blk_queue_wait(struct blk_queue *bq)
{
	struct io_uring_cqe *cqe;
	int rc;

	/* A request's next step (write-zeroes fallback) may sit unsubmitted. */
	if (io_uring_sq_ready(&bq->ring))
		io_uring_submit(&bq->ring);
	rc = io_uring_wait_cqe(&bq->ring, &cqe);
	return rc == -EINTR || rc == -EAGAIN ? 0 : rc;
}

/*
 * Reap until nothing is in flight (one round may reap some and leave others).
 * Return: 0, or -errno when waiting fails (cannot happen with a valid ring).
 */
static int blk_queue_reap_all(struct blk_queue *bq)
{
	while (bq->in_flight > 0) {
		if (blk_queue_reap(bq) > 0)
			continue;
		if (blk_queue_wait(bq) < 0) {
			log_error("blk: queue %u: waiting for in-flight I/O failed", bq->vq->index);
			return -EIO;
		}
	}
	return 0;
}

void blk_queue_drain(struct blk_queue *bq)
{
	if (!bq->ring_ready || bq->stopping)
		return;
	if (blk_queue_reap_all(bq) == 0)
		blk_queue_publish(bq);
}

void blk_queue_teardown(struct blk_queue *bq)
{
	if (!bq->ring_ready)
		return;
	/* nothing may complete into freed memory: wait out what the kernel holds */
	bq->stopping = true;
	if (bq->in_flight)
		log_debug("blk: queue %u: reset waits for %u requests", bq->vq->index,
			  bq->in_flight);
	/* On failure leak the pool rather than let the kernel write into freed memory. */
	if (blk_queue_reap_all(bq) < 0)
		return;
	vireo_event_loop_remove(vdev_queue_loop(bq->vq), bq->event_fd);
	close(bq->event_fd);
	bq->event_fd = -1;
	io_uring_queue_exit(&bq->ring);
	blk_queue_free_pool(bq);
	bq->ring_ready = false;
}
