/* .BTF.ext: func_info, line_info and CO-RE relocations, per section, with the
 * instruction offsets of the object; they follow a program into its linked form.
 * CO-RE relocations cannot be resolved without a kernel's BTF: a program that has one
 * is refused at load with the relocation's kind and type named. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"

#define EXT_MAGIC 0xeb9f

struct ext_sub {             /* one of the three info kinds */
	const uint8_t *p;
	uint32_t len;
	uint32_t min_rec;
	const char *what;
};

static const char *const core_kinds[] = {
	"field byte offset", "field byte size", "field exists", "field signed",
	"field left shift", "field right shift", "local type id", "target type id",
	"type exists", "type size", "enum value exists", "enum value", "type matches",
};

/* Split the header; 0 or an error naming the bad field. */
static int ext_subs(skep_object *obj, struct ext_sub sub[3])
{
	const uint8_t *d = obj->btf_ext;
	size_t len = obj->btf_ext_len;
	memset(sub, 0, 3 * sizeof *sub);
	if (len < 24)
		return obj_fail(obj, -EINVAL, ".BTF.ext: %zu bytes is shorter than its 24-byte header", len);
	uint16_t magic = (uint16_t)(d[0] | d[1] << 8);
	if (magic != EXT_MAGIC || d[2] != 1)
		return obj_fail(obj, -EINVAL, ".BTF.ext: bad magic 0x%04x or version %u", magic, d[2]);
	uint32_t hdr = elf_u32(d + 4);
	if (hdr < 24 || hdr > len)
		return obj_fail(obj, -EINVAL, ".BTF.ext: header length %u does not fit in %zu bytes", hdr, len);
	static const char *const what[3] = {"func_info", "line_info", "CO-RE relocations"};
	static const uint32_t min_rec[3] = {8, 16, 16};
	for (int i = 0; i < 3; i++) {
		if (8 + 8 * (uint32_t)i + 8 > hdr)
			break;  /* an older header without CO-RE relocations */
		uint32_t off = elf_u32(d + 8 + 8 * i), n = elf_u32(d + 12 + 8 * i);
		if ((uint64_t)hdr + off + n > len)
			return obj_fail(obj, -EINVAL, ".BTF.ext: %s (offset %u, %u bytes) is past the end (%zu bytes)",
					what[i], off, n, len);
		sub[i] = (struct ext_sub){d + hdr + off, n, min_rec[i], what[i]};
	}
	return 0;
}

/* Each record of section sec_name in sub: fn(rec, index in section) for each. */
typedef int (*rec_fn)(skep_object *obj, void *ctx, const uint8_t *rec, uint32_t idx);

static int ext_walk(skep_object *obj, const struct ext_sub *s, const char *sec_name, rec_fn fn, void *ctx)
{
	if (!s->len)
		return 0;
	if (s->len < 4)
		return obj_fail(obj, -EINVAL, ".BTF.ext: %s is %u bytes", s->what, s->len);
	uint32_t rec = elf_u32(s->p);
	if (rec < s->min_rec || rec % 4)
		return obj_fail(obj, -EINVAL, ".BTF.ext: %s record size %u (at least %u, a multiple of 4)",
				s->what, rec, s->min_rec);
	for (uint32_t off = 4; off < s->len;) {
		if (s->len - off < 8)
			return obj_fail(obj, -EINVAL, ".BTF.ext: %s: truncated section header at offset %u", s->what, off);
		const char *name = obj->btf ? btf_str(obj->btf, elf_u32(s->p + off)) : NULL;
		uint32_t n = elf_u32(s->p + off + 4);
		off += 8;
		if (!name)
			return obj_fail(obj, -EINVAL, ".BTF.ext: %s: section name offset %u is not a BTF string",
					s->what, elf_u32(s->p + off - 8));
		if ((uint64_t)n * rec > s->len - off)
			return obj_fail(obj, -EINVAL, ".BTF.ext: %s of section '%s': %u records of %u bytes run past the end",
					s->what, name, n, rec);
		if (!strcmp(name, sec_name))
			for (uint32_t i = 0; i < n; i++) {
				const uint8_t *r = s->p + off + (size_t)i * rec;
				if (elf_u32(r) % 8)
					return obj_fail(obj, -EINVAL, ".BTF.ext: %s of section '%s': record %u: offset %u is "
							"not an instruction", s->what, name, i, elf_u32(r));
				int rc = fn(obj, ctx, r, i);
				if (rc)
					return rc;
			}
		off += n * rec;
	}
	return 0;
}

