// SPDX-License-Identifier: MIT
/*
 * A front-end driver for any vhost-user-blk back-end (examples/blk_backend, `vireo serve
 * blk`, qemu-storage-daemon): connects to SOCKET, writes one 512-byte block at SECTOR
 * (default 0), reads it back and compares.
 *
 *   blk_frontend SOCKET [SECTOR]    exit 0: the block read back is the one written
 *
 * The transport (vhost-user front-end) brings the device to the bus; the bus binds our
 * virtio-blk driver to it, which negotiates features and sets up the queues.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/vhost_user_frontend.h>
#include <vireo/virtio_blk.h>

#define BLOCK_BYTES 512u

/* Write a recognisable block at @sector, read it back. Return: 0, 1 on a mismatch, -errno. */
static int write_and_read(struct virtio_blk *blk, uint64_t sector)
{
	char written[BLOCK_BYTES], read_back[BLOCK_BYTES];
	int ret;

	memset(written, '.', sizeof(written));
	snprintf(written, sizeof(written), "vireo blk_frontend example, sector %llu\n",
		 (unsigned long long)sector);
	ret = virtio_blk_write(blk, sector, written, sizeof(written));
	if (ret < 0)
		return ret;
	ret = virtio_blk_read(blk, sector, read_back, sizeof(read_back));
	if (ret < 0)
		return ret;
	return memcmp(written, read_back, sizeof(written)) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct vhost_user_frontend_options opt = {.device_id = VIRTIO_ID_BLOCK};
	struct virtio_blk_driver driver = {0};
	struct vhost_user_frontend *frontend;
	struct virtio_bus bus;
	struct virtio_blk *blk;
	uint64_t sector = 0;
	char *end;
	int ret;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s SOCKET [SECTOR]\n", argv[0]);
		return 2;
	}
	opt.socket_path = argv[1];
	if (argc == 3) {
		sector = strtoull(argv[2], &end, 0);
		if (end == argv[2] || *end) {
			fprintf(stderr, "blk_frontend: SECTOR: not a number: %s\n", argv[2]);
			return 2;
		}
	}
	virtio_bus_init(&bus);
	ret = virtio_blk_register(&bus, &driver);
	if (ret < 0)
		goto out_report;
	ret = vireo_vhost_user_frontend_new(&frontend, &bus, &opt);
	if (ret < 0)
		goto out_unregister;
	blk = virtio_blk_from_device(vireo_vhost_user_frontend_virtio_device(frontend));
	ret = blk ? write_and_read(blk, sector) : -ENODEV;
	if (ret == 0)
		printf("blk_frontend: sector %llu of %llu written and read back\n",
		       (unsigned long long)sector, (unsigned long long)virtio_blk_capacity(blk));
	else if (ret == 1)
		fprintf(stderr, "blk_frontend: sector %llu read back differs\n",
			(unsigned long long)sector);
	vireo_vhost_user_frontend_free(frontend);
out_unregister:
	virtio_blk_unregister(&bus, &driver);
out_report:
	if (ret < 0)
		fprintf(stderr, "blk_frontend: %s: %s\n", argv[1], strerror(-ret));
	return ret == 0 ? 0 : 1;
}
