// SPDX-License-Identifier: MIT
/*
 * The loopback transport with a small device model of its own ("echo": two
 * queues, fills every device-writable buffer with queue index + 1) and a
 * test driver: probe, status sequence, config access, the data path through
 * the kick/call eventfds, config-change signals, concurrent waits on
 * different queues, and that teardown returns every fd.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/device.h>
#include <vireo/dma.h>
#include <vireo/driver.h>
#include <vireo/loopback.h>

#define ECHO_DEVICE_ID 42u
#define ECHO_QUEUES 2u
#define ECHO_QUEUE_SIZE 64u
#define ECHO_IOV 16u
#define ECHO_F_TEST 3u	   /* a device feature bit the driver accepts */
#define ECHO_F_UNWANTED 5u /* one it does not */
#define WAIT_MS 5000

struct echo_dev {
	struct vdev vdev;
	uint8_t config[8];
	unsigned int activations;
	unsigned int resets;
};

struct echo_drv_state {
	struct virtqueue *vqs[ECHO_QUEUES];
	unsigned int probes;
	unsigned int removes;
	unsigned int config_changes;
	unsigned int callbacks[ECHO_QUEUES];
	int probe_result;
};

/* ---- the device model ---- */

static struct echo_dev *to_echo(struct vdev *dev)
{
	return (struct echo_dev *)dev;
}

static int echo_config_write(struct vdev *dev, uint32_t offset, const void *buf, uint32_t len)
{
	/* Bytes 4..7 are writable, the rest read-only. */
	if (offset < 4)
		return -EPERM;
	memcpy(to_echo(dev)->config + offset, buf, len);
	return 0;
}

static int echo_activate(struct vdev *dev)
{
	to_echo(dev)->activations++;
	return 0;
}

static void echo_queue_notify(struct vdev *dev, struct vdev_queue *q)
{
	struct vring_iov iov[ECHO_IOV];
	struct vring_chain chain;
	unsigned int i;

	(void)dev;
	while (vireo_vdev_queue_pop(q, &chain, iov, ECHO_IOV) == 0) {
		/* GUEST: each iov was translated and bounds-checked by the pop. */
		for (i = chain.readable; i < (unsigned int)chain.readable + chain.writable; i++)
			memset(iov[i].base, q->index + 1, iov[i].len);
		if (vireo_vdev_queue_push(q, chain.head, chain.writable_bytes) < 0)
			break;
	}
	vireo_vdev_queue_flush(q);
}

static void echo_reset(struct vdev *dev)
{
	to_echo(dev)->resets++;
}

static const struct vdev_ops echo_ops = {
	.config_write = echo_config_write,
	.activate = echo_activate,
	.queue_notify = echo_queue_notify,
	.reset = echo_reset,
};

static struct echo_dev *echo_new(void)
{
	struct echo_dev *e = calloc(1, sizeof(*e));
	uint64_t features = VIRTIO_BIT(ECHO_F_TEST) | VIRTIO_BIT(ECHO_F_UNWANTED);

	assert_non_null(e);
	memcpy(e->config, "ECHO\0\0\0\0", 8);
	assert_int_equal(vireo_vdev_init(&e->vdev, &echo_ops, "echo", ECHO_DEVICE_ID, features,
					 ECHO_QUEUES, ECHO_QUEUE_SIZE, e->config,
					 sizeof(e->config)),
			 0);
	return e;
}

static void echo_free(struct echo_dev *e)
{
	vireo_vdev_destroy(&e->vdev);
	free(e);
}

/* ---- the driver ---- */

static void echo_cb0(struct virtqueue *vq)
{
	struct echo_drv_state *s = vq->vdev->priv;

	s->callbacks[0]++;
}

static void echo_cb1(struct virtqueue *vq)
{
	struct echo_drv_state *s = vq->vdev->priv;

	s->callbacks[1]++;
}

/* The test passes its state through the driver struct's neighbour (see struct echo_driver). */
struct echo_driver {
	struct virtio_driver drv;
	struct echo_drv_state *state;
};

