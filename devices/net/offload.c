// SPDX-License-Identifier: MIT
/*
 * Software offloads for ports that cannot take a frame as it is (virtio 1.2
 * §5.1.6.2): completing a partial checksum, and cutting a TCP GSO frame
 * into MSS-sized segments the way a NIC would (the model is the kernel's
 * tcp_gso_segment: headers copied per segment, lengths, IPv4 id, sequence
 * numbers, FIN/PSH on the last segment only, CWR on the first only).
 *
 * The frame comes from a guest and is hostile: every header is parsed from
 * the frame itself and bounds-checked before anything is emitted. hdr_len
 * is never used (D-NET-13: the device MUST NOT rely on it). The input is
 * never written: each output frame is built in the caller's scratch.
 *
 * Segments leave complete: vnet flags 0, gso NONE, IP and TCP checksums
 * computed in full, so any port takes them whatever its offloads.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <vireo/inet_csum.h>
#include <vireo/net_offload.h>

/*
 * A gso_type other than NONE, TCPV4 and TCPV6 (UDP, UDP_L4, unknown
 * values): vireo_net_offload_needed() reports this bit, which no port's offloads
 * can contain (it is outside NET_OFFLOAD_ALL), and deliver refuses such a
 * frame with -EINVAL, as we cannot segment it in software.
 */
#define NET_OFFLOAD_GSO_OTHER (1u << 31)

#define NET_IPPROTO_TCP 6u
#define NET_IPV4_HLEN 20u
#define NET_IPV6_HLEN 40u
#define NET_TCP_HLEN 20u
#define NET_TCP_CSUM_OFF 16u
#define NET_TCP_FIN 0x01u
#define NET_TCP_PSH 0x08u
#define NET_TCP_CWR 0x80u
#define NET_IPV4_MF 0x2000u
#define NET_IPV4_FRAG_OFF 0x1fffu

/* Where the headers of a TCP GSO frame are, as parsed from the frame. */
struct net_tso {
	uint32_t l3;	  /* IP header offset */
	uint32_t l4;	  /* TCP header offset */
	uint32_t hdr_len; /* bytes copied to every segment: Ethernet to TCP options */
	uint32_t payload; /* TCP payload bytes after hdr_len */
	uint32_t mss;
	bool ipv6;
};

static uint16_t net_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t net_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void net_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void net_put32(uint8_t *p, uint32_t v)
{
	net_put16(p, (uint16_t)(v >> 16));
	net_put16(p + 2, (uint16_t)v);
}

static unsigned int net_gso_type(const struct net_packet *pkt)
{
	return pkt->vnet.gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
}

