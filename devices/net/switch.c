// SPDX-License-Identifier: MIT
/*
 * A learning L2 switch (IEEE 802.1D §8.7 in miniature): source addresses
 * are learned per port and aged out, known unicast goes to one port,
 * everything else floods. Before a frame leaves through a port, the
 * offloads that port cannot take are done in software (offload.c).
 *
 * The MAC table is a fixed array of NET_SWITCH_MAC_SLOTS slots with open
 * addressing (linear probing, backward-shift deletion, no tombstones),
 * filled to at most NET_SWITCH_MAC_MAX entries so probes stay short. A
 * per-switch random seed keys the hash, so a guest cannot pick addresses
 * that collide. When the table is full, expired entries are swept; if
 * none are, the new address is not learned (its frames still flood).
 *
 * A port's transmit may call back into the switch (libslirp answers ARP
 * from inside slirp_input): nested input gets its own scratch buffer, up
 * to NET_SWITCH_MAX_DEPTH levels; a port removed while frames are being
 * forwarded is freed when the outermost input returns.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <vireo/log.h>
#include <vireo/net_offload.h>
#include <vireo/net_switch.h>

#define NET_SWITCH_MAC_SLOTS 1024u /* a power of two */
#define NET_SWITCH_MAC_MAX 768u	   /* entries: a 75% load bound */
#define NET_SWITCH_MAX_DEPTH 4u

struct net_mac_entry {
	uint8_t mac[NET_ETH_ALEN];
	uint64_t seen_ms;
	struct net_switch_port *port; /* NULL: the slot is free */
};

/*
 * The slots of the last frame's source and destination from one port, good
 * while the table's generation is unchanged: a port sends from one address to
 * one peer frame after frame (two hashes per frame saved). A memo of zeroes
 * never matches: a source of zeroes is refused before the table is looked at.
 */
struct net_pair_memo {
	uint64_t head; /* the frame's bytes 0-7: destination, source's first two */
	uint32_t tail; /* bytes 8-11: the rest of the source */
	uint64_t gen;  /* 64 bits: a memo never outlives a wrap of the table's generation */
	unsigned int src_slot, dst_slot;
};

struct net_switch_port {
	struct net_switch *sw;
	char *name;
	struct net_port_ops ops;
	void *opaque;
	struct net_switch_port_stats st;
	bool removed;
	struct net_switch_port *next_zombie;
	struct net_pair_memo memo;
};

struct net_switch {
	struct net_switch_port *ports[NET_SWITCH_MAX_PORTS];
	unsigned int nports;
	struct net_mac_entry *macs;
	unsigned int nmacs;
	uint64_t gen; /* bumped whenever a slot is filled or emptied (entries move) */
	uint64_t seed;
	uint64_t (*now_ms)(void *opaque);
	void *clock_opaque;
	bool in_batch;	   /* between vireo_net_switch_batch_begin() and _end(): */
	uint64_t batch_ms; /* the clock read at the batch's start */
	uint8_t *scratch[NET_SWITCH_MAX_DEPTH]; /* [0] at new, deeper ones on first use */
	unsigned int depth;			/* nested vireo_net_switch_input() calls */
	struct net_switch_port *zombies;	/* removed during forwarding */
	bool warned_full;
};

static uint64_t net_switch_monotonic_ms(void *opaque)
{
	struct timespec ts;

	(void)opaque;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A seed for the table hash; the clock and an address if getrandom cannot help. */
static uint64_t net_switch_seed(const struct net_switch *sw)
{
	uint64_t seed;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
		return seed;
	return net_switch_monotonic_ms(NULL) ^ (uint64_t)(uintptr_t)sw;
}

static unsigned int net_mac_slot(const struct net_switch *sw, const uint8_t *mac)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < NET_ETH_ALEN; i++)
		v = v << 8 | mac[i];
	v = (v ^ sw->seed) * 0x9e3779b97f4a7c15ull;
	v ^= v >> 29;
	v *= 0xbf58476d1ce4e5b9ull;
	return (unsigned int)(v >> 32) & (NET_SWITCH_MAC_SLOTS - 1u);
}

static bool net_mac_expired(const struct net_mac_entry *e, uint64_t now)
{
	/* a clock that went backwards counts as no time passed */
	return now > e->seen_ms && now - e->seen_ms >= NET_SWITCH_AGEING_MS;
}

/* The slot holding @mac, or the free slot where it would go. */
static unsigned int net_mac_find(const struct net_switch *sw, const uint8_t *mac)
{
	unsigned int i = net_mac_slot(sw, mac);

	/* terminates: at most NET_SWITCH_MAC_MAX < NET_SWITCH_MAC_SLOTS slots are used */
	while (sw->macs[i].port && memcmp(sw->macs[i].mac, mac, NET_ETH_ALEN) != 0)
		i = (i + 1u) & (NET_SWITCH_MAC_SLOTS - 1u);
	return i;
}