static int echo_probe(struct virtio_device *vdev)
{
	struct echo_driver *ed = (struct echo_driver *)vdev->driver;
	struct echo_drv_state *s = ed->state;
	virtqueue_callback *cbs[ECHO_QUEUES] = {echo_cb0, echo_cb1};
	const char *const names[ECHO_QUEUES] = {"echo0", "echo1"};

	s->probes++;
	if (s->probe_result)
		return s->probe_result;
	vdev->priv = s;
	return vdev->config->find_vqs(vdev, ECHO_QUEUES, s->vqs, cbs, names);
}

static void echo_remove(struct virtio_device *vdev)
{
	struct echo_driver *ed = (struct echo_driver *)vdev->driver;

	ed->state->removes++;
}

static void echo_config_changed(struct virtio_device *vdev)
{
	struct echo_driver *ed = (struct echo_driver *)vdev->driver;

	ed->state->config_changes++;
}

static const struct virtio_device_id echo_ids[] = {{ECHO_DEVICE_ID, VIRTIO_DEV_ANY_ID}, {0, 0}};
static const unsigned int echo_feature_table[] = {ECHO_F_TEST};

/* ---- fixture ---- */

struct fixture {
	struct virtio_bus bus;
	struct echo_driver drv;
	struct echo_drv_state state;
	struct echo_dev *echo;
	struct loopback *lb;
	struct virtio_device *vdev;
	int fds_before;
};

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd */
}

static void fixture_driver(struct fixture *f)
{
	f->drv.drv = (struct virtio_driver){
		.name = "echo",
		.id_table = echo_ids,
		.feature_table = echo_feature_table,
		.feature_table_size = 1,
		.probe = echo_probe,
		.remove = echo_remove,
		.config_changed = echo_config_changed,
	};
	f->drv.state = &f->state;
	assert_int_equal(virtio_register_driver(&f->bus, &f->drv.drv), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->fds_before = count_fds();
	virtio_bus_init(&f->bus);
	fixture_driver(f);
	f->echo = echo_new();
	assert_int_equal(vireo_loopback_new(&f->lb, &f->bus, &f->echo->vdev, 1u << 20), 0);
	f->vdev = vireo_loopback_virtio_device(f->lb);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->lb)
		vireo_loopback_free(f->lb);
	virtio_unregister_driver(&f->bus, &f->drv.drv);
	echo_free(f->echo);
	free(f);
	return 0;
}

/* Runs in the device thread: copy the device's view. */
struct dev_view {
	uint8_t status;
	uint64_t acked;
	bool enabled[ECHO_QUEUES];
	int kick_fd[ECHO_QUEUES];
	int config_call_fd;
	bool has_mem, has_loop;
};

static void dev_view_fn(struct vdev *dev, void *arg)
{
	struct dev_view *v = arg;
	unsigned int i;

	v->status = dev->status;
	v->acked = dev->acked_features;
	for (i = 0; i < ECHO_QUEUES; i++) {
		v->enabled[i] = dev->queues[i].enabled;
		v->kick_fd[i] = dev->queues[i].kick_fd;
	}
	v->config_call_fd = dev->config_call_fd;
	v->has_mem = dev->mem != NULL;
	v->has_loop = dev->loop != NULL;
}

static struct dev_view dev_view(struct fixture *f)
{
	struct dev_view v;

	memset(&v, 0, sizeof(v));
	assert_int_equal(vireo_loopback_run_in_device(f->lb, dev_view_fn, &v), 0);
	return v;
}

/* ---- tests ---- */

#define STATUS_ALL                                                                      \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK | \
	 VIRTIO_STATUS_DRIVER_OK)

