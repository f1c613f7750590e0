/* Attach an object's program by its section name, as libbpf's bpf_program__attach:
 *   uprobe[.s]/PATH:SYMBOL[+OFFSET]    uretprobe[.s]/PATH:SYMBOL[+OFFSET]
 *   usdt/PATH:PROVIDER:NAME
 * PATH is up to the first ':' (as libbpf's sscanf "%m[^:]:%m[^\n]"); a bare offset
 * ("0x1234") works as with skep_attach_uprobe. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach_internal.h"

static const struct {
	const char *prefix;
	int kind;   /* 0 uprobe, 1 uretprobe, 2 usdt */
} kinds[] = {
	{"uprobe.s/", 0}, {"uretprobe.s/", 1}, {"uprobe/", 0}, {"uretprobe/", 1}, {"usdt/", 2},
};

int skep_program_attach(skep_program *p, skep_link **link)
{
	*link = NULL;
	if (!p)
		return attach_error(EINVAL, "no program");
	const char *sec = skep_program_section_name(p), *name = skep_program_name(p);
	skep_prog *prog = skep_program_prog(p);
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		size_t n = strlen(kinds[i].prefix);
		if (strncmp(sec, kinds[i].prefix, n))
			continue;
		const char *t = sec + n;
		if (!prog)
			return attach_error(EINVAL, "program %s (%s) is not loaded", name, sec);
		char *path = strdup(t), *c = path ? strchr(path, ':') : NULL;
		if (!path)
			return attach_error(ENOMEM, "out of memory");
		if (!c || !c[1] || c == path) {
			free(path);
			return attach_error(EINVAL, "program %s: section \"%s\": expected %s", name, sec,
					    kinds[i].kind == 2 ? "usdt/PATH:PROVIDER:NAME"
							       : "PATH:SYMBOL[+OFFSET] after the prefix");
		}
		*c++ = 0;
		int rc;
		if (kinds[i].kind == 2) {
			char *nm = strchr(c, ':');
			if (!nm || !nm[1] || nm == c) {
				free(path);
				return attach_error(EINVAL, "program %s: section \"%s\": expected "
						    "usdt/PATH:PROVIDER:NAME", name, sec);
			}
			*nm++ = 0;
			rc = skep_attach_usdt(p, path, c, nm, 0, link);
		} else {
			rc = skep_attach_uprobe(prog, path, c, kinds[i].kind, 0, link);
		}
		free(path);
		return rc;
	}
	if (!strcmp(sec, "uprobe") || !strcmp(sec, "uretprobe") || !strcmp(sec, "usdt") ||
	    !strcmp(sec, "uprobe.s") || !strcmp(sec, "uretprobe.s"))
		return attach_error(ENOTSUP, "program %s: section \"%s\" names no target: attach it "
				    "with skep_attach_uprobe", name, sec);
	return attach_error(ENOTSUP, "program %s: section \"%s\" is not a uprobe or usdt section",
			    name, sec);
}
