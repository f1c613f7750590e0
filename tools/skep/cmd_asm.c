/* skep asm: assembly text -> raw bytecode (8 bytes per instruction, little-endian). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"
#include "util.h"
#include "skep/insn.h"

static const char asm_usage[] =
	"usage: skep asm [-o OUT] FILE\n"
	"\n"
	"Assemble eBPF assembly text into raw bytecode: 8 bytes per instruction, little-endian,\n"
	"as the kernel's struct bpf_insn.\n"
	"\n"
	"  FILE      assembly text, - for standard input. Syntax is llvm-objdump's\n"
	"            (r0 = *(u32 *)(r1 + 4), if r1 s> 0x10 goto +3, r1 = 0x1 ll, call 1, exit);\n"
	"            the kernel verifier log's spellings (goto pc+3, (r1 +4),\n"
	"            call bpf_map_lookup_elem#1), helper names, labels (name: ... goto name),\n"
	"            comments (# ; //) and '.insn CODE DST SRC OFF IMM' for raw instructions\n"
	"            are accepted too. Instructions are not validated here (the loader does).\n"
	"  -o OUT    write the bytecode to OUT, - for standard output. Without -o it goes to\n"
	"            standard output, unless that is a terminal.\n"
	"  -h, --help  show this help\n"
	"\n"
	"Exit status: 0 assembled, 1 bad input or I/O error, 2 bad usage.\n";


int cmd_asm(int argc, char **argv)
{
	const char *in = NULL, *outp = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(asm_usage, stdout);
			return 0;
		} else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
			if (++i == argc) {
				fprintf(stderr, "skep asm: %s needs a file name\n", a);
				return 2;
			}
			outp = argv[i];
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "skep asm: unknown option '%s' (see: skep asm --help)\n", a);
			return 2;
		} else if (in) {
			fprintf(stderr, "skep asm: one input file only ('%s' and '%s')\n", in, a);
			return 2;
		} else {
			in = a;
		}
	}
	if (!in) {
		fprintf(stderr, "skep asm: no input file (see: skep asm --help)\n");
		return 2;
	}
	int to_stdout = !outp || !strcmp(outp, "-");
	if (!outp && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "skep asm: not writing bytecode to a terminal; use -o FILE\n");
		return 2;
	}
	size_t len;
	char *text = read_file(in, &len);
	if (!text) {
		fprintf(stderr, "skep asm: %s: %s\n", in, strerror(errno));
		return 1;
	}
	if (strlen(text) != len) {
		fprintf(stderr, "skep asm: %s: contains a NUL byte; is it bytecode rather than text?\n", in);
		free(text);
		return 1;
	}
	struct skep_insn *insns;
	size_t n;
	struct skep_diag d;
	int err = skep_assemble(text, &insns, &n, &d);
	free(text);
	if (err) {
		fprintf(stderr, "skep asm: %s: %s\n", in, d.msg[0] ? d.msg : strerror(-err));
		return 1;
	}
	FILE *f = to_stdout ? stdout : fopen(outp, "wb");
	if (!f) {
		fprintf(stderr, "skep asm: %s: %s\n", outp, strerror(errno));
		free(insns);
		return 1;
	}
	int bad = 0;
	for (size_t i = 0; i < n && !bad; i++) {
		const struct skep_insn *x = &insns[i];
		uint32_t imm = (uint32_t)x->imm;
		uint8_t b[8] = {x->code, (uint8_t)(x->src << 4 | x->dst), (uint8_t)x->off,
				(uint8_t)((uint16_t)x->off >> 8), (uint8_t)imm, (uint8_t)(imm >> 8),
				(uint8_t)(imm >> 16), (uint8_t)(imm >> 24)};
		bad = fwrite(b, 1, 8, f) != 8;
	}
	bad |= to_stdout ? fflush(f) != 0 : fclose(f) != 0;
	free(insns);
	if (bad) {
		fprintf(stderr, "skep asm: %s: write failed: %s\n", to_stdout ? "standard output" : outp,
			strerror(errno));
		return 1;
	}
	return 0;
}
