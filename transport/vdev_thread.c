// SPDX-License-Identifier: MIT
/*
 * A device model's thread and mailbox (see vdev_thread.h), for every
 * in-process transport (loopback.c, virtio_pci_bus.c, virtio_mmio_function.c):
 * the caller posts a function, signals an eventfd the loop watches, and sleeps
 * on a condition variable until the loop ran it.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vireo/log.h>

#include "transport/vdev_thread.h"

static void vdev_thread_mailbox(void *opaque, uint32_t events)
{
	struct vdev_thread *t = opaque;
	void (*fn)(struct vdev * dev, void *arg);
	void *arg;

	(void)events;
	vireo_eventfd_drain_fd(t->mailbox_fd);
	pthread_mutex_lock(&t->lock);
	fn = t->req_fn;
	arg = t->req_arg;
	t->req_fn = NULL;
	pthread_mutex_unlock(&t->lock);
	if (!fn)
		return;
	fn(t->dev, arg);
	pthread_mutex_lock(&t->lock);
	t->req_done = true;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

static void *vdev_thread_main(void *opaque)
{
	struct vdev_thread *t = opaque;
	int ret = vireo_event_loop_run(&t->loop);

	if (ret < 0)
		log_error("%s: device event loop failed: %s",
			  t->dev->name ? t->dev->name : "device", strerror(-ret));
	/* A caller may be waiting for a request that will now never run. */
	pthread_mutex_lock(&t->lock);
	t->exited = true;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

int vdev_thread_call(struct vdev_thread *t, void (*fn)(struct vdev *dev, void *arg), void *arg)
{
	int ret;

	if (!t->running)
		return -EIO;
	if (pthread_equal(pthread_self(), t->thread)) {
		fn(t->dev, arg);
		return 0;
	}
	pthread_mutex_lock(&t->call_lock);
	pthread_mutex_lock(&t->lock);
	t->req_fn = fn;
	t->req_arg = arg;
	t->req_done = false;
	pthread_mutex_unlock(&t->lock);
	ret = vireo_eventfd_signal_fd(t->mailbox_fd);
	pthread_mutex_lock(&t->lock);
	while (ret == 0 && !t->req_done && !t->exited)
		pthread_cond_wait(&t->cond, &t->lock);
	if (!t->req_done) {
		t->req_fn = NULL;
		ret = -EIO;
	}
	pthread_mutex_unlock(&t->lock);
	pthread_mutex_unlock(&t->call_lock);
	return ret < 0 ? -EIO : 0;
}

int vdev_thread_start(struct vdev_thread *t, struct vdev *dev)
{
	int ret;

	memset(t, 0, sizeof(*t));
	t->dev = dev;
	t->mailbox_fd = -1;
	ret = vireo_event_loop_init(&t->loop);
	if (ret < 0)
		return ret;
	t->mailbox_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (t->mailbox_fd < 0) {
		ret = -errno;
		goto out_destroy_loop;
	}
	ret = vireo_event_loop_add(&t->loop, t->mailbox_fd, vdev_thread_mailbox, t);
	if (ret < 0)
		goto out_close;
	pthread_mutex_init(&t->call_lock, NULL);
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->cond, NULL);
	ret = -pthread_create(&t->thread, NULL, vdev_thread_main, t);
	if (ret < 0)
		goto out_destroy_sync;
	t->running = true;
	return 0;

out_destroy_sync:
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	pthread_mutex_destroy(&t->call_lock);
out_close:
	close(t->mailbox_fd);
	t->mailbox_fd = -1;
out_destroy_loop:
	vireo_event_loop_destroy(&t->loop);
	return ret;
}

void vdev_thread_stop(struct vdev_thread *t)
{
	if (!t->running)
		return;
	vireo_event_loop_stop(&t->loop);
	pthread_join(t->thread, NULL);
	t->running = false;
	vireo_event_loop_destroy(&t->loop);
	close(t->mailbox_fd);
	t->mailbox_fd = -1;
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	pthread_mutex_destroy(&t->call_lock);
}
