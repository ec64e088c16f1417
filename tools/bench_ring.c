// SPDX-License-Identifier: MIT
/*
 * `vireo bench ring`: a ring alone, split or packed (--format), each side
 * through its format seam (struct virtqueue_ops, struct vring_dev_ops) as
 * the library's users call it. A driver thread (CPU 0) and a
 * device thread (CPU 1) share one ring in plain malloc'd memory that the
 * device reaches through a one-region identity translate. Each op is one
 * buffer: add (one 4 KiB writable element, or a 2-element out+in chain with
 * --indirect on), pop, push with the writable length, get_buf.
 *
 * --poll: both sides spin; the driver still publishes through
 * kick_prepare() and the device still flushes and asks need_notify(), so the
 * suppression logic is exercised (and should say "no" almost always).
 * --poll --notify-checks off: the ring's data path alone, what Linux
 * ringtest's poll mode measures: the driver publishes with virtqueue_publish()
 * (no fence, no read of the device's suppression word, no kick decision) and
 * the device flushes but never asks need_notify().
 * --notify: eventfd kick and call; a side with nothing to do re-enables
 * notifications, re-checks (the enable_cb / enable_notify race) and only
 * then blocks in read().
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vireo/virtqueue.h>
#include <vireo/vring.h>

#include "tools/commands.h"
#include "tools/options.h"

#define CMD "bench ring"
#define BENCH_BUF 4096u
#define BENCH_HDR 16u
#define BENCH_CACHELINE 64u
/* Indirect table slots of 4 descriptors = one cache line each: no false sharing. */
#define BENCH_IMAX 4u

struct bench_cfg {
	unsigned int size;
	unsigned int batch;
	bool event_idx;
	bool indirect;
	bool packed;
	bool in_order;
	bool notify;
	bool notify_checks; /* kick_prepare / need_notify; off: publish and flush only */
	bool json;
	double seconds;
	uint64_t spin_ns;
};

/* The one guest memory region: guest address == host address. */
struct bench_region {
	uint8_t *base;
	size_t len;
};

/* Driver and device state on separate cache lines (no false sharing). */
struct bench {
	const struct bench_cfg *cfg;
	struct bench_region region;
	uint8_t *ring;
	int kick_fd;
	int call_fd;
	_Alignas(BENCH_CACHELINE) struct virtqueue vq;
	struct vring_desc_extra *extra;
	uint64_t ops;
	uint64_t kicks;
	uint64_t ns;
	_Alignas(BENCH_CACHELINE) union vring_dev_ring dev;
	const struct vring_dev_ops *dev_ops;
	void *dev_state;
	uint64_t interrupts;
	int dev_err;
	_Alignas(BENCH_CACHELINE) atomic_bool stop;
	atomic_int ready;
};

static const char bench_usage[] =
	"usage: vireo bench ring [--format split|packed] [--in-order on|off] [--size N]\n"
	"                        [--batch N] [--event-idx on|off] [--indirect on|off]\n"
	"                        [--poll|--notify] [--notify-checks on|off] [--seconds S]\n"
	"                        [--json] [--help]\n"
	"  --format F        ring format, split or packed (default split)\n"
	"  --in-order on|off VIRTIO_F_IN_ORDER (default off)\n"
	"  --size N          queue size 1..32768, a power of two for split (default 256)\n"
	"  --batch N         buffers added per kick and used per flush (default 32)\n"
	"  --event-idx on|off  VIRTIO_F_RING_EVENT_IDX (default on)\n"
	"  --indirect on|off   2-element out+in chains through indirect tables (default off)\n"
	"  --poll            both sides spin (default)\n"
	"  --notify          eventfd kicks and calls, blocking when idle\n"
	"  --notify-checks on|off  kick_prepare and need_notify (default on); off, with\n"
	"                    --poll only: publish and flush alone, the ring's data path\n"
	"                    as Linux ringtest's poll mode measures it\n"
	"  --seconds S       run time (default 2)\n"
	"  --spin-us N       with --notify: poll up to N us before blocking (default 0)\n"
	"  --json            one JSON object per line\n"
	"Driver thread on CPU 0, device thread on CPU 1.\n";

