// SPDX-License-Identifier: MIT
/*
 * The virtio-pci function test harness; see pci_harness.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/pci_regs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/lib/pci_harness.h"

#define GPA_BASE PCI_HARNESS_GPA_BASE
#define HEAP_START 0x100000u
#define QUEUE_STRIDE 0x10000u

void *pci_harness_g2h(struct pci_harness *h, uint64_t gpa)
{
	return h->host + (gpa - GPA_BASE);
}

uint64_t pci_harness_galloc(struct pci_harness *h, size_t len)
{
	uint64_t gpa = GPA_BASE + h->heap;

	h->heap += (len + 63) & ~(size_t)63;
	assert_true(h->heap <= PCI_HARNESS_MEM_SIZE);
	memset(pci_harness_g2h(h, gpa), 0, len);
	return gpa;
}

static int host_msix_send(void *opaque, uint64_t address, uint32_t data)
{
	struct pci_harness *h = opaque;

	if (address == PCI_HARNESS_MSI_ADDR + 4 * data && data < PCI_HARNESS_VECTORS)
		h->msix[data]++;
	else
		h->msix_bad++;
	return 0;
}

static void host_intx_set(void *opaque, bool asserted)
{
	struct pci_harness *h = opaque;

	assert_true(asserted != h->intx); /* the function reports level changes only */
	h->intx = asserted;
	if (asserted)
		h->intx_edges++;
}

static const struct vireo_pci_host_ops host_ops = {
	.msix_send = host_msix_send,
	.intx_set = host_intx_set,
};

