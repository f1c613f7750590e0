/* skep prog: run and list programs.
 *
 *   skep prog run FILE [--prog NAME] [--data-hex HEX | --data-in FILE] [--data-out FILE]
 *                      [--ctx-in FILE] [--ctx-out FILE]
 *                      [--repeat N] [--engine interp|checked|jit] [--no-verify] [-j]
 *   skep prog list OBJ.o [-j]
 *
 * FILE is assembly text (*.s) or raw bytecode: it runs as a memory program (r1 = data,
 * r2 = its length), every repeat on the same buffer, as the kernel's test run does.
 * FILE may also be an ELF object (clang -target bpf): its program NAME (--prog; the only
 * one by default) is loaded with the object's maps and runs as BPF_PROG_TEST_RUN runs
 * a program of its section's type (the packet from --data-*, the context from --ctx-in). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmds.h"
#include "progobj.h"
#include "util.h"
#include "skep/insn.h"
#include "skep/object.h"
#include "skep/prog.h"
#include "skep/testrun.h"

#define USAGE "usage: skep prog run FILE [--prog NAME] [--data-hex HEX | --data-in FILE] [--data-out FILE] " \
	      "[--ctx-in FILE] [--ctx-out FILE] [--repeat N] [--engine interp|checked|jit] [--no-verify] [-j]\n" \
	      "       skep prog list OBJ.o [-j]"

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
		"  -j, --json         one JSON object: retval, duration_ns, data_out, repeat, engine\n"
		"\nELF objects (FILE.o built with clang -target bpf):\n"
		"  --prog NAME        the program to run (default: the object's only program)\n"
		"  --ctx-in FILE      the context the program sees (struct xdp_md, __sk_buff, pt_regs ...)\n"
		"  --ctx-out FILE     write the context as the last run left it\n"
		"  --no-verify        load without the verifier (it runs by default, as in the\n"
		"                     kernel): only the checked engine may then run the program\n"
		"The program runs as BPF_PROG_TEST_RUN runs its section's type; with --ctx-in or\n"
		"--ctx-out, -j adds ctx_out.\n");
}

static void json_string(FILE *f, const char *s);
static int run_json;  /* prog run -j (anywhere on the line): errors as {"error": ...} on stdout too */

/* Bad usage of prog run: exit 2, the reason and the hint on stderr, JSON with -j. */
static int bad_usage(const char *fmt, const char *arg)
{
	char msg[600];
	snprintf(msg, sizeof msg, fmt, arg);
	fprintf(stderr, "skep prog run: %s (try: skep prog run --help)\n", msg);
	if (run_json) {
		printf("{\"error\": ");
		json_string(stdout, msg);
		printf("}\n");
	}
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
	const char *file, *data_hex, *data_in, *data_out, *engine, *prog, *ctx_in, *ctx_out;
	unsigned long repeat;
	int json, no_verify;
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

static int write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	int ok = f && fwrite(p, 1, n, f) == n;
	return (f && fclose(f)) || !ok ? -1 : 0;
}

static void hex_out(const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", ((const uint8_t *)p)[i]);
}

