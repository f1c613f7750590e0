#!/usr/bin/env bash
# skep feature probe: bpftool's sections and wording, JSON keys (golden files), text and
# JSON agreeing, facts the library guarantees, and bad usage.
# Run with SKEP=path/to/skep; SKEP_UPDATE_GOLDEN=1 rewrites the golden files.
set -u
. "$(dirname "$0")/lib.bash"
SKEP=${SKEP:-build/skep}
GOLDEN=$(dirname "$0")/golden
tmp=$(mktemp -d /tmp/skep-feature.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

if [ ! -x "$SKEP" ]; then
	echo "FAIL setup: no skep binary at $SKEP"
	echo "summary: 0 passed, 1 failed, 0 skipped"
	exit 1
fi

status "probe" 0 "" -- "$SKEP" feature probe
cp "$tmp/out" "$tmp/text"
status "probe json" 0 "" -- "$SKEP" feature probe -j
cp "$tmp/out" "$tmp/json"

# bpftool's section headers, in order
grep '^Scanning' "$tmp/text" >"$tmp/sections"
golden cli_feature_sections.txt "$tmp/sections"
# program and map types with their status (the registry's and the map layer's facts)
grep -E '^eBPF (program|map)_type ' "$tmp/text" >"$tmp/types"
golden cli_feature_types.txt "$tmp/types"
# limits
sed -n '/^Scanning limits/,$p' "$tmp/text" >"$tmp/limits"
golden cli_feature_limits.txt "$tmp/limits"
has "jit line" "$tmp/text" '^JIT compiler \(x86-64\) is (NOT )?available$'
has "isa v4" "$tmp/text" '^ISA version: cpu v4 '
has "isa v4 ops" "$tmp/text" '^ISA extension v4 is available: [0-9]+ ops:.* SDIV64_IMM .*BSWAP64'
has "atomics" "$tmp/text" '^Atomic operations are available:.* ATOMIC_ADD64 .*CMPXCHG64'
has "xdp helpers" "$tmp/text" '^eBPF helpers supported for program type xdp:$'
has "helper line" "$tmp/text" $'^\t- bpf_map_lookup_elem$'
has "xdp_adjust_head" "$tmp/text" $'^\t- bpf_xdp_adjust_head$'

if ! command -v python3 >/dev/null; then
	skip=$((skip + 1)); echo "SKIP json: no python3"
else
	# JSON: valid, the keys (golden), and the same facts as the text
	if python3 - "$tmp/json" "$tmp/text" >"$tmp/keys" 2>"$tmp/perr" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
for k in d:
    v = d[k]
    sub = sorted(v.keys()) if isinstance(v, dict) else []
    if k in ("program_types", "map_types", "helpers", "helpers_verify_only", "program_type_modes"):
        sub = ["<%d entries>" % len(sub)] if k in ("helpers", "helpers_verify_only", "program_type_modes") else sub
    print(k + ": " + " ".join(sub))
# agreement with the text
for name, have in d["program_types"].items():
    t = re.match(r"have_(.*)_prog_type", name).group(1)
    line = "eBPF program_type %s is %savailable" % (t, "" if have else "NOT ")
    assert line in text, line
for t, mode in d["program_type_modes"].items():
    suffix = " (verify only)" if mode == "verify" else ""
    assert ("eBPF program_type %s is available%s\n" % (t, suffix)) in text, t
for name, have in d["map_types"].items():
    t = re.match(r"have_(.*)_map_type", name).group(1)
    assert ("eBPF map_type %s is %savailable\n" % (t, "" if have else "NOT ")) in text, t
for key, helpers in d["helpers"].items():
    t = key[: -len("_available_helpers")]
    block = text.split("eBPF helpers supported for program type %s:\n" % t)[1].split("eBPF helpers")[0]
    listed = re.findall(r"^\t- (bpf_\w+)", block, re.M)
    assert listed == helpers, (t, listed[:3], helpers[:3])
    for h in d["helpers_verify_only"][t]:
        assert h in helpers and ("\t- %s (verify only)\n" % h) in block, h
    assert all(re.fullmatch(r"bpf_[a-z0-9_]+", h) for h in helpers)
assert d["limits"] == {"max_processed_insns": 1000000, "stack_size": 512, "max_call_frames": 8, "max_tail_calls": 33}
assert d["isa"]["cpu_version"] == 4 and d["isa"]["ops"] == sum(len(d["isa"]["v%d" % v]) for v in range(1, 5))
assert "ATOMIC_ADD64" in d["isa"]["atomics"] and "CMPXCHG64" in d["isa"]["atomics"]
assert d["program_type_modes"]["xdp"] == "run" and d["map_types"]["have_hash_map_type"]
assert not d["map_types"]["have_devmap_map_type"]
PY
	then
		ok "json agrees with text"
		golden cli_feature_json_keys.txt "$tmp/keys"
	else
		bad "json" "$(tail -3 "$tmp/perr")"
	fi
fi

# help and bad usage
status "help" 0 "" -- "$SKEP" feature help
has "help text" "$tmp/out" 'skep feature probe \[-j\]'
status "--help" 0 "" -- "$SKEP" feature probe --help
status "no subcommand" 2 "missing subcommand" -- "$SKEP" feature
status "unknown subcommand" 2 "unknown subcommand 'list' (see: skep feature help)" -- "$SKEP" feature list
status "unknown option" 2 "unknown option '--x' (see: skep feature help)" -- "$SKEP" feature probe --x
status "extra argument" 2 "unexpected argument" -- "$SKEP" feature probe kernel
status "json usage error" 2 "unknown option" -- "$SKEP" feature probe -j --x
if command -v python3 >/dev/null && python3 -c 'import json,sys; assert "--x" in json.load(sys.stdin)["error"]' <"$tmp/out"; then
	ok "json usage error is json"
else
	bad "json usage error is json" "$(head -c 200 "$tmp/out")"
fi

echo "summary: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
