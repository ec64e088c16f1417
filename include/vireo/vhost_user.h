/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user message layer (QEMU docs/interop/vhost-user.rst), shared by
 * both roles: wire structures, one table of the requests Vireo speaks, and
 * send/receive over a unix stream socket with SCM_RIGHTS file descriptors.
 * Every received message is checked against the table (payload size, number
 * of fds) before anyone looks at its payload; a message that fails the check
 * never reaches a handler and its fds are already closed.
 *
 * All numbers are in the machine's native byte order (the protocol says so).
 */
#ifndef VIREO_VHOST_USER_H
#define VIREO_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vireo/spec.h>
#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Header flags. */
#define VHOST_USER_VERSION 0x1u
#define VHOST_USER_VERSION_MASK 0x3u
#define VHOST_USER_REPLY_MASK (1u << 2)
#define VHOST_USER_NEED_REPLY_MASK (1u << 3)

/* Bits 0-7 of SET_VRING_KICK/CALL/ERR's u64: the index; bit 8: no fd (poll). */
#define VHOST_USER_VRING_IDX_MASK 0xffull
#define VHOST_USER_VRING_NOFD_MASK (1ull << 8)

/* The reused legacy feature bit 30 that announces protocol features. */
#define VHOST_USER_F_PROTOCOL_FEATURES 30

#define VHOST_USER_PROTOCOL_F_MQ 0
#define VHOST_USER_PROTOCOL_F_REPLY_ACK 3
#define VHOST_USER_PROTOCOL_F_CONFIG 9
#define VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD 12
#define VHOST_USER_PROTOCOL_F_RESET_DEVICE 13
#define VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS 15

#define VHOST_USER_MAX_FDS 8u
#define VHOST_USER_MEM_REGIONS_MAX 8u
#define VHOST_USER_CONFIG_HDR_SIZE 12u
#define VHOST_USER_CONFIG_MAX 256u

/* Payload kinds: what follows the header. */
enum vhost_user_payload {
	VHOST_USER_P_NONE,     /* size 0 */
	VHOST_USER_P_U64,      /* size 8 */
	VHOST_USER_P_STATE,    /* struct vhost_user_vring_state */
	VHOST_USER_P_ADDR,     /* struct vhost_user_vring_addr */
	VHOST_USER_P_MEMTABLE, /* struct vhost_user_memory with nregions regions */
	VHOST_USER_P_MEMREG,   /* struct vhost_user_mem_single */
	VHOST_USER_P_CONFIG,   /* struct vhost_user_config, 12 + size bytes */
	VHOST_USER_P_INFLIGHT, /* struct vhost_user_inflight */
};

/* How many fds a request carries. */
enum vhost_user_fds {
	VHOST_USER_FD_NONE,    /* none */
	VHOST_USER_FD_ONE,     /* exactly one */
	VHOST_USER_FD_REGIONS, /* one per region of the memory table */
	VHOST_USER_FD_NOFD,    /* one, or none with VHOST_USER_VRING_NOFD_MASK set */
	VHOST_USER_FD_STRAY,   /* none, one tolerated (closed unused: REM_MEM_REG) */
};

/*
 * X(name, id, request payload, fds, reply payload). A reply payload other
 * than NONE means the request always gets a reply; the others get one
 * (a u64 status) only with REPLY_ACK negotiated and NEED_REPLY set.
 */
#define VHOST_USER_REQUESTS(X)                           \
	X(GET_FEATURES, 1, NONE, NONE, U64)              \
	X(SET_FEATURES, 2, U64, NONE, NONE)              \
	X(SET_OWNER, 3, NONE, NONE, NONE)                \
	X(RESET_OWNER, 4, NONE, NONE, NONE)              \
	X(SET_MEM_TABLE, 5, MEMTABLE, REGIONS, NONE)     \
	X(SET_VRING_NUM, 8, STATE, NONE, NONE)           \
	X(SET_VRING_ADDR, 9, ADDR, NONE, NONE)           \
	X(SET_VRING_BASE, 10, STATE, NONE, NONE)         \
	X(GET_VRING_BASE, 11, STATE, NONE, STATE)        \
	X(SET_VRING_KICK, 12, U64, NOFD, NONE)           \
	X(SET_VRING_CALL, 13, U64, NOFD, NONE)           \
	X(SET_VRING_ERR, 14, U64, NOFD, NONE)            \
	X(GET_PROTOCOL_FEATURES, 15, NONE, NONE, U64)    \
	X(SET_PROTOCOL_FEATURES, 16, U64, NONE, NONE)    \
	X(GET_QUEUE_NUM, 17, NONE, NONE, U64)            \
	X(SET_VRING_ENABLE, 18, STATE, NONE, NONE)       \
	X(GET_CONFIG, 24, CONFIG, NONE, CONFIG)          \
	X(SET_CONFIG, 25, CONFIG, NONE, NONE)            \
	X(GET_INFLIGHT_FD, 31, INFLIGHT, NONE, INFLIGHT) \
	X(SET_INFLIGHT_FD, 32, INFLIGHT, ONE, NONE)      \
	X(RESET_DEVICE, 34, NONE, NONE, NONE)            \
	X(GET_MAX_MEM_SLOTS, 36, NONE, NONE, U64)        \
	X(ADD_MEM_REG, 37, MEMREG, ONE, NONE)            \
	X(REM_MEM_REG, 38, MEMREG, STRAY, NONE)

