/* libskep-agent.so: preloaded into the command `skep trace` runs (LD_PRELOAD). Its
 * constructor opens the object skep named, reuses the session's pinned maps (each map
 * pinned as "map.<name>" in the session directory: libbpf's pin reuse), loads the
 * programs (verified, JIT-compiled) and attaches each by its section name or by the
 * specs skep passed, before main() runs. It never writes to the program's stdout or
 * stderr: every outcome goes to skep through the session's message queue.
 *
 * A program whose target binary is not mapped in this process (a uprobe on /bin/bash
 * in the `script` that starts bash) is skipped here: the process that maps it arms it.
 * An error in the process skep started ends it (_exit(127)) before main(), since
 * running it untraced would be a silent lie; in a descendant the error is reported
 * and the process runs on untraced. While it arms, the agent's own calls (malloc while
 * loading, say) run no program (the uprobe core's per-thread busy flag).
 *
 * Forks inherit the patched code, the programs and the shared maps, so children are
 * traced; with --pid-filter (AGENT_ENV_ROOT) only that pid arms, and a child it forks
 * detaches every probe in itself (pthread_atfork). Exec: LD_PRELOAD and the session
 * variables are inherited, so the agent arms again in the new image. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "skep/attach.h"
#include "skep/map.h"
#include "skep/object.h"
#include "agent_proto.h"
#include "attach/uprobe.h"   /* uprobe_busy: the agent's own calls are not events */

static skep_object *obj;
static skep_link **links;
static size_t nlinks;
static skep_map *msgs;
static int first;

static void send_msg(int kind, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void send_msg(int kind, int err, const char *fmt, ...)
{
	struct agent_msg m = {.pid = getpid(), .kind = kind, .err = err, .first = first};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m.text, sizeof m.text, fmt, ap);
	va_end(ap);
	if (msgs)
		skep_map_update_elem(msgs, NULL, &m, SKEP_ANY);
}

/* Whether binary (a path, or a base name / soname) is mapped in this process. NULL:
 * the main executable, always. */
static int mapped(const char *binary)
{
	if (!binary || !*binary)
		return 1;
	char want[PATH_MAX], line[PATH_MAX + 128];
	int by_path = strchr(binary, '/') != NULL;
	if (by_path && !realpath(binary, want))
		return 0;
	FILE *f = fopen("/proc/self/maps", "re");
	if (!f)
		return 1;  /* cannot tell: let attach decide */
	int found = 0;
	while (!found && fgets(line, sizeof line, f)) {
		char *p = strchr(line, '/');
		if (!p)
			continue;
		p[strcspn(p, "\n")] = 0;
		const char *base = strrchr(p, '/') + 1;
		found = by_path ? !strcmp(p, want) : !strcmp(base, binary);
	}
	fclose(f);
	return found;
}

/* The binary part of an attach target: "PATH:SYMBOL" (colons = 1) or
 * "PATH:PROVIDER:NAME" (colons = 2). */
static void target_binary(const char *target, int colons, char *out, size_t len)
{
	const char *end = target + strlen(target);
	for (int i = 0; i < colons && end > target; i++) {
		end--;
		while (end > target && *end != ':')
			end--;
	}
	snprintf(out, len, "%.*s", (int)(end - target), target);
}

static int add_link(skep_link *l)
{
	skep_link **n = realloc(links, (nlinks + 1) * sizeof *n);
	if (!n) {
		skep_link_destroy(l);
		return -ENOMEM;
	}
	links = n;
	links[nlinks++] = l;
	return 0;
}

/* Attach one spec line "KIND PROG TARGET" to p. 1 skipped (not mapped), 0 attached,
 * negative errno (message sent). */
