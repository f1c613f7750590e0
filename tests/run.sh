#!/usr/bin/env bash
# Run every test program of each build directory given (and the CLI tests with the
# first build's skep), add up their "summary:" lines, and close with the total.
set -u
cd "$(dirname "$0")/.."
export SKEP_ROOT=$PWD
pass=0 fail=0 skip=0
logdir=build/test-logs
mkdir -p "$logdir"

run_one() { # label, command...
	local label=$1; shift
	local log="$logdir/$(echo "$label" | tr '/ ' '__').log"
	local t0=$SECONDS
	"$@" >"$log" 2>&1
	local rc=$?
	local line
	line=$(grep -E '^summary: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$log" | tail -1)
	local p=0 f=0 s=0
	if [ -n "$line" ]; then
		read -r p f s < <(echo "$line" | sed -E 's/summary: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped.*/\1 \2 \3/')
	fi
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1  # crashed or exited non-zero without counting a failure
		echo "FAIL $label: exit status $rc"
	fi
	grep -E '^(FAIL|SKIP) ' "$log" | head -20 | sed "s|^|  [$label] |"
	printf '%-40s %5d passed %4d failed %4d skipped  (%ds)\n' "$label" "$p" "$f" "$s" $((SECONDS - t0))
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
}

first=""
for b in "$@"; do
	[ -z "$first" ] && first=$b
	for t in "$b"/tests/*; do
		[ -x "$t" ] || continue
		if [[ "$b" == *san* ]]; then
			ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
				run_one "$b/$(basename "$t")" "$t"
		else
			run_one "$b/$(basename "$t")" "$t"
		fi
	done
done
for t in tests/cli/*.sh; do
	[ -f "$t" ] || continue
	run_one "cli/$(basename "$t" .sh)" env SKEP="$PWD/${first:-build}/skep" bash "$t"
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
