// SPDX-License-Identifier: MIT
/*
 * The vhost-user back-end's IOTLB (vhost-user.rst "IOMMU support", "Back-end
 * communication"; virtio 1.2 §6.1 VIRTIO_F_ACCESS_PLATFORM). With bit 33
 * negotiated every ring and buffer address is an I/O virtual address: the
 * front-end tells us, one VHOST_USER_IOTLB_MSG at a time, which IOVA range maps
 * to which of its user addresses with which permission, and we ask it for
 * what we lack with VHOST_USER_BACKEND_IOTLB_MSG (type MISS) on the back-end
 * channel. A user address then goes through the memory table's regions.
 *
 * The table is a sorted array of non-overlapping ranges, at most
 * VUB_IOTLB_MAX_ENTRIES (a front-end that floods updates evicts older ones:
 * they are asked for again on their next use, never trusted stale).
 *
 * Ordering: the table and the memory table are written only by the control
 * thread, and only while every queue thread is stopped and joined
 * (vub_threads_stop(): pthread_join orders those writes before the queue
 * threads' next reads, after vub_threads_start()). Queue threads read both
 * without a lock. The back-end channel (vhost_user_chan.c) is written by queue
 * threads (misses) and the control thread, under its lock.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/log.h>

#include "transport/vhost_user_internal.h"

/* ---- the table ---- */

void vub_iotlb_clear(struct vub_iotlb *t)
{
	t->num = 0;
}

void vub_iotlb_destroy(struct vub_iotlb *t)
{
	free(t->entries);
	memset(t, 0, sizeof(*t));
}

