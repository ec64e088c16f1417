/* SPDX-License-Identifier: MIT */
/*
 * Which thread drives a queue, as the driver-side transports see it: the one
 * that kicked it last (virtqueue.h: one thread per queue). A wait then polls
 * the calling thread's queues only, so two threads driving two queues of one
 * device never run each other's callbacks.
 */
#ifndef VIREO_TRANSPORT_QUEUE_OWNER_H
#define VIREO_TRANSPORT_QUEUE_OWNER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/* glibc and musl: pthread_t is an integer or a pointer, never 0 for a live thread. */
_Static_assert(sizeof(pthread_t) <= sizeof(unsigned long), "pthread_t fits an unsigned long");

/* From a kick: the calling thread drives the queue @owner belongs to. */
static inline void queue_owner_claim(_Atomic unsigned long *owner)
{
	unsigned long self = (unsigned long)pthread_self();

	/* Relaxed, pairs with nothing: only this thread can find its own id there. */
	if (atomic_load_explicit(owner, memory_order_relaxed) != self)
		atomic_store_explicit(owner, self, memory_order_relaxed);
}

/* True if the calling thread kicked the queue last; any other sees "not mine". */
static inline bool queue_owner_is_self(_Atomic unsigned long *owner)
{
	return atomic_load_explicit(owner, memory_order_relaxed) == (unsigned long)pthread_self();
}

/*
 * queue_owner_select() - into @idx, the indexes of the @nvqs queues the calling thread
 * drives, or of all of them if it drives none (a wait from a thread that never kicked).
 * @first_owner: the owner field of queue 0; queue i's is @stride bytes further per index
 * (an array of the transport's queue structs).
 * Return: how many indexes were written.
 */
static inline unsigned int queue_owner_select(_Atomic unsigned long *first_owner, size_t stride,
					      unsigned int nvqs, unsigned int *idx)
{
	unsigned int i, n = 0;

	for (i = 0; i < nvqs; i++)
		if (queue_owner_is_self(
			    (_Atomic unsigned long *)(void *)((char *)first_owner + i * stride)))
			idx[n++] = i;
	if (n == 0)
		for (i = 0; i < nvqs; i++)
			idx[n++] = i;
	return n;
}

/* The queue is gone (reset, released): nobody drives it. */
static inline void queue_owner_clear(_Atomic unsigned long *owner)
{
	atomic_store_explicit(owner, 0, memory_order_relaxed);
}

#endif /* VIREO_TRANSPORT_QUEUE_OWNER_H */
