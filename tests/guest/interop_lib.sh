# shellcheck shell=bash
# What the QEMU guest tests (tests/interop/test_guest_*.sh) share, sourced by lib.sh: their
# set-up and clean-up, prerequisites (a missing one skips the whole script: "1..0 # SKIP
# reason", a failure under CI=true), booting the test guest with tests/guest/run.sh, and TAP
# lines from the guest's VIREO-CHECK results, from `vireo serve` logs and from image files.
# Needs: $repo (the work tree); tests/interop/tap_lib.sh sourced (tap, skip_all).

# guest_test_init NAME: set VIREO (default build/vireo), guest (the test guest's folder:
# VIREO_GUEST_DIR, default build/guest) and tmp (a new folder /tmp/vireo-NAME.XXXXXX).
guest_test_init() {
	VIREO=${VIREO:-$repo/build/vireo}
	guest=${VIREO_GUEST_DIR:-$repo/build/guest}
	tmp=$(mktemp -d "/tmp/vireo-$1.XXXXXX")
}

# guest_test_cleanup: for trap EXIT: stop what serve_start started and remove $tmp (kept, with
# the serve logs and guest consoles, after a failed check or with VIREO_KEEP_TMP=1).
guest_test_cleanup() {
	serve_stop_all
	if [ -n "${VIREO_KEEP_TMP:-}" ] || [ "${tap_failed:-0}" -gt 0 ]; then
		echo "# kept $tmp"
	else
		rm -rf "$tmp"
	fi
}

# guest_need_vireo: skip the script if $VIREO is not built.
guest_need_vireo() {
	[ -x "$VIREO" ] || skip_all "no $VIREO (build it first)"
}

# guest_need_qemu [DEVICE...]: skip the script without qemu-system-x86_64 or if it lacks one
# of the QEMU devices named (e.g. intel-iommu, vhost-user-blk-pci).
# shellcheck disable=SC2120 # the devices are optional
guest_need_qemu() {
	local d
	command -v qemu-system-x86_64 >/dev/null ||
		skip_all "qemu-system-x86_64 is not installed (Debian package qemu-system-x86)"
	for d in "$@"; do
		qemu_has_device "$d" || skip_all "this qemu-system-x86_64 has no $d device"
	done
}

# qemu_has_device NAME: 0 if qemu-system-x86_64 has the device NAME.
qemu_has_device() {
	qemu-system-x86_64 -device help 2>/dev/null | grep -q "\"$1\""
}

# guest_need_guest: build the test guest into $guest if it is missing or stale; skip the
# script if it cannot be built (not root, no network...).
guest_need_guest() {
	guest_ensure "$guest" >"$tmp/build.log" 2>&1 ||
		skip_all "cannot build the test guest: $(tail -n 1 "$tmp/build.log")"
}

# guest_need_vfio_guest PROG...: $guest becomes $tmp/guest: the test guest plus the vfio
# modules and PROGs (guest_vfio_dir); skip the script if they cannot be put together.
guest_need_vfio_guest() {
	guest_vfio_dir "$guest" "$tmp/guest" "$@" 2>"$tmp/vfio.log" ||
		skip_all "$(tail -n 1 "$tmp/vfio.log")"
	guest=$tmp/guest
}

# guest_boot CHECKS TIMEOUT [RUN.SH OPTIONS...] -- QEMU ARGS...: boot $guest with run.sh (a
# timeout of TIMEOUT seconds) to run the guest's CHECKS; its VIREO-CHECK lines go to
# $tmp/run.out, its diagnostics to $tmp/run.err, the console to $tmp/console.log (unless the
# options give --log). Prints the boot's "# NOTE:" lines; returns run.sh's status.
guest_boot() {
	local checks=$1 timeout_s=$2 rc
	shift 2
	VIREO_GUEST_DIR=$guest "$repo/tests/guest/run.sh" --checks "$checks" --timeout "$timeout_s" \
		--log "$tmp/console.log" "$@" >"$tmp/run.out" 2>"$tmp/run.err"
	rc=$?
	grep -h '^# NOTE: ' "$tmp/run.out"
	return $rc
}

# console_wait FILE PID ERE SECS: wait until the guest console FILE has a line matching ERE
# (0), or SECS pass or the process PID (the guest's run.sh) ends (1).
console_wait() {
	proc_wait_log "$1" "$2" "$3" "$4"
}

# guest_check_tap CHECK LABEL [DIAG...]: one TAP line for the last boot's result of CHECK:
# "LABEL [detail]" if it passed, "LABEL: reason" if it failed, "LABEL: no result" if it did
# not report (DIAG, default the end of run.sh's diagnostics). Sets guest_line to the
# VIREO-CHECK line (empty without one).
guest_check_tap() {
	local c=$1 label=$2
	shift 2
	[ $# -gt 0 ] || set -- "$(diag_tail 12 "$tmp/run.err")"
	guest_line=$(grep -m1 "^VIREO-CHECK $c " "$tmp/run.out")
	case "$guest_line" in
	"VIREO-CHECK $c PASS"*) tap OK "$label${guest_line#VIREO-CHECK "$c" PASS}" ;;
	"VIREO-CHECK $c FAIL"*) tap FAIL "$label: ${guest_line#VIREO-CHECK "$c" FAIL }" "$@" ;;
	*) tap FAIL "$label: no result" "$@" ;;
	esac
}

