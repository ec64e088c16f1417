// SPDX-License-Identifier: MIT
/*
 * tools/sandbox.c, the very filter every `vireo serve` loads (same function,
 * same list): in a child process, after sandbox_apply(),
 *  - /proc/self/status says "Seccomp: 2", for a thread started before too (TSYNC);
 *  - what serving needs still works: eventfd, timerfd, io_uring, getrandom, a
 *    memfd sized and mapped (inflight tracking), a thread started and joined,
 *    unlink, clone3 answered ENOSYS (glibc falls back to clone);
 *  - a forbidden call kills the whole process with SIGSYS: open, execve,
 *    ptrace, fork, socket(AF_PACKET), kill of another process, executable mmap;
 *    socket(AF_INET) too, unless SANDBOX_NEED_INET (libslirp) allows it.
 * No test-only trigger exists in the vireo binary: this test is the proof that
 * a forbidden call kills; tests/cli/test_serve_sandbox.sh shows the servers load it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/sched.h>
#include <liburing.h>

#include "tools/sandbox.h"

/* Child exit codes: which allowed step failed. */
enum {
	STEP_OK,
	STEP_APPLY,
	STEP_STATUS,
	STEP_EVENTFD,
	STEP_TIMERFD,
	STEP_URING,
	STEP_RANDOM,
	STEP_MEMFD,
	STEP_THREAD,
	STEP_CLONE3,
	STEP_UNLINK,
	STEP_INET,
	STEP_SURVIVED, /* a forbidden call returned */
};

