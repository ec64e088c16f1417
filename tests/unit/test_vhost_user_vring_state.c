// SPDX-License-Identifier: MIT
/*
 * The four vhost-user messages whose payload is a vring state (8 bytes:
 * index, num): GET_VRING_BASE, SET_VRING_BASE, SET_VRING_NUM and
 * SET_VRING_ENABLE. One byte short or one byte long is refused by the
 * message layer (vireo_vhost_user_msg_parse) and by a running back-end (our blk
 * model behind vhost_user_backend, in a thread, over a real socket): the
 * connection is closed, with exactly one log line saying why, and the next
 * front-end is served. SET_VRING_ENABLE with a value other than 0 or 1 is
 * refused the same way (vhost-user.rst "SET_VRING_ENABLE": 0 or 1).
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

#include "tests/lib/vu_client.h"
#include "tests/lib/vu_watch.h"

#define STATE_SIZE ((uint32_t)sizeof(struct vhost_user_vring_state))

static const uint64_t version_1 =
	VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES);

static const uint32_t state_requests[] = {
	VHOST_USER_GET_VRING_BASE,
	VHOST_USER_SET_VRING_BASE,
	VHOST_USER_SET_VRING_NUM,
	VHOST_USER_SET_VRING_ENABLE,
};

static int setup(void **state)
{
	struct vu_watch *w = malloc(sizeof(*w));
	struct blk_device_options bo = {.serial = "vu-state"};

	assert_non_null(w);
	vu_watch_start(w, "/tmp/vireo-vus-XXXXXX", &bo, NULL);
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	vu_watch_stop(*state);
	free(*state);
	return 0;
}

/* ---- the message layer ---- */

static int parse_state(uint32_t request, uint32_t size, uint32_t num)
{
	struct vhost_user_header h = {
		.request = request, .flags = VHOST_USER_VERSION, .size = size};
	struct vhost_user_vring_state st = {.index = 0, .num = num};
	uint8_t buf[sizeof(h) + STATE_SIZE + 1] = {0};
	struct vhost_user_msg msg;

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), &st, sizeof(st));
	return vireo_vhost_user_msg_parse(&msg, buf, sizeof(h) + size, 0, false);
}

static void test_parse_sizes(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(state_requests) / sizeof(state_requests[0]); i++) {
		uint32_t r = state_requests[i];

		assert_int_equal(parse_state(r, STATE_SIZE, 1), 0);
		assert_int_equal(parse_state(r, STATE_SIZE - 1, 1), -EMSGSIZE);
		assert_int_equal(parse_state(r, STATE_SIZE + 1, 1), -EMSGSIZE);
		assert_int_equal(parse_state(r, 4, 1), -EMSGSIZE);
		assert_int_equal(parse_state(r, 0, 1), -EMSGSIZE);
	}
}

/* ---- a front-end over the socket (tests/lib/vu_client) ---- */

/*
 * The well-formed message first: accepted (ack 0, or GET_VRING_BASE's reply),
 * so what follows is refused for its own fault only.
 */
static void c_state_ok(struct vu_client *c, uint32_t request, uint32_t num)
{
	if (request == VHOST_USER_GET_VRING_BASE)
		(void)vu_client_get_vring_base(c, 0);
	else
		vu_client_state(c, request, 0, num);
}

/*
 * One front-end: negotiate, @request well-formed (num @ok_num), then
 * @request with @size bytes and num @bad_num. The back-end must close the
 * connection with one log line, and give @why as the reason.
 * The back-end's stderr goes to a file meanwhile.
 */
static void hostile_state(struct vu_watch *w, uint32_t request, uint32_t ok_num, uint32_t size,
			  uint32_t bad_num, const char *why)
{
	struct vu_client *c = vu_watch_begin(w);

	vu_client_negotiate(c, version_1);
	c_state_ok(c, request, ok_num);
	vu_client_send_state(c, request, size, 0, bad_num, request != VHOST_USER_GET_VRING_BASE);
	vu_watch_expect_closed(w, why);
	printf("# %s, %u bytes, num %u: \"%s\"\n", vireo_vhost_user_request_name(request), size,
	       bad_num, why);
}

/* A whole good session after the hostile ones: the server still serves. */
static void good_session(struct vu_watch *w)
{
	struct vu_client c;

	vu_client_connect(&c, w->fx.sock);
	vu_client_negotiate(&c, version_1);
	for (size_t i = 0; i < sizeof(state_requests) / sizeof(state_requests[0]); i++)
		c_state_ok(&c, state_requests[i],
			   state_requests[i] == VHOST_USER_SET_VRING_NUM ? 64 : 0);
	vu_client_close(&c);
}

static void test_server_sizes(void **state)
{
	struct vu_watch *w = *state;

	for (size_t i = 0; i < sizeof(state_requests) / sizeof(state_requests[0]); i++) {
		uint32_t r = state_requests[i];
		uint32_t ok = r == VHOST_USER_SET_VRING_NUM ? 64 : r == VHOST_USER_SET_VRING_ENABLE;

		hostile_state(w, r, ok, STATE_SIZE - 1, ok, "wrong payload size");
		hostile_state(w, r, ok, STATE_SIZE + 1, ok, "wrong payload size");
	}
	good_session(w);
}

static void test_server_enable_values(void **state)
{
	static const uint32_t bad[] = {2, 3, 0x100, 0x101, 0xffffffffu};
	struct vu_watch *w = *state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		hostile_state(w, VHOST_USER_SET_VRING_ENABLE, 0, STATE_SIZE, bad[i],
			      "SET_VRING_ENABLE with a value other than 0 or 1");
	good_session(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_sizes),
		cmocka_unit_test_setup_teardown(test_server_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_enable_values, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
