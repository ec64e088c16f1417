// SPDX-License-Identifier: MIT
/*
 * The vhost-user message layer: the request table, the size and fd rules,
 * and sendmsg/recvmsg with SCM_RIGHTS. Nothing here knows about devices.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <vireo/vhost_user.h>

struct vhost_user_rule {
	uint32_t id;
	const char *name;
	enum vhost_user_payload payload;
	enum vhost_user_fds fds;
	enum vhost_user_payload reply;
};

#define VHOST_USER_RULE(n, i, p, f, r) \
	{.id = i,                      \
	 .name = #n,                   \
	 .payload = VHOST_USER_P_##p,  \
	 .fds = VHOST_USER_FD_##f,     \
	 .reply = VHOST_USER_P_##r},
static const struct vhost_user_rule vhost_user_rules[] = {VHOST_USER_REQUESTS(VHOST_USER_RULE)};
#undef VHOST_USER_RULE

static const struct vhost_user_rule *vhost_user_rule_find(uint32_t request)
{
	size_t i;

	for (i = 0; i < sizeof(vhost_user_rules) / sizeof(vhost_user_rules[0]); i++)
		if (vhost_user_rules[i].id == request)
			return &vhost_user_rules[i];
	return NULL;
}

const char *vireo_vhost_user_request_name(uint32_t request)
{
	const struct vhost_user_rule *r = vhost_user_rule_find(request);

	return r ? r->name : NULL;
}

bool vireo_vhost_user_request_has_reply(uint32_t request)
{
	const struct vhost_user_rule *r = vhost_user_rule_find(request);

	return r && r->reply != VHOST_USER_P_NONE;
}

void vireo_vhost_user_msg_init(struct vhost_user_msg *msg, uint32_t request, uint32_t size)
{
	unsigned int i;

	memset(msg, 0, sizeof(*msg));
	msg->hdr.request = request;
	msg->hdr.flags = VHOST_USER_VERSION;
	msg->hdr.size = size;
	for (i = 0; i < VHOST_USER_MAX_FDS; i++)
		msg->fds[i] = -1;
}

/* Return: 0 or -EMSGSIZE: @size against @kind; variable payloads read their count field. */
static int vhost_user_check_size(const struct vhost_user_msg *msg, enum vhost_user_payload kind)
{
	uint32_t size = msg->hdr.size;

	switch (kind) {
	case VHOST_USER_P_NONE:
		return size == 0 ? 0 : -EMSGSIZE;
	case VHOST_USER_P_U64:
		return size == sizeof(uint64_t) ? 0 : -EMSGSIZE;
	case VHOST_USER_P_STATE:
		return size == sizeof(struct vhost_user_vring_state) ? 0 : -EMSGSIZE;
	case VHOST_USER_P_ADDR:
		return size == sizeof(struct vhost_user_vring_addr) ? 0 : -EMSGSIZE;
	case VHOST_USER_P_MEMREG:
		return size == sizeof(struct vhost_user_mem_single) ? 0 : -EMSGSIZE;
	case VHOST_USER_P_INFLIGHT:
		return size == sizeof(struct vhost_user_inflight) ? 0 : -EMSGSIZE;
	case VHOST_USER_P_MEMTABLE:
		/* The count is read only once 8 bytes are known to be there. */
		if (size < offsetof(struct vhost_user_memory, regions) ||
		    msg->payload.memory.nregions > VHOST_USER_MEM_REGIONS_MAX)
			return -EMSGSIZE;
		return size == offsetof(struct vhost_user_memory, regions) +
					       msg->payload.memory.nregions *
						       sizeof(struct vhost_user_mem_region)
			       ? 0
			       : -EMSGSIZE;
	case VHOST_USER_P_CONFIG:
		if (size < VHOST_USER_CONFIG_HDR_SIZE ||
		    msg->payload.config.size > VHOST_USER_CONFIG_MAX)
			return -EMSGSIZE;
		return size == VHOST_USER_CONFIG_HDR_SIZE + msg->payload.config.size ? 0
										     : -EMSGSIZE;
	}
	return -EMSGSIZE;
}

/* Return: 0 or -EBADF: the number of fds @rule allows for this payload. */
static int vhost_user_check_fds(const struct vhost_user_msg *msg, enum vhost_user_fds rule)
{
	unsigned int n = msg->num_fds;

	switch (rule) {
	case VHOST_USER_FD_NONE:
		return n == 0 ? 0 : -EBADF;
	case VHOST_USER_FD_ONE:
		return n == 1 ? 0 : -EBADF;
	case VHOST_USER_FD_REGIONS:
		return n == msg->payload.memory.nregions ? 0 : -EBADF;
	case VHOST_USER_FD_NOFD:
		if (msg->payload.u64 & VHOST_USER_VRING_NOFD_MASK)
			return n == 0 ? 0 : -EBADF;
		return n == 1 ? 0 : -EBADF;
	case VHOST_USER_FD_STRAY:
		return n <= 1 ? 0 : -EBADF;
	}
	return -EBADF;
}

