# shellcheck shell=bash
# Shell helpers shared by tests/guest/demo.sh and tests/interop/*.sh (sourced, bash).
# Needs: $repo (the work tree) and $tmp (a private temporary folder).

# Pids of the servers started by serve_start, stopped by serve_stop_all (trap EXIT).
serve_pids=()

# guest_ensure DIR: build the test guest into DIR if it is missing or stale.
# Fails (status 1) if it cannot be built (not root, no network...).
guest_ensure() {
	"$repo/tests/guest/build.sh" "$1"
}

# serve_start NAME LOG VIREO-SERVE-ARGS...: start `vireo serve ...` in the background, wait
# for its socket (the argument after --socket) and record its pid in serve_pid_NAME.
serve_start() {
	local name=$1 log=$2 sock='' a prev='' pid i
	shift 2
	for a in "$@"; do
		[ "$prev" = --socket ] && sock=$a
		prev=$a
	done
	"$VIREO" serve "$@" >"$log" 2>&1 &
	pid=$!
	serve_pids+=("$pid")
	printf -v "serve_pid_$name" '%s' "$pid"
	# Under ASan the server may take a moment to start.
	for i in $(seq 100); do
		[ -S "$sock" ] && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# serve_stop PID: SIGTERM, then wait up to 10 s (SIGKILL after that). Sets serve_rc to the
# exit status ("killed" if it had to be killed); returns 0 if the status was 0.
# Not in a subshell: only the shell that started the server can wait for it.
serve_stop() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		serve_rc=killed
		return 1
	fi
	wait "$pid"
	serve_rc=$?
	[ "$serve_rc" -eq 0 ]
}

# serve_stop_all: for trap EXIT; kills whatever serve_start started and is still running.
serve_stop_all() {
	local pid
	for pid in "${serve_pids[@]}"; do
		kill -0 "$pid" 2>/dev/null && serve_stop "$pid"
	done
	return 0
}

# accel_name: what tests/guest/run.sh will use, for messages.
accel_name() {
	if [ -n "${VIREO_ACCEL:-}" ]; then
		echo "$VIREO_ACCEL"
	elif grep -qwE 'vmx|svm' /proc/cpuinfo && [ -w /dev/kvm ]; then
		echo kvm
	else
		echo tcg
	fi
}
