// SPDX-License-Identifier: MIT
/*
 * Unit tests for devices/net/offload.c: checksum completion against values
 * computed by tests/lib/net_frames.c, TCP segmentation of IPv4 and IPv6 TSO
 * frames (tagged or not) checked segment by segment, and every malformed
 * frame refused with -EINVAL before anything is emitted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/net_offload.h>

#include "tests/lib/net_frames.h"
#include "tests/lib/xorshift.h"

#define SINK_MAX 1024u

/* What the emit callback saw: a copy of every frame and header. */
struct sink {
	unsigned int n;
	unsigned int fail_at; /* this emit (0-based) returns -ENOBUFS; UINT_MAX: none */
	const uint8_t *data[SINK_MAX];
	uint8_t *frame[SINK_MAX];
	uint32_t len[SINK_MAX];
	struct vireo_net_hdr_v1 vnet[SINK_MAX];
};

/* A frame under test, with a pristine copy to prove the input is never written. */
struct tframe {
	struct net_packet pkt;
	uint8_t *orig;
	struct vireo_net_hdr_v1 orig_vnet;
};

static int sink_emit(void *opaque, const struct net_packet *pkt)
{
	struct sink *s = opaque;
	unsigned int i = s->n++;

	assert_true(i < SINK_MAX);
	assert_true(pkt->len <= NET_FRAME_MAX);
	s->data[i] = pkt->data;
	s->frame[i] = malloc(pkt->len ? pkt->len : 1);
	assert_non_null(s->frame[i]);
	memcpy(s->frame[i], pkt->data, pkt->len);
	s->len[i] = pkt->len;
	s->vnet[i] = pkt->vnet;
	return i == s->fail_at ? -ENOBUFS : 0;
}

static struct sink *sink_new(void)
{
	struct sink *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->fail_at = UINT_MAX;
	return s;
}

static void sink_free(struct sink *s)
{
	for (unsigned int i = 0; i < s->n; i++)
		free(s->frame[i]);
	free(s);
}

static void tframe_alloc(struct tframe *t)
{
	memset(t, 0, sizeof(*t));
	t->pkt.data = calloc(1, NET_FRAME_MAX + 64);
	t->orig = calloc(1, NET_FRAME_MAX + 64);
	assert_non_null(t->pkt.data);
	assert_non_null(t->orig);
}

/* Remember the frame as built, before it goes through the code under test. */
static void tframe_seal(struct tframe *t)
{
	memcpy(t->orig, t->pkt.data, t->pkt.len);
	t->orig_vnet = t->pkt.vnet;
}

static void tframe_assert_unchanged(const struct tframe *t)
{
	assert_memory_equal(t->pkt.data, t->orig, t->pkt.len);
	assert_memory_equal(&t->pkt.vnet, &t->orig_vnet, sizeof(t->orig_vnet));
}

static void tframe_free(struct tframe *t)
{
	free(t->pkt.data);
	free(t->orig);
}

static void tframe_tso(struct tframe *t, const struct net_flow *f, size_t plen, uint16_t mss)
{
	uint8_t *payload = malloc(plen ? plen : 1);

	assert_non_null(payload);
	net_frames_pattern(payload, plen, (uint32_t)plen);
	t->pkt.len = (uint32_t)net_frame_tso(f, payload, plen, mss, t->pkt.data, NET_FRAME_MAX,
					     &t->pkt.vnet);
	assert_true(t->pkt.len > 0);
	free(payload);
	tframe_seal(t);
}

/* Deliver with @offloads into a fresh sink. */
static int deliver(const struct tframe *t, uint32_t offloads, struct sink *s)
{
	static uint8_t scratch[NET_OFFLOAD_SCRATCH];

	return vireo_net_offload_deliver(&t->pkt, offloads, scratch, sink_emit, s);
}

