/* skep prog show OBJ.o [--prog NAME] [-j]: the programs of an object as bpftool prog
 * show lists the kernel's, after loading them: id, type, name, section, size, maps,
 * the verifier's verdict and statistics, the JITed size. Also the object loading and
 * verification that skep prog dump shares (progobj.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "json.h"
#include "progobj.h"
#include "util.h"
#include "skep/prog.h"

static void vreport(const char *cmd, int json, const char *fmt, va_list ap)
{
	char msg[1024];
	vsnprintf(msg, sizeof msg, fmt, ap);
	fprintf(stderr, "skep prog %s: %s\n", cmd, msg);
	if (json) {
		struct json j;
		json_init(&j, stdout);
		json_obj(&j, NULL);
		json_str(&j, "error", msg);
		json_end(&j);
		json_nl(&j);
	}
}

int progobj_fail(const char *cmd, int json, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(cmd, json, fmt, ap);
	va_end(ap);
	return 1;
}

int progobj_usage(const char *cmd, int json, const char *fmt, ...)
{
	char msg[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	progobj_fail(cmd, json, "%s (see: skep prog help %s)", msg, cmd);
	return 2;
}

#define MAXOUT 64

/* Open and choose what loads: prog only, or every runnable program not in out[]. */
static skep_object *open_select(const char *path, const char *prog, skep_program **only,
				char (*out)[64], size_t nout, char *err, size_t errlen)
{
	*only = NULL;
	skep_object *obj = open_object(path, err, errlen);
	if (!obj)
		return NULL;
	if (prog && !(*only = object_program(obj, path, prog, err, errlen))) {
		skep_object_close(obj);
		return NULL;
	}
	for (skep_program *q = skep_object_next_program(obj, NULL); q; q = skep_object_next_program(obj, q)) {
		int load = *only ? q == *only : !skep_program_unsupported(q);
		for (size_t i = 0; i < nout && load; i++)
			load = strcmp(out[i], skep_program_name(q)) != 0;
		skep_program_set_autoload(q, load);
	}
	return obj;
}

/* The loaded program the load error names ("program 'NAME': ..."), or NULL. */
static const skep_program *failed_program(const skep_object *obj)
{
	const char *e = skep_object_error(obj);
	for (skep_program *q = skep_object_next_program(obj, NULL); q; q = skep_object_next_program(obj, q)) {
		char pat[96];
		snprintf(pat, sizeof pat, "program '%s'", skep_program_name(q));
		if (skep_program_autoload(q) && strstr(e, pat))
			return q;
	}
	return NULL;
}

skep_object *progobj_load(const char *path, const char *prog, skep_program **only, char *refused,
			  size_t refusedlen, char *err, size_t errlen)
{
	char out[MAXOUT][64];
	size_t nout = 0, k = 0;
	*refused = 0;
	if (strcmp(path, "-") && !is_elf_file(path)) {
		FILE *f = fopen(path, "rb");
		snprintf(err, errlen, "%s: %s", path,
			 f ? "not an ELF object (build one with clang -target bpf)" : strerror(errno));
		if (f)
			fclose(f);
		return NULL;
	}
	for (;;) {
		skep_object *obj = open_select(path, prog, only, out, nout, err, errlen);
		if (!obj || !skep_object_load(obj))
			return obj;
		/* a program refused (by the verifier, most often): the others load without it */
		const skep_program *bad = failed_program(obj);
		if (k < refusedlen)
			k += (size_t)snprintf(refused + k, refusedlen - k, "%s%s", k ? "; " : "", skep_object_error(obj));
		if (!bad || bad == *only || nout == MAXOUT || strlen(skep_program_name(bad)) >= 64) {
			skep_object_close(obj);
			break;
		}
		snprintf(out[nout++], 64, "%s", skep_program_name(bad));
		skep_object_close(obj);
	}
	/* the one program asked for is refused: load it unverified, to inspect it anyway */
	skep_object *obj = open_select(path, prog, only, out, nout, err, errlen);
	if (!obj)
		return NULL;
	struct skep_object_load_opts lo = {.sz = sizeof lo, .no_verify = 1};
	if (skep_object_load_with(obj, &lo)) {
		snprintf(err, errlen, "%s: %s", path, skep_object_error(obj));
		skep_object_close(obj);
		return NULL;
	}
	return obj;
}

