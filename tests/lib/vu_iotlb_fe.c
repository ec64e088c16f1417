// SPDX-License-Identifier: MIT
/*
 * The vhost-user IOTLB tests' fixture (test_vhost_user_iotlb*.c): an
 * in-process blk server, and a scripted front-end that negotiates
 * VIRTIO_F_ACCESS_PLATFORM with PROTOCOL_F_IOTLB and BACKEND_REQ and plays
 * QEMU's part: its memory table gives the arena a bogus guest address, so only
 * IOTLB translations (IOVA -> user address) can reach it; rings and buffers
 * are at IOVAs (their dma addresses). Misses arrive on the back-end channel.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vireo/blk_device.h>
#include <vireo/event_loop.h>
#include <vireo/spec.h>
#include <vireo/vhost_user.h>
#include <vireo/vhost_user_backend.h>

#include "tests/lib/vu_iotlb_fe.h"

static int vui_setup_queues(void **state, unsigned int queues)
{
	struct vu_blk_fixture *s = calloc(1, sizeof(*s));
	struct blk_device_options bo = {.serial = "vu-iotlb", .num_queues = queues};
	struct vhost_user_backend_options vo = {.inflight = true}; /* as serve blk */

	assert_non_null(s);
	vu_blk_fixture_start(s, "/tmp/vireo-vui-XXXXXX", &bo, &vo);
	*state = s;
	return 0;
}

int vui_setup(void **state)
{
	return vui_setup_queues(state, 1);
}

/* Two queues: each runs in its own thread, so translations and misses happen off the control thread. */
int vui_setup_mq(void **state)
{
	return vui_setup_queues(state, 2);
}

void vui_server_stop(struct vu_blk_fixture *s, struct vhost_user_backend_iotlb_stats *st)
{
	/* The join orders the control thread's counters before this read. */
	vu_blk_fixture_halt(s);
	vireo_vhost_user_backend_iotlb_stats(s->b, st);
}

int vui_teardown(void **state)
{
	vu_blk_fixture_stop(*state);
	free(*state);
	return 0;
}

/* The user address QEMU would give for IOVA @iova: the arena's IOVAs are its dma addresses. */
uint64_t vui_uaddr(uint64_t iova)
{
	return VU_USER_BASE + (iova - VU_GUEST_BASE);
}

/* One IOTLB_MSG; Return: the u64 reply (0 applied), which always comes (D-VU-22). */
uint64_t vui_iotlb(struct vui_fe *f, uint8_t type, uint64_t iova, uint64_t size, uint64_t uaddr,
		   uint8_t perm)
{
	struct vhost_user_iotlb m = {
		.iova = iova, .size = size, .uaddr = uaddr, .perm = perm, .type = type};
	struct vhost_user_msg r;

	assert_int_equal(vu_client_send(&f->c, VHOST_USER_IOTLB_MSG, &m, sizeof(m), NULL, 0, true),
			 0);
	vu_client_reply(&f->c, VHOST_USER_IOTLB_MSG, &r);
	assert_int_equal(r.hdr.size, 8);
	if (type == VHOST_IOTLB_UPDATE && r.payload.u64 == 0)
		f->updates++;
	return r.payload.u64;
}

/*
 * Read one back-end request within @ms. Return: 1 and *@m (checked: a
 * BACKEND_IOTLB_MSG of 32 bytes, D-VU-23; a miss asks for a reply since
 * REPLY_ACK is negotiated, D-VU-IOTLB-07), or 0 if none came.
 */
int vui_backend_msg(struct vui_fe *f, struct vhost_user_iotlb *m, int ms)
{
	struct pollfd p = {.fd = f->bsock, .events = POLLIN};
	struct vhost_user_header h;

	if (poll(&p, 1, ms) != 1)
		return 0;
	assert_int_equal(recv(f->bsock, &h, sizeof(h), MSG_WAITALL), sizeof(h));
	assert_int_equal(h.request, VHOST_USER_BACKEND_IOTLB_MSG);
	assert_int_equal(h.size, sizeof(*m));
	assert_int_equal(recv(f->bsock, m, sizeof(*m), MSG_WAITALL), sizeof(*m));
	f->need_reply = h.flags & VHOST_USER_NEED_REPLY_MASK;
	f->received += m->type == VHOST_IOTLB_MISS;
	assert_int_equal(h.flags & ~VHOST_USER_NEED_REPLY_MASK, VHOST_USER_VERSION);
	assert_true(f->need_reply == (m->type == VHOST_IOTLB_MISS));
	return 1;
}

/* The reply to the last back-end message, as QEMU sends it: a u64 status. */
void vui_backend_reply(struct vui_fe *f, uint64_t status)
{
	struct {
		struct vhost_user_header h;
		uint64_t status;
	} __attribute__((packed))
	r = {{VHOST_USER_BACKEND_IOTLB_MSG, VHOST_USER_VERSION | VHOST_USER_REPLY_MASK, 8}, status};

	assert_true(f->need_reply);
	assert_int_equal(send(f->bsock, &r, sizeof(r), MSG_NOSIGNAL), sizeof(r));
}