static int attach_spec(skep_program *p, const char *kind, const char *target)
{
	int usdt = !strcmp(kind, "usdt");
	char bin[PATH_MAX], what[256];
	target_binary(target, usdt ? 2 : 1, bin, sizeof bin);
	snprintf(what, sizeof what, "%s", target + strlen(bin) + (target[strlen(bin)] == ':'));
	if (!mapped(bin))
		return 1;
	skep_link *l = NULL;
	int rc;
	if (usdt) {
		char *colon = strchr(what, ':');
		if (!colon)
			return send_msg(AGENT_ERROR, -EINVAL, "%s %s=%s: want PATH:PROVIDER:NAME", kind,
					skep_program_name(p), target), -EINVAL;
		*colon = 0;
		rc = skep_attach_usdt(p, *bin ? bin : NULL, what, colon + 1, 0, &l);
	} else {
		rc = skep_attach_uprobe(skep_program_prog(p), *bin ? bin : NULL, what,
					!strcmp(kind, "uretprobe"), 0, &l);
	}
	if (rc) {
		send_msg(AGENT_ERROR, rc, "%s %s=%s: %s", kind, skep_program_name(p), target,
			 skep_attach_error());
		return rc;
	}
	return add_link(l);
}

static int attach_section(skep_program *p)
{
	const char *sec = skep_program_section_name(p), *target = skep_program_attach_target(p);
	if (!target || !*target) {
		send_msg(AGENT_ERROR, -EINVAL, "program %s: section '%s' names no target: attach it with "
			 "--uprobe %s=PATH:SYMBOL (or --uretprobe, --usdt)", skep_program_name(p), sec,
			 skep_program_name(p));
		return -EINVAL;
	}
	char bin[PATH_MAX];
	target_binary(target, !strncmp(sec, "usdt", 4) ? 2 : 1, bin, sizeof bin);
	if (!mapped(bin))
		return 1;
	skep_link *l = NULL;
	int rc = skep_program_attach(p, &l);
	if (rc) {
		send_msg(AGENT_ERROR, rc, "program %s (%s): %s", skep_program_name(p), sec, skep_attach_error());
		return rc;
	}
	return add_link(l);
}

/* The next spec line "KIND PROG TARGET" for the program name, from *s on: 1 found. */
static int spec_next(const char **s, const char *name, char kind[16], char target[PATH_MAX + 256])
{
	while (*s && **s) {
		const char *nl = strchr(*s, '\n');
		size_t len = nl ? (size_t)(nl - *s) : strlen(*s);
		char line[PATH_MAX + 512], prog[256];
		snprintf(line, sizeof line, "%.*s", (int)len, *s);
		*s += len + (nl != NULL);
		if (sscanf(line, "%15s %255s %4351s", kind, prog, target) == 3 && !strcmp(prog, name))
			return 1;
	}
	return 0;
}

/* Attach p through the spec lines naming it (*found: how many do). 0 or a negative
 * errno (message sent). */
static int attach_by_specs(skep_program *p, const char *specs, int *found, int *attached, int *skipped)
{
	char kind[16], target[PATH_MAX + 256];
	for (const char *s = specs; spec_next(&s, skep_program_name(p), kind, target);) {
		++*found;
		int rc = attach_spec(p, kind, target);
		if (rc < 0)
			return rc;
		*(rc ? skipped : attached) += 1;
	}
	return 0;
}

/* How many of p's targets (its specs, else its section's) this process maps; -1 when
 * it has none at all. */
static int targets_mapped(skep_program *p, const char *specs)
{
	char kind[16], target[PATH_MAX + 256], bin[PATH_MAX];
	int n = 0, any = 0;
	for (const char *s = specs; spec_next(&s, skep_program_name(p), kind, target); any = 1) {
		target_binary(target, strcmp(kind, "usdt") ? 1 : 2, bin, sizeof bin);
		n += mapped(bin);
	}
	if (any)
		return n;
	const char *t = skep_program_attach_target(p);
	if (!t || !*t)
		return -1;
	target_binary(t, !strncmp(skep_program_section_name(p), "usdt", 4) ? 2 : 1, bin, sizeof bin);
	return mapped(bin);
}

