// SPDX-License-Identifier: MIT
/* `vireo serve` as a service: socket mode and group, pid file (service.h). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/options.h"
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

/* Return: 0, or -errno after one error line. */
int service_pidfile_write(const struct service_options *o, const char *cmd)
{
	char line[32];
	int fd, len, ret = 0;

	if (!o->pidfile)
		return 0;
	fd = open(o->pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	len = snprintf(line, sizeof(line), "%d\n", (int)getpid());
	if (fd < 0 || write(fd, line, (size_t)len) != len)
		ret = -errno;
	if (fd >= 0 && close(fd) < 0 && ret == 0)
		ret = -errno;
	if (ret < 0)
		fprintf(stderr, "vireo %s: --pidfile %s: %s\n", cmd, o->pidfile, strerror(-ret));
	return ret;
}

void service_pidfile_remove(const struct service_options *o)
{
	char line[32] = "";
	FILE *f;

	if (!o->pidfile || !(f = fopen(o->pidfile, "r")))
		return;
	/* Another instance may have taken the path over since: leave its file. */
	if (fgets(line, sizeof(line), f) && atoi(line) == (int)getpid())
		unlink(o->pidfile);
	fclose(f);
}
