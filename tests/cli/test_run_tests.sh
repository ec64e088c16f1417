#!/bin/bash
# TAP: scripts/run-tests.sh itself, on a build folder of fake test programs: a plain SKIP fails
# a strict run (STRICT=1 or CI=true) and SKIP(hardware) does not, the last line stays
# "N passed, N failed, N skipped"; a program killed by its timeout and one that exits leaving
# a child behind both fail and leave no process; a TSAN_DIR program that reports a race (exit
# 66) fails. Then this build's test_net_hostile_frontend, SIGKILLed while its `vireo serve net`
# child runs: the child goes too (PR_SET_PDEATHSIG).
#   VIREO=build/vireo bash tests/cli/test_run_tests.sh
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../interop/tap_lib.sh
. "$repo/tests/interop/tap_lib.sh"
VIREO=${VIREO:-$repo/build/vireo}
tmp=$(mktemp -d /tmp/vireo-run-tests.XXXXXX)
# A marker no other process has: the fake programs' children sleep for 900.PID seconds.
mark=900.$$
cleanup() {
	[ -n "${victim:-}" ] && kill -KILL "$victim" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
echo "1..12"

# fake NAME BODY: an executable test program NAME in the fake build folder.
fake() {
	mkdir -p "$tmp/$3/tests"
	printf '#!/bin/bash\n%s\n' "$2" >"$tmp/$3/tests/test_$1"
	chmod +x "$tmp/$3/tests/test_$1"
}
# none_marked: 0 once no process sleeps $mark seconds (a killed one may take a moment to be
# reaped by init), within 5 s; else 1, their pids on stdout.
none_marked() {
	local pids _
	for _ in $(seq 50); do
		# One argument a line (-z); "[.]": grep's own argument must not match itself.
		pids=$(grep -lzx "900[.]$$" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3)
		[ -z "$pids" ] && return 0
		sleep 0.1
	done
	echo "$pids"
	return 1
}
# run_tests FOLDER [ENV...]: scripts/run-tests.sh on the fake FOLDER, no scripts; output in
# $tmp/FOLDER.out, status in rt_rc, last line in rt_last.
run_tests() {
	local dir=$1
	shift
	env -u CI -u STRICT -u TSAN_DIR "$@" RUN_TESTS_SCRIPTS='' FUZZ_SECONDS_TEST=0 \
		"$repo/scripts/run-tests.sh" "$tmp/$dir" >"$tmp/$dir.out" 2>&1
	rt_rc=$?
	rt_last=$(tail -n 1 "$tmp/$dir.out")
}

fake pass 'echo 1..1; echo "ok 1 - fine"' skips
fake skip 'echo 1..2; echo "ok 1 - fine"; echo "ok 2 # SKIP needs a package"' skips
fake hw 'echo 1..1; echo "ok 1 # SKIP(hardware) needs vmx or svm"' skips
run_tests skips
same "not strict: skips are skips" "2 passed, 0 failed, 2 skipped (0)" "$rt_last ($rt_rc)"
run_tests skips STRICT=1
same "STRICT=1: a plain SKIP fails, SKIP(hardware) does not" "2 passed, 1 failed, 1 skipped (1)" \
	"$rt_last ($rt_rc)"
check "STRICT=1: the failure says why" grep -q 'STRICT: 1 skips counted as failures' "$tmp/skips.out"
run_tests skips CI=true
same "CI=true: the same as STRICT=1" "2 passed, 1 failed, 1 skipped (1)" "$rt_last ($rt_rc)"

fake hang "sleep $mark & echo 1..1; sleep 600" hang
run_tests hang RUN_TESTS_TIMEOUT=2
# Two failures: the missing result, and the children its killed shell left.
same "a program killed by its timeout fails" "0 passed, 2 failed, 0 skipped (1)" "$rt_last ($rt_rc)"
check "... and leaves no process" none_marked

fake leak "sleep $mark & echo 1..1; echo 'ok 1 - fine'" leak
run_tests leak
same "a program that leaves a child running fails" "1 passed, 1 failed, 0 skipped (1)" \
	"$rt_last ($rt_rc)"
check "... named in the output" grep -q 'left 1 processes running' "$tmp/leak.out"
check "... and the child is gone" none_marked

# TSAN_DIR: a ThreadSanitizer program whose checks pass but whose race report exits 66 fails.
mkdir -p "$tmp/tsan/tsan" "$tmp/plain/tests"
printf '#!/bin/bash\necho 1..1; echo "ok 1 - fine"; echo "WARNING: ThreadSanitizer: data race"; exit 66\n' \
	>"$tmp/tsan/tsan/test_race"
chmod +x "$tmp/tsan/tsan/test_race"
run_tests plain TSAN_DIR="$tmp/tsan"
same "TSAN_DIR: a race report (exit 66) fails" "1 passed, 1 failed, 0 skipped (1)" \
	"$rt_last ($rt_rc)"
check "... shown in the output" grep -q 'ThreadSanitizer: data race' "$tmp/plain.out"

# The real thing: this build's hostile front-end test, SIGKILLed once its server runs.
t=$(dirname "$VIREO")/tests/test_net_hostile_frontend
vireo=$(readlink -f "$VIREO")
if [ ! -x "$t" ]; then
	tap FAIL "test_net_hostile_frontend killed: its vireo serve net goes too" "no $t"
else
	"$t" >"$tmp/hostile.log" 2>&1 &
	victim=$!
	child=''
	for _ in $(seq 300); do
		for p in $(grep -lE "^[0-9]+ \(.*\) . $victim " /proc/[0-9]*/stat 2>/dev/null | cut -d/ -f3); do
			[ "$(readlink "/proc/$p/exe")" = "$vireo" ] && child=$p
		done
		[ -n "$child" ] && break
		sleep 0.1
	done
	kill -KILL "$victim"
	wait "$victim" 2>/dev/null
	victim=''
	gone=no
	for _ in $(seq 50); do
		[ -n "$child" ] && [ ! -d "/proc/$child" ] && gone=yes && break
		sleep 0.1
	done
	tap $([ $gone = yes ] && echo OK || echo FAIL) \
		"test_net_hostile_frontend killed: its vireo serve net ($child) goes too" \
		"$([ -z "$child" ] && echo "no vireo serve net child seen")"
	[ -n "$child" ] && kill -KILL "$child" 2>/dev/null
fi
# The TAP lines carry the results; the status is not the last cleanup command's.
exit 0
