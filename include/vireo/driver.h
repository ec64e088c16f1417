/* SPDX-License-Identifier: MIT */
/*
 * The front-end framework, after the seed and Linux include/linux/virtio.h:
 * a virtio_driver matches virtio_devices by id on a virtio_bus; a transport
 * registers devices and implements virtio_config_ops for them. The bus runs
 * the virtio 1.2 §3.1 initialization sequence in one place.
 *
 * No global state: a program creates a struct virtio_bus and registers
 * drivers and devices on it.
 */
#ifndef VIREO_DRIVER_H
#define VIREO_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include <vireo/dma.h>
#include <vireo/spec.h>
#include <vireo/virtqueue.h>
#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VIRTIO_DEV_ANY_ID 0xffffffffu

struct virtio_device;
struct virtio_driver;

/** struct virtio_device_id - what a driver binds to */
struct virtio_device_id {
	uint32_t device;
	uint32_t vendor;
};

typedef void virtqueue_callback(struct virtqueue *vq);

/**
 * struct virtio_config_ops - what a driver-role transport implements
 * @get: read @len bytes of device config at @offset
 * @set: write @len bytes of device config at @offset
 * @generation: config generation counter (§2.5.1: re-read until stable)
 * @get_status, @set_status: the device status byte; set_status(0) is not reset
 * @reset: reset the device and wait until it reads back status 0
 * @get_features: the device's offered feature bits 0-63
 * @get_features_hi: optional: offered bits 64-127 (virtio-pci and virtio-mmio
 *	select 2 and 3); NULL where the transport cannot carry them (vhost-user)
 * @finalize_features: write vdev->features and vdev->features_hi (already
 *	masked by the bus; features_hi is 0 without @get_features_hi)
 * @find_vqs: allocate, configure and enable @nvqs queues. Return 0 or -errno
 * @del_vqs: the device is reset; free every queue
 * @wait: block until the device signals any queue or config change, or
 *	@timeout_ms passes (-1: forever), then run the callbacks of the signalled
 *	queues. Userspace's interrupt handler. Return: 0, -ETIMEDOUT or -errno
 * @bus_name: for logs
 */
struct virtio_config_ops {
	void (*get)(struct virtio_device *vdev, unsigned int offset, void *buf, unsigned int len);
	void (*set)(struct virtio_device *vdev, unsigned int offset, const void *buf,
		    unsigned int len);
	uint32_t (*generation)(struct virtio_device *vdev);
	uint8_t (*get_status)(struct virtio_device *vdev);
	void (*set_status)(struct virtio_device *vdev, uint8_t status);
	void (*reset)(struct virtio_device *vdev);
	uint64_t (*get_features)(struct virtio_device *vdev);
	uint64_t (*get_features_hi)(struct virtio_device *vdev);
	int (*finalize_features)(struct virtio_device *vdev);
	int (*find_vqs)(struct virtio_device *vdev, unsigned int nvqs, struct virtqueue *vqs[],
			virtqueue_callback *callbacks[], const char *const names[]);
	void (*del_vqs)(struct virtio_device *vdev);
	int (*wait)(struct virtio_device *vdev, int timeout_ms);
	const char *(*bus_name)(struct virtio_device *vdev);
};

/**
 * struct virtio_device - a device as drivers see it
 * @id: device and vendor id (set by the transport)
 * @config: the transport's operations
 * @features, @features_hi: negotiated feature bits 0-63 and 64-127 (set by
 *	the bus); test them with virtio_has_feature()
 * @driver: bound driver, or NULL
 * @priv: the driver's data
 * @transport: the transport's data
 * @dma: memory the device can reach; buffers and rings come from here
 * @index: number on its bus, for names
 * @reset_claimed, @needs_reset: the device set DEVICE_NEEDS_RESET; one
 *	thread claimed the reset, which is done once @needs_reset reads true
 *	(both cleared when the device is registered again)
 */
struct virtio_device {
	struct virtio_device_id id;
	const struct virtio_config_ops *config;
	uint64_t features;
	uint64_t features_hi;
	struct virtio_driver *driver;
	void *priv;
	void *transport;
	struct virtio_dma_arena *dma;
	unsigned int index;
	/* GCC __atomic builtins, not _Atomic: the header must compile as C++ too. */
	bool reset_claimed;
	bool needs_reset;
	struct virtio_bus *bus;
	struct virtio_device *next;
};

/**
 * struct virtio_driver - a front-end driver (the seed's virtio_driver)
 * @feature_table: device feature bits the driver understands (0-127)
 * @probe: bind: find_vqs, set up. The bus sets DRIVER_OK after it returns 0.
 *	On failure the probe undoes its own work (del_vqs included); the bus
 *	then sets FAILED.
 * @remove: unbind; the bus resets the device first
 * @config_changed: optional
 */