/* The frame's address bytes @p[0..12) as two numbers (two loads), for net_pair_memo. */
static inline void net_pair_key(const uint8_t *p, uint64_t *head, uint32_t *tail)
{
	memcpy(head, p, sizeof(*head));
	memcpy(tail, p + sizeof(*head), sizeof(*tail));
}

/* Free slot @hole, moving later entries of its cluster back toward their home slots. */
static void net_mac_remove_slot(struct net_switch *sw, unsigned int hole)
{
	const unsigned int mask = NET_SWITCH_MAC_SLOTS - 1u;
	unsigned int j = hole;

	sw->macs[hole].port = NULL;
	sw->nmacs--;
	sw->gen++;
	for (;;) {
		unsigned int home;

		j = (j + 1u) & mask;
		if (!sw->macs[j].port)
			return;
		home = net_mac_slot(sw, sw->macs[j].mac);
		/* the entry at j may move to the hole unless its home lies in (hole, j] */
		if (((j - home) & mask) < ((j - hole) & mask))
			continue;
		sw->macs[hole] = sw->macs[j];
		sw->macs[j].port = NULL;
		hole = j;
	}
}

/*
 * Remove every entry that @match selects. A removal may pull a later entry
 * into the current slot, so the slot is looked at again; entries only move
 * toward their home, so none escapes behind the scan.
 */
static void net_mac_remove_if(struct net_switch *sw,
			      bool (*match)(const struct net_mac_entry *e, const void *arg),
			      const void *arg)
{
	for (unsigned int i = 0; i < NET_SWITCH_MAC_SLOTS;) {
		if (sw->macs[i].port && match(&sw->macs[i], arg))
			net_mac_remove_slot(sw, i);
		else
			i++;
	}
}

static bool net_mac_on_port(const struct net_mac_entry *e, const void *port)
{
	return e->port == port;
}

static bool net_mac_aged(const struct net_mac_entry *e, const void *arg)
{
	const uint64_t *now = arg;

	return net_mac_expired(e, *now);
}

/* net_switch_learn() for an address not yet on @port: move it, or learn it. */
static __attribute__((noinline)) void net_switch_learn_new(struct net_switch *sw,
							   const uint8_t *mac,
							   struct net_switch_port *port,
							   uint64_t now, unsigned int i)
{
	struct net_mac_entry *e = &sw->macs[i];

	if (e->port) {
		if (e->port != port)
			log_debug("switch: %02x:%02x:%02x:%02x:%02x:%02x moved from %s to %s",
				  mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], e->port->name,
				  port->name);
		e->port = port;
		e->seen_ms = now;
		return;
	}
	if (sw->nmacs >= NET_SWITCH_MAC_MAX) {
		net_mac_remove_if(sw, net_mac_aged, &now);
		if (sw->nmacs >= NET_SWITCH_MAC_MAX) {
			if (!sw->warned_full)
				log_warn("switch: MAC table full (%u); new addresses flood",
					 NET_SWITCH_MAC_MAX);
			sw->warned_full = true;
			return;
		}
		i = net_mac_find(sw, mac);
		e = &sw->macs[i];
	}
	memcpy(e->mac, mac, NET_ETH_ALEN);
	e->port = port;
	e->seen_ms = now;
	sw->nmacs++;
	sw->gen++;
}

/* Learn (or refresh, or move) @mac on @port; @i is net_mac_find() of it. */
static inline void net_switch_learn(struct net_switch *sw, const uint8_t *mac,
				    struct net_switch_port *port, uint64_t now, unsigned int i)
{
	struct net_mac_entry *e = &sw->macs[i];

	/* The common case, a refresh: out-of-line work only for a move or a new address. */
	if (__builtin_expect(e->port == port, 1))
		e->seen_ms = now;
	else
		net_switch_learn_new(sw, mac, port, now, i);
}

/* The port learned at slot @i (a destination's net_mac_find()), or NULL (none, or aged out). */
static struct net_switch_port *net_switch_lookup(struct net_switch *sw, unsigned int i,
						 uint64_t now)
{
	if (!sw->macs[i].port)
		return NULL;
	if (net_mac_expired(&sw->macs[i], now)) {
		net_mac_remove_slot(sw, i);
		return NULL;
	}
	return sw->macs[i].port;
}

int vireo_net_switch_new(struct net_switch **out)
{
	struct net_switch *sw = calloc(1, sizeof(*sw));

	if (!sw)
		return -ENOMEM;
	sw->macs = calloc(NET_SWITCH_MAC_SLOTS, sizeof(*sw->macs));
	sw->scratch[0] = malloc(NET_OFFLOAD_SCRATCH);
	if (!sw->macs || !sw->scratch[0]) {
		free(sw->macs);
		free(sw->scratch[0]);
		free(sw);
		return -ENOMEM;
	}
	sw->seed = net_switch_seed(sw);
	sw->now_ms = net_switch_monotonic_ms;
	*out = sw;
	return 0;
}

