/* Shared by the subcommands: reading files and programs. */
#ifndef SKEP_TOOL_UTIL_H
#define SKEP_TOOL_UTIL_H

#include <stddef.h>

#include "skep/insn.h"

/* The whole of a file ("-": stdin), NUL-terminated. NULL with errno on failure. */
char *read_file(const char *path, size_t *len);

int ends_with(const char *s, const char *suffix);

/* A program from a file: assembly text (a .s/.S/.asm name, or with sniff_text also
 * plain text without NUL or control bytes) is assembled; anything else is raw
 * bytecode, 8 bytes an instruction, little-endian. 0 with a malloc'ed *insns, or -1
 * with err saying why. */
int read_program(const char *path, int sniff_text, struct skep_insn **insns, size_t *n, char *err,
		 size_t errlen);

#endif
