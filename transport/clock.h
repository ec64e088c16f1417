/* SPDX-License-Identifier: MIT */
/*
 * The monotonic clock in milliseconds, for the transports' deadlines (the
 * vhost-user front-end's replies, virtio-pci's polling wait) and the vhost-user
 * back-end's message handling times.
 */
#ifndef VIREO_TRANSPORT_CLOCK_H
#define VIREO_TRANSPORT_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t transport_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif /* VIREO_TRANSPORT_CLOCK_H */
