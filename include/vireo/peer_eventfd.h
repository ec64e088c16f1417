/* SPDX-License-Identifier: MIT */
/*
 * Eventfds a peer also holds (vhost-user kick, call, err and config call fds,
 * in either role). SCM_RIGHTS shares the open file description, so the peer
 * can clear O_NONBLOCK and set the counter at any moment; only the fd's kind
 * and EFD_SEMAPHORE are fixed. Nothing here can block whatever the peer does
 * (docs/architecture.md, "Fds a peer controls").
 */
#ifndef VIREO_PEER_EVENTFD_H
#define VIREO_PEER_EVENTFD_H

#include <stdint.h>

#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

struct peer_eventfd;

/**
 * vireo_peer_eventfd_new() - a signaller for eventfd @fd that never blocks
 * @fd stays the caller's; close it only after vireo_peer_eventfd_free(). One thread
 * at a time may signal through the result.
 * Return: 0; -EINVAL (@fd is not an eventfd); -ENOMEM; -errno from io_uring
 * (-EPERM where io_uring is disabled).
 */
VIREO_API int vireo_peer_eventfd_new(struct peer_eventfd **out, int fd);

/** vireo_peer_eventfd_free() - release the signaller (NULL is ignored); @fd stays open */
VIREO_API void vireo_peer_eventfd_free(struct peer_eventfd *pe);

/**
 * vireo_peer_eventfd_signal() - add 1 to the eventfd's counter (saturating at the
 * maximum, which already means "signalled"); never blocks.
 * Return: 0, or -errno from io_uring_enter.
 */
VIREO_API int vireo_peer_eventfd_signal(struct peer_eventfd *pe);

/**
 * vireo_peer_eventfd_drain() - read and clear the counter of @fd in one
 * non-blocking read the peer cannot make blocking (RWF_NOWAIT)
 * Return: the count, 0 if it was 0; -EOPNOTSUPP if the kernel (before 5.12)
 * or the fd's kind cannot read without blocking; -errno from preadv2.
 */
VIREO_API int64_t vireo_peer_eventfd_drain(int fd);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_PEER_EVENTFD_H */