/* Return: 0; -EPROTO; -ENOTSUP; -EMSGSIZE; -EBADF (see vhost_user.h). */
int vireo_vhost_user_msg_check(const struct vhost_user_msg *msg, bool reply)
{
	const struct vhost_user_rule *rule;
	uint32_t flags = msg->hdr.flags;
	uint32_t known =
		VHOST_USER_VERSION_MASK | VHOST_USER_REPLY_MASK | VHOST_USER_NEED_REPLY_MASK;
	int ret;

	if ((flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION || (flags & ~known))
		return -EPROTO;
	if (!!(flags & VHOST_USER_REPLY_MASK) != reply)
		return -EPROTO;
	if (msg->num_fds > VHOST_USER_MAX_FDS)
		return -EBADF;
	rule = vhost_user_rule_find(msg->hdr.request);
	if (!rule)
		return -ENOTSUP;
	if (reply) {
		/* A reply is either the request's own reply body or a REPLY_ACK u64. */
		ret = vhost_user_check_size(
			msg, rule->reply != VHOST_USER_P_NONE ? rule->reply : VHOST_USER_P_U64);
		/* GET_CONFIG answers an error with an empty payload. */
		if (ret < 0 && rule->reply == VHOST_USER_P_CONFIG && msg->hdr.size == 0)
			ret = 0;
		if (ret < 0)
			return ret;
		/* GET_INFLIGHT_FD's reply is the one that carries a fd (the region). */
		if (rule->reply == VHOST_USER_P_INFLIGHT)
			return msg->num_fds == 1 ? 0 : -EBADF;
		return msg->num_fds == 0 ? 0 : -EBADF;
	}
	ret = vhost_user_check_size(msg, rule->payload);
	if (ret < 0)
		return ret;
	return vhost_user_check_fds(msg, rule->fds);
}

/* Return: 0; -EMSGSIZE; vireo_vhost_user_msg_check()'s errors. */
int vireo_vhost_user_msg_parse(struct vhost_user_msg *msg, const void *buf, size_t len,
			       unsigned int num_fds, bool reply)
{
	const uint8_t *p = buf;
	unsigned int i;

	vireo_vhost_user_msg_init(msg, 0, 0);
	if (len < sizeof(msg->hdr))
		return -EMSGSIZE;
	memcpy(&msg->hdr, p, sizeof(msg->hdr));
	if (msg->hdr.size > VHOST_USER_PAYLOAD_MAX || len - sizeof(msg->hdr) != msg->hdr.size)
		return -EMSGSIZE;
	memcpy(&msg->payload, p + sizeof(msg->hdr), msg->hdr.size);
	msg->num_fds = num_fds;
	for (i = 0; i < num_fds && i < VHOST_USER_MAX_FDS; i++)
		msg->fds[i] = -1;
	return vireo_vhost_user_msg_check(msg, reply);
}

void vireo_vhost_user_msg_close_fds(struct vhost_user_msg *msg)
{
	unsigned int i;

	for (i = 0; i < VHOST_USER_MAX_FDS; i++) {
		if (msg->fds[i] >= 0)
			close(msg->fds[i]);
		msg->fds[i] = -1;
	}
	msg->num_fds = 0;
}

int vireo_vhost_user_msg_take_fd(struct vhost_user_msg *msg, unsigned int i)
{
	int fd;

	if (i >= VHOST_USER_MAX_FDS || i >= msg->num_fds)
		return -1;
	fd = msg->fds[i];
	msg->fds[i] = -1;
	return fd;
}

/* Move the SCM_RIGHTS fds of @mh into @msg; close any beyond its capacity. */
static void vhost_user_collect_fds(struct msghdr *mh, struct vhost_user_msg *msg)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n, i;
		int fd;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (msg->num_fds < VHOST_USER_MAX_FDS)
				msg->fds[msg->num_fds++] = fd;
			else
				close(fd);
		}
	}
}

/*
 * One recvmsg into @buf, @len bytes at most, taking fds into @msg.
 * Return: bytes read (0 at end of stream); -ECOMM for truncated control data
 * (the fds that did arrive are in @msg, to be closed by the caller); -errno.
 */
