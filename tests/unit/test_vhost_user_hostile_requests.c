// SPDX-License-Identifier: MIT
/*
 * The vhost-user back-end's checks of single requests that no other test
 * provoked (docs/threat-model.md, "vhost-user back-end: each request's
 * checks"): memory regions the server cannot map, guard or hold, a new memory table
 * that loses a running ring, SET_FEATURES without VERSION_1, a queue index out
 * of range on every vring request, ring geometry changed under a running ring,
 * reserved bits in the vring fd requests, an err fd that is not an eventfd,
 * SET_INFLIGHT_FD's refusals. Each is sent by a fresh front-end to our blk
 * model behind vhost_user_backend (tests/lib/vu_watch): the connection must
 * close for that very reason, in one log line, and the next front-end is
 * served. SET_BACKEND_REQ_FD's refusals (REPLY_ACK 1) keep the connection,
 * which goes on working.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <unistd.h>

#include <vireo/blk_device.h>
#include <vireo/guest_mem.h>
#include <vireo/inflight.h>
#include <vireo/mem_guard.h>
#include <vireo/spec.h>
#include <vireo/vhost_user.h>

#include "tests/lib/vu_client.h"
#include "tests/lib/vu_watch.h"

static const uint64_t version_1 =
	VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES);

/* The watched server in *@state, with back-end options @vo (NULL: defaults). */
static int watch_up(void **state, const struct vhost_user_backend_options *vo)
{
	struct vu_watch *w = malloc(sizeof(*w));
	struct blk_device_options bo = {.serial = "vu-hostile"};

	assert_non_null(w);
	vu_watch_start(w, "/tmp/vireo-vuh-XXXXXX", &bo, vo);
	*state = w;
	return 0;
}

static int setup(void **state)
{
	return watch_up(state, NULL);
}

/* The same server with inflight tracking offered (`serve blk`'s default). */
static int setup_inflight(void **state)
{
	const struct vhost_user_backend_options vo = {.inflight = true};

	return watch_up(state, &vo);
}

/* After the hostile front-ends: a whole good one is served (I/O included). */
static int teardown(void **state)
{
	struct vu_watch *w = *state;
	uint8_t buf[512] = {0x5a};
	struct vu_client c;

	vu_watch_recover(w);
	vu_client_connect(&c, w->fx.sock);
	vu_client_handshake(&c);
	assert_int_equal(vu_client_blk(&c, VIRTIO_BLK_T_OUT, 1, buf, sizeof(buf)), VIRTIO_BLK_S_OK);
	vu_client_close(&c);
	vu_watch_stop(w);
	free(w);
	return 0;
}

/* A negotiated hostile front-end. */
static struct vu_client *hostile(struct vu_watch *w)
{
	struct vu_client *c = vu_watch_begin(w);

	vu_client_negotiate(c, version_1);
	return c;
}

/* A negotiated front-end whose queue 0 runs (the whole QEMU sequence). */
static struct vu_client *hostile_running(struct vu_watch *w)
{
	struct vu_client *c = vu_watch_begin(w);

	vu_client_handshake(c);
	return c;
}

/* What a hostile region's fd is. */
enum region_fd { REGION_MEMFD, REGION_EVENTFD, REGION_READ_ONLY, REGION_DISK_FILE };

/*
 * A file of @size bytes on a file system that is neither tmpfs nor hugetlbfs (the repository's
 * or /var/tmp's: a disk), unlinked: what FUSE or NFS stand for, pages the kernel does not
 * serve itself. Return: its fd, or -1 if every candidate is on tmpfs.
 */
static int disk_file(uint64_t size)
{
	static const char *const dirs[] = {".", "/var/tmp", "/tmp"};
	char path[64];

	for (unsigned int i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		struct statfs fs;
		int fd;

		snprintf(path, sizeof(path), "%s/vireo-vuh-disk-XXXXXX", dirs[i]);
		fd = mkstemp(path);
		if (fd < 0)
			continue;
		unlink(path);
		if (fstatfs(fd, &fs) == 0 && fs.f_type != TMPFS_MAGIC &&
		    fs.f_type != HUGETLBFS_MAGIC && ftruncate(fd, (off_t)size) == 0)
			return fd;
		close(fd);
	}
	return -1;
}

