#!/bin/bash
# Issue 3 "Performance": `vireo serve blk` against qemu-storage-daemon's vhost-user-blk export,
# both driven by the same front-end (`vireo bench blk --socket`), interleaved in one run.
# 4k randread and randwrite, iodepth 32, one queue, images on /dev/shm. Prints one line per
# run and a summary table: IOPS, the ratio, back-end CPU per I/O (utime+stime of the server
# process over the run, from /proc/PID/stat) and notifications per I/O (kicks sent and calls
# received by the front-end).
#   VIREO=build/vireo tests/interop/bench_frontend_blk.sh [ROUNDS] [SECONDS]
# Environment: QSD_AIO=threads|io_uring (qemu-storage-daemon's aio=, default threads),
# IMAGE_MB (default 256).
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
VIREO=${VIREO:-$repo/build/vireo}
ROUNDS=${1:-3}
SECONDS_PER_RUN=${2:-5}
QSD_AIO=${QSD_AIO:-threads}
IMAGE_MB=${IMAGE_MB:-256}
tmp=$(mktemp -d /dev/shm/vireo-bench.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
command -v qemu-storage-daemon >/dev/null || { echo "no qemu-storage-daemon" >&2; exit 2; }
[ -x "$VIREO" ] || { echo "no $VIREO" >&2; exit 2; }

wait_socket() {
	local _
	for _ in $(seq 100); do
		[ -S "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
cpu_ticks() { # utime + stime of PID, in clock ticks
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}
json_field() { # json_field NAME < one-line JSON
	sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"
}

for b in vireo qsd; do
	dd if=/dev/zero of="$tmp/$b.img" bs=1M count="$IMAGE_MB" status=none
done
"$VIREO" serve blk --socket "$tmp/vireo.sock" --image "$tmp/vireo.img" --queues 1 \
	>"$tmp/vireo.log" 2>&1 &
vireo_pid=$!
pids+=("$vireo_pid")
qemu-storage-daemon \
	--blockdev driver=file,node-name=file0,filename="$tmp/qsd.img,aio=$QSD_AIO" \
	--blockdev driver=raw,node-name=disk0,file=file0 \
	--export type=vhost-user-blk,id=exp0,node-name=disk0,addr.type=unix,addr.path="$tmp/qsd.sock",writable=on,num-queues=1 \
	>"$tmp/qsd.log" 2>&1 &
qsd_pid=$!
pids+=("$qsd_pid")
wait_socket "$tmp/vireo.sock" || { cat "$tmp/vireo.log"; exit 1; }
wait_socket "$tmp/qsd.sock" || { cat "$tmp/qsd.log"; exit 1; }
hz=$(getconf CLK_TCK)

echo "# vireo: $("$VIREO" --version 2>/dev/null | head -n 1); $(qemu-storage-daemon --version | head -n 1); aio=$QSD_AIO"
echo "# $(nproc) CPUs: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)"
printf '%-5s %-9s %-6s %10s %12s %10s %10s\n' round rw backend IOPS "cpu us/IO" kicks/IO calls/IO
declare -A sum
for round in $(seq "$ROUNDS"); do
	for rw in randread randwrite; do
		for b in vireo qsd; do
			[ $b = vireo ] && pid=$vireo_pid || pid=$qsd_pid
			t0=$(cpu_ticks "$pid")
			out=$("$VIREO" bench blk --socket "$tmp/$b.sock" --rw $rw --bs 4k --iodepth 32 \
				--queues 1 --seconds "$SECONDS_PER_RUN" --json 2>"$tmp/bench.err")
			t1=$(cpu_ticks "$pid")
			[ -n "$out" ] || { cat "$tmp/bench.err"; exit 1; }
			ios=$(json_field ios <<<"$out")
			iops=$(json_field iops <<<"$out")
			kicks=$(json_field kicks <<<"$out")
			calls=$(json_field calls <<<"$out")
			line=$(awk -v r="$round" -v rw=$rw -v b=$b -v iops="$iops" -v ios="$ios" \
				-v dt=$((t1 - t0)) -v hz="$hz" -v k="${kicks:-0}" -v c="${calls:-0}" \
				'BEGIN { printf "%-5s %-9s %-6s %10.0f %12.2f %10.3f %10.3f", r, rw, b,
					iops, dt * 1e6 / hz / ios, k / ios, c / ios }')
			echo "$line"
			read -r _ _ _ i cpu k c <<<"$line"
			key=$rw.$b
			sum[$key.iops]=$(awk -v a="${sum[$key.iops]:-0}" -v b="$i" 'BEGIN { print a + b }')
			sum[$key.cpu]=$(awk -v a="${sum[$key.cpu]:-0}" -v b="$cpu" 'BEGIN { print a + b }')
			sum[$key.k]=$(awk -v a="${sum[$key.k]:-0}" -v b="$k" 'BEGIN { print a + b }')
			sum[$key.c]=$(awk -v a="${sum[$key.c]:-0}" -v b="$c" 'BEGIN { print a + b }')
		done
	done
done
echo
echo "mean of $ROUNDS rounds, ${SECONDS_PER_RUN}s each:"
printf '| %-9s | %-22s | %10s | %12s | %9s | %9s |\n' rw backend IOPS "CPU us/IO" kicks/IO calls/IO
printf '|%s|\n' "-----------|------------------------|------------|--------------|-----------|-----------"
for rw in randread randwrite; do
	for b in vireo qsd; do
		key=$rw.$b
		name="vireo serve blk"
		[ $b = qsd ] && name="qemu-storage-daemon"
		awk -v rw=$rw -v n="$name" -v R="$ROUNDS" -v i="${sum[$key.iops]}" -v cpu="${sum[$key.cpu]}" \
			-v k="${sum[$key.k]}" -v c="${sum[$key.c]}" \
			'BEGIN { printf "| %-9s | %-22s | %10.0f | %12.2f | %9.3f | %9.3f |\n", rw, n,
				i / R, cpu / R, k / R, c / R }'
	done
	awk -v rw=$rw -v a="${sum[$rw.vireo.iops]}" -v b="${sum[$rw.qsd.iops]}" \
		'BEGIN { printf "%s: vireo / qsd IOPS = %.2fx\n", rw, a / b }' >>"$tmp/ratios"
done
cat "$tmp/ratios"
