/* Values by their BTF type: printing (bpftool's btf_dumper, in its text and JSON forms),
 * parsing typed values, and C declarations. See btf_print.h. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "btf_print.h"

#define MAX_DEPTH 24

/* ---- bpftool's pretty JSON writer (json_writer.c with pretty on) */
void pjson_init(struct pjson *p, FILE *f, int indent)
{
	memset(p, 0, sizeof *p);
	p->f = f;
	p->indent = indent;
}

static void p_eol(struct pjson *p) { fprintf(p->f, "\n%*s", p->indent + 4 * p->depth, ""); }

static void p_member(struct pjson *p, const char *key)
{
	if (p->sep)
		fputc(p->sep, p->f);
	p->sep = ',';
	if (key) {
		p_eol(p);
		fputc('"', p->f);
		json_escape(p->f, key, strlen(key));
		fputs("\": ", p->f);
	}
}

static void p_begin(struct pjson *p, const char *key, int c)
{
	p_member(p, key);
	fputc(c, p->f);
	if (p->depth < 63) {
		p->arrays = (p->arrays & ~(1ull << p->depth)) | (uint64_t)(c == '[') << p->depth;
		p->depth++;
	}
	p->sep = 0;
}

void pjson_obj(struct pjson *p, const char *key) { p_begin(p, key, '{'); }
void pjson_arr(struct pjson *p, const char *key) { p_begin(p, key, '['); }

void pjson_end(struct pjson *p)
{
	if (!p->depth)
		return;
	p->depth--;
	if (p->sep)
		p_eol(p);
	fputc(p->arrays >> p->depth & 1 ? ']' : '}', p->f);
	p->sep = ',';
}

void pjson_raw(struct pjson *p, const char *key, const char *text)
{
	p_member(p, key);
	fputs(text, p->f);
}

void pjson_u64(struct pjson *p, const char *key, uint64_t v)
{
	p_member(p, key);
	fprintf(p->f, "%" PRIu64, v);
}

/* ---- one walker, two writers */
struct out {
	struct json *j;      /* JSON (-j), or */
	struct pjson *p;     /* bpftool's text form */
	const struct skep_btf *btf;
};

static void o_obj(struct out *o, const char *key) { o->j ? json_obj(o->j, key) : pjson_obj(o->p, key); }
static void o_arr(struct out *o, const char *key) { o->j ? json_arr(o->j, key) : pjson_arr(o->p, key); }
static void o_end(struct out *o) { o->j ? json_end(o->j) : pjson_end(o->p); }
static void o_raw(struct out *o, const char *key, const char *t) { o->j ? json_raw(o->j, key, t) : pjson_raw(o->p, key, t); }

static void o_strn(struct out *o, const char *key, const char *s, size_t n)
{
	if (o->j) {
		json_strn(o->j, key, s, n);
		return;
	}
	p_member(o->p, key);
	fputc('"', o->p->f);
	json_escape(o->p->f, s, n);
	fputc('"', o->p->f);
}

static void o_hex(struct out *o, const char *key, const uint8_t *d, size_t n)
{
	if (o->j) {
		json_hex_bytes(o->j, key, d, n);
		return;
	}
	p_member(o->p, key);
	fputc('"', o->p->f);
	for (size_t i = 0; i < n; i++)
		fprintf(o->p->f, i ? " %02x" : "%02x", d[i]);
	fputc('"', o->p->f);
}

static uint64_t get_bits(const uint8_t *d, uint32_t off, uint32_t n)
{
	uint64_t v = 0;
	for (uint32_t i = 0; i < n && i < 64; i++, off++)
		v |= (uint64_t)(d[off / 8] >> (off % 8) & 1) << i;
	return v;
}

static int64_t sext(uint64_t v, uint32_t bits)
{
	return bits >= 64 ? (int64_t)v : (int64_t)(v << (64 - bits)) >> (64 - bits);
}

static uint32_t resolve(const struct skep_btf *btf, uint32_t id, struct skep_btf_type *t)
{
	id = skep_btf_resolve(btf, id);
	if (skep_btf_type(btf, id, t))
		memset(t, 0, sizeof *t);
	return id;
}

