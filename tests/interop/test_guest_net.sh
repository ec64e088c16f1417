#!/bin/bash
# TAP: QEMU guests' stock Linux virtio_net driver (virtio-net-pci in front of -netdev
# vhost-user, memfd shared memory) on `vireo serve net`:
#   a. two guests on one switch (guest A with two queue pairs: MQ): link up and MAC as
#      configured, pings both ways, a 4 MiB TCP transfer whose md5 both ends report, and both
#      MACs learned on the right ports;
#   b. a guest on the user-mode uplink: a DHCP lease, a page from a web server on the host's
#      127.0.0.1 (10.0.2.2 in the guest), and a page the guest serves, fetched through a
#      host-forwarded port;
#   c. a guest on a tap uplink inside a network namespace this test creates and removes: ping
#      and TCP (HTTP) to an address in that namespace.
# tests/interop/test_guest_net_qemu.sh runs the same guest checks against QEMU's own
# networking: the control.
# With --packed every NIC gets packed=on (packed virtqueues, VIRTIO_F_RING_PACKED), and the
# switch's counters (SIGUSR1 while the guests of a. run) must show both ports so.
#   VIREO=build/vireo tests/interop/test_guest_net.sh [--packed]   (guest in ${VIREO_GUEST_DIR:-build/guest})
set -u
pk='' plan=25 rp=()
if [ "${1:-}" = --packed ]; then
	# ring_packed: each guest's sysfs shows VIRTIO_F_RING_PACKED negotiated.
	pk=,packed=on plan=28 rp=(ring_packed)
