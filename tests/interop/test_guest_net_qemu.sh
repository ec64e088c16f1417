#!/bin/bash
# TAP: the control for the virtio-net guest tests: the guest's net_* checks against QEMU's
# own networking (no Vireo), so a failure with `vireo serve net` is known to be Vireo's and
# not the guest's. Boot 1: user-mode networking (slirp): DHCP, a page from a host web server
# at 10.0.2.2, and a page served by the guest fetched through a host port forward. Boots 2+3,
# at once: two guests joined by a QEMU socket netdev: pings both ways and a 4 MiB TCP transfer
# whose md5 both ends report.
# run-tests: once (QEMU's or DPDK's own devices: no Vireo in the path, not per build)
#   tests/interop/test_guest_net_qemu.sh     (guest in ${VIREO_GUEST_DIR:-build/guest})
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tap_lib.sh
. "$repo/tests/interop/tap_lib.sh"
# shellcheck source=../guest/lib.sh
. "$repo/tests/guest/lib.sh"
guest_test_init guest-net-qemu
# shellcheck source=../guest/net_lib.sh
. "$repo/tests/guest/net_lib.sh"
trap 'net_cleanup; guest_test_cleanup' EXIT

guest_need_qemu
command -v curl >/dev/null || skip_all "no curl (Debian package curl)"
command -v busybox >/dev/null || skip_all "no busybox (Debian package busybox-static)"
guest_need_guest

read -r p_http p_fwd p_sock < <(net_free_ports 3 | tr '\n' ' ')
[ -n "$p_sock" ] || skip_all "no free TCP ports"

# Boot 1: slirp. The guest serves net_listen's data on port 8080, forwarded from p_fwd.
net_httpd_start "$p_http" 256 || skip_all "busybox httpd does not start on port $p_http"
mac=52:54:00:76:69:01
start=$SECONDS
net_guest_start user --checks net_link,net_dhcp,net_http,net_listen --timeout 90 \
	--append "vireo.mac=$mac vireo.http=10.0.2.2:$p_http/page vireo.port=8080 vireo.kib=1024" \
	-- -netdev user,id=n0,hostfwd=tcp:127.0.0.1:"$p_fwd"-:8080 \
	-device virtio-net-pci,netdev=n0,mac=$mac
fetched=FAIL
if net_wait_console user 'net_listen ready' 60 &&
	net_fetch "http://127.0.0.1:$p_fwd/data" "$tmp/fetched" 30; then
	fetched=OK
fi
net_guest_wait user
net_check_taps user "slirp" net_link net_dhcp net_http net_listen
same "slirp: the guest got the host's page (md5)" "$net_httpd_md5" \
	"$(net_note user net_http md5)"
same "slirp: the guest got the host's page (bytes)" "$net_httpd_bytes" \
	"$(net_note user net_http bytes)"
if [ $fetched = OK ]; then
	same "slirp: the host fetched the guest's page through the forward (md5)" \
		"$(net_note user net_listen md5)" "$(md5sum <"$tmp/fetched" | cut -d' ' -f1)"
else
	tap FAIL "slirp: the host fetched the guest's page through the forward" \
		"no answer on 127.0.0.1:$p_fwd"
fi
net_httpd_stop
echo "# slirp boot: $((SECONDS - start)) s"

# Boots 2+3: a and b on one Ethernet segment (QEMU's socket netdev: a listens, b connects).
start=$SECONDS
common=(--timeout 120 --append)
guest_a=(--checks net_link,net_addr,net_ping,net_tcp_recv "${common[@]}"
	"vireo.mac=52:54:00:76:69:0a vireo.ip=10.0.0.1/24 vireo.peer=10.0.0.2 vireo.port=5201
	 vireo.kib=4096 vireo.wait=60" --
	-netdev socket,id=n0,listen=127.0.0.1:"$p_sock"
	-device virtio-net-pci,netdev=n0,mac=52:54:00:76:69:0a)
guest_b=(--checks net_link,net_addr,net_ping,net_tcp_send "${common[@]}"
	"vireo.mac=52:54:00:76:69:0b vireo.ip=10.0.0.2/24 vireo.peer=10.0.0.1 vireo.port=5201
	 vireo.kib=4096 vireo.wait=60" --
	-netdev socket,id=n0,connect=127.0.0.1:"$p_sock"
	-device virtio-net-pci,netdev=n0,mac=52:54:00:76:69:0b)
net_guest_pair guest_a guest_b "$p_sock"
net_check_taps guest_a "socket a" net_link net_addr net_ping net_tcp_recv
net_check_taps guest_b "socket b" net_link net_addr net_ping net_tcp_send
same "socket: b's 4 MiB arrived intact at a (md5)" "$(net_note guest_b net_tcp_send md5)" \
	"$(net_note guest_a net_tcp_recv md5)"
echo "# socket pair: $((SECONDS - start)) s"

# Boot 4: the checks can fail: a MAC other than QEMU's, a missing page, a peer that is not
# there (waited for 3 s).
start=$SECONDS
net_httpd_start "$p_http" 4 || skip_all "busybox httpd does not start on port $p_http"
net_guest_start bad --checks net_link,net_dhcp,net_http,net_ping --timeout 90 \
	--append "vireo.mac=52:54:00:76:69:ff vireo.http=10.0.2.2:$p_http/missing vireo.peer=10.0.2.77 vireo.wait=3" \
	-- -netdev user,id=n0 -device virtio-net-pci,netdev=n0,mac=52:54:00:76:69:02
net_guest_wait bad
net_httpd_stop
# expect_fail CHECK LABEL PATTERN: CHECK failed with a reason matching PATTERN.
expect_fail() {
	local r
	r=$(net_result bad "$1")
	case "$r" in
	FAIL*) echo "$r" | grep -qE "$3" && tap OK "$2: $r" && return ;;
	esac
	tap FAIL "$2" "got '$r'"
}
expect_fail net_link "negative: net_link fails on a wrong vireo.mac" "MAC is 52:54:00:76:69:02"
net_check_taps bad "negative" net_dhcp
expect_fail net_http "negative: net_http fails on a 404" "wget"
expect_fail net_ping "negative: net_ping fails without a peer" "did not answer within 3s"
echo "# negative boot: $((SECONDS - start)) s"
echo "1..$n"
