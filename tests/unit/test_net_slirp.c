// SPDX-License-Identifier: MIT
/*
 * The libslirp uplink, driven as a guest would: the test owns a port "guest"
 * on a switch (the double in tests/lib/net_switch_double.h, or the real one)
 * and crafts frames into it; what libslirp sends back is recorded by that
 * port's transmit. Every wait has a deadline; nothing sleeps blindly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <vireo/event_loop.h>
#include <vireo/net_uplink.h>

#include "tests/lib/fd_count.h"
#include "tests/lib/net_switch_double.h"
#include "tests/lib/uplink_frames.h"

#define GUEST_IP UPLINK_IP(10, 0, 2, 15)
#define HOST_IP UPLINK_IP(10, 0, 2, 2)
#define DNS_IP UPLINK_IP(10, 0, 2, 3)
#define MAX_FRAMES 512u
#define WAIT_MS 3000

static const uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
/* libslirp's address for 10.0.2.2; any unicast MAC reaches it through the switch anyway. */
static const uint8_t host_mac[6] = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};

struct frame {
	uint8_t *data;
	uint32_t len;
};

struct fx {
	struct event_loop loop;
	struct net_switch *sw;
	struct net_switch_port *guest;
	struct net_slirp *slirp;
	struct frame frames[MAX_FRAMES];
	unsigned int num_frames;
	unsigned int arp_scanned; /* frames already looked at by the ARP responder */
};

static int guest_transmit(void *opaque, const struct net_packet *pkt)
{
	struct fx *fx = opaque;
	struct frame *f;

	if (fx->num_frames == MAX_FRAMES)
		return -ENOBUFS;
	f = &fx->frames[fx->num_frames];
	f->data = malloc(pkt->len);
	assert_non_null(f->data);
	memcpy(f->data, pkt->data, pkt->len);
	f->len = pkt->len;
	fx->num_frames++;
	return 0;
}

static uint32_t guest_offloads(void *opaque)
{
	(void)opaque;
	return NET_OFFLOAD_ALL;
}

static const struct net_port_ops guest_ops = {
	.transmit = guest_transmit,
	.offloads = guest_offloads,
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void guest_send(struct fx *fx, const uint8_t *frame, size_t len)
{
	struct net_packet pkt = {.data = (uint8_t *)frame, .len = (uint32_t)len};

	vireo_net_switch_input(fx->sw, fx->guest, &pkt);
}

/* The guest answers libslirp's "who has 10.0.2.15?", as a real one would. */
static void guest_answer_arp(struct fx *fx)
{
	uint8_t reply[64];
	size_t n;

	for (; fx->arp_scanned < fx->num_frames; fx->arp_scanned++) {
		const struct frame *f = &fx->frames[fx->arp_scanned];
		const uint8_t *a = f->data + NET_ETH_HLEN;

		if (f->len < NET_ETH_HLEN + 28 || uplink_get_be16(f->data + 12) != NET_ETH_P_ARP ||
		    uplink_get_be16(a + 6) != 1 || uplink_get_be32(a + 24) != GUEST_IP)
			continue;
		n = uplink_arp_frame(reply, 2, guest_mac, GUEST_IP, a + 8, uplink_get_be32(a + 14));
		guest_send(fx, reply, n);
	}
}

static void fx_pump(struct fx *fx, int timeout_ms)
{
	assert_true(vireo_event_loop_run_once(&fx->loop, timeout_ms) >= 0);
	guest_answer_arp(fx);
}

/* Pump until @match accepts a frame recorded at index >= @from. Return: its index or -1. */
static int fx_wait_frame(struct fx *fx, unsigned int from,
			 bool (*match)(const struct frame *f, const void *ctx), const void *ctx)
{
	int64_t deadline = now_ms() + WAIT_MS;
	unsigned int i;

	for (;;) {
		for (i = from; i < fx->num_frames; i++)
			if (match(&fx->frames[i], ctx))
				return (int)i;
		if (now_ms() > deadline)
			return -1;
		fx_pump(fx, 10);
	}
}

static void fx_pump_for(struct fx *fx, int ms)
{
	int64_t end = now_ms() + ms;

	while (now_ms() < end)
		fx_pump(fx, 10);
}

static int fx_open(struct fx *fx, const struct net_slirp_options *opt)
{
	memset(fx, 0, sizeof(*fx));
	assert_int_equal(vireo_event_loop_init(&fx->loop), 0);
	assert_int_equal(vireo_net_switch_new(&fx->sw), 0);
	assert_int_equal(vireo_net_switch_add_port(fx->sw, "guest", &guest_ops, fx, &fx->guest), 0);
	return vireo_net_slirp_new(&fx->slirp, opt, &fx->loop, fx->sw);
}

static void fx_close(struct fx *fx)
{
	unsigned int i;

	vireo_net_slirp_free(fx->slirp);
	vireo_net_switch_remove_port(fx->sw, fx->guest);
	vireo_net_switch_free(fx->sw);
	vireo_event_loop_destroy(&fx->loop);
	for (i = 0; i < fx->num_frames; i++)
		free(fx->frames[i].data);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx || fx_open(fx, NULL) != 0)
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	fx_close(*state);
	free(*state);
	return 0;
}

