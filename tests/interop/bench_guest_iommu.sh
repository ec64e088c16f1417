#!/bin/bash
# Not a test: issue 11 "Performance", `vireo serve blk` behind a vIOMMU guest. A q35 guest
# with -device intel-iommu,intremap=off and intel_iommu=on iommu.strict=1 (as
# tests/interop/test_guest_iommu.sh boots it) runs fio 4k randread and randwrite at iodepth
# 32 (check blk_perf) on vhost-user-blk-pci with iommu_platform=on (ACCESS_PLATFORM: every
# address an IOVA, QEMU answering serve's IOTLB misses) and iommu_platform=off (guest
# physical addresses), ROUNDS boots each, alternating, image on /dev/shm. Prints each boot's
# IOPS and serve's IOTLB counters (its exit print). Under TCG the guest's CPU (and its strict
# IOMMU unmapping every buffer) bounds the figures: a ranking, not the back-end's cost.
#   tests/interop/bench_guest_iommu.sh [ROUNDS]     (VIREO=build/vireo by default)
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
VIREO=${VIREO:-$repo/build/vireo}
guest=${VIREO_GUEST_DIR:-$repo/build/guest}
rounds=${1:-3}
shm=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && shm=/dev/shm
tmp=$(mktemp -d "$shm/vireo-guest-iommu-rank.XXXXXX")
# shellcheck source=../guest/lib.sh
. "$repo/tests/guest/lib.sh"
trap 'serve_stop_all; rm -rf "$tmp"' EXIT
command -v qemu-system-x86_64 >/dev/null || { echo "no qemu-system-x86_64" >&2; exit 2; }
guest_ensure "$guest" || exit 1

echo "iommu_platform  round  $(accel_name) guest intel_iommu=on iommu.strict=1, 4k qd32, 1 queue"
for r in $(seq "$rounds"); do
	for ap in on off; do
		truncate -s 0 "$tmp/disk.img"
		truncate -s 64M "$tmp/disk.img"
		rm -f "$tmp/sock"
		serve_pid_be=
		serve_start be "$tmp/be.log" blk --socket "$tmp/sock" --image "$tmp/disk.img" || exit 1
		# intremap=off: interrupt remapping needs a split irqchip, which TCG does not have.
		line=$(VIREO_GUEST_DIR=$guest "$repo/tests/guest/run.sh" --checks blk_perf \
			--timeout 300 --append "intel_iommu=on iommu.strict=1" \
			--watch "$serve_pid_be" -- -device intel-iommu,intremap=off \
			-chardev socket,id=c0,path="$tmp/sock" \
			-device vhost-user-blk-pci,chardev=c0,num-queues=1,disable-legacy=on,iommu_platform=$ap \
			2>&1 | grep 'VIREO-CHECK')
		serve_stop "$serve_pid_be"
		tlb=$(grep 'iotlb:' "$tmp/be.log" | tail -1 | sed 's/.*iotlb: //')
		printf '%-14s %5d  %s%s\n' "$ap" "$r" "${line#VIREO-CHECK blk_perf }" \
			"${tlb:+ | serve iotlb: $tlb}"
	done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