fi
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tap_lib.sh
. "$repo/tests/interop/tap_lib.sh"
netns=vireo-gn-$$
# shellcheck source=../guest/lib.sh
. "$repo/tests/guest/lib.sh"
guest_test_init guest-net
# shellcheck source=../guest/net_lib.sh
. "$repo/tests/guest/net_lib.sh"
cleanup() {
	net_cleanup
	serve_stop_all
	[ -n "${ns_httpd:-}" ] && kill "$ns_httpd" 2>/dev/null
	ip netns del "$netns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT


echo "1..$plan"
if ! command -v qemu-system-x86_64 >/dev/null || ! command -v busybox >/dev/null ||
	! command -v curl >/dev/null; then
	skip_rest "$plan" "needs qemu-system-x86_64, busybox and curl (Debian packages qemu-system-x86, busybox-static, curl)"
	exit 0
fi
if ! guest_ensure "$guest" >"$tmp/build.log" 2>&1; then
	skip_rest "$plan" "cannot build the test guest: $(tail -n 1 "$tmp/build.log")"
	exit 0
fi

# --- a. two guests on one switch ---
mac_a=52:54:00:76:69:0a mac_b=52:54:00:76:69:0b
port=$(net_free_ports 1)
if serve_start sw "$tmp/sw.log" net --socket "$tmp/a.sock" --socket "$tmp/b.sock" \
	--queue-pairs 2; then
	tap OK "a: vireo serve net with two ports"
else
	tap FAIL "a: vireo serve net with two ports" "$(tr '\n' '|' <"$tmp/sw.log")"
fi
net_vhost_user_nic n0 "$tmp/a.sock" $mac_a ",mq=on$pk" ",queues=2"
nic_a=("${net_nic_args[@]}")
net_vhost_user_nic n0 "$tmp/b.sock" $mac_b "$pk"
nic_b=("${net_nic_args[@]}")
ga=(--checks net_link,net_addr,net_ping,net_tcp_recv${rp:+,ring_packed} --timeout 150 --watch "$serve_pid_sw"
	--append "vireo.mac=$mac_a vireo.ip=10.0.0.1/24 vireo.peer=10.0.0.2 vireo.port=$port vireo.wait=60"
	-- "${nic_a[@]}")
gb=(--checks net_link,net_addr,net_ping,net_tcp_send${rp:+,ring_packed} --timeout 150 --watch "$serve_pid_sw"
	--append "vireo.mac=$mac_b vireo.ip=10.0.0.2/24 vireo.peer=10.0.0.1 vireo.port=$port vireo.wait=60"
	-- "${nic_b[@]}")
net_guest_start ga "${ga[@]}"
net_guest_start gb "${gb[@]}"
# Once A listens for the stream, both have pinged each other: ask the switch what it learned
# (while they run: a front-end's disconnect makes the switch forget its port's addresses).
net_wait_console ga "net_tcp_recv listening" 150 && kill -USR1 "$serve_pid_sw"
net_guest_wait ga gb
net_check_taps ga "a: guest A" net_link net_addr net_ping net_tcp_recv "${rp[@]}"
net_check_taps gb "a: guest B" net_link net_addr net_ping net_tcp_send "${rp[@]}"
same "a: guest A has the MAC QEMU was given" "$mac_a" "$(net_note ga net_link mac)"
same "a: the TCP stream arrived intact (md5 at both ends)" "$(net_note gb net_tcp_send md5)" \
	"$(net_note ga net_tcp_recv md5)"
if grep -q "learned $mac_a on port1" "$tmp/sw.log" && grep -q "learned $mac_b on port2" "$tmp/sw.log"; then
	tap OK "a: the switch learned each guest's MAC on its port"
else
	tap FAIL "a: the switch learned each guest's MAC on its port" "$(grep learned "$tmp/sw.log" | tr '\n' '|')"
fi
if [ -n "$pk" ]; then
	if grep -qE '^  port1 .*: connected; packed rings' "$tmp/sw.log" &&
		grep -qE '^  port2 .*: connected; packed rings' "$tmp/sw.log"; then
		tap OK "a: both ports ran packed rings ($(grep -m1 -oE 'packed rings:.*' "$tmp/sw.log"))"
	else
		tap FAIL "a: both ports ran packed rings" "$(grep -E '^  port[12] ' "$tmp/sw.log" | tr '\n' '|')"
	fi
fi
serve_stop "$serve_pid_sw"
tap $([ "$serve_rc" = 0 ] && echo OK || echo FAIL) "a: vireo serve net exits 0" \
	"status $serve_rc: $(tail -n 5 "$tmp/sw.log" | tr '\n' '|')"

# --- b. the user-mode uplink ---
read -r hport gport webport < <(net_free_ports 3 | tr '\n' ' ')
net_httpd_start "$webport" 256
if serve_start user "$tmp/user.log" net --socket "$tmp/u.sock" \
	--uplink "user,hostfwd=tcp:127.0.0.1:$hport-:$gport"; then
	net_vhost_user_nic n0 "$tmp/u.sock" 52:54:00:76:69:0c "$pk"
	net_guest_start gu --checks net_link,net_dhcp,net_http,net_listen --timeout 150 \
		--watch "$serve_pid_user" \
		--append "vireo.http=10.0.2.2:$webport/page vireo.port=$gport vireo.kib=1024 vireo.wait=60" \
		-- "${net_nic_args[@]}"
	fetched=no
	net_wait_console gu "net_listen ready" 120 &&
		net_fetch "http://127.0.0.1:$hport/data" "$tmp/fwd.data" 60 && fetched=yes
	net_guest_wait gu
	net_check_taps gu "b: user uplink" net_link net_dhcp net_http net_listen
	same "b: the guest got the host's page intact" "$net_httpd_md5" "$(net_note gu net_http md5)"
	same "b: the host got the guest's page through hostfwd" "$(net_note gu net_listen md5)" \
		"$([ $fetched = yes ] && md5sum <"$tmp/fwd.data" | cut -d' ' -f1)"
	[ $fetched = yes ] || echo "# hostfwd fetch:${net_fetch_log:- never tried (no ready line)}"
	serve_stop "$serve_pid_user"
	tap $([ "$serve_rc" = 0 ] && echo OK || echo FAIL) "b: vireo serve net exits 0" \
		"status $serve_rc: $(tail -n 5 "$tmp/user.log" | tr '\n' '|')"
else
	# A server that does not start is Vireo's failure, not a skip: all 7 checks of b fail.
	fail_rest $((n + 7)) "b: vireo serve net --uplink user did not start" \
		"$(tail -n 5 "$tmp/user.log" | tr '\n' '|')"
fi
net_httpd_stop

# --- c. a tap uplink in a network namespace ---
if [ "$(id -u)" -ne 0 ] || ! ip netns add "$netns" 2>/dev/null; then
	skip_rest "$plan" "needs root and ip netns (CAP_NET_ADMIN)"
	exit 0
fi
ip -n "$netns" link set lo up
# The switch runs inside the namespace, so its tap is created there; QEMU stays outside.
VIREO_NETNS_EXEC="ip netns exec $netns"
$VIREO_NETNS_EXEC "$VIREO" serve net --socket "$tmp/t.sock" --uplink tap=vtap0 \
	>"$tmp/tap.log" 2>&1 &
tap_pid=$!
serve_pids+=("$tap_pid")
for _ in $(seq 100); do [ -S "$tmp/t.sock" ] && break; sleep 0.1; done
ok=no
ip -n "$netns" addr add 10.9.9.1/24 dev vtap0 2>/dev/null && ip -n "$netns" link set vtap0 up &&
	ok=yes
tap $([ $ok = yes ] && echo OK || echo FAIL) "c: tap uplink vtap0 up in namespace $netns" \
	"$(tr '\n' '|' <"$tmp/tap.log")"
mkdir -p "$tmp/nsweb"
head -c 262144 /dev/urandom >"$tmp/nsweb/page"
ip netns exec "$netns" busybox httpd -f -p 10.9.9.1:8080 -h "$tmp/nsweb" &
ns_httpd=$!
net_vhost_user_nic n0 "$tmp/t.sock" 52:54:00:76:69:0d "$pk"
net_guest_start gt --checks net_link,net_addr,net_ping,net_http --timeout 150 --watch "$tap_pid" \
	--append "vireo.ip=10.9.9.2/24 vireo.peer=10.9.9.1 vireo.http=10.9.9.1:8080/page vireo.wait=60" \
	-- "${net_nic_args[@]}"
net_guest_wait gt
net_check_taps gt "c: tap uplink" net_ping net_http
same "c: the page from the namespace arrived intact" "$(md5sum <"$tmp/nsweb/page" | cut -d' ' -f1)" \
	"$(net_note gt net_http md5)"
serve_stop "$tap_pid"
tap $([ "$serve_rc" = 0 ] && echo OK || echo FAIL) "c: vireo serve net exits 0" \
	"status $serve_rc: $(tail -n 5 "$tmp/tap.log" | tr '\n' '|')"