static void net_switch_port_destroy(struct net_switch_port *port)
{
	free(port->name);
	free(port);
}

void vireo_net_switch_free(struct net_switch *sw)
{
	if (!sw)
		return;
	for (unsigned int i = 0; i < sw->nports; i++)
		net_switch_port_destroy(sw->ports[i]);
	while (sw->zombies) {
		struct net_switch_port *next = sw->zombies->next_zombie;

		net_switch_port_destroy(sw->zombies);
		sw->zombies = next;
	}
	for (unsigned int i = 0; i < NET_SWITCH_MAX_DEPTH; i++)
		free(sw->scratch[i]);
	free(sw->macs);
	free(sw);
}

int vireo_net_switch_add_port(struct net_switch *sw, const char *name,
			      const struct net_port_ops *ops, void *opaque,
			      struct net_switch_port **out)
{
	struct net_switch_port *port;

	if (sw->nports >= NET_SWITCH_MAX_PORTS)
		return -ENOSPC;
	port = calloc(1, sizeof(*port));
	if (!port)
		return -ENOMEM;
	port->name = strdup(name);
	if (!port->name) {
		free(port);
		return -ENOMEM;
	}
	port->sw = sw;
	port->ops = *ops;
	port->opaque = opaque;
	sw->ports[sw->nports++] = port;
	log_debug("switch: port %s added", port->name);
	*out = port;
	return 0;
}

void vireo_net_switch_port_flush(struct net_switch *sw, struct net_switch_port *port)
{
	net_mac_remove_if(sw, net_mac_on_port, port);
}

void vireo_net_switch_remove_port(struct net_switch *sw, struct net_switch_port *port)
{
	unsigned int i = 0;

	while (i < sw->nports && sw->ports[i] != port)
		i++;
	if (i == sw->nports)
		return;
	memmove(&sw->ports[i], &sw->ports[i + 1], (sw->nports - i - 1u) * sizeof(sw->ports[0]));
	sw->nports--;
	vireo_net_switch_port_flush(sw, port);
	log_debug("switch: port %s removed", port->name);
	if (sw->depth == 0) {
		net_switch_port_destroy(port);
		return;
	}
	/* a forwarding loop up the stack may still hold it */
	port->removed = true;
	port->next_zombie = sw->zombies;
	sw->zombies = port;
}

/* @emit for vireo_net_offload_deliver(): count, and always go on with the next segment. */
static int net_switch_port_emit(void *opaque, const struct net_packet *pkt)
{
	struct net_switch_port *port = opaque;

	if (port->ops.transmit(port->opaque, pkt) == 0) {
		port->st.out_frames++;
		port->st.out_bytes += pkt->len;
	} else {
		port->st.out_dropped++;
	}
	return 0;
}

/* Send @pkt out of @port, with the offloads it lacks done in @scratch. */
static void net_switch_output(struct net_switch_port *port, const struct net_packet *pkt,
			      uint8_t *scratch)
{
	uint32_t offloads = port->ops.offloads ? port->ops.offloads(port->opaque) : 0;

	if (port->removed)
		return;
	if (vireo_net_offload_deliver(pkt, offloads, scratch, net_switch_port_emit, port) ==
	    -EINVAL) {
		port->st.offload_errors++;
		log_debug("switch: malformed offload request, not sent to %s", port->name);
	}
}

/* Every port but @from; a copy of the list, as a transmit may add or remove ports. */
static void net_switch_flood(struct net_switch *sw, struct net_switch_port *from,
			     const struct net_packet *pkt, uint8_t *scratch)
{
	struct net_switch_port *ports[NET_SWITCH_MAX_PORTS];
	unsigned int n = 0;

	/* The others only, copied before the first transmit (no memcpy call per frame). */
	for (unsigned int i = 0; i < sw->nports; i++)
		if (sw->ports[i] != from)
			ports[n++] = sw->ports[i];
	for (unsigned int i = 0; i < n; i++)
		net_switch_output(ports[i], pkt, scratch);
}

/* Scratch for the current nesting level, or NULL (too deep, or no memory). */
static uint8_t *net_switch_scratch(struct net_switch *sw)
{
	if (sw->depth >= NET_SWITCH_MAX_DEPTH)
		return NULL;
	if (!sw->scratch[sw->depth])
		sw->scratch[sw->depth] = malloc(NET_OFFLOAD_SCRATCH);
	return sw->scratch[sw->depth];
}

