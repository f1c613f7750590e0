/* skep: the command line. One file per subcommand; this one dispatches. */
#include <stdio.h>
#include <string.h>

#include "cmds.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} cmds[] = {
	{"asm", cmd_asm, "assemble eBPF assembly text into bytecode"},
	{"disasm", cmd_disasm, "disassemble bytecode"},
	{"prog", cmd_prog, "run and list programs (prog run, prog list)"},
	{"map", cmd_map, "list the maps of an ELF object (map list)"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: skep COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\nskep COMMAND --help shows a command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("skep " SKEP_VERSION "\n");
		return 0;
	}
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "skep: unknown command '%s' (try: skep help)\n", argv[1]);
	return 2;
}
