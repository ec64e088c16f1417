// SPDX-License-Identifier: MIT
/*
 * The vhost-user message layer: the table's size and fd rules through
 * vireo_vhost_user_msg_parse(), then the socket path through a socketpair:
 * round trips with fds, truncated and oversized messages, unknown requests,
 * wrong fd counts, fds after the first byte and MSG_CTRUNC, each time with
 * no fd left open.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vireo/vhost_user.h>

#include "tests/lib/fd_count.h"

/* Header + payload bytes for parse(). */
static size_t build(uint8_t *buf, uint32_t req, uint32_t flags, const void *payload, uint32_t size)
{
	struct vhost_user_header h = {.request = req, .flags = flags, .size = size};

	memcpy(buf, &h, sizeof(h));
	if (size)
		memcpy(buf + sizeof(h), payload, size);
	return sizeof(h) + size;
}

static int parse(uint32_t req, const void *payload, uint32_t size, unsigned int fds)
{
	struct vhost_user_msg msg;
	uint8_t buf[512];
	size_t len = build(buf, req, VHOST_USER_VERSION, payload, size);

	return vireo_vhost_user_msg_parse(&msg, buf, len, fds, false);
}

static void test_table(void **state)
{
	(void)state;
	assert_string_equal(vireo_vhost_user_request_name(VHOST_USER_SET_MEM_TABLE),
			    "SET_MEM_TABLE");
	assert_string_equal(vireo_vhost_user_request_name(38), "REM_MEM_REG");
	assert_null(vireo_vhost_user_request_name(6)); /* SET_LOG_BASE: not spoken */
	assert_null(vireo_vhost_user_request_name(0));
	assert_true(vireo_vhost_user_request_has_reply(VHOST_USER_GET_FEATURES));
	assert_true(vireo_vhost_user_request_has_reply(VHOST_USER_GET_VRING_BASE));
	assert_true(vireo_vhost_user_request_has_reply(VHOST_USER_GET_CONFIG));
	assert_false(vireo_vhost_user_request_has_reply(VHOST_USER_SET_FEATURES));
	assert_false(vireo_vhost_user_request_has_reply(999));
}

static void test_fixed_sizes(void **state)
{
	uint8_t zero[64] = {0};

	(void)state;
	assert_int_equal(parse(VHOST_USER_GET_FEATURES, NULL, 0, 0), 0);
	assert_int_equal(parse(VHOST_USER_GET_FEATURES, zero, 8, 0), -EMSGSIZE);
	assert_int_equal(parse(VHOST_USER_SET_FEATURES, zero, 8, 0), 0);
	assert_int_equal(parse(VHOST_USER_SET_FEATURES, zero, 4, 0), -EMSGSIZE);
	assert_int_equal(parse(VHOST_USER_SET_FEATURES, zero, 16, 0), -EMSGSIZE);
	assert_int_equal(parse(VHOST_USER_SET_VRING_NUM, zero, 8, 0), 0);
	assert_int_equal(parse(VHOST_USER_SET_VRING_NUM, zero, 7, 0), -EMSGSIZE);
	assert_int_equal(parse(VHOST_USER_SET_VRING_ADDR, zero, 40, 0), 0);
	assert_int_equal(parse(VHOST_USER_SET_VRING_ADDR, zero, 32, 0), -EMSGSIZE);
	assert_int_equal(parse(VHOST_USER_GET_VRING_BASE, zero, 8, 0), 0);
	assert_int_equal(parse(VHOST_USER_SET_VRING_ENABLE, zero, 0, 0), -EMSGSIZE);
	assert_int_equal(parse(VHOST_USER_RESET_DEVICE, NULL, 0, 0), 0);
	assert_int_equal(parse(VHOST_USER_GET_MAX_MEM_SLOTS, NULL, 0, 0), 0);
	assert_int_equal(parse(VHOST_USER_ADD_MEM_REG, zero, 40, 1), 0);
	assert_int_equal(parse(VHOST_USER_ADD_MEM_REG, zero, 32, 1), -EMSGSIZE);
	/* struct vhost_user_iotlb is 32 bytes, struct vhost_user_inflight 24. */
	assert_int_equal(parse(VHOST_USER_IOTLB_MSG, zero, 32, 0), 0);
	assert_int_equal(parse(VHOST_USER_IOTLB_MSG, zero, 31, 0), -EMSGSIZE);
	assert_int_equal(parse(VHOST_USER_IOTLB_MSG, zero, 33, 0), -EMSGSIZE);
	assert_int_equal(parse(VHOST_USER_GET_INFLIGHT_FD, zero, 24, 0), 0);
	assert_int_equal(parse(VHOST_USER_GET_INFLIGHT_FD, zero, 16, 0), -EMSGSIZE);
	assert_int_equal(parse(VHOST_USER_SET_INFLIGHT_FD, zero, 24, 1), 0);
	assert_int_equal(parse(VHOST_USER_SET_INFLIGHT_FD, zero, 32, 1), -EMSGSIZE);
}

