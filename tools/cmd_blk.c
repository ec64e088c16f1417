// SPDX-License-Identifier: MIT
/*
 * `vireo blk`: write, read or verify a range of an image file through the
 * whole stack (our virtio-blk driver, the loopback or virtio-mmio transport, our virtio-blk
 * device model), or of any vhost-user-blk back-end's disk (--socket: our
 * driver through the vhost-user front-end). Unaligned ranges are handled by
 * read-modify-write of the partial sectors at either end.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/blk_stack.h"
#include "tools/blk_target.h"
#include "tools/commands.h"
#include "tools/options.h"
#include "tools/pattern.h"

#define CMD "blk"
#define BLK_CHUNK (1u << 20)
#define HEXDUMP_BYTES 64u

enum blk_action { BLK_WRITE, BLK_READ, BLK_VERIFY };

struct blk_cmd {
	struct blk_target target;
	unsigned int queues;
	bool have_queues;
	enum blk_action action;
	uint64_t offset;
	uint64_t length;
	bool have_length;
	bool have_pattern;
	struct pattern pattern;
	const char *output;
	uint64_t create_size;
};

/* What one chunk of the range is doing, for the action handlers. */
struct blk_run {
	struct blk_cmd *cmd;
	struct virtio_blk *blk;
	FILE *out;
	uint64_t fnv;
	uint64_t dumped;
};

static const char blk_usage[] =
	"usage: vireo blk --image FILE [--queues N] [--readonly] [--size SIZE]\n"
	"                 {write|read|verify} --offset OFF --length LEN [--pattern P]\n"
	"                 [--output FILE]\n"
	"       vireo blk --socket PATH [--queues N] [--reconnect MS] [--iommu ...]\n"
	"                 {write|read|verify} ...\n"
	"       vireo blk --pci DDDD:BB:DD.F [--queues N] {write|read|verify} ...\n"
	"       [--ring split|packed] [--transport loopback|mmio|pci]\n"
	"\n"
	"I/O on FILE through the virtio-blk driver, the loopback (or virtio-mmio, pci)\n"
	"transport and the virtio-blk device model; or, with --socket, through the\n"
	"virtio-blk driver and the vhost-user front-end on the disk of the\n"
	"vhost-user-blk back-end listening on PATH (vireo serve blk,\n"
	"qemu-storage-daemon, ...); or, with --pci, through the virtio-blk driver\n"
	"and the virtio-pci transport on the virtio-blk PCI function at that\n"
	"address, bound to vfio-pci.\n"
	"  write    fill the range with the pattern\n"
	"  read     print a hexdump of the first 64 bytes and a checksum, or with\n"
	"           --output write the raw bytes to FILE ('-' for stdout)\n"
	"  verify   compare the range with the pattern; exit 1 at the first mismatch\n"
	"\n"
	"  -i, --image FILE    raw image file (must exist unless --size is given)\n"
	"  -S, --socket PATH   a vhost-user-blk back-end's socket instead of --image\n"
	"      --pci BDF       a virtio-blk PCI function bound to vfio-pci (needs an\n"
	"                      IOMMU and /dev/vfio) instead of --image\n"
	"  -q, --queues N      request queues the device offers, 1..16 (default 1);\n"
	"                      this command's I/O goes through the first;\n"
	"                      with --socket or --pci: use at most N of the device's\n"
	"  -r, --readonly      serve the image read-only (writes then fail)\n"
	"  -s, --size SIZE     create FILE or grow it to SIZE first\n"
	"  -o, --offset OFF    byte offset (default 0)\n"
	"  -l, --length LEN    byte count (required)\n"
	"  -p, --pattern P     a byte value (0..255, e.g. 0xa5) or seed:N for a\n"
	"                      pseudo-random stream keyed by N and the offset\n"
	"                      (default seed:1)\n"
	"  -O, --output FILE   where read puts the raw bytes\n"
	"      --reconnect MS  with --socket: if the back-end goes away, connect again for\n"
	"                      up to MS milliseconds and go on (needs a back-end with\n"
	"                      inflight tracking, INFLIGHT_SHMFD: vireo serve "
	"blk)\n" OPT_IOMMU_USAGE
	"      --format raw    use FILE even if it looks like qcow2, VMDK, ... (refused\n"
	"                      otherwise: only raw images are served)\n"
	"      --ring FORMAT   negotiate this virtqueue format: split or packed\n"
	"                      (default: packed if the device offers\n"
	"                      VIRTIO_F_RING_PACKED, else split; packed fails\n"
	"                      if the device does not offer it)\n"
	"      --transport T   with --image: how the driver reaches the device model:\n"
	"                      loopback (default), mmio or pci (our virtio-mmio or\n"
	"                      virtio-pci driver on our virtio-mmio or virtio-pci\n"
	"                      device, register accesses in-process)\n"
	"  -h, --help          this text\n"
	"Sizes accept k, M, G, T suffixes (powers of 1024).\n"
	"Exit status: 0 ok, 1 I/O error or mismatch, 2 bad arguments.\n";

