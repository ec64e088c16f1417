// SPDX-License-Identifier: MIT
/* Argument parsing and progress output shared by the vireo subcommands. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "tools/options.h"

/* opt_parse_uint() - see options.h */
int opt_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || *end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static int size_shift(const char *suffix)
{
	static const char units[] = "kmgt";
	const char *u;

	if (!*suffix)
		return 0;
	u = strchr(units, tolower((unsigned char)*suffix));
	if (!u)
		return strcasecmp(suffix, "b") == 0 ? 0 : -1;
	suffix++;
	if (*suffix && strcasecmp(suffix, "b") && strcasecmp(suffix, "ib"))
		return -1;
	return (int)(u - units + 1) * 10;
}

/* opt_parse_size() - see options.h */
int opt_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int shift;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno)
		return errno == ERANGE ? -ERANGE : -EINVAL;
	shift = size_shift(end);
	if (shift < 0)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> 1) >> shift)
		return -ERANGE;
	if ((v << shift) > (UINT64_MAX >> 1))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

/* opt_parse_count() - see options.h */
int opt_parse_count(const char *cmd, const char *name, const char *arg, unsigned int min,
		    unsigned int max, unsigned int *out)
{
	uint64_t v;

	if (opt_parse_uint(arg, min, max, &v) < 0)
		return opt_usage_error(cmd, "--%s wants %u..%u, not '%s'", name, min, max, arg);
	*out = (unsigned int)v;
	return 0;
}

/* opt_parse_iommu() - see options.h */
int opt_parse_iommu(const char *cmd, int opt, const char *arg, struct opt_iommu *o)
{
	switch (opt) {
	case OPT_IOMMU:
		o->on = true;
		break;
	case OPT_IOTLB_PAGE:
		if (opt_parse_size(arg, &o->page) < 0 || o->page < 4096 ||
		    (o->page & (o->page - 1)))
			return opt_usage_error(
				cmd, "--iotlb-page wants a power of two of at least 4k, not '%s'",
				arg);
		break;
	case OPT_IOTLB_PRELOAD:
		o->preload = true;
		break;
	case OPT_IOTLB_INVALIDATE:
		if (opt_parse_count(cmd, "iotlb-invalidate", arg, 1, 1000000000u,
				    &o->invalidate_every))
			return EXIT_USAGE;
		break;
	default:
		return 1;
	}
	o->given = true;
	return 0;
}

/* opt_check_iommu() - see options.h */
int opt_check_iommu(const char *cmd, const struct opt_iommu *o)
{
	if (o->given && !o->on)
		return opt_usage_error(cmd, "--iotlb-page, --iotlb-preload and --iotlb-invalidate "
					    "go with --iommu");
	return 0;
}

/* opt_parse_ring() - see options.h */
int opt_parse_ring(const char *cmd, const char *arg, enum virtio_ring_format *out)
{
	if (strcmp(arg, "split") == 0)
		*out = VIRTIO_RING_SPLIT;
	else if (strcmp(arg, "packed") == 0)
		*out = VIRTIO_RING_PACKED;
	else
		return opt_usage_error(cmd, "--ring wants split or packed, not '%s'", arg);
	return 0;
}

static const struct {
	const char *name;
	enum tool_transport value;
} opt_transports[] = {
	{"loopback", TOOL_TRANSPORT_LOOPBACK},
	{"mmio", TOOL_TRANSPORT_MMIO},
	{"pci", TOOL_TRANSPORT_PCI},
};

/* opt_parse_transport() - see options.h */
int opt_parse_transport(const char *cmd, const char *arg, enum tool_transport *out)
{
	char names[64] = "";
	size_t i, n = sizeof(opt_transports) / sizeof(opt_transports[0]);

	for (i = 0; i < n; i++) {
		if (strcmp(arg, opt_transports[i].name) == 0) {
			*out = opt_transports[i].value;
			return 0;
		}
	}
	for (i = 0; i < n; i++) {
		strncat(names, opt_transports[i].name, sizeof(names) - strlen(names) - 1);
		strncat(names,
			i + 2 < n    ? ", "
			: i + 2 == n ? " or "
				     : "",
			sizeof(names) - strlen(names) - 1);
	}
	return opt_usage_error(cmd, "--transport wants %s, not '%s'", names, arg);
}

/* opt_transport_name() - see options.h */
const char *opt_transport_name(enum tool_transport t)
{
	size_t i;

	for (i = 0; i < sizeof(opt_transports) / sizeof(opt_transports[0]); i++)
		if (opt_transports[i].value == t)
			return opt_transports[i].name;
	return "?";
}

/* opt_msg_timeout_ms() - see options.h */
unsigned int opt_msg_timeout_ms(void)
{
	const char *env = getenv("VIREO_VHOST_USER_MSG_TIMEOUT_MS");
	uint64_t v;

	if (!env || opt_parse_uint(env, 1, 600000, &v) < 0)
		return 0;
	return (unsigned int)v;
}

/* opt_parse_seconds() - see options.h */
int opt_parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v > 0) || v > 86400.0 * 365)
		return -EINVAL;
	*out = v;
	return 0;
}

int opt_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vireo %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'vireo help %s')\n", cmd);
	return EXIT_USAGE;
}

int opt_bad_getopt(const char *cmd, char **argv)
{
	const char *arg = argv[optind - 1];

	if (optopt && arg && strncmp(arg, "--", 2) != 0)
		return opt_usage_error(cmd, "bad option '-%c' or missing argument", optopt);
	return opt_usage_error(cmd, "unknown option or missing argument: '%s'", arg ? arg : "?");
}

/* opt_parse_args() - see options.h */
int opt_parse_args(int argc, char **argv, const char *shortopts, const struct option *longopts,
		   const char *usage, int (*one)(void *ctx, int opt, char **argv), void *ctx)
{
	int opt, ret;

	/* optind 0: glibc re-initialises getopt fully (a second parse in one process). */
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage, stdout);
			return -1;
		}
		ret = one(ctx, opt, argv);
		if (ret)
			return ret;
	}
	return 0;
}

uint64_t opt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void opt_progress_start(struct opt_progress *p, const char *what, uint64_t total)
{
	p->what = what;
	p->total = total;
	p->start_ns = opt_now_ns();
	p->last_ns = p->start_ns;
	p->tty = isatty(STDERR_FILENO);
	p->shown = false;
}

void opt_progress_update(struct opt_progress *p, uint64_t done)
{
	uint64_t now = opt_now_ns();
	uint64_t every = p->tty ? 1000000000ull : 5000000000ull;
	double secs = (double)(now - p->start_ns) / 1e9;

	if (now - p->start_ns < 2000000000ull || now - p->last_ns < every)
		return;
	p->last_ns = now;
	p->shown = true;
	fprintf(stderr, "%s%s: %llu / %llu MiB (%.0f%%), %.1f s%s", p->tty ? "\r" : "", p->what,
		(unsigned long long)(done >> 20), (unsigned long long)(p->total >> 20),
		p->total ? 100.0 * (double)done / (double)p->total : 100.0, secs,
		p->tty ? "   " : "\n");
}

void opt_progress_end(struct opt_progress *p)
{
	if (p->shown && p->tty)
		fputc('\n', stderr);
	p->shown = false;
}
