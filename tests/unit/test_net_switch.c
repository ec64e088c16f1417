// SPDX-License-Identifier: MIT
/*
 * Unit tests for devices/net/switch.c: learning, unicast and flooding,
 * hairpin drops, address moves, ageing with a fake clock, flush and
 * removal, a full table, offload adaptation per port, the counters, and a
 * port that calls back into the switch from its transmit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/net_switch.h>

#include "tests/lib/net_frames.h"

#define FPORT_KEEP 64u
#define FRAME_CAP 2048u

/* A port that records what it was given. */
struct fport {
	struct net_switch_port *port;
	uint32_t offloads;
	int ret;	/* what transmit returns */
	unsigned int n; /* transmit calls */
	uint8_t *frame[FPORT_KEEP];
	uint32_t len[FPORT_KEEP];
	struct vireo_net_hdr_v1 vnet[FPORT_KEEP];
	/* optional: run during transmit (re-entrancy tests) */
	void (*hook)(struct fport *fp, const struct net_packet *pkt);
	void *hook_arg;
};

struct fixture {
	struct net_switch *sw;
	struct fport port[6];
	unsigned int nports;
	uint64_t now;
};

static int fport_transmit(void *opaque, const struct net_packet *pkt)
{
	struct fport *fp = opaque;
	unsigned int i = fp->n++;

	/* the hook first: if it clobbered @pkt (a shared scratch), the copy shows it */
	if (fp->hook)
		fp->hook(fp, pkt);
	if (i < FPORT_KEEP) {
		fp->frame[i] = malloc(pkt->len);
		assert_non_null(fp->frame[i]);
		memcpy(fp->frame[i], pkt->data, pkt->len);
		fp->len[i] = pkt->len;
		fp->vnet[i] = pkt->vnet;
	}
	return fp->ret;
}

static uint32_t fport_offloads(void *opaque)
{
	return ((struct fport *)opaque)->offloads;
}

static const struct net_port_ops fport_ops = {fport_transmit, fport_offloads};
static const struct net_port_ops fport_ops_plain = {fport_transmit, NULL};

static void fport_reset(struct fport *fp)
{
	for (unsigned int i = 0; i < fp->n && i < FPORT_KEEP; i++)
		free(fp->frame[i]);
	fp->n = 0;
}

static uint64_t fake_clock(void *opaque)
{
	return ((struct fixture *)opaque)->now;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	assert_int_equal(vireo_net_switch_new(&fx->sw), 0);
	fx->now = 1000;
	vireo_net_switch_set_clock(fx->sw, fake_clock, fx);
	for (unsigned int i = 0; i < 4; i++) {
		char name[16];

		snprintf(name, sizeof(name), "p%u", i);
		fx->port[i].offloads = NET_OFFLOAD_ALL;
		assert_int_equal(vireo_net_switch_add_port(fx->sw, name, &fport_ops, &fx->port[i],
							   &fx->port[i].port),
				 0);
	}
	fx->nports = 4;
	*state = fx;
	return 0;
}

static void reset_all(struct fixture *fx)
{
	for (unsigned int i = 0; i < 6; i++)
		fport_reset(&fx->port[i]);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	reset_all(fx);
	vireo_net_switch_free(fx->sw);
	free(fx);
	return 0;
}

static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0xa};
static const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0xb};
static const uint8_t mac_c[6] = {0x02, 0, 0, 0, 0, 0xc};
static const uint8_t mac_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t mac_mcast[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};

/* A small UDP frame @src -> @dst entering at port @from. */
static void send_udp(struct fixture *fx, unsigned int from, const uint8_t *src, const uint8_t *dst)
{
	uint8_t buf[FRAME_CAP];
	struct net_flow f;
	struct net_packet pkt = {0};

	net_flow_init(&f, false);
	net_flow_set_macs(&f, src, dst);
	pkt.data = buf;
	pkt.len = (uint32_t)net_frame_udp(&f, (const uint8_t *)"hello", 5, buf, sizeof(buf));
	vireo_net_switch_input(fx->sw, fx->port[from].port, &pkt);
}

