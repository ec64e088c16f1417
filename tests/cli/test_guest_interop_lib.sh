#!/bin/bash
# TAP: the helpers of tests/guest/interop_lib.sh, which the QEMU guest tests
# (tests/interop/test_guest_*.sh) build their TAP lines with, report a failure whenever what
# they look at is wrong: a guest check that failed or did not report, a line missing from a
# serve log, a server that does not exit 0 or leaves its socket, an image without the guest's
# mark or pattern, a vfio_blk note with the wrong rings; and a missing QEMU device skips the
# script. No guest is booted: the helpers read files made here, as a boot would leave them.
#   VIREO=build/vireo tests/cli/test_guest_interop_lib.sh
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../interop/tap_lib.sh
. "$repo/tests/interop/tap_lib.sh"
# shellcheck source=../guest/lib.sh
. "$repo/tests/guest/lib.sh"
guest_test_init guest-interop-lib
trap guest_test_cleanup EXIT
guest_need_vireo
echo "1..26"

# helper_says WANT LABEL COMMAND...: COMMAND (a helper, run with a TAP counter of its own and
# its output aside) prints one TAP line, and it starts with WANT ("ok" or "not ok"). In this
# shell, not a subshell: serve_stop_tap must be able to wait for its server.
helper_says() {
	local want=$1 label=$2 out keep_n=$n keep_failed=$tap_failed
	shift 2
	n=0
	"$@" >"$tmp/said" 2>&1
	n=$keep_n tap_failed=$keep_failed
	out=$(cat "$tmp/said")
	case "$out" in
	"$want 1 "*) tap OK "$label" ;;
	*) tap FAIL "$label" "want '$want 1 ...', got: $(echo "$out" | tr '\n' '|')" ;;
	esac
}

# stand_in NAME STATUS: a stand-in server NAME (serve_pid_NAME, serve_log_NAME) that exits
# STATUS on SIGTERM. Returns once its trap is set: a SIGTERM before that would reach the
# forked shell, which still has this script's EXIT trap.
stand_in() {
	local i
	bash -c "trap 'exit $2' TERM; echo ready >'$tmp/$1.log'; while :; do sleep 0.1; done" &
	printf -v "serve_pid_$1" '%s' $!
	printf -v "serve_log_$1" '%s' "$tmp/$1.log"
	serve_pids+=($!)
	for i in $(seq 100); do
		[ -s "$tmp/$1.log" ] && return 0
		sleep 0.1
	done
	return 1
}

# guest_check_tap / guest_check_taps on what run.sh left of a boot.
printf '%s\n' 'VIREO-CHECK blk_rw PASS 4+1 extents' 'VIREO-CHECK rng FAIL no /dev/hwrng' \
	>"$tmp/run.out"
echo "run.sh: guest timed out" >"$tmp/run.err"
helper_says ok "guest_check_tap: a passed check is ok" guest_check_tap blk_rw "guest blk_rw"
helper_says "not ok" "guest_check_tap: a failed check is not ok" guest_check_tap rng "guest rng"
same "guest_check_tap: guest_line is the check's line" "VIREO-CHECK rng FAIL no /dev/hwrng" \
	"$guest_line"
helper_says "not ok" "guest_check_tap: a check without a result is not ok" \
	guest_check_tap blk_fio "guest blk_fio"
out=$(n=0 && guest_check_taps blk_rw,rng,blk_fio)
same "guest_check_taps: one line per check, only the passed one ok" "ok|not|not|" \
	"$(echo "$out" | grep -E '^(not )?ok' | cut -d' ' -f1 | tr '\n' '|')"
res=FAIL
echo "$out" | grep -q '^# run.sh: guest timed out' && res=OK
tap $res "guest_check_tap: no result shows run.sh's diagnostics" "$out"

# serve_log_tap, serve_stop_tap: a real server (serve rng) and a stand-in that exits 3.
if serve_start rng "$tmp/rng.log" rng --socket "$tmp/rng.sock"; then
	tap OK "vireo serve rng listens"
else
	tap FAIL "vireo serve rng listens" "$(diag_tail 5 "$tmp/rng.log")"
fi
echo "queue 0: packed ring" >>"$tmp/rng.log"
helper_says ok "serve_log_tap: a line that is in the log is ok" \
	serve_log_tap rng "packed" 'queue 0: packed ring'
helper_says "not ok" "serve_log_tap: one pattern of two missing is not ok" \
	serve_log_tap rng "packed, access platform" 'queue 0: packed ring' 'ACCESS_PLATFORM negotiated'
