#!/bin/bash
# Boots the test guest (tests/guest/build.sh) in QEMU with the given devices, prints the
# guest's VIREO-CHECK lines as they come and exits 0 only if every requested check passed.
#   tests/guest/run.sh --checks blk_rw,rng [--serial S] [--timeout SECS] [--log FILE]
#                      [--guest DIR] [--smp N] [--append ARGS] [--watch PID]...
#                      -- QEMU-DEVICE-ARGS...
# --watch PID: stop the guest at once if process PID (e.g. the back-end serving its disk)
# dies, instead of waiting for the timeout with the guest's I/O hung.
# Example, with QEMU's own devices:
#   tests/guest/run.sh --checks blk_rw,rng -- \
#     -drive file=disk.img,if=none,id=d0,format=raw -device virtio-blk-pci,drive=d0 \
#     -device virtio-rng-pci
# Acceleration: KVM when the CPU has vmx/svm and /dev/kvm is usable, else TCG;
# VIREO_ACCEL=kvm|tcg overrides. Memory is a shared memfd, as vhost-user needs.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=proc_lib.sh
. "$here/proc_lib.sh"
guest=${VIREO_GUEST_DIR:-$here/../../build/guest}
checks='' serial='' timeout_s=120 log='' smp=2 append='' watch=()
while [ $# -gt 0 ]; do
	case "$1" in
	--checks) checks=$2; shift 2 ;;
	--serial) serial=$2; shift 2 ;;
	--timeout) timeout_s=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	--guest) guest=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--watch) watch+=("$2"); shift 2 ;;
	--) shift; break ;;
	*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
[ -n "$checks" ] || { echo "run.sh: --checks is required" >&2; exit 2; }
# fio's libraries slow the boot: only load them when a check needs fio.
initrd=initrd.img
case ",$checks," in *,blk_fio,* | *,blk_perf,* | *,blk_restart,*) initrd=initrd-fio.img ;; esac
for f in vmlinuz $initrd; do
	[ -f "$guest/$f" ] || { echo "run.sh: no $guest/$f (run tests/guest/build.sh)" >&2; exit 2; }
done
command -v qemu-system-x86_64 >/dev/null || { echo "run.sh: no qemu-system-x86_64" >&2; exit 2; }

accel=${VIREO_ACCEL:-}
if [ -z "$accel" ]; then
	accel=tcg
	if grep -qwE 'vmx|svm' /proc/cpuinfo && [ -w /dev/kvm ]; then
		accel=kvm
	fi
fi
case "$accel" in
kvm) accel_args=(-accel kvm -cpu host) ;;
tcg) accel_args=(-accel tcg,thread=multi) ;;
*) echo "run.sh: VIREO_ACCEL must be kvm or tcg" >&2; exit 2 ;;
esac

cmdline="console=ttyS0 quiet panic=-1 vireo.checks=$checks"
[ -n "$serial" ] && cmdline="$cmdline vireo.serial=$serial"
[ -n "$append" ] && cmdline="$cmdline $append"

