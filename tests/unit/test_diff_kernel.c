/* The kernel as the oracle: random programs (tests/lib/randprog.c) run in Skep's
 * interpreter, its checked engine and its JIT (when available) and in the kernel
 * (tests/lib/kernel.c); r0 and the data out must agree. Each program is one check.
 *
 *   SKEP_DIFF_N=3000     programs to run
 *   SKEP_DIFF_SEED=S     reproduce a run (the seed is printed at the start)
 *   SKEP_DIFF_FIRST=I    start at program I (with N=1: just that program)
 *   SKEP_DIFF_DIR=dir    where mismatching programs are saved as .case files
 *                        (default build/diff-kernel under the source tree)
 *
 * A saved case has the program as -- raw (with its disassembly as comments), the data
 * and the kernel's result, so it can be dropped into tests/cases as a regression. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "insn_macros.h"
#include "kernel.h"
#include "randprog.h"
#include "skep/prog.h"

#define DEFAULT_N 3000
#define TIME_CAP_S 150.0   /* stop early (and say so) rather than stall a test run */

static const struct { enum skep_engine e; const char *name; } engines[] = {
	{SKEP_ENGINE_INTERP, "interp"},
	{SKEP_ENGINE_CHECKED, "checked"},
	{SKEP_ENGINE_JIT, "jit"},
};
#define NENG 3

struct outcome {
	int rc;          /* 0 ran; else the error */
	uint64_t r0;
	uint8_t *mem;
	char err[512];
};

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);
	return v && *v ? strtoull(v, NULL, 0) : def;
}

static void print_hex(FILE *f, const char *indent, const uint8_t *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%02x%s", i % 16 ? "" : indent, m[i], i % 16 == 15 || i + 1 == n ? "\n" : " ");
	if (!n)
		fprintf(f, "%s(empty)\n", indent);
}

/* ------------------------------------------------------------------------------------
 * The wrapper itself, on hand-written programs whose result is known. */

