/* The x86-64 JIT: eBPF instructions to native code, one instruction at a time.
 *
 * Registers map 1:1 as the kernel's JIT maps them (r0 rax, r1..r5 the SysV argument
 * registers rdi rsi rdx rcx r8, r6..r9 the callee-saved rbx r13 r14 r15, r10 rbp), so
 * a helper call is a plain call and a bpf-to-bpf call a call to a function following
 * the SysV convention. x86 r9, r10, r11 are scratch; r12 holds the per-run block
 * (jit.h) in programs with tail calls or ld_abs/ld_ind.
 *
 * Every function (main, and each bpf-to-bpf callee or callback) has its own prologue
 * saving only the callee-saved registers it uses, and a 512-byte stack below rbp only
 * if it touches r10. 32-bit ALU uses 32-bit forms (the hardware zero-extends);
 * immediates stay in the instruction; compares sit right before their branch (fused);
 * division checks only for what can happen (a constant divisor needs none); "r = s;
 * r += t" becomes one lea. The kernel's JIT does the same minus the last two. Beyond
 * one instruction at a time, with a liveness pass (registers read later) to prove a
 * register dead: "r = s; r += t" that only addresses the next load or store folds into
 * its operand ([s + t + off]); "r &= 0xff" feeding only an unsigned compare with a
 * byte is a byte compare; "if c goto +1; goto L" is "if !c goto L"; "w = w" after a
 * 32-bit op on w is nothing. Each technique has a JIT_OFF_* switch (jit.h) and applies
 * only where no jump lands inside its pattern. As the kernel's map_gen_lookup, a
 * bpf_map_lookup_elem on an ARRAY or PERCPU_ARRAY map known at the call is inline code
 * (inline_lookup).
 *
 * Code size: jumps are rel8 when they reach. Passes repeat until every label stays put:
 * each pass lays jumps out with the offsets of the pass before, sizes only shrink, so
 * this converges, and when a pass reproduces the offsets it used, its code is exact.
 * The first pass also gives an upper bound for the executable mapping, so later passes
 * know where the code will live and call helpers within +-2 GB with a rel32. Small
 * loops are then laid out so they do not straddle 64-byte blocks (see loop_pad). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exec.h"
#include "jit.h"

unsigned jit_off;

#if defined(__x86_64__)
#include <sys/random.h>

#include "isa/isa.h"
#include "jit_emit.h"
#include "maps/map.h"
#include "skep/helpers.h"
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#include <sys/rseq.h>
#define HAVE_RSEQ 1
#endif

static const uint8_t xreg[11] = {RAX, RDI, RSI, RDX, RCX, R8, RBX, R13, R14, R15, RBP};

struct fn {
	uint32_t start, end;  /* instructions [start, end) */
	uint16_t saves;       /* callee-saved x86 registers the prologue pushes (bit per reg) */
	uint8_t stack;        /* touches r10: push rbp, 512 bytes below it */
	uint8_t calls;        /* calls something: keep rsp 16-byte aligned */
	uint8_t ldpkt;        /* has ld_abs/ld_ind: needs the out-of-bounds exit */
	int8_t depth;         /* frames from here down; 0 unknown, -1 being computed */
	uint32_t frame;       /* bytes below the pushes */
	uint32_t epi_size;    /* epilogue bytes, ret included */
};

struct jc {
	struct skep_prog *p;
	const struct skep_insn *in;
	size_t n;
	uint16_t *op;         /* enum isa_op; OP_INVALID for a lddw's second half */
	uint32_t *fn_of;
	struct fn *fns;
	size_t nfns;
	/* labels: [0, n) instructions, n the end, then per function entry, epilogue, oob */
	uint32_t *lab, *prev;
	size_t nlab;
	int have_prev;
	size_t anchor;        /* label where the code being emitted starts */
	struct xb b;
	size_t cap;
	uint8_t *base;        /* final address of the code, once mapped */
	size_t map_size;
	int bmi2, harden, block;
	int tail;             /* has tail calls */
	uint32_t entry_off;   /* where runs enter: after the fast stub */
	int rtdepth;          /* call depth has no static bound: counted at run time */
	unsigned off;         /* JIT_OFF_* (measurements) */
	uint8_t *loop;        /* per instruction: T_TARGET, T_LOOP */
	uint8_t *inl;         /* per instruction: INL_CALL, INL_DEAD (NULL: no lookups) */
	int skip;             /* instructions after this one folded into it */
	uint16_t *live;       /* per instruction: BPF registers live after it (bit per reg) */
	int cmp8;             /* the next compare reads only the low byte (byte_cmp) */
	uint8_t *sticky;      /* per instruction: its jump stays rel32 (alignment phase) */
	uint32_t *lsize;      /* per loop head: code bytes of its loop (alignment phase) */
	int align;            /* alignment phase: loop heads start on LOOP_ALIGN bytes */
	uint64_t rnd;
};

/* a jump target; the target of a backward jump; a loop head padded (sticky) */
enum { T_TARGET = 1, T_LOOP = 2, T_ALIGNED = 4 };

#define L_ENTRY(j, f) ((j)->n + 1 + 3 * (f))
#define L_EPI(j, f) ((j)->n + 2 + 3 * (f))
#define L_OOB(j, f) ((j)->n + 3 + 3 * (f))
#define L_DEEP(j) ((j)->n + 1 + 3 * (j)->nfns)  /* the guard's "too deep" exit */

/* x86 callee-saved registers in push order */
static const uint8_t saved_order[] = {RBX, R12, R13, R14, R15};

static int reserve(struct jc *j, size_t need)
{
	if (j->cap - j->b.len >= need)
		return 0;
	size_t cap = j->cap ? j->cap * 2 : 4096;
	while (cap - j->b.len < need)
		cap *= 2;
	uint8_t *p = realloc(j->b.p, cap);
	if (!p)
		return -ENOMEM;
	j->b.p = p;
	j->cap = cap;
	return 0;
}

static uint32_t rnd32(struct jc *j)
{
	j->rnd ^= j->rnd << 13;
	j->rnd ^= j->rnd >> 7;
	j->rnd ^= j->rnd << 17;
	return (uint32_t)(j->rnd >> 16);
}

/* Constant blinding: reg = imm (sign-extended if w) without imm in the code. */
static void blind(struct jc *j, unsigned w, int reg, int32_t imm)
{
	uint32_t r = rnd32(j);
	if (w)
		x_mov_ri64s(&j->b, reg, (int32_t)((uint32_t)imm ^ r));
	else
		x_mov_ri32(&j->b, reg, (uint32_t)imm ^ r);
	x_alu_ri32(&j->b, w, 6, reg, (int32_t)r);
}

/* Where the code being emitted was in the last pass. */
static int64_t here_prev(struct jc *j)
{
	return (int64_t)j->prev[j->anchor] + (int64_t)(j->b.len - j->lab[j->anchor]);
}

/* Jump to label l (cc < 0: unconditional): rel8 if it reached in the last pass. */
static void jump(struct jc *j, int cc, size_t l)
{
	struct xb *b = &j->b;
	int64_t d = 0;
	if (j->have_prev) {
		d = (int64_t)j->prev[l] - (here_prev(j) + 2);
		if (fits8(d) && !(j->off & JIT_OFF_SHORT_JMP) && !(j->align && j->sticky[j->anchor])) {
			e1(b, cc < 0 ? 0xeb : 0x70 + (unsigned)cc);
			e1(b, (uint8_t)d);
			return;
		}
		d -= cc < 0 ? 3 : 4;
		if (j->align)
			j->sticky[j->anchor] = 1;
	}
	if (cc < 0) {
		e1(b, 0xe9);
	} else {
		e1(b, 0x0f);
		e1(b, 0x80 + (unsigned)cc);
	}
	e4(b, (uint32_t)(int32_t)d);
}

/* Short jumps inside one instruction's code: forward (patched) and back. */
static size_t jfwd(struct jc *j, int cc)
{
	e1(&j->b, cc < 0 ? 0xeb : 0x70 + (unsigned)cc);
	e1(&j->b, 0);
	return j->b.len;
}

static void jhere(struct jc *j, size_t from) { j->b.p[from - 1] = (uint8_t)(j->b.len - from); }

static void jback(struct jc *j, int cc, size_t to)
{
	e1(&j->b, 0x70 + (unsigned)cc);
	e1(&j->b, (uint8_t)(int8_t)((int64_t)to - (int64_t)(j->b.len + 1)));
}

/* ---- prologue and epilogue ---- */

static void prologue(struct jc *j, const struct fn *f, int is_main)
{
	struct xb *b = &j->b;
	for (size_t k = 0; k < sizeof saved_order; k++)
		if (f->saves >> saved_order[k] & 1)
			x_push(b, saved_order[k]);
	if (f->stack) {
		x_push(b, RBP);
		x_rr(b, W | 0x89, RSP, RBP);
	}
	if (f->frame)
		x_alu_ri(b, W, 5, RSP, (int32_t)f->frame);
	if (is_main) {
		if (j->block)
			x_rr(b, W | 0x89, R9, R12);
		/* as the interpreter: r0 and r6..r9 start at 0 */
		x_rr(b, 0x31, RAX, RAX);
		for (size_t k = 0; k < sizeof saved_order; k++)
			if (saved_order[k] != R12 && (f->saves >> saved_order[k] & 1))
				x_rr(b, 0x31, saved_order[k], saved_order[k]);
	}
}

