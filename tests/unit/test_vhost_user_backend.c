// SPDX-License-Identifier: MIT
/*
 * The vhost-user back-end against a scripted front-end over a real socket in
 * a temporary directory. The server (our blk device model behind
 * vhost_user_backend) runs in its own thread. A good client does the whole
 * handshake, shares a memfd as guest memory, builds a ring in it with our
 * driver-side ring API and runs blk writes and reads. Hostile clients send
 * truncated, oversized and unknown messages, wrong fd counts, overlapping or
 * out-of-file regions, ring addresses outside memory, queue indexes out of
 * range, kicks before the ring exists and descriptors outside the memory
 * table: each time the connection is closed (or the device NEEDS_RESET and
 * says so on the SET_VRING_ERR eventfd) and the next good client is served.
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
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <vireo/blk_device.h>
#include <vireo/dma.h>
#include <vireo/event_loop.h>
#include <vireo/spec.h>
#include <vireo/vhost_user.h>
#include <vireo/vhost_user_backend.h>
#include <vireo/virtqueue.h>

#include "tests/lib/vu_blk_fixture.h"
#include "tests/lib/vu_client.h"

struct server {
	struct vu_blk_fixture fx;
	unsigned long connects, disconnects;
};

/* ---- helpers ---- */

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

static void server_start(struct server *s, bool readonly)
{
	struct blk_device_options bo = {
		.readonly = readonly,
		.serial = "vu-test",
	};
	struct vhost_user_backend_options vo = {
		.on_connect = on_connect,
		.on_disconnect = on_disconnect,
		.opaque = s,
	};

	vu_blk_fixture_start(&s->fx, "/tmp/vireo-vu-XXXXXX", &bo, &vo);
}

/* A good front-end: handshake, config, write, read back, stop the ring, leave (D-VU-05). */
static void c_good(struct server *s)
{
	struct vhost_user_config cfg = {.offset = 0, .size = 8};
	uint8_t out[4096], in[4096];
	struct vhost_user_msg m;
	struct vu_client c;
	uint64_t cap;
	unsigned int i;
	int fd;

	vu_client_connect(&c, s->fx.sock);
	vu_client_handshake(&c);
	assert_int_equal(vu_client_send(&c, VHOST_USER_GET_CONFIG, &cfg, 12 + 8, NULL, 0, false),
			 0);
	vu_client_reply(&c, VHOST_USER_GET_CONFIG, &m);
	assert_int_equal(m.hdr.size, 12 + 8);
	memcpy(&cap, m.payload.config.region, 8);
	assert_int_equal(cap, VU_BLK_IMAGE_BYTES / 512);
	for (i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + __atomic_load_n(&s->connects, __ATOMIC_RELAXED));
	assert_int_equal(vu_client_blk(&c, VIRTIO_BLK_T_OUT, 8, out, sizeof(out)), VIRTIO_BLK_S_OK);
	memset(in, 0, sizeof(in));
	assert_int_equal(vu_client_blk(&c, VIRTIO_BLK_T_IN, 8, in, sizeof(in)), VIRTIO_BLK_S_OK);
	assert_memory_equal(in, out, sizeof(out));
	/* D-VU-07: GET_VRING_BASE stops the ring and says where to resume: after our two. */
	assert_int_equal(vu_client_get_vring_base(&c, 0), 2);
	vu_client_close(&c);
	/* The data reached the image file. */
	fd = open(s->fx.image, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, in, sizeof(in), 8 * 512), (ssize_t)sizeof(in));
	close(fd);
	assert_memory_equal(in, out, sizeof(out));
}

/* ---- fixtures ---- */

struct fixture {
	struct server s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	server_start(&f->s, false);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	/* Every fd a front-end sent (memfds, eventfds) and every socket is closed again. */
	vu_blk_fixture_stop_closed(&f->s.fx);
	free(f);
	return 0;
}

/* A hostile client connected and, for most cases, already negotiated. */
static void hostile(struct server *s, struct vu_client *c, bool negotiate)
{
	vu_client_connect(c, s->fx.sock);
	if (negotiate)
		vu_client_negotiate(c, VIRTIO_BIT(VIRTIO_F_VERSION_1) |
					       VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES));
}

