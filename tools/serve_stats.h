/* SPDX-License-Identifier: MIT */
/*
 * The counters `vireo serve blk|rng` print on SIGUSR1 and at exit: one line
 * per queue, or with --json one JSON object per print (one line), so a
 * service manager or a script can read them.
 */
#ifndef VIREO_TOOLS_SERVE_STATS_H
#define VIREO_TOOLS_SERVE_STATS_H

#include <stdbool.h>
#include <stdio.h>

#include <vireo/blk_device.h>
#include <vireo/rng_device.h>
#include <vireo/vhost_user_backend.h>

/** serve_stats_iotlb_used() - a front-end negotiated ACCESS_PLATFORM (now or before) */
bool serve_stats_iotlb_used(const struct vhost_user_backend_iotlb_stats *iotlb);

/** serve_stats_blk() - every queue's counters of @blk, then @iotlb's (if not NULL), to @out */
void serve_stats_blk(const struct blk_device *blk,
		     const struct vhost_user_backend_iotlb_stats *iotlb, bool json, FILE *out);

/** serve_stats_rng() - @rng's counters, then @iotlb's (if not NULL), to @out */
void serve_stats_rng(const struct rng_device *rng,
		     const struct vhost_user_backend_iotlb_stats *iotlb, bool json, FILE *out);

#endif /* VIREO_TOOLS_SERVE_STATS_H */
