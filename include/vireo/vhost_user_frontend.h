/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user front-end: our drivers on the virtio bus, driving anyone's
 * vhost-user back-end (vireo serve, qemu-storage-daemon, ...) over a unix
 * socket. The device's config operations become vhost-user messages; the DMA
 * arena's memfd is the one memory region of SET_MEM_TABLE (guest address =
 * the arena's dma_base, user address = our own mapping, as QEMU does); kicks
 * and used-buffer signals are the eventfds of SET_VRING_KICK / SET_VRING_CALL.
 *
 * The back-end is a peer, trusted no more than a device: every reply is
 * checked (size, request id, flags, fds, the queue or config range asked
 * for). A bad reply, a disconnection or SET_VRING_ERR breaks the device for
 * good: every later operation fails with -EIO and the driver's requests fail;
 * free the front-end and connect a new one.
 */
#ifndef VIREO_VHOST_USER_FRONTEND_H
#define VIREO_VHOST_USER_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vireo/driver.h>
#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Device-visible (guest) address of the first byte of the DMA arena. */
#define VHOST_USER_FRONTEND_DMA_BASE 0x100000000ull

/*
 * With @iommu: the DMA arena's I/O virtual address (what rings and buffers
 * hold), unlike the memory table's guest address (VHOST_USER_FRONTEND_DMA_BASE):
 * a back-end that skipped the IOTLB would miss every access.
 */
#define VHOST_USER_FRONTEND_IOVA_BASE 0x5a0000000000ull

/* Used when the options give 0 DMA bytes. */
#define VHOST_USER_FRONTEND_DEFAULT_DMA_BYTES (8u << 20)

/* Most queues one front-end drives. */
#define VHOST_USER_FRONTEND_MAX_QUEUES 64u

struct vhost_user_frontend;

/**
 * struct vhost_user_frontend_options
 * @socket_path: the back-end's listening socket
 * @device_id: VIRTIO_ID_BLOCK, VIRTIO_ID_ENTROPY, ... (vhost-user does not
 *	say what the back-end is; the caller knows)
 * @dma_bytes: size of the DMA arena (rings and driver buffers); 0: default
 * @queue_size: ring size, a power of two (0: 256 for blk, 64 otherwise;
 *	QEMU's vhost-user-blk uses 128, libvhost-user accepts up to 1024)
 * @timeout_ms: how long to wait for each reply (0: 5000)
 * @reconnect_ms: how long to try reconnecting to a back-end that went away
 * @iommu: act as a vIOMMU (vhost-user.rst "IOMMU support"): negotiate
 *	VIRTIO_F_ACCESS_PLATFORM, PROTOCOL_F_IOTLB and PROTOCOL_F_BACKEND_REQ
 *	(the back-end must offer all three), give I/O virtual addresses
 *	(VHOST_USER_FRONTEND_IOVA_BASE), and answer the back-end's IOTLB misses
 *	with IOTLB_MSG updates
 * @iotlb_page: with @iommu, the size of the entry a miss is answered with:
 *	0 the whole arena (one entry), else a power of two >= 4096
 * @iotlb_preload: with @iommu, send the entries for the whole arena (in
 *	@iotlb_page pieces) after the memory table, before any ring starts
 * @iotlb_invalidate_every: with @iommu, invalidate the whole arena after
 *	every that many used-buffer wake-ups (0: never) — a miss-heavy run
 */
struct vhost_user_frontend_options {
	const char *socket_path;
	uint32_t device_id;
	size_t dma_bytes;
	unsigned int queue_size;
	int timeout_ms;
	int reconnect_ms;
	bool iommu;
	uint64_t iotlb_page;
	bool iotlb_preload;
	unsigned int iotlb_invalidate_every;
};

/**
 * struct vhost_user_frontend_stats - notifications, for benchmarks
 * @kicks: SET_VRING_KICK eventfd writes (driver → back-end notifications)
 * @calls: wake-ups on a SET_VRING_CALL eventfd (back-end → driver)
 * @signals: the calls' eventfd counts summed (signals coalesce into calls)
 */
struct vhost_user_frontend_stats {
	uint64_t kicks;
	uint64_t calls;
	uint64_t signals;
};

