// SPDX-License-Identifier: MIT
/*
 * The vhost-user back-end's obligations (QEMU docs/interop/vhost-user.rst, the
 * checklist's D-VU rows), one test each, against a scripted front-end
 * (tests/lib/vu_client) and our blk device model behind vhost_user_backend in
 * a server thread: protocol features before SET_FEATURES, a stopped ring left
 * alone, RESET_DEVICE keeping ownership, a REPLY_ACK reply to every message,
 * ADD_MEM_REG / REM_MEM_REG mapping and unmapping.
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
#include <sys/stat.h>
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

/* How long a ring that must stay idle is watched: a negative check needs some window. */
#define IDLE_MS 200

struct server {
	struct vu_blk_fixture fx;
};

static int setup(void **state)
{
	struct server *s = calloc(1, sizeof(*s));
	struct blk_device_options bo = {.serial = "vu-rules"};
	struct vhost_user_backend_options vo = {.socket_path = NULL};

	assert_non_null(s);
	vu_blk_fixture_start(&s->fx, "/tmp/vireo-vur-XXXXXX", &bo, &vo);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct server *s = *state;

	/* Every fd a front-end sent, a stray REM_MEM_REG fd included, is closed again. */
	vu_blk_fixture_stop_closed(&s->fx);
	free(s);
	return 0;
}

static const uint64_t version_1 =
	VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES);

/* Nothing becomes readable on @fd for IDLE_MS. */
static void expect_quiet(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	assert_int_equal(poll(&p, 1, IDLE_MS), 0);
}

/* The request @r is untouched: nothing used, its writable bytes as we left them. */
static void expect_untouched(struct vu_client *c, const struct vu_blk_req *r)
{
	unsigned int i;

	assert_false(virtqueue_more_used(&c->vq));
	assert_int_equal(r->status, 0xff);
	for (i = 0; i < 512; i++)
		assert_int_equal(r->data[i], 0xee);
}

/*
 * D-VU-24/25: GET_ and SET_PROTOCOL_FEATURES are accepted before SET_FEATURES (the
 * REPLY_ACK set there is in force for the next message); D-VU-14: PROTOCOL_F_MQ is
 * offered only together with VHOST_USER_F_PROTOCOL_FEATURES.
 */
static void test_protocol_features_before_set_features(void **state)
{
	struct server *s = *state;
	uint64_t f, pf, want = VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK);
	struct vu_client c;

	vu_client_connect(&c, s->fx.sock);
	f = vu_client_get_u64(&c, VHOST_USER_GET_FEATURES);
	pf = vu_client_get_u64(&c, VHOST_USER_GET_PROTOCOL_FEATURES);
	assert_true(pf & VIRTIO_BIT(VHOST_USER_PROTOCOL_F_MQ));
	assert_true(f & VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES));
	assert_int_equal(
		vu_client_send(&c, VHOST_USER_SET_PROTOCOL_FEATURES, &want, 8, NULL, 0, false), 0);
	assert_int_equal(vu_client_ack(&c, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0), 0);
	assert_int_equal(vu_client_ack(&c, VHOST_USER_SET_FEATURES, &version_1, 8, NULL, 0), 0);
	vu_client_close(&c);
}

/*
 * "Ring states" and "Suspended device state": once GET_VRING_BASE has stopped the ring,
 * a kick is not served (D-VU-01, D-VU-15): no guest-memory write (D-VU-10), no call
 * (D-VU-11), while messages are still answered (D-VU-13). A new kick fd starts the
 * ring again (D-VU-06), and the waiting request is served from where it stopped.
 */
