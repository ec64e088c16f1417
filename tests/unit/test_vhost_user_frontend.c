// SPDX-License-Identifier: MIT
/*
 * The vhost-user front-end: our blk and rng drivers through
 * vhost_user_frontend against our own back-end (vhost_user_backend serving
 * the device models in a thread of this process) over a real socket, and
 * against a scripted hostile back-end that answers with wrong sizes, wrong
 * request ids, stray fds, wrong ranges, refusals, silence or a hang-up:
 * each time a clean error (-EIO), no crash, no fd left open.
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
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <vireo/blk_device.h>
#include <vireo/event_loop.h>
#include <vireo/rng_device.h>
#include <vireo/spec.h>
#include <vireo/vhost_user.h>
#include <vireo/vhost_user_backend.h>
#include <vireo/vhost_user_frontend.h>
#include <vireo/virtio_blk.h>
#include <vireo/virtio_rng.h>

#include "tests/lib/fd_count.h"

#define IMAGE_BYTES (4u << 20)
#define SECTORS (IMAGE_BYTES / 512)
#define DMA_BYTES (4u << 20)

/* ---- our back-end in a thread ---- */

struct server {
	char dir[64];
	char sock[128];
	char image[128];
	struct event_loop loop;
	struct blk_device *blk;
	struct rng_device *rng;
	struct vhost_user_backend *b;
	pthread_t thread;
};

static void *server_thread(void *arg)
{
	struct server *s = arg;

	assert_int_equal(vireo_vhost_user_backend_run(s->b), 0);
	return NULL;
}

static void server_dir(struct server *s)
{
	strcpy(s->dir, "/tmp/vireo-vufe-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->sock, sizeof(s->sock), "%s/sock", s->dir);
	snprintf(s->image, sizeof(s->image), "%s/image", s->dir);
}

static void server_run(struct server *s, struct vdev *dev)
{
	struct vhost_user_backend_options vo = {.socket_path = s->sock};

	assert_int_equal(vireo_event_loop_init(&s->loop), 0);
	assert_int_equal(vireo_vhost_user_backend_new(&s->b, dev, &s->loop, &vo), 0);
	assert_int_equal(pthread_create(&s->thread, NULL, server_thread, s), 0);
}

static void server_start_blk(struct server *s, bool readonly, unsigned int queues)
{
	struct blk_device_options bo = {
		.readonly = readonly, .num_queues = queues, .serial = "vufe-serial"};
	int fd;

	server_dir(s);
	bo.path = s->image;
	fd = open(s->image, O_CREAT | O_RDWR, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, IMAGE_BYTES), 0);
	close(fd);
	assert_int_equal(vireo_blk_device_new(&s->blk, &bo), 0);
	server_run(s, vireo_blk_device_vdev(s->blk));
}

static void server_start_rng(struct server *s)
{
	struct rng_device_options ro = {0};

	server_dir(s);
	assert_int_equal(vireo_rng_device_new(&s->rng, &ro), 0);
	server_run(s, vireo_rng_device_vdev(s->rng));
}

static void server_stop(struct server *s)
{
	vireo_event_loop_stop(&s->loop);
	assert_int_equal(pthread_join(s->thread, NULL), 0);
	vireo_vhost_user_backend_free(s->b);
	if (s->blk)
		vireo_blk_device_free(s->blk);
	if (s->rng)
		vireo_rng_device_free(s->rng);
	vireo_event_loop_destroy(&s->loop);
	unlink(s->image);
	rmdir(s->dir);
}

/* ---- a front-end with the blk driver ---- */

struct fe_blk {
	struct virtio_bus bus;
	struct virtio_blk_driver drv;
	struct vhost_user_frontend *fe;
	struct virtio_blk *blk;
};

static int fe_blk_open(struct fe_blk *f, const char *path, unsigned int max_queues)
{
	struct vhost_user_frontend_options o = {.socket_path = path,
						.device_id = VIRTIO_ID_BLOCK,
						.dma_bytes = DMA_BYTES,
						.timeout_ms = 2000};
	int ret;

	memset(f, 0, sizeof(*f));
	virtio_bus_init(&f->bus);
	f->drv.max_queues = max_queues;
	assert_int_equal(virtio_blk_register(&f->bus, &f->drv), 0);
	ret = vireo_vhost_user_frontend_new(&f->fe, &f->bus, &o);
	if (ret < 0) {
		virtio_blk_unregister(&f->bus, &f->drv);
		return ret;
	}
	f->blk = virtio_blk_from_device(vireo_vhost_user_frontend_virtio_device(f->fe));
	assert_non_null(f->blk);
	return 0;
}

