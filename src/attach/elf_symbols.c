/* Function symbols, USDT notes and load segments of ELF64 files on disk, read with
 * every offset, size, index and string checked against the file (a truncated or
 * hostile file gives an error naming what is out of bounds, never a crash); and
 * /proc/self/maps to turn a file offset into this process's address. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "elf_symbols.h"

#define ET_EXEC 2
#define ET_DYN 3
#define PT_LOAD 1
#define PF_X 1
#define SHT_SYMTAB 2
#define SHT_NOTE 7
#define SHT_NOBITS 8
#define SHT_DYNSYM 11
#define SHT_GNU_verdef 0x6ffffffd
#define SHT_GNU_versym 0x6fffffff
#define STT_FUNC 2
#define STT_GNU_IFUNC 10
#define STB_GLOBAL 1
#define STB_WEAK 2
#define SHN_XINDEX 0xffff

struct img {
	const char *path;
	uint8_t *buf;
	size_t len;
	uint16_t type;
	uint64_t shoff, phoff;
	size_t shnum, phnum, shstrndx;
	char *err;
	size_t errlen;
};

struct shdr { uint32_t name, type, link, info; uint64_t flags, addr, off, size, align, entsize; };
struct phdr { uint32_t type, flags; uint64_t off, vaddr, filesz, memsz; };

static uint16_t u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t u32(const uint8_t *p) { return (uint32_t)u16(p) | (uint32_t)u16(p + 2) << 16; }
static uint64_t u64(const uint8_t *p) { return (uint64_t)u32(p) | (uint64_t)u32(p + 4) << 32; }

static int fail(struct img *im, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct img *im, int rc, const char *fmt, ...)
{
	if (!im->errlen)
		return rc;
	int k = snprintf(im->err, im->errlen, "%s: ", im->path);
	if (k < 0 || (size_t)k >= im->errlen)
		return rc;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(im->err + k, im->errlen - (size_t)k, fmt, ap);
	va_end(ap);
	return rc;
}

/* Whether [off, off+size) lies inside the file. */
static int in_file(const struct img *im, uint64_t off, uint64_t size)
{
	return off <= im->len && size <= im->len - off;
}

static void get_shdr(const struct img *im, size_t i, struct shdr *s)
{
	const uint8_t *p = im->buf + im->shoff + i * 64;
	*s = (struct shdr){u32(p), u32(p + 4), u32(p + 40), u32(p + 44), u64(p + 8), u64(p + 16),
			   u64(p + 24), u64(p + 32), u64(p + 48), u64(p + 56)};
}

static void get_phdr(const struct img *im, size_t i, struct phdr *h)
{
	const uint8_t *p = im->buf + im->phoff + i * 56;
	*h = (struct phdr){u32(p), u32(p + 4), u64(p + 8), u64(p + 16), u64(p + 32), u64(p + 40)};
}

/* A NUL-terminated string at off of a string section, or NULL. */
static const char *str_at(const struct img *im, const struct shdr *strs, uint64_t off)
{
	if (strs->type == SHT_NOBITS || !in_file(im, strs->off, strs->size) || off >= strs->size)
		return NULL;
	const char *s = (const char *)im->buf + strs->off + off;
	return memchr(s, 0, strs->size - off) ? s : NULL;
}

static const char *sec_name(const struct img *im, const struct shdr *s)
{
	struct shdr strs;
	if (!im->shstrndx || im->shstrndx >= im->shnum)
		return NULL;
	get_shdr(im, im->shstrndx, &strs);
	return str_at(im, &strs, s->name);
}

/* The section's bytes, or NULL with the error set. */
static const uint8_t *sec_data(struct img *im, size_t i, const struct shdr *s)
{
	if (s->type == SHT_NOBITS || !in_file(im, s->off, s->size)) {
		const char *n = sec_name(im, s);
		fail(im, -EINVAL, "section %zu '%s': offset %" PRIu64 " + %" PRIu64 " bytes is past the end of the file "
		     "(%zu bytes)", i, n ? n : "?", s->off, s->size, im->len);
		return NULL;
	}
	return im->buf + s->off;
}

static void img_close(struct img *im)
{
	free(im->buf);
	im->buf = NULL;
}

