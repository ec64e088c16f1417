// SPDX-License-Identifier: MIT
/*
 * virtio-pci queues (virtio 1.2 §4.1.5.1.3 Virtqueue Configuration), notifications
 * (§4.1.5.2), MSI-X vectors (§4.1.5.1.2) or polling, and per-queue reset (§2.6.1).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <vireo/event_loop.h>
#include <vireo/log.h>
#include <vireo/spec.h>

#include "transport/clock.h"
#include "transport/queue_owner.h"
#include "transport/virtio_pci_driver_internal.h"

#define CC(field) offsetof(struct vireo_pci_common_cfg, field)
/* Polling without interrupts: sleep this long at most between looks at the rings. */
#define VPCI_POLL_MAX_NS 1000000L

static struct vireo_pci_device *to_vpci(struct virtio_device *vdev)
{
	return vdev->transport;
}

/* The driver's notify hook: R-PCI-21/22, a 16-bit value, or 32 bits with NOTIFICATION_DATA. */
static bool vpci_notify(struct virtqueue *vq)
{
	struct vpci_queue *q = vq->priv;
	struct vireo_pci_device *d = q->dev;
	uint64_t v = q->notify_value;
	unsigned int width = 2;

	queue_owner_claim(&q->dq.owner);
	if (virtio_has_feature(&d->vdev, VIRTIO_F_NOTIFICATION_DATA)) {
		/* §4.1.5.2: the notify value (the index, no NOTIF_CONFIG_DATA) and where we stopped */
		v |= virtqueue_notification_data(vq) & 0xffff0000u;
		width = 4;
	}
	if (vireo_pci_device_broken(d))
		return false;
	if (d->ops->bar_write(d->opaque, d->layout.notify.bar, q->notify_offset, width, v) < 0) {
		vpci_break(d, "a notification write failed");
		return false;
	}
	return true;
}

/* ---- MSI-X vectors ---- */

void vpci_vectors_release(struct vireo_pci_device *d)
{
	unsigned int i;

	for (i = 0; i <= VIREO_PCI_MAX_QUEUES; i++) {
		if (d->vector_fd[i] < 0)
			continue;
		if (d->ops->set_vector_eventfd)
			(void)d->ops->set_vector_eventfd(d->opaque, i, -1);
		close(d->vector_fd[i]);
		d->vector_fd[i] = -1;
	}
	d->nvectors = 0;
}

/* Vectors 0..@n-1 each get an eventfd. Return: 0 or -errno. */
static int vpci_vectors_create(struct vireo_pci_device *d, unsigned int n)
{
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		d->vector_fd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (d->vector_fd[i] < 0)
			return -errno;
		ret = d->ops->set_vector_eventfd(d->opaque, i, d->vector_fd[i]);
		if (ret < 0)
			return ret;
	}
	d->nvectors = n;
	return 0;
}

/* Write @vector to the 16-bit field at @off and read it back: R-PCI-20. */
static bool vpci_vector_accepted(struct vireo_pci_device *d, uint64_t off, unsigned int vector)
{
	vpci_write(d, &d->layout.common, off, 2, vector);
	return vpci_read(d, &d->layout.common, off, 2) == vector;
}

/*
 * Map config to vector 0 and queue i to 1 + i (@n > nvqs), to 1 (@n == 2) or to 0 (@n == 1);
 * R-PCI-19: every vector < the table size. Return: true if the device kept every mapping.
 */
static bool vpci_vectors_assign(struct vireo_pci_device *d, unsigned int n)
{
	unsigned int i;

	d->config_vector = 0;
	if (!vpci_vector_accepted(d, CC(config_msix_vector), 0))
		return false;
	for (i = 0; i < d->nvqs; i++) {
		unsigned int v = n > d->nvqs ? 1 + i : n - 1;

		d->queues[i].vector = v;
		vpci_write(d, &d->layout.common, CC(queue_select), 2, i);
		if (!vpci_vector_accepted(d, CC(queue_msix_vector), v))
			return false;
	}
	return true;
}

/* Every event back to NO_VECTOR: the driver polls. */
static void vpci_vectors_none(struct vireo_pci_device *d)
{
	unsigned int i;

	vpci_write(d, &d->layout.common, CC(config_msix_vector), 2, VIREO_PCI_MSI_NO_VECTOR);
	for (i = 0; i < d->nvqs; i++) {
		d->queues[i].vector = VIREO_PCI_MSI_NO_VECTOR;
		vpci_write(d, &d->layout.common, CC(queue_select), 2, i);
		vpci_write(d, &d->layout.common, CC(queue_msix_vector), 2, VIREO_PCI_MSI_NO_VECTOR);
	}
	vpci_vectors_release(d);
}

