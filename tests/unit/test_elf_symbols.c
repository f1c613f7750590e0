/* src/attach/elf_symbols.c: function symbols of ELF files on disk compared with what
 * binutils' nm prints (libc: only .dynsym; this test program: .symtab too; a stripped
 * copy of it), symbol resolution (versions, +offset, file offsets), load segments, the
 * process's mappings (the runtime address of libc's malloc), and bad files. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "attach/elf_symbols.h"

#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"

static int has(const char *s, const char *sub) { return s && strstr(s, sub) != NULL; }

__attribute__((noinline, used)) int skep_elfsym_probe_me(int x)
{
	__asm__ volatile("" : "+r"(x));
	return x * 3 + 1;
}

static const struct elfsym *find(const struct elfsym *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

/* nm's address of NAME (a versioned "malloc@@GLIBC_2.2.5" or plain name) in PATH; 0 if none. */
static uint64_t nm_addr(const char *path, int dyn, const char *name, char *line_out, size_t len)
{
	char cmd[PATH_MAX + 64], line[1024];
	snprintf(cmd, sizeof cmd, "nm %s --defined-only '%s' 2>/dev/null", dyn ? "-D" : "", path);
	FILE *f = popen(cmd, "r");
	uint64_t a = 0;
	while (f && fgets(line, sizeof line, f)) {
		char t, sym[512];
		unsigned long long v;
		if (sscanf(line, "%llx %c %511s", &v, &t, sym) != 3)
			continue;
		size_t k = strcspn(sym, "@");
		if (!strcmp(sym, name) || (!strchr(name, '@') && strlen(name) == k && !strncmp(sym, name, k))) {
			a = v;
			if (line_out)
				snprintf(line_out, len, "%s", line);
			break;
		}
	}
	if (f)
		pclose(f);
	return a;
}

/* The number of distinct (name, address) function symbols nm -D prints (T, W, i). */
static size_t nm_dyn_funcs(const char *path)
{
	char cmd[PATH_MAX + 128];
	snprintf(cmd, sizeof cmd,
		 "nm -D --defined-only '%s' | awk '$2==\"T\"||$2==\"W\"||$2==\"i\"{sub(/@.*/,\"\",$3); print $1, $3}' "
		 "| sort -u | wc -l", path);
	FILE *f = popen(cmd, "r");
	unsigned long n = 0;
	if (f) {
		if (fscanf(f, "%lu", &n) != 1)
			n = 0;
		pclose(f);
	}
	return n;
}

