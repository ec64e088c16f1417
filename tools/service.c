// SPDX-License-Identifier: MIT
/* `vireo serve` as a service: socket mode and group, pid file, sandbox (service.h). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/options.h"
#include "tools/sandbox.h"
#include "tools/service.h"

/* Return: 0, or EXIT_USAGE after one error line. */
static int service_parse_mode(struct service_options *o, const char *cmd, const char *arg)
{
	char *end;
	unsigned long mode;

	errno = 0;
	mode = strtoul(arg, &end, 8);
	/* The owner keeps read and write: a mode that locks out the server's own user is a typo. */
	if (errno || end == arg || *end || mode > 0777 || (mode & 0600) != 0600)
		return opt_usage_error(
			cmd, "--socket-mode wants an octal mode 0600..0777, not '%s'", arg);
	o->socket_mode = (unsigned int)mode;
	return 0;
}

/* Return: 0, or EXIT_USAGE after one error line. */
static int service_parse_group(struct service_options *o, const char *cmd, const char *arg)
{
	struct group *g = getgrnam(arg);
	char *end;
	unsigned long gid;

	if (g) {
		o->socket_group = (unsigned int)g->gr_gid;
	} else {
		errno = 0;
		gid = strtoul(arg, &end, 10);
		if (errno || end == arg || *end || gid > 0x7fffffff)
			return opt_usage_error(cmd, "--socket-group: no group '%s'", arg);
		o->socket_group = (unsigned int)gid;
	}
	o->set_socket_group = true;
	return 0;
}

int service_parse_option(struct service_options *o, const char *cmd, int opt, const char *arg)
{
	switch (opt) {
	case SERVICE_OPT_SOCKET_MODE:
		return service_parse_mode(o, cmd, arg);
	case SERVICE_OPT_SOCKET_GROUP:
		return service_parse_group(o, cmd, arg);
	case SERVICE_OPT_PIDFILE:
		o->pidfile = arg;
		return 0;
	case SERVICE_OPT_NO_SANDBOX:
		o->no_sandbox = true;
		return 0;
	case SERVICE_OPT_SANDBOX_LOG:
		o->sandbox_log = true;
		return 0;
	default:
		return 1;
	}
}

void service_apply(const struct service_options *o, struct vhost_user_backend_options *bo)
{
	bo->socket_mode = o->socket_mode;
	bo->set_socket_group = o->set_socket_group;
	bo->socket_group = o->socket_group;
}

unsigned int service_listen_fds(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	unsigned long n = 0;
	char *end;

	if (pid && fds && strtol(pid, &end, 10) == (long)getpid() && !*end) {
		n = strtoul(fds, &end, 10);
		if (*end || n > 64)
			n = 0;
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return (unsigned int)n;
}

/* Return: the fd, -1 (no pid file), or -errno after one error line. */
int service_pidfile_write(const struct service_options *o, const char *cmd)
{
	char line[32];
	int fd, len;

	if (!o->pidfile)
		return -1;
	fd = open(o->pidfile, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	len = snprintf(line, sizeof(line), "%d\n", (int)getpid());
	if (fd >= 0 && write(fd, line, (size_t)len) == len)
		return fd;
	len = -errno;
	if (fd >= 0)
		close(fd);
	fprintf(stderr, "vireo %s: --pidfile %s: %s\n", cmd, o->pidfile, strerror(-len));
	return len;
}

void service_pidfile_remove(const struct service_options *o, int fd)
{
	struct stat ours, now;
	char line[32] = "";

	if (fd < 0)
		return;
	/*
	 * Another instance may have taken the path over since (a new file, or
	 * ours rewritten): leave its file. No open(2): the sandbox forbids it.
	 */
	if (fstat(fd, &ours) == 0 && stat(o->pidfile, &now) == 0 && ours.st_dev == now.st_dev &&
	    ours.st_ino == now.st_ino && pread(fd, line, sizeof(line) - 1, 0) > 0 &&
	    atoi(line) == (int)getpid())
		unlink(o->pidfile);
	close(fd);
}

int service_sandbox(const struct service_options *o, unsigned int needs, const char *cmd)
{
	int ret;

	if (o->no_sandbox)
		return 0;
	ret = sandbox_apply(needs, o->sandbox_log ? SANDBOX_LOG : SANDBOX_KILL);
	if (ret < 0)
		fprintf(stderr, "vireo %s: seccomp sandbox: %s (--no-sandbox runs without)\n", cmd,
			strerror(-ret));
	return ret;
}
