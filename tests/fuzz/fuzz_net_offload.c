// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the software offloads (devices/net/offload.c): the
 * input is a hostile guest's transmit, a virtio-net header and a frame.
 * The frame sits in an exact-size allocation, so ASan sees any overread;
 * vireo_net_offload_deliver() runs once for each of the 8 offload sets a port
 * can take.
 *
 * Oracles, from a second, separate reading of the rules: which frames are
 * malformed (-EINVAL, nothing emitted) and which are not; a frame needing
 * nothing passes as is; a checksummed copy differs from the input only in
 * its checksum field and its sum is right; every segment has the input's
 * headers with the lengths, id, sequence number, flags and checksums
 * fixed up, and the payload slice it should carry. The input is never
 * written, no output exceeds NET_FRAME_MAX, every emit happens even when
 * one fails.
 *
 * Input layout:
 *   0..11  struct vireo_net_hdr_v1 (little-endian)
 *   12     bit 3: emit number (bits 4..7) fails with -ENOBUFS
 *   13..   the frame (at most NET_FRAME_MAX + 8 bytes are used)
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/net_offload.h>

#include "tests/fuzz/fuzz_check.h"

#define FUZZ_HDR 13u
#define FUZZ_NONE 0xffffffffu

/* The TCP GSO frame's layout, as this file reads it. */
struct fz_tso {
	uint32_t l3, l4, hdr_len, payload, mss, nseg;
	bool v6;
};

struct fz_ctx {
	const struct net_packet *in;
	const uint8_t *scratch;
	enum { FZ_AS_IS, FZ_CSUM, FZ_TSO } mode;
	struct fz_tso t;
	uint32_t n;	  /* emits so far */
	uint32_t fail_at; /* FUZZ_NONE or the emit that fails */
};

