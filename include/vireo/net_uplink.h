/* SPDX-License-Identifier: MIT */
/*
 * Uplinks: the switch's way out of the process. A tap device (the kernel's
 * network stack, with the virtio-net header on every frame so partial
 * checksums and TSO pass through, TUNSETOFFLOAD) or user-mode networking
 * through libslirp (DHCP, NAT to the host's loopback only, port forwards;
 * no root needed). Each uplink adds itself to a switch as one port and
 * watches its fds in the switch thread's event loop.
 */
#ifndef VIREO_NET_UPLINK_H
#define VIREO_NET_UPLINK_H

#include <stdint.h>

#include <vireo/event_loop.h>
#include <vireo/net_switch.h>
#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * struct net_uplink_stats
 * @to_host_frames, @to_host_bytes: frames the uplink took from the switch
 * @from_host_frames, @from_host_bytes: frames it handed to the switch
 * @dropped: frames it could not take or pass on (full, malformed)
 * @refused: frames policy refused (user mode: a destination other than the
 *	host's loopback)
 */
struct net_uplink_stats {
	uint64_t to_host_frames;
	uint64_t to_host_bytes;
	uint64_t from_host_frames;
	uint64_t from_host_bytes;
	uint64_t dropped;
	uint64_t refused;
};

struct net_tap;

/**
 * vireo_net_tap_open() - attach the tap device @ifname (created if missing,
 * IFF_TAP | IFF_NO_PI | IFF_VNET_HDR) to @sw as port "tap:@ifname"
 * The interface is not configured: its addresses and link state are the
 * caller's (ip addr add ... dev @ifname; ip link set @ifname up).
 * Return: 0 and *@out set; -EINVAL (name too long); -errno from open/ioctl
 * (-EPERM without CAP_NET_ADMIN); -ENOSPC (switch full).
 */
VIREO_API int vireo_net_tap_open(struct net_tap **out, const char *ifname, struct event_loop *loop,
				 struct net_switch *sw);

/** vireo_net_tap_close() - detach from the switch, close the device */
VIREO_API void vireo_net_tap_close(struct net_tap *tap);

/** vireo_net_tap_get_stats() - a copy of the counters */
VIREO_API void vireo_net_tap_get_stats(const struct net_tap *tap, struct net_uplink_stats *st);

#define NET_SLIRP_MAX_FORWARDS 8u

/**
 * struct net_slirp_forward - hostfwd=tcp:127.0.0.1:HOSTPORT-:GUESTPORT
 * @host_port: port listened on at 127.0.0.1
 * @guest_port: port connected to on the guest's DHCP address
 */
struct net_slirp_forward {
	uint16_t host_port;
	uint16_t guest_port;
};

/**
 * struct net_slirp_options
 * The network is QEMU's default: 10.0.2.0/24, the host (its 127.0.0.1) at
 * 10.0.2.2, DHCP handing out from 10.0.2.15.
 */
struct net_slirp_options {
	struct net_slirp_forward forwards[NET_SLIRP_MAX_FORWARDS];
	unsigned int num_forwards;
};

struct net_slirp;

/**
 * vireo_net_slirp_new() - user-mode networking as port "user" of @sw
 * Return: 0 and *@out set; -EINVAL (more than NET_SLIRP_MAX_FORWARDS, or a
 * port 0); -EADDRINUSE (a forward's host port is taken); -ENOMEM; -ENOSPC
 * (switch full); -errno.
 */
VIREO_API int vireo_net_slirp_new(struct net_slirp **out, const struct net_slirp_options *opt,
				  struct event_loop *loop, struct net_switch *sw);

/** vireo_net_slirp_free() - detach from the switch, close every connection */
VIREO_API void vireo_net_slirp_free(struct net_slirp *s);

/** vireo_net_slirp_get_stats() - a copy of the counters */
VIREO_API void vireo_net_slirp_get_stats(const struct net_slirp *s, struct net_uplink_stats *st);

/**
 * vireo_net_slirp_parse_forward() - parse "tcp:127.0.0.1:HOSTPORT-:GUESTPORT"
 * (also "tcp::HOSTPORT-:GUESTPORT"; the host address must be 127.0.0.1)
 * Return: 0, or -EINVAL.
 */
VIREO_API int vireo_net_slirp_parse_forward(const char *spec, struct net_slirp_forward *fwd);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_NET_UPLINK_H */