static int img_open(struct img *im, const char *path, char *err, size_t errlen)
{
	*im = (struct img){.path = path, .err = err, .errlen = errlen};
	if (errlen)
		err[0] = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(im, -errno, "%s", strerror(errno));
	struct stat st;
	if (fstat(fd, &st)) {
		int e = errno;
		close(fd);
		return fail(im, -e, "%s", strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		int e = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		close(fd);
		return fail(im, -e, e == EISDIR ? "is a directory, not an ELF file" : "not a regular file");
	}
	im->len = (size_t)st.st_size;
	im->buf = malloc(im->len ? im->len : 1);
	if (!im->buf) {
		close(fd);
		return fail(im, -ENOMEM, "out of memory reading %zu bytes", im->len);
	}
	size_t got = 0;
	while (got < im->len) {
		ssize_t r = pread(fd, im->buf + got, im->len - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = r < 0 ? errno : EIO;
			close(fd);
			img_close(im);
			return fail(im, -e, "read: %s", r < 0 ? strerror(e) : "file shrank while reading");
		}
		got += (size_t)r;
	}
	close(fd);
	const uint8_t *b = im->buf;
	int rc = 0;
	if (im->len < 4 || memcmp(b, "\177ELF", 4))
		rc = fail(im, -ENOEXEC, "not an ELF file");
	else if (im->len < 64)
		rc = fail(im, -ENOEXEC, "truncated: %zu bytes, the ELF header needs 64", im->len);
	else if (b[4] != 2)
		rc = fail(im, -ENOEXEC, "not a 64-bit ELF file (class %u)", b[4]);
	else if (b[5] != 1)
		rc = fail(im, -ENOEXEC, "not a little-endian ELF file");
	if (rc) {
		img_close(im);
		return rc;
	}
	im->type = u16(b + 16);
	im->phoff = u64(b + 32);
	im->shoff = u64(b + 40);
	uint16_t phentsize = u16(b + 54), shentsize = u16(b + 58);
	im->phnum = u16(b + 56);
	im->shnum = u16(b + 60);
	im->shstrndx = u16(b + 62);
	if (im->shoff && shentsize != 64)
		rc = fail(im, -ENOEXEC, "section headers of %u bytes (ELF64 has 64)", shentsize);
	else if (im->shoff && !in_file(im, im->shoff, 64))
		rc = fail(im, -ENOEXEC, "truncated: the section header table at offset %" PRIu64 " is past the end of "
			  "the file (%zu bytes)", im->shoff, im->len);
	if (!rc && im->shoff) {
		struct shdr s0;
		get_shdr(im, 0, &s0);
		if (!im->shnum)               /* extended numbering: the count is in section 0 */
			im->shnum = s0.size > SIZE_MAX / 64 ? SIZE_MAX / 64 : (size_t)s0.size;
		if (im->shstrndx == SHN_XINDEX)
			im->shstrndx = s0.link;
		if (!in_file(im, im->shoff, (uint64_t)im->shnum * 64))
			rc = fail(im, -ENOEXEC, "truncated: %zu section headers at offset %" PRIu64 " are past the end of "
				  "the file (%zu bytes)", im->shnum, im->shoff, im->len);
	}
	if (!im->shoff)
		im->shnum = 0;
	if (!rc && im->phnum && (phentsize != 56 || !in_file(im, im->phoff, (uint64_t)im->phnum * 56)))
		rc = fail(im, -ENOEXEC, "truncated: %zu program headers at offset %" PRIu64 " are past the end of the "
			  "file (%zu bytes)", im->phnum, im->phoff, im->len);
	if (rc)
		img_close(im);
	return rc;
}

static size_t find_sec(const struct img *im, const char *name, uint32_t type, struct shdr *out)
{
	for (size_t i = 1; i < im->shnum; i++) {
		get_shdr(im, i, out);
		const char *n = sec_name(im, out);
		if ((!type || out->type == type) && n && !strcmp(n, name))
			return i;
	}
	return 0;
}

/* A virtual address to its file offset through the PT_LOAD segment holding it (libbpf's
 * find_elf_seg: p_vaddr <= addr < p_vaddr + p_memsz); exec: 1 must be executable, 0
 * must not be, -1 either. 0, or -ENOENT / -EINVAL. */
static int vaddr_off(const struct img *im, uint64_t addr, int exec, uint64_t *off)
{
	for (size_t i = 0; i < im->phnum; i++) {
		struct phdr h;
		get_phdr(im, i, &h);
		if (h.type != PT_LOAD || addr < h.vaddr || addr - h.vaddr >= h.memsz)
			continue;
		if (exec >= 0 && !!(h.flags & PF_X) != exec)
			return -EINVAL;
		*off = addr - h.vaddr + h.off;
		return 0;
	}
	return -ENOENT;
}

/* ---- symbols */

struct symlist {
	struct elfsym *v;
	size_t n, cap;
};

static void elfsym_clear(struct elfsym *s)
{
	free(s->name);
	free(s->version);
}

void elfsym_free(struct elfsym *syms, size_t n)
{
	for (size_t i = 0; syms && i < n; i++)
		elfsym_clear(&syms[i]);
	free(syms);
}

static int sym_push(struct symlist *l, const struct elfsym *s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct elfsym *v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *s;
	return 0;
}

/* The version name of .dynsym entry i (from .gnu.version and .gnu.version_d), or NULL. */
static const char *dyn_version(struct img *im, size_t i, int *hidden)
{
	struct shdr vs = {0}, vd = {0}, vds;
	size_t vsi = 0, vdi = 0;
	for (size_t k = 1; k < im->shnum && (!vsi || !vdi); k++) {
		struct shdr s;
		get_shdr(im, k, &s);
		if (s.type == SHT_GNU_versym)
			vsi = k, vs = s;
		else if (s.type == SHT_GNU_verdef)
			vdi = k, vd = s;
	}
	if (!vsi || !vdi || !in_file(im, vs.off, vs.size) || (uint64_t)i * 2 + 2 > vs.size ||
	    !in_file(im, vd.off, vd.size) || vd.link >= im->shnum)
		return NULL;
	uint16_t ver = u16(im->buf + vs.off + i * 2);
	*hidden = !!(ver & 0x8000);
	ver &= 0x7fff;
	if (ver < 2)   /* local or global: no version */
		return NULL;
	get_shdr(im, vd.link, &vds);
	uint64_t at = 0;
	for (unsigned guard = 0; guard < 65536 && at + 20 <= vd.size; guard++) {
		const uint8_t *d = im->buf + vd.off + at;
		uint32_t aux = u32(d + 12), next = u32(d + 16);
		if (u16(d + 4) == ver && aux <= vd.size - at && at + aux + 8 <= vd.size)
			return str_at(im, &vds, u32(d + aux));
		if (!next)
			break;
		at += next;
	}
	return NULL;
}

/* The function symbols of one symbol table section. */
static int read_symtab(struct img *im, size_t si, const struct shdr *s, struct symlist *out)
{
	const uint8_t *d = sec_data(im, si, s);
	if (!d)
		return -EINVAL;
	if (s->entsize != 24 || s->link >= im->shnum)
		return fail(im, -EINVAL, "section %zu: symbol table with entries of %" PRIu64 " bytes or string table %u "
			    "(of %zu sections)", si, s->entsize, s->link, im->shnum);
	struct shdr strs;
	get_shdr(im, s->link, &strs);
	int dyn = s->type == SHT_DYNSYM;
	for (size_t i = 1; i < s->size / 24; i++) {
		const uint8_t *p = d + i * 24;
		uint8_t info = p[4], type = info & 15;
		uint16_t shndx = u16(p + 6);
		uint64_t value = u64(p + 8);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || !shndx || !value)
			continue;
		const char *name = str_at(im, &strs, u32(p));
		if (!name)
			return fail(im, -EINVAL, "section %zu: symbol %zu: name offset %u is outside its string table", si, i,
				    u32(p));
		if (!*name)
			continue;
		struct elfsym e = {.addr = value, .size = u64(p + 16), .type = type, .bind = info >> 4, .dynamic = (uint8_t)dyn};
		int hidden = 0;
		const char *ver = dyn ? dyn_version(im, i, &hidden) : NULL;
		const char *at = strchr(name, '@');     /* "name@VER" / "name@@VER" in .symtab */
		if (at) {
			hidden = at[1] != '@';
			ver = at + (hidden ? 1 : 2);
		}
		e.hidden = (uint8_t)hidden;
		e.name = at ? strndup(name, (size_t)(at - name)) : strdup(name);
		e.version = ver && *ver ? strdup(ver) : NULL;
		if (vaddr_off(im, value, -1, &e.offset)) {
			/* no segment (a relocatable file): through the symbol's section */
			struct shdr h;
			if (shndx < im->shnum) {
				get_shdr(im, shndx, &h);
				e.offset = value - h.addr + h.off;
			}
		}
		if (!e.name || (ver && *ver && !e.version) || sym_push(out, &e)) {
			elfsym_clear(&e);
			return fail(im, -ENOMEM, "out of memory");
		}
	}
	return 0;
}

