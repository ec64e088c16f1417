// SPDX-License-Identifier: MIT
/*
 * The vhost-user back-end: the listening socket, one connection at a time,
 * the message loop (a whole message from vhost_user_conn.c, handle, reply or
 * REPLY_ACK without waiting) and the ring
 * start/stop rules of vhost-user.rst "Ring states". A bad message closes the
 * connection; the device is reset, memory unmapped, and the listening socket
 * goes back into the event loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vireo/log.h>

#include "transport/clock.h"
#include "transport/vhost_user_internal.h"

/* Handling a message for longer than this is logged (vub_log_slow()). */
#define VUB_SLOW_MESSAGE_MS 500

static void vub_conn_event(void *opaque, uint32_t events);
static void vub_deadline_event(void *opaque, uint32_t events);
static void vub_accept_event(void *opaque, uint32_t events);

/*
 * Stop serving queue @i. The model answers what it has in flight first
 * (device.h queue_stop): it waits on its own back-end, never on the
 * front-end, so this is bounded whatever the front-end does meanwhile.
 */
void vub_quiesce(struct vhost_user_backend *b, unsigned int i)
{
	vireo_vdev_queue_disable(b->dev, i);
}

/*
 * Queue @i's ring addresses for the core: guest addresses from user ones, or
 * with ACCESS_PLATFORM the IOVAs as they are, translated by the IOTLB
 * (D-VU-IOTLB-01/02). Return: 0; 1 (an IOVA missed: asked for, start later);
 * -EINVAL (*@why).
 */
static int vub_ring_addresses(struct vhost_user_backend *b, unsigned int i, uint64_t *desc,
			      uint64_t *avail, uint64_t *used, const char **why)
{
	struct vub_queue *q = &b->queues[i];
	uint64_t need = VIRTIO_BIT(VHOST_USER_PROTOCOL_F_IOTLB) |
			VIRTIO_BIT(VHOST_USER_PROTOCOL_F_BACKEND_REQ);
	int ret;

	if (!vdev_has_feature(b->dev, VIRTIO_F_ACCESS_PLATFORM)) {
		b->dev->queues[i].iova_mem = (struct vring_mem){0};
		if (vub_mem_user_to_guest(b, q->desc_ua, desc) < 0 ||
		    vub_mem_user_to_guest(b, q->avail_ua, avail) < 0 ||
		    vub_mem_user_to_guest(b, q->used_ua, used) < 0) {
			*why = "ring address outside the memory table";
			return -EINVAL;
		}
		return 0;
	}
	/* Without both, IOVAs could never be translated: vhost-user.rst "IOMMU support". */
	if ((b->protocol_features & need) != need) {
		*why = "ACCESS_PLATFORM without PROTOCOL_F_IOTLB and PROTOCOL_F_BACKEND_REQ";
		return -EINVAL;
	}
	ret = vub_iotlb_ring_check(b, i, why);
	if (ret < 0)
		return -EINVAL;
	if (ret > 0)
		return 1;
	b->dev->queues[i].iova_mem = vub_iotlb_vring_mem(b, i);
	*desc = q->desc_ua;
	*avail = q->avail_ua;
	*used = q->used_ua;
	return 0;
}

/* Return: 0 (started, or not ready yet), or -errno with *@why set. */
int vub_try_start(struct vhost_user_backend *b, unsigned int i, const char **why)
{
	struct vub_queue *q = &b->queues[i];
	uint64_t desc, avail, used;
	int ret;

	/* A model that serves disabled rings gets them started too ("Ring states"). */
	if (b->dev->queues[i].enabled || !q->started || !q->addr_set || vdev_needs_reset(b->dev) ||
	    (!q->enabled && !b->dev->serves_disabled_rings))
		return 0;
	/* Features 0 would bypass the VERSION_1 rule by omission: SET_FEATURES comes first. */
	if (!vdev_has_feature(b->dev, VIRTIO_F_VERSION_1)) {
		*why = "ring started before SET_FEATURES";
		return -EINVAL;
	}
	b->dev->queues[i].disabled = !q->enabled;
	ret = vub_ring_addresses(b, i, &desc, &avail, &used, why);
	if (ret != 0)
		return ret < 0 ? ret : 0;
	ret = vireo_vdev_queue_set_addr(b->dev, i, desc, avail, used);
	if (ret == 0)
		ret = vireo_vdev_queue_enable(b->dev, i);
	if (ret < 0) {
		*why = ret == -EPROTO	? "inflight region invalid for this ring"
		       : ret == -ENOSPC ? "no room in the event loop for the ring's kick fd"
					: "ring does not fit in guest memory, or bad ring geometry";
		return ret;
	}
	/* device.h: vhost-user activates the model at its first running queue. */
	ret = vireo_vdev_activate(b->dev);
	if (ret < 0)
		*why = "the device failed to activate";
	return ret;
}

