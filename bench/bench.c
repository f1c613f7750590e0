/* make bench: ns per run of each progs/NAME.c on Skep's interpreter, Skep's JIT,
 * the kernel's JIT (BPF_PROG_TEST_RUN) and native gcc -O2 code, with ratios and
 * ns per executed BPF instruction. Writes the table to stdout and to -o FILE.
 *
 *   bench -d DIR -o FILE [-t TOOLCHAIN]
 *
 * DIR holds NAME.bin (Skep's bytecode) and NAME.kern.o (the kernel's object) for
 * every NAME in list.h. Exit status 1 when any engine's result disagrees. */
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "skep/prog.h"

int bench_maps(FILE *f, const char *dir);   /* bench_maps.c: the "Map operations" section */
int bench_verifier(FILE *f, const char *dir);  /* bench_verifier.c: "Verifier" (DIR/objects, DIR/examples) */
int bench_uprobe(FILE *f, const char *dir);   /* bench_uprobe.c: "Uprobes" (DIR/uprobe_progs.o) */

#define BENCH(n) uint64_t native_##n(uint8_t *m); extern const char native_##n##_desc[];
#include "list.h"
#undef BENCH

static const struct bench {
	const char *name, *desc;
	uint64_t (*native)(uint8_t *m);
} benches[] = {
#define BENCH(n) { #n, native_##n##_desc, native_##n },
#include "list.h"
#undef BENCH
};
#define NBENCH (sizeof benches / sizeof benches[0])

#define MEM_SIZE  2048          /* 1 KiB input + 1 KiB scratch, as progs/bench.h */
#define IN_SIZE   1024
#define ROUNDS    11            /* user-space rounds per figure; the best is kept */
#define ROUND_NS  10e6          /* each round runs about this long */
#define KROUNDS   7             /* BPF_PROG_TEST_RUN calls per figure; the best is kept */
#define KCALL_NS  50e6         /* each call runs about this long */

enum { C_NATIVE, C_INTERP, C_JIT, C_KERNEL, NCOL };
static const char *const col_name[NCOL] = { "native", "interp", "JIT", "kernel" };

struct result {
	double ns[NCOL];          /* per run; < 0: n/a */
	char why[NCOL][160];      /* why n/a */
	uint64_t insns;           /* executed, counted on the checked engine */
	uint64_t r_native;        /* reference result */
	char bad[256];            /* a mismatch, or "" */
};

static uint8_t mem[MEM_SIZE] __attribute__((aligned(64)));
static const char *dir;

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}


static double best(const double *v, int n)
{
	double b = v[0];
	for (int i = 1; i < n; i++)
		b = v[i] < b ? v[i] : b;
	return b;
}

/* Text-like input (words, numbers, separators) so the parser has something to
 * parse; the other programs just see bytes. Fixed seed: every run sees the same. */
static void fill_input(uint8_t *m)
{
	static const char sep[] = "  , \n";
	uint64_t x = 0x2545f4914f6cdd1dull;
	size_t i = 0;
	while (i < IN_SIZE) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		unsigned kind = x % 8, len = 1 + (x >> 8) % 7;
		for (unsigned k = 0; k < len && i < IN_SIZE; k++, i++) {
			uint64_t y = x >> (16 + 3 * k);
			m[i] = kind < 3 ? '0' + y % 10 : kind < 7 ? 'a' + y % 26 : (uint8_t)"!#$%&()*+-./:;<=>?@"[y % 19];
		}
		if (i < IN_SIZE)
			m[i++] = sep[(x >> 60) % 5];
	}
	memset(m + IN_SIZE, 0, MEM_SIZE - IN_SIZE);
}

/* ---- user-space timing: calibrate the batch size, then the best of ROUNDS ---- */

typedef int (*call_fn)(void *ctx, uint64_t *r0);

