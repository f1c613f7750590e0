/* skep disasm: raw bytecode (or assembly text) -> llvm-objdump style text. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "util.h"
#include "jited.h"
#include "skep/insn.h"
#include "skep/prog.h"

static const char disasm_usage[] =
	"usage: skep disasm [--labels] [--opcodes] [--no-index] [--jited] [--prog NAME] FILE\n"
	"\n"
	"Print eBPF instructions in llvm-objdump's syntax, one per line.\n"
	"\n"
	"  FILE        raw bytecode (8 bytes per instruction, little-endian), or assembly\n"
	"              text (a .s/.S/.asm name, or a file of plain text without NUL bytes),\n"
	"              which is assembled first; - reads standard input. Or an ELF object\n"
	"              (clang -target bpf): each program, linked with its subprograms, with\n"
	"              its source lines (\"; line  [file:line]\") where the object has BTF line info.\n"
	"  --prog NAME only this program of an ELF object\n"
	"  --labels    name jump and call targets L<index> and print targets by name\n"
	"  --opcodes   show each instruction's raw bytes\n"
	"  --no-index  do not prefix lines with the instruction index\n"
	"  --jited     JIT-compile the program and print the x86-64 code (AT&T syntax,\n"
	"              decoded with Zydis) under each eBPF instruction\n"
	"  -h, --help  show this help\n"
	"\n"
	"The output assembles back to the same bytes with skep asm (map references of ELF\n"
	"programs show the map's index in the object).\n"
	"\n"
	"Exit status: 0 printed, 1 bad input (unreadable, invalid instructions: printed as\n"
	"<invalid: reason>), 2 bad usage.\n";




/* Where helpers are not known yet, the code calls a placeholder: the listing shows
 * the call, and nothing runs. */
static uint64_t unbound_helper(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	(void)a, (void)b, (void)c, (void)d, (void)e;
	return 0;
}