static void fe_blk_close(struct fe_blk *f)
{
	vireo_vhost_user_frontend_free(f->fe);
	virtio_blk_unregister(&f->bus, &f->drv);
}

static void pattern(uint8_t *buf, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 31 + seed + (i >> 9));
}

/* ---- fd accounting ---- */

static int setup_fds(void **state)
{
	unsigned int *before = malloc(sizeof(*before));

	if (!before)
		return -1;
	*before = fd_count_open();
	*state = before;
	return 0;
}

static int teardown_fds(void **state)
{
	unsigned int *before = *state;

	/* Every memfd, eventfd and socket of the front-end is closed again. */
	assert_int_equal(fd_count_open(), *before);
	free(before);
	return 0;
}

/* ---- against our back-end ---- */

static void test_blk_rw(void **state)
{
	static uint8_t out[64 * 1024], in[64 * 1024];
	char id[VIRTIO_BLK_ID_BYTES + 1];
	struct server s = {0};
	struct fe_blk f;
	struct vhost_user_frontend_stats st;

	(void)state;
	server_start_blk(&s, false, 1);
	assert_int_equal(fe_blk_open(&f, s.sock, 0), 0);
	assert_int_equal(virtio_blk_capacity(f.blk), SECTORS);
	assert_false(virtio_blk_read_only(f.blk));
	pattern(out, sizeof(out), 1);
	assert_int_equal(virtio_blk_write(f.blk, 16, out, sizeof(out)), 0);
	memset(in, 0, sizeof(in));
	assert_int_equal(virtio_blk_read(f.blk, 16, in, sizeof(in)), 0);
	assert_memory_equal(in, out, sizeof(out));
	assert_int_equal(virtio_blk_flush(f.blk), 0);
	assert_int_equal(virtio_blk_get_id(f.blk, id), 0);
	assert_string_equal(id, "vufe-serial");
	/* Beyond the capacity: refused by the driver, nothing sent. */
	assert_int_equal(virtio_blk_read(f.blk, SECTORS, in, 512), -EINVAL);
	if (virtio_blk_has_feature(f.blk, VIRTIO_BLK_F_DISCARD))
		assert_int_equal(virtio_blk_discard(f.blk, 2048, 8), 0);
	if (virtio_blk_has_feature(f.blk, VIRTIO_BLK_F_WRITE_ZEROES)) {
		assert_int_equal(virtio_blk_write_zeroes(f.blk, 16, 8, false), 0);
		assert_int_equal(virtio_blk_read(f.blk, 16, in, 4096), 0);
		memset(out, 0, 4096);
		assert_memory_equal(in, out, 4096);
	}
	vireo_vhost_user_frontend_stats(f.fe, &st);
	assert_true(st.kicks > 0);
	assert_true(st.calls > 0);
	assert_false(vireo_vhost_user_frontend_broken(f.fe));
	fe_blk_close(&f);
	server_stop(&s);
}

/* What went through the socket is in the image file, read with plain pread. */
static void test_blk_image_holds_data(void **state)
{
	static uint8_t out[8192], in[8192];
	struct server s = {0};
	struct fe_blk f;
	int fd;

	(void)state;
	server_start_blk(&s, false, 1);
	assert_int_equal(fe_blk_open(&f, s.sock, 0), 0);
	pattern(out, sizeof(out), 9);
	assert_int_equal(virtio_blk_write(f.blk, 100, out, sizeof(out)), 0);
	assert_int_equal(virtio_blk_flush(f.blk), 0);
	fe_blk_close(&f);
	fd = open(s.image, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, in, sizeof(in), 100 * 512), (ssize_t)sizeof(in));
	close(fd);
	assert_memory_equal(in, out, sizeof(out));
	server_stop(&s);
}

struct mq_worker {
	struct virtio_blk *blk;
	unsigned int queue;
	int result;
};

#define MQ_REQS 256u
#define MQ_DEPTH 16u

