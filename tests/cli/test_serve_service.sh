#!/bin/bash
# TAP: `vireo serve` as a service. --socket-mode and --socket-group make the
# socket usable by a front-end running as another user in that group (as
# libvirt's QEMU does), which the default 0600 refuses; --pidfile holds the pid
# while serving and is removed at exit; bad values are one usage line. systemd
# socket activation: `systemd-socket-activate -l SOCK vireo serve blk ...`
# (Accept=no) serves a client, serve net takes one port per passed socket, and
# with Accept=yes `serve net --fd 3` serves the one connection and exits.
#   VIREO=build/vireo bash tests/cli/test_serve_service.sh
set -u
vireo=$(realpath "${VIREO:-build/vireo}")
tmp=$(mktemp -d /tmp/vireo-svc.XXXXXX)
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
# shellcheck source=tests/cli/serve_lib.sh
. "$(dirname "$0")/serve_lib.sh"
echo "1..31"

usage() { # usage NAME ARGS...: exit 2, one line
	local name=$1 rc
	shift
	"$vireo" serve "$@" >/dev/null 2>"$tmp/err"
	rc=$?
	[ "$rc" = 2 ] && [ "$(wc -l <"$tmp/err")" = 1 ]
	ok $? "$name" "exit $rc: $(tr '\n' '|' <"$tmp/err")"
}

usage "--socket-mode not octal" rng --socket "$tmp/x.sock" --socket-mode rw
usage "--socket-mode that locks out the owner" rng --socket "$tmp/x.sock" --socket-mode 0400
usage "--socket-group that does not exist" rng --socket "$tmp/x.sock" --socket-group no-such-group-x

truncate -s 1M "$tmp/disk.img"
chmod 755 "$tmp"
group=$(getent group 65534 | cut -d: -f1)
start_serve "$tmp/blk.log" "$tmp/blk.sock" blk --socket "$tmp/blk.sock" --image "$tmp/disk.img" \
	--socket-mode 0660 --socket-group 65534 --pidfile "$tmp/blk.pid"
ok $? "serve blk starts with --socket-mode, --socket-group, --pidfile" "$(cat "$tmp/blk.log")"
blk_pid=$pid
[ "$(stat -c %a:%g "$tmp/blk.sock")" = 660:65534 ]
ok $? "the socket is mode 0660, group 65534 ($group)" "$(stat -c %a:%g "$tmp/blk.sock")"
[ "$(cat "$tmp/blk.pid" 2>/dev/null)" = "$blk_pid" ]
ok $? "the pid file holds the server's pid" "$(cat "$tmp/blk.pid" 2>&1)"
start_serve "$tmp/rng.log" "$tmp/rng.sock" rng --socket "$tmp/rng.sock"
rng_pid=$pid
[ "$(stat -c %a "$tmp/rng.sock")" = 600 ]
ok $? "without --socket-mode the socket is 0600"

if [ "$(id -u)" = 0 ]; then
	as_other=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	"${as_other[@]}" "$vireo" blk --socket "$tmp/blk.sock" read --length 4k --output /dev/null \
		>/dev/null 2>"$tmp/err"
	ok $? "a front-end of another user in the group is served" "$(cat "$tmp/err")"
	! "${as_other[@]}" "$vireo" blk --socket "$tmp/rng.sock" read --length 4k \
		--output /dev/null 2>/dev/null
	ok $? "... and refused by a 0600 socket"
else
	n=$((n + 2))
	echo "ok $((n - 1)) # SKIP: needs root to run a front-end as another user"
	echo "ok $n # SKIP: needs root to run a front-end as another user"
fi

kill -TERM "$blk_pid" "$rng_pid"
wait "$blk_pid"
ok $? "serve blk exits 0 on SIGTERM"
wait "$rng_pid"
[ ! -e "$tmp/blk.pid" ]
ok $? "the pid file is removed at exit"

start_serve "$tmp/net.log" "$tmp/n1.sock" net --socket "$tmp/n1.sock" --socket-mode 0666 \
	--pidfile "$tmp/net.pid"
