# shellcheck shell=bash
# Helpers of the tests/cli/test_serve_*.sh scripts (sourced, bash): TAP lines through
# tests/interop/tap_lib.sh (the counter is $n) and `vireo serve` in the background.
# Needs $vireo (the command under test).
# shellcheck source=tests/interop/tap_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../interop/tap_lib.sh"

# Pids of the servers start_serve started; the script's trap EXIT stops them.
pids=()

# ok STATUS NAME [DETAIL]: a TAP line that STATUS is 0; a failure's DETAIL follows as "# ...".
ok() {
	if [ "$1" = 0 ]; then tap OK "$2"; else tap FAIL "$2" "${3:-}"; fi
}

# start_bg LOG SOCKET COMMAND...: COMMAND in the background, output to LOG (pid in $pid,
# appended to $pids); waits (bounded, 10 s) for SOCKET. Fails if it never shows.
start_bg() {
	local log=$1 sock=$2
	shift 2
	"$@" >"$log" 2>&1 &
	pid=$!
	pids+=("$pid")
	for _ in $(seq 200); do
		[ -S "$sock" ] && return 0
		sleep 0.05
	done
	return 1
}

# start_serve LOG SOCKET ARGS...: start_bg of `vireo serve ARGS...`.
start_serve() {
	local log=$1 sock=$2
	shift 2
	# shellcheck disable=SC2154 # $vireo is set by the script that sources this
	start_bg "$log" "$sock" "$vireo" serve "$@"
}