/* The child: no core file for the expected SIGSYS, and gone with its parent. */
static void child_prepare(void)
{
	struct rlimit none = {0, 0};

	(void)setrlimit(RLIMIT_CORE, &none);
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* Run @fn in a child. Return: its wait status. */
static int run_child(int (*fn)(void *arg), void *arg)
{
	int status = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		child_prepare();
		/* _exit: no atexit handlers (the sanitizers' leak check) in the filter. */
		_exit(fn(arg));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void assert_exited_ok(int status)
{
	if (!WIFEXITED(status))
		fail_msg("child killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : -1);
	if (WEXITSTATUS(status) != STEP_OK)
		fail_msg("an allowed call failed at step %d", WEXITSTATUS(status));
}

static void assert_killed_by_sigsys(int status, const char *what)
{
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
		fail_msg("%s: expected death by SIGSYS, got %s %d", what,
			 WIFSIGNALED(status) ? "signal" : "exit code",
			 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

/* "Seccomp:\t2" in a status file opened before the filter (open is forbidden after). */
static bool status_is_filtered(int fd)
{
	char buf[4096];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, "\nSeccomp:\t2\n") != NULL;
}

/* The thread started before the filter: says who it is, then waits for its eventfd. */
struct early_thread {
	int efd;
	_Atomic pid_t tid;
};

static void *thread_wait(void *arg)
{
	struct early_thread *e = arg;
	uint64_t v;

	e->tid = gettid();
	return read(e->efd, &v, sizeof(v)) == (ssize_t)sizeof(v) ? arg : NULL;
}

static void *thread_nop(void *arg)
{
	return arg;
}

/* A thread started before the filter, one after: both run under it. */
static int allowed_threads(int status_fd, int thread_status_fd, int efd, pthread_t early)
{
	uint64_t one = 1;
	pthread_t late;
	void *res = NULL;

	if (!status_is_filtered(status_fd) || !status_is_filtered(thread_status_fd))
		return STEP_STATUS;
	if (write(efd, &one, sizeof(one)) != (ssize_t)sizeof(one) || pthread_join(early, &res) ||
	    !res)
		return STEP_THREAD;
	if (pthread_create(&late, NULL, thread_nop, &one) || pthread_join(late, &res) ||
	    res != &one)
		return STEP_THREAD;
	return STEP_OK;
}

/* io_uring (blk, peer_eventfd.c), a memfd mapped shared (inflight), random bytes. */
static int allowed_io(void)
{
	struct itimerspec ts = {.it_value = {.tv_nsec = 1000}};
	struct io_uring ring;
	char rnd[16];
	void *map;
	int fd;

	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0 || timerfd_settime(fd, 0, &ts, NULL) < 0)
		return STEP_TIMERFD;
	close(fd);
	if (io_uring_queue_init(4, &ring, 0) < 0)
		return STEP_URING;
	io_uring_prep_nop(io_uring_get_sqe(&ring));
	if (io_uring_submit_and_wait(&ring, 1) != 1)
		return STEP_URING;
	io_uring_queue_exit(&ring);
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return STEP_RANDOM;
	fd = memfd_create("vireo-inflight", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 4096) < 0)
		return STEP_MEMFD;
	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED || munmap(map, 4096) < 0)
		return STEP_MEMFD;
	close(fd);
	return STEP_OK;
}

/* Return: the early thread's own status file (/proc/self/task/TID/status), opened now. */
static int open_thread_status(struct early_thread *e)
{
	char path[64];

	while (!e->tid)
		sched_yield();
	snprintf(path, sizeof(path), "/proc/self/task/%ld/status", (long)e->tid);
	return open(path, O_RDONLY | O_CLOEXEC);
}

static int child_allowed(void *arg)
{
	const char *unlink_path = arg;
	struct clone_args ca = {.flags = CLONE_VM | CLONE_THREAD | CLONE_SIGHAND};
	int status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	struct early_thread e = {.efd = eventfd(0, EFD_CLOEXEC)};
	int thread_status_fd, ret;
	pthread_t early;

	if (status_fd < 0 || e.efd < 0 || pthread_create(&early, NULL, thread_wait, &e))
		return STEP_THREAD;
	/* The early thread's status: it shares the filter only through TSYNC. */
	thread_status_fd = open_thread_status(&e);
	if (thread_status_fd < 0)
		return STEP_STATUS;
	if (sandbox_apply(0, SANDBOX_KILL) < 0)
		return STEP_APPLY;
	ret = allowed_threads(status_fd, thread_status_fd, e.efd, early);
	if (ret == STEP_OK)
		ret = allowed_io();
	if (ret == STEP_OK && syscall(SYS_clone3, &ca, sizeof(ca)) != -1 && errno != ENOSYS)
		ret = STEP_CLONE3;
	if (ret == STEP_OK && unlink(unlink_path) < 0)
		ret = STEP_UNLINK;
	return ret;
}

static void test_sandbox_allows_what_serving_needs(void **state)
{
	char path[] = "/tmp/vireo-sandbox-XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_exited_ok(run_child(child_allowed, path));
	/* unlink (the socket and pid file at exit) worked inside the filter. */
	assert_int_equal(access(path, F_OK), -1);
}

static int forbid_open(void)
{
	return open("/etc/hostname", O_RDONLY);
}

static int forbid_execve(void)
{
	char *const argv[] = {(char *)"true", NULL};

	return execve("/bin/true", argv, NULL);
}

static int forbid_ptrace(void)
{
	return (int)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
}

static int forbid_fork(void)
{
	/* glibc's fork() is clone(SIGCHLD): a process, not a thread. */
	return (int)syscall(SYS_clone, (unsigned long)SIGCHLD, NULL, NULL, NULL, 0);
}

static int forbid_packet_socket(void)
{
	return socket(AF_PACKET, SOCK_RAW, 0);
}

static int forbid_inet_socket(void)
{
	return socket(AF_INET, SOCK_STREAM, 0);
}

static int forbid_kill_parent(void)
{
	return kill(1, 0); /* getppid() is forbidden too: pid 1 always exists */
}

static int forbid_exec_mapping(void)
{
	return mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) ==
			       MAP_FAILED
		       ? -1
		       : 0;
}

struct forbidden {
	const char *what;
	int (*call)(void);
	unsigned int needs;
};

static int child_forbidden(void *arg)
{
	const struct forbidden *f = arg;

	if (sandbox_apply(f->needs, SANDBOX_KILL) < 0)
		return STEP_APPLY;
	(void)f->call();
	return STEP_SURVIVED;
}

