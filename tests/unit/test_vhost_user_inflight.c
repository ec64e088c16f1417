// SPDX-License-Identifier: MIT
/*
 * GET/SET_INFLIGHT_FD through the real vhost-user back-end (an in-process
 * blk server with INFLIGHT_SHMFD offered, as `serve blk` does): the region's
 * description checked like any request (D-VU-INFL-02), a fresh sealed zeroed
 * region, and a region left by a "previous back-end" with two requests in
 * flight: both are executed once and the avail ring resumes after them,
 * whatever SET_VRING_BASE said (D-VU-INFL-01/-09). A forged region refuses
 * the ring and ends the connection.
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
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vireo/blk_device.h>
#include <vireo/event_loop.h>
#include <vireo/inflight.h>
#include <vireo/spec.h>
#include <vireo/vhost_user.h>
#include <vireo/vhost_user_backend.h>

#include "tests/lib/vu_blk_fixture.h"
#include "tests/lib/vu_client.h"

struct server {
	struct vu_blk_fixture fx;
	struct vu_client c;
};

static int setup(void **state)
{
	struct server *s = calloc(1, sizeof(*s));
	struct blk_device_options bo = {0};
	struct vhost_user_backend_options vo = {.inflight = true};

	assert_non_null(s);
	vu_blk_fixture_start(&s->fx, "/tmp/vireo-vui-XXXXXX", &bo, &vo);
	vu_client_connect(&s->c, s->fx.sock);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct server *s = *state;

	vu_client_close(&s->c);
	vu_blk_fixture_stop(&s->fx);
	free(s);
	return 0;
}

/* GET_INFLIGHT_FD for one queue of @size. Return: the fd; *@out the reply. */
static int get_inflight(struct vu_client *c, uint16_t size, struct vhost_user_inflight *out)
{
	struct vhost_user_inflight in = {.num_queues = 1, .queue_size = size};
	struct vhost_user_msg m;

	assert_int_equal(
		vu_client_send(c, VHOST_USER_GET_INFLIGHT_FD, &in, sizeof(in), NULL, 0, false), 0);
	vu_client_reply(c, VHOST_USER_GET_INFLIGHT_FD, &m);
	assert_int_equal(m.num_fds, 1);
	*out = m.payload.inflight;
	return m.fds[0];
}

/* D-VU-INFL-02, D-VU-INFL-14: the reply describes a fresh, zeroed, sealed region of the right size. */
static void test_get_fresh_region(void **state)
{
	struct server *s = *state;
	struct vhost_user_inflight d;
	struct stat st;
	uint8_t *p;
	int fd;

	vu_client_negotiate_inflight(&s->c, true);
	fd = get_inflight(&s->c, VU_QSZ, &d);
	assert_int_equal(d.num_queues, 1);
	assert_int_equal(d.queue_size, VU_QSZ);
	assert_int_equal(d.mmap_offset, 0);
	assert_int_equal(d.mmap_size, vireo_vinflight_queue_size(false, VU_QSZ));
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, d.mmap_size);
	assert_int_equal(fcntl(fd, F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_GROW),
			 F_SEAL_SHRINK | F_SEAL_GROW);
	assert_true(ftruncate(fd, 0) < 0);
	p = mmap(NULL, d.mmap_size, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	for (size_t i = 0; i < d.mmap_size; i++)
		assert_int_equal(p[i], 0);
	munmap(p, d.mmap_size);
	close(fd);
}

/* Without INFLIGHT_SHMFD negotiated the request is a protocol violation. */
static void test_get_not_negotiated(void **state)
{
	struct server *s = *state;
	struct vhost_user_inflight in = {.num_queues = 1, .queue_size = VU_QSZ};

	vu_client_negotiate_inflight(&s->c, false);
	assert_int_equal(
		vu_client_send(&s->c, VHOST_USER_GET_INFLIGHT_FD, &in, sizeof(in), NULL, 0, false),
		0);
	vu_client_expect_closed(&s->c);
}

