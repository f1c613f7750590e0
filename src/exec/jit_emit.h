/* x86-64 encoder for the JIT: a byte buffer and the few instruction forms the compiler
 * needs. An instruction form is one unsigned: the opcode byte in the low 8 bits, and
 * flags for the operand size and prefixes above it, so the compiler's tables can hold
 * "64-bit add" as W | 0x01. Registers are x86 numbers. The caller reserves room before
 * each instruction group (jit_x86_64.c: reserve), so the writers do not check. */
#ifndef SKEP_JIT_EMIT_H
#define SKEP_JIT_EMIT_H

#include <stddef.h>
#include <stdint.h>

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

enum {
	W = 1u << 8,     /* REX.W: 64-bit operands */
	P66 = 1u << 9,   /* 16-bit operands */
	LOCK = 1u << 10, /* lock prefix */
	BYTE = 1u << 11, /* an 8-bit register operand: always emit a REX so 4..7 mean spl..dil */
	OPC2 = 1u << 12, /* two-byte opcode 0x0f xx */
};

/* Condition codes (the low nibble of jcc) */
enum { CC_B = 2, CC_AE = 3, CC_E = 4, CC_NE = 5, CC_BE = 6, CC_A = 7,
       CC_L = 0xc, CC_GE = 0xd, CC_LE = 0xe, CC_G = 0xf };

struct xb {
	uint8_t *p;
	size_t len;
};

static inline void e1(struct xb *b, unsigned v) { b->p[b->len++] = (uint8_t)v; }
static inline void e2(struct xb *b, unsigned v) { e1(b, v); e1(b, v >> 8); }
static inline void e4(struct xb *b, uint32_t v) { e2(b, v & 0xffff); e2(b, v >> 16); }
static inline void e8(struct xb *b, uint64_t v) { e4(b, (uint32_t)v); e4(b, (uint32_t)(v >> 32)); }
static inline int fits8(int64_t v) { return v >= -128 && v <= 127; }
static inline int fits32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

/* Prefixes, REX (r: ModRM.reg, x: SIB.index, bs: ModRM.rm or SIB.base) and opcode. */
static inline void x_op(struct xb *b, unsigned f, int r, int x, int bs)
{
	if (f & LOCK)
		e1(b, 0xf0);
	if (f & P66)
		e1(b, 0x66);
	unsigned rex = (f & W ? 8 : 0) | (r & 8 ? 4 : 0) | (x & 8 ? 2 : 0) | (bs & 8 ? 1 : 0);
	if (rex || (f & BYTE))
		e1(b, 0x40 | rex);
	if (f & OPC2)
		e1(b, 0x0f);
	e1(b, f & 0xff);
}

/* op with a register operand: ModRM.reg = r (or an opcode extension), ModRM.rm = rm */
static inline void x_rr(struct xb *b, unsigned f, int r, int rm)
{
	x_op(b, f, r, 0, rm);
	e1(b, 0xc0 | (r & 7) << 3 | (rm & 7));
}

/* op with a memory operand [base + disp] */
static inline void x_rm(struct xb *b, unsigned f, int r, int base, int32_t disp)
{
	x_op(b, f, r, 0, base);
	int mod = disp == 0 && (base & 7) != RBP ? 0 : fits8(disp) ? 1 : 2;
	e1(b, mod << 6 | (r & 7) << 3 | (base & 7));
	if ((base & 7) == RSP)
		e1(b, 0x24);
	if (mod == 1)
		e1(b, (uint8_t)disp);
	else if (mod == 2)
		e4(b, (uint32_t)disp);
}

/* op with a memory operand [base + index << scale] (base is not rbp/r13) */
static inline void x_rsib(struct xb *b, unsigned f, int r, int base, int index, int scale)
{
	x_op(b, f, r, index, base);
	e1(b, (r & 7) << 3 | 4);
	e1(b, scale << 6 | (index & 7) << 3 | (base & 7));
}