/*
 * Map the whole arena RW in one update. The misses the ring start asked for
 * (sent before SET_VRING_ENABLE's ack, so already there) are read and dropped.
 */
void vui_map_all(struct vui_fe *f)
{
	struct vhost_user_iotlb m;

	assert_int_equal(vui_iotlb(f, VHOST_IOTLB_UPDATE, VU_GUEST_BASE, f->c.arena.size,
				   VU_USER_BASE, VHOST_ACCESS_RW),
			 0);
	while (vui_backend_msg(f, &m, 0)) {
		assert_int_equal(m.type, VHOST_IOTLB_MISS);
		vui_backend_reply(f, 0);
	}
}

/* A miss answered as QEMU does: an update of the 4 KiB page holding it, RW. */
void vui_serve_miss(struct vui_fe *f, const struct vhost_user_iotlb *m)
{
	uint64_t page = m->iova & ~(VUI_PAGE - 1);

	assert_int_equal(m->type, VHOST_IOTLB_MISS);
	assert_true(m->perm == VHOST_ACCESS_RO || m->perm == VHOST_ACCESS_WO);
	assert_true(m->iova >= VU_GUEST_BASE && m->iova < VU_GUEST_BASE + f->c.arena.size);
	f->misses++;
	f->last_miss_iova = m->iova;
	f->last_miss_perm = m->perm;
	assert_int_equal(
		vui_iotlb(f, VHOST_IOTLB_UPDATE, page, VUI_PAGE, vui_uaddr(page), VHOST_ACCESS_RW),
		0);
	vui_backend_reply(f, 0); /* after the update, as QEMU's vhost_backend_handle_iotlb_msg */
}

/*
 * Connect and negotiate ACCESS_PLATFORM, REPLY_ACK, IOTLB and BACKEND_REQ
 * (and @extra_pf); the back-end channel; the arena at VUI_BOGUS_GPA in the
 * memory table; queue 0's ring in the arena (not started).
 */
void vui_negotiate(struct vu_blk_fixture *s, struct vui_fe *f, uint64_t extra_pf)
{
	uint64_t pf = VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) |
		      VIRTIO_BIT(VHOST_USER_PROTOCOL_F_IOTLB) |
		      VIRTIO_BIT(VHOST_USER_PROTOCOL_F_BACKEND_REQ) | extra_pf;
	uint64_t feat = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
			VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES) |
			VIRTIO_BIT(VIRTIO_F_ACCESS_PLATFORM);
	struct vhost_user_memory mt = {.nregions = 1};
	int sv[2];

	memset(f, 0, sizeof(*f));
	vu_client_connect(&f->c, s->sock);
	assert_true(vu_client_get_u64(&f->c, VHOST_USER_GET_FEATURES) &
		    VIRTIO_BIT(VIRTIO_F_ACCESS_PLATFORM));
	assert_int_equal(vu_client_get_u64(&f->c, VHOST_USER_GET_PROTOCOL_FEATURES) & pf, pf);
	assert_int_equal(
		vu_client_send(&f->c, VHOST_USER_SET_PROTOCOL_FEATURES, &pf, 8, NULL, 0, false), 0);
	assert_int_equal(vu_client_send(&f->c, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0, false), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(vu_client_ack(&f->c, VHOST_USER_SET_BACKEND_REQ_FD, NULL, 0, &sv[1], 1),
			 0);
	close(sv[1]);
	f->bsock = sv[0];
	assert_int_equal(vu_client_ack(&f->c, VHOST_USER_SET_FEATURES, &feat, 8, NULL, 0), 0);
	mt.regions[0] = vu_client_region(&f->c);
	mt.regions[0].guest_addr = VUI_BOGUS_GPA; /* D-VU-IOTLB-01: not used with bit 33 */
	assert_int_equal(vu_client_ack(&f->c, VHOST_USER_SET_MEM_TABLE, &mt, vu_memtable_size(1),
				       &f->c.arena.memfd, 1),
			 0);
	vu_client_ring(&f->c);
}

/*
 * Queue 0's ring at IOVAs (its dma addresses), started at @base and enabled.
 * Its misses are not served.
 */
void vui_ring_prepare(struct vui_fe *f, uint32_t base, uint64_t desc)
{
	struct vhost_user_vring_addr a = {.index = 0};

	vu_client_state(&f->c, VHOST_USER_SET_VRING_NUM, 0, VU_QSZ);
	vu_client_state(&f->c, VHOST_USER_SET_VRING_BASE, 0, base);
	/* D-VU-IOTLB-02: IOVAs, not user addresses (they are outside the memory table's). */
	a.desc_user_addr = desc ? desc : f->c.desc;
	a.avail_user_addr = f->c.avail;
	a.used_user_addr = f->c.used;
	assert_int_equal(vu_client_ack(&f->c, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0),
			 0);
	vu_client_vring_fd(&f->c, VHOST_USER_SET_VRING_KICK, &f->c.kick);
	vu_client_vring_fd(&f->c, VHOST_USER_SET_VRING_CALL, &f->c.call);
	vu_client_vring_fd(&f->c, VHOST_USER_SET_VRING_ERR, &f->c.err);
}

