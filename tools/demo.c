// SPDX-License-Identifier: MIT
/*
 * `vireo demo` (what `make run` shows until virtual machines boot): our
 * virtio-blk and virtio-rng drivers bound over the loopback transport to our
 * device models, one line per step.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vireo/blk_device.h>
#include <vireo/driver.h>
#include <vireo/loopback.h>
#include <vireo/rng_device.h>
#include <vireo/virtio_blk.h>
#include <vireo/virtio_rng.h>

#include "tools/commands.h"
#include "tools/options.h"
#include "tools/pattern.h"

#define DEMO_IMAGE_BYTES (64u << 20)
#define DEMO_IO_OFFSET (1u << 20)
#define DEMO_IO_BYTES (4u << 20)
#define DEMO_SERIAL "vireo-demo"

struct demo {
	char path[64];
	struct virtio_bus bus;
	struct virtio_blk_driver blk_drv;
	struct virtio_rng_driver rng_drv;
	struct blk_device *blk_dev;
	struct rng_device *rng_dev;
	struct loopback *blk_lb;
	struct loopback *rng_lb;
	struct virtio_blk *blk;
	struct virtio_rng *rng;
	uint8_t *buf;
};

static const char demo_usage[] =
	"usage: vireo demo\n"
	"\n"
	"Creates a 64 MiB image on /dev/shm (or /tmp), serves it with the virtio-blk\n"
	"device model, and through the loopback transport our virtio-blk driver\n"
	"writes, reads back and verifies a pattern and flushes; then our virtio-rng\n"
	"driver reads 32 bytes from the virtio-rng device model. Cleans up after.\n";

static int demo_fail(const char *step, int err)
{
	fprintf(stderr, "vireo demo: %s failed: %s\n", step, strerror(-err));
	return 1;
}

/* demo_image() - a sparse temporary image. Return: 0 or -errno */
static int demo_image(struct demo *d)
{
	const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	int fd, ret = 0;

	snprintf(d->path, sizeof(d->path), "%s/vireo-demo-XXXXXX", dir);
	fd = mkostemp(d->path, O_CLOEXEC);
	if (fd < 0) {
		d->path[0] = '\0';
		return -errno;
	}
	if (ftruncate(fd, DEMO_IMAGE_BYTES) < 0)
		ret = -errno;
	close(fd);
	if (!ret)
		printf("created a %u MiB image %s\n", DEMO_IMAGE_BYTES >> 20, d->path);
	return ret;
}

/* demo_blk_bind() - blk model on the image, loopback, our driver. Return: 0 or -errno */
static int demo_blk_bind(struct demo *d)
{
	struct blk_device_options opt = {.path = d->path, .num_queues = 2, .serial = DEMO_SERIAL};
	int ret;

	ret = vireo_blk_device_new(&d->blk_dev, &opt);
	if (ret < 0)
		return ret;
	ret = vireo_loopback_new(&d->blk_lb, &d->bus, vireo_blk_device_vdev(d->blk_dev), 0);
	if (ret < 0)
		return ret;
	d->blk = virtio_blk_from_device(vireo_loopback_virtio_device(d->blk_lb));
	if (!d->blk)
		return -ENODEV;
	printf("virtio-blk bound over loopback: %" PRIu64 " sectors, %u queues of %u, %s\n",
	       virtio_blk_capacity(d->blk), virtio_blk_num_queues(d->blk),
	       virtio_blk_queue_size(d->blk, 0),
	       virtio_blk_has_feature(d->blk, VIRTIO_BLK_F_FLUSH) ? "flush" : "no flush");
	return 0;
}

