/* SPDX-License-Identifier: MIT */
/*
 * Helpers over the iovec arrays vring pop fills (struct vring_iov): total
 * size, copies to and from a flat buffer starting N bytes in, and a slice
 * view for handing part of a chain to readv/io_uring. None of them fails on
 * short input: they report how many bytes (or entries) they covered.
 */
#ifndef VIREO_IOV_H
#define VIREO_IOV_H

#include <stddef.h>

#include <vireo/vring.h>
#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/** vireo_iov_size() - total bytes of @iov[0..@cnt) (saturates at SIZE_MAX) */
VIREO_API size_t vireo_iov_size(const struct vring_iov *iov, unsigned int cnt);

/**
 * vireo_iov_to_buf() - copy out of @iov, starting @skip bytes in, at most @len bytes
 * Return: the bytes copied (less than @len if @iov is shorter).
 */
VIREO_API size_t vireo_iov_to_buf(const struct vring_iov *iov, unsigned int cnt, size_t skip,
				  void *buf, size_t len);

/**
 * vireo_buf_to_iov() - copy @len bytes of @buf into @iov, starting @skip bytes in
 * Return: the bytes copied (less than @len if @iov is shorter).
 */
VIREO_API size_t vireo_buf_to_iov(const struct vring_iov *iov, unsigned int cnt, size_t skip,
				  const void *buf, size_t len);

/**
 * vireo_iov_memset() - fill @len bytes of @iov with @c, starting @skip bytes in
 * Return: the bytes filled.
 */
VIREO_API size_t vireo_iov_memset(const struct vring_iov *iov, unsigned int cnt, size_t skip, int c,
				  size_t len);

/**
 * vireo_iov_slice() - describe bytes [@skip, @skip + @len) of @src as a new array
 * @dst: receives at most @dst_cap entries pointing into the same memory
 * @covered: set to the bytes the filled entries hold (< @len if @src is
 *	shorter or @dst_cap too small); may be NULL
 * Return: the number of entries written to @dst.
 */
VIREO_API unsigned int vireo_iov_slice(const struct vring_iov *src, unsigned int cnt, size_t skip,
				       size_t len, struct vring_iov *dst, unsigned int dst_cap,
				       size_t *covered);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_IOV_H */
