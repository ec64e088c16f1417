// SPDX-License-Identifier: MIT
/*
 * The vhost-user back-end behind a vIOMMU (vhost-user.rst "IOMMU support",
 * "Back-end communication"): an in-process blk server, a scripted front-end
 * that negotiates VIRTIO_F_ACCESS_PLATFORM with PROTOCOL_F_IOTLB and
 * BACKEND_REQ and plays QEMU's part: its memory table gives the arena a bogus
 * guest address, so only IOTLB translations (IOVA -> user address) can reach
 * it; rings and buffers are at IOVAs. Misses arrive on the back-end channel
 * and are answered with updates; invalidations, permissions and hostile
 * IOTLB messages are checked. Labels: D-VU-IOTLB-01..06, D-VU-22, D-VU-23,
 * D-VU-28.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vireo/blk_device.h>
#include <vireo/event_loop.h>
#include <vireo/inflight.h>
#include <vireo/spec.h>
#include <vireo/vhost_user.h>
#include <vireo/vhost_user_backend.h>

#include "tests/lib/vu_client.h"

#define IMAGE_BYTES (1u << 20)
#define BOGUS_GPA 0x900000000ull /* the memory table's guest address: never an IOVA here */
#define PAGE 4096ull

struct server {
	char dir[64];
	char sock[128];
	char image[128];
	struct event_loop loop;
	struct blk_device *blk;
	struct vhost_user_backend *b;
	pthread_t thread;
};

static void *server_thread(void *arg)
{
	struct server *s = arg;

	assert_int_equal(vireo_vhost_user_backend_run(s->b), 0);
	return NULL;
}

static int setup_queues(void **state, unsigned int queues)
{
	struct server *s = calloc(1, sizeof(*s));
	struct blk_device_options bo = {.serial = "vu-iotlb", .num_queues = queues};
	struct vhost_user_backend_options vo = {.inflight = true}; /* as serve blk */
	int fd;

	assert_non_null(s);
	strcpy(s->dir, "/tmp/vireo-vui-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->sock, sizeof(s->sock), "%s/sock", s->dir);
	snprintf(s->image, sizeof(s->image), "%s/image", s->dir);
	fd = open(s->image, O_CREAT | O_RDWR, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, IMAGE_BYTES), 0);
	close(fd);
	bo.path = s->image;
	vo.socket_path = s->sock;
	assert_int_equal(vireo_blk_device_new(&s->blk, &bo), 0);
	assert_int_equal(vireo_event_loop_init(&s->loop), 0);
	assert_int_equal(
		vireo_vhost_user_backend_new(&s->b, vireo_blk_device_vdev(s->blk), &s->loop, &vo),
		0);
	assert_int_equal(pthread_create(&s->thread, NULL, server_thread, s), 0);
	*state = s;
	return 0;
}

static int setup(void **state)
{
	return setup_queues(state, 1);
}

/* Two queues: each runs in its own thread, so translations and misses happen off the control thread. */
static int setup_mq(void **state)
{
	return setup_queues(state, 2);
}

static int teardown(void **state)
{
	struct server *s = *state;

	vireo_event_loop_stop(&s->loop);
	assert_int_equal(pthread_join(s->thread, NULL), 0);
	vireo_vhost_user_backend_free(s->b);
	vireo_blk_device_free(s->blk);
	vireo_event_loop_destroy(&s->loop);
	unlink(s->image);
	rmdir(s->dir);
	free(s);
	return 0;
}

/* The front-end: the vu_client, its end of the back-end channel, what it saw there. */
struct fe {
	struct vu_client c;
	int bsock;
	bool need_reply; /* the last back-end message asked for a reply */
	unsigned int misses;
	uint64_t last_miss_iova;
	uint8_t last_miss_perm;
};

/* The user address QEMU would give for IOVA @iova: the arena's IOVAs are its dma addresses. */
static uint64_t fe_uaddr(uint64_t iova)
{
	return VU_USER_BASE + (iova - VU_GUEST_BASE);
}

/* One IOTLB_MSG; Return: the u64 reply (0 applied), which always comes (D-VU-22). */
static uint64_t fe_iotlb(struct fe *f, uint8_t type, uint64_t iova, uint64_t size, uint64_t uaddr,
			 uint8_t perm)
{
	struct vhost_user_iotlb m = {
		.iova = iova, .size = size, .uaddr = uaddr, .perm = perm, .type = type};
	struct vhost_user_msg r;

	assert_int_equal(vu_client_send(&f->c, VHOST_USER_IOTLB_MSG, &m, sizeof(m), NULL, 0, true),
			 0);
	vu_client_reply(&f->c, VHOST_USER_IOTLB_MSG, &r);
	assert_int_equal(r.hdr.size, 8);
	return r.payload.u64;
}

