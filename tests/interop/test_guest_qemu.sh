#!/bin/bash
# TAP: the control for test_guest_blk.sh: the same guest and checks against QEMU's
# own virtio-blk-pci and virtio-rng-pci, so a test_guest_blk.sh failure is known to be Vireo's and
# not the guest's. One boot.
# run-tests: once (QEMU's or DPDK's own devices: no Vireo in the path, not per build)
#   tests/interop/test_guest_qemu.sh     (guest in ${VIREO_GUEST_DIR:-build/guest})
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tap_lib.sh
. "$repo/tests/interop/tap_lib.sh"
# shellcheck source=../guest/lib.sh
. "$repo/tests/guest/lib.sh"
guest_test_init guest-qemu
trap guest_test_cleanup EXIT

guest_need_qemu
guest_need_guest
checks=blk_rw,blk_serial,blk_mq,blk_discard,blk_fio,rng
truncate -s 64M "$tmp/disk.img"
guest_boot "$checks" 120 --serial qemu-ctl -- \
	-drive file="$tmp/disk.img",if=none,id=d0,format=raw,discard=unmap \
	-device virtio-blk-pci,drive=d0,serial=qemu-ctl,num-queues=2 \
	-device virtio-rng-pci
guest_check_taps "$checks" "qemu's devices:"
echo "1..$n"
