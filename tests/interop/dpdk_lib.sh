# shellcheck shell=bash
# DPDK testpmd helpers for the network tests and benchmarks (sourced, bash): a net_vhost
# back-end (vhost-user server) and a net_virtio_user front-end, each one testpmd process.
# Needs: $tmp (a private temporary folder for logs). Call dpdk_stop from the EXIT trap.
#
# Memory, DPDK_HUGE:
#   1  hugepages, as DPDK's users run it (the benchmarks): 2 MiB pages from a mounted
#      hugetlbfs, --single-file-segments (one fd per memory segment list, so virtio-user can
#      pass its memory to a vhost-user back-end in a few regions). dpdk_hugepages_prepare
#      mounts hugetlbfs and raises vm.nr_hugepages when root; when the pages still are not
#      there it says so loudly and falls back to --no-huge (dpdk_mem says which one ran).
#   0  (default) --no-huge: EAL backs its memory with a memfd (DPDK >= 19.02). The tests use
#      this: they check frames and counts, not speed, and hugepages are a machine-wide
#      resource (a sysctl, other test runs on the same machine draw on the same pool, and a
#      non-root run cannot raise it), so memfd memory never fails a test for want of pages.
# Either way each process gets a unique --file-prefix plus --no-shconf (--no-huge implies
# --legacy-mem, which --in-memory refuses), and dpdk_stop removes the prefix's runtime folder
# and hugepage files. testpmd needs a forwarding lcore besides its main lcore: each process
# maps both lcores onto one CPU (--lcores 0@C,1@C); the main lcore only wakes once a second to
# print statistics (--stats-period 1, which also makes testpmd start forwarding at once and
# run until SIGINT, then print its final counters).
# Environment: DPDK_TESTPMD (program), DPDK_HUGE (0), DPDK_MEM_MB (256), DPDK_MBUFS (8192),
# DPDK_USER_CPU (0: the front-end, the sender), DPDK_VHOST_CPU (1: each back-end polls there),
# DPDK_VHOST_DEVARGS / DPDK_USER_DEVARGS (extra vdev arguments, e.g. "packed_vq=1" or
# "queue_size=1024,mrg_rxbuf=0" for virtio-user).

# shellcheck source=../guest/proc_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../guest/proc_lib.sh"

dpdk_testpmd=${DPDK_TESTPMD:-dpdk-testpmd}
dpdk_pids=()
dpdk_prefixes=()
dpdk_seq=0
dpdk_reason=''
dpdk_huge_dir=''
dpdk_mem=NO-HUGE

# dpdk_runtime_dir PREFIX: where EAL keeps PREFIX's runtime files.
dpdk_runtime_dir() {
	if [ "$(id -u)" -eq 0 ]; then
		echo "/var/run/dpdk/$1"
	else
		echo "${XDG_RUNTIME_DIR:-/tmp}/dpdk/$1"
	fi
}

# dpdk_eal_args CPU PREFIX: the EAL arguments of one instance on CPU.
dpdk_eal_args() {
	local mem="--no-huge"
	[ "${DPDK_HUGE:-0}" = 1 ] && mem="--single-file-segments --huge-dir $dpdk_huge_dir"
	echo "--lcores 0@$1,1@$1 --main-lcore 0 $mem -m ${DPDK_MEM_MB:-256} --no-pci" \
		"--no-shconf --file-prefix $2"
}