/*
 * Read one back-end request within @ms. Return: 1 and *@m (checked: a
 * BACKEND_IOTLB_MSG of 32 bytes, D-VU-23; a miss asks for a reply since
 * REPLY_ACK is negotiated, D-VU-IOTLB-07), or 0 if none came.
 */
static int fe_backend_msg(struct fe *f, struct vhost_user_iotlb *m, int ms)
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
	assert_int_equal(h.flags & ~VHOST_USER_NEED_REPLY_MASK, VHOST_USER_VERSION);
	assert_true(f->need_reply == (m->type == VHOST_IOTLB_MISS));
	return 1;
}

/* The reply to the last back-end message, as QEMU sends it: a u64 status. */
static void fe_backend_reply(struct fe *f, uint64_t status)
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
static void fe_map_all(struct fe *f)
{
	struct vhost_user_iotlb m;

	assert_int_equal(fe_iotlb(f, VHOST_IOTLB_UPDATE, VU_GUEST_BASE, f->c.arena.size,
				  VU_USER_BASE, VHOST_ACCESS_RW),
			 0);
	while (fe_backend_msg(f, &m, 0)) {
		assert_int_equal(m.type, VHOST_IOTLB_MISS);
		fe_backend_reply(f, 0);
	}
}

/* A miss answered as QEMU does: an update of the 4 KiB page holding it, RW. */
static void fe_serve_miss(struct fe *f, const struct vhost_user_iotlb *m)
{
	uint64_t page = m->iova & ~(PAGE - 1);

	assert_int_equal(m->type, VHOST_IOTLB_MISS);
	assert_true(m->perm == VHOST_ACCESS_RO || m->perm == VHOST_ACCESS_WO);
	assert_true(m->iova >= VU_GUEST_BASE && m->iova < VU_GUEST_BASE + f->c.arena.size);
	f->misses++;
	f->last_miss_iova = m->iova;
	f->last_miss_perm = m->perm;
	assert_int_equal(
		fe_iotlb(f, VHOST_IOTLB_UPDATE, page, PAGE, fe_uaddr(page), VHOST_ACCESS_RW), 0);
	fe_backend_reply(f, 0); /* after the update, as QEMU's vhost_backend_handle_iotlb_msg */
}

/*
 * Connect and negotiate ACCESS_PLATFORM, REPLY_ACK, IOTLB and BACKEND_REQ
 * (and @extra_pf); the back-end channel; the arena at BOGUS_GPA in the
 * memory table; queue 0's ring in the arena (not started).
 */
static void fe_negotiate(struct server *s, struct fe *f, uint64_t extra_pf)
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
	mt.regions[0].guest_addr = BOGUS_GPA; /* D-VU-IOTLB-01: not used with bit 33 */
	assert_int_equal(vu_client_ack(&f->c, VHOST_USER_SET_MEM_TABLE, &mt, vu_memtable_size(1),
				       &f->c.arena.memfd, 1),
			 0);
	vu_client_ring(&f->c);
}

/*
 * Queue 0's ring at IOVAs (its dma addresses), started at @base and enabled.
 * Its misses are not served.
 */
static void fe_start_ring_at(struct fe *f, uint32_t base)
{
	struct vhost_user_vring_addr a = {.index = 0};

	vu_client_state(&f->c, VHOST_USER_SET_VRING_NUM, 0, VU_QSZ);
	vu_client_state(&f->c, VHOST_USER_SET_VRING_BASE, 0, base);
	/* D-VU-IOTLB-02: IOVAs, not user addresses (they are outside the memory table's). */
	a.desc_user_addr = f->c.desc;
	a.avail_user_addr = f->c.avail;
	a.used_user_addr = f->c.used;
	assert_int_equal(vu_client_ack(&f->c, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0),
			 0);
	vu_client_vring_fd(&f->c, VHOST_USER_SET_VRING_KICK, &f->c.kick);
	vu_client_vring_fd(&f->c, VHOST_USER_SET_VRING_CALL, &f->c.call);
	vu_client_vring_fd(&f->c, VHOST_USER_SET_VRING_ERR, &f->c.err);
	vu_client_state(&f->c, VHOST_USER_SET_VRING_ENABLE, 0, 1);
}

