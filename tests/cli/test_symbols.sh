#!/bin/bash
# TAP: libvireo.so's ABI is what include/vireo/ declares. Every symbol it exports is a
# function or object declared in a public header, every function and object those headers
# declare is exported (a declaration without VIREO_API is hidden by -fvisibility=hidden), and
# every exported symbol carries the version node VIREO_1.0 (libvireo.map), and every exported
# name follows issue 12's naming rule: the seed's Linux names (virtqueue_*, virtio_*, vring_*)
# are the public ring and driver API, everything else carries the vireo_ prefix.
# run-tests: once (checks the plain build's libvireo.so)
#   VIREO=build/vireo bash tests/cli/test_symbols.sh
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../interop/tap_lib.sh
. "$repo/tests/interop/tap_lib.sh"
VIREO=${VIREO:-build/vireo}
lib=$(dirname "$VIREO")/libvireo.so
CC=${CC:-gcc}
tmp=$(mktemp -d /tmp/vireo-symbols.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
echo "1..5"

# Exported: defined dynamic symbols (nm may print NAME@@VERSION), less the version node's own
# absolute symbol.
nm -D --defined-only "$lib" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' |
	sort -u >"$tmp/exported"
if [ -s "$tmp/exported" ]; then
	tap OK "libvireo.so exports $(wc -l <"$tmp/exported") symbols"
else
	tap FAIL "libvireo.so exports symbols" "nm -D found none in $lib"
fi

# Declared: the compiler's own list of the functions the public headers declare
# (-aux-info), and the objects they declare extern.
(cd "$repo/include" && ls vireo/*.h) | sed 's/.*/#include <&>/' >"$tmp/all.c"
"$CC" -std=c11 -D_GNU_SOURCE -I"$repo/include" -aux-info "$tmp/aux" -c "$tmp/all.c" \
	-o "$tmp/all.o"
{
	grep -F "$repo/include/vireo/" "$tmp/aux" |
		sed -nE 's/^\/\*[^*]*\*\/ extern [^(]*[^a-z0-9_(]([a-z_][a-z0-9_]*) \(.*/\1/p'
	sed -nE 's/^VIREO_API extern [^(;]*[^a-z0-9_]([a-z_][a-z0-9_]*);.*/\1/p' \
		"$repo"/include/vireo/*.h
} | sort -u >"$tmp/declared"

mapfile -t leaked < <(comm -23 "$tmp/exported" "$tmp/declared")
if [ ${#leaked[@]} -eq 0 ]; then
	tap OK "every exported symbol is declared in include/vireo/"
else
	tap FAIL "every exported symbol is declared in include/vireo/" \
		"${#leaked[@]} not declared: ${leaked[*]:0:20}"
fi
mapfile -t hidden < <(comm -13 "$tmp/exported" "$tmp/declared")
if [ ${#hidden[@]} -eq 0 ]; then
	tap OK "every function and object include/vireo/ declares is exported"
else
	tap FAIL "every function and object include/vireo/ declares is exported" \
		"${#hidden[@]} not exported (VIREO_API missing, or no definition): ${hidden[*]:0:20}"
fi

# readelf names a versioned symbol NAME@@VERSION.
mapfile -t unversioned < <(readelf -W --dyn-syms "$lib" |
	awk '$7 != "UND" && $7 != "ABS" && $8 != "" && $1 ~ /^[0-9]+:$/ && $8 !~ /@@VIREO_1\.0$/ { print $8 }')
if [ ${#unversioned[@]} -eq 0 ]; then
	tap OK "every exported symbol is versioned VIREO_1.0"
else
	tap FAIL "every exported symbol is versioned VIREO_1.0" "${unversioned[*]:0:20}"
fi

mapfile -t outside < <(grep -vE '^(vireo_|virtio_|virtqueue_|vring_)' "$tmp/exported")
if [ ${#outside[@]} -eq 0 ]; then
	tap OK "every exported symbol is vireo_*, or Linux's virtqueue_*/virtio_*/vring_*"
else
	tap FAIL "every exported symbol is vireo_*, or Linux's virtqueue_*/virtio_*/vring_*" \
		"${#outside[@]} outside the naming rule: ${outside[*]:0:20}"
fi