static void kernel_selftest(void)
{
	struct kernel_info info;
	uint64_t r0;
	uint8_t m[16];
	for (int i = 0; i < 16; i++)
		m[i] = (uint8_t)(i + 1);

	struct skep_insn wide[] = {BPF_LD_IMM64(0, 0x8877665544332211ull), BPF_EXIT_INSN()};
	int rc = kernel_run_mem(wide, 3, m, 16, &r0, &info);
	CHECK(rc == KERNEL_OK && r0 == 0x8877665544332211ull, "kernel: 64-bit r0 from two runs",
	      "rc %d r0 %#" PRIx64 " (%s)", rc, r0, info.reason);

	/* r0 = *(u64 *)(r1 + 0) + r2; *(u8 *)(r1 + 3) = 0x7f */
	struct skep_insn mem[] = {BPF_LDX_MEM(BPF_DW, 0, 1, 0), BPF_ST_MEM(BPF_B, 1, 3, 0x7f),
				  BPF_ALU64_REG(BPF_ADD, 0, 2), BPF_EXIT_INSN()};
	rc = kernel_run_mem(mem, 4, m, 16, &r0, &info);
	CHECK(rc == KERNEL_OK && r0 == 0x0807060504030201ull + 16 && m[3] == 0x7f && m[4] == 5,
	      "kernel: data in, data out, r2 = length", "rc %d r0 %#" PRIx64 " m[3] %#x (%s)", rc, r0,
	      m[3], info.reason);

	/* a short buffer (XDP needs 14 bytes) still has its real length in r2 */
	struct skep_insn len[] = {BPF_MOV64_REG(0, 2), BPF_EXIT_INSN()};
	rc = kernel_run_mem(len, 2, m, 3, &r0, &info);
	CHECK(rc == KERNEL_OK && r0 == 3, "kernel: short data keeps its length", "rc %d r0 %" PRIu64, rc, r0);

	/* no data: r1 = 0 and r2 = 0 (not a pointer to an empty packet) */
	struct skep_insn none[] = {BPF_MOV64_REG(0, 1), BPF_ALU64_REG(BPF_OR, 0, 2), BPF_EXIT_INSN()};
	rc = kernel_run_mem(none, 3, NULL, 0, &r0, &info);
	CHECK(rc == KERNEL_OK && r0 == 0, "kernel: no data gives r1 = r2 = 0", "rc %d r0 %#" PRIx64 " (%s)",
	      rc, r0, info.reason);

	/* main: r1 = 5; call f; r0 += 1; exit.  f: r0 = r1 << 40; exit (its exit is not rewritten) */
	struct skep_insn call[] = {BPF_MOV64_IMM(1, 5), BPF_CALL_REL(2), BPF_ALU64_IMM(BPF_ADD, 0, 1),
				   BPF_EXIT_INSN(), BPF_MOV64_REG(0, 1), BPF_ALU64_IMM(BPF_LSH, 0, 40),
				   BPF_EXIT_INSN()};
	rc = kernel_run_mem(call, 7, m, 16, &r0, &info);
	CHECK(rc == KERNEL_OK && r0 == (5ull << 40) + 1, "kernel: bpf-to-bpf call, high half",
	      "rc %d r0 %#" PRIx64 " (%s)", rc, r0, info.reason);

	/* ld_abs goes through a socket filter and reads from the start of the data (big endian) */
	m[3] = 4;
	struct skep_insn abs[] = {BPF_LD_ABS(BPF_W, 1), BPF_EXIT_INSN()};
	rc = kernel_run_mem(abs, 2, m, 16, &r0, &info);
	CHECK(rc == KERNEL_OK && info.prog_type == KERNEL_PROG_SOCKET_FILTER && r0 == 0x02030405,
	      "kernel: ld_abs reads the data", "rc %d r0 %#" PRIx64 " (%s)", rc, r0, info.reason);

	/* atomics on the data: refused on the packet, so they run on a stack copy */
	for (int i = 0; i < 16; i++)
		m[i] = (uint8_t)(i + 1);
	struct skep_insn atom[] = {BPF_MOV64_IMM(2, 0x100), BPF_ATOMIC_OP(BPF_DW, BPF_ADD | BPF_FETCH, 1, 2, 8),
				   BPF_LDX_MEM(BPF_B, 0, 1, 9), BPF_ALU64_IMM(BPF_LSH, 0, 32),
				   BPF_ALU64_REG(BPF_OR, 0, 2), BPF_EXIT_INSN()};
	rc = kernel_run_mem(atom, 6, m, 16, &r0, &info);
	CHECK(rc == KERNEL_OK && info.stack_copy && r0 == (0x0bull << 32 | 0x100f0e0d0c0b0a09ull) &&
	      m[8] == 9 && m[9] == 11 && m[15] == 16, "kernel: atomics on the data via a stack copy",
	      "rc %d stack %d r0 %#" PRIx64 " m[9] %#x (%s)", rc, info.stack_copy, r0, m[9], info.reason);

	/* reading an uninitialised register: refused, with the verifier's reason */
	struct skep_insn bad[] = {BPF_MOV64_REG(0, 3), BPF_EXIT_INSN()};
	rc = kernel_run_mem(bad, 2, m, 16, &r0, &info);
	CHECK(rc == KERNEL_REFUSED && strstr(info.reason, "R3 !read_ok"), "kernel: refusal has the reason",
	      "rc %d reason '%s'", rc, info.reason);
}

/* ------------------------------------------------------------------------------------
 * Random programs. */

static int jit_off;            /* the JIT said it is not available */
static char jit_why[256];

/* One program run everywhere. */
struct trial {
	int krc;                  /* kernel_run_mem's status */
	struct kernel_info info;
	struct outcome k, s[NENG];
	int lrc;                  /* skep_prog_load */
	char lerr[512];
};

static void trial_free(struct trial *t)
{
	free(t->k.mem);
	for (int e = 0; e < NENG; e++)
		free(t->s[e].mem);
}

static int same(const struct outcome *a, const struct outcome *b, size_t len)
{
	return a->rc == 0 && b->rc == 0 && a->r0 == b->r0 && !memcmp(a->mem, b->mem, len);
}

