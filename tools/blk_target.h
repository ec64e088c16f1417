/* SPDX-License-Identifier: MIT */
/*
 * Where `vireo blk` and `vireo bench blk` do their I/O: an image served by our model
 * (--image, over --transport), a vhost-user-blk back-end (--socket, with --reconnect and the
 * vIOMMU options) or a virtio-blk PCI function (--pci); the options that choose it, their
 * checks, and the opening of the blk_stack over it. Both commands parse and check them here,
 * so the two accept and refuse the same combinations.
 */
#ifndef VIREO_TOOLS_BLK_TARGET_H
#define VIREO_TOOLS_BLK_TARGET_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include "tools/blk_stack.h"
#include "tools/options.h"

/* Long-only option ids (above every tool's own, below OPT_IOMMU's). */
enum {
	BLK_TARGET_OPT_PCI = 0x3000,
	BLK_TARGET_OPT_FORMAT,
	BLK_TARGET_OPT_RECONNECT,
	BLK_TARGET_OPT_TRANSPORT,
	BLK_TARGET_OPT_RING,
};

/* clang-format off */
#define BLK_TARGET_LONGOPTS                                                          \
	{"image", required_argument, NULL, 'i'},                                     \
	{"socket", required_argument, NULL, 'S'},                                    \
	{"pci", required_argument, NULL, BLK_TARGET_OPT_PCI},                        \
	{"format", required_argument, NULL, BLK_TARGET_OPT_FORMAT},                  \
	{"reconnect", required_argument, NULL, BLK_TARGET_OPT_RECONNECT},            \
	{"ring", required_argument, NULL, BLK_TARGET_OPT_RING},                      \
	{"transport", required_argument, NULL, BLK_TARGET_OPT_TRANSPORT},            \
	OPT_IOMMU_LONGOPTS
/* clang-format on */

/**
 * struct blk_target - what the target options asked for
 * @image, @socket, @pci: exactly one is set once blk_target_check() passed
 * @format_raw: --format raw (serve @image even if it looks like another format)
 * @have_transport: --transport was given (it goes with --image only)
 * @readonly: serve @image read-only (set by the command: `blk --readonly`, a read workload)
 * @readonly_option: the command has --readonly, so an image that cannot be opened for
 *	writing suggests it
 */
struct blk_target {
	const char *image;
	const char *socket;
	const char *pci;
	bool format_raw;
	enum virtio_ring_format ring;
	unsigned int reconnect_ms;
	struct opt_iommu iommu;
	enum tool_transport transport;
	bool have_transport;
	bool readonly;
	bool readonly_option;
};

/**
 * blk_target_parse_option() - @opt if it is one of BLK_TARGET_LONGOPTS, with @arg
 * Return: 0 (taken), 1 (not a target option), or EXIT_USAGE after the error line.
 */
int blk_target_parse_option(const char *cmd, int opt, const char *arg, struct blk_target *t);

/**
 * blk_target_check() - one of --image, --socket, --pci, and only the options that go with it
 * Return: 0, or EXIT_USAGE after the error line.
 */
int blk_target_check(const char *cmd, const struct blk_target *t);

/** blk_target_name() - the image path, socket path or PCI address, for messages */
const char *blk_target_name(const struct blk_target *t);

/**
 * blk_target_open() - @t's device with our blk driver bound to it, in @s
 * @queues: request queues: with --image the model offers this many; otherwise use at most
 *	this many of the device's (0: all)
 * @dma_bytes: DMA arena (0: the transport's default)
 * Return: 0, or 1 after one line on stderr naming @cmd, the target and the reason (an
 * image that is not raw without --format raw; open, connect or probe failures).
 */
int blk_target_open(const char *cmd, const struct blk_target *t, struct blk_stack *s,
		    unsigned int queues, size_t dma_bytes);

#endif /* VIREO_TOOLS_BLK_TARGET_H */
