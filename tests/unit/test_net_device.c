// SPDX-License-Identifier: MIT
/*
 * Unit tests for devices/net: the feature offer, config space and the
 * transmit path, driven through the core by driver-side rings
 * (tests/lib/net_harness). Hostile headers and chain layouts are dropped
 * and counted, and nothing else is affected (checked by a good frame after).
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

#include "tests/lib/net_harness.h"

#define F(b) VIRTIO_BIT(VIRTIO_NET_F_##b)
#define ALL_NET 0xffffffull

static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0x0b};

static struct net_device_options opts(uint32_t offloads)
{
	return (struct net_device_options){.queue_size = NET_HARNESS_QNUM,
					   .mac = {0x02, 0, 0, 0, 0, 0x01},
					   .offloads = offloads};
}

/* D-BF-03: the offer respects "Feature bit requirements"; options are checked. */
static void test_offer_and_options(void **state)
{
	struct net_device_options o = opts(NET_OFFLOAD_TSO4);
	struct net_device *nd;
	uint64_t f;

	(void)state;
	assert_int_equal(vireo_net_device_new(&nd, &o), 0);
	f = vireo_net_device_vdev(nd)->offered_features;
	assert_true(f & F(MAC) && f & F(STATUS) && f & F(MTU) && f & F(MRG_RXBUF));
	/* net pops and pushes in ring order: IN_ORDER (D-BF-19); packed from the core */
	assert_true(f & VIRTIO_BIT(VIRTIO_F_IN_ORDER) && f & VIRTIO_BIT(VIRTIO_F_RING_PACKED));
	assert_true(f & F(HOST_TSO4) && f & F(CSUM) && f & F(GUEST_TSO4) && f & F(GUEST_CSUM));
	assert_false(f & (F(HOST_TSO6) | F(GUEST_UFO) | F(HOST_UFO) | F(HOST_ECN) | F(GUEST_ECN)));
	assert_true(f & F(CTRL_VQ) && f & F(CTRL_RX) && f & F(CTRL_MAC_ADDR));
	assert_false(f & F(MQ)); /* one pair */
	assert_int_equal(vireo_net_device_vdev(nd)->num_queues, 3);
	vireo_net_device_free(nd);
	o = opts(0);
	o.queue_pairs = 2;
	assert_int_equal(vireo_net_device_new(&nd, &o), 0);
	f = vireo_net_device_vdev(nd)->offered_features;
	assert_true(f & F(MQ) && f & F(CTRL_VQ)); /* MQ requires CTRL_VQ */
	assert_false(f & (F(CSUM) | F(GUEST_CSUM)));
	assert_int_equal(vireo_net_device_vdev(nd)->num_queues, 5);
	vireo_net_device_free(nd);
	o = opts(0);
	memset(o.mac, 0, 6);
	o.no_ctrl_vq = true;
	assert_int_equal(vireo_net_device_new(&nd, &o), 0);
	f = vireo_net_device_vdev(nd)->offered_features;
	assert_false(f & (F(MAC) | F(CTRL_VQ) | F(CTRL_RX) | F(MQ)));
	vireo_net_device_free(nd);
	o.queue_pairs = 2; /* MQ without a control queue cannot be offered */
	assert_int_equal(vireo_net_device_new(&nd, &o), -EINVAL);
	o = opts(0);
	o.mtu = 67; /* D-NET-02 */
	assert_int_equal(vireo_net_device_new(&nd, &o), -EINVAL);
	o = opts(0);
	o.queue_size = 100;
	assert_int_equal(vireo_net_device_new(&nd, &o), -EINVAL);
	o = opts(0);
	o.mac[0] = 0x03; /* multicast */
	assert_int_equal(vireo_net_device_new(&nd, &o), -EINVAL);
	o = opts(0);
	o.queue_pairs = NET_DEVICE_MAX_QUEUE_PAIRS + 1;
	assert_int_equal(vireo_net_device_new(&nd, &o), -EINVAL);
}

