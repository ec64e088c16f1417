// SPDX-License-Identifier: MIT
/*
 * A kick fd the device cannot read without blocking. The core drains kick fds
 * with preadv2(RWF_NOWAIT), which a front-end cannot turn into a blocking read;
 * an fd that does not take RWF_NOWAIT at all (an eventfd on Linux < 5.12; here
 * a pty master, which vhost-user refuses as not an eventfd but an embedder of
 * libvireo could hand the core on any kernel) would stay readable forever
 * under the level-triggered loop. The core stops watching it and sets
 * NEEDS_RESET instead of spinning or blocking.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vireo/device.h>
#include <vireo/event_loop.h>

#include "tests/lib/fake_vdev.h"

/* A pty pair: *@master is what the device gets as its kick fd. */
static void open_pty(int *master, int *slave)
{
	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	assert_true(*master >= 0);
	assert_int_equal(grantpt(*master), 0);
	assert_int_equal(unlockpt(*master), 0);
	*slave = open(ptsname(*master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(*slave >= 0);
}

static void test_kick_fd_without_nowait(void **state)
{
	struct fvdev *f = *state;
	struct vdev *dev = &f->vdev;
	struct pollfd p;
	unsigned int notified;
	int master, slave, call = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	assert_true(call >= 0);
	open_pty(&master, &slave);
	assert_int_equal(vireo_vdev_queue_set_num(dev, 0, 8), 0);
	assert_int_equal(vireo_vdev_queue_set_addr(dev, 0, FVDEV_GUEST_BASE,
						   FVDEV_GUEST_BASE + 0x1000,
						   FVDEV_GUEST_BASE + 0x2000),
			 0);
	assert_int_equal(vireo_vdev_queue_set_kick_fd(dev, 0, master), 0);
	assert_int_equal(vireo_vdev_queue_set_call_fd(dev, 0, call), 0);
	fvdev_driver_ok(dev, F_V1);
	assert_false(vdev_needs_reset(dev));
	notified = f->notify_calls;

	/* The "kick": the slave writes, the master turns readable. */
	assert_int_equal(write(slave, "k\n", 2), 2);
	p = (struct pollfd){.fd = master, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_int_equal(vireo_event_loop_run_once(&f->loop, 0), 1);
	assert_true(vdev_needs_reset(dev));
	assert_int_equal(f->notify_calls, notified); /* the model was not called */
	/* Still readable, but no longer watched: the loop finds nothing to do. */
	assert_int_equal(poll(&p, 1, 0), 1);
	assert_int_equal(vireo_event_loop_run_once(&f->loop, 50), 0);
	close(slave);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kick_fd_without_nowait, fvdev_setup,
						fvdev_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