static void test_needed(void **state)
{
	struct net_packet p = {0};

	(void)state;
	assert_int_equal(vireo_net_offload_needed(&p, 0), 0);
	p.vnet.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;
	assert_int_equal(vireo_net_offload_needed(&p, 0), NET_OFFLOAD_CSUM);
	assert_int_equal(vireo_net_offload_needed(&p, NET_OFFLOAD_CSUM), 0);
	p.vnet.gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN;
	assert_int_equal(vireo_net_offload_needed(&p, NET_OFFLOAD_CSUM), NET_OFFLOAD_TSO4);
	assert_int_equal(vireo_net_offload_needed(&p, NET_OFFLOAD_TSO6),
			 NET_OFFLOAD_ALL & ~NET_OFFLOAD_TSO6);
	assert_int_equal(vireo_net_offload_needed(&p, NET_OFFLOAD_ALL), 0);
	p.vnet.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	assert_int_equal(vireo_net_offload_needed(&p, NET_OFFLOAD_ALL & ~NET_OFFLOAD_TSO6),
			 NET_OFFLOAD_TSO6);
	/* UDP / UDP_L4 / unknown: something no port has, whatever it claims */
	for (unsigned int g = 2; g < 0x80; g++) {
		if (g == VIRTIO_NET_HDR_GSO_TCPV6)
			continue;
		p.vnet.gso_type = (uint8_t)g;
		assert_true(vireo_net_offload_needed(&p, NET_OFFLOAD_ALL) != 0);
		assert_true(vireo_net_offload_needed(&p, UINT32_MAX) != 0);
	}
}

/* Build @f's frame of @proto complete, make it partial, complete it, compare. */
static void check_completion(const struct net_flow *f, uint8_t proto, size_t plen)
{
	struct tframe t;
	struct net_frame_info want, got;
	uint8_t payload[1500];

	assert_true(plen <= sizeof(payload));
	net_frames_pattern(payload, plen, 7);
	tframe_alloc(&t);
	if (proto == NET_FRAMES_PROTO_TCP)
		t.pkt.len = (uint32_t)net_frame_tcp(f, payload, plen, t.pkt.data, NET_FRAME_MAX);
	else
		t.pkt.len = (uint32_t)net_frame_udp(f, payload, plen, t.pkt.data, NET_FRAME_MAX);
	assert_int_equal(net_frame_verify(t.pkt.data, t.pkt.len, &want), 0);
	assert_int_equal(net_frame_make_partial(t.pkt.data, t.pkt.len, &t.pkt.vnet), 0);
	assert_int_equal(net_frame_verify(t.pkt.data, t.pkt.len, NULL), -EBADMSG);
	assert_int_equal(vireo_net_offload_checksum(&t.pkt), 0);
	assert_int_equal(t.pkt.vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM, 0);
	assert_int_equal(net_frame_verify(t.pkt.data, t.pkt.len, &got), 0);
	/* the same value as computed independently (0 and 0xffff are the same sum) */
	if (want.l4_csum != got.l4_csum)
		assert_true((want.l4_csum | got.l4_csum) == 0xffff &&
			    (want.l4_csum & got.l4_csum) == 0);
	tframe_free(&t);
}

static void test_checksum_complete(void **state)
{
	struct net_flow f;

	(void)state;
	for (size_t plen = 0; plen < 40; plen++) {
		net_flow_init(&f, false);
		check_completion(&f, NET_FRAMES_PROTO_TCP, plen);
		check_completion(&f, NET_FRAMES_PROTO_UDP, plen);
		net_flow_init(&f, true);
		f.vlan_tci = 5;
		check_completion(&f, NET_FRAMES_PROTO_TCP, plen);
		check_completion(&f, NET_FRAMES_PROTO_UDP, plen);
	}
	net_flow_init(&f, true);
	f.tcp_opt_len = 12;
	check_completion(&f, NET_FRAMES_PROTO_TCP, 1460);
}

