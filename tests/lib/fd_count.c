// SPDX-License-Identifier: MIT
#include <fcntl.h>

#include "tests/lib/fd_count.h"

/* fcntl, not /proc/self/fd: listing /proc would count its own directory fd. */
unsigned int fd_count_open(void)
{
	unsigned int n = 0;

	for (int fd = 0; fd < 4096; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}
