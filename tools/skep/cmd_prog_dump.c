/* skep prog dump xlated|jited OBJ.o [--prog NAME] [--linum] [--opcodes] [-j]: a program
 * as loaded, as bpftool prog dump prints the kernel's.
 *
 * xlated: the instructions the engines run, after relocation and the context rewrite.
 * A map reference (lddw src=1/2, an address once loaded) prints as bpftool's
 * map[id:N] (map[id:N][0]+off for a value) with the map's name; an instruction the
 * context rewrite changed prints as rewritten, with what the program wrote; a helper
 * call gets the helper's name. jited: the x86-64 code (jited.c's walk, shared with
 * skep disasm --jited). Both interleave the source lines of .BTF.ext line info. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "jited.h"
#include "json.h"
#include "progobj.h"
#include "util.h"
#include "skep/helpers.h"
#include "skep/prog.h"

struct dump {
	const skep_object *obj;
	const skep_program *p;
	int linum, opcodes, json;
	struct json *j;
	/* source lines */
	const struct skep_line_info *lines;
	size_t nlines, li;
	const struct skep_line_info *last;
	/* jited JSON: the open piece */
	int open;
	const char *func;    /* jited JSON: the function being walked */
	FILE *out;
};

/* The source line starting at instruction i (once per line), or NULL. */
static const struct skep_line_info *line_at(struct dump *d, uint32_t i)
{
	const struct skep_line_info *found = NULL;
	while (d->li < d->nlines && d->lines[d->li].insn <= i) {
		const struct skep_line_info *l = &d->lines[d->li++];
		if (l->insn == i && *l->text &&
		    (!d->last || l->line != d->last->line || strcmp(l->file, d->last->file)))
			found = l;
	}
	if (found)
		d->last = found;
	return found;
}

/* The source text without its indentation, as bpftool prints it. */
static const char *src_text(const struct skep_line_info *l)
{
	const char *t = l->text;
	while (*t == ' ' || *t == '\t')
		t++;
	return t;
}

static void print_line(const struct dump *d, const struct skep_line_info *l)
{
	if (d->linum)
		fprintf(d->out, "; %s [file:%s line_num:%u line_col:%u]\n", src_text(l), l->file, l->line, l->col);
	else
		fprintf(d->out, "; %s\n", src_text(l));
}

static void json_line(const struct dump *d, const struct skep_line_info *l)
{
	json_str(d->j, "src", src_text(l));
	if (d->linum) {
		json_str(d->j, "file", l->file);
		json_u64(d->j, "line_num", l->line);
		json_u64(d->j, "line_col", l->col);
	}
}

static void hex(char *out, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 3 * i, "%02x%s", ((const uint8_t *)p)[i], i + 1 < n ? " " : "");
	if (!n)
		*out = 0;
}

/* The name of the function starting at instruction i (BTF func info), or NULL. */
static const char *func_at(const struct dump *d, uint32_t i)
{
	size_t n;
	const struct skep_func_info *f = skep_program_func_info(d->p, &n);
	for (size_t k = 0; k < n; k++)
		if (f[k].insn == i)
			return f[k].name;
	return NULL;
}

/* ---- xlated */