/* An integer of nbits at bit off (bpftool's btf_dumper_int and btf_dumper_bitfield). */
static void put_int(struct out *o, const char *key, const struct skep_btf_type *t, const uint8_t *d,
		    uint32_t off, uint32_t nbits)
{
	char buf[64];
	if (nbits > 64) {   /* __int128: bpftool prints it in hex */
		uint64_t lo = get_bits(d, off, 64), hi = get_bits(d, off + 64, nbits - 64);
		if (hi)
			snprintf(buf, sizeof buf, "0x%" PRIx64 "%016" PRIx64, hi, lo);
		else
			snprintf(buf, sizeof buf, "0x%" PRIx64, lo);
		o_strn(o, key, buf, strlen(buf));
		return;
	}
	uint64_t v = get_bits(d, off, nbits);
	if (t->kind == SKEP_BTF_INT && t->int_encoding & 4) {
		o_raw(o, key, v ? "true" : "false");
		return;
	}
	if (t->kind == SKEP_BTF_INT && t->int_encoding & 2) {
		char c = (char)v;
		if (isprint((unsigned char)c))
			o_strn(o, key, &c, 1);
		else if (o->j) {
			snprintf(buf, sizeof buf, "\"\\u00%02x\"", (unsigned char)c);
			o_raw(o, key, buf);
		} else {
			snprintf(buf, sizeof buf, "0x%x", (unsigned char)c);
			o_raw(o, key, buf);
		}
		return;
	}
	int sgn = t->kind == SKEP_BTF_INT ? (int)(t->int_encoding & 1) : t->kflag;
	if (sgn)
		snprintf(buf, sizeof buf, "%" PRId64, sext(v, nbits));
	else
		snprintf(buf, sizeof buf, "%" PRIu64, v);
	o_raw(o, key, buf);
}

/* bpftool's is_str_array: char elements (not through typedefs), a NUL before the end,
 * only printable characters before it. */
static int is_str_array(const struct skep_btf *btf, const struct skep_btf_type *a, const uint8_t *d)
{
	struct skep_btf_type e;
	uint32_t id = a->elem_type;
	for (int hops = 0; hops < 16; hops++) {
		if (skep_btf_type(btf, id, &e))
			return 0;
		if (e.kind != SKEP_BTF_CONST && e.kind != SKEP_BTF_VOLATILE && e.kind != SKEP_BTF_RESTRICT &&
		    e.kind != SKEP_BTF_TYPE_TAG)
			break;
		id = e.type;
	}
	if (!a->nelems || e.kind != SKEP_BTF_INT || e.size != 1 || (!(e.int_encoding & 2) && strcmp(e.name, "char")))
		return 0;
	for (uint32_t i = 0; i < a->nelems; i++) {
		if (!d[i])
			return 1;
		if (d[i] <= 0x1f || d[i] >= 0x7f)
			return 0;
	}
	return 0;
}

static void walk(struct out *o, const char *key, uint32_t id, const uint8_t *d, size_t size, int depth);

static void walk_members(struct out *o, uint32_t id, const struct skep_btf_type *t, const uint8_t *d,
			 size_t size, int depth)
{
	for (uint32_t i = 0; i < t->vlen; i++) {
		struct skep_btf_member m;
		if (skep_btf_member(o->btf, id, i, &m))
			break;
		size_t off = m.bit_offset / 8;
		if (m.bitfield_size) {
			struct skep_btf_type mt;
			resolve(o->btf, m.type, &mt);
			if (m.bit_offset + m.bitfield_size > size * 8 || m.bitfield_size > 64)
				o_raw(o, m.name, "null");
			else
				put_int(o, m.name, &mt, d, m.bit_offset, m.bitfield_size);
		} else {
			walk(o, m.name, m.type, d + (off < size ? off : size), off < size ? size - off : 0, depth + 1);
		}
	}
}

