/* The "Uprobes" section of make bench: ns per call of a function hooked by Skep's
 * in-process uprobes and by the kernel's uprobes (libbpf, same object), for functions
 * that begin with push %rbp, endbr64, a RIP-relative lea and a 5-byte nop.
 *
 *   bench_uprobe(f, dir): DIR/uprobe_progs.o holds the programs (empty, count, ret_empty). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "skep/attach.h"
#include "skep/map.h"
#include "skep/object.h"

int bench_uprobe(FILE *f, const char *dir);

/* The victims: the same body (rdi + rsi) after four kinds of first instruction. */
__asm__(
	".text\n"
	".p2align 6\n.globl bu_push\n.type bu_push,@function\n"
	"bu_push: push %rbp\n mov %rsp,%rbp\n lea (%rdi,%rsi),%rax\n pop %rbp\n ret\n"
	".size bu_push,.-bu_push\n"
	".p2align 6\n.globl bu_endbr\n.type bu_endbr,@function\n"
	"bu_endbr: endbr64\n lea (%rdi,%rsi),%rax\n ret\n"
	".size bu_endbr,.-bu_endbr\n"
	".p2align 6\n.globl bu_lea\n.type bu_lea,@function\n"
	"bu_lea: lea bu_zero(%rip),%rax\n mov (%rax),%rax\n add %rdi,%rax\n add %rsi,%rax\n ret\n"
	".size bu_lea,.-bu_lea\n"
	".p2align 6\n.globl bu_nop5\n.type bu_nop5,@function\n"
	"bu_nop5: nopl 0x0(%rax,%rax,1)\n lea (%rdi,%rsi),%rax\n ret\n"
	".size bu_nop5,.-bu_nop5\n"
	".p2align 6\n"
	".data\n.p2align 3\nbu_zero: .quad 0\n.text\n");
long bu_push(long, long), bu_endbr(long, long), bu_lea(long, long), bu_nop5(long, long);

typedef long (*vfn)(long, long);
static const struct kind {
	const char *name, *sym;
	vfn fn;
} kinds[] = {
	{"push %rbp", "bu_push", bu_push},
	{"endbr64", "bu_endbr", bu_endbr},
	{"lea rip-relative", "bu_lea", bu_lea},
	{"5-byte nop", "bu_nop5", bu_nop5},
};
#define NKIND 4

/* configurations (columns) */
enum { C_NONE, C_ENTRY, C_COUNT, C_RET, C_BOTH, NSK, K_ENTRY = NSK, K_COUNT, K_RET, K_BOTH, NCFG };
static const char *const cfg_name[NCFG] = {
	"no probe", "Skep entry", "Skep entry+hash", "Skep ret", "Skep entry+ret",
	"kernel entry", "kernel entry+hash", "kernel ret", "kernel entry+ret",
};
/* programs per configuration: entry program, return program (NULL none) */
static const char *const cfg_prog[NCFG][2] = {
	{NULL, NULL}, {"empty", NULL}, {"count", NULL}, {NULL, "ret_empty"}, {"empty", "ret_empty"},
	{"empty", NULL}, {"count", NULL}, {NULL, "ret_empty"}, {"empty", "ret_empty"},
};

#define ROUNDS 7
#define ROUND_NS 4e6

static volatile long sink;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double round_ns(vfn volatile fn, size_t n)
{
	long s = 0;
	double t0 = now();
	for (size_t i = 0; i < n; i++)
		s += fn((long)i, 1);
	double t1 = now();
	sink = s;
	return (t1 - t0) / n;
}

/* best of ROUNDS; calls counts the calls made */
static double time_fn(vfn fn, uint64_t *calls)
{
	size_t n = 16;
	double best = 1e30;
	while (round_ns(fn, n) * n < ROUND_NS / 4 && n < (1u << 26))
		*calls += n, n *= 2;
	*calls += n;
	for (int r = 0; r < ROUNDS; r++) {
		double v = round_ns(fn, n);
		*calls += n;
		best = v < best ? v : best;
	}
	return best;
}

/* file offset of a function of this executable, from /proc/self/maps */
static long file_offset(void *addr)
{
	FILE *m = fopen("/proc/self/maps", "r");
	char line[512];
	long off = -1;
	while (m && fgets(line, sizeof line, m)) {
		unsigned long lo, hi, pg;
		if (sscanf(line, "%lx-%lx %*s %lx", &lo, &hi, &pg) == 3 && (unsigned long)addr >= lo &&
		    (unsigned long)addr < hi) {
			off = (long)((unsigned long)addr - lo + pg);
			break;
		}
	}
	if (m)
		fclose(m);
	return off;
}

static int quiet(enum libbpf_print_level l, const char *fmt, va_list ap)
{
	(void)l, (void)fmt, (void)ap;
	return 0;
}

