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

#include <vireo/net_uplink.h>

#include "tools/service.h"

#define SERVE_NET_MAX_PORTS 16u

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
