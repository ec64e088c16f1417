// SPDX-License-Identifier: MIT
/* The target options of `vireo blk` and `vireo bench blk`; see blk_target.h. */
#include <stdio.h>
#include <string.h>

#include "tools/blk_target.h"
#include "tools/image_format.h"

/* blk_target_parse_option() - see blk_target.h */
int blk_target_parse_option(const char *cmd, int opt, const char *arg, struct blk_target *t)
{
	switch (opt) {
	case 'i':
		t->image = arg;
		return 0;
	case 'S':
		t->socket = arg;
		return 0;
	case BLK_TARGET_OPT_PCI:
		t->pci = arg;
		return 0;
	case BLK_TARGET_OPT_FORMAT:
		t->format_raw = true;
		return image_format_parse(cmd, arg);
	case BLK_TARGET_OPT_RECONNECT:
		return opt_parse_count(cmd, "reconnect", arg, 1, 3600000, &t->reconnect_ms);
	case BLK_TARGET_OPT_RING:
		return opt_parse_ring(cmd, arg, &t->ring);
	case BLK_TARGET_OPT_TRANSPORT:
		t->have_transport = true;
		return opt_parse_transport(cmd, arg, &t->transport);
	default:
		return opt_parse_iommu(cmd, opt, arg, &t->iommu);
	}
}

/* blk_target_check() - see blk_target.h */
int blk_target_check(const char *cmd, const struct blk_target *t)
{
	if (!!t->image + !!t->socket + !!t->pci > 1)
		return opt_usage_error(cmd, "--image, --socket and --pci exclude each other");
	if (!t->image && !t->socket && !t->pci)
		return opt_usage_error(cmd, "missing --image FILE, --socket PATH or --pci BDF");
	if (t->reconnect_ms && !t->socket)
		return opt_usage_error(cmd, "--reconnect goes with --socket only");
	if (t->iommu.given && !t->socket)
		return opt_usage_error(cmd, "--iommu and --iotlb-* go with --socket only");
	if (opt_check_iommu(cmd, &t->iommu))
		return EXIT_USAGE;
	if (!t->image && t->have_transport)
		return opt_usage_error(cmd, "--transport goes with --image only");
	return 0;
}

const char *blk_target_name(const struct blk_target *t)
{
	return t->socket ? t->socket : t->pci ? t->pci : t->image;
}

/* blk_target_open() - see blk_target.h */
int blk_target_open(const char *cmd, const struct blk_target *t, struct blk_stack *s,
		    unsigned int queues, size_t dma_bytes)
{
	int ret;

	if (t->image && image_check_raw(cmd, t->image, t->format_raw))
		return 1;
	if (t->socket)
		ret = blk_stack_connect(s, t->socket, queues, dma_bytes, t->ring, t->reconnect_ms,
					&t->iommu);
	else if (t->pci)
		ret = blk_stack_pci(s, t->pci, queues, dma_bytes, t->ring);
	else
		ret = blk_stack_open(s, t->image, t->readonly, queues, dma_bytes, t->ring,
				     t->transport);
	if (ret < 0 && t->image) {
		/* No hint where the command has no --readonly to suggest. */
		image_open_error(cmd, t->image, -ret, t->readonly || !t->readonly_option);
		return 1;
	}
	if (ret < 0) {
		fprintf(stderr, "vireo %s: cannot %s %s: %s\n", cmd,
			t->socket ? "connect to" : "open the PCI function", blk_target_name(t),
			strerror(-ret));
		return 1;
	}
	return 0;
}
