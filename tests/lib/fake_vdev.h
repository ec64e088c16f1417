/* SPDX-License-Identifier: MIT */
/*
 * A tiny fake device model for the core's unit tests: struct fvdev embeds a
 * struct vdev, counts the ops the core calls and owns the environment (guest
 * memory, event loop, a dup of the config-change eventfd). Each test owns
 * its own instance (cmocka state); nothing global.
 */
#ifndef VIREO_TESTS_FAKE_VDEV_H
#define VIREO_TESTS_FAKE_VDEV_H

#include <stdbool.h>
#include <stdint.h>

#include <vireo/device.h>

#define FVDEV_QUEUES 2
#define FVDEV_QMAX 16
#define FVDEV_FEATURES (VIRTIO_BIT(0) | VIRTIO_BIT(3))
#define FVDEV_GUEST_BASE 0x100000ull
#define FVDEV_GUEST_SIZE 0x10000ull

/* Short names for the status bits the tests write. */
#define S_ACK VIRTIO_STATUS_ACKNOWLEDGE
#define S_DRV VIRTIO_STATUS_DRIVER
#define S_FOK VIRTIO_STATUS_FEATURES_OK
#define S_DOK VIRTIO_STATUS_DRIVER_OK
#define S_NR VIRTIO_STATUS_DEVICE_NEEDS_RESET
#define S_FAILED VIRTIO_STATUS_FAILED
#define F_V1 VIRTIO_BIT(VIRTIO_F_VERSION_1)

struct fvdev {
	struct vdev vdev; /* first: the ops cast back */
	uint8_t config[16];
	unsigned int set_features_calls, activate_calls, notify_calls, reset_calls;
	int set_features_ret, activate_ret;
	unsigned int config_write_delay_ms; /* a slow model: config_write sleeps this long */
	uint64_t features_seen;
	struct vdev_queue *notified;
	/* the test environment */
	uint8_t *guest; /* FVDEV_GUEST_SIZE bytes, page-aligned */
	struct guest_mem mem;
	struct event_loop loop;
	int config_fd; /* a dup of what the core owns, to read it */
};

extern const struct vdev_ops fvdev_ops;
/* For tests on a bare struct vdev: no op may reach a struct fvdev. */
extern const struct vdev_ops fvdev_bare_ops;

/* cmocka setup/teardown: an initialised fvdev in *state (memory, loop, config fd). */
int fvdev_setup(void **state);
int fvdev_teardown(void **state);

/* Hand the core a new config-change eventfd, keeping a dup in f->config_fd. */
void fvdev_give_config_fd(struct fvdev *f);

bool fvdev_fd_is_open(int fd);

/* §3.1.1 steps 2-5 with @features. Return: the FEATURES_OK write's result. */
int fvdev_features_ok(struct vdev *dev, uint64_t features);

/* §3.1.1 steps 2-8: asserts every step succeeds. */
void fvdev_driver_ok(struct vdev *dev, uint64_t features);

/* Config-change notifications since the last call. */
int fvdev_config_signals(struct fvdev *f);

#endif /* VIREO_TESTS_FAKE_VDEV_H */
