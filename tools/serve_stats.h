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

/** serve_stats_blk() - every queue's counters of @blk to @out */
void serve_stats_blk(const struct blk_device *blk, bool json, FILE *out);

/** serve_stats_rng() - @rng's counters to @out */
void serve_stats_rng(const struct rng_device *rng, bool json, FILE *out);

#endif /* VIREO_TOOLS_SERVE_STATS_H */
