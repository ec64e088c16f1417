/* SPDX-License-Identifier: MIT */
/*
 * The driver side of a virtqueue: the seed's add_buf / kick / get_buf /
 * enable_cb / disable_cb, under their modern Linux names, over either ring
 * format: virtqueue_split_init() (§2.7) or virtqueue_packed_init() (§2.8)
 * sets the queue's struct virtqueue_ops, and every virtqueue_*() call below
 * goes through it, so drivers never see the format.
 *
 * A virtqueue lives in memory the caller provides (ring/ never allocates):
 * the ring itself in DMA memory the device can reach, and a private array
 * of struct vring_desc_extra that the device never sees. The driver never
 * trusts what the device writes back: a used id out of range or not in
 * flight, a length above what was posted as writable, packed flags that do
 * not match the used wrap counter, or (IN_ORDER) a used id out of ring order
 * marks the queue broken and every later call fails.
 *
 * Thread safety: none. One thread drives a virtqueue at a time; the device
 * on the other side may run concurrently (that is what the barriers are for).
 */
#ifndef VIREO_VIRTQUEUE_H
#define VIREO_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vireo/spec.h>
#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

struct virtio_device;
struct virtqueue;

/**
 * struct virtio_sg - one element of a scatter-gather list (the seed's buffer)
 * @addr: device-visible (DMA) address of the bytes
 * @len: number of bytes
 */
struct virtio_sg {
	uint64_t addr;
	uint32_t len;
};

/**
 * struct vring_desc_extra - the driver's private copy of what it posted
 *
 * Kept per descriptor index, so the driver never re-reads shared memory the
 * device could have changed (Linux keeps the same "desc_extra").
 * @token: caller's token (head descriptors only), NULL when free
 * @writable_bytes: sum of writable lengths posted in this chain (head only)
 * @chain_len: descriptors this chain holds in the main table (head only)
 * @next: next free descriptor, or the next descriptor of the chain
 */
struct vring_desc_extra {
	void *token;
	uint32_t writable_bytes;
	uint16_t chain_len;
	uint16_t next;
};

/**
 * struct vring_split_drv_config - where a split virtqueue's pieces live
 * @num: queue size, a power of two, 1..32768
 * @desc, @avail, @used: the ring, zeroed by the caller, in device-visible memory
 * @extra: @num private entries (never shared with the device)
 * @indirect_pool: @num * @indirect_max descriptors in device-visible memory, or
 *	NULL; slot h serves the chain whose head is descriptor h
 * @indirect_pool_addr: device-visible address of @indirect_pool
 * @indirect_max: descriptors per indirect table (0 disables indirect)
 * @event_idx: VIRTIO_F_RING_EVENT_IDX was negotiated
 * @in_order: VIRTIO_F_IN_ORDER was negotiated: descriptors are used in ring
 *	order (§2.7.5: next = x + 1) and the device may return a batch by its
 *	last buffer's head (§2.7.9)
 */
struct vring_split_drv_config {
	uint16_t num;
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	struct vring_desc_extra *extra;
	struct virtq_desc *indirect_pool;
	uint64_t indirect_pool_addr;
	uint16_t indirect_max;
	bool event_idx;
	bool in_order;
};

/* Driver-side split ring state; read it only through the functions below. */
struct vring_split_drv {
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	struct vring_desc_extra *extra;
	struct virtq_desc *indirect_pool;
	uint64_t indirect_pool_addr;
	uint16_t indirect_max;
	uint16_t num;
	uint16_t free_head;
	uint16_t num_free;
	uint16_t avail_idx_shadow;    /* avail->idx once every added buffer is published */
	uint16_t avail_idx_published; /* avail->idx as last stored: what the device can see */
	uint16_t avail_flags_shadow;  /* our copy of avail->flags */
	uint16_t last_used_idx;	      /* next used entry to consume */
	uint16_t num_added;	      /* added since the last kick decision, saturating */
	uint16_t used_idx_shadow;     /* last used->idx read (validated) */
	uint16_t used_head;	      /* IN_ORDER: head of the oldest buffer in flight */
	uint16_t batch_last; /* IN_ORDER: head of the last buffer of the batch being taken */
	uint32_t batch_len;  /* IN_ORDER: the used length of that last buffer */
	bool in_batch;	     /* IN_ORDER: buffers of a batch are still to be taken */
	bool event_idx;
	bool in_order;
};

