#!/bin/bash
# TAP: our vhost-user front-end (`vireo blk --socket`, `vireo bench blk --socket`) against
# qemu-storage-daemon's vhost-user-blk export, a back-end nobody here wrote (issue 3, item 6a),
# and against `vireo serve blk --queues 4` (item 6c). Everything started here is stopped by PID.
#   VIREO=build/vireo tests/interop/qsd_blk.sh
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
VIREO=${VIREO:-$repo/build/vireo}
tmp=$(mktemp -d /tmp/vireo-qsd.XXXXXX)
pids=()
stop_pid() { # stop_pid PID: SIGTERM, wait up to 10 s, then SIGKILL. Return: its exit status
	local pid=$1 _ rc
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	return $rc
}
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill -0 "$p" 2>/dev/null && stop_pid "$p"
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

n=0
tap() { # tap OK|FAIL NAME [DIAG...]
	local res=$1 name=$2
	shift 2
	n=$((n + 1))
	if [ "$res" = OK ]; then echo "ok $n - $name"; else echo "not ok $n - $name"; fi
	[ "$res" = OK ] || for d in "$@"; do echo "# $d"; done
}
run_tap() { # run_tap NAME CMD...: one TAP line for a command's exit status
	local name=$1
	shift
	if "$@" >"$tmp/cmd.out" 2>&1; then
		tap OK "$name"
	else
		tap FAIL "$name" "exit $?: $*" "$(tail -n 5 "$tmp/cmd.out" | tr '\n' '|')"
	fi
}
wait_socket() {
	local _
	for _ in $(seq 100); do
		[ -S "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
# queues_used OUT N: the bench table has N per-queue rows, each with I/Os done.
queues_used() {
	[ "$(awk '$1 ~ /^[0-9]+$/ && $2 > 0' "$1" | wc -l)" -eq "$2" ]
}

[ -x "$VIREO" ] || { echo "1..0 # SKIP no $VIREO"; exit 0; }
MIB=1048576
head -c $MIB /dev/zero | tr '\0' '\245' >"$tmp/a5"

# ---- 6a: qemu-storage-daemon, 4 queues, a raw image ----
img=$tmp/qsd.img
truncate -s 64M "$img"
if ! command -v qemu-storage-daemon >/dev/null; then
	n=$((n + 1))
	echo "ok $n # SKIP qemu-storage-daemon not installed (Debian package qemu-system-common)"
else
	qemu-storage-daemon \
		--blockdev driver=file,node-name=file0,filename="$img" \
		--export type=vhost-user-blk,id=exp0,node-name=file0,addr.type=unix,addr.path="$tmp/qsd.sock",writable=on,num-queues=4 \
		>"$tmp/qsd.log" 2>&1 &
	qsd_pid=$!
	pids+=("$qsd_pid")
	if wait_socket "$tmp/qsd.sock"; then
		s=$tmp/qsd.sock
		run_tap "qsd: write a 4 MiB seed pattern at 1 MiB (flushed)" \
			"$VIREO" blk --socket "$s" write --offset $MIB --length $((4 * MIB)) --pattern seed:7
		run_tap "qsd: read it back and verify" \
			"$VIREO" blk --socket "$s" verify --offset $MIB --length $((4 * MIB)) --pattern seed:7
		run_tap "qsd: an unaligned range (read-modify-write)" \
			"$VIREO" blk --socket "$s" write --offset $((6 * MIB + 100)) --length 1000 --pattern 0x5a
		run_tap "qsd: write 1 MiB of 0xa5 at 8 MiB" \
			"$VIREO" blk --socket "$s" write --offset $((8 * MIB)) --length $MIB --pattern 0xa5
		run_tap "qsd: a wrong pattern fails verify" \
			bash -c '! "$@"' _ "$VIREO" blk --socket "$s" verify --offset $MIB --length 4096 \
			--pattern seed:8
		run_tap "qsd: --ring split verifies" \
			"$VIREO" blk --socket "$s" --ring split verify --offset $MIB --length 4096 \
			--pattern seed:7
		# libvhost-user (qsd's back-end) has no packed ring: --ring packed must say so
		# and exit 1; should qsd ever offer it, the same bytes must come back.
		"$VIREO" blk --socket "$s" --ring packed verify --offset $MIB --length 4096 \
			--pattern seed:7 >"$tmp/cmd.out" 2>&1
		rc=$?
		res=FAIL
		{ [ $rc -eq 0 ] || { [ $rc -eq 1 ] &&
			grep -q "does not offer VIRTIO_F_RING_PACKED" "$tmp/cmd.out"; }; } && res=OK
		tap $res "qsd: --ring packed verifies or says the back-end lacks it" \
			"exit $rc: $(tr '\n' '|' <"$tmp/cmd.out")"
		# shellcheck disable=SC2016 # expanded by the inner shell
		run_tap "qsd: read --output gives the bytes written" \
			bash -c '"$1" blk --socket "$2" read --offset "$3" --length "$4" --output "$5" &&
				cmp "$5" "$6"' _ "$VIREO" "$s" $((8 * MIB)) $MIB "$tmp/out" "$tmp/a5"
		"$VIREO" bench blk --socket "$s" --rw randread --bs 4k --iodepth 8 --queues 4 \
			--seconds 1 >"$tmp/bench.out" 2>&1
		res=FAIL
		queues_used "$tmp/bench.out" 4 && res=OK
		tap $res "qsd: bench randread on 4 queues, every queue used" \
			"$(tr '\n' '|' <"$tmp/bench.out")"
		# Our driver prefers packed; qsd offers only split: negotiation falls back to it.
		res=FAIL
		grep -q '^vireo bench blk: .*, split ring' "$tmp/bench.out" && res=OK
		tap $res "qsd: with no --ring the driver falls back to the split ring qsd offers" \
			"$(head -n 1 "$tmp/bench.out")"
		stop_pid "$qsd_pid"
		# With qsd gone, plain tools read the image: it holds what went through the socket.
		run_tap "qsd: the image file holds the 0xa5 MiB" \
			cmp -i $((8 * MIB)):0 -n $MIB "$img" "$tmp/a5"
		run_tap "qsd: the image file holds the seed pattern (read by vireo blk --image)" \
			"$VIREO" blk --image "$img" verify --offset $MIB --length $((4 * MIB)) \
			--pattern seed:7
		res=FAIL
		[ "$(od -v -An -tx1 -j $((6 * MIB + 99)) -N 1002 "$img" | tr -d ' \n')" = \
			"00$(printf '5a%.0s' $(seq 1000))00" ] && res=OK
		tap $res "qsd: the unaligned range is exact to the byte (od)"
	else
		tap FAIL "qemu-storage-daemon listens" "$(tail -n 5 "$tmp/qsd.log" | tr '\n' '|')"
	fi
fi

# ---- qemu-storage-daemon's read-only export: our driver sees VIRTIO_BLK_F_RO ----
if command -v qemu-storage-daemon >/dev/null; then
	img=$tmp/qsd-ro.img
	truncate -s 16M "$img"
	qemu-storage-daemon \
		--blockdev driver=file,node-name=file0,filename="$img",read-only=on \
		--export type=vhost-user-blk,id=exp0,node-name=file0,addr.type=unix,addr.path="$tmp/qsd-ro.sock",writable=off \
		>"$tmp/qsd-ro.log" 2>&1 &
	qsd_pid=$!
	pids+=("$qsd_pid")
	if wait_socket "$tmp/qsd-ro.sock"; then
		run_tap "qsd read-only: read works" \
			"$VIREO" blk --socket "$tmp/qsd-ro.sock" verify --offset 0 --length 4096 --pattern 0
		run_tap "qsd read-only: write fails" \
			bash -c '! "$@"' _ "$VIREO" blk --socket "$tmp/qsd-ro.sock" write --offset 0 \
			--length 4096 --pattern 0xa5
	else
		tap FAIL "qemu-storage-daemon (read-only) listens" \
			"$(tail -n 5 "$tmp/qsd-ro.log" | tr '\n' '|')"
	fi
	stop_pid "$qsd_pid"
fi

# ---- 6c: vireo serve blk --queues 4 ----
img=$tmp/serve.img
truncate -s 64M "$img"
"$VIREO" serve blk --socket "$tmp/blk.sock" --image "$img" --queues 4 >"$tmp/blk.log" 2>&1 &
serve_pid=$!
pids+=("$serve_pid")
if wait_socket "$tmp/blk.sock"; then
	s=$tmp/blk.sock
	# Random writes first: they would overwrite the pattern written next.
	"$VIREO" bench blk --socket "$s" --rw randwrite --bs 4k --iodepth 8 --queues 4 \
		--seconds 1 >"$tmp/bench.out" 2>&1
	res=FAIL
	queues_used "$tmp/bench.out" 4 && res=OK
	tap $res "serve blk: bench randwrite on 4 queues, every queue used" \
		"$(tr '\n' '|' <"$tmp/bench.out")"
	run_tap "serve blk: write 2 MiB" \
		"$VIREO" blk --socket "$s" write --offset 0 --length $((2 * MIB)) --pattern seed:3
	run_tap "serve blk: verify" \
		"$VIREO" blk --socket "$s" verify --offset 0 --length $((2 * MIB)) --pattern seed:3
	"$VIREO" bench blk --socket "$s" --rw randread --bs 4k --iodepth 8 --queues 4 \
		--seconds 1 >"$tmp/bench.out" 2>&1
	res=FAIL
	queues_used "$tmp/bench.out" 4 && res=OK
	tap $res "serve blk: bench randread on 4 queues, every queue used" \
		"$(tr '\n' '|' <"$tmp/bench.out")"
	if stop_pid "$serve_pid"; then
		tap OK "serve blk served each front-end in turn and exits 0 on SIGTERM"
	else
		tap FAIL "serve blk exits 0 on SIGTERM" "$(tail -n 5 "$tmp/blk.log" | tr '\n' '|')"
	fi
	run_tap "serve blk: the image file holds the pattern" \
		"$VIREO" blk --image "$img" verify --offset 0 --length $((2 * MIB)) --pattern seed:3
else
	tap FAIL "vireo serve blk --queues 4 listens" "$(tail -n 5 "$tmp/blk.log" | tr '\n' '|')"
fi

# ---- a read-only export: the front-end's write fails, the image does not change ----
img=$tmp/ro.img
truncate -s 16M "$img"
before=$(sha256sum <"$img")
"$VIREO" serve blk --socket "$tmp/ro.sock" --image "$img" --readonly >"$tmp/ro.log" 2>&1 &
ro_pid=$!
pids+=("$ro_pid")
if wait_socket "$tmp/ro.sock"; then
	run_tap "serve blk --readonly: read works" \
		"$VIREO" blk --socket "$tmp/ro.sock" verify --offset 0 --length 4096 --pattern 0
	run_tap "serve blk --readonly: write fails" \
		bash -c '! "$@"' _ "$VIREO" blk --socket "$tmp/ro.sock" write --offset 0 \
		--length 4096 --pattern 0xa5
	stop_pid "$ro_pid"
	res=FAIL
	[ "$(sha256sum <"$img")" = "$before" ] && res=OK
	tap $res "serve blk --readonly: image unchanged"
else
	tap FAIL "vireo serve blk --readonly listens" "$(tail -n 5 "$tmp/ro.log" | tr '\n' '|')"
fi

# ---- usage errors (exit 2, one line) ----
usage_tap() { # usage_tap NAME VIREO-ARGS...
	local name=$1 rc res=FAIL
	shift
	"$VIREO" "$@" >"$tmp/cmd.out" 2>&1
	rc=$?
	[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/cmd.out")" -eq 1 ] && res=OK
	tap $res "usage error, exit 2: $name" "exit $rc: $(tr '\n' '|' <"$tmp/cmd.out")"
}
usage_tap "blk --socket with --image" blk --socket "$tmp/x.sock" --image "$tmp/x.img" read \
	--length 512
usage_tap "bench blk --socket with --image" bench blk --socket "$tmp/x.sock" --image "$tmp/x.img" \
	--rw randread --bs 4k --iodepth 1
usage_tap "blk --socket with --readonly" blk --socket "$tmp/x.sock" --readonly read --length 512

# ---- no back-end: a clean error, exit 1 ----
"$VIREO" blk --socket "$tmp/nobody.sock" read --offset 0 --length 512 >"$tmp/cmd.out" 2>&1
rc=$?
res=FAIL
[ $rc -eq 1 ] && grep -q "cannot connect" "$tmp/cmd.out" && res=OK
tap $res "no back-end: one error line, exit 1" "exit $rc: $(tr '\n' '|' <"$tmp/cmd.out")"
echo "1..$n"
