#!/bin/bash
# TAP: the whole picture of the seed (issue 11, test d): our virtio-pci driver in a QEMU guest,
# through VFIO, on QEMU's vhost-user-blk-pci and vhost-user-rng-pci functions whose back-ends
# are `vireo serve blk` and `vireo serve rng` on the host. Our front-end driver, virtual PCI,
# our back-end. q35 with an emulated Intel IOMMU (guest intel_iommu=on) and iommu_platform=on on
# each function: the driver negotiates VIRTIO_F_ACCESS_PLATFORM and hands the device the IOVAs
# vfio maps, and serve translates every ring and buffer address through the IOTLB that QEMU
# fills on its misses (D-VU-IOTLB-01, -02, -05). Two blk functions, one packed=on, each its own
# serve blk: in the guest `vireo blk --pci BDF write/verify` (tests/guest/init vfio_blk; the
# init sequence R-PCI-01, R-PCI-10, R-PCI-11, queue set-up R-PCI-09, notifications R-PCI-21),
# `vireo rng --pci` (vfio_rng); on the host each serve logged the ACCESS_PLATFORM negotiation
# and IOTLB misses and updates, and each image holds the pattern the guest wrote.
# Every device stop (each `vireo` process in the guest resets the function; vfio's container
# closes at its exit) drops serve's IOTLB: QEMU 7.2 does not pass that domain teardown on,
# and the next process maps the same IOVAs elsewhere (test_iotlb_dropped_when_device_stops).
#   VIREO=build/vireo tests/interop/test_guest_vfio_vhost_user.sh   (guest in ${VIREO_GUEST_DIR:-build/guest})
# VIREO_KEEP_TMP=1 (or a failed check) keeps the temporary folder (serve logs, console); VIREO_GUEST_TIMEOUT=SECS.
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
case ${VIREO_LOG:-} in debug | trace) ;; *) export VIREO_LOG=info ;; esac # for the "ACCESS_PLATFORM negotiated" and "IOTLB:" lines checked below
# shellcheck source=tap_lib.sh
. "$repo/tests/interop/tap_lib.sh"
# shellcheck source=../guest/lib.sh
. "$repo/tests/guest/lib.sh"
guest_test_init guest-vfio-vu
trap guest_test_cleanup EXIT

guest_need_vireo
"$VIREO" blk --help 2>&1 | grep -q -- --pci || skip_all "this vireo has no 'blk --pci'"
guest_need_qemu vhost-user-blk-pci
guest_need_guest
guest_need_vfio_guest "$VIREO"
# vhost-user-rng-pci came in QEMU 6.1; without it, blk alone.
checks=vfio_blk rng_dev=()
if qemu_has_device vhost-user-rng-pci; then
	checks=vfio_blk,vfio_rng
	rng_dev=(-chardev socket,id=c2,path="$tmp/rng.sock"
		-device vhost-user-rng-pci,chardev=c2,iommu_platform=on,addr=0x6)
fi

img0=$tmp/split.img img1=$tmp/packed.img
truncate -s 16M "$img0" "$img1"
if ! serve_start split "$tmp/split.log" blk --socket "$tmp/split.sock" --image "$img0" ||
	! serve_start packed "$tmp/packed.log" blk --socket "$tmp/packed.sock" --image "$img1" ||
	! { [ ${#rng_dev[@]} -eq 0 ] || serve_start rng "$tmp/rng.log" rng --socket "$tmp/rng.sock"; }; then
	tap FAIL "vireo serve blk (x2) and rng listen" "$(diag_tail 5 "$tmp"/*.log)"
	echo "1..$n"
	exit 1
fi
tap OK "vireo serve blk (x2)${rng_dev[*]:+ and rng} listen"
watch=(--watch "$serve_pid_split" --watch "$serve_pid_packed")
[ ${#rng_dev[@]} -eq 0 ] || watch+=(--watch "$serve_pid_rng")
# iommu.strict=1: see test_guest_iommu.sh (QEMU 7.2 passes only page-selective invalidations
# on to vhost back-ends; vfio's unmaps are page-selective anyway).
guest_boot "$checks" "${VIREO_GUEST_TIMEOUT:-300}" --append "intel_iommu=on iommu.strict=1" "${watch[@]}" -- \
	-device intel-iommu \
	-chardev socket,id=c0,path="$tmp/split.sock" \
	-device vhost-user-blk-pci,chardev=c0,num-queues=1,disable-legacy=on,iommu_platform=on,addr=0x4 \
	-chardev socket,id=c1,path="$tmp/packed.sock" \
	-device vhost-user-blk-pci,chardev=c1,num-queues=1,disable-legacy=on,iommu_platform=on,packed=on,addr=0x5 \
	"${rng_dev[@]}"
guest_check_tap vfio_blk "guest: vireo blk --pci write/verify on vhost-user-blk-pci (split and packed) backed by vireo serve blk"
line=$guest_line
[ ${#rng_dev[@]} -eq 0 ] ||
	guest_check_tap vfio_rng "guest: vireo rng --pci on vhost-user-rng-pci backed by vireo serve rng"

# 00:04.0 split, 00:05.0 packed=on; both iommu_platform=on: ACCESS_PLATFORM (33) accepted.
res=FAIL
vfio_split_packed_ok "$line" && res=OK
tap $res "guest: our driver took the split ring on 00:04.0, packed on 00:05.0, ACCESS_PLATFORM on both" "$line"

# The back-ends: each negotiated ACCESS_PLATFORM (D-VU-IOTLB-01) and its I/O went through the
# IOTLB: misses asked on the back-end channel, updates applied (D-VU-IOTLB-02, -05). The
# counters are logged when QEMU's connection ends (the guest powered off).
names="split packed"
[ ${#rng_dev[@]} -eq 0 ] || names="$names rng"
for s in $names; do
	serve_log_tap "$s" "serve ($s): ACCESS_PLATFORM negotiated, I/O through the IOTLB ($(grep -o 'IOTLB: [0-9]* misses asked, [0-9]* updates' "$tmp/$s.log" | head -n 1))" \
		'ACCESS_PLATFORM negotiated' 'IOTLB: [1-9][0-9]* misses asked, [1-9][0-9]* updates'
done
serve_log_tap packed "serve (packed): ran a packed ring through IOVAs" 'queue 0: packed ring'
for s in $names; do
	serve_stop_tap "$s" "serve ($s) exits 0 on SIGTERM"
done

# What our driver wrote through QEMU's function and our back-end is in each image file.
image_pattern_taps 11 "$img0" "$img1"
echo "1..$n"
# Non-zero on a failure too, for docs/pci.md's block (tests/cli/test_doc_commands.sh).
[ "$tap_failed" -eq 0 ]
