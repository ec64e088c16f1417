// SPDX-License-Identifier: MIT
/*
 * Device-type feature bits 64-127 (virtio 1.2+ §2.2): a test-only model offers bits 3, 55
 * (low word) and 65, 90, 127 (high word); a test-only driver understands 3, 65, 100, 127 and
 * some numbers from 128 up. Through loopback, the in-process PCI bus and the in-process MMIO
 * bus the driver sees the offer, accepts exactly the offered bits it knows (3, 65, 127) and
 * the device acks exactly those. At the register level a driver writing bits 64+ the device
 * did not offer gets FEATURES_OK refused, as for low bits; select values 4 and up read 0.
 * Over vhost-user (GET_FEATURES is a u64) the high bits are never offered.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vireo/device.h>
#include <vireo/driver.h>
#include <vireo/event_loop.h>
#include <vireo/loopback.h>
#include <vireo/spec.h>
#include <vireo/vhost_user_backend.h>
#include <vireo/vhost_user_frontend.h>
#include <vireo/virtio_mmio_bus.h>
#include <vireo/virtio_mmio_function.h>
#include <vireo/virtio_pci_bus.h>

#include "tests/lib/pci_harness.h"

/* A device id no real driver claims: only the test driver below binds it. */
#define HF_DEVICE_ID 63u
#define HF_OFFER_LO (VIRTIO_BIT(3) | VIRTIO_BIT(55))
#define HF_OFFER_HI (VIRTIO_BIT(65 - 64) | VIRTIO_BIT(90 - 64) | VIRTIO_BIT(127 - 64))
/* What the driver's table and the offer have in common. */
#define HF_WANT_LO VIRTIO_BIT(3)
#define HF_WANT_HI (VIRTIO_BIT(65 - 64) | VIRTIO_BIT(127 - 64))
#define HF_UNOFFERED_BIT 100u /* a high bit the driver knows and the device does not offer */
#define S_AD (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER)

/* ---- the test-only device model ---- */

struct hf_model {
	struct vdev vdev; /* first: the ops cast back */
	unsigned int set_calls;
	uint64_t set_lo, set_hi, set_hi_ever;
};

static int hf_set_features_ext(struct vdev *dev, uint64_t features, uint64_t features_hi)
{
	struct hf_model *m = (struct hf_model *)dev;

	m->set_calls++;
	m->set_lo = features;
	m->set_hi = features_hi;
	m->set_hi_ever |= features_hi;
	return 0;
}

static int hf_activate(struct vdev *dev)
{
	(void)dev;
	return 0;
}

static void hf_queue_notify(struct vdev *dev, struct vdev_queue *q)
{
	(void)dev;
	(void)q;
}

static void hf_reset(struct vdev *dev)
{
	(void)dev;
}

static const struct vdev_ops hf_ops = {
	.set_features_ext = hf_set_features_ext,
	.activate = hf_activate,
	.queue_notify = hf_queue_notify,
	.reset = hf_reset,
};

static void hf_model_init(struct hf_model *m)
{
	memset(m, 0, sizeof(*m));
	assert_int_equal(
		vireo_vdev_init(&m->vdev, &hf_ops, "hf", HF_DEVICE_ID, HF_OFFER_LO, 1, 64, NULL, 0),
		0);
	assert_int_equal(vireo_vdev_offer_features_hi(&m->vdev, HF_OFFER_HI), 0);
}

/* The device's view, copied on its own thread. */
struct hf_seen {
	uint64_t acked, acked_hi, set_lo, set_hi;
	unsigned int set_calls;
	uint8_t status;
};

static void hf_snapshot(struct vdev *dev, void *arg)
{
	struct hf_model *m = (struct hf_model *)dev;
	struct hf_seen *s = arg;

	s->acked = dev->acked_features;
	s->acked_hi = dev->acked_features_hi;
	s->set_lo = m->set_lo;
	s->set_hi = m->set_hi;
	s->set_calls = m->set_calls;
	s->status = vireo_vdev_get_status(dev);
}

/* ---- the test-only driver ---- */

static const unsigned int hf_table[] = {3, 65, HF_UNOFFERED_BIT, 127, 128, 200, UINT_MAX};
static const struct virtio_device_id hf_ids[] = {{HF_DEVICE_ID, 0xffffffffu}, {0, 0}};

