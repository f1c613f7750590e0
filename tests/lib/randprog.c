/* Random programs the kernel verifier accepts: see randprog.h. */
#include "randprog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "isa/isa.h"

#define MAX_FUNCS 4
#define MAX_CALLS 64
#define R_DATA 9   /* the data pointer in every function */
#define R_FP 10

struct gen {
	uint64_t s;                 /* splitmix64 state */
	struct skep_insn *v;
	size_t n, cap;
	int oom;
	size_t mem_len;
	unsigned reserved;          /* registers that must not be written (bit per register) */
	int fn, nfuncs;             /* current function, number of functions */
	int in_loop;
	int slots;                  /* 8-byte stack slots the current function initialised */
	size_t fn_start[MAX_FUNCS];
	struct { size_t at; int fn; } calls[MAX_CALLS];
	int ncalls;
	int called[MAX_FUNCS];
	int r5_stack[MAX_FUNCS];    /* callers pass r5 = a pointer into their stack */
	int data_atomic;            /* atomics on the data too (the kernel runs these on a
				     * stack copy, where every access must be aligned) */
};

static uint64_t rnd(struct gen *g)
{
	uint64_t z = (g->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rn(struct gen *g, uint32_t n) { return (uint32_t)(rnd(g) % n); }

static void emit(struct gen *g, uint8_t code, int dst, int src, int16_t off, int32_t imm)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 256;
		struct skep_insn *v = realloc(g->v, cap * sizeof(*v));
		if (!v) {
			g->oom = 1;
			return;
		}
		g->v = v, g->cap = cap;
	}
	g->v[g->n++] = (struct skep_insn){code, (uint8_t)dst, (uint8_t)src, off, imm};
}

/* Immediates that hit the edges: zero, ones, sign boundaries, small values, random. */
static int32_t imm32(struct gen *g)
{
	static const int32_t edge[] = {0, 1, -1, 2, -2, 7, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff,
				       0x7fffffff, INT32_MIN, 31, 32, 63, 64};
	switch (rn(g, 4)) {
	case 0: return edge[rn(g, sizeof(edge) / sizeof(edge[0]))];
	case 1: return (int32_t)rn(g, 33) - 16;
	default: return (int32_t)(uint32_t)rnd(g);
	}
}

static uint64_t imm64(struct gen *g)
{
	static const uint64_t edge[] = {0, 1, ~0ull, 1ull << 63, (1ull << 63) - 1, 0xffffffffull,
					1ull << 32, 0x80000000ull, 0xffffffff80000000ull, 0x8000000000000001ull};
	switch (rn(g, 3)) {
	case 0: return edge[rn(g, sizeof(edge) / sizeof(edge[0]))];
	case 1: return (uint64_t)(int64_t)imm32(g) ^ ((uint64_t)imm32(g) << 32);
	default: return rnd(g);
	}
}

/* A scalar register to read (r0..r8) and one that may be written. */
static int src_reg(struct gen *g) { return (int)rn(g, 9); }

static int dst_reg(struct gen *g)
{
	for (;;) {
		int r = (int)rn(g, 9);
		if (!(g->reserved & (1u << r)))
			return r;
	}
}

static void lddw(struct gen *g, int dst, uint64_t v)
{
	emit(g, BPF_LD | BPF_IMM | BPF_DW, dst, 0, 0, (int32_t)(uint32_t)v);
	emit(g, 0, 0, 0, 0, (int32_t)(uint32_t)(v >> 32));
}

static const uint8_t sizes[4] = {BPF_B, BPF_H, BPF_W, BPF_DW};

static int size_bytes(uint8_t sz) { return sz == BPF_B ? 1 : sz == BPF_H ? 2 : sz == BPF_W ? 4 : 8; }

/* A constant data offset for an access of b bytes (aligned when the data may end up on
 * the stack). */
static int16_t data_off(struct gen *g, size_t b)
{
	int16_t off = (int16_t)rn(g, (uint32_t)(g->mem_len - b + 1));
	return g->data_atomic ? (int16_t)(off - off % (int)b) : off;
}

