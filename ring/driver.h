/* SPDX-License-Identifier: MIT */
/* Private to ring/: what the driver-side formats share behind struct virtqueue_ops. */
#ifndef VIREO_RING_DRIVER_H
#define VIREO_RING_DRIVER_H

#include <vireo/virtqueue.h>

/* The transport's notify hook; a failed notification breaks the queue. */
bool vring_drv_notify(struct virtqueue *vq);

/* The sticky broken flag, the same for every format. */
bool vring_drv_is_broken(const struct virtqueue *vq);

/* Sum a chain's bytes into *@writable; -EINVAL if they exceed 32 bits (R-SR-03). */
int vring_drv_count_bytes(const struct virtio_sg *sg, unsigned int out_num, unsigned int total,
			  uint32_t *writable);

#endif /* VIREO_RING_DRIVER_H */