/* disk_file(), or the test skipped (every candidate directory on tmpfs). */
static int disk_file_or_skip(uint64_t size)
{
	int fd = disk_file(size);

	if (fd < 0) {
		printf("SKIP: no directory on a disk file system (., /var/tmp, /tmp)\n");
		skip();
	}
	return fd;
}

/* SET_MEM_TABLE of one region @r, its fd of kind @kind; closed for @why. */
static void bad_region(struct vu_watch *w, struct vhost_user_mem_region r, enum region_fd kind,
		       const char *why)
{
	struct vhost_user_memory m = {.nregions = 1, .regions = {r}};
	struct vu_client *c = hostile(w);
	char path[64];
	int fd = c->arena.memfd;

	if (kind == REGION_EVENTFD)
		fd = eventfd(0, EFD_CLOEXEC);
	if (kind == REGION_DISK_FILE)
		fd = disk_file_or_skip(r.mmap_offset + r.size);
	if (kind == REGION_READ_ONLY) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", c->arena.memfd);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	assert_true(fd >= 0);
	assert_int_equal(
		vu_client_send(c, VHOST_USER_SET_MEM_TABLE, &m, vu_memtable_size(1), &fd, 1, true),
		0);
	vu_watch_expect_closed(w, why);
	if (kind != REGION_MEMFD)
		close(fd);
}

static void test_regions_the_server_cannot_map(void **state)
{
	struct vu_watch *w = *state;
	struct vhost_user_mem_region good = {VU_GUEST_BASE, VU_ARENA_BYTES, VU_USER_BASE, 0};
	struct vhost_user_mem_region r = good;

	/* The range in the front-end's address space wraps (the guest range is fine). */
	r.user_addr = UINT64_MAX - 4095;
	bad_region(w, r, REGION_MEMFD, "memory region wraps around the address space");
	/* An fd that is no file: nothing to map. */
	bad_region(w, good, REGION_EVENTFD, "memory fd is not a mappable file");
	/*
	 * A file whose pages the front-end could serve itself (FUSE, a network file system):
	 * a page fault would wait on it, and with it the thread that serves every connection.
	 */
	bad_region(w, good, REGION_DISK_FILE,
		   "memory fd is not on tmpfs (memfd, /dev/shm) or hugetlbfs");
	/* The file opened read-only: the shared writable mapping fails (EACCES). */
	bad_region(w, good, REGION_READ_ONLY, "cannot mmap a memory region");
}

/*
 * Every mem_guard slot of the process taken (1024: many servers' regions, or
 * an embedder's): a region that cannot be guarded against SIGBUS is not
 * mapped at all; the next front-end, with slots free again, is served.
 */
static void test_region_without_a_guard_slot(void **state)
{
	struct vu_watch *w = *state;
	struct vhost_user_mem_region good = {VU_GUEST_BASE, VU_ARENA_BYTES, VU_USER_BASE, 0};
	static int slots[MEM_GUARD_MAX];
	unsigned int n = 0;
	int slot;

	/* Never touched: the guard only compares fault addresses with these ranges. */
	while ((slot = vireo_mem_guard_register((void *)(uintptr_t)((n + 1) * 4096ull), 4096,
						4096)) >= 0)
		slots[n++] = slot;
	assert_int_equal(slot, -ENOSPC);
	assert_true(n > 0 && n <= MEM_GUARD_MAX);
	bad_region(w, good, REGION_MEMFD, "cannot guard a memory region");
	while (n > 0)
		vireo_mem_guard_unregister(slots[--n]);
}

/* The arena's page @i as a region of its own. */
static struct vhost_user_mem_region arena_page(uint64_t i)
{
	return (struct vhost_user_mem_region){
		.guest_addr = VU_GUEST_BASE + i * 4096,
		.size = 4096,
		.user_addr = VU_USER_BASE + i * 4096,
		.mmap_offset = i * 4096,
	};
}

