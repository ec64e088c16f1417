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
VIREO=${VIREO:-$repo/build/vireo}
guest=${VIREO_GUEST_DIR:-$repo/build/guest}
tmp=$(mktemp -d /tmp/vireo-guest-iommu.XXXXXX)
export VIREO_LOG=info # for the "ACCESS_PLATFORM negotiated" lines checked below
# shellcheck source=../guest/lib.sh
. "$repo/tests/guest/lib.sh"
trap 'serve_stop_all; rm -rf "$tmp"' EXIT

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
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 is not installed (Debian package qemu-system-x86)"
qemu-system-x86_64 -device help 2>/dev/null | grep -q '"intel-iommu"' ||
	skip_all "this qemu-system-x86_64 has no intel-iommu device"
guest_ensure "$guest" >"$tmp/build.log" 2>&1 ||
	skip_all "cannot build the test guest: $(tail -n 1 "$tmp/build.log")"

# guest_taps CHECKS: one TAP line per check of the boot whose output is in $tmp/run.out.
guest_taps() {
	local c line
	for c in $(echo "$1" | tr ',' ' '); do
		line=$(grep -m1 "^VIREO-CHECK $c " "$tmp/run.out")
		case "$line" in
		"VIREO-CHECK $c PASS"*) tap OK "guest $c${line#VIREO-CHECK "$c" PASS}" ;;
		"VIREO-CHECK $c FAIL"*) tap FAIL "guest $c: ${line#VIREO-CHECK "$c" FAIL }" ;;
		*) tap FAIL "guest $c: no result" "$(tail -n 12 "$tmp/run.err" | tr '\n' '|')" ;;
		esac
	done
}

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
	VIREO_GUEST_DIR=$guest "$repo/tests/guest/run.sh" --checks $checks --timeout 200 \
		--serial vireo-iommu --append "intel_iommu=on iommu.strict=1" \
		--log "$tmp/console.log" --watch "$serve_pid_blk" --watch "$serve_pid_rng" -- \
		-device intel-iommu,intremap=off \
		-chardev socket,id=c0,path="$tmp/blk.sock" \
		-device vhost-user-blk-pci,chardev=c0,num-queues=1,$iommu \
		-chardev socket,id=c1,path="$tmp/rng.sock" \
		-device vhost-user-rng-pci,chardev=c1,iommu_platform=on >"$tmp/run.out" 2>"$tmp/run.err"
	guest_taps $checks
	for s in blk rng; do
		res=FAIL
		grep -q 'ACCESS_PLATFORM negotiated' "$tmp/$s.log" && res=OK
		tap $res "serve $s negotiated ACCESS_PLATFORM (IOVAs through the IOTLB)" \
			"$(tail -n 5 "$tmp/$s.log" | tr '\n' '|')"
		pid_var=serve_pid_$s
		res=FAIL
		serve_stop "${!pid_var}" && res=OK
		tap $res "serve $s exits 0 on SIGTERM (status $serve_rc)" \
			"$(tail -n 5 "$tmp/$s.log" | tr '\n' '|')"
	done
	# What the guest wrote through IOVAs is in the image file.
	res=FAIL
	printf 'vireo-mark vireo-iommu\n' | dd conv=sync bs=4k status=none >"$tmp/mark"
	dd if="$img" bs=4k skip=6000 count=1 status=none | cmp -s - "$tmp/mark" && res=OK
	tap $res "the guest's mark block is in the image file"
else
	tap FAIL "vireo serve blk and rng listen" \
		"$(cat "$tmp/blk.log" "$tmp/rng.log" 2>/dev/null | tail -n 5 | tr '\n' '|')"
fi

# Boot 2: packed rings behind the IOMMU.
checks=iommu,blk_rw,blk_fio,ring_packed
img=$tmp/packed.img
truncate -s 64M "$img"
if serve_start pk "$tmp/pk.log" blk --socket "$tmp/pk.sock" --image "$img"; then
	VIREO_GUEST_DIR=$guest "$repo/tests/guest/run.sh" --checks $checks --timeout 200 \
		--append "intel_iommu=on iommu.strict=1" --log "$tmp/console2.log" \
		--watch "$serve_pid_pk" -- -device intel-iommu,intremap=off \
		-chardev socket,id=c0,path="$tmp/pk.sock" \
		-device vhost-user-blk-pci,chardev=c0,num-queues=1,$iommu,packed=on \
		>"$tmp/run.out" 2>"$tmp/run.err"
	guest_taps $checks
	res=FAIL
	grep -q 'ACCESS_PLATFORM negotiated' "$tmp/pk.log" && grep -q 'queue 0: packed ring' "$tmp/pk.log" &&
		res=OK
	tap $res "serve blk ran a packed ring with ACCESS_PLATFORM" \
		"$(tail -n 5 "$tmp/pk.log" | tr '\n' '|')"
	res=FAIL
	serve_stop "$serve_pid_pk" && res=OK
	tap $res "serve blk (packed) exits 0 on SIGTERM (status $serve_rc)"
else
	tap FAIL "vireo serve blk listens (boot 2)" "$(tail -n 5 "$tmp/pk.log" | tr '\n' '|')"
fi
echo "1..$n"
