/* Skep: ELF objects as clang builds them for the kernel (clang -O2 -g -target bpf),
 * opened, loaded and run with names a libbpf user recognises:
 *
 *   skep_object *obj;
 *   if (skep_object_open_file("prog.bpf.o", NULL, &obj))
 *           fail(skep_object_error(NULL));
 *   ((struct rodata *)skep_object_rodata(obj, NULL))->limit = 10;   // before load
 *   if (skep_object_load(obj))
 *           fail(skep_object_error(obj));
 *   skep_program *p = skep_object_find_program_by_name(obj, "xdp_main");
 *   skep_prog_run_mem(skep_program_prog(p), ...);
 *   skep_object_close(obj);
 *
 * Open parses the ELF file (sections, symbols, relocations, BTF, .BTF.ext), finds every
 * program (one per function symbol of each executable section), links the .text
 * subprograms each one calls and records its map references; load creates the maps
 * (BTF-defined, legacy "maps" section, global data), puts their ids into the
 * instructions (lddw src=BPF_PSEUDO_MAP_FD / BPF_PSEUDO_MAP_VALUE, imm = skep_map_id)
 * and loads each program.  Errors are a negative errno; skep_object_error() names the
 * section, symbol or relocation and says why. */
#ifndef SKEP_OBJECT_H
#define SKEP_OBJECT_H

#include <stddef.h>
#include <stdint.h>

#include "insn.h"
#include "map.h"
#include "prog.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct skep_object skep_object;
typedef struct skep_program skep_program;         /* a program of an object (bpf_program) */
typedef struct skep_object_map skep_object_map;   /* a map of an object (bpf_map) */

struct skep_object_open_opts {
	size_t sz;                 /* sizeof(struct skep_object_open_opts) */
	const char *object_name;   /* the name global data maps are named after; default:
				    * the file's base name up to its first '.' (as libbpf) */
};

/* Open an object from a file or from memory (the buffer is copied).  0 with *obj set,
 * or a negative errno with *obj NULL and skep_object_error(NULL) saying why. */
int skep_object_open_file(const char *path, const struct skep_object_open_opts *opts,
			  skep_object **obj);
int skep_object_open_mem(const void *buf, size_t len, const struct skep_object_open_opts *opts,
			 skep_object **obj);

/* Create the maps, verify and load every program whose autoload is on.  0 or a
 * negative errno.  A program of a type Skep cannot run (a kprobe, a cgroup program, ...)
 * fails the load unless its autoload was turned off.
 *
 * Every program is verified (skep/verifier.h) before it loads, as the kernel does: its
 * type from the section name, its maps from the object.  A refusal fails the load with
 * the verifier's errno (-EACCES, ...) and skep_object_error() naming the program, the
 * instruction, the reason and the source line when the object has BTF line info:
 *   "program 'xdp_main': insn 12: R1 invalid mem access 'scalar' (prog.bpf.c:34: *p = 1;)"
 * Turning verification off is explicit (skep_object_load_with, no_verify); the programs
 * are then SKEP_PROG_UNVERIFIED (skep/prog.h): only the checked engine runs them. */
int skep_object_load(skep_object *obj);

struct skep_object_load_opts {
	size_t sz;          /* sizeof(struct skep_object_load_opts) */
	int no_verify;      /* load without verifying: checked engine only */
	int log_level;      /* the verifier's log of each program (0 none, 1, 2) ... */
	char *log_buf;      /* ... into this buffer (the last program verified; on a
			     * refusal, the refused one) */
	size_t log_size;
};
int skep_object_load_with(skep_object *obj, const struct skep_object_load_opts *opts);

/* Verify one program of an opened object (loaded or not) without loading it: its type
 * (the section's, or skep_program_set_type's), its maps from the object's definitions
 * (opts->map_info and prog_type are filled in; opts may be NULL).  Returns what
 * skep_verify returns; a refusal's result->msg gets " (file:line: source text)" from
 * the BTF line info of the refused instruction when the object has it. */
struct skep_verify_opts;
struct skep_verify_result;
int skep_program_verify(const skep_program *p, const struct skep_verify_opts *opts,
			struct skep_verify_result *result);
/* The source line of instruction insn ("file.bpf.c:34: *p = 1;") into buf, from the
 * nearest line info at or before insn; "" (returns 0) when there is none. */
int skep_program_source_line(const skep_program *p, size_t insn, char *buf, size_t len);

/* Maps, programs and memory go; pinned maps stay pinned. NULL is ignored. */
void skep_object_close(skep_object *obj);

/* The last error of obj, or with NULL the last failed open of this thread ("" if none). */
const char *skep_object_error(const skep_object *obj);

const char *skep_object_name(const skep_object *obj);
const char *skep_object_license(const skep_object *obj);  /* "license" section, or "" */
uint32_t skep_object_kversion(const skep_object *obj);    /* "version" section, or 0 */
int skep_object_loaded(const skep_object *obj);

/* Programs, in section order then by offset (as libbpf iterates them). */
skep_program *skep_object_next_program(const skep_object *obj, const skep_program *prev);
skep_program *skep_object_find_program_by_name(const skep_object *obj, const char *name);

