/* SPDX-License-Identifier: MIT */
/*
 * The monotonic clock in milliseconds, for vhost-user deadlines (front-end)
 * and message handling times (back-end).
 */
#ifndef VIREO_TRANSPORT_VHOST_USER_CLOCK_H
#define VIREO_TRANSPORT_VHOST_USER_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t vhost_user_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif /* VIREO_TRANSPORT_VHOST_USER_CLOCK_H */
