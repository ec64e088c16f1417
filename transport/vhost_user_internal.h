/* SPDX-License-Identifier: MIT */
/*
 * Private to the vhost-user back-end: its state, shared by the connection
 * code (vhost_user_backend.c), the request handlers (vhost_user_handlers.c)
 * the request assembly (vhost_user_conn.c) and the memory table (vhost_user_mem.c).
 */
#ifndef VIREO_TRANSPORT_VHOST_USER_INTERNAL_H
#define VIREO_TRANSPORT_VHOST_USER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>

#include <vireo/device.h>
#include <vireo/guest_mem.h>
#include <vireo/inflight.h>
#include <vireo/vhost_user.h>
#include <vireo/vhost_user_backend.h>

/* What the back-end offers on top of the model's features. */
#define VUB_PROTOCOL_FEATURES                                                                 \
	(VIRTIO_BIT(VHOST_USER_PROTOCOL_F_MQ) | VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) | \
	 VIRTIO_BIT(VHOST_USER_PROTOCOL_F_CONFIG) |                                           \
	 VIRTIO_BIT(VHOST_USER_PROTOCOL_F_RESET_DEVICE) |                                     \
	 VIRTIO_BIT(VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |                              \
	 VIRTIO_BIT(VHOST_USER_PROTOCOL_F_IOTLB) | VIRTIO_BIT(VHOST_USER_PROTOCOL_F_BACKEND_REQ))

/* The protocol features offered: INFLIGHT_SHMFD only with opt.inflight (serve blk). */
static inline uint64_t vub_protocol_offered(const struct vhost_user_backend_options *opt)
{
	return VUB_PROTOCOL_FEATURES |
	       (opt->inflight ? VIRTIO_BIT(VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) : 0);
}

/* A handler's verdict that is not an error: the request was refused, the connection stays. */
#define VUB_REFUSED 1

/**
 * struct vub_region - one mapped region of the front-end's memory
 * @r: as the front-end described it
 * @map, @map_len: our mapping of its fd, from mmap_offset rounded down to a page
 * @host: where guest_addr is in that mapping
 * @adds: ADD_MEM_REGs of this very region not yet removed (QEMU's multi-queue
 *	vhost-user-net sends one per queue pair's vhost device)
 * @guard: the mapping's mem_guard slot (a SIGBUS there drops the front-end)
 */
struct vub_region {
	struct vhost_user_mem_region r;
	void *map;
	size_t map_len;
	void *host;
	unsigned int adds;
	int guard;
};

/**
 * struct vub_queue - the vhost-user view of one ring (the core holds the rest)
 * @desc_ua, @avail_ua, @used_ua: ring addresses in the front-end's address space
 * @addr_set: SET_VRING_ADDR was accepted
 * @started: a kick fd arrived and no GET_VRING_BASE since ("Ring states")
 * @enabled: SET_VRING_ENABLE 1, or protocol features not negotiated
 * @err_fd: SET_VRING_ERR eventfd, or -1
 * @err_signal: signals @err_fd without ever blocking (NULL with -1)
 */
struct vub_queue {
	uint64_t desc_ua, avail_ua, used_ua;
	bool addr_set;
	bool started;
	bool enabled;
	int err_fd;
	struct peer_eventfd *err_signal;
};

/* Multi-queue (vhost_user_threads.c): a queue's loop and thread, kept across connections. */
struct vub_qthread {
	struct vhost_user_backend *backend;
	struct event_loop loop;
	bool loop_ready;
	bool thread_running;
	pthread_t thread;
};

/**
 * struct vub_inflight - the inflight region the front-end handed us (SET_INFLIGHT_FD)
 * @map, @map_len: our mapping of its fd
 * @guard: the mapping's mem_guard slot (-1 with no mapping)
 * @queues: each queue's view of its part, lent to the core
 */
struct vub_inflight {
	void *map;
	size_t map_len;
	int guard;
	struct vinflight queues[VDEV_MAX_QUEUES];
};

/* The IOTLB's bound: a flood of updates evicts older entries (asked for again when used). */
#define VUB_IOTLB_MAX_ENTRIES 2048u

/* One translation: [iova, last] is at uaddr with perm (VHOST_ACCESS_RO/WO/RW). */
struct vub_iotlb_entry {
	uint64_t iova;
	uint64_t last;
	uint64_t uaddr;
	uint8_t perm;
};

/**
 * struct vub_iotlb - the IOTLB (vhost_user_iotlb.c): sorted, non-overlapping
 * @entries: VUB_IOTLB_MAX_ENTRIES slots, allocated at the first update
 * @num: in use
 * @evict_state: xorshift state picking the entry a full table evicts
 * @evictions: entries evicted so far
 * @dropped: since the last quiesce a translation left the table without an
 *	invalidation (evicted, or a piece a full table could not keep): a request in
 *	flight may still hold it
 * @updates, @invalidations: IOTLB_MSG updates and invalidations applied
 *	(control thread only, as the table)
 */