struct virtio_driver {
	const char *name;
	const struct virtio_device_id *id_table; /* ends with device == 0 */
	const unsigned int *feature_table;
	unsigned int feature_table_size;
	int (*probe)(struct virtio_device *vdev);
	void (*remove)(struct virtio_device *vdev);
	void (*config_changed)(struct virtio_device *vdev);
	struct virtio_driver *next;
};

/**
 * enum virtio_ring_format - which virtqueue format the bus negotiates
 * @VIRTIO_RING_DEFAULT: packed if the device offers VIRTIO_F_RING_PACKED,
 *	split otherwise
 * @VIRTIO_RING_SPLIT: never accept VIRTIO_F_RING_PACKED
 * @VIRTIO_RING_PACKED: accept VIRTIO_F_RING_PACKED; a device that does not
 *	offer it is not bound (-ENODEV)
 */
enum virtio_ring_format {
	VIRTIO_RING_DEFAULT = 0,
	VIRTIO_RING_SPLIT,
	VIRTIO_RING_PACKED,
};

/**
 * struct virtio_bus - drivers and devices of one program
 * @ring_format: the virtqueue format to negotiate (set before registering devices)
 * @ring_in_order: accept VIRTIO_F_IN_ORDER when the device offers it
 */
struct virtio_bus {
	struct virtio_driver *drivers;
	struct virtio_device *devices;
	unsigned int next_index;
	enum virtio_ring_format ring_format;
	bool ring_in_order;
};

VIREO_API void virtio_bus_init(struct virtio_bus *bus);

/**
 * virtio_register_driver() - add @drv and probe it against unbound devices
 * Return: 0 or -EEXIST.
 */
VIREO_API int virtio_register_driver(struct virtio_bus *bus, struct virtio_driver *drv);

/** virtio_unregister_driver() - remove @drv from every device bound to it */
VIREO_API void virtio_unregister_driver(struct virtio_bus *bus, struct virtio_driver *drv);

/**
 * vireo_register_virtio_device() - called by a transport: reset the device, set
 * ACKNOWLEDGE, and bind the first matching driver (§3.1.1: DRIVER, features
 * by the driver's table, FEATURES_OK and re-read, probe, DRIVER_OK; FAILED
 * on any error). Return: 0 (also when no driver matches), or -errno if the
 * matching driver failed to bind. Either way the device stays on @bus until
 * vireo_unregister_virtio_device().
 */
VIREO_API int vireo_register_virtio_device(struct virtio_bus *bus, struct virtio_device *vdev);

/** vireo_unregister_virtio_device() - remove the driver, reset, take off the bus */
VIREO_API void vireo_unregister_virtio_device(struct virtio_device *vdev);

/** virtio_bus_find() - the @nth device on @bus with @device_id bound to a driver, or NULL */
VIREO_API struct virtio_device *virtio_bus_find(struct virtio_bus *bus, uint32_t device_id,
						unsigned int nth);

/** virtio_has_feature() - @bit (0-127) was negotiated; false for any other @bit */
static inline bool virtio_has_feature(const struct virtio_device *vdev, unsigned int bit)
{
	return vireo_feature_in(vdev->features, vdev->features_hi, bit);
}

/**
 * virtio_cread() - read config consistently (§2.5.1: retry while the
 * generation changes)
 */
VIREO_API void virtio_cread(struct virtio_device *vdev, unsigned int offset, void *buf,
			    unsigned int len);

/**
 * virtio_config_changed() - called by a transport when the device signals a
 * configuration change: first virtio_check_needs_reset(), then (if the device
 * goes on) the bound driver's config_changed, if any
 */
VIREO_API void virtio_config_changed(struct virtio_device *vdev);

/**
 * virtio_check_needs_reset() - read the device status: has the device set
 * DEVICE_NEEDS_RESET? The first caller to see it logs one error line and
 * resets the device (virtio 1.4 §2.1.1: completions are not relied on any
 * more; a reset recovers); its queues are then not live, so each queue's
 * driver takes back and fails what it had posted (virtqueue_detach_unused_buf).
 * Return: true once that reset is done (virtio_device_needs_reset() then says
 * so without a status read); false otherwise.
 */
VIREO_API bool virtio_check_needs_reset(struct virtio_device *vdev);

/** virtio_device_needs_reset() - the device needed a reset and got it: fail its I/O */
static inline bool virtio_device_needs_reset(struct virtio_device *vdev)
{
	/* Acquire: pairs with the release store after the reset in virtio_check_needs_reset(). */
	return __atomic_load_n(&vdev->needs_reset, __ATOMIC_ACQUIRE);
}

/** virtio_device_ready() - set DRIVER_OK (a probe may call it early to use its queues) */
VIREO_API void virtio_device_ready(struct virtio_device *vdev);

#ifdef __cplusplus
}
#endif

#endif /* VIREO_DRIVER_H */
