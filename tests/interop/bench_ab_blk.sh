#!/bin/bash
# Two builds of Vireo, A and B, each as a whole stack (`vireo serve blk` driven by the same
# build's `vireo bench blk --socket`), interleaved A then B in every round: 4k randread at
# iodepth 32 and 1, one queue, an image on /dev/shm. For changes on the notification path
# (kicks and calls), where both sides changed. One line per run, then medians: IOPS, back-end
# CPU per I/O (utime+stime of the server from /proc/PID/stat) and calls per I/O.
#   VIREO_A=/tmp/main/build/vireo VIREO_B=build/vireo tests/interop/bench_ab_blk.sh [ROUNDS] [SECONDS]
# Environment: IMAGE_MB (default 256); SERVE_ARGS_A, SERVE_ARGS_B: more `serve blk` arguments
# for one side, e.g. the same build with and without the sandbox:
#   VIREO_A=build/vireo VIREO_B=build/vireo SERVE_ARGS_B=--no-sandbox tests/interop/bench_ab_blk.sh
set -u
ROUNDS=${1:-4}
SECONDS_PER_RUN=${2:-3}
IMAGE_MB=${IMAGE_MB:-256}
[ -x "${VIREO_A:-}" ] && [ -x "${VIREO_B:-}" ] || { echo "set VIREO_A and VIREO_B" >&2; exit 2; }
tmp=$(mktemp -d /dev/shm/vireo-bench-ab.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
truncate -s "${IMAGE_MB}M" "$tmp/img"
ticks=$(getconf CLK_TCK)

# run SIDE VIREO DEPTH [SERVE_ARGS...]: one line "depth side iops cpu_us_per_io calls_per_io"
run() {
	local side=$1 vireo=$2 depth=$3 json cpu i
	shift 3
	rm -f "$tmp/s.sock"
	"$vireo" serve blk --socket "$tmp/s.sock" --image "$tmp/img" "$@" >"$tmp/serve.log" 2>&1 &
	pid=$!
	for i in $(seq 100); do [ -S "$tmp/s.sock" ] && break; sleep 0.05; done
	json=$("$vireo" bench blk --socket "$tmp/s.sock" --rw randread --bs 4k --iodepth "$depth" \
		--seconds "$SECONDS_PER_RUN" --json)
	cpu=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	kill -TERM "$pid" && wait "$pid"
	pid=
	awk -v side="$side" -v depth="$depth" -v cpu="$cpu" -v hz="$ticks" '{
		match($0, /"ios":[0-9]+/); ios = substr($0, RSTART + 6, RLENGTH - 6)
		match($0, /"iops":[0-9.]+/); iops = substr($0, RSTART + 7, RLENGTH - 7)
		match($0, /"calls":[0-9]+/); calls = substr($0, RSTART + 8, RLENGTH - 8)
		printf "%s %s %.0f %.2f %.3f\n", depth, side, iops, cpu / hz * 1e6 / ios, calls / ios
	}' <<<"$json"
}

echo "# depth side iops cpu_us_per_io calls_per_io"
for round in $(seq "$ROUNDS"); do
	for depth in 32 1; do
		# shellcheck disable=SC2086 # word-split on purpose: a list of arguments
		run A "$VIREO_A" "$depth" ${SERVE_ARGS_A:-} | tee -a "$tmp/runs"
		# shellcheck disable=SC2086
		run B "$VIREO_B" "$depth" ${SERVE_ARGS_B:-} | tee -a "$tmp/runs"
	done
done
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
echo "# medians over $ROUNDS rounds: depth side iops cpu_us_per_io calls_per_io"
for depth in 32 1; do
	for side in A B; do
		sel() { awk -v d="$depth" -v s="$side" -v c="$1" '$1 == d && $2 == s {print $c}' "$tmp/runs"; }
		echo "$depth $side $(sel 3 | median) $(sel 4 | median) $(sel 5 | median)"
	done
done