static int print_jited(const char *in, const struct skep_insn *insns, size_t n)
{
	skep_prog *p = skep_prog_new();
	int rc = 1;
	if (!p) {
		fprintf(stderr, "skep disasm: out of memory\n");
		return 1;
	}
	if (skep_prog_load(p, insns, n)) {
		fprintf(stderr, "skep disasm: %s: %s\n", in, skep_prog_error(p));
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (insns[i].code == 0x85 && insns[i].src == 0 && insns[i].imm >= 0 &&
		    skep_prog_set_helper(p, (uint32_t)insns[i].imm, unbound_helper)) {
			fprintf(stderr, "skep disasm: %s: %s\n", in, skep_prog_error(p));
			goto out;
		}
	if (jited_disasm_print(stdout, p)) {
		fprintf(stderr, "skep disasm: %s: %s\n", in, skep_prog_error(p));
		goto out;
	}
	rc = 0;
out:
	skep_prog_free(p);
	return rc;
}

/* One program of an object: the listing with source lines before the instructions
 * that start them. */
static size_t print_object_prog(skep_program *p, unsigned flags, int header)
{
	size_t n, nl, nf, li = 0, fi = 0, invalid = 0;
	const struct skep_insn *insns = skep_program_insns(p, &n);
	const struct skep_line_info *lines = skep_program_line_info(p, &nl);
	const struct skep_func_info *funcs = skep_program_func_info(p, &nf);
	if (header)
		printf("%s%s (section %s):\n", header > 1 ? "\n" : "", skep_program_name(p), skep_program_section_name(p));
	char *text = skep_disasm_text(insns, n, flags | SKEP_DISASM_INDEX);
	if (!text)
		return (size_t)-1;
	uint32_t last_line = 0;
	const char *last_file = NULL;
	for (char *ln = text, *nx; ln && *ln; ln = nx) {
		nx = strchr(ln, '\n');
		if (nx)
			*nx++ = 0;
		char *end;
		unsigned long idx = strtoul(ln, &end, 10);
		int is_insn = end != ln && *end == ':';
		for (; is_insn && fi < nf && funcs[fi].insn <= idx; fi++)  /* subprograms by name */
			if (funcs[fi].insn == idx && funcs[fi].insn)
				printf("%s:\n", funcs[fi].name);
		while (is_insn && li < nl && lines[li].insn <= idx) {
			const struct skep_line_info *l = &lines[li++];
			if (l->insn == idx && (l->line != last_line || l->file != last_file) && *l->text) {
				const char *base = strrchr(l->file, '/');
				printf("; %s  [%s:%u]\n", l->text, base ? base + 1 : l->file, l->line);
				last_line = l->line;
				last_file = l->file;
			}
		}
		invalid += strstr(ln, "<invalid") != NULL;
		puts(is_insn && !(flags & SKEP_DISASM_INDEX) ? end + 2 : ln);
	}
	free(text);
	return invalid;
}

static int disasm_object(const char *in, const char *prog, unsigned flags, int jited)
{
	char err[512];
	int rc = 1;
	skep_object *obj = open_object(in, err, sizeof err);
	skep_program *only = obj && (prog || jited) ? object_program(obj, in, prog, err, sizeof err) : NULL;
	if (!obj || ((prog || jited) && !only)) {
		fprintf(stderr, "skep disasm: %s\n", err);
		goto out;
	}
	if (jited) {
		for (skep_program *q = skep_object_next_program(obj, NULL); q; q = skep_object_next_program(obj, q))
			skep_program_set_autoload(q, q == only);
		if (skep_object_load(obj)) {
			fprintf(stderr, "skep disasm: %s: %s\n", in, skep_object_error(obj));
		} else if (jited_disasm_print(stdout, skep_program_prog(only))) {
			fprintf(stderr, "skep disasm: %s: %s\n", in, skep_prog_error(skep_program_prog(only)));
		} else {
			rc = 0;
		}
		goto out;
	}
	size_t invalid = 0;
	int k = 0;
	for (skep_program *q = skep_object_next_program(obj, NULL); q; q = skep_object_next_program(obj, q)) {
		if (only && q != only)
			continue;
		size_t bad = print_object_prog(q, flags, only ? 0 : ++k);
		if (bad == (size_t)-1) {
			fprintf(stderr, "skep disasm: out of memory\n");
			goto out;
		}
		invalid += bad;
	}
	if (fflush(stdout))
		fprintf(stderr, "skep disasm: write failed: %s\n", strerror(errno));
	else if (invalid)
		fprintf(stderr, "skep disasm: %s: %zu invalid instruction%s\n", in, invalid, invalid == 1 ? "" : "s");
	else
		rc = 0;
out:
	skep_object_close(obj);
	return rc;
}

int cmd_disasm(int argc, char **argv)
{
	const char *prog = NULL;
	const char *in = NULL;
	unsigned flags = SKEP_DISASM_INDEX;
	int only_files = 0, jited = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (only_files || a[0] != '-' || !a[1]) {
			if (in) {
				fprintf(stderr, "skep disasm: one input file only ('%s' and '%s')\n", in, a);
				return 2;
			}
			in = a;
		} else if (!strcmp(a, "--")) {
			only_files = 1;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(disasm_usage, stdout);
			return 0;
		} else if (!strcmp(a, "--labels")) {
			flags |= SKEP_DISASM_LABELS;
		} else if (!strcmp(a, "--opcodes")) {
			flags |= SKEP_DISASM_OPCODES;
		} else if (!strcmp(a, "--jited")) {
			jited = 1;
		} else if (!strcmp(a, "--prog")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "skep disasm: --prog needs a program name\n");
				return 2;
			}
			prog = argv[++i];
		} else if (!strcmp(a, "--no-index")) {
			flags &= ~(unsigned)SKEP_DISASM_INDEX;
		} else {
			fprintf(stderr, "skep disasm: unknown option '%s' (see: skep disasm --help)\n", a);
			return 2;
		}
	}
	if (!in) {
		fprintf(stderr, "skep disasm: no input file (see: skep disasm --help)\n");
		return 2;
	}
	if (strcmp(in, "-") && is_elf_file(in))
		return disasm_object(in, prog, flags, jited);
	if (prog) {
		fprintf(stderr, "skep disasm: --prog is for ELF objects\n");
		return 2;
	}
	struct skep_insn *insns = NULL;
	size_t n = 0;
	int rc = 1;
	char err[512];
	if (read_program(in, 1, &insns, &n, err, sizeof err)) {
		fprintf(stderr, "skep disasm: %s\n", err);
		goto out;
	}
	if (jited) {
		rc = print_jited(in, insns, n);
		goto out;
	}
	char *text = skep_disasm_text(insns, n, flags);
	if (!text) {
		fprintf(stderr, "skep disasm: out of memory\n");
		goto out;
	}
	fputs(text, stdout);
	free(text);
	/* count what could not be printed */
	size_t invalid = 0;
	char buf[160];
	for (size_t i = 0; i < n;) {
		int k = skep_insn_disasm(&insns[i], n - i, buf, sizeof buf);
		invalid += k < 0;
		i += k > 0 ? (size_t)k : 1;
	}
	if (fflush(stdout)) {
		fprintf(stderr, "skep disasm: write failed: %s\n", strerror(errno));
	} else if (invalid) {
		fprintf(stderr, "skep disasm: %s: %zu invalid instruction%s\n", in, invalid, invalid == 1 ? "" : "s");
	} else {
		rc = 0;
	}
out:
	free(insns);
	return rc;
}
