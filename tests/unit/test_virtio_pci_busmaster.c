// SPDX-License-Identifier: MIT
/*
 * Bus Master Enable (PCI 3.0 §6.2.2, command register bit 2) and the virtio-pci function
 * model: with the bit clear the function initiates no memory transaction (D-PCI-01: the
 * interface meets the PCI specification). The virtio spec
 * is silent on what becomes of the device, so QEMU is the reference (virtio_write_config()):
 * the live device is stopped and DRIVER_OK cleared; setting the bit again does not restart
 * it; a reset (status 0) and a fresh initialisation do. Checked with a real rng model
 * through the in-process bus (our driver, kicks through the notify eventfd shortcut) and
 * through the register harness (kicks as BAR notify writes, MSI-X messages counted).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <linux/pci_regs.h>
#include <string.h>

#include <vireo/driver.h>
#include <vireo/rng_device.h>
#include <vireo/spec.h>
#include <vireo/virtio_pci_bus.h>
#include <vireo/virtio_rng.h>

#include "tests/lib/pci_harness.h"

/* How long a stopped device gets to (wrongly) answer a request. */
#define BM_WAIT_MS 300

/* ---- through the in-process bus ---- */

struct bm_cfg {
	uint32_t offset, value;
	unsigned int size;
	bool write;
	int ret;
};

struct bm_call {
	struct vireo_pci_bus *pb;
	struct bm_cfg cfg;
	uint8_t status;
	uint64_t pba;
};

/* On the device's thread: one configuration access, then the status and the PBA's first word. */
static void bm_on_device(struct vdev *dev, void *arg)
{
	struct bm_call *c = arg;
	struct vireo_pci_function *fn = vireo_pci_bus_function(c->pb);
	uint32_t cap = 0, pba = 0;

	if (c->cfg.write)
		c->cfg.ret = vireo_pci_config_write(fn, c->cfg.offset, c->cfg.size, c->cfg.value);
	else if (c->cfg.size)
		c->cfg.ret = vireo_pci_config_read(fn, c->cfg.offset, c->cfg.size, &c->cfg.value);
	c->status = vireo_vdev_get_status(dev);
	/* The MSI-X capability is the first one in our function's list. */
	assert_int_equal(vireo_pci_config_read(fn, PCI_CAPABILITY_LIST, 1, &cap), 0);
	assert_int_equal(vireo_pci_config_read(fn, cap + PCI_MSIX_PBA, 4, &pba), 0);
	c->pba = ~0ull;
	(void)vireo_pci_bar_read(fn, pba & PCI_MSIX_PBA_BIR, pba & PCI_MSIX_PBA_OFFSET, 8, &c->pba);
}

static struct bm_call bm_command(struct vireo_pci_bus *pb, uint16_t command)
{
	struct bm_call c = {
		.pb = pb,
		.cfg = {.offset = PCI_COMMAND, .size = 2, .value = command, .write = true}};

	assert_int_equal(vireo_pci_bus_run_in_device(pb, bm_on_device, &c), 0);
	assert_int_equal(c.cfg.ret, 0);
	return c;
}

static struct bm_call bm_peek(struct vireo_pci_bus *pb)
{
	struct bm_call c = {.pb = pb};

	assert_int_equal(vireo_pci_bus_run_in_device(pb, bm_on_device, &c), 0);
	return c;
}

/* Nothing comes back for a request within BM_WAIT_MS, and the used ring holds nothing. */
static void bm_expect_unserved(struct virtio_rng *rng)
{
	struct virtio_rng_request *done[1] = {NULL};

	assert_true(virtio_rng_poll(rng, done, 1, BM_WAIT_MS) <= 0);
	assert_true(virtio_rng_poll(rng, done, 1, 0) <= 0);
	assert_null(done[0]);
}

static void bm_stats_equal(struct rng_device *dev, const struct rng_device_queue_stats *want)
{
	struct rng_device_queue_stats now;

	vireo_rng_device_queue_stats(dev, &now);
	assert_int_equal(now.requests, want->requests);
	assert_int_equal(now.bytes, want->bytes);
	assert_int_equal(now.kicks, want->kicks);
	assert_int_equal(now.calls, want->calls);
}

static void bm_rng_works(struct virtio_rng *rng)
{
	uint8_t b[64];

	for (unsigned int i = 0; i < 50; i++)
		assert_int_equal(virtio_rng_read(rng, b, sizeof(b)), sizeof(b));
}

