/* The tokenizer of assembly text and of the optable.def templates: both go through
 * the same rules, so a template and a line written like it give the same tokens. */
#include <stdio.h>
#include <string.h>

#include "text.h"

static int is_id0(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '.'; }
static int is_id(int c) { return is_id0(c) || (c >= '0' && c <= '9'); }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_space(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }
static int hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* Longest first: "<<=" before "<=" before "<". */
static const char *const puncts[] = {
	"<<=", ">>=", "+=", "-=", "*=", "/=", "%=", "|=", "&=", "^=", "==", "!=", ">=", "<=",
	"=", "+", "-", "*", "/", "%", "&", "|", "^", "<", ">", "!", "(", ")", "[", "]", ",", ":", "#",
};

int text_lex(const char *s, const char *e, int tmpl, struct tok *out, int max, char *err,
	     size_t errsz)
{
	int n = 0;
	const char *p = s;
	while (p < e) {
		int c = (unsigned char)*p;
		if (is_space(c)) {
			p++;
			continue;
		}
		if (c == ';' || (c == '/' && p + 1 < e && p[1] == '/'))
			break;
		if (c == '#' && !(p > s && is_id((unsigned char)p[-1]) && p + 1 < e && is_digit((unsigned char)p[1])))
			break; /* a comment, unless the kernel log's "name#12" */
		if (n == max) {
			snprintf(err, errsz, "too many tokens (more than %d)", max);
			return -1;
		}
		struct tok *t = &out[n];
		memset(t, 0, sizeof *t);
		t->s = p;
		if (tmpl && c == '$' && p + 1 < e) {
			t->kind = T_HOLE;
			t->hole = p[1];
			p += 2;
			/* "r$d": the register letter glued to the hole becomes part of it */
			if ((t->hole == 'd' || t->hole == 's') && n && out[n - 1].kind == T_ID &&
			    out[n - 1].len == 1 && out[n - 1].s + 1 == t->s) {
				t = &out[--n];
				t->regc = t->s[0];
				t->kind = T_HOLE;
				t->hole = p[-1];
			}
			t->len = (uint16_t)(p - t->s);
			n++;
			continue;
		}
		if (is_id0(c)) {
			while (p < e && is_id((unsigned char)*p) && !(tmpl && *p == '$'))
				p++;
			t->kind = T_ID;
		} else if (is_digit(c)) {
			int hex = c == '0' && p + 2 < e && (p[1] == 'x' || p[1] == 'X') && hexval((unsigned char)p[2]) >= 0;
			int base = hex ? 16 : 10, big = 0;
			uint64_t v = 0;
			const char *q = p + (hex ? 2 : 0);
			for (; q < e && is_id((unsigned char)*q); q++) {
				int d = hexval((unsigned char)*q);
				if (d < 0 || d >= base) {
					while (q < e && is_id((unsigned char)*q))
						q++;
					snprintf(err, errsz, "bad number '%.*s'", (int)(q - p), p);
					return -1;
				}
				if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
					big = 1;
				v = v * (uint64_t)base + (uint64_t)d;
			}
			if (big) {
				snprintf(err, errsz, "number '%.*s' does not fit in 64 bits", (int)(q - p), p);
				return -1;
			}
			t->kind = T_NUM;
			t->hex = (uint8_t)hex;
			t->v = v;
			p = q;
		} else {
			size_t k = 0;
			for (; k < sizeof puncts / sizeof puncts[0]; k++) {
				size_t l = strlen(puncts[k]);
				if ((size_t)(e - p) >= l && !memcmp(p, puncts[k], l))
					break;
			}
			if (k == sizeof puncts / sizeof puncts[0]) {
				if (c >= 0x21 && c < 0x7f)
					snprintf(err, errsz, "unexpected character '%c'", c);
				else
					snprintf(err, errsz, "unexpected byte 0x%02x", c);
				return -1;
			}
			t->kind = T_PUNCT;
			p += strlen(puncts[k]);
		}
		if (p - t->s > 0xffff) {
			snprintf(err, errsz, "token too long");
			return -1;
		}
		t->len = (uint16_t)(p - t->s);
		n++;
	}
	return n;
}

const char *text_skip_listing(const char *s, const char *e, int *code)
{
	const char *p = s;
	*code = -1;
	while (p < e && is_space((unsigned char)*p))
		p++;
	const char *q = p;
	while (q < e && is_digit((unsigned char)*q))
		q++;
	int indexed = q > p && q < e && *q == ':';
	if (indexed)
		p = q + 1;
	int pairs = 0;
	for (const char *r = p;; pairs++) { /* raw bytes: hex digit pairs, each followed by a space */
		while (r < e && is_space((unsigned char)*r))
			r++;
		if (e - r < 3 || hexval((unsigned char)r[0]) < 0 || hexval((unsigned char)r[1]) < 0 ||
		    !is_space((unsigned char)r[2]))
			break;
		r += 2;
		q = r;
	}
	/* without an index only a whole instruction's bytes, so that nothing else is eaten */
	if (pairs && (indexed || pairs == 8 || pairs == 16))
		p = q;
	else if (!indexed)
		return s;
	while (p < e && is_space((unsigned char)*p))
		p++;
	if (e - p >= 4 && p[0] == '(' && hexval((unsigned char)p[1]) >= 0 &&
	    hexval((unsigned char)p[2]) >= 0 && p[3] == ')') {
		*code = hexval((unsigned char)p[1]) << 4 | hexval((unsigned char)p[2]);
		p += 4;
	}
	return p;
}

int text_reg(const struct tok *t, char *cls)
{
	if (t->kind != T_ID || t->len < 2 || t->len > 3 || (t->s[0] != 'r' && t->s[0] != 'w'))
		return -1;
	int v = 0;
	for (int i = 1; i < t->len; i++) {
		if (!is_digit((unsigned char)t->s[i]))
			return -1;
		v = v * 10 + (t->s[i] - '0');
	}
	if ((t->len == 3 && t->s[1] == '0') || v > 10)
		return -2;
	*cls = t->s[0];
	return v;
}