/* Exactly the ports in @mask got one frame each since the last reset. */
static void assert_delivered(struct fixture *fx, unsigned int mask)
{
	for (unsigned int i = 0; i < fx->nports; i++)
		assert_int_equal(fx->port[i].n, (mask >> i) & 1u);
	reset_all(fx);
}

static void test_learn_and_unicast(void **state)
{
	struct fixture *fx = *state;

	send_udp(fx, 0, mac_a, mac_b); /* b unknown: flood */
	assert_delivered(fx, 0xe);
	send_udp(fx, 1, mac_b, mac_a); /* a learned on p0 */
	assert_delivered(fx, 0x1);
	send_udp(fx, 0, mac_a, mac_b); /* b learned on p1 */
	assert_delivered(fx, 0x2);
	send_udp(fx, 2, mac_c, mac_b);
	assert_delivered(fx, 0x2);
	send_udp(fx, 1, mac_b, mac_c);
	assert_delivered(fx, 0x4);
}

static void test_flood_broadcast_multicast(void **state)
{
	struct fixture *fx = *state;

	send_udp(fx, 1, mac_b, mac_a);
	assert_delivered(fx, 0xd);
	send_udp(fx, 0, mac_a, mac_b); /* both learned now */
	assert_delivered(fx, 0x2);
	send_udp(fx, 0, mac_a, mac_bcast);
	assert_delivered(fx, 0xe);
	send_udp(fx, 3, mac_c, mac_mcast);
	assert_delivered(fx, 0x7);
}

struct mac_list {
	unsigned int n;
	uint8_t mac[1024][6];
	const struct net_switch_port *port[1024];
};

static void collect_mac(void *opaque, const uint8_t *mac, const struct net_switch_port *port)
{
	struct mac_list *l = opaque;

	assert_true(l->n < 1024);
	memcpy(l->mac[l->n], mac, 6);
	l->port[l->n++] = port;
}

/* The port @mac is learned on, by vireo_net_switch_for_each_mac(); NULL if none. */
static const struct net_switch_port *learned_on(struct fixture *fx, const uint8_t *mac)
{
	static struct mac_list l;
	const struct net_switch_port *p = NULL;

	l.n = 0;
	vireo_net_switch_for_each_mac(fx->sw, collect_mac, &l);
	for (unsigned int i = 0; i < l.n; i++)
		if (memcmp(l.mac[i], mac, 6) == 0) {
			assert_null(p); /* at most once */
			p = l.port[i];
		}
	return p;
}

static void test_bad_sources_dropped(void **state)
{
	static const uint8_t zero[6] = {0};
	struct fixture *fx = *state;
	struct net_switch_port_stats st;
	uint8_t runt[14] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 8, 0};
	struct net_packet pkt = {.data = runt, .len = 13};

	vireo_net_switch_input(fx->sw, fx->port[0].port, &pkt);
	send_udp(fx, 0, mac_mcast, mac_bcast);
	send_udp(fx, 0, mac_bcast, mac_b);
	send_udp(fx, 0, zero, mac_bcast);
	assert_delivered(fx, 0);
	vireo_net_switch_port_get_stats(fx->port[0].port, &st);
	assert_int_equal(st.in_frames, 4);
	assert_int_equal(st.in_bytes, 0);
	assert_null(learned_on(fx, mac_mcast));
	assert_null(learned_on(fx, zero));
	/* exactly an Ethernet header is enough */
	memcpy(runt + 6, mac_a, 6);
	pkt.len = 14;
	vireo_net_switch_input(fx->sw, fx->port[0].port, &pkt);
	assert_delivered(fx, 0xe);
	assert_ptr_equal(learned_on(fx, mac_a), fx->port[0].port);
}

static void test_hairpin(void **state)
{
	struct fixture *fx = *state;
	struct net_switch_port_stats st;

	send_udp(fx, 0, mac_a, mac_bcast);
	send_udp(fx, 0, mac_b, mac_bcast); /* a and b both behind p0 */
	reset_all(fx);
	send_udp(fx, 0, mac_a, mac_b);
	assert_delivered(fx, 0);
	vireo_net_switch_port_get_stats(fx->port[0].port, &st);
	assert_int_equal(st.hairpin, 1);
	assert_int_equal(st.in_frames, 3);
}

