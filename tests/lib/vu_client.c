// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <vireo/event_loop.h>

#include "tests/lib/vu_client.h"
uint64_t vu_client_user_addr(uint64_t ga)
{
	return VU_USER_BASE + (ga - VU_GUEST_BASE);
}

static bool vu_client_kick(struct virtqueue *vq)
{
	struct vu_client *c = vq->priv;

	return vireo_eventfd_signal_fd(c->kick) == 0;
}

void vu_client_connect(struct vu_client *c, const char *sock_path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(c, 0, sizeof(*c));
	c->kick = c->call = c->err = -1;
	c->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->sock >= 0);
	assert_true(strlen(sock_path) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, sock_path);
	assert_int_equal(connect(c->sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(virtio_dma_arena_init(&c->arena, VU_ARENA_BYTES, VU_GUEST_BASE), 0);
}

void vu_client_close(struct vu_client *c)
{
	if (c->sock >= 0)
		close(c->sock);
	if (c->kick >= 0)
		close(c->kick);
	if (c->call >= 0)
		close(c->call);
	if (c->err >= 0)
		close(c->err);
	virtio_dma_arena_destroy(&c->arena);
	c->sock = -1;
}

int vu_client_send(struct vu_client *c, uint32_t req, const void *payload, uint32_t size,
		   const int *fds, unsigned int nfds, bool need_reply)
{
	struct vhost_user_msg m;

	vireo_vhost_user_msg_init(&m, req, size);
	if (need_reply)
		m.hdr.flags |= VHOST_USER_NEED_REPLY_MASK;
	if (size)
		memcpy(&m.payload, payload, size);
	return vireo_vhost_user_send(c->sock, &m, fds, nfds);
}

void vu_client_reply(struct vu_client *c, uint32_t req, struct vhost_user_msg *m)
{
	struct pollfd p = {.fd = c->sock, .events = POLLIN};

	assert_int_equal(poll(&p, 1, VU_WAIT_MS), 1);
	assert_int_equal(vireo_vhost_user_recv(c->sock, m, true), 0);
	assert_int_equal(m->hdr.request, req);
}

uint64_t vu_client_get_u64(struct vu_client *c, uint32_t req)
{
	struct vhost_user_msg m;

	assert_int_equal(vu_client_send(c, req, NULL, 0, NULL, 0, false), 0);
	vu_client_reply(c, req, &m);
	return m.payload.u64;
}

/* Send with need_reply and return the REPLY_ACK status. */
uint64_t vu_client_ack(struct vu_client *c, uint32_t req, const void *payload, uint32_t size,
		       const int *fds, unsigned int nfds)
{
	struct vhost_user_msg m;

	assert_int_equal(vu_client_send(c, req, payload, size, fds, nfds, true), 0);
	vu_client_reply(c, req, &m);
	return m.payload.u64;
}

void vu_client_state(struct vu_client *c, uint32_t req, uint32_t index, uint32_t num)
{
	struct vhost_user_vring_state st = {.index = index, .num = num};

	assert_int_equal(vu_client_ack(c, req, &st, sizeof(st), NULL, 0), 0);
}

void vu_client_send_state(struct vu_client *c, uint32_t req, uint32_t size, uint32_t index,
			  uint32_t num, bool need_reply)
{
	struct vhost_user_vring_state st = {.index = index, .num = num};
	uint8_t payload[2 * sizeof(st)] = {0};

	assert_true(size <= sizeof(payload));
	memcpy(payload, &st, sizeof(st));
	assert_int_equal(vu_client_send(c, req, payload, size, NULL, 0, need_reply), 0);
}

uint32_t vu_client_get_vring_base(struct vu_client *c, uint32_t index)
{
	struct vhost_user_msg m;

	vu_client_send_state(c, VHOST_USER_GET_VRING_BASE, sizeof(struct vhost_user_vring_state),
			     index, 0, false);
	vu_client_reply(c, VHOST_USER_GET_VRING_BASE, &m);
	assert_int_equal(m.hdr.size, sizeof(struct vhost_user_vring_state));
	assert_int_equal(m.payload.state.index, index);
	return m.payload.state.num;
}

void vu_client_ring_addr(struct vu_client *c, uint32_t index, uint64_t desc, uint64_t avail,
			 uint64_t used)
{
	struct vhost_user_vring_addr a = {.index = index};

	a.desc_user_addr = vu_client_user_addr(desc);
	a.avail_user_addr = vu_client_user_addr(avail);
	a.used_user_addr = vu_client_user_addr(used);
	assert_int_equal(vu_client_ack(c, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 0);
}

void vu_client_ring_setup(struct vu_client *c, uint32_t index, uint32_t num, uint32_t base,
			  uint64_t desc, uint64_t avail, uint64_t used)
{
	vu_client_state(c, VHOST_USER_SET_VRING_NUM, index, num);
	vu_client_state(c, VHOST_USER_SET_VRING_BASE, index, base);
	vu_client_ring_addr(c, index, desc, avail, used);
}

/* The server closed this connection (bounded wait, not a timing assertion). */
void vu_client_expect_closed(struct vu_client *c)
{
	struct pollfd p = {.fd = c->sock, .events = POLLIN};
	char buf[64];
	ssize_t n;

	do {
		assert_int_equal(poll(&p, 1, VU_WAIT_MS), 1);
		n = recv(c->sock, buf, sizeof(buf), 0);
	} while (n > 0); /* a REPLY_ACK failure status may come first */
	assert_true(n == 0 || errno == ECONNRESET);
}

struct vhost_user_mem_region vu_client_region(const struct vu_client *c)
{
	struct vhost_user_mem_region r = {
		.guest_addr = VU_GUEST_BASE,
		.size = c->arena.size,
		.user_addr = VU_USER_BASE,
		.mmap_offset = 0,
	};

	return r;
}

uint32_t vu_memtable_size(unsigned int n)
{
	return (uint32_t)(8 + n * sizeof(struct vhost_user_mem_region));
}

void vu_client_ring(struct vu_client *c)
{
	struct vring_split_drv_config cfg = {.num = VU_QSZ, .extra = c->extra};

	cfg.desc = virtio_dma_alloc(&c->arena, 16 * VU_QSZ, 16, &c->desc);
	cfg.avail = virtio_dma_alloc(&c->arena, 6 + 2 * VU_QSZ, 2, &c->avail);
	cfg.used = virtio_dma_alloc(&c->arena, 6 + 8 * VU_QSZ, 4, &c->used);
	assert_int_equal(virtqueue_split_init(&c->vq, &cfg), 0);
	c->vq.notify = vu_client_kick;
	c->vq.priv = c;
	c->vq.name = "vu-test";
}

/* Features, protocol features, owner: the part before memory. */
void vu_client_negotiate(struct vu_client *c, uint64_t features)
{
	vu_client_negotiate_queues(c, features, 1);
}

void vu_client_negotiate_queues(struct vu_client *c, uint64_t features, unsigned int queues)
{
	uint64_t f, pf,
		want = VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) |
		       VIRTIO_BIT(VHOST_USER_PROTOCOL_F_MQ) |
		       VIRTIO_BIT(VHOST_USER_PROTOCOL_F_CONFIG);

	f = vu_client_get_u64(c, VHOST_USER_GET_FEATURES);
	assert_true(f & VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES));
	assert_true(f & VIRTIO_BIT(VIRTIO_F_VERSION_1));
	pf = vu_client_get_u64(c, VHOST_USER_GET_PROTOCOL_FEATURES);
	assert_int_equal(pf & want, want);
	assert_int_equal(
		vu_client_send(c, VHOST_USER_SET_PROTOCOL_FEATURES, &want, 8, NULL, 0, false), 0);
	assert_int_equal(vu_client_send(c, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0, false), 0);
	assert_int_equal(vu_client_get_u64(c, VHOST_USER_GET_QUEUE_NUM), queues);
	assert_int_equal(vu_client_ack(c, VHOST_USER_SET_FEATURES, &features, 8, NULL, 0), 0);
}

