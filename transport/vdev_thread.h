/* SPDX-License-Identifier: MIT */
/*
 * A device model's own thread (internal to transport/): an event loop that
 * serves the vdev's kicks and completions, plus a mailbox through which any
 * other thread runs a function on the vdev and waits for it. struct vdev is
 * single-threaded (device.h); this is how register accesses made on a VMM's
 * vCPU thread (or by our in-process driver) reach it.
 */
#ifndef VIREO_TRANSPORT_VDEV_THREAD_H
#define VIREO_TRANSPORT_VDEV_THREAD_H

#include <pthread.h>
#include <stdbool.h>

#include <vireo/device.h>
#include <vireo/event_loop.h>

struct vdev_thread {
	struct vdev *dev;
	struct event_loop loop;
	pthread_t thread;
	bool running;
	int mailbox_fd;
	pthread_mutex_t call_lock; /* one request in the mailbox at a time */
	pthread_mutex_t lock;	   /* the request fields below */
	pthread_cond_t cond;
	void (*req_fn)(struct vdev *dev, void *arg);
	void *req_arg;
	bool req_done;
	bool exited;
};

/**
 * vdev_thread_start() - create the loop, the mailbox and the thread for @dev
 * Return: 0 or -errno (epoll, eventfd, pthread_create); nothing is left then.
 */
int vdev_thread_start(struct vdev_thread *t, struct vdev *dev);

/**
 * vdev_thread_call() - run @fn(@t->dev, @arg) in the device thread and wait;
 * from the device thread itself it runs @fn directly
 * Return: 0, or -EIO if the thread is not running.
 */
int vdev_thread_call(struct vdev_thread *t, void (*fn)(struct vdev *dev, void *arg), void *arg);

/** vdev_thread_stop() - stop and join the thread, free the loop and mailbox */
void vdev_thread_stop(struct vdev_thread *t);

#endif /* VIREO_TRANSPORT_VDEV_THREAD_H */
