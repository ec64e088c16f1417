/* SPDX-License-Identifier: MIT */
/*
 * The device core: what every device model shares, whatever transport
 * drives it. Status machine (virtio 1.2 §2.1, §3.1), feature masking and
 * negotiation, config space bounds, queue configuration and validation,
 * DEVICE_NEEDS_RESET, reset. A model (devices/blk, devices/rng) embeds a
 * struct vdev and implements struct vdev_ops; a transport (loopback,
 * vhost-user) calls the vireo_vdev_* functions.
 *
 * Threading: a vdev is single-threaded by default. The transport calls every
 * vireo_vdev_* function from the device's thread (loopback forwards its driver's
 * config operations there; vhost-user handles messages there).
 * A transport may give a queue its own event loop (vdev_queue.loop), run by
 * its own thread: that queue's kicks and the model's per-queue completion
 * fds are then dispatched there, so queue_notify and the ring operations of
 * different queues run concurrently. The transport MUST stop (and join) every
 * queue thread before it calls any other vireo_vdev_* function, and restart them
 * after. A ring violation on a queue thread only sets DEVICE_NEEDS_RESET
 * (atomically) and stops that queue; the others see the bit and stop.
 *
 * File descriptors handed to the core (kick, call, config call) belong to it
 * from then on: it closes them when replaced, at reset and at destroy.
 */
#ifndef VIREO_DEVICE_H
#define VIREO_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vireo/event_loop.h>
#include <vireo/guest_mem.h>
#include <vireo/peer_eventfd.h>
#include <vireo/vring.h>
#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VDEV_MAX_QUEUES 64

struct vdev;

struct vinflight;

/**
 * struct vdev_queue - one device-side virtqueue
 * @dev: owner
 * @index: queue index
 * @num: configured size (defaults to the device maximum)
 * @desc_addr, @avail_addr, @used_addr: guest addresses set by the driver
 * @position: where to start when enabled (vireo_vdev_queue_set_position)
 * @kick_fd: eventfd the driver writes to kick (or -1)
 * @call_fd: eventfd the device signals used buffers on (or -1)
 * @call_signal: signals @call_fd without ever blocking (peer_eventfd.h)
 * @kick_signal: signals @kick_fd (vireo_vdev_queue_kick_again), made on first use
 * @enabled: the ring was validated and is being served
 * @addr_set: the driver set the ring addresses (DRIVER_OK enables the queue)
 * @disabled: served, but the driver disabled the ring (vhost-user
 *	SET_VRING_ENABLE 0): the model processes it without side effects (a
 *	network device discards what it transmits and puts nothing in it).
 *	Set only for models with @serves_disabled_rings.
 * @kick_watched: @kick_fd is registered in the queue's event loop
 * @call_fresh: @call_fd was installed and not yet signalled: it is, once,
 *	as soon as the queue runs (a driver that reconnected may wait for
 *	used buffers signalled on the fd it replaced)
 * @loop: optional loop of the queue's own thread (NULL: the device's @loop);
 *	set by the transport, kept across reset
 * @iova_mem: optional; how the ring's addresses are translated when they are
 *	I/O virtual addresses (VIRTIO_F_ACCESS_PLATFORM behind an IOMMU:
 *	vhost-user's IOTLB). .translate NULL: through the device's memory map.
 *	Set by the transport while the queue is not enabled, kept across reset.
 * @ring_ops: the ring format, chosen at enable from the negotiated
 *	VIRTIO_F_RING_PACKED (valid while @enabled, NULL before)
 * @ring: the device side of the ring, in @ring_ops' format (valid while @enabled)
 * @ring_state: private memory of @ring
 * @model_data: for the device model (kept across reset: the model owns it)
 * @kicks, @calls: kick events handled and used-buffer notifications sent,
 *	since the device was created (written by the queue's thread only; read
 *	them with vdev_queue_counter() from any thread)
 */
