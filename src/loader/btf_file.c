/* The BTF of an ELF object alone (skep_btf_parse_elf), or a raw BTF file: for tools that
 * print types of objects the loader refuses (externs, CO-RE relocations). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/loader.h"

static struct skep_btf *parse(const void *data, size_t size, char *err, size_t errlen)
{
	struct skep_btf *btf = calloc(1, sizeof *btf);
	if (!btf) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
	} else if (btf_parse(btf, data, size, err, errlen)) {
		btf_free(btf);   /* what a failed parse allocated */
		free(btf);
		btf = NULL;
		errno = EINVAL;
	}
	return btf;
}

struct skep_btf *skep_btf_parse_elf(const void *buf, size_t len, char *err, size_t errlen)
{
	const uint8_t *b = buf;
	if (len >= 2 && b[0] == 0x9f && b[1] == 0xeb)   /* raw BTF, as /sys/kernel/btf/vmlinux */
		return parse(buf, len, err, errlen);
	struct elf_file ef;
	if (elf_parse(&ef, buf, len, err, errlen)) {
		errno = EINVAL;
		return NULL;
	}
	const struct elf_sec *s = NULL;
	for (size_t i = 0; i < ef.nsecs && !s; i++)
		if (ef.secs[i].name && !strcmp(ef.secs[i].name, ".BTF") && ef.secs[i].data)
			s = &ef.secs[i];
	struct skep_btf *btf = NULL;
	if (!s) {
		snprintf(err, errlen, "no .BTF section (build with clang -g)");
		errno = ENOENT;
	} else {
		btf = parse(s->data, s->size, err, errlen);
	}
	elf_free(&ef);
	return btf;
}

void skep_btf_free(struct skep_btf *btf)
{
	if (btf) {
		btf_free(btf);
		free(btf);
	}
}

/* libbpf's btf_fixup_datasec: clang leaves a DATASEC's size and its global variables'
 * offsets 0 in a relocatable object; the ELF section and symbols have them.  (Variables
 * keep their BTF order.)  DATASECs without a section (.kconfig, .ksyms) are left. */
void btf_fixup_datasec(struct skep_btf *btf, const struct elf_file *ef)
{
	for (uint32_t id = 1; id < btf->ntypes; id++) {
		struct skep_btf_type t;
		if (skep_btf_type(btf, id, &t) || t.kind != SKEP_BTF_DATASEC)
			continue;
		size_t sec = 0;
		for (size_t i = 1; i < ef->nsecs && !sec; i++)
			if (ef->secs[i].name && !strcmp(ef->secs[i].name, t.name))
				sec = i;
		if (!sec || ef->secs[sec].size > UINT32_MAX)
			continue;
		uint8_t *rec = (uint8_t *)btf->type[id];   /* inside btf->raw, our own copy */
		uint32_t size = (uint32_t)ef->secs[sec].size;
		memcpy(rec + 8, &size, 4);   /* little-endian host, as elf_u32 reads */
		for (uint32_t i = 0; i < t.vlen; i++) {
			struct skep_btf_member v;
			if (skep_btf_member(btf, id, i, &v) || !*v.name)
				continue;
			for (size_t k = 1; k < ef->nsyms; k++) {
				const struct elf_sym *y = &ef->syms[k];
				if (y->shndx == sec && y->type == STT_OBJECT && !strcmp(y->name, v.name) &&
				    y->value <= UINT32_MAX) {
					uint32_t off = (uint32_t)y->value;
					memcpy(rec + 12 + 12 * i + 4, &off, 4);
					break;
				}
			}
		}
	}
}