static void test_probe_reaches_driver_ok(void **state)
{
	struct fixture *f = *state;
	struct dev_view v = dev_view(f);

	assert_int_equal(f->state.probes, 1);
	assert_ptr_equal(f->vdev->driver, &f->drv.drv);
	assert_int_equal(f->vdev->config->get_status(f->vdev), STATUS_ALL);
	assert_int_equal(v.status, STATUS_ALL);
	assert_true(v.enabled[0] && v.enabled[1]);
	assert_int_equal(f->echo->activations, 1);
	assert_string_equal(f->vdev->config->bus_name(f->vdev), "loopback");
	assert_int_equal(f->vdev->dma->dma_base, LOOPBACK_DMA_BASE);
}

static void test_features_negotiated(void **state)
{
	struct fixture *f = *state;
	struct dev_view v = dev_view(f);

	assert_true(virtio_has_feature(f->vdev, VIRTIO_F_VERSION_1));
	assert_true(virtio_has_feature(f->vdev, ECHO_F_TEST));
	assert_false(virtio_has_feature(f->vdev, ECHO_F_UNWANTED));
	assert_true(f->vdev->config->get_features(f->vdev) & VIRTIO_BIT(ECHO_F_UNWANTED));
	assert_int_equal(v.acked, f->vdev->features);
}

static void test_config_read_write(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[8];
	uint32_t w = 0x11223344, r = 0;

	virtio_cread(f->vdev, 0, buf, 4);
	assert_memory_equal(buf, "ECHO", 4);
	f->vdev->config->set(f->vdev, 4, &w, 4);
	f->vdev->config->get(f->vdev, 4, &r, 4);
	assert_int_equal(r, w);
	/* A read-only byte keeps its value; an out-of-range read gives zeroes. */
	f->vdev->config->set(f->vdev, 0, "X", 1);
	f->vdev->config->get(f->vdev, 0, buf, 1);
	assert_int_equal(buf[0], 'E');
	memset(buf, 0xff, sizeof(buf));
	f->vdev->config->get(f->vdev, 6, buf, 4);
	assert_int_equal(buf[0] | buf[1] | buf[2] | buf[3], 0);
}

/*
 * Post one writable buffer on @q, kick, wait for it to come back filled.
 * No cmocka asserts: threads call it too. Return: 0 or a line number.
 */
static int roundtrip_rc(struct fixture *f, unsigned int q, uint32_t len)
{
	struct virtqueue *vq = f->state.vqs[q];
	struct virtio_sg sg;
	uint8_t *buf = virtio_dma_alloc(f->vdev->dma, len, 16, &sg.addr);
	uint32_t used_len = 0, i;
	void *tok;
	int ret = 0;

	if (!buf)
		return __LINE__;
	sg.len = len;
	if (virtqueue_add_inbuf(vq, &sg, 1, buf) != 0) {
		virtio_dma_free(f->vdev->dma, buf);
		return __LINE__;
	}
	virtqueue_kick(vq);
	while (!(tok = virtqueue_get_buf(vq, &used_len))) {
		if (virtqueue_is_broken(vq))
			return __LINE__; /* the buffer stays posted: leak over crash */
		/*
		 * A used buffer always comes with a signal once the callback is
		 * enabled: a timeout with the buffer there means it went to
		 * another waiter.
		 */
		if (virtqueue_enable_cb(vq) &&
		    f->vdev->config->wait(f->vdev, WAIT_MS) == -ETIMEDOUT)
			return __LINE__;
		virtqueue_disable_cb(vq);
	}
	if (tok != buf || used_len != len)
		ret = __LINE__;
	for (i = 0; i < len && !ret; i++) {
		if (buf[i] != q + 1)
			ret = __LINE__;
	}
	virtio_dma_free(f->vdev->dma, buf);
	return ret;
}

static void roundtrip(struct fixture *f, unsigned int q, uint32_t len)
{
	assert_int_equal(roundtrip_rc(f, q, len), 0);
}

static void test_data_path_both_queues(void **state)
{
	struct fixture *f = *state;

	roundtrip(f, 0, 100);
	roundtrip(f, 1, 4096);
	roundtrip(f, 0, 1);
	assert_false(virtqueue_is_broken(f->state.vqs[0]));
	assert_false(virtqueue_is_broken(f->state.vqs[1]));
}

