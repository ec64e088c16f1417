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

#include <dirent.h>
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

#include "tests/lib/fd_count.h"
#include "tests/lib/vu_bench.h"

/* ---- fixtures ---- */

struct fixture {
	struct server s;
	unsigned int fds_before;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->fds_before = fd_count_open();
	server_start(&f->s, false);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	server_stop(&f->s);
	if (getenv("VU_FDS")) {
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "ls -l /proc/%d/fd >&2", (int)getpid());
		(void)system(cmd);
	}
	/* Every fd a front-end sent (memfds, eventfds) and every socket is closed again. */
	assert_int_equal(fd_count_open(), f->fds_before);
	free(f);
	return 0;
}

/* A hostile client connected and, for most cases, already negotiated. */
static void hostile(struct server *s, struct client *c, bool negotiate)
{
	client_connect(c, s);
	if (negotiate)
		c_negotiate(c, VIRTIO_BIT(VIRTIO_F_VERSION_1) |
				       VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES));
}

static void send_raw(struct client *c, const void *buf, size_t len)
{
	assert_int_equal(send(c->sock, buf, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* ---- tests ---- */

static void test_good_clients(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	assert_int_equal(stat(f->s.sock, &st), 0);
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
	struct client c;

	hostile(&f->s, &c, false);
	send_raw(&c, &h, sizeof(h));
	send_raw(&c, "abc", 3);
	shutdown(c.sock, SHUT_WR);
	c_expect_closed(&c);
	client_close(&c);
	/* Half a header. */
	hostile(&f->s, &c, true);
	send_raw(&c, &h, 5);
	shutdown(c.sock, SHUT_WR);
	c_expect_closed(&c);
	client_close(&c);
	c_good(&f->s);
}

static void test_oversized_and_unknown(void **state)
{
	struct fixture *f = *state;
	struct vhost_user_header big = {VHOST_USER_SET_FEATURES, VHOST_USER_VERSION, 1u << 20};
	struct vhost_user_header longer = {VHOST_USER_SET_FEATURES, VHOST_USER_VERSION, 16};
	uint8_t zero[16] = {0};
	struct client c;

	hostile(&f->s, &c, true);
	send_raw(&c, &big, sizeof(big));
	c_expect_closed(&c);
	client_close(&c);
	hostile(&f->s, &c, true);
	send_raw(&c, &longer, sizeof(longer));
	send_raw(&c, zero, sizeof(zero));
	c_expect_closed(&c);
	client_close(&c);
	hostile(&f->s, &c, false);
	assert_int_equal(c_send(&c, 77, NULL, 0, NULL, 0, false), 0);
	c_expect_closed(&c);
	client_close(&c);
	hostile(&f->s, &c, true);
	assert_int_equal(c_send(&c, 6 /* SET_LOG_BASE */, zero, 8, NULL, 0, true), 0);
	c_expect_closed(&c);
	client_close(&c);
	c_good(&f->s);
}

static void test_wrong_fd_counts(void **state)
{
	struct fixture *f = *state;
	struct vhost_user_memory m = {.nregions = 2};
	int efd = eventfd(0, EFD_CLOEXEC), two[2] = {efd, efd};
	uint64_t idx = 0;
	struct client c;

	hostile(&f->s, &c, true);
	assert_int_equal(c_send(&c, VHOST_USER_SET_VRING_KICK, &idx, 8, NULL, 0, true), 0);
	c_expect_closed(&c);
	client_close(&c);
	hostile(&f->s, &c, true);
	m.regions[0] = arena_region(&c);
	m.regions[1] = arena_region(&c);
	assert_int_equal(
		c_send(&c, VHOST_USER_SET_MEM_TABLE, &m, memtable_size(2), &c.arena.memfd, 1, true),
		0);
	c_expect_closed(&c);
	client_close(&c);
	hostile(&f->s, &c, false);
	assert_int_equal(c_send(&c, VHOST_USER_GET_FEATURES, NULL, 0, &efd, 1, false), 0);
	c_expect_closed(&c);
	client_close(&c);
	hostile(&f->s, &c, true);
	assert_int_equal(c_send(&c, VHOST_USER_SET_VRING_CALL, &idx, 8, two, 2, true), 0);
	c_expect_closed(&c);
	client_close(&c);
	/* A kick "fd" that is not an eventfd. */
	hostile(&f->s, &c, true);
	assert_int_equal(c_send(&c, VHOST_USER_SET_VRING_KICK, &idx, 8, &c.arena.memfd, 1, true),
			 0);
	c_expect_closed(&c);
	client_close(&c);
	close(efd);
	c_good(&f->s);
}

/* SET_MEM_TABLE with @m's regions, one memfd each; expect the connection closed. */
static void bad_table(struct server *s, struct vhost_user_memory *m)
{
	int fds[VHOST_USER_MEM_REGIONS_MAX];
	struct client c;
	unsigned int i;

	hostile(s, &c, true);
	for (i = 0; i < m->nregions; i++)
		fds[i] = c.arena.memfd;
	assert_int_equal(c_send(&c, VHOST_USER_SET_MEM_TABLE, m, memtable_size(m->nregions), fds,
				m->nregions, true),
			 0);
	c_expect_closed(&c);
	client_close(&c);
}

static void test_bad_regions(void **state)
{
	struct fixture *f = *state;
	struct vhost_user_mem_region base = {GUEST_BASE, ARENA_BYTES, USER_BASE, 0};
	struct vhost_user_memory m = {.nregions = 2};

	/* Overlapping in guest space. */
	m.regions[0] = base;
	m.regions[0].size = ARENA_BYTES / 2;
	m.regions[1] = m.regions[0];
	m.regions[1].guest_addr += 4096;
	m.regions[1].user_addr += ARENA_BYTES / 2;
	bad_table(&f->s, &m);
	/* Overlapping in the front-end's address space. */
	m.regions[1] = m.regions[0];
	m.regions[1].guest_addr += ARENA_BYTES / 2;
	m.regions[1].user_addr += 4096;
	bad_table(&f->s, &m);
	m.nregions = 1;
	/* Beyond the end of the file, by size and by offset. */
	m.regions[0] = base;
	m.regions[0].size = 2 * ARENA_BYTES;
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
	struct client c;
	int kick;

	/* A ring address outside every region. */
	hostile(&f->s, &c, true);
	c_mem(&c);
	c_ring(&c);
	a.desc_user_addr = USER_BASE + 2 * ARENA_BYTES;
	a.avail_user_addr = to_user(c.avail);
	a.used_user_addr = to_user(c.used);
	assert_int_equal(c_send(&c, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0, true), 0);
	c_expect_closed(&c);
	client_close(&c);
	/* A guest address where a user address belongs. */
	hostile(&f->s, &c, true);
	c_mem(&c);
	c_ring(&c);
	a.desc_user_addr = c.desc;
	assert_int_equal(c_send(&c, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0, true), 0);
	c_expect_closed(&c);
	client_close(&c);
	/* Starts inside, ends outside: refused when the ring starts. */
	hostile(&f->s, &c, true);
	c_mem(&c);
	c_ring(&c);
	a.desc_user_addr = USER_BASE + ARENA_BYTES - 16;
	assert_int_equal(c_ack(&c, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 0);
	kick = eventfd(0, EFD_CLOEXEC);
	assert_int_equal(c_send(&c, VHOST_USER_SET_VRING_KICK, &idx, 8, &kick, 1, false), 0);
	close(kick);
	assert_int_equal(c_send(&c, VHOST_USER_SET_VRING_ENABLE,
				&(struct vhost_user_vring_state){0, 1}, 8, NULL, 0, true),
			 0);
	c_expect_closed(&c);
	client_close(&c);
	c_good(&f->s);
}

static void test_bad_queue_values(void **state)
{
	struct fixture *f = *state;
	struct vhost_user_vring_state st;
	uint64_t v;
	struct client c;
	int kick = eventfd(0, EFD_CLOEXEC);

	hostile(&f->s, &c, true);
	st = (struct vhost_user_vring_state){.index = 1, .num = QSZ};
	assert_int_equal(c_send(&c, VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0, true), 0);
	c_expect_closed(&c);
	client_close(&c);
	hostile(&f->s, &c, true);
	v = 200;
	assert_int_equal(c_send(&c, VHOST_USER_SET_VRING_KICK, &v, 8, &kick, 1, true), 0);
	c_expect_closed(&c);
	client_close(&c);
	hostile(&f->s, &c, true);
	st = (struct vhost_user_vring_state){.index = 0xffffffffu, .num = 0};
	assert_int_equal(c_send(&c, VHOST_USER_GET_VRING_BASE, &st, 8, NULL, 0, false), 0);
	c_expect_closed(&c);
	client_close(&c);
	/* Ring sizes: not a power of two, above the maximum. */
	hostile(&f->s, &c, true);
	st = (struct vhost_user_vring_state){.index = 0, .num = 3};
	assert_int_equal(c_send(&c, VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0, true), 0);
	c_expect_closed(&c);
	client_close(&c);
	hostile(&f->s, &c, true);
	st = (struct vhost_user_vring_state){.index = 0, .num = 65536};
	assert_int_equal(c_send(&c, VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0, true), 0);
	c_expect_closed(&c);
	client_close(&c);
	/* Features never offered; protocol features never offered. */
	hostile(&f->s, &c, false);
	v = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(50);
	assert_int_equal(c_send(&c, VHOST_USER_SET_FEATURES, &v, 8, NULL, 0, false), 0);
	c_expect_closed(&c);
	client_close(&c);
	hostile(&f->s, &c, false);
	v = VIRTIO_BIT(14); /* INBAND_NOTIFICATIONS */
	assert_int_equal(c_send(&c, VHOST_USER_SET_PROTOCOL_FEATURES, &v, 8, NULL, 0, false), 0);
	c_expect_closed(&c);
	client_close(&c);
	close(kick);
	c_good(&f->s);
}

static void test_kick_before_ring(void **state)
{
	struct fixture *f = *state;
	uint64_t v = VIRTIO_BIT(VIRTIO_F_VERSION_1), idx = 0;
	struct client c;
	int kick = eventfd(0, EFD_CLOEXEC);

	/* Kick fd first, nothing else: the ring cannot start, the server lives on. */
	hostile(&f->s, &c, false);
	assert_int_equal(c_send(&c, VHOST_USER_SET_VRING_KICK, &idx, 8, &kick, 1, false), 0);
	assert_int_equal(eventfd_signal_fd(kick), 0);
	assert_true(c_get_u64(&c, VHOST_USER_GET_FEATURES) != 0);
	/* Without protocol features every ring is enabled at SET_FEATURES: still no addresses. */
	assert_int_equal(c_send(&c, VHOST_USER_SET_FEATURES, &v, 8, NULL, 0, false), 0);
	assert_int_equal(eventfd_signal_fd(kick), 0);
	assert_true(c_get_u64(&c, VHOST_USER_GET_FEATURES) != 0);
	client_close(&c);
	close(kick);
	c_good(&f->s);
}

static void test_bad_descriptor(void **state)
{
	struct fixture *f = *state;
	struct vhost_user_vring_state st = {.index = 0};
	struct virtio_sg sg[2] = {{GUEST_BASE + 2 * ARENA_BYTES, 16}, {GUEST_BASE - 4096, 1}};
	struct vhost_user_msg m;
	struct pollfd p;
	struct client c;
	int token;

	hostile(&f->s, &c, false);
	c_handshake(&c);
	/* A request whose buffers lie outside the memory table. */
	assert_int_equal(virtqueue_add_sgs(&c.vq, sg, 1, 1, &token), 0);
	virtqueue_kick(&c.vq);
	/* The device NEEDS_RESET and says so on the error eventfd. */
	p = (struct pollfd){.fd = c.err, .events = POLLIN};
	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	assert_true(eventfd_drain_fd(c.err) >= 1);
	/* The connection still answers; nothing was used. */
	assert_true(c_get_u64(&c, VHOST_USER_GET_FEATURES) != 0);
	assert_int_equal(c_send(&c, VHOST_USER_GET_VRING_BASE, &st, sizeof(st), NULL, 0, false), 0);
	c_reply(&c, VHOST_USER_GET_VRING_BASE, &m);
	/* The broken chain was not consumed. */
	assert_int_equal(m.payload.state.num, 0);
	assert_false(virtqueue_more_used(&c.vq));
	client_close(&c);
	c_good(&f->s);
}

static uint32_t c_vring_base(struct client *c)
{
	struct vhost_user_vring_state st = {.index = 0};
	struct vhost_user_msg m;

	assert_int_equal(c_send(c, VHOST_USER_GET_VRING_BASE, &st, sizeof(st), NULL, 0, false), 0);
	c_reply(c, VHOST_USER_GET_VRING_BASE, &m);
	assert_int_equal(m.payload.state.index, 0);
	return m.payload.state.num;
}

/* QEMU's stop/start (VM pause, guest reboot): GET_VRING_BASE, then the ring again. */
static void test_stop_and_resume(void **state)
{
	struct fixture *f = *state;
	uint8_t out[512], in[512];
	struct client c;

	memset(out, 0x5a, sizeof(out));
	client_connect(&c, &f->s);
	c_handshake(&c);
	assert_int_equal(c_blk(&c, VIRTIO_BLK_T_OUT, 3, out, sizeof(out)), VIRTIO_BLK_S_OK);
	assert_int_equal(c_vring_base(&c), 1);
	/* Stopped: its kick fd is gone, a new one restarts it where it was. */
	c_state(&c, VHOST_USER_SET_VRING_BASE, 0, 1);
	close(c.kick);
	c_vring_fd(&c, VHOST_USER_SET_VRING_KICK, &c.kick);
	memset(in, 0, sizeof(in));
	assert_int_equal(c_blk(&c, VIRTIO_BLK_T_IN, 3, in, sizeof(in)), VIRTIO_BLK_S_OK);
	assert_memory_equal(in, out, sizeof(in));
	assert_int_equal(c_vring_base(&c), 2);
	client_close(&c);
	c_good(&f->s);
}

/* A front-end that never accepts protocol features: rings run without SET_VRING_ENABLE. */
static void test_without_protocol_features(void **state)
{
	struct fixture *f = *state;
	uint64_t v = VIRTIO_BIT(VIRTIO_F_VERSION_1), idx = 0;
	struct vhost_user_memory m = {.nregions = 1};
	struct vhost_user_vring_addr a = {.index = 0};
	struct vhost_user_vring_state st = {.index = 0, .num = QSZ};
	uint8_t buf[512] = {9};
	struct client c;

	client_connect(&c, &f->s);
	assert_int_equal(c_send(&c, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0, false), 0);
	assert_int_equal(c_send(&c, VHOST_USER_SET_FEATURES, &v, 8, NULL, 0, false), 0);
	m.regions[0] = arena_region(&c);
	assert_int_equal(c_send(&c, VHOST_USER_SET_MEM_TABLE, &m, memtable_size(1), &c.arena.memfd,
				1, false),
			 0);
	c_ring(&c);
	assert_int_equal(c_send(&c, VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0, false), 0);
	a.desc_user_addr = to_user(c.desc);
	a.avail_user_addr = to_user(c.avail);
	a.used_user_addr = to_user(c.used);
	assert_int_equal(c_send(&c, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0, false), 0);
	c.call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c.kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_int_equal(c_send(&c, VHOST_USER_SET_VRING_CALL, &idx, 8, &c.call, 1, false), 0);
	assert_int_equal(c_send(&c, VHOST_USER_SET_VRING_KICK, &idx, 8, &c.kick, 1, false), 0);
	/* A reply orders everything above before our first kick. */
	assert_true(c_get_u64(&c, VHOST_USER_GET_FEATURES) != 0);
	assert_int_equal(c_blk(&c, VIRTIO_BLK_T_OUT, 1, buf, sizeof(buf)), VIRTIO_BLK_S_OK);
	buf[0] = 0;
	assert_int_equal(c_blk(&c, VIRTIO_BLK_T_IN, 1, buf, sizeof(buf)), VIRTIO_BLK_S_OK);
	assert_int_equal(buf[0], 9);
	client_close(&c);
	c_good(&f->s);
}

/* A new memory table while the ring runs (memory hot-plug): the ring is restarted over it. */
static void test_mem_table_while_running(void **state)
{
	struct fixture *f = *state;
	uint8_t out[512], in[512];
	struct client c;

	memset(out, 0xc3, sizeof(out));
	client_connect(&c, &f->s);
	c_handshake(&c);
	assert_int_equal(c_blk(&c, VIRTIO_BLK_T_OUT, 5, out, sizeof(out)), VIRTIO_BLK_S_OK);
	c_mem(&c);
	memset(in, 0, sizeof(in));
	assert_int_equal(c_blk(&c, VIRTIO_BLK_T_IN, 5, in, sizeof(in)), VIRTIO_BLK_S_OK);
	assert_memory_equal(in, out, sizeof(in));
	assert_int_equal(c_vring_base(&c), 2);
	client_close(&c);
	c_good(&f->s);
}

static void test_reset_device_then_again(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[512] = {1, 2, 3};
	struct client c;
	uint64_t pf = VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) |
		      VIRTIO_BIT(VHOST_USER_PROTOCOL_F_RESET_DEVICE);

	client_connect(&c, &f->s);
	c_handshake(&c);
	assert_int_equal(c_blk(&c, VIRTIO_BLK_T_OUT, 0, buf, sizeof(buf)), VIRTIO_BLK_S_OK);
	assert_int_equal(c_send(&c, VHOST_USER_SET_PROTOCOL_FEATURES, &pf, 8, NULL, 0, false), 0);
	assert_int_equal(c_ack(&c, VHOST_USER_RESET_DEVICE, NULL, 0, NULL, 0), 0);
	/* Same connection, fresh device: a second ring over the same memory (still mapped). */
	close(c.kick);
	close(c.call);
	close(c.err);
	c.kick = c.call = c.err = -1;
	virtio_dma_arena_destroy(&c.arena);
	assert_int_equal(virtio_dma_arena_init(&c.arena, ARENA_BYTES, GUEST_BASE), 0);
	c_handshake(&c);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(c_blk(&c, VIRTIO_BLK_T_IN, 0, buf, sizeof(buf)), VIRTIO_BLK_S_OK);
	assert_int_equal(buf[2], 3);
	client_close(&c);
	c_good(&f->s);
}

static void test_config_and_reply_ack(void **state)
{
	struct fixture *f = *state;
	struct vhost_user_config cfg = {.offset = 0, .size = 8, .flags = 0};
	struct vhost_user_msg m;
	struct client c;

	hostile(&f->s, &c, true);
	/* capacity is read-only: refused with a failure status, the connection stays. */
	assert_true(c_ack(&c, VHOST_USER_SET_CONFIG, &cfg, 12 + 8, NULL, 0) != 0);
	cfg.flags = 7;
	assert_true(c_ack(&c, VHOST_USER_SET_CONFIG, &cfg, 12 + 8, NULL, 0) != 0);
	/* Out of range: an empty reply. Past the model's config but in range: zeros. */
	cfg = (struct vhost_user_config){.offset = 250, .size = 10};
	assert_int_equal(c_send(&c, VHOST_USER_GET_CONFIG, &cfg, 12 + 10, NULL, 0, false), 0);
	c_reply(&c, VHOST_USER_GET_CONFIG, &m);
	assert_int_equal(m.hdr.size, 0);
	cfg = (struct vhost_user_config){.offset = 200, .size = 8};
	assert_int_equal(c_send(&c, VHOST_USER_GET_CONFIG, &cfg, 12 + 8, NULL, 0, false), 0);
	c_reply(&c, VHOST_USER_GET_CONFIG, &m);
	assert_int_equal(m.hdr.size, 12 + 8);
	assert_int_equal(m.payload.config.region[0], 0);
	assert_int_equal(c_get_u64(&c, VHOST_USER_GET_MAX_MEM_SLOTS), 32);
	/* REM_MEM_REG of a region that is not there. */
	assert_true(c_send(&c, VHOST_USER_REM_MEM_REG, (uint8_t[40]){0}, 40, NULL, 0, true) == 0);
	c_expect_closed(&c);
	client_close(&c);
	c_good(&f->s);
}

static void test_add_rem_mem_reg(void **state)
{
	struct fixture *f = *state;
	struct vhost_user_mem_single one = {.padding = 0};
	struct client c;
	int kick;

	hostile(&f->s, &c, true);
	one.region = arena_region(&c);
	assert_int_equal(c_ack(&c, VHOST_USER_ADD_MEM_REG, &one, sizeof(one), &c.arena.memfd, 1),
			 0);
	/*
	 * The very same region again is counted, not refused: QEMU's multi-queue
	 * vhost-user-net adds it once per queue pair. It goes with the last remove.
	 */
	assert_int_equal(c_ack(&c, VHOST_USER_ADD_MEM_REG, &one, sizeof(one), &c.arena.memfd, 1),
			 0);
	assert_int_equal(c_ack(&c, VHOST_USER_REM_MEM_REG, &one, sizeof(one), NULL, 0), 0);
	assert_int_equal(c_ack(&c, VHOST_USER_REM_MEM_REG, &one, sizeof(one), NULL, 0), 0);
	assert_true(c_send(&c, VHOST_USER_REM_MEM_REG, &one, sizeof(one), NULL, 0, true) == 0);
	c_expect_closed(&c); /* a third remove names no region */
	client_close(&c);
	/* A region that only overlaps a mapped one is refused. */
	hostile(&f->s, &c, true);
	one.region = arena_region(&c);
	assert_int_equal(c_ack(&c, VHOST_USER_ADD_MEM_REG, &one, sizeof(one), &c.arena.memfd, 1),
			 0);
	one.region.size /= 2;
	assert_int_equal(
		c_send(&c, VHOST_USER_ADD_MEM_REG, &one, sizeof(one), &c.arena.memfd, 1, true), 0);
	c_expect_closed(&c);
	client_close(&c);
	/* Add, remove with a stray fd (closed unused), add again. */
	hostile(&f->s, &c, true);
	one.region = arena_region(&c);
	kick = eventfd(0, EFD_CLOEXEC);
	assert_int_equal(c_ack(&c, VHOST_USER_ADD_MEM_REG, &one, sizeof(one), &c.arena.memfd, 1),
			 0);
	assert_int_equal(c_ack(&c, VHOST_USER_REM_MEM_REG, &one, sizeof(one), &kick, 1), 0);
	assert_int_equal(c_ack(&c, VHOST_USER_ADD_MEM_REG, &one, sizeof(one), &c.arena.memfd, 1),
			 0);
	close(kick);
	client_close(&c);
	c_good(&f->s);
}

static void test_stale_and_live_socket(void **state)
{
	struct fixture *f = *state;
	struct vhost_user_backend_options vo = {.socket_path = f->s.sock};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct vhost_user_backend *b2;
	struct event_loop loop;
	char path[160];
	int fd;

	/* The path belongs to a live server. */
	assert_int_equal(event_loop_init(&loop), 0);
	assert_int_equal(vhost_user_backend_new(&b2, blk_device_vdev(f->s.blk), &loop, &vo),
			 -EADDRINUSE);
	/* A stale socket file is replaced; a regular file is not. */
	snprintf(path, sizeof(path), "%s/stale", f->s.dir);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	vo.socket_path = path;
	/* A second device: the one the server serves belongs to its thread. */
	{
		struct blk_device *blk;
		struct blk_device_options bo = {.path = f->s.image};

		assert_int_equal(blk_device_new(&blk, &bo), 0);
		assert_int_equal(vhost_user_backend_new(&b2, blk_device_vdev(blk), &loop, &vo), 0);
		vhost_user_backend_free(b2);
		assert_int_equal(access(path, F_OK), -1);
		fd = open(path, O_CREAT | O_WRONLY, 0600);
		close(fd);
		assert_int_equal(vhost_user_backend_new(&b2, blk_device_vdev(blk), &loop, &vo),
				 -EEXIST);
		unlink(path);
		blk_device_free(blk);
	}
	event_loop_destroy(&loop);
	c_good(&f->s);
}

/* ---- multi-queue: one thread per running queue ---- */

static int setup_mq(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->fds_before = fd_count_open();
	f->s.queues = 2;
	server_start(&f->s, false);
	*state = f;
	return 0;
}

/* Threads of this process (/proc/self/task). */
static unsigned int count_tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	unsigned int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* One more ring of the same front-end (queue @index), in the client's arena. */
struct cring {
	struct client *c;
	uint32_t index;
	struct virtqueue vq;
	struct vring_desc_extra extra[QSZ];
	uint64_t desc, avail, used;
	int kick, call;
};

static bool cring_kick(struct virtqueue *vq)
{
	struct cring *r = vq->priv;

	return eventfd_signal_fd(r->kick) == 0;
}

static void cring_fd(struct cring *r, uint32_t req, int *fd)
{
	uint64_t idx = r->index;

	*fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(*fd >= 0);
	assert_int_equal(c_ack(r->c, req, &idx, 8, fd, 1), 0);
}

static void cring_start(struct cring *r, struct client *c, uint32_t index)
{
	struct vring_split_drv_config cfg = {.num = QSZ, .extra = r->extra};
	struct vhost_user_vring_addr a = {.index = index};

	r->c = c;
	r->index = index;
	cfg.desc = virtio_dma_alloc(&c->arena, 16 * QSZ, 16, &r->desc);
	cfg.avail = virtio_dma_alloc(&c->arena, 6 + 2 * QSZ, 2, &r->avail);
	cfg.used = virtio_dma_alloc(&c->arena, 6 + 8 * QSZ, 4, &r->used);
	assert_int_equal(virtqueue_split_init(&r->vq, &cfg), 0);
	r->vq.notify = cring_kick;
	r->vq.priv = r;
	r->vq.name = "vu-test-mq";
	c_state(c, VHOST_USER_SET_VRING_NUM, index, QSZ);
	c_state(c, VHOST_USER_SET_VRING_BASE, index, 0);
	a.desc_user_addr = to_user(r->desc);
	a.avail_user_addr = to_user(r->avail);
	a.used_user_addr = to_user(r->used);
	assert_int_equal(c_ack(c, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 0);
	cring_fd(r, VHOST_USER_SET_VRING_KICK, &r->kick);
	cring_fd(r, VHOST_USER_SET_VRING_CALL, &r->call);
	c_state(c, VHOST_USER_SET_VRING_ENABLE, index, 1);
}

/* Queue a 4 KiB read of @sector on @r (no kick). */
static struct blk_req *cring_read(struct cring *r, uint64_t sector)
{
	struct virtio_sg sg[3];
	struct blk_req *q;
	uint64_t ga;

	q = virtio_dma_alloc(&r->c->arena, sizeof(*q), 16, &ga);
	assert_non_null(q);
	q->hdr.type = VIRTIO_BLK_T_IN;
	q->hdr.sector = sector;
	q->status = 0xff;
	sg[0] = (struct virtio_sg){ga + offsetof(struct blk_req, hdr), sizeof(q->hdr)};
	sg[1] = (struct virtio_sg){ga + offsetof(struct blk_req, data), sizeof(q->data)};
	sg[2] = (struct virtio_sg){ga + offsetof(struct blk_req, status), 1};
	assert_int_equal(virtqueue_add_sgs(&r->vq, sg, 1, 2, q), 0);
	return q;
}

/* Wait until @n requests of @r are used, each with status OK. */
static void cring_wait(struct cring *r, unsigned int n)
{
	struct pollfd p = {.fd = r->call, .events = POLLIN};
	struct blk_req *q;
	uint32_t len;

	while (n > 0) {
		q = virtqueue_get_buf(&r->vq, &len);
		if (!q) {
			assert_false(virtqueue_is_broken(&r->vq));
			assert_int_equal(poll(&p, 1, WAIT_MS), 1);
			eventfd_drain_fd(r->call);
			continue;
		}
		assert_int_equal(q->status, VIRTIO_BLK_S_OK);
		virtio_dma_free(&r->c->arena, q);
		n--;
	}
}

static void cring_close(struct cring *r)
{
	close(r->kick);
	close(r->call);
}

/*
 * Two queues are served by two threads besides the control thread, and
 * GET_VRING_BASE of one queue while the other has I/O in flight is safe
 * (ASan/UBSan builds check the memory side).
 */
static void test_two_queue_threads(void **state)
{
	struct fixture *f = *state;
	uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
			    VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES) |
			    VIRTIO_BIT(VIRTIO_BLK_F_MQ);
	uint64_t pf =
		VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) | VIRTIO_BIT(VHOST_USER_PROTOCOL_F_MQ);
	struct cring r[2];
	struct client c;
	unsigned int base, i, round, q;

	base = count_tasks();
	client_connect(&c, &f->s);
	(void)c_get_u64(&c, VHOST_USER_GET_FEATURES);
	(void)c_get_u64(&c, VHOST_USER_GET_PROTOCOL_FEATURES);
	assert_int_equal(c_send(&c, VHOST_USER_SET_PROTOCOL_FEATURES, &pf, 8, NULL, 0, false), 0);
	assert_int_equal(c_send(&c, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0, false), 0);
	assert_int_equal(c_get_u64(&c, VHOST_USER_GET_QUEUE_NUM), 2);
	assert_int_equal(c_ack(&c, VHOST_USER_SET_FEATURES, &features, 8, NULL, 0), 0);
	c_mem(&c);
	for (q = 0; q < 2; q++)
		cring_start(&r[q], &c, q);
	for (q = 0; q < 2; q++) {
		(void)cring_read(&r[q], q);
		virtqueue_kick(&r[q].vq);
		cring_wait(&r[q], 1);
	}
	/* Both queues served: one thread each, next to the main and control threads. */
	assert_int_equal(count_tasks(), base + 2);
	for (round = 0; round < 4; round++) {
		for (i = 0; i < 16; i++)
			(void)cring_read(&r[1], i * 8);
		virtqueue_kick(&r[1].vq);
		if (round == 0) {
			struct vhost_user_vring_state st = {.index = 0};
			struct vhost_user_msg m;

			/* Queue 0 stops while queue 1 has requests in flight. */
			assert_int_equal(c_send(&c, VHOST_USER_GET_VRING_BASE, &st, sizeof(st),
						NULL, 0, false),
					 0);
			c_reply(&c, VHOST_USER_GET_VRING_BASE, &m);
			assert_int_equal(m.payload.state.index, 0);
			assert_int_equal(m.payload.state.num, 1);
		}
		cring_wait(&r[1], 16);
	}
	/* Queue 1 still served by its own thread; queue 0's is gone. */
	assert_int_equal(count_tasks(), base + 1);
	for (q = 0; q < 2; q++)
		cring_close(&r[q]);
	client_close(&c);
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
		cmocka_unit_test_setup_teardown(test_two_queue_threads, setup_mq, teardown),
	};

	/* VU_TEST=test_name runs one test (debugging). */
	if (getenv("VU_TEST"))
		cmocka_set_test_filter(getenv("VU_TEST"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
