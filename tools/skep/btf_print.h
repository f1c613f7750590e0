/* Values printed by their BTF type, as bpftool prints map entries (its btf_dumper):
 * struct members by name, arrays as lists, integers in decimal, char arrays holding a
 * string as strings, enums by name; in text as bpftool's pretty JSON, with -j as
 * compact JSON. Without a type, hex bytes. And the reverse: typed values parsed. */
#ifndef SKEP_TOOL_BTF_PRINT_H
#define SKEP_TOOL_BTF_PRINT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "json.h"
#include "skep/btf.h"

/* bpftool's pretty JSON writer (its json_writer with jsonw_pretty): 4 spaces a level,
 * objects open on the same line as their key, scalars in arrays on one line,
 *   [{
 *           "key": 0,
 *           "value": {
 *               "count": 7
 *           }
 *       }
 *   ]
 * indent: spaces added at the start of every new line. */
struct pjson {
	FILE *f;
	int depth, indent;
	char sep;
	uint64_t arrays;   /* bit d: the bracket open at depth d is an array */
};
void pjson_init(struct pjson *p, FILE *f, int indent);
void pjson_obj(struct pjson *p, const char *key);   /* NULL key: an array element */
void pjson_arr(struct pjson *p, const char *key);
void pjson_end(struct pjson *p);
void pjson_raw(struct pjson *p, const char *key, const char *text);
void pjson_u64(struct pjson *p, const char *key, uint64_t v);

/* Text, bpftool's "map dump" style (the pretty writer above), e.g.
 * {"count": 7, "name": "abc"} spread over lines; type_id 0 or btf NULL: hex bytes
 * "2a 00 00 00". indent: spaces at the start of continuation lines. */
void btf_print_value(FILE *f, const struct skep_btf *btf, uint32_t type_id, const void *data,
		     size_t size, int indent);
/* The same as a member of a pretty writer (key NULL inside arrays); without a type, a
 * string of hex bytes. */
void btf_pjson_value(struct pjson *p, const char *key, const struct skep_btf *btf,
		     uint32_t type_id, const void *data, size_t size);
/* The same as a JSON value (key NULL inside arrays); hex bytes as ["0x2a",...] without BTF. */
void btf_json_value(struct json *j, const char *key, const struct skep_btf *btf, uint32_t type_id,
		    const void *data, size_t size);
/* Parse a typed value: JSON-ish text ("42", "-1", "0x2a", "true", "RED", "{\"count\": 7}",
 * "{count: 7, at: {x: 1}}", "[1,2]", "\"abc\"") into size bytes of type_id (members not
 * given are zero), or hex bytes ("0x2a 0 0 0": each byte in C notation as bpftool's;
 * "2a 00 00 00": hex) with btf NULL or type_id 0. 0, or -1 with err saying which member
 * or byte is wrong and why. */
int btf_parse_value(const struct skep_btf *btf, uint32_t type_id, const char *text, void *out,
		    size_t size, char *err, size_t errlen);
/* The C declaration of a type ("struct event", "unsigned int", "char[16]", "int (*)(void *)"). */
void btf_type_name(const struct skep_btf *btf, uint32_t type_id, char *buf, size_t len);
/* A declaration of name with that type ("char comm[16]", "int (*fn)(int)"); anonymous
 * structs, unions and enums appear as "struct {...}". */
void btf_c_decl(const struct skep_btf *btf, uint32_t type_id, const char *name, char *buf,
		size_t len);
/* The same in parts, for printing definitions inline: the declarator around name
 * ("*p", "(*fn)(int)", "a[4]") in decl, the qualifiers of the base (1 const, 2 volatile,
 * 4 restrict) in *quals; returns the base type id (INT, STRUCT, TYPEDEF, ..., 0 void).
 * fn, if not NULL, names the named types (a C dump renames duplicates "name___2"). */
typedef const char *(*btf_name_fn)(void *ctx, uint32_t type_id);
uint32_t btf_c_declarator(const struct skep_btf *btf, uint32_t type_id, const char *name,
			  char *decl, size_t len, int *quals, btf_name_fn fn, void *ctx);
/* "struct name", "unsigned int", "void" for a base type. */
void btf_c_base_name(const struct skep_btf *btf, uint32_t type_id, char *buf, size_t len,
		     btf_name_fn fn, void *ctx);

#endif