static double time_calls(call_fn f, void *ctx)
{
	uint64_t r;
	double t = 0, v[ROUNDS];
	size_t n = 1;
	for (;; n *= 2) {
		double t0 = now_ns();
		for (size_t i = 0; i < n; i++)
			f(ctx, &r);
		if ((t = now_ns() - t0) > 2e6)
			break;
	}
	n = (size_t)(n * ROUND_NS / t) + 1;
	for (int k = 0; k < ROUNDS; k++) {
		double t0 = now_ns();
		for (size_t i = 0; i < n; i++)
			f(ctx, &r);
		v[k] = (now_ns() - t0) / n;
	}
	return best(v, ROUNDS);
}

static int call_native(void *ctx, uint64_t *r0)
{
	const struct bench *b = ctx;
	uint8_t *m = mem;
	asm volatile("" : "+r"(m) : : "memory");   /* the buffer is opaque and may have changed */
	*r0 = b->native(m);
	asm volatile("" : : "r"(*r0));
	return 0;
}

static int call_skep(void *ctx, uint64_t *r0)
{
	return skep_prog_run_mem(ctx, mem, MEM_SIZE, r0);
}

/* ---- Skep ---- */

static void *read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	void *buf = NULL;
	long len;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc(len)) && fread(buf, 1, len, f) != (size_t)len) {
		free(buf);
		buf = NULL;
	}
	*n = buf ? (size_t)len : 0;
	fclose(f);
	return buf;
}

static void mismatch(struct result *res, const char *engine, uint64_t got)
{
	if (!res->bad[0])
		snprintf(res->bad, sizeof res->bad, "%s returned 0x%llx, native 0x%llx", engine,
			 (unsigned long long)got, (unsigned long long)res->r_native);
}

static void run_skep(const struct bench *b, struct result *res)
{
	char path[4096];
	size_t size;
	uint64_t r;
	int err;
	struct skep_insn *insns;
	skep_prog *p;

	snprintf(path, sizeof path, "%s/%s.bin", dir, b->name);
	if (!(insns = read_file(path, &size))) {
		snprintf(res->why[C_INTERP], sizeof res->why[0], "cannot read %s", path);
		strcpy(res->why[C_JIT], res->why[C_INTERP]);
		return;
	}
	if (!(p = skep_prog_new()) || (err = skep_prog_load(p, insns, size / sizeof *insns))) {
		snprintf(res->why[C_INTERP], sizeof res->why[0], "load: %s", p ? skep_prog_error(p) : "out of memory");
		strcpy(res->why[C_JIT], res->why[C_INTERP]);
		goto out;
	}
	/* The checked engine counts the executed instructions and checks every access. */
	if ((err = skep_prog_set_engine(p, SKEP_ENGINE_CHECKED)) || (err = skep_prog_run_mem(p, mem, MEM_SIZE, &r))) {
		snprintf(res->why[C_INTERP], sizeof res->why[0], "checked run: %s", skep_prog_error(p));
		strcpy(res->why[C_JIT], res->why[C_INTERP]);
		goto out;
	}
	res->insns = skep_prog_insn_count(p);
	if (r != res->r_native)
		mismatch(res, "checked interpreter", r);

	if ((err = skep_prog_set_engine(p, SKEP_ENGINE_INTERP)) || (err = skep_prog_run_mem(p, mem, MEM_SIZE, &r)))
		snprintf(res->why[C_INTERP], sizeof res->why[0], "%s", skep_prog_error(p));
	else {
		if (r != res->r_native)
			mismatch(res, "interpreter", r);
		res->ns[C_INTERP] = time_calls(call_skep, p);
	}

	if ((err = skep_prog_set_engine(p, SKEP_ENGINE_JIT)))
		snprintf(res->why[C_JIT], sizeof res->why[0], "skep_prog_set_engine(JIT): %s (%s)",
			 strerror(-err), skep_prog_error(p));
	else if ((err = skep_prog_run_mem(p, mem, MEM_SIZE, &r)))
		snprintf(res->why[C_JIT], sizeof res->why[0], "run: %s", skep_prog_error(p));
	else {
		if (r != res->r_native)
			mismatch(res, "JIT", r);
		res->ns[C_JIT] = time_calls(call_skep, p);
	}
out:
	skep_prog_free(p);
	free(insns);
}

/* ---- the kernel, through libbpf ---- */

