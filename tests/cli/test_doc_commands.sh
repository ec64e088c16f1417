#!/bin/bash
# TAP: every shell block of the documentation runs as written. Each ```sh / ```bash / ```shell
# fence of every Markdown file of the work tree (README.md, docs/*.md, each folder's README.md:
# all tracked or new *.md files) is one check, "FILE:LINE". A block runs as one `bash -e`
# script (every line must succeed), in a scratch copy of the tree (the sources as symlinks,
# build/ = the build under test, build/guest = the test guest, `vireo` on PATH), in a network
# namespace of its own with only loopback; the blocks of one file run in order in the same
# scratch folder, as a reader goes down the page. A block fails if it exits non-zero, prints a
# test guest's "VIREO-CHECK name FAIL", or leaves a process running (a block starts its
# servers with `&`, waits for their sockets and stops them at its end).
#   VIREO=build/vireo bash tests/cli/test_doc_commands.sh [FILE.md...]
# run-tests: once (the docs are the same for every build; `make test` runs this for build/)
#
# Not run, but checked:
# - a block marked `<!-- doc-test: skip REASON -->` on the line before its fence: only what
#   cannot run here (no package for it, `make test` itself); the reason must say why.
# - a block marked `<!-- doc-test: covered-by SCRIPT -->` (a test script that `make test`
#   already runs, i.e. one matched by scripts/run-tests.sh's default list): every command line
#   of the block runs SCRIPT, SCRIPT is in that list, and block and SCRIPT parse (`bash -n`);
#   not run a second time here (a guest test takes minutes). Anything else fails.
# - an untagged fence (```) whose first line starts with a command is an error: tag it ```sh
#   (run) or ```text (a synopsis or output, not run). Other languages are not run.
# Substitutions, so that blocks stay short and private (each documented in tests/README.md):
# - /tmp/X and /dev/shm/X → folders of this test (parallel runs never share a socket);
# - `--seconds N` → `--seconds 1` (a `vireo bench` without it gets it), `--rounds N` →
#   `--rounds 1`, and the positional ROUNDS and SECONDS of tests/interop/bench_frontend_blk.sh,
#   bench_ab_blk.sh, bench_iommu_blk.sh, guest_fio_rank.sh and bench_guest_iommu.sh → 1;
# - `apt-get install PKG...` → `apt-cache show PKG...` (the package exists; nothing installed);
# - `git worktree add DIR REV && make -C DIR ...` (a second build to compare against) → DIR's
#   build/vireo is the build under test: compiling another tree takes minutes.
# A block with a test guest that runs out of time runs once more (a "# NOTE:" line): TCG on
# these machines sometimes hangs a guest before its /init (tests/guest/run.sh does the same).
# Environment: DOC_TEST_TIMEOUT (per block, default 180 s), VIREO_GUEST_DIR (the guest),
# DOC_TEST_VERBOSE=1 (print the output of the blocks that passed too).
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
me=$repo/tests/cli/$(basename "$0")
vireo=$(realpath "${VIREO:-build/vireo}" 2>/dev/null)
builddir=$(dirname "$vireo")
guest=${VIREO_GUEST_DIR:-$builddir/guest}
limit=${DOC_TEST_TIMEOUT:-180}
tmp=$(mktemp -d /tmp/vireo-doc.XXXXXX)
shm=$(mktemp -d /dev/shm/vireo-doc.XXXXXX)
# Every block runs in a session of its own; whatever is left of one is killed (and fails it).
sessions=()
cleanup() {
	local s
	for s in "${sessions[@]}"; do kill_session "$s"; done
	rm -rf "$tmp" "$shm"
}
trap cleanup EXIT
n=0 fails=0
# tap OK|FAIL NAME [DIAG...]: one TAP line; a failure's DIAG lines follow as "# ..." comments.
tap() {
	local d
	n=$((n + 1))
	if [ "$1" = OK ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		fails=$((fails + 1))
		for d in "${@:3}"; do echo "# $d"; done
	fi
}

[ -x "$vireo" ] || { echo "1..1"; tap FAIL "the build under test" "no ${VIREO:-build/vireo}"; exit 1; }
# The blocks configure interfaces (a tap) and listen on fixed ports: never in the host's network.
unshare --net true 2>/dev/null ||
	{ echo "1..0 # SKIP needs root: each block runs in a network namespace (unshare --net)"; exit 0; }
if [ $# -gt 0 ]; then
	mapfile -t files < <(realpath -m --relative-to="$repo" "$@")
	cd "$repo" || exit 1
else
	cd "$repo" || exit 1
	mapfile -t files < <({ git ls-files --cached --others --exclude-standard '*.md' 2>/dev/null ||
		find . -name '*.md' -not -path './build*' -not -path './.git/*' | sed 's|^\./||'; } | sort -u)
fi

# session_pids SID: the processes of session SID, one pid a line.
session_pids() {
	grep -lE "^[0-9]+ \(.*\) . [0-9]+ [0-9]+ $1 " /proc/[0-9]*/stat 2>/dev/null |
		sed 's|^/proc/||; s|/stat$||'
}
kill_session() {
	local p
	for p in $(session_pids "$1"); do kill -KILL "$p" 2>/dev/null; done
}

# The blocks, one file each in $tmp/blocks/K, and a manifest, one line a block: K FILE LINE
# KIND LANG NOTE, separated by \037 (a field may be empty), where KIND is run, skip (NOTE: the
# reason), bad (NOTE: why), plain (an untagged fence; NOTE: its first word) or other.
mkdir -p "$tmp/blocks"
awk -v dir="$tmp/blocks" '
	function unclosed() { printf "%d\037%s\037%d\037bad\037%s\037the fence is never closed\n", k, file, start, lang }
	FNR == 1 { if (infence) unclosed(); infence = 0; prev = ""; file = FILENAME }
	!infence && match($0, /^[ \t]*(```+|~~~+)[ \t]*/) {
		indent = RSTART; fence = $0; sub(/^[ \t]*/, "", fence)
		ch = substr(fence, 1, 1); flen = 0
		while (substr(fence, flen + 1, 1) == ch) flen++
		lang = substr(fence, flen + 1)
		# CommonMark: the info string of a backtick fence has no backtick (else: inline code)
		if (ch == "`" && index(lang, "`")) { prev = $0; next }
		sub(/^[ \t]*/, "", lang); sub(/[ \t{].*$/, "", lang)
		k++; infence = 1; start = FNR; first = ""; out = dir "/" k
		printf "" > out
		kind = "other"; note = ""
		if (lang ~ /^(sh|bash|shell)$/) kind = "run"
		else if (lang == "") kind = "plain"
		if (prev ~ /^<!-- *doc-test:/) {
			m = prev; sub(/^<!-- *doc-test: */, "", m); sub(/ *-->.*$/, "", m)
			if (m ~ /^skip /) { note = substr(m, 6); kind = "skip" }
			else if (m ~ /^covered-by /) { note = substr(m, 12); kind = "covered" }
			else { kind = "bad"; note = "unknown marker \"" m "\" (want: doc-test: skip REASON or covered-by SCRIPT)" }
		}
		next
	}
	infence {
		line = $0
		if (line ~ "^[ \t]*" (ch == "`" ? "```" : "~~~") "+[ \t]*$") {
			infence = 0; close(out); prev = line
			if (kind == "plain") note = first
			printf "%d\037%s\037%d\037%s\037%s\037%s\n", k, FILENAME, start, kind, lang, note
			next
		}
		# strip the fence indentation (a block inside a list item)
		for (i = 1; i < indent && substr(line, 1, 1) ~ /[ \t]/; i++) line = substr(line, 2)
		print line > out
		if (first == "" && line !~ /^[ \t]*(#|$)/) { first = line; sub(/^[ \t]*/, "", first); sub(/[ \t].*$/, "", first) }
		next
	}
	$0 !~ /^[ \t]*$/ { prev = $0 }
	END { if (infence) unclosed() }
' "${files[@]}" >"$tmp/manifest" ||
	{ echo "1..1"; tap FAIL "the Markdown files can be read: ${files[*]}"; exit 1; }

# looks_like_command WORD: the first word of an untagged block is something one runs.
looks_like_command() {
	case "$1" in
	'' | *'│'* | *'─'* | *'┌'* | *'└'*) return 1 ;;
	build/* | ./* | tests/* | scripts/* | make | vireo | sudo | '$') return 0 ;;
	esac
	[[ "$1" =~ ^[a-z][a-z0-9_.-]*$ ]] && command -v "$1" >/dev/null
}

# make_test_scripts: the scripts `make test` runs (scripts/run-tests.sh's default list, read
# from that script so that the two cannot drift), one a line, relative to the work tree.
make_test_scripts() {
	local globs
	# shellcheck disable=SC2016 # the literal ${RUN_TESTS_SCRIPTS-...} of run-tests.sh
	globs=$(sed -n 's/^scripts=\${RUN_TESTS_SCRIPTS-\(.*\)}$/\1/p' "$repo/scripts/run-tests.sh")
	[ -n "$globs" ] || return 1
	# shellcheck disable=SC2086 # the globs expand here, in the work tree
	(cd "$repo" && printf '%s\n' $globs)
}

# check_covered BLOCK SCRIPT: a block standing for SCRIPT, which `make test` runs; sets why
# (empty: fine). Every command line of BLOCK must run SCRIPT (so the marker hides nothing else).
check_covered() {
	local block=$1 script=$2 l
	why=()
	script=${script%% *}
	if [ ! -f "$repo/$script" ]; then
		why+=("$script does not exist")
	elif ! make_test_scripts | grep -qxF "$script"; then
		why+=("$script is not a script make test runs (scripts/run-tests.sh's default list)")
	elif ! bash -n "$repo/$script" 2>"$tmp/covered.err"; then
		why+=("$script does not parse: $(head -n 3 "$tmp/covered.err" | tr '\n' ' ')")
	fi
	bash -n "$block" 2>"$tmp/covered.err" ||
		why+=("the block does not parse: $(head -n 3 "$tmp/covered.err" | tr '\n' ' ')")
	while IFS= read -r l; do
		[[ "$l" =~ ^[[:space:]]*(#|$) ]] && continue
		[[ "$l" == *"$script"* ]] || why+=("a line that does not run $script: $l")
	done <"$block"
	grep -qF "$script" "$block" || why+=("the block does not name $script")
}

# scratch FILE: the scratch tree for FILE's blocks (made once): the work tree's top-level
# entries as symlinks, build/ holding symlinks to the build under test and build/guest.
scratch() {
	local s e
	s=$tmp/tree/$(echo "$1" | tr '/' '_')
	if [ ! -d "$s" ]; then
		mkdir -p "$s/build" "$s/tmp" "$shm/$(basename "$s")"
		for e in "$repo"/* "$repo"/.clang-format; do
			[ -e "$e" ] || continue
			case "$(basename "$e")" in build*) continue ;; esac
			ln -s "$e" "$s/$(basename "$e")"
		done
		for e in "$builddir"/*; do
			[ "$(basename "$e")" = guest ] && continue
			ln -s "$e" "$s/build/$(basename "$e")"
		done
		[ -e "$guest" ] && ln -s "$guest" "$s/build/guest"
	fi
	echo "$s"
}

# substitute SCRATCH: the block on stdin as this test runs it (see the header).
substitute() {
	local s=$1 sh
	sh=$shm/$(basename "$1")
	sed -E \
		-e "s#(^|[^[:alnum:]_./-])/tmp/#\\1$s/tmp/#g" \
		-e "s#(^|[^[:alnum:]_./-])/dev/shm/#\\1$sh/#g" \
		-e 's#--(seconds|rounds)([ =])[0-9]+#--\1\21#g' \
		-e '/vireo bench [a-z]/{/--seconds|--help|\\$/!s/(vireo bench [^#]*[^# ])( *#.*)?$/\1 --seconds 1\2/}' \
		-e 's#((bench_frontend_blk|bench_ab_blk|bench_iommu_blk)\.sh)( [0-9]+)( [0-9]+)?#\1 1 1#g' \
		-e 's#(guest_fio_rank|bench_guest_iommu)\.sh [0-9]+#\1.sh 1#g' \
		-e 's#^([[:space:]]*)(sudo )?apt(-get)? install( -y)? #\1apt-cache show #' \
		-e "s|^git worktree add ([^ ]+) [^ ]+ && make -C [^#]*|mkdir -p \\1/build \\&\\& ln -sf $vireo \\1/build/vireo |"
}

# run_block SCRATCH BLOCK LOG: runs BLOCK in SCRATCH; sets rc and why (the reasons it failed).
run_block() {
	local sid left
	# A session of its own (its pid is the session id) in a network namespace of its own.
	# shellcheck disable=SC2016 # $$ and $0 belong to the inner shell
	(cd "$1" && PATH="$tmp/bin:$PATH" VIREO='' timeout --kill-after=5 "$limit" \
		bash -c 'echo $$ >"$0.sid"; exec setsid unshare --net -- bash -c \
			"ip link set lo up && exec bash -e \"\$0\"" "$0"' "$2" >"$3" 2>&1 </dev/null)
	rc=$?
	sid=$(cat "$2.sid" 2>/dev/null)
	sessions+=("$sid")
	for _ in $(seq 50); do
		left=$(session_pids "$sid")
		[ -z "$left" ] && break
		sleep 0.1
	done
	why=()
	[ "$rc" = 0 ] || why+=("exit $rc$([ "$rc" = 124 ] &&
		echo " (killed after ${limit}s: a server in the foreground? start it with &)")")
	grep -qE "VIREO-CHECK [^ ]+ FAIL" "$3" && why+=("a guest check failed")
	if [ -n "$left" ]; then
		why+=("left running: $(for p in $left; do tr '\0' ' ' <"/proc/$p/cmdline"; echo ';'; done 2>/dev/null | tr '\n' ' ')")
		kill_session "$sid"
	fi
}

mkdir -p "$tmp/bin"
ln -s "$vireo" "$tmp/bin/vireo"
self_check=1
[ -n "${DOC_TEST_SELF:-}" ] && self_check=0
echo "1..$(($(wc -l <"$tmp/manifest") + self_check))"

# The checker itself: a page of bad blocks must fail, each for its reason (not run when this
# script checks that page: DOC_TEST_SELF=1).
if [ $self_check = 1 ]; then
	fixture=$tmp/self.md
	printf '%s\n' '```sh' 'vireo --help >/dev/null' '```' \
		'```sh' 'false' '```' '```sh' 'sleep 600 &' '```' '```' 'make all' '```' \
		'<!-- doc-test: skip later -->' '```sh' 'true' '```' \
		'```sh' 'echo "VIREO-CHECK x FAIL y"' '```' '```sh' 'echo >/tmp/t; test -f tmp/t' '```' \
		'<!-- doc-test: covered-by tests/cli/test_man.sh -->' '```sh' \
		'VIREO=build/vireo tests/cli/test_man.sh  # the man page' '```' \
		'<!-- doc-test: covered-by tests/cli/test_no_such_script.sh -->' '```sh' \
		'tests/cli/test_no_such_script.sh' '```' \
		'<!-- doc-test: covered-by tests/interop/tap_lib.sh -->' '```sh' \
		'bash tests/interop/tap_lib.sh' '```' \
		'<!-- doc-test: covered-by tests/cli/test_man.sh -->' '```sh' \
		'tests/cli/test_man.sh' 'rm -rf /tmp/x' '```' \
		'<!-- doc-test: covered-by tests/cli/test_man.sh -->' '```sh' \
		'tests/cli/test_man.sh (' '```' \
		'```sh' 'echo never closed' >"$fixture"
	got=$(DOC_TEST_SELF=1 VIREO=$vireo bash "$me" "$fixture" 2>&1 | grep -E '^(not )?ok' |
		sed -E 's/^(not ok|ok) [0-9]+ - [^:]*:([0-9]+).*/\1 \2/' | tr '\n' ',')
	want='ok 1,not ok 4,not ok 7,not ok 10,not ok 14,not ok 17,ok 20,ok 24,not ok 28,'
	want+='not ok 32,not ok 36,not ok 41,not ok 44,'
	if [ "$got" = "$want" ]; then
		tap OK "self-check: a page of bad examples fails where it should ($got)"
	else
		tap FAIL "self-check: a page of bad examples fails where it should" "want $want" "got  $got"
	fi
fi
while IFS=$'\037' read -r k file line kind lang note; do
	where="$file:$line"
	case "$kind" in
	other) tap OK "$where: \`\`\`$lang, not shell: not run" ;;
	bad) tap FAIL "$where" "$note" ;;
	plain)
		if looks_like_command "$note"; then
			tap FAIL "$where: an untagged block starting with a command ($note)" \
				"tag it \`\`\`sh (run by this test) or \`\`\`text (a synopsis: not run)"
		else
			tap OK "$where: untagged, not commands: not run"
		fi
		;;
	skip)
		# A reason a reader can act on: a few words, not just "skip".
		if [ "$(echo "$note" | wc -w)" -ge 4 ]; then
			tap OK "$where: not run: $note"
		else
			tap FAIL "$where: marked skip" "say why in at least four words: <!-- doc-test: skip REASON -->"
		fi
		;;
	covered)
		check_covered "$tmp/blocks/$k" "$note"
		if [ ${#why[@]} -eq 0 ]; then
			tap OK "$where: covered by ${note%% *}, which make test runs: not run again (block and script parse: bash -n)"
		else
			tap FAIL "$where: covered-by ${note%% *}" "${why[@]}"
		fi
		;;
	run)
		s=$(scratch "$file")
		substitute "$s" <"$tmp/blocks/$k" >"$tmp/blocks/$k.run"
		if grep -qE 'build/guest|make run|tests/guest/|guest_fio_rank|bench_guest_iommu' "$tmp/blocks/$k.run" &&
			[ ! -e "$guest/vmlinuz" ]; then
			# make test builds the guest first (tests/guest/build.sh); a run by hand may not have
			n=$((n + 1))
			echo "ok $n # SKIP $where: no test guest in $guest (tests/guest/build.sh $guest)"
			continue
		fi
		log=$tmp/blocks/$k.log
		for attempt in 1 2; do
			t0=$SECONDS
			run_block "$s" "$tmp/blocks/$k.run" "$log"
			# TCG here sometimes hangs a guest before its /init (tests/guest/run.sh boots once
			# more then): a block with a guest that ran out of time gets one more try.
			if [ $attempt = 2 ] || [ "$rc" != 124 ] ||
				! grep -qE 'qemu-system|make run|tests/guest/' "$tmp/blocks/$k.run"; then
				break
			fi
			echo "# NOTE: $where: killed after ${limit}s while booting a guest: ran once more"
			rm -rf "${s:?}/tmp" "${shm:?}/$(basename "$s")"
			mkdir -p "$s/tmp" "$shm/$(basename "$s")"
		done
		if [ ${#why[@]} -eq 0 ]; then
			tap OK "$where: ran ($(wc -l <"$tmp/blocks/$k") lines, $((SECONDS - t0)) s)"
			[ -n "${DOC_TEST_VERBOSE:-}" ] && sed 's/^/#     /' "$log"
		else
			tap FAIL "$where: ran" "${why[@]}"
			{
				echo "the block as run:"
				sed 's/^/    /' "$tmp/blocks/$k.run"
				echo "its output (last 30 lines):"
				tail -n 30 "$log" | sed 's/^/    /'
			} | sed 's/^/# /'
		fi
		;;
	esac
done <"$tmp/manifest"
[ "$fails" -eq 0 ]
