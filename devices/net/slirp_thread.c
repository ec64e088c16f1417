// SPDX-License-Identifier: MIT
/*
 * The slirp thread: libslirp's own poll() loop, its timers and callbacks.
 *
 * Why a thread of its own: libslirp wants a poll()-style loop (it names the
 * fds to watch before every sleep, slirp_pollfds_fill, and is told what
 * happened after, slirp_pollfds_poll) and its TCP timers want a timeout it
 * computes anew each round. Folding that into the switch's epoll loop would
 * mean re-registering every libslirp socket each round and a timer facility
 * the event loop does not have. So libslirp runs alone in this thread, and
 * frames cross between it and the switch thread through two bounded queues
 * (slirp_queue.c). Every libslirp call happens on this thread, from
 * slirp_new() to slirp_cleanup(); every switch call on the switch thread.
 *
 * Timers are few (libslirp 4.7 makes one, for IPv6 router advertisements,
 * and IPv6 is off): a plain list scanned each round is enough.
 *
 * All signals are blocked in this thread, so the process's handlers run
 * elsewhere and a SIGPIPE from a send() to a closed host socket stays a
 * harmless pending signal here instead of killing the process.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vireo/log.h>

#include "slirp_internal.h"

#define NET_SLIRP_PFDS_INIT 16u
/* Timer callbacks run per round at most: one re-armed in the past cannot spin us. */
#define NET_SLIRP_TIMER_BURST 16u

struct net_slirp_timer {
	struct net_slirp_timer *next;
	int64_t expire_ms; /* -1: not armed */
	bool by_id;	   /* timer_new_opaque: fired through slirp_handle_timer() */
	SlirpTimerId id;
	SlirpTimerCb cb;
	void *cb_opaque;
};

static int64_t net_slirp_clock_ns(void *opaque)
{
	struct timespec ts;

	(void)opaque;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t net_slirp_now_ms(void)
{
	return net_slirp_clock_ns(NULL) / 1000000;
}

/* A frame for the guest network: queue a copy for the switch thread. */
static ssize_t net_slirp_send_packet(const void *buf, size_t len, void *opaque)
{
	struct net_slirp *s = opaque;

	/* "If the guest is not ready to receive a frame, [we] can just drop" (libslirp.h) */
	if (len < NET_ETH_HLEN || len > NET_FRAME_MAX ||
	    net_slirp_queue_push(&s->from_slirp, buf, (uint32_t)len) < 0)
		net_slirp_count(&s->counters.dropped, 1);
	return (ssize_t)len;
}

static void net_slirp_guest_error(const char *msg, void *opaque)
{
	(void)opaque;
	log_debug("slirp: guest error: %s", msg);
}

static struct net_slirp_timer *net_slirp_timer_add(struct net_slirp *s)
{
	struct net_slirp_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->expire_ms = -1;
	t->next = s->timers;
	s->timers = t;
	return t;
}

static void *net_slirp_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct net_slirp_timer *t = net_slirp_timer_add(opaque);

	if (t) {
		t->cb = cb;
		t->cb_opaque = cb_opaque;
	}
	return t;
}

static void *net_slirp_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct net_slirp_timer *t = net_slirp_timer_add(opaque);

	if (t) {
		t->by_id = true;
		t->id = id;
		t->cb_opaque = cb_opaque;
	}
	return t;
}

static void net_slirp_timer_free(void *timer, void *opaque)
{
	struct net_slirp *s = opaque;
	struct net_slirp_timer **pp;

	for (pp = &s->timers; *pp; pp = &(*pp)->next) {
		if (*pp == timer) {
			*pp = ((struct net_slirp_timer *)timer)->next;
			free(timer);
			return;
		}
	}
}

static void net_slirp_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct net_slirp_timer *t = timer;

	(void)opaque;
	t->expire_ms = expire_ms < 0 ? 0 : expire_ms;
}

/* The fd set is rebuilt from slirp_pollfds_fill() every round: nothing to keep. */
static void net_slirp_register_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

static void net_slirp_unregister_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

/* libslirp has more to do (a socket buffer drained): end the current poll() early. */
static void net_slirp_notify(void *opaque)
{
	struct net_slirp *s = opaque;

	(void)vireo_eventfd_signal_fd(s->to_slirp.event_fd);
}

static const SlirpCb net_slirp_callbacks = {
	.send_packet = net_slirp_send_packet,
	.guest_error = net_slirp_guest_error,
	.clock_get_ns = net_slirp_clock_ns,
	.timer_new = net_slirp_timer_new,
	.timer_free = net_slirp_timer_free,
	.timer_mod = net_slirp_timer_mod,
	.register_poll_fd = net_slirp_register_poll_fd,
	.unregister_poll_fd = net_slirp_unregister_poll_fd,
	.notify = net_slirp_notify,
	.timer_new_opaque = net_slirp_timer_new_opaque,
};