static void walk(struct out *o, const char *key, uint32_t id, const uint8_t *d, size_t size, int depth)
{
	struct skep_btf_type t;
	id = resolve(o->btf, id, &t);
	int64_t sz = skep_btf_type_size(o->btf, id);
	if (!id || depth > MAX_DEPTH || sz < 0 || (uint64_t)sz > size) {
		o_hex(o, key, d, size);
		return;
	}
	char buf[64];
	switch (t.kind) {
	case SKEP_BTF_INT:
		if (t.int_bits == 0 || t.int_offset + t.int_bits > t.size * 8)
			o_hex(o, key, d, t.size);
		else
			put_int(o, key, &t, d, t.int_offset, t.int_bits);
		return;
	case SKEP_BTF_ENUM: case SKEP_BTF_ENUM64: {
		if (t.size == 0 || t.size > 8) {
			o_hex(o, key, d, t.size);
			return;
		}
		int64_t v = t.kflag ? sext(get_bits(d, 0, t.size * 8), t.size * 8) : (int64_t)get_bits(d, 0, t.size * 8);
		for (uint32_t i = 0; i < t.vlen; i++) {
			struct skep_btf_member m;
			if (!skep_btf_member(o->btf, id, i, &m) &&
			    (t.size == 8 ? m.value == v : (uint64_t)m.value << (64 - t.size * 8) == (uint64_t)v << (64 - t.size * 8))) {
				o_strn(o, key, m.name, strlen(m.name));
				return;
			}
		}
		snprintf(buf, sizeof buf, "%" PRId64, v);
		o_raw(o, key, buf);
		return;
	}
	case SKEP_BTF_PTR: {
		uint64_t v = get_bits(d, 0, 64);
		if (o->j)
			snprintf(buf, sizeof buf, "%" PRIu64, v);
		else
			snprintf(buf, sizeof buf, "%p", (void *)(uintptr_t)v);   /* bpftool: %p */
		o_raw(o, key, buf);
		return;
	}
	case SKEP_BTF_FLOAT: {
		if (t.size == 4) {
			float f;
			memcpy(&f, d, 4);
			snprintf(buf, sizeof buf, "%.9g", f);
		} else if (t.size == 8) {
			double f;
			memcpy(&f, d, 8);
			snprintf(buf, sizeof buf, "%.17g", f);
		} else {
			o_hex(o, key, d, t.size);
			return;
		}
		if (strspn(buf, "-0123456789.e+") != strlen(buf))   /* inf, nan: not JSON numbers */
			o_strn(o, key, buf, strlen(buf));
		else
			o_raw(o, key, buf);
		return;
	}
	case SKEP_BTF_ARRAY: {
		if (is_str_array(o->btf, &t, d)) {
			o_strn(o, key, (const char *)d, strlen((const char *)d));
			return;
		}
		int64_t es = skep_btf_type_size(o->btf, t.elem_type);
		o_arr(o, key);
		for (uint32_t i = 0; es > 0 && i < t.nelems; i++)
			walk(o, NULL, t.elem_type, d + i * es, (size_t)es, depth + 1);
		o_end(o);
		return;
	}
	case SKEP_BTF_STRUCT: case SKEP_BTF_UNION:
		o_obj(o, key);
		walk_members(o, id, &t, d, (size_t)sz, depth);
		o_end(o);
		return;
	case SKEP_BTF_VAR:
		o_obj(o, key);
		walk(o, t.name, t.type, d, size, depth + 1);
		o_end(o);
		return;
	case SKEP_BTF_DATASEC:
		o_obj(o, key);
		o_arr(o, t.name);
		for (uint32_t i = 0; i < t.vlen; i++) {
			struct skep_btf_member m;
			if (skep_btf_member(o->btf, id, i, &m))
				break;
			if (m.offset < size && m.size <= size - m.offset)
				walk(o, NULL, m.type, d + m.offset, m.size, depth + 1);
		}
		o_end(o);
		o_end(o);
		return;
	}
	o_hex(o, key, d, (size_t)sz);
}

void btf_pjson_value(struct pjson *p, const char *key, const struct skep_btf *btf, uint32_t type_id,
		     const void *data, size_t size)
{
	struct out o = {.p = p, .btf = btf};
	if (!btf || !type_id)
		o_hex(&o, key, data, size);
	else
		walk(&o, key, type_id, data, size, 0);
}

void btf_print_value(FILE *f, const struct skep_btf *btf, uint32_t type_id, const void *data,
		     size_t size, int indent)
{
	if (!btf || !type_id) {
		for (size_t i = 0; i < size; i++)
			fprintf(f, i ? " %02x" : "%02x", ((const uint8_t *)data)[i]);
		return;
	}
	struct pjson p;
	pjson_init(&p, f, indent);
	btf_pjson_value(&p, NULL, btf, type_id, data, size);
}

void btf_json_value(struct json *j, const char *key, const struct skep_btf *btf, uint32_t type_id,
		    const void *data, size_t size)
{
	struct out o = {.j = j, .btf = btf};
	if (!btf || !type_id)
		o_hex(&o, key, data, size);
	else
		walk(&o, key, type_id, data, size, 0);
}

/* ---- parsing typed values */
struct parser {
	const char *s;
	const struct skep_btf *btf;
	char *err;
	size_t errlen;
	char path[256];
	int failed;
};

static int perr(struct parser *p, const char *fmt, ...)
{
	if (p->failed)
		return -1;
	p->failed = 1;
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (p->path[0])
		snprintf(p->err, p->errlen, "%s: %s", p->path, msg);
	else
		snprintf(p->err, p->errlen, "%s", msg);
	return -1;
}

static void ws(struct parser *p)
{
	while (isspace((unsigned char)*p->s))
		p->s++;
}

