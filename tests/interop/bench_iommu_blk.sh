#!/bin/bash
# Issue 11 "Performance": what the IOTLB costs per I/O. One `vireo serve blk` (image on
# /dev/shm), driven by `vireo bench blk --socket` directly and as a vIOMMU (--iommu) with a
# warm IOTLB (the whole arena pre-loaded, one entry), with 4 KiB entries (a few dozen
# misses, then warm), and with 4 KiB entries invalidated every 16 completion wake-ups
# (miss-heavy); 4k randread at iodepth 1 and 32, one queue, modes interleaved in each round.
# Prints one line per run, then per (iodepth, mode) the medians of: IOPS and its ratio to
# direct; CPU per I/O of the back-end (utime+stime of serve, /proc/PID/stat) and of the
# front-end (bench's user+sys time), the figure a shared machine disturbs least; the
# back-end's IOTLB hit rate and misses per I/O (serve's counters, SIGUSR1, before and after
# each run).
#   VIREO=build/vireo tests/interop/bench_iommu_blk.sh [ROUNDS] [SECONDS]
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
VIREO=${VIREO:-$repo/build/vireo}
ROUNDS=${1:-5}
SECS=${2:-3}
shm=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && shm=/dev/shm
tmp=$(mktemp -d "$shm/vireo-iommu-bench.XXXXXX")
spid=''
cleanup() {
	[ -n "$spid" ] && kill -TERM "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
[ -x "$VIREO" ] || { echo "no $VIREO" >&2; exit 2; }

truncate -s 256M "$tmp/img"
"$VIREO" serve blk --socket "$tmp/s" --image "$tmp/img" >"$tmp/serve.log" 2>&1 &
spid=$!
for _ in $(seq 100); do [ -S "$tmp/s" ] && break; sleep 0.1; done

# The IOTLB counters serve prints on SIGUSR1: "HITS MISSES" (0 0 before any vIOMMU run).
iotlb() {
	local n
	n=$(grep -c 'counters$' "$tmp/serve.log")
	kill -USR1 "$spid"
	for _ in $(seq 100); do
		# The iotlb line comes last in a print: wait for it (or for the print without one).
		[ "$(grep -c 'counters$' "$tmp/serve.log")" -gt "$n" ] && sleep 0.05 && break
		sleep 0.02
	done
	if grep -q 'iotlb:' "$tmp/serve.log"; then
		grep 'iotlb:' "$tmp/serve.log" | tail -1 |
			sed -n 's/.*hits \([0-9]*\), misses \([0-9]*\),.*/\1 \2/p'
	else
		echo "0 0"
	fi
}

declare -A opts=(
	[direct]=""
	[warm]="--iommu --iotlb-preload"
	[page4k]="--iommu --iotlb-page 4k"
	[page4k-inval]="--iommu --iotlb-page 4k --iotlb-invalidate 16"
)
modes=(direct warm page4k page4k-inval)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # utime + stime of PID
hz=$(getconf CLK_TCK)
TIMEFORMAT='%U %S'
printf '%-5s %-3s %-13s %10s %8s %8s %10s %12s\n' round qd mode IOPS be_us/IO fe_us/IO \
	hit_rate misses/IO
for r in $(seq "$ROUNDS"); do
	for qd in 1 32; do
		for m in "${modes[@]}"; do
			read -r h0 m0 < <(iotlb)
			c0=$(cpu_ticks "$spid")
			# shellcheck disable=SC2086 # the mode's options are words
			{ time "$VIREO" bench blk --socket "$tmp/s" ${opts[$m]} --rw randread --bs 4k \
				--iodepth "$qd" --seconds "$SECS" --json >"$tmp/out"; } 2>"$tmp/time"
			c1=$(cpu_ticks "$spid")
			out=$(cat "$tmp/out")
			read -r h1 m1 < <(iotlb)
			iops=$(sed -n 's/.*"iops":\([0-9.]*\).*/\1/p' <<<"$out")
			ios=$(sed -n 's/.*"ios":\([0-9]*\).*/\1/p' <<<"$out")
			hits=$((h1 - h0)) miss=$((m1 - m0))
			rate=$(awk -v h="$hits" -v m="$miss" 'BEGIN { if (h + m) printf "%.5f", h / (h + m); else print "-" }')
			mpi=$(awk -v m="$miss" -v n="$ios" 'BEGIN { printf "%.5f", n ? m / n : 0 }')
			be=$(awk -v t=$((c1 - c0)) -v hz="$hz" -v n="$ios" \
				'BEGIN { printf "%.2f", n ? t / hz * 1e6 / n : 0 }')
			fe=$(awk -v n="$ios" '{ printf "%.2f", n ? ($1 + $2) * 1e6 / n : 0 }' "$tmp/time")
			printf '%-5s %-3s %-13s %10.0f %8s %8s %10s %12s\n' "$r" "$qd" "$m" "$iops" "$be" \
				"$fe" "$rate" "$mpi" | tee -a "$tmp/runs"
		done
	done
done

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
echo "medians over $ROUNDS rounds, ${SECS} s each; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-3s %-13s %10s %8s %9s %9s %9s %10s %12s\n' qd mode IOPS /direct be_us/IO \
	fe_us/IO cpu/direct hit_rate misses/IO
for qd in 1 32; do
	col() { awk -v q="$qd" -v m="$2" -v c="$1" '$2 == q && $3 == m { print $c }' "$tmp/runs" |
		median; }
	direct=$(col 4 direct)
	dcpu=$(awk -v a="$(col 5 direct)" -v b="$(col 6 direct)" 'BEGIN { print a + b }')
	for m in "${modes[@]}"; do
		med=$(col 4 "$m") be=$(col 5 "$m") fe=$(col 6 "$m") rate=$(col 7 "$m") mpi=$(col 8 "$m")
		[ "$m" = direct ] && rate=- mpi=-
		printf '%-3s %-13s %10.0f %8.3f %9.2f %9.2f %9.3f %10s %12s\n' "$qd" "$m" "$med" \
			"$(awk -v a="$med" -v b="$direct" 'BEGIN { print b ? a / b : 0 }')" "$be" "$fe" \
			"$(awk -v a="$be" -v b="$fe" -v d="$dcpu" 'BEGIN { print d ? (a + b) / d : 0 }')" \
			"$rate" "$mpi"
	done
done