static int cmp_sym(const void *a, const void *b)
{
	const struct elfsym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	/* the default version first, so merging keeps it */
	int dx = x->version && !x->hidden, dy = y->version && !y->hidden;
	if (dx != dy)
		return dy - dx;
	return y->dynamic - x->dynamic;
}

int elf_func_symbols(const char *path, struct elfsym **syms, size_t *n, char *err, size_t errlen)
{
	*syms = NULL;
	*n = 0;
	struct img im;
	int rc = img_open(&im, path, err, errlen);
	if (rc)
		return rc;
	struct symlist l = {0};
	for (size_t i = 1; !rc && i < im.shnum; i++) {
		struct shdr s;
		get_shdr(&im, i, &s);
		if (s.type == SHT_SYMTAB || s.type == SHT_DYNSYM)
			rc = read_symtab(&im, i, &s, &l);
	}
	img_close(&im);
	if (rc) {
		elfsym_free(l.v, l.n);
		return rc;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof *l.v, cmp_sym);
	/* merge duplicates: same name and address (.symtab and .dynsym, or two versions) */
	size_t k = 0;
	for (size_t i = 0; i < l.n; i++) {
		if (k && l.v[k - 1].addr == l.v[i].addr && !strcmp(l.v[k - 1].name, l.v[i].name)) {
			struct elfsym *d = &l.v[k - 1];
			d->dynamic |= l.v[i].dynamic;
			if (!d->version && l.v[i].version) {
				d->version = l.v[i].version;
				d->hidden = l.v[i].hidden;
				l.v[i].version = NULL;
			}
			if (!d->size)
				d->size = l.v[i].size;
			elfsym_clear(&l.v[i]);
			continue;
		}
		l.v[k++] = l.v[i];
	}
	*syms = l.v;
	*n = k;
	return 0;
}

