// SPDX-License-Identifier: MIT
/*
 * `vireo serve net`: a small virtual switch. Every --socket is one
 * vhost-user-net port (a virtio-net device model served to QEMU, DPDK's
 * virtio-user or our own driver); frames are switched by a learning L2
 * bridge between the ports and an optional uplink (a tap device, or
 * user-mode networking through libslirp). Everything runs in one thread and
 * one event loop, so the devices, the switch and the uplinks never need a
 * lock; --poll spins on the rings instead of sleeping until a kick.
 * SIGUSR1 prints every port's counters; SIGINT/SIGTERM print them and exit 0.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <vireo/event_loop.h>
#include <vireo/net_device.h>
#include <vireo/net_switch.h>
#include <vireo/net_uplink.h>
#include <vireo/vhost_user_backend.h>

#include "tools/commands.h"
#include "tools/options.h"
#include "tools/serve_net.h"

#define CMD "serve net"

static const char serve_net_usage[] =
	"usage: vireo serve net --socket PATH [--socket PATH]... [--uplink tap=IFNAME |\n"
	"                       --uplink user[,hostfwd=tcp:127.0.0.1:HOSTPORT-:GUESTPORT]...]\n"
	"                       [--poll] [--mtu N] [--queue-pairs N] [--queue-size N] "
	"[--no-offloads]\n"
	"\n"
	"A virtual switch: every --socket is one vhost-user-net port (QEMU's\n"
	"-netdev vhost-user, DPDK's net_virtio_user, `vireo bench net`). Frames are\n"
	"switched by a learning L2 bridge between the ports and the uplink:\n"
	"  tap=IFNAME   a tap device (created if missing; needs CAP_NET_ADMIN), with\n"
	"               the virtio-net header so checksum and TSO offloads pass through\n"
	"  user         user-mode networking (libslirp, no root): 10.0.2.0/24, DHCP from\n"
	"               10.0.2.15, the host's 127.0.0.1 as 10.0.2.2, nothing else reachable;\n"
	"               hostfwd= forwards a TCP port of 127.0.0.1 to the guest (repeatable)\n"
	"Sockets are created mode 0600; each serves one front-end at a time.\n"
	"\n"
	"  -S, --socket PATH   a port (repeat for more ports, up to 16)\n"
	"      --fd N          a port whose front-end is already connected on fd N\n"
	"                      (repeatable); sockets passed by systemd socket activation\n"
	"                      (LISTEN_FDS, from fd 3; Accept=no) are ports too\n"
	"  -u, --uplink SPEC   tap=IFNAME, or user[,hostfwd=...]...\n"
	"      --poll          busy-poll the rings (lowest latency, one core at 100%)\n"
	"      --mtu N         the MTU offered to drivers, 68..65535 (default 1500)\n"
	"      --queue-pairs N receive/transmit queue pairs per port, 1..8 (default 1;\n"
	"                      above 1 offers MQ: QEMU -netdev vhost-user,queues=N)\n"
	"  -Q, --queue-size N  maximum ring size, a power of two (default 256)\n"
	"      --no-offloads   offer no checksum/TSO offloads (default: offered; the\n"
	"                      switch completes them in software where a port lacks "
	"them)\n" SERVICE_USAGE
	"      --json          counters (SIGUSR1, exit) as one JSON object per print\n"
	"      --print-capabilities  print the vhost-user.json capabilities and exit\n"
	"  -h, --help          this text\n"
	"Each port's device offers MAC 02:76:69:00:00:NN (NN = its number); QEMU gives\n"
	"the guest its own MAC and link state. SIGUSR1: print every port's counters.\n"
	"SIGINT/SIGTERM: print the counters, remove the sockets, exit 0.\n"
	"Exit status: 0 after SIGINT/SIGTERM, 1 setup failure, 2 bad arguments.\n";

/* One entry a line: clang-format would otherwise pack them in two columns. */
static const struct option serve_net_options[] = {
	// clang-format off
	{"socket", required_argument, NULL, 'S'},
	{"socket-path", required_argument, NULL, 'S'},
	{"uplink", required_argument, NULL, 'u'},
	{"poll", no_argument, NULL, 'p'},
	{"mtu", required_argument, NULL, 'm'},
	{"queue-pairs", required_argument, NULL, 'q'},
	{"queue-size", required_argument, NULL, 'Q'},
	{"no-offloads", no_argument, NULL, 'O'},
	{"print-capabilities", no_argument, NULL, 'C'},
	{"fd", required_argument, NULL, 'F'},
	{"json", no_argument, NULL, 'J'},
	SERVICE_OPTIONS,
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
	// clang-format on
};

/* Return: 0 or EXIT_USAGE: "user", "user,hostfwd=...,hostfwd=...". */
static int serve_net_parse_user(struct serve_net_cmd *c, const char *spec)
{
	char *copy = strdup(spec), *save = NULL, *tok;
	int ret = 0;

	if (!copy)
		return opt_usage_error(CMD, "out of memory");
	tok = strtok_r(copy, ",", &save); /* "user" */
	while (ret == 0 && (tok = strtok_r(NULL, ",", &save)) != NULL) {
		struct net_slirp_options *o = &c->slirp;

		if (strncmp(tok, "hostfwd=", 8) != 0)
			ret = opt_usage_error(CMD, "--uplink user: unknown option '%s'", tok);
		else if (o->num_forwards == NET_SLIRP_MAX_FORWARDS)
			ret = opt_usage_error(CMD, "--uplink user: at most %u hostfwd",
					      NET_SLIRP_MAX_FORWARDS);
		else if (vireo_net_slirp_parse_forward(tok + 8, &o->forwards[o->num_forwards]) < 0)
			ret = opt_usage_error(CMD,
					      "--uplink user: hostfwd wants "
					      "tcp:127.0.0.1:HOSTPORT-:GUESTPORT, not '%s'",
					      tok + 8);
		else
			o->num_forwards++;
	}
	free(copy);
	return ret;
}

