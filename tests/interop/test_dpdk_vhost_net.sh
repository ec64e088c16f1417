#!/bin/bash
# TAP: our virtio-net driver and vhost-user front-end (`vireo bench net --socket`) against
# DPDK's vhost-user back-end: dpdk-testpmd with a net_vhost port forwarding every frame back
# (io forwarding, the port looped onto itself). Exact accounting: testpmd's RX-packets must be
# what we sent and its TX-packets what we received (the bench stops sending and drains before
# it disconnects). The first run forces a split ring (--ring split), the second takes the
# default (packed, as testpmd offers it). The third run forces a packed ring (--ring packed: the bus binds only if
# testpmd offers VIRTIO_F_RING_PACKED, and the front-end gives the packed layout and QEMU's
# wrap-counter SET_VRING_BASE); the fourth adds IN_ORDER (--in-order) on a split ring, whose
# batches our driver checks. testpmd runs without hugepages (--no-huge) and is stopped by PID.
#   VIREO=build/vireo bash tests/interop/test_dpdk_vhost_net.sh
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tap_lib.sh
. "$repo/tests/interop/tap_lib.sh"
VIREO=${VIREO:-$repo/build/vireo}
tmp=$(mktemp -d /tmp/vireo-dpdk.XXXXXX)
prefix=vireo-net-$$ # testpmd's EAL runtime directory: /var/run/dpdk/$prefix
pmd_pid=
stop_pid() { # stop_pid PID: SIGTERM (testpmd prints its totals), wait up to 10 s, then SIGKILL
	local pid=$1 _
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}
cleanup() {
	[ -n "$pmd_pid" ] && kill -0 "$pmd_pid" 2>/dev/null && stop_pid "$pmd_pid"
	rm -rf "$tmp" "/var/run/dpdk/$prefix"
}
trap cleanup EXIT

json_field() { # json_field FILE NAME: a number from the bench's one-line JSON object
	sed -n "s/.*\"$2\":\(-\?[0-9.]*\).*/\1/p" "$1"
}
# pmd_total PORT-FIELD: the last "Forward statistics for port 0" block's RX- or TX-packets
pmd_total() {
	awk -v f="$1-packets:" '/Forward statistics for port 0/ { blk = 1; next }
		blk && $1 == f { v = $2; blk = (f == "TX-packets:") ? 0 : blk }
		blk && /----------------------------------------------------------------------------/ { blk = 0 }
		END { print v }' "$tmp/testpmd.log"
}

echo "1..17"
if [ ! -x "$VIREO" ]; then
	for i in $(seq 17); do echo "ok $i # SKIP no $VIREO"; done
	exit 0
fi
if ! command -v dpdk-testpmd >/dev/null; then
	for i in $(seq 17); do echo "ok $i # SKIP dpdk-testpmd not installed (Debian package dpdk-dev)"; done
	exit 0
fi

# Two lcores: 0 runs the main loop (mostly asleep), 1 forwards. --stats-period keeps testpmd
# running without a terminal; SIGTERM then prints the final forward statistics.
sock=$tmp/vhost.sock
dpdk-testpmd -l 0-1 --no-huge -m 256 --no-pci --no-shconf --file-prefix="$prefix" \
	--vdev "net_vhost0,iface=$sock,queues=1" -- \
	--forward-mode=io --port-topology=loop --auto-start --stats-period 1 \
	--total-num-mbufs=16384 </dev/null >"$tmp/testpmd.log" 2>&1 &
pmd_pid=$!
started=no
for _ in $(seq 150); do
	grep -q "packet forwarding - ports=" "$tmp/testpmd.log" && [ -S "$sock" ] && started=yes && break
	kill -0 "$pmd_pid" 2>/dev/null || break
	sleep 0.1
done
if [ $started = no ]; then
	tap FAIL "dpdk-testpmd starts a vhost-user port" "$(tail -n 5 "$tmp/testpmd.log" | tr '\n' '|')"
	for i in $(seq 2 17); do echo "ok $i # SKIP testpmd did not start"; done
	exit 1
fi
tap OK "dpdk-testpmd starts a vhost-user port"

# 1. 64-byte frames for 3 s, split; 2. full-size frames with merged receive buffers, default ring.
"$VIREO" bench net --socket "$sock" --seconds 3 --ring split --json >"$tmp/b1.json" 2>"$tmp/b1.err"
rc1=$?
"$VIREO" bench net --socket "$sock" --seconds 2 --size 1514 --mrg --json >"$tmp/b2.json" \
	2>"$tmp/b2.err"
