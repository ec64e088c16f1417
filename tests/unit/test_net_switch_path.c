// SPDX-License-Identifier: MIT
/*
 * The whole path of a frame between two guests of `vireo serve net`: driver A's
 * transmit queue, device model A, the real switch, device model B, driver B's
 * receive queue (two tests/lib/net_harness devices joined by devices/net/switch.c).
 * What the receiving driver is told about checksums must be true whatever the
 * sending driver claimed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <vireo/net_device.h>
#include <vireo/net_switch.h>

#include "tests/lib/net_frames.h"
#include "tests/lib/net_harness.h"

#define F(b) VIRTIO_BIT(VIRTIO_NET_F_##b)
#define ALL_NET 0xffffffull
#define HDR sizeof(struct vireo_net_hdr_v1)

struct guest {
	struct net_harness h;
	struct net_switch_port *port;
	struct net_switch *sw;
};

static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0x0b};

/* Device A's transmitted frames enter the switch at A's port. */
static void to_switch(void *opaque, const struct net_packet *pkt)
{
	struct guest *g = opaque;

	vireo_net_switch_input(g->sw, g->port, pkt);
}

static int port_transmit(void *opaque, const struct net_packet *pkt)
{
	struct guest *g = opaque;

	return vireo_net_device_receive(g->h.nd, pkt);
}

static uint32_t port_offloads(void *opaque)
{
	struct guest *g = opaque;

	return vireo_net_device_rx_offloads(g->h.nd);
}

static const struct net_port_ops guest_port = {port_transmit, port_offloads};

static void guest_init(struct guest *g, struct net_switch *sw, const uint8_t mac[6], uint64_t want)
{
	struct net_device_options o = {.queue_size = NET_HARNESS_QNUM, .offloads = NET_OFFLOAD_ALL};

	memcpy(o.mac, mac, 6);
	g->sw = sw;
	net_harness_init(&g->h, &o, want);
	vireo_net_device_set_tx_handler(g->h.nd, to_switch, g);
	assert_int_equal(vireo_net_switch_add_port(sw, "guest", &guest_port, g, &g->port), 0);
}

/* A UDP frame from a to b with a wrong UDP checksum. */
static uint32_t bad_udp(uint8_t *buf, size_t cap)
{
	struct net_flow f;
	size_t len;

	net_flow_init(&f, false);
	net_flow_set_macs(&f, mac_a, mac_b);
	len = net_frame_udp(&f, (const uint8_t *)"payload", 7, buf, cap);
	assert_true(len > 0);
	buf[len - 7 - 2] ^= 0x5a; /* the UDP checksum, just before the payload */
	assert_int_not_equal(net_frame_verify(buf, len, NULL), 0);
	return (uint32_t)len;
}

/*
 * D-NET-45: DATA_VALID on receive means the checksum was validated. Driver A claims
 * DATA_VALID for a frame with a wrong checksum (a driver must not, and the device
 * does not believe it); driver B, with GUEST_CSUM, gets the frame byte for byte
 * without DATA_VALID (or NEEDS_CSUM), so it checks the checksum itself.
 */
static void test_data_valid_only_when_validated(void **state)
{
	struct vireo_net_hdr_v1 hdr = {.flags = VIRTIO_NET_HDR_F_DATA_VALID};
	const struct vireo_net_hdr_v1 *got;
	struct guest a, b;
	struct net_switch *sw;
	uint8_t frame[256];
	uint32_t len, used;
	uint64_t buf;

	(void)state;
	assert_int_equal(vireo_net_switch_new(&sw), 0);
	guest_init(&a, sw, mac_a, ALL_NET);
	guest_init(&b, sw, mac_b, ALL_NET);
	assert_true(b.h.features & F(GUEST_CSUM));
	len = bad_udp(frame, sizeof(frame));
	buf = net_harness_post_rx(&b.h, 2048, 1);
	assert_int_equal(net_harness_tx(&a.h, &hdr, frame, len, NULL, 0), 0);
	assert_int_equal(net_harness_take_rx(&b.h, &used), buf);
	assert_int_equal(used, HDR + len);
	got = net_harness_g2h(&b.h, buf);
	assert_int_equal(got->flags & (VIRTIO_NET_HDR_F_DATA_VALID | VIRTIO_NET_HDR_F_NEEDS_CSUM),
			 0);
	assert_memory_equal((const uint8_t *)got + HDR, frame, len);
	vireo_net_switch_remove_port(sw, a.port);
	vireo_net_switch_remove_port(sw, b.port);
	net_harness_destroy(&a.h);
	net_harness_destroy(&b.h);
	vireo_net_switch_free(sw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_data_valid_only_when_validated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
