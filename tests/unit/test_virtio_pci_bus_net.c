// SPDX-License-Identifier: MIT
/*
 * Our virtio-net driver (drivers/net*.c) x our virtio-net device model over our virtio-pci
 * driver and function model through the in-process bus (virtio_pci_bus.c). The model echoes
 * every frame it is sent back into the driver's receive queue, so each frame goes both ways
 * through the register path. Split and packed rings, with and without EVENT_IDX, INDIRECT,
 * IN_ORDER and MRG_RXBUF (NOTIFICATION_DATA always); MTUs above one mergeable buffer; the
 * control queue (CTRL_MAC_ADDR, CTRL_RX) checked by the model's receive filter; MSI-X per
 * queue, shared, or polling; a model offering MQ (our driver uses one queue pair and must not
 * take it). Every frame's bytes are verified. The same net cases run over the in-process
 * virtio-mmio bus too (virtio_mmio_bus.c; its blk, rng and two net mixes are in
 * test_virtio_mmio_driver.c), without the MSI-X checks. Not here: VLAN filtering (neither our driver nor
 * the model has CTRL_VLAN) and more than one queue pair (our driver runs one).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/net_device.h>
#include <vireo/spec.h>
#include <vireo/virtio_mmio_bus.h>
#include <vireo/virtio_net.h>
#include <vireo/virtio_pci_bus.h>

#include "tests/lib/sleep_wake.h"

#define BURST 32u
#define FRAME_CAP 4200u /* above the largest MTU a mix offers, plus the Ethernet header */

struct net_mix {
	enum virtio_ring_format format;
	bool in_order;
	bool no_event_idx;
	bool no_indirect;
	bool mrg;
	bool no_ctrl;		  /* the driver does not take CTRL_VQ */
	unsigned int queue_pairs; /* offered by the model (2: MQ offered) */
	uint16_t mtu;		  /* offered by the model (0: 1500) */
	unsigned int msix_vectors;
	bool poll;
	unsigned int want_vectors;
	bool mmio; /* over the virtio-mmio bus instead (no MSI-X: the vector fields unused) */
};

struct net_rig {
	struct virtio_net_driver drv;
	struct virtio_bus bus;
	struct net_device *dev;
	struct vireo_pci_bus *pb;
	struct vireo_mmio_bus *mb;
	struct virtio_net *net;
	struct virtio_device *vdev;
	uint8_t mac[6];
	size_t max_len; /* the longest frame: MTU plus the Ethernet header */
};

static const uint8_t rig_mac[6] = {0x52, 0x54, 0, 0x11, 0x22, 0x33};

/* The model's transmit handler, on the function's thread: the frame comes straight back. */
static void net_echo(void *opaque, const struct net_packet *pkt)
{
	struct net_packet copy = *pkt;

	memset(&copy.vnet, 0, sizeof(copy.vnet));
	(void)vireo_net_device_receive(opaque, &copy);
}

static void rig_up(struct net_rig *r, const struct net_mix *m)
{
	struct net_device_options opt = {
		.queue_size = 256, .queue_pairs = m->queue_pairs, .mtu = m->mtu};
	struct vireo_pci_bus_options o = {0};
	struct vdev *vd;

	memset(r, 0, sizeof(*r));
	memcpy(r->mac, rig_mac, 6);
	memcpy(opt.mac, rig_mac, 6);
	o.function.msix_vectors = m->msix_vectors;
	o.driver.poll = m->poll;
	virtio_bus_init(&r->bus);
	r->bus.ring_format = m->format;
	r->bus.ring_in_order = m->in_order;
	r->drv.options = (m->mrg ? VIRTIO_NET_DRIVER_MRG_RXBUF : 0) |
			 (m->no_ctrl ? VIRTIO_NET_DRIVER_NO_CTRL : 0);
	assert_int_equal(virtio_net_register(&r->bus, &r->drv), 0);
	assert_int_equal(vireo_net_device_new(&r->dev, &opt), 0);
	vireo_net_device_set_tx_handler(r->dev, net_echo, r->dev);
	vd = vireo_net_device_vdev(r->dev);
	if (m->no_event_idx)
		vd->offered_features &= ~VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);
	if (m->no_indirect)
		vd->offered_features &= ~VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC);
	if (m->mmio) {
		assert_int_equal(vireo_mmio_bus_new(&r->mb, &r->bus, vd, NULL), 0);
		r->vdev = vireo_mmio_bus_virtio_device(r->mb);
	} else {
		assert_int_equal(vireo_pci_bus_new(&r->pb, &r->bus, vd, &o), 0);
		r->vdev = vireo_pci_bus_virtio_device(r->pb);
	}
	r->net = virtio_net_from_device(r->vdev);
	assert_non_null(r->net);
	r->max_len = virtio_net_mtu(r->net) + 14u;
	assert_int_equal(virtio_net_mtu(r->net), m->mtu ? m->mtu : 1500u);
}

