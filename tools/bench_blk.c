// SPDX-License-Identifier: MIT
/*
 * `vireo bench blk`: IOPS, bandwidth and latency of the whole front-end stack (our blk
 * driver's asynchronous API, the loopback, virtio-mmio or virtio-pci transport, our blk
 * device on an image), or of our driver and the vhost-user front-end against any
 * vhost-user-blk back-end (--socket), with notifications per I/O (the front-end's with
 * --socket, the device model's in process) and the process's CPU and context switches. One
 * thread per queue keeps --iodepth requests in flight on its queue; latency
 * runs from submit to the poll that returns the request, kept in a
 * log-linear histogram (32 buckets per power of two, about 3% resolution).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "tools/blk_stack.h"
#include "tools/blk_target.h"
#include "tools/commands.h"
#include "tools/options.h"

#define CMD "bench blk"
#define HIST_SUB_BITS 5
#define HIST_BUCKETS (64 * (1 << HIST_SUB_BITS))
#define BENCH_MAX_IODEPTH 1024u
#define BENCH_MAX_BS (4u << 20)
#define BENCH_STALL_POLLS 10 /* one-second polls without a completion */

enum bench_rw { RW_READ, RW_WRITE, RW_RANDREAD, RW_RANDWRITE };
static const char *const bench_rw_names[] = {"read", "write", "randread", "randwrite"};

struct bench_cfg {
	struct blk_target target;
	enum bench_rw rw;
	uint32_t bs;
	unsigned int iodepth;
	unsigned int queues;
	double seconds;
	bool json;
};

struct bench_worker {
	const struct bench_cfg *cfg;
	struct virtio_blk *blk;
	unsigned int queue;
	pthread_t thread;
	uint64_t nblocks;     /* bs-sized blocks this worker may touch */
	uint64_t first_block; /* of its slice (sequential) */
	uint64_t next_block;
	uint64_t rng;
	uint64_t end_ns;
	_Atomic uint64_t ios; /* read by the progress line: relaxed, a statistic */
	uint64_t errors;
	uint64_t lat_sum_ns;
	uint64_t lat_max_ns;
	int err;
	const char *err_what;
	uint64_t hist[HIST_BUCKETS];
	struct virtio_blk_request *reqs;
	struct virtio_blk_request **ptrs;
	struct virtio_blk_request **pend; /* prepared, not yet accepted by the queue */
	unsigned int npend;
	uint64_t *submit_ns;
};

static const char bench_usage[] =
	"usage: vireo bench blk {--image FILE|--socket PATH|--pci BDF}\n"
	"                       [--rw read|write|randread|randwrite]\n"
	"                       [--bs SIZE] [--iodepth N] [--queues N] [--seconds S] [--json]\n"
	"                       [--ring split|packed] [--reconnect MS]\n"
	"                       [--iommu [--iotlb-page SIZE] [--iotlb-preload]\n"
	"                       [--iotlb-invalidate N]]\n"
	"                       [--transport loopback|mmio|pci]\n"
	"\n"
	"Measures the virtio-blk driver's asynchronous API through the loopback (or\n"
	"virtio-mmio or virtio-pci) transport and the virtio-blk device model serving\n"
	"FILE (writes change it; also the model's kicks and calls per I/O), or through\n"
	"the vhost-user front-end against the vhost-user-blk back-end listening on PATH\n"
	"(then also the front-end's kicks and calls per I/O), or through the\n"
	"virtio-pci transport on a virtio-blk PCI function bound to vfio-pci. Always\n"
	"also this process's CPU time and voluntary context switches per I/O.\n"
	"  -i, --image FILE    raw image file\n"
	"  -S, --socket PATH   a vhost-user-blk back-end's socket instead of --image\n"
	"      --pci BDF       a virtio-blk PCI function (DDDD:BB:DD.F) bound to vfio-pci\n"
	"  -w, --rw MODE       read, write (sequential), randread, randwrite (default\n"
	"                      read, as fio)\n"
	"  -b, --bs SIZE       request size, a multiple of 512 up to 4M (k/M suffixes;\n"
	"                      default 4k, as fio)\n"
	"  -d, --iodepth N     requests in flight per queue, 1..1024 (default 1, as fio)\n"
	"  -q, --queues N      request queues, one thread each, 1..16 (default 1)\n"
	"  -t, --seconds S     run time (default 5)\n"
	"  -j, --json          one JSON object instead of a table\n"
	"      --format raw    use FILE even if it looks like qcow2, VMDK, ... (refused\n"
	"                      otherwise: only raw images are served)\n"
	"      --ring FORMAT   virtqueue format to negotiate: split or packed (default:\n"
	"                      packed if the device offers it, else split)\n"
	"      --reconnect MS  with --socket: if the back-end goes away, connect again for\n"
	"                      up to MS milliseconds and go on (a back-end with inflight\n"
	"                      tracking, INFLIGHT_SHMFD: vireo serve blk)\n" OPT_IOMMU_USAGE
	"      --transport T   with --image: loopback (default), mmio or pci (our\n"
	"                      virtio-mmio or virtio-pci driver on our device of that\n"
	"                      transport: what the register path costs per I/O)\n"
	"  -h, --help          this text\n";