static char klog[4096];     /* the tail of libbpf's (and the verifier's) messages */
static char kdown[160];     /* why the kernel column is n/a for every program, or "" */
static double kempty = -1;  /* ns per run of an empty XDP program */

static int klog_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	size_t n = strlen(klog);
	if (level == LIBBPF_DEBUG)
		return 0;
	if (n > sizeof klog - 512)
		n = 0;
	vsnprintf(klog + n, sizeof klog - n, fmt, ap);
	return 0;
}

/* The last non-empty line of klog, for a table cell. */
static const char *klog_last(void)
{
	static char line[160];
	char *e = klog + strlen(klog), *s;
	while (e > klog && (e[-1] == '\n' || e[-1] == ' '))
		e--;
	for (s = e; s > klog && s[-1] != '\n'; s--)
		;
	snprintf(line, sizeof line, "%.*s", (int)(e - s), s);
	return line;
}

/* Best per-run duration the kernel reports over KROUNDS calls with a repeat
 * count sized so that each call runs about KCALL_NS. Returns < 0 (errno) on failure. */
static double ktime(int fd, uint32_t *retval, char *why, size_t whysize)
{
	uint8_t pkt[64] = { 0 };
	double v[KROUNDS];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof pkt, .repeat = 1000);
	if (bpf_prog_test_run_opts(fd, &o)) {
		snprintf(why, whysize, "BPF_PROG_TEST_RUN: %s", strerror(errno));
		return -1;
	}
	double rep = KCALL_NS / (o.duration ? o.duration : 1);
	o.repeat = rep > 1e9 ? 1000000000 : rep < 1 ? 1 : (int)rep;
	for (int k = 0; k < KROUNDS; k++) {
		o.data_size_out = 0;
		if (bpf_prog_test_run_opts(fd, &o)) {
			snprintf(why, whysize, "BPF_PROG_TEST_RUN: %s", strerror(errno));
			return -1;
		}
		v[k] = o.duration;
	}
	*retval = o.retval;
	return best(v, KROUNDS);
}

static void kernel_setup(void)
{
	static const struct bpf_insn empty[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 2 /* XDP_PASS */ },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	uint32_t ret;
	int fd;

	libbpf_set_print(klog_print);
	setrlimit(RLIMIT_MEMLOCK, &rl);   /* older kernels charge BPF memory to it */
	fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "empty", "GPL", empty, 2, NULL);
	if (fd < 0) {
		snprintf(kdown, sizeof kdown, "BPF_PROG_LOAD refused: %s%s", strerror(-fd),
			 geteuid() ? " (not root)" : "");
		return;
	}
	kempty = ktime(fd, &ret, kdown, sizeof kdown);
	close(fd);
}

static void run_kernel(const struct bench *b, struct result *res)
{
	char path[4096];
	char *why = res->why[C_KERNEL];
	size_t whysize = sizeof res->why[C_KERNEL];
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	uint32_t key = 0, ret = 0;
	int err;

	if (kdown[0]) {
		snprintf(why, whysize, "%s", kdown);
		return;
	}
	snprintf(path, sizeof path, "%s/%s.kern.o", dir, b->name);
	klog[0] = 0;
	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		snprintf(why, whysize, "open %s: %s", path, strerror(errno));
		return;
	}
	if ((err = bpf_object__load(obj))) {
		fprintf(stderr, "%s: kernel load failed:\n%s\n", b->name, klog);
		snprintf(why, whysize, "load: %s: %s", strerror(-err), klog_last());
		goto out;
	}
	if (!(map = bpf_object__find_map_by_name(obj, "mem")) ||
	    !(prog = bpf_object__find_program_by_name(obj, "bench"))) {
		snprintf(why, whysize, "%s lacks map 'mem' or program 'bench'", path);
		goto out;
	}
	if (bpf_map_update_elem(bpf_map__fd(map), &key, mem, BPF_ANY)) {
		snprintf(why, whysize, "map update: %s", strerror(errno));
		goto out;
	}
	res->ns[C_KERNEL] = ktime(bpf_program__fd(prog), &ret, why, whysize);
	if (res->ns[C_KERNEL] >= 0 && ret != (uint32_t)(res->r_native ^ res->r_native >> 32) && !res->bad[0])
		snprintf(res->bad, sizeof res->bad, "kernel returned 0x%x, native folds to 0x%x", ret,
			 (uint32_t)(res->r_native ^ res->r_native >> 32));
