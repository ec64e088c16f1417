#!/bin/bash
# Benchmark (not a test): `vireo bench ring` (split, packed, packed + IN_ORDER) against Linux's
# tools/virtio/ringtest (`ring`, MST's packed-ring prototype, and `virtio_ring_0_9`, the split
# ring), rounds interleaved in one run, ring size 256, driver/guest on CPU 0 and device/host on
# CPU 1. Mode poll: ringtest's default against `vireo bench ring --poll`; notify: ringtest
# --sleep against `vireo bench ring --notify`. ringtest's poll mode makes no notification
# decision on either side (its main.c calls kick_available() and call_used(), which read the
# other side's suppression after a full fence, only with --sleep; add_inbuf() publishes each
# buffer with a release store), while `vireo bench ring --poll` still decides per batch
# (kick_prepare: publish, fence, read avail_event / device_event) and per flush (need_notify).
# So poll mode also runs the three vireo formats with `--notify-checks off` (publish and flush
# alone: the like-for-like figure), as rows "vireo ..., no notify checks". ringtest is built
# once under RINGTEST_DIR from Debian's linux-source-6.1 (apt-get install linux-source-6.1).
#   VIREO=build/vireo tests/interop/bench_ringtest.sh [--rounds 3] [--batch 32]
#        [--mode poll|notify] [--cycles 10000000] [--seconds 2] [--rt]
# --rt runs every program under `chrt -f 1` (SCHED_FIFO, root): on a machine busy with other
# work a polling pair otherwise measures the scheduler; it takes both CPUs from everything
# else for the run (the kernel's RT throttling still leaves 5 %), so keep such runs short.
# Prints Mops/s per round (ringtest: --cycles ops over its wall time; vireo: ops_per_sec), the
# medians and each vireo format's median over each ringtest variant's median, and the load
# average before and after (the figures mean little on a loaded machine).
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
VIREO=${VIREO:-$repo/build/vireo}
rounds=3 batch=32 mode=poll cycles=10000000 secs=2 rt=()
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) rounds=$2; shift 2 ;;
	--batch) batch=$2; shift 2 ;;
	--mode) mode=$2; shift 2 ;;
	--cycles) cycles=$2; shift 2 ;;
	--seconds) secs=$2; shift 2 ;;
	--rt) rt=(chrt -f 1); shift ;;
	-h | --help) sed -n '2,21s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "bench_ringtest: unknown option $1" >&2; exit 2 ;;
	esac
done
case $mode in
poll) rt_mode=() vireo_mode=--poll ;;
notify) rt_mode=(--sleep) vireo_mode=--notify ;;
*) echo "bench_ringtest: --mode poll or notify" >&2; exit 2 ;;
esac
dir=${RINGTEST_DIR:-/tmp/vireo-peers/ringtest}
rt_dir=$dir/linux-source-6.1/tools/virtio/ringtest
if [ ! -x "$rt_dir/ring" ] || [ ! -x "$rt_dir/virtio_ring_0_9" ]; then
	src=/usr/src/linux-source-6.1.tar.xz
	if [ ! -f "$src" ]; then
		echo "bench_ringtest: no $src (apt-get install linux-source-6.1)" >&2
		exit 1
	fi
	mkdir -p "$dir"
	tar -C "$dir" -xJf "$src" linux-source-6.1/tools/virtio/ringtest \
		linux-source-6.1/include/linux/ptr_ring.h || exit 1
	make -s -C "$rt_dir" >/dev/null || exit 1
fi
if [ ! -x "$VIREO" ]; then
	echo "bench_ringtest: no $VIREO" >&2
	exit 1
fi
tmp=$(mktemp -d /tmp/vireo-bench-ringtest.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# ringtest VARIANT: one run, Mops/s on stdout.
ringtest() {
	local t0 t1
	t0=$(date +%s%N)
	"${rt[@]}" "$rt_dir/$1" --host-affinity 1 --guest-affinity 0 --batch "$batch" --ring-size 256 \
		--run-cycles "$cycles" "${rt_mode[@]}" >/dev/null || return 1
	t1=$(date +%s%N)
	awk -v c="$cycles" -v ns=$((t1 - t0)) 'BEGIN { printf "%.2f\n", c / (ns / 1e9) / 1e6 }'
}

# vireo FORMAT [ARGS...]: one run of `vireo bench ring`, Mops/s on stdout.
vireo() {
	"${rt[@]}" "$VIREO" bench ring "$vireo_mode" --size 256 --batch "$batch" --seconds "$secs" --json \
		--format "$@" | sed -n 's/.*"ops_per_sec":\([0-9.]*\).*/\1/p' |
		awk '{ printf "%.2f\n", $1 / 1e6 }'
}

median() {
	sort -g "$1" | awk '{ v[NR] = $1 } END {
		if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
		else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

names=("ringtest ring" "ringtest virtio_ring_0_9" "vireo split" "vireo packed"
	"vireo packed+in_order" "vireo split, no notify checks" "vireo packed, no notify checks"
	"vireo packed+in_order, no notify checks")
# The vireo rows: --notify-checks off needs --poll (a sleeping side must be notified).
vireo_rows=(2 3 4)
[ "$mode" = poll ] && vireo_rows+=(5 6 7)
echo "# ring 256, batch $batch, mode $mode ($vireo_mode vs ringtest ${rt_mode[*]:-poll})," \
	"$rounds rounds${rt:+, under chrt -f 1}; $(uptime | sed 's/.*load/load/')"
printf '%-40s %6s %8s\n' who round Mops/s
for i in $(seq "$rounds"); do
	for k in 0 1 "${vireo_rows[@]}"; do
		case $k in
		0) v=$(ringtest ring) ;;
		1) v=$(ringtest virtio_ring_0_9) ;;
		2) v=$(vireo split) ;;
		3) v=$(vireo packed) ;;
		4) v=$(vireo packed --in-order on) ;;
		5) v=$(vireo split --notify-checks off) ;;
		6) v=$(vireo packed --notify-checks off) ;;
		7) v=$(vireo packed --in-order on --notify-checks off) ;;
		esac
		printf '%-40s %6s %8s\n' "${names[$k]}" "$i" "${v:-failed}"
		[ -n "$v" ] && echo "$v" >>"$tmp/$k"
	done
done
for k in 0 1 "${vireo_rows[@]}"; do
	m[k]=$(median "$tmp/$k")
	printf '%-40s %6s %8s\n' "${names[$k]}" median "${m[k]}"
done
for k in "${vireo_rows[@]}"; do
	awk -v n="${names[$k]}" -v v="${m[k]}" -v r="${m[0]}" -v s="${m[1]}" 'BEGIN {
		printf "%-40s %.2fx ring, %.2fx virtio_ring_0_9\n", n,
			(r > 0 ? v / r : 0), (s > 0 ? v / s : 0) }'
done
echo "# $(uptime | sed 's/.*load/load/') at the end"