const skep_object_map *progobj_map_by_id(const skep_object *obj, uint32_t id)
{
	for (skep_object_map *m = skep_object_next_map(obj, NULL); m; m = skep_object_next_map(obj, m))
		if (skep_object_map_handle(m) && skep_map_id(skep_object_map_handle(m)) == id)
			return m;
	return NULL;
}

/* ---- skep prog show */

#define MAXMAPS 64

/* The map of the object at index k (skep_object_next_map order), or NULL. */
static const skep_object_map *map_at(const skep_object *obj, int32_t k)
{
	skep_object_map *m = k >= 0 ? skep_object_next_map(obj, NULL) : NULL;
	while (m && k--)
		m = skep_object_next_map(obj, m);
	return m;
}

/* The distinct map ids p's lddw name, in order of first use (an unloaded program's
 * lddw hold the map's index in the object). */
static size_t used_maps(const skep_object *obj, const skep_program *p, uint32_t *ids)
{
	int by_index = skep_program_prog(p) == NULL;
	size_t n, k = 0;
	const struct skep_insn *in = skep_program_insns(p, &n);
	for (size_t i = 0; i + 1 < n; i++) {
		if (in[i].code != 0x18)
			continue;
		if (in[i].src == 1 || in[i].src == 2) {
			uint32_t id = (uint32_t)in[i].imm;
			if (by_index) {
				const skep_object_map *m = map_at(obj, in[i].imm);
				id = m && skep_object_map_handle(m) ? skep_map_id(skep_object_map_handle(m)) : 0;
			}
			size_t j = 0;
			while (j < k && ids[j] != id)
				j++;
			if (j == k && k < MAXMAPS && id)
				ids[k++] = id;
		}
		i++;
	}
	return k;
}

struct shown {
	int loaded, verified, jit_ok;
	size_t insns, jited;
	const char *jit_why, *why;   /* why not jited, why not loaded */
	struct skep_verify_result vr;
	int verr;
	uint32_t ids[MAXMAPS];
	size_t nids;
};

static void inspect(const skep_object *obj, skep_program *p, struct shown *s)
{
	memset(s, 0, sizeof *s);
	skep_prog *sp = skep_program_prog(p);
	skep_program_insns(p, &s->insns);
	s->loaded = sp != NULL;
	s->nids = used_maps(obj, p, s->ids);
	s->verr = skep_program_verify(p, NULL, &s->vr);
	s->verified = !s->verr && s->vr.accepted;
	s->why = skep_program_unsupported(p);
	if (!s->loaded && !s->why)
		s->why = s->verified ? "not selected" : "refused by the verifier";
	if (sp) {
		struct skep_jited j;
		if (!skep_prog_jited(sp, &j)) {
			s->jit_ok = 1;
			s->jited = j.size;
		} else {
			s->jit_why = skep_prog_error(sp);
		}
	}
}

static void show_json(struct json *j, const skep_object *obj, skep_program *p, const struct shown *s)
{
	json_obj(j, NULL);
	if (s->loaded)
		json_u64(j, "id", skep_prog_id(skep_program_prog(p)));
	else
		json_null(j, "id");
	json_str(j, "type", prog_type_str(skep_program_type(p)));
	json_str(j, "name", skep_program_name(p));
	json_str(j, "section", skep_program_section_name(p));
	json_bool(j, "gpl_compatible", strstr(skep_object_license(obj), "GPL") != NULL);
	json_bool(j, "loaded", s->loaded);
	if (!s->loaded)
		json_str(j, "not_loaded_reason", s->why);
	json_u64(j, "bytes_xlated", s->insns * 8);
	json_u64(j, "insns", s->insns);
	json_bool(j, "jited", s->jit_ok);
	if (s->jit_ok)
		json_u64(j, "bytes_jited", s->jited);
	else if (s->jit_why)
		json_str(j, "jit_error", s->jit_why);
	json_arr(j, "map_ids");
	for (size_t i = 0; i < s->nids; i++)
		json_u64(j, NULL, s->ids[i]);
	json_end(j);
	json_arr(j, "maps");
	for (size_t i = 0; i < s->nids; i++) {
		const skep_object_map *m = progobj_map_by_id(obj, s->ids[i]);
		json_obj(j, NULL);
		json_u64(j, "id", s->ids[i]);
		json_str(j, "name", m ? skep_object_map_name(m) : NULL);
		json_str(j, "type", m ? map_type_str(skep_object_map_type(m)) : NULL);
		json_end(j);
	}
	json_end(j);
	json_bool(j, "verified", s->verified);
	if (s->verr) {
		json_str(j, "verifier_error", strerror(-s->verr));
	} else {
		json_obj(j, "verifier");
		if (!s->vr.accepted) {
			json_str(j, "error", s->vr.msg);
			json_i64(j, "insn", s->vr.insn);
		}
		json_u64(j, "processed_insns", s->vr.processed_insns);
		json_u64(j, "total_states", s->vr.total_states);
		json_u64(j, "peak_states", s->vr.peak_states);
		json_u64(j, "max_states_per_insn", s->vr.max_states_per_insn);
		json_u64(j, "stack_depth", s->vr.stack_depth);
		json_u64(j, "verification_us", s->vr.verification_us);
		json_end(j);
	}
	json_end(j);
}