/* Undo the prologue, leaving the return address on top. */
static void unwind(struct jc *j, const struct fn *f)
{
	struct xb *b = &j->b;
	if (f->stack)
		e1(b, 0xc9); /* leave */
	else if (f->frame)
		x_alu_ri(b, W, 0, RSP, (int32_t)f->frame);
	for (size_t k = sizeof saved_order; k-- > 0;)
		if (f->saves >> saved_order[k] & 1)
			x_pop(b, saved_order[k]);
}

static void epilogue(struct jc *j, const struct fn *f)
{
	unwind(j, f);
	e1(&j->b, 0xc3);
}

/* Without a block argument, the fast entry builds an empty one on its own stack. */
static void fast_stub(struct jc *j)
{
	struct xb *b = &j->b;
	x_alu_ri(b, W, 5, RSP, 56);           /* the block; rsp stays 16-aligned at the call */
	x_rr(b, 0x31, RAX, RAX);
	for (int k = 0; k < 5; k++)
		x_rm(b, W | 0x89, RAX, RSP, 8 * k);
	x_rm(b, W | 0xc7, 0, RSP, offsetof(struct jit_block, fault_insn));
	e4(b, UINT32_MAX);                    /* -1 */
	x_rr(b, W | 0x89, RSP, R9);
	e1(b, 0xe8);                          /* call the entry, right after */
	size_t call = b->len;
	e4(b, 0);
	x_alu_ri(b, W, 0, RSP, 56);
	e1(b, 0xc3);
	uint32_t rel = (uint32_t)(b->len - (call + 4));
	memcpy(b->p + call, &rel, 4);
}

/* Programs that can fail in the middle of a run (a call nested too deep) or tail-call
 * (the run may end in any of them) enter through a guard: it saves every callee-saved
 * register and, the first time in a run, its stack pointer in the block, so a failure
 * at any depth unwinds straight back to the caller of the run. */
static const uint8_t guard_regs[] = {RBX, RBP, R12, R13, R14, R15};

static void guard(struct jc *j)
{
	struct xb *b = &j->b;
	for (size_t k = 0; k < sizeof guard_regs; k++)
		x_push(b, guard_regs[k]);
	x_alu_ri(b, W, 5, RSP, 8);
	x_rm(b, W | 0x83, 7, R9, offsetof(struct jit_block, unwind_rsp));
	e1(b, 0);
	size_t nested = jfwd(j, CC_NE);
	x_rm(b, W | 0x89, RSP, R9, offsetof(struct jit_block, unwind_rsp));
	jhere(j, nested);
	e1(b, 0xe8);  /* call main, which follows the guard */
	size_t call = b->len;
	e4(b, 0);
	size_t back = b->len;
	x_alu_ri(b, W, 0, RSP, 8);
	for (size_t k = sizeof guard_regs; k-- > 0;)
		x_pop(b, guard_regs[k]);
	e1(b, 0xc3);
	/* too deep: the call's index is in r11 */
	j->lab[L_DEEP(j)] = (uint32_t)b->len;
	x_rm(b, W | 0x89, R11, R12, offsetof(struct jit_block, fault_insn));
	x_rm(b, W | 0x8b, RSP, R12, offsetof(struct jit_block, unwind_rsp));
	x_rr(b, 0x31, RAX, RAX);
	x_alu_ri(b, W, 0, RSP, 8);
	for (size_t k = sizeof guard_regs; k-- > 0;)
		x_pop(b, guard_regs[k]);
	e1(b, 0xc3);
	uint32_t rel = (uint32_t)(b->len - back);
	memcpy(b->p + call, &rel, 4);
}

/* ---- ALU ---- */

/* per BPF_OP >> 4: reg-reg opcode, group-1 digit, shift digit (C1 /d), shlx prefix */
static const struct {
	uint8_t rr, digit, shift, pp;
} alu_tab[16] = {
	[BPF_ADD >> 4] = {0x01, 0, 0, 0},
	[BPF_SUB >> 4] = {0x29, 5, 0, 0},
	[BPF_OR >> 4] = {0x09, 1, 0, 0},
	[BPF_AND >> 4] = {0x21, 4, 0, 0},
	[BPF_XOR >> 4] = {0x31, 6, 0, 0},
	[BPF_LSH >> 4] = {0, 0, 4, 1},
	[BPF_RSH >> 4] = {0, 0, 5, 3},
	[BPF_ARSH >> 4] = {0, 0, 7, 2},
};

static void zext(struct xb *b, int d) { x_rr(b, 0x89, d, d); }

static void shift_x(struct jc *j, int bop, unsigned w, int d, int s)
{
	struct xb *b = &j->b;
	int digit = alu_tab[bop >> 4].shift;
	if (j->bmi2) {
		x_shiftx(b, w, alu_tab[bop >> 4].pp, d, d, s);
	} else if (s == RCX) {
		x_rr(b, w | 0xd3, digit, d);
	} else {
		/* the count must be in cl: park rcx (r4) in r11 */
		x_rr(b, W | 0x89, RCX, R11);
		x_rr(b, W | 0x89, s, RCX);
		x_rr(b, w | 0xd3, digit, d == RCX ? R11 : d);
		x_rr(b, W | 0x89, R11, RCX);
	}
}

static void alu_x(struct jc *j, int bop, unsigned w, int d, int s)
{
	struct xb *b = &j->b;
	switch (bop) {
	case BPF_MUL:
		x_rr(b, w | OPC2 | 0xaf, d, s);
		break;
	case BPF_LSH:
	case BPF_RSH:
	case BPF_ARSH:
		shift_x(j, bop, w, d, s);
		break;
	default:
		x_rr(b, w | alu_tab[bop >> 4].rr, s, d);
	}
}

static void alu_k(struct jc *j, int bop, unsigned w, int d, int32_t imm)
{
	struct xb *b = &j->b;
	switch (bop) {
	case BPF_MUL:
		if (fits8(imm)) {
			x_rr(b, w | 0x6b, d, d);
			e1(b, (uint8_t)imm);
		} else {
			x_rr(b, w | 0x69, d, d);
			e4(b, (uint32_t)imm);
		}
		return;
	case BPF_LSH:
	case BPF_RSH:
	case BPF_ARSH: {
		int sh = imm & (w ? 63 : 31);
		if (sh == 0) {
			if (!w)
				zext(b, d);
		} else if (sh == 1) {
			x_rr(b, w | 0xd1, alu_tab[bop >> 4].shift, d);
		} else {
			x_rr(b, w | 0xc1, alu_tab[bop >> 4].shift, d);
			e1(b, (uint8_t)sh);
		}
		return;
	}
	case BPF_AND:
		if (imm == 0) {
			x_rr(b, 0x31, d, d);
			return;
		}
		if (imm == 0xff || imm == 0xffff) { /* movzx: shorter, either width */
			x_rr(b, (imm == 0xff ? BYTE | 0xb6 : 0xb7) | OPC2, d, d);
			return;
		}
		if (imm > 0) /* the upper half clears either way: the 32-bit form is shorter */
			w = 0;
		break;
	case BPF_ADD:
	case BPF_SUB:
	case BPF_OR:
	case BPF_XOR:
		if (imm == 0) {
			if (!w)
				zext(b, d);
			return;
		}
		break;
	}
	if (bop == BPF_AND && imm == -1) {
		if (!w)
			zext(b, d);
		return;
	}
	x_alu_ri(b, w, alu_tab[bop >> 4].digit, d, imm);
}

/* ---- division: x / 0 = 0, x % 0 = x, INT_MIN / -1 = INT_MIN, INT_MIN % -1 = 0 ---- */

/* d = d op r11 with r11 != 0 and (signed) != -1; rax and rdx kept unless d is one */
static void div_core(struct jc *j, int mod, int sgn, unsigned w, int d)
{
	struct xb *b = &j->b;
	if (d != RAX)
		x_rr(b, W | 0x89, RAX, R10);
	if (d != RDX)
		x_rr(b, W | 0x89, RDX, R9);
	if (d != RAX)
		x_rr(b, w | 0x89, d, RAX);
	if (sgn)
		x_op(b, w | 0x99, 0, 0, 0); /* cqo / cdq */
	else
		x_rr(b, 0x31, RDX, RDX);
	x_rr(b, w | 0xf7, sgn ? 7 : 6, R11);
	int res = mod ? RDX : RAX;
	if (d != res)
		x_rr(b, w | 0x89, res, d);
	if (d != RDX)
		x_rr(b, W | 0x89, R9, RDX);
	if (d != RAX)
		x_rr(b, W | 0x89, R10, RAX);
}

/* what x op 0 leaves in d */
static void div_by_zero(struct jc *j, int mod, unsigned w, int d)
{
	if (!mod)
		x_rr(&j->b, 0x31, d, d);
	else if (!w)
		zext(&j->b, d);
}

static void div_x(struct jc *j, int mod, int sgn, unsigned w, int d, int s)
{
	struct xb *b = &j->b;
	x_rr(b, w | 0x85, s, s);
	size_t to_zero = jfwd(j, CC_E), to_m1 = 0;
	if (sgn) {
		x_alu_ri(b, w, 7, s, -1);
		to_m1 = jfwd(j, CC_E);
	}
	x_rr(b, W | 0x89, s, R11);
	div_core(j, mod, sgn, w, d);
	size_t done1 = jfwd(j, -1), done2 = 0;
	if (sgn) {
		jhere(j, to_m1);
		if (mod)
			x_rr(b, 0x31, d, d);
		else
			x_rr(b, w | 0xf7, 3, d); /* neg: INT_MIN stays INT_MIN */
		done2 = jfwd(j, -1);
	}
	jhere(j, to_zero);
	div_by_zero(j, mod, w, d);
	jhere(j, done1);
	if (sgn)
		jhere(j, done2);
}