# dpdk_hugepages_prepare INSTANCES: with DPDK_HUGE=1, make sure a hugetlbfs is mounted and
# INSTANCES x DPDK_MEM_MB of 2 MiB pages are free, mounting /dev/hugepages and raising
# vm.nr_hugepages if root. Sets dpdk_huge_dir and dpdk_mem ("hugepages" or "NO-HUGE"). When
# the pages are missing: a loud warning on stderr, DPDK_HUGE=0 (--no-huge, which handicaps
# DPDK: a figure taken so must say so). Always 0.
dpdk_hugepages_prepare() {
	local need free total why=''
	dpdk_mem=NO-HUGE
	[ "${DPDK_HUGE:-0}" = 1 ] || return 0
	dpdk_huge_dir=$(awk '$3 == "hugetlbfs" && $4 !~ /pagesize=1G/ { print $2; exit }' /proc/mounts)
	if [ -z "$dpdk_huge_dir" ] && [ "$(id -u)" -eq 0 ]; then
		mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages &&
			dpdk_huge_dir=/dev/hugepages
	fi
	need=$(($1 * ${DPDK_MEM_MB:-256} / 2 + 16))
	free=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
	# Raise the pool by what is missing (at most 1024 pages, 2 GiB: the machine is shared).
	if [ "${free:-0}" -lt "$need" ] && [ "$need" -le 1024 ] && [ "$(id -u)" -eq 0 ]; then
		total=$(awk '/^HugePages_Total:/ { print $2 }' /proc/meminfo)
		echo $((total + need - free)) >/proc/sys/vm/nr_hugepages 2>/dev/null
		free=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
		echo "dpdk_lib: vm.nr_hugepages raised from $total to" \
			"$(cat /proc/sys/vm/nr_hugepages) ($free free)" >&2
	fi
	[ -n "$dpdk_huge_dir" ] || why="no hugetlbfs mounted (mount -t hugetlbfs nodev /dev/hugepages)"
	[ "${free:-0}" -ge "$need" ] ||
		why="${why:+$why; }${free:-0} free 2 MiB hugepages, $need needed (echo 1024 > /proc/sys/vm/nr_hugepages)"
	if [ -n "$why" ]; then
		{
			echo "##########################################################################"
			echo "# WARNING: DPDK runs WITHOUT HUGEPAGES (--no-huge): $why."
			echo "# --no-huge handicaps DPDK; figures from this run are not a fair comparison."
			echo "##########################################################################"
		} >&2
		DPDK_HUGE=0
		return 0
	fi
	dpdk_mem=hugepages
	return 0
}

# dpdk_remove_prefix PREFIX: remove PREFIX's runtime folder and its hugepage files (EAL
# leaves both behind; hugepage files would keep their pages).
dpdk_remove_prefix() {
	rm -rf "$(dpdk_runtime_dir "$1")"
	[ -n "${dpdk_huge_dir:-}" ] && rm -f "$dpdk_huge_dir/$1"map_*
	return 0
}

# dpdk_new_prefix: a --file-prefix unique to this (sub)shell and call (sets dpdk_prefix).
dpdk_new_prefix() {
	dpdk_seq=$((dpdk_seq + 1))
	dpdk_prefix=vireo-dpdk-$BASHPID-$dpdk_seq
	dpdk_prefixes+=("$dpdk_prefix")
}

# dpdk_available: 0 if testpmd is installed and its EAL starts here (with the memory
# DPDK_HUGE asks for, without PCI); else 1 with the reason in dpdk_reason (for a SKIP line).
dpdk_available() {
	if ! command -v "$dpdk_testpmd" >/dev/null; then
		dpdk_reason="no $dpdk_testpmd (Debian package dpdk-dev)"
		return 1
	fi
	dpdk_new_prefix
	# shellcheck disable=SC2046
	if ! timeout 30 "$dpdk_testpmd" $(dpdk_eal_args 0 "$dpdk_prefix") -- --help \
		</dev/null >"$tmp/dpdk-probe.log" 2>&1; then
		dpdk_reason="testpmd's EAL does not start: $(grep -m1 -E 'Cause|Error|FATAL' \
			"$tmp/dpdk-probe.log")"
		dpdk_remove_prefix "$dpdk_prefix"
		return 1
	fi
	dpdk_remove_prefix "$dpdk_prefix"
	return 0
}

# dpdk_launch NAME CPU VDEVS MODE [TESTPMD-ARGS...]: start testpmd in the background with the
# space-separated VDEVS, forwarding mode MODE, statistics every second; sets dpdk_pid,
# dpdk_prefix and dpdk_log ($tmp/dpdk-NAME-PREFIX.log).
dpdk_launch() {
	local name=$1 cpu=$2 vdevs=() v mode=$4
	for v in $3; do
		vdevs+=(--vdev "$v")
	done
	shift 4
	dpdk_new_prefix
	dpdk_log=$tmp/dpdk-$name-$dpdk_prefix.log
	# shellcheck disable=SC2046
	"$dpdk_testpmd" $(dpdk_eal_args "$cpu" "$dpdk_prefix") "${vdevs[@]}" -- \
		--nb-cores=1 --total-num-mbufs="${DPDK_MBUFS:-8192}" --forward-mode="$mode" \
		--stats-period 1 "$@" </dev/null >"$dpdk_log" 2>&1 &
	dpdk_pid=$!
	dpdk_pids+=("$dpdk_pid")
}

