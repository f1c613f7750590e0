/* The CLI's JSON writer: see json.h. */
#include <inttypes.h>
#include <string.h>

#include "json.h"

void json_init(struct json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->first[0] = 1;
}

/* Comma and key before a value. */
static void member(struct json *j, const char *key)
{
	if (!(j->first[j->depth] & 1))
		fputc(',', j->f);
	j->first[j->depth] &= 0x80;   /* keep the bracket kind */
	if (key) {
		fputc('"', j->f);
		json_escape(j->f, key, strlen(key));
		fputs("\":", j->f);
	}
}

static void open_(struct json *j, const char *key, char c)
{
	member(j, key);
	fputc(c, j->f);
	if (j->depth + 1 < JSON_MAX_DEPTH)
		j->depth++;
	j->first[j->depth] = 1;
	/* remember the bracket kind in the high bit so json_end closes it right */
	j->first[j->depth] |= c == '[' ? 0x80 : 0;
}

void json_obj(struct json *j, const char *key) { open_(j, key, '{'); }
void json_arr(struct json *j, const char *key) { open_(j, key, '['); }

void json_end(struct json *j)
{
	if (j->depth == 0)
		return;
	fputc(j->first[j->depth] & 0x80 ? ']' : '}', j->f);
	j->depth--;
}

void json_escape(FILE *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		default:
			if (c < 0x20)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
	}
}

void json_strn(struct json *j, const char *key, const char *s, size_t n)
{
	member(j, key);
	fputc('"', j->f);
	json_escape(j->f, s, n);
	fputc('"', j->f);
}

void json_str(struct json *j, const char *key, const char *s)
{
	if (!s)
		json_null(j, key);
	else
		json_strn(j, key, s, strlen(s));
}

void json_u64(struct json *j, const char *key, uint64_t v) { member(j, key); fprintf(j->f, "%" PRIu64, v); }
void json_i64(struct json *j, const char *key, int64_t v) { member(j, key); fprintf(j->f, "%" PRId64, v); }
void json_f64(struct json *j, const char *key, double v) { member(j, key); fprintf(j->f, "%.6g", v); }
void json_bool(struct json *j, const char *key, int v) { member(j, key); fputs(v ? "true" : "false", j->f); }
void json_null(struct json *j, const char *key) { member(j, key); fputs("null", j->f); }
void json_raw(struct json *j, const char *key, const char *text) { member(j, key); fputs(text, j->f); }

void json_hex_bytes(struct json *j, const char *key, const void *p, size_t n)
{
	const uint8_t *b = p;
	json_arr(j, key);
	for (size_t i = 0; i < n; i++) {
		member(j, NULL);
		fprintf(j->f, "\"0x%02x\"", b[i]);
	}
	json_end(j);
}

void json_nl(struct json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
	j->first[0] = 1;
}
