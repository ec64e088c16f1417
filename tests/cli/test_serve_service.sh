#!/bin/bash
# TAP: `vireo serve` as a service. --socket-mode and --socket-group make the
# socket usable by a front-end running as another user in that group (as
# libvirt's QEMU does), which the default 0600 refuses; --pidfile holds the pid
# while serving and is removed at exit; bad values are one usage line.
#   VIREO=build/vireo bash tests/cli/test_serve_service.sh
set -u
vireo=$(realpath "${VIREO:-build/vireo}")
tmp=$(mktemp -d /tmp/vireo-svc.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
n=0
echo "1..15"

ok() { # ok STATUS NAME [DETAIL]
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		[ -n "${3:-}" ] && echo "# $3"
	fi
}

# start_serve LOG SOCKET ARGS...: background server; waits for its socket (bounded)
start_serve() {
	local log=$1 sock=$2
	shift 2
	"$vireo" serve "$@" >"$log" 2>&1 &
	pid=$!
	pids+=("$pid")
	for _ in $(seq 200); do
		[ -S "$sock" ] && return 0
		sleep 0.05
	done
	return 1
}

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
