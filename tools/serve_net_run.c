// SPDX-License-Identifier: MIT
/*
 * The running `vireo serve net`: one virtio-net device and one vhost-user
 * back-end per port, all on one event loop with the switch and the uplink.
 * A device's transmitted frames enter the switch; the switch hands frames
 * to a device through vireo_net_device_receive(). The per-port counters are
 * printed on SIGUSR1 and at exit.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <vireo/event_loop.h>
#include <vireo/log.h>
#include <vireo/net_device.h>
#include <vireo/net_switch.h>
#include <vireo/net_uplink.h>
#include <vireo/vhost_user_backend.h>

#include "tools/options.h"
#include "tools/sandbox.h"
#include "tools/serve_net.h"
#include "tools/signals.h"

struct serve_net;

struct serve_net_port {
	struct serve_net *s;
	unsigned int number;
	const char *socket; /* the path, or @label */
	char label[40];
	struct net_device *nd;
	struct vhost_user_backend *backend;
	struct net_switch_port *sw_port;
	bool connected;
	bool fd_only; /* --fd: no listener, so its first front-end is its last */
	bool done;
};

struct serve_net {
	const struct serve_net_cmd *cmd;
	struct event_loop loop;
	int signal_fd;
	struct net_switch *sw;
	struct serve_net_port ports[SERVE_NET_MAX_PORTS];
	unsigned int num_ports;
	struct net_tap *tap;
	struct net_slirp *slirp;
};

/* The device transmitted @pkt: into the switch, from this port. */
static void serve_net_from_guest(void *opaque, const struct net_packet *pkt)
{
	struct serve_net_port *p = opaque;

	vireo_net_switch_input(p->s->sw, p->sw_port, pkt);
}

static int serve_net_to_guest(void *opaque, const struct net_packet *pkt)
{
	struct serve_net_port *p = opaque;

	return vireo_net_device_receive(p->nd, pkt);
}

static uint32_t serve_net_guest_offloads(void *opaque)
{
	struct serve_net_port *p = opaque;

	return vireo_net_device_rx_offloads(p->nd);
}

static const struct net_port_ops serve_net_port_ops = {
	.transmit = serve_net_to_guest,
	.offloads = serve_net_guest_offloads,
};

static void serve_net_on_connect(void *opaque, unsigned long conn)
{
	struct serve_net_port *p = opaque;

	p->connected = true;
	printf("vireo serve net: port %u (%s): connection %lu: front-end connected\n", p->number,
	       p->socket, conn);
	fflush(stdout);
}

/* Every port was a --fd port and its front-end has gone: nothing can connect any more. */
static void serve_net_stop_when_done(struct serve_net *s)
{
	for (unsigned int i = 0; i < s->num_ports; i++)
		if (!s->ports[i].done)
			return;
	printf("vireo serve net: every --fd front-end has gone, exiting\n");
	vireo_event_loop_stop(&s->loop);
}

static void serve_net_on_disconnect(void *opaque, unsigned long conn, const char *reason)
{
	struct serve_net_port *p = opaque;

	p->connected = false;
	/* Another guest may come on this socket: what we learned here is stale. */
	vireo_net_switch_port_flush(p->s->sw, p->sw_port);
	printf("vireo serve net: port %u (%s): connection %lu: closed%s%s\n", p->number, p->socket,
	       conn, reason ? ": " : "", reason ? reason : "");
	fflush(stdout);
	p->done = p->fd_only;
	serve_net_stop_when_done(p->s);
}

/* Where a port's front-ends come from: a path, or a listening fd, or a connected fd. */
struct serve_net_source {
	const char *path;
	int listen_fd;
	int conn_fd;
};

/* @src's listening or connected fd to @p's back-end. Return: 0 or -errno. */
static int serve_net_port_fd(struct serve_net_port *p, const struct serve_net_source *src)
{
	if (src->listen_fd >= 0)
		return vireo_vhost_user_backend_adopt_listener(p->backend, src->listen_fd);
	if (src->conn_fd >= 0) {
		p->fd_only = true;
		return vireo_vhost_user_backend_attach(p->backend, src->conn_fd);
	}
	return 0;
}

