// SPDX-License-Identifier: MIT
/*
 * `vireo bench net`: frames per second through our virtio-net driver and
 * the vhost-user front-end against any vhost-user-net back-end. With one
 * socket the back-end is expected to send the frames back (DPDK testpmd in
 * io or macswap forwarding, say); with two, frames go out on the first and
 * are counted on the second (a switch between two ports). Frames carry the
 * local experimental ethertype 0x88b5, a magic word and a sequence number;
 * only such frames are counted. Also notifications per frame: kicks the
 * driver sent and the waits that a back-end's signal ended.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vireo/vhost_user_frontend.h>
#include <vireo/virtio_net.h>

#include "tools/commands.h"
#include "tools/options.h"
#include "tools/tool_frontend.h"

#define CMD "bench net"
#define BENCH_NET_ETHERTYPE 0x88b5u
#define BENCH_NET_MAGIC 0x7669726e65746231ull /* "virnetb1" */
#define BENCH_NET_HDR 30u		      /* Ethernet 14, magic 8, sequence 8 */
#define BENCH_NET_SIZE_MAX 9014u
#define BENCH_NET_BURST_MAX 256u
#define BENCH_NET_QUEUE_SIZE 256u
#define BENCH_NET_DMA_BYTES (32u << 20)
#define BENCH_NET_QUIET_MS 300 /* the drain ends after this long without a frame */
#define BENCH_NET_DRAIN_MS 3000
#define BENCH_NET_OPT_PCI 256 /* long only */

