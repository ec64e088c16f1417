# shellcheck shell=bash
# Shell helpers for the network tests with the test guest (sourced, bash): free ports, a host
# web server, booting guests in the background (two at once, e.g. joined by a QEMU socket
# netdev or by a vhost-user switch), reading the notes of the guest's net_* checks.
# Needs: tests/guest/lib.sh sourced, $repo (the work tree), $tmp (a private temporary folder);
# $guest (the guest folder, default build/guest). Call net_cleanup from the EXIT trap.
#
# A guest NAME's files: $tmp/NAME.console (whole console), $tmp/NAME.out (its VIREO-CHECK
# lines), $tmp/NAME.err (run.sh's diagnostics).

net_guest_pids=()
net_httpd_pid=''

# net_free_ports N: N distinct TCP ports that nothing on this machine uses now, one a line
# (random in 20000-59999, so parallel tests rarely collide; a tiny race remains).
net_free_ports() {
	local want=$1 used got=' ' p tries=0
	used=" $(ss -Htan 2>/dev/null | awk '{ n = split($4, a, ":"); printf "%s ", a[n] }') "
	while [ "$(echo "$got" | wc -w)" -lt "$want" ] && [ $tries -lt 1000 ]; do
		tries=$((tries + 1))
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		case "$used$got" in *" $p "*) continue ;; esac
		got="$got$p "
	done
	[ "$(echo "$got" | wc -w)" -eq "$want" ] || return 1
	echo "$got" | tr ' ' '\n' | sed '/^$/d'
}

# net_vhost_user_nic ID SOCK MAC [DEVICE-OPTS [NETDEV-OPTS]]: set the array net_nic_args to the QEMU
# arguments of a virtio-net-pci NIC with MAC whose back-end is the vhost-user server on SOCK
# (run.sh already gives the guest shared memfd memory). DEVICE-OPTS are appended to -device
# (",mq=on,..."), NETDEV-OPTS to -netdev (",queues=2"). Under TCG, QEMU 7.2 (Debian 12) segfaults in vhost_net_start when the
# driver starts the device (msix_set_vector_notifiers dereferences the KVM-only irqfd table):
# the NIC then gets vectors=0 (INTx) unless DEVICE-OPTS set vectors= themselves.
net_vhost_user_nic() {
	local id=$1 sock=$2 mac=$3 opts=${4:-} netdev_opts=${5:-}
	case "$(accel_name)$opts" in
	tcg*vectors=*) ;;
	tcg*) opts="$opts,vectors=0" ;;
	esac
	net_nic_args=(-chardev "socket,id=c_$id,path=$sock" -netdev "vhost-user,id=$id,chardev=c_$id$netdev_opts"
		-device "virtio-net-pci,netdev=$id,mac=$mac$opts")
}