static const struct option bench_options[] = {
	{"format", required_argument, NULL, 'f'},
	{"in-order", required_argument, NULL, 'o'},
	{"size", required_argument, NULL, 's'},
	{"batch", required_argument, NULL, 'b'},
	{"event-idx", required_argument, NULL, 'e'},
	{"indirect", required_argument, NULL, 'i'},
	{"poll", no_argument, NULL, 'p'},
	{"notify", no_argument, NULL, 'n'},
	{"notify-checks", required_argument, NULL, 'c'},
	{"seconds", required_argument, NULL, 't'},
	{"json", no_argument, NULL, 'j'},
	{"spin-us", required_argument, NULL, 'u'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static void *bench_translate(const void *opaque, uint64_t addr, uint64_t len, uint64_t *contig)
{
	const struct bench_region *r = opaque;
	uint64_t base = (uint64_t)(uintptr_t)r->base;
	uint64_t left;

	if (addr < base || addr - base >= r->len || len - 1 > UINT64_MAX - addr)
		return NULL;
	left = r->len - (addr - base);
	*contig = len < left ? len : left;
	return (void *)(uintptr_t)addr;
}

static int bench_on_off(const char *opt, const char *v, bool *out)
{
	if (strcmp(v, "on") == 0)
		*out = true;
	else if (strcmp(v, "off") == 0)
		*out = false;
	else
		return opt_usage_error(CMD, "--%s wants on or off, not '%s'", opt, v);
	return 0;
}

static int bench_parse_num(const char *opt, const char *v, uint64_t min, uint64_t max,
			   unsigned int *out)
{
	uint64_t n;

	if (opt_parse_uint(v, min, max, &n))
		return opt_usage_error(CMD, "--%s wants an integer in %llu..%llu, not '%s'", opt,
				       (unsigned long long)min, (unsigned long long)max, v);
	*out = (unsigned int)n;
	return 0;
}

/* Return: 0 to run, -1 for --help (exit 0), or EXIT_USAGE. */
static int bench_parse(int argc, char **argv, struct bench_cfg *c)
{
	unsigned int spin_us = 0;
	int o, r = 0;

	*c = (struct bench_cfg){
		.size = 256, .batch = 32, .event_idx = true, .notify_checks = true, .seconds = 2.0};
	optind = 1;
	opterr = 0;
	while (r == 0 && (o = getopt_long(argc, argv, "", bench_options, NULL)) != -1) {
		switch (o) {
		case 's':
			r = bench_parse_num("size", optarg, 1, VIRTQ_SPLIT_MAX_SIZE, &c->size);
			break;
		case 'f':
			if (strcmp(optarg, "split") == 0 || strcmp(optarg, "packed") == 0)
				c->packed = optarg[0] == 'p';
			else
				r = opt_usage_error(CMD, "--format wants split or packed, not '%s'",
						    optarg);
			break;
		case 'o':
			r = bench_on_off("in-order", optarg, &c->in_order);
			break;
		case 'b':
			r = bench_parse_num("batch", optarg, 1, VIRTQ_SPLIT_MAX_SIZE, &c->batch);
			break;
		case 'e':
			r = bench_on_off("event-idx", optarg, &c->event_idx);
			break;
		case 'i':
			r = bench_on_off("indirect", optarg, &c->indirect);
			break;
		case 'p':
			c->notify = false;
			break;
		case 'n':
			c->notify = true;
			break;
		case 'c':
			r = bench_on_off("notify-checks", optarg, &c->notify_checks);
			break;
		case 't':
			if (opt_parse_seconds(optarg, &c->seconds) || c->seconds > 3600)
				r = opt_usage_error(
					CMD, "--seconds wants a number in (0, 3600], not '%s'",
					optarg);
			break;
		case 'j':
			c->json = true;
			break;
		case 'u':
			r = bench_parse_num("spin-us", optarg, 0, 1000000, &spin_us);
			c->spin_ns = (uint64_t)spin_us * 1000u;
			break;
		case 'h':
			fputs(bench_usage, stdout);
			return -1;
		default:
			return opt_bad_getopt(CMD, argv);
		}
	}
	if (r == 0 && optind < argc)
		r = opt_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
	/* Without kick decisions a sleeping side would never be woken. */
	if (r == 0 && c->notify && !c->notify_checks)
		r = opt_usage_error(CMD, "--notify-checks off needs --poll (a side that sleeps "
					 "must be woken by a notification)");
	/* §2.7: a split queue's size is a power of two; §2.8 lets a packed one be any. */
	if (r == 0 && !c->packed && (c->size & (c->size - 1)))
		r = opt_usage_error(CMD, "--size must be a power of two for split, not %u",
				    c->size);
	return r;
}

static void bench_pin(unsigned int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		fprintf(stderr, "vireo " CMD ": cannot pin to CPU %u: %s (continuing)\n", cpu,
			strerror(errno));
}

static void bench_fd_signal(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		perror("vireo " CMD ": eventfd write");
}

static void bench_fd_wait(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) != sizeof(v) && errno != EINTR)
		perror("vireo " CMD ": eventfd read");
}