/* A number: decimal, 0x hex or 0 octal, all of s. */
static int parse_u64(const char *s, uint64_t *v)
{
	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 0);
	if (errno || *end)
		return -1;
	*v = x;
	return 0;
}

int elf_resolve(const char *path, const char *spec, uint64_t *offset, uint64_t *func_size, char *err,
		size_t errlen)
{
	*offset = *func_size = 0;
	if (errlen)
		err[0] = 0;
	if (!spec || !*spec) {
		snprintf(err, errlen, "%s: empty symbol", path);
		return -EINVAL;
	}
	if (*spec >= '0' && *spec <= '9') {
		if (parse_u64(spec, offset)) {
			snprintf(err, errlen, "%s: '%s' is neither a symbol nor a file offset", path, spec);
			return -EINVAL;
		}
		return 0;
	}
	char name[256];
	uint64_t add = 0;
	const char *plus = strrchr(spec, '+');
	size_t nlen = plus ? (size_t)(plus - spec) : strlen(spec);
	if (nlen >= sizeof name || (plus && parse_u64(plus + 1, &add))) {
		snprintf(err, errlen, "%s: '%s' is not SYMBOL or SYMBOL+OFFSET", path, spec);
		return -EINVAL;
	}
	memcpy(name, spec, nlen);
	name[nlen] = 0;
	const char *want_ver = NULL;
	int want_hidden = -1;
	char *at = strchr(name, '@');
	if (at) {
		*at = 0;
		want_hidden = at[1] != '@';
		want_ver = at + (want_hidden ? 1 : 2);
	}
	struct elfsym *syms;
	size_t n;
	int rc = elf_func_symbols(path, &syms, &n, err, errlen);
	if (rc)
		return rc;
	/* rank: 3 exact version / default or unversioned; 2 global; 1 weak/local */
	const struct elfsym *best = NULL, *tie = NULL;
	int best_rank = -1;
	for (size_t i = 0; i < n; i++) {
		const struct elfsym *s = &syms[i];
		if (strcmp(s->name, name))
			continue;
		if (want_ver && (!s->version || strcmp(s->version, want_ver) || (want_hidden == 0 && s->hidden)))
			continue;
		int rank = (!s->version || !s->hidden) * 2 + (s->bind == STB_GLOBAL);
		if (rank > best_rank)
			best = s, best_rank = rank, tie = NULL;
		else if (rank == best_rank && s->addr != best->addr)
			tie = s;
	}
	if (!best) {
		snprintf(err, errlen, "%s: no function '%s'%s%s", path, name, want_ver ? " with version " : "",
			 want_ver ? want_ver : "");
		rc = -ENOENT;
	} else if (tie) {
		snprintf(err, errlen, "%s: '%s' is ambiguous: functions at 0x%" PRIx64 " and 0x%" PRIx64
			 " (name a version: %s@VERSION)", path, name, best->addr, tie->addr, name);
		rc = -EINVAL;
	} else if (best->size && add >= best->size) {
		snprintf(err, errlen, "%s: offset %" PRIu64 " is past the end of '%s' (%" PRIu64 " bytes)", path, add,
			 name, best->size);
		rc = -EINVAL;
	} else {
		*offset = best->offset + add;
		*func_size = best->size;
	}
	elfsym_free(syms, n);
	return rc;
}

