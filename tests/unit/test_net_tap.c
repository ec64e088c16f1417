// SPDX-License-Identifier: MIT
/*
 * The tap uplink against the kernel's network stack. The program moves
 * itself into a network namespace of its own first (unshare(CLONE_NEWNET)),
 * so the host's network is never touched and the namespace, with vtap0 in
 * it, disappears when the program exits. Inside, vtap0 is 10.9.0.1/24 and
 * the test plays the host 10.9.0.2 on the switch side: it answers ARP and
 * ICMP echo, and speaks enough TCP to make the kernel send a stream.
 * Needs root (CAP_NET_ADMIN), /dev/net/tun, ip and ping: otherwise SKIP.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vireo/event_loop.h>
#include <vireo/net_uplink.h>

#include "tests/lib/net_switch_double.h"
#include "tests/lib/uplink_frames.h"

#define TAP_NAME "vtap0"
#define TAP_IP UPLINK_IP(10, 9, 0, 1)
#define PEER_IP UPLINK_IP(10, 9, 0, 2)
#define MAX_FRAMES 1024u
#define WAIT_MS 5000
#define ETH_IP_HLEN (NET_ETH_HLEN + 20u)

static const uint8_t peer_mac[6] = {0x02, 0x00, 0x00, 0x09, 0x00, 0x02};

struct frame {
	struct vireo_net_hdr_v1 vnet;
	uint8_t *data;
	uint32_t len;
};

struct env {
	bool usable;
	char why[128];
};

struct tfx {
	struct event_loop loop;
	struct net_switch *sw;
	struct net_switch_port *peer;
	struct net_tap *tap;
	uint8_t tap_mac[6];
	struct frame frames[MAX_FRAMES];
	unsigned int num_frames;
	unsigned int answered; /* frames the peer already looked at */
	unsigned int echo_replies;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int peer_transmit(void *opaque, const struct net_packet *pkt)
{
	struct tfx *fx = opaque;
	struct frame *f;

	if (fx->num_frames == MAX_FRAMES)
		return -ENOBUFS;
	f = &fx->frames[fx->num_frames];
	f->data = malloc(pkt->len);
	assert_non_null(f->data);
	memcpy(f->data, pkt->data, pkt->len);
	f->len = pkt->len;
	f->vnet = pkt->vnet;
	fx->num_frames++;
	return 0;
}

static uint32_t peer_offloads(void *opaque)
{
	(void)opaque;
	return NET_OFFLOAD_ALL;
}

static const struct net_port_ops peer_ops = {
	.transmit = peer_transmit,
	.offloads = peer_offloads,
};

static void peer_send_hdr(struct tfx *fx, const uint8_t *frame, size_t len,
			  const struct vireo_net_hdr_v1 *vnet)
{
	struct net_packet pkt = {.data = (uint8_t *)frame, .len = (uint32_t)len};

	if (vnet)
		pkt.vnet = *vnet;
	vireo_net_switch_input(fx->sw, fx->peer, &pkt);
}

static void peer_send(struct tfx *fx, const uint8_t *frame, size_t len)
{
	peer_send_hdr(fx, frame, len, NULL);
}

static void peer_answer_arp(struct tfx *fx, const struct frame *f)
{
	const uint8_t *a = f->data + NET_ETH_HLEN;
	uint8_t reply[64];

	if (f->len < NET_ETH_HLEN + 28 || uplink_get_be16(a + 6) != 1 ||
	    uplink_get_be32(a + 24) != PEER_IP)
		return;
	peer_send(fx, reply,
		  uplink_arp_frame(reply, 2, peer_mac, PEER_IP, a + 8, uplink_get_be32(a + 14)));
}

/* An echo request to 10.9.0.2 comes back as a reply (ICMP is never checksum-offloaded). */
static void peer_answer_echo(struct tfx *fx, const struct frame *f)
{
	struct uplink_parsed p;
	uint8_t reply[2048];
	uint8_t *ip = reply + NET_ETH_HLEN, *icmp;
	size_t len;

	if (!uplink_parse(f->data, f->len, &p) || p.type != NET_ETH_P_IPV4 || p.proto != 1 ||
	    p.dst != PEER_IP || p.l4_len < 8 || p.l4[0] != 8 || p.l4_len > 1500)
		return;
	memcpy(reply, f->data + 6, 6);
	memcpy(reply + 6, peer_mac, 6);
	uplink_put_be16(reply + 12, NET_ETH_P_IPV4);
	uplink_ipv4_header(ip, PEER_IP, p.src, 1, p.l4_len);
	icmp = ip + 20;
	memcpy(icmp, p.l4, p.l4_len);
	icmp[0] = 0;
	uplink_put_be16(icmp + 2, 0);
	uplink_put_be16(icmp + 2, (uint16_t)~uplink_csum_fold(uplink_csum_add(0, icmp, p.l4_len)));
	len = ETH_IP_HLEN + p.l4_len;
	peer_send(fx, reply, len);
	fx->echo_replies++;
}