static const struct option bench_options[] = {
	BLK_TARGET_LONGOPTS,
	{"rw", required_argument, NULL, 'w'},
	{"bs", required_argument, NULL, 'b'},
	{"iodepth", required_argument, NULL, 'd'},
	{"queues", required_argument, NULL, 'q'},
	{"seconds", required_argument, NULL, 't'},
	{"json", no_argument, NULL, 'j'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static unsigned int hist_index(uint64_t ns)
{
	unsigned int msb, shift;

	if (ns < (2u << HIST_SUB_BITS))
		return (unsigned int)ns;
	msb = 63u - (unsigned int)__builtin_clzll(ns);
	shift = msb - HIST_SUB_BITS;
	return shift * (1u << HIST_SUB_BITS) + (unsigned int)(ns >> shift);
}

/* The middle of bucket @idx, in ns. */
static double hist_value(unsigned int idx)
{
	unsigned int shift, mant;

	if (idx < (2u << HIST_SUB_BITS))
		return idx;
	shift = idx / (1u << HIST_SUB_BITS) - 1;
	mant = idx - shift * (1u << HIST_SUB_BITS);
	return ((double)mant + 0.5) * (double)(1ull << shift);
}

/*
 * hist_percentile() - latency (ns) at or below which @pct percent of @count
 * fall; a bucket's middle, but never above the largest sample @max
 */
static double hist_percentile(const uint64_t *hist, uint64_t count, double pct, uint64_t max)
{
	uint64_t want = (uint64_t)((double)count * pct / 100.0 + 0.999999), seen = 0;
	unsigned int i;
	double v = (double)max;

	if (count == 0)
		return 0;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += hist[i];
		if (seen >= want) {
			v = hist_value(i);
			break;
		}
	}
	return v < (double)max ? v : (double)max;
}

static uint64_t bench_rand(struct bench_worker *w)
{
	/* xorshift64*: plenty for offsets */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 0x2545f4914f6cdd1dull;
}

static void bench_prep(struct bench_worker *w, struct virtio_blk_request *r)
{
	const struct bench_cfg *c = w->cfg;
	uint64_t block;

	if (c->rw == RW_RANDREAD || c->rw == RW_RANDWRITE) {
		block = w->first_block + bench_rand(w) % w->nblocks;
	} else {
		block = w->next_block;
		if (++w->next_block == w->first_block + w->nblocks)
			w->next_block = w->first_block;
	}
	r->type = (c->rw == RW_READ || c->rw == RW_RANDREAD) ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT;
	r->sector = block * (c->bs >> 9);
	r->len = c->bs;
}

/*
 * bench_submit() - prepare @n requests and post them with whatever waits in
 * @w->pend; what the queue cannot take yet (it is full: requests need more
 * than one descriptor without indirect) stays there for the next round.
 * Return: 0 or -errno.
 */
static int bench_submit(struct bench_worker *w, struct virtio_blk_request **reqs, unsigned int n)
{
	uint64_t now = opt_now_ns();
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		bench_prep(w, reqs[i]);
		w->submit_ns[(uintptr_t)reqs[i]->token] = now;
		w->pend[w->npend++] = reqs[i];
	}
	while (w->npend > 0) {
		ret = virtio_blk_submit_batch(w->blk, w->queue, w->pend, w->npend);
		if (ret == -EAGAIN && virtio_blk_in_flight(w->blk, w->queue) > 0)
			return 0;
		if (ret < 0)
			return ret;
		w->npend -= (unsigned int)ret;
		memmove(w->pend, w->pend + ret, w->npend * sizeof(*w->pend));
	}
	return 0;
}

