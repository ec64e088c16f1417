/* SPDX-License-Identifier: MIT */
/*
 * The seccomp sandbox of every `vireo serve`: once set-up is done (sockets
 * listening, image open, uplinks up), the process may make only the system
 * calls that serving needs; any other kills it (SIGSYS). A policy of this
 * program (glibc, liburing and libslirp as `vireo` uses them), not of the
 * library: an application embedding libvireo makes its own.
 */
#ifndef VIREO_TOOLS_SANDBOX_H
#define VIREO_TOOLS_SANDBOX_H

/* Needs beyond the base list, ORed into sandbox_apply()'s @needs. */
/* libslirp (serve net --uplink user): the guest's TCP/UDP flows become host sockets. */
#define SANDBOX_NEED_INET (1u << 0)

enum sandbox_action {
	SANDBOX_KILL, /* a forbidden call kills the process (SIGSYS, core dump) */
	SANDBOX_LOG,  /* allowed, but logged by the kernel (audit / dmesg): to debug the list */
};

/**
 * sandbox_apply() - load the filter into every thread of the process
 * (TSYNC), after setting no_new_privs. Not undone: threads created later
 * inherit it.
 * Return: 0; -ENOMEM; -errno from libseccomp or seccomp(2) (-EINVAL: no
 * seccomp in this kernel; -ESRCH: a thread runs another filter).
 */
int sandbox_apply(unsigned int needs, enum sandbox_action action);

#endif /* VIREO_TOOLS_SANDBOX_H */