struct apply_ctx {
	struct skep_program *p;
	const struct link_piece *pc;
};

/* Where the record's instruction lands, or -1 if it is not in this piece. */
static long landed(const struct apply_ctx *c, const uint8_t *r)
{
	uint32_t idx = elf_u32(r) / 8;
	if (idx < c->pc->src || idx - c->pc->src >= c->pc->n)
		return -1;
	return (long)(c->pc->dst + (idx - c->pc->src));
}

static int on_func(skep_object *obj, void *ctx, const uint8_t *r, uint32_t i)
{
	struct apply_ctx *c = ctx;
	long at = landed(c, r);
	if (at < 0)
		return 0;
	struct skep_btf_type t;
	uint32_t id = elf_u32(r + 4);
	if (skep_btf_type(obj->btf, id, &t) || t.kind != SKEP_BTF_FUNC)
		return obj_fail(obj, -EINVAL, ".BTF.ext: func_info %u: type %u is not a BTF FUNC", i, id);
	struct skep_func_info *v = realloc(c->p->funcs, (c->p->nfuncs + 1) * sizeof *v);
	if (!v)
		return obj_fail(obj, -ENOMEM, "out of memory");
	c->p->funcs = v;
	v[c->p->nfuncs++] = (struct skep_func_info){(uint32_t)at, id, t.name};
	return 0;
}

static int on_line(skep_object *obj, void *ctx, const uint8_t *r, uint32_t i)
{
	struct apply_ctx *c = ctx;
	long at = landed(c, r);
	if (at < 0)
		return 0;
	const char *file = btf_str(obj->btf, elf_u32(r + 4)), *text = btf_str(obj->btf, elf_u32(r + 8));
	if (!file || !text)
		return obj_fail(obj, -EINVAL, ".BTF.ext: line_info %u: file or line offset is not a BTF string", i);
	uint32_t lc = elf_u32(r + 12);
	struct skep_line_info *v = realloc(c->p->lines, (c->p->nlines + 1) * sizeof *v);
	if (!v)
		return obj_fail(obj, -ENOMEM, "out of memory");
	c->p->lines = v;
	v[c->p->nlines++] = (struct skep_line_info){(uint32_t)at, lc >> 10, lc & 0x3ff, file, text};
	return 0;
}

static int on_core(skep_object *obj, void *ctx, const uint8_t *r, uint32_t i)
{
	struct apply_ctx *c = ctx;
	long at = landed(c, r);
	if (at < 0 || c->p->core_err)
		return 0;
	uint32_t type = elf_u32(r + 4), kind = elf_u32(r + 12);
	const char *acc = btf_str(obj->btf, elf_u32(r + 8));
	char tname[128], msg[400];
	btf_type_str(obj->btf, type, tname, sizeof tname);
	snprintf(msg, sizeof msg, "program '%s': CO-RE relocation %u at instruction %ld (%s of %s, access '%s') "
		 "needs a kernel's BTF: CO-RE is not supported in Skep", c->p->name, i, at,
		 kind < sizeof core_kinds / sizeof *core_kinds ? core_kinds[kind] : "unknown kind", tname,
		 acc ? acc : "?");
	if (!(c->p->core_err = strdup(msg)))
		return obj_fail(obj, -ENOMEM, "out of memory");
	return 0;
}

static int cmp_line(const void *a, const void *b)
{
	const struct skep_line_info *x = a, *y = b;
	return x->insn < y->insn ? -1 : x->insn > y->insn;
}

int btf_ext_apply(skep_object *obj, struct skep_program *p, const struct link_piece *pieces, size_t npieces)
{
	if (!obj->btf_ext)
		return 0;
	struct ext_sub sub[3];
	int rc = ext_subs(obj, sub);
	static const rec_fn fns[3] = {on_func, on_line, on_core};
	for (size_t k = 0; !rc && k < npieces; k++) {
		struct apply_ctx c = {p, &pieces[k]};
		for (int i = 0; i < 3 && !rc; i++)
			rc = ext_walk(obj, &sub[i], obj->ef.secs[pieces[k].sec].name, fns[i], &c);
	}
	if (!rc && p->nlines)
		qsort(p->lines, p->nlines, sizeof *p->lines, cmp_line);
	return rc;
}