struct vub_iotlb {
	struct vub_iotlb_entry *entries;
	unsigned int num;
	uint32_t evict_state;
	uint64_t evictions;
	bool dropped;
	uint64_t updates;
	uint64_t invalidations;
};

/**
 * struct vub_iova_ctx - a queue's IOVA translation state (the hook's opaque)
 * @b, @index: whose
 * @miss_pending: a MISS for @miss_iova/@miss_perm was asked, no update since
 *	(written by the queue's thread while it runs, by the control thread
 *	while it is stopped)
 * @miss_sent: and it went out (not asked again until an update)
 * @miss_tracked: and its reply will come (NEED_REPLY, in the channel's
 *	@waiting): only an update that covers @miss_iova retries the queue
 * @ring_waiting: the ring could not start: a part of it missed
 * @misses: MISS messages sent
 * @hits: buffer translations the IOTLB answered (relaxed atomics, both:
 *	the queue's thread counts, the control thread reads the statistics)
 */
struct vub_iova_ctx {
	struct vhost_user_backend *b;
	unsigned int index;
	bool miss_pending;
	bool miss_sent;
	bool miss_tracked;
	bool ring_waiting;
	uint8_t miss_perm;
	uint64_t miss_iova;
	_Atomic uint64_t misses;
	_Atomic uint64_t hits;
};

/* Misses asked with NEED_REPLY whose reply has not come, oldest first (a ring). */
#define VUB_MISS_REPLIES 64u

/**
 * struct vub_backend_chan - the back-end channel (SET_BACKEND_REQ_FD)
 * @fd: the socket, or -1; watched in the back-end's loop for replies
 * @lock: queue threads send misses on it
 * @waiting: each miss sent with NEED_REPLY (queue, IOVA, access, and the
 *	IOTLB's invalidation count then), in send order
 * @first, @count: the ring of @waiting
 * @stale: how many of the oldest @waiting were asked before the IOTLB was
 *	dropped (vub_iotlb_device_stopped()): their replies are not checked
 * @in, @got: the reply being assembled (nonblocking reads)
 */
struct vub_backend_chan {
	int fd;
	pthread_mutex_t lock;
	struct {
		unsigned int queue;
		uint8_t perm;
		uint64_t iova;
		uint64_t invalidations;
	} waiting[VUB_MISS_REPLIES];
	unsigned int first, count, stale;
	uint8_t in[sizeof(struct vhost_user_header) + sizeof(uint64_t)];
	size_t got;
};

/* A front-end has this long from a message's first byte to its last (option msg_timeout_ms). */
#define VUB_MSG_TIMEOUT_MS 5000u

/**
 * struct vub_conn - the request being assembled on the connection (vhost_user_conn.c)
 * @timer_fd: the whole-message deadline (timerfd), watched by the back-end's loop
 * @timeout_ms: the deadline, from the message's first byte
 * @armed: @timer_fd runs (a message started and is not complete)
 * @msg, @got: the message so far: @got bytes of header and payload, its fds
 */
struct vub_conn {
	int timer_fd;
	unsigned int timeout_ms;
	bool armed;
	struct vhost_user_msg msg;
	size_t got;
};

struct vhost_user_backend {
	struct vdev *dev;
	struct event_loop *loop;
	struct vhost_user_backend_options opt;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd;
	int conn_fd;
	struct vub_conn conn; /* valid while conn_fd >= 0 */
	unsigned long conn_count;
	/* Per connection, cleared at disconnect. */
	uint64_t protocol_features;
	bool protocol_negotiated; /* VHOST_USER_F_PROTOCOL_FEATURES acked in SET_FEATURES */
	bool err_signalled;
	bool per_queue;	       /* more than one queue: one loop and thread per queue */
	bool threads_attached; /* the device's queues point at our loops */
	int wake_fd;	       /* a queue thread saw DEVICE_NEEDS_RESET */
	struct guest_mem mem;
	struct vub_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned int num_regions;
	struct vub_queue queues[VDEV_MAX_QUEUES];
	struct vub_qthread qthreads[VDEV_MAX_QUEUES];
	struct vub_inflight inflight; /* per connection */
	struct vub_backend_chan chan; /* per connection */
	struct vub_iotlb iotlb;	      /* per connection */
	struct vub_iova_ctx iova[VDEV_MAX_QUEUES];
};

/* vhost_user_handlers.c */
/**
 * vub_handle() - run the handler of a checked request; fills @reply when
 * the request has a reply body (reply->hdr.size set)
 * Return: 0; VUB_REFUSED; -errno for a protocol violation (close the connection).
 */