static const struct forbidden forbidden_calls[] = {
	{"execve", forbid_execve, 0},
	{"socket(AF_PACKET)", forbid_packet_socket, 0},
	{"socket(AF_PACKET) with SANDBOX_NEED_INET", forbid_packet_socket, SANDBOX_NEED_INET},
	{"socket(AF_INET) without SANDBOX_NEED_INET", forbid_inet_socket, 0},
	{"kill", forbid_kill_parent, 0},
	{"mmap PROT_EXEC", forbid_exec_mapping, 0},
#ifndef VIREO_SANITIZED
	/* LeakSanitizer (ptrace, /proc): sandbox.c allows these in that build only. */
	{"ptrace", forbid_ptrace, 0},
	{"open", forbid_open, 0},
	{"fork (clone without CLONE_THREAD)", forbid_fork, 0},
#endif
};

static void test_sandbox_kills_forbidden_calls(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(forbidden_calls) / sizeof(forbidden_calls[0]); i++) {
		const struct forbidden *f = &forbidden_calls[i];

		assert_killed_by_sigsys(run_child(child_forbidden, (void *)f), f->what);
	}
#ifdef VIREO_SANITIZED
	(void)forbid_ptrace;
	(void)forbid_open;
#endif
}

#ifdef VIREO_SANITIZED
/* The sanitizer build: a report's symbolizer may not fork, but is refused, not killed. */
static int child_fork_refused(void *arg)
{
	(void)arg;
	if (sandbox_apply(0, SANDBOX_KILL) < 0)
		return STEP_APPLY;
	return forbid_fork() == -1 && errno == EPERM ? STEP_OK : STEP_SURVIVED;
}

static void test_sandbox_sanitized_fork_refused(void **state)
{
	(void)state;
	assert_exited_ok(run_child(child_fork_refused, NULL));
}
#endif

static int child_inet(void *arg)
{
	int fd;

	(void)arg;
	if (sandbox_apply(SANDBOX_NEED_INET, SANDBOX_KILL) < 0)
		return STEP_APPLY;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return STEP_INET;
	close(fd);
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 && errno != EAFNOSUPPORT)
		return STEP_INET;
	return STEP_OK;
}

static void test_sandbox_inet_for_slirp(void **state)
{
	(void)state;
	assert_exited_ok(run_child(child_inet, NULL));
}

#ifdef __SANITIZE_ADDRESS__
/* A use after free under the filter: AddressSanitizer's report must still reach stderr. */
static int child_asan_report(void *arg)
{
	int *pipe_w = arg;
	char *heap = malloc(8);
	char *volatile stale = heap; /* out of the compiler's sight: no warning, no folding */
	volatile size_t at = 0;
	volatile char c;

	if (!heap || dup2(*pipe_w, STDERR_FILENO) < 0 || sandbox_apply(0, SANDBOX_KILL) < 0)
		return STEP_APPLY;
	free(heap);
	c = stale[at];
	(void)c;
	return STEP_SURVIVED;
}

static void test_sandbox_asan_report_printed(void **state)
{
	static char report[65536];
	size_t len = 0;
	ssize_t n;
	int p[2], status;

	(void)state;
	assert_int_equal(pipe(p), 0);
	fcntl(p[0], F_SETPIPE_SZ, 1 << 20);
	status = run_child(child_asan_report, &p[1]);
	close(p[1]);
	while (len < sizeof(report) - 1 &&
	       (n = read(p[0], report + len, sizeof(report) - 1 - len)) > 0)
		len += (size_t)n;
	report[len] = '\0';
	close(p[0]);
	if (!WIFEXITED(status) || WEXITSTATUS(status) == STEP_SURVIVED)
		fail_msg("the ASan report did not end the child cleanly (status %#x):\n%s", status,
			 report);
	assert_non_null(strstr(report, "ERROR: AddressSanitizer: heap-use-after-free"));
	assert_non_null(strstr(report, "child_asan_report"));
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sandbox_allows_what_serving_needs),
		cmocka_unit_test(test_sandbox_kills_forbidden_calls),
		cmocka_unit_test(test_sandbox_inet_for_slirp),
#ifdef VIREO_SANITIZED
		cmocka_unit_test(test_sandbox_sanitized_fork_refused),
#endif
#ifdef __SANITIZE_ADDRESS__
		cmocka_unit_test(test_sandbox_asan_report_printed),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