# guest_check_taps CHECKS [PREFIX]: guest_check_tap for each of the comma-separated CHECKS,
# labelled "PREFIX CHECK" (PREFIX default "guest").
guest_check_taps() {
	local c
	for c in $(echo "$1" | tr ',' ' '); do
		guest_check_tap "$c" "${2:-guest} $c"
	done
}

# diag_tail N FILE...: the last N lines of the FILEs (one after the other) on one line, '|'
# between them: a TAP diagnostic. Missing files are passed over.
diag_tail() {
	local n=$1
	shift
	cat "$@" 2>/dev/null | tail -n "$n" | tr '\n' '|'
}

# serve_log NAME: the log file of serve_start's server NAME.
serve_log() {
	local v=serve_log_$1
	echo "${!v}"
}

# serve_log_tap NAME LABEL ERE...: a TAP line that the log of server NAME has a line matching
# each extended regular expression ERE.
serve_log_tap() {
	local name=$1 label=$2 log re diag=()
	log=$(serve_log "$1")
	shift 2
	for re in "$@"; do
		grep -Eq "$re" "$log" || diag+=("no line matching '$re' in serve $name's log")
	done
	if [ ${#diag[@]} -eq 0 ]; then
		tap OK "$label"
	else
		tap FAIL "$label" "${diag[@]}" "$(diag_tail 5 "$log")"
	fi
}

# serve_stop_tap NAME LABEL [SOCKET]: SIGTERM the server NAME (serve_stop); a TAP line "LABEL
# (status S)" that it exited 0 and, if SOCKET is given, removed that socket file.
serve_stop_tap() {
	local v=serve_pid_$1 res=FAIL
	serve_stop "${!v}" && { [ -z "${3:-}" ] || [ ! -e "$3" ]; } && res=OK
	# shellcheck disable=SC2154 # serve_rc: set by serve_stop (lib.sh)
	tap $res "$2 (status $serve_rc)" "$(diag_tail 5 "$(serve_log "$1")")"
}

# guest_mark_tap IMAGE SERIAL LABEL: a TAP line that IMAGE holds the guest's blk_mark block
# (tests/guest/init: "vireo-mark SERIAL\n" zero-padded to 4 KiB at block 6000).
guest_mark_tap() {
	local res=FAIL
	printf 'vireo-mark %s\n' "$2" | dd conv=sync bs=4k status=none >"$tmp/mark"
	dd if="$1" bs=4k skip=6000 count=1 status=none | cmp -s - "$tmp/mark" && res=OK
	tap $res "$3"
}

# image_pattern_taps SEED IMAGE...: for each IMAGE (SEED, SEED+1, ... in turn), a TAP line
# that the host's `vireo blk --image` verifies pattern seed:SEED at [1M, 5M) and zeroes
# before: what a guest's `vireo blk --pci ... write` (tests/guest/init vfio_blk) wrote.
image_pattern_taps() {
	local seed=$1 img res
	shift
	for img in "$@"; do
		res=FAIL
		"$VIREO" blk --image "$img" verify --offset 1M --length 4M --pattern "seed:$seed" \
			>"$tmp/verify.out" 2>&1 &&
			cmp -s -n 1048576 "$img" /dev/zero && res=OK
		tap $res "host: $(basename "$img") holds pattern seed:$seed at [1M, 5M) and zeroes before" \
			"$(diag_tail 3 "$tmp/verify.out")"
		seed=$((seed + 1))
	done
}

# vfio_feature LINE BDF BIT: 1 or 0, whether the guest's vfio_blk note LINE says our driver
# negotiated feature BIT on BDF; nothing (status 1) if LINE does not name BDF.
vfio_feature() {
	local f
	f=$(echo "$1" | tr ' ' '\n' | sed -n "s/^$2=features:\(0x[0-9a-f]*\),.*/\1/p")
	[ -n "$f" ] && echo $(((f >> $3) & 1))
}

# vfio_split_packed_ok LINE: 0 if the vfio_blk note LINE says our driver ran a split ring on
# 00:04.0 and a packed one (VIRTIO_F_RING_PACKED, bit 34) on 00:05.0 (the device given
# packed=on), with VIRTIO_F_ACCESS_PLATFORM (bit 33) on both (iommu_platform=on).
vfio_split_packed_ok() {
	[ "$(vfio_feature "$1" 0000:00:04.0 34)" = 0 ] && [ "$(vfio_feature "$1" 0000:00:05.0 34)" = 1 ] &&
		[ "$(vfio_feature "$1" 0000:00:04.0 33)" = 1 ] && [ "$(vfio_feature "$1" 0000:00:05.0 33)" = 1 ]
}
