// SPDX-License-Identifier: MIT
/*
 * vireo: the one command. Dispatches to the subcommands in commands.h; each
 * parses its own options (getopt_long) and answers --help.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/log.h>

#include "tools/commands.h"
#include "tools/options.h"

#ifndef VIREO_VERSION
#define VIREO_VERSION "0.1.0"
#endif

struct vireo_cmd {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *summary;
};

static const struct vireo_cmd vireo_cmds[] = {
	{"blk", cmd_blk_main,
	 "write, read or verify a disk through virtio-blk (image, vhost-user, PCI)"},
	{"demo", demo_main, "virtio-blk and virtio-rng over loopback, step by step"},
	{"rng", cmd_rng_main, "read random bytes through virtio-rng (loopback, vhost-user, PCI)"},
	{"serve", serve_main, "serve blk, rng or net (a switch) to vhost-user front-ends (QEMU)"},
	{NULL, NULL, NULL},
};

static const struct vireo_cmd vireo_bench_cmds[] = {
	{"blk", bench_blk_main, "IOPS, MiB/s and latency of virtio-blk (image, vhost-user, PCI)"},
	{"net", bench_net_main, "frames per second through our net driver (vhost-user, PCI)"},
	{"ring", bench_ring_main, "a split or packed ring alone, driver and device in two threads"},
	{NULL, NULL, NULL},
};

static void vireo_usage(FILE *f)
{
	const struct vireo_cmd *c;

	fputs("usage: vireo [--help] [--version] COMMAND [ARGS]\n\ncommands:\n", f);
	for (c = vireo_cmds; c->name; c++)
		fprintf(f, "  %-12s %s\n", c->name, c->summary);
	for (c = vireo_bench_cmds; c->name; c++)
		fprintf(f, "  bench %-6s %s\n", c->name, c->summary);
	fputs("  help CMD     the help of CMD (e.g. 'vireo help bench blk')\n"
	      "\nExit status: 0 ok, 1 failure, 2 bad arguments.\n",
	      f);
}

static const struct vireo_cmd *vireo_find(const struct vireo_cmd *table, const char *name)
{
	for (; table->name; table++) {
		if (strcmp(table->name, name) == 0)
			return table;
	}
	return NULL;
}

/* vireo_bench() - `vireo bench KIND ...`: KIND becomes argv[0] of the benchmark */
static int vireo_bench(int argc, char **argv)
{
	const struct vireo_cmd *c;

	if (argc < 2)
		return opt_usage_error("bench", "missing benchmark: blk, net or ring");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		printf("usage: vireo bench {blk|net|ring} [OPTIONS]\n");
		for (c = vireo_bench_cmds; c->name; c++)
			printf("  %-6s %s\n", c->name, c->summary);
		return 0;
	}
	c = vireo_find(vireo_bench_cmds, argv[1]);
	if (!c)
		return opt_usage_error("bench", "unknown benchmark '%s' (blk, net or ring)",
				       argv[1]);
	return c->main(argc - 1, argv + 1);
}

/* vireo_help() - `vireo help [CMD [KIND]]` */
static int vireo_help(int argc, char **argv)
{
	char help[] = "--help";
	char *args[4] = {NULL, NULL, NULL, NULL};
	const struct vireo_cmd *c;

	if (argc < 2) {
		vireo_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "bench") == 0) {
		args[0] = argv[1];
		args[1] = argc > 2 ? argv[2] : help;
		args[2] = help;
		return vireo_bench(argc > 2 ? 3 : 2, args);
	}
	c = vireo_find(vireo_cmds, argv[1]);
	if (!c)
		return opt_usage_error("help", "unknown command '%s'", argv[1]);
	args[0] = argv[1];
	/* `vireo help serve net`: the kind's own help, as `vireo serve net --help` prints it. */
	if (argc > 2) {
		args[1] = argv[2];
		args[2] = help;
		return c->main(3, args);
	}
	args[1] = help;
	return c->main(2, args);
}

int main(int argc, char **argv)
{
	const struct vireo_cmd *c;
	const char *cmd;

	if (argc < 2) {
		fprintf(stderr, "vireo: missing command (see 'vireo --help')\n");
		return EXIT_USAGE;
	}
	cmd = argv[1];
	/* A typo in VIREO_LOG would silently hide the lines the user asked for. */
	if (getenv("VIREO_LOG") && vireo_log_level_parse(getenv("VIREO_LOG")) < 0) {
		fprintf(stderr,
			"vireo: VIREO_LOG=%s: unknown level (valid: error, warn, info, debug)\n",
			getenv("VIREO_LOG"));
		return EXIT_USAGE;
	}
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		vireo_usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
		printf("vireo %s\n", VIREO_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0)
		return vireo_help(argc - 1, argv + 1);
	if (strcmp(cmd, "bench") == 0)
		return vireo_bench(argc - 1, argv + 1);
	c = vireo_find(vireo_cmds, cmd);
	if (!c) {
		fprintf(stderr, "vireo: unknown command '%s' (see 'vireo --help')\n", cmd);
		return EXIT_USAGE;
	}
	return c->main(argc - 1, argv + 1);
}
