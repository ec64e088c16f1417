// SPDX-License-Identifier: MIT
/*
 * The front-end's side of a back-end restart (vhost-user.rst "Inflight I/O
 * tracking"): with INFLIGHT_SHMFD the back-end's region is fetched once and
 * kept; when the back-end hangs up, connect again, replay the set-up as QEMU
 * does after `reconnect=` (features, memory table, the kept region, every
 * ring), and let the driver wait on: the new back-end resubmits what was in
 * flight and resumes the rings where the region says.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vireo/log.h>

#include "transport/clock.h"
#include "transport/vhost_user_frontend_internal.h"

#define VHU_FE_RECONNECT_STEP_MS 100

bool vhu_fe_can_reconnect(const struct vhost_user_frontend *fe)
{
	return fe->reconnect_ms > 0 && fe->inflight_fd >= 0 && fe->path[0];
}

/* Return: 0 (also without INFLIGHT_SHMFD: nothing to do) or -EIO. */
int vhu_fe_inflight_setup(struct vhost_user_frontend *fe, unsigned int nvqs)
{
	struct vhost_user_inflight in = {.num_queues = (uint16_t)nvqs,
					 .queue_size = (uint16_t)fe->queue_size};
	struct vhost_user_msg reply;
	int ret;

	if (!vhu_fe_has_protocol(fe, VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD))
		return 0;
	if (fe->inflight_fd < 0) {
		ret = vhu_fe_request(fe, VHOST_USER_GET_INFLIGHT_FD, &in, sizeof(in), NULL, 0,
				     &reply);
		if (ret < 0)
			return ret;
		/* The table let exactly one fd through with this reply. */
		fe->inflight_fd = vireo_vhost_user_msg_take_fd(&reply, 0);
		fe->inflight = reply.payload.inflight;
	}
	return vhu_fe_request(fe, VHOST_USER_SET_INFLIGHT_FD, &fe->inflight, sizeof(fe->inflight),
			      &fe->inflight_fd, 1, NULL);
}

/* A new socket to the path (the old one closed). Return: 0 or -errno from connect. */
/* Under fe->lock: no other thread's request is on the old socket when it closes. */
static int vhu_fe_redial(struct vhost_user_frontend *fe)
{
	int ret;

	pthread_mutex_lock(&fe->lock);
	if (fe->sock >= 0)
		close(fe->sock);
	fe->sock = -1;
	ret = vhu_fe_connect(fe, fe->path);
	pthread_mutex_unlock(&fe->lock);
	return ret;
}

/* The set-up after the handshake: features, memory, region, rings. Return: 0 or -EIO. */
static int vhu_fe_replay(struct vhost_user_frontend *fe, uint64_t offered, uint64_t protocol)
{
	uint64_t f = (fe->vdev.features & ~(1ull << VHOST_USER_F_PROTOCOL_FEATURES)) |
		     (fe->offered & (1ull << VHOST_USER_F_PROTOCOL_FEATURES));
	int ret;

	/* Another back-end, or a changed one: what the driver runs on must still be there. */
	if ((fe->offered & offered) != offered || (fe->protocol & protocol) != protocol ||
	    fe->queue_num < fe->nvqs)
		return -EIO;
	ret = vhu_fe_set_u64(fe, VHOST_USER_SET_FEATURES, f);
	if (!ret)
		ret = vhu_fe_send_mem_table(fe);
	if (!ret)
		ret = vhu_fe_inflight_setup(fe, fe->nvqs);
	for (unsigned int i = 0; !ret && i < fe->nvqs; i++)
		ret = vhu_fe_start_ring(fe, &fe->queues[i], i);
	return ret;
}

/*
 * One attempt: connect, handshake, replay. A connect can land in the dying
 * back-end's listen queue (its connection closes before its listener), so a
 * failure is retried until the deadline. Return: 0 or -EIO.
 */
static int vhu_fe_reconnect_once(struct vhost_user_frontend *fe, uint64_t offered,
				 uint64_t protocol)
{
	int ret = vhu_fe_redial(fe);

	if (ret < 0)
		return -EIO;
	/* Relaxed: requests check it; the new socket is ours alone until the replay ends. */
	atomic_store_explicit(&fe->broken, false, memory_order_relaxed);
	fe->protocol = 0;
	ret = vhu_fe_handshake(fe);
	if (ret == 0)
		ret = vhu_fe_replay(fe, offered, protocol);
	return ret < 0 ? -EIO : 0;
}

/* Return: 0 or -EIO (see the internal header). */
int vhu_fe_reconnect(struct vhost_user_frontend *fe, unsigned long gen)
{
	struct timespec step = {.tv_nsec = VHU_FE_RECONNECT_STEP_MS * 1000000L};
	uint64_t offered = fe->offered, protocol = fe->protocol;
	int64_t deadline = transport_clock_ms() + fe->reconnect_ms;
	int ret = 0;

	pthread_mutex_lock(&fe->reconnect_lock);
	if (fe->generation != gen)
		goto out_unlock; /* another thread reconnected already */
	log_warn("vhost-user: back-end %s went away: reconnecting (up to %d ms)", fe->path,
		 fe->reconnect_ms);
	/* Relaxed: other threads' kicks only need to not fail meanwhile (they reach our eventfd). */
	queue_owner_claim(&fe->reconnect_owner);
	atomic_store_explicit(&fe->reconnecting, true, memory_order_relaxed);
	while ((ret = vhu_fe_reconnect_once(fe, offered, protocol)) < 0 &&
	       transport_clock_ms() < deadline)
		nanosleep(&step, NULL);
	if (ret < 0) {
		atomic_store_explicit(&fe->broken, true, memory_order_relaxed);
		log_warn("vhost-user: back-end %s: no reconnection within %d ms; the device is "
			 "broken",
			 fe->path, fe->reconnect_ms);
	}
	atomic_store_explicit(&fe->reconnecting, false, memory_order_relaxed);
	queue_owner_clear(&fe->reconnect_owner);
	if (ret == 0) {
		fe->generation++;
		log_warn("vhost-user: back-end %s: reconnected, %u rings resumed", fe->path,
			 fe->nvqs);
	}
out_unlock:
	pthread_mutex_unlock(&fe->reconnect_lock);
	return ret;
}