static void test_unknown_and_flags(void **state)
{
	struct vhost_user_msg msg;
	uint8_t buf[64];
	size_t len;

	(void)state;
	assert_int_equal(parse(6, NULL, 0, 0), -ENOTSUP);
	assert_int_equal(parse(0, NULL, 0, 0), -ENOTSUP);
	assert_int_equal(parse(0xffffffffu, NULL, 0, 0), -ENOTSUP);
	len = build(buf, VHOST_USER_GET_FEATURES, 0x2, NULL, 0); /* version 2 */
	assert_int_equal(vireo_vhost_user_msg_parse(&msg, buf, len, 0, false), -EPROTO);
	len = build(buf, VHOST_USER_GET_FEATURES, 0x1 | VHOST_USER_REPLY_MASK, NULL, 0);
	assert_int_equal(vireo_vhost_user_msg_parse(&msg, buf, len, 0, false), -EPROTO);
	len = build(buf, VHOST_USER_GET_FEATURES, 0x1 | 0x100, NULL, 0); /* unknown flag */
	assert_int_equal(vireo_vhost_user_msg_parse(&msg, buf, len, 0, false), -EPROTO);
	len = build(buf, VHOST_USER_GET_FEATURES, 0x1 | VHOST_USER_NEED_REPLY_MASK, NULL, 0);
	assert_int_equal(vireo_vhost_user_msg_parse(&msg, buf, len, 0, false), 0);
	/* Truncated or extended byte strings. */
	assert_int_equal(vireo_vhost_user_msg_parse(&msg, buf, 11, 0, false), -EMSGSIZE);
	len = build(buf, VHOST_USER_SET_FEATURES, 1, "12345678", 8);
	assert_int_equal(vireo_vhost_user_msg_parse(&msg, buf, len - 1, 0, false), -EMSGSIZE);
	assert_int_equal(vireo_vhost_user_msg_parse(&msg, buf, len + 1, 0, false), -EMSGSIZE);
	assert_int_equal(vireo_vhost_user_msg_parse(&msg, buf, len, 0, false), 0);
	assert_int_equal(msg.payload.u64, 0x3837363534333231ull);
}

static void test_memtable_rule(void **state)
{
	struct vhost_user_memory m;
	unsigned int n;

	(void)state;
	memset(&m, 0, sizeof(m));
	for (n = 0; n <= VHOST_USER_MEM_REGIONS_MAX; n++) {
		uint32_t size = (uint32_t)(8 + n * sizeof(struct vhost_user_mem_region));

		m.nregions = n;
		assert_int_equal(parse(VHOST_USER_SET_MEM_TABLE, &m, size, n), 0);
		assert_int_equal(parse(VHOST_USER_SET_MEM_TABLE, &m, size, n + 1), -EBADF);
		if (n)
			assert_int_equal(parse(VHOST_USER_SET_MEM_TABLE, &m, size, n - 1), -EBADF);
		if (n < VHOST_USER_MEM_REGIONS_MAX)
			assert_int_equal(parse(VHOST_USER_SET_MEM_TABLE, &m, size + 32, n),
					 -EMSGSIZE);
	}
	m.nregions = 9;
	assert_int_equal(parse(VHOST_USER_SET_MEM_TABLE, &m, sizeof(m), 8), -EMSGSIZE);
	m.nregions = 0xffffffffu;
	assert_int_equal(parse(VHOST_USER_SET_MEM_TABLE, &m, sizeof(m), 8), -EMSGSIZE);
	assert_int_equal(parse(VHOST_USER_SET_MEM_TABLE, &m, 4, 0), -EMSGSIZE);
}

