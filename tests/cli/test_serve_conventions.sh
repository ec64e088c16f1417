#!/bin/bash
# TAP: vhost-user.rst "Backend program conventions" for `vireo serve`. It does not
# daemonize: the process we started is the one serving, our child (D-VU-44); it exits
# 0 promptly on SIGTERM and removes its socket (D-VU-45); it takes --socket-path, and
# --print-capabilities prints the JSON capabilities and exits 0 without serving
# (D-VU-46; --fd is tested in test_serve_service.sh).
#   VIREO=build/vireo bash tests/cli/test_serve_conventions.sh
set -u
vireo=$(realpath "${VIREO:-build/vireo}")
tmp=$(mktemp -d /tmp/vireo-conv.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
# shellcheck source=tests/cli/serve_lib.sh
. "$(dirname "$0")/serve_lib.sh"
echo "1..9"

for t in blk:block rng:rng net:net; do
	"$vireo" serve "${t%%:*}" --print-capabilities --socket-path "$tmp/never.sock" \
		>"$tmp/caps" 2>"$tmp/err"
	rc=$?
	[ "$rc" = 0 ] && grep -q "\"type\": \"${t#*:}\"" "$tmp/caps" && [ ! -e "$tmp/never.sock" ]
	ok $? "serve ${t%%:*} --print-capabilities: JSON of type ${t#*:}, exit 0, nothing served" \
		"exit $rc: $(cat "$tmp/caps" "$tmp/err" | tr "\n" " ")"
done

truncate -s 1M "$tmp/disk.img"
"$vireo" serve blk --socket-path "$tmp/blk.sock" --image "$tmp/disk.img" >"$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 200); do
	[ -S "$tmp/blk.sock" ] && break
	sleep 0.05
done
[ -S "$tmp/blk.sock" ]
ok $? "serve blk --socket-path listens on that path" "$(cat "$tmp/log")"
# A daemon would have forked: the process we started would be gone, or not our child.
ppid_of() { sed "s/.*) //" "/proc/$1/stat" 2>/dev/null | cut -d" " -f2; }
kill -0 "$pid" 2>/dev/null && [ "$(ppid_of "$pid")" = "$$" ]
ok $? "it does not daemonize: the process we started is alive and our child"
children=0
for p in /proc/[0-9]*; do
	[ "$(ppid_of "${p#/proc/}")" = "$pid" ] && children=$((children + 1))
done
[ "$children" = 0 ]
ok $? "... and it has forked no child process"
"$vireo" blk --socket "$tmp/blk.sock" write --offset 0 --length 4k --pattern 3 >/dev/null 2>&1
ok $? "a front-end is served through it"
start=$(date +%s%N)
kill -TERM "$pid"
wait "$pid"
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
pid=
[ "$rc" = 0 ] && [ "$ms" -lt 5000 ]
ok $? "SIGTERM: exit 0 within 5 s" "exit $rc after $ms ms"
[ ! -e "$tmp/blk.sock" ]
ok $? "... and the socket is removed"