static int net_slirp_add_poll(int fd, int events, void *opaque)
{
	struct net_slirp *s = opaque;
	struct pollfd *p;
	short ev = 0;

	if (s->num_pfds == s->cap_pfds) {
		p = realloc(s->pfds, 2 * s->cap_pfds * sizeof(*p));
		if (!p)
			return -1; /* not watched this round; get_revents reports nothing */
		s->pfds = p;
		s->cap_pfds *= 2;
	}
	ev |= (events & SLIRP_POLL_IN) ? POLLIN : 0;
	ev |= (events & SLIRP_POLL_OUT) ? POLLOUT : 0;
	ev |= (events & SLIRP_POLL_PRI) ? POLLPRI : 0;
	s->pfds[s->num_pfds] = (struct pollfd){.fd = fd, .events = ev};
	return (int)s->num_pfds++;
}

static int net_slirp_get_revents(int idx, void *opaque)
{
	struct net_slirp *s = opaque;
	short rev;
	int ret = 0;

	/* Index 0 is our own wake-up eventfd, never handed to libslirp. */
	if (idx <= 0 || (unsigned int)idx >= s->num_pfds)
		return 0;
	rev = s->pfds[idx].revents;
	ret |= (rev & POLLIN) ? SLIRP_POLL_IN : 0;
	ret |= (rev & POLLOUT) ? SLIRP_POLL_OUT : 0;
	ret |= (rev & POLLPRI) ? SLIRP_POLL_PRI : 0;
	ret |= (rev & (POLLERR | POLLNVAL)) ? SLIRP_POLL_ERR : 0;
	ret |= (rev & POLLHUP) ? SLIRP_POLL_HUP : 0;
	return ret;
}

/* Milliseconds until the next armed timer, UINT32_MAX if none. */
static uint32_t net_slirp_timers_timeout(const struct net_slirp *s)
{
	int64_t now = net_slirp_now_ms(), best = -1;
	const struct net_slirp_timer *t;

	for (t = s->timers; t; t = t->next) {
		if (t->expire_ms < 0)
			continue;
		if (best < 0 || t->expire_ms < best)
			best = t->expire_ms;
	}
	if (best < 0)
		return UINT32_MAX;
	if (best <= now)
		return 0;
	return best - now >= UINT32_MAX ? UINT32_MAX - 1 : (uint32_t)(best - now);
}

/* A callback may arm, re-arm or free any timer: rescan after each one. */
static void net_slirp_timers_run(struct net_slirp *s)
{
	int64_t now = net_slirp_now_ms();
	unsigned int fired;
	struct net_slirp_timer *t;

	for (fired = 0; fired < NET_SLIRP_TIMER_BURST; fired++) {
		for (t = s->timers; t; t = t->next)
			if (t->expire_ms >= 0 && t->expire_ms <= now)
				break;
		if (!t)
			return;
		t->expire_ms = -1;
		if (t->by_id)
			slirp_handle_timer(s->slirp, t->id, t->cb_opaque);
		else
			t->cb(t->cb_opaque);
	}
}

/* Frames the switch thread queued (already past the policy) into libslirp. */
static void net_slirp_deliver(struct net_slirp *s)
{
	struct net_slirp_frame *f;
	unsigned int i;

	vireo_eventfd_drain_fd(s->to_slirp.event_fd);
	for (i = 0; i < NET_SLIRP_QUEUE_LEN; i++) {
		f = net_slirp_queue_pop(&s->to_slirp);
		if (!f)
			return;
		slirp_input(s->slirp, f->data, (int)f->len);
		free(f);
	}
	/* Still more: come back after the sockets had their turn. */
	(void)vireo_eventfd_signal_fd(s->to_slirp.event_fd);
}

static void net_slirp_round(struct net_slirp *s)
{
	uint32_t timeout = net_slirp_timers_timeout(s);
	int n, err;

	s->pfds[0] = (struct pollfd){.fd = s->to_slirp.event_fd, .events = POLLIN};
	s->num_pfds = 1;
	slirp_pollfds_fill(s->slirp, &timeout, net_slirp_add_poll, s);
	n = poll(s->pfds, s->num_pfds, timeout > INT_MAX ? -1 : (int)timeout);
	err = n < 0 ? errno : 0;
	if (err != 0 && err != EINTR) {
		/* ENOMEM, or more fds than RLIMIT_NOFILE: say so, and do not spin while it lasts. */
		log_warn("slirp: poll: %s", strerror(err));
		nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
	}
	slirp_pollfds_poll(s->slirp, err != 0 && err != EINTR, net_slirp_get_revents, s);
	if (n > 0 && (s->pfds[0].revents & POLLIN))
		net_slirp_deliver(s);
	net_slirp_timers_run(s);
}

static struct in_addr net_slirp_addr(uint32_t host_order)
{
	return (struct in_addr){.s_addr = htonl(host_order)};
}