static void fe_start_ring(struct fe *f)
{
	fe_start_ring_at(f, 0);
}

static void fe_connect(struct server *s, struct fe *f)
{
	fe_negotiate(s, f, 0);
	fe_start_ring(f);
}

static void fe_close(struct fe *f)
{
	close(f->bsock);
	vu_client_close(&f->c);
}

/* A blk request at @r (the caller's buffer in the arena), posted and kicked. */
static void fe_post(struct fe *f, struct vu_blk_req *r, uint64_t ga, uint32_t type, uint64_t sector)
{
	bool write = type == VIRTIO_BLK_T_OUT;
	struct virtio_sg sg[3];

	r->hdr.type = type;
	r->hdr.sector = sector;
	r->status = 0xff;
	sg[0] = (struct virtio_sg){ga + offsetof(struct vu_blk_req, hdr), sizeof(r->hdr)};
	sg[1] = (struct virtio_sg){ga + offsetof(struct vu_blk_req, data), sizeof(r->data)};
	sg[2] = (struct virtio_sg){ga + offsetof(struct vu_blk_req, status), 1};
	assert_int_equal(virtqueue_add_sgs(&f->c.vq, sg, write ? 2 : 1, write ? 1 : 2, r), 0);
	virtqueue_kick(&f->c.vq);
}

/* The next used buffer, answering every miss meanwhile as QEMU would. Return: its token. */
static void *fe_next_used(struct fe *f)
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
			assert_int_equal(fe_backend_msg(f, &m, 0), 1);
			fe_serve_miss(f, &m);
		}
		if (p[0].revents & POLLIN)
			vireo_eventfd_drain_fd(f->c.call);
	}
	return got;
}

/* Wait for @r to be used, answering misses. Return: its status. */
static uint8_t fe_complete(struct fe *f, struct vu_blk_req *r)
{
	assert_ptr_equal(fe_next_used(f), r);
	return r->status;
}

static struct vu_blk_req *fe_req(struct fe *f, uint64_t *ga)
{
	/* Page-aligned: one request's pages are its own (invalidation and permission tests). */
	struct vu_blk_req *r = virtio_dma_alloc(&f->c.arena, sizeof(*r), PAGE, ga);

	assert_non_null(r);
	return r;
}

/*
 * D-VU-IOTLB-01/02/05: an empty IOTLB; the ring start and each buffer miss,
 * the misses arrive on the back-end channel, are answered, and the data goes
 * through IOVAs to the image and back.
 */
static void test_iotlb_misses_then_io(void **state)
{
	struct server *s = *state;
	struct vu_blk_req *w, *r;
	uint64_t wga, rga;
	struct fe f;

	fe_connect(s, &f);
	w = fe_req(&f, &wga);
	r = fe_req(&f, &rga);
	for (unsigned int i = 0; i < sizeof(w->data); i++)
		w->data[i] = (uint8_t)(i * 7 + 1);
	fe_post(&f, w, wga, VIRTIO_BLK_T_OUT, 8);
	assert_int_equal(fe_complete(&f, w), VIRTIO_BLK_S_OK);
	/* desc, avail and used pages, the request's pages: each asked for, with an access */
	assert_true(f.misses >= 3);
	memset(r->data, 0xaa, sizeof(r->data));
	fe_post(&f, r, rga, VIRTIO_BLK_T_IN, 8);
	assert_int_equal(fe_complete(&f, r), VIRTIO_BLK_S_OK);
	assert_memory_equal(r->data, w->data, sizeof(w->data));
	/* The read's data buffer is device-writable: its miss asked for WO. */
	assert_int_equal(f.last_miss_perm & VHOST_ACCESS_WO, VHOST_ACCESS_WO);
	fe_close(&f);
}

/*
 * D-VU-IOTLB-03: after the ack of an invalidation the old translation is not
 * used: the next request misses, and nothing is written before the update.
 */