static void test_checksum_no_flag_and_bounds(void **state)
{
	struct tframe t;
	struct net_flow f;
	uint8_t payload[100];

	(void)state;
	net_flow_init(&f, false);
	net_frames_pattern(payload, sizeof(payload), 1);
	tframe_alloc(&t);
	t.pkt.len = (uint32_t)net_frame_udp(&f, payload, sizeof(payload), t.pkt.data, 4096);
	/* D-NET-11: without NEEDS_CSUM the offsets are not used, even if absurd */
	t.pkt.vnet.csum_start = 0xffff;
	t.pkt.vnet.csum_offset = 0xffff;
	tframe_seal(&t);
	assert_int_equal(vireo_net_offload_checksum(&t.pkt), 0);
	tframe_assert_unchanged(&t);

	assert_int_equal(net_frame_make_partial(t.pkt.data, t.pkt.len, &t.pkt.vnet), 0);
	t.pkt.vnet.csum_offset =
		(uint16_t)(t.pkt.len - t.pkt.vnet.csum_start - 1); /* 1 byte left */
	tframe_seal(&t);
	assert_int_equal(vireo_net_offload_checksum(&t.pkt), -EINVAL);
	tframe_assert_unchanged(&t);
	t.pkt.vnet.csum_offset = (uint16_t)(t.pkt.len - t.pkt.vnet.csum_start - 2); /* last 2 */
	assert_int_equal(vireo_net_offload_checksum(&t.pkt), 0);
	t.pkt.vnet.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	t.pkt.vnet.csum_start = (uint16_t)t.pkt.len;
	t.pkt.vnet.csum_offset = 0;
	assert_int_equal(vireo_net_offload_checksum(&t.pkt), -EINVAL);
	tframe_free(&t);
}

static void test_deliver_as_is(void **state)
{
	struct net_flow f;
	struct tframe t;
	struct sink *s = sink_new();

	(void)state;
	net_flow_init(&f, false);
	tframe_alloc(&t);
	tframe_tso(&t, &f, 20000, 1448);
	assert_int_equal(deliver(&t, NET_OFFLOAD_ALL, s), 0);
	assert_int_equal(s->n, 1);
	assert_ptr_equal(s->data[0], t.pkt.data); /* not copied */
	assert_memory_equal(&s->vnet[0], &t.pkt.vnet, sizeof(t.pkt.vnet));
	sink_free(s);

	/* a complete frame needs nothing, whatever the port lacks */
	s = sink_new();
	t.pkt.len = (uint32_t)net_frame_tcp(&f, NULL, 0, t.pkt.data, 4096);
	memset(&t.pkt.vnet, 0, sizeof(t.pkt.vnet));
	assert_int_equal(deliver(&t, 0, s), 0);
	assert_int_equal(s->n, 1);
	assert_ptr_equal(s->data[0], t.pkt.data);
	sink_free(s);
	tframe_free(&t);
}

static void test_deliver_csum_only(void **state)
{
	struct net_flow f;
	struct tframe t;
	struct sink *s = sink_new();
	uint8_t payload[999];

	(void)state;
	net_flow_init(&f, true);
	net_frames_pattern(payload, sizeof(payload), 3);
	tframe_alloc(&t);
	t.pkt.len = (uint32_t)net_frame_tcp(&f, payload, sizeof(payload), t.pkt.data, 4096);
	assert_int_equal(net_frame_make_partial(t.pkt.data, t.pkt.len, &t.pkt.vnet), 0);
	tframe_seal(&t);
	assert_int_equal(deliver(&t, NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6, s), 0);
	assert_int_equal(s->n, 1);
	assert_ptr_not_equal(s->data[0], t.pkt.data);
	assert_int_equal(s->len[0], t.pkt.len);
	assert_int_equal(s->vnet[0].flags & VIRTIO_NET_HDR_F_NEEDS_CSUM, 0);
	assert_int_equal(net_frame_verify(s->frame[0], s->len[0], NULL), 0);
	tframe_assert_unchanged(&t);
	sink_free(s);
	tframe_free(&t);
}

/*
 * Every emitted segment of the TSO frame @t (built from @f with @plen
 * payload bytes): a valid frame (IP and TCP checksums), at most @mss bytes
 * of payload (all but the last exactly @mss), contiguous sequence numbers,
 * the payload reassembled byte-exact, FIN/PSH on the last only, CWR on the
 * first only, IPv4 ids counting up, a plain vnet header.
 */