struct vdev_queue {
	struct vdev *dev;
	uint16_t index;
	uint16_t num;
	uint64_t desc_addr;
	uint64_t avail_addr;
	uint64_t used_addr;
	struct vring_dev_position position;
	int kick_fd;
	int call_fd;
	struct peer_eventfd *call_signal;
	struct peer_eventfd *kick_signal;
	bool enabled;
	bool addr_set;
	bool disabled;
	bool kick_watched;
	bool call_fresh;
	struct event_loop *loop;
	struct vring_mem iova_mem;
	const struct vring_dev_ops *ring_ops;
	union vring_dev_ring ring;
	void *ring_state;
	struct vinflight *inflight; /* vhost-user inflight tracking (the transport's), or NULL */
	void *model_data;
	uint64_t kicks;
	uint64_t calls;
};

/* One writer (the queue's thread), readers anywhere: relaxed loads and stores suffice. */
static inline void vdev_counter_add(uint64_t *counter, uint64_t n)
{
	__atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

/** vdev_queue_counter() - a counter of a queue another thread may be updating */
static inline uint64_t vdev_queue_counter(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

/**
 * struct vdev_ops - what a device model implements (Firecracker's device trait)
 * @set_features: optional; the driver's features are final (FEATURES_OK or
 *	vhost-user SET_FEATURES). Return 0 or -errno to refuse them.
 * @set_features_ext: optional; as @set_features with bits 64-127 too
 *	(@features_hi; 0 over vhost-user). When set, called instead of it.
 * @config_write: optional; a bounds-checked write into config space. Return 0
 *	or -errno (the write is then dropped). Without it config is read-only.
 * @activate: the driver is ready (DRIVER_OK): memory, features and enabled
 *	queues are final. Return 0 or -errno (the device then NEEDS_RESET).
 * @queue_notify: the driver kicked @q (or a poller found work)
 * @queue_stop: optional; finish (or cancel and reap) every request of @q the
 *	model started. On return the model holds no pointer into guest memory
 *	for @q and completes nothing more on it. Called before a transport stops
 *	@q (vireo_vdev_queue_disable()) and for every queue before guest memory is
 *	replaced or unmapped (vireo_vdev_quiesce()), enabled or not: the ring may
 *	already be gone (NEEDS_RESET) while the model's I/O is not. It may wait
 *	for the model's own back-end (a file), never for the driver. A model
 *	without it must never hold guest memory across a return to the loop.
 * @reset: stop: finish or cancel in-flight work, free what @activate took.
 *	Called at every vireo_vdev_reset(), also when never activated: make it
 *	idempotent. The rings still exist while it runs; they are freed after.
 */
struct vdev_ops {
	int (*set_features)(struct vdev *dev, uint64_t features);
	int (*set_features_ext)(struct vdev *dev, uint64_t features, uint64_t features_hi);
	int (*config_write)(struct vdev *dev, uint32_t offset, const void *buf, uint32_t len);
	int (*activate)(struct vdev *dev);
	void (*queue_notify)(struct vdev *dev, struct vdev_queue *q);
	void (*queue_stop)(struct vdev *dev, struct vdev_queue *q);
	void (*reset)(struct vdev *dev);
};

/**
 * struct vdev - a device as the core sees it (embed it in the model)
 * @offered_features, @driver_features, @acked_features: feature bits 0-63
 * @offered_features_hi, @driver_features_hi, @acked_features_hi: bits 64-127
 *	(all the device type's, §2.2), carried by virtio-pci, virtio-mmio and
 *	loopback; vhost-user's messages are 64-bit, so there they stay 0
 * @config, @config_size: the model's config space, read by the core
 * @serves_disabled_rings: set by the model: it can process a started but
 *	disabled ring without side effects (vdev_queue.disabled); a transport
 *	stops the ring of any other model while it is disabled
 * @stopped: vireo_vdev_stop() took the device's memory access away; cleared
 *	by vireo_vdev_reset() only
 */
struct vdev {
	const struct vdev_ops *ops;
	const char *name;
	uint32_t device_id;
	uint8_t status;
	uint64_t offered_features;
	uint64_t driver_features;
	uint64_t acked_features;
	uint64_t offered_features_hi;
	uint64_t driver_features_hi;
	uint64_t acked_features_hi;
	bool activated;
	const struct guest_mem *mem;
	struct event_loop *loop;
	int config_call_fd;
	struct peer_eventfd *config_call_signal;
	uint16_t queue_max_size;
	unsigned int num_queues;
	void *config;
	uint32_t config_size;
	uint32_t config_generation;
	bool serves_disabled_rings;
	bool stopped;
	struct vdev_queue queues[VDEV_MAX_QUEUES];
};

/*
 * Ring features the core implements; a model's offer is masked to these plus
 * its own bits, plus VIRTIO_F_IN_ORDER if the model asks for it: only a model
 * that uses every queue's buffers in the order they were made available may
 * (D-BF-19; blk completes out of order and must not).
 */
#define VDEV_CORE_FEATURES                                                          \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC) | \
	 VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) | VIRTIO_BIT(VIRTIO_F_RING_PACKED))

