// SPDX-License-Identifier: MIT
/* `vireo serve KIND` as a child process of a test (serve_proc.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/fd_count.h"
#include "tests/lib/serve_proc.h"

#define SERVE_PROC_MAX_ARGS 16

static void serve_proc_image(struct serve_proc *p)
{
	int fd = open(p->image, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
}

void serve_proc_start(struct serve_proc *p, const char *kind, unsigned int nsockets,
		      const char *const *extra, unsigned int timeout_ms)
{
	const char *args[SERVE_PROC_MAX_ARGS];
	unsigned int i, a = 0;
	bool image = false;
	char t[16];

	assert_true(nsockets >= 1 && nsockets <= SERVE_PROC_MAX_SOCKETS);
	memset(p, 0, sizeof(*p));
	vireo_proc_dir(&p->proc);
	snprintf(p->image, sizeof(p->image), "%s/disk.img", p->proc.dir);
	args[a++] = "serve";
	args[a++] = kind;
	for (i = 0; i < nsockets; i++) {
		snprintf(p->sock[i], sizeof(p->sock[i]), "%s/p%u.sock", p->proc.dir, i + 1);
		args[a++] = "--socket";
		args[a++] = p->sock[i];
	}
	for (i = 0; extra && extra[i] && a < SERVE_PROC_MAX_ARGS - 1; i++) {
		image |= strcmp(extra[i], "IMAGE") == 0;
		args[a++] = strcmp(extra[i], "IMAGE") == 0 ? p->image : extra[i];
	}
	args[a] = NULL;
	if (image)
		serve_proc_image(p);
	/* The child inherits it; the test process itself never reads it. */
	snprintf(t, sizeof(t), "%u", timeout_ms);
	setenv("VIREO_VHOST_USER_MSG_TIMEOUT_MS", t, 1);
	vireo_proc_start(&p->proc, args, p->sock[nsockets - 1]);
	unsetenv("VIREO_VHOST_USER_MSG_TIMEOUT_MS");
	p->pid = p->proc.pid;
}

unsigned int serve_proc_fds(const struct serve_proc *p)
{
	return fd_count_of_process(p->pid);
}

int serve_proc_alive(const struct serve_proc *p)
{
	return waitpid(p->pid, NULL, WNOHANG) == 0;
}

const char *serve_proc_stop(struct serve_proc *p)
{
	int status = 0;
	char *out = vireo_proc_stop(&p->proc, &status);

	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || strstr(out, "Sanitizer"))
		fail_msg("vireo serve: status 0x%x, output:\n%s", status, out);
	unlink(p->image);
	for (unsigned int i = 0; i < SERVE_PROC_MAX_SOCKETS; i++)
		if (p->sock[i][0])
			unlink(p->sock[i]);
	vireo_proc_cleanup(&p->proc);
	return out;
}
