#!/usr/bin/env bash
# The demo: what Skep does today, with the command a user would type.
set -uo pipefail
cd "$(dirname "$0")/.."
SKEP=${SKEP:-build/skep}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "An eBPF program in llvm-objdump syntax (examples/asm/fnv1a.s)"
grep -v '^#' examples/asm/fnv1a.s
say "Assembled to kernel bytecode and disassembled back"
run "$SKEP" asm examples/asm/fnv1a.s -o build/fnv1a.bin
run "$SKEP" disasm build/fnv1a.bin --labels
say "Run on data 'hello' in each engine (r1 = data, r2 = length); -j gives JSON"
for e in interp checked jit; do
	run "$SKEP" prog run build/fnv1a.bin --data-hex 68656c6c6f --repeat 1000000 --engine $e
done
run "$SKEP" prog run examples/asm/fnv1a.s --data-hex 68656c6c6f -j
say "bpf-to-bpf calls: recursive fib(7), eight frames deep"
run "$SKEP" prog run examples/asm/fib.s
say "The checked engine catches an out-of-bounds read and names the instruction"
run "$SKEP" prog run examples/asm/oob.s --data-hex 01020304 --engine checked
echo "(exit status $?)"
say "Tracing a program of ours live: compute()'s latency as a histogram (examples/bpf/funclatency.bpf.c)"
echo "(a uprobe and a uretprobe patched into the running process by the preloaded agent: no kernel, no trap)"
B=$(dirname "$SKEP")   # the build directory: examples, victims and the agent beside skep
if make -s O="$B" "$B/libskep-agent.so" "$B/examples/funclatency.o" "$B/examples/mallocstacks.o" "$B/victims/allocs" >/dev/null 2>&1; then
	run "$SKEP" trace "$B/examples/funclatency.o" --uprobe "lat_enter=$B/victims/allocs:compute" \
		--uretprobe "lat_exit=$B/victims/allocs:compute" -- "$B/victims/allocs" 2000
	say "malloc sizes per call site in libc, by section name uprobe/libc.so.6:malloc (examples/bpf/mallocstacks.bpf.c)"
	printf '$ %s\n' "$SKEP trace $B/examples/mallocstacks.o -- $B/victims/allocs 100 | grep -A2 '^@hist_sites'"
	"$SKEP" trace "$B/examples/mallocstacks.o" -- "$B/victims/allocs" 100 2>/dev/null | grep -A2 '^@hist_sites'
	if [ -f bench/results/latest.md ] && grep -qi 'uprobe' bench/results/latest.md; then
		say "Cost per hit against the kernel's uprobes (make bench: bench/results/latest.md)"
		awk 'tolower($0) ~ /uprobe/ && /\|/' bench/results/latest.md | head -12
	fi
else
	echo "(skipped: building the tracing example needs clang: make examples victims agent)"
fi
if [ -z "${SKEP_DEMO_NO_KERNEL:-}" ] && [ "$(id -u)" = 0 ] && [ -x build/tests/test_diff_kernel ]; then
	say "The kernel as the oracle: random programs in Skep and in this kernel (BPF_PROG_TEST_RUN)"
	SKEP_DIFF_N=300 SKEP_ROOT=$PWD build/tests/test_diff_kernel | tail -3
fi