int vub_handle(struct vhost_user_backend *b, struct vhost_user_msg *msg,
	       struct vhost_user_msg *reply, const char **why);
void vub_reset_connection_state(struct vhost_user_backend *b);

/* vhost_user_mem.c */
/**
 * vub_mem_set_table() - replace the whole table (SET_MEM_TABLE); takes @msg's fds
 * Return: 0, or -EINVAL/-errno with the old table unchanged.
 */
int vub_mem_set_table(struct vhost_user_backend *b, struct vhost_user_msg *msg, const char **why);
/*
 * vub_memory_fd_check() - may @fd back the front-end's memory? A regular file on tmpfs
 * (memfd, /dev/shm) or hugetlbfs, at least @need bytes long: pages the kernel serves
 * itself. A file on FUSE or a network file system would let the front-end stall our page
 * faults, and with them the thread that serves every connection. @page (or NULL): the page
 * size, raised to the huge page size on hugetlbfs. Return: 0, or -EINVAL (*@why set).
 */
int vub_memory_fd_check(int fd, uint64_t need, uint64_t *page, const char **why);
/** vub_mem_add() - ADD_MEM_REG; takes the fd. Return: 0 or -errno, table unchanged. */
int vub_mem_add(struct vhost_user_backend *b, struct vhost_user_msg *msg, const char **why);
/** vub_mem_remove() - REM_MEM_REG. Return: 0 or -ENOENT. */
int vub_mem_remove(struct vhost_user_backend *b, const struct vhost_user_mem_region *r,
		   const char **why);
/**
 * vub_mem_faulted() - a region's file shrank under a mapping (a SIGBUS there
 * was absorbed by mem_guard.h): the front-end must be dropped
 */
bool vub_mem_faulted(const struct vhost_user_backend *b);
/** vub_mem_clear() - unmap everything */
void vub_mem_clear(struct vhost_user_backend *b);
/**
 * vub_mem_user_to_guest() - translate front-end address @ua through the
 * regions' user addresses. Return: 0 and *@ga set, or -EFAULT.
 */
int vub_mem_user_to_guest(const struct vhost_user_backend *b, uint64_t ua, uint64_t *ga);

/* vhost_user_inflight.c */
/**
 * vub_inflight_get() - GET_INFLIGHT_FD: a new zeroed region; its fd goes in
 * @reply. Return: 0; -EINVAL (*@why: not negotiated, bad counts); -errno.
 */
int vub_inflight_get(struct vhost_user_backend *b, const struct vhost_user_msg *msg,
		     struct vhost_user_msg *reply, const char **why);
/**
 * vub_inflight_set() - SET_INFLIGHT_FD: check, map and lend each queue its
 * region (takes the fd). Return: 0; -EINVAL (*@why); -errno from mmap.
 */
int vub_inflight_set(struct vhost_user_backend *b, struct vhost_user_msg *msg, const char **why);
/** vub_inflight_clear() - queues stop tracking; the region is unmapped */
void vub_inflight_clear(struct vhost_user_backend *b);
/** vub_inflight_faulted() - the region's file shrank under our mapping */
bool vub_inflight_faulted(const struct vhost_user_backend *b);

/* vhost_user_iotlb.c */
/**
 * vub_iotlb_update() - map [@iova, @iova + @size) to @uaddr with @perm,
 * replacing what overlaps it; a full table evicts one entry first.
 * Return: entries it overlapped (0 or more); -EINVAL (size 0, a range that wraps, perm not RO/WO/RW); -ENOMEM.
 */
int vub_iotlb_update(struct vub_iotlb *t, uint64_t iova, uint64_t size, uint64_t uaddr,
		     uint8_t perm);
/** vub_iotlb_invalidate() - Return: entries overlapped (trimmed or removed); -EINVAL (size 0, wraps) */
int vub_iotlb_invalidate(struct vub_iotlb *t, uint64_t iova, uint64_t size);
/**
 * vub_iotlb_lookup() - @iova for @len bytes with access @need (0: any)
 * Return: 0, *@uaddr and *@contig (1..@len); -EAGAIN (a miss); -EACCES.
 */
int vub_iotlb_lookup(const struct vub_iotlb *t, uint64_t iova, uint64_t len, uint8_t need,
		     uint64_t *uaddr, uint64_t *contig);
void vub_iotlb_clear(struct vub_iotlb *t);
void vub_iotlb_destroy(struct vub_iotlb *t);
/** vub_iotlb_msg() - IOTLB_MSG; fills the u64 @reply (0 applied, 1 refused with a log line) */
void vub_iotlb_msg(struct vhost_user_backend *b, const struct vhost_user_iotlb *m,
		   struct vhost_user_msg *reply);

