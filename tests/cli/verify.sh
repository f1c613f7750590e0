#!/usr/bin/env bash
# skep prog verify: verdicts, the JSON object, the log, and the exit statuses.
set -u
SKEP=${SKEP:-build/skep}
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $1: $2"; }
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
echo "summary: $pass passed, $fail failed, 0 skipped"