static void check_segments(const struct tframe *t, const struct net_flow *f, size_t plen,
			   uint32_t mss, const struct sink *s)
{
	uint32_t hdr = t->pkt.len - (uint32_t)plen;
	unsigned int nseg = plen ? (unsigned int)((plen + mss - 1) / mss) : 1u;
	const struct vireo_net_hdr_v1 zero = {0};
	size_t off = 0;

	assert_int_equal(s->n, nseg);
	for (unsigned int i = 0; i < nseg; i++) {
		struct net_frame_info in;
		uint8_t want_flags = f->tcp_flags;

		assert_int_equal(net_frame_verify(s->frame[i], s->len[i], &in), 0);
		assert_memory_equal(&s->vnet[i], &zero, sizeof(zero));
		assert_int_equal(in.payload_off, hdr);
		assert_memory_equal(s->frame[i], t->orig, 12); /* MACs */
		assert_int_equal(in.vlan_tci, f->vlan_tci);
		assert_int_equal(in.payload_len, i + 1 < nseg ? mss : plen - off);
		assert_memory_equal(s->frame[i] + hdr, t->orig + hdr + off, in.payload_len);
		assert_int_equal(in.seq, (uint32_t)(f->seq + off));
		if (i + 1 < nseg)
			want_flags &= (uint8_t) ~(NET_FRAMES_TCP_FIN | NET_FRAMES_TCP_PSH);
		if (i > 0)
			want_flags &= (uint8_t)~NET_FRAMES_TCP_CWR;
		assert_int_equal(in.tcp_flags, want_flags);
		if (!f->ipv6)
			assert_int_equal(in.ip_id, (uint16_t)(f->ip_id + i));
		off += in.payload_len;
	}
	assert_int_equal(off, plen);
}

static void check_tso(struct net_flow *f, size_t plen, uint16_t mss, uint32_t offloads)
{
	struct tframe t;
	struct sink *s = sink_new();

	tframe_alloc(&t);
	tframe_tso(&t, f, plen, mss);
	assert_int_equal(deliver(&t, offloads, s), 0);
	check_segments(&t, f, plen, mss, s);
	tframe_assert_unchanged(&t);
	sink_free(s);
	tframe_free(&t);
}

static void test_tso_ipv4(void **state)
{
	struct net_flow f;

	(void)state;
	net_flow_init(&f, false);
	f.tcp_flags |= NET_FRAMES_TCP_FIN | NET_FRAMES_TCP_CWR;
	check_tso(&f, 10000, 1448, 0);
	check_tso(&f, 10000, 1448, NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO6);
	f.tcp_opt_len = 12;
	f.ip_id = 0xfffe; /* the id wraps */
	check_tso(&f, 4 * 1448, 1448, 0);
	f.vlan_tci = 0x2064;
	check_tso(&f, 65535 - 20 - 32, 1448, 0); /* the largest IPv4 TSO frame */
	check_tso(&f, 1000, 1448, 0);		 /* fits one MSS: one segment */
	check_tso(&f, 0, 1448, 0);		 /* no payload: one segment */
	check_tso(&f, 1000, NET_TSO_MSS_MIN, 0); /* the smallest MSS: 21 segments */
}

static void test_tso_ipv6(void **state)
{
	struct net_flow f;

	(void)state;
	net_flow_init(&f, true);
	f.tcp_flags |= NET_FRAMES_TCP_FIN | NET_FRAMES_TCP_CWR;
	f.seq = 0xffffff00u; /* the sequence number wraps */
	check_tso(&f, 10000, 1440, 0);
	check_tso(&f, 10000, 1440, NET_OFFLOAD_TSO4 | NET_OFFLOAD_CSUM);
	f.vlan_tci = 7;
	f.tcp_opt_len = 40;
	check_tso(&f, NET_FRAME_MAX - 18 - 40 - 60, 8000, 0); /* the largest frame */
	check_tso(&f, 1440, 1440, 0);
}

