#!/bin/bash
# Benchmark (not a test): packets per second from a DPDK virtio-user front-end (testpmd txonly,
# one queue pair, SIZE-byte frames) into a vhost-user back-end. The reference back-end is
# DPDK's net_vhost (testpmd rxonly, restarted each round); --target SOCK adds the same run
# against another back-end already listening on SOCK (e.g. `taskset -c 0 vireo serve net
# --socket SOCK --poll`, on the reference's CPU for a fair figure), rounds interleaved, so both
# figures come from one script in one run.
#   tests/interop/bench_dpdk_net.sh [--seconds 5] [--rounds 3] [--size 64]
#                                   [--target SOCK [--name NAME]] [--no-reference]
# Prints one row per round and the median; Mpps is the mean of testpmd's per-second TX rate
# (virtio-user's TX counter counts frames put on the ring, which only the back-end's pace lets
# in: when the ring is full, testpmd drops the frame instead, counted as dropped). The
# front-end runs on CPU DPDK_USER_CPU (1), the reference back-end on DPDK_VHOST_CPU (0); see
# tests/interop/dpdk_lib.sh for the other settings.
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
secs=5 rounds=3 size=64 target='' name='' reference=1
while [ $# -gt 0 ]; do
	case "$1" in
	--seconds) secs=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--size) size=$2; shift 2 ;;
	--target) target=$2; shift 2 ;;
	--name) name=$2; shift 2 ;;
	--no-reference) reference=0; shift ;;
	-h | --help) sed -n '2,15s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "bench_dpdk_net: unknown option $1" >&2; exit 2 ;;
	esac
done
[ -n "$name" ] || name="target $target"
if [ -z "$target" ] && [ $reference -eq 0 ]; then
	echo "bench_dpdk_net: --no-reference needs --target" >&2
	exit 2
fi
tmp=$(mktemp -d /tmp/vireo-bench-dpdk.XXXXXX)
# shellcheck source=dpdk_lib.sh
. "$repo/tests/interop/dpdk_lib.sh"
trap 'dpdk_stop; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

if ! dpdk_available; then
	echo "bench_dpdk_net: $dpdk_reason" >&2
	exit 1
fi
if [ -n "$target" ] && [ ! -S "$target" ]; then
	echo "bench_dpdk_net: no socket $target (start the back-end first)" >&2
	exit 1
fi

# field LINE KEY: the value of KEY=value in LINE.
field() {
	echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# One row: back-end, round, frames sent (virtio-user TX), dropped on a full ring (a high
# share means the back-end was the bottleneck, ~0 that the front-end was), received by the
# back-end (reference only), Mpps.
row() {
	printf '%-24s %6s %12s %7s %12s %8s\n' "$@"
}

# drop_pct RESULT: dropped / (sent + dropped) in percent.
drop_pct() {
	awk -v s="$(field "$1" tx_packets)" -v d="$(field "$1" tx_dropped)" \
		'BEGIN { printf "%.1f%%\n", s + d ? 100 * d / (s + d) : 0 }'
}

# round_reference N: one round against a fresh net_vhost rxonly.
round_reference() {
	local sock=$tmp/vhost.sock r rx
	rm -f "$sock"
	dpdk_vhost_start "$sock" rxonly || return 1
	r=$(dpdk_virtio_user_run "$sock" txonly "$secs" --txpkts="$size") || {
		dpdk_stop "$dpdk_vhost_pid"
		return 1
	}
	dpdk_stop "$dpdk_vhost_pid"
	rx=$(field "$(dpdk_counts "$dpdk_vhost_log")" rx_packets)
	row "dpdk net_vhost rxonly" "$1" "$(field "$r" tx_packets)" "$(drop_pct "$r")" \
		"${rx:-?}" "$(field "$r" tx_mpps)"
	field "$r" tx_mpps >>"$tmp/mpps.reference"
}

# round_target N: one round against the back-end on --target.
round_target() {
	local r
	r=$(dpdk_virtio_user_run "$target" txonly "$secs" --txpkts="$size") || return 1
	row "$name" "$1" "$(field "$r" tx_packets)" "$(drop_pct "$r")" - "$(field "$r" tx_mpps)"
	field "$r" tx_mpps >>"$tmp/mpps.target"
}

# median FILE: the median of the numbers in FILE, one a line.
median() {
	sort -g "$1" | awk '{ v[NR] = $1 } END {
		if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
		else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "# virtio-user txonly, ${size}-byte frames, 1 queue pair, ${secs} s a round," \
	"$rounds rounds; CPUs: front-end ${DPDK_USER_CPU:-1}, net_vhost ${DPDK_VHOST_CPU:-0}"
row back-end round sent dropped received Mpps
status=0
for i in $(seq "$rounds"); do
	if [ $reference -eq 1 ]; then
		round_reference "$i" || { echo "bench_dpdk_net: reference round $i failed" >&2; status=1; }
	fi
	if [ -n "$target" ]; then
		round_target "$i" || { echo "bench_dpdk_net: $name round $i failed" >&2; status=1; }
	fi
done
[ $reference -eq 1 ] && [ -s "$tmp/mpps.reference" ] &&
	row "dpdk net_vhost rxonly" median - - - "$(median "$tmp/mpps.reference")"
[ -n "$target" ] && [ -s "$tmp/mpps.target" ] && row "$name" median - - - "$(median "$tmp/mpps.target")"
exit $status