/* D-PCI-01: no ring read or written, no message, while bus mastering is off. */
static void bm_bus_case(enum virtio_ring_format format)
{
	struct virtio_rng_driver drv = {0};
	struct virtio_rng_request req = {.len = 64};
	struct rng_device_queue_stats before, after;
	struct virtio_device *vd;
	struct virtio_bus bus;
	struct rng_device *dev;
	struct vireo_pci_bus *pb;
	struct virtio_rng *rng;
	struct bm_call c;

	virtio_bus_init(&bus);
	bus.ring_format = format;
	assert_int_equal(virtio_rng_register(&bus, &drv), 0);
	assert_int_equal(vireo_rng_device_new(&dev, NULL), 0);
	assert_int_equal(vireo_pci_bus_new(&pb, &bus, vireo_rng_device_vdev(dev), NULL), 0);
	vd = vireo_pci_bus_virtio_device(pb);
	rng = virtio_rng_from_device(vd);
	assert_non_null(rng);
	bm_rng_works(rng);
	assert_true(vd->config->get_status(vd) & VIRTIO_STATUS_DRIVER_OK);

	/* Bus mastering off: DRIVER_OK goes (QEMU's behaviour), nothing is pending. */
	c = bm_command(pb, PCI_COMMAND_MEMORY);
	assert_false(c.status & VIRTIO_STATUS_DRIVER_OK);
	assert_true(c.status & VIRTIO_STATUS_FEATURES_OK);
	assert_false(vd->config->get_status(vd) & VIRTIO_STATUS_DRIVER_OK);
	vireo_rng_device_queue_stats(dev, &before);
	/* A request and its kick (the notify eventfd shortcut): not served, no message. */
	req.data = virtio_rng_alloc_buffer(rng, req.len);
	assert_non_null(req.data);
	assert_int_equal(virtio_rng_submit(rng, &req), 0);
	bm_expect_unserved(rng);
	bm_stats_equal(dev, &before);
	c = bm_peek(pb);
	assert_int_equal(c.pba, 0);
	assert_false(c.status & VIRTIO_STATUS_DRIVER_OK);

	/* On again: still stopped; DRIVER_OK written by the driver is refused. */
	c = bm_command(pb, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_false(c.status & VIRTIO_STATUS_DRIVER_OK);
	vd->config->set_status(vd, vd->config->get_status(vd) | VIRTIO_STATUS_DRIVER_OK);
	assert_false(vd->config->get_status(vd) & VIRTIO_STATUS_DRIVER_OK);
	bm_expect_unserved(rng);
	bm_stats_equal(dev, &before);
	assert_int_equal(bm_peek(pb).pba, 0);

	/* Reset (the driver's remove) and a fresh initialisation (probe): I/O works again. */
	virtio_rng_free_buffer(rng, req.data);
	virtio_rng_unregister(&bus, &drv);
	assert_int_equal(virtio_rng_register(&bus, &drv), 0);
	rng = virtio_rng_from_device(vd);
	assert_non_null(rng);
	assert_true(vd->config->get_status(vd) & VIRTIO_STATUS_DRIVER_OK);
	bm_rng_works(rng);
	vireo_rng_device_queue_stats(dev, &after);
	assert_true(after.requests >= before.requests + 50);
	assert_false(vireo_pci_device_broken(vireo_pci_bus_driver(pb)));

	vireo_pci_bus_free(pb);
	vireo_rng_device_free(dev);
	virtio_rng_unregister(&bus, &drv);
}

static void test_bus_master_off_split(void **state)
{
	(void)state;
	bm_bus_case(VIRTIO_RING_SPLIT);
}

static void test_bus_master_off_packed(void **state)
{
	(void)state;
	bm_bus_case(VIRTIO_RING_PACKED);
}

/* ---- through the register harness: BAR notify writes, MSI-X messages counted ---- */

#define BM_RING_F (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX))

static unsigned int bm_messages(const struct pci_harness *h)
{
	unsigned int n = h->msix_bad;

	for (unsigned int v = 0; v < PCI_HARNESS_VECTORS; v++)
		n += h->msix[v];
	return n;
}

/* Post a 64-byte request on queue 0 and kick it by a notify write. */
static void bm_post(struct pci_harness *h, uint8_t *buf, uint64_t gpa)
{
	struct virtio_sg sg = {.addr = gpa, .len = 64};

	memset(buf, 0, 64);
	virtqueue_enable_cb(&h->q[0].vq);
	assert_int_equal(virtqueue_add_inbuf(&h->q[0].vq, &sg, 1, buf), 0);
	virtqueue_kick(&h->q[0].vq);
}

/* D-PCI-01: a notify write while bus mastering is off reads no ring and sends nothing. */
static void test_bus_master_off_notify_write(void **state)
{
	struct rng_device_queue_stats before;
	struct pci_harness h;
	unsigned int sent;
	uint32_t len = 0;
	uint64_t gpa;
	uint8_t *buf;

	(void)state;
	pci_harness_init_rng(&h, NULL);
	pci_harness_up(&h, BM_RING_F, 1);
	gpa = pci_harness_galloc(&h, 64);
	buf = pci_harness_g2h(&h, gpa);
	bm_post(&h, buf, gpa);
	assert_ptr_equal(pci_harness_wait_used(&h, 0, &len), buf);
	assert_int_equal(h.msix[1], 1);

	pci_harness_cfg_write(&h, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_false(pci_harness_status(&h) & VIRTIO_STATUS_DRIVER_OK);
	vireo_rng_device_queue_stats(h.rng, &before);
	sent = bm_messages(&h);
	/* A notify write while stopped: the ring is not read, no buffer used, no message. */
	bm_post(&h, buf, gpa);
	assert_null(pci_harness_wait_used(&h, 0, &len));
	bm_stats_equal(h.rng, &before);
	assert_int_equal(bm_messages(&h), sent);
	/* A configuration change while stopped: no message either (DRIVER_OK is gone). */
	vireo_vdev_config_changed(h.dev);
	pci_harness_run(&h, 30);
	assert_int_equal(bm_messages(&h), sent);
	pci_harness_cfg_write(&h, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	pci_harness_run(&h, 30);
	assert_null(pci_harness_wait_used(&h, 0, &len));
	bm_stats_equal(h.rng, &before);
	assert_int_equal(bm_messages(&h), sent);
	assert_false(pci_harness_status(&h) & VIRTIO_STATUS_DRIVER_OK);

	/* Reset and a fresh initialisation: served again, on its vector. */
	pci_harness_up(&h, BM_RING_F, 1);
	bm_post(&h, buf, gpa);
	assert_ptr_equal(pci_harness_wait_used(&h, 0, &len), buf);
	assert_int_equal(len, 64);
	assert_int_equal(bm_messages(&h), sent + 1);
	pci_harness_destroy(&h);
}

/* DRIVER_OK while bus mastering is off would let the device read its rings: refused. */
static void test_bus_master_off_driver_ok_refused(void **state)
{
	struct pci_harness h;

	(void)state;
	pci_harness_init_rng(&h, NULL);
	pci_harness_bus_setup(&h);
	pci_harness_msix_setup(&h, 2);
	pci_harness_negotiate(&h, BM_RING_F);
	pci_harness_queue_setup(&h, 0, 1);
	pci_harness_cfg_write(&h, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	pci_harness_cc_write(&h, PCI_CC(device_status), 1,
			     pci_harness_status(&h) | VIRTIO_STATUS_DRIVER_OK);
	assert_false(pci_harness_status(&h) & VIRTIO_STATUS_DRIVER_OK);
	/* With the bit set the same write is taken. */
	pci_harness_cfg_write(&h, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	pci_harness_driver_ok(&h);
	assert_true(pci_harness_status(&h) & VIRTIO_STATUS_DRIVER_OK);
	pci_harness_destroy(&h);
}

/*
 * D-PCI-01: a queue enabled after bus mastering stopped the device would be served once
 * the bit is set again: refused (reads 0) until a reset. A queue enabled before the stop
 * keeps reading 1, as QEMU's does; the device serves neither until a reset.
 */
static void test_bus_master_off_queue_enable_refused(void **state)
{
	struct pci_harness h;

	(void)state;
	pci_harness_init_blk(&h, NULL);
	pci_harness_up(&h, BM_RING_F, 1);
	pci_harness_cfg_write(&h, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_false(pci_harness_status(&h) & VIRTIO_STATUS_DRIVER_OK);
	pci_harness_cc_write(&h, PCI_CC(queue_select), 2, 1);
	pci_harness_cc_write(&h, PCI_CC(queue_desc), 8, PCI_HARNESS_GPA_BASE + 0x8000);
	pci_harness_cc_write(&h, PCI_CC(queue_driver), 8, PCI_HARNESS_GPA_BASE + 0x9000);
	pci_harness_cc_write(&h, PCI_CC(queue_device), 8, PCI_HARNESS_GPA_BASE + 0xa000);
	pci_harness_cc_write(&h, PCI_CC(queue_enable), 2, 1);
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(queue_enable), 2), 0);
	assert_false(h.dev->queues[1].enabled);
	/* The bit back on does not change that: only a reset does. */
	pci_harness_cfg_write(&h, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	pci_harness_cc_write(&h, PCI_CC(queue_enable), 2, 1);
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(queue_enable), 2), 0);
	assert_false(h.dev->queues[1].enabled);
	pci_harness_cc_write(&h, PCI_CC(queue_select), 2, 0);
	assert_int_equal(pci_harness_cc_read(&h, PCI_CC(queue_enable), 2), 1);
	assert_false(h.dev->queues[0].enabled);
	assert_false(pci_harness_status(&h) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	/* After a reset both queues come up. */
	pci_harness_up(&h, BM_RING_F, 2);
	assert_true(h.dev->queues[0].enabled && h.dev->queues[1].enabled);
	pci_harness_destroy(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bus_master_off_split),
		cmocka_unit_test(test_bus_master_off_packed),
		cmocka_unit_test(test_bus_master_off_notify_write),
		cmocka_unit_test(test_bus_master_off_driver_ok_refused),
		cmocka_unit_test(test_bus_master_off_queue_enable_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
