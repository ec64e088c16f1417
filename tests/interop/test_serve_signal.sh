#!/bin/bash
# TAP: `vireo serve blk` stops cleanly on SIGTERM and SIGINT while a front-end
# has I/O in flight: exit 0, socket removed, and (in the ASan build) no leak or
# use-after-free from requests still in io_uring at shutdown.
#   VIREO=build/vireo tests/interop/test_serve_signal.sh
set -u
vireo=${VIREO:-build/vireo}
tmp=$(mktemp -d /tmp/vireo-signal.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; }
echo "1..8"
truncate -s 256M "$tmp/img"
for sig in TERM INT; do
	sock=$tmp/s-$sig
	"$vireo" serve blk --socket "$sock" --image "$tmp/img" --queues 2 >"$tmp/serve-$sig.log" 2>&1 &
	sp=$!
	pids+=("$sp")
	for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	"$vireo" bench blk --socket "$sock" --rw randwrite --bs 4k --iodepth 32 --queues 2 \
		--seconds 5 --json >"$tmp/bench-$sig.out" 2>&1 &
	bp=$!
	pids+=("$bp")
	sleep 1.5
	if grep -q 'connected' "$tmp/serve-$sig.log"; then
		ok "SIG$sig: front-end connected and running I/O"
	else
		not_ok "SIG$sig: front-end connected and running I/O"
	fi
	kill -"$sig" "$sp"
	wait "$sp"
	rc=$?
	if [ "$rc" -eq 0 ]; then ok "SIG$sig: serve exits 0 with I/O in flight"; else
		not_ok "SIG$sig: serve exits 0 with I/O in flight (exit $rc)"
		sed 's/^/# /' "$tmp/serve-$sig.log" | tail -n 20
	fi
	if [ ! -e "$sock" ]; then ok "SIG$sig: socket removed"; else not_ok "SIG$sig: socket removed"; fi
	wait "$bp" 2>/dev/null
	if grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error' "$tmp/serve-$sig.log"; then
		not_ok "SIG$sig: no sanitizer report"
		sed 's/^/# /' "$tmp/serve-$sig.log" | head -n 30
	else
		ok "SIG$sig: no sanitizer report"
	fi
done