/**
 * vireo_vdev_init() - set up the core part of a device
 * @device_features: the model's device-specific bits (0-23, 41, 42, 50-63),
 *	and VIRTIO_F_IN_ORDER if it uses buffers in order; the core adds
 *	VDEV_CORE_FEATURES and drops anything else in the reserved range.
 *	Bits 64-127: vireo_vdev_offer_features_hi() after this call.
 * Return: 0 or -EINVAL (num_queues 0 or above VDEV_MAX_QUEUES, bad queue size).
 */
VIREO_API int vireo_vdev_init(struct vdev *dev, const struct vdev_ops *ops, const char *name,
			      uint32_t device_id, uint64_t device_features, unsigned int num_queues,
			      uint16_t queue_max_size, void *config, uint32_t config_size);

/** vireo_vdev_destroy() - reset and close every fd the core holds */
VIREO_API void vireo_vdev_destroy(struct vdev *dev);

/** vireo_vdev_set_memory() - the guest memory map the queues translate through */
VIREO_API void vireo_vdev_set_memory(struct vdev *dev, const struct guest_mem *mem);

/** vireo_vdev_set_event_loop() - the loop kick fds are watched in (the device's thread) */
VIREO_API void vireo_vdev_set_event_loop(struct vdev *dev, struct event_loop *loop);

/**
 * vireo_vdev_set_config_call_fd() - eventfd for config-change notifications (owned
 * by the core once accepted; -1 removes it)
 * Return: 0; -EINVAL (not an eventfd) or -errno from io_uring
 * (vireo_peer_eventfd_new): the caller keeps @fd and the old one stays.
 */
VIREO_API int vireo_vdev_set_config_call_fd(struct vdev *dev, int fd);

/** vdev_has_feature() - @bit (0-127) was negotiated; false for any other @bit */
static inline bool vdev_has_feature(const struct vdev *dev, unsigned int bit)
{
	return vireo_feature_in(dev->acked_features, dev->acked_features_hi, bit);
}

/**
 * vireo_vdev_describe_rings() - "packed rings: event_idx indirect in_order" (the
 * format and the negotiated ring features) into @buf, always terminated;
 * "no features negotiated" before SET_FEATURES/FEATURES_OK
 */
VIREO_API void vireo_vdev_describe_rings(const struct vdev *dev, char *buf, size_t size);

/** vireo_vdev_get_status() - the device status byte */
VIREO_API uint8_t vireo_vdev_get_status(const struct vdev *dev);

/**
 * vireo_vdev_set_status() - the driver writes the status byte (§2.1, §3.1.1)
 * 0 resets. Otherwise bits may only be added, in order: ACKNOWLEDGE, DRIVER,
 * FEATURES_OK (refused, i.e. left clear, if the driver acked a feature not
 * offered or not VERSION_1), DRIVER_OK (activates; on failure the device
 * NEEDS_RESET).
 * Return: 0; -EINVAL for a write that clears bits, skips a step, sets an
 * unknown bit or adds bits after FAILED (status unchanged); -EPERM when
 * FEATURES_OK is refused (the bits before it in the same write are kept);
 * -EIO for adding bits other than FAILED while DEVICE_NEEDS_RESET or stopped
 * (vireo_vdev_stop()); the error
 * of queue enable or of the model's activate for DRIVER_OK (DRIVER_OK is then
 * set together with DEVICE_NEEDS_RESET).
 */
VIREO_API int vireo_vdev_set_status(struct vdev *dev, uint8_t status);

/**
 * vireo_vdev_set_driver_features() - the driver writes its feature bits
 * Return: 0, or -EPERM outside DRIVER-set-and-FEATURES_OK-clear.
 */
VIREO_API int vireo_vdev_set_driver_features(struct vdev *dev, uint64_t features);

