# shellcheck shell=bash
# TAP output for the interop scripts (sourced, bash). Each script prints its plan ("1..N")
# itself, then one line per check through these; the counter is $n, failures $tap_failed.
n=0
tap_failed=0

# tap OK|FAIL NAME [DIAG...]: one TAP line; a failure's DIAG lines follow as "# ..." comments.
tap() {
	local res=$1 name=$2 d
	shift 2
	n=$((n + 1))
	if [ "$res" = OK ]; then echo "ok $n - $name"; else echo "not ok $n - $name"; fi
	[ "$res" = OK ] || tap_failed=$((tap_failed + 1))
	[ "$res" = OK ] || for d in "$@"; do [ -n "$d" ] && echo "# $d"; done
	return 0
}

# check NAME COMMAND...: a TAP line that COMMAND succeeds.
check() {
	local name=$1
	shift
	if "$@"; then tap OK "$name"; else tap FAIL "$name" "failed: $*"; fi
}

# same NAME WANT GOT: a TAP line that WANT is non-empty and GOT equals it.
same() {
	if [ -n "$2" ] && [ "$2" = "$3" ]; then
		tap OK "$1 ($2)"
	else
		tap FAIL "$1" "want '$2', got '$3'"
	fi
}

# skip_all REASON: the whole script is skipped (plan 1..0), exit 0.
skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

# skip_rest TO REASON: lines n+1..TO of the plan skipped; n becomes TO.
skip_rest() {
	local i
	for i in $(seq $((n + 1)) "$1"); do echo "ok $i # SKIP $2"; done
	n=$1
}

# fail_rest TO NAME [DIAG]: lines n+1..TO of the plan fail (checks that could not run because
# the product failed before them: never a skip); n becomes TO.
fail_rest() {
	local i
	for i in $(seq $((n + 1)) "$1"); do echo "not ok $i - $2"; done
	[ -n "${3:-}" ] && echo "# $3"
	n=$1
}

# skip_hardware TO REASON: like skip_rest, for a check that needs hardware no Debian package
# gives (a CPU with vmx/svm for KVM): "# SKIP(hardware)", which strict runs (CI=true,
# STRICT=1: scripts/run-tests.sh) accept, unlike a plain SKIP.
skip_hardware() {
	local i
	for i in $(seq $((n + 1)) "$1"); do echo "ok $i # SKIP(hardware) $2"; done
	n=$1
}

