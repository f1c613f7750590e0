/* skep list: what can be probed in a binary, as `bpftrace -l` lists it.
 *
 *   skep list uprobes BINARY [GLOB] [-v] [-j]   function symbols (.symtab and .dynsym)
 *   skep list usdt BINARY [GLOB] [-v] [-j]      USDT probes (.note.stapsdt)
 *
 * One line per probe: "uprobe:PATH:SYMBOL" / "usdt:PATH:PROVIDER:NAME". With -v, after
 * it: "addr 0x...  offset 0x...  size N  [version V]" for a symbol (addr as `nm` prints
 * it, offset in the file: what uprobes take) and one line per site of a USDT probe. -j:
 * one JSON array. BINARY is a path, a program found in $PATH or a library (soname as
 * "libc.so.6", or "libc") found through `ldconfig -p` or the standard library
 * directories. GLOB (fnmatch) selects symbols, or "PROVIDER:NAME" (or NAME alone). */
#include <fnmatch.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attach/elf_symbols.h"
#include "cmds.h"
#include "json.h"

#define USAGE                                                                                   \
	"usage: skep list uprobes BINARY [GLOB] [-v] [-j]\n"                                    \
	"       skep list usdt BINARY [GLOB] [-v] [-j]"

static const char help[] =
	USAGE "\n\n"
	"List the functions (uprobes) or the USDT probes (usdt) of a binary, one per line as\n"
	"`bpftrace -l` prints them: uprobe:PATH:SYMBOL, usdt:PATH:PROVIDER:NAME.\n\n"
	"  BINARY   a path, a program in $PATH, or a library: \"libc.so.6\" or \"libc\"\n"
	"           (found with `ldconfig -p` or in the standard library directories)\n"
	"  GLOB     only symbols matching it (fnmatch), for usdt PROVIDER:NAME or NAME\n"
	"  -v       with addresses: symbol address (as nm prints it), file offset, size and\n"
	"           version; every site of a USDT probe with its semaphore and arguments\n"
	"  -j       JSON: one array of objects\n\n"
	"Exit status: 0 listed, 1 an unreadable binary or nothing matches GLOB, 2 bad usage\n"
	"(with a one-line hint). With -j an error is {\"error\": \"...\"} on stdout.\n";

static int json_errors;  /* -j: errors as {"error": ...} on stdout too */

/* An error: the message on stderr ("try" hint on bad usage), and as JSON with -j. */
static int fail(int rc, const char *fmt, ...)
{
	char msg[PATH_MAX + 700];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "skep list: %s%s\n", msg, rc == 2 ? " (try: skep list --help)" : "");
	if (json_errors) {
		struct json j;
		json_init(&j, stdout);
		json_obj(&j, NULL);
		json_str(&j, "error", msg);
		json_end(&j);
		json_nl(&j);
	}
	return rc;
}

static int is_exec_file(const char *p)
{
	struct stat st;
	return !stat(p, &st) && S_ISREG(st.st_mode) && !access(p, X_OK);
}

static int file_exists(const char *p)
{
	struct stat st;
	return !stat(p, &st) && S_ISREG(st.st_mode);
}

/* "libc.so.6" or "libc" as ldconfig knows it (x86-64 entries preferred). */
static int from_ldconfig(const char *name, char *out, size_t len)
{
	FILE *f = popen("/sbin/ldconfig -p 2>/dev/null", "r");
	if (!f)
		return 0;
	char line[PATH_MAX + 256];
	int found = 0;
	size_t nl = strlen(name);
	while (fgets(line, sizeof line, f)) {
		char *s = line + strspn(line, " \t"), *arrow = strstr(s, " => ");
		if (!arrow)
			continue;
		size_t sl = strcspn(s, " ");
		int exact = sl == nl && !strncmp(s, name, nl);
		/* "libc" matches "libc.so.6"; "c" does not */
		int stem = !exact && sl > nl && !strncmp(s, name, nl) && !strncmp(s + nl, ".so", 3);
		if (!exact && !stem)
			continue;
		char *path = arrow + 4;
		path[strcspn(path, "\n")] = 0;
		int x86 = strstr(s, "x86-64") != NULL;
		if (!found || (x86 && found < 2) || (exact && found < 3)) {
			snprintf(out, len, "%s", path);
			found = exact ? 3 : x86 ? 2 : 1;
		}
	}
	pclose(f);
	return found != 0;
}

