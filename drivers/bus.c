// SPDX-License-Identifier: MIT
/*
 * The driver bus: drivers and devices meet here, matched by id, and the
 * virtio 1.2 §3.1.1 initialization sequence runs here, in one place, for
 * every transport and every driver.
 */
#include <errno.h>
#include <stddef.h>

#include <vireo/driver.h>
#include <vireo/log.h>

/*
 * Transport feature bits the bus negotiates on the drivers' behalf: what
 * ring/ implements. A driver table names only device-type bits (§2.2: 0-23,
 * 41, 42, 50-127); any other bit in it is never accepted (R-BF-05).
 */
#define BUS_RING_FEATURES                                                           \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC) | \
	 VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX))

/* A device that keeps changing its config generation gets this many tries (§2.5.1). */
#define BUS_CREAD_MAX_TRIES 1000u

void virtio_bus_init(struct virtio_bus *bus)
{
	bus->drivers = NULL;
	bus->devices = NULL;
	bus->next_index = 0;
	bus->ring_format = VIRTIO_RING_DEFAULT;
	bus->ring_in_order = false;
}

static const char *bus_name(struct virtio_device *vdev)
{
	if (vdev->config->bus_name)
		return vdev->config->bus_name(vdev);
	return "virtio";
}

/* Status bits only accumulate (§2.1.1 drv:BF/Device Status Field: never clear a bit). */
static void bus_add_status(struct virtio_device *vdev, uint8_t bits)
{
	vdev->config->set_status(vdev, (uint8_t)(vdev->config->get_status(vdev) | bits));
}

void virtio_device_ready(struct virtio_device *vdev)
{
	bus_add_status(vdev, VIRTIO_STATUS_DRIVER_OK);
}

static bool bus_id_matches(const struct virtio_device_id *id, const struct virtio_device *vdev)
{
	return id->device == vdev->id.device &&
	       (id->vendor == VIRTIO_DEV_ANY_ID || id->vendor == vdev->id.vendor);
}

static bool bus_driver_matches(const struct virtio_driver *drv, const struct virtio_device *vdev)
{
	const struct virtio_device_id *id;

	if (!drv->id_table)
		return false;
	for (id = drv->id_table; id->device != 0; id++)
		if (bus_id_matches(id, vdev))
			return true;
	return false;
}

/* The ring bits the bus's options add: the packed format, in-order use (§2.8, §2.7.9). */
static uint64_t bus_ring_options(const struct virtio_bus *bus)
{
	uint64_t want = 0;

	/* The packed layout whenever the device offers it, unless split is asked for. */
	if (bus->ring_format != VIRTIO_RING_SPLIT)
		want |= VIRTIO_BIT(VIRTIO_F_RING_PACKED);
	if (bus->ring_in_order)
		want |= VIRTIO_BIT(VIRTIO_F_IN_ORDER);
	return want;
}

/*
 * What the bus lets @drv accept: its table's device bits plus the ring bits;
 * bits 64-127 (all the device type's, §2.2) in *@want_hi.
 */
static uint64_t bus_driver_features(const struct virtio_bus *bus, const struct virtio_driver *drv,
				    uint64_t *want_hi)
{
	uint64_t want = BUS_RING_FEATURES | bus_ring_options(bus);
	unsigned int i;

	*want_hi = 0;
	for (i = 0; i < drv->feature_table_size; i++) {
		unsigned int bit = drv->feature_table[i];

		if (bit >= VIREO_FEATURE_BITS)
			continue;
		if (bit >= 64)
			*want_hi |= VIRTIO_BIT(bit - 64);
		else if (VIRTIO_DEVICE_TYPE_FEATURES & VIRTIO_BIT(bit))
			want |= VIRTIO_BIT(bit);
	}
	return want;
}

/*
 * §3.1.1 steps 4-6: feature negotiation. Return: 0, or -ENODEV if the
 * device is legacy-only or refuses our subset (FEATURES_OK not kept), or
 * the transport's error.
 */