static void div_k(struct jc *j, int mod, int sgn, unsigned w, int d, int32_t imm)
{
	struct xb *b = &j->b;
	uint64_t v = w ? (uint64_t)(int64_t)imm : (uint32_t)imm;
	if (v == 0) {
		div_by_zero(j, mod, w, d);
		return;
	}
	if (sgn && imm == -1) {
		if (mod)
			x_rr(b, 0x31, d, d);
		else
			x_rr(b, w | 0xf7, 3, d);
		return;
	}
	if (j->harden) {
		blind(j, w, R11, imm);
		div_core(j, mod, sgn, w, d);
		return;
	}
	if (!sgn && !(v & (v - 1))) { /* a power of two */
		int k = __builtin_ctzll(v);
		if (mod)
			alu_k(j, BPF_AND, w, d, (int32_t)(v - 1));
		else
			alu_k(j, BPF_RSH, w, d, k);
		return;
	}
	if (w)
		x_mov_ri64s(b, R11, imm);
	else
		x_mov_ri32(b, R11, (uint32_t)imm);
	div_core(j, mod, sgn, w, d);
}

/* ---- jumps ---- */

static size_t target_of(const struct skep_insn *in, size_t i, enum isa_op op)
{
	switch (isa_ops[op].kind) {
	case K_JA: return i + 1 + (size_t)(int64_t)(op == OP_GOTOL ? in->imm : in->off);
	case K_JCOND: return i + 1 + (size_t)(int64_t)in->off;
	default: return i + 1 + (size_t)(int64_t)in->imm; /* calls, lddw func */
	}
}

static const uint8_t jcc_tab[16] = {
	[BPF_JEQ >> 4] = CC_E, [BPF_JNE >> 4] = CC_NE, [BPF_JGT >> 4] = CC_A,
	[BPF_JGE >> 4] = CC_AE, [BPF_JLT >> 4] = CC_B, [BPF_JLE >> 4] = CC_BE,
	[BPF_JSGT >> 4] = CC_G, [BPF_JSGE >> 4] = CC_GE, [BPF_JSLT >> 4] = CC_L,
	[BPF_JSLE >> 4] = CC_LE, [BPF_JSET >> 4] = CC_NE,
};

static void jcond(struct jc *j, const struct skep_insn *in, size_t target, int inv)
{
	struct xb *b = &j->b;
	unsigned w = BPF_CLASS(in->code) == BPF_JMP ? W : 0;
	int bop = BPF_OP(in->code), d = xreg[in->dst];
	int set = bop == BPF_JSET;
	if (j->cmp8) { /* the register's low byte against an 8-bit immediate */
		if (in->imm == 0 && !set) {
			x_rr(b, BYTE | 0x84, d, d);
		} else {
			x_rr(b, BYTE | (set ? 0xf6 : 0x80), set ? 0 : 7, d);
			e1(b, (uint8_t)in->imm);
		}
	} else if (BPF_SRC(in->code) == BPF_X) {
		x_rr(b, w | (set ? 0x85 : 0x39), xreg[in->src], d);
	} else if ((j->harden || (j->off & JIT_OFF_IMM)) && in->imm) {
		if (j->harden)
			blind(j, w, R10, in->imm);
		else
			x_mov_ri64s(b, R10, in->imm);
		x_rr(b, w | (set ? 0x85 : 0x39), R10, d);
	} else if (set) {
		if (d == RAX) {
			x_op(b, w | 0xa9, 0, 0, 0);
		} else {
			x_rr(b, w | 0xf7, 0, d);
		}
		e4(b, (uint32_t)in->imm);
	} else if (in->imm == 0) {
		x_rr(b, w | 0x85, d, d); /* same flags as cmp d, 0 for every condition */
	} else {
		x_alu_ri(b, w, 7, d, in->imm);
	}
	if (j->off & JIT_OFF_FUSION)
		e1(b, 0x90);
	jump(j, jcc_tab[bop >> 4] ^ inv, target); /* cc ^ 1: the opposite condition */
}

/* ---- memory ---- */

static void ldx(struct jc *j, enum isa_op op, int d, int s, int x, int32_t off)
{
	static const unsigned form[] = {
		[0] = OPC2 | 0xb6, [1] = OPC2 | 0xb7, [2] = 0x8b, [3] = W | 0x8b,
		[4] = W | OPC2 | 0xbe, [5] = W | OPC2 | 0xbf, [6] = W | 0x63,
	};
	int k;
	switch (op) {
	case OP_LDX_u8: k = 0; break;
	case OP_LDX_u16: k = 1; break;
	case OP_LDX_u32: k = 2; break;
	case OP_LDX_u64: k = 3; break;
	case OP_LDXSX_s8: k = 4; break;
	case OP_LDXSX_s16: k = 5; break;
	default: k = 6; break;
	}
	x_rmx(&j->b, form[k], d, s, x, off);
}

static const unsigned stx_form[4] = {[BPF_W >> 3] = 0x89, [BPF_H >> 3] = P66 | 0x89,
				     [BPF_B >> 3] = BYTE | 0x88, [BPF_DW >> 3] = W | 0x89};

static void st_imm(struct jc *j, const struct skep_insn *in, int d, int x, int32_t off)
{
	struct xb *b = &j->b;
	int sz = BPF_SIZE(in->code);
	if (j->harden && in->imm) {
		blind(j, sz == BPF_DW ? W : 0, R10, in->imm);
		x_rmx(b, stx_form[sz >> 3], R10, d, x, off);
		return;
	}
	switch (sz) {
	case BPF_B:
		x_rmx(b, 0xc6, 0, d, x, off);
		e1(b, (uint8_t)in->imm);
		break;
	case BPF_H:
		x_rmx(b, P66 | 0xc7, 0, d, x, off);
		e2(b, (uint16_t)in->imm);
		break;
	default:
		x_rmx(b, (sz == BPF_DW ? W : 0) | 0xc7, 0, d, x, off);
		e4(b, (uint32_t)in->imm);
	}
}

static void atomic(struct jc *j, const struct skep_insn *in)
{
	struct xb *b = &j->b;
	unsigned w = BPF_SIZE(in->code) == BPF_DW ? W : 0;
	int d = xreg[in->dst], s = xreg[in->src];
	int32_t off = in->off;
	int aop = in->imm & ~BPF_FETCH;
	static const uint8_t lock_rr[16] = {[BPF_ADD >> 4] = 0x01, [BPF_OR >> 4] = 0x09,
					    [BPF_AND >> 4] = 0x21, [BPF_XOR >> 4] = 0x31};
	if (in->imm == BPF_XCHG) {
		x_rm(b, w | 0x87, s, d, off);
	} else if (in->imm == BPF_CMPXCHG) {
		x_rm(b, LOCK | w | OPC2 | 0xb1, s, d, off);
		if (!w)
			zext(b, RAX);
	} else if (!(in->imm & BPF_FETCH)) {
		x_rm(b, LOCK | w | lock_rr[aop >> 4], s, d, off);
	} else if (aop == BPF_ADD) {
		x_rm(b, LOCK | w | OPC2 | 0xc1, s, d, off); /* xadd */
	} else {
		/* fetch_or/and/xor: a cmpxchg loop through rax; r0 is parked in r10 */
		if (d == RAX) {
			x_rm(b, W | 0x8d, R9, d, off);
			d = R9;
			off = 0;
		}
		x_rr(b, W | 0x89, RAX, R10);
		int v = s == RAX ? R10 : s; /* the operand, wherever it survives */
		x_rm(b, w | 0x8b, RAX, d, off);
		size_t loop = b->len;
		x_rr(b, W | 0x89, RAX, R11);
		x_rr(b, w | lock_rr[aop >> 4], v, R11);
		x_rm(b, LOCK | w | OPC2 | 0xb1, R11, d, off);
		jback(j, CC_NE, loop);
		if (s != RAX) {
			x_rr(b, w | 0x89, RAX, s);
			x_rr(b, W | 0x89, R10, RAX);
		}
	}
}

/* ld_abs / ld_ind: r0 = big-endian load from the packet, or exit with r0 = 0. */
static void ldpkt(struct jc *j, const struct skep_insn *in, size_t f)
{
	struct xb *b = &j->b;
	int size = isa_size_bytes(in->code);
	if (j->harden) {
		blind(j, 0, R9, in->imm);
		if (BPF_MODE(in->code) == BPF_IND)
			x_rr(b, 0x01, xreg[in->src], R9);
	} else if (BPF_MODE(in->code) == BPF_IND) {
		x_rm(b, 0x8d, R9, xreg[in->src], in->imm); /* lea r9d: the offset wraps at 32 bits */
	} else {
		x_mov_ri32(b, R9, (uint32_t)in->imm);
	}
	/* offsets are u32 here: negative ones are beyond any packet */
	x_rm(b, W | 0x8d, R11, R9, size);
	x_rm(b, W | 0x3b, R11, R12, offsetof(struct jit_block, pkt_len));
	jump(j, CC_A, L_OOB(j, f));
	x_rm(b, W | 0x8b, R11, R12, offsetof(struct jit_block, pkt));
	switch (size) {
	case 1:
		x_rsib(b, OPC2 | 0xb6, RAX, R11, R9, 0);
		break;
	case 2:
		x_rsib(b, OPC2 | 0xb7, RAX, R11, R9, 0);
		x_rr(b, P66 | 0xc1, 0, RAX); /* rol ax, 8 */
		e1(b, 8);
		break;
	default:
		x_rsib(b, 0x8b, RAX, R11, R9, 0);
		x_op(b, OPC2 | 0xc8, 0, 0, 0); /* bswap eax */
		break;
	}
}