static void test_iotlb_invalidate_then_miss(void **state)
{
	struct server *s = *state;
	struct vhost_user_iotlb m;
	struct vu_blk_req *r;
	uint64_t rga;
	uint32_t len;
	struct fe f;

	fe_connect(s, &f);
	fe_map_all(&f);
	r = fe_req(&f, &rga);
	memset(r->data, 0x5c, sizeof(r->data));
	fe_post(&f, r, rga, VIRTIO_BLK_T_OUT, 1);
	assert_int_equal(fe_complete(&f, r), VIRTIO_BLK_S_OK);
	assert_int_equal(f.misses, 0);
	/* A range not present is no error; then the request's first page. */
	assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_INVALIDATE, 0x1000, PAGE, 0, 0), 0);
	assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_INVALIDATE, rga, PAGE, 0, 0), 0);
	memset(r->data, 0xaa, sizeof(r->data));
	fe_post(&f, r, rga, VIRTIO_BLK_T_IN, 1);
	/* Its buffer misses, and nothing is used or written before the update. */
	assert_int_equal(fe_backend_msg(&f, &m, VU_WAIT_MS), 1);
	assert_int_equal(m.type, VHOST_IOTLB_MISS);
	assert_null(virtqueue_get_buf(&f.c.vq, &len));
	assert_int_equal(r->data[0], 0xaa);
	assert_int_equal(r->status, 0xff);
	fe_serve_miss(&f, &m);
	assert_int_equal(fe_complete(&f, r), VIRTIO_BLK_S_OK);
	assert_int_equal(r->data[0], 0x5c);
	assert_int_equal(r->data[sizeof(r->data) - 1], 0x5c);
	assert_true(f.misses >= 1);
	/* The ring's page: the ring stops at once and asks for it again (D-VU-IOTLB-02). */
	assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_INVALIDATE, f.c.desc & ~(PAGE - 1), PAGE, 0, 0),
			 0);
	assert_int_equal(fe_backend_msg(&f, &m, VU_WAIT_MS), 1);
	assert_int_equal(m.type, VHOST_IOTLB_MISS);
	assert_int_equal(m.iova, f.c.desc);
	assert_int_equal(m.perm, VHOST_ACCESS_RO);
	fe_serve_miss(&f, &m);
	fe_post(&f, r, rga, VIRTIO_BLK_T_OUT, 1);
	assert_int_equal(fe_complete(&f, r), VIRTIO_BLK_S_OK);
	fe_close(&f);
}

/*
 * D-VU-IOTLB-06, D-VU-23: a read's data buffer mapped read-only: the device
 * writes nothing, reports an access failure with the IOVA and the access it
 * needed, and the device NEEDS_RESET (the error eventfd).
 */
static void test_iotlb_permission_denied(void **state)
{
	struct server *s = *state;
	struct vhost_user_iotlb m;
	struct pollfd p;
	struct vu_blk_req *r;
	uint64_t rga, data;
	struct fe f;

	fe_connect(s, &f);
	fe_map_all(&f);
	r = fe_req(&f, &rga);
	data = rga + offsetof(struct vu_blk_req, data);
	/* The data pages become read-only: overlapping update, the newest mapping wins. */
	assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_UPDATE, data & ~(PAGE - 1), 2 * PAGE,
				  fe_uaddr(data & ~(PAGE - 1)), VHOST_ACCESS_RO),
			 0);
	memset(r->data, 0xaa, sizeof(r->data));
	fe_post(&f, r, rga, VIRTIO_BLK_T_IN, 0);
	assert_int_equal(fe_backend_msg(&f, &m, VU_WAIT_MS), 1);
	assert_int_equal(m.type, VHOST_IOTLB_ACCESS_FAIL);
	assert_int_equal(m.iova, data);
	assert_int_equal(m.perm, VHOST_ACCESS_WO);
	p = (struct pollfd){.fd = f.c.err, .events = POLLIN};
	assert_int_equal(poll(&p, 1, VU_WAIT_MS), 1);
	assert_int_equal(r->data[0], 0xaa);
	assert_int_equal(r->data[sizeof(r->data) - 1], 0xaa);
	assert_int_equal(r->status, 0xff);
	/* The connection still answers. */
	assert_true(vu_client_get_u64(&f.c, VHOST_USER_GET_FEATURES) != 0);
	fe_close(&f);
}

/*
 * D-VU-IOTLB-07: the front-end answers a buffer's miss with a failure and no
 * update (an IOVA the guest never mapped), or with a success but no update:
 * the device NEEDS_RESET instead of missing forever; nothing of the request
 * was written; the connection stays.
 */
