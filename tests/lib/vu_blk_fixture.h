/* SPDX-License-Identifier: MIT */
/*
 * A vhost-user blk back-end for tests: a 1 MiB image in a fresh temporary
 * folder, our blk device model behind vhost_user_backend on <dir>/sock, its
 * event loop run by a thread of its own. Helpers assert (cmocka) instead of
 * returning errors. Used by the test_vhost_user_* programs with tests/lib/vu_client.
 */
#ifndef VIREO_TESTS_VU_BLK_FIXTURE_H
#define VIREO_TESTS_VU_BLK_FIXTURE_H

#include <pthread.h>
#include <stdbool.h>

#include <vireo/blk_device.h>
#include <vireo/event_loop.h>
#include <vireo/vhost_user_backend.h>

#define VU_BLK_IMAGE_BYTES (1u << 20)

struct vu_blk_fixture {
	char dir[64];
	char sock[128];
	char image[128];
	struct event_loop loop;
	struct blk_device *blk;
	struct vhost_user_backend *b;
	pthread_t thread;
	bool halted;		 /* the thread is joined (vu_blk_fixture_halt()) */
	unsigned int fds_before; /* open fds when vu_blk_fixture_start() began */
};

/*
 * Make the folder from @dir_template ("/tmp/...-XXXXXX"), the image, the
 * device (@bo, its path set here) and the back-end (@vo, its socket_path set
 * here), and start the server thread.
 */
void vu_blk_fixture_start(struct vu_blk_fixture *f, const char *dir_template,
			  struct blk_device_options *bo, struct vhost_user_backend_options *vo);

/* Stop the server's loop and join its thread (once): what it wrote is readable after. */
void vu_blk_fixture_halt(struct vu_blk_fixture *f);

/* Stop the thread, free the back-end (its socket file must be gone), the device and the folder. */
void vu_blk_fixture_stop(struct vu_blk_fixture *f);

/*
 * vu_blk_fixture_stop(), then assert that every fd opened since the start (what
 * front-ends sent, sockets, the server's own) is closed again; on a leak the
 * process's fds are listed on stderr first.
 */
void vu_blk_fixture_stop_closed(struct vu_blk_fixture *f);

#endif /* VIREO_TESTS_VU_BLK_FIXTURE_H */
