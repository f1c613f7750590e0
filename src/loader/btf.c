/* BTF (.BTF section): header, string section and type records, every record checked
 * to lie inside the type section and every referenced id to exist. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"

#define BTF_MAGIC 0xeb9f
#define BTF_MAX_TYPES (1u << 20)

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = snprintf(err, errlen, "BTF: ");
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static uint32_t kind_of(uint32_t info) { return (info >> 24) & 0x1f; }
static uint32_t vlen_of(uint32_t info) { return info & 0xffff; }

/* Bytes that follow the 12-byte common part of a type of this kind, or -1. */
static long extra_size(uint32_t kind, uint32_t vlen)
{
	switch (kind) {
	case SKEP_BTF_INT: return 4;
	case SKEP_BTF_PTR: case SKEP_BTF_FWD: case SKEP_BTF_TYPEDEF: case SKEP_BTF_VOLATILE:
	case SKEP_BTF_CONST: case SKEP_BTF_RESTRICT: case SKEP_BTF_FUNC: case SKEP_BTF_FLOAT:
	case SKEP_BTF_TYPE_TAG:
		return 0;
	case SKEP_BTF_ARRAY: return 12;
	case SKEP_BTF_STRUCT: case SKEP_BTF_UNION: case SKEP_BTF_DATASEC: case SKEP_BTF_ENUM64:
		return 12L * vlen;
	case SKEP_BTF_ENUM: case SKEP_BTF_FUNC_PROTO: return 8L * vlen;
	case SKEP_BTF_VAR: case SKEP_BTF_DECL_TAG: return 4;
	}
	return -1;
}

const char *btf_str(const struct skep_btf *btf, uint32_t off)
{
	if (off >= btf->strs_len)
		return NULL;
	const char *p = (const char *)btf->strs + off;
	return memchr(p, 0, btf->strs_len - off) ? p : NULL;
}

/* Type ids a record refers to must exist (checked once all records are known). */
static int check_refs(struct skep_btf *btf, char *err, size_t errlen)
{
	for (uint32_t id = 1; id < btf->ntypes; id++) {
		const uint8_t *t = btf->type[id];
		uint32_t info = elf_u32(t + 4), kind = kind_of(info), vlen = vlen_of(info);
		uint32_t refs[3] = {0}, nrefs = 0;
		if (!btf_str(btf, elf_u32(t)))
			return fail(err, errlen, "type %u: name offset %u is past the string section", id, elf_u32(t));
		switch (kind) {
		case SKEP_BTF_PTR: case SKEP_BTF_TYPEDEF: case SKEP_BTF_VOLATILE: case SKEP_BTF_CONST:
		case SKEP_BTF_RESTRICT: case SKEP_BTF_FUNC: case SKEP_BTF_FUNC_PROTO: case SKEP_BTF_VAR:
		case SKEP_BTF_TYPE_TAG: case SKEP_BTF_DECL_TAG:
			refs[nrefs++] = elf_u32(t + 8);
			break;
		case SKEP_BTF_ARRAY:
			refs[nrefs++] = elf_u32(t + 12);
			refs[nrefs++] = elf_u32(t + 16);
			break;
		}
		for (uint32_t i = 0; i < nrefs; i++)
			if (refs[i] >= btf->ntypes)
				return fail(err, errlen, "type %u refers to type %u, past the last type (%u)", id,
					    refs[i], btf->ntypes - 1);
		if (kind == SKEP_BTF_STRUCT || kind == SKEP_BTF_UNION || kind == SKEP_BTF_DATASEC ||
		    kind == SKEP_BTF_FUNC_PROTO)
			for (uint32_t i = 0; i < vlen; i++) {
				const uint8_t *m = t + 12 + i * (kind == SKEP_BTF_FUNC_PROTO ? 8 : 12);
				uint32_t r = kind == SKEP_BTF_DATASEC ? elf_u32(m) : elf_u32(m + 4);
				if (r >= btf->ntypes)
					return fail(err, errlen, "type %u member %u refers to type %u, past the last type (%u)",
						    id, i, r, btf->ntypes - 1);
				if (kind != SKEP_BTF_DATASEC && !btf_str(btf, elf_u32(m)))
					return fail(err, errlen, "type %u member %u: name offset past the string section", id, i);
			}
	}
	return 0;
}

