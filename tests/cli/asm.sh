#!/usr/bin/env bash
# skep asm / skep disasm from the outside: round trips through files and pipes, exit
# codes for bad usage (2) and bad input (1), messages naming the problem.
# Run with SKEP=path/to/skep.
set -u
. "$(dirname "$0")/lib.bash"
SKEP=${SKEP:-build/skep}
tmp=$(mktemp -d /tmp/skep-asm-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# expect NAME STATUS STDERR-FRAGMENT -- command...   (fragment may be empty)
expect() {
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

if [ ! -x "$SKEP" ]; then
	echo "FAIL setup: no skep binary at $SKEP"
	echo "summary: 0 passed, 1 failed, 0 skipped"
	exit 1
fi

cat >"$tmp/prog.s" <<'EOF'
# sum 1..10, with a helper call and a bpf-to-bpf call
start:
	r0 = 0                      ; decimal is fine
	r1 = 1
loop:	r0 += r1
	r1 += 1
	if r1 <= 10 goto loop       // back edge
	*(u64 *)(r10 - 8) = r0
	r2 = *(u64 *)(r10 -8)       # the kernel log's spelling
	lock *(u64 *)(r10 - 8) += r1
	r3 = 0x1122334455667788 ll
	call bpf_ktime_get_ns
	call sub
	if w0 s> 0x10 goto pc+1
	gotol out
out:	exit
sub:	w0 = 7
	exit
EOF

expect "asm/file" 0 "" -- "$SKEP" asm "$tmp/prog.s" -o "$tmp/prog.bin"
size=$(stat -c %s "$tmp/prog.bin" 2>/dev/null || echo 0)
[ "$size" -eq $((17 * 8)) ] && ok "asm/size" || bad "asm/size" "$size bytes, want $((17 * 8))"

# the first two instructions, byte for byte
head -c 16 "$tmp/prog.bin" | od -An -tx1 | tr -s ' \n' ' ' >"$tmp/hex"
want=" b7 00 00 00 00 00 00 00 b7 01 00 00 01 00 00 00 "
[ "$(cat "$tmp/hex")" = "$want" ] && ok "asm/bytes" || bad "asm/bytes" "got '$(cat "$tmp/hex")'"

for opts in "--no-index" "" "--labels" "--labels --opcodes" "--opcodes --no-index"; do
	name="roundtrip/${opts:-default}"
	# shellcheck disable=SC2086
	if "$SKEP" disasm "$tmp/prog.bin" $opts >"$tmp/back.s" 2>"$tmp/err" &&
		"$SKEP" asm "$tmp/back.s" -o "$tmp/back.bin" 2>>"$tmp/err" && cmp -s "$tmp/prog.bin" "$tmp/back.bin"; then
		ok "$name"
	else
		bad "$name" "$(head -c 300 "$tmp/err") $(head -5 "$tmp/back.s")"
	fi
done

"$SKEP" disasm "$tmp/prog.bin" --labels --no-index >"$tmp/l.s"
grep -q '^L2:$' "$tmp/l.s" && grep -q 'if r1 <= 0xa goto L2' "$tmp/l.s" && grep -q 'call L15' "$tmp/l.s" &&
	ok "disasm/labels" || bad "disasm/labels" "$(cat "$tmp/l.s")"
"$SKEP" disasm "$tmp/prog.bin" >"$tmp/i.s"
grep -q '^    2: r0 += r1$' "$tmp/i.s" && grep -q '^    8: r3 = 0x1122334455667788 ll$' "$tmp/i.s" &&
	ok "disasm/index" || bad "disasm/index" "$(head -12 "$tmp/i.s")"
"$SKEP" disasm --opcodes "$tmp/prog.bin" >"$tmp/o.s"
grep -q '^    0: b7 00 00 00 00 00 00 00  r0 = 0x0$' "$tmp/o.s" && ok "disasm/opcodes" || bad "disasm/opcodes" "$(head -3 "$tmp/o.s")"

# pipes: - for stdin and stdout, stdout by default when it is not a terminal
printf 'r0 = 1\nexit\n' | "$SKEP" asm - -o - >"$tmp/p.bin"
if [ "$(od -An -tx1 "$tmp/p.bin" | tr -d ' \n')" = "b7000000010000009500000000000000" ]; then ok "asm/pipe"; else bad "asm/pipe" "$(od -An -tx1 "$tmp/p.bin")"; fi
"$SKEP" asm "$tmp/prog.s" >"$tmp/s.bin" && cmp -s "$tmp/s.bin" "$tmp/prog.bin" && ok "asm/stdout-default" || bad "asm/stdout-default" "differs"
"$SKEP" disasm - <"$tmp/prog.bin" >"$tmp/d.s" && cmp -s "$tmp/d.s" "$tmp/i.s" && ok "disasm/stdin" || bad "disasm/stdin" "differs"
# a text file (by name, and by content on stdin) is assembled, then printed
"$SKEP" disasm "$tmp/prog.s" >"$tmp/t.s" && cmp -s "$tmp/t.s" "$tmp/i.s" && ok "disasm/text-file" || bad "disasm/text-file" "differs"
"$SKEP" disasm - <"$tmp/prog.s" >"$tmp/t2.s" && cmp -s "$tmp/t2.s" "$tmp/i.s" && ok "disasm/text-stdin" || bad "disasm/text-stdin" "differs"

# help
expect "asm/help" 0 "" -- "$SKEP" asm --help
grep -q 'usage: skep asm' "$tmp/out" && ok "asm/help-text" || bad "asm/help-text" "$(head -2 "$tmp/out")"
expect "disasm/help" 0 "" -- "$SKEP" disasm -h
grep -q 'usage: skep disasm' "$tmp/out" && ok "disasm/help-text" || bad "disasm/help-text" "$(head -2 "$tmp/out")"

# bad usage: 2
expect "usage/asm-no-file" 2 "no input file" -- "$SKEP" asm
expect "usage/asm-option" 2 "unknown option '--bogus'" -- "$SKEP" asm --bogus "$tmp/prog.s"
expect "usage/asm-two-files" 2 "one input file" -- "$SKEP" asm "$tmp/prog.s" "$tmp/prog.s"
expect "usage/asm-o-missing" 2 "needs a file name" -- "$SKEP" asm "$tmp/prog.s" -o
expect "usage/disasm-no-file" 2 "no input file" -- "$SKEP" disasm
expect "usage/disasm-option" 2 "unknown option '--frob'" -- "$SKEP" disasm --frob "$tmp/prog.bin"

# bad input: 1
expect "input/asm-missing" 1 "No such file" -- "$SKEP" asm "$tmp/nope.s" -o "$tmp/x.bin"
printf 'exit\nr1 +== 2\n' >"$tmp/bad.s"
expect "input/asm-syntax" 1 "line 2: unknown instruction 'r1 +== 2'" -- "$SKEP" asm "$tmp/bad.s" -o "$tmp/x.bin"
[ ! -e "$tmp/x.bin" ] && ok "input/asm-no-output" || bad "input/asm-no-output" "wrote output despite the error"
printf 'goto nowhere\n' >"$tmp/bad2.s"
expect "input/asm-label" 1 "line 1: undefined label 'nowhere'" -- "$SKEP" asm "$tmp/bad2.s" -o "$tmp/x.bin"
expect "input/asm-bytecode" 1 "NUL byte" -- "$SKEP" asm "$tmp/prog.bin" -o "$tmp/x.bin"
expect "input/disasm-missing" 1 "No such file" -- "$SKEP" disasm "$tmp/nope.bin"
head -c 13 "$tmp/prog.bin" >"$tmp/odd.bin"
expect "input/disasm-size" 1 "odd.bin: 13 bytes is not a whole number of 8-byte instructions" -- "$SKEP" disasm "$tmp/odd.bin"
printf '\177ELF\002\001\001\000\000\000\000\000\000\000\000\000' >"$tmp/x.o"
expect "input/disasm-elf" 1 "truncated ELF header: 16 bytes, 64 needed" -- "$SKEP" disasm "$tmp/x.o"
expect "input/disasm-text-error" 1 "line 2: unknown instruction" -- "$SKEP" disasm "$tmp/bad.s"
printf '\377\000\000\000\000\000\000\000\225\000\000\000\000\000\000\000' >"$tmp/inv.bin"
expect "input/disasm-invalid" 1 "1 invalid instruction" -- "$SKEP" disasm "$tmp/inv.bin"
grep -q '<invalid: unknown opcode 0xff>' "$tmp/out" && grep -q '    1: exit' "$tmp/out" &&
	ok "input/disasm-invalid-text" || bad "input/disasm-invalid-text" "$(cat "$tmp/out")"
: >"$tmp/empty.bin"
expect "input/disasm-empty" 0 "" -- "$SKEP" disasm "$tmp/empty.bin"

# real compiler output: clang's .text disassembles and assembles back to the same bytes
if command -v clang-19 >/dev/null && command -v llvm-objcopy-19 >/dev/null; then
	cat >"$tmp/c.c" <<'EOF'
typedef unsigned long long u64;
static long (*bpf_trace_printk)(const char *fmt, unsigned sz, ...) = (void *)6;
static __attribute__((noinline)) u64 mix(u64 a, u64 b) { return (a * 31) ^ (b >> 3) ^ (a / (b | 1)); }
__attribute__((section("xdp"))) int prog(unsigned *ctx)
{
	u64 s = 0;
	for (int i = 0; i < 16; i++)
		s += mix(ctx[i & 3], (u64)i << 40) + (signed char)ctx[1];
	__sync_fetch_and_add((u64 *)ctx, s);
	if (s > 0x123456789ull)
		bpf_trace_printk("x", 2, s);
	return (int)(s >> 7) + __builtin_bswap32(ctx[2]);
}
EOF
	if clang-19 -target bpf -mcpu=v4 -O2 -c "$tmp/c.c" -o "$tmp/c.o" 2>"$tmp/err" &&
		llvm-objcopy-19 -O binary --only-section=xdp "$tmp/c.o" "$tmp/c.bin" 2>>"$tmp/err" &&
		llvm-objcopy-19 -O binary --only-section=.text "$tmp/c.o" "$tmp/c2.bin" 2>>"$tmp/err"; then
		for f in c c2; do
			if "$SKEP" disasm "$tmp/$f.bin" --labels >"$tmp/$f.s" 2>"$tmp/err" &&
				"$SKEP" asm "$tmp/$f.s" -o "$tmp/$f.back" 2>>"$tmp/err" && cmp -s "$tmp/$f.bin" "$tmp/$f.back" &&
				[ -s "$tmp/$f.bin" ]; then
				ok "clang/roundtrip-$f"
			else
				bad "clang/roundtrip-$f" "$(head -c 300 "$tmp/err")"
			fi
		done
		# our text assembles with llvm-mc to the same bytes too (relocated calls aside)
		if command -v llvm-mc-19 >/dev/null; then
			"$SKEP" disasm "$tmp/c.bin" --labels --no-index >"$tmp/c.s"
			if llvm-mc-19 -triple bpfel -mcpu=v4 -filetype=obj "$tmp/c.s" -o "$tmp/m.o" 2>"$tmp/err" &&
				llvm-objcopy-19 -O binary --only-section=.text "$tmp/m.o" "$tmp/m.bin" &&
				cmp -s "$tmp/m.bin" "$tmp/c.bin"; then
				ok "clang/llvm-mc-agrees"
			else
				bad "clang/llvm-mc-agrees" "$(head -c 300 "$tmp/err") $(cmp "$tmp/m.bin" "$tmp/c.bin" 2>&1)"
			fi
		else
			skipped "clang/llvm-mc-agrees" "llvm-mc-19 not installed"
		fi
	else
		bad "clang/compile" "$(head -c 300 "$tmp/err")"
	fi
else
	skipped "clang/roundtrip" "clang-19 or llvm-objcopy-19 not installed"
fi

echo "summary: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