static void vub_disconnect(struct vhost_user_backend *b, const char *reason);

/*
 * Every queue's SET_VRING_ERR eventfd hears about DEVICE_NEEDS_RESET once. A
 * front-end that shrank a region's file under our mapping is dropped.
 */
static void vub_check_needs_reset(struct vhost_user_backend *b)
{
	unsigned int i;

	if (b->conn_fd >= 0 && (vub_mem_faulted(b) || vub_inflight_faulted(b))) {
		log_warn("vhost-user: connection %lu: a memory region's file shrank under its "
			 "mapping: closing",
			 b->conn_count);
		/* device.h: no queue thread runs while this thread works on the device. */
		vub_threads_stop(b);
		vub_disconnect(b, "memory region truncated");
		return;
	}

	if (!vdev_needs_reset(b->dev)) {
		b->err_signalled = false;
		return;
	}
	if (b->err_signalled)
		return;
	b->err_signalled = true;
	for (i = 0; i < b->dev->num_queues; i++)
		if (b->queues[i].err_signal)
			(void)vireo_peer_eventfd_signal(b->queues[i].err_signal);
}

static void vub_disconnect(struct vhost_user_backend *b, const char *reason)
{
	if (b->conn_fd < 0)
		return;
	(void)vireo_event_loop_remove(b->loop, b->conn_fd);
	(void)vireo_event_loop_remove(b->loop, b->conn.timer_fd);
	close(b->conn_fd);
	b->conn_fd = -1;
	vub_conn_close(&b->conn);
	/* The model finishes in-flight I/O before the memory it targets goes. */
	vireo_vdev_reset(b->dev);
	vub_reset_connection_state(b);
	vub_inflight_clear(b);
	vub_iotlb_disconnect(b);
	vub_mem_clear(b);
	if (b->opt.on_disconnect)
		b->opt.on_disconnect(b->opt.opaque, b->conn_count, reason);
}

static const char *vub_recv_error(int err)
{
	switch (err) {
	case -EPROTO:
		return "bad version or flags";
	case -ENOTSUP:
		return "unknown request";
	case -EMSGSIZE:
		return "wrong payload size";
	case -EBADF:
		return "wrong number of file descriptors";
	case -EPIPE:
		return "truncated message";
	case -ECOMM:
		return "truncated or misplaced control data";
	default:
		return "receive failed";
	}
}

/*
 * The reply body, or the REPLY_ACK status, without waiting for the front-end
 * to read: one that lets its socket fill up is dropped, never waited for.
 * Return: 0; -EAGAIN; -errno from send.
 */
static int vub_reply(struct vhost_user_backend *b, const struct vhost_user_msg *msg,
		     struct vhost_user_msg *reply, int ret)
{
	reply->hdr.request = msg->hdr.request;
	reply->hdr.flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK;
	if (vireo_vhost_user_request_has_reply(msg->hdr.request))
		return ret < 0 ? 0 : vireo_vhost_user_send_nowait(b->conn_fd, reply);
	/* REPLY_ACK: with need_reply set, always a status (0 success). */
	if (!(b->protocol_features & VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK)) ||
	    !(msg->hdr.flags & VHOST_USER_NEED_REPLY_MASK))
		return 0;
	reply->hdr.size = sizeof(uint64_t);
	reply->payload.u64 = ret != 0;
	return vireo_vhost_user_send_nowait(b->conn_fd, reply);
}

/* A message that failed to arrive whole or to pass the table's checks ends the connection. */
static void vub_recv_failed(struct vhost_user_backend *b, int err, uint32_t request)
{
	if (err == -ECONNRESET) {
		vub_disconnect(b, NULL);
		return;
	}
	log_warn("vhost-user: connection %lu: %s (request %u): closing", b->conn_count,
		 vub_recv_error(err), request);
	vub_disconnect(b, vub_recv_error(err));
}