/* A port that takes TSO but not partial checksums still gets finished segments. */
static void test_tso_port_without_csum(void **state)
{
	struct net_flow f;

	(void)state;
	net_flow_init(&f, false);
	check_tso(&f, 5000, 1000, NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6);
}

/* D-NET-13: hdr_len is not trusted; the ECN bit does not change segmentation. */
static void test_tso_ignores_hdr_len(void **state)
{
	static const uint16_t lies[] = {0, 1, 40, 54, 200, 0xffff};
	struct net_flow f;

	(void)state;
	for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
		struct tframe t;
		struct sink *s = sink_new();

		net_flow_init(&f, i % 2);
		f.tcp_opt_len = 12;
		tframe_alloc(&t);
		tframe_tso(&t, &f, 7000, 1200);
		t.pkt.vnet.hdr_len = lies[i];
		t.pkt.vnet.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
		tframe_seal(&t);
		assert_int_equal(deliver(&t, 0, s), 0);
		check_segments(&t, &f, 7000, 1200, s);
		tframe_assert_unchanged(&t);
		sink_free(s);
		tframe_free(&t);
	}
}

/* Random sizes, MSS, VLAN, options and families: the same checks every time. */
static void test_tso_random(void **state)
{
	struct xorshift x = {0x5eed5eedull};

	(void)state;
	for (int iter = 0; iter < 150; iter++) {
		struct net_flow f;
		size_t plen;
		uint16_t mss = (uint16_t)(64u + xorshift_below(&x, 9000));

		net_flow_init(&f, xorshift_below(&x, 2));
		f.vlan_tci = (uint16_t)(xorshift_below(&x, 2) ? 1u + xorshift_below(&x, 4094) : 0u);
		f.tcp_opt_len = (uint8_t)(4u * xorshift_below(&x, 11));
		f.tcp_flags = (uint8_t)xorshift_below(&x, 256);
		f.seq = (uint32_t)xorshift_next(&x);
		f.ip_id = (uint16_t)xorshift_next(&x);
		plen = xorshift_below(&x, 65535u - 60u - 40u + 1u);
		check_tso(&f, plen, mss, xorshift_below(&x, 2) ? NET_OFFLOAD_CSUM : 0);
	}
}

/* Every emit runs even after one fails; the first error is returned. */
static void test_tso_emit_error(void **state)
{
	struct net_flow f;
	struct tframe t;
	struct sink *s = sink_new();

	(void)state;
	net_flow_init(&f, false);
	tframe_alloc(&t);
	tframe_tso(&t, &f, 6000, 1000);
	s->fail_at = 2;
	assert_int_equal(deliver(&t, 0, s), -ENOBUFS);
	check_segments(&t, &f, 6000, 1000, s);
	sink_free(s);
	tframe_free(&t);
}

/*
 * @t must be refused with -EINVAL by a port with @offloads, emitting
 * nothing, and without reading past the frame: once with plausible headers
 * (0x55: IHL and data offset 5) right after it, once from an exact-size
 * copy so ASan sees any overread.
 */
static void assert_refused(struct tframe *t, uint32_t offloads)
{
	struct sink *s = sink_new();
	struct tframe exact = *t;

	tframe_seal(t);
	if (t->pkt.len < NET_FRAME_MAX + 64)
		memset(t->pkt.data + t->pkt.len, 0x55, NET_FRAME_MAX + 64 - t->pkt.len);
	assert_int_equal(deliver(t, offloads, s), -EINVAL);
	assert_int_equal(s->n, 0);
	tframe_assert_unchanged(t);
	exact.pkt.data = malloc(t->pkt.len ? t->pkt.len : 1);
	assert_non_null(exact.pkt.data);
	memcpy(exact.pkt.data, t->pkt.data, t->pkt.len);
	assert_int_equal(deliver(&exact, offloads, s), -EINVAL);
	assert_int_equal(s->n, 0);
	free(exact.pkt.data);
	sink_free(s);
}