# dpdk_wait_log PID LOG PATTERN SECS: wait until LOG matches PATTERN (0), PID dies or the
# log says no port was probed (1), or SECS pass (1).
dpdk_wait_log() {
	proc_wait_log "$2" "$1" "$3" "$4" 'No probed ethernet devices'
}

# dpdk_vhost_start SOCK MODE [TESTPMD-ARGS...]: start a net_vhost back-end (vhost-user server
# on SOCK, one queue pair) forwarding in MODE (rxonly, io, macswap...) on DPDK_VHOST_CPU.
# Sets dpdk_vhost_pid and dpdk_vhost_log. Fails (1, the log's tail on stderr) if SOCK
# already exists or the back-end does not come up within 30 s.
dpdk_vhost_start() {
	local sock=$1 mode=$2 devargs
	shift 2
	if [ -e "$sock" ]; then
		echo "dpdk_vhost_start: $sock already exists" >&2
		return 1
	fi
	devargs="net_vhost0,iface=$sock,queues=1${DPDK_VHOST_DEVARGS:+,$DPDK_VHOST_DEVARGS}"
	dpdk_launch vhost "${DPDK_VHOST_CPU:-1}" "$devargs" "$mode" "$@"
	dpdk_vhost_pid=$dpdk_pid
	dpdk_vhost_log=$dpdk_log
	# The socket appears at probe time; "Port statistics" once forwarding runs.
	if ! dpdk_wait_log "$dpdk_pid" "$dpdk_vhost_log" 'Port statistics' 30 || [ ! -S "$sock" ]; then
		echo "dpdk_vhost_start: net_vhost on $sock did not start:" >&2
		tail -n 5 "$dpdk_vhost_log" >&2
		dpdk_stop_pid "$dpdk_pid"
		return 1
	fi
	return 0
}

# dpdk_switch_start SOCK_A SOCK_B: a two-port vhost-user "wire" for two guests (QEMU
# -netdev vhost-user): testpmd io-forwards everything from net_vhost0 on SOCK_A to net_vhost1
# on SOCK_B and back, on DPDK_VHOST_CPU (busy-polling it). Sets dpdk_switch_pid and
# dpdk_switch_log; dpdk_port_counts reads its per-port counters after dpdk_stop. Fails (1)
# like dpdk_vhost_start. Paths must not contain spaces or commas.
dpdk_switch_start() {
	local s
	for s in "$1" "$2"; do
		if [ -e "$s" ]; then
			echo "dpdk_switch_start: $s already exists" >&2
			return 1
		fi
	done
	dpdk_launch switch "${DPDK_VHOST_CPU:-1}" \
		"net_vhost0,iface=$1,queues=1 net_vhost1,iface=$2,queues=1" io
	dpdk_switch_pid=$dpdk_pid
	dpdk_switch_log=$dpdk_log
	if ! dpdk_wait_log "$dpdk_pid" "$dpdk_log" 'Port statistics' 30 || [ ! -S "$1" ] ||
		[ ! -S "$2" ]; then
		echo "dpdk_switch_start: testpmd did not start:" >&2
		tail -n 5 "$dpdk_log" >&2
		dpdk_stop_pid "$dpdk_pid"
		return 1
	fi
	return 0
}

# dpdk_port_counts LOG PORT: the final forward statistics of PORT of a stopped testpmd as
# "rx_packets=N tx_packets=N tx_dropped=N" (nothing if the log has none).
dpdk_port_counts() {
	awk -v hdr="Forward statistics for port $2 " 'index($0, hdr) { f = 1; next }
		f && /RX-packets:/ { rx = $2 }
		f && /TX-packets:/ { tx = $2; drop = $4; f = 0; done = 1 }
		END { if (done) printf "rx_packets=%s tx_packets=%s tx_dropped=%s\n", rx, tx, drop }' "$1"
}

