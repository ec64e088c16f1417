/* SPDX-License-Identifier: MIT */
/*
 * Capture this process's stderr (where lib/log.c writes) in a file for a
 * while, then count the lines that name something: how a test checks that a
 * refusal was logged once, or that a log stays bounded. Helpers assert (cmocka).
 */
#ifndef VIREO_TESTS_LOG_CAPTURE_H
#define VIREO_TESTS_LOG_CAPTURE_H

#include <stdbool.h>

struct log_capture {
	int saved_stderr; /* -1: not capturing */
	int fd;
	char path[64]; /* "": no file */
};

#define LOG_CAPTURE_INIT                                 \
	{                                                \
		.saved_stderr = -1, .fd = -1, .path = "" \
	}

/*
 * Send stderr to a new file until log_capture_end(). Assert after the end: a
 * failed assert in between would leave stderr (cmocka's message too) in the file.
 */
void log_capture_begin(struct log_capture *c);

/* Give stderr back; the file stays for log_capture_count(). Does nothing if not capturing. */
void log_capture_end(struct log_capture *c);

/* Lines of the captured file that contain @what. */
unsigned int log_capture_count(const struct log_capture *c, const char *what);

/* Print the captured lines on stderr, each marked "# (captured)": after an assert cut a test short. */
void log_capture_replay(const struct log_capture *c);

/* log_capture_end(), then remove the file. */
void log_capture_remove(struct log_capture *c);

/* True between log_capture_begin() and log_capture_end(). */
static inline bool log_capture_active(const struct log_capture *c)
{
	return c->saved_stderr >= 0;
}

#endif /* VIREO_TESTS_LOG_CAPTURE_H */
