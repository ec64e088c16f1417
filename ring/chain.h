/* SPDX-License-Identifier: MIT */
/*
 * Private to ring/: the bounded, validating walk of one descriptor chain.
 * The accumulator (struct vring_chain_acc) is shared by both ring formats:
 * it checks ordering, the 32-bit byte total and the iov capacity, and
 * translates every buffer with its length (STYLE.md checklist items 3-4).
 */
#ifndef VIREO_RING_CHAIN_H
#define VIREO_RING_CHAIN_H

#include <vireo/vring.h>

#include "ring/platform.h"

/* An indirect table longer than the largest queue is refused (bounds the walk). */
#define VRING_INDIRECT_MAX_ENTRIES 32768u

struct vring_chain_acc {
	const struct vring_mem *mem;
	const struct vring_mem_region **last; /* the queue's region cache (see vring_mem_find) */
	struct vring_iov *iov;
	uint32_t iov_cap;
	uint32_t n_iov;
	uint64_t total;
	uint32_t readable_bytes;
	uint32_t writable_bytes;
	uint16_t readable;
	uint16_t writable;
	bool seen_writable;
};

/* The per-buffer steps, inline: a chain of one buffer costs no call (issue 9). */

/*
 * A hit re-reads the cached table slot: it holds the region the table has
 * there now (size 0 once empty), and regions never overlap, so a region
 * holding @addr is the one translate would find. Nothing stale survives a
 * table change: it is seen at the next use.
 */
static inline void *vring_mem_hit(const struct vring_mem_region *r, uint64_t addr, uint64_t len,
				  uint64_t *contig)
{
	uint64_t start = r->guest_addr, size = r->size, off = addr - start, avail;

	if (addr < start || off >= size)
		return NULL;
	avail = size - off;
	*contig = avail < len ? avail : len;
	return (char *)r->host + off;
}

/**
 * vring_map_ring_part() - the host pointer of a ring part (descriptor table,
 * avail/used ring, event area) at guest @addr: wholly inside one guest region
 * and aligned to @align both in the guest and in the host.
 * Return: the pointer, or NULL when either does not hold.
 */
void *vring_map_ring_part(const struct vring_mem *mem, uint64_t addr, size_t size,
			  unsigned int align);

/* The miss path of vring_mem_find() (chain.c). */
void *vring_mem_find_miss(const struct vring_mem *mem, const struct vring_mem_region **last,
			  uint64_t addr, uint64_t len, uint64_t *contig);

/*
 * vring_mem_find() - translate [@addr, @addr + @len) (@len > 0, no wrap:
 * the caller checked) like mem->translate, through the queue's cache *@last
 * of the region last hit when mem->region is set. Inline: a hit costs no call.
 * Return: the host pointer and *@contig (1..@len), or NULL.
 */
static inline void *vring_mem_find(const struct vring_mem *mem,
				   const struct vring_mem_region **last, uint64_t addr,
				   uint64_t len, uint64_t *contig)
{
	void *p;

	if (!mem->region)
		return mem->translate(mem->opaque, addr, len, contig);
	if (*last) {
		p = vring_mem_hit(*last, addr, len, contig);
		if (p)
			return p;
	}
	return vring_mem_find_miss(mem, last, addr, len, contig);
}

static inline void vring_chain_acc_init(struct vring_chain_acc *w, const struct vring_mem *mem,
					const struct vring_mem_region **last, struct vring_iov *iov,
					unsigned int iov_cap)
{
	w->mem = mem;
	w->last = last;
	w->iov = iov;
	w->iov_cap = iov_cap > UINT16_MAX ? UINT16_MAX : iov_cap;
	w->n_iov = 0;
	w->total = 0;
	w->readable_bytes = 0;
	w->writable_bytes = 0;
	w->readable = 0;
	w->writable = 0;
	w->seen_writable = false;
}

/* One more iov entry of the chain: @contig bytes at @p (the caller checked room for it). */
static inline void vring_chain_acc_append(struct vring_chain_acc *w, void *p, uint64_t contig,
					  bool writable)
{
	w->iov[w->n_iov].base = p;
	w->iov[w->n_iov].len = (size_t)contig;
	w->n_iov++;
	if (writable)
		w->writable++;
	else
		w->readable++;
}

/* vring_chain_map() through mem->translate_access (chain.c): errors MAP_PENDING, ACCESS. */
enum vring_error vring_chain_map_access(struct vring_chain_acc *w, uint64_t addr, uint32_t len,
					bool writable);

/* Translate [addr, addr + len) into as many iov entries as regions it spans. */
static inline enum vring_error vring_chain_map(struct vring_chain_acc *w, uint64_t addr,
					       uint32_t len, bool writable)
{
	/* checklist 4: gpa + len must not wrap the 64-bit space */
	if ((uint64_t)len - 1 > UINT64_MAX - addr)
		return VRING_ERR_ADDRESS;
	/* IOVAs (VIRTIO_F_ACCESS_PLATFORM): never through the region cache */
	if (w->mem->translate_access)
		return vring_chain_map_access(w, addr, len, writable);
	while (len) {
		uint64_t contig = 0;
		void *p;

		if (w->n_iov == w->iov_cap)
			return VRING_ERR_IOV_CAPACITY;
		p = vring_mem_find(w->mem, w->last, addr, len, &contig);
		if (!p || contig == 0 || contig > len)
			return VRING_ERR_ADDRESS;
		vring_chain_acc_append(w, p, contig, writable);
		addr += contig;
		len -= (uint32_t)contig;
	}
	return VRING_ERR_NONE;
}

