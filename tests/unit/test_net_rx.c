// SPDX-License-Identifier: MIT
/*
 * Unit tests for devices/net: the receive path (single and mergeable
 * buffers, offload and MTU rules, filtering), the control queue and the
 * link state, driven through the core by driver-side rings
 * (tests/lib/net_harness).
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
#define HDR sizeof(struct vireo_net_hdr_v1)

static const uint8_t mac_dev[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0x0b};
static const uint8_t mac_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t mac_mcast[6] = {0x01, 0x00, 0x5e, 0, 0, 0x01};

/* A device with a 9000-byte MTU, for frames that span buffers without GSO. */
static const struct net_device_options jumbo = {
	.queue_size = NET_HARNESS_QNUM, .mac = {0x02, 0, 0, 0, 0, 0x01}, .mtu = 9000};

static int rx(struct net_harness *h, const uint8_t *dst, uint32_t len, uint8_t seed)
{
	uint8_t *f = net_harness_frame(dst, mac_a, len, seed);
	struct net_packet pkt = {.data = f, .len = len};
	int rc = vireo_net_device_receive(h->nd, &pkt);

	free(f);
	return rc;
}

/* The buffer at @gpa holds a header with num_buffers @nbuf and then frame (@len, @seed). */
static void expect_rx(struct net_harness *h, uint64_t gpa, const uint8_t *dst, uint32_t len,
		      uint8_t seed, uint16_t nbuf)
{
	const struct vireo_net_hdr_v1 *hdr = net_harness_g2h(h, gpa);
	uint8_t *f = net_harness_frame(dst, mac_a, len, seed);

	assert_int_equal(hdr->flags, 0);
	assert_int_equal(hdr->gso_type, 0);
	assert_int_equal(le16_to_cpu(hdr->num_buffers), nbuf);
	assert_memory_equal((const uint8_t *)net_harness_g2h(h, gpa) + HDR, f, len);
	free(f);
}

/* D-NET-21/22: without MRG_RXBUF a frame takes one buffer, num_buffers 1, used len exact. */
static void test_rx_single(void **state)
{
	struct net_harness h;
	uint64_t a, got;
	uint32_t len;

	(void)state;
	net_harness_init(&h, NULL, ALL_NET & ~F(MRG_RXBUF));
	assert_int_equal(rx(&h, mac_dev, 60, 1), -ENOBUFS);
	assert_int_equal(net_harness_drops(&h, NET_DROP_RX_NO_BUFFER), 1);
	a = net_harness_post_rx(&h, 1526, 3); /* header split over descriptors too */
	assert_int_equal(rx(&h, mac_dev, 1514, 2), 0);
	got = net_harness_take_rx(&h, &len);
	assert_int_equal(got, a);
	assert_int_equal(len, HDR + 1514);
	expect_rx(&h, a, mac_dev, 1514, 2, 1);
	net_harness_destroy(&h);
}

/* A frame too big for the buffer is dropped; the buffer stays for the next frame. */
static void test_rx_small_buffer_kept(void **state)
{
	struct net_harness h;
	uint64_t a;
	uint32_t len;

	(void)state;
	net_harness_init(&h, NULL, ALL_NET & ~F(MRG_RXBUF));
	a = net_harness_post_rx(&h, 200, 1);
	assert_int_equal(rx(&h, mac_dev, 500, 3), -ENOBUFS);
	assert_int_equal(net_harness_drops(&h, NET_DROP_RX_SMALL_BUFFER), 1);
	assert_int_equal(net_harness_take_rx(&h, &len), 0);
	assert_int_equal(rx(&h, mac_dev, 100, 4), 0);
	assert_int_equal(net_harness_take_rx(&h, &len), a);
	assert_int_equal(len, HDR + 100);
	expect_rx(&h, a, mac_dev, 100, 4, 1);
	net_harness_destroy(&h);
}

