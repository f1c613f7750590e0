/* The ELF object loader's insides: the ELF64 reader, BTF, the section table, the
 * object with its programs and maps. */
#ifndef SKEP_LOADER_H
#define SKEP_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "skep/object.h"
#include "skep/btf.h"

/* ---- ELF64 (elf.c): every offset, size and index checked against the buffer. */

#define SHT_PROGBITS 1
#define SHT_SYMTAB   2
#define SHT_STRTAB   3
#define SHT_RELA     4
#define SHT_NOBITS   8
#define SHT_REL      9
#define SHF_WRITE     0x1
#define SHF_ALLOC     0x2
#define SHF_EXECINSTR 0x4
#define SHN_UNDEF  0
#define SHN_ABS    0xfff1
#define SHN_COMMON 0xfff2
#define STT_NOTYPE  0
#define STT_OBJECT  1
#define STT_FUNC    2
#define STT_SECTION 3
#define STB_LOCAL  0
#define STB_GLOBAL 1
#define STB_WEAK   2

struct elf_sec {
	const char *name;
	uint32_t type, link, info;
	uint64_t flags, off, size, entsize;
	const uint8_t *data;   /* NULL for SHT_NOBITS */
};

struct elf_sym {
	const char *name;     /* "" if none */
	uint64_t value, size;
	uint16_t shndx;
	uint8_t type, bind;
};

struct elf_rel {
	uint64_t off;
	uint32_t sym, type;
};

struct elf_file {
	const uint8_t *buf;
	size_t len;
	struct elf_sec *secs;
	size_t nsecs;
	struct elf_sym *syms;
	size_t nsyms;
	size_t symtab;        /* section index of .symtab (0: none) */
};

/* Parse buf (kept, not copied).  0 or -EINVAL with err set. */
int elf_parse(struct elf_file *ef, const void *buf, size_t len, char *err, size_t errlen);
void elf_free(struct elf_file *ef);
/* Relocation i of SHT_REL section rs (i < size / 16, checked by the caller). */
void elf_rel(const struct elf_file *ef, size_t rs, size_t i, struct elf_rel *out);
uint32_t elf_u32(const uint8_t *p);
uint64_t elf_u64(const uint8_t *p);

/* ---- Section names to program types (sections.c), libbpf's table. */
struct sec_def {
	const char *prefix;   /* "uprobe+": the name or name/target; else the exact name */
	uint32_t prog_type, attach_type;
	unsigned flags;
};
enum { SEC_RUNS = 1 << 0, SEC_PLUS = 1 << 1 };
/* The definition for a section name, or NULL; *target gets what follows the prefix. */
const struct sec_def *sec_def_find(const char *name, const char **target);
const char *prog_type_name(uint32_t type);
int prog_type_runs(uint32_t type);

/* ---- BTF (btf.c) */
struct skep_btf {
	uint8_t *raw;            /* a copy of .BTF */
	size_t size;
	const uint8_t *types, *strs;
	uint32_t types_len, strs_len;
	const uint8_t **type;    /* type[id] -> its btf_type record; type[0] unused */
	uint32_t ntypes;         /* ids 1..ntypes-1 */
};
int btf_parse(struct skep_btf *btf, const uint8_t *data, size_t size, char *err, size_t errlen);
void btf_free(struct skep_btf *btf);
/* The string at off, or NULL if past the string section or unterminated. */
const char *btf_str(const struct skep_btf *btf, uint32_t off);
/* Skip typedefs and modifiers (const, volatile, restrict, type tags); 0 on a loop. */
uint32_t btf_skip_mods(const struct skep_btf *btf, uint32_t id);
/* Full size in bytes of a type, or -1 for one without a size. */
int64_t btf_type_size(const struct skep_btf *btf, uint32_t id);
/* "struct foo", "int", "u32 *" into buf (best effort). */
const char *btf_type_str(const struct skep_btf *btf, uint32_t id, char *buf, size_t len);
/* DATASEC sizes and variable offsets from the ELF section and symbols, as libbpf (btf_file.c). */
void btf_fixup_datasec(struct skep_btf *btf, const struct elf_file *ef);