out:
	bpf_object__close(obj);
}

/* ---- per-call overhead of a JIT-compiled empty program (r0 = 0; exit) ---- */

enum { PC_RUN_MEM, PC_RUN, PC_FUNC, NPC };
static const char *const pc_name[NPC] = { "skep_prog_run_mem", "skep_prog_run", "skep_prog_func (direct call)" };
static double percall_ns[NPC] = { -1, -1, -1 };
static char percall_why[160];

/* n calls of one entry point in a plain loop of its own (no call_fn indirection: the
 * call as a host makes it); ns per call. */
#define PERCALL_LOOP(name, call)                                                     \
	static double name(skep_prog *p, skep_prog_fn fn, size_t n)                  \
	{                                                                            \
		struct skep_run_args a = { .r = { 0, 0 } };                          \
		uint64_t r = 0;                                                      \
		double t0 = now_ns();                                                \
		(void)p, (void)fn, (void)a;                                          \
		for (size_t i = 0; i < n; i++) {                                     \
			skep_prog_fn f = fn;                                         \
			asm volatile("" : "+r"(f)); /* as through a stored pointer */ \
			call;                                                        \
			asm volatile("" : : "r"(r) : "memory");                      \
		}                                                                    \
		return (now_ns() - t0) / n;                                          \
	}
PERCALL_LOOP(percall_run_mem, skep_prog_run_mem(p, mem, MEM_SIZE, &r))
PERCALL_LOOP(percall_run, skep_prog_run(p, &a, &r))
PERCALL_LOOP(percall_func, r = f(mem, MEM_SIZE))
#undef PERCALL_LOOP

static double (*const percall_round[NPC])(skep_prog *, skep_prog_fn, size_t) = {
	percall_run_mem, percall_run, percall_func,
};

static void time_percall(void)
{
	static const struct skep_insn empty[] = {
		{ BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0 },
		{ BPF_JMP | BPF_EXIT, 0, 0, 0, 0 },
	};
	skep_prog *p = skep_prog_new();
	skep_prog_fn fn = NULL;
	int err = p ? skep_prog_set_engine(p, SKEP_ENGINE_JIT) : -ENOMEM;
	if (!err)
		err = skep_prog_load(p, empty, 2);
	if (err || !(fn = skep_prog_func(p))) {
		snprintf(percall_why, sizeof percall_why, "%s", p ? skep_prog_error(p) : "out of memory");
		skep_prog_free(p);
		return;
	}
	for (int k = 0; k < NPC; k++) {
		size_t n = 1 << 16;
		double v[ROUNDS];
		while (percall_round[k](p, fn, n) * n < ROUND_NS / 4)
			n *= 2;
		for (int r = 0; r < ROUNDS; r++)
			v[r] = percall_round[k](p, fn, n);
		percall_ns[k] = best(v, ROUNDS);
	}
	skep_prog_free(p);
}

/* ---- JIT compile time ---- */

#define NCOMPILE 2
static const size_t compile_sizes[NCOMPILE] = { 1000, 100000 };
static double compile_us[NCOMPILE][2];   /* [load, JIT]; < 0: n/a */
static char compile_why[160];

/* A synthetic straight-line mix (ALU64/ALU32 reg and imm, stack load and store,
 * a short forward branch), ending in exit: only compiled, never run. */