static void test_iotlb_miss_refused(void **state)
{
	struct server *s = *state;
	struct vhost_user_iotlb m;
	struct vu_blk_req *r;
	struct pollfd p;
	uint64_t rga;
	uint32_t len;
	struct fe f;

	fe_connect(s, &f);
	fe_map_all(&f);
	r = fe_req(&f, &rga);
	assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_INVALIDATE, rga, 2 * PAGE, 0, 0), 0);
	memset(r->data, 0xaa, sizeof(r->data));
	fe_post(&f, r, rga, VIRTIO_BLK_T_IN, 0);
	assert_int_equal(fe_backend_msg(&f, &m, VU_WAIT_MS), 1);
	assert_int_equal(m.type, VHOST_IOTLB_MISS);
	assert_int_equal(m.iova, rga);
	fe_backend_reply(&f, 1);
	p = (struct pollfd){.fd = f.c.err, .events = POLLIN};
	assert_int_equal(poll(&p, 1, VU_WAIT_MS), 1);
	fe_close(&f);
	/* The same with a success reply that brought no update. */
	fe_connect(s, &f);
	fe_map_all(&f);
	r = fe_req(&f, &rga);
	assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_INVALIDATE, rga, 2 * PAGE, 0, 0), 0);
	memset(r->data, 0xaa, sizeof(r->data));
	fe_post(&f, r, rga, VIRTIO_BLK_T_IN, 0);
	assert_int_equal(fe_backend_msg(&f, &m, VU_WAIT_MS), 1);
	assert_int_equal(m.iova, rga);
	fe_backend_reply(&f, 0);
	p = (struct pollfd){.fd = f.c.err, .events = POLLIN};
	assert_int_equal(poll(&p, 1, VU_WAIT_MS), 1);
	assert_null(virtqueue_get_buf(&f.c.vq, &len));
	assert_int_equal(r->data[0], 0xaa);
	assert_int_equal(r->status, 0xff);
	assert_true(vu_client_get_u64(&f.c, VHOST_USER_GET_FEATURES) != 0);
	/* A reply nobody asked for closes the channel, not the connection. */
	f.need_reply = true;
	fe_backend_reply(&f, 0);
	p = (struct pollfd){.fd = f.bsock, .events = POLLIN};
	assert_int_equal(poll(&p, 1, VU_WAIT_MS), 1);
	assert_int_equal(recv(f.bsock, &m, sizeof(m), 0), 0);
	assert_true(vu_client_get_u64(&f.c, VHOST_USER_GET_FEATURES) != 0);
	fe_close(&f);
}

/*
 * D-VU-IOTLB-07: a failed reply judges the IOMMU as it was. With an
 * invalidation between the miss and the reply (strict mode unmaps an IOVA
 * and maps it again for another use), the failure is not the device's end:
 * the queue asks again after the next update, and its I/O completes.
 */
static void test_iotlb_refused_after_invalidation(void **state)
{
	struct server *s = *state;
	struct vhost_user_iotlb m;
	struct vu_blk_req *r;
	struct pollfd p;
	uint64_t rga;
	struct fe f;

	fe_connect(s, &f);
	fe_map_all(&f);
	r = fe_req(&f, &rga);
	assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_INVALIDATE, rga, 2 * PAGE, 0, 0), 0);
	memset(r->data, 0xaa, sizeof(r->data));
	fe_post(&f, r, rga, VIRTIO_BLK_T_IN, 0);
	assert_int_equal(fe_backend_msg(&f, &m, VU_WAIT_MS), 1);
	assert_int_equal(m.iova, rga);
	/* The guest unmapped something meanwhile; then the reply says the miss failed. */
	assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_INVALIDATE, rga + 64 * PAGE, PAGE, 0, 0), 0);
	fe_backend_reply(&f, 1);
	p = (struct pollfd){.fd = f.c.err, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 200), 0); /* no NEEDS_RESET */
	/* The IOVA is mapped now: the update retries the queue, which completes the read. */
	assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_UPDATE, rga & ~(PAGE - 1), 2 * PAGE,
				  fe_uaddr(rga & ~(PAGE - 1)), VHOST_ACCESS_RW),
			 0);
	assert_int_equal(fe_complete(&f, r), VIRTIO_BLK_S_OK);
	fe_close(&f);
}

/*
 * D-VU-22, D-VU-IOTLB-04: hostile IOTLB messages are refused with a non-zero
 * reply, each on its own (the connection stays); overlapping updates and a
 * flood beyond the table's bound are taken, and I/O still works after them.
 */
