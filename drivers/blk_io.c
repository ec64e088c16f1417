// SPDX-License-Identifier: MIT
/*
 * virtio-blk asynchronous I/O (§5.2.6): requests formatted into a slot's
 * header and status byte, posted as [header][data...][status], one kick per
 * batch, completions collected by polling. No allocation per request.
 */
#include <errno.h>

#include <vireo/log.h>

#include "drivers/blk.h"
#include "drivers/vq_poll.h"

/* Status byte before the device writes it: not a valid VIRTIO_BLK_S_* value. */
#define BLK_STATUS_UNSET 0xffu

int blk_status_to_errno(uint8_t status)
{
	switch (status) {
	case VIRTIO_BLK_S_OK:
		return 0;
	case VIRTIO_BLK_S_UNSUPP:
		return -EOPNOTSUPP;
	default: /* IOERR, never written, or a value the spec does not define */
		return -EIO;
	}
}

/* R-BLK-03: no request may reach beyond capacity. */
bool blk_check_range(const struct virtio_blk *blk, uint64_t sector, uint64_t nsectors)
{
	uint64_t cap = virtio_blk_capacity(blk);

	return sector <= cap && nsectors <= cap - sector;
}

static bool blk_is_write(uint32_t type)
{
	return type == VIRTIO_BLK_T_OUT || type == VIRTIO_BLK_T_DISCARD ||
	       type == VIRTIO_BLK_T_WRITE_ZEROES || type == VIRTIO_BLK_T_SECURE_ERASE;
}

/*
 * DISCARD / WRITE_ZEROES payload: whole segments (R-BLK-05), within the
 * device's segment and sector limits (R-BLK-06), inside capacity, unmap
 * only for write zeroes (R-BLK-08) and no reserved flag bits.
 */
static int blk_check_segments(const struct virtio_blk *blk, const struct virtio_blk_request *req)
{
	const struct vireo_blk_discard_write_zeroes *seg = req->data;
	bool discard = req->type == VIRTIO_BLK_T_DISCARD;
	uint32_t max_seg = discard ? blk->max_discard_seg : blk->max_wz_seg;
	uint32_t max_sectors = discard ? blk->max_discard_sectors : blk->max_wz_sectors;
	uint32_t allowed_flags = discard ? 0 : VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	uint32_t i, n = req->len / (uint32_t)sizeof(*seg);

	if (n == 0 || req->len % sizeof(*seg) != 0 || n > (max_seg ? max_seg : 1))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		uint32_t num = le32_to_cpu(seg[i].num_sectors);

		if ((max_sectors && num > max_sectors) ||
		    !blk_check_range(blk, le64_to_cpu(seg[i].sector), num) ||
		    (le32_to_cpu(seg[i].flags) & ~allowed_flags))
			return -EINVAL;
	}
	return 0;
}

/* Everything we can refuse before the device sees it. Return: 0 or -errno */
static int blk_check_request(const struct virtio_blk *blk, const struct virtio_blk_request *req)
{
	if (blk->ro && blk_is_write(req->type))
		return -EROFS;
	if (req->type != VIRTIO_BLK_T_FLUSH &&
	    (!req->data || !virtio_dma_contains(blk->vdev->dma, req->data, req->len)))
		return -EINVAL;
	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (req->len == 0 || req->len % VIRTIO_BLK_SECTOR_SIZE)
			return -EINVAL;
		if (!blk_check_range(blk, req->sector, req->len / VIRTIO_BLK_SECTOR_SIZE))
			return -EINVAL;
		return 0;
	case VIRTIO_BLK_T_FLUSH:
		return 0;
	case VIRTIO_BLK_T_GET_ID:
		return req->len == VIRTIO_BLK_ID_BYTES ? 0 : -EINVAL;
	case VIRTIO_BLK_T_DISCARD:
		if (!virtio_has_feature(blk->vdev, VIRTIO_BLK_F_DISCARD))
			return -EOPNOTSUPP;
		return blk_check_segments(blk, req);
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (!virtio_has_feature(blk->vdev, VIRTIO_BLK_F_WRITE_ZEROES))
			return -EOPNOTSUPP;
		return blk_check_segments(blk, req);
	default:
		return -EOPNOTSUPP;
	}
}

void blk_stash(struct blk_queue *q, struct virtio_blk_request *req)
{
	req->next = NULL;
	if (q->done_tail)
		q->done_tail->next = req;
	else
		q->done_head = req;
	q->done_tail = req;
}

static struct virtio_blk_request *blk_unstash(struct blk_queue *q)
{
	struct virtio_blk_request *req = q->done_head;

	if (req) {
		q->done_head = req->next;
		if (!q->done_head)
			q->done_tail = NULL;
		req->next = NULL;
	}
	return req;
}

