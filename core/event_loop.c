// SPDX-License-Identifier: MIT
/*
 * An epoll loop with a fixed handler table. Each epoll registration carries
 * its slot index and fd, so an event for a slot that a handler earlier in the
 * same batch removed (or reused for another fd) is recognised and skipped.
 * Level-triggered: a handler that leaves data unread is called again.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vireo/event_loop.h>

#define EVENT_LOOP_BATCH 16
#define EVENT_LOOP_STOP_SLOT UINT32_MAX

static uint64_t event_key(uint32_t slot, int fd)
{
	return ((uint64_t)slot << 32) | (uint32_t)fd;
}

/* Return: 0, or -errno from epoll_create1/eventfd/epoll_ctl. */
int vireo_event_loop_init(struct event_loop *loop)
{
	struct epoll_event ev = {.events = EPOLLIN};
	unsigned int i;
	int ret;

	memset(loop, 0, sizeof(*loop));
	for (i = 0; i < EVENT_LOOP_MAX_HANDLERS; i++)
		loop->handlers[i].fd = -1;
	loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epoll_fd < 0)
		return -errno;
	loop->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->stop_fd < 0) {
		ret = -errno;
		goto out_close_epoll;
	}
	ev.data.u64 = event_key(EVENT_LOOP_STOP_SLOT, loop->stop_fd);
	if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, loop->stop_fd, &ev) < 0) {
		ret = -errno;
		goto out_close_stop;
	}
	return 0;

out_close_stop:
	close(loop->stop_fd);
out_close_epoll:
	close(loop->epoll_fd);
	loop->epoll_fd = -1;
	loop->stop_fd = -1;
	return ret;
}

void vireo_event_loop_destroy(struct event_loop *loop)
{
	if (loop->stop_fd >= 0)
		close(loop->stop_fd);
	if (loop->epoll_fd >= 0)
		close(loop->epoll_fd);
	loop->stop_fd = -1;
	loop->epoll_fd = -1;
}

static int event_loop_find(const struct event_loop *loop, int fd)
{
	int i;

	for (i = 0; i < EVENT_LOOP_MAX_HANDLERS; i++)
		if (loop->handlers[i].fd == fd)
			return i;
	return -1;
}

/* Return: 0; -EINVAL for a negative fd or no handler; -EEXIST; -ENOSPC; -errno. */
int vireo_event_loop_add(struct event_loop *loop, int fd,
			 void (*handler)(void *opaque, uint32_t events), void *opaque)
{
	struct epoll_event ev = {.events = EPOLLIN};
	int slot;

	if (fd < 0 || !handler)
		return -EINVAL;
	if (event_loop_find(loop, fd) >= 0)
		return -EEXIST;
	slot = event_loop_find(loop, -1);
	if (slot < 0)
		return -ENOSPC;
	ev.data.u64 = event_key((uint32_t)slot, fd);
	if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	loop->handlers[slot].fd = fd;
	loop->handlers[slot].handler = handler;
	loop->handlers[slot].opaque = opaque;
	return 0;
}

/* Return: 0, or -ENOENT if @fd is not watched. */
int vireo_event_loop_remove(struct event_loop *loop, int fd)
{
	int slot;

	if (fd < 0)
		return -ENOENT;
	slot = event_loop_find(loop, fd);
	if (slot < 0)
		return -ENOENT;
	/* Fails only if @fd was already closed, which removed it from the epoll set anyway. */
	(void)epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
	loop->handlers[slot].fd = -1;
	loop->handlers[slot].handler = NULL;
	loop->handlers[slot].opaque = NULL;
	return 0;
}

/* Return: the number of handlers called (the stop event is not counted), or -errno. */
int vireo_event_loop_run_once(struct event_loop *loop, int timeout_ms)
{
	struct epoll_event events[EVENT_LOOP_BATCH];
	int n, i, called = 0;

	n = epoll_wait(loop->epoll_fd, events, EVENT_LOOP_BATCH, timeout_ms);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		uint32_t slot = (uint32_t)(events[i].data.u64 >> 32);
		int fd = (int)(uint32_t)events[i].data.u64;
		struct event_loop_handler *h;

		if (slot == EVENT_LOOP_STOP_SLOT) {
			vireo_eventfd_drain_fd(loop->stop_fd);
			loop->stopping = true;
			continue;
		}
		if (slot >= EVENT_LOOP_MAX_HANDLERS)
			continue;
		h = &loop->handlers[slot];
		/* Removed by an earlier handler of this batch. */
		if (h->fd != fd || !h->handler)
			continue;
		h->handler(h->opaque, events[i].events);
		called++;
	}
	return called;
}

/* Return: 0 after vireo_event_loop_stop(), or -errno from epoll_wait. */
int vireo_event_loop_run(struct event_loop *loop)
{
	int ret;

	while (!loop->stopping) {
		ret = vireo_event_loop_run_once(loop, -1);
		if (ret < 0 && ret != -EINTR)
			return ret;
	}
	loop->stopping = false;
	return 0;
}

/*
 * Only the eventfd is touched here, never @loop->stopping: the loop thread
 * sets that itself when it reads the stop event, so no data is shared.
 */
void vireo_event_loop_stop(struct event_loop *loop)
{
	(void)vireo_eventfd_signal_fd(loop->stop_fd);
}

/* Return: 0, or -errno from write(). A full counter (-EAGAIN) is already signalled: 0. */
int vireo_eventfd_signal_fd(int fd)
{
	uint64_t one = 1;
	ssize_t n;

	do {
		n = write(fd, &one, sizeof(one));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	return 0;
}

/*
 * poll() first so a blocking eventfd with a zero count cannot block us. Only
 * for fds no one else reads: a peer could empty it between poll and read
 * (vireo_peer_eventfd_drain() is the safe read for those).
 */
uint64_t vireo_eventfd_drain_fd(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	uint64_t count = 0;
	ssize_t n;

	if (poll(&pfd, 1, 0) <= 0 || !(pfd.revents & POLLIN))
		return 0;
	do {
		n = read(fd, &count, sizeof(count));
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(count))
		return 0;
	return count;
}
