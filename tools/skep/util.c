#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *read_file(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f)
		return NULL;
	size_t n = 0, cap = 4096;
	char *buf = malloc(cap);
	while (buf) {
		n += fread(buf + n, 1, cap - 1 - n, f);
		if (n < cap - 1)
			break;
		char *p = realloc(buf, cap *= 2);
		if (!p)
			free(buf);
		buf = p;
	}
	int bad = buf ? ferror(f) : 1, e = buf ? EIO : ENOMEM;
	if (f != stdin)
		fclose(f);
	if (bad) {
		free(buf);
		errno = e;
		return NULL;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

/* Text if named so, or if it holds no NUL and no control bytes besides whitespace:
 * real bytecode is full of zero bytes. */
static int is_text(const char *path, int sniff, const unsigned char *p, size_t n)
{
	if (ends_with(path, ".s") || ends_with(path, ".S") || ends_with(path, ".asm"))
		return 1;
	if (!sniff || !n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 && p[i] != '\n' && p[i] != '\t' && p[i] != '\r')
			return 0;
	return 1;
}

int read_program(const char *path, int sniff_text, struct skep_insn **insns, size_t *n, char *err,
		 size_t errlen)
{
	size_t len;
	char *data = read_file(path, &len);
	if (!data) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	int rc = -1;
	*insns = NULL;
	*n = 0;
	if (len >= 4 && !memcmp(data, "\x7f" "ELF", 4)) {
		snprintf(err, errlen, "%s: ELF objects are not supported yet", path);
	} else if (is_text(path, sniff_text, (const unsigned char *)data, len)) {
		struct skep_diag d;
		if (strlen(data) != len)
			snprintf(err, errlen, "%s: text with a NUL byte", path);
		else if (skep_assemble(data, insns, n, &d))
			snprintf(err, errlen, "%s: %s", path, d.msg[0] ? d.msg : "cannot assemble");
		else
			rc = 0;
	} else if (len % 8) {
		snprintf(err, errlen, "%s: %zu bytes is not a whole number of 8-byte instructions", path, len);
	} else if (!(*insns = calloc(len ? len / 8 : 1, sizeof **insns))) {
		snprintf(err, errlen, "%s: out of memory", path);
	} else {
		const unsigned char *p = (const unsigned char *)data;
		*n = len / 8;
		for (size_t i = 0; i < *n; i++, p += 8) {
			(*insns)[i].code = p[0];
			(*insns)[i].dst = p[1] & 0xf;
			(*insns)[i].src = p[1] >> 4;
			(*insns)[i].off = (int16_t)(uint16_t)(p[2] | p[3] << 8);
			(*insns)[i].imm = (int32_t)((uint32_t)p[4] | (uint32_t)p[5] << 8 |
						    (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24);
		}
		rc = 0;
	}
	free(data);
	return rc;
}
