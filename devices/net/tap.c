// SPDX-License-Identifier: MIT
/*
 * A tap device as a port of the switch: the kernel's network stack on the
 * other side. Every frame carries the 12-byte virtio-net header
 * (IFF_VNET_HDR, TUNSETVNETHDRSZ), and TUNSETOFFLOAD tells the kernel it
 * may hand us partial checksums and TCP segmentation (TSO4/6): those pass
 * to the switch as the frame's header, which completes them for the ports
 * that cannot take them. The other way, the kernel accepts any of them from
 * us, so the port takes every offload.
 *
 * The interface is attached, not configured: addresses and the link state
 * are the user's (`ip addr add ... dev IFNAME; ip link set IFNAME up`).
 * Without CAP_NET_ADMIN the open fails with -EPERM unless the device exists
 * already and belongs to the user (ip tuntap add ... user U).
 *
 * The kernel's header is checked like a guest's before the switch sees it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <vireo/inet_csum.h>
#include <vireo/log.h>
#include <vireo/net_uplink.h>

#define NET_TAP_HDR_LEN sizeof(struct vireo_net_hdr_v1)
/* Frames read per readable event, so one busy tap cannot starve the loop. */
#define NET_TAP_BURST 64u
/* One byte more than the largest frame: a read that fills it was truncated. */
#define NET_TAP_BUF_LEN (NET_TAP_HDR_LEN + NET_FRAME_MAX + 1u)

struct net_tap {
	int fd;
	struct event_loop *loop;
	struct net_switch *sw;
	struct net_switch_port *port;
	char ifname[IFNAMSIZ];
	uint8_t *buf;
	struct net_uplink_stats stats;
};

/* Only the gso types TUNSETOFFLOAD asked for (as D-NET-27/29 for a device); others refused. */
static bool net_tap_gso_known(uint8_t gso_type)
{
	return gso_type == VIRTIO_NET_HDR_GSO_NONE || gso_type == VIRTIO_NET_HDR_GSO_TCPV4 ||
	       gso_type == VIRTIO_NET_HDR_GSO_TCPV6;
}

/*
 * The header the kernel wrote, checked as a guest's would be: the checksum
 * field inside the frame, a known gso type, and for GSO an MSS and a
 * partial checksum (§5.1.6.4, D-NET-42: GSO frames always carry NEEDS_CSUM).
 */
static bool net_tap_hdr_valid(const struct vireo_net_hdr_v1 *h, uint32_t len)
{
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    !inet_csum_partial_fits(le16_to_cpu(h->csum_start), le16_to_cpu(h->csum_offset), len))
		return false;
	if (!net_tap_gso_known(h->gso_type))
		return false;
	if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE &&
	    (h->gso_size == 0 || !(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)))
		return false;
	return true;
}

static void net_tap_receive(struct net_tap *tap, size_t n)
{
	struct net_packet pkt;

	if (n < NET_TAP_HDR_LEN + NET_ETH_HLEN || n >= NET_TAP_BUF_LEN) {
		tap->stats.dropped++;
		return;
	}
	memset(&pkt, 0, sizeof(pkt));
	memcpy(&pkt.vnet, tap->buf, NET_TAP_HDR_LEN);
	/* The kernel skips num_buffers without writing it: stale bytes, not a value. */
	pkt.vnet.num_buffers = 0;
	pkt.data = tap->buf + NET_TAP_HDR_LEN;
	pkt.len = (uint32_t)(n - NET_TAP_HDR_LEN);
	if (!net_tap_hdr_valid(&pkt.vnet, pkt.len)) {
		log_debug("tap %s: frame with a bad virtio-net header dropped", tap->ifname);
		tap->stats.dropped++;
		return;
	}
	tap->stats.from_host_frames++;
	tap->stats.from_host_bytes += pkt.len;
	vireo_net_switch_input(tap->sw, tap->port, &pkt);
}

static void net_tap_readable(void *opaque, uint32_t events)
{
	struct net_tap *tap = opaque;
	unsigned int i;
	ssize_t n;

	(void)events;
	for (i = 0; i < NET_TAP_BURST; i++) {
		n = read(tap->fd, tap->buf, NET_TAP_BUF_LEN);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			/* The device went away (EBADFD): stop watching, or we would spin. */
			log_error("tap %s: read: %s; no longer receiving", tap->ifname,
				  strerror(errno));
			vireo_event_loop_remove(tap->loop, tap->fd);
			return;
		}
		net_tap_receive(tap, (size_t)n);
	}
}