static void test_mac_move(void **state)
{
	struct fixture *fx = *state;

	send_udp(fx, 0, mac_a, mac_bcast);
	assert_ptr_equal(learned_on(fx, mac_a), fx->port[0].port);
	send_udp(fx, 2, mac_a, mac_bcast); /* a migrated to p2 */
	assert_ptr_equal(learned_on(fx, mac_a), fx->port[2].port);
	reset_all(fx);
	send_udp(fx, 1, mac_b, mac_a);
	assert_delivered(fx, 0x4);
}

static void test_ageing(void **state)
{
	struct fixture *fx = *state;

	send_udp(fx, 0, mac_a, mac_bcast);
	reset_all(fx);
	fx->now += NET_SWITCH_AGEING_MS - 1;
	send_udp(fx, 1, mac_b, mac_a);
	assert_delivered(fx, 0x1);
	fx->now += 1; /* AGEING_MS since a was last seen: forgotten */
	assert_null(learned_on(fx, mac_a));
	assert_ptr_equal(learned_on(fx, mac_b), fx->port[1].port);
	send_udp(fx, 1, mac_b, mac_a);
	assert_delivered(fx, 0xd);
	/* every frame from a refreshes it */
	send_udp(fx, 0, mac_a, mac_bcast);
	for (int i = 0; i < 5; i++) {
		fx->now += NET_SWITCH_AGEING_MS / 2;
		send_udp(fx, 0, mac_a, mac_bcast);
	}
	reset_all(fx);
	send_udp(fx, 2, mac_c, mac_a);
	assert_delivered(fx, 0x1);
	/* a clock going backwards does not age anything */
	fx->now = 500;
	send_udp(fx, 2, mac_c, mac_a);
	assert_delivered(fx, 0x1);
}

static void test_flush_and_remove(void **state)
{
	struct fixture *fx = *state;
	struct net_switch_port_stats st;

	send_udp(fx, 0, mac_a, mac_bcast);
	send_udp(fx, 1, mac_b, mac_bcast);
	reset_all(fx);
	vireo_net_switch_port_flush(fx->sw, fx->port[0].port);
	assert_null(learned_on(fx, mac_a));
	send_udp(fx, 2, mac_c, mac_a);
	assert_delivered(fx, 0xb);
	send_udp(fx, 2, mac_c, mac_b);
	assert_delivered(fx, 0x2);

	vireo_net_switch_remove_port(fx->sw, fx->port[1].port);
	fx->port[1].port = NULL;
	assert_null(learned_on(fx, mac_b));
	send_udp(fx, 2, mac_c, mac_b);
	assert_delivered(fx, 0x9);
	send_udp(fx, 0, mac_a, mac_bcast);
	assert_delivered(fx, 0xc);
	vireo_net_switch_port_get_stats(fx->port[2].port, &st);
	assert_int_equal(st.in_frames, 3);
	assert_string_equal(vireo_net_switch_port_name(fx->port[2].port), "p2");
}

static void make_mac(uint8_t *mac, unsigned int i)
{
	mac[0] = 0x02;
	mac[1] = 0x42;
	mac[2] = (uint8_t)(i >> 24);
	mac[3] = (uint8_t)(i >> 16);
	mac[4] = (uint8_t)(i >> 8);
	mac[5] = (uint8_t)i;
}

/* Many addresses over two ports, one port flushed: the other's all survive. */
static void test_many_macs_flush(void **state)
{
	struct fixture *fx = *state;
	uint8_t mac[6];
	static struct mac_list l;

	for (unsigned int i = 0; i < 600; i++) {
		make_mac(mac, i * 2654435761u);
		send_udp(fx, i % 2, mac, mac_bcast);
	}
	vireo_net_switch_port_flush(fx->sw, fx->port[0].port);
	l.n = 0;
	vireo_net_switch_for_each_mac(fx->sw, collect_mac, &l);
	assert_int_equal(l.n, 300);
	for (unsigned int i = 0; i < l.n; i++)
		assert_ptr_equal(l.port[i], fx->port[1].port);
	reset_all(fx);
	for (unsigned int i = 0; i < 600; i++) {
		make_mac(mac, i * 2654435761u);
		send_udp(fx, 3, mac_c, mac);
		assert_delivered(fx, i % 2 ? 0x2 : 0x7);
	}
}

