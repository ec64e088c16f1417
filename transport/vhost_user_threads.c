// SPDX-License-Identifier: MIT
/*
 * Multi-queue vhost-user: with more than one queue, each queue gets its own
 * event loop (its kick fd and the model's completion fds) and, while it runs,
 * its own thread. device.h: the control thread stops and joins every queue
 * thread before a message (or a disconnect) touches the device, and starts
 * the running queues' threads again afterwards. A queue thread that sees
 * DEVICE_NEEDS_RESET wakes the control thread, which signals SET_VRING_ERR.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vireo/log.h>

#include "transport/vhost_user_internal.h"

static void *vub_queue_thread(void *opaque)
{
	struct vub_qthread *q = opaque;
	struct vhost_user_backend *b = q->backend;
	int ret;

	while (!q->loop.stopping) {
		ret = vireo_event_loop_run_once(&q->loop, -1);
		if (ret < 0 && ret != -EINTR) {
			log_error("vhost-user: queue thread: event loop failed (%d)", ret);
			break;
		}
		/* The control thread signals SET_VRING_ERR, or drops a front-end that shrank memory. */
		if (vdev_needs_reset(b->dev) || vub_mem_faulted(b))
			(void)vireo_eventfd_signal_fd(b->wake_fd);
	}
	q->loop.stopping = false;
	return NULL;
}

static void vub_wake_event(void *opaque, uint32_t events)
{
	struct vhost_user_backend *b = opaque;

	(void)events;
	(void)vireo_eventfd_drain_fd(b->wake_fd);
	/* vireo_vhost_user_backend_run() signals SET_VRING_ERR after this handler. */
}

/* Return: 0, or -errno (nothing left set up). */
int vub_threads_init(struct vhost_user_backend *b)
{
	unsigned int i;
	int ret;

	b->per_queue = b->dev->num_queues > 1 && !b->opt.single_thread;
	b->wake_fd = -1;
	if (!b->per_queue)
		return 0;
	b->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (b->wake_fd < 0)
		return -errno;
	ret = vireo_event_loop_add(b->loop, b->wake_fd, vub_wake_event, b);
	for (i = 0; ret == 0 && i < b->dev->num_queues; i++) {
		b->qthreads[i].backend = b;
		ret = vireo_event_loop_init(&b->qthreads[i].loop);
		if (ret == 0)
			b->qthreads[i].loop_ready = true;
	}
	if (ret < 0)
		vub_threads_fini(b);
	return ret;
}

/* Only after init succeeded and the device is ours: its queues use our loops. */
void vub_threads_attach(struct vhost_user_backend *b)
{
	unsigned int i;

	for (i = 0; b->per_queue && i < b->dev->num_queues; i++)
		b->dev->queues[i].loop = &b->qthreads[i].loop;
	b->threads_attached = b->per_queue;
}

void vub_threads_fini(struct vhost_user_backend *b)
{
	unsigned int i;

	vub_threads_stop(b);
	for (i = 0; i < b->dev->num_queues; i++) {
		/* A failed vireo_vhost_user_backend_new() must not touch a device served elsewhere. */
		if (b->threads_attached)
			b->dev->queues[i].loop = NULL;
		if (b->qthreads[i].loop_ready)
			vireo_event_loop_destroy(&b->qthreads[i].loop);
		b->qthreads[i].loop_ready = false;
	}
	if (b->wake_fd >= 0) {
		(void)vireo_event_loop_remove(b->loop, b->wake_fd);
		close(b->wake_fd);
	}
	b->wake_fd = -1;
	b->per_queue = false;
	b->threads_attached = false;
}

void vub_threads_stop(struct vhost_user_backend *b)
{
	unsigned int i;

	for (i = 0; i < b->dev->num_queues; i++) {
		struct vub_qthread *q = &b->qthreads[i];

		if (!q->thread_running)
			continue;
		vireo_event_loop_stop(&q->loop);
		/* The join orders everything the queue thread did before our next access. */
		(void)pthread_join(q->thread, NULL);
		q->thread_running = false;
	}
}

void vub_threads_start(struct vhost_user_backend *b)
{
	unsigned int i;
	int ret;

	for (i = 0; b->per_queue && i < b->dev->num_queues; i++) {
		struct vub_qthread *q = &b->qthreads[i];

		if (q->thread_running || !b->dev->queues[i].enabled)
			continue;
		ret = pthread_create(&q->thread, NULL, vub_queue_thread, q);
		if (ret != 0) {
			/* The queue stays served, just not at all: make it visible. */
			log_error("vhost-user: queue %u: cannot start its thread (%d)", i, -ret);
			continue;
		}
		q->thread_running = true;
	}
}
