// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/vireo_proc.h"

#define VIREO_PROC_MAX_ARGS 48

static void vireo_proc_sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

void vireo_proc_dir(struct vireo_proc *p)
{
	memset(p, 0, sizeof(*p));
	strcpy(p->dir, "/tmp/vireo-proc-XXXXXX");
	assert_non_null(mkdtemp(p->dir));
	snprintf(p->log, sizeof(p->log), "%s/vireo.log", p->dir);
}

void vireo_proc_start(struct vireo_proc *p, const char *const *args, const char *ready_path)
{
	char exe[PATH_MAX], vireo[PATH_MAX + 8];
	const char *argv[VIREO_PROC_MAX_ARGS + 2];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	unsigned int i;

	assert_true(n > 0);
	exe[n] = '\0';
	/* build/tests/test_x -> build/vireo */
	snprintf(vireo, sizeof(vireo), "%s/vireo", dirname(dirname(exe)));
	argv[0] = vireo;
	for (i = 0; args[i]; i++) {
		assert_true(i < VIREO_PROC_MAX_ARGS);
		argv[i + 1] = args[i];
	}
	argv[i + 1] = NULL;
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		int fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		/* Killed (a timeout), the test leaves no server behind. */
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);

		dup2(fd, 1);
		dup2(fd, 2);
		execv(vireo, (char *const *)argv);
		_exit(127);
	}
	for (int t = 0; t < 400; t++) {
		struct stat st;

		if (stat(ready_path, &st) == 0)
			return;
		vireo_proc_sleep_ms(25);
	}
	fail_msg("%s did not start (see %s)", vireo, p->log);
}

void vireo_proc_kill(struct vireo_proc *p)
{
	if (p->pid <= 0)
		return;
	kill(p->pid, SIGKILL);
	(void)waitpid(p->pid, NULL, 0);
	p->pid = 0;
}

char *vireo_proc_stop(struct vireo_proc *p, int *status)
{
	/* serve net logs a line per dropped connection: room for thousands. */
	static char out[1 << 20];
	size_t have = 0;
	pid_t got = 0;
	ssize_t n;
	int fd;

	kill(p->pid, SIGTERM);
	for (int t = 0; t < VIREO_PROC_STOP_SECONDS * 100 && got == 0; t++) {
		got = waitpid(p->pid, status, WNOHANG);
		if (got == 0)
			vireo_proc_sleep_ms(10);
	}
	if (got == 0) {
		vireo_proc_kill(p);
		fail_msg("vireo ignored SIGTERM for %d s (see %s)", VIREO_PROC_STOP_SECONDS,
			 p->log);
	}
	assert_int_equal(got, p->pid);
	p->pid = 0;
	fd = open(p->log, O_RDONLY);
	assert_true(fd >= 0);
	while (have < sizeof(out) - 1 && (n = read(fd, out + have, sizeof(out) - 1 - have)) > 0)
		have += (size_t)n;
	close(fd);
	out[have] = '\0';
	return out;
}

void vireo_proc_cleanup(struct vireo_proc *p)
{
	unlink(p->log);
	rmdir(p->dir);
}
