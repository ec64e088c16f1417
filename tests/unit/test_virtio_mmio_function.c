// SPDX-License-Identifier: MIT
/*
 * The virtio-mmio function model (transport/virtio_mmio_function.c) played
 * by a driver made of register accesses: the identity registers, a split
 * ring built by hand for the rng and blk models (data verified), the
 * interrupt line and InterruptStatus/ACK, ConfigGeneration, reset and queue
 * reset; then a hostile driver: every access the spec forbids, every bad
 * queue value, and random accesses, after which the device still works.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <vireo/blk_device.h>
#include <vireo/device.h>
#include <vireo/guest_mem.h>
#include <vireo/log.h>
#include <vireo/rng_device.h>
#include <vireo/spec.h>
#include <vireo/virtio_mmio_function.h>

#define GPA 0x80000000ull
#define RAM (1u << 20)
#define QSIZE 8u
/* Where the hand-made ring lives (guest addresses). */
#define DESC_GPA (GPA + 0x0)
#define AVAIL_GPA (GPA + 0x200)
#define USED_GPA (GPA + 0x400)
#define BUF_GPA (GPA + 0x1000)

struct fx {
	struct guest_mem mem;
	uint8_t *ram;
	struct vireo_mmio_function *fn;
	struct rng_device *rng;
	struct blk_device *blk;
	struct vdev *dev;
	char path[64];
	bool level;	    /* __atomic */
	unsigned int edges; /* __atomic: level raises */
	uint16_t avail_idx;
};

static void fx_irq_set(void *opaque, bool asserted)
{
	struct fx *f = opaque;

	__atomic_store_n(&f->level, asserted, __ATOMIC_RELEASE);
	if (asserted)
		__atomic_fetch_add(&f->edges, 1, __ATOMIC_RELAXED);
}

static const struct vireo_mmio_host_ops fx_host = {.irq_set = fx_irq_set};

static void fx_start(struct fx *f, struct vdev *dev, const struct vireo_mmio_function_options *o)
{
	f->ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(f->ram != MAP_FAILED);
	vireo_guest_mem_init(&f->mem);
	assert_int_equal(vireo_guest_mem_add_region(&f->mem, GPA, RAM, f->ram), 0);
	f->dev = dev;
	assert_int_equal(vireo_mmio_function_new(dev, &f->mem, o, &fx_host, f, &f->fn), 0);
}

static int setup_rng(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_int_equal(vireo_rng_device_new(&f->rng, NULL), 0);
	fx_start(f, vireo_rng_device_vdev(f->rng), NULL);
	*state = f;
	return 0;
}

