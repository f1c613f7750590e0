/* skep: the command line. One file per subcommand; this one dispatches, and prints the
 * help that help.def describes: `skep help [CMD [SUB]]`, `skep CMD help|--help`, the man
 * page (`skep help --man`) and bash completion words (`skep help --complete WORDS`). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};
struct sub {
	const char *cmd, *synopsis, *text;
};
struct ex {
	const char *cmd, *line, *what;
};

#define CMD(n, f, s) {#n, f, s},
#define SUB(c, s, t)
#define EX(c, l, w)
static const struct cmd cmds[] = {
#include "help.def"
};
#undef CMD
#undef SUB
#define CMD(n, f, s)
#define SUB(c, s, t) {#c, s, t},
static const struct sub subs[] = {
#include "help.def"
};
#undef SUB
#undef EX
#define SUB(c, s, t)
#define EX(c, l, w) {#c, l, w},
static const struct ex exs[] = {
#include "help.def"
};
#undef CMD
#undef SUB
#undef EX
#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char intro[] =
	"Skep is eBPF in user space: the bytecode the kernel runs, with the kernel's verifier, "
	"maps, helpers and program types, in a process. skep assembles, verifies, runs and "
	"inspects programs built with clang -target bpf, edits their maps and attaches them to "
	"processes through uprobes and USDT probes.";
static const char exit_status[] =
	"0 on success; 1 when the operation was refused or failed (the message says why: an "
	"unreadable file, a program the verifier refuses, a missing map); 2 on bad usage (an "
	"unknown command or option, a missing argument), with a one-line hint naming the help "
	"to read. With -j, errors are printed as a JSON object {\"error\": \"...\"} on standard "
	"output as well.";

static const struct cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < N(cmds); i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

/* Text wrapped at 79 columns, each line indented by ind spaces. */
static void wrap(FILE *f, const char *s, int ind)
{
	while (*s) {
		int len = (int)strlen(s), w = 79 - ind, cut = len;
		if (len > w) {
			for (cut = w; cut > 0 && s[cut] != ' '; cut--)
				;
			if (!cut)
				cut = w;
		}
		fprintf(f, "%*s%.*s\n", ind, "", cut, s);
		s += cut;
		while (*s == ' ')
			s++;
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: skep COMMAND [ARGS]   (skep " SKEP_VERSION ")\n\n");
	wrap(f, intro, 0);
	fprintf(f, "\ncommands:\n");
	for (size_t i = 0; i < N(cmds); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "  %-8s %s\n", "help", "this text; skep help COMMAND shows a command's forms and examples");
	fprintf(f, "\nFrom a .bpf.c to a running program:\n");
	for (size_t i = 0; i < N(exs); i++)
		if (!strcmp(exs[i].cmd, "prog"))
			fprintf(f, "  %s\n", exs[i].line);
	fprintf(f, "\nskep help COMMAND, skep COMMAND help: a command's forms, options and examples.\n"
		   "man skep: everything on one page. Exit status: 0 ok, 1 refused, 2 bad usage.\n");
}

/* Does the synopsis name this subcommand ("skep map show|dump MAP": show and dump)? */
static int synopsis_has_sub(const char *syn, const char *cmd, const char *sub)
{
	size_t lc = strlen(cmd), ls = strlen(sub);
	if (strncmp(syn, "skep ", 5) || strncmp(syn + 5, cmd, lc) || syn[5 + lc] != ' ')
		return 0;
	const char *w = syn + 6 + lc;
	for (;;) {
		size_t k = strcspn(w, "| ");
		if (k == ls && !strncmp(w, sub, ls))
			return 1;
		if (w[k] != '|')
			return 0;
		w += k + 1;
	}
}

/* skep help CMD [SUB]: 0, or 2 for an unknown command/subcommand. */
static int help_cmd(FILE *f, const char *name, const char *sub)
{
	const struct cmd *c = find_cmd(name);
	if (!c) {
		fprintf(stderr, "skep: unknown command '%s' (see: skep help)\n", name);
		return 2;
	}
	int shown = 0;
	fprintf(f, "skep %s: %s\n\n", c->name, c->summary);
	for (size_t i = 0; i < N(subs); i++) {
		if (strcmp(subs[i].cmd, name) || (sub && !synopsis_has_sub(subs[i].synopsis, name, sub)))
			continue;
		fprintf(f, "%s", shown++ ? "\n" : "");
		wrap(f, subs[i].synopsis, 2);
		wrap(f, subs[i].text, 6);
	}
	if (!shown) {
		fprintf(stderr, "skep: '%s %s' is not a subcommand (see: skep help %s)\n", name, sub, name);
		return 2;
	}
	int exk = 0;
	for (size_t i = 0; i < N(exs); i++)
		if (!strcmp(exs[i].cmd, name)) {
			fprintf(f, "%s  %s\n      %s\n", exk++ ? "" : "\nexamples:\n", exs[i].line, exs[i].what);
		}
	fprintf(f, "\nExit status: 0 ok, 1 refused or failed, 2 bad usage. -j: JSON output.\n");
	return 0;
}

int help_show(const char *cmd, const char *sub)
{
	return help_cmd(stdout, cmd, sub);
}

/* ---- the man page, in troff (man(7) macros) */

static void roff(FILE *f, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", f);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
	}
}

static void roff_line(FILE *f, const char *macro, const char *s)
{
	if (macro)
		fprintf(f, "%s ", macro);
	roff(f, s);
	fputc('\n', f);
}

