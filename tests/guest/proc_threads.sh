# shellcheck shell=bash
# proc_threads PID LABEL: one line per thread of PID for a hang's diagnosis (sourced):
# "LABEL TID COMM STATE WCHAN syscall=N kernel=TOP-FRAME" (the syscall it sleeps in, -1 when
# none; the kernel frame is readable as root only).
proc_threads() {
	local d tid comm state wchan sc top
	for d in /proc/"$1"/task/*; do
		[ -d "$d" ] || continue
		tid=${d##*/}
		comm=$(cat "$d/comm" 2>/dev/null)
		state=$(sed 's/.*) //' "$d/stat" 2>/dev/null | cut -c1)
		wchan=$(cat "$d/wchan" 2>/dev/null)
		sc=$(cut -d' ' -f1 "$d/syscall" 2>/dev/null)
		top=$(head -n 1 "$d/stack" 2>/dev/null | sed 's/^\[<[0-9a-f]*>\] //')
		echo "$2 $tid ${comm:-?} ${state:-?} ${wchan:-0} syscall=${sc:-?} kernel=${top:-?}"
	done
}