/* bpf_tail_call(ctx, array, index), the kernel's sequence: fall through unless
 * index < max_entries, fewer than 33 tail calls so far, and a compiled program there. */
static void tail_call(struct jc *j, const struct fn *f)
{
	struct xb *b = &j->b;
	size_t out[5];
	int k = 0;
	x_rm(b, 0x3b, RDX, RSI, offsetof(struct skep_prog_array, max_entries));
	out[k++] = jfwd(j, CC_AE);
	x_rm(b, 0x83, 7, R12, offsetof(struct jit_block, tail_cnt));
	e1(b, SKEP_MAX_TAIL_CALLS);
	out[k++] = jfwd(j, CC_AE);
	x_rm(b, W | 0x8b, R11, RSI, offsetof(struct skep_prog_array, progs));
	x_rr(b, 0x89, RDX, R10);
	x_rsib(b, W | 0x8b, R11, R11, R10, 3);
	x_rr(b, W | 0x85, R11, R11);
	out[k++] = jfwd(j, CC_E);
	x_rm(b, W | 0x8b, R11, R11, offsetof(struct skep_prog, jit));
	x_rr(b, W | 0x85, R11, R11);
	out[k++] = jfwd(j, CC_E);
	x_rm(b, W | 0x8b, R11, R11, offsetof(struct jit_image, entry));
	x_rm(b, 0x83, 0, R12, offsetof(struct jit_block, tail_cnt));
	e1(b, 1);
	x_rr(b, W | 0x89, R12, R9); /* the block, for the target's prologue */
	unwind(j, f);
	x_rr(b, 0xff, 4, R11); /* jmp r11 */
	while (k)
		jhere(j, out[--k]);
}

static int reachable(struct jc *j, uint64_t target)
{
	int64_t lo = (int64_t)(target - (uint64_t)(uintptr_t)j->base);
	return lo > -(INT64_C(1) << 31) + (int64_t)j->map_size + 64 && lo < (INT64_C(1) << 31) - 64;
}

static void call_abs(struct jc *j, uint64_t target)
{
	struct xb *b = &j->b;
	if (j->base && reachable(j, target)) {
		e1(b, 0xe8);
		e4(b, (uint32_t)(target - ((uint64_t)(uintptr_t)j->base + b->len + 4)));
	} else {
		x_movabs(b, R11, target);
		x_rr(b, 0xff, 2, R11);
	}
}

/* ---- inlined array lookups (the kernel's array_map_gen_lookup) ----
 * bpf_map_lookup_elem(map, key) on an ARRAY or PERCPU_ARRAY map known at the call
 * becomes native code: r0 = *(u32 *)key < max_entries ? data + idx * stride : NULL
 * (per-CPU: + this CPU's slot). The map is known when r1 was set by a lddw of the
 * address of a map the program references (maprefs.c resolved it at load) earlier in
 * the same basic block, directly or through register moves. */

enum { ALL_REGS = 0x7ff, ARG_REGS = 0x3e };
static void use_def(const struct skep_insn *in, enum isa_op op, unsigned *use, unsigned *def);

/* The map r1 holds at call i, found by walking back through the basic block; NULL when
 * unknown (a jump target in between, a redefinition we cannot follow, a function start).
 * *ld: the lddw when it loads r1 itself and nothing between reads r1 (its code can go:
 * the inline code does not need the map's address), else SIZE_MAX. */
static struct skep_map *call_map(struct jc *j, size_t i, const struct fn *fn, size_t *ld)
{
	unsigned r = 1, read = 0;
	*ld = SIZE_MAX;
	if (j->loop[i] & T_TARGET)
		return NULL;
	for (size_t k = i; k-- > fn->start;) {
		enum isa_op op = j->op[k];
		if (op == OP_INVALID)   /* a lddw's second half: look at its first */
			continue;
		const struct skep_insn *x = &j->in[k];
		unsigned use, def;
		use_def(x, op, &use, &def);
		if (def >> r & 1) {
			if (op == OP_MOV64_REG) {
				r = x->src;
			} else if (op == OP_LDDW) {
				uint64_t v = (uint32_t)x->imm | (uint64_t)(uint32_t)x[1].imm << 32;
				for (uint32_t m = 0; m < j->p->nmaps; m++)
					if ((uint64_t)(uintptr_t)j->p->maps[m] == v) {
						if (r == 1 && !read)
							*ld = k;
						return j->p->maps[m];
					}
				return NULL;
			} else {
				return NULL;
			}
		} else if (use == ALL_REGS) {   /* atomics, tail calls, ld_abs: give up */
			return NULL;
		}
		read |= use >> 1 & 1;
		if (j->loop[k] & T_TARGET)
			return NULL;
	}
	return NULL;
}

static int rseq_cpu(int32_t *disp)
{
#ifdef HAVE_RSEQ
	ptrdiff_t off = __rseq_offset + (ptrdiff_t)offsetof(struct rseq, cpu_id);
	if (__rseq_size < offsetof(struct rseq, cpu_id) + 4 || !fits32(off))
		return 0;
	*disp = (int32_t)off;
	return 1;
#else
	(void)disp;
	return 0;
#endif
}

/* The map of call i when its lookup can be inline (*ld as call_map's), else NULL. */
static struct skep_map *inline_map(struct jc *j, size_t i, const struct fn *fn, int32_t *cpu_disp, size_t *ld)
{
	*ld = SIZE_MAX;
	if (j->op[i] != OP_CALL || (uint32_t)j->in[i].imm != SKEP_FUNC_map_lookup_elem || j->harden ||
	    (j->off & JIT_OFF_INLINE) ||
	    j->p->helpers[SKEP_FUNC_map_lookup_elem] != skep_helper_impl(SKEP_FUNC_map_lookup_elem))
		return NULL;
	struct skep_map *m = call_map(j, i, fn, ld);
	if (!m || (m->type != SKEP_MAP_TYPE_ARRAY && m->type != SKEP_MAP_TYPE_PERCPU_ARRAY) ||
	    m->esize > INT32_MAX || m->max_entries > INT32_MAX ||
	    (m->type == SKEP_MAP_TYPE_PERCPU_ARRAY && (!rseq_cpu(cpu_disp) || m->vsize8 > INT32_MAX))) {
		*ld = SIZE_MAX;
		return NULL;
	}
	return m;
}

/* Before emitting: which calls are inline (INL_CALL) and which lddw have no code left
 * to do (INL_DEAD). */
enum { INL_CALL = 1, INL_DEAD = 2 };

static int plan_inline(struct jc *j)
{
	int any = 0;
	for (size_t i = 0; i < j->n && !any; i++)
		any = j->op[i] == OP_CALL && (uint32_t)j->in[i].imm == SKEP_FUNC_map_lookup_elem;
	if (!any)
		return 0;
	if (!(j->inl = calloc(j->n, 1)))
		return -ENOMEM;
	for (size_t f = 0; f < j->nfns; f++)
		for (size_t i = j->fns[f].start; i < j->fns[f].end; i++) {
			int32_t cd;
			size_t ld;
			if (inline_map(j, i, &j->fns[f], &cd, &ld)) {
				j->inl[i] |= INL_CALL;
				if (ld != SIZE_MAX)
					j->inl[ld] |= INL_DEAD;
			}
		}
	return 0;
}

/* Emit the inline lookup for call i (planned INL_CALL). */
static void inline_lookup(struct jc *j, size_t i, const struct fn *fn)
{
	struct xb *b = &j->b;
	int32_t cpu_disp = 0;
	size_t ld;
	struct skep_map *m = inline_map(j, i, fn, &cpu_disp, &ld);
	int percpu = m->type == SKEP_MAP_TYPE_PERCPU_ARRAY;
	x_rm(b, 0x8b, RAX, RSI, 0);                         /* eax = *(u32 *)key */
	if (!percpu) {
		/* branch-free, as the kernel's index masking: rax = idx < max ? data + idx *
		 * stride : 0 (lea, mov and cmov leave the compare's flags alone) */
		uint32_t st = m->esize;
		int sc = st == 1 ? 0 : st == 2 ? 1 : st == 4 ? 2 : st == 8 ? 3 : -1;
		if (sc < 0 && !(st & (st - 1))) {                /* r10 = idx << log2(stride) */
			x_rr(b, W | 0x89, RAX, R10);
			x_rr(b, W | 0xc1, 4, R10);
			e1(b, (unsigned)__builtin_ctz(st));
		} else if (sc < 0) {                             /* r10 = idx * stride */
			x_rr(b, W | 0x69, R10, RAX);
			e4(b, st);
		}
		x_mov_imm(b, R11, (uint64_t)(uintptr_t)m->data);
		if (sc >= 0)
			x_rr(b, 0x31, R10, R10);                 /* r10 = 0 (before the compare) */
		x_alu_ri(b, 0, 7, RAX, (int32_t)m->max_entries); /* cmp eax, max_entries */
		if (sc >= 0) {
			x_rsib(b, W | 0x8d, RAX, R11, RAX, sc);  /* lea rax, [r11 + rax * stride] */
		} else {
			x_rsib(b, W | 0x8d, RAX, R11, R10, 0);   /* lea rax, [r11 + r10] */
			x_op(b, 0xb8 + (R10 & 7), 0, 0, R10);    /* mov r10d, 0 */
			e4(b, 0);
		}
		x_rr(b, W | OPC2 | 0x43, RAX, R10);              /* cmovae rax, r10 */
		return;
	}
	x_alu_ri(b, 0, 7, RAX, (int32_t)m->max_entries);     /* cmp eax, max_entries */
	size_t oob = jfwd(j, CC_AE), slow = 0;
	if (m->esize & (m->esize - 1)) {                     /* imul rax, rax, stride */
		x_rr(b, W | 0x69, RAX, RAX);
		e4(b, m->esize);
	} else if (m->esize > 1) {                           /* shl rax, log2(stride) */
		x_rr(b, W | 0xc1, 4, RAX);
		e1(b, (unsigned)__builtin_ctz(m->esize));
	}
	x_mov_imm(b, R11, (uint64_t)(uintptr_t)m->data);
	x_rr(b, W | 0x01, R11, RAX);                         /* add rax, r11 */
	/* r11d = the thread's CPU from glibc's rseq area (what sched_getcpu() reads); one
	 * not below the map's slots (or -1: no rseq) takes the helper, which computes
	 * map_cpu() */
	e1(b, 0x64);                                         /* mov r11d, fs:[disp32] */
	e1(b, 0x44);
	e1(b, 0x8b);
	e1(b, 0x1c);
	e1(b, 0x25);
	e4(b, (uint32_t)cpu_disp);
	x_alu_ri(b, 0, 7, R11, (int32_t)m->ncpus);           /* cmp r11d, ncpus */
	slow = jfwd(j, CC_AE);
	x_rr(b, W | 0x69, R11, R11);                         /* imul r11, r11, vsize8 */
	e4(b, m->vsize8);
	x_rr(b, W | 0x01, R11, RAX);                         /* add rax, r11 */
	size_t done = jfwd(j, -1);
	jhere(j, oob);
	x_rr(b, 0x31, RAX, RAX);
	size_t done2 = jfwd(j, -1);
	jhere(j, slow);
	x_mov_imm(b, RDI, (uint64_t)(uintptr_t)m);           /* r1 (its lddw may have no code) */
	call_abs(j, (uint64_t)(uintptr_t)j->p->helpers[SKEP_FUNC_map_lookup_elem]);
	jhere(j, done2);
	jhere(j, done);
}