void vu_client_mem(struct vu_client *c)
{
	struct vhost_user_memory m = {.nregions = 1};

	m.regions[0] = vu_client_region(c);
	assert_int_equal(vu_client_ack(c, VHOST_USER_SET_MEM_TABLE, &m, vu_memtable_size(1),
				       &c->arena.memfd, 1),
			 0);
}

void vu_client_vring_fd(struct vu_client *c, uint32_t req, int *fd)
{
	uint64_t idx = 0;

	*fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(*fd >= 0);
	assert_int_equal(vu_client_ack(c, req, &idx, 8, fd, 1), 0);
}

/* Queue 0's ring in the arena, set up, its eventfds sent, enabled: it runs. */
static void vu_client_start_queue0(struct vu_client *c)
{
	vu_client_ring(c);
	vu_client_ring_setup(c, 0, VU_QSZ, 0, c->desc, c->avail, c->used);
	vu_client_vring_fd(c, VHOST_USER_SET_VRING_KICK, &c->kick);
	vu_client_vring_fd(c, VHOST_USER_SET_VRING_CALL, &c->call);
	vu_client_vring_fd(c, VHOST_USER_SET_VRING_ERR, &c->err);
	vu_client_state(c, VHOST_USER_SET_VRING_ENABLE, 0, 1);
}

