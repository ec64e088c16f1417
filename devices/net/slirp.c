// SPDX-License-Identifier: MIT
/*
 * User-mode networking as a port of the switch, through libslirp: QEMU's
 * default network (10.0.2.0/24, the host's loopback as 10.0.2.2, DHCP from
 * 10.0.2.15), no root needed. This file is the switch-thread side: the
 * port's transmit (policy, then a copy into the queue to the slirp thread)
 * and the handler that drains the queue from the slirp thread into the
 * switch. libslirp itself runs in its own thread (slirp_thread.c, which says
 * why); what may reach it is slirp_policy.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/log.h>

#include "slirp_internal.h"

/*
 * The switch calls this with frames for the host side. We advertise no
 * offloads, so a frame still asking for one is the switch's bug: dropped.
 */
static int net_slirp_transmit(void *opaque, const struct net_packet *pkt)
{
	struct net_slirp *s = opaque;
	enum net_slirp_verdict v;
	int ret;

	if ((pkt->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) ||
	    pkt->vnet.gso_type != VIRTIO_NET_HDR_GSO_NONE || pkt->len > NET_FRAME_MAX) {
		net_slirp_count(&s->counters.dropped, 1);
		return -EINVAL;
	}
	v = net_slirp_policy_check(pkt->data, pkt->len);
	if (v == NET_SLIRP_MALFORMED) {
		net_slirp_count(&s->counters.dropped, 1);
		return -EINVAL;
	}
	if (v == NET_SLIRP_REFUSE) {
		net_slirp_count(&s->counters.refused, 1);
		return -EACCES;
	}
	ret = net_slirp_queue_push(&s->to_slirp, pkt->data, pkt->len);
	if (ret < 0) {
		net_slirp_count(&s->counters.dropped, 1);
		return ret;
	}
	net_slirp_count(&s->counters.to_host_frames, 1);
	net_slirp_count(&s->counters.to_host_bytes, pkt->len);
	return 0;
}

/* libslirp takes only complete frames: the switch checksums and segments for us. */
static uint32_t net_slirp_offloads(void *opaque)
{
	(void)opaque;
	return 0;
}

static const struct net_port_ops net_slirp_port_ops = {
	.transmit = net_slirp_transmit,
	.offloads = net_slirp_offloads,
};

/* Frames libslirp sent to the guest network, handed to the switch on its thread. */
static void net_slirp_from_slirp(void *opaque, uint32_t events)
{
	struct net_slirp *s = opaque;
	struct net_slirp_frame *f;
	struct net_packet pkt;
	unsigned int i;

	(void)events;
	vireo_eventfd_drain_fd(s->from_slirp.event_fd);
	for (i = 0; i < NET_SLIRP_QUEUE_LEN; i++) {
		f = net_slirp_queue_pop(&s->from_slirp);
		if (!f)
			return;
		memset(&pkt, 0, sizeof(pkt));
		pkt.data = f->data;
		pkt.len = f->len;
		net_slirp_count(&s->counters.from_host_frames, 1);
		net_slirp_count(&s->counters.from_host_bytes, f->len);
		vireo_net_switch_input(s->sw, s->port, &pkt);
		free(f);
	}
	/* Still more: come back after the loop's other fds had their turn. */
	(void)vireo_eventfd_signal_fd(s->from_slirp.event_fd);
}

static int net_slirp_check_options(const struct net_slirp_options *opt)
{
	unsigned int i;

	if (opt->num_forwards > NET_SLIRP_MAX_FORWARDS)
		return -EINVAL;
	for (i = 0; i < opt->num_forwards; i++)
		if (opt->forwards[i].host_port == 0 || opt->forwards[i].guest_port == 0)
			return -EINVAL;
	return 0;
}

static int net_slirp_queues_init(struct net_slirp *s)
{
	int ret;

	ret = net_slirp_queue_init(&s->to_slirp);
	if (ret < 0)
		return ret;
	ret = net_slirp_queue_init(&s->from_slirp);
	if (ret < 0)
		net_slirp_queue_destroy(&s->to_slirp);
	return ret;
}

/* Return: 0; -EINVAL (bad options); -EADDRINUSE; -ENOMEM; -ENOSPC; -errno. */
int vireo_net_slirp_new(struct net_slirp **out, const struct net_slirp_options *opt,
			struct event_loop *loop, struct net_switch *sw)
{
	struct net_slirp *s;
	int ret;

	if (!out || !loop || !sw || (opt && net_slirp_check_options(opt) < 0))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (opt)
		s->opt = *opt;
	s->loop = loop;
	s->sw = sw;
	ret = net_slirp_queues_init(s);
	if (ret < 0)
		goto out_free;
	ret = net_slirp_thread_start(s);
	if (ret < 0)
		goto out_queues;
	ret = vireo_event_loop_add(loop, s->from_slirp.event_fd, net_slirp_from_slirp, s);
	if (ret < 0)
		goto out_thread;
	ret = vireo_net_switch_add_port(sw, "user", &net_slirp_port_ops, s, &s->port);
	if (ret < 0)
		goto out_loop;
	log_info("slirp: user networking 10.0.2.0/24, host 10.0.2.2, %u forward(s)",
		 s->opt.num_forwards);
	*out = s;
	return 0;

out_loop:
	vireo_event_loop_remove(loop, s->from_slirp.event_fd);
out_thread:
	net_slirp_thread_stop(s);
out_queues:
	net_slirp_queue_destroy(&s->from_slirp);
	net_slirp_queue_destroy(&s->to_slirp);
out_free:
	free(s);
	return ret;
}

/*
 * No more transmits (port gone), no more switch input (handler gone), then
 * the thread stops pushing; only then can the queues be freed.
 */
void vireo_net_slirp_free(struct net_slirp *s)
{
	if (!s)
		return;
	vireo_net_switch_remove_port(s->sw, s->port);
	vireo_event_loop_remove(s->loop, s->from_slirp.event_fd);
	net_slirp_thread_stop(s);
	net_slirp_queue_destroy(&s->from_slirp);
	net_slirp_queue_destroy(&s->to_slirp);
	free(s);
}

void vireo_net_slirp_get_stats(const struct net_slirp *s, struct net_uplink_stats *st)
{
	const struct net_slirp_counters *c = &s->counters;

	st->to_host_frames = __atomic_load_n(&c->to_host_frames, __ATOMIC_RELAXED);
	st->to_host_bytes = __atomic_load_n(&c->to_host_bytes, __ATOMIC_RELAXED);
	st->from_host_frames = __atomic_load_n(&c->from_host_frames, __ATOMIC_RELAXED);
	st->from_host_bytes = __atomic_load_n(&c->from_host_bytes, __ATOMIC_RELAXED);
	st->dropped = __atomic_load_n(&c->dropped, __ATOMIC_RELAXED);
	st->refused = __atomic_load_n(&c->refused, __ATOMIC_RELAXED);
}