/* ---- The object */
struct prog_relo {
	uint32_t insn;       /* index of the lddw in the linked program */
	uint32_t map;        /* index into obj->maps */
	uint32_t off;        /* map value offset (BPF_PSEUDO_MAP_VALUE) */
	uint8_t src;         /* BPF_PSEUDO_MAP_FD or BPF_PSEUDO_MAP_VALUE */
};

struct skep_program {
	skep_object *obj;
	char *name;
	size_t sec;                 /* ELF section index */
	uint32_t sec_insn, ninsn;   /* the function inside its section, in instructions */
	const struct sec_def *def;
	const char *target;
	uint32_t type, attach_type;
	int autoload;
	struct skep_insn *insns;    /* linked and relocated */
	size_t n;
	struct prog_relo *relos;
	size_t nrelos;
	struct skep_line_info *lines;
	size_t nlines;
	struct skep_func_info *funcs;
	size_t nfuncs;
	char *core_err;             /* a CO-RE relocation refused at load, if any */
	skep_prog *prog;
};

enum obj_map_kind { MAP_BTF, MAP_LEGACY, MAP_DATA };

struct map_init {               /* an initial slot of a prog array or map-in-map */
	uint32_t slot;
	int32_t prog, map;          /* index of the program or map (-1 none) */
};

struct skep_object_map {
	skep_object *obj;
	char *name;
	enum obj_map_kind kind;
	size_t sec;
	uint64_t sec_off;           /* where its definition (or data) starts in the section */
	uint32_t type, key_size, value_size, max_entries, map_flags, numa_node, pinning;
	char *pin_name;             /* skep_object_map_set_pin_name: pin (or reuse) under it */
	int reused;                 /* load found it pinned: its contents are not reset */
	uint64_t map_extra;
	uint32_t btf_key, btf_value;
	struct skep_object_map *inner;   /* template of a map-in-map (owned) */
	struct map_init *init;
	size_t ninit;
	uint8_t *data;              /* global data: the initial image */
	size_t data_size;
	int rodata;
	skep_map *handle;
	void *mem;                  /* global data after load: the map's memory */
	size_t mem_size;
};

struct skep_object {
	char *name, *license;
	uint32_t kversion;
	uint8_t *buf;               /* a copy of the file */
	size_t len;
	struct elf_file ef;
	struct skep_btf *btf;
	const uint8_t *btf_ext;
	size_t btf_ext_len;
	size_t text_sec;            /* 0: none */
	size_t maps_sec, legacy_maps_sec;
	struct skep_program *progs;
	size_t nprogs;
	struct skep_object_map *maps;
	size_t nmaps;
	int loaded;
	char err[512];
};

int obj_fail(skep_object *obj, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* maps_from_obj.c: find the maps (open) and create them (load). */
int maps_collect(skep_object *obj);
int maps_create(skep_object *obj);
void map_free(struct skep_object_map *m);
/* The map a symbol of a map or data section refers to: index, or -1. */
int map_by_sym(const skep_object *obj, const struct elf_sym *sym, uint64_t *value_off);
/* A .kconfig extern: the index of the object's .kconfig map with *off set, or -1. */
int kconfig_ref(skep_object *obj, const char *name, uint32_t *off);

/* relo.c: programs, linking and relocations (open). */
int progs_collect(skep_object *obj);
int prog_link(skep_object *obj, struct skep_program *p);

/* btf_ext.c: func_info, line_info, CO-RE relocations of a linked program. */
struct link_piece { size_t sec; uint32_t src, n, dst; };  /* section insns [src, src+n) at dst */
int btf_ext_apply(skep_object *obj, struct skep_program *p, const struct link_piece *pieces,
		  size_t npieces);

#endif
