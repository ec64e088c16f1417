// SPDX-License-Identifier: MIT
/*
 * The `vireo serve` seccomp filter (sandbox.h). The list below is what the
 * servers were seen to call after set-up (strace -f through whole sessions
 * with QEMU guests, DPDK and the tests: docs/threat-model.md), grouped by
 * who needs it. No open, exec, fork, ptrace, kill, chmod or mount: what a
 * compromised server can still do is read and write the fds it holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <seccomp.h>

#include "tools/sandbox.h"

#define SANDBOX_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Allowed with any arguments. One group a line or two: clang-format would make it 80 lines. */
// clang-format off
static const int sandbox_base[] = {
	/* the event loops: epoll, signalfd reads, vhost-user message deadlines */
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_pwait2), SCMP_SYS(epoll_ctl),
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(eventfd2), SCMP_SYS(timerfd_create),
	SCMP_SYS(timerfd_settime), SCMP_SYS(timerfd_gettime), SCMP_SYS(restart_syscall),
	/* fds already open: sockets, eventfds, the image, the tap, stdout/stderr */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64),
	SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev), SCMP_SYS(preadv2),
	SCMP_SYS(pwritev2), SCMP_SYS(lseek), SCMP_SYS(close), SCMP_SYS(fcntl), SCMP_SYS(fstat),
	SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
	SCMP_SYS(fallocate), SCMP_SYS(fstatfs),
	/* what a received fd is: readlink of /proc/self/fd/N (vireo_vhost_user_fd_is_eventfd) */
	SCMP_SYS(readlink), SCMP_SYS(readlinkat),
	/* vhost-user: one front-end at a time, its messages with their fds (SCM_RIGHTS) */
	SCMP_SYS(accept4), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(recvfrom),
	SCMP_SYS(sendto), SCMP_SYS(shutdown), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername),
	/* blk I/O, and the call eventfds signalled through a private ring (peer_eventfd.c) */
	SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register),
	/* inflight tracking (GET_INFLIGHT_FD): a memfd of our own, sized and mapped */
	SCMP_SYS(memfd_create), SCMP_SYS(ftruncate),
	/* memory: malloc, the front-end's memory table, thread stacks (mmap: below) */
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	/* threads: blk queue threads (started and stopped per connection), the slirp thread */
	SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(exit),
	SCMP_SYS(exit_group), SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(sched_yield),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack),
	/* glibc's first pthread_create (SIGSETXID); mem_guard.c's SIGBUS at SET_MEM_TABLE */
	SCMP_SYS(rt_sigaction),
	/* time (the vDSO's fallbacks), and random bytes: virtio-rng, hash seeds */
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
	SCMP_SYS(gettimeofday), SCMP_SYS(getrandom),
	/* at exit: the socket and the pid file are removed (the pid file after a stat: ours?) */
	SCMP_SYS(unlink), SCMP_SYS(unlinkat),
};
// clang-format on

#ifdef VIREO_SANITIZED
/*
 * The ASan/UBSan build only (the Makefile's SAN=): LeakSanitizer at exit stops
 * the world from a tracer process (clone, ptrace, /proc/self/task) and reads
 * /proc/self/maps; reports symbolize from the binary. Never in a plain build.
 */
static const int sandbox_sanitizer[] = {
	SCMP_SYS(prctl),      SCMP_SYS(ptrace),	  SCMP_SYS(wait4),
	SCMP_SYS(getppid),    SCMP_SYS(open),	  SCMP_SYS(openat),
	SCMP_SYS(getdents64), SCMP_SYS(getdents), SCMP_SYS(sched_getaffinity),
};
#endif

/* libslirp's host side: sockets, but only IPv4/IPv6 ones (SANDBOX_NEED_INET). */
static const int sandbox_inet[] = {
	SCMP_SYS(connect),
	SCMP_SYS(bind),
	SCMP_SYS(listen),
	SCMP_SYS(accept),
};

/* Return: 0 or -errno from libseccomp. */
static int sandbox_allow_list(scmp_filter_ctx ctx, const int *nr, size_t n)
{
	int ret;

	for (size_t i = 0; i < n; i++) {
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr[i], 0);
		if (ret < 0)
			return ret;
	}
	return 0;
}

#ifdef VIREO_SANITIZED
/* Return: 0 or -errno from libseccomp. */
static int sandbox_allow_sanitizer(scmp_filter_ctx ctx)
{
	int ret = sandbox_allow_list(ctx, sandbox_sanitizer, SANDBOX_COUNT(sandbox_sanitizer));

	/* LeakSanitizer's tracer: a process sharing our memory, CLONE_UNTRACED. */
	ret |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				SCMP_A0(SCMP_CMP_MASKED_EQ,
					CLONE_VM | CLONE_UNTRACED | CLONE_THREAD,
					CLONE_VM | CLONE_UNTRACED));
	/* A report's external symbolizer (fork and exec) fails: frames stay as addresses. */
	ret |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_UNTRACED | CLONE_THREAD, 0));
	/* Whether stderr is a terminal (colours). */
	ret |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				SCMP_A1(SCMP_CMP_EQ, TCGETS, 0));
	return ret < 0 ? -EINVAL : 0;
}
#endif

/* Calls allowed only with some arguments. Return: 0 or -errno from libseccomp. */
static int sandbox_allow_narrow(scmp_filter_ctx ctx)
{
	int ret = 0;

	/* No new executable memory: mmap and mprotect without PROT_EXEC. */
	ret |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	ret |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/*
	 * Threads, never processes: clone only with CLONE_THREAD. clone3 passes its
	 * flags in memory, out of the filter's sight: ENOSYS makes glibc use clone.
	 */
	ret |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	ret |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
#ifdef VIREO_SANITIZED
	ret |= sandbox_allow_sanitizer(ctx);
#endif
	/* abort() and raise() signal this process only. */
	ret |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0));
	return ret < 0 ? -EINVAL : 0;
}

/* Return: 0 or -errno from libseccomp. */
static int sandbox_allow_inet(scmp_filter_ctx ctx)
{
	int ret;

	ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
			       SCMP_A0(SCMP_CMP_EQ, AF_INET, 0));
	if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				       SCMP_A0(SCMP_CMP_EQ, AF_INET6, 0));
	if (ret == 0)
		ret = sandbox_allow_list(ctx, sandbox_inet, SANDBOX_COUNT(sandbox_inet));
	return ret;
}

int sandbox_apply(unsigned int needs, enum sandbox_action action)
{
	scmp_filter_ctx ctx;
	int ret;

	ctx = seccomp_init(action == SANDBOX_LOG ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return -ENOMEM;
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (ret == 0)
		ret = sandbox_allow_list(ctx, sandbox_base, SANDBOX_COUNT(sandbox_base));
	if (ret == 0)
		ret = sandbox_allow_narrow(ctx);
	if (ret == 0 && (needs & SANDBOX_NEED_INET))
		ret = sandbox_allow_inet(ctx);
	if (ret == 0)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	return ret;
}