/**
 * vireo_vdev_set_driver_features_hi() - the driver writes its feature bits 64-127
 * Return: 0, or -EPERM outside DRIVER-set-and-FEATURES_OK-clear.
 */
VIREO_API int vireo_vdev_set_driver_features_hi(struct vdev *dev, uint64_t features_hi);

/**
 * vireo_vdev_offer_features_hi() - bits 64-127 of the model's offer (all are the
 * device type's, §2.2); call after vireo_vdev_init(), before a driver starts.
 * vhost-user never offers them (its GET_FEATURES is 64-bit).
 * Return: 0, or -EBUSY once the driver has begun (status not 0).
 */
VIREO_API int vireo_vdev_offer_features_hi(struct vdev *dev, uint64_t features_hi);

/**
 * vireo_vdev_negotiate_features() - make @features final (FEATURES_OK, vhost-user
 * SET_FEATURES): checks they are a subset of the offer, calls the model.
 * Return: 0, -EINVAL (not offered, or VIRTIO_F_VERSION_1 missing: Vireo is
 * modern-only), -EBUSY (ring features changed while a queue is enabled), or
 * the model's error. Bits 64-127 are taken as 0 (vhost-user SET_FEATURES).
 */
VIREO_API int vireo_vdev_negotiate_features(struct vdev *dev, uint64_t features);

/**
 * vireo_vdev_negotiate_features_ext() - vireo_vdev_negotiate_features() with
 * bits 64-127 (@features_hi) too. Return: as vireo_vdev_negotiate_features().
 */
VIREO_API int vireo_vdev_negotiate_features_ext(struct vdev *dev, uint64_t features,
						uint64_t features_hi);

/**
 * vireo_vdev_config_read() / vireo_vdev_config_write() - bounds-checked config access
 * Return: 0; -EINVAL if [@offset, @offset + @len) is outside config space;
 * -EPERM for a write to a model without config_write; the model's error for
 * a write it does not accept.
 */
VIREO_API int vireo_vdev_config_read(const struct vdev *dev, uint32_t offset, void *buf,
				     uint32_t len);
VIREO_API int vireo_vdev_config_write(struct vdev *dev, uint32_t offset, const void *buf,
				      uint32_t len);

/** vireo_vdev_config_changed() - the model changed config: bump generation, signal */
VIREO_API void vireo_vdev_config_changed(struct vdev *dev);

/*
 * Queue configuration. Each returns 0, or -EINVAL for an index out of range
 * or a bad value, or -EBUSY while the queue is enabled. The kick and call fds
 * may be replaced while the queue runs (vhost-user does); on -EINVAL the
 * caller still owns the fd, otherwise the core does, even if watching it fails.
 * A call fd must be an eventfd the core can signal through io_uring
 * (vireo_peer_eventfd_new); otherwise -EINVAL or its -errno, and the caller keeps it.
 */
VIREO_API int vireo_vdev_queue_set_num(struct vdev *dev, unsigned int index, unsigned int num);
VIREO_API int vireo_vdev_queue_set_addr(struct vdev *dev, unsigned int index, uint64_t desc,
					uint64_t avail, uint64_t used);
VIREO_API int vireo_vdev_queue_set_base(struct vdev *dev, unsigned int index,
					uint16_t last_avail_idx);

/**
 * vireo_vdev_queue_set_position() - where @index resumes, both indices and wrap
 * counters (packed; vireo_vdev_queue_set_base() sets only the avail index).
 * Return: 0; -EINVAL (index; an index above 32767); -EBUSY (enabled).
 * Whether it fits the ring is checked at enable.
 */
VIREO_API int vireo_vdev_queue_set_position(struct vdev *dev, unsigned int index,
					    const struct vring_dev_position *pos);

/**
 * vireo_vdev_queue_get_position() - where @index would resume (GET_VRING_BASE)
 * Return: 0 and *@pos; -EINVAL for a bad queue index.
 */
VIREO_API int vireo_vdev_queue_get_position(const struct vdev *dev, unsigned int index,
					    struct vring_dev_position *pos);

/**
 * vireo_vdev_queue_set_inflight() - track @index's requests in @inf (vhost-user
 * inflight I/O tracking), or stop with NULL. @inf stays the caller's and must
 * outlive the tracking. At each enable the core checks the region against the
 * ring and resubmits what it says was in flight (core/device_queue_inflight.c).
 * Return: 0; -EINVAL (index); -EBUSY (the queue is enabled).
 */
