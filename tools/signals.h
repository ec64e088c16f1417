/* SPDX-License-Identifier: MIT */
/* Signals as events: the servers read SIGINT/SIGTERM (and SIGUSR1) from a signalfd in their loop. */
#ifndef VIREO_TOOLS_SIGNALS_H
#define VIREO_TOOLS_SIGNALS_H

#include <stdint.h>

#include <vireo/event_loop.h>

/**
 * signals_watch() - block @signals (@n of them), ignore SIGPIPE (a peer
 * vanishing mid-reply is handled where it happens), and call @fn(@opaque)
 * from @loop when one is pending; read them from the returned fd
 * Return: the signalfd (the caller closes it), or -errno.
 */
int signals_watch(struct event_loop *loop, const int *signals, unsigned int n,
		  void (*fn)(void *opaque, uint32_t events), void *opaque);

#endif /* VIREO_TOOLS_SIGNALS_H */