static void test_callback_runs_on_signal(void **state)
{
	struct fixture *f = *state;
	struct virtqueue *vq = f->state.vqs[1];
	struct virtio_sg sg;
	uint8_t *buf = virtio_dma_alloc(f->vdev->dma, 64, 16, &sg.addr);
	void *got;
	uint32_t len;

	sg.len = 64;
	assert_true(virtqueue_enable_cb(vq));
	assert_int_equal(virtqueue_add_inbuf(vq, &sg, 1, buf), 0);
	virtqueue_kick(vq);
	while (f->state.callbacks[1] == 0)
		assert_int_equal(f->vdev->config->wait(f->vdev, WAIT_MS), 0);
	/* That callback may have been the started queue's one signal (issue 9 §7c): a driver copes. */
	while ((got = virtqueue_get_buf(vq, &len)) == NULL)
		assert_int_equal(f->vdev->config->wait(f->vdev, WAIT_MS), 0);
	assert_ptr_equal(got, buf);
	virtio_dma_free(f->vdev->dma, buf);
}

static void signal_config_fn(struct vdev *dev, void *arg)
{
	(void)arg;
	vireo_vdev_config_changed(dev);
}

static void test_config_change_signal(void **state)
{
	struct fixture *f = *state;
	uint32_t gen = f->vdev->config->generation(f->vdev);

	assert_int_equal(vireo_loopback_run_in_device(f->lb, signal_config_fn, NULL), 0);
	while (f->state.config_changes == 0)
		assert_int_equal(f->vdev->config->wait(f->vdev, WAIT_MS), 0);
	assert_int_not_equal(f->vdev->config->generation(f->vdev), gen);
}

static void stop_loop_fn(struct vdev *dev, void *arg)
{
	(void)arg;
	vireo_event_loop_stop(dev->loop);
}

/*
 * The device loop ends (a model stops it, as an epoll failure would): the
 * request that stopped it ran, every later caller gets -EIO instead of
 * sleeping forever, config reads fail soft, and free still detaches the
 * model (it keeps no pointer to the loopback's loop or memory).
 */
static void test_device_loop_exit(void **state)
{
	struct fixture *f = *state;
	struct dev_view v;
	unsigned int i;
	int ret = 0;

	assert_int_equal(vireo_loopback_run_in_device(f->lb, stop_loop_fn, NULL), 0);
	/* Bounded: a request posted before the loop saw the stop may still run. */
	for (i = 0; i < 1000 && ret == 0; i++)
		ret = vireo_loopback_run_in_device(f->lb, dev_view_fn, &v);
	assert_int_equal(ret, -EIO);
	assert_int_equal(vireo_loopback_run_in_device(f->lb, dev_view_fn, &v), -EIO);
	assert_int_equal(f->vdev->config->get_status(f->vdev), 0);
	vireo_loopback_free(f->lb);
	f->lb = NULL;
	assert_null(f->echo->vdev.loop);
	assert_null(f->echo->vdev.mem);
	assert_int_equal(f->echo->vdev.status, 0);
}

static void test_wait_times_out(void **state)
{
	struct fixture *f = *state;

	/* Take the started queues' one signal each (issue 9 §7c) first. */
	while (f->vdev->config->wait(f->vdev, 0) == 0)
		;
	assert_int_equal(f->vdev->config->wait(f->vdev, 10), -ETIMEDOUT);
}

struct qthread {
	struct fixture *f;
	unsigned int q;
	unsigned int rounds;
	int failed_line;
};

static void *qthread_fn(void *arg)
{
	struct qthread *t = arg;
	unsigned int i;

	for (i = 0; i < t->rounds && !t->failed_line; i++)
		t->failed_line = roundtrip_rc(t->f, t->q, 512);
	return NULL;
}

/*
 * Two threads, one queue each, both blocking in wait(): neither may eat the
 * other's signal (each would otherwise sit out its WAIT_MS timeout and fail).
 */
