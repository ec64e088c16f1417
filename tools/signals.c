// SPDX-License-Identifier: MIT
/* Signals as events in an event loop: see signals.h. */
#include <errno.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "tools/signals.h"

int signals_watch(struct event_loop *loop, const int *signals, unsigned int n,
		  void (*fn)(void *opaque, uint32_t events), void *opaque)
{
	sigset_t set;
	int fd, ret;

	sigemptyset(&set);
	for (unsigned int i = 0; i < n; i++)
		sigaddset(&set, signals[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	ret = vireo_event_loop_add(loop, fd, fn, opaque);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	return fd;
}
