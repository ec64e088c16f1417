#!/bin/bash
# TAP: the programs in examples/, as built beside the vireo command: loopback_pair writes and
# reads a block of an image in one process; blk_backend serves an image over vhost-user to
# blk_frontend and to `vireo blk --socket`, and stops cleanly on SIGTERM. Each block written
# is looked for in the image file itself, not only in what the driver reads back.
#   VIREO=build/vireo bash tests/cli/test_examples.sh
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../interop/tap_lib.sh
. "$repo/tests/interop/tap_lib.sh"
VIREO=${VIREO:-build/vireo}
examples=$(dirname "$VIREO")/examples
tmp=$(mktemp -d /tmp/vireo-examples.XXXXXX)
backend_pid=
trap '[ -n "$backend_pid" ] && kill "$backend_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
plan=11
echo "1..$plan"

# quiet COMMAND...: COMMAND with its stdout dropped (TAP owns ours).
quiet() {
	"$@" >/dev/null
}

# block_holds IMAGE SECTOR TEXT: the 512-byte block SECTOR of IMAGE contains TEXT.
block_holds() {
	dd if="$1" bs=512 skip="$2" count=1 status=none | grep -aqF "$3"
}

truncate -s 1M "$tmp/loop.img"
out=$("$examples/loopback_pair" "$tmp/loop.img" 5 2>&1)
same "loopback_pair writes and reads back sector 5" \
	"loopback_pair: sector 5 of 2048 written and read back" "$out"
check "the block is in the image at sector 5" \
	block_holds "$tmp/loop.img" 5 "vireo loopback_pair example, sector 5"
"$examples/loopback_pair" >/dev/null 2>&1
same "loopback_pair without an image: usage, exit 2" 2 $?

truncate -s 4M "$tmp/disk.img"
sock=$tmp/blk.sock
"$examples/blk_backend" "$sock" "$tmp/disk.img" >"$tmp/backend.out" 2>&1 &
backend_pid=$!
for _ in $(seq 100); do
	[ -S "$sock" ] && break
	sleep 0.1
done
if ! [ -S "$sock" ]; then
	tap FAIL "blk_backend listens on its socket" "$(cat "$tmp/backend.out")"
	fail_rest $plan "blk_backend" "the back-end did not start"
	exit 0
fi
tap OK "blk_backend listens on its socket"
out=$("$examples/blk_frontend" "$sock" 100 2>&1)
same "blk_frontend writes and reads back sector 100 through blk_backend" \
	"blk_frontend: sector 100 of 8192 written and read back" "$out"
check "the block is in blk_backend's image at sector 100" \
	block_holds "$tmp/disk.img" 100 "vireo blk_frontend example, sector 100"
check "vireo blk --socket writes through blk_backend" \
	quiet "$VIREO" blk --socket "$sock" write --offset 1M --length 256k --pattern 9
check "vireo blk --socket verifies through blk_backend" \
	quiet "$VIREO" blk --socket "$sock" verify --offset 1M --length 256k --pattern 9
check "the pattern is in the image (byte 0x09 at 1 MiB)" \
	test "$(od -An -tx1 -j $((1 << 20)) -N 1 "$tmp/disk.img" | tr -d ' ')" = 09
kill -TERM "$backend_pid"
for _ in $(seq 100); do
	kill -0 "$backend_pid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$backend_pid" 2>/dev/null; then
	tap FAIL "blk_backend exits 0 on SIGTERM" "still running 10 s after SIGTERM"
else
	wait "$backend_pid"
	same "blk_backend exits 0 on SIGTERM" 0 $?
fi
backend_pid=
check "blk_backend removed its socket" test ! -e "$sock"