static int setup_blk(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct blk_device_options o = {.num_queues = 1, .serial = "mmio"};
	int fd;

	strcpy(f->path, "/tmp/vireo-mmio-fn-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1u << 20), 0);
	close(fd);
	o.path = f->path;
	assert_int_equal(vireo_blk_device_new(&f->blk, &o), 0);
	fx_start(f, vireo_blk_device_vdev(f->blk), NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vireo_mmio_function_free(f->fn);
	if (f->rng)
		vireo_rng_device_free(f->rng);
	if (f->blk) {
		vireo_blk_device_free(f->blk);
		unlink(f->path);
	}
	munmap(f->ram, RAM);
	free(f);
	return 0;
}

static uint32_t rd(struct fx *f, uint64_t off)
{
	uint32_t v = 0xdeadbeef;

	assert_int_equal(vireo_mmio_read(f->fn, off, 4, &v), 0);
	return v;
}

static void wr(struct fx *f, uint64_t off, uint32_t v)
{
	assert_int_equal(vireo_mmio_write(f->fn, off, 4, v), 0);
}

static void *gpa(struct fx *f, uint64_t a)
{
	return f->ram + (a - GPA);
}

/* §3.1.1 up to FEATURES_OK with @features (VERSION_1 always). */
static void fx_negotiate(struct fx *f, uint64_t features)
{
	features |= VIRTIO_BIT(VIRTIO_F_VERSION_1);
	wr(f, VIREO_MMIO_STATUS, 0);
	assert_int_equal(rd(f, VIREO_MMIO_STATUS), 0);
	wr(f, VIREO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(f, VIREO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(f, VIREO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(f, VIREO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(f, VIREO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(f, VIREO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(f, VIREO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_true(rd(f, VIREO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
}

/* Queue 0: a zeroed split ring of QSIZE at DESC/AVAIL/USED_GPA + @shift. */
static void fx_queue(struct fx *f, uint64_t shift)
{
	memset(gpa(f, DESC_GPA + shift), 0, 0x600);
	f->avail_idx = 0;
	wr(f, VIREO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(rd(f, VIREO_MMIO_QUEUE_READY), 0);
	assert_true(rd(f, VIREO_MMIO_QUEUE_SIZE_MAX) >= QSIZE);
	wr(f, VIREO_MMIO_QUEUE_SIZE, QSIZE);
	wr(f, VIREO_MMIO_QUEUE_DESC_LOW, (uint32_t)(DESC_GPA + shift));
	wr(f, VIREO_MMIO_QUEUE_DESC_HIGH, (uint32_t)((DESC_GPA + shift) >> 32));
	wr(f, VIREO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(AVAIL_GPA + shift));
	wr(f, VIREO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)((AVAIL_GPA + shift) >> 32));
	wr(f, VIREO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(USED_GPA + shift));
	wr(f, VIREO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)((USED_GPA + shift) >> 32));
	wr(f, VIREO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(f, VIREO_MMIO_QUEUE_READY), 1);
}

static void fx_driver_ok(struct fx *f)
{
	wr(f, VIREO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		   VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(rd(f, VIREO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
}

/* Put a chain of @n descriptors (head 0) on the ring and kick. */
static void fx_post(struct fx *f, uint64_t shift, const struct virtq_desc *d, unsigned int n)
{
	struct virtq_desc *desc = gpa(f, DESC_GPA + shift);
	struct virtq_avail *avail = gpa(f, AVAIL_GPA + shift);

	for (unsigned int i = 0; i < n; i++) {
		desc[i] = d[i];
		if (i + 1 < n) {
			desc[i].flags |= VIRTQ_DESC_F_NEXT;
			desc[i].next = (uint16_t)(i + 1);
		}
	}
	avail->ring[f->avail_idx % QSIZE] = 0;
	/* Release: pairs with the device's acquire of avail->idx. */
	__atomic_store_n(&avail->idx, (uint16_t)(f->avail_idx + 1), __ATOMIC_RELEASE);
	f->avail_idx++;
	wr(f, VIREO_MMIO_QUEUE_NOTIFY, 0);
}

/* Wait (bounded) until used->idx reaches @idx. Return: true if it did. */
static bool fx_wait_used(struct fx *f, uint64_t shift, uint16_t idx, int ms)
{
	struct virtq_used *used = gpa(f, USED_GPA + shift);

	for (int i = 0; i < ms; i++) {
		/* Acquire: pairs with the device's release store of used->idx. */
		if (__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE) == idx)
			return true;
		usleep(1000);
	}
	return false;
}

static bool fx_wait_level(struct fx *f, bool want)
{
	for (int i = 0; i < 2000; i++) {
		if (__atomic_load_n(&f->level, __ATOMIC_ACQUIRE) == want)
			return true;
		usleep(1000);
	}
	return false;
}

/* D-MMIO-01/02: identity, and what an unused queue or SHM id reads. */
static void test_identity(void **state)
{
	struct fx *f = *state;

	assert_int_equal(rd(f, VIREO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd(f, VIREO_MMIO_VERSION_REG), 2);
	assert_int_equal(rd(f, VIREO_MMIO_DEVICE_ID), VIRTIO_ID_ENTROPY);
	wr(f, VIREO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_true(rd(f, VIREO_MMIO_DEVICE_FEATURES) & 1u); /* VERSION_1 is bit 32 */
	assert_true(rd(f, VIREO_MMIO_DEVICE_FEATURES) & (1u << (VIRTIO_F_NOTIFICATION_DATA - 32)));
	wr(f, VIREO_MMIO_DEVICE_FEATURES_SEL, 7);
	assert_int_equal(rd(f, VIREO_MMIO_DEVICE_FEATURES), 0);
	wr(f, VIREO_MMIO_QUEUE_SEL, 1); /* rng has one queue */
	assert_int_equal(rd(f, VIREO_MMIO_QUEUE_SIZE_MAX), 0);
	assert_int_equal(rd(f, VIREO_MMIO_QUEUE_READY), 0);
	wr(f, VIREO_MMIO_SHM_SEL, 0);
	assert_int_equal(rd(f, VIREO_MMIO_SHM_LEN_LOW), 0xffffffffu);
	assert_int_equal(rd(f, VIREO_MMIO_SHM_BASE_HIGH), 0xffffffffu);
	assert_int_equal(vireo_mmio_function_size(f->fn), 0x100);
	assert_true(vireo_mmio_function_notify_fd(f->fn, 0) >= 0);
	assert_int_equal(vireo_mmio_function_notify_fd(f->fn, 1), -EINVAL);
}

/*
 * rng: one request end to end; D-MMIO-03: bit 0 from the completion until
 * ACK, bit 1 never; D-MMIO-04: a reset clears a pending interrupt and QueueReady.
 */
static void test_rng_request_interrupt_reset(void **state)
{
	struct fx *f = *state;
	struct virtq_desc d = {.addr = BUF_GPA, .len = 64, .flags = VIRTQ_DESC_F_WRITE};
	struct virtq_used *used = gpa(f, USED_GPA);
	static const uint8_t zero[64];

	fx_negotiate(f, 0);
	fx_queue(f, 0);
	fx_driver_ok(f);
	assert_int_equal(rd(f, VIREO_MMIO_INTERRUPT_STATUS), 0);
	memset(gpa(f, BUF_GPA), 0, 64);
	fx_post(f, 0, &d, 1);
	assert_true(fx_wait_used(f, 0, 1, 2000));
	assert_int_equal(used->ring[0].len, 64);
	assert_memory_not_equal(gpa(f, BUF_GPA), zero, 64);
	assert_true(fx_wait_level(f, true));
	assert_int_equal(rd(f, VIREO_MMIO_INTERRUPT_STATUS), VIREO_MMIO_INT_VRING);
	/* Held until acknowledged. */
	usleep(20000);
	assert_int_equal(rd(f, VIREO_MMIO_INTERRUPT_STATUS), VIREO_MMIO_INT_VRING);
	assert_true(__atomic_load_n(&f->level, __ATOMIC_ACQUIRE));
	wr(f, VIREO_MMIO_INTERRUPT_ACK, VIREO_MMIO_INT_VRING);
	assert_int_equal(rd(f, VIREO_MMIO_INTERRUPT_STATUS), 0);
	assert_false(__atomic_load_n(&f->level, __ATOMIC_ACQUIRE));

	/* A second completion left pending, then reset. */
	fx_post(f, 0, &d, 1);
	assert_true(fx_wait_used(f, 0, 2, 2000));
	assert_true(fx_wait_level(f, true));
	wr(f, VIREO_MMIO_STATUS, 0);
	assert_int_equal(rd(f, VIREO_MMIO_STATUS), 0);
	assert_int_equal(rd(f, VIREO_MMIO_INTERRUPT_STATUS), 0);
	assert_false(__atomic_load_n(&f->level, __ATOMIC_ACQUIRE));
	wr(f, VIREO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(rd(f, VIREO_MMIO_QUEUE_READY), 0);
	assert_int_equal(rd(f, VIREO_MMIO_QUEUE_RESET), 0);
}

/* NOTIFICATION_DATA: the low 16 bits name the queue; the rest is the driver's position. */
static void test_rng_notification_data(void **state)
{
	struct fx *f = *state;
	struct virtq_desc d = {.addr = BUF_GPA, .len = 16, .flags = VIRTQ_DESC_F_WRITE};
	struct virtq_avail *avail = gpa(f, AVAIL_GPA);

	fx_negotiate(f, VIRTIO_BIT(VIRTIO_F_NOTIFICATION_DATA));
	fx_queue(f, 0);
	fx_driver_ok(f);
	*(struct virtq_desc *)gpa(f, DESC_GPA) = d;
	avail->ring[0] = 0;
	__atomic_store_n(&avail->idx, 1, __ATOMIC_RELEASE);
	wr(f, VIREO_MMIO_QUEUE_NOTIFY, (1u << 16) | 0u);
	assert_true(fx_wait_used(f, 0, 1, 2000));
	/* Queue 1 does not exist, whatever the upper bits say. */
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_QUEUE_NOTIFY, 4, (1u << 16) | 1u),
			 -EINVAL);
}

/* D-MMIO-06: with QueueReady 0 the device does not touch the ring, kicked or not. */
static void test_ready_gate(void **state)
{
	struct fx *f = *state;
	struct virtq_desc d = {.addr = BUF_GPA, .len = 16, .flags = VIRTQ_DESC_F_WRITE};
	struct virtq_avail *avail = gpa(f, AVAIL_GPA);
	struct virtq_used *used = gpa(f, USED_GPA);

	fx_negotiate(f, 0);
	memset(gpa(f, DESC_GPA), 0, 0x600);
	wr(f, VIREO_MMIO_QUEUE_SEL, 0);
	wr(f, VIREO_MMIO_QUEUE_SIZE, QSIZE);
	wr(f, VIREO_MMIO_QUEUE_DESC_LOW, (uint32_t)DESC_GPA);
	wr(f, VIREO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(DESC_GPA >> 32));
	wr(f, VIREO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)AVAIL_GPA);
	wr(f, VIREO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(AVAIL_GPA >> 32));
	wr(f, VIREO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)USED_GPA);
	wr(f, VIREO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(USED_GPA >> 32));
	fx_driver_ok(f);
	*(struct virtq_desc *)gpa(f, DESC_GPA) = d;
	avail->ring[0] = 0;
	__atomic_store_n(&avail->idx, 1, __ATOMIC_RELEASE);
	wr(f, VIREO_MMIO_QUEUE_NOTIFY, 0);
	assert_false(fx_wait_used(f, 0, 1, 100));
	assert_int_equal(used->flags, 0);
	assert_int_equal(rd(f, VIREO_MMIO_INTERRUPT_STATUS), 0);
}

/* D-MMIO-07/08: QueueReset reads 0 after enable; 1 resets; both read 0; the queue restarts. */
static void test_queue_reset(void **state)
{
	struct fx *f = *state;
	struct virtq_desc d = {.addr = BUF_GPA, .len = 16, .flags = VIRTQ_DESC_F_WRITE};

	fx_negotiate(f, VIRTIO_BIT(VIRTIO_F_RING_RESET));
	fx_queue(f, 0);
	fx_driver_ok(f);
	assert_int_equal(rd(f, VIREO_MMIO_QUEUE_RESET), 0);
	fx_post(f, 0, &d, 1);
	assert_true(fx_wait_used(f, 0, 1, 2000));
	wr(f, VIREO_MMIO_QUEUE_SEL, 0);
	wr(f, VIREO_MMIO_QUEUE_RESET, 1);
	assert_int_equal(rd(f, VIREO_MMIO_QUEUE_RESET), 0);
	assert_int_equal(rd(f, VIREO_MMIO_QUEUE_READY), 0);
	/* A new ring elsewhere, from index 0 again. */
	fx_queue(f, 0x8000);
	fx_post(f, 0x8000, &d, 1);
	assert_true(fx_wait_used(f, 0x8000, 1, 2000));
	assert_int_equal(rd(f, VIREO_MMIO_QUEUE_RESET), 0);
}

static void test_queue_reset_not_negotiated(void **state)
{
	struct fx *f = *state;

	fx_negotiate(f, 0);
	fx_queue(f, 0);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_QUEUE_RESET, 4, 1), -EINVAL);
	assert_int_equal(rd(f, VIREO_MMIO_QUEUE_READY), 1);
}

static void fx_config_changed(struct vdev *dev, void *arg)
{
	(void)arg;
	vireo_vdev_config_changed(dev);
}

/* blk: config through 8/16/32-bit reads; ConfigGeneration moves (D-MMIO-05) with bit 1. */
static void test_blk_config_generation(void **state)
{
	struct fx *f = *state;
	uint32_t v, gen;

	fx_negotiate(f, 0);
	/* capacity: 1 MiB = 2048 sectors, two aligned 32-bit reads. */
	assert_int_equal(rd(f, VIREO_MMIO_CONFIG + 0), 2048);
	assert_int_equal(rd(f, VIREO_MMIO_CONFIG + 4), 0);
	assert_int_equal(vireo_mmio_read(f->fn, VIREO_MMIO_CONFIG + 0, 2, &v), 0);
	assert_int_equal(v, 2048);
	assert_int_equal(vireo_mmio_read(f->fn, VIREO_MMIO_CONFIG + 1, 1, &v), 0);
	assert_int_equal(v, 2048 >> 8);
	/* Misaligned 16-bit and 32-bit config accesses are refused. */
	assert_int_equal(vireo_mmio_read(f->fn, VIREO_MMIO_CONFIG + 1, 2, &v), -EINVAL);
	assert_int_equal(vireo_mmio_read(f->fn, VIREO_MMIO_CONFIG + 2, 4, &v), -EINVAL);
	/* Beyond the model's config space; and 4 GiB on, which must not wrap back into it. */
	assert_int_equal(vireo_mmio_read(f->fn, VIREO_MMIO_CONFIG + 0x1000, 4, &v), -EINVAL);
	assert_int_equal(v, 0);
	assert_int_equal(vireo_mmio_read(f->fn, (1ull << 32) + VIREO_MMIO_CONFIG, 4, &v), -EINVAL);
	assert_int_equal(v, 0);
	assert_int_equal(vireo_mmio_read(f->fn, UINT64_MAX - 3, 4, &v), -EINVAL);
	/* blk's config is read-only: a write is refused and changes nothing. */
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_CONFIG, 4, 7), -EINVAL);
	assert_int_equal(rd(f, VIREO_MMIO_CONFIG + 0), 2048);
	fx_queue(f, 0);
	fx_driver_ok(f);
	gen = rd(f, VIREO_MMIO_CONFIG_GENERATION);
	assert_int_equal(rd(f, VIREO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(vireo_mmio_function_run_in_device(f->fn, fx_config_changed, NULL), 0);
	assert_int_not_equal(rd(f, VIREO_MMIO_CONFIG_GENERATION), gen);
	assert_true(fx_wait_level(f, true));
	assert_int_equal(rd(f, VIREO_MMIO_INTERRUPT_STATUS), VIREO_MMIO_INT_CONFIG);
	wr(f, VIREO_MMIO_INTERRUPT_ACK, VIREO_MMIO_INT_CONFIG);
	assert_false(__atomic_load_n(&f->level, __ATOMIC_ACQUIRE));
}

/* blk: a write then a read of sector 3 through the hand-made ring; the image holds it. */
static void test_blk_write_read(void **state)
{
	struct fx *f = *state;
	struct vireo_blk_outhdr *h = gpa(f, BUF_GPA);
	uint8_t *data = gpa(f, BUF_GPA + 0x100), *st = gpa(f, BUF_GPA + 0x400), back[512];
	struct virtq_desc chain[3] = {
		{.addr = BUF_GPA, .len = sizeof(*h)},
		{.addr = BUF_GPA + 0x100, .len = 512},
		{.addr = BUF_GPA + 0x400, .len = 1, .flags = VIRTQ_DESC_F_WRITE},
	};
	int fd;

	fx_negotiate(f, 0);
	fx_queue(f, 0);
	fx_driver_ok(f);
	*h = (struct vireo_blk_outhdr){.type = VIRTIO_BLK_T_OUT, .sector = 3};
	for (unsigned int i = 0; i < 512; i++)
		data[i] = (uint8_t)(i * 7 + 1);
	*st = 0xff;
	fx_post(f, 0, chain, 3);
	assert_true(fx_wait_used(f, 0, 1, 2000));
	assert_int_equal(*st, VIRTIO_BLK_S_OK);
	fd = open(f->path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, back, 512, 3 * 512), 512);
	close(fd);
	assert_memory_equal(back, data, 512);
	/* Read it back into fresh memory. */
	*h = (struct vireo_blk_outhdr){.type = VIRTIO_BLK_T_IN, .sector = 3};
	memset(data, 0, 512);
	chain[1].flags = VIRTQ_DESC_F_WRITE;
	*st = 0xff;
	fx_post(f, 0, chain, 3);
	assert_true(fx_wait_used(f, 0, 2, 2000));
	assert_int_equal(*st, VIRTIO_BLK_S_OK);
	assert_memory_equal(back, data, 512);
}

/* ---- a hostile driver ---- */

static int rd_ret(struct fx *f, uint64_t off, unsigned int size, uint32_t *v)
{
	*v = 0xdeadbeef;
	return vireo_mmio_read(f->fn, off, size, v);
}

/* Width, alignment, direction, unknown offsets: a driver breaking the register rules. */
static void test_hostile_accesses(void **state)
{
	struct fx *f = *state;
	static const uint64_t ro[] = {VIREO_MMIO_MAGIC_VALUE,	   VIREO_MMIO_VERSION_REG,
				      VIREO_MMIO_DEVICE_ID,	   VIREO_MMIO_VENDOR_ID,
				      VIREO_MMIO_DEVICE_FEATURES,  VIREO_MMIO_QUEUE_SIZE_MAX,
				      VIREO_MMIO_INTERRUPT_STATUS, VIREO_MMIO_SHM_LEN_LOW,
				      VIREO_MMIO_CONFIG_GENERATION};
	static const uint64_t wo[] = {VIREO_MMIO_DEVICE_FEATURES_SEL, VIREO_MMIO_DRIVER_FEATURES,
				      VIREO_MMIO_DRIVER_FEATURES_SEL, VIREO_MMIO_QUEUE_SEL,
				      VIREO_MMIO_QUEUE_SIZE,	      VIREO_MMIO_QUEUE_NOTIFY,
				      VIREO_MMIO_INTERRUPT_ACK,	      VIREO_MMIO_QUEUE_DESC_LOW,
				      VIREO_MMIO_QUEUE_DEVICE_HIGH,   VIREO_MMIO_SHM_SEL};
	uint32_t v;
	unsigned int i;

	assert_int_equal(rd_ret(f, VIREO_MMIO_MAGIC_VALUE, 2, &v), -EINVAL);
	assert_int_equal(v, 0);
	assert_int_equal(rd_ret(f, VIREO_MMIO_MAGIC_VALUE, 1, &v), -EINVAL);
	assert_int_equal(rd_ret(f, VIREO_MMIO_MAGIC_VALUE, 8, &v), -EINVAL);
	assert_int_equal(rd_ret(f, VIREO_MMIO_MAGIC_VALUE + 2, 4, &v), -EINVAL);
	assert_int_equal(rd_ret(f, 0x0f8, 4, &v), -EINVAL);
	assert_int_equal(rd_ret(f, 0x0c4, 4, &v), -EINVAL);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_STATUS, 1, 1), -EINVAL);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_STATUS + 1, 4, 1), -EINVAL);
	assert_int_equal(vireo_mmio_write(f->fn, 0x0e0, 4, 1), -EINVAL);
	assert_int_equal(rd(f, VIREO_MMIO_STATUS), 0);
	for (i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		assert_int_equal(vireo_mmio_write(f->fn, ro[i], 4, 0x12345678), -EINVAL);
	for (i = 0; i < sizeof(wo) / sizeof(wo[0]); i++) {
		assert_int_equal(rd_ret(f, wo[i], 4, &v), -EINVAL);
		assert_int_equal(v, 0);
	}
	/* Nothing changed: the identity still reads right. */
	assert_int_equal(rd(f, VIREO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd(f, VIREO_MMIO_VERSION_REG), 2);
	assert_int_equal(rd(f, VIREO_MMIO_DEVICE_ID), VIRTIO_ID_ENTROPY);
	/* Config: a width no field has; rng has no config at all. */
	assert_int_equal(rd_ret(f, VIREO_MMIO_CONFIG, 3, &v), -EINVAL);
	assert_int_equal(rd_ret(f, VIREO_MMIO_CONFIG, 4, &v), -EINVAL);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_CONFIG, 1, 1), -EINVAL);
}

/* Out-of-range QueueSel, bad QueueReady values, InterruptACK of undefined bits. */
static void test_hostile_selectors(void **state)
{
	struct fx *f = *state;

	fx_negotiate(f, 0);
	wr(f, VIREO_MMIO_QUEUE_SEL, 0xffffffffu);
	assert_int_equal(rd(f, VIREO_MMIO_QUEUE_SIZE_MAX), 0);
	assert_int_equal(rd(f, VIREO_MMIO_QUEUE_READY), 0);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_QUEUE_SIZE, 4, 8), -EINVAL);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_QUEUE_READY, 4, 1), -EINVAL);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_QUEUE_DESC_LOW, 4, 0), -EINVAL);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_QUEUE_NOTIFY, 4, 7), -EINVAL);
	fx_queue(f, 0);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_QUEUE_READY, 4, 2), -EINVAL);
	assert_int_equal(rd(f, VIREO_MMIO_QUEUE_READY), 1);
	/* Size and addresses written while ready (a driver rule broken): ignored. */
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_QUEUE_SIZE, 4, 4), -EINVAL);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_QUEUE_DESC_LOW, 4, 0), -EINVAL);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_INTERRUPT_ACK, 4, 0x80), -EINVAL);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_STATUS, 4, 0x100), -EINVAL);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_DRIVER_FEATURES_SEL, 4, 4), 0);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_DRIVER_FEATURES, 4, 1), -EINVAL);
	/* The queue still works. */
	fx_driver_ok(f);
	{
		struct virtq_desc d = {.addr = BUF_GPA, .len = 16, .flags = VIRTQ_DESC_F_WRITE};

		fx_post(f, 0, &d, 1);
		assert_true(fx_wait_used(f, 0, 1, 2000));
	}
}

