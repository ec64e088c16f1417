// SPDX-License-Identifier: MIT
/*
 * virtio-net control queue (virtio 1.2 §5.1.6.5): one synchronous command
 * at a time, class + command + data readable, a one-byte ack writable.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <vireo/log.h>

#include "drivers/net.h"
#include "drivers/vq_poll.h"

/* The ack before the device writes it: neither VIRTIO_NET_OK nor VIRTIO_NET_ERR. */
#define NET_ACK_UNSET 0xffu

/* Post the command in net->ctrl. Return: 0 or -EIO */
static int net_ctrl_post(struct virtio_net *net, size_t len)
{
	uint64_t a = net->ctrl_addr;
	struct virtio_sg sg[3] = {
		{a + offsetof(struct net_ctrl_wire, hdr), sizeof(struct vireo_net_ctrl_hdr)},
		{a + offsetof(struct net_ctrl_wire, data), (uint32_t)len},
		{a + offsetof(struct net_ctrl_wire, ack), 1},
	};

	/* §5.1.6.5: class, command and data are device-readable, then the writable ack. */
	if (virtqueue_add_sgs(net->ctrlq, sg, 2, 1, net->ctrl) < 0)
		return -EIO;
	virtqueue_kick(net->ctrlq);
	return 0;
}

/*
 * Send one command and wait for its ack. A device that does not answer
 * within NET_CTRL_TIMEOUT_MS may still write the ack later, so the control
 * queue is not used again. Return: 0 (OK), -EIO (ERR, no answer, broken)
 */
static int net_ctrl_cmd(struct virtio_net *net, uint8_t class, uint8_t cmd, const void *data,
			size_t len)
{
	struct net_ctrl_wire *w = net->ctrl;
	uint32_t used;
	int err;

	if (net->ctrl_dead || virtqueue_is_broken(net->ctrlq))
		return -EIO;
	w->hdr.command_class = class;
	w->hdr.cmd = cmd;
	memcpy(w->data, data, len);
	w->ack = NET_ACK_UNSET;
	err = net_ctrl_post(net, len);
	if (err)
		return err;
	err = virtio_vq_wait_used(net->ctrlq, NET_CTRL_TIMEOUT_MS, &net->ctrl_warned);
	if (err <= 0) {
		if (!net->ctrl_dead)
			log_warn("virtio-net%u: control command %u.%u: no answer (%d); control "
				 "queue abandoned",
				 net->vdev->index, class, cmd, err);
		net->ctrl_dead = true;
		return -EIO;
	}
	/* One command in flight: the ring checked the id is it, and used <= 1. */
	if (virtqueue_get_buf(net->ctrlq, &used) != w)
		return -EIO;
	/* R-SR-09: the ack counts only if the used len says it was written. */
	if (used != 1)
		return -EIO;
	return w->ack == VIRTIO_NET_OK ? 0 : -EIO;
}

int virtio_net_set_rx_mode(struct virtio_net *net, bool promisc, bool allmulti)
{
	uint8_t on;
	int err;

	/* R-NET-12: no RX-mode commands without CTRL_RX. */
	if (!net->ctrl_rx)
		return -EOPNOTSUPP;
	on = promisc ? 1 : 0;
	err = net_ctrl_cmd(net, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1);
	if (err)
		return err;
	on = allmulti ? 1 : 0;
	return net_ctrl_cmd(net, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &on, 1);
}

int virtio_net_set_mac(struct virtio_net *net, const uint8_t mac[6])
{
	int err;

	/* R-NET-12: MAC-class commands need CTRL_RX; MAC_ADDR_SET needs CTRL_MAC_ADDR. */
	if (!net->ctrl_mac)
		return -EOPNOTSUPP;
	err = net_ctrl_cmd(net, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, mac, 6);
	if (err == 0)
		memcpy(net->mac, mac, sizeof(net->mac));
	return err;
}
