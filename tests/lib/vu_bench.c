// SPDX-License-Identifier: MIT
/* The vhost-user test bench (vu_bench.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/vu_bench.h"

uint64_t to_user(uint64_t ga)
{
	return USER_BASE + (ga - GUEST_BASE);
}

static void on_connect(void *opaque, unsigned long conn)
{
	struct server *s = opaque;

	(void)conn;
	__atomic_add_fetch(&s->connects, 1, __ATOMIC_RELAXED);
}

static void on_disconnect(void *opaque, unsigned long conn, const char *reason)
{
	struct server *s = opaque;

	(void)conn;
	(void)reason;
	__atomic_add_fetch(&s->disconnects, 1, __ATOMIC_RELAXED);
}

static void *server_thread(void *arg)
{
	struct server *s = arg;

	assert_int_equal(vhost_user_backend_run(s->b), 0);
	return NULL;
}

static void bench_image(struct server *s, const char *prefix)
{
	int fd;

	snprintf(s->dir, sizeof(s->dir), "/tmp/%s-XXXXXX", prefix);
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->sock, sizeof(s->sock), "%s/sock", s->dir);
	snprintf(s->image, sizeof(s->image), "%s/image", s->dir);
	fd = open(s->image, O_CREAT | O_RDWR, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, IMAGE_BYTES), 0);
	close(fd);
}

void server_start(struct server *s, bool readonly)
{
	struct blk_device_options bo = {
		.path = s->image,
		.readonly = readonly,
		.serial = "vu-test",
		.num_queues = s->queues,
	};
	struct vhost_user_backend_options vo = {
		.socket_path = s->sock,
		.on_connect = on_connect,
		.on_disconnect = on_disconnect,
		.opaque = s,
	};

	bench_image(s, "vireo-vu");
	assert_int_equal(blk_device_new(&s->blk, &bo), 0);
	assert_int_equal(event_loop_init(&s->loop), 0);
	assert_int_equal(vhost_user_backend_new(&s->b, blk_device_vdev(s->blk), &s->loop, &vo), 0);
	assert_int_equal(pthread_create(&s->thread, NULL, server_thread, s), 0);
}

void server_spawn(struct server *s)
{
	char exe[PATH_MAX], vireo[PATH_MAX + 8];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct timespec pause = {.tv_nsec = 20 * 1000 * 1000};
	struct stat st;
	int t;

	assert_true(n > 0);
	exe[n] = '\0';
	snprintf(vireo, sizeof(vireo), "%s/vireo", dirname(dirname(exe)));
	bench_image(s, "vireo-vu-real");
	snprintf(s->log, sizeof(s->log), "%s/serve.log", s->dir);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		int fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(vireo, vireo, "serve", "blk", "--socket", s->sock, "--image", s->image,
		      (char *)NULL);
		_exit(127);
	}
	for (t = 0; t < 500 && stat(s->sock, &st) != 0; t++)
		nanosleep(&pause, NULL);
	if (t == 500)
		fail_msg("vireo serve blk did not start (see %s)", s->log);
}

int server_reap(struct server *s, char **out)
{
	char *buf = calloc(1, 65536);
	int status, fd;
	ssize_t n;

	assert_non_null(buf);
	kill(s->pid, SIGTERM);
	assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
	fd = open(s->log, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, 65535);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	unlink(s->log);
	unlink(s->sock);
	unlink(s->image);
	rmdir(s->dir);
	if (out)
		*out = buf;
	else
		free(buf);
	return status;
}

void server_stop(struct server *s)
{
	event_loop_stop(&s->loop);
	assert_int_equal(pthread_join(s->thread, NULL), 0);
	vhost_user_backend_free(s->b);
	/* The socket file goes with the back-end. */
	assert_int_equal(access(s->sock, F_OK), -1);
	blk_device_free(s->blk);
	event_loop_destroy(&s->loop);
	unlink(s->image);
	rmdir(s->dir);
}

static bool notify_kick(struct virtqueue *vq)
{
	struct client *c = vq->priv;

	return eventfd_signal_fd(c->kick) == 0;
}

