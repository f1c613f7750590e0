#!/usr/bin/env bash
# skep prog show and skep prog dump xlated|jited on the test objects (tests/objects,
# examples/bpf built into <build>/objects and <build>/examples): golden text, JSON
# validated with python3, source lines, refused programs, and bad usage.
# Run with SKEP=path/to/skep; SKEP_UPDATE_GOLDEN=1 rewrites the golden files.
set -u
. "$(dirname "$0")/lib.bash"
SKEP=${SKEP:-build/skep}
OBJ=$(dirname "$SKEP")/objects
EX=$(dirname "$SKEP")/examples
GOLDEN=$(dirname "$0")/golden
tmp=$(mktemp -d /tmp/skep-progshow.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

golden() {
	if [ -n "${SKEP_UPDATE_GOLDEN:-}" ]; then
		cp "$2" "$GOLDEN/$1"
		ok "$1 (updated)"
	elif diff -u "$GOLDEN/$1" "$2" >"$tmp/diff"; then
		ok "$1"
	else
		bad "$1" "differs from golden: $(head -c 800 "$tmp/diff")"
	fi
}
# json NAME FILE PYTHON-ASSERTIONS (d is the parsed document)
json() {
	if ! command -v python3 >/dev/null; then
		skip=$((skip + 1)); echo "SKIP $1: no python3"; return
	fi
	if python3 -c "import json, sys; d = json.load(open(sys.argv[1])); $3" "$2" 2>"$tmp/perr"; then
		ok "$1"
	else
		bad "$1" "$(tail -2 "$tmp/perr") in $(head -c 300 "$2")"
	fi
}
# timings, absolute paths, JIT code sizes and verifier work vary (as the JIT and the
# verifier improve): keep the rest
norm() { sed -E -e 's/time [0-9]+us/time Nus/' -e 's/jited [0-9]+B/jited NB/' \
	-e 's/processed_insns [0-9]+  states [0-9]+  peak_states [0-9]+/processed_insns N  states N  peak_states N/' -e 's|file:[^ ]*/tests/objects/|file:tests/objects/|' \
	-e 's|file:[^ ]*/examples/bpf/|file:examples/bpf/|'; }

if [ ! -x "$SKEP" ] || [ ! -f "$OBJ/calls.o" ] || [ ! -f "$EX/xdp_parse.o" ]; then
	echo "FAIL setup: no skep at $SKEP or objects in $OBJ, $EX (make objects examples)"
	echo "summary: 0 passed, 1 failed, 0 skipped"
	exit 1
fi

# ---- prog show
status "show calls" 0 "" -- "$SKEP" prog show "$OBJ/calls.o"
norm <"$tmp/out" >"$tmp/show"
golden cli_prog_show_calls.txt "$tmp/show"
status "show globals" 0 "" -- "$SKEP" prog show "$OBJ/globals.o"
norm <"$tmp/out" >"$tmp/show"
golden cli_prog_show_globals.txt "$tmp/show"
has "show map names" "$tmp/show" 'map_ids [0-9,]+ \(.*globals\.rodata'
status "show one" 0 "" -- "$SKEP" prog show "$EX/xdp_parse.o" --prog xdp_parse
has "show verified" "$tmp/out" '^	verified yes  processed_insns [1-9][0-9]*  states [0-9]+'
has "show jited" "$tmp/out" 'xlated [0-9]+B  insns [0-9]+  jited [1-9][0-9]*B  map_ids'
status "show json" 0 "" -- "$SKEP" prog show -j "$OBJ/globals.o"
json "show json fields" "$tmp/out" '
assert isinstance(d, list) and len(d) == 3
p = d[0]
for k in ("id", "type", "name", "section", "bytes_xlated", "insns", "map_ids", "maps", "verified", "verifier", "bytes_jited"):
    assert k in p, k
assert p["bytes_xlated"] == 8 * p["insns"] and p["verified"] is True and p["loaded"] is True
assert [m["id"] for m in p["maps"]] == p["map_ids"] and all(m["name"] for m in p["maps"])
v = p["verifier"]
assert v["processed_insns"] > 0 and v["total_states"] >= v["peak_states"] >= 0'
# programs Skep cannot run or the verifier refuses: listed, not loaded, with why
status "show sections" 0 "" -- "$SKEP" prog show -j "$OBJ/sections.o"
json "show unloaded" "$tmp/out" '
k = [p for p in d if p["name"] == "s_kprobe"][0]
assert k["id"] is None and not k["loaded"] and "kernel" in k["not_loaded_reason"]
x = [p for p in d if p["name"] == "s_xdp"][0]
assert x["loaded"] and x["id"] >= 1 and x["verified"]
c = [p for p in d if p["name"] == "s_cgroup_skb"][0]
assert not c["verified"] and "R0" in c["verifier"]["error"]'
# a program the verifier refuses (a packet read without a bounds check) beside one it
# accepts: the refused one is shown, not loaded, with the verifier's reason; the other loads
cat >"$tmp/refused.bpf.c" <<'C'
#include <linux/bpf.h>
#define SEC(n) __attribute__((section(n), used))
SEC("xdp") int good(struct xdp_md *ctx) { return 2; }
SEC("xdp") int bad(struct xdp_md *ctx) { return *(unsigned char *)(long)ctx->data; }
char _license[] SEC("license") = "GPL";
C
if command -v clang >/dev/null &&
   clang -O2 -g -target bpf -I/usr/include/$(uname -m)-linux-gnu -c "$tmp/refused.bpf.c" -o "$tmp/refused.o" 2>"$tmp/cc"; then
	status "show refused" 0 "" -- "$SKEP" prog show "$tmp/refused.o"
	has "show refused program" "$tmp/out" '^-: xdp  name bad  section xdp  gpl$'
	has "show refused reason" "$tmp/out" '^	not loaded: refused by the verifier$'
	has "show refused verdict" "$tmp/out" '^	verified no  processed_insns [0-9]+'
	has "show refused why" "$tmp/out" '^	refused: insn [0-9]+: .*refused\.bpf\.c'
	has "show others load" "$tmp/out" '^[0-9]+: xdp  name good  section xdp  gpl$'
	status "dump refused" 0 "dumped as loaded without verification" -- "$SKEP" prog dump xlated "$tmp/refused.o" --prog bad
	has "dump refused code" "$tmp/out" 'rewritten at load, was'
	status "run refused" 1 "" -- "$SKEP" prog dump jited "$tmp/refused.o" --prog bad
else
	skip=$((skip + 1)); echo "SKIP refused program: no clang for BPF ($(head -c 200 "$tmp/cc" 2>/dev/null))"
fi

# ---- prog dump xlated
status "xlated calls" 0 "" -- "$SKEP" prog dump xlated "$OBJ/calls.o" --prog calc_b --linum --opcodes
norm <"$tmp/out" >"$tmp/x"
golden cli_prog_dump_xlated_calls.txt "$tmp/x"
status "xlated globals" 0 "" -- "$SKEP" prog dump xlated "$OBJ/globals.o" --prog xdp_one
golden cli_prog_dump_xlated_globals.txt "$tmp/out"
has "xlated map value" "$tmp/out" 'r1 = map\[id:[0-9]+\]\[0\]\+0  ; globals\.(rodata|bss|data)'
status "xlated xdp" 0 "" -- "$SKEP" prog dump xlated "$EX/xdp_parse.o"
golden cli_prog_dump_xlated_xdp_parse.txt "$tmp/out"
has "xlated ctx rewrite" "$tmp/out" 'r[0-9] = \*\(u64 \*\)\(r1 \+ 0\)  ; rewritten at load, was: r[0-9] = \*\(u32 \*\)\(r1 \+ 0\)'
has "xlated map" "$tmp/out" 'r1 = map\[id:[0-9]+\]  ; (proto_count|src_bytes)'
has "xlated helper" "$tmp/out" 'call 0x1  ; bpf_map_lookup_elem'
has "xlated source" "$tmp/out" '^; if \(v\)$'
status "xlated all" 0 "" -- "$SKEP" prog dump xlated "$OBJ/calls.o"
has "xlated headers" "$tmp/out" '^calc_b \(id [0-9]+, section xdp\):$'
status "xlated json" 0 "" -- "$SKEP" prog dump xlated -j "$EX/xdp_parse.o" --linum --opcodes
json "xlated json fields" "$tmp/out" '
p = d[0]
assert p["name"] == "xdp_parse" and p["id"] >= 1
ins = p["insns"]
assert ins[0]["pc"] == 0 and "rewritten_from" in ins[0] and ins[0]["file"].endswith("xdp_parse.bpf.c")
assert any("map" in i and i["map"]["name"] for i in ins)
assert any(i.get("helper") == "bpf_map_lookup_elem" for i in ins)
assert all(len(i["opcodes"].split()) in (8, 16) for i in ins)
assert all(b["pc"] > a["pc"] for a, b in zip(ins, ins[1:]))'

# ---- prog dump jited
status "jited" 0 "" -- "$SKEP" prog dump jited "$OBJ/calls.o" --prog calc_b --linum
has "jited main" "$tmp/out" '^<main calc_b at insn 0>:$'
has "jited function" "$tmp/out" '^<function depth3 at insn 8>:$'
has "jited insn" "$tmp/out" '^; 6: r0 \+= r6$'
has "jited x86" "$tmp/out" $'^ +[0-9a-f]+:\t[0-9a-f ]+\tadd %rbx, %rax$'
has "jited source" "$tmp/out" '^; return depth3\(3\) \+ mul_add\(1, 1, 1\);.*\[file:.*calls\.bpf\.c line_num:[0-9]+ line_col:[0-9]+\]$'
# the same code as skep disasm --jited prints (one walk, two printers)
"$SKEP" disasm --jited --prog calc_b "$OBJ/calls.o" >"$tmp/disasm" 2>&1
grep -v '^; [^0-9pe]' "$tmp/out" | sed -E 's/<(main|function) [a-z_0-9]+ at/<\1 at/' >"$tmp/j2"
if diff -u "$tmp/disasm" "$tmp/j2" >"$tmp/diff"; then ok "jited = disasm --jited"; else bad "jited = disasm --jited" "$(head -c 500 "$tmp/diff")"; fi
status "jited json" 0 "" -- "$SKEP" prog dump jited -j "$OBJ/calls.o" --prog calc_b --opcodes
json "jited json fields" "$tmp/out" '
p = d[0]
parts = p["code"]
assert parts[0]["part"] == "prologue" and parts[-1]["part"] == "epilogue"
insns = [x for x in parts if x["part"] == "insn"]
assert insns[0]["pc"] == 0 and insns[0]["disasm"] and "src" in insns[0]
assert sum(len(x["x86"]) for x in parts) > 10 and all(i["opcodes"] for x in parts for i in x["x86"])
assert {x.get("function") for x in parts} >= {"calc_b", "depth3"}'

# ---- bad usage (2) and failures (1); -j errors are JSON
status "show no file" 2 "missing the object file OBJ.o (see: skep prog help show)" -- "$SKEP" prog show
status "show bad option" 2 "unknown option '--x' (see: skep prog help show)" -- "$SKEP" prog show --x "$OBJ/calls.o"
status "show two files" 2 "unexpected argument" -- "$SKEP" prog show "$OBJ/calls.o" "$OBJ/calls.o"
status "show --prog value" 2 "--prog needs a program name" -- "$SKEP" prog show "$OBJ/calls.o" --prog
status "show missing" 1 "No such file or directory" -- "$SKEP" prog show "$tmp/nope.o"
printf 'r0 = 0\nexit\n' >"$tmp/p.s"
status "show not elf" 1 "not an ELF object" -- "$SKEP" prog show "$tmp/p.s"
status "show no such prog" 1 "no program 'nope'" -- "$SKEP" prog show "$OBJ/calls.o" --prog nope
status "show json error" 1 "" -- "$SKEP" prog show -j "$tmp/nope.o"
json "show json error is json" "$tmp/out" 'assert "No such file" in d["error"]'
status "show json usage" 2 "" -- "$SKEP" prog show -j --bogus
json "show json usage is json" "$tmp/out" 'assert "--bogus" in d["error"]'
status "dump nothing" 2 "xlated or jited" -- "$SKEP" prog dump
status "dump bad kind" 2 "'foo' is not xlated or jited" -- "$SKEP" prog dump foo "$OBJ/calls.o"
status "dump no file" 2 "missing the object file" -- "$SKEP" prog dump xlated
status "dump bad option" 2 "unknown option '--x' (see: skep prog help dump)" -- "$SKEP" prog dump xlated "$OBJ/calls.o" --x
status "dump missing" 1 "No such file" -- "$SKEP" prog dump jited "$tmp/nope.o"
status "dump unloadable" 1 "this program type needs the kernel" -- "$SKEP" prog dump xlated "$OBJ/sections.o" --prog s_kprobe
status "dump json error" 1 "" -- "$SKEP" prog dump xlated -j "$OBJ/calls.o" --prog nope
json "dump json error is json" "$tmp/out" 'assert "nope" in d["error"]'
status "show help" 0 "" -- "$SKEP" prog show --help
has "show help text" "$tmp/out" 'skep prog show OBJ.o'
status "dump help" 0 "" -- "$SKEP" prog dump --help
has "dump help text" "$tmp/out" 'skep prog dump jited OBJ.o'

echo "summary: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