static void test_concurrent_waits_per_queue(void **state)
{
	struct fixture *f = *state;
	struct qthread t[2] = {{f, 0, 2000, 0}, {f, 1, 2000, 0}};
	pthread_t th[2];
	unsigned int i;

	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, qthread_fn, &t[i]), 0);
	/* Config operations from a third thread meanwhile go through the mailbox. */
	for (i = 0; i < 200; i++)
		assert_int_equal(f->vdev->config->get_status(f->vdev), STATUS_ALL);
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(t[i].failed_line, 0);
	}
}

static void test_reset_returns_queues(void **state)
{
	struct fixture *f = *state;
	struct dev_view v;
	unsigned int resets = f->echo->resets;

	f->vdev->config->reset(f->vdev);
	v = dev_view(f);
	assert_int_equal(f->vdev->config->get_status(f->vdev), 0);
	assert_int_equal(v.status, 0);
	assert_false(v.enabled[0] || v.enabled[1]);
	assert_int_equal(v.kick_fd[0], -1);
	assert_int_equal(v.kick_fd[1], -1);
	assert_true(v.config_call_fd >= 0); /* re-armed for the next driver */
	assert_int_equal(f->echo->resets, resets + 1);
	f->vdev->config->del_vqs(f->vdev);
}

static void test_free_returns_everything(void **state)
{
	struct fixture *f = *state;
	struct dev_view v;

	v = dev_view(f);
	assert_true(v.has_mem && v.has_loop);
	vireo_loopback_free(f->lb);
	f->lb = NULL;
	assert_int_equal(f->state.removes, 1);
	assert_int_equal(f->echo->vdev.status, 0);
	assert_null(f->echo->vdev.mem);
	assert_null(f->echo->vdev.loop);
	assert_int_equal(f->echo->vdev.config_call_fd, -1);
	assert_int_equal(count_fds(), f->fds_before);
	assert_null(f->bus.devices);
}

static void test_no_matching_driver(void **state)
{
	struct fixture *f = *state;
	struct echo_dev *other = echo_new();
	struct loopback *lb;
	int fds = count_fds();

	other->vdev.device_id = ECHO_DEVICE_ID + 1;
	assert_int_equal(vireo_loopback_new(&lb, &f->bus, &other->vdev, 0), 0);
	assert_null(vireo_loopback_virtio_device(lb)->driver);
	assert_int_equal(vireo_loopback_virtio_device(lb)->config->get_status(
				 vireo_loopback_virtio_device(lb)),
			 VIRTIO_STATUS_ACKNOWLEDGE);
	vireo_loopback_free(lb);
	assert_int_equal(count_fds(), fds);
	echo_free(other);
}

static void test_probe_failure_undoes_all(void **state)
{
	struct fixture *f = *state;
	struct echo_dev *other = echo_new();
	struct loopback *lb = NULL;
	int fds = count_fds();

	f->state.probe_result = -EIO;
	assert_int_equal(vireo_loopback_new(&lb, &f->bus, &other->vdev, 0), -EIO);
	assert_int_equal(count_fds(), fds);
	assert_int_equal(other->vdev.status, 0);
	assert_ptr_equal(f->bus.devices, f->vdev);
	assert_null(f->vdev->next);
	f->state.probe_result = 0;
	echo_free(other);
}

static void test_dma_exhaustion_fails_find_vqs(void **state)
{
	struct fixture *f = *state;
	struct echo_dev *other = echo_new();
	struct loopback *lb = NULL;
	int fds = count_fds();

	/* 4 KiB cannot hold two rings of 64 with their indirect pools. */
	assert_int_equal(vireo_loopback_new(&lb, &f->bus, &other->vdev, 4096), -ENOMEM);
	assert_int_equal(count_fds(), fds);
	echo_free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_probe_reaches_driver_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_features_negotiated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_read_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_path_both_queues, setup, teardown),
		cmocka_unit_test_setup_teardown(test_callback_runs_on_signal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_change_signal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_waits_per_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_returns_queues, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_returns_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_loop_exit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_matching_driver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_failure_undoes_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_exhaustion_fails_find_vqs, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