static void rig_down(struct net_rig *r)
{
	vireo_pci_bus_free(r->pb);
	vireo_mmio_bus_free(r->mb);
	vireo_net_device_free(r->dev);
	virtio_net_unregister(&r->bus, &r->drv);
}

/* What was negotiated is what the mix asked for. */
static void rig_check(struct net_rig *r, const struct net_mix *m)
{
	struct virtio_device *v = r->vdev;
	uint8_t mac[6];

	assert_string_equal(v->config->bus_name(v), m->mmio ? "virtio-mmio" : "virtio-pci");
	assert_int_equal(virtio_has_feature(v, VIRTIO_F_RING_PACKED),
			 m->format == VIRTIO_RING_PACKED);
	assert_int_equal(virtio_has_feature(v, VIRTIO_F_RING_EVENT_IDX), !m->no_event_idx);
	assert_int_equal(virtio_has_feature(v, VIRTIO_F_RING_INDIRECT_DESC), !m->no_indirect);
	assert_int_equal(virtio_has_feature(v, VIRTIO_F_IN_ORDER), m->in_order);
	assert_int_equal(virtio_has_feature(v, VIRTIO_NET_F_MRG_RXBUF), m->mrg);
	assert_int_equal(virtio_has_feature(v, VIRTIO_NET_F_CTRL_VQ), !m->no_ctrl);
	/* The function offers NOTIFICATION_DATA: every notify write carries the queue's index. */
	assert_true(virtio_has_feature(v, VIRTIO_F_NOTIFICATION_DATA));
	/* Our driver runs one queue pair: it must leave MQ alone even when offered. */
	assert_false(virtio_has_feature(v, VIRTIO_NET_F_MQ));
	if (!m->mmio)
		assert_int_equal(vireo_pci_device_interrupts(vireo_pci_bus_driver(r->pb)),
				 m->want_vectors);
	/* The MAC came through the device-specific configuration (BAR window, or registers). */
	virtio_net_mac(r->net, mac);
	assert_memory_equal(mac, rig_mac, 6);
}

/* A frame to @dst from the rig's MAC, payload a function of @seed. */
static size_t frame_fill(uint8_t *f, size_t len, const uint8_t dst[6], unsigned int seed)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, rig_mac, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	for (size_t k = 14; k < len; k++)
		f[k] = (uint8_t)(seed * 13u + k);
	return len;
}

/*
 * Take one frame, waiting up to about @ms by the clock (a hang bound, not a timing check).
 * Used transmit buffers make virtio_net_wait() return at once, so they are taken first:
 * counting waits instead of time gave up within a millisecond while the model still worked.
 * Return: its length, 0 if none came.
 */
static int recv_wait(struct net_rig *r, uint8_t *buf, size_t cap, int ms)
{
	uint64_t deadline = sleep_wake_now_ns() + (uint64_t)ms * 1000000u;
	int n = virtio_net_recv(r->net, buf, cap);

	while (n == 0 && sleep_wake_now_ns() < deadline) {
		(void)virtio_net_tx_reclaim(r->net);
		(void)virtio_net_wait(r->net, 20);
		n = virtio_net_recv(r->net, buf, cap);
	}
	return n;
}

