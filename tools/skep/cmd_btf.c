/* skep btf: the BTF of an ELF object, as bpftool prints it.
 *
 *   skep btf dump [file] OBJ.o [format raw|c] [-j]
 *
 * raw: one line per type as `bpftool btf dump file X` ("[1] INT 'int' size=4
 * bits_offset=0 nr_bits=32 encoding=SIGNED", members on tab-indented lines); with -j,
 * bpftool's {"types": [...]}.  c: a C header as `bpftool btf dump file X format c`
 * (libbpf's btf_dump): named structs, unions, enums and typedefs in dependency order,
 * forward declarations where a pointer needs one, explicit padding and packed
 * attributes so the layout is the BTF's; with -j, {"c": "<the header>"}. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "btf_print.h"
#include "cmds.h"
#include "json.h"
#include "util.h"
#include "skep/btf.h"
#include "skep/object.h"

#define USAGE "usage: skep btf dump [file] OBJ.o [format raw|c] [-j]"

static const char *const kind_str[] = {
	"UNKNOWN", "INT", "PTR", "ARRAY", "STRUCT", "UNION", "ENUM", "FWD", "TYPEDEF", "VOLATILE",
	"CONST", "RESTRICT", "FUNC", "FUNC_PROTO", "VAR", "DATASEC", "FLOAT", "DECL_TAG", "TYPE_TAG",
	"ENUM64",
};

static const char *kname(uint32_t k) { return k < sizeof kind_str / sizeof *kind_str ? kind_str[k] : "UNKNOWN"; }
static const char *anon(const char *s) { return s && *s ? s : "(anon)"; }

static const char *int_enc(uint32_t e)
{
	switch (e) {
	case 0: return "(none)";
	case 1: return "SIGNED";
	case 2: return "CHAR";
	case 4: return "BOOL";
	}
	return "UNKN";
}

static const char *linkage_str(uint32_t l)
{
	return l == 0 ? "static" : l == 1 ? "global" : l == 2 ? "extern" : "(unknown)";
}

static int fail(int json, int rc, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (json) {
		struct json j;
		json_init(&j, stdout);
		json_obj(&j, NULL);
		json_str(&j, "error", msg);
		json_end(&j);
		json_nl(&j);
	} else {
		fprintf(stderr, "skep btf: %s%s\n", msg, rc == 2 ? " (try: skep btf help)" : "");
	}
	return rc;
}

/* ---- raw: bpftool's dump_btf_type, text and JSON */
static void dump_raw_type(const struct skep_btf *btf, uint32_t id, struct json *j)
{
	struct skep_btf_type t;
	skep_btf_type(btf, id, &t);
	if (j) {
		json_obj(j, NULL);
		json_u64(j, "id", id);
		json_str(j, "kind", kname(t.kind));
		json_str(j, "name", anon(t.name));
	} else {
		printf("[%u] %s '%s'", id, kname(t.kind), anon(t.name));
	}
	struct skep_btf_member m;
	switch (t.kind) {
	case SKEP_BTF_INT:
		if (j) {
			json_u64(j, "size", t.size);
			json_u64(j, "bits_offset", t.int_offset);
			json_u64(j, "nr_bits", t.int_bits);
			json_str(j, "encoding", int_enc(t.int_encoding));
		} else {
			printf(" size=%u bits_offset=%u nr_bits=%u encoding=%s", t.size, t.int_offset, t.int_bits,
			       int_enc(t.int_encoding));
		}
		break;
	case SKEP_BTF_PTR: case SKEP_BTF_CONST: case SKEP_BTF_VOLATILE: case SKEP_BTF_RESTRICT:
	case SKEP_BTF_TYPEDEF: case SKEP_BTF_TYPE_TAG:
		if (j)
			json_u64(j, "type_id", t.type);
		else
			printf(" type_id=%u", t.type);
		break;
	case SKEP_BTF_ARRAY:
		if (j) {
			json_u64(j, "type_id", t.elem_type);
			json_u64(j, "index_type_id", t.index_type);
			json_u64(j, "nr_elems", t.nelems);
		} else {
			printf(" type_id=%u index_type_id=%u nr_elems=%u", t.elem_type, t.index_type, t.nelems);
		}
		break;
	case SKEP_BTF_STRUCT: case SKEP_BTF_UNION:
		if (j) {
			json_u64(j, "size", t.size);
			json_u64(j, "vlen", t.vlen);
			json_arr(j, "members");
		} else {
			printf(" size=%u vlen=%u", t.size, t.vlen);
		}
		for (uint32_t i = 0; i < t.vlen && !skep_btf_member(btf, id, i, &m); i++) {
			if (j) {
				json_obj(j, NULL);
				json_str(j, "name", anon(m.name));
				json_u64(j, "type_id", m.type);
				json_u64(j, "bits_offset", m.bit_offset);
				if (m.bitfield_size)
					json_u64(j, "bitfield_size", m.bitfield_size);
				json_end(j);
			} else {
				printf("\n\t'%s' type_id=%u bits_offset=%u", anon(m.name), m.type, m.bit_offset);
				if (m.bitfield_size)
					printf(" bitfield_size=%u", m.bitfield_size);
			}
		}
		if (j)
			json_end(j);
		break;
	case SKEP_BTF_ENUM: case SKEP_BTF_ENUM64: {
		const char *enc = t.kflag ? "SIGNED" : "UNSIGNED";
		if (j) {
			json_str(j, "encoding", enc);
			json_u64(j, "size", t.size);
			json_u64(j, "vlen", t.vlen);
			json_arr(j, "values");
		} else {
			printf(" encoding=%s size=%u vlen=%u", enc, t.size, t.vlen);
		}
		for (uint32_t i = 0; i < t.vlen && !skep_btf_member(btf, id, i, &m); i++) {
			/* ENUM values are 32-bit: unsigned ones read back zero-extended */
			uint64_t u = t.kind == SKEP_BTF_ENUM ? (uint32_t)m.value : (uint64_t)m.value;
			if (j) {
				json_obj(j, NULL);
				json_str(j, "name", anon(m.name));
				if (t.kflag)
					json_i64(j, "val", m.value);
				else
					json_u64(j, "val", u);
				json_end(j);
			} else if (t.kflag) {
				printf("\n\t'%s' val=%" PRId64, anon(m.name), m.value);
			} else {
				printf("\n\t'%s' val=%" PRIu64, anon(m.name), u);
			}
		}
		if (j)
			json_end(j);
		break;
	}
	case SKEP_BTF_FWD:
		if (j)
			json_str(j, "fwd_kind", t.kflag ? "union" : "struct");
		else
			printf(" fwd_kind=%s", t.kflag ? "union" : "struct");
		break;
	case SKEP_BTF_FUNC: {
		const char *l = t.vlen == 0 ? "static" : t.vlen == 1 ? "global" : t.vlen == 2 ? "extern" : "(unknown)";
		if (j) {
			json_u64(j, "type_id", t.type);
			json_str(j, "linkage", l);
		} else {
			printf(" type_id=%u linkage=%s", t.type, l);
		}
		break;
	}
	case SKEP_BTF_FUNC_PROTO:
		if (j) {
			json_u64(j, "ret_type_id", t.type);
			json_u64(j, "vlen", t.vlen);
			json_arr(j, "params");
		} else {
			printf(" ret_type_id=%u vlen=%u", t.type, t.vlen);
		}
		for (uint32_t i = 0; i < t.vlen && !skep_btf_member(btf, id, i, &m); i++) {
			if (j) {
				json_obj(j, NULL);
				json_str(j, "name", anon(m.name));
				json_u64(j, "type_id", m.type);
				json_end(j);
			} else {
				printf("\n\t'%s' type_id=%u", anon(m.name), m.type);
			}
		}
		if (j)
			json_end(j);
		break;
	case SKEP_BTF_VAR:
		if (j) {
			json_u64(j, "type_id", t.type);
			json_str(j, "linkage", linkage_str(t.linkage));
		} else {
			printf(" type_id=%u, linkage=%s", t.type, linkage_str(t.linkage));
		}
		break;
	case SKEP_BTF_DATASEC:
		if (j) {
			json_u64(j, "size", t.size);
			json_u64(j, "vlen", t.vlen);
			json_arr(j, "vars");
		} else {
			printf(" size=%u vlen=%u", t.size, t.vlen);
		}
		for (uint32_t i = 0; i < t.vlen && !skep_btf_member(btf, id, i, &m); i++) {
			if (j) {
				json_obj(j, NULL);
				json_u64(j, "type_id", m.type);
				json_u64(j, "offset", m.offset);
				json_u64(j, "size", m.size);
				json_end(j);
			} else {
				struct skep_btf_type vt;
				printf("\n\ttype_id=%u offset=%u size=%u", m.type, m.offset, m.size);
				if (!skep_btf_type(btf, m.type, &vt))
					printf(" (%s '%s')", kname(vt.kind), anon(vt.name));
			}
		}
		if (j)
			json_end(j);
		break;
	case SKEP_BTF_FLOAT:
		if (j)
			json_u64(j, "size", t.size);
		else
			printf(" size=%u", t.size);
		break;
	case SKEP_BTF_DECL_TAG:
		if (j) {
			json_u64(j, "type_id", t.type);
			json_i64(j, "component_idx", t.component_idx);
		} else {
			printf(" type_id=%u component_idx=%d", t.type, t.component_idx);
		}
		break;
	}
	if (j)
		json_end(j);
	else
		printf("\n");
}

