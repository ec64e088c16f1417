// SPDX-License-Identifier: MIT
/*
 * The vhost-user front-end as a vIOMMU (options.iommu) against a scripted
 * back-end: what it negotiates and hands out (ACCESS_PLATFORM, IOTLB and
 * BACKEND_REQ, ring addresses that are IOVAs outside the memory table), how it
 * answers misses on the back-end channel (an update of the entry, acknowledged,
 * then the reply), pre-loading, invalidations, and hostile misses: outside
 * the arena or with a bad permission → a non-zero reply and nothing mapped; a
 * malformed message → the device is broken, no crash. The test thread drives
 * the front-end's wait (which reads the channel) and plays the channel's other
 * end itself; a peer thread answers the main socket. Last, our blk driver
 * through this front-end against our own back-end (vhost_user_backend in a
 * thread): data through the IOTLB, an invalidation between requests, and the
 * back-end's counters (vireo_vhost_user_backend_iotlb_stats()).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <vireo/blk_device.h>
#include <vireo/event_loop.h>
#include <vireo/spec.h>
#include <vireo/vhost_user.h>
#include <vireo/vhost_user_backend.h>
#include <vireo/vhost_user_frontend.h>
#include <vireo/virtio_blk.h>
#include <vireo/virtio_rng.h>

#include "tests/lib/sleep_wake.h"

#define DMA_BYTES (1u << 20)
#define MAX_SEEN 64

/* What the peer saw: every request, and the IOTLB messages in full. */
struct peer {
	char dir[64];
	char path[128];
	int listen_fd;
	pthread_t thread;
	bool offer_iotlb;
	pthread_mutex_t lock;
	int chan_fd;
	uint64_t features_set;
	uint64_t protocol_set;
	uint64_t mem_guest_addr;
	uint64_t desc_addr;
	uint32_t seen[MAX_SEEN];
	unsigned int nseen;
	struct vhost_user_iotlb iotlb[MAX_SEEN];
	unsigned int niotlb;
};

static void peer_reply(int sock, const struct vhost_user_msg *req, const void *payload,
		       uint32_t size)
{
	struct vhost_user_msg r;

	vireo_vhost_user_msg_init(&r, req->hdr.request, size);
	r.hdr.flags |= VHOST_USER_REPLY_MASK;
	memcpy(&r.payload, payload, size);
	(void)vireo_vhost_user_send(sock, &r, NULL, 0);
}

static void peer_record(struct peer *p, struct vhost_user_msg *m)
{
	pthread_mutex_lock(&p->lock);
	if (p->nseen < MAX_SEEN)
		p->seen[p->nseen++] = m->hdr.request;
	switch (m->hdr.request) {
	case VHOST_USER_SET_FEATURES:
		p->features_set = m->payload.u64;
		break;
	case VHOST_USER_SET_PROTOCOL_FEATURES:
		p->protocol_set = m->payload.u64;
		break;
	case VHOST_USER_SET_MEM_TABLE:
		p->mem_guest_addr = m->payload.memory.regions[0].guest_addr;
		break;
	case VHOST_USER_SET_VRING_ADDR:
		p->desc_addr = m->payload.addr.desc_user_addr;
		break;
	case VHOST_USER_SET_BACKEND_REQ_FD:
		p->chan_fd = vireo_vhost_user_msg_take_fd(m, 0);
		break;
	case VHOST_USER_IOTLB_MSG:
		if (p->niotlb < MAX_SEEN)
			p->iotlb[p->niotlb++] = m->payload.iotlb;
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&p->lock);
}

/* A back-end offering ACCESS_PLATFORM (and, if @offer_iotlb, IOTLB + BACKEND_REQ). */
static void peer_answer(struct peer *p, int sock, struct vhost_user_msg *m)
{
	struct vhost_user_vring_state st;
	uint64_t v = 0;

	peer_record(p, m);
	switch (m->hdr.request) {
	case VHOST_USER_GET_FEATURES:
		v = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES) |
		    VIRTIO_BIT(VIRTIO_F_ACCESS_PLATFORM);
		peer_reply(sock, m, &v, 8);
		return;
	case VHOST_USER_GET_PROTOCOL_FEATURES:
		v = VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK);
		if (p->offer_iotlb)
			v |= VIRTIO_BIT(VHOST_USER_PROTOCOL_F_IOTLB) |
			     VIRTIO_BIT(VHOST_USER_PROTOCOL_F_BACKEND_REQ);
		peer_reply(sock, m, &v, 8);
		return;
	case VHOST_USER_GET_VRING_BASE:
		st = (struct vhost_user_vring_state){.index = m->payload.state.index};
		peer_reply(sock, m, &st, sizeof(st));
		return;
	case VHOST_USER_IOTLB_MSG:
		/* IOTLB_MSG always has a u64 reply: applied. */
		peer_reply(sock, m, &v, 8);
		return;
	default:
		break;
	}
	if (m->hdr.flags & VHOST_USER_NEED_REPLY_MASK)
		peer_reply(sock, m, &v, 8);
}