uint32_t vireo_net_offload_needed(const struct net_packet *pkt, uint32_t offloads)
{
	uint32_t need = 0;

	if (pkt->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		need |= NET_OFFLOAD_CSUM;
	switch (net_gso_type(pkt)) {
	case VIRTIO_NET_HDR_GSO_NONE:
		break;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		need |= NET_OFFLOAD_TSO4;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		need |= NET_OFFLOAD_TSO6;
		break;
	default:
		need |= NET_OFFLOAD_GSO_OTHER;
		break;
	}
	return need & ~(offloads & NET_OFFLOAD_ALL);
}

/* §5.1.6.2: csum_start is inside the frame, and so is the 2-byte field after it. */
static bool net_offload_csum_fits(const struct net_packet *pkt)
{
	return inet_csum_partial_fits(le16_to_cpu(pkt->vnet.csum_start),
				      le16_to_cpu(pkt->vnet.csum_offset), pkt->len);
}

int vireo_net_offload_checksum(struct net_packet *pkt)
{
	if (!(pkt->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return 0;
	/* §5.1.6.2: the field holds the pseudo-header sum; vireo_inet_csum_complete() finishes it. */
	if (vireo_inet_csum_complete(pkt->data, pkt->len, le16_to_cpu(pkt->vnet.csum_start),
				     le16_to_cpu(pkt->vnet.csum_offset)) < 0)
		return -EINVAL;
	pkt->vnet.flags &= (uint8_t)~VIRTIO_NET_HDR_F_NEEDS_CSUM;
	return 0;
}

/* A copy of @pkt in @scratch with its checksum completed, then one @emit. */
static int net_offload_deliver_csum(const struct net_packet *pkt, uint8_t *scratch,
				    int (*emit)(void *opaque, const struct net_packet *pkt),
				    void *opaque)
{
	struct net_packet out = {.vnet = pkt->vnet, .data = scratch, .len = pkt->len};
	int ret;

	if (pkt->len > NET_OFFLOAD_SCRATCH)
		return -EINVAL;
	memcpy(scratch, pkt->data, pkt->len);
	ret = vireo_net_offload_checksum(&out);
	if (ret < 0)
		return ret;
	return emit(opaque, &out);
}

/* Ethernet, with at most one 802.1Q tag: sets t->l3. Return: the EtherType, or 0 if truncated. */
static uint16_t net_tso_parse_eth(const struct net_packet *pkt, struct net_tso *t)
{
	uint16_t type;

	if (pkt->len < NET_ETH_HLEN)
		return 0;
	type = net_get16(pkt->data + 12);
	t->l3 = NET_ETH_HLEN;
	if (type == NET_ETH_P_VLAN) {
		if (pkt->len < NET_ETH_HLEN + NET_VLAN_HLEN)
			return 0;
		type = net_get16(pkt->data + 16);
		t->l3 += NET_VLAN_HLEN;
	}
	return type;
}

/* IPv4 with TCP inside, not a fragment: sets t->l4. */
static int net_tso_parse_ipv4(const struct net_packet *pkt, struct net_tso *t)
{
	const uint8_t *ip = pkt->data + t->l3;
	uint32_t ihl;

	if (pkt->len - t->l3 < NET_IPV4_HLEN || ip[0] >> 4 != 4)
		return -EINVAL;
	ihl = (ip[0] & 0xfu) * 4u;
	if (ihl < NET_IPV4_HLEN || ihl > pkt->len - t->l3)
		return -EINVAL;
	if (ip[9] != NET_IPPROTO_TCP || (net_get16(ip + 6) & (NET_IPV4_MF | NET_IPV4_FRAG_OFF)))
		return -EINVAL;
	t->l4 = t->l3 + ihl;
	return 0;
}

/* IPv6 whose next header is TCP (extension headers are refused): sets t->l4. */
static int net_tso_parse_ipv6(const struct net_packet *pkt, struct net_tso *t)
{
	const uint8_t *ip = pkt->data + t->l3;

	if (pkt->len - t->l3 < NET_IPV6_HLEN || ip[0] >> 4 != 6 || ip[6] != NET_IPPROTO_TCP)
		return -EINVAL;
	t->l4 = t->l3 + NET_IPV6_HLEN;
	t->ipv6 = true;
	return 0;
}

/*
 * Parse a TCP GSO frame into @t, from the frame alone (D-NET-13), and check
 * that every segment it yields is a valid IP packet.
 * Return: 0, or -EINVAL for anything truncated, inconsistent or not TCP.
 */
static int net_tso_parse(const struct net_packet *pkt, struct net_tso *t)
{
	uint16_t type = net_tso_parse_eth(pkt, t);
	uint32_t doff, first, l3_max;
	int ret;

	if (net_gso_type(pkt) == VIRTIO_NET_HDR_GSO_TCPV4 && type == NET_ETH_P_IPV4)
		ret = net_tso_parse_ipv4(pkt, t);
	else if (net_gso_type(pkt) == VIRTIO_NET_HDR_GSO_TCPV6 && type == NET_ETH_P_IPV6)
		ret = net_tso_parse_ipv6(pkt, t);
	else
		ret = -EINVAL;
	if (ret < 0 || pkt->len - t->l4 < NET_TCP_HLEN)
		return -EINVAL;
	doff = (pkt->data[t->l4 + 12] >> 4) * 4u;
	if (doff < NET_TCP_HLEN || doff > pkt->len - t->l4)
		return -EINVAL;
	t->hdr_len = t->l4 + doff;
	t->payload = pkt->len - t->hdr_len;
	t->mss = le16_to_cpu(pkt->vnet.gso_size);
	if (t->mss < NET_TSO_MSS_MIN)
		return -EINVAL;
	/* the largest segment must fit the IP length field (total or payload) */
	first = t->payload < t->mss ? t->payload : t->mss;
	l3_max = t->hdr_len - t->l3 - (t->ipv6 ? NET_IPV6_HLEN : 0u) + first;
	return l3_max <= 0xffffu ? 0 : -EINVAL;
}

/* IPv4 total length, id and header checksum of segment @i (@ip in scratch). */
static void net_tso_fix_ipv4(const struct net_tso *t, uint8_t *ip, uint32_t i, uint32_t seg_len)
{
	uint32_t ihl = t->l4 - t->l3;

	net_put16(ip + 2, (uint16_t)(t->hdr_len - t->l3 + seg_len));
	net_put16(ip + 4, (uint16_t)(net_get16(ip + 4) + i));
	net_put16(ip + 10, 0);
	net_put16(ip + 10, (uint16_t)~vireo_inet_csum_fold(vireo_inet_csum_add(0, ip, ihl)));
}

/* The TCP checksum of a segment in @frame, in full over the pseudo-header. */
static void net_tso_fix_tcp_csum(const struct net_tso *t, uint8_t *frame, uint32_t seg_len)
{
	uint32_t tcp_len = t->hdr_len - t->l4 + seg_len;
	uint8_t *tcp = frame + t->l4;
	uint32_t sum;

	if (t->ipv6)
		sum = vireo_inet_csum_pseudo6(frame + t->l3 + 8, NET_IPPROTO_TCP, tcp_len);
	else
		sum = vireo_inet_csum_pseudo4(frame + t->l3 + 12, NET_IPPROTO_TCP, tcp_len);
	net_put16(tcp + NET_TCP_CSUM_OFF, 0);
	sum = vireo_inet_csum_add(sum, tcp, tcp_len);
	net_put16(tcp + NET_TCP_CSUM_OFF, (uint16_t)~vireo_inet_csum_fold(sum));
}

/*
 * Build segment @i of @nseg in @out->data: headers, payload slice, then
 * every length, id, sequence number, flag and checksum for that slice.
 */
static void net_tso_build(const struct net_packet *pkt, const struct net_tso *t, uint32_t i,
			  uint32_t nseg, struct net_packet *out)
{
	uint32_t off = i * t->mss;
	uint32_t seg_len = t->payload - off < t->mss ? t->payload - off : t->mss;
	uint8_t *tcp = out->data + t->l4;
	uint8_t flags;

	memcpy(out->data, pkt->data, t->hdr_len);
	memcpy(out->data + t->hdr_len, pkt->data + t->hdr_len + off, seg_len);
	out->len = t->hdr_len + seg_len;
	if (t->ipv6)
		net_put16(out->data + t->l3 + 4, (uint16_t)(t->hdr_len - t->l4 + seg_len));
	else
		net_tso_fix_ipv4(t, out->data + t->l3, i, seg_len);
	net_put32(tcp + 4, net_get32(tcp + 4) + off);
	flags = tcp[13];
	if (i + 1 < nseg)
		flags &= (uint8_t) ~(NET_TCP_FIN | NET_TCP_PSH);
	if (i > 0)
		flags &= (uint8_t)~NET_TCP_CWR;
	tcp[13] = flags;
	net_tso_fix_tcp_csum(t, out->data, seg_len);
}

/* Segment a TCP GSO frame: every check first, then one @emit per segment. */
static int net_offload_deliver_tso(const struct net_packet *pkt, uint8_t *scratch,
				   int (*emit)(void *opaque, const struct net_packet *pkt),
				   void *opaque)
{
	struct net_packet out = {.data = scratch};
	struct net_tso t = {0};
	uint32_t nseg;
	int ret = 0;

	/*
	 * The segments' checksums are computed afresh, but a partial checksum
	 * pointing outside the frame is as malformed here as for vireo_net_offload_checksum().
	 */
	if ((pkt->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !net_offload_csum_fits(pkt))
		return -EINVAL;
	if (pkt->len > NET_OFFLOAD_SCRATCH || net_tso_parse(pkt, &t) < 0)
		return -EINVAL;
	/* a frame whose payload fits one MSS (or is empty) is one segment */
	nseg = t.payload ? (t.payload + t.mss - 1) / t.mss : 1u;
	for (uint32_t i = 0; i < nseg; i++) {
		int r;

		net_tso_build(pkt, &t, i, nseg, &out);
		r = emit(opaque, &out);
		if (r < 0 && ret == 0)
			ret = r;
	}
	return ret;
}

int vireo_net_offload_deliver(const struct net_packet *pkt, uint32_t offloads, uint8_t *scratch,
			      int (*emit)(void *opaque, const struct net_packet *pkt), void *opaque)
{
	uint32_t need = vireo_net_offload_needed(pkt, offloads);

	if (need == 0)
		return emit(opaque, pkt);
	if (need & NET_OFFLOAD_GSO_OTHER)
		return -EINVAL;
	/*
	 * A GSO frame is segmented whenever the port lacks anything it needs:
	 * a port without CSUM cannot take partial checksums, and a GSO frame
	 * left whole would carry one for every segment.
	 */
	if (net_gso_type(pkt) != VIRTIO_NET_HDR_GSO_NONE)
		return net_offload_deliver_tso(pkt, scratch, emit, opaque);
	return net_offload_deliver_csum(pkt, scratch, emit, opaque);
}
