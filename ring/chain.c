// SPDX-License-Identifier: MIT
/*
 * The device-side descriptor chain walk (virtio 1.2 §2.7.5 "The Virtqueue
 * Descriptor Table", §2.7.5.3 "Indirect Descriptors"), bounded and checked
 * per STYLE.md's guest-memory checklist item 3:
 *  - each descriptor is copied once into a local, then checked;
 *  - next < table length, at most table-length steps per table (loops);
 *  - indirect only if negotiated, not nested, not with NEXT, its length a
 *    non-zero multiple of 16, the table itself inside one guest region;
 *  - readable before writable, 32-bit byte total, iov capacity;
 *  - every buffer translated with its length, split across regions.
 * Zero-length descriptors obey the ordering rule but add no iov entry and
 * are never translated.
 */
#include <stdint.h>

#include <vireo/vring.h>

#include "ring/chain.h"
#include "ring/platform.h"

/* An indirect table longer than the largest queue is refused (bounds the walk). */
#define CHAIN_INDIRECT_MAX_ENTRIES VIRTQ_SPLIT_MAX_SIZE

struct chain_walk {
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

/* Translate [addr, addr + len) into as many iov entries as regions it spans. */
static enum vring_error chain_map(const struct vring_split_dev *q, struct chain_walk *w,
				  uint64_t addr, uint32_t len, bool writable)
{
	/* checklist 4: gpa + len must not wrap the 64-bit space */
	if ((uint64_t)len - 1 > UINT64_MAX - addr)
		return VRING_ERR_ADDRESS;
	while (len) {
		uint64_t contig = 0;
		void *p;

		if (w->n_iov == w->iov_cap)
			return VRING_ERR_IOV_CAPACITY;
		p = q->mem.translate(q->mem.opaque, addr, len, &contig);
		if (!p || contig == 0 || contig > len)
			return VRING_ERR_ADDRESS;
		w->iov[w->n_iov].base = p;
		w->iov[w->n_iov].len = (size_t)contig;
		w->n_iov++;
		if (writable)
			w->writable++;
		else
			w->readable++;
		addr += contig;
		len -= (uint32_t)contig;
	}
	return VRING_ERR_NONE;
}

/* Account one (non-indirect) descriptor already copied out of guest memory. */
static enum vring_error chain_add(const struct vring_split_dev *q, struct chain_walk *w,
				  const struct virtq_desc *d)
{
	bool writable = d->flags & VIRTQ_DESC_F_WRITE;

	/* §2.7.4.2 (R-SR-02): device-writable elements come after all readable ones */
	if (!writable && w->seen_writable)
		return VRING_ERR_WRITABLE_ORDER;
	if (writable)
		w->seen_writable = true;
	/* §2.7.5.2 (R-SR-03): a chain's bytes add up to at most 2^32 - 1 */
	w->total += d->len;
	if (w->total > UINT32_MAX)
		return VRING_ERR_BYTES_OVERFLOW;
	if (writable)
		w->writable_bytes += d->len;
	else
		w->readable_bytes += d->len;
	if (d->len == 0)
		return VRING_ERR_NONE;
	return chain_map(q, w, d->addr, d->len, writable);
}

/*
 * Switch the walk to the indirect table @d points at (§2.7.5.3). The WRITE
 * flag of @d itself is ignored (D-SR-04).
 */
static enum vring_error chain_enter_indirect(const struct vring_split_dev *q,
					     const struct virtq_desc *d, bool nested,
					     const struct virtq_desc **table, uint32_t *table_len)
{
	uint64_t contig = 0;
	const struct virtq_desc *t;

	/* §2.7.5.3.1 (R-SR-05): no INDIRECT unless INDIRECT_DESC was negotiated */
	if (!q->indirect)
		return VRING_ERR_INDIRECT_FEATURE;
	/* §2.7.5.3.1: nested indirect is forbidden */
	if (nested)
		return VRING_ERR_INDIRECT_NESTED;
	/* §2.7.5.3.1: INDIRECT and NEXT are never set together */
	if (d->flags & VIRTQ_DESC_F_NEXT)
		return VRING_ERR_INDIRECT_NEXT;
	if (d->len == 0 || d->len % sizeof(struct virtq_desc) ||
	    d->len / sizeof(struct virtq_desc) > CHAIN_INDIRECT_MAX_ENTRIES)
		return VRING_ERR_INDIRECT_LEN;
	if ((uint64_t)d->len - 1 > UINT64_MAX - d->addr)
		return VRING_ERR_ADDRESS;
	/* The table is read as an array: it must lie in one guest region. */
	t = q->mem.translate(q->mem.opaque, d->addr, d->len, &contig);
	if (!t || contig != d->len)
		return VRING_ERR_ADDRESS;
	*table = t;
	*table_len = d->len / (uint32_t)sizeof(struct virtq_desc);
	return VRING_ERR_NONE;
}

static void chain_fill(const struct chain_walk *w, uint16_t head, struct vring_chain *chain)
{
	chain->head = head;
	chain->readable = w->readable;
	chain->writable = w->writable;
	chain->readable_bytes = w->readable_bytes;
	chain->writable_bytes = w->writable_bytes;
}

enum vring_error vring_split_chain_walk(const struct vring_split_dev *q, uint16_t head,
					struct vring_chain *chain, struct vring_iov *iov,
					unsigned int iov_cap)
{
	struct chain_walk w = {.iov = iov, .iov_cap = iov_cap > UINT16_MAX ? UINT16_MAX : iov_cap};
	const struct virtq_desc *table = q->desc;
	uint32_t table_len = q->num;
	uint32_t i = head;
	uint32_t steps = 0;
	bool in_indirect = false;
	enum vring_error err;
	struct virtq_desc d;

	for (;;) {
		/* §2.7.5.2: a chain is no longer than its table, else it loops */
		if (++steps > table_len)
			return VRING_ERR_CHAIN_LOOP;
		/*
		 * GUEST: i < table_len (head checked by the caller, next below);
		 * the table was translated whole (init, or chain_enter_indirect).
		 * Copied once; only the copy is used from here on.
		 */
		vring_desc_read(&table[i], &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			err = chain_enter_indirect(q, &d, in_indirect, &table, &table_len);
			if (err)
				return err;
			in_indirect = true;
			i = 0;
			steps = 0;
			continue;
		}
		err = chain_add(q, &w, &d);
		if (err)
			return err;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		if (d.next >= table_len)
			return VRING_ERR_NEXT_RANGE;
		i = d.next;
	}
	chain_fill(&w, head, chain);
	return VRING_ERR_NONE;
}