static int eat(struct parser *p, char c)
{
	ws(p);
	if (*p->s != c)
		return 0;
	p->s++;
	return 1;
}

static void near(struct parser *p, char *buf, size_t len)
{
	if (!*p->s)
		snprintf(buf, len, "the end");
	else
		snprintf(buf, len, "'%.12s'", p->s);
}

/* A string ("..." with JSON escapes) or a bare word; *quoted says which. */
static int token(struct parser *p, char *buf, size_t len, int *quoted)
{
	ws(p);
	size_t n = 0;
	*quoted = *p->s == '"';
	if (*quoted) {
		p->s++;
		for (; *p->s && *p->s != '"'; p->s++) {
			char c = *p->s;
			if (c == '\\') {
				c = *++p->s;
				switch (c) {
				case 'n': c = '\n'; break;
				case 't': c = '\t'; break;
				case 'r': c = '\r'; break;
				case '0': c = 0; break;
				case 'u': {
					unsigned v;
					if (sscanf(p->s + 1, "%4x", &v) != 1 || v > 0xff)
						return perr(p, "bad \\u escape (only \\u0000..\\u00ff)");
					c = (char)v;
					p->s += 4;
					break;
				}
				case '"': case '\\': case '/': break;
				default: return perr(p, "bad escape '\\%c'", c ? c : '0');
				}
			}
			if (n + 1 >= len)
				return perr(p, "a string longer than %zu characters does not fit", len - 2);
			buf[n++] = c;
		}
		if (*p->s != '"')
			return perr(p, "unterminated string");
		p->s++;
		buf[n] = 0;
		return (int)n;
	}
	while (*p->s && !isspace((unsigned char)*p->s) && !strchr(",:[]{}\"", *p->s)) {
		if (n + 1 >= len)
			return perr(p, "value too long");
		buf[n++] = *p->s++;
	}
	buf[n] = 0;
	if (!n) {
		char w[32];
		near(p, w, sizeof w);
		return perr(p, "expected a value at %s", w);
	}
	return (int)n;
}

static void put_bits(uint8_t *d, uint32_t off, uint32_t n, uint64_t v)
{
	for (uint32_t i = 0; i < n; i++, off++) {
		uint8_t bit = (uint8_t)(1u << (off % 8));
		if (i < 64 && (v >> i & 1))
			d[off / 8] |= bit;
		else if (i < 64 || !(v >> 63 & 1))
			d[off / 8] &= (uint8_t)~bit;
		else
			d[off / 8] |= bit;   /* sign extension past 64 bits */
	}
}

static int parse_num(struct parser *p, const char *tok, int *neg, uint64_t *v)
{
	char *end;
	errno = 0;
	*neg = tok[0] == '-';
	if (*neg) {
		long long x = strtoll(tok, &end, 0);
		*v = (uint64_t)x;
	} else {
		*v = strtoull(tok, &end, 0);
	}
	if (*end || end == tok)
		return perr(p, "'%s' is not a number", tok);
	if (errno)
		return perr(p, "%s is out of range", tok);
	return 0;
}

/* An integer (INT, ENUM, PTR; nbits at bit off of d): a number, true/false, an
 * enumerator's name, or a one-character string for a char. */
static int parse_int(struct parser *p, uint32_t id, const struct skep_btf_type *t, uint8_t *d,
		     uint32_t off, uint32_t nbits)
{
	char tok[128], tname[96];
	int quoted;
	if (token(p, tok, sizeof tok, &quoted) < 0)
		return -1;
	btf_type_name(p->btf, id, tname, sizeof tname);
	uint64_t v = 0;
	int neg = 0, found = 0;
	if (t->kind == SKEP_BTF_ENUM || t->kind == SKEP_BTF_ENUM64) {
		for (uint32_t i = 0; i < t->vlen && !found; i++) {
			struct skep_btf_member m;
			if (!skep_btf_member(p->btf, id, i, &m) && !strcmp(m.name, tok)) {
				v = (uint64_t)m.value;
				neg = m.value < 0 && t->kflag;
				found = 1;
			}
		}
	}
	if (found) {
	} else if (!strcmp(tok, "true") || !strcmp(tok, "false")) {
		v = tok[0] == 't';
	} else if (quoted && t->kind == SKEP_BTF_INT && t->size == 1 && strlen(tok) == 1) {
		v = (uint8_t)tok[0];
	} else if (quoted || !(isdigit((unsigned char)tok[0]) || tok[0] == '-' || tok[0] == '+')) {
		if (t->kind == SKEP_BTF_ENUM || t->kind == SKEP_BTF_ENUM64) {
			char names[160] = "";
			size_t n = 0;
			for (uint32_t i = 0; i < t->vlen && n + 1 < sizeof names; i++) {
				struct skep_btf_member m;
				if (!skep_btf_member(p->btf, id, i, &m))
					n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", i ? ", " : "", m.name);
			}
			return perr(p, "'%s' is not a value of %s (%s)", tok, tname, names);
		}
		return perr(p, "'%s' is not a number (%s)", tok, tname);
	} else if (parse_num(p, tok, &neg, &v)) {
		return -1;
	}
	int sgn = t->kind == SKEP_BTF_INT ? (int)(t->int_encoding & 1) : t->kind == SKEP_BTF_PTR ? 0 : t->kflag;
	if (nbits < 64) {
		/* signed types take [-2^(n-1), 2^n-1] (hex spellings of negative values), unsigned [0, 2^n-1] */
		uint64_t umax = (1ull << nbits) - 1;
		int64_t smin = -(int64_t)(1ull << (nbits - 1));
		if (neg ? !sgn || (int64_t)v < smin : v > umax)
			return perr(p, "%s does not fit in %s (%u bits, %s)", tok, tname, nbits, sgn ? "signed" : "unsigned");
	} else if (neg && !sgn) {
		return perr(p, "%s does not fit in %s (unsigned)", tok, tname);
	}
	put_bits(d, off, nbits, v);
	return 0;
}