/* The whole front-end sequence for queue 0, as QEMU does it. */
void vu_client_handshake(struct vu_client *c)
{
	vu_client_negotiate(c, VIRTIO_BIT(VIRTIO_F_VERSION_1) |
				       VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES));
	vu_client_mem(c);
	vu_client_start_queue0(c);
}

struct vu_blk_req *vu_client_queue_read(struct vu_client *c, uint64_t sector)
{
	struct virtio_sg sg[3];
	struct vu_blk_req *r;
	uint64_t ga;

	r = virtio_dma_alloc(&c->arena, sizeof(*r), 16, &ga);
	assert_non_null(r);
	r->hdr.type = VIRTIO_BLK_T_IN;
	r->hdr.sector = sector;
	memset(r->data, 0xee, sizeof(r->data));
	r->status = 0xff;
	sg[0] = (struct virtio_sg){ga + offsetof(struct vu_blk_req, hdr), sizeof(r->hdr)};
	sg[1] = (struct virtio_sg){ga + offsetof(struct vu_blk_req, data), 512};
	sg[2] = (struct virtio_sg){ga + offsetof(struct vu_blk_req, status), 1};
	assert_int_equal(virtqueue_add_sgs(&c->vq, sg, 1, 2, r), 0);
	virtqueue_kick(&c->vq);
	return r;
}

/* Wait for the one request in flight. */
void vu_client_wait_used(struct vu_client *c, void *token)
{
	struct pollfd p = {.fd = c->call, .events = POLLIN};
	uint32_t len;
	void *got;

	while (!(got = virtqueue_get_buf(&c->vq, &len))) {
		assert_false(virtqueue_is_broken(&c->vq));
		assert_int_equal(poll(&p, 1, VU_WAIT_MS), 1);
		vireo_eventfd_drain_fd(c->call);
	}
	assert_ptr_equal(got, token);
}

/* One blk request of @len bytes (at most 4096) at @sector. Return: its status byte. */
uint8_t vu_client_blk(struct vu_client *c, uint32_t type, uint64_t sector, void *buf, uint32_t len)
{
	bool write = type == VIRTIO_BLK_T_OUT;
	struct virtio_sg sg[3];
	struct vu_blk_req *r;
	uint64_t ga;
	uint8_t status;

	r = virtio_dma_alloc(&c->arena, sizeof(*r), 16, &ga);
	assert_non_null(r);
	r->hdr.type = type;
	r->hdr.sector = sector;
	r->status = 0xff;
	if (write)
		memcpy(r->data, buf, len);
	sg[0] = (struct virtio_sg){ga + offsetof(struct vu_blk_req, hdr), sizeof(r->hdr)};
	sg[1] = (struct virtio_sg){ga + offsetof(struct vu_blk_req, data), len};
	sg[2] = (struct virtio_sg){ga + offsetof(struct vu_blk_req, status), 1};
	assert_int_equal(virtqueue_add_sgs(&c->vq, sg, write ? 2 : 1, write ? 1 : 2, r), 0);
	virtqueue_kick(&c->vq);
	vu_client_wait_used(c, r);
	if (!write)
		memcpy(buf, r->data, len);
	status = r->status;
	virtio_dma_free(&c->arena, r);
	return status;
}

uint32_t vu_client_vring_base(struct vu_client *c)
{
	return vu_client_get_vring_base(c, 0);
}

static bool vu_ring_kick(struct virtqueue *vq)
{
	struct vu_ring *r = vq->priv;

	return vireo_eventfd_signal_fd(r->kick) == 0;
}

static void vu_ring_fd(struct vu_ring *r, uint32_t req, int *fd)
{
	uint64_t idx = r->index;

	*fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(*fd >= 0);
	assert_int_equal(vu_client_ack(r->c, req, &idx, 8, fd, 1), 0);
}

