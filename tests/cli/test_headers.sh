#!/bin/bash
# TAP: every public header (include/vireo/*.h) compiles alone, and all of them together with
# Linux's uapi virtio and vhost headers (in both orders), as C11, C99 and C++17: a program
# may include ours beside the kernel's. C modes are -Wpedantic; C++ is not, since flexible
# array members (ours and the kernel's) are a GNU extension there. Linux's own
# <linux/virtio_ring.h> and <linux/virtio_net.h> do not compile as C++ (a `class` member,
# void * conversions): in C++ the combined check takes the uapi headers that compile alone.
# run-tests: once (compiles the source tree's headers, not a build)
#   bash tests/cli/test_headers.sh
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../interop/tap_lib.sh
. "$repo/tests/interop/tap_lib.sh"
CC=${CC:-gcc}
CXX=${CXX:-g++}
command -v "$CXX" >/dev/null || skip_all "no $CXX (Debian package g++)"
tmp=$(mktemp -d /tmp/vireo-headers.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
modes=(c11 c99 c++17)
uapi=(linux/virtio_ring.h linux/virtio_blk.h linux/virtio_net.h linux/vhost.h)
mapfile -t headers < <(cd "$repo/include" && ls vireo/*.h)
echo "1..$(((${#headers[@]} + 2) * ${#modes[@]}))"

# compile MODE FILE: syntax-check FILE in MODE; its diagnostics in $tmp/err.
compile() {
	local mode=$1 file=$2
	case $mode in
	c++*) "$CXX" -x c++ -std="$mode" -Wall -Wextra -Werror -I"$repo/include" -fsyntax-only \
		"$file" 2>"$tmp/err" ;;
	*) "$CC" -x c -std="$mode" -Wall -Wextra -Wpedantic -Werror -I"$repo/include" \
		-fsyntax-only "$file" 2>"$tmp/err" ;;
	esac
}

# includes HEADER...: an #include line per header.
includes() {
	printf '#include <%s>\n' "$@"
}

for mode in "${modes[@]}"; do
	for h in "${headers[@]}"; do
		# A declaration of our own: a header of macros alone would leave ISO C an empty
		# translation unit, which -Wpedantic refuses.
		{ includes "$h" && echo 'typedef int header_test_tail;'; } >"$tmp/one.c"
		if compile "$mode" "$tmp/one.c"; then
			tap OK "$mode: <$h> alone"
		else
			mapfile -t diag < <(grep -m 3 error "$tmp/err")
			tap FAIL "$mode: <$h> alone" "${diag[@]}"
		fi
	done
	kernel=()
	for u in "${uapi[@]}"; do
		includes "$u" >"$tmp/uapi.c"
		if compile "$mode" "$tmp/uapi.c"; then
			kernel+=("$u")
		else
			echo "# $mode: <$u> does not compile alone here: left out"
		fi
	done
	# Ours first, then the kernel's; and the other way round.
	{ includes "${headers[@]}" && includes "${kernel[@]}"; } >"$tmp/ours_first.c"
	{ includes "${kernel[@]}" && includes "${headers[@]}"; } >"$tmp/kernel_first.c"
	for order in ours_first kernel_first; do
		if compile "$mode" "$tmp/$order.c"; then
			tap OK "$mode: all public headers with ${kernel[*]} ($order)"
		else
			mapfile -t diag < <(grep -m 5 error "$tmp/err")
			tap FAIL "$mode: all public headers with ${kernel[*]} ($order)" "${diag[@]}"
		fi
	done
done