/**
 * struct vring_packed_drv_config - where a packed virtqueue's pieces live (§2.8)
 * @num: queue size, 1..32768 (any value: §2.8 does not ask for a power of two)
 * @desc: the descriptor ring, zeroed by the caller, 16-aligned, device-visible
 * @driver_event: driver event suppression area (Driver Area), 4-aligned
 * @device_event: device event suppression area (Device Area), 4-aligned
 * @extra: @num private entries, one per buffer ID (never shared)
 * @indirect_pool: @num * @indirect_max descriptors in device-visible memory, or
 *	NULL; slot i serves the buffer whose ID is i
 * @indirect_pool_addr: device-visible address of @indirect_pool
 * @indirect_max: descriptors per indirect table (0 disables indirect)
 * @event_idx: VIRTIO_F_RING_EVENT_IDX was negotiated (RING_EVENT_FLAGS_DESC)
 * @in_order: VIRTIO_F_IN_ORDER was negotiated
 */
struct vring_packed_drv_config {
	uint16_t num;
	struct pvirtq_desc *desc;
	struct pvirtq_event_suppress *driver_event;
	struct pvirtq_event_suppress *device_event;
	struct vring_desc_extra *extra;
	struct pvirtq_desc *indirect_pool;
	uint64_t indirect_pool_addr;
	uint16_t indirect_max;
	bool event_idx;
	bool in_order;
};

/*
 * Driver-side packed ring state; read it only through the functions below.
 * Ring positions are kept as a 15-bit offset and a wrap bit, as in §2.8.1.
 */
struct vring_packed_drv {
	struct pvirtq_desc *desc;
	struct pvirtq_event_suppress *driver_event;
	struct pvirtq_event_suppress *device_event;
	struct vring_desc_extra *extra;
	struct pvirtq_desc *indirect_pool;
	uint64_t indirect_pool_addr;
	uint16_t indirect_max;
	uint16_t num;
	uint16_t num_free;	     /* free descriptors in the ring */
	uint16_t free_id;	     /* head of the free buffer-ID list */
	uint16_t next_avail;	     /* where the next descriptor goes */
	uint16_t next_used;	     /* where the next used descriptor is expected */
	uint16_t pending_head;	     /* first descriptor added since the last publish */
	uint16_t pending_flags;	     /* its flags, stored last (they publish the batch) */
	uint16_t num_pending;	     /* descriptors added since the last publish (unseen) */
	uint16_t num_added;	     /* descriptors added since the last kick decision; saturates */
	uint16_t event_flags_shadow; /* our copy of driver_event->flags */
	uint16_t batch_last;	     /* IN_ORDER: ID of the last buffer of the batch being taken */
	uint32_t batch_len;	     /* IN_ORDER: the used length of that last buffer */
	bool in_batch;		     /* IN_ORDER: buffers of a batch are still to be taken */
	bool avail_wrap;	     /* Driver Ring Wrap Counter (§2.8.1) */
	bool used_wrap;		     /* the wrap counter the next used descriptor carries */
	bool event_idx;
	bool in_order;
};

struct virtqueue_ops;

/**
 * struct virtqueue - the seed's virtqueue, as a driver sees it
 * @ops: the ring format's verbs (set by virtqueue_split_init() or
 *	virtqueue_packed_init()); every virtqueue_*() call goes through it
 * @callback: called by the transport when the device signals used buffers
 * @notify: transport hook that tells the device there are new buffers;
 *	returns false if the notification could not be delivered
 * @name: for logs
 * @vdev: the device this queue belongs to
 * @index: queue index within the device
 * @priv: the transport's per-queue data
 * @broken: sticky; set when the device broke the protocol or notify failed
 * @split, @packed: the ring, in the format @ops serves
 */
