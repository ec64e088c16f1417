// SPDX-License-Identifier: MIT
/*
 * Why this cannot block. An eventfd write blocks while the counter cannot
 * take the value and the file is blocking: both are the peer's to choose,
 * between any check of ours and the write (pwritev2's RWF_NOWAIT is refused
 * by eventfd, and io_uring's own write path reads O_NONBLOCK twice). So we
 * never write(): the eventfd is registered with a private io_uring
 * (IORING_REGISTER_EVENTFD) and a NOP makes the kernel post a completion,
 * which signals it with eventfd_signal() - a spinlock and a saturating add,
 * no wait. Reads use preadv2(RWF_NOWAIT): a per-call flag the peer cannot
 * clear, checked under the eventfd's lock (Linux 5.12 and later).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/uio.h>

#include <liburing.h>

#include <vireo/peer_eventfd.h>
#include <vireo/uring_restrict.h>

struct peer_eventfd {
	struct io_uring ring;
};

/* Return: 0; -EINVAL (not an eventfd); -ENOMEM; -errno from io_uring. */
int vireo_peer_eventfd_new(struct peer_eventfd **out, int fd)
{
	struct peer_eventfd *pe;
	int ret;

	*out = NULL;
	if (fd < 0)
		return -EINVAL;
	pe = calloc(1, sizeof(*pe));
	if (!pe)
		return -ENOMEM;
	/* One NOP in flight at a time; the CQ (twice the SQ) never overflows. */
	ret = io_uring_queue_init(1, &pe->ring, IORING_SETUP_R_DISABLED);
	if (ret < 0)
		goto out_free;
	/* The kernel takes its own reference: a later close of @fd changes nothing here. */
	ret = io_uring_register_eventfd(&pe->ring, fd);
	if (ret < 0)
		goto out_exit_ring;
	/* NOP only: seccomp does not see io_uring opcodes (uring_restrict.h). */
	ret = vireo_uring_restrict(&pe->ring, (const uint8_t[]){IORING_OP_NOP}, 1);
	if (ret < 0)
		goto out_exit_ring;
	*out = pe;
	return 0;

out_exit_ring:
	io_uring_queue_exit(&pe->ring);
out_free:
	free(pe);
	return ret;
}

void vireo_peer_eventfd_free(struct peer_eventfd *pe)
{
	if (!pe)
		return;
	io_uring_queue_exit(&pe->ring);
	free(pe);
}

/* Return: 0, or -errno from io_uring_enter. */
int vireo_peer_eventfd_signal(struct peer_eventfd *pe)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int ret = 0;

	sqe = io_uring_get_sqe(&pe->ring);
	/* Only if an earlier submit failed: that NOP is still queued and goes now. */
	if (sqe)
		io_uring_prep_nop(sqe);
	ret = io_uring_submit(&pe->ring);
	/* A NOP completes inside the submit; reaping keeps the CQ empty. */
	while (io_uring_peek_cqe(&pe->ring, &cqe) == 0)
		io_uring_cqe_seen(&pe->ring, cqe);
	return ret < 0 ? ret : 0;
}

/* Return: the count; 0 if none; -EOPNOTSUPP (no RWF_NOWAIT for this fd); -errno. */
int64_t vireo_peer_eventfd_drain(int fd)
{
	uint64_t count = 0;
	struct iovec iov = {.iov_base = &count, .iov_len = sizeof(count)};
	ssize_t n;

	do {
		n = preadv2(fd, &iov, 1, -1, RWF_NOWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	if (n != (ssize_t)sizeof(count))
		return 0;
	/* A semaphore eventfd gives 1; a saturated one all ones: report "signalled". */
	return count > INT64_MAX ? INT64_MAX : (int64_t)count;
}
