#!/bin/bash
# DESIGN.md's dependency rule: a folder never includes a header from a layer
# above it. Each public header belongs to one layer; each folder may include
# the layers listed for it. A header missing from the table fails the check,
# so a new header has to be placed in a layer on purpose.
set -u
cd "$(dirname "$0")/.."

layer_of() {
	case $1 in
	spec.h | api.h) echo spec ;;
	virtqueue.h | vring.h) echo ring ;;
	log.h | inet_csum.h) echo base ;;
	guest_mem.h | event_loop.h | device.h | iov.h | mem_guard.h | peer_eventfd.h | uring_restrict.h | inflight.h) echo core ;;
	blk_device.h | rng_device.h | net_device.h | net_packet.h | net_offload.h | net_switch.h | \
		net_uplink.h) echo devices ;;
	driver.h | dma.h | virtio_blk.h | virtio_rng.h | virtio_net.h | virtio_ring_alloc.h) echo drivers ;;
	loopback.h | vhost_user.h | vhost_user_backend.h | vhost_user_frontend.h | \
	virtio_pci_function.h | virtio_pci_driver.h | virtio_pci_bus.h | vfio_pci.h | virtio_mmio_*.h) echo transport ;;
	*) echo unknown ;;
	esac
}

# Which layers each folder may include (its own included).
allowed_for() {
	case $1 in
	include/vireo) echo "spec ring base core devices drivers transport" ;; # checked per header below
	ring) echo "spec ring" ;;
	core) echo "spec ring base core" ;;
	devices/*) echo "spec ring base core devices" ;;
	drivers) echo "spec ring base drivers" ;;
	transport) echo "spec ring base core drivers transport" ;;
	tools | tests/*) echo "spec ring base core devices drivers transport" ;;
	*) echo "" ;;
	esac
}

status=0
while IFS= read -r file; do
	dir=$(dirname "$file")
	allowed=$(allowed_for "$dir")
	if [ "$dir" = include/vireo ]; then
		allowed=$(allowed_for "$(layer_of "$(basename "$file")" | sed 's/^devices$/devices\/x/')")
		case $(basename "$file") in log.h | inet_csum.h) allowed="spec base" ;; esac
	fi
	while IFS= read -r inc; do
		case $inc in
		vireo/*) layer=$(layer_of "${inc#vireo/}") ;;
		ring/*) layer=ring ;;
		core/*) layer=core ;;
		devices/*) layer=devices ;;
		drivers/*) layer=drivers ;;
		transport/*) layer=transport ;;
		*) continue ;;
		esac
		if [ "$layer" = unknown ]; then
			echo "layering-check: $file includes $inc, which has no layer (add it to $0)" >&2
			status=1
		elif ! grep -qw "$layer" <<<"$allowed"; then
			echo "layering-check: $file ($dir) may not include $inc (layer $layer)" >&2
			status=1
		fi
	done < <(sed -n 's/^#[[:space:]]*include[[:space:]]*[<"]\([^>"]*\)[>"].*/\1/p' "$file")
done < <(find include ring core devices drivers transport tools tests -name '*.[ch]' 2>/dev/null | sort)
[ $status -eq 0 ] && echo "layering-check: ok"
exit $status