static void detach_all(void)
{
	for (size_t i = nlinks; i-- > 0;)
		skep_link_destroy(links[i]);
	nlinks = 0;
}

static int arm(void)
{
	const char *path = getenv(AGENT_ENV_OBJ), *specs = getenv(AGENT_ENV_SPECS);
	int rc = skep_object_open_file(path, NULL, &obj);
	if (rc) {
		send_msg(AGENT_ERROR, rc, "open %s: %s", path, skep_object_error(NULL));
		return rc;
	}
	/* Load only what this process can attach: a process that maps none of the targets
	 * (the shell that starts the traced program) loads and JIT-compiles nothing. */
	int wanted = 0, unwanted = 0;
	for (skep_program *p = skep_object_next_program(obj, NULL); p; p = skep_object_next_program(obj, p)) {
		int n = targets_mapped(p, specs);
		if (n == 0)
			skep_program_set_autoload(p, 0);
		wanted += n != 0;
		unwanted += n == 0;
	}
	if (!wanted) {
		send_msg(AGENT_READY, 0, "attached 0; %d skipped (binary not mapped in this process)", unwanted);
		return 0;
	}
	char pin[256];
	for (skep_object_map *m = skep_object_next_map(obj, NULL); m; m = skep_object_next_map(obj, m)) {
		snprintf(pin, sizeof pin, AGENT_PIN_MAP "%s", skep_object_map_name(m));
		skep_object_map_set_pin_name(m, pin);
	}
	if ((rc = skep_object_load(obj))) {
		send_msg(AGENT_ERROR, rc, "load %s: %s", path, skep_object_error(obj));
		return rc;
	}
	int attached = 0, skipped = unwanted;
	for (skep_program *p = skep_object_next_program(obj, NULL); p; p = skep_object_next_program(obj, p)) {
		if (!skep_program_prog(p))
			continue;
		int found = 0;
		rc = attach_by_specs(p, specs, &found, &attached, &skipped);
		if (!rc && !found) {
			rc = attach_section(p);
			if (rc >= 0)
				*(rc ? &skipped : &attached) += 1;
		}
		if (rc < 0)
			return rc;
	}
	char desc[sizeof ((struct agent_msg *)0)->text - 64] = "";
	size_t off = 0;
	for (size_t i = 0; i < nlinks && off < sizeof desc; i++)
		off += (size_t)snprintf(desc + off, sizeof desc - off, "%s%s", i ? ", " : "", skep_link_desc(links[i]));
	if (skipped)
		send_msg(AGENT_READY, 0, "attached %d%s%s; %d skipped (binary not mapped in this process)", attached,
			 nlinks ? ": " : "", desc, skipped);
	else
		send_msg(AGENT_READY, 0, "attached %d: %s", attached, desc);
	return 0;
}

static void after_fork_child(void)
{
	first = 0;
	detach_all();   /* --pid-filter: the child of the traced process is not traced */
}

__attribute__((constructor)) static void skep_agent_init(void)
{
	const char *path = getenv(AGENT_ENV_OBJ), *root = getenv(AGENT_ENV_ROOT),
		   *fp = getenv(AGENT_ENV_FIRST);
	if (!path || !*path)
		return;
	if (root && *root && atol(root) != (long)getpid())
		return;  /* --pid-filter: not the traced process */
	first = fp && atol(fp) == (long)getpid();
	msgs = skep_map_open_pinned(AGENT_PIN_MSGS);
	if (!msgs)
		return;  /* no session (skep gone): stay out of the way */
	uprobe_busy++;   /* what the agent itself calls (malloc...) runs no program */
	int rc = arm();
	uprobe_busy--;
	if (rc < 0) {
		detach_all();
		if (first)
			_exit(127);  /* the command skep started: do not run it untraced */
		return;
	}
	if (root && *root)
		pthread_atfork(NULL, NULL, after_fork_child);
}
