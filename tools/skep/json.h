/* A small JSON writer for the CLI's -j output (bpftool's json_writer, in spirit):
 * commas and nesting are tracked for the caller, strings are escaped.
 *
 *   struct json j; json_init(&j, stdout);
 *   json_obj(&j, NULL); json_str(&j, "name", "xdp_main"); json_u64(&j, "insns", 12);
 *   json_arr(&j, "maps"); json_str(&j, NULL, "counts"); json_end(&j);
 *   json_end(&j); json_nl(&j);            // {"name":"xdp_main","insns":12,"maps":["counts"]}
 *
 * A NULL key writes a bare value (inside an array, or at top level). */
#ifndef SKEP_TOOL_JSON_H
#define SKEP_TOOL_JSON_H

#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

struct json {
	FILE *f;
	int depth;
	unsigned char first[JSON_MAX_DEPTH];  /* no member written yet at this depth */
};

void json_init(struct json *j, FILE *f);
void json_obj(struct json *j, const char *key);   /* opens {  */
void json_arr(struct json *j, const char *key);   /* opens [  */
void json_end(struct json *j);                    /* closes the innermost */
void json_str(struct json *j, const char *key, const char *s);  /* NULL s writes null */
void json_strn(struct json *j, const char *key, const char *s, size_t n);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_i64(struct json *j, const char *key, int64_t v);
void json_f64(struct json *j, const char *key, double v);
void json_bool(struct json *j, const char *key, int v);
void json_null(struct json *j, const char *key);
/* A member whose value is raw JSON text the caller already produced. */
void json_raw(struct json *j, const char *key, const char *text);
/* Hex bytes as bpftool prints them in JSON: ["0x2a","0x00",...] */
void json_hex_bytes(struct json *j, const char *key, const void *p, size_t n);
void json_nl(struct json *j);                     /* newline, flush (one object per line) */
/* Write s escaped, without quotes, to f. */
void json_escape(FILE *f, const char *s, size_t n);

#endif