/*
 * The switch remembers the last frame's slots per port (switch.c net_pair_memo): when
 * removals shift the remembered entry to another slot, the next frame must still find it.
 */
static void test_lookup_memo_after_shift(void **state)
{
	struct fixture *fx = *state;
	uint8_t mac[6], target[6];

	for (unsigned int t = 0; t < 100; t++) {
		for (unsigned int i = 0; i < 600; i++) {
			make_mac(mac, i * 2654435761u);
			send_udp(fx, i % 2 ? 2 : 0, mac, mac_bcast);
		}
		make_mac(target, (2 * t) * 2654435761u); /* learned on p0 */
		reset_all(fx);
		send_udp(fx, 1, mac_b, target);
		assert_delivered(fx, 0x1);
		vireo_net_switch_port_flush(fx->sw, fx->port[2].port); /* entries move back */
		send_udp(fx, 1, mac_b, target);
		assert_delivered(fx, 0x1);
		send_udp(fx, 1, mac_b, mac); /* the last p2 address: forgotten, flooded */
		assert_delivered(fx, 0xd);
		/* Relearn both ports in mixed order next time, so p0's entries sit behind p2's. */
		vireo_net_switch_port_flush(fx->sw, fx->port[0].port);
		vireo_net_switch_port_flush(fx->sw, fx->port[1].port);
	}
}

/* Inside a batch the clock is read once, at its start; after it, per frame again. */
static void test_batch_clock(void **state)
{
	struct fixture *fx = *state;

	send_udp(fx, 0, mac_a, mac_bcast);
	reset_all(fx);
	vireo_net_switch_batch_begin(fx->sw);
	fx->now += NET_SWITCH_AGEING_MS; /* the batch still sees its start: a is known */
	send_udp(fx, 1, mac_b, mac_a);
	assert_delivered(fx, 0x1);
	vireo_net_switch_batch_end(fx->sw);
	send_udp(fx, 1, mac_b, mac_a); /* now the clock says a aged out: flooded */
	assert_delivered(fx, 0xd);
}

/* A full table learns nothing more until entries age out; frames still flood. */
static void test_table_full(void **state)
{
	struct fixture *fx = *state;
	static struct mac_list l;
	uint8_t mac[6];
	unsigned int learned;

	for (unsigned int i = 0; i < 1000; i++) {
		make_mac(mac, i);
		send_udp(fx, 0, mac, mac_bcast);
	}
	l.n = 0;
	vireo_net_switch_for_each_mac(fx->sw, collect_mac, &l);
	learned = l.n;
	assert_true(learned >= 256 && learned < 1000);
	reset_all(fx);
	send_udp(fx, 1, mac_b, mac_a); /* b not learned, the frame floods */
	assert_delivered(fx, 0xd);
	assert_null(learned_on(fx, mac_b));
	fx->now += NET_SWITCH_AGEING_MS;
	send_udp(fx, 1, mac_b, mac_a);
	assert_ptr_equal(learned_on(fx, mac_b), fx->port[1].port);
	l.n = 0;
	vireo_net_switch_for_each_mac(fx->sw, collect_mac, &l);
	assert_int_equal(l.n, 1);
}