/* Poll @ready for up to spin_ns before a side blocks. Return: true if it became ready. */
static bool bench_spin(struct bench *b, bool (*ready)(struct bench *b))
{
	uint64_t end;

	if (!b->cfg->spin_ns)
		return false;
	end = opt_now_ns() + b->cfg->spin_ns;
	do {
		for (int i = 0; i < 64; i++) {
			if (ready(b))
				return true;
		}
	} while (opt_now_ns() < end && !atomic_load_explicit(&b->stop, memory_order_relaxed));
	return false;
}

static bool bench_drv_ready(struct bench *b)
{
	return virtqueue_more_used(&b->vq);
}

static bool bench_dev_ready(struct bench *b)
{
	return b->dev_ops->has_avail(&b->dev);
}

/* Post buffer @slot: one writable 4 KiB element, or header + 4 KiB via indirect. */
static bool bench_add(struct bench *b, unsigned int slot, uint64_t bufs, uint64_t hdrs)
{
	struct virtio_sg sg[2] = {
		{.addr = hdrs + (uint64_t)slot * BENCH_HDR, .len = BENCH_HDR},
		{.addr = bufs + (uint64_t)slot * BENCH_BUF, .len = BENCH_BUF},
	};
	void *token = (void *)(uintptr_t)(slot + 1);

	if (b->cfg->indirect)
		return virtqueue_add_sgs(&b->vq, sg, 1, 1, token) == 0;
	return virtqueue_add_sgs(&b->vq, &sg[1], 0, 1, token) == 0;
}

static void *bench_driver(void *arg)
{
	struct bench *b = arg;
	const struct bench_cfg *c = b->cfg;
	uint64_t bufs =
		(uint64_t)(uintptr_t)b->region.base + b->region.len - (uint64_t)c->size * BENCH_BUF;
	uint64_t hdrs = bufs - (uint64_t)c->size * BENCH_HDR;
	uint64_t ops = 0, kicks = 0, t0, now, end;
	unsigned int slot = 0;
	uint32_t len;

	bench_pin(0);
	virtqueue_disable_cb(&b->vq);
	while (!atomic_load(&b->ready))
		;
	t0 = now = opt_now_ns();
	end = t0 + (uint64_t)(c->seconds * 1e9);
	for (uint32_t iter = 1;; iter++) {
		unsigned int added = 0, got = 0;

		while (added < c->batch && bench_add(b, slot, bufs, hdrs)) {
			slot = slot + 1 == c->size ? 0 : slot + 1;
			added++;
		}
		if (added && !c->notify_checks) {
			virtqueue_publish(&b->vq);
		} else if (added && virtqueue_kick_prepare(&b->vq)) {
			kicks++;
			if (c->notify)
				bench_fd_signal(b->kick_fd);
		}
		while (virtqueue_get_buf(&b->vq, &len))
			got++;
		ops += got;
		/* The clock costs more than a batch-1 op on a VM: look at it every 256 rounds. */
		if ((iter & 255) == 0 || c->notify) {
			now = opt_now_ns();
			if (now >= end || virtqueue_is_broken(&b->vq) ||
			    atomic_load_explicit(&b->stop, memory_order_relaxed))
				break;
		}
		/* Nothing to do: re-arm the callback, re-check, and only then sleep. */
		if (c->notify && !added && !got) {
			if (bench_spin(b, bench_drv_ready))
				continue;
			if (virtqueue_enable_cb(&b->vq))
				bench_fd_wait(b->call_fd);
			virtqueue_disable_cb(&b->vq);
		}
	}
	b->ns = now - t0;
	b->ops = ops;
	b->kicks = kicks;
	atomic_store(&b->stop, true);
	bench_fd_signal(b->kick_fd);
	return NULL;
}

static void *bench_device(void *arg)
{
	struct bench *b = arg;
	const struct bench_cfg *c = b->cfg;
	const struct vring_dev_ops *ops = b->dev_ops;
	union vring_dev_ring *q = &b->dev;
	struct vring_iov iov[4];
	struct vring_chain ch;
	uint64_t irqs = 0;

	bench_pin(1);
	ops->disable_notify(q);
	atomic_store(&b->ready, 1);
	while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) {
		unsigned int n = 0;
		int r = 0;

		while (n < c->batch && (r = ops->pop(q, &ch, iov, 4)) == 0) {
			r = ops->push(q, ch.head, ch.writable_bytes);
			n++;
		}
		/* -EPROTO/-EIO from pop or push: the ring is broken (no indirect call per round). */
		if (r != 0 && r != -EAGAIN) {
			/* Tell the driver, which may be asleep waiting for a call. */
			b->dev_err = r;
			atomic_store(&b->stop, true);
			bench_fd_signal(b->call_fd);
			break;
		}
		if (n) {
			ops->flush(q);
			if (c->notify_checks && ops->need_notify(q)) {
				irqs++;
				if (c->notify)
					bench_fd_signal(b->call_fd);
			}
			continue;
		}
		/* Idle: ask for kicks, re-check, and only then sleep. */
		if (c->notify) {
			if (bench_spin(b, bench_dev_ready))
				continue;
			if (!ops->enable_notify(q))
				bench_fd_wait(b->kick_fd);
			ops->disable_notify(q);
		}
	}
	b->interrupts = irqs;
	return NULL;
}

