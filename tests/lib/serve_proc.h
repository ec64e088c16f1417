/* SPDX-License-Identifier: MIT */
/*
 * `vireo serve KIND` of this build with N sockets (and an image) in a
 * temporary directory, on top of vireo_proc.h: start it with a short
 * vhost-user message deadline, count its open fds, SIGTERM it and check it
 * exited 0 without a sanitizer report.
 */
#ifndef VIREO_TESTS_SERVE_PROC_H
#define VIREO_TESTS_SERVE_PROC_H

#include <sys/types.h>

#include "tests/lib/vireo_proc.h"

#define SERVE_PROC_MAX_SOCKETS 4

struct serve_proc {
	struct vireo_proc proc; /* the process, its directory and log */
	char sock[SERVE_PROC_MAX_SOCKETS][96];
	char image[96];
	pid_t pid;
};

/**
 * serve_proc_start() - in a fresh temporary directory, run `vireo serve @kind
 * --socket p1.sock ...` (@nsockets of them) plus @extra arguments (NULL
 * terminated; the word "IMAGE" is replaced by a 1 MiB image file in the
 * directory), with VIREO_VHOST_USER_MSG_TIMEOUT_MS=@timeout_ms; wait until
 * the last socket exists. Fails the test if it does not start.
 */
void serve_proc_start(struct serve_proc *p, const char *kind, unsigned int nsockets,
		      const char *const *extra, unsigned int timeout_ms);

/** serve_proc_fds() - the server's open fds (/proc/PID/fd entries) */
unsigned int serve_proc_fds(const struct serve_proc *p);

/** serve_proc_alive() - the server has not exited */
int serve_proc_alive(const struct serve_proc *p);

/**
 * serve_proc_stop() - SIGTERM; the server must exit 0 within 10 s with no
 * sanitizer report; removes the directory. Return: its output (static buffer).
 */
const char *serve_proc_stop(struct serve_proc *p);

#endif /* VIREO_TESTS_SERVE_PROC_H */
