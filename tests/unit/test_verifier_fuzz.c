/* Soundness and agreement of the verifier, by fuzzing.
 *
 * Random XDP programs (packet bounds checks with every comparison, accesses near the
 * proven range, variable offsets from packet bytes, stack spills and fills, context
 * loads, ALU on every op, forward branches and small counted loops) and mutations of
 * the accepted case programs are verified; every program Skep accepts then runs on the
 * checked interpreter over random packets, and must neither fault nor hit the
 * instruction limit. The context and packet live below 4 GiB (MAP_32BIT) so xdp_md's
 * 32-bit data/data_end fields hold real pointers, as the kernel's rewrite would.
 *
 * Agreement: the same programs go through the kernel's verifier (when bpf() works):
 * a program Skep accepts and the kernel refuses fails the test; programs the kernel
 * accepts and Skep refuses are counted and a few listed.
 *
 * Mutations: of every XDP case program (maps created in Skep and in the kernel), and of
 * the XDP programs of the objects clang built (build/objects: soundness only, their
 * maps live in Skep).
 *
 * Kernel loads cost ~4 ms each, so only a sample goes to the kernel's verifier: one in
 * 8 of the programs Skep accepts (the safety question) and one in 64 of those it
 * refuses (the precision question), at most SKEP_VERIFIER_FUZZ_KMAX loads (default 3000).
 *
 * SKEP_VERIFIER_FUZZ_N sets the number of random programs (default 100000),
 * SKEP_VERIFIER_FUZZ_SEED the seed, SKEP_VERIFIER_FUZZ_SECONDS a time limit (the
 * fuzz/ target runs millions this way), SKEP_VERIFIER_FUZZ_DEBUG=1 lists the maps of the
 * objects and of a failing program. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cases.h"
#include "check.h"
#include "insn_macros.h"
#include "kernel.h"
#include "kmap.h"
#include "skep/map.h"
#include "skep/object.h"
#include "skep/prog.h"
#include "skep/testrun.h"
#include "skep/verifier.h"

static uint64_t rng_state;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}
static int rn(int n) { return (int)(rnd() % (uint64_t)n); }

#define MAXI 200
struct gen {
	struct skep_insn in[MAXI];
	int n;
	int range;   /* bytes from r2 the enclosing checks prove (the generator's guess) */
	unsigned written;  /* stack slots written whole (on every path: only at depth 0) */
};
static void emit(struct gen *g, struct skep_insn i)
{
	if (g->n < MAXI - 4)
		g->in[g->n++] = i;
}

static const uint8_t alu_ops[] = {BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR, BPF_AND, BPF_LSH,
				  BPF_RSH, BPF_MOD, BPF_XOR, BPF_ARSH, BPF_MOV};
static const uint8_t jmp_ops[] = {BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET, BPF_JNE, BPF_JSGT,
				  BPF_JSGE, BPF_JLT, BPF_JLE, BPF_JSLT, BPF_JSLE};
static const int32_t imms[] = {0, 1, 2, 3, 4, 7, 8, 13, 14, 15, 16, 31, 32, 63, 64, 255, 256,
			       -1, -2, -8, -64, 0x7fffffff, (int32_t)0x80000000, 0xffff};

static int32_t rimm(void) { return rn(4) ? imms[rn(sizeof imms / sizeof imms[0])] : (int32_t)rnd(); }

/* registers: r2 = data, r3 = data_end (kept), r4..r9 and r0/r1 scratch */
static int scratch(void) { static const int r[] = {0, 5, 6, 7, 8, 9, 0, 6}; return r[rn(8)]; }

static void gen_block(struct gen *g, int depth, int len);

