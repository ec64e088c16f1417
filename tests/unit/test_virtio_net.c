// SPDX-License-Identifier: MIT
/*
 * Unit tests for the virtio-net driver (drivers/net*.c) against the scripted
 * device of tests/lib/net_fake.c: feature negotiation, configuration, frames
 * both ways byte for byte, receive refill, merged receive buffers, checksum
 * completion, control commands and waiting. A hostile device's replies:
 * test_virtio_net_hostile.c.
 * Every test ends in net_fake_teardown(), which fails on a kick before DRIVER_OK
 * (R-BF-17), a config write (R-NET-01) or a transmit header that is not all zero
 * (R-NET-05..07, R-NET-09: no DATA_VALID, RSC_INFO or tunnel bits).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/virtio_net.h>

#include "tests/lib/net_fake.h"

#define F(bit) VIRTIO_BIT(VIRTIO_NET_F_##bit)
#define CTRL_ALL (F(CTRL_VQ) | F(CTRL_RX) | F(CTRL_MAC_ADDR))

static void fill_frame(uint8_t *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 31u + i * 7u + (i >> 8));
}

static void test_probe_minimal(void **state)
{
	struct net_fake *f = *state;
	uint8_t mac[6];

	net_fake_start(f, 0, 0);
	virtio_net_mac(f->net, mac);
	/* R-NET-02: a locally administered unicast address of our own. */
	assert_int_equal(mac[0] & 3, 2);
	assert_true(virtio_net_link_up(f->net));
	assert_int_equal(virtio_net_mtu(f->net), 1500);
	assert_int_equal(f->fd.nvqs, 2);
	assert_int_equal(f->fd.acked, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_true(f->fd.status & VIRTIO_STATUS_DRIVER_OK);
	/* §5.1.5: the receive queue is filled at start, and announced. */
	assert_int_equal(net_fake_rx_posted(f), 64);
	assert_int_equal(fake_dev_kicks(&f->fd, NET_FAKE_RXQ), 1);
	assert_int_equal(virtio_net_set_rx_mode(f->net, true, false), -EOPNOTSUPP);
	assert_int_equal(virtio_net_set_mac(f->net, mac), -EOPNOTSUPP);
	assert_null(virtio_net_from_device(NULL));
}

/*
 * R-BF-09: an optional config field is read only when its feature is offered: with
 * none of MAC, STATUS, MTU offered the driver reads no config at all, and the values
 * there (a MAC, link down, mtu 9000) are not used.
 */
static void test_config_fields_need_their_feature(void **state)
{
	struct net_fake *f = *state;
	const uint8_t dev_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
	uint16_t status = 0, mtu = 9000;
	uint8_t mac[6];

	net_fake_set_config(f, NET_FAKE_CFG(mac), dev_mac, 6);
	net_fake_set_config(f, NET_FAKE_CFG(status), &status, 2);
	net_fake_set_config(f, NET_FAKE_CFG(mtu), &mtu, 2);
	net_fake_start(f, 0, 0);
	virtio_net_mac(f->net, mac);
	assert_memory_not_equal(mac, dev_mac, 6);
	assert_int_equal(virtio_net_mtu(f->net), 1500);
	assert_true(virtio_net_link_up(f->net));
	assert_int_equal(f->fd.config_reads, 0);
}

static void test_probe_reads_config(void **state)
{
	struct net_fake *f = *state;
	const uint8_t dev_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
	uint16_t status = VIRTIO_NET_S_LINK_UP, mtu = 9000;
	uint8_t mac[6];

	net_fake_set_config(f, NET_FAKE_CFG(mac), dev_mac, 6);
	net_fake_set_config(f, NET_FAKE_CFG(status), &status, 2);
	net_fake_set_config(f, NET_FAKE_CFG(mtu), &mtu, 2);
	net_fake_start(f, F(MAC) | F(STATUS) | F(MTU), 0);
	virtio_net_mac(f->net, mac);
	assert_memory_equal(mac, dev_mac, 6);
	assert_int_equal(virtio_net_mtu(f->net), 9000);
	assert_true(virtio_net_link_up(f->net));
	status = 0;
	net_fake_set_config(f, NET_FAKE_CFG(status), &status, 2);
	assert_false(virtio_net_link_up(f->net));
	assert_int_equal(f->fd.acked, VIRTIO_BIT(VIRTIO_F_VERSION_1) | F(MAC) | F(STATUS) | F(MTU));
}

