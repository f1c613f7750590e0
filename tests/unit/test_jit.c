/* The x86-64 JIT against the interpreter: every op over edge values and register
 * choices (rax/rdx/rcx are special to x86: division, shifts, cmpxchg), all immediate
 * sizes, jumps of every distance, calls (helpers, bpf-to-bpf up to 8 frames, tail
 * calls), ld_abs/ld_ind, 100,000-instruction programs, random programs, constant
 * blinding, W^X, and the refusals (unbound helper, too deep, recursion, ...).
 * Ends with a few timings (informative). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "exec/exec.h"
#include "exec/jit.h"
#include "insn_macros.h"
#include "randprog.h"
#include "skep/prog.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static void refuse(const char *name, const struct skep_insn *v, size_t n, const char *frag);

/* ---- program builder ---- */

struct pb {
	struct skep_insn *v;
	size_t n, cap;
};

static void add(struct pb *b, struct skep_insn in)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 256;
		b->v = realloc(b->v, b->cap * sizeof *b->v);
		if (!b->v)
			abort();
	}
	b->v[b->n++] = in;
}

static void add_lddw(struct pb *b, int dst, uint64_t v)
{
	struct skep_insn two[2] = {BPF_LD_IMM64(dst, v)};
	add(b, two[0]);
	add(b, two[1]);
}

/* ---- helpers bound in every program ---- */

static uint64_t h_wsum(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	return a + 2 * b + 3 * c + 4 * d + 5 * e;
}
static uint64_t h_mix(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	return a * 31 ^ b;
}

static skep_prog *make(const struct skep_insn *v, size_t n, enum skep_engine e, int harden, int *err)
{
	skep_prog *p = skep_prog_new();
	if (!p)
		abort();
	skep_prog_set_helper(p, 1, h_wsum);
	skep_prog_set_helper(p, 2, h_mix);
	skep_prog_set_jit_harden(p, harden);
	*err = skep_prog_load(p, v, n);
	if (!*err)
		*err = skep_prog_set_engine(p, e);
	return p;
}

/* Run on the interpreter and the JIT, each on its own copy of mem; 1 if they agree.
 * why gets the first difference. */
static int agree(const struct skep_insn *v, size_t n, const uint8_t *mem, size_t len, int harden,
		 char *why, size_t whylen, uint64_t *r0_out)
{
	int ei, ej;
	skep_prog *pi = make(v, n, SKEP_ENGINE_INTERP, 0, &ei);
	skep_prog *pj = make(v, n, SKEP_ENGINE_JIT, harden, &ej);
	int ok = 0;
	uint8_t *mi = malloc(len + 1), *mj = malloc(len + 1);
	if (len) {
		memcpy(mi, mem, len);
		memcpy(mj, mem, len);
	}
	uint64_t ri = 0, rj = 0;
	if (ei) {
		snprintf(why, whylen, "interp load: %s", skep_prog_error(pi));
	} else if (ej) {
		snprintf(why, whylen, "jit load: %s", skep_prog_error(pj));
	} else if ((ei = skep_prog_run_mem(pi, mi, len, &ri))) {
		snprintf(why, whylen, "interp run: %s", skep_prog_error(pi));
	} else if ((ej = skep_prog_run_mem(pj, mj, len, &rj))) {
		snprintf(why, whylen, "jit run: %s", skep_prog_error(pj));
	} else if (ri != rj) {
		snprintf(why, whylen, "r0: interp 0x%" PRIx64 ", jit 0x%" PRIx64, ri, rj);
	} else {
		size_t k = 0;
		while (k < len && mi[k] == mj[k])
			k++;
		if (k < len)
			snprintf(why, whylen, "memory byte %zu: interp 0x%02x, jit 0x%02x", k, mi[k], mj[k]);
		else
			ok = 1;
	}
	if (r0_out)
		*r0_out = rj;
	free(mi);
	free(mj);
	skep_prog_free(pi);
	skep_prog_free(pj);
	return ok;
}

/* ---- single ops over value grids ---- */

static const uint64_t vals[] = {
	0, 1, 2, 7, 31, 32, 63, 64, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000,
	0x8000000000000000, 0x7fffffffffffffff, 0xffffffffffffffff, 0xfffffffffffffffe,
	0xffffffff80000000, 0xdeadbeefcafebabe, 0x123456789abcdef0,
};
#define NVALS (sizeof vals / sizeof vals[0])

static const int32_t imms[] = {0, 1, -1, 2, 7, 31, 32, 63, 64, 127, 128, -128, -129,
			       0x7fffffff, INT32_MIN, 0x10000, -7, 3, 0xff, 0xffff};
#define NIMMS (sizeof imms / sizeof imms[0])

/* register pairs (dst, src): the x86-special ones (r0 rax, r3 rdx, r4 rcx) and the
 * callee-saved r6..r9 in every role, plus dst == src */
static const int pairs[][2] = {
	{0, 1}, {1, 0}, {3, 4}, {4, 3}, {0, 3}, {3, 0}, {0, 4}, {4, 0}, {6, 7},
	{9, 8}, {2, 5}, {4, 4}, {0, 0}, {3, 3}, {5, 4}, {4, 2}, {7, 3}, {8, 6},
};
#define NPAIRS (sizeof pairs / sizeof pairs[0])

static const uint64_t init[10] = {
	0x0101010101010101, 0, 0x2323232323232323, 0x3434343434343434, 0x4545454545454545,
	0x5656565656565656, 0x6767676767676767, 0x7878787878787878, 0x8989898989898989, 0,
};

/* base register for the result stores: not d or s */
static int base_for(int d, int s)
{
	for (int b = 9; b >= 1; b--)
		if (b != d && b != s)
			return b;
	return 1;
}

/* Every register but the base, set to a known value; then the caller's op; then every
 * register stored at base + *off. */
static void case_head(struct pb *b, int base)
{
	for (int r = 0; r <= 9; r++)
		if (r != base)
			add_lddw(b, r, init[r] ^ (uint64_t)r * 0x1000000000001);
}

static void case_tail(struct pb *b, int base, int *off)
{
	for (int r = 0; r <= 9; r++)
		if (r != base) {
			add(b, BPF_STX_MEM(BPF_DW, base, r, (int16_t)*off));
			*off += 8;
		}
}

static void prog_start(struct pb *b, int base)
{
	b->n = 0;
	if (base != 1)
		add(b, BPF_MOV64_REG(base, 1));
}

static void prog_end(struct pb *b)
{
	add(b, BPF_MOV64_IMM(0, 0));
	add(b, BPF_EXIT_INSN());
}

static uint8_t grid_mem[32768];

static int grid_run(struct pb *b, const char *name, int harden, int *checks)
{
	char why[256];
	int ok = agree(b->v, b->n, grid_mem, sizeof grid_mem, harden, why, sizeof why, NULL);
	if (!ok)
		CHECK(0, name, "%s", why);
	(*checks)++;
	return ok;
}

/* ALU ops, register form: for each pair of values and each register pair */
static const struct {
	const char *name;
	uint8_t op;
	int16_t off;
} alu_ops[] = {
	{"add", BPF_ADD, 0}, {"sub", BPF_SUB, 0}, {"mul", BPF_MUL, 0}, {"div", BPF_DIV, 0},
	{"sdiv", BPF_DIV, 1}, {"mod", BPF_MOD, 0}, {"smod", BPF_MOD, 1}, {"or", BPF_OR, 0},
	{"and", BPF_AND, 0}, {"xor", BPF_XOR, 0}, {"lsh", BPF_LSH, 0}, {"rsh", BPF_RSH, 0},
	{"arsh", BPF_ARSH, 0}, {"mov", BPF_MOV, 0}, {"movsx8", BPF_MOV, 8},
	{"movsx16", BPF_MOV, 16}, {"movsx32", BPF_MOV, 32},
};
#define NALU (sizeof alu_ops / sizeof alu_ops[0])

static void test_alu(int harden, const char *tag)
{
	struct pb b = {0};
	char name[128];
	for (size_t o = 0; o < NALU; o++)
		for (int wide = 0; wide <= 1; wide++) {
			if (alu_ops[o].off == 32 && !wide)
				continue;
			int bad = 0, checks = 0;
			uint8_t cls = wide ? BPF_ALU64 : BPF_ALU;
			/* register form */
			for (size_t pi = 0; pi < NPAIRS && !bad; pi++) {
				int d = pairs[pi][0], s = pairs[pi][1], base = base_for(d, s), off = 0;
				prog_start(&b, base);
				for (size_t a = 0; a < NVALS; a++)
					for (size_t c = 0; c < NVALS; c += (d == s ? NVALS : 1)) {
						case_head(&b, base);
						add_lddw(&b, d, vals[a]);
						if (d != s)
							add_lddw(&b, s, vals[c]);
						add(&b, BPF_RAW_INSN(cls | alu_ops[o].op | BPF_X, d, s, alu_ops[o].off, 0));
						case_tail(&b, base, &off);
					}
				prog_end(&b);
				snprintf(name, sizeof name, "%s/alu%d/%s_reg/r%d,r%d", tag, wide ? 64 : 32,
					 alu_ops[o].name, d, s);
				bad = !grid_run(&b, name, harden, &checks);
			}
			/* immediate form: every immediate size */
			if (alu_ops[o].off == 8 || alu_ops[o].off == 16 || alu_ops[o].off == 32)
				goto done;
			for (int d = 0; d <= 9 && !bad; d += (d == 0 ? 3 : d == 3 ? 1 : 2)) {
				int base = base_for(d, d), off = 0;
				prog_start(&b, base);
				for (size_t a = 0; a < NVALS; a++)
					for (size_t k = 0; k < NIMMS; k++) {
						case_head(&b, base);
						add_lddw(&b, d, vals[a]);
						add(&b, BPF_RAW_INSN(cls | alu_ops[o].op | BPF_K, d, 0, alu_ops[o].off,
								     imms[k]));
						case_tail(&b, base, &off);
					}
				prog_end(&b);
				snprintf(name, sizeof name, "%s/alu%d/%s_imm/r%d", tag, wide ? 64 : 32,
					 alu_ops[o].name, d);
				bad = !grid_run(&b, name, harden, &checks);
			}
		done:
			snprintf(name, sizeof name, "%s/alu%d/%s", tag, wide ? 64 : 32, alu_ops[o].name);
			CHECK(!bad, name, "see above (%d programs)", checks);
		}
	/* neg and byte order, one register at a time */
	static const struct skep_insn unary[] = {
		BPF_NEG64(0), BPF_NEG32(0), BPF_ENDIAN(BPF_TO_LE, 0, 16), BPF_ENDIAN(BPF_TO_LE, 0, 32),
		BPF_ENDIAN(BPF_TO_LE, 0, 64), BPF_ENDIAN(BPF_TO_BE, 0, 16), BPF_ENDIAN(BPF_TO_BE, 0, 32),
		BPF_ENDIAN(BPF_TO_BE, 0, 64), BPF_BSWAP(0, 16), BPF_BSWAP(0, 32), BPF_BSWAP(0, 64),
	};
	int bad = 0, checks = 0;
	for (size_t u = 0; u < sizeof unary / sizeof unary[0] && !bad; u++)
		for (int d = 0; d <= 9 && !bad; d++) {
			int base = base_for(d, d), off = 0;
			prog_start(&b, base);
			for (size_t a = 0; a < NVALS; a++) {
				case_head(&b, base);
				add_lddw(&b, d, vals[a]);
				struct skep_insn in = unary[u];
				in.dst = (uint8_t)d;
				add(&b, in);
				case_tail(&b, base, &off);
			}
			prog_end(&b);
			snprintf(name, sizeof name, "%s/unary%zu/r%d", tag, u, d);
			bad = !grid_run(&b, name, harden, &checks);
		}
	snprintf(name, sizeof name, "%s/neg+endian", tag);
	CHECK(!bad, name, "see above (%d programs)", checks);
	/* mov/lddw immediates of every size */
	static const uint64_t lddw_vals[] = {0, 1, 0x7f, 0x80, 0xffffffff, 0x100000000,
					     0xffffffff80000000, 0xffffffffffffffff, 0x80000000,
					     0x7fffffffffffffff, 0xfedcba9876543210};
	bad = 0, checks = 0;
	for (int d = 0; d <= 9 && !bad; d++) {
		int base = base_for(d, d), off = 0;
		prog_start(&b, base);
		for (size_t k = 0; k < NIMMS; k++) {
			case_head(&b, base);
			add(&b, BPF_MOV64_IMM(d, imms[k]));
			case_tail(&b, base, &off);
			case_head(&b, base);
			add(&b, BPF_MOV32_IMM(d, imms[k]));
			case_tail(&b, base, &off);
		}
		for (size_t k = 0; k < sizeof lddw_vals / sizeof lddw_vals[0]; k++) {
			case_head(&b, base);
			add_lddw(&b, d, lddw_vals[k]);
			case_tail(&b, base, &off);
		}
		prog_end(&b);
		snprintf(name, sizeof name, "%s/mov_imm/r%d", tag, d);
		bad = !grid_run(&b, name, harden, &checks);
	}
	snprintf(name, sizeof name, "%s/mov+lddw immediates", tag);
	CHECK(!bad, name, "see above (%d programs)", checks);
	free(b.v);
}

