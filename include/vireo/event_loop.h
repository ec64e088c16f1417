/* SPDX-License-Identifier: MIT */
/*
 * An epoll event loop: file descriptors (eventfd kicks, io_uring completion
 * eventfds, sockets) with a handler each. One loop per device thread.
 */
#ifndef VIREO_EVENT_LOOP_H
#define VIREO_EVENT_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * `vireo serve net` at its most, in one loop: 16 ports of 8 queue pairs, each with its
 * listening socket, the connection, a deadline timer, the back-end channel, a second
 * front-end being refused and 17 kick fds (tools/serve_net.h checks the sum).
 */
#define EVENT_LOOP_MAX_HANDLERS 512

struct event_loop_handler {
	int fd;
	void (*handler)(void *opaque, uint32_t events);
	void *opaque;
};

struct event_loop {
	int epoll_fd;
	int stop_fd; /* eventfd: vireo_event_loop_stop() from any thread */
	bool stopping;
	struct event_loop_handler handlers[EVENT_LOOP_MAX_HANDLERS];
};

/** vireo_event_loop_init() - Return: 0, or -errno from epoll_create1/eventfd */
VIREO_API int vireo_event_loop_init(struct event_loop *loop);

/** vireo_event_loop_destroy() - close the loop's own fds (not the watched ones) */
VIREO_API void vireo_event_loop_destroy(struct event_loop *loop);

/**
 * vireo_event_loop_add() - call @handler(@opaque, epoll events) when @fd is readable
 * Return: 0; -EINVAL for a negative @fd or no @handler; -EEXIST if @fd is
 * already watched; -ENOSPC if the table is full; -errno from epoll_ctl.
 * A handler may add or remove fds (itself included) while it runs.
 */
VIREO_API int vireo_event_loop_add(struct event_loop *loop, int fd,
				   void (*handler)(void *opaque, uint32_t events), void *opaque);

/** vireo_event_loop_remove() - stop watching @fd. Return: 0 or -ENOENT */
VIREO_API int vireo_event_loop_remove(struct event_loop *loop, int fd);

/**
 * vireo_event_loop_run_once() - wait up to @timeout_ms (-1: forever) and dispatch
 * Return: number of handlers called, or -errno.
 */
VIREO_API int vireo_event_loop_run_once(struct event_loop *loop, int timeout_ms);

/** vireo_event_loop_run() - dispatch until vireo_event_loop_stop(). Return: 0 or -errno */
VIREO_API int vireo_event_loop_run(struct event_loop *loop);

/** vireo_event_loop_stop() - make vireo_event_loop_run() return; safe from any thread */
VIREO_API void vireo_event_loop_stop(struct event_loop *loop);

/*
 * The two helpers below are for eventfds only this process holds (stop and
 * wake fds, completion fds, loopback's own kicks). An eventfd a peer also
 * holds can be made blocking and full behind our back: use peer_eventfd.h.
 */

/** vireo_eventfd_signal_fd() - add 1 to our own eventfd @fd. Return: 0 or -errno */
VIREO_API int vireo_eventfd_signal_fd(int fd);

/**
 * vireo_eventfd_drain_fd() - read and clear our own eventfd @fd; a zero count does
 * not block even on a blocking eventfd. Return: the count, 0 if none
 */
VIREO_API uint64_t vireo_eventfd_drain_fd(int fd);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_EVENT_LOOP_H */