static void test_libc(void)
{
	struct elfsym *v;
	size_t n;
	char err[512];
	int rc = elf_func_symbols(LIBC, &v, &n, err, sizeof err);
	CHECK(rc == 0 && n > 1000, "libc function symbols", "%d %s n=%zu", rc, err, n);
	if (rc)
		return;
	const struct elfsym *m = find(v, n, "malloc");
	char line[1024] = "";
	uint64_t nm = nm_addr(LIBC, 1, "malloc", line, sizeof line);
	CHECK(m && nm && m->addr == nm && m->dynamic && m->size > 0, "libc malloc at nm -D's address",
	      "skep 0x%" PRIx64 " nm 0x%" PRIx64, m ? m->addr : 0, nm);
	CHECK(m && m->version && !strcmp(m->version, "GLIBC_2.2.5") && !m->hidden && has(line, "malloc@@GLIBC_2.2.5"),
	      "malloc version as nm -D prints it", "%s / nm: %s", m && m->version ? m->version : "none", line);
	size_t want = nm_dyn_funcs(LIBC);
	CHECK(want == n, "libc: as many (name, address) functions as nm -D", "skep %zu nm %zu", n, want);
	int sorted = 1;
	for (size_t i = 1; i < n; i++)
		sorted &= v[i - 1].addr < v[i].addr || (v[i - 1].addr == v[i].addr && strcmp(v[i - 1].name, v[i].name) < 0);
	CHECK(sorted, "sorted by address then name, no duplicates", "out of order");
	/* an ifunc */
	const struct elfsym *mc = find(v, n, "memcpy");
	CHECK(mc && mc->type == 10, "memcpy is an ifunc", "%d", mc ? mc->type : -1);
	/* a symbol with two versions at two addresses: both listed, the default one marked */
	int versions = 0;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, "pthread_cond_wait"))
			versions |= v[i].hidden ? 1 : 2;
	CHECK(versions == 3, "pthread_cond_wait: old (@) and default (@@) versions", "%d", versions);
	elfsym_free(v, n);

	uint64_t off, size;
	rc = elf_resolve(LIBC, "malloc", &off, &size, err, sizeof err);
	CHECK(rc == 0 && off == nm && size > 0, "resolve malloc", "%d %s 0x%" PRIx64, rc, err, off);
	uint64_t off2;
	rc = elf_resolve(LIBC, "malloc@@GLIBC_2.2.5", &off2, &size, err, sizeof err);
	CHECK(rc == 0 && off2 == off, "resolve malloc@@GLIBC_2.2.5", "%d %s", rc, err);
	rc = elf_resolve(LIBC, "malloc+4", &off2, &size, err, sizeof err);
	CHECK(rc == 0 && off2 == off + 4, "resolve malloc+4", "%d %s", rc, err);
	rc = elf_resolve(LIBC, "0x1234", &off2, &size, err, sizeof err);
	CHECK(rc == 0 && off2 == 0x1234 && size == 0, "resolve 0x1234", "%d %s", rc, err);
	rc = elf_resolve(LIBC, "malloc@GLIBC_9.9", &off2, &size, err, sizeof err);
	CHECK(rc == -ENOENT && has(err, "no function 'malloc' with version GLIBC_9.9"), "unknown version", "%d %s", rc, err);
	rc = elf_resolve(LIBC, "no_such_function_xyz", &off2, &size, err, sizeof err);
	CHECK(rc == -ENOENT && has(err, LIBC ": no function 'no_such_function_xyz'"), "unknown symbol", "%d %s", rc, err);
	rc = elf_resolve(LIBC, "malloc+100000", &off2, &size, err, sizeof err);
	CHECK(rc == -EINVAL && has(err, "past the end of 'malloc'"), "offset past the function", "%d %s", rc, err);
	rc = elf_resolve(LIBC, "malloc+x", &off2, &size, err, sizeof err);
	CHECK(rc == -EINVAL && has(err, "not SYMBOL or SYMBOL+OFFSET"), "bad offset", "%d %s", rc, err);
	/* pthread_cond_wait: the default version wins */
	char l2[1024] = "";
	uint64_t def = nm_addr(LIBC, 1, "pthread_cond_wait@@GLIBC_2.3.2", l2, sizeof l2);
	rc = elf_resolve(LIBC, "pthread_cond_wait", &off2, &size, err, sizeof err);
	CHECK(rc == 0 && def && off2 == def, "default version preferred", "%d %s 0x%" PRIx64 " nm 0x%" PRIx64, rc, err,
	      off2, def);

	/* the runtime address of libc's own malloc */
	void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	void *real = h ? dlvsym(h, "malloc", "GLIBC_2.2.5") : NULL;
	char path[PATH_MAX];
	uint64_t addr = 0;
	rc = proc_map_offset("libc.so.6", off, &addr, path, sizeof path, err, sizeof err);
	CHECK(rc == 0 && real && addr == (uint64_t)(uintptr_t)real && has(path, "libc.so.6"), "runtime address of malloc",
	      "%d %s 0x%" PRIx64 " vs %p", rc, err, addr, real);
	rc = proc_map_offset(LIBC, off, &addr, path, sizeof path, err, sizeof err);
	CHECK(rc == 0 && addr == (uint64_t)(uintptr_t)real, "runtime address of malloc by path", "%d %s", rc, err);
	rc = proc_map_offset("libnotthere.so.7", 0, &addr, path, sizeof path, err, sizeof err);
	CHECK(rc == -ENOENT && has(err, "libnotthere.so.7: not mapped in this process"), "unmapped library", "%d %s", rc,
	      err);
	rc = proc_map_offset("libc.so.6", 1ull << 40, &addr, path, sizeof path, err, sizeof err);
	CHECK(rc == -ENOENT && has(err, "is not mapped"), "unmapped offset", "%d %s", rc, err);
	if (h)
		dlclose(h);
}