static void test_malformed_csum(void **state)
{
	struct net_flow f;
	struct tframe t;
	uint16_t l4;

	(void)state;
	net_flow_init(&f, false);
	tframe_alloc(&t);
	t.pkt.len = (uint32_t)net_frame_tcp(&f, (const uint8_t *)"abcdef", 6, t.pkt.data, 4096);
	assert_int_equal(net_frame_make_partial(t.pkt.data, t.pkt.len, &t.pkt.vnet), 0);
	l4 = t.pkt.vnet.csum_start;
	t.pkt.vnet.csum_offset = 0xfff0; /* field beyond the frame */
	assert_refused(&t, 0);
	t.pkt.vnet.csum_offset = (uint16_t)(t.pkt.len - l4 - 1); /* field straddles the end */
	assert_refused(&t, 0);
	t.pkt.vnet.csum_offset = 16;
	t.pkt.vnet.csum_start = (uint16_t)t.pkt.len; /* csum_start == len */
	assert_refused(&t, 0);
	t.pkt.vnet.csum_start = 0xffff;
	assert_refused(&t, NET_OFFLOAD_TSO4);
	/* the same on a TSO frame */
	tframe_tso(&t, &f, 3000, 1000);
	t.pkt.vnet.csum_offset = 0xfff0;
	assert_refused(&t, 0);
	/* a frame above the largest a port carries */
	t.pkt.vnet.csum_offset = 16;
	t.pkt.len = NET_FRAME_MAX + 1;
	assert_refused(&t, 0);
	tframe_free(&t);
}

/* A TCPv4 frame with no payload, for editing its headers. */
static void small_tso(struct tframe *t, bool ipv6, uint16_t vlan)
{
	struct net_flow f;

	net_flow_init(&f, ipv6);
	f.vlan_tci = vlan;
	tframe_tso(t, &f, 0, 1000);
}

static void test_malformed_headers(void **state)
{
	struct tframe t;
	uint32_t len;

	(void)state;
	tframe_alloc(&t);
	small_tso(&t, false, 0);
	t.pkt.data[14] = 0x4f; /* IHL 60 bytes: past the end of this frame */
	assert_refused(&t, 0);
	t.pkt.data[14] = 0x44; /* IHL below 5 */
	assert_refused(&t, 0);
	small_tso(&t, false, 0);
	t.pkt.data[34 + 12] = 0xf0; /* TCP data offset 60 bytes: past the end */
	assert_refused(&t, 0);
	t.pkt.data[34 + 12] = 0x40; /* data offset below 5 */
	assert_refused(&t, 0);
	small_tso(&t, false, 0);
	t.pkt.data[14 + 9] = NET_FRAMES_PROTO_UDP; /* TCPV4 on a UDP packet */
	assert_refused(&t, 0);
	small_tso(&t, false, 0);
	t.pkt.data[14 + 6] |= 0x20; /* IPv4 fragment (MF) */
	assert_refused(&t, 0);
	small_tso(&t, false, 0);
	t.pkt.data[14] = 0x65; /* not version 4 */
	assert_refused(&t, 0);
	small_tso(&t, false, 0);
	t.pkt.vnet.gso_size = 0;
	assert_refused(&t, NET_OFFLOAD_CSUM);
	/* An MSS no TCP sender uses: 1 byte would make a 64 KiB frame 65000 segments. */
	t.pkt.vnet.gso_size = 1;
	assert_refused(&t, NET_OFFLOAD_CSUM);
	t.pkt.vnet.gso_size = NET_TSO_MSS_MIN - 1;
	assert_refused(&t, NET_OFFLOAD_CSUM);
	small_tso(&t, false, 0);
	t.pkt.vnet.gso_type = VIRTIO_NET_HDR_GSO_TCPV6; /* IPv4 frame, TCPV6 type */
	assert_refused(&t, 0);
	small_tso(&t, false, 0);
	t.pkt.vnet.gso_type = VIRTIO_NET_HDR_GSO_UDP; /* no software UFO */
	assert_refused(&t, NET_OFFLOAD_ALL);
	t.pkt.vnet.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
	assert_refused(&t, NET_OFFLOAD_ALL);
	/* truncated: in the Ethernet header, the tag, the IP header, the TCP header */
	for (int v = 0; v < 4; v++) {
		small_tso(&t, v & 1, v & 2 ? 9 : 0);
		len = t.pkt.len;
		for (uint32_t cut = 0; cut < len; cut++) {
			small_tso(&t, v & 1,
				  v & 2 ? 9 : 0); /* assert_refused() wrote after the cut */
			t.pkt.len = cut;
			t.pkt.vnet.flags = 0; /* else csum_start would refuse most cuts first */
			assert_refused(&t, 0);
		}
	}
	tframe_free(&t);
}