/* A load from the data (plain or sign-extending) into dst; 0 if the data is too short. */
static int data_load(struct gen *g, int dst)
{
	uint8_t sz = sizes[rn(g, 4)];
	size_t b = (size_t)size_bytes(sz);
	if (g->mem_len < b)
		return 0;
	int16_t off = data_off(g, b);
	uint8_t mode = sz != BPF_DW && rn(g, 3) == 0 ? BPF_MEMSX : BPF_MEM;
	emit(g, BPF_LDX | mode | sz, dst, R_DATA, off, 0);
	return 1;
}

static void init_reg(struct gen *g, int r)
{
	switch (rn(g, 5)) {
	case 0: emit(g, BPF_ALU | BPF_MOV | BPF_K, r, 0, 0, imm32(g)); break;
	case 1: emit(g, BPF_ALU64 | BPF_MOV | BPF_K, r, 0, 0, imm32(g)); break;
	case 2: lddw(g, r, imm64(g)); break;
	default:
		if (!data_load(g, r))
			lddw(g, r, imm64(g));
	}
}

/* Stack offset of an aligned access of b bytes inside the initialised slots. */
static int16_t stack_off(struct gen *g, int b)
{
	int span = g->slots * 8;
	return (int16_t)(-span + b * (int)rn(g, (uint32_t)(span / b)));
}

static void gen_alu(struct gen *g)
{
	static const uint8_t ops[] = {BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR, BPF_AND, BPF_LSH,
				      BPF_RSH, BPF_MOD, BPF_XOR, BPF_MOV, BPF_ARSH};
	int dst = dst_reg(g), is64 = rn(g, 2), width = is64 ? 64 : 32;
	uint8_t cls = is64 ? BPF_ALU64 : BPF_ALU;
	switch (rn(g, 12)) {
	case 0:
		emit(g, cls | BPF_NEG, dst, 0, 0, 0);
		return;
	case 1: { /* movsx */
		static const int16_t w64[] = {8, 16, 32}, w32[] = {8, 16};
		int16_t off = is64 ? w64[rn(g, 3)] : w32[rn(g, 2)];
		emit(g, cls | BPF_MOV | BPF_X, dst, src_reg(g), off, 0);
		return;
	}
	case 2: { /* le/be (ALU) and bswap (ALU64 to_le) */
		static const int32_t w[] = {16, 32, 64};
		uint8_t code = rn(g, 3) == 0 ? BPF_ALU64 | BPF_END | BPF_TO_LE
					     : BPF_ALU | BPF_END | (rn(g, 2) ? BPF_TO_BE : BPF_TO_LE);
		emit(g, code, dst, 0, 0, w[rn(g, 3)]);
		return;
	}
	}
	uint8_t op = ops[rn(g, sizeof(ops))];
	int div = op == BPF_DIV || op == BPF_MOD;
	int16_t off = div && rn(g, 2) ? 1 : 0;   /* sdiv / smod */
	if (rn(g, 2)) {
		int src = src_reg(g);
		/* make zero and -1 divisors common (they are the interesting ones) */
		if (div && !(g->reserved & (1u << src)) && rn(g, 3) == 0)
			emit(g, cls | BPF_MOV | BPF_K, src, 0, 0, rn(g, 2) ? 0 : -1);
		emit(g, cls | op | BPF_X, dst, src, off, 0);
		return;
	}
	int32_t imm = imm32(g);
	if (op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH)
		imm = (int32_t)rn(g, (uint32_t)width);   /* the verifier refuses constant shifts >= width */
	else if (div && imm == 0)
		imm = rn(g, 2) ? -1 : 1;                 /* ... and constant division by zero */
	emit(g, cls | op | BPF_K, dst, 0, off, imm);
}

static void gen_stack_store(struct gen *g)
{
	uint8_t sz = sizes[rn(g, 4)];
	int16_t off = stack_off(g, size_bytes(sz));
	if (rn(g, 2))
		emit(g, BPF_ST | BPF_MEM | sz, R_FP, 0, off, imm32(g));
	else
		emit(g, BPF_STX | BPF_MEM | sz, R_FP, src_reg(g), off, 0);
}

static void gen_stack_load(struct gen *g)
{
	uint8_t sz = sizes[rn(g, 4)];
	uint8_t mode = sz != BPF_DW && rn(g, 3) == 0 ? BPF_MEMSX : BPF_MEM;
	emit(g, BPF_LDX | mode | sz, dst_reg(g), R_FP, stack_off(g, size_bytes(sz)), 0);
}

