#!/bin/bash
# `make run`: boots a QEMU VM whose disk, entropy source and network are Vireo's. Builds the
# test guest if it is missing, serves a fresh disk image with `vireo serve blk`, an rng with
# `vireo serve rng` and a network with `vireo serve net --uplink user` (DHCP, the host's
# 127.0.0.1 as 10.0.2.2), starts a small web server on the host's 127.0.0.1, boots QEMU with
# vhost-user-blk-pci, vhost-user-rng-pci and a virtio-net-pci on vhost-user, shows what the
# guest's own virtio drivers report (its lease and the page it fetched from the host), shuts
# everything down. Exit 0 if every check passed.
#   tests/guest/demo.sh [BUILD_DIR]      (default build; needs BUILD_DIR/vireo)
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
O=${1:-build}
case "$O" in /*) ;; *) O=$repo/$O ;; esac
VIREO=$O/vireo
guest=${VIREO_GUEST_DIR:-$O/guest}
say() { echo "run: $*"; }

[ -x "$VIREO" ] || { say "no $VIREO: build it first (make)"; exit 1; }
# Shared memory for the image if there is some: the guest's writes then never touch a disk.
shm=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && shm=/dev/shm
tmp=$(mktemp -d "$shm/vireo-run.XXXXXX")
# shellcheck source=lib.sh
. "$repo/tests/guest/lib.sh"
# shellcheck source=net_lib.sh
. "$repo/tests/guest/net_lib.sh"
trap 'net_cleanup; serve_stop_all; rm -rf "$tmp"' EXIT
t0=$SECONDS

say "test guest: Debian's cloud kernel, busybox and the virtio modules, in $guest"
guest_ensure "$guest" || { say "cannot build the test guest (see above)"; exit 1; }

img=$tmp/disk.img
truncate -s 64M "$img"
say "disk: a fresh 64 MiB image, $img"
if ! serve_start blk "$tmp/blk.log" blk --socket "$tmp/blk.sock" --image "$img" --queues 2 \
	--serial vireo-demo; then
	say "vireo serve blk did not start:"
	sed 's/^/  /' "$tmp/blk.log"
	exit 1
fi
say "vireo serve blk: pid $serve_pid_blk, socket $tmp/blk.sock, 2 queues, serial vireo-demo"
if ! serve_start rng "$tmp/rng.log" rng --socket "$tmp/rng.sock"; then
	say "vireo serve rng did not start:"
	sed 's/^/  /' "$tmp/rng.log"
	exit 1
fi
say "vireo serve rng: pid $serve_pid_rng, socket $tmp/rng.sock"

if ! web=$(net_free_ports 1) || ! net_httpd_start "$web" 64; then
	say "cannot start a web server on 127.0.0.1 (busybox httpd)"
	exit 1
fi
say "web server: busybox httpd on 127.0.0.1:$web, serving a 64 KiB page (md5 $net_httpd_md5)"
if ! serve_start net "$tmp/net.log" net --socket "$tmp/net.sock" --uplink user; then
	say "vireo serve net did not start:"
	sed 's/^/  /' "$tmp/net.log"
	exit 1
fi
say "vireo serve net: pid $serve_pid_net, socket $tmp/net.sock, user-mode uplink" \
	"(10.0.2.0/24, DHCP, the host's 127.0.0.1 as 10.0.2.2)"
net_vhost_user_nic n0 "$tmp/net.sock" 52:54:00:76:69:01

say "booting QEMU ($(accel_name), q35, 2 vCPUs, 512 MiB of shared memfd memory) with" \
	"vhost-user-blk-pci, vhost-user-rng-pci and virtio-net-pci on vhost-user"
say "the guest's stock Linux virtio drivers now write and verify /dev/vda on both queues," \
	"read its serial and /dev/hwrng, get an address by DHCP and fetch the host's page:"
tb=$SECONDS
VIREO_GUEST_DIR=$guest "$repo/tests/guest/run.sh" \
	--checks blk_rw,blk_serial,blk_mq,rng,net_link,net_dhcp,net_http \
	--serial vireo-demo --timeout 120 --watch "$serve_pid_blk" --watch "$serve_pid_rng" \
	--watch "$serve_pid_net" --append "vireo.http=10.0.2.2:$web/page vireo.wait=30" -- \
	-chardev socket,id=c0,path="$tmp/blk.sock" -device vhost-user-blk-pci,chardev=c0,num-queues=2 \
	-chardev socket,id=c1,path="$tmp/rng.sock" -device vhost-user-rng-pci,chardev=c1 \
	"${net_nic_args[@]}" 2>&1 | tee "$tmp/demo.out" | sed -u 's/^/  guest: /'
guest_rc=${PIPESTATUS[0]}
say "guest powered off after $((SECONDS - tb)) s; stopping the servers"

ok=1
[ "$guest_rc" -eq 0 ] || ok=0
note() { # note CHECK KEY: KEY=value from the guest's passed CHECK
	sed -n "s/^VIREO-CHECK $1 PASS //p" "$tmp/demo.out" | tr ' ' '\n' | sed -n "s/^$2=//p"
}
lease=$(note net_dhcp ip) got=$(note net_http md5)
if [ -n "$lease" ] && [ "$got" = "$net_httpd_md5" ]; then
	say "network: the guest leased $lease from vireo serve net's user-mode uplink and fetched" \
		"http://10.0.2.2:$web/page: $(note net_http bytes) bytes, md5 $got, as served"
else
	say "network: lease '${lease:-none}', page md5 '${got:-none}' (want $net_httpd_md5)"
	ok=0
fi
net_httpd_stop
for s in blk rng net; do
	pid_var=serve_pid_$s
	if serve_stop "${!pid_var}"; then
		say "vireo serve $s: exited cleanly"
	else
		say "vireo serve $s: exit status $serve_rc; its log:"
		sed 's/^/  /' "$tmp/$s.log"
		ok=0
	fi
done
say "the image on the host now holds $(($(tr -d '\0' <"$img" | wc -c) / 1024)) KiB of non-zero" \
	"data written by the guest"
if [ $ok -eq 1 ]; then
	say "done in $((SECONDS - t0)) s: every check passed"
	exit 0
fi
say "FAILED after $((SECONDS - t0)) s"
exit 1