/* "r = s; r += t" (and += imm, 32-bit too) is one lea: every register role, r10 as
 * the addend, and a jump landing on the add (which must keep its own code). */
static void test_lea(void)
{
	struct pb b = {0};
	char name[128];
	int bad = 0, checks = 0;
	static const int regs[] = {0, 1, 3, 4, 5, 6, 7, 9};
	for (size_t x = 0; x < 8 && !bad; x++)
		for (size_t y = 0; y < 8 && !bad; y++) {
			int d = regs[x], s = regs[y];
			if (d == s)
				continue;
			int base = base_for(d, s), off = 0;
			prog_start(&b, base);
			for (int t = 0; t <= 10; t++)
				for (int wide = 0; wide < 2; wide++) {
					if (t == base || (t == 10 && !wide))
						continue;
					case_head(&b, base);
					add_lddw(&b, s, 0x8000000180000001 + (uint64_t)t);
					if (wide) {
						add(&b, BPF_MOV64_REG(d, s));
						add(&b, BPF_ALU64_REG(BPF_ADD, d, t));
					} else {
						add(&b, BPF_MOV32_REG(d, s));
						add(&b, BPF_ALU32_REG(BPF_ADD, d, t));
					}
					if (t == 10)
						add(&b, BPF_ALU64_REG(BPF_SUB, d, 10));
					case_tail(&b, base, &off);
					for (size_t k = 0; k < NIMMS; k += 3) {
						case_head(&b, base);
						add(&b, wide ? BPF_MOV64_REG(d, s) : BPF_MOV32_REG(d, s));
						add(&b, BPF_RAW_INSN((wide ? BPF_ALU64 : BPF_ALU) | BPF_ADD | BPF_K, d, 0, 0,
								     imms[k]));
						case_tail(&b, base, &off);
					}
				}
			/* a jump to the add: it must still add */
			case_head(&b, base);
			add(&b, BPF_JMP_IMM(BPF_JEQ, s, 0, 1));
			add(&b, BPF_MOV64_REG(d, s));
			add(&b, BPF_ALU64_IMM(BPF_ADD, d, 5));
			case_tail(&b, base, &off);
			prog_end(&b);
			snprintf(name, sizeof name, "lea/r%d,r%d", d, s);
			bad = !grid_run(&b, name, 0, &checks);
		}
	CHECK(!bad, "lea/mov+add pairs", "see above (%d programs)", checks);
	free(b.v);
}

/* Code offsets of a JIT-compiled program: does instruction i's code also cover the k
 * instructions after it (they emit nothing of their own)? -1 if it does not compile. */
static int folded(const struct skep_insn *v, size_t n, size_t i, size_t k)
{
	int e;
	struct skep_jited jd;
	skep_prog *p = make(v, n, SKEP_ENGINE_JIT, 0, &e);
	int r = -1;
	if (!e && !skep_prog_jited(p, &jd) && i + k + 1 <= jd.n) {
		r = 1;
		for (size_t m = 1; m <= k; m++)
			r &= jd.insn_off[i + m] == jd.insn_off[i + m + 1];
	}
	skep_prog_free(p);
	return r;
}

/* "x = p; x += q; ... *(x + off) ..." is one access at [p + q + off] when x is
 * overwritten by the load or dead after it: loads of every size and sign, stores,
 * store-immediates, an immediate addend, the stack through r10; and the cases that
 * must keep the move and the add (x read afterwards, x stored, a jump into the middle). */
