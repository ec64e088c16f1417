#!/bin/bash
# TAP: our virtio-pci driver through VFIO on QEMU's own virtio-pci devices, inside a QEMU
# guest (issue 11): q35 with an emulated Intel IOMMU (guest intel_iommu=on), two
# virtio-blk-pci functions (disable-legacy=on, iommu_platform=on: their DMA goes through the
# vIOMMU, so VIRTIO_F_ACCESS_PLATFORM is offered), one with packed=on. In the guest the
# vfio_blk check binds both to vfio-pci and runs `vireo blk --pci BDF write/verify` (and
# `vireo bench blk --pci` for a second); the host then verifies each image file with the same
# pattern. A virtio-rng-pci function is read with `vireo rng --pci` (vfio_rng), and two
# virtio-net-pci functions on one QEMU hub carry `vireo bench net --pci A --pci B` (vfio_net). This is a device nobody here wrote,
# driven by our driver: capability discovery, the init sequence (R-PCI-01, R-PCI-10,
# R-PCI-11), queue set-up for split and packed rings (R-PCI-09), 16-bit notifications
# (R-PCI-21, R-PCI-22), MSI-X vectors read back (R-PCI-20), device config read as aligned
# 32-bit halves (R-PCI-04).
# The guest gets our binary, its libraries and the kernel's vfio modules in an archive
# appended to the initrd (the kernel unpacks concatenated cpio archives in order).
#   VIREO=build/vireo tests/interop/test_guest_vfio_pci.sh   (guest in ${VIREO_GUEST_DIR:-build/guest})
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tap_lib.sh
. "$repo/tests/interop/tap_lib.sh"
# shellcheck source=../guest/lib.sh
. "$repo/tests/guest/lib.sh"
guest_test_init guest-vfio
trap guest_test_cleanup EXIT

guest_need_vireo
"$VIREO" blk --help 2>&1 | grep -q -- --pci || skip_all "this vireo has no 'blk --pci'"
guest_need_qemu
guest_need_guest
# The guest: the same kernel, the initrd plus our archive (vfio modules, vireo, and the queue
# reset example beside the vireo under test: R-PCI-13 against QEMU's device).
progs=("$VIREO")
ex=$(dirname "$VIREO")/examples/pci_rng_queue_reset
[ -x "$ex" ] && progs+=("$ex")
guest_need_vfio_guest "${progs[@]}"

img0=$tmp/split.img img1=$tmp/packed.img
truncate -s 16M "$img0" "$img1"
guest_boot vfio_blk,vfio_rng,vfio_net 300 --append "intel_iommu=on" -- \
	-device intel-iommu \
	-drive file="$img0",if=none,id=d0,format=raw,cache=none,aio=threads \
	-device virtio-blk-pci,drive=d0,disable-legacy=on,iommu_platform=on,addr=0x4 \
	-drive file="$img1",if=none,id=d1,format=raw,cache=none,aio=threads \
	-device virtio-blk-pci,drive=d1,disable-legacy=on,iommu_platform=on,packed=on,addr=0x5 \
	-device virtio-rng-pci,disable-legacy=on,iommu_platform=on,addr=0x6 \
	-netdev hubport,id=n0,hubid=0 -netdev hubport,id=n1,hubid=0 \
	-device virtio-net-pci,netdev=n0,disable-legacy=on,iommu_platform=on,addr=0x7 \
	-device virtio-net-pci,netdev=n1,disable-legacy=on,iommu_platform=on,addr=0x8
guest_check_tap vfio_blk "guest: vireo blk --pci write/verify on QEMU's virtio-blk-pci (split and packed) through VFIO" \
	"$(grep -E 'vireo|vfio|DMAR|iommu' "$tmp/console.log" | tail -n 15 | tr '\n' '|')"
line=$guest_line
guest_check_tap vfio_rng "guest: vireo rng --pci on QEMU's virtio-rng-pci through VFIO"
res=FAIL
echo "$guest_line" | grep -q 'queue 0 reset and re-enabled' && res=OK
tap $res "guest: RING_RESET: virtio-rng-pci's queue 0 reset alone and re-enabled (R-PCI-13)" "$guest_line"
guest_check_tap vfio_net "guest: vireo bench net --pci A --pci B on two QEMU virtio-net-pci joined by a hub"
# 00:04.0 split, 00:05.0 packed=on; both iommu_platform=on: ACCESS_PLATFORM (33) accepted.
res=FAIL
vfio_split_packed_ok "$line" && res=OK
tap $res "guest: split ring on 00:04.0, packed on 00:05.0 (packed=on), ACCESS_PLATFORM on both" "$line"
res=FAIL
echo "$line" | grep -q 'vectors:[1-9]' && ! echo "$line" | grep -q 'vectors:0' && res=OK
tap $res "guest: our driver took MSI-X vectors (eventfds through VFIO) on both" "$line"

# What our driver wrote through QEMU's device is in each image file, and nothing else.
image_pattern_taps 11 "$img0" "$img1"
echo "1..$n"