tmp=$(mktemp -d /tmp/vireo-guest.XXXXXX)
[ -n "$log" ] || log=$tmp/console.log
watcher= dumper=
cleanup() {
	local qpid
	[ -n "$watcher" ] && kill "$watcher" 2>/dev/null
	# Killed mid-boot: the thread dumper holds our stderr, which a caller may be reading.
	[ -n "$dumper" ] && kill "$dumper" 2>/dev/null
	# Stopped while the guest runs (e.g. a test's cleanup): QEMU is in timeout's own process
	# group, so a signal to ours misses it.
	qpid=$(cat "$tmp/qemu.pid" 2>/dev/null)
	if [ -n "$qpid" ] && grep -q qemu "/proc/$qpid/comm" 2>/dev/null; then
		kill -TERM "$qpid"
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# watch_peers: poll the watched pids; if one dies, SIGTERM QEMU (found through its pidfile).
watch_peers() {
	local p
	while sleep 0.5; do
		for p in "${watch[@]}"; do
			# A dead child of our caller stays a zombie until the caller reaps it.
			case "$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -c1)" in
			'' | Z | X) ;;
			*) continue ;;
			esac
			echo "$p" >"$tmp/died"
			[ -f "$tmp/qemu.pid" ] && kill -TERM "$(cat "$tmp/qemu.pid")" 2>/dev/null
			return
		done
	done
}
if [ ${#watch[@]} -gt 0 ]; then
	watch_peers &
	watcher=$!
fi

# boot QEMU-ARGS...: one boot; sets qemu_rc. -no-reboot: the guest's poweroff (or a panic)
# ends QEMU; timeout bounds a hung guest. sed -u, not tr: the log fills line by line, for
# scripts that wait for a console line.
# A hung guest is often QEMU blocked (a vhost-user reply it waits for with its main loop
# held): 3 s before the timeout, QEMU's threads go to stderr for the diagnosis.
boot() {
	local wait_s=$((timeout_s > 6 ? timeout_s - 3 : timeout_s))
	(
		# The sleep holds no pipe of ours, and goes with the dumper.
		sleep "$wait_s" </dev/null >/dev/null 2>&1 &
		trap 'kill $! 2>/dev/null; exit 0' TERM
		wait $!
		q=$(cat "$tmp/qemu.pid" 2>/dev/null)
		[ -n "$q" ] && grep -q qemu "/proc/$q/comm" 2>/dev/null || exit 0
		echo "run.sh: QEMU still runs after $wait_s s; its threads:"
		proc_threads "$q" run.sh:
	) >&2 &
	dumper=$!
	timeout --kill-after=5 "$timeout_s" qemu-system-x86_64 \
		-machine q35 "${accel_args[@]}" -smp "$smp" -m 512M \
		-object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem \
		-nodefaults -nographic -serial stdio -no-reboot -pidfile "$tmp/qemu.pid" \
		-kernel "$guest/vmlinuz" -initrd "$guest/$initrd" -append "$cmdline" \
		"$@" </dev/null 2>&1 | sed -u 's/\r//g' | tee "$log" |
		sed -u -n 's/.*\(VIREO-CHECK \)/\1/p'
	qemu_rc=${PIPESTATUS[0]}
	kill "$dumper" 2>/dev/null
	wait "$dumper" 2>/dev/null
	dumper=
}
boot "$@"
# Seen once in many runs under TCG with both cores loaded: the kernel never reached /init
# before the timeout. No check ran then, so one more boot tests the same thing; the checks
# must still all pass.
if { [ "$qemu_rc" -eq 124 ] || [ "$qemu_rc" -eq 137 ]; } && [ ! -f "$tmp/died" ] &&
	! grep -q 'vireo-guest: /init at' "$log"; then
	# On stdout with the VIREO-CHECK lines, as a TAP diagnostic the test scripts pass on
	# ("# NOTE: " lines show in scripts/run-tests.sh's summary even when all passed).
	echo "# NOTE: run.sh: QEMU ($accel) timed out before the guest reached /init in ${timeout_s}s: booting it once more"
	boot "$@"
	if { [ "$qemu_rc" -eq 124 ] || [ "$qemu_rc" -eq 137 ]; } &&
		! grep -q 'vireo-guest: /init at' "$log"; then
		echo "# NOTE: run.sh: the second boot timed out before /init too: a failure"
	fi
fi

want=$(echo "$checks" | tr ',' ' ' | wc -w)
passed=$(grep -c 'VIREO-CHECK [^ ]* PASS' "$log")
failed=$(grep -c 'VIREO-CHECK [^ ]* FAIL' "$log")
ok=1
if [ -f "$tmp/died" ]; then
	echo "run.sh: watched process $(cat "$tmp/died") died: guest stopped" >&2
	ok=0
elif [ "$qemu_rc" -eq 124 ] || [ "$qemu_rc" -eq 137 ]; then
	echo "run.sh: guest timed out after ${timeout_s}s" >&2
	ok=0
elif [ "$qemu_rc" -ne 0 ]; then
	echo "run.sh: qemu exited with status $qemu_rc" >&2
	ok=0
fi
if [ "$failed" -ne 0 ] || [ "$passed" -ne "$want" ]; then
	ok=0
fi
if [ $ok -eq 0 ]; then
	echo "run.sh: $passed of $want checks passed; last console lines:" >&2
	grep -v 'VIREO-CHECK ' "$log" | tail -n 25 | sed 's/^/  | /' >&2
	exit 1
fi
exit 0
