#!/usr/bin/env bash
# skep with ELF objects (tests/objects/*.bpf.c built by clang into <build>/objects):
# prog list, map list, disasm with source lines, prog run --prog with test-run
# semantics, and the refusals. Run with SKEP=path/to/skep.
set -u
. "$(dirname "$0")/lib.bash"
SKEP=${SKEP:-build/skep}
OBJ=$(dirname "$SKEP")/objects
tmp=$(mktemp -d /tmp/skep-obj-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

if [ ! -x "$SKEP" ] || [ ! -f "$OBJ/calls.o" ]; then
	echo "FAIL setup: no skep at $SKEP or no objects in $OBJ (make objects)"
	echo "summary: 0 passed, 1 failed, 0 skipped"
	exit 1
fi

expect "prog list" 0 "calc_b: xdp  section xdp  25 insns" "" -- "$SKEP" prog list "$OBJ/calls.o"
expect "prog list json" 0 '"name": "s_uprobe", "section": "uprobe/libc.so.6:malloc", "type": "kprobe", "attach_type": 0, "attach_target": "libc.so.6:malloc"' "" -- "$SKEP" prog list -j "$OBJ/sections.o"
expect "prog list refused type" 0 "s_kprobe: kprobe  section kprobe/do_sys_open  2 insns  target do_sys_open  (not runnable" "" -- "$SKEP" prog list "$OBJ/sections.o"
expect "map list" 0 "outer: array_of_maps  key 4B  value 4B  max_entries 3" "" -- "$SKEP" map list "$OBJ/maps.o"
expect "map list inner" 0 "inner outer.inner: array  key 4B  value 4B  max_entries 4" "" -- "$SKEP" map list "$OBJ/maps.o"
expect "map list global data" 0 '"name": "globals.rodata", "type": "array", "key_size": 4, "value_size": 18, "max_entries": 1, "flags": 1152, "section": ".rodata"' "" -- "$SKEP" map list -j "$OBJ/globals.o"
expect "map list legacy" 0 "flows: hash  key 8B  value 16B  max_entries 1024  flags 0x4  section maps" "" -- "$SKEP" map list "$OBJ/legacy.o"
expect "disasm source lines" 0 "return a * b + c;  [calls.bpf.c:9]" "" -- "$SKEP" disasm --prog calc_a "$OBJ/calls.o"
expect "disasm subprogram names" 0 "mul_add:" "" -- "$SKEP" disasm --prog calc_a "$OBJ/calls.o"
expect "disasm all programs" 0 "calc_c (section tc):" "" -- "$SKEP" disasm "$OBJ/calls.o"
expect "disasm map value" 0 "r1 = map_value(" "" -- "$SKEP" disasm --prog xdp_one "$OBJ/globals.o"
expect "disasm unknown prog" 1 "" "no program 'nope' (programs: calc_a, calc_b, with_loop, calc_c)" -- "$SKEP" disasm --prog nope "$OBJ/calls.o"
for e in interp checked jit; do
	expect "run calc_a $e" 0 "retval: 0x25 (37)" "" -- "$SKEP" prog run "$OBJ/calls.o" --prog calc_a --engine $e --data-hex "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d"
	expect "run calc_c $e" 0 '"retval": 42' "" -- "$SKEP" prog run -j "$OBJ/calls.o" --prog calc_c --engine $e --data-hex "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d"
	expect "run globals $e" 0 '"retval": 17' "" -- "$SKEP" prog run -j "$OBJ/globals.o" --prog xdp_one --engine $e --data-hex "00000000000000000000000000000000"
done
"$SKEP" prog run "$OBJ/calls.o" --prog calc_b --data-hex "00112233445566778899aabbccdd" --data-out "$tmp/d" >/dev/null 2>&1
[ "$(od -An -tx1 "$tmp/d" | tr -d ' \n')" = "00112233445566778899aabbccdd" ] && ok || bad "data-out" "$(od -An -tx1 "$tmp/d")"
expect "run needs --prog" 1 "" "4 programs (calc_a, calc_b, with_loop, calc_c): choose one with --prog NAME" -- "$SKEP" prog run "$OBJ/calls.o"
expect "run refused type" 1 "" "program 's_kprobe' (section 'kprobe/do_sys_open', type kprobe): this program type needs the kernel" -- "$SKEP" prog run "$OBJ/sections.o" --prog s_kprobe
expect "run CO-RE refused" 1 "" "CO-RE relocation 0" -- "$SKEP" prog run "$OBJ/bad_core.o"
expect "kconfig refused" 1 "" "extern 'CONFIG_HZ'" -- "$SKEP" prog list "$OBJ/bad_kconfig.o"
head -c 100 "$OBJ/calls.o" > "$tmp/trunc.o"
expect "truncated object" 1 "" "is past the end of the file" -- "$SKEP" prog list "$tmp/trunc.o"
expect "--prog on bytecode" 2 "" "for ELF objects" -- "$SKEP" disasm --prog x "$tmp/trunc.o.missing"

echo "summary: $pass passed, $fail failed, 0 skipped"
[ "$fail" -eq 0 ]