static void test_self(const char *exe, const char *tmp)
{
	struct elfsym *v;
	size_t n;
	char err[512];
	int rc = elf_func_symbols(exe, &v, &n, err, sizeof err);
	CHECK(rc == 0, "own symbols", "%d %s", rc, err);
	if (rc)
		return;
	const struct elfsym *s = find(v, n, "skep_elfsym_probe_me");
	uint64_t nm = nm_addr(exe, 0, "skep_elfsym_probe_me", NULL, 0);
	CHECK(s && !s->dynamic && s->addr == nm && s->size > 0, ".symtab function at nm's address",
	      "0x%" PRIx64 " vs 0x%" PRIx64, s ? s->addr : 0, nm);
	elfsym_free(v, n);
	uint64_t off, size, addr;
	char path[PATH_MAX];
	rc = elf_resolve(exe, "skep_elfsym_probe_me", &off, &size, err, sizeof err);
	int rc2 = rc ? rc : proc_map_offset(NULL, off, &addr, path, sizeof path, err, sizeof err);
	CHECK(rc2 == 0 && addr == (uint64_t)(uintptr_t)skep_elfsym_probe_me, "main executable: runtime address",
	      "%d %s 0x%" PRIx64 " vs %p", rc2, err, addr, (void *)skep_elfsym_probe_me);

	/* a stripped copy: only .dynsym, which has no skep_elfsym_probe_me */
	char stripped[PATH_MAX + 32], cmd[3 * PATH_MAX];
	snprintf(stripped, sizeof stripped, "%s/stripped", tmp);
	snprintf(cmd, sizeof cmd, "strip -o '%s' '%s'", stripped, exe);
	if (system(cmd)) {
		CHECK(0, "strip a copy", "%s failed", cmd);
		return;
	}
	rc = elf_func_symbols(stripped, &v, &n, err, sizeof err);
	int all_dyn = 1;
	for (size_t i = 0; !rc && i < n; i++)
		all_dyn &= v[i].dynamic;
	CHECK(rc == 0 && all_dyn && !find(v, n, "skep_elfsym_probe_me") && n == nm_dyn_funcs(stripped),
	      "stripped: only .dynsym, as nm -D", "%d %s n=%zu nm=%zu", rc, err, n, nm_dyn_funcs(stripped));
	if (!rc)
		elfsym_free(v, n);
	rc = elf_resolve(stripped, "skep_elfsym_probe_me", &off, &size, err, sizeof err);
	CHECK(rc == -ENOENT && has(err, "no function 'skep_elfsym_probe_me'"), "stripped: symbol gone", "%d %s", rc, err);
}

static int write_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	int ok = write(fd, p, n) == (ssize_t)n;
	close(fd);
	return ok ? 0 : -1;
}