static struct skep_insn *synth(size_t n)
{
	static const struct skep_insn mix[] = {
		{ BPF_ALU64 | BPF_ADD | BPF_K, 1, 0, 0, 7 },
		{ BPF_ALU64 | BPF_XOR | BPF_X, 2, 1, 0, 0 },
		{ BPF_ALU | BPF_MUL | BPF_X, 3, 2, 0, 0 },
		{ BPF_LDX | BPF_MEM | BPF_DW, 4, 10, -8, 0 },
		{ BPF_STX | BPF_MEM | BPF_DW, 10, 4, -16, 0 },
		{ BPF_JMP | BPF_JGT | BPF_X, 1, 2, 1, 0 },
		{ BPF_ALU64 | BPF_LSH | BPF_K, 5, 0, 0, 3 },
		{ BPF_ALU64 | BPF_MOV | BPF_X, 0, 5, 0, 0 },
	};
	struct skep_insn *v = malloc(n * sizeof *v);
	if (!v)
		return NULL;
	for (size_t i = 0; i < n - 1; i++)
		v[i] = mix[i % (sizeof mix / sizeof mix[0])];
	if (v[n - 2].code == (BPF_JMP | BPF_JGT | BPF_X))
		v[n - 2] = mix[0];   /* no branch onto the exit's far side */
	v[n - 1] = (struct skep_insn){ BPF_JMP | BPF_EXIT, 0, 0, 0, 0 };
	return v;
}

/* Best over rounds of skep_prog_load on a fresh program, then of
 * skep_prog_set_engine(JIT) (which compiles a loaded program at once). */
static void time_compile(void)
{
	for (int k = 0; k < NCOMPILE; k++) {
		struct skep_insn *v = synth(compile_sizes[k]);
		double load[ROUNDS], jit[ROUNDS];
		compile_us[k][0] = compile_us[k][1] = -1;
		for (int r = 0; v && r < ROUNDS; r++) {
			skep_prog *p = skep_prog_new();
			double t0 = now_ns();
			int err = p ? skep_prog_load(p, v, compile_sizes[k]) : -ENOMEM;
			double t1 = now_ns();
			if (err) {
				snprintf(compile_why, sizeof compile_why, "load: %s", p ? skep_prog_error(p) : "out of memory");
				skep_prog_free(p);
				break;
			}
			load[r] = (t1 - t0) / 1e3;
			err = skep_prog_set_engine(p, SKEP_ENGINE_JIT);
			jit[r] = (now_ns() - t1) / 1e3;
			if (err && !compile_why[0])
				snprintf(compile_why, sizeof compile_why, "%s (%s)", strerror(-err), skep_prog_error(p));
			skep_prog_free(p);
			if (r == ROUNDS - 1) {
				compile_us[k][0] = best(load, ROUNDS);
				if (!compile_why[0])
					compile_us[k][1] = best(jit, ROUNDS);
			}
		}
		free(v);
	}
}

/* ---- the report ---- */

static const char *fmt_ns(char *buf, double ns)
{
	if (ns < 0)
		return "n/a";
	sprintf(buf, ns >= 100 ? "%.0f" : ns >= 10 ? "%.1f" : "%.2f", ns);
	return buf;
}

static const char *fmt_ratio(char *buf, double a, double b)
{
	if (a < 0 || b <= 0)
		return "n/a";
	sprintf(buf, a / b >= 10 ? "%.1fx" : "%.2fx", a / b);
	return buf;
}

static const char *fmt_per(char *buf, double ns, uint64_t insns)
{
	if (ns < 0 || !insns)
		return "n/a";
	sprintf(buf, "%.3f", ns / insns);
	return buf;
}

/* Geometric mean of a/b over the programs where both exist; < 0 if none. */
static double geomean(const struct result *res, int a, int b, int per_insn)
{
	double s = 0;
	int n = 0;
	for (size_t i = 0; i < NBENCH; i++) {
		double x = res[i].ns[a], y = per_insn ? (double)res[i].insns : res[i].ns[b];
		if (x >= 0 && y > 0 && !res[i].bad[0])
			s += log(x / y), n++;
	}
	return n ? exp(s / n) : -1;
}

static void cpu_model(char *buf, size_t size)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	snprintf(buf, size, "unknown");
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
			snprintf(buf, size, "%s", strchr(line, ':') + 2);
			buf[strcspn(buf, "\n")] = 0;
			break;
		}
	if (f)
		fclose(f);
}

