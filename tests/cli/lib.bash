# Shared by the CLI tests (tests/cli/*.sh source it after `set -u`; named .bash so that
# tests/run.sh does not run it as a test): counters, checks and the closing summary
# line tests/run.sh adds up. A script may redefine any of these.
# Needs $tmp (a scratch directory the script makes) for the checks that capture output.
pass=0 fail=0 skip=0

ok() { pass=$((pass + 1)); [ -n "${SKEP_TEST_VERBOSE:-}" ] && echo "ok   ${1:-}"; return 0; }
bad() { fail=$((fail + 1)); echo "FAIL $1: $2"; }
skipped() { skip=$((skip + 1)); echo "SKIP $1: $2"; }
# expect NAME STATUS STDOUT-FRAGMENT STDERR-FRAGMENT -- command...
expect() {
	local name=$1 want=$2 out=$3 err=$4; shift 5
	"$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	if [ "$rc" -ne "$want" ]; then
		bad "$name" "exit $rc, want $want; stderr: $(head -c 300 "$tmp/err")"
	elif [ -n "$out" ] && ! grep -qF -- "$out" "$tmp/out"; then
		bad "$name" "stdout lacks '$out': $(head -c 300 "$tmp/out")"
	elif [ -n "$err" ] && ! grep -qF -- "$err" "$tmp/err"; then
		bad "$name" "stderr lacks '$err': $(head -c 300 "$tmp/err")"
	else
		ok "$name"
	fi
}
# status NAME WANT STDERR-FRAGMENT -- command...
status() {
	local name=$1 want=$2 frag=$3; shift 4
	"$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	if [ "$rc" -ne "$want" ]; then
		bad "$name" "exit $rc, want $want; stderr: $(head -c 300 "$tmp/err")"
	elif [ -n "$frag" ] && ! grep -qF -- "$frag" "$tmp/err"; then
		bad "$name" "stderr lacks '$frag': $(head -c 300 "$tmp/err")"
	else
		ok "$name"
	fi
}
# golden NAME FILE: FILE equals $GOLDEN/NAME
golden() {
	if [ -n "${SKEP_UPDATE_GOLDEN:-}" ]; then
		cp "$2" "$GOLDEN/$1"
		ok "$1 (updated)"
	elif diff -u "$GOLDEN/$1" "$2" >"$tmp/diff"; then
		ok "$1"
	else
		bad "$1" "differs from golden: $(head -c 600 "$tmp/diff")"
	fi
}
# has NAME FILE REGEX
has() { if grep -Eq -- "$3" "$2"; then ok "$1"; else bad "$1" "no line matches '$3'"; fi; }
# summary: the line tests/run.sh reads; the exit status says whether anything failed
summary() {
	echo "summary: $pass passed, $fail failed, $skip skipped"
	[ "$fail" -eq 0 ]
}