int btf_parse(struct skep_btf *btf, const uint8_t *data, size_t size, char *err, size_t errlen)
{
	memset(btf, 0, sizeof *btf);
	if (size < 24)
		return fail(err, errlen, "%zu bytes is shorter than the 24-byte header", size);
	uint16_t magic = (uint16_t)(data[0] | data[1] << 8);
	if (magic != BTF_MAGIC)
		return fail(err, errlen, "bad magic 0x%04x (0xeb9f expected%s)", magic,
			    magic == 0x9feb ? "; big-endian BTF is not supported" : "");
	if (data[2] != 1)
		return fail(err, errlen, "version %u, 1 expected", data[2]);
	uint32_t hdr_len = elf_u32(data + 4);
	uint32_t type_off = elf_u32(data + 8), type_len = elf_u32(data + 12);
	uint32_t str_off = elf_u32(data + 16), str_len = elf_u32(data + 20);
	if (hdr_len < 24 || hdr_len > size)
		return fail(err, errlen, "header length %u does not fit in %zu bytes", hdr_len, size);
	uint64_t body = size - hdr_len;
	if ((uint64_t)type_off + type_len > body || (uint64_t)str_off + str_len > body)
		return fail(err, errlen, "type section (%u+%u) or string section (%u+%u) is past the end (%llu bytes)",
			    type_off, type_len, str_off, str_len, (unsigned long long)body);
	if (type_off % 4)
		return fail(err, errlen, "type section offset %u is not 4-byte aligned", type_off);
	if (str_len == 0 || data[hdr_len + str_off + str_len - 1] != 0)
		return fail(err, errlen, "string section is empty or does not end with NUL");
	btf->raw = malloc(size);
	if (!btf->raw)
		return fail(err, errlen, "out of memory");
	memcpy(btf->raw, data, size);
	btf->size = size;
	btf->types = btf->raw + hdr_len + type_off;
	btf->types_len = type_len;
	btf->strs = btf->raw + hdr_len + str_off;
	btf->strs_len = str_len;

	/* count, then index */
	uint32_t n = 1, cap = 64;
	btf->type = malloc(cap * sizeof *btf->type);
	if (!btf->type)
		return fail(err, errlen, "out of memory");
	btf->type[0] = NULL;
	for (uint32_t off = 0; off < type_len;) {
		if (type_len - off < 12)
			return fail(err, errlen, "type %u at offset %u: truncated (%u bytes left)", n, off, type_len - off);
		const uint8_t *t = btf->types + off;
		uint32_t info = elf_u32(t + 4);
		long extra = extra_size(kind_of(info), vlen_of(info));
		if (extra < 0)
			return fail(err, errlen, "type %u at offset %u: unknown kind %u", n, off, kind_of(info));
		if ((uint64_t)type_len - off - 12 < (uint64_t)extra)
			return fail(err, errlen, "type %u at offset %u: %u members run past the type section",
				    n, off, vlen_of(info));
		if (n >= BTF_MAX_TYPES)
			return fail(err, errlen, "more than %u types", BTF_MAX_TYPES);
		if (n == cap) {
			const uint8_t **p = realloc(btf->type, (cap *= 2) * sizeof *p);
			if (!p)
				return fail(err, errlen, "out of memory");
			btf->type = p;
		}
		btf->type[n++] = t;
		off += 12 + (uint32_t)extra;
	}
	btf->ntypes = n;
	return check_refs(btf, err, errlen);
}

void btf_free(struct skep_btf *btf)
{
	if (!btf)
		return;
	free(btf->raw);
	free(btf->type);
	memset(btf, 0, sizeof *btf);
}

