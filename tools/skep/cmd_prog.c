/* skep prog: run programs.
 *
 *   skep prog run FILE [--data-hex HEX | --data-in FILE] [--data-out FILE]
 *                      [--repeat N] [--engine interp|checked|jit] [-j]
 *
 * FILE is assembly text (*.s) or raw bytecode. It runs as a memory program (r1 = data,
 * r2 = its length), every repeat on the same buffer, as the kernel's test run does. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmds.h"
#include "util.h"
#include "skep/insn.h"
#include "skep/prog.h"

#define USAGE "usage: skep prog run FILE [--data-hex HEX | --data-in FILE] [--data-out FILE] " \
	      "[--repeat N] [--engine interp|checked|jit] [-j]"

static void help(FILE *f)
{
	fprintf(f, USAGE "\n\n"
		"Run FILE (assembly text if it ends in .s, else raw bytecode) as a memory\n"
		"program: r1 = the data, r2 = its length. Prints r0 and the mean duration.\n\n"
		"  --data-hex HEX     input data as hex bytes (spaces allowed)\n"
		"  --data-in FILE     input data from a file\n"
		"  --data-out FILE    write the data as left by the last run\n"
		"  --repeat N         run N times on the same buffer (default 1)\n"
		"  --engine E         interp, checked (bounds-checked interpreter) or jit;\n"
		"                     default: jit when available, else interp\n"
		"  -j, --json         one JSON object: retval, duration_ns, data_out, repeat, engine\n");
}

static int bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "skep prog: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (try: skep prog run --help)\n");
	return 2;
}

/* Whole file into a malloc'ed buffer (NUL-terminated); NULL with errno set. */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Hex bytes, whitespace between them ignored; -1 if malformed. */
static long parse_hex(const char *s, uint8_t *out)
{
	long n = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	while (*s) {
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == ':') {
			s++;
			continue;
		}
		int hi = hexval(s[0]), lo = hi < 0 ? -1 : hexval(s[1]);
		if (lo < 0)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	return n;
}


static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

struct opts {
	const char *file, *data_hex, *data_in, *data_out, *engine;
	unsigned long repeat;
	int json;
};

/* A failed operation: the message on stderr, and as {"error": ...} in JSON mode. */
static int failed(const struct opts *o, const char *what, const char *msg)
{
	fprintf(stderr, "skep prog run: %s%s%s\n", what ? what : "", what ? ": " : "", msg);
	if (o->json) {
		char buf[1024];
		snprintf(buf, sizeof buf, "%s%s%s", what ? what : "", what ? ": " : "", msg);
		printf("{\"error\": ");
		json_string(stdout, buf);
		printf("}\n");
	}
	return 1;
}

/* Read FILE into instructions: assembly text or raw bytecode. */
static int load_insns(const struct opts *o, struct skep_insn **insns, size_t *n)
{
	char err[512];
	return read_program(o->file, 0, insns, n, err, sizeof err) ? failed(o, NULL, err) : 0;
}

