/* SPDX-License-Identifier: MIT */
/*
 * A vhost-user test bench: our blk device behind vhost_user_backend in a
 * thread of the test (a real socket in a temporary directory), and a
 * scripted raw front-end that shares a memfd as guest memory and builds its
 * ring with our driver-side ring API. Shared by the back-end tests.
 */
#ifndef VIREO_TESTS_LIB_VU_BENCH_H
#define VIREO_TESTS_LIB_VU_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/types.h>

#include <vireo/blk_device.h>
#include <vireo/dma.h>
#include <vireo/event_loop.h>
#include <vireo/spec.h>
#include <vireo/vhost_user.h>
#include <vireo/vhost_user_backend.h>
#include <vireo/virtqueue.h>

#define IMAGE_BYTES (1u << 20)
#define ARENA_BYTES (1u << 20)
#define GUEST_BASE 0x40000000ull    /* guest address of the arena */
#define USER_BASE 0x7f1200000000ull /* the "front-end virtual address" of the arena */
#define QSZ 64u
#define WAIT_MS 10000

struct server {
	char dir[64];
	char sock[128];
	char image[128];
	struct event_loop loop;
	struct blk_device *blk;
	struct vhost_user_backend *b;
	pthread_t thread;
	unsigned long connects, disconnects;
	unsigned int queues; /* 0: 1 */
	pid_t pid;	     /* server_spawn(): the real `vireo serve blk` */
	char log[128];
};

struct client {
	int sock;
	struct virtio_dma_arena arena;
	struct virtqueue vq;
	struct vring_desc_extra extra[QSZ];
	uint64_t desc, avail, used; /* guest addresses */
	int kick, call, err;
};

struct blk_req {
	struct virtio_blk_outhdr hdr;
	uint8_t data[4096];
	uint8_t status;
};

uint64_t to_user(uint64_t ga);
uint64_t c_get_u64(struct client *c, uint32_t req);
/* Send with need_reply and return the REPLY_ACK status. */
uint64_t c_ack(struct client *c, uint32_t req, const void *payload, uint32_t size, const int *fds,
	       unsigned int nfds);
uint32_t memtable_size(unsigned int n);
/* One blk request of @len bytes (at most 4096) at @sector. Return: its status byte. */
uint8_t c_blk(struct client *c, uint32_t type, uint64_t sector, void *buf, uint32_t len);
void server_start(struct server *s, bool readonly);
void server_stop(struct server *s);
/*
 * The build's real `vireo serve blk` (build/tests/test_x -> build/vireo) on a
 * fresh image, output in @s->log, killed if the test dies (PR_SET_PDEATHSIG).
 */
void server_spawn(struct server *s);
/* SIGTERM, wait. Return: the wait status; *@out (if set): the output, freed by the caller. */
int server_reap(struct server *s, char **out);
void client_connect(struct client *c, const struct server *s);
void client_close(struct client *c);
int c_send(struct client *c, uint32_t req, const void *payload, uint32_t size, const int *fds,
	   unsigned int nfds, bool need_reply);
void c_reply(struct client *c, uint32_t req, struct vhost_user_msg *m);
void c_state(struct client *c, uint32_t req, uint32_t index, uint32_t num);
void c_expect_closed(struct client *c);
struct vhost_user_mem_region arena_region(const struct client *c);
void c_ring(struct client *c);
void c_negotiate(struct client *c, uint64_t features);
void c_mem(struct client *c);
void c_vring_fd(struct client *c, uint32_t req, int *fd);
void c_handshake(struct client *c);
void c_wait_used(struct client *c, void *token);
void c_good(struct server *s);

#endif /* VIREO_TESTS_LIB_VU_BENCH_H */
