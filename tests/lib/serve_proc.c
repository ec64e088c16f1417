// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/serve_proc.h"

#define SERVE_PROC_MAX_ARGS 24

static void serve_proc_sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void serve_proc_exec(struct serve_proc *p, const char *const *argv, unsigned int timeout_ms)
{
	char t[16];
	int fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	dup2(fd, 1);
	dup2(fd, 2);
	snprintf(t, sizeof(t), "%u", timeout_ms);
	setenv("VIREO_VHOST_USER_MSG_TIMEOUT_MS", t, 1);
	execv(argv[0], (char *const *)argv);
	_exit(127);
}

void serve_proc_start(struct serve_proc *p, const char *kind, unsigned int nsockets,
		      const char *const *extra, unsigned int timeout_ms)
{
	static char vireo[PATH_MAX + 8];
	const char *argv[SERVE_PROC_MAX_ARGS];
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	unsigned int i, a = 0;
	bool image = false;
	struct stat st;

	assert_true(n > 0 && nsockets >= 1 && nsockets <= SERVE_PROC_MAX_SOCKETS);
	exe[n] = '\0';
	/* build/tests/test_x -> build/vireo */
	snprintf(vireo, sizeof(vireo), "%s/vireo", dirname(dirname(exe)));
	memset(p, 0, sizeof(*p));
	strcpy(p->dir, "/tmp/vireo-serveproc-XXXXXX");
	assert_non_null(mkdtemp(p->dir));
	snprintf(p->log, sizeof(p->log), "%s/serve.log", p->dir);
	snprintf(p->image, sizeof(p->image), "%s/disk.img", p->dir);
	argv[a++] = vireo;
	argv[a++] = "serve";
	argv[a++] = kind;
	for (i = 0; i < nsockets; i++) {
		snprintf(p->sock[i], sizeof(p->sock[i]), "%s/p%u.sock", p->dir, i + 1);
		argv[a++] = "--socket";
		argv[a++] = p->sock[i];
	}
	for (i = 0; extra && extra[i] && a < SERVE_PROC_MAX_ARGS - 1; i++) {
		image |= strcmp(extra[i], "IMAGE") == 0;
		argv[a++] = strcmp(extra[i], "IMAGE") == 0 ? p->image : extra[i];
	}
	argv[a] = NULL;
	if (image) {
		int fd = open(p->image, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, 1 << 20), 0);
		close(fd);
	}
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0)
		serve_proc_exec(p, argv, timeout_ms);
	for (i = 0; i < 400; i++) {
		if (stat(p->sock[nsockets - 1], &st) == 0)
			return;
		serve_proc_sleep_ms(25);
	}
	fail_msg("vireo serve %s did not start (see %s)", kind, p->log);
}

unsigned int serve_proc_fds(const struct serve_proc *p)
{
	char path[64];
	struct dirent *e;
	unsigned int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)p->pid);
	d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int serve_proc_alive(const struct serve_proc *p)
{
	return waitpid(p->pid, NULL, WNOHANG) == 0;
}

const char *serve_proc_stop(struct serve_proc *p)
{
	static char out[1 << 20];
	int status = 0, i, fd;
	ssize_t n;

	assert_int_equal(kill(p->pid, SIGTERM), 0);
	/* A bound against a hang, not a timing assertion. */
	for (i = 0; i < 1000 && waitpid(p->pid, &status, WNOHANG) == 0; i++)
		serve_proc_sleep_ms(10);
	if (i == 1000) {
		kill(p->pid, SIGKILL);
		(void)waitpid(p->pid, &status, 0);
		fail_msg("vireo serve did not exit within 10 s of SIGTERM (see %s)", p->log);
	}
	fd = open(p->log, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, out, sizeof(out) - 1);
	close(fd);
	out[n > 0 ? n : 0] = '\0';
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || strstr(out, "Sanitizer"))
		fail_msg("vireo serve: status 0x%x, output:\n%s", status, out);
	unlink(p->log);
	unlink(p->image);
	for (i = 0; i < SERVE_PROC_MAX_SOCKETS; i++)
		if (p->sock[i][0])
			unlink(p->sock[i]);
	rmdir(p->dir);
	return out;
}
