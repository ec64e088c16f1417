#!/bin/bash
# TAP: --transport mmio (our virtio-mmio driver on our virtio-mmio device model,
# register accesses in-process) on `vireo blk`, `vireo bench blk` and `vireo demo`:
# data written over mmio is in the image (checked with cmp against a loopback
# write of the same pattern, and verified over both transports), the benchmark
# does I/O and says which transport it measured, and a bad value is a usage
# error naming the choices.
#   VIREO=build/vireo bash tests/cli/test_mmio_transport.sh
set -u
vireo=$(realpath "${VIREO:-build/vireo}")
tmp=$(mktemp -d /tmp/vireo-mmio.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0

echo "1..10"
# check NAME CMD...: exit status 0
check() {
	local name=$1 rc
	shift
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	n=$((n + 1))
	if [ "$rc" = 0 ]; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name"
		echo "# exit $rc, stderr: $(tr '\n' '|' <"$tmp/err")"
	fi
}
# usage NAME PATTERN CMD...: exit status 2 and PATTERN on stderr
usage() {
	local name=$1 pattern=$2 rc
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	n=$((n + 1))
	if [ "$rc" = 2 ] && grep -qE -- "$pattern" "$tmp/err"; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name"
		echo "# exit $rc (want 2), stderr: $(tr '\n' '|' <"$tmp/err")"
	fi
}

truncate -s 4M "$tmp/mmio.img" "$tmp/lb.img"
check "blk --transport mmio write" "$vireo" blk --image "$tmp/mmio.img" --transport mmio \
	--queues 2 write --offset 12345 --length 1M --pattern seed:9
check "blk --transport loopback write (the reference)" "$vireo" blk --image "$tmp/lb.img" \
	--transport loopback write --offset 12345 --length 1M --pattern seed:9
check "the two images are identical" cmp "$tmp/mmio.img" "$tmp/lb.img"
check "blk --transport mmio verify (packed)" "$vireo" blk --image "$tmp/mmio.img" \
	--transport mmio --ring packed verify --offset 12345 --length 1M --pattern seed:9
check "blk --transport mmio verify (split)" "$vireo" blk --image "$tmp/lb.img" \
	--transport mmio --ring split verify --offset 12345 --length 1M --pattern seed:9
n=$((n + 1))
if "$vireo" blk --image "$tmp/mmio.img" --transport mmio verify --offset 12345 --length 1M \
	--pattern seed:10 >/dev/null 2>&1; then
	echo "not ok $n - blk --transport mmio verify catches a wrong pattern"
else
	echo "ok $n - blk --transport mmio verify catches a wrong pattern"
fi
check "bench blk --transport mmio" "$vireo" bench blk --image "$tmp/mmio.img" --transport mmio \
	--rw randwrite --bs 4k --iodepth 8 --queues 2 --seconds 1 --json
n=$((n + 1))
if grep -q '"transport":"mmio"' "$tmp/out" && grep -q '"errors":0,' "$tmp/out" &&
	! grep -q '"ios":0,' "$tmp/out"; then
	echo "ok $n - bench blk over mmio did I/O without errors"
else
	echo "not ok $n - bench blk over mmio did I/O without errors"
	echo "# $(cat "$tmp/out")"
fi
check "demo --transport mmio" "$vireo" demo --transport mmio
grep -q "virtio-blk bound over virtio-mmio" "$tmp/out" || echo "# demo did not say virtio-mmio"
usage "a transport that does not exist" "--transport wants loopback, mmio or pci, not 'token-ring'" \
	"$vireo" blk --image "$tmp/mmio.img" --transport token-ring read --length 4k
