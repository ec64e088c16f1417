/* SPDX-License-Identifier: MIT */
/*
 * The device side of a virtqueue, split (virtio 1.2 §2.7) or packed (§2.8),
 * and the seam between them (struct vring_dev_ops). It trusts nothing the driver wrote:
 * every index, descriptor, length and address is checked before use, each
 * descriptor is read from shared memory exactly once, and every guest
 * address goes through the translate hook with its length. A violation sets
 * a sticky error; every later call then fails with -EIO.
 *
 * Thread safety: one thread per queue on the device side.
 */
#ifndef VIREO_VRING_H
#define VIREO_VRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vireo/spec.h>
#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Same layout as struct iovec, so core/ can hand it to readv/io_uring. */
struct vring_iov {
	void *base;
	size_t len;
};

/**
 * struct vring_mem_region - one entry of a guest memory table
 * @guest_addr: first guest address
 * @size: bytes; 0 in a table slot that holds no region
 * @host: where those bytes are in this process
 */
struct vring_mem_region {
	uint64_t guest_addr;
	uint64_t size;
	void *host;
};

/**
 * struct vring_mem - how the ring reaches guest memory
 * @translate: map [@addr, @addr + @len) to a host pointer; on success set
 *	*@contiguous to the bytes mapped contiguously from there (1..@len);
 *	return NULL if @addr is not in guest memory or @addr + @len overflows
 * @opaque: passed back to @translate, @translate_access and @region
 * @translate_access: optional; when set, buffers and indirect tables go
 *	through it instead of @translate, with the device's access
 *	(@device_writes: a device-writable buffer). For addresses behind an
 *	IOMMU (VIRTIO_F_ACCESS_PLATFORM): return 0 with *@host and
 *	*@contiguous set as @translate does; -EAGAIN if the translation is not
 *	known yet (its owner asked for it: the pop fails with -EAGAIN, nothing
 *	consumed, and is retried after a kick); -EACCES if the mapping forbids
 *	that access; -EFAULT otherwise. The last two break the ring.
 * @region: optional (NULL: every buffer goes through @translate): the table
 *	slot holding @addr, or NULL. The ring keeps the last slot it was given
 *	(one per queue, touched by the queue's thread only) and re-reads that
 *	slot on every use, so it sees whatever the table holds now: the table's
 *	owner must keep every slot it ever returned readable, with @size 0 once
 *	it holds no region, as long as the ring runs.
 */
struct vring_mem {
	void *(*translate)(const void *opaque, uint64_t addr, uint64_t len, uint64_t *contiguous);
	const void *opaque;
	int (*translate_access)(const void *opaque, uint64_t addr, uint64_t len, bool device_writes,
				void **host, uint64_t *contiguous);
	const struct vring_mem_region *(*region)(const void *opaque, uint64_t addr);
};

/* One named error per way a driver can break a ring (§2.7, §2.8). */
#define VRING_ERRORS(X)                                                              \
	X(NONE, "no error")                                                          \
	X(GEOMETRY, "queue size or ring address invalid")                            \
	X(AVAIL_IDX, "avail idx moved ahead by more than the queue size")            \
	X(HEAD_RANGE, "head index or buffer id out of range")                        \
	X(HEAD_IN_FLIGHT, "head or buffer id already in flight")                     \
	X(NEXT_RANGE, "next index out of range")                                     \
	X(CHAIN_LOOP, "descriptor chain longer than its table (a loop)")             \
	X(ADDRESS, "descriptor address outside guest memory")                        \
	X(BYTES_OVERFLOW, "chain byte total does not fit 32 bits")                   \
	X(INDIRECT_NESTED, "indirect descriptor inside an indirect table")           \
	X(INDIRECT_NEXT, "indirect descriptor with NEXT set")                        \
	X(INDIRECT_LEN, "indirect table length zero or not a multiple of 16")        \
	X(WRITABLE_ORDER, "readable descriptor after a writable one")                \
	X(IOV_CAPACITY, "chain has more segments than the device accepts")           \
	X(PUSH_NOT_IN_FLIGHT, "device pushed a head that is not in flight")          \
	X(PUSH_LEN, "device pushed a length above the chain's writable bytes")       \
	X(INDIRECT_FEATURE, "indirect descriptor but INDIRECT_DESC not negotiated")  \
	X(DESC_FLAGS, "descriptor AVAIL/USED flags do not match the wrap counter")   \
	X(CHAIN_LENGTH, "descriptor chain longer than the ring slots not in flight") \
	X(ACCESS, "buffer access not permitted by its IOMMU mapping")                \
	X(MAP_PENDING, "buffer translation pending (not an error: pop again later)")

