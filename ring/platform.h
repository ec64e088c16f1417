/* SPDX-License-Identifier: MIT */
/*
 * The porting seam of ring/: how the two sides of a split ring read and
 * write the words they share. Everything here is a compiler builtin or a
 * C11 <stdatomic.h> operation on lock-free 16/32/64-bit objects, so no
 * library call is ever emitted (ring/ is free-standing).
 *
 * Ring memory is declared with plain (non-_Atomic) types in <vireo/spec.h>
 * because it is a wire format; we access it through _Atomic-qualified
 * pointers of the same size and alignment, which gcc and clang lay out
 * identically on every supported target.
 */
#ifndef VIREO_RING_PLATFORM_H
#define VIREO_RING_PLATFORM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <vireo/spec.h>

_Static_assert(sizeof(_Atomic uint16_t) == sizeof(uint16_t), "atomic u16 layout");
_Static_assert(sizeof(_Atomic uint32_t) == sizeof(uint32_t), "atomic u32 layout");
_Static_assert(sizeof(_Atomic uint64_t) == sizeof(uint64_t), "atomic u64 layout");

#define VRING_LIKELY(x) __builtin_expect(!!(x), 1)
#define VRING_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* A rare path kept out of its caller, whose common path then saves fewer registers. */
#define VRING_NOINLINE __attribute__((noinline))
/* A loop body copied into each caller, so a NULL argument there specializes it. */
#define VRING_ALWAYS_INLINE inline __attribute__((always_inline))

/* Publish a ring index: everything written before it is visible first. */
static inline void vring_store_release16(le16 *p, uint16_t v)
{
	atomic_store_explicit((_Atomic uint16_t *)p, cpu_to_le16(v), memory_order_release);
}

/* Read a ring index the peer published; later reads see what it wrote before. */
static inline uint16_t vring_load_acquire16(const le16 *p)
{
	return le16_to_cpu(atomic_load_explicit((const _Atomic uint16_t *)p, memory_order_acquire));
}

/*
 * Read/write a shared word exactly once. Relaxed atomics stop the compiler
 * from re-reading peer-writable memory after a check (no double fetch) or
 * from tearing the access; they cost a plain mov on x86 and arm64.
 */
static inline uint16_t vring_read_once16(const le16 *p)
{
	return le16_to_cpu(atomic_load_explicit((const _Atomic uint16_t *)p, memory_order_relaxed));
}

static inline uint32_t vring_read_once32(const le32 *p)
{
	return le32_to_cpu(atomic_load_explicit((const _Atomic uint32_t *)p, memory_order_relaxed));
}

static inline uint64_t vring_read_once64(const le64 *p)
{
	return le64_to_cpu(atomic_load_explicit((const _Atomic uint64_t *)p, memory_order_relaxed));
}

static inline void vring_write_once16(le16 *p, uint16_t v)
{
	atomic_store_explicit((_Atomic uint16_t *)p, cpu_to_le16(v), memory_order_relaxed);
}

static inline void vring_write_once32(le32 *p, uint32_t v)
{
	atomic_store_explicit((_Atomic uint32_t *)p, cpu_to_le32(v), memory_order_relaxed);
}

static inline void vring_write_once64(le64 *p, uint64_t v)
{
	atomic_store_explicit((_Atomic uint64_t *)p, cpu_to_le64(v), memory_order_relaxed);
}

/*
 * Full fence: orders an earlier store before a later load (store-load), which
 * acquire/release cannot. Used where one side publishes an index and then
 * reads the other side's suppression word (virtio 1.2 §2.7.13.4 / §2.7.7.2).
 */
static inline void vring_mb(void)
{
	atomic_thread_fence(memory_order_seq_cst);
}

/*
 * Copy one descriptor out of shared memory, each field read once. A table
 * that is not 8-byte aligned (an indirect table may be anywhere) is read a
 * byte at a time so no misaligned atomic is ever formed.
 */
static inline void vring_desc_read(const struct virtq_desc *src, struct virtq_desc *dst)
{
	if (VRING_LIKELY(((uintptr_t)src & 7u) == 0)) {
		dst->addr = vring_read_once64(&src->addr);
		dst->len = vring_read_once32(&src->len);
		dst->flags = vring_read_once16(&src->flags);
		dst->next = vring_read_once16(&src->next);
		return;
	}
	const volatile uint8_t *b = (const volatile uint8_t *)src;
	uint8_t raw[16];

	for (unsigned int i = 0; i < 16; i++)
		raw[i] = b[i];
	uint64_t addr = 0;
	for (unsigned int i = 0; i < 8; i++)
		addr |= (uint64_t)raw[i] << (8 * i);
	dst->addr = addr;
	dst->len = (uint32_t)raw[8] | (uint32_t)raw[9] << 8 | (uint32_t)raw[10] << 16 |
		   (uint32_t)raw[11] << 24;
	dst->flags = (uint16_t)(raw[12] | raw[13] << 8);
	dst->next = (uint16_t)(raw[14] | raw[15] << 8);
}

/*
 * Copy a packed descriptor, each field once. In the ring, its flags word
 * publishes the rest and is read first with an acquire (@with_flags false);
 * an indirect table has no such word and may be misaligned (byte by byte).
 */
static inline void vring_pdesc_read(const struct pvirtq_desc *src, struct pvirtq_desc *dst,
				    bool with_flags)
{
	if (VRING_LIKELY(((uintptr_t)src & 7u) == 0)) {
		dst->addr = vring_read_once64(&src->addr);
		dst->len = vring_read_once32(&src->len);
		dst->id = vring_read_once16(&src->id);
		if (with_flags)
			dst->flags = vring_read_once16(&src->flags);
		return;
	}
	struct virtq_desc d;

	/* Same 16-byte layout: split's flags/next words are packed's id/flags. */
	vring_desc_read((const struct virtq_desc *)(const void *)src, &d);
	dst->addr = d.addr;
	dst->len = d.len;
	dst->id = d.flags;
	if (with_flags)
		dst->flags = d.next;
}

/* vring_pdesc_read() of a ring slot without its flags: the ring is 16-aligned (checked at init). */
static inline void vring_pdesc_read_aligned(const struct pvirtq_desc *src, struct pvirtq_desc *dst)
{
	dst->addr = vring_read_once64(&src->addr);
	dst->len = vring_read_once32(&src->len);
	dst->id = vring_read_once16(&src->id);
}

/* Power-of-two test shared by both sides (§2.7: queue size is a power of 2). */
static inline bool vring_is_pow2(uint32_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

#endif /* VIREO_RING_PLATFORM_H */