/* An atomic on the stack (base r10) or on the data (base r9, data_atomic programs). */
static void gen_atomic(struct gen *g, int on_data)
{
	static const int32_t aops[] = {BPF_ADD, BPF_OR, BPF_AND, BPF_XOR};
	uint8_t sz = rn(g, 2) ? BPF_DW : BPF_W;
	int b = size_bytes(sz), base_reg = on_data ? R_DATA : R_FP;
	if (on_data && g->mem_len < (size_t)b)
		return;
	int16_t off = on_data ? data_off(g, (size_t)b) : stack_off(g, b);
	int32_t imm;
	switch (rn(g, 5)) {
	case 0: imm = BPF_XCHG; break;
	case 1: imm = BPF_CMPXCHG; break;
	default: imm = aops[rn(g, 4)] | (rn(g, 2) ? BPF_FETCH : 0);
	}
	int src = imm & BPF_FETCH && imm != BPF_CMPXCHG ? dst_reg(g) : src_reg(g);
	/* Kernel bug (seen on 6.18): precision backtracking does not follow the value a
	 * fetching atomic loads from the stack back to the slot, so when the slot holds a
	 * spilled scalar whose range the verifier narrowed on one path, it prunes the other
	 * path as equivalent and deletes a branch as dead that is not. A byte store first
	 * turns the slot into plain data (the loaded value is then unknown to the verifier). */
	if (imm & BPF_FETCH) {
		int slot = off - ((off % 8) + 8) % 8, k = (int)rn(g, 8);
		if (on_data && (size_t)(slot + k) >= g->mem_len)
			k = (int)g->mem_len - 1 - slot;
		emit(g, BPF_ST | BPF_MEM | BPF_B, base_reg, 0, (int16_t)(slot + k), 1 + (int32_t)rn(g, 255));
	}
	emit(g, BPF_STX | BPF_ATOMIC | sz, base_reg, src, off, imm);
	/* Kernel bug (seen on 6.18, x86-64): a 32-bit cmpxchg that succeeds leaves r0's upper
	 * half as it was (x86 cmpxchg does not write eax then), and the zero-extension the
	 * verifier inserts for it is lost when the path that reads r0 as 64 bits is pruned.
	 * A 64-bit read right after makes the verifier insert it; the ISA result is the same. */
	if (imm == BPF_CMPXCHG && sz == BPF_W)
		emit(g, BPF_ALU64 | BPF_MOV | BPF_X, 0, 0, 0, 0);
}

static void gen_data_store(struct gen *g)
{
	uint8_t sz = sizes[rn(g, 4)];
	size_t b = (size_t)size_bytes(sz);
	if (g->mem_len < b)
		return;
	int16_t off = data_off(g, b);
	if (rn(g, 2))
		emit(g, BPF_ST | BPF_MEM | sz, R_DATA, 0, off, imm32(g));
	else
		emit(g, BPF_STX | BPF_MEM | sz, R_DATA, src_reg(g), off, 0);
}

/* A conditional jump whose offset is patched later; returns its index. */
static size_t gen_jcond(struct gen *g)
{
	static const uint8_t ops[] = {BPF_JEQ, BPF_JNE, BPF_JGT, BPF_JGE, BPF_JLT, BPF_JLE,
				      BPF_JSGT, BPF_JSGE, BPF_JSLT, BPF_JSLE, BPF_JSET};
	uint8_t cls = rn(g, 2) ? BPF_JMP : BPF_JMP32, op = ops[rn(g, sizeof(ops))];
	size_t at = g->n;
	if (rn(g, 2))
		emit(g, cls | op | BPF_X, src_reg(g), src_reg(g), 0, 0);
	else
		emit(g, cls | op | BPF_K, src_reg(g), 0, 0, imm32(g));
	return at;
}

static void patch(struct gen *g, size_t at)
{
	if (!g->oom)
		g->v[at].off = (int16_t)(g->n - at - 1);
}

/* r1..r5 are dead after a call (the kernel's verifier will not let them be read): give
 * them values again. */
static void reinit_args(struct gen *g)
{
	static const int live[] = {0, 6, 7, 8};   /* r0 (the result) and the callee-saved */
	for (int r = 1; r <= 5; r++) {
		if (rn(g, 2))
			emit(g, BPF_ALU64 | BPF_MOV | BPF_X, r, live[rn(g, 4)], 0, 0);
		else
			emit(g, BPF_ALU64 | BPF_MOV | BPF_K, r, 0, 0, imm32(g));
	}
}

