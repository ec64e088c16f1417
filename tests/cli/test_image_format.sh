#!/bin/bash
# TAP: raw images only. An image that qemu-img made in another format (qcow2,
# VMDK) is refused by `vireo blk`, `vireo bench blk` and `vireo serve blk` with
# one line naming the format, unless `--format raw` is given; any other
# --format value is a usage error. An image that cannot be opened read-write
# gets --readonly suggested, and --readonly then works (run as nobody).
#   VIREO=build/vireo bash tests/cli/test_image_format.sh
set -u
vireo=$(realpath "${VIREO:-build/vireo}")
tmp=$(mktemp -d /tmp/vireo-fmt.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0

echo "1..12"
# check NAME WANT-RC PATTERN CMD...: exit status WANT-RC and PATTERN on stderr
check() {
	local name=$1 want=$2 pattern=$3 rc
	shift 3
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	n=$((n + 1))
	if [ "$rc" = "$want" ] && { [ -z "$pattern" ] || grep -qE -- "$pattern" "$tmp/err"; }; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name"
		echo "# exit $rc (want $want), stderr: $(tr '\n' '|' <"$tmp/err")"
	fi
}

qemu-img create -q -f qcow2 "$tmp/disk.qcow2" 1M
qemu-img create -q -f vmdk "$tmp/disk.vmdk" 1M
truncate -s 1M "$tmp/disk.raw"

check "blk refuses a qcow2 image" 1 "looks like a qcow2 image" \
	"$vireo" blk --image "$tmp/disk.qcow2" read --length 4k --output /dev/null
check "blk refuses a VMDK image" 1 "looks like a VMDK image" \
	"$vireo" blk --image "$tmp/disk.vmdk" read --length 4k --output /dev/null
check "bench blk refuses a qcow2 image" 1 "looks like a qcow2 image" \
	"$vireo" bench blk --image "$tmp/disk.qcow2" --rw read --bs 4k --iodepth 1 --seconds 1
check "serve blk refuses a qcow2 image" 1 "looks like a qcow2 image" \
	"$vireo" serve blk --socket "$tmp/s.sock" --image "$tmp/disk.qcow2"
check "blk --format raw serves its bytes" 0 "" \
	"$vireo" blk --image "$tmp/disk.qcow2" --format raw read --length 4k --output "$tmp/head"
cmp -s -n 4096 "$tmp/head" "$tmp/disk.qcow2"
n=$((n + 1))
[ $? = 0 ] && echo "ok $n - ... the same bytes as the file" || echo "not ok $n - ... the same bytes as the file"
check "--format other than raw is a usage error" 2 "only raw images" \
	"$vireo" blk --image "$tmp/disk.raw" --format qcow2 read --length 4k
check "a raw image needs no --format" 0 "" \
	"$vireo" blk --image "$tmp/disk.raw" read --length 4k --output /dev/null

# Read-only for the user: --readonly suggested, and it works.
chmod 755 "$tmp"
chmod 444 "$tmp/disk.raw"
if [ "$(id -u)" != 0 ]; then
	for i in 1 2 3 4; do
		n=$((n + 1))
		echo "ok $n # SKIP: needs root to run as nobody (sudo make test, or CI)"
	done
	exit 0
fi
as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
check "blk: a read-only image suggests --readonly" 1 "Permission denied.*try --readonly" \
	"${as_nobody[@]}" "$vireo" blk --image "$tmp/disk.raw" read --length 4k --output /dev/null
check "blk --readonly then reads it" 0 "" \
	"${as_nobody[@]}" "$vireo" blk --image "$tmp/disk.raw" --readonly read --length 4k \
	--output /dev/null
check "serve blk: a read-only image suggests --readonly" 1 "Permission denied.*try --readonly" \
	"${as_nobody[@]}" "$vireo" serve blk --socket "$tmp/n.sock" --image "$tmp/disk.raw"
check "bench blk reads a read-only image (opened read-only for reads)" 0 "" \
	"${as_nobody[@]}" "$vireo" bench blk --image "$tmp/disk.raw" --rw randread --bs 4k \
	--iodepth 1 --seconds 1