static void harness_begin(struct pci_harness *h)
{
	memset(h, 0, sizeof(*h));
	h->img_fd = -1;
	h->heap = HEAP_START;
	h->host = mmap(NULL, PCI_HARNESS_MEM_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(h->host != MAP_FAILED);
	vireo_guest_mem_init(&h->mem);
	assert_int_equal(
		vireo_guest_mem_add_region(&h->mem, GPA_BASE, PCI_HARNESS_MEM_SIZE, h->host), 0);
	assert_int_equal(vireo_event_loop_init(&h->loop), 0);
}

static void harness_attach(struct pci_harness *h, const struct vireo_pci_function_options *o)
{
	vireo_vdev_set_memory(h->dev, &h->mem);
	vireo_vdev_set_event_loop(h->dev, &h->loop);
	assert_int_equal(vireo_pci_function_new(h->dev, o, &host_ops, h, &h->fn), 0);
}

void pci_harness_init_rng(struct pci_harness *h, const struct vireo_pci_function_options *o)
{
	struct rng_device_options opt = {.queue_size = PCI_HARNESS_QNUM};

	harness_begin(h);
	assert_int_equal(vireo_rng_device_new(&h->rng, &opt), 0);
	h->dev = vireo_rng_device_vdev(h->rng);
	harness_attach(h, o);
}

void pci_harness_init_blk(struct pci_harness *h, const struct vireo_pci_function_options *o)
{
	struct blk_device_options opt = {.queue_size = PCI_HARNESS_QNUM, .num_queues = 2};
	uint8_t *buf = malloc(PCI_HARNESS_IMG_SIZE);

	harness_begin(h);
	snprintf(h->path, sizeof(h->path), "/tmp/vireo-pci-test-XXXXXX");
	h->img_fd = mkstemp(h->path);
	assert_true(h->img_fd >= 0);
	assert_non_null(buf);
	for (size_t i = 0; i < PCI_HARNESS_IMG_SIZE; i++)
		buf[i] = (uint8_t)(i * 13 + 7);
	assert_int_equal(pwrite(h->img_fd, buf, PCI_HARNESS_IMG_SIZE, 0), PCI_HARNESS_IMG_SIZE);
	free(buf);
	opt.path = h->path;
	assert_int_equal(vireo_blk_device_new(&h->blk, &opt), 0);
	unlink(h->path);
	h->dev = vireo_blk_device_vdev(h->blk);
	harness_attach(h, o);
}

void pci_harness_destroy(struct pci_harness *h)
{
	vireo_pci_function_free(h->fn);
	if (h->blk)
		vireo_blk_device_free(h->blk);
	if (h->rng)
		vireo_rng_device_free(h->rng);
	if (h->img_fd >= 0)
		close(h->img_fd);
	vireo_event_loop_destroy(&h->loop);
	munmap(h->host, PCI_HARNESS_MEM_SIZE);
}

uint32_t pci_harness_cfg_read(struct pci_harness *h, uint32_t off, unsigned int size)
{
	uint32_t v = 0;

	assert_int_equal(vireo_pci_config_read(h->fn, off, size, &v), 0);
	return v;
}

void pci_harness_cfg_write(struct pci_harness *h, uint32_t off, unsigned int size, uint32_t v)
{
	assert_int_equal(vireo_pci_config_write(h->fn, off, size, v), 0);
}

uint64_t pci_harness_bar0_read(struct pci_harness *h, uint32_t off, unsigned int size)
{
	uint64_t v = 0;

	assert_int_equal(vireo_pci_bar_read(h->fn, 0, off, size, &v), 0);
	return v;
}

void pci_harness_bar0_write(struct pci_harness *h, uint32_t off, unsigned int size, uint64_t v)
{
	assert_int_equal(vireo_pci_bar_write(h->fn, 0, off, size, v), 0);
}

uint64_t pci_harness_cc_read(struct pci_harness *h, uint32_t field, unsigned int size)
{
	return pci_harness_bar0_read(h, h->common + field, size);
}

void pci_harness_cc_write(struct pci_harness *h, uint32_t field, unsigned int size, uint64_t v)
{
	pci_harness_bar0_write(h, h->common + field, size, v);
}

/* A vendor capability's BAR-0 structure: record and check where it is. */
static void harness_vendor_cap(struct pci_harness *h, uint8_t cap)
{
	uint8_t type = (uint8_t)pci_harness_cfg_read(h, cap + 3, 1);
	uint8_t len = (uint8_t)pci_harness_cfg_read(h, cap + 2, 1);
	uint8_t bar = (uint8_t)pci_harness_cfg_read(h, cap + 4, 1);
	uint32_t off = pci_harness_cfg_read(h, cap + 8, 4);
	uint32_t length = pci_harness_cfg_read(h, cap + 12, 4);

	/* D-PCI-05: cap_len includes the extra fields */
	assert_true(len >= 16);
	if (type != VIREO_PCI_CAP_PCI_CFG)
		assert_int_equal(bar, 0);
	switch (type) {
	case VIREO_PCI_CAP_COMMON_CFG:
		assert_int_equal(off % 4, 0); /* D-PCI-06 */
		assert_true(length >= sizeof(struct vireo_pci_common_cfg));
		h->common = off;
		break;
	case VIREO_PCI_CAP_NOTIFY_CFG:
		assert_int_equal(len, 20);
		h->notify = off;
		h->notify_mult = pci_harness_cfg_read(h, cap + 16, 4);
		/* D-PCI-20/22: 4-aligned, multiplier 0 or a power of 2 that is a multiple of 4 */
		assert_int_equal(off % 4, 0);
		assert_true(h->notify_mult == 0 ||
			    (h->notify_mult % 4 == 0 && !(h->notify_mult & (h->notify_mult - 1))));
		/* D-PCI-21/23: every queue's 4-byte slot inside the area */
		assert_true(length >= (h->dev->num_queues - 1) * h->notify_mult + 4);
		break;
	case VIREO_PCI_CAP_ISR_CFG:
		assert_true(length >= 1);
		h->isr = off;
		break;
	case VIREO_PCI_CAP_DEVICE_CFG:
		assert_int_equal(off % 4, 0); /* D-PCI-30 */
		h->device = off;
		h->device_len = length;
		break;
	case VIREO_PCI_CAP_PCI_CFG:
		assert_int_equal(len, 20);
		h->cap_pci_cfg = cap;
		break;
	default:
		fail_msg("unexpected vendor capability type %u", type);
	}
}

/* Walk the list: D-PCI-01 (terminates, no overlap), 07, 19, 24, 29, 35. */
static void harness_walk_caps(struct pci_harness *h)
{
	uint8_t seen[256] = {0};
	unsigned int steps = 0;
	uint8_t cap;

	assert_true(pci_harness_cfg_read(h, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	h->common = h->notify = h->isr = h->device = UINT32_MAX;
	for (cap = (uint8_t)pci_harness_cfg_read(h, PCI_CAPABILITY_LIST, 1); cap;
	     cap = (uint8_t)pci_harness_cfg_read(h, cap + 1, 1)) {
		uint8_t id = (uint8_t)pci_harness_cfg_read(h, cap, 1);
		unsigned int len = id == PCI_CAP_ID_MSIX ? 12 : pci_harness_cfg_read(h, cap + 2, 1);

		assert_true(cap >= 0x40 && cap % 4 == 0 && cap + len <= 256);
		for (unsigned int i = 0; i < len; i++)
			assert_int_equal(seen[cap + i]++, 0);
		assert_true(++steps < 48);
		if (id == PCI_CAP_ID_MSIX)
			h->cap_msix = cap;
		else if (id == PCI_CAP_ID_VNDR)
			harness_vendor_cap(h, cap);
		else
			fail_msg("unexpected capability %#x", id);
	}
	assert_true(h->common != UINT32_MAX && h->notify != UINT32_MAX && h->isr != UINT32_MAX);
	assert_true(h->cap_pci_cfg && h->cap_msix);
	assert_true((h->dev->config_size != 0) == (h->device != UINT32_MAX));
}

/* Size BAR @bar by writing all ones, then place it at @addr. Return: its size. */
static uint64_t harness_place_bar(struct pci_harness *h, unsigned int bar, uint64_t addr)
{
	uint32_t reg = PCI_BASE_ADDRESS_0 + 4 * bar;
	uint32_t lo = pci_harness_cfg_read(h, reg, 4);
	bool is64 = (lo & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64;
	uint64_t mask;

	pci_harness_cfg_write(h, reg, 4, 0xffffffffu);
	mask = pci_harness_cfg_read(h, reg, 4) & PCI_BASE_ADDRESS_MEM_MASK;
	if (is64) {
		pci_harness_cfg_write(h, reg + 4, 4, 0xffffffffu);
		mask |= (uint64_t)pci_harness_cfg_read(h, reg + 4, 4) << 32;
	} else {
		mask |= 0xffffffff00000000ull;
	}
	pci_harness_cfg_write(h, reg, 4, (uint32_t)addr);
	if (is64)
		pci_harness_cfg_write(h, reg + 4, 4, (uint32_t)(addr >> 32));
	return ~mask + 1;
}

void pci_harness_bus_setup(struct pci_harness *h)
{
	uint64_t size, addr;
	uint32_t flags;

	assert_int_equal(harness_place_bar(h, 0, PCI_HARNESS_BAR0_ADDR), 0x4000);
	size = harness_place_bar(h, 2, PCI_HARNESS_BAR2_ADDR);
	assert_int_equal(vireo_pci_bar_info(h->fn, 2, &addr, &flags), 0);
	assert_int_equal(size, addr);
	assert_int_equal(vireo_pci_bar_address(h->fn, 0, &addr), 0);
	assert_int_equal(addr, PCI_HARNESS_BAR0_ADDR);
	pci_harness_cfg_write(h, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	harness_walk_caps(h);
}

static void harness_msix_write(struct pci_harness *h, uint64_t off, uint32_t v)
{
	assert_int_equal(vireo_pci_bar_write(h->fn, 2, off, 4, v), 0);
}

void pci_harness_msix_setup(struct pci_harness *h, unsigned int n)
{
	uint16_t ctrl = (uint16_t)pci_harness_cfg_read(h, h->cap_msix + PCI_MSIX_FLAGS, 2);

	assert_int_equal(pci_harness_cfg_read(h, h->cap_msix + PCI_MSIX_TABLE, 4), 2);
	for (unsigned int v = 0; v < n; v++) {
		harness_msix_write(h, v * 16, (uint32_t)(PCI_HARNESS_MSI_ADDR + 4 * v));
		harness_msix_write(h, v * 16 + 4, 0);
		harness_msix_write(h, v * 16 + 8, v);
		harness_msix_write(h, v * 16 + 12, 0);
	}
	pci_harness_cfg_write(h, h->cap_msix + PCI_MSIX_FLAGS, 2, ctrl | PCI_MSIX_FLAGS_ENABLE);
}

uint8_t pci_harness_status(struct pci_harness *h)
{
	return (uint8_t)pci_harness_cc_read(h, PCI_CC(device_status), 1);
}

void pci_harness_negotiate(struct pci_harness *h, uint64_t want)
{
	uint64_t offered;
	uint8_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	pci_harness_cc_write(h, PCI_CC(device_status), 1, 0);
	assert_int_equal(pci_harness_status(h), 0);
	pci_harness_cc_write(h, PCI_CC(device_status), 1, VIRTIO_STATUS_ACKNOWLEDGE);
	pci_harness_cc_write(h, PCI_CC(device_status), 1, s);
	pci_harness_cc_write(h, PCI_CC(device_feature_select), 4, 0);
	offered = pci_harness_cc_read(h, PCI_CC(device_feature), 4);
	pci_harness_cc_write(h, PCI_CC(device_feature_select), 4, 1);
	offered |= pci_harness_cc_read(h, PCI_CC(device_feature), 4) << 32;
	h->features = offered & want;
	pci_harness_cc_write(h, PCI_CC(driver_feature_select), 4, 0);
	pci_harness_cc_write(h, PCI_CC(driver_feature), 4, (uint32_t)h->features);
	pci_harness_cc_write(h, PCI_CC(driver_feature_select), 4, 1);
	pci_harness_cc_write(h, PCI_CC(driver_feature), 4, (uint32_t)(h->features >> 32));
	pci_harness_cc_write(h, PCI_CC(device_status), 1, s | VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(pci_harness_status(h), s | VIRTIO_STATUS_FEATURES_OK);
}

static bool harness_notify(struct virtqueue *vq)
{
	struct pci_harness_queue *hq = vq->priv;
	struct pci_harness *h = hq->h;
	bool data = h->features & VIRTIO_BIT(VIRTIO_F_NOTIFICATION_DATA);

	/* §4.1.5.2: queue_notify_off (the index, checked at set-up) times the multiplier */
	return vireo_pci_bar_write(h->fn, 0, h->notify + hq->index * h->notify_mult, data ? 4 : 2,
				   hq->index) == 0;
}

static void harness_ring_init(struct pci_harness *h, struct pci_harness_queue *hq, uint64_t base,
			      uint16_t num)
{
	bool packed = h->features & VIRTIO_BIT(VIRTIO_F_RING_PACKED);
	bool event_idx = h->features & VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);

	memset(pci_harness_g2h(h, base), 0, 0x3000);
	hq->desc = base;
	hq->driver = base + 0x1000;
	hq->device = base + 0x2000;
	if (packed) {
		struct vring_packed_drv_config cfg = {
			.num = num,
			.desc = pci_harness_g2h(h, hq->desc),
			.driver_event = pci_harness_g2h(h, hq->driver),
			.device_event = pci_harness_g2h(h, hq->device),
			.extra = hq->extra,
			.event_idx = event_idx,
		};
		assert_int_equal(virtqueue_packed_init(&hq->vq, &cfg), 0);
	} else {
		struct vring_split_drv_config cfg = {
			.num = num,
			.desc = pci_harness_g2h(h, hq->desc),
			.avail = pci_harness_g2h(h, hq->driver),
			.used = pci_harness_g2h(h, hq->device),
			.extra = hq->extra,
			.event_idx = event_idx,
		};
		assert_int_equal(virtqueue_split_init(&hq->vq, &cfg), 0);
	}
	hq->vq.notify = harness_notify;
	hq->vq.priv = hq;
	hq->vq.index = hq->index;
}

void pci_harness_queue_setup_at(struct pci_harness *h, unsigned int i, uint16_t vector,
				uint64_t base, uint16_t num)
{
	struct pci_harness_queue *hq = &h->q[i];

	assert_true(num <= PCI_HARNESS_QNUM);
	hq->h = h;
	hq->index = i;
	harness_ring_init(h, hq, base, num);
	pci_harness_cc_write(h, PCI_CC(queue_select), 2, i);
	assert_int_equal(pci_harness_cc_read(h, PCI_CC(queue_size), 2), PCI_HARNESS_QNUM);
	pci_harness_cc_write(h, PCI_CC(queue_size), 2, num);
	pci_harness_cc_write(h, PCI_CC(queue_msix_vector), 2, vector);
	/* D-PCI-40: the mapping reads back */
	assert_int_equal(pci_harness_cc_read(h, PCI_CC(queue_msix_vector), 2), vector);
	/* D-PCI-04: halves in either order */
	pci_harness_cc_write(h, PCI_CC(queue_desc) + 4, 4, hq->desc >> 32);
	pci_harness_cc_write(h, PCI_CC(queue_desc), 4, (uint32_t)hq->desc);
	pci_harness_cc_write(h, PCI_CC(queue_driver), 4, (uint32_t)hq->driver);
	pci_harness_cc_write(h, PCI_CC(queue_driver) + 4, 4, hq->driver >> 32);
	pci_harness_cc_write(h, PCI_CC(queue_device), 4, (uint32_t)hq->device);
	pci_harness_cc_write(h, PCI_CC(queue_device) + 4, 4, hq->device >> 32);
	assert_int_equal(pci_harness_cc_read(h, PCI_CC(queue_desc), 4), (uint32_t)hq->desc);
	assert_int_equal(pci_harness_cc_read(h, PCI_CC(queue_desc) + 4, 4), hq->desc >> 32);
	assert_int_equal(pci_harness_cc_read(h, PCI_CC(queue_notify_off), 2), i);
	pci_harness_cc_write(h, PCI_CC(queue_enable), 2, 1);
	assert_int_equal(pci_harness_cc_read(h, PCI_CC(queue_enable), 2), 1);
}

void pci_harness_queue_setup(struct pci_harness *h, unsigned int i, uint16_t vector)
{
	pci_harness_queue_setup_at(h, i, vector, GPA_BASE + (uint64_t)i * QUEUE_STRIDE,
				   PCI_HARNESS_QNUM);
}

void pci_harness_driver_ok(struct pci_harness *h)
{
	uint8_t s = pci_harness_status(h);

	pci_harness_cc_write(h, PCI_CC(device_status), 1, s | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(pci_harness_status(h), s | VIRTIO_STATUS_DRIVER_OK);
}

void pci_harness_up(struct pci_harness *h, uint64_t want, unsigned int nq)
{
	pci_harness_bus_setup(h);
	pci_harness_msix_setup(h, PCI_HARNESS_VECTORS < nq + 1 ? PCI_HARNESS_VECTORS : nq + 1);
	pci_harness_negotiate(h, want);
	pci_harness_cc_write(h, PCI_CC(config_msix_vector), 2, 0);
	assert_int_equal(pci_harness_cc_read(h, PCI_CC(config_msix_vector), 2), 0);
	for (unsigned int i = 0; i < nq; i++)
		pci_harness_queue_setup(h, i, (uint16_t)(i + 1));
	pci_harness_driver_ok(h);
}

void *pci_harness_wait_used(struct pci_harness *h, unsigned int i, uint32_t *len)
{
	for (int n = 0; n < 100; n++) {
		void *t = virtqueue_get_buf(&h->q[i].vq, len);
		int rc;

		if (t)
			return t;
		rc = vireo_event_loop_run_once(&h->loop, 20);
		if (rc < 0 && rc != -EINTR)
			fail_msg("vireo_event_loop_run_once: %d", rc);
	}
	return NULL;
}

void pci_harness_run(struct pci_harness *h, int ms)
{
	for (int n = 0; n < ms / 10; n++) {
		int rc = vireo_event_loop_run_once(&h->loop, 10);

		if (rc < 0 && rc != -EINTR)
			fail_msg("vireo_event_loop_run_once: %d", rc);
	}
}