ok $? "serve net starts with --socket-mode and --pidfile" "$(cat "$tmp/net.log")"
net_pid=$pid
[ "$(stat -c %a "$tmp/n1.sock")" = 666 ] && [ "$(cat "$tmp/net.pid")" = "$net_pid" ]
ok $? "serve net: socket 0666, pid file holds its pid"
kill -TERM "$net_pid"
wait "$net_pid"
ok $? "serve net exits 0 on SIGTERM"
[ ! -e "$tmp/net.pid" ]
ok $? "serve net removed its pid file"

# --- systemd socket activation ---
# start_activated LOG SOCKET ARGS...: systemd-socket-activate ARGS (it execs vireo: same pid)
start_activated() {
	local log=$1 sock=$2
	shift 2
	start_bg "$log" "$sock" systemd-socket-activate "$@"
}

chmod 644 "$tmp/disk.raw" 2>/dev/null
truncate -s 1M "$tmp/act.img"
start_activated "$tmp/act.log" "$tmp/act.sock" -l "$tmp/act.sock" "$vireo" serve blk \
	--image "$tmp/act.img"
act_pid=$pid
"$vireo" blk --socket "$tmp/act.sock" write --length 64k --pattern 9 >/dev/null 2>"$tmp/err" &&
	"$vireo" blk --socket "$tmp/act.sock" verify --length 64k --pattern 9 >/dev/null 2>>"$tmp/err"
ok $? "serve blk by socket activation: a client writes and verifies" "$(cat "$tmp/err")"
grep -q "listening on fd 3, socket activation" "$tmp/act.log"
ok $? "... it says it serves fd 3 by socket activation" "$(tr '\n' '|' <"$tmp/act.log")"
kill -TERM "$act_pid"
wait "$act_pid"
ok $? "... and exits 0 on SIGTERM"
[ -S "$tmp/act.sock" ]
ok $? "... leaving the socket it did not make where it was"

start_activated "$tmp/nact.log" "$tmp/na2.sock" -l "$tmp/na1.sock" -l "$tmp/na2.sock" \
	"$vireo" serve net
nact_pid=$pid
"$vireo" bench net --socket "$tmp/na1.sock" --socket "$tmp/na2.sock" --seconds 1 --json \
	>"$tmp/bench.json" 2>"$tmp/err"
grep -qE '"rx_frames":[1-9]' "$tmp/bench.json"
ok $? "serve net by socket activation: two passed sockets are two ports, frames go through" \
	"$(cat "$tmp/bench.json" "$tmp/err")"
kill -TERM "$nact_pid"
wait "$nact_pid"
ok $? "... and it exits 0 on SIGTERM"

# D-VU-46: the mandatory --fd option (a connected socket).
start_activated "$tmp/acc.log" "$tmp/acc.sock" --accept -l "$tmp/acc.sock" "$vireo" serve net \
	--fd 3
acc_pid=$pid
"$vireo" bench net --socket "$tmp/acc.sock" --seconds 1 >/dev/null 2>&1
for _ in $(seq 100); do
	grep -q "every --fd front-end has gone, exiting" "$tmp/acc.log" && break
	sleep 0.05
done
grep -q "every --fd front-end has gone, exiting" "$tmp/acc.log"
ok $? "serve net --fd 3 (Accept=yes) serves its connection and exits when it closes" \
	"$(tr '\n' '|' <"$tmp/acc.log")"
kill "$acc_pid" 2>/dev/null

# --- counters: SIGUSR1 prints them (the server goes on), exit prints them again ---
truncate -s 1M "$tmp/cnt.img"
start_serve "$tmp/cnt.log" "$tmp/cnt.sock" blk --socket "$tmp/cnt.sock" --image "$tmp/cnt.img" --json
cnt_pid=$pid
"$vireo" blk --socket "$tmp/cnt.sock" write --length 64k --pattern 5 >/dev/null 2>&1
kill -USR1 "$cnt_pid"
for _ in $(seq 100); do
	grep -q '^{"device":"blk"' "$tmp/cnt.log" && break
	sleep 0.05
