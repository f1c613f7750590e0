#!/usr/bin/env bash
# skep btf dump: bpftool's raw format and the C header (format c) of test objects, against
# golden files (tests/cli/golden/; UPDATE_GOLDEN=1 rewrites them), the header compiled by
# cc and clang with its struct sizes and member offsets asserted, libbpf's btf_dump as an
# oracle where libbpf-dev is installed, JSON, and the errors. Run with SKEP=path/to/skep.
set -u
. "$(dirname "$0")/lib.bash"
SKEP=${SKEP:-build/skep}
OBJ=$(dirname "$SKEP")/objects
GOLDEN=$(cd "$(dirname "$0")" && pwd)/golden
tmp=$(mktemp -d /tmp/skep-btf-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# golden NAME -- command...: stdout equals golden/NAME
golden() {
	local name=$1; shift 2
	"$@" >"$tmp/g.out" 2>"$tmp/g.err"
	local rc=$?
	if [ "$rc" -ne 0 ]; then
		bad "golden $name" "exit $rc: $(head -c 300 "$tmp/g.err")"
	elif [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
		cp "$tmp/g.out" "$GOLDEN/$name" && ok
	elif ! diff -u "$GOLDEN/$name" "$tmp/g.out" >"$tmp/g.diff"; then
		bad "golden $name" "output differs: $(head -20 "$tmp/g.diff")"
	else
		ok
	fi
}
json_ok() { # NAME FILE
	if python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$2" 2>"$tmp/jerr"; then ok; else bad "$1" "invalid JSON: $(head -c 200 "$tmp/jerr")"; fi
}

if [ ! -x "$SKEP" ] || [ ! -f "$OBJ/typed.o" ]; then
	echo "FAIL setup: no skep at $SKEP or no objects in $OBJ (make objects)"
	echo "summary: 0 passed, 1 failed, 0 skipped"
	exit 1
fi

# ---- raw, as bpftool btf dump file
golden typed.btf.txt -- "$SKEP" btf dump "$OBJ/typed.o"
golden globals.btf.txt -- "$SKEP" btf dump file "$OBJ/globals.o" format raw
expect "raw int" 0 "[2] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED" "" -- "$SKEP" btf dump "$OBJ/typed.o"
expect "raw bitfield" 0 "	'level' type_id=9 bits_offset=193 bitfield_size=3" "" -- "$SKEP" btf dump "$OBJ/typed.o"
expect "raw enum" 0 "ENUM 'color' encoding=UNSIGNED size=4 vlen=3" "" -- "$SKEP" btf dump "$OBJ/typed.o"
expect "raw func proto" 0 "FUNC_PROTO '(anon)' ret_type_id=2 vlen=2" "" -- "$SKEP" btf dump "$OBJ/typed.o"
expect "raw func" 0 "FUNC 'typed_prog' type_id=64 linkage=global" "" -- "$SKEP" btf dump "$OBJ/typed.o"
expect "raw var" 0 "VAR 't_counter' type_id=2, linkage=global" "" -- "$SKEP" btf dump "$OBJ/typed.o"
expect "raw datasec" 0 "	type_id=70 offset=0 size=6 (VAR 't_tag')" "" -- "$SKEP" btf dump "$OBJ/typed.o"
expect "raw fwd" 0 "FWD 'bpf_sock' fwd_kind=struct" "" -- "$SKEP" btf dump "$OBJ/typed.o"
expect "raw static func" 0 "FUNC 'twice' type_id=" "" -- "$SKEP" btf dump "$OBJ/globals.o"
grep -q "FUNC 'twice' type_id=[0-9]* linkage=static" "$tmp/out" && ok || bad "raw static linkage" "$(grep twice "$tmp/out")"

# ---- JSON: bpftool's {"types": [...]}
"$SKEP" btf dump -j "$OBJ/typed.o" >"$tmp/raw.json" 2>&1
json_ok "raw json" "$tmp/raw.json"
python3 - "$tmp/raw.json" <<'EOF' && ok || bad "raw json content" "see above"
import json, sys
t = json.load(open(sys.argv[1]))["types"]
rec = [x for x in t if x["name"] == "rec"][0]
assert rec["kind"] == "STRUCT" and rec["size"] == 48 and rec["vlen"] == 10, rec
lv = [m for m in rec["members"] if m["name"] == "level"][0]
assert lv == {"name": "level", "type_id": 9, "bits_offset": 193, "bitfield_size": 3}, lv
col = [x for x in t if x["name"] == "color"][0]
assert col["values"] == [{"name": "RED", "val": 0}, {"name": "GREEN", "val": 1}, {"name": "BLUE", "val": 7}], col
assert [x["id"] for x in t] == list(range(1, len(t) + 1))
EOF
n_text=$("$SKEP" btf dump "$OBJ/typed.o" | grep -c '^\[')
n_json=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["types"]))' "$tmp/raw.json")
[ "$n_text" = "$n_json" ] && [ "$n_text" -gt 50 ] && ok || bad "raw type count" "text $n_text json $n_json"

