// SPDX-License-Identifier: MIT
/*
 * `vireo serve blk|rng`: a vhost-user back-end for QEMU and any other
 * front-end (`vireo serve net`, a switch of many ports, is serve_net.c). One
 * device, one socket, one front-end at a time, everything in one thread and
 * one event loop. SIGINT/SIGTERM arrive through a signalfd
 * in that loop: the server stops accepting, lets in-flight I/O finish (the
 * device reset waits for it), removes the socket and exits 0.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <vireo/blk_device.h>
#include <vireo/event_loop.h>
#include <vireo/rng_device.h>
#include <vireo/vhost_user_backend.h>

#include "tools/commands.h"
#include "tools/image_format.h"
#include "tools/options.h"
#include "tools/serve_stats.h"
#include "tools/service.h"
#include "tools/signals.h"

#define CMD "serve"
/* Long-only options: the short letters mean the same in every subcommand (-S is --socket). */
#define SERVE_OPT_SERIAL 256
#define SERVE_OPT_FORMAT 257
#define SERVE_OPT_JSON 258

struct serve_cmd {
	const char *kind;
	const char *socket;
	int fd;
	const char *image;
	const char *serial;
	bool readonly;
	bool format_raw;
	unsigned int queues;
	uint16_t queue_size;
	bool capabilities;
	bool json;
	struct service_options service;
	unsigned int listen_fds; /* socket activation: listening sockets from fd 3 */
};

static const char serve_usage[] =
	"usage: vireo serve blk {--socket PATH|--fd N} --image FILE [--readonly] [--queues N]\n"
	"                       [--serial S] [--queue-size N]\n"
	"       vireo serve rng {--socket PATH|--fd N}\n"
	"       vireo serve net --socket PATH [--socket PATH]... [--uplink ...] [--poll]\n"
	"                       (see 'vireo serve net --help')\n"
	"\n"
	"Serve a virtio-blk or virtio-rng device model to a vhost-user front-end\n"
	"(QEMU's vhost-user-blk-pci / vhost-user-rng-pci, qemu-storage-daemon's\n"
	"clients, Cloud Hypervisor, `vireo blk --socket`). The socket is created\n"
	"mode 0600; one front-end is served at a time: a second one is refused at\n"
	"once (one log line) until the first disconnects. SIGINT or SIGTERM: finish\n"
	"in-flight I/O, remove the socket, print the counters, exit 0. SIGUSR1: print\n"
	"every queue's counters (requests by type, bytes, errors, kicks, calls, in flight).\n"
	"\n"
	"  -S, --socket PATH     unix socket to listen on (--socket-path also works)\n"
	"      --fd N            serve the connected socket N instead, exit when it closes\n"
	"                        Neither: a listening socket passed by systemd socket\n"
	"                        activation (LISTEN_FDS, fd 3; Accept=no)\n"
	"  -i, --image FILE      blk: raw image file\n"
	"  -r, --readonly        blk: offer VIRTIO_BLK_F_RO and refuse writes\n"
	"  -q, --queues N        blk: request queues, 1..16 (default 1)\n"
	"      --serial S        blk: serial number (GET_ID), at most 20 bytes\n"
	"      --format raw      blk: serve FILE even if it looks like qcow2, VMDK, ... (refused\n"
	"                        otherwise: only raw images are served)\n"
	"  -Q, --queue-size N    maximum ring size, a power of two (default 256 blk, 64 "
	"rng)\n" SERVICE_USAGE
	"      --json            counters (SIGUSR1, exit) as one JSON object per print\n"
	"      --print-capabilities  print the vhost-user.json capabilities and exit\n"
	"  -h, --help            this text\n"
	"Set VIREO_LOG=info to see each connection's problems in detail.\n"
	"Exit status: 0 after SIGINT/SIGTERM, 1 setup failure, 2 bad arguments.\n";