/* ---- c: libbpf's btf_dump: order the types by their strong links (by value), then
 * emit each with forward declarations for what is still missing */
enum { NOT_ORDERED, ORDERING, ORDERED };
enum { NOT_EMITTED, EMITTING, EMITTED };
struct tstate {
	uint8_t order, emit, fwd_emitted, referenced, name_resolved;
};
/* How often a name was used: libbpf renames the second "foo" "foo___2". */
struct names {
	const char **key;
	uint32_t *cnt, cap, n;
};
struct cdump {
	const struct skep_btf *btf;
	FILE *f;
	uint32_t n;
	struct tstate *ts;
	char **renamed;      /* per type: its "name___N", or NULL */
	uint32_t *queue, nqueue;
	struct names type_names, ident_names;   /* tags (struct/union/enum) and identifiers */
	int oom;
};

static uint32_t str_hash(const char *s)
{
	uint32_t h = 2166136261u;
	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

/* Count one more use of name; the count. */
static uint32_t name_dups(struct cdump *d, struct names *m, const char *name)
{
	if (m->n * 2 >= m->cap) {
		uint32_t cap = m->cap ? m->cap * 2 : 256;
		const char **key = calloc(cap, sizeof *key);
		uint32_t *cnt = calloc(cap, sizeof *cnt);
		if (!key || !cnt) {
			free(key);
			free(cnt);
			d->oom = 1;
			return 1;
		}
		for (uint32_t i = 0; i < m->cap; i++) {
			if (!m->key[i])
				continue;
			uint32_t j = str_hash(m->key[i]) & (cap - 1);
			while (key[j])
				j = (j + 1) & (cap - 1);
			key[j] = m->key[i];
			cnt[j] = m->cnt[i];
		}
		free(m->key);
		free(m->cnt);
		m->key = key;
		m->cnt = cnt;
		m->cap = cap;
	}
	uint32_t j = str_hash(name) & (m->cap - 1);
	while (m->key[j] && strcmp(m->key[j], name))
		j = (j + 1) & (m->cap - 1);
	if (!m->key[j]) {
		m->key[j] = name;   /* BTF strings live as long as the dump */
		m->n++;
	}
	return ++m->cnt[j];
}

/* libbpf's btf_dump_resolve_name: a name is fixed the first time it is printed. */
static const char *type_name(void *ctx, uint32_t id)
{
	struct cdump *d = ctx;
	struct skep_btf_type t;
	if (!id || id >= d->n || skep_btf_type(d->btf, id, &t) || !*t.name)
		return "";
	struct tstate *s = &d->ts[id];
	if (s->name_resolved)
		return d->renamed[id] ? d->renamed[id] : t.name;
	s->name_resolved = 1;
	if (t.kind == SKEP_BTF_FWD || (t.kind == SKEP_BTF_ENUM && !t.vlen))
		return t.name;
	uint32_t dup = name_dups(d, t.kind == SKEP_BTF_TYPEDEF ? &d->ident_names : &d->type_names, t.name);
	if (dup > 1) {
		size_t n = strlen(t.name) + 16;
		if ((d->renamed[id] = malloc(n)))
			snprintf(d->renamed[id], n, "%s___%u", t.name, dup);
	}
	return d->renamed[id] ? d->renamed[id] : t.name;
}

static int align_of(const struct skep_btf *btf, uint32_t id, int depth);

/* libbpf's btf_is_struct_packed */
static int is_packed(const struct skep_btf *btf, uint32_t id, const struct skep_btf_type *t, int depth)
{
	int max_align = 1;
	for (uint32_t i = 0; i < t->vlen; i++) {
		struct skep_btf_member m;
		if (skep_btf_member(btf, id, i, &m))
			break;
		int a = align_of(btf, m.type, depth + 1);
		if (a && !m.bitfield_size && m.bit_offset % (8 * (uint32_t)a))
			return 1;
		if (a > max_align)
			max_align = a;
	}
	return t->size % (uint32_t)max_align != 0;
}

/* libbpf's btf__align_of (8-byte pointers). */
static int align_of(const struct skep_btf *btf, uint32_t id, int depth)
{
	struct skep_btf_type t;
	id = skep_btf_resolve(btf, id);
	if (!id || depth > 32 || skep_btf_type(btf, id, &t))
		return 1;
	switch (t.kind) {
	case SKEP_BTF_INT: case SKEP_BTF_ENUM: case SKEP_BTF_ENUM64: case SKEP_BTF_FLOAT:
		return t.size < 8 ? (t.size ? (int)t.size : 1) : 8;
	case SKEP_BTF_PTR:
		return 8;
	case SKEP_BTF_ARRAY:
		return align_of(btf, t.elem_type, depth + 1);
	case SKEP_BTF_STRUCT: case SKEP_BTF_UNION: {
		/* is_packed and the largest member alignment in one pass */
		int a = 1;
		for (uint32_t i = 0; i < t.vlen; i++) {
			struct skep_btf_member m;
			if (skep_btf_member(btf, id, i, &m))
				break;
			int ma = align_of(btf, m.type, depth + 1);
			if (ma && !m.bitfield_size && m.bit_offset % (8 * (uint32_t)ma))
				return 1;
			if (ma > a)
				a = ma;
		}
		return t.size % (uint32_t)a ? 1 : a;
	}
	}
	return 1;
}

static int composite(uint32_t k) { return k == SKEP_BTF_STRUCT || k == SKEP_BTF_UNION; }

/* Typedefs libbpf never emits. */
static int blacklisted(const struct skep_btf_type *t) { return !strcmp(t->name, "__builtin_va_list"); }

/* libbpf's btf_dump_order_type: 1 for a strong link, 0 a weak one, -1 a loop. */
static int order(struct cdump *d, uint32_t id, int through_ptr, int depth)
{
	struct skep_btf_type t;
	struct skep_btf_member m;
	if (!id || id >= d->n || depth > 512 || skep_btf_type(d->btf, id, &t))
		return 0;
	struct tstate *s = &d->ts[id];
	if (s->order == ORDERED)
		return 1;
	if (s->order == ORDERING)
		return composite(t.kind) && through_ptr && *t.name ? 0 : -1;
	int err, strong;
	switch (t.kind) {
	case SKEP_BTF_INT: case SKEP_BTF_FLOAT:
		s->order = ORDERED;
		return 0;
	case SKEP_BTF_PTR:
		err = order(d, t.type, 1, depth + 1);
		s->order = ORDERED;
		return err;
	case SKEP_BTF_ARRAY:
		return order(d, t.elem_type, 0, depth + 1);
	case SKEP_BTF_STRUCT: case SKEP_BTF_UNION:
		if (through_ptr && *t.name)
			return 0;
		s->order = ORDERING;
		for (uint32_t i = 0; i < t.vlen && !skep_btf_member(d->btf, id, i, &m); i++)
			if (order(d, m.type, 0, depth + 1) < 0)
				return -1;
		if (*t.name)
			d->queue[d->nqueue++] = id;
		s->order = ORDERED;
		return 1;
	case SKEP_BTF_ENUM: case SKEP_BTF_ENUM64: case SKEP_BTF_FWD:
		if (*t.name || !s->referenced)
			d->queue[d->nqueue++] = id;
		s->order = ORDERED;
		return 1;
	case SKEP_BTF_TYPEDEF:
		strong = order(d, t.type, through_ptr, depth + 1);
		if (strong < 0)
			return -1;
		if (through_ptr && !strong)
			return 0;
		d->queue[d->nqueue++] = id;
		s->order = ORDERED;
		return 1;
	case SKEP_BTF_VOLATILE: case SKEP_BTF_CONST: case SKEP_BTF_RESTRICT: case SKEP_BTF_TYPE_TAG:
		return order(d, t.type, through_ptr, depth + 1);
	case SKEP_BTF_FUNC_PROTO:
		strong = order(d, t.type, through_ptr, depth + 1);
		if (strong < 0)
			return -1;
		for (uint32_t i = 0; i < t.vlen && !skep_btf_member(d->btf, id, i, &m); i++) {
			err = order(d, m.type, through_ptr, depth + 1);
			if (err < 0)
				return -1;
			strong |= err > 0;
		}
		return strong;
	default:
		s->order = ORDERED;
		return 0;
	}
}

static void tabs(FILE *f, int n)
{
	for (int i = 0; i < n; i++)
		fputc('\t', f);
}

static void emit_body(struct cdump *d, uint32_t id, int lvl);

/* A declaration of name with type id, anonymous types written inline. */
static void emit_decl(struct cdump *d, uint32_t id, const char *name, int lvl)
{
	static const char *const quals[8] = {"", "const ", "volatile ", "const volatile ", "restrict ",
					     "const restrict ", "volatile restrict ", "const volatile restrict "};
	char decl[1024];
	int q;
	uint32_t base = btf_c_declarator(d->btf, id, name, decl, sizeof decl, &q, type_name, d);
	struct skep_btf_type t;
	fputs(quals[q & 7], d->f);
	if (base && !skep_btf_type(d->btf, base, &t) && !*t.name &&
	    (composite(t.kind) || t.kind == SKEP_BTF_ENUM || t.kind == SKEP_BTF_ENUM64)) {
		emit_body(d, base, lvl);
	} else {
		char b[320];
		btf_c_base_name(d->btf, base, b, sizeof b, type_name, d);
		fputs(b, d->f);
	}
	if (*decl)
		fprintf(d->f, " %s", decl);
}

/* libbpf's btf_dump_emit_bit_padding: explicit padding where natural alignment would
 * not leave the gap; the largest of long/int/short/char that reaches an aligned offset. */
static void pad(struct cdump *d, uint32_t cur, uint32_t next, int next_align, int in_bitfield, int lvl)
{
	static const struct { const char *name; uint32_t bits; } pads[] = {
		{"long", 64}, {"int", 32}, {"short", 16}, {"char", 8},
	};
	if (cur >= next)
		return;
	uint32_t new_off = 0, pad_bits = 8;
	const char *pad_type = "char";
	for (size_t i = 0; i < 4; i++) {
		pad_bits = pads[i].bits;
		pad_type = pads[i].name;
		new_off = (cur + pad_bits - 1) / pad_bits * pad_bits;
		if (new_off <= next)
			break;
	}
	if (new_off > cur && new_off <= next) {
		uint32_t a = (uint32_t)next_align * 8;
		if (in_bitfield || (new_off == next && (cur + a - 1) / a * a != new_off) ||
		    (new_off != next && next - new_off <= new_off - cur)) {
			fputc('\n', d->f);
			tabs(d->f, lvl);
			fprintf(d->f, "%s: %u;", pad_type, in_bitfield ? new_off - cur : 0);
		}
		cur = new_off;
	}
	while (cur != next) {
		uint32_t bits = next - cur < pad_bits ? next - cur : pad_bits;
		const char *ty = pad_type;
		if (bits != pad_bits)
			for (int i = 3; i >= 0; i--)
				if (pads[i].bits >= bits) {
					ty = pads[i].name;
					break;
				}
		fputc('\n', d->f);
		tabs(d->f, lvl);
		fprintf(d->f, "%s: %u;", ty, bits);
		cur += bits;
	}
}

/* "struct name {...}" or "enum name {...}", without the final ";". */
static void emit_body(struct cdump *d, uint32_t id, int lvl)
{
	struct skep_btf_type t;
	struct skep_btf_member m;
	skep_btf_type(d->btf, id, &t);
	if (lvl > 32) {
		fprintf(d->f, "struct {}");
		return;
	}
	if (t.kind == SKEP_BTF_ENUM || t.kind == SKEP_BTF_ENUM64) {
		fprintf(d->f, "enum%s%s", *t.name ? " " : "", type_name(d, id));
		if (!t.vlen)
			return;
		fputs(" {", d->f);
		int hi = 0;
		for (uint32_t i = 0; i < t.vlen && !skep_btf_member(d->btf, id, i, &m); i++) {
			fputc('\n', d->f);
			tabs(d->f, lvl + 1);
			/* enumerators share the namespace of typedef names */
			uint32_t dup = name_dups(d, &d->ident_names, m.name);
			char nm[300];
			if (dup > 1)
				snprintf(nm, sizeof nm, "%s___%u", m.name, dup);
			else
				snprintf(nm, sizeof nm, "%s", m.name);
			if (t.kind == SKEP_BTF_ENUM64)
				fprintf(d->f, t.kflag ? "%s = %" PRId64 "LL," : "%s = %" PRIu64 "ULL,", nm, m.value);
			else if (t.kflag)
				fprintf(d->f, "%s = %d,", nm, (int32_t)m.value);
			else
				fprintf(d->f, "%s = %u,", nm, (uint32_t)m.value);
			hi |= (uint64_t)m.value >> 32 != 0;
		}
		fputc('\n', d->f);
		tabs(d->f, lvl);
		fputc('}', d->f);
		/* sizes other than an int's, as libbpf forces them */
		if (t.size == 1)
			fputs(" __attribute__((mode(byte)))", d->f);
		else if (t.size == 8 && (t.kind == SKEP_BTF_ENUM || !hi))
			fputs(" __attribute__((mode(word)))", d->f);
		return;
	}
	int packed = is_packed(d->btf, id, &t, 0);
	fprintf(d->f, "%s%s%s {", t.kind == SKEP_BTF_UNION ? "union" : "struct", *t.name ? " " : "", type_name(d, id));
	uint32_t off = 0;
	int prev_bitfield = 0;
	for (uint32_t i = 0; i < t.vlen && !skep_btf_member(d->btf, id, i, &m); i++) {
		int align = packed ? 1 : align_of(d->btf, m.type, 0);
		if (t.kind == SKEP_BTF_STRUCT)
			pad(d, off, m.bit_offset, align, prev_bitfield && m.bitfield_size, lvl + 1);
		prev_bitfield = m.bitfield_size != 0;
		fputc('\n', d->f);
		tabs(d->f, lvl + 1);
		emit_decl(d, m.type, m.name, lvl + 1);
		if (m.bitfield_size) {
			fprintf(d->f, ": %u", m.bitfield_size);
			off = m.bit_offset + m.bitfield_size;
		} else {
			int64_t sz = skep_btf_type_size(d->btf, m.type);
			off = m.bit_offset + (uint32_t)(sz > 0 ? sz : 0) * 8;
		}
		fputc(';', d->f);
	}
	if (t.kind == SKEP_BTF_STRUCT)
		pad(d, off, t.size * 8, align_of(d->btf, id, 0), 0, lvl + 1);
	if (t.vlen || t.size) {   /* "struct empty {}" stays on one line */
		fputc('\n', d->f);
		tabs(d->f, lvl);
	}
	fputc('}', d->f);
	if (packed)
		fputs(" __attribute__((packed))", d->f);
}

static void emit_fwd(struct cdump *d, uint32_t id, const struct skep_btf_type *t)
{
	int uni = t->kind == SKEP_BTF_UNION || (t->kind == SKEP_BTF_FWD && t->kflag);
	fprintf(d->f, "%s %s;\n\n", uni ? "union" : "struct", type_name(d, id));
}

static void emit_typedef(struct cdump *d, uint32_t id, const struct skep_btf_type *t)
{
	fputs("typedef ", d->f);
	emit_decl(d, t->type, type_name(d, id), 0);
	fputs(";\n\n", d->f);
}

/* libbpf's btf_dump_emit_type: cont_id 0 at the top level, else the struct being emitted. */
static void emit(struct cdump *d, uint32_t id, uint32_t cont_id, int depth)
{
	struct skep_btf_type t;
	struct skep_btf_member m;
	if (!id || id >= d->n || depth > 512 || skep_btf_type(d->btf, id, &t))
		return;
	struct tstate *s = &d->ts[id];
	int top = cont_id == 0;
	if (s->emit == EMITTED)
		return;
	if (s->emit == EMITTING) {
		if (s->fwd_emitted)
			return;
		if (composite(t.kind) && id != cont_id && *t.name) {
			emit_fwd(d, id, &t);
			s->fwd_emitted = 1;
		} else if (t.kind == SKEP_BTF_TYPEDEF) {
			if (!blacklisted(&t))
				emit_typedef(d, id, &t);
			s->fwd_emitted = 1;
		}
		return;
	}
	switch (t.kind) {
	case SKEP_BTF_INT:
		s->emit = EMITTED;
		break;
	case SKEP_BTF_ENUM: case SKEP_BTF_ENUM64:
		if (top) {
			emit_body(d, id, 0);
			fputs(";\n\n", d->f);
		}
		s->emit = EMITTED;
		break;
	case SKEP_BTF_PTR: case SKEP_BTF_VOLATILE: case SKEP_BTF_CONST: case SKEP_BTF_RESTRICT:
	case SKEP_BTF_TYPE_TAG:
		emit(d, t.type, cont_id, depth + 1);
		break;
	case SKEP_BTF_ARRAY:
		emit(d, t.elem_type, cont_id, depth + 1);
		break;
	case SKEP_BTF_FWD:
		emit_fwd(d, id, &t);
		s->emit = EMITTED;
		break;
	case SKEP_BTF_TYPEDEF:
		s->emit = EMITTING;
		emit(d, t.type, id, depth + 1);
		if (!s->fwd_emitted && !blacklisted(&t))
			emit_typedef(d, id, &t);
		s->emit = EMITTED;
		break;
	case SKEP_BTF_STRUCT: case SKEP_BTF_UNION:
		s->emit = EMITTING;
		if (top || !*t.name) {
			uint32_t cont = *t.name ? id : cont_id;
			for (uint32_t i = 0; i < t.vlen && !skep_btf_member(d->btf, id, i, &m); i++)
				emit(d, m.type, cont, depth + 1);
		} else if (!s->fwd_emitted && id != cont_id) {
			emit_fwd(d, id, &t);
			s->fwd_emitted = 1;
		}
		if (top) {
			emit_body(d, id, 0);
			fputs(";\n\n", d->f);
			s->emit = EMITTED;
		} else {
			s->emit = NOT_EMITTED;
		}
		break;
	case SKEP_BTF_FUNC_PROTO:
		emit(d, t.type, cont_id, depth + 1);
		for (uint32_t i = 0; i < t.vlen && !skep_btf_member(d->btf, id, i, &m); i++)
			emit(d, m.type, cont_id, depth + 1);
		break;
	}
}

/* libbpf's btf_dump_mark_referenced */
static void mark_refs(struct cdump *d)
{
	for (uint32_t id = 1; id < d->n; id++) {
		struct skep_btf_type t;
		struct skep_btf_member m;
		skep_btf_type(d->btf, id, &t);
		switch (t.kind) {
		case SKEP_BTF_STRUCT: case SKEP_BTF_UNION: case SKEP_BTF_FUNC_PROTO: case SKEP_BTF_DATASEC:
			for (uint32_t i = 0; i < t.vlen && !skep_btf_member(d->btf, id, i, &m); i++)
				if (m.type < d->n)
					d->ts[m.type].referenced = 1;
			break;
		case SKEP_BTF_ARRAY:
			if (t.elem_type < d->n)
				d->ts[t.elem_type].referenced = 1;
			if (t.index_type < d->n)
				d->ts[t.index_type].referenced = 1;
			break;
		case SKEP_BTF_PTR: case SKEP_BTF_TYPEDEF: case SKEP_BTF_CONST: case SKEP_BTF_VOLATILE:
		case SKEP_BTF_RESTRICT: case SKEP_BTF_TYPE_TAG: case SKEP_BTF_VAR: case SKEP_BTF_FUNC:
		case SKEP_BTF_DECL_TAG:
			if (t.type < d->n)
				d->ts[t.type].referenced = 1;
			break;
		}
	}
}

static int dump_c(const struct skep_btf *btf, FILE *f)
{
	struct cdump d = {.btf = btf, .f = f, .n = skep_btf_type_cnt(btf)};
	d.ts = calloc(d.n + 1, sizeof *d.ts);
	d.queue = calloc(d.n + 1, sizeof *d.queue);
	d.renamed = calloc(d.n + 1, sizeof *d.renamed);
	int rc = 0;
	if (!d.ts || !d.queue || !d.renamed) {
		rc = -ENOMEM;
		goto out;
	}
	mark_refs(&d);
	fprintf(f, "#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n"
		"#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n"
		"#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n"
		"#endif\n\n");
	for (uint32_t id = 1; id < d.n; id++) {
		d.nqueue = 0;
		if (order(&d, id, 0, 0) < 0)
			fprintf(f, "/* type [%u]: unsatisfiable type cycle */\n\n", id);
		for (uint32_t i = 0; i < d.nqueue; i++)
			emit(&d, d.queue[i], 0, 0);
	}
	fprintf(f, "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n"
		"#endif /* __VMLINUX_H__ */\n");
	rc = d.oom ? -ENOMEM : 0;
out:
	for (uint32_t i = 0; d.renamed && i < d.n; i++)
		free(d.renamed[i]);
	free(d.renamed);
	free(d.ts);
	free(d.queue);
	free(d.type_names.key);
	free(d.type_names.cnt);
	free(d.ident_names.key);
	free(d.ident_names.cnt);
	return rc;
}

static void help(FILE *f)
{
	fprintf(f, USAGE "\n\n"
		"Print the BTF (type information) of an ELF object built with clang -g.\n\n"
		"  format raw   one line per type, as `bpftool btf dump file OBJ.o` (the default):\n"
		"               [1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n"
		"  format c     a C header with the object's types, as `bpftool btf dump ... format c`\n"
		"  -j, --json   raw: {\"types\": [{\"id\": 1, \"kind\": \"INT\", ...}]}; c: {\"c\": \"...\"}\n"
		"\nExit status: 0 done, 1 the object cannot be read or has no BTF, 2 bad usage.\n");
}

static int cmd_dump(int argc, char **argv, int json)
{
	const char *file = NULL, *format = "raw";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "file") && !file && i + 1 < argc)
			file = argv[++i];
		else if (!strcmp(argv[i], "format")) {
			if (i + 1 >= argc)
				return fail(json, 2, "format needs raw or c");
			format = argv[++i];
			if (strcmp(format, "raw") && strcmp(format, "c"))
				return fail(json, 2, "unknown format '%s' (raw or c)", format);
		} else if (argv[i][0] == '-' || file)
			return fail(json, 2, "unexpected argument '%s'", argv[i]);
		else
			file = argv[i];
	}
	if (!file)
		return fail(json, 2, "no object file");
	size_t len;
	char *buf = read_file(file, &len), err[512];
	if (!buf)
		return fail(json, 1, "%s: %s", file, strerror(errno));
	struct skep_btf *btf = skep_btf_parse_elf(buf, len, err, sizeof err);
	free(buf);
	if (!btf)
		return fail(json, 1, "%s: %s", file, err);
	int rc = 0;
	if (!strcmp(format, "c")) {
		if (json) {
			char *text = NULL;
			size_t tlen = 0;
			FILE *m = open_memstream(&text, &tlen);
			rc = m ? dump_c(btf, m) : -ENOMEM;
			if (m)
				fclose(m);
			if (!rc) {
				struct json j;
				json_init(&j, stdout);
				json_obj(&j, NULL);
				json_strn(&j, "c", text, tlen);
				json_end(&j);
				json_nl(&j);
			}
			free(text);
		} else {
			rc = dump_c(btf, stdout);
		}
		if (rc)
			rc = fail(json, 1, "out of memory");
	} else {
		uint32_t n = skep_btf_type_cnt(btf);
		struct json j;
		if (json) {
			json_init(&j, stdout);
			json_obj(&j, NULL);
			json_arr(&j, "types");
		}
		for (uint32_t id = 1; id < n; id++)
			dump_raw_type(btf, id, json ? &j : NULL);
		if (json) {
			json_end(&j);
			json_end(&j);
			json_nl(&j);
		}
	}
	skep_btf_free(btf);
	return rc;
}

int cmd_btf(int argc, char **argv)
{
	int json = 0, n = 0;
	char *args[64];
	for (int i = 0; i < argc && n < 63; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "-p") || !strcmp(argv[i], "--pretty"))
			json = 1;
		else
			args[n++] = argv[i];
	}
	args[n] = NULL;
	if (n < 2) {
		help(stderr);
		return 2;
	}
	if (!strcmp(args[1], "help") || !strcmp(args[1], "--help") || !strcmp(args[1], "-h")) {
		help(stdout);
		return 0;
	}
	for (int i = 2; i < n; i++)
		if (!strcmp(args[i], "--help") || !strcmp(args[i], "-h")) {
			help(stdout);
			return 0;
		}
	if (!strcmp(args[1], "dump"))
		return cmd_dump(n - 1, args + 1, json);
	return fail(json, 2, "unknown subcommand '%s'", args[1]);
}