/*
 * Build [header][data split at size_max...][status] in @sg.
 * Return: the number of readable elements in *@out, writable in *@in;
 * -EINVAL if the data needs more segments than the device takes.
 */
static int blk_build_sg(const struct virtio_blk *blk, const struct virtio_blk_request *req,
			const struct virtio_blk_slot *s, struct virtio_sg *sg, unsigned int *out,
			unsigned int *in)
{
	uint64_t addr = req->data ? virtio_dma_addr(blk->vdev->dma, req->data) : 0;
	uint32_t left = req->type == VIRTIO_BLK_T_FLUSH ? 0 : req->len;
	unsigned int n = 1, segs = 0;

	sg[0] = (struct virtio_sg){.addr = s->wire_addr, .len = sizeof(struct vireo_blk_outhdr)};
	while (left) {
		uint32_t len = blk->size_max && left > blk->size_max ? blk->size_max : left;

		if (++segs > blk->max_data_segs)
			return -EINVAL;
		sg[n++] = (struct virtio_sg){.addr = addr, .len = len};
		addr += len;
		left -= len;
	}
	sg[n++] = (struct virtio_sg){.addr = s->wire_addr + offsetof(struct blk_wire, status),
				     .len = 1};
	/* R-SR-02: device-writable parts last: data of IN and GET_ID, and always the status. */
	if (req->type == VIRTIO_BLK_T_IN || req->type == VIRTIO_BLK_T_GET_ID) {
		*out = 1;
		*in = n - 1;
	} else {
		*out = n - 1;
		*in = 1;
	}
	return 0;
}

static void blk_slot_put(struct blk_queue *q, struct virtio_blk_slot *s)
{
	s->req = NULL;
	s->next_free = q->free_head;
	q->free_head = (uint16_t)(s - q->slots);
}

/*
 * A request the device need not see: FLUSH without VIRTIO_BLK_F_FLUSH. If the
 * device offered FLUSH and we did not take it, completed writes are stable
 * (virtio 1.2 §5.2.6, devicenormative Device Operation, case 1); if it never
 * offered FLUSH there is no way to ask for more.
 */
static void blk_complete_now(struct blk_queue *q, struct virtio_blk_request *req)
{
	req->status = VIRTIO_BLK_S_OK;
	req->result = 0;
	req->written = 0;
	req->slot = NULL;
	blk_stash(q, req);
}

/* Post one request. Return: 1 if on the ring, 0 if completed at once, or -errno */
static int blk_post(struct virtio_blk *blk, struct blk_queue *q, struct virtio_blk_request *req)
{
	struct virtio_sg sg[BLK_DATA_SEGS_MAX + 2];
	struct virtio_blk_slot *s;
	unsigned int out, in;
	int err = blk_check_request(blk, req);

	if (err)
		return err;
	if (req->type == VIRTIO_BLK_T_FLUSH && !virtio_has_feature(blk->vdev, VIRTIO_BLK_F_FLUSH)) {
		blk_complete_now(q, req);
		return 0;
	}
	if (q->free_head == BLK_SLOT_NONE)
		return -EAGAIN;
	s = &q->slots[q->free_head];
	err = blk_build_sg(blk, req, s, sg, &out, &in);
	if (err)
		return err;
	/* R-BLK-04 and §5.2.6: sector is 0 for everything but IN and OUT. */
	s->wire->hdr.type = cpu_to_le32(req->type);
	s->wire->hdr.reserved = 0;
	s->wire->hdr.sector = cpu_to_le64(
		req->type == VIRTIO_BLK_T_IN || req->type == VIRTIO_BLK_T_OUT ? req->sector : 0);
	s->wire->status = BLK_STATUS_UNSET;
	s->writable =
		req->type == VIRTIO_BLK_T_IN || req->type == VIRTIO_BLK_T_GET_ID ? req->len + 1 : 1;
	err = virtqueue_add_sgs(q->vq, sg, out, in, s);
	if (err)
		return err == -ENOSPC ? -EAGAIN : err;
	q->free_head = s->next_free;
	s->req = req;
	req->slot = s;
	req->status = BLK_STATUS_UNSET;
	q->in_flight++;
	return 1;
}

int virtio_blk_submit_batch(struct virtio_blk *blk, unsigned int queue,
			    struct virtio_blk_request *const reqs[], unsigned int n)
{
	struct blk_queue *q;
	unsigned int done = 0, on_ring = 0;
	int err = 0;