static const struct option serve_options[] = {
	{"socket", required_argument, NULL, 'S'},
	{"socket-path", required_argument, NULL, 'S'},
	{"image", required_argument, NULL, 'i'},
	{"readonly", no_argument, NULL, 'r'},
	{"read-only", no_argument, NULL, 'r'},
	{"queues", required_argument, NULL, 'q'},
	{"serial", required_argument, NULL, SERVE_OPT_SERIAL},
	{"format", required_argument, NULL, SERVE_OPT_FORMAT},
	{"json", no_argument, NULL, SERVE_OPT_JSON},
	{"queue-size", required_argument, NULL, 'Q'},
	{"print-capabilities", no_argument, NULL, 'C'},
	{"fd", required_argument, NULL, 'F'},
	SERVICE_OPTIONS,
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* Return: 0, or EXIT_USAGE after one line on stderr. */
static int serve_parse_opt(struct serve_cmd *c, int opt, char **argv)
{
	uint64_t v;
	int ret;

	switch (opt) {
	case 'S':
		c->socket = optarg;
		return 0;
	case 'i':
		c->image = optarg;
		return 0;
	case 'r':
		c->readonly = true;
		return 0;
	case SERVE_OPT_JSON:
		c->json = true;
		return 0;
	case SERVE_OPT_FORMAT:
		c->format_raw = true;
		return image_format_parse(CMD, optarg);
	case SERVE_OPT_SERIAL:
		c->serial = optarg;
		return strlen(optarg) > 20 ? opt_usage_error(CMD, "--serial: at most 20 bytes") : 0;
	case 'q':
		if (opt_parse_uint(optarg, 1, BLK_DEVICE_MAX_QUEUES, &v) < 0)
			return opt_usage_error(CMD, "--queues: expected 1..%u",
					       BLK_DEVICE_MAX_QUEUES);
		c->queues = (unsigned int)v;
		return 0;
	case 'Q':
		if (opt_parse_uint(optarg, 2, 32768, &v) < 0 || (v & (v - 1)))
			return opt_usage_error(CMD, "--queue-size: a power of two, 2..32768");
		c->queue_size = (uint16_t)v;
		return 0;
	case 'C':
		c->capabilities = true;
		return 0;
	case 'F':
		if (opt_parse_uint(optarg, 0, INT32_MAX, &v) < 0)
			return opt_usage_error(CMD, "--fd: expected a file descriptor number");
		c->fd = (int)v;
		return 0;
	default:
		/* 1: not a service option either */
		ret = service_parse_option(&c->service, CMD, opt, optarg);
		return ret == 1 ? opt_bad_getopt(CMD, argv) : ret;
	}
}

/* Return: 0 to run, -1 after --help (exit 0), or EXIT_USAGE. */
static int serve_parse(struct serve_cmd *c, int argc, char **argv)
{
	int opt, ret;

	if (argc < 2)
		return opt_usage_error(
			CMD, "missing device: blk, rng or net (see 'vireo serve --help')");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(serve_usage, stdout);
		return -1;
	}
	c->kind = argv[1];
	if (strcmp(c->kind, "blk") != 0 && strcmp(c->kind, "rng") != 0)
		return opt_usage_error(CMD, "unknown device '%s' (blk, rng or net)", c->kind);
	optind = 0;
	opterr = 0; /* one line of our own for a bad option, not getopt's as well */
	while ((opt = getopt_long(argc - 1, argv + 1, "S:i:rq:Q:h", serve_options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(serve_usage, stdout);
			return -1;
		}
		ret = serve_parse_opt(c, opt, argv + 1);
		if (ret)
			return ret;
	}
	if (optind < argc - 1)
		return opt_usage_error(CMD, "unexpected argument '%s'", argv[optind + 1]);
	if (c->capabilities)
		return 0;
	if (!c->socket && c->fd < 0)
		c->listen_fds = service_listen_fds();
	if (c->listen_fds > 1)
		return opt_usage_error(CMD,
				       "socket activation passed %u sockets; serve %s takes one",
				       c->listen_fds, c->kind);
	if (!c->socket + (c->fd < 0) + !c->listen_fds != 2)
		return opt_usage_error(CMD, "give one of --socket PATH and --fd N (or a socket by "
					    "systemd socket activation)");
	if (strcmp(c->kind, "blk") == 0 && !c->image)
		return opt_usage_error(CMD, "blk: --image FILE is required");
	if (strcmp(c->kind, "rng") == 0 && (c->image || c->readonly || c->queues || c->serial))
		return opt_usage_error(CMD, "rng: only --socket and --queue-size apply");
	return 0;
}

/*
 * @print_stats: the model's counters (serve_stats.h), on SIGUSR1 and at exit
 * @backend: while it exists, for its IOTLB counters
 */
struct serve_state {
	const char *kind;
	bool exit_on_disconnect;
	struct event_loop loop;
	int signal_fd;
	void (*print_stats)(const void *model, const struct vhost_user_backend_iotlb_stats *iotlb,
			    bool json, FILE *out);
	const void *model;
	bool json;
	struct vhost_user_backend *backend;
	struct vhost_user_backend_iotlb_stats iotlb;
};

/* The model's counters, and the IOTLB's once a front-end used one (ACCESS_PLATFORM). */
static void serve_print(struct serve_state *s)
{
	if (s->backend)
		vireo_vhost_user_backend_iotlb_stats(s->backend, &s->iotlb);
	s->print_stats(s->model, serve_stats_iotlb_used(&s->iotlb) ? &s->iotlb : NULL, s->json,
		       stdout);
}

static void serve_on_signal(void *opaque, uint32_t events)
{
	struct serve_state *s = opaque;
	struct signalfd_siginfo si;

	(void)events;
	while (read(s->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGUSR1) {
			serve_print(s);
			continue;
		}
		printf("vireo serve %s: %s, shutting down\n", s->kind,
		       strsignal((int)si.ssi_signo));
		fflush(stdout);
		vireo_event_loop_stop(&s->loop);
	}
}

static void serve_on_connect(void *opaque, unsigned long conn)
{
	struct serve_state *s = opaque;

	printf("vireo serve %s: connection %lu: front-end connected\n", s->kind, conn);
	fflush(stdout);
}

static void serve_on_disconnect(void *opaque, unsigned long conn, const char *reason)
{
	struct serve_state *s = opaque;

	printf("vireo serve %s: connection %lu: closed%s%s\n", s->kind, conn, reason ? ": " : "",
	       reason ? reason : "");
	fflush(stdout);
	if (s->exit_on_disconnect)
		vireo_event_loop_stop(&s->loop);
}

/* Return: 0 or -errno: SIGINT/SIGTERM blocked and readable on a signalfd in the loop. */
static int serve_signals(struct serve_state *s)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGUSR1};

	s->signal_fd = signals_watch(&s->loop, sigs, 3, serve_on_signal, s);
	return s->signal_fd < 0 ? s->signal_fd : 0;
}