/* ADD_MEM_REG: 32 regions are the table (GUEST_MEM_MAX_REGIONS); a 33rd is refused. */
static void test_add_mem_reg_table_full(void **state)
{
	struct vu_watch *w = *state;
	struct vhost_user_mem_single one = {.padding = 0};
	struct vu_client *c = hostile(w);

	for (uint64_t i = 0; i < GUEST_MEM_MAX_REGIONS; i++) {
		one.region = arena_page(i);
		assert_int_equal(vu_client_ack(c, VHOST_USER_ADD_MEM_REG, &one, sizeof(one),
					       &c->arena.memfd, 1),
				 0);
	}
	one.region = arena_page(GUEST_MEM_MAX_REGIONS);
	assert_int_equal(vu_client_send(c, VHOST_USER_ADD_MEM_REG, &one, sizeof(one),
					&c->arena.memfd, 1, true),
			 0);
	vu_watch_expect_closed(w, "too many memory regions");
}

/* dev:Reserved Feature Bits: a modern device may refuse a driver without VERSION_1. */
static void test_features_without_version_1(void **state)
{
	struct vu_watch *w = *state;
	struct vu_client *c = vu_watch_begin(w);
	uint64_t f = VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES);

	(void)vu_client_get_u64(c, VHOST_USER_GET_FEATURES);
	assert_int_equal(vu_client_send(c, VHOST_USER_SET_FEATURES, &f, 8, NULL, 0, false), 0);
	vu_watch_expect_closed(w, "SET_FEATURES refused by the device");
}

/* Queue 1 of a one-queue device, on every vring request not tested elsewhere. */
static void test_queue_index_everywhere(void **state)
{
	static const uint32_t state_requests[] = {VHOST_USER_SET_VRING_BASE,
						  VHOST_USER_SET_VRING_ENABLE};
	static const uint32_t fd_requests[] = {VHOST_USER_SET_VRING_CALL, VHOST_USER_SET_VRING_ERR};
	struct vu_watch *w = *state;
	struct vhost_user_vring_addr a = {.index = 1};
	int efd = eventfd(0, EFD_CLOEXEC);
	uint64_t v = 1;
	struct vu_client *c;

	for (size_t i = 0; i < 2; i++) {
		c = hostile(w);
		vu_client_send_state(c, state_requests[i], 8, 1, 0, true);
		vu_watch_expect_closed(w, "queue index out of range");
	}
	c = hostile(w);
	a.desc_user_addr = a.avail_user_addr = a.used_user_addr = VU_USER_BASE;
	assert_int_equal(vu_client_send(c, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0, true),
			 0);
	vu_watch_expect_closed(w, "queue index out of range");
	for (size_t i = 0; i < 2; i++) {
		c = hostile(w);
		assert_int_equal(vu_client_send(c, fd_requests[i], &v, 8, &efd, 1, true), 0);
		vu_watch_expect_closed(w, "queue index out of range");
	}
	close(efd);
}

/* The ring's size, position and addresses are fixed while it runs (GET_VRING_BASE first). */
static void test_geometry_under_running_ring(void **state)
{
	struct vu_watch *w = *state;
	struct vhost_user_vring_addr a = {.index = 0};
	struct vu_client *c;

	c = hostile_running(w);
	vu_client_send_state(c, VHOST_USER_SET_VRING_NUM, 8, 0, VU_QSZ / 2, true);
	vu_watch_expect_closed(w, "bad ring size, or ring running");
	c = hostile_running(w);
	vu_client_send_state(c, VHOST_USER_SET_VRING_BASE, 8, 0, 5, true);
	vu_watch_expect_closed(w, "SET_VRING_BASE on a running ring");
	c = hostile_running(w);
	a.desc_user_addr = vu_client_user_addr(c->desc);
	a.avail_user_addr = vu_client_user_addr(c->avail);
	a.used_user_addr = vu_client_user_addr(c->used);
	assert_int_equal(vu_client_send(c, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0, true),
			 0);
	vu_watch_expect_closed(w, "SET_VRING_ADDR on a running ring");
}

/*
 * D-VU-09: a new memory table under running rings is taken, and the rings restart
 * on it, only if their addresses (front-end user addresses) still translate: here
 * the table moves the front-end's view of the arena by 1 GiB, and REM_MEM_REG
 * takes the ring's only region away.
 */
