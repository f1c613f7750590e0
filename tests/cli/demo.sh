#!/usr/bin/env bash
# The README's demo runs and shows what it claims: the same hash on every engine,
# recursion through bpf-to-bpf calls, and the checked engine naming a bad access.
set -u
pass=0 fail=0
out=$(SKEP_DEMO_NO_KERNEL=1 examples/demo.sh 2>&1)
expect() { # name, count, fragment
	local got
	got=$(grep -cF -- "$3" <<<"$out")
	if [ "$got" -eq "$2" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $1: '$3' seen $got times, want $2"; fi
}
expect "fnv1a on interp, checked, jit" 3 "retval: 0xa430d84680aabd0b (11831194018420276491)"
expect "fnv1a as JSON" 1 '{"retval": 11831194018420276491, "duration_ns": '
expect "recursive fib(7)" 1 "retval: 0xd (13)"
expect "checked engine names the instruction" 1 "insn 3: 1-byte load from"
expect "refused run exits 1" 1 "(exit status 1)"
expect "disassembly with labels" 1 "    6: if r1 >= r4 goto L12"
expect "a program of ours traced live: every call counted" 1 "@calls[0]: 2000"
expect "its latency histogram" 1 "@hist_ns:"
expect "malloc sizes per call site: 7 x 12345 bytes" 1 "[8K, 16K)                   7 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|"
echo "summary: $pass passed, $fail failed, 0 skipped"
