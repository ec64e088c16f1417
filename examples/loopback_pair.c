// SPDX-License-Identifier: MIT
/*
 * A device and its driver in one process: the virtio-blk device model on IMAGE, served by
 * the loopback transport (the device runs in a thread of its own, the ring lives in shared
 * DMA memory, kicks and interrupts are eventfds), and our virtio-blk driver bound to it.
 * Writes a block at SECTOR, reads it back, and compares.
 *
 *   loopback_pair IMAGE [SECTOR]    exit 0: the block read back is the one written
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/blk_device.h>
#include <vireo/loopback.h>
#include <vireo/virtio_blk.h>

#define BLOCK_BYTES 512u

/* Write a recognisable block at @sector, read it back. Return: 0, 1 on a mismatch, -errno. */
static int write_and_read(struct virtio_blk *blk, uint64_t sector)
{
	char written[BLOCK_BYTES], read_back[BLOCK_BYTES];
	int ret;

	memset(written, '.', sizeof(written));
	snprintf(written, sizeof(written), "vireo loopback_pair example, sector %llu\n",
		 (unsigned long long)sector);
	ret = virtio_blk_write(blk, sector, written, sizeof(written));
	if (ret < 0)
		return ret;
	ret = virtio_blk_read(blk, sector, read_back, sizeof(read_back));
	if (ret < 0)
		return ret;
	return memcmp(written, read_back, sizeof(written)) == 0 ? 0 : 1;
}

/* Device, transport and driver for @image; then the round trip. Return: 0, 1, -errno. */
static int run(const char *image, uint64_t sector)
{
	struct blk_device_options device_opt = {.path = image};
	struct virtio_blk_driver driver = {0};
	struct blk_device *device;
	struct loopback *loopback;
	struct virtio_bus bus;
	struct virtio_blk *blk;
	int ret;

	virtio_bus_init(&bus);
	ret = virtio_blk_register(&bus, &driver);
	if (ret < 0)
		return ret;
	ret = vireo_blk_device_new(&device, &device_opt);
	if (ret < 0)
		goto out_unregister;
	/* Registers the device on the bus, which binds the driver registered above. */
	ret = vireo_loopback_new(&loopback, &bus, vireo_blk_device_vdev(device), 0);
	if (ret < 0)
		goto out_free_device;
	blk = virtio_blk_from_device(vireo_loopback_virtio_device(loopback));
	ret = blk ? write_and_read(blk, sector) : -ENODEV;
	if (ret == 0)
		printf("loopback_pair: sector %llu of %llu written and read back\n",
		       (unsigned long long)sector, (unsigned long long)virtio_blk_capacity(blk));
	vireo_loopback_free(loopback);
out_free_device:
	vireo_blk_device_free(device);
out_unregister:
	virtio_blk_unregister(&bus, &driver);
	return ret;
}

int main(int argc, char **argv)
{
	uint64_t sector = 0;
	char *end;
	int ret;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s IMAGE [SECTOR]\n", argv[0]);
		return 2;
	}
	if (argc == 3) {
		sector = strtoull(argv[2], &end, 0);
		if (end == argv[2] || *end) {
			fprintf(stderr, "loopback_pair: SECTOR: not a number: %s\n", argv[2]);
			return 2;
		}
	}
	ret = run(argv[1], sector);
	if (ret == 1)
		fprintf(stderr, "loopback_pair: sector %llu read back differs\n",
			(unsigned long long)sector);
	else if (ret < 0)
		fprintf(stderr, "loopback_pair: %s: %s\n", argv[1], strerror(-ret));
	return ret == 0 ? 0 : 1;
}