static void gen_one(struct gen *g, int depth)
{
	int d = scratch(), s = scratch();
	switch (rn(14)) {
	case 0: case 1: {   /* alu */
		uint8_t op = alu_ops[rn(sizeof alu_ops)];
		uint8_t cls = rn(3) ? BPF_ALU64 : BPF_ALU;
		int32_t imm = rimm();
		if ((op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH) && rn(4))
			imm = rn(cls == BPF_ALU64 ? 64 : 32);
		if (rn(2))
			emit(g, BPF_RAW_INSN(cls | op | BPF_K, d, 0, 0, imm));
		else
			emit(g, BPF_RAW_INSN(cls | op | BPF_X, d, s, 0, 0));
		break;
	}
	case 2:   /* constant */
		emit(g, BPF_MOV64_IMM(d, rimm()));
		break;
	case 3: { /* bounds check: r4 = data + N; if r4 op end goto skip; accesses */
		int n = rn(40);
		emit(g, BPF_MOV64_REG(4, 2));
		emit(g, BPF_ALU64_IMM(BPF_ADD, 4, n));
		static const uint8_t cmp[] = {BPF_JGT, BPF_JGE, BPF_JLT, BPF_JLE};
		uint8_t op = cmp[rn(4)];
		int at = g->n;
		if (rn(2))
			emit(g, BPF_JMP_REG(op, 4, 3, 0));
		else
			emit(g, BPF_JMP_REG(op, 3, 4, 0));
		int save = g->range;
		/* the fall-through of "> / >=" and the target of "< / <=" are in bounds; the
		 * block is the fall-through, so the generator proves something half the time */
		if ((g->in[at].dst == 4) == (op == BPF_JGT || op == BPF_JGE))
			g->range = n > g->range ? n : g->range;
		gen_block(g, depth + 1, 1 + rn(4));
		g->range = save;
		g->in[at].off = (int16_t)(g->n - at - 1);
		break;
	}
	case 4: case 5: { /* packet access, mostly inside what is proven */
		static const uint8_t sz[] = {BPF_B, BPF_H, BPF_W, BPF_DW};
		int base = rn(8) ? 2 : 4;
		uint8_t z = sz[rn(4)];
		int bytes = z == BPF_B ? 1 : z == BPF_H ? 2 : z == BPF_W ? 4 : 8;
		if (g->range < bytes && rn(8))
			break;   /* unproven accesses are refusals: keep them rare */
		int off = rn(10) && g->range >= bytes ? rn(g->range - bytes + 1) : rn(44) - 2;
		if (rn(3))
			emit(g, BPF_LDX_MEM(z, d, base, off));
		else
			emit(g, BPF_STX_MEM(z, base, s, off));
		break;
	}
	case 6: { /* variable offset from a packet byte */
		if (g->range < 16 && rn(8))
			break;
		emit(g, BPF_LDX_MEM(BPF_B, 5, 2, rn(16)));
		emit(g, BPF_ALU64_IMM(BPF_AND, 5, rn(2) ? 15 : rimm()));
		emit(g, BPF_MOV64_REG(6, 2));
		emit(g, BPF_ALU64_REG(BPF_ADD, 6, 5));
		emit(g, BPF_MOV64_REG(7, 6));
		emit(g, BPF_ALU64_IMM(BPF_ADD, 7, rn(12)));
		int at = g->n;
		emit(g, BPF_JMP_REG(BPF_JGT, 7, 3, 0));
		emit(g, BPF_LDX_MEM(BPF_B, 0, 6, rn(12)));
		g->in[at].off = (int16_t)(g->n - at - 1);
		break;
	}
	case 7: { /* stack */
		int slot = rn(8), off = -8 * (1 + slot);
		static const uint8_t sz[] = {BPF_B, BPF_H, BPF_W, BPF_DW};
		uint8_t z = sz[rn(4)];
		if (!rn(8))
			off += rn(8);   /* now and then misaligned */
		if (rn(2) || !(g->written & (1u << slot))) {
			if (rn(2))
				emit(g, BPF_STX_MEM(z, 10, s, off));
			else
				emit(g, BPF_ST_MEM(z, 10, off, rimm()));
			if (z == BPF_DW && !depth && off == -8 * (1 + slot))
				g->written |= 1u << slot;
		} else {
			emit(g, BPF_LDX_MEM(z, d, 10, off));
		}
		break;
	}
	case 8: { /* context */
		static const int offs[] = {12, 16, 12, 16, 12, 16, 2, 20};
		if (d == 2 || d == 3)
			break;
		emit(g, BPF_LDX_MEM(rn(8) ? BPF_W : BPF_B, d, 1, offs[rn(8)]));
		break;
	}
	case 9: case 10: { /* if/else over a block */
		if (depth > 3)
			break;
		uint8_t op = jmp_ops[rn(sizeof jmp_ops)];
		uint8_t cls = rn(3) ? BPF_JMP : BPF_JMP32;
		int at = g->n;
		if (rn(2))
			emit(g, BPF_RAW_INSN(cls | op | BPF_K, d, 0, 0, rimm()));
		else
			emit(g, BPF_RAW_INSN(cls | op | BPF_X, d, s, 0, 0));
		gen_block(g, depth + 1, 1 + rn(4));
		g->in[at].off = (int16_t)(g->n - at - 1);
		break;
	}
	case 11: { /* counted loop over r8 */
		if (depth > 1)
			break;
		emit(g, BPF_MOV64_IMM(8, 0));
		int head = g->n;
		gen_block(g, depth + 2, 1 + rn(3));
		emit(g, BPF_ALU64_IMM(BPF_ADD, 8, 1));
		emit(g, BPF_JMP_IMM(BPF_JLT, 8, 1 + rn(6), 0));
		g->in[g->n - 1].off = (int16_t)(head - g->n);
		break;
	}
	case 12: /* pointer moves */
		emit(g, BPF_MOV64_REG(4, rn(2) ? 2 : 10));
		emit(g, BPF_ALU64_IMM(BPF_ADD, 4, rn(2) ? rn(16) : -8 * (1 + rn(4))));
		break;
	default: /* movsx, neg, byte swaps */
		if (rn(2))
			emit(g, BPF_MOVSX64_REG(d, s, rn(2) ? 8 : 16));
		else
			emit(g, BPF_ENDIAN(rn(2) ? BPF_TO_BE : BPF_TO_LE, d, rn(2) ? 16 : 32));
		break;
	}
}

