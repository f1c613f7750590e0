#!/usr/bin/env bash
# skep prog verify: verdicts, the JSON object, the log, and the exit statuses.
set -u
. "$(dirname "$0")/lib.bash"
SKEP=${SKEP:-build/skep}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check() { # NAME WANT_STATUS CMD... ; stdout in $out
	local name=$1 want=$2; shift 2
	out=$("$@" 2>"$tmp/err"); local rc=$?
	if [ "$rc" -eq "$want" ]; then ok; else bad "$name" "exit $rc, want $want: $(head -c 300 "$tmp/err")"; fi
}
expect() { if echo "$3" | grep -Eq -- "$2"; then ok; else bad "$1" "'$3' does not match '$2'"; fi; }

# XDP: a packet read after a bounds check is accepted ...
cat >"$tmp/good.s" <<'EOF2'
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 14
r0 = 2
if r4 > r3 goto out
r0 = *(u8 *)(r2 + 12)
r0 &= 1
r0 += 1
out:
exit
EOF2
check "accepted" 0 "$SKEP" prog verify "$tmp/good.s" --type xdp
check "accepted json" 0 "$SKEP" prog verify "$tmp/good.s" --type xdp -j
expect "json accepted" '^\{"accepted":true,.*"processed_insns":[0-9]+.*"verification_us":[0-9]+' "$out"
# ... and without the check it is refused, naming the instruction
grep -v 'goto out' "$tmp/good.s" >"$tmp/bad.s"
check "refused" 1 "$SKEP" prog verify "$tmp/bad.s" --type xdp -j
expect "json refused" '"accepted":false,"error":"[^"]*invalid access to packet[^"]*","insn":5' "$out"
check "log level 2" 1 "$SKEP" prog verify "$tmp/bad.s" --type xdp --log-level 2
expect "log statistics" 'processed [0-9]+ insns \(limit 1000000\)' "$out$(cat "$tmp/err")"
# an infinite loop is refused within the budget
printf 'r0 = 0\nl:\nr0 += 1\ngoto l\nexit\n' >"$tmp/loop.s"
check "infinite loop" 1 "$SKEP" prog verify "$tmp/loop.s" --type socket
check "bad usage: no type" 2 "$SKEP" prog verify "$tmp/good.s"
check "bad usage: unknown type" 2 "$SKEP" prog verify "$tmp/good.s" --type nosuch
check "missing file" 1 "$SKEP" prog verify "$tmp/none.s" --type xdp
check "bad usage: --prog without an object" 2 "$SKEP" prog verify "$tmp/good.s" --type xdp --prog x
check "bad usage: --log-level 3" 2 "$SKEP" prog verify "$tmp/good.s" --type xdp --log-level 3
# errors with -j: one JSON object {"error": ...} on stdout (wherever -j is), the exit
# status as without it, and on bad usage a one-line hint on stderr
jerr() { # NAME WANT CMD...: check, then stdout is one JSON object with a non-empty "error"
	local name=$1; check "$@"
	if [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && printf '%s' "$out" | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); sys.exit(not (isinstance(d, dict) and isinstance(d.get("error"), str) and d["error"]))' ; then ok
	else bad "$name: JSON error" "stdout: $out"; fi
}
hint() { expect "$1: one-line hint" '^skep prog verify: .* \(try: skep prog verify --help\)$' "$(cat "$tmp/err")"; }
jerr "-j bad usage: no FILE" 2 "$SKEP" prog verify -j
hint "no FILE"
jerr "-j bad usage: unknown option (-j first)" 2 "$SKEP" prog verify -j --frob "$tmp/good.s"
hint "unknown option"
jerr "-j bad usage: -j after the error" 2 "$SKEP" prog verify "$tmp/good.s" --log-level 9 -j
jerr "-j bad usage: unknown type" 2 "$SKEP" prog verify "$tmp/good.s" --type nosuch -j
expect "-j unknown type: names it" '"error":"unknown program type .nosuch."' "$out"
jerr "-j bad usage: no type" 2 "$SKEP" prog verify "$tmp/good.s" -j
jerr "-j bad usage: two files" 2 "$SKEP" prog verify "$tmp/good.s" "$tmp/bad.s" --type xdp -j
jerr "-j missing file" 1 "$SKEP" prog verify "$tmp/none.s" --type xdp -j
expect "-j missing file: accepted false" '"accepted":false' "$out"
check "bad usage without -j: nothing on stdout" 2 "$SKEP" prog verify --frob
expect "bad usage without -j: stdout empty" '^$' "$out"

