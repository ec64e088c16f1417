#!/bin/bash
# Smoke test of the built vireo command (TAP): bad arguments exit 2 with one
# line on stderr, help exits 0, and a blk write/verify/read round trip
# through the driver, the loopback transport and the device model.
# Usage: VIREO=build/vireo bash tests/cli/test_cli.sh
set -u
VIREO=${VIREO:-build/vireo}
tmp=$(mktemp -d /tmp/vireo-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
img=$tmp/disk.img
n=0 failed=0

echo "1..68"

report() { # report OK NAME [DETAIL]
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		failed=$((failed + 1))
		echo "not ok $n - $2"
		[ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/# /'
	fi
}

# run ARGS...: sets rc, out (stdout) and err (stderr)
run() {
	"$VIREO" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

# usage_error NAME ARGS...: exit 2, exactly one line on stderr, nothing on stdout
usage_error() {
	local name=$1
	shift
	run "$@"
	local lines
	lines=$(wc -l <"$tmp/err")
	[ "$rc" = 2 ] && [ "$lines" = 1 ] && [ -z "$out" ]
	report $? "$name" "exit $rc, $lines stderr lines: $err"
}

# expect NAME RC ARGS...: exit status RC
expect() {
	local name=$1 want=$2
	shift 2
	run "$@"
	[ "$rc" = "$want" ]
	report $? "$name" "exit $rc (want $want): $err"
}

if [ ! -x "$VIREO" ]; then
	echo "# $VIREO is not built"
	exit 1
fi

usage_error "no command"
usage_error "unknown command" frobnicate
usage_error "blk: unknown option" blk --bogus
usage_error "serve blk: unknown option" serve blk --bogus
usage_error "serve net: unknown option" serve net --bogus
VIREO_LOG=loud usage_error "VIREO_LOG with an unknown level" --version
grep -q "error, warn, info, debug" "$tmp/err"
report $? "... names the valid levels"
usage_error "blk: missing --image" blk write --length 4k
usage_error "blk: bad size" blk --image "$img" write --length 12Q
usage_error "blk: unknown action" blk --image "$img" --length 4k scribble
usage_error "blk: --queues out of range" blk --image "$img" --queues 99 read --length 4k
usage_error "bench: unknown kind" bench frob
usage_error "bench blk: bad --rw" bench blk --image "$img" --rw sideways --bs 4k --iodepth 1
usage_error "bench blk: --iodepth 0" bench blk --image "$img" --iodepth 0
# blk and bench blk share their target options (tools/blk_target.c): the same refusals.
for c in "blk:read --length 4k" "bench blk:"; do
	cmd=${c%%:*} tail=${c#*:}
	# shellcheck disable=SC2086
	usage_error "$cmd: --reconnect without --socket" $cmd --image "$img" --reconnect 100 $tail
	# shellcheck disable=SC2086
	usage_error "$cmd: --transport with --socket" $cmd --socket "$tmp/none.sock" \
		--transport mmio $tail
	# shellcheck disable=SC2086
	usage_error "$cmd: --iommu without --socket" $cmd --image "$img" --iommu $tail
done

# The same short option means the same long option in every subcommand's --help.
for c in "blk" "bench blk" "bench net" "bench ring" "serve" "serve net" "demo"; do
	# shellcheck disable=SC2086
	"$VIREO" $c --help | grep -oE '^ +-[a-zA-Z], --[a-z-]+' | sed 's/^ *//'
done | sort -u >"$tmp/shorts"
clash=$(cut -d, -f1 "$tmp/shorts" | uniq -d | tr '\n' ' ')
[ -z "$clash" ]
report $? "a short option means the same in every subcommand" "$clash: $(tr '\n' ' ' <"$tmp/shorts")"
expect "--help" 0 --help
grep -q '^usage: vireo' "$tmp/out"
report $? "--help prints usage on stdout"
expect "--version" 0 --version
expect "help blk" 0 help blk
expect "help bench blk" 0 help bench blk
expect "help serve net" 0 help serve net
grep -q '^usage: vireo serve net' "$tmp/out"
report $? "help serve net prints serve net's own help"

expect "blk write (creates the image)" 0 blk --image "$img" --size 8M write \
	--offset 1000 --length 300k --pattern seed:5
expect "blk verify" 0 blk --image "$img" verify --offset 1000 --length 300k --pattern seed:5
run blk --image "$img" verify --offset 1000 --length 300k --pattern seed:6
[ "$rc" = 1 ] && grep -q 'mismatch at offset 1000' "$tmp/err"
report $? "blk verify with another pattern fails at the first byte" "exit $rc: $err"
run blk --image "$img" verify --offset 999 --length 2 --pattern seed:5
[ "$rc" = 1 ] && grep -q 'mismatch at offset 999' "$tmp/err"
report $? "blk verify names the first bad offset" "exit $rc: $err"

expect "blk read --output" 0 blk --image "$img" read --offset 1000 --length 300k \
	--output "$tmp/read.bin"
tail -c +1001 "$img" | head -c $((300 * 1024)) >"$tmp/direct.cut"
cmp -s "$tmp/read.bin" "$tmp/direct.cut"
report $? "blk read returns the file's bytes"

expect "blk --readonly write fails" 1 blk --image "$img" --readonly write --length 4k
usage_error "blk: range past the end" blk --image "$img" read --offset 8M --length 1
expect "blk --queues 4 write" 0 blk --image "$img" --queues 4 write --length 64k --pattern 0xa5

# --ring: a bad format is a usage error; split round-trips; packed either
# works (the same bytes come back) or, while the device model does not offer
# VIRTIO_F_RING_PACKED, fails with exit 1 and says so.
usage_error "blk: bad --ring" blk --image "$img" --ring hexagonal read --length 1
expect "blk --ring split write" 0 blk --image "$img" --ring split write --length 64k --pattern seed:7
run blk --image "$img" --ring packed verify --length 64k --pattern seed:7
{ [ "$rc" = 0 ]; } || { [ "$rc" = 1 ] && grep -q 'does not offer VIRTIO_F_RING_PACKED' "$tmp/err"; }
report $? "blk --ring packed verifies or says the device lacks it" "exit $rc: $err"
usage_error "bench ring: bad --format" bench ring --format hexagonal
usage_error "bench ring: split size not a power of two" bench ring --size 100
run bench ring --format packed --in-order on --size 100 --batch 8 --seconds 0.2 --json
[ "$rc" = 0 ] && grep -q '"format":"packed","in_order":true' "$tmp/out" && ! grep -q '"ops":0,' "$tmp/out"
report $? "bench ring --format packed --in-order on" "exit $rc: $out $err"
run bench ring --format packed --notify --size 7 --batch 3 --indirect on --seconds 0.2 --json
[ "$rc" = 0 ] && grep -q '"format":"packed"' "$tmp/out" && ! grep -q '"ops":0,' "$tmp/out"
report $? "bench ring --format packed --notify at size 7" "exit $rc: $out $err"
usage_error "bench ring: --notify-checks off with --notify" bench ring --notify \
	--notify-checks off
usage_error "bench ring: --notify-checks off before --notify" bench ring --notify-checks off \
	--notify
usage_error "bench ring: bad --notify-checks" bench ring --poll --notify-checks maybe
usage_error "bench ring: --notify-checks without a value" bench ring --notify-checks
run bench ring --format split --poll --notify-checks off --batch 1 --seconds 0.2 --json
[ "$rc" = 0 ] && grep -q '"notify_checks":false' "$tmp/out" && ! grep -q '"ops":0,' "$tmp/out" &&
	grep -q '"kicks_per_op":0.000000,"interrupts_per_op":0.000000' "$tmp/out"
report $? "bench ring --poll --notify-checks off: no kicks, no interrupts" "exit $rc: $out $err"
run bench ring --format packed --in-order on --size 100 --notify-checks off --seconds 0.2
[ "$rc" = 0 ] && grep -q 'notify-checks=off' "$tmp/out"
report $? "bench ring --notify-checks off: the text config says it" "exit $rc: $out $err"
run bench ring --format packed --seconds 0.2 --json
[ "$rc" = 0 ] && grep -q '"notify_checks":true' "$tmp/out"
report $? "bench ring: notify checks on by default" "exit $rc: $out $err"
usage_error "bench blk: bad --ring" bench blk --image "$img" --rw read --bs 4k --iodepth 1 \
	--ring ring

run bench blk --image "$img" --rw randread --bs 4k --iodepth 8 --queues 2 --seconds 0.3 --json
[ "$rc" = 0 ] && grep -q '"iops":' "$tmp/out" && grep -q '"lat_p99_us":' "$tmp/out"
report $? "bench blk --json" "exit $rc: $out $err"
# Without --rw, --bs, --iodepth: fio's defaults (rw=read, bs=4k, iodepth=1).
run bench blk --image "$img" --seconds 0.2 --json
[ "$rc" = 0 ] && grep -q '"rw":"read","bs":4096,"iodepth":1,' "$tmp/out"
report $? "bench blk without --rw/--bs/--iodepth: read, 4k, iodepth 1 (fio's defaults)" \
	"exit $rc: $out $err"

# A failing worker still prints its partial results, then the error, and
# exits 1. Writes past RLIMIT_FSIZE fail with EFBIG (SIGXFSZ ignored), so
# requests get IOERR; the limit sits above the ~10 MiB of DMA memory (a
# memfd, also bound by it) and below the 64 MiB sparse image.
truncate -s 64M "$tmp/big.img"
(
	trap '' XFSZ
	ulimit -f $((16 * 1024))
	"$VIREO" bench blk --image "$tmp/big.img" --rw randwrite --bs 4k --iodepth 4 \
		--seconds 0.3 --json >"$tmp/both" 2>&1
	echo $? >"$tmp/rc"
)
rc=$(cat "$tmp/rc")
[ "$rc" = 1 ] && head -n 1 "$tmp/both" | grep -q '^{.*"errors":[1-9].*}$' &&
	tail -n 1 "$tmp/both" | grep -q '^vireo bench blk: queue 0: request failed'
report $? "bench blk: a failed worker prints results, then the error, exit 1" \
	"exit $rc: $(cat "$tmp/both")"

expect "demo" 0 demo

# vireo serve net and vireo bench net: argument errors, help, capabilities.
usage_error "serve net: no --socket" serve net
usage_error "serve net: bad uplink" serve net --socket "$tmp/n.sock" --uplink wifi
usage_error "serve net: hostfwd to another address" serve net --socket "$tmp/n.sock" \
	--uplink user,hostfwd=tcp:10.0.0.1:8080-:80
usage_error "serve net: two uplinks" serve net --socket "$tmp/n.sock" --uplink user \
	--uplink tap=vt0
usage_error "serve net: mtu out of range" serve net --socket "$tmp/n.sock" --mtu 67
usage_error "serve net: same socket twice" serve net --socket "$tmp/n.sock" --socket "$tmp/n.sock"
usage_error "serve net: queue pairs out of range" serve net --socket "$tmp/n.sock" --queue-pairs 9
expect "serve net --help" 0 serve net --help
run serve net --print-capabilities
[ "$rc" = 0 ] && grep -q '"type": "net"' "$tmp/out"
report $? "serve net --print-capabilities" "exit $rc: $out $err"
usage_error "bench net: no --socket" bench net
expect "bench net: no back-end there" 1 bench net --socket "$tmp/none.sock" --seconds 0.2
expect "help bench net" 0 help bench net

[ "$failed" = 0 ]