/* An ELF object's program, run as the kernel's test run runs its type. */
static int run_object(const struct opts *o, const uint8_t *data, size_t len)
{
	char err[512];
	int rc = 1;
	size_t ctx_len = 0;
	uint8_t *ctx = NULL, *data_out = NULL, *ctx_out = NULL;
	skep_object *obj = open_object(o->file, err, sizeof err);
	skep_program *p = obj ? object_program(obj, o->file, o->prog, err, sizeof err) : NULL;
	if (!p) {
		rc = failed(o, NULL, err);
		goto out;
	}
	if (o->ctx_in && !(ctx = (uint8_t *)read_file(o->ctx_in, &ctx_len))) {
		rc = failed(o, o->ctx_in, strerror(errno));
		goto out;
	}
	for (skep_program *q = skep_object_next_program(obj, NULL); q; q = skep_object_next_program(obj, q))
		skep_program_set_autoload(q, q == p);
	/* verified by default; --no-verify loads it unverified: checked engine only */
	struct skep_object_load_opts lo = {.sz = sizeof lo, .no_verify = o->no_verify};
	if (skep_object_load_with(obj, &lo)) {
		rc = failed(o, o->file, skep_object_error(obj));
		goto out;
	}
	skep_prog *sp = skep_program_prog(p);
	const char *engine = o->engine ? o->engine : o->no_verify ? "checked" : "jit";
	int eng = !strcmp(engine, "interp") ? SKEP_ENGINE_INTERP : !strcmp(engine, "checked") ? SKEP_ENGINE_CHECKED
		: SKEP_ENGINE_JIT;
	if (skep_prog_set_engine(sp, eng)) {
		if (o->engine) {
			rc = failed(o, engine, skep_prog_error(sp));
			goto out;
		}
		engine = "interp";
	} else if (eng == SKEP_ENGINE_JIT && skep_prog_fallback_reason(sp)) {
		fprintf(stderr, "skep prog run: running on the interpreter: the JIT cannot compile this program: %s\n",
			skep_prog_fallback_reason(sp));
		engine = "interp";
	}
	size_t out_cap = len + 4096, ctx_cap = 4096;
	data_out = malloc(out_cap);
	ctx_out = malloc(ctx_cap);
	if (!data_out || !ctx_out) {
		rc = failed(o, NULL, strerror(ENOMEM));
		goto out;
	}
	int want_ctx = o->ctx_out || ctx;
	struct skep_test_run_opts t = {
		.data_in = len ? data : NULL, .data_size_in = (uint32_t)len, .data_out = data_out,
		.data_size_out = (uint32_t)out_cap, .ctx_in = ctx, .ctx_size_in = (uint32_t)ctx_len,
		/* only when asked for: as in the kernel, a ctx_out alone makes the run build a
		 * zeroed context (an XDP packet's linear part then is empty) */
		.ctx_out = want_ctx ? ctx_out : NULL, .ctx_size_out = want_ctx ? (uint32_t)ctx_cap : 0,
		.repeat = (int)o->repeat,
	};
	int e = skep_prog_test_run(sp, &t);
	if (e) {
		rc = failed(o, skep_program_name(p), skep_prog_error(sp));
		goto out;
	}
	if (o->data_out && write_file(o->data_out, data_out, t.data_size_out)) {
		rc = failed(o, o->data_out, strerror(errno));
		goto out;
	}
	if (o->ctx_out && write_file(o->ctx_out, ctx_out, t.ctx_size_out)) {
		rc = failed(o, o->ctx_out, strerror(errno));
		goto out;
	}
	if (o->json) {
		printf("{\"retval\": %u, \"duration_ns\": %u, \"data_out\": \"", t.retval, t.duration);
		hex_out(data_out, t.data_size_out);
		if (want_ctx) {
			printf("\", \"ctx_out\": \"");
			hex_out(ctx_out, t.ctx_size_out);
		}
		printf("\", \"repeat\": %lu, \"engine\": \"%s\", \"prog\": ", o->repeat, engine);
		json_string(stdout, skep_program_name(p));
		printf("}\n");
	} else {
		printf("retval: 0x%x (%u)\n", t.retval, t.retval);
		printf("duration: %u ns (mean of %lu run%s)\n", t.duration, o->repeat, o->repeat == 1 ? "" : "s");
		if (t.data_size_out && !o->data_out) {
			printf("data_out: ");
			hex_out(data_out, t.data_size_out);
			printf("\n");
		}
	}
	rc = 0;
out:
	free(ctx);
	free(data_out);
	free(ctx_out);
	skep_object_close(obj);
	return rc;
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

	if (strcmp(o->file, "-") && is_elf_file(o->file)) {
		int r = run_object(o, data, len);
		free(data);
		return r;
	}
	if (o->prog || o->ctx_in || o->ctx_out || o->no_verify) {
		free(data);
		return bad_usage("%s", "--prog, --ctx-in, --ctx-out and --no-verify are for ELF objects");
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
	run_json = 0;
	for (int i = 1; i < argc; i++)
		run_json |= !strcmp(argv[i], "-j") || !strcmp(argv[i], "--json");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			help(stdout);
			return 0;
		} else if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			o.json = 1;
			continue;
		} else if (!strcmp(a, "--no-verify")) {
			o.no_verify = 1;
			continue;
		} else if (!strcmp(a, "--data-hex")) {
			slot = &o.data_hex;
		} else if (!strcmp(a, "--data-in")) {
			slot = &o.data_in;
		} else if (!strcmp(a, "--data-out")) {
			slot = &o.data_out;
		} else if (!strcmp(a, "--engine")) {
			slot = &o.engine;
		} else if (!strcmp(a, "--prog")) {
			slot = &o.prog;
		} else if (!strcmp(a, "--ctx-in")) {
			slot = &o.ctx_in;
		} else if (!strcmp(a, "--ctx-out")) {
			slot = &o.ctx_out;
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

/* skep prog list OBJ.o: the programs of an object, as the loader finds them. */
static int prog_list(int argc, char **argv)
{
	const char *file = NULL;
	int json = 0;
	for (int i = 1; i < argc; i++)
		json |= !strcmp(argv[i], "-j") || !strcmp(argv[i], "--json");
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json"))
			continue;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: skep prog list OBJ.o [-j]\n\nList the programs of an ELF object: name, section, "
			       "type, attach target, instructions (with subprograms), whether Skep can run it.\n");
			return 0;
		} else if (argv[i][0] == '-' && argv[i][1])
			return progobj_usage("list", json, "unknown option '%s'", argv[i]);
		else if (file)
			return progobj_usage("list", json, "unexpected argument '%s'", argv[i]);
		else
			file = argv[i];
	}
	if (!file)
		return progobj_usage("list", json, "missing the object file OBJ.o");
	char err[512];
	skep_object *obj = open_object(file, err, sizeof err);
	if (!obj)
		return progobj_fail("list", json, "%s", err);
	if (json)
		printf("[");
	int first = 1;
	for (skep_program *p = skep_object_next_program(obj, NULL); p; p = skep_object_next_program(obj, p), first = 0) {
		size_t n;
		skep_program_insns(p, &n);
		const char *why = skep_program_unsupported(p);
		if (json) {
			printf("%s{\"name\": ", first ? "" : ", ");
			json_string(stdout, skep_program_name(p));
			printf(", \"section\": ");
			json_string(stdout, skep_program_section_name(p));
			printf(", \"type\": \"%s\", \"attach_type\": %u, \"attach_target\": ",
			       prog_type_str(skep_program_type(p)), skep_program_expected_attach_type(p));
			json_string(stdout, skep_program_attach_target(p));
			printf(", \"insns\": %zu, \"runs\": %s}", n, why ? "false" : "true");
		} else {
			printf("%s: %s  section %s  %zu insns", skep_program_name(p), prog_type_str(skep_program_type(p)),
			       skep_program_section_name(p), n);
			if (*skep_program_attach_target(p))
				printf("  target %s", skep_program_attach_target(p));
			if (why)
				printf("  (not runnable: %s)", why);
			printf("\n");
		}
	}
	if (json)
		printf("]\n");
	skep_object_close(obj);
	return 0;
}

int cmd_prog(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "skep prog: missing subcommand: list, show, dump, verify or run (see: skep prog help)\n");
		return 2;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return help_show("prog", argc > 2 ? argv[2] : NULL);
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "list"))
		return prog_list(argc - 1, argv + 1);
	if (!strcmp(argv[1], "verify"))
		return cmd_prog_verify(argc - 1, argv + 1);
	if (!strcmp(argv[1], "show"))
		return cmd_prog_show(argc - 1, argv + 1);
	if (!strcmp(argv[1], "dump"))
		return cmd_prog_dump(argc - 1, argv + 1);
	fprintf(stderr, "skep prog: unknown subcommand '%s' (see: skep prog help)\n", argv[1]);
	return 2;
}