static int dump_xlated(struct dump *d)
{
	size_t n, no;
	skep_prog *sp = skep_program_prog(d->p);
	const struct skep_insn *in = skep_prog_insns(sp, &n);
	const struct skep_insn *orig = skep_program_insns(d->p, &no);  /* map ids, pre-rewrite */
	if (no != n)
		orig = NULL;
	if (d->json) {
		json_obj(d->j, NULL);
		json_str(d->j, "name", skep_program_name(d->p));
		json_u64(d->j, "id", skep_prog_id(sp));
		json_arr(d->j, "insns");
	}
	for (size_t i = 0; i < n; i++) {
		char text[256], was[256] = "", note[160] = "";
		int used = 1;
		const skep_object_map *m = NULL;
		if (orig && orig[i].code == 0x18 && (orig[i].src == 1 || orig[i].src == 2) && i + 1 < n) {
			m = progobj_map_by_id(d->obj, (uint32_t)orig[i].imm);
			if (orig[i].src == 1)
				snprintf(text, sizeof text, "r%d = map[id:%d]", orig[i].dst, orig[i].imm);
			else
				snprintf(text, sizeof text, "r%d = map[id:%d][0]+%d", orig[i].dst, orig[i].imm, orig[i + 1].imm);
			snprintf(note, sizeof note, "%s", m ? skep_object_map_name(m) : "?");
			used = 2;
		} else {
			used = skep_insn_disasm(&in[i], n - i, text, sizeof text);
			if (used < 1)
				used = 1;
			if (orig && memcmp(&orig[i], &in[i], sizeof in[i] * (size_t)used)) {
				skep_insn_disasm(&orig[i], n - i, was, sizeof was);
			} else if (in[i].code == 0x85 && in[i].src == 0 && skep_helper_name((uint32_t)in[i].imm)) {
				snprintf(note, sizeof note, "%s", skep_helper_name((uint32_t)in[i].imm));
			}
		}
		const struct skep_line_info *l = line_at(d, (uint32_t)i);
		char bytes[3 * 16 + 1];
		hex(bytes, m ? &orig[i] : &in[i], 8 * (size_t)used);  /* map refs: the id, as the kernel's dump */
		const char *fn = i ? func_at(d, (uint32_t)i) : NULL;
		if (d->json) {
			json_obj(d->j, NULL);
			json_u64(d->j, "pc", i);
			if (fn)
				json_str(d->j, "function", fn);
			json_str(d->j, "disasm", text);
			if (m) {
				json_obj(d->j, "map");
				json_u64(d->j, "id", (uint64_t)orig[i].imm);
				json_str(d->j, "name", skep_object_map_name(m));
				json_end(d->j);
			} else if (*note) {
				json_str(d->j, "helper", note);
			}
			if (*was)
				json_str(d->j, "rewritten_from", was);
			if (l)
				json_line(d, l);
			if (d->opcodes)
				json_str(d->j, "opcodes", bytes);
			json_end(d->j);
		} else {
			if (fn)
				fprintf(d->out, "%s:\n", fn);
			if (l)
				print_line(d, l);
			fprintf(d->out, "%4zu: %s", i, text);
			if (*note)
				fprintf(d->out, "  ; %s", note);
			if (*was)
				fprintf(d->out, "  ; rewritten at load, was: %s", was);
			fprintf(d->out, "\n");
			if (d->opcodes)
				fprintf(d->out, "      %s\n", bytes);
		}
		i += (size_t)used - 1;
	}
	if (d->json) {
		json_end(d->j);
		json_end(d->j);
	}
	return 0;
}

/* ---- jited */

static const char *const part_name[] = {
	[JITED_ENTRY] = "entry", [JITED_GUARD] = "guard", [JITED_FUNC] = "function",
	[JITED_PROLOGUE] = "prologue", [JITED_INSN] = "insn", [JITED_EPILOGUE] = "epilogue",
};

static void part_cb(void *ctx, enum jited_part part, uint32_t insn, const char *text)
{
	struct dump *d = ctx;
	const struct skep_line_info *l = part == JITED_INSN ? line_at(d, insn) : NULL;
	if (!d->json) {
		switch (part) {
		case JITED_ENTRY: fprintf(d->out, "<entry of skep_prog_func: an empty run block>:\n"); break;
		case JITED_GUARD: fprintf(d->out, "<guard: saves registers to unwind a failing run>:\n"); break;
		case JITED_FUNC: {
			const char *fn = func_at(d, insn);
			fprintf(d->out, "%s<%s%s%s at insn %u>:\n", insn ? "\n" : "", text, fn ? " " : "", fn ? fn : "", insn);
			break;
		}
		case JITED_PROLOGUE: fprintf(d->out, "; prologue\n"); break;
		case JITED_EPILOGUE: fprintf(d->out, "; epilogue\n"); break;
		case JITED_INSN:
			if (l)
				print_line(d, l);
			fprintf(d->out, "; %u: %s\n", insn, text);
			break;
		}
		return;
	}
	if (part == JITED_FUNC) {
		d->func = func_at(d, insn);
		return;
	}
	if (d->open) {
		json_end(d->j);  /* "x86" */
		json_end(d->j);  /* the piece */
	}
	json_obj(d->j, NULL);
	json_str(d->j, "part", part_name[part]);
	if (d->func)
		json_str(d->j, "function", d->func);
	if (part == JITED_INSN) {
		json_u64(d->j, "pc", insn);
		json_str(d->j, "disasm", text);
		if (l)
			json_line(d, l);
	}
	json_arr(d->j, "x86");
	d->open = 1;
}

static void x86_cb(void *ctx, uint32_t off, const uint8_t *bytes, unsigned len, const char *text,
		   const void *target)
{
	struct dump *d = ctx;
	if (!d->json) {
		jited_print_x86(d->out, off, bytes, len, text, target);
		return;
	}
	char h[3 * 16 + 1];
	hex(h, bytes, len < 16 ? len : 16);
	json_obj(d->j, NULL);
	json_u64(d->j, "off", off);
	json_str(d->j, "asm", text ? text : "(bad)");
	if (d->opcodes)
		json_str(d->j, "opcodes", h);
	json_end(d->j);
}

