#!/bin/bash
# TAP: man/vireo.1 documents the command as built: every command `vireo help` lists (and
# every one a help text points to, as 'vireo serve net --help') is named in it, and every
# long option each command's --help prints appears in it. Both pages render without a
# groff warning.
#   VIREO=build/vireo bash tests/cli/test_man.sh
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../interop/tap_lib.sh
. "$repo/tests/interop/tap_lib.sh"
VIREO=${VIREO:-build/vireo}
command -v groff >/dev/null || skip_all "no groff (Debian package groff-base)"
tmp=$(mktemp -d /tmp/vireo-man.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# The page's text with roff escapes undone: \- is -, font changes vanish.
sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$repo/man/vireo.1" >"$tmp/page"

# Commands: the two-space-indented names under "commands:" in `vireo help` (one or two
# words before the description), then any 'vireo X --help' a help text names.
mapfile -t commands < <("$VIREO" help | sed -n '/^commands:/,/^$/p' |
	sed -n 's/^  \([a-z]\+\( [a-z]\+\)\?\)  .*/\1/p' | grep -v '^help$')
[ ${#commands[@]} -gt 0 ] || { echo "1..1"; tap FAIL "vireo help lists commands"; exit 0; }
for c in "${commands[@]}"; do
	# shellcheck disable=SC2086 # a command is one or two words
	"$VIREO" $c --help >"$tmp/help.$c" 2>&1
done
mapfile -t pointed < <(cat "$tmp"/help.* | sed -n "s/.*'vireo \([a-z ]*[a-z]\) --help'.*/\1/p" | sort -u)
for c in "${pointed[@]}"; do
	[ -e "$tmp/help.$c" ] && continue
	commands+=("$c")
	# shellcheck disable=SC2086
	"$VIREO" $c --help >"$tmp/help.$c" 2>&1
done

# Every (command, long option) pair, deduplicated per command.
pairs=()
for c in "${commands[@]}"; do
	while read -r o; do
		pairs+=("$c:$o")
	done < <(grep -oE -- '--[a-z][a-z0-9-]*' "$tmp/help.$c" | sort -u)
done
echo "1..$((2 + ${#commands[@]} + ${#pairs[@]}))"

for page in vireo.1 libvireo.3; do
	if groff -man -ww -z "$repo/man/$page" >"$tmp/groff" 2>&1 && ! [ -s "$tmp/groff" ]; then
		tap OK "man/$page renders without warnings"
	else
		tap FAIL "man/$page renders without warnings" "$(head -n 3 "$tmp/groff")"
	fi
done
for c in "${commands[@]}"; do
	# A heading of its own: ".B serve net" in COMMANDS or ".SS vireo serve net" in OPTIONS.
	check "vireo.1 has a heading for the command '$c'" \
		grep -qE -- "^\.(B|SS) (vireo )?$c( |,|\$)" "$tmp/page"
done
for p in "${pairs[@]}"; do
	c=${p%%:*} o=${p#*:}
	check "vireo $c: $o is in vireo.1" grep -qE -- "$o([^a-z0-9-]|$)" "$tmp/page"
done
