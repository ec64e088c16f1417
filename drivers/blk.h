/* SPDX-License-Identifier: MIT */
/* Private to drivers/blk*.c: the state of one bound virtio-blk device. */
#ifndef VIREO_DRIVERS_BLK_H
#define VIREO_DRIVERS_BLK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <vireo/virtio_blk.h>

/* Our own limit on data segments per request (stack sg arrays are sized by it). */
#define BLK_DATA_SEGS_MAX 128u
#define BLK_SLOT_NONE 0xffffu
/* Request queues we use at most, whatever num_queues says. */
#define BLK_MAX_QUEUES 64u

/*
 * The device-visible part of a request, one per slot in DMA memory: the
 * header the device reads and the status byte it writes (§5.2.6).
 */
struct blk_wire {
	struct vireo_blk_outhdr hdr;
	uint8_t status;
	uint8_t pad[15];
};
_Static_assert(sizeof(struct blk_wire) == 32, "blk_wire");

/*
 * One request in flight: the token given to the ring.
 * @writable: device-writable bytes posted (data of IN / GET_ID, then the
 *	status byte): the used len a completed request must report
 */
struct virtio_blk_slot {
	struct virtio_blk_request *req;
	struct blk_wire *wire;
	uint64_t wire_addr;
	uint32_t writable;
	uint16_t next_free;
};

/*
 * One request queue, driven by one thread at a time.
 * @done_head/@done_tail: completions collected by someone else (the sync
 *	API, or requests finished without the device) for the next poll
 */
struct blk_queue {
	struct virtqueue *vq;
	struct virtio_blk_slot *slots;
	struct blk_wire *wire;
	uint16_t num;
	uint16_t free_head;
	unsigned int in_flight;
	struct virtio_blk_request *done_head;
	struct virtio_blk_request *done_tail;
	bool broken_warned;
	/* The token of requests whose caller stopped waiting (blk_abandon()): never reported. */
	struct virtio_blk_request abandoned;
};

struct virtio_blk {
	struct virtio_device *vdev;
	struct blk_queue *queues;
	unsigned int nq;
	_Atomic uint64_t capacity;
	uint32_t blk_size;
	uint32_t size_max;
	uint32_t seg_max;
	uint32_t max_data_segs;
	uint32_t sync_chunk;
	uint32_t max_discard_sectors;
	uint32_t max_discard_seg;
	uint32_t max_wz_sectors;
	uint32_t max_wz_seg;
	bool ro;
	pthread_mutex_t sync_lock;
	void *bounce;
	char (*names)[16];
};

/* blk_io.c */
int blk_status_to_errno(uint8_t status);
bool blk_harvest_one(struct blk_queue *q, struct virtio_blk_request **out);
void blk_stash(struct blk_queue *q, struct virtio_blk_request *req);

/*
 * blk_abandon() - the caller of a synchronous request (@req, on its stack) stops waiting
 * while the device still holds it: its slot's token becomes q->abandoned, whose completion
 * or failure nobody is told of, and the queue is broken, so the bounce buffer is never posted
 * again beside it. A no-op if @req is no longer posted.
 */
void blk_abandon(struct blk_queue *q, struct virtio_blk_request *req);
bool blk_check_range(const struct virtio_blk *blk, uint64_t sector, uint64_t nsectors);
void blk_fail_outstanding(struct blk_queue *q);
/* Take @req out of @q's completed list. Return: false if it was not there */
bool blk_unstash_one(struct blk_queue *q, struct virtio_blk_request *req);

#endif /* VIREO_DRIVERS_BLK_H */