static uint32_t fz_be(const uint8_t *p, unsigned int n)
{
	uint32_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

/* RFC 1071 sum of @len bytes starting at an even offset of the summed range. */
static uint32_t fz_sum(uint32_t s, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		s += i % 2 ? p[i] : (uint32_t)p[i] << 8;
	return s;
}

static uint16_t fz_fold(uint32_t s)
{
	while (s > 0xffffu)
		s = (s & 0xffffu) + (s >> 16);
	return (uint16_t)s;
}

/* The rules of a TCP GSO frame the offloads can cut (see offload.c's header). */
static bool fz_tso_parse(const struct net_packet *pkt, struct fz_tso *t)
{
	unsigned int g = pkt->vnet.gso_type & 0x7fu;
	const uint8_t *d = pkt->data;
	uint32_t len = pkt->len, type, iph, doff, first;

	if (len < 14)
		return false;
	t->l3 = 14;
	type = fz_be(d + 12, 2);
	if (type == 0x8100) {
		if (len < 18)
			return false;
		t->l3 = 18;
		type = fz_be(d + 16, 2);
	}
	t->v6 = g == 4;
	if ((g == 1 && type != 0x0800) || (g == 4 && type != 0x86dd) || (g != 1 && g != 4))
		return false;
	if (t->v6) {
		if (len < t->l3 + 40 || d[t->l3] >> 4 != 6 || d[t->l3 + 6] != 6)
			return false;
		iph = 40;
	} else {
		if (len < t->l3 + 20)
			return false;
		iph = (d[t->l3] & 15u) * 4u;
		if (d[t->l3] >> 4 != 4 || iph < 20 || len < t->l3 + iph || d[t->l3 + 9] != 6 ||
		    (fz_be(d + t->l3 + 6, 2) & 0x3fffu) != 0)
			return false;
	}
	t->l4 = t->l3 + iph;
	if (len < t->l4 + 20 || (doff = (d[t->l4 + 12] >> 4) * 4u) < 20 || len < t->l4 + doff)
		return false;
	t->hdr_len = t->l4 + doff;
	t->payload = len - t->hdr_len;
	t->mss = pkt->vnet.gso_size;
	if (t->mss < NET_TSO_MSS_MIN)
		return false;
	first = t->payload < t->mss ? t->payload : t->mss;
	t->nseg = t->payload ? (t->payload + t->mss - 1) / t->mss : 1;
	return t->hdr_len - t->l3 - (t->v6 ? 40u : 0u) + first <= 0xffffu;
}

static bool fz_csum_fits(const struct net_packet *pkt)
{
	return (uint32_t)pkt->vnet.csum_start + pkt->vnet.csum_offset + 2u <= pkt->len;
}

/* A completed checksum: only the field changed, and pseudo + sum(range) is all ones. */
static void fz_check_csum(const struct fz_ctx *c, const struct net_packet *out)
{
	const struct net_packet *in = c->in;
	uint32_t start = in->vnet.csum_start, field = start + in->vnet.csum_offset;

	FUZZ_CHECK(out->len == in->len);
	FUZZ_CHECK(!(out->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM));
	FUZZ_CHECK(memcmp(out->data, in->data, field) == 0);
	FUZZ_CHECK(memcmp(out->data + field + 2, in->data + field + 2, in->len - field - 2) == 0);
	/* an odd csum_offset puts the field across words: the sum rule needs it even */
	if (in->vnet.csum_offset % 2 == 0)
		FUZZ_CHECK(fz_fold(fz_sum(fz_be(in->data + field, 2), out->data + start,
					  out->len - start)) == 0xffffu);
}

/* IPv4 or IPv6 header of segment @i, against the input's. */
static void fz_check_ip(const struct fz_ctx *c, const uint8_t *o, uint32_t i, uint32_t seg)
{
	const struct fz_tso *t = &c->t;
	const uint8_t *ip = c->in->data + t->l3;

	o += t->l3;
	if (t->v6) {
		FUZZ_CHECK(memcmp(o, ip, 4) == 0 && memcmp(o + 6, ip + 6, 34) == 0);
		FUZZ_CHECK(fz_be(o + 4, 2) == t->hdr_len - t->l4 + seg);
		return;
	}
	FUZZ_CHECK(memcmp(o, ip, 2) == 0 && memcmp(o + 6, ip + 6, 4) == 0);
	FUZZ_CHECK(memcmp(o + 12, ip + 12, t->l4 - t->l3 - 12) == 0);
	FUZZ_CHECK(fz_be(o + 2, 2) == t->hdr_len - t->l3 + seg);
	FUZZ_CHECK(fz_be(o + 4, 2) == ((fz_be(ip + 4, 2) + i) & 0xffffu));
	FUZZ_CHECK(fz_fold(fz_sum(0, o, t->l4 - t->l3)) == 0xffffu);
}

/* Segment @i: headers, payload slice, sequence number, flags, TCP checksum. */
static void fz_check_segment(const struct fz_ctx *c, const struct net_packet *out, uint32_t i)
{
	static const struct vireo_net_hdr_v1 zero;
	const struct fz_tso *t = &c->t;
	const uint8_t *in = c->in->data, *th = out->data + t->l4, *ith = in + t->l4;
	uint32_t off = i * t->mss, seg = t->payload - off < t->mss ? t->payload - off : t->mss;
	uint32_t tcp_len = t->hdr_len - t->l4 + seg, sum;
	uint8_t flags = ith[13];

	FUZZ_CHECK(i < t->nseg);
	FUZZ_CHECK(out->len == t->hdr_len + seg);
	FUZZ_CHECK(memcmp(&out->vnet, &zero, sizeof(zero)) == 0);
	FUZZ_CHECK(memcmp(out->data, in, t->l3) == 0);
	FUZZ_CHECK(memcmp(out->data + t->hdr_len, in + t->hdr_len + off, seg) == 0);
	fz_check_ip(c, out->data, i, seg);
	FUZZ_CHECK(memcmp(th, ith, 4) == 0 && memcmp(th + 8, ith + 8, 5) == 0);
	FUZZ_CHECK(memcmp(th + 14, ith + 14, 2) == 0);
	FUZZ_CHECK(memcmp(th + 18, ith + 18, t->hdr_len - t->l4 - 18) == 0);
	FUZZ_CHECK(fz_be(th + 4, 4) == fz_be(ith + 4, 4) + off);
	if (i + 1 < t->nseg)
		flags &= (uint8_t)~0x09u; /* FIN, PSH */
	if (i > 0)
		flags &= (uint8_t)~0x80u; /* CWR */
	FUZZ_CHECK(th[13] == flags);
	sum = t->v6 ? fz_sum(0, out->data + t->l3 + 8, 32) : fz_sum(0, out->data + t->l3 + 12, 8);
	sum += 6u + tcp_len;
	FUZZ_CHECK(fz_fold(fz_sum(sum, th, tcp_len)) == 0xffffu);
}

static int fz_emit(void *opaque, const struct net_packet *pkt)
{
	struct fz_ctx *c = opaque;
	uint32_t i = c->n++;

	FUZZ_CHECK(pkt->len <= NET_FRAME_MAX);
	if (c->mode == FZ_AS_IS) {
		FUZZ_CHECK(i == 0 && pkt == c->in);
	} else {
		FUZZ_CHECK(pkt->data == c->scratch);
		if (c->mode == FZ_CSUM)
			fz_check_csum(c, pkt);
		else
			fz_check_segment(c, pkt, i);
	}
	return i == c->fail_at ? -ENOBUFS : 0;
}

/* What deliver must do for @pkt at a port with @offloads. Return: the emits, or -EINVAL. */
static int fz_expect(struct fz_ctx *c, uint32_t offloads)
{
	const struct net_packet *pkt = c->in;
	unsigned int g = pkt->vnet.gso_type & 0x7fu;
	bool csum = pkt->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
	bool fine = (!csum || offloads & NET_OFFLOAD_CSUM) &&
		    (g == 0 || (g == 1 && offloads & NET_OFFLOAD_TSO4) ||
		     (g == 4 && offloads & NET_OFFLOAD_TSO6));

	if (fine) {
		c->mode = FZ_AS_IS;
		return 1;
	}
	c->mode = g == 0 ? FZ_CSUM : FZ_TSO;
	if ((csum && !fz_csum_fits(pkt)) || pkt->len > NET_FRAME_MAX)
		return -EINVAL;
	if (g == 0)
		return 1;
	if (!fz_tso_parse(pkt, &c->t))
		return -EINVAL;
	return (int)c->t.nseg;
}

static void fz_run(const struct net_packet *pkt, uint32_t offloads, uint32_t fail_at,
		   uint8_t *scratch, const uint8_t *orig)
{
	struct fz_ctx c = {.in = pkt, .scratch = scratch, .fail_at = fail_at};
	struct vireo_net_hdr_v1 vnet = pkt->vnet;
	int want = fz_expect(&c, offloads), ret;

	FUZZ_CHECK((vireo_net_offload_needed(pkt, offloads) == 0) == (c.mode == FZ_AS_IS));
	ret = vireo_net_offload_deliver(pkt, offloads, scratch, fz_emit, &c);
	FUZZ_CHECK(memcmp(pkt->data, orig, pkt->len) == 0);
	FUZZ_CHECK(memcmp(&pkt->vnet, &vnet, sizeof(vnet)) == 0);
	if (want < 0) {
		FUZZ_CHECK(ret == -EINVAL && c.n == 0);
		return;
	}
	FUZZ_CHECK(c.n == (uint32_t)want);
	FUZZ_CHECK(ret == (fail_at < (uint32_t)want ? -ENOBUFS : 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_packet pkt = {0};
	uint8_t *scratch;
	uint32_t fail_at;

	if (size < FUZZ_HDR)
		return 0;
	memcpy(&pkt.vnet, data, sizeof(pkt.vnet));
	fail_at = data[12] & 8u ? data[12] >> 4 : FUZZ_NONE;
	size -= FUZZ_HDR;
	if (size > NET_FRAME_MAX + 8u)
		size = NET_FRAME_MAX + 8u;
	pkt.len = (uint32_t)size;
	pkt.data = malloc(size ? size : 1); /* exact size: ASan sees any overread */
	scratch = malloc(NET_OFFLOAD_SCRATCH);
	FUZZ_CHECK(pkt.data && scratch);
	memcpy(pkt.data, data + FUZZ_HDR, size);
	for (uint32_t off = 0; off <= NET_OFFLOAD_ALL; off++)
		fz_run(&pkt, off, fail_at, scratch, data + FUZZ_HDR);
	free(pkt.data);
	free(scratch);
	return 0;
}
