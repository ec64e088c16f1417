// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the virtio-mmio function model
 * (transport/virtio_mmio_function.c): the input is a hostile driver's
 * register accesses against an rng model whose guest memory is 64 KiB at
 * FUZZ_GPA. Records of 7 bytes (little-endian):
 *   0      bit 0: write; bits 1-3: size index into {4, 1, 2, 4, 8, 3, 4, 4};
 *          bit 4: the value is an address inside guest memory (FUZZ_GPA + value % size)
 *   1..2   offset (masked to 0x1ff)
 *   3..6   value
 * The oracle: no access returns other than 0 or -EINVAL; MagicValue and
 * Version always read right; DeviceFeatures at DeviceFeaturesSel 2, 3 shows
 * the model's bits 64-127 (FUZZ_OFFER_HI) and 0 from 4 up, and the device
 * never acks a bit it did not offer (D-BF-04); after the sequence a reset leaves Status,
 * InterruptStatus and QueueReady 0 (D-MMIO-04) and the device runs a
 * correct driver's request.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vireo/guest_mem.h>
#include <vireo/rng_device.h>
#include <vireo/spec.h>
#include <vireo/virtio_mmio_function.h>

#include "tests/fuzz/fuzz_check.h"

#define FUZZ_GPA 0x10000ull
#define FUZZ_RAM (64u << 10)
#define FUZZ_RECORD 7u
#define FUZZ_MAX_RECORDS 512u
/* Feature bits 65, 90 and 127 (the rng model offers none of its own up there). */
#define FUZZ_OFFER_HI (VIRTIO_BIT(1) | VIRTIO_BIT(26) | VIRTIO_BIT(63))

static void fuzz_irq(void *opaque)
{
	(void)opaque;
}

static const struct vireo_mmio_host_ops fuzz_host = {.irq_signal = fuzz_irq};

static uint32_t fuzz_rd(struct vireo_mmio_function *fn, uint64_t off)
{
	uint32_t v = 0;

	FUZZ_CHECK(vireo_mmio_read(fn, off, 4, &v) == 0);
	return v;
}

static void fuzz_wr(struct vireo_mmio_function *fn, uint64_t off, uint32_t v)
{
	FUZZ_CHECK(vireo_mmio_write(fn, off, 4, v) == 0);
}

static void fuzz_access(struct vireo_mmio_function *fn, const uint8_t *r)
{
	static const unsigned int sizes[8] = {4, 1, 2, 4, 8, 3, 4, 4};
	unsigned int size = sizes[(r[0] >> 1) & 7];
	uint64_t off = (uint64_t)(r[1] | r[2] << 8) & 0x1ff;
	uint32_t v =
		(uint32_t)r[3] | (uint32_t)r[4] << 8 | (uint32_t)r[5] << 16 | (uint32_t)r[6] << 24;
	int ret;

	if (r[0] & 0x10)
		v = (uint32_t)(FUZZ_GPA + v % FUZZ_RAM);
	if (r[0] & 1)
		ret = vireo_mmio_write(fn, off, size, v);
	else
		ret = vireo_mmio_read(fn, off, size, &v);
	FUZZ_CHECK(ret == 0 || ret == -EINVAL);
}

static void fuzz_acked_unoffered(struct vdev *dev, void *arg)
{
	*(uint64_t *)arg = (dev->acked_features & ~dev->offered_features) |
			   (dev->acked_features_hi & ~dev->offered_features_hi);
}

/* The high offer at each select (the low words carry transport bits too); nothing unoffered acked. */
static void fuzz_check_features(struct vireo_mmio_function *fn)
{
	uint64_t unoffered = 1;
	uint32_t sel;

	for (sel = 2; sel < 6; sel++) {
		fuzz_wr(fn, VIREO_MMIO_DEVICE_FEATURES_SEL, sel);
		FUZZ_CHECK(fuzz_rd(fn, VIREO_MMIO_DEVICE_FEATURES) ==
			   vireo_feature_dword(0, FUZZ_OFFER_HI, sel));
	}
	FUZZ_CHECK(vireo_mmio_function_run_in_device(fn, fuzz_acked_unoffered, &unoffered) == 0);
	FUZZ_CHECK(unoffered == 0);
}