static void gen_call_to(struct gen *g, int callee)
{
	emit(g, BPF_ALU64 | BPF_MOV | BPF_X, 1, R_DATA, 0, 0);   /* r1 = data for the callee */
	if (g->r5_stack[callee]) {   /* r5 = &one of our 8-byte slots */
		emit(g, BPF_ALU64 | BPF_MOV | BPF_X, 5, R_FP, 0, 0);
		emit(g, BPF_ALU64 | BPF_ADD | BPF_K, 5, 0, 0, -8 * (1 + (int32_t)rn(g, (uint32_t)g->slots)));
	}
	if (g->ncalls < MAX_CALLS) {
		g->calls[g->ncalls].at = g->n;
		g->calls[g->ncalls++].fn = callee;
	}
	emit(g, BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 0);
	g->called[callee] = 1;
	reinit_args(g);
}

static void gen_call(struct gen *g)
{
	gen_call_to(g, g->fn + 1 + (int)rn(g, (uint32_t)(g->nfuncs - g->fn - 1)));
}

static void gen_block(struct gen *g, int budget, int depth);

/* Accesses through a derived pointer: rX = r10 or r9 plus a constant or a bounded
 * variable offset, then one load or store through it. rX is a scalar again afterwards
 * (the load's destination, or re-initialised), so nothing else ever sees a pointer. */
static void gen_ptr(struct gen *g)
{
	/* no variable offsets into the data: adding one resets the verifier's packet range,
	 * and a memory program has no data_end to check it against again */
	int x = dst_reg(g), stack = !g->data_atomic && rn(g, 2), var = stack && rn(g, 2);
	uint8_t sz = sizes[rn(g, 4)];
	int b = size_bytes(sz), lo, span;   /* the access may land anywhere in [base+lo, base+lo+span) */
	if (stack) {
		/* stack accesses must be aligned: keep every offset a multiple of the size */
		lo = -g->slots * 8, span = g->slots * 8;
	} else {
		if (g->mem_len < (size_t)b)
			return;
		lo = 0, span = (int)g->mem_len;
	}
	int room = span - b;                 /* offsets 0..room are valid */
	if (var) {
		/* rY = (rS & mask) [<< align]: a value the verifier bounds to 0..room */
		int y;
		do
			y = dst_reg(g);
		while (y == x);
		int shift = stack ? (b == 8 ? 3 : b == 4 ? 2 : b == 2 ? 1 : 0) : 0;
		int units = room >> shift, mask = 1;
		while (mask * 2 - 1 <= units)
			mask *= 2;
		mask -= 1;
		emit(g, BPF_ALU64 | BPF_MOV | BPF_X, y, src_reg(g), 0, 0);
		emit(g, BPF_ALU64 | BPF_AND | BPF_K, y, 0, 0, mask);
		if (shift)
			emit(g, BPF_ALU64 | BPF_LSH | BPF_K, y, 0, 0, shift);
		emit(g, BPF_ALU64 | BPF_MOV | BPF_X, x, stack ? R_FP : R_DATA, 0, 0);
		emit(g, BPF_ALU64 | BPF_ADD | BPF_K, x, 0, 0, lo);
		emit(g, BPF_ALU64 | BPF_ADD | BPF_X, x, y, 0, 0);
		room -= mask << shift;
	} else {
		int c = (int)rn(g, (uint32_t)room + 1);
		if (stack || g->data_atomic)
			c -= c % b;
		emit(g, BPF_ALU64 | BPF_MOV | BPF_X, x, stack ? R_FP : R_DATA, 0, 0);
		emit(g, BPF_ALU64 | BPF_ADD | BPF_K, x, 0, 0, lo + c);
		room -= c;
	}
	int16_t off = (int16_t)rn(g, (uint32_t)room + 1);
	if (stack || g->data_atomic)
		off = (int16_t)(off - off % b);
	if (rn(g, 2)) {
		uint8_t mode = sz != BPF_DW && rn(g, 3) == 0 ? BPF_MEMSX : BPF_MEM;
		emit(g, BPF_LDX | mode | sz, x, x, off, 0);
		return;
	}
	if (rn(g, 2))
		emit(g, BPF_ST | BPF_MEM | sz, x, 0, off, imm32(g));
	else {
		int v;
		do
			v = src_reg(g);
		while (v == x);
		emit(g, BPF_STX | BPF_MEM | sz, x, v, off, 0);
	}
	emit(g, BPF_ALU64 | BPF_MOV | BPF_K, x, 0, 0, imm32(g));
}