static size_t bench_align(size_t v, size_t a)
{
	return (v + a - 1) / a * a;
}

/* The driver side over the region's parts, in the chosen format. Return: 0 or -EINVAL */
static int bench_driver_init(struct bench *b, size_t desc, size_t drv_area, size_t dev_area,
			     size_t pool)
{
	const struct bench_cfg *c = b->cfg;
	uint8_t *m = b->region.base;
	uint64_t gpa = (uint64_t)(uintptr_t)m;

	if (c->packed) {
		struct vring_packed_drv_config pc = {
			.num = (uint16_t)c->size,
			.desc = (struct pvirtq_desc *)(void *)(m + desc),
			.driver_event = (struct pvirtq_event_suppress *)(void *)(m + drv_area),
			.device_event = (struct pvirtq_event_suppress *)(void *)(m + dev_area),
			.extra = b->extra,
			.indirect_pool = (struct pvirtq_desc *)(void *)(m + pool),
			.indirect_pool_addr = gpa + pool,
			.indirect_max = c->indirect ? BENCH_IMAX : 0,
			.event_idx = c->event_idx,
			.in_order = c->in_order,
		};
		return virtqueue_packed_init(&b->vq, &pc);
	}
	struct vring_split_drv_config dc = {
		.num = (uint16_t)c->size,
		.desc = (struct virtq_desc *)(void *)(m + desc),
		.avail = (struct virtq_avail *)(void *)(m + drv_area),
		.used = (struct virtq_used *)(void *)(m + dev_area),
		.extra = b->extra,
		.indirect_pool = (struct virtq_desc *)(void *)(m + pool),
		.indirect_pool_addr = gpa + pool,
		.indirect_max = c->indirect ? BENCH_IMAX : 0,
		.event_idx = c->event_idx,
		.in_order = c->in_order,
	};
	return virtqueue_split_init(&b->vq, &dc);
}

/* Ring, indirect pool, headers and buffers in one region. Return: 0 or -errno */
static int bench_setup(struct bench *b)
{
	const struct bench_cfg *c = b->cfg;
	size_t desc = 0, drv_area, dev_area, pool, end;
	uint16_t num = (uint16_t)c->size;
	uint64_t gpa;

	b->dev_ops = c->packed ? &vring_packed_dev_ops : &vring_split_dev_ops;
	/* Split: avail and used rings; packed: the two 4-byte event suppression areas. */
	drv_area = bench_align(desc + virtq_desc_table_size(num), 4096);
	dev_area = bench_align(drv_area + (c->packed ? 4 : virtq_avail_size(num)), 4096);
	pool = bench_align(dev_area + (c->packed ? 4 : virtq_used_size(num)), 4096);
	end = bench_align(pool + (size_t)c->size * BENCH_IMAX * sizeof(struct virtq_desc), 4096);
	b->region.len = end + (size_t)c->size * (BENCH_HDR + BENCH_BUF);
	b->region.base = aligned_alloc(4096, bench_align(b->region.len, 4096));
	b->extra = calloc(c->size, sizeof(*b->extra));
	b->dev_state = aligned_alloc(BENCH_CACHELINE,
				     bench_align(b->dev_ops->state_size(num), BENCH_CACHELINE));
	if (!b->region.base || !b->extra || !b->dev_state)
		return -ENOMEM;
	memset(b->region.base, 0, b->region.len);
	gpa = (uint64_t)(uintptr_t)b->region.base;
	struct vring_dev_config vc = {
		.num = num,
		.max_num = c->packed ? VIRTQ_PACKED_MAX_SIZE : VIRTQ_SPLIT_MAX_SIZE,
		.desc_addr = gpa + desc,
		.driver_addr = gpa + drv_area,
		.device_addr = gpa + dev_area,
		.position = {.avail_wrap = true, .used_wrap = true},
		.event_idx = c->event_idx,
		.indirect = c->indirect,
		.in_order = c->in_order,
		.mem = {.translate = bench_translate, .opaque = &b->region},
		.state = b->dev_state,
	};
	if (bench_driver_init(b, desc, drv_area, dev_area, pool) || b->dev_ops->init(&b->dev, &vc))
		return -EINVAL;
	b->vq.name = "bench";
	return 0;
}