done
grep '^{"device":"blk"' "$tmp/cnt.log" | head -n 1 >"$tmp/cnt1.json"
grep -qE '"out":1,.*"bytes_written":65536,.*"errors":0,"kicks":[1-9][0-9]*,"calls":[1-9][0-9]*,"in_flight":0' \
	"$tmp/cnt1.json"
ok $? "serve blk --json: SIGUSR1 prints the queue's counters as JSON" "$(cat "$tmp/cnt1.json")"
"$vireo" blk --socket "$tmp/cnt.sock" verify --length 64k --pattern 5 >/dev/null 2>&1
ok $? "... and goes on serving"
kill -TERM "$cnt_pid"
wait "$cnt_pid"
ok $? "... exits 0 on SIGTERM"
grep '^{"device":"blk"' "$tmp/cnt.log" | tail -n 1 | grep -qE '"in":1,.*"bytes_read":65536'
ok $? "... printing the counters again at exit" "$(tail -n 2 "$tmp/cnt.log")"

start_serve "$tmp/ncnt.log" "$tmp/nc2.sock" net --socket "$tmp/nc1.sock" --socket "$tmp/nc2.sock" --json
ncnt_pid=$pid
"$vireo" bench net --socket "$tmp/nc1.sock" --socket "$tmp/nc2.sock" --seconds 1 >/dev/null 2>&1
kill -USR1 "$ncnt_pid"
for _ in $(seq 100); do
	grep -q '^{"device":"net"' "$tmp/ncnt.log" && break
	sleep 0.05
done
grep '^{"device":"net"' "$tmp/ncnt.log" | head -n 1 >"$tmp/ncnt.json"
grep -qE '^\{"device":"net","ports":\[\{"port":1,.*"from_guest_frames":[1-9][0-9]*,.*\},\{"port":2,.*"to_guest_frames":[1-9][0-9]*,.*\}\],"uplinks":\[\]\}$' \
	"$tmp/ncnt.json"
ok $? "serve net --json: SIGUSR1 prints every port's counters as one JSON object" \
	"$(cut -c1-300 "$tmp/ncnt.json")"
kill -TERM "$ncnt_pid"
wait "$ncnt_pid"
ok $? "... exits 0 on SIGTERM"
[ "$(grep -c '^{"device":"net"' "$tmp/ncnt.log")" = 2 ]
ok $? "... printing them again at exit"

# The text counters name what the device counted: kicks, or under --poll (no kicks asked
# for) the polling rounds that found frames.
start_serve "$tmp/pcnt.log" "$tmp/pc2.sock" net --socket "$tmp/pc1.sock" --socket "$tmp/pc2.sock" \
	--poll
pcnt_pid=$pid
"$vireo" bench net --socket "$tmp/pc1.sock" --socket "$tmp/pc2.sock" --seconds 1 >/dev/null 2>&1
kill -TERM "$pcnt_pid"
wait "$pcnt_pid"
grep -qE 'from guest [1-9][0-9]* frames .*; polls with work [1-9][0-9]*, signals' "$tmp/pcnt.log" &&
	! grep -q 'kicks' "$tmp/pcnt.log"
ok $? "serve net --poll: the exit counters say polls with work, not kicks" \
	"$(grep 'from guest' "$tmp/pcnt.log" | head -n 2)"
start_serve "$tmp/kcnt.log" "$tmp/kc2.sock" net --socket "$tmp/kc1.sock" --socket "$tmp/kc2.sock"
kcnt_pid=$pid
"$vireo" bench net --socket "$tmp/kc1.sock" --socket "$tmp/kc2.sock" --seconds 1 >/dev/null 2>&1
kill -TERM "$kcnt_pid"
wait "$kcnt_pid"
grep -qE 'from guest [1-9][0-9]* frames .*; kicks [1-9][0-9]*, signals' "$tmp/kcnt.log"
ok $? "... without --poll, kicks" "$(grep 'from guest' "$tmp/kcnt.log" | head -n 2)"