/* ---- USDT notes */

void usdt_notes_free(struct usdt_note *notes, size_t n)
{
	for (size_t i = 0; notes && i < n; i++) {
		free(notes[i].provider);
		free(notes[i].name);
		free(notes[i].args);
	}
	free(notes);
}

/* One stapsdt note's description (libbpf's parse_usdt_note): three addresses, then
 * provider, name and argument strings. */
static int parse_note(struct img *im, const uint8_t *d, uint32_t len, struct usdt_note *u)
{
	if (len < 24 + 3)
		return fail(im, -EINVAL, "USDT note of %u bytes is shorter than its 24 bytes of addresses + 3 strings", len);
	u->pc = u64(d);
	uint64_t base = u64(d + 8);
	u->sema = u64(d + 16);
	const char *s = (const char *)d + 24, *end = (const char *)d + len;
	const char *str[3];
	for (int k = 0; k < 3; k++) {
		const char *z = memchr(s, 0, (size_t)(end - s));
		if (!z)
			return fail(im, -EINVAL, "USDT note at 0x%" PRIx64 ": %s string is not NUL-terminated", u->pc,
				    k == 0 ? "provider" : k == 1 ? "name" : "argument");
		str[k] = s;
		s = z + 1;
		if (k < 2 && s >= end)
			return fail(im, -EINVAL, "USDT note at 0x%" PRIx64 ": missing %s string", u->pc,
				    k == 0 ? "name" : "argument");
	}
	if (!*str[0] || !*str[1])
		return fail(im, -EINVAL, "USDT note at 0x%" PRIx64 ": empty provider or name", u->pc);
	u->provider = strdup(str[0]);
	u->name = strdup(str[1]);
	u->args = strdup(str[2]);
	if (!u->provider || !u->name || !u->args)
		return fail(im, -ENOMEM, "out of memory");
	/* the link-time base vs where .stapsdt.base is now (prelink), as libbpf */
	struct shdr b;
	if (find_sec(im, ".stapsdt.base", 0, &b) && b.addr)
		u->pc += b.addr - base;
	int rc = vaddr_off(im, u->pc, 1, &u->pc_offset);
	if (rc)
		return fail(im, -ESRCH, "USDT %s:%s at 0x%" PRIx64 ": %s", u->provider, u->name, u->pc,
			    rc == -ENOENT ? "no loadable segment holds it" : "its segment is not executable");
	if (u->sema) {
		rc = vaddr_off(im, u->sema, 0, &u->sema_offset);
		if (rc)
			return fail(im, -ESRCH, "USDT %s:%s: semaphore at 0x%" PRIx64 ": %s", u->provider, u->name, u->sema,
				    rc == -ENOENT ? "no loadable segment holds it" : "its segment is executable");
	}
	return 0;
}

