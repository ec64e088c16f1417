#!/bin/bash
# Runs every test program of each build folder given (e.g. build build-asan):
# cmocka unit tests (TAP output), fuzz regression replays and CLI/interop scripts; then, with
# FUZZ_SECONDS_TEST=N (N > 0), N seconds of libFuzzer per target (scripts/fuzz.sh).
# Prints one line per program and ends with "N passed, N failed, N skipped".
#   [CI=true | STRICT=1] [FUZZ_SECONDS_TEST=5] scripts/run-tests.sh build build-asan
# Strict (CI=true or STRICT=1): a skip counts as a failure (listed as "STRICT:"), except
# "SKIP(hardware)": what `make test` cannot install (scripts/install-deps.sh) is hardware.
# VIREO_GUEST_BUILD=failed (the Makefile's note that tests/guest/build.sh failed): a failure
# when strict. RUN_TESTS_TIMEOUT (600 s): per program. RUN_TESTS_SCRIPTS: the scripts
# (default tests/cli/test_*.sh tests/interop/test_*.sh); a script with the header line
# "# run-tests: once" does not use the build's vireo and runs for the first folder only.
# TSAN_DIR: also run the ThreadSanitizer build's programs (TSAN_DIR/tsan/test_*).
# Each program runs in a session of its own; whatever it leaves running is killed and the
# program fails ("left N processes").
set -u
cd "$(dirname "$0")/.."
passed=0 failed=0 skipped=0
strict=0
{ [ "${CI:-}" = true ] || [ "${STRICT:-0}" = 1 ]; } && strict=1
limit=${RUN_TESTS_TIMEOUT:-600}
# Ours only: a script that runs run-tests.sh itself (cli/test_run_tests.sh) must not inherit it.
tsan_dir=${TSAN_DIR:-}
unset TSAN_DIR
scripts=${RUN_TESTS_SCRIPTS-tests/cli/test_*.sh tests/interop/test_*.sh}
logdir=$(mktemp -d /tmp/vireo-tests.XXXXXX)
trap 'rm -rf "$logdir"' EXIT

# group_alive PGID: 0 if a process of group PGID is still there (zombies count: not reaped).
group_alive() {
	kill -0 -- "-$1" 2>/dev/null
}

# run_bounded LOG COMMAND...: run COMMAND in a session of its own (its pid is its process
# group) under timeout, output to LOG; sets rc, and leftovers to the number of processes of
# the group still running 2 s after COMMAND ended (then killed). timeout's TERM reaches the
# program only: its own trap must stop its children; the group kill catches what it misses.
run_bounded() {
	local log=$1 pidfile=$logdir/pgid pg i
	shift
	rm -f "$pidfile"
	# bash is not a group leader under timeout, so setsid needs no fork: $$ is the group.
	timeout --kill-after=5 "$limit" bash -c 'echo $$ >"$0"; exec setsid "$@"' "$pidfile" \
		"$@" >"$log" 2>&1 </dev/null
	rc=$?
	leftovers=0
	pg=$(cat "$pidfile" 2>/dev/null) || return 0
	for i in $(seq 20); do
		group_alive "$pg" || return 0
		sleep 0.1
	done
	# Zombies (state Z) are not counted: dead, and orphans wait for PID 1 to reap them, which
	# on some machines (a VM's init that is not a shell's) takes a while.
	for i in $(grep -lE "^[0-9]+ \(.*\) [^Z] [0-9]+ $pg " /proc/[0-9]*/stat 2>/dev/null); do
		i=${i%/stat}
		echo "# left running: ${i#/proc/} $(tr '\0' ' ' <"$i/cmdline" 2>/dev/null)" >>"$log"
		leftovers=$((leftovers + 1))
	done
	kill -KILL -- "-$pg" 2>/dev/null
}

