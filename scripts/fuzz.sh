#!/bin/bash
# Builds each libFuzzer target with clang and runs it for a bounded time.
# Crash inputs are written straight into tests/fuzz/regressions/<target>/, which
# `make test` replays; commit them with the fix.
#   scripts/fuzz.sh OUTDIR SECONDS tests/fuzz/fuzz_*.c
set -eu
out=$1 seconds=$2; shift 2
mkdir -p "$out"
lib_srcs=$(ls ring/*.c core/*.c devices/*/*.c transport/*.c drivers/*.c 2>/dev/null)
status=0
for src in "$@"; do
	name=$(basename "${src%.c}"); name=${name#fuzz_}
	bin=$out/fuzz_$name
	echo "fuzz: building $name"
	# shellcheck disable=SC2086
	clang -std=c11 -D_GNU_SOURCE -g -O1 -Iinclude -I. \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o "$bin" "$src" $lib_srcs -luring -lslirp -lpthread
	corpus=$out/corpus-$name
	regressions=tests/fuzz/regressions/$name
	mkdir -p "$corpus" "$regressions"
	echo "fuzz: running $name for ${seconds}s"
	if ! "$bin" -max_total_time="$seconds" -print_final_stats=1 \
		-artifact_prefix="$regressions/" "$corpus" "$regressions" 2>"$out/$name.log"; then
		echo "fuzz: $name found a crash: see $out/$name.log; input kept in $regressions/" >&2
		status=1
	fi
	grep -E 'stat::number_of_executed_units|stat::new_units_added' "$out/$name.log" |
		sed "s/^/fuzz: $name: /"
done
exit $status