static void bench_report(const struct bench *b)
{
	const struct bench_cfg *c = b->cfg;
	double secs = (double)b->ns / 1e9;
	double ops = (double)(b->ops ? b->ops : 1);
	char config[128];

	snprintf(config, sizeof(config), "%s%s size=%u batch=%u %s event-idx=%s indirect=%s%s%s",
		 c->packed ? "packed" : "split", c->in_order ? "+in-order" : "", c->size, c->batch,
		 c->notify ? "notify" : "poll", c->event_idx ? "on" : "off",
		 c->indirect ? "on" : "off", c->notify && c->spin_ns ? " spin" : "",
		 c->notify_checks ? "" : " notify-checks=off");
	if (c->json) {
		printf("{\"bench\":\"ring\",\"format\":\"%s\",\"in_order\":%s,\"size\":%u,"
		       "\"batch\":%u,\"mode\":\"%s\","
		       "\"event_idx\":%s,\"indirect\":%s,\"notify_checks\":%s,\"spin_us\":%llu,"
		       "\"seconds\":%.3f,\"ops\":%llu,"
		       "\"ops_per_sec\":%.0f,\"kicks_per_op\":%.6f,\"interrupts_per_op\":%.6f}\n",
		       c->packed ? "packed" : "split", c->in_order ? "true" : "false", c->size,
		       c->batch, c->notify ? "notify" : "poll", c->event_idx ? "true" : "false",
		       c->indirect ? "true" : "false", c->notify_checks ? "true" : "false",
		       (unsigned long long)(c->spin_ns / 1000u), secs, (unsigned long long)b->ops,
		       (double)b->ops / secs, (double)b->kicks / ops, (double)b->interrupts / ops);
		return;
	}
	printf("%-52s %14s %10s %14s\n", "config", "ops/s", "kicks/op", "interrupts/op");
	printf("%-52s %14.0f %10.4f %14.4f\n", config, (double)b->ops / secs,
	       (double)b->kicks / ops, (double)b->interrupts / ops);
}

static int bench_run(struct bench *b)
{
	pthread_t drv, dev;

	b->kick_fd = eventfd(0, EFD_CLOEXEC);
	b->call_fd = eventfd(0, EFD_CLOEXEC);
	if (b->kick_fd < 0 || b->call_fd < 0) {
		perror("vireo " CMD ": eventfd");
		return 1;
	}
	if (pthread_create(&dev, NULL, bench_device, b)) {
		fprintf(stderr, "vireo " CMD ": cannot start the device thread\n");
		return 1;
	}
	if (pthread_create(&drv, NULL, bench_driver, b)) {
		fprintf(stderr, "vireo " CMD ": cannot start the driver thread\n");
		atomic_store(&b->ready, 1);
		atomic_store(&b->stop, true);
		pthread_join(dev, NULL);
		return 1;
	}
	pthread_join(drv, NULL);
	pthread_join(dev, NULL);
	close(b->kick_fd);
	close(b->call_fd);
	if (virtqueue_is_broken(&b->vq) || b->dev_ops->error(&b->dev) != VRING_ERR_NONE) {
		fprintf(stderr, "vireo " CMD ": ring broken: %s\n",
			vring_error_string(b->dev_ops->error(&b->dev)));
		return 1;
	}
	bench_report(b);
	return 0;
}

/* bench_ring_main() - `vireo bench ring`; see tools/commands.h for exit codes */
int bench_ring_main(int argc, char **argv)
{
	struct bench_cfg cfg;
	struct bench *b;
	int r = bench_parse(argc, argv, &cfg);

	if (r < 0)
		return 0;
	if (r)
		return r;
	b = aligned_alloc(BENCH_CACHELINE, bench_align(sizeof(*b), BENCH_CACHELINE));
	if (!b) {
		fprintf(stderr, "vireo " CMD ": out of memory\n");
		return 1;
	}
	memset(b, 0, sizeof(*b));
	b->cfg = &cfg;
	r = bench_setup(b);
	if (r) {
		fprintf(stderr, "vireo " CMD ": setup failed: %s\n", strerror(-r));
		r = 1;
	} else {
		r = bench_run(b);
	}
	free(b->region.base);
	free(b->extra);
	free(b->dev_state);
	free(b);
	return r;
}