static void gen_loop(struct gen *g, int depth)
{
	int c = 6 + (int)rn(g, 3);   /* loops do not nest, so r6..r8 are free here */
	int trips = 1 + (int)rn(g, 5), up = rn(g, 2);
	int is64 = rn(g, 2);
	emit(g, BPF_ALU64 | BPF_MOV | BPF_K, c, 0, 0, up ? 0 : trips);
	size_t head = g->n;
	g->reserved |= 1u << c;
	g->in_loop++;
	gen_block(g, 2 + (int)rn(g, 8), depth + 1);
	g->in_loop--;
	g->reserved &= ~(1u << c);
	if (up) {   /* c = 0; do { ... } while (++c < trips) */
		emit(g, (is64 ? BPF_ALU64 : BPF_ALU) | BPF_ADD | BPF_K, c, 0, 0, 1);
		emit(g, (is64 ? BPF_JMP : BPF_JMP32) | (rn(g, 2) ? BPF_JLT : BPF_JSLT) | BPF_K, c, 0,
		     (int16_t)(head - g->n - 1), trips);
	} else {    /* c = trips; do { ... } while (--c != 0) */
		emit(g, (is64 ? BPF_ALU64 : BPF_ALU) | BPF_SUB | BPF_K, c, 0, 0, 1);
		emit(g, (is64 ? BPF_JMP : BPF_JMP32) | (rn(g, 2) ? BPF_JNE : BPF_JSGT) | BPF_K, c, 0,
		     (int16_t)(head - g->n - 1), 0);
	}
}

