#!/bin/bash
# Benchmark (not a test): instructions per frame of `vireo serve net --poll` while a DPDK
# virtio-user front-end (testpmd txonly, one queue pair, SIZE-byte frames) sends into it, split
# and packed rings: a figure the machine's load does not change, unlike Mpps. (`perf stat -e
# instructions` needs a PMU, which VMs often lack: this counts under valgrind's callgrind.)
# Each round starts a fresh `PROG serve net --poll` under callgrind, instrumentation off, on
# CPU DPDK_VHOST_CPU (1) and the sender on DPDK_USER_CPU (0), DPDK on hugepages as in
# bench_dpdk_net.sh; after WARM seconds it zeroes callgrind's counts, after SECONDS more dumps
# them, and divides by the frames serve took in between (its counters, printed on SIGUSR1).
# (--no-sandbox: valgrind cannot run seccomp; the filter acts on system calls only, which the
# polling path does not make.) Under callgrind serve is far slower than the sender, so the
# ring stays full (no empty polls in the count). INSTR_KEEP=DIR keeps each window's dump
# there (callgrind_annotate shows where the instructions go). Repeat --vireo to compare builds; rounds interleave builds and rings.
#   tests/interop/bench_dpdk_net_instr.sh [--seconds 5] [--warm 3] [--rounds 3] [--size 64]
#                                         [--queue-size 1024] [--ring split|packed|both]
#                                         --vireo PROG...
# Rows: build, ring, round, frames in the window, instructions/frame, transmit calls/frame
# (net_tx_process calls; above 1/256 some found the ring empty or short, and their polling is
# in the count), the instructions of one polling round when the sender sends nothing (a second
# window, testpmd rxonly), and busy/fr: (instructions - calls * idle round) / frames, the
# frames' own cost with the polling rounds taken out; then the medians. The window's ends are
# asynchronous requests (callgrind_control, SIGUSR1): ~1% either way. Rings of QSIZE (serve
# --queue-size, virtio-user queue_size) let the sender be away longer before serve idles.
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
secs=5 warm=3 rounds=3 size=64 qsize=1024 vireos=() rings='split packed'
while [ $# -gt 0 ]; do
	case "$1" in
	--seconds) secs=$2; shift 2 ;;
	--warm) warm=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--size) size=$2; shift 2 ;;
	--queue-size) qsize=$2; shift 2 ;;
	--ring) rings=$2; shift 2 ;;
	--vireo) vireos+=("$2"); shift 2 ;;
	-h | --help) sed -n '2,22s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "bench_dpdk_net_instr: unknown option $1" >&2; exit 2 ;;
	esac