/* @iova: the ring's addresses are its guest addresses (IOVAs), else user addresses. */
static void vu_ring_start_as(struct vu_ring *r, struct vu_client *c, uint32_t index, bool iova)
{
	struct vring_split_drv_config cfg = {.num = VU_QSZ, .extra = r->extra};
	struct vhost_user_vring_addr a = {.index = index};

	r->c = c;
	r->index = index;
	cfg.desc = virtio_dma_alloc(&c->arena, 16 * VU_QSZ, 16, &r->desc);
	cfg.avail = virtio_dma_alloc(&c->arena, 6 + 2 * VU_QSZ, 2, &r->avail);
	cfg.used = virtio_dma_alloc(&c->arena, 6 + 8 * VU_QSZ, 4, &r->used);
	assert_int_equal(virtqueue_split_init(&r->vq, &cfg), 0);
	r->vq.notify = vu_ring_kick;
	r->vq.priv = r;
	r->vq.name = "vu-test-mq";
	if (iova) {
		vu_client_state(c, VHOST_USER_SET_VRING_NUM, index, VU_QSZ);
		vu_client_state(c, VHOST_USER_SET_VRING_BASE, index, 0);
		a.desc_user_addr = r->desc;
		a.avail_user_addr = r->avail;
		a.used_user_addr = r->used;
		assert_int_equal(
			vu_client_ack(c, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 0);
	} else {
		vu_client_ring_setup(c, index, VU_QSZ, 0, r->desc, r->avail, r->used);
	}
	vu_ring_fd(r, VHOST_USER_SET_VRING_KICK, &r->kick);
	vu_ring_fd(r, VHOST_USER_SET_VRING_CALL, &r->call);
	vu_ring_fd(r, VHOST_USER_SET_VRING_ERR, &r->err);
	vu_client_state(c, VHOST_USER_SET_VRING_ENABLE, index, 1);
}

void vu_ring_start(struct vu_ring *r, struct vu_client *c, uint32_t index)
{
	vu_ring_start_as(r, c, index, false);
}

void vu_ring_start_iova(struct vu_ring *r, struct vu_client *c, uint32_t index)
{
	vu_ring_start_as(r, c, index, true);
}

/* Queue a 4 KiB read of @sector on @r (no kick). */
struct vu_blk_req *vu_ring_read(struct vu_ring *r, uint64_t sector)
{
	struct virtio_sg sg[3];
	struct vu_blk_req *q;
	uint64_t ga;

	q = virtio_dma_alloc(&r->c->arena, sizeof(*q), 16, &ga);
	assert_non_null(q);
	q->hdr.type = VIRTIO_BLK_T_IN;
	q->hdr.sector = sector;
	q->status = 0xff;
	sg[0] = (struct virtio_sg){ga + offsetof(struct vu_blk_req, hdr), sizeof(q->hdr)};
	sg[1] = (struct virtio_sg){ga + offsetof(struct vu_blk_req, data), sizeof(q->data)};
	sg[2] = (struct virtio_sg){ga + offsetof(struct vu_blk_req, status), 1};
	assert_int_equal(virtqueue_add_sgs(&r->vq, sg, 1, 2, q), 0);
	return q;
}

/* Wait until @n requests of @r are used, each with status OK. */
void vu_ring_wait(struct vu_ring *r, unsigned int n)
{
	struct pollfd p = {.fd = r->call, .events = POLLIN};
	struct vu_blk_req *q;
	uint32_t len;

	while (n > 0) {
		q = virtqueue_get_buf(&r->vq, &len);
		if (!q) {
			assert_false(virtqueue_is_broken(&r->vq));
			assert_int_equal(poll(&p, 1, VU_WAIT_MS), 1);
			vireo_eventfd_drain_fd(r->call);
			continue;
		}
		assert_int_equal(q->status, VIRTIO_BLK_S_OK);
		virtio_dma_free(&r->c->arena, q);
		n--;
	}
}

void vu_ring_restart(struct vu_ring *r)
{
	uint32_t base = vu_client_get_vring_base(r->c, r->index);

	vu_client_state(r->c, VHOST_USER_SET_VRING_BASE, r->index, base);
	vu_client_ring_addr(r->c, r->index, r->desc, r->avail, r->used);
	close(r->kick);
	vu_ring_fd(r, VHOST_USER_SET_VRING_KICK, &r->kick);
}

void vu_ring_close(struct vu_ring *r)
{
	close(r->kick);
	close(r->call);
	close(r->err);
}

void vu_client_negotiate_inflight(struct vu_client *c, bool inflight)
{
	uint64_t features =
		VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES);
	uint64_t want = VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK);

	if (inflight)
		want |= VIRTIO_BIT(VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD);
	(void)vu_client_get_u64(c, VHOST_USER_GET_FEATURES);
	assert_true(vu_client_get_u64(c, VHOST_USER_GET_PROTOCOL_FEATURES) &
		    VIRTIO_BIT(VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD));
	assert_int_equal(
		vu_client_send(c, VHOST_USER_SET_PROTOCOL_FEATURES, &want, 8, NULL, 0, false), 0);
	assert_int_equal(vu_client_send(c, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0, false), 0);
	assert_int_equal(vu_client_ack(c, VHOST_USER_SET_FEATURES, &features, 8, NULL, 0), 0);
	vu_client_mem(c);
}

void vu_client_start_with_inflight(struct vu_client *c, int fd, uint64_t size)
{
	struct vhost_user_inflight in = {.mmap_size = size, .num_queues = 1, .queue_size = VU_QSZ};

	assert_int_equal(vu_client_ack(c, VHOST_USER_SET_INFLIGHT_FD, &in, sizeof(in), &fd, 1), 0);
	vu_client_start_queue0(c);
}
