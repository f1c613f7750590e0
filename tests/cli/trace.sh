#!/usr/bin/env bash
# skep trace end to end: every tracing example (examples/bpf/{funclatency,mallocstacks,
# usdt_ticks,bashreadline}.bpf.c) on the programs of ours it is written for
# (examples/victims/), with exact counts where the program's behaviour is exact; the
# traced program's own stdout and exit status unchanged; -j output parsed line by line;
# forks, exec, threads, --pid-filter, --interval; the errors. Run with SKEP=path/to/skep
# (the examples, victims and libskep-agent.so are found beside it).
set -u
. "$(dirname "$0")/lib.bash"
SKEP=${SKEP:-build/skep}
B=$(dirname "$SKEP")
EX=$B/examples V=$B/victims
tmp=$(mktemp -d /tmp/skep-trace-cli.XXXXXX)
# every session of these tests lives under a pin directory of our own: checked empty at the end
export SKEP_PIN_DIR=$(mktemp -d /dev/shm/skep-trace-cli.XXXXXX)
trap 'rm -rf "$tmp" "$SKEP_PIN_DIR"' EXIT

check() { # name, condition-status, detail
	if [ "$2" -eq 0 ]; then ok; else bad "$1" "$3"; fi
}
# run NAME -- command...: stdout to $tmp/out, stderr to $tmp/err, status in $rc
run() {
	shift 2
	timeout 120 "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}
has() { grep -qF -- "$2" "$tmp/$1"; }
count() { grep -cF -- "$2" "$tmp/$1"; }
# the counts of a bpftrace-style histogram added up (lines "[lo, hi)   N |@@@|")
hist_total() { awk -F'|' '/^\[/ { n = split($1, a, " "); s += a[n] } END { print s + 0 }' "$tmp/$1"; }

if [ ! -x "$SKEP" ] || [ ! -f "$B/libskep-agent.so" ] || [ ! -x "$V/allocs" ] || [ ! -f "$EX/funclatency.o" ]; then
	echo "FAIL setup: need $SKEP, $B/libskep-agent.so, $V/allocs and $EX/funclatency.o (make all victims examples)"
	echo "summary: 0 passed, 1 failed, 0 skipped"
	exit 1
fi
LAT=(--uprobe "lat_enter=$V/allocs:compute" --uretprobe "lat_exit=$V/allocs:compute")

# ---- funclatency: uprobe + uretprobe through --uprobe/--uretprobe specs
"$V/allocs" 10 3 >"$tmp/plain"
plain_rc=$?
run lat -- "$SKEP" trace "$EX/funclatency.o" "${LAT[@]}" -- "$V/allocs" 10 3
check "funclatency: exit status of the command (3)" $((rc != 3)) "got $rc; $(head -c 300 "$tmp/err")"
check "funclatency: calls counted exactly" $(has out "@calls[0]: 10"; echo $?) "$(cat "$tmp/out")"
check "funclatency: histogram holds every call" $(( $(hist_total out) != 10 )) "total $(hist_total out): $(cat "$tmp/out")"
check "funclatency: histogram is bpftrace's hist" $(grep -qE '^\[[0-9]+K?, [0-9]+K?\) +[0-9]+ \|@+ *\|$' "$tmp/out"; echo $?) "$(cat "$tmp/out")"
check "funclatency: the command's own line is there once" $(( $(count out "allocs: 10 calls, sum 90") != 1 )) "$(cat "$tmp/out")"
check "funclatency: the agent says what it attached" $(has err "attached 2: uprobe:$(realpath "$V/allocs"):compute, uretprobe:"; echo $?) "$(cat "$tmp/err")"

# the command's stdout is byte for byte what it prints untraced (skep's output to -o)
run lat-o -- "$SKEP" trace "$EX/funclatency.o" "${LAT[@]}" -o "$tmp/skep.txt" -- "$V/allocs" 10 3
check "-o: the command's stdout unchanged" $(cmp -s "$tmp/out" "$tmp/plain"; echo $?) "$(diff "$tmp/plain" "$tmp/out" | head)"
check "-o: the command's status unchanged" $((rc != plain_rc)) "got $rc, untraced $plain_rc"
check "-o: skep's output in the file" $(grep -qF "@calls[0]: 10" "$tmp/skep.txt"; echo $?) "$(cat "$tmp/skep.txt")"

# ---- mallocstacks: libc's malloc and free by section name; call sites from the stack
run malloc -- "$SKEP" trace "$EX/mallocstacks.o" -- "$V/allocs" 10
check "mallocstacks: status 0" $((rc != 0)) "got $rc; $(head -c 300 "$tmp/err")"
check "mallocstacks: big_alloc's site: 7 calls of 12345 bytes" $(has out '{"mallocs":7,"bytes":86415}'; echo $?) "$(cat "$tmp/out")"
check "mallocstacks: small_alloc's site: 10 calls of 100 bytes" $(has out '{"mallocs":10,"bytes":1000}'; echo $?) "$(cat "$tmp/out")"
check "mallocstacks: size histogram per site" $(grep -qE '^\[8K, 16K\) +7 \|@{52}\|$' "$tmp/out" && grep -qE '^\[64, 128\) +10 \|@{52}\|$' "$tmp/out"; echo $?) "$(cat "$tmp/out")"
check "mallocstacks: frees counted (17 of ours; the agent's own are not events)" $(has out "@frees[0]: 17"; echo $?) "$(grep frees "$tmp/out")"
check "mallocstacks: the agent's own mallocs are not counted" $(( $(grep -c '^@sites' "$tmp/out") > 4 )) "$(grep '^@sites' "$tmp/out")"
VABS=$(realpath "$V/allocs")
check "mallocstacks: big_alloc's call site symbolized (func+off (path))" $(grep -qE "^@sites\[big_alloc\+0x[0-9a-f]+ \($VABS\)\]: \{\"mallocs\":7,\"bytes\":86415\}$" "$tmp/out"; echo $?) "$(grep '^@sites' "$tmp/out")"
check "mallocstacks: small_alloc's call site symbolized" $(grep -qE "^@sites\[small_alloc\+0x[0-9a-f]+ \($VABS\)\]: \{\"mallocs\":10," "$tmp/out"; echo $?) "$(grep '^@sites' "$tmp/out")"
run malloc-j -- "$SKEP" trace -j "$EX/mallocstacks.o" -- "$V/allocs" 10
check "mallocstacks -j: the key stays the address, key_sym names the function" $(grep '"map":"sites"' "$tmp/out" | python3 -c '
import json, sys
e = [x for x in json.loads(sys.stdin.read())["entries"] if x["value"]["mallocs"] == 7]
sys.exit(not (len(e) == 1 and isinstance(e[0]["key"], int) and e[0]["key_sym"].startswith("big_alloc+0x")))'; echo $?) "$(grep '"sites"' "$tmp/out")"

# ---- USDT: our program's probes through usdt.bpf.h; bpf_printk streamed
if [ -x "$V/usdt_victim" ] && [ -f "$EX/usdt_ticks.o" ]; then
	run usdt -- "$SKEP" trace "$EX/usdt_ticks.o" -- "$V/usdt_victim" 5
	check "usdt: status 0" $((rc != 0)) "got $rc; $(head -c 300 "$tmp/err")"
	grep -o 'bpf_trace_printk: .*' "$tmp/out" >"$tmp/ticks"
	printf 'bpf_trace_printk: tick %d square %d\n' 1 1 2 4 3 9 4 16 5 25 >"$tmp/want"
	check "usdt: one printk per probe hit, in order, with both arguments" $(cmp -s "$tmp/ticks" "$tmp/want"; echo $?) "$(cat "$tmp/out")"
	check "usdt: map sums (even 4+16, odd 1+9+25)" $(has out "@squares[0]: 20" && has out "@squares[1]: 35"; echo $?) "$(cat "$tmp/out")"
	check "usdt: the command's output" $(has out "usdt_victim: 5 ticks, total 55"; echo $?) "$(cat "$tmp/out")"
	check "usdt: the perf buffer record of the done probe, by its BTF struct" $(grep -qE '^@done_events: \{"pid":[0-9]+,"ticks":5\}$' "$tmp/out"; echo $?) "$(cat "$tmp/out")"
	check "usdt: libbpf's internal maps are not printed" $(! has out "__bpf_usdt"; echo $?) "$(cat "$tmp/out")"
else
	skip=$((skip + 1)); echo "SKIP usdt: $V/usdt_victim not built (needs <sys/sdt.h>: systemtap-sdt-dev)"
fi

# the same probe named by --usdt (a section's target overridden)
if [ -x "$V/usdt_victim" ]; then
	run usdt-spec -- "$SKEP" trace "$EX/usdt_ticks.o" --usdt "on_tick=$V/usdt_victim:skep_victim:tick" -- "$V/usdt_victim" 4
	check "--usdt: attached by the spec, 4 hits" $(( $(count out "bpf_trace_printk: tick") != 4 )) "$(cat "$tmp/out") $(cat "$tmp/err")"
	check "--usdt: the agent names the probe" $(has err "usdt:$(realpath "$V/usdt_victim"):skep_victim:tick"; echo $?) "$(cat "$tmp/err")"
fi

# ---- -j: every line one JSON object; events and dumps
run json -- "$SKEP" trace "$EX/usdt_ticks.o" -j -- "$V/usdt_victim" 3
python3 - "$tmp/out" >"$tmp/jcheck" 2>&1 <<'PY'
import json, sys
objs, other = [], []
sq = None
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("{"):
        objs.append(json.loads(line))
    else:
        other.append(line)
assert other == ["usdt_victim: 3 ticks, total 14"], other
types = [o["type"] for o in objs]
assert [o["msg"] for o in objs if o["type"] == "printk"] == ["tick 1 square 1", "tick 2 square 4", "tick 3 square 9"], objs
assert types.count("agent") == 1 and types[-1] == "exit" and objs[-1]["status"] == 0, types
sq = [o for o in objs if o["type"] == "map" and o["map"] == "squares"][0]
assert [o["data"]["ticks"] for o in objs if o["type"] == "perf" and o["map"] == "done_events"] == [3], objs
assert sq["final"] and sorted((e["key"], e["value"]) for e in sq["entries"]) == [(0, 4), (1, 10)], sq
print("ok", len(objs))
PY
check "-j: every line parses; printk, agent, map and exit objects as expected" $(grep -q '^ok' "$tmp/jcheck"; echo $?) "$(cat "$tmp/jcheck") $(cat "$tmp/out")"
run json-hist -- "$SKEP" trace "$EX/funclatency.o" "${LAT[@]}" -j -- "$V/allocs" 8
python3 - "$tmp/out" >"$tmp/jcheck" 2>&1 <<'PY'
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
h = [o for o in objs if o["type"] == "hist" and o["map"] == "hist_ns"]
assert len(h) == 1 and sum(b["count"] for b in h[0]["buckets"]) == 8, h
assert all(b["max"] == 2 * b["min"] - 1 for b in h[0]["buckets"] if b["min"] > 1), h
print("ok")
PY
check "-j: the histogram as buckets with min, max, count" $(grep -q '^ok' "$tmp/jcheck"; echo $?) "$(cat "$tmp/jcheck")"

# ---- processes: threads, forks, exec, --pid-filter, a tree through sh
run threads -- "$SKEP" trace "$EX/funclatency.o" "${LAT[@]}" -- "$V/allocs" --threads 4 250
check "threads: 4 x 250 calls counted exactly" $(has out "@calls[0]: 1000"; echo $?) "$(grep calls "$tmp/out") $(head -c 300 "$tmp/err")"
run fork -- "$SKEP" trace "$EX/funclatency.o" "${LAT[@]}" -- "$V/allocs" --fork 5
check "fork: the child inherits the probes (5 + 5 calls)" $(has out "@calls[0]: 10"; echo $?) "$(grep calls "$tmp/out")"
run fork-filter -- "$SKEP" trace "$EX/funclatency.o" --pid-filter "${LAT[@]}" -- "$V/allocs" --fork 5
check "--pid-filter: the forked child is not traced (5 calls)" $(has out "@calls[0]: 5"; echo $?) "$(grep calls "$tmp/out")"
check "--pid-filter: both processes ran" $(has out "allocs child: 5 calls" && has out "allocs parent: 5 calls"; echo $?) "$(cat "$tmp/out")"
run exec -- "$SKEP" trace "$EX/funclatency.o" "${LAT[@]}" -- "$V/allocs" --exec 6
check "exec: the agent re-arms in the new image (6 calls)" $(has out "@calls[0]: 6"; echo $?) "$(grep calls "$tmp/out")"
check "exec: armed twice in the same pid" $(( $(grep -c "attached 2:" "$tmp/err") != 2 )) "$(cat "$tmp/err")"
run tree -- "$SKEP" trace "$EX/funclatency.o" --interval 0.25 "${LAT[@]}" -- sh -c "'$V/allocs' 5; sleep 0.8; '$V/allocs' 5"
check "tree through sh: both children traced (10 calls)" $(( $(sed -n '/maps at exit/,$p' "$tmp/out" | grep -c "@calls\[0\]: 10") != 1 )) "$(cat "$tmp/out")"
check "--interval: dumps while running (5 calls so far)" $(sed -n '/maps at [0-9]/,/maps at exit/p' "$tmp/out" | grep -qF "@calls[0]: 5"; echo $?) "$(cat "$tmp/out")"
check "tree through sh: the agent skips sh (binary not mapped)" $(has err "attached 0; 2 skipped (binary not mapped in this process)"; echo $?) "$(cat "$tmp/err")"

# ---- exit status: a signal is 128+N
run sig -- "$SKEP" trace "$EX/funclatency.o" "${LAT[@]}" -- sh -c 'kill -TERM $$'
check "a command killed by SIGTERM: status 143" $((rc != 143)) "got $rc: $(cat "$tmp/err")"

# ---- bashreadline: a uretprobe on /bin/bash:readline, bash interactive on a pty (script)
if command -v script >/dev/null && [ -x /bin/bash ] && [ -f "$EX/bashreadline.o" ]; then
	printf 'echo hello-one\necho two\nexit 0\n' >"$tmp/typed"
	timeout 120 "$SKEP" trace "$EX/bashreadline.o" -o "$tmp/lines" -- script -qec "bash --norc --noprofile -i" /dev/null \
		<"$tmp/typed" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	check "bashreadline: status 0" $((rc != 0)) "got $rc: $(cat "$tmp/err")"
	grep -o '"line":"[^"]*"' "$tmp/lines" >"$tmp/got"
	printf '"line":"%s"\n' "echo hello-one" "echo two" "exit 0" >"$tmp/want"
	check "bashreadline: every line typed, in order" $(cmp -s "$tmp/got" "$tmp/want"; echo $?) "$(cat "$tmp/lines")"
	check "bashreadline: bash still ran them" $(tr '\r' '\n' <"$tmp/out" | grep -qx "hello-one"; echo $?) "$(cat -v "$tmp/out")"
else
	skip=$((skip + 1)); echo "SKIP bashreadline: needs script(1) and /bin/bash"
fi

# ---- errors
run nosym -- "$SKEP" trace "$EX/funclatency.o" --uprobe "lat_enter=$V/allocs:no_such_fn" --uretprobe "lat_exit=$V/allocs:compute" -- "$V/allocs" 3
check "unknown symbol: exit 1" $((rc != 1)) "got $rc"
check "unknown symbol: named, and the command did not run" $(has err "no function 'no_such_fn'" && has err "the command did not run" && ! has out "allocs:"; echo $?) "$(cat "$tmp/err") / $(cat "$tmp/out")"
run noobj -- "$SKEP" trace "$tmp/missing.o" -- true
check "missing object: exit 1 naming it" $(( rc != 1 )) "got $rc"
check "missing object: message" $(has err "missing.o: No such file or directory"; echo $?) "$(cat "$tmp/err")"
run notarget -- "$SKEP" trace "$EX/funclatency.o" -- true
check "a section with no target and no --uprobe: exit 2" $(( rc != 2 )) "got $rc"
check "a section with no target: says how to attach it" $(has err "give --uprobe lat_enter=PATH:SYMBOL"; echo $?) "$(cat "$tmp/err")"
run nocmd -- "$SKEP" trace "$EX/mallocstacks.o"
check "no command: exit 2" $(( rc != 2 )) "got $rc"
run badopt -- "$SKEP" trace "$EX/mallocstacks.o" --frobnicate -- true
check "unknown option: exit 2" $(( rc != 2 )) "got $rc"
run badspec -- "$SKEP" trace "$EX/funclatency.o" --uprobe lat_enter -- true
check "malformed --uprobe: exit 2 with the form" $(( rc != 2 )) "got $rc"
check "malformed --uprobe: message" $(has err "want PROG=PATH:SYMBOL"; echo $?) "$(cat "$tmp/err")"
run badprog -- "$SKEP" trace "$EX/funclatency.o" --uprobe "nope=$V/allocs:compute" -- true
check "--uprobe of a program the object lacks: exit 2, listing them" $(( rc != 2 )) "got $rc"
check "--uprobe of a missing program: message" $(has err "no program 'nope'" && has err "lat_enter lat_exit"; echo $?) "$(cat "$tmp/err")"
run badint -- "$SKEP" trace "$EX/mallocstacks.o" --interval 0 -- true
check "--interval 0: exit 2" $(( rc != 2 )) "got $rc"
check "bad usage: a one-line hint" $(grep -qxF "skep trace: --interval 0: want seconds > 0 (at most a day) (try: skep trace --help)" "$tmp/err" && [ "$(wc -l <"$tmp/err")" -eq 1 ]; echo $?) "$(cat "$tmp/err")"
run nocmdfile -- "$SKEP" trace "$EX/mallocstacks.o" -- "$tmp/no-such-command"
check "a command that does not exist: exit 1 naming it" $(( rc != 1 )) "got $rc"
check "a command that does not exist: message" $(has err "cannot run '$tmp/no-such-command'"; echo $?) "$(cat "$tmp/err")"
# with -j (before --) skep's own errors are one JSON object {"type":"error","error":...}
# on stdout, the exit status unchanged; a -j after -- is CMD's
jerr() { # NAME WANT-STATUS: the last run
	check "$1: exit $2" $(( rc != $2 )) "got $rc: $(cat "$tmp/err")"
	check "$1: one JSON error object" $([ "$(wc -l <"$tmp/out")" -eq 1 ] && python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
sys.exit(not (d.get("type") == "error" and isinstance(d.get("error"), str) and d["error"]))' <"$tmp/out"; echo $?) "$(cat "$tmp/out")"
}
run j-badopt -- "$SKEP" trace -j "$EX/mallocstacks.o" --frobnicate -- true
jerr "-j unknown option" 2
run j-nocmd -- "$SKEP" trace "$EX/mallocstacks.o" -j
jerr "-j no command" 2
run j-notarget -- "$SKEP" trace "$EX/funclatency.o" -j -- true
jerr "-j section with no target" 2
run j-badprog -- "$SKEP" trace -j "$EX/funclatency.o" --uprobe "nope=$V/allocs:compute" -- true
jerr "-j --uprobe of a missing program" 2
check "-j --uprobe of a missing program: lists them" $(grep -qF 'lat_enter lat_exit' "$tmp/out"; echo $?) "$(cat "$tmp/out")"
run j-missing -- "$SKEP" trace -j "$tmp/missing.o" -- true
jerr "-j missing object" 1
run j-notrace -- "$SKEP" trace -j "$EX/xdp_parse.o" -- true
jerr "-j object without tracing programs" 1
run j-nocmdfile -- "$SKEP" trace -j "$EX/mallocstacks.o" -- "$tmp/no-such-command"
jerr "-j command that does not exist" 1
run j-cmd -- "$SKEP" trace "$EX/mallocstacks.o" --frobnicate -- true -j
check "a -j after -- is the command's: text error" $([ ! -s "$tmp/out" ] && [ "$rc" -eq 2 ]; echo $?) "rc $rc: $(cat "$tmp/out")"
run notelf -- "$SKEP" trace "$V/allocs" -- true
check "an executable given as the object: exit 1" $(( rc != 1 )) "got $rc: $(cat "$tmp/err")"

run notrace -- "$SKEP" trace "$EX/xdp_parse.o" -- true
check "an object without tracing programs: exit 1" $(( rc != 1 )) "got $rc"
check "an object without tracing programs: says which" $(has err "program xdp_parse is a xdp program"; echo $?) "$(cat "$tmp/err")"
if file -L /sbin/ldconfig 2>/dev/null | grep -q static; then
	run static -- "$SKEP" trace "$EX/mallocstacks.o" -- /sbin/ldconfig --version
	check "a static command: its status" $(( rc != 0 )) "got $rc"
	check "a static command: skep says nothing was traced" $(has err "nothing was traced"; echo $?) "$(cat "$tmp/err")"
else
	skip=$((skip + 1)); echo "SKIP static command: /sbin/ldconfig is not static here"
fi

# every session removed its pins
left=$(ls -A "$SKEP_PIN_DIR")
check "sessions leave nothing in the pin directory" $([ -z "$left" ]; echo $?) "$left"

echo "summary: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