/* ---- one instruction ---- */

/* Is instruction i a register move that the next one, an add to the same register of
 * the same width and not a jump target, completes into a lea? */
static int lea_pair(struct jc *j, size_t i, const struct fn *fn)
{
	if (i + 1 >= fn->end || (j->loop[i + 1] & T_TARGET) || (j->off & JIT_OFF_LEA))
		return 0;
	const struct skep_insn *in = &j->in[i], *nx = in + 1;
	enum isa_op a = j->op[i], b = j->op[i + 1];
	if (nx->dst != in->dst)
		return 0;
	if (a == OP_MOV64_REG)
		return b == OP_ADD64_REG || (b == OP_ADD64_IMM && !j->harden);
	if (a == OP_MOV32_REG)
		return b == OP_ADD32_REG || (b == OP_ADD32_IMM && !j->harden);
	return 0;
}

/* Is instruction i a register move that, with the add after it, only forms the address
 * of the memory access after that: "r = s; r += t; ... *(r + off) ...", with r
 * overwritten by that load or dead after it, neither later instruction a jump target?
 * Then the access takes [s + t + off] and the move and the add vanish. The store's
 * value must not be r itself. */
static int addr_triple(struct jc *j, size_t i, const struct fn *fn, int32_t *disp)
{
	if ((j->off & JIT_OFF_ADDR) || !j->live || i + 2 >= fn->end || (j->loop[i + 2] & T_TARGET) ||
	    j->op[i] != OP_MOV64_REG || !lea_pair(j, i, fn))
		return 0;
	const struct skep_insn *in = &j->in[i], *m = in + 2;
	int r = in->dst, kind = isa_ops[j->op[i + 2]].kind;
	if (kind == K_LDX) {
		if (m->src != r || (m->dst != r && (j->live[i + 2] >> r & 1)))
			return 0;
	} else if (kind == K_STX || kind == K_ST) {
		if (BPF_MODE(m->code) != BPF_MEM || m->dst != r || (kind == K_STX && m->src == r) ||
		    (j->live[i + 2] >> r & 1))
			return 0;
	} else {
		return 0;
	}
	int64_t d = (int64_t)m->off + (BPF_SRC(in[1].code) == BPF_X ? 0 : (int64_t)in[1].imm);
	if (!fits32(d))
		return 0;
	*disp = (int32_t)d;
	return 1;
}

/* Is instruction i "r &= 0xff" whose result only an unsigned compare with a byte
 * constant right after it reads (r dead after it, the compare no jump target)? Then the
 * compare takes r's low byte (cmp r8, imm8) and the mask has no code. */
static int byte_cmp(struct jc *j, size_t i, const struct fn *fn)
{
	if ((j->off & (JIT_OFF_CMP8 | JIT_OFF_IMM)) || j->harden || !j->live || i + 1 >= fn->end ||
	    (j->loop[i + 1] & T_TARGET) || (j->op[i] != OP_AND32_IMM && j->op[i] != OP_AND64_IMM))
		return 0;
	const struct skep_insn *in = &j->in[i], *nx = in + 1;
	if (in->imm != 0xff || isa_ops[j->op[i + 1]].kind != K_JCOND || BPF_SRC(nx->code) != BPF_K ||
	    nx->dst != in->dst || (j->live[i + 1] >> in->dst & 1))
		return 0;
	switch (BPF_OP(nx->code)) {
	case BPF_JSET:
		return 1; /* (r & 0xff) & imm == r8 & (imm & 0xff) */
	case BPF_JEQ: case BPF_JNE: case BPF_JGT: case BPF_JGE: case BPF_JLT: case BPF_JLE:
		return nx->imm >= 0 && nx->imm <= 0xff;
	default:
		return 0;
	}
}

/* Is instruction i "w = w" right after (and not a jump target after) an instruction
 * that left the register's upper half zero: a 32-bit ALU op or move, or a load of at
 * most 32 bits? Then it has nothing to do. */
static int zext_done(struct jc *j, size_t i, const struct fn *fn)
{
	if ((j->off & JIT_OFF_ZEXT) || i == fn->start || (j->loop[i] & T_TARGET) || j->op[i - 1] == OP_INVALID)
		return 0;
	const struct skep_insn *pv = &j->in[i - 1];
	if (pv->dst != j->in[i].dst)
		return 0;
	switch (isa_ops[j->op[i - 1]].kind) {
	case K_ALU: case K_NEG: case K_MOV:
		return BPF_CLASS(pv->code) == BPF_ALU;
	case K_LDX:
		return BPF_MODE(pv->code) == BPF_MEM && BPF_SIZE(pv->code) != BPF_DW;
	default:
		return 0;
	}
}

/* Is instruction i a conditional jump over an unconditional one ("if c goto +1; goto
 * L") that is not a jump target? Then the pair is "if !c goto L". */
static int jump_over(struct jc *j, size_t i, const struct fn *fn, size_t *to)
{
	if ((j->off & JIT_OFF_JINV) || i + 1 >= fn->end || j->in[i].off != 1 ||
	    (j->op[i + 1] != OP_JA && j->op[i + 1] != OP_GOTOL) || (j->loop[i + 1] & T_TARGET))
		return 0;
	*to = target_of(&j->in[i + 1], i + 1, j->op[i + 1]);
	return 1;
}

