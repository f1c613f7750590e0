/* A bounds-checked ELF64 little-endian reader for BPF relocatable objects: header,
 * section table and names, the symbol table.  Every offset, size and index is checked
 * against the buffer before use, so a truncated or hostile file gives a message, never
 * a read out of bounds. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"

#define EM_BPF 247
#define ET_REL 1
#define SHN_LORESERVE 0xff00
#define SHN_XINDEX 0xffff
#define EHDR_SZ 64
#define SHDR_SZ 64
#define SYM_SZ 24
#define NOBITS_MAX (1ull << 30)   /* a .bss larger than this is refused */

uint32_t elf_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
uint64_t elf_u64(const uint8_t *p) { return elf_u32(p) | (uint64_t)elf_u32(p + 4) << 32; }
static uint16_t u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* [off, off + size) inside a buffer of len bytes, without overflow. */
static int in_bounds(uint64_t off, uint64_t size, size_t len)
{
	return off <= len && size <= len - off;
}

/* A NUL-terminated string at off inside section s (which must be a string table). */
static const char *sec_str(const struct elf_sec *s, uint64_t off)
{
	if (!s->data || off >= s->size)
		return NULL;
	const char *p = (const char *)s->data + off;
	return memchr(p, 0, s->size - off) ? p : NULL;
}