/* A device mtu outside 68..65535 (or a config space nobody fills): the default MTU. */
static void test_mtu_out_of_range(void **state)
{
	struct net_fake *f = *state;
	uint16_t mtu = 0;

	net_fake_set_config(f, NET_FAKE_CFG(mtu), &mtu, 2);
	net_fake_start(f, F(MTU), 0);
	assert_int_equal(virtio_net_mtu(f->net), 1500);
}

/* Everything offered, default options: the control queue, nothing else optional. */
static void test_features_default(void **state)
{
	struct net_fake *f = *state;
	uint64_t offered = F(MRG_RXBUF) | F(CSUM) | F(GUEST_CSUM) | CTRL_ALL | F(MQ) |
			   F(HOST_TSO4) | F(GUEST_TSO4) | F(CTRL_VLAN) | F(GUEST_ANNOUNCE);

	net_fake_start(f, offered, 0);
	assert_int_equal(f->fd.acked, VIRTIO_BIT(VIRTIO_F_VERSION_1) | CTRL_ALL);
	assert_int_equal(f->fd.nvqs, 3);
}

static void test_features_options(void **state)
{
	struct net_fake *f = *state;
	uint64_t offered = F(MRG_RXBUF) | F(CSUM) | F(GUEST_CSUM) | CTRL_ALL | F(MQ) |
			   F(HOST_TSO4) | F(GUEST_TSO4);

	net_fake_start(f, offered,
		       VIRTIO_NET_DRIVER_MRG_RXBUF | VIRTIO_NET_DRIVER_CSUM |
			       VIRTIO_NET_DRIVER_NO_CTRL);
	assert_int_equal(f->fd.acked,
			 VIRTIO_BIT(VIRTIO_F_VERSION_1) | F(MRG_RXBUF) | F(CSUM) | F(GUEST_CSUM));
	assert_int_equal(f->fd.nvqs, 2);
}

/* A probe that cannot get its buffers undoes everything; the device is left FAILED. */
static void test_probe_out_of_dma(void **state)
{
	struct net_fake *f = *state;

	f->fd.queue_size = 32768; /* 2 x 32768 buffers do not fit 8 MiB */
	assert_int_equal(virtio_net_register(&f->bus, &f->nd), 0);
	assert_int_equal(vireo_register_virtio_device(&f->bus, &f->fd.vdev), -ENOMEM);
	assert_null(virtio_net_from_device(&f->fd.vdev));
	assert_true(f->fd.status & VIRTIO_STATUS_FAILED);
	assert_int_equal(f->fd.nvqs, 0);
}

