// SPDX-License-Identifier: MIT
/*
 * SET_CONFIG's flags field (vhost-user.rst, SET_CONFIG: the back-end "must check the
 * flags field"; 0 is VHOST_SET_CONFIG_TYPE_FRONTEND, 1 VHOST_SET_CONFIG_TYPE_MIGRATION).
 * Our device models' config spaces are read-only, so a refusal there cannot be told from
 * a bad flags value: here the back-end serves the fake model of tests/lib/fake_vdev,
 * whose config bytes 8..15 are writable, to a scripted front-end (tests/lib/vu_client).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vireo/event_loop.h>
#include <vireo/spec.h>
#include <vireo/vhost_user.h>
#include <vireo/vhost_user_backend.h>

#include "tests/lib/fake_vdev.h"
#include "tests/lib/vu_client.h"

struct server {
	struct fvdev *f;
	char dir[64];
	char sock[128];
	struct vhost_user_backend *b;
	pthread_t thread;
};

static void *server_thread(void *arg)
{
	struct server *s = arg;

	assert_int_equal(vireo_vhost_user_backend_run(s->b), 0);
	return NULL;
}

static int setup(void **state)
{
	struct vhost_user_backend_options vo = {.socket_path = NULL};
	struct server *s = calloc(1, sizeof(*s));
	void *fstate;

	assert_non_null(s);
	assert_int_equal(fvdev_setup(&fstate), 0);
	s->f = fstate;
	/* vu_client_negotiate() asks for a modern device */
	s->f->vdev.offered_features |= F_V1;
	strcpy(s->dir, "/tmp/vireo-vusc-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->sock, sizeof(s->sock), "%s/sock", s->dir);
	vo.socket_path = s->sock;
	assert_int_equal(vireo_vhost_user_backend_new(&s->b, &s->f->vdev, &s->f->loop, &vo), 0);
	assert_int_equal(pthread_create(&s->thread, NULL, server_thread, s), 0);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct server *s = *state;
	void *fstate = s->f;

	vireo_event_loop_stop(&s->f->loop);
	assert_int_equal(pthread_join(s->thread, NULL), 0);
	vireo_vhost_user_backend_free(s->b);
	rmdir(s->dir);
	fvdev_teardown(&fstate);
	free(s);
	return 0;
}

/* SET_CONFIG of @len bytes of @bytes at @offset with @flags. Return: the REPLY_ACK status. */
static uint64_t set_config(struct vu_client *c, uint32_t offset, uint32_t flags,
			   const uint8_t *bytes, uint32_t len)
{
	struct vhost_user_config cfg = {.offset = offset, .size = len, .flags = flags};

	memcpy(cfg.region, bytes, len);
	return vu_client_ack(c, VHOST_USER_SET_CONFIG, &cfg, VHOST_USER_CONFIG_HDR_SIZE + len, NULL,
			     0);
}

/* The device's config bytes [@offset, @offset + @len), read back with GET_CONFIG. */
static void get_config(struct vu_client *c, uint32_t offset, uint8_t *out, uint32_t len)
{
	struct vhost_user_config cfg = {.offset = offset, .size = len};
	struct vhost_user_msg m;

	assert_int_equal(vu_client_send(c, VHOST_USER_GET_CONFIG, &cfg,
					VHOST_USER_CONFIG_HDR_SIZE + len, NULL, 0, false),
			 0);
	vu_client_reply(c, VHOST_USER_GET_CONFIG, &m);
	assert_int_equal(m.hdr.size, VHOST_USER_CONFIG_HDR_SIZE + len);
	memcpy(out, m.payload.config.region, len);
}

/*
 * D-VU-30: flags 0 and 1 write the writable field; any other flags value is refused
 * (failure status, nothing written), the connection kept. The model would take each
 * of those writes: only the back-end's flags check stands between them and the field.
 */
static void test_set_config_checks_flags(void **state)
{
	static const uint32_t bad_flags[] = {2, 3, 7, 0x100, 0x80000000u, 0xffffffffu};
	const uint8_t front[4] = {0xa1, 0xa2, 0xa3, 0xa4}, migr[4] = {0xb1, 0xb2, 0xb3, 0xb4};
	const uint8_t bad[4] = {0xee, 0xee, 0xee, 0xee};
	struct server *s = *state;
	struct vu_client c;
	uint8_t got[4];
	unsigned int i;

	vu_client_connect(&c, s->sock);
	vu_client_negotiate_queues(&c, F_V1 | VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES),
				   FVDEV_QUEUES);
	assert_int_equal(set_config(&c, 8, 0, front, sizeof(front)), 0);
	get_config(&c, 8, got, sizeof(got));
	assert_memory_equal(got, front, sizeof(front));
	assert_int_equal(set_config(&c, 12, 1, migr, sizeof(migr)), 0);
	get_config(&c, 12, got, sizeof(got));
	assert_memory_equal(got, migr, sizeof(migr));
	for (i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++) {
		assert_true(set_config(&c, 8, bad_flags[i], bad, sizeof(bad)) != 0);
		get_config(&c, 8, got, sizeof(got));
		assert_memory_equal(got, front, sizeof(front));
	}
	/* still served after the refusals */
	assert_int_equal(set_config(&c, 8, 0, migr, sizeof(migr)), 0);
	get_config(&c, 8, got, sizeof(got));
	assert_memory_equal(got, migr, sizeof(migr));
	vu_client_close(&c);
}