static int run(const struct opts *o)
{
	uint8_t *data = NULL;
	size_t len = 0;
	if (o->data_hex) {
		data = malloc(strlen(o->data_hex) / 2 + 1);
		long n = data ? parse_hex(o->data_hex, data) : -1;
		if (n < 0) {
			free(data);
			return bad_usage("--data-hex: '%s' is not a sequence of hex bytes", o->data_hex);
		}
		len = (size_t)n;
	} else if (o->data_in) {
		data = (uint8_t *)read_file(o->data_in, &len);
		if (!data)
			return failed(o, o->data_in, strerror(errno));
	}

	struct skep_insn *insns = NULL;
	size_t n = 0;
	skep_prog *p = NULL;
	int rc = load_insns(o, &insns, &n);
	if (rc)
		goto out;
	p = skep_prog_new();
	if (!p) {
		rc = failed(o, NULL, strerror(ENOMEM));
		goto out;
	}
	if (skep_prog_load(p, insns, n)) {
		rc = failed(o, o->file, skep_prog_error(p));
		goto out;
	}
	const char *engine = o->engine;
	if (!engine || !strcmp(engine, "jit")) {
		if (skep_prog_set_engine(p, SKEP_ENGINE_JIT) == 0) {
			engine = "jit";
			if (skep_prog_fallback_reason(p)) {
				fprintf(stderr, "skep prog run: running on the interpreter: the JIT cannot compile this program: %s\n",
					skep_prog_fallback_reason(p));
				engine = "interp";
			}
		} else if (engine) {
			rc = failed(o, "jit", skep_prog_error(p));
			goto out;
		} else
			engine = "interp";  /* default: fall back silently */
	} else if (!strcmp(engine, "checked")) {
		skep_prog_set_engine(p, SKEP_ENGINE_CHECKED);
	}

	/* zero-length data still needs a valid pointer for r1 */
	uint8_t dummy = 0;
	void *mem = data ? (void *)data : (void *)&dummy;
	uint64_t r0 = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned long i = 0; i < o->repeat; i++) {
		int err = skep_prog_run_mem(p, mem, len, &r0);
		if (err) {
			rc = failed(o, o->file, skep_prog_error(p));
			goto out;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	uint64_t ns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)(t1.tv_nsec - t0.tv_nsec);
	uint64_t mean = ns / o->repeat;

	if (o->data_out) {
		FILE *f = fopen(o->data_out, "wb");
		if (!f || fwrite(mem, 1, len, f) != len || fclose(f)) {
			rc = failed(o, o->data_out, strerror(errno));
			goto out;
		}
	}
	if (o->json) {
		printf("{\"retval\": %llu, \"duration_ns\": %llu, \"data_out\": \"",
		       (unsigned long long)r0, (unsigned long long)mean);
		for (size_t i = 0; i < len; i++)
			printf("%02x", ((uint8_t *)mem)[i]);
		printf("\", \"repeat\": %lu, \"engine\": \"%s\"}\n", o->repeat, engine);
	} else {
		printf("retval: 0x%llx (%llu)\n", (unsigned long long)r0, (unsigned long long)r0);
		printf("duration: %llu ns (mean of %lu run%s)\n", (unsigned long long)mean, o->repeat,
		       o->repeat == 1 ? "" : "s");
	}
out:
	skep_prog_free(p);
	free(insns);
	free(data);
	return rc;
}

static int cmd_run(int argc, char **argv)
{
	struct opts o = {.repeat = 1};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			help(stdout);
			return 0;
		} else if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			o.json = 1;
			continue;
		} else if (!strcmp(a, "--data-hex")) {
			slot = &o.data_hex;
		} else if (!strcmp(a, "--data-in")) {
			slot = &o.data_in;
		} else if (!strcmp(a, "--data-out")) {
			slot = &o.data_out;
		} else if (!strcmp(a, "--engine")) {
			slot = &o.engine;
		} else if (!strcmp(a, "--repeat")) {
			if (i + 1 >= argc)
				return bad_usage("%s needs a value", a);
			char *end;
			errno = 0;
			o.repeat = strtoul(argv[++i], &end, 10);
			if (errno || *end || !*argv[i] || argv[i][0] == '-' || o.repeat > 1000000000ul)
				return bad_usage("--repeat: '%s' is not a count", argv[i]);
			if (o.repeat == 0)  /* as the kernel's test run: 0 means once */
				o.repeat = 1;
			continue;
		} else if (a[0] == '-' && a[1]) {
			return bad_usage("unknown option '%s'", a);
		} else if (o.file) {
			return bad_usage("unexpected argument '%s'", a);
		} else {
			o.file = a;
			continue;
		}
		if (i + 1 >= argc)
			return bad_usage("%s needs a value", a);
		*slot = argv[++i];
	}
	if (!o.file)
		return bad_usage("%s", "run needs a program FILE");
	if (o.data_hex && o.data_in)
		return bad_usage("%s", "--data-hex and --data-in exclude each other");
	if (o.engine && strcmp(o.engine, "interp") && strcmp(o.engine, "checked") &&
	    strcmp(o.engine, "jit"))
		return bad_usage("--engine: '%s' is not interp, checked or jit", o.engine);
	return run(&o);
}

int cmd_prog(int argc, char **argv)
{
	if (argc < 2)
		return bad_usage("%s", "missing subcommand");
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		printf("usage: skep prog run ...   run a program on data (see skep prog run --help)\n");
		return 0;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	return bad_usage("unknown subcommand '%s'", argv[1]);
}