#define VRING_ERROR_ENUM(name, text) VRING_ERR_##name,
enum vring_error { VRING_ERRORS(VRING_ERROR_ENUM) VRING_ERR_COUNT };
#undef VRING_ERROR_ENUM

/** vring_error_string() - a one-line description of @err */
VIREO_API const char *vring_error_string(enum vring_error err);

/**
 * struct vring_chain - one popped buffer
 * @head: head descriptor index (give it back to vring_split_dev_push())
 * @readable: iov entries [0, readable) are device-readable
 * @writable: iov entries [readable, readable + writable) are device-writable
 * @readable_bytes, @writable_bytes: byte totals of each part
 */
struct vring_chain {
	uint16_t head;
	uint16_t readable;
	uint16_t writable;
	uint32_t readable_bytes;
	uint32_t writable_bytes;
};

/**
 * struct vring_split_dev_config - a queue as the driver configured it
 * @num: queue size (must be a power of two, 1..@max_num)
 * @max_num: the device's maximum queue size (<= 32768)
 * @desc_addr, @avail_addr, @used_addr: guest addresses of the three parts
 * @last_avail_idx: where to resume (0 for a fresh queue; vhost-user's
 *	SET_VRING_BASE)
 * @event_idx: VIRTIO_F_RING_EVENT_IDX was negotiated
 * @indirect: VIRTIO_F_RING_INDIRECT_DESC was negotiated
 * @mem: guest memory access
 * @state: vring_split_dev_state_size(@num) bytes, any content, 8-aligned
 */
struct vring_split_dev_config {
	uint16_t num;
	uint16_t max_num;
	uint64_t desc_addr;
	uint64_t avail_addr;
	uint64_t used_addr;
	uint16_t last_avail_idx;
	bool event_idx;
	bool indirect;
	struct vring_mem mem;
	void *state;
};

/* Device-side split ring state; read it only through the functions below. */
struct vring_split_dev {
	struct vring_mem mem;
	const struct virtq_desc *desc;
	const struct virtq_avail *avail;
	struct virtq_used *used;
	uint64_t *in_flight;			 /* bitmap of heads popped and not pushed */
	uint32_t *writable_bytes;		 /* per head, what pop counted */
	const struct vring_mem_region *mem_last; /* last region a buffer was in (mem.region) */
	uint16_t num;
	uint16_t last_avail_idx;     /* next avail entry to pop */
	uint16_t avail_idx_shadow;   /* last avail->idx read */
	uint16_t used_idx;	     /* next used entry to fill */
	uint16_t signalled_used;     /* used idx at the last notify decision */
	uint16_t used_idx_published; /* last value stored to used->idx */
	uint16_t num_in_flight;	     /* heads popped and not yet pushed */
	bool signalled_used_valid;
	bool notify_enabled; /* kicks wanted (enable/disable_notify) */
	bool event_idx;
	bool indirect;
	bool map_pending; /* the last pop failed on a translation still to come */
	enum vring_error error;
};

/** vring_split_dev_state_size() - bytes of private state a queue of @num needs */
VIREO_API size_t vring_split_dev_state_size(uint16_t num);

/**
 * vring_split_dev_init() - validate a driver's queue configuration and
 * compute the ring pointers once (STYLE.md checklist item 1)
 *
 * A (re)started ring wants kicks: used->flags is written 0 and, with
 * EVENT_IDX, avail_event the resume index; the first used-buffer
 * notification decision after init is not suppressed by an old used_event.
 * Return: 0, or -EINVAL (q->error = VRING_ERR_GEOMETRY) if the size is not a
 * power of two within max_num, a part is misaligned, or a part does not lie
 * inside one guest memory region.
 */
