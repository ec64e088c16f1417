#!/bin/bash
# TAP: our own front-end survives a back-end restart (issue 10 part 2). `vireo blk --socket
# --reconnect` writes 1 GiB while `vireo serve blk` is killed (SIGKILL, then SIGTERM) and
# restarted: the write completes and the data verifies through a new connection; split and
# packed. Then `vireo bench blk --socket --reconnect` (2 queues, iodepth 32) runs across a
# SIGKILL and restart, exits 0 with no I/O error, and the new back-end resubmitted requests
# from the inflight region. The image is on an ext4 loop mount with -o sync, so the back-end
# holds requests long enough for a kill to find some in flight.
#   VIREO=build/vireo bash tests/cli/test_blk_reconnect.sh
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
vireo=${VIREO:-$repo/build/vireo}
# shellcheck source=../interop/tap_lib.sh
. "$repo/tests/interop/tap_lib.sh"
tmp=$(mktemp -d /tmp/vireo-reconnect.XXXXXX)
pids=() mnt=''
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	[ -n "$mnt" ] && umount "$mnt"
	rm -rf "$tmp"
}
trap cleanup EXIT

[ -x "$vireo" ] || skip_all "no $vireo (build it first)"
truncate -s 1400M "$tmp/fs.img"
mkdir "$tmp/mnt"
if mkfs.ext4 -q -F "$tmp/fs.img" 2>/dev/null &&
	mount -o loop,sync "$tmp/fs.img" "$tmp/mnt" 2>/dev/null; then
	mnt=$tmp/mnt
else
	skip_all "cannot loop-mount a sync filesystem (root and the loop driver needed)"
fi
echo "1..8"
export VIREO_LOG=info
img=$mnt/img sock=$tmp/s k=0

# serve: a new back-end on the same socket (a killed one's socket file is replaced).
serve() {
	local i
	k=$((k + 1))
	"$vireo" serve blk --socket "$sock" --image "$img" --queues 2 >"$tmp/serve$k.log" 2>&1 &
	spid=$!
	pids+=("$spid")
	for i in $(seq 100); do
		grep -q listening "$tmp/serve$k.log" && return 0
		sleep 0.1
	done
	return 1
}

# restart SIG: SIG the running back-end, a new one 1 s later.
restart() {
	kill "-$1" "$spid"
	wait "$spid" 2>/dev/null
	sleep 1
	serve
}

for ring in split packed; do
	first=$((k + 1))
	# A new file each time: writes that allocate blocks are the slow ones on -o sync.
	rm -f "$img"
	truncate -s 1G "$img"
	serve || fail_rest 9 "no back-end" "$(cat "$tmp/serve$k.log")"
	"$vireo" blk --socket "$sock" --ring "$ring" --reconnect 10000 write --length 1G \
		--pattern "seed:$k" >"$tmp/write.log" 2>&1 &
	wpid=$!
	pids+=("$wpid")
	seed=$k
	# The kills follow the write's progress, not the clock: 1 GiB takes seconds even on a
	# quiet machine (-o sync), the first kill comes 0.5 s in, the second once it reconnected.
	sleep 0.5
	restart KILL
	for i in $(seq 300); do
		grep -q reconnected "$tmp/write.log" && break
		sleep 0.1
	done
	restart TERM
	wait "$wpid"
	rc=$?
	res=FAIL
	[ "$rc" = 0 ] && grep -q reconnected "$tmp/write.log" && res=OK
	tap $res "$ring: vireo blk --reconnect finishes a write across a KILL and a TERM restart" \
		"exit $rc" "$(tail -n 4 "$tmp/write.log" | tr '\n' '|')"
	res=FAIL
	"$vireo" blk --socket "$sock" verify --length 1G --pattern "seed:$seed" \
		>"$tmp/verify.log" 2>&1 && res=OK
	tap $res "$ring: the data verifies through a new connection" "$(tail -n 2 "$tmp/verify.log")"
	# One request at a time: a kill may or may not find it in the back-end (bench below must).
	resub=$(for i in $(seq "$first" "$k"); do cat "$tmp/serve$i.log"; done |
		grep -c 'inflight region: [1-9][0-9]* requests to resubmit')
	echo "# $ring: $resub queue recoveries resubmitted requests"
	res=FAIL
	grep -qi 'needs.reset' "$tmp"/serve*.log || res=OK
	tap $res "$ring: no back-end set NEEDS_RESET since back-end $first"
	kill -TERM "$spid"
	wait "$spid" 2>/dev/null
done

serve
"$vireo" bench blk --socket "$sock" --queues 2 --rw randwrite --bs 4k --iodepth 32 \
	--seconds 5 --reconnect 10000 --json >"$tmp/bench.out" 2>"$tmp/bench.err" &
bpid=$!
pids+=("$bpid")
sleep 2
restart KILL
wait "$bpid"
rc=$?
res=FAIL
[ "$rc" = 0 ] && grep -q reconnected "$tmp/bench.err" && grep -q '"errors": *0' "$tmp/bench.out" &&
	res=OK
tap $res "vireo bench blk --reconnect (2 queues) runs across a KILL restart without an I/O error" \
	"exit $rc" "$(tail -n 3 "$tmp/bench.err" | tr '\n' '|')" "$(head -c 300 "$tmp/bench.out")"
resub=$(cat "$tmp/serve$k.log" | grep -c 'inflight region: [1-9][0-9]* requests to resubmit')
res=FAIL
[ "$resub" -ge 1 ] && res=OK
tap $res "the restarted back-end resubmitted the bench's in-flight requests ($resub queues)" \
	"$(grep -h 'inflight' "$tmp/serve$k.log" | tr '\n' '|')"
kill -TERM "$spid"
wait "$spid" 2>/dev/null