static void send_raw(struct vu_client *c, const void *buf, size_t len)
{
	assert_int_equal(send(c->sock, buf, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* ---- tests ---- */

static void test_good_clients(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	assert_int_equal(stat(f->s.fx.sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	c_good(&f->s);
	c_good(&f->s);
	assert_true(__atomic_load_n(&f->s.connects, __ATOMIC_RELAXED) >= 2);
}

static void test_truncated(void **state)
{
	struct fixture *f = *state;
	struct vhost_user_header h = {VHOST_USER_SET_FEATURES, VHOST_USER_VERSION, 8};
	struct vu_client c;

	hostile(&f->s, &c, false);
	send_raw(&c, &h, sizeof(h));
	send_raw(&c, "abc", 3);
	shutdown(c.sock, SHUT_WR);
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	/* Half a header. */
	hostile(&f->s, &c, true);
	send_raw(&c, &h, 5);
	shutdown(c.sock, SHUT_WR);
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	c_good(&f->s);
}

static void test_oversized_and_unknown(void **state)
{
	struct fixture *f = *state;
	struct vhost_user_header big = {VHOST_USER_SET_FEATURES, VHOST_USER_VERSION, 1u << 20};
	struct vhost_user_header longer = {VHOST_USER_SET_FEATURES, VHOST_USER_VERSION, 16};
	uint8_t zero[16] = {0};
	struct vu_client c;

	hostile(&f->s, &c, true);
	send_raw(&c, &big, sizeof(big));
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	hostile(&f->s, &c, true);
	send_raw(&c, &longer, sizeof(longer));
	send_raw(&c, zero, sizeof(zero));
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	hostile(&f->s, &c, false);
	assert_int_equal(vu_client_send(&c, 77, NULL, 0, NULL, 0, false), 0);
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	hostile(&f->s, &c, true);
	assert_int_equal(vu_client_send(&c, 6 /* SET_LOG_BASE */, zero, 8, NULL, 0, true), 0);
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	c_good(&f->s);
}

static void test_wrong_fd_counts(void **state)
{
	struct fixture *f = *state;
	struct vhost_user_memory m = {.nregions = 2};
	int efd = eventfd(0, EFD_CLOEXEC), two[2] = {efd, efd};
	int pipefd[2];
	uint64_t idx = 0;
	struct vu_client c;

	hostile(&f->s, &c, true);
	assert_int_equal(vu_client_send(&c, VHOST_USER_SET_VRING_KICK, &idx, 8, NULL, 0, true), 0);
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	hostile(&f->s, &c, true);
	m.regions[0] = vu_client_region(&c);
	m.regions[1] = vu_client_region(&c);
	assert_int_equal(vu_client_send(&c, VHOST_USER_SET_MEM_TABLE, &m, vu_memtable_size(2),
					&c.arena.memfd, 1, true),
			 0);
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	hostile(&f->s, &c, false);
	assert_int_equal(vu_client_send(&c, VHOST_USER_GET_FEATURES, NULL, 0, &efd, 1, false), 0);
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	hostile(&f->s, &c, true);
	assert_int_equal(vu_client_send(&c, VHOST_USER_SET_VRING_CALL, &idx, 8, two, 2, true), 0);
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	/* A kick "fd" that is not an eventfd. */
	hostile(&f->s, &c, true);
	assert_int_equal(
		vu_client_send(&c, VHOST_USER_SET_VRING_KICK, &idx, 8, &c.arena.memfd, 1, true), 0);
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	/* A call "fd" that is not an eventfd: it could block a write, so it is refused. */
	hostile(&f->s, &c, true);
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(
		vu_client_send(&c, VHOST_USER_SET_VRING_CALL, &idx, 8, &pipefd[1], 1, true), 0);
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	close(pipefd[0]);
	close(pipefd[1]);
	close(efd);
	c_good(&f->s);
}

/* SET_MEM_TABLE with @m's regions, one memfd each; expect the connection closed. */
static void bad_table(struct server *s, struct vhost_user_memory *m)
{
	int fds[VHOST_USER_MEM_REGIONS_MAX];
	struct vu_client c;
	unsigned int i;

	hostile(s, &c, true);
	for (i = 0; i < m->nregions; i++)
		fds[i] = c.arena.memfd;
	assert_int_equal(vu_client_send(&c, VHOST_USER_SET_MEM_TABLE, m,
					vu_memtable_size(m->nregions), fds, m->nregions, true),
			 0);
	vu_client_expect_closed(&c);
	vu_client_close(&c);
}

static void test_bad_regions(void **state)
{
	struct fixture *f = *state;
	struct vhost_user_mem_region base = {VU_GUEST_BASE, VU_ARENA_BYTES, VU_USER_BASE, 0};
	struct vhost_user_memory m = {.nregions = 2};

	/* Overlapping in guest space. */
	m.regions[0] = base;
	m.regions[0].size = VU_ARENA_BYTES / 2;
	m.regions[1] = m.regions[0];
	m.regions[1].guest_addr += 4096;
	m.regions[1].user_addr += VU_ARENA_BYTES / 2;
	bad_table(&f->s, &m);
	/* Overlapping in the front-end's address space. */
	m.regions[1] = m.regions[0];
	m.regions[1].guest_addr += VU_ARENA_BYTES / 2;
	m.regions[1].user_addr += 4096;
	bad_table(&f->s, &m);
	m.nregions = 1;
	/* Beyond the end of the file, by size and by offset. */
	m.regions[0] = base;
	m.regions[0].size = 2 * VU_ARENA_BYTES;
	bad_table(&f->s, &m);
	m.regions[0] = base;
	m.regions[0].mmap_offset = 4096;
	bad_table(&f->s, &m);
	m.regions[0].mmap_offset = UINT64_MAX - 100;
	bad_table(&f->s, &m);
	/* Empty, and wrapping around the address space. */
	m.regions[0] = base;
	m.regions[0].size = 0;
	bad_table(&f->s, &m);
	m.regions[0] = base;
	m.regions[0].guest_addr = UINT64_MAX - 4095;
	bad_table(&f->s, &m);
	c_good(&f->s);
}

static void test_ring_outside_memory(void **state)
{
	struct fixture *f = *state;
	struct vhost_user_vring_addr a = {.index = 0};
	uint64_t idx = 0;
	struct vu_client c;
	int kick;

	/* A ring address outside every region. */
	hostile(&f->s, &c, true);
	vu_client_mem(&c);
	vu_client_ring(&c);
	a.desc_user_addr = VU_USER_BASE + 2 * VU_ARENA_BYTES;
	a.avail_user_addr = vu_client_user_addr(c.avail);
	a.used_user_addr = vu_client_user_addr(c.used);
	assert_int_equal(
		vu_client_send(&c, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0, true), 0);
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	/* A guest address where a user address belongs. */
	hostile(&f->s, &c, true);
	vu_client_mem(&c);
	vu_client_ring(&c);
	a.desc_user_addr = c.desc;
	assert_int_equal(
		vu_client_send(&c, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0, true), 0);
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	/* Starts inside, ends outside: refused when the ring starts. */
	hostile(&f->s, &c, true);
	vu_client_mem(&c);
	vu_client_ring(&c);
	a.desc_user_addr = VU_USER_BASE + VU_ARENA_BYTES - 16;
	assert_int_equal(vu_client_ack(&c, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 0);
	kick = eventfd(0, EFD_CLOEXEC);
	assert_int_equal(vu_client_send(&c, VHOST_USER_SET_VRING_KICK, &idx, 8, &kick, 1, false),
			 0);
	close(kick);
	assert_int_equal(vu_client_send(&c, VHOST_USER_SET_VRING_ENABLE,
					&(struct vhost_user_vring_state){0, 1}, 8, NULL, 0, true),
			 0);
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	c_good(&f->s);
}

static void test_bad_queue_values(void **state)
{
	struct fixture *f = *state;
	struct vhost_user_vring_state st;
	uint64_t v;
	struct vu_client c;
	int kick = eventfd(0, EFD_CLOEXEC);

	hostile(&f->s, &c, true);
	st = (struct vhost_user_vring_state){.index = 1, .num = VU_QSZ};
	assert_int_equal(vu_client_send(&c, VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0, true), 0);
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	hostile(&f->s, &c, true);
	v = 200;
	assert_int_equal(vu_client_send(&c, VHOST_USER_SET_VRING_KICK, &v, 8, &kick, 1, true), 0);
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	hostile(&f->s, &c, true);
	st = (struct vhost_user_vring_state){.index = 0xffffffffu, .num = 0};
	assert_int_equal(vu_client_send(&c, VHOST_USER_GET_VRING_BASE, &st, 8, NULL, 0, false), 0);
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	/* Ring sizes: not a power of two, above the maximum. */
	hostile(&f->s, &c, true);
	st = (struct vhost_user_vring_state){.index = 0, .num = 3};
	assert_int_equal(vu_client_send(&c, VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0, true), 0);
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	hostile(&f->s, &c, true);
	st = (struct vhost_user_vring_state){.index = 0, .num = 65536};
	assert_int_equal(vu_client_send(&c, VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0, true), 0);
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	/* Features never offered; protocol features never offered. */
	hostile(&f->s, &c, false);
	v = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(50);
	assert_int_equal(vu_client_send(&c, VHOST_USER_SET_FEATURES, &v, 8, NULL, 0, false), 0);
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	hostile(&f->s, &c, false);
	v = VIRTIO_BIT(14); /* INBAND_NOTIFICATIONS */
	assert_int_equal(
		vu_client_send(&c, VHOST_USER_SET_PROTOCOL_FEATURES, &v, 8, NULL, 0, false), 0);
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	close(kick);
	c_good(&f->s);
}

static void test_kick_before_ring(void **state)
{
	struct fixture *f = *state;
	uint64_t v = VIRTIO_BIT(VIRTIO_F_VERSION_1), idx = 0;
	struct vu_client c;
	int kick = eventfd(0, EFD_CLOEXEC);

	/* Kick fd first, nothing else: the ring cannot start, the server lives on. */
	hostile(&f->s, &c, false);
	assert_int_equal(vu_client_send(&c, VHOST_USER_SET_VRING_KICK, &idx, 8, &kick, 1, false),
			 0);
	assert_int_equal(vireo_eventfd_signal_fd(kick), 0);
	assert_true(vu_client_get_u64(&c, VHOST_USER_GET_FEATURES) != 0);
	/* Without protocol features every ring is enabled at SET_FEATURES: still no addresses. */
	assert_int_equal(vu_client_send(&c, VHOST_USER_SET_FEATURES, &v, 8, NULL, 0, false), 0);
	assert_int_equal(vireo_eventfd_signal_fd(kick), 0);
	assert_true(vu_client_get_u64(&c, VHOST_USER_GET_FEATURES) != 0);
	vu_client_close(&c);
	close(kick);
	c_good(&f->s);
}

static void test_bad_descriptor(void **state)
{
	struct fixture *f = *state;
	struct virtio_sg sg[2] = {{VU_GUEST_BASE + 2 * VU_ARENA_BYTES, 16},
				  {VU_GUEST_BASE - 4096, 1}};
	struct pollfd p;
	struct vu_client c;
	int token;

	hostile(&f->s, &c, false);
	vu_client_handshake(&c);
	/* A request whose buffers lie outside the memory table. */
	assert_int_equal(virtqueue_add_sgs(&c.vq, sg, 1, 1, &token), 0);
	virtqueue_kick(&c.vq);
	/* The device NEEDS_RESET and says so on the error eventfd. */
	p = (struct pollfd){.fd = c.err, .events = POLLIN};
	assert_int_equal(poll(&p, 1, VU_WAIT_MS), 1);
	assert_true(vireo_eventfd_drain_fd(c.err) >= 1);
	/* The connection still answers; nothing was used. */
	assert_true(vu_client_get_u64(&c, VHOST_USER_GET_FEATURES) != 0);
	/* The broken chain was not consumed. */
	assert_int_equal(vu_client_get_vring_base(&c, 0), 0);
	assert_false(virtqueue_more_used(&c.vq));
	vu_client_close(&c);
	c_good(&f->s);
}

/* QEMU's stop/start (VM pause, guest reboot): GET_VRING_BASE, then the ring again. */
static void test_stop_and_resume(void **state)
{
	struct fixture *f = *state;
	uint8_t out[512], in[512];
	struct vu_client c;

	memset(out, 0x5a, sizeof(out));
	vu_client_connect(&c, f->s.fx.sock);
	vu_client_handshake(&c);
	assert_int_equal(vu_client_blk(&c, VIRTIO_BLK_T_OUT, 3, out, sizeof(out)), VIRTIO_BLK_S_OK);
	assert_int_equal(vu_client_vring_base(&c), 1);
	/* Stopped: its kick fd is gone, a new one restarts it where it was. */
	vu_client_state(&c, VHOST_USER_SET_VRING_BASE, 0, 1);
	close(c.kick);
	vu_client_vring_fd(&c, VHOST_USER_SET_VRING_KICK, &c.kick);
	memset(in, 0, sizeof(in));
	assert_int_equal(vu_client_blk(&c, VIRTIO_BLK_T_IN, 3, in, sizeof(in)), VIRTIO_BLK_S_OK);
	assert_memory_equal(in, out, sizeof(in));
	assert_int_equal(vu_client_vring_base(&c), 2);
	vu_client_close(&c);
	c_good(&f->s);
}

/* D-VU-08: a front-end without protocol features: rings run without SET_VRING_ENABLE. */
static void test_without_protocol_features(void **state)
{
	struct fixture *f = *state;
	uint64_t v = VIRTIO_BIT(VIRTIO_F_VERSION_1), idx = 0;
	struct vhost_user_memory m = {.nregions = 1};
	struct vhost_user_vring_addr a = {.index = 0};
	struct vhost_user_vring_state st = {.index = 0, .num = VU_QSZ};
	uint8_t buf[512] = {9};
	struct vu_client c;

	vu_client_connect(&c, f->s.fx.sock);
	assert_int_equal(vu_client_send(&c, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0, false), 0);
	assert_int_equal(vu_client_send(&c, VHOST_USER_SET_FEATURES, &v, 8, NULL, 0, false), 0);
	m.regions[0] = vu_client_region(&c);
	assert_int_equal(vu_client_send(&c, VHOST_USER_SET_MEM_TABLE, &m, vu_memtable_size(1),
					&c.arena.memfd, 1, false),
			 0);
	vu_client_ring(&c);
	assert_int_equal(vu_client_send(&c, VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0, false), 0);
	a.desc_user_addr = vu_client_user_addr(c.desc);
	a.avail_user_addr = vu_client_user_addr(c.avail);
	a.used_user_addr = vu_client_user_addr(c.used);
	assert_int_equal(
		vu_client_send(&c, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0, false), 0);
	c.call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c.kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_int_equal(vu_client_send(&c, VHOST_USER_SET_VRING_CALL, &idx, 8, &c.call, 1, false),
			 0);
	assert_int_equal(vu_client_send(&c, VHOST_USER_SET_VRING_KICK, &idx, 8, &c.kick, 1, false),
			 0);
	/* A reply orders everything above before our first kick. */
	assert_true(vu_client_get_u64(&c, VHOST_USER_GET_FEATURES) != 0);
	assert_int_equal(vu_client_blk(&c, VIRTIO_BLK_T_OUT, 1, buf, sizeof(buf)), VIRTIO_BLK_S_OK);
	buf[0] = 0;
	assert_int_equal(vu_client_blk(&c, VIRTIO_BLK_T_IN, 1, buf, sizeof(buf)), VIRTIO_BLK_S_OK);
	assert_int_equal(buf[0], 9);
	vu_client_close(&c);
	c_good(&f->s);
}

/* D-VU-09: a new memory table while the ring runs (memory hot-plug), restarted over it. */
static void test_mem_table_while_running(void **state)
{
	struct fixture *f = *state;
	uint8_t out[512], in[512];
	struct vu_client c;

	memset(out, 0xc3, sizeof(out));
	vu_client_connect(&c, f->s.fx.sock);
	vu_client_handshake(&c);
	assert_int_equal(vu_client_blk(&c, VIRTIO_BLK_T_OUT, 5, out, sizeof(out)), VIRTIO_BLK_S_OK);
	vu_client_mem(&c);
	memset(in, 0, sizeof(in));
	assert_int_equal(vu_client_blk(&c, VIRTIO_BLK_T_IN, 5, in, sizeof(in)), VIRTIO_BLK_S_OK);
	assert_memory_equal(in, out, sizeof(in));
	assert_int_equal(vu_client_vring_base(&c), 2);
	vu_client_close(&c);
	c_good(&f->s);
}

static void test_reset_device_then_again(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[512] = {1, 2, 3};
	struct vu_client c;
	uint64_t pf = VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) |
		      VIRTIO_BIT(VHOST_USER_PROTOCOL_F_RESET_DEVICE);

	vu_client_connect(&c, f->s.fx.sock);
	vu_client_handshake(&c);
	assert_int_equal(vu_client_blk(&c, VIRTIO_BLK_T_OUT, 0, buf, sizeof(buf)), VIRTIO_BLK_S_OK);
	assert_int_equal(
		vu_client_send(&c, VHOST_USER_SET_PROTOCOL_FEATURES, &pf, 8, NULL, 0, false), 0);
	assert_int_equal(vu_client_ack(&c, VHOST_USER_RESET_DEVICE, NULL, 0, NULL, 0), 0);
	/* Same connection, fresh device: a second ring over the same memory (still mapped). */
	close(c.kick);
	close(c.call);
	close(c.err);
	c.kick = c.call = c.err = -1;
	virtio_dma_arena_destroy(&c.arena);
	assert_int_equal(virtio_dma_arena_init(&c.arena, VU_ARENA_BYTES, VU_GUEST_BASE), 0);
	vu_client_handshake(&c);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(vu_client_blk(&c, VIRTIO_BLK_T_IN, 0, buf, sizeof(buf)), VIRTIO_BLK_S_OK);
	assert_int_equal(buf[2], 3);
	vu_client_close(&c);
	c_good(&f->s);
}

/* D-VU-29: GET_CONFIG answers the size asked for, or an empty payload when out of range. */
static void test_config_and_reply_ack(void **state)
{
	struct fixture *f = *state;
	struct vhost_user_config cfg = {.offset = 0, .size = 8, .flags = 0};
	struct vhost_user_msg m;
	struct vu_client c;

	hostile(&f->s, &c, true);
	/* D-VU-31: capacity is read-only: refused with a failure status, the connection stays. */
	assert_true(vu_client_ack(&c, VHOST_USER_SET_CONFIG, &cfg, 12 + 8, NULL, 0) != 0);
	cfg.flags = 7;
	assert_true(vu_client_ack(&c, VHOST_USER_SET_CONFIG, &cfg, 12 + 8, NULL, 0) != 0);
	/* Out of range: an empty reply. Past the model's config but in range: zeros. */
	cfg = (struct vhost_user_config){.offset = 250, .size = 10};
	assert_int_equal(vu_client_send(&c, VHOST_USER_GET_CONFIG, &cfg, 12 + 10, NULL, 0, false),
			 0);
	vu_client_reply(&c, VHOST_USER_GET_CONFIG, &m);
	assert_int_equal(m.hdr.size, 0);
	cfg = (struct vhost_user_config){.offset = 200, .size = 8};
	assert_int_equal(vu_client_send(&c, VHOST_USER_GET_CONFIG, &cfg, 12 + 8, NULL, 0, false),
			 0);
	vu_client_reply(&c, VHOST_USER_GET_CONFIG, &m);
	assert_int_equal(m.hdr.size, 12 + 8);
	assert_int_equal(m.payload.config.region[0], 0);
	assert_int_equal(vu_client_get_u64(&c, VHOST_USER_GET_MAX_MEM_SLOTS), 32);
	/* REM_MEM_REG of a region that is not there. */
	assert_true(vu_client_send(&c, VHOST_USER_REM_MEM_REG, (uint8_t[40]){0}, 40, NULL, 0,
				   true) == 0);
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	c_good(&f->s);
}

static void test_add_rem_mem_reg(void **state)
{
	struct fixture *f = *state;
	struct vhost_user_mem_single one = {.padding = 0};
	struct vu_client c;
	int kick;

	hostile(&f->s, &c, true);
	one.region = vu_client_region(&c);
	assert_int_equal(
		vu_client_ack(&c, VHOST_USER_ADD_MEM_REG, &one, sizeof(one), &c.arena.memfd, 1), 0);
	/*
	 * The very same region again is counted, not refused: QEMU's multi-queue
	 * vhost-user-net adds it once per queue pair. It goes with the last remove.
	 */
	assert_int_equal(
		vu_client_ack(&c, VHOST_USER_ADD_MEM_REG, &one, sizeof(one), &c.arena.memfd, 1), 0);
	assert_int_equal(vu_client_ack(&c, VHOST_USER_REM_MEM_REG, &one, sizeof(one), NULL, 0), 0);
	assert_int_equal(vu_client_ack(&c, VHOST_USER_REM_MEM_REG, &one, sizeof(one), NULL, 0), 0);
	assert_true(vu_client_send(&c, VHOST_USER_REM_MEM_REG, &one, sizeof(one), NULL, 0, true) ==
		    0);
	vu_client_expect_closed(&c); /* a third remove names no region */
	vu_client_close(&c);
	/* A region that only overlaps a mapped one is refused. */
	hostile(&f->s, &c, true);
	one.region = vu_client_region(&c);
	assert_int_equal(
		vu_client_ack(&c, VHOST_USER_ADD_MEM_REG, &one, sizeof(one), &c.arena.memfd, 1), 0);
	one.region.size /= 2;
	assert_int_equal(vu_client_send(&c, VHOST_USER_ADD_MEM_REG, &one, sizeof(one),
					&c.arena.memfd, 1, true),
			 0);
	vu_client_expect_closed(&c);
	vu_client_close(&c);
	/* Add, remove with a stray fd (closed unused), add again. */
	hostile(&f->s, &c, true);
	one.region = vu_client_region(&c);
	kick = eventfd(0, EFD_CLOEXEC);
	assert_int_equal(
		vu_client_ack(&c, VHOST_USER_ADD_MEM_REG, &one, sizeof(one), &c.arena.memfd, 1), 0);
	assert_int_equal(vu_client_ack(&c, VHOST_USER_REM_MEM_REG, &one, sizeof(one), &kick, 1), 0);
	assert_int_equal(
		vu_client_ack(&c, VHOST_USER_ADD_MEM_REG, &one, sizeof(one), &c.arena.memfd, 1), 0);
	close(kick);
	vu_client_close(&c);
	c_good(&f->s);
}

static void test_stale_and_live_socket(void **state)
{
	struct fixture *f = *state;
	struct vhost_user_backend_options vo = {.socket_path = f->s.fx.sock};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct vhost_user_backend *b2;
	struct event_loop loop;
	char path[160];
	int fd;

	/* The path belongs to a live server. */
	assert_int_equal(vireo_event_loop_init(&loop), 0);
	assert_int_equal(
		vireo_vhost_user_backend_new(&b2, vireo_blk_device_vdev(f->s.fx.blk), &loop, &vo),
		-EADDRINUSE);
	/* A stale socket file is replaced; a regular file is not. */
	snprintf(path, sizeof(path), "%s/stale", f->s.fx.dir);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	vo.socket_path = path;
	/* A second device: the one the server serves belongs to its thread. */
	{
		struct blk_device *blk;
		struct blk_device_options bo = {.path = f->s.fx.image};

		assert_int_equal(vireo_blk_device_new(&blk, &bo), 0);
		assert_int_equal(
			vireo_vhost_user_backend_new(&b2, vireo_blk_device_vdev(blk), &loop, &vo),
			0);
		vireo_vhost_user_backend_free(b2);
		assert_int_equal(access(path, F_OK), -1);
		fd = open(path, O_CREAT | O_WRONLY, 0600);
		close(fd);
		assert_int_equal(
			vireo_vhost_user_backend_new(&b2, vireo_blk_device_vdev(blk), &loop, &vo),
			-EEXIST);
		unlink(path);
		vireo_blk_device_free(blk);
	}
	vireo_event_loop_destroy(&loop);
	c_good(&f->s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_and_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_fd_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_regions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_outside_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_queue_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kick_before_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_descriptor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_and_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_without_protocol_features, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mem_table_while_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_device_then_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_and_reply_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_rem_mem_reg, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_and_live_socket, setup, teardown),
	};

	/* VU_TEST=test_name runs one test (debugging). */
	if (getenv("VU_TEST"))
		cmocka_set_test_filter(getenv("VU_TEST"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