static void test_addr(void)
{
	struct pb b = {0};
	char name[128];
	int bad = 0, checks = 0;
	static const int regs[] = {0, 3, 4, 1, 6, 9, 2, 5};
	static const uint8_t sizes[] = {BPF_B, BPF_H, BPF_W, BPF_DW};
	for (size_t xi = 0; xi < 8 && !bad; xi++)
		for (size_t pi = 0; pi < 8 && !bad; pi++) {
			int x = regs[xi], pr = regs[pi];
			if (x == pr)
				continue;
			int q = regs[(pi + 1 + xi) % 8] == x ? regs[(pi + 2 + xi) % 8] : regs[(pi + 1 + xi) % 8];
			if (q == pr)
				q = regs[(pi + 3) % 8] == x ? regs[(pi + 4) % 8] : regs[(pi + 3) % 8];
			int d = 0;
			while (d == x || d == pr || d == q)
				d++;
			int base = 9;
			while (base == x || base == pr || base == q || base == d)
				base--;
			int off = 0;
			prog_start(&b, base);
			for (int order = 0; order < 2; order++) { /* x = p; x += q, or x = q; x += p */
				int m1 = order ? q : pr, m2 = order ? pr : q;
				for (size_t z = 0; z < 4; z++) {
					int sx; /* plain and sign-extending loads */
					for (sx = 0; sx < (sizes[z] == BPF_DW ? 1 : 2); sx++) {
						struct skep_insn ld = sx ? BPF_LDX_MEMSX(sizes[z], x, x, 5) : BPF_LDX_MEM(sizes[z], x, x, 5);
						/* into x itself */
						case_head(&b, base);
						add(&b, BPF_MOV64_REG(pr, base));
						add(&b, BPF_ALU64_IMM(BPF_ADD, pr, 16384));
						add(&b, BPF_MOV64_IMM(q, 8 * (int)z + 64));
						add(&b, BPF_MOV64_REG(x, m1));
						add(&b, BPF_ALU64_REG(BPF_ADD, x, m2));
						add(&b, ld);
						add(&b, BPF_MOV64_IMM(pr, 0));
						case_tail(&b, base, &off);
						/* into d, x dead (overwritten) after */
						case_head(&b, base);
						add(&b, BPF_MOV64_REG(pr, base));
						add(&b, BPF_ALU64_IMM(BPF_ADD, pr, 16384));
						add(&b, BPF_MOV64_IMM(q, 8 * (int)z + 128));
						add(&b, BPF_MOV64_REG(x, m1));
						add(&b, BPF_ALU64_REG(BPF_ADD, x, m2));
						ld.dst = (uint8_t)d;
						ld.off = -3;
						add(&b, ld);
						add(&b, BPF_MOV64_IMM(x, 7));
						add(&b, BPF_MOV64_IMM(pr, 0));
						case_tail(&b, base, &off);
						/* into d, x live after: keeps its value */
						case_head(&b, base);
						add(&b, BPF_MOV64_REG(pr, base));
						add(&b, BPF_ALU64_IMM(BPF_ADD, pr, 16384));
						add(&b, BPF_MOV64_IMM(q, 8 * (int)z + 200));
						add(&b, BPF_MOV64_REG(x, m1));
						add(&b, BPF_ALU64_REG(BPF_ADD, x, m2));
						add(&b, ld);
						add(&b, BPF_ALU64_REG(BPF_SUB, x, pr)); /* = q */
						add(&b, BPF_MOV64_IMM(pr, 0));
						case_tail(&b, base, &off);
						/* into the pointer register itself */
						case_head(&b, base);
						add(&b, BPF_MOV64_REG(pr, base));
						add(&b, BPF_ALU64_IMM(BPF_ADD, pr, 16384));
						add(&b, BPF_MOV64_IMM(q, 8 * (int)z + 16));
						add(&b, BPF_MOV64_REG(x, m1));
						add(&b, BPF_ALU64_REG(BPF_ADD, x, m2));
						ld.dst = (uint8_t)pr;
						add(&b, ld);
						add(&b, BPF_MOV64_IMM(x, 0));
						case_tail(&b, base, &off);
					}
					/* store of d, x dead after; then read back */
					case_head(&b, base);
					add(&b, BPF_MOV64_REG(pr, base));
					add(&b, BPF_ALU64_IMM(BPF_ADD, pr, 16384));
					add(&b, BPF_MOV64_IMM(q, 8 * (int)z + 1024 + 256 * order));
					add(&b, BPF_MOV64_REG(x, m1));
					add(&b, BPF_ALU64_REG(BPF_ADD, x, m2));
					add(&b, BPF_STX_MEM(sizes[z], x, d, 3));
					add(&b, BPF_MOV64_IMM(x, 0));
					add(&b, BPF_ALU64_REG(BPF_ADD, pr, q));
					add(&b, BPF_LDX_MEM(BPF_DW, q, pr, 0));
					add(&b, BPF_MOV64_IMM(pr, 0));
					case_tail(&b, base, &off);
					/* store of the value q (also an address operand) */
					case_head(&b, base);
					add(&b, BPF_MOV64_REG(pr, base));
					add(&b, BPF_ALU64_IMM(BPF_ADD, pr, 16384));
					add(&b, BPF_MOV64_IMM(q, 8 * (int)z + 1100 + 256 * order));
					add(&b, BPF_MOV64_REG(x, m1));
					add(&b, BPF_ALU64_REG(BPF_ADD, x, m2));
					add(&b, BPF_STX_MEM(sizes[z], x, q, -2));
					add(&b, BPF_MOV64_IMM(x, 0));
					add(&b, BPF_MOV64_IMM(pr, 0));
					case_tail(&b, base, &off);
					/* store-immediate, x dead after */
					case_head(&b, base);
					add(&b, BPF_MOV64_REG(pr, base));
					add(&b, BPF_ALU64_IMM(BPF_ADD, pr, 16384));
					add(&b, BPF_MOV64_IMM(q, 8 * (int)z + 1200 + 256 * order));
					add(&b, BPF_MOV64_REG(x, m1));
					add(&b, BPF_ALU64_REG(BPF_ADD, x, m2));
					add(&b, BPF_ST_MEM(sizes[z], x, 1, imms[z * 4 + 1]));
					add(&b, BPF_MOV64_IMM(x, 0));
					add(&b, BPF_MOV64_IMM(pr, 0));
					case_tail(&b, base, &off);
				}
				/* the stored value is x itself: the address must exist */
				case_head(&b, base);
				add(&b, BPF_MOV64_REG(pr, base));
				add(&b, BPF_ALU64_IMM(BPF_ADD, pr, 16384));
				add(&b, BPF_MOV64_IMM(q, 1500));
				add(&b, BPF_MOV64_REG(x, m1));
				add(&b, BPF_ALU64_REG(BPF_ADD, x, m2));
				add(&b, BPF_STX_MEM(BPF_DW, x, x, 8));
				add(&b, BPF_LDX_MEM(BPF_DW, d, x, 8));
				add(&b, BPF_ALU64_REG(BPF_SUB, d, pr)); /* = q */
				add(&b, BPF_ST_MEM(BPF_DW, x, 8, 0));
				add(&b, BPF_MOV64_IMM(x, 0));
				add(&b, BPF_MOV64_IMM(pr, 0));
				case_tail(&b, base, &off);
			}
			/* an immediate addend: x = p; x += imm; load */
			for (size_t k = 0; k < 4; k++) {
				static const int32_t adds[] = {0, 24, 1000, -8};
				case_head(&b, base);
				add(&b, BPF_MOV64_REG(pr, base));
				add(&b, BPF_ALU64_IMM(BPF_ADD, pr, 16384 + 64));
				add(&b, BPF_MOV64_REG(x, pr));
				add(&b, BPF_ALU64_IMM(BPF_ADD, x, adds[k]));
				add(&b, BPF_LDX_MEM(BPF_DW, d, x, -4));
				add(&b, BPF_MOV64_REG(x, pr));
				add(&b, BPF_ALU64_IMM(BPF_ADD, x, adds[k]));
				add(&b, BPF_STX_MEM(BPF_W, x, d, 16));
				add(&b, BPF_MOV64_IMM(x, 0));
				add(&b, BPF_MOV64_IMM(pr, 0));
				case_tail(&b, base, &off);
			}
			/* the stack: x = r10; x += q (negative) / imm */
			case_head(&b, base);
			add_lddw(&b, d, 0x1122334455667788);
			add(&b, BPF_STX_MEM(BPF_DW, 10, d, -24));
			add(&b, BPF_MOV64_IMM(q, -32));
			add(&b, BPF_MOV64_REG(x, 10));
			add(&b, BPF_ALU64_REG(BPF_ADD, x, q));
			add(&b, BPF_LDX_MEM(BPF_W, d, x, 12));
			add(&b, BPF_MOV64_REG(x, q));
			add(&b, BPF_ALU64_REG(BPF_ADD, x, 10));
			add(&b, BPF_ST_MEM(BPF_H, x, 8, 0x7777));
			add(&b, BPF_MOV64_REG(x, 10));
			add(&b, BPF_ALU64_IMM(BPF_ADD, x, -16));
			add(&b, BPF_LDX_MEM(BPF_DW, x, x, -8));
			case_tail(&b, base, &off);
			/* a jump onto the add, and one onto the access: both keep their code */
			case_head(&b, base);
			add(&b, BPF_MOV64_REG(pr, base));
			add(&b, BPF_ALU64_IMM(BPF_ADD, pr, 16384));
			add(&b, BPF_MOV64_IMM(q, 40));
			add(&b, BPF_MOV64_REG(x, pr));
			add(&b, BPF_JMP_A(1));
			add(&b, BPF_MOV64_REG(x, q));   /* skipped */
			add(&b, BPF_ALU64_REG(BPF_ADD, x, q));
			add(&b, BPF_LDX_MEM(BPF_DW, d, x, 0));
			add(&b, BPF_MOV64_REG(x, pr));
			add(&b, BPF_ALU64_IMM(BPF_ADD, x, 48));
			add(&b, BPF_JMP_A(2));
			add(&b, BPF_MOV64_REG(x, q));   /* skipped */
			add(&b, BPF_ALU64_REG(BPF_ADD, x, q));
			add(&b, BPF_LDX_MEM(BPF_DW, x, x, 0));
			add(&b, BPF_MOV64_IMM(pr, 0));
			case_tail(&b, base, &off);
			if (off > 16000) {
				fprintf(stderr, "test_addr: result area overflow (%d)\n", off);
				abort();
			}
			prog_end(&b);
			for (size_t k = 16384; k < sizeof grid_mem; k++)
				grid_mem[k] = (uint8_t)(k * 13 + 5);
			snprintf(name, sizeof name, "addr/x r%d, p r%d, q r%d", x, pr, q);
			bad = !grid_run(&b, name, 0, &checks);
			if (!bad) {
				jit_off = JIT_OFF_ADDR;
				snprintf(name, sizeof name, "addr/x r%d, p r%d, q r%d (fusion off)", x, pr, q);
				bad = !grid_run(&b, name, 0, &checks);
				jit_off = 0;
			}
			memset(grid_mem, 0, sizeof grid_mem);
		}
	CHECK(!bad, "addr/mov+add+access fused into one access", "see above (%d programs)", checks);

	/* where it applies and where it must not: by the code offsets */
	static const struct {
		const char *name;
		int want;  /* 1: the add and the access have no code of their own */
		struct skep_insn v[8];
	} shapes[] = {
		{"load into x", 1, {BPF_MOV64_REG(2, 1), BPF_ALU64_REG(BPF_ADD, 2, 3), BPF_LDX_MEM(BPF_B, 2, 2, 0),
				    BPF_MOV64_REG(0, 2), BPF_EXIT_INSN()}},
		{"load, x dead", 1, {BPF_MOV64_REG(2, 1), BPF_ALU64_IMM(BPF_ADD, 2, 8), BPF_LDX_MEM(BPF_DW, 0, 2, 0),
				     BPF_MOV64_IMM(2, 0), BPF_EXIT_INSN()}},
		{"store, x dead at exit", 1, {BPF_MOV64_REG(2, 1), BPF_ALU64_REG(BPF_ADD, 2, 3), BPF_STX_MEM(BPF_W, 2, 4, 4),
					      BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN()}},
		{"load, x read after", 0, {BPF_MOV64_REG(2, 1), BPF_ALU64_REG(BPF_ADD, 2, 3), BPF_LDX_MEM(BPF_DW, 0, 2, 0),
					   BPF_ALU64_REG(BPF_ADD, 0, 2), BPF_EXIT_INSN()}},
		{"load, x returned", 0, {BPF_MOV64_REG(0, 1), BPF_ALU64_REG(BPF_ADD, 0, 3), BPF_LDX_MEM(BPF_DW, 4, 0, 0),
					 BPF_EXIT_INSN()}},
		{"load, x live on a branch", 0, {BPF_MOV64_REG(2, 1), BPF_ALU64_REG(BPF_ADD, 2, 3), BPF_LDX_MEM(BPF_DW, 0, 2, 0),
						 BPF_JMP_IMM(BPF_JEQ, 0, 0, 1), BPF_EXIT_INSN(), BPF_MOV64_REG(0, 2), BPF_EXIT_INSN()}},
		{"store of x", 0, {BPF_MOV64_REG(2, 1), BPF_ALU64_REG(BPF_ADD, 2, 3), BPF_STX_MEM(BPF_DW, 2, 2, 0),
				   BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN()}},
		{"32-bit move", 0, {BPF_MOV32_REG(2, 1), BPF_ALU32_REG(BPF_ADD, 2, 3), BPF_LDX_MEM(BPF_B, 2, 2, 0),
				    BPF_MOV64_REG(0, 2), BPF_EXIT_INSN()}},
		{"access through another register", 0, {BPF_MOV64_REG(2, 1), BPF_ALU64_REG(BPF_ADD, 2, 3), BPF_LDX_MEM(BPF_B, 2, 1, 0),
							BPF_MOV64_REG(0, 2), BPF_EXIT_INSN()}},
	};
	for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
		size_t n = 0;
		while (n < 8 && shapes[k].v[n].code)
			n++;
		int got = folded(shapes[k].v, n, 0, 2);
		snprintf(name, sizeof name, "addr/shape: %s", shapes[k].name);
		CHECK(got == shapes[k].want, name, "folded %d, want %d", got, shapes[k].want);
	}
	/* a jump target on the add or on the access keeps it */
	struct skep_insn t1[] = {BPF_JMP_IMM(BPF_JEQ, 3, 0, 1), BPF_MOV64_REG(2, 1), BPF_ALU64_REG(BPF_ADD, 2, 3),
				 BPF_LDX_MEM(BPF_B, 0, 2, 0), BPF_EXIT_INSN()};
	struct skep_insn t2[] = {BPF_JMP_IMM(BPF_JEQ, 3, 0, 2), BPF_MOV64_REG(2, 1), BPF_ALU64_REG(BPF_ADD, 2, 3),
				 BPF_LDX_MEM(BPF_B, 0, 2, 0), BPF_EXIT_INSN()};
	CHECK(folded(t1, 5, 1, 2) == 0, "addr/jump onto the add", "folded");
	CHECK(folded(t2, 5, 1, 2) == 0, "addr/jump onto the access", "folded");
	jit_off = JIT_OFF_ADDR;
	CHECK(folded(shapes[0].v, 5, 0, 2) == 0, "addr/off switch", "still folded");
	jit_off = 0;
	free(b.v);
}

/* "if c goto +1; goto L" is "if !c goto L": every condition, both classes, register
 * and immediate, forward and as a loop's back edge, and a goto that is a jump target
 * itself (it keeps its code). */
static void test_jinv(void)
{
	static const uint8_t ops[] = {BPF_JEQ, BPF_JNE, BPF_JGT, BPF_JGE, BPF_JLT, BPF_JLE,
				      BPF_JSGT, BPF_JSGE, BPF_JSLT, BPF_JSLE, BPF_JSET};
	struct pb b = {0};
	char name[128];
	int bad = 0, checks = 0;
	for (size_t o = 0; o < sizeof ops && !bad; o++)
		for (int cls = 0; cls < 2 && !bad; cls++) {
			uint8_t c = (cls ? BPF_JMP32 : BPF_JMP) | ops[o];
			for (size_t pi = 0; pi < NPAIRS && !bad; pi += 3) {
				int d = pairs[pi][0], s = pairs[pi][1], base = base_for(d, s);
				int flag = 0;
				while (flag == d || flag == s || flag == base)
					flag++;
				int off = 0;
				prog_start(&b, base);
				for (size_t a = 0; a < NVALS; a += 2) {
					for (int target = 0; target < 2; target++) {
						for (size_t k = 0; k < NVALS; k += 3) {
							add_lddw(&b, d, vals[a]);
							if (s != d)
								add_lddw(&b, s, vals[k]);
							add(&b, BPF_MOV64_IMM(flag, 1));
							if (target) /* never taken, but makes the goto a target */
								add(&b, BPF_JMP_IMM(BPF_JEQ, flag, 7, 1));
							add(&b, BPF_RAW_INSN(c | BPF_X, d, s, 1, 0));
							add(&b, BPF_JMP_A(1));
							add(&b, BPF_MOV64_IMM(flag, 2));
							add(&b, BPF_STX_MEM(BPF_DW, base, flag, (int16_t)off));
							off += 8;
						}
						for (size_t k = 0; k < NIMMS; k += 2) {
							add_lddw(&b, d, vals[a]);
							add(&b, BPF_MOV64_IMM(flag, 1));
							if (target)
								add(&b, BPF_JMP_IMM(BPF_JEQ, flag, 7, 1));
							add(&b, BPF_RAW_INSN(c | BPF_K, d, 0, 1, imms[k]));
							add(&b, BPF_JMP_A(1));
							add(&b, BPF_MOV64_IMM(flag, 2));
							add(&b, BPF_STX_MEM(BPF_DW, base, flag, (int16_t)off));
							off += 8;
						}
					}
				}
				/* as a back edge: count d up from 0 until the condition holds (or 40) */
				for (size_t k = 0; k < NIMMS; k += 2) {
					add(&b, BPF_MOV64_IMM(d, 0));
					add(&b, BPF_MOV64_IMM(flag, 0));
					add(&b, BPF_ALU64_IMM(BPF_ADD, d, 1));               /* L */
					add(&b, BPF_ALU64_REG(BPF_ADD, flag, d));
					add(&b, BPF_JMP_IMM(BPF_JGE, d, 40, 2));
					add(&b, BPF_RAW_INSN(c | BPF_K, d, 0, 1, imms[k] & 63));
					add(&b, BPF_JMP_A(-5));                               /* goto L */
					add(&b, BPF_STX_MEM(BPF_DW, base, flag, (int16_t)off));
					off += 8;
				}
				prog_end(&b);
				snprintf(name, sizeof name, "jinv/%02x/r%d,r%d", c, d, s);
				bad = !grid_run(&b, name, 0, &checks);
				if (!bad) {
					jit_off = JIT_OFF_JINV;
					bad = !grid_run(&b, name, 0, &checks);
					jit_off = 0;
				}
				if (!bad)
					bad = !grid_run(&b, name, 1, &checks);
			}
		}
	CHECK(!bad, "jinv/conditional jump over a goto, inverted", "see above (%d programs)", checks);
	/* the goto has no code of its own unless it is a jump target */
	struct skep_insn v1[] = {BPF_MOV64_IMM(0, 1), BPF_JMP_IMM(BPF_JGT, 1, 5, 1), BPF_JMP_A(1),
				 BPF_MOV64_IMM(0, 2), BPF_EXIT_INSN()};
	struct skep_insn v2[] = {BPF_MOV64_IMM(0, 1), BPF_JMP_IMM(BPF_JEQ, 1, 7, 1), BPF_JMP_IMM(BPF_JGT, 1, 5, 1),
				 BPF_JMP_A(1), BPF_MOV64_IMM(0, 2), BPF_EXIT_INSN()};
	CHECK(folded(v1, 5, 1, 1) == 1, "jinv/goto folded", "not folded");
	CHECK(folded(v2, 6, 2, 1) == 0, "jinv/goto that is a target kept", "folded");
	jit_off = JIT_OFF_JINV;
	CHECK(folded(v1, 5, 1, 1) == 0, "jinv/off switch", "still folded");
	jit_off = 0;
	free(b.v);
}