/* §5.1.4: mac, status, max_virtqueue_pairs, mtu; config is read-only (D-VU-31). */
static void test_config(void **state)
{
	struct net_device_options o = opts(0);
	struct vireo_net_config c;
	struct net_device *nd;
	struct vdev *dev;

	(void)state;
	o.mtu = 9000;
	o.queue_pairs = 3;
	assert_int_equal(vireo_net_device_new(&nd, &o), 0);
	dev = vireo_net_device_vdev(nd);
	assert_int_equal(dev->config_size, sizeof(c));
	assert_int_equal(vireo_vdev_config_read(dev, 0, &c, sizeof(c)), 0);
	assert_memory_equal(c.mac, o.mac, 6);
	assert_int_equal(le16_to_cpu(c.status), VIRTIO_NET_S_LINK_UP);
	assert_int_equal(le16_to_cpu(c.max_virtqueue_pairs), 3);
	assert_int_equal(le16_to_cpu(c.mtu), 9000);
	assert_int_not_equal(vireo_vdev_config_write(dev, 0, mac_a, 6), 0);
	assert_int_equal(vireo_vdev_config_read(dev, 0, &c, 6), 0);
	assert_memory_equal(c.mac, o.mac, 6);
	vireo_net_device_set_link(nd, false);
	assert_int_equal(vireo_vdev_config_read(dev, 0, &c, sizeof(c)), 0);
	assert_int_equal(le16_to_cpu(c.status), 0);
	vireo_net_device_free(nd);
	o.link_down = true;
	assert_int_equal(vireo_net_device_new(&nd, &o), 0);
	assert_int_equal(vireo_vdev_config_read(vireo_net_device_vdev(nd), 0, &c, sizeof(c)), 0);
	assert_int_equal(le16_to_cpu(c.status), 0);
	vireo_net_device_free(nd);
	for (int r = 0; r < NET_DROP_COUNT; r++)
		assert_true(strlen(vireo_net_drop_reason_name((enum net_drop_reason)r)) > 0);
}

static void expect_frame(struct net_harness *h, unsigned int i, const uint8_t *frame, uint32_t len)
{
	assert_true(h->ncaptured > i);
	assert_int_equal(h->captured[i].len, len);
	assert_memory_equal(h->captured[i].data, frame, len);
}