static void test_iotlb_hostile_messages(void **state)
{
	static const struct {
		uint8_t type, perm;
		uint64_t iova, size, uaddr_off;
	} bad[] = {
		{VHOST_IOTLB_UPDATE, 0, VU_GUEST_BASE, PAGE, 0},		 /* no permission */
		{VHOST_IOTLB_UPDATE, 4, VU_GUEST_BASE, PAGE, 0},		 /* unknown bit */
		{VHOST_IOTLB_UPDATE, 0xff, VU_GUEST_BASE, PAGE, 0},		 /* unknown bits */
		{VHOST_IOTLB_UPDATE, VHOST_ACCESS_RW, VU_GUEST_BASE, 0, 0},	 /* size 0 */
		{VHOST_IOTLB_UPDATE, VHOST_ACCESS_RW, UINT64_MAX - 10, PAGE, 0}, /* iova wraps */
		{VHOST_IOTLB_UPDATE, VHOST_ACCESS_RW, VU_GUEST_BASE, PAGE,
		 UINT64_MAX}, /* uaddr wraps */
		{VHOST_IOTLB_UPDATE, VHOST_ACCESS_RW, VU_GUEST_BASE, PAGE,
		 VU_ARENA_BYTES}, /* outside */
		{VHOST_IOTLB_UPDATE, VHOST_ACCESS_RW, VU_GUEST_BASE, 2 * PAGE,
		 VU_ARENA_BYTES - PAGE},
		{VHOST_IOTLB_MISS, VHOST_ACCESS_RO, VU_GUEST_BASE, PAGE, 0}, /* back-end's type */
		{VHOST_IOTLB_ACCESS_FAIL, VHOST_ACCESS_RO, VU_GUEST_BASE, PAGE, 0},
		{7, VHOST_ACCESS_RO, VU_GUEST_BASE, PAGE, 0},
		{VHOST_IOTLB_INVALIDATE, 0, VU_GUEST_BASE, 0, 0},      /* size 0 */
		{VHOST_IOTLB_INVALIDATE, 0, UINT64_MAX - 10, PAGE, 0}, /* wraps */
	};
	struct server *s = *state;
	struct vu_blk_req *w, *r;
	uint64_t wga, rga;
	struct fe f;
	int efd;

	fe_connect(s, &f);
	/* D-VU-28: a back-end channel that is not a socket is refused with a non-zero ack. */
	efd = eventfd(0, EFD_CLOEXEC);
	assert_true(efd >= 0);
	assert_int_not_equal(vu_client_ack(&f.c, VHOST_USER_SET_BACKEND_REQ_FD, NULL, 0, &efd, 1),
			     0);
	close(efd);
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t ua = bad[i].uaddr_off == UINT64_MAX ? UINT64_MAX - 10
							     : VU_USER_BASE + bad[i].uaddr_off;

		assert_int_not_equal(
			fe_iotlb(&f, bad[i].type, bad[i].iova, bad[i].size, ua, bad[i].perm), 0);
	}
	/* A mapping one page off, then the right one over it: the newest wins. */
	assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_UPDATE, VU_GUEST_BASE, f.c.arena.size - PAGE,
				  VU_USER_BASE + PAGE, VHOST_ACCESS_RW),
			 0);
	fe_map_all(&f);
	/* A flood beyond the bound (2048 entries): accepted, older entries evicted. */
	for (uint64_t i = 0; i < 3000; i++)
		assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_UPDATE, 0x100000000ull + i * PAGE, PAGE,
					  VU_USER_BASE, VHOST_ACCESS_RO),
				 0);
	w = fe_req(&f, &wga);
	r = fe_req(&f, &rga);
	memset(w->data, 0x3e, sizeof(w->data));
	fe_post(&f, w, wga, VIRTIO_BLK_T_OUT, 2);
	assert_int_equal(fe_complete(&f, w), VIRTIO_BLK_S_OK);
	memset(r->data, 0, sizeof(r->data));
	fe_post(&f, r, rga, VIRTIO_BLK_T_IN, 2);
	assert_int_equal(fe_complete(&f, r), VIRTIO_BLK_S_OK);
	assert_memory_equal(r->data, w->data, sizeof(w->data));
	fe_close(&f);
}

