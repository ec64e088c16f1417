#!/bin/bash
# ring/ must build with -ffreestanding and call nothing outside itself: after
# compiling each file, no object may have an undefined symbol except the
# ring's own functions defined in another ring/ file.
#   scripts/freestanding-check.sh OUTDIR ring/*.c
set -eu
out=$1; shift
mkdir -p "$out"
cc=${CC:-cc}
objs=()
for src in "$@"; do
	obj=$out/$(basename "${src%.c}").o
	"$cc" -std=c11 -ffreestanding -O2 -Wall -Wextra -Werror -Wconversion -Iinclude -I. \
		-c "$src" -o "$obj"
	objs+=("$obj")
done
defined=$(nm --defined-only "${objs[@]}" | awk 'NF == 3 { print $3 }' | sort -u)
undefined=$(nm -u "${objs[@]}" | awk 'NF == 2 { print $2 }' | sort -u)
bad=$(comm -23 <(echo "$undefined") <(echo "$defined") | sed '/^$/d')
if [ -n "$bad" ]; then
	echo "freestanding-check: ring/ calls outside itself: $bad" >&2
	exit 1
fi
echo "freestanding-check: ok (${#objs[@]} files)"
