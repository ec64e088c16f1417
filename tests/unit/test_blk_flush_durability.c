// SPDX-License-Identifier: MIT
/*
 * FLUSH and write durability of devices/blk (D-BLK-19), observed from outside the
 * process: the image is a loop block device, and the block layer counts the
 * flushes it receives (/sys/block/loopN/stat, "flush I/Os", field 16). The
 * device submits through io_uring, so counting libc calls would see nothing.
 *  - FLUSH negotiated: a FLUSH request reaches the disk as a flush
 *    (IORING_OP_FSYNC); a plain write does not.
 *  - FLUSH offered, not negotiated (§5.2.6.2): each write, and each
 *    WRITE_ZEROES, is stable at completion, so each carries its own flush.
 * Needs root and the loop driver (/dev/loop-control): otherwise SKIP.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/loop.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <vireo/blk_device.h>
#include <vireo/device.h>

#include "tests/lib/blk_harness.h"

/* field 16 of /sys/block/<dev>/stat (Documentation/block/stat.rst, since 5.5) */
#define STAT_FLUSH_IOS 16
#define LOOP_ATTEMPTS 16

struct loopdev {
	int fd;
	char path[32];
	char stat[64];
};

/* The block layer's flush count for @l; -1 if the kernel does not keep one. */
static long long loop_flushes(const struct loopdev *l)
{
	unsigned long long v[STAT_FLUSH_IOS];
	FILE *f = fopen(l->stat, "re");
	int n = 0;

	assert_non_null(f);
	while (n < STAT_FLUSH_IOS && fscanf(f, "%llu", &v[n]) == 1)
		n++;
	fclose(f);
	return n < STAT_FLUSH_IOS ? -1 : (long long)v[STAT_FLUSH_IOS - 1];
}

/* Configure a free loop device over @backing; another process may race us to it. */
static void loop_configure(struct loopdev *l, int ctl, int backing)
{
	struct loop_config cfg = {.fd = (uint32_t)backing};

	/* autoclear: the device goes away with its last user, even if we crash */
	cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
	for (int i = 0; i < LOOP_ATTEMPTS; i++) {
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);

		assert_true(n >= 0);
		snprintf(l->path, sizeof(l->path), "/dev/loop%d", n);
		snprintf(l->stat, sizeof(l->stat), "/sys/block/loop%d/stat", n);
		l->fd = open(l->path, O_RDWR | O_CLOEXEC);
		assert_true(l->fd >= 0);
		if (ioctl(l->fd, LOOP_CONFIGURE, &cfg) == 0)
			return;
		assert_int_equal(errno, EBUSY);
		close(l->fd);
	}
	fail_msg("no free loop device after %d attempts", LOOP_ATTEMPTS);
}

/* Return: true with @l attached to a fresh 1 MiB file; false: SKIP printed. */
static bool loop_attach(struct loopdev *l)
{
	char backing_path[] = "/tmp/vireo-flush-XXXXXX";
	int ctl, backing;

	if (geteuid() != 0) {
		printf("# SKIP: needs root to attach a loop device\n");
		return false;
	}
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		printf("# SKIP: no loop driver (/dev/loop-control: %s)\n", strerror(errno));
		return false;
	}
	backing = mkstemp(backing_path);
	assert_true(backing >= 0);
	unlink(backing_path);
	assert_int_equal(ftruncate(backing, BLK_HARNESS_IMG_SIZE), 0);
	loop_configure(l, ctl, backing);
	close(backing);
	close(ctl);
	if (loop_flushes(l) < 0) {
		printf("# SKIP: %s has no flush counter (kernel before 5.5)\n", l->stat);
		close(l->fd);
		return false;
	}
	return true;
}

static uint8_t write_sectors(struct blk_harness *h, uint64_t sector, uint8_t fill)
{
	uint8_t data[4096];

	memset(data, fill, sizeof(data));
	return blk_harness_simple(h, VIRTIO_BLK_T_OUT, sector, data, sizeof(data), 0, NULL);
}