#define VHOST_USER_REQ_ENUM(name, id, p, f, r) VHOST_USER_##name = id,
enum vhost_user_request { VHOST_USER_REQUESTS(VHOST_USER_REQ_ENUM) };
#undef VHOST_USER_REQ_ENUM

/* ---- wire structures (packed by construction; checked below) ---- */

struct vhost_user_header {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
};

struct vhost_user_vring_state {
	uint32_t index;
	uint32_t num;
};

struct vhost_user_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc_user_addr;
	uint64_t used_user_addr;
	uint64_t avail_user_addr;
	uint64_t log_guest_addr;
};

struct vhost_user_mem_region {
	uint64_t guest_addr;
	uint64_t size;
	uint64_t user_addr;
	uint64_t mmap_offset;
};

struct vhost_user_memory {
	uint32_t nregions;
	uint32_t padding;
	struct vhost_user_mem_region regions[VHOST_USER_MEM_REGIONS_MAX];
};

struct vhost_user_mem_single {
	uint64_t padding;
	struct vhost_user_mem_region region;
};

struct vhost_user_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t region[VHOST_USER_CONFIG_MAX];
};

/* "Inflight description" (GET/SET_INFLIGHT_FD); QEMU sends it with its 4 bytes of tail padding. */
struct vhost_user_inflight {
	uint64_t mmap_size;
	uint64_t mmap_offset;
	uint16_t num_queues;
	uint16_t queue_size;
	uint32_t padding;
};

VIREO_STATIC_ASSERT(sizeof(struct vhost_user_header) == 12, "vhost-user header");
VIREO_STATIC_ASSERT(sizeof(struct vhost_user_vring_state) == 8, "vring state");
VIREO_STATIC_ASSERT(sizeof(struct vhost_user_vring_addr) == 40, "vring addr");
VIREO_STATIC_ASSERT(sizeof(struct vhost_user_mem_region) == 32, "memory region");
VIREO_STATIC_ASSERT(offsetof(struct vhost_user_memory, regions) == 8, "memory table header");
VIREO_STATIC_ASSERT(sizeof(struct vhost_user_memory) == 8 + 8 * 32, "memory table");
VIREO_STATIC_ASSERT(sizeof(struct vhost_user_mem_single) == 40, "single region");
VIREO_STATIC_ASSERT(sizeof(struct vhost_user_inflight) == 24, "inflight description");
VIREO_STATIC_ASSERT(offsetof(struct vhost_user_config, region) == VHOST_USER_CONFIG_HDR_SIZE,
		    "config header");

union vhost_user_payload_u {
	uint64_t u64;
	struct vhost_user_vring_state state;
	struct vhost_user_vring_addr addr;
	struct vhost_user_memory memory;
	struct vhost_user_mem_single mem_reg;
	struct vhost_user_config config;
	struct vhost_user_inflight inflight;
	uint8_t bytes[sizeof(struct vhost_user_config)];
};

#define VHOST_USER_PAYLOAD_MAX sizeof(union vhost_user_payload_u)

/**
 * struct vhost_user_msg - one message with the fds that came with it
 * @hdr: header as received or to send
 * @payload: @hdr.size bytes are meaningful
 * @fds: received descriptors; owned by the message until taken (set to -1)
 * @num_fds: how many of @fds are valid
 */
struct vhost_user_msg {
	struct vhost_user_header hdr;
	union vhost_user_payload_u payload;
	int fds[VHOST_USER_MAX_FDS];
	unsigned int num_fds;
};

/** vireo_vhost_user_request_name() - "SET_MEM_TABLE", or NULL for a request not in the table */
VIREO_API const char *vireo_vhost_user_request_name(uint32_t request);

/** vireo_vhost_user_request_has_reply() - the request always gets a reply (GET_*) */
VIREO_API bool vireo_vhost_user_request_has_reply(uint32_t request);