static void report(FILE *f, const struct result *res, const char *toolchain, int cpu)
{
	char a[32], b[32], c[32], d[32], cpu_s[256], date[64];
	struct utsname u;
	time_t now = time(NULL);
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);

	uname(&u);
	cpu_model(cpu_s, sizeof cpu_s);
	strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
	fprintf(f, "# Skep execution benchmark\n\n");
	fprintf(f, "- date: %s\n- machine: Linux %s, %s (%d CPUs online; pinned to CPU %d)\n",
		date, u.release, cpu_s, ncpu, cpu);
	if (toolchain)
		fprintf(f, "- toolchain: %s\n", toolchain);
	fprintf(f, "\n## ns per run (best of several rounds)\n\n");
	fprintf(f, "| program | work | BPF insns executed | native gcc -O2 | Skep interp | Skep JIT | kernel JIT | result |\n");
	fprintf(f, "|---|---|--:|--:|--:|--:|--:|---|\n");
	for (size_t i = 0; i < NBENCH; i++) {
		const struct result *r = &res[i];
		fprintf(f, "| %s | %s | %llu | %s | %s | %s | %s | ", benches[i].name, benches[i].desc,
			(unsigned long long)r->insns, fmt_ns(a, r->ns[C_NATIVE]), fmt_ns(b, r->ns[C_INTERP]),
			fmt_ns(c, r->ns[C_JIT]), fmt_ns(d, r->ns[C_KERNEL]));
		if (r->bad[0])
			fprintf(f, "**MISMATCH**: %s |\n", r->bad);
		else
			fprintf(f, "0x%016llx |\n", (unsigned long long)r->r_native);
	}
	fprintf(f, "\nKernel overhead per run for an empty XDP program (`r0 = 2; exit`): ");
	if (kempty < 0)
		fprintf(f, "n/a — %s\n", kdown);
	else
		fprintf(f, "%s ns (the kernel reports whole ns)\n", fmt_ns(a, kempty));

	fprintf(f, "\n## Ratios and ns per executed BPF instruction\n\n");
	fprintf(f, "| program | interp/kernel | JIT/kernel | JIT/native | interp/native | interp ns/insn | JIT ns/insn | kernel ns/insn | native ns/insn |\n");
	fprintf(f, "|---|--:|--:|--:|--:|--:|--:|--:|--:|\n");
	for (size_t i = 0; i < NBENCH; i++) {
		const struct result *r = &res[i];
		char e[32], g[32], h[32], k[32];
		if (r->bad[0]) {
			fprintf(f, "| %s | MISMATCH | | | | | | | |\n", benches[i].name);
			continue;
		}
		fprintf(f, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", benches[i].name,
			fmt_ratio(a, r->ns[C_INTERP], r->ns[C_KERNEL]), fmt_ratio(b, r->ns[C_JIT], r->ns[C_KERNEL]),
			fmt_ratio(c, r->ns[C_JIT], r->ns[C_NATIVE]), fmt_ratio(d, r->ns[C_INTERP], r->ns[C_NATIVE]),
			fmt_per(e, r->ns[C_INTERP], r->insns), fmt_per(g, r->ns[C_JIT], r->insns),
			fmt_per(h, r->ns[C_KERNEL], r->insns), fmt_per(k, r->ns[C_NATIVE], r->insns));
	}
	{
		double gi = geomean(res, C_INTERP, 0, 1), gj = geomean(res, C_JIT, 0, 1);
		double gk = geomean(res, C_KERNEL, 0, 1), gn = geomean(res, C_NATIVE, 0, 1);
		char e[32], g[32], h[32], k[32];
#define GR(buf, x, y) (geomean(res, x, y, 0) < 0 ? "n/a" : (sprintf(buf, "%.2fx", geomean(res, x, y, 0)), buf))
#define GP(buf, x) (x < 0 ? "n/a" : (sprintf(buf, "%.3f", x), buf))
		fprintf(f, "| **geometric mean** | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			GR(a, C_INTERP, C_KERNEL), GR(b, C_JIT, C_KERNEL), GR(c, C_JIT, C_NATIVE),
			GR(d, C_INTERP, C_NATIVE), GP(e, gi), GP(g, gj), GP(h, gk), GP(k, gn));
#undef GR
#undef GP
	}

	/* The issue's target for the interpreter, stated plainly. */
	{
		double worst = -1;
		const char *wname = "";
		int all = 1;
		for (size_t i = 0; i < NBENCH; i++) {
			if (res[i].ns[C_INTERP] < 0 || !res[i].insns || res[i].bad[0]) {
				all = 0;
				continue;
			}
			double x = res[i].ns[C_INTERP] / res[i].insns;
			if (x > worst)
				worst = x, wname = benches[i].name;
		}
		fprintf(f, "\n**Interpreter target** (at most 1.5 ns per executed instruction on every loop; "
			"uBPF's switch interpreter is about 4.3 ns here): ");
		if (worst < 0)
			fprintf(f, "no figure (interpreter n/a).\n");
		else
			fprintf(f, "geometric mean %.3f ns, worst %.3f ns (%s) — %s%s.\n",
				geomean(res, C_INTERP, 0, 1), worst, wname, worst <= 1.5 ? "met" : "NOT met",
				all ? "" : " (some programs have no figure)");
	}

	/* Why cells are n/a: one line per column when every program shares the reason. */
	int header = 0;
	for (int c2 = 0; c2 < NCOL; c2++) {
		size_t nna = 0, same = 0;
		const char *first = NULL;
		for (size_t i = 0; i < NBENCH; i++)
			if (res[i].ns[c2] < 0 && res[i].why[c2][0]) {
				first = first ? first : res[i].why[c2];
				nna++, same += !strcmp(first, res[i].why[c2]);
			}
		if (nna && !header++)
			fprintf(f, "\n## n/a\n\n");
		if (nna == NBENCH && same == NBENCH) {
			fprintf(f, "- %s: %s\n", col_name[c2], first);
			continue;
		}
		for (size_t i = 0; i < NBENCH; i++)
			if (res[i].ns[c2] < 0 && res[i].why[c2][0])
				fprintf(f, "- %s, %s: %s\n", col_name[c2], benches[i].name, res[i].why[c2]);
	}

	fprintf(f, "\n## Skep JIT per-call overhead\n\n"
		"An empty program (`r0 = 0; exit`) on the JIT, called in a plain loop from C (best of %d "
		"rounds; the loop and the call included; skep_prog_run with r1..r5 = 0).\n\n| entry point | ns per call |\n|---|--:|\n", ROUNDS);
	for (int k = 0; k < NPC; k++)
		fprintf(f, "| %s | %s |\n", pc_name[k], fmt_ns(a, percall_ns[k]));
	if (percall_why[0])
		fprintf(f, "\nper-call n/a: %s\n", percall_why);

	fprintf(f, "\n## Skep JIT compile time\n\n"
		"| program size | load (validate + interpreter pre-decode) | JIT compile |\n|--:|--:|--:|\n");
	for (int k = 0; k < NCOMPILE; k++)
		fprintf(f, "| %zu insns | %s µs | %s |\n", compile_sizes[k], fmt_ns(a, compile_us[k][0]),
			compile_us[k][1] < 0 ? "n/a" : (sprintf(b, "%.1f µs", compile_us[k][1]), b));
	if (compile_why[0])
		fprintf(f, "\nJIT compile n/a: %s\n", compile_why);

	fprintf(f, "\n## Method\n\n"
		"Each progs/NAME.c is one `static __always_inline` C function over a 1 KiB input "
		"(plus 1 KiB of scratch), compiled three ways: clang -O2 -target bpf -mcpu=v3 into a "
		"plain memory program `u64 entry(u8 *mem, u64 len)` whose raw .text is Skep's bytecode "
		"(no relocations); the same clang into an XDP program that looks the 2 KiB buffer up "
		"in a one-entry array map (loaded with libbpf, map filled with the same input), run "
		"with BPF_PROG_TEST_RUN; and gcc -O2 (no -march) into a non-inlined native function "
		"whose buffer is hidden from the optimiser by an asm barrier before every call. "
		"Every memory index is masked (`& 1023`) in all three so the kernel verifier can prove "
		"it. The result of every engine is compared with native (the kernel's as a 32-bit fold); "
		"a mismatch is shown in the table and makes the run fail.\n\n"
		"User-space figures (native, Skep): the batch size is calibrated so that a round takes "
		"about %.0f ms; the figure is the best of %d rounds of wall time divided by the calls "
		"(including skep_prog_run_mem's own per-call cost). Kernel figures: the per-run duration "
		"the kernel reports for one BPF_PROG_TEST_RUN call with a repeat count sized to about "
		"%.0f ms per call (each such call also costs tens of ms outside the timed loop, hence few "
		"calls); the best of %d calls. The best rather than the median everywhere: noise (other processes, a virtual machine's neighbours) only ever adds time. The kernel's figure includes its test-run loop overhead, "
		"shown above for an empty program; ratios use the raw figures. Executed BPF instructions "
		"are counted by Skep's checked engine on Skep's bytecode; the kernel's program runs the "
		"same code plus a few instructions of map lookup, so its ns/insn uses the same count. "
		"The process is pinned to one CPU.\n\n"
		"JIT compile time: a synthetic straight-line mix (ALU64/ALU32, stack load/store, "
		"short forward branches) of the given size; the best of %d rounds of "
		"skep_prog_load, then of skep_prog_set_engine(JIT), which compiles at once.\n",
		ROUND_NS / 1e6, ROUNDS, KCALL_NS / 1e6, KROUNDS, ROUNDS);
}

