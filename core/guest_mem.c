// SPDX-License-Identifier: MIT
/*
 * Guest memory regions. The table is kept sorted by guest address so a
 * translation is a binary search; regions never overlap, so at most one
 * region can hold a given address. Ranges are handled by their last byte
 * (start + size - 1) so a region may end at the top of the 64-bit space
 * without any sum overflowing.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <vireo/guest_mem.h>

void vireo_guest_mem_init(struct guest_mem *mem)
{
	memset(mem, 0, sizeof(*mem));
}

static uint64_t region_last(const struct vring_mem_region *r)
{
	return r->guest_addr + (r->size - 1);
}

/*
 * Return: 0; -EINVAL for an empty, unmapped or wrapping range (guest or host
 * side) or one that overlaps a region already in the table; -ENOSPC when full.
 */
int vireo_guest_mem_add_region(struct guest_mem *mem, uint64_t guest_addr, uint64_t size,
			       void *host)
{
	unsigned int pos;
	uint64_t last;

	if (size == 0 || !host)
		return -EINVAL;
	if (size - 1 > UINT64_MAX - guest_addr)
		return -EINVAL;
	/* The host side must not wrap either: translate adds offsets up to size - 1. */
	if (size - 1 > UINTPTR_MAX - (uintptr_t)host)
		return -EINVAL;
	last = guest_addr + (size - 1);

	for (pos = 0; pos < mem->num_regions; pos++) {
		const struct vring_mem_region *r = &mem->regions[pos];

		if (guest_addr <= region_last(r) && r->guest_addr <= last)
			return -EINVAL;
		if (r->guest_addr > last)
			break;
	}
	if (mem->num_regions == GUEST_MEM_MAX_REGIONS)
		return -ENOSPC;

	memmove(&mem->regions[pos + 1], &mem->regions[pos],
		(mem->num_regions - pos) * sizeof(mem->regions[0]));
	mem->regions[pos].guest_addr = guest_addr;
	mem->regions[pos].size = size;
	mem->regions[pos].host = host;
	mem->num_regions++;
	return 0;
}

/* Return: 0, or -ENOENT if no region starts at @guest_addr. */
int vireo_guest_mem_remove_region(struct guest_mem *mem, uint64_t guest_addr)
{
	unsigned int i;

	for (i = 0; i < mem->num_regions; i++) {
		if (mem->regions[i].guest_addr != guest_addr)
			continue;
		memmove(&mem->regions[i], &mem->regions[i + 1],
			(mem->num_regions - i - 1) * sizeof(mem->regions[0]));
		mem->num_regions--;
		memset(&mem->regions[mem->num_regions], 0, sizeof(mem->regions[0]));
		return 0;
	}
	return -ENOENT;
}

/* The region holding @addr, or NULL. */
static const struct vring_mem_region *guest_mem_find(const struct guest_mem *mem, uint64_t addr)
{
	unsigned int lo = 0, hi = mem->num_regions;

	/* Find the last region starting at or below @addr. */
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (mem->regions[mid].guest_addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	if (addr > region_last(&mem->regions[lo - 1]))
		return NULL;
	return &mem->regions[lo - 1];
}

/* Return: the host pointer, or NULL (outside memory, @len 0, @addr + @len wraps). */
void *vireo_guest_mem_translate(const struct guest_mem *mem, uint64_t addr, uint64_t len,
				uint64_t *contiguous)
{
	const struct vring_mem_region *r;
	uint64_t offset, avail;

	if (len == 0 || len - 1 > UINT64_MAX - addr)
		return NULL;
	r = guest_mem_find(mem, addr);
	if (!r)
		return NULL;
	offset = addr - r->guest_addr;
	/* At most r->size, which add_region checked fits after r->host. */
	avail = r->size - offset;
	*contiguous = avail < len ? avail : len;
	return (char *)r->host + offset;
}

/* Return: the host pointer, or NULL unless all @len bytes lie in one region. */
void *vireo_guest_mem_translate_all(const struct guest_mem *mem, uint64_t addr, uint64_t len)
{
	uint64_t contiguous;
	void *host = vireo_guest_mem_translate(mem, addr, len, &contiguous);

	if (!host || contiguous != len)
		return NULL;
	return host;
}

static void *guest_mem_vring_translate(const void *opaque, uint64_t addr, uint64_t len,
				       uint64_t *contiguous)
{
	return vireo_guest_mem_translate(opaque, addr, len, contiguous);
}

/*
 * The slot itself, not a copy: the ring re-reads it on every use, so a
 * table changed in place (regions moved, removed: their slots zeroed) is
 * never seen stale. Written only by the table's owner while no queue runs.
 */
static const struct vring_mem_region *guest_mem_vring_region(const void *opaque, uint64_t addr)
{
	return guest_mem_find(opaque, addr);
}

struct vring_mem vireo_guest_mem_vring_mem(const struct guest_mem *mem)
{
	struct vring_mem vm = {
		.translate = guest_mem_vring_translate,
		.opaque = mem,
		.region = guest_mem_vring_region,
	};

	return vm;
}