/* The index of the last entry starting at or below @iova (t->num if none). */
static unsigned int vub_iotlb_floor(const struct vub_iotlb *t, uint64_t iova)
{
	unsigned int lo = 0, hi = t->num;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (t->entries[mid].iova <= iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == 0 ? t->num : lo - 1;
}

/*
 * Unmap [@iova, @last]: entries inside it go, entries across its ends are
 * trimmed to what lies outside (never a stale piece). A full table keeps no
 * right-hand piece of a split entry (it is asked for again if used).
 * Return: how many entries overlapped the range.
 */
static unsigned int vub_iotlb_remove(struct vub_iotlb *t, uint64_t iova, uint64_t last)
{
	struct vub_iotlb_entry piece[2], first, end;
	unsigned int lo = vub_iotlb_floor(t, iova), hi, n = 0;

	if (lo == t->num)
		lo = 0;
	else if (t->entries[lo].last < iova)
		lo++;
	for (hi = lo; hi < t->num && t->entries[hi].iova <= last; hi++)
		;
	if (hi == lo)
		return 0;
	first = t->entries[lo];
	end = t->entries[hi - 1];
	if (first.iova < iova) {
		piece[n] = first;
		piece[n++].last = iova - 1;
	}
	if (end.last > last && t->num - (hi - lo) + n < VUB_IOTLB_MAX_ENTRIES) {
		piece[n] = end;
		piece[n].iova = last + 1;
		piece[n++].uaddr = end.uaddr + (last + 1 - end.iova);
	} else if (end.last > last) {
		t->dropped = true;
	}
	memmove(&t->entries[lo + n], &t->entries[hi], (t->num - hi) * sizeof(t->entries[0]));
	memcpy(&t->entries[lo], piece, n * sizeof(piece[0]));
	t->num = t->num - (hi - lo) + n;
	return hi - lo;
}

/*
 * Return: entries the update overlapped (replaced where it lies); -EINVAL
 * (size 0, a range that wraps, perm not RO/WO/RW); -ENOMEM.
 */
int vub_iotlb_update(struct vub_iotlb *t, uint64_t iova, uint64_t size, uint64_t uaddr,
		     uint8_t perm)
{
	unsigned int pos, replaced;
	uint64_t last;

	if (size == 0 || size - 1 > UINT64_MAX - iova || size - 1 > UINT64_MAX - uaddr)
		return -EINVAL;
	if (perm == 0 || (perm & ~VHOST_ACCESS_RW))
		return -EINVAL;
	if (!t->entries) {
		t->entries = calloc(VUB_IOTLB_MAX_ENTRIES, sizeof(*t->entries));
		if (!t->entries)
			return -ENOMEM;
	}
	last = iova + (size - 1);
	/* An update over mapped IOVAs replaces them: the newest mapping is the IOMMU's. */
	replaced = vub_iotlb_remove(t, iova, last);
	if (t->num == VUB_IOTLB_MAX_ENTRIES) {
		/* Bounded: evict one (xorshift pick, like DPDK's random eviction); it misses again. */
		t->evict_state ^= t->evict_state << 13;
		t->evict_state ^= t->evict_state >> 17;
		t->evict_state ^= t->evict_state << 5;
		pos = t->evict_state % t->num;
		memmove(&t->entries[pos], &t->entries[pos + 1],
			(t->num - pos - 1) * sizeof(t->entries[0]));
		t->num--;
		t->evictions++;
		t->dropped = true;
	}
	pos = vub_iotlb_floor(t, iova);
	pos = pos == t->num ? 0 : pos + 1;
	memmove(&t->entries[pos + 1], &t->entries[pos], (t->num - pos) * sizeof(t->entries[0]));
	t->entries[pos] =
		(struct vub_iotlb_entry){.iova = iova, .last = last, .uaddr = uaddr, .perm = perm};
	t->num++;
	return (int)replaced;
}

/* Return: entries removed (0: nothing there, not an error); -EINVAL (size 0, wraps). */
int vub_iotlb_invalidate(struct vub_iotlb *t, uint64_t iova, uint64_t size)
{
	if (size == 0 || size - 1 > UINT64_MAX - iova)
		return -EINVAL;
	return (int)vub_iotlb_remove(t, iova, iova + (size - 1));
}

/* @e grants @need (0: any access at all). */
static bool vub_iotlb_perm_ok(const struct vub_iotlb_entry *e, uint8_t need)
{
	return need ? (e->perm & need) == need : e->perm != 0;
}

/*
 * Return: 0 with *@uaddr and *@contig (1..@len: entries that continue one
 * another in both IOVA and user address are joined); -EAGAIN (@iova not
 * mapped: a miss); -EACCES (mapped without @need).
 */
int vub_iotlb_lookup(const struct vub_iotlb *t, uint64_t iova, uint64_t len, uint8_t need,
		     uint64_t *uaddr, uint64_t *contig)
{
	unsigned int i = vub_iotlb_floor(t, iova);
	const struct vub_iotlb_entry *e;
	uint64_t have; /* bytes available from @iova, minus one (no overflow at 2^64) */

	if (len == 0 || i == t->num || iova > t->entries[i].last)
		return -EAGAIN;
	e = &t->entries[i];
	if (!vub_iotlb_perm_ok(e, need))
		return -EACCES;
	*uaddr = e->uaddr + (iova - e->iova);
	have = e->last - iova;
	while (have < len - 1 && i + 1 < t->num) {
		const struct vub_iotlb_entry *n = &t->entries[i + 1];

		if (e->last == UINT64_MAX || n->iova != e->last + 1 ||
		    n->uaddr != e->uaddr + (e->last - e->iova) + 1 || !vub_iotlb_perm_ok(n, need))
			break;
		have += n->last - n->iova + 1;
		e = n;
		i++;
	}
	*contig = have >= len - 1 ? len : have + 1;
	return 0;
}

/*
 * What the IOTLB did, at a connection's end: shows that the I/O went through IOVAs. The
 * counters are the server's totals (vireo_vhost_user_backend_iotlb_stats() reads them too).
 */
static void vub_iotlb_log_counters(struct vhost_user_backend *b)
{
	uint64_t misses = 0;
	unsigned int i;

	for (i = 0; i < VDEV_MAX_QUEUES; i++)
		misses += atomic_load_explicit(&b->iova[i].misses, memory_order_relaxed);
	if (b->iotlb.updates || b->iotlb.invalidations || misses)
		log_info("vhost-user: IOTLB: %" PRIu64 " misses asked, %" PRIu64
			 " updates, %" PRIu64 " invalidations applied (totals)",
			 misses, b->iotlb.updates, b->iotlb.invalidations);
}

/*
 * The last started ring stopped (GET_VRING_BASE): drop every translation. A
 * cache may: what is used again is asked for again (D-VU-IOTLB-05). Needed:
 * QEMU 7.2's intel-iommu does not pass on the invalidations of a domain torn
 * down (a guest's VFIO container closed), and the driver that starts the device
 * next maps the same IOVAs elsewhere. (DPDK drops its IOTLB at SET_MEM_TABLE.)
 */
void vub_iotlb_device_stopped(struct vhost_user_backend *b)
{
	unsigned int i;

	for (i = 0; i < b->dev->num_queues; i++)
		if (b->queues[i].started)
			return;
	if (b->iotlb.num)
		log_debug("vhost-user: device stopped: %u IOTLB entries dropped", b->iotlb.num);
	vub_iotlb_clear(&b->iotlb);
	vub_chan_forget_waiting(b);
	for (i = 0; i < VDEV_MAX_QUEUES; i++) {
		b->iova[i].miss_pending = false;
		b->iova[i].ring_waiting = false;
	}
}

/* At disconnect: no channel, no translations, no pending misses. */
void vub_iotlb_disconnect(struct vhost_user_backend *b)
{
	unsigned int i;

	vub_iotlb_log_counters(b);
	vub_chan_close(b);
	vub_iotlb_clear(&b->iotlb);
	for (i = 0; i < VDEV_MAX_QUEUES; i++) {
		b->iova[i].miss_pending = false;
		b->iova[i].ring_waiting = false;
	}
}

/* ---- translation for the rings (queue threads) ---- */

/*
 * A user address range to a host pointer through the memory table; clamps
 * *@contig to the region. Return: the pointer, or NULL outside every region
 * (the front-end broke "IOTLB ranges must lie inside memory-table regions").
 */
static void *vub_user_to_host(const struct vhost_user_backend *b, uint64_t ua, uint64_t *contig)
{
	unsigned int i;

	for (i = 0; i < b->num_regions; i++) {
		const struct vub_region *reg = &b->regions[i];
		uint64_t off = ua - reg->r.user_addr;

		if (ua < reg->r.user_addr || off >= reg->r.size)
			continue;
		if (*contig > reg->r.size - off)
			*contig = reg->r.size - off;
		return (char *)reg->host + off;
	}
	return NULL;
}

/*
 * A miss on queue @ctx: ask once per IOVA until it is answered (D-VU-IOTLB-05):
 * an update that covers it, or its reply judging an IOMMU since changed.
 */
static void vub_iova_miss(struct vub_iova_ctx *ctx, uint64_t iova, uint8_t perm)
{
	int ret;

	if (ctx->miss_pending && ctx->miss_sent && ctx->miss_iova == iova && ctx->miss_perm == perm)
		return;
	/* Pending even if the channel was full: the next update retries the queue and re-asks. */
	ctx->miss_pending = true;
	ctx->miss_iova = iova;
	ctx->miss_perm = perm;
	ret = vub_chan_send_iotlb(ctx->b, VHOST_IOTLB_MISS, iova, perm, ctx->index);
	ctx->miss_sent = ret >= 0;
	ctx->miss_tracked = ret > 0;
	/* Relaxed: a statistic (vireo_vhost_user_backend_iotlb_stats()): MISS messages sent. */
	if (ret >= 0)
		atomic_fetch_add_explicit(&ctx->misses, 1, memory_order_relaxed);
}

/* vring_mem.translate_access for queue @opaque: see <vireo/vring.h>. */
static int vub_iova_translate_access(const void *opaque, uint64_t addr, uint64_t len,
				     bool device_writes, void **host, uint64_t *contiguous)
{
	struct vub_iova_ctx *ctx = (struct vub_iova_ctx *)opaque;
	const struct vhost_user_backend *b = ctx->b;
	/* D-VU-IOTLB-06: the device reads RO/RW entries and writes WO/RW ones. */
	uint8_t need = device_writes ? VHOST_ACCESS_WO : VHOST_ACCESS_RO;
	uint64_t ua, contig;
	int ret;

	ret = vub_iotlb_lookup(&b->iotlb, addr, len, need, &ua, &contig);
	if (ret == -EAGAIN) {
		vub_iova_miss(ctx, addr, need);
		return -EAGAIN;
	}
	if (ret == -EACCES) {
		log_warn("vhost-user: queue %u: iova 0x%" PRIx64 " mapped without %s access",
			 ctx->index, addr, device_writes ? "write" : "read");
		(void)vub_chan_send_iotlb(ctx->b, VHOST_IOTLB_ACCESS_FAIL, addr, need, ctx->index);
		return -EACCES;
	}
	*host = vub_user_to_host(b, ua, &contig);
	if (!*host) {
		log_warn("vhost-user: queue %u: iova 0x%" PRIx64 " maps outside the memory table",
			 ctx->index, addr);
		return -EFAULT;
	}
	*contiguous = contig;
	/* Relaxed: a statistic, like the misses. */
	atomic_fetch_add_explicit(&ctx->hits, 1, memory_order_relaxed);
	return 0;
}

/* vring_mem.translate: the ring parts at init, which vub_iotlb_ring_check() found mapped. */
static void *vub_iova_translate(const void *opaque, uint64_t addr, uint64_t len,
				uint64_t *contiguous)
{
	const struct vub_iova_ctx *ctx = opaque;
	uint64_t ua, contig;

	if (vub_iotlb_lookup(&ctx->b->iotlb, addr, len, 0, &ua, &contig) < 0)
		return NULL;
	*contiguous = contig;
	return vub_user_to_host(ctx->b, ua, contiguous);
}

struct vring_mem vub_iotlb_vring_mem(struct vhost_user_backend *b, unsigned int i)
{
	struct vring_mem vm = {
		.translate = vub_iova_translate,
		.translate_access = vub_iova_translate_access,
		.opaque = &b->iova[i],
	};

	return vm;
}

/* ---- rings (control thread) ---- */

/* The three parts of queue @i's ring with the access the device needs on each. */
static unsigned int vub_ring_parts(const struct vhost_user_backend *b, unsigned int i,
				   uint64_t iova[3], uint64_t size[3], uint8_t need[3])
{
	const struct vub_queue *q = &b->queues[i];
	uint64_t num = b->dev->queues[i].num;
	bool packed = vdev_has_feature(b->dev, VIRTIO_F_RING_PACKED);

	iova[0] = q->desc_ua;
	iova[1] = q->avail_ua;
	iova[2] = q->used_ua;
	/* §2.7 split: desc 16n, avail 6+2n, used 6+8n; §2.8 packed: desc 16n, two 4-byte events. */
	size[0] = 16 * num;
	size[1] = packed ? 4 : 6 + 2 * num;
	size[2] = packed ? 4 : 6 + 8 * num;
	need[0] = packed ? VHOST_ACCESS_RW : VHOST_ACCESS_RO;
	need[1] = VHOST_ACCESS_RO;
	need[2] = VHOST_ACCESS_WO;
	return 3;
}

/*
 * D-VU-IOTLB-02: ring addresses are IOVAs. Return: 0 (every part mapped with
 * the access it needs); 1 (a part missed: asked for, the ring waits for the
 * update); -EACCES (a part mapped without that access: *@why).
 */
int vub_iotlb_ring_check(struct vhost_user_backend *b, unsigned int i, const char **why)
{
	uint64_t iova[3], size[3], ua, contig;
	uint8_t need[3];
	unsigned int n = vub_ring_parts(b, i, iova, size, need);
	int ret;

	for (unsigned int p = 0; p < n; p++) {
		uint64_t at = iova[p], left = size[p];

		if (left - 1 > UINT64_MAX - at) {
			*why = "ring address range wraps";
			return -EACCES;
		}
		while (left) {
			ret = vub_iotlb_lookup(&b->iotlb, at, left, need[p], &ua, &contig);
			if (ret == -EACCES) {
				*why = "ring mapped without the access the device needs";
				return -EACCES;
			}
			if (ret == -EAGAIN) {
				b->iova[i].ring_waiting = true;
				vub_iova_miss(&b->iova[i], at, need[p]);
				return 1;
			}
			at += contig;
			left -= contig;
		}
	}
	b->iova[i].ring_waiting = false;
	return 0;
}

/* Any part of queue @i's ring overlaps [@iova, @last]. */
static bool vub_ring_overlaps(const struct vhost_user_backend *b, unsigned int i, uint64_t iova,
			      uint64_t last)
{
	uint64_t p_iova[3], size[3];
	uint8_t need[3];
	unsigned int n = vub_ring_parts(b, i, p_iova, size, need);

	for (unsigned int p = 0; p < n; p++) {
		/* [p_iova, p_iova + size - 1] meets [iova, last], without summing past 2^64. */
		if (p_iova[p] <= iova ? iova - p_iova[p] <= size[p] - 1 : p_iova[p] <= last)
			return true;
	}
	return false;
}

/* Queue @i's pending miss is answered: it tries again (its ring start, or its kick fd). */
static void vub_iotlb_retry_queue(struct vhost_user_backend *b, unsigned int i)
{
	const char *why = NULL;

	b->iova[i].miss_pending = false;
	if (b->iova[i].ring_waiting) {
		if (vub_try_start(b, i, &why) < 0)
			vireo_vdev_set_needs_reset(b->dev, why);
	} else if (b->dev->queues[i].enabled) {
		/* The pop that missed consumed nothing: a kick makes the model pop again. */
		(void)vireo_vdev_queue_kick_again(&b->dev->queues[i]);
	}
}

/*
 * After an update of [@iova, @last]: the queues whose miss it answers retry,
 * and only those ("an update message containing the IOTLB entry containing
 * requested address": D-VU-IOTLB-05), so a queue whose IOVA is still unmapped
 * does not ask again. The update's permission is not compared: a retry
 * through a too narrow one is refused as an access failure (D-VU-IOTLB-06),
 * not left waiting. A miss that did not go out, or whose reply will not
 * come, cannot be judged otherwise: it retries at every update (and re-asks).
 */
static void vub_iotlb_retry(struct vhost_user_backend *b, uint64_t iova, uint64_t last)
{
	for (unsigned int i = 0; i < b->dev->num_queues; i++) {
		const struct vub_iova_ctx *ctx = &b->iova[i];

		if (!ctx->miss_pending)
			continue;
		if (!ctx->miss_sent || !ctx->miss_tracked ||
		    (ctx->miss_iova >= iova && ctx->miss_iova <= last))
			vub_iotlb_retry_queue(b, i);
	}
}

void vub_iotlb_miss_unjudged(struct vhost_user_backend *b, unsigned int queue, uint64_t iova,
			     uint8_t perm)
{
	const struct vub_iova_ctx *ctx = &b->iova[queue];

	/* Only the miss still pending: a queue that moved on waits for its own answer. */
	if (queue < b->dev->num_queues && ctx->miss_pending && ctx->miss_iova == iova &&
	    ctx->miss_perm == perm)
		vub_iotlb_retry_queue(b, queue);
}

void vub_iotlb_chan_changed(struct vhost_user_backend *b)
{
	for (unsigned int i = 0; i < b->dev->num_queues; i++)
		if (b->iova[i].miss_pending)
			vub_iotlb_retry_queue(b, i);
}

/*
 * D-VU-IOTLB-03: after the ack nothing uses the old translation of [@iova, @last], in a
 * ring, also one the table no longer holds (evicted), nor, with @quiesce, in flight.
 */
static void vub_iotlb_invalidated(struct vhost_user_backend *b, uint64_t iova, uint64_t last,
				  bool quiesce)
{
	const char *why = NULL;

	/* Requests hold host pointers from the old mappings: they finish before the ack. */
	if (quiesce) {
		vireo_vdev_quiesce(b->dev);
		b->iotlb.dropped = false;
	}
	/*
	 * A running ring translated its parts when it started: one that overlaps the range
	 * restarts even if the table held none of it (its entry was evicted since).
	 */
	for (unsigned int i = 0; i < b->dev->num_queues; i++) {
		if (!b->dev->queues[i].enabled || !vub_ring_overlaps(b, i, iova, last))
			continue;
		log_info("vhost-user: queue %u: ring invalidated: stopped until it is mapped again",
			 i);
		vub_quiesce(b, i);
		if (vub_try_start(b, i, &why) < 0)
			vireo_vdev_set_needs_reset(b->dev, why);
	}
}

/* D-VU-IOTLB-04: an update's user range lies inside one memory-table region. */
static bool vub_iotlb_in_memory(const struct vhost_user_backend *b, uint64_t uaddr, uint64_t size)
{
	uint64_t contig = size;

	return vub_user_to_host(b, uaddr, &contig) && contig == size;
}

/* Return: 0, or -EINVAL with *@why (the message is refused: non-zero reply). */
static int vub_iotlb_apply(struct vhost_user_backend *b, const struct vhost_user_iotlb *m,
			   const char **why)
{
	int ret;

	if (!(b->protocol_features & VIRTIO_BIT(VHOST_USER_PROTOCOL_F_IOTLB))) {
		*why = "PROTOCOL_F_IOTLB not negotiated";
		return -EINVAL;
	}
	switch (m->type) {
	case VHOST_IOTLB_UPDATE:
		if (m->perm == 0 || (m->perm & ~VHOST_ACCESS_RW)) {
			*why = "update with permissions other than RO, WO or RW";
			return -EINVAL;
		}
		if (m->size == 0 || m->size - 1 > UINT64_MAX - m->iova ||
		    m->size - 1 > UINT64_MAX - m->uaddr) {
			*why = "update of size 0, or a range that wraps";
			return -EINVAL;
		}
		if (!vub_iotlb_in_memory(b, m->uaddr, m->size)) {
			*why = "update outside the memory table's regions";
			return -EINVAL;
		}
		ret = vub_iotlb_update(&b->iotlb, m->iova, m->size, m->uaddr, m->perm);
		if (ret < 0) {
			*why = "out of memory";
			return ret;
		}
		b->iotlb.updates++;
		/*
		 * A remap of mapped IOVAs revokes their old translation, as an invalidation
		 * does (an IOMMU invalidates an IOVA before it maps it anew: an evicted one's
		 * requests wait for that invalidation).
		 */
		vub_iotlb_invalidated(b, m->iova, m->iova + (m->size - 1), ret > 0);
		vub_iotlb_retry(b, m->iova, m->iova + (m->size - 1));
		return 0;
	case VHOST_IOTLB_INVALIDATE:
		ret = vub_iotlb_invalidate(&b->iotlb, m->iova, m->size);
		if (ret < 0) {
			*why = "invalidation of size 0, or a range that wraps";
			return ret;
		}
		b->iotlb.invalidations++;
		/*
		 * A range not present is no error: the IOMMU unmaps what we never asked for, or
		 * what the table evicted, whose requests may still be in flight (dropped).
		 */
		vub_iotlb_invalidated(b, m->iova, m->iova + (m->size - 1),
				      ret > 0 || b->iotlb.dropped);
		return 0;
	default:
		*why = "type not sent by a front-end (only UPDATE and INVALIDATE are)";
		return -EINVAL;
	}
}

/* IOTLB_MSG: always a u64 reply, 0 on success (D-VU-22); a refusal keeps the connection. */
void vub_iotlb_msg(struct vhost_user_backend *b, const struct vhost_user_iotlb *m,
		   struct vhost_user_msg *reply)
{
	const char *why = "refused";
	int ret = vub_iotlb_apply(b, m, &why);

	if (ret < 0)
		log_warn("vhost-user: connection %lu: IOTLB_MSG type %u iova 0x%" PRIx64
			 " size 0x%" PRIx64 " perm %u refused: %s",
			 b->conn_count, m->type, m->iova, m->size, m->perm, why);
	reply->hdr.size = sizeof(uint64_t);
	reply->payload.u64 = ret < 0;
}

/* Control thread (the statistics are read where the IOTLB is written). */
void vireo_vhost_user_backend_iotlb_stats(const struct vhost_user_backend *b,
					  struct vhost_user_backend_iotlb_stats *st)
{
	unsigned int i;

	memset(st, 0, sizeof(*st));
	st->active = vdev_has_feature(b->dev, VIRTIO_F_ACCESS_PLATFORM);
	for (i = 0; i < VDEV_MAX_QUEUES; i++) {
		st->hits += atomic_load_explicit(&b->iova[i].hits, memory_order_relaxed);
		st->misses += atomic_load_explicit(&b->iova[i].misses, memory_order_relaxed);
	}
	st->updates = b->iotlb.updates;
	st->invalidations = b->iotlb.invalidations;
	st->evictions = b->iotlb.evictions;
	st->entries = b->iotlb.num;
}