uint32_t skep_btf_type_cnt(const struct skep_btf *btf) { return btf->ntypes; }

int skep_btf_type(const struct skep_btf *btf, uint32_t id, struct skep_btf_type *o)
{
	memset(o, 0, sizeof *o);
	if (id == 0) {
		o->name = "void";
		return 0;
	}
	if (id >= btf->ntypes)
		return -ENOENT;
	const uint8_t *t = btf->type[id];
	uint32_t info = elf_u32(t + 4);
	o->kind = kind_of(info);
	o->vlen = vlen_of(info);
	o->kflag = info >> 31;
	o->name = btf_str(btf, elf_u32(t));
	uint32_t st = elf_u32(t + 8);
	switch (o->kind) {
	case SKEP_BTF_INT: case SKEP_BTF_STRUCT: case SKEP_BTF_UNION: case SKEP_BTF_ENUM:
	case SKEP_BTF_ENUM64: case SKEP_BTF_FLOAT: case SKEP_BTF_DATASEC:
		o->size = st;
		break;
	default:
		o->type = st;
	}
	if (o->kind == SKEP_BTF_INT) {
		uint32_t v = elf_u32(t + 12);
		o->int_encoding = v >> 24 & 0xf;
		o->int_offset = v >> 16 & 0xff;
		o->int_bits = v & 0xff;
	} else if (o->kind == SKEP_BTF_ARRAY) {
		o->elem_type = elf_u32(t + 12);
		o->index_type = elf_u32(t + 16);
		o->nelems = elf_u32(t + 20);
	} else if (o->kind == SKEP_BTF_VAR) {
		o->linkage = elf_u32(t + 12);
	} else if (o->kind == SKEP_BTF_DECL_TAG) {
		o->component_idx = (int32_t)elf_u32(t + 12);
	}
	return 0;
}

int skep_btf_member(const struct skep_btf *btf, uint32_t id, uint32_t i, struct skep_btf_member *o)
{
	struct skep_btf_type t;
	memset(o, 0, sizeof *o);
	if (skep_btf_type(btf, id, &t) || i >= t.vlen)
		return -ENOENT;
	const uint8_t *m = btf->type[id] + 12;
	switch (t.kind) {
	case SKEP_BTF_STRUCT: case SKEP_BTF_UNION: {
		m += 12 * i;
		uint32_t off = elf_u32(m + 8);
		o->name = btf_str(btf, elf_u32(m));
		o->type = elf_u32(m + 4);
		o->bit_offset = t.kflag ? off & 0xffffff : off;
		o->bitfield_size = t.kflag ? off >> 24 : 0;
		return 0;
	}
	case SKEP_BTF_ENUM:
		m += 8 * i;
		o->name = btf_str(btf, elf_u32(m));
		o->value = t.kflag ? (int64_t)(int32_t)elf_u32(m + 4) : (int64_t)elf_u32(m + 4);
		return 0;
	case SKEP_BTF_ENUM64:
		m += 12 * i;
		o->name = btf_str(btf, elf_u32(m));
		o->value = (int64_t)((uint64_t)elf_u32(m + 4) | (uint64_t)elf_u32(m + 8) << 32);
		return 0;
	case SKEP_BTF_FUNC_PROTO:
		m += 8 * i;
		o->name = btf_str(btf, elf_u32(m));
		o->type = elf_u32(m + 4);
		return 0;
	case SKEP_BTF_DATASEC:
		m += 12 * i;
		o->type = elf_u32(m);
		o->offset = elf_u32(m + 4);
		o->size = elf_u32(m + 8);
		o->name = "";
		if (o->type && o->type < btf->ntypes)
			o->name = btf_str(btf, elf_u32(btf->type[o->type]));
		return 0;
	}
	return -ENOENT;
}