/* Return: 0, or -errno with one line on stderr. */
static int serve_net_add_port(struct serve_net *s, const struct serve_net_source *src)
{
	struct serve_net_port *p = &s->ports[s->num_ports];
	const char *socket = src->path;
	const struct serve_net_cmd *c = s->cmd;
	struct net_device_options o = {
		.mac = {0x02, 0x76, 0x69, 0, 0, (uint8_t)(s->num_ports + 1)},
		.mtu = c->mtu,
		.queue_size = c->queue_size,
		.queue_pairs = c->queue_pairs,
		.offloads = c->no_offloads ? 0 : NET_OFFLOAD_ALL,
	};
	struct vhost_user_backend_options bo = {
		.socket_path = socket,
		.on_connect = serve_net_on_connect,
		.on_disconnect = serve_net_on_disconnect,
		.opaque = p,
		.single_thread = true,
		.msg_timeout_ms = opt_msg_timeout_ms(),
	};
	char name[32];
	int ret;

	service_apply(&c->service, &bo);
	p->s = s;
	p->number = s->num_ports + 1;
	if (!socket)
		snprintf(p->label, sizeof(p->label), "fd %d%s",
			 src->listen_fd >= 0 ? src->listen_fd : src->conn_fd,
			 src->listen_fd >= 0 ? ", socket activation" : "");
	p->socket = socket ? socket : p->label;
	ret = vireo_net_device_new(&p->nd, &o);
	if (ret == 0) {
		vireo_net_device_set_tx_handler(p->nd, serve_net_from_guest, p);
		vireo_net_device_set_polling(p->nd, c->poll);
		snprintf(name, sizeof(name), "port%u", p->number);
		ret = vireo_net_switch_add_port(s->sw, name, &serve_net_port_ops, p, &p->sw_port);
	}
	if (ret == 0)
		ret = vireo_vhost_user_backend_new(&p->backend, vireo_net_device_vdev(p->nd),
						   &s->loop, &bo);
	if (ret == 0) {
		ret = serve_net_port_fd(p, src);
		if (ret < 0) {
			vireo_vhost_user_backend_free(p->backend);
			p->backend = NULL;
		}
	}
	if (ret < 0) {
		fprintf(stderr, "vireo serve net: %s: %s\n", p->socket, strerror(-ret));
		if (p->sw_port)
			vireo_net_switch_remove_port(s->sw, p->sw_port);
		vireo_net_device_free(p->nd);
		memset(p, 0, sizeof(*p));
		return ret;
	}
	s->num_ports++;
	printf("vireo serve net: port %u: %s %s (mac 02:76:69:00:00:%02x)\n", p->number,
	       src->conn_fd >= 0 ? "serving" : "listening on", p->socket, p->number);
	return 0;
}

/* Return: 0, or -errno with one line on stderr. */
static int serve_net_add_uplink(struct serve_net *s)
{
	const struct serve_net_cmd *c = s->cmd;
	int ret = 0;

	if (c->uplink == SERVE_NET_UPLINK_TAP) {
		ret = vireo_net_tap_open(&s->tap, c->tap_name, &s->loop, s->sw);
		if (ret < 0)
			fprintf(stderr, "vireo serve net: tap %s: %s%s\n", c->tap_name,
				strerror(-ret), ret == -EPERM ? " (needs CAP_NET_ADMIN)" : "");
		else
			printf("vireo serve net: uplink: tap %s\n", c->tap_name);
	} else if (c->uplink == SERVE_NET_UPLINK_USER) {
		ret = vireo_net_slirp_new(&s->slirp, &c->slirp, &s->loop, s->sw);
		if (ret < 0) {
			fprintf(stderr, "vireo serve net: user-mode uplink: %s\n", strerror(-ret));
			return ret;
		}
		printf("vireo serve net: uplink: user mode, 10.0.2.0/24, host 10.0.2.2\n");
		for (unsigned int i = 0; i < c->slirp.num_forwards; i++)
			printf("vireo serve net: hostfwd tcp 127.0.0.1:%u -> guest port %u\n",
			       c->slirp.forwards[i].host_port, c->slirp.forwards[i].guest_port);
	}
	return ret;
}

static void serve_net_print_uplink(const char *what, const struct net_uplink_stats *u)
{
	printf("  uplink %s: to host %" PRIu64 " frames %" PRIu64 " bytes, from host %" PRIu64
	       " frames %" PRIu64 " bytes, dropped %" PRIu64 ", refused %" PRIu64 "\n",
	       what, u->to_host_frames, u->to_host_bytes, u->from_host_frames, u->from_host_bytes,
	       u->dropped, u->refused);
}