/*
 * One vector per queue plus config if the table has room, else two shared, else one (R-PCI-
 * 18); a mapping the device refuses (reads back NO_VECTOR) makes us try fewer, then poll.
 */
static void vpci_vectors_setup(struct vireo_pci_device *d)
{
	unsigned int table = d->layout.msix_table_size;
	unsigned int plans[3] = {d->nvqs + 1, 2, 1};
	unsigned int i;

	if (d->opt.poll || !d->ops->set_vector_eventfd || table == 0) {
		vpci_vectors_none(d);
		return;
	}
	for (i = 0; i < 3; i++) {
		if (plans[i] > table || (i > 0 && plans[i] >= plans[i - 1]))
			continue;
		if (vpci_vectors_create(d, plans[i]) == 0 && vpci_vectors_assign(d, plans[i])) {
			log_debug("virtio-pci: %u MSI-X vectors for %u queues", plans[i], d->nvqs);
			return;
		}
		log_warn("virtio-pci: the device refused %u MSI-X vectors; trying fewer", plans[i]);
		vpci_vectors_release(d);
	}
	log_warn("virtio-pci: no MSI-X vector accepted: polling the rings");
	vpci_vectors_none(d);
}

/* ---- queues ---- */

static void vpci_queue_release(struct vireo_pci_device *d, struct vpci_queue *q)
{
	driver_queue_release(&q->dq, &d->vdev);
	q->reset = false;
}

/* The ring size: the device's maximum, capped; a power of two for split rings (R-PCI-09). */
static unsigned int vpci_queue_num(const struct vireo_pci_device *d, unsigned int max)
{
	unsigned int num = max < d->opt.queue_size ? max : d->opt.queue_size;

	if (!virtio_has_feature(&d->vdev, VIRTIO_F_RING_PACKED))
		while (num & (num - 1))
			num &= num - 1;
	return num;
}

/*
 * Where queue @i's notifications go: notify_off × multiplier inside the notify structure, with
 * room for the write width (§4.1.4.4). Return: 0 or -ENODEV.
 */
static int vpci_queue_notify_addr(struct vireo_pci_device *d, struct vpci_queue *q, unsigned int i)
{
	const struct vpci_layout *l = &d->layout;
	uint64_t off = vpci_read(d, &l->common, CC(queue_notify_off), 2);
	uint64_t width = virtio_has_feature(&d->vdev, VIRTIO_F_NOTIFICATION_DATA) ? 4 : 2;

	off *= l->notify_off_multiplier; /* 16 × 32 bits: no overflow */
	if (off > l->notify.length || width > l->notify.length - off) {
		log_error("virtio-pci: queue %u notifies at 0x%llx, outside the %llu-byte notify "
			  "structure",
			  i, (unsigned long long)off, (unsigned long long)l->notify.length);
		return -ENODEV;
	}
	q->notify_offset = l->notify.offset + off;
	q->notify_value = (uint16_t)i;
	if (virtio_has_feature(&d->vdev, VIRTIO_F_NOTIF_CONFIG_DATA))
		q->notify_value =
			(uint16_t)vpci_read(d, &l->common, CC(queue_notif_config_data), 2);
	return 0;
}

/*
 * Queue @i's size, ring and addresses, selected first; not enabled (R-PCI-10: enable last).
 * Return: 0; -ENOENT (queue_size 0: no such queue); -ENODEV; -ENOMEM; -EIO.
 */
static int vpci_queue_program(struct vireo_pci_device *d, struct vpci_queue *q, unsigned int i)
{
	const struct vpci_region *c = &d->layout.common;
	unsigned int max, num;
	int ret;

	vpci_write(d, c, CC(queue_select), 2, i);
	max = (unsigned int)vpci_read(d, c, CC(queue_size), 2);
	if (vireo_pci_device_broken(d))
		return -EIO;
	num = vpci_queue_num(d, max);
	if (num == 0) {
		log_error("virtio-pci: queue %u is not available (queue_size %u)", i, max);
		return -ENOENT;
	}
	if (num != max)
		vpci_write(d, c, CC(queue_size), 2, num);
	ret = driver_queue_alloc(&q->dq, &d->vdev, (uint16_t)num,
				 &(struct driver_queue_binding){.index = i,
								.name = q->name,
								.callback = q->callback,
								.notify = vpci_notify,
								.priv = q});
	if (ret < 0)
		return ret;
	q->dev = d;
	vpci_write64(d, CC(queue_desc), q->dq.ring.desc_addr);
	vpci_write64(d, CC(queue_driver), q->dq.ring.avail_addr);
	vpci_write64(d, CC(queue_device), q->dq.ring.used_addr);
	ret = vpci_queue_notify_addr(d, q, i);
	if (!ret && vireo_pci_device_broken(d))
		ret = -EIO;
	return ret;
}