static void *peer_thread(void *arg)
{
	struct peer *p = arg;
	struct vhost_user_msg m;
	int sock = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (sock < 0)
		return NULL;
	while (vireo_vhost_user_recv(sock, &m, false) == 0) {
		peer_answer(p, sock, &m);
		vireo_vhost_user_msg_close_fds(&m);
	}
	close(sock);
	return NULL;
}

static void peer_start(struct peer *p, bool offer_iotlb)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(p, 0, sizeof(*p));
	strcpy(p->dir, "/tmp/vireo-vuiommu-XXXXXX");
	assert_non_null(mkdtemp(p->dir));
	snprintf(p->path, sizeof(p->path), "%s/sock", p->dir);
	strcpy(sa.sun_path, p->path);
	p->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(p->listen_fd >= 0);
	assert_int_equal(bind(p->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(p->listen_fd, 1), 0);
	p->offer_iotlb = offer_iotlb;
	p->chan_fd = -1;
	pthread_mutex_init(&p->lock, NULL);
	assert_int_equal(pthread_create(&p->thread, NULL, peer_thread, p), 0);
}

static void peer_stop(struct peer *p)
{
	assert_int_equal(pthread_join(p->thread, NULL), 0);
	if (p->chan_fd >= 0)
		close(p->chan_fd);
	close(p->listen_fd);
	unlink(p->path);
	rmdir(p->dir);
	pthread_mutex_destroy(&p->lock);
}

/* The rng driver on a front-end to @p with the vIOMMU options @o (socket filled in). */
struct fe {
	struct virtio_bus bus;
	struct virtio_rng_driver drv;
	struct vhost_user_frontend *fe;
};

static int fe_open(struct fe *f, struct peer *p, struct vhost_user_frontend_options *o)
{
	int ret;

	memset(f, 0, sizeof(*f));
	o->socket_path = p->path;
	o->device_id = VIRTIO_ID_ENTROPY;
	o->dma_bytes = DMA_BYTES;
	o->timeout_ms = 2000;
	o->iommu = true;
	virtio_bus_init(&f->bus);
	assert_int_equal(virtio_rng_register(&f->bus, &f->drv), 0);
	ret = vireo_vhost_user_frontend_new(&f->fe, &f->bus, o);
	if (ret < 0)
		virtio_rng_unregister(&f->bus, &f->drv);
	return ret;
}

static void fe_close(struct fe *f)
{
	vireo_vhost_user_frontend_free(f->fe);
	virtio_rng_unregister(&f->bus, &f->drv);
}

/* Send a BACKEND_IOTLB_MSG as the back-end would: type, IOVA, permission. */
static void chan_send_miss(struct peer *p, uint64_t iova, uint8_t perm, bool need_reply)
{
	struct vhost_user_msg m;

	vireo_vhost_user_msg_init(&m, VHOST_USER_BACKEND_IOTLB_MSG,
				  sizeof(struct vhost_user_iotlb));
	m.payload.iotlb =
		(struct vhost_user_iotlb){.iova = iova, .perm = perm, .type = VHOST_IOTLB_MISS};
	if (need_reply)
		m.hdr.flags |= VHOST_USER_NEED_REPLY_MASK;
	assert_int_equal(vireo_vhost_user_send(p->chan_fd, &m, NULL, 0), 0);
}

/*
 * Let the front-end's wait read the channel; then the reply it sent (-1: none
 * in time; -2: the front-end closed the channel).
 */
