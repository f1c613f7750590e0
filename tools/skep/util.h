/* Shared by the subcommands: reading files and programs. */
#ifndef SKEP_TOOL_UTIL_H
#define SKEP_TOOL_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "skep/insn.h"
#include "skep/object.h"

/* The whole of a file ("-": stdin), NUL-terminated. NULL with errno on failure. */
char *read_file(const char *path, size_t *len);

int ends_with(const char *s, const char *suffix);

/* A program from a file: assembly text (a .s/.S/.asm name, or with sniff_text also
 * plain text without NUL or control bytes) is assembled; anything else is raw
 * bytecode, 8 bytes an instruction, little-endian. 0 with a malloc'ed *insns, or -1
 * with err saying why. */
int read_program(const char *path, int sniff_text, struct skep_insn **insns, size_t *n, char *err,
		 size_t errlen);
/* The same, where an ELF object's program is the one named prog (NULL: its only one),
 * linked and relocated (map references hold the map's index in the object). */
int read_program_from(const char *path, int sniff_text, const char *prog, struct skep_insn **insns,
		      size_t *n, char *err, size_t errlen);

/* Whether the file starts with the ELF magic. */
int is_elf_file(const char *path);
/* Open an ELF object; NULL with err saying why. */
skep_object *open_object(const char *path, char *err, size_t errlen);
/* The program named name, or with NULL the only one; NULL with err listing the choices. */
skep_program *object_program(skep_object *obj, const char *path, const char *name, char *err, size_t errlen);
/* bpftool's name of a program or map type ("xdp", "hash", ...). */
const char *prog_type_str(uint32_t type);
const char *map_type_str(uint32_t type);

#endif