rc2=$?
"$VIREO" bench net --socket "$sock" --seconds 2 --ring packed --json >"$tmp/b3.json" \
	2>"$tmp/b3.err"
rc3=$?
"$VIREO" bench net --socket "$sock" --seconds 2 --size 1514 --mrg --ring split --in-order --json \
	>"$tmp/b4.json" 2>"$tmp/b4.err"
rc4=$?
stop_pid "$pmd_pid"
pmd_pid=

tx1=$(json_field "$tmp/b1.json" tx_frames) rx1=$(json_field "$tmp/b1.json" rx_frames)
tx2=$(json_field "$tmp/b2.json" tx_frames) rx2=$(json_field "$tmp/b2.json" rx_frames)
tx3=$(json_field "$tmp/b3.json" tx_frames) rx3=$(json_field "$tmp/b3.json" rx_frames)
tx4=$(json_field "$tmp/b4.json" tx_frames) rx4=$(json_field "$tmp/b4.json" rx_frames)
bad1=$(($(json_field "$tmp/b1.json" rx_dropped) + $(json_field "$tmp/b1.json" rx_other)))
bad2=$(($(json_field "$tmp/b2.json" rx_dropped) + $(json_field "$tmp/b2.json" rx_other)))
bad3=$(($(json_field "$tmp/b3.json" rx_dropped) + $(json_field "$tmp/b3.json" rx_other)))
bad4=$(($(json_field "$tmp/b4.json" rx_dropped) + $(json_field "$tmp/b4.json" rx_other)))
pmd_rx=$(pmd_total RX) pmd_tx=$(pmd_total TX)
echo "# 64 bytes: sent ${tx1:-?}, received ${rx1:-?}; 1514 bytes, mrg: sent ${tx2:-?}," \
	"received ${rx2:-?}; packed: sent ${tx3:-?}, received ${rx3:-?};" \
	"in-order: sent ${tx4:-?}, received ${rx4:-?};" \
	"testpmd RX-packets ${pmd_rx:-?}, TX-packets ${pmd_tx:-?}"

tap $([ $rc1 = 0 ] && echo OK || echo FAIL) "bench net, 64-byte frames, exits 0" \
	"exit $rc1: $(tr '\n' '|' <"$tmp/b1.err")"
check "64-byte frames sent and received back" test "${tx1:-0}" -gt 0 -a "${rx1:-0}" -gt 0
check "every 64-byte frame received was well formed and ours" test "$bad1" -eq 0
tap $([ $rc2 = 0 ] && echo OK || echo FAIL) "bench net --mrg, 1514-byte frames, exits 0" \
	"exit $rc2: $(tr '\n' '|' <"$tmp/b2.err")"
check "1514-byte frames sent and received back" test "${tx2:-0}" -gt 0 -a "${rx2:-0}" -gt 0
check "every 1514-byte frame received was well formed and ours" test "$bad2" -eq 0
tap $([ $rc3 = 0 ] && echo OK || echo FAIL) "bench net --ring packed exits 0" \
	"exit $rc3: $(tr '\n' '|' <"$tmp/b3.err")"
check "packed ring negotiated" grep -q '"ring":"packed"' "$tmp/b3.json"
check "packed ring: frames sent and received back" test "${tx3:-0}" -gt 0 -a "${rx3:-0}" -gt 0
check "packed ring: every frame received was well formed and ours" test "$bad3" -eq 0
tap $([ $rc4 = 0 ] && echo OK || echo FAIL) "bench net --ring split --in-order --mrg exits 0" \
	"exit $rc4: $(tr '\n' '|' <"$tmp/b4.err")"
check "IN_ORDER negotiated (split)" grep -q '"ring":"split","in_order":true' "$tmp/b4.json"
check "IN_ORDER: frames sent and received back" test "${tx4:-0}" -gt 0 -a "${rx4:-0}" -gt 0
check "IN_ORDER: every frame received was well formed and ours" test "$bad4" -eq 0
check "testpmd RX-packets == frames we sent" \
	test "${pmd_rx:--1}" -eq $((${tx1:-0} + ${tx2:-0} + ${tx3:-0} + ${tx4:-0}))
check "testpmd TX-packets == frames we received" \
	test "${pmd_tx:--1}" -eq $((${rx1:-0} + ${rx2:-0} + ${rx3:-0} + ${rx4:-0}))