static void insn(struct jc *j, size_t i, size_t f)
{
	struct xb *b = &j->b;
	const struct skep_insn *in = &j->in[i];
	enum isa_op op = j->op[i];
	const struct fn *fn = &j->fns[f];
	unsigned w = BPF_CLASS(in->code) == BPF_ALU64 ? W : 0;
	int d = xreg[in->dst <= 10 ? in->dst : 0];
	int s = xreg[in->src <= 10 ? in->src : 0]; /* src is a selector for some ops */
	int bop = BPF_OP(in->code);
	int32_t adisp;
	switch (isa_ops[op].kind) {
	case K_ALU:
		if (byte_cmp(j, i, fn)) {
			j->cmp8 = 1;
		} else if (bop == BPF_DIV || bop == BPF_MOD) {
			if (BPF_SRC(in->code) == BPF_X)
				div_x(j, bop == BPF_MOD, in->off == 1, w, d, s);
			else if (j->off & JIT_OFF_DIV_K) {
				x_mov_ri64s(b, R10, in->imm);
				div_x(j, bop == BPF_MOD, in->off == 1, w, d, R10);
			} else
				div_k(j, bop == BPF_MOD, in->off == 1, w, d, in->imm);
		} else if (BPF_SRC(in->code) == BPF_X) {
			alu_x(j, bop, w, d, s);
		} else if (j->harden) {
			blind(j, w, R10, in->imm);
			alu_x(j, bop, w, d, R10);
		} else if (j->off & JIT_OFF_IMM) {
			x_mov_ri64s(b, R10, in->imm);
			alu_x(j, bop, w, d, R10);
		} else {
			alu_k(j, bop, w, d, in->imm);
		}
		break;
	case K_NEG:
		x_rr(b, w | 0xf7, 3, d);
		break;
	case K_MOV:
		if (BPF_SRC(in->code) == BPF_X && d != s && addr_triple(j, i, fn, &adisp)) {
			/* r = s; r += t; load/store through r: one access at [s + t + off] */
			const struct skep_insn *nx = &in[1], *m = &in[2];
			int add_reg = BPF_SRC(nx->code) == BPF_X;
			int t = add_reg ? (nx->src == in->dst ? s : xreg[nx->src]) : -1;
			switch (isa_ops[j->op[i + 2]].kind) {
			case K_LDX: ldx(j, j->op[i + 2], xreg[m->dst], s, t, adisp); break;
			case K_STX: x_rmx(b, stx_form[BPF_SIZE(m->code) >> 3], xreg[m->src], s, t, adisp); break;
			default: st_imm(j, m, s, t, adisp); break;
			}
			j->skip = 2;
		} else if (BPF_SRC(in->code) == BPF_X && d != s && lea_pair(j, i, fn)) {
			/* r = s; r += t / imm: one lea */
			const struct skep_insn *nx = &in[1];
			int add_reg = BPF_SRC(nx->code) == BPF_X;
			int t = add_reg ? (nx->src == in->dst ? s : xreg[nx->src]) : -1;
			x_lea(b, w, d, s, t, add_reg ? 0 : nx->imm);
			j->skip = 1;
		} else if (BPF_SRC(in->code) == BPF_X) {
			if ((w == 0 || d != s) && !(d == s && zext_done(j, i, fn)))
				x_rr(b, w | 0x89, s, d);
		} else if (j->off & JIT_OFF_SHORT_IMM) {
			x_movabs(b, d, w ? (uint64_t)(int64_t)in->imm : (uint32_t)in->imm);
		} else if (in->imm == 0) {
			x_rr(b, 0x31, d, d);
		} else if (j->harden) {
			blind(j, w, d, in->imm);
		} else if (w && in->imm < 0) {
			x_mov_ri64s(b, d, in->imm);
		} else {
			x_mov_ri32(b, d, (uint32_t)in->imm);
		}
		break;
	case K_MOVSX:
		switch (op) {
		case OP_MOVSX32_8: x_rr(b, BYTE | OPC2 | 0xbe, d, s); break;
		case OP_MOVSX32_16: x_rr(b, OPC2 | 0xbf, d, s); break;
		case OP_MOVSX64_8: x_rr(b, W | BYTE | OPC2 | 0xbe, d, s); break;
		case OP_MOVSX64_16: x_rr(b, W | OPC2 | 0xbf, d, s); break;
		default: x_rr(b, W | 0x63, d, s); break;
		}
		break;
	case K_END:
		switch (op) {
		case OP_BE16:
		case OP_BSWAP16:
			x_rr(b, P66 | 0xc1, 1, d); /* ror d16, 8 */
			e1(b, 8);
			/* fallthrough */
		case OP_LE16:
			x_rr(b, OPC2 | 0xb7, d, d);
			break;
		case OP_LE32:
			zext(b, d);
			break;
		case OP_BE32:
		case OP_BSWAP32:
			x_op(b, OPC2 | (0xc8 + (d & 7)), 0, 0, d);
			break;
		case OP_BE64:
		case OP_BSWAP64:
			x_op(b, W | OPC2 | (0xc8 + (d & 7)), 0, 0, d);
			break;
		default: /* le64: nothing */
			break;
		}
		break;
	case K_JA: {
		size_t t = i + 1 + (size_t)(int64_t)(op == OP_GOTOL ? in->imm : in->off);
		if (t != i + 1)
			jump(j, -1, t);
		break;
	}
	case K_JCOND: {
		size_t t = i + 1 + (size_t)(int64_t)in->off, to;
		if (jump_over(j, i, fn, &to)) {
			jcond(j, in, to, 1);
			j->skip = 1;
		} else if (t != i + 1) {
			jcond(j, in, t, 0);
		}
		j->cmp8 = 0;
		break;
	}
	case K_CALL:
		if (op == OP_CALL_LOCAL) {
			size_t g = j->fn_of[i + 1 + (size_t)(int64_t)in->imm];
			if (j->rtdepth) { /* as the interpreter: fail the run beyond 8 frames */
				x_rm(b, 0x83, 0, R12, offsetof(struct jit_block, depth));
				e1(b, 1);
				x_mov_ri32(b, R11, (uint32_t)i);
				x_rm(b, 0x83, 7, R12, offsetof(struct jit_block, depth));
				e1(b, SKEP_MAX_CALL_DEPTH - 1);
				jump(j, CC_A, L_DEEP(j));
			}
			int64_t disp = j->have_prev ? (int64_t)j->prev[L_ENTRY(j, g)] - (here_prev(j) + 5) : 0;
			e1(b, 0xe8);
			e4(b, (uint32_t)(int32_t)disp);
			if (j->rtdepth) {
				x_rm(b, 0x83, 5, R12, offsetof(struct jit_block, depth));
				e1(b, 1);
			}
		} else if (in->imm == SKEP_HELPER_TAIL_CALL) {
			tail_call(j, fn);
		} else if (j->inl && (j->inl[i] & INL_CALL)) {
			inline_lookup(j, i, fn);
		} else {
			call_abs(j, (uint64_t)(uintptr_t)j->p->helpers[(uint32_t)in->imm]);
		}
		break;
	case K_EXIT:
		if (i + 1 == fn->end)
			break; /* the epilogue follows */
		if (fn->epi_size <= 8)
			epilogue(j, fn);
		else
			jump(j, -1, L_EPI(j, f));
		break;
	case K_LDDW: {
		uint64_t v = (uint32_t)in->imm | (uint64_t)(uint32_t)in[1].imm << 32;
		if (op == OP_LDDW_FUNC) {
			/* the callee's native address, as the kernel gives callbacks */
			size_t g = j->fn_of[i + 1 + (size_t)(int64_t)in->imm];
			int64_t disp = j->have_prev ? (int64_t)j->prev[L_ENTRY(j, g)] - (here_prev(j) + 7) : 0;
			x_op(b, W | 0x8d, d, 0, 0);
			e1(b, 0x05 | (d & 7) << 3);
			e4(b, (uint32_t)(int32_t)disp);
		} else if (j->inl && (j->inl[i] & INL_DEAD)) {
			/* r1 = map only for an inline lookup: nothing to do */
		} else if (j->harden && v) {
			uint64_t r = (uint64_t)rnd32(j) << 32 | rnd32(j);
			x_movabs(b, d, v ^ r);
			x_movabs(b, R10, r);
			x_rr(b, W | 0x31, R10, d);
		} else if (j->off & JIT_OFF_SHORT_IMM) {
			x_movabs(b, d, v);
		} else {
			x_mov_imm(b, d, v);
		}
		break;
	}
	case K_LDX:
		ldx(j, op, d, s, -1, in->off);
		break;
	case K_ST:
		st_imm(j, in, d, -1, in->off);
		break;
	case K_STX:
		x_rm(b, stx_form[BPF_SIZE(in->code) >> 3], s, d, in->off);
		break;
	case K_ATOMIC:
		atomic(j, in);
		break;
	case K_LDPKT:
		ldpkt(j, in, f);
		break;
	}
}

/* A loop that fits in a 64-byte block (fetch block, op-cache line) should sit in one:
 * its head is padded to a 64-byte boundary when the loop (head to the farthest back
 * edge) would otherwise straddle two. The padding runs once per entry into the loop.
 * Padding depends on where the code lands, so it cannot join the shrinking passes: a
 * second phase adds it with the code as laid out, where jumps it pushes out of rel8
 * range turn rel32 and padded heads stay padded for good (sticky), so that phase
 * converges too. The first pass pads every loop head fully, so its size stays an
 * upper bound. */
enum { LOOP_ALIGN = 64, LOOP_MAX = 64 };

static unsigned blocks(size_t at, size_t size) { return (unsigned)((at % LOOP_ALIGN + size + LOOP_ALIGN - 1) / LOOP_ALIGN); }

static unsigned loop_pad(struct jc *j, size_t i)
{
	uint32_t size = j->lsize[i];
	if (!(j->loop[i] & T_ALIGNED)) {
		if (!size || size > LOOP_MAX || blocks(j->b.len, size) <= blocks(0, size))
			return 0;
		j->loop[i] |= T_ALIGNED;
	}
	return (unsigned)-j->b.len & (LOOP_ALIGN - 1);
}

/* Loop sizes by the last pass: from each head to the end of its farthest back edge. */
static void loop_sizes(struct jc *j)
{
	for (size_t i = 0; i < j->n; i++) {
		enum isa_op op = j->op[i];
		if (op != OP_INVALID && (isa_ops[op].kind == K_JA || isa_ops[op].kind == K_JCOND)) {
			size_t t = target_of(&j->in[i], i, op);
			if (t <= i && j->prev[i + 1] - j->prev[t] > j->lsize[t])
				j->lsize[t] = j->prev[i + 1] - j->prev[t];
		}
	}
}