/* op with a memory operand [base + index + disp] (index < 0: none; index is never rsp) */
static inline void x_rmx(struct xb *b, unsigned f, int r, int base, int index, int32_t disp)
{
	if (index < 0) {
		x_rm(b, f, r, base, disp);
		return;
	}
	x_op(b, f, r, index, base);
	int mod = disp == 0 && (base & 7) != RBP ? 0 : fits8(disp) ? 1 : 2;
	e1(b, mod << 6 | (r & 7) << 3 | 4);
	e1(b, (index & 7) << 3 | (base & 7));
	if (mod == 1)
		e1(b, (uint8_t)disp);
	else if (mod == 2)
		e4(b, (uint32_t)disp);
}

/* lea r, [base + index + disp] */
static inline void x_lea(struct xb *b, unsigned w, int r, int base, int index, int32_t disp)
{
	x_rmx(b, w | 0x8d, r, base, index, disp);
}

/* group-1 ALU with an immediate (digit: 0 add, 1 or, 4 and, 5 sub, 6 xor, 7 cmp) */
static inline void x_alu_ri(struct xb *b, unsigned w, int digit, int r, int32_t imm)
{
	if (fits8(imm)) {
		x_rr(b, w | 0x83, digit, r);
		e1(b, (uint8_t)imm);
	} else if (r == RAX) {
		x_op(b, w | (unsigned)(digit << 3 | 5), 0, 0, 0);
		e4(b, (uint32_t)imm);
	} else {
		x_rr(b, w | 0x81, digit, r);
		e4(b, (uint32_t)imm);
	}
}

/* the same with a fixed 4-byte immediate, so the size never depends on the value */
static inline void x_alu_ri32(struct xb *b, unsigned w, int digit, int r, int32_t imm)
{
	x_rr(b, w | 0x81, digit, r);
	e4(b, (uint32_t)imm);
}

/* mov r32, imm32 (zero-extends) */
static inline void x_mov_ri32(struct xb *b, int r, uint32_t imm)
{
	x_op(b, 0xb8 + (r & 7), 0, 0, r);
	e4(b, imm);
}

/* mov r64, simm32 (sign-extends) */
static inline void x_mov_ri64s(struct xb *b, int r, int32_t imm)
{
	x_rr(b, W | 0xc7, 0, r);
	e4(b, (uint32_t)imm);
}

static inline void x_movabs(struct xb *b, int r, uint64_t imm)
{
	x_op(b, W | (0xb8 + (r & 7)), 0, 0, r);
	e8(b, imm);
}

/* r = v with the shortest form */
static inline void x_mov_imm(struct xb *b, int r, uint64_t v)
{
	if (v == 0)
		x_rr(b, 0x31, r, r);
	else if (v <= UINT32_MAX)
		x_mov_ri32(b, r, (uint32_t)v);
	else if ((int64_t)v >= INT32_MIN && (int64_t)v < 0)
		x_mov_ri64s(b, r, (int32_t)v);
	else
		x_movabs(b, r, v);
}

static inline void x_push(struct xb *b, int r)
{
	if (r & 8)
		e1(b, 0x41);
	e1(b, 0x50 + (r & 7));
}

static inline void x_pop(struct xb *b, int r)
{
	if (r & 8)
		e1(b, 0x41);
	e1(b, 0x58 + (r & 7));
}

/* BMI2 shlx/shrx/sarx dst = src shifted by cnt (pp: 1 shlx, 2 sarx, 3 shrx) */
static inline void x_shiftx(struct xb *b, unsigned w, int pp, int dst, int src, int cnt)
{
	e1(b, 0xc4);
	e1(b, (dst & 8 ? 0 : 0x80) | 0x40 | (src & 8 ? 0 : 0x20) | 0x02);
	e1(b, (w ? 0x80 : 0) | (unsigned)(~cnt & 15) << 3 | (unsigned)pp);
	e1(b, 0xf7);
	e1(b, 0xc0 | (dst & 7) << 3 | (src & 7));
}

#endif
