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

void *vring_mem_find(const struct vring_mem *mem, const struct vring_mem_region **last,
		     uint64_t addr, uint64_t len, uint64_t *contig)
{
	const struct vring_mem_region *r;
	void *p;

	if (!mem->region)
		return mem->translate(mem->opaque, addr, len, contig);
	if (*last) {
		p = vring_mem_hit(*last, addr, len, contig);
		if (p)
			return p;
	}
	r = mem->region(mem->opaque, addr);
	if (!r)
		return NULL;
	p = vring_mem_hit(r, addr, len, contig);
	if (p)
		*last = r;
	return p;
}

void vring_chain_acc_init(struct vring_chain_acc *w, const struct vring_mem *mem,
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

/* Translate [addr, addr + len) into as many iov entries as regions it spans. */
static enum vring_error chain_map(struct vring_chain_acc *w, uint64_t addr, uint32_t len,
				  bool writable)
{
	/* checklist 4: gpa + len must not wrap the 64-bit space */
	if ((uint64_t)len - 1 > UINT64_MAX - addr)
		return VRING_ERR_ADDRESS;
	while (len) {
		uint64_t contig = 0;
		void *p;

		if (w->n_iov == w->iov_cap)
			return VRING_ERR_IOV_CAPACITY;
		p = vring_mem_find(w->mem, w->last, addr, len, &contig);
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

enum vring_error vring_chain_acc_add(struct vring_chain_acc *w, uint64_t addr, uint32_t len,
				     bool writable)
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
	return chain_map(w, addr, len, writable);
}

enum vring_error vring_chain_map_table(const struct vring_mem *mem,
				       const struct vring_mem_region **last, uint64_t addr,
				       uint32_t len, uint32_t entry_size, const void **table,
				       uint32_t *entries)
{
	uint64_t contig = 0;
	const void *t;

	if (len == 0 || len % entry_size || len / entry_size > VRING_INDIRECT_MAX_ENTRIES)
		return VRING_ERR_INDIRECT_LEN;
	if ((uint64_t)len - 1 > UINT64_MAX - addr)
		return VRING_ERR_ADDRESS;
	/* The table is read as an array: it must lie in one guest region. */
	t = vring_mem_find(mem, last, addr, len, &contig);
	if (!t || contig != len)
		return VRING_ERR_ADDRESS;
	*table = t;
	*entries = len / entry_size;
	return VRING_ERR_NONE;
}

/*
 * Switch the walk to the indirect table @d points at (§2.7.5.3). The WRITE
 * flag of @d itself is ignored (D-SR-04).
 */
static enum vring_error chain_enter_indirect(struct vring_split_dev *q, const struct virtq_desc *d,
					     bool nested, const struct virtq_desc **table,
					     uint32_t *table_len)
{
	const void *t = NULL;
	enum vring_error err;

	/* §2.7.5.3.1 (R-SR-05): no INDIRECT unless INDIRECT_DESC was negotiated */
	if (!q->indirect)
		return VRING_ERR_INDIRECT_FEATURE;
	/* §2.7.5.3.1: nested indirect is forbidden */
	if (nested)
		return VRING_ERR_INDIRECT_NESTED;
	/* §2.7.5.3.1: INDIRECT and NEXT are never set together */
	if (d->flags & VIRTQ_DESC_F_NEXT)
		return VRING_ERR_INDIRECT_NEXT;
	err = vring_chain_map_table(&q->mem, &q->mem_last, d->addr, d->len,
				    (uint32_t)sizeof(struct virtq_desc), &t, table_len);
	if (err)
		return err;
	*table = t;
	return VRING_ERR_NONE;
}

void vring_chain_acc_fill(const struct vring_chain_acc *w, uint16_t head, struct vring_chain *chain)
{
	chain->head = head;
	chain->readable = w->readable;
	chain->writable = w->writable;
	chain->readable_bytes = w->readable_bytes;
	chain->writable_bytes = w->writable_bytes;
}

enum vring_error vring_split_chain_walk(struct vring_split_dev *q, uint16_t head,
					struct vring_chain *chain, struct vring_iov *iov,
					unsigned int iov_cap)
{
	struct vring_chain_acc w;
	const struct virtq_desc *table = q->desc;
	uint32_t table_len = q->num;
	uint32_t i = head;
	uint32_t steps = 0;
	bool in_indirect = false;
	enum vring_error err;
	struct virtq_desc d;

	vring_chain_acc_init(&w, &q->mem, &q->mem_last, iov, iov_cap);
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
		err = vring_chain_acc_add(&w, d.addr, d.len, d.flags & VIRTQ_DESC_F_WRITE);
		if (err)
			return err;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		if (d.next >= table_len)
			return VRING_ERR_NEXT_RANGE;
		i = d.next;
	}
	vring_chain_acc_fill(&w, head, chain);
	return VRING_ERR_NONE;
}