static int64_t chan_serve_and_reply(struct fe *f, struct peer *p)
{
	struct virtio_device *vdev = vireo_vhost_user_frontend_virtio_device(f->fe);
	struct pollfd pfd = {.fd = p->chan_fd, .events = POLLIN};
	struct vhost_user_header h;
	uint64_t status;
	ssize_t n;

	/* About 1 s by the clock: the transport's wait may return early (a signal already due). */
	for (uint64_t end = sleep_wake_now_ns() + 1000000000ull; sleep_wake_now_ns() < end;) {
		(void)vdev->config->wait(vdev, 50);
		if (poll(&pfd, 1, 0) == 1)
			break;
	}
	if (poll(&pfd, 1, 200) != 1)
		return -1;
	n = recv(p->chan_fd, &h, sizeof(h), MSG_WAITALL);
	/* Closed, or reset (the front-end left unread bytes of the bad message behind). */
	if (n == 0 || (n < 0 && errno == ECONNRESET))
		return -2;
	assert_int_equal(n, (ssize_t)sizeof(h));
	assert_int_equal(h.request, VHOST_USER_BACKEND_IOTLB_MSG);
	assert_int_equal(h.flags, VHOST_USER_VERSION | VHOST_USER_REPLY_MASK);
	assert_int_equal(h.size, 8);
	assert_int_equal(recv(p->chan_fd, &status, 8, MSG_WAITALL), 8);
	return (int64_t)status;
}

/* Negotiation, and addresses: IOVAs that are not the memory table's. */
static void test_iommu_negotiates_and_gives_iovas(void **state)
{
	struct vhost_user_frontend_options o = {0};
	struct peer p;
	struct fe f;

	(void)state;
	peer_start(&p, true);
	assert_int_equal(fe_open(&f, &p, &o), 0);
	pthread_mutex_lock(&p.lock);
	assert_true(p.features_set & VIRTIO_BIT(VIRTIO_F_ACCESS_PLATFORM));
	assert_true(p.protocol_set & VIRTIO_BIT(VHOST_USER_PROTOCOL_F_IOTLB));
	assert_true(p.protocol_set & VIRTIO_BIT(VHOST_USER_PROTOCOL_F_BACKEND_REQ));
	assert_true(p.chan_fd >= 0);
	/* The memory table's guest address is not where the IOVAs are. */
	assert_int_equal(p.mem_guest_addr, VHOST_USER_FRONTEND_DMA_BASE);
	assert_true(p.desc_addr >= VHOST_USER_FRONTEND_IOVA_BASE &&
		    p.desc_addr < VHOST_USER_FRONTEND_IOVA_BASE + DMA_BYTES);
	/* No pre-loading asked: the back-end is to ask (vhost-user.rst "IOMMU support"). */
	assert_int_equal(p.niotlb, 0);
	pthread_mutex_unlock(&p.lock);
	fe_close(&f);
	peer_stop(&p);
}