VIREO_API int vring_split_dev_init(struct vring_split_dev *q,
				   const struct vring_split_dev_config *cfg);

/**
 * vring_split_dev_pop() - take the next available chain
 * @iov: filled with readable then writable segments, split where guest
 *	memory is not contiguous
 * @iov_cap: entries in @iov
 *
 * With EVENT_IDX and notifications enabled, each pop also moves avail_event
 * to the new last_avail_idx (so the driver kicks for the next buffer).
 * Zero-length descriptors are accepted but yield no iov entry.
 * Return: 0 and *@chain filled; -EAGAIN if nothing is available; -EPROTO if
 * the driver broke the protocol (the queue is now broken, see
 * vring_split_dev_error()); -EIO if it already was.
 */
VIREO_API int vring_split_dev_pop(struct vring_split_dev *q, struct vring_chain *chain,
				  struct vring_iov *iov, unsigned int iov_cap);

/**
 * vring_split_dev_pop_burst() - take up to @max available chains in one call,
 * each checked exactly as vring_split_dev_pop() checks one
 * @chains: filled in pop order
 * @iov: shared by the chains: chain k's segments follow chain k-1's (each
 *	chain takes readable + writable entries)
 * @iov_len: entries in @iov; the burst stops before a chain while fewer
 *	than @iov_cap entries are left, so any chain pop accepts fits
 * @iov_cap: the most entries one chain may take (pop's @iov_cap)
 *
 * Return: chains taken (1..@max), also when the chain after them broke the
 * protocol (the queue is then broken: vring_split_dev_error() says why, and
 * the chains cannot be pushed); -EAGAIN if none is available; -EPROTO if
 * the first chain broke the protocol; -EIO if the queue already was broken.
 */
VIREO_API int vring_split_dev_pop_burst(struct vring_split_dev *q, struct vring_chain *chains,
					unsigned int max, struct vring_iov *iov,
					unsigned int iov_len, unsigned int iov_cap);

/**
 * vring_split_dev_pop_head() - take chain @head as popped without reading the
 * avail ring: a request that was in flight when a previous back-end died
 * (vhost-user inflight tracking). last_avail_idx does not move.
 * Return: 0; -EPROTO (head out of range or in flight, bad chain); -EIO.
 */
VIREO_API int vring_split_dev_pop_head(struct vring_split_dev *q, uint16_t head,
				       struct vring_chain *chain, struct vring_iov *iov,
				       unsigned int iov_cap);

/**
 * vring_split_dev_unpop() - give back the chain popped last, unused: the
 * next pop returns it again (a network device that finds a frame does not
 * fit the buffers it popped). Give several back in the reverse order of
 * their pops. Nothing is written to the used ring.
 * Return: 0; -EINVAL if @head is not in flight or nothing was popped;
 * -EIO if the queue is broken.
 */
VIREO_API int vring_split_dev_unpop(struct vring_split_dev *q, uint16_t head);

/**
 * vring_split_dev_push() - return a chain to the driver with @written bytes
 * The used entry becomes visible at the next vring_split_dev_flush().
 * Return: 0; -EPROTO if @head is not in flight or @written exceeds its
 * writable bytes (the queue is then broken); -EIO if already broken.
 */
VIREO_API int vring_split_dev_push(struct vring_split_dev *q, uint16_t head, uint32_t written);

/**
 * vring_split_dev_push_burst() - vring_split_dev_push() for @heads[0..@n) in
 * order, @written[k] bytes each (@written NULL: 0 for all); stops at the
 * first that push refuses.
 * Return: 0; -EPROTO (that head broke the queue; the ones before it are in
 * the used ring, never published); -EIO if already broken.
 */
VIREO_API int vring_split_dev_push_burst(struct vring_split_dev *q, const uint16_t *heads,
					 const uint32_t *written, unsigned int n);

/**
 * vring_split_dev_flush() - publish every pushed used entry (one store of
 * used->idx); does nothing once the queue is broken
 */
VIREO_API void vring_split_dev_flush(struct vring_split_dev *q);