static int bus_negotiate(struct virtio_device *vdev, const struct virtio_driver *drv)
{
	uint64_t offered = vdev->config->get_features(vdev);
	uint64_t offered_hi = 0, want, want_hi;
	int err;

	/* R-BF-06: Vireo is a non-transitional driver: no fallback to the legacy interface. */
	if (!(offered & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
		log_error("%s%u: device does not offer VIRTIO_F_VERSION_1; legacy devices are not "
			  "supported",
			  bus_name(vdev), vdev->index);
		return -ENODEV;
	}
	if (vdev->bus->ring_format == VIRTIO_RING_PACKED &&
	    !(offered & VIRTIO_BIT(VIRTIO_F_RING_PACKED))) {
		log_error("%s%u: a packed ring was asked for, the device does not offer "
			  "VIRTIO_F_RING_PACKED",
			  bus_name(vdev), vdev->index);
		return -ENODEV;
	}
	/* R-BF-04/05/07: accept only offered bits we understand; unknown offers are fine. */
	if (vdev->config->get_features_hi)
		offered_hi = vdev->config->get_features_hi(vdev);
	want = bus_driver_features(vdev->bus, drv, &want_hi);
	vdev->features = offered & want;
	vdev->features_hi = offered_hi & want_hi;
	err = vdev->config->finalize_features(vdev);
	if (err)
		return err;
	bus_add_status(vdev, VIRTIO_STATUS_FEATURES_OK);
	/* §3.1.1 step 6: re-read; a device that cannot use our subset clears FEATURES_OK. */
	if (!(vdev->config->get_status(vdev) & VIRTIO_STATUS_FEATURES_OK)) {
		log_error("%s%u: device did not accept features 0x%llx (bits 64-127: 0x%llx)",
			  bus_name(vdev), vdev->index, (unsigned long long)vdev->features,
			  (unsigned long long)vdev->features_hi);
		return -ENODEV;
	}
	return 0;
}

/*
 * Bind @drv to @vdev: the rest of §3.1.1 after ACKNOWLEDGE. On any failure
 * the device is left with FAILED set (R-BF-16: initialization stops there).
 * Return: 0 or -errno.
 */
static int bus_bind(struct virtio_device *vdev, struct virtio_driver *drv)
{
	int err;

	/* R-BF-03: a device left FAILED (or half-initialized) is reset before a new try. */
	if (vdev->config->get_status(vdev) != VIRTIO_STATUS_ACKNOWLEDGE) {
		vdev->config->reset(vdev);
		bus_add_status(vdev, VIRTIO_STATUS_ACKNOWLEDGE);
	}
	bus_add_status(vdev, VIRTIO_STATUS_DRIVER);
	err = bus_negotiate(vdev, drv);
	if (err)
		goto out_failed;
	vdev->driver = drv;
	err = drv->probe(vdev);
	if (err) {
		log_error("%s%u: driver %s probe failed: %d", bus_name(vdev), vdev->index,
			  drv->name, err);
		vdev->driver = NULL;
		goto out_failed;
	}
	/* §3.1.1 step 8; a probe that needed its queues early already set it. */
	if (!(vdev->config->get_status(vdev) & VIRTIO_STATUS_DRIVER_OK))
		virtio_device_ready(vdev);
	log_debug("%s%u: bound to %s, features 0x%llx", bus_name(vdev), vdev->index, drv->name,
		  (unsigned long long)vdev->features);
	return 0;

out_failed:
	bus_add_status(vdev, VIRTIO_STATUS_FAILED);
	return err;
}

/* Undo a bind: reset first so the device stops using buffers (R-BF-19), then free. */
static void bus_unbind(struct virtio_device *vdev)
{
	struct virtio_driver *drv = vdev->driver;

	vdev->config->reset(vdev);
	if (drv->remove)
		drv->remove(vdev);
	vdev->config->del_vqs(vdev);
	vdev->driver = NULL;
	vdev->priv = NULL;
}

int virtio_register_driver(struct virtio_bus *bus, struct virtio_driver *drv)
{
	struct virtio_driver **pp;
	struct virtio_device *vdev;

	for (pp = &bus->drivers; *pp; pp = &(*pp)->next)
		if (*pp == drv)
			return -EEXIST;
	drv->next = NULL;
	*pp = drv;
	for (vdev = bus->devices; vdev; vdev = vdev->next)
		if (!vdev->driver && bus_driver_matches(drv, vdev))
			(void)bus_bind(vdev, drv); /* logged; the device stays FAILED */
	return 0;
}

void virtio_unregister_driver(struct virtio_bus *bus, struct virtio_driver *drv)
{
	struct virtio_driver **pp;
	struct virtio_device *vdev;

	for (vdev = bus->devices; vdev; vdev = vdev->next)
		if (vdev->driver == drv)
			bus_unbind(vdev);
	for (pp = &bus->drivers; *pp; pp = &(*pp)->next) {
		if (*pp == drv) {
			*pp = drv->next;
			drv->next = NULL;
			return;
		}
	}
}

int vireo_register_virtio_device(struct virtio_bus *bus, struct virtio_device *vdev)
{
	struct virtio_device **pp;
	struct virtio_driver *drv;

	vdev->bus = bus;
	vdev->driver = NULL;
	vdev->priv = NULL;
	vdev->features = 0;
	vdev->features_hi = 0;
	__atomic_store_n(&vdev->reset_claimed, false, __ATOMIC_RELAXED);
	__atomic_store_n(&vdev->needs_reset, false, __ATOMIC_RELAXED);
	vdev->index = bus->next_index++;
	vdev->next = NULL;
	for (pp = &bus->devices; *pp; pp = &(*pp)->next)
		;
	*pp = vdev;

	/* §3.1.1 steps 1-2: reset, then ACKNOWLEDGE: we noticed the device. */
	vdev->config->reset(vdev);
	bus_add_status(vdev, VIRTIO_STATUS_ACKNOWLEDGE);
	for (drv = bus->drivers; drv; drv = drv->next)
		if (bus_driver_matches(drv, vdev))
			return bus_bind(vdev, drv);
	log_debug("%s%u: no driver for device id %u", bus_name(vdev), vdev->index, vdev->id.device);
	return 0;
}

void vireo_unregister_virtio_device(struct virtio_device *vdev)
{
	struct virtio_bus *bus = vdev->bus;
	struct virtio_device **pp;

	if (vdev->driver)
		bus_unbind(vdev);
	else
		vdev->config->reset(vdev);
	if (!bus)
		return;
	for (pp = &bus->devices; *pp; pp = &(*pp)->next) {
		if (*pp == vdev) {
			*pp = vdev->next;
			break;
		}
	}
	vdev->next = NULL;
	vdev->bus = NULL;
}

struct virtio_device *virtio_bus_find(struct virtio_bus *bus, uint32_t device_id, unsigned int nth)
{
	struct virtio_device *vdev;

	for (vdev = bus->devices; vdev; vdev = vdev->next)
		if (vdev->id.device == device_id && vdev->driver && nth-- == 0)
			return vdev;
	return NULL;
}

/*
 * virtio_check_needs_reset() - see <vireo/driver.h>. A thread that loses the
 * claim gets false until the winner's reset is done; its next look says true.
 */
bool virtio_check_needs_reset(struct virtio_device *vdev)
{
	if (virtio_device_needs_reset(vdev))
		return true;
	if (!vdev->config->get_status ||
	    !(vdev->config->get_status(vdev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		return false;
	if (__atomic_exchange_n(&vdev->reset_claimed, true, __ATOMIC_RELAXED))
		return false;
	log_error("%s%u: the device set DEVICE_NEEDS_RESET: its outstanding requests fail "
		  "(-EIO) and it is reset",
		  bus_name(vdev), vdev->index);
	/* drv:BF/Device Status Field: no completion may be relied on now; a reset stops the rings. */
	vdev->config->reset(vdev);
	/* Release: pairs with the acquire in virtio_device_needs_reset(): rings stopped first. */
	__atomic_store_n(&vdev->needs_reset, true, __ATOMIC_RELEASE);
	return true;
}

void virtio_config_changed(struct virtio_device *vdev)
{
	/* dev:BF/Device Status Field (D-BF-02): NEEDS_RESET comes with a config change. */
	if (virtio_check_needs_reset(vdev))
		return;
	if (vdev->driver && vdev->driver->config_changed)
		vdev->driver->config_changed(vdev);
}

/*
 * §2.5.1 drv:BF/Device Configuration Space (R-BF-08): fields wider than 32
 * bits, or several fields, are consistent only if the generation did not
 * change across the read.
 */
void virtio_cread(struct virtio_device *vdev, unsigned int offset, void *buf, unsigned int len)
{
	uint32_t before, after;
	unsigned int tries = 0;

	if (!vdev->config->generation) {
		vdev->config->get(vdev, offset, buf, len);
		return;
	}
	do {
		before = vdev->config->generation(vdev);
		vdev->config->get(vdev, offset, buf, len);
		after = vdev->config->generation(vdev);
	} while (after != before && ++tries < BUS_CREAD_MAX_TRIES);
	if (after != before)
		log_warn("%s%u: config generation never settled; using the last read",
			 bus_name(vdev), vdev->index);
}