static const struct option blk_options[] = {
	BLK_TARGET_LONGOPTS,
	{"queues", required_argument, NULL, 'q'},
	{"readonly", no_argument, NULL, 'r'},
	{"size", required_argument, NULL, 's'},
	{"offset", required_argument, NULL, 'o'},
	{"length", required_argument, NULL, 'l'},
	{"pattern", required_argument, NULL, 'p'},
	{"output", required_argument, NULL, 'O'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* blk_parse_option() - one getopt result. Return: 0, or EXIT_USAGE after the error line */
static int blk_parse_option(void *ctx, int opt, char **argv)
{
	struct blk_cmd *c = ctx;
	int ret = blk_target_parse_option(CMD, opt, optarg, &c->target);

	if (ret != 1)
		return ret;
	switch (opt) {
	case 'q':
		c->have_queues = true;
		return opt_parse_count(CMD, "queues", optarg, 1, BLK_DEVICE_MAX_QUEUES, &c->queues);
	case 'r':
		c->target.readonly = true;
		return 0;
	case 's':
		if (opt_parse_size(optarg, &c->create_size) < 0 || c->create_size < 512)
			return opt_usage_error(CMD, "--size wants a size of at least 512, not '%s'",
					       optarg);
		return 0;
	case 'o':
		if (opt_parse_size(optarg, &c->offset) < 0)
			return opt_usage_error(CMD, "--offset wants a size, not '%s'", optarg);
		return 0;
	case 'l':
		if (opt_parse_size(optarg, &c->length) < 0 || c->length == 0)
			return opt_usage_error(CMD, "--length wants a non-zero size, not '%s'",
					       optarg);
		c->have_length = true;
		return 0;
	case 'p':
		if (pattern_parse(optarg, &c->pattern) < 0)
			return opt_usage_error(CMD, "--pattern wants 0..255 or seed:N, not '%s'",
					       optarg);
		c->have_pattern = true;
		return 0;
	case 'O':
		c->output = optarg;
		return 0;
	default:
		return opt_bad_getopt(CMD, argv);
	}
}

/* blk_parse_action() - the one positional word. Return: 0 or EXIT_USAGE */
static int blk_parse_action(struct blk_cmd *c, int argc, char **argv)
{
	const char *a;

	if (optind >= argc)
		return opt_usage_error(CMD, "missing action: write, read or verify");
	if (optind + 1 < argc)
		return opt_usage_error(CMD, "unexpected argument '%s'", argv[optind + 1]);
	a = argv[optind];
	if (strcmp(a, "write") == 0)
		c->action = BLK_WRITE;
	else if (strcmp(a, "read") == 0)
		c->action = BLK_READ;
	else if (strcmp(a, "verify") == 0)
		c->action = BLK_VERIFY;
	else
		return opt_usage_error(CMD, "unknown action '%s' (write, read or verify)", a);
	return 0;
}

/* blk_parse() - Return: 0 to run, -1 after --help, or EXIT_USAGE */
static int blk_parse(struct blk_cmd *c, int argc, char **argv)
{
	int ret;

	memset(c, 0, sizeof(*c));
	c->queues = 1;
	c->pattern = (struct pattern){.seeded = true, .seed = 1};
	c->target.readonly_option = true;
	ret = opt_parse_args(argc, argv, "i:S:q:rs:o:l:p:O:h", blk_options, blk_usage,
			     blk_parse_option, c);
	if (ret)
		return ret;
	ret = blk_parse_action(c, argc, argv);
	if (ret)
		return ret;
	if (blk_target_check(CMD, &c->target))
		return EXIT_USAGE;
	if (!c->target.image && (c->target.readonly || c->create_size))
		return opt_usage_error(CMD, "--readonly and --size go with --image only");
	if (!c->have_length)
		return opt_usage_error(CMD, "missing --length LEN");
	if (c->offset + c->length < c->offset)
		return opt_usage_error(CMD, "--offset plus --length overflows");
	if (c->output && c->action != BLK_READ)
		return opt_usage_error(CMD, "--output only goes with read");
	if (c->have_pattern && c->action == BLK_READ)
		return opt_usage_error(CMD, "--pattern goes with write or verify, not read");
	return 0;
}

/* blk_create_image() - create or grow the image to --size. Return: 0 or -errno */
static int blk_create_image(const struct blk_cmd *c)
{
	struct stat st;
	int fd, ret = 0;

	fd = open(c->target.image, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 ||
	    ((uint64_t)st.st_size < c->create_size && ftruncate(fd, (off_t)c->create_size) < 0))
		ret = -errno;
	close(fd);
	return ret;
}

static void blk_hexdump(FILE *f, uint64_t offset, const uint8_t *b, size_t len)
{
	size_t i, j;

	for (i = 0; i < len; i += 16) {
		fprintf(f, "%08" PRIx64 ":", offset + i);
		for (j = i; j < i + 16 && j < len; j++)
			fprintf(f, "%s%02x", (j - i) % 8 == 0 ? "  " : " ", b[j]);
		fputc('\n', f);
	}
}

/* blk_consume() - what read and verify do with the bytes of a chunk. Return: 0 or 1 */
static int blk_consume(struct blk_run *r, uint64_t offset, const uint8_t *b, size_t len)
{
	size_t i, bad;
	uint8_t want;

	if (r->cmd->action == BLK_VERIFY) {
		bad = pattern_check(&r->cmd->pattern, offset, b, len);
		if (bad == len)
			return 0;
		pattern_fill(&r->cmd->pattern, offset + bad, &want, 1);
		fprintf(stderr,
			"vireo blk: mismatch at offset %" PRIu64 " (0x%" PRIx64
			"): expected 0x%02x, got 0x%02x\n",
			offset + bad, offset + bad, want, b[bad]);
		return 1;
	}
	if (r->out)
		return fwrite(b, 1, len, r->out) == len ? 0 : 1;
	for (i = 0; i < len; i++)
		r->fnv = (r->fnv ^ b[i]) * 0x100000001b3ull;
	if (r->dumped < HEXDUMP_BYTES) {
		size_t n = len < HEXDUMP_BYTES - r->dumped ? len : HEXDUMP_BYTES - r->dumped;

		blk_hexdump(stdout, offset, b, n);
		r->dumped += n;
	}
	return 0;
}

/*
 * blk_chunk() - one sector-aligned piece [@pos, @pos + @n) of the range.
 * Return: 0, 1 (I/O error or mismatch, reported).
 */
static int blk_chunk(struct blk_run *r, uint8_t *buf, uint64_t pos, size_t n)
{
	const struct blk_cmd *c = r->cmd;
	uint64_t lo = pos < c->offset ? c->offset : pos;
	uint64_t hi = pos + n > c->offset + c->length ? c->offset + c->length : pos + n;
	bool partial = lo != pos || hi != pos + n;
	const char *what = "read";
	int ret = 0;

	if (c->action != BLK_WRITE || partial)
		ret = virtio_blk_read(r->blk, pos >> 9, buf, n);
	if (!ret && c->action == BLK_WRITE) {
		pattern_fill(&c->pattern, lo, buf + (lo - pos), (size_t)(hi - lo));
		what = "write";
		ret = virtio_blk_write(r->blk, pos >> 9, buf, n);
	}
	if (ret < 0) {
		fprintf(stderr, "vireo blk: %s of %zu bytes at offset %" PRIu64 " failed: %s\n",
			what, n, pos, strerror(-ret));
		return 1;
	}
	if (c->action == BLK_WRITE)
		return 0;
	return blk_consume(r, lo, buf + (lo - pos), (size_t)(hi - lo));
}

/* blk_run_range() - the whole range in chunks, with progress. Return: exit code */
static int blk_run_range(struct blk_run *r)
{
	const struct blk_cmd *c = r->cmd;
	uint64_t start = c->offset & ~511ull;
	uint64_t end = (c->offset + c->length + 511) & ~511ull;
	static const char *const names[] = {"write", "read", "verify"};
	struct opt_progress prog;
	uint8_t *buf = malloc(BLK_CHUNK);
	uint64_t pos;
	int ret = 0;

	if (!buf) {
		fprintf(stderr, "vireo blk: out of memory\n");
		return 1;
	}
	opt_progress_start(&prog, names[c->action], end - start);
	for (pos = start; pos < end && !ret; pos += BLK_CHUNK) {
		size_t n = end - pos < BLK_CHUNK ? (size_t)(end - pos) : BLK_CHUNK;

		ret = blk_chunk(r, buf, pos, n);
		opt_progress_update(&prog, pos + n - start);
	}
	opt_progress_end(&prog);
	free(buf);
	return ret;
}

/* blk_report() - the last line of a successful run */
static void blk_report(const struct blk_run *r, uint64_t ns)
{
	const struct blk_cmd *c = r->cmd;
	double secs = (double)ns / 1e9;
	double mib = (double)c->length / (1024.0 * 1024.0);
	char pat[48];
	FILE *f = r->out == stdout ? stderr : stdout;

	pattern_describe(&c->pattern, pat, sizeof(pat));
	if (c->action == BLK_READ && !r->out)
		fprintf(f, "read %" PRIu64 " bytes at offset %" PRIu64 ", fnv1a64 %016" PRIx64,
			c->length, c->offset, r->fnv);
	else if (c->action == BLK_READ)
		fprintf(f, "read %" PRIu64 " bytes at offset %" PRIu64, c->length, c->offset);
	else
		fprintf(f, "%s %" PRIu64 " bytes at offset %" PRIu64 " (%s)",
			c->action == BLK_WRITE ? "wrote" : "verified", c->length, c->offset, pat);
	fprintf(f, " in %.3f s (%.1f MiB/s)\n", secs, secs > 0 ? mib / secs : 0.0);
}

static int blk_open_output(struct blk_run *r)
{
	const char *path = r->cmd->output;

	if (!path)
		return 0;
	if (strcmp(path, "-") == 0) {
		r->out = stdout;
		return 0;
	}
	r->out = fopen(path, "wbe");
	if (!r->out) {
		fprintf(stderr, "vireo blk: cannot open %s: %s\n", path, strerror(errno));
		return 1;
	}
	return 0;
}

/* blk_execute() - open the stack and run. Return: exit code */
static int blk_execute(struct blk_cmd *c)
{
	struct blk_run r = {.cmd = c, .fnv = 0xcbf29ce484222325ull};
	struct blk_stack s;
	uint64_t bytes, t0;
	int ret;

	if (c->create_size && (ret = blk_create_image(c)) < 0) {
		fprintf(stderr, "vireo blk: cannot create %s: %s\n", c->target.image,
			strerror(-ret));
		return 1;
	}
	/* With --image the model offers --queues; otherwise use at most that many, if given. */
	ret = blk_target_open(CMD, &c->target, &s,
			      c->target.image || c->have_queues ? c->queues : 0, 0);
	if (ret)
		return ret;
	bytes = virtio_blk_capacity(s.blk) << 9;
	if (c->offset + c->length > bytes) {
		blk_stack_close(&s);
		return opt_usage_error(CMD,
				       "range %" PRIu64 "+%" PRIu64
				       " passes the end of %s (%" PRIu64 " bytes)",
				       c->offset, c->length, blk_target_name(&c->target), bytes);
	}
	r.blk = s.blk;
	ret = blk_open_output(&r);
	t0 = opt_now_ns();
	if (!ret)
		ret = blk_run_range(&r);
	if (!ret && c->action == BLK_WRITE && (ret = virtio_blk_flush(s.blk)) < 0) {
		fprintf(stderr, "vireo blk: flush failed: %s\n", strerror(-ret));
		ret = 1;
	}
	if (!ret)
		blk_report(&r, opt_now_ns() - t0);
	if (r.out && r.out != stdout && fclose(r.out) != 0 && !ret) {
		fprintf(stderr, "vireo blk: writing %s: %s\n", c->output, strerror(errno));
		ret = 1;
	}
	blk_stack_close(&s);
	return ret;
}

int cmd_blk_main(int argc, char **argv)
{
	struct blk_cmd c;
	int ret = blk_parse(&c, argc, argv);

	if (ret < 0)
		return 0;
	if (ret)
		return ret;
	return blk_execute(&c);
}