/* "r &= 0xff; if r <op> k" with r dead after is a compare of r's low byte: every
 * condition (the signed ones must keep the mask), both widths, every register (sil/dil
 * need a REX prefix), constants in and beyond a byte; r live after or the compare a
 * jump target keep the mask. */
static void test_cmp8(void)
{
	static const uint8_t ops[] = {BPF_JEQ, BPF_JNE, BPF_JGT, BPF_JGE, BPF_JLT, BPF_JLE,
				      BPF_JSGT, BPF_JSGE, BPF_JSLT, BPF_JSLE, BPF_JSET};
	static const int32_t ks[] = {0, 1, 7, 0x7f, 0x80, 0xfe, 0xff, 0x100, -1, -128, 0x1ff, 0x3c};
	static const uint64_t xs[] = {0, 1, 0x7f, 0x80, 0xff, 0x100, 0x1fe, 0xff00, 0x3c, 0xffffffffffffff80,
				      0x123456789abcdef0, 0x80000000000000ff};
	static const int regs[] = {0, 1, 2, 3, 4, 5, 6, 7, 9};
	struct pb b = {0};
	char name[128];
	int bad = 0, checks = 0;
	for (size_t ri = 0; ri < sizeof regs / sizeof regs[0] && !bad; ri++)
		for (size_t o = 0; o < sizeof ops && !bad; o++) {
			int d = regs[ri], base = 8, flag = d == 0 ? 1 : 0, off = 0;
			prog_start(&b, base);
			for (int cls = 0; cls < 4; cls++) /* jump class x mask width */
				for (size_t k = 0; k < sizeof ks / sizeof ks[0]; k++)
					for (size_t x = (k + cls) & 1; x < sizeof xs / sizeof xs[0]; x += 2)
						for (int shape = 0; shape < 3; shape++) {
							add_lddw(&b, d, xs[x]);
							add(&b, BPF_MOV64_IMM(flag, 1));
							add(&b, cls & 2 ? BPF_ALU64_IMM(BPF_AND, d, 0xff) : BPF_ALU32_IMM(BPF_AND, d, 0xff));
							add(&b, BPF_RAW_INSN((cls & 1 ? BPF_JMP32 : BPF_JMP) | ops[o] | BPF_K, d, 0, 1, ks[k]));
							if (shape == 1) /* over a goto: inverted as well */
								add(&b, BPF_JMP_A(1));
							add(&b, BPF_MOV64_IMM(flag, 2));
							add(&b, BPF_STX_MEM(BPF_DW, base, flag, (int16_t)off));
							off += 8;
							if (shape == 2) { /* d live after: the mask stays */
								add(&b, BPF_STX_MEM(BPF_DW, base, d, (int16_t)off));
								off += 8;
							}
						}
			prog_end(&b);
			if (off > 30000) {
				fprintf(stderr, "test_cmp8: result area overflow (%d)\n", off);
				abort();
			}
			snprintf(name, sizeof name, "cmp8/r%d/op %02x", d, ops[o]);
			bad = !grid_run(&b, name, 0, &checks);
			if (!bad) {
				jit_off = JIT_OFF_CMP8;
				bad = !grid_run(&b, name, 0, &checks);
				jit_off = 0;
			}
		}
	CHECK(!bad, "cmp8/mask and compare as a byte compare", "see above (%d programs)", checks);
	memset(grid_mem, 0, sizeof grid_mem);
	/* where the mask vanishes, and where it must not */
	static const struct {
		const char *name;
		int want;
		struct skep_insn v[6];
	} shapes[] = {
		{"unsigned, dead after", 1, {BPF_MOV64_IMM(0, 0), BPF_ALU32_IMM(BPF_AND, 2, 0xff), BPF_JMP_IMM(BPF_JLT, 2, 10, 1),
					     BPF_MOV64_IMM(0, 1), BPF_EXIT_INSN()}},
		{"jset", 1, {BPF_MOV64_IMM(0, 0), BPF_ALU64_IMM(BPF_AND, 2, 0xff), BPF_JMP32_IMM(BPF_JSET, 2, 0x181, 1),
			     BPF_MOV64_IMM(0, 1), BPF_EXIT_INSN()}},
		{"signed", 0, {BPF_MOV64_IMM(0, 0), BPF_ALU32_IMM(BPF_AND, 2, 0xff), BPF_JMP_IMM(BPF_JSLT, 2, 10, 1),
			       BPF_MOV64_IMM(0, 1), BPF_EXIT_INSN()}},
		{"constant beyond a byte", 0, {BPF_MOV64_IMM(0, 0), BPF_ALU32_IMM(BPF_AND, 2, 0xff), BPF_JMP_IMM(BPF_JLT, 2, 256, 1),
					       BPF_MOV64_IMM(0, 1), BPF_EXIT_INSN()}},
		{"register live after", 0, {BPF_MOV64_IMM(0, 0), BPF_ALU32_IMM(BPF_AND, 0, 0xff), BPF_JMP_IMM(BPF_JLT, 0, 10, 1),
					    BPF_MOV64_IMM(0, 1), BPF_EXIT_INSN()}},
		{"mask 0xffff", 0, {BPF_MOV64_IMM(0, 0), BPF_ALU32_IMM(BPF_AND, 2, 0xffff), BPF_JMP_IMM(BPF_JLT, 2, 10, 1),
				    BPF_MOV64_IMM(0, 1), BPF_EXIT_INSN()}},
		{"compare of another register", 0, {BPF_MOV64_IMM(0, 0), BPF_ALU32_IMM(BPF_AND, 2, 0xff), BPF_JMP_IMM(BPF_JLT, 3, 10, 1),
						    BPF_MOV64_IMM(0, 1), BPF_EXIT_INSN()}},
	};
	for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
		int got = folded(shapes[k].v, 5, 0, 1);
		snprintf(name, sizeof name, "cmp8/shape: %s", shapes[k].name);
		CHECK(got == shapes[k].want, name, "folded %d, want %d", got, shapes[k].want);
	}
	struct skep_insn t[] = {BPF_MOV64_IMM(0, 0), BPF_JMP_IMM(BPF_JEQ, 3, 0, 1), BPF_ALU32_IMM(BPF_AND, 2, 0xff),
				BPF_JMP_IMM(BPF_JLT, 2, 10, 1), BPF_MOV64_IMM(0, 1), BPF_EXIT_INSN()};
	CHECK(folded(t, 6, 1, 1) == 0, "cmp8/compare is a jump target", "folded");
	jit_off = JIT_OFF_CMP8;
	CHECK(folded(shapes[0].v, 5, 0, 1) == 0, "cmp8/off switch", "still folded");
	jit_off = 0;
	free(b.v);
}

/* "w = w" right after a 32-bit op on w has nothing to do; after a 64-bit op, a 64-bit
 * load, a sign-extending load, on another register or as a jump target it truncates. */
static void test_zext(void)
{
	struct pb b = {0};
	char name[128];
	int bad = 0, checks = 0;
	static const int regs[] = {0, 1, 3, 4, 6, 9};
	for (size_t ri = 0; ri < sizeof regs / sizeof regs[0] && !bad; ri++) {
		int d = regs[ri], base = 8, off = 0, o = d == 2 ? 5 : 2;
		prog_start(&b, base);
		for (size_t a = 0; a < NVALS; a++) {
			struct skep_insn prev[] = {
				BPF_ALU32_IMM(BPF_ADD, d, 1), BPF_ALU64_IMM(BPF_ADD, d, 1), BPF_ALU32_REG(BPF_MUL, d, o),
				BPF_ALU64_REG(BPF_XOR, d, o), BPF_MOV32_IMM(d, -5), BPF_MOV64_IMM(d, -5),
				BPF_RAW_INSN(BPF_ALU | BPF_NEG, d, 0, 0, 0), BPF_RAW_INSN(BPF_ALU64 | BPF_NEG, d, 0, 0, 0),
				BPF_LDX_MEM(BPF_W, d, base, 16384), BPF_LDX_MEM(BPF_DW, d, base, 16384),
				BPF_LDX_MEMSX(BPF_W, d, base, 16384), BPF_LDX_MEM(BPF_B, d, base, 16385),
				BPF_ALU32_IMM(BPF_ADD, o, 1), BPF_RAW_INSN(BPF_ALU | BPF_END | BPF_TO_LE, d, 0, 0, 64),
				BPF_ALU32_IMM(BPF_RSH, d, 3), BPF_ALU32_REG(BPF_MOD, d, o),
			};
			for (size_t k = 0; k < sizeof prev / sizeof prev[0]; k++)
				for (int target = 0; target < 2; target++) {
					add_lddw(&b, d, vals[a]);
					add_lddw(&b, o, vals[(a + k) % NVALS] | 1);
					if (target) /* taken: lands on w = w with d still 64 bits wide */
						add(&b, BPF_JMP_IMM(BPF_JA, 0, 0, 1));
					add(&b, prev[k]);
					add(&b, BPF_MOV32_REG(d, d));
					add(&b, BPF_STX_MEM(BPF_DW, base, d, (int16_t)off));
					off += 8;
				}
		}
		prog_end(&b);
		for (size_t k = 16384; k < sizeof grid_mem; k++)
			grid_mem[k] = (uint8_t)(k * 29 + 0x91);
		snprintf(name, sizeof name, "zext/r%d", d);
		bad = !grid_run(&b, name, 0, &checks);
		if (!bad) {
			jit_off = JIT_OFF_ZEXT;
			bad = !grid_run(&b, name, 0, &checks);
			jit_off = 0;
		}
	}
	memset(grid_mem, 0, sizeof grid_mem);
	CHECK(!bad, "zext/w = w after a zero-extending op", "see above (%d programs)", checks);
	static const struct {
		const char *name;
		int want;
		struct skep_insn v[4];
	} shapes[] = {
		{"after add32", 1, {BPF_ALU32_IMM(BPF_ADD, 0, 3), BPF_MOV32_REG(0, 0), BPF_EXIT_INSN()}},
		{"after ldx u16", 1, {BPF_LDX_MEM(BPF_H, 0, 1, 0), BPF_MOV32_REG(0, 0), BPF_EXIT_INSN()}},
		{"after add64", 0, {BPF_ALU64_IMM(BPF_ADD, 0, 3), BPF_MOV32_REG(0, 0), BPF_EXIT_INSN()}},
		{"after ldx u64", 0, {BPF_LDX_MEM(BPF_DW, 0, 1, 0), BPF_MOV32_REG(0, 0), BPF_EXIT_INSN()}},
		{"after add32 of another", 0, {BPF_ALU32_IMM(BPF_ADD, 2, 3), BPF_MOV32_REG(0, 0), BPF_EXIT_INSN()}},
		{"after le64", 0, {BPF_RAW_INSN(BPF_ALU | BPF_END | BPF_TO_LE, 0, 0, 0, 64), BPF_MOV32_REG(0, 0), BPF_EXIT_INSN()}},
	};
	for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
		struct skep_insn v[4] = {BPF_MOV64_REG(0, 1), shapes[k].v[0], shapes[k].v[1], shapes[k].v[2]};
		int got = folded(v, 4, 1, 1);
		snprintf(name, sizeof name, "zext/shape: %s", shapes[k].name);
		CHECK(got == shapes[k].want, name, "folded %d, want %d", got, shapes[k].want);
	}
	free(b.v);
}