/* A back-end without the IOTLB protocol cannot be driven as a vIOMMU. */
static void test_iommu_needs_backend_support(void **state)
{
	struct vhost_user_frontend_options o = {0};
	struct peer p;
	struct fe f;

	(void)state;
	peer_start(&p, false);
	assert_int_equal(fe_open(&f, &p, &o), -EOPNOTSUPP);
	peer_stop(&p);
	o = (struct vhost_user_frontend_options){.iotlb_page = 1000};
	peer_start(&p, true);
	assert_int_equal(fe_open(&f, &p, &o), -EINVAL);
	/* Nothing connected: the peer's accept is released by a connection of our own. */
	{
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		strcpy(sa.sun_path, p.path);
		assert_int_equal(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(s);
	}
	peer_stop(&p);
}

/* A miss: the entry (4 KiB here) as an acknowledged update, then reply 0. */
static void test_iommu_miss_answered(void **state)
{
	struct vhost_user_frontend_options o = {.iotlb_page = 4096};
	struct vhost_user_frontend_iotlb_stats st;
	struct vhost_user_iotlb u0, u1;
	struct peer p;
	struct fe f;

	(void)state;
	peer_start(&p, true);
	assert_int_equal(fe_open(&f, &p, &o), 0);
	chan_send_miss(&p, VHOST_USER_FRONTEND_IOVA_BASE + 0x2345, VHOST_ACCESS_RO, true);
	assert_int_equal(chan_serve_and_reply(&f, &p), 0);
	chan_send_miss(&p, VHOST_USER_FRONTEND_IOVA_BASE + DMA_BYTES - 1, VHOST_ACCESS_WO, true);
	assert_int_equal(chan_serve_and_reply(&f, &p), 0);
	pthread_mutex_lock(&p.lock);
	assert_int_equal(p.niotlb, 2);
	u0 = p.iotlb[0];
	u1 = p.iotlb[1];
	pthread_mutex_unlock(&p.lock);
	assert_int_equal(u0.type, VHOST_IOTLB_UPDATE);
	assert_int_equal(u0.iova, VHOST_USER_FRONTEND_IOVA_BASE + 0x2000);
	assert_int_equal(u0.size, 4096);
	assert_int_equal(u0.perm, VHOST_ACCESS_RW);
	assert_int_equal(u1.iova, VHOST_USER_FRONTEND_IOVA_BASE + DMA_BYTES - 4096);
	/* Both in one mapping of the arena: user addresses as far apart as the IOVAs. */
	assert_int_equal(u1.uaddr - u0.uaddr, u1.iova - u0.iova);
	vireo_vhost_user_frontend_iotlb_stats(f.fe, &st);
	assert_int_equal(st.misses, 2);
	assert_int_equal(st.updates, 2);
	assert_int_equal(st.refused, 0);
	/* An invalidation goes out acknowledged; a bad one is refused here. */
	assert_int_equal(vireo_vhost_user_frontend_iotlb_invalidate(
				 f.fe, VHOST_USER_FRONTEND_IOVA_BASE, DMA_BYTES),
			 0);
	assert_int_equal(vireo_vhost_user_frontend_iotlb_invalidate(f.fe, 1, 0), -EINVAL);
	pthread_mutex_lock(&p.lock);
	assert_int_equal(p.iotlb[2].type, VHOST_IOTLB_INVALIDATE);
	assert_int_equal(p.iotlb[2].size, DMA_BYTES);
	pthread_mutex_unlock(&p.lock);
	assert_false(vireo_vhost_user_frontend_broken(f.fe));
	fe_close(&f);
	peer_stop(&p);
}

/* Pre-loading: the whole arena in one entry, before the ring's address goes out. */
static void test_iommu_preload(void **state)
{
	struct vhost_user_frontend_options o = {.iotlb_preload = true};
	unsigned int i, update_at = MAX_SEEN, addr_at = MAX_SEEN;
	struct peer p;
	struct fe f;

	(void)state;
	peer_start(&p, true);
	assert_int_equal(fe_open(&f, &p, &o), 0);
	pthread_mutex_lock(&p.lock);
	assert_int_equal(p.niotlb, 1);
	assert_int_equal(p.iotlb[0].iova, VHOST_USER_FRONTEND_IOVA_BASE);
	assert_int_equal(p.iotlb[0].size, DMA_BYTES);
	for (i = 0; i < p.nseen; i++) {
		if (p.seen[i] == VHOST_USER_IOTLB_MSG && update_at == MAX_SEEN)
			update_at = i;
		if (p.seen[i] == VHOST_USER_SET_VRING_ADDR && addr_at == MAX_SEEN)
			addr_at = i;
	}
	pthread_mutex_unlock(&p.lock);
	assert_true(update_at < addr_at);
	fe_close(&f);
	peer_stop(&p);
}

/* Hostile misses: refused with a non-zero reply, nothing mapped, the device goes on. */
static void test_iommu_hostile_misses(void **state)
{
	struct vhost_user_frontend_options o = {0};
	const uint64_t bad[] = {0, VHOST_USER_FRONTEND_IOVA_BASE - 1,
				VHOST_USER_FRONTEND_IOVA_BASE + DMA_BYTES, UINT64_MAX};
	struct vhost_user_frontend_iotlb_stats st;
	struct vhost_user_msg m;
	struct peer p;
	struct fe f;
	unsigned int i;

	(void)state;
	peer_start(&p, true);
	assert_int_equal(fe_open(&f, &p, &o), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		chan_send_miss(&p, bad[i], VHOST_ACCESS_RO, true);
		assert_int_equal(chan_serve_and_reply(&f, &p), 1);
	}
	/* Permission 0 or beyond RW. */
	chan_send_miss(&p, VHOST_USER_FRONTEND_IOVA_BASE, 0, true);
	assert_int_equal(chan_serve_and_reply(&f, &p), 1);
	chan_send_miss(&p, VHOST_USER_FRONTEND_IOVA_BASE, 7, true);
	assert_int_equal(chan_serve_and_reply(&f, &p), 1);
	/* Without NEED_REPLY: refused silently. */
	chan_send_miss(&p, 0, VHOST_ACCESS_RO, false);
	assert_int_equal(chan_serve_and_reply(&f, &p), -1);
	vireo_vhost_user_frontend_iotlb_stats(f.fe, &st);
	assert_int_equal(st.refused, 7);
	assert_int_equal(st.updates, 0);
	pthread_mutex_lock(&p.lock);
	assert_int_equal(p.niotlb, 0);
	pthread_mutex_unlock(&p.lock);
	assert_false(vireo_vhost_user_frontend_broken(f.fe));

	/* A message that is not a miss (an update, the front-end's own type): broken. */
	vireo_vhost_user_msg_init(&m, VHOST_USER_BACKEND_IOTLB_MSG,
				  sizeof(struct vhost_user_iotlb));
	m.payload.iotlb.type = VHOST_IOTLB_UPDATE;
	assert_int_equal(vireo_vhost_user_send(p.chan_fd, &m, NULL, 0), 0);
	assert_int_equal(chan_serve_and_reply(&f, &p), -2);
	assert_true(vireo_vhost_user_frontend_broken(f.fe));
	fe_close(&f);
	peer_stop(&p);
}

/*
 * A back-end that sends misses asking for replies and never reads them: the
 * front-end's replies never wait (MSG_DONTWAIT); once its end of the channel is
 * full the device is broken ("does not read its replies"), and nothing hangs.
 */
static void test_iommu_replies_never_wait(void **state)
{
	struct vhost_user_frontend_options o = {0};
	struct virtio_device *vdev;
	unsigned int sent = 0;
	struct vhost_user_msg m;
	struct peer p;
	struct fe f;

	(void)state;
	peer_start(&p, true);
	assert_int_equal(fe_open(&f, &p, &o), 0);
	vdev = vireo_vhost_user_frontend_virtio_device(f.fe);
	vireo_vhost_user_msg_init(&m, VHOST_USER_BACKEND_IOTLB_MSG,
				  sizeof(struct vhost_user_iotlb));
	m.hdr.flags |= VHOST_USER_NEED_REPLY_MASK;
	m.payload.iotlb = (struct vhost_user_iotlb){
		.iova = 0, .perm = VHOST_ACCESS_RO, .type = VHOST_IOTLB_MISS};
	/* Bounded by the clock; each refused miss is answered with a reply nobody reads. */
	for (uint64_t end = sleep_wake_now_ns() + 10000000000ull;
	     !vireo_vhost_user_frontend_broken(f.fe) && sleep_wake_now_ns() < end;) {
		/* Our own sends must not wait either: this thread also runs the front-end. */
		for (unsigned int i = 0; i < 32; i++)
			sent += vireo_vhost_user_send_nowait(p.chan_fd, &m) == 0;
		(void)vdev->config->wait(vdev, 10);
	}
	printf("# %u misses sent before the front-end gave up the channel\n", sent);
	assert_true(vireo_vhost_user_frontend_broken(f.fe));
	fe_close(&f);
	peer_stop(&p);
}

/* Malformed channel messages: an unknown request, a wrong size, a reply flag. */
static void test_iommu_malformed_channel(void **state)
{
	const struct vhost_user_header bad[] = {
		{.request = 99, .flags = VHOST_USER_VERSION, .size = 0},
		{.request = VHOST_USER_BACKEND_IOTLB_MSG, .flags = VHOST_USER_VERSION, .size = 8},
		{.request = VHOST_USER_BACKEND_IOTLB_MSG,
		 .flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK,
		 .size = sizeof(struct vhost_user_iotlb)},
		{.request = VHOST_USER_BACKEND_IOTLB_MSG, .flags = 2, .size = 32},
	};
	struct vhost_user_frontend_options o = {0};
	unsigned char buf[sizeof(struct vhost_user_header) + 64] = {0};
	struct peer p;
	struct fe f;
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		peer_start(&p, true);
		assert_int_equal(fe_open(&f, &p, &o), 0);
		memcpy(buf, &bad[i], sizeof(bad[i]));
		assert_int_equal(send(p.chan_fd, buf, sizeof(bad[i]) + bad[i].size, 0),
				 (ssize_t)(sizeof(bad[i]) + bad[i].size));
		assert_int_equal(chan_serve_and_reply(&f, &p), -2);
		assert_true(vireo_vhost_user_frontend_broken(f.fe));
		fe_close(&f);
		peer_stop(&p);
	}
}

