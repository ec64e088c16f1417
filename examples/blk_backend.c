// SPDX-License-Identifier: MIT
/*
 * A vhost-user-blk back-end on a file: QEMU's vhost-user-blk-pci, `vireo blk --socket`
 * or examples/blk_frontend connect to SOCKET and read and write IMAGE.
 *
 *   blk_backend SOCKET IMAGE        SIGINT or SIGTERM stops it (exit 0)
 *
 * The device model (blk_device) knows nothing of vhost-user; the back-end drives it from
 * messages on the socket; one event loop serves both, in this thread.
 */
/* sigprocmask() and sigset_t are POSIX, outside strict C11. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <vireo/blk_device.h>
#include <vireo/event_loop.h>
#include <vireo/vhost_user_backend.h>

static void stop_loop(void *opaque, uint32_t events)
{
	(void)events;
	vireo_event_loop_stop(opaque);
}

/*
 * SIGINT and SIGTERM become a readable signalfd in the loop, so the back-end is freed in
 * order (the socket file removed) instead of the process dying mid-request.
 * Return: the signalfd, or -errno.
 */
static int watch_stop_signals(struct event_loop *loop)
{
	sigset_t set;
	int fd, ret;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	ret = vireo_event_loop_add(loop, fd, stop_loop, loop);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	return fd;
}

/* Serve @blk on @socket_path until a stop signal. Return: 0 or -errno. */
static int serve(struct blk_device *blk, const char *socket_path)
{
	struct vhost_user_backend_options opt = {.socket_path = socket_path};
	struct vhost_user_backend *backend;
	struct event_loop loop;
	int signal_fd, ret;

	ret = vireo_event_loop_init(&loop);
	if (ret < 0)
		return ret;
	signal_fd = watch_stop_signals(&loop);
	if (signal_fd < 0) {
		ret = signal_fd;
		goto out_destroy_loop;
	}
	ret = vireo_vhost_user_backend_new(&backend, vireo_blk_device_vdev(blk), &loop, &opt);
	if (ret < 0)
		goto out_close_signal_fd;
	printf("blk_backend: serving %llu sectors on %s\n",
	       (unsigned long long)vireo_blk_device_capacity(blk), socket_path);
	fflush(stdout);
	ret = vireo_vhost_user_backend_run(backend);
	vireo_vhost_user_backend_free(backend);
out_close_signal_fd:
	close(signal_fd);
out_destroy_loop:
	vireo_event_loop_destroy(&loop);
	return ret;
}

int main(int argc, char **argv)
{
	struct blk_device_options opt = {0};
	struct blk_device *blk;
	int ret;

	if (argc != 3) {
		fprintf(stderr, "usage: %s SOCKET IMAGE\n", argv[0]);
		return 2;
	}
	opt.path = argv[2];
	/* A front-end that hangs up mid-reply must cost an error code, not the process. */
	signal(SIGPIPE, SIG_IGN);
	ret = vireo_blk_device_new(&blk, &opt);
	if (ret < 0) {
		fprintf(stderr, "blk_backend: %s: %s\n", argv[2], strerror(-ret));
		return 1;
	}
	ret = serve(blk, argv[1]);
	if (ret < 0)
		fprintf(stderr, "blk_backend: %s: %s\n", argv[1], strerror(-ret));
	vireo_blk_device_free(blk);
	return ret < 0 ? 1 : 0;
}
