/* SPDX-License-Identifier: MIT */
/*
 * Guest memory as the device side sees it: a small table of regions, each a
 * range of guest (driver-visible) addresses backed by host memory the caller
 * mapped. The table never maps or unmaps; its owner (a transport) does.
 */
#ifndef VIREO_GUEST_MEM_H
#define VIREO_GUEST_MEM_H

#include <stdint.h>

#include <vireo/vring.h>
#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GUEST_MEM_MAX_REGIONS 32

/*
 * The table: regions[0, num_regions) sorted by guest address, each a
 * struct vring_mem_region (first guest address, bytes, host address); the
 * slots after them are zero. The ring caches a pointer to a slot (struct
 * vring_mem's region hook): the table must outlive every ring using it.
 */
struct guest_mem {
	struct vring_mem_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned int num_regions;
};

/** vireo_guest_mem_init() - an empty map */
VIREO_API void vireo_guest_mem_init(struct guest_mem *mem);

/**
 * vireo_guest_mem_add_region() - add [@guest_addr, @guest_addr + @size) at @host
 * Return: 0; -EINVAL if @size is 0, @host is NULL, the range overflows 64
 * bits (guest side) or the address space (host side), or overlaps an
 * existing region; -ENOSPC if the table is full. A region may end at the
 * last byte of the 64-bit space.
 */
VIREO_API int vireo_guest_mem_add_region(struct guest_mem *mem, uint64_t guest_addr, uint64_t size,
					 void *host);

/**
 * vireo_guest_mem_remove_region() - remove the region that starts at @guest_addr
 * Return: 0, or -ENOENT if there is none.
 */
VIREO_API int vireo_guest_mem_remove_region(struct guest_mem *mem, uint64_t guest_addr);

/**
 * vireo_guest_mem_translate() - host pointer for guest address @addr
 * @len: bytes the caller wants (non-zero)
 * @contiguous: set to the bytes available contiguously from there, at most @len
 * Return: the host pointer, or NULL if @addr is outside every region or
 * @addr + @len overflows. A range spanning regions returns the first piece;
 * the caller translates the rest.
 */
VIREO_API void *vireo_guest_mem_translate(const struct guest_mem *mem, uint64_t addr, uint64_t len,
					  uint64_t *contiguous);

/**
 * vireo_guest_mem_translate_all() - like vireo_guest_mem_translate() but only succeeds if
 * all @len bytes are contiguous in one region (for fixed-size structures)
 */
VIREO_API void *vireo_guest_mem_translate_all(const struct guest_mem *mem, uint64_t addr,
					      uint64_t len);

/** vireo_guest_mem_vring_mem() - the translate hook ring/ uses, bound to @mem */
VIREO_API struct vring_mem vireo_guest_mem_vring_mem(const struct guest_mem *mem);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_GUEST_MEM_H */