/*
 * A restarted back-end resubmits what the inflight region says was in flight
 * (D-VU-INFL-01) through IOVAs it has no translation for yet: each resubmission
 * misses, waits for the update and runs, none is skipped (D-VU-IOTLB-05).
 */
static void test_iotlb_inflight_resubmit(void **state)
{
	struct server *s = *state;
	struct vinflight_split_region *reg;
	struct vhost_user_inflight d, in = {.num_queues = 1, .queue_size = VU_QSZ};
	struct vhost_user_msg m;
	struct vu_blk_req *w[2], *r;
	uint64_t ga[2], rga;
	struct fe f;
	int fd;

	fe_negotiate(s, &f, VIRTIO_BIT(VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD));
	/* Only the rings' page is mapped: the requests' pages miss. */
	assert_true(f.c.used + 6 + 8 * VU_QSZ <= VU_GUEST_BASE + PAGE);
	assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_UPDATE, VU_GUEST_BASE, PAGE, VU_USER_BASE,
				  VHOST_ACCESS_RW),
			 0);
	for (unsigned int i = 0; i < 2; i++) {
		w[i] = fe_req(&f, &ga[i]);
		memset(w[i]->data, 0x71 + i, sizeof(w[i]->data));
		w[i]->hdr =
			(struct vireo_blk_outhdr){.type = VIRTIO_BLK_T_OUT, .sector = 16 + 8 * i};
		w[i]->status = 0xff;
		struct virtio_sg sg[3] = {
			{ga[i] + offsetof(struct vu_blk_req, hdr), sizeof(w[i]->hdr)},
			{ga[i] + offsetof(struct vu_blk_req, data), sizeof(w[i]->data)},
			{ga[i] + offsetof(struct vu_blk_req, status), 1},
		};
		assert_int_equal(virtqueue_add_sgs(&f.c.vq, sg, 2, 1, w[i]), 0);
	}
	(void)virtqueue_kick_prepare(&f.c.vq);
	/* A previous back-end fetched both and died: the region says so. */
	assert_int_equal(
		vu_client_send(&f.c, VHOST_USER_GET_INFLIGHT_FD, &in, sizeof(in), NULL, 0, false),
		0);
	vu_client_reply(&f.c, VHOST_USER_GET_INFLIGHT_FD, &m);
	assert_int_equal(m.num_fds, 1);
	fd = m.fds[0];
	d = m.payload.inflight;
	reg = mmap(NULL, d.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(reg != MAP_FAILED);
	reg->version = VINFLIGHT_VERSION;
	reg->desc_num = VU_QSZ;
	reg->desc[f.c.vq.split.avail->ring[0]] =
		(struct vinflight_split_desc){.inflight = 1, .counter = 1};
	reg->desc[f.c.vq.split.avail->ring[1]] =
		(struct vinflight_split_desc){.inflight = 1, .counter = 2};
	in.mmap_size = d.mmap_size;
	assert_int_equal(vu_client_ack(&f.c, VHOST_USER_SET_INFLIGHT_FD, &in, sizeof(in), &fd, 1),
			 0);
	fe_start_ring(&f);
	for (unsigned int n = 0; n < 2; n++) {
		void *got = fe_next_used(&f);

		assert_true(got == w[0] || got == w[1]);
		assert_int_equal(((struct vu_blk_req *)got)->status, VIRTIO_BLK_S_OK);
	}
	assert_true(f.misses >= 2);
	r = fe_req(&f, &rga);
	for (unsigned int i = 0; i < 2; i++) {
		memset(r->data, 0, sizeof(r->data));
		fe_post(&f, r, rga, VIRTIO_BLK_T_IN, 16 + 8 * i);
		assert_int_equal(fe_complete(&f, r), VIRTIO_BLK_S_OK);
		assert_memory_equal(r->data, w[i]->data, sizeof(r->data));
	}
	munmap(reg, d.mmap_size);
	close(fd);
	fe_close(&f);
}

/*
 * The device stopped (GET_VRING_BASE of its only ring): the IOTLB is dropped,
 * the restarted ring and the next request ask for their translations again
 * (D-VU-IOTLB-05) instead of using the old ones. QEMU 7.2's intel-iommu does
 * not pass on a guest's teardown of a whole domain (its VFIO container
 * closed), and the next driver maps the same IOVAs elsewhere
 * (tests/interop/test_guest_vfio_vhost_user.sh).
 */