void client_connect(struct client *c, const struct server *s)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(c, 0, sizeof(*c));
	c->kick = c->call = c->err = -1;
	c->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->sock >= 0);
	strcpy(sa.sun_path, s->sock);
	assert_int_equal(connect(c->sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(virtio_dma_arena_init(&c->arena, ARENA_BYTES, GUEST_BASE), 0);
}

void client_close(struct client *c)
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

int c_send(struct client *c, uint32_t req, const void *payload, uint32_t size, const int *fds,
	   unsigned int nfds, bool need_reply)
{
	struct vhost_user_msg m;

	vhost_user_msg_init(&m, req, size);
	if (need_reply)
		m.hdr.flags |= VHOST_USER_NEED_REPLY_MASK;
	if (size)
		memcpy(&m.payload, payload, size);
	return vhost_user_send(c->sock, &m, fds, nfds);
}

void c_reply(struct client *c, uint32_t req, struct vhost_user_msg *m)
{
	struct pollfd p = {.fd = c->sock, .events = POLLIN};

	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	assert_int_equal(vhost_user_recv(c->sock, m, true), 0);
	assert_int_equal(m->hdr.request, req);
}

uint64_t c_get_u64(struct client *c, uint32_t req)
{
	struct vhost_user_msg m;

	assert_int_equal(c_send(c, req, NULL, 0, NULL, 0, false), 0);
	c_reply(c, req, &m);
	return m.payload.u64;
}

/* Send with need_reply and return the REPLY_ACK status. */
uint64_t c_ack(struct client *c, uint32_t req, const void *payload, uint32_t size, const int *fds,
	       unsigned int nfds)
{
	struct vhost_user_msg m;

	assert_int_equal(c_send(c, req, payload, size, fds, nfds, true), 0);
	c_reply(c, req, &m);
	return m.payload.u64;
}

void c_state(struct client *c, uint32_t req, uint32_t index, uint32_t num)
{
	struct vhost_user_vring_state st = {.index = index, .num = num};

	assert_int_equal(c_ack(c, req, &st, sizeof(st), NULL, 0), 0);
}

/* The server closed this connection (bounded wait, not a timing assertion). */
void c_expect_closed(struct client *c)
{
	struct pollfd p = {.fd = c->sock, .events = POLLIN};
	char buf[64];
	ssize_t n;

	do {
		assert_int_equal(poll(&p, 1, WAIT_MS), 1);
		n = recv(c->sock, buf, sizeof(buf), 0);
	} while (n > 0); /* a REPLY_ACK failure status may come first */
	assert_true(n == 0 || errno == ECONNRESET);
}

struct vhost_user_mem_region arena_region(const struct client *c)
{
	struct vhost_user_mem_region r = {
		.guest_addr = GUEST_BASE,
		.size = c->arena.size,
		.user_addr = USER_BASE,
		.mmap_offset = 0,
	};

	return r;
}

uint32_t memtable_size(unsigned int n)
{
	return (uint32_t)(8 + n * sizeof(struct vhost_user_mem_region));
}

void c_ring(struct client *c)
{
	struct vring_split_drv_config cfg = {.num = QSZ, .extra = c->extra};

	cfg.desc = virtio_dma_alloc(&c->arena, 16 * QSZ, 16, &c->desc);
	cfg.avail = virtio_dma_alloc(&c->arena, 6 + 2 * QSZ, 2, &c->avail);
	cfg.used = virtio_dma_alloc(&c->arena, 6 + 8 * QSZ, 4, &c->used);
	assert_int_equal(virtqueue_split_init(&c->vq, &cfg), 0);
	c->vq.notify = notify_kick;
	c->vq.priv = c;
	c->vq.name = "vu-test";
}

/* Features, protocol features, owner: the part before memory. */
void c_negotiate(struct client *c, uint64_t features)
{
	uint64_t f, pf,
		want = VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) |
		       VIRTIO_BIT(VHOST_USER_PROTOCOL_F_MQ) |
		       VIRTIO_BIT(VHOST_USER_PROTOCOL_F_CONFIG);

	f = c_get_u64(c, VHOST_USER_GET_FEATURES);
	assert_true(f & VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES));
	assert_true(f & VIRTIO_BIT(VIRTIO_F_VERSION_1));
	pf = c_get_u64(c, VHOST_USER_GET_PROTOCOL_FEATURES);
	assert_int_equal(pf & want, want);
	assert_int_equal(c_send(c, VHOST_USER_SET_PROTOCOL_FEATURES, &want, 8, NULL, 0, false), 0);
	assert_int_equal(c_send(c, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0, false), 0);
	assert_int_equal(c_get_u64(c, VHOST_USER_GET_QUEUE_NUM), 1);
	assert_int_equal(c_ack(c, VHOST_USER_SET_FEATURES, &features, 8, NULL, 0), 0);
}

void c_mem(struct client *c)
{
	struct vhost_user_memory m = {.nregions = 1};

	m.regions[0] = arena_region(c);
	assert_int_equal(
		c_ack(c, VHOST_USER_SET_MEM_TABLE, &m, memtable_size(1), &c->arena.memfd, 1), 0);
}

void c_vring_fd(struct client *c, uint32_t req, int *fd)
{
	uint64_t idx = 0;

	*fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(*fd >= 0);
	assert_int_equal(c_ack(c, req, &idx, 8, fd, 1), 0);
}

