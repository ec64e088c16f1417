// SPDX-License-Identifier: MIT
/* stderr in a file for a while: see log_capture.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/log_capture.h"

void log_capture_begin(struct log_capture *c)
{
	strcpy(c->path, "/tmp/vireo-log-capture-XXXXXX");
	c->fd = mkstemp(c->path);
	assert_true(c->fd >= 0);
	fflush(stderr);
	c->saved_stderr = dup(STDERR_FILENO);
	assert_true(c->saved_stderr >= 0);
	assert_true(dup2(c->fd, STDERR_FILENO) >= 0);
}

void log_capture_end(struct log_capture *c)
{
	if (c->saved_stderr < 0)
		return;
	fflush(stderr);
	(void)dup2(c->saved_stderr, STDERR_FILENO);
	close(c->saved_stderr);
	close(c->fd);
	c->saved_stderr = c->fd = -1;
}

unsigned int log_capture_count(const struct log_capture *c, const char *what)
{
	FILE *f = fopen(c->path, "re");
	char line[512];
	unsigned int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, what) != NULL;
	fclose(f);
	return n;
}

void log_capture_replay(const struct log_capture *c)
{
	char line[512];
	FILE *f = c->path[0] ? fopen(c->path, "re") : NULL;

	while (f && fgets(line, sizeof(line), f))
		fprintf(stderr, "# (captured) %s", line);
	if (f)
		fclose(f);
}

void log_capture_remove(struct log_capture *c)
{
	log_capture_end(c);
	if (c->path[0])
		unlink(c->path);
	c->path[0] = '\0';
}