/* D-NET-20/23/24/25: a frame across buffers, all full but the last, all used together. */
static void test_rx_mergeable(void **state)
{
	uint8_t *f = net_harness_frame(mac_dev, mac_a, 4000, 5);
	uint64_t buf[5];
	struct net_harness h;
	uint32_t len, off = 0;

	(void)state;
	net_harness_init(&h, &jumbo, ALL_NET);
	assert_true(h.features & F(MRG_RXBUF));
	for (int i = 0; i < 5; i++)
		buf[i] = net_harness_post_rx(&h, 1024, 2);
	assert_int_equal(rx(&h, mac_dev, 4000, 5), 0);
	assert_int_equal(
		le16_to_cpu(((struct vireo_net_hdr_v1 *)net_harness_g2h(&h, buf[0]))->num_buffers),
		4); /* 12 + 4000 bytes over 1024-byte buffers */
	for (int i = 0; i < 4; i++) {
		uint32_t skip = i == 0 ? HDR : 0;

		assert_int_equal(net_harness_take_rx(&h, &len), buf[i]);
		assert_int_equal(len, i < 3 ? 1024 : 4000 + HDR - 3 * 1024);
		assert_memory_equal((uint8_t *)net_harness_g2h(&h, buf[i]) + skip, f + off,
				    len - skip);
		off += len - skip;
	}
	assert_int_equal(off, 4000);
	assert_int_equal(net_harness_take_rx(&h, &len), 0); /* the fifth is still posted */
	free(f);
	net_harness_destroy(&h);
}

/* Not enough buffers for the whole frame: nothing is exposed, the buffers stay posted. */
static void test_rx_mergeable_partial_never_exposed(void **state)
{
	uint64_t b0, b1;
	struct net_harness h;
	uint32_t len;

	(void)state;
	net_harness_init(&h, &jumbo, ALL_NET);
	b0 = net_harness_post_rx(&h, 1024, 1);
	b1 = net_harness_post_rx(&h, 1024, 1);
	assert_int_equal(rx(&h, mac_dev, 3000, 6), -ENOBUFS);
	assert_int_equal(net_harness_drops(&h, NET_DROP_RX_NO_BUFFER), 1);
	assert_int_equal(net_harness_take_rx(&h, &len), 0);
	assert_int_equal(h.q[0].vq.split.used->idx, 0);
	/* The same two buffers then take a frame that fits. */
	assert_int_equal(rx(&h, mac_dev, 1500, 7), 0);
	assert_int_equal(net_harness_take_rx(&h, &len), b0);
	assert_int_equal(len, 1024);
	assert_int_equal(net_harness_take_rx(&h, &len), b1);
	assert_int_equal(len, 1500 + HDR - 1024);
	assert_int_equal(
		le16_to_cpu(((struct vireo_net_hdr_v1 *)net_harness_g2h(&h, b0))->num_buffers), 2);
	net_harness_destroy(&h);
}

/* D-NET-26..30, D-NET-04: offloads the driver did not ask for, and frames above its MTU. */
static void test_rx_offload_and_mtu_rules(void **state)
{
	struct net_device_options o = {.queue_size = NET_HARNESS_QNUM,
				       .mac = {0x02, 0, 0, 0, 0, 0x01},
				       .offloads = NET_OFFLOAD_ALL};
	uint8_t *f = net_harness_frame(mac_dev, mac_a, 3000, 8);
	struct net_packet pkt = {.data = f, .len = 1600};
	struct net_harness h;
	uint64_t a;
	uint32_t len;

	(void)state;
	net_harness_init(&h, &o, ALL_NET & ~(F(GUEST_CSUM) | F(GUEST_TSO4) | F(GUEST_TSO6)));
	a = net_harness_post_rx(&h, 4096, 1);
	assert_int_equal(vireo_net_device_receive(h.nd, &pkt), -EMSGSIZE); /* 1600 > 1500 + 18 */
	pkt.vnet.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	pkt.len = 100;
	assert_int_equal(vireo_net_device_receive(h.nd, &pkt), -EOPNOTSUPP);
	pkt.vnet = (struct vireo_net_hdr_v1){.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					     .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
					     .gso_size = cpu_to_le16(1448)};
	pkt.len = 3000;
	assert_int_equal(vireo_net_device_receive(h.nd, &pkt), -EOPNOTSUPP);
	assert_int_equal(net_harness_drops(&h, NET_DROP_RX_OFFLOAD), 2);
	assert_int_equal(net_harness_drops(&h, NET_DROP_RX_OVERSIZE), 1);
	/* DATA_VALID is stripped without GUEST_CSUM (flags must be 0). */
	pkt.vnet = (struct vireo_net_hdr_v1){.flags = VIRTIO_NET_HDR_F_DATA_VALID};
	pkt.len = 200;
	assert_int_equal(vireo_net_device_receive(h.nd, &pkt), 0);
	assert_int_equal(net_harness_take_rx(&h, &len), a);
	assert_int_equal(((struct vireo_net_hdr_v1 *)net_harness_g2h(&h, a))->flags, 0);
	free(f);
	net_harness_destroy(&h);
}

