// SPDX-License-Identifier: MIT
/*
 * A tiny fake device model for the core's unit tests (test_device,
 * test_device_queue): it counts every op the core calls, with guest memory,
 * an event loop and a config-change eventfd around it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/fake_vdev.h"

static struct fvdev *to_fvdev(struct vdev *dev)
{
	return (struct fvdev *)dev;
}

static int fvdev_op_set_features(struct vdev *dev, uint64_t features)
{
	struct fvdev *f = to_fvdev(dev);

	f->set_features_calls++;
	f->features_seen = features;
	return f->set_features_ret;
}

/* Bytes 8..15 are writable, the rest read-only. */
static int fvdev_op_config_write(struct vdev *dev, uint32_t offset, const void *buf, uint32_t len)
{
	struct fvdev *f = to_fvdev(dev);

	if (offset < 8)
		return -EPERM;
	if (f->config_write_delay_ms)
		nanosleep(&(struct timespec){.tv_sec = f->config_write_delay_ms / 1000,
					     .tv_nsec = f->config_write_delay_ms % 1000 * 1000000L},
			  NULL);
	memcpy(f->config + offset, buf, len);
	return 0;
}

static int fvdev_op_activate(struct vdev *dev)
{
	struct fvdev *f = to_fvdev(dev);

	f->activate_calls++;
	return f->activate_ret;
}

static void fvdev_op_queue_notify(struct vdev *dev, struct vdev_queue *q)
{
	struct fvdev *f = to_fvdev(dev);

	f->notify_calls++;
	f->notified = q;
}

static void fvdev_op_reset(struct vdev *dev)
{
	to_fvdev(dev)->reset_calls++;
}

const struct vdev_ops fvdev_ops = {
	.set_features = fvdev_op_set_features,
	.config_write = fvdev_op_config_write,
	.activate = fvdev_op_activate,
	.queue_notify = fvdev_op_queue_notify,
	.reset = fvdev_op_reset,
};

const struct vdev_ops fvdev_bare_ops = {.activate = NULL};

void fvdev_give_config_fd(struct fvdev *f)
{
	int fd = eventfd(0, EFD_NONBLOCK);

	assert_true(fd >= 0);
	f->config_fd = dup(fd);
	assert_int_equal(vireo_vdev_set_config_call_fd(&f->vdev, fd), 0);
}

int fvdev_setup(void **state)
{
	struct fvdev *f = test_calloc(1, sizeof(*f));
	unsigned int i;

	if (!f)
		return -1;
	f->guest = aligned_alloc(4096, FVDEV_GUEST_SIZE);
	if (!f->guest)
		return -1;
	memset(f->guest, 0, FVDEV_GUEST_SIZE);
	for (i = 0; i < sizeof(f->config); i++)
		f->config[i] = (uint8_t)i;
	if (vireo_vdev_init(&f->vdev, &fvdev_ops, "fake", 99, FVDEV_FEATURES, FVDEV_QUEUES,
			    FVDEV_QMAX, f->config, sizeof(f->config)) < 0)
		return -1;
	vireo_guest_mem_init(&f->mem);
	if (vireo_guest_mem_add_region(&f->mem, FVDEV_GUEST_BASE, FVDEV_GUEST_SIZE, f->guest) < 0)
		return -1;
	if (vireo_event_loop_init(&f->loop) < 0)
		return -1;
	vireo_vdev_set_memory(&f->vdev, &f->mem);
	vireo_vdev_set_event_loop(&f->vdev, &f->loop);
	fvdev_give_config_fd(f);
	*state = f;
	return 0;
}

int fvdev_teardown(void **state)
{
	struct fvdev *f = *state;

	vireo_vdev_destroy(&f->vdev);
	vireo_event_loop_destroy(&f->loop);
	close(f->config_fd);
	free(f->guest);
	test_free(f);
	return 0;
}

bool fvdev_fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* §3.1.1 steps 2-5 with @features. Return: the FEATURES_OK write's result. */
int fvdev_features_ok(struct vdev *dev, uint64_t features)
{
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK), 0);
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK | S_DRV), 0);
	assert_int_equal(vireo_vdev_set_driver_features(dev, features), 0);
	return vireo_vdev_set_status(dev, S_ACK | S_DRV | S_FOK);
}

int fvdev_config_signals(struct fvdev *f)
{
	return (int)vireo_eventfd_drain_fd(f->config_fd);
}

/* §3.1.1 steps 2-8 with @features: the device ends up live. */
void fvdev_driver_ok(struct vdev *dev, uint64_t features)
{
	assert_int_equal(fvdev_features_ok(dev, features), 0);
	assert_int_equal(vireo_vdev_set_status(dev, S_ACK | S_DRV | S_FOK | S_DOK), 0);
}
