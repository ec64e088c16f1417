/* SPDX-License-Identifier: MIT */
/*
 * DMA memory: the part of a driver's address space a device may reach.
 * One memfd-backed arena per device, so a transport can hand the memfd to
 * another process (vhost-user SET_MEM_TABLE). Device-visible addresses are
 * @dma_base + offset into the arena.
 */
#ifndef VIREO_DMA_H
#define VIREO_DMA_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

struct virtio_dma_block;

/**
 * struct virtio_dma_arena
 * @memfd: backing file (shareable)
 * @base: its mapping in this process
 * @size: bytes
 * @dma_base: device-visible address of @base
 * @lock: guards the block list
 * @free_list: every block, free or in use, in address order (private to dma.c)
 */
struct virtio_dma_arena {
	int memfd;
	void *base;
	size_t size;
	uint64_t dma_base;
	pthread_mutex_t lock;
	struct virtio_dma_block *free_list;
};

/**
 * virtio_dma_arena_init() - create a memfd of @size bytes and map it
 * Return: 0 or -errno.
 */
VIREO_API int virtio_dma_arena_init(struct virtio_dma_arena *arena, size_t size, uint64_t dma_base);

VIREO_API void virtio_dma_arena_destroy(struct virtio_dma_arena *arena);

/**
 * virtio_dma_alloc() - @size zeroed bytes aligned to @align (a power of two)
 * @dma_addr: set to the device-visible address
 * Return: the pointer, or NULL when the arena is exhausted.
 */
VIREO_API void *virtio_dma_alloc(struct virtio_dma_arena *arena, size_t size, size_t align,
				 uint64_t *dma_addr);

/** virtio_dma_free() - give back what virtio_dma_alloc() returned */
VIREO_API void virtio_dma_free(struct virtio_dma_arena *arena, void *ptr);

/** virtio_dma_addr() - device-visible address of @ptr inside the arena */
static inline uint64_t virtio_dma_addr(const struct virtio_dma_arena *arena, const void *ptr)
{
	return arena->dma_base + (uint64_t)((const char *)ptr - (const char *)arena->base);
}

/** virtio_dma_contains() - true if [@ptr, @ptr + @len) lies inside the arena */
static inline bool virtio_dma_contains(const struct virtio_dma_arena *arena, const void *ptr,
				       size_t len)
{
	const char *p = (const char *)ptr, *base = (const char *)arena->base;

	return p >= base && (size_t)(p - base) <= arena->size &&
	       len <= arena->size - (size_t)(p - base);
}

#ifdef __cplusplus
}
#endif

#endif /* VIREO_DMA_H */
