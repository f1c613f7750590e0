/* skep disasm --jited (jited.c): print a program's x86-64 code under each eBPF
 * instruction. Compiles the program if needed; 0 or a negative errno
 * (skep_prog_error says why). */
#ifndef SKEP_TOOL_JITED_H
#define SKEP_TOOL_JITED_H

#include <stdint.h>
#include <stdio.h>

#include "skep/prog.h"

int jited_disasm_print(FILE *out, skep_prog *p);

/* The same walk, to callbacks (skep prog dump jited adds source lines and JSON): part()
 * opens each piece of the code, x86() gives each native instruction in it. */
enum jited_part {
	JITED_ENTRY,      /* skep_prog_func's entry block */
	JITED_GUARD,      /* the run guard */
	JITED_FUNC,       /* a function starts: insn is its first instruction, text "main"/"function" */
	JITED_PROLOGUE,
	JITED_INSN,       /* eBPF instruction insn, text its disassembly */
	JITED_EPILOGUE,
};
struct jited_sink {
	void *ctx;
	void (*part)(void *ctx, enum jited_part part, uint32_t insn, const char *text);
	/* text NULL: undecodable byte; target: where a call leaving the code goes, or NULL */
	void (*x86)(void *ctx, uint32_t off, const uint8_t *bytes, unsigned len, const char *text,
		    const void *target);
};
int jited_disasm_walk(skep_prog *p, const struct jited_sink *sink);
/* One native instruction as jited_disasm_print prints it. */
void jited_print_x86(FILE *out, uint32_t off, const uint8_t *bytes, unsigned len, const char *text,
		     const void *target);

#endif