struct virtqueue {
	const struct virtqueue_ops *ops;
	void (*callback)(struct virtqueue *vq);
	bool (*notify)(struct virtqueue *vq);
	const char *name;
	struct virtio_device *vdev;
	unsigned int index;
	void *priv;
	bool broken;
	__extension__ union { /* anonymous: a C11 feature, a GNU extension in C99 */
		struct vring_split_drv split;
		struct vring_packed_drv packed;
	};
};

/**
 * struct virtqueue_ops - one ring format's implementation of the verbs below
 * (the seed's virtqueue_ops). Each member has the contract of the public
 * virtqueue_*() function of the same name.
 */
struct virtqueue_ops {
	int (*add_sgs)(struct virtqueue *vq, const struct virtio_sg *sg, unsigned int out_num,
		       unsigned int in_num, void *token);
	void (*publish)(struct virtqueue *vq);
	bool (*kick_prepare)(struct virtqueue *vq);
	bool (*notify)(struct virtqueue *vq);
	void *(*get_buf)(struct virtqueue *vq, uint32_t *len);
	bool (*more_used)(const struct virtqueue *vq);
	void (*disable_cb)(struct virtqueue *vq);
	bool (*enable_cb)(struct virtqueue *vq);
	bool (*enable_cb_delayed)(struct virtqueue *vq);
	void *(*detach_unused_buf)(struct virtqueue *vq);
	bool (*is_broken)(const struct virtqueue *vq);
	unsigned int (*get_vring_size)(const struct virtqueue *vq);
	unsigned int (*get_num_free)(const struct virtqueue *vq);
	uint32_t (*notification_data)(const struct virtqueue *vq);
};

/**
 * virtqueue_split_init() - set up a split virtqueue over caller memory
 * Return: 0, or -EINVAL if @cfg->num is not a power of two in 1..32768 or a
 * pointer is missing or misaligned (§2.7: desc 16, avail 2, used 4 bytes).
 */
VIREO_API int virtqueue_split_init(struct virtqueue *vq, const struct vring_split_drv_config *cfg);

/**
 * virtqueue_packed_init() - set up a packed virtqueue over caller memory
 *
 * Both wrap counters start at 1 (§2.8.1); the descriptor ring must be zeroed.
 * Return: 0, or -EINVAL if @cfg->num is not in 1..32768 or a pointer is
 * missing or misaligned (§2.8.10.1, R-PR-01: ring 16, event areas 4 bytes).
 */
VIREO_API int virtqueue_packed_init(struct virtqueue *vq,
				    const struct vring_packed_drv_config *cfg);

/**
 * virtqueue_add_sgs() - expose a buffer to the device (the seed's add_buf)
 * @sg: @out_num device-readable elements followed by @in_num device-writable ones
 * @token: non-NULL; returned by virtqueue_get_buf() when the device is done
 *
 * Uses one indirect table when indirect descriptors were configured and the
 * chain has more than one element and fits; otherwise a chain in the ring.
 * The device sees the buffer only after the next virtqueue_publish() or
 * virtqueue_kick_prepare() (or virtqueue_kick()), which publish every buffer
 * added since with one store (split: avail->idx; packed: the first head's flags).
 * Return: 0; -ENOSPC if the ring is full; -EINVAL for an empty list, a NULL
 * token or a chain longer than the queue; -EIO if the queue is broken.
 */
VIREO_API int virtqueue_add_sgs(struct virtqueue *vq, const struct virtio_sg *sg,
				unsigned int out_num, unsigned int in_num, void *token);

/** virtqueue_add_outbuf() - virtqueue_add_sgs() with only device-readable elements */
VIREO_API int virtqueue_add_outbuf(struct virtqueue *vq, const struct virtio_sg *sg,
				   unsigned int num, void *token);

/** virtqueue_add_inbuf() - virtqueue_add_sgs() with only device-writable elements */
VIREO_API int virtqueue_add_inbuf(struct virtqueue *vq, const struct virtio_sg *sg,
				  unsigned int num, void *token);

/**
 * virtqueue_publish() - make the buffers added so far visible to the device,
 * without deciding on a notification
 *
 * One release store (split: avail->idx, §2.7.13.3; packed: the pending
 * batch's first head flags, §2.8.21.1). It never notifies, never fences and
 * never reads the device's suppression words: for a device known to poll,
 * or a caller that decides later. The next virtqueue_kick_prepare() still
 * decides for every buffer added since the previous kick decision,
 * published or not; once more than the queue size were added since then it
 * asks for a kick without comparing event indexes (a notification is always
 * allowed, §2.7.10). Does nothing on a broken queue. Cannot fail.
 */
