// SPDX-License-Identifier: MIT
#include "poll_until.h"

#include <time.h>

bool poll_until(bool (*done)(void *arg), void *arg, unsigned int ms)
{
	for (unsigned int waited = 0; waited < ms; waited += 10) {
		if (done(arg))
			return true;
		nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
	}
	return done(arg);
}