static void test_stopped_ring_left_alone(void **state)
{
	struct server *s = *state;
	struct vhost_user_config cfg = {.offset = 0, .size = 8};
	uint8_t buf[512] = {0x3c};
	struct vhost_user_msg m;
	struct vu_blk_req *r;
	struct vu_client c;
	uint32_t base;

	vu_client_connect(&c, s->fx.sock);
	vu_client_handshake(&c);
	assert_int_equal(vu_client_blk(&c, VIRTIO_BLK_T_OUT, 2, buf, sizeof(buf)), VIRTIO_BLK_S_OK);
	(void)vireo_eventfd_drain_fd(c.call);
	base = vu_client_vring_base(&c);
	assert_int_equal(base, 1);
	r = vu_client_queue_read(&c, 2);
	expect_quiet(c.call);
	expect_untouched(&c, r);
	assert_int_equal(vu_client_send(&c, VHOST_USER_GET_CONFIG, &cfg, 12 + 8, NULL, 0, false),
			 0);
	vu_client_reply(&c, VHOST_USER_GET_CONFIG, &m);
	assert_int_equal(m.hdr.size, 12 + 8);
	assert_true(vu_client_get_u64(&c, VHOST_USER_GET_FEATURES) &
		    VIRTIO_BIT(VIRTIO_F_VERSION_1));
	expect_untouched(&c, r);

	/* Restart: base where it stopped, a new kick fd; the kick it carries starts the ring. */
	vu_client_state(&c, VHOST_USER_SET_VRING_BASE, 0, base);
	close(c.kick);
	vu_client_vring_fd(&c, VHOST_USER_SET_VRING_KICK, &c.kick);
	virtqueue_kick(&c.vq);
	vu_client_wait_used(&c, r);
	assert_int_equal(r->status, VIRTIO_BLK_S_OK);
	assert_int_equal(r->data[0], 0x3c);
	virtio_dma_free(&c.arena, r);
	assert_int_equal(vu_client_vring_base(&c), 2);
	vu_client_close(&c);
}

/*
 * SET_VRING_KICK with bit 8 ("no fd": the ring would be polled; vhost-user.rst
 * "Ring states") is accepted, but we do not poll: the ring stops and a kick on the
 * old fd is not served. A new kick fd starts it again where it stopped, the waiting
 * request served once. SET_VRING_CALL and SET_VRING_ERR with bit 8 are accepted too.
 */
static void test_kick_without_fd_stops_ring(void **state)
{
	struct server *s = *state;
	uint64_t nofd = VHOST_USER_VRING_NOFD_MASK; /* queue 0 */
	uint8_t buf[512] = {0x6b};
	struct vu_blk_req *r;
	struct vu_client c;

	vu_client_connect(&c, s->fx.sock);
	vu_client_handshake(&c);
	assert_int_equal(vu_client_blk(&c, VIRTIO_BLK_T_OUT, 3, buf, sizeof(buf)), VIRTIO_BLK_S_OK);
	(void)vireo_eventfd_drain_fd(c.call);
	assert_int_equal(vu_client_ack(&c, VHOST_USER_SET_VRING_KICK, &nofd, 8, NULL, 0), 0);
	r = vu_client_queue_read(&c, 3);
	expect_quiet(c.call);
	expect_untouched(&c, r);
	close(c.kick);
	vu_client_vring_fd(&c, VHOST_USER_SET_VRING_KICK, &c.kick);
	virtqueue_kick(&c.vq);
	vu_client_wait_used(&c, r);
	assert_int_equal(r->status, VIRTIO_BLK_S_OK);
	assert_int_equal(r->data[0], 0x6b);
	virtio_dma_free(&c.arena, r);
	assert_int_equal(vu_client_ack(&c, VHOST_USER_SET_VRING_ERR, &nofd, 8, NULL, 0), 0);
	assert_int_equal(vu_client_ack(&c, VHOST_USER_SET_VRING_CALL, &nofd, 8, NULL, 0), 0);
	assert_int_equal(vu_client_vring_base(&c), 2);
	vu_client_close(&c);
}

/*
 * D-VU-35: RESET_DEVICE disables every ring and resets the device, but ownership stays:
 * a kick on the old ring is not served, and the front-end sets the device up again
 * without SET_OWNER; the new ring starts at index 0.
 */
