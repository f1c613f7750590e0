#!/usr/bin/env bash
# skep list uprobes|usdt: function symbols compared with nm -D / nm (libc, a test
# program, a stripped copy of it), USDT probes of tests/attach/usdt_victim.c compared
# with readelf -n, binary lookup by library name and $PATH, JSON, and the refusals.
# Run with SKEP=path/to/skep (from the source tree: it builds the victim with cc).
set -u
. "$(dirname "$0")/lib.bash"
SKEP=${SKEP:-build/skep}
LIBC=/lib/x86_64-linux-gnu/libc.so.6
tmp=$(mktemp -d /tmp/skep-list-cli.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT

if [ ! -x "$SKEP" ] || ! cc -O2 -o "$tmp/victim" tests/attach/usdt_victim.c 2>"$tmp/cc.err"; then
	echo "FAIL setup: no skep at $SKEP or the victim does not build: $(head -c 300 "$tmp/cc.err")"
	echo "summary: 0 passed, 1 failed, 0 skipped"
	exit 1
fi
V="$tmp/victim"

# ---- uprobes: libc (only .dynsym)
expect "libc malloc" 0 "uprobe:$LIBC:malloc" "" -- "$SKEP" list uprobes "$LIBC" malloc
nm_malloc=$(nm -D --defined-only "$LIBC" | awk '$3=="malloc@@GLIBC_2.2.5"{print $1}')
expect "libc malloc -v" 0 "uprobe:$LIBC:malloc  addr 0x$(echo "$nm_malloc" | sed 's/^0*//')  offset 0x" "" -- \
	"$SKEP" list uprobes -v "$LIBC" malloc
grep -qF "version @@GLIBC_2.2.5" "$tmp/out" && ok || bad "malloc version" "$(cat "$tmp/out")"
# every (address, name) nm -D prints for functions (T, W, i), and nothing else
"$SKEP" list uprobes -v "$LIBC" | awk '{n = $1; sub(/.*:/, "", n); a = $3; sub(/^0x/, "", a); print a, n}' |
	sort -u >"$tmp/skep.syms"
nm -D --defined-only "$LIBC" | awk '$2=="T"||$2=="W"||$2=="i"{sub(/@.*/, "", $3); a = $1; sub(/^0+/, "", a); print a, $3}' |
	sort -u >"$tmp/nm.syms"
if [ -s "$tmp/nm.syms" ] && cmp -s "$tmp/skep.syms" "$tmp/nm.syms"; then ok; else
	bad "libc symbols as nm -D" "$(diff "$tmp/skep.syms" "$tmp/nm.syms" | head -5) ($(wc -l <"$tmp/skep.syms") vs $(wc -l <"$tmp/nm.syms"))"
fi
expect "glob" 0 "uprobe:$LIBC:malloc_usable_size" "" -- "$SKEP" list uprobes "$LIBC" 'malloc_*'
grep -q ":malloc$" "$tmp/out" && bad "glob" "malloc matched 'malloc_*'" || ok
# a library by soname and by stem, through ldconfig
expect "soname" 0 ":malloc" "" -- "$SKEP" list uprobes libc.so.6 malloc
grep -q "^uprobe:/.*libc.so.6:malloc$" "$tmp/out" && ok || bad "soname path" "$(cat "$tmp/out")"
expect "stem" 0 "libc.so.6:malloc" "" -- "$SKEP" list uprobes libc malloc
# a program in $PATH
bash_path=$(command -v bash)
if nm -D --defined-only "$bash_path" 2>/dev/null | grep -q " T readline$"; then
	expect "program in PATH" 0 "uprobe:$bash_path:readline" "" -- "$SKEP" list uprobes bash readline
else
	skip=$((skip + 1)); echo "SKIP program in PATH: bash exports no readline"
fi

# ---- uprobes: .symtab of the victim, then a stripped copy (.dynsym only)
expect "symtab" 0 "uprobe:$V:work" "" -- "$SKEP" list uprobes "$V"
grep -q ":main$" "$tmp/out" && ok || bad "symtab main" "$(head -5 "$tmp/out")"
nm_work=$(nm "$V" | awk '$3=="work"{print $1}' | sed 's/^0*//')
expect "symtab address" 0 "uprobe:$V:work  addr 0x$nm_work " "" -- "$SKEP" list uprobes -v "$V" work
strip -o "$tmp/stripped" "$V"
expect "stripped" 0 "" "" -- "$SKEP" list uprobes "$tmp/stripped"
if grep -q ":main$\|:work$" "$tmp/out"; then bad "stripped" "lists .symtab functions: $(cat "$tmp/out")"; else ok; fi
n_nm=$(nm -D --defined-only "$tmp/stripped" | awk '$2=="T"||$2=="W"||$2=="i"' | wc -l)
[ "$(wc -l <"$tmp/out")" -eq "$n_nm" ] && ok || bad "stripped count" "$(wc -l <"$tmp/out") vs nm -D $n_nm"
expect "stripped no match" 1 "" "no function of $tmp/stripped matches 'work'" -- "$SKEP" list uprobes "$tmp/stripped" work

# ---- usdt
expect "usdt" 0 "usdt:$V:victim:work" "" -- "$SKEP" list usdt "$V"
readelf -n "$V" | awk '/Provider:/{p=$2} /Name:/{print "usdt:'"$V"':" p ":" $2}' | sort -u >"$tmp/re.probes"
sort "$tmp/out" >"$tmp/skep.probes"
cmp -s "$tmp/re.probes" "$tmp/skep.probes" && [ "$(wc -l <"$tmp/re.probes")" -eq 3 ] && ok ||
	bad "usdt probes as readelf -n" "$(diff "$tmp/skep.probes" "$tmp/re.probes")"
# every site with its location, semaphore and arguments as readelf -n prints them
readelf -n "$V" | awk '/Provider:/{p=$2} /Name:/{n=$2} /Location:/{l=$2; s=$6; sub(/,/, "", l)}
	/Arguments:/{a=$0; sub(/^ *Arguments: ?/, "", a); sub(/^0x0*/, "", l); sub(/^0x0*/, "", s); if (s == "") s = "0";
	print p ":" n " " l " " s " " a}' | sort >"$tmp/re.sites"
"$SKEP" list usdt -j "$V" >"$tmp/j.out"
if command -v python3 >/dev/null; then
	python3 -c 'import json,sys
for p in json.load(open(sys.argv[1])):
    for s in p["sites"]:
        print("%s:%s %x %x %s" % (p["provider"], p["name"], s["pc"], s["semaphore"], s["args"]))' "$tmp/j.out" | sort >"$tmp/skep.sites"
	cmp -s "$tmp/re.sites" "$tmp/skep.sites" && [ "$(wc -l <"$tmp/re.sites")" -eq 4 ] && ok ||
		bad "usdt sites as readelf -n (json)" "$(diff "$tmp/skep.sites" "$tmp/re.sites") $(cat "$tmp/j.out")"
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert isinstance(d, list) and len(d) == 3' "$tmp/j.out" &&
		ok || bad "usdt json" "$(cat "$tmp/j.out")"
	"$SKEP" list uprobes -j "$LIBC" 'mallo*' >"$tmp/j2.out"
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); m=[x for x in d if x["name"]=="malloc"][0]
assert m["address"] == int(sys.argv[2], 16) and m["version"] == "GLIBC_2.2.5" and m["default_version"] and m["dynamic"]
assert all(x["name"].startswith("mallo") for x in d)' "$tmp/j2.out" "$nm_malloc" && ok || bad "uprobes json" "$(head -c 400 "$tmp/j2.out")"
else
	skip=$((skip + 3)); echo "SKIP json checks: no python3"