/* Look @p's source and destination up and remember them in @m (addresses @head, @tail). */
static __attribute__((noinline)) void net_switch_memo_fill(struct net_switch *sw,
							   struct net_pair_memo *m,
							   const uint8_t *p, uint64_t head,
							   uint32_t tail)
{
	m->head = head;
	m->tail = tail;
	m->gen = sw->gen;
	m->src_slot = net_mac_find(sw, p + NET_ETH_ALEN);
	m->dst_slot = net_mac_find(sw, p);
}

/*
 * The slots of @pkt's source and destination (net_mac_find()), from @from's
 * memo when the addresses and the table's generation are those it holds.
 */
static void net_switch_find_pair(struct net_switch *sw, struct net_switch_port *from,
				 const struct net_packet *pkt, unsigned int *src_slot,
				 unsigned int *dst_slot)
{
	struct net_pair_memo *m = &from->memo;
	uint64_t head;
	uint32_t tail;

	net_pair_key(pkt->data, &head, &tail);
	if (m->head != head || m->tail != tail || m->gen != sw->gen)
		net_switch_memo_fill(sw, m, pkt->data, head, tail);
	*src_slot = m->src_slot;
	*dst_slot = m->dst_slot;
}

/* Learn from @pkt's source, then send it where its destination is. */
static void net_switch_forward(struct net_switch *sw, struct net_switch_port *from,
			       const struct net_packet *pkt, uint8_t *scratch)
{
	const uint8_t *dst = pkt->data, *src = pkt->data + NET_ETH_ALEN;
	uint64_t now = sw->in_batch ? sw->batch_ms : sw->now_ms(sw->clock_opaque);
	unsigned int src_slot, dst_slot;
	uint64_t gen = sw->gen;
	struct net_switch_port *to;

	net_switch_find_pair(sw, from, pkt, &src_slot, &dst_slot);
	net_switch_learn(sw, src, from, now, src_slot);
	if (net_mac_is_multicast(dst)) {
		to = NULL;
	} else {
		/* Learning a new address (or sweeping aged ones for room) may have moved entries. */
		if (sw->gen != gen)
			dst_slot = net_mac_find(sw, dst);
		to = net_switch_lookup(sw, dst_slot, now);
	}
	if (to == from)
		from->st.hairpin++;
	else if (to)
		net_switch_output(to, pkt, scratch);
	else if (!(sw->nports == 1 && sw->ports[0] == from)) /* alone: one guest's back-end */
		net_switch_flood(sw, from, pkt, scratch);
}

void vireo_net_switch_input(struct net_switch *sw, struct net_switch_port *from,
			    const struct net_packet *pkt)
{
	uint8_t *scratch;

	from->st.in_frames++;
	if (from->removed || pkt->len < NET_ETH_HLEN)
		return;
	/* 802.1D §7.12.1 / IEEE 802 §8.2: a source address is never a group address */
	if (net_mac_is_multicast(pkt->data + NET_ETH_ALEN) ||
	    net_mac_is_zero(pkt->data + NET_ETH_ALEN))
		return;
	from->st.in_bytes += pkt->len;
	scratch = net_switch_scratch(sw);
	if (!scratch) {
		log_warn("switch: frame from %s dropped: nested %u deep or out of memory",
			 from->name, sw->depth);
		return;
	}
	sw->depth++;
	net_switch_forward(sw, from, pkt, scratch);
	if (--sw->depth > 0)
		return;
	while (sw->zombies) {
		struct net_switch_port *next = sw->zombies->next_zombie;

		net_switch_port_destroy(sw->zombies);
		sw->zombies = next;
	}
}

const char *vireo_net_switch_port_name(const struct net_switch_port *port)
{
	return port->name;
}

void vireo_net_switch_port_get_stats(const struct net_switch_port *port,
				     struct net_switch_port_stats *st)
{
	*st = port->st;
}

void vireo_net_switch_for_each_mac(const struct net_switch *sw,
				   void (*fn)(void *opaque, const uint8_t *mac,
					      const struct net_switch_port *port),
				   void *opaque)
{
	uint64_t now = sw->now_ms(sw->clock_opaque);

	for (unsigned int i = 0; i < NET_SWITCH_MAC_SLOTS; i++) {
		const struct net_mac_entry *e = &sw->macs[i];

		if (e->port && !net_mac_expired(e, now))
			fn(opaque, e->mac, e->port);
	}
}

void vireo_net_switch_set_clock(struct net_switch *sw, uint64_t (*now_ms)(void *opaque),
				void *opaque)
{
	sw->now_ms = now_ms ? now_ms : net_switch_monotonic_ms;
	sw->clock_opaque = now_ms ? opaque : NULL;
}

void vireo_net_switch_batch_begin(struct net_switch *sw)
{
	sw->batch_ms = sw->now_ms(sw->clock_opaque);
	sw->in_batch = true;
}

void vireo_net_switch_batch_end(struct net_switch *sw)
{
	sw->in_batch = false;
}