static int parse_value(struct parser *p, uint32_t id, uint8_t *d, size_t size, int depth);

static size_t path_push(struct parser *p, const char *name, int index)
{
	size_t n = strlen(p->path);
	if (index >= 0)
		snprintf(p->path + n, sizeof p->path - n, "[%d]", index);
	else
		snprintf(p->path + n, sizeof p->path - n, "%s%s", n ? "." : "", name ? name : "");
	return n;
}

/* Member name of struct/union id at bit offset base (anonymous members searched inside). */
static int find_member(const struct skep_btf *btf, uint32_t id, const char *name, uint32_t base,
		       struct skep_btf_member *out, int depth)
{
	struct skep_btf_type t;
	id = resolve(btf, id, &t);
	if ((t.kind != SKEP_BTF_STRUCT && t.kind != SKEP_BTF_UNION) || depth > MAX_DEPTH)
		return 0;
	for (uint32_t i = 0; i < t.vlen; i++) {
		struct skep_btf_member m;
		if (skep_btf_member(btf, id, i, &m))
			return 0;
		if (!strcmp(m.name, name)) {
			*out = m;
			out->bit_offset += base;
			return 1;
		}
		if (!*m.name && find_member(btf, m.type, name, base + m.bit_offset, out, depth + 1))
			return 1;
	}
	return 0;
}

static void member_names(const struct skep_btf *btf, uint32_t id, char *buf, size_t len)
{
	struct skep_btf_type t;
	id = resolve(btf, id, &t);
	size_t n = 0;
	buf[0] = 0;
	for (uint32_t i = 0; i < t.vlen && n + 1 < len; i++) {
		struct skep_btf_member m;
		if (skep_btf_member(btf, id, i, &m))
			break;
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "", *m.name ? m.name : "(anon)");
	}
}

static int parse_member(struct parser *p, const struct skep_btf_member *m, uint8_t *d, size_t size, int depth)
{
	struct skep_btf_type mt;
	uint32_t mid = resolve(p->btf, m->type, &mt);
	if (m->bitfield_size) {
		if (m->bit_offset + m->bitfield_size > size * 8 || m->bitfield_size > 64)
			return perr(p, "bitfield past the end of the type");
		return parse_int(p, mid, &mt, d, m->bit_offset, m->bitfield_size);
	}
	size_t off = m->bit_offset / 8;
	if (off > size)
		return perr(p, "member past the end of the type");
	return parse_value(p, m->type, d + off, size - off, depth + 1);
}