static void gen_block(struct gen *g, int depth, int len)
{
	for (int i = 0; i < len; i++)
		gen_one(g, depth);
}

static void gen_prog(struct gen *g)
{
	g->n = 0;
	g->range = 0;
	g->written = 0;
	emit(g, BPF_LDX_MEM(BPF_W, 2, 1, 0));
	emit(g, BPF_LDX_MEM(BPF_W, 3, 1, 4));
	for (int r = 0; r < 10; r++)
		if (r != 2 && r != 3 && r != 1)
			emit(g, BPF_MOV64_IMM(r, rn(8) ? rn(64) : rimm()));
	emit(g, BPF_MOV64_REG(4, 2));
	gen_block(g, 0, 5 + rn(25));
	if (rn(4))
		emit(g, BPF_MOV64_IMM(0, 2));
	emit(g, BPF_EXIT_INSN());
}

/* ---- running on the checked engine ---- */

#define PKT_MAX 64
struct arena {
	uint8_t *base;      /* below 4 GiB */
	uint32_t *ctx;      /* 6 u32: data, data_end, data_meta, ifindex, rxq, egress */
	uint8_t *pkt;
};

/* A program that tail-calls (a PROG_ARRAY of XDP programs) runs as an XDP program
 * through a test run: the targets expect the real XDP context. */
static bool uses_prog_array(const struct skep_insn *in, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (in[i].code == 0x18 && in[i].src == 1) {
			skep_map *m = skep_map_by_id((uint32_t)in[i].imm);
			if (m && skep_map_type(m) == SKEP_MAP_TYPE_PROG_ARRAY)
				return true;
		}
	return false;
}