static int dump_jited(struct dump *d)
{
	skep_prog *sp = skep_program_prog(d->p);
	if (d->json) {
		json_obj(d->j, NULL);
		json_str(d->j, "name", skep_program_name(d->p));
		json_u64(d->j, "id", skep_prog_id(sp));
		json_arr(d->j, "code");
	}
	struct jited_sink s = {d, part_cb, x86_cb};
	int err = jited_disasm_walk(sp, &s);
	if (d->json) {
		if (d->open) {
			json_end(d->j);
			json_end(d->j);
		}
		json_end(d->j);
		json_end(d->j);
	}
	return err;
}

int cmd_prog_dump(int argc, char **argv)
{
	const char *what = NULL, *file = NULL, *prog = NULL;
	int json = 0, linum = 0, opcodes = 0;
	for (int i = 1; i < argc; i++)
		json |= !strcmp(argv[i], "-j") || !strcmp(argv[i], "--json");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-j") || !strcmp(a, "--json"))
			continue;
		if (!strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "help"))
			return help_show("prog", "dump");
		if (!strcmp(a, "--linum") || !strcmp(a, "linum"))
			linum = 1;
		else if (!strcmp(a, "--opcodes") || !strcmp(a, "opcodes"))
			opcodes = 1;
		else if (!strcmp(a, "--prog")) {
			if (i + 1 >= argc)
				return progobj_usage("dump", json, "--prog needs a program name");
			prog = argv[++i];
		} else if (a[0] == '-' && a[1])
			return progobj_usage("dump", json, "unknown option '%s'", a);
		else if (!what)
			what = a;
		else if (!file)
			file = a;
		else
			return progobj_usage("dump", json, "unexpected argument '%s'", a);
	}
	if (!what || (strcmp(what, "xlated") && strcmp(what, "jited")))
		return progobj_usage("dump", json, what ? "'%s' is not xlated or jited" : "%s",
				     what ? what : "what to dump: xlated or jited");
	if (!file)
		return progobj_usage("dump", json, "missing the object file OBJ.o");
	char err[1024];
	skep_program *only;
	char refused[512];
	skep_object *obj = progobj_load(file, prog, &only, refused, sizeof refused, err, sizeof err);
	if (!obj)
		return progobj_fail("dump", json, "%s", err);
	if (*refused)
		fprintf(stderr, "skep prog dump: warning: %s: %s; dumped as loaded without verification\n", file,
			refused);
	struct json jw;
	json_init(&jw, stdout);
	int rc = 0, k = 0;
	/* the output goes to a buffer first, so a failure prints only its error (JSON stays one value) */
	char *buf = NULL;
	size_t blen = 0;
	FILE *mem = open_memstream(&buf, &blen);
	if (!mem) {
		skep_object_close(obj);
		return progobj_fail("dump", json, "out of memory");
	}
	jw.f = mem;
	if (json)
		json_arr(&jw, NULL);
	for (skep_program *p = skep_object_next_program(obj, NULL); p && !rc; p = skep_object_next_program(obj, p)) {
		if ((only && p != only) || !skep_program_prog(p))
			continue;
		size_t nl;
		struct dump d = {obj, p, linum, opcodes, json, &jw, skep_program_line_info(p, &nl), 0, 0, NULL, 0, NULL, mem};
		d.nlines = nl;
		if (!json && !only)
			fprintf(mem, "%s%s (id %u, section %s):\n", k ? "\n" : "", skep_program_name(p),
			       skep_prog_id(skep_program_prog(p)), skep_program_section_name(p));
		k++;
		if (what[0] == 'x')
			rc = dump_xlated(&d);
		else if (dump_jited(&d)) {
			snprintf(err, sizeof err, "%s: %s", skep_program_name(p), skep_prog_error(skep_program_prog(p)));
			rc = 1;
		}
	}
	if (json) {
		json_end(&jw);
		fputc('\n', mem);
	}
	fclose(mem);
	if (!rc && !k)
		rc = 1, snprintf(err, sizeof err, "%s: no program Skep can load (see: skep prog list %s)", file, file);
	if (rc)
		progobj_fail("dump", json, "%s", err);
	else
		fwrite(buf, 1, blen, stdout);
	free(buf);
	skep_object_close(obj);
	return rc;
}
