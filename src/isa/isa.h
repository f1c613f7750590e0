/* The eBPF instruction set as data (RFC 9669 plus the kernel's pseudo sources).
 * Every layer above (validator, assembler, disassembler, interpreter, JIT, verifier)
 * reads the one table in optable.c: an instruction decodes to an op, and the op's
 * entry says its operands, width, cpu version and text form. */
#ifndef SKEP_ISA_H
#define SKEP_ISA_H

#include <stdint.h>

#include "skep/insn.h"

/* Classes */
#define BPF_LD    0x00
#define BPF_LDX   0x01
#define BPF_ST    0x02
#define BPF_STX   0x03
#define BPF_ALU   0x04
#define BPF_JMP   0x05
#define BPF_JMP32 0x06
#define BPF_ALU64 0x07
#define BPF_CLASS(c) ((c) & 0x07)

/* Sizes and modes (load/store classes) */
#define BPF_W   0x00
#define BPF_H   0x08
#define BPF_B   0x10
#define BPF_DW  0x18
#define BPF_SIZE(c) ((c) & 0x18)
#define BPF_IMM    0x00
#define BPF_ABS    0x20
#define BPF_IND    0x40
#define BPF_MEM    0x60
#define BPF_MEMSX  0x80
#define BPF_ATOMIC 0xc0
#define BPF_MODE(c) ((c) & 0xe0)

/* ALU and JMP operations */
#define BPF_K 0x00
#define BPF_X 0x08
#define BPF_SRC(c) ((c) & 0x08)
#define BPF_OP(c) ((c) & 0xf0)
#define BPF_ADD  0x00
#define BPF_SUB  0x10
#define BPF_MUL  0x20
#define BPF_DIV  0x30
#define BPF_OR   0x40
#define BPF_AND  0x50
#define BPF_LSH  0x60
#define BPF_RSH  0x70
#define BPF_NEG  0x80
#define BPF_MOD  0x90
#define BPF_XOR  0xa0
#define BPF_MOV  0xb0
#define BPF_ARSH 0xc0
#define BPF_END  0xd0
#define BPF_TO_LE 0x00
#define BPF_TO_BE 0x08
#define BPF_JA   0x00
#define BPF_JEQ  0x10
#define BPF_JGT  0x20
#define BPF_JGE  0x30
#define BPF_JSET 0x40
#define BPF_JNE  0x50
#define BPF_JSGT 0x60
#define BPF_JSGE 0x70
#define BPF_CALL 0x80
#define BPF_EXIT 0x90
#define BPF_JLT  0xa0
#define BPF_JLE  0xb0
#define BPF_JSLT 0xc0
#define BPF_JSLE 0xd0

/* Atomic operations (imm of BPF_STX|BPF_ATOMIC) */
#define BPF_FETCH   0x01
#define BPF_XCHG    (0xe0 | BPF_FETCH)
#define BPF_CMPXCHG (0xf0 | BPF_FETCH)

/* Pseudo sources of lddw (src field) and call (src field) */
#define BPF_PSEUDO_MAP_FD        1
#define BPF_PSEUDO_MAP_VALUE     2
#define BPF_PSEUDO_BTF_ID        3
#define BPF_PSEUDO_FUNC          4
#define BPF_PSEUDO_MAP_IDX       5
#define BPF_PSEUDO_MAP_IDX_VALUE 6
#define BPF_PSEUDO_CALL          1
#define BPF_PSEUDO_KFUNC_CALL    2

/* Operand fields an op uses; any field neither used nor selecting the op must be 0. */
enum {
	F_DST = 1 << 0,
	F_SRC = 1 << 1,
	F_OFF = 1 << 2,
	F_IMM = 1 << 3,
};

/* Which field (beyond the opcode byte) selects among ops sharing an opcode. */
enum isa_sel { SEL_NONE, SEL_OFF, SEL_IMM, SEL_SRC };

/* What an op is, for the layers that group ops (verifier, JIT). */
enum isa_kind {
	K_ALU,      /* dst = dst op src/imm */
	K_NEG,
	K_MOV,
	K_MOVSX,
	K_END,      /* le/be/bswap */
	K_JA,
	K_JCOND,
	K_CALL,
	K_EXIT,
	K_LDDW,
	K_LDX,
	K_ST,
	K_STX,
	K_ATOMIC,
	K_LDPKT,    /* legacy ld_abs / ld_ind */
};

/* Every op, in table order: X(name, ...) is expanded by optable.c. */
enum isa_op {
#define X(name, code, sel, selval, fields, kind, cpu, text) OP_##name,
#include "optable.def"
#undef X
	OP__COUNT,
	OP_INVALID = OP__COUNT,
};

struct isa_opinfo {
	const char *name;     /* e.g. "ADD64_IMM" */
	uint8_t code;         /* opcode byte */
	uint8_t sel;          /* enum isa_sel */
	int32_t selval;       /* value of the selecting field */
	uint8_t fields;       /* F_* operands used */
	uint8_t kind;         /* enum isa_kind */
	uint8_t cpu;          /* first cpu version with it (1..4) */
	const char *text;     /* syntax template, see optable.def */
};

extern const struct isa_opinfo isa_ops[OP__COUNT];

/* The op of an instruction, or OP_INVALID. */
enum isa_op isa_decode(const struct skep_insn *insn);

/* Handy properties derived from the opcode byte. */
static inline int isa_is_lddw(uint8_t code) { return code == (BPF_LD | BPF_IMM | BPF_DW); }
static inline int isa_is_jmp_class(uint8_t code)
{
	return BPF_CLASS(code) == BPF_JMP || BPF_CLASS(code) == BPF_JMP32;
}
/* Access width in bytes of a load/store/atomic op from its size bits. */
static inline int isa_size_bytes(uint8_t code)
{
	static const uint8_t sz[4] = {4, 2, 1, 8};
	return sz[BPF_SIZE(code) >> 3];
}

#endif