static void serve_net_print_mac(void *opaque, const uint8_t *mac,
				const struct net_switch_port *port)
{
	(void)opaque;
	printf("  learned %02x:%02x:%02x:%02x:%02x:%02x on %s\n", mac[0], mac[1], mac[2], mac[3],
	       mac[4], mac[5], vireo_net_switch_port_name(port));
}

/* @poll: --poll, where the device counts polling rounds that found work as its "kicks". */
static void serve_net_print_port(const struct serve_net_port *p, bool poll)
{
	struct net_switch_port_stats sw;
	struct net_device_stats st;

	vireo_net_device_get_stats(p->nd, &st);
	vireo_net_switch_port_get_stats(p->sw_port, &sw);
	char rings[96];

	vireo_vdev_describe_rings(vireo_net_device_vdev(p->nd), rings, sizeof(rings));
	printf("  port%u %s: %s; %s\n", p->number, p->socket,
	       p->connected ? "connected" : "no front-end", rings);
	printf("    from guest %" PRIu64 " frames %" PRIu64 " bytes, to guest %" PRIu64
	       " frames %" PRIu64 " bytes in %" PRIu64 " buffers; %s %" PRIu64
	       ", signals rx %" PRIu64 " tx %" PRIu64 "\n",
	       st.tx_frames, st.tx_bytes, st.rx_frames, st.rx_bytes, st.rx_buffers,
	       poll ? "polls with work" : "kicks", st.kicks, st.rx_signals, st.tx_signals);
	printf("    switch: in %" PRIu64 " frames, out %" PRIu64 " frames, out dropped %" PRIu64
	       ", offload errors %" PRIu64 ", hairpin %" PRIu64 "\n",
	       sw.in_frames, sw.out_frames, sw.out_dropped, sw.offload_errors, sw.hairpin);
	printf("    drops:");
	bool any = false;
	for (int r = 0; r < NET_DROP_COUNT; r++) {
		if (!st.drops[r])
			continue;
		printf(" %s %" PRIu64, vireo_net_drop_reason_name((enum net_drop_reason)r),
		       st.drops[r]);
		any = true;
	}
	printf("%s\n", any ? "" : " none");
}