/* The UDP tunnel GSO bits and flag (virtio 1.4 §5.1.6), which Vireo never offers. */
#define GSO_UDP_TUNNEL_IPV4 0x20u
#define GSO_UDP_TUNNEL_IPV6 0x40u
#define HDR_F_UDP_TUNNEL_CSUM 8u

/*
 * The receive header carries only what the driver negotiated. With GUEST_CSUM but no
 * GUEST_TSO4/TSO6/UFO/USO (D-NET-27..30) and no tunnel GSO (D-NET-31/32, D-NET-38,
 * D-NET-40, D-NET-46), a frame the back-end offers with such a gso_type is dropped, never
 * delivered; RSC_INFO (D-NET-44) and UDP_TUNNEL_CSUM are cleared; a frame sent as it is
 * says GSO_NONE (D-NET-41). A GSO frame without NEEDS_CSUM or an MSS is dropped (D-NET-42).
 */
static void test_rx_header_only_negotiated(void **state)
{
	struct net_device_options o = {.queue_size = NET_HARNESS_QNUM,
				       .mac = {0x02, 0, 0, 0, 0, 0x01},
				       .offloads = NET_OFFLOAD_ALL};
	static const uint8_t refused[] = {
		VIRTIO_NET_HDR_GSO_TCPV4,
		VIRTIO_NET_HDR_GSO_UDP,
		VIRTIO_NET_HDR_GSO_TCPV6,
		VIRTIO_NET_HDR_GSO_UDP_L4,
		VIRTIO_NET_HDR_GSO_TCPV4 | GSO_UDP_TUNNEL_IPV4,
		VIRTIO_NET_HDR_GSO_UDP_L4 | GSO_UDP_TUNNEL_IPV6,
		VIRTIO_NET_HDR_GSO_TCPV6 | GSO_UDP_TUNNEL_IPV4 | GSO_UDP_TUNNEL_IPV6,
	};
	uint8_t *f = net_harness_frame(mac_dev, mac_a, 3000, 4);
	struct net_packet pkt = {.data = f, .len = 3000};
	const struct vireo_net_hdr_v1 *hdr;
	struct net_harness h;
	unsigned int i;
	uint64_t a;
	uint32_t len;

	(void)state;
	net_harness_init(&h, &o, F(GUEST_CSUM) | F(MRG_RXBUF) | F(MAC));
	a = net_harness_post_rx(&h, 4096, 1);
	for (i = 0; i < sizeof(refused); i++) {
		pkt.vnet = (struct vireo_net_hdr_v1){.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM |
							      VIRTIO_NET_HDR_F_DATA_VALID,
						     .gso_type = refused[i],
						     .gso_size = cpu_to_le16(1400),
						     .csum_start = cpu_to_le16(34),
						     .csum_offset = cpu_to_le16(16)};
		assert_int_equal(vireo_net_device_receive(h.nd, &pkt), -EOPNOTSUPP);
	}
	assert_int_equal(net_harness_take_rx(&h, &len), 0);
	assert_int_equal(net_harness_drops(&h, NET_DROP_RX_OFFLOAD), sizeof(refused));

	/* RSC_INFO and UDP_TUNNEL_CSUM cleared; ECN alone and a stray MSS become GSO_NONE. */
	pkt.vnet = (struct vireo_net_hdr_v1){.flags = VIRTIO_NET_HDR_F_DATA_VALID |
						      VIRTIO_NET_HDR_F_RSC_INFO |
						      HDR_F_UDP_TUNNEL_CSUM,
					     .gso_type = VIRTIO_NET_HDR_GSO_ECN,
					     .gso_size = cpu_to_le16(1400),
					     .csum_start = cpu_to_le16(7),
					     .csum_offset = cpu_to_le16(3)};
	pkt.len = 1000;
	assert_int_equal(vireo_net_device_receive(h.nd, &pkt), 0);
	assert_int_equal(net_harness_take_rx(&h, &len), a);
	hdr = net_harness_g2h(&h, a);
	assert_int_equal(hdr->flags, VIRTIO_NET_HDR_F_DATA_VALID);
	assert_int_equal(hdr->gso_type, VIRTIO_NET_HDR_GSO_NONE);
	assert_int_equal(hdr->gso_size, 0);
	assert_int_equal(hdr->csum_start, 0);
	assert_int_equal(hdr->csum_offset, 0);
	net_harness_destroy(&h);

	/* D-NET-42: with GUEST_TSO4, a TCPV4 frame lacking NEEDS_CSUM or gso_size is dropped. */
	net_harness_init(&h, &o, F(GUEST_CSUM) | F(GUEST_TSO4) | F(MRG_RXBUF) | F(MAC));
	net_harness_post_rx(&h, 4096, 1);
	pkt.len = 3000;
	pkt.vnet = (struct vireo_net_hdr_v1){.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
					     .gso_size = cpu_to_le16(1400)};
	assert_int_equal(vireo_net_device_receive(h.nd, &pkt), -EOPNOTSUPP);
	pkt.vnet.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	pkt.vnet.gso_size = 0;
	assert_int_equal(vireo_net_device_receive(h.nd, &pkt), -EOPNOTSUPP);
	assert_int_equal(net_harness_take_rx(&h, &len), 0);
	free(f);
	net_harness_destroy(&h);
}