/* ---- against our own back-end ---- */

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

static void server_start(struct server *s)
{
	struct blk_device_options bo = {0};
	struct vhost_user_backend_options vo = {0};
	int fd;

	strcpy(s->dir, "/tmp/vireo-vuiommu-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->sock, sizeof(s->sock), "%s/sock", s->dir);
	snprintf(s->image, sizeof(s->image), "%s/image", s->dir);
	fd = open(s->image, O_CREAT | O_RDWR, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4 << 20), 0);
	close(fd);
	bo.path = s->image;
	assert_int_equal(vireo_blk_device_new(&s->blk, &bo), 0);
	vo.socket_path = s->sock;
	assert_int_equal(vireo_event_loop_init(&s->loop), 0);
	assert_int_equal(
		vireo_vhost_user_backend_new(&s->b, vireo_blk_device_vdev(s->blk), &s->loop, &vo),
		0);
	assert_int_equal(pthread_create(&s->thread, NULL, server_thread, s), 0);
}

/* Stop the loop, then read the counters on this thread (the loop's no longer runs). */
static void server_stop(struct server *s, struct vhost_user_backend_iotlb_stats *st)
{
	vireo_event_loop_stop(&s->loop);
	assert_int_equal(pthread_join(s->thread, NULL), 0);
	vireo_vhost_user_backend_iotlb_stats(s->b, st);
	vireo_vhost_user_backend_free(s->b);
	vireo_blk_device_free(s->blk);
	vireo_event_loop_destroy(&s->loop);
	unlink(s->image);
	rmdir(s->dir);
}