static int parse_struct(struct parser *p, uint32_t id, const struct skep_btf_type *t, uint8_t *d, size_t size,
			int depth)
{
	char key[128];
	int quoted;
	if (!eat(p, '{')) {
		char w[32], tname[96];
		near(p, w, sizeof w);
		btf_type_name(p->btf, id, tname, sizeof tname);
		return perr(p, "expected '{' for %s at %s", tname, w);
	}
	if (eat(p, '}'))
		return 0;
	do {
		if (token(p, key, sizeof key, &quoted) < 0)
			return -1;
		if (!eat(p, ':'))
			return perr(p, "expected ':' after '%s'", key);
		size_t n = path_push(p, key, -1);
		if (t->kind == SKEP_BTF_DATASEC) {
			/* a variable by name, or bpftool's dump form {".data": [{"var": v}, ...]} */
			if (!strcmp(key, t->name)) {
				if (!eat(p, '['))
					return perr(p, "expected '['");
				p->path[n] = 0;
				if (!eat(p, ']')) {
					do {
						if (parse_struct(p, id, t, d, size, depth + 1))
							return -1;
					} while (eat(p, ','));
					if (!eat(p, ']'))
						return perr(p, "expected ']'");
				}
				continue;
			}
			uint32_t i;
			struct skep_btf_member m;
			for (i = 0; i < t->vlen; i++)
				if (!skep_btf_member(p->btf, id, i, &m) && !strcmp(m.name, key))
					break;
			if (i == t->vlen)
				return perr(p, "no variable '%s' in %s", key, t->name);
			if (m.offset > size || m.size > size - m.offset)
				return perr(p, "variable past the end of the section");
			if (parse_value(p, m.type, d + m.offset, m.size, depth + 1))
				return -1;
		} else {
			struct skep_btf_member m;
			if (!find_member(p->btf, id, key, 0, &m, 0)) {
				char names[200], tname[96];
				p->path[n] = 0;
				member_names(p->btf, id, names, sizeof names);
				btf_type_name(p->btf, id, tname, sizeof tname);
				return perr(p, "no member '%s' in %s (members: %s)", key, tname, names);
			}
			if (parse_member(p, &m, d, size, depth))
				return -1;
		}
		p->path[n] = 0;
	} while (eat(p, ','));
	if (!eat(p, '}')) {
		char w[32];
		near(p, w, sizeof w);
		return perr(p, "expected ',' or '}' at %s", w);
	}
	return 0;
}

static int parse_value(struct parser *p, uint32_t id, uint8_t *d, size_t size, int depth)
{
	struct skep_btf_type t;
	uint32_t rid = resolve(p->btf, id, &t);
	int64_t sz = skep_btf_type_size(p->btf, rid);
	char tname[96];
	btf_type_name(p->btf, id, tname, sizeof tname);
	if (depth > MAX_DEPTH)
		return perr(p, "nested too deeply");
	if (!rid || sz < 0)
		return perr(p, "type %s has no size", tname);
	if ((uint64_t)sz > size)
		return perr(p, "type %s (%lld bytes) does not fit in %zu bytes", tname, (long long)sz, size);
	switch (t.kind) {
	case SKEP_BTF_INT:
		if (t.int_bits == 0 || t.int_bits > 64 || t.int_offset + t.int_bits > t.size * 8)
			return perr(p, "cannot parse a %u-bit integer", t.int_bits);
		return parse_int(p, rid, &t, d, t.int_offset, t.int_bits);
	case SKEP_BTF_ENUM: case SKEP_BTF_ENUM64: case SKEP_BTF_PTR:
		if (sz == 0 || sz > 8)
			return perr(p, "cannot parse a %lld-byte %s", (long long)sz, tname);
		return parse_int(p, rid, &t, d, 0, (uint32_t)sz * 8);
	case SKEP_BTF_FLOAT: {
		char tok[64], *end;
		int quoted;
		if (token(p, tok, sizeof tok, &quoted) < 0)
			return -1;
		double v = strtod(tok, &end);
		if (*end || end == tok || quoted)
			return perr(p, "'%s' is not a number", tok);
		if (t.size == 4) {
			float f = (float)v;
			memcpy(d, &f, 4);
		} else if (t.size == 8) {
			memcpy(d, &v, 8);
		} else {
			return perr(p, "cannot parse a %u-byte float", t.size);
		}
		return 0;
	}
	case SKEP_BTF_ARRAY: {
		int64_t es = skep_btf_type_size(p->btf, t.elem_type);
		struct skep_btf_type et;
		resolve(p->btf, t.elem_type, &et);
		ws(p);
		if (*p->s == '"' && es == 1 && et.kind == SKEP_BTF_INT) {
			size_t cap = (size_t)t.nelems + 2;
			char *buf = malloc(cap);
			int quoted;
			if (!buf)
				return perr(p, "out of memory");
			int n = token(p, buf, cap, &quoted);
			if (n >= 0 && (uint32_t)n > t.nelems)
				n = perr(p, "a string of %d characters does not fit in %s", n, tname);
			if (n > 0)
				memcpy(d, buf, (size_t)n);
			free(buf);
			return n < 0 ? -1 : 0;
		}
		if (!eat(p, '[')) {
			char w[32];
			near(p, w, sizeof w);
			return perr(p, "expected '[' for %s at %s", tname, w);
		}
		if (eat(p, ']'))
			return 0;
		uint32_t i = 0;
		do {
			if (i >= t.nelems)
				return perr(p, "more than %u elements for %s", t.nelems, tname);
			size_t n = path_push(p, NULL, (int)i);
			if (es <= 0 || parse_value(p, t.elem_type, d + i * es, (size_t)es, depth + 1))
				return es <= 0 ? perr(p, "elements without size") : -1;
			p->path[n] = 0;
			i++;
		} while (eat(p, ','));
		if (!eat(p, ']')) {
			char w[32];
			near(p, w, sizeof w);
			return perr(p, "expected ',' or ']' at %s", w);
		}
		return 0;
	}
	case SKEP_BTF_STRUCT: case SKEP_BTF_UNION: case SKEP_BTF_DATASEC:
		return parse_struct(p, rid, &t, d, (size_t)sz, depth);
	case SKEP_BTF_VAR:
		return parse_value(p, t.type, d, size, depth + 1);
	}
	return perr(p, "cannot parse a value of type %s", tname);
}