/* Frames of every length class one at a time, then bursts: each comes back intact. */
static void echo_frames(struct net_rig *r, const uint8_t dst[6], unsigned int count)
{
	static uint8_t frames[BURST][FRAME_CAP];
	const void *ptrs[BURST];
	size_t lens[BURST], span = r->max_len - 60 + 1;
	uint8_t got[FRAME_CAP];

	for (unsigned int i = 0; i < count; i++) {
		/* 60 bytes up to the longest frame; frame 1 is the longest. */
		size_t len =
			frame_fill(frames[0], i == 1 ? r->max_len : 60 + (i * 97u) % span, dst, i);

		assert_int_equal(virtio_net_send(r->net, frames[0], len), 1);
		assert_int_equal(recv_wait(r, got, sizeof(got), 5000), (int)len);
		assert_memory_equal(got, frames[0], len);
		(void)virtio_net_tx_reclaim(r->net);
	}
	for (unsigned int b = 0; b < 8; b++) {
		int sent;

		for (unsigned int i = 0; i < BURST; i++) {
			lens[i] = frame_fill(frames[i], 60 + (b * BURST + i) * 41u % span, dst,
					     b * BURST + i + 1000);
			ptrs[i] = frames[i];
		}
		sent = virtio_net_send_burst(r->net, ptrs, lens, BURST);
		assert_int_equal(sent, (int)BURST);
		/* In order: one queue pair, and the model echoes in transmit order. */
		for (unsigned int i = 0; i < BURST; i++) {
			assert_int_equal(recv_wait(r, got, sizeof(got), 5000), (int)lens[i]);
			assert_memory_equal(got, frames[i], lens[i]);
		}
		(void)virtio_net_tx_reclaim(r->net);
	}
}

static void net_case(const struct net_mix *m)
{
	struct net_rig r;
	struct net_device_stats st;
	struct virtio_net_stats ds;

	rig_up(&r, m);
	rig_check(&r, m);
	echo_frames(&r, rig_mac, 300);
	vireo_net_device_get_stats(r.dev, &st);
	virtio_net_get_stats(r.net, &ds);
	assert_int_equal(ds.rx_dropped, 0);
	assert_int_equal(st.rx_frames, 300 + 8 * BURST);
	assert_int_equal(st.drops[NET_DROP_RX_SMALL_BUFFER], 0);
	/*
	 * R-NET-03: with the MTU negotiated, whole-frame receive buffers hold an mtu-sized frame
	 * (one buffer per frame); with MRG_RXBUF (R-NET-10) frames above one buffer span several.
	 */
	if (m->mrg && r.max_len + 12u > 2048u)
		assert_true(st.rx_buffers > st.rx_frames);
	else
		assert_int_equal(st.rx_buffers, st.rx_frames);
	rig_down(&r);
}

static void test_split(void **state)
{
	const struct net_mix m = {.format = VIRTIO_RING_SPLIT, .want_vectors = 4};

	(void)state;
	net_case(&m);
}

/* MTU 4000: mergeable buffers of 2 KiB take the longer frames in two or three. */
static void test_packed_mrg(void **state)
{
	const struct net_mix m = {
		.format = VIRTIO_RING_PACKED, .mrg = true, .mtu = 4000, .want_vectors = 4};

	(void)state;
	net_case(&m);
}

static void test_split_in_order_mrg_no_event_idx(void **state)
{
	const struct net_mix m = {.format = VIRTIO_RING_SPLIT,
				  .in_order = true,
				  .mrg = true,
				  .no_event_idx = true,
				  .want_vectors = 4};

	(void)state;
	net_case(&m);
}

/* R-NET-03: MTU 4000 without MRG_RXBUF: every receive buffer holds a 4014-byte frame. */
static void test_packed_in_order_bare(void **state)
{
	const struct net_mix m = {.format = VIRTIO_RING_PACKED,
				  .in_order = true,
				  .mtu = 4000,
				  .no_event_idx = true,
				  .no_indirect = true,
				  .want_vectors = 4};

	(void)state;
	net_case(&m);
}

/* No control queue: rx and tx + config; R-PCI-18: a table of 2 shares one vector. */
static void test_split_no_ctrl_shared_vector(void **state)
{
	const struct net_mix m = {.format = VIRTIO_RING_SPLIT,
				  .no_ctrl = true,
				  .no_indirect = true,
				  .msix_vectors = 2,
				  .want_vectors = 2};

	(void)state;
	net_case(&m);
}