/* @str as a JSON string: quotes, backslashes and control bytes escaped. */
static void serve_net_json_string(const char *str)
{
	putchar('"');
	for (; *str; str++) {
		unsigned char c = (unsigned char)*str;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void serve_net_json_port(const struct serve_net_port *p)
{
	struct net_switch_port_stats sw;
	struct net_device_stats st;
	char rings[96];
	bool first = true;

	vireo_net_device_get_stats(p->nd, &st);
	vireo_net_switch_port_get_stats(p->sw_port, &sw);
	vireo_vdev_describe_rings(vireo_net_device_vdev(p->nd), rings, sizeof(rings));
	printf("{\"port\":%u,\"socket\":", p->number);
	serve_net_json_string(p->socket);
	printf(",\"connected\":%s,\"rings\":", p->connected ? "true" : "false");
	serve_net_json_string(rings);
	printf(",\"from_guest_frames\":%" PRIu64 ",\"from_guest_bytes\":%" PRIu64
	       ",\"to_guest_frames\":%" PRIu64 ",\"to_guest_bytes\":%" PRIu64
	       ",\"to_guest_buffers\":%" PRIu64 ",\"kicks\":%" PRIu64 ",\"signals_rx\":%" PRIu64
	       ",\"signals_tx\":%" PRIu64,
	       st.tx_frames, st.tx_bytes, st.rx_frames, st.rx_bytes, st.rx_buffers, st.kicks,
	       st.rx_signals, st.tx_signals);
	printf(",\"switch\":{\"in_frames\":%" PRIu64 ",\"out_frames\":%" PRIu64
	       ",\"out_dropped\":%" PRIu64 ",\"offload_errors\":%" PRIu64 ",\"hairpin\":%" PRIu64
	       "},\"drops\":{",
	       sw.in_frames, sw.out_frames, sw.out_dropped, sw.offload_errors, sw.hairpin);
	for (int r = 0; r < NET_DROP_COUNT; r++) {
		if (!st.drops[r])
			continue;
		printf("%s\"%s\":%" PRIu64, first ? "" : ",",
		       vireo_net_drop_reason_name((enum net_drop_reason)r), st.drops[r]);
		first = false;
	}
	printf("}}");
}

static void serve_net_json_uplink(const char *what, const struct net_uplink_stats *u)
{
	printf("{\"uplink\":");
	serve_net_json_string(what);
	printf(",\"to_host_frames\":%" PRIu64 ",\"to_host_bytes\":%" PRIu64
	       ",\"from_host_frames\":%" PRIu64 ",\"from_host_bytes\":%" PRIu64
	       ",\"dropped\":%" PRIu64 ",\"refused\":%" PRIu64 "}",
	       u->to_host_frames, u->to_host_bytes, u->from_host_frames, u->from_host_bytes,
	       u->dropped, u->refused);
}

/* --json: the counters as one JSON object on one line. */
static void serve_net_json_counters(struct serve_net *s)
{
	struct net_uplink_stats u;

	printf("{\"device\":\"net\",\"ports\":[");
	for (unsigned int i = 0; i < s->num_ports; i++) {
		printf("%s", i ? "," : "");
		serve_net_json_port(&s->ports[i]);
	}
	printf("],\"uplinks\":[");
	if (s->tap) {
		vireo_net_tap_get_stats(s->tap, &u);
		serve_net_json_uplink(s->cmd->tap_name, &u);
	}
	if (s->slirp) {
		vireo_net_slirp_get_stats(s->slirp, &u);
		serve_net_json_uplink("user", &u);
	}
	printf("]}\n");
	fflush(stdout);
}

static void serve_net_print_counters(struct serve_net *s)
{
	struct net_uplink_stats u;

	if (s->cmd->json) {
		serve_net_json_counters(s);
		return;
	}
	printf("vireo serve net: counters\n");
	for (unsigned int i = 0; i < s->num_ports; i++)
		serve_net_print_port(&s->ports[i], s->cmd->poll);
	if (s->tap) {
		vireo_net_tap_get_stats(s->tap, &u);
		serve_net_print_uplink(s->cmd->tap_name, &u);
	}
	if (s->slirp) {
		vireo_net_slirp_get_stats(s->slirp, &u);
		serve_net_print_uplink("user", &u);
	}
	vireo_net_switch_for_each_mac(s->sw, serve_net_print_mac, NULL);
	fflush(stdout);
}

static void serve_net_on_signal(void *opaque, uint32_t events)
{
	struct serve_net *s = opaque;
	struct signalfd_siginfo si;

	(void)events;
	while (read(s->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGUSR1) {
			serve_net_print_counters(s);
			continue;
		}
		printf("vireo serve net: %s, shutting down\n", strsignal((int)si.ssi_signo));
		fflush(stdout);
		vireo_event_loop_stop(&s->loop);
	}
}

/* Return: 0 or -errno: SIGINT, SIGTERM and SIGUSR1 readable on a signalfd in the loop. */
static int serve_net_signals(struct serve_net *s)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGUSR1};

	s->signal_fd = signals_watch(&s->loop, sigs, 3, serve_net_on_signal, s);
	return s->signal_fd < 0 ? s->signal_fd : 0;
}

/*
 * --poll: the rings are read every round, the event loop (vhost-user messages, signals, an
 * uplink) only every SERVE_NET_POLL_LOOP_EVERY rounds: an epoll_wait() per round was half of
 * the time per frame (docs/performance.md); 64 rounds are microseconds to a message.
 */
#define SERVE_NET_POLL_LOOP_EVERY 64u

/*
 * --poll, a round that found no frame: the spin-wait hint (x86 PAUSE, arm64 YIELD) before the
 * next look, so the descriptor line the sender is writing is not pulled away from it at full
 * speed (packed: 0.92 -> 0.96x DPDK's net_vhost, docs/performance.md).
 */
