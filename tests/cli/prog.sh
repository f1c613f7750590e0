#!/usr/bin/env bash
# skep prog run: data in and out, JSON output, repeats, engines, and the error exits.
set -u
. "$(dirname "$0")/lib.bash"
SKEP=${SKEP:-build/skep}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# check NAME WANT_STATUS CMD... : the command's exit status; its stdout lands in $out
check() {
	local name=$1 want=$2; shift 2
	out=$("$@" 2>"$tmp/err"); local rc=$?
	if [ "$rc" -eq "$want" ]; then ok; else bad "$name" "exit $rc, want $want: $(head -c 300 "$tmp/err")"; fi
}
# expect NAME PATTERN TEXT : TEXT matches the extended regex PATTERN
expect() {
	if echo "$3" | grep -Eq -- "$2"; then ok; else bad "$1" "'$3' does not match '$2'"; fi
}

# r0 = data[0] + len; data[1] = 0x7f; data[2] += 1 (so repeats accumulate)
cat >"$tmp/p.s" <<'EOF'
r0 = *(u8 *)(r1 + 0)
*(u8 *)(r1 + 1) = 0x7f
r3 = *(u8 *)(r1 + 2)
r3 += 1
*(u8 *)(r1 + 2) = r3
r0 += r2
exit
EOF

check "text run" 0 "$SKEP" prog run "$tmp/p.s" --data-hex "05 00 03"
expect "retval line" '^retval: 0x8 \(8\)$' "$(echo "$out" | head -1)"
expect "duration line" '^duration: [0-9]+ ns \(mean of 1 run\)$' "$(echo "$out" | sed -n 2p)"

check "json run" 0 "$SKEP" prog run "$tmp/p.s" --data-hex 050003 -j --repeat 4
expect "json is one line" '^1$' "$(echo "$out" | wc -l | tr -d ' ')"
expect "json retval" '"retval": 8[,}]' "$out"
expect "json duration" '"duration_ns": [0-9]+' "$out"
expect "json data_out after 4 repeats on one buffer" '"data_out": "057f07"' "$out"
expect "json repeat" '"repeat": 4' "$out"
expect "json engine default falls back to interp or uses jit" '"engine": "(interp|jit)"' "$out"
if command -v python3 >/dev/null; then
	if echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert set(d)=={"retval","duration_ns","data_out","repeat","engine"}' 2>/dev/null; then
		ok
	else
		bad "json parses" "$out"
	fi
fi

check "engine interp" 0 "$SKEP" prog run "$tmp/p.s" --data-hex 050003 --engine interp -j
expect "engine interp named" '"engine": "interp"' "$out"
check "engine checked" 0 "$SKEP" prog run "$tmp/p.s" --data-hex 050003 --engine checked -j
expect "engine checked result" '"retval": 8, .*"data_out": "057f04"' "$out"

# full 64-bit r0 as unsigned decimal
printf 'r0 = -1\nexit\n' >"$tmp/neg.s"
check "negative r0" 0 "$SKEP" prog run "$tmp/neg.s" -j --engine interp
expect "r0 unsigned 64-bit" '"retval": 18446744073709551615' "$out"

# --data-in / --data-out
printf '\x09\x00\x01' >"$tmp/in.bin"
check "data-in and data-out" 0 "$SKEP" prog run "$tmp/p.s" --data-in "$tmp/in.bin" --data-out "$tmp/out.bin" --repeat 2
expect "data-in retval" '^retval: 0xc \(12\)$' "$(echo "$out" | head -1)"
expect "data-out bytes" '^097f03$' "$(od -An -tx1 "$tmp/out.bin" | tr -d ' \n')"

# raw bytecode: r0 = 42; exit
printf '\xb7\x00\x00\x00\x2a\x00\x00\x00\x95\x00\x00\x00\x00\x00\x00\x00' >"$tmp/r.bin"
check "raw bytecode" 0 "$SKEP" prog run "$tmp/r.bin" --engine interp
expect "raw retval" '^retval: 0x2a \(42\)' "$out"

# the checked engine refuses an out-of-bounds load and names the instruction
printf 'r0 = 1\nr0 = *(u64 *)(r1 + 100)\nexit\n' >"$tmp/oob.s"
check "checked out of bounds" 1 "$SKEP" prog run "$tmp/oob.s" --data-hex 00 --engine checked
expect "checked message" 'insn 1: 8-byte load from 0x[0-9a-f]+ \(r1 \+ 100\) is outside' "$(cat "$tmp/err")"

# a kernel helper Skep's runtime does not implement (bpf_redirect) stays unbound
printf 'call 23\nexit\n' >"$tmp/call.s"
check "unbound helper" 1 "$SKEP" prog run "$tmp/call.s" --engine interp
expect "unbound message" 'insn 0: call to helper 23 which is not bound' "$(cat "$tmp/err")"