static int cmp_off(const void *a, const void *b)
{
	const struct elf_sec *x = *(const struct elf_sec *const *)a, *y = *(const struct elf_sec *const *)b;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* No two sections with contents share bytes, nor with the header or section table. */
static int check_overlap(struct elf_file *ef, uint64_t shoff, char *err, size_t errlen)
{
	const struct elf_sec **v = malloc((ef->nsecs + 1) * sizeof *v);
	if (!v)
		return fail(err, errlen, "out of memory");
	size_t n = 0;
	for (size_t i = 1; i < ef->nsecs; i++)
		if (ef->secs[i].data && ef->secs[i].size)
			v[n++] = &ef->secs[i];
	qsort(v, n, sizeof *v, cmp_off);
	int rc = 0;
	uint64_t tab_end = shoff + ef->nsecs * SHDR_SZ;
	for (size_t i = 0; i < n && !rc; i++) {
		const struct elf_sec *s = v[i];
		if (s->off < EHDR_SZ)
			rc = fail(err, errlen, "section '%s': offset %llu overlaps the ELF header", s->name,
				  (unsigned long long)s->off);
		else if (s->off < tab_end && shoff < s->off + s->size)
			rc = fail(err, errlen, "section '%s' (offset %llu, %llu bytes) overlaps the section header table",
				  s->name, (unsigned long long)s->off, (unsigned long long)s->size);
		else if (i + 1 < n && v[i + 1]->off < s->off + s->size)
			rc = fail(err, errlen, "sections '%s' and '%s' overlap (offsets %llu+%llu and %llu)",
				  s->name, v[i + 1]->name, (unsigned long long)s->off,
				  (unsigned long long)s->size, (unsigned long long)v[i + 1]->off);
	}
	free(v);
	return rc;
}

static int parse_symbols(struct elf_file *ef, char *err, size_t errlen)
{
	for (size_t i = 1; i < ef->nsecs; i++) {
		if (ef->secs[i].type != SHT_SYMTAB)
			continue;
		if (ef->symtab)
			return fail(err, errlen, "sections '%s' and '%s': more than one symbol table",
				    ef->secs[ef->symtab].name, ef->secs[i].name);
		ef->symtab = i;
	}
	if (!ef->symtab)
		return fail(err, errlen, "no symbol table (.symtab): not an object clang built");
	const struct elf_sec *st = &ef->secs[ef->symtab];
	if (st->entsize != SYM_SZ || st->size % SYM_SZ)
		return fail(err, errlen, "section '%s': entry size %llu and size %llu do not make 24-byte symbols",
			    st->name, (unsigned long long)st->entsize, (unsigned long long)st->size);
	if (st->link == 0 || st->link >= ef->nsecs || ef->secs[st->link].type != SHT_STRTAB)
		return fail(err, errlen, "section '%s': its string table (link %u) is not a string table section",
			    st->name, st->link);
	const struct elf_sec *strs = &ef->secs[st->link];
	ef->nsyms = st->size / SYM_SZ;
	ef->syms = calloc(ef->nsyms ? ef->nsyms : 1, sizeof *ef->syms);
	if (!ef->syms)
		return fail(err, errlen, "out of memory for %zu symbols", ef->nsyms);
	for (size_t i = 0; i < ef->nsyms; i++) {
		const uint8_t *p = st->data + i * SYM_SZ;
		struct elf_sym *s = &ef->syms[i];
		uint32_t name = elf_u32(p);
		s->name = name ? sec_str(strs, name) : "";
		if (!s->name)
			return fail(err, errlen, "symbol %zu: name offset %u is past the string table '%s' (%llu bytes)",
				    i, name, strs->name, (unsigned long long)strs->size);
		s->type = p[4] & 0xf;
		s->bind = p[4] >> 4;
		s->shndx = u16(p + 6);
		s->value = elf_u64(p + 8);
		s->size = elf_u64(p + 16);
		if (s->type == STT_SECTION && !*s->name && s->shndx < ef->nsecs)
			s->name = ef->secs[s->shndx].name;
		if (s->shndx == SHN_XINDEX)
			return fail(err, errlen, "symbol %zu '%s': extended section indexes are not supported", i, s->name);
		if (s->shndx >= ef->nsecs && s->shndx < SHN_LORESERVE)
			return fail(err, errlen, "symbol %zu '%s': section index %u is past the section table (%zu sections)",
				    i, s->name, s->shndx, ef->nsecs);
	}
	return 0;
}

int elf_parse(struct elf_file *ef, const void *buf, size_t len, char *err, size_t errlen)
{
	const uint8_t *b = buf;
	memset(ef, 0, sizeof *ef);
	ef->buf = b;
	ef->len = len;
	if (len < 4 || memcmp(b, "\x7f" "ELF", 4))
		return fail(err, errlen, "not an ELF file (no \\x7fELF magic)");
	if (len < EHDR_SZ)
		return fail(err, errlen, "truncated ELF header: %zu bytes, 64 needed", len);
	if (b[4] != 2)
		return fail(err, errlen, "ELF class %u: only 64-bit objects (ELFCLASS64) are supported", b[4]);
	if (b[5] != 1)
		return fail(err, errlen, "ELF data encoding %u: only little-endian objects are supported "
			    "(build with -target bpf or bpfel)", b[5]);
	if (u16(b + 16) != ET_REL)
		return fail(err, errlen, "ELF type %u: not a relocatable object (ET_REL)", u16(b + 16));
	if (u16(b + 18) != EM_BPF)
		return fail(err, errlen, "ELF machine %u: not a BPF object (EM_BPF, 247)", u16(b + 18));
	uint64_t shoff = elf_u64(b + 40);
	uint16_t shentsize = u16(b + 58);
	uint64_t shnum = u16(b + 60);
	uint32_t shstrndx = u16(b + 62);
	if (shentsize != SHDR_SZ)
		return fail(err, errlen, "section header size %u, 64 expected", shentsize);
	if (shoff < EHDR_SZ || !in_bounds(shoff, SHDR_SZ, len))
		return fail(err, errlen, "section header table offset %llu is past the end of the file (%zu bytes)",
			    (unsigned long long)shoff, len);
	if (shnum == 0)  /* extended numbering: the count is in section 0 */
		shnum = elf_u64(b + shoff + 32);
	if (shstrndx == SHN_XINDEX)
		shstrndx = elf_u32(b + shoff + 40);
	if (shnum == 0 || shnum > (len - shoff) / SHDR_SZ)
		return fail(err, errlen, "section header table: %llu entries at offset %llu do not fit in %zu bytes",
			    (unsigned long long)shnum, (unsigned long long)shoff, len);
	ef->nsecs = shnum;
	ef->secs = calloc(shnum, sizeof *ef->secs);
	if (!ef->secs)
		return fail(err, errlen, "out of memory");
	for (size_t i = 0; i < shnum; i++) {
		const uint8_t *p = b + shoff + i * SHDR_SZ;
		struct elf_sec *s = &ef->secs[i];
		s->name = "";
		s->type = elf_u32(p + 4);
		s->flags = elf_u64(p + 8);
		s->off = elf_u64(p + 24);
		s->size = elf_u64(p + 32);
		s->link = elf_u32(p + 40);
		s->info = elf_u32(p + 44);
		s->entsize = elf_u64(p + 56);
		if (i == 0)
			continue;
		if (s->type == SHT_NOBITS) {
			if (s->size > NOBITS_MAX)
				return fail(err, errlen, "section %zu: %llu bytes of zeroes is more than the 1 GiB allowed",
					    i, (unsigned long long)s->size);
		} else if (!in_bounds(s->off, s->size, len)) {
			return fail(err, errlen, "section %zu: offset %llu + size %llu is past the end of the file (%zu bytes)",
				    i, (unsigned long long)s->off, (unsigned long long)s->size, len);
		} else {
			s->data = b + s->off;
		}
	}
	if (shstrndx == 0 || shstrndx >= shnum || ef->secs[shstrndx].type != SHT_STRTAB)
		return fail(err, errlen, "section name table index %u is not a string table (%zu sections)",
			    shstrndx, ef->nsecs);
	for (size_t i = 1; i < shnum; i++) {
		uint32_t name = elf_u32(b + shoff + i * SHDR_SZ);
		ef->secs[i].name = sec_str(&ef->secs[shstrndx], name);
		if (!ef->secs[i].name)
			return fail(err, errlen, "section %zu: name offset %u is past the section name table", i, name);
	}
	int rc = check_overlap(ef, shoff, err, errlen);
	if (!rc)
		rc = parse_symbols(ef, err, errlen);
	if (!rc)
		for (size_t i = 1; i < shnum && !rc; i++) {
			const struct elf_sec *s = &ef->secs[i];
			if (s->type == SHT_RELA)
				rc = fail(err, errlen, "section '%s': RELA relocations are not used by BPF objects", s->name);
			if (s->type != SHT_REL)
				continue;
			if (s->entsize != 16 || s->size % 16)
				rc = fail(err, errlen, "section '%s': entry size %llu and size %llu do not make 16-byte relocations",
					  s->name, (unsigned long long)s->entsize, (unsigned long long)s->size);
			else if (s->info == 0 || s->info >= shnum)
				rc = fail(err, errlen, "section '%s': target section index %u is past the section table (%zu sections)",
					  s->name, s->info, ef->nsecs);
			else if (s->link != ef->symtab)
				rc = fail(err, errlen, "section '%s': its symbol table (link %u) is not .symtab (%zu)",
					  s->name, s->link, ef->symtab);
		}
	return rc;
}

void elf_rel(const struct elf_file *ef, size_t rs, size_t i, struct elf_rel *out)
{
	const uint8_t *p = ef->secs[rs].data + i * 16;
	uint64_t info = elf_u64(p + 8);
	out->off = elf_u64(p);
	out->sym = (uint32_t)(info >> 32);
	out->type = (uint32_t)info;
}

void elf_free(struct elf_file *ef)
{
	free(ef->secs);
	free(ef->syms);
	memset(ef, 0, sizeof *ef);
}