/* With GUEST_CSUM and GUEST_TSO4 negotiated, such frames go through with their header. */
static void test_rx_offloads_negotiated(void **state)
{
	struct net_device_options o = {.queue_size = NET_HARNESS_QNUM,
				       .mac = {0x02, 0, 0, 0, 0, 0x01},
				       .offloads = NET_OFFLOAD_ALL};
	uint8_t *f = net_harness_frame(mac_dev, mac_a, 5000, 9);
	struct net_packet pkt = {.data = f, .len = 5000};
	const struct vireo_net_hdr_v1 *hdr;
	struct net_harness h;
	uint64_t a;
	uint32_t len;

	(void)state;
	net_harness_init(&h, &o, ALL_NET);
	assert_int_equal(vireo_net_device_rx_offloads(h.nd), NET_OFFLOAD_ALL);
	a = net_harness_post_rx(&h, 8192, 1);
	pkt.vnet = (struct vireo_net_hdr_v1){.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					     .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
					     .gso_size = cpu_to_le16(1448),
					     .csum_start = cpu_to_le16(34),
					     .csum_offset = cpu_to_le16(16)};
	assert_int_equal(vireo_net_device_receive(h.nd, &pkt), 0);
	assert_int_equal(net_harness_take_rx(&h, &len), a);
	assert_int_equal(len, 5000 + HDR);
	hdr = net_harness_g2h(&h, a);
	assert_int_equal(hdr->flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(hdr->gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(le16_to_cpu(hdr->gso_size), 1448);
	assert_int_equal(le16_to_cpu(hdr->csum_start), 34);
	assert_int_equal(le16_to_cpu(hdr->num_buffers), 1);
	free(f);
	net_harness_destroy(&h);
}

/* §5.1.6.3 violations in receive buffers put the device in NEEDS_RESET, without a crash. */
static void test_rx_hostile_buffers(void **state)
{
	struct net_harness h;
	struct virtio_sg sg[2];
	uint64_t a;

	(void)state;
	net_harness_init(&h, NULL, ALL_NET);
	a = net_harness_galloc(&h, 8, 0);
	sg[0] = (struct virtio_sg){.addr = a, .len = 8}; /* smaller than the header, with MRG */
	assert_int_equal(virtqueue_add_sgs(&h.q[0].vq, sg, 0, 1, &h), 0);
	virtqueue_kick(&h.q[0].vq);
	assert_int_equal(rx(&h, mac_dev, 60, 10), -EIO);
	assert_true(vdev_needs_reset(h.dev));
	assert_int_equal(rx(&h, mac_dev, 60, 10), -ENETDOWN);
	net_harness_destroy(&h);
	net_harness_init(&h, NULL, ALL_NET);
	a = net_harness_galloc(&h, 2048, 0);
	sg[0] = (struct virtio_sg){.addr = a, .len = 16};
	sg[1] = (struct virtio_sg){.addr = a + 16, .len = 2000}; /* a device-readable part */
	assert_int_equal(virtqueue_add_sgs(&h.q[0].vq, sg, 1, 1, &h), 0);
	virtqueue_kick(&h.q[0].vq);
	assert_int_equal(rx(&h, mac_dev, 60, 10), -EIO);
	assert_true(vdev_needs_reset(h.dev));
	net_harness_destroy(&h);
}

/* The link: down drops frames (RX_NOT_READY), up again delivers. */
static void test_rx_link_down(void **state)
{
	struct net_harness h;
	uint32_t len;

	(void)state;
	net_harness_init(&h, NULL, ALL_NET);
	(void)net_harness_post_rx(&h, 2048, 1);
	vireo_net_device_set_link(h.nd, false);
	assert_int_equal(rx(&h, mac_dev, 60, 11), -ENETDOWN);
	assert_int_equal(net_harness_drops(&h, NET_DROP_RX_NOT_READY), 1);
	vireo_net_device_set_link(h.nd, true);
	assert_int_equal(rx(&h, mac_dev, 60, 11), 0);
	assert_int_not_equal(net_harness_take_rx(&h, &len), 0);
	net_harness_destroy(&h);
}

/* Post enough buffers for every frame of a filter test. */
static void post_many(struct net_harness *h, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		(void)net_harness_post_rx(h, 2048, 1);
}

/* D-NET-54/56/57: PROMISC, ALLMULTI and MAC_TABLE_SET decide what is received. */
static void test_ctrl_rx_filter(void **state)
{
	uint8_t table[4 + 6 + 4 + 6];
	struct net_harness h;
	uint8_t off = 0, on = 1;
	le32 one = cpu_to_le32(1);

	(void)state;
	net_harness_init(&h, NULL, ALL_NET);
	post_many(&h, 16);
	assert_int_equal(rx(&h, mac_b, 60, 1), 0); /* promiscuous after reset */
	assert_int_equal(
		net_harness_ctrl(&h, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &off, 1),
		VIRTIO_NET_OK);
	assert_int_equal(rx(&h, mac_b, 60, 1), -EPERM);
	assert_int_equal(rx(&h, mac_dev, 60, 1), 0);
	assert_int_equal(rx(&h, mac_bcast, 60, 1), 0);
	assert_int_equal(rx(&h, mac_mcast, 60, 1), -EPERM);
	assert_int_equal(
		net_harness_ctrl(&h, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &on, 1),
		VIRTIO_NET_OK);
	assert_int_equal(rx(&h, mac_mcast, 60, 1), 0);
	/* MAC_TABLE_SET: one unicast (mac_b), one multicast. */
	memcpy(table, &one, 4);
	memcpy(table + 4, mac_b, 6);
	memcpy(table + 10, &one, 4);
	memcpy(table + 14, mac_mcast, 6);
	assert_int_equal(net_harness_ctrl(&h, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET,
					  table, sizeof(table)),
			 VIRTIO_NET_OK);
	assert_int_equal(rx(&h, mac_b, 60, 1), 0);
	assert_int_equal(rx(&h, mac_a, 60, 1), -EPERM);
	/* A driver breaking drv:CVQ/Setting MAC Address Filtering: a table whose counts do not match its length is refused. */
	assert_int_equal(net_harness_ctrl(&h, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET,
					  table, sizeof(table) - 1),
			 VIRTIO_NET_ERR);
	assert_int_equal(net_harness_drops(&h, NET_DROP_RX_FILTERED), 3);
	assert_int_equal(net_harness_drops(&h, NET_DROP_CTRL_BAD), 1);
	net_harness_destroy(&h);
}

/*
 * vhost-user "Ring states": a control ring the front-end disabled is served without side
 * effects: the command is used with length 0 (no ack written), counted, and not applied.
 */
static void test_ctrl_disabled_ring(void **state)
{
	struct net_harness h;
	uint8_t off = 0;

	(void)state;
	net_harness_init(&h, NULL, ALL_NET);
	post_many(&h, 4);
	h.dev->queues[h.ctrl_index].disabled = true;
	assert_int_equal(
		net_harness_ctrl(&h, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &off, 1),
		0xee);
	assert_int_equal(net_harness_drops(&h, NET_DROP_CTRL_DISABLED), 1);
	assert_int_equal(rx(&h, mac_b, 60, 1), 0); /* still promiscuous */
	h.dev->queues[h.ctrl_index].disabled = false;
	assert_int_equal(
		net_harness_ctrl(&h, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &off, 1),
		VIRTIO_NET_OK);
	assert_int_equal(rx(&h, mac_b, 60, 1), -EPERM);
	net_harness_destroy(&h);
}

/*
 * A driver that keeps the control queue full cannot hold the device's thread: one call
 * serves 32 commands (NET_CTRL_BUDGET) and re-kicks itself for the rest.
 */
static void test_ctrl_budget(void **state)
{
	struct net_harness_queue *cq;
	struct net_harness h;
	unsigned int used = 0;
	uint32_t len;

	(void)state;
	net_harness_init(&h, NULL, ALL_NET);
	cq = &h.q[h.ctrl_index];
	for (unsigned int i = 0; i < NET_HARNESS_QNUM; i++) {
		uint64_t a = net_harness_galloc(&h, 3, 0);
		uint8_t *p = net_harness_g2h(&h, a);
		struct virtio_sg sg = {.addr = a, .len = 3};

		/* One descriptor each (no room for an ack: none written), so 64 fit the ring. */
		p[0] = VIRTIO_NET_CTRL_RX;
		p[1] = VIRTIO_NET_CTRL_RX_PROMISC;
		p[2] = 1;
		assert_int_equal(virtqueue_add_sgs(&cq->vq, &sg, 1, 0, &h), 0);
	}
	virtqueue_kick(&cq->vq);
	(void)vireo_event_loop_run_once(&h.loop, 100);
	while (virtqueue_get_buf(&cq->vq, &len))
		used++;
	assert_int_equal(used, 32);
	for (int round = 0; round < 10 && used < NET_HARNESS_QNUM; round++) {
		(void)vireo_event_loop_run_once(&h.loop, 100);
		while (virtqueue_get_buf(&cq->vq, &len))
			used++;
	}
	assert_int_equal(used, NET_HARNESS_QNUM);
	net_harness_destroy(&h);
}

/*
 * D-NET-59: without CTRL_VLAN (never offered) every VLAN-tagged frame is accepted,
 * whatever its VID, also while a MAC filter is in force (CTRL_RX, not promiscuous).
 */
static void test_rx_vlan_tagged_accepted(void **state)
{
	static const uint16_t vids[] = {0, 1, 100, 4094};
	struct net_harness h;
	uint8_t *f = net_harness_frame(mac_dev, mac_a, 200, 2);
	struct net_packet pkt = {.data = f, .len = 200};
	const uint8_t off = 0;
	unsigned int i;
	uint64_t a;
	uint32_t len;

	(void)state;
	net_harness_init(&h, NULL, ALL_NET);
	assert_false(h.features & F(CTRL_VLAN));
	assert_int_equal(
		net_harness_ctrl(&h, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &off, 1),
		VIRTIO_NET_OK);
	for (i = 0; i < sizeof(vids) / sizeof(vids[0]); i++) {
		f[12] = 0x81;
		f[13] = 0x00;
		f[14] = (uint8_t)(vids[i] >> 8);
		f[15] = (uint8_t)vids[i];
		a = net_harness_post_rx(&h, 2048, 1);
		assert_int_equal(vireo_net_device_receive(h.nd, &pkt), 0);
		assert_int_equal(net_harness_take_rx(&h, &len), a);
		assert_int_equal(len, HDR + 200);
		assert_memory_equal((const uint8_t *)net_harness_g2h(&h, a) + HDR, f, 200);
	}
	free(f);
	net_harness_destroy(&h);
}

/* D-NET-58: MAC_ADDR_SET changes config mac before the ack, and the filter follows. */
static void test_ctrl_mac_addr(void **state)
{
	struct vireo_net_config c;
	struct net_harness h;
	uint8_t off = 0;

	(void)state;
	net_harness_init(&h, NULL, ALL_NET);
	post_many(&h, 8);
	assert_int_equal(
		net_harness_ctrl(&h, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &off, 1),
		VIRTIO_NET_OK);
	assert_int_equal(
		net_harness_ctrl(&h, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, mac_b, 6),
		VIRTIO_NET_OK);
	assert_int_equal(vireo_vdev_config_read(h.dev, 0, &c, sizeof(c)), 0);
	assert_memory_equal(c.mac, mac_b, 6);
	assert_int_equal(rx(&h, mac_b, 60, 1), 0);
	assert_int_equal(rx(&h, mac_dev, 60, 1), -EPERM);
	/* multicast, wrong length: ERR, unchanged */
	assert_int_equal(net_harness_ctrl(&h, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET,
					  mac_mcast, 6),
			 VIRTIO_NET_ERR);
	assert_int_equal(
		net_harness_ctrl(&h, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, mac_a, 5),
		VIRTIO_NET_ERR);
	assert_int_equal(vireo_vdev_config_read(h.dev, 0, &c, sizeof(c)), 0);
	assert_memory_equal(c.mac, mac_b, 6);
	/* D-NET-56 and reset: a new driver finds the configured MAC and an open filter. */
	vireo_vdev_reset(h.dev);
	assert_int_equal(vireo_vdev_config_read(h.dev, 0, &c, sizeof(c)), 0);
	assert_memory_equal(c.mac, mac_dev, 6);
	net_harness_destroy(&h);
}

/* Commands that are not supported, malformed or not negotiated are answered ERR. */
static void test_ctrl_errors(void **state)
{
	struct net_harness h;
	uint8_t one = 1;
	le16 pairs = cpu_to_le16(1);

	(void)state;
	net_harness_init(&h, NULL, ALL_NET);
	assert_int_equal(net_harness_ctrl(&h, 99, 0, NULL, 0), VIRTIO_NET_ERR);
	assert_int_equal(
		net_harness_ctrl(&h, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOBCAST, &one, 1),
		VIRTIO_NET_ERR); /* CTRL_RX_EXTRA not offered */
	assert_int_equal(
		net_harness_ctrl(&h, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, NULL, 0),
		VIRTIO_NET_ERR);
	assert_int_equal(net_harness_ctrl(&h, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
					  &pairs, 2),
			 VIRTIO_NET_ERR); /* no MQ */
	assert_int_equal(net_harness_ctrl(&h, VIRTIO_NET_CTRL_VLAN, 0, &one, 1), VIRTIO_NET_ERR);
	assert_int_equal(net_harness_drops(&h, NET_DROP_CTRL_BAD), 5);
	assert_false(vdev_needs_reset(h.dev));
	net_harness_destroy(&h);
}

/* D-NET-62/63: VQ_PAIRS_SET within 1..max_virtqueue_pairs. */
static void test_ctrl_mq_pairs(void **state)
{
	struct net_device_options o = {
		.queue_size = NET_HARNESS_QNUM, .mac = {0x02, 0, 0, 0, 0, 0x01}, .queue_pairs = 2};
	struct net_harness h;
	le16 v;

	(void)state;
	net_harness_init(&h, &o, ALL_NET);
	assert_int_equal(h.ctrl_index, 4);
	v = cpu_to_le16(2);
	assert_int_equal(
		net_harness_ctrl(&h, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &v, 2),
		VIRTIO_NET_OK);
	v = cpu_to_le16(0);
	assert_int_equal(
		net_harness_ctrl(&h, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &v, 2),
		VIRTIO_NET_ERR);
	v = cpu_to_le16(3);
	assert_int_equal(
		net_harness_ctrl(&h, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &v, 2),
		VIRTIO_NET_ERR);
	/* Pair 2's receive queue is not set up: frames fall back to receiveq1. */
	(void)net_harness_post_rx(&h, 2048, 1);
	assert_int_equal(rx(&h, mac_dev, 60, 1), 0);
	net_harness_destroy(&h);
}

/* Polling mode: the transmit queue asks for no kicks and is served by vireo_net_device_poll(). */
static void test_poll_mode(void **state)
{
	struct vireo_net_hdr_v1 hdr = {0};
	uint8_t *f = net_harness_frame(mac_b, mac_a, 60, 12);
	struct net_harness h;
	struct virtio_sg sg;
	uint64_t a;
	uint32_t len;

	(void)state;
	net_harness_init(&h, NULL, ALL_NET & ~VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
	vireo_net_device_set_polling(h.nd, true);
	assert_int_equal(vireo_net_device_poll(h.nd), 0);
	assert_int_equal(h.q[1].vq.split.used->flags, VIRTQ_USED_F_NO_NOTIFY);
	a = net_harness_galloc(&h, 72, 0);
	memcpy(net_harness_g2h(&h, a), &hdr, 12);
	memcpy((uint8_t *)net_harness_g2h(&h, a) + 12, f, 60);
	sg = (struct virtio_sg){.addr = a, .len = 72};
	assert_int_equal(virtqueue_add_sgs(&h.q[1].vq, &sg, 1, 0, &h), 0);
	assert_false(virtqueue_kick_prepare(&h.q[1].vq)); /* no kick wanted */
	assert_int_equal(vireo_net_device_poll(h.nd), 1);
	assert_ptr_equal(virtqueue_get_buf(&h.q[1].vq, &len), &h);
	assert_int_equal(h.ncaptured, 1);
	free(f);
	net_harness_destroy(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rx_single),
		cmocka_unit_test(test_rx_small_buffer_kept),
		cmocka_unit_test(test_rx_mergeable),
		cmocka_unit_test(test_rx_mergeable_partial_never_exposed),
		cmocka_unit_test(test_rx_offload_and_mtu_rules),
		cmocka_unit_test(test_rx_header_only_negotiated),
		cmocka_unit_test(test_rx_offloads_negotiated),
		cmocka_unit_test(test_rx_hostile_buffers),
		cmocka_unit_test(test_rx_link_down),
		cmocka_unit_test(test_ctrl_rx_filter),
		cmocka_unit_test(test_ctrl_disabled_ring),
		cmocka_unit_test(test_ctrl_budget),
		cmocka_unit_test(test_rx_vlan_tagged_accepted),
		cmocka_unit_test(test_ctrl_mac_addr),
		cmocka_unit_test(test_ctrl_errors),
		cmocka_unit_test(test_ctrl_mq_pairs),
		cmocka_unit_test(test_poll_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
