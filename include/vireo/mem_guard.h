/* SPDX-License-Identifier: MIT */
/*
 * A guard for shared mappings whose file a peer may shrink under us. A
 * vhost-user front-end owns the fds of its memory regions: it can truncate
 * one after SET_MEM_TABLE, and the next access to a page past the new end of
 * file raises SIGBUS, which kills the process by default (in `serve net`, the
 * whole switch). Sealed memfds (F_SEAL_SHRINK) cannot shrink; hugetlbfs files,
 * tmpfs files and unsealed memfds (DPDK's --no-huge memory) can.
 *
 * A registered mapping is guarded: a SIGBUS inside it replaces the faulting
 * page with a private zero page, so the access completes, and marks the
 * mapping faulted; its owner polls vireo_mem_guard_faulted() and drops the peer.
 * A SIGBUS anywhere else goes to the handler that was there before (or kills
 * as usual). The registry is the one process-wide table Vireo keeps: a signal
 * handler has no other way to find it (docs/architecture.md).
 *
 * Rule for owners: unregister before munmap, and only once no thread can
 * touch the mapping (the device's queues are stopped), so the handler never
 * replaces a page of a mapping that has gone.
 */
#ifndef VIREO_MEM_GUARD_H
#define VIREO_MEM_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Mappings guarded at once, process-wide: 32 regions for each of 32 front-ends. */
#define MEM_GUARD_MAX 1024

/**
 * vireo_mem_guard_register() - guard [@start, @start + @len), mapped in pages of
 * @page_size bytes (the huge page size for hugetlbfs). Installs the SIGBUS
 * handler at the first call.
 * Return: a slot (>= 0) for the other calls; -EINVAL (@page_size not a power
 * of two, or @start not aligned to it); -ENOSPC (table full); -errno from
 * sigaction.
 */
VIREO_API int vireo_mem_guard_register(void *start, size_t len, size_t page_size);

/** vireo_mem_guard_unregister() - stop guarding @slot (before its munmap); -1 is ignored */
VIREO_API void vireo_mem_guard_unregister(int slot);

/** vireo_mem_guard_faulted() - a SIGBUS hit @slot's mapping since it was registered */
VIREO_API bool vireo_mem_guard_faulted(int slot);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_MEM_GUARD_H */