static inline void serve_net_idle_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* Dispatch until a signal stops the loop. Return: 0 or -errno from the loop. */
static int serve_net_loop(struct serve_net *s)
{
	unsigned int round = 0, frames;
	int ret;

	while (!s->loop.stopping) {
		if (!s->cmd->poll || round++ % SERVE_NET_POLL_LOOP_EVERY == 0) {
			/* --poll: never sleep; the rings are read on every round below. */
			ret = vireo_event_loop_run_once(&s->loop, s->cmd->poll ? 0 : -1);
			if (ret < 0 && ret != -EINTR)
				return ret;
			for (unsigned int i = 0; i < s->num_ports; i++)
				vireo_vhost_user_backend_after_dispatch(s->ports[i].backend);
		}
		if (!s->cmd->poll)
			continue;
		/* One clock read for the round's frames (the switch ages in milliseconds). */
		vireo_net_switch_batch_begin(s->sw);
		frames = 0;
		for (unsigned int i = 0; i < s->num_ports; i++)
			frames += vireo_net_device_poll(s->ports[i].nd);
		vireo_net_switch_batch_end(s->sw);
		if (!frames)
			serve_net_idle_pause();
	}
	return 0;
}

static void serve_net_teardown(struct serve_net *s)
{
	/* Uplinks first: they may still hand frames to ports. */
	vireo_net_tap_close(s->tap);
	vireo_net_slirp_free(s->slirp);
	for (unsigned int i = 0; i < s->num_ports; i++) {
		struct serve_net_port *p = &s->ports[i];

		vireo_vhost_user_backend_free(p->backend);
		vireo_net_switch_remove_port(s->sw, p->sw_port);
		vireo_net_device_free(p->nd);
	}
	vireo_net_switch_free(s->sw);
	if (s->signal_fd >= 0)
		close(s->signal_fd);
	vireo_event_loop_destroy(&s->loop);
}

/* Set up: serve until a signal. Return: 0, or -errno after one line on stderr. */
static int serve_net_serve(struct serve_net *s)
{
	const struct serve_net_cmd *c = s->cmd;
	unsigned int needs = c->uplink == SERVE_NET_UPLINK_USER ? SANDBOX_NEED_INET : 0;
	int ret, pidfile_fd;

	printf("vireo serve net: %u port%s%s, ready\n", s->num_ports, s->num_ports == 1 ? "" : "s",
	       c->poll ? ", polling" : "");
	fflush(stdout);
	pidfile_fd = service_pidfile_write(&c->service, "serve net");
	ret = pidfile_fd < -1 ? pidfile_fd : 0;
	/* From here on, only what serving needs (sandbox.h); no front-end is read before. */
	if (ret == 0)
		ret = service_sandbox(&c->service, needs, "serve net");
	if (ret == 0) {
		ret = serve_net_loop(s);
		if (ret < 0)
			fprintf(stderr, "vireo serve net: event loop: %s\n", strerror(-ret));
	}
	service_pidfile_remove(&c->service, pidfile_fd);
	serve_net_print_counters(s);
	return ret;
}

int serve_net_run(const struct serve_net_cmd *c)
{
	struct serve_net *s = calloc(1, sizeof(*s));
	int ret;

	if (!s) {
		fprintf(stderr, "vireo serve net: out of memory\n");
		return 1;
	}
	s->cmd = c;
	s->signal_fd = -1;
	ret = vireo_event_loop_init(&s->loop);
	if (ret < 0) {
		fprintf(stderr, "vireo serve net: event loop: %s\n", strerror(-ret));
		free(s);
		return 1;
	}
	ret = serve_net_signals(s);
	if (ret == 0)
		ret = vireo_net_switch_new(&s->sw);
	for (unsigned int i = 0; ret == 0 && i < c->num_sockets; i++)
		ret = serve_net_add_port(s, &(struct serve_net_source){c->sockets[i], -1, -1});
	for (unsigned int i = 0; ret == 0 && i < c->listen_fds; i++)
		ret = serve_net_add_port(
			s, &(struct serve_net_source){NULL, SERVICE_LISTEN_FDS_START + (int)i, -1});
	for (unsigned int i = 0; ret == 0 && i < c->num_fds; i++)
		ret = serve_net_add_port(s, &(struct serve_net_source){NULL, -1, c->fds[i]});
	if (ret == 0)
		ret = serve_net_add_uplink(s);
	if (ret == 0)
		ret = serve_net_serve(s);
	serve_net_teardown(s);
	free(s);
	return ret < 0 ? 1 : 0;
}