static void test_reset_device_keeps_owner(void **state)
{
	struct server *s = *state;
	uint64_t pf = VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) |
		      VIRTIO_BIT(VHOST_USER_PROTOCOL_F_RESET_DEVICE);
	uint8_t buf[512] = {0x77};
	struct vu_blk_req *r;
	struct vu_client c;

	vu_client_connect(&c, s->fx.sock);
	vu_client_handshake(&c);
	assert_int_equal(vu_client_blk(&c, VIRTIO_BLK_T_OUT, 4, buf, sizeof(buf)), VIRTIO_BLK_S_OK);
	assert_int_equal(
		vu_client_send(&c, VHOST_USER_SET_PROTOCOL_FEATURES, &pf, 8, NULL, 0, false), 0);
	assert_int_equal(vu_client_ack(&c, VHOST_USER_RESET_DEVICE, NULL, 0, NULL, 0), 0);
	(void)vireo_eventfd_drain_fd(c.call);
	r = vu_client_queue_read(&c, 4);
	expect_quiet(c.call);
	expect_untouched(&c, r);
	virtio_dma_free(&c.arena, r);

	/* Set up again, no SET_OWNER: features, memory, a fresh ring at index 0. */
	close(c.kick);
	close(c.call);
	close(c.err);
	virtio_dma_arena_destroy(&c.arena);
	assert_int_equal(virtio_dma_arena_init(&c.arena, VU_ARENA_BYTES, VU_GUEST_BASE), 0);
	assert_int_equal(vu_client_ack(&c, VHOST_USER_SET_FEATURES, &version_1, 8, NULL, 0), 0);
	vu_client_mem(&c);
	vu_client_ring(&c);
	vu_client_ring_setup(&c, 0, VU_QSZ, 0, c.desc, c.avail, c.used);
	vu_client_vring_fd(&c, VHOST_USER_SET_VRING_KICK, &c.kick);
	vu_client_vring_fd(&c, VHOST_USER_SET_VRING_CALL, &c.call);
	vu_client_vring_fd(&c, VHOST_USER_SET_VRING_ERR, &c.err);
	vu_client_state(&c, VHOST_USER_SET_VRING_ENABLE, 0, 1);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(vu_client_blk(&c, VIRTIO_BLK_T_IN, 4, buf, sizeof(buf)), VIRTIO_BLK_S_OK);
	assert_int_equal(buf[0], 0x77);
	assert_int_equal(vu_client_vring_base(&c), 1);
	vu_client_close(&c);
}

/* One message with NEED_REPLY; its reply: same request, REPLY and version 1, a u64. */
static uint64_t acked(struct vu_client *c, uint32_t req, const void *payload, uint32_t size,
		      const int *fds, unsigned int nfds)
{
	struct vhost_user_msg m;

	assert_int_equal(vu_client_send(c, req, payload, size, fds, nfds, true), 0);
	vu_client_reply(c, req, &m);
	assert_int_equal(m.hdr.flags, VHOST_USER_VERSION | VHOST_USER_REPLY_MASK);
	assert_int_equal(m.hdr.size, 8);
	return m.payload.u64;
}

/*
 * D-VU-42: with REPLY_ACK, every message that sets NEED_REPLY gets a reply, success or
 * failure; D-VU-43: every reply has the REPLY flag and version 1 (GET_* replies too).
 */
static void test_reply_ack_on_every_message(void **state)
{
	struct server *s = *state;
	uint64_t pf = VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) |
		      VIRTIO_BIT(VHOST_USER_PROTOCOL_F_CONFIG) |
		      VIRTIO_BIT(VHOST_USER_PROTOCOL_F_RESET_DEVICE);
	struct vhost_user_vring_state st = {.index = 0, .num = VU_QSZ};
	struct vhost_user_config cfg = {.offset = 0, .size = 8};
	struct vhost_user_vring_addr a = {.index = 0};
	struct vhost_user_memory mt = {.nregions = 1};
	const uint32_t getters[] = {VHOST_USER_GET_FEATURES, VHOST_USER_GET_PROTOCOL_FEATURES,
				    VHOST_USER_GET_QUEUE_NUM, VHOST_USER_GET_MAX_MEM_SLOTS};
	struct vhost_user_msg m;
	struct vu_client c;
	uint64_t idx = 0;
	unsigned int i;
	int fd;

	vu_client_connect(&c, s->fx.sock);
	for (i = 0; i < sizeof(getters) / sizeof(getters[0]); i++) {
		assert_int_equal(vu_client_send(&c, getters[i], NULL, 0, NULL, 0, false), 0);
		vu_client_reply(&c, getters[i], &m);
		assert_int_equal(m.hdr.flags, VHOST_USER_VERSION | VHOST_USER_REPLY_MASK);
	}
	assert_int_equal(
		vu_client_send(&c, VHOST_USER_SET_PROTOCOL_FEATURES, &pf, 8, NULL, 0, false), 0);
	assert_int_equal(acked(&c, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0), 0);
	assert_int_equal(acked(&c, VHOST_USER_SET_PROTOCOL_FEATURES, &pf, 8, NULL, 0), 0);
	assert_int_equal(acked(&c, VHOST_USER_SET_FEATURES, &version_1, 8, NULL, 0), 0);
	mt.regions[0] = vu_client_region(&c);
	assert_int_equal(
		acked(&c, VHOST_USER_SET_MEM_TABLE, &mt, vu_memtable_size(1), &c.arena.memfd, 1),
		0);
	vu_client_ring(&c);
	assert_int_equal(acked(&c, VHOST_USER_SET_VRING_NUM, &st, sizeof(st), NULL, 0), 0);
	st.num = 0;
	assert_int_equal(acked(&c, VHOST_USER_SET_VRING_BASE, &st, sizeof(st), NULL, 0), 0);
	a.desc_user_addr = vu_client_user_addr(c.desc);
	a.avail_user_addr = vu_client_user_addr(c.avail);
	a.used_user_addr = vu_client_user_addr(c.used);
	assert_int_equal(acked(&c, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 0);
	for (i = 0; i < 3; i++) {
		const uint32_t req[] = {VHOST_USER_SET_VRING_KICK, VHOST_USER_SET_VRING_CALL,
					VHOST_USER_SET_VRING_ERR};

		fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		assert_int_equal(acked(&c, req[i], &idx, 8, &fd, 1), 0);
		close(fd);
	}
	st.num = 1;
	assert_int_equal(acked(&c, VHOST_USER_SET_VRING_ENABLE, &st, sizeof(st), NULL, 0), 0);
	/* A refusal is a reply too: capacity is read-only. */
	assert_true(acked(&c, VHOST_USER_SET_CONFIG, &cfg, 12 + 8, NULL, 0) != 0);
	assert_int_equal(acked(&c, VHOST_USER_RESET_DEVICE, NULL, 0, NULL, 0), 0);
	assert_true(vu_client_get_u64(&c, VHOST_USER_GET_FEATURES) != 0);
	vu_client_close(&c);
}