/* The model offers two queue pairs (MQ); our driver uses pair 1 and polls. */
static void test_packed_mq_offered_poll(void **state)
{
	const struct net_mix m = {
		.format = VIRTIO_RING_PACKED, .queue_pairs = 2, .poll = true, .want_vectors = 0};

	(void)state;
	net_case(&m);
}

/* Split, MQ offered, MRG_RXBUF with MTU 3000, EVENT_IDX and IN_ORDER. */
static void test_split_mq_offered_mrg(void **state)
{
	const struct net_mix m = {.format = VIRTIO_RING_SPLIT,
				  .queue_pairs = 2,
				  .mrg = true,
				  .in_order = true,
				  .mtu = 3000,
				  .want_vectors = 4};

	(void)state;
	net_case(&m);
}

static const uint8_t broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/*
 * A frame to @dst, then a broadcast frame (which every filter passes). The model handles them
 * in order, so the first frame back tells, without a timeout, whether its filter let the
 * frame to @dst in. Return: true if it did (both came back, intact).
 */
static bool echo_one(struct net_rig *r, const uint8_t dst[6], unsigned int seed)
{
	uint8_t f[200], marker[100], got[FRAME_CAP];
	size_t len = frame_fill(f, sizeof(f), dst, seed);
	size_t mlen = frame_fill(marker, sizeof(marker), broadcast, seed + 100);
	bool passed = false;
	int n;

	assert_int_equal(virtio_net_send(r->net, f, len), 1);
	assert_int_equal(virtio_net_send(r->net, marker, mlen), 1);
	n = recv_wait(r, got, sizeof(got), 5000);
	if (n == (int)len) {
		assert_memory_equal(got, f, len);
		passed = true;
		n = recv_wait(r, got, sizeof(got), 5000);
	}
	assert_int_equal(n, (int)mlen);
	assert_memory_equal(got, marker, mlen);
	(void)virtio_net_tx_reclaim(r->net);
	return passed;
}

struct stats_read {
	struct net_device *dev;
	struct net_device_stats st;
};

static void stats_read_in_device(struct vdev *dev, void *arg)
{
	struct stats_read *s = arg;

	(void)dev;
	vireo_net_device_get_stats(s->dev, &s->st);
}

/* The counters belong to the model's thread: read them there. */
static uint64_t filtered(struct net_rig *r)
{
	struct stats_read s = {.dev = r->dev};

	if (r->mb)
		assert_int_equal(vireo_mmio_function_run_in_device(vireo_mmio_bus_function(r->mb),
								   stats_read_in_device, &s),
				 0);
	else
		assert_int_equal(vireo_pci_bus_run_in_device(r->pb, stats_read_in_device, &s), 0);
	return s.st.drops[NET_DROP_RX_FILTERED];
}

/*
 * The control queue over PCI: the model starts promiscuous (as QEMU's does); CTRL_RX turns
 * that off, CTRL_MAC_ADDR moves its address (its filter then drops frames to the old one),
 * CTRL_RX promiscuous lets them in again, and back.
 */
static void ctrl_case(enum virtio_ring_format format, bool mmio)
{
	const struct net_mix m = {.format = format, .want_vectors = 4, .mmio = mmio};
	const uint8_t new_mac[6] = {0x02, 0x76, 0x69, 0xaa, 0xbb, 0xcc};
	const uint8_t stranger[6] = {0x02, 0, 0, 0, 0, 9};
	uint8_t mac[6];
	struct net_rig r;

	rig_up(&r, &m);
	rig_check(&r, &m);
	assert_true(virtio_has_feature(r.vdev, VIRTIO_NET_F_CTRL_RX));
	assert_true(echo_one(&r, stranger, 1)); /* promiscuous until told otherwise */
	assert_int_equal(virtio_net_set_rx_mode(r.net, false, false), 0);
	assert_false(echo_one(&r, stranger, 2));
	assert_int_equal(filtered(&r), 1);
	assert_true(echo_one(&r, rig_mac, 3));
	assert_int_equal(virtio_net_set_mac(r.net, new_mac), 0);
	vireo_net_device_mac(r.dev, mac);
	assert_memory_equal(mac, new_mac, 6);
	assert_true(echo_one(&r, new_mac, 4));
	assert_false(echo_one(&r, rig_mac, 5));
	assert_int_equal(filtered(&r), 2);
	assert_int_equal(virtio_net_set_rx_mode(r.net, true, false), 0);
	assert_true(echo_one(&r, rig_mac, 6));
	assert_int_equal(virtio_net_set_rx_mode(r.net, false, false), 0);
	assert_false(echo_one(&r, rig_mac, 7));
	assert_int_equal(filtered(&r), 3);
	echo_frames(&r, new_mac, 50);
	rig_down(&r);
}