/* Async writes of 4 KiB on one queue, MQ_DEPTH in flight, sectors by queue. */
static void *mq_worker(void *arg)
{
	struct mq_worker *w = arg;
	struct virtio_blk_request reqs[MQ_DEPTH], *done[MQ_DEPTH];
	unsigned int i, sent = 0, completed = 0;
	int n;

	w->result = 0;
	for (i = 0; i < MQ_DEPTH; i++) {
		reqs[i] = (struct virtio_blk_request){.type = VIRTIO_BLK_T_OUT, .len = 4096};
		reqs[i].data = virtio_blk_alloc_buffer(w->blk, 4096);
		if (!reqs[i].data)
			w->result = -ENOMEM;
	}
	while (w->result == 0 && completed < MQ_REQS) {
		for (i = 0; i < MQ_DEPTH && sent < MQ_REQS && sent - completed < MQ_DEPTH; i++) {
			struct virtio_blk_request *r = &reqs[sent % MQ_DEPTH];

			r->sector = (uint64_t)(w->queue * MQ_REQS + sent) * 8;
			pattern(r->data, 4096, (unsigned int)r->sector);
			if (virtio_blk_submit(w->blk, w->queue, r) < 0) {
				w->result = -EIO;
				break;
			}
			sent++;
		}
		n = virtio_blk_poll(w->blk, w->queue, done, MQ_DEPTH, 5000);
		if (n <= 0) {
			w->result = n < 0 ? n : -ETIMEDOUT;
			break;
		}
		for (i = 0; i < (unsigned int)n; i++)
			if (done[i]->result)
				w->result = done[i]->result;
		completed += (unsigned int)n;
	}
	for (i = 0; i < MQ_DEPTH; i++)
		virtio_blk_free_buffer(w->blk, reqs[i].data);
	return NULL;
}

static void test_blk_multiqueue(void **state)
{
	static uint8_t in[4096], want[4096];
	struct mq_worker w[2];
	pthread_t t[2];
	struct server s = {0};
	struct fe_blk f;
	unsigned int i, q;

	(void)state;
	server_start_blk(&s, false, 2);
	assert_int_equal(fe_blk_open(&f, s.sock, 0), 0);
	assert_int_equal(virtio_blk_num_queues(f.blk), 2);
	for (q = 0; q < 2; q++) {
		w[q] = (struct mq_worker){.blk = f.blk, .queue = q};
		assert_int_equal(pthread_create(&t[q], NULL, mq_worker, &w[q]), 0);
	}
	for (q = 0; q < 2; q++) {
		assert_int_equal(pthread_join(t[q], NULL), 0);
		assert_int_equal(w[q].result, 0);
	}
	for (q = 0; q < 2; q++) {
		for (i = 0; i < MQ_REQS; i += 37) {
			uint64_t sector = (uint64_t)(q * MQ_REQS + i) * 8;

			assert_int_equal(virtio_blk_read(f.blk, sector, in, sizeof(in)), 0);
			pattern(want, sizeof(want), (unsigned int)sector);
			assert_memory_equal(in, want, sizeof(in));
		}
	}
	fe_blk_close(&f);
	server_stop(&s);
}

static void test_blk_readonly(void **state)
{
	static uint8_t buf[4096];
	struct server s = {0};
	struct fe_blk f;

	(void)state;
	server_start_blk(&s, true, 1);
	assert_int_equal(fe_blk_open(&f, s.sock, 0), 0);
	assert_true(virtio_blk_read_only(f.blk));
	assert_int_equal(virtio_blk_read(f.blk, 0, buf, sizeof(buf)), 0);
	assert_int_equal(virtio_blk_write(f.blk, 0, buf, sizeof(buf)), -EROFS);
	fe_blk_close(&f);
	server_stop(&s);
}

/* Free the front-end and connect a new one, three times: the server serves each. */
static void test_blk_reconnect(void **state)
{
	static uint8_t out[4096], in[4096];
	struct server s = {0};
	struct fe_blk f;
	unsigned int round;

	(void)state;
	server_start_blk(&s, false, 1);
	for (round = 0; round < 3; round++) {
		assert_int_equal(fe_blk_open(&f, s.sock, 0), 0);
		if (round > 0) {
			assert_int_equal(virtio_blk_read(f.blk, 64, in, sizeof(in)), 0);
			pattern(out, sizeof(out), round - 1);
			assert_memory_equal(in, out, sizeof(in));
		}
		pattern(out, sizeof(out), round);
		assert_int_equal(virtio_blk_write(f.blk, 64, out, sizeof(out)), 0);
		fe_blk_close(&f);
	}
	server_stop(&s);
}