const char *skep_program_name(const skep_program *p);
const char *skep_program_section_name(const skep_program *p);
/* The kernel's BPF_PROG_TYPE_* and BPF_* attach type for the section name, as libbpf
 * maps them (0/0 for a section libbpf does not know: set a type before load). */
uint32_t skep_program_type(const skep_program *p);
uint32_t skep_program_expected_attach_type(const skep_program *p);
int skep_program_set_type(skep_program *p, uint32_t type);
/* What follows the section prefix ("libc.so.6:malloc" for "uprobe/libc.so.6:malloc",
 * "syscalls/sys_enter_read" for "tracepoint/syscalls/sys_enter_read"), or "". */
const char *skep_program_attach_target(const skep_program *p);
/* Why Skep cannot run this program's type, or NULL if it can. */
const char *skep_program_unsupported(const skep_program *p);
int skep_program_set_autoload(skep_program *p, int autoload);  /* before load */
int skep_program_autoload(const skep_program *p);
/* The instructions after linking and relocation.  Before load an lddw of a map has
 * imm = the map's index in the object (skep_object_next_map order); after load, its
 * skep_map_id. */
const struct skep_insn *skep_program_insns(const skep_program *p, size_t *n);
/* The loaded program (NULL before load or when not autoloaded): run it with skep_prog_*. */
skep_prog *skep_program_prog(const skep_program *p);

/* Source lines and functions from .BTF.ext, with instruction indexes in the linked
 * program (subprograms included). */
struct skep_line_info {
	uint32_t insn;
	uint32_t line, col;
	const char *file;   /* as the compiler saw it */
	const char *text;   /* the source line */
};
struct skep_func_info {
	uint32_t insn;
	uint32_t type_id;   /* a BTF FUNC */
	const char *name;
};
const struct skep_line_info *skep_program_line_info(const skep_program *p, size_t *n);
const struct skep_func_info *skep_program_func_info(const skep_program *p, size_t *n);

/* Maps, in the order libbpf lists them: the legacy "maps" section's, the ".maps"
 * section's (in BTF order), then global data (.data, .rodata, .bss, ... in section
 * order). */
skep_object_map *skep_object_next_map(const skep_object *obj, const skep_object_map *prev);
skep_object_map *skep_object_find_map_by_name(const skep_object *obj, const char *name);

const char *skep_object_map_name(const skep_object_map *m);
uint32_t skep_object_map_type(const skep_object_map *m);
uint32_t skep_object_map_key_size(const skep_object_map *m);
uint32_t skep_object_map_value_size(const skep_object_map *m);
uint32_t skep_object_map_max_entries(const skep_object_map *m);
uint32_t skep_object_map_flags(const skep_object_map *m);
uint64_t skep_object_map_extra(const skep_object_map *m);
uint32_t skep_object_map_pinning(const skep_object_map *m);   /* 0 none, 1 LIBBPF_PIN_BY_NAME */
/* Before load: pin the map under name (in skep_map_pin_dir()), as libbpf's
 * bpf_map__set_pin_path: if a compatible map is pinned there, load reuses it (global
 * data keeps its contents), else creates and pins it. NULL: back to the default. */
int skep_object_map_set_pin_name(skep_object_map *m, const char *name);
/* BTF type ids of key and value (0 if none): see skep/btf.h. */
uint32_t skep_object_map_btf_key_type_id(const skep_object_map *m);
uint32_t skep_object_map_btf_value_type_id(const skep_object_map *m);
/* The inner map template of a map-in-map, or NULL. */
const skep_object_map *skep_object_map_inner(const skep_object_map *m);
/* The section the map comes from (".maps", "maps", ".data", ...). */
const char *skep_object_map_section(const skep_object_map *m);
int skep_object_map_set_max_entries(skep_object_map *m, uint32_t max_entries);  /* before load */
/* The map after load (NULL before). */
skep_map *skep_object_map_handle(const skep_object_map *m);
/* Global data: before load, the initial image to change (NULL for other maps); after
 * load, the map's memory itself (shared, writable for .data/.bss), as libbpf's
 * bpf_map__initial_value. */
void *skep_object_map_initial_value(skep_object_map *m, size_t *size);
int skep_object_map_set_initial_value(skep_object_map *m, const void *data, size_t size);

/* Shortcuts for the ".rodata", ".data" and ".bss" maps (NULL if the object has none). */
void *skep_object_rodata(skep_object *obj, size_t *size);
void *skep_object_data(skep_object *obj, size_t *size);
void *skep_object_bss(skep_object *obj, size_t *size);

/* The object's BTF (NULL if it has no .BTF section): see skep/btf.h. */
struct skep_btf;
const struct skep_btf *skep_object_btf(const skep_object *obj);

/* A program type's name as bpftool prints it ("xdp", "sched_cls", ...; libbpf's
 * libbpf_bpf_prog_type_str), "unknown" past the kernel's table. */
const char *skep_prog_type_str(uint32_t type);

#ifdef __cplusplus
}
#endif
#endif
