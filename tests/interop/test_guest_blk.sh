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
VIREO=${VIREO:-$repo/build/vireo}
guest=${VIREO_GUEST_DIR:-$repo/build/guest}
tmp=$(mktemp -d /tmp/vireo-guest-blk.XXXXXX)
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
"$VIREO" serve --help >/dev/null 2>&1 || skip_all "this vireo has no 'serve' command"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 is not installed (Debian package qemu-system-x86)"
guest_ensure "$guest" >"$tmp/build.log" 2>&1 ||
	skip_all "cannot build the test guest: $(tail -n 1 "$tmp/build.log")"

# stop_tap NAME: SIGTERM the server NAME: it must exit 0 and remove its socket.
stop_tap() {
	local pid_var=serve_pid_$1 res=FAIL
	serve_stop "${!pid_var}" && [ ! -e "$tmp/$1.sock" ] && res=OK
	tap $res "serve $1 exits 0 on SIGTERM and removes its socket (status $serve_rc)" \
		"$(tail -n 5 "$tmp/$1.log" | tr '\n' '|')"
}

# boot_tap CHECKS [RUN.SH ARGS...] -- QEMU ARGS: one boot, one TAP line per check.
boot_tap() {
	local checks=$1 c line
	shift
	VIREO_GUEST_DIR=$guest "$repo/tests/guest/run.sh" --checks "$checks" --timeout 120 \
		--log "$tmp/console.log" "$@" >"$tmp/run.out" 2>"$tmp/run.err"
	grep -h '^# NOTE: ' "$tmp/run.out"
	for c in $(echo "$checks" | tr ',' ' '); do
		line=$(grep -m1 "^VIREO-CHECK $c " "$tmp/run.out")
		case "$line" in
		"VIREO-CHECK $c PASS"*) tap OK "guest $c${line#VIREO-CHECK "$c" PASS}" ;;
		"VIREO-CHECK $c FAIL"*) tap FAIL "guest $c: ${line#VIREO-CHECK "$c" FAIL }" ;;
		*) tap FAIL "guest $c: no result" "$(tail -n 12 "$tmp/run.err" | tr '\n' '|')" ;;
		esac
	done
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
			"$(tail -n 5 "$tmp/blk.log" "$tmp/rng.log" | tr '\n' '|')"
	fi
	stop_tap blk
	stop_tap rng
	if [ -n "$pk" ]; then
		for s in blk rng; do
			res=FAIL
			# The firmware (SeaBIOS) drives blk with a split ring first; Linux then packed.
			grep -q 'queue 0: packed ring' "$tmp/$s.log" && res=OK
			tap $res "serve $s ran packed rings with the guest" \
				"$(grep -E 'activated|: queue 0: ' "$tmp/$s.log" | tail -n 4 | tr '\n' '|')"
		done
	fi
	# What the guest wrote through Vireo is in the image file.
	res=FAIL
	printf 'vireo-mark vireo-interop1\n' | dd conv=sync bs=4k status=none >"$tmp/mark"
	dd if="$img" bs=4k skip=6000 count=1 status=none | cmp -s - "$tmp/mark" && res=OK
	tap $res "the guest's mark block is in the image file after serve blk exits"
else
	tap FAIL "vireo serve blk and serve rng listen" \
		"$(cat "$tmp/blk.log" "$tmp/rng.log" 2>/dev/null | tail -n 5 | tr '\n' '|')"
fi

# Boot 2: a read-only export; the image must come out unchanged.
img=$tmp/ro.img
truncate -s 16M "$img"
printf 'vireo read-only image' | dd of="$img" conv=notrunc status=none
before=$(sha256sum <"$img")
if serve_start ro "$tmp/ro.log" blk --socket "$tmp/ro.sock" --image "$img" --readonly; then
	boot_tap blk_ro$rp --watch "$serve_pid_ro" -- -chardev socket,id=c0,path="$tmp/ro.sock" \
		-device vhost-user-blk-pci,chardev=c0,num-queues=1$pk
	stop_tap ro
	res=FAIL
	[ "$(sha256sum <"$img")" = "$before" ] && res=OK
	tap $res "read-only image unchanged on the host"
else
	tap FAIL "vireo serve blk --readonly listens" "$(tail -n 5 "$tmp/ro.log" | tr '\n' '|')"
fi
echo "1..$n"