static void test_port_limit(void **state)
{
	struct fixture *fx = *state;
	struct net_switch_port *p;
	char name[] = "a-rather-long-port-name-that-is-copied";

	for (unsigned int i = 4; i < NET_SWITCH_MAX_PORTS; i++)
		assert_int_equal(
			vireo_net_switch_add_port(fx->sw, name, &fport_ops_plain, &fx->port[4], &p),
			0);
	name[0] = 'X';
	assert_string_equal(vireo_net_switch_port_name(p),
			    "a-rather-long-port-name-that-is-copied");
	assert_int_equal(vireo_net_switch_add_port(fx->sw, "x", &fport_ops, &fx->port[5], &p),
			 -ENOSPC);
	vireo_net_switch_remove_port(fx->sw, fx->port[3].port);
	fx->nports = 3;
	assert_int_equal(vireo_net_switch_add_port(fx->sw, "x", &fport_ops, &fx->port[5], &p), 0);
	send_udp(fx, 0, mac_a, mac_bcast);
	assert_int_equal(fx->port[4].n, NET_SWITCH_MAX_PORTS - 4);
	assert_int_equal(fx->port[5].n, 1);
}

/* Send a TSO frame (@plen payload, MSS 1000) from port @from, @src to @dst. */
static uint32_t send_tso_from(struct fixture *fx, unsigned int from, const uint8_t *src,
			      const uint8_t *dst, size_t plen)
{
	uint8_t *buf = malloc(NET_FRAME_MAX), *payload = malloc(NET_FRAME_MAX);
	struct net_flow f;
	struct net_packet pkt = {.data = buf};

	assert_non_null(buf);
	assert_non_null(payload);
	net_flow_init(&f, false);
	net_flow_set_macs(&f, src, dst);
	net_frames_pattern(payload, plen, 9);
	pkt.len = (uint32_t)net_frame_tso(&f, payload, plen, 1000, buf, NET_FRAME_MAX, &pkt.vnet);
	assert_true(pkt.len > 0);
	vireo_net_switch_input(fx->sw, fx->port[from].port, &pkt);
	free(buf);
	free(payload);
	return pkt.len;
}

/* A TSO frame from a at p0 to broadcast. */
static uint32_t send_tso(struct fixture *fx, size_t plen)
{
	return send_tso_from(fx, 0, mac_a, mac_bcast, plen);
}