/*
 * 4 KiB entries on demand, then the whole arena invalidated between requests
 * (the ring too: the back-end stops it until it misses and gets it again).
 */
static void test_iommu_our_backend(void **state)
{
	static uint8_t out[64 * 1024], in[64 * 1024];
	struct vhost_user_frontend_options o = {.socket_path = NULL,
						.device_id = VIRTIO_ID_BLOCK,
						.dma_bytes = DMA_BYTES,
						.timeout_ms = 2000,
						.iommu = true,
						.iotlb_page = 4096};
	struct vhost_user_frontend_iotlb_stats fst;
	struct vhost_user_backend_iotlb_stats bst;
	struct virtio_blk_driver drv = {0};
	struct vhost_user_frontend *fe;
	struct virtio_bus bus;
	struct virtio_blk *blk;
	struct server s = {0};
	unsigned int i;

	(void)state;
	server_start(&s);
	o.socket_path = s.sock;
	virtio_bus_init(&bus);
	assert_int_equal(virtio_blk_register(&bus, &drv), 0);
	assert_int_equal(vireo_vhost_user_frontend_new(&fe, &bus, &o), 0);
	blk = virtio_blk_from_device(vireo_vhost_user_frontend_virtio_device(fe));
	assert_non_null(blk);
	for (i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + 3);
	assert_int_equal(virtio_blk_write(blk, 8, out, sizeof(out)), 0);
	assert_int_equal(vireo_vhost_user_frontend_iotlb_invalidate(
				 fe, VHOST_USER_FRONTEND_IOVA_BASE, DMA_BYTES),
			 0);
	memset(in, 0, sizeof(in));
	assert_int_equal(virtio_blk_read(blk, 8, in, sizeof(in)), 0);
	assert_memory_equal(in, out, sizeof(out));
	vireo_vhost_user_frontend_iotlb_stats(fe, &fst);
	assert_false(vireo_vhost_user_frontend_broken(fe));
	vireo_vhost_user_frontend_free(fe);
	virtio_blk_unregister(&bus, &drv);
	server_stop(&s, &bst);
	/* Every miss the back-end asked was answered with one update (no pre-loading). */
	assert_true(fst.misses >= 2);
	assert_int_equal(fst.refused, 0);
	assert_int_equal(bst.updates, fst.updates);
	assert_int_equal(bst.invalidations, 1);
	assert_int_equal(fst.invalidations, 1);
	/* The misses before and after the invalidation; the buffers' other pages hit. */
	assert_true(bst.misses >= fst.misses);
	assert_true(bst.hits > 0);
	assert_int_equal(bst.evictions, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iommu_negotiates_and_gives_iovas),
		cmocka_unit_test(test_iommu_needs_backend_support),
		cmocka_unit_test(test_iommu_miss_answered),
		cmocka_unit_test(test_iommu_preload),
		cmocka_unit_test(test_iommu_hostile_misses),
		cmocka_unit_test(test_iommu_replies_never_wait),
		cmocka_unit_test(test_iommu_malformed_channel),
		cmocka_unit_test(test_iommu_our_backend),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
