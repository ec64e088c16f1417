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

/*
 * vring_mem_find() - translate [@addr, @addr + @len) (@len > 0, no wrap:
 * the caller checked) like mem->translate, through the queue's cache *@last
 * of the region last hit when mem->region is set.
 * Return: the host pointer and *@contig (1..@len), or NULL.
 */
void *vring_mem_find(const struct vring_mem *mem, const struct vring_mem_region **last,
		     uint64_t addr, uint64_t len, uint64_t *contig);

/* vring_chain_acc_init() - start accumulating a chain into @iov[0, @iov_cap) */
void vring_chain_acc_init(struct vring_chain_acc *w, const struct vring_mem *mem,
			  const struct vring_mem_region **last, struct vring_iov *iov,
			  unsigned int iov_cap);

/*
 * vring_chain_acc_add() - account one buffer element already copied out of
 * guest memory. Return: VRING_ERR_NONE or the rule it breaks.
 */
enum vring_error vring_chain_acc_add(struct vring_chain_acc *w, uint64_t addr, uint32_t len,
				     bool writable);

/* vring_chain_acc_fill() - the finished chain, named by @head (split) or buffer id (packed) */
void vring_chain_acc_fill(const struct vring_chain_acc *w, uint16_t head,
			  struct vring_chain *chain);

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
 * vring_split_chain_walk() - read the chain starting at @head (< q->num)
 * into @iov, readable segments first, filling @chain.
 * Return: VRING_ERR_NONE, or the rule the driver broke; @iov and @chain are
 * then partly written and must be ignored.
 */
enum vring_error vring_split_chain_walk(struct vring_split_dev *q, uint16_t head,
					struct vring_chain *chain, struct vring_iov *iov,
					unsigned int iov_cap);

#endif /* VIREO_RING_CHAIN_H */
