#!/bin/bash
# Benchmark (not a test): packets per second from a DPDK virtio-user front-end (testpmd txonly,
# one queue pair, SIZE-byte frames) into a vhost-user back-end, split and packed rings. The
# reference back-end is DPDK's net_vhost (testpmd rxonly, restarted each round); --vireo PROG
# adds `PROG serve net --poll` (started fresh each round, so it polls only in its own rounds;
# repeat --vireo to compare builds, e.g. before/after) and --target SOCK a back-end already
# listening on SOCK; rounds interleaved (reference, vireo, target, reference, ...), so all
# figures come from one script in one run.
#   tests/interop/bench_dpdk_net.sh [--seconds 5] [--rounds 3] [--size 64]
#                                   [--ring split|packed|both] [--vireo PROG]...
#                                   [--target SOCK [--name NAME]] [--no-reference]
# DPDK runs as its users run it: hugepages (--single-file-segments; mounted and reserved here
# when root, else a loud warning, --no-huge, and "NO-HUGE" in every row), the sender's
# forwarding lcore on CPU DPDK_USER_CPU (0), each back-end (net_vhost, vireo) polling on CPU
# DPDK_VHOST_CPU (1). DPDK_HUGE=0 forces --no-huge. See tests/interop/dpdk_lib.sh.
# Prints one row per round, the median per back-end and ring, and the ratios to net_vhost.
# Mpps is the mean of testpmd's per-second TX rate (virtio-user's TX counter counts frames put
# on the ring, which only the back-end's pace lets in: when the ring is full, testpmd drops
# the frame instead, counted as dropped).
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
secs=5 rounds=3 size=64 target='' name='' reference=1 vireos=() rings='split packed'
while [ $# -gt 0 ]; do
	case "$1" in
	--seconds) secs=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--size) size=$2; shift 2 ;;
	--ring) rings=$2; shift 2 ;;
	--vireo) vireos+=("$2"); shift 2 ;;
	--target) target=$2; shift 2 ;;
	--name) name=$2; shift 2 ;;
	--no-reference) reference=0; shift ;;
	-h | --help) sed -n '2,19s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "bench_dpdk_net: unknown option $1" >&2; exit 2 ;;
	esac
