#!/bin/bash
# TAP: every `vireo serve` runs under its seccomp filter once set up (tools/sandbox.c):
# /proc/PID/status says "Seccomp: 2" for serve blk, rng and net, in every thread (the slirp
# thread of --uplink user, started before the filter, too: TSYNC); whole sessions work
# under it (connect, memory table, I/O, disconnect, a second front-end, SIGUSR1, SIGTERM
# with the socket and pid file removed); --no-sandbox leaves "Seccomp: 0". That a forbidden
# call kills is shown by tests/unit/test_sandbox.c with the very same filter: the binary
# has no test-only trigger.
#   VIREO=build/vireo bash tests/cli/test_serve_sandbox.sh
set -u
vireo=$(realpath "${VIREO:-build/vireo}")
tmp=$(mktemp -d /tmp/vireo-sandbox.XXXXXX)
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
# shellcheck source=tests/cli/serve_lib.sh
. "$(dirname "$0")/serve_lib.sh"
echo "1..17"

# seccomp_modes PID: the Seccomp field of every thread, e.g. "2 2 2"
seccomp_modes() {
	local t
	for t in /proc/"$1"/task/*/status; do
		sed -n 's/^Seccomp:[[:space:]]*//p' "$t"
	done | tr '\n' ' '
}

# all_modes PID MODE: every thread of PID has Seccomp MODE (and there is one)
all_modes() {
	local m
	m=$(seccomp_modes "$1")
	[ -n "$m" ] && [ -z "$(echo "$m" | tr -d " $2")" ]
}

# stop PID: SIGTERM, wait (bounded); $rc is its exit status
stop() {
	kill -TERM "$1"
	for _ in $(seq 200); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	wait "$1"
	rc=$?
}

# --- serve blk: a whole session under the filter ---
truncate -s 4M "$tmp/disk.img"
start_serve "$tmp/blk.log" "$tmp/blk.sock" blk --socket "$tmp/blk.sock" --image "$tmp/disk.img" \
	--queues 2 --pidfile "$tmp/blk.pid"
ok $? "serve blk starts" "$(cat "$tmp/blk.log")"
blk=$pid
all_modes "$blk" 2
ok $? "serve blk: Seccomp: 2 in every thread" "$(seccomp_modes "$blk")"
"$vireo" blk --socket "$tmp/blk.sock" --queues 2 write --offset 0 --length 1M \
	--pattern seed:7 >"$tmp/w.out" 2>&1
ok $? "a front-end writes through the sandboxed server" "$(cat "$tmp/w.out")"
"$vireo" blk --socket "$tmp/blk.sock" verify --offset 0 --length 1M --pattern seed:7 \
	>"$tmp/v.out" 2>&1
ok $? "a second front-end (a new connection, new memory table) verifies it" "$(cat "$tmp/v.out")"
kill -USR1 "$blk"
for _ in $(seq 100); do
	grep -q "requests" "$tmp/blk.log" && break
	sleep 0.05
done
kill -0 "$blk" 2>/dev/null && grep -q "requests" "$tmp/blk.log"
ok $? "SIGUSR1 prints the counters and the server lives on" "$(tail -n 3 "$tmp/blk.log")"
all_modes "$blk" 2
ok $? "serve blk: still Seccomp: 2 in every thread after the sessions" "$(seccomp_modes "$blk")"
stop "$blk"
[ "$rc" = 0 ]
ok $? "SIGTERM: exit 0" "exit $rc: $(tail -n 5 "$tmp/blk.log")"
[ ! -e "$tmp/blk.sock" ] && [ ! -e "$tmp/blk.pid" ]
ok $? "the socket and the pid file are removed at exit, inside the filter" "$(ls "$tmp")"

# --- serve rng ---
start_serve "$tmp/rng.log" "$tmp/rng.sock" rng --socket "$tmp/rng.sock"
ok $? "serve rng starts" "$(cat "$tmp/rng.log")"
all_modes "$pid" 2
ok $? "serve rng: Seccomp: 2" "$(seccomp_modes "$pid")"
stop "$pid"
[ "$rc" = 0 ]
ok $? "serve rng: SIGTERM, exit 0" "exit $rc: $(cat "$tmp/rng.log")"

# --- serve net, with the user-mode uplink (libslirp's thread started before the filter) ---
start_serve "$tmp/net.log" "$tmp/n2.sock" net --socket "$tmp/n1.sock" --socket "$tmp/n2.sock" \
	--uplink user
ok $? "serve net --uplink user starts" "$(cat "$tmp/net.log")"
net=$pid
[ "$(find /proc/"$net"/task -mindepth 1 -maxdepth 1 | wc -l)" -gt 1 ] && all_modes "$net" 2
ok $? "serve net: Seccomp: 2 in every thread, the slirp thread too" "$(seccomp_modes "$net")"
"$vireo" bench net --socket "$tmp/n1.sock" --socket "$tmp/n2.sock" --seconds 1 \
	>"$tmp/bench.out" 2>&1
ok $? "frames cross the sandboxed switch (bench net, two ports)" "$(cat "$tmp/bench.out")"
stop "$net"
[ "$rc" = 0 ]
ok $? "serve net: SIGTERM, exit 0" "exit $rc: $(tail -n 5 "$tmp/net.log")"

# --- --no-sandbox ---
start_serve "$tmp/nb.log" "$tmp/nb.sock" blk --socket "$tmp/nb.sock" --image "$tmp/disk.img" \
	--no-sandbox
all_modes "$pid" 0
ok $? "serve blk --no-sandbox: Seccomp: 0" "$(seccomp_modes "$pid"): $(cat "$tmp/nb.log")"
stop "$pid"
start_serve "$tmp/nn.log" "$tmp/nn.sock" net --socket "$tmp/nn.sock" --no-sandbox
all_modes "$pid" 0
ok $? "serve net --no-sandbox: Seccomp: 0" "$(seccomp_modes "$pid"): $(cat "$tmp/nn.log")"
stop "$pid"