static void expect_get_refused(struct server *s, uint16_t queues, uint16_t size)
{
	struct vhost_user_inflight in = {.num_queues = queues, .queue_size = size};

	vu_client_close(&s->c);
	vu_client_connect(&s->c, s->fx.sock);
	vu_client_negotiate_inflight(&s->c, true);
	assert_int_equal(
		vu_client_send(&s->c, VHOST_USER_GET_INFLIGHT_FD, &in, sizeof(in), NULL, 0, false),
		0);
	vu_client_expect_closed(&s->c);
}

/* Queue counts and sizes the device does not have. */
static void test_get_bad_description(void **state)
{
	struct server *s = *state;

	expect_get_refused(s, 0, VU_QSZ);
	expect_get_refused(s, 2, VU_QSZ); /* the device has one queue */
	expect_get_refused(s, 1, 0);
	expect_get_refused(s, 1, 32768);
}

static void expect_set_refused(struct server *s, int fd, uint64_t size, uint64_t offset)
{
	struct vhost_user_inflight in = {
		.mmap_size = size, .mmap_offset = offset, .num_queues = 1, .queue_size = VU_QSZ};

	assert_int_equal(
		vu_client_send(&s->c, VHOST_USER_SET_INFLIGHT_FD, &in, sizeof(in), &fd, 1, true),
		0);
	vu_client_expect_closed(&s->c);
	vu_client_close(&s->c);
	vu_client_connect(&s->c, s->fx.sock);
	vu_client_negotiate_inflight(&s->c, true);
}

/* SET_INFLIGHT_FD: a size short of the queue's region, beyond the file, a misaligned offset. */
static void test_set_bad_description(void **state)
{
	struct server *s = *state;
	size_t need = vireo_vinflight_queue_size(false, VU_QSZ);
	int fd = memfd_create("t", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)need), 0);
	vu_client_negotiate_inflight(&s->c, true);
	expect_set_refused(s, fd, need - 16, 0);
	expect_set_refused(s, fd, need + 4096, 0);
	expect_set_refused(s, fd, need, 16);
	expect_set_refused(s, fd, 1ull << 40, 0);
	close(fd);
}

/*
 * A previous back-end fetched two write requests and died: the region says
 * so, used->idx is 0, and the front-end sends base 0. Returns the mapping.
 */