/* Run in the kernel and, if it ran, in every Skep engine. Returns 1 if they disagree,
 * 0 if they agree or the kernel did not run it (see t->krc). */
static int trial_run(const struct skep_insn *insns, size_t n, const uint8_t *mem, size_t len,
		     struct trial *t)
{
	memset(t, 0, sizeof(*t));
	size_t ml = len ? len : 1;
	t->k.mem = malloc(ml);
	for (int e = 0; e < NENG; e++)
		t->s[e].mem = malloc(ml);
	if (!t->k.mem || !t->s[0].mem || !t->s[1].mem || !t->s[2].mem) {
		t->krc = -ENOMEM;
		return 0;
	}
	memcpy(t->k.mem, mem, len);
	t->krc = kernel_run_mem(insns, n, t->k.mem, len, &t->k.r0, &t->info);
	t->k.rc = t->krc;
	if (t->krc != KERNEL_OK)
		return 0;
	skep_prog *p = skep_prog_new();
	t->lrc = p ? skep_prog_load(p, insns, n) : -ENOMEM;
	snprintf(t->lerr, sizeof(t->lerr), "%s", p ? skep_prog_error(p) : "out of memory");
	int ok = t->lrc == 0;
	for (int e = 0; e < NENG && t->lrc == 0; e++) {
		struct outcome *o = &t->s[e];
		if (engines[e].e == SKEP_ENGINE_JIT && jit_off) {
			o->rc = -EOPNOTSUPP;
			continue;
		}
		memcpy(o->mem, mem, len);
		o->rc = skep_prog_set_engine(p, engines[e].e);
		if (o->rc == 0)
			o->rc = skep_prog_run_mem(p, len ? o->mem : NULL, len, &o->r0);
		snprintf(o->err, sizeof(o->err), "%s", o->rc ? skep_prog_error(p) : "");
		if (engines[e].e == SKEP_ENGINE_JIT && o->rc == -EOPNOTSUPP) {
			jit_off = 1;
			snprintf(jit_why, sizeof(jit_why), "%s", o->err);
			continue;
		}
		ok &= same(&t->k, o, len);
	}
	skep_prog_free(p);
	return !ok;
}

/* Shrink a disagreeing program: turn instructions into "goto +0" while the kernel still
 * accepts it (which also proves no register is read before it is written) and Skep still
 * disagrees, then drop those and fix the jump offsets. */
static int is_nop(const struct skep_insn *in)
{
	return in->code == (BPF_JMP | BPF_JA) && !in->off && !in->imm;
}

static size_t compact(struct skep_insn *v, size_t n)
{
	size_t *nx = malloc((n + 1) * sizeof(*nx)), k = 0;
	if (!nx)
		return n;
	for (size_t i = 0; i <= n; i++) {
		nx[i] = k;
		if (i < n && !is_nop(&v[i]))
			k++;
	}
	for (size_t i = 0; i < n; i++) {
		struct skep_insn *in = &v[i];
		uint8_t cls = in->code & 7;
		long t;
		if (is_nop(in))
			continue;
		if ((in->code == (BPF_JMP | BPF_CALL) && in->src == BPF_PSEUDO_CALL) ||
		    (isa_is_lddw(in->code) && in->src == BPF_PSEUDO_FUNC) || in->code == (BPF_JMP32 | BPF_JA)) {
			t = (long)i + 1 + in->imm;
			if (t >= 0 && (size_t)t <= n)
				in->imm = (int32_t)((long)nx[t] - (long)nx[i] - 1);
		} else if ((cls == BPF_JMP || cls == BPF_JMP32) && BPF_OP(in->code) != BPF_CALL &&
			   BPF_OP(in->code) != BPF_EXIT) {
			t = (long)i + 1 + in->off;
			if (t >= 0 && (size_t)t <= n)
				in->off = (int16_t)((long)nx[t] - (long)nx[i] - 1);
		}
		if (isa_is_lddw(in->code))
			i++;
	}
	for (size_t i = 0, j = 0; i < n; i++) {
		if (!is_nop(&v[i]) || (i > 0 && isa_is_lddw(v[i - 1].code)))
			v[j++] = v[i];
	}
	free(nx);
	return k;
}

