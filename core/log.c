// SPDX-License-Identifier: MIT
/*
 * vireo_log(): one line per message on stderr. The threshold is read from
 * VIREO_LOG once per process (pthread_once), so a hot path pays one
 * comparison and no getenv().
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/log.h>

static const char *const log_level_names[] = {
	[VIREO_LOG_ERROR] = "error",
	[VIREO_LOG_WARN] = "warn",
	[VIREO_LOG_INFO] = "info",
	[VIREO_LOG_DEBUG] = "debug",
};

/*
 * Written once, inside log_threshold_init() under pthread_once; every later
 * reader is ordered after that write by pthread_once itself.
 */
static enum vireo_log_level log_threshold = VIREO_LOG_WARN;
static pthread_once_t log_threshold_once = PTHREAD_ONCE_INIT;

/* Return: the level, or -EINVAL. */
int vireo_log_level_parse(const char *name)
{
	unsigned int i;

	for (i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++)
		if (strcmp(name, log_level_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

/* An unknown name keeps the default here; the tools refuse it before (vireo.c). */
static void log_threshold_init(void)
{
	const char *env = getenv("VIREO_LOG");
	int level = env ? vireo_log_level_parse(env) : -EINVAL;

	if (level >= 0)
		log_threshold = (enum vireo_log_level)level;
}

int vireo_log_enabled(enum vireo_log_level level)
{
	pthread_once(&log_threshold_once, log_threshold_init);
	return level <= log_threshold;
}

void vireo_log(enum vireo_log_level level, const char *fmt, ...)
{
	size_t fmt_len = strlen(fmt);
	va_list ap;

	if ((unsigned int)level > VIREO_LOG_DEBUG || !vireo_log_enabled(level))
		return;
	/* One lock around the whole line so lines from two threads never interleave. */
	flockfile(stderr);
	fprintf(stderr, "vireo: %s: ", log_level_names[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (fmt_len == 0 || fmt[fmt_len - 1] != '\n')
		fputc('\n', stderr);
	funlockfile(stderr);
}
