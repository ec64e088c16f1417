// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the virtio-pci driver (transport/virtio_pci_*.c) against a hostile PCI
 * function: the input is its configuration space, its BAR sizes and every value its BARs
 * read back (common config, ISR, device config). A driver of every device type binds and sets
 * up two queues. Invariants: every BAR access the driver makes is naturally aligned, of
 * width 1, 2 or 4, and inside the BAR (a capability outside its BAR must have been refused);
 * every configuration-space read inside the 256 bytes; the call returns (resets and queue
 * resets are bounded), and nothing leaks or is touched after it is freed (ASan).
 *
 * Input layout: 256 bytes of configuration space, 6 little-endian 32-bit BAR sizes, then the
 * values BAR reads return, in order (little-endian, as wide as the read; 0 once exhausted).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <vireo/driver.h>
#include <vireo/virtio_pci_driver.h>

#include "tests/fuzz/fuzz_check.h"

#define FUZZ_CFG 256u
#define FUZZ_BARS 6u
#define FUZZ_TYPES 48u

struct fuzz_fn {
	uint8_t cfg[FUZZ_CFG];
	uint64_t bar_size[FUZZ_BARS];
	const uint8_t *in;
	size_t left;
};

static int fuzz_config_read(void *opaque, uint32_t offset, unsigned int size, uint32_t *value)
{
	struct fuzz_fn *f = opaque;
	unsigned int i;

	FUZZ_CHECK(size == 1 || size == 2 || size == 4);
	FUZZ_CHECK(offset <= FUZZ_CFG - size);
	*value = 0;
	for (i = 0; i < size; i++)
		*value |= (uint32_t)f->cfg[offset + i] << (8 * i);
	return 0;
}

static int fuzz_config_write(void *opaque, uint32_t offset, unsigned int size, uint32_t value)
{
	(void)opaque;
	(void)offset;
	(void)size;
	(void)value;
	FUZZ_CHECK(!"the driver writes no configuration space");
	return -EIO;
}

static void fuzz_check_bar(const struct fuzz_fn *f, unsigned int bar, uint64_t offset,
			   unsigned int size)
{
	FUZZ_CHECK(bar < FUZZ_BARS);
	FUZZ_CHECK(size == 1 || size == 2 || size == 4);
	FUZZ_CHECK((offset & (size - 1)) == 0);
	FUZZ_CHECK(offset <= f->bar_size[bar] && size <= f->bar_size[bar] - offset);
}

static int fuzz_bar_read(void *opaque, unsigned int bar, uint64_t offset, unsigned int size,
			 uint64_t *value)
{
	struct fuzz_fn *f = opaque;
	unsigned int i;

	fuzz_check_bar(f, bar, offset, size);
	*value = 0;
	for (i = 0; i < size && f->left; i++, f->in++, f->left--)
		*value |= (uint64_t)*f->in << (8 * i);
	return 0;
}

static int fuzz_bar_write(void *opaque, unsigned int bar, uint64_t offset, unsigned int size,
			  uint64_t value)
{
	(void)value;
	fuzz_check_bar(opaque, bar, offset, size);
	return 0;
}

static int fuzz_bar_size(void *opaque, unsigned int bar, uint64_t *size)
{
	struct fuzz_fn *f = opaque;

	if (bar >= FUZZ_BARS)
		return -EINVAL;
	*size = f->bar_size[bar];
	return 0;
}

static int fuzz_set_vector(void *opaque, unsigned int vector, int fd)
{
	(void)opaque;
	(void)fd;
	return vector < 2048 ? 0 : -EINVAL;
}

static const struct vireo_pci_access_ops fuzz_ops = {
	.config_read = fuzz_config_read,
	.config_write = fuzz_config_write,
	.bar_read = fuzz_bar_read,
	.bar_write = fuzz_bar_write,
	.bar_size = fuzz_bar_size,
	.set_vector_eventfd = fuzz_set_vector,
};

/* Any driver: two queues and an 8-byte config read, as a real one would. */
static int fuzz_probe(struct virtio_device *vdev)
{
	virtqueue_callback *cbs[2] = {NULL, NULL};
	const char *const names[2] = {"a", "b"};
	struct virtqueue *vqs[2];
	uint8_t buf[8];

	virtio_cread(vdev, 0, buf, sizeof(buf));
	return vdev->config->find_vqs(vdev, 2, vqs, cbs, names);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vireo_pci_device_options opt = {.dma_bytes = 256u << 10, .reset_timeout_ms = 1};
	struct virtio_device_id ids[FUZZ_TYPES + 1];
	struct virtio_driver drv = {.name = "fuzz", .id_table = ids, .probe = fuzz_probe};
	struct vireo_pci_device *dev = NULL;
	struct fuzz_fn f;
	struct virtio_bus bus;
	unsigned int i;

	if (size < FUZZ_CFG + 4 * FUZZ_BARS)
		return 0;
	memset(&f, 0, sizeof(f));
	memcpy(f.cfg, data, FUZZ_CFG);
	for (i = 0; i < FUZZ_BARS; i++) {
		const uint8_t *p = data + FUZZ_CFG + 4 * i;

		f.bar_size[i] = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
				(uint64_t)p[3] << 24;
	}
	f.in = data + FUZZ_CFG + 4 * FUZZ_BARS;
	f.left = size - (FUZZ_CFG + 4 * FUZZ_BARS);
	for (i = 0; i < FUZZ_TYPES; i++)
		ids[i] = (struct virtio_device_id){.device = i + 1, .vendor = VIRTIO_DEV_ANY_ID};
	ids[FUZZ_TYPES].device = 0;
	virtio_bus_init(&bus);
	virtio_register_driver(&bus, &drv);
	if (vireo_pci_device_new(&bus, &fuzz_ops, &f, &opt, &dev) == 0)
		vireo_pci_device_free(dev);
	virtio_unregister_driver(&bus, &drv);
	return 0;
}
