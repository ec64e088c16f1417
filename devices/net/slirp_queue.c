// SPDX-License-Identifier: MIT
/*
 * The bounded frame queues between the switch thread and the slirp thread:
 * a mutex-guarded ring of frame copies plus an eventfd that wakes the
 * consumer. The eventfd is signalled only on the empty -> non-empty edge;
 * that is enough because a consumer first clears the eventfd, then pops
 * until the queue is empty.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "slirp_internal.h"

/* Return: 0, or -errno from eventfd/pthread_mutex_init. */
int net_slirp_queue_init(struct net_slirp_queue *q)
{
	int ret;

	memset(q, 0, sizeof(*q));
	q->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->event_fd < 0)
		return -errno;
	ret = pthread_mutex_init(&q->lock, NULL);
	if (ret != 0) {
		close(q->event_fd);
		q->event_fd = -1;
		return -ret;
	}
	return 0;
}

void net_slirp_queue_destroy(struct net_slirp_queue *q)
{
	struct net_slirp_frame *f;

	while ((f = net_slirp_queue_pop(q)) != NULL)
		free(f);
	pthread_mutex_destroy(&q->lock);
	close(q->event_fd);
	q->event_fd = -1;
}

/* Return: 0; -ENOBUFS when the queue is full (frames or bytes); -ENOMEM. */
int net_slirp_queue_push(struct net_slirp_queue *q, const uint8_t *data, uint32_t len)
{
	struct net_slirp_frame *f;
	bool was_empty;

	f = malloc(sizeof(*f) + len);
	if (!f)
		return -ENOMEM;
	f->len = len;
	memcpy(f->data, data, len);

	pthread_mutex_lock(&q->lock);
	if (q->count == NET_SLIRP_QUEUE_LEN || q->bytes + len > NET_SLIRP_QUEUE_BYTES) {
		pthread_mutex_unlock(&q->lock);
		free(f);
		return -ENOBUFS;
	}
	q->slots[(q->head + q->count) % NET_SLIRP_QUEUE_LEN] = f;
	was_empty = q->count == 0;
	q->count++;
	q->bytes += len;
	pthread_mutex_unlock(&q->lock);

	/* Cannot fail but for a closed fd; the consumer would then be gone too. */
	if (was_empty)
		(void)vireo_eventfd_signal_fd(q->event_fd);
	return 0;
}

struct net_slirp_frame *net_slirp_queue_pop(struct net_slirp_queue *q)
{
	struct net_slirp_frame *f = NULL;

	pthread_mutex_lock(&q->lock);
	if (q->count > 0) {
		f = q->slots[q->head];
		q->slots[q->head] = NULL;
		q->head = (q->head + 1) % NET_SLIRP_QUEUE_LEN;
		q->count--;
		q->bytes -= f->len;
	}
	pthread_mutex_unlock(&q->lock);
	return f;
}
