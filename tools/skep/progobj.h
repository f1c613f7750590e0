/* skep prog show / prog dump: an ELF object loaded for inspection (cmd_prog_show.c). */
#ifndef SKEP_TOOL_PROGOBJ_H
#define SKEP_TOOL_PROGOBJ_H

#include <stddef.h>
#include <stdint.h>

#include "skep/object.h"
#include "skep/verifier.h"

/* Open path and load it: with prog, only that program; else every program Skep can run
 * and the verifier accepts (the others stay unloaded: skep_program_prog() is NULL).
 * *only gets the program named prog (NULL without); when the verifier refuses it, it is
 * loaded without verification, to inspect it (only the checked engine would run it).
 * refused says what was refused ("" if nothing). NULL with err saying why (a file that
 * cannot be read or is not an ELF object included). */
skep_object *progobj_load(const char *path, const char *prog, skep_program **only, char *refused,
			  size_t refusedlen, char *err, size_t errlen);
/* The object map whose handle has id (skep_map_id), or NULL. */
const skep_object_map *progobj_map_by_id(const skep_object *obj, uint32_t id);
/* A failed operation: "skep prog CMD: msg" on stderr and, with json, {"error": msg} on
 * stdout. Returns 1. */
int progobj_fail(const char *cmd, int json, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Bad usage: the message with a hint on stderr, {"error": msg} with json. Returns 2. */
int progobj_usage(const char *cmd, int json, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
