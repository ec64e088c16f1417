// SPDX-License-Identifier: MIT
/*
 * The virtio-net driver (drivers/net*.c) against a hostile device
 * (tests/lib/net_fake.c): short or oversized used lengths, num_buffers out
 * of range, merged buffers not filled, offload flags that were not
 * negotiated, runts and giants. Every bad frame is dropped and counted, the
 * frames after it still arrive, and a ring the device broke fails cleanly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include <vireo/virtio_net.h>

#include "tests/lib/net_fake.h"

#define F(bit) VIRTIO_BIT(VIRTIO_NET_F_##bit)
#define HDR_LEN sizeof(struct vireo_net_hdr_v1)

static uint64_t dropped(struct net_fake *f)
{
	struct virtio_net_stats st;

	virtio_net_get_stats(f->net, &st);
	return st.rx_dropped;
}

/* After the hostile part: a good frame still comes through, byte for byte. */
static void expect_good_frame(struct net_fake *f)
{
	uint8_t frame[80], got[2048];
	unsigned int i;

	for (i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i ^ 0x5a);
	assert_int_equal(net_fake_rx(f, NULL, frame, sizeof(frame)), 1);
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), sizeof(frame));
	assert_memory_equal(got, frame, sizeof(frame));
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), 0);
}

/* A used len shorter than the header (or no frame after it) is dropped. */
static void test_short_used_len(void **state)
{
	struct net_fake *f = *state;
	uint8_t bytes[HDR_LEN + 60] = {0}, got[2048];
	const uint32_t lens[] = {0, 1, HDR_LEN - 1, HDR_LEN, HDR_LEN + 13};

	net_fake_start(f, 0, 0);
	bytes[10] = 1; /* num_buffers */
	for (unsigned int i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		assert_int_equal(net_fake_rx_raw(f, bytes, sizeof(bytes), lens[i]), 0);
		assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), 0);
		assert_int_equal(dropped(f), i + 1);
	}
	expect_good_frame(f);
	assert_int_equal(net_fake_rx_posted(f), 64);
}

/* A used len above the posted buffer breaks the ring (the ring's own check): -EIO, no crash. */
static void test_used_len_above_posted(void **state)
{
	struct net_fake *f = *state;
	uint8_t got[2048], frame[64] = {0};

	net_fake_start(f, 0, 0);
	assert_int_equal(net_fake_rx_used_raw(f, 1000000), 0);
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), -EIO);
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), -EIO);
	assert_int_equal(virtio_net_wait(f->net, 10), -EIO);
	/* Transmit is a different queue; it still works. */
	assert_int_equal(virtio_net_send(f->net, frame, sizeof(frame)), 1);
}

/*
 * Without MRG_RXBUF num_buffers is 1 (the device rule); above 1 is dropped. 0 is
 * let through: DPDK's vhost library does not write the field then.
 */
static void test_num_buffers_without_mrg(void **state)
{
	struct net_fake *f = *state;
	struct vireo_net_hdr_v1 hdr = {0};
	uint8_t frame[60] = {0}, got[2048];
	const uint16_t bad[] = {2, 64, 0xffff};

	net_fake_start(f, 0, 0);
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hdr.num_buffers = cpu_to_le16(bad[i]);
		assert_int_equal(net_fake_rx(f, &hdr, frame, sizeof(frame)), 1);
		assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), 0);
	}
	assert_int_equal(dropped(f), 3);
	hdr.num_buffers = 0;
	assert_int_equal(net_fake_rx(f, &hdr, frame, sizeof(frame)), 1);
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), sizeof(frame));
	assert_int_equal(dropped(f), 3);
	expect_good_frame(f);
}

/* With MRG_RXBUF: 0, more than the ring, or more than the device used: dropped. */
static void test_num_buffers_with_mrg(void **state)
{
	struct net_fake *f = *state;
	struct vireo_net_hdr_v1 hdr = {0};
	uint8_t frame[60] = {0}, got[2048];
	const uint16_t bad[] = {0, 65, 0xffff, 3};

	net_fake_start(f, F(MRG_RXBUF), VIRTIO_NET_DRIVER_MRG_RXBUF);
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hdr.num_buffers = cpu_to_le16(bad[i]);
		assert_int_equal(net_fake_rx(f, &hdr, frame, sizeof(frame)), 1);
		assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), 0);
	}
	assert_int_equal(dropped(f), 4);
	expect_good_frame(f);
	assert_int_equal(net_fake_rx_posted(f), 64);
}

/* Every buffer but the last is full; a short middle one drops the frame. */
static void test_mrg_buffer_not_full(void **state)
{
	struct net_fake *f = *state;
	uint8_t first[HDR_LEN + 100] = {0}, rest[100] = {0}, got[4096];

	net_fake_start(f, F(MRG_RXBUF), VIRTIO_NET_DRIVER_MRG_RXBUF);
	first[10] = 2; /* num_buffers */
	assert_int_equal(net_fake_rx_raw(f, first, sizeof(first), sizeof(first)), 0);
	assert_int_equal(net_fake_rx_raw(f, rest, sizeof(rest), sizeof(rest)), 0);
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), 0);
	assert_int_equal(dropped(f), 1);
	/* A zero-length last buffer is no part of a frame either. */
	assert_int_equal(net_fake_rx_raw(f, first, sizeof(first), 2048), 0);
	assert_int_equal(net_fake_rx_raw(f, rest, sizeof(rest), 0), 0);
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), 0);
	assert_int_equal(dropped(f), 2);
	expect_good_frame(f);
	assert_int_equal(net_fake_rx_posted(f), 64);
}