/* FLUSH negotiated: FLUSH → a block-layer flush; a plain write → none. */
static void test_flush_reaches_the_disk(void **state)
{
	struct blk_harness h;
	struct loopdev l;
	long long before, after_write, after_flush;
	uint8_t *img;

	(void)state;
	if (!loop_attach(&l))
		skip();
	blk_harness_init_on(&h, NULL, 0, l.path, 0);
	assert_true(vdev_has_feature(h.dev, VIRTIO_BLK_F_FLUSH));
	for (unsigned int i = 0; i < 3; i++) {
		before = loop_flushes(&l);
		assert_int_equal(write_sectors(&h, 8 + 8 * i, (uint8_t)(0x30 + i)),
				 VIRTIO_BLK_S_OK);
		after_write = loop_flushes(&l);
		assert_int_equal(blk_harness_simple(&h, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0, NULL),
				 VIRTIO_BLK_S_OK);
		after_flush = loop_flushes(&l);
		printf("# %s flushes: %lld before, %lld after a write, %lld after FLUSH\n", l.path,
		       before, after_write, after_flush);
		assert_int_equal(after_write, before);
		assert_true(after_flush > after_write);
	}
	img = blk_harness_image_read(&h);
	assert_int_equal(img[8 * 512], 0x30);
	assert_int_equal(img[24 * 512 + 4095], 0x32);
	free(img);
	blk_harness_destroy(&h);
	close(l.fd);
}

/* §5.2.6.2: FLUSH offered, refused by the driver: every write carries a flush. */
static void test_writes_durable_without_flush(void **state)
{
	struct vireo_blk_discard_write_zeroes seg = {.sector = 64, .num_sectors = 16};
	struct blk_harness h;
	struct loopdev l;
	long long before, after;

	(void)state;
	if (!loop_attach(&l))
		skip();
	blk_harness_init_on(&h, NULL, 0, l.path, VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
	assert_false(vdev_has_feature(h.dev, VIRTIO_BLK_F_FLUSH));
	for (unsigned int i = 0; i < 3; i++) {
		before = loop_flushes(&l);
		assert_int_equal(write_sectors(&h, 8 + 8 * i, (uint8_t)(0x40 + i)),
				 VIRTIO_BLK_S_OK);
		after = loop_flushes(&l);
		printf("# %s flushes: %lld before a write, %lld after\n", l.path, before, after);
		assert_true(after > before);
	}
	before = loop_flushes(&l);
	assert_int_equal(blk_harness_dwz(&h, VIRTIO_BLK_T_WRITE_ZEROES, &seg, 1), VIRTIO_BLK_S_OK);
	after = loop_flushes(&l);
	printf("# %s flushes: %lld before WRITE_ZEROES, %lld after\n", l.path, before, after);
	assert_true(after > before);
	blk_harness_destroy(&h);
	close(l.fd);
}

/*
 * §5.2.6.2 after a renegotiation without a reset (a vhost-user front-end stops the ring,
 * sends SET_FEATURES without FLUSH, restarts it; QEMU does on a guest's driver change):
 * the queue's io_uring stays, and its writes must carry their flush from then on. They did
 * not (the setting was taken when the io_uring was set up: found by an outside review).
 */
static void test_durable_after_renegotiation(void **state)
{
	struct blk_harness h;
	struct loopdev l;
	long long before, after;
	int base;

	(void)state;
	if (!loop_attach(&l))
		skip();
	blk_harness_init_on(&h, NULL, 0, l.path, 0);
	assert_true(vdev_has_feature(h.dev, VIRTIO_BLK_F_FLUSH));
	before = loop_flushes(&l);
	assert_int_equal(write_sectors(&h, 8, 0x50), VIRTIO_BLK_S_OK);
	assert_int_equal(loop_flushes(&l), before);
	base = vireo_vdev_queue_get_base(h.dev, 0);
	vireo_vdev_queue_disable(h.dev, 0);
	assert_int_equal(vireo_vdev_negotiate_features(
				 h.dev, h.dev->acked_features & ~VIRTIO_BIT(VIRTIO_BLK_F_FLUSH)),
			 0);
	assert_int_equal(vireo_vdev_queue_set_base(h.dev, 0, (uint16_t)base), 0);
	assert_int_equal(vireo_vdev_queue_enable(h.dev, 0), 0);
	before = loop_flushes(&l);
	assert_int_equal(write_sectors(&h, 16, 0x51), VIRTIO_BLK_S_OK);
	after = loop_flushes(&l);
	printf("# %s flushes after the renegotiation: %lld before a write, %lld after\n", l.path,
	       before, after);
	assert_true(after > before);
	blk_harness_destroy(&h);
	close(l.fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flush_reaches_the_disk),
		cmocka_unit_test(test_writes_durable_without_flush),
		cmocka_unit_test(test_durable_after_renegotiation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