static struct vinflight_split_region *crashed_region(struct server *s, int *fd, uint64_t *size,
						     void *tok[2])
{
	static uint8_t data[2][512];
	struct vhost_user_inflight d;
	struct vinflight_split_region *r;

	*fd = get_inflight(&s->c, VU_QSZ, &d);
	*size = d.mmap_size;
	r = mmap(NULL, d.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	assert_true(r != MAP_FAILED);
	vu_client_ring(&s->c);
	for (unsigned int i = 0; i < 2; i++) {
		struct virtio_sg sg[3];
		struct vu_blk_req *q;
		uint64_t ga;

		memset(data[i], 0xa0 + i, sizeof(data[i]));
		q = virtio_dma_alloc(&s->c.arena, sizeof(*q), 16, &ga);
		q->hdr.type = VIRTIO_BLK_T_OUT;
		q->hdr.sector = 8 + i;
		q->status = 0xff;
		memcpy(q->data, data[i], 512);
		sg[0] = (struct virtio_sg){ga + offsetof(struct vu_blk_req, hdr), sizeof(q->hdr)};
		sg[1] = (struct virtio_sg){ga + offsetof(struct vu_blk_req, data), 512};
		sg[2] = (struct virtio_sg){ga + offsetof(struct vu_blk_req, status), 1};
		assert_int_equal(virtqueue_add_sgs(&s->c.vq, sg, 2, 1, q), 0);
		tok[i] = q;
	}
	(void)virtqueue_kick_prepare(&s->c.vq);
	r->version = VINFLIGHT_VERSION;
	r->desc_num = VU_QSZ;
	/* Fetched second-head first: resubmission follows the counters, not the indices. */
	r->desc[s->c.vq.split.avail->ring[1]] =
		(struct vinflight_split_desc){.inflight = 1, .counter = 5};
	r->desc[s->c.vq.split.avail->ring[0]] =
		(struct vinflight_split_desc){.inflight = 1, .counter = 6};
	return r;
}

/* The rest of QEMU's start sequence: inflight first, then the ring from base 0. */
static void start_ring(struct server *s, int fd, uint64_t size)
{
	struct vhost_user_inflight in = {.mmap_size = size, .num_queues = 1, .queue_size = VU_QSZ};
	struct vhost_user_vring_addr a = {.index = 0};

	assert_int_equal(vu_client_ack(&s->c, VHOST_USER_SET_INFLIGHT_FD, &in, sizeof(in), &fd, 1),
			 0);
	vu_client_state(&s->c, VHOST_USER_SET_VRING_NUM, 0, VU_QSZ);
	vu_client_state(&s->c, VHOST_USER_SET_VRING_BASE, 0, 0);
	a.desc_user_addr = vu_client_user_addr(s->c.desc);
	a.avail_user_addr = vu_client_user_addr(s->c.avail);
	a.used_user_addr = vu_client_user_addr(s->c.used);
	assert_int_equal(vu_client_ack(&s->c, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0),
			 0);
	vu_client_vring_fd(&s->c, VHOST_USER_SET_VRING_KICK, &s->c.kick);
	vu_client_vring_fd(&s->c, VHOST_USER_SET_VRING_CALL, &s->c.call);
	vu_client_vring_fd(&s->c, VHOST_USER_SET_VRING_ERR, &s->c.err);
	vu_client_send(&s->c, VHOST_USER_SET_VRING_ENABLE,
		       &(struct vhost_user_vring_state){.index = 0, .num = 1},
		       sizeof(struct vhost_user_vring_state), NULL, 0, false);
}

/* D-VU-INFL-01/-09: both requests run once; the ring resumes after them; I/O goes on. */
static void test_resubmit_after_crash(void **state)
{
	struct server *s = *state;
	struct vinflight_split_region *r;
	struct pollfd p;
	uint8_t buf[512], want[512];
	void *tok[2], *got;
	uint64_t size;
	uint32_t len;
	int fd, n = 0;

	vu_client_negotiate_inflight(&s->c, true);
	r = crashed_region(s, &fd, &size, tok);
	start_ring(s, fd, size);
	p = (struct pollfd){.fd = s->c.call, .events = POLLIN};
	while (n < 2) {
		while ((got = virtqueue_get_buf(&s->c.vq, &len))) {
			assert_true(got == tok[0] || got == tok[1]);
			assert_int_equal(((struct vu_blk_req *)got)->status, VIRTIO_BLK_S_OK);
			n++;
		}
		if (n < 2) {
			assert_int_equal(poll(&p, 1, VU_WAIT_MS), 1);
			vireo_eventfd_drain_fd(s->c.call);
		}
	}
	assert_int_equal(s->c.vq.split.used->idx, 2);
	/* Cleared once published (D-VU-INFL-08). */
	assert_int_equal(r->used_idx, 2);
	assert_int_equal(r->desc[s->c.vq.split.avail->ring[0]].inflight, 0);
	memset(want, 0xa1, sizeof(want));
	assert_int_equal(vu_client_blk(&s->c, VIRTIO_BLK_T_IN, 9, buf, 512), VIRTIO_BLK_S_OK);
	assert_memory_equal(buf, want, 512);
	/* A new request after them: avail resumed at 2, not at the front-end's 0. */
	assert_int_equal(vu_client_vring_base(&s->c), 3);
	munmap(r, size);
	close(fd);
}

/* A forged region (an unknown version) refuses the ring: the connection ends. */
static void test_forged_region_refused(void **state)
{
	struct server *s = *state;
	struct vinflight_split_region *r;
	void *tok[2];
	uint64_t size;
	int fd;

	vu_client_negotiate_inflight(&s->c, true);
	r = crashed_region(s, &fd, &size, tok);
	r->version = 9;
	start_ring(s, fd, size);
	vu_client_expect_closed(&s->c);
	munmap(r, size);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_fresh_region, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_not_negotiated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_bad_description, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_bad_description, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resubmit_after_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_region_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