/* §5.1.6.2: one frame out, byte-exact, used length 0. */
static void test_tx_basic(void **state)
{
	struct vireo_net_hdr_v1 hdr = {0};
	struct net_device_stats st;
	struct net_harness h;
	uint8_t *f = net_harness_frame(mac_b, mac_a, 60, 1);

	(void)state;
	net_harness_init(&h, NULL, ALL_NET);
	assert_int_equal(net_harness_tx(&h, &hdr, f, 60, NULL, 0), 0);
	expect_frame(&h, 0, f, 60);
	assert_int_equal(h.captured[0].vnet.flags, 0);
	assert_int_equal(h.captured[0].vnet.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	vireo_net_device_get_stats(h.nd, &st);
	assert_int_equal(st.tx_frames, 1);
	assert_int_equal(st.tx_bytes, 60);
	free(f);
	net_harness_destroy(&h);
}

/* §2.6.4 message framing: header and frame split anywhere, even mid-field. */
static void test_tx_split_anywhere(void **state)
{
	static const uint32_t cuts[][4] = {
		{1, 5, 11, 12},
		{3, 12, 20, 40},
		{12, 13, 14, 15},
		{6, 30, 31, 71},
	};
	struct vireo_net_hdr_v1 hdr = {0};
	struct net_harness h;
	uint8_t *f = net_harness_frame(mac_b, mac_a, 72, 2);

	(void)state;
	net_harness_init(&h, NULL, ALL_NET);
	for (unsigned int i = 0; i < 4; i++) {
		assert_int_equal(net_harness_tx(&h, &hdr, f, 72, cuts[i], 4), 0);
		expect_frame(&h, i, f, 72);
	}
	free(f);
	net_harness_destroy(&h);
}

/* Run one hostile transmit: used with length 0, nothing forwarded, counted under @why. */
static void expect_tx_drop(struct net_harness *h, const struct vireo_net_hdr_v1 *hdr,
			   const uint8_t *frame, uint32_t len, enum net_drop_reason why)
{
	unsigned int before = h->ncaptured;
	uint64_t count = net_harness_drops(h, why);

	assert_int_equal(net_harness_tx(h, hdr, frame, len, NULL, 0), 0);
	assert_int_equal(h->ncaptured, before);
	assert_int_equal(net_harness_drops(h, why), count + 1);
	assert_false(vdev_needs_reset(h->dev));
}

/* Hostile transmit headers: dropped, counted, the device keeps going. */
static void test_tx_hostile_headers(void **state)
{
	struct vireo_net_hdr_v1 hdr = {0};
	struct net_harness h;
	uint8_t *f = net_harness_frame(mac_b, mac_a, 1600, 3);

	(void)state;
	net_harness_init(&h, NULL, ALL_NET & ~(F(CSUM) | F(HOST_TSO4)));
	expect_tx_drop(&h, &hdr, f, 13, NET_DROP_TX_RUNT);
	expect_tx_drop(&h, &hdr, f, 1519, NET_DROP_TX_OVERSIZE); /* above 1500 + 18 */
	hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;		 /* CSUM not negotiated */
	hdr.csum_start = cpu_to_le16(34);
	hdr.csum_offset = cpu_to_le16(16);
	expect_tx_drop(&h, &hdr, f, 100, NET_DROP_TX_BAD_CSUM);
	hdr = (struct vireo_net_hdr_v1){.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
					.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					.gso_size = cpu_to_le16(1400)};
	expect_tx_drop(&h, &hdr, f, 1600, NET_DROP_TX_BAD_GSO); /* HOST_TSO4 not negotiated */
	/* the next good frame is not affected */
	hdr = (struct vireo_net_hdr_v1){0};
	assert_int_equal(net_harness_tx(&h, &hdr, f, 1518, NULL, 0), 0);
	expect_frame(&h, 0, f, 1518);
	free(f);
	net_harness_destroy(&h);
}

/* With CSUM and HOST_TSO4 negotiated: offsets and GSO fields must still fit the frame. */
static void test_tx_hostile_offloads_tso(void **state)
{
	struct net_device_options o = opts(NET_OFFLOAD_ALL);
	struct vireo_net_hdr_v1 hdr;
	struct net_harness h;
	uint8_t *f = net_harness_frame(mac_b, mac_a, 3000, 4);

	(void)state;
	net_harness_init(&h, &o, ALL_NET);
	hdr = (struct vireo_net_hdr_v1){.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					.csum_start = cpu_to_le16(100)};
	expect_tx_drop(&h, &hdr, f, 100, NET_DROP_TX_BAD_CSUM); /* csum_start == len */
	hdr.csum_start = cpu_to_le16(90);
	hdr.csum_offset = cpu_to_le16(9); /* field at 99..100: one byte past */
	expect_tx_drop(&h, &hdr, f, 100, NET_DROP_TX_BAD_CSUM);
	hdr.csum_offset = cpu_to_le16(0xffff);
	expect_tx_drop(&h, &hdr, f, 100, NET_DROP_TX_BAD_CSUM);
	hdr.csum_offset = cpu_to_le16(8); /* 98..99: fits */
	assert_int_equal(net_harness_tx(&h, &hdr, f, 100, NULL, 0), 0);
	assert_int_equal(h.ncaptured, 1);
	assert_int_equal(h.captured[0].vnet.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	hdr = (struct vireo_net_hdr_v1){.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
					.gso_size = cpu_to_le16(1448)};
	expect_tx_drop(&h, &hdr, f, 3000, NET_DROP_TX_BAD_GSO); /* GSO without NEEDS_CSUM */
	hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	hdr.csum_start = cpu_to_le16(34);
	hdr.csum_offset = cpu_to_le16(16);
	hdr.gso_size = 0;
	expect_tx_drop(&h, &hdr, f, 3000, NET_DROP_TX_BAD_GSO); /* no MSS */
	hdr.gso_size = cpu_to_le16(1); /* an MSS no TCP sender uses: 3000 one-byte segments */
	expect_tx_drop(&h, &hdr, f, 3000, NET_DROP_TX_BAD_GSO);
	hdr.gso_size = cpu_to_le16(NET_TSO_MSS_MIN - 1);
	expect_tx_drop(&h, &hdr, f, 3000, NET_DROP_TX_BAD_GSO);
	hdr.gso_size = cpu_to_le16(1448);
	hdr.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	expect_tx_drop(&h, &hdr, f, 3000, NET_DROP_TX_BAD_GSO); /* UFO never offered */
	hdr.gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN;
	expect_tx_drop(&h, &hdr, f, 3000, NET_DROP_TX_BAD_GSO); /* HOST_ECN never offered */
	hdr.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	hdr.hdr_len = cpu_to_le16(0xffff); /* D-NET-13: a hint only, not trusted or refused */
	assert_int_equal(net_harness_tx(&h, &hdr, f, 3000, NULL, 0), 0);
	assert_int_equal(h.ncaptured, 2);
	assert_int_equal(h.captured[1].vnet.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(le16_to_cpu(h.captured[1].vnet.gso_size), 1448);
	free(f);
	net_harness_destroy(&h);
}

/* D-NET-10: unknown flag bits (and DATA_VALID, RSC_INFO, which a driver must not send) ignored. */
static void test_tx_unknown_flags_ignored(void **state)
{
	struct vireo_net_hdr_v1 hdr = {.flags = 0xf0 | VIRTIO_NET_HDR_F_DATA_VALID |
						VIRTIO_NET_HDR_F_RSC_INFO,
				       .num_buffers = cpu_to_le16(7)};
	struct net_harness h;
	uint8_t *f = net_harness_frame(mac_b, mac_a, 64, 5);

	(void)state;
	net_harness_init(&h, NULL, ALL_NET);
	assert_int_equal(net_harness_tx(&h, &hdr, f, 64, NULL, 0), 0);
	expect_frame(&h, 0, f, 64);
	assert_int_equal(h.captured[0].vnet.flags, 0);
	assert_int_equal(h.captured[0].vnet.num_buffers, 0);
	free(f);
	net_harness_destroy(&h);
}

/*
 * D-NET-01: max_virtqueue_pairs is in 1..0x8000 for every queue-pair count offered;
 * D-NET-03: mtu never changes once set, across link changes, control commands and a
 * reset.
 */
static void test_config_ranges_and_stable_mtu(void **state)
{
	struct net_device_options o = opts(0);
	const uint8_t new_mac[6] = {0x02, 0, 0, 0, 0, 0x42}, on = 1;
	struct vireo_net_config c;
	struct net_device *nd;
	struct net_harness h;
	unsigned int pairs;

	(void)state;
	assert_true(NET_DEVICE_MAX_QUEUE_PAIRS <= 0x8000);
	for (pairs = 1; pairs <= NET_DEVICE_MAX_QUEUE_PAIRS; pairs++) {
		o.queue_pairs = pairs;
		assert_int_equal(vireo_net_device_new(&nd, &o), 0);
		assert_int_equal(
			vireo_vdev_config_read(vireo_net_device_vdev(nd), 0, &c, sizeof(c)), 0);
		assert_int_equal(le16_to_cpu(c.max_virtqueue_pairs), pairs);
		vireo_net_device_free(nd);
	}
	o = opts(0);
	o.mtu = 4000;
	net_harness_init(&h, &o, ALL_NET);
	vireo_net_device_set_link(h.nd, false);
	vireo_net_device_set_link(h.nd, true);
	assert_int_equal(
		net_harness_ctrl(&h, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, new_mac, 6),
		VIRTIO_NET_OK);
	assert_int_equal(
		net_harness_ctrl(&h, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1),
		VIRTIO_NET_OK);
	assert_int_equal(vireo_vdev_config_read(h.dev, 0, &c, sizeof(c)), 0);
	assert_int_equal(le16_to_cpu(c.mtu), 4000);
	assert_int_equal(vireo_vdev_set_status(h.dev, 0), 0);
	assert_int_equal(vireo_vdev_config_read(h.dev, 0, &c, sizeof(c)), 0);
	assert_int_equal(le16_to_cpu(c.mtu), 4000);
	net_harness_destroy(&h);
}

/*
 * D-NET-05: a non-GSO frame of mtu plus its L2 header (a VLAN tag included) is sent
 * whole, as one frame, byte-exact; one byte more is the driver's fault and is dropped.
 */
static void test_tx_mtu_sized_frames(void **state)
{
	struct net_device_options o = opts(0);
	struct vireo_net_hdr_v1 hdr = {0};
	struct net_harness h;
	uint8_t *f;

	(void)state;
	o.mtu = 1500;
	net_harness_init(&h, &o, ALL_NET);
	f = net_harness_frame(mac_b, mac_a, 1500 + 18 + 1, 6);
	assert_int_equal(net_harness_tx(&h, &hdr, f, 1500 + 14, NULL, 0), 0);
	expect_frame(&h, 0, f, 1500 + 14);
	f[12] = 0x81; /* an 802.1Q tag: 4 more bytes of L2 header */
	f[13] = 0x00;
	assert_int_equal(net_harness_tx(&h, &hdr, f, 1500 + 18, NULL, 0), 0);
	expect_frame(&h, 1, f, 1500 + 18);
	assert_int_equal(h.ncaptured, 2);
	assert_int_equal(net_harness_tx(&h, &hdr, f, 1500 + 18 + 1, NULL, 0), 0);
	assert_int_equal(h.ncaptured, 2);
	assert_int_equal(net_harness_drops(&h, NET_DROP_TX_OVERSIZE), 1);
	free(f);
	net_harness_destroy(&h);
}

/*
 * D-NET-18 (and D-NET-11): without NEEDS_CSUM the device assumes nothing about the
 * checksum: a UDP frame with a wrong checksum and garbage csum_start/offset goes out
 * unchanged, and is not passed on as validated (no DATA_VALID).
 */
static void test_tx_bad_checksum_untouched(void **state)
{
	struct net_device_options o = opts(NET_OFFLOAD_ALL);
	struct vireo_net_hdr_v1 hdr = {.csum_start = cpu_to_le16(3), .csum_offset = cpu_to_le16(5)};
	uint8_t f[14 + 20 + 8 + 32] = {0};
	struct net_harness h;
	unsigned int i;

	(void)state;
	memcpy(f, mac_b, 6);
	memcpy(f + 6, mac_a, 6);
	f[12] = 0x08; /* IPv4, UDP, 10.0.0.1 -> 10.0.0.2 */
	f[14] = 0x45;
	f[17] = sizeof(f) - 14;
	f[22] = 64;
	f[23] = 17;
	f[26] = 10, f[29] = 1, f[30] = 10, f[33] = 2;
	f[35] = 9, f[37] = 9, f[39] = sizeof(f) - 34;
	f[40] = 0xde, f[41] = 0xad; /* not the UDP checksum of this datagram */
	for (i = 42; i < sizeof(f); i++)
		f[i] = (uint8_t)i;
	net_harness_init(&h, &o, ALL_NET);
	assert_int_equal(net_harness_tx(&h, &hdr, f, sizeof(f), NULL, 0), 0);
	expect_frame(&h, 0, f, sizeof(f));
	assert_int_equal(h.captured[0].vnet.flags, 0);
	net_harness_destroy(&h);
}

/* Chains that are not transmit buffers: too short for a header, or with a writable part. */
static void test_tx_hostile_chains(void **state)
{
	struct net_harness h;
	uint64_t a;
	struct virtio_sg sg[2];

	(void)state;
	net_harness_init(&h, NULL, ALL_NET);
	a = net_harness_galloc(&h, 64, 0);
	sg[0] = (struct virtio_sg){.addr = a, .len = 11};
	assert_int_equal(net_harness_run(&h, 1, sg, 1, 0), 0);
	assert_int_equal(net_harness_drops(&h, NET_DROP_TX_SHORT_HEADER), 1);
	sg[0].len = 40;
	sg[1] = (struct virtio_sg){.addr = a + 40, .len = 16};
	assert_int_equal(net_harness_run(&h, 1, sg, 1, 1), 0); /* nothing written into it */
	assert_int_equal(net_harness_drops(&h, NET_DROP_TX_WRITABLE), 1);
	assert_int_equal(h.ncaptured, 0);
	assert_false(vdev_needs_reset(h.dev));
	net_harness_destroy(&h);
}

/* A burst above the per-call budget is served completely (the device re-kicks itself). */
static void test_tx_burst_above_budget(void **state)
{
	struct vireo_net_hdr_v1 hdr = {0};
	struct net_harness h;
	uint8_t *f = net_harness_frame(mac_b, mac_a, 60, 6);
	uint64_t a = 0;
	struct virtio_sg sg;
	unsigned int sent = 0, used = 0;
	uint32_t len;

	(void)state;
	net_harness_init(&h, NULL, ALL_NET);
	/* Keep the ring full for 4 x NET_HARNESS_QNUM frames, one kick per refill. */
	while (used < 4 * NET_HARNESS_QNUM) {
		while (sent - used < NET_HARNESS_QNUM && sent < 4 * NET_HARNESS_QNUM) {
			a = net_harness_galloc(&h, 72, 0);
			memcpy(net_harness_g2h(&h, a), &hdr, 12);
			memcpy((uint8_t *)net_harness_g2h(&h, a) + 12, f, 60);
			sg = (struct virtio_sg){.addr = a, .len = 72};
			assert_int_equal(virtqueue_add_sgs(&h.q[1].vq, &sg, 1, 0, &h), 0);
			sent++;
		}
		virtqueue_kick(&h.q[1].vq);
		(void)vireo_event_loop_run_once(&h.loop, 100);
		while (virtqueue_get_buf(&h.q[1].vq, &len))
			used++;
		if (h.ncaptured >= NET_HARNESS_MAX_CAPTURE) {
			for (unsigned int i = 0; i < h.ncaptured; i++)
				free(h.captured[i].data);
			h.ncaptured = 0;
		}
	}
	assert_int_equal(used, 4 * NET_HARNESS_QNUM);
	free(f);
	net_harness_destroy(&h);
}

/*
 * vhost-user "Ring states" (D-VU-02..04): a started but disabled transmit ring is served,
 * its frames used and discarded (tx-disabled), never sent; a disabled receive ring gets none.
 */
static void test_disabled_rings(void **state)
{
	struct vireo_net_hdr_v1 hdr = {0};
	uint8_t *f = net_harness_frame(mac_b, mac_a, 60, 7);
	struct net_packet pkt = {.data = f, .len = 60};
	struct net_harness h;

	(void)state;
	net_harness_init(&h, NULL, ALL_NET);
	assert_true(h.dev->serves_disabled_rings);
	h.dev->queues[1].disabled = true; /* what the vhost-user back-end sets */
	assert_int_equal(net_harness_tx(&h, &hdr, f, 60, NULL, 0), 0);
	assert_int_equal(h.ncaptured, 0);
	assert_int_equal(net_harness_drops(&h, NET_DROP_TX_DISABLED), 1);
	h.dev->queues[1].disabled = false;
	assert_int_equal(net_harness_tx(&h, &hdr, f, 60, NULL, 0), 0);
	expect_frame(&h, 0, f, 60);
	(void)net_harness_post_rx(&h, 2048, 1);
	h.dev->queues[0].disabled = true;
	assert_int_equal(vireo_net_device_receive(h.nd, &pkt), -ENETDOWN);
	h.dev->queues[0].disabled = false;
	assert_int_equal(vireo_net_device_receive(h.nd, &pkt), 0);
	free(f);
	net_harness_destroy(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offer_and_options),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_tx_basic),
		cmocka_unit_test(test_tx_split_anywhere),
		cmocka_unit_test(test_tx_hostile_headers),
		cmocka_unit_test(test_tx_hostile_offloads_tso),
		cmocka_unit_test(test_tx_unknown_flags_ignored),
		cmocka_unit_test(test_config_ranges_and_stable_mtu),
		cmocka_unit_test(test_tx_mtu_sized_frames),
		cmocka_unit_test(test_tx_bad_checksum_untouched),
		cmocka_unit_test(test_tx_hostile_chains),
		cmocka_unit_test(test_tx_burst_above_budget),
		cmocka_unit_test(test_disabled_rings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
