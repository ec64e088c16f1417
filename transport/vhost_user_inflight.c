// SPDX-License-Identifier: MIT
/*
 * GET_INFLIGHT_FD / SET_INFLIGHT_FD (protocol feature INFLIGHT_SHMFD): the
 * back-end makes the region (a sealed memfd, D-VU-INFL-02/-14), the
 * front-end keeps it across our restarts and hands it back. What comes back
 * is the front-end's file: its description is checked like any request, the
 * mapping is guarded against a shrink (mem_guard.h), and the core checks the
 * contents at ring start (core/device_queue_inflight.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vireo/inflight.h>
#include <vireo/log.h>
#include <vireo/mem_guard.h>

#include "transport/vhost_user_internal.h"

/* Far above 8 queues of 32768 packed entries; bounds what a front-end can make us map. */
#define VUB_INFLIGHT_MAX_BYTES (64ull << 20)

/*
 * Return: 0 and *@bytes (the size the regions need), or -EINVAL (*@why):
 * protocol feature not negotiated, queue count or size out of range.
 */
static int vub_inflight_check(const struct vhost_user_backend *b,
			      const struct vhost_user_inflight *in, uint64_t *bytes,
			      const char **why)
{
	if (!(b->protocol_features & VIRTIO_BIT(VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD))) {
		*why = "inflight request without INFLIGHT_SHMFD negotiated";
		return -EINVAL;
	}
	if (in->num_queues == 0 || in->num_queues > b->dev->num_queues) {
		*why = "inflight region for more queues than the device has";
		return -EINVAL;
	}
	if (in->queue_size == 0 || in->queue_size > b->dev->queue_max_size) {
		*why = "inflight region queue size out of range";
		return -EINVAL;
	}
	*bytes = (uint64_t)in->num_queues *
		 vireo_vinflight_queue_size(vdev_has_feature(b->dev, VIRTIO_F_RING_PACKED),
					    in->queue_size);
	return 0;
}

/* Return: 0 (reply filled, the fd in it); -EINVAL (*@why); -errno from memfd/ftruncate. */
int vub_inflight_get(struct vhost_user_backend *b, const struct vhost_user_msg *msg,
		     struct vhost_user_msg *reply, const char **why)
{
	const struct vhost_user_inflight *in = &msg->payload.inflight;
	uint64_t bytes;
	int fd, ret;

	if (vub_inflight_check(b, in, &bytes, why) < 0)
		return -EINVAL;
	/* A fresh file each time: zero bytes are a version-0 region (D-VU-INFL-14). */
	fd = memfd_create("vireo-inflight", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || ftruncate(fd, (off_t)bytes) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		*why = "cannot create the inflight region";
		return ret;
	}
	reply->hdr.size = sizeof(reply->payload.inflight);
	reply->payload.inflight = (struct vhost_user_inflight){
		.mmap_size = bytes,
		.num_queues = in->num_queues,
		.queue_size = in->queue_size,
	};
	reply->fds[0] = fd;
	reply->num_fds = 1;
	return 0;
}

void vub_inflight_clear(struct vhost_user_backend *b)
{
	struct vub_inflight *inf = &b->inflight;

	for (unsigned int i = 0; i < VDEV_MAX_QUEUES; i++) {
		if (i < b->dev->num_queues)
			(void)vireo_vdev_queue_set_inflight(b->dev, i, NULL);
		vireo_vinflight_destroy(&inf->queues[i]);
	}
	if (inf->map) {
		vireo_mem_guard_unregister(inf->guard);
		munmap(inf->map, inf->map_len);
	}
	memset(inf, 0, sizeof(*inf));
	inf->guard = -1;
}

bool vub_inflight_faulted(const struct vhost_user_backend *b)
{
	return b->inflight.map && vireo_mem_guard_faulted(b->inflight.guard);
}

/*
 * Return: 0 or -EINVAL (*@why): the file cannot hold what the description says
 * (@page: the page size, from sysconf, maybe <= 0 if it failed).
 */
static int vub_inflight_check_file(int fd, const struct vhost_user_inflight *in, uint64_t need,
				   long page, const char **why)
{
	if (in->mmap_size < need || in->mmap_size > VUB_INFLIGHT_MAX_BYTES) {
		*why = "inflight mmap size does not fit its queues";
		return -EINVAL;
	}
	if (page <= 0 || in->mmap_offset % (uint64_t)page != 0 ||
	    in->mmap_offset > UINT64_MAX - in->mmap_size) {
		*why = "inflight mmap offset not page aligned";
		return -EINVAL;
	}
	return vub_memory_fd_check(fd, in->mmap_offset + in->mmap_size, NULL, why);
}

/*
 * Map the regions (@page: the page size, > 0) and hand each queue its own.
 * Return: 0 or -errno (*@why); on an error nothing stays mapped or tracked.
 */
static int vub_inflight_map(struct vhost_user_backend *b, int fd,
			    const struct vhost_user_inflight *in, long page, const char **why)
{
	struct vub_inflight *inf = &b->inflight;
	bool packed = vdev_has_feature(b->dev, VIRTIO_F_RING_PACKED);
	size_t stride = vireo_vinflight_queue_size(packed, in->queue_size);
	void *map;
	int ret;

	map = mmap(NULL, (size_t)in->mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   (off_t)in->mmap_offset);
	if (map == MAP_FAILED) {
		*why = "cannot mmap the inflight region";
		return -errno;
	}
	inf->guard = vireo_mem_guard_register(map, (size_t)in->mmap_size, (size_t)page);
	if (inf->guard < 0) {
		munmap(map, (size_t)in->mmap_size);
		*why = "cannot guard the inflight region";
		return -ENOMEM;
	}
	inf->map = map;
	inf->map_len = (size_t)in->mmap_size;
	for (unsigned int i = 0; i < in->num_queues; i++) {
		ret = vireo_vinflight_init(&inf->queues[i], (char *)map + i * stride, stride,
					   packed);
		if (ret == 0)
			ret = vireo_vdev_queue_set_inflight(b->dev, i, &inf->queues[i]);
		if (ret < 0) {
			/* Not reached with a page-aligned map and checked queues; never half-tracked. */
			vub_inflight_clear(b);
			*why = "cannot track a queue through the inflight region";
			return ret;
		}
	}
	return 0;
}

/* Return: 0; -EINVAL (*@why); -errno from mmap. Takes the message's fd. */
int vub_inflight_set(struct vhost_user_backend *b, struct vhost_user_msg *msg, const char **why)
{
	const struct vhost_user_inflight *in = &msg->payload.inflight;
	long page = sysconf(_SC_PAGESIZE);
	uint64_t need;
	int fd, ret;

	if (vub_inflight_check(b, in, &need, why) < 0)
		return -EINVAL;
	for (unsigned int i = 0; i < b->dev->num_queues; i++)
		if (b->dev->queues[i].enabled) {
			*why = "SET_INFLIGHT_FD with a ring running";
			return -EINVAL;
		}
	fd = vireo_vhost_user_msg_take_fd(msg, 0);
	ret = vub_inflight_check_file(fd, in, need, page, why);
	if (ret == 0) {
		vub_inflight_clear(b);
		ret = vub_inflight_map(b, fd, in, page, why);
	}
	close(fd);
	if (ret == 0)
		log_info("vhost-user: inflight region: %u queues of %u, %s layout", in->num_queues,
			 in->queue_size, b->inflight.queues[0].packed ? "packed" : "split");
	return ret;
}
