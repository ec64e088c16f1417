#!/bin/bash
# TAP: the control for test_guest_blk.sh: the same guest and checks against QEMU's
# own virtio-blk-pci and virtio-rng-pci, so a test_guest_blk.sh failure is known to be Vireo's and
# not the guest's. One boot.
# run-tests: once (QEMU's or DPDK's own devices: no Vireo in the path, not per build)
#   tests/interop/test_guest_qemu.sh     (guest in ${VIREO_GUEST_DIR:-build/guest})
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
guest=${VIREO_GUEST_DIR:-$repo/build/guest}
tmp=$(mktemp -d /tmp/vireo-guest-qemu.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=../guest/lib.sh
. "$repo/tests/guest/lib.sh"

command -v qemu-system-x86_64 >/dev/null || { echo "1..0 # SKIP no qemu-system-x86_64 (Debian package qemu-system-x86)"; exit 0; }
if ! guest_ensure "$guest" >"$tmp/build.log" 2>&1; then
	echo "1..0 # SKIP cannot build the test guest: $(tail -n 1 "$tmp/build.log")"
	exit 0
fi
checks=blk_rw,blk_serial,blk_mq,blk_discard,blk_fio,rng
truncate -s 64M "$tmp/disk.img"
VIREO_GUEST_DIR=$guest "$repo/tests/guest/run.sh" --checks $checks --serial qemu-ctl \
	--timeout 120 -- \
	-drive file="$tmp/disk.img",if=none,id=d0,format=raw,discard=unmap \
	-device virtio-blk-pci,drive=d0,serial=qemu-ctl,num-queues=2 \
	-device virtio-rng-pci >"$tmp/run.out" 2>"$tmp/run.err"
grep -h '^# NOTE: ' "$tmp/run.out"
n=0
for c in $(echo $checks | tr ',' ' '); do
	n=$((n + 1))
	line=$(grep -m1 "^VIREO-CHECK $c " "$tmp/run.out")
	case "$line" in
	"VIREO-CHECK $c PASS"*) echo "ok $n - qemu's devices: $c${line#VIREO-CHECK "$c" PASS}" ;;
	"VIREO-CHECK $c FAIL"*) echo "not ok $n - qemu's devices: $c: ${line#VIREO-CHECK "$c" FAIL }" ;;
	*)
		echo "not ok $n - qemu's devices: $c: no result"
		tail -n 12 "$tmp/run.err" | sed 's/^/# /'
		;;
	esac
done
echo "1..$n"
