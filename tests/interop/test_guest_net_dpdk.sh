#!/bin/bash
# TAP: the control for the vhost-user network guest tests: two guests whose NICs are
# QEMU vhost-user netdevs (net_vhost_user_nic, as the `vireo serve net` tests will use) served
# by DPDK's net_vhost, with testpmd io-forwarding between the two ports as the "switch". The
# guests ping each other and move 4 MiB over TCP; the md5 both ends report must match, and
# testpmd must have forwarded the frames both ways. No Vireo involved.
# run-tests: once (QEMU's or DPDK's own devices: no Vireo in the path, not per build)
#   tests/interop/test_guest_net_dpdk.sh     (guest in ${VIREO_GUEST_DIR:-build/guest})
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tap_lib.sh
. "$repo/tests/interop/tap_lib.sh"
# shellcheck source=../guest/lib.sh
. "$repo/tests/guest/lib.sh"
guest_test_init guest-net-dpdk
# shellcheck source=../guest/net_lib.sh
. "$repo/tests/guest/net_lib.sh"
# shellcheck source=dpdk_lib.sh
. "$repo/tests/interop/dpdk_lib.sh"
trap 'net_cleanup; dpdk_stop; guest_test_cleanup' EXIT

guest_need_qemu
dpdk_available || skip_all "$dpdk_reason"
guest_need_guest


start=$SECONDS
if ! dpdk_switch_start "$tmp/a.sock" "$tmp/b.sock"; then
	tap FAIL "testpmd serves two net_vhost ports" "$(tail -n 5 "$dpdk_switch_log" | tr '\n' '|')"
	echo "1..$n"
	exit 0
fi
tap OK "testpmd serves two net_vhost ports"
net_vhost_user_nic n0 "$tmp/a.sock" 52:54:00:76:69:1a
a=(--checks net_link,net_addr,net_ping,net_tcp_recv --timeout 120 --watch "$dpdk_switch_pid"
	--append "vireo.mac=52:54:00:76:69:1a vireo.ip=10.0.0.1/24 vireo.peer=10.0.0.2 vireo.wait=60"
	-- "${net_nic_args[@]}")
net_vhost_user_nic n0 "$tmp/b.sock" 52:54:00:76:69:1b
b=(--checks net_link,net_addr,net_ping,net_tcp_send --timeout 120 --watch "$dpdk_switch_pid"
	--append "vireo.mac=52:54:00:76:69:1b vireo.ip=10.0.0.2/24 vireo.peer=10.0.0.1 vireo.wait=60"
	-- "${net_nic_args[@]}")
net_guest_pair a b
net_check_taps a a net_link net_addr net_ping net_tcp_recv
net_check_taps b b net_link net_addr net_ping net_tcp_send
want=$(net_note b net_tcp_send md5)
got=$(net_note a net_tcp_recv md5)
if [ -n "$want" ] && [ "$want" = "$got" ]; then
	tap OK "b's 4 MiB arrived intact at a ($got)"
else
	tap FAIL "b's 4 MiB arrived intact at a" "sent '$want', received '$got'"
fi

# testpmd's view: port 1 (b) received the stream and port 0 (a) sent it on, and back.
dpdk_stop "$dpdk_switch_pid"
p0=$(dpdk_port_counts "$dpdk_switch_log" 0)
p1=$(dpdk_port_counts "$dpdk_switch_log" 1)
rx1=$(echo "$p1" | sed -n 's/.*rx_packets=\([0-9]*\).*/\1/p')
tx0=$(echo "$p0" | sed -n 's/.*tx_packets=\([0-9]*\).*/\1/p')
rx0=$(echo "$p0" | sed -n 's/.*rx_packets=\([0-9]*\).*/\1/p')
if [ "${rx1:-0}" -gt 100 ] && [ "${tx0:-0}" -gt 100 ] && [ "${rx0:-0}" -gt 0 ]; then
	tap OK "testpmd forwarded b->a $rx1 frames (sent $tx0), a->b $rx0"
else
	tap FAIL "testpmd forwarded frames both ways" "port 0: $p0" "port 1: $p1"
fi
echo "# $((SECONDS - start)) s"
echo "1..$n"
