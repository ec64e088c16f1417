// SPDX-License-Identifier: MIT
/*
 * Test frame builders and a verifier (net_frames.h). Written from the RFCs
 * (791, 793, 768, 792, 826, 8200, 4443, 1071), independently of
 * devices/net, so the tests check the library against a second opinion.
 */
#include <errno.h>
#include <string.h>

#include "tests/lib/net_frames.h"

#define NF_IPV4_HLEN 20u
#define NF_IPV6_HLEN 40u
#define NF_TCP_HLEN 20u
#define NF_UDP_HLEN 8u
#define NF_ICMP_HLEN 8u
#define NF_ARP_LEN 28u
/* A frame shorter than this may carry padding after the IP packet (802.3 minimum, no FCS). */
#define NF_ETH_MIN 60u

static void nf_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void nf_put32(uint8_t *p, uint32_t v)
{
	nf_put16(p, (uint16_t)(v >> 16));
	nf_put16(p + 2, (uint16_t)v);
}

static uint16_t nf_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t nf_get32(const uint8_t *p)
{
	return (uint32_t)nf_get16(p) << 16 | nf_get16(p + 2);
}

uint32_t net_frames_sum(uint32_t sum, const uint8_t *p, size_t len)
{
	uint64_t acc = sum;

	while (len >= 2) {
		acc += (uint32_t)p[0] * 256u + p[1];
		p += 2;
		len -= 2;
	}
	if (len)
		acc += (uint32_t)p[0] * 256u;
	while (acc >> 32)
		acc = (acc & 0xffffffffu) + (acc >> 32);
	return (uint32_t)acc;
}

uint16_t net_frames_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)sum;
}

void net_frames_pattern(uint8_t *buf, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 131u + (i >> 8) * 7u + seed * 17u + 1u);
}

void net_flow_init(struct net_flow *f, bool ipv6)
{
	static const uint8_t v6_prefix[2] = {0xfd, 0x00};

	memset(f, 0, sizeof(*f));
	f->src_mac[0] = f->dst_mac[0] = 0x02;
	f->src_mac[5] = 1;
	f->dst_mac[5] = 2;
	f->ipv6 = ipv6;
	if (ipv6) {
		memcpy(f->src_ip, v6_prefix, 2);
		memcpy(f->dst_ip, v6_prefix, 2);
		f->src_ip[15] = 1;
		f->dst_ip[15] = 2;
	} else {
		memcpy(f->src_ip, (const uint8_t[4]){10, 0, 0, 1}, 4);
		memcpy(f->dst_ip, (const uint8_t[4]){10, 0, 0, 2}, 4);
	}
	f->ip_id = 0x1234;
	f->sport = 40000;
	f->dport = 80;
	f->seq = 1000;
	f->ack = 1;
	f->tcp_flags = NET_FRAMES_TCP_ACK | NET_FRAMES_TCP_PSH;
}

void net_flow_set_macs(struct net_flow *f, const uint8_t *src, const uint8_t *dst)
{
	memcpy(f->src_mac, src, NET_ETH_ALEN);
	memcpy(f->dst_mac, dst, NET_ETH_ALEN);
}

/* Ethernet header (and tag) for @type at @buf. Return: its length. */
static size_t nf_eth(const struct net_flow *f, uint16_t type, const uint8_t *dst, uint8_t *buf)
{
	size_t off = 2 * NET_ETH_ALEN;

	memcpy(buf, dst, NET_ETH_ALEN);
	memcpy(buf + NET_ETH_ALEN, f->src_mac, NET_ETH_ALEN);
	if (f->vlan_tci) {
		nf_put16(buf + off, NET_ETH_P_VLAN);
		nf_put16(buf + off + 2, f->vlan_tci);
		off += NET_VLAN_HLEN;
	}
	nf_put16(buf + off, type);
	return off + 2;
}

/* IPv4 or IPv6 header for @l4_len bytes of @proto. Return: its length. */
static size_t nf_ip(const struct net_flow *f, uint8_t proto, size_t l4_len, uint8_t *ip)
{
	if (f->ipv6) {
		memset(ip, 0, NF_IPV6_HLEN);
		ip[0] = 0x60;
		nf_put16(ip + 4, (uint16_t)l4_len);
		ip[6] = proto;
		ip[7] = 64;
		memcpy(ip + 8, f->src_ip, 16);
		memcpy(ip + 24, f->dst_ip, 16);
		return NF_IPV6_HLEN;
	}
	memset(ip, 0, NF_IPV4_HLEN);
	ip[0] = 0x45;
	nf_put16(ip + 2, (uint16_t)(NF_IPV4_HLEN + l4_len));
	nf_put16(ip + 4, f->ip_id);
	nf_put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, f->src_ip, 4);
	memcpy(ip + 16, f->dst_ip, 4);
	nf_put16(ip + 10, (uint16_t)~net_frames_fold(net_frames_sum(0, ip, NF_IPV4_HLEN)));
	return NF_IPV4_HLEN;
}

