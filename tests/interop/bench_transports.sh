#!/bin/bash
# The in-process transports side by side: `vireo bench blk --image` over loopback, virtio-mmio
# and virtio-pci (our driver on our function model, one process), interleaved loopback, mmio,
# pci in every round: 4k randread at iodepth 1 and 32, one queue, an image on /dev/shm.
# What the register path costs per I/O. One line per run, then the medians with ratios to
# loopback: IOPS, mean latency, CPU per I/O and voluntary context switches per I/O (of the
# whole bench process: driver and device threads), and the device model's kicks handled and
# calls sent per I/O (all as `vireo bench blk --json` reports them).
#   tests/interop/bench_transports.sh [--rounds N] [--seconds S] [--ring split|packed]
# Environment: VIREO (default build/vireo), IMAGE_MB (default 256).
set -u
ROUNDS=5
SECS=3
RING=
VIREO=${VIREO:-build/vireo}
IMAGE_MB=${IMAGE_MB:-256}
usage() {
	echo "usage: $0 [--rounds N] [--seconds S] [--ring split|packed]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--rounds | --seconds | --ring) [ $# -ge 2 ] || usage ;;&
	--rounds) ROUNDS=$2 ;;
	--seconds) SECS=$2 ;;
	--ring) RING=$2 ;;
	*) usage ;;
	esac
	shift 2
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "$0: --rounds wants a positive integer" >&2; exit 2; }
[[ $SECS =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "$0: --seconds wants a number" >&2; exit 2; }
[ -z "$RING" ] || [ "$RING" = split ] || [ "$RING" = packed ] || usage
[ -x "$VIREO" ] || { echo "$0: no $VIREO (build it, or set VIREO)" >&2; exit 2; }
tmp=$(mktemp -d /dev/shm/vireo-bench-transports.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
truncate -s "${IMAGE_MB}M" "$tmp/img"
TRANSPORTS="loopback mmio pci"
DEPTHS="1 32"

# run TRANSPORT DEPTH: one line "depth transport iops lat_mean_us cpu_us_per_io kicks_per_io
# calls_per_io ring vcsw_per_io".
run() {
	local t=$1 depth=$2 json
	"$VIREO" bench blk --image "$tmp/img" --transport "$t" --rw randread --bs 4k \
		--iodepth "$depth" --seconds "$SECS" --json ${RING:+--ring "$RING"} \
		>"$tmp/json" 2>"$tmp/err" || {
		echo "$0: bench blk --transport $t failed:" >&2
		cat "$tmp/err" >&2
		exit 1
	}
	json=$(tail -n 1 "$tmp/json")
	awk -v t="$t" -v depth="$depth" '
	function num(key,    re) {
		re = "\"" key "\":[0-9.]+"
		if (!match($0, re))
			return -1
		return substr($0, RSTART + length(key) + 3, RLENGTH - length(key) - 3)
	}
	{
		ios = num("ios")
		match($0, /"ring":"[a-z]+"/); ring = substr($0, RSTART + 8, RLENGTH - 9)
		if (ios <= 0 || num("kicks") < 0 || num("vcsw_per_io") < 0) {
			print "no I/O, notification or CPU counts in: " $0 > "/dev/stderr"
			exit 1
		}
		printf "%s %s %.0f %.2f %.2f %.3f %.3f %s %.3f\n", depth, t, num("iops"),
			num("lat_mean_us"), num("cpu_us_per_io"), num("kicks") / ios,
			num("calls") / ios, ring, num("vcsw_per_io")
	}' <<<"$json" || exit 1
}

echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
echo "# depth transport iops lat_mean_us cpu_us_per_io kicks_per_io calls_per_io ring vcsw_per_io"
for _ in $(seq "$ROUNDS"); do
	for depth in $DEPTHS; do
		for t in $TRANSPORTS; do
			run "$t" "$depth" | tee -a "$tmp/runs"
			[ "${PIPESTATUS[0]}" = 0 ] || exit 1
		done
	done
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
sel() { awk -v d="$1" -v t="$2" -v c="$3" '$1 == d && $2 == t {print $c}' "$tmp/runs"; }
echo
echo "medians over $ROUNDS rounds of ${SECS} s, 4k randread, 1 queue, $(awk '{print $8}' "$tmp/runs" | sort -u | tr '\n' ' ')ring"
printf "%-5s %-9s %10s %6s %9s %6s %9s %6s %8s %8s %8s\n" depth transport IOPS ratio "lat us" \
	ratio "CPU us/IO" ratio "kicks/IO" "calls/IO" "vcsw/IO"
for depth in $DEPTHS; do
	base_iops=$(sel "$depth" loopback 3 | median)
	base_lat=$(sel "$depth" loopback 4 | median)
	base_cpu=$(sel "$depth" loopback 5 | median)
	for t in $TRANSPORTS; do
		awk -v d="$depth" -v t="$t" -v iops="$(sel "$depth" "$t" 3 | median)" \
			-v lat="$(sel "$depth" "$t" 4 | median)" -v cpu="$(sel "$depth" "$t" 5 | median)" \
			-v k="$(sel "$depth" "$t" 6 | median)" -v c="$(sel "$depth" "$t" 7 | median)" \
			-v v="$(sel "$depth" "$t" 9 | median)" \
			-v bi="$base_iops" -v bl="$base_lat" -v bc="$base_cpu" 'BEGIN {
			printf "%-5s %-9s %10.0f %6.2f %9.2f %6.2f %9.2f %6.2f %8.3f %8.3f %8.3f\n",
				d, t, iops, (bi > 0) ? iops / bi : 0, lat, (bl > 0) ? lat / bl : 0, cpu,
				(bc > 0) ? cpu / bc : 0, k, c, v
		}'
	done
done
# Same-round comparisons: how often each transport had fewer IOPS, and more voluntary context
# switches per I/O, than loopback in the run just before it (the medians hide the spread).
awk -v rounds="$ROUNDS" '{
	k = $1 " " $2
	n[k]++
	iops[k, n[k]] = $3
	vcsw[k, n[k]] = $9
} END {
	split("'"$DEPTHS"'", d, " ")
	split("'"${TRANSPORTS#loopback }"'", t, " ")
	for (i = 1; i in d; i++)
		for (j = 1; j in t; j++) {
			a = d[i] " " t[j]
			b = d[i] " loopback"
			fewer = more = 0
			for (r = 1; r <= n[a]; r++) {
				fewer += iops[a, r] < iops[b, r]
				more += vcsw[a, r] > vcsw[b, r]
			}
			printf "depth %s %s: fewer IOPS than loopback in %d of %d rounds, more vcsw/IO in %d\n",
				d[i], t[j], fewer, rounds, more
		}
}' "$tmp/runs"
