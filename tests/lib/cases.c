/* The *.case parser: sections introduced by "-- name" lines, see tests/cases/README.md. */
#include "cases.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum sec { S_ASM, S_RAW, S_MEM, S_MEMRO, S_RESULT, S_MEMOUT, S_ERROR, S_FAULT, S_KERNEL, S__COUNT };
static const char *const sec_name[S__COUNT] = {"asm", "raw", "mem", "mem-ro", "result", "mem-out",
					       "error", "fault", "kernel"};

struct section {
	int present;
	int line;       /* line of the "-- name" header */
	char *text;     /* lines after the header, '\n'-terminated, owned */
	size_t len;
};

static int fail(char *err, size_t errlen, const char *path, int line, const char *fmt, ...)
{
	if (err && errlen) {
		int k = line ? snprintf(err, errlen, "%s:%d: ", path, line) : snprintf(err, errlen, "%s: ", path);
		if (k < 0 || (size_t)k >= errlen)
			k = 0;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (n + 1 < cap)
			break;
		char *nb = realloc(buf, cap *= 2);
		if (!nb) {
			free(buf);
			buf = NULL;
		}
		buf = nb;
	}
	int bad = ferror(f);
	fclose(f);
	if (!buf || bad) {
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

static int append(struct section *s, const char *line, size_t n)
{
	char *t = realloc(s->text, s->len + n + 2);
	if (!t)
		return -ENOMEM;
	memcpy(t + s->len, line, n);
	s->len += n;
	t[s->len++] = '\n';
	t[s->len] = 0;
	s->text = t;
	return 0;
}

/* "-- name" (trailing blanks allowed): the section, -1 for a header with an unknown
 * name, -2 for a line that is not a header. */
static int header(const char *line, size_t n, const char **name, size_t *namelen)
{
	if (n < 3 || line[0] != '-' || line[1] != '-' || line[2] != ' ')
		return -2;
	size_t a = 3, b = n;
	while (a < b && isspace((unsigned char)line[a])) a++;
	while (b > a && isspace((unsigned char)line[b - 1])) b--;
	*name = line + a;
	*namelen = b - a;
	for (int s = 0; s < S__COUNT; s++)
		if (strlen(sec_name[s]) == b - a && !memcmp(sec_name[s], line + a, b - a))
			return s;
	return -1;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9') return ch - '0';
	if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
	return -1;
}

/* Hex bytes, whitespace ignored, '#' to end of line is a comment. */
static int parse_hex(const struct section *s, const char *what, const char *path, uint8_t **out,
		     size_t *n, char *err, size_t errlen)
{
	uint8_t *buf = malloc(s->len / 2 + 1);
	if (!buf)
		return -ENOMEM;
	size_t k = 0;
	int line = s->line + 1, half = -1, comment = 0;
	for (const char *p = s->text; *p; p++) {
		if (*p == '\n') {
			line++;
			comment = 0;
			continue;
		}
		if (comment || isspace((unsigned char)*p))
			continue;
		if (*p == '#') {
			comment = 1;
			continue;
		}
		int v = hexval((unsigned char)*p);
		if (v < 0) {
			free(buf);
			return fail(err, errlen, path, line, "'%c' is not a hex digit in -- %s", *p, what);
		}
		if (half < 0) {
			half = v;
		} else {
			buf[k++] = (uint8_t)(half << 4 | v);
			half = -1;
		}
	}
	if (half >= 0) {
		free(buf);
		return fail(err, errlen, path, s->line, "odd number of hex digits in -- %s", what);
	}
	*out = buf;
	*n = k;
	return 0;
}

/* The section's one non-blank line, trimmed ('#' comments allowed when comments). */
static int one_line(const struct section *s, const char *path, int comments, char **out,
		    char *err, size_t errlen)
{
	const char *p = s->text, *found = NULL;
	size_t flen = 0;
	int line = s->line;
	while (p && *p) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		line++;
		size_t a = 0, b = n;
		if (comments) {
			const char *h = memchr(p, '#', n);
			if (h)
				b = (size_t)(h - p);
		}
		while (a < b && isspace((unsigned char)p[a])) a++;
		while (b > a && isspace((unsigned char)p[b - 1])) b--;
		if (b > a) {
			if (found)
				return fail(err, errlen, path, line, "expected a single line of text");
			found = p + a;
			flen = b - a;
		}
		p = e ? e + 1 : NULL;
	}
	if (!found)
		return fail(err, errlen, path, s->line, "empty section");
	*out = strndup(found, flen);
	return *out ? 0 : -ENOMEM;
}

static int parse_number(const char *text, uint64_t *v)
{
	const char *p = text;
	int neg = *p == '-';
	if (neg || *p == '+')
		p++;
	if (!isdigit((unsigned char)*p))
		return -1;
	errno = 0;
	char *end;
	unsigned long long u = strtoull(p, &end, 0);
	if (errno || *end)
		return -1;
	if (neg && u > (unsigned long long)INT64_MAX + 1)
		return -1;
	*v = neg ? (uint64_t)0 - u : u;
	return 0;
}

static int interpret(struct section *sec, const char *path, struct test_case *c, char *err,
		     size_t errlen)
{
	int r;
	if (sec[S_ASM].present == sec[S_RAW].present)
		return fail(err, errlen, path, 0, "needs exactly one of -- asm and -- raw");
	int outcomes = sec[S_RESULT].present + sec[S_ERROR].present + sec[S_FAULT].present;
	if (outcomes != 1)
		return fail(err, errlen, path, 0, "needs exactly one of -- result, -- error, -- fault");
	if (sec[S_MEM].present && sec[S_MEMRO].present)
		return fail(err, errlen, path, sec[S_MEMRO].line, "-- mem and -- mem-ro exclude each other");
	if (sec[S_MEMOUT].present && (!sec[S_MEM].present || !sec[S_RESULT].present))
		return fail(err, errlen, path, sec[S_MEMOUT].line, "-- mem-out needs -- mem and -- result");
	if (sec[S_ASM].present) {
		c->asm_text = strdup(sec[S_ASM].text ? sec[S_ASM].text : "");
		if (!c->asm_text)
			return -ENOMEM;
	}
	if (sec[S_RAW].present) {
		uint8_t *b;
		size_t n;
		if ((r = parse_hex(&sec[S_RAW], "raw", path, &b, &n, err, errlen)))
			return r;
		if (n % 8 || !n) {
			free(b);
			return fail(err, errlen, path, sec[S_RAW].line,
				    "-- raw has %zu bytes, not a positive multiple of 8", n);
		}
		c->nraw = n / 8;
		c->raw = calloc(c->nraw, sizeof *c->raw);
		if (!c->raw) {
			free(b);
			return -ENOMEM;
		}
		for (size_t i = 0; i < c->nraw; i++) {
			const uint8_t *q = b + 8 * i;
			c->raw[i].code = q[0];
			c->raw[i].dst = q[1] & 0xf;
			c->raw[i].src = q[1] >> 4;
			c->raw[i].off = (int16_t)(q[2] | q[3] << 8);
			c->raw[i].imm = (int32_t)((uint32_t)q[4] | (uint32_t)q[5] << 8 |
						  (uint32_t)q[6] << 16 | (uint32_t)q[7] << 24);
		}
		free(b);
	}
	for (int s = S_MEM; s <= S_MEMRO; s++) {
		if (!sec[s].present)
			continue;
		if ((r = parse_hex(&sec[s], sec_name[s], path, &c->mem, &c->mem_len, err, errlen)))
			return r;
		c->has_mem = 1;
		c->mem_readonly = s == S_MEMRO;
	}
	if (sec[S_MEMOUT].present) {
		if ((r = parse_hex(&sec[S_MEMOUT], "mem-out", path, &c->mem_out, &c->mem_out_len, err, errlen)))
			return r;
		if (c->mem_out_len != c->mem_len)
			return fail(err, errlen, path, sec[S_MEMOUT].line,
				    "-- mem-out has %zu bytes but -- mem has %zu", c->mem_out_len, c->mem_len);
		c->has_mem_out = 1;
	}
	if (sec[S_RESULT].present) {
		char *t;
		if ((r = one_line(&sec[S_RESULT], path, 1, &t, err, errlen)))
			return r;
		r = parse_number(t, &c->result);
		if (r)
			fail(err, errlen, path, sec[S_RESULT].line + 1, "bad result '%s'", t);
		free(t);
		if (r)
			return -EINVAL;
		c->has_result = 1;
	}
	if (sec[S_ERROR].present && (r = one_line(&sec[S_ERROR], path, 0, &c->error, err, errlen)))
		return r;
	if (sec[S_FAULT].present && (r = one_line(&sec[S_FAULT], path, 0, &c->fault, err, errlen)))
		return r;
	if (sec[S_KERNEL].present) {
		char *t;
		if ((r = one_line(&sec[S_KERNEL], path, 1, &t, err, errlen)))
			return r;
		if (strncmp(t, "skip:", 5)) {
			fail(err, errlen, path, sec[S_KERNEL].line + 1, "-- kernel must say 'skip: <reason>'");
			free(t);
			return -EINVAL;
		}
		const char *why = t + 5;
		while (isspace((unsigned char)*why)) why++;
		c->kernel_skip = strdup(*why ? why : "no reason given");
		free(t);
		if (!c->kernel_skip)
			return -ENOMEM;
	}
	return 0;
}

int case_load(const char *path, struct test_case *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	if (err && errlen)
		err[0] = 0;
	size_t len;
	char *text = read_file(path, &len);
	if (!text) {
		int e = errno ? -errno : -EIO;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(-e));
		return e;
	}
	c->path = strdup(path);
	struct section sec[S__COUNT] = {0};
	int cur = -1, line = 0, r = c->path ? 0 : -ENOMEM;
	if (memchr(text, 0, len))
		r = fail(err, errlen, path, 0, "contains a NUL byte");
	for (char *p = text; !r && p < text + len; line++) {
		char *e = memchr(p, '\n', (size_t)(text + len - p));
		size_t n = e ? (size_t)(e - p) : (size_t)(text + len - p);
		if (n && p[n - 1] == '\r')
			n--;
		const char *name;
		size_t namelen;
		int s = header(p, n, &name, &namelen);
		if (s == -1) {
			r = fail(err, errlen, path, line + 1, "unknown section '-- %.*s'", (int)namelen, name);
		} else if (s >= 0) {
			if (sec[s].present)
				r = fail(err, errlen, path, line + 1, "section -- %s appears twice", sec_name[s]);
			sec[s].present = 1;
			sec[s].line = line + 1;
			cur = s;
		} else if (cur >= 0) {
			r = append(&sec[cur], p, n);
		} else {
			size_t a = 0;
			while (a < n && isspace((unsigned char)p[a])) a++;
			if (a < n && p[a] != '#')
				r = fail(err, errlen, path, line + 1,
					 "text before the first section (comments start with '#')");
		}
		p = e ? e + 1 : text + len;
	}
	if (!r) {
		for (int s = 0; s < S__COUNT && !r; s++)
			if (sec[s].present && !sec[s].text)
				r = append(&sec[s], "", 0);  /* present but empty */
		if (!r)
			r = interpret(sec, path, c, err, errlen);
	}
	for (int s = 0; s < S__COUNT; s++)
		free(sec[s].text);
	free(text);
	if (r)
		case_free(c);
	return r;
}

