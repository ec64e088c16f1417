// SPDX-License-Identifier: MIT
/*
 * Our virtio-rng driver on a virtio-rng PCI function bound to vfio-pci, and a reset of its
 * one queue alone (VIRTIO_F_RING_RESET, virtio 1.2 §2.6.1): read, reset queue 0 (complete
 * once queue_reset reads back 0), set it up again with a fresh ring, read again.
 *
 *   pci_rng_queue_reset BDF    exit 0: both reads returned data and the reset completed;
 *                              exit 2: the device does not offer VIRTIO_F_RING_RESET
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <vireo/vfio_pci.h>
#include <vireo/virtio_pci_driver.h>
#include <vireo/virtio_rng.h>

/* Read 32 bytes; they must not all be zero. Return: 0, or 1 after a line on stderr. */
static int read_some(struct virtio_rng *rng, const char *when)
{
	unsigned char buf[32];
	size_t i, nonzero = 0;

	if (virtio_rng_read(rng, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
		fprintf(stderr, "pci_rng_queue_reset: read %s the queue reset failed\n", when);
		return 1;
	}
	for (i = 0; i < sizeof(buf); i++)
		nonzero += buf[i] != 0;
	if (!nonzero) {
		fprintf(stderr, "pci_rng_queue_reset: 32 zero bytes %s the reset\n", when);
		return 1;
	}
	return 0;
}

/* Read, reset queue 0, re-enable it, read. Return: exit code */
static int reset_round_trip(struct vireo_pci_device *dev, struct virtio_rng *rng)
{
	int ret;

	if (read_some(rng, "before"))
		return 1;
	ret = vireo_pci_queue_reset(dev, 0);
	if (ret == -EOPNOTSUPP) {
		fprintf(stderr, "pci_rng_queue_reset: VIRTIO_F_RING_RESET not negotiated\n");
		return 2;
	}
	if (ret == 0)
		ret = vireo_pci_queue_reenable(dev, 0);
	if (ret < 0) {
		fprintf(stderr, "pci_rng_queue_reset: queue reset: %s\n", strerror(-ret));
		return 1;
	}
	return read_some(rng, "after");
}

int main(int argc, char **argv)
{
	struct virtio_rng_driver drv;
	struct virtio_bus bus;
	struct vireo_vfio_pci *vfio;
	struct vireo_pci_device *dev;
	struct virtio_rng *rng;
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: pci_rng_queue_reset BDF\n");
		return 2;
	}
	memset(&drv, 0, sizeof(drv));
	virtio_bus_init(&bus);
	if (virtio_rng_register(&bus, &drv) < 0)
		return 1;
	ret = vireo_vfio_pci_open(argv[1], &vfio);
	if (ret == 0) {
		ret = vireo_pci_device_new(&bus, vireo_vfio_pci_access(vfio), vfio, NULL, &dev);
		if (ret == 0) {
			rng = virtio_rng_from_device(vireo_pci_device_virtio_device(dev));
			ret = rng ? reset_round_trip(dev, rng) : 1;
			vireo_pci_device_free(dev);
		} else {
			ret = 1;
		}
		vireo_vfio_pci_close(vfio);
	} else {
		ret = 1;
	}
	virtio_rng_unregister(&bus, &drv);
	if (ret == 0)
		printf("pci_rng_queue_reset: %s: read, queue 0 reset and re-enabled, read\n",
		       argv[1]);
	return ret;
}