# dpdk_counts LOG: the final forward statistics of a stopped testpmd as
# "rx_packets=N tx_packets=N tx_dropped=N" (port 0; nothing if the log has none).
dpdk_counts() {
	dpdk_port_counts "$1" 0
}

# dpdk_mpps LOG FIELD: the mean of testpmd's per-second FIELD (Rx-pps or Tx-pps) samples in
# Mpps, the first sample (which holds the start-up) left out; "0.000" with fewer than 2.
dpdk_mpps() {
	awk -v f="$2:" '$1 == f { n++; if (n > 1) { s += $2; k++ } }
		END { printf "%.3f\n", k ? s / k / 1e6 : 0 }' "$1"
}

# dpdk_virtio_user_run SOCK MODE SECONDS [TESTPMD-ARGS...]: run a net_virtio_user front-end
# against the vhost-user server on SOCK, forwarding in MODE (txonly, rxonly...) for SECONDS
# once forwarding has started (on DPDK_USER_CPU), then stop it and print one line:
#   rx_packets=N tx_packets=N tx_dropped=N rx_mpps=X tx_mpps=Y
# (counters of port 0; Mpps = mean of the per-second samples after the first). Meant to run
# in $(...): it stops its testpmd and removes its runtime folder itself. Fails (1, reason on stderr) if SOCK is not a socket, the front-end cannot
# connect (testpmd then probes no port and would idle forever), or it does not start or
# stop within 30 s.
dpdk_virtio_user_run() {
	local sock=$1 mode=$2 secs=$3 devargs rc=0
	shift 3
	if [ ! -S "$sock" ]; then
		echo "dpdk_virtio_user_run: no socket $sock" >&2
		return 1
	fi
	devargs="net_virtio_user0,path=$sock,queues=1${DPDK_USER_DEVARGS:+,$DPDK_USER_DEVARGS}"
	dpdk_launch user "${DPDK_USER_CPU:-0}" "$devargs" "$mode" "$@"
	if ! dpdk_wait_log "$dpdk_pid" "$dpdk_log" 'Port statistics' 30; then
		echo "dpdk_virtio_user_run: virtio-user on $sock did not start within 30 s" \
			"(a back-end that accepts but never answers hangs testpmd's probe):" >&2
		tail -n 5 "$dpdk_log" >&2
		rc=1
	else
		sleep "$secs"
	fi
	# SIGINT: testpmd stops forwarding, prints its forward statistics and exits.
	if ! dpdk_stop_pid "$dpdk_pid" && [ $rc -eq 0 ]; then
		echo "dpdk_virtio_user_run: testpmd did not stop on SIGINT" >&2
		rc=1
	fi
	dpdk_remove_prefix "$dpdk_prefix"
	[ $rc -eq 0 ] || return 1
	dpdk_counts=$(dpdk_counts "$dpdk_log")
	if [ -z "$dpdk_counts" ]; then
		echo "dpdk_virtio_user_run: no final statistics in $dpdk_log" >&2
		return 1
	fi
	echo "$dpdk_counts rx_mpps=$(dpdk_mpps "$dpdk_log" Rx-pps)" \
		"tx_mpps=$(dpdk_mpps "$dpdk_log" Tx-pps)"
}

# dpdk_stop_pid PID: SIGINT (testpmd's clean exit), SIGKILL after 10 s; 1 if it had to be
# killed. Reaps PID (only the shell that started it can).
dpdk_stop_pid() {
	proc_stop "$1" INT
	[ "$proc_rc" != killed ]
}

# dpdk_stop [PID]: stop PID (e.g. dpdk_vhost_pid), or every testpmd this shell started and
# remove their runtime folders (for trap EXIT). Always 0.
dpdk_stop() {
	local pid p
	if [ $# -gt 0 ]; then
		dpdk_stop_pid "$1"
		return 0
	fi
	for pid in "${dpdk_pids[@]}"; do
		kill -0 "$pid" 2>/dev/null && dpdk_stop_pid "$pid"
	done
	for p in "${dpdk_prefixes[@]}"; do
		dpdk_remove_prefix "$p"
	done
	return 0
}