static int run_test_xdp(const struct skep_insn *insns, size_t n, char *why, size_t whylen)
{
	skep_prog *p = skep_prog_new();
	int rc = 0;
	if (!p)
		return -ENOMEM;
	if ((rc = skep_prog_set_type(p, 6)) || (rc = skep_prog_load(p, insns, n)) ||
	    (rc = skep_prog_set_engine(p, SKEP_ENGINE_CHECKED))) {
		snprintf(why, whylen, "load as xdp: %s", skep_prog_error(p));
		skep_prog_free(p);
		return rc;
	}
	skep_prog_set_insn_limit(p, 100000);
	for (int run = 0; run < 4 && !rc; run++) {
		uint8_t pkt[PKT_MAX];
		uint32_t len = 14 + (uint32_t)rn(PKT_MAX - 14 + 1);
		for (uint32_t i = 0; i < len; i++)
			pkt[i] = (uint8_t)rnd();
		struct skep_test_run_opts o;
		memset(&o, 0, sizeof o);
		o.data_in = pkt;
		o.data_size_in = len;
		rc = skep_prog_test_run(p, &o);
		if (rc)
			snprintf(why, whylen, "test run %d (packet %u bytes): %s", run, len, skep_prog_error(p));
	}
	skep_prog_free(p);
	return rc;
}

static int run_checked(const struct skep_insn *insns, size_t n, struct arena *a, char *why, size_t whylen)
{
	if (uses_prog_array(insns, n))
		return run_test_xdp(insns, n, why, whylen);
	skep_prog *p = skep_prog_new();
	int rc = 0;
	if (!p)
		return -ENOMEM;
	if ((rc = skep_prog_load(p, insns, n)) || (rc = skep_prog_set_engine(p, SKEP_ENGINE_CHECKED))) {
		snprintf(why, whylen, "load: %s", skep_prog_error(p));
		skep_prog_free(p);
		return rc;
	}
	skep_prog_set_insn_limit(p, 100000);
	for (int run = 0; run < 4 && !rc; run++) {
		size_t len = (size_t)rn(PKT_MAX + 1);
		uint8_t *pkt = a->pkt + (PKT_MAX - len);   /* end at the region's end: overruns fault */
		for (size_t i = 0; i < len; i++)
			pkt[i] = (uint8_t)rnd();
		a->ctx[0] = (uint32_t)(uintptr_t)pkt;
		a->ctx[1] = (uint32_t)(uintptr_t)(pkt + len);
		a->ctx[2] = (uint32_t)(uintptr_t)pkt;
		a->ctx[3] = 1, a->ctx[4] = 0, a->ctx[5] = 0;
		struct skep_region regs[2] = {{a->ctx, 24, 0}, {pkt, len, 1}};
		struct skep_run_args args;
		memset(&args, 0, sizeof args);
		args.r[0] = (uint64_t)(uintptr_t)a->ctx;
		args.regions = regs;
		args.nregions = len ? 2 : 1;
		uint64_t r0;
		rc = skep_prog_run(p, &args, &r0);
		if (rc)
			snprintf(why, whylen, "run %d (packet %zu bytes): %s", run, len, skep_prog_error(p));
	}
	skep_prog_free(p);
	return rc;
}

static void dump(const struct skep_insn *in, size_t n)
{
	char *t = skep_disasm_text(in, n, SKEP_DISASM_INDEX);
	if (t)
		printf("%s", t);
	free(t);
}

struct stats {
	long programs, accepted, runs_ok, kernel_checked, skep_only, kernel_only, no_helper, kernel_errors;
	long kernel_budget;
	int kernel;
};

/* Maps of a program, for the kernel: map ids (Skep) to fds (kernel) in lddw imm. */
struct kmaps {
	int n;
	int32_t skep_id[8];
	int fd[8];
};

