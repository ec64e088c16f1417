/* SPDX-License-Identifier: MIT */
/* Private to ring/: the bounded, validating walk of one descriptor chain. */
#ifndef VIREO_RING_CHAIN_H
#define VIREO_RING_CHAIN_H

#include <vireo/vring.h>

/*
 * vring_split_chain_walk() - read the chain starting at @head (< q->num)
 * into @iov, readable segments first, filling @chain.
 * Return: VRING_ERR_NONE, or the rule the driver broke; @iov and @chain are
 * then partly written and must be ignored.
 */
enum vring_error vring_split_chain_walk(const struct vring_split_dev *q, uint16_t head,
					struct vring_chain *chain, struct vring_iov *iov,
					unsigned int iov_cap);

#endif /* VIREO_RING_CHAIN_H */