/** vireo_vhost_user_msg_init() - an empty message for @request (version set, no fds) */
VIREO_API void vireo_vhost_user_msg_init(struct vhost_user_msg *msg, uint32_t request,
					 uint32_t size);

/**
 * vireo_vhost_user_msg_check() - the table's rules for a received message
 * @reply: the message is a reply (front-end side) rather than a request
 * Checks the version, the reply flag, the request id, the payload size
 * (exact for fixed payloads; for a memory table, 8 + 32 * nregions with
 * nregions <= 8; for config, 12 + size with size <= 256) and the number of
 * fds. Does not close anything.
 * Return: 0; -EPROTO (bad version or flags); -ENOTSUP (unknown request);
 * -EMSGSIZE (payload size); -EBADF (fd count).
 */
VIREO_API int vireo_vhost_user_msg_check(const struct vhost_user_msg *msg, bool reply);

/**
 * vireo_vhost_user_msg_parse() - fill @msg from @len bytes (header then payload)
 * and check it as vireo_vhost_user_msg_check() does, counting @num_fds fds (set
 * to -1). For fuzzing and tests: no socket involved.
 * Return: 0; -EMSGSIZE if @len is not exactly 12 + the header's size (or
 * the size exceeds the largest payload); vireo_vhost_user_msg_check()'s errors.
 */
VIREO_API int vireo_vhost_user_msg_parse(struct vhost_user_msg *msg, const void *buf, size_t len,
					 unsigned int num_fds, bool reply);

/**
 * vireo_vhost_user_recv() - read one message from stream socket @sock
 * Blocks until the whole message arrived (use SO_RCVTIMEO against a peer
 * that stops mid-message). Received fds are close-on-exec; on any error
 * every fd that came is closed.
 * Return: 0; -ECONNRESET at end of stream before a header; -EPIPE (end of
 * stream inside a message); -ECOMM (control data truncated, MSG_CTRUNC, or
 * fds with a later part of the message); vireo_vhost_user_msg_check()'s errors;
 * -errno from recvmsg (-EAGAIN on timeout).
 */
VIREO_API int vireo_vhost_user_recv(int sock, struct vhost_user_msg *msg, bool reply);

/**
 * vireo_vhost_user_recv_step() - read without blocking what has arrived of the
 * message being assembled in @msg, of which @*got bytes (header, then
 * payload) are already there; @*got 0 starts a new message. Never reads a
 * byte of the next message. Same checks and errors as vireo_vhost_user_recv();
 * fds that came with the first byte stay in @msg between calls.
 * Return: 1 (the message is complete and checked, @*got back to 0); 0
 * (nothing more to read now); vireo_vhost_user_recv()'s errors (@*got back to 0,
 * every fd closed).
 */
VIREO_API int vireo_vhost_user_recv_step(int sock, struct vhost_user_msg *msg, size_t *got,
					 bool reply);

/**
 * vireo_vhost_user_send() - send @msg (header, @msg->hdr.size payload bytes and
 * @num_fds of @fds). The fds stay the caller's.
 * Return: 0, -EINVAL (too many fds, size above the largest payload), or
 * -errno from sendmsg (-EPIPE when the peer is gone; never SIGPIPE).
 */
VIREO_API int vireo_vhost_user_send(int sock, const struct vhost_user_msg *msg, const int *fds,
				    unsigned int num_fds);

/**
 * vireo_vhost_user_send_nowait() - vireo_vhost_user_send() of @msg with its own @msg->fds
 * (@msg->num_fds of them, usually none) that never waits
 * for the peer to make room (MSG_DONTWAIT, whatever the socket's mode)
 * Return: 0; -EAGAIN if the socket could not take all of @msg now (part of
 * it may be sent: the stream is out of step, close it); -EINVAL; -errno.
 */
VIREO_API int vireo_vhost_user_send_nowait(int sock, const struct vhost_user_msg *msg);

/** vireo_vhost_user_msg_close_fds() - close every fd @msg still owns */
VIREO_API void vireo_vhost_user_msg_close_fds(struct vhost_user_msg *msg);

/**
 * vireo_vhost_user_msg_take_fd() - take fd @i out of @msg (the caller owns it)
 * Return: the fd, or -1 if there is none at @i.
 */
VIREO_API int vireo_vhost_user_msg_take_fd(struct vhost_user_msg *msg, unsigned int i);

/**
 * vireo_vhost_user_fd_is_eventfd() - @fd is an open eventfd (or, on a system
 * without /proc, at least an open fd that is not a file, directory or socket)
 */
VIREO_API bool vireo_vhost_user_fd_is_eventfd(int fd);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_VHOST_USER_H */
