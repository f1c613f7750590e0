/* The x86-64 JIT's internals: the compiled image and the per-run block, shared by
 * the compiler (jit_x86_64.c) and the executable memory / run side (jit_mem.c). */
#ifndef SKEP_JIT_H
#define SKEP_JIT_H

#include <stddef.h>
#include <stdint.h>

#include "exec.h"

/* Per-run state the native code reaches through r12 (only programs with tail calls,
 * ld_abs/ld_ind or calls nested beyond a static bound use it): jit_run builds it on the
 * C stack; the fast entry of such a program builds an empty one on its own stack.
 * Offsets are baked into the code. */
struct jit_block {
	uint64_t tail_cnt;     /* +0: tail calls taken so far in this run */
	const uint8_t *pkt;    /* +8: packet for ld_abs/ld_ind */
	uint64_t pkt_len;      /* +16: 0 when there is no packet */
	uint64_t depth;        /* +24: bpf-to-bpf frames above main (runtime-checked programs) */
	uint64_t unwind_rsp;   /* +32: where a failing run unwinds to; 0 until the guard sets it */
	int64_t fault_insn;    /* +40: -1, or the call that would have gone too deep */
};

/* Native entry: r1..r5 in rdi, rsi, rdx, rcx, r8 (SysV order), the block in r9. */
typedef uint64_t (*jit_entry_fn)(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
				 uint64_t r5, struct jit_block *blk);

struct jit_image {
	jit_entry_fn entry;            /* +0: tail calls load it from here (first field) */
	skep_prog_fn fast;             /* no block argument: what skep_prog_func returns */
	uint8_t *code;                 /* mapped read+exec, never writable at the same time */
	size_t size, map_size;
	uint32_t entry_off;            /* where entry is in code */
	size_t n;                      /* instructions */
	uint32_t *insn_off;            /* n + 1: code offset of each instruction, [n] = size */
	size_t nfuncs;
	struct skep_jited_func *funcs; /* prologue/body/epilogue offsets per function */
	int harden;
	int block;                     /* entry takes a block (tail calls, ld_abs, runtime depth) */
};

/* Switches that turn single code-generation techniques off, for tests (both paths of
 * each) and for measuring what each technique is worth. 0 in normal use. */
enum {
	JIT_OFF_BMI2 = 1 << 0,      /* shifts by register through cl instead of shlx/shrx/sarx */
	JIT_OFF_SHORT_JMP = 1 << 1, /* every jump rel32 */
	JIT_OFF_SAVE_USED = 1 << 2, /* prologues save rbx, r13-r15 whether used or not */
	JIT_OFF_LAZY_FRAME = 1 << 3,/* every function gets the 512-byte frame */
	JIT_OFF_FUSION = 1 << 4,    /* a nop between compare and branch (no macro-fusion) */
	JIT_OFF_IMM = 1 << 5,       /* ALU and compare immediates through a register */
	JIT_OFF_SHORT_IMM = 1 << 6, /* constants always with movabs */
	JIT_OFF_DIV_K = 1 << 7,     /* division by a constant as by a register (checks, no shifts) */
	JIT_OFF_ALIGN = 1 << 8,     /* loop heads not aligned */
	JIT_OFF_LEA = 1 << 9,       /* "r = s; r += t" not fused into a lea */
	JIT_OFF_JINV = 1 << 10,     /* "if c goto +1; goto L" not turned into "if !c goto L" */
	JIT_OFF_ADDR = 1 << 11,     /* "r = s; r += t; *(r + off)" not fused into [s + t + off] */
	JIT_OFF_CMP8 = 1 << 12,     /* "r &= 0xff; if r < k" not a byte compare */
	JIT_OFF_ZEXT = 1 << 13,     /* "w = w" after a 32-bit op on w still a mov */
	JIT_OFF_INLINE = 1 << 14,   /* array map lookups call the helper instead of inline code */
};
extern unsigned jit_off;

/* Executable memory (jit_mem.c): map size bytes read+write near hint, then seal. */
void *jit_mem_map(size_t size, const void *hint, size_t *mapped);
int jit_mem_seal(void *mem, size_t mapped);
void jit_mem_unmap(void *mem, size_t mapped);

#endif
