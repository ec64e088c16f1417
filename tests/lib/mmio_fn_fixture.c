// SPDX-License-Identifier: MIT
/* A register-access driver for the virtio-mmio function model: see mmio_fn_fixture.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vireo/blk_device.h>
#include <vireo/device.h>
#include <vireo/rng_device.h>

#include "tests/lib/mmio_fn_fixture.h"

static void mmio_fx_irq_set(void *opaque, bool asserted)
{
	struct mmio_fx *f = opaque;

	__atomic_store_n(&f->level, asserted, __ATOMIC_RELEASE);
	if (asserted)
		__atomic_fetch_add(&f->edges, 1, __ATOMIC_RELAXED);
}

static const struct vireo_mmio_host_ops mmio_fx_host = {.irq_set = mmio_fx_irq_set};

static void mmio_fx_start(struct mmio_fx *f, struct vdev *dev,
			  const struct vireo_mmio_function_options *o)
{
	f->ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(f->ram != MAP_FAILED);
	vireo_guest_mem_init(&f->mem);
	assert_int_equal(vireo_guest_mem_add_region(&f->mem, GPA, RAM, f->ram), 0);
	f->dev = dev;
	assert_int_equal(vireo_mmio_function_new(dev, &f->mem, o, &mmio_fx_host, f, &f->fn), 0);
}

void mmio_fx_restart(struct mmio_fx *f, const struct vireo_mmio_function_options *o)
{
	vireo_mmio_function_free(f->fn);
	f->fn = NULL;
	assert_int_equal(vireo_mmio_function_new(f->dev, &f->mem, o, &mmio_fx_host, f, &f->fn), 0);
}

int mmio_fx_setup_rng(void **state)
{
	struct mmio_fx *f = calloc(1, sizeof(*f));

	assert_int_equal(vireo_rng_device_new(&f->rng, NULL), 0);
	mmio_fx_start(f, vireo_rng_device_vdev(f->rng), NULL);
	*state = f;
	return 0;
}

int mmio_fx_setup_blk(void **state)
{
	struct mmio_fx *f = calloc(1, sizeof(*f));
	struct blk_device_options o = {.num_queues = 1, .serial = "mmio"};
	int fd;

	strcpy(f->path, "/tmp/vireo-mmio-fn-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1u << 20), 0);
	close(fd);
	o.path = f->path;
	assert_int_equal(vireo_blk_device_new(&f->blk, &o), 0);
	mmio_fx_start(f, vireo_blk_device_vdev(f->blk), NULL);
	*state = f;
	return 0;
}

int mmio_fx_teardown(void **state)
{
	struct mmio_fx *f = *state;

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

uint32_t mmio_fx_read(struct mmio_fx *f, uint64_t off)
{
	uint32_t v = 0xdeadbeef;

	assert_int_equal(vireo_mmio_read(f->fn, off, 4, &v), 0);
	return v;
}

void mmio_fx_write(struct mmio_fx *f, uint64_t off, uint32_t v)
{
	assert_int_equal(vireo_mmio_write(f->fn, off, 4, v), 0);
}

void *mmio_fx_gpa(struct mmio_fx *f, uint64_t a)
{
	return f->ram + (a - GPA);
}

/* §3.1.1 up to FEATURES_OK with @features (VERSION_1 always). */
void mmio_fx_negotiate(struct mmio_fx *f, uint64_t features)
{
	features |= VIRTIO_BIT(VIRTIO_F_VERSION_1);
	mmio_fx_write(f, VIREO_MMIO_STATUS, 0);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_STATUS), 0);
	mmio_fx_write(f, VIREO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	mmio_fx_write(f, VIREO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	mmio_fx_write(f, VIREO_MMIO_DRIVER_FEATURES_SEL, 0);
	mmio_fx_write(f, VIREO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	mmio_fx_write(f, VIREO_MMIO_DRIVER_FEATURES_SEL, 1);
	mmio_fx_write(f, VIREO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	mmio_fx_write(f, VIREO_MMIO_STATUS,
		      VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_true(mmio_fx_read(f, VIREO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
}

/* Queue 0: a zeroed split ring of QSIZE at DESC/AVAIL/USED_GPA + @shift. */
void mmio_fx_queue(struct mmio_fx *f, uint64_t shift)
{
	memset(mmio_fx_gpa(f, DESC_GPA + shift), 0, 0x600);
	f->avail_idx = 0;
	mmio_fx_write(f, VIREO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_QUEUE_READY), 0);
	assert_true(mmio_fx_read(f, VIREO_MMIO_QUEUE_SIZE_MAX) >= QSIZE);
	mmio_fx_write(f, VIREO_MMIO_QUEUE_SIZE, QSIZE);
	mmio_fx_write(f, VIREO_MMIO_QUEUE_DESC_LOW, (uint32_t)(DESC_GPA + shift));
	mmio_fx_write(f, VIREO_MMIO_QUEUE_DESC_HIGH, (uint32_t)((DESC_GPA + shift) >> 32));
	mmio_fx_write(f, VIREO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(AVAIL_GPA + shift));
	mmio_fx_write(f, VIREO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)((AVAIL_GPA + shift) >> 32));
	mmio_fx_write(f, VIREO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(USED_GPA + shift));
	mmio_fx_write(f, VIREO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)((USED_GPA + shift) >> 32));
	mmio_fx_write(f, VIREO_MMIO_QUEUE_READY, 1);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_QUEUE_READY), 1);
}

void mmio_fx_driver_ok(struct mmio_fx *f)
{
	mmio_fx_write(f, VIREO_MMIO_STATUS,
		      VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			      VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(mmio_fx_read(f, VIREO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
}

/* Put a chain of @n descriptors (head 0) on the ring and kick. */
void mmio_fx_post(struct mmio_fx *f, uint64_t shift, const struct virtq_desc *d, unsigned int n)
{
	struct virtq_desc *desc = mmio_fx_gpa(f, DESC_GPA + shift);
	struct virtq_avail *avail = mmio_fx_gpa(f, AVAIL_GPA + shift);

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
	mmio_fx_write(f, VIREO_MMIO_QUEUE_NOTIFY, 0);
}

/* Wait (bounded) until used->idx reaches @idx. Return: true if it did. */
bool mmio_fx_wait_used(struct mmio_fx *f, uint64_t shift, uint16_t idx, int ms)
{
	struct virtq_used *used = mmio_fx_gpa(f, USED_GPA + shift);

	for (int i = 0; i < ms; i++) {
		/* Acquire: pairs with the device's release store of used->idx. */
		if (__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE) == idx)
			return true;
		usleep(1000);
	}
	return false;
}

bool mmio_fx_wait_level(struct mmio_fx *f, bool want)
{
	for (int i = 0; i < 2000; i++) {
		if (__atomic_load_n(&f->level, __ATOMIC_ACQUIRE) == want)
			return true;
		usleep(1000);
	}
	return false;
}