# the checked engine validates helper arguments: r1 of bpf_map_lookup_elem is no map
printf 'call 1\nexit\n' >"$tmp/call1.s"
check "helper argument refused" 1 "$SKEP" prog run "$tmp/call1.s" --engine checked
expect "helper argument message" 'insn 0: bpf_map_lookup_elem arg 1 \(r1\) is not a map this program references' "$(cat "$tmp/err")"

# bad files: exit 1 with a reason
printf '\177ELF\002\001\001\000' >"$tmp/e.o"
check "ELF refused" 1 "$SKEP" prog run "$tmp/e.o"
expect "ELF message" 'truncated ELF header: 8 bytes, 64 needed' "$(cat "$tmp/err")"
printf 'abc' >"$tmp/odd.bin"
check "odd size refused" 1 "$SKEP" prog run "$tmp/odd.bin"
expect "odd size message" '3 bytes is not a whole number of 8-byte instructions' "$(cat "$tmp/err")"
printf '\xff\x00\x00\x00\x00\x00\x00\x00' >"$tmp/op.bin"
check "unknown opcode refused" 1 "$SKEP" prog run "$tmp/op.bin"
expect "unknown opcode message" 'insn 0: unknown opcode 0xff' "$(cat "$tmp/err")"
printf 'r0 = 1\nbogus insn\nexit\n' >"$tmp/syn.s"
check "assembly error" 1 "$SKEP" prog run "$tmp/syn.s"
expect "assembly error names the line" 'line 2' "$(cat "$tmp/err")"
check "missing file" 1 "$SKEP" prog run "$tmp/nope.s"
check "json error" 1 "$SKEP" prog run "$tmp/e.o" -j
expect "json error object" '^\{"error": ".*ELF' "$out"

# asking for the JIT either works or says why, never falls back silently
check_jit() {
	out=$("$SKEP" prog run "$tmp/p.s" --data-hex 050003 --engine jit -j 2>"$tmp/err"); local rc=$?
	if [ $rc -eq 0 ]; then
		expect "jit result" '"retval": 8, .*"engine": "jit"' "$out"
	elif [ $rc -eq 1 ] && [ -s "$tmp/err" ]; then
		ok
	else
		bad "jit" "exit $rc without a reason"
	fi
}
check_jit

# bad usage: exit 2
check "no file" 2 "$SKEP" prog run
check "unknown option" 2 "$SKEP" prog run "$tmp/p.s" --bogus
check "bad hex" 2 "$SKEP" prog run "$tmp/p.s" --data-hex 0g
check "odd hex" 2 "$SKEP" prog run "$tmp/p.s" --data-hex 123
check "bad repeat" 2 "$SKEP" prog run "$tmp/p.s" --repeat x
check "bad engine" 2 "$SKEP" prog run "$tmp/p.s" --engine fast
check "hex and data-in" 2 "$SKEP" prog run "$tmp/p.s" --data-hex 00 --data-in "$tmp/in.bin"
check "missing value" 2 "$SKEP" prog run "$tmp/p.s" --repeat
check "unknown subcommand" 2 "$SKEP" prog frob
check "usage hint is one line" 2 "$SKEP" prog run --bogus
expect "hint" '^skep prog run: unknown option .--bogus. \(try: skep prog run --help\)$' "$(cat "$tmp/err")"
# bad usage with -j (anywhere): {"error": ...} on stdout, exit 2, the hint on stderr
jerr() { # NAME CMD...: exit 2, stdout one JSON object with a non-empty "error"
	local name=$1; shift
	check "$name" 2 "$@"
	if [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && printf '%s' "$out" | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); sys.exit(not (isinstance(d, dict) and isinstance(d.get("error"), str) and d["error"]))' ; then ok
	else bad "$name: JSON error" "stdout: $out"; fi
	expect "$name: hint" '^skep prog run: .*\(try: skep prog run --help\)$' "$(cat "$tmp/err")"
}
jerr "-j no FILE" "$SKEP" prog run -j
jerr "-j unknown option" "$SKEP" prog run -j --bogus "$tmp/p.s"
jerr "-j after a bad repeat" "$SKEP" prog run "$tmp/p.s" --repeat x -j
jerr "-j missing value" "$SKEP" prog run "$tmp/p.s" -j --repeat
jerr "-j bad hex" "$SKEP" prog run "$tmp/p.s" --data-hex 0g -j
jerr "-j bad engine" "$SKEP" prog run "$tmp/p.s" --engine fast -j
expect "-j bad engine: names it" '"error": "--engine: .fast. is not' "$out"
jerr "-j hex and data-in" "$SKEP" prog run "$tmp/p.s" --data-hex 00 --data-in "$tmp/in.bin" -j
jerr "-j two files" "$SKEP" prog run "$tmp/p.s" "$tmp/p.s" -j
expect "-j two files: names the second" '"error": "unexpected argument ' "$out"
check "help" 0 "$SKEP" prog help
check "run --help" 0 "$SKEP" prog run --help
expect "run --help usage" 'usage: skep prog run FILE' "$out"

echo "summary: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