/* queue_enable = 1, the last write of a queue's set-up (R-PCI-10; never 0: R-PCI-12). */
static void vpci_queue_enable(struct vireo_pci_device *d, unsigned int i)
{
	vpci_write(d, &d->layout.common, CC(queue_select), 2, i);
	vpci_write(d, &d->layout.common, CC(queue_enable), 2, 1);
}

void vpci_del_vqs(struct virtio_device *vdev)
{
	struct vireo_pci_device *d = to_vpci(vdev);
	unsigned int i;

	for (i = 0; i < d->nvqs; i++)
		vpci_queue_release(d, &d->queues[i]);
	d->nvqs = 0;
	vpci_vectors_release(d);
}

/*
 * vpci_find_vqs() - every queue programmed, vectors mapped, then every queue enabled (after
 * which only a reset undoes them). Return: 0; -EBUSY; -EINVAL; -ENOENT (the device has fewer
 * queues); -ENODEV; -ENOMEM; -EIO.
 */
int vpci_find_vqs(struct virtio_device *vdev, unsigned int nvqs, struct virtqueue *vqs[],
		  virtqueue_callback *callbacks[], const char *const names[])
{
	struct vireo_pci_device *d = to_vpci(vdev);
	unsigned int i, have;
	int ret = 0;

	if (d->nvqs)
		return -EBUSY;
	if (nvqs == 0 || nvqs > VIREO_PCI_MAX_QUEUES)
		return -EINVAL;
	have = (unsigned int)vpci_read(d, &d->layout.common, CC(num_queues), 2);
	if (have < nvqs) {
		log_error("virtio-pci: the driver needs %u queues, the device has %u", nvqs, have);
		return vireo_pci_device_broken(d) ? -EIO : -ENOENT;
	}
	for (i = 0; i < nvqs && !ret; i++) {
		d->queues[i].callback = callbacks ? callbacks[i] : NULL;
		d->queues[i].name = names ? names[i] : NULL;
		d->nvqs = i + 1;
		ret = vpci_queue_program(d, &d->queues[i], i);
	}
	if (!ret)
		vpci_vectors_setup(d);
	if (!ret && vireo_pci_device_broken(d))
		ret = -EIO;
	if (ret < 0) {
		vpci_del_vqs(vdev);
		return ret;
	}
	for (i = 0; i < nvqs; i++) {
		vpci_queue_enable(d, i);
		vqs[i] = &d->queues[i].dq.vq;
	}
	return vireo_pci_device_broken(d) ? -EIO : 0;
}

/* ---- per-queue reset (VIRTIO_F_RING_RESET) ---- */

int vireo_pci_queue_reset(struct vireo_pci_device *d, unsigned int index)
{
	if (!virtio_has_feature(&d->vdev, VIRTIO_F_RING_RESET))
		return -EOPNOTSUPP;
	if (index >= d->nvqs || d->queues[index].reset)
		return -EINVAL;
	vpci_write(d, &d->layout.common, CC(queue_select), 2, index);
	vpci_write(d, &d->layout.common, CC(queue_reset), 2, 1);
	/* R-PCI-13: the reset is complete only once queue_reset reads back 0. */
	if (!vpci_poll_until_zero(d, &d->layout.common, CC(queue_reset), 2)) {
		vpci_break(d, "queue_reset never read 0");
		return -ETIMEDOUT;
	}
	d->queues[index].reset = true;
	return 0;
}

int vireo_pci_queue_reenable(struct vireo_pci_device *d, unsigned int index)
{
	struct vpci_queue *q;
	int ret;

	if (index >= d->nvqs || !d->queues[index].reset)
		return -EINVAL;
	q = &d->queues[index];
	driver_queue_release(&q->dq, &d->vdev); /* vpci_queue_program() binds the new ring */
	ret = vpci_queue_program(d, q, index);
	if (ret < 0)
		return ret;
	if (q->vector != VIREO_PCI_MSI_NO_VECTOR &&
	    !vpci_vector_accepted(d, CC(queue_msix_vector), q->vector))
		log_warn("virtio-pci: queue %u: vector %u refused after its reset", index,
			 q->vector);
	vpci_queue_enable(d, index);
	q->reset = false;
	return vireo_pci_device_broken(d) ? -EIO : 0;
}