uint32_t btf_skip_mods(const struct skep_btf *btf, uint32_t id)
{
	for (uint32_t hops = 0; id && id < btf->ntypes && hops < 64; hops++) {
		uint32_t k = kind_of(elf_u32(btf->type[id] + 4));
		if (k != SKEP_BTF_TYPEDEF && k != SKEP_BTF_VOLATILE && k != SKEP_BTF_CONST &&
		    k != SKEP_BTF_RESTRICT && k != SKEP_BTF_TYPE_TAG)
			return id;
		id = elf_u32(btf->type[id] + 8);
	}
	return 0;
}

uint32_t skep_btf_resolve(const struct skep_btf *btf, uint32_t id) { return btf_skip_mods(btf, id); }

int64_t btf_type_size(const struct skep_btf *btf, uint32_t id)
{
	uint64_t mult = 1;
	for (int hops = 0; hops < 64; hops++) {
		id = btf_skip_mods(btf, id);
		if (!id)
			return -1;
		struct skep_btf_type t;
		skep_btf_type(btf, id, &t);
		switch (t.kind) {
		case SKEP_BTF_INT: case SKEP_BTF_STRUCT: case SKEP_BTF_UNION: case SKEP_BTF_ENUM:
		case SKEP_BTF_ENUM64: case SKEP_BTF_FLOAT: case SKEP_BTF_DATASEC:
			return mult * t.size > (1ull << 32) ? -1 : (int64_t)(mult * t.size);
		case SKEP_BTF_PTR:
			return (int64_t)(mult * 8);
		case SKEP_BTF_ARRAY:
			mult *= t.nelems;
			if (mult > (1ull << 32))
				return -1;
			id = t.elem_type;
			continue;
		case SKEP_BTF_VAR:
			id = t.type;
			continue;
		default:
			return -1;
		}
	}
	return -1;
}

int64_t skep_btf_type_size(const struct skep_btf *btf, uint32_t id)
{
	int64_t s = btf_type_size(btf, id);
	return s < 0 ? -EINVAL : s;
}

uint32_t skep_btf_find(const struct skep_btf *btf, const char *name, uint32_t kind)
{
	for (uint32_t id = 1; id < btf->ntypes; id++) {
		const uint8_t *t = btf->type[id];
		const char *n = btf_str(btf, elf_u32(t));
		if (n && !strcmp(n, name) && (!kind || kind_of(elf_u32(t + 4)) == kind))
			return id;
	}
	return 0;
}

static const char *type_str(const struct skep_btf *btf, uint32_t id, char *buf, size_t len, int depth)
{
	struct skep_btf_type t;
	if (depth > 8) {
		snprintf(buf, len, "...");
		return buf;
	}
	if (skep_btf_type(btf, id, &t)) {
		snprintf(buf, len, "<type %u>", id);
		return buf;
	}
	const char *kw = t.kind == SKEP_BTF_STRUCT ? "struct " : t.kind == SKEP_BTF_UNION ? "union "
		: t.kind == SKEP_BTF_ENUM || t.kind == SKEP_BTF_ENUM64 ? "enum " : "";
	if (t.kind == SKEP_BTF_FWD)
		kw = t.kflag ? "union " : "struct ";
	if (t.kind == SKEP_BTF_PTR) {
		char in[96];
		snprintf(buf, len, "%s *", type_str(btf, t.type, in, sizeof in, depth + 1));
	} else if (t.kind == SKEP_BTF_CONST || t.kind == SKEP_BTF_VOLATILE) {
		char in[96];
		snprintf(buf, len, "%s %s", t.kind == SKEP_BTF_CONST ? "const" : "volatile",
			 type_str(btf, t.type, in, sizeof in, depth + 1));
	} else if (t.kind == SKEP_BTF_ARRAY) {
		char in[96];
		snprintf(buf, len, "%s[%u]", type_str(btf, t.elem_type, in, sizeof in, depth + 1), t.nelems);
	} else {
		snprintf(buf, len, "%s%s", kw, t.name && *t.name ? t.name : "(anon)");
	}
	return buf;
}

const char *btf_type_str(const struct skep_btf *btf, uint32_t id, char *buf, size_t len)
{
	return type_str(btf, id, buf, len, 0);
}