# count_tap NAME LOG RC: add a TAP log's results to the totals.
count_tap() {
	local name=$1 log=$2 rc=$3 p f s hw plan ran strict_f=0
	p=$(grep -E '^ok [0-9]+' "$log" | grep -vc '# SKIP')
	s=$(grep -cE '^(not )?ok [0-9]+ # SKIP' "$log")
	hw=$(grep -cE '^(not )?ok [0-9]+ # SKIP\(hardware\)' "$log")
	f=$(grep -E '^not ok [0-9]+' "$log" | grep -vc '# SKIP')
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$log" | head -n 1)
	# A whole script skipped ("1..0 # SKIP reason") counts as one skipped test, not nothing.
	if [ "$plan" = 0 ] && grep -qE '^1\.\.0 # SKIP' "$log"; then
		s=$((s + 1))
		grep -qE '^1\.\.0 # SKIP\(hardware\)' "$log" && hw=$((hw + 1))
		sed -n 's/^1\.\.0 # SKIP */SKIP: /p' "$log" >>"$log.skip"
	fi
	# A C test's hardware skip: its "# SKIP(hardware): why" note, then cmocka's "# SKIP".
	hw=$((hw + $(grep -cE '^# SKIP\(hardware\): ' "$log")))
	[ "$hw" -gt "$s" ] && hw=$s
	ran=$((p + f + s))
	# A crash or a short run: whatever did not report counts as failed.
	if [ -n "$plan" ] && [ "$ran" -lt "$plan" ]; then
		f=$((f + plan - ran))
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	[ "${leftovers:-0}" -gt 0 ] && f=$((f + 1))
	if [ $strict = 1 ] && [ $((s - hw)) -gt 0 ]; then
		strict_f=$((s - hw)) s=$hw f=$((f + strict_f))
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	if [ "$f" -ne 0 ]; then
		printf 'FAIL  %-48s %3d passed, %d failed, %d skipped (exit %d)\n' "$name" "$p" "$f" "$s" "$rc"
		[ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && echo "      killed by its ${limit}s timeout"
		[ "${leftovers:-0}" -gt 0 ] && echo "      left $leftovers processes running (killed)"
		[ "$strict_f" -gt 0 ] &&
			echo "      STRICT: $strict_f skips counted as failures (CI=true or STRICT=1)"
		grep -vE '^ok [0-9]+' "$log" | tail -n 40 | sed 's/^/      /'
	else
		printf 'ok    %-48s %3d passed, %d skipped\n' "$name" "$p" "$s"
	fi
	grep -hE '^#? *SKIP(\(hardware\))?: |^# NOTE: ' "$log" "$log.skip" 2>/dev/null |
		sed 's/^#* */      /' | sort -u
}

[ $strict = 1 ] && echo "== strict (CI=true or STRICT=1): only SKIP(hardware) may skip"
if [ "${VIREO_GUEST_BUILD:-}" = failed ]; then
	if [ $strict = 1 ]; then
		echo "FAIL  tests/guest/build.sh: the test guest did not build"
		failed=$((failed + 1))
	else
		echo "note: the test guest did not build: guest tests will SKIP"
	fi
fi
first=1
for dir in "$@"; do
	echo "== $dir"
	for t in "$dir"/tests/test_*; do
		[ -x "$t" ] || continue
		log=$logdir/$(basename "$t").$(basename "$dir").log
		CMOCKA_MESSAGE_OUTPUT=TAP run_bounded "$log" "$t"
		count_tap "$t" "$log" $rc
	done
	for r in "$dir"/fuzz-replay/fuzz_*; do
		[ -x "$r" ] || continue
		name=$(basename "$r"); name=${name#fuzz_}
		inputs=(tests/fuzz/regressions/"$name"/*)
		[ -e "${inputs[0]}" ] || continue
		log=$logdir/replay-$name.$(basename "$dir").log
		run_bounded "$log" "$r" "${inputs[@]}"
		count_tap "$r (${#inputs[@]} inputs)" "$log" $rc
	done
	for c in $scripts; do
		[ -f "$c" ] || continue
		# Controls (QEMU's or DPDK's own devices) and machine checks: once, not per build.
		if [ $first = 0 ] && head -n 20 "$c" | grep -q '^# run-tests: once'; then
			continue
		fi
		log=$logdir/$(basename "$c").$(basename "$dir").log
		VIREO="$dir/vireo" run_bounded "$log" bash "$c"
		count_tap "$c [$dir]" "$log" $rc
	done
	first=0
done
# TSAN_DIR: the ThreadSanitizer build of the threaded ring and transport tests (Makefile:
# tsan-tests). A race report fails the program (exit 66). ASLR off (setarch -R) where allowed: clang 14's
# TSan cannot map its shadow on kernels with a high vm.mmap_rnd_bits.
if [ -n "$tsan_dir" ]; then
	echo "== $tsan_dir (ThreadSanitizer)"
	norand=()
	setarch "$(uname -m)" -R true 2>/dev/null && norand=(setarch "$(uname -m)" -R)
	for t in "$tsan_dir"/tsan/test_*; do
		[ -x "$t" ] || continue
		log=$logdir/tsan-$(basename "$t").log
		CMOCKA_MESSAGE_OUTPUT=TAP TSAN_OPTIONS="halt_on_error=1 exitcode=66" \
			run_bounded "$log" "${norand[@]}" "$t"
		count_tap "$t" "$log" $rc
	done
fi
if [ "${FUZZ_SECONDS_TEST:-0}" -gt 0 ] && [ $# -gt 0 ]; then
	echo "== fuzzing, ${FUZZ_SECONDS_TEST}s per target"
	log=$logdir/fuzz.log
	run_bounded "$log" scripts/fuzz.sh "$1/fuzz" "$FUZZ_SECONDS_TEST" tests/fuzz/fuzz_*.c
	count_tap "scripts/fuzz.sh (${FUZZ_SECONDS_TEST}s per target)" "$log" $rc
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