/* Conditional jumps: every condition, JMP and JMP32, register and immediate forms. */
static void test_jcc(int harden, const char *tag)
{
	static const uint8_t ops[] = {BPF_JEQ, BPF_JNE, BPF_JGT, BPF_JGE, BPF_JLT, BPF_JLE,
				      BPF_JSGT, BPF_JSGE, BPF_JSLT, BPF_JSLE, BPF_JSET};
	struct pb b = {0};
	char name[128];
	int bad = 0, checks = 0;
	for (size_t o = 0; o < sizeof ops && !bad; o++)
		for (int cls = 0; cls < 2 && !bad; cls++) {
			uint8_t c = (cls ? BPF_JMP32 : BPF_JMP) | ops[o];
			for (size_t pi = 0; pi < NPAIRS && !bad; pi += 2) {
				int d = pairs[pi][0], s = pairs[pi][1], base = base_for(d, s);
				int flag = 0;
				while (flag == d || flag == s || flag == base)
					flag++;
				int off = 0;
				prog_start(&b, base);
				for (size_t a = 0; a < NVALS; a++) {
					for (size_t k = 0; k < NVALS; k += 2) {
						add_lddw(&b, d, vals[a]);
						if (s != d)
							add_lddw(&b, s, vals[k]);
						add(&b, BPF_MOV64_IMM(flag, 1));
						add(&b, BPF_RAW_INSN(c | BPF_X, d, s, 1, 0));
						add(&b, BPF_MOV64_IMM(flag, 2));
						add(&b, BPF_STX_MEM(BPF_DW, base, flag, (int16_t)off));
						off += 8;
					}
					for (size_t k = 0; k < NIMMS; k++) {
						add_lddw(&b, d, vals[a]);
						add(&b, BPF_MOV64_IMM(flag, 1));
						add(&b, BPF_RAW_INSN(c | BPF_K, d, 0, 1, imms[k]));
						add(&b, BPF_MOV64_IMM(flag, 2));
						add(&b, BPF_STX_MEM(BPF_DW, base, flag, (int16_t)off));
						off += 8;
					}
				}
				prog_end(&b);
				snprintf(name, sizeof name, "%s/jcc/%02x/r%d,r%d", tag, c, d, s);
				bad = !grid_run(&b, name, harden, &checks);
			}
		}
	snprintf(name, sizeof name, "%s/jcc all conditions", tag);
	CHECK(!bad, name, "see above (%d programs)", checks);
	free(b.v);
}

/* Loads, stores, sign-extending loads, atomics: on the stack and in memory. */
static void test_mem(int harden, const char *tag)
{
	struct pb b = {0};
	char name[128];
	int bad = 0, checks = 0;
	static const uint8_t sizes[] = {BPF_B, BPF_H, BPF_W, BPF_DW};
	static const int32_t aops[] = {BPF_ADD, BPF_OR, BPF_AND, BPF_XOR, BPF_ADD | BPF_FETCH,
				       BPF_OR | BPF_FETCH, BPF_AND | BPF_FETCH, BPF_XOR | BPF_FETCH,
				       BPF_XCHG, BPF_CMPXCHG};
	for (size_t pi = 0; pi < NPAIRS && !bad; pi++) {
		int d = pairs[pi][0], s = pairs[pi][1];
		if (d == s)
			continue;
		int base = base_for(d, s), off = 0;
		/* memory at base + 16384.. is the scratch area the ops work on */
		prog_start(&b, base);
		for (size_t a = 0; a < NVALS; a += 6) {
			for (size_t z = 0; z < 4; z++) {
				/* store through d, load back through s, every size and sign */
				case_head(&b, base);
				add(&b, BPF_MOV64_REG(d, base));
				add(&b, BPF_ALU64_IMM(BPF_ADD, d, 16384 + (int)a * 8));
				add_lddw(&b, s, vals[a] ^ 0x5555);
				add(&b, BPF_STX_MEM(sizes[z], d, s, 3));
				add(&b, BPF_ST_MEM(sizes[z], d, 40, imms[a % NIMMS]));
				add(&b, BPF_MOV64_REG(s, d));
				add(&b, BPF_LDX_MEM(sizes[z], d, s, 3));
				add(&b, BPF_MOV64_IMM(s, 0));  /* held an address: differs per engine */
				case_tail(&b, base, &off);
				case_head(&b, base);
				add(&b, BPF_MOV64_REG(s, base));
				add(&b, BPF_LDX_MEM(sizes[z], d, s, 16384 + (int)a * 8 + 40));
				add(&b, BPF_MOV64_IMM(s, 0));
				case_tail(&b, base, &off);
				if (sizes[z] != BPF_DW) {
					case_head(&b, base);
					add(&b, BPF_MOV64_REG(s, base));
					add(&b, BPF_LDX_MEMSX(sizes[z], d, s, 16384 + (int)a * 8 + 3));
					add(&b, BPF_MOV64_IMM(s, 0));
					case_tail(&b, base, &off);
				}
			}
			/* atomics: address in d (base + area), operand in s, r0 the cmpxchg comparand */
			for (size_t k = 0; k < sizeof aops / sizeof aops[0]; k++)
				for (int wide = 0; wide < 2; wide++) {
					int32_t ao = aops[k];
					case_head(&b, base);
					add(&b, BPF_MOV64_REG(d, base));
					add(&b, BPF_ALU64_IMM(BPF_ADD, d, 20000 + (int)k * 16));
					add_lddw(&b, s, vals[a] * 3 + 1);
					if (d != 0 && s != 0 && (a & 1))
						add_lddw(&b, 0, 0xdeadbeefcafebabe);  /* cmpxchg matches */
					add(&b, BPF_ATOMIC_OP(wide ? BPF_DW : BPF_W, ao, d, s, 8));
					if (!(ao == BPF_CMPXCHG && d == 0))
						add(&b, BPF_MOV64_IMM(d, 0));
					case_tail(&b, base, &off);
					/* and with the address in r10 (stack) */
					case_head(&b, base);
					add_lddw(&b, s, vals[a]);
					add(&b, BPF_ST_MEM(BPF_DW, 10, -16, 0x12345678));
					add(&b, BPF_ATOMIC_OP(wide ? BPF_DW : BPF_W, ao, 10, s, -16));
					add(&b, BPF_LDX_MEM(BPF_DW, d, 10, -16));
					case_tail(&b, base, &off);
				}
		}
		if (off > 16000) {
			fprintf(stderr, "test_mem: result area overflow (%d)\n", off);
			abort();
		}
		prog_end(&b);
		/* the scratch area starts with a recognisable pattern */
		for (size_t k = 16384; k < sizeof grid_mem; k++)
			grid_mem[k] = (uint8_t)(k * 7 + 1);
		for (int k = 0; k < 10; k++)  /* cmpxchg sees 0xdeadbeefcafebabe at some slots */
			memcpy(grid_mem + 20000 + k * 16 + 8, &(uint64_t){0xdeadbeefcafebabe}, 8);
		snprintf(name, sizeof name, "%s/mem/r%d,r%d", tag, d, s);
		bad = !grid_run(&b, name, harden, &checks);
		memset(grid_mem, 0, sizeof grid_mem);
	}
	snprintf(name, sizeof name, "%s/loads, stores, atomics", tag);
	CHECK(!bad, name, "see above (%d programs)", checks);
	free(b.v);
}

/* ---- jumps of every distance ---- */

static void test_jump_distance(void)
{
	char why[256], name[64];
	static const int dists[] = {0, 1, 2, 10, 30, 31, 32, 33, 60, 126, 127, 128, 129, 200, 1000, 40000};
	for (size_t k = 0; k < sizeof dists / sizeof dists[0]; k++) {
		int dist = dists[k];
		struct pb b = {0};
		/* forward: if r1 != 0 skip dist filler ops (each "r0 += 3", about 4 bytes) */
		int fwd = dist < 32767 ? dist : 32767, d16 = dist < 32000 ? dist : 32000;
		add(&b, BPF_MOV64_IMM(0, 5));
		add(&b, BPF_MOV64_IMM(2, 0));
		add(&b, BPF_JMP_IMM(BPF_JEQ, 2, 0, (int16_t)fwd));
		for (int i = 0; i < fwd; i++)
			add(&b, BPF_ALU64_IMM(BPF_ADD, 0, 3));
		/* backward: a loop over dist filler ops, run 3 times */
		add(&b, BPF_MOV64_IMM(3, 3));
		for (int i = 0; i < d16; i++)
			add(&b, BPF_ALU64_IMM(BPF_ADD, 0, 1));
		add(&b, BPF_ALU64_IMM(BPF_SUB, 3, 1));
		add(&b, BPF_JMP_IMM(BPF_JNE, 3, 0, (int16_t)-(d16 + 2)));
		/* gotol over the same distance plus the 16-bit range */
		add(&b, BPF_JMP32_A(dist));
		for (int i = 0; i < dist; i++)
			add(&b, BPF_ALU64_IMM(BPF_ADD, 0, 7));
		add(&b, BPF_EXIT_INSN());
		uint64_t r0 = 0;
		snprintf(name, sizeof name, "jump/distance %d", dist);
		int ok = agree(b.v, b.n, NULL, 0, 0, why, sizeof why, &r0);
		CHECK(ok && r0 == 5 + 3 * (uint64_t)d16, name, "%s (r0 %" PRIu64 ")", ok ? "wrong r0" : why, r0);
		/* the jump's code: short (2-byte) forms while they reach */
		if (dist > 0 && dist <= 129) {
			int e;
			skep_prog *p = make(b.v, b.n, SKEP_ENGINE_JIT, 0, &e);
			struct skep_jited j;
			if (!e && !skep_prog_jited(p, &j)) {
				uint32_t jsz = j.insn_off[3] - j.insn_off[2] - 3; /* minus "test esi, esi" */
				int expect_short = dist * 4 < 127;
				snprintf(name, sizeof name, "jump/encoding %d", dist);
				CHECK(dist * 4 > 120 && dist * 4 < 134 ? 1 : (jsz == 2) == expect_short, name,
				      "forward jump over %d insns is %u bytes", dist, jsz);
			}
			skep_prog_free(p);
		}
		free(b.v);
	}
}

/* ---- calls ---- */

/* chain of depth frames: main calls f1 calls f2 ... each adds its level; r6..r9 kept */
static void build_chain(struct pb *b, int depth)
{
	b->n = 0;
	add(b, BPF_MOV64_IMM(6, 60));
	add(b, BPF_MOV64_IMM(7, 70));
	add(b, BPF_MOV64_IMM(8, 80));
	add(b, BPF_MOV64_IMM(9, 90));
	add(b, BPF_MOV64_IMM(1, 1));
	add(b, BPF_ST_MEM(BPF_DW, 10, -8, 1000));
	add(b, BPF_CALL_REL(depth > 1 ? 8 : 0));  /* to the first callee (index 7 + 8 = 15) */
	add(b, BPF_LDX_MEM(BPF_DW, 1, 10, -8));   /* own stack survives */
	add(b, BPF_ALU64_REG(BPF_ADD, 0, 1));
	add(b, BPF_ALU64_REG(BPF_ADD, 0, 6));
	add(b, BPF_ALU64_REG(BPF_ADD, 0, 7));
	add(b, BPF_ALU64_REG(BPF_ADD, 0, 8));
	add(b, BPF_ALU64_REG(BPF_ADD, 0, 9));
	add(b, BPF_EXIT_INSN());
	add(b, BPF_EXIT_INSN());  /* 14: target when depth == 1 (never mind) */
	/* callee k (k = 1..depth-1), 10 insns each, starting at 15 */
	for (int k = 1; k < depth; k++) {
		add(b, BPF_MOV64_IMM(6, k));                       /* clobbers the caller's r6.. */
		add(b, BPF_ST_MEM(BPF_DW, 10, -8, k * 7));
		add(b, BPF_STX_MEM(BPF_DW, 10, 6, -16));
		add(b, BPF_ALU64_IMM(BPF_ADD, 1, 1));
		if (k + 1 < depth)
			add(b, BPF_CALL_REL(5));                   /* next callee */
		else
			add(b, BPF_MOV64_REG(0, 1));
		add(b, BPF_LDX_MEM(BPF_DW, 7, 10, -8));
		add(b, BPF_ALU64_REG(BPF_ADD, 0, 7));
		add(b, BPF_LDX_MEM(BPF_DW, 7, 10, -16));
		add(b, BPF_ALU64_REG(BPF_ADD, 0, 7));
		add(b, BPF_EXIT_INSN());
	}
}