/* ---- waiting: the driver's interrupt handler ---- */

/* The queues the calling thread drives (it kicked them last); all if none. */
static unsigned int vpci_wait_select(struct vireo_pci_device *d, unsigned int *idx)
{
	return queue_owner_select(&d->queues[0].dq.owner, sizeof(d->queues[0]), d->nvqs, idx);
}

static void vpci_run_callback(struct vpci_queue *q)
{
	if (q->dq.vq.callback && !q->reset)
		q->dq.vq.callback(&q->dq.vq);
}

/* No interrupts: look at the rings (and the ISR for config changes), sleeping between. */
static int vpci_wait_poll(struct vireo_pci_device *d, const unsigned int *idx, unsigned int n,
			  int timeout_ms)
{
	int64_t start_ms = transport_clock_ms();
	long sleep_ns = 1000;
	unsigned int i;

	for (;;) {
		bool any = false;

		for (i = 0; i < n; i++) {
			if (virtqueue_more_used(&d->queues[idx[i]].dq.vq)) {
				vpci_run_callback(&d->queues[idx[i]]);
				any = true;
			}
		}
		/* ISR is read-to-clear (§4.1.4.5); its config bit stands for the interrupt. */
		if (vpci_read(d, &d->layout.isr, 0, 1) & VIREO_PCI_ISR_CONFIG) {
			virtio_config_changed(&d->vdev);
			any = true;
		}
		if (any || vireo_pci_device_broken(d))
			return vireo_pci_device_broken(d) ? -EIO : 0;
		if (timeout_ms >= 0 && transport_clock_ms() - start_ms >= timeout_ms)
			return -ETIMEDOUT;
		nanosleep(&(struct timespec){.tv_nsec = sleep_ns}, NULL);
		if (sleep_ns < VPCI_POLL_MAX_NS)
			sleep_ns *= 2;
	}
}

/* Run what vector @v stands for: its queues among @idx, and config changes. */
static void vpci_vector_fired(struct vireo_pci_device *d, unsigned int v, const unsigned int *idx,
			      unsigned int n)
{
	unsigned int i;

	vireo_eventfd_drain_fd(d->vector_fd[v]);
	for (i = 0; i < n; i++)
		if (d->queues[idx[i]].vector == v)
			vpci_run_callback(&d->queues[idx[i]]);
	/* R-PCI-23: a shared vector can mean both; a spurious config look is harmless. */
	if (v == d->config_vector)
		virtio_config_changed(&d->vdev);
}

/*
 * vpci_wait() - poll the eventfds of the vectors of the caller's queues and of config
 * changes, then run the callbacks of what fired; without vectors, poll the rings.
 * Return: 0, -ETIMEDOUT, -EIO (broken), or -errno from poll.
 */
int vpci_wait(struct virtio_device *vdev, int timeout_ms)
{
	struct vireo_pci_device *d = to_vpci(vdev);
	struct pollfd pfd[VIREO_PCI_MAX_QUEUES + 1];
	unsigned int idx[VIREO_PCI_MAX_QUEUES], vec[VIREO_PCI_MAX_QUEUES + 1];
	bool want[VIREO_PCI_MAX_QUEUES + 1] = {false};
	unsigned int i, n, m = 0;
	int ret;

	if (vireo_pci_device_broken(d))
		return -EIO;
	n = vpci_wait_select(d, idx);
	if (d->nvectors == 0)
		return vpci_wait_poll(d, idx, n, timeout_ms);
	want[d->config_vector] = true;
	for (i = 0; i < n; i++)
		if (d->queues[idx[i]].vector < d->nvectors)
			want[d->queues[idx[i]].vector] = true;
	for (i = 0; i < d->nvectors; i++) {
		if (!want[i])
			continue;
		vec[m] = i;
		pfd[m++] = (struct pollfd){.fd = d->vector_fd[i], .events = POLLIN};
	}
	do
		ret = poll(pfd, m, timeout_ms);
	while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	if (ret == 0)
		return -ETIMEDOUT;
	for (i = 0; i < m; i++)
		if (pfd[i].revents & POLLIN)
			vpci_vector_fired(d, vec[i], idx, n);
	return vireo_pci_device_broken(d) ? -EIO : 0;
}