struct fx_features {
	uint64_t driver, acked;
};

static void fx_read_features(struct vdev *dev, void *arg)
{
	struct fx_features *r = arg;

	r->driver = dev->driver_features;
	r->acked = dev->acked_features;
}

/* Feature writes after FEATURES_OK are ignored: the negotiated set stays. */
static void test_hostile_features_after_ok(void **state)
{
	struct fx *f = *state;
	struct fx_features before, after;

	fx_negotiate(f, VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
	assert_int_equal(vireo_mmio_function_run_in_device(f->fn, fx_read_features, &before), 0);
	wr(f, VIREO_MMIO_DRIVER_FEATURES_SEL, 0);
	assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_DRIVER_FEATURES, 4, 0), -EINVAL);
	assert_int_equal(vireo_mmio_function_run_in_device(f->fn, fx_read_features, &after), 0);
	assert_true(after.acked == before.acked && after.driver == before.driver);
	assert_true(after.acked & VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
	/* A status that clears bits is refused by the core's machine. */
	wr(f, VIREO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	assert_true(rd(f, VIREO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	/* Accepting an unoffered feature: FEATURES_OK is not kept. */
	wr(f, VIREO_MMIO_STATUS, 0);
	wr(f, VIREO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(f, VIREO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(f, VIREO_MMIO_DRIVER_FEATURES, 1u | (1u << (41 - 32)));
	wr(f, VIREO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_false(rd(f, VIREO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
}

/* QueueReady with a bad size or a ring outside guest memory: NEEDS_RESET, not ready. */
static void fx_bad_queue(struct fx *f, uint32_t num, uint64_t desc)
{
	fx_negotiate(f, 0);
	wr(f, VIREO_MMIO_QUEUE_SEL, 0);
	wr(f, VIREO_MMIO_QUEUE_SIZE, num);
	wr(f, VIREO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(f, VIREO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(f, VIREO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)AVAIL_GPA);
	wr(f, VIREO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(AVAIL_GPA >> 32));
	wr(f, VIREO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)USED_GPA);
	wr(f, VIREO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(USED_GPA >> 32));
	wr(f, VIREO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(f, VIREO_MMIO_QUEUE_READY), 0);
	assert_true(rd(f, VIREO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	/* Nothing moves while NEEDS_RESET stands: good rings stay off, DRIVER_OK is not taken. */
	wr(f, VIREO_MMIO_QUEUE_SIZE, QSIZE);
	wr(f, VIREO_MMIO_QUEUE_DESC_LOW, (uint32_t)DESC_GPA);
	wr(f, VIREO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(DESC_GPA >> 32));
	wr(f, VIREO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(f, VIREO_MMIO_QUEUE_READY), 0);
	wr(f, VIREO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		   VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(rd(f, VIREO_MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK, 0);
	/* Only a reset helps; afterwards the device is fresh. */
	wr(f, VIREO_MMIO_STATUS, 0);
	assert_int_equal(rd(f, VIREO_MMIO_STATUS), 0);
}

/*
 * §3.1.1: virtqueues are set up after FEATURES_OK. QueueReady 1 before it
 * (at status 0, or with DRIVER set) is refused and the queue stays off, so
 * the negotiation that follows is not blocked by a ring running without
 * features; then the queue is set up and served as usual.
 */
static void test_hostile_ready_before_features_ok(void **state)
{
	struct fx *f = *state;
	struct virtq_desc d = {.addr = BUF_GPA, .len = 16, .flags = VIRTQ_DESC_F_WRITE};

	for (int step = 0; step < 2; step++) {
		wr(f, VIREO_MMIO_STATUS, 0);
		if (step)
			wr(f, VIREO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
		wr(f, VIREO_MMIO_QUEUE_SEL, 0);
		wr(f, VIREO_MMIO_QUEUE_SIZE, QSIZE);
		wr(f, VIREO_MMIO_QUEUE_DESC_LOW, (uint32_t)DESC_GPA);
		wr(f, VIREO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)AVAIL_GPA);
		wr(f, VIREO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)USED_GPA);
		assert_int_equal(vireo_mmio_write(f->fn, VIREO_MMIO_QUEUE_READY, 4, 1), -EINVAL);
		assert_int_equal(rd(f, VIREO_MMIO_QUEUE_READY), 0);
		assert_int_equal(rd(f, VIREO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
	}
	fx_negotiate(f, 0);
	fx_queue(f, 0);
	fx_driver_ok(f);
	fx_post(f, 0, &d, 1);
	assert_true(fx_wait_used(f, 0, 1, 2000));
}

static void test_hostile_queue_values(void **state)
{
	struct fx *f = *state;
	uint32_t max;

	wr(f, VIREO_MMIO_QUEUE_SEL, 0);
	max = rd(f, VIREO_MMIO_QUEUE_SIZE_MAX);
	fx_bad_queue(f, 0, DESC_GPA);
	fx_bad_queue(f, max * 2, DESC_GPA);
	fx_bad_queue(f, 3, DESC_GPA);		/* split: a power of two (§2.7) */
	fx_bad_queue(f, QSIZE, 0x1000);		/* below guest memory */
	fx_bad_queue(f, QSIZE, GPA + RAM - 16); /* runs off its end */
	fx_bad_queue(f, QSIZE, DESC_GPA + 8);	/* misaligned descriptor table */
	/* After all that, a correct driver still gets served. */
	fx_negotiate(f, 0);
	fx_queue(f, 0);
	fx_driver_ok(f);
	{
		struct virtq_desc d = {.addr = BUF_GPA, .len = 16, .flags = VIRTQ_DESC_F_WRITE};

		fx_post(f, 0, &d, 1);
		assert_true(fx_wait_used(f, 0, 1, 2000));
	}
}

/* Random accesses: never a crash, and a reset brings the device back. */
static void test_hostile_random(void **state)
{
	struct fx *f = *state;
	static const unsigned int sizes[] = {1, 2, 3, 4, 8};
	uint32_t seed = 99, v;
	struct virtq_desc d = {.addr = BUF_GPA, .len = 16, .flags = VIRTQ_DESC_F_WRITE};

	for (unsigned int i = 0; i < 20000; i++) {
		uint64_t off;
		unsigned int size;

		seed = seed * 1103515245u + 12345u;
		off = (seed >> 8) % 0x140;
		size = sizes[(seed >> 3) % 5];
		seed = seed * 1103515245u + 12345u;
		/* Mostly aligned words, so that registers really get hit. */
		if (seed & 1)
			off &= ~3ull, size = 4;
		if (off == VIREO_MMIO_STATUS && (seed & 0x30))
			continue; /* let the machine get somewhere between resets */
		if (seed & 2)
			(void)vireo_mmio_read(f->fn, off, size, &v);
		else
			(void)vireo_mmio_write(f->fn, off, size,
					       (seed & 4) ? seed >> 16 : seed & 7);
	}
	fx_negotiate(f, 0);
	fx_queue(f, 0);
	fx_driver_ok(f);
	fx_post(f, 0, &d, 1);
	assert_true(fx_wait_used(f, 0, 1, 2000));
}

#define MMIO_HOSTILE_DRIVER_TESTS                                                                 \
	cmocka_unit_test_setup_teardown(test_hostile_accesses, setup_rng, teardown),              \
		cmocka_unit_test_setup_teardown(test_hostile_selectors, setup_rng, teardown),     \
		cmocka_unit_test_setup_teardown(test_hostile_features_after_ok, setup_rng,        \
						teardown),                                        \
		cmocka_unit_test_setup_teardown(test_hostile_queue_values, setup_rng, teardown),  \
		cmocka_unit_test_setup_teardown(test_hostile_ready_before_features_ok, setup_rng, \
						teardown),                                        \
		cmocka_unit_test_setup_teardown(test_hostile_random, setup_rng, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity, setup_rng, teardown),
		cmocka_unit_test_setup_teardown(test_rng_request_interrupt_reset, setup_rng,
						teardown),
		cmocka_unit_test_setup_teardown(test_rng_notification_data, setup_rng, teardown),
		cmocka_unit_test_setup_teardown(test_ready_gate, setup_rng, teardown),
		cmocka_unit_test_setup_teardown(test_queue_reset, setup_rng, teardown),
		cmocka_unit_test_setup_teardown(test_queue_reset_not_negotiated, setup_rng,
						teardown),
		cmocka_unit_test_setup_teardown(test_blk_config_generation, setup_blk, teardown),
		cmocka_unit_test_setup_teardown(test_blk_write_read, setup_blk, teardown),
		MMIO_HOSTILE_DRIVER_TESTS,
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