done
[ "$rings" = both ] && rings='split packed'
[ -n "$name" ] || name="target $target"
if [ -z "$target" ] && [ ${#vireos[@]} -eq 0 ] && [ $reference -eq 0 ]; then
	echo "bench_dpdk_net: --no-reference needs --target or --vireo" >&2
	exit 2
fi
tmp=$(mktemp -d /tmp/vireo-bench-dpdk.XXXXXX)
vireo_pid=''
# shellcheck source=dpdk_lib.sh
. "$repo/tests/interop/dpdk_lib.sh"
trap 'vireo_stop; dpdk_stop; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
export DPDK_HUGE=${DPDK_HUGE:-1}
user_devargs_base=${DPDK_USER_DEVARGS:-}
export DPDK_USER_CPU=${DPDK_USER_CPU:-0} DPDK_VHOST_CPU=${DPDK_VHOST_CPU:-1}

dpdk_hugepages_prepare 2
if ! dpdk_available; then
	echo "bench_dpdk_net: $dpdk_reason" >&2
	exit 1
fi
if [ -n "$target" ] && [ ! -S "$target" ]; then
	echo "bench_dpdk_net: no socket $target (start the back-end first)" >&2
	exit 1
fi
for v in "${vireos[@]}"; do
	if [ ! -x "$v" ]; then
		echo "bench_dpdk_net: $v is not a program" >&2
		exit 1
	fi
done

# field LINE KEY: the value of KEY=value in LINE.
field() {
	echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# One row: back-end, ring, round, frames sent (virtio-user TX), dropped on a full ring (a
# high share means the back-end was the bottleneck, ~0 that the front-end was), received by
# the back-end (reference only), Mpps, DPDK's memory.
row() {
	printf '%-24s %-6s %6s %12s %7s %12s %8s %s\n' "$@"
}

# drop_pct RESULT: dropped / (sent + dropped) in percent.
drop_pct() {
	awk -v s="$(field "$1" tx_packets)" -v d="$(field "$1" tx_dropped)" \
		'BEGIN { printf "%.1f%%\n", s + d ? 100 * d / (s + d) : 0 }'
}

# user_devargs RING: virtio-user's extra devargs for RING (packed_vq=1 for packed).
user_devargs() {
	local a=$user_devargs_base
	[ "$1" = packed ] && a="${a:+$a,}packed_vq=1"
	echo "$a"
}

# round_reference RING N: one round against a fresh net_vhost rxonly.
round_reference() {
	local sock=$tmp/vhost.sock r rx
	rm -f "$sock"
	dpdk_vhost_start "$sock" rxonly || return 1
	r=$(DPDK_USER_DEVARGS=$(user_devargs "$1") dpdk_virtio_user_run "$sock" txonly "$secs" \
		--txpkts="$size") || {
		dpdk_stop "$dpdk_vhost_pid"
		return 1
	}
	dpdk_stop "$dpdk_vhost_pid"
	rx=$(field "$(dpdk_counts "$dpdk_vhost_log")" rx_packets)
	row "dpdk net_vhost rxonly" "$1" "$2" "$(field "$r" tx_packets)" "$(drop_pct "$r")" \
		"${rx:-?}" "$(field "$r" tx_mpps)" "$dpdk_mem"
	field "$r" tx_mpps >>"$tmp/mpps.reference.$1"
}

# vireo_stop: stop the `vireo serve net` this script started, if any.
vireo_stop() {
	[ -n "$vireo_pid" ] || return 0
	kill -TERM "$vireo_pid" 2>/dev/null
	wait "$vireo_pid" 2>/dev/null
	vireo_pid=''
}

# vireo_label K: the row label of the K-th --vireo (its path when there are several).
vireo_label() {
	if [ ${#vireos[@]} -eq 1 ]; then
		echo "vireo serve net --poll"
	else
		echo "vireo#$1 ${vireos[$1]}"
	fi
}

# round_vireo RING N K: one round against a fresh `vireo serve net --poll` (the K-th --vireo)
# on DPDK_VHOST_CPU.
round_vireo() {
	local sock=$tmp/vireo.sock r i vireo=${vireos[$3]}
	rm -f "$sock"
	taskset -c "$DPDK_VHOST_CPU" "$vireo" serve net --socket "$sock" --poll \
		>"$tmp/vireo.log" 2>&1 &
	vireo_pid=$!
	for i in $(seq 100); do
		[ -S "$sock" ] && break
		sleep 0.1
	done
	r=$(DPDK_USER_DEVARGS=$(user_devargs "$1") dpdk_virtio_user_run "$sock" txonly "$secs" \
		--txpkts="$size") || {
		vireo_stop
		return 1
	}
	vireo_stop
	row "$(vireo_label "$3")" "$1" "$2" "$(field "$r" tx_packets)" "$(drop_pct "$r")" - \
		"$(field "$r" tx_mpps)" "$dpdk_mem"
	field "$r" tx_mpps >>"$tmp/mpps.vireo$3.$1"
}

# round_target RING N: one round against the back-end on --target.
round_target() {
	local r
	r=$(DPDK_USER_DEVARGS=$(user_devargs "$1") dpdk_virtio_user_run "$target" txonly "$secs" \
		--txpkts="$size") || return 1
	row "$name" "$1" "$2" "$(field "$r" tx_packets)" "$(drop_pct "$r")" - \
		"$(field "$r" tx_mpps)" "$dpdk_mem"
	field "$r" tx_mpps >>"$tmp/mpps.target.$1"
}

# median FILE: the median of the numbers in FILE, one a line.
median() {
	sort -g "$1" | awk '{ v[NR] = $1 } END {
		if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
		else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# round_ratios FILE REF LABEL RING: the per-round ratios FILE/REF (rounds are interleaved, so
# round i of each ran under the same conditions): their spread, their median (steadier than
# the ratio of the medians when the machine's speed drifts) and how many reached 1.00x; the
# ratio of the medians alone hides whether a difference is larger than this machine's noise.
round_ratios() {
	[ -s "$2" ] && [ "$(wc -l <"$1")" = "$(wc -l <"$2")" ] || return 0
	paste "$1" "$2" | awk '$2 > 0 { printf "%.6f\n", $1 / $2 }' | sort -g |
		awk -v l="$3" -v r="$4" '{ q[++n] = $1; if ($1 >= 0.995) k++ }
		END { if (!n) exit; m = n % 2 ? q[(n + 1) / 2] : (q[n / 2] + q[n / 2 + 1]) / 2
			printf "# %s, %s: per round %.2f-%.2fx (median %.2fx), at or above" \
				" 1.00x in %d of %d\n", l, r, q[1], q[n], m, k, n }'
}

echo "# virtio-user txonly, ${size}-byte frames, 1 queue pair, ${secs} s a round," \
	"$rounds rounds; CPUs: sender $DPDK_USER_CPU, back-ends $DPDK_VHOST_CPU; DPDK memory:" \
	"$dpdk_mem; $(uptime | sed 's/.*load/load/')"
[ "$dpdk_mem" = hugepages ] || echo "# WARNING: DPDK ran with --no-huge: NOT a fair comparison"
row back-end ring round sent dropped received Mpps memory
status=0
for i in $(seq "$rounds"); do
	for ring in $rings; do
		if [ $reference -eq 1 ]; then
			round_reference "$ring" "$i" ||
				{ echo "bench_dpdk_net: reference $ring round $i failed" >&2; status=1; }
		fi
		for k in "${!vireos[@]}"; do
			round_vireo "$ring" "$i" "$k" ||
				{ echo "bench_dpdk_net: vireo#$k $ring round $i failed" >&2; status=1; }
		done
		if [ -n "$target" ]; then
			round_target "$ring" "$i" ||
				{ echo "bench_dpdk_net: $name $ring round $i failed" >&2; status=1; }
		fi
	done
done
for ring in $rings; do
	ref=$(median "$tmp/mpps.reference.$ring" 2>/dev/null)
	whos=(reference)
	for k in "${!vireos[@]}"; do whos+=("vireo$k"); done
	for who in "${whos[@]}" target; do
		[ -s "$tmp/mpps.$who.$ring" ] || continue
		m=$(median "$tmp/mpps.$who.$ring")
		case $who in
		reference) label="dpdk net_vhost rxonly" ;;
		vireo*) label=$(vireo_label "${who#vireo}") ;;
		*) label=$name ;;
		esac
		ratio=-
		[ "$who" != reference ] && [ -n "$ref" ] && [ "$ref" != - ] &&
			ratio=$(awk -v a="$m" -v b="$ref" 'BEGIN { printf "%.2fx\n", (b > 0 ? a / b : 0) }')
		row "$label" "$ring" median - - "ratio $ratio" "$m" "$dpdk_mem"
		[ "$who" != reference ] && round_ratios "$tmp/mpps.$who.$ring" \
			"$tmp/mpps.reference.$ring" "$label" "$ring"
	done
done
echo "# $(uptime | sed 's/.*load/load/') at the end"
exit $status