/* Return: 0 or EXIT_USAGE. */
static int serve_net_parse_uplink(struct serve_net_cmd *c, const char *spec)
{
	if (c->uplink != SERVE_NET_UPLINK_NONE)
		return opt_usage_error(CMD, "only one --uplink");
	if (strncmp(spec, "tap=", 4) == 0) {
		if (spec[4] == '\0' || strlen(spec + 4) >= 16)
			return opt_usage_error(CMD, "--uplink tap=IFNAME: 1..15 characters");
		c->uplink = SERVE_NET_UPLINK_TAP;
		c->tap_name = spec + 4;
		return 0;
	}
	if (strcmp(spec, "user") == 0 || strncmp(spec, "user,", 5) == 0) {
		c->uplink = SERVE_NET_UPLINK_USER;
		return serve_net_parse_user(c, spec);
	}
	return opt_usage_error(CMD, "--uplink wants tap=IFNAME or user[,hostfwd=...], not '%s'",
			       spec);
}

static int serve_net_one(void *ctx, int opt, char **argv)
{
	struct serve_net_cmd *c = ctx;
	unsigned int v;
	int ret;

	switch (opt) {
	case 'S':
		if (c->num_sockets == SERVE_NET_MAX_PORTS)
			return opt_usage_error(CMD, "at most %u sockets", SERVE_NET_MAX_PORTS);
		c->sockets[c->num_sockets++] = optarg;
		return 0;
	case 'u':
		return serve_net_parse_uplink(c, optarg);
	case 'p':
		c->poll = true;
		return 0;
	case 'm':
		ret = opt_parse_count(CMD, "mtu", optarg, VIRTIO_NET_MTU_MIN, VIRTIO_NET_MTU_MAX,
				      &v);
		c->mtu = (uint16_t)v;
		return ret;
	case 'q':
		return opt_parse_count(CMD, "queue-pairs", optarg, 1, NET_DEVICE_MAX_QUEUE_PAIRS,
				       &c->queue_pairs);
	case 'Q':
		ret = opt_parse_count(CMD, "queue-size", optarg, 2, 32768, &v);
		if (ret == 0 && (v & (v - 1)))
			return opt_usage_error(CMD, "--queue-size: a power of two, 2..32768");
		c->queue_size = (uint16_t)v;
		return ret;
	case 'O':
		c->no_offloads = true;
		return 0;
	case 'C':
		c->capabilities = true;
		return 0;
	case 'J':
		c->json = true;
		return 0;
	case 'F':
		if (c->num_sockets + c->num_fds == SERVE_NET_MAX_PORTS)
			return opt_usage_error(CMD, "at most %u ports", SERVE_NET_MAX_PORTS);
		ret = opt_parse_count(CMD, "fd", optarg, 0, 65535, &v);
		c->fds[c->num_fds++] = (int)v;
		return ret;
	default:
		/* 1: not a service option either */
		ret = service_parse_option(&c->service, CMD, opt, optarg);
		return ret == 1 ? opt_bad_getopt(CMD, argv) : ret;
	}
}

/* Return: 0 to run, -1 after --help (exit 0), or EXIT_USAGE. */
static int serve_net_parse(struct serve_net_cmd *c, int argc, char **argv)
{
	int ret = opt_parse_args(argc, argv, "S:u:Q:h", serve_net_options, serve_net_usage,
				 serve_net_one, c);

	if (ret)
		return ret;
	if (optind < argc)
		return opt_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
	/* With --fd the fds are named (systemd's Accept=yes passes a connected fd 3 too). */
	c->listen_fds = service_listen_fds();
	if (c->capabilities || c->num_fds)
		c->listen_fds = 0;
	if (c->num_sockets + c->num_fds + c->listen_fds > SERVE_NET_MAX_PORTS)
		return opt_usage_error(CMD, "at most %u ports", SERVE_NET_MAX_PORTS);
	if (!c->capabilities && c->num_sockets + c->num_fds + c->listen_fds == 0)
		return opt_usage_error(CMD, "give at least one --socket PATH or --fd N (or sockets "
					    "by systemd socket activation)");
	for (unsigned int i = 0; i < c->num_sockets; i++)
		for (unsigned int j = 0; j < i; j++)
			if (strcmp(c->sockets[i], c->sockets[j]) == 0)
				return opt_usage_error(CMD, "--socket %s given twice",
						       c->sockets[i]);
	return 0;
}

int serve_net_main(int argc, char **argv)
{
	struct serve_net_cmd c = {0};
	int ret = serve_net_parse(&c, argc, argv);

	if (ret)
		return ret < 0 ? 0 : ret;
	if (c.capabilities) {
		printf("{\n  \"type\": \"net\",\n  \"features\": []\n}\n");
		return 0;
	}
	return serve_net_run(&c);
}