/* R-NET-05/06/07/09: a zero header, then the frame as it was given. */
static void test_send_byte_exact(void **state)
{
	struct net_fake *f = *state;
	struct virtio_net_stats st;
	uint8_t frame[1518];

	net_fake_start(f, 0, 0);
	fill_frame(frame, sizeof(frame), 1);
	assert_int_equal(virtio_net_send(f->net, frame, 60), 1);
	assert_int_equal(f->tx_frames, 1);
	assert_int_equal(f->last_tx_len, 60);
	assert_memory_equal(f->last_tx, frame, 60);
	assert_int_equal(f->last_tx_hdr.flags, 0);
	assert_int_equal(f->last_tx_hdr.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	assert_int_equal(f->last_tx_hdr.num_buffers, 0);
	assert_int_equal(virtio_net_send(f->net, frame, sizeof(frame)), 1);
	assert_int_equal(f->last_tx_len, sizeof(frame));
	assert_memory_equal(f->last_tx, frame, sizeof(frame));
	virtio_net_get_stats(f->net, &st);
	assert_int_equal(st.tx_frames, 2);
	assert_int_equal(st.tx_bytes, 60 + sizeof(frame));
	assert_int_equal(st.tx_kicks, 2);
	/* The second send took back the first buffer already. */
	assert_int_equal(virtio_net_tx_reclaim(f->net), 1);
}

/* R-NET-03: nothing sent above mtu plus the Ethernet header and a VLAN tag. */
static void test_send_refuses_bad_lengths(void **state)
{
	struct net_fake *f = *state;
	uint16_t mtu = 9000;
	static uint8_t frame[9100];
	const void *frames[2] = {frame, frame};
	size_t lens[2] = {64, 13};

	net_fake_set_config(f, NET_FAKE_CFG(mtu), &mtu, 2);
	net_fake_start(f, F(MTU), 0);
	assert_int_equal(virtio_net_send(f->net, frame, 13), -EINVAL);
	assert_int_equal(virtio_net_send(f->net, frame, 9019), -EINVAL);
	assert_int_equal(virtio_net_send(f->net, NULL, 64), -EINVAL);
	/* One bad frame refuses the whole burst: nothing half-sent. */
	assert_int_equal(virtio_net_send_burst(f->net, frames, lens, 2), -EINVAL);
	assert_int_equal(f->tx_frames, 0);
	assert_int_equal(virtio_net_send(f->net, frame, 9018), 1);
	assert_int_equal(f->last_tx_len, 9018);
}

/*
 * R-NET-03: with MTU negotiated (no MRG_RXBUF), each receive buffer holds an mtu-sized
 * frame, with its header and a VLAN tag, on its own.
 */
static void test_rx_buffers_hold_mtu(void **state)
{
	struct net_fake *f = *state;
	static uint8_t frame[9018], got[9100];
	uint16_t mtu = 9000;

	net_fake_set_config(f, NET_FAKE_CFG(mtu), &mtu, 2);
	net_fake_start(f, F(MTU), 0);
	assert_false(f->fd.acked & F(MRG_RXBUF));
	fill_frame(frame, sizeof(frame), 8);
	assert_int_equal(net_fake_rx(f, NULL, frame, sizeof(frame)), 1);
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), sizeof(frame));
	assert_memory_equal(got, frame, sizeof(frame));
}

/*
 * R-NET-10: with MRG_RXBUF every receive buffer holds at least the header: a header
 * and a minimal frame take one buffer, in every buffer posted.
 */
static void test_mrg_rx_buffers_hold_header(void **state)
{
	struct net_fake *f = *state;
	uint8_t frame[14], got[64];
	unsigned int i, posted;

	net_fake_start(f, F(MRG_RXBUF), VIRTIO_NET_DRIVER_MRG_RXBUF);
	assert_true(f->fd.acked & F(MRG_RXBUF));
	fill_frame(frame, sizeof(frame), 9);
	posted = net_fake_rx_posted(f);
	assert_true(posted > 0);
	for (i = 0; i < posted; i++)
		assert_int_equal(net_fake_rx(f, NULL, frame, sizeof(frame)), 1);
	for (i = 0; i < posted; i++)
		assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), sizeof(frame));
}

