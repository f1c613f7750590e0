/* skep disasm --jited (jited.c): print a program's x86-64 code under each eBPF
 * instruction. Compiles the program if needed; 0 or a negative errno
 * (skep_prog_error says why). */
#ifndef SKEP_TOOL_JITED_H
#define SKEP_TOOL_JITED_H

#include <stdio.h>

#include "skep/prog.h"

int jited_disasm_print(FILE *out, skep_prog *p);

#endif