static void test_config_rule(void **state)
{
	struct vhost_user_config c;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.size = 60;
	assert_int_equal(parse(VHOST_USER_GET_CONFIG, &c, 12 + 60, 0), 0);
	assert_int_equal(parse(VHOST_USER_GET_CONFIG, &c, 12 + 59, 0), -EMSGSIZE);
	assert_int_equal(parse(VHOST_USER_SET_CONFIG, &c, 12 + 60, 0), 0);
	c.size = VHOST_USER_CONFIG_MAX;
	assert_int_equal(parse(VHOST_USER_SET_CONFIG, &c, sizeof(c), 0), 0);
	c.size = VHOST_USER_CONFIG_MAX + 1;
	assert_int_equal(parse(VHOST_USER_SET_CONFIG, &c, sizeof(c), 0), -EMSGSIZE);
	assert_int_equal(parse(VHOST_USER_GET_CONFIG, &c, 8, 0), -EMSGSIZE);
}

static void test_fd_rules(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(parse(VHOST_USER_SET_VRING_KICK, &v, 8, 1), 0);
	assert_int_equal(parse(VHOST_USER_SET_VRING_KICK, &v, 8, 0), -EBADF);
	assert_int_equal(parse(VHOST_USER_SET_VRING_KICK, &v, 8, 2), -EBADF);
	v = VHOST_USER_VRING_NOFD_MASK | 3;
	assert_int_equal(parse(VHOST_USER_SET_VRING_CALL, &v, 8, 0), 0);
	assert_int_equal(parse(VHOST_USER_SET_VRING_CALL, &v, 8, 1), -EBADF);
	assert_int_equal(parse(VHOST_USER_SET_VRING_ERR, &v, 8, 0), 0);
	assert_int_equal(parse(VHOST_USER_SET_FEATURES, &v, 8, 1), -EBADF);
	assert_int_equal(parse(VHOST_USER_GET_FEATURES, NULL, 0, 1), -EBADF);
	assert_int_equal(parse(VHOST_USER_ADD_MEM_REG, (uint8_t[40]){0}, 40, 0), -EBADF);
	assert_int_equal(parse(VHOST_USER_ADD_MEM_REG, (uint8_t[40]){0}, 40, 2), -EBADF);
	assert_int_equal(parse(VHOST_USER_REM_MEM_REG, (uint8_t[40]){0}, 40, 0), 0);
	assert_int_equal(parse(VHOST_USER_REM_MEM_REG, (uint8_t[40]){0}, 40, 1), 0);
	assert_int_equal(parse(VHOST_USER_REM_MEM_REG, (uint8_t[40]){0}, 40, 2), -EBADF);
	assert_int_equal(parse(VHOST_USER_GET_FEATURES, NULL, 0, 9), -EBADF);
}

static void test_reply_rules(void **state)
{
	struct vhost_user_msg msg;
	uint8_t buf[64];
	uint64_t v = 7;
	size_t len;
	uint32_t f = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK;

	(void)state;
	len = build(buf, VHOST_USER_GET_FEATURES, f, &v, 8);
	assert_int_equal(vireo_vhost_user_msg_parse(&msg, buf, len, 0, true), 0);
	assert_int_equal(vireo_vhost_user_msg_parse(&msg, buf, len, 0, false), -EPROTO);
	len = build(buf, VHOST_USER_SET_MEM_TABLE, f, &v, 8); /* REPLY_ACK status */
	assert_int_equal(vireo_vhost_user_msg_parse(&msg, buf, len, 0, true), 0);
	assert_int_equal(vireo_vhost_user_msg_parse(&msg, buf, len, 1, true), -EBADF);
	len = build(buf, VHOST_USER_GET_VRING_BASE, f, &v, 8);
	assert_int_equal(vireo_vhost_user_msg_parse(&msg, buf, len, 0, true), 0);
	len = build(buf, VHOST_USER_GET_CONFIG, f, NULL, 0); /* the error answer */
	assert_int_equal(vireo_vhost_user_msg_parse(&msg, buf, len, 0, true), 0);
	len = build(buf, VHOST_USER_GET_FEATURES, f, NULL, 0);
	assert_int_equal(vireo_vhost_user_msg_parse(&msg, buf, len, 0, true), -EMSGSIZE);
}

