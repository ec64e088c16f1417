/* SPDX-License-Identifier: MIT */
/*
 * Argument parsing shared by the vireo subcommands: sizes with k/M/G
 * suffixes, bounded integers, and the one-line usage error (exit code 2).
 */
#ifndef VIREO_TOOLS_OPTIONS_H
#define VIREO_TOOLS_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include <vireo/driver.h>

/* Exit codes of every subcommand. */
#define EXIT_USAGE 2

/**
 * opt_parse_size() - "4096", "4k", "1M", "2G", "0x1000" (binary suffixes,
 * case-insensitive, optional trailing "iB" or "B")
 * Return: 0, or -EINVAL (not a size) / -ERANGE (above 2^63).
 */
int opt_parse_size(const char *s, uint64_t *out);

/**
 * opt_parse_uint() - a decimal or 0x-hex integer in [@min, @max]
 * Return: 0, -EINVAL (not a number) or -ERANGE (out of bounds).
 */
int opt_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/**
 * opt_parse_count() - the argument @arg of option --@name: an integer in
 * [@min, @max] (decimal or 0x-hex), for subcommand @cmd
 * Return: 0, or EXIT_USAGE after "--@name wants @min..@max, not '@arg'".
 */
int opt_parse_count(const char *cmd, const char *name, const char *arg, unsigned int min,
		    unsigned int max, unsigned int *out);

/**
 * opt_parse_ring() - the argument of --ring: "split" or "packed"
 * Return: 0, or EXIT_USAGE after "--ring wants split or packed, not '@arg'".
 */
int opt_parse_ring(const char *cmd, const char *arg, enum virtio_ring_format *out);

/*
 * In-process transports between our drivers and our device models (--transport);
 * add a value here and a row in options.c's table.
 */
enum tool_transport {
	TOOL_TRANSPORT_LOOPBACK = 0, /* the default */
	TOOL_TRANSPORT_MMIO,
	TOOL_TRANSPORT_PCI,
};

/**
 * opt_parse_transport() - the argument of --transport: "loopback" or "mmio"
 * Return: 0, or EXIT_USAGE after "--transport wants loopback or mmio, not '@arg'".
 */
int opt_parse_transport(const char *cmd, const char *arg, enum tool_transport *out);

/** opt_transport_name() - "loopback", "mmio" */
const char *opt_transport_name(enum tool_transport t);

/**
 * opt_msg_timeout_ms() - the vhost-user whole-message deadline from the
 * environment, VIREO_VHOST_USER_MSG_TIMEOUT_MS (1..600000; tests shorten
 * it); 0 (the library's default, 5000) when unset or not a valid number
 */
unsigned int opt_msg_timeout_ms(void);

/** opt_parse_seconds() - a positive decimal number of seconds. Return: 0 or -EINVAL */
int opt_parse_seconds(const char *s, double *out);

/**
 * opt_usage_error() - print "vireo <cmd>: <message>" as one line on stderr
 * Return: EXIT_USAGE, for `return opt_usage_error(...)`.
 */
int opt_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * opt_bad_getopt() - the one-line error for what getopt_long rejected
 * (unknown option, missing argument) at @argv[optind - 1]
 * Return: EXIT_USAGE.
 */
int opt_bad_getopt(const char *cmd, char **argv);

struct option;

/**
 * opt_parse_args() - run getopt_long over @argv from the start, with getopt's
 * own messages off: -h prints @usage on stdout and stops; every other option
 * (unknown ones included, as '?') goes to @one(@ctx, opt, @argv). Afterwards
 * the positional arguments start at optind.
 * Return: 0, -1 after -h (exit 0), or the first non-zero return of @one.
 */
int opt_parse_args(int argc, char **argv, const char *shortopts, const struct option *longopts,
		   const char *usage, int (*one)(void *ctx, int opt, char **argv), void *ctx);

/* The vIOMMU options of `blk --socket` and `bench blk --socket` (ids above every tool's own). */
enum { OPT_IOMMU = 0x4000, OPT_IOTLB_PAGE, OPT_IOTLB_PRELOAD, OPT_IOTLB_INVALIDATE };

/* clang-format off */
#define OPT_IOMMU_LONGOPTS                                                     \
	{"iommu", no_argument, NULL, OPT_IOMMU},                               \
	{"iotlb-page", required_argument, NULL, OPT_IOTLB_PAGE},               \
	{"iotlb-preload", no_argument, NULL, OPT_IOTLB_PRELOAD},               \
	{"iotlb-invalidate", required_argument, NULL, OPT_IOTLB_INVALIDATE}
/* clang-format on */

#define OPT_IOMMU_USAGE                                                                    \
	"      --iommu         with --socket: act as a vIOMMU: negotiate\n"                \
	"                      VIRTIO_F_ACCESS_PLATFORM and the IOTLB protocol, give\n"    \
	"                      the back-end I/O virtual addresses and answer its\n"        \
	"                      IOTLB misses (the back-end must offer them: vireo serve)\n" \
	"      --iotlb-page SIZE  with --iommu: answer a miss with an entry of SIZE\n"     \
	"                      (a power of two, at least 4k; default the whole DMA\n"      \
	"                      arena, one entry)\n"                                        \
	"      --iotlb-preload with --iommu: send the entries for the whole arena\n"       \
	"                      before the rings start (a warm IOTLB, no misses)\n"         \
	"      --iotlb-invalidate N  with --iommu: invalidate the whole arena after\n"     \
	"                      every N completion wake-ups (the I/O goes on: misses)\n"

/**
 * struct opt_iommu - what the vIOMMU options asked for
 * @given: any of them was given (they all need --socket)
 */
struct opt_iommu {
	bool on;
	bool given;
	uint64_t page;
	bool preload;
	unsigned int invalidate_every;
};

/**
 * opt_parse_iommu() - @opt if it is one of OPT_IOMMU_LONGOPTS, with @arg
 * Return: 0 (taken), 1 (not a vIOMMU option), or EXIT_USAGE after the error line.
 */
int opt_parse_iommu(const char *cmd, int opt, const char *arg, struct opt_iommu *o);

/** opt_check_iommu() - --iotlb-* need --iommu. Return: 0 or EXIT_USAGE */
int opt_check_iommu(const char *cmd, const struct opt_iommu *o);

/** opt_now_ns() - CLOCK_MONOTONIC in nanoseconds */
uint64_t opt_now_ns(void);

/**
 * struct opt_progress - a progress line on stderr for long operations: silent
 * for the first two seconds, then updated once a second ("\r" on a terminal,
 * one line every five seconds otherwise)
 */
struct opt_progress {
	const char *what;
	uint64_t total;
	uint64_t start_ns;
	uint64_t last_ns;
	bool tty;
	bool shown;
};

void opt_progress_start(struct opt_progress *p, const char *what, uint64_t total);
void opt_progress_update(struct opt_progress *p, uint64_t done);
/** opt_progress_end() - end the line if one was shown */
void opt_progress_end(struct opt_progress *p);

#endif /* VIREO_TOOLS_OPTIONS_H */