VIREO_API void virtqueue_publish(struct virtqueue *vq);

/**
 * virtqueue_kick_prepare() - publish added buffers; does the device want a kick?
 *
 * Honours VIRTQ_USED_F_NO_NOTIFY, or avail_event with EVENT_IDX (§2.7.10),
 * for every buffer added since the previous kick_prepare, including those
 * virtqueue_publish() already made visible.
 * Return: true if virtqueue_notify() should be called.
 */
VIREO_API bool virtqueue_kick_prepare(struct virtqueue *vq);

/**
 * virtqueue_notify() - tell the device (through the transport's notify hook)
 * Return: false if the queue is broken or the notification failed (the
 * queue is then broken).
 */
VIREO_API bool virtqueue_notify(struct virtqueue *vq);

/** virtqueue_kick() - virtqueue_kick_prepare() then, if needed, virtqueue_notify() */
VIREO_API bool virtqueue_kick(struct virtqueue *vq);

/**
 * virtqueue_get_buf() - take one buffer the device has used
 * @len: set to the number of bytes the device says it wrote
 * Return: the token given to add, or NULL if none is ready or the queue is
 * broken. A used id out of range or not in flight, or a @len above the
 * writable bytes posted, breaks the queue.
 */
VIREO_API void *virtqueue_get_buf(struct virtqueue *vq, uint32_t *len);

/** virtqueue_more_used() - true if virtqueue_get_buf() would return a buffer */
VIREO_API bool virtqueue_more_used(const struct virtqueue *vq);

/**
 * virtqueue_disable_cb() - ask the device not to signal used buffers
 * A hint only (§2.7.10): a callback may still arrive.
 */
VIREO_API void virtqueue_disable_cb(struct virtqueue *vq);

/**
 * virtqueue_enable_cb() - ask for a signal at the next used buffer
 * Return: false if buffers are already pending (the caller must process them,
 * since no signal may come for them), true otherwise.
 */
VIREO_API bool virtqueue_enable_cb(struct virtqueue *vq);

/**
 * virtqueue_enable_cb_delayed() - like enable_cb, but with EVENT_IDX ask to
 * be signalled only after about 3/4 of the buffers in flight are used.
 * Return: as virtqueue_enable_cb().
 */
VIREO_API bool virtqueue_enable_cb_delayed(struct virtqueue *vq);

/**
 * virtqueue_detach_unused_buf() - after a device reset, take back one buffer
 * the device never used
 * Return: its token, or NULL when none is left.
 */
VIREO_API void *virtqueue_detach_unused_buf(struct virtqueue *vq);

/**
 * virtqueue_break() - the driver gives up on @vq (as Linux's virtio_break_device()):
 * sticky; nothing more is added or taken from the used ring, every later call fails
 * (-EIO, NULL); virtqueue_detach_unused_buf() still works after the device's reset.
 */
VIREO_API void virtqueue_break(struct virtqueue *vq);

/** virtqueue_is_broken() - true once the device broke the protocol (or virtqueue_break()) */
VIREO_API bool virtqueue_is_broken(const struct virtqueue *vq);

/** virtqueue_get_vring_size() - the queue size */
VIREO_API unsigned int virtqueue_get_vring_size(const struct virtqueue *vq);

/** virtqueue_get_num_free() - free descriptors in the main table */
VIREO_API unsigned int virtqueue_get_num_free(const struct virtqueue *vq);

/**
 * virtqueue_notification_data() - the notification value with
 * VIRTIO_F_NOTIFICATION_DATA (§2.9, Linux's vring_notification_data()): the
 * queue index in bits 0-15, where the driver will add next in bits 16-31
 * (split: the whole 16-bit avail index; packed: the offset, bit 31 its wrap
 * counter).
 * Call it from the thread that adds. Cannot fail.
 */
VIREO_API uint32_t virtqueue_notification_data(const struct virtqueue *vq);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_VIRTQUEUE_H */