static void test_new_table_loses_the_ring(void **state)
{
	struct vu_watch *w = *state;
	struct vhost_user_memory m = {.nregions = 1};
	struct vhost_user_mem_single one = {.padding = 0};
	struct vu_client *c;

	c = hostile_running(w);
	m.regions[0] = vu_client_region(c);
	m.regions[0].user_addr += 1ull << 30;
	assert_int_equal(vu_client_send(c, VHOST_USER_SET_MEM_TABLE, &m, vu_memtable_size(1),
					&c->arena.memfd, 1, true),
			 0);
	vu_watch_expect_closed(w, "ring address outside the memory table");
	c = hostile_running(w);
	one.region = vu_client_region(c);
	assert_int_equal(
		vu_client_send(c, VHOST_USER_REM_MEM_REG, &one, sizeof(one), NULL, 0, true), 0);
	vu_watch_expect_closed(w, "ring address outside the memory table");
}

/* A split ring's position is 16 bits ("Ring states"; packed rings use bits 15 and 31). */
static void test_split_base_beyond_16_bits(void **state)
{
	struct vu_watch *w = *state;
	struct vu_client *c = hostile(w);

	vu_client_send_state(c, VHOST_USER_SET_VRING_BASE, 8, 0, 0x10000, true);
	vu_watch_expect_closed(w, "SET_VRING_BASE beyond 16 bits");
}

/* SET_VRING_KICK/CALL/ERR: bits 0-7 the index, bit 8 "no fd"; the rest is reserved. */
static void test_vring_fd_reserved_bits(void **state)
{
	static const uint32_t requests[] = {VHOST_USER_SET_VRING_KICK, VHOST_USER_SET_VRING_CALL,
					    VHOST_USER_SET_VRING_ERR};
	struct vu_watch *w = *state;
	int efd = eventfd(0, EFD_CLOEXEC);
	uint64_t v = 1ull << 9;

	for (size_t i = 0; i < 3; i++) {
		struct vu_client *c = hostile(w);

		assert_int_equal(vu_client_send(c, requests[i], &v, 8, &efd, 1, true), 0);
		vu_watch_expect_closed(w, i == 0 ? "SET_VRING_KICK with reserved bits set"
						 : "vring fd message with reserved bits set");
	}
	close(efd);
}

/* An err "fd" that is a pipe could block our write: only eventfds are taken. */
static void test_err_fd_not_an_eventfd(void **state)
{
	struct vu_watch *w = *state;
	struct vu_client *c = hostile(w);
	uint64_t v = 0;
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(vu_client_send(c, VHOST_USER_SET_VRING_ERR, &v, 8, &p[1], 1, true), 0);
	vu_watch_expect_closed(w, "call/err fd is not an eventfd");
	close(p[0]);
	close(p[1]);
}

/*
 * D-VU-28: SET_BACKEND_REQ_FD is answered with a failure (REPLY_ACK 1) when
 * PROTOCOL_F_BACKEND_REQ was not negotiated, or when the fd is no stream
 * socket; the connection stays and works.
 */
static void test_backend_req_fd_refused(void **state)
{
	struct vu_watch *w = *state;
	uint64_t pf, want = VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) |
			    VIRTIO_BIT(VHOST_USER_PROTOCOL_F_BACKEND_REQ);
	struct vu_client *c = hostile(w);
	int sp[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(vu_client_ack(c, VHOST_USER_SET_BACKEND_REQ_FD, NULL, 0, &sp[0], 1), 1);
	assert_true(vu_client_get_u64(c, VHOST_USER_GET_FEATURES) & VIRTIO_BIT(VIRTIO_F_VERSION_1));
	vu_watch_end_connected(w);
	close(sp[0]);
	close(sp[1]);

	c = vu_watch_begin(w);
	pf = vu_client_get_u64(c, VHOST_USER_GET_PROTOCOL_FEATURES);
	assert_int_equal(pf & want, want);
	assert_int_equal(
		vu_client_send(c, VHOST_USER_SET_PROTOCOL_FEATURES, &want, 8, NULL, 0, false), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(vu_client_ack(c, VHOST_USER_SET_BACKEND_REQ_FD, NULL, 0, &sp[0], 1), 1);
	close(sp[0]);
	close(sp[1]);
	/* A stream socket is then taken. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(vu_client_ack(c, VHOST_USER_SET_BACKEND_REQ_FD, NULL, 0, &sp[0], 1), 0);
	vu_watch_end_connected(w);
	close(sp[0]);
	close(sp[1]);
}

/* ---- SET_INFLIGHT_FD (D-VU-INFL-02, -06) ---- */

/* A hostile front-end that negotiated INFLIGHT_SHMFD (if @inflight) and gave its memory. */
static struct vu_client *hostile_inflight(struct vu_watch *w, bool inflight)
{
	struct vu_client *c = vu_watch_begin(w);

	vu_client_negotiate_inflight(c, inflight);
	return c;
}

/* A memfd as large as one split queue of VU_QSZ needs (unsealed: we may shrink it). */
static int inflight_file(uint64_t *size)
{
	int fd = memfd_create("vu-inflight", MFD_CLOEXEC);

	*size = vireo_vinflight_queue_size(false, VU_QSZ);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)*size), 0);
	return fd;
}