static int from_lib_dirs(const char *name, char *out, size_t len)
{
	static const char *const dirs[] = {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64",
					   "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib"};
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
		snprintf(out, len, "%s/%s", dirs[i], name);
		if (file_exists(out))
			return 1;
		snprintf(out, len, "%s/%s.so", dirs[i], name);
		if (file_exists(out))
			return 1;
	}
	return 0;
}

static int from_path(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t k = strcspn(path, ":");
		snprintf(out, len, "%.*s/%s", (int)k, k ? path : ".", name);
		if (is_exec_file(out))
			return 1;
		path += k + (path[k] == ':');
	}
	return 0;
}

/* BINARY to a path; 0 if not found. */
static int resolve_binary(const char *name, char *out, size_t len)
{
	if (strchr(name, '/')) {
		snprintf(out, len, "%s", name);
		return 1;
	}
	int lib = strstr(name, ".so") || !strncmp(name, "lib", 3);
	if (lib)
		return from_ldconfig(name, out, len) || from_lib_dirs(name, out, len) || from_path(name, out, len);
	return from_path(name, out, len) || from_ldconfig(name, out, len) || from_lib_dirs(name, out, len);
}

static const char *bind_str(uint8_t b)
{
	return b == 0 ? "local" : b == 1 ? "global" : b == 2 ? "weak" : "other";
}

static int list_uprobes(const char *path, const char *glob, int verbose, int json)
{
	struct elfsym *syms;
	size_t n, shown = 0;
	char err[512];
	if (elf_func_symbols(path, &syms, &n, err, sizeof err)) {
		return fail(1, "%s", err);
	}
	for (size_t i = 0; glob && i < n && !shown; i++)
		shown = !fnmatch(glob, syms[i].name, 0);
	if (glob && !shown) {
		elfsym_free(syms, n);
		return fail(1, "no function of %s matches '%s'", path, glob);
	}
	shown = 0;
	struct json j;
	json_init(&j, stdout);
	if (json)
		json_arr(&j, NULL);
	for (size_t i = 0; i < n; i++) {
		const struct elfsym *s = &syms[i];
		if (glob && fnmatch(glob, s->name, 0))
			continue;
		shown++;
		if (json) {
			char probe[PATH_MAX + 300];
			snprintf(probe, sizeof probe, "uprobe:%s:%s", path, s->name);
			json_obj(&j, NULL);
			json_str(&j, "probe", probe);
			json_str(&j, "name", s->name);
			json_u64(&j, "address", s->addr);
			json_u64(&j, "offset", s->offset);
			json_u64(&j, "size", s->size);
			json_str(&j, "version", s->version);
			json_bool(&j, "default_version", s->version && !s->hidden);
			json_str(&j, "bind", bind_str(s->bind));
			json_str(&j, "type", s->type == 10 ? "ifunc" : "func");
			json_bool(&j, "dynamic", s->dynamic);
			json_end(&j);
			continue;
		}
		printf("uprobe:%s:%s", path, s->name);
		if (verbose) {
			printf("  addr 0x%" PRIx64 "  offset 0x%" PRIx64 "  size %" PRIu64 "  %s%s", s->addr, s->offset,
			       s->size, bind_str(s->bind), s->type == 10 ? "  ifunc" : "");
			if (s->version)
				printf("  version %s%s", s->hidden ? "@" : "@@", s->version);
		}
		printf("\n");
	}
	if (json) {
		json_end(&j);
		json_nl(&j);
	}
	elfsym_free(syms, n);
	return 0;
}

static int usdt_match(const char *glob, const struct usdt_note *u)
{
	char full[512];
	snprintf(full, sizeof full, "%s:%s", u->provider, u->name);
	return !glob || !fnmatch(glob, full, 0) || (!strchr(glob, ':') && !fnmatch(glob, u->name, 0));
}

