# shellcheck shell=bash
# Shell helpers shared by tests/guest/demo.sh and tests/interop/*.sh (sourced, bash).
# Needs: $repo (the work tree) and $tmp (a private temporary folder). What only the
# tests/interop/test_guest_*.sh scripts share is in interop_lib.sh, sourced at the end.

# Pids of the servers started by serve_start, stopped by serve_stop_all (trap EXIT).
serve_pids=()

# guest_ensure DIR: build the test guest into DIR if it is missing or stale.
# Fails (status 1) if it cannot be built (not root, no network...).
guest_ensure() {
	"$repo/tests/guest/build.sh" "$1"
}

# serve_start NAME LOG VIREO-SERVE-ARGS...: start `vireo serve ...` in the background, wait
# for its socket (the argument after --socket) and record its pid in serve_pid_NAME, LOG in
# serve_log_NAME.
serve_start() {
	local name=$1 log=$2 sock='' a prev='' pid i
	shift 2
	for a in "$@"; do
		[ "$prev" = --socket ] && sock=$a
		prev=$a
	done
	"$VIREO" serve "$@" >"$log" 2>&1 &
	pid=$!
	serve_pids+=("$pid")
	printf -v "serve_pid_$name" '%s' "$pid"
	printf -v "serve_log_$name" '%s' "$log"
	# Under ASan the server may take a moment to start.
	for i in $(seq 100); do
		[ -S "$sock" ] && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# serve_stop PID: SIGTERM, then wait up to 10 s (SIGKILL after that). Sets serve_rc to the
# exit status ("killed" if it had to be killed); returns 0 only if the status was 0.
# Not in a subshell: only the shell that started the server can wait for it.
serve_stop() {
	local ret=0
	proc_stop "$1" TERM || ret=1
	serve_rc=$proc_rc
	return $ret
}

# serve_stop_all: for trap EXIT; kills whatever serve_start started and is still running.
serve_stop_all() {
	local pid
	for pid in "${serve_pids[@]}"; do
		kill -0 "$pid" 2>/dev/null && serve_stop "$pid"
	done
	return 0
}

# accel_name: what tests/guest/run.sh will use, for messages.
accel_name() {
	if [ -n "${VIREO_ACCEL:-}" ]; then
		echo "$VIREO_ACCEL"
	elif grep -qwE 'vmx|svm' /proc/cpuinfo && [ -w /dev/kvm ]; then
		echo kvm
	else
		echo tcg
	fi
}

# guest_vfio_modules DEB KVER ROOT: the vfio modules of kernel package DEB (version KVER),
# dependencies first, into ROOT/lib/vireo/vfio with their load order in .../modules (what
# tests/guest/init's vfio_modules loads).
guest_vfio_modules() {
	local deb=$1 kver=$2 root=$3 x=$tmp/vfio-kernel moddir m f path deps d seen=" "
	dpkg-deb -x "$deb" "$x" || return 1
	moddir=$x/lib/modules/$kver
	depmod -b "$x" "$kver" || return 1
	mkdir -p "$root/lib/vireo/vfio"
	: >"$root/lib/vireo/vfio/modules"
	for m in vfio vfio_iommu_type1 vfio-pci; do
		path=$(find "$moddir/kernel" -name "$m.ko*" | head -n 1)
		[ -n "$path" ] || return 1
		path=${path#"$moddir"/}
		deps=$(sed -n "s|^$path: *||p" "$moddir/modules.dep")
		for d in $(echo "$deps" | tr ' ' '\n' | tac) "$path"; do
			case "$seen" in *" $d "*) continue ;; esac
			seen="$seen$d "
			f=$(basename "$d")
			case "$f" in
			*.ko.xz) xz -dc "$moddir/$d" >"$root/lib/vireo/vfio/${f%.xz}" ;;
			*.ko.zst) zstd -qdc "$moddir/$d" >"$root/lib/vireo/vfio/${f%.zst}" ;;
			*) cp "$moddir/$d" "$root/lib/vireo/vfio/$f" ;;
			esac
			echo "${f%.ko*}.ko" >>"$root/lib/vireo/vfio/modules"
		done
	done
	rm -rf "$x"
}

# guest_copy_prog ROOT PATH: a program and every shared library it needs, at the same paths.
guest_copy_prog() {
	local root=$1 lib
	mkdir -p "$root/usr/bin"
	cp "$2" "$root/usr/bin/"
	for lib in $(ldd "$2" | awk '/=> \//{print $3} /^\t\//{print $1}'); do
		mkdir -p "$root$(dirname "$lib")"
		[ -e "$root$lib" ] || cp -L "$lib" "$root$lib"
	done
}

# guest_vfio_dir GUEST OUT PROG...: a guest folder OUT (for run.sh's VIREO_GUEST_DIR) with
# GUEST's kernel and its initrd plus an archive holding the vfio modules and the programs
# PROG (with their libraries): the kernel unpacks concatenated cpio archives in order.
# Fails (status 1, the reason on stderr) without a kernel package or its modules.
guest_vfio_dir() {
	local guest=$1 out=$2 root=$tmp/vfio-root deb p
	shift 2
	deb=$(ls "$guest"/deb/linux-image-*.deb 2>/dev/null | head -n 1)
	[ -n "$deb" ] || { echo "no kernel package in $guest/deb (rebuild the guest)" >&2; return 1; }
	mkdir -p "$root" "$out"
	guest_vfio_modules "$deb" "$(cat "$guest/kernel-version")" "$root" >&2 ||
		{ echo "cannot take the vfio modules out of $deb" >&2; return 1; }
	for p in "$@"; do
		guest_copy_prog "$root" "$p"
	done
	(cd "$root" && find . | sort | cpio -o -H newc --quiet) | gzip -1 >"$tmp/vfio-extra.cpio.gz"
	cat "$guest/initrd.img" "$tmp/vfio-extra.cpio.gz" >"$out/initrd.img"
	ln -sf "$guest/vmlinuz" "$out/vmlinuz"
	rm -rf "$root" "$tmp/vfio-extra.cpio.gz"
}

# shellcheck source=../guest/interop_lib.sh # (from tests/interop/ and from here)
. "$(dirname "${BASH_SOURCE[0]}")/interop_lib.sh"
# shellcheck source=../guest/proc_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/proc_lib.sh"
