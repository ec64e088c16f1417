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
# VIREO_KEEP_TMP=1 keeps the temporary folder (serve logs, console); VIREO_GUEST_TIMEOUT=SECS.
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
VIREO=${VIREO:-$repo/build/vireo}
guest=${VIREO_GUEST_DIR:-$repo/build/guest}
tmp=$(mktemp -d /tmp/vireo-guest-vfio-vu.XXXXXX)
case ${VIREO_LOG:-} in debug | trace) ;; *) export VIREO_LOG=info ;; esac # for the "ACCESS_PLATFORM negotiated" and "IOTLB:" lines checked below
# shellcheck source=../guest/lib.sh
. "$repo/tests/guest/lib.sh"
trap 'serve_stop_all; [ -n "${VIREO_KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT

n=0 fails=0
tap() { # tap OK|FAIL NAME [DIAG...]
	local res=$1 name=$2
	shift 2
	n=$((n + 1))
	if [ "$res" = OK ]; then echo "ok $n - $name"; else echo "not ok $n - $name"; fails=$((fails + 1)); fi
	[ "$res" = OK ] || for d in "$@"; do echo "# $d"; done
}
skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

[ -x "$VIREO" ] || skip_all "no $VIREO (build it first)"
"$VIREO" blk --help 2>&1 | grep -q -- --pci || skip_all "this vireo has no 'blk --pci'"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 is not installed (Debian package qemu-system-x86)"
qemu-system-x86_64 -device help 2>/dev/null | grep -q '"vhost-user-blk-pci"' ||
	skip_all "this qemu-system-x86_64 has no vhost-user-blk-pci device"
guest_ensure "$guest" >"$tmp/build.log" 2>&1 ||
	skip_all "cannot build the test guest: $(tail -n 1 "$tmp/build.log")"
guest_vfio_dir "$guest" "$tmp/guest" "$VIREO" 2>"$tmp/vfio.log" ||
	skip_all "$(tail -n 1 "$tmp/vfio.log")"
# vhost-user-rng-pci came in QEMU 6.1; without it, blk alone.
checks=vfio_blk rng_dev=()
if qemu-system-x86_64 -device help 2>/dev/null | grep -q '"vhost-user-rng-pci"'; then
	checks=vfio_blk,vfio_rng
	rng_dev=(-chardev socket,id=c2,path="$tmp/rng.sock"
		-device vhost-user-rng-pci,chardev=c2,iommu_platform=on,addr=0x6)
fi

img0=$tmp/split.img img1=$tmp/packed.img
truncate -s 16M "$img0" "$img1"
if ! serve_start split "$tmp/split.log" blk --socket "$tmp/split.sock" --image "$img0" ||
	! serve_start packed "$tmp/packed.log" blk --socket "$tmp/packed.sock" --image "$img1" ||
	! { [ ${#rng_dev[@]} -eq 0 ] || serve_start rng "$tmp/rng.log" rng --socket "$tmp/rng.sock"; }; then
	tap FAIL "vireo serve blk (x2) and rng listen" \
		"$(cat "$tmp"/*.log 2>/dev/null | tail -n 5 | tr '\n' '|')"
	echo "1..$n"
	exit 1
fi
tap OK "vireo serve blk (x2)${rng_dev[*]:+ and rng} listen"
watch=(--watch "$serve_pid_split" --watch "$serve_pid_packed")
[ ${#rng_dev[@]} -eq 0 ] || watch+=(--watch "$serve_pid_rng")
# iommu.strict=1: see test_guest_iommu.sh (QEMU 7.2 passes only page-selective invalidations
# on to vhost back-ends; vfio's unmaps are page-selective anyway).
VIREO_GUEST_DIR=$tmp/guest "$repo/tests/guest/run.sh" --checks $checks --timeout "${VIREO_GUEST_TIMEOUT:-300}" \
	--log "$tmp/console.log" --append "intel_iommu=on iommu.strict=1" "${watch[@]}" -- \
	-device intel-iommu \
	-chardev socket,id=c0,path="$tmp/split.sock" \
	-device vhost-user-blk-pci,chardev=c0,num-queues=1,disable-legacy=on,iommu_platform=on,addr=0x4 \
	-chardev socket,id=c1,path="$tmp/packed.sock" \
	-device vhost-user-blk-pci,chardev=c1,num-queues=1,disable-legacy=on,iommu_platform=on,packed=on,addr=0x5 \
	"${rng_dev[@]}" >"$tmp/run.out" 2>"$tmp/run.err"
grep -h '^# NOTE: ' "$tmp/run.out"
line=$(grep -m1 '^VIREO-CHECK vfio_blk ' "$tmp/run.out")
case "$line" in
"VIREO-CHECK vfio_blk PASS"*) tap OK "guest: vireo blk --pci write/verify on vhost-user-blk-pci (split and packed) backed by vireo serve blk:${line#VIREO-CHECK vfio_blk PASS}" ;;
*) tap FAIL "guest: vireo blk --pci write/verify on vhost-user-blk-pci backed by serve blk" \
	"${line:-no result}" "$(tail -n 12 "$tmp/run.err" | tr '\n' '|')" ;;
esac
if [ ${#rng_dev[@]} -ne 0 ]; then
	rline=$(grep -m1 '^VIREO-CHECK vfio_rng ' "$tmp/run.out")
	case "$rline" in
	"VIREO-CHECK vfio_rng PASS"*) tap OK "guest: vireo rng --pci on vhost-user-rng-pci backed by vireo serve rng:${rline#VIREO-CHECK vfio_rng PASS}" ;;
	*) tap FAIL "guest: vireo rng --pci on vhost-user-rng-pci backed by serve rng" "${rline:-no result}" ;;
	esac
fi

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
tap $res "guest: our driver took the split ring on 00:04.0, packed on 00:05.0, ACCESS_PLATFORM on both" "$line"

# The back-ends: each negotiated ACCESS_PLATFORM (D-VU-IOTLB-01) and its I/O went through the
# IOTLB: misses asked on the back-end channel, updates applied (D-VU-IOTLB-02, -05). The
# counters are logged when QEMU's connection ends (the guest powered off).
names="split packed"
[ ${#rng_dev[@]} -eq 0 ] || names="$names rng"
for s in $names; do
	res=FAIL
	grep -q 'ACCESS_PLATFORM negotiated' "$tmp/$s.log" &&
		grep -Eq 'IOTLB: [1-9][0-9]* misses asked, [1-9][0-9]* updates' "$tmp/$s.log" && res=OK
	tap $res "serve ($s): ACCESS_PLATFORM negotiated, I/O through the IOTLB ($(grep -o 'IOTLB: [0-9]* misses asked, [0-9]* updates' "$tmp/$s.log" | head -n 1))" \
		"$(tail -n 5 "$tmp/$s.log" | tr '\n' '|')"
done
res=FAIL
grep -q 'queue 0: packed ring' "$tmp/packed.log" && res=OK
tap $res "serve (packed): ran a packed ring through IOVAs" "$(tail -n 5 "$tmp/packed.log" | tr '\n' '|')"
for s in $names; do
	pid_var=serve_pid_$s
	res=FAIL
	serve_stop "${!pid_var}" && res=OK
	tap $res "serve ($s) exits 0 on SIGTERM (status $serve_rc)" "$(tail -n 5 "$tmp/$s.log" | tr '\n' '|')"
done

# What our driver wrote through QEMU's function and our back-end is in each image file.
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
# Non-zero on a failure too, for docs/pci.md's block (tests/cli/test_doc_commands.sh).
[ $fails -eq 0 ]
