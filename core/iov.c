// SPDX-License-Identifier: MIT
/*
 * iovec helpers. The arrays come from a ring pop (struct vring_dev_ops), which translated
 * every segment through guest memory with its full length, so each
 * [base, base + len) is mapped host memory. The guest may change those bytes
 * at any moment: callers copy out what they rely on and check the copy.
 */
#include <stdint.h>
#include <string.h>

#include <vireo/iov.h>

size_t vireo_iov_size(const struct vring_iov *iov, unsigned int cnt)
{
	size_t total = 0;
	unsigned int i;

	for (i = 0; i < cnt; i++) {
		if (iov[i].len > SIZE_MAX - total)
			return SIZE_MAX;
		total += iov[i].len;
	}
	return total;
}

/*
 * Walk the bytes [@skip, @skip + @len) of @iov, calling @fn on each piece
 * with its offset into the walk. Return: the bytes walked.
 */
static size_t iov_walk(const struct vring_iov *iov, unsigned int cnt, size_t skip, size_t len,
		       void (*fn)(void *seg, size_t done, size_t n, void *arg), void *arg)
{
	size_t done = 0;
	unsigned int i;

	for (i = 0; i < cnt && done < len; i++) {
		size_t n;

		if (skip >= iov[i].len) {
			skip -= iov[i].len;
			continue;
		}
		n = iov[i].len - skip;
		if (n > len - done)
			n = len - done;
		fn((char *)iov[i].base + skip, done, n, arg);
		done += n;
		skip = 0;
	}
	return done;
}

static void copy_out(void *seg, size_t done, size_t n, void *arg)
{
	/* GUEST: seg lies inside a segment pop translated with its full length. */
	memcpy((char *)arg + done, seg, n);
}

static void copy_in(void *seg, size_t done, size_t n, void *arg)
{
	/* GUEST: seg lies inside a segment pop translated with its full length. */
	memcpy(seg, (const char *)arg + done, n);
}

struct fill_arg {
	int c;
};

static void fill(void *seg, size_t done, size_t n, void *arg)
{
	const struct fill_arg *f = arg;

	(void)done;
	/* GUEST: seg lies inside a segment pop translated with its full length. */
	memset(seg, f->c, n);
}

size_t vireo_iov_to_buf(const struct vring_iov *iov, unsigned int cnt, size_t skip, void *buf,
			size_t len)
{
	return iov_walk(iov, cnt, skip, len, copy_out, buf);
}

size_t vireo_buf_to_iov(const struct vring_iov *iov, unsigned int cnt, size_t skip, const void *buf,
			size_t len)
{
	/* copy_in only reads through arg; the cast drops const for the shared walker. */
	return iov_walk(iov, cnt, skip, len, copy_in, (void *)(uintptr_t)buf);
}

size_t vireo_iov_memset(const struct vring_iov *iov, unsigned int cnt, size_t skip, int c,
			size_t len)
{
	struct fill_arg f = {.c = c};

	return iov_walk(iov, cnt, skip, len, fill, &f);
}

unsigned int vireo_iov_slice(const struct vring_iov *src, unsigned int cnt, size_t skip, size_t len,
			     struct vring_iov *dst, unsigned int dst_cap, size_t *covered)
{
	unsigned int i, out = 0;
	size_t done = 0;

	for (i = 0; i < cnt && done < len && out < dst_cap; i++) {
		size_t n;

		if (skip >= src[i].len) {
			skip -= src[i].len;
			continue;
		}
		n = src[i].len - skip;
		if (n > len - done)
			n = len - done;
		dst[out].base = (char *)src[i].base + skip;
		dst[out].len = n;
		out++;
		done += n;
		skip = 0;
	}
	if (covered)
		*covered = done;
	return out;
}