/* One kick per burst; a full ring takes what fits; reclaim frees the slots. */
static void test_send_burst_and_reclaim(void **state)
{
	struct net_fake *f = *state;
	static uint8_t frame[100][64];
	const void *frames[100];
	size_t lens[100];
	struct virtio_net_stats st;
	unsigned int i;

	net_fake_start(f, 0, 0);
	f->fd.defer = true;
	for (i = 0; i < 100; i++) {
		fill_frame(frame[i], 64, i);
		frames[i] = frame[i];
		lens[i] = 64;
	}
	assert_int_equal(virtio_net_send_burst(f->net, frames, lens, 8), 8);
	assert_int_equal(fake_dev_kicks(&f->fd, NET_FAKE_TXQ), 1);
	assert_int_equal(virtio_net_send_burst(f->net, frames + 8, lens + 8, 92), 56);
	assert_int_equal(virtio_net_send(f->net, frame[0], 64), 0);
	assert_int_equal(fake_dev_kicks(&f->fd, NET_FAKE_TXQ), 2);
	assert_int_equal(virtio_net_tx_reclaim(f->net), 0);
	assert_int_equal(fake_dev_process(&f->fd, NET_FAKE_TXQ, 100), 64);
	assert_int_equal(f->tx_frames, 64);
	assert_memory_equal(f->last_tx, frame[63], 64);
	assert_int_equal(virtio_net_tx_reclaim(f->net), 64);
	assert_int_equal(virtio_net_send_burst(f->net, frames + 64, lens + 64, 36), 36);
	virtio_net_get_stats(f->net, &st);
	assert_int_equal(st.tx_frames, 100);
	assert_int_equal(st.tx_kicks, 3);
}

static void test_receive_byte_exact(void **state)
{
	struct net_fake *f = *state;
	uint8_t frame[1518], got[2048];
	struct virtio_net_stats st;

	net_fake_start(f, 0, 0);
	fill_frame(frame, sizeof(frame), 3);
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), 0);
	assert_int_equal(net_fake_rx(f, NULL, frame, 60), 1);
	assert_int_equal(net_fake_rx(f, NULL, frame, sizeof(frame)), 1);
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), 60);
	assert_memory_equal(got, frame, 60);
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), sizeof(frame));
	assert_memory_equal(got, frame, sizeof(frame));
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), 0);
	virtio_net_get_stats(f->net, &st);
	assert_int_equal(st.rx_frames, 2);
	assert_int_equal(st.rx_bytes, 60 + sizeof(frame));
	assert_int_equal(st.rx_dropped, 0);
}

/* A caller buffer shorter than the frame gets its first bytes, and only those. */
static void test_receive_truncates(void **state)
{
	struct net_fake *f = *state;
	uint8_t frame[200], got[200];

	net_fake_start(f, 0, 0);
	fill_frame(frame, sizeof(frame), 4);
	memset(got, 0xee, sizeof(got));
	assert_int_equal(net_fake_rx(f, NULL, frame, sizeof(frame)), 1);
	assert_int_equal(virtio_net_recv(f->net, got, 50), 50);
	assert_memory_equal(got, frame, 50);
	assert_int_equal(got[50], 0xee);
	assert_int_equal(virtio_net_recv(f->net, got, 0), -EINVAL);
}

/* Frames taken, buffers back on the ring with one kick for the burst. */
static void test_rx_refill_keeps_ring_full(void **state)
{
	struct net_fake *f = *state;
	uint8_t frame[64], got[2048];
	unsigned int i, kicks;

	net_fake_start(f, 0, 0);
	fill_frame(frame, sizeof(frame), 5);
	for (i = 0; i < 10; i++)
		assert_int_equal(net_fake_rx(f, NULL, frame, sizeof(frame)), 1);
	assert_int_equal(net_fake_rx_posted(f), 54);
	kicks = fake_dev_kicks(&f->fd, NET_FAKE_RXQ);
	for (i = 0; i < 10; i++)
		assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), sizeof(frame));
	assert_int_equal(net_fake_rx_posted(f), 64);
	assert_int_equal(virtqueue_get_num_free(&f->fd.vqs[NET_FAKE_RXQ]->vq), 0);
	assert_int_equal(fake_dev_kicks(&f->fd, NET_FAKE_RXQ), kicks + 1);
	/* The whole ring used, taken, refilled: it keeps going round. */
	for (i = 0; i < 64; i++)
		assert_int_equal(net_fake_rx(f, NULL, frame, sizeof(frame)), 1);
	assert_int_equal(net_fake_rx(f, NULL, frame, sizeof(frame)), -ENOSPC);
	for (i = 0; i < 64; i++)
		assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), sizeof(frame));
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), 0);
	assert_int_equal(net_fake_rx_posted(f), 64);
}