struct hf_driver {
	struct virtio_driver drv; /* first: the probe casts back */
	unsigned int probes;
	uint64_t seen, seen_hi;
};

static int hf_probe(struct virtio_device *vdev)
{
	struct hf_driver *d = (struct hf_driver *)vdev->driver;

	d->probes++;
	d->seen = vdev->features;
	d->seen_hi = vdev->features_hi;
	return 0;
}

static void hf_driver_init(struct hf_driver *d, struct virtio_bus *bus)
{
	memset(d, 0, sizeof(*d));
	d->drv.name = "hf";
	d->drv.id_table = hf_ids;
	d->drv.feature_table = hf_table;
	d->drv.feature_table_size = sizeof(hf_table) / sizeof(hf_table[0]);
	d->drv.probe = hf_probe;
	virtio_bus_init(bus);
	assert_int_equal(virtio_register_driver(bus, &d->drv), 0);
}

/*
 * R-BF-04/05: the driver accepted only offered bits it knows, 0-127; the device acked
 * exactly what the driver wrote.
 */
static void hf_check_bound(const struct hf_driver *d, const struct virtio_device *vdev,
			   const struct hf_seen *s)
{
	assert_int_equal(d->probes, 1);
	assert_true((s->status & VIRTIO_STATUS_FEATURES_OK) != 0);
	assert_int_equal(d->seen & VIRTIO_DEVICE_TYPE_FEATURES, HF_WANT_LO);
	assert_int_equal(d->seen_hi, HF_WANT_HI);
	assert_true(virtio_has_feature(vdev, 3));
	assert_false(virtio_has_feature(vdev, 55));
	assert_true(virtio_has_feature(vdev, 65));
	assert_false(virtio_has_feature(vdev, 90));
	assert_false(virtio_has_feature(vdev, HF_UNOFFERED_BIT));
	assert_true(virtio_has_feature(vdev, 127));
	assert_false(virtio_has_feature(vdev, 128));
	assert_false(virtio_has_feature(vdev, 191)); /* 191 % 64 == 63, set in the high word */
	assert_false(virtio_has_feature(vdev, UINT_MAX));
	/* The device's acked set is the driver's, word for word (transport bits aside). */
	assert_int_equal(s->acked_hi, d->seen_hi);
	assert_int_equal(s->acked & VIRTIO_DEVICE_TYPE_FEATURES,
			 d->seen & VIRTIO_DEVICE_TYPE_FEATURES);
	assert_true(s->acked & VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_int_equal(s->set_calls, 1);
	assert_int_equal(s->set_hi, HF_WANT_HI);
	assert_int_equal(s->set_lo, s->acked);
}

static void test_loopback(void **state)
{
	struct virtio_bus bus;
	struct hf_driver d;
	struct hf_model m;
	struct loopback *lb;
	struct hf_seen s;

	(void)state;
	hf_model_init(&m);
	hf_driver_init(&d, &bus);
	assert_int_equal(vireo_loopback_new(&lb, &bus, &m.vdev, 0), 0);
	assert_int_equal(vireo_loopback_run_in_device(lb, hf_snapshot, &s), 0);
	hf_check_bound(&d, vireo_loopback_virtio_device(lb), &s);
	vireo_loopback_free(lb);
	virtio_unregister_driver(&bus, &d.drv);
}

static void test_pci_bus(void **state)
{
	struct virtio_bus bus;
	struct hf_driver d;
	struct hf_model m;
	struct vireo_pci_bus *pb;
	struct hf_seen s;

	(void)state;
	hf_model_init(&m);
	hf_driver_init(&d, &bus);
	assert_int_equal(vireo_pci_bus_new(&pb, &bus, &m.vdev, NULL), 0);
	assert_int_equal(vireo_pci_bus_run_in_device(pb, hf_snapshot, &s), 0);
	hf_check_bound(&d, vireo_pci_bus_virtio_device(pb), &s);
	vireo_pci_bus_free(pb);
	virtio_unregister_driver(&bus, &d.drv);
}

static void test_mmio_bus(void **state)
{
	struct virtio_bus bus;
	struct hf_driver d;
	struct hf_model m;
	struct vireo_mmio_bus *mb;
	struct hf_seen s;

	(void)state;
	hf_model_init(&m);
	hf_driver_init(&d, &bus);
	assert_int_equal(vireo_mmio_bus_new(&mb, &bus, &m.vdev, NULL), 0);
	assert_int_equal(
		vireo_mmio_function_run_in_device(vireo_mmio_bus_function(mb), hf_snapshot, &s), 0);
	hf_check_bound(&d, vireo_mmio_bus_virtio_device(mb), &s);
	vireo_mmio_bus_free(mb);
	virtio_unregister_driver(&bus, &d.drv);
}

/* ---- the core alone ---- */

/* D-BF-04: an unoffered bit 64+ gets FEATURES_OK refused, as a low one does. */
static void test_core_refuses_unoffered_high(void **state)
{
	const uint64_t v1 = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	struct hf_model m;

	(void)state;
	hf_model_init(&m);
	assert_int_equal(vireo_vdev_set_driver_features_hi(&m.vdev, HF_WANT_HI), -EPERM);
	assert_int_equal(vireo_vdev_set_status(&m.vdev, VIRTIO_STATUS_ACKNOWLEDGE), 0);
	/* The offer is fixed once the driver has begun. */
	assert_int_equal(vireo_vdev_offer_features_hi(&m.vdev, 0), -EBUSY);
	assert_int_equal(vireo_vdev_set_status(&m.vdev, S_AD), 0);
	assert_int_equal(vireo_vdev_set_driver_features(&m.vdev, v1 | HF_WANT_LO), 0);
	assert_int_equal(vireo_vdev_set_driver_features_hi(
				 &m.vdev, HF_WANT_HI | VIRTIO_BIT(HF_UNOFFERED_BIT - 64)),
			 0);
	assert_int_equal(vireo_vdev_set_status(&m.vdev, S_AD | VIRTIO_STATUS_FEATURES_OK), -EPERM);
	assert_int_equal(vireo_vdev_get_status(&m.vdev), S_AD);
	assert_int_equal(m.set_calls, 0);
	assert_int_equal(m.vdev.acked_features_hi, 0);
	/* The offered subset is accepted, and only it. */
	assert_int_equal(vireo_vdev_set_driver_features_hi(&m.vdev, HF_WANT_HI), 0);
	assert_int_equal(vireo_vdev_set_status(&m.vdev, S_AD | VIRTIO_STATUS_FEATURES_OK), 0);
	assert_int_equal(m.vdev.acked_features_hi, HF_WANT_HI);
	assert_int_equal(m.set_hi, HF_WANT_HI);
	assert_true(vdev_has_feature(&m.vdev, 65));
	assert_false(vdev_has_feature(&m.vdev, 90));
	assert_false(vdev_has_feature(&m.vdev, 128));
	assert_false(vdev_has_feature(&m.vdev, UINT_MAX));
	/* After FEATURES_OK the driver's bits are final; reset clears both words. */
	assert_int_equal(vireo_vdev_set_driver_features_hi(&m.vdev, 0), -EPERM);
	vireo_vdev_reset(&m.vdev);
	assert_int_equal(m.vdev.acked_features_hi, 0);
	assert_int_equal(m.vdev.driver_features_hi, 0);
	assert_int_equal(m.vdev.offered_features_hi, HF_OFFER_HI);
	/* vhost-user's entry point carries no high word: a high offer is never acked there. */
	assert_int_equal(vireo_vdev_negotiate_features(&m.vdev, v1 | HF_WANT_LO), 0);
	assert_int_equal(m.vdev.acked_features_hi, 0);
	vireo_vdev_destroy(&m.vdev);
}

/* The 128-bit helpers the transports share: bounds-checked, no shift by 64 or more. */
static void test_feature_helpers(void **state)
{
	uint64_t lo = 0, hi = 0;

	(void)state;
	assert_false(vireo_feature_in(~0ull, ~0ull, 128));
	assert_false(vireo_feature_in(~0ull, ~0ull, UINT_MAX));
	assert_true(vireo_feature_in(0, VIRTIO_BIT(63), 127));
	assert_false(vireo_feature_in(VIRTIO_BIT(63), 0, 127));
	assert_true(vireo_feature_in(VIRTIO_BIT(63), 0, 63));
	assert_true(vireo_feature_set_dword(&lo, &hi, 3, 0x80000000u));
	assert_true(vireo_feature_set_dword(&lo, &hi, 0, 8));
	assert_int_equal(hi, VIRTIO_BIT(63));
	assert_int_equal(lo, 8);
	assert_false(vireo_feature_set_dword(&lo, &hi, 4, 1));
	assert_false(vireo_feature_set_dword(&lo, &hi, UINT32_MAX, 1));
	assert_int_equal(hi, VIRTIO_BIT(63));
	assert_int_equal(vireo_feature_dword(lo, hi, 3), 0x80000000u);
	assert_int_equal(vireo_feature_dword(lo, hi, 2), 0);
	assert_int_equal(vireo_feature_dword(lo, hi, 4), 0);
	assert_int_equal(vireo_feature_dword(~0ull, ~0ull, UINT32_MAX), 0);
}

/* ---- the virtio-pci function's registers ---- */

static uint32_t pci_dword(struct pci_harness *h, uint32_t sel_field, uint32_t field, uint32_t sel)
{
	pci_harness_cc_write(h, sel_field, 4, sel);
	return (uint32_t)pci_harness_cc_read(h, field, 4);
}

/*
 * D-PCI-08: device_feature shows bits select*32.. of the 128-bit offer, 0 from select 4 up;
 * D-PCI-09: driver_feature reads back the valid bits written at each select; D-BF-04: an
 * unoffered bit 64+ gets FEATURES_OK refused.
 */
static void test_pci_registers(void **state)
{
	const uint32_t dsel = PCI_CC(device_feature_select), dfeat = PCI_CC(device_feature);
	const uint32_t rsel = PCI_CC(driver_feature_select), rfeat = PCI_CC(driver_feature);
	struct pci_harness h;
	uint64_t offered;

	(void)state;
	pci_harness_init_rng(&h, NULL);
	assert_int_equal(vireo_vdev_offer_features_hi(h.dev, HF_OFFER_HI), 0);
	pci_harness_bus_setup(&h);
	offered = h.dev->offered_features;
	assert_int_equal(pci_dword(&h, dsel, dfeat, 0), (uint32_t)offered);
	assert_int_equal(pci_dword(&h, dsel, dfeat, 1), (uint32_t)(offered >> 32));
	assert_int_equal(pci_dword(&h, dsel, dfeat, 2), (uint32_t)HF_OFFER_HI);
	assert_int_equal(pci_dword(&h, dsel, dfeat, 3), (uint32_t)(HF_OFFER_HI >> 32));
	assert_int_equal(pci_dword(&h, dsel, dfeat, 4), 0);
	assert_int_equal(pci_dword(&h, dsel, dfeat, 0xffffffffu), 0);
	pci_harness_cc_write(&h, PCI_CC(device_status), 1, VIRTIO_STATUS_ACKNOWLEDGE);
	pci_harness_cc_write(&h, PCI_CC(device_status), 1, S_AD);
	for (uint32_t sel = 0; sel < 5; sel++) {
		pci_harness_cc_write(&h, rsel, 4, sel);
		pci_harness_cc_write(&h, rfeat, 4, 0xffffffffu);
		assert_int_equal(pci_harness_cc_read(&h, rfeat, 4),
				 vireo_feature_dword(offered, HF_OFFER_HI, sel));
	}
	/* Now VERSION_1 plus 65 and the unoffered 100. */
	assert_int_equal(pci_dword(&h, rsel, rfeat, 0), (uint32_t)offered);
	pci_harness_cc_write(&h, rsel, 4, 0);
	pci_harness_cc_write(&h, rfeat, 4, 0);
	pci_harness_cc_write(&h, rsel, 4, 1);
	pci_harness_cc_write(&h, rfeat, 4, 1);
	pci_harness_cc_write(&h, rsel, 4, 2);
	pci_harness_cc_write(&h, rfeat, 4, 1u << 1);
	pci_harness_cc_write(&h, rsel, 4, 3);
	pci_harness_cc_write(&h, rfeat, 4, 1u << (HF_UNOFFERED_BIT - 96));
	assert_int_equal(pci_harness_cc_read(&h, rfeat, 4), 0); /* D-PCI-09 */
	pci_harness_cc_write(&h, PCI_CC(device_status), 1, S_AD | VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(pci_harness_status(&h), S_AD);
	/* Without the unoffered bit FEATURES_OK holds and the device acks bit 65. */
	pci_harness_cc_write(&h, rfeat, 4, 0);
	pci_harness_cc_write(&h, PCI_CC(device_status), 1, S_AD | VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(pci_harness_status(&h), S_AD | VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(h.dev->acked_features_hi, VIRTIO_BIT(65 - 64));
	assert_true(vdev_has_feature(h.dev, 65));
	pci_harness_destroy(&h);
}

/* ---- the virtio-mmio function's registers ---- */

#define MMIO_RAM (64u << 10)
#define MMIO_GPA 0x10000000ull

static void mmio_irq_set(void *opaque, bool asserted)
{
	(void)opaque;
	(void)asserted;
}

static const struct vireo_mmio_host_ops mmio_host = {.irq_set = mmio_irq_set};

static uint32_t mmio_rd(struct vireo_mmio_function *fn, uint64_t off)
{
	uint32_t v = 0xdeadbeefu;

	assert_int_equal(vireo_mmio_read(fn, off, 4, &v), 0);
	return v;
}

static void mmio_wr(struct vireo_mmio_function *fn, uint64_t off, uint32_t v)
{
	assert_int_equal(vireo_mmio_write(fn, off, 4, v), 0);
}

static uint32_t mmio_device_dword(struct vireo_mmio_function *fn, uint32_t sel)
{
	/* The select first, as a driver must. */
	mmio_wr(fn, VIREO_MMIO_DEVICE_FEATURES_SEL, sel);
	return mmio_rd(fn, VIREO_MMIO_DEVICE_FEATURES);
}

static void mmio_driver_dword(struct vireo_mmio_function *fn, uint32_t sel, uint32_t v)
{
	mmio_wr(fn, VIREO_MMIO_DRIVER_FEATURES_SEL, sel);
	mmio_wr(fn, VIREO_MMIO_DRIVER_FEATURES, v);
}

/*
 * DeviceFeatures shows bits DeviceFeaturesSel*32.. of the 128-bit offer, 0 from 4 up;
 * D-BF-04: an unoffered bit 64+ written through DriverFeaturesSel 3 gets FEATURES_OK refused.
 */
static void test_mmio_registers(void **state)
{
	struct vireo_mmio_function *fn;
	struct guest_mem mem;
	struct hf_model m;
	struct hf_seen s;
	void *ram;

	(void)state;
	ram = mmap(NULL, MMIO_RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(ram != MAP_FAILED);
	vireo_guest_mem_init(&mem);
	assert_int_equal(vireo_guest_mem_add_region(&mem, MMIO_GPA, MMIO_RAM, ram), 0);
	hf_model_init(&m);
	assert_int_equal(vireo_mmio_function_new(&m.vdev, &mem, NULL, &mmio_host, NULL, &fn), 0);
	assert_int_equal(mmio_device_dword(fn, 0) & (uint32_t)HF_OFFER_LO, (uint32_t)HF_OFFER_LO);
	assert_int_equal(mmio_device_dword(fn, 1) & (uint32_t)(HF_OFFER_LO >> 32),
			 (uint32_t)(HF_OFFER_LO >> 32));
	assert_int_equal(mmio_device_dword(fn, 2), (uint32_t)HF_OFFER_HI);
	assert_int_equal(mmio_device_dword(fn, 3), (uint32_t)(HF_OFFER_HI >> 32));
	assert_int_equal(mmio_device_dword(fn, 4), 0);
	assert_int_equal(mmio_device_dword(fn, 0xffffffffu), 0);
	mmio_wr(fn, VIREO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	mmio_wr(fn, VIREO_MMIO_STATUS, S_AD);
	mmio_driver_dword(fn, 1, 1); /* VERSION_1 */
	mmio_driver_dword(fn, 2, 1u << 1);
	mmio_driver_dword(fn, 3, (1u << 31) | (1u << (HF_UNOFFERED_BIT - 96)));
	/* No bits beyond 127: a write there is refused and changes nothing. */
	mmio_wr(fn, VIREO_MMIO_DRIVER_FEATURES_SEL, 4);
	assert_int_equal(vireo_mmio_write(fn, VIREO_MMIO_DRIVER_FEATURES, 4, 1), -EINVAL);
	mmio_wr(fn, VIREO_MMIO_STATUS, S_AD | VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(mmio_rd(fn, VIREO_MMIO_STATUS), S_AD);
	mmio_driver_dword(fn, 3, 1u << 31);
	mmio_wr(fn, VIREO_MMIO_STATUS, S_AD | VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(mmio_rd(fn, VIREO_MMIO_STATUS), S_AD | VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(vireo_mmio_function_run_in_device(fn, hf_snapshot, &s), 0);
	assert_int_equal(s.acked_hi, VIRTIO_BIT(65 - 64) | VIRTIO_BIT(127 - 64));
	assert_int_equal(s.set_hi, s.acked_hi);
	vireo_mmio_function_free(fn);
	vireo_vdev_destroy(&m.vdev);
	munmap(ram, MMIO_RAM);
}

/* ---- vhost-user: GET_FEATURES and SET_FEATURES are a u64 ---- */

struct hf_server {
	char dir[64];
	char sock[128];
	struct event_loop loop;
	struct vhost_user_backend *b;
	pthread_t thread;
};

static void *hf_server_thread(void *arg)
{
	struct hf_server *s = arg;

	assert_int_equal(vireo_vhost_user_backend_run(s->b), 0);
	return NULL;
}

/*
 * D-BF-05: over vhost-user the device offers no bit it could not carry: bits 64-127 never
 * reach the front-end, so its driver accepts none of them and the device acks none.
 */
static void test_vhost_user_never_offers_high(void **state)
{
	struct vhost_user_backend_options vo = {0};
	struct vhost_user_frontend_options fo = {0};
	struct vhost_user_frontend *fe;
	struct virtio_device *vdev;
	struct hf_server srv = {0};
	struct virtio_bus bus;
	struct hf_driver d;
	struct hf_model m;

	(void)state;
	hf_model_init(&m);
	strcpy(srv.dir, "/tmp/vireo-hf-XXXXXX");
	assert_non_null(mkdtemp(srv.dir));
	snprintf(srv.sock, sizeof(srv.sock), "%s/sock", srv.dir);
	vo.socket_path = srv.sock;
	assert_int_equal(vireo_event_loop_init(&srv.loop), 0);
	assert_int_equal(vireo_vhost_user_backend_new(&srv.b, &m.vdev, &srv.loop, &vo), 0);
	assert_int_equal(pthread_create(&srv.thread, NULL, hf_server_thread, &srv), 0);

	hf_driver_init(&d, &bus);
	fo.socket_path = srv.sock;
	fo.device_id = HF_DEVICE_ID;
	fo.dma_bytes = 1u << 20;
	fo.timeout_ms = 2000;
	assert_int_equal(vireo_vhost_user_frontend_new(&fe, &bus, &fo), 0);
	vdev = vireo_vhost_user_frontend_virtio_device(fe);
	assert_null(vdev->config->get_features_hi);
	assert_int_equal(d.probes, 1);
	assert_int_equal(d.seen & VIRTIO_DEVICE_TYPE_FEATURES, HF_WANT_LO);
	assert_int_equal(d.seen_hi, 0);
	assert_true(virtio_has_feature(vdev, 3));
	assert_false(virtio_has_feature(vdev, 65));
	assert_false(virtio_has_feature(vdev, 127));
	vireo_vhost_user_frontend_free(fe);
	virtio_unregister_driver(&bus, &d.drv);

	/* The server thread has stopped: its model's record is ours to read. */
	vireo_event_loop_stop(&srv.loop);
	assert_int_equal(pthread_join(srv.thread, NULL), 0);
	assert_true(m.set_calls >= 1);
	assert_int_equal(m.set_hi_ever, 0);
	vireo_vhost_user_backend_free(srv.b);
	vireo_event_loop_destroy(&srv.loop);
	vireo_vdev_destroy(&m.vdev);
	unlink(srv.sock);
	rmdir(srv.dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_feature_helpers),
		cmocka_unit_test(test_core_refuses_unoffered_high),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_pci_bus),
		cmocka_unit_test(test_mmio_bus),
		cmocka_unit_test(test_pci_registers),
		cmocka_unit_test(test_mmio_registers),
		cmocka_unit_test(test_vhost_user_never_offers_high),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