/* The pseudo-header sum of the IP header at @ip for @l4_len bytes of @proto. */
static uint32_t nf_pseudo(const uint8_t *ip, bool ipv6, uint8_t proto, size_t l4_len)
{
	uint32_t sum = ipv6 ? net_frames_sum(0, ip + 8, 32) : net_frames_sum(0, ip + 12, 8);

	sum = net_frames_sum(sum, (const uint8_t[4]){0, 0, 0, proto}, 4);
	return net_frames_sum(sum,
			      (const uint8_t[4]){(uint8_t)(l4_len >> 24), (uint8_t)(l4_len >> 16),
						 (uint8_t)(l4_len >> 8), (uint8_t)l4_len},
			      4);
}

/*
 * Ethernet + IP + the @l4h_len-byte L4 header @l4h + @payload, with the
 * checksum at @csum_off of the L4 header filled in (over the pseudo-header
 * unless @pseudo is false: ICMPv4).
 */
static size_t nf_build(const struct net_flow *f, uint8_t proto, const uint8_t *l4h, size_t l4h_len,
		       size_t csum_off, bool pseudo, const uint8_t *payload, size_t plen,
		       uint8_t *buf, size_t cap)
{
	size_t l4_len = l4h_len + plen;
	size_t iph = f->ipv6 ? NF_IPV6_HLEN : NF_IPV4_HLEN;
	size_t ethh = NET_ETH_HLEN + (f->vlan_tci ? NET_VLAN_HLEN : 0u);
	size_t l3, l4;
	uint32_t sum;

	/* the IP length field: IPv4 counts its header, IPv6 only the payload */
	if (l4_len + (f->ipv6 ? 0 : iph) > 0xffffu || cap < ethh + iph + l4_len)
		return 0;
	l3 = nf_eth(f, f->ipv6 ? NET_ETH_P_IPV6 : NET_ETH_P_IPV4, f->dst_mac, buf);
	l4 = l3 + nf_ip(f, proto, l4_len, buf + l3);
	memcpy(buf + l4, l4h, l4h_len);
	if (plen)
		memcpy(buf + l4 + l4h_len, payload, plen);
	nf_put16(buf + l4 + csum_off, 0);
	sum = pseudo ? nf_pseudo(buf + l3, f->ipv6, proto, l4_len) : 0;
	sum = (uint16_t)~net_frames_fold(net_frames_sum(sum, buf + l4, l4_len));
	/* RFC 768: a computed UDP checksum of 0 is sent as all ones */
	if (sum == 0 && proto == NET_FRAMES_PROTO_UDP)
		sum = 0xffffu;
	nf_put16(buf + l4 + csum_off, (uint16_t)sum);
	return l4 + l4_len;
}

size_t net_frame_tcp(const struct net_flow *f, const uint8_t *payload, size_t plen, uint8_t *buf,
		     size_t cap)
{
	uint8_t th[NF_TCP_HLEN + 40] = {0};
	size_t opt = f->tcp_opt_len;

	if (opt % 4 || opt > 40)
		return 0;
	nf_put16(th, f->sport);
	nf_put16(th + 2, f->dport);
	nf_put32(th + 4, f->seq);
	nf_put32(th + 8, f->ack);
	th[12] = (uint8_t)(((NF_TCP_HLEN + opt) / 4) << 4);
	th[13] = f->tcp_flags;
	nf_put16(th + 14, 65535);
	/* options: NOPs, then a zeroed 8-byte block shaped like a timestamp (kind 8, length 10) */
	memset(th + NF_TCP_HLEN, 1, opt);
	if (opt >= 12) {
		th[NF_TCP_HLEN + opt - 10] = 8;
		th[NF_TCP_HLEN + opt - 9] = 10;
		memset(th + NF_TCP_HLEN + opt - 8, 0, 8);
	}
	return nf_build(f, NET_FRAMES_PROTO_TCP, th, NF_TCP_HLEN + opt, 16, true, payload, plen,
			buf, cap);
}