static void show_text(const skep_object *obj, skep_program *p, const struct shown *s)
{
	if (s->loaded)
		printf("%u: ", skep_prog_id(skep_program_prog(p)));
	else
		printf("-: ");
	printf("%s  name %s  section %s%s\n", prog_type_str(skep_program_type(p)), skep_program_name(p),
	       skep_program_section_name(p), strstr(skep_object_license(obj), "GPL") ? "  gpl" : "");
	if (!s->loaded)
		printf("\tnot loaded: %s\n", s->why);
	printf("\txlated %zuB  insns %zu", s->insns * 8, s->insns);
	if (s->jit_ok)
		printf("  jited %zuB", s->jited);
	else if (s->loaded)
		printf("  not jited (%s)", s->jit_why ? s->jit_why : "?");
	if (s->nids) {
		printf("  map_ids ");
		for (size_t i = 0; i < s->nids; i++)
			printf("%s%u", i ? "," : "", s->ids[i]);
		printf(" (");
		for (size_t i = 0; i < s->nids; i++) {
			const skep_object_map *m = progobj_map_by_id(obj, s->ids[i]);
			printf("%s%s", i ? ", " : "", m ? skep_object_map_name(m) : "?");
		}
		printf(")");
	}
	printf("\n");
	if (s->verr)
		printf("\tverified no: the verifier could not run: %s\n", strerror(-s->verr));
	else
		printf("\tverified %s  processed_insns %llu  states %u  peak_states %u  stack %uB  time %lluus%s%s\n",
		       s->vr.accepted ? "yes" : "no", (unsigned long long)s->vr.processed_insns, s->vr.total_states,
		       s->vr.peak_states, s->vr.stack_depth, (unsigned long long)s->vr.verification_us,
		       s->vr.accepted ? "" : "\n\trefused: ", s->vr.accepted ? "" : s->vr.msg);
}

int cmd_prog_show(int argc, char **argv)
{
	const char *file = NULL, *prog = NULL;
	int json = 0;
	for (int i = 1; i < argc; i++)
		json |= !strcmp(argv[i], "-j") || !strcmp(argv[i], "--json");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-j") || !strcmp(a, "--json"))
			continue;
		if (!strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "help"))
			return help_show("prog", "show");
		if (!strcmp(a, "--prog")) {
			if (i + 1 >= argc)
				return progobj_usage("show", json, "--prog needs a program name");
			prog = argv[++i];
		} else if (a[0] == '-' && a[1]) {
			return progobj_usage("show", json, "unknown option '%s'", a);
		} else if (file) {
			return progobj_usage("show", json, "unexpected argument '%s'", a);
		} else {
			file = a;
		}
	}
	if (!file)
		return progobj_usage("show", json, "missing the object file OBJ.o");
	char err[1024];
	skep_program *only;
	char refused[512];
	skep_object *obj = progobj_load(file, prog, &only, refused, sizeof refused, err, sizeof err);
	if (!obj)
		return progobj_fail("show", json, "%s", err);
	struct json jw;
	if (json) {
		json_init(&jw, stdout);
		json_arr(&jw, NULL);
	}
	for (skep_program *p = skep_object_next_program(obj, NULL); p; p = skep_object_next_program(obj, p)) {
		if (only && p != only)
			continue;
		struct shown s;
		inspect(obj, p, &s);
		if (json)
			show_json(&jw, obj, p, &s);
		else
			show_text(obj, p, &s);
		skep_verify_result_free(&s.vr);
	}
	if (json) {
		json_end(&jw);
		json_nl(&jw);
	}
	skep_object_close(obj);
	return 0;
}