done
[ "$rings" = both ] && rings='split packed'
if [ ${#vireos[@]} -eq 0 ]; then
	echo "bench_dpdk_net_instr: give at least one --vireo PROG" >&2
	exit 2
fi
if ! command -v valgrind >/dev/null || ! command -v callgrind_control >/dev/null; then
	echo "bench_dpdk_net_instr: valgrind is not installed (scripts/install-deps.sh)" >&2
	exit 1
fi
tmp=$(mktemp -d /tmp/vireo-bench-instr.XXXXXX)
vireo_pid='' sender_pid=''
# shellcheck source=dpdk_lib.sh
. "$repo/tests/interop/dpdk_lib.sh"
trap 'vireo_stop; dpdk_stop; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
export DPDK_HUGE=${DPDK_HUGE:-1}
export DPDK_USER_CPU=${DPDK_USER_CPU:-0} DPDK_VHOST_CPU=${DPDK_VHOST_CPU:-1}
dpdk_hugepages_prepare 2
if ! dpdk_available; then
	echo "bench_dpdk_net_instr: $dpdk_reason" >&2
	exit 1
fi

vireo_stop() {
	[ -n "$vireo_pid" ] || return 0
	kill -TERM "$vireo_pid" 2>/dev/null 2>&1
	wait "$vireo_pid" 2>/dev/null 2>&1
	vireo_pid=''
}

# tx_frames LOG: the last "from guest N frames" count serve printed into LOG.
tx_frames() {
	sed -n 's/.*from guest \([0-9]*\) frames.*/\1/p' "$1" | tail -n 1
}

# counts LOG: the frames serve took so far, after asking it to print them (SIGUSR1).
counts() {
	local before n
	before=$(grep -c 'from guest' "$1")
	kill -USR1 "$vireo_pid"
	for _ in $(seq 50); do
		n=$(grep -c 'from guest' "$1")
		[ "$n" -gt "$before" ] && break
		sleep 0.02
	done
	tx_frames "$1"
}

# window RING K MODE SECS: a fresh `serve net --poll` of the K-th --vireo under callgrind,
# testpmd MODE (txonly: sends; rxonly: connected, sends nothing) on virtio-user; prints the
# window's "frames instructions net_tx_process-calls".
window() {
	local sock=$tmp/vireo.sock log=$tmp/vireo.log out=$tmp/callgrind.out f0 f1 ins dump calls
	local devargs=queue_size=$qsize
	rm -f "$sock" "$out"*
	[ "$1" = packed ] && devargs=$devargs,packed_vq=1
	taskset -c "$DPDK_VHOST_CPU" valgrind --tool=callgrind --instr-atstart=no \
		--callgrind-out-file="$out" "${vireos[$2]}" serve net --socket "$sock" --poll \
		--no-sandbox --queue-size "$qsize" >"$log" 2>&1 &
	vireo_pid=$!
	for _ in $(seq 300); do
		[ -S "$sock" ] && break
		sleep 0.1
	done
	DPDK_USER_DEVARGS=$devargs dpdk_virtio_user_run "$sock" "$3" $((warm + $4 + 3)) \
		--txpkts="$size" >"$tmp/sender.out" 2>&1 &
	sender_pid=$!
	sleep 1
	callgrind_control -i on "$vireo_pid" >/dev/null 2>&1
	sleep "$warm"
	callgrind_control -z "$vireo_pid" >/dev/null 2>&1
	f0=$(counts "$log")
	sleep "$4"
	f1=$(counts "$log")
	callgrind_control -d "$vireo_pid" >/dev/null 2>&1
	wait "$sender_pid"
	vireo_stop
	# The dump of -d (not the one at exit): its "summary:" line is the window's total.
	dump=$(ls "$out".* 2>/dev/null | head -n 1)
	ins=$(sed -n 's/^summary: *//p' "$dump" 2>/dev/null)
	[ -n "${INSTR_KEEP:-}" ] && [ -n "$dump" ] &&
		cp "$dump" "$INSTR_KEEP/callgrind.$(basename "${vireos[$2]}").$1.$3.$2.$n"
	# net_tx_process's calls, from the dump itself: "cfn=(id) name" names a callee once
	# (later only "cfn=(id)"); each "calls=N ..." line after it counts N calls to it.
	calls=$(awk '/^c?fn=\([0-9]+\) / { id = $1; sub(/^c?fn=/, "", id); name[id] = $2 }
		/^cfn=/ { id = $1; sub(/^cfn=/, "", id); cur = name[id] }
		/^calls=/ { split($1, a, "="); if (cur == "net_tx_process") n += a[2] }
		END { print n + 0 }' "$dump" 2>/dev/null)
	echo "$((f1 - f0)) ${ins:-0} ${calls:-0}"
}

# round RING N K: a busy window and an idle one (what an empty polling round costs), for
# the instructions per frame with and without the empty rounds.
round() {
	local busy idle
	busy=$(window "$1" "$3" txonly "$secs")
	idle=$(window "$1" "$3" rxonly 2)
	awk -v b="${vireos[$3]}" -v r="$1" -v n="$2" -v busy="$busy" -v idle="$idle" 'BEGIN {
		split(busy, a, " "); split(idle, z, " "); f = a[1]; i = a[2]; c = a[3]
		if (f <= 0 || i <= 0 || z[3] <= 0) { printf "%-28s %-6s %5s no count (busy: %s; idle: %s)\n", b, r, n, busy, idle; exit }
		e = z[2] / z[3]
		printf "%-28s %-6s %5s %10d %10.1f %8.4f %8.1f %10.1f\n", b, r, n, f, i / f, c / f,
			e, (i - c * e) / f }' | tee -a "$tmp/rows"
}

echo "# serve net --poll under callgrind, virtio-user txonly, ${size}-byte frames, window" \
	"${secs} s after ${warm} s; CPUs: sender $DPDK_USER_CPU, serve $DPDK_VHOST_CPU; DPDK" \
	"memory: $dpdk_mem; $(uptime | sed 's/.*load/load/')"
printf '%-28s %-6s %5s %10s %10s %8s %8s %10s\n' build ring round frames instr/fr calls/fr \
	idle/call busy/fr
for n in $(seq "$rounds"); do
	for ring in $rings; do
		for k in "${!vireos[@]}"; do
			round "$ring" "$n" "$k"
		done
	done
done
# median COLUMN BUILD RING: the median of COLUMN over that build's rounds on RING.
median() {
	awk -v b="$2" -v r="$3" -v c="$1" '$1 == b && $2 == r && $4 ~ /^[0-9]+$/ { print $c }' \
		"$tmp/rows" | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}
for ring in $rings; do
	for k in "${!vireos[@]}"; do
		printf '%-28s %-6s %5s %10s %10s %8s %8s %10s\n' "${vireos[$k]}" "$ring" median - \
			"$(median 5 "${vireos[$k]}" "$ring")" - - "$(median 8 "${vireos[$k]}" "$ring")"
	done
done
echo "# $(uptime | sed 's/.*load/load/') at the end"