/*
 * QEMU's default network, IPv4 only. Not `restricted`: in libslirp 4.7 that
 * drops every guest TCP connection that is not a guestfwd (10.0.2.2 included)
 * and all UDP but DHCP/TFTP, while forwards keep working; we want the host's
 * loopback reachable, so the policy (slirp_policy.c) does the restricting.
 * Outbound sockets are bound to 127.0.0.1, so even a frame that got past the
 * policy could not reach beyond the host: the kernel refuses to route from a
 * loopback source to anything but loopback. The host alias must keep mapping
 * to 127.0.0.1 (disable_host_loopback false); the DNS alias is off.
 */
static int net_slirp_create(struct net_slirp *s)
{
	SlirpConfig cfg = {
		.version = 4,
		.restricted = 0,
		.in_enabled = true,
		.vnetwork = net_slirp_addr(NET_SLIRP_NETWORK),
		.vnetmask = net_slirp_addr(NET_SLIRP_NETMASK),
		.vhost = net_slirp_addr(NET_SLIRP_HOST),
		.in6_enabled = false,
		.vdhcp_start = net_slirp_addr(NET_SLIRP_DHCP_START),
		.vnameserver = net_slirp_addr(NET_SLIRP_DNS),
		.disable_host_loopback = false,
		.enable_emu = false,
		.outbound_addr = &s->outbound,
		.disable_dns = true,
		.disable_dhcp = false,
	};

	s->outbound = (struct sockaddr_in){.sin_family = AF_INET,
					   .sin_addr = net_slirp_addr(INADDR_LOOPBACK)};
	s->slirp = slirp_new(&cfg, &net_slirp_callbacks, s);
	return s->slirp ? 0 : -ENOMEM;
}

/* Return: 0, or -errno from the listening socket's bind/listen (-EADDRINUSE). */
static int net_slirp_add_forwards(struct net_slirp *s)
{
	const struct net_slirp_forward *f;
	unsigned int i;
	int err;

	for (i = 0; i < s->opt.num_forwards; i++) {
		f = &s->opt.forwards[i];
		errno = 0;
		if (slirp_add_hostfwd(s->slirp, 0, net_slirp_addr(INADDR_LOOPBACK), f->host_port,
				      net_slirp_addr(NET_SLIRP_DHCP_START), f->guest_port) == 0)
			continue;
		/* libslirp keeps the errno of the failed bind/listen. */
		err = errno ? errno : EIO;
		log_error("slirp: forward 127.0.0.1:%u -> :%u: %s", f->host_port, f->guest_port,
			  strerror(err));
		return -err;
	}
	return 0;
}

static void net_slirp_destroy(struct net_slirp *s)
{
	struct net_slirp_timer *t;

	if (s->slirp)
		slirp_cleanup(s->slirp);
	s->slirp = NULL;
	/* Whatever timers libslirp did not free itself. */
	while ((t = s->timers) != NULL) {
		s->timers = t->next;
		free(t);
	}
	free(s->pfds);
	s->pfds = NULL;
}

static int net_slirp_setup(struct net_slirp *s)
{
	int ret;

	s->pfds = calloc(NET_SLIRP_PFDS_INIT, sizeof(*s->pfds));
	if (!s->pfds)
		return -ENOMEM;
	s->cap_pfds = NET_SLIRP_PFDS_INIT;
	ret = net_slirp_create(s);
	if (ret == 0)
		ret = net_slirp_add_forwards(s);
	if (ret != 0)
		net_slirp_destroy(s);
	return ret;
}

static void *net_slirp_thread_main(void *arg)
{
	struct net_slirp *s = arg;
	int ret;

	ret = net_slirp_setup(s);
	s->start_err = ret;
	/* After this post the creator may join and free @s on failure: touch nothing. */
	sem_post(&s->started);
	if (ret != 0)
		return NULL;
	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE))
		net_slirp_round(s);
	net_slirp_destroy(s);
	return NULL;
}

/* Return: 0; -EADDRINUSE; -ENOMEM; -errno from pthread_create or a forward's bind. */
int net_slirp_thread_start(struct net_slirp *s)
{
	sigset_t all, old;
	int ret;

	if (sem_init(&s->started, 0, 0) < 0)
		return -errno;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(&s->thread, NULL, net_slirp_thread_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret == 0) {
		while (sem_wait(&s->started) < 0 && errno == EINTR)
			;
		ret = s->start_err;
		if (ret != 0)
			(void)pthread_join(s->thread, NULL);
	}
	sem_destroy(&s->started);
	s->thread_running = ret == 0;
	return ret;
}

void net_slirp_thread_stop(struct net_slirp *s)
{
	if (!s->thread_running)
		return;
	/* Pairs with the acquire load in net_slirp_thread_main(); the eventfd wakes its poll(). */
	__atomic_store_n(&s->stop, true, __ATOMIC_RELEASE);
	(void)vireo_eventfd_signal_fd(s->to_slirp.event_fd);
	/* The join orders everything the thread did (libslirp freed) before our next access. */
	(void)pthread_join(s->thread, NULL);
	s->thread_running = false;
}
