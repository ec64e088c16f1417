# shellcheck shell=bash
# Process helpers the test scripts share (sourced by tests/guest/run.sh, tests/guest/lib.sh
# and tests/interop/dpdk_lib.sh).

# proc_stop PID SIGNAL: send SIGNAL, wait up to 10 s, SIGKILL after that; reaps PID (only the
# shell that started it can). Sets proc_rc to PID's exit status, or "killed" if it had to be
# killed. Returns 0 only if PID exited by itself with status 0.
proc_stop() {
	local pid=$1 i
	kill "-$2" "$pid" 2>/dev/null
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		proc_rc=killed
		return 1
	fi
	wait "$pid" 2>/dev/null
	proc_rc=$?
	[ "$proc_rc" = 0 ]
}

# proc_wait_log LOG PID ERE SECS [FAIL-ERE]: wait until LOG matches ERE (0); 1 as soon as LOG
# matches FAIL-ERE (looked at first), PID is gone, or SECS pass.
proc_wait_log() {
	local _
	for _ in $(seq $(($4 * 10))); do
		[ -n "${5:-}" ] && grep -qE "$5" "$1" 2>/dev/null && return 1
		grep -qE "$3" "$1" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# proc_threads PID LABEL: one line per thread of PID for a hang's diagnosis (sourced):
# "LABEL TID COMM STATE WCHAN syscall=N kernel=TOP-FRAME" (the syscall it sleeps in: -1 when
# none, "running" when on a CPU; the kernel frame is readable as root only).
proc_threads() {
	local d tid comm state wchan sc top
	for d in /proc/"$1"/task/*; do
		[ -d "$d" ] || continue
		tid=${d##*/}
		comm=$(cat "$d/comm" 2>/dev/null)
		state=$(sed 's/.*) //' "$d/stat" 2>/dev/null | cut -c1)
		wchan=$(cat "$d/wchan" 2>/dev/null)
		sc=$(cut -d' ' -f1 "$d/syscall" 2>/dev/null)
		top=$(head -n 1 "$d/stack" 2>/dev/null | sed 's/^\[<[0-9a-f]*>\] //')
		echo "$2 $tid ${comm:-?} ${state:-?} ${wchan:-0} syscall=${sc:-?} kernel=${top:-?}"
	done
}