/* How many mappings of the file with inode @ino this process has. */
static unsigned int mappings_of(ino_t ino)
{
	char line[512], want[32];
	unsigned int n = 0;
	FILE *maps = fopen("/proc/self/maps", "r");

	assert_non_null(maps);
	snprintf(want, sizeof(want), " %lu ", (unsigned long)ino);
	while (fgets(line, sizeof(line), maps))
		n += strstr(line, want) != NULL;
	fclose(maps);
	return n;
}

/*
 * D-VU-36: ADD_MEM_REG maps the region, and requests in it are served; D-VU-37:
 * REM_MEM_REG unmaps it again; D-VU-38: a stray fd sent with REM_MEM_REG is closed
 * unused (the teardown's fd count).
 */
static void test_add_rem_mem_reg_map_unmap(void **state)
{
	struct server *s = *state;
	struct vhost_user_mem_single one = {.padding = 0};
	uint8_t out[512], in[512];
	struct vu_client c;
	struct stat st;
	unsigned int before;
	int stray;

	vu_client_connect(&c, s->fx.sock);
	vu_client_negotiate(&c, version_1);
	assert_int_equal(fstat(c.arena.memfd, &st), 0);
	before = mappings_of(st.st_ino);
	one.region = vu_client_region(&c);
	assert_int_equal(
		vu_client_ack(&c, VHOST_USER_ADD_MEM_REG, &one, sizeof(one), &c.arena.memfd, 1), 0);
	assert_true(mappings_of(st.st_ino) > before);
	vu_client_ring(&c);
	vu_client_ring_setup(&c, 0, VU_QSZ, 0, c.desc, c.avail, c.used);
	vu_client_vring_fd(&c, VHOST_USER_SET_VRING_KICK, &c.kick);
	vu_client_vring_fd(&c, VHOST_USER_SET_VRING_CALL, &c.call);
	vu_client_state(&c, VHOST_USER_SET_VRING_ENABLE, 0, 1);
	memset(out, 0xa5, sizeof(out));
	assert_int_equal(vu_client_blk(&c, VIRTIO_BLK_T_OUT, 9, out, sizeof(out)), VIRTIO_BLK_S_OK);
	memset(in, 0, sizeof(in));
	assert_int_equal(vu_client_blk(&c, VIRTIO_BLK_T_IN, 9, in, sizeof(in)), VIRTIO_BLK_S_OK);
	assert_memory_equal(in, out, sizeof(in));
	/* Stop the ring, then remove the region (with a stray fd): the mapping is gone. */
	assert_int_equal(vu_client_vring_base(&c), 2);
	stray = eventfd(0, EFD_CLOEXEC);
	assert_int_equal(vu_client_ack(&c, VHOST_USER_REM_MEM_REG, &one, sizeof(one), &stray, 1),
			 0);
	close(stray);
	assert_int_equal(mappings_of(st.st_ino), before);
	vu_client_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_protocol_features_before_set_features, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stopped_ring_left_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kick_without_fd_stops_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_device_keeps_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_ack_on_every_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_rem_mem_reg_map_unmap, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