static void tfx_pump(struct tfx *fx, int timeout_ms)
{
	assert_true(vireo_event_loop_run_once(&fx->loop, timeout_ms) >= 0);
	for (; fx->answered < fx->num_frames; fx->answered++) {
		const struct frame *f = &fx->frames[fx->answered];

		if (uplink_get_be16(f->data + 12) == NET_ETH_P_ARP)
			peer_answer_arp(fx, f);
		else
			peer_answer_echo(fx, f);
	}
}

/* Pump until @match accepts a frame at index >= @from. Return: its index or -1. */
static int tfx_wait_frame(struct tfx *fx, unsigned int from,
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
		tfx_pump(fx, 10);
	}
}

static void tap_mac_get(uint8_t *mac)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, TAP_NAME);
	assert_int_equal(ioctl(fd, SIOCGIFHWADDR, &ifr), 0);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
}

/* Return: false (and the test skips) if this machine cannot run it. */
static bool tfx_open(struct tfx *fx, void **state)
{
	const struct env *env = *state;

	if (!env->usable) {
		printf("# SKIP: %s\n", env->why);
		return false;
	}
	memset(fx, 0, sizeof(*fx));
	assert_int_equal(vireo_event_loop_init(&fx->loop), 0);
	assert_int_equal(vireo_net_switch_new(&fx->sw), 0);
	assert_int_equal(vireo_net_switch_add_port(fx->sw, "peer", &peer_ops, fx, &fx->peer), 0);
	assert_int_equal(vireo_net_tap_open(&fx->tap, TAP_NAME, &fx->loop, fx->sw), 0);
	/* Configuration is the user's (net_uplink.h): here, the test's. */
	assert_int_equal(system("ip addr add 10.9.0.1/24 dev " TAP_NAME " && "
				"ip link set " TAP_NAME " up"),
			 0);
	tap_mac_get(fx->tap_mac);
	return true;
}

static void tfx_close(struct tfx *fx)
{
	unsigned int i;

	vireo_net_tap_close(fx->tap);
	vireo_net_switch_remove_port(fx->sw, fx->peer);
	vireo_net_switch_free(fx->sw);
	vireo_event_loop_destroy(&fx->loop);
	for (i = 0; i < fx->num_frames; i++)
		free(fx->frames[i].data);
}

static void test_bad_names(void **state)
{
	struct event_loop loop;
	struct net_switch *sw;
	struct net_tap *tap = NULL;

	(void)state;
	assert_int_equal(vireo_event_loop_init(&loop), 0);
	assert_int_equal(vireo_net_switch_new(&sw), 0);
	assert_int_equal(vireo_net_tap_open(&tap, "", &loop, sw), -EINVAL);
	assert_int_equal(vireo_net_tap_open(&tap, "sixteen-chars-xx", &loop, sw), -EINVAL);
	assert_int_equal(vireo_net_tap_open(&tap, NULL, &loop, sw), -EINVAL);
	assert_null(tap);
	vireo_net_switch_free(sw);
	vireo_event_loop_destroy(&loop);
}

/* ping in the namespace, answered by the test on the switch side: ARP, then ICMP. */
static void test_ping(void **state)
{
	struct net_uplink_stats st;
	int64_t deadline;
	struct tfx fx;
	int status = -1;
	pid_t pid, parent, done = 0;

	if (!tfx_open(&fx, state))
		skip();
	parent = getpid();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		/* Killed (a timeout), the test leaves no ping behind; it may be gone already. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
			_exit(127);

		dup2(null, 1);
		dup2(null, 2);
		execlp("ping", "ping", "-c", "1", "-W", "2", "10.9.0.2", (char *)NULL);
		_exit(127);
	}
	for (deadline = now_ms() + WAIT_MS; done == 0 && now_ms() < deadline;) {
		tfx_pump(&fx, 10);
		done = waitpid(pid, &status, WNOHANG);
	}
	if (done == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("ping did not finish");
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(fx.echo_replies >= 1);
	vireo_net_tap_get_stats(fx.tap, &st);
	assert_true(st.from_host_frames >= 2); /* ARP request, echo request */
	assert_true(st.to_host_frames >= 2);   /* ARP reply, echo reply */
	assert_true(st.to_host_bytes >= 2u * 42u);
	assert_int_equal(st.dropped, 0);
	tfx_close(&fx);
}

