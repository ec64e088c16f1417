// SPDX-License-Identifier: MIT
/*
 * The back-end's side of one front-end connection: requests assembled
 * without blocking (a front-end that trickles bytes costs its thread one
 * recvmsg per readable event, never a wait), a whole-message deadline on a
 * timerfd (armed by a message's first byte, disarmed when it is complete),
 * and replies that never wait for the front-end to read them.
 * Life cycle: vub_conn_open() at accept, vub_conn_recv() per readable
 * event, vub_conn_deadline_passed() per timer event, vub_conn_close().
 */
#include <errno.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "transport/vhost_user_internal.h"

/* Return: 0, or -errno from timerfd_create. */
int vub_conn_open(struct vub_conn *c, unsigned int timeout_ms)
{
	c->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (c->timer_fd < 0)
		return -errno;
	c->timeout_ms = timeout_ms ? timeout_ms : VUB_MSG_TIMEOUT_MS;
	c->got = 0;
	c->armed = false;
	vireo_vhost_user_msg_init(&c->msg, 0, 0);
	return 0;
}

void vub_conn_close(struct vub_conn *c)
{
	/* A message cut short by the close owns fds that nobody will take. */
	vireo_vhost_user_msg_close_fds(&c->msg);
	c->got = 0;
	c->armed = false;
	if (c->timer_fd >= 0)
		close(c->timer_fd);
	c->timer_fd = -1;
}

static void vub_conn_arm(struct vub_conn *c, bool on)
{
	struct itimerspec its = {
		.it_value = {.tv_sec = c->timeout_ms / 1000,
			     .tv_nsec = (long)(c->timeout_ms % 1000) * 1000000L},
	};

	if (!on)
		its.it_value = (struct timespec){0};
	/* Disarming also clears an expiry not read yet: a late timer event finds nothing. */
	if (on != c->armed && timerfd_settime(c->timer_fd, 0, &its, NULL) == 0)
		c->armed = on;
}

/* Return: 1 and *@out set, 0 (incomplete), or -errno; see vhost_user_internal.h. */
int vub_conn_recv(struct vub_conn *c, int fd, struct vhost_user_msg **out)
{
	int ret = vireo_vhost_user_recv_step(fd, &c->msg, &c->got, false);

	*out = &c->msg;
	/* The deadline runs from a message's first byte to its last. */
	vub_conn_arm(c, ret == 0 && c->got > 0);
	return ret;
}

bool vub_conn_deadline_passed(struct vub_conn *c)
{
	uint64_t expirations;

	/* Nothing to read: a stale event from before the message completed. */
	if (read(c->timer_fd, &expirations, sizeof(expirations)) != (ssize_t)sizeof(expirations))
		return false;
	c->armed = false;
	return c->got > 0;
}
