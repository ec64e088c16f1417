#!/bin/bash
# TAP: scripts/install-deps.sh names every command the tests run, and the package it names is
# the one dpkg says holds that command (dpkg -S of `command -v`): on a fresh machine
# `make test` installs every peer, so nothing skips for want of a package. Also: every
# `command -v NAME` in the tests and scripts has a line in the table. The libraries the build
# links are checked the same way, by a header each (--headers).
# run-tests: once (checks the machine and the scripts, not a build's vireo)
#   bash tests/cli/test_deps.sh
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../interop/tap_lib.sh
. "$repo/tests/interop/tap_lib.sh"
command -v dpkg >/dev/null || skip_all "no dpkg: not a Debian machine"
mapfile -t table < <(bash "$repo/scripts/install-deps.sh" --commands)
mapfile -t headers < <(bash "$repo/scripts/install-deps.sh" --headers)
# Every `command -v NAME` with a literal NAME in the tests, scripts and Makefile.
mapfile -t used < <(grep -rhoE 'command -v [a-z][a-z0-9_.+-]*' "$repo/tests" "$repo/scripts" \
	"$repo/Makefile" | awk '{ print $3 }' | sort -u)
echo "1..$((${#table[@]} + ${#headers[@]} + ${#used[@]}))"

# owner PATH: the packages dpkg names for PATH; tries the /usr-less path (merged /usr: dpkg
# knows /bin/ip, `command -v` says /usr/sbin/ip) and the resolved symlink (alternatives).
owner() {
	local p got
	for p in "$1" "${1#/usr}" "$(readlink -f "$1")"; do
		got=$(dpkg -S "$p" 2>/dev/null | grep -v '^diversion' | sed 's/: .*//; s/, /\n/g')
		[ -n "$got" ] && echo "$got" && return 0
	done
	return 1
}

for line in "${table[@]}"; do
	read -r cmd pkg <<<"$line"
	path=$(command -v "$cmd")
	if [ -z "$path" ]; then
		tap FAIL "$cmd is installed (Debian package $pkg)" "run scripts/install-deps.sh as root"
		continue
	fi
	got=$(owner "$path" | tr '\n' ' ')
	case " $got" in
	*" $pkg "* | *" $pkg:"*) tap OK "$cmd: $path is in $pkg" ;;
	*) tap FAIL "$cmd: $path is in $pkg" "dpkg -S names '${got:-nothing}'" ;;
	esac
done
for line in "${headers[@]}"; do
	read -r header pkg <<<"$line"
	got=$(owner "$header" | tr '\n' ' ')
	case " $got" in
	*" $pkg "* | *" $pkg:"*) tap OK "$header is in $pkg" ;;
	*) tap FAIL "$header is in $pkg" "run scripts/install-deps.sh as root (dpkg -S: '${got:-nothing}')" ;;
	esac
done
for cmd in "${used[@]}"; do
	if printf '%s\n' "${table[@]}" | grep -q "^$cmd "; then
		tap OK "command -v $cmd: in install-deps.sh's table"
	else
		tap FAIL "command -v $cmd: in install-deps.sh's table" "add '$cmd:PACKAGE' to scripts/install-deps.sh"
	fi
done