/* MRG_RXBUF: a 9000-byte frame over 2048-byte buffers (num_buffers of them), assembled in order. */
static void test_mrg_rxbuf_assembly(void **state)
{
	struct net_fake *f = *state;
	static uint8_t frame[9000], got[9100];
	uint16_t mtu = 9000;

	net_fake_set_config(f, NET_FAKE_CFG(mtu), &mtu, 2);
	net_fake_start(f, F(MTU) | F(MRG_RXBUF), VIRTIO_NET_DRIVER_MRG_RXBUF);
	assert_true(f->fd.acked & F(MRG_RXBUF));
	fill_frame(frame, sizeof(frame), 6);
	assert_int_equal(net_fake_rx(f, NULL, frame, sizeof(frame)), 5);
	assert_int_equal(net_fake_rx(f, NULL, frame, 100), 1);
	assert_int_equal(net_fake_rx(f, NULL, frame + 1, 2036), 1); /* exactly one buffer */
	assert_int_equal(net_fake_rx(f, NULL, frame + 2, 2037), 2); /* one byte over */
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), sizeof(frame));
	assert_memory_equal(got, frame, sizeof(frame));
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), 100);
	assert_memory_equal(got, frame, 100);
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), 2036);
	assert_memory_equal(got, frame + 1, 2036);
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), 2037);
	assert_memory_equal(got, frame + 2, 2037);
	/* Truncated to the caller's buffer, the rest of the frame consumed all the same. */
	assert_int_equal(net_fake_rx(f, NULL, frame, sizeof(frame)), 5);
	assert_int_equal(net_fake_rx(f, NULL, frame + 3, 70), 1);
	assert_int_equal(virtio_net_recv(f->net, got, 3000), 3000);
	assert_memory_equal(got, frame, 3000);
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), 70);
	assert_memory_equal(got, frame + 3, 70);
	assert_int_equal(net_fake_rx_posted(f), 64);
}

/* 34 bytes of Ethernet + IPv4, then UDP: the frame of the checksum tests. */
static size_t build_udp(uint8_t *p, size_t payload)
{
	size_t udp_len = 8 + payload, i;

	memset(p, 0, 42);
	p[12] = 0x08; /* IPv4 */
	p[14] = 0x45;
	p[16] = (uint8_t)((20 + udp_len) >> 8);
	p[17] = (uint8_t)(20 + udp_len);
	p[22] = 64;
	p[23] = 17; /* UDP */
	memcpy(p + 26, (const uint8_t[]){10, 0, 0, 1, 10, 0, 0, 2}, 8);
	p[34] = 0x12;
	p[35] = 0x34;
	p[36] = 0x56;
	p[37] = 0x78;
	p[38] = (uint8_t)(udp_len >> 8);
	p[39] = (uint8_t)udp_len;
	for (i = 0; i < payload; i++)
		p[42 + i] = (uint8_t)(i * 13 + 1);
	return 42 + payload;
}

/* Plain RFC 768/1071 arithmetic, independent of the driver's. */
static uint32_t sum16(const uint8_t *p, size_t len, uint32_t s)
{
	size_t i;

	for (i = 0; i < len; i++)
		s += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* GUEST_CSUM with NEEDS_CSUM (R-NET-11): the driver completes the checksum. */
static void test_guest_csum_completed(void **state)
{
	struct net_fake *f = *state;
	struct vireo_net_hdr_v1 hdr = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .num_buffers = 1};
	uint8_t want[200], partial[200], got[256];
	size_t len = build_udp(want, 101);
	uint16_t udp_len = (uint16_t)(len - 34), full, pseudo;
	uint32_t ps;

	net_fake_start(f, F(CSUM) | F(GUEST_CSUM), VIRTIO_NET_DRIVER_CSUM);
	ps = sum16(want + 26, 8, 0) + 17 + udp_len;
	full = (uint16_t)~fold(sum16(want + 34, udp_len, ps));
	want[40] = (uint8_t)(full >> 8);
	want[41] = (uint8_t)full;
	memcpy(partial, want, len);
	pseudo = fold(ps);
	partial[40] = (uint8_t)(pseudo >> 8);
	partial[41] = (uint8_t)pseudo;
	hdr.csum_start = cpu_to_le16(34);
	hdr.csum_offset = cpu_to_le16(6);
	assert_int_equal(net_fake_rx(f, &hdr, partial, len), 1);
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), len);
	assert_memory_equal(got, want, len);
	/* DATA_VALID: the device checked it; the frame is passed on untouched. */
	hdr.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	assert_int_equal(net_fake_rx(f, &hdr, want, len), 1);
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), len);
	assert_memory_equal(got, want, len);
}

