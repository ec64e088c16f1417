// SPDX-License-Identifier: MIT
/*
 * virtio-blk synchronous API: any caller memory, bounced through one DMA
 * buffer per device, requests on queue 0 under a per-device lock. Async
 * completions met while waiting are stashed for the next virtio_blk_poll().
 */
#include <errno.h>
#include <string.h>

#include "drivers/blk.h"
#include "drivers/vq_poll.h"

/*
 * The wait for @q failed with @err. A device that needed a reset (and got it)
 * gives every posted request back failed: async ones stay stashed for the
 * next poll, @mine (the caller's, on its stack) is taken out. Any other failure
 * (a broken ring, a transport error) leaves @mine with the device: abandoned, so
 * nothing reaches the caller's stack after it returns. Return: @err
 */
static int blk_sync_failed(struct virtio_blk *blk, struct blk_queue *q,
			   struct virtio_blk_request *mine, int err)
{
	if (virtio_device_needs_reset(blk->vdev)) {
		blk_fail_outstanding(q);
		if (mine)
			(void)blk_unstash_one(q, mine);
	}
	if (mine)
		blk_abandon(q, mine);
	return err;
}

/* Wait for any completion on @q, stashing it. Return: 0 or -errno */
static int blk_sync_reap(struct virtio_blk *blk, struct blk_queue *q)
{
	struct virtio_blk_request *req;
	int err;

	while (!blk_harvest_one(q, &req)) {
		err = virtio_vq_wait_used(q->vq, -1, &q->broken_warned);
		if (err < 0)
			return blk_sync_failed(blk, q, NULL, err);
		if (err == 0)
			return -EIO; /* the transport cannot wait: nothing will ever come */
	}
	blk_stash(q, req);
	return 0;
}

/* Submit @req on queue 0 and wait for it. Return: its result, or -errno */
static int blk_sync_do(struct virtio_blk *blk, struct virtio_blk_request *req)
{
	struct blk_queue *q = &blk->queues[0];
	struct virtio_blk_request *got;
	int err;

	while ((err = virtio_blk_submit(blk, 0, req)) == -EAGAIN) {
		/* The ring is full of async requests: wait for one to make room. */
		err = blk_sync_reap(blk, q);
		if (err)
			return err;
	}
	if (err)
		return err;
	for (;;) {
		while (blk_harvest_one(q, &got)) {
			if (got == req)
				return req->result;
			blk_stash(q, got);
		}
		err = virtio_vq_wait_used(q->vq, -1, &q->broken_warned);
		if (err <= 0) /* 0: the transport cannot wait, nothing will ever come */
			return blk_sync_failed(blk, q, req, err ? err : -EIO);
	}
}

static int blk_sync_rw(struct virtio_blk *blk, uint32_t type, uint64_t sector, void *buf,
		       size_t len)
{
	struct virtio_blk_request req;
	size_t done = 0;
	int err = 0;

	if (len % VIRTIO_BLK_SECTOR_SIZE || !blk_check_range(blk, sector, len >> 9))
		return -EINVAL;
	if (type == VIRTIO_BLK_T_OUT && blk->ro)
		return -EROFS;
	pthread_mutex_lock(&blk->sync_lock);
	while (done < len && !err) {
		uint32_t chunk =
			(uint32_t)(len - done < blk->sync_chunk ? len - done : blk->sync_chunk);

		req = (struct virtio_blk_request){.type = type,
						  .sector = sector + (done >> 9),
						  .data = blk->bounce,
						  .len = chunk};
		if (type == VIRTIO_BLK_T_OUT)
			memcpy(blk->bounce, (char *)buf + done, chunk);
		err = blk_sync_do(blk, &req);
		/*
		 * R-SR-09: the bounce buffer still holds the last request's bytes,
		 * so a short completion must copy nothing. blk_harvest_one() made
		 * any used len other than chunk + 1 an -EIO: err == 0 means every
		 * byte copied here was reported written. Failing the whole read is
		 * simpler than a partial copy and leaves @buf as it was.
		 */
		if (!err && type == VIRTIO_BLK_T_IN)
			memcpy((char *)buf + done, blk->bounce, chunk);
		done += chunk;
	}
	pthread_mutex_unlock(&blk->sync_lock);
	return err;
}

