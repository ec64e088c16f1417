// SPDX-License-Identifier: MIT
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "tests/lib/bounded_call.h"

struct bounded_call_job {
	void (*fn)(void *arg);
	void *arg;
};

static void *bounded_call_thread(void *opaque)
{
	struct bounded_call_job *job = opaque;

	job->fn(job->arg);
	free(job);
	return NULL;
}

bool bounded_call(void (*fn)(void *arg), void *arg)
{
	struct bounded_call_job *job = malloc(sizeof(*job));
	struct timespec deadline;
	pthread_t thread;

	if (!job)
		abort();
	*job = (struct bounded_call_job){.fn = fn, .arg = arg};
	if (pthread_create(&thread, NULL, bounded_call_thread, job) != 0)
		abort();
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += BOUNDED_CALL_SECONDS;
	if (pthread_timedjoin_np(thread, NULL, &deadline) == 0)
		return true;
	/* Still blocked: it frees @job itself if it ever returns. */
	(void)pthread_detach(thread);
	return false;
}