size_t net_frame_udp(const struct net_flow *f, const uint8_t *payload, size_t plen, uint8_t *buf,
		     size_t cap)
{
	uint8_t uh[NF_UDP_HLEN] = {0};

	if (plen > 0xffffu - NF_UDP_HLEN)
		return 0;
	nf_put16(uh, f->sport);
	nf_put16(uh + 2, f->dport);
	nf_put16(uh + 4, (uint16_t)(NF_UDP_HLEN + plen));
	return nf_build(f, NET_FRAMES_PROTO_UDP, uh, NF_UDP_HLEN, 6, true, payload, plen, buf, cap);
}

size_t net_frame_icmp_echo(const struct net_flow *f, const uint8_t *payload, size_t plen,
			   uint8_t *buf, size_t cap)
{
	uint8_t ih[NF_ICMP_HLEN] = {0};

	ih[0] = f->ipv6 ? 128 : 8; /* ICMPv6 / ICMP echo request */
	nf_put16(ih + 4, f->sport);
	nf_put16(ih + 6, 1);
	return nf_build(f, f->ipv6 ? NET_FRAMES_PROTO_ICMPV6 : NET_FRAMES_PROTO_ICMP, ih,
			NF_ICMP_HLEN, 2, f->ipv6, payload, plen, buf, cap);
}