VIREO_API int vireo_vdev_queue_set_inflight(struct vdev *dev, unsigned int index,
					    struct vinflight *inf);

/** vdev_queue_is_packed() - @q runs (or will run) the packed format */
static inline bool vdev_queue_is_packed(const struct vdev_queue *q)
{
	return (q->dev->acked_features >> VIRTIO_F_RING_PACKED) & 1u;
}
VIREO_API int vireo_vdev_queue_set_kick_fd(struct vdev *dev, unsigned int index, int fd);
VIREO_API int vireo_vdev_queue_set_call_fd(struct vdev *dev, unsigned int index, int fd);

/**
 * vireo_vdev_queue_kick_again() - make @q's kick fd readable again, so a model
 * that stopped at its budget comes back after the other fds had a turn.
 * The driver holds the kick fd too: this never blocks (peer_eventfd.h).
 * Return: 0; -EIO (no kick fd); -errno from io_uring.
 */
VIREO_API int vireo_vdev_queue_kick_again(struct vdev_queue *q);

/**
 * vireo_vdev_queue_get_base() - the avail index to resume from (GET_VRING_BASE)
 * Return: the index (0..65535), or -EINVAL for a bad queue index.
 */
VIREO_API int vireo_vdev_queue_get_base(const struct vdev *dev, unsigned int index);

/**
 * vireo_vdev_queue_enable() - validate the ring through guest memory and serve it
 * (watch its kick fd once the device is activated). Enabling an enabled
 * queue does nothing. Return: 0; -EINVAL (bad index, no memory map, no
 * addresses, geometry); -EIO while DEVICE_NEEDS_RESET or stopped; -ENOMEM; -EPROTO (the
 * inflight region, vireo_vdev_queue_set_inflight(), is invalid for it); -errno from
 * the event loop.
 */
VIREO_API int vireo_vdev_queue_enable(struct vdev *dev, unsigned int index);

/**
 * vireo_vdev_queue_disable() - stop serving; the last avail index is kept. The
 * model's queue_stop runs first, so what was in flight is answered first.
 */
VIREO_API void vireo_vdev_queue_disable(struct vdev *dev, unsigned int index);

/**
 * vireo_vdev_quiesce() - the model's queue_stop for every queue, enabled or not:
 * call it before the memory map changes or goes (a transport's memory-table
 * messages). Rings stay as they are; afterwards no request holds guest memory.
 */
VIREO_API void vireo_vdev_quiesce(struct vdev *dev);

/**
 * vireo_vdev_stop() - the transport takes the device's access to guest memory away
 * (virtio-pci: the driver cleared Bus Master Enable). Every queue stops as
 * vireo_vdev_queue_disable() stops it: the model's queue_stop first, so what was in
 * flight is finished while the rings still exist; afterwards nothing reads or writes
 * a ring or buffer. DRIVER_OK is cleared. Until vireo_vdev_reset() the device stays
 * stopped: no queue is enabled or served, no configuration change is signalled,
 * and a status write adding bits other than FAILED fails with -EIO. Never fails;
 * stopping a stopped device does nothing.
 */
VIREO_API void vireo_vdev_stop(struct vdev *dev);

/**
 * vireo_vdev_activate() - start the model (DRIVER_OK; vhost-user's first enabled
 * queue). Return: 0 or -errno; on error the device NEEDS_RESET.
 */
VIREO_API int vireo_vdev_activate(struct vdev *dev);

/**
 * vireo_vdev_reset() - back to the state after vireo_vdev_init(): every resource returned
 * The model's reset op runs first (at every reset, activated or not), then
 * rings are freed and kick/call/config-call fds closed. The memory map and
 * event loop stay set: they belong to the transport.
 */
VIREO_API void vireo_vdev_reset(struct vdev *dev);

/**
 * vireo_vdev_set_needs_reset() - the driver broke the protocol: stop every queue,
 * set DEVICE_NEEDS_RESET, signal a config change, log @reason once.
 */
VIREO_API void vireo_vdev_set_needs_reset(struct vdev *dev, const char *reason);