static void test_calls(void)
{
	char why[256], name[64];
	struct pb b = {0};
	for (int depth = 2; depth <= 8; depth++) {
		build_chain(&b, depth);
		snprintf(name, sizeof name, "calls/chain of %d frames", depth);
		uint64_t r0;
		int ok = agree(b.v, b.n, NULL, 0, 0, why, sizeof why, &r0);
		CHECK(ok, name, "%s", why);
	}
	/* beyond 8 frames: no static bound, so frames are counted at run time and the run
	 * fails at the call that would make the 9th, as in the interpreter */
	build_chain(&b, 9);
	int e, ei;
	skep_prog *p = make(b.v, b.n, SKEP_ENGINE_JIT, 0, &e);
	skep_prog *pi = make(b.v, b.n, SKEP_ENGINE_INTERP, 0, &ei);
	uint64_t r0 = 0, ri = 0;
	int rc = e ? e : skep_prog_run_mem(p, NULL, 0, &r0);
	int rci = skep_prog_run_mem(pi, NULL, 0, &ri);
	CHECK(rc == -E2BIG && rci == rc && !strcmp(skep_prog_error(p), skep_prog_error(pi)),
	      "calls/9 frames fail at run time", "jit %d '%s', interp %d '%s'", rc, skep_prog_error(p), rci,
	      skep_prog_error(pi));
	/* the failing run unwinds cleanly (callee-saved registers restored), again and again */
	int ok = 1;
	for (int k = 0; k < 1000 && ok; k++)
		ok = skep_prog_run_mem(p, NULL, 0, &r0) == -E2BIG;
	skep_prog_fn fn = skep_prog_func(p);
	ok = ok && fn && fn(NULL, 0) == 0;
	CHECK(ok, "calls/failed runs unwind", "a repeated failing run misbehaved");
	skep_prog_free(p);
	skep_prog_free(pi);

	/* recursion: bounded at run time the same way; sum(n) = n + sum(n - 1) */
	struct skep_insn rec[] = {
		BPF_LDX_MEM(BPF_DW, 1, 1, 0), BPF_MOV64_IMM(6, 100), BPF_CALL_REL(2),
		BPF_ALU64_REG(BPF_ADD, 0, 6), BPF_EXIT_INSN(),
		BPF_MOV64_IMM(0, 0), BPF_JMP_IMM(BPF_JEQ, 1, 0, 6), BPF_MOV64_REG(6, 1),
		BPF_STX_MEM(BPF_DW, 10, 1, -8), BPF_ALU64_IMM(BPF_SUB, 1, 1), BPF_CALL_REL(-6),
		BPF_LDX_MEM(BPF_DW, 1, 10, -8), BPF_ALU64_REG(BPF_ADD, 0, 6), BPF_ALU64_REG(BPF_ADD, 0, 1),
		BPF_EXIT_INSN(),
	};
	for (uint64_t depth = 0; depth <= 8; depth++) {
		uint64_t m = depth;
		snprintf(name, sizeof name, "calls/recursion %" PRIu64 " deep", depth);
		if (depth < 7) {
			ok = agree(rec, sizeof rec / sizeof rec[0], (uint8_t *)&m, 8, depth & 1, why, sizeof why, &r0);
			CHECK(ok && r0 == 100 + depth * (depth + 1), name, "%s (r0 %" PRIu64 ")", why, r0);
		} else {
			p = make(rec, sizeof rec / sizeof rec[0], SKEP_ENGINE_JIT, 0, &e);
			rc = e ? e : skep_prog_run_mem(p, &m, 8, &r0);
			CHECK(rc == -E2BIG && strstr(skep_prog_error(p), "insn 10: the call stack of 9 frames"), name,
			      "rc %d: %s", rc, skep_prog_error(p));
			skep_prog_free(p);
		}
	}

	/* helpers, with every argument register */
	struct skep_insn hc[] = {
		BPF_MOV64_IMM(1, 1), BPF_MOV64_IMM(2, 10), BPF_MOV64_IMM(3, 100), BPF_MOV64_IMM(4, 1000),
		BPF_MOV64_IMM(5, 10000), BPF_MOV64_IMM(6, 7), BPF_CALL_HELPER(1),
		BPF_MOV64_REG(1, 0), BPF_MOV64_IMM(2, 3), BPF_CALL_HELPER(2),
		BPF_ALU64_REG(BPF_ADD, 0, 6), BPF_EXIT_INSN(),
	};
	ok = agree(hc, sizeof hc / sizeof hc[0], NULL, 0, 0, why, sizeof why, &r0);
	CHECK(ok && r0 == ((1 + 20 + 300 + 4000 + 50000) * 31 ^ 3) + 7, "calls/helpers", "%s r0 %" PRIu64,
	      why, r0);
	/* helper from a subprogram without a stack (alignment of the callee's frame) */
	struct skep_insn hs[] = {
		BPF_MOV64_IMM(1, 2), BPF_MOV64_IMM(6, 5), BPF_CALL_REL(2), BPF_ALU64_REG(BPF_ADD, 0, 6),
		BPF_EXIT_INSN(),
		BPF_MOV64_IMM(2, 3), BPF_MOV64_IMM(6, 9), BPF_CALL_HELPER(2), BPF_ALU64_REG(BPF_ADD, 0, 6),
		BPF_EXIT_INSN(),
	};
	ok = agree(hs, sizeof hs / sizeof hs[0], NULL, 0, 0, why, sizeof why, &r0);
	CHECK(ok && r0 == ((2 * 31 ^ 3) + 9 + 5), "calls/helper in subprogram", "%s r0 %" PRIu64, why, r0);

	/* unbound helper: compile-time error naming it */
	struct skep_insn ub[] = {BPF_CALL_HELPER(77), BPF_EXIT_INSN()};
	p = make(ub, 2, SKEP_ENGINE_INTERP, 0, &e);
	rc = skep_prog_set_engine(p, SKEP_ENGINE_JIT);
	const char *fb = skep_prog_fallback_reason(p);
	CHECK(rc == 0 && fb && strstr(fb, "insn 0") && strstr(fb, "77"), "calls/unbound helper",
	      "rc %d: %s", rc, fb ? fb : skep_prog_error(p));
	/* and the interpreter it falls back to reports the call at run time */
	uint64_t r0u;
	rc = skep_prog_run_mem(p, NULL, 0, &r0u);
	CHECK(rc == -ENOSYS && strstr(skep_prog_error(p), "77"), "calls/unbound helper at run time", "rc %d: %s",
	      rc, skep_prog_error(p));
	skep_prog_free(p);
	free(b.v);
}

/* ---- tail calls ---- */

/* Run p (JIT) and then the same on the interpreter, on copies of mem; the JIT's rc and
 * r0, or -1000 if the two engines differ. */
static int run_both(skep_prog *p, uint64_t *mem, size_t len, const void *pkt, size_t pkt_len,
		    uint64_t *r0)
{
	uint64_t copy[8], ri = 0;
	memcpy(copy, mem, len);
	struct skep_run_args a = {.r = {(uint64_t)(uintptr_t)mem, len}, .pkt = pkt ? pkt : mem,
				  .pkt_len = pkt ? pkt_len : len};
	int rc = skep_prog_run(p, &a, r0);
	skep_prog_set_engine(p, SKEP_ENGINE_INTERP);
	a.r[0] = (uint64_t)(uintptr_t)copy;
	if (!pkt)
		a.pkt = copy;
	int ri_rc = skep_prog_run(p, &a, &ri);
	skep_prog_set_engine(p, SKEP_ENGINE_JIT);
	if (rc != ri_rc || ri != *r0 || memcmp(copy, mem, len)) {
		printf("  interp: rc %d r0 %" PRIu64 " (%s); jit: rc %d r0 %" PRIu64 "\n", ri_rc, ri,
		       skep_prog_error(p), rc, *r0);
		return -1000;
	}
	return rc;
}

static void test_tail_calls(void)
{
	/* prog A: *(u64 *)(r1) += 1; tail call array[r1[8]]; return 1000 + count
	 * array[0] = A itself: chains until the limit of 33 */
	struct skep_prog_array arr;
	struct skep_prog *slots[4] = {0};
	arr.max_entries = 4;
	arr.progs = slots;
	struct pb b = {0};
	add(&b, BPF_MOV64_REG(6, 1));
	add(&b, BPF_LDX_MEM(BPF_DW, 0, 6, 0));
	add(&b, BPF_ALU64_IMM(BPF_ADD, 0, 1));
	add(&b, BPF_STX_MEM(BPF_DW, 6, 0, 0));
	add_lddw(&b, 2, (uint64_t)(uintptr_t)&arr);
	add(&b, BPF_LDX_MEM(BPF_DW, 3, 6, 8));
	add(&b, BPF_ST_MEM(BPF_DW, 10, -8, 5));  /* uses the stack and keeps r0 across the call */
	add(&b, BPF_CALL_HELPER(SKEP_HELPER_TAIL_CALL));
	add(&b, BPF_LDX_MEM(BPF_DW, 0, 6, 0));
	add(&b, BPF_ALU64_IMM(BPF_ADD, 0, 1000));
	add(&b, BPF_EXIT_INSN());
	int e;
	skep_prog *a = make(b.v, b.n, SKEP_ENGINE_JIT, 0, &e);
	CHECK(!e, "tail/load", "%s", skep_prog_error(a));
	/* prog B: returns 7 * count + r1[16]; uses ld_abs through the same block */
	struct skep_insn bi[] = {
		BPF_MOV64_REG(6, 1),
		BPF_LD_ABS(BPF_B, 0),
		BPF_MOV64_REG(7, 0),
		BPF_LDX_MEM(BPF_DW, 0, 6, 0),
		BPF_ALU64_IMM(BPF_MUL, 0, 7),
		BPF_ALU64_REG(BPF_ADD, 0, 7),
		BPF_EXIT_INSN(),
	};
	skep_prog *bp = make(bi, sizeof bi / sizeof bi[0], SKEP_ENGINE_JIT, 0, &e);
	CHECK(!e, "tail/load B", "%s", skep_prog_error(bp));
	uint64_t mem[4], r0 = 0;
	/* empty slot: falls through */
	memset(mem, 0, sizeof mem);
	int rc = run_both(a, mem, sizeof mem, NULL, 0, &r0);
	CHECK(!rc && r0 == 1001 && mem[0] == 1, "tail/empty slot falls through", "rc %d r0 %" PRIu64, rc, r0);
	/* out of range index */
	memset(mem, 0, sizeof mem);
	mem[1] = 4;
	slots[0] = a;
	rc = run_both(a, mem, sizeof mem, NULL, 0, &r0);
	CHECK(!rc && r0 == 1001, "tail/index out of range falls through", "rc %d r0 %" PRIu64, rc, r0);
	mem[0] = 0;
	mem[1] = 0x100000000;  /* only the low 32 bits are the index: slot 0 */
	rc = run_both(a, mem, sizeof mem, NULL, 0, &r0);
	CHECK(!rc && mem[0] == 34 && r0 == 1034, "tail/33 tail calls then fall through",
	      "rc %d r0 %" PRIu64 " count %" PRIu64, rc, r0, mem[0]);
	/* a second run starts with a fresh counter */
	mem[0] = 0;
	rc = run_both(a, mem, sizeof mem, NULL, 0, &r0);
	CHECK(!rc && mem[0] == 34, "tail/counter is per run", "count %" PRIu64, mem[0]);
	/* the fast entry (skep_prog_func) has a counter too */
	skep_prog_fn fn = skep_prog_func(a);
	mem[0] = 0;
	r0 = fn ? fn(mem, sizeof mem) : 0;
	CHECK(fn && mem[0] == 34 && r0 == 1034, "tail/fast entry", "r0 %" PRIu64, r0);
	/* to another program: its result is the run's result; it sees the packet */
	slots[1] = bp;
	mem[0] = 0;
	mem[1] = 1;
	rc = run_both(a, mem, sizeof mem, NULL, 0, &r0);
	CHECK(!rc && r0 == 7 * 1 + 1, "tail/to another program", "rc %d r0 %" PRIu64, rc, r0);
	/* a target without native code: the JIT falls through (the interpreter would run it) */
	skep_prog *cold = make(bi, sizeof bi / sizeof bi[0], SKEP_ENGINE_INTERP, 0, &e);
	slots[2] = cold;
	mem[0] = 0;
	mem[1] = 2;
	rc = skep_prog_run_mem(a, mem, sizeof mem, &r0);
	CHECK(!rc && r0 == 1001, "tail/target without code falls through", "rc %d r0 %" PRIu64, rc, r0);
	/* tail call from a subprogram: the target returns to the subprogram's caller */
	struct pb c = {0};
	add(&c, BPF_MOV64_IMM(6, 11));
	add(&c, BPF_CALL_REL(3));
	add(&c, BPF_ALU64_IMM(BPF_MUL, 0, 100));
	add(&c, BPF_ALU64_REG(BPF_ADD, 0, 6));
	add(&c, BPF_EXIT_INSN());
	add(&c, BPF_MOV64_IMM(6, 22));
	add_lddw(&c, 2, (uint64_t)(uintptr_t)&arr);
	add(&c, BPF_MOV64_IMM(3, 1));
	add(&c, BPF_CALL_HELPER(SKEP_HELPER_TAIL_CALL));
	add(&c, BPF_MOV64_IMM(0, 5));
	add(&c, BPF_EXIT_INSN());
	skep_prog *cp = make(c.v, c.n, SKEP_ENGINE_JIT, 0, &e);
	CHECK(!e, "tail/load C", "%s", skep_prog_error(cp));
	mem[0] = 3;
	uint8_t pkt[1] = {9};
	rc = run_both(cp, mem, sizeof mem, pkt, 1, &r0);
	CHECK(!rc && r0 == (7 * 3 + 9) * 100 + 11, "tail/from a subprogram", "rc %d r0 %" PRIu64, rc, r0);
	skep_prog_free(cp);
	skep_prog_free(cold);
	skep_prog_free(bp);
	skep_prog_free(a);
	free(b.v);
	free(c.v);
}