/**
 * vring_split_dev_need_notify() - after a flush, must the driver be signalled?
 * With EVENT_IDX, per used_event (§2.7.10); else unless VIRTQ_AVAIL_F_NO_INTERRUPT.
 */
VIREO_API bool vring_split_dev_need_notify(struct vring_split_dev *q);

/** vring_split_dev_disable_notify() - ask the driver not to kick (a hint) */
VIREO_API void vring_split_dev_disable_notify(struct vring_split_dev *q);

/**
 * vring_split_dev_enable_notify() - ask the driver to kick for new buffers
 * Return: true if buffers became available meanwhile (pop them: no kick will
 * come for those).
 */
VIREO_API bool vring_split_dev_enable_notify(struct vring_split_dev *q);

/** vring_split_dev_has_avail() - true if a pop would find a chain (or an error) */
VIREO_API bool vring_split_dev_has_avail(struct vring_split_dev *q);

/** vring_split_dev_get_last_avail() - the avail index to resume from (GET_VRING_BASE) */
VIREO_API uint16_t vring_split_dev_get_last_avail(const struct vring_split_dev *q);

/** vring_split_dev_set_last_avail() - resume from @idx (SET_VRING_BASE, reconnect) */
VIREO_API void vring_split_dev_set_last_avail(struct vring_split_dev *q, uint16_t idx);

/** vring_split_dev_in_flight() - number of heads popped and not yet pushed */
VIREO_API unsigned int vring_split_dev_in_flight(const struct vring_split_dev *q);

/** vring_split_dev_error() - why the queue is broken (VRING_ERR_NONE if it is not) */
VIREO_API enum vring_error vring_split_dev_error(const struct vring_split_dev *q);

/** vring_split_dev_is_broken() - true once the driver broke the protocol */
static inline bool vring_split_dev_is_broken(const struct vring_split_dev *q)
{
	return q->error != VRING_ERR_NONE;
}

/**
 * struct vring_dev_position - where a device-side ring resumes (vhost-user
 * GET/SET_VRING_BASE, a stopped and restarted queue)
 * @avail_idx: next descriptor to pop. Split: the free-running avail index;
 *	packed: the ring slot (< num)
 * @avail_wrap: packed: the Driver Ring Wrap Counter expected there (§2.8.1)
 * @used_idx: packed: the ring slot of the next used descriptor (split reads
 *	used->idx from the ring instead)
 * @used_wrap: packed: the Device Ring Wrap Counter
 * A fresh ring is {0, true, 0, true}: both wrap counters start at 1.
 */
struct vring_dev_position {
	uint16_t avail_idx;
	bool avail_wrap;
	uint16_t used_idx;
	bool used_wrap;
};

/**
 * struct vring_dev_config - a queue as the driver configured it, either format
 * @num: queue size (split: a power of two; packed: any); 1..@max_num
 * @max_num: the device's maximum queue size (<= 32768)
 * @desc_addr: descriptor table (split) or descriptor ring (packed)
 * @driver_addr: avail ring (split) or driver event suppression (packed)
 * @device_addr: used ring (split) or device event suppression (packed)
 * @position: where to resume (see struct vring_dev_position)
 * @event_idx, @indirect, @in_order: the negotiated ring features
 * @mem: guest memory access
 * @state: the format's state_size(@num) bytes, any content, 8-aligned
 */
struct vring_dev_config {
	uint16_t num;
	uint16_t max_num;
	uint64_t desc_addr;
	uint64_t driver_addr;
	uint64_t device_addr;
	struct vring_dev_position position;
	bool event_idx;
	bool indirect;
	bool in_order;
	struct vring_mem mem;
	void *state;
};

/*
 * Device-side packed ring state (§2.8); read it only through the
 * vring_packed_dev_* functions. Per buffer id (< num): in flight or not,
 * the writable bytes pop counted and the ring slots its chain took.
 */