static void check_prog(const char *name, struct skep_insn *in, size_t n, struct arena *a, struct stats *st,
		       int kernel_sample, const struct kmaps *km)
{
	static char log[8192];
	/* a tenth of the budget: these programs are small, and loops that need more are
	 * refusals either way (the kernel's verdict is then counted, not failed) */
	struct skep_verify_opts o = {.sz = sizeof o, .prog_type = 6, .log_level = 0, .insn_limit = 100000};
	struct skep_verify_result r;
	if (skep_verify(in, n, &o, &r)) {
		CHECK(0, name, "skep_verify failed");
		return;
	}
	st->programs++;
	if (!r.accepted && getenv("SKEP_VERIFIER_FUZZ_REASONS"))
		printf("reason: %s\n", strchr(r.msg, ':') ? strchr(r.msg, ':') + 2 : r.msg);
	if (r.accepted) {
		st->accepted++;
		char why[600];
		int rc = run_checked(in, n, a, why, sizeof why);
		if (rc == -ENOSYS) {
			/* a helper the runtime does not have: refused at run time, as designed */
			st->no_helper++;
			st->runs_ok++;
		} else if (rc) {
			CHECK(0, name, "accepted program failed on the checked engine: %s", why);
			dump(in, n);
			for (size_t i = 0; i + 1 < n && getenv("SKEP_VERIFIER_FUZZ_DEBUG"); i++)
				if (in[i].code == 0x18 && (in[i].src == 1 || in[i].src == 2)) {
					struct skep_map_info mi;
					skep_map *sm = skep_map_by_id((uint32_t)in[i].imm);
					if (sm && !skep_map_get_info(sm, &mi))
						printf("  insn %zu: map %d '%s' type %u value %u flags %#x frozen %u\n", i,
						       in[i].imm, mi.name, mi.type, mi.value_size, mi.map_flags, mi.frozen);
					else
						printf("  insn %zu: map %d not found\n", i, in[i].imm);
				}
		} else {
			st->runs_ok++;
		}
	}
	/* the sample: kernel_sample is 1 in how many (0: never) */
	int every = r.accepted ? kernel_sample : kernel_sample * 8;
	if (st->kernel && kernel_sample && st->kernel_budget > 0 && rn(every) == 0) {
		st->kernel_budget--;
		struct skep_insn *kin = in;
		if (km && km->n) {
			kin = malloc(sizeof *kin * n);
			memcpy(kin, in, sizeof *kin * n);
			for (size_t i = 0; i + 1 < n; i++)
				if (kin[i].code == 0x18 && kin[i].src == 1)
					for (int m = 0; m < km->n; m++)
						if (kin[i].imm == km->skep_id[m])
							kin[i].imm = km->fd[m];
		}
		int fd = kernel_prog_load(6, kin, n, log, sizeof log);
		if (kin != in)
			free(kin);
		int kacc = fd >= 0;
		if (fd >= 0)
			close(fd);
		/* only the verifier's refusals count: EACCES, EINVAL, E2BIG with a reason in
		 * the log (the JIT's memory limit, hit by loading thousands of programs fast,
		 * gives EPERM or ENOMEM after a successful verification) */
		if (fd < 0 && fd != -EACCES && fd != -EINVAL && fd != -E2BIG) {
			st->kernel_errors++;
			skep_verify_result_free(&r);
			return;
		}
		st->kernel_checked++;
		if (r.accepted && !kacc) {
			st->skep_only++;
			/* the reason: the line before the statistics */
			char *stats = strstr(log, "\nprocessed ");
			if (stats)
				*stats = 0;
			char *last = strrchr(log, '\n');
			CHECK(0, name, "Skep accepts, the kernel refuses: %s", last ? last + 1 : log);
			dump(in, n);
		} else if (!r.accepted && kacc) {
			if (st->kernel_only++ < 5) {
				printf("note %s: the kernel accepts, Skep refuses: %s\n", name, r.msg);
				if (getenv("SKEP_TEST_VERBOSE"))
					dump(in, n);
			}
		}
	}
	skep_verify_result_free(&r);
}

static void mutate_one(struct skep_insn *mut, size_t n)
{
	size_t i = (size_t)rn((int)n);
	switch (rn(6)) {
	case 0: mut[i].off = (int16_t)(mut[i].off + rn(5) - 2); break;
	case 1: mut[i].imm = mut[i].imm + rn(9) - 4; break;
	case 2: mut[i].src = (uint8_t)rn(11); break;
	case 3: mut[i].dst = (uint8_t)rn(11); break;
	case 4: { /* swap two instructions */
		size_t j = (size_t)rn((int)n);
		struct skep_insn t = mut[i];
		mut[i] = mut[j];
		mut[j] = t;
		break;
	}
	default: /* another opcode of the same class */
		mut[i].code = (uint8_t)((mut[i].code & 0x07) | (rn(16) << 4) | (mut[i].code & 0x08));
		break;
	}
}

