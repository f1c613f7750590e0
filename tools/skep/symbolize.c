/* skep trace: call sites as "func+0x1a (path)", as bcc and bpftrace print user stacks.
 *
 * An address belongs to a process of the traced tree, which may be gone by the time the
 * maps are printed (the final dump comes after CMD exits). So the text of /proc/PID/maps
 * is captured while the processes live (right after exec, at every poll of the session,
 * when an agent reports in) and the last non-empty one per pid is kept; an address is
 * looked up in those, CMD's own process first. The mapped file's function symbols
 * (.symtab and .dynsym, elf_func_symbols) are read once per file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach/elf_symbols.h"
#include "trace.h"

#define MAX_PIDS 64
#define MAX_FILES 64

static struct {
	int pid;
	char *maps;   /* the last non-empty /proc/PID/maps text */
} procs[MAX_PIDS];
static int nprocs;

static struct {
	char *path;
	struct elfsym *syms;  /* NULL: not an ELF file we can read */
	size_t n;
} files[MAX_FILES];
static int nfiles;

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0, len = 0, n;
	do {
		if (len + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 16384);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		len += n = fread(buf + len, 1, cap - len - 1, f);
	} while (n > 0);
	fclose(f);
	if (!len) {   /* a zombie's maps are empty: keep what we had */
		free(buf);
		return NULL;
	}
	buf[len] = 0;
	return buf;
}

void sym_capture(int pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/maps", pid);
	char *text = slurp(path);
	if (!text)
		return;
	int i = 0;
	while (i < nprocs && procs[i].pid != pid)
		i++;
	if (i == nprocs) {
		if (nprocs == MAX_PIDS) {   /* full: forget the oldest descendant, never CMD (slot 0) */
			free(procs[1].maps);
			memmove(procs + 1, procs + 2, (MAX_PIDS - 2) * sizeof procs[0]);
			i = MAX_PIDS - 1;
		} else {
			nprocs++;
		}
		procs[i].pid = pid;
		procs[i].maps = NULL;
	}
	free(procs[i].maps);
	procs[i].maps = text;
}

static const struct elfsym *file_syms(const char *path, size_t *n)
{
	int i = 0;
	while (i < nfiles && strcmp(files[i].path, path))
		i++;
	if (i == nfiles) {
		if (nfiles == MAX_FILES)
			return NULL;
		char err[256];
		files[i].path = strdup(path);
		if (!files[i].path || elf_func_symbols(path, &files[i].syms, &files[i].n, err, sizeof err) < 0) {
			files[i].syms = NULL;
			files[i].n = 0;
		}
		if (!files[i].path)
			return NULL;
		nfiles++;
	}
	*n = files[i].n;
	return files[i].syms;
}

/* The function of file holding file offset off: the symbol starting last at or before it
 * that still covers it (a symbol of size 0 covers up to the next one). */
static const struct elfsym *func_at(const struct elfsym *s, size_t n, uint64_t off)
{
	const struct elfsym *best = NULL;
	for (size_t i = 0; i < n; i++)
		if (s[i].offset <= off && (!best || s[i].offset > best->offset || (s[i].offset == best->offset &&
		    s[i].size > best->size)))
			best = &s[i];
	if (best && best->size && off >= best->offset + best->size)
		return NULL;
	return best;
}

/* addr in one maps text: 1 with path and file offset filled, else 0 */
static int in_maps(const char *text, uint64_t addr, char *path, size_t len, uint64_t *off)
{
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		unsigned long long lo, hi, foff;
		char perms[8];
		int at = 0;
		if (sscanf(l, "%llx-%llx %7s %llx %*s %*s %n", &lo, &hi, perms, &foff, &at) < 4 || !at)
			continue;
		if (addr < lo || addr >= hi || l[at] != '/')
			continue;
		size_t n = strcspn(l + at, "\n");
		static const char del[] = " (deleted)";
		if (n > sizeof del - 1 && !strncmp(l + at + n - (sizeof del - 1), del, sizeof del - 1))
			n -= sizeof del - 1;
		if (n >= len)
			return 0;
		memcpy(path, l + at, n);
		path[n] = 0;
		*off = addr - lo + foff;
		return 1;
	}
	return 0;
}

int sym_format(uint64_t addr, char *buf, size_t len)
{
	char path[4096];
	uint64_t off = 0;
	int i = 0;
	while (i < nprocs && !in_maps(procs[i].maps, addr, path, sizeof path, &off))
		i++;
	if (i == nprocs)
		return -1;
	size_t n = 0;
	const struct elfsym *s = file_syms(path, &n);
	const struct elfsym *f = s ? func_at(s, n, off) : NULL;
	if (f)
		snprintf(buf, len, "%s+0x%llx (%s)", f->name, (unsigned long long)(off - f->offset), path);
	else
		snprintf(buf, len, "0x%llx (%s)", (unsigned long long)addr, path);
	return 0;
}

int sym_is_site_name(const char *name)
{
	static const char *const words[] = {"ip", "ips", "pc", "pcs", "site", "sites", "caller", "callers",
					     "addr", "addrs"};
	const char *w = strrchr(name, '_');
	w = w ? w + 1 : name;
	for (size_t i = 0; i < sizeof words / sizeof *words; i++)
		if (!strcmp(w, words[i]))
			return 1;
	return 0;
}

void sym_free(void)
{
	for (int i = 0; i < nprocs; i++)
		free(procs[i].maps);
	for (int i = 0; i < nfiles; i++) {
		if (files[i].syms)
			elfsym_free(files[i].syms, files[i].n);
		free(files[i].path);
	}
	nprocs = nfiles = 0;
}