/**
 * vireo_vhost_user_frontend_new() - connect to a back-end and register the device
 * on @bus
 *
 * Before registering: SET_OWNER, GET_FEATURES, and if the back-end offers
 * protocol features GET/SET_PROTOCOL_FEATURES (MQ, REPLY_ACK, CONFIG,
 * RESET_DEVICE where offered) and GET_QUEUE_NUM. The bus binds the matching
 * driver during this call (virtio 1.2 §3.1.1), which negotiates the
 * features, sets up the rings and memory table, and sets DRIVER_OK.
 * Return: 0 and *@out set; -EINVAL (no path, path too long, bad queue size);
 * -ENOENT / -ECONNREFUSED / -errno from connect; -EIO (the back-end broke the
 * protocol or closed the connection); -ENOMEM; or the matching driver's probe
 * error (nothing is left connected then).
 */
VIREO_API int vireo_vhost_user_frontend_new(struct vhost_user_frontend **out,
					    struct virtio_bus *bus,
					    const struct vhost_user_frontend_options *opt);

/**
 * vireo_vhost_user_frontend_free() - unregister (driver remove, rings stopped with
 * GET_VRING_BASE, device reset), close the connection, free everything
 */
VIREO_API void vireo_vhost_user_frontend_free(struct vhost_user_frontend *fe);

/** vireo_vhost_user_frontend_virtio_device() - the device as drivers see it */
VIREO_API struct virtio_device *
vireo_vhost_user_frontend_virtio_device(struct vhost_user_frontend *fe);

/** vireo_vhost_user_frontend_broken() - the back-end broke the protocol or went away */
VIREO_API bool vireo_vhost_user_frontend_broken(const struct vhost_user_frontend *fe);

/**
 * vireo_vhost_user_frontend_set_vring_enable() - enable or disable ring @index of
 * the back-end (SET_VRING_ENABLE, as QEMU does to switch a multi-queue NIC's
 * queue pairs). A disabled ring stays started: the back-end serves it
 * without side effects or not at all (vhost-user.rst "Ring states").
 * Return: 0; -EINVAL (no such ring set up); -EOPNOTSUPP (protocol features
 * not negotiated: rings cannot be disabled); -EIO (refused, or broken).
 */
VIREO_API int vireo_vhost_user_frontend_set_vring_enable(struct vhost_user_frontend *fe,
							 unsigned int index, bool enable);

/**
 * vireo_vhost_user_frontend_stats() - notification counters since
 * vireo_vhost_user_frontend_new()
 */
VIREO_API void vireo_vhost_user_frontend_stats(const struct vhost_user_frontend *fe,
					       struct vhost_user_frontend_stats *st);

/**
 * struct vhost_user_frontend_iotlb_stats - the vIOMMU side (options.iommu)
 * @misses: VHOST_IOTLB_MISS requests answered with an update
 * @refused: misses not answered (an IOVA outside the arena, a bad permission,
 *	or the back-end refused our update)
 * @updates: IOTLB_MSG updates sent (misses and pre-loading)
 * @invalidations: IOTLB_MSG invalidations sent
 */
struct vhost_user_frontend_iotlb_stats {
	uint64_t misses;
	uint64_t refused;
	uint64_t updates;
	uint64_t invalidations;
};

/**
 * vireo_vhost_user_frontend_iotlb_stats() - the counters since
 * vireo_vhost_user_frontend_new() (all 0 without options.iommu)
 */
VIREO_API void vireo_vhost_user_frontend_iotlb_stats(const struct vhost_user_frontend *fe,
						     struct vhost_user_frontend_iotlb_stats *st);

/**
 * vireo_vhost_user_frontend_iotlb_invalidate() - unmap [@iova, @iova + @size)
 * (IOTLB_MSG INVALIDATE, acknowledged: afterwards the back-end uses no old
 * translation of it); later accesses miss and are answered again.
 * Return: 0; -EOPNOTSUPP (no options.iommu); -EINVAL (size 0, wraps); -EIO.
 */
VIREO_API int vireo_vhost_user_frontend_iotlb_invalidate(struct vhost_user_frontend *fe,
							 uint64_t iova, uint64_t size);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_VHOST_USER_FRONTEND_H */