/*
 * vhost-user.rst: GET_CONFIG and SET_CONFIG are for a front-end that negotiated
 * PROTOCOL_F_CONFIG. Without it, GET_CONFIG gets the empty reply (the error form) and
 * SET_CONFIG is refused with nothing written; the connection is kept.
 */
static void test_config_needs_protocol_feature(void **state)
{
	const uint8_t bad[4] = {0xee, 0xee, 0xee, 0xee};
	const uint64_t pf = VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK);
	const uint64_t features = F_V1 | VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES);
	struct vhost_user_config cfg = {.offset = 8, .size = 4};
	struct server *s = *state;
	struct vhost_user_msg m;
	struct vu_client c;
	uint8_t before[4], after[4];

	vu_client_connect(&c, s->sock);
	vu_client_negotiate_queues(&c, features, FVDEV_QUEUES);
	get_config(&c, 8, before, sizeof(before));
	vu_client_close(&c);

	vu_client_connect(&c, s->sock);
	assert_int_equal(
		vu_client_send(&c, VHOST_USER_SET_PROTOCOL_FEATURES, &pf, 8, NULL, 0, false), 0);
	assert_int_equal(vu_client_ack(&c, VHOST_USER_SET_FEATURES, &features, 8, NULL, 0), 0);
	assert_true(set_config(&c, 8, 0, bad, sizeof(bad)) != 0);
	assert_int_equal(vu_client_send(&c, VHOST_USER_GET_CONFIG, &cfg,
					VHOST_USER_CONFIG_HDR_SIZE + 4, NULL, 0, false),
			 0);
	vu_client_reply(&c, VHOST_USER_GET_CONFIG, &m);
	assert_int_equal(m.hdr.size, 0);
	/* still connected: a request with a reply is answered */
	assert_true(vu_client_get_u64(&c, VHOST_USER_GET_FEATURES) & F_V1);
	vu_client_close(&c);

	vu_client_connect(&c, s->sock);
	vu_client_negotiate_queues(&c, features, FVDEV_QUEUES);
	get_config(&c, 8, after, sizeof(after));
	assert_memory_equal(after, before, sizeof(before));
	vu_client_close(&c);
}

/*
 * D-VU-31 and dev:BF/Device Configuration Space: SET_CONFIG past the end of the
 * config space (16 bytes here) is refused and nothing is written, though this model
 * writes wherever it is told from byte 8 on: the core's range check alone keeps it
 * in bounds (an overflow of the model's array would crash the ASan build).
 */
static void test_set_config_outside_config_space(void **state)
{
	static const uint32_t bad[][2] = {{12, 8}, {16, 1}, {250, 6}, {0xfffffff0u, 4}};
	const uint8_t bytes[8] = {0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee};
	struct server *s = *state;
	uint8_t before[16], after[16];
	struct vu_client c;
	unsigned int i;

	vu_client_connect(&c, s->sock);
	vu_client_negotiate_queues(&c, F_V1 | VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES),
				   FVDEV_QUEUES);
	get_config(&c, 0, before, sizeof(before));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(set_config(&c, bad[i][0], 0, bytes, bad[i][1]) != 0);
		get_config(&c, 0, after, sizeof(after));
		assert_memory_equal(after, before, sizeof(before));
	}
	/* The last writable bytes, exactly: taken. */
	assert_int_equal(set_config(&c, 8, 0, bytes, 8), 0);
	get_config(&c, 8, after, 8);
	assert_memory_equal(after, bytes, 8);
	vu_client_close(&c);
}

/*
 * A front-end such as QEMU waits for most replies with its main loop held: a message the
 * back-end takes >= 500 ms over is logged with its name and time (vub_log_slow()); a
 * quick one is not. The model's config write is made slow here; stderr goes to a file.
 */
static void test_slow_message_logged(void **state)
{
	const uint8_t bytes[4] = {1, 2, 3, 4};
	struct server *s = *state;
	char path[160], text[4096] = "", *slow;
	struct vu_client c;
	int saved, fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/stderr", s->dir);
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
	assert_true(fd >= 0);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	vu_client_connect(&c, s->sock);
	vu_client_negotiate_queues(&c, F_V1 | VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES),
				   FVDEV_QUEUES);
	assert_int_equal(set_config(&c, 8, 0, bytes, sizeof(bytes)), 0);
	s->f->config_write_delay_ms = 600;
	assert_int_equal(set_config(&c, 8, 0, bytes, sizeof(bytes)), 0);
	s->f->config_write_delay_ms = 0;
	vu_client_close(&c);
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	n = pread(fd, text, sizeof(text) - 1, 0);
	close(fd);
	unlink(path);
	assert_true(n > 0);
	/* Exactly one: the slow write, with its time; the quick one and the others say nothing. */
	slow = strstr(text, "SET_CONFIG took ");
	assert_non_null(slow);
	slow += strlen("SET_CONFIG took ");
	assert_true(atoi(slow) >= 600);
	assert_null(strstr(slow, "took "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_set_config_checks_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_config_outside_config_space, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_config_needs_protocol_feature, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_slow_message_logged, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
