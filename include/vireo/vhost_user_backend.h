/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user back-end: serves one struct vdev to one front-end at a time
 * over a unix socket, through the same device core every transport uses.
 * Everything runs in the device's thread, in one event loop: the listening
 * socket (while nobody is connected), the connection, the kick fds and the
 * model's own fds (io_uring completions).
 *
 * Peer input never ends the server: a message that fails a check closes that
 * connection with one log line; the device is reset, memory unmapped, and
 * the next front-end is accepted. Nor does it stall the loop: messages are
 * read without blocking and must be whole within a deadline, replies are
 * sent without waiting (a front-end that does not read them is dropped). A descriptor the device cannot use puts it
 * in DEVICE_NEEDS_RESET and signals each queue's SET_VRING_ERR eventfd.
 */
#ifndef VIREO_VHOST_USER_BACKEND_H
#define VIREO_VHOST_USER_BACKEND_H

#include <stdbool.h>

#include <vireo/device.h>
#include <vireo/event_loop.h>
#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vhost_user_backend;

/**
 * struct vhost_user_backend_options
 * @socket_path: where to listen (a stale socket file there is replaced);
 *	NULL: no listener, only vireo_vhost_user_backend_attach()
 * @on_connect: optional; called when a front-end is accepted or attached,
 *	with the connection's number (1, 2, ...)
 * @on_disconnect: optional; called when a connection ends, with @reason
 *	(NULL for an orderly close)
 * @opaque: for the callbacks
 * @single_thread: serve every queue in the device's thread even when the
 *	device has several (its model is driven from one thread, e.g. a
 *	network device on a switch); otherwise each queue gets its own thread
 * @msg_timeout_ms: how long a front-end may take from the first byte of a
 *	message to its last before the connection is closed; 0: 5000
 * @socket_mode: permissions of the socket file; 0: 0600. It is created 0600
 *	and widened only after bind, so there is never a wider window.
 * @socket_group: with @set_socket_group, the socket file's group (so a QEMU
 *	running as another user in that group, e.g. libvirt's, can connect)
 * @inflight: offer INFLIGHT_SHMFD (inflight I/O tracking, so a restarted
 *	back-end resubmits what was in flight); for a model whose requests
 *	survive being started twice (blk), split rings
 */
struct vhost_user_backend_options {
	const char *socket_path;
	void (*on_connect)(void *opaque, unsigned long conn);
	void (*on_disconnect)(void *opaque, unsigned long conn, const char *reason);
	void *opaque;
	bool single_thread;
	unsigned int msg_timeout_ms;
	unsigned int socket_mode;
	bool set_socket_group;
	unsigned int socket_group;
	bool inflight;
};

/**
 * vireo_vhost_user_backend_new() - listen for front-ends that will drive @dev
 * @loop: the device's event loop; the back-end and @dev both use it
 * The socket is created mode 0600. @dev and @loop stay the caller's and
 * must outlive the back-end.
 * Return: 0 and *@out set; -EINVAL (path too long); -EADDRINUSE (a live
 * server owns the path); -EEXIST (the path is not a socket); -ENOMEM;
 * -errno from socket/bind/listen/vireo_event_loop_add.
 */
VIREO_API int vireo_vhost_user_backend_new(struct vhost_user_backend **out, struct vdev *dev,
					   struct event_loop *loop,
					   const struct vhost_user_backend_options *opt);

/**
 * vireo_vhost_user_backend_attach() - serve the connected stream socket @fd (the
 * back-end owns it from now on; for --fd and tests)
 * Return: 0; -EBUSY if a front-end is connected; -errno from the event
 * loop or timerfd_create (@fd is closed on every error).
 */
VIREO_API int vireo_vhost_user_backend_attach(struct vhost_user_backend *b, int fd);

/**
 * vireo_vhost_user_backend_adopt_listener() - accept front-ends on @fd, a listening
 * unix stream socket made by someone else (systemd socket activation, in the
 * style of Accept=no). The back-end owns @fd from then on and closes it at
 * free; the socket's path is left alone. Use it with no @socket_path.
 * Return: 0; -EBUSY (already listening); -EINVAL (@fd is not a listening unix
 * stream socket: still the caller's); -errno from fcntl or the event loop.
 */
VIREO_API int vireo_vhost_user_backend_adopt_listener(struct vhost_user_backend *b, int fd);

/**
 * vireo_vhost_user_backend_run() - dispatch until vireo_event_loop_stop(@loop)
 * (safe from another thread or from a signalfd handler in the loop)
 * Return: 0, or -errno from the event loop.
 */
VIREO_API int vireo_vhost_user_backend_run(struct vhost_user_backend *b);

/**
 * vireo_vhost_user_backend_after_dispatch() - for a caller that runs the event
 * loop itself (several back-ends on one loop, a polling loop): call after
 * each vireo_event_loop_run_once(), so a device that NEEDS_RESET signals each
 * queue's SET_VRING_ERR eventfd (vireo_vhost_user_backend_run() does it itself)
 */
VIREO_API void vireo_vhost_user_backend_after_dispatch(struct vhost_user_backend *b);

/** vireo_vhost_user_backend_connected() - a front-end is connected now */
VIREO_API bool vireo_vhost_user_backend_connected(const struct vhost_user_backend *b);

/**
 * struct vhost_user_backend_iotlb_stats - the IOTLB (VIRTIO_F_ACCESS_PLATFORM)
 * @active: ACCESS_PLATFORM is negotiated on the current connection
 * @hits: buffer translations the IOTLB answered (since the back-end was made)
 * @misses: VHOST_IOTLB_MISS requests sent to the front-end
 * @updates, @invalidations: IOTLB_MSG updates and invalidations applied
 * @evictions: entries dropped because the table was full
 * @entries: entries held now (the IOTLB is emptied at each disconnection)
 */
struct vhost_user_backend_iotlb_stats {
	bool active;
	uint64_t hits;
	uint64_t misses;
	uint64_t updates;
	uint64_t invalidations;
	uint64_t evictions;
	unsigned int entries;
};

/**
 * vireo_vhost_user_backend_iotlb_stats() - the IOTLB's counters; call it from
 * the device's thread (the event loop's), as the other calls. Never fails.
 */
VIREO_API void vireo_vhost_user_backend_iotlb_stats(const struct vhost_user_backend *b,
						    struct vhost_user_backend_iotlb_stats *st);

/**
 * vireo_vhost_user_backend_free() - close the connection, reset the device (in-flight
 * I/O completes first), unmap memory, stop listening and remove the socket
 * file. Call it from the device's thread.
 */
VIREO_API void vireo_vhost_user_backend_free(struct vhost_user_backend *b);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_VHOST_USER_BACKEND_H */