static void test_rng(void **state)
{
	struct vhost_user_frontend_options o = {.device_id = VIRTIO_ID_ENTROPY};
	struct virtio_rng_driver drv = {0};
	struct vhost_user_frontend *fe;
	struct virtio_bus bus;
	struct virtio_rng *rng;
	struct server s = {0};
	uint8_t buf[8192], zero[64] = {0};

	(void)state;
	server_start_rng(&s);
	o.socket_path = s.sock;
	virtio_bus_init(&bus);
	assert_int_equal(virtio_rng_register(&bus, &drv), 0);
	assert_int_equal(vireo_vhost_user_frontend_new(&fe, &bus, &o), 0);
	rng = virtio_rng_from_device(vireo_vhost_user_frontend_virtio_device(fe));
	assert_non_null(rng);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(virtio_rng_read(rng, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	assert_memory_not_equal(buf + sizeof(buf) - 64, zero, 64);
	vireo_vhost_user_frontend_free(fe);
	virtio_rng_unregister(&bus, &drv);
	server_stop(&s);
}

static void test_no_server(void **state)
{
	struct fe_blk f;

	(void)state;
	assert_int_equal(fe_blk_open(&f, "/nonexistent/vireo.sock", 0), -ENOENT);
}

/* ---- a scripted hostile back-end ---- */

enum fault {
	F_NONE,
	F_WRONG_SIZE, /* the reply's size does not fit the request */
	F_WRONG_ID,   /* a reply to another request */
	F_FDS,	      /* the reply carries file descriptors */
	F_MANY_FDS,   /* ... more than any message may carry (control data truncated) */
	F_NO_REPLY_FLAG,
	F_RANGE,       /* GET_CONFIG / GET_VRING_BASE answered for another range or ring */
	F_NACK,	       /* REPLY_ACK status 1 */
	F_SILENT,      /* never answers */
	F_CLOSE,       /* hangs up instead of answering */
	F_CLOSE_ON_IO, /* answers everything, hangs up at the first kick */
	F_ZERO,	       /* a u64 reply of 0 */
	F_EMPTY,       /* an empty payload (GET_CONFIG's refusal) */
};

struct peer {
	char dir[64];
	char path[128];
	int listen_fd;
	pthread_t thread;
	uint32_t fault_req;
	enum fault fault;
	int kick_fd;
};

static void peer_start(struct peer *p, uint32_t fault_req, enum fault fault)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	strcpy(p->dir, "/tmp/vireo-vupeer-XXXXXX");
	assert_non_null(mkdtemp(p->dir));
	snprintf(p->path, sizeof(p->path), "%s/sock", p->dir);
	strcpy(sa.sun_path, p->path);
	p->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(p->listen_fd >= 0);
	assert_int_equal(bind(p->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(p->listen_fd, 1), 0);
	p->fault_req = fault_req;
	p->fault = fault;
	p->kick_fd = -1;
}

/* Send @r with @n fresh eventfds attached, more than vireo_vhost_user_send() allows. */
static void peer_send_many_fds(int sock, const struct vhost_user_msg *r, unsigned int n)
{
	union {
		char buf[CMSG_SPACE(16 * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = {.iov_base = (void *)r, .iov_len = sizeof(r->hdr) + r->hdr.size};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = control.buf,
			    .msg_controllen = CMSG_SPACE(n * sizeof(int))};
	struct cmsghdr *c;
	int fds[16];
	unsigned int i;

	assert_true(n <= 16);
	memset(&control, 0, sizeof(control));
	for (i = 0; i < n; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	(void)sendmsg(sock, &mh, MSG_NOSIGNAL);
	for (i = 0; i < n; i++)
		close(fds[i]);
}

/* Send the reply to @req, sabotaged if the script says so. Return: false to hang up. */
static bool peer_reply(struct peer *p, int sock, const struct vhost_user_msg *req,
		       const void *payload, uint32_t size)
{
	bool faulty = req->hdr.request == p->fault_req;
	struct vhost_user_msg r;
	int fds[3] = {-1, -1, -1};
	unsigned int nfds = 0, i;

	vireo_vhost_user_msg_init(&r, req->hdr.request, size);
	r.hdr.flags |= VHOST_USER_REPLY_MASK;
	memcpy(&r.payload, payload, size);
	if (faulty) {
		switch (p->fault) {
		case F_WRONG_SIZE:
			r.hdr.size = size + 4;
			break;
		case F_WRONG_ID:
			r.hdr.request = VHOST_USER_GET_MAX_MEM_SLOTS;
			break;
		case F_FDS:
			for (nfds = 0; nfds < 3; nfds++)
				fds[nfds] = eventfd(0, EFD_CLOEXEC);
			break;
		case F_MANY_FDS:
			peer_send_many_fds(sock, &r, 16);
			return true;
		case F_NO_REPLY_FLAG:
			r.hdr.flags = VHOST_USER_VERSION;
			break;
		case F_NACK:
			r.payload.u64 = 1;
			break;
		case F_ZERO:
			r.payload.u64 = 0;
			break;
		case F_EMPTY:
			r.hdr.size = 0;
			break;
		case F_SILENT:
			return true;
		case F_CLOSE:
			return false;
		default:
			break;
		}
	}
	(void)vireo_vhost_user_send(sock, &r, fds, nfds);
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	return true;
}

/* The answer a well-behaved blk back-end would give (before sabotage). Return: as peer_reply */
static bool peer_answer(struct peer *p, int sock, struct vhost_user_msg *m)
{
	bool faulty = m->hdr.request == p->fault_req;
	struct vhost_user_config cfg;
	struct vhost_user_vring_state st;
	uint64_t v = 0, cap = SECTORS;

	switch (m->hdr.request) {
	case VHOST_USER_GET_FEATURES:
		/* Like qemu-storage-daemon: SIZE_MAX offered, size_max 0 (not negotiated). */
		v = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES) |
		    VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX);
		return peer_reply(p, sock, m, &v, 8);
	case VHOST_USER_GET_PROTOCOL_FEATURES:
		v = VIRTIO_BIT(VHOST_USER_PROTOCOL_F_MQ) |
		    VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) |
		    VIRTIO_BIT(VHOST_USER_PROTOCOL_F_CONFIG);
		return peer_reply(p, sock, m, &v, 8);
	case VHOST_USER_GET_QUEUE_NUM:
		v = 1;
		return peer_reply(p, sock, m, &v, 8);
	case VHOST_USER_GET_CONFIG:
		cfg = m->payload.config;
		memset(cfg.region, 0, sizeof(cfg.region));
		if (cfg.offset == 0 && cfg.size >= 8)
			memcpy(cfg.region, &cap, 8);
		if (faulty && p->fault == F_RANGE)
			cfg.offset += 4;
		return peer_reply(p, sock, m, &cfg,
				  VHOST_USER_CONFIG_HDR_SIZE + m->payload.config.size);
	case VHOST_USER_GET_VRING_BASE:
		st = (struct vhost_user_vring_state){.index = m->payload.state.index};
		if (faulty && p->fault == F_RANGE)
			st.index++;
		return peer_reply(p, sock, m, &st, sizeof(st));
	case VHOST_USER_SET_VRING_KICK:
		p->kick_fd = vireo_vhost_user_msg_take_fd(m, 0);
		break;
	default:
		break;
	}
	if (m->hdr.flags & VHOST_USER_NEED_REPLY_MASK)
		return peer_reply(p, sock, m, &v, 8);
	return !(faulty && p->fault == F_CLOSE);
}

static void *peer_thread(void *arg)
{
	struct peer *p = arg;
	struct vhost_user_msg m;
	int sock = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (sock < 0)
		return NULL;
	for (;;) {
		struct pollfd pfd[2] = {{.fd = sock, .events = POLLIN},
					{.fd = p->kick_fd, .events = POLLIN}};

		if (poll(pfd, p->kick_fd >= 0 ? 2 : 1, 10000) <= 0)
			break;
		if (p->kick_fd >= 0 && (pfd[1].revents & POLLIN) && p->fault == F_CLOSE_ON_IO)
			break;
		if (!(pfd[0].revents & (POLLIN | POLLHUP)))
			continue;
		if (vireo_vhost_user_recv(sock, &m, false) < 0)
			break;
		if (!peer_answer(p, sock, &m)) {
			vireo_vhost_user_msg_close_fds(&m);
			break;
		}
		vireo_vhost_user_msg_close_fds(&m);
	}
	close(sock);
	if (p->kick_fd >= 0)
		close(p->kick_fd);
	p->kick_fd = -1;
	return NULL;
}

static void peer_run(struct peer *p)
{
	assert_int_equal(pthread_create(&p->thread, NULL, peer_thread, p), 0);
}

static void peer_stop(struct peer *p)
{
	assert_int_equal(pthread_join(p->thread, NULL), 0);
	close(p->listen_fd);
	unlink(p->path);
	rmdir(p->dir);
}

/* A fault during the handshake or probe: the front-end is refused, cleanly. */
static void hostile_open(uint32_t req, enum fault fault, int timeout_ms)
{
	struct vhost_user_frontend_options o = {
		.device_id = VIRTIO_ID_BLOCK, .dma_bytes = DMA_BYTES, .timeout_ms = timeout_ms};
	struct virtio_blk_driver drv = {0};
	struct vhost_user_frontend *fe = NULL;
	struct virtio_bus bus;
	struct peer p;
	int ret;

	peer_start(&p, req, fault);
	peer_run(&p);
	o.socket_path = p.path;
	virtio_bus_init(&bus);
	assert_int_equal(virtio_blk_register(&bus, &drv), 0);
	ret = vireo_vhost_user_frontend_new(&fe, &bus, &o);
	if (ret == 0) {
		/* GET_CONFIG faults leave the driver with a zero capacity at worst. */
		vireo_vhost_user_frontend_free(fe);
		fail_msg("request %u fault %d accepted", req, fault);
	}
	assert_true(ret == -EIO || ret == -ENODEV);
	virtio_blk_unregister(&bus, &drv);
	peer_stop(&p);
}

static void test_hostile_wrong_size(void **state)
{
	(void)state;
	hostile_open(VHOST_USER_GET_FEATURES, F_WRONG_SIZE, 2000);
	hostile_open(VHOST_USER_GET_QUEUE_NUM, F_WRONG_SIZE, 2000);
	hostile_open(VHOST_USER_SET_MEM_TABLE, F_WRONG_SIZE, 2000);
	hostile_open(VHOST_USER_GET_CONFIG, F_WRONG_SIZE, 2000);
}

static void test_hostile_wrong_id(void **state)
{
	(void)state;
	hostile_open(VHOST_USER_GET_PROTOCOL_FEATURES, F_WRONG_ID, 2000);
	hostile_open(VHOST_USER_SET_FEATURES, F_WRONG_ID, 2000);
	hostile_open(VHOST_USER_SET_VRING_ADDR, F_NO_REPLY_FLAG, 2000);
}

static void test_hostile_fds(void **state)
{
	(void)state;
	hostile_open(VHOST_USER_GET_FEATURES, F_FDS, 2000);
	hostile_open(VHOST_USER_SET_VRING_KICK, F_FDS, 2000);
	hostile_open(VHOST_USER_GET_QUEUE_NUM, F_MANY_FDS, 2000);
	hostile_open(VHOST_USER_SET_MEM_TABLE, F_MANY_FDS, 2000);
}

static void test_hostile_ranges_and_refusals(void **state)
{
	(void)state;
	hostile_open(VHOST_USER_GET_CONFIG, F_RANGE, 2000);
	hostile_open(VHOST_USER_SET_MEM_TABLE, F_NACK, 2000);
	hostile_open(VHOST_USER_SET_VRING_NUM, F_NACK, 2000);
}

static void test_hostile_silent_or_gone(void **state)
{
	(void)state;
	hostile_open(VHOST_USER_GET_FEATURES, F_SILENT, 200);
	hostile_open(VHOST_USER_SET_VRING_CALL, F_SILENT, 200);
	hostile_open(VHOST_USER_GET_CONFIG, F_CLOSE, 2000);
	hostile_open(VHOST_USER_SET_OWNER, F_CLOSE, 2000);
}

/* The back-end hangs up with I/O in flight: the I/O fails with -EIO, nothing hangs. */
static void test_hostile_hangup_during_io(void **state)
{
	static uint8_t buf[4096];
	struct fe_blk f;
	struct peer p;
	uint8_t status;

	(void)state;
	peer_start(&p, 0, F_CLOSE_ON_IO);
	peer_run(&p);
	assert_int_equal(fe_blk_open(&f, p.path, 0), 0);
	assert_int_equal(virtio_blk_capacity(f.blk), SECTORS);
	assert_false(virtio_blk_has_feature(f.blk, VIRTIO_BLK_F_SIZE_MAX));
	assert_int_equal(virtio_blk_read(f.blk, 0, buf, sizeof(buf)), -EIO);
	assert_true(vireo_vhost_user_frontend_broken(f.fe));
	status = vireo_vhost_user_frontend_virtio_device(f.fe)->config->get_status(
		vireo_vhost_user_frontend_virtio_device(f.fe));
	assert_true(status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_int_equal(virtio_blk_write(f.blk, 0, buf, sizeof(buf)), -EIO);
	fe_blk_close(&f);
	peer_stop(&p);
}

/*
 * Bad GET_VRING_BASE replies when the driver goes (its reset stops the rings):
 * the front-end is broken, and freed without a leak.
 */
static void test_hostile_vring_base(void **state)
{
	static const enum fault faults[] = {F_RANGE, F_WRONG_SIZE, F_FDS, F_CLOSE};
	struct fe_blk f;
	struct peer p;
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		peer_start(&p, VHOST_USER_GET_VRING_BASE, faults[i]);
		peer_run(&p);
		assert_int_equal(fe_blk_open(&f, p.path, 0), 0);
		assert_false(vireo_vhost_user_frontend_broken(f.fe));
		virtio_blk_unregister(&f.bus, &f.drv);
		assert_true(vireo_vhost_user_frontend_broken(f.fe));
		vireo_vhost_user_frontend_free(f.fe);
		peer_stop(&p);
	}
}

/* GET_QUEUE_NUM of 0 breaks the front-end at the handshake; nothing is shown to drivers. */
static void test_hostile_zero_queues(void **state)
{
	(void)state;
	hostile_open(VHOST_USER_GET_QUEUE_NUM, F_ZERO, 2000);
}

/*
 * An empty GET_CONFIG reply is the back-end's "no" (vhost-user.rst GET_CONFIG,
 * D-VU-29 seen from the front-end): each read gives zeros (a disk of capacity
 * 0 here), and the front-end is not broken.
 */
static void test_hostile_empty_config(void **state)
{
	struct fe_blk f;
	struct peer p;

	(void)state;
	peer_start(&p, VHOST_USER_GET_CONFIG, F_EMPTY);
	peer_run(&p);
	assert_int_equal(fe_blk_open(&f, p.path, 0), 0);
	assert_int_equal(virtio_blk_capacity(f.blk), 0);
	assert_false(vireo_vhost_user_frontend_broken(f.fe));
	fe_blk_close(&f);
	peer_stop(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_blk_rw, setup_fds, teardown_fds),
		cmocka_unit_test_setup_teardown(test_blk_image_holds_data, setup_fds, teardown_fds),
		cmocka_unit_test_setup_teardown(test_blk_multiqueue, setup_fds, teardown_fds),
		cmocka_unit_test_setup_teardown(test_blk_readonly, setup_fds, teardown_fds),
		cmocka_unit_test_setup_teardown(test_blk_reconnect, setup_fds, teardown_fds),
		cmocka_unit_test_setup_teardown(test_rng, setup_fds, teardown_fds),
		cmocka_unit_test_setup_teardown(test_no_server, setup_fds, teardown_fds),
		cmocka_unit_test_setup_teardown(test_hostile_wrong_size, setup_fds, teardown_fds),
		cmocka_unit_test_setup_teardown(test_hostile_wrong_id, setup_fds, teardown_fds),
		cmocka_unit_test_setup_teardown(test_hostile_fds, setup_fds, teardown_fds),
		cmocka_unit_test_setup_teardown(test_hostile_ranges_and_refusals, setup_fds,
						teardown_fds),
		cmocka_unit_test_setup_teardown(test_hostile_silent_or_gone, setup_fds,
						teardown_fds),
		cmocka_unit_test_setup_teardown(test_hostile_hangup_during_io, setup_fds,
						teardown_fds),
		cmocka_unit_test_setup_teardown(test_hostile_vring_base, setup_fds, teardown_fds),
		cmocka_unit_test_setup_teardown(test_hostile_zero_queues, setup_fds, teardown_fds),
		cmocka_unit_test_setup_teardown(test_hostile_empty_config, setup_fds, teardown_fds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