/* ---- over a socket ---- */

static int setup_pair(void **state)
{
	static int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	*state = sv;
	return 0;
}

static int teardown_pair(void **state)
{
	int *sv = *state;

	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	return 0;
}

static void send_raw(int fd, const void *buf, size_t len, const int *fds, unsigned int nfds)
{
	char control[CMSG_SPACE(16 * sizeof(int))];
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (nfds) {
		struct cmsghdr *c;

		memset(control, 0, sizeof(control));
		mh.msg_control = control;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	assert_int_equal(sendmsg(fd, &mh, 0), (ssize_t)len);
}

static void test_roundtrip_fds(void **state)
{
	int *sv = *state;
	struct vhost_user_msg out, in;
	int efd = eventfd(0, EFD_CLOEXEC), fd;
	unsigned int before;

	assert_true(efd >= 0);
	before = fd_count_open();
	vireo_vhost_user_msg_init(&out, VHOST_USER_SET_VRING_KICK, 8);
	out.payload.u64 = 5;
	assert_int_equal(vireo_vhost_user_send(sv[0], &out, &efd, 1), 0);
	assert_int_equal(vireo_vhost_user_recv(sv[1], &in, false), 0);
	assert_int_equal(in.hdr.request, VHOST_USER_SET_VRING_KICK);
	assert_int_equal(in.payload.u64, 5);
	assert_int_equal(in.num_fds, 1);
	assert_true(vireo_vhost_user_fd_is_eventfd(in.fds[0]));
	assert_true(fcntl(in.fds[0], F_GETFD) & FD_CLOEXEC);
	fd = vireo_vhost_user_msg_take_fd(&in, 0);
	assert_true(fd >= 0);
	assert_int_equal(vireo_vhost_user_msg_take_fd(&in, 0), -1);
	assert_int_equal(fd_count_open(), before + 1);
	close(fd);
	vireo_vhost_user_msg_close_fds(&in);
	assert_int_equal(fd_count_open(), before);
	assert_false(vireo_vhost_user_fd_is_eventfd(sv[0]));
	assert_false(vireo_vhost_user_fd_is_eventfd(-1));
	close(efd);
}

static void test_recv_errors(void **state)
{
	int *sv = *state;
	struct vhost_user_msg in;
	uint8_t buf[64];
	size_t len;
	int efd = eventfd(0, EFD_CLOEXEC), fds[2] = {efd, efd};
	unsigned int before = fd_count_open();

	/*
	 * Unknown request, oversized payload, wrong fd count: fds closed. (An
	 * unknown request's payload is not read: the stream is then out of
	 * step, and the back-end closes it. Here it has none.)
	 */
	len = build(buf, 6, 1, NULL, 0);
	send_raw(sv[0], buf, len, fds, 1);
	assert_int_equal(vireo_vhost_user_recv(sv[1], &in, false), -ENOTSUP);
	assert_int_equal(fd_count_open(), before);
	len = build(buf, VHOST_USER_SET_FEATURES, 1, NULL, 0);
	((struct vhost_user_header *)buf)->size = 100000;
	send_raw(sv[0], buf, len, NULL, 0);
	assert_int_equal(vireo_vhost_user_recv(sv[1], &in, false), -EMSGSIZE);
	len = build(buf, VHOST_USER_SET_VRING_CALL, 1, "\0\0\0\0\0\0\0\0", 8);
	send_raw(sv[0], buf, len, fds, 2);
	assert_int_equal(vireo_vhost_user_recv(sv[1], &in, false), -EBADF);
	assert_int_equal(fd_count_open(), before);
	/* Fds arriving with the payload rather than the header. */
	len = build(buf, VHOST_USER_SET_VRING_CALL, 1, "\0\0\0\0\0\0\0\0", 8);
	send_raw(sv[0], buf, 12, NULL, 0);
	send_raw(sv[0], buf + 12, 8, fds, 1);
	assert_int_equal(vireo_vhost_user_recv(sv[1], &in, false), -ECOMM);
	assert_int_equal(fd_count_open(), before);
	close(efd);
}

static void test_recv_ctrunc(void **state)
{
	int *sv = *state;
	struct vhost_user_msg in;
	uint8_t buf[64];
	int fds[12];
	unsigned int i, before;
	size_t len;

	for (i = 0; i < 12; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	before = fd_count_open();
	len = build(buf, VHOST_USER_GET_FEATURES, 1, NULL, 0);
	send_raw(sv[0], buf, len, fds, 12);
	assert_int_equal(vireo_vhost_user_recv(sv[1], &in, false), -ECOMM);
	assert_int_equal(fd_count_open(), before);
	for (i = 0; i < 12; i++)
		close(fds[i]);
}

static void test_recv_truncated(void **state)
{
	int *sv = *state;
	struct vhost_user_msg in;
	uint8_t buf[64];
	size_t len;

	/* Payload cut short by the end of the stream. */
	len = build(buf, VHOST_USER_SET_FEATURES, 1, "abcdefgh", 8);
	send_raw(sv[0], buf, len - 3, NULL, 0);
	shutdown(sv[0], SHUT_WR);
	assert_int_equal(vireo_vhost_user_recv(sv[1], &in, false), -EPIPE);
	assert_int_equal(vireo_vhost_user_recv(sv[1], &in, false), -ECONNRESET);
}

static void test_recv_truncated_header(void **state)
{
	int *sv = *state;
	struct vhost_user_msg in;
	uint8_t buf[64];

	build(buf, VHOST_USER_GET_FEATURES, 1, NULL, 0);
	send_raw(sv[0], buf, 7, NULL, 0);
	shutdown(sv[0], SHUT_WR);
	assert_int_equal(vireo_vhost_user_recv(sv[1], &in, false), -EPIPE);
}

static void test_send_reply(void **state)
{
	int *sv = *state;
	struct vhost_user_msg out, in;
	int fds[9] = {0};

	vireo_vhost_user_msg_init(&out, VHOST_USER_GET_FEATURES, 8);
	out.hdr.flags |= VHOST_USER_REPLY_MASK;
	out.payload.u64 = 0x1234;
	assert_int_equal(vireo_vhost_user_send(sv[0], &out, NULL, 0), 0);
	assert_int_equal(vireo_vhost_user_recv(sv[1], &in, true), 0);
	assert_int_equal(in.payload.u64, 0x1234);
	assert_int_equal(vireo_vhost_user_send(sv[0], &out, fds, 9), -EINVAL);
	out.hdr.size = 100000;
	assert_int_equal(vireo_vhost_user_send(sv[0], &out, NULL, 0), -EINVAL);
	close(sv[1]);
	sv[1] = -1;
	out.hdr.size = 8;
	assert_int_equal(vireo_vhost_user_send(sv[0], &out, NULL, 0), -EPIPE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_fixed_sizes),
		cmocka_unit_test(test_unknown_and_flags),
		cmocka_unit_test(test_memtable_rule),
		cmocka_unit_test(test_config_rule),
		cmocka_unit_test(test_fd_rules),
		cmocka_unit_test(test_reply_rules),
		cmocka_unit_test_setup_teardown(test_roundtrip_fds, setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_recv_errors, setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_recv_ctrunc, setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_recv_truncated, setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_recv_truncated_header, setup_pair,
						teardown_pair),
		cmocka_unit_test_setup_teardown(test_send_reply, setup_pair, teardown_pair),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
