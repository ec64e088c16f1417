/* SPDX-License-Identifier: MIT */
/*
 * `vireo serve net`, split in two: serve_net.c parses the command line into
 * a struct serve_net_cmd, serve_net_run.c builds the switch, the ports and
 * the uplink from it and runs them.
 */
#ifndef VIREO_TOOLS_SERVE_NET_H
#define VIREO_TOOLS_SERVE_NET_H

#include <stdbool.h>
#include <stdint.h>

#include <vireo/event_loop.h>
#include <vireo/net_device.h>
#include <vireo/net_uplink.h>

#include "tools/service.h"

#define SERVE_NET_MAX_PORTS 16u

/*
 * Event loop handlers a port may hold at once: its listening socket, the connection, the
 * connection's deadline timer, the back-end channel, a second front-end while it is
 * refused, and one kick fd per ring (2 per queue pair and the control queue). The
 * uplink and the signals add SERVE_NET_LOOP_SHARED. One loop serves them all.
 */
#define SERVE_NET_LOOP_PER_PORT(pairs) (5u + 2u * (pairs) + 1u)
#define SERVE_NET_LOOP_SHARED 4u
_Static_assert(SERVE_NET_MAX_PORTS *SERVE_NET_LOOP_PER_PORT(NET_DEVICE_MAX_QUEUE_PAIRS) +
			       SERVE_NET_LOOP_SHARED <=
		       EVENT_LOOP_MAX_HANDLERS,
	       "every port of serve net at its most fits one event loop");

enum serve_net_uplink {
	SERVE_NET_UPLINK_NONE,
	SERVE_NET_UPLINK_TAP,
	SERVE_NET_UPLINK_USER,
};

/*
 * Ports come from --socket PATH (listen there), --fd N (a front-end already
 * connected on N) and systemd socket activation (listening sockets from fd 3).
 */
struct serve_net_cmd {
	const char *sockets[SERVE_NET_MAX_PORTS];
	unsigned int num_sockets;
	int fds[SERVE_NET_MAX_PORTS];
	unsigned int num_fds;
	unsigned int listen_fds;
	enum serve_net_uplink uplink;
	const char *tap_name;
	struct net_slirp_options slirp;
	bool poll;
	uint16_t mtu;
	uint16_t queue_size;
	unsigned int queue_pairs;
	bool no_offloads;
	bool capabilities;
	bool json; /* counters (SIGUSR1, exit) as one JSON object */
	struct service_options service;
};

/**
 * serve_net_run() - serve until SIGINT/SIGTERM
 * Return: the exit code: 0 after a signal, 1 when setup failed.
 */
int serve_net_run(const struct serve_net_cmd *c);

#endif /* VIREO_TOOLS_SERVE_NET_H */