static void bench_complete(struct bench_worker *w, struct virtio_blk_request *r, uint64_t now)
{
	uint64_t lat = now - w->submit_ns[(uintptr_t)r->token];

	w->lat_sum_ns += lat;
	if (lat > w->lat_max_ns)
		w->lat_max_ns = lat;
	w->hist[hist_index(lat)]++;
	if (r->result < 0) {
		w->errors++;
		if (!w->err) {
			w->err = r->result;
			w->err_what = "request";
		}
	}
	atomic_fetch_add_explicit(&w->ios, 1, memory_order_relaxed);
}

/* bench_loop() - keep the queue full until the end time, then drain. Return: 0 or -errno */
static int bench_loop(struct bench_worker *w)
{
	unsigned int depth = w->cfg->iodepth, stalls = 0, i;
	bool stopping = false;
	int n, ret;

	ret = bench_submit(w, w->ptrs, depth);
	if (ret < 0)
		return ret;
	while (!stopping || virtio_blk_in_flight(w->blk, w->queue) > 0) {
		uint64_t now;

		n = virtio_blk_poll(w->blk, w->queue, w->ptrs, depth, 1000);
		if (n < 0)
			return n;
		if (n == 0 && ++stalls >= BENCH_STALL_POLLS)
			return -ETIMEDOUT;
		if (n > 0)
			stalls = 0;
		now = opt_now_ns();
		for (i = 0; i < (unsigned int)n; i++)
			bench_complete(w, w->ptrs[i], now);
		if (w->err)
			stopping = true;
		if (now >= w->end_ns)
			stopping = true;
		if (stopping)
			w->npend = 0;
		if (!stopping && n > 0) {
			ret = bench_submit(w, w->ptrs, (unsigned int)n);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

/* bench_setup() - requests and their DMA buffers. Return: 0 or -ENOMEM */
static int bench_setup(struct bench_worker *w)
{
	unsigned int i, depth = w->cfg->iodepth;

	w->reqs = calloc(depth, sizeof(*w->reqs));
	w->ptrs = calloc(depth, sizeof(*w->ptrs));
	w->pend = calloc(depth, sizeof(*w->pend));
	w->submit_ns = calloc(depth, sizeof(*w->submit_ns));
	if (!w->reqs || !w->ptrs || !w->pend || !w->submit_ns)
		return -ENOMEM;
	for (i = 0; i < depth; i++) {
		w->reqs[i].data = virtio_blk_alloc_buffer(w->blk, w->cfg->bs);
		if (!w->reqs[i].data)
			return -ENOMEM;
		/* Something other than zeroes, in case the back-end special-cases them. */
		memset(w->reqs[i].data, 0x5a ^ (int)i, w->cfg->bs);
		w->reqs[i].token = (void *)(uintptr_t)i;
		w->ptrs[i] = &w->reqs[i];
	}
	return 0;
}

static void bench_teardown(struct bench_worker *w)
{
	unsigned int i;

	for (i = 0; w->reqs && i < w->cfg->iodepth; i++) {
		if (w->reqs[i].data)
			virtio_blk_free_buffer(w->blk, w->reqs[i].data);
	}
	free(w->reqs);
	free(w->ptrs);
	free(w->pend);
	free(w->submit_ns);
}

static void *bench_thread(void *opaque)
{
	struct bench_worker *w = opaque;
	int ret = bench_setup(w);

	if (ret < 0) {
		w->err = ret;
		w->err_what = "buffer allocation";
	} else {
		ret = bench_loop(w);
		if (ret < 0 && !w->err) {
			w->err = ret;
			w->err_what = ret == -ETIMEDOUT ? "waiting for completions" : "queue";
		}
	}
	bench_teardown(w);
	return NULL;
}

/* bench_parse_option() - Return: 0 or EXIT_USAGE after the error line */
static int bench_parse_option(void *ctx, int opt, char **argv)
{
	struct bench_cfg *c = ctx;
	uint64_t v;
	unsigned int i;
	int ret = blk_target_parse_option(CMD, opt, optarg, &c->target);

	if (ret != 1)
		return ret;
	switch (opt) {
	case 'w':
		for (i = 0; i < 4; i++) {
			if (strcmp(optarg, bench_rw_names[i]) == 0) {
				c->rw = (enum bench_rw)i;
				return 0;
			}
		}
		return opt_usage_error(
			CMD, "--rw wants read, write, randread or randwrite, not '%s'", optarg);
	case 'b':
		if (opt_parse_size(optarg, &v) < 0 || v == 0 || v % 512 || v > BENCH_MAX_BS)
			return opt_usage_error(
				CMD, "--bs wants a multiple of 512 up to 4M, not '%s'", optarg);
		c->bs = (uint32_t)v;
		return 0;
	case 'd':
		if (opt_parse_count(CMD, "iodepth", optarg, 1, BENCH_MAX_IODEPTH, &c->iodepth))
			return EXIT_USAGE;
		return 0;
	case 'q':
		return opt_parse_count(CMD, "queues", optarg, 1, BLK_DEVICE_MAX_QUEUES, &c->queues);
	case 't':
		if (opt_parse_seconds(optarg, &c->seconds) < 0)
			return opt_usage_error(CMD, "--seconds wants a positive number, not '%s'",
					       optarg);
		return 0;
	case 'j':
		c->json = true;
		return 0;
	default:
		return opt_bad_getopt(CMD, argv);
	}
}

/* bench_parse() - Return: 0 to run, -1 after --help, or EXIT_USAGE */
static int bench_parse(struct bench_cfg *c, int argc, char **argv)
{
	int ret;

	memset(c, 0, sizeof(*c));
	/* fio's defaults: rw=read, bs=4k, iodepth=1 */
	c->rw = RW_READ;
	c->bs = 4096;
	c->iodepth = 1;
	c->queues = 1;
	c->seconds = 5;
	ret = opt_parse_args(argc, argv, "i:S:w:b:d:q:t:jh", bench_options, bench_usage,
			     bench_parse_option, c);
	if (ret)
		return ret;
	if (optind < argc)
		return opt_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
	c->target.readonly = c->rw == RW_READ || c->rw == RW_RANDREAD;
	return blk_target_check(CMD, &c->target);
}

/* The totals over every worker. */
/*
 * @kicks, @calls: notifications during the run: sent by the vhost-user front-end (--socket),
 * or handled and sent by the device model in process (@notify_side "device")
 */
struct bench_result {
	uint64_t ios, errors, lat_sum_ns, lat_max_ns;
	uint64_t hist[HIST_BUCKETS];
	double secs;
	bool have_notify;
	const char *notify_side; /* "front-end" or "device" */
	uint64_t kicks, calls;
	bool have_iotlb;
	struct vhost_user_frontend_iotlb_stats iotlb; /* during the run (--iommu) */
	/* This process over the run (every thread: in process, the device's too) */
	uint64_t cpu_ns, vcsw;
	const char *ring; /* negotiated format: "split" or "packed" */
	bool in_order;
};

static void bench_sum(struct bench_result *r, const struct bench_worker *w, unsigned int n)
{
	unsigned int i, b;

	for (i = 0; i < n; i++) {
		r->ios += atomic_load_explicit(&w[i].ios, memory_order_relaxed);
		r->errors += w[i].errors;
		r->lat_sum_ns += w[i].lat_sum_ns;
		if (w[i].lat_max_ns > r->lat_max_ns)
			r->lat_max_ns = w[i].lat_max_ns;
		for (b = 0; b < HIST_BUCKETS; b++)
			r->hist[b] += w[i].hist[b];
	}
}

/* The JSON "transport": how the driver reached the device. */
static const char *bench_transport_name(const struct blk_target *t)
{
	if (t->socket)
		return "vhost-user";
	if (t->pci)
		return "vfio-pci"; /* our virtio-pci driver on a function bound to vfio-pci */
	return opt_transport_name(t->transport);
}

static void bench_print(const struct bench_cfg *c, const struct bench_result *r,
			const struct bench_worker *w)
{
	double iops = r->secs > 0 ? (double)r->ios / r->secs : 0;
	double mib = iops * c->bs / (1024.0 * 1024.0);
	double mean = r->ios ? (double)r->lat_sum_ns / (double)r->ios / 1000.0 : 0;
	double p50 = hist_percentile(r->hist, r->ios, 50, r->lat_max_ns) / 1000.0;
	double p99 = hist_percentile(r->hist, r->ios, 99, r->lat_max_ns) / 1000.0;
	unsigned int i;

	if (c->json) {
		printf("{\"rw\":\"%s\",\"bs\":%u,\"iodepth\":%u,\"queues\":%u,\"seconds\":%.3f,"
		       "\"ios\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"iops\":%.1f,"
		       "\"mib_per_sec\":%.2f,\"lat_mean_us\":%.2f,\"lat_p50_us\":%.2f,"
		       "\"lat_p99_us\":%.2f,\"lat_max_us\":%.2f,\"ring\":\"%s\",\"in_order\":%s,"
		       "\"transport\":\"%s\"",
		       bench_rw_names[c->rw], c->bs, c->iodepth, c->queues, r->secs, r->ios,
		       r->errors, iops, mib, mean, p50, p99, (double)r->lat_max_ns / 1000.0,
		       r->ring, r->in_order ? "true" : "false", bench_transport_name(&c->target));
		if (r->have_notify)
			printf(",\"kicks\":%" PRIu64 ",\"calls\":%" PRIu64
			       ",\"notify_side\":\"%s\"",
			       r->kicks, r->calls, r->notify_side);
		if (r->have_iotlb)
			printf(",\"iotlb_misses\":%" PRIu64 ",\"iotlb_refused\":%" PRIu64
			       ",\"iotlb_updates\":%" PRIu64 ",\"iotlb_invalidations\":%" PRIu64,
			       r->iotlb.misses, r->iotlb.refused, r->iotlb.updates,
			       r->iotlb.invalidations);
		printf(",\"cpu_us_per_io\":%.3f,\"vcsw_per_io\":%.3f}\n",
		       r->ios ? (double)r->cpu_ns / 1000.0 / (double)r->ios : 0,
		       r->ios ? (double)r->vcsw / (double)r->ios : 0);
		return;
	}
	printf("vireo bench blk: %s, bs %u, iodepth %u per queue, %u queue%s, %.1f s, %s ring%s\n",
	       bench_rw_names[c->rw], c->bs, c->iodepth, c->queues, c->queues > 1 ? "s" : "",
	       r->secs, r->ring, r->in_order ? " in order" : "");
	printf("%-6s %12s %12s %10s %10s %10s %10s\n", "queue", "ios", "IOPS", "MiB/s", "mean us",
	       "p99 us", "max us");
	for (i = 0; c->queues > 1 && i < c->queues; i++) {
		uint64_t ios = atomic_load_explicit(&w[i].ios, memory_order_relaxed);
		double q_iops = r->secs > 0 ? (double)ios / r->secs : 0;

		printf("%-6u %12" PRIu64 " %12.0f %10.1f %10.1f %10.1f %10.1f\n", i, ios, q_iops,
		       q_iops * c->bs / (1024.0 * 1024.0),
		       ios ? (double)w[i].lat_sum_ns / (double)ios / 1000.0 : 0,
		       hist_percentile(w[i].hist, ios, 99, w[i].lat_max_ns) / 1000.0,
		       (double)w[i].lat_max_ns / 1000.0);
	}
	printf("%-6s %12" PRIu64 " %12.0f %10.1f %10.1f %10.1f %10.1f\n", "all", r->ios, iops, mib,
	       mean, p99, (double)r->lat_max_ns / 1000.0);
	if (r->have_notify && r->ios)
		printf("notifications (%s): %.3f kicks and %.3f calls per I/O\n", r->notify_side,
		       (double)r->kicks / (double)r->ios, (double)r->calls / (double)r->ios);
	if (r->have_iotlb && r->ios)
		printf("iotlb: %" PRIu64 " misses answered (%.4f per I/O), %" PRIu64
		       " refused, %" PRIu64 " invalidations\n",
		       r->iotlb.misses, (double)r->iotlb.misses / (double)r->ios, r->iotlb.refused,
		       r->iotlb.invalidations);
	if (r->ios)
		printf("this process: %.2f us CPU and %.3f voluntary context switches per I/O\n",
		       (double)r->cpu_ns / 1000.0 / (double)r->ios,
		       (double)r->vcsw / (double)r->ios);
	if (r->errors)
		printf("errors: %" PRIu64 "\n", r->errors);
}

/* bench_wait() - join the workers, with a progress line on a terminal */
static void bench_wait(const struct bench_cfg *c, struct bench_worker *w, uint64_t start)
{
	bool tty = isatty(STDERR_FILENO) && c->seconds > 2 && !c->json;
	uint64_t end = start + (uint64_t)(c->seconds * 1e9);
	unsigned int i;

	while (tty && opt_now_ns() + 1000000000ull < end) {
		uint64_t ios = 0;

		nanosleep(&(struct timespec){.tv_sec = 1}, NULL);
		for (i = 0; i < c->queues; i++)
			ios += atomic_load_explicit(&w[i].ios, memory_order_relaxed);
		fprintf(stderr, "\rbench: %.0f / %.0f s, %" PRIu64 " ios   ",
			(double)(opt_now_ns() - start) / 1e9, c->seconds, ios);
	}
	if (tty)
		fputc('\n', stderr);
	for (i = 0; i < c->queues; i++)
		pthread_join(w[i].thread, NULL);
}

/* bench_start() - one worker per queue; Return: workers started */
static unsigned int bench_start(struct bench_cfg *c, struct blk_stack *s, struct bench_worker *w,
				uint64_t start)
{
	uint64_t blocks = (virtio_blk_capacity(s->blk) << 9) / c->bs;
	bool seq = c->rw == RW_READ || c->rw == RW_WRITE;
	uint64_t slice = seq && blocks >= c->queues ? blocks / c->queues : blocks;
	unsigned int i;

	for (i = 0; i < c->queues; i++) {
		w[i].cfg = c;
		w[i].blk = s->blk;
		w[i].queue = i;
		w[i].nblocks = slice;
		w[i].first_block = slice == blocks ? 0 : i * slice;
		w[i].next_block = w[i].first_block;
		w[i].rng = 0x9e3779b97f4a7c15ull * (i + 1);
		w[i].end_ns = start + (uint64_t)(c->seconds * 1e9);
		if (pthread_create(&w[i].thread, NULL, bench_thread, &w[i]) != 0)
			break;
	}
	return i;
}

/* What the bus negotiated: the figures mean little without the ring format. */
static void bench_note_ring(struct bench_result *r, struct blk_stack *s)
{
	struct virtio_device *vdev = blk_stack_virtio_device(s);

	r->ring = virtio_has_feature(vdev, VIRTIO_F_RING_PACKED) ? "packed" : "split";
	r->in_order = virtio_has_feature(vdev, VIRTIO_F_IN_ORDER);
}

/*
 * The device model's counters, summed over its queues (in process only): kick events its
 * queue threads handled (eventfd wake-ups, however many writes each drained) and used-buffer
 * notifications it sent (call eventfd or MSI-X vector signals). Zero without a model.
 */
static void bench_device_notify(struct blk_stack *s, uint64_t *kicks, uint64_t *calls)
{
	struct vdev *dev;

	*kicks = *calls = 0;
	if (!s->dev || s->front.fe || s->front.pci)
		return;
	dev = vireo_blk_device_vdev(s->dev);
	for (unsigned int i = 0; i < dev->num_queues; i++) {
		*kicks += vdev_queue_counter(&dev->queues[i].kicks);
		*calls += vdev_queue_counter(&dev->queues[i].calls);
	}
}

/* bench_notify_start(), bench_notify_end() - the notifications between the two */
static void bench_notify_start(struct blk_stack *s, struct bench_result *r)
{
	struct vhost_user_frontend_stats st = {0};

	if (s->front.fe) {
		vireo_vhost_user_frontend_stats(s->front.fe, &st);
		vireo_vhost_user_frontend_iotlb_stats(s->front.fe, &r->iotlb);
		r->kicks = st.kicks;
		r->calls = st.calls;
		r->notify_side = "front-end";
	} else {
		bench_device_notify(s, &r->kicks, &r->calls);
		r->notify_side = "device";
	}
	r->have_notify = s->front.fe || (s->dev && !s->front.pci);
}

static void bench_notify_end(struct blk_stack *s, struct bench_result *r)
{
	struct vhost_user_frontend_stats st = {0};
	struct vhost_user_frontend_iotlb_stats tlb;
	uint64_t kicks, calls;

	if (!r->have_notify)
		return;
	if (s->front.fe) {
		vireo_vhost_user_frontend_stats(s->front.fe, &st);
		kicks = st.kicks;
		calls = st.calls;
		/* The IOTLB's during the run (printed with --iommu). */
		vireo_vhost_user_frontend_iotlb_stats(s->front.fe, &tlb);
		r->iotlb.misses = tlb.misses - r->iotlb.misses;
		r->iotlb.refused = tlb.refused - r->iotlb.refused;
		r->iotlb.updates = tlb.updates - r->iotlb.updates;
		r->iotlb.invalidations = tlb.invalidations - r->iotlb.invalidations;
	} else {
		bench_device_notify(s, &kicks, &calls);
	}
	r->kicks = kicks - r->kicks;
	r->calls = calls - r->calls;
}

/*
 * CPU time (user + system) and voluntary context switches of every thread of this process
 * so far: a thread that sleeps for a peer (a register access posted to the model's thread,
 * an eventfd wait) switches once per sleep, however loaded the machine is.
 */
static void bench_rusage(uint64_t *cpu_ns, uint64_t *vcsw)
{
	struct rusage ru;

	*cpu_ns = *vcsw = 0;
	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return;
	*cpu_ns = ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
		  ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
	*vcsw = (uint64_t)ru.ru_nvcsw;
}

/* bench_run() - Return: exit code */
static int bench_run(struct bench_cfg *c, struct blk_stack *s)
{
	struct bench_worker *w = calloc(c->queues, sizeof(*w));
	struct bench_result *r = calloc(1, sizeof(*r));
	uint64_t start, cpu_ns, vcsw;
	unsigned int i, started;
	int ret = 0;

	if (!w || !r) {
		fprintf(stderr, "vireo bench blk: out of memory\n");
		free(w);
		free(r);
		return 1;
	}
	bench_notify_start(s, r);
	bench_note_ring(r, s);
	bench_rusage(&cpu_ns, &vcsw);
	start = opt_now_ns();
	started = bench_start(c, s, w, start);
	if (started < c->queues) {
		fprintf(stderr, "vireo bench blk: cannot start thread %u\n", started);
		c->queues = started;
		ret = 1;
	}
	bench_wait(c, w, start);
	r->secs = (double)(opt_now_ns() - start) / 1e9;
	bench_sum(r, w, c->queues);
	bench_notify_end(s, r);
	r->have_iotlb = s->front.fe && c->target.iommu.on;
	bench_rusage(&r->cpu_ns, &r->vcsw);
	r->cpu_ns -= cpu_ns;
	r->vcsw -= vcsw;
	/*
	 * The partial results first, complete lines flushed, so an error line
	 * never lands inside the JSON or the table when both streams share a
	 * file (stdout is fully buffered there).
	 */
	bench_print(c, r, w);
	fflush(stdout);
	for (i = 0; i < c->queues; i++) {
		if (w[i].err) {
			fprintf(stderr, "vireo bench blk: queue %u: %s failed: %s\n", i,
				w[i].err_what, strerror(-w[i].err));
			ret = 1;
		}
	}
	free(w);
	free(r);
	return ret;
}

int bench_blk_main(int argc, char **argv)
{
	struct bench_cfg c;
	struct blk_stack s;
	size_t dma;
	unsigned int qsize;
	int ret = bench_parse(&c, argc, argv);

	if (ret)
		return ret < 0 ? 0 : ret;
	/* Request buffers plus rings, indirect pools and bounce buffers. */
	dma = (size_t)c.queues * c.iodepth * ((c.bs + 4095u) & ~4095u) +
	      (size_t)c.queues * (2u << 20) + (8u << 20);
	ret = blk_target_open(CMD, &c.target, &s, c.queues, dma);
	if (ret)
		return ret;
	if (virtio_blk_num_queues(s.blk) < c.queues) {
		fprintf(stderr, "vireo bench blk: the device has %u queues; using those\n",
			virtio_blk_num_queues(s.blk));
		c.queues = virtio_blk_num_queues(s.blk);
	}
	qsize = virtio_blk_queue_size(s.blk, 0);
	if (c.iodepth > qsize) {
		fprintf(stderr, "vireo bench blk: iodepth %u capped to the queue size %u\n",
			c.iodepth, qsize);
		c.iodepth = qsize;
	}
	if ((virtio_blk_capacity(s.blk) << 9) < c.bs) {
		blk_stack_close(&s);
		return opt_usage_error(CMD, "--bs is larger than %s", blk_target_name(&c.target));
	}
	ret = bench_run(&c, &s);
	blk_stack_close(&s);
	return ret;
}