struct cell {
	double ns;
	char why[160];
};

static uint64_t skep_count(skep_object *o)
{
	skep_map *m = skep_object_map_handle(skep_object_find_map_by_name(o, "hits"));
	uint32_t k = 0;
	uint64_t v = 0;
	if (m)
		skep_map_lookup_elem(m, &k, &v);
	if (m)
		skep_map_delete_elem(m, &k);
	return v;
}

static uint64_t kernel_count(struct bpf_object *o)
{
	struct bpf_map *m = bpf_object__find_map_by_name(o, "hits");
	uint32_t k = 0;
	uint64_t v = 0;
	if (m) {
		bpf_map_lookup_elem(bpf_map__fd(m), &k, &v);
		bpf_map_delete_elem(bpf_map__fd(m), &k);
	}
	return v;
}

static void run_skep(skep_object *o, const struct kind *k, int c, struct cell *out, char *mode)
{
	skep_link *l[2] = {0};
	for (int i = 0; i < 2; i++) {
		if (!cfg_prog[c][i])
			continue;
		skep_program *p = skep_object_find_program_by_name(o, cfg_prog[c][i]);
		if (skep_attach_uprobe(skep_program_prog(p), NULL, k->sym, i, 0, &l[i])) {
			snprintf(out->why, sizeof out->why, "%s", skep_attach_error());
			skep_link_destroy(l[0]);
			return;
		}
		snprintf(mode, 8, "%s", skep_link_mode(l[i]));
	}
	uint64_t calls = 0;
	skep_count(o);
	out->ns = time_fn(k->fn, &calls);
	uint64_t got = skep_count(o);
	if (c == C_COUNT && got != calls)
		snprintf(out->why, sizeof out->why, "WRONG COUNT %" PRIu64 " of %" PRIu64, got, calls);
	skep_link_destroy(l[0]);
	skep_link_destroy(l[1]);
}

static void run_kernel(struct bpf_object *o, const struct kind *k, int c, struct cell *out)
{
	struct bpf_link *l[2] = {0};
	long off = file_offset((void *)k->fn);
	for (int i = 0; i < 2; i++) {
		if (!cfg_prog[c][i])
			continue;
		struct bpf_program *p = bpf_object__find_program_by_name(o, cfg_prog[c][i]);
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = i == 1);
		l[i] = p ? bpf_program__attach_uprobe_opts(p, getpid(), "/proc/self/exe", (size_t)off, &uo) : NULL;
		if (!l[i]) {
			snprintf(out->why, sizeof out->why, "attach: %s", strerror(errno));
			bpf_link__destroy(l[0]);
			return;
		}
	}
	uint64_t calls = 0;
	kernel_count(o);
	out->ns = time_fn(k->fn, &calls);
	uint64_t got = kernel_count(o);
	if (c == K_COUNT && got != calls)
		snprintf(out->why, sizeof out->why, "WRONG COUNT %" PRIu64 " of %" PRIu64, got, calls);
	bpf_link__destroy(l[0]);
	bpf_link__destroy(l[1]);
}

static const char *fmtc(char *b, const struct cell *c)
{
	if (c->ns < 0)
		return "n/a";
	snprintf(b, 32, c->ns >= 100 ? "%.0f" : "%.1f", c->ns);
	return b;
}

