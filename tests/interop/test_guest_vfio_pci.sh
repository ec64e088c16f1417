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
VIREO=${VIREO:-$repo/build/vireo}
guest=${VIREO_GUEST_DIR:-$repo/build/guest}
tmp=$(mktemp -d /tmp/vireo-guest-vfio.XXXXXX)
# shellcheck source=../guest/lib.sh
. "$repo/tests/guest/lib.sh"
trap 'rm -rf "$tmp"' EXIT

n=0
tap() { # tap OK|FAIL NAME [DIAG...]
	local res=$1 name=$2
	shift 2
	n=$((n + 1))
	if [ "$res" = OK ]; then echo "ok $n - $name"; else echo "not ok $n - $name"; fi
	[ "$res" = OK ] || for d in "$@"; do echo "# $d"; done
}
skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

[ -x "$VIREO" ] || skip_all "no $VIREO (build it first)"
"$VIREO" blk --help 2>&1 | grep -q -- --pci || skip_all "this vireo has no 'blk --pci'"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 is not installed (Debian package qemu-system-x86)"
guest_ensure "$guest" >"$tmp/build.log" 2>&1 ||
	skip_all "cannot build the test guest: $(tail -n 1 "$tmp/build.log")"
# The guest: the same kernel, the initrd plus our archive (vfio modules, vireo, and the queue
# reset example beside the vireo under test: R-PCI-13 against QEMU's device).
progs=("$VIREO")
ex=$(dirname "$VIREO")/examples/pci_rng_queue_reset
[ -x "$ex" ] && progs+=("$ex")
guest_vfio_dir "$guest" "$tmp/guest" "${progs[@]}" 2>"$tmp/vfio.log" ||
	skip_all "$(tail -n 1 "$tmp/vfio.log")"

img0=$tmp/split.img img1=$tmp/packed.img
truncate -s 16M "$img0" "$img1"
VIREO_GUEST_DIR=$tmp/guest "$repo/tests/guest/run.sh" --checks vfio_blk,vfio_rng,vfio_net --timeout 300 \
	--log "$tmp/console.log" --append "intel_iommu=on" -- \
	-device intel-iommu \
	-drive file="$img0",if=none,id=d0,format=raw,cache=none,aio=threads \
	-device virtio-blk-pci,drive=d0,disable-legacy=on,iommu_platform=on,addr=0x4 \
	-drive file="$img1",if=none,id=d1,format=raw,cache=none,aio=threads \
	-device virtio-blk-pci,drive=d1,disable-legacy=on,iommu_platform=on,packed=on,addr=0x5 \
	-device virtio-rng-pci,disable-legacy=on,iommu_platform=on,addr=0x6 \
	-netdev hubport,id=n0,hubid=0 -netdev hubport,id=n1,hubid=0 \
	-device virtio-net-pci,netdev=n0,disable-legacy=on,iommu_platform=on,addr=0x7 \
	-device virtio-net-pci,netdev=n1,disable-legacy=on,iommu_platform=on,addr=0x8 \
	>"$tmp/run.out" 2>"$tmp/run.err"
grep -h '^# NOTE: ' "$tmp/run.out"
line=$(grep -m1 '^VIREO-CHECK vfio_blk ' "$tmp/run.out")
case "$line" in
"VIREO-CHECK vfio_blk PASS"*) tap OK "guest: vireo blk --pci write/verify on QEMU's virtio-blk-pci (split and packed) through VFIO:${line#VIREO-CHECK vfio_blk PASS}" ;;
*) tap FAIL "guest: vireo blk --pci write/verify through VFIO" "${line:-no result}" \
	"$(grep -E 'vireo|vfio|DMAR|iommu' "$tmp/console.log" | tail -n 15 | tr '\n' '|')" ;;
esac
rline=$(grep -m1 '^VIREO-CHECK vfio_rng ' "$tmp/run.out")
case "$rline" in
"VIREO-CHECK vfio_rng PASS"*) tap OK "guest: vireo rng --pci on QEMU's virtio-rng-pci through VFIO:${rline#VIREO-CHECK vfio_rng PASS}" ;;
*) tap FAIL "guest: vireo rng --pci through VFIO" "${rline:-no result}" ;;
esac
res=FAIL
echo "$rline" | grep -q 'queue 0 reset and re-enabled' && res=OK
tap $res "guest: RING_RESET: virtio-rng-pci's queue 0 reset alone and re-enabled (R-PCI-13)" "$rline"
nline=$(grep -m1 '^VIREO-CHECK vfio_net ' "$tmp/run.out")
case "$nline" in
"VIREO-CHECK vfio_net PASS"*) tap OK "guest: vireo bench net --pci A --pci B on two QEMU virtio-net-pci joined by a hub:${nline#VIREO-CHECK vfio_net PASS}" ;;
*) tap FAIL "guest: vireo bench net --pci through VFIO" "${nline:-no result}" ;;
esac

# feature_of BDF BIT: 1 if the guest's note says our driver negotiated feature BIT on BDF.
feature_of() {
	local f
	f=$(echo "$line" | tr ' ' '\n' | sed -n "s/^$1=features:\(0x[0-9a-f]*\),.*/\1/p")
	[ -n "$f" ] && echo $(((f >> $2) & 1))
}
# 00:04.0 split, 00:05.0 packed=on; both iommu_platform=on: ACCESS_PLATFORM (33) accepted.
res=FAIL
[ "$(feature_of 0000:00:04.0 34)" = 0 ] && [ "$(feature_of 0000:00:05.0 34)" = 1 ] &&
	[ "$(feature_of 0000:00:04.0 33)" = 1 ] && [ "$(feature_of 0000:00:05.0 33)" = 1 ] && res=OK
tap $res "guest: split ring on 00:04.0, packed on 00:05.0 (packed=on), ACCESS_PLATFORM on both" "$line"
res=FAIL
echo "$line" | grep -q 'vectors:[1-9]' && ! echo "$line" | grep -q 'vectors:0' && res=OK
tap $res "guest: our driver took MSI-X vectors (eventfds through VFIO) on both" "$line"

# What our driver wrote through QEMU's device is in each image file, and nothing else.
seed=11
for img in "$img0" "$img1"; do
	res=FAIL
	"$VIREO" blk --image "$img" verify --offset 1M --length 4M --pattern seed:$seed \
		>"$tmp/verify.out" 2>&1 &&
		cmp -s -n 1048576 "$img" /dev/zero && res=OK
	tap $res "host: $(basename "$img") holds pattern seed:$seed at [1M, 5M) and zeroes before" \
		"$(tail -n 3 "$tmp/verify.out" | tr '\n' '|')"
	seed=$((seed + 1))
done
echo "1..$n"