static void test_ctrl_split(void **state)
{
	(void)state;
	ctrl_case(VIRTIO_RING_SPLIT, false);
}

static void test_ctrl_packed(void **state)
{
	(void)state;
	ctrl_case(VIRTIO_RING_PACKED, false);
}

/* ---- the same over the in-process virtio-mmio bus ---- */

static void test_mmio_packed_mrg_mq_offered(void **state)
{
	const struct net_mix m = {.format = VIRTIO_RING_PACKED,
				  .mrg = true,
				  .mtu = 4000,
				  .queue_pairs = 2,
				  .mmio = true};

	(void)state;
	net_case(&m);
}

/* R-NET-03 over MMIO: MTU 4000 without MRG_RXBUF, split, IN_ORDER, no EVENT_IDX. */
static void test_mmio_split_in_order_bare(void **state)
{
	const struct net_mix m = {.format = VIRTIO_RING_SPLIT,
				  .in_order = true,
				  .no_event_idx = true,
				  .no_indirect = true,
				  .mtu = 4000,
				  .mmio = true};

	(void)state;
	net_case(&m);
}

static void test_mmio_no_ctrl(void **state)
{
	const struct net_mix m = {.format = VIRTIO_RING_SPLIT, .no_ctrl = true, .mmio = true};

	(void)state;
	net_case(&m);
}

static void test_mmio_ctrl_split(void **state)
{
	(void)state;
	ctrl_case(VIRTIO_RING_SPLIT, true);
}

static void test_mmio_ctrl_packed(void **state)
{
	(void)state;
	ctrl_case(VIRTIO_RING_PACKED, true);
}

/* Without CTRL_VQ the commands are refused by the driver, and nothing is filtered. */
static void test_no_ctrl_refused(void **state)
{
	const struct net_mix m = {.format = VIRTIO_RING_SPLIT, .no_ctrl = true, .want_vectors = 3};
	const uint8_t other[6] = {0x02, 0, 0, 0, 0, 7};
	struct net_rig r;

	(void)state;
	rig_up(&r, &m);
	rig_check(&r, &m);
	assert_int_equal(virtio_net_set_mac(r.net, other), -EOPNOTSUPP);
	assert_int_equal(virtio_net_set_rx_mode(r.net, true, false), -EOPNOTSUPP);
	assert_true(echo_one(&r, other, 1));
	assert_int_equal(filtered(&r), 0);
	rig_down(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_packed_mrg),
		cmocka_unit_test(test_split_in_order_mrg_no_event_idx),
		cmocka_unit_test(test_packed_in_order_bare),
		cmocka_unit_test(test_split_no_ctrl_shared_vector),
		cmocka_unit_test(test_packed_mq_offered_poll),
		cmocka_unit_test(test_split_mq_offered_mrg),
		cmocka_unit_test(test_ctrl_split),
		cmocka_unit_test(test_ctrl_packed),
		cmocka_unit_test(test_no_ctrl_refused),
		cmocka_unit_test(test_mmio_packed_mrg_mq_offered),
		cmocka_unit_test(test_mmio_split_in_order_bare),
		cmocka_unit_test(test_mmio_no_ctrl),
		cmocka_unit_test(test_mmio_ctrl_split),
		cmocka_unit_test(test_mmio_ctrl_packed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