static void test_offload_adaptation(void **state)
{
	struct fixture *fx = *state;
	struct net_switch_port_stats st;
	uint32_t len;
	uint64_t bytes = 0;

	fx->port[1].offloads = NET_OFFLOAD_ALL;
	fx->port[2].offloads = 0;
	fx->port[3].offloads = NET_OFFLOAD_CSUM;
	len = send_tso(fx, 4500);
	assert_int_equal(fx->port[1].n, 1);
	assert_int_equal(fx->port[1].len[0], len);
	assert_int_equal(fx->port[1].vnet[0].gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(fx->port[1].vnet[0].flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	for (unsigned int p = 2; p <= 3; p++) {
		assert_int_equal(fx->port[p].n, 5);
		for (unsigned int i = 0; i < 5; i++) {
			struct net_frame_info in;

			assert_int_equal(
				net_frame_verify(fx->port[p].frame[i], fx->port[p].len[i], &in), 0);
			assert_int_equal(in.payload_len, i < 4 ? 1000 : 500);
			assert_int_equal(fx->port[p].vnet[i].gso_type, 0);
			if (p == 2)
				bytes += fx->port[p].len[i];
		}
	}
	vireo_net_switch_port_get_stats(fx->port[2].port, &st);
	assert_int_equal(st.out_frames, 5);
	assert_int_equal(st.out_bytes, bytes);
	vireo_net_switch_port_get_stats(fx->port[1].port, &st);
	assert_int_equal(st.out_frames, 1);
	assert_int_equal(st.out_bytes, len);
	vireo_net_switch_port_get_stats(fx->port[0].port, &st);
	assert_int_equal(st.in_frames, 1);
	assert_int_equal(st.in_bytes, len);
}

static void test_offload_checksum_only(void **state)
{
	struct fixture *fx = *state;
	uint8_t buf[FRAME_CAP];
	struct net_flow f;
	struct net_packet pkt = {.data = buf};

	fx->port[1].offloads = NET_OFFLOAD_CSUM;
	fx->port[2].offloads = NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6; /* no CSUM */
	vireo_net_switch_remove_port(fx->sw, fx->port[3].port);
	fx->nports = 3;
	net_flow_init(&f, true);
	net_flow_set_macs(&f, mac_a, mac_bcast);
	pkt.len = (uint32_t)net_frame_tcp(&f, (const uint8_t *)"0123456789", 10, buf, sizeof(buf));
	assert_int_equal(net_frame_make_partial(buf, pkt.len, &pkt.vnet), 0);
	vireo_net_switch_input(fx->sw, fx->port[0].port, &pkt);
	assert_int_equal(fx->port[1].n, 1);
	assert_int_equal(fx->port[1].vnet[0].flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(net_frame_verify(fx->port[1].frame[0], pkt.len, NULL), -EBADMSG);
	assert_int_equal(fx->port[2].n, 1);
	assert_int_equal(fx->port[2].vnet[0].flags, 0);
	assert_int_equal(net_frame_verify(fx->port[2].frame[0], pkt.len, NULL), 0);
}

/*
 * D-NET-35..37: a partial checksum reaches a port that takes NEEDS_CSUM (its driver
 * negotiated GUEST_CSUM) with the header checksums before csum_start valid, the
 * pseudo-header sum in the checksum field, and csum_start/csum_offset such that
 * completing the one's-complement sum from csum_start gives a correct packet. TCP and
 * UDP, IPv4 and IPv6.
 */
static void test_partial_checksum_delivered(void **state)
{
	struct fixture *fx = *state;
	uint8_t buf[FRAME_CAP], sent[FRAME_CAP], *got;
	struct net_packet pkt = {.data = buf};
	struct net_flow f;
	unsigned int i, start, at;
	uint16_t sum;

	fx->port[1].offloads = NET_OFFLOAD_CSUM;
	for (i = 0; i < 4; i++) {
		net_flow_init(&f, i & 1);
		net_flow_set_macs(&f, mac_a, mac_b);
		pkt.len = (uint32_t)((i & 2) ? net_frame_udp(&f, (const uint8_t *)"abcdefghi", 9,
							     buf, sizeof(buf))
					     : net_frame_tcp(&f, (const uint8_t *)"0123456789", 10,
							     buf, sizeof(buf)));
		assert_int_equal(net_frame_make_partial(buf, pkt.len, &pkt.vnet), 0);
		memcpy(sent, buf, pkt.len);
		reset_all(fx);
		vireo_net_switch_input(fx->sw, fx->port[0].port, &pkt);
		assert_int_equal(fx->port[1].n, 1);
		assert_int_equal(fx->port[1].len[0], pkt.len);
		assert_int_equal(fx->port[1].vnet[0].flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
		start = le16_to_cpu(fx->port[1].vnet[0].csum_start);
		at = start + le16_to_cpu(fx->port[1].vnet[0].csum_offset);
		assert_true(at + 2 <= pkt.len);
		got = fx->port[1].frame[0];
		/* The checksum field holds the pseudo-header sum, as the sender left it. */
		assert_memory_equal(got + at, sent + at, 2);
		assert_int_equal(net_frame_verify(got, pkt.len, NULL), -EBADMSG);
		/* Complete it as a driver does: fold from csum_start, store the complement. */
		sum = (uint16_t)~net_frames_fold(net_frames_sum(0, got + start, pkt.len - start));
		if ((i & 2) && sum == 0)
			sum = 0xffff;
		got[at] = (uint8_t)(sum >> 8);
		got[at + 1] = (uint8_t)sum;
		assert_int_equal(net_frame_verify(got, pkt.len, NULL), 0);
	}
}

/* A port without the offloads op takes nothing; refusals and malformed frames are counted. */
static void test_stats_drops_and_errors(void **state)
{
	struct fixture *fx = *state;
	struct net_switch_port *plain;
	struct net_switch_port_stats st;
	static uint8_t buf[FRAME_CAP];
	struct net_flow f;
	struct net_packet pkt = {.data = buf};

	assert_int_equal(
		vireo_net_switch_add_port(fx->sw, "plain", &fport_ops_plain, &fx->port[4], &plain),
		0);
	fx->port[2].ret = -ENOBUFS;
	send_tso(fx, 2500);
	assert_int_equal(fx->port[4].n, 3);
	vireo_net_switch_port_get_stats(fx->port[2].port, &st);
	assert_int_equal(st.out_frames, 0);
	assert_int_equal(st.out_dropped, 1);
	/* a TSO frame whose TCP header is cut short: only the plain port needs software */
	net_flow_init(&f, false);
	net_flow_set_macs(&f, mac_a, mac_bcast);
	pkt.len = (uint32_t)net_frame_tso(&f, NULL, 0, 1000, buf, sizeof(buf), &pkt.vnet);
	buf[NET_ETH_HLEN + 20 + 12] = 0xf0;
	vireo_net_switch_input(fx->sw, fx->port[0].port, &pkt);
	vireo_net_switch_port_get_stats(plain, &st);
	assert_int_equal(st.offload_errors, 1);
	assert_int_equal(st.out_frames, 3);
	assert_int_equal(fx->port[4].n, 3);
	vireo_net_switch_port_get_stats(fx->port[1].port, &st);
	assert_int_equal(st.offload_errors, 0);
	assert_int_equal(st.out_frames, 2);
}

/*
 * A transmit that answers at once, like libslirp replying inside
 * slirp_input(): a TSO frame back to the sender, which needs segmenting too.
 */
static void reply_hook(struct fport *fp, const struct net_packet *pkt)
{
	struct fixture *fx = fp->hook_arg;
	uint8_t dst[NET_ETH_ALEN];

	fp->hook = NULL; /* once */
	assert_true(pkt->len >= NET_ETH_HLEN);
	memcpy(dst, pkt->data + NET_ETH_ALEN, NET_ETH_ALEN);
	send_tso_from(fx, 3, mac_c, dst, 2500);
}

static void test_reentrant_input(void **state)
{
	struct fixture *fx = *state;

	fx->port[3].hook = reply_hook;
	fx->port[3].hook_arg = fx;
	fx->port[0].offloads = 0;
	fx->port[2].offloads = 0;
	fx->port[3].offloads = 0;
	send_tso(fx, 3000); /* flood: p1 as is, p2 and p3 3 segments; p3 replies to a */
	assert_int_equal(fx->port[0].n, 3); /* the nested reply, unicast to a, segmented */
	assert_int_equal(fx->port[1].n, 1);
	assert_int_equal(fx->port[2].n, 3);
	assert_int_equal(fx->port[3].n, 3);
	for (unsigned int p = 0; p < 4; p += 2)
		for (unsigned int i = 0; i < 3; i++)
			assert_int_equal(
				net_frame_verify(fx->port[p].frame[i], fx->port[p].len[i], NULL),
				0);
	for (unsigned int i = 0; i < 3; i++)
		assert_memory_equal(fx->port[3].frame[i], fx->port[2].frame[i], fx->port[2].len[i]);
}

/* A transmit that removes ports (its own and one later in the flood). */
static void remove_hook(struct fport *fp, const struct net_packet *pkt)
{
	struct fixture *fx = fp->hook_arg;

	(void)pkt;
	fp->hook = NULL;
	vireo_net_switch_remove_port(fx->sw, fx->port[3].port);
	vireo_net_switch_remove_port(fx->sw, fp->port);
}

static void test_remove_during_forwarding(void **state)
{
	struct fixture *fx = *state;

	fx->port[1].hook = remove_hook;
	fx->port[1].hook_arg = fx;
	send_udp(fx, 0, mac_a, mac_bcast);
	assert_delivered(fx, 0x6); /* p3 was gone before its turn */
	fx->nports = 3;
	send_udp(fx, 0, mac_a, mac_bcast);
	assert_delivered(fx, 0x4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_learn_and_unicast, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flood_broadcast_multicast, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_sources_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hairpin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mac_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ageing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_and_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_macs_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_memo_after_shift, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_port_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offload_adaptation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offload_checksum_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_checksum_delivered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_drops_and_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reentrant_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_during_forwarding, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