static void test_iotlb_dropped_when_device_stops(void **state)
{
	struct server *s = *state;
	struct vhost_user_iotlb m;
	struct vu_blk_req *r;
	uint64_t rga;
	uint32_t base;
	struct fe f;

	fe_connect(s, &f);
	fe_map_all(&f);
	r = fe_req(&f, &rga);
	memset(r->data, 0x3c, sizeof(r->data));
	fe_post(&f, r, rga, VIRTIO_BLK_T_OUT, 2);
	assert_int_equal(fe_complete(&f, r), VIRTIO_BLK_S_OK);
	assert_int_equal(f.misses, 0);
	base = vu_client_vring_base(&f.c);
	close(f.c.kick);
	close(f.c.call);
	close(f.c.err);
	fe_start_ring_at(&f, base);
	/* The ring's start asks for its descriptor table again. */
	assert_int_equal(fe_backend_msg(&f, &m, VU_WAIT_MS), 1);
	assert_int_equal(m.type, VHOST_IOTLB_MISS);
	assert_int_equal(m.iova, f.c.desc);
	fe_serve_miss(&f, &m);
	memset(r->data, 0xaa, sizeof(r->data));
	fe_post(&f, r, rga, VIRTIO_BLK_T_IN, 2);
	assert_int_equal(fe_complete(&f, r), VIRTIO_BLK_S_OK);
	assert_int_equal(r->data[0], 0x3c);
	assert_int_equal(r->data[sizeof(r->data) - 1], 0x3c);
	/* The request's page missed too: nothing of the old table was kept. */
	assert_true(f.misses >= 2);
	assert_true(f.last_miss_iova >= rga && f.last_miss_iova < rga + sizeof(*r));
	fe_close(&f);
}

/*
 * IOTLB entries whose user addresses a new memory table no longer holds
 * ("IOTLB ranges must lie inside memory-table regions"): the ring, restarted
 * on the new table, cannot be reached: the connection ends, nothing is read
 * through a stale host pointer (ASan would see one).
 */
static void test_iotlb_entries_outside_new_table(void **state)
{
	struct server *s = *state;
	struct vhost_user_memory mt = {.nregions = 1};
	struct vu_blk_req *r;
	uint64_t rga;
	struct fe f;

	fe_connect(s, &f);
	fe_map_all(&f);
	r = fe_req(&f, &rga);
	fe_post(&f, r, rga, VIRTIO_BLK_T_IN, 0);
	assert_int_equal(fe_complete(&f, r), VIRTIO_BLK_S_OK);
	mt.regions[0] = vu_client_region(&f.c);
	mt.regions[0].guest_addr = BOGUS_GPA;
	mt.regions[0].user_addr = VU_USER_BASE + 0x100000000ull;
	assert_int_equal(vu_client_send(&f.c, VHOST_USER_SET_MEM_TABLE, &mt, vu_memtable_size(1),
					&f.c.arena.memfd, 1, true),
			 0);
	vu_client_expect_closed(&f.c);
	fe_close(&f);
}

/* Without PROTOCOL_F_IOTLB an IOTLB_MSG is refused (its reply non-zero); the connection stays. */
static void test_iotlb_not_negotiated(void **state)
{
	struct server *s = *state;
	struct fe f;

	memset(&f, 0, sizeof(f));
	f.bsock = -1;
	vu_client_connect(&f.c, s->sock);
	vu_client_negotiate(&f.c, VIRTIO_BIT(VIRTIO_F_VERSION_1) |
					  VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES));
	vu_client_mem(&f.c);
	assert_int_not_equal(fe_iotlb(&f, VHOST_IOTLB_UPDATE, VU_GUEST_BASE, PAGE, VU_USER_BASE,
				      VHOST_ACCESS_RW),
			     0);
	assert_true(vu_client_get_u64(&f.c, VHOST_USER_GET_FEATURES) != 0);
	vu_client_close(&f.c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_iotlb_misses_then_io, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iotlb_invalidate_then_miss, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iotlb_permission_denied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iotlb_hostile_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iotlb_inflight_resubmit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iotlb_miss_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iotlb_refused_after_invalidation, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_iotlb_entries_outside_new_table, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_iotlb_dropped_when_device_stops, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_iotlb_not_negotiated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iotlb_misses_then_io, setup_mq, teardown),
		cmocka_unit_test_setup_teardown(test_iotlb_invalidate_then_miss, setup_mq,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