static bool match_arp_reply(const struct frame *f, const void *ctx)
{
	const uint8_t *a = f->data + NET_ETH_HLEN;

	(void)ctx;
	return f->len >= NET_ETH_HLEN + 28 && uplink_get_be16(f->data + 12) == NET_ETH_P_ARP &&
	       uplink_get_be16(a + 6) == 2 && uplink_get_be32(a + 14) == HOST_IP &&
	       uplink_get_be32(a + 24) == GUEST_IP && memcmp(a + 18, guest_mac, 6) == 0 &&
	       memcmp(f->data, guest_mac, 6) == 0;
}

/* The guest resolves 10.0.2.2; libslirp learns the guest's MAC on the way. */
static void guest_arp_host(struct fx *fx)
{
	unsigned int mark = fx->num_frames;
	uint8_t f[64];

	guest_send(fx, f, uplink_arp_frame(f, 1, guest_mac, GUEST_IP, bcast_mac, HOST_IP));
	assert_true(fx_wait_frame(fx, mark, match_arp_reply, NULL) >= 0);
}

static void test_arp_reply(void **state)
{
	struct fx *fx = *state;
	struct net_uplink_stats st;

	guest_arp_host(fx);
	vireo_net_slirp_get_stats(fx->slirp, &st);
	assert_int_equal(st.to_host_frames, 1);
	assert_int_equal(st.to_host_bytes, NET_ETH_HLEN + 28);
	assert_true(st.from_host_frames >= 1);
	assert_true(st.from_host_bytes >= NET_ETH_HLEN + 28);
	assert_int_equal(st.refused, 0);
	assert_int_equal(st.dropped, 0);
}

#define BOOTP_LEN 548u /* 236 fixed bytes + the 312-byte options field */
#define DHCP_XID 0x1badcafeu

static bool match_dhcp_offer(const struct frame *f, const void *ctx)
{
	struct uplink_parsed p;
	const uint8_t *b, *o, *end;

	(void)ctx;
	if (!uplink_parse(f->data, f->len, &p) || p.type != NET_ETH_P_IPV4 || p.proto != 17 ||
	    p.sport != 67 || p.dport != 68 || p.l4_len < 8 + 240)
		return false;
	b = p.l4 + 8;
	if (b[0] != 2 || uplink_get_be32(b + 4) != DHCP_XID || uplink_get_be32(b + 16) != GUEST_IP)
		return false;
	/* Options after the magic cookie: find 53 (message type) = 2 (OFFER). */
	end = p.l4 + p.l4_len;
	for (o = b + 240; o + 2 <= end && o[0] != 255; o += (o[0] == 0) ? 1 : 2u + o[1])
		if (o[0] == 53 && o[1] == 1 && o + 3 <= end)
			return o[2] == 2;
	return false;
}

static void test_dhcp_offer(void **state)
{
	struct fx *fx = *state;
	uint8_t frame[NET_ETH_HLEN + 28 + BOOTP_LEN], bootp[BOOTP_LEN];
	struct uplink_l4 l4 = {.dmac = bcast_mac,
			       .smac = guest_mac,
			       .src = 0,
			       .dst = 0xffffffffu,
			       .sport = 68,
			       .dport = 67,
			       .no_csum = true};
	static const uint8_t opts[] = {99, 130, 83, 99, 53, 1, 1, 255};
	unsigned int mark = fx->num_frames;
	size_t n;

	memset(bootp, 0, sizeof(bootp));
	bootp[0] = 1; /* BOOTREQUEST */
	bootp[1] = 1; /* Ethernet */
	bootp[2] = 6;
	uplink_put_be32(bootp + 4, DHCP_XID);
	memcpy(bootp + 28, guest_mac, 6);
	memcpy(bootp + 236, opts, sizeof(opts));
	n = uplink_udp_frame(frame, &l4, bootp, sizeof(bootp));
	guest_send(fx, frame, n);
	assert_true(fx_wait_frame(fx, mark, match_dhcp_offer, NULL) >= 0);
}

