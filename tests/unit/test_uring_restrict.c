// SPDX-License-Identifier: MIT
/*
 * vireo_uring_restrict() (include/vireo/uring_restrict.h): seccomp does not see
 * io_uring opcodes, so our rings carry an allow-list. A ring restricted to NOP
 * completes a NOP but answers -EACCES in the CQE to IORING_OP_OPENAT and
 * IORING_OP_READ, to a NOP with an SQE flag, and refuses every register op;
 * bad arguments and a ring not created IORING_SETUP_R_DISABLED are refused.
 * The rings of the blk device's queues (devices/blk/blk_io.c) and of
 * vireo_peer_eventfd_new() (core/peer_eventfd.c) are found by their fds and
 * checked to be restricted (a register op answers -EACCES).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <liburing.h>

#include <vireo/peer_eventfd.h>
#include <vireo/uring_restrict.h>

#include "tests/lib/blk_harness.h"

#define MAX_RINGS 64

/* Submit @sqe's request alone and wait for its CQE. Return: the CQE's res. */
static int run_one(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;
	int res;

	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(io_uring_wait_cqe(ring, &cqe), 0);
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return res;
}

static int nop(struct io_uring *ring, uint8_t flags)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	assert_non_null(sqe);
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_flags(sqe, flags);
	return run_one(ring);
}

/* A ring allowed NOP only. */
static void nop_ring(struct io_uring *ring)
{
	assert_int_equal(io_uring_queue_init(4, ring, IORING_SETUP_R_DISABLED), 0);
	assert_int_equal(vireo_uring_restrict(ring, (const uint8_t[]){IORING_OP_NOP}, 1), 0);
}

/* io_uring_register(2) on @fd with IORING_REGISTER_PROBE. Return: 0 or -errno. */
static int probe(int fd)
{
	struct io_uring_probe *p = calloc(1, sizeof(*p) + 256 * sizeof(struct io_uring_probe_op));
	long ret;

	assert_non_null(p);
	ret = syscall(__NR_io_uring_register, fd, IORING_REGISTER_PROBE, p, 256);
	free(p);
	return ret < 0 ? -errno : 0;
}

static void test_other_opcodes_refused(void **state)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	char buf[8];

	(void)state;
	nop_ring(&ring);
	assert_int_equal(nop(&ring, 0), 0);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_openat(sqe, AT_FDCWD, "/etc/hostname", O_RDONLY, 0);
	assert_int_equal(run_one(&ring), -EACCES);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, 0, buf, sizeof(buf), 0);
	assert_int_equal(run_one(&ring), -EACCES);
	/* Still usable for what it was allowed. */
	assert_int_equal(nop(&ring, 0), 0);
	io_uring_queue_exit(&ring);
}

static void test_flags_and_register_ops_refused(void **state)
{
	struct io_uring ring;
	int efd = eventfd(0, EFD_CLOEXEC);

	(void)state;
	assert_true(efd >= 0);
	nop_ring(&ring);
	assert_int_equal(nop(&ring, IOSQE_IO_DRAIN), -EACCES);
	assert_int_equal(io_uring_register_eventfd(&ring, efd), -EACCES);
	assert_int_equal(probe(ring.ring_fd), -EACCES);
	io_uring_queue_exit(&ring);
	close(efd);
}

static void test_bad_calls(void **state)
{
	uint8_t many[VIREO_URING_RESTRICT_MAX_OPS + 1] = {0};
	struct io_uring ring;

	(void)state;
	assert_int_equal(io_uring_queue_init(4, &ring, IORING_SETUP_R_DISABLED), 0);
	assert_int_equal(vireo_uring_restrict(&ring, many, 0), -EINVAL);
	assert_int_equal(vireo_uring_restrict(&ring, many, sizeof(many)), -EINVAL);
	assert_int_equal(vireo_uring_restrict(&ring, (const uint8_t[]){IORING_OP_NOP}, 1), 0);
	/* Restricted: registering a second list is itself a register op, refused. */
	assert_int_equal(vireo_uring_restrict(&ring, (const uint8_t[]){IORING_OP_OPENAT}, 1),
			 -EACCES);
	io_uring_queue_exit(&ring);
	/* Not created disabled: restrictions cannot apply. */
	assert_int_equal(io_uring_queue_init(4, &ring, 0), 0);
	assert_int_equal(vireo_uring_restrict(&ring, (const uint8_t[]){IORING_OP_NOP}, 1), -EBADFD);
	assert_int_equal(probe(ring.ring_fd), 0);
	io_uring_queue_exit(&ring);
}

/* The io_uring fds open in this process, in @fds. Return: how many. */
static unsigned int uring_fds(int *fds)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	unsigned int n = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		char path[300], target[64];
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (strcmp(target, "anon_inode:[io_uring]") == 0 && n < MAX_RINGS)
			fds[n++] = atoi(e->d_name);
	}
	closedir(d);
	return n;
}

/* Every io_uring fd now open that is not in @before is restricted. Return: how many. */
static unsigned int check_new_rings(const int *before, unsigned int nbefore)
{
	int now[MAX_RINGS];
	unsigned int n = uring_fds(now), fresh = 0;

	for (unsigned int i = 0; i < n; i++) {
		bool old = false;

		for (unsigned int j = 0; j < nbefore; j++)
			old |= before[j] == now[i];
		if (old)
			continue;
		assert_int_equal(probe(now[i]), -EACCES);
		fresh++;
	}
	return fresh;
}

static void test_peer_eventfd_ring_restricted(void **state)
{
	int before[MAX_RINGS], efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	unsigned int nbefore = uring_fds(before);
	struct peer_eventfd *pe;
	uint64_t v = 0;

	(void)state;
	assert_true(efd >= 0);
	assert_int_equal(vireo_peer_eventfd_new(&pe, efd), 0);
	assert_int_equal(check_new_rings(before, nbefore), 1);
	/* The NOP it is allowed still signals. */
	assert_int_equal(vireo_peer_eventfd_signal(pe), 0);
	assert_int_equal(read(efd, &v, sizeof(v)), (ssize_t)sizeof(v));
	assert_int_equal(v, 1);
	vireo_peer_eventfd_free(pe);
	close(efd);
}

static void test_blk_rings_restricted(void **state)
{
	struct blk_device_options two = {.num_queues = 2};
	int before[MAX_RINGS];
	unsigned int nbefore = uring_fds(before);
	struct blk_harness h;

	(void)state;
	blk_harness_init(&h, &two, 0);
	/*
	 * Per queue: its I/O ring (readv/writev/write/fallocate/fsync) and its call
	 * fd's signaller (NOP), each restricted.
	 */
	assert_int_equal(check_new_rings(before, nbefore), 4);
	blk_harness_destroy(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_other_opcodes_refused),
		cmocka_unit_test(test_flags_and_register_ops_refused),
		cmocka_unit_test(test_bad_calls),
		cmocka_unit_test(test_peer_eventfd_ring_restricted),
		cmocka_unit_test(test_blk_rings_restricted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