/* ---- ld_abs / ld_ind ---- */

static void test_ldpkt(void)
{
	static const uint8_t pkt[16] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
					1, 2, 3, 4, 5, 6, 7, 8};
	static const int32_t offs[] = {0, 1, 12, 13, 14, 15, 16, 17, -1, INT32_MIN, 0x7fffffff};
	static const uint8_t sizes[] = {BPF_B, BPF_H, BPF_W};
	int bad = 0, n = 0;
	char why[256];
	for (size_t z = 0; z < 3; z++)
		for (size_t k = 0; k < sizeof offs / sizeof offs[0]; k++)
			for (int ind = 0; ind < 3; ind++) {
				struct skep_insn v[] = {
					BPF_MOV64_REG(6, 1),
					BPF_LDX_MEM(BPF_DW, 7, 6, 0),
					ind == 0 ? BPF_LD_ABS(sizes[z], offs[k])
						 : BPF_LD_IND(sizes[z], 7, ind == 1 ? offs[k] : 1),
					BPF_ALU64_IMM(BPF_ADD, 0, 1),
					BPF_EXIT_INSN(),
				};
				uint8_t mem[16];
				memcpy(mem, pkt, 16);
				/* r7 = the first 8 bytes; for ind == 2 the offset comes from r7's low half */
				if (ind == 2) {
					uint64_t o = (uint64_t)(int64_t)offs[k] | 0xabcd00000000;
					memcpy(mem, &o, 8);
				}
				for (int harden = 0; harden < 2; harden++) {
					n++;
					if (!agree(v, 5, mem, 16, harden, why, sizeof why, NULL)) {
						bad = 1;
						CHECK(0, "ldpkt", "size %d off %d ind %d: %s", sizes[z], offs[k], ind, why);
					}
				}
			}
	CHECK(!bad, "ldpkt/all sizes and offsets", "%d programs", n);
	/* ld_abs with bpf-to-bpf calls is refused (as the kernel's verifier does) */
	struct skep_insn mix[] = {BPF_CALL_REL(1), BPF_EXIT_INSN(), BPF_LD_ABS(BPF_B, 0), BPF_EXIT_INSN()};
	refuse("ldpkt/with calls refused", mix, 4, "ld_abs");
}

/* ---- refusals and structure ---- */

/* A program the JIT cannot compile: choosing the JIT succeeds, runs fall back to the
 * interpreter, and the reason (naming frag) is kept. */
static void refuse(const char *name, const struct skep_insn *v, size_t n, const char *frag)
{
	int e;
	skep_prog *p = make(v, n, SKEP_ENGINE_INTERP, 0, &e);
	int rc = e ? e : skep_prog_set_engine(p, SKEP_ENGINE_JIT);
	const char *why = skep_prog_fallback_reason(p);
	CHECK(rc == 0 && skep_prog_engine(p) == SKEP_ENGINE_INTERP && why && strstr(why, frag), name,
	      "rc %d engine %d: fallback '%s' error '%s'", rc, (int)skep_prog_engine(p), why ? why : "(none)",
	      skep_prog_error(p));
	skep_prog_free(p);
}

static void test_refusals(void)
{
	struct skep_insn r10[] = {BPF_MOV64_IMM(10, 0), BPF_EXIT_INSN()};
	refuse("refuse/write r10", r10, 2, "r10");
	struct skep_insn cross[] = {BPF_CALL_REL(1), BPF_JMP_A(1), BPF_EXIT_INSN(), BPF_EXIT_INSN()};
	refuse("refuse/jump across functions", cross, 4, "leaves the function");
	struct skep_insn fall[] = {BPF_CALL_REL(1), BPF_MOV64_IMM(0, 1), BPF_MOV64_IMM(0, 2), BPF_EXIT_INSN()};
	refuse("refuse/fall into next function", fall, 4, "fall through");
	struct skep_insn kf[] = {BPF_CALL_KFUNC(5), BPF_EXIT_INSN()};
	refuse("refuse/kfunc", kf, 2, "kfunc");
}

/* ---- W^X and hardening ---- */

static void test_wx_harden(void)
{
	struct skep_insn v[] = {
		BPF_MOV64_IMM(0, 0x5a5a1234), BPF_ALU64_IMM(BPF_ADD, 0, 0x3c3c4321),
		BPF_JMP_IMM(BPF_JEQ, 0, 0x1b1b7777, 1), BPF_ST_MEM(BPF_W, 10, -4, 0x2d2d6666),
		BPF_LD_IMM64(1, 0x7e7e11112222), BPF_ALU64_REG(BPF_ADD, 0, 1), BPF_EXIT_INSN(),
	};
	size_t n = sizeof v / sizeof v[0];
	static const uint32_t secret[] = {0x5a5a1234, 0x3c3c4321, 0x1b1b7777, 0x2d2d6666};
	for (int harden = 0; harden < 2; harden++) {
		int e;
		skep_prog *p = make(v, n, SKEP_ENGINE_JIT, harden, &e);
		struct skep_jited j;
		int rc = e ? e : skep_prog_jited(p, &j);
		CHECK(!rc, harden ? "harden/compile" : "plain/compile", "%s", skep_prog_error(p));
		if (rc) {
			skep_prog_free(p);
			continue;
		}
		int found = 0;
		for (size_t s = 0; s < 4; s++)
			for (size_t k = 0; k + 4 <= j.size; k++)
				if (!memcmp(j.code + k, &secret[s], 4))
					found++;
		if (harden)
			CHECK(found == 0, "harden/immediates not in the code", "%d found", found);
		else
			CHECK(found == 4, "plain/immediates in the code", "%d of 4 found", found);
		uint64_t r0;
		skep_prog_run_mem(p, NULL, 0, &r0);
		CHECK(r0 == 0x5a5a1234ull + 0x3c3c4321ull + 0x7e7e11112222ull, harden ? "harden/result" : "plain/result",
		      "r0 0x%" PRIx64, r0);
		/* W^X: the code's mapping is r-x */
		FILE *f = fopen("/proc/self/maps", "r");
		char line[512], perms[8] = "";
		uintptr_t at = (uintptr_t)j.code;
		while (f && fgets(line, sizeof line, f)) {
			unsigned long lo, hi;
			char pm[8];
			if (sscanf(line, "%lx-%lx %7s", &lo, &hi, pm) == 3 && at >= lo && at < hi) {
				strcpy(perms, pm);
				break;
			}
		}
		if (f)
			fclose(f);
		CHECK(!strncmp(perms, "r-x", 3), "wx/code is read+exec only", "perms '%s'", perms);
		skep_prog_free(p);
		/* freed with the program */
		f = fopen("/proc/self/maps", "r");
		int still = 0;
		while (f && fgets(line, sizeof line, f)) {
			unsigned long lo, hi;
			if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && at >= lo && at < hi && strstr(line, "r-x"))
				still = 1;
		}
		if (f)
			fclose(f);
		CHECK(!still, "wx/unmapped with the program", "code still mapped");
	}
}

/* ---- big and random programs ---- */

static uint64_t rs = 0x9e3779b97f4a7c15;
static uint64_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

