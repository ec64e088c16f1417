#!/bin/bash
# TAP: the --pci options on the host, where no function is bound to vfio-pci: a malformed or
# absent PCI address fails with exit status 1 and a line saying what is wrong, before any
# device access; conflicting options are usage errors (2); `--transport pci` (our driver on
# our virtio-pci function model, in process) on blk, bench blk and demo; bench blk's model
# counters over loopback, mmio and pci (kicks and calls per I/O); `vireo rng` reads
# over loopback.
# (The driver itself runs on QEMU's devices in tests/interop/test_guest_vfio_pci.sh.)
#   VIREO=build/vireo bash tests/cli/test_pci_cli.sh
set -u
vireo=${VIREO:-build/vireo}
tmp=$(mktemp -d /tmp/vireo-pci-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0

# expect STATUS PATTERN NAME -- ARGS...: vireo ARGS exits STATUS and stderr matches PATTERN.
expect() {
	local want=$1 pat=$2 name=$3 rc
	shift 4
	"$vireo" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	n=$((n + 1))
	if [ "$rc" = "$want" ] && grep -q -- "$pat" "$tmp/err"; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name (status $rc)"
		sed 's/^/# /' "$tmp/err" | tail -n 5
	fi
}

if [ ! -x "$vireo" ]; then
	echo "# $vireo is not built"
	exit 1
fi
echo "1..19"
expect 1 "is not a PCI address" "blk --pci: a malformed address" -- \
	blk --pci 0000:00:1g.0 read --length 512
expect 1 "is not a PCI address" "blk --pci: a device number above 0x1f" -- \
	blk --pci 0000:00:20.0 read --length 512
expect 1 "is not a PCI address" "blk --pci: a sign where a digit belongs" -- \
	blk --pci -001:00:04.0 read --length 512
expect 1 "no PCI function 0000:ff:1f.7" "blk --pci: an absent function (short form widened)" -- \
	blk --pci ff:1f.7 read --length 512
expect 2 "exclude each other" "blk: --pci and --image together" -- \
	blk --pci 0000:00:04.0 --image "$tmp/x.img" read --length 512
expect 2 "go with --image only" "blk: --size with --pci" -- \
	blk --pci 0000:00:04.0 --size 1M read --length 512
expect 1 "no PCI function" "bench blk --pci: an absent function" -- \
	bench blk --pci 0000:ff:1f.7 --rw read --bs 4k --iodepth 1
expect 2 "exclude each other" "bench blk: --pci and --socket together" -- \
	bench blk --pci 0000:00:04.0 --socket "$tmp/s" --rw read --bs 4k --iodepth 1
expect 1 "is not a PCI address" "bench net --pci: a malformed address" -- \
	bench net --pci zz
expect 2 "at most two ports" "bench net: three ports" -- \
	bench net --pci 0000:00:04.0 --pci 0000:00:05.0 --socket "$tmp/s"
expect 1 "no PCI function" "rng --pci: an absent function" -- rng --pci 0000:ff:1f.7
expect 2 "exclude each other" "rng: --pci and --socket together" -- \
	rng --pci 0000:00:04.0 --socket "$tmp/s"

# In process: our virtio-pci driver on our virtio-pci function model (--transport pci).
img=$tmp/pci.img
truncate -s 16M "$img"
n=$((n + 1))
if "$vireo" blk --image "$img" --transport pci write --offset 1M --length 4M --pattern seed:5 \
	>"$tmp/out" 2>"$tmp/err" &&
	"$vireo" blk --image "$img" verify --offset 1M --length 4M --pattern seed:5 >>"$tmp/out" 2>&1; then
	echo "ok $n - blk --transport pci writes what loopback then reads back"
else
	echo "not ok $n - blk --transport pci write, loopback verify"
	sed 's/^/# /' "$tmp/err" "$tmp/out" | tail -n 5
fi
n=$((n + 1))
if "$vireo" bench blk --image "$img" --transport pci --rw randread --bs 4k --iodepth 8 \
	--seconds 0.5 --json >"$tmp/out" 2>"$tmp/err" && grep -q '"transport":"pci"' "$tmp/out" &&
	grep -q '"errors":0' "$tmp/out"; then
	echo "ok $n - bench blk --transport pci: no errors, the JSON names the transport"
else
	echo "not ok $n - bench blk --transport pci"
	sed 's/^/# /' "$tmp/err" "$tmp/out" | tail -n 5
fi
# The device model's counters, per transport: at least one kick, and no more kicks or calls
# than requests plus those still in flight at the end (iodepth 4) and the first call a queue
# sends once it runs; CPU and voluntary context switches per I/O of the process.
for t in loopback mmio pci; do
	n=$((n + 1))
	if "$vireo" bench blk --image "$img" --transport "$t" --rw randread --bs 4k --iodepth 4 \
		--seconds 0.3 --json >"$tmp/out" 2>"$tmp/err" &&
		grep -q '"notify_side":"device"' "$tmp/out" && awk '
		function num(key) {
			if (!match($0, "\"" key "\":[0-9.]+"))
				exit 1
			return substr($0, RSTART + length(key) + 3, RLENGTH - length(key) - 3) + 0
		}
		{
			ios = num("ios"); kicks = num("kicks"); calls = num("calls")
			num("cpu_us_per_io"); num("vcsw_per_io")
			exit !(ios > 0 && kicks > 0 && kicks <= ios + 4 && calls <= ios + 5)
		}' "$tmp/out"; then
		echo "ok $n - bench blk --transport $t: the model's kicks and calls, CPU and switches per I/O"
	else
		echo "not ok $n - bench blk --transport $t: notification counters"
		sed 's/^/# /' "$tmp/err" "$tmp/out" | tail -n 5
	fi
done
n=$((n + 1))
if "$vireo" demo --transport pci >"$tmp/out" 2>"$tmp/err" &&
	grep -q 'virtio-blk bound over virtio-pci' "$tmp/out" &&
	grep -q 'virtio-rng bound over virtio-pci' "$tmp/out"; then
	echo "ok $n - demo --transport pci: blk and rng over virtio-pci"
else
	echo "not ok $n - demo --transport pci"
	sed 's/^/# /' "$tmp/err" "$tmp/out" | tail -n 5
fi

# Over loopback (our rng device model): N bytes, raw with --output.
n=$((n + 1))
if "$vireo" rng --bytes 1000 --output "$tmp/r" 2>"$tmp/err" &&
	[ "$(wc -c <"$tmp/r")" = 1000 ] && [ "$("$vireo" rng | tr -d '\n' | wc -c)" = 64 ]; then
	echo "ok $n - rng over loopback: 1000 raw bytes with --output, 32 in hex without"
else
	echo "not ok $n - rng over loopback"
	sed 's/^/# /' "$tmp/err" | tail -n 5
fi