/* Mutations of the XDP case programs: one to three fields changed. Maps of the case
 * are created in Skep (programs name them by skep_map_id) and in the kernel. */
static const struct { const char *name; uint32_t type; } map_types[] = {
	{"hash", 1}, {"array", 2}, {"percpu_hash", 5}, {"percpu_array", 6}, {"lru_hash", 9},
	{"queue", 22}, {"stack", 23}, {"ringbuf", 27},
};

static int case_maps(char *sec, skep_map **maps, struct kmaps *km, int kernel)
{
	int n = 0;
	for (char *save = NULL, *ln = strtok_r(sec, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
		char name[32];
		unsigned key = 0, value = 0, entries = 0;
		if (sscanf(ln, "%31s", name) != 1 || *name == '#')
			continue;
		if (strstr(ln, "spin_lock") || n == 8)
			return -1;
		char *p;
		if ((p = strstr(ln, "key="))) key = (unsigned)atoi(p + 4);
		if ((p = strstr(ln, "value="))) value = (unsigned)atoi(p + 6);
		if ((p = strstr(ln, "entries="))) entries = (unsigned)atoi(p + 8);
		uint32_t type = 0;
		for (size_t i = 0; i < sizeof map_types / sizeof map_types[0]; i++)
			if (!strcmp(name, map_types[i].name))
				type = map_types[i].type;
		if (!type)
			return -1;
		maps[n] = skep_map_create(type, "vfuzz", key, value, entries, NULL);
		if (!maps[n])
			return -1;
		km->skep_id[n] = (int32_t)skep_map_id(maps[n]);
		km->fd[n] = kernel ? kmap_create(type, key, value, entries, 0, 0) : -1;
		if (kernel && km->fd[n] < 0)
			return -1;
		km->n = ++n;
	}
	return n;
}

static void mutate_cases(struct arena *a, struct stats *st, int per_case)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/tests/verifier", t_root());
	char **paths;
	size_t np;
	if (case_list(dir, &paths, &np))
		return;
	struct skep_diag d;
	for (size_t c = 0; c < np; c++) {
		FILE *f = fopen(paths[c], "r");
		if (!f)
			continue;
		static char text[1 << 15];
		size_t len = fread(text, 1, sizeof text - 1, f);
		fclose(f);
		text[len] = 0;
		if (!strstr(text, "-- type\nxdp") || strstr(text, "-- flags"))
			continue;
		char *s = strstr(text, "-- asm\n"), *e = s ? strstr(s + 7, "\n-- ") : NULL;
		if (!s || !e)
			continue;
		*e = 0;
		skep_map *maps[8] = {0};
		struct kmaps km;
		memset(&km, 0, sizeof km);
		char *ms = strstr(text, "-- maps\n");
		int ok = 1;
		if (ms && ms < s) {
			char *me = strstr(ms + 8, "\n-- ");
			if (me)
				*me = 0;
			ok = case_maps(ms + 8, maps, &km, st->kernel) >= 0;
		}
		struct skep_insn *in;
		size_t n;
		if (ok && !skep_assemble(s + 7, &in, &n, &d)) {
			for (size_t i = 0; i + 1 < n; i++)   /* map_fd(N) names the N-th map */
				if (in[i].code == 0x18 && in[i].src == 1 && in[i].imm >= 1 && in[i].imm <= km.n)
					in[i].imm = km.skep_id[in[i].imm - 1];
			for (int m = 0; m < per_case; m++) {
				struct skep_insn *mut = malloc(sizeof *mut * n);
				memcpy(mut, in, sizeof *mut * n);
				for (int k = 1 + rn(3); k > 0; k--)
					mutate_one(mut, n);
				char name[600];
				snprintf(name, sizeof name, "mutant/%s#%d", paths[c] + strlen(t_root()) + 1, m);
				check_prog(name, mut, n, a, st, 2, &km);
				free(mut);
			}
			free(in);
		}
		for (int i = 0; i < km.n; i++) {
			skep_map_close(maps[i]);
			if (km.fd[i] >= 0)
				close(km.fd[i]);
		}
	}
	case_list_free(paths, np);
}

