// SPDX-License-Identifier: MIT
/*
 * `vireo rng`: read random bytes through our virtio-rng driver, from our rng device model
 * over loopback, from a vhost-user-rng back-end (--socket), or from a virtio-rng PCI function
 * bound to vfio-pci (--pci: the virtio-pci transport through VFIO).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/rng_device.h>
#include <vireo/virtio_rng.h>

#include "tools/commands.h"
#include "tools/options.h"
#include "tools/tool_frontend.h"

#define CMD "rng"
#define RNG_MAX_BYTES (16u << 20)

struct rng_cmd {
	const char *socket;
	const char *pci;
	const char *output;
	uint64_t bytes;
	struct opt_iommu iommu;
};

/* Whichever transport the command line named, with our rng driver bound on @bus. */
struct rng_stack {
	struct virtio_bus bus;
	struct virtio_rng_driver drv;
	struct rng_device *dev; /* our model, over loopback only */
	struct tool_frontend front;
	struct virtio_rng *rng;
};

static const char rng_usage[] =
	"usage: vireo rng [--socket PATH [--iommu ...] | --pci BDF] [--bytes N]\n"
	"                 [--output FILE]\n"
	"\n"
	"Reads N random bytes through the virtio-rng driver: from the virtio-rng device\n"
	"model over loopback, from a vhost-user-rng back-end (vireo serve rng), or from\n"
	"a virtio-rng PCI function bound to vfio-pci, and prints them in hex.\n"
	"  -S, --socket PATH   a vhost-user-rng back-end's socket\n"
	"      --pci BDF       a virtio-rng PCI function (DDDD:BB:DD.F) bound to vfio-pci\n"
	"  -n, --bytes N       how many bytes, 1..16M (default 32; k/M suffixes)\n"
	"  -O, --output FILE   write the raw bytes to FILE ('-' for stdout) "
	"instead\n" OPT_IOMMU_USAGE "  -h, --help          this text\n"
	"Exit status: 0 ok, 1 failure, 2 bad arguments.\n";

#define RNG_OPT_PCI 256

static const struct option rng_options[] = {
	{"socket", required_argument, NULL, 'S'},
	{"pci", required_argument, NULL, RNG_OPT_PCI},
	{"bytes", required_argument, NULL, 'n'},
	{"output", required_argument, NULL, 'O'},
	OPT_IOMMU_LONGOPTS,
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static int rng_parse_option(void *ctx, int opt, char **argv)
{
	struct rng_cmd *c = ctx;
	int ret = opt_parse_iommu(CMD, opt, optarg, &c->iommu);

	if (ret != 1)
		return ret;
	switch (opt) {
	case 'S':
		c->socket = optarg;
		return 0;
	case RNG_OPT_PCI:
		c->pci = optarg;
		return 0;
	case 'n':
		if (opt_parse_size(optarg, &c->bytes) < 0 || c->bytes == 0 ||
		    c->bytes > RNG_MAX_BYTES)
			return opt_usage_error(CMD, "--bytes wants 1..16M, not '%s'", optarg);
		return 0;
	case 'O':
		c->output = optarg;
		return 0;
	default:
		return opt_bad_getopt(CMD, argv);
	}
}

static void rng_stack_close(struct rng_stack *s)
{
	tool_frontend_close(&s->front);
	if (s->dev)
		vireo_rng_device_free(s->dev);
	virtio_rng_unregister(&s->bus, &s->drv);
}

/* Return: 0 or -errno (what failed is logged by the transport). */
static int rng_stack_open(struct rng_stack *s, const struct rng_cmd *c)
{
	struct virtio_device *vdev;
	int ret;

	memset(s, 0, sizeof(*s));
	virtio_bus_init(&s->bus);
	ret = virtio_rng_register(&s->bus, &s->drv);
	if (ret < 0)
		return ret;
	if (c->pci) {
		ret = tool_frontend_vfio(&s->front, &s->bus, c->pci, NULL);
	} else if (c->socket) {
		ret = tool_frontend_socket(&s->front, &s->bus, c->socket, VIRTIO_ID_ENTROPY, NULL,
					   0, &c->iommu);
	} else {
		ret = vireo_rng_device_new(&s->dev, NULL);
		if (!ret)
			ret = tool_frontend_local(&s->front, &s->bus, vireo_rng_device_vdev(s->dev),
						  TOOL_TRANSPORT_LOOPBACK, 0);
	}
	if (!ret) {
		vdev = tool_frontend_virtio_device(&s->front);
		s->rng = virtio_rng_from_device(vdev);
		if (!s->rng) {
			fprintf(stderr, "vireo rng: virtio device type %u, not virtio-rng (4)\n",
				vdev->id.device);
			ret = -ENODEV;
		}
	}
	if (ret < 0)
		rng_stack_close(s);
	return ret;
}

/* The bytes in hex, 32 a line, or raw to --output. Return: exit code */
static int rng_emit(const struct rng_cmd *c, const unsigned char *buf, size_t n)
{
	FILE *f = stdout;
	size_t i;

	if (c->output && strcmp(c->output, "-") != 0 && !(f = fopen(c->output, "wb"))) {
		fprintf(stderr, "vireo rng: cannot open %s: %s\n", c->output, strerror(errno));
		return 1;
	}
	if (c->output)
		fwrite(buf, 1, n, f);
	else
		for (i = 0; i < n; i++)
			printf("%02x%s", buf[i], (i % 32 == 31 || i + 1 == n) ? "\n" : "");
	if (f != stdout && fclose(f) != 0) {
		fprintf(stderr, "vireo rng: writing %s failed\n", c->output);
		return 1;
	}
	return 0;
}

int cmd_rng_main(int argc, char **argv)
{
	struct rng_cmd c = {.bytes = 32};
	struct rng_stack s;
	unsigned char *buf;
	ssize_t n;
	int ret =
		opt_parse_args(argc, argv, "S:n:O:h", rng_options, rng_usage, rng_parse_option, &c);

	if (ret)
		return ret < 0 ? 0 : ret;
	if (optind < argc)
		return opt_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
	if (c.socket && c.pci)
		return opt_usage_error(CMD, "--socket and --pci exclude each other");
	if (c.iommu.given && !c.socket)
		return opt_usage_error(CMD, "--iommu and --iotlb-* go with --socket only");
	if (opt_check_iommu(CMD, &c.iommu))
		return EXIT_USAGE;
	buf = malloc(c.bytes);
	if (!buf)
		return 1;
	ret = rng_stack_open(&s, &c);
	if (ret < 0) {
		fprintf(stderr, "vireo rng: cannot open %s: %s\n",
			c.pci	   ? c.pci
			: c.socket ? c.socket
				   : "the loopback device",
			strerror(-ret));
		free(buf);
		return 1;
	}
	n = virtio_rng_read(s.rng, buf, c.bytes);
	rng_stack_close(&s);
	if (n != (ssize_t)c.bytes) {
		fprintf(stderr, "vireo rng: read failed: %s\n", strerror(n < 0 ? (int)-n : EIO));
		ret = 1;
	} else {
		ret = rng_emit(&c, buf, (size_t)n);
	}
	free(buf);
	return ret;
}