helper_says ok "serve_stop_tap: serve rng exits 0 on SIGTERM and removes its socket" \
	serve_stop_tap rng "stop rng" "$tmp/rng.sock"
stand_in bad 3
helper_says "not ok" "serve_stop_tap: a server exiting 3 on SIGTERM is not ok" serve_stop_tap bad "bad"
stand_in sock 0
: >"$tmp/left.sock"
helper_says "not ok" "serve_stop_tap: a server exiting 0 but leaving its socket is not ok" \
	serve_stop_tap sock "sock" "$tmp/left.sock"
stand_in clean 0
helper_says ok "serve_stop_tap: a server exiting 0 (no socket asked for) is ok" \
	serve_stop_tap clean "clean"

# guest_mark_tap: the mark at block 6000, or not.
truncate -s 32M "$tmp/mark.img"
helper_says "not ok" "guest_mark_tap: an image without the mark is not ok" \
	guest_mark_tap "$tmp/mark.img" vireo-x "mark"
printf 'vireo-mark vireo-x\n' | dd of="$tmp/mark.img" bs=4k seek=6000 conv=sync,notrunc status=none
helper_says ok "guest_mark_tap: the guest's mark is ok" guest_mark_tap "$tmp/mark.img" vireo-x "mark"
helper_says "not ok" "guest_mark_tap: another serial's mark is not ok" \
	guest_mark_tap "$tmp/mark.img" vireo-y "mark"

# image_pattern_taps: what `vireo blk --pci ... write` leaves, or zeroes, or a dirty start.
truncate -s 16M "$tmp/a.img" "$tmp/b.img"
"$VIREO" blk --image "$tmp/a.img" write --offset 1M --length 4M --pattern seed:11 >/dev/null 2>&1
helper_says ok "image_pattern_taps: the pattern written at [1M, 5M) is ok" \
	image_pattern_taps 11 "$tmp/a.img"
helper_says "not ok" "image_pattern_taps: the next seed is not that pattern" \
	image_pattern_taps 12 "$tmp/a.img"
helper_says "not ok" "image_pattern_taps: an image of zeroes is not ok" \
	image_pattern_taps 11 "$tmp/b.img"
printf x | dd of="$tmp/a.img" bs=1 seek=4096 conv=notrunc status=none
helper_says "not ok" "image_pattern_taps: a byte written before 1M is not ok" \
	image_pattern_taps 11 "$tmp/a.img"

# vfio_split_packed_ok: bits 34 (RING_PACKED) and 33 (ACCESS_PLATFORM) of each function.
# As the guest reports them (QEMU 7.2 virtio-blk-pci, iommu_platform=on, packed=on on 05.0).
good="VIREO-CHECK vfio_blk PASS 0000:00:04.0=features:0x10330007244,vectors:3 0000:00:05.0=features:0x10730007244,vectors:3"
check "vfio_split_packed_ok: split on 04.0, packed on 05.0, ACCESS_PLATFORM on both" \
	vfio_split_packed_ok "$good"
res=FAIL
vfio_split_packed_ok "${good/0x10730007244/0x10330007244}" || res=OK
tap $res "vfio_split_packed_ok: 05.0 without RING_PACKED fails"
res=FAIL
vfio_split_packed_ok "${good/0x10330007244/0x10130007244}" || res=OK
tap $res "vfio_split_packed_ok: 04.0 without ACCESS_PLATFORM fails"

# console_wait: a line that is there, or a guest that is gone.
echo "VIREO-PROGRESS blk_restart running" >"$tmp/console.log"
sleep 30 &
alive=$!
check "console_wait: a console line that is there is found" \
	console_wait "$tmp/console.log" "$alive" 'blk_restart running' 5
kill "$alive"
wait "$alive" 2>/dev/null
start=$SECONDS
res=FAIL
console_wait "$tmp/console.log" "$alive" 'never printed' 20 || res=OK
[ $((SECONDS - start)) -lt 10 ] || res=FAIL
tap $res "console_wait: fails at once when the guest is gone ($((SECONDS - start)) s)"

# guest_need_qemu: a device this QEMU does not have skips the whole script.
out=$(guest_need_qemu no-such-device-vireo 2>&1)
res=FAIL
case "$out" in "1..0 # SKIP "*) res=OK ;; esac
tap $res "guest_need_qemu: a missing QEMU device (or QEMU) skips the script" "$out"
