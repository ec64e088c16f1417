/* SPDX-License-Identifier: MIT */
/*
 * What `vireo serve` needs to run as a service, shared by serve blk|rng and
 * serve net: the socket's mode and group (so a QEMU running as another user,
 * e.g. libvirt's, can connect) and a pid file.
 */
#ifndef VIREO_TOOLS_SERVICE_H
#define VIREO_TOOLS_SERVICE_H

#include <stdbool.h>

#include <vireo/vhost_user_backend.h>

/* Long-only option values, shared by the serve commands (above any letter). */
#define SERVICE_OPT_SOCKET_MODE 300
#define SERVICE_OPT_SOCKET_GROUP 301
#define SERVICE_OPT_PIDFILE 302
#define SERVICE_OPT_NO_SANDBOX 303
#define SERVICE_OPT_SANDBOX_LOG 304

#define SERVICE_USAGE                                                                            \
	"      --socket-mode MODE  socket permissions, octal (default 0600)\n"                   \
	"      --socket-group GROUP  the socket's group (a name or a number)\n"                  \
	"      --pidfile PATH      write the process id there once listening; removed at exit\n" \
	"      --no-sandbox        no seccomp filter (default: once set up, only the system\n"   \
	"                          calls serving needs; any other kills the server)\n"           \
	"      --sandbox-log       the filter logs forbidden calls (dmesg) instead of killing\n"

#define SERVICE_OPTIONS                                                              \
	{"socket-mode", required_argument, NULL, SERVICE_OPT_SOCKET_MODE},           \
		{"socket-group", required_argument, NULL, SERVICE_OPT_SOCKET_GROUP}, \
		{"pidfile", required_argument, NULL, SERVICE_OPT_PIDFILE},           \
		{"no-sandbox", no_argument, NULL, SERVICE_OPT_NO_SANDBOX},           \
	{                                                                            \
		"sandbox-log", no_argument, NULL, SERVICE_OPT_SANDBOX_LOG            \
	}

struct service_options {
	unsigned int socket_mode;
	bool set_socket_group;
	unsigned int socket_group;
	const char *pidfile;
	bool no_sandbox;
	bool sandbox_log;
};

/**
 * service_parse_option() - one of the SERVICE_OPT_* options
 * Return: 0; 1 if @opt is not one of them; EXIT_USAGE after one error line.
 */
int service_parse_option(struct service_options *o, const char *cmd, int opt, const char *arg);

/** service_apply() - the socket's mode and group into backend options */
void service_apply(const struct service_options *o, struct vhost_user_backend_options *bo);

/* The first fd systemd passes (sd_listen_fds(3)). */
#define SERVICE_LISTEN_FDS_START 3

/**
 * service_listen_fds() - systemd socket activation: how many listening sockets
 * were passed from fd 3 on (LISTEN_FDS, for this process by LISTEN_PID), or 0.
 * The variables are cleared so that no child takes them for its own.
 */
unsigned int service_listen_fds(void);

/**
 * service_pidfile_write() - "PID\n" into the pid file, if one was asked for;
 * the file stays open, so that removing it needs no open(2) in the sandbox
 * Return: its fd, -1 if none was asked for, or -errno (one error line printed).
 */
int service_pidfile_write(const struct service_options *o, const char *cmd);

/**
 * service_pidfile_remove() - at exit, remove the pid file @fd was written to,
 * if the path still names that file and it still holds our pid; close @fd
 */
void service_pidfile_remove(const struct service_options *o, int fd);

/**
 * service_sandbox() - the seccomp filter (sandbox.h), unless --no-sandbox;
 * @needs: SANDBOX_NEED_* beyond the base list
 * Return: 0, or -errno after one error line on stderr.
 */
int service_sandbox(const struct service_options *o, unsigned int needs, const char *cmd);

#endif /* VIREO_TOOLS_SERVICE_H */