/* R-NET-11: offloads that were not negotiated drop the frame; unknown flag bits are ignored. */
static void test_offloads_not_negotiated(void **state)
{
	struct net_fake *f = *state;
	struct vireo_net_hdr_v1 hdr = {.num_buffers = 1};
	uint8_t frame[60] = {0}, got[2048];
	const uint8_t flags[] = {VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_F_DATA_VALID,
				 VIRTIO_NET_HDR_F_RSC_INFO};
	const uint8_t gso[] = {VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_GSO_UDP,
			       VIRTIO_NET_HDR_GSO_TCPV6, VIRTIO_NET_HDR_GSO_UDP_L4,
			       VIRTIO_NET_HDR_GSO_ECN};
	unsigned int i;

	net_fake_start(f, 0, 0);
	for (i = 0; i < sizeof(flags); i++) {
		hdr.flags = flags[i];
		assert_int_equal(net_fake_rx(f, &hdr, frame, sizeof(frame)), 1);
		assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), 0);
	}
	hdr.flags = 0;
	for (i = 0; i < sizeof(gso); i++) {
		hdr.gso_type = gso[i];
		assert_int_equal(net_fake_rx(f, &hdr, frame, sizeof(frame)), 1);
		assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), 0);
	}
	assert_int_equal(dropped(f), sizeof(flags) + sizeof(gso));
	/* drv:NET/.../Processing of Incoming Packets: unknown flags are ignored. */
	hdr.gso_type = 0;
	hdr.flags = 0x80;
	assert_int_equal(net_fake_rx(f, &hdr, frame, sizeof(frame)), 1);
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), sizeof(frame));
	expect_good_frame(f);
}

/* With GUEST_CSUM, still no GSO and no RSC_INFO. */
static void test_gso_with_guest_csum(void **state)
{
	struct net_fake *f = *state;
	struct vireo_net_hdr_v1 hdr = {.num_buffers = 1};
	uint8_t frame[60] = {0}, got[2048];

	net_fake_start(f, F(CSUM) | F(GUEST_CSUM), VIRTIO_NET_DRIVER_CSUM);
	hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_RSC_INFO;
	hdr.csum_start = cpu_to_le16(14);
	assert_int_equal(net_fake_rx(f, &hdr, frame, sizeof(frame)), 1);
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), 0);
	hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	hdr.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	hdr.gso_size = cpu_to_le16(1448);
	assert_int_equal(net_fake_rx(f, &hdr, frame, sizeof(frame)), 1);
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), 0);
	assert_int_equal(dropped(f), 2);
	expect_good_frame(f);
}

/* Runts (under 14 bytes) and giants (over mtu + 18) are dropped. */
static void test_runts_and_giants(void **state)
{
	struct net_fake *f = *state;
	static uint8_t frame[3000], got[4096];
	uint16_t mtu = 1000;

	net_fake_set_config(f, NET_FAKE_CFG(mtu), &mtu, 2);
	net_fake_start(f, F(MTU) | F(MRG_RXBUF), VIRTIO_NET_DRIVER_MRG_RXBUF);
	assert_int_equal(net_fake_rx(f, NULL, frame, 13), 1);
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), 0);
	assert_int_equal(net_fake_rx(f, NULL, frame, 1019), 1);
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), 0);
	assert_int_equal(net_fake_rx(f, NULL, frame, 3000), 2);
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), 0);
	assert_int_equal(dropped(f), 3);
	assert_int_equal(net_fake_rx(f, NULL, frame, 1018), 1);
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), 1018);
	expect_good_frame(f);
}

/* Garbage in every receive buffer of the ring: dropped or delivered, never a crash. */
static void test_garbage_ring(void **state)
{
	struct net_fake *f = *state;
	uint8_t junk[2048], got[2048];
	uint64_t x = 0x9e3779b97f4a7c15ull;
	unsigned int i, j;
	int n;

	net_fake_start(f, F(MRG_RXBUF) | F(GUEST_CSUM),
		       VIRTIO_NET_DRIVER_MRG_RXBUF | VIRTIO_NET_DRIVER_CSUM);
	for (i = 0; i < 256; i++) {
		for (j = 0; j < sizeof(junk); j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			junk[j] = (uint8_t)x;
		}
		junk[10] = (uint8_t)(i % 4); /* num_buffers 0..3, to exercise merging */
		junk[11] = 0;
		assert_int_equal(net_fake_rx_raw(f, junk, sizeof(junk), (uint32_t)(x % 2049)), 0);
		n = virtio_net_recv(f->net, got, sizeof(got));
		assert_true(n >= 0 && n <= (int)sizeof(got));
	}
	while (virtio_net_recv(f->net, got, sizeof(got)) > 0)
		;
	assert_int_equal(net_fake_rx_posted(f), 64);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, net_fake_setup, net_fake_teardown)
	const struct CMUnitTest tests[] = {
		T(test_short_used_len),
		T(test_used_len_above_posted),
		T(test_num_buffers_without_mrg),
		T(test_num_buffers_with_mrg),
		T(test_mrg_buffer_not_full),
		T(test_offloads_not_negotiated),
		T(test_gso_with_guest_csum),
		T(test_runts_and_giants),
		T(test_garbage_ring),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