# ELF objects: every program (type from the section, maps from the object), --prog,
# refusals with the source line from BTF line info, and loading (prog run) verifies.
skip=0
CLANG=${BPF_CLANG:-clang}
if command -v "$CLANG" >/dev/null 2>&1; then
	cat >"$tmp/obj.bpf.c" <<'EOF2'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

SEC("xdp")
int good(struct xdp_md *ctx)
{
	unsigned char *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 k = 0;
	__u64 *c = bpf_map_lookup_elem(&counts, &k);
	if (c)
		*c += 1;
	if (p + 14 > end)
		return XDP_PASS;
	return p[12] == 1 ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int unsafe(struct xdp_md *ctx)
{
	unsigned char *p = (void *)(long)ctx->data;
	return p[12] == 1 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
EOF2
	if "$CLANG" -O2 -g -target bpf -I/usr/include/$(uname -m)-linux-gnu -c "$tmp/obj.bpf.c" -o "$tmp/obj.o" 2>"$tmp/cc"; then
		check "object: one refused" 1 "$SKEP" prog verify "$tmp/obj.o"
		expect "object: good accepted" '^good: accepted' "$out"
		expect "object: unsafe refused with the source line" \
			"^unsafe: refused: insn [0-9]+: .*invalid access to packet.*\(obj\.bpf\.c:[0-9]+: return p\[12\] == 1" "$out"
		check "object --prog good" 0 "$SKEP" prog verify "$tmp/obj.o" --prog good
		check "object -j" 1 "$SKEP" prog verify "$tmp/obj.o" -j
		expect "object -j: one line per program" '^2$' "$(echo "$out" | wc -l)"
		expect "object -j: accepted line" '^\{"prog":"good","accepted":true,.*"processed_insns":[1-9][0-9]*,"verification_us":[0-9]+' \
			"$(echo "$out" | head -1)"
		expect "object -j: refused line" '^\{"prog":"unsafe","accepted":false,"error":"insn [0-9]+: [^"]*obj.bpf.c:[0-9]+: [^"]*","insn":[0-9]+,' \
			"$(echo "$out" | tail -1)"
		check "object --prog unsafe --log-level 1" 1 "$SKEP" prog verify "$tmp/obj.o" --prog unsafe --log-level 1
		expect "object log: statistics" 'processed [0-9]+ insns \(limit 1000000\)' "$out"
		check "object --prog with --type" 0 "$SKEP" prog verify "$tmp/obj.o" --prog good --type xdp
		check "object: unknown --prog" 1 "$SKEP" prog verify "$tmp/obj.o" --prog nosuch
		# prog run verifies before it runs ...
		pkt=000000000000000000000000010000
		check "run: verified program" 0 "$SKEP" prog run "$tmp/obj.o" --prog good --data-hex $pkt
		expect "run: verified result" '^retval: 0x1 ' "$out"
		check "run: refused program" 1 "$SKEP" prog run "$tmp/obj.o" --prog unsafe --data-hex $pkt
		expect "run: refusal names program, insn and line" "program 'unsafe': insn [0-9]+: .*obj.bpf.c:[0-9]+" "$(cat "$tmp/err")"
		# ... unless told not to: then only the checked engine runs it
		check "run --no-verify" 0 "$SKEP" prog run "$tmp/obj.o" --prog unsafe --no-verify --data-hex $pkt
		expect "run --no-verify: result" '^retval: 0x1 ' "$out"
		check "run --no-verify -j" 0 "$SKEP" prog run "$tmp/obj.o" --prog unsafe --no-verify --data-hex $pkt -j
		expect "run --no-verify: checked engine" '"engine": "checked"' "$out"
		check "run --no-verify --engine jit" 1 "$SKEP" prog run "$tmp/obj.o" --prog unsafe --no-verify --engine jit --data-hex $pkt
		expect "run --no-verify --engine jit: why" 'only the checked engine' "$(cat "$tmp/err")"
		check "run --no-verify on assembly" 2 "$SKEP" prog run "$tmp/good.s" --no-verify
	else
		echo "SKIP objects: $CLANG cannot build BPF objects: $(head -c 200 "$tmp/cc")"
		skip=1
	fi
else
	echo "SKIP objects: no $CLANG"
	skip=1
fi
echo "summary: $pass passed, $fail failed, $skip skipped"
