#!/bin/bash
# Installs what building and testing Vireo needs, from Debian's packages.
# Idempotent and quiet when everything is already there. Needs root to install.
#   scripts/install-deps.sh          build + test dependencies
set -eu
# build and unit tests (libslirp: user-mode networking); then the interop peers: QEMU (guests,
# qemu-storage-daemon in qemu-system-common), dpdk-testpmd, iproute2 (network namespaces)
# and what the test guest is built from.
packages=(make gcc clang llvm libclang-rt-14-dev clang-format pkg-config
	liburing-dev libcmocka-dev libslirp-dev iproute2 dpdk curl
	qemu-system-x86 qemu-system-common busybox-static fio cpio kmod xz-utils)
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
