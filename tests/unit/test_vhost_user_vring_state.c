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

#include "tests/lib/fd_count.h"
#include "tests/lib/vu_blk_fixture.h"
#include "tests/lib/vu_client.h"

#define WAIT_MS 10000
#define STATE_SIZE ((uint32_t)sizeof(struct vhost_user_vring_state))

static const uint64_t version_1 =
	VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES);

static const uint32_t state_requests[] = {
	VHOST_USER_GET_VRING_BASE,
	VHOST_USER_SET_VRING_BASE,
	VHOST_USER_SET_VRING_NUM,
	VHOST_USER_SET_VRING_ENABLE,
};

struct server {
	struct vu_blk_fixture fx;
	pthread_mutex_t lock;
	unsigned long disconnects;
	char reason[128]; /* of the last disconnection */
	unsigned int fds_before;
	/* a hostile exchange in progress; teardown undoes it if an assert cut it short */
	struct vu_client client;
	int saved_stderr, log_fd;
	char log_path[64];
};

/* Send the back-end's log lines (stderr) to a fresh file until log_restore(). */
static void log_capture(struct server *s)
{
	strcpy(s->log_path, "/tmp/vireo-vus-log-XXXXXX");
	s->log_fd = mkstemp(s->log_path);
	assert_true(s->log_fd >= 0);
	fflush(stderr);
	s->saved_stderr = dup(STDERR_FILENO);
	assert_true(s->saved_stderr >= 0);
	assert_true(dup2(s->log_fd, STDERR_FILENO) >= 0);
}

static void log_restore(struct server *s)
{
	if (s->saved_stderr < 0)
		return;
	fflush(stderr);
	(void)dup2(s->saved_stderr, STDERR_FILENO);
	close(s->saved_stderr);
	close(s->log_fd);
	s->saved_stderr = s->log_fd = -1;
}

static void on_disconnect(void *opaque, unsigned long conn, const char *reason)
{
	struct server *s = opaque;

	(void)conn;
	pthread_mutex_lock(&s->lock);
	snprintf(s->reason, sizeof(s->reason), "%s", reason ? reason : "(peer closed)");
	s->disconnects++;
	pthread_mutex_unlock(&s->lock);
}

static int setup(void **state)
{
	struct server *s = calloc(1, sizeof(*s));
	struct blk_device_options bo = {.serial = "vu-state"};
	struct vhost_user_backend_options vo = {.on_disconnect = on_disconnect};

	assert_non_null(s);
	s->client.sock = s->saved_stderr = s->log_fd = -1;
	s->fds_before = fd_count_open();
	pthread_mutex_init(&s->lock, NULL);
	vo.opaque = s;
	vu_blk_fixture_start(&s->fx, "/tmp/vireo-vus-XXXXXX", &bo, &vo);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct server *s = *state;

	log_restore(s);
	if (s->log_path[0])
		unlink(s->log_path);
	if (s->client.sock >= 0)
		vu_client_close(&s->client);
	vu_blk_fixture_stop(&s->fx);
	pthread_mutex_destroy(&s->lock);
	assert_int_equal(fd_count_open(), s->fds_before);
	free(s);
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

/* Bounded wait for the back-end's disconnect callback number @n; Return: its reason. */
static const char *wait_disconnect(struct server *s, unsigned long n)
{
	for (int i = 0; i < WAIT_MS; i++) {
		unsigned long d;

		pthread_mutex_lock(&s->lock);
		d = s->disconnects;
		pthread_mutex_unlock(&s->lock);
		if (d >= n)
			return s->reason;
		usleep(1000);
	}
	fail_msg("the back-end never reported the disconnection");
	return NULL;
}

/* Lines in @path that contain @what. */
static unsigned int count_lines(const char *path, const char *what)
{
	FILE *f = fopen(path, "re");
	char line[512];
	unsigned int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, what) != NULL;
	fclose(f);
	return n;
}

/*
 * One front-end: negotiate, @request well-formed (num @ok_num), then
 * @request with @size bytes and num @bad_num. The back-end must close the
 * connection with one log line, and give @why as the reason.
 * The back-end's stderr goes to a file meanwhile.
 */
static void hostile_state(struct server *s, uint32_t request, uint32_t ok_num, uint32_t size,
			  uint32_t bad_num, const char *why)
{
	unsigned long before;

	pthread_mutex_lock(&s->lock);
	before = s->disconnects;
	pthread_mutex_unlock(&s->lock);
	log_capture(s);
	vu_client_connect(&s->client, s->fx.sock);
	vu_client_negotiate(&s->client, version_1);
	c_state_ok(&s->client, request, ok_num);
	vu_client_send_state(&s->client, request, size, 0, bad_num,
			     request != VHOST_USER_GET_VRING_BASE);
	vu_client_expect_closed(&s->client);
	vu_client_close(&s->client);
	assert_string_equal(wait_disconnect(s, before + 1), why);
	log_restore(s);
	printf("# %s, %u bytes, num %u: \"%s\"\n", vireo_vhost_user_request_name(request), size,
	       bad_num, why);
	assert_int_equal(count_lines(s->log_path, "vhost-user"), 1);
	assert_int_equal(count_lines(s->log_path, "closing"), 1);
	unlink(s->log_path);
	s->log_path[0] = '\0';
}

/* A whole good session after the hostile ones: the server still serves. */
static void good_session(struct server *s)
{
	struct vu_client c;

	vu_client_connect(&c, s->fx.sock);
	vu_client_negotiate(&c, version_1);
	for (size_t i = 0; i < sizeof(state_requests) / sizeof(state_requests[0]); i++)
		c_state_ok(&c, state_requests[i],
			   state_requests[i] == VHOST_USER_SET_VRING_NUM ? 64 : 0);
	vu_client_close(&c);
}

static void test_server_sizes(void **state)
{
	struct server *s = *state;

	for (size_t i = 0; i < sizeof(state_requests) / sizeof(state_requests[0]); i++) {
		uint32_t r = state_requests[i];
		uint32_t ok = r == VHOST_USER_SET_VRING_NUM ? 64 : r == VHOST_USER_SET_VRING_ENABLE;

		hostile_state(s, r, ok, STATE_SIZE - 1, ok, "wrong payload size");
		hostile_state(s, r, ok, STATE_SIZE + 1, ok, "wrong payload size");
	}
	good_session(s);
}

static void test_server_enable_values(void **state)
{
	static const uint32_t bad[] = {2, 3, 0x100, 0x101, 0xffffffffu};
	struct server *s = *state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		hostile_state(s, VHOST_USER_SET_VRING_ENABLE, 0, STATE_SIZE, bad[i],
			      "SET_VRING_ENABLE with a value other than 0 or 1");
	good_session(s);
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
