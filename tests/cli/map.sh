#!/usr/bin/env bash
# skep map: dumps of objects' maps (typed by BTF and plain hex) against golden files
# (tests/cli/golden/; UPDATE_GOLDEN=1 rewrites them), typed update/lookup round trips,
# per-CPU values, create/update/lookup/delete/getnext on pinned maps shared by separate
# skep processes, queues, JSON (parsed by python3), and the errors with their exit
# statuses. Pins go to a private SKEP_PIN_DIR. Run with SKEP=path/to/skep.
set -u
. "$(dirname "$0")/lib.bash"
SKEP=${SKEP:-build/skep}
OBJ=$(dirname "$SKEP")/objects
GOLDEN=$(cd "$(dirname "$0")" && pwd)/golden
tmp=$(mktemp -d /tmp/skep-map-cli.XXXXXX)
export SKEP_PIN_DIR
SKEP_PIN_DIR=$(mktemp -d /dev/shm/skep-map-cli.XXXXXX)
trap 'rm -rf "$tmp" "$SKEP_PIN_DIR"' EXIT

# expect NAME STATUS STDOUT-FRAGMENT STDERR-FRAGMENT -- command...
expect() {
	local name=$1 want=$2 out=$3 err=$4; shift 5
	"$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	if [ "$rc" -ne "$want" ]; then
		bad "$name" "exit $rc, want $want; stdout: $(head -c 200 "$tmp/out") stderr: $(head -c 300 "$tmp/err")"
	elif [ -n "$out" ] && ! grep -qF -- "$out" "$tmp/out"; then
		bad "$name" "stdout lacks '$out': $(head -c 300 "$tmp/out")"
	elif [ -n "$err" ] && ! grep -qF -- "$err" "$tmp/err"; then
		bad "$name" "stderr lacks '$err': $(head -c 300 "$tmp/err")"
	else
		ok
	fi
}
# ids are random and memlock depends on the maps' memory layout: left out
normalize() { sed -E -e 's/^[0-9]+: /ID: /' -e 's/  memlock [0-9]+B//' -e "s|$SKEP_PIN_DIR|PINDIR|g"; }
# golden NAME -- command...: stdout (normalized) equals golden/NAME
golden() {
	local name=$1; shift 2
	"$@" 2>"$tmp/g.err" | normalize >"$tmp/g.out"
	local rc=${PIPESTATUS[0]}
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
# py NAME FILE CODE: python3 with d = the JSON in FILE; the code asserts
py() {
	local name=$1 file=$2 code=$3
	if python3 -c "import json,sys
d = json.load(open(sys.argv[1]))
$code" "$file" 2>"$tmp/py.err"; then ok; else bad "$name" "$(tail -c 300 "$tmp/py.err"); json: $(head -c 300 "$file")"; fi
}

if [ ! -x "$SKEP" ] || [ ! -f "$OBJ/typed.o" ] || [ ! -f "$OBJ/globals.o" ]; then
	echo "FAIL setup: no skep at $SKEP or no objects in $OBJ (make objects)"
	echo "summary: 0 passed, 1 failed, 0 skipped"
	exit 1
fi
ncpus=$(python3 -c '
n = 0
for r in open("/sys/devices/system/cpu/possible").read().strip().split(","):
    a, _, b = r.partition("-"); n += int(b or a) - int(a) + 1
print(n)')

# ---- dumps of objects' maps after load: typed (BTF) and plain, global data's initial values
golden typed.dump.txt -- "$SKEP" map dump "$OBJ/typed.o"
golden globals.dump.txt -- "$SKEP" map dump "$OBJ/globals.o"
golden globals.data.json -- "$SKEP" map dump -j "$OBJ/globals.o" globals.data
"$SKEP" map dump -j "$OBJ/typed.o" >"$tmp/all.json"
py "dump -j object" "$tmp/all.json" '
names = [m["name"] for m in d]
assert names == ["recs", "pc", "nodes", "raw", "typed.data", "typed.rodata", "typed.bss"], names
data = [m for m in d if m["name"] == "typed.data"][0]
assert data["elements"][0]["formatted"] == {"value": {".data": [{"t_counter": 5}]}}, data
ro = [m for m in d if m["name"] == "typed.rodata"][0]
assert ro["elements"][0]["formatted"]["value"][".rodata"][0]["t_tag"] == "typed" and ro["frozen"] == 1
raw = [m for m in d if m["name"] == "raw"][0]
assert len(raw["elements"]) == 3 and "formatted" not in raw["elements"][0] and raw["elements"][2]["key"] == ["0x02", "0x00", "0x00", "0x00"]'
expect "dump one typed" 0 '"label": (nil),' "" -- "$SKEP" map dump "$OBJ/typed.o" nodes
expect "dump one plain" 0 "key: 02 00 00 00  value: 00 00 00 00" "" -- "$SKEP" map dump "$OBJ/typed.o" name raw
expect "dump footer" 0 "Found 3 elements" "" -- "$SKEP" map dump "$OBJ/typed.o" raw
expect "show object map" 0 "	btf  key __u32  value struct rec" "" -- "$SKEP" map show "$OBJ/typed.o" recs
expect "show object map json" 0 '"btf_value_type":"struct rec"' "" -- "$SKEP" map show -j "$OBJ/typed.o" recs
expect "list object" 0 "recs: hash  key 4B  value 48B  max_entries 16  flags 0x0  section .maps" "" -- "$SKEP" map list "$OBJ/typed.o"
expect "dump ringbuf" 1 "" "a ringbuf map has no keys to dump" -- "$SKEP" map dump "$OBJ/maps.o" events
expect "dump all with ringbuf" 0 "(a ringbuf map has no keys to dump)" "" -- "$SKEP" map dump "$OBJ/maps.o"

# ---- typed update then lookup, each in its own process, through a pin named with the object
R="$OBJ/typed.o recs pinned trecs"
V='{"count": 7, "name": "abc", "color": "BLUE", "at": {"x": -1, "y": 2}, "flag": 1, "level": 5, "u": {"word": 16909060}, "hist": [1, -2, 3], "on": true, "big": -9000000000}'
expect "typed update" 0 "" "" -- "$SKEP" map update $R key 3 value "$V"
golden trecs.lookup.txt -- "$SKEP" map lookup $R key 3
"$SKEP" map lookup -j $R key 3 >"$tmp/l.json"
py "typed round trip" "$tmp/l.json" '
want = json.loads("""'"$V"'""")
f = d["formatted"]
assert f["key"] == 3, f
v = dict(f["value"]); u = v.pop("u")
assert u == {"word": 16909060, "bytes": [4, 3, 2, 1]}, u
want.pop("u")
assert v == want, (v, want)
assert d["key"] == ["0x03", "0x00", "0x00", "0x00"] and len(d["value"]) == 48'
expect "typed bare names" 0 "" "" -- "$SKEP" map update $R key 4 value '{count: 0x10, name: "x", color: 1}' noexist
expect "typed lookup 2" 0 '"color": "GREEN",' "" -- "$SKEP" map lookup $R key 4
expect "typed noexist" 1 "" "update failed" -- "$SKEP" map update $R key 4 value '{count: 1}' noexist
expect "typed exist" 0 "" "" -- "$SKEP" map update $R key 4 value '{count: 17}' exist
expect "typed lookup 3" 0 '"count": 17,' "" -- "$SKEP" map lookup $R key 4
expect "pin without btf: hex" 0 "value:" "" -- "$SKEP" map lookup trecs key 4 0 0 0
grep -q "^11 00 00 00 " "$tmp/out" && ok || bad "pin hex value" "$(cat "$tmp/out")"
expect "getnext typed" 0 '"next_key":' "" -- "$SKEP" map getnext -j $R
expect "delete typed" 0 "" "" -- "$SKEP" map delete $R key 4
expect "lookup deleted" 1 "Not found" "" -- "$SKEP" map lookup $R key 4
expect "global data typed update" 0 "" "" -- "$SKEP" map update "$OBJ/typed.o" typed.data pinned tdata key 0 value '{t_counter: 99}'
expect "global data typed lookup" 0 '"t_counter": 99' "" -- "$SKEP" map lookup "$OBJ/typed.o" typed.data pinned tdata key 0 0 0 0

# ---- per-CPU: the value goes to every CPU, lookups and dumps show each
P="$OBJ/typed.o pc pinned tpc"
expect "percpu update" 0 "" "" -- "$SKEP" map update $P key '{"x": 1, "y": 2}' value 7
expect "percpu dump text" 0 '"values": [{' "" -- "$SKEP" map dump $P
grep -q '"cpu": '$((ncpus - 1))',' "$tmp/out" && ok || bad "percpu dump cpus" "$(cat "$tmp/out")"
"$SKEP" map dump -j $P >"$tmp/pc.json"
py "percpu dump json" "$tmp/pc.json" '
e = d[0]
assert len(e["values"]) == '"$ncpus"' and e["values"][1]["cpu"] == 1 and e["values"][0]["value"][0] == "0x07", e
assert e["formatted"]["key"] == {"x": 1, "y": 2}
assert e["formatted"]["values"] == [{"cpu": c, "value": 7} for c in range('"$ncpus"')]'
expect "percpu plain" 0 "value (CPU 00): 07 00 00 00 00 00 00 00" "" -- "$SKEP" map lookup tpc key 1 0 0 0 2 0 0 0
expect "percpu plain last" 0 "value (CPU $(printf %02d $((ncpus - 1)))): 07 00 00 00 00 00 00 00" "" -- "$SKEP" map lookup tpc key 1 0 0 0 2 0 0 0

# ---- a pinned map created, filled and read by separate processes
expect "create" 0 "" "" -- "$SKEP" map create h type hash key 4 value 8 entries 16 name counts
expect "create exists" 1 "" "exists" -- "$SKEP" map create h type hash key 4 value 8 entries 16
expect "show" 0 "hash  name counts  flags 0x0" "" -- "$SKEP" map show h
expect "show sizes" 0 "	key 4B  value 8B  max_entries 16" "" -- "$SKEP" map show pinned h
expect "show pinned" 0 "	pinned $SKEP_PIN_DIR/skep-h" "" -- "$SKEP" map show "$SKEP_PIN_DIR/skep-h"
for k in 1 2 3 4 5 6 7 8; do   # concurrent writers, each its own process
	"$SKEP" map update h key $k 0 0 0 value $k 0 0 0 0 0 0 0x$k$k >"$tmp/w$k" 2>&1 &
done
wait
expect "concurrent writers" 0 "Found 8 elements" "" -- "$SKEP" map dump h
expect "lookup" 0 "key: 05 00 00 00  value: 05 00 00 00 00 00 00 55" "" -- "$SKEP" map lookup h key 5 0 0 0
expect "lookup hex" 0 "value: 05 00 00 00 00 00 00 55" "" -- "$SKEP" map lookup h key hex 05 00 00 00
expect "lookup quoted" 0 "value: 05 00 00 00 00 00 00 55" "" -- "$SKEP" map lookup h key "05 00 00 00"
expect "update exist" 0 "" "" -- "$SKEP" map update h key 5 0 0 0 value 0xff 0 0 0 0 0 0 0 exist
expect "lookup updated" 0 "value: ff 00 00 00 00 00 00 00" "" -- "$SKEP" map lookup h key 5 0 0 0
expect "update noexist" 1 "" "update failed" -- "$SKEP" map update h key 5 0 0 0 value 0 0 0 0 0 0 0 0 noexist
expect "update exist missing" 1 "" "update failed" -- "$SKEP" map update h key 9 0 0 0 value 0 0 0 0 0 0 0 0 exist
expect "delete" 0 "" "" -- "$SKEP" map delete h key 5 0 0 0
expect "delete again" 1 "" "delete failed" -- "$SKEP" map delete h key 5 0 0 0
expect "lookup deleted" 1 "Not found" "" -- "$SKEP" map lookup h key 5 0 0 0
expect "dump after delete" 0 "Found 7 elements" "" -- "$SKEP" map dump h
expect "getnext first" 0 "key: None" "" -- "$SKEP" map getnext h
first=$(sed -n 3p "$tmp/out")
keys=1 cur=$first
while "$SKEP" map getnext h key hex $cur >"$tmp/gn" 2>/dev/null; do
	cur=$(sed -n 4p "$tmp/gn"); keys=$((keys + 1))
	[ $keys -gt 20 ] && break
done
[ $keys -eq 7 ] && ok || bad "getnext walks every key" "$keys keys"
expect "getnext end" 1 "" "no key after this one" -- "$SKEP" map getnext h key hex $cur
"$SKEP" map getnext -j h key 1 0 0 0 >"$tmp/gn.json"
py "getnext json" "$tmp/gn.json" 'assert d["key"] == ["0x01","0x00","0x00","0x00"] and len(d["next_key"]) == 4'
"$SKEP" map dump -j h >"$tmp/h.json"
py "dump json plain" "$tmp/h.json" '
assert len(d) == 7 and all(len(e["key"]) == 4 and len(e["value"]) == 8 and "formatted" not in e for e in d)
assert {e["key"][0] for e in d} == {"0x0%d" % k for k in (1, 2, 3, 4, 6, 7, 8)}'
"$SKEP" map list -j >"$tmp/list.json"
py "list pins json" "$tmp/list.json" '
pins = {p["pinned"][0].rsplit("skep-", 1)[1]: p for p in d}
assert {"h", "trecs", "tpc", "tdata"} <= set(pins), pins.keys()
assert pins["h"]["type"] == "hash" and pins["h"]["bytes_value"] == 8 and pins["h"]["name"] == "counts"'
expect "list pins" 0 "pinned $SKEP_PIN_DIR/skep-trecs" "" -- "$SKEP" map list
expect "pin object map" 0 "" "" -- "$SKEP" map pin "$OBJ/globals.o" globals.data gdata
expect "pinned global data" 0 "07 00 00 00 00 00 00 00  01 00 00 00 00 00 00 00" "" -- "$SKEP" map lookup gdata key 0 0 0 0
expect "unpin" 0 "" "" -- "$SKEP" map unpin gdata
expect "unpin again" 1 "" "unpin" -- "$SKEP" map unpin gdata

# ---- queue: push, peek, pop (bpftool's verbs)
expect "create queue" 0 "" "" -- "$SKEP" map create q type queue key 0 value 4 entries 4
expect "push" 0 "" "" -- "$SKEP" map push q value 1 0 0 0
expect "enqueue" 0 "" "" -- "$SKEP" map enqueue q value 2 0 0 0
expect "peek" 0 "value: 01 00 00 00" "" -- "$SKEP" map peek q
expect "pop" 0 "value: 01 00 00 00" "" -- "$SKEP" map pop q
expect "dequeue" 0 "value: 02 00 00 00" "" -- "$SKEP" map dequeue q
expect "pop empty" 1 "" "" -- "$SKEP" map pop q

# ---- errors and exit statuses
expect "missing pin" 1 "" "no map pinned as 'nosuch'" -- "$SKEP" map lookup nosuch key 1 0 0 0
expect "missing pin json" 1 '{"error":"no map pinned as' "" -- "$SKEP" map dump -j nosuch
py "json error parses" "$tmp/out" 'assert "nosuch" in d["error"]'
expect "wrong key size" 1 "" "key: expected 4 bytes, got 2" -- "$SKEP" map lookup h key 1 0
expect "bad byte" 1 "" "'300' is not a byte" -- "$SKEP" map lookup h key 1 0 0 300
expect "bad json value" 1 "" "value: expected ',' or '}' at the end" -- "$SKEP" map update $R key 1 value '{"count": 7'
expect "unknown member" 1 "" "no member 'nope' in struct rec (members: count, name," -- "$SKEP" map update $R key 1 value '{"nope": 1}'
expect "out of range" 1 "" "level: 8 does not fit in unsigned int (3 bits, unsigned)" -- "$SKEP" map update $R key 1 value '{"level": 8}'
expect "bad enum" 1 "" "'PINK' is not a value of enum color (RED, GREEN, BLUE)" -- "$SKEP" map update $R key 1 value '{"color": "PINK"}'
expect "string too long" 1 "" "name: a string of 9 characters does not fit in char[8]" -- "$SKEP" map update $R key 1 value '{"name": "123456789"}'
expect "bad json value -j" 1 '{"error":"value: ' "" -- "$SKEP" map update -j $R key 1 value '[1'
expect "unknown flag" 2 "" "unexpected argument 'sometimes' after the value's 8 bytes (flags: any, exist, noexist)" -- "$SKEP" map update h key 1 0 0 0 value 0 0 0 0 0 0 0 0 sometimes
expect "unknown flag typed" 2 "" "unexpected 'sometimes'" -- "$SKEP" map update $R key 1 value '{}' sometimes
expect "no key" 2 "" "no key" -- "$SKEP" map lookup h
expect "no value" 2 "" "no value" -- "$SKEP" map update h key 1 0 0 0
expect "no map" 2 "" "no map given" -- "$SKEP" map dump
expect "no such object map" 1 "" "no map 'nope' (maps: recs, pc, nodes, raw, typed.data, typed.rodata, typed.bss)" -- "$SKEP" map dump "$OBJ/typed.o" nope
expect "create bad type" 2 "" "unknown map type 'nosuch'" -- "$SKEP" map create x type nosuch key 4 value 4 entries 1
expect "create missing" 2 "" "needs type, key, value and entries" -- "$SKEP" map create x type hash key 4
expect "create refused" 1 "" "max_entries" -- "$SKEP" map create x type array key 4 value 4 entries 0
expect "unknown subcommand" 2 "" "unknown subcommand 'frob' (try: skep map help)" -- "$SKEP" map frob
expect "usage" 2 "" "usage: skep map" -- "$SKEP" map
expect "help" 0 "skep map" "" -- "$SKEP" map help
expect "--help" 0 "skep map create PIN type TYPE" "" -- "$SKEP" map --help
for w in list show dump lookup update delete getnext pin unpin create push pop; do
	grep -q "skep map $w\|skep map push|enqueue\|skep map pop|dequeue" "$tmp/out" || bad "help lists $w" "missing"
done
ok

echo "summary: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
