#!/bin/bash
# Not a test: ranks back-ends by in-guest fio IOPS (4k, iodepth 32, one queue, image on
# /dev/shm) with the guest's stock virtio-blk driver: `vireo serve blk` against
# qemu-storage-daemon's vhost-user-blk export, ROUNDS boots each, alternating. Under TCG the
# guest's CPU bounds the figures: a ranking only.
#   tests/interop/guest_fio_rank.sh [ROUNDS]     (VIREO=build/vireo by default)
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
VIREO=${VIREO:-$repo/build/vireo}
guest=${VIREO_GUEST_DIR:-$repo/build/guest}
rounds=${1:-3}
shm=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && shm=/dev/shm
tmp=$(mktemp -d "$shm/vireo-rank.XXXXXX")
# shellcheck source=../guest/lib.sh
. "$repo/tests/guest/lib.sh"
trap 'serve_stop_all; rm -rf "$tmp"' EXIT
guest_ensure "$guest" || exit 1

# start_backend vireo|qsd: serve $tmp/disk.img on $tmp/sock; sets serve_pid_be.
start_backend() {
	rm -f "$tmp/sock"
	case "$1" in
	vireo) serve_start be "$tmp/be.log" blk --socket "$tmp/sock" --image "$tmp/disk.img" ;;
	qsd)
		qemu-storage-daemon --blockdev driver=file,node-name=f0,filename="$tmp/disk.img" \
			--blockdev driver=raw,node-name=d0,file=f0 \
			--export type=vhost-user-blk,id=e0,node-name=d0,addr.type=unix,addr.path="$tmp/sock",writable=on,num-queues=1 \
			>"$tmp/be.log" 2>&1 &
		serve_pid_be=$!
		serve_pids+=("$serve_pid_be")
		for _ in $(seq 50); do [ -S "$tmp/sock" ] && break; sleep 0.1; done
		;;
	esac
}

echo "backend  round  $(accel_name) guest, 4k qd32, 1 queue"
for r in $(seq "$rounds"); do
	for be in vireo qsd; do
		truncate -s 0 "$tmp/disk.img"
		truncate -s 64M "$tmp/disk.img"
		start_backend $be
		line=$(VIREO_GUEST_DIR=$guest "$repo/tests/guest/run.sh" --checks blk_perf \
			--watch "$serve_pid_be" -- -chardev socket,id=c0,path="$tmp/sock" \
			-device vhost-user-blk-pci,chardev=c0,num-queues=1 2>&1 | grep 'VIREO-CHECK')
		serve_stop "$serve_pid_be"
		printf '%-8s %5d  %s\n' $be "$r" "${line#VIREO-CHECK blk_perf }"
	done
done
