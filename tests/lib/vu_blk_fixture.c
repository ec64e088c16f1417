// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/fd_count.h"
#include "tests/lib/vu_blk_fixture.h"

static void *vu_blk_fixture_thread(void *arg)
{
	struct vu_blk_fixture *f = arg;

	assert_int_equal(vireo_vhost_user_backend_run(f->b), 0);
	return NULL;
}

void vu_blk_fixture_start(struct vu_blk_fixture *f, const char *dir_template,
			  struct blk_device_options *bo, struct vhost_user_backend_options *vo)
{
	int fd;

	f->fds_before = fd_count_open();
	assert_true(strlen(dir_template) < sizeof(f->dir));
	strcpy(f->dir, dir_template);
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->sock, sizeof(f->sock), "%s/sock", f->dir);
	snprintf(f->image, sizeof(f->image), "%s/image", f->dir);
	fd = open(f->image, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, VU_BLK_IMAGE_BYTES), 0);
	close(fd);
	bo->path = f->image;
	vo->socket_path = f->sock;
	assert_int_equal(vireo_blk_device_new(&f->blk, bo), 0);
	assert_int_equal(vireo_event_loop_init(&f->loop), 0);
	assert_int_equal(
		vireo_vhost_user_backend_new(&f->b, vireo_blk_device_vdev(f->blk), &f->loop, vo),
		0);
	f->halted = false;
	assert_int_equal(pthread_create(&f->thread, NULL, vu_blk_fixture_thread, f), 0);
}

void vu_blk_fixture_halt(struct vu_blk_fixture *f)
{
	if (f->halted)
		return;
	vireo_event_loop_stop(&f->loop);
	assert_int_equal(pthread_join(f->thread, NULL), 0);
	f->halted = true;
}

void vu_blk_fixture_stop(struct vu_blk_fixture *f)
{
	vu_blk_fixture_halt(f);
	vireo_vhost_user_backend_free(f->b);
	/* The socket file goes with the back-end. */
	assert_int_equal(access(f->sock, F_OK), -1);
	vireo_blk_device_free(f->blk);
	vireo_event_loop_destroy(&f->loop);
	unlink(f->image);
	rmdir(f->dir);
}

void vu_blk_fixture_stop_closed(struct vu_blk_fixture *f)
{
	unsigned int now;

	vu_blk_fixture_stop(f);
	now = fd_count_open();
	if (now != f->fds_before) {
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "ls -l /proc/%d/fd >&2", (int)getpid());
		(void)system(cmd);
	}
	assert_int_equal(now, f->fds_before);
}
