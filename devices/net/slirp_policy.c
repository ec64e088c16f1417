// SPDX-License-Identifier: MIT
/*
 * What the libslirp uplink lets through, and how a port forward is written.
 *
 * Policy "NAT to the host's loopback only": libslirp, unrestricted, would
 * open a host socket to any address a guest names. So every frame is looked
 * at before slirp_input(): ARP (address resolution with the virtual host),
 * DHCP requests (UDP 68->67 to the broadcast address, which libslirp answers
 * itself) and IPv4 to 10.0.2.2 (which libslirp maps to the host's 127.0.0.1)
 * pass. Everything else is refused: other IPv4 destinations, the DNS alias
 * 10.0.2.3 (it would forward to the host's resolver), subnet and limited
 * broadcasts other than DHCP (libslirp would send them on the host's
 * network), IPv6 and other ethertypes.
 */
#include <errno.h>
#include <string.h>

#include "slirp_internal.h"

#define IPV4_MIN_HLEN 20u
#define IPV4_PROTO_UDP 17u
#define IPV4_BROADCAST 0xffffffffu
#define IPV4_FRAG_MASK 0x3fffu /* MF and the fragment offset */
#define UDP_HLEN 8u
#define DHCP_CLIENT_PORT 68u
#define DHCP_SERVER_PORT 67u
#define ARP_IPV4_LEN 28u

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/*
 * A DHCP request before the guest has an address: broadcast, not a fragment
 * (a later fragment could carry any port), client port to server port.
 */
static bool ipv4_is_dhcp_request(const uint8_t *ip, uint32_t ihl, uint32_t tot_len)
{
	const uint8_t *udp = ip + ihl;

	if (ip[9] != IPV4_PROTO_UDP || get_be32(ip + 16) != IPV4_BROADCAST)
		return false;
	if ((get_be16(ip + 6) & IPV4_FRAG_MASK) != 0 || tot_len < ihl + UDP_HLEN)
		return false;
	return get_be16(udp) == DHCP_CLIENT_PORT && get_be16(udp + 2) == DHCP_SERVER_PORT;
}

static enum net_slirp_verdict ipv4_check(const uint8_t *ip, uint32_t len)
{
	uint32_t ihl, tot_len;

	if (len < IPV4_MIN_HLEN || (ip[0] >> 4) != 4)
		return NET_SLIRP_MALFORMED;
	ihl = (ip[0] & 0xfu) * 4u;
	tot_len = get_be16(ip + 2);
	/* Trailing bytes (Ethernet padding) are allowed, a short frame is not. */
	if (ihl < IPV4_MIN_HLEN || ihl > tot_len || tot_len > len)
		return NET_SLIRP_MALFORMED;
	if (get_be32(ip + 16) == NET_SLIRP_HOST)
		return NET_SLIRP_PASS;
	if (ipv4_is_dhcp_request(ip, ihl, tot_len))
		return NET_SLIRP_PASS;
	return NET_SLIRP_REFUSE;
}

enum net_slirp_verdict net_slirp_policy_check(const uint8_t *frame, uint32_t len)
{
	uint16_t type;

	if (len < NET_ETH_HLEN)
		return NET_SLIRP_MALFORMED;
	type = get_be16(frame + 12);
	if (type == NET_ETH_P_ARP)
		return len >= NET_ETH_HLEN + ARP_IPV4_LEN ? NET_SLIRP_PASS : NET_SLIRP_MALFORMED;
	if (type == NET_ETH_P_IPV4)
		return ipv4_check(frame + NET_ETH_HLEN, len - NET_ETH_HLEN);
	return NET_SLIRP_REFUSE;
}

/* A port: 1..5 decimal digits, 1..65535. Return: the end, or NULL. */
static const char *parse_port(const char *p, uint16_t *port)
{
	unsigned long v = 0;
	unsigned int digits = 0;

	while (*p >= '0' && *p <= '9' && digits < 6) {
		v = v * 10 + (unsigned long)(*p - '0');
		p++;
		digits++;
	}
	if (digits == 0 || digits > 5 || v == 0 || v > 65535)
		return NULL;
	*port = (uint16_t)v;
	return p;
}

static const char *skip_prefix(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

/* Return: 0, or -EINVAL for anything but "tcp:[127.0.0.1]:HOSTPORT-:GUESTPORT". */
int vireo_net_slirp_parse_forward(const char *spec, struct net_slirp_forward *fwd)
{
	struct net_slirp_forward f;
	const char *p;

	if (!spec || !fwd)
		return -EINVAL;
	p = skip_prefix(spec, "tcp:");
	if (!p)
		return -EINVAL;
	if (skip_prefix(p, "127.0.0.1:"))
		p = skip_prefix(p, "127.0.0.1:");
	else
		p = skip_prefix(p, ":");
	if (!p)
		return -EINVAL;
	p = parse_port(p, &f.host_port);
	if (!p)
		return -EINVAL;
	p = skip_prefix(p, "-:");
	if (!p)
		return -EINVAL;
	p = parse_port(p, &f.guest_port);
	if (!p || *p != '\0')
		return -EINVAL;
	*fwd = f;
	return 0;
}