static size_t reduce(struct skep_insn *v, size_t n, const uint8_t *mem, size_t len)
{
	struct skep_insn nop = BPF_JMP_A(0);
	for (int changed = 1, rounds = 0; changed && rounds < 4; rounds++) {
		changed = 0;
		for (size_t i = 0; i < n; i++) {
			int w = isa_is_lddw(v[i].code) ? 2 : 1;
			/* stack stores stay: the kernel lets root read uninitialised stack, so
			 * dropping one could make the result garbage instead of smaller */
			int stack_store = (BPF_CLASS(v[i].code) == BPF_ST || (BPF_CLASS(v[i].code) == BPF_STX &&
					   BPF_MODE(v[i].code) == BPF_MEM)) && v[i].dst == 10;
			/* and so does the "r0 = r0" randprog puts after a 32-bit cmpxchg */
			int zext_r0 = v[i].code == (BPF_ALU64 | BPF_MOV | BPF_X) && !v[i].dst && !v[i].src;
			if (v[i].code == (BPF_JMP | BPF_EXIT) || is_nop(&v[i]) || stack_store || zext_r0) {
				i += (size_t)w - 1;
				continue;
			}
			struct skep_insn save[2] = {v[i], w == 2 ? v[i + 1] : v[i]};
			for (int j = 0; j < w; j++)
				v[i + (size_t)j] = nop;
			struct trial t;
			int bad = trial_run(v, n, mem, len, &t);
			trial_free(&t);
			if (bad)
				changed = 1;
			else
				for (int j = 0; j < w; j++)
					v[i + (size_t)j] = save[j];
			i += (size_t)w - 1;
		}
	}
	/* Dropping the nops changes where the kernel verifier saves states, which can hide a
	 * disagreement that comes from the kernel's pruning: keep the nops then. */
	struct skep_insn *keep = malloc(n * sizeof(*keep));
	if (!keep)
		return n;
	memcpy(keep, v, n * sizeof(*keep));
	size_t m = compact(v, n);
	struct trial t;
	int bad = trial_run(v, m, mem, len, &t);
	trial_free(&t);
	if (!bad) {
		memcpy(v, keep, n * sizeof(*keep));
		m = n;
	}
	free(keep);
	return m;
}

static void print_outcome(FILE *f, const char *name, const struct outcome *o, size_t len)
{
	if (o->rc) {
		fprintf(f, "  %-8s error %d: %s\n", name, o->rc, o->err);
		return;
	}
	fprintf(f, "  %-8s r0 = %#" PRIx64 " (%" PRId64 ")\n", name, o->r0, (int64_t)o->r0);
	print_hex(f, "           ", o->mem, len);
}

static void print_prog(FILE *f, const struct skep_insn *insns, size_t n)
{
	char *text = skep_disasm_text(insns, n, SKEP_DISASM_INDEX | SKEP_DISASM_LABELS);
	fprintf(f, "%s", text ? text : "(disassembly failed)\n");
	free(text);
}

/* Save as a .case: the program as raw bytes with the disassembly as comments, the data
 * and what the kernel gave. Returns the path (static) or NULL. */
