/* SPDX-License-Identifier: MIT */
/*
 * The `vireo` command of the same build as the running test (build/vireo for
 * build/tests/test_x; the ASan build's for the ASan tests) in a child process,
 * its stdout and stderr in a log file of a fresh temporary directory.
 */
#ifndef VIREO_TESTS_VIREO_PROC_H
#define VIREO_TESTS_VIREO_PROC_H

#include <sys/types.h>

#define VIREO_PROC_STOP_SECONDS 10

struct vireo_proc {
	char dir[64]; /* mkdtemp; the caller may put sockets and images here */
	char log[128];
	pid_t pid;
};

/** vireo_proc_dir() - make the temporary directory (before building the arguments) */
void vireo_proc_dir(struct vireo_proc *p);

/**
 * vireo_proc_start() - run `vireo @args...` (NULL-terminated) and wait,
 * bounded, until @ready_path exists (its last socket)
 */
void vireo_proc_start(struct vireo_proc *p, const char *const *args, const char *ready_path);

/**
 * vireo_proc_stop() - SIGTERM, then wait up to VIREO_PROC_STOP_SECONDS (a hang
 * detector: a server that does not exit is killed and the test fails).
 * Return: the whole output (static buffer); *@status as from waitpid.
 */
char *vireo_proc_stop(struct vireo_proc *p, int *status);

/**
 * vireo_proc_kill() - for a test's teardown: SIGKILL the process if it still
 * runs (its test failed before vireo_proc_stop()), so no stuck server stays
 */
void vireo_proc_kill(struct vireo_proc *p);

/** vireo_proc_cleanup() - remove the log and the directory (the caller removed its files) */
void vireo_proc_cleanup(struct vireo_proc *p);

#endif /* VIREO_TESTS_VIREO_PROC_H */