static int list_usdt(const char *path, const char *glob, int verbose, int json)
{
	struct usdt_note *v;
	size_t n, shown = 0;
	char err[512];
	if (elf_usdt_notes(path, &v, &n, err, sizeof err)) {
		return fail(1, "%s", err);
	}
	for (size_t i = 0; glob && i < n && !shown; i++)
		shown = usdt_match(glob, &v[i]);
	if (glob && !shown) {
		usdt_notes_free(v, n);
		return fail(1, "no USDT probe of %s matches '%s'", path, glob);
	}
	shown = 0;
	struct json j;
	json_init(&j, stdout);
	if (json)
		json_arr(&j, NULL);
	for (size_t i = 0; i < n; i++) {
		const struct usdt_note *u = &v[i];
		int first = 1;   /* sites of one probe are listed under its first */
		for (size_t k = 0; k < i && first; k++)
			first = strcmp(v[k].provider, u->provider) || strcmp(v[k].name, u->name);
		if (!first || !usdt_match(glob, u))
			continue;
		shown++;
		char probe[PATH_MAX + 600];
		snprintf(probe, sizeof probe, "usdt:%s:%s:%s", path, u->provider, u->name);
		if (json) {
			json_obj(&j, NULL);
			json_str(&j, "probe", probe);
			json_str(&j, "provider", u->provider);
			json_str(&j, "name", u->name);
			json_arr(&j, "sites");
		} else {
			printf("%s\n", probe);
		}
		for (size_t k = i; k < n; k++) {
			const struct usdt_note *s = &v[k];
			if (strcmp(s->provider, u->provider) || strcmp(s->name, u->name))
				continue;
			if (json) {
				json_obj(&j, NULL);
				json_u64(&j, "pc", s->pc);
				json_u64(&j, "offset", s->pc_offset);
				json_u64(&j, "semaphore", s->sema);
				json_u64(&j, "semaphore_offset", s->sema_offset);
				json_str(&j, "args", s->args);
				json_end(&j);
			} else if (verbose) {
				printf("  pc 0x%" PRIx64 "  offset 0x%" PRIx64, s->pc, s->pc_offset);
				if (s->sema)
					printf("  semaphore 0x%" PRIx64 " (offset 0x%" PRIx64 ")", s->sema, s->sema_offset);
				printf("  args \"%s\"\n", s->args);
			}
		}
		if (json) {
			json_end(&j);
			json_end(&j);
		}
	}
	if (json) {
		json_end(&j);
		json_nl(&j);
	}
	usdt_notes_free(v, n);
	return 0;
}

int cmd_list(int argc, char **argv)
{
	const char *kind = NULL, *bin = NULL, *glob = NULL;
	int verbose = 0, json = 0;
	json_errors = 0;
	for (int i = 1; i < argc; i++)  /* -j anywhere makes even a usage error JSON */
		json_errors |= !strcmp(argv[i], "-j") || !strcmp(argv[i], "--json");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help") || (!kind && !strcmp(a, "help"))) {
			fputs(help, stdout);
			return 0;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			verbose = 1;
		} else if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			json = 1;
		} else if (a[0] == '-' && a[1]) {
			return fail(2, "unknown option '%s'", a);
		} else if (!kind) {
			kind = a;
		} else if (!bin) {
			bin = a;
		} else if (!glob) {
			glob = a;
		} else {
			return fail(2, "unexpected argument '%s'", a);
		}
	}
	if (!kind || !bin) {
		return fail(2, "%s", kind ? "no BINARY" : "what to list: uprobes or usdt");
	}
	int up = !strcmp(kind, "uprobes") || !strcmp(kind, "uprobe");
	if (!up && strcmp(kind, "usdt")) {
		return fail(2, "unknown kind '%s' (uprobes or usdt)", kind);
	}
	char path[PATH_MAX];
	if (!resolve_binary(bin, path, sizeof path)) {
		return fail(1, "%s: no such file, program in $PATH or library", bin);
	}
	return up ? list_uprobes(path, glob, verbose, json) : list_usdt(path, glob, verbose, json);
}