/* A correct driver after the storm: one 16-byte rng request on a fresh split ring. */
static void fuzz_check_device_works(struct vireo_mmio_function *fn, uint8_t *ram)
{
	struct virtq_desc *desc = (struct virtq_desc *)ram;
	struct virtq_avail *avail = (struct virtq_avail *)(ram + 0x100);
	struct virtq_used *used = (struct virtq_used *)(ram + 0x200);
	int i;

	fuzz_wr(fn, VIREO_MMIO_STATUS, 0);
	FUZZ_CHECK(fuzz_rd(fn, VIREO_MMIO_STATUS) == 0);
	FUZZ_CHECK(fuzz_rd(fn, VIREO_MMIO_INTERRUPT_STATUS) == 0);
	fuzz_wr(fn, VIREO_MMIO_QUEUE_SEL, 0);
	FUZZ_CHECK(fuzz_rd(fn, VIREO_MMIO_QUEUE_READY) == 0);
	memset(ram, 0, 0x1000);
	fuzz_wr(fn, VIREO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	fuzz_wr(fn, VIREO_MMIO_DRIVER_FEATURES_SEL, 1);
	fuzz_wr(fn, VIREO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
	fuzz_wr(fn, VIREO_MMIO_STATUS,
		VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	fuzz_wr(fn, VIREO_MMIO_QUEUE_SIZE, 8);
	fuzz_wr(fn, VIREO_MMIO_QUEUE_DESC_LOW, (uint32_t)FUZZ_GPA);
	fuzz_wr(fn, VIREO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)FUZZ_GPA + 0x100);
	fuzz_wr(fn, VIREO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)FUZZ_GPA + 0x200);
	fuzz_wr(fn, VIREO_MMIO_QUEUE_READY, 1);
	fuzz_wr(fn, VIREO_MMIO_STATUS,
		VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			VIRTIO_STATUS_DRIVER_OK);
	FUZZ_CHECK(fuzz_rd(fn, VIREO_MMIO_QUEUE_READY) == 1);
	*desc = (struct virtq_desc){
		.addr = FUZZ_GPA + 0x800, .len = 16, .flags = VIRTQ_DESC_F_WRITE};
	avail->ring[0] = 0;
	/* Release: pairs with the device's acquire of avail->idx. */
	__atomic_store_n(&avail->idx, 1, __ATOMIC_RELEASE);
	fuzz_wr(fn, VIREO_MMIO_QUEUE_NOTIFY, 0);
	/* Acquire: pairs with the device's release of used->idx. */
	for (i = 0; i < 5000 && __atomic_load_n(&used->idx, __ATOMIC_ACQUIRE) != 1; i++)
		usleep(200);
	FUZZ_CHECK(__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE) == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *ram = calloc(1, FUZZ_RAM);
	struct vireo_mmio_function *fn;
	struct rng_device *rng;
	struct guest_mem mem;
	size_t i, n = size / FUZZ_RECORD;

	FUZZ_CHECK(ram != NULL);
	FUZZ_CHECK(vireo_rng_device_new(&rng, NULL) == 0);
	FUZZ_CHECK(vireo_vdev_offer_features_hi(vireo_rng_device_vdev(rng), FUZZ_OFFER_HI) == 0);
	vireo_guest_mem_init(&mem);
	FUZZ_CHECK(vireo_guest_mem_add_region(&mem, FUZZ_GPA, FUZZ_RAM, ram) == 0);
	FUZZ_CHECK(vireo_mmio_function_new(vireo_rng_device_vdev(rng), &mem, NULL, &fuzz_host, NULL,
					   &fn) == 0);
	if (n > FUZZ_MAX_RECORDS)
		n = FUZZ_MAX_RECORDS;
	for (i = 0; i < n; i++) {
		fuzz_access(fn, data + i * FUZZ_RECORD);
		FUZZ_CHECK(fuzz_rd(fn, VIREO_MMIO_MAGIC_VALUE) == VIREO_MMIO_MAGIC);
		FUZZ_CHECK(fuzz_rd(fn, VIREO_MMIO_VERSION_REG) == VIREO_MMIO_VERSION);
	}
	fuzz_check_features(fn);
	fuzz_check_device_works(fn, ram);
	vireo_mmio_function_free(fn);
	vireo_rng_device_free(rng);
	free(ram);
	return 0;
}