static const uint8_t bench_net_dst[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

struct bench_net_cfg {
	const char *socket[2]; /* a socket path, or a PCI address if pci[i] */
	bool pci[2];
	unsigned int nsockets;
	unsigned int size;
	unsigned int burst;
	double seconds;
	bool json;
	bool mrg;
	enum virtio_ring_format ring;
	bool in_order;
};

/* One vhost-user-net device or virtio-net PCI function with our driver bound to it. */
struct bench_net_port {
	struct virtio_bus bus;
	struct virtio_net_driver drv;
	struct tool_frontend front;
	struct virtio_net *net;
	uint8_t mac[6];
};

/*
 * @tx, @rx: our frames sent on the first port and received on the last
 * @other: frames received that were not ours (or not from the first port)
 */
struct bench_net_run {
	uint64_t tx, rx, other;
	uint64_t start_ns, send_end_ns, last_rx_ns;
	uint8_t *frames;
	const void **ptrs;
	size_t *lens;
	uint8_t *rxbuf;
};

static const char bench_net_usage[] =
	"usage: vireo bench net {--socket PATH|--pci BDF} [--socket PATH2|--pci BDF2]\n"
	"                       [--size N] [--seconds S]\n"
	"                       [--burst N] [--mrg] [--json] [--ring split|packed] [--in-order]\n"
	"\n"
	"Sends Ethernet frames through our virtio-net driver and the vhost-user\n"
	"front-end to the vhost-user-net back-end listening on PATH, as fast as the\n"
	"ring takes them, and counts the ones that come back (a back-end that\n"
	"reflects them, such as dpdk-testpmd in io or macswap forwarding). With a\n"
	"second socket frames go out on the first and are counted on the second\n"
	"(a switch: the second port first sends one frame so its address is\n"
	"learnt). Then waits for stragglers and reports frames, Mpps, lost frames\n"
	"and notifications per frame. Exit 1 if nothing came back.\n"
	"  -S, --socket PATH   a vhost-user-net back-end's socket (once or twice)\n"
	"      --pci BDF       a virtio-net PCI function bound to vfio-pci instead of a\n"
	"                      socket (through the virtio-pci transport and VFIO)\n"
	"  -s, --size N        frame size in bytes without FCS, 60..9014 (default 64)\n"
	"  -t, --seconds S     sending time (default 5)\n"
	"      --burst N       frames per kick, 1..256 (default 32)\n"
	"      --mrg           negotiate VIRTIO_NET_F_MRG_RXBUF\n"
	"      --ring FORMAT   virtqueue format to negotiate: split or packed (default:\n"
	"                      packed if the back-end offers it, else split)\n"
	"      --in-order      accept VIRTIO_F_IN_ORDER if the back-end offers it\n"
	"  -j, --json          one JSON object instead of a table\n"
	"  -h, --help          this text\n";

static const struct option bench_net_options[] = {
	{"socket", required_argument, NULL, 'S'},
	{"size", required_argument, NULL, 's'},
	{"seconds", required_argument, NULL, 't'},
	{"burst", required_argument, NULL, 'b'},
	{"mrg", no_argument, NULL, 'm'},
	{"json", no_argument, NULL, 'j'},
	{"ring", required_argument, NULL, 'R'},
	{"in-order", no_argument, NULL, 'I'},
	{"pci", required_argument, NULL, BENCH_NET_OPT_PCI},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* Return: 0 or EXIT_USAGE after the error line */
static int bench_net_option(void *ctx, int opt, char **argv)
{
	struct bench_net_cfg *c = ctx;

	switch (opt) {
	case 'S':
	case BENCH_NET_OPT_PCI:
		if (c->nsockets == 2)
			return opt_usage_error(CMD, "at most two ports (--socket or --pci)");
		c->pci[c->nsockets] = opt == BENCH_NET_OPT_PCI;
		c->socket[c->nsockets++] = optarg;
		return 0;
	case 's':
		return opt_parse_count(CMD, "size", optarg, 60, BENCH_NET_SIZE_MAX, &c->size);
	case 't':
		if (opt_parse_seconds(optarg, &c->seconds) < 0)
			return opt_usage_error(CMD, "--seconds wants a positive number, not '%s'",
					       optarg);
		return 0;
	case 'b':
		return opt_parse_count(CMD, "burst", optarg, 1, BENCH_NET_BURST_MAX, &c->burst);
	case 'm':
		c->mrg = true;
		return 0;
	case 'R':
		return opt_parse_ring(CMD, optarg, &c->ring);
	case 'I':
		c->in_order = true;
		return 0;
	case 'j':
		c->json = true;
		return 0;
	default:
		return opt_bad_getopt(CMD, argv);
	}
}

/* Return: 0 to run, -1 after --help, or EXIT_USAGE */
static int bench_net_parse(struct bench_net_cfg *c, int argc, char **argv)
{
	int ret;

	memset(c, 0, sizeof(*c));
	c->size = 64;
	c->burst = 32;
	c->seconds = 5;
	ret = opt_parse_args(argc, argv, "S:s:t:jh", bench_net_options, bench_net_usage,
			     bench_net_option, c);
	if (ret)
		return ret;
	if (optind < argc)
		return opt_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
	if (c->nsockets == 0)
		return opt_usage_error(CMD, "missing --socket PATH or --pci BDF");
	return 0;
}

static void bench_net_close(struct bench_net_port *p)
{
	tool_frontend_close(&p->front);
	virtio_net_unregister(&p->bus, &p->drv);
	memset(p, 0, sizeof(*p));
}

/* Connect to port @i of @c and bind our driver. Return: 0 or -errno */
static int bench_net_open(struct bench_net_port *p, unsigned int i, const struct bench_net_cfg *c)
{
	const struct tool_frontend_sizes sizes = {
		.dma_bytes = BENCH_NET_DMA_BYTES,
		.queue_size = BENCH_NET_QUEUE_SIZE,
	};
	bool mrg = c->mrg;
	int ret;

	memset(p, 0, sizeof(*p));
	virtio_bus_init(&p->bus);
	p->bus.ring_format = c->ring;
	p->bus.ring_in_order = c->in_order;
	/*
	 * No control queue over vhost-user: a vhost-user-net back-end leaves it to the
	 * front-end (QEMU answers it), so a command would go unanswered. A PCI device has one.
	 */
	p->drv.options = (c->pci[i] ? 0 : VIRTIO_NET_DRIVER_NO_CTRL) |
			 (mrg ? VIRTIO_NET_DRIVER_MRG_RXBUF : 0);
	ret = virtio_net_register(&p->bus, &p->drv);
	if (ret < 0)
		return ret;
	if (c->pci[i])
		ret = tool_frontend_vfio(&p->front, &p->bus, c->socket[i], &sizes);
	else
		ret = tool_frontend_socket(&p->front, &p->bus, c->socket[i], VIRTIO_ID_NET, &sizes,
					   0, NULL);
	if (ret < 0) {
		virtio_net_unregister(&p->bus, &p->drv);
		return ret;
	}
	p->net = virtio_net_from_device(tool_frontend_virtio_device(&p->front));
	if (!p->net) {
		bench_net_close(p);
		return -ENODEV;
	}
	virtio_net_mac(p->net, p->mac);
	return 0;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	unsigned int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Ethernet header, magic, sequence number, then a byte pattern. */
static void bench_net_frame(uint8_t *f, unsigned int size, const uint8_t dst[6],
			    const uint8_t src[6], uint64_t seq)
{
	unsigned int i;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = (uint8_t)(BENCH_NET_ETHERTYPE >> 8);
	f[13] = (uint8_t)BENCH_NET_ETHERTYPE;
	put_be64(f + 14, BENCH_NET_MAGIC);
	put_be64(f + 22, seq);
	for (i = BENCH_NET_HDR; i < size; i++)
		f[i] = (uint8_t)i;
}

/* One of ours: the ethertype, the magic, and (two ports) from the first port. */
static bool bench_net_ours(const uint8_t *f, int len, const uint8_t *from)
{
	if (len < (int)BENCH_NET_HDR)
		return false;
	if (f[12] != (uint8_t)(BENCH_NET_ETHERTYPE >> 8) || f[13] != (uint8_t)BENCH_NET_ETHERTYPE)
		return false;
	if (get_be64(f + 14) != BENCH_NET_MAGIC)
		return false;
	/* A reflector may swap the addresses (macswap): the source is checked with two ports only. */
	return !from || memcmp(f + 6, from, 6) == 0;
}

/* Take every frame ready on @p. Return: frames taken, or -errno */
static int bench_net_drain(struct bench_net_run *r, struct bench_net_port *p, const uint8_t *from)
{
	int n, got = 0;

	while ((n = virtio_net_recv(p->net, r->rxbuf, BENCH_NET_SIZE_MAX + 4)) > 0) {
		if (bench_net_ours(r->rxbuf, n, from))
			r->rx++;
		else
			r->other++;
		got++;
	}
	if (got)
		r->last_rx_ns = opt_now_ns();
	return n < 0 ? n : got;
}

/* One burst with sequence numbers from r->tx. Return: frames queued, or -errno */
static int bench_net_send(const struct bench_net_cfg *c, struct bench_net_run *r,
			  struct bench_net_port *tx)
{
	unsigned int i;
	int n;

	for (i = 0; i < c->burst; i++)
		put_be64(r->frames + (size_t)i * c->size + 22, r->tx + i);
	n = virtio_net_send_burst(tx->net, r->ptrs, r->lens, c->burst);
	if (n > 0)
		r->tx += (uint64_t)n;
	return n;
}

static void bench_net_progress(const struct bench_net_cfg *c, const struct bench_net_run *r,
			       uint64_t *next_ns)
{
	uint64_t now = opt_now_ns();
	bool tty = isatty(STDERR_FILENO);

	if (c->seconds <= 3 || now < *next_ns)
		return;
	*next_ns += 1000000000ull;
	fprintf(stderr, "%sbench net: %.0f / %.0f s, tx %" PRIu64 ", rx %" PRIu64 "%s",
		tty ? "\r" : "", (double)(now - r->start_ns) / 1e9, c->seconds, r->tx, r->rx,
		tty ? "   " : "\n");
}

/* Send for c->seconds, taking what comes back meanwhile. Return: 0 or -errno */
static int bench_net_loop(const struct bench_net_cfg *c, struct bench_net_run *r,
			  struct bench_net_port *tx, struct bench_net_port *rx, const uint8_t *from)
{
	uint64_t end = r->start_ns + (uint64_t)(c->seconds * 1e9);
	uint64_t next = r->start_ns + 1000000000ull;
	int sent, got;

	while (opt_now_ns() < end) {
		sent = bench_net_send(c, r, tx);
		if (sent < 0)
			return sent;
		got = bench_net_drain(r, rx, from);
		if (got < 0)
			return got;
		/*
		 * The transmit ring is full and nothing came in: sleep until the
		 * back-end signals (the interrupt path). With one port that is
		 * either ring; with two, the transmit one.
		 */
		if (sent == 0 && got == 0) {
			got = virtio_net_wait(tx->net, 10);
			if (got < 0)
				return got;
		}
		bench_net_progress(c, r, &next);
	}
	if (c->seconds > 3 && isatty(STDERR_FILENO))
		fputc('\n', stderr);
	return 0;
}

/* Stop sending; collect stragglers until the ring stays quiet. Return: 0 or -errno */
static int bench_net_finish(struct bench_net_run *r, struct bench_net_port *tx,
			    struct bench_net_port *rx, const uint8_t *from)
{
	uint64_t deadline = r->send_end_ns + BENCH_NET_DRAIN_MS * 1000000ull;
	uint64_t quiet_since = r->send_end_ns;
	int got;

	while (opt_now_ns() < deadline &&
	       opt_now_ns() - quiet_since < BENCH_NET_QUIET_MS * 1000000ull) {
		virtio_net_tx_reclaim(tx->net);
		got = bench_net_drain(r, rx, from);
		if (got < 0)
			return got;
		if (got > 0)
			quiet_since = opt_now_ns();
		else if ((got = virtio_net_wait(rx->net, 20)) < 0)
			return got;
	}
	virtio_net_tx_reclaim(tx->net);
	return 0;
}

/* The second port sends one frame so a switch learns where its address lives. */
static int bench_net_learn(struct bench_net_run *r, struct bench_net_port *a,
			   struct bench_net_port *b, unsigned int size)
{
	uint8_t *f = r->frames;
	int ret;

	bench_net_frame(f, size, a->mac, b->mac, UINT64_MAX);
	ret = virtio_net_send(b->net, f, size);
	if (ret < 0)
		return ret;
	/* Give it time to cross, and take it off the first port if it arrives. */
	(void)virtio_net_wait(a->net, 200);
	while ((ret = virtio_net_recv(a->net, r->rxbuf, BENCH_NET_SIZE_MAX + 4)) > 0)
		;
	virtio_net_tx_reclaim(b->net);
	return ret;
}

/* Burst buffers, each a frame from @src to @dst. Return: 0 or -ENOMEM */
static int bench_net_alloc(const struct bench_net_cfg *c, struct bench_net_run *r,
			   const uint8_t *dst, const uint8_t *src)
{
	unsigned int i;

	r->frames = calloc(c->burst, c->size);
	r->ptrs = calloc(c->burst, sizeof(*r->ptrs));
	r->lens = calloc(c->burst, sizeof(*r->lens));
	r->rxbuf = malloc(BENCH_NET_SIZE_MAX + 4);
	if (!r->frames || !r->ptrs || !r->lens || !r->rxbuf)
		return -ENOMEM;
	for (i = 0; i < c->burst; i++) {
		bench_net_frame(r->frames + (size_t)i * c->size, c->size, dst, src, 0);
		r->ptrs[i] = r->frames + (size_t)i * c->size;
		r->lens[i] = c->size;
	}
	return 0;
}

static void bench_net_free(struct bench_net_run *r)
{
	free(r->frames);
	free(r->ptrs);
	free(r->lens);
	free(r->rxbuf);
}

/* Counters of every port, summed. */
struct bench_net_notify {
	uint64_t tx_kicks, rx_kicks, interrupts, calls, rx_dropped;
};

static void bench_net_notify(struct bench_net_port *ports, unsigned int n,
			     struct bench_net_notify *sum)
{
	struct vhost_user_frontend_stats fs = {0};
	struct virtio_net_stats st;
	unsigned int i;

	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < n; i++) {
		virtio_net_get_stats(ports[i].net, &st);
		memset(&fs, 0, sizeof(fs));
		if (ports[i].front.fe)
			vireo_vhost_user_frontend_stats(ports[i].front.fe, &fs);
		sum->tx_kicks += st.tx_kicks;
		sum->rx_kicks += st.rx_kicks;
		sum->interrupts += st.rx_interrupts;
		sum->rx_dropped += st.rx_dropped;
		sum->calls += fs.calls;
	}
}

static double per(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0;
}

/* The first port's negotiated ring format and IN_ORDER, as the JSON fields say them. */
static void bench_net_ring_json(const struct bench_net_port *p)
{
	struct virtio_device *vdev = tool_frontend_virtio_device(&p->front);

	printf("\"ring\":\"%s\",\"in_order\":%s,",
	       virtio_has_feature(vdev, VIRTIO_F_RING_PACKED) ? "packed" : "split",
	       virtio_has_feature(vdev, VIRTIO_F_IN_ORDER) ? "true" : "false");
}

static void bench_net_print(const struct bench_net_cfg *c, const struct bench_net_run *r,
			    const struct bench_net_notify *nt, const struct bench_net_port *ports)
{
	double secs = (double)(r->send_end_ns - r->start_ns) / 1e9;
	uint64_t rx_end = r->last_rx_ns > r->send_end_ns ? r->last_rx_ns : r->send_end_ns;
	double rx_secs = (double)(rx_end - r->start_ns) / 1e9;
	double tx_mpps = secs > 0 ? (double)r->tx / secs / 1e6 : 0;
	double rx_mpps = rx_secs > 0 ? (double)r->rx / rx_secs / 1e6 : 0;
	int64_t lost = (int64_t)r->tx - (int64_t)r->rx;

	if (c->json) {
		printf("{");
		bench_net_ring_json(&ports[0]);
		printf("\"size\":%u,\"burst\":%u,\"ports\":%u,\"mrg\":%s,\"seconds\":%.3f,"
		       "\"tx_frames\":%" PRIu64 ",\"tx_mpps\":%.4f,\"rx_frames\":%" PRIu64
		       ",\"rx_mpps\":%.4f,\"lost\":%" PRId64 ",\"rx_other\":%" PRIu64
		       ",\"rx_dropped\":%" PRIu64 ",\"tx_kicks\":%" PRIu64 ",\"rx_kicks\":%" PRIu64
		       ",\"interrupts\":%" PRIu64 ",\"calls\":%" PRIu64
		       ",\"kicks_per_frame\":%.6f,\"interrupts_per_frame\":%.6f}\n",
		       c->size, c->burst, c->nsockets, c->mrg ? "true" : "false", secs, r->tx,
		       tx_mpps, r->rx, rx_mpps, lost, r->other, nt->rx_dropped, nt->tx_kicks,
		       nt->rx_kicks, nt->interrupts, nt->calls, per(nt->tx_kicks, r->tx),
		       per(nt->interrupts, r->rx));
		return;
	}
	printf("vireo bench net: %u-byte frames, burst %u, %s, %.1f s\n", c->size, c->burst,
	       c->nsockets == 2 ? "two ports" : "one port, reflected", secs);
	printf("%-4s %14s %10s\n", "", "frames", "Mpps");
	printf("%-4s %14" PRIu64 " %10.3f\n", "tx", r->tx, tx_mpps);
	printf("%-4s %14" PRIu64 " %10.3f\n", "rx", r->rx, rx_mpps);
	printf("%-4s %14" PRId64 "\n", "lost", lost);
	printf("kicks per frame:      %.6f (%" PRIu64 " tx kicks; %" PRIu64 " rx refill kicks)\n",
	       per(nt->tx_kicks, r->tx), nt->tx_kicks, nt->rx_kicks);
	printf("interrupts per frame: %.6f (%" PRIu64 " waits woken, %" PRIu64 " calls)\n",
	       per(nt->interrupts, r->rx), nt->interrupts, nt->calls);
	if (r->other || nt->rx_dropped)
		printf("other frames: %" PRIu64 " received, %" PRIu64 " dropped as malformed\n",
		       r->other, nt->rx_dropped);
}

/* Return: exit code */
static int bench_net_run(const struct bench_net_cfg *c, struct bench_net_port *ports)
{
	struct bench_net_port *tx = &ports[0], *rx = &ports[c->nsockets - 1];
	const uint8_t *dst = c->nsockets == 2 ? rx->mac : bench_net_dst;
	const uint8_t *from = c->nsockets == 2 ? tx->mac : NULL;
	struct bench_net_notify nt;
	struct bench_net_run r;
	int ret;

	memset(&r, 0, sizeof(r));
	ret = bench_net_alloc(c, &r, dst, tx->mac);
	if (!ret && c->nsockets == 2)
		ret = bench_net_learn(&r, tx, rx, c->size);
	if (!ret) {
		/* The learning frame overwrote the first burst slot. */
		bench_net_frame(r.frames, c->size, dst, tx->mac, 0);
		r.start_ns = opt_now_ns();
		ret = bench_net_loop(c, &r, tx, rx, from);
		r.send_end_ns = opt_now_ns();
	}
	if (!ret)
		ret = bench_net_finish(&r, tx, rx, from);
	if (ret) {
		fprintf(stderr, "vireo bench net: %s\n", strerror(-ret));
		bench_net_free(&r);
		return 1;
	}
	bench_net_notify(ports, c->nsockets, &nt);
	bench_net_print(c, &r, &nt, ports);
	fflush(stdout);
	bench_net_free(&r);
	if (r.tx > 0 && r.rx == 0) {
		fprintf(stderr, "vireo bench net: %" PRIu64 " frames sent, none came back\n", r.tx);
		return 1;
	}
	return 0;
}

int bench_net_main(int argc, char **argv)
{
	struct bench_net_port ports[2];
	struct bench_net_cfg c;
	unsigned int i, n = 0;
	int ret = bench_net_parse(&c, argc, argv);

	if (ret)
		return ret < 0 ? 0 : ret;
	for (; n < c.nsockets; n++) {
		ret = bench_net_open(&ports[n], n, &c);
		if (ret < 0) {
			fprintf(stderr, "vireo bench net: cannot %s %s: %s\n",
				c.pci[n] ? "open" : "connect to", c.socket[n], strerror(-ret));
			ret = 1;
			goto out;
		}
		if (c.size > virtio_net_mtu(ports[n].net) + 14) {
			ret = opt_usage_error(CMD, "--size %u is above the MTU %u plus 14", c.size,
					      virtio_net_mtu(ports[n].net));
			n++;
			goto out;
		}
		if (!virtio_net_link_up(ports[n].net))
			fprintf(stderr, "vireo bench net: %s: link is down\n", c.socket[n]);
	}
	ret = bench_net_run(&c, ports);
out:
	for (i = 0; i < n; i++)
		bench_net_close(&ports[i]);
	return ret;
}