/* The checksum field must lie inside the frame; anything else is dropped, never written. */
static void test_guest_csum_malformed(void **state)
{
	struct net_fake *f = *state;
	struct vireo_net_hdr_v1 hdr = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .num_buffers = 1};
	const uint16_t bad[][2] = {{100, 0}, {34, 66}, {99, 0}, {0xffff, 0xffff}, {0, 99}};
	uint8_t frame[100], got[256];
	struct virtio_net_stats st;
	unsigned int i;

	net_fake_start(f, F(CSUM) | F(GUEST_CSUM), VIRTIO_NET_DRIVER_CSUM);
	build_udp(frame, 58);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hdr.csum_start = cpu_to_le16(bad[i][0]);
		hdr.csum_offset = cpu_to_le16(bad[i][1]);
		assert_int_equal(net_fake_rx(f, &hdr, frame, sizeof(frame)), 1);
		assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), 0);
	}
	/* The last two bytes are the field: just inside. */
	hdr.csum_start = cpu_to_le16(34);
	hdr.csum_offset = cpu_to_le16(64);
	assert_int_equal(net_fake_rx(f, &hdr, frame, sizeof(frame)), 1);
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), sizeof(frame));
	virtio_net_get_stats(f->net, &st);
	assert_int_equal(st.rx_dropped, sizeof(bad) / sizeof(bad[0]));
	assert_int_equal(st.rx_frames, 1);
}

/* Control commands (§5.1.6.5): framing, data, and OK / ERR answers. */
static void test_ctrl_commands(void **state)
{
	struct net_fake *f = *state;
	const uint8_t mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
	const uint8_t mac2[6] = {0x02, 0x66, 0x77, 0x88, 0x99, 0xaa};
	uint8_t cur[6];

	net_fake_start(f, CTRL_ALL, 0);
	assert_int_equal(virtio_net_set_rx_mode(f->net, true, false), 0);
	assert_int_equal(f->ctrl_cmds, 2);
	assert_int_equal(f->last_ctrl_class, VIRTIO_NET_CTRL_RX);
	assert_int_equal(f->last_ctrl_cmd, VIRTIO_NET_CTRL_RX_ALLMULTI);
	assert_int_equal(f->last_ctrl_len, 1);
	assert_int_equal(f->last_ctrl_data[0], 0);
	assert_int_equal(virtio_net_set_rx_mode(f->net, false, true), 0);
	assert_int_equal(f->last_ctrl_data[0], 1);
	assert_int_equal(virtio_net_set_mac(f->net, mac), 0);
	assert_int_equal(f->last_ctrl_class, VIRTIO_NET_CTRL_MAC);
	assert_int_equal(f->last_ctrl_cmd, VIRTIO_NET_CTRL_MAC_ADDR_SET);
	assert_int_equal(f->last_ctrl_len, 6);
	assert_memory_equal(f->last_ctrl_data, mac, 6);
	virtio_net_mac(f->net, cur);
	assert_memory_equal(cur, mac, 6);
	/* ERR: refused, the address stays. */
	f->ctrl_ack = VIRTIO_NET_ERR;
	assert_int_equal(virtio_net_set_mac(f->net, mac2), -EIO);
	assert_int_equal(virtio_net_set_rx_mode(f->net, true, true), -EIO);
	virtio_net_mac(f->net, cur);
	assert_memory_equal(cur, mac, 6);
	/* OK in the ack byte, but a used len saying it was never written: not believed. */
	f->ctrl_ack = VIRTIO_NET_OK;
	f->ctrl_used = 0;
	assert_int_equal(virtio_net_set_mac(f->net, mac2), -EIO);
	f->ctrl_used = 1;
	assert_int_equal(virtio_net_set_mac(f->net, mac2), 0);
}

