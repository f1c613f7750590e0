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

int is_elf_file(const char *path)
{
	char m[4];
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : NULL;
	int elf = f && fread(m, 1, 4, f) == 4 && !memcmp(m, "\x7f" "ELF", 4);
	if (f)
		fclose(f);
	return elf;
}

skep_object *open_object(const char *path, char *err, size_t errlen)
{
	skep_object *obj = NULL;
	if (skep_object_open_file(path, NULL, &obj))
		snprintf(err, errlen, "%s", skep_object_error(NULL));
	return obj;
}

skep_program *object_program(skep_object *obj, const char *path, const char *name, char *err, size_t errlen)
{
	skep_program *p = NULL;
	size_t count = 0, len = 0;
	char list[256] = "";
	if (name && (p = skep_object_find_program_by_name(obj, name)))
		return p;
	for (skep_program *q = skep_object_next_program(obj, NULL); q; q = skep_object_next_program(obj, q), count++) {
		if (len < sizeof list)
			len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", count ? ", " : "", skep_program_name(q));
		p = q;
	}
	if (!name && count == 1)
		return p;
	if (name)
		snprintf(err, errlen, "%s: no program '%s' (programs: %s)", path, name, count ? list : "none");
	else if (!count)
		snprintf(err, errlen, "%s: the object has no programs", path);
	else
		snprintf(err, errlen, "%s: %zu programs (%s): choose one with --prog NAME", path, count, list);
	return NULL;
}

static int read_elf_program(const char *path, const char *prog, struct skep_insn **insns, size_t *n,
			    char *err, size_t errlen)
{
	skep_object *obj = open_object(path, err, errlen);
	skep_program *p = obj ? object_program(obj, path, prog, err, errlen) : NULL;
	int rc = -1;
	if (p) {
		const struct skep_insn *in = skep_program_insns(p, n);
		if ((*insns = malloc(*n ? *n * sizeof *in : 1))) {
			memcpy(*insns, in, *n * sizeof *in);
			rc = 0;
		} else {
			snprintf(err, errlen, "%s: out of memory", path);
		}
	}
	skep_object_close(obj);
	return rc;
}

int read_program(const char *path, int sniff_text, struct skep_insn **insns, size_t *n, char *err,
		 size_t errlen)
{
	return read_program_from(path, sniff_text, NULL, insns, n, err, errlen);
}

int read_program_from(const char *path, int sniff_text, const char *prog, struct skep_insn **insns,
		      size_t *n, char *err, size_t errlen)
{
	if (strcmp(path, "-") && is_elf_file(path))
		return read_elf_program(path, prog, insns, n, err, errlen);
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
		snprintf(err, errlen, "%s: read ELF objects from a file, not standard input", path);
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

static const char *const map_types[] = {
	"unspec", "hash", "array", "prog_array", "perf_event_array", "percpu_hash", "percpu_array",
	"stack_trace", "cgroup_array", "lru_hash", "lru_percpu_hash", "lpm_trie", "array_of_maps",
	"hash_of_maps", "devmap", "sockmap", "cpumap", "xskmap", "sockhash", "cgroup_storage",
	"reuseport_sockarray", "percpu_cgroup_storage", "queue", "stack", "sk_storage",
	"devmap_hash", "struct_ops", "ringbuf", "inode_storage", "task_storage", "bloom_filter",
	"user_ringbuf", "cgrp_storage", "arena",
};

const char *prog_type_str(uint32_t t) { return skep_prog_type_str(t); }

const char *map_type_str(uint32_t t)
{
	return t < sizeof map_types / sizeof *map_types ? map_types[t] : "unknown";
}