fi
expect "usdt -v" 0 "  args \"-4@%edi" "" -- "$SKEP" list usdt -v "$V" 'work'
[ "$(grep -c '^  pc 0x' "$tmp/out")" -eq 2 ] && grep -q "semaphore 0x" "$tmp/out" && ok || bad "usdt -v sites" "$(cat "$tmp/out")"
expect "usdt glob provider:name" 0 "usdt:$V:victim:done" "" -- "$SKEP" list usdt "$V" 'victim:d*'
[ "$(wc -l <"$tmp/out")" -eq 1 ] && ok || bad "usdt glob count" "$(cat "$tmp/out")"
expect "usdt none" 0 "" "" -- "$SKEP" list usdt "$LIBC"
[ ! -s "$tmp/out" ] && ok || bad "usdt none" "$(cat "$tmp/out")"
expect "usdt no match" 1 "" "no USDT probe of $V matches 'nope'" -- "$SKEP" list usdt "$V" nope

# ---- refusals
printf 'not an elf\n' >"$tmp/text"
expect "not ELF" 1 "" "$tmp/text: not an ELF file" -- "$SKEP" list uprobes "$tmp/text"
expect "directory" 1 "" "$tmp: is a directory" -- "$SKEP" list uprobes "$tmp"
head -c 40 "$V" >"$tmp/trunc"
expect "truncated header" 1 "" "$tmp/trunc: truncated" -- "$SKEP" list usdt "$tmp/trunc"
head -c 8000 "$V" >"$tmp/trunc2"
expect "truncated file" 1 "" "truncated: the section header table" -- "$SKEP" list uprobes "$tmp/trunc2"
expect "not a regular file" 1 "" "/dev/null: not a regular file" -- "$SKEP" list uprobes /dev/null
expect "missing file" 1 "" "/nonexistent/bin: No such file" -- "$SKEP" list uprobes /nonexistent/bin
expect "unknown name" 1 "" "no-such-binary-xyz: no such file, program in \$PATH or library" -- "$SKEP" list uprobes no-such-binary-xyz
expect "usage: a one-line hint" 2 "" "skep list: what to list: uprobes or usdt (try: skep list --help)" -- "$SKEP" list
expect "no binary" 2 "" "no BINARY" -- "$SKEP" list uprobes
expect "unknown kind" 2 "" "unknown kind 'kprobes'" -- "$SKEP" list kprobes "$V"
expect "unknown option" 2 "" "unknown option '-x'" -- "$SKEP" list uprobes -x "$V"
expect "too many" 2 "" "unexpected argument 'c'" -- "$SKEP" list uprobes a b c
expect "help" 0 "usage: skep list uprobes BINARY [GLOB] [-v] [-j]" "" -- "$SKEP" list --help