/**
 * vireo_vdev_queue_set_needs_reset() - vireo_vdev_set_needs_reset() for a model's queue
 * path (queue_notify, completions): safe on @q's own thread. With @q->loop
 * set it only sets the bit (atomically), stops @q and signals config.
 */
VIREO_API void vireo_vdev_queue_set_needs_reset(struct vdev_queue *q, const char *reason);

/** vdev_needs_reset() - true while DEVICE_NEEDS_RESET is set */
static inline bool vdev_needs_reset(const struct vdev *dev)
{
	/* Acquire: pairs with the release fetch_or of vireo_vdev_set_needs_reset(). */
	return (__atomic_load_n(&dev->status, __ATOMIC_ACQUIRE) &
		VIRTIO_STATUS_DEVICE_NEEDS_RESET) != 0;
}

/** vdev_queue_loop() - the loop @q's fds are watched in: its own, or the device's */
static inline struct event_loop *vdev_queue_loop(const struct vdev_queue *q)
{
	return q->loop ? q->loop : q->dev->loop;
}

/*
 * For models: the ring operations, with the core's policy. A protocol
 * violation marks the device NEEDS_RESET; the call then returns -EPROTO (or
 * -EIO once the queue has stopped).
 */
VIREO_API int vireo_vdev_queue_pop(struct vdev_queue *q, struct vring_chain *chain,
				   struct vring_iov *iov, unsigned int iov_cap);
VIREO_API int vireo_vdev_queue_push(struct vdev_queue *q, uint16_t head, uint32_t written);

/**
 * vireo_vdev_queue_pop_burst() - vireo_vdev_queue_pop() for up to @max chains in one
 * call, each checked as one pop is (vring_split_dev_pop_burst() in vring.h
 * says how they share @iov: chain k's entries follow chain k-1's; the burst
 * ends while fewer than @iov_cap of @iov_len entries are left). With
 * inflight tracking each chain is popped and recorded on its own.
 * Return: chains taken (1..@max), also when the chain after them broke the
 * protocol (the device is then NEEDS_RESET: they cannot be pushed);
 * -EAGAIN (none); -EPROTO (the first one broke it: now NEEDS_RESET); -EIO.
 */
VIREO_API int vireo_vdev_queue_pop_burst(struct vdev_queue *q, struct vring_chain *chains,
					 unsigned int max, struct vring_iov *iov,
					 unsigned int iov_len, unsigned int iov_cap);

/**
 * vireo_vdev_queue_push_burst() - vireo_vdev_queue_push() for @heads[0..@n), @written[k]
 * bytes each (@written NULL: 0 for all), in order, until one is refused.
 * Return: 0; -EPROTO (now NEEDS_RESET); -EIO (stopped or already broken).
 */
VIREO_API int vireo_vdev_queue_push_burst(struct vdev_queue *q, const uint16_t *heads,
					  const uint32_t *written, unsigned int n);

/**
 * vireo_vdev_queue_map_pending() - did @q's last pop fail with -EAGAIN because
 * a buffer's translation is still to come (a vhost-user IOTLB miss: asked
 * for; @q is kicked again when it arrives), rather than because no buffer
 * was available? False for a stopped queue. Never fails.
 */
VIREO_API bool vireo_vdev_queue_map_pending(const struct vdev_queue *q);

/**
 * vireo_vdev_queue_unpop() - give back the chain popped last, unused (vring.h)
 * Return: 0; -EINVAL (not the caller's to give back); -EIO (stopped or broken);
 * -EOPNOTSUPP (a packed ring with inflight tracking: its entries are not given back).
 */
VIREO_API int vireo_vdev_queue_unpop(struct vdev_queue *q, uint16_t head);

/**
 * vireo_vdev_queue_set_notify() - ask the driver to kick @q (@enable) or not (a
 * busy-polling device). Return: true if chains became available meanwhile
 * (only when enabling: pop them, no kick will come for them).
 */
VIREO_API bool vireo_vdev_queue_set_notify(struct vdev_queue *q, bool enable);

/**
 * vireo_vdev_queue_flush() - publish pushed entries and signal the driver if it wants
 * Return: true if the driver was signalled.
 */
VIREO_API bool vireo_vdev_queue_flush(struct vdev_queue *q);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_DEVICE_H */