/* SET_INFLIGHT_FD describing @queues queues of @qsize in @fd; closed for @why. */
static void bad_inflight(struct vu_watch *w, bool negotiate, uint16_t queues, uint16_t qsize,
			 int fd, const char *why)
{
	struct vu_client *c = hostile_inflight(w, negotiate);
	struct vhost_user_inflight in = {
		.mmap_size = vireo_vinflight_queue_size(false, VU_QSZ),
		.num_queues = queues,
		.queue_size = qsize,
	};

	assert_int_equal(
		vu_client_send(c, VHOST_USER_SET_INFLIGHT_FD, &in, sizeof(in), &fd, 1, true), 0);
	vu_watch_expect_closed(w, why);
}

/* What GET_INFLIGHT_FD refuses is refused in SET_INFLIGHT_FD too, and a fd that is no file. */
static void test_set_inflight_refused(void **state)
{
	struct vu_watch *w = *state;
	int efd = eventfd(0, EFD_CLOEXEC);
	uint64_t size;
	int fd = inflight_file(&size);
	int disk = disk_file_or_skip(size);

	bad_inflight(w, false, 1, VU_QSZ, fd, "inflight request without INFLIGHT_SHMFD negotiated");
	bad_inflight(w, true, 2, VU_QSZ, fd, "inflight region for more queues than the device has");
	bad_inflight(w, true, 1, 0, fd, "inflight region queue size out of range");
	bad_inflight(w, true, 1, 32768, fd, "inflight region queue size out of range");
	bad_inflight(w, true, 1, VU_QSZ, efd, "memory fd is not a mappable file");
	bad_inflight(w, true, 1, VU_QSZ, disk,
		     "memory fd is not on tmpfs (memfd, /dev/shm) or hugetlbfs");
	close(disk);
	close(efd);
	close(fd);
}

/* The region cannot change under a running ring: the back-end writes it as it serves. */
static void test_set_inflight_under_running_ring(void **state)
{
	struct vu_watch *w = *state;
	struct vu_client *c = hostile_inflight(w, true);
	struct vhost_user_inflight in = {.num_queues = 1, .queue_size = VU_QSZ};
	uint8_t buf[512] = {0x11};
	int fd = inflight_file(&in.mmap_size);

	vu_client_start_with_inflight(c, fd, in.mmap_size);
	assert_int_equal(vu_client_blk(c, VIRTIO_BLK_T_OUT, 1, buf, sizeof(buf)), VIRTIO_BLK_S_OK);
	assert_int_equal(
		vu_client_send(c, VHOST_USER_SET_INFLIGHT_FD, &in, sizeof(in), &fd, 1, true), 0);
	vu_watch_expect_closed(w, "SET_INFLIGHT_FD with a ring running");
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_regions_the_server_cannot_map, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_region_without_a_guard_slot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_mem_reg_table_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_features_without_version_1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_index_everywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_geometry_under_running_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_table_loses_the_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_base_beyond_16_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vring_fd_reserved_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_err_fd_not_an_eventfd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_req_fd_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_inflight_refused, setup_inflight,
						teardown),
		cmocka_unit_test_setup_teardown(test_set_inflight_under_running_ring,
						setup_inflight, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