/*
 * A front-end such as QEMU waits for many replies with its main loop held, so
 * a slow message freezes the whole guest: say so, with the time it took (from
 * before the queue threads stop: a queue thread slow to stop counts too).
 */
static void vub_log_slow(const struct vhost_user_backend *b, const char *name, int64_t ms)
{
	if (ms >= VUB_SLOW_MESSAGE_MS)
		log_warn("vhost-user: connection %lu: %s took %lld ms to handle", b->conn_count,
			 name, (long long)ms);
}

/*
 * One checked message: handle, reply; any failure ends the connection.
 * @start_ms: when its handling began (transport_clock_ms()).
 */
static void vub_serve_one(struct vhost_user_backend *b, struct vhost_user_msg *msg,
			  int64_t start_ms)
{
	const char *name = vireo_vhost_user_request_name(msg->hdr.request);
	struct vhost_user_msg reply;
	const char *why = "failed";
	int ret;

	log_debug("vhost-user: %s", name);
	vireo_vhost_user_msg_init(&reply, msg->hdr.request, 0);
	ret = vub_handle(b, msg, &reply, &why);
	/* Before the reply: a front-end that has it may look for this line. */
	vub_log_slow(b, name, transport_clock_ms() - start_ms);
	/* Fds a handler did not take (a stray REM_MEM_REG fd included) are closed unused. */
	vireo_vhost_user_msg_close_fds(msg);
	if (ret < 0) {
		log_warn("vhost-user: connection %lu: %s: %s: closing", b->conn_count, name, why);
		(void)vub_reply(b, msg, &reply, ret);
		vub_disconnect(b, why);
		return;
	}
	ret = vub_reply(b, msg, &reply, ret);
	/* GET_INFLIGHT_FD's fd went with the reply; the front-end holds the file now. */
	vireo_vhost_user_msg_close_fds(&reply);
	if (ret < 0) {
		why = ret == -EAGAIN ? "front-end does not read its replies" : "reply failed";
		log_warn("vhost-user: connection %lu: cannot send the %s reply (%s): closing",
			 b->conn_count, name, ret == -EAGAIN ? "socket full" : "send failed");
		vub_disconnect(b, why);
	}
}

static void vub_conn_event(void *opaque, uint32_t events)
{
	struct vhost_user_backend *b = opaque;
	struct vhost_user_msg *msg;
	int64_t start_ms;
	int ret;

	(void)events;
	if (b->conn_fd < 0)
		return;
	/* Never blocks; a stale event (the loop ran nested while a ring drained) reads nothing. */
	ret = vub_conn_recv(&b->conn, b->conn_fd, &msg);
	if (ret == 0)
		return; /* a partial message: the queue threads keep running */
	start_ms = transport_clock_ms();
	/* device.h: no queue thread runs while this thread works on the device. */
	vub_threads_stop(b);
	if (ret < 0)
		vub_recv_failed(b, ret, msg->hdr.request);
	else
		vub_serve_one(b, msg, start_ms);
	vub_threads_start(b);
}

static void vub_deadline_event(void *opaque, uint32_t events)
{
	struct vhost_user_backend *b = opaque;

	(void)events;
	if (b->conn_fd < 0 || !vub_conn_deadline_passed(&b->conn))
		return;
	log_warn("vhost-user: connection %lu: no whole message within %u ms: closing",
		 b->conn_count, b->conn.timeout_ms);
	vub_threads_stop(b);
	vub_disconnect(b, "message deadline passed");
	vub_threads_start(b);
}

/* Return: 0; -EBUSY (@fd closed); -errno from the event loop (@fd closed). */
int vireo_vhost_user_backend_attach(struct vhost_user_backend *b, int fd)
{
	int ret;

	if (b->conn_fd >= 0) {
		close(fd);
		return -EBUSY;
	}
	/* No socket timeouts: nothing on this socket waits (vhost_user_conn.c). */
	ret = vub_conn_open(&b->conn, b->opt.msg_timeout_ms);
	if (ret < 0)
		goto out_close_fd;
	ret = vireo_event_loop_add(b->loop, b->conn.timer_fd, vub_deadline_event, b);
	if (ret < 0)
		goto out_close_conn;
	ret = vireo_event_loop_add(b->loop, fd, vub_conn_event, b);
	if (ret < 0)
		goto out_remove_timer;
	b->conn_fd = fd;
	b->conn_count++;
	if (b->opt.on_connect)
		b->opt.on_connect(b->opt.opaque, b->conn_count);
	return 0;
out_remove_timer:
	(void)vireo_event_loop_remove(b->loop, b->conn.timer_fd);
out_close_conn:
	vub_conn_close(&b->conn);
out_close_fd:
	close(fd);
	return ret;
}