/* Hex bytes: "0x2a 0 0 0" (any 0x: each byte in C notation, as bpftool's) or "2a 00 00 00". */
static int parse_hex(const char *text, uint8_t *out, size_t size, char *err, size_t errlen)
{
	int c_notation = strstr(text, "0x") || strstr(text, "0X");
	size_t n = 0;
	const char *s = text;
	for (;;) {
		while (isspace((unsigned char)*s) || *s == ',')
			s++;
		if (!*s)
			break;
		char *end;
		errno = 0;
		unsigned long v = strtoul(s, &end, c_notation ? 0 : 16);
		if (end == s || (*end && !isspace((unsigned char)*end) && *end != ',') || v > 0xff || errno || *s == '-') {
			int w = (int)strcspn(s, " \t\n,");
			snprintf(err, errlen, "byte %zu: '%.*s' is not a byte (0..ff)", n, w, s);
			return -1;
		}
		if (n < size)
			out[n] = (uint8_t)v;
		n++;
		s = end;
	}
	if (n != size) {
		snprintf(err, errlen, "expected %zu byte%s, got %zu", size, size == 1 ? "" : "s", n);
		return -1;
	}
	return 0;
}

int btf_parse_value(const struct skep_btf *btf, uint32_t type_id, const char *text, void *out,
		    size_t size, char *err, size_t errlen)
{
	if (!btf || !type_id)
		return parse_hex(text, out, size, err, errlen);
	memset(out, 0, size);
	struct parser p = {.s = text, .btf = btf, .err = err, .errlen = errlen};
	if (parse_value(&p, type_id, out, size, 0))
		return -1;
	ws(&p);
	if (*p.s) {
		p.path[0] = 0;
		return perr(&p, "unexpected text after the value: '%.16s'", p.s);
	}
	return 0;
}

/* ---- C declarations */
static void cat3(char *out, size_t len, const char *a, const char *b, const char *c)
{
	char tmp[512];
	size_t n = 0;
	for (const char *s[3] = {a, b, c}, **p = s; p < s + 3; p++)
		for (const char *q = *p; *q && n + 1 < sizeof tmp; q++)
			tmp[n++] = *q;
	tmp[n] = 0;
	if (len)
		snprintf(out, len, "%s", tmp);
}

static const char *quals_str(int q)
{
	static const char *s[8] = {"", "const", "volatile", "const volatile", "restrict", "const restrict",
				   "volatile restrict", "const volatile restrict"};
	return s[q & 7];
}

static void c_decl(const struct skep_btf *btf, uint32_t type_id, const char *name, char *buf, size_t len,
		   btf_name_fn fn, void *ctx);