static inline enum vring_error vring_chain_acc_add(struct vring_chain_acc *w, uint64_t addr,
						   uint32_t len, bool writable)
{
	/* §2.7.4.2 (R-SR-02), §2.8.6 (R-PR-05): device-writable elements come after readable ones */
	if (!writable && w->seen_writable)
		return VRING_ERR_WRITABLE_ORDER;
	if (writable)
		w->seen_writable = true;
	/* §2.7.5.2 (R-SR-03): a chain's bytes add up to at most 2^32 - 1 */
	w->total += len;
	if (w->total > UINT32_MAX)
		return VRING_ERR_BYTES_OVERFLOW;
	if (writable)
		w->writable_bytes += len;
	else
		w->readable_bytes += len;
	if (len == 0)
		return VRING_ERR_NONE;
	return vring_chain_map(w, addr, len, writable);
}

/*
 * vring_chain_one() - the common chain, one direct buffer in one region,
 * without the accumulator: when it returns true, the result is what
 * vring_chain_acc_add() on a fresh accumulator, then vring_chain_acc_fill(),
 * give. False (nothing taken; a zero length, a buffer that wraps, leaves
 * guest memory or spans regions, no iov room): the caller walks the general
 * way, which finds the error or splits the buffer.
 */
static inline bool vring_chain_one(const struct vring_mem *mem,
				   const struct vring_mem_region **last, uint64_t addr,
				   uint32_t len, bool writable, uint16_t head,
				   struct vring_chain *chain, struct vring_iov *iov,
				   unsigned int iov_cap)
{
	uint64_t contig = 0;
	void *p;

	/* checklist 4: the same wrap and length checks as vring_chain_map(); IOVAs walk generally */
	if (len == 0 || iov_cap == 0 || (uint64_t)len - 1 > UINT64_MAX - addr ||
	    mem->translate_access)
		return false;
	p = vring_mem_find(mem, last, addr, len, &contig);
	if (!p || contig != len)
		return false;
	iov[0].base = p;
	iov[0].len = len;
	chain->head = head;
	chain->readable = writable ? 0 : 1;
	chain->writable = writable ? 1 : 0;
	chain->readable_bytes = writable ? 0 : len;
	chain->writable_bytes = writable ? len : 0;
	return true;
}

/* vring_chain_acc_fill() - the finished chain, named by @head (split) or buffer id (packed) */
static inline void vring_chain_acc_fill(const struct vring_chain_acc *w, uint16_t head,
					struct vring_chain *chain)
{
	chain->head = head;
	chain->readable = w->readable;
	chain->writable = w->writable;
	chain->readable_bytes = w->readable_bytes;
	chain->writable_bytes = w->writable_bytes;
}

/*
 * vring_chain_map_table() - map an indirect table of @len bytes at @addr
 * whose entries are @entry_size bytes: non-zero multiple, at most
 * VRING_INDIRECT_MAX_ENTRIES entries, in one guest region.
 * Return: VRING_ERR_NONE and *@table, *@entries set; else the rule broken.
 */
enum vring_error vring_chain_map_table(const struct vring_mem *mem,
				       const struct vring_mem_region **last, uint64_t addr,
				       uint32_t len, uint32_t entry_size, const void **table,
				       uint32_t *entries);

/*
 * vring_split_chain_walk_general() - read the chain starting at @head
 * (< q->num), whose first descriptor is @first (copied out of the table
 * once), into @iov, readable segments first, filling @chain.
 * Return: VRING_ERR_NONE, or the rule the driver broke; @iov and @chain are
 * then partly written and must be ignored.
 */
enum vring_error vring_split_chain_walk_general(struct vring_split_dev *q, uint16_t head,
						const struct virtq_desc *first,
						struct vring_chain *chain, struct vring_iov *iov,
						unsigned int iov_cap);

/*
 * vring_split_chain_walk() - vring_split_chain_walk_general() from the
 * table's descriptor @head, the common chain (one direct buffer in one
 * region; a one-step walk never loops) inline.
 */
static VRING_ALWAYS_INLINE enum vring_error
vring_split_chain_walk(struct vring_split_dev *q, uint16_t head, struct vring_chain *chain,
		       struct vring_iov *iov, unsigned int iov_cap)
{
	struct virtq_desc d;

	/* GUEST: head < num (checked by the caller); the table translated whole at init. */
	vring_desc_read(&q->desc[head], &d);
	if (VRING_LIKELY(!(d.flags & (VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_INDIRECT))) &&
	    vring_chain_one(&q->mem, &q->mem_last, d.addr, d.len, d.flags & VIRTQ_DESC_F_WRITE,
			    head, chain, iov, iov_cap))
		return VRING_ERR_NONE;
	return vring_split_chain_walk_general(q, head, &d, chain, iov, iov_cap);
}

#endif /* VIREO_RING_CHAIN_H */