/* Return: 0 after a signal (or the --fd connection's end), 1 on a setup failure. */
static int serve_run(struct serve_state *s, struct vdev *dev, const struct serve_cmd *c,
		     const char *what)
{
	const char *socket = c->socket;
	struct vhost_user_backend_options opt = {
		.socket_path = socket,
		.on_connect = serve_on_connect,
		.on_disconnect = serve_on_disconnect,
		.opaque = s,
		.msg_timeout_ms = opt_msg_timeout_ms(),
		/* A blk request can run twice safely: it may be resubmitted after a restart. */
		.inflight = strcmp(c->kind, "blk") == 0,
	};
	struct vhost_user_backend *b;
	int ret, pidfile_fd;

	service_apply(&c->service, &opt);
	ret = serve_signals(s);
	if (ret == 0)
		ret = vireo_vhost_user_backend_new(&b, dev, &s->loop, &opt);
	if (ret < 0) {
		fprintf(stderr, "vireo serve: %s: %s\n", socket ? socket : "--fd", strerror(-ret));
		return 1;
	}
	if (c->listen_fds) {
		ret = vireo_vhost_user_backend_adopt_listener(b, SERVICE_LISTEN_FDS_START);
		if (ret < 0) {
			fprintf(stderr, "vireo serve: socket activation: fd %d: %s\n",
				SERVICE_LISTEN_FDS_START,
				ret == -EINVAL ? "not a listening unix socket" : strerror(-ret));
			vireo_vhost_user_backend_free(b);
			return 1;
		}
		printf("vireo serve %s: listening on fd %d, socket activation (%s)\n", s->kind,
		       SERVICE_LISTEN_FDS_START, what);
	} else if (c->fd >= 0) {
		s->exit_on_disconnect = true;
		printf("vireo serve %s: serving fd %d (%s)\n", s->kind, c->fd, what);
		fflush(stdout);
		ret = vireo_vhost_user_backend_attach(b, c->fd);
		if (ret < 0) {
			fprintf(stderr, "vireo serve: --fd %d: %s\n", c->fd, strerror(-ret));
			vireo_vhost_user_backend_free(b);
			return 1;
		}
	} else {
		printf("vireo serve %s: listening on %s (%s)\n", s->kind, socket, what);
	}
	fflush(stdout);
	pidfile_fd = service_pidfile_write(&c->service, CMD);
	/* Set up: from here on, only what serving needs (no front-end message read yet). */
	if (pidfile_fd < -1 || service_sandbox(&c->service, 0, CMD) < 0) {
		service_pidfile_remove(&c->service, pidfile_fd);
		vireo_vhost_user_backend_free(b);
		return 1;
	}
	s->backend = b;
	ret = vireo_vhost_user_backend_run(b);
	vireo_vhost_user_backend_iotlb_stats(b, &s->iotlb);
	s->backend = NULL;
	vireo_vhost_user_backend_free(b);
	service_pidfile_remove(&c->service, pidfile_fd);
	serve_print(s);
	if (ret < 0) {
		fprintf(stderr, "vireo serve: event loop: %s\n", strerror(-ret));
		return 1;
	}
	return 0;
}