/* R-NET-12: MAC commands need CTRL_RX; both need the control queue they depend on. */
static void test_ctrl_needs_features(void **state)
{
	struct net_fake *f = *state;
	const uint8_t mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};

	net_fake_start(f, F(CTRL_VQ) | F(CTRL_MAC_ADDR), 0);
	assert_int_equal(virtio_net_set_mac(f->net, mac), -EOPNOTSUPP);
	assert_int_equal(virtio_net_set_rx_mode(f->net, true, true), -EOPNOTSUPP);
	assert_int_equal(f->ctrl_cmds, 0);
}

static void test_ctrl_without_ctrl_vq(void **state)
{
	struct net_fake *f = *state;

	/* A device offering CTRL_RX without CTRL_VQ breaks §5.1.3.1: no command goes out. */
	net_fake_start(f, F(CTRL_RX) | F(CTRL_MAC_ADDR), 0);
	assert_int_equal(f->fd.nvqs, 2);
	assert_int_equal(virtio_net_set_rx_mode(f->net, true, true), -EOPNOTSUPP);
}

static void test_ctrl_disabled_by_option(void **state)
{
	struct net_fake *f = *state;

	net_fake_start(f, CTRL_ALL, VIRTIO_NET_DRIVER_NO_CTRL);
	assert_int_equal(f->fd.nvqs, 2);
	assert_int_equal(virtio_net_set_rx_mode(f->net, true, true), -EOPNOTSUPP);
}

/* The wait sleeps in the transport until the device signals, then reports frames. */
static void test_wait_for_reflected_frame(void **state)
{
	struct net_fake *f = *state;
	uint8_t frame[64], got[2048];
	struct virtio_net_stats st;

	net_fake_start(f, 0, 0);
	f->fd.defer = true;
	f->reflect = true;
	fill_frame(frame, sizeof(frame), 7);
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), 0);
	assert_int_equal(virtio_net_wait(f->net, 10), 0);
	assert_int_equal(virtio_net_send(f->net, frame, sizeof(frame)), 1);
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), 0);
	assert_int_equal(virtio_net_wait(f->net, 1000), 1);
	assert_int_equal(virtio_net_recv(f->net, got, sizeof(got)), sizeof(frame));
	assert_memory_equal(got, frame, sizeof(frame));
	assert_int_equal(virtio_net_tx_reclaim(f->net), 1);
	virtio_net_get_stats(f->net, &st);
	assert_int_equal(st.rx_interrupts, 1);
	assert_int_equal(virtio_net_wait(f->net, 0), 0);
}

/* Many frames through a reflecting device: all back, in order, every slot reused. */
static void test_reflect_many(void **state)
{
	struct net_fake *f = *state;
	uint8_t frame[16][128], got[2048];
	const void *frames[16];
	size_t lens[16];
	unsigned int round, i, seen = 0;
	int n;

	net_fake_start(f, 0, 0);
	f->reflect = true;
	for (round = 0; round < 40; round++) {
		for (i = 0; i < 16; i++) {
			lens[i] = 60 + (round * 16 + i) % 60;
			fill_frame(frame[i], lens[i], round * 16 + i);
			frames[i] = frame[i];
		}
		assert_int_equal(virtio_net_send_burst(f->net, frames, lens, 16), 16);
		for (i = 0; i < 16; i++) {
			n = virtio_net_recv(f->net, got, sizeof(got));
			assert_int_equal(n, lens[i]);
			assert_memory_equal(got, frame[i], lens[i]);
			seen++;
		}
	}
	assert_int_equal(seen, 640);
	assert_int_equal(net_fake_rx_posted(f), 64);
}