int elf_usdt_notes(const char *path, struct usdt_note **notes, size_t *n, char *err, size_t errlen)
{
	*notes = NULL;
	*n = 0;
	struct img im;
	int rc = img_open(&im, path, err, errlen);
	if (rc)
		return rc;
	struct shdr s;
	size_t si = find_sec(&im, ".note.stapsdt", SHT_NOTE, &s);
	const uint8_t *d = si ? sec_data(&im, si, &s) : NULL;
	if (si && !d)
		rc = -EINVAL;
	struct usdt_note *v = NULL;
	size_t cnt = 0;
	uint64_t align = s.align == 8 ? 8 : 4;
	for (uint64_t at = 0; d && !rc && at < s.size;) {
		if (s.size - at < 12) {
			rc = fail(&im, -EINVAL, "section .note.stapsdt: note header at offset %" PRIu64 " is truncated", at);
			break;
		}
		uint32_t namesz = u32(d + at), descsz = u32(d + at + 4), type = u32(d + at + 8);
		uint64_t name_off = at + 12, desc_off = name_off + ((namesz + align - 1) & ~(align - 1));
		uint64_t next = desc_off + ((descsz + align - 1) & ~(align - 1));
		if (desc_off > s.size || descsz > s.size - desc_off) {
			rc = fail(&im, -EINVAL, "section .note.stapsdt: note at offset %" PRIu64 " (name %u bytes, "
				  "description %u bytes) is past the section's end (%" PRIu64 " bytes)", at, namesz, descsz,
				  s.size);
			break;
		}
		if (type == 3 && namesz == 8 && !memcmp(d + name_off, "stapsdt", 8)) {
			struct usdt_note *nv = realloc(v, (cnt + 1) * sizeof *nv);
			if (!nv) {
				rc = fail(&im, -ENOMEM, "out of memory");
				break;
			}
			v = nv;
			memset(&v[cnt], 0, sizeof v[cnt]);
			rc = parse_note(&im, d + desc_off, descsz, &v[cnt]);
			cnt++;
		}
		at = next;
	}
	img_close(&im);
	if (rc) {
		usdt_notes_free(v, cnt);
		return rc;
	}
	*notes = v;
	*n = cnt;
	return 0;
}

/* ---- where a file is mapped in this process */

static int same_file(const char *a, const char *b)
{
	struct stat x, y;
	return !strcmp(a, b) || (!stat(a, &x) && !stat(b, &y) && x.st_dev == y.st_dev && x.st_ino == y.st_ino);
}

int proc_map_offset(const char *binary, uint64_t offset, uint64_t *addr, char *path_out, size_t path_len,
		    char *err, size_t errlen)
{
	char exe[PATH_MAX];
	if (errlen)
		err[0] = 0;
	if (!binary) {
		ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
		if (k <= 0) {
			snprintf(err, errlen, "/proc/self/exe: %s", strerror(errno));
			return -ENOENT;
		}
		exe[k] = 0;
		binary = exe;
	}
	FILE *f = fopen("/proc/self/maps", "re");
	if (!f) {
		int e = errno;
		snprintf(err, errlen, "/proc/self/maps: %s", strerror(e));
		return -e;
	}
	int by_path = strchr(binary, '/') != NULL, found = 0, rc = -ENOENT;
	char line[PATH_MAX + 128], last[PATH_MAX] = "";
	int last_match = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long long lo, hi, pgoff;
		int pos = 0;
		char perms[8];
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &lo, &hi, perms, &pgoff, &pos) < 4 || !pos)
			continue;
		char *p = line + pos;
		p[strcspn(p, "\n")] = 0;
		if (*p != '/')
			continue;
		int match;
		if (!strcmp(p, last)) {
			match = last_match;
		} else {
			const char *base = strrchr(p, '/') + 1;
			match = by_path ? same_file(binary, p) : !strcmp(base, binary);
			snprintf(last, sizeof last, "%s", p);
			last_match = match;
		}
		if (!match)
			continue;
		if (!found)
			snprintf(path_out, path_len, "%s", p);
		found = 1;
		if (offset >= pgoff && offset - pgoff < hi - lo) {
			*addr = lo + (offset - pgoff);
			snprintf(path_out, path_len, "%s", p);
			rc = 0;
			break;
		}
	}
	fclose(f);
	if (rc && found)
		snprintf(err, errlen, "%s: file offset 0x%" PRIx64 " is not mapped in this process", binary, offset);
	else if (rc)
		snprintf(err, errlen, "%s: not mapped in this process", binary);
	return rc;
}