/* demo_blk_io() - write, read back, verify, flush, GET_ID. Return: 0 or -errno */
static int demo_blk_io(struct demo *d)
{
	struct pattern pat = {.seeded = true, .seed = 42};
	char id[VIRTIO_BLK_ID_BYTES + 1];
	size_t bad;
	int ret;

	pattern_fill(&pat, DEMO_IO_OFFSET, d->buf, DEMO_IO_BYTES);
	ret = virtio_blk_write(d->blk, DEMO_IO_OFFSET >> 9, d->buf, DEMO_IO_BYTES);
	if (ret < 0)
		return ret;
	printf("wrote %u MiB of pattern seed:42 at offset %u MiB\n", DEMO_IO_BYTES >> 20,
	       DEMO_IO_OFFSET >> 20);
	memset(d->buf, 0, DEMO_IO_BYTES);
	ret = virtio_blk_read(d->blk, DEMO_IO_OFFSET >> 9, d->buf, DEMO_IO_BYTES);
	if (ret < 0)
		return ret;
	bad = pattern_check(&pat, DEMO_IO_OFFSET, d->buf, DEMO_IO_BYTES);
	if (bad != DEMO_IO_BYTES) {
		fprintf(stderr, "vireo demo: mismatch at offset %zu\n", DEMO_IO_OFFSET + bad);
		return -EIO;
	}
	printf("read it back and verified %u MiB\n", DEMO_IO_BYTES >> 20);
	ret = virtio_blk_flush(d->blk);
	if (ret < 0)
		return ret;
	printf("flushed\n");
	ret = virtio_blk_get_id(d->blk, id);
	if (ret < 0)
		return ret;
	printf("device id (GET_ID): \"%s\"\n", id);
	return 0;
}

/* demo_rng() - bind virtio-rng and read 32 bytes. Return: 0 or -errno */
static int demo_rng(struct demo *d)
{
	uint8_t bytes[32];
	ssize_t n;
	int ret;
	size_t i;

	ret = vireo_rng_device_new(&d->rng_dev, NULL);
	if (ret < 0)
		return ret;
	ret = vireo_loopback_new(&d->rng_lb, &d->bus, vireo_rng_device_vdev(d->rng_dev), 0);
	if (ret < 0)
		return ret;
	d->rng = virtio_rng_from_device(vireo_loopback_virtio_device(d->rng_lb));
	if (!d->rng)
		return -ENODEV;
	n = virtio_rng_read(d->rng, bytes, sizeof(bytes));
	if (n < 0)
		return (int)n;
	printf("virtio-rng bound over loopback; 32 bytes: ");
	for (i = 0; i < sizeof(bytes); i++)
		printf("%02x", bytes[i]);
	printf("\n");
	return 0;
}

static void demo_cleanup(struct demo *d)
{
	if (d->rng_lb)
		vireo_loopback_free(d->rng_lb);
	if (d->rng_dev)
		vireo_rng_device_free(d->rng_dev);
	if (d->blk_lb)
		vireo_loopback_free(d->blk_lb);
	if (d->blk_dev)
		vireo_blk_device_free(d->blk_dev);
	virtio_rng_unregister(&d->bus, &d->rng_drv);
	virtio_blk_unregister(&d->bus, &d->blk_drv);
	free(d->buf);
	if (d->path[0] && unlink(d->path) == 0)
		printf("removed %s; devices and drivers shut down\n", d->path);
}

/* demo_steps() - Return: exit code */
static int demo_steps(struct demo *d)
{
	int ret;

	d->buf = malloc(DEMO_IO_BYTES);
	if (!d->buf)
		return demo_fail("allocation", -ENOMEM);
	virtio_bus_init(&d->bus);
	if ((ret = virtio_blk_register(&d->bus, &d->blk_drv)) < 0 ||
	    (ret = virtio_rng_register(&d->bus, &d->rng_drv)) < 0)
		return demo_fail("driver registration", ret);
	if ((ret = demo_image(d)) < 0)
		return demo_fail("image creation", ret);
	if ((ret = demo_blk_bind(d)) < 0)
		return demo_fail("virtio-blk setup", ret);
	if ((ret = demo_blk_io(d)) < 0)
		return demo_fail("virtio-blk I/O", ret);
	if ((ret = demo_rng(d)) < 0)
		return demo_fail("virtio-rng", ret);
	return 0;
}

int demo_main(int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct demo *d;
	int opt, ret;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt != 'h')
			return opt_bad_getopt("demo", argv);
		fputs(demo_usage, stdout);
		return 0;
	}
	if (optind < argc)
		return opt_usage_error("demo", "unexpected argument '%s'", argv[optind]);
	d = calloc(1, sizeof(*d));
	if (!d)
		return demo_fail("allocation", -ENOMEM);
	ret = demo_steps(d);
	demo_cleanup(d);
	free(d);
	return ret;
}
