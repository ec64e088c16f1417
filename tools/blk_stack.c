// SPDX-License-Identifier: MIT
/*
 * The tools' block stack: blk model -> loopback -> bus -> blk driver, or
 * vhost-user back-end -> vhost-user front-end -> bus -> blk driver.
 */
#include <errno.h>
#include <string.h>

#include "tools/blk_stack.h"

/* blk_stack_open() - see blk_stack.h */
int blk_stack_open(struct blk_stack *s, const char *path, bool readonly, unsigned int queues,
		   size_t dma_bytes, enum virtio_ring_format ring)
{
	struct blk_device_options opt = {
		.path = path,
		.readonly = readonly,
		.num_queues = queues,
		.serial = "vireo-blk",
	};
	struct virtio_device *vdev;
	int ret;

	memset(s, 0, sizeof(*s));
	virtio_bus_init(&s->bus);
	s->bus.ring_format = ring;
	ret = virtio_blk_register(&s->bus, &s->drv);
	if (ret < 0)
		return ret;
	ret = vireo_blk_device_new(&s->dev, &opt);
	if (ret < 0)
		goto out_unregister;
	ret = vireo_loopback_new(&s->lb, &s->bus, vireo_blk_device_vdev(s->dev), dma_bytes);
	if (ret < 0)
		goto out_free_dev;
	vdev = vireo_loopback_virtio_device(s->lb);
	s->blk = virtio_blk_from_device(vdev);
	if (!s->blk) {
		ret = -ENODEV;
		goto out_free_lb;
	}
	return 0;

out_free_lb:
	vireo_loopback_free(s->lb);
out_free_dev:
	vireo_blk_device_free(s->dev);
out_unregister:
	virtio_blk_unregister(&s->bus, &s->drv);
	memset(s, 0, sizeof(*s));
	return ret;
}

/* blk_stack_connect() - see blk_stack.h */
int blk_stack_connect(struct blk_stack *s, const char *socket_path, unsigned int queues,
		      size_t dma_bytes, enum virtio_ring_format ring, unsigned int reconnect_ms)
{
	struct vhost_user_frontend_options opt = {
		.socket_path = socket_path,
		.device_id = VIRTIO_ID_BLOCK,
		.dma_bytes = dma_bytes,
		.reconnect_ms = (int)reconnect_ms,
	};
	int ret;

	memset(s, 0, sizeof(*s));
	virtio_bus_init(&s->bus);
	s->bus.ring_format = ring;
	s->drv.max_queues = queues;
	ret = virtio_blk_register(&s->bus, &s->drv);
	if (ret < 0)
		return ret;
	ret = vireo_vhost_user_frontend_new(&s->fe, &s->bus, &opt);
	if (ret < 0)
		goto out_unregister;
	s->blk = virtio_blk_from_device(vireo_vhost_user_frontend_virtio_device(s->fe));
	if (!s->blk) {
		ret = -ENODEV;
		goto out_free_fe;
	}
	return 0;

out_free_fe:
	vireo_vhost_user_frontend_free(s->fe);
out_unregister:
	virtio_blk_unregister(&s->bus, &s->drv);
	memset(s, 0, sizeof(*s));
	return ret;
}

void blk_stack_close(struct blk_stack *s)
{
	if (s->fe)
		vireo_vhost_user_frontend_free(s->fe);
	if (s->lb)
		vireo_loopback_free(s->lb);
	if (s->dev)
		vireo_blk_device_free(s->dev);
	virtio_blk_unregister(&s->bus, &s->drv);
	memset(s, 0, sizeof(*s));
}
