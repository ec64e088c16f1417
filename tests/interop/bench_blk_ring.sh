#!/bin/bash
# Benchmark (not a test): the ring formats over vhost-user-blk. One `vireo serve blk` (an image
# on /dev/shm) driven by `vireo bench blk --socket` with a split ring and with a packed ring,
# rounds interleaved (split, packed, split, ...): 4k randread, iodepth 32 (override with RW,
# BS, IODEPTH), one queue. One line per run, then the medians and packed/split.
#   VIREO=build/vireo tests/interop/bench_blk_ring.sh [ROUNDS] [SECONDS]
# Environment: IMAGE_MB (default 256), RW (randread), BS (4k), IODEPTH (32).
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
VIREO=${VIREO:-$repo/build/vireo}
ROUNDS=${1:-3}
SECS=${2:-3}
[ -x "$VIREO" ] || { echo "bench_blk_ring: no $VIREO" >&2; exit 2; }
tmp=$(mktemp -d /dev/shm/vireo-bench-blkring.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
truncate -s "${IMAGE_MB:-256}M" "$tmp/disk.img"
"$VIREO" serve blk --socket "$tmp/sock" --image "$tmp/disk.img" >"$tmp/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
	[ -S "$tmp/sock" ] && break
	sleep 0.1
done
[ -S "$tmp/sock" ] || { echo "bench_blk_ring: serve blk did not start" >&2; cat "$tmp/serve.log" >&2; exit 1; }

median() {
	sort -g "$1" | awk '{ v[NR] = $1 } END {
		if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2];
		else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "# ${RW:-randread} ${BS:-4k} iodepth ${IODEPTH:-32}, 1 queue, ${SECS} s a run, $ROUNDS rounds;" \
	"$(uptime | sed 's/.*load/load/')"
printf '%-7s %5s %10s\n' ring round IOPS
for i in $(seq "$ROUNDS"); do
	for ring in split packed; do
		iops=$("$VIREO" bench blk --socket "$tmp/sock" --ring "$ring" --rw "${RW:-randread}" \
			--bs "${BS:-4k}" --iodepth "${IODEPTH:-32}" --seconds "$SECS" --json |
			sed -n 's/.*"iops":\([0-9.]*\).*/\1/p')
		printf '%-7s %5s %10s\n' "$ring" "$i" "${iops:-failed}"
		[ -n "$iops" ] && echo "$iops" >>"$tmp/$ring"
	done
done
s=$(median "$tmp/split")
p=$(median "$tmp/packed")
printf '%-7s %5s %10s\n' split median "$s" packed median "$p"
awk -v s="$s" -v p="$p" 'BEGIN { printf "packed/split %.2fx\n", (s > 0 ? p / s : 0) }'
echo "# $(uptime | sed 's/.*load/load/') at the end"
