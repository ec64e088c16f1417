#!/bin/bash
# TAP: two QEMU guests' stock Linux virtio_net drivers on `vireo serve net` behind QEMU's
# vIOMMU (issue 11): q35 with `-device intel-iommu`, guests booted with intel_iommu=on, each
# NIC virtio-net-pci with iommu_platform=on,disable-legacy=on (VIRTIO_F_ACCESS_PLATFORM). The
# guests hand the switch I/O virtual addresses, which serve net translates through the IOTLB
# QEMU fills on its misses (vhost-user.rst "IOMMU support"). In the
# guests: the NIC negotiated ACCESS_PLATFORM and sits in a translating IOMMU domain (check
# iommu), link, pings both ways, a 4 MiB TCP transfer whose md5 both ends report. On the host:
# both switch ports logged the negotiation and their IOTLB's misses and updates.
# QEMU 7.2 under TCG: the NICs get vectors=0 (INTx, tests/guest/net_lib.sh
# net_vhost_user_nic): with MSI-X vectors QEMU itself segfaults in vhost_net_start ->
# msix_set_vector_notifiers, with or without the IOMMU (docs/vhost-user.md "Behind a vIOMMU").
# iommu.strict=1 and intremap=off: as tests/interop/test_guest_iommu.sh. Strict mode puts
# each receive buffer at a fresh IOVA, so most frames meet a receive pop that misses: serve net
# holds them until the update re-kicks the queue (devices/net/net_rx_hold.c), and recycled
# IOVAs make some miss replies fail after an invalidation, which must not reset the device.
# Labels: D-VU-IOTLB-01 (ring and buffer addresses are IOVAs), D-VU-IOTLB-05 (misses asked on
# the back-end channel, I/O completes after the updates), D-VU-IOTLB-07 (a failed reply after
# an invalidation is not fatal: the transfer would stop with NEEDS_RESET).
# Exits non-zero if a check failed.
#   VIREO=build/vireo tests/interop/test_guest_net_iommu.sh   (guest in ${VIREO_GUEST_DIR:-build/guest})
set -u
plan=13
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tap_lib.sh
. "$repo/tests/interop/tap_lib.sh"
case ${VIREO_LOG:-} in debug | trace) ;; *) export VIREO_LOG=info ;; esac # for the "ACCESS_PLATFORM negotiated" and "IOTLB:" lines checked below
# shellcheck source=../guest/lib.sh
. "$repo/tests/guest/lib.sh"
# shellcheck source=../guest/net_lib.sh
. "$repo/tests/guest/net_lib.sh"
guest_test_init guest-net-iommu
trap 'net_cleanup; guest_test_cleanup' EXIT

guest_need_vireo
guest_need_qemu intel-iommu
guest_need_guest
echo "1..$plan"

mac_a=52:54:00:76:69:1a mac_b=52:54:00:76:69:1b
port=$(net_free_ports 1)
if serve_start sw "$tmp/sw.log" net --socket "$tmp/a.sock" --socket "$tmp/b.sock"; then
	tap OK "vireo serve net with two ports"
else
	tap FAIL "vireo serve net with two ports" "$(tr '\n' '|' <"$tmp/sw.log")"
fi
iommu=(-device intel-iommu,intremap=off)
net_vhost_user_nic n0 "$tmp/a.sock" $mac_a ",iommu_platform=on,disable-legacy=on"
nic_a=("${net_nic_args[@]}")
net_vhost_user_nic n0 "$tmp/b.sock" $mac_b ",iommu_platform=on,disable-legacy=on"
nic_b=("${net_nic_args[@]}")
app="intel_iommu=on iommu.strict=1 vireo.wait=60 vireo.port=$port"
ga=(--checks iommu,net_link,net_addr,net_ping,net_tcp_recv --timeout "${VIREO_GUEST_TIMEOUT:-200}" --watch "$serve_pid_sw"
	--append "$app vireo.mac=$mac_a vireo.ip=10.0.0.1/24 vireo.peer=10.0.0.2"
	-- "${iommu[@]}" "${nic_a[@]}")
gb=(--checks iommu,net_link,net_addr,net_ping,net_tcp_send --timeout "${VIREO_GUEST_TIMEOUT:-200}" --watch "$serve_pid_sw"
	--append "$app vireo.mac=$mac_b vireo.ip=10.0.0.2/24 vireo.peer=10.0.0.1"
	-- "${iommu[@]}" "${nic_b[@]}")
net_guest_start ga "${ga[@]}"
net_guest_start gb "${gb[@]}"
net_guest_wait ga gb
net_check_taps ga "guest A" iommu net_link net_ping net_tcp_recv
net_check_taps gb "guest B" iommu net_link net_ping net_tcp_send
same "the TCP stream arrived intact through IOVAs (md5 at both ends)" \
	"$(net_note gb net_tcp_send md5)" "$(net_note ga net_tcp_recv md5)"
serve_stop "$serve_pid_sw"
tap $([ "$serve_rc" = 0 ] && echo OK || echo FAIL) "vireo serve net exits 0" \
	"status $serve_rc: $(tail -n 5 "$tmp/sw.log" | tr '\n' '|')"
# Each port: ACCESS_PLATFORM negotiated, and its frames went through the
# IOTLB: misses asked on the back-end channel and answered with updates. The
# counters are logged at each connection's end, one line per port.
res=FAIL
[ "$(grep -c 'ACCESS_PLATFORM negotiated' "$tmp/sw.log")" -ge 2 ] && res=OK
tap $res "serve net: both ports negotiated ACCESS_PLATFORM" "$(grep -E 'connected|ACCESS' "$tmp/sw.log" | tr '\n' '|')"
res=FAIL
[ "$(grep -Ec 'IOTLB: [1-9][0-9]* misses asked, [1-9][0-9]* updates' "$tmp/sw.log")" -ge 2 ] && res=OK
tap $res "serve net: both ports' frames went through the IOTLB ($(grep -o 'IOTLB: [0-9]* misses asked, [0-9]* updates' "$tmp/sw.log" | tr '\n' ';'))" \
	"$(grep -E 'IOTLB|closed' "$tmp/sw.log" | tr '\n' '|')"
# shellcheck disable=SC2154 # tap_failed: tap_lib.sh
exit $((tap_failed > 0))