struct tcp_match {
	uint32_t src, dst;
	uint16_t sport, dport; /* sport 0: any */
	uint8_t flags;
	uint32_t ack; /* checked when flags has ACK */
};

static bool match_tcp(const struct frame *f, const void *ctx)
{
	const struct tcp_match *m = ctx;
	struct uplink_parsed p;

	if (!uplink_parse(f->data, f->len, &p) || p.type != NET_ETH_P_IPV4 || p.proto != 6 ||
	    p.l4_len < 20)
		return false;
	if (p.src != m->src || p.dst != m->dst || p.dport != m->dport)
		return false;
	if (m->sport && p.sport != m->sport)
		return false;
	if ((p.l4[13] & 0x3f) != m->flags || memcmp(f->data, guest_mac, 6) != 0)
		return false;
	return !(m->flags & UPLINK_TCP_ACK) || uplink_get_be32(p.l4 + 8) == m->ack;
}

/* A socket on 127.0.0.1, port chosen by the kernel. Return: the fd; *port set. */
static int loopback_socket(int type, uint16_t *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	if (type == SOCK_STREAM)
		assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* A guest's SYN to 10.0.2.2:P reaches 127.0.0.1:P, and the SYN-ACK comes back. */
static void test_tcp_to_host_loopback(void **state)
{
	struct fx *fx = *state;
	struct uplink_l4 syn = {.dmac = host_mac,
				.smac = guest_mac,
				.src = GUEST_IP,
				.dst = HOST_IP,
				.sport = 40001,
				.flags = UPLINK_TCP_SYN,
				.seq = 1000,
				.win = 65535,
				.mss = 1460};
	struct tcp_match m = {.src = HOST_IP,
			      .dst = GUEST_IP,
			      .dport = 40001,
			      .flags = UPLINK_TCP_SYN | UPLINK_TCP_ACK,
			      .ack = 1001};
	int64_t deadline = now_ms() + WAIT_MS;
	uint8_t frame[128];
	unsigned int mark;
	int lfd, cfd = -1;

	lfd = loopback_socket(SOCK_STREAM, &syn.dport);
	m.sport = syn.dport;
	guest_arp_host(fx);
	mark = fx->num_frames;
	guest_send(fx, frame, uplink_tcp_frame(frame, &syn, NULL, 0));
	while (cfd < 0 && now_ms() < deadline) {
		fx_pump(fx, 10);
		cfd = accept(lfd, NULL, NULL);
	}
	assert_true(cfd >= 0);
	assert_true(fx_wait_frame(fx, mark, match_tcp, &m) >= 0);
	close(cfd);
	close(lfd);
}

/* hostfwd: a connection to 127.0.0.1:HOSTPORT becomes a SYN to 10.0.2.15:GUESTPORT. */
static void test_hostfwd_syn(void **state)
{
	struct net_slirp_options opt = {.num_forwards = 1};
	struct tcp_match m = {
		.src = HOST_IP, .dst = GUEST_IP, .dport = 2222, .flags = UPLINK_TCP_SYN};
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct fx fx;
	uint16_t port;
	int fd;

	(void)state;
	fd = loopback_socket(SOCK_STREAM, &port);
	close(fd); /* a port that was free a moment ago */
	opt.forwards[0] = (struct net_slirp_forward){.host_port = port, .guest_port = 2222};
	assert_int_equal(fx_open(&fx, &opt), 0);
	guest_arp_host(&fx);

	a.sin_port = htons(port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_true(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 || errno == EINPROGRESS);
	/* Any source port (m.sport 0): libslirp picks it. */
	assert_true(fx_wait_frame(&fx, 0, match_tcp, &m) >= 0);
	close(fd);
	fx_close(&fx);
}

static void test_hostfwd_port_in_use(void **state)
{
	struct net_slirp_options opt = {.num_forwards = 2};
	struct fx fx;
	uint16_t port;
	int fd;

	(void)state;
	fd = loopback_socket(SOCK_STREAM, &port);
	opt.forwards[0] = (struct net_slirp_forward){.host_port = port, .guest_port = 22};
	opt.forwards[1] = (struct net_slirp_forward){.host_port = port, .guest_port = 80};
	assert_int_equal(fx_open(&fx, &opt), -EADDRINUSE);
	assert_null(fx.slirp);
	vireo_net_switch_remove_port(fx.sw, fx.guest);
	vireo_net_switch_free(fx.sw);
	vireo_event_loop_destroy(&fx.loop);
	close(fd);
}

static void test_bad_options(void **state)
{
	struct net_slirp_options opt = {.num_forwards = NET_SLIRP_MAX_FORWARDS + 1};
	struct fx *fx = *state;
	struct net_slirp *s = NULL;

	assert_int_equal(vireo_net_slirp_new(&s, &opt, &fx->loop, fx->sw), -EINVAL);
	opt.num_forwards = 1;
	opt.forwards[0] = (struct net_slirp_forward){.host_port = 0, .guest_port = 22};
	assert_int_equal(vireo_net_slirp_new(&s, &opt, &fx->loop, fx->sw), -EINVAL);
	opt.forwards[0] = (struct net_slirp_forward){.host_port = 2222, .guest_port = 0};
	assert_int_equal(vireo_net_slirp_new(&s, &opt, &fx->loop, fx->sw), -EINVAL);
	assert_null(s);
}

static size_t udp_to(uint8_t *f, uint32_t dst, uint16_t sport, uint16_t dport)
{
	struct uplink_l4 l4 = {.dmac = host_mac,
			       .smac = guest_mac,
			       .src = GUEST_IP,
			       .dst = dst,
			       .sport = sport,
			       .dport = dport};

	return uplink_udp_frame(f, &l4, "hello", 5);
}

/*
 * Positive control first: a datagram to 10.0.2.2:P reaches the test's socket
 * on 127.0.0.1:P. Then frames to anywhere else: each refused, no frame back,
 * and no socket opened in this process (libslirp's sockets are ours).
 */
static void test_policy_refuses_all_but_host(void **state)
{
	struct fx *fx = *state;
	struct uplink_l4 l4 = {.dmac = host_mac, .smac = guest_mac, .src = GUEST_IP};
	struct net_uplink_stats st;
	uint8_t f[256], buf[16];
	int64_t deadline;
	unsigned int mark, fds;
	uint16_t port;
	ssize_t n = -1;
	size_t len;
	int ufd;

	guest_arp_host(fx);
	ufd = loopback_socket(SOCK_DGRAM, &port);
	guest_send(fx, f, udp_to(f, HOST_IP, 5000, port));
	for (deadline = now_ms() + WAIT_MS; n < 0 && now_ms() < deadline;) {
		fx_pump(fx, 10);
		n = recv(ufd, buf, sizeof(buf), 0);
	}
	assert_int_equal(n, 5);
	assert_memory_equal(buf, "hello", 5);
	close(ufd);
	fx_pump_for(fx, 100);

	mark = fx->num_frames;
	fds = fd_count_open();
	guest_send(fx, f, udp_to(f, UPLINK_IP(8, 8, 8, 8), 5001, 53));
	guest_send(fx, f, udp_to(f, DNS_IP, 5002, 53));
	guest_send(fx, f, udp_to(f, UPLINK_IP(10, 0, 2, 5), 5003, 7));
	guest_send(fx, f, udp_to(f, UPLINK_IP(10, 0, 2, 255), 5004, 7));
	guest_send(fx, f, udp_to(f, 0xffffffffu, 5005, 7));
	/* DHCP ports, but not to the broadcast address: libslirp would send it on. */
	guest_send(fx, f, udp_to(f, UPLINK_IP(8, 8, 8, 8), 68, 67));
	l4.dst = UPLINK_IP(8, 8, 8, 8);
	l4.sport = 40002;
	l4.dport = 80;
	l4.flags = UPLINK_TCP_SYN;
	l4.win = 65535;
	guest_send(fx, f, uplink_tcp_frame(f, &l4, NULL, 0));
	/* IPv6 and a VLAN-tagged frame: other ethertypes. */
	len = udp_to(f, HOST_IP, 5006, 7);
	uplink_put_be16(f + 12, NET_ETH_P_IPV6);
	guest_send(fx, f, len);
	uplink_put_be16(f + 12, NET_ETH_P_VLAN);
	guest_send(fx, f, len);

	fx_pump_for(fx, 300);
	vireo_net_slirp_get_stats(fx->slirp, &st);
	assert_int_equal(st.refused, 9);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(fx->num_frames, mark);
	assert_int_equal(fd_count_open(), fds);
}

/* Headers that do not fit the frame: dropped and counted, never handed to libslirp. */
static void test_malformed_dropped(void **state)
{
	struct fx *fx = *state;
	struct net_uplink_stats st;
	struct net_packet pkt;
	uint8_t f[256];
	size_t len;

	len = udp_to(f, HOST_IP, 5000, 7);
	guest_send(fx, f, 10);		      /* shorter than Ethernet */
	guest_send(fx, f, NET_ETH_HLEN + 12); /* half an IPv4 header */
	guest_send(fx, f, len - 4);	      /* total length beyond the frame */
	f[NET_ETH_HLEN] = 0x44;		      /* IHL 4 */
	guest_send(fx, f, len);
	f[NET_ETH_HLEN] = 0x65; /* version 6 in an IPv4 ethertype */
	guest_send(fx, f, len);
	len = uplink_arp_frame(f, 1, guest_mac, GUEST_IP, bcast_mac, HOST_IP);
	guest_send(fx, f, len - 1); /* short ARP */

	/* An offload the port never advertised: the switch should have completed it. */
	len = udp_to(f, HOST_IP, 5000, 7);
	memset(&pkt, 0, sizeof(pkt));
	pkt.data = f;
	pkt.len = (uint32_t)len;
	pkt.vnet.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	pkt.vnet.csum_start = NET_ETH_HLEN + 20;
	pkt.vnet.csum_offset = 6;
	vireo_net_switch_input(fx->sw, fx->guest, &pkt);

	vireo_net_slirp_get_stats(fx->slirp, &st);
	assert_int_equal(st.dropped, 7);
	assert_int_equal(st.to_host_frames, 0);
	assert_int_equal(st.refused, 0);
}

static void test_parse_forward(void **state)
{
	static const char *const bad[] = {
		"udp:127.0.0.1:2222-:22",
		"tcp:0.0.0.0:2222-:22",
		"tcp:10.0.2.2:2222-:22",
		"tcp:127.0.0.2:2222-:22",
		"tcp::0-:22",
		"tcp::2222-:0",
		"tcp::65536-:22",
		"tcp::2222-:65536",
		"tcp::2222-:22x",
		"tcp::2222:22",
		"tcp::-:22",
		"tcp::2222-10.0.2.15:22",
		"tcp:2222-:22",
		"tcp::+2222-:22",
		"tcp:: 2222-:22",
		"tcp::2222-:",
		"",
		"tcp",
		"TCP::2222-:22",
		"tcp::123456-:22",
		"tcp::2222-:22 ",
		"tcp:127.0.0.1:2222-:22-1",
		"tcp:localhost:2222-:22",
	};
	struct net_slirp_forward f = {.host_port = 7, .guest_port = 7};
	unsigned int i;

	(void)state;
	assert_int_equal(vireo_net_slirp_parse_forward("tcp:127.0.0.1:2222-:22", &f), 0);
	assert_int_equal(f.host_port, 2222);
	assert_int_equal(f.guest_port, 22);
	assert_int_equal(vireo_net_slirp_parse_forward("tcp::65535-:1", &f), 0);
	assert_int_equal(f.host_port, 65535);
	assert_int_equal(f.guest_port, 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = (struct net_slirp_forward){.host_port = 7, .guest_port = 7};
		if (vireo_net_slirp_parse_forward(bad[i], &f) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(f.host_port, 7); /* untouched on error */
	}
	assert_int_equal(vireo_net_slirp_parse_forward(NULL, &f), -EINVAL);
}

/*
 * Free with frames in both queues: ARP replies waiting for the switch thread
 * (the loop's epoll fd is readable, nothing dispatched), frames just queued
 * to the slirp thread, and a live TCP connection. ASan checks for leaks.
 */
static void test_free_in_flight(void **state)
{
	struct pollfd pfd;
	struct fx fx;
	uint8_t f[128];
	unsigned int i, fds = fd_count_open();
	uint16_t port;
	int lfd;

	(void)state;
	lfd = loopback_socket(SOCK_STREAM, &port);
	assert_int_equal(fx_open(&fx, NULL), 0);
	for (i = 0; i < 50; i++)
		guest_send(&fx, f, uplink_arp_frame(f, 1, guest_mac, GUEST_IP, bcast_mac, HOST_IP));
	pfd = (struct pollfd){.fd = fx.loop.epoll_fd, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, WAIT_MS), 1);
	for (i = 0; i < 50; i++)
		guest_send(&fx, f, udp_to(f, HOST_IP, (uint16_t)(6000 + i), 9));
	fx_close(&fx);
	assert_int_equal(fd_count_open(), fds + 1);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_arp_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dhcp_offer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_to_host_loopback, setup, teardown),
		cmocka_unit_test(test_hostfwd_syn),
		cmocka_unit_test(test_hostfwd_port_in_use),
		cmocka_unit_test_setup_teardown(test_bad_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_refuses_all_but_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_dropped, setup, teardown),
		cmocka_unit_test(test_parse_forward),
		cmocka_unit_test(test_free_in_flight),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
