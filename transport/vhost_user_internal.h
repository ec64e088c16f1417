/* SPDX-License-Identifier: MIT */
/*
 * Private to the vhost-user back-end: its state, shared by the connection
 * code (vhost_user_backend.c), the request handlers (vhost_user_handlers.c)
 * the request assembly (vhost_user_conn.c) and the memory table (vhost_user_mem.c).
 */
#ifndef VIREO_TRANSPORT_VHOST_USER_INTERNAL_H
#define VIREO_TRANSPORT_VHOST_USER_INTERNAL_H

#include <pthread.h>
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
	 VIRTIO_BIT(VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS))

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
