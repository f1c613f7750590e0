/* Skep: eBPF instructions, their validation, assembly and disassembly. */
#ifndef SKEP_INSN_H
#define SKEP_INSN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One 8-byte eBPF instruction, laid out exactly as the kernel's struct bpf_insn. */
struct skep_insn {
	uint8_t code;     /* opcode */
	uint8_t dst : 4;  /* destination register */
	uint8_t src : 4;  /* source register */
	int16_t off;      /* signed offset */
	int32_t imm;      /* signed immediate */
};

#define SKEP_MAX_INSNS      1000000u /* the kernel's BPF_COMPLEXITY_LIMIT_INSNS */
#define SKEP_STACK_SIZE     512      /* bytes per frame */
#define SKEP_MAX_CALL_DEPTH 8        /* frames, as the kernel's MAX_CALL_FRAMES */

/* Where a problem was found and why; filled by validate/assemble/load calls. */
struct skep_diag {
	long where;       /* instruction index (or source line for the assembler), -1 if none */
	char msg[256];    /* human message, including the location */
};

/* Check the instruction stream's structure: known opcodes, reserved fields zero,
 * registers in range, complete lddw pairs, jump and call targets inside the program
 * and not into the second half of a lddw. max_cpu limits the ISA version (1..4, 0 = any).
 * Returns 0 or -EINVAL with diag filled. */
int skep_insns_validate(const struct skep_insn *insns, size_t n, int max_cpu,
			struct skep_diag *diag);

/* Lowest cpu version (1..4) that has this instruction, 0 if unknown. */
int skep_insn_cpu_version(const struct skep_insn *insn);

/* The instruction set as data, for tools (skep feature probe): op i of the opcode
 * table (0 <= i < count), with its name ("ADD64_IMM"), opcode byte, first cpu version,
 * llvm-objdump text template and group ("alu", "jmp", "atomic", ...). 0, or -ENOENT
 * past the end. */
struct skep_isa_op {
	const char *name, *text, *group;
	uint8_t code;
	int cpu;
};
int skep_isa_op(size_t i, struct skep_isa_op *out);

/* Disassemble one instruction (two for lddw) into buf in llvm-objdump syntax.
 * n is the number of instructions available from insn (to see a lddw's second half).
 * Returns the number of instructions consumed (1 or 2), or -EINVAL for an invalid one
 * (buf then holds a description). */
int skep_insn_disasm(const struct skep_insn *insn, size_t n, char *buf, size_t size);

/* Disassembly options for skep_prog_disasm_text. */
enum {
	SKEP_DISASM_LABELS  = 1 << 0,  /* print jump targets as labels */
	SKEP_DISASM_INDEX   = 1 << 1,  /* prefix each line with its instruction index */
	SKEP_DISASM_OPCODES = 1 << 2,  /* show raw bytes */
};

/* Disassemble a whole program into a malloc'ed text (caller frees). NULL on OOM. */
char *skep_disasm_text(const struct skep_insn *insns, size_t n, unsigned flags);

/* Assemble text (one instruction or label per line, '#', ';' and "//" start comments) into a
 * malloc'ed instruction array. Returns 0 with out and n_out set, or -EINVAL/-ENOMEM
 * with diag naming the line and the reason. */
int skep_assemble(const char *text, struct skep_insn **out, size_t *n_out,
		  struct skep_diag *diag);

#ifdef __cplusplus
}
#endif
#endif