/* vhost_user_chan.c */
/**
 * vub_backend_req_set() - SET_BACKEND_REQ_FD: the channel, watched for replies
 * Return: 0; VUB_REFUSED (not negotiated, not a stream socket: fd closed); -errno (loop).
 */
int vub_backend_req_set(struct vhost_user_backend *b, struct vhost_user_msg *msg);
/**
 * vub_chan_send_iotlb() - a BACKEND_IOTLB_MSG of @type for @iova and access
 * @perm, on behalf of queue @queue (a miss asks for a reply with REPLY_ACK)
 * Return: 1 (sent, its reply awaited); 0 (sent, no reply will come);
 * -ENOTCONN (no channel); -errno (never waits: -EAGAIN when full).
 */
int vub_chan_send_iotlb(struct vhost_user_backend *b, uint8_t type, uint64_t iova, uint8_t perm,
			unsigned int queue);
/** vub_chan_close() - no channel (control thread, queue threads stopped) */
void vub_chan_close(struct vhost_user_backend *b);
/** vub_chan_forget_waiting() - the replies still due are not to be checked (IOTLB dropped) */
void vub_chan_forget_waiting(struct vhost_user_backend *b);
/**
 * vub_iotlb_miss_unjudged() - the reply to queue @queue's miss of @iova/@perm
 * judges an IOMMU since changed: the queue asks again (control thread,
 * queue threads stopped)
 */
void vub_iotlb_miss_unjudged(struct vhost_user_backend *b, unsigned int queue, uint64_t iova,
			     uint8_t perm);
/**
 * vub_iotlb_chan_changed() - the channel closed or was replaced: no reply
 * comes for the misses pending, and each such queue asks again (control
 * thread, queue threads stopped)
 */
void vub_iotlb_chan_changed(struct vhost_user_backend *b);
/** vub_iotlb_device_stopped() - no ring started any more: empty the IOTLB (control thread) */
void vub_iotlb_device_stopped(struct vhost_user_backend *b);
/** vub_iotlb_disconnect() - close the back-end channel, empty the IOTLB */
void vub_iotlb_disconnect(struct vhost_user_backend *b);
/** vub_iotlb_vring_mem() - queue @i's translation of IOVAs (the core's vdev_queue.iova_mem) */
struct vring_mem vub_iotlb_vring_mem(struct vhost_user_backend *b, unsigned int i);
/**
 * vub_iotlb_ring_check() - queue @i's ring parts are mapped with their access
 * Return: 0; 1 (a miss was asked for: start again after the update); -EACCES (*@why).
 */
int vub_iotlb_ring_check(struct vhost_user_backend *b, unsigned int i, const char **why);

/* vhost_user_backend.c */
/** vub_quiesce() - finish in-flight requests of running queue @i, then stop serving it */
void vub_quiesce(struct vhost_user_backend *b, unsigned int i);
/** vub_try_start() - serve queue @i if started, enabled and addressed. Return: 0 or -errno. */
int vub_try_start(struct vhost_user_backend *b, unsigned int i, const char **why);

/* vhost_user_conn.c */
/**
 * vub_conn_open() - a new connection: nothing received, deadline disarmed;
 * @timeout_ms 0 means VUB_MSG_TIMEOUT_MS. Return: 0, or -errno (nothing open).
 */
int vub_conn_open(struct vub_conn *c, unsigned int timeout_ms);
/** vub_conn_close() - drop a partial message (its fds closed) and the timer */
void vub_conn_close(struct vub_conn *c);
/**
 * vub_conn_recv() - read without blocking what @fd has of the current request;
 * *@out points at it (its header is readable for a log line even on error)
 * Return: 1 (complete and checked: handle *@out, then close its fds); 0 (more
 * to come); vireo_vhost_user_recv_step()'s errors (the connection must close).
 */
int vub_conn_recv(struct vub_conn *c, int fd, struct vhost_user_msg **out);
/** vub_conn_deadline_passed() - after a timer event: a message is overdue */
bool vub_conn_deadline_passed(struct vub_conn *c);

/* vhost_user_threads.c */
/** vub_threads_init() - per-queue loops if the device has several queues. Return: 0 or -errno */
int vub_threads_init(struct vhost_user_backend *b);
/** vub_threads_attach() - point the device's queues at their loops */
void vub_threads_attach(struct vhost_user_backend *b);
/** vub_threads_fini() - stop the threads, detach and destroy the loops */
void vub_threads_fini(struct vhost_user_backend *b);
/** vub_threads_stop() - stop and join every queue thread (before touching the device) */
void vub_threads_stop(struct vhost_user_backend *b);
/** vub_threads_start() - a thread for every running queue that has none */
void vub_threads_start(struct vhost_user_backend *b);

#endif /* VIREO_TRANSPORT_VHOST_USER_INTERNAL_H */