# ---- format c: golden, compiles, sizes and offsets as the BTF says
golden typed.btf.h -- "$SKEP" btf dump "$OBJ/typed.o" format c
"$SKEP" btf dump "$OBJ/typed.o" format c -j >"$tmp/c.json"
json_ok "c json" "$tmp/c.json"
python3 -c 'import json,sys; sys.stdout.write(json.load(open(sys.argv[1]))["c"])' "$tmp/c.json" | cmp -s - "$GOLDEN/typed.btf.h" && ok || bad "c json text" "differs from the text form"
# static asserts from the raw dump: every named struct's size and named members' offsets
asserts() { # OBJ
	"$SKEP" btf dump "$1" | python3 -c '
import re, sys
cur = None
for line in sys.stdin:
    m = re.match(r"\[\d+\] (STRUCT|UNION) \x27([^\x27]*)\x27 size=(\d+)", line)
    if m:
        cur = None if m.group(2) == "(anon)" else (m.group(1).lower(), m.group(2))
        if cur: print("_Static_assert(sizeof(%s %s) == %s, \"size\");" % (cur[0], cur[1], m.group(3)))
        continue
    m = re.match(r"\t\x27([^\x27]*)\x27 type_id=\d+ bits_offset=(\d+)$", line)
    if m and cur and m.group(1) != "(anon)" and int(m.group(2)) % 8 == 0:
        print("_Static_assert(__builtin_offsetof(%s %s, %s) == %d, \"offset\");" % (cur[0], cur[1], m.group(1), int(m.group(2)) // 8))
    elif not line.startswith("\t"):
        cur = None
'
}
for b in typed globals maps legacy calls tailcall; do   # a few: cc is slow on a shared machine
	o=$OBJ/$b.o
	[ -f "$o" ] || continue
	if ! "$SKEP" btf dump "$o" format c >"$tmp/$b.h" 2>"$tmp/$b.err"; then
		bad "format c $b" "$(head -c 200 "$tmp/$b.err")"
		continue
	fi
	{ echo "#include \"$tmp/$b.h\""; asserts "$o"; } >"$tmp/$b.c"
	if cc -std=gnu11 -fsyntax-only -Wall -Werror -DBPF_NO_PRESERVE_ACCESS_INDEX "$tmp/$b.c" 2>"$tmp/$b.cc"; then ok
	else bad "format c $b compiles (cc)" "$(head -c 400 "$tmp/$b.cc")"; fi
done
grep -q '_Static_assert(sizeof(struct rec) == 48' "$tmp/typed.c" && grep -q 'offsetof(struct rec, big) == 40' "$tmp/typed.c" && ok || bad "asserts generated" "$(head -5 "$tmp/typed.c")"
if command -v clang >/dev/null; then
	clang -target bpf -fsyntax-only -Wall -Werror "$tmp/typed.c" 2>"$tmp/clang.err" && ok || bad "format c compiles (clang -target bpf)" "$(head -c 400 "$tmp/clang.err")"
fi
expect "c struct" 0 "struct rec {" "" -- "$SKEP" btf dump "$OBJ/typed.o" format c
expect "c bitfield" 0 "	unsigned int level: 3;" "" -- "$SKEP" btf dump "$OBJ/typed.o" format c
expect "c fn ptr typedef" 0 "typedef int (*visit_fn)(struct node *, void *);" "" -- "$SKEP" btf dump "$OBJ/typed.o" format c
expect "c fwd decl" 0 "struct node;" "" -- "$SKEP" btf dump "$OBJ/typed.o" format c

# libbpf's btf_dump as the oracle (the same order, padding, names; newer libbpf's
# "(void)" for functions without parameters, as Skep prints them)
cat >"$tmp/oracle.c" <<'EOF'
#include <stdarg.h>
#include <stdio.h>
#include <bpf/btf.h>
static void pr(void *ctx, const char *fmt, va_list args) { vprintf(fmt, args); }
int main(int argc, char **argv)
{
	struct btf *btf = btf__parse(argv[1], NULL);
	if (!btf)
		return 1;
	struct btf_dump *d = btf_dump__new(btf, pr, NULL, NULL);
	for (unsigned i = 1; i < btf__type_cnt(btf); i++)
		btf_dump__dump_type(d, i);
	return 0;
}
EOF
if cc -o "$tmp/oracle" "$tmp/oracle.c" -lbpf 2>/dev/null; then
	srcs=("$OBJ"/*.o)
	[ -r /sys/kernel/btf/vmlinux ] && srcs+=(/sys/kernel/btf/vmlinux)
	for o in "${srcs[@]}"; do
		"$tmp/oracle" "$o" | sed 's/()/(void)/g' >"$tmp/want.h"
		"$SKEP" btf dump "$o" format c | sed -e '1,7d' | head -n -5 | sed 's/()/(void)/g' >"$tmp/got.h"
		if cmp -s "$tmp/want.h" "$tmp/got.h"; then ok
		else bad "format c = libbpf btf_dump: $(basename "$o")" "$(diff "$tmp/want.h" "$tmp/got.h" | head -8)"; fi
	done
else
	skipped "libbpf oracle" "no libbpf-dev (cc -lbpf failed)"
fi

# ---- errors
expect "no file" 1 "" "nope.o" -- "$SKEP" btf dump "$tmp/nope.o"
printf 'not an object' >"$tmp/junk.o"
expect "not elf" 1 "" "junk.o" -- "$SKEP" btf dump "$tmp/junk.o"
if command -v clang >/dev/null; then
	echo 'int f(void) { return 0; }' >"$tmp/nobtf.c"
	clang -O2 -target bpf -c "$tmp/nobtf.c" -o "$tmp/nobtf.o" 2>/dev/null
	expect "no BTF" 1 "" "no .BTF section (build with clang -g)" -- "$SKEP" btf dump "$tmp/nobtf.o"
fi
expect "bad format" 2 "" "unknown format 'xml' (raw or c)" -- "$SKEP" btf dump "$OBJ/typed.o" format xml
expect "no object" 2 "" "no object file" -- "$SKEP" btf dump
expect "unknown sub" 2 "" "unknown subcommand 'frob'" -- "$SKEP" btf frob
expect "extra arg" 2 "" "unexpected argument 'x'" -- "$SKEP" btf dump "$OBJ/typed.o" x
expect "json error" 1 '{"error":' "" -- "$SKEP" btf dump -j "$tmp/nope.o"
json_ok "json error parses" "$tmp/out"
expect "json usage error" 2 '{"error":"unknown format' "" -- "$SKEP" btf dump -j "$OBJ/typed.o" format xml
expect "help" 0 "format c" "" -- "$SKEP" btf help
expect "--help" 0 "skep btf dump" "" -- "$SKEP" btf dump --help

echo "summary: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