static void test_bad(const char *exe, const char *tmp)
{
	char p[PATH_MAX + 32], err[512];
	struct elfsym *v;
	struct usdt_note *u;
	size_t n;
	int rc = elf_func_symbols(tmp, &v, &n, err, sizeof err);
	CHECK(rc == -EISDIR && has(err, "is a directory"), "directory", "%d %s", rc, err);
	rc = elf_func_symbols("/nonexistent/x", &v, &n, err, sizeof err);
	CHECK(rc == -ENOENT && has(err, "/nonexistent/x: No such file"), "missing file", "%d %s", rc, err);
	snprintf(p, sizeof p, "%s/text", tmp);
	write_file(p, "hello, not an ELF file\n", 23);
	rc = elf_func_symbols(p, &v, &n, err, sizeof err);
	CHECK(rc == -ENOEXEC && has(err, "text: not an ELF file"), "not ELF", "%d %s", rc, err);
	rc = elf_usdt_notes(p, &u, &n, err, sizeof err);
	CHECK(rc == -ENOEXEC && has(err, "not an ELF file"), "usdt: not ELF", "%d %s", rc, err);
	snprintf(p, sizeof p, "%s/empty", tmp);
	write_file(p, "", 0);
	rc = elf_func_symbols(p, &v, &n, err, sizeof err);
	CHECK(rc == -ENOEXEC && has(err, "not an ELF file"), "empty file", "%d %s", rc, err);
	/* truncated copies of the test program */
	size_t len;
	FILE *f = fopen(exe, "rb");
	uint8_t *buf = NULL;
	if (f && !fseek(f, 0, SEEK_END) && (len = (size_t)ftell(f)) > 0 && !fseek(f, 0, SEEK_SET) &&
	    (buf = malloc(len)) && fread(buf, 1, len, f) == len) {
		static const size_t cuts[] = {20, 63, 64, 1000};
		for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
			snprintf(p, sizeof p, "%s/trunc%zu", tmp, cuts[i]);
			write_file(p, buf, cuts[i]);
			rc = elf_func_symbols(p, &v, &n, err, sizeof err);
			char name[64];
			snprintf(name, sizeof name, "truncated to %zu bytes", cuts[i]);
			CHECK(rc == -ENOEXEC && has(err, "truncated"), name, "%d %s", rc, err);
		}
		/* cut in the middle of the sections: section headers at the end are gone */
		snprintf(p, sizeof p, "%s/trunchalf", tmp);
		write_file(p, buf, len / 2);
		rc = elf_func_symbols(p, &v, &n, err, sizeof err);
		CHECK(rc == -ENOEXEC && has(err, "truncated: the section header table at offset") &&
		      has(err, "past the end of the file"),
		      "truncated in half", "%d %s", rc, err);
		/* section header table offset pointing far away */
		uint8_t *b2 = malloc(len);
		if (b2) {
			memcpy(b2, buf, len);
			memset(b2 + 40, 0x7f, 8);
			snprintf(p, sizeof p, "%s/badshoff", tmp);
			write_file(p, b2, len);
			rc = elf_func_symbols(p, &v, &n, err, sizeof err);
			CHECK(rc == -ENOEXEC && has(err, "section header table at offset 9187201950435737471 is past the end"),
			      "bad e_shoff", "%d %s", rc, err);
			/* a 32-bit class byte */
			memcpy(b2, buf, len);
			b2[4] = 1;
			write_file(p, b2, len);
			rc = elf_func_symbols(p, &v, &n, err, sizeof err);
			CHECK(rc == -ENOEXEC && has(err, "not a 64-bit ELF file"), "ELF32 refused", "%d %s", rc, err);
			/* random garbage after a valid header must never crash */
			uint32_t seed = 12345;
			int quiet = 0;   /* failures without a message */
			for (int round = 0; round < 40; round++) {
				memcpy(b2, buf, len);
				for (int k = 0; k < 64; k++) {
					seed = seed * 1103515245 + 12345;
					size_t at = 64 + (seed >> 4) % (len - 64);
					b2[at] = (uint8_t)(seed >> 20);
				}
				write_file(p, b2, len);
				err[0] = 0;
				if (!elf_func_symbols(p, &v, &n, err, sizeof err))
					elfsym_free(v, n);
				else
					quiet += !has(err, p);
				err[0] = 0;
				if (!elf_usdt_notes(p, &u, &n, err, sizeof err))
					usdt_notes_free(u, n);
				else
					quiet += !has(err, p);
			}
			CHECK(!quiet, "corrupted copies: an error naming the file or a result", "%d without message", quiet);
			free(b2);
		}
	} else {
		CHECK(0, "read own executable", "%s", exe);
	}
	free(buf);
	if (f)
		fclose(f);
}

int main(void)
{
	char exe[PATH_MAX];
	ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (k <= 0)
		return 1;
	exe[k] = 0;
	char tmp[] = "/tmp/skep-elfsym.XXXXXX";
	if (!mkdtemp(tmp))
		return 1;
	test_libc();
	test_self(exe, tmp);
	test_bad(exe, tmp);
	char cmd[64];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", tmp);
	CHECK(skep_elfsym_probe_me(2) == 7, "probe_me", "wrong");
	return t_done();
}