# ---- errors with -j: one JSON object {"error": ...} on stdout, the same exit status
jerr() { # NAME STATUS STDERR-FRAGMENT -- command...
	local name=$1
	status "$@"
	if [ "$(wc -l <"$tmp/out")" -eq 1 ] && python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); sys.exit(not (isinstance(d, dict) and isinstance(d.get("error"), str) and d["error"]))'  <"$tmp/out"; then ok
	else bad "$name: JSON error" "stdout: $(head -c 300 "$tmp/out")"; fi
}
jerr "-j usage" 2 "(try: skep list --help)" -- "$SKEP" list -j
jerr "-j unknown kind" 2 "unknown kind 'kprobes'" -- "$SKEP" list kprobes "$V" -j
jerr "-j unknown option" 2 "unknown option '-x'" -- "$SKEP" list -j uprobes -x "$V"
jerr "-j too many" 2 "unexpected argument 'c'" -- "$SKEP" list -j uprobes a b c
jerr "-j not ELF" 1 "not an ELF file" -- "$SKEP" list -j uprobes "$tmp/text"
jerr "-j unknown name" 1 "no such file, program in" -- "$SKEP" list -j usdt no-such-binary-xyz
jerr "-j no symbol matches" 1 "matches 'no_such_fn_*'" -- "$SKEP" list -j uprobes "$V" 'no_such_fn_*'
jerr "-j no USDT probe matches" 1 "no USDT probe of" -- "$SKEP" list -j usdt "$V" 'nope:nope'
expect "no match without -j: stdout empty" 1 "" "no function of" -- "$SKEP" list uprobes "$V" 'no_such_fn_*'
if [ -s "$tmp/out" ]; then bad "no match without -j: stdout empty" "$(head -c 200 "$tmp/out")"; else ok; fi

echo "summary: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