static void serve_print_blk(const void *model, const struct vhost_user_backend_iotlb_stats *iotlb,
			    bool json, FILE *out)
{
	serve_stats_blk(model, iotlb, json, out);
}

static void serve_print_rng(const void *model, const struct vhost_user_backend_iotlb_stats *iotlb,
			    bool json, FILE *out)
{
	serve_stats_rng(model, iotlb, json, out);
}

static int serve_blk(struct serve_state *s, const struct serve_cmd *c)
{
	struct blk_device_options bo = {
		.path = c->image,
		.readonly = c->readonly,
		.num_queues = c->queues,
		.queue_size = c->queue_size,
		.serial = c->serial,
	};
	struct blk_device *blk;
	char what[160];
	int ret;

	if (image_check_raw(CMD, c->image, c->format_raw))
		return 1;
	ret = vireo_blk_device_new(&blk, &bo);
	if (ret < 0) {
		image_open_error(CMD, c->image, -ret, c->readonly);
		return 1;
	}
	s->print_stats = serve_print_blk;
	s->model = blk;
	snprintf(what, sizeof(what), "image %s, %" PRIu64 " sectors, %u queue%s%s", c->image,
		 vireo_blk_device_capacity(blk), vireo_blk_device_vdev(blk)->num_queues,
		 vireo_blk_device_vdev(blk)->num_queues == 1 ? "" : "s",
		 c->readonly ? ", read-only" : "");
	ret = serve_run(s, vireo_blk_device_vdev(blk), c, what);
	vireo_blk_device_free(blk);
	return ret;
}

static int serve_rng(struct serve_state *s, const struct serve_cmd *c)
{
	struct rng_device_options ro = {.queue_size = c->queue_size};
	struct rng_device *rng;
	int ret;

	ret = vireo_rng_device_new(&rng, &ro);
	if (ret < 0) {
		fprintf(stderr, "vireo serve: rng: %s\n", strerror(-ret));
		return 1;
	}
	s->print_stats = serve_print_rng;
	s->model = rng;
	ret = serve_run(s, vireo_rng_device_vdev(rng), c, "getrandom(2)");
	vireo_rng_device_free(rng);
	return ret;
}

int serve_main(int argc, char **argv)
{
	struct serve_cmd c = {.fd = -1};
	struct serve_state s = {.signal_fd = -1};
	int ret;

	/* A switch of many ports, not one device: its own command (serve_net.c). */
	if (argc >= 2 && strcmp(argv[1], "net") == 0)
		return serve_net_main(argc - 1, argv + 1);
	ret = serve_parse(&c, argc, argv);
	s.json = c.json;
	if (ret)
		return ret < 0 ? 0 : ret;
	if (c.capabilities) {
		printf("{\n  \"type\": \"%s\",\n  \"features\": [%s]\n}\n",
		       strcmp(c.kind, "blk") == 0 ? "block" : "rng",
		       strcmp(c.kind, "blk") == 0 ? "\"read-only\"" : "");
		return 0;
	}
	ret = vireo_event_loop_init(&s.loop);
	if (ret < 0) {
		fprintf(stderr, "vireo serve: event loop: %s\n", strerror(-ret));
		return 1;
	}
	s.kind = c.kind;
	ret = strcmp(c.kind, "blk") == 0 ? serve_blk(&s, &c) : serve_rng(&s, &c);
	if (s.signal_fd >= 0)
		close(s.signal_fd);
	vireo_event_loop_destroy(&s.loop);
	return ret;
}
