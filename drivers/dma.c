// SPDX-License-Identifier: MIT
/*
 * DMA memory for drivers: one memfd per arena, mapped MAP_SHARED so a
 * transport can pass the fd to a device in another process. A first-fit
 * allocator with coalescing free hands out pieces of it.
 *
 * The bookkeeping lives on the heap, never in the arena: the device can
 * write anywhere in the arena, and must not be able to corrupt the
 * allocator. Allocations happen at probe time and for long-lived buffers,
 * not per I/O, so linear scans under one mutex are fine.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vireo/dma.h>
#include <vireo/log.h>

/* Smallest unit handed out: keeps every block 16-byte aligned (virtq_desc). */
#define DMA_GRANULE 16u

/*
 * One piece of the arena, free or in use. The arena's list (free_list, kept
 * in address order) covers the whole arena without gaps or overlaps.
 */
struct virtio_dma_block {
	size_t off;
	size_t len;
	bool used;
	struct virtio_dma_block *next;
};

static size_t dma_round_up(size_t v, size_t align)
{
	return (v + align - 1) & ~(align - 1);
}

/*
 * virtio_dma_arena_init() - memfd of @size bytes (rounded up to a page),
 * mapped shared. Return: 0, -EINVAL for size 0, or -errno from the system.
 */
int virtio_dma_arena_init(struct virtio_dma_arena *arena, size_t size, uint64_t dma_base)
{
	struct virtio_dma_block *all;
	int err;

	memset(arena, 0, sizeof(*arena));
	arena->memfd = -1;
	if (size == 0 || size > SIZE_MAX / 2)
		return -EINVAL;
	size = dma_round_up(size, (size_t)sysconf(_SC_PAGESIZE));

	all = calloc(1, sizeof(*all));
	if (!all)
		return -ENOMEM;
	arena->memfd = memfd_create("vireo-dma", MFD_CLOEXEC);
	if (arena->memfd < 0) {
		err = -errno;
		goto out_free_block;
	}
	if (ftruncate(arena->memfd, (off_t)size) < 0) {
		err = -errno;
		goto out_close_fd;
	}
	arena->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, arena->memfd, 0);
	if (arena->base == MAP_FAILED) {
		err = -errno;
		goto out_close_fd;
	}
	err = pthread_mutex_init(&arena->lock, NULL);
	if (err) {
		err = -err;
		goto out_unmap;
	}
	arena->size = size;
	arena->dma_base = dma_base;
	all->off = 0;
	all->len = size;
	arena->free_list = all;
	return 0;

out_unmap:
	munmap(arena->base, size);
out_close_fd:
	close(arena->memfd);
	arena->memfd = -1;
out_free_block:
	free(all);
	arena->base = NULL;
	return err;
}

void virtio_dma_arena_destroy(struct virtio_dma_arena *arena)
{
	struct virtio_dma_block *b, *next;

	if (!arena->base)
		return;
	for (b = arena->free_list; b; b = next) {
		next = b->next;
		free(b);
	}
	munmap(arena->base, arena->size);
	close(arena->memfd);
	pthread_mutex_destroy(&arena->lock);
	memset(arena, 0, sizeof(*arena));
	arena->memfd = -1;
}

/*
 * Cut [@start, @start + @len) out of free block @b: the padding before and
 * the rest after stay free as blocks of their own. Return: the used block,
 * or NULL if a split block could not be allocated (nothing changed).
 */
static struct virtio_dma_block *dma_carve(struct virtio_dma_block *b, size_t start, size_t len)
{
	struct virtio_dma_block *pre = NULL, *post = NULL;
	size_t end = start + len, b_end = b->off + b->len;

	if (start > b->off && !(pre = malloc(sizeof(*pre))))
		return NULL;
	if (end < b_end && !(post = malloc(sizeof(*post)))) {
		free(pre);
		return NULL;
	}
	if (post) {
		*post = (struct virtio_dma_block){.off = end, .len = b_end - end, .next = b->next};
		b->next = post;
	}
	if (pre) {
		/* b keeps the lower piece so the list stays in address order. */
		*pre = (struct virtio_dma_block){.off = start, .len = len, .next = b->next};
		b->len = start - b->off;
		b->next = pre;
		b = pre;
	} else {
		b->len = len;
	}
	b->used = true;
	return b;
}

void *virtio_dma_alloc(struct virtio_dma_arena *arena, size_t size, size_t align,
		       uint64_t *dma_addr)
{
	struct virtio_dma_block *b, *got = NULL;
	void *ptr;

	if (size == 0 || size > arena->size || align == 0 || (align & (align - 1)))
		return NULL;
	if (align < DMA_GRANULE)
		align = DMA_GRANULE;
	size = dma_round_up(size, DMA_GRANULE);

	pthread_mutex_lock(&arena->lock);
	for (b = arena->free_list; b; b = b->next) {
		size_t start = dma_round_up(b->off, align);

		if (b->used || start - b->off >= b->len || b->len - (start - b->off) < size)
			continue;
		got = dma_carve(b, start, size);
		break;
	}
	pthread_mutex_unlock(&arena->lock);
	if (!got)
		return NULL;
	ptr = (char *)arena->base + got->off;
	memset(ptr, 0, size);
	if (dma_addr)
		*dma_addr = arena->dma_base + got->off;
	return ptr;
}

/* Merge @b with its successor if both are free. */
static void dma_merge_next(struct virtio_dma_block *b)
{
	struct virtio_dma_block *n = b->next;

	if (!n || b->used || n->used)
		return;
	b->len += n->len;
	b->next = n->next;
	free(n);
}

void virtio_dma_free(struct virtio_dma_arena *arena, void *ptr)
{
	struct virtio_dma_block *b, *prev = NULL;
	size_t off;

	if (!ptr)
		return;
	if ((char *)ptr < (char *)arena->base || (char *)ptr >= (char *)arena->base + arena->size) {
		log_error("dma: free of %p outside the arena", ptr);
		return;
	}
	off = (size_t)((char *)ptr - (char *)arena->base);

	pthread_mutex_lock(&arena->lock);
	for (b = arena->free_list; b && b->off < off; b = b->next)
		prev = b;
	if (!b || b->off != off || !b->used) {
		pthread_mutex_unlock(&arena->lock);
		log_error("dma: free of %p that was not allocated", ptr);
		return;
	}
	b->used = false;
	dma_merge_next(b);
	if (prev)
		dma_merge_next(prev);
	pthread_mutex_unlock(&arena->lock);
}
