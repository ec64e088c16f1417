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
#include <errno.h>
#include <stdint.h>

#include <vireo/vring.h>

#include "ring/chain.h"
#include "ring/platform.h"

/* One ring part (chain.h): wholly inside one guest region, host pointer aligned too. */
void *vring_map_ring_part(const struct vring_mem *mem, uint64_t addr, size_t size,
			  unsigned int align)
{
	uint64_t contig = 0;
	void *p;

	if (addr % align)
		return NULL;
	p = mem->translate(mem->opaque, addr, size, &contig);
	if (!p || contig != size || (uintptr_t)p % align)
		return NULL;
	return p;
}

/* The miss path of vring_mem_find() (chain.h): ask the table, remember the slot. */
void *vring_mem_find_miss(const struct vring_mem *mem, const struct vring_mem_region **last,
			  uint64_t addr, uint64_t len, uint64_t *contig)
{
	const struct vring_mem_region *r = mem->region(mem->opaque, addr);
	void *p;

	if (!r)
		return NULL;
	p = vring_mem_hit(r, addr, len, contig);
	if (p)
		*last = r;
	return p;
}

/*
 * One translation through @mem's translate_access (IOVAs behind an IOMMU), with the
 * device's access. Return: the host pointer, or NULL with *@err set.
 */
static void *chain_translate_access(const struct vring_mem *mem, uint64_t addr, uint64_t len,
				    bool writable, uint64_t *contig, enum vring_error *err)
{
	void *p = 0;
	int r = mem->translate_access(mem->opaque, addr, len, writable, &p, contig);

	*err = r == -EAGAIN   ? VRING_ERR_MAP_PENDING
	       : r == -EACCES ? VRING_ERR_ACCESS
			      : VRING_ERR_ADDRESS;
	return r == 0 ? p : 0;
}

/* vring_chain_map() for a vring_mem with translate_access: no region cache, errors kept. */
enum vring_error vring_chain_map_access(struct vring_chain_acc *w, uint64_t addr, uint32_t len,
					bool writable)
{
	while (len) {
		enum vring_error err;
		uint64_t contig = 0;
		void *p;

		if (w->n_iov == w->iov_cap)
			return VRING_ERR_IOV_CAPACITY;
		p = chain_translate_access(w->mem, addr, len, writable, &contig, &err);
		if (!p)
			return err;
		if (contig == 0 || contig > len)
			return VRING_ERR_ADDRESS;
		vring_chain_acc_append(w, p, contig, writable);
		addr += contig;
		len -= (uint32_t)contig;
	}
	return VRING_ERR_NONE;
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
	if (mem->translate_access) {
		enum vring_error err;

		t = chain_translate_access(mem, addr, len, false, &contig, &err);
		if (!t)
			return err;
	} else {
		t = vring_mem_find(mem, last, addr, len, &contig);
	}
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

/* vring_split_chain_walk_general() - see chain.h. */
enum vring_error vring_split_chain_walk_general(struct vring_split_dev *q, uint16_t head,
						const struct virtq_desc *first,
						struct vring_chain *chain, struct vring_iov *iov,
						unsigned int iov_cap)
{
	struct vring_chain_acc w;
	const struct virtq_desc *table = q->desc;
	uint32_t table_len = q->num;
	uint32_t i = head;
	uint32_t steps = 1;
	bool in_indirect = false;
	enum vring_error err;
	struct virtq_desc d = *first;

	vring_chain_acc_init(&w, &q->mem, &q->mem_last, iov, iov_cap);
	for (;;) {
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			err = chain_enter_indirect(q, &d, in_indirect, &table, &table_len);
			if (err)
				return err;
			in_indirect = true;
			i = 0;
			steps = 0;
		} else {
			err = vring_chain_acc_add(&w, d.addr, d.len, d.flags & VIRTQ_DESC_F_WRITE);
			if (err)
				return err;
			if (!(d.flags & VIRTQ_DESC_F_NEXT))
				break;
			if (d.next >= table_len)
				return VRING_ERR_NEXT_RANGE;
			i = d.next;
		}
		/* §2.7.5.2: a chain is no longer than its table, else it loops */
		if (++steps > table_len)
			return VRING_ERR_CHAIN_LOOP;
		/*
		 * GUEST: i < table_len (head checked by the caller, next above);
		 * the table was translated whole (init, or chain_enter_indirect).
		 * Copied once; only the copy is used from here on.
		 */
		vring_desc_read(&table[i], &d);
	}
	vring_chain_acc_fill(&w, head, chain);
	return VRING_ERR_NONE;
}