# net_wait_listen PORT SECS: wait until a TCP socket listens on 127.0.0.1:PORT (0) or SECS
# pass (1).
net_wait_listen() {
	local _
	for _ in $(seq $(($2 * 10))); do
		ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# net_httpd_start PORT [KIB]: serve KIB (default 256) KiB of random data as /page with
# busybox httpd on 127.0.0.1:PORT. Sets net_httpd_md5 and net_httpd_bytes (what a client
# must get). Fails (1) if busybox is missing or the server does not listen within 5 s.
net_httpd_start() {
	local port=$1 kib=${2:-256}
	command -v busybox >/dev/null || return 1
	mkdir -p "$tmp/httpd"
	head -c $((kib * 1024)) /dev/urandom >"$tmp/httpd/page"
	net_httpd_md5=$(md5sum <"$tmp/httpd/page" | cut -d' ' -f1)
	net_httpd_bytes=$((kib * 1024))
	busybox httpd -f -p "127.0.0.1:$port" -h "$tmp/httpd" >"$tmp/httpd.log" 2>&1 &
	net_httpd_pid=$!
	net_wait_listen "$port" 5
}

# net_httpd_stop: stop the server net_httpd_start started.
net_httpd_stop() {
	[ -n "$net_httpd_pid" ] || return 0
	kill "$net_httpd_pid" 2>/dev/null
	wait "$net_httpd_pid" 2>/dev/null
	net_httpd_pid=''
	return 0
}

# net_guest_start NAME RUN.SH-ARGS...: boot the test guest in the background with
# tests/guest/run.sh RUN.SH-ARGS (--checks ... -- QEMU-ARGS), in its own process group so
# that net_cleanup can stop QEMU with it. Sets net_guest_pid_NAME.
net_guest_start() {
	local name=$1
	shift
	rm -f "$tmp/$name.console"
	VIREO_GUEST_DIR=${guest:-$repo/build/guest} setsid -w "$repo/tests/guest/run.sh" \
		--log "$tmp/$name.console" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null &
	net_guest_pids+=("$!")
	printf -v "net_guest_pid_$name" '%s' "$!"
}

# net_guest_wait NAME...: wait for the guests to power off; 0 if every check of every guest
# passed (run.sh's status). Sets net_guest_rc_NAME.
net_guest_wait() {
	local name pid_var rc status=0
	for name in "$@"; do
		pid_var=net_guest_pid_$name
		wait "${!pid_var}"
		rc=$?
		printf -v "net_guest_rc_$name" '%s' "$rc"
		[ $rc -eq 0 ] || status=1
	done
	return $status
}

# net_guest_pair A B [PORT]: boot guests A and B at once, with the run.sh arguments in the
# arrays named A and B, and wait for both. With PORT, B starts only once A listens on
# 127.0.0.1:PORT (A's -netdev socket,listen=...; B's connect= would fail before), at most
# 30 s. 0 if every check of both passed.
# run.sh boots a guest once more when its kernel never reached /init (a TCG stall seen
# rarely on loaded machines); in a pair the other guest has given up waiting for its peer
# by then, so that pair's checks say nothing: the pair is booted once more, and every
# check must pass then.
net_guest_pair() {
	local -n net_args_a=$1 net_args_b=$2
	local try
	for try in 1 2; do
		net_guest_start "$1" "${net_args_a[@]}"
		if [ -n "${3:-}" ]; then
			net_wait_listen "$3" 30 || echo "net_guest_pair: nothing listens on port $3" >&2
		fi
		net_guest_start "$2" "${net_args_b[@]}"
		net_guest_wait "$1" "$2" && return 0
		[ "$try" -eq 1 ] && grep -q 'booting it once more' "$tmp/$1.out" "$tmp/$2.out" ||
			return 1
		echo "# NOTE: net_guest_pair: a guest of the pair was booted again alone after a stalled boot; booting both once more"
	done
}

# net_wait_console NAME PATTERN SECS: wait until guest NAME's console has a line matching
# PATTERN (grep -E) (0), or SECS pass or the guest ends (1).
net_wait_console() {
	local pid_var=net_guest_pid_$1
	console_wait "$tmp/$1.console" "${!pid_var}" "$2" "$3"
}

# net_fetch URL OUT SECS: fetch URL into OUT with curl, retrying for SECS seconds until a
# complete answer arrives (a hostfwd accepts at once and closes the connection if the guest
# does not listen yet). Each try may use all the time left: a slow answer under load is not
# cut off, as the guest's one-connection server would not answer a second try. Appends
# each try's curl status to net_fetch_log (for a failure's diagnostic).
net_fetch() {
	local end=$((SECONDS + $3)) rc
	net_fetch_log=''
	while [ $SECONDS -lt $end ]; do
		curl -sSf --max-time $((end - SECONDS + 1)) -o "$2" "$1" 2>"$tmp/curl.err" && return 0
		rc=$?
		net_fetch_log="$net_fetch_log curl $rc at ${SECONDS}s: $(head -c 200 "$tmp/curl.err");"
		sleep 0.5
	done
	return 1
}

# net_result NAME CHECK: guest NAME's VIREO-CHECK line for CHECK, without the prefix
# ("PASS key=value..." or "FAIL reason"); nothing if the check did not report.
net_result() {
	sed -n "s/^VIREO-CHECK $2 //p" "$tmp/$1.out" | head -n 1
}

# net_note NAME CHECK KEY: the value of KEY=value in the note of guest NAME's passed CHECK
# (e.g. net_note a net_tcp_recv md5); nothing if the check did not pass.
net_note() {
	net_result "$1" "$2" | sed -n 's/^PASS //p' | tr ' ' '\n' | sed -n "s/^$3=//p" | head -n 1
}

# net_cleanup: for trap EXIT: stops the guests still running (their whole process group:
# run.sh, timeout and QEMU) and the web server.
net_cleanup() {
	local pid
	for pid in "${net_guest_pids[@]}"; do
		kill -0 "$pid" 2>/dev/null || continue
		kill -TERM -- "-$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	net_httpd_stop
}

# net_check_taps NAME LABEL CHECK...: one TAP line (tap, tests/interop/tap_lib.sh) per CHECK of
# guest NAME, named "LABEL: CHECK <note>"; a failure shows the check's console lines.
net_check_taps() {
	local name=$1 label=$2 c r
	shift 2
	# run.sh's notes (a boot retried) go to the TAP output.
	grep -h '^# NOTE: ' "$tmp/$name.out" 2>/dev/null
	for c in "$@"; do
		r=$(net_result "$name" "$c")
		case "$r" in
		PASS*) tap OK "$label: $c${r#PASS}" ;;
		FAIL*) tap FAIL "$label: $c: ${r#FAIL }" \
			"$(grep -A5 "^vireo-guest: $c at" "$tmp/$name.console" | tr '\n' '|')" ;;
		*) tap FAIL "$label: $c: no result" "$(tail -n 12 "$tmp/$name.err" | tr '\n' '|')" ;;
		esac
	done
}
