/* SPDX-License-Identifier: MIT */
/*
 * io_uring requests are not system calls: the seccomp filter of `vireo serve`
 * (tools/sandbox.c) sees io_uring_enter, never the opcodes it carries, so a
 * server taken over could still open or connect through a ring. Each ring we
 * own therefore gets an allow-list of opcodes (IORING_REGISTER_RESTRICTIONS):
 * it is created with IORING_SETUP_R_DISABLED, registers what it needs (its
 * eventfd), then is restricted and enabled here. Afterwards any other opcode
 * completes with -EACCES, any SQE flag is refused and so is every further
 * io_uring_register() operation (Linux io_uring_register(2)).
 */
#ifndef VIREO_URING_RESTRICT_H
#define VIREO_URING_RESTRICT_H

#include <stdint.h>

#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

struct io_uring;

/* At most this many opcodes in one allow-list. */
#define VIREO_URING_RESTRICT_MAX_OPS 16

/**
 * vireo_uring_restrict() - allow @ring only the SQE opcodes @ops[0..@num_ops)
 * (IORING_OP_*), no SQE flags and no registration op, then enable it
 * (IORING_REGISTER_ENABLE_RINGS). @ring must have been set up with
 * IORING_SETUP_R_DISABLED and not restricted yet.
 * Return: 0; -EINVAL (@num_ops 0 or above VIREO_URING_RESTRICT_MAX_OPS, or the
 * kernel has no restrictions); -EBADFD (@ring not created disabled); -EACCES
 * (restricted already: registering is refused); other -errno from io_uring_register.
 */
VIREO_API int vireo_uring_restrict(struct io_uring *ring, const uint8_t *ops, unsigned int num_ops);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_URING_RESTRICT_H */