static int bound_socket(int type, uint32_t ip, uint16_t *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(ip)};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* Pump until @fd has a datagram. Return: its length, or -1 after @ms. */
static ssize_t tfx_recv(struct tfx *fx, int fd, void *buf, size_t len, int ms)
{
	int64_t deadline = now_ms() + ms;
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, len, 0);
		if (n >= 0 || now_ms() > deadline)
			return n;
		tfx_pump(fx, 10);
	}
}

/*
 * Frames from the switch side reach a socket in the namespace: a complete
 * one, and one whose UDP checksum is partial (NEEDS_CSUM): the header must
 * reach the kernel, for the same frame without it fails the checksum.
 */
static void test_udp_into_namespace(void **state)
{
	struct tfx fx;
	struct uplink_l4 l4 = {.smac = peer_mac, .src = PEER_IP, .dst = TAP_IP, .sport = 7000};
	struct vireo_net_hdr_v1 vnet = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = ETH_IP_HLEN, .csum_offset = 6};
	uint8_t f[256], buf[16];
	uint8_t *udp = f + ETH_IP_HLEN;
	size_t len;
	int fd;

	if (!tfx_open(&fx, state))
		skip();
	fd = bound_socket(SOCK_DGRAM, TAP_IP, &l4.dport);
	l4.dmac = fx.tap_mac;
	peer_send(&fx, f, uplink_udp_frame(f, &l4, "full", 4));
	assert_int_equal(tfx_recv(&fx, fd, buf, sizeof(buf), WAIT_MS), 4);
	assert_memory_equal(buf, "full", 4);

	/* A partial checksum holds the pseudo-header sum only. */
	l4.no_csum = true;
	len = uplink_udp_frame(f, &l4, "part", 4);
	uplink_put_be16(udp + 6, uplink_csum_fold(uplink_pseudo_sum(PEER_IP, TAP_IP, 17, 12)));
	assert_int_not_equal(uplink_csum_fold(uplink_csum_add(
				     uplink_pseudo_sum(PEER_IP, TAP_IP, 17, 12), udp, 12)),
			     0xffff);
	peer_send(&fx, f, len); /* no header: a bad checksum, dropped by the kernel */
	assert_int_equal(tfx_recv(&fx, fd, buf, sizeof(buf), 300), -1);
	peer_send_hdr(&fx, f, len, &vnet);
	assert_int_equal(tfx_recv(&fx, fd, buf, sizeof(buf), WAIT_MS), 4);
	assert_memory_equal(buf, "part", 4);
	close(fd);
	tfx_close(&fx);
}

/* A header the kernel refuses (hdr_len beyond the frame): dropped and counted. */
static void test_refused_header_dropped(void **state)
{
	struct tfx fx;
	struct uplink_l4 l4 = {
		.smac = peer_mac, .src = PEER_IP, .dst = TAP_IP, .sport = 7000, .dport = 9};
	struct vireo_net_hdr_v1 vnet = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
					.hdr_len = 1000,
					.gso_size = 1460,
					.csum_start = ETH_IP_HLEN,
					.csum_offset = 16};
	struct net_uplink_stats before, after;
	uint8_t f[256];

	if (!tfx_open(&fx, state))
		skip();
	l4.dmac = fx.tap_mac;
	vireo_net_tap_get_stats(fx.tap, &before);
	peer_send_hdr(&fx, f, uplink_udp_frame(f, &l4, "x", 1), &vnet);
	vireo_net_tap_get_stats(fx.tap, &after);
	assert_int_equal(after.dropped, before.dropped + 1);
	assert_int_equal(after.to_host_frames, before.to_host_frames);
	tfx_close(&fx);
}

#define TCP_PORT 8080
#define PEER_ISN 5000u
#define STREAM_LEN 30000u
#define GSO_IN_LEN 4000u

struct tcp_match {
	uint8_t flags; /* exact flags, or 0 for "carries payload" */
	bool want_gso; /* gso_type TCPV4 */
};

