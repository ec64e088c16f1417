// SPDX-License-Identifier: MIT
/*
 * The virtio-net header checks (virtio 1.2 §5.1.6): what a driver may put in
 * a transmitted frame's header under the negotiated features, and what may
 * go into its receive buffers. Pure functions over a private copy of the
 * header: the guest cannot change what was checked.
 */
#include <vireo/inet_csum.h>
#include <vireo/net_packet.h>

#include "devices/net/net_internal.h"

/* The largest frame without segmentation: MTU plus Ethernet and one VLAN tag. */
static uint32_t net_plain_max(uint16_t mtu)
{
	return (uint32_t)mtu + NET_ETH_HLEN + NET_VLAN_HLEN;
}

static bool net_acked(uint64_t acked, unsigned int bit)
{
	return (acked & VIRTIO_BIT(bit)) != 0;
}

/* Return: -1, or TX_BAD_GSO for a GSO request the driver may not make. */
static int net_check_tx_gso(const struct vireo_net_hdr_v1 *hdr, uint64_t acked)
{
	unsigned int type = hdr->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

	/* drv:NET/Packet Transmission: MUST NOT use a type whose HOST_* was not negotiated. */
	if (type == VIRTIO_NET_HDR_GSO_TCPV4 && !net_acked(acked, VIRTIO_NET_F_HOST_TSO4))
		return NET_DROP_TX_BAD_GSO;
	if (type == VIRTIO_NET_HDR_GSO_TCPV6 && !net_acked(acked, VIRTIO_NET_F_HOST_TSO6))
		return NET_DROP_TX_BAD_GSO;
	if (type != VIRTIO_NET_HDR_GSO_TCPV4 && type != VIRTIO_NET_HDR_GSO_TCPV6)
		return NET_DROP_TX_BAD_GSO; /* UDP, UDP_L4: never offered */
	if ((hdr->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !net_acked(acked, VIRTIO_NET_F_HOST_ECN))
		return NET_DROP_TX_BAD_GSO;
	/*
	 * Same rule: a GSO frame MUST also carry NEEDS_CSUM and an MSS; one no TCP stack
	 * sends (below NET_TSO_MSS_MIN) would make a port without TSO take ~65000 segments.
	 */
	if (!(hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) ||
	    le16_to_cpu(hdr->gso_size) < NET_TSO_MSS_MIN)
		return NET_DROP_TX_BAD_GSO;
	return -1;
}

int net_hdr_check_tx(struct vireo_net_hdr_v1 *hdr, uint32_t frame_len, uint64_t acked, uint16_t mtu)
{
	bool gso;

	/* D-NET-10: flag bits we do not act on are ignored; DATA_VALID/RSC_INFO mean nothing here. */
	hdr->flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM;
	hdr->num_buffers = 0;
	if (frame_len < NET_ETH_HLEN)
		return NET_DROP_TX_RUNT;
	if (frame_len > NET_FRAME_MAX)
		return NET_DROP_TX_OVERSIZE;
	/* §5.1.6.2: gso_type ECN alone still describes a frame sent as it is. */
	gso = (hdr->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE;
	if (!gso)
		hdr->gso_type = VIRTIO_NET_HDR_GSO_NONE;
	if (gso && net_check_tx_gso(hdr, acked) >= 0)
		return NET_DROP_TX_BAD_GSO;
	if (hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		/* drv:NET/Packet Transmission: without CSUM, flags MUST be 0. */
		if (!net_acked(acked, VIRTIO_NET_F_CSUM) ||
		    !inet_csum_partial_fits(le16_to_cpu(hdr->csum_start),
					    le16_to_cpu(hdr->csum_offset), frame_len))
			return NET_DROP_TX_BAD_CSUM;
	}
	/* D-NET-05 and the driver's MUST NOT: nothing above MTU plus headers without GSO. */
	if (!gso && frame_len > net_plain_max(mtu))
		return NET_DROP_TX_OVERSIZE;
	/* D-NET-13: hdr_len is a hint we do not use; the switch derives headers itself. */
	return -1;
}

int net_hdr_check_rx(const struct net_packet *pkt, uint64_t acked, uint16_t mtu)
{
	unsigned int type = pkt->vnet.gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

	if (pkt->len < NET_ETH_HLEN || pkt->len > NET_FRAME_MAX)
		return NET_DROP_RX_OVERSIZE;
	/* D-NET-26: without GUEST_CSUM, flags stay 0 (the caller clears DATA_VALID). */
	if ((pkt->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    !net_acked(acked, VIRTIO_NET_F_GUEST_CSUM))
		return NET_DROP_RX_OFFLOAD;
	if (type == VIRTIO_NET_HDR_GSO_NONE) {
		/* D-NET-04: nothing above mtu + headers without GSO, once MTU is negotiated. */
		if (net_acked(acked, VIRTIO_NET_F_MTU) && pkt->len > net_plain_max(mtu))
			return NET_DROP_RX_OVERSIZE;
		return -1;
	}
	/* D-NET-27..30, 33: only the GSO types (and ECN) the driver asked for. */
	if (type == VIRTIO_NET_HDR_GSO_TCPV4 && !net_acked(acked, VIRTIO_NET_F_GUEST_TSO4))
		return NET_DROP_RX_OFFLOAD;
	if (type == VIRTIO_NET_HDR_GSO_TCPV6 && !net_acked(acked, VIRTIO_NET_F_GUEST_TSO6))
		return NET_DROP_RX_OFFLOAD;
	if (type != VIRTIO_NET_HDR_GSO_TCPV4 && type != VIRTIO_NET_HDR_GSO_TCPV6)
		return NET_DROP_RX_OFFLOAD;
	if ((pkt->vnet.gso_type & VIRTIO_NET_HDR_GSO_ECN) &&
	    !net_acked(acked, VIRTIO_NET_F_GUEST_ECN))
		return NET_DROP_RX_OFFLOAD;
	/* D-NET-42: a GSO frame carries NEEDS_CSUM and its MSS. */
	if (!(pkt->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) ||
	    le16_to_cpu(pkt->vnet.gso_size) == 0)
		return NET_DROP_RX_OFFLOAD;
	return -1;
}