void vui_start_ring_at(struct vui_fe *f, uint32_t base)
{
	vui_ring_prepare(f, base, 0);
	vu_client_state(&f->c, VHOST_USER_SET_VRING_ENABLE, 0, 1);
}

void vui_replace_channel(struct vui_fe *f, int sndbuf)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	if (sndbuf)
		assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)),
				 0);
	assert_int_equal(vu_client_ack(&f->c, VHOST_USER_SET_BACKEND_REQ_FD, NULL, 0, &sv[1], 1),
			 0);
	close(sv[1]);
	close(f->bsock);
	f->bsock = sv[0];
}

void vui_start_ring(struct vui_fe *f)
{
	vui_start_ring_at(f, 0);
}

void vui_connect(struct vu_blk_fixture *s, struct vui_fe *f)
{
	vui_negotiate(s, f, 0);
	vui_start_ring(f);
}

void vui_close(struct vui_fe *f)
{
	close(f->bsock);
	vu_client_close(&f->c);
}

/* A blk request at @r (the caller's buffer in the arena), posted and kicked. */
void vui_post_vq(struct virtqueue *vq, struct vu_blk_req *r, uint64_t ga, uint32_t type,
		 uint64_t sector)
{
	bool write = type == VIRTIO_BLK_T_OUT;
	struct virtio_sg sg[3];

	r->hdr.type = type;
	r->hdr.sector = sector;
	r->status = 0xff;
	sg[0] = (struct virtio_sg){ga + offsetof(struct vu_blk_req, hdr), sizeof(r->hdr)};
	sg[1] = (struct virtio_sg){ga + offsetof(struct vu_blk_req, data), sizeof(r->data)};
	sg[2] = (struct virtio_sg){ga + offsetof(struct vu_blk_req, status), 1};
	assert_int_equal(virtqueue_add_sgs(vq, sg, write ? 2 : 1, write ? 1 : 2, r), 0);
	virtqueue_kick(vq);
}

void vui_post(struct vui_fe *f, struct vu_blk_req *r, uint64_t ga, uint32_t type, uint64_t sector)
{
	vui_post_vq(&f->c.vq, r, ga, type, sector);
}

/* The next used buffer, answering every miss meanwhile as QEMU would. Return: its token. */
void *vui_next_used(struct vui_fe *f)
{
	struct pollfd p[2] = {{.fd = f->c.call, .events = POLLIN},
			      {.fd = f->bsock, .events = POLLIN}};
	struct vhost_user_iotlb m;
	uint32_t len;
	void *got;

	while (!(got = virtqueue_get_buf(&f->c.vq, &len))) {
		assert_false(virtqueue_is_broken(&f->c.vq));
		assert_true(poll(p, 2, VU_WAIT_MS) >= 1);
		if (p[1].revents & POLLIN) {
			assert_int_equal(vui_backend_msg(f, &m, 0), 1);
			vui_serve_miss(f, &m);
		}
		if (p[0].revents & POLLIN)
			vireo_eventfd_drain_fd(f->c.call);
	}
	return got;
}

/* Wait for @r to be used, answering misses. Return: its status. */
uint8_t vui_complete(struct vui_fe *f, struct vu_blk_req *r)
{
	assert_ptr_equal(vui_next_used(f), r);
	return r->status;
}

struct vu_blk_req *vui_req(struct vui_fe *f, uint64_t *ga)
{
	/* Page-aligned: one request's pages are its own (invalidation and permission tests). */
	struct vu_blk_req *r = virtio_dma_alloc(&f->c.arena, sizeof(*r), VUI_PAGE, ga);

	assert_non_null(r);
	return r;
}

struct vu_blk_req *vui_req_unmapped(struct vui_fe *f, uint64_t *ga)
{
	struct vu_blk_req *r = vui_req(f, ga);

	assert_int_equal(vui_iotlb(f, VHOST_IOTLB_INVALIDATE, *ga, 2 * VUI_PAGE, 0, 0), 0);
	memset(r->data, 0xaa, sizeof(r->data));
	return r;
}

struct vu_blk_req *vui_req_missed(struct vu_blk_fixture *s, struct vui_fe *f, uint64_t *ga)
{
	struct vhost_user_iotlb m;
	struct vu_blk_req *r;

	vui_connect(s, f);
	vui_map_all(f);
	r = vui_req_unmapped(f, ga);
	vui_post(f, r, *ga, VIRTIO_BLK_T_IN, 0);
	assert_int_equal(vui_backend_msg(f, &m, VU_WAIT_MS), 1);
	assert_int_equal(m.type, VHOST_IOTLB_MISS);
	assert_int_equal(m.iova, *ga);
	return r;
}