uint32_t btf_c_declarator(const struct skep_btf *btf, uint32_t id, const char *name, char *decl,
			  size_t len, int *quals, btf_name_fn fn, void *ctx)
{
	int q = 0;
	snprintf(decl, len, "%s", name ? name : "");
	for (int hops = 0; hops < MAX_DEPTH * 2; hops++) {
		struct skep_btf_type t;
		if (!id || skep_btf_type(btf, id, &t))
			break;
		switch (t.kind) {
		case SKEP_BTF_CONST: q |= 1; id = t.type; continue;
		case SKEP_BTF_VOLATILE: q |= 2; id = t.type; continue;
		case SKEP_BTF_RESTRICT: q |= 4; id = t.type; continue;
		case SKEP_BTF_TYPE_TAG: id = t.type; continue;
		case SKEP_BTF_PTR: {
			struct skep_btf_type to;
			uint32_t tid = t.type;
			for (int h = 0; h < 16 && tid && !skep_btf_type(btf, tid, &to); h++) {
				if (to.kind != SKEP_BTF_CONST && to.kind != SKEP_BTF_VOLATILE &&
				    to.kind != SKEP_BTF_RESTRICT && to.kind != SKEP_BTF_TYPE_TAG)
					break;
				tid = to.type;
			}
			int paren = tid && !skep_btf_type(btf, tid, &to) &&
				    (to.kind == SKEP_BTF_ARRAY || to.kind == SKEP_BTF_FUNC_PROTO);
			char mid[512];
			/* libbpf's spacing: "* const p", and "* (" before a parenthesised declarator */
			snprintf(mid, sizeof mid, "*%s%s%s%s", q ? " " : "", quals_str(q), (q && *decl) || *decl == '(' ? " " : "", decl);
			if (paren)
				cat3(decl, len, "(", mid, ")");
			else
				snprintf(decl, len, "%s", mid);
			q = 0;
			id = t.type;
			continue;
		}
		case SKEP_BTF_ARRAY: {
			char n[16];
			snprintf(n, sizeof n, "[%u]", t.nelems);
			cat3(decl, len, decl, n, "");
			id = t.elem_type;
			continue;
		}
		case SKEP_BTF_FUNC_PROTO: {
			char params[512] = "";
			size_t n = 0;
			struct skep_btf_member p0;
			int no_args = t.vlen == 1 && !skep_btf_member(btf, id, 0, &p0) && !p0.type;
			for (uint32_t i = 0; i < t.vlen && n + 1 < sizeof params; i++) {
				struct skep_btf_member m;
				char pd[256];
				if (skep_btf_member(btf, id, i, &m))
					break;
				if (!m.type && i == t.vlen - 1)
					snprintf(pd, sizeof pd, "...");
				else
					c_decl(btf, m.type, m.name, pd, sizeof pd, fn, ctx);
				n += (size_t)snprintf(params + n, sizeof params - n, "%s%s", i ? ", " : "", pd);
			}
			char args[520];
			/* no parameters, or clang's single void one: (void), as newer libbpf */
			snprintf(args, sizeof args, "(%s)", t.vlen && (t.vlen > 1 || !no_args) ? params : "void");
			cat3(decl, len, decl, args, "");
			q = 0;
			id = t.type;
			continue;
		}
		}
		break;
	}
	*quals = q;
	return id;
}

static void base_name(const struct skep_btf *btf, uint32_t id, char *buf, size_t len, btf_name_fn fn,
		      void *ctx)
{
	struct skep_btf_type t;
	if (!id || skep_btf_type(btf, id, &t)) {
		snprintf(buf, len, id ? "<type %u>" : "void", id);
		return;
	}
	const char *kw = "", *name = *t.name && fn ? fn(ctx, id) : t.name;
	switch (t.kind) {
	case SKEP_BTF_STRUCT: kw = "struct"; break;
	case SKEP_BTF_UNION: kw = "union"; break;
	case SKEP_BTF_ENUM: case SKEP_BTF_ENUM64: kw = "enum"; break;
	case SKEP_BTF_FWD: kw = t.kflag ? "union" : "struct"; break;
	}
	if (*kw)
		snprintf(buf, len, "%s %s", kw, *name ? name : "{...}");
	else
		snprintf(buf, len, "%s", *name ? name : "(anon)");
}

static void c_decl(const struct skep_btf *btf, uint32_t type_id, const char *name, char *buf, size_t len,
		   btf_name_fn fn, void *ctx)
{
	char decl[512], base[128];
	int q;
	uint32_t id = btf_c_declarator(btf, type_id, name, decl, sizeof decl, &q, fn, ctx);
	base_name(btf, id, base, sizeof base, fn, ctx);
	snprintf(buf, len, "%s%s%s%s%s", quals_str(q), q ? " " : "", base, *decl && *decl != '[' ? " " : "", decl);
}

void btf_c_base_name(const struct skep_btf *btf, uint32_t id, char *buf, size_t len, btf_name_fn fn, void *ctx)
{
	base_name(btf, id, buf, len, fn, ctx);
}

void btf_c_decl(const struct skep_btf *btf, uint32_t type_id, const char *name, char *buf, size_t len)
{
	c_decl(btf, type_id, name, buf, len, NULL, NULL);
}

void btf_type_name(const struct skep_btf *btf, uint32_t type_id, char *buf, size_t len)
{
	c_decl(btf, type_id, NULL, buf, len, NULL, NULL);
}