/* The whole front-end sequence for queue 0, as QEMU does it. */
void c_handshake(struct client *c)
{
	struct vhost_user_vring_addr a = {.index = 0};

	c_negotiate(c, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES));
	c_mem(c);
	c_ring(c);
	c_state(c, VHOST_USER_SET_VRING_NUM, 0, QSZ);
	c_state(c, VHOST_USER_SET_VRING_BASE, 0, 0);
	a.desc_user_addr = to_user(c->desc);
	a.avail_user_addr = to_user(c->avail);
	a.used_user_addr = to_user(c->used);
	assert_int_equal(c_ack(c, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 0);
	c_vring_fd(c, VHOST_USER_SET_VRING_KICK, &c->kick);
	c_vring_fd(c, VHOST_USER_SET_VRING_CALL, &c->call);
	c_vring_fd(c, VHOST_USER_SET_VRING_ERR, &c->err);
	c_state(c, VHOST_USER_SET_VRING_ENABLE, 0, 1);
}

/* Wait for the one request in flight. */
void c_wait_used(struct client *c, void *token)
{
	struct pollfd p = {.fd = c->call, .events = POLLIN};
	uint32_t len;
	void *got;

	while (!(got = virtqueue_get_buf(&c->vq, &len))) {
		assert_false(virtqueue_is_broken(&c->vq));
		assert_int_equal(poll(&p, 1, WAIT_MS), 1);
		eventfd_drain_fd(c->call);
	}
	assert_ptr_equal(got, token);
}

/* One blk request of @len bytes (at most 4096) at @sector. Return: its status byte. */
uint8_t c_blk(struct client *c, uint32_t type, uint64_t sector, void *buf, uint32_t len)
{
	bool write = type == VIRTIO_BLK_T_OUT;
	struct virtio_sg sg[3];
	struct blk_req *r;
	uint64_t ga;
	uint8_t status;

	r = virtio_dma_alloc(&c->arena, sizeof(*r), 16, &ga);
	assert_non_null(r);
	r->hdr.type = type;
	r->hdr.sector = sector;
	r->status = 0xff;
	if (write)
		memcpy(r->data, buf, len);
	sg[0] = (struct virtio_sg){ga + offsetof(struct blk_req, hdr), sizeof(r->hdr)};
	sg[1] = (struct virtio_sg){ga + offsetof(struct blk_req, data), len};
	sg[2] = (struct virtio_sg){ga + offsetof(struct blk_req, status), 1};
	assert_int_equal(virtqueue_add_sgs(&c->vq, sg, write ? 2 : 1, write ? 1 : 2, r), 0);
	virtqueue_kick(&c->vq);
	c_wait_used(c, r);
	if (!write)
		memcpy(buf, r->data, len);
	status = r->status;
	virtio_dma_free(&c->arena, r);
	return status;
}

/* A good front-end: handshake, config, write, read back, stop the ring, leave. */
void c_good(struct server *s)
{
	struct vhost_user_config cfg = {.offset = 0, .size = 8};
	uint8_t out[4096], in[4096];
	struct vhost_user_vring_state st = {.index = 0};
	struct vhost_user_msg m;
	struct client c;
	uint64_t cap;
	unsigned int i;
	int fd;

	client_connect(&c, s);
	c_handshake(&c);
	assert_int_equal(c_send(&c, VHOST_USER_GET_CONFIG, &cfg, 12 + 8, NULL, 0, false), 0);
	c_reply(&c, VHOST_USER_GET_CONFIG, &m);
	assert_int_equal(m.hdr.size, 12 + 8);
	memcpy(&cap, m.payload.config.region, 8);
	assert_int_equal(cap, IMAGE_BYTES / 512);
	for (i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + __atomic_load_n(&s->connects, __ATOMIC_RELAXED));
	assert_int_equal(c_blk(&c, VIRTIO_BLK_T_OUT, 8, out, sizeof(out)), VIRTIO_BLK_S_OK);
	memset(in, 0, sizeof(in));
	assert_int_equal(c_blk(&c, VIRTIO_BLK_T_IN, 8, in, sizeof(in)), VIRTIO_BLK_S_OK);
	assert_memory_equal(in, out, sizeof(out));
	/* GET_VRING_BASE stops the ring and says where to resume: after our two requests. */
	assert_int_equal(c_send(&c, VHOST_USER_GET_VRING_BASE, &st, sizeof(st), NULL, 0, false), 0);
	c_reply(&c, VHOST_USER_GET_VRING_BASE, &m);
	assert_int_equal(m.payload.state.index, 0);
	assert_int_equal(m.payload.state.num, 2);
	client_close(&c);
	/* The data reached the image file. */
	fd = open(s->image, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, in, sizeof(in), 8 * 512), (ssize_t)sizeof(in));
	close(fd);
	assert_memory_equal(in, out, sizeof(out));
}