size_t net_frame_arp_request(const struct net_flow *f, uint8_t *buf, size_t cap)
{
	static const uint8_t bcast[NET_ETH_ALEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	size_t off;
	uint8_t *a;

	if (cap < NET_ETH_HLEN + (f->vlan_tci ? NET_VLAN_HLEN : 0u) + NF_ARP_LEN)
		return 0;
	off = nf_eth(f, NET_ETH_P_ARP, bcast, buf);
	a = buf + off;
	nf_put16(a, 1);		 /* Ethernet */
	nf_put16(a + 2, 0x0800); /* IPv4 */
	a[4] = NET_ETH_ALEN;
	a[5] = 4;
	nf_put16(a + 6, 1); /* request */
	memcpy(a + 8, f->src_mac, NET_ETH_ALEN);
	memcpy(a + 14, f->src_ip, 4);
	memset(a + 18, 0, NET_ETH_ALEN);
	memcpy(a + 24, f->dst_ip, 4);
	return off + NF_ARP_LEN;
}

int net_frame_make_partial(uint8_t *buf, size_t len, struct vireo_net_hdr_v1 *vnet)
{
	struct net_frame_info in;
	uint32_t csum_off;

	if (net_frame_verify(buf, len, &in) != 0)
		return -EINVAL;
	if (in.proto == NET_FRAMES_PROTO_TCP)
		csum_off = 16;
	else if (in.proto == NET_FRAMES_PROTO_UDP)
		csum_off = 6;
	else
		return -EINVAL;
	/* virtio 1.2 §5.1.6.2: the field holds the pseudo-header sum, uncomplemented */
	nf_put16(buf + in.l4_off + csum_off,
		 net_frames_fold(nf_pseudo(buf + in.l3_off, in.ipv6, in.proto, len - in.l4_off)));
	memset(vnet, 0, sizeof(*vnet));
	vnet->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vnet->csum_start = cpu_to_le16((uint16_t)in.l4_off);
	vnet->csum_offset = cpu_to_le16((uint16_t)csum_off);
	return 0;
}

size_t net_frame_tso(const struct net_flow *f, const uint8_t *payload, size_t plen, uint16_t mss,
		     uint8_t *buf, size_t cap, struct vireo_net_hdr_v1 *vnet)
{
	size_t len = net_frame_tcp(f, payload, plen, buf, cap);

	if (len == 0 || net_frame_make_partial(buf, len, vnet) != 0)
		return 0;
	vnet->gso_type = f->ipv6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	vnet->gso_size = cpu_to_le16(mss);
	vnet->hdr_len = cpu_to_le16((uint16_t)(len - plen));
	return len;
}

/* The L4 checksum of the frame described by @in, checked. Return: 0 or -EBADMSG. */
static int nf_verify_l4_csum(const uint8_t *buf, size_t len, const struct net_frame_info *in)
{
	size_t l4_len = len - in->l4_off;
	uint32_t sum = 0;

	if (in->proto == NET_FRAMES_PROTO_UDP && !in->ipv6 && in->l4_csum == 0)
		return 0; /* RFC 768: no checksum */
	if (in->proto != NET_FRAMES_PROTO_ICMP)
		sum = nf_pseudo(buf + in->l3_off, in->ipv6, in->proto, l4_len);
	sum = net_frames_sum(sum, buf + in->l4_off, l4_len);
	return net_frames_fold(sum) == 0xffffu ? 0 : -EBADMSG;
}

/* TCP, UDP, ICMP or ICMPv6 after the IP header; other protocols only parse. */
static int nf_verify_l4(const uint8_t *buf, size_t len, struct net_frame_info *in)
{
	const uint8_t *l4 = buf + in->l4_off;
	size_t l4_len = len - in->l4_off, hlen;

	switch (in->proto) {
	case NET_FRAMES_PROTO_TCP:
		if (l4_len < NF_TCP_HLEN || (hlen = (l4[12] >> 4) * 4u) < NF_TCP_HLEN ||
		    hlen > l4_len)
			return -EINVAL;
		in->seq = nf_get32(l4 + 4);
		in->tcp_flags = l4[13];
		in->l4_csum = nf_get16(l4 + 16);
		break;
	case NET_FRAMES_PROTO_UDP:
		if (l4_len < NF_UDP_HLEN || nf_get16(l4 + 4) != l4_len)
			return -EINVAL;
		hlen = NF_UDP_HLEN;
		in->l4_csum = nf_get16(l4 + 6);
		break;
	case NET_FRAMES_PROTO_ICMP:
	case NET_FRAMES_PROTO_ICMPV6:
		if (l4_len < NF_ICMP_HLEN)
			return -EINVAL;
		hlen = NF_ICMP_HLEN;
		in->l4_csum = nf_get16(l4 + 2);
		break;
	default:
		in->payload_off = in->l4_off;
		in->payload_len = (uint32_t)l4_len;
		return 0;
	}
	in->payload_off = in->l4_off + (uint32_t)hlen;
	in->payload_len = (uint32_t)(l4_len - hlen);
	return nf_verify_l4_csum(buf, len, in);
}

/* The IP header at in->l3_off; *@len becomes the end of the IP packet (padding cut). */
static int nf_verify_ip(const uint8_t *buf, size_t *len, struct net_frame_info *in)
{
	const uint8_t *ip = buf + in->l3_off;
	size_t avail = *len - in->l3_off, hlen, iplen;

	if (in->ipv6) {
		if (avail < NF_IPV6_HLEN || ip[0] >> 4 != 6)
			return -EINVAL;
		hlen = NF_IPV6_HLEN;
		iplen = NF_IPV6_HLEN + nf_get16(ip + 4);
		in->proto = ip[6];
	} else {
		if (avail < NF_IPV4_HLEN || ip[0] >> 4 != 4 || (hlen = (ip[0] & 15u) * 4u) < 20 ||
		    hlen > avail)
			return -EINVAL;
		if (net_frames_fold(net_frames_sum(0, ip, hlen)) != 0xffffu)
			return -EBADMSG;
		iplen = nf_get16(ip + 2);
		in->proto = ip[9];
		in->ip_id = nf_get16(ip + 4);
	}
	/* the IP length is the frame's, up to padding of a minimum-size frame */
	if (iplen < hlen || iplen > avail || (iplen<avail && * len> NF_ETH_MIN + NET_VLAN_HLEN))
		return -EINVAL;
	*len = in->l3_off + iplen;
	in->l4_off = in->l3_off + (uint32_t)hlen;
	return 0;
}

int net_frame_verify(const uint8_t *buf, size_t len, struct net_frame_info *info)
{
	struct net_frame_info in = {0};
	int ret;

	if (len < NET_ETH_HLEN)
		return -EINVAL;
	in.ethertype = nf_get16(buf + 12);
	in.l3_off = NET_ETH_HLEN;
	if (in.ethertype == NET_ETH_P_VLAN) {
		if (len < NET_ETH_HLEN + NET_VLAN_HLEN)
			return -EINVAL;
		in.vlan = true;
		in.vlan_tci = nf_get16(buf + 14);
		in.ethertype = nf_get16(buf + 16);
		in.l3_off += NET_VLAN_HLEN;
	}
	if (in.ethertype == NET_ETH_P_IPV4 || in.ethertype == NET_ETH_P_IPV6) {
		in.ipv6 = in.ethertype == NET_ETH_P_IPV6;
		ret = nf_verify_ip(buf, &len, &in);
		if (ret == 0)
			ret = nf_verify_l4(buf, len, &in);
	} else if (in.ethertype == NET_ETH_P_ARP) {
		ret = len - in.l3_off >= NF_ARP_LEN ? 0 : -EINVAL;
	} else {
		ret = 0;
	}
	if (ret == 0 && info)
		*info = in;
	return ret;
}