/* Return: 0, or -errno from writev (-EAGAIN: the tap's queue is full). */
static int net_tap_transmit(void *opaque, const struct net_packet *pkt)
{
	struct net_tap *tap = opaque;
	struct vireo_net_hdr_v1 hdr = pkt->vnet;
	struct iovec iov[2];
	ssize_t n;

	hdr.num_buffers = 0;
	iov[0] = (struct iovec){.iov_base = &hdr, .iov_len = sizeof(hdr)};
	iov[1] = (struct iovec){.iov_base = pkt->data, .iov_len = pkt->len};
	do {
		n = writev(tap->fd, iov, 2);
	} while (n < 0 && errno == EINTR);
	if (n < 0 || (size_t)n != sizeof(hdr) + pkt->len) {
		int err = n < 0 ? errno : EIO;

		tap->stats.dropped++;
		log_debug("tap %s: frame dropped: %s", tap->ifname, strerror(err));
		return -err;
	}
	tap->stats.to_host_frames++;
	tap->stats.to_host_bytes += pkt->len;
	return 0;
}

/* The kernel takes partial checksums and TSO from us with the header (virtio_net_hdr_to_skb). */
static uint32_t net_tap_offloads(void *opaque)
{
	(void)opaque;
	return NET_OFFLOAD_ALL;
}

static const struct net_port_ops net_tap_port_ops = {
	.transmit = net_tap_transmit,
	.offloads = net_tap_offloads,
};

/* Return: 0, or -errno from open/ioctl (-EPERM without CAP_NET_ADMIN). */
static int net_tap_attach(struct net_tap *tap, const char *ifname)
{
	struct ifreq ifr;
	int hdr_len = (int)NET_TAP_HDR_LEN, le = 1;

	tap->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (tap->fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	if (ioctl(tap->fd, TUNSETIFF, &ifr) < 0)
		return -errno;
	memcpy(tap->ifname, ifr.ifr_name, IFNAMSIZ - 1);
	if (ioctl(tap->fd, TUNSETVNETHDRSZ, &hdr_len) < 0)
		return -errno;
	/* virtio 1.x headers are little-endian whatever the host is. */
	if (ioctl(tap->fd, TUNSETVNETLE, &le) < 0)
		log_debug("tap %s: TUNSETVNETLE: %s", tap->ifname, strerror(errno));
	return 0;
}

/* Let the kernel hand us partial checksums and TSO frames, or nothing if it will not. */
static void net_tap_set_offload(struct net_tap *tap)
{
	unsigned long want = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;

	if (ioctl(tap->fd, TUNSETOFFLOAD, want) == 0)
		return;
	log_info("tap %s: TUNSETOFFLOAD(csum, tso4, tso6): %s; the kernel sends complete frames",
		 tap->ifname, strerror(errno));
	(void)ioctl(tap->fd, TUNSETOFFLOAD, 0ul);
}

/* Return: 0; -EINVAL; -errno from open/ioctl (-EPERM); -ENOMEM; -ENOSPC. */
int vireo_net_tap_open(struct net_tap **out, const char *ifname, struct event_loop *loop,
		       struct net_switch *sw)
{
	char name[IFNAMSIZ + 8];
	struct net_tap *tap;
	int ret;

	if (!out || !ifname || !loop || !sw || ifname[0] == '\0' ||
	    strnlen(ifname, IFNAMSIZ) >= IFNAMSIZ)
		return -EINVAL;
	tap = calloc(1, sizeof(*tap));
	if (!tap)
		return -ENOMEM;
	tap->loop = loop;
	tap->sw = sw;
	tap->buf = malloc(NET_TAP_BUF_LEN);
	if (!tap->buf) {
		ret = -ENOMEM;
		goto out_free;
	}
	ret = net_tap_attach(tap, ifname);
	if (ret < 0)
		goto out_close;
	net_tap_set_offload(tap);
	ret = vireo_event_loop_add(loop, tap->fd, net_tap_readable, tap);
	if (ret < 0)
		goto out_close;
	snprintf(name, sizeof(name), "tap:%s", tap->ifname);
	ret = vireo_net_switch_add_port(sw, name, &net_tap_port_ops, tap, &tap->port);
	if (ret < 0)
		goto out_loop;
	log_info("tap %s: attached", tap->ifname);
	*out = tap;
	return 0;

out_loop:
	vireo_event_loop_remove(loop, tap->fd);
out_close:
	if (tap->fd >= 0)
		close(tap->fd);
out_free:
	free(tap->buf);
	free(tap);
	return ret;
}

void vireo_net_tap_close(struct net_tap *tap)
{
	if (!tap)
		return;
	vireo_net_switch_remove_port(tap->sw, tap->port);
	vireo_event_loop_remove(tap->loop, tap->fd);
	close(tap->fd);
	free(tap->buf);
	free(tap);
}

void vireo_net_tap_get_stats(const struct net_tap *tap, struct net_uplink_stats *st)
{
	*st = tap->stats;
}
