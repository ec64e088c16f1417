/* SPDX-License-Identifier: MIT */
/*
 * A scripted vhost-user front-end for tests: raw messages over the socket, a
 * memfd arena as guest memory, rings built with our driver-side ring API, and
 * blk requests on them. Every helper asserts (cmocka) instead of returning
 * errors. Shared by the test_vhost_user_* programs (in-process server,
 * tests/lib/vu_blk_fixture), test_peer_fds_hostile and test_serve_hostile_control
 * (the real `vireo serve`).
 */
#ifndef VIREO_TESTS_VU_CLIENT_H
#define VIREO_TESTS_VU_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <vireo/dma.h>
#include <vireo/spec.h>
#include <vireo/vhost_user.h>
#include <vireo/virtqueue.h>

#define VU_ARENA_BYTES (1u << 20)
#define VU_GUEST_BASE 0x40000000ull    /* guest address of the arena */
#define VU_USER_BASE 0x7f1200000000ull /* the "front-end virtual address" of the arena */
#define VU_QSZ 64u
#define VU_WAIT_MS 10000

struct vu_client {
	int sock;
	struct virtio_dma_arena arena;
	struct virtqueue vq;
	struct vring_desc_extra extra[VU_QSZ];
	uint64_t desc, avail, used; /* guest addresses */
	int kick, call, err;
};

struct vu_blk_req {
	struct vireo_blk_outhdr hdr;
	uint8_t data[4096];
	uint8_t status;
};

/* One more ring of the same front-end (queue @index), in the client's arena. */
struct vu_ring {
	struct vu_client *c;
	uint32_t index;
	struct virtqueue vq;
	struct vring_desc_extra extra[VU_QSZ];
	uint64_t desc, avail, used;
	int kick, call, err;
};

/* The front-end's virtual address of guest address @ga (rings are given that way). */
uint64_t vu_client_user_addr(uint64_t ga);

/* Connect to @sock_path; a fresh arena; no fds yet. */
void vu_client_connect(struct vu_client *c, const char *sock_path);

/* Close the socket and every fd the client made; free the arena. */
void vu_client_close(struct vu_client *c);

/* One message. Return: vireo_vhost_user_send()'s result. */
int vu_client_send(struct vu_client *c, uint32_t req, const void *payload, uint32_t size,
		   const int *fds, unsigned int nfds, bool need_reply);

/* Wait (bounded) for the reply to @req and check its request code. */
void vu_client_reply(struct vu_client *c, uint32_t req, struct vhost_user_msg *m);

/* A GET_* request answered with a u64. */
uint64_t vu_client_get_u64(struct vu_client *c, uint32_t req);

/* Send with need_reply and return the REPLY_ACK status. */
uint64_t vu_client_ack(struct vu_client *c, uint32_t req, const void *payload, uint32_t size,
		       const int *fds, unsigned int nfds);

/* A vring state message (NUM, BASE, ENABLE) that must be acknowledged with 0. */
void vu_client_state(struct vu_client *c, uint32_t req, uint32_t index, uint32_t num);

/*
 * A vring state message (GET/SET_VRING_BASE, NUM, ENABLE) with a payload of
 * @size bytes, right or wrong: the state, then zeroes. Not waited for.
 */
void vu_client_send_state(struct vu_client *c, uint32_t req, uint32_t size, uint32_t index,
			  uint32_t num, bool need_reply);

/* GET_VRING_BASE of queue @index (stops it); the reply names @index. Return: where to resume. */
uint32_t vu_client_get_vring_base(struct vu_client *c, uint32_t index);

/* SET_VRING_ADDR of queue @index with the guest addresses of its three areas (acked 0). */
void vu_client_ring_addr(struct vu_client *c, uint32_t index, uint64_t desc, uint64_t avail,
			 uint64_t used);

/* SET_VRING_NUM @num, SET_VRING_BASE @base and SET_VRING_ADDR of queue @index (each acked 0). */
void vu_client_ring_setup(struct vu_client *c, uint32_t index, uint32_t num, uint32_t base,
			  uint64_t desc, uint64_t avail, uint64_t used);

/* The server closed this connection (bounded wait, not a timing assertion). */
void vu_client_expect_closed(struct vu_client *c);

/* The arena as one memory-table region. */
struct vhost_user_mem_region vu_client_region(const struct vu_client *c);

/* Payload size of a memory table of @n regions. */
uint32_t vu_memtable_size(unsigned int n);

/* Queue 0's ring (VU_QSZ entries) in the arena; kicks go to @c->kick. */
void vu_client_ring(struct vu_client *c);

/* Features, protocol features, owner: the part before memory. */
void vu_client_negotiate(struct vu_client *c, uint64_t features);

/* The same for a back-end that must report @queues queues (GET_QUEUE_NUM). */
void vu_client_negotiate_queues(struct vu_client *c, uint64_t features, unsigned int queues);

/* SET_MEM_TABLE with the arena. */
void vu_client_mem(struct vu_client *c);

/* A fresh non-blocking eventfd in *@fd, sent for queue 0 with @req (KICK/CALL/ERR). */
void vu_client_vring_fd(struct vu_client *c, uint32_t req, int *fd);

/* The whole front-end sequence for queue 0, as QEMU does it. */
void vu_client_handshake(struct vu_client *c);

/*
 * Features, protocol features (REPLY_ACK, and INFLIGHT_SHMFD if @inflight: the
 * back-end must offer it), owner, SET_MEM_TABLE with the arena.
 */
void vu_client_negotiate_inflight(struct vu_client *c, bool inflight);
/*
 * After vu_client_negotiate_inflight(c, true): SET_INFLIGHT_FD with @fd (@size
 * bytes: one queue of VU_QSZ), then queue 0 as vu_client_handshake() starts it.
 */
void vu_client_start_with_inflight(struct vu_client *c, int fd, uint64_t size);
/*
 * A 512-byte read of @sector queued on queue 0 and kicked, not waited for; its
 * data bytes 0xee and status 0xff until the device writes them.
 */
struct vu_blk_req *vu_client_queue_read(struct vu_client *c, uint64_t sector);
/* Wait for the one request in flight. */
void vu_client_wait_used(struct vu_client *c, void *token);

/* One blk request of @len bytes (at most 4096) at @sector. Return: its status byte. */
uint8_t vu_client_blk(struct vu_client *c, uint32_t type, uint64_t sector, void *buf, uint32_t len);

/* GET_VRING_BASE of queue 0 (stops it). Return: where to resume. */
uint32_t vu_client_vring_base(struct vu_client *c);

/* Ring @index of @c: num, base, addresses, kick, call and err eventfds, enable. */
void vu_ring_start(struct vu_ring *r, struct vu_client *c, uint32_t index);

/* The same, the ring's addresses given as IOVAs (its guest addresses: ACCESS_PLATFORM). */
void vu_ring_start_iova(struct vu_ring *r, struct vu_client *c, uint32_t index);

/* Queue a 4 KiB read of @sector on @r (no kick). */
struct vu_blk_req *vu_ring_read(struct vu_ring *r, uint64_t sector);

/* Wait until @n requests of @r are used, each with status OK. */
void vu_ring_wait(struct vu_ring *r, unsigned int n);

/*
 * Stop ring @r (GET_VRING_BASE: the server answers what it had in flight) and
 * start it again where it stopped with a new kick fd, as QEMU does at a
 * vhost stop/start. Buffers queued meanwhile are served without a new kick.
 */
void vu_ring_restart(struct vu_ring *r);

/* Close the ring's eventfds. */
void vu_ring_close(struct vu_ring *r);

#endif /* VIREO_TESTS_VU_CLIENT_H */
