/* Skep: reading the BTF of an object (types of map keys and values, functions).
 * Kinds and layouts are the kernel's (include/uapi/linux/btf.h). */
#ifndef SKEP_BTF_H
#define SKEP_BTF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct skep_btf;

enum skep_btf_kind {
	SKEP_BTF_UNKN = 0, SKEP_BTF_INT = 1, SKEP_BTF_PTR = 2, SKEP_BTF_ARRAY = 3,
	SKEP_BTF_STRUCT = 4, SKEP_BTF_UNION = 5, SKEP_BTF_ENUM = 6, SKEP_BTF_FWD = 7,
	SKEP_BTF_TYPEDEF = 8, SKEP_BTF_VOLATILE = 9, SKEP_BTF_CONST = 10,
	SKEP_BTF_RESTRICT = 11, SKEP_BTF_FUNC = 12, SKEP_BTF_FUNC_PROTO = 13,
	SKEP_BTF_VAR = 14, SKEP_BTF_DATASEC = 15, SKEP_BTF_FLOAT = 16,
	SKEP_BTF_DECL_TAG = 17, SKEP_BTF_TYPE_TAG = 18, SKEP_BTF_ENUM64 = 19,
};

/* One type, decoded. */
struct skep_btf_type {
	uint32_t kind;       /* enum skep_btf_kind */
	const char *name;    /* "" if anonymous */
	uint32_t vlen;       /* members, enumerators, parameters, variables */
	uint32_t size;       /* INT, STRUCT, UNION, ENUM, ENUM64, FLOAT, DATASEC */
	uint32_t type;       /* PTR, TYPEDEF, modifiers, FUNC, FUNC_PROTO (return), VAR */
	int kflag;
	/* INT */
	uint32_t int_encoding, int_offset, int_bits;   /* encoding: 1 signed, 2 char, 4 bool */
	/* ARRAY */
	uint32_t elem_type, index_type, nelems;
	/* VAR: linkage (0 static, 1 global, 2 extern; a FUNC's linkage is its vlen) */
	uint32_t linkage;
	/* DECL_TAG: the member or parameter tagged, -1 for the type itself */
	int32_t component_idx;
};

/* A member (STRUCT/UNION), enumerator (ENUM/ENUM64), parameter (FUNC_PROTO) or
 * variable (DATASEC) i of a type. */
struct skep_btf_member {
	const char *name;
	uint32_t type;
	uint32_t bit_offset, bitfield_size;  /* STRUCT/UNION */
	int64_t value;                       /* ENUM/ENUM64 */
	uint32_t offset, size;               /* DATASEC variables */
};

/* Number of type ids (ids run 1 .. n-1). */
uint32_t skep_btf_type_cnt(const struct skep_btf *btf);
/* 0 or -ENOENT (id 0 is void: kind UNKN, name "void"). */
int skep_btf_type(const struct skep_btf *btf, uint32_t id, struct skep_btf_type *out);
int skep_btf_member(const struct skep_btf *btf, uint32_t id, uint32_t i, struct skep_btf_member *out);
/* Size in bytes, following typedefs and modifiers; negative errno if it has none. */
int64_t skep_btf_type_size(const struct skep_btf *btf, uint32_t id);
/* The type behind typedefs and modifiers. */
uint32_t skep_btf_resolve(const struct skep_btf *btf, uint32_t id);
/* Id of the first type of that name (and kind, 0: any), or 0. */
uint32_t skep_btf_find(const struct skep_btf *btf, const char *name, uint32_t kind);
/* The .BTF section of an ELF object in memory, parsed on its own (no loading: works for
 * objects the loader refuses), or raw BTF (as /sys/kernel/btf/vmlinux).  NULL with errno and err set (ENOENT: no .BTF). */
struct skep_btf *skep_btf_parse_elf(const void *buf, size_t len, char *err, size_t errlen);
void skep_btf_free(struct skep_btf *btf);

#ifdef __cplusplus
}
#endif
#endif
