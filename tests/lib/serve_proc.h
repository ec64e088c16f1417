/* SPDX-License-Identifier: MIT */
/*
 * The build's own `vireo` as a child process (the ASan build runs the ASan
 * binary): start it with a log file, wait for its socket, count its open
 * fds, SIGTERM it and read its output.
 */
#ifndef VIREO_TESTS_SERVE_PROC_H
#define VIREO_TESTS_SERVE_PROC_H

#include <sys/types.h>

#define SERVE_PROC_MAX_SOCKETS 4

struct serve_proc {
	char dir[64];
	char sock[SERVE_PROC_MAX_SOCKETS][96];
	char log[96];
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