/* Straight-line ALU over r0..r9 with forward jumps, every register initialised. */
static void gen_straight(struct pb *b, size_t len)
{
	static const uint8_t ops[] = {BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR, BPF_AND, BPF_LSH,
				      BPF_RSH, BPF_MOD, BPF_XOR, BPF_MOV, BPF_ARSH, BPF_NEG};
	static const uint8_t jops[] = {BPF_JEQ, BPF_JNE, BPF_JGT, BPF_JGE, BPF_JLT, BPF_JLE,
				       BPF_JSGT, BPF_JSGE, BPF_JSLT, BPF_JSLE, BPF_JSET};
	b->n = 0;
	for (int r = 0; r <= 9; r++)
		add_lddw(b, r, rnd());
	while (b->n + 12 < len) {
		int d = (int)(rnd() % 10), s = (int)(rnd() % 10);
		unsigned k = (unsigned)(rnd() % 16);
		int32_t imm = (rnd() & 1) ? (int32_t)(rnd() % 64) - 16 : (int32_t)rnd();
		if (k < 10) {
			uint8_t op = ops[rnd() % sizeof ops], cls = (rnd() & 1) ? BPF_ALU64 : BPF_ALU;
			int16_t off = (op == BPF_DIV || op == BPF_MOD) ? (int16_t)(rnd() & 1) : 0;
			if (op == BPF_NEG)
				add(b, BPF_RAW_INSN(cls | op, d, 0, 0, 0));
			else if (rnd() & 1)
				add(b, BPF_RAW_INSN(cls | op | BPF_X, d, s, off, 0));
			else
				add(b, BPF_RAW_INSN(cls | op | BPF_K, d, 0, off, imm));
		} else if (k < 13) {
			size_t room = len - 12 - b->n;
			int16_t off = (int16_t)(rnd() % (room < 300 ? room : 300));
			uint8_t cls = (rnd() & 1) ? BPF_JMP : BPF_JMP32, op = jops[rnd() % sizeof jops];
			if (rnd() & 1)
				add(b, BPF_RAW_INSN(cls | op | BPF_X, d, s, off, 0));
			else
				add(b, BPF_RAW_INSN(cls | op | BPF_K, d, 0, off, imm));
		} else if (k < 14) {
			add_lddw(b, d, rnd());
		} else if (k < 15) {
			static const int offs[] = {8, 16, 32, 48};
			add(b, BPF_STX_MEM(BPF_DW, 10, d, (int16_t)-offs[rnd() % 4]));
			add(b, BPF_LDX_MEM((uint8_t)((rnd() % 4) << 3), s, 10, (int16_t)-offs[rnd() % 4]));
		} else {
			add(b, BPF_RAW_INSN(BPF_ALU64 | BPF_END | BPF_TO_LE, d, 0, 0, 16 << (rnd() % 3)));
		}
	}
	/* no jump may land on a lddw's second half: move such targets one further */
	uint8_t *second = calloc(b->n + 1, 1);
	for (size_t i = 0; i < b->n; i++)
		if (b->v[i].code == (BPF_LD | BPF_DW | BPF_IMM))
			second[++i] = 1;
	for (size_t i = 0; i < b->n; i++) {
		uint8_t c = b->v[i].code;
		if (!second[i] && ((c & 7) == BPF_JMP || (c & 7) == BPF_JMP32))
			while (second[i + 1 + (size_t)b->v[i].off])
				b->v[i].off++;
	}
	free(second);
	/* stack slots read above were written first: prefill them */
	static const int16_t slot[4] = {-8, -16, -32, -48};
	struct skep_insn pre[4];
	for (int k = 0; k < 4; k++)
		pre[k] = BPF_ST_MEM(BPF_DW, 10, slot[k], k * 1111);
	add(b, BPF_EXIT_INSN());
	/* fold everything into r0 */
	b->n--;
	for (int r = 1; r <= 9; r++) {
		add(b, BPF_ALU64_IMM(BPF_MUL, 0, 31));
		add(b, BPF_ALU64_REG(BPF_XOR, 0, r));
	}
	add(b, BPF_EXIT_INSN());
	/* insert the prefill at the start (shift everything by 4; jumps are relative) */
	if (b->n + 4 > b->cap) {
		b->cap = b->n + 4;
		b->v = realloc(b->v, b->cap * sizeof *b->v);
	}
	memmove(b->v + 4, b->v, b->n * sizeof *b->v);
	memcpy(b->v, pre, sizeof pre);
	b->n += 4;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void test_big(void)
{
	struct pb b = {0};
	char why[256];
	gen_straight(&b, 100000);
	double t0 = now();
	int e;
	skep_prog *p = make(b.v, b.n, SKEP_ENGINE_JIT, 0, &e);
	double t1 = now();
	CHECK(!e, "big/100k compiles", "%s", skep_prog_error(p));
	struct skep_jited j;
	if (!e && !skep_prog_jited(p, &j))
		printf("info: %zu insns: compiled to %zu bytes in %.2f ms\n", b.n, j.size, (t1 - t0) * 1e3);
	skep_prog_free(p);
	CHECK(agree(b.v, b.n, NULL, 0, 0, why, sizeof why, NULL), "big/100k agrees", "%s", why);
	CHECK(agree(b.v, b.n, NULL, 0, 1, why, sizeof why, NULL), "big/100k hardened agrees", "%s", why);
	free(b.v);
}

static void test_random(int count)
{
	struct pb b = {0};
	char why[256];
	int bad = 0, n = 0;
	for (int i = 0; i < count && bad < 3; i++) {
		gen_straight(&b, 20 + rnd() % 400);
		n++;
		/* every other program with some techniques switched off, to cover both paths */
		jit_off = (i & 1) ? (unsigned)rnd() & 0x3fff : 0;
		if (!agree(b.v, b.n, NULL, 0, (i % 5) == 0, why, sizeof why, NULL)) {
			bad++;
			CHECK(0, "random/straight", "program %d (%zu insns, off 0x%x): %s", i, b.n, jit_off, why);
		}
		jit_off = 0;
	}
	CHECK(!bad, "random/straight-line + forward jumps", "%d of %d differ", bad, n);
	bad = 0, n = 0;
	uint64_t seed = 0x5eed;
	for (int i = 0; i < count && bad < 3; i++) {
		struct randprog rp;
		if (randprog_gen(seed, (uint64_t)i, &rp))
			abort();
		n++;
		jit_off = (i & 1) ? (unsigned)rnd() & 0x3fff : 0;
		if (!agree(rp.insns, rp.n, rp.mem, rp.mem_len, (i % 7) == 0, why, sizeof why, NULL)) {
			bad++;
			CHECK(0, "random/randprog", "seed %" PRIu64 " index %d (off 0x%x): %s", seed, i, jit_off, why);
		}
		jit_off = 0;
		randprog_free(&rp);
	}
	CHECK(!bad, "random/randprog (calls, loops, atomics, memory)", "%d of %d differ", bad, n);
	free(b.v);
}

/* Out of memory while compiling is an error, not a crash: in a child with a small
 * address-space limit. */
static void test_oom(void)
{
	if (SANITIZED) {
		t_skip("oom/compile under a memory limit", "address-space limits break the sanitizer");
		return;
	}
	struct pb b = {0};
	gen_straight(&b, 200000);
	int nomem = 0, compiled = 0, bad = 0;
	for (int extra = 0; extra <= 24; extra += 2) {
		pid_t pid = fork();
		if (pid == 0) {
			skep_prog *p = skep_prog_new();
			int e = skep_prog_load(p, b.v, b.n);
			/* what is mapped now plus a little: the compile needs ~ 10 MB more */
			FILE *f = fopen("/proc/self/statm", "r");
			unsigned long pages = 0;
			if (!f || fscanf(f, "%lu", &pages) != 1)
				_exit(4);
			fclose(f);
			struct rlimit rl = {pages * 4096 + ((rlim_t)extra << 19), pages * 4096 + ((rlim_t)extra << 19)};
			setrlimit(RLIMIT_AS, &rl);
			if (!e)
				e = skep_prog_set_engine(p, SKEP_ENGINE_JIT);
			_exit(e == -ENOMEM && skep_prog_error(p)[0] ? 0 : e == 0 ? 2 : 3);
		}
		int st = 0;
		waitpid(pid, &st, 0);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			nomem++;
		else if (WIFEXITED(st) && WEXITSTATUS(st) == 2)
			compiled++;
		else
			bad++;
	}
	printf("info: oom: %d limits gave -ENOMEM, %d compiled\n", nomem, compiled);
	CHECK(!bad && nomem > 0, "oom/compile under memory limits", "%d crashed or failed otherwise", bad);
	free(b.v);
}

/* ---- timings (informative) ---- */

static double time_run(skep_prog *p, void *mem, size_t len, int iters)
{
	uint64_t r0;
	double t0 = now();
	for (int i = 0; i < iters; i++)
		skep_prog_run_mem(p, mem, len, &r0);
	return (now() - t0) / iters * 1e9;
}

static void bench(void)
{
	/* a loop summing 1..n with a few ALU ops per iteration */
	struct skep_insn loop[] = {
		BPF_MOV64_IMM(0, 0), BPF_MOV64_IMM(3, 1000),
		BPF_ALU64_REG(BPF_ADD, 0, 3), BPF_ALU64_IMM(BPF_XOR, 0, 0x55), BPF_ALU32_IMM(BPF_LSH, 0, 1),
		BPF_ALU64_IMM(BPF_SUB, 3, 1), BPF_JMP_IMM(BPF_JNE, 3, 0, -5), BPF_EXIT_INSN(),
	};
	struct skep_insn divl[] = {
		BPF_MOV64_IMM(0, 0), BPF_MOV64_IMM(3, 1000), BPF_LD_IMM64(4, 0xffffffffffff),
		BPF_MOV64_REG(5, 4), BPF_ALU64_REG(BPF_DIV, 5, 3), BPF_ALU64_REG(BPF_ADD, 0, 5),
		BPF_MOV64_REG(5, 4), BPF_ALU64_REG(BPF_MOD, 5, 3), BPF_ALU64_REG(BPF_ADD, 0, 5),
		BPF_ALU64_IMM(BPF_SUB, 3, 1), BPF_JMP_IMM(BPF_JNE, 3, 0, -8), BPF_EXIT_INSN(),
	};
	struct skep_insn memsum[] = {
		BPF_MOV64_IMM(0, 0), BPF_MOV64_REG(3, 1), BPF_ALU64_REG(BPF_ADD, 2, 1),
		BPF_LDX_MEM(BPF_B, 4, 3, 0), BPF_ALU64_REG(BPF_ADD, 0, 4), BPF_ALU64_IMM(BPF_ADD, 3, 1),
		BPF_JMP_REG(BPF_JLT, 3, 2, -4), BPF_EXIT_INSN(),
	};
	struct skep_insn ret[] = {BPF_MOV64_IMM(0, 1), BPF_EXIT_INSN()};
	static uint8_t data[1024];
	const struct {
		const char *name;
		const struct skep_insn *v;
		size_t n;
		size_t len;
		int iters;
	} progs[] = {
		{"alu loop x1000", loop, sizeof loop / sizeof loop[0], 0, 2000},
		{"div/mod loop x1000", divl, sizeof divl / sizeof divl[0], 0, 500},
		{"byte sum 1024", memsum, sizeof memsum / sizeof memsum[0], sizeof data, 2000},
		{"return 1", ret, 2, 0, 200000},
	};
	for (size_t k = 0; k < sizeof progs / sizeof progs[0]; k++) {
		int e;
		skep_prog *pi = make(progs[k].v, progs[k].n, SKEP_ENGINE_INTERP, 0, &e);
		skep_prog *pj = make(progs[k].v, progs[k].n, SKEP_ENGINE_JIT, 0, &e);
		int it = SANITIZED ? progs[k].iters / 20 + 1 : progs[k].iters;
		time_run(pj, data, progs[k].len, it / 10 + 1);
		double ti = time_run(pi, data, progs[k].len, it), tj = time_run(pj, data, progs[k].len, it);
		printf("info: %-20s interp %9.1f ns  jit %9.1f ns  (x%.1f)\n", progs[k].name, ti, tj, ti / tj);
		skep_prog_free(pi);
		skep_prog_free(pj);
	}
	/* per-call overhead: the direct function and the run API on "return 1" */
	int e;
	skep_prog *p = make(ret, 2, SKEP_ENGINE_JIT, 0, &e);
	skep_prog_fn fn = skep_prog_func(p);
	CHECK(fn && fn(NULL, 0) == 1, "api/skep_prog_func", "fn %p", (void *)fn);
	if (fn) {
		volatile uint64_t sink = 0;
		int it = SANITIZED ? 100000 : 10000000;
		double t0 = now();
		for (int i = 0; i < it; i++)
			sink += fn(NULL, 0);
		double direct = (now() - t0) / it * 1e9;
		uint64_t r0;
		t0 = now();
		for (int i = 0; i < it; i++)
			skep_prog_run_mem(p, NULL, 0, &r0);
		double api = (now() - t0) / it * 1e9;
		printf("info: per call: skep_prog_func %.2f ns, skep_prog_run_mem %.2f ns\n", direct, api);
	}
	skep_prog_free(p);
	/* compile time */
	struct pb b = {0};
	gen_straight(&b, 1000);
	double t0 = now();
	for (int i = 0; i < 20; i++) {
		p = make(b.v, b.n, SKEP_ENGINE_JIT, 0, &e);
		skep_prog_free(p);
	}
	printf("info: compile 1000 insns: %.1f us (load + interp prepare + jit)\n", (now() - t0) / 20 * 1e6);
	free(b.v);
}

int main(void)
{
	test_alu(0, "plain");
	test_jcc(0, "plain");
	test_mem(0, "plain");
	test_lea();
	test_addr();
	test_jinv();
	test_cmp8();
	test_zext();
	jit_off = JIT_OFF_BMI2;
	test_alu(0, "nobmi2");
	jit_off = 0;
	test_alu(1, "harden");
	test_jcc(1, "harden");
	test_mem(1, "harden");
	test_jump_distance();
	test_calls();
	test_tail_calls();
	test_ldpkt();
	test_refusals();
	test_wx_harden();
	test_big();
	test_random(SANITIZED ? 300 : 3000);
	test_oom();
	bench();
	return t_done();
}