/*
 * The front-end being served has closed (or reset) its end, even if requests it
 * sent before are still unread: a front-end never half-closes while it wants
 * replies, so its next connection is not a second front-end.
 */
static bool vub_conn_gone(const struct vhost_user_backend *b)
{
	struct pollfd p = {.fd = b->conn_fd, .events = POLLRDHUP};

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/*
 * One front-end at a time: a second one is refused at once, with one log line,
 * rather than left waiting in the backlog. A front-end that reconnects right
 * after closing is not refused: its old connection's close is taken first.
 */
static void vub_accept_event(void *opaque, uint32_t events)
{
	struct vhost_user_backend *b = opaque;
	int fd;

	(void)events;
	fd = accept4(b->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return; /* EAGAIN (nonblocking listener), or the peer gave up */
	if (b->conn_fd >= 0 && vub_conn_gone(b)) {
		/* device.h: no queue thread runs while this thread works on the device. */
		vub_threads_stop(b);
		vub_disconnect(b, NULL);
	}
	if (b->conn_fd >= 0) {
		log_warn("vhost-user: a second front-end refused: connection %lu is being served",
			 b->conn_count);
		close(fd);
		return;
	}
	if (vireo_vhost_user_backend_attach(b, fd) < 0)
		log_warn("vhost-user: cannot serve a new connection");
}

/* Return: 0 (nothing there, or a dead socket removed); -EADDRINUSE; -EEXIST; -errno. */
static int vub_remove_stale(const struct sockaddr_un *sa)
{
	struct stat st;
	int probe, ret;

	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return -errno;
	ret = connect(probe, (const struct sockaddr *)sa, sizeof(*sa));
	close(probe);
	if (ret == 0)
		return -EADDRINUSE;
	return unlink(sa->sun_path) < 0 ? -errno : 0;
}

/*
 * Bind and listen on @tmp (mode 0600 from the start: no window in which others may connect),
 * widen the mode or group if asked, then rename it to @path: the socket appears only once it
 * accepts, so a client that waits for the file never meets ECONNREFUSED.
 * Return: the listening fd, or -errno.
 */
static int vub_bind_listen(const struct vhost_user_backend *b, const char *tmp, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	mode_t old;
	int fd, ret;

	strcpy(sa.sun_path, tmp);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	old = umask(0177);
	ret = bind(fd, (const struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (ret < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	if (listen(fd, 4) < 0 ||
	    (b->opt.socket_mode && chmod(tmp, b->opt.socket_mode & 0777) < 0) ||
	    (b->opt.set_socket_group && chown(tmp, (uid_t)-1, b->opt.socket_group) < 0) ||
	    (strcmp(tmp, path) != 0 && rename(tmp, path) < 0)) {
		ret = -errno;
		close(fd);
		unlink(tmp);
		return ret;
	}
	return fd;
}

/* Return: 0 with b->listen_fd set, or -errno (see vireo_vhost_user_backend_new()). */
static int vub_listen(struct vhost_user_backend *b, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char tmp[sizeof(sa.sun_path)];
	struct stat st;
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -EINVAL;
	strcpy(sa.sun_path, path);
	ret = vub_remove_stale(&sa);
	if (ret < 0)
		return ret;
	/* Bound in place (the racy way) when the suffix does not fit or names a non-socket. */
	if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp) ||
	    (lstat(tmp, &st) == 0 && !S_ISSOCK(st.st_mode)))
		strcpy(tmp, path);
	else
		(void)unlink(tmp); /* a crashed server's leftover, if any */
	fd = vub_bind_listen(b, tmp, path);
	if (fd < 0)
		return fd;
	strcpy(b->path, path);
	b->listen_fd = fd;
	return 0;
}

/* @fd is a listening unix stream socket. */
static bool vub_is_listener(int fd)
{
	int listening = 0, domain = 0, type = 0;
	socklen_t len = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening)
		return false;
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 || domain != AF_UNIX)
		return false;
	len = sizeof(int);
	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

/* Return: 0; -EBUSY; -EINVAL (not a listener, @fd still the caller's); -errno. */
int vireo_vhost_user_backend_adopt_listener(struct vhost_user_backend *b, int fd)
{
	int flags, ret;

	if (b->listen_fd >= 0)
		return -EBUSY;
	if (!vub_is_listener(fd))
		return -EINVAL;
	/* accept4() after epoll must not block if the client went away meanwhile. */
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	ret = vireo_event_loop_add(b->loop, fd, vub_accept_event, b);
	if (ret < 0)
		return ret;
	b->listen_fd = fd;
	b->path[0] = '\0'; /* not ours to unlink */
	return 0;
}

/* Return: 0; -EINVAL; -EADDRINUSE; -EEXIST; -ENOMEM; -errno. */
int vireo_vhost_user_backend_new(struct vhost_user_backend **out, struct vdev *dev,
				 struct event_loop *loop,
				 const struct vhost_user_backend_options *opt)
{
	struct vhost_user_backend *b = calloc(1, sizeof(*b));
	unsigned int i;
	int ret;

	if (!b)
		return -ENOMEM;
	b->dev = dev;
	b->loop = loop;
	if (opt)
		b->opt = *opt;
	b->listen_fd = -1;
	b->conn_fd = -1;
	b->conn.timer_fd = -1;
	b->inflight.guard = -1;
	b->chan.fd = -1;
	b->iotlb.evict_state = 0x9e3779b9u;
	pthread_mutex_init(&b->chan.lock, NULL);
	for (i = 0; i < VDEV_MAX_QUEUES; i++) {
		b->queues[i].err_fd = -1;
		b->iova[i].b = b;
		b->iova[i].index = i;
	}
	/* The back-end translates IOVAs (vhost_user_iotlb.c): bit 33 is the transport's to offer. */
	dev->offered_features |= VIRTIO_BIT(VIRTIO_F_ACCESS_PLATFORM);
	vireo_guest_mem_init(&b->mem);
	ret = vub_threads_init(b);
	if (ret < 0) {
		free(b);
		return ret;
	}
	if (b->opt.socket_path) {
		ret = vub_listen(b, b->opt.socket_path);
		if (ret == 0) {
			ret = vireo_event_loop_add(loop, b->listen_fd, vub_accept_event, b);
			if (ret < 0) {
				close(b->listen_fd);
				unlink(b->path);
			}
		}
		if (ret < 0) {
			vub_threads_fini(b);
			free(b);
			return ret;
		}
	}
	/* Only now: a failed attempt must not touch a device someone else serves. */
	vireo_vdev_set_event_loop(dev, loop);
	vireo_vdev_set_memory(dev, &b->mem);
	vub_threads_attach(b);
	*out = b;
	return 0;
}

/* Return: 0, or -errno from the event loop. */
int vireo_vhost_user_backend_run(struct vhost_user_backend *b)
{
	int ret;

	while (!b->loop->stopping) {
		ret = vireo_event_loop_run_once(b->loop, -1);
		if (ret < 0 && ret != -EINTR)
			return ret;
		vub_check_needs_reset(b);
	}
	b->loop->stopping = false;
	return 0;
}

void vireo_vhost_user_backend_after_dispatch(struct vhost_user_backend *b)
{
	vub_check_needs_reset(b);
}

bool vireo_vhost_user_backend_connected(const struct vhost_user_backend *b)
{
	return b->conn_fd >= 0;
}

void vireo_vhost_user_backend_free(struct vhost_user_backend *b)
{
	if (!b)
		return;
	b->opt.on_disconnect = NULL;
	vub_threads_stop(b);
	vub_disconnect(b, NULL);
	vireo_vdev_reset(b->dev);
	vub_reset_connection_state(b);
	vub_inflight_clear(b);
	vub_iotlb_disconnect(b);
	vub_iotlb_destroy(&b->iotlb);
	vub_mem_clear(b);
	vireo_vdev_set_memory(b->dev, NULL);
	vub_threads_fini(b);
	pthread_mutex_destroy(&b->chan.lock);
	if (b->listen_fd >= 0) {
		(void)vireo_event_loop_remove(b->loop, b->listen_fd);
		close(b->listen_fd);
		if (b->path[0])
			unlink(b->path);
	}
	free(b);
}
