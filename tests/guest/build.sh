#!/bin/bash
# Builds the test guest from Debian's packages into OUTDIR (default build/guest):
#   OUTDIR/vmlinuz     the linux-image-*-cloud-amd64 kernel (downloaded, never installed)
#   OUTDIR/initrd.img  busybox-static, the virtio modules, blkdiscard, tests/guest/init and
#                      tests/guest/udhcpc.script (as /usr/share/udhcpc/default.script)
#   OUTDIR/initrd-fio.img  the same plus fio and its libraries
# Idempotent: does nothing (and prints nothing) when OUTDIR is up to date with this script and
# the init script. Needs root the first time, to install host packages and to run apt-get.
#   tests/guest/build.sh [OUTDIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../build/guest}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# The guest's contents depend on these files and on the host's fio/busybox packages.
stamp_of() {
	cat "$here/build.sh" "$here/init" "$here/udhcpc.script"
	dpkg-query -W -f='${Package} ${Version}\n' busybox-static fio util-linux 2>/dev/null
}
if [ -f "$out/.stamp" ] && [ -f "$out/vmlinuz" ] && [ -f "$out/initrd.img" ] &&
	[ -f "$out/initrd-fio.img" ] &&
	[ "$(stamp_of | sha256sum)" = "$(cat "$out/.stamp")" ]; then
	exit 0
fi

step() { echo "guest: $*"; }
die() {
	echo "guest: error: $*" >&2
	exit 1
}

# Host packages: the tools that assemble the guest, QEMU that boots it and
# qemu-storage-daemon (the interop tests' peer).
host_pkgs=(busybox-static cpio fio kmod util-linux gzip qemu-system-x86 qemu-utils)
missing=()
for p in "${host_pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -ne 0 ]; then
	[ "$(id -u)" -eq 0 ] || die "run as root, or install: ${missing[*]}"
	step "installing host packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The meta package depends on exactly one versioned image package: that is the one we want.
resolve_kernel() {
	apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n 1
}
kpkg=$(resolve_kernel)
if [ -z "$kpkg" ]; then
	step "apt-get update (package lists missing)"
	apt-get update -qq || die "apt-get update failed"
	kpkg=$(resolve_kernel)
fi
[ -n "$kpkg" ] || die "cannot resolve linux-image-cloud-amd64 to a kernel package"
kver=${kpkg#linux-image-}

mkdir -p "$out/deb"
if ! ls "$out/deb/${kpkg}"_*.deb >/dev/null 2>&1; then
	step "downloading $kpkg"
	rm -f "$out"/deb/linux-image-*.deb
	# The _apt sandbox user may not be able to write OUTDIR; downloading as root is fine.
	(cd "$out/deb" && apt-get download -qq -o APT::Sandbox::User=root "$kpkg") ||
		die "apt-get download $kpkg failed"
fi

step "unpacking $kpkg"
rm -rf "$out/kernel"
dpkg-deb -x "$out"/deb/"${kpkg}"_*.deb "$out/kernel"
moddir=$out/kernel/lib/modules/$kver
[ -d "$moddir" ] || die "no modules for $kver in the package"
# The package ships no modules.dep (depmod runs at install time): make it here.
depmod -b "$out/kernel" "$kver"

# order_modules NAME...: print each module's file, its dependencies first (modules.dep holds
# the full transitive list of each module, so one pass per module with dedup is enough).
order_modules() {
	local name path deps d seen=" "
	for name in "$@"; do
		path=$(find "$moddir/kernel" -name "$name.ko*" | head -n 1)
		[ -n "$path" ] || die "module $name not in $kpkg"
		path=${path#"$moddir"/}
		deps=$(sed -n "s|^$path: *||p" "$moddir/modules.dep")
		# modules.dep lists dependencies nearest first: load them in reverse.
		for d in $(echo "$deps" | tr ' ' '\n' | tac) "$path"; do
			case "$seen" in *" $d "*) continue ;; esac
			seen="$seen$d "
			echo "$d"
		done
	done
}

step "assembling the initramfs"
root=$out/rootfs
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib/vireo,lib64,proc,sys,dev,tmp,etc}
cp /bin/busybox "$root/bin/busybox"
for app in $("$root/bin/busybox" --list); do
	[ -e "$root/bin/$app" ] || ln -s busybox "$root/bin/$app"
done

modules=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
	virtio_blk failover net_failover virtio_net virtio_console virtio-rng)
: >"$root/lib/vireo/modules"
for m in $(order_modules "${modules[@]}"); do
	f=$(basename "$m")
	case "$f" in
	*.ko.xz) xz -dc "$moddir/$m" >"$root/lib/vireo/${f%.xz}" ;;
	*.ko.zst) zstd -qdc "$moddir/$m" >"$root/lib/vireo/${f%.zst}" ;;
	*.ko.gz) gzip -dc "$moddir/$m" >"$root/lib/vireo/${f%.gz}" ;;
	*) cp "$moddir/$m" "$root/lib/vireo/$f" ;;
	esac
	echo "${f%.ko*}.ko" >>"$root/lib/vireo/modules"
done

# copy_prog PATH: a host program and every shared library it needs, at the same paths.
copy_prog() {
	local lib
	cp "$1" "$root/usr/bin/"
	for lib in $(ldd "$1" | awk '/=> \//{print $3} /^\t\//{print $1}'); do
		mkdir -p "$root$(dirname "$lib")"
		[ -e "$root$lib" ] || cp -L "$lib" "$root$lib"
	done
}
copy_prog /usr/sbin/blkdiscard
# util-linux's blkdiscard knows -z; busybox's does not, so keep it out of the way.
mv "$root/usr/bin/blkdiscard" "$root/usr/bin/blkdiscard.util-linux"
install -m 755 "$here/init" "$root/init"
# udhcpc's event script, at Debian's path and at busybox's default one.
mkdir -p "$root/usr/share/udhcpc" "$root/etc/udhcpc"
install -m 755 "$here/udhcpc.script" "$root/usr/share/udhcpc/default.script"
ln -s /usr/share/udhcpc/default.script "$root/etc/udhcpc/default.script"
echo "$kver" >"$root/etc/vireo-kernel"

# fio's libraries (ceph, gluster, ...) weigh ~80 MB and cost ~2 s of boot under TCG, so fio
# goes into a second archive; the kernel unpacks concatenated archives in order, so
# initrd-fio.img = initrd.img + the files only fio needs.
step "packing initrd.img and initrd-fio.img"
(cd "$root" && find . | sort >"$out/base.list")
copy_prog "$(command -v fio)"
(cd "$root" && find . | sort | comm -13 "$out/base.list" - >"$out/fio.list")
(cd "$root" && cpio -o -H newc --quiet <"$out/base.list") | gzip -1 >"$out/initrd.img.tmp"
(cd "$root" && cpio -o -H newc --quiet <"$out/fio.list") | gzip -1 >"$out/fio.cpio.gz"
cat "$out/initrd.img.tmp" "$out/fio.cpio.gz" >"$out/initrd-fio.img"
mv "$out/initrd.img.tmp" "$out/initrd.img"
cp "$out/kernel/boot/vmlinuz-$kver" "$out/vmlinuz"
echo "$kver" >"$out/kernel-version"
rm -rf "$root" "$out/kernel" "$out/base.list" "$out/fio.list" "$out/fio.cpio.gz"
stamp_of | sha256sum >"$out/.stamp"
step "ready in $out: vmlinuz, initrd.img ($(du -h "$out/initrd.img" | cut -f1))," \
	"initrd-fio.img ($(du -h "$out/initrd-fio.img" | cut -f1))"