static void gen_block(struct gen *g, int budget, int depth)
{
	while (budget > 0 && !g->oom) {
		uint32_t k = rn(g, 100);
		budget--;
		if (k < 42)
			gen_alu(g);
		else if (k < 45)
			lddw(g, dst_reg(g), imm64(g));
		else if (k < 51)
			gen_stack_store(g);
		else if (k < 57)
			gen_stack_load(g);
		else if (k < 63)
			gen_atomic(g, g->data_atomic && rn(g, 2));
		else if (k < 69) {
			if (!data_load(g, dst_reg(g)))
				gen_alu(g);
		} else if (k < 73)
			gen_data_store(g);
		else if (k < 76)
			gen_ptr(g);
		else if (k < 86 && depth < 3) { /* if, if/else */
			size_t j = gen_jcond(g);
			int inner = 1 + (int)rn(g, budget < 8 ? 3 : 8);
			gen_block(g, inner, depth + 1);
			budget -= inner;
			if (rn(g, 3) == 0) {
				size_t ja = g->n;
				int gotol = rn(g, 4) == 0;   /* the cpu v4 long jump, imm offset */
				emit(g, gotol ? BPF_JMP32 | BPF_JA : BPF_JMP | BPF_JA, 0, 0, 0, 0);
				patch(g, j);
				inner = 1 + (int)rn(g, 4);
				gen_block(g, inner, depth + 1);
				budget -= inner;
				patch(g, ja);
				if (gotol && !g->oom)
					g->v[ja].imm = g->v[ja].off, g->v[ja].off = 0;
			} else
				patch(g, j);
		} else if (k < 89 && !g->in_loop) { /* early exit */
			size_t j = gen_jcond(g);
			emit(g, BPF_ALU64 | BPF_XOR | BPF_X, 0, src_reg(g), 0, 0);
			emit(g, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
			patch(g, j);
		} else if (k < 93 && !g->in_loop && depth < 2)
			gen_loop(g, depth);
		else if (k < 97 && g->fn + 1 < g->nfuncs && (!g->in_loop || g->fn == 0))
			gen_call(g);
		else
			gen_alu(g);
	}
}

static void gen_func(struct gen *g, int fn)
{
	g->fn = fn;
	g->fn_start[fn] = g->n;
	g->reserved = 1u << R_DATA | 1u << R_FP;
	g->in_loop = 0;
	emit(g, BPF_ALU64 | BPF_MOV | BPF_X, R_DATA, 1, 0, 0);
	if (fn && g->r5_stack[fn]) {   /* write and read the caller's slot; r5 = what was read */
		emit(g, BPF_ST | BPF_MEM | BPF_W, 5, 0, (int16_t)(4 * rn(g, 2)), imm32(g));
		uint8_t sz = sizes[rn(g, 4)];
		emit(g, BPF_LDX | BPF_MEM | sz, 5, 5, (int16_t)(8 - size_bytes(sz)), 0);
	}
	for (int r = 0; r <= 8; r++) {
		int keep = fn ? r >= 2 && r <= 5 && (rn(g, 2) || (r == 5 && g->r5_stack[fn]))
			      : r == 2 && rn(g, 2);
		if (!keep)
			init_reg(g, r);
	}
	g->slots = 2 + (int)rn(g, 7);
	for (int s = 1; s <= g->slots; s++) {
		if (rn(g, 2))
			emit(g, BPF_ST | BPF_MEM | BPF_DW, R_FP, 0, (int16_t)(-8 * s), imm32(g));
		else
			emit(g, BPF_STX | BPF_MEM | BPF_DW, R_FP, src_reg(g), (int16_t)(-8 * s), 0);
	}
	gen_block(g, 10 + (int)rn(g, fn ? 25 : 50), 0);
	if (fn + 1 < g->nfuncs && !g->called[fn + 1])   /* no unreachable subprogram */
		gen_call_to(g, fn + 1);
	/* fold every register and stack slot into r0 */
	for (int r = 1; r <= 8; r++) {
		emit(g, BPF_ALU64 | BPF_MUL | BPF_K, 0, 0, 0, (int32_t)0x9e3779b1);
		emit(g, BPF_ALU64 | (r & 1 ? BPF_XOR : BPF_ADD) | BPF_X, 0, r, 0, 0);
	}
	for (int s = 1; s <= g->slots; s++) {
		emit(g, BPF_LDX | BPF_MEM | BPF_DW, 1, R_FP, (int16_t)(-8 * s), 0);
		emit(g, BPF_ALU64 | BPF_MUL | BPF_K, 0, 0, 0, (int32_t)0x85ebca6b);
		emit(g, BPF_ALU64 | BPF_XOR | BPF_X, 0, 1, 0, 0);
	}
	emit(g, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

int randprog_gen(uint64_t seed, uint64_t index, struct randprog *p)
{
	struct gen g;
	memset(&g, 0, sizeof(g));
	memset(p, 0, sizeof(*p));
	g.s = seed * 0x2545f4914f6cdd1dull ^ (index + 1) * 0x9e3779b97f4a7c15ull;
	switch (rn(&g, 20)) {
	case 0: g.mem_len = 0; break;
	case 1: g.mem_len = 1 + rn(&g, 7); break;
	default: g.mem_len = 8 + rn(&g, 121);
	}
	if (g.mem_len >= 8 && rn(&g, 6) == 0) {   /* data_atomic: at most 128 bytes of stack copy */
		g.data_atomic = 1;
		if (g.mem_len > 128)
			g.mem_len = 64 + rn(&g, 65);
	}
	p->mem_len = g.mem_len;
	p->mem = malloc(g.mem_len ? g.mem_len : 1);
	if (!p->mem)
		return -ENOMEM;
	for (size_t i = 0; i < g.mem_len; i++) {
		uint32_t k = rn(&g, 8);
		p->mem[i] = k == 0 ? 0 : k == 1 ? 0xff : k == 2 ? 0x80 : (uint8_t)rnd(&g);
	}
	g.nfuncs = rn(&g, 2) ? 1 : 2 + (int)rn(&g, MAX_FUNCS - 1);
	for (int f = 1; f < g.nfuncs; f++)
		g.r5_stack[f] = !g.data_atomic && rn(&g, 3) == 0;   /* main's stack depth must stay known */
	for (int f = 0; f < g.nfuncs; f++)
		gen_func(&g, f);
	if (g.oom) {
		free(g.v);
		randprog_free(p);
		return -ENOMEM;
	}
	for (int i = 0; i < g.ncalls; i++)
		g.v[g.calls[i].at].imm = (int32_t)(g.fn_start[g.calls[i].fn] - g.calls[i].at - 1);
	p->insns = g.v;
	p->n = g.n;
	return 0;
}

void randprog_free(struct randprog *p)
{
	free(p->insns);
	free(p->mem);
	memset(p, 0, sizeof(*p));
}
