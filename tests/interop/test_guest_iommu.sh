#!/bin/bash
# TAP: Vireo's back-ends behind QEMU's vIOMMU (issue 11 part 4). A q35 guest with
# `-device intel-iommu` and `intel_iommu=on` whose vhost-user-blk and -rng devices have
# iommu_platform=on (VIRTIO_F_ACCESS_PLATFORM): the guest's stock drivers hand the devices I/O
# virtual addresses, and `vireo serve blk|rng` translate every ring and buffer address
# through the IOTLB that QEMU fills on their misses (vhost-user.rst "IOMMU support";
# D-VU-IOTLB-01, -02, -05). In the guest: the devices negotiated ACCESS_PLATFORM and sit in a
# translating IOMMU domain (check iommu: they cannot have fallen back to guest physical
# addresses), blk write/read-back and fio crc32c verify, /dev/hwrng. On the host: each serve
# logged the negotiation, and the guest's data is in the image file. Boot 2: the same blk
# device with packed=on (VIRTIO_F_RING_PACKED: the packed descriptor ring is read and written
# through IOVAs too).
# Not `serve net`: QEMU 7.2 (Debian 12) itself crashes (SIGSEGV in vhost_net_start ->
# msix_set_vector_notifiers) when a vhost-user virtio-net-pci device sits behind intel-iommu
# under TCG, whether iommu_platform is on or not; the back-end code is the same for every
# device (tests/unit/test_vhost_user_iotlb.c).
# The guest runs its IOMMU in strict mode (iommu.strict=1): in Linux's default lazy mode the
# guest flushes its IOTLB domain-wide, and QEMU 7.2's intel-iommu passes only page-selective
# invalidations on to vhost back-ends (upstream added the domain-wide ones in QEMU 8.0:
# "intel-iommu: send UNMAP notifications for domain or global inv desc"), so any vhost
# back-end, the kernel's included, keeps translations the guest has dropped. Seen here: with
# the lazy mode, serve blk read an indirect table through an IOVA the guest had reused.
#   VIREO=build/vireo tests/interop/test_guest_iommu.sh   (guest in ${VIREO_GUEST_DIR:-build/guest})
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
export VIREO_LOG=info # for the "ACCESS_PLATFORM negotiated" lines checked below
# shellcheck source=tap_lib.sh
. "$repo/tests/interop/tap_lib.sh"
# shellcheck source=../guest/lib.sh
. "$repo/tests/guest/lib.sh"
guest_test_init guest-iommu
trap guest_test_cleanup EXIT

guest_need_vireo
guest_need_qemu intel-iommu
guest_need_guest

iommu=iommu_platform=on,disable-legacy=on
checks=iommu,blk_rw,blk_fio,blk_mark,rng
img=$tmp/disk.img
truncate -s 64M "$img"
if serve_start blk "$tmp/blk.log" blk --socket "$tmp/blk.sock" --image "$img" \
	--serial vireo-iommu &&
	serve_start rng "$tmp/rng.log" rng --socket "$tmp/rng.sock"; then
	tap OK "vireo serve blk and rng listen"
	# intremap=off: interrupt remapping needs a split irqchip, which TCG does not have.
	# (vhost-user-rng-pci is modern-only: it has no disable-legacy property.)
	guest_boot "$checks" 200 --serial vireo-iommu --append "intel_iommu=on iommu.strict=1" \
		--watch "$serve_pid_blk" --watch "$serve_pid_rng" -- \
		-device intel-iommu,intremap=off \
		-chardev socket,id=c0,path="$tmp/blk.sock" \
		-device vhost-user-blk-pci,chardev=c0,num-queues=1,$iommu \
		-chardev socket,id=c1,path="$tmp/rng.sock" \
		-device vhost-user-rng-pci,chardev=c1,iommu_platform=on
	guest_check_taps "$checks"
	for s in blk rng; do
		serve_log_tap "$s" "serve $s negotiated ACCESS_PLATFORM (IOVAs through the IOTLB)" \
			'ACCESS_PLATFORM negotiated'
		serve_stop_tap "$s" "serve $s exits 0 on SIGTERM"
	done
	# What the guest wrote through IOVAs is in the image file.
	guest_mark_tap "$img" vireo-iommu "the guest's mark block is in the image file"
else
	tap FAIL "vireo serve blk and rng listen" "$(diag_tail 5 "$tmp/blk.log" "$tmp/rng.log")"
fi

# Boot 2: packed rings behind the IOMMU.
checks=iommu,blk_rw,blk_fio,ring_packed
img=$tmp/packed.img
truncate -s 64M "$img"
if serve_start pk "$tmp/pk.log" blk --socket "$tmp/pk.sock" --image "$img"; then
	guest_boot "$checks" 200 --append "intel_iommu=on iommu.strict=1" --log "$tmp/console2.log" \
		--watch "$serve_pid_pk" -- -device intel-iommu,intremap=off \
		-chardev socket,id=c0,path="$tmp/pk.sock" \
		-device vhost-user-blk-pci,chardev=c0,num-queues=1,$iommu,packed=on
	guest_check_taps "$checks"
	serve_log_tap pk "serve blk ran a packed ring with ACCESS_PLATFORM" \
		'ACCESS_PLATFORM negotiated' 'queue 0: packed ring'
	serve_stop_tap pk "serve blk (packed) exits 0 on SIGTERM"
else
	tap FAIL "vireo serve blk listens (boot 2)" "$(diag_tail 5 "$tmp/pk.log")"
fi
echo "1..$n"
