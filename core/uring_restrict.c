// SPDX-License-Identifier: MIT
/*
 * An opcode allow-list for a ring of ours (include/vireo/uring_restrict.h):
 * IORING_REGISTER_RESTRICTIONS with one IORING_RESTRICTION_SQE_OP entry per
 * opcode and nothing else (so no SQE flags and no register ops are allowed),
 * then IORING_REGISTER_ENABLE_RINGS. Through the raw system call: liburing 2.3's
 * shared library (Debian 12) does not export io_uring_register_restrictions()
 * nor io_uring_enable_rings(), though its header declares them.
 */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <liburing.h>

#include <vireo/uring_restrict.h>

/* io_uring_register(2). Return: >= 0, or -errno. */
static int uring_register(const struct io_uring *ring, unsigned int op, const void *arg,
			  unsigned int nr)
{
	long ret = syscall(__NR_io_uring_register, ring->ring_fd, op, arg, nr);

	return ret < 0 ? -errno : (int)ret;
}

/* Return: 0; -EINVAL; -errno from io_uring_register (see the header). */
int vireo_uring_restrict(struct io_uring *ring, const uint8_t *ops, unsigned int num_ops)
{
	struct io_uring_restriction res[VIREO_URING_RESTRICT_MAX_OPS];
	int ret;

	if (!ring || !ops || num_ops == 0 || num_ops > VIREO_URING_RESTRICT_MAX_OPS)
		return -EINVAL;
	memset(res, 0, sizeof(res));
	for (unsigned int i = 0; i < num_ops; i++) {
		res[i].opcode = IORING_RESTRICTION_SQE_OP;
		res[i].sqe_op = ops[i];
	}
	ret = uring_register(ring, IORING_REGISTER_RESTRICTIONS, res, num_ops);
	if (ret < 0)
		return ret;
	ret = uring_register(ring, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
	return ret < 0 ? ret : 0;
}