static const char *save_case(uint64_t seed, uint64_t idx, const char *tag,
			     const struct skep_insn *insns, size_t n, const uint8_t *mem, size_t len,
			     const struct outcome *k)
{
	static char path[1024];
	char dir[900];
	const char *d = getenv("SKEP_DIFF_DIR");
	if (d && *d)
		snprintf(dir, sizeof(dir), "%s", d);
	else {
		snprintf(dir, sizeof(dir), "%s/build", t_root());
		mkdir(dir, 0777);
		snprintf(dir, sizeof(dir), "%s/build/diff-kernel", t_root());
	}
	mkdir(dir, 0777);
	snprintf(path, sizeof(path), "%s/seed%" PRIu64 "-%" PRIu64 "%s.case", dir, seed, idx, tag);
	FILE *f = fopen(path, "w");
	if (!f)
		return NULL;
	fprintf(f, "# Skep and the kernel disagree on this random program\n"
		   "# (SKEP_DIFF_SEED=%" PRIu64 " SKEP_DIFF_FIRST=%" PRIu64 " SKEP_DIFF_N=1).\n"
		   "# Expected values are the kernel's.\n-- raw\n", seed, idx);
	for (size_t i = 0; i < n;) {
		char buf[160];
		int k2 = skep_insn_disasm(&insns[i], n - i, buf, sizeof(buf));
		if (k2 < 1)
			k2 = 1;
		for (int j = 0; j < k2 && i + (size_t)j < n; j++) {
			const struct skep_insn *in = &insns[i + (size_t)j];
			uint32_t imm = (uint32_t)in->imm;
			uint16_t off = (uint16_t)in->off;
			fprintf(f, "%02x %02x %02x %02x %02x %02x %02x %02x", in->code, in->src << 4 | in->dst,
				off & 0xff, off >> 8, imm & 0xff, (imm >> 8) & 0xff, (imm >> 16) & 0xff, imm >> 24);
			fprintf(f, j ? "\n" : "  # %zu: %s\n", i, buf);
		}
		i += (size_t)k2;
	}
	if (len) {
		fprintf(f, "-- mem\n");
		print_hex(f, "", mem, len);
	}
	fprintf(f, "-- result\n%#" PRIx64 "\n", k->r0);
	if (len) {
		fprintf(f, "-- mem-out\n");
		print_hex(f, "", k->mem, len);
	}
	fclose(f);
	return path;
}

/* Which ops the generator produced, to check it covers what it promises. */
static unsigned op_seen[OP__COUNT];

static void count_ops(const struct randprog *rp)
{
	for (size_t i = 0; i < rp->n; i++) {
		enum isa_op op = isa_decode(&rp->insns[i]);
		if (op < OP__COUNT)
			op_seen[op]++;
		if (isa_is_lddw(rp->insns[i].code))
			i++;
	}
}

/* Ops a memory program without helpers, maps or packet loads cannot use. */
static int op_expected(const char *name)
{
	return strcmp(name, "CALL") && strcmp(name, "CALL_KFUNC") && strncmp(name, "LDDW_", 5) &&
	       strncmp(name, "LDABS", 5) && strncmp(name, "LDIND", 5);
}

static void report(const char *name, uint64_t seed, uint64_t idx, const struct skep_insn *insns,
		   size_t n, const uint8_t *mem, size_t len, const struct trial *t, const char *tag)
{
	if (t->lrc)
		printf("  skep_prog_load: %d %s\n", t->lrc, t->lerr);
	print_prog(stdout, insns, n);
	printf("  data in:\n");
	print_hex(stdout, "           ", mem, len);
	print_outcome(stdout, "kernel", &t->k, len);
	for (int e = 0; e < NENG && t->lrc == 0; e++)
		if (!(engines[e].e == SKEP_ENGINE_JIT && jit_off))
			print_outcome(stdout, engines[e].name, &t->s[e], len);
	const char *path = save_case(seed, idx, tag, insns, n, mem, len, &t->k);
	printf("  saved as %s\n", path ? path : "(could not save)");
	(void)name;
}

