// SPDX-License-Identifier: MIT
/*
 * The vhost-user back-end serves each running queue on its own thread: our blk
 * model with two queues behind vhost_user_backend, a scripted front-end over a
 * real socket, the process's threads counted in /proc/self/task.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdlib.h>

#include <vireo/blk_device.h>
#include <vireo/spec.h>
#include <vireo/vhost_user.h>
#include <vireo/vhost_user_backend.h>
#include <vireo/virtqueue.h>

#include "tests/lib/vu_blk_fixture.h"
#include "tests/lib/vu_client.h"

static int setup_mq(void **state)
{
	struct blk_device_options bo = {.serial = "vu-test", .num_queues = 2};
	struct vhost_user_backend_options vo = {0};
	struct vu_blk_fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	vu_blk_fixture_start(f, "/tmp/vireo-vu-XXXXXX", &bo, &vo);
	*state = f;
	return 0;
}

static int teardown_mq(void **state)
{
	struct vu_blk_fixture *f = *state;

	/* Every fd the front-end sent and every socket is closed again. */
	vu_blk_fixture_stop_closed(f);
	free(f);
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

/*
 * Two queues are served by two threads besides the control thread, and
 * GET_VRING_BASE of one queue while the other has I/O in flight is safe
 * (ASan/UBSan builds check the memory side).
 */
static void test_two_queue_threads(void **state)
{
	struct vu_blk_fixture *f = *state;
	uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
			    VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES) |
			    VIRTIO_BIT(VIRTIO_BLK_F_MQ);
	uint64_t pf =
		VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) | VIRTIO_BIT(VHOST_USER_PROTOCOL_F_MQ);
	struct vu_ring r[2];
	struct vu_client c;
	unsigned int base, i, round, q;

	base = count_tasks();
	vu_client_connect(&c, f->sock);
	(void)vu_client_get_u64(&c, VHOST_USER_GET_FEATURES);
	(void)vu_client_get_u64(&c, VHOST_USER_GET_PROTOCOL_FEATURES);
	assert_int_equal(
		vu_client_send(&c, VHOST_USER_SET_PROTOCOL_FEATURES, &pf, 8, NULL, 0, false), 0);
	assert_int_equal(vu_client_send(&c, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0, false), 0);
	assert_int_equal(vu_client_get_u64(&c, VHOST_USER_GET_QUEUE_NUM), 2);
	assert_int_equal(vu_client_ack(&c, VHOST_USER_SET_FEATURES, &features, 8, NULL, 0), 0);
	vu_client_mem(&c);
	for (q = 0; q < 2; q++)
		vu_ring_start(&r[q], &c, q);
	for (q = 0; q < 2; q++) {
		(void)vu_ring_read(&r[q], q);
		virtqueue_kick(&r[q].vq);
		vu_ring_wait(&r[q], 1);
	}
	/* Both queues served: one thread each, next to the main and control threads. */
	assert_int_equal(count_tasks(), base + 2);
	for (round = 0; round < 4; round++) {
		for (i = 0; i < 16; i++)
			(void)vu_ring_read(&r[1], i * 8);
		virtqueue_kick(&r[1].vq);
		/* Queue 0 stops while queue 1 has requests in flight. */
		if (round == 0)
			assert_int_equal(vu_client_get_vring_base(&c, 0), 1);
		vu_ring_wait(&r[1], 16);
	}
	/* Queue 1 still served by its own thread; queue 0's is gone. */
	assert_int_equal(count_tasks(), base + 1);
	for (q = 0; q < 2; q++)
		vu_ring_close(&r[q]);
	vu_client_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_two_queue_threads, setup_mq, teardown_mq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
