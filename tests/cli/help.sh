#!/usr/bin/env bash
# skep's help from its one source (tools/skep/help.def): every command in the dispatch
# has help (skep help CMD, skep CMD help, skep CMD --help) and a section in the man page,
# docs/skep.8 is what the binary generates, bash completion offers the commands, and bad
# usage exits 2 with a one-line hint for every command.
# Run with SKEP=path/to/skep.
set -u
. "$(dirname "$0")/lib.bash"
SKEP=${SKEP:-build/skep}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/skep-help.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

if [ ! -x "$SKEP" ]; then
	echo "FAIL setup: no skep binary at $SKEP"
	echo "summary: 0 passed, 1 failed, 0 skipped"
	exit 1
fi

status "help" 0 "" -- "$SKEP" help
cp "$tmp/out" "$tmp/help"
status "--help" 0 "" -- "$SKEP" --help
if cmp -s "$tmp/out" "$tmp/help"; then ok "--help = help"; else bad "--help = help" "differ"; fi
status "no command" 2 "usage: skep COMMAND" -- "$SKEP"
status "unknown command" 2 "skep: unknown command 'frob' (see: skep help)" -- "$SKEP" frob
status "help unknown" 2 "unknown command 'frob'" -- "$SKEP" help frob
status "help unknown sub" 2 "'prog frob' is not a subcommand (see: skep help prog)" -- "$SKEP" help prog frob
status "version" 0 "" -- "$SKEP" --version
has "version text" "$tmp/out" '^skep [0-9]+\.[0-9]+\.[0-9]+$'

"$SKEP" help --man >"$tmp/man" 2>"$tmp/err" && ok "man" || bad "man" "$(cat "$tmp/err")"
if cmp -s "$tmp/man" "$ROOT/docs/skep.8"; then ok "docs/skep.8 is current"
else bad "docs/skep.8 is current" "differs from skep help --man: run make man"; fi

# the dispatch table, as completion sees it
"$SKEP" help --complete >"$tmp/cmds"
n=$(grep -vc '^help$' "$tmp/cmds")
[ "$n" -ge 8 ] && ok "commands ($n)" || bad "commands" "only $n"
for c in $(grep -v '^help$' "$tmp/cmds"); do
	status "help $c" 0 "" -- "$SKEP" help "$c"
	cp "$tmp/out" "$tmp/h1"
	has "help $c synopsis" "$tmp/h1" "^  skep $c( |$)"
	has "help $c listed" "$tmp/help" "^  $c +[a-z]"
	status "$c help" 0 "" -- "$SKEP" "$c" help
	cmp -s "$tmp/out" "$tmp/h1" && ok "$c help = help $c" || bad "$c help = help $c" "differ"
	status "$c --help" 0 "" -- "$SKEP" "$c" --help   # the command's own, may say more
	has "$c --help text" "$tmp/out" "skep $c"
	grep -qx "\.SS $c" "$tmp/man" && ok "man has $c" || bad "man has $c" "no .SS $c"
	grep -q "^\.B skep $c" "$tmp/man" && ok "man synopsis $c" || bad "man synopsis $c" "none"
	# bad usage: an unknown option exits 2 with a one-line hint naming the help
	status "$c bad option" 2 "" -- "$SKEP" "$c" --no-such-option
	if [ "$(wc -l <"$tmp/err")" -le 2 ] && grep -qE "skep.*(help|--help|usage)" "$tmp/err"; then ok "$c hint"
	else bad "$c hint" "$(head -c 300 "$tmp/err")"; fi
done
for s in list show dump verify run; do
	status "prog $s help" 0 "" -- "$SKEP" help prog "$s"
	has "prog $s synopsis" "$tmp/out" "^  skep prog $s"
done
has "examples" "$tmp/help" '^  skep prog verify '

if command -v groff >/dev/null; then
	groff -man -Tutf8 -ww -z "$tmp/man" 2>"$tmp/gerr"
	[ ! -s "$tmp/gerr" ] && ok "man page: no groff warnings" || bad "groff" "$(head -3 "$tmp/gerr")"
else
	skip=$((skip + 1)); echo "SKIP groff: not installed"
fi

# bash completion, driven by the binary
comp() { # WORDS... (the last is being completed): the candidates, sorted
	bash -c 'source "$1"; shift; PATH="$(dirname "$SKEP_BIN"):$PATH"; COMP_WORDS=(skep "$@"); COMP_CWORD=$#; _skep; printf "%s\n" "${COMPREPLY[@]}"' \
		_ "$ROOT/tools/skep/skep.bash" "$@" | sort -u
}
export SKEP_BIN=$SKEP
if [ "$(basename "$SKEP")" = skep ]; then
	[ "$(comp fea)" = feature ] && ok "complete command" || bad "complete command" "$(comp fea)"
	comp prog "" >"$tmp/c"; has "complete prog subs" "$tmp/c" '^dump$'
	[ "$(comp prog dump xl)" = xlated ] && ok "complete dump kind" || bad "complete dump kind" "$(comp prog dump xl)"
	comp prog dump xlated x.o --li >"$tmp/c"; has "complete option" "$tmp/c" '^--linum$'
else
	skip=$((skip + 1)); echo "SKIP completion: binary not named skep"
fi

echo "summary: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
