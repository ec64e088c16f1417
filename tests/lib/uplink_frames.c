// SPDX-License-Identifier: MIT
/* Frame builders and parsers for the uplink tests (see uplink_frames.h). */
#include <string.h>

#include <vireo/net_packet.h>

#include "tests/lib/uplink_frames.h"

uint16_t uplink_get_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

uint32_t uplink_get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

void uplink_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void uplink_put_be32(uint8_t *p, uint32_t v)
{
	uplink_put_be16(p, (uint16_t)(v >> 16));
	uplink_put_be16(p + 2, (uint16_t)v);
}

uint32_t uplink_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += uplink_get_be16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

uint16_t uplink_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint32_t uplink_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint32_t l4_len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + l4_len;
}

static size_t uplink_eth(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	uplink_put_be16(f + 12, type);
	return NET_ETH_HLEN;
}

size_t uplink_arp_frame(uint8_t *f, uint16_t op, const uint8_t *smac, uint32_t sip,
			const uint8_t *tmac, uint32_t tip)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	static const uint8_t zero[6];
	uint8_t *a = f + NET_ETH_HLEN;

	uplink_eth(f, op == 1 ? bcast : tmac, smac, NET_ETH_P_ARP);
	uplink_put_be16(a, 1); /* Ethernet */
	uplink_put_be16(a + 2, NET_ETH_P_IPV4);
	a[4] = 6;
	a[5] = 4;
	uplink_put_be16(a + 6, op);
	memcpy(a + 8, smac, 6);
	uplink_put_be32(a + 14, sip);
	memcpy(a + 18, op == 1 ? zero : tmac, 6);
	uplink_put_be32(a + 24, tip);
	return NET_ETH_HLEN + 28;
}

size_t uplink_ipv4_header(uint8_t *ip, uint32_t src, uint32_t dst, uint8_t proto,
			  size_t payload_len)
{
	memset(ip, 0, 20);
	ip[0] = 0x45;
	uplink_put_be16(ip + 2, (uint16_t)(20 + payload_len));
	uplink_put_be16(ip + 4, 0x1234);
	uplink_put_be16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = proto;
	uplink_put_be32(ip + 12, src);
	uplink_put_be32(ip + 16, dst);
	uplink_put_be16(ip + 10, (uint16_t)~uplink_csum_fold(uplink_csum_add(0, ip, 20)));
	return 20;
}

size_t uplink_udp_frame(uint8_t *f, const struct uplink_l4 *l4, const void *payload, size_t len)
{
	uint8_t *ip = f + NET_ETH_HLEN, *udp = ip + 20;
	uint16_t sum;

	uplink_eth(f, l4->dmac, l4->smac, NET_ETH_P_IPV4);
	uplink_ipv4_header(ip, l4->src, l4->dst, 17, 8 + len);
	uplink_put_be16(udp, l4->sport);
	uplink_put_be16(udp + 2, l4->dport);
	uplink_put_be16(udp + 4, (uint16_t)(8 + len));
	uplink_put_be16(udp + 6, 0);
	if (len)
		memcpy(udp + 8, payload, len);
	if (!l4->no_csum) {
		sum = (uint16_t)~uplink_csum_fold(uplink_csum_add(
			uplink_pseudo_sum(l4->src, l4->dst, 17, (uint32_t)(8 + len)), udp,
			8 + len));
		uplink_put_be16(udp + 6, sum ? sum : 0xffff);
	}
	return NET_ETH_HLEN + 20 + 8 + len;
}

size_t uplink_tcp_frame(uint8_t *f, const struct uplink_l4 *l4, const void *payload, size_t len)
{
	uint8_t *ip = f + NET_ETH_HLEN, *tcp = ip + 20;
	size_t hlen = l4->mss ? 24 : 20;
	uint32_t sum;

	uplink_eth(f, l4->dmac, l4->smac, NET_ETH_P_IPV4);
	uplink_ipv4_header(ip, l4->src, l4->dst, 6, hlen + len);
	memset(tcp, 0, hlen);
	uplink_put_be16(tcp, l4->sport);
	uplink_put_be16(tcp + 2, l4->dport);
	uplink_put_be32(tcp + 4, l4->seq);
	uplink_put_be32(tcp + 8, l4->ack);
	tcp[12] = (uint8_t)((hlen / 4) << 4);
	tcp[13] = l4->flags;
	uplink_put_be16(tcp + 14, l4->win);
	if (l4->mss) {
		tcp[20] = 2;
		tcp[21] = 4;
		uplink_put_be16(tcp + 22, l4->mss);
	}
	if (len)
		memcpy(tcp + hlen, payload, len);
	sum = uplink_pseudo_sum(l4->src, l4->dst, 6, (uint32_t)(hlen + len));
	uplink_put_be16(tcp + 16,
			(uint16_t)~uplink_csum_fold(uplink_csum_add(sum, tcp, hlen + len)));
	return NET_ETH_HLEN + 20 + hlen + len;
}

bool uplink_parse(const uint8_t *f, uint32_t len, struct uplink_parsed *p)
{
	uint32_t tot;

	memset(p, 0, sizeof(*p));
	if (len < NET_ETH_HLEN)
		return false;
	p->type = uplink_get_be16(f + 12);
	if (p->type != NET_ETH_P_IPV4)
		return true;
	p->ip = f + NET_ETH_HLEN;
	if (len < NET_ETH_HLEN + 20 || (p->ip[0] >> 4) != 4)
		return false;
	p->ihl = (p->ip[0] & 0xfu) * 4u;
	tot = uplink_get_be16(p->ip + 2);
	if (p->ihl < 20 || tot < p->ihl || tot > len - NET_ETH_HLEN)
		return false;
	p->src = uplink_get_be32(p->ip + 12);
	p->dst = uplink_get_be32(p->ip + 16);
	p->proto = p->ip[9];
	p->l4 = p->ip + p->ihl;
	p->l4_len = tot - p->ihl;
	if ((p->proto == 6 || p->proto == 17) && p->l4_len >= 4) {
		p->sport = uplink_get_be16(p->l4);
		p->dport = uplink_get_be16(p->l4 + 2);
	}
	return true;
}