int main(void)
{
	char why[256];
	if (!kernel_available(why, sizeof(why))) {
		t_skip("diff-kernel", "the kernel cannot be the oracle here: %s", why);
		return t_done();
	}
	kernel_selftest();

	uint64_t seed = env_u64("SKEP_DIFF_SEED", (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20));
	uint64_t n = env_u64("SKEP_DIFF_N", DEFAULT_N), first = env_u64("SKEP_DIFF_FIRST", 0);
	printf("diff-kernel: seed %" PRIu64 ", programs %" PRIu64 "..%" PRIu64
	       " (reproduce with SKEP_DIFF_SEED=%" PRIu64 ")\n", seed, first, first + n - 1, seed);
	fflush(stdout);

	double t0 = now();
	uint64_t ran = 0, refused = 0, mismatches = 0, insns = 0, kerr = 0, noperm = 0, stacked = 0;
	for (uint64_t idx = first; idx < first + n; idx++) {
		if (now() - t0 > TIME_CAP_S) {
			printf("diff-kernel: stopped after %" PRIu64 " programs (%.0f s cap)\n", idx - first, TIME_CAP_S);
			break;
		}
		struct randprog rp;
		if (randprog_gen(seed, idx, &rp)) {
			CHECK(0, "diff-kernel: generate", "out of memory");
			break;
		}
		count_ops(&rp);
		insns += rp.n;
		char name[96];
		snprintf(name, sizeof(name), "diff-kernel seed %" PRIu64 " #%" PRIu64, seed, idx);
		struct trial t;
		int bad = trial_run(rp.insns, rp.n, rp.mem, rp.mem_len, &t);
		if (t.krc == KERNEL_REFUSED) {
			if (++refused <= 3) {
				printf("kernel refused %s: %s\n", name, t.info.reason);
				print_prog(stdout, rp.insns, rp.n);
			}
		} else if (t.krc == KERNEL_NOPERM) {
			noperm++;
			t_skip(name, "%s", t.info.reason);
		} else if (t.krc) {
			kerr++;
			CHECK(0, name, "the kernel run failed: %d %s", t.krc, t.info.reason);
		} else {
			ran++;
			stacked += (uint64_t)t.info.stack_copy;
			if (bad && ++mismatches <= 5) {
				printf("FAIL %s: Skep and the kernel disagree\n", name);
				report(name, seed, idx, rp.insns, rp.n, rp.mem, rp.mem_len, &t, "");
				/* the most useful output: the smallest program that still disagrees */
				struct skep_insn *v = malloc(rp.n * sizeof(*v));
				size_t m = v ? (memcpy(v, rp.insns, rp.n * sizeof(*v)), reduce(v, rp.n, rp.mem, rp.mem_len)) : 0;
				if (m) {
					struct trial tr;
					trial_run(v, m, rp.mem, rp.mem_len, &tr);
					printf("  reduced to %zu instructions:\n", m);
					report(name, seed, idx, v, m, rp.mem, rp.mem_len, &tr, "-min");
					trial_free(&tr);
				}
				free(v);
			} else if (bad)
				printf("FAIL %s: Skep and the kernel disagree (details not shown)\n", name);
			/* one check per program; the details were printed above */
			if (!bad)
				t_result(1, name, "%s", "");
			else
				t_failed++;
		}
		trial_free(&t);
		randprog_free(&rp);
	}
	double dt = now() - t0;
	uint64_t total = ran + refused + kerr + noperm;
	printf("diff-kernel: %" PRIu64 " programs (%" PRIu64 " insns on average; %" PRIu64 " with atomics on "
	       "the data, run on a stack copy in the kernel) in %.1f s: %" PRIu64 " agree, %" PRIu64
	       " disagree, %" PRIu64 " refused by the kernel verifier; engines: interp, checked%s%s%s\n",
	       total, total ? insns / total : 0, stacked, dt, ran - mismatches, mismatches, refused,
	       jit_off ? " (jit not available: " : ", jit", jit_off ? jit_why : "", jit_off ? ")" : "");
	/* refused programs are not passes: count them as skipped, and more than 1% is a bug */
	t_skipped += (int)refused;
	CHECK(refused * 100 <= total, "diff-kernel: the kernel verifier accepts the generated programs",
	      "%" PRIu64 " of %" PRIu64 " refused (examples above)", refused, total);
	if (total >= 1000) {
		int missing = 0;
		for (int op = 0; op < OP__COUNT; op++)
			if (op_expected(isa_ops[op].name) && !op_seen[op]) {
				printf("diff-kernel: the generator never produced %s\n", isa_ops[op].name);
				missing++;
			}
		CHECK(!missing, "diff-kernel: the generator covers every op a memory program can use",
		      "%d ops never generated", missing);
	}
	return t_done();
}
