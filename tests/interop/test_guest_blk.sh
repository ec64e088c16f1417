#!/bin/bash
# TAP: QEMU guests whose stock Linux virtio drivers use `vireo serve blk` and `vireo serve rng`
# over vhost-user (issue 3, item 6b). Boot 1: a fresh image served with 2 queues and a serial
# number: in-guest write/verify, fio --verify=crc32c at iodepth 32, both queues used, the
# serial in sysfs, discard and write-zeroes, /dev/hwrng. Boot 2: a read-only export.
# With --packed every vhost-user device gets packed=on: the guest's drivers and `serve` then run
# packed virtqueues (VIRTIO_F_RING_PACKED), and each serve log must say so.
#   VIREO=build/vireo tests/interop/test_guest_blk.sh [--packed]   (guest in ${VIREO_GUEST_DIR:-build/guest})
set -u
pk='' rp=''
if [ "${1:-}" = --packed ]; then
	pk=,packed=on rp=,ring_packed # and the guest's sysfs must show RING_PACKED negotiated
	export VIREO_LOG=info # for the "queue 0: packed ring" line checked below
fi
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tap_lib.sh
. "$repo/tests/interop/tap_lib.sh"
# shellcheck source=../guest/lib.sh
. "$repo/tests/guest/lib.sh"
guest_test_init guest-blk
trap guest_test_cleanup EXIT

guest_need_vireo
"$VIREO" serve --help >/dev/null 2>&1 || skip_all "this vireo has no 'serve' command"
guest_need_qemu
guest_need_guest

# boot_tap CHECKS [RUN.SH ARGS...] -- QEMU ARGS: one boot, one TAP line per check.
boot_tap() {
	local checks=$1
	shift
	guest_boot "$checks" 120 "$@"
	guest_check_taps "$checks"
}

# Boot 1: read-write, two queues, a serial number, and the rng.
img=$tmp/disk.img
truncate -s 64M "$img"
if serve_start blk "$tmp/blk.log" blk --socket "$tmp/blk.sock" --image "$img" --queues 2 \
	--serial vireo-interop1 &&
	serve_start rng "$tmp/rng.log" rng --socket "$tmp/rng.sock"; then
	tap OK "vireo serve blk and serve rng listen"
	boot_tap blk_rw,blk_serial,blk_mq,blk_discard,blk_fio,blk_mark,rng$rp --serial vireo-interop1 \
		--watch "$serve_pid_blk" --watch "$serve_pid_rng" -- \
		-chardev socket,id=c0,path="$tmp/blk.sock" \
		-device vhost-user-blk-pci,chardev=c0,num-queues=2$pk \
		-chardev socket,id=c1,path="$tmp/rng.sock" -device vhost-user-rng-pci,chardev=c1$pk
	# The front-end went away: the servers must still be there for the next one.
	if kill -0 "$serve_pid_blk" 2>/dev/null && kill -0 "$serve_pid_rng" 2>/dev/null; then
		tap OK "servers still running after the guest powered off"
	else
		tap FAIL "servers still running after the guest powered off" \
			"$(diag_tail 5 "$tmp/blk.log" "$tmp/rng.log")"
	fi
	serve_stop_tap blk "serve blk exits 0 on SIGTERM and removes its socket" "$tmp/blk.sock"
	serve_stop_tap rng "serve rng exits 0 on SIGTERM and removes its socket" "$tmp/rng.sock"
	if [ -n "$pk" ]; then
		for s in blk rng; do
			# The firmware (SeaBIOS) drives blk with a split ring first; Linux then packed.
			serve_log_tap "$s" "serve $s ran packed rings with the guest" 'queue 0: packed ring'
		done
	fi
	# What the guest wrote through Vireo is in the image file.
	guest_mark_tap "$img" vireo-interop1 \
		"the guest's mark block is in the image file after serve blk exits"
else
	tap FAIL "vireo serve blk and serve rng listen" "$(diag_tail 5 "$tmp/blk.log" "$tmp/rng.log")"
fi

# Boot 2: a read-only export; the image must come out unchanged.
img=$tmp/ro.img
truncate -s 16M "$img"
printf 'vireo read-only image' | dd of="$img" conv=notrunc status=none
before=$(sha256sum <"$img")
if serve_start ro "$tmp/ro.log" blk --socket "$tmp/ro.sock" --image "$img" --readonly; then
	boot_tap blk_ro$rp --watch "$serve_pid_ro" -- -chardev socket,id=c0,path="$tmp/ro.sock" \
		-device vhost-user-blk-pci,chardev=c0,num-queues=1$pk
	serve_stop_tap ro "serve ro exits 0 on SIGTERM and removes its socket" "$tmp/ro.sock"
	res=FAIL
	[ "$(sha256sum <"$img")" = "$before" ] && res=OK
	tap $res "read-only image unchanged on the host"
else
	tap FAIL "vireo serve blk --readonly listens" "$(diag_tail 5 "$tmp/ro.log")"
fi
echo "1..$n"
