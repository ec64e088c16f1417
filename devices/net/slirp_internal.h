/* SPDX-License-Identifier: MIT */
/*
 * Private to the libslirp uplink (slirp.c, slirp_thread.c, slirp_queue.c,
 * slirp_policy.c): the frame queues between the switch thread and the slirp
 * thread, the what-may-reach-libslirp policy, and the thread itself.
 */
#ifndef VIREO_DEVICES_NET_SLIRP_INTERNAL_H
#define VIREO_DEVICES_NET_SLIRP_INTERNAL_H

#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <slirp/libslirp.h>

#include <vireo/event_loop.h>
#include <vireo/net_switch.h>
#include <vireo/net_uplink.h>

/* QEMU's default user network (host byte order). */
#define NET_SLIRP_NETWORK 0x0a000200u	 /* 10.0.2.0 */
#define NET_SLIRP_NETMASK 0xffffff00u	 /* /24 */
#define NET_SLIRP_HOST 0x0a000202u	 /* 10.0.2.2: the host's 127.0.0.1 */
#define NET_SLIRP_DNS 0x0a000203u	 /* 10.0.2.3: refused by policy */
#define NET_SLIRP_DHCP_START 0x0a00020fu /* 10.0.2.15 */

/*
 * Frames waiting in one direction. Bounded in count and in bytes so a peer
 * that floods cannot make us hold more than a few MiB.
 */
#define NET_SLIRP_QUEUE_LEN 256u
#define NET_SLIRP_QUEUE_BYTES (4u << 20)

struct net_slirp_frame {
	uint32_t len;
	uint8_t data[];
};

/**
 * struct net_slirp_queue - a bounded FIFO of frame copies between two threads
 * @lock: guards everything below except @event_fd
 * @event_fd: non-blocking eventfd, signalled when a push finds the queue empty
 * @slots: ring of owned frames, @head the oldest, @count how many
 * @bytes: sum of the queued frames' lengths
 */
struct net_slirp_queue {
	pthread_mutex_t lock;
	int event_fd;
	struct net_slirp_frame *slots[NET_SLIRP_QUEUE_LEN];
	unsigned int head;
	unsigned int count;
	size_t bytes;
};

/**
 * net_slirp_queue_init() - an empty queue with its eventfd
 * Return: 0, or -errno from eventfd/pthread_mutex_init.
 */
int net_slirp_queue_init(struct net_slirp_queue *q);

/** net_slirp_queue_destroy() - free the frames still queued, close the eventfd */
void net_slirp_queue_destroy(struct net_slirp_queue *q);

/**
 * net_slirp_queue_push() - append a copy of @len bytes at @data; signal the
 * eventfd if the queue was empty (the consumer drains until empty)
 * Return: 0; -ENOBUFS (full: count or bytes); -ENOMEM.
 */
int net_slirp_queue_push(struct net_slirp_queue *q, const uint8_t *data, uint32_t len);

/**
 * net_slirp_queue_pop() - the oldest frame, now owned by the caller (free()),
 * or NULL if the queue is empty
 */
struct net_slirp_frame *net_slirp_queue_pop(struct net_slirp_queue *q);

/* What the policy says about a frame on its way from the switch to libslirp. */
enum net_slirp_verdict {
	NET_SLIRP_PASS,
	NET_SLIRP_REFUSE,    /* well-formed, but not to the host's loopback */
	NET_SLIRP_MALFORMED, /* headers that do not fit the frame */
};

/**
 * net_slirp_policy_check() - "NAT to the host's loopback only": ARP, DHCP
 * (UDP 68->67 broadcast) and IPv4 to 10.0.2.2 pass; everything else is refused
 * Return: the verdict; never reads outside @frame[0..@len).
 */
enum net_slirp_verdict net_slirp_policy_check(const uint8_t *frame, uint32_t len);

/*
 * Counters, written from both threads with __atomic builtins (relaxed: they
 * order nothing, they only must not tear or lose increments).
 */
struct net_slirp_counters {
	uint64_t to_host_frames;
	uint64_t to_host_bytes;
	uint64_t from_host_frames;
	uint64_t from_host_bytes;
	uint64_t dropped;
	uint64_t refused;
};

static inline void net_slirp_count(uint64_t *counter, uint64_t n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

struct net_slirp_timer;

/**
 * struct net_slirp - the uplink
 * Switch thread: @loop, @sw, @port, the pushing side of @to_slirp and the
 * popping side of @from_slirp. Slirp thread: @slirp, @timers, @pfds, the
 * other sides. @opt is read by the slirp thread at start only.
 */
struct net_slirp {
	struct event_loop *loop;
	struct net_switch *sw;
	struct net_switch_port *port;
	struct net_slirp_options opt;
	struct net_slirp_queue to_slirp;
	struct net_slirp_queue from_slirp;
	struct net_slirp_counters counters;

	pthread_t thread;
	bool thread_running;
	sem_t started;
	int start_err;
	bool stop; /* __atomic: set by vireo_net_slirp_free, read by the slirp thread */

	Slirp *slirp;
	struct sockaddr_in outbound;
	struct net_slirp_timer *timers;
	struct pollfd *pfds;
	unsigned int num_pfds;
	unsigned int cap_pfds;
};

/**
 * net_slirp_thread_start() - start the slirp thread; it creates the libslirp
 * instance and the port forwards, and this waits until it has
 * Return: 0; -EADDRINUSE (a forward's host port is taken); -ENOMEM; -errno
 * from pthread_create or the forward's bind.
 */
int net_slirp_thread_start(struct net_slirp *s);

/** net_slirp_thread_stop() - stop and join the thread; libslirp is cleaned up */
void net_slirp_thread_stop(struct net_slirp *s);

#endif /* VIREO_DEVICES_NET_SLIRP_INTERNAL_H */
