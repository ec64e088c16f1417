#!/bin/bash
# Builds each libFuzzer target with clang and runs it for a bounded time; prints TAP (one line
# per target: its runs and new corpus units, or the crash), so `make test` counts it.
# Crash inputs are written straight into tests/fuzz/regressions/<target>/, which
# `make test` replays; commit them with the fix.
#   scripts/fuzz.sh OUTDIR SECONDS tests/fuzz/fuzz_*.c
set -u
out=$1 seconds=$2; shift 2
echo "1..$#"
if ! command -v clang >/dev/null; then
	for _ in "$@"; do echo "ok - # SKIP no clang (Debian packages clang, libclang-rt-14-dev)"; done
	exit 0
fi
mkdir -p "$out/obj"
flags=(-std=c11 -D_GNU_SOURCE -g -O1 -Iinclude -I. -fsanitize=address,undefined
	-fno-sanitize-recover=all)
# The library once, instrumented for coverage, not once per target; rebuilt when any source
# or header is newer than the archive.
lib=$out/libvireo-fuzz.a
if [ ! -f "$lib" ] || [ -n "$(find ring core devices transport drivers include \
	-newer "$lib" -name '*.[ch]' | head -n 1)" ]; then
	echo "# fuzz: building the library"
	rm -f "$lib" "$out"/obj/*.o
	for src in ring/*.c core/*.c devices/*/*.c transport/*.c drivers/*.c; do
		obj=$out/obj/$(echo "${src%.c}" | tr / _).o
		clang "${flags[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj" ||
			{ echo "not ok 1 - fuzz: $src does not build with clang"; exit 1; }
	done
	ar rcs "$lib" "$out"/obj/*.o
fi
i=0 status=0
for src in "$@"; do
	i=$((i + 1))
	name=$(basename "${src%.c}"); name=${name#fuzz_}
	bin=$out/fuzz_$name
	if ! clang "${flags[@]}" -fsanitize=fuzzer -o "$bin" "$src" "$lib" -luring -lslirp \
		-lpthread 2>"$out/$name.build.log"; then
		echo "not ok $i - fuzz $name: does not build"
		sed 's/^/# /' "$out/$name.build.log" | tail -n 20
		status=1
		continue
	fi
	corpus=$out/corpus-$name
	regressions=tests/fuzz/regressions/$name
	mkdir -p "$corpus" "$regressions"
	if "$bin" -max_total_time="$seconds" -print_final_stats=1 \
		-artifact_prefix="$regressions/" "$corpus" "$regressions" >"$out/$name.log" 2>&1; then
		echo "ok $i - fuzz $name ${seconds}s: $(grep -E 'stat::number_of_executed_units|stat::new_units_added' \
			"$out/$name.log" | sed 's/^stat::\([a-z_]*\): */\1=/' | tr -s ' \n' '  ')"
	else
		echo "not ok $i - fuzz $name found a crash: input kept in $regressions/"
		grep -E '^==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written' "$out/$name.log" |
			sed 's/^/# /' | head -n 10
		status=1
	fi
done
exit $status