int case_insns(const struct test_case *c, struct skep_insn **out, size_t *n, char *err, size_t errlen)
{
	*out = NULL;
	*n = 0;
	if (c->raw) {
		*out = malloc(c->nraw * sizeof **out);
		if (!*out)
			return -ENOMEM;
		memcpy(*out, c->raw, c->nraw * sizeof **out);
		*n = c->nraw;
		return 0;
	}
	if (!c->asm_text) {
		if (err && errlen)
			snprintf(err, errlen, "%s: no instructions", c->path ? c->path : "?");
		return -EINVAL;
	}
	struct skep_diag d = {.where = -1};
	int r = skep_assemble(c->asm_text, out, n, &d);
	if (r) {
		*out = NULL;
		*n = 0;
		if (err && errlen)
			snprintf(err, errlen, "%s", d.msg[0] ? d.msg : strerror(-r));
	}
	return r;
}

void case_free(struct test_case *c)
{
	free(c->path);
	free(c->asm_text);
	free(c->raw);
	free(c->mem);
	free(c->mem_out);
	free(c->error);
	free(c->fault);
	free(c->kernel_skip);
	memset(c, 0, sizeof *c);
}

struct plist {
	char **v;
	size_t n, cap;
};

static int push(struct plist *l, char *s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **v = realloc(l->v, cap * sizeof *v);
		if (!v) {
			free(s);
			return -ENOMEM;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = s;
	return 0;
}

static int walk(const char *dir, struct plist *l, int depth)
{
	if (depth > 16)
		return -ELOOP;
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	int r = 0;
	struct dirent *de;
	while (!r && (de = readdir(d))) {
		const char *nm = de->d_name;
		if (nm[0] == '.')
			continue;
		char *full;
		if (asprintf(&full, "%s/%s", dir, nm) < 0) {
			r = -ENOMEM;
			break;
		}
		struct stat st;
		if (stat(full, &st)) {
			free(full);
			continue;
		}
		size_t k = strlen(nm);
		if (S_ISDIR(st.st_mode)) {
			r = walk(full, l, depth + 1);
			free(full);
		} else if (S_ISREG(st.st_mode) && k > 5 && !strcmp(nm + k - 5, ".case")) {
			r = push(l, full);
		} else {
			free(full);
		}
	}
	closedir(d);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int case_list(const char *dir, char ***paths, size_t *n)
{
	struct plist l = {0};
	int r = walk(dir, &l, 0);
	if (r) {
		case_list_free(l.v, l.n);
		*paths = NULL;
		*n = 0;
		return r;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof *l.v, cmp_str);
	*paths = l.v;
	*n = l.n;
	return 0;
}

void case_list_free(char **paths, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}
