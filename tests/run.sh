#!/usr/bin/env bash
# Run every test program of each build directory given, and the CLI tests with the
# first build's skep; add up their "summary:" lines and close with the total.
# Each build's tests, and the CLI tests, run as parallel groups (tests never share
# names: pins and temporary files carry the pid).
set -u
cd "$(dirname "$0")/.."
export SKEP_ROOT=$PWD
logdir=build/test-logs
mkdir -p "$logdir"
rm -f "$logdir"/*.group

run_one() { # group file, label, command...
	local group=$1 label=$2; shift 2
	local log="$logdir/$(echo "$label" | tr '/ ' '__').log"
	local t0=$SECONDS
	"$@" >"$log" 2>&1
	local rc=$?
	local line p=0 f=0 s=0
	line=$(grep -E '^summary: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$log" | tail -1)
	if [ -n "$line" ]; then
		read -r p f s < <(echo "$line" | sed -E 's/summary: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped.*/\1 \2 \3/')
	fi
	{
		if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1  # crashed or exited non-zero without counting a failure
			echo "FAIL $label: exit status $rc"
		fi
		grep -E '^(FAIL|SKIP) ' "$log" | head -20 | sed "s|^|  [$label] |"
		printf '%-40s %5d passed %4d failed %4d skipped  (%ds)\n' "$label" "$p" "$f" "$s" $((SECONDS - t0))
		echo "=count $p $f $s"
	} >>"$group"
}

run_build() { # build dir
	local b=$1 group="$logdir/$(basename "$1").group"
	for t in "$b"/tests/*; do
		[ -x "$t" ] || continue
		if [[ "$b" == *san* ]]; then
			# the sanitizer pass repeats every test with smaller random workloads
			SKEP_DIFF_N=${SKEP_DIFF_N:-600} SKEP_VERIFIER_FUZZ_N=${SKEP_VERIFIER_FUZZ_N:-3000} \
			ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
				run_one "$group" "$b/$(basename "$t")" "$t"
		else
			run_one "$group" "$b/$(basename "$t")" "$t"
		fi
	done
}

run_cli() { # skep binary
	local group="$logdir/cli.group"
	for t in tests/cli/*.sh; do
		[ -f "$t" ] || continue
		run_one "$group" "cli/$(basename "$t" .sh)" env SKEP="$PWD/$1" bash "$t"
	done
}

pids=()
for b in "$@"; do
	run_build "$b" & pids+=($!)
done
run_cli "${1:-build}/skep" & pids+=($!)
wait "${pids[@]}"

pass=0 fail=0 skip=0
for g in "$logdir"/*.group; do
	grep -v '^=count ' "$g"
	while read -r _ p f s; do
		pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	done < <(grep '^=count ' "$g")
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