static void man(FILE *f)
{
	fprintf(f, ".\\\" Generated by `skep help --man` from tools/skep/help.def: do not edit.\n"
		   ".TH SKEP 8 \"\" \"skep " SKEP_VERSION "\" \"Skep\"\n.SH NAME\n"
		   "skep \\- eBPF in user space: assemble, verify, run and inspect eBPF programs\n"
		   ".SH SYNOPSIS\n.B skep\n.I COMMAND\n.RI [ ARGS ]\n.br\n.B skep help\n.RI [ COMMAND ]\n"
		   ".SH DESCRIPTION\n");
	roff_line(f, NULL, intro);
	fprintf(f, ".PP\nEvery command prints its forms with\n.B skep help\n.IR COMMAND ,\n"
		   ".B skep\n.I COMMAND\n.BR help \" or\" \" \\-\\-help\" .\n"
		   "Commands that take\n.B \\-j\nprint JSON.\n.SH COMMANDS\n");
	for (size_t i = 0; i < N(cmds); i++) {
		roff_line(f, ".SS", cmds[i].name);
		roff_line(f, NULL, cmds[i].summary);
		for (size_t k = 0; k < N(subs); k++)
			if (!strcmp(subs[k].cmd, cmds[i].name)) {
				fputs(".TP\n", f);
				roff_line(f, ".B", subs[k].synopsis);
				roff_line(f, NULL, subs[k].text);
			}
	}
	fputs(".SH EXAMPLES\n", f);
	for (size_t i = 0; i < N(exs); i++) {
		fputs(".TP\n", f);
		roff_line(f, ".B", exs[i].line);
		roff_line(f, NULL, exs[i].what);
	}
	fputs(".SH EXIT STATUS\n", f);
	roff_line(f, NULL, exit_status);
	fputs(".SH ENVIRONMENT\n.TP\n.B SKEP_TRACE_PIPE\n"
	      "Share the trace pipe pinned under this name (what bpf_trace_printk writes to).\n"
	      ".SH FILES\n.TP\n.I /dev/shm/skep\\-NAME\nA map pinned as NAME.\n"
	      ".SH SEE ALSO\n.BR bpftool (8),\n.BR bpf (2),\n.BR clang (1),\n.BR llvm\\-objdump (1)\n", f);
}

/* ---- bash completion: the words that may follow WORDS (the command line so far,
 * without "skep" and the word being completed), one per line. */

static void put_words(const char *s, size_t n, int opts_only)
{
	/* one token, e.g. "[--engine", "interp|checked|jit]", "show|dump" */
	char buf[128];
	if (n >= sizeof buf)
		return;
	memcpy(buf, s, n);
	buf[n] = 0;
	for (char *w = strtok(buf, "[]|"); w; w = strtok(NULL, "[]|")) {
		int opt = w[0] == '-';
		int word = islower((unsigned char)w[0]) && !strchr(w, '.');
		if (opt || (!opts_only && word))
			printf("%s\n", w);
	}
}

static int complete(int argc, char **argv)
{
	if (argc == 0 || (argc == 1 && !strcmp(argv[0], "help"))) {
		for (size_t i = 0; i < N(cmds); i++)
			printf("%s\n", cmds[i].name);
		if (!argc)
			printf("help\n");
		return 0;
	}
	const struct cmd *c = find_cmd(argv[0]);
	if (!c)
		return 0;
	for (size_t i = 0; i < N(subs); i++) {
		if (strcmp(subs[i].cmd, c->name))
			continue;
		const char *s = subs[i].synopsis + 6 + strlen(c->name);  /* after "skep CMD " */
		size_t k = strcspn(s, " ");
		int has_sub = islower((unsigned char)s[0]);
		if (argc == 1 && has_sub) {
			put_words(s, k, 0);
			continue;
		}
		if (has_sub && (argc < 2 || !synopsis_has_sub(subs[i].synopsis, c->name, argv[1])))
			continue;
		for (const char *w = has_sub ? s + k : s; *w;) {
			w += strspn(w, " ");
			size_t n = strcspn(w, " ");
			put_words(w, n, 0);
			w += n;
		}
	}
	if (argc == 1)
		printf("help\n--help\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *a = argv[1];
	if (!strcmp(a, "help") || !strcmp(a, "--help") || !strcmp(a, "-h")) {
		if (argc == 2) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(argv[2], "--man") && argc == 3) {
			man(stdout);
			return 0;
		}
		if (!strcmp(argv[2], "--complete"))
			return complete(argc - 3, argv + 3);
		if (argc > 4 || argv[2][0] == '-') {
			fprintf(stderr, "skep: help takes a command and a subcommand at most (see: skep help)\n");
			return 2;
		}
		return help_cmd(stdout, argv[2], argc == 4 ? argv[3] : NULL);
	}
	if (!strcmp(a, "--version") || !strcmp(a, "version")) {
		printf("skep " SKEP_VERSION "\n");
		return 0;
	}
	const struct cmd *c = find_cmd(a);
	if (!c) {
		fprintf(stderr, "skep: unknown command '%s' (see: skep help)\n", a);
		return 2;
	}
	/* skep CMD help: the command's page from help.def (skep CMD --help is the command's
	 * own, often more detailed: skep asm --help explains the syntax) */
	if (argc == 3 && !strcmp(argv[2], "help"))
		return help_cmd(stdout, a, NULL);
	return c->fn(argc - 1, argv + 1);
}