/* The build directory: this program lives in <build>/tests/. */
static const char *build_dir(void)
{
	static char b[4096];
	ssize_t n = readlink("/proc/self/exe", b, sizeof b - 1);
	if (n <= 0)
		return ".";
	b[n] = 0;
	for (int up = 0; up < 2; up++) {
		char *sl = strrchr(b, '/');
		if (sl)
			*sl = 0;
	}
	return b;
}

/* *.o files of dir, sorted */
static int cmpstr(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }
static int list_objects(const char *dir, char ***paths, size_t *n)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	*paths = NULL;
	*n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 3 || strcmp(e->d_name + l - 2, ".o"))
			continue;
		*paths = realloc(*paths, sizeof **paths * (*n + 1));
		char *p = malloc(strlen(dir) + l + 2);
		sprintf(p, "%s/%s", dir, e->d_name);
		(*paths)[(*n)++] = p;
	}
	closedir(d);
	if (*n)
		qsort(*paths, *n, sizeof **paths, cmpstr);
	return 0;
}

/* Mutations of the XDP programs of the objects clang built (with their maps, in Skep). */
static void mutate_objects(struct arena *a, struct stats *st, int per_prog, long *nprogs)
{
	static const char *dirs[] = {"objects", "objects/v4", "examples", "examples/v4"};
	for (size_t di = 0; di < sizeof dirs / sizeof dirs[0]; di++) {
		char dir[4200];
		snprintf(dir, sizeof dir, "%.4000s/%s", build_dir(), dirs[di]);
		char **paths;
		size_t np;
		if (list_objects(dir, &paths, &np))
			continue;
		for (size_t c = 0; c < np; c++) {
			skep_object *obj;
			if (skep_object_open_file(paths[c], NULL, &obj))
				continue;
			for (skep_program *p = skep_object_next_program(obj, NULL); p; p = skep_object_next_program(obj, p))
				skep_program_set_autoload(p, skep_program_type(p) == 6);
			if (skep_object_load(obj)) {
				skep_object_close(obj);
				continue;
			}
			if (getenv("SKEP_VERIFIER_FUZZ_DEBUG"))
				for (skep_object_map *om = skep_object_next_map(obj, NULL); om; om = skep_object_next_map(obj, om))
					printf("%s: map %s id %u type %u value %u flags %#x\n", paths[c], skep_object_map_name(om),
					       skep_map_id(skep_object_map_handle(om)), skep_object_map_type(om),
					       skep_object_map_value_size(om), skep_object_map_flags(om));
			for (skep_program *p = skep_object_next_program(obj, NULL); p; p = skep_object_next_program(obj, p)) {
				size_t n;
				const struct skep_insn *in = skep_program_insns(p, &n);
				if (skep_program_type(p) != 6 || !in || !n)
					continue;
				(*nprogs)++;
				struct skep_insn *mut = malloc(sizeof *mut * n);
				for (int m = 0; m < per_prog; m++) {
					memcpy(mut, in, sizeof *mut * n);
					for (int k = 1 + rn(3); k > 0; k--)
						mutate_one(mut, n);
					char name[600];
					snprintf(name, sizeof name, "object/%s:%s#%d", dirs[di], skep_program_name(p), m);
					check_prog(name, mut, n, a, st, 0, NULL);
				}
				free(mut);
			}
			skep_object_close(obj);
		}
		for (size_t c = 0; c < np; c++)
			free(paths[c]);
		free(paths);
	}
}