struct vring_packed_dev {
	struct vring_mem mem;
	struct pvirtq_desc *desc;
	const struct pvirtq_event_suppress *driver_event;
	struct pvirtq_event_suppress *device_event;
	uint64_t *in_flight;
	uint32_t *writable_bytes;
	uint16_t *slots;
	const struct vring_mem_region *mem_last; /* last region a buffer was in (mem.region) */
	uint16_t num;
	uint16_t last_avail_idx; /* next slot to pop */
	uint16_t used_idx;	 /* next slot to write a used descriptor to */
	uint16_t slots_in_flight;
	uint16_t num_in_flight;
	uint16_t batch_idx;	/* first used descriptor not yet published */
	uint16_t batch_flags;	/* ... and the flags it gets at flush */
	uint16_t published_idx; /* used position at the last flush */
	uint16_t signalled_idx; /* used position at the last notify decision */
	uint16_t pending_id;	/* pushed, not yet written (IN_ORDER merges into it) */
	uint16_t pending_slots;
	uint32_t pending_len;
	bool avail_wrap;
	bool used_wrap;
	bool batch_open;
	bool published_wrap;
	bool signalled_wrap;
	bool signalled_valid;
	bool signal_pending; /* published since the last notify decision */
	bool pending;
	bool pending_full; /* IN_ORDER and the pending buffer written completely: covered next */
	bool notify_enabled;
	bool event_idx;
	bool indirect;
	bool in_order;
	bool map_pending; /* the last pop failed on a translation still to come */
	enum vring_error error;
};

/** vring_packed_dev_state_size() - bytes of private state a queue of @num needs */
VIREO_API size_t vring_packed_dev_state_size(uint16_t num);

/**
 * vring_packed_dev_init() - validate the driver's packed queue and compute
 * the ring pointers once (STYLE.md checklist item 1). Like the split ring,
 * it writes the device event flags ENABLE and takes the first notification
 * decision without an old event offset.
 * Return: 0, or -EINVAL (error GEOMETRY): size 0 or above max_num, a part
 * misaligned (16/4/4) or not inside one guest region, a position outside
 * the ring or with more than @num slots between used and avail.
 */
VIREO_API int vring_packed_dev_init(struct vring_packed_dev *q, const struct vring_dev_config *cfg);

/*
 * The packed counterparts of vring_split_dev_*: same contracts, same
 * errors. pop's chain->head is the buffer id; push(id) writes one used
 * descriptor at the next used slot (in completion order, D-PR-02) and
 * skips the slots of that chain; flush publishes a batch with one release
 * store of its first descriptor's flags. With IN_ORDER, a buffer the device
 * wrote completely is covered by the next one's used descriptor (§2.8.9).
 */
VIREO_API int vring_packed_dev_pop(struct vring_packed_dev *q, struct vring_chain *chain,
				   struct vring_iov *iov, unsigned int iov_cap);
VIREO_API int vring_packed_dev_pop_burst(struct vring_packed_dev *q, struct vring_chain *chains,
					 unsigned int max, struct vring_iov *iov,
					 unsigned int iov_len, unsigned int iov_cap);
VIREO_API int vring_packed_dev_unpop(struct vring_packed_dev *q, uint16_t id);
VIREO_API int vring_packed_dev_push(struct vring_packed_dev *q, uint16_t id, uint32_t written);
VIREO_API int vring_packed_dev_push_burst(struct vring_packed_dev *q, const uint16_t *ids,
					  const uint32_t *written, unsigned int n);
VIREO_API void vring_packed_dev_flush(struct vring_packed_dev *q);
VIREO_API bool vring_packed_dev_need_notify(struct vring_packed_dev *q);
VIREO_API void vring_packed_dev_disable_notify(struct vring_packed_dev *q);
VIREO_API bool vring_packed_dev_enable_notify(struct vring_packed_dev *q);
VIREO_API bool vring_packed_dev_has_avail(struct vring_packed_dev *q);
VIREO_API void vring_packed_dev_get_position(const struct vring_packed_dev *q,
					     struct vring_dev_position *pos);
VIREO_API unsigned int vring_packed_dev_in_flight(const struct vring_packed_dev *q);