int bench_uprobe(FILE *f, const char *dir)
{
	static struct cell cell[NKIND][NCFG];
	static char mode[NKIND][8];
	char path[4096], kwhy[200] = "", b[NCFG][32];
	int bad = 0;
	snprintf(path, sizeof path, "%s/uprobe_progs.o", dir);
	for (int i = 0; i < NKIND; i++)
		for (int c = 0; c < NCFG; c++)
			cell[i][c].ns = -1, cell[i][c].why[0] = 0;

	skep_object *so = NULL;
	if (skep_object_open_file(path, NULL, &so) || skep_object_load(so)) {
		fprintf(f, "\n## Uprobes\n\nnot measured: %s: %s\n", path, skep_object_error(so));
		skep_object_close(so);
		return 1;
	}
	libbpf_set_print(quiet);
	struct bpf_object *ko = bpf_object__open_file(path, NULL);
	if (!ko || bpf_object__load(ko)) {
		snprintf(kwhy, sizeof kwhy, "kernel: cannot load %s: %s", path, strerror(errno));
		bpf_object__close(ko);
		ko = NULL;
	}
	for (int i = 0; i < NKIND; i++) {
		fprintf(stderr, "bench: uprobes: %s\n", kinds[i].name);
		uint64_t calls = 0;
		cell[i][C_NONE].ns = time_fn(kinds[i].fn, &calls);
		for (int c = C_ENTRY; c < NSK; c++)
			run_skep(so, &kinds[i], c, &cell[i][c], mode[i]);
		for (int c = K_ENTRY; ko && c < NCFG; c++)
			run_kernel(ko, &kinds[i], c, &cell[i][c]);
		for (int c = 0; c < NCFG; c++)
			bad |= strstr(cell[i][c].why, "WRONG") != NULL;
	}

	fprintf(f, "\n## Uprobes\n\n"
		"ns per call of a small function (rdi + rsi) called in a loop through a function "
		"pointer, hooked by Skep's in-process uprobes (a jump patched over the first "
		"instructions to a trampoline; `skep_attach_uprobe`) and by the kernel's uprobes "
		"(libbpf `bpf_program__attach_uprobe_opts` on /proc/self/exe, this process only); "
		"the same object (uprobe_progs.bpf.c: an empty program, one incrementing a hash-map "
		"counter, an empty return program) on both sides. Best of %d rounds.\n\n", ROUNDS);
	fprintf(f, "| first instruction | mode |");
	for (int c = 0; c < NCFG; c++)
		fprintf(f, " %s |", cfg_name[c]);
	fprintf(f, "\n|---|---|");
	for (int c = 0; c < NCFG; c++)
		fprintf(f, "--:|");
	fprintf(f, "\n");
	for (int i = 0; i < NKIND; i++) {
		fprintf(f, "| %s | %s |", kinds[i].name, mode[i]);
		for (int c = 0; c < NCFG; c++)
			fprintf(f, " %s |", fmtc(b[c], &cell[i][c]));
		fprintf(f, "\n");
	}
	/* added cost and ratios */
	fprintf(f, "\nAdded ns per hit (minus the unprobed call) and kernel/Skep ratios:\n\n"
		"| first instruction | Skep entry | Skep entry+hash | Skep ret | Skep entry+ret | "
		"kernel entry | kernel ret | kernel/Skep entry | kernel/Skep entry+hash | kernel/Skep ret |\n"
		"|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
	int met = 1, met10 = 1, x20 = 1, have_k = 1;
	for (int i = 0; i < NKIND; i++) {
		double base = cell[i][C_NONE].ns, a[NCFG];
		for (int c = 0; c < NCFG; c++)
			a[c] = cell[i][c].ns < 0 ? -1 : cell[i][c].ns - base;
		char r1[32] = "n/a", r2[32] = "n/a", r3[32] = "n/a";
		if (a[K_ENTRY] > 0 && a[C_ENTRY] > 0)
			snprintf(r1, sizeof r1, "%.0fx", a[K_ENTRY] / a[C_ENTRY]);
		if (a[K_COUNT] > 0 && a[C_COUNT] > 0)
			snprintf(r2, sizeof r2, "%.0fx", a[K_COUNT] / a[C_COUNT]);
		if (a[K_RET] > 0 && a[C_RET] > 0)
			snprintf(r3, sizeof r3, "%.0fx", a[K_RET] / a[C_RET]);
		fprintf(f, "| %s | %.1f | %.1f | %.1f | %.1f | %.0f | %.0f | %s | %s | %s |\n",
			kinds[i].name, a[C_ENTRY], a[C_COUNT], a[C_RET], a[C_BOTH], a[K_ENTRY], a[K_RET],
			r1, r2, r3);
		met &= a[C_ENTRY] >= 0 && a[C_ENTRY] <= 20;
		met10 &= a[C_ENTRY] >= 0 && a[C_ENTRY] <= 10;
		if (a[K_ENTRY] > 0 && a[C_ENTRY] > 0)
			x20 &= a[K_ENTRY] / a[C_ENTRY] >= 20;
		else
			have_k = 0;
	}
	fprintf(f, "\n**Target** (Skep's empty entry probe adds at most 20 ns per hit on every kind "
		"of first instruction; stretch 10 ns): %s%s. **Target** (at least 20x below the "
		"kernel's on each): %s.\n", met ? "met" : "NOT met", met10 ? " (stretch met)" : "",
		have_k ? (x20 ? "met" : "NOT met") : "n/a (no kernel figure)");
	for (int i = 0; i < NKIND; i++)
		for (int c = 0; c < NCFG; c++)
			if (cell[i][c].why[0])
				fprintf(f, "\n- %s, %s: %s", kinds[i].name, cfg_name[c], cell[i][c].why);
	if (kwhy[0])
		fprintf(f, "\n- %s", kwhy);
	fprintf(f, "\nMethod: the Skep columns run the object's programs on Skep's JIT, called "
		"directly from a per-site trampoline that saves the general registers and flags "
		"into a struct pt_regs (and xmm0-15 when a program calls helpers); the hash column checks that the counter equals the "
		"number of calls. Return probes replace the return address on entry (a per-thread "
		"shadow stack). The kernel columns trap into the kernel on each hit (int3, then "
		"single-step or emulation of the displaced instruction).\n");
	skep_object_close(so);
	bpf_object__close(ko);
	return bad;
}
