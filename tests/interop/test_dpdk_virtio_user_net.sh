#!/bin/bash
# TAP: DPDK's own virtio front-end (dpdk-testpmd --vdev net_virtio_user) against `vireo serve
# net`. testpmd #1 transmits (txonly) into port 1 of the switch, testpmd #2 receives (rxonly)
# on port 2; the frames' destination is unknown to the switch, so every frame is flooded to
# port 2. Both testpmds run interactively on a fifo: #1 is stopped first, the switch drains,
# then #2 is stopped, so the counts are exact: what #1 sent is what port 1 took from its guest,
# what port 2 put into its guest's buffers is what #2 received, and port 2's frames plus its
# drops (no buffer) are port 1's frames.
# With --packed both testpmds use packed virtqueues (packed_vq=1; virtio-user also asks for
# IN_ORDER by default), and the counters (SIGUSR1 while they run) must show both ports so.
# With --poll the switch busy-polls its transmit rings (`serve net --poll`), where the event
# loop runs only every few polling rounds: the same exact counts, and a clean SIGTERM exit.
#   VIREO=build/vireo bash tests/interop/test_dpdk_virtio_user_net.sh [--packed] [--poll]
set -u
vq_opt='' plan=8 serve_opt=()
for a in "$@"; do
	case $a in
	--packed) vq_opt=,packed_vq=1 plan=10 ;;
	--poll) serve_opt=(--poll) ;;
	*) echo "test_dpdk_virtio_user_net: unknown option $a" >&2; exit 2 ;;
	esac
done
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tap_lib.sh
. "$repo/tests/interop/tap_lib.sh"
VIREO=${VIREO:-$repo/build/vireo}
tmp=$(mktemp -d /tmp/vireo-dpdk-vu.XXXXXX)
pids=()
cleanup() {
	local p
	exec 3>&- 4>&- 2>/dev/null
	for p in "${pids[@]}"; do
		kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$tmp" "/var/run/dpdk/vireo-vu1-$$" "/var/run/dpdk/vireo-vu2-$$"
}
trap cleanup EXIT

# pmd_stat LOG FIELD: the last "Forward statistics for port 0" block's RX- or TX-packets
pmd_stat() {
	awk -v f="$2-packets:" '/Forward statistics for port 0/ { blk = 1; next }
		blk && $1 == f { v = $2 } blk && $3 == f { v = $4 }
		blk && /^ *-+ *$/ { blk = 0 }
		END { print v }' "$1"
}
# serve_stat FIELD PORT: from the last counters block of the switch's log
serve_stat() {
	awk -v want="$1" -v port="  port$2 " '
		index($0, port) == 1 { inport = 1; next }
		/^  port[0-9]/ { inport = 0 }
		inport && want == "from" && /from guest/ { v = $3 }
		inport && want == "to" && /from guest/ { v = $9 }
		inport && want == "nobuf" && /drops:/ {
			v = 0; for (i = 1; i < NF; i++) if ($i == "rx-no-buffer") v = $(i + 1) }
		END { print v }' "$tmp/serve.log"
}
# wait_for FILE PATTERN SECONDS
wait_for() {
	local i
	for i in $(seq $(($3 * 10))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

echo "1..$plan"
if [ ! -x "$VIREO" ]; then
	for i in $(seq "$plan"); do echo "ok $i # SKIP no $VIREO"; done
	exit 0
fi
if ! command -v dpdk-testpmd >/dev/null; then
	for i in $(seq "$plan"); do echo "ok $i # SKIP dpdk-testpmd not installed (Debian package dpdk-dev)"; done
	exit 0
fi

"$VIREO" serve net --socket "$tmp/p1.sock" --socket "$tmp/p2.sock" "${serve_opt[@]}" \
	>"$tmp/serve.log" 2>&1 &
serve_pid=$!
pids+=("$serve_pid")
wait_for "$tmp/serve.log" "ready" 10
check "vireo serve net listens on two ports" test -S "$tmp/p2.sock"

# start_pmd NAME FD MODE SOCKET MAIN-LCORE: testpmd reading commands from a fifo on fd FD.
start_pmd() {
	local name=$1 fd=$2 mode=$3 sock=$4 main=$5
	mkfifo "$tmp/$name.in"
	dpdk-testpmd -l 0-1 --main-lcore "$main" --no-huge -m 256 --no-pci --no-shconf \
		--file-prefix="vireo-$name-$$" --vdev "net_virtio_user0,path=$sock,queues=1$vq_opt" -- \
		-i --forward-mode="$mode" --total-num-mbufs=8192 <"$tmp/$name.in" \
		>"$tmp/$name.log" 2>&1 &
	pids+=($!)
	eval "exec $fd>\"$tmp/$name.in\""
}
start_pmd vu2 4 rxonly "$tmp/p2.sock" 1
start_pmd vu1 3 txonly "$tmp/p1.sock" 0
ok1=no ok2=no
wait_for "$tmp/vu1.log" "testpmd>" 20 && ok1=yes
wait_for "$tmp/vu2.log" "testpmd>" 20 && ok2=yes
tap $([ $ok1$ok2 = yesyes ] && echo OK || echo FAIL) "two testpmd virtio-user ports connect" \
	"$(tail -n 3 "$tmp/vu1.log" | tr '\n' '|')" "$(tail -n 3 "$tmp/vu2.log" | tr '\n' '|')"
echo "start" >&4
sleep 0.5
echo "start" >&3
sleep 3
kill -USR1 "$serve_pid" # the counters while both run: each port's ring format
sleep 0.5
echo "stop" >&3 # the sender first; then the switch drains into port 2
sleep 1
echo "stop" >&4
sleep 0.5
echo "quit" >&3
echo "quit" >&4
wait_for "$tmp/vu1.log" "Bye" 10
wait_for "$tmp/vu2.log" "Bye" 10
kill -TERM "$serve_pid"
wait "$serve_pid"
serve_rc=$?

sent=$(pmd_stat "$tmp/vu1.log" TX) got=$(pmd_stat "$tmp/vu2.log" RX)
from=$(serve_stat from 1) to=$(serve_stat to 2) nobuf=$(serve_stat nobuf 2)
echo "# testpmd #1 TX-packets ${sent:-?}; switch port 1 from guest ${from:-?}," \
	"port 2 to guest ${to:-?}, no buffer ${nobuf:-?}; testpmd #2 RX-packets ${got:-?}"
check "testpmd #1 sent frames" test "${sent:-0}" -gt 0
check "testpmd #2 received frames" test "${got:-0}" -gt 0
check "port 1 took exactly what testpmd #1 sent" test "${from:--1}" -eq "${sent:--2}"
check "testpmd #2 received exactly what port 2 delivered" test "${got:--1}" -eq "${to:--2}"
check "every frame from port 1 was delivered to port 2 or counted" \
	test "$((${to:-0} + ${nobuf:-0}))" -eq "${from:--1}"
check "vireo serve net exits 0 after SIGTERM" test "$serve_rc" -eq 0
if [ -n "$vq_opt" ]; then
	grep -E '^  port[12] ' "$tmp/serve.log" | sed 's/^/# /' | head -n 4
	check "port 1 ran packed rings with testpmd #1" grep -qE '^  port1 .*: connected; packed rings' "$tmp/serve.log"
	check "port 2 ran packed rings with testpmd #2" grep -qE '^  port2 .*: connected; packed rings' "$tmp/serve.log"
fi