/* The rings as the device saw them before unbinding, compared when the reset comes. */
static struct {
	const struct virtio_config_ops *ops;
	struct fake_dev *fd;
	uint8_t ring[2][8192];
	size_t len[2];
	unsigned int resets, changed;
} unbind;

static void ring_bytes(struct fake_dev *fd, unsigned int q, const void **desc, size_t *dlen,
		       const void **avail, size_t *alen)
{
	const struct vring_split_drv *s = &fd->vqs[q]->vq.split;

	*desc = s->desc;
	*dlen = s->num * sizeof(struct virtq_desc);
	*avail = s->avail;
	*alen = sizeof(struct virtq_avail) + s->num * sizeof(le16);
}

static void unbind_snapshot(struct fake_dev *fd)
{
	const void *d, *a;
	size_t dl, al;

	for (unsigned int q = 0; q < 2; q++) {
		ring_bytes(fd, q, &d, &dl, &a, &al);
		assert_true(dl + al <= sizeof(unbind.ring[q]));
		memcpy(unbind.ring[q], d, dl);
		memcpy(unbind.ring[q] + dl, a, al);
		unbind.len[q] = dl + al;
	}
}

static void unbind_reset(struct virtio_device *vdev)
{
	const void *d, *a;
	size_t dl, al;

	for (unsigned int q = 0; q < 2 && !unbind.resets; q++) {
		ring_bytes(unbind.fd, q, &d, &dl, &a, &al);
		unbind.changed += memcmp(unbind.ring[q], d, dl) != 0 ||
				  memcmp(unbind.ring[q] + dl, a, al) != 0;
	}
	unbind.resets++;
	unbind.ops->reset(vdev);
}

/*
 * Unbinding with frames on both rings: R-BF-18, the driver changes no descriptor or
 * available-ring entry while the queues are live (compared when the reset comes);
 * R-BF-19, the reset takes the buffers back; nothing leaks.
 */
static void test_unbind_in_flight(void **state)
{
	struct net_fake *f = *state;
	struct virtio_config_ops ops;
	uint8_t frame[64] = {0};

	net_fake_start(f, CTRL_ALL, 0);
	f->fd.defer = true;
	assert_int_equal(virtio_net_send(f->net, frame, sizeof(frame)), 1);
	assert_int_equal(net_fake_rx(f, NULL, frame, sizeof(frame)), 1);
	memset(&unbind, 0, sizeof(unbind));
	unbind.ops = f->fd.vdev.config;
	unbind.fd = &f->fd;
	ops = *unbind.ops;
	ops.reset = unbind_reset;
	f->fd.vdev.config = &ops;
	unbind_snapshot(&f->fd);
	vireo_unregister_virtio_device(&f->fd.vdev);
	f->fd.vdev.config = unbind.ops;
	assert_true(unbind.resets >= 1);
	assert_int_equal(unbind.changed, 0);
	assert_int_equal(f->fd.nvqs, 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, net_fake_setup, net_fake_teardown)
	const struct CMUnitTest tests[] = {
		T(test_probe_minimal),
		T(test_probe_reads_config),
		T(test_config_fields_need_their_feature),
		T(test_mtu_out_of_range),
		T(test_features_default),
		T(test_features_options),
		T(test_probe_out_of_dma),
		T(test_send_byte_exact),
		T(test_send_refuses_bad_lengths),
		T(test_rx_buffers_hold_mtu),
		T(test_mrg_rx_buffers_hold_header),
		T(test_send_burst_and_reclaim),
		T(test_receive_byte_exact),
		T(test_receive_truncates),
		T(test_rx_refill_keeps_ring_full),
		T(test_mrg_rxbuf_assembly),
		T(test_guest_csum_completed),
		T(test_guest_csum_malformed),
		T(test_ctrl_commands),
		T(test_ctrl_needs_features),
		T(test_ctrl_without_ctrl_vq),
		T(test_ctrl_disabled_by_option),
		T(test_wait_for_reflected_frame),
		T(test_reflect_many),
		T(test_unbind_in_flight),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