/*
 * For vhost-user inflight tracking of packed rings. copy_popped: the @n ring
 * descriptors (flags included) of buffer @id, which must be the chain popped
 * last; Return: n, or 0 (not the last pop, @cap too small). pop_descs: take
 * the chain of @n descriptors @d (copies kept by a previous back-end) as
 * popped without reading the ring or moving the avail position; Return: 0,
 * -EPROTO (checked like a pop), -EIO. slot_flags: the flags word of ring
 * slot @idx (0 if out of range).
 */
VIREO_API uint16_t vring_packed_dev_copy_popped(const struct vring_packed_dev *q, uint16_t id,
						struct pvirtq_desc *out, uint16_t cap);
VIREO_API int vring_packed_dev_pop_descs(struct vring_packed_dev *q, const struct pvirtq_desc *d,
					 uint16_t n, struct vring_chain *chain,
					 struct vring_iov *iov, unsigned int iov_cap);
VIREO_API uint16_t vring_packed_dev_slot_flags(const struct vring_packed_dev *q, uint16_t idx);
VIREO_API enum vring_error vring_packed_dev_error(const struct vring_packed_dev *q);

/* Either format's device-side state; struct vring_dev_ops says which. */
union vring_dev_ring {
	struct vring_split_dev split;
	struct vring_packed_dev packed;
};

/**
 * struct vring_dev_ops - the ring format seam of the device side: the core
 * calls only these, never a format's functions. Each op has the contract of
 * the vring_split_dev_* function of the same name; get/set_position carry
 * both wrap counters for packed. set_position is only for a ring that holds
 * nothing in flight. pop_head (split) and pop_descs, copy_popped, slot_flags
 * (packed) serve vhost-user inflight tracking; NULL in the other format.
 * pop_burst and push_burst have the contracts of vring_split_dev_pop_burst()
 * and vring_split_dev_push_burst(). map_pending: did the last pop fail with
 * -EAGAIN because a buffer's translation is still to come (translate_access
 * returned -EAGAIN), not because the ring was empty?
 */
struct vring_dev_ops {
	const char *name;
	size_t (*state_size)(uint16_t num);
	int (*init)(union vring_dev_ring *r, const struct vring_dev_config *cfg);
	int (*pop)(union vring_dev_ring *r, struct vring_chain *chain, struct vring_iov *iov,
		   unsigned int iov_cap);
	int (*pop_head)(union vring_dev_ring *r, uint16_t head, struct vring_chain *chain,
			struct vring_iov *iov, unsigned int iov_cap);
	int (*pop_descs)(union vring_dev_ring *r, const struct pvirtq_desc *d, uint16_t n,
			 struct vring_chain *chain, struct vring_iov *iov, unsigned int iov_cap);
	uint16_t (*copy_popped)(const union vring_dev_ring *r, uint16_t id, struct pvirtq_desc *out,
				uint16_t cap);
	uint16_t (*slot_flags)(const union vring_dev_ring *r, uint16_t idx);
	int (*unpop)(union vring_dev_ring *r, uint16_t head);
	int (*push)(union vring_dev_ring *r, uint16_t head, uint32_t written);
	int (*pop_burst)(union vring_dev_ring *r, struct vring_chain *chains, unsigned int max,
			 struct vring_iov *iov, unsigned int iov_len, unsigned int iov_cap);
	int (*push_burst)(union vring_dev_ring *r, const uint16_t *heads, const uint32_t *written,
			  unsigned int n);
	void (*flush)(union vring_dev_ring *r);
	bool (*need_notify)(union vring_dev_ring *r);
	void (*disable_notify)(union vring_dev_ring *r);
	bool (*enable_notify)(union vring_dev_ring *r);
	bool (*has_avail)(union vring_dev_ring *r);
	void (*get_position)(const union vring_dev_ring *r, struct vring_dev_position *pos);
	void (*set_position)(union vring_dev_ring *r, const struct vring_dev_position *pos);
	unsigned int (*in_flight)(const union vring_dev_ring *r);
	enum vring_error (*error)(const union vring_dev_ring *r);
	bool (*map_pending)(const union vring_dev_ring *r);
};

VIREO_API extern const struct vring_dev_ops vring_split_dev_ops;
VIREO_API extern const struct vring_dev_ops vring_packed_dev_ops;

#ifdef __cplusplus
}
#endif

#endif /* VIREO_VRING_H */