/* IPv6 with a hop-by-hop options header before TCP: refused, not misparsed. */
static void test_malformed_ipv6_ext(void **state)
{
	struct net_flow f;
	struct tframe t;
	uint16_t plen;
	uint8_t *ip;

	(void)state;
	net_flow_init(&f, true);
	/* read as TCP, the hop-by-hop header would show data offset 5 (seq's top byte) */
	f.seq = 0x50000000u;
	tframe_alloc(&t);
	tframe_tso(&t, &f, 3000, 1000);
	ip = t.pkt.data + NET_ETH_HLEN;
	memmove(ip + 48, ip + 40, t.pkt.len - NET_ETH_HLEN - 40);
	memset(ip + 40, 0, 8);
	ip[40] = NET_FRAMES_PROTO_TCP; /* hop-by-hop: next header TCP, 8 bytes, PadN */
	ip[42] = 1;
	ip[43] = 4;
	ip[6] = 0;
	plen = (uint16_t)((ip[4] << 8 | ip[5]) + 8);
	ip[4] = (uint8_t)(plen >> 8);
	ip[5] = (uint8_t)plen;
	t.pkt.len += 8;
	t.pkt.vnet.csum_start = (uint16_t)(t.pkt.vnet.csum_start + 8);
	t.pkt.vnet.hdr_len = (uint16_t)(t.pkt.vnet.hdr_len + 8);
	assert_refused(&t, 0);
	assert_refused(&t, NET_OFFLOAD_TSO4 | NET_OFFLOAD_CSUM);
	/* TCPV6 on a UDP packet */
	tframe_tso(&t, &f, 3000, 1000);
	t.pkt.data[NET_ETH_HLEN + 6] = NET_FRAMES_PROTO_UDP;
	assert_refused(&t, 0);
	tframe_free(&t);
}

/*
 * A frame whose first segment would not fit the IPv4 total length: the
 * largest IPv4 TSO frame plus 4 payload bytes, with an MSS that keeps it
 * in one piece.
 */
static void test_malformed_oversized_segment(void **state)
{
	struct net_flow f;
	struct tframe t;
	struct sink *s = sink_new();

	(void)state;
	net_flow_init(&f, false);
	tframe_alloc(&t);
	tframe_tso(&t, &f, 65535 - 40, 1448);
	t.pkt.len += 4;
	t.pkt.vnet.gso_size = 0xffff;
	assert_refused(&t, 0);
	/* with a sane MSS the same bytes are fine: every segment is small */
	t.pkt.vnet.gso_size = 1448;
	assert_int_equal(deliver(&t, 0, s), 0);
	assert_int_equal(s->n, (65535 - 40 + 4 + 1447) / 1448);
	sink_free(s);
	tframe_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_needed),
		cmocka_unit_test(test_checksum_complete),
		cmocka_unit_test(test_checksum_no_flag_and_bounds),
		cmocka_unit_test(test_deliver_as_is),
		cmocka_unit_test(test_deliver_csum_only),
		cmocka_unit_test(test_tso_ipv4),
		cmocka_unit_test(test_tso_ipv6),
		cmocka_unit_test(test_tso_port_without_csum),
		cmocka_unit_test(test_tso_ignores_hdr_len),
		cmocka_unit_test(test_tso_random),
		cmocka_unit_test(test_tso_emit_error),
		cmocka_unit_test(test_malformed_csum),
		cmocka_unit_test(test_malformed_headers),
		cmocka_unit_test(test_malformed_ipv6_ext),
		cmocka_unit_test(test_malformed_oversized_segment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