static void nops(struct xb *b, unsigned k)
{
	static const uint8_t nop[10][9] = {
		{0}, {0x90}, {0x66, 0x90}, {0x0f, 0x1f, 0x00}, {0x0f, 0x1f, 0x40, 0x00},
		{0x0f, 0x1f, 0x44, 0x00, 0x00}, {0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00},
		{0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00},
		{0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
		{0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
	};
	while (k) {
		unsigned m = k > 9 ? 9 : k;
		for (unsigned i = 0; i < m; i++)
			e1(b, nop[m][i]);
		k -= m;
	}
}

static int emit_pass(struct jc *j)
{
	j->b.len = 0;
	if (reserve(j, 512))
		return -ENOMEM;
	if (j->block)
		fast_stub(j);
	j->entry_off = (uint32_t)j->b.len;
	if (j->tail || j->rtdepth)
		guard(j);
	for (size_t f = 0; f < j->nfns; f++) {
		const struct fn *fn = &j->fns[f];
		if (reserve(j, 512))
			return -ENOMEM;
		j->lab[L_ENTRY(j, f)] = (uint32_t)j->b.len;
		j->anchor = L_ENTRY(j, f);
		prologue(j, fn, f == 0);
		for (size_t i = fn->start; i < fn->end; i++) {
			if (reserve(j, 512))
				return -ENOMEM;
			if ((j->loop[i] & T_LOOP) && !j->have_prev)
				nops(&j->b, LOOP_ALIGN - 1);
			else if ((j->loop[i] & T_LOOP) && j->align)
				nops(&j->b, loop_pad(j, i));
			j->lab[i] = (uint32_t)j->b.len;
			j->anchor = i;
			if (j->skip)
				j->skip--;
			else if (j->op[i] != OP_INVALID)
				insn(j, i, f);
		}
		j->lab[L_EPI(j, f)] = (uint32_t)j->b.len;
		epilogue(j, fn);
		j->lab[L_OOB(j, f)] = (uint32_t)j->b.len;
		if (fn->ldpkt) {
			x_rr(&j->b, 0x31, RAX, RAX);
			epilogue(j, fn);
		}
	}
	j->lab[j->n] = (uint32_t)j->b.len;
	if (j->b.len > (1u << 30))
		return prog_fail(j->p, -E2BIG, "native code of %zu bytes is too large", j->b.len);
	return 0;
}

/* ---- analysis: functions, registers, call depth ---- */

static int fail_at(struct jc *j, int err, size_t i, const char *why, long a, long b)
{
	char msg[200];
	snprintf(msg, sizeof msg, why, a, b);
	return prog_fail(j->p, err, "insn %zu: %s", i, msg);
}

/* Frames a call into function f can stack (f included), or -1 when no static bound
 * within SKEP_MAX_CALL_DEPTH exists (recursion, or a chain too long): such programs
 * count frames at run time. level = frames above f + 1. */
static int fn_depth(struct jc *j, size_t f, int level)
{
	struct fn *fn = &j->fns[f];
	if (fn->depth > 0)
		return fn->depth;
	if (fn->depth < 0 || level > SKEP_MAX_CALL_DEPTH)
		return -1;
	fn->depth = -1;
	int depth = 1;
	for (size_t i = fn->start; i < fn->end; i++) {
		enum isa_op op = j->op[i];
		if (op != OP_CALL_LOCAL && op != OP_LDDW_FUNC)
			continue;
		int r = fn_depth(j, j->fn_of[target_of(&j->in[i], i, op)], level + 1);
		if (r < 0 || level + r > SKEP_MAX_CALL_DEPTH)
			return -1;
		if (r + 1 > depth)
			depth = r + 1;
	}
	fn->depth = (int8_t)depth;
	return depth;
}

/* BPF registers an instruction names (bit per register). */
static unsigned regs_of(const struct skep_insn *in, enum isa_op op)
{
	const struct isa_opinfo *oi = &isa_ops[op];
	unsigned m = 0;
	if (oi->fields & F_DST)
		m |= 1u << in->dst;
	if ((oi->fields & F_SRC) && oi->sel != SEL_SRC)
		m |= 1u << in->src;
	return m;
}

/* Does the instruction write r10? */
static int writes_r10(const struct skep_insn *in, enum isa_op op)
{
	switch (isa_ops[op].kind) {
	case K_ALU: case K_NEG: case K_MOV: case K_MOVSX: case K_END: case K_LDDW: case K_LDX:
		return in->dst == 10;
	case K_ATOMIC:
		return (in->imm & BPF_FETCH) && in->imm != BPF_CMPXCHG && in->src == 10;
	default:
		return 0;
	}
}

static int analyze(struct jc *j)
{
	struct skep_prog *p = j->p;
	const struct skep_insn *in = j->in;
	size_t n = j->n;
	uint8_t *start = calloc(n, 1);
	if (!start)
		return prog_fail(p, -ENOMEM, "out of memory compiling %zu instructions", n);
	int err = 0;
	start[0] = 1;
	for (size_t i = 0; i < n && !err; i++) {
		enum isa_op op = isa_decode(&in[i]);
		j->op[i] = (uint16_t)op;
		if (op == OP_INVALID) {
			err = fail_at(j, -EINVAL, i, "invalid instruction (opcode 0x%02lx)", in[i].code, 0);
			break;
		}
		size_t t = target_of(&in[i], i, op);
		int kind = isa_ops[op].kind;
		if ((kind == K_JA || kind == K_JCOND || op == OP_CALL_LOCAL || op == OP_LDDW_FUNC) &&
		    t >= n) {
			err = fail_at(j, -EINVAL, i, "target %ld is outside the program (%ld instructions)",
				      (long)t, (long)n);
			break;
		}
		if (op == OP_CALL_LOCAL || op == OP_LDDW_FUNC)
			start[t] = 1;
		if (kind == K_LDDW) {
			if (i + 1 >= n) {
				err = fail_at(j, -EINVAL, i, "lddw is missing its second half", 0, 0);
				break;
			}
			j->op[++i] = OP_INVALID;
		}
	}
	for (size_t i = 0; i < n && !err; i++)
		if (start[i] && j->op[i] == OP_INVALID && i > 0 && isa_ops[j->op[i - 1]].kind == K_LDDW)
			err = fail_at(j, -EINVAL, i, "a call targets the middle of a lddw", 0, 0);
	if (err) {
		free(start);
		return err;
	}
	size_t nf = 0;
	for (size_t i = 0; i < n; i++)
		nf += start[i];
	j->fns = calloc(nf, sizeof *j->fns);
	j->lab = calloc(n + 2 + 3 * nf, sizeof *j->lab);
	j->prev = calloc(n + 2 + 3 * nf, sizeof *j->prev);
	if (!j->fns || !j->lab || !j->prev) {
		free(start);
		return prog_fail(p, -ENOMEM, "out of memory compiling %zu instructions", n);
	}
	j->nfns = nf;
	j->nlab = n + 2 + 3 * nf;
	for (size_t i = 0, f = 0; i < n; i++) {
		if (start[i]) {
			if (f)
				j->fns[f - 1].end = (uint32_t)i;
			j->fns[f++].start = (uint32_t)i;
		}
		j->fn_of[i] = (uint32_t)(f - 1);
	}
	j->fns[nf - 1].end = (uint32_t)n;
	free(start);
	if (fn_depth(j, 0, 1) < 0)
		j->rtdepth = j->block = 1;

	/* per function: registers, frame, checks that keep each function self-contained */
	for (size_t f = 0; f < nf; f++) {
		struct fn *fn = &j->fns[f];
		unsigned regs = 0;
		for (size_t i = fn->start; i < fn->end; i++) {
			enum isa_op op = j->op[i];
			if (op == OP_INVALID)
				continue;
			const struct skep_insn *x = &in[i];
			int kind = isa_ops[op].kind;
			regs |= regs_of(x, op);
			if (writes_r10(x, op))
				return fail_at(j, -EINVAL, i, "writes r10, the read-only frame pointer", 0, 0);
			if (kind == K_JA || kind == K_JCOND) {
				size_t t = target_of(x, i, op);
				j->loop[t] |= t <= i ? T_TARGET | T_LOOP : T_TARGET;
				if (j->fn_of[t] != f)
					return fail_at(j, -EINVAL, i, "jump to insn %ld leaves the function "
						       "starting at insn %ld", (long)t, (long)fn->start);
			} else if (op == OP_CALL_LOCAL) {
				fn->calls = 1;
			} else if (op == OP_CALL) {
				uint32_t id = (uint32_t)x->imm;
				if (id == SKEP_HELPER_TAIL_CALL) {
					j->block = j->tail = 1;
				} else if (id >= p->nhelpers || !p->helpers[id]) {
					return helper_missing(p, i, id);
				} else {
					fn->calls = 1;
				}
			} else if (op == OP_CALL_KFUNC) {
				return fail_at(j, -EOPNOTSUPP, i, "call to kfunc %ld: kfuncs are not supported",
					       x->imm, 0);
			} else if (kind == K_LDPKT) {
				fn->ldpkt = 1;
				j->block = 1;
				if (nf > 1)
					return fail_at(j, -EINVAL, i, "ld_abs/ld_ind cannot be mixed with bpf-to-bpf "
						       "calls (as in the kernel)", 0, 0);
			}
		}
		size_t last = fn->end - 1;
		enum isa_op lop = j->op[last];
		if (lop == OP_INVALID || (lop != OP_EXIT && lop != OP_JA && lop != OP_GOTOL))
			return fail_at(j, -EINVAL, last, "the function starting at insn %ld can fall "
				       "through into the next one", (long)fn->start, 0);
		if (j->off & JIT_OFF_SAVE_USED)
			regs |= 0xf << 6;
		if (j->off & JIT_OFF_LAZY_FRAME)
			regs |= 1 << 10;
		for (int r = 6; r <= 9; r++)
			if (regs >> r & 1)
				fn->saves |= (uint16_t)(1u << xreg[r]);
		if (f == 0 && j->block)
			fn->saves |= 1u << R12;
		fn->stack = regs >> 10 & 1;
		int pushes = __builtin_popcount(fn->saves) + fn->stack;
		fn->frame = (fn->stack ? SKEP_STACK_SIZE : 0) + (fn->calls && pushes % 2 == 0 ? 8 : 0);
		fn->epi_size = 1 + (uint32_t)(fn->stack ? 1 : fn->frame ? 4 : 0);
		for (size_t k = 0; k < sizeof saved_order; k++)
			if (fn->saves >> saved_order[k] & 1)
				fn->epi_size += saved_order[k] >= 8 ? 2 : 1;
	}
	return 0;
}

/* Registers an instruction reads and writes, for liveness. Anything unusual (atomics,
 * tail calls, ld_abs/ld_ind) reads every register and writes none: never wrong. */
static void use_def(const struct skep_insn *in, enum isa_op op, unsigned *use, unsigned *def)
{
	unsigned d = 1u << in->dst, s = 1u << in->src, x = BPF_SRC(in->code) == BPF_X;
	*use = *def = 0;
	switch (isa_ops[op].kind) {
	case K_ALU: *use = d | (x ? s : 0); *def = d; break;
	case K_NEG: case K_END: *use = *def = d; break;
	case K_MOV: *use = x ? s : 0; *def = d; break;
	case K_MOVSX: case K_LDX: *use = s; *def = d; break;
	case K_LDDW: *def = d; break;
	case K_ST: *use = d; break;
	case K_STX: *use = d | s; break;
	case K_JA: break;
	case K_JCOND: *use = d | (x ? s : 0); break;
	case K_EXIT: *use = 1; break;
	case K_CALL:
		if (op == OP_CALL && (uint32_t)in->imm == SKEP_HELPER_TAIL_CALL)
			*use = ALL_REGS;
		else
			*use = ARG_REGS, *def = ARG_REGS | 1; /* r1..r5 read, r0..r5 clobbered */
		break;
	default: *use = ALL_REGS; break;
	}
}

/* Backward dataflow per function to a fixed point: live[i] = registers read on some
 * path after instruction i before being written. Passes run backwards, so a few
 * suffice for real loop nests; the cap bounds compile time on contrived ones. */
enum { LIVE_PASSES = 32 };

static int liveness(struct jc *j)
{
	uint16_t *in_ = calloc(j->n + 1, sizeof *in_);
	j->live = calloc(j->n, sizeof *j->live);
	if (!in_ || !j->live) {
		free(in_);
		return -ENOMEM;
	}
	for (size_t f = 0; f < j->nfns; f++) {
		const struct fn *fn = &j->fns[f];
		int changed = 1;
		for (int pass = 0; changed && pass < LIVE_PASSES; pass++) {
			changed = 0;
			for (size_t i = fn->end; i-- > fn->start;) {
				enum isa_op op = j->op[i];
				if (op == OP_INVALID)
					continue;
				const struct skep_insn *x = &j->in[i];
				int kind = isa_ops[op].kind;
				size_t next = i + (kind == K_LDDW ? 2 : 1);
				unsigned out = 0, use, def;
				if (kind == K_JA || kind == K_JCOND)
					out |= in_[target_of(x, i, op)];
				if (kind != K_JA && kind != K_EXIT && next < fn->end)
					out |= in_[next];
				use_def(x, op, &use, &def);
				unsigned li = use | (out & ~def);
				j->live[i] = (uint16_t)out;
				if (li != in_[i]) {
					in_[i] = (uint16_t)li;
					changed = 1;
				}
			}
		}
		if (changed) /* no fixed point yet: call everything live, which is never wrong */
			for (size_t i = fn->start; i < fn->end; i++)
				j->live[i] = ALL_REGS;
	}
	free(in_);
	return 0;
}

static void jc_free(struct jc *j)
{
	free(j->op);
	free(j->fn_of);
	free(j->loop);
	free(j->inl);
	free(j->sticky);
	free(j->lsize);
	free(j->live);
	free(j->fns);
	free(j->lab);
	free(j->prev);
	free(j->b.p);
}

/* Where to ask for the code: near what it calls, so calls can be rel32. */
static const void *map_hint(struct jc *j)
{
	uintptr_t near = (uintptr_t)(void *)jit_compile;
	for (size_t i = 0; i < j->n; i++)
		if (j->op[i] == OP_CALL && (uint32_t)j->in[i].imm != SKEP_HELPER_TAIL_CALL) {
			near = (uintptr_t)(void *)j->p->helpers[(uint32_t)j->in[i].imm];
			break;
		}
	uintptr_t below = (uintptr_t)256 << 20;
	return near > 2 * below ? (const void *)((near - below) & ~(uintptr_t)0xfffff) : NULL;
}

static int build(struct jc *j, struct jit_image **out)
{
	struct skep_prog *p = j->p;
	int err = analyze(j);
	if (err)
		return err;
	if ((~j->off & (JIT_OFF_ADDR | JIT_OFF_CMP8)) && liveness(j))
		return prog_fail(p, -ENOMEM, "out of memory compiling");
	if (plan_inline(j))
		return prog_fail(p, -ENOMEM, "out of memory compiling");
	if (getrandom(&j->rnd, sizeof j->rnd, GRND_NONBLOCK) != sizeof j->rnd)
		j->rnd = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)j;
	j->rnd |= 1;
	if ((err = emit_pass(j)))
		return err == -ENOMEM ? prog_fail(p, err, "out of memory compiling") : err;
	size_t mapped;
	uint8_t *mem = jit_mem_map(j->b.len, map_hint(j), &mapped);
	if (!mem)
		return prog_fail(p, -ENOMEM, "cannot map %zu bytes for native code", j->b.len);
	j->base = mem;
	j->map_size = mapped;
	int done = 0, loops = 0;
	for (size_t i = 0; i < j->n; i++)
		loops |= j->loop[i] & T_LOOP;
	for (int pass = 1; pass < 64 && !done; pass++) {
		uint32_t *t = j->prev;
		j->prev = j->lab;
		j->lab = t;
		j->have_prev = 1;
		if (j->align) {
			memset(j->lsize, 0, j->n * sizeof *j->lsize);
			loop_sizes(j);
		}
		if ((err = emit_pass(j)))
			break;
		done = !memcmp(j->lab, j->prev, j->nlab * sizeof *j->lab);
		if (done && loops && !j->align && !(j->off & JIT_OFF_ALIGN)) {
			j->lsize = calloc(j->n, sizeof *j->lsize);
			if (!j->lsize) {
				err = prog_fail(p, -ENOMEM, "out of memory compiling");
				break;
			}
			j->align = 1; /* jump sizes settled: now align the loops */
			done = 0;
		}
	}
	struct jit_image *img = NULL;
	if (!err && !done)
		err = prog_fail(p, -EFAULT, "native code layout did not converge");
	if (!err && j->b.len > mapped)
		err = prog_fail(p, -EFAULT, "native code grew past its first size");
	if (!err) {
		img = calloc(1, sizeof *img);
		if (img) {
			img->insn_off = malloc((j->n + 1) * sizeof *img->insn_off);
			img->funcs = calloc(j->nfns, sizeof *img->funcs);
		}
		if (!img || !img->insn_off || !img->funcs)
			err = prog_fail(p, -ENOMEM, "out of memory compiling");
	}
	if (!err) {
		memcpy(mem, j->b.p, j->b.len);
		memset(mem + j->b.len, 0xcc, mapped - j->b.len);
		err = jit_mem_seal(mem, mapped);
		if (err)
			prog_fail(p, err, "cannot make native code executable");
	}
	if (err) {
		if (img) {
			free(img->insn_off);
			free(img->funcs);
			free(img);
		}
		jit_mem_unmap(mem, mapped);
		return err == -ENOMEM && !p->err[0] ? prog_fail(p, err, "out of memory compiling") : err;
	}
	img->code = mem;
	img->size = j->b.len;
	img->map_size = mapped;
	img->n = j->n;
	memcpy(img->insn_off, j->lab, (j->n + 1) * sizeof *img->insn_off);
	img->nfuncs = j->nfns;
	for (size_t f = 0; f < j->nfns; f++) {
		struct skep_jited_func *o = &img->funcs[f];
		o->insn = j->fns[f].start;
		o->insn_end = j->fns[f].end;
		o->entry = j->lab[L_ENTRY(j, f)];
		o->body = j->lab[o->insn];
		o->epilogue = j->lab[L_EPI(j, f)];
		o->end = f + 1 < j->nfns ? j->lab[L_ENTRY(j, f + 1)] : (uint32_t)j->b.len;
	}
	img->entry_off = j->entry_off; /* the guard, or main */
	img->entry = (jit_entry_fn)(void *)(mem + img->entry_off);
	img->fast = (skep_prog_fn)(void *)mem;
	img->harden = j->harden;
	img->block = j->block;
	*out = img;
	return 0;
}

int jit_compile(struct skep_prog *p)
{
	if (!p->insns || !p->n)
		return prog_fail(p, -EINVAL, "no program loaded");
	__builtin_cpu_init();
	struct jc j = {
		.p = p,
		.in = p->insns,
		.n = p->n,
		.bmi2 = !(jit_off & JIT_OFF_BMI2) && __builtin_cpu_supports("bmi2"),
		.off = jit_off,
		.harden = p->jit_harden,
	};
	j.op = malloc(p->n * sizeof *j.op);
	j.fn_of = malloc(p->n * sizeof *j.fn_of);
	j.loop = calloc(p->n, 1);
	j.sticky = calloc(p->n, 1);
	int err;
	if (!j.op || !j.fn_of || !j.loop || !j.sticky) {
		err = prog_fail(p, -ENOMEM, "out of memory compiling %zu instructions", p->n);
	} else {
		p->err[0] = 0;
		struct jit_image *img = NULL;
		err = build(&j, &img);
		if (!err) {
			jit_free(p->jit);
			__atomic_store_n(&p->jit, img, __ATOMIC_RELEASE); /* runs load it acquiring */
		}
	}
	jc_free(&j);
	return err;
}

#else /* not x86-64 */

int jit_compile(struct skep_prog *p)
{
	return prog_fail(p, -EOPNOTSUPP, "the JIT needs an x86-64 host");
}

#endif