int virtio_blk_read(struct virtio_blk *blk, uint64_t sector, void *buf, size_t len)
{
	return blk_sync_rw(blk, VIRTIO_BLK_T_IN, sector, buf, len);
}

int virtio_blk_write(struct virtio_blk *blk, uint64_t sector, const void *buf, size_t len)
{
	return blk_sync_rw(blk, VIRTIO_BLK_T_OUT, sector, (void *)(uintptr_t)buf, len);
}

/* One request with a payload in the bounce buffer. Return: its result or -errno */
static int blk_sync_simple(struct virtio_blk *blk, uint32_t type, const void *payload, uint32_t len,
			   void *reply)
{
	struct virtio_blk_request req = {
		.type = type, .data = len ? blk->bounce : NULL, .len = len};
	int err;

	pthread_mutex_lock(&blk->sync_lock);
	if (payload)
		memcpy(blk->bounce, payload, len);
	else if (len)
		memset(blk->bounce, 0, len);
	err = blk_sync_do(blk, &req);
	if (!err && reply)
		memcpy(reply, blk->bounce, len);
	pthread_mutex_unlock(&blk->sync_lock);
	return err;
}

int virtio_blk_flush(struct virtio_blk *blk)
{
	/*
	 * §5.2.6 (devicenormative Device Operation): FLUSH offered but not
	 * negotiated means completed writes are stable; never offered means
	 * the device has no flush to ask for. Either way there is nothing to send.
	 */
	if (!virtio_has_feature(blk->vdev, VIRTIO_BLK_F_FLUSH))
		return 0;
	return blk_sync_simple(blk, VIRTIO_BLK_T_FLUSH, NULL, 0, NULL);
}

static int blk_sync_range(struct virtio_blk *blk, uint32_t type, uint64_t sector, uint32_t nsectors,
			  uint32_t flags)
{
	struct vireo_blk_discard_write_zeroes seg = {
		.sector = cpu_to_le64(sector),
		.num_sectors = cpu_to_le32(nsectors),
		.flags = cpu_to_le32(flags),
	};

	return blk_sync_simple(blk, type, &seg, sizeof(seg), NULL);
}

int virtio_blk_discard(struct virtio_blk *blk, uint64_t sector, uint32_t nsectors)
{
	if (!virtio_has_feature(blk->vdev, VIRTIO_BLK_F_DISCARD))
		return -EOPNOTSUPP;
	/* R-BLK-08: discard segments carry unmap = 0. */
	return blk_sync_range(blk, VIRTIO_BLK_T_DISCARD, sector, nsectors, 0);
}

int virtio_blk_write_zeroes(struct virtio_blk *blk, uint64_t sector, uint32_t nsectors, bool unmap)
{
	if (!virtio_has_feature(blk->vdev, VIRTIO_BLK_F_WRITE_ZEROES))
		return -EOPNOTSUPP;
	return blk_sync_range(blk, VIRTIO_BLK_T_WRITE_ZEROES, sector, nsectors,
			      unmap ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0);
}

int virtio_blk_get_id(struct virtio_blk *blk, char id[VIRTIO_BLK_ID_BYTES + 1])
{
	int err = blk_sync_simple(blk, VIRTIO_BLK_T_GET_ID, NULL, VIRTIO_BLK_ID_BYTES, id);

	/* §5.2.6: NUL-padded, with no terminator when all 20 bytes are used. */
	id[err ? 0 : VIRTIO_BLK_ID_BYTES] = '\0';
	return err;
}