static double elapsed(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

int main(void)
{
	const char *ns = getenv("SKEP_VERIFIER_FUZZ_N"), *ss = getenv("SKEP_VERIFIER_FUZZ_SEED");
	const char *ts = getenv("SKEP_VERIFIER_FUZZ_SECONDS"), *ks = getenv("SKEP_VERIFIER_FUZZ_KMAX");
	long N = ns ? atol(ns) : 100000, seconds = ts ? atol(ts) : 0;
	rng_state = ss ? strtoull(ss, NULL, 0) : 0x5eed5eedULL;
	if (!rng_state)
		rng_state = 1;
	struct arena a;
	a.base = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (a.base == MAP_FAILED) {
		t_skip("fuzz", "no memory below 4 GiB: %s", strerror(errno));
		return t_done();
	}
	a.ctx = (uint32_t *)a.base;
	a.pkt = a.base + 4096 - PKT_MAX;
	char why[256];
	struct stats st;
	memset(&st, 0, sizeof st);
	st.kernel = !getenv("SKEP_VERIFIER_FUZZ_NOKERNEL") && kernel_available(why, sizeof why) && kmap_available();
	st.kernel_budget = ks ? atol(ks) : 3000;
	if (!st.kernel)
		t_skip("fuzz/kernel", "%s", why);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* a third of the kernel's budget is kept for the mutants */
	long mutant_budget = st.kernel_budget / 3;
	st.kernel_budget -= mutant_budget;
	struct gen g;
	long i;
	for (i = 0; i < N || seconds; i++) {
		gen_prog(&g);
		char name[64];
		snprintf(name, sizeof name, "random/%ld", i);
		check_prog(name, g.in, (size_t)g.n, &a, &st, 8, NULL);
		if (t_failed > 20)
			break;
		if (seconds && !(i & 1023) && elapsed(&t0) >= seconds / 2.0)
			break;   /* half the time for random programs */
	}
	long random_programs = st.programs;
	st.kernel_budget += mutant_budget;
	/* then mutants: rounds until three quarters of the time (or once, with N) */
	do
		mutate_cases(&a, &st, seconds ? 10 : 20);
	while (seconds && elapsed(&t0) < seconds * 0.75 && t_failed <= 20);
	long case_mutants = st.programs - random_programs, nobj = 0;
	for (long round = 0;; round++) {
		long k = 0;
		mutate_objects(&a, &st, seconds ? 50 : 200, &k);
		if (!round)
			nobj = k;
		if (!seconds || elapsed(&t0) >= seconds || t_failed > 20 || !k)
			break;
	}
	double secs = elapsed(&t0);
	struct timespec cpu;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
	double cpus = (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9;
	printf("verifier fuzz: %ld programs (%ld random, %ld case mutants, %ld mutants of %ld object programs), "
	       "%ld accepted (ran clean on the checked engine: %ld, of which %ld stopped at a helper the runtime "
	       "lacks), %.1f s (%.1f s of CPU: %.0f programs per CPU second)\n",
	       st.programs, random_programs, case_mutants, st.programs - random_programs - case_mutants, nobj,
	       st.accepted, st.runs_ok, st.no_helper, secs, cpus, (double)st.programs / (cpus > 0 ? cpus : 1));
	printf("agreement on the fuzz (a sample of %ld through the kernel's verifier, %ld load errors not from "
	       "the verifier): Skep accepts/kernel refuses %ld, kernel accepts/Skep refuses %ld\n",
	       st.kernel_checked, st.kernel_errors, st.skep_only, st.kernel_only);
	CHECK(st.accepted > st.programs / 20, "fuzz/acceptance", "only %ld of %ld programs accepted: the "
	      "generator does not reach the interesting part", st.accepted, st.programs);
	CHECK(st.runs_ok == st.accepted, "fuzz/soundness", "%ld accepted, %ld ran clean", st.accepted, st.runs_ok);
	CHECK(st.skep_only == 0, "fuzz/agreement", "%ld programs accepted by Skep and refused by the kernel",
	      st.skep_only);
	munmap(a.base, 4096);
	return t_done();
}