	if (queue >= blk->nq)
		return -EINVAL;
	/* Reset after DEVICE_NEEDS_RESET: its rings are not live, nothing posted would complete. */
	if (virtio_device_needs_reset(blk->vdev))
		return -EIO;
	q = &blk->queues[queue];
	for (; done < n; done++) {
		err = blk_post(blk, q, reqs[done]);
		if (err < 0)
			break;
		on_ring += (unsigned int)err;
	}
	/* One notification for the whole batch (kick_prepare decides if it is needed). */
	if (on_ring)
		virtqueue_kick(q->vq);
	return done ? (int)done : err;
}

int virtio_blk_submit(struct virtio_blk *blk, unsigned int queue, struct virtio_blk_request *req)
{
	int ret = virtio_blk_submit_batch(blk, queue, &req, 1);

	return ret == 1 ? 0 : ret;
}

/* blk_abandon() - see drivers/blk.h. */
void blk_abandon(struct blk_queue *q, struct virtio_blk_request *req)
{
	if (!req->slot)
		return;
	req->slot->req = &q->abandoned;
	req->slot = NULL;
	virtqueue_break(q->vq);
}

/* Take one used buffer off @q's ring and complete its request. Return: false if none */
bool blk_harvest_one(struct blk_queue *q, struct virtio_blk_request **out)
{
	struct virtio_blk_slot *s;
	struct virtio_blk_request *req;
	uint32_t len;

	/* Reset after DEVICE_NEEDS_RESET: no completion may be relied on (drv:BF/Device Status Field). */
	if (virtio_device_needs_reset(q->vq->vdev))
		return false;
	/* The ring checked the id is a live head of ours (STYLE checklist item 6). */
	s = virtqueue_get_buf(q->vq, &len);
	if (!s)
		return false;
	req = s->req;
	req->written = len;
	/*
	 * R-SR-09 (drv:BF/Virtqueues/The Virtqueue Used Ring): nothing beyond
	 * the used len may be relied on. The status byte is the last writable
	 * byte we posted, so only a used len covering all of them (data + 1)
	 * says the status and every data byte were written. A shorter one is a
	 * failure whatever the status byte holds: an IN must not pass stale
	 * buffer bytes off as data. (The ring already refused len > posted.)
	 */
	if (len != s->writable) {
		req->status = BLK_STATUS_UNSET;
		req->result = -EIO;
	} else {
		/* Written before the used entry; get_buf's acquire of used->idx orders this. */
		req->status = s->wire->status;
		req->result = blk_status_to_errno(req->status);
	}
	req->slot = NULL;
	blk_slot_put(q, s);
	q->in_flight--;
	*out = req;
	return true;
}

/*
 * blk_fail_outstanding() - the device needed a reset and got one
 * (virtio_check_needs_reset()): its rings are not live, so every request
 * still posted on @q comes back completed with -EIO, for the next poll.
 */
void blk_fail_outstanding(struct blk_queue *q)
{
	struct virtio_blk_slot *s;

	while ((s = virtqueue_detach_unused_buf(q->vq)) != NULL) {
		struct virtio_blk_request *req = s->req;

		req->status = BLK_STATUS_UNSET;
		req->result = -EIO;
		req->written = 0;
		req->slot = NULL;
		blk_slot_put(q, s);
		q->in_flight--;
		if (req != &q->abandoned)
			blk_stash(q, req);
	}
}

bool blk_unstash_one(struct blk_queue *q, struct virtio_blk_request *req)
{
	struct virtio_blk_request **pp, *prev = NULL;

	for (pp = &q->done_head; *pp; prev = *pp, pp = &(*pp)->next) {
		if (*pp != req)
			continue;
		*pp = req->next;
		if (q->done_tail == req)
			q->done_tail = prev;
		req->next = NULL;
		return true;
	}
	return false;
}

int virtio_blk_poll(struct virtio_blk *blk, unsigned int queue, struct virtio_blk_request **done,
		    unsigned int max, int timeout_ms)
{
	struct blk_queue *q;
	unsigned int n = 0;
	int err;

	if (queue >= blk->nq)
		return -EINVAL;
	q = &blk->queues[queue];
	for (;;) {
		while (n < max && (done[n] = blk_unstash(q)) != NULL)
			n++;
		while (n < max && blk_harvest_one(q, &done[n]))
			n++;
		if (n || max == 0)
			return (int)n;
		err = virtio_vq_wait_used(q->vq, timeout_ms, &q->broken_warned);
		if (err == -EIO && q->in_flight && virtio_device_needs_reset(blk->vdev)) {
			blk_fail_outstanding(q); /* returned by the next round, failed */
			continue;
		}
		if (err <= 0)
			return err;
	}
}

unsigned int virtio_blk_in_flight(const struct virtio_blk *blk, unsigned int queue)
{
	return queue < blk->nq ? blk->queues[queue].in_flight : 0;
}