static bool match_kernel_tcp(const struct frame *f, const void *ctx)
{
	const struct tcp_match *m = ctx;
	struct uplink_parsed p;

	if (!uplink_parse(f->data, f->len, &p) || p.type != NET_ETH_P_IPV4 || p.proto != 6 ||
	    p.src != TAP_IP || p.dst != PEER_IP || p.dport != TCP_PORT || p.l4_len < 20)
		return false;
	if (m->want_gso)
		return f->vnet.gso_type == VIRTIO_NET_HDR_GSO_TCPV4;
	return (p.l4[13] & 0x3f) == m->flags;
}

/*
 * §5.1.6.2 terms: NEEDS_CSUM means the field at csum_start + csum_offset
 * holds the pseudo-header sum; summing from csum_start to the end and storing
 * the complement must give a correct TCP checksum. Checked on a copy.
 */
static void assert_partial_csum_consistent(const struct frame *f)
{
	struct uplink_parsed p;
	uint8_t *copy = malloc(f->len);
	uint16_t sum;

	assert_non_null(copy);
	memcpy(copy, f->data, f->len);
	assert_true(uplink_parse(copy, f->len, &p));
	assert_true(f->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(f->vnet.csum_start, NET_ETH_HLEN + p.ihl); /* the TCP header */
	assert_int_equal(f->vnet.csum_offset, 16);		    /* its checksum field */
	assert_true(f->vnet.csum_start + f->vnet.csum_offset + 2u <= f->len);
	sum = uplink_csum_fold(
		uplink_csum_add(0, copy + f->vnet.csum_start, f->len - f->vnet.csum_start));
	uplink_put_be16(copy + f->vnet.csum_start + f->vnet.csum_offset, (uint16_t)~sum);
	assert_int_equal(uplink_csum_fold(uplink_csum_add(
				 uplink_pseudo_sum(p.src, p.dst, 6, p.l4_len), p.l4, p.l4_len)),
			 0xffff);
	free(copy);
}

/* The GSO metadata fits the frame: a TCPv4 stream cut at gso_size, more than one segment. */
static void assert_gso_consistent(const struct frame *f)
{
	struct uplink_parsed p;
	uint32_t thlen, payload;

	assert_true(uplink_parse(f->data, f->len, &p));
	assert_int_equal(NET_ETH_HLEN + p.ihl + p.l4_len, f->len); /* IP length = frame */
	thlen = (p.l4[12] >> 4) * 4u;
	assert_true(thlen >= 20 && thlen <= p.l4_len);
	payload = p.l4_len - thlen;
	assert_true(f->vnet.gso_size > 0 && f->vnet.gso_size <= 1460); /* our MSS */
	assert_true(payload > f->vnet.gso_size);
	assert_true(f->vnet.hdr_len <= f->len);
	assert_partial_csum_consistent(f);
}

/* Play the server side of the kernel's connect(): SYN -> SYN-ACK. Return: the kernel's ISN */
static uint32_t peer_accept(struct tfx *fx, int cfd, uint16_t *kport)
{
	struct tcp_match syn = {.flags = UPLINK_TCP_SYN};
	struct uplink_l4 l4 = {.dmac = fx->tap_mac,
			       .smac = peer_mac,
			       .src = PEER_IP,
			       .dst = TAP_IP,
			       .sport = TCP_PORT,
			       .seq = PEER_ISN,
			       .flags = UPLINK_TCP_SYN | UPLINK_TCP_ACK,
			       .win = 65535,
			       .mss = 1460};
	struct pollfd pfd = {.fd = cfd, .events = POLLOUT};
	const struct frame *f;
	struct uplink_parsed p;
	int64_t deadline;
	uint8_t buf[128];
	int idx;

	idx = tfx_wait_frame(fx, 0, match_kernel_tcp, &syn);
	assert_true(idx >= 0);
	f = &fx->frames[idx];
	assert_partial_csum_consistent(f); /* even the SYN: the tap does checksum offload */
	assert_int_equal(f->vnet.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	assert_true(uplink_parse(f->data, f->len, &p));
	*kport = p.sport;
	l4.dport = p.sport;
	l4.ack = uplink_get_be32(p.l4 + 4) + 1;
	peer_send(fx, buf, uplink_tcp_frame(buf, &l4, NULL, 0));
	for (deadline = now_ms() + WAIT_MS; poll(&pfd, 1, 0) == 0 && now_ms() < deadline;)
		tfx_pump(fx, 10);
	assert_true(pfd.revents & POLLOUT);
	return l4.ack - 1;
}

/* A TSO frame from the switch side: 4000 bytes in one frame, cut by the kernel. */
static void peer_send_gso(struct tfx *fx, uint16_t kport, uint32_t kernel_isn)
{
	struct uplink_l4 l4 = {.dmac = fx->tap_mac,
			       .smac = peer_mac,
			       .src = PEER_IP,
			       .dst = TAP_IP,
			       .sport = TCP_PORT,
			       .dport = kport,
			       .seq = PEER_ISN + 1,
			       .ack = kernel_isn + 1,
			       .flags = UPLINK_TCP_ACK | UPLINK_TCP_PSH,
			       .win = 65535};
	struct vireo_net_hdr_v1 vnet = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
					.hdr_len = ETH_IP_HLEN + 20,
					.gso_size = 1460,
					.csum_start = ETH_IP_HLEN,
					.csum_offset = 16};
	static uint8_t f[ETH_IP_HLEN + 20 + GSO_IN_LEN], data[GSO_IN_LEN];
	unsigned int i;
	size_t len;

	for (i = 0; i < GSO_IN_LEN; i++)
		data[i] = (uint8_t)(i * 7);
	len = uplink_tcp_frame(f, &l4, data, sizeof(data));
	uplink_put_be16(f + ETH_IP_HLEN + 16,
			uplink_csum_fold(uplink_pseudo_sum(PEER_IP, TAP_IP, 6, 20 + GSO_IN_LEN)));
	peer_send_hdr(fx, f, len, &vnet);
}

static void tfx_recv_stream(struct tfx *fx, int fd, uint8_t *buf, size_t len)
{
	int64_t deadline = now_ms() + WAIT_MS;
	size_t got = 0;
	ssize_t n;

	while (got < len && now_ms() < deadline) {
		n = recv(fd, buf + got, len - got, 0);
		if (n > 0)
			got += (size_t)n;
		else
			tfx_pump(fx, 10);
	}
	assert_int_equal(got, len);
}

/*
 * The kernel, told the tap takes TSO and partial checksums, sends a stream
 * as GSO frames whose metadata fits them; and takes one from us.
 */
static void test_tcp_offloads(void **state)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(TCP_PORT),
				.sin_addr.s_addr = htonl(PEER_IP)};
	struct tcp_match gso = {.want_gso = true};
	static uint8_t out[STREAM_LEN], in[GSO_IN_LEN];
	uint32_t kernel_isn;
	struct tfx fx;
	uint16_t kport;
	ssize_t n;
	size_t sent = 0;
	unsigned int i;
	int cfd, idx;

	if (!tfx_open(&fx, state))
		skip();
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(cfd >= 0);
	assert_true(connect(cfd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno == EINPROGRESS);
	kernel_isn = peer_accept(&fx, cfd, &kport);

	memset(out, 0x5a, sizeof(out));
	while (sent < sizeof(out) && (n = send(cfd, out + sent, sizeof(out) - sent, 0)) > 0)
		sent += (size_t)n;
	assert_true(sent > 2u * 1460u);
	idx = tfx_wait_frame(&fx, 0, match_kernel_tcp, &gso);
	assert_true(idx >= 0);
	assert_gso_consistent(&fx.frames[idx]);

	peer_send_gso(&fx, kport, kernel_isn);
	tfx_recv_stream(&fx, cfd, in, sizeof(in));
	for (i = 0; i < GSO_IN_LEN; i++)
		assert_int_equal(in[i], (uint8_t)(i * 7));
	close(cfd);
	tfx_close(&fx);
}

static int group_setup(void **state)
{
	struct env *env = calloc(1, sizeof(*env));

	if (!env)
		return -1;
	if (geteuid() != 0)
		snprintf(env->why, sizeof(env->why), "tap tests need root (CAP_NET_ADMIN)");
	else if (access("/dev/net/tun", R_OK | W_OK) != 0)
		snprintf(env->why, sizeof(env->why), "no /dev/net/tun");
	else if (system("command -v ip >/dev/null && command -v ping >/dev/null") != 0)
		snprintf(env->why, sizeof(env->why),
			 "ip or ping missing (Debian packages iproute2, iputils-ping)");
	else if (unshare(CLONE_NEWNET) < 0)
		snprintf(env->why, sizeof(env->why), "unshare(CLONE_NEWNET): %s", strerror(errno));
	else
		env->usable = true;
	*state = env;
	return 0;
}

static int group_teardown(void **state)
{
	free(*state);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_ping),
		cmocka_unit_test(test_udp_into_namespace),
		cmocka_unit_test(test_refused_header_dropped),
		cmocka_unit_test(test_tcp_offloads),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
