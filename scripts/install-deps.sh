#!/bin/bash
# Installs what building and testing Vireo needs, from Debian's packages.
# Idempotent and quiet when everything is already there. Needs root to install.
#   scripts/install-deps.sh              build + test dependencies
#   scripts/install-deps.sh --commands   prints the command table below ("COMMAND PACKAGE")
#   scripts/install-deps.sh --headers    prints the library table below ("HEADER PACKAGE")
set -eu
# Every command a test, script or Makefile rule runs, and the Debian package whose files hold
# it (dpkg -S). tests/cli/test_deps.sh checks each line against dpkg, and that every
# `command -v X` in the tests is here: a fresh machine gets all of them, so no test skips
# for want of a package.
commands=(
	# build
	make:make gcc:gcc g++:g++ ar:binutils nm:binutils readelf:binutils pkg-config:pkgconf
	groff:groff-base
	clang:clang clang-format:clang-format llvm-symbolizer:llvm
	# shell plumbing (essential on Debian, listed so the table is whole)
	bash:bash sed:sed grep:grep awk:mawk find:findutils timeout:coreutils md5sum:coreutils
	sha256sum:coreutils truncate:coreutils mkfifo:coreutils od:coreutils nproc:coreutils
	stat:coreutils realpath:coreutils seq:coreutils getent:libc-bin
	systemd-socket-activate:systemd
	setsid:util-linux setpriv:util-linux setarch:util-linux blkdiscard:util-linux unshare:util-linux taskset:util-linux
	dpkg:dpkg dpkg-deb:dpkg apt-get:apt apt-cache:apt
	gzip:gzip
	# network tests: namespaces, taps, ping, free ports, a web client
	ip:iproute2 ss:iproute2 ping:iputils-ping curl:curl
	# interop peers: QEMU guests, qemu-storage-daemon, DPDK's testpmd
	qemu-system-x86_64:qemu-system-x86 qemu-storage-daemon:qemu-system-common
	qemu-img:qemu-utils dpdk-testpmd:dpdk-dev
	# profiling the benchmarks (docs/performance.md: where the time goes)
	perf:linux-perf valgrind:valgrind callgrind_control:valgrind callgrind_annotate:valgrind
	# the test guest (tests/guest/build.sh): busybox, fio, modules unpacked and indexed
	busybox:busybox-static fio:fio cpio:cpio depmod:kmod modprobe:kmod xz:xz-utils zstd:zstd
)
# Libraries the build links (no command of their own), by a header each: checked the same way.
headers=(
	/usr/include/liburing.h:liburing-dev /usr/include/cmocka.h:libcmocka-dev
	/usr/include/slirp/libslirp.h:libslirp-dev
	/usr/include/seccomp.h:libseccomp-dev # the sandbox of `vireo serve` (tools/sandbox.c)
	/usr/src/linux-source-6.1.tar.xz:linux-source-6.1 # Linux's ringtest: tests/interop/bench_ringtest.sh
)
if [ "${1:-}" = --commands ]; then
	printf '%s\n' "${commands[@]}" | tr ':' ' '
	exit 0
fi
if [ "${1:-}" = --headers ]; then
	printf '%s\n' "${headers[@]}" | tr ':' ' '
	exit 0
fi
# libFuzzer's and ThreadSanitizer's runtimes for clang (no header of their own).
packages=(libclang-rt-14-dev)
for c in "${commands[@]}" "${headers[@]}"; do
	packages+=("${c#*:}")
done
mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: run as root (or install: ${missing[*]})" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
