#!/bin/bash
# TAP: I/O above 4 GiB on a sparse 8 GiB image lands at its byte position in
# the image FILE (checked with dd, not through vireo), and reads back through
# the device; both through the loopback transport (vireo blk --image) and
# through vhost-user (vireo blk --socket against vireo serve blk). A byte
# offset truncated to 32 bits anywhere on the path (driver header, device
# model, io_uring submission) would put the data 4 GiB lower: that spot must
# stay a hole of zeroes.
#   VIREO=build/vireo bash tests/cli/test_blk_high_offset.sh
set -u
vireo=${VIREO:-build/vireo}
tmp=$(mktemp -d /tmp/vireo-hioff.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
n=0 failed=0

# report OK NAME [DETAIL-FILE]
report() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		failed=$((failed + 1))
		echo "not ok $n - $2"
		[ -n "${3:-}" ] && [ -f "$3" ] && sed 's/^/# /' "$3" | tail -n 20
	fi
}

if [ ! -x "$vireo" ]; then
	echo "# $vireo is not built"
	exit 1
fi
echo "1..11"

GIB=$((1024 * 1024 * 1024))
LEN=4096
# sector (5 GiB / 512) + 7: not a multiple of 4 GiB, and not 4k-aligned
# in sectors, so a truncated or mis-scaled offset cannot land on the same bytes
SECTOR=$((5 * GIB / 512 + 7))

# file_bytes IMG OFF LEN: the image file's bytes at OFF, read directly (dd seeks)
file_bytes() {
	dd if="$1" bs=512 skip=$(($2 / 512)) count=$(($3 / 512)) status=none
}

# check NAME IMG OFF ARGS...: write 0xa5 then seed:N at OFF through the stack
# named by ARGS, and compare the file's bytes and the device's read-back.
check() {
	local name=$1 img=$2 off=$3
	shift 3
	local low=$((off % (4 * GIB)))

	"$vireo" blk "$@" write --offset "$off" --length "$LEN" --pattern 0xa5 >"$tmp/log" 2>&1
	head -c "$LEN" /dev/zero | tr '\0' '\245' >"$tmp/want.a5"
	file_bytes "$img" "$off" "$LEN" >"$tmp/got.a5"
	cmp -s "$tmp/want.a5" "$tmp/got.a5"
	report $? "$name: 0xa5 written at byte $off is in the file there" "$tmp/log"

	head -c "$LEN" /dev/zero >"$tmp/zero"
	file_bytes "$img" "$low" "$LEN" | cmp -s "$tmp/zero" -
	report $? "$name: the file at byte $low (offset mod 4 GiB) is still a hole"

	"$vireo" blk "$@" write --offset "$off" --length "$LEN" --pattern seed:9 >"$tmp/log" 2>&1 &&
		"$vireo" blk "$@" verify --offset "$off" --length "$LEN" --pattern seed:9 \
			>>"$tmp/log" 2>&1
	report $? "$name: seed pattern written and verified through the device" "$tmp/log"

	"$vireo" blk "$@" read --offset "$off" --length "$LEN" --output "$tmp/read.bin" \
		>"$tmp/log" 2>&1 &&
		file_bytes "$img" "$off" "$LEN" | cmp -s "$tmp/read.bin" - &&
		! cmp -s "$tmp/read.bin" "$tmp/want.a5"
	report $? "$name: read through the device returns the file's new bytes" "$tmp/log"
}

img=$tmp/loop.img
"$vireo" blk --image "$img" --size 8G read --offset 0 --length 512 --output /dev/null \
	>"$tmp/log" 2>&1
report $? "blk --size 8G creates the sparse image" "$tmp/log"
check "loopback" "$img" $((SECTOR * 512)) --image "$img"

img=$tmp/vu.img
truncate -s 8G "$img"
sock=$tmp/blk.sock
"$vireo" serve blk --socket "$sock" --image "$img" >"$tmp/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ]
report $? "serve blk listens" "$tmp/serve.log"
check "vhost-user" "$img" $((SECTOR * 512)) --socket "$sock"
kill "${pids[0]}"
wait "${pids[0]}"
report $? "serve blk exits 0 on SIGTERM" "$tmp/serve.log"

[ "$failed" = 0 ]
