#!/bin/bash
# Runs every test program of each build folder given (e.g. build build-asan):
# cmocka unit tests (TAP output), fuzz regression replays and CLI tests.
# Prints one line per program and ends with "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
passed=0 failed=0 skipped=0
logdir=$(mktemp -d /tmp/vireo-tests.XXXXXX)
trap 'rm -rf "$logdir"' EXIT

# count_tap NAME LOG RC: add a TAP log's results to the totals.
count_tap() {
	local name=$1 log=$2 rc=$3 p f s plan ran
	p=$(grep -E '^ok [0-9]+' "$log" | grep -vc '# SKIP')
	s=$(grep -cE '^(not )?ok [0-9]+ # SKIP' "$log")
	f=$(grep -E '^not ok [0-9]+' "$log" | grep -vc '# SKIP')
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$log" | head -n 1)
	# A whole script skipped ("1..0 # SKIP reason") counts as one skipped test, not nothing.
	if [ "$plan" = 0 ] && grep -qE '^1\.\.0 # SKIP' "$log"; then
		s=$((s + 1))
		sed -n 's/^1\.\.0 # SKIP */SKIP: /p' "$log" >>"$log.skip"
	fi
	ran=$((p + f + s))
	# A crash or a short run: whatever did not report counts as failed.
	if [ -n "$plan" ] && [ "$ran" -lt "$plan" ]; then
		f=$((f + plan - ran))
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	if [ "$f" -ne 0 ]; then
		printf 'FAIL  %-48s %3d passed, %d failed, %d skipped (exit %d)\n' "$name" "$p" "$f" "$s" "$rc"
		grep -vE '^ok [0-9]+' "$log" | tail -n 40 | sed 's/^/      /'
	else
		printf 'ok    %-48s %3d passed, %d skipped\n' "$name" "$p" "$s"
	fi
	grep -hE '^#? *SKIP: ' "$log" "$log.skip" 2>/dev/null | sed 's/^#* */      /' | sort -u
}

for dir in "$@"; do
	echo "== $dir"
	for t in "$dir"/tests/test_*; do
		[ -x "$t" ] || continue
		log=$logdir/$(basename "$t").$(basename "$dir").log
		CMOCKA_MESSAGE_OUTPUT=TAP timeout 600 "$t" >"$log" 2>&1
		count_tap "$t" "$log" $?
	done
	for r in "$dir"/fuzz-replay/fuzz_*; do
		[ -x "$r" ] || continue
		name=$(basename "$r"); name=${name#fuzz_}
		inputs=(tests/fuzz/regressions/"$name"/*)
		[ -e "${inputs[0]}" ] || continue
		log=$logdir/replay-$name.$(basename "$dir").log
		timeout 600 "$r" "${inputs[@]}" >"$log" 2>&1
		count_tap "$r (${#inputs[@]} inputs)" "$log" $?
	done
	for c in tests/cli/test_*.sh tests/interop/test_*.sh; do
		[ -f "$c" ] || continue
		log=$logdir/$(basename "$c").$(basename "$dir").log
		VIREO="$dir/vireo" timeout 600 bash "$c" >"$log" 2>&1
		count_tap "$c [$dir]" "$log" $?
	done
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
