#!/bin/bash
# TAP: `make install` into a temporary prefix, then a program outside the tree built against
# it through pkg-config alone, linked to libvireo.so and to libvireo.a, and run. Also: the
# installed vireo.pc names the PREFIX given (and never DESTDIR), and every library
# libvireo.so needs is named by `pkg-config --static --libs vireo`.
# run-tests: once (installs the plain build; an ASan build's library needs -fsanitize)
#   VIREO=build/vireo bash tests/cli/test_install.sh
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../interop/tap_lib.sh
. "$repo/tests/interop/tap_lib.sh"
VIREO=${VIREO:-build/vireo}
build=$(cd "$(dirname "$VIREO")" && pwd)
CC=${CC:-gcc}
tmp=$(mktemp -d /tmp/vireo-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
example_srcs=("$repo"/examples/*.c)
plan=$((18 + ${#example_srcs[@]}))
echo "1..$plan"

# The consumer: a blk device model on a file (the io_uring back-end, so a static link needs
# liburing from vireo.pc's private part), its capacity through the public API.
cat >"$tmp/consumer.c" <<'EOF'
#include <inttypes.h>
#include <stdio.h>

#include <vireo/blk_device.h>

int main(int argc, char **argv)
{
	struct blk_device_options opt = { .path = argc > 1 ? argv[1] : "" };
	struct blk_device *blk;
	int rc = vireo_blk_device_new(&blk, &opt);

	if (rc) {
		fprintf(stderr, "vireo_blk_device_new: %d\n", rc);
		return 1;
	}
	printf("sectors %" PRIu64 "\n", vireo_blk_device_capacity(blk));
	vireo_blk_device_free(blk);
	return 0;
}
EOF
truncate -s 1M "$tmp/disk.img"

if ! make -C "$repo" --no-print-directory -s O="$build" PREFIX="$prefix" install \
	>"$tmp/install.log" 2>&1; then
	tap FAIL "make install PREFIX=$prefix" "$(tail -n 5 "$tmp/install.log")"
	fail_rest $plan "not installed"
	exit 0
fi
tap OK "make install PREFIX=$prefix"
installed=(lib/libvireo.a lib/libvireo.so lib/libvireo.so.0 lib/pkgconfig/vireo.pc
	include/vireo/virtqueue.h bin/vireo share/man/man1/vireo.1 share/man/man3/libvireo.3)
for f in "${installed[@]}"; do
	check "installed $f" test -e "$prefix/$f"
done
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
same "vireo.pc names the PREFIX given" "$prefix" "$(pkg-config --variable=prefix vireo)"

# Every DT_NEEDED library but libc's own: a static consumer must be told to link it.
static_libs=" $(pkg-config --static --libs vireo) "
missing=()
for lib in $(readelf -d "$prefix/lib/libvireo.so" | sed -n 's/.*Shared library: \[lib\([^.]*\)\.so.*/\1/p'); do
	case $lib in c | m | dl | rt | pthread) continue ;; esac
	[[ $static_libs == *" -l$lib "* ]] || missing+=("$lib")
done
if [ ${#missing[@]} -eq 0 ]; then
	tap OK "pkg-config --static --libs vireo names every library libvireo.so needs"
else
	tap FAIL "pkg-config --static --libs vireo names every library libvireo.so needs" \
		"missing: ${missing[*]} (got:$static_libs)"
fi

# shared: the soname's library found at run time through LD_LIBRARY_PATH.
if "$CC" -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags vireo) -o "$tmp/shared" \
	"$tmp/consumer.c" $(pkg-config --libs vireo) 2>"$tmp/cc.log"; then
	tap OK "a consumer builds with pkg-config --cflags --libs vireo"
	same "it needs libvireo.so.0" "libvireo.so.0" \
		"$(readelf -d "$tmp/shared" | grep -o 'libvireo\.so\.0')"
	same "it runs against the installed libvireo.so" "sectors 2048" \
		"$(LD_LIBRARY_PATH=$prefix/lib "$tmp/shared" "$tmp/disk.img" 2>&1)"
else
	tap FAIL "a consumer builds with pkg-config --cflags --libs vireo" "$(head -n 5 "$tmp/cc.log")"
	fail_rest $((n + 2)) "shared consumer" "it did not build"
fi

# static: -l:libvireo.a picks the archive although libvireo.so sits beside it; the private
# libraries come from pkg-config --static.
static_flags=$(pkg-config --static --libs vireo | sed 's/-lvireo\b/-l:libvireo.a/')
if "$CC" -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags vireo) -o "$tmp/static" \
	"$tmp/consumer.c" $static_flags 2>"$tmp/cc.log"; then
	tap OK "a consumer links libvireo.a with pkg-config --static --libs vireo"
	needed=$(readelf -d "$tmp/static" | grep -o 'libvireo[^]]*')
	if [ -z "$needed" ]; then tap OK "it does not need libvireo.so"; else
		tap FAIL "it does not need libvireo.so" "NEEDED: $needed"; fi
	same "it runs" "sectors 2048" "$(env -u LD_LIBRARY_PATH "$tmp/static" "$tmp/disk.img" 2>&1)"
else
	tap FAIL "a consumer links libvireo.a with pkg-config --static --libs vireo" \
		"$(head -n 5 "$tmp/cc.log")"
	fail_rest $((n + 2)) "static consumer" "it did not link"
fi

# The examples need nothing the installed prefix lacks: its headers, its library, vireo.pc.
for src in "${example_srcs[@]}"; do
	name=$(basename "$src" .c)
	if "$CC" -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags vireo) -o "$tmp/$name" \
		"$src" $static_flags 2>"$tmp/cc.log"; then
		tap OK "examples/$name.c builds against the installed prefix"
	else
		tap FAIL "examples/$name.c builds against the installed prefix" \
			"$(head -n 5 "$tmp/cc.log")"
	fi
done

# DESTDIR stages the files; vireo.pc still names the final PREFIX.
if make -C "$repo" --no-print-directory -s O="$build" PREFIX=/opt/vireo DESTDIR="$tmp/stage" \
	install >"$tmp/install.log" 2>&1; then
	same "DESTDIR: vireo.pc names the final PREFIX" "prefix=/opt/vireo" \
		"$(grep -s '^prefix=' "$tmp/stage/opt/vireo/lib/pkgconfig/vireo.pc")"
else
	tap FAIL "make install DESTDIR=... PREFIX=/opt/vireo" "$(tail -n 5 "$tmp/install.log")"
fi