int main(int argc, char **argv)
{
	const char *out = NULL, *toolchain = NULL;
	struct result res[NBENCH];
	char *text = NULL;
	size_t textlen = 0;
	int opt, cpu, bad = 0;
	cpu_set_t set;

	while ((opt = getopt(argc, argv, "d:o:t:")) != -1)
		switch (opt) {
		case 'd': dir = optarg; break;
		case 'o': out = optarg; break;
		case 't': toolchain = optarg; break;
		default:
			fprintf(stderr, "usage: %s -d DIR [-o FILE] [-t TOOLCHAIN]\n", argv[0]);
			return 2;
		}
	if (!dir) {
		fprintf(stderr, "usage: %s -d DIR [-o FILE] [-t TOOLCHAIN]\n", argv[0]);
		return 2;
	}
	cpu = sched_getcpu();
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof set, &set);
	fill_input(mem);

	fprintf(stderr, "bench: kernel empty program...\n");
	kernel_setup();
	for (size_t i = 0; i < NBENCH; i++) {
		struct result *r = &res[i];
		memset(r, 0, sizeof *r);
		for (int c = 0; c < NCOL; c++)
			r->ns[c] = -1;
		fprintf(stderr, "bench: %s\n", benches[i].name);
		call_native((void *)&benches[i], &r->r_native);
		r->ns[C_NATIVE] = time_calls(call_native, (void *)&benches[i]);
		run_skep(&benches[i], r);
		run_kernel(&benches[i], r);
		bad |= r->bad[0] != 0;
	}

	fprintf(stderr, "bench: per-call overhead\n");
	time_percall();
	fprintf(stderr, "bench: JIT compile time\n");
	time_compile();

	FILE *m = open_memstream(&text, &textlen);
	if (!m)
		return 1;
	report(m, res, toolchain, cpu);
	fprintf(stderr, "bench: map operations\n");
	bad |= bench_maps(m, dir);
	fprintf(stderr, "bench: uprobes\n");
	bad |= bench_uprobe(m, dir);
	fprintf(stderr, "bench: verifier\n");
	char top[4096];
	snprintf(top, sizeof top, "%s/..", dir);  /* dir is <build>/bench */
	bad |= bench_verifier(m, top);
	fclose(m);
	fputs(text, stdout);
	if (out) {
		FILE *f = fopen(out, "w");
		if (!f || fputs(text, f) < 0 || fclose(f)) {
			fprintf(stderr, "bench: cannot write %s: %s\n", out, strerror(errno));
			return 1;
		}
	}
	free(text);
	return bad;
}