static ssize_t vhost_user_recv_part(int sock, void *buf, size_t len, struct vhost_user_msg *msg,
				    int flags)
{
	union {
		char buf[CMSG_SPACE(VHOST_USER_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	ssize_t n;

	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | flags);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	vhost_user_collect_fds(&mh, msg);
	if (mh.msg_flags & MSG_CTRUNC)
		return -ECOMM;
	return n;
}

/* Return: 0, or -ENOTSUP/-EMSGSIZE for a header whose payload we would refuse unread. */
static int vhost_user_check_header(const struct vhost_user_msg *msg)
{
	if (!vhost_user_rule_find(msg->hdr.request))
		return -ENOTSUP;
	return msg->hdr.size > VHOST_USER_PAYLOAD_MAX ? -EMSGSIZE : 0;
}

/*
 * Read what is there of the message @*got bytes into @msg (header first,
 * then exactly the header's payload size: never a byte of the next message).
 * Fds may only come with the first byte of a message: any later ones mean
 * a confused or hostile peer.
 * Return: 1 (complete and checked); 0 (recvmsg said EAGAIN); -ECONNRESET
 * (end of stream before any byte); -EPIPE (inside the message); -ECOMM;
 * -ENOTSUP; -EMSGSIZE; vireo_vhost_user_msg_check()'s errors; -errno.
 */
static int vhost_user_recv_more(int sock, struct vhost_user_msg *msg, size_t *got, bool reply,
				int flags)
{
	const size_t hdr = sizeof(msg->hdr);
	ssize_t n;
	int ret;

	if (*got == 0)
		vireo_vhost_user_msg_init(msg, 0, 0);
	while (*got < hdr || *got < hdr + msg->hdr.size) {
		unsigned int before = msg->num_fds;
		char *dst = *got < hdr ? (char *)&msg->hdr + *got
				       : (char *)&msg->payload + (*got - hdr);
		size_t want = *got < hdr ? hdr - *got : hdr + msg->hdr.size - *got;

		n = vhost_user_recv_part(sock, dst, want, msg, flags);
		if (n == -EAGAIN || n == -EWOULDBLOCK)
			return 0;
		ret = (int)n;
		if (n >= 0 && *got != 0 && msg->num_fds != before)
			ret = -ECOMM;
		else if (n == 0)
			ret = *got == 0 ? -ECONNRESET : -EPIPE;
		if (ret <= 0)
			return ret;
		*got += (size_t)n;
		/* Nothing of the payload is read for a request we would refuse anyway. */
		ret = *got == hdr ? vhost_user_check_header(msg) : 0;
		if (ret < 0)
			return ret;
	}
	ret = vireo_vhost_user_msg_check(msg, reply);
	return ret < 0 ? ret : 1;
}

/* Return: 1, 0 or -errno; see vhost_user.h. On error no fd is left open. */
int vireo_vhost_user_recv_step(int sock, struct vhost_user_msg *msg, size_t *got, bool reply)
{
	int ret = vhost_user_recv_more(sock, msg, got, reply, MSG_DONTWAIT);

	if (ret != 0)
		*got = 0;
	if (ret < 0)
		vireo_vhost_user_msg_close_fds(msg);
	return ret;
}

/* Return: 0 or -errno; see vhost_user.h. On error no fd is left open. */
int vireo_vhost_user_recv(int sock, struct vhost_user_msg *msg, bool reply)
{
	size_t got = 0;
	int ret;

	/* A blocking socket says EAGAIN only when its SO_RCVTIMEO passed. */
	ret = vhost_user_recv_more(sock, msg, &got, reply, 0);
	if (ret == 0)
		ret = -EAGAIN;
	if (ret < 0) {
		vireo_vhost_user_msg_close_fds(msg);
		return ret;
	}
	return 0;
}

/* Return: 0, -EINVAL or -errno from sendmsg (-EAGAIN: part of @msg may be gone). */
static int vhost_user_sendmsg(int sock, const struct vhost_user_msg *msg, const int *fds,
			      unsigned int num_fds, int flags)
{
	union {
		char buf[CMSG_SPACE(VHOST_USER_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov[2] = {
		{.iov_base = (void *)&msg->hdr, .iov_len = sizeof(msg->hdr)},
		{.iov_base = (void *)&msg->payload, .iov_len = msg->hdr.size},
	};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	size_t total = sizeof(msg->hdr) + msg->hdr.size, done = 0;
	ssize_t n;

	if (num_fds > VHOST_USER_MAX_FDS || msg->hdr.size > VHOST_USER_PAYLOAD_MAX)
		return -EINVAL;
	if (num_fds) {
		struct cmsghdr *c;

		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(num_fds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(num_fds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, num_fds * sizeof(int));
	}
	while (done < total) {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL | flags);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
		/* The fds went with the first byte; send the rest without them. */
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		while (mh.msg_iovlen && (size_t)n >= mh.msg_iov->iov_len) {
			n -= (ssize_t)mh.msg_iov->iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen) {
			mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + n;
			mh.msg_iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* Return: 0, -EINVAL or -errno from sendmsg; see vhost_user.h. */
int vireo_vhost_user_send(int sock, const struct vhost_user_msg *msg, const int *fds,
			  unsigned int num_fds)
{
	return vhost_user_sendmsg(sock, msg, fds, num_fds, 0);
}

/* Return: 0, -EAGAIN, -EINVAL or -errno from sendmsg; see vhost_user.h. */
int vireo_vhost_user_send_nowait(int sock, const struct vhost_user_msg *msg)
{
	int ret = vhost_user_sendmsg(sock, msg, msg->fds, msg->num_fds, MSG_DONTWAIT);

	return ret == -EWOULDBLOCK ? -EAGAIN : ret;
}

/* Return: true for an eventfd (from /proc), or an open non-file fd without /proc. */
bool vireo_vhost_user_fd_is_eventfd(int fd)
{
	char path[64], target[64];
	struct stat st;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) < 0)
		return false;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISSOCK(st.st_mode);
	target[n] = '\0';
	return strcmp(target, "anon_inode:[eventfd]") == 0;
}
