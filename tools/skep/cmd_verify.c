/* skep prog verify: run the verifier on a program, as the kernel would at load.
 *
 *   skep prog verify FILE [--prog NAME] [--type TYPE] [--log-level 1|2] [-j]
 *
 * FILE is an ELF object (clang -target bpf: every program, or the one --prog names;
 * each one's type from its section name unless --type overrides it; its maps from the
 * object's definitions, nothing is created), or assembly text (*.s, or text) or raw
 * bytecode with --type (xdp, socket, tc, kprobe, tracepoint, ...).
 * Refusals name the instruction, the reason and, for objects with BTF line info, the
 * source line. -j prints one JSON object per program, one a line.
 * Exit status: 0 every program accepted, 1 one refused (or unreadable input), 2 bad usage
 * (the reason and a one-line hint on stderr). With -j (anywhere on the line) every error is
 * also one JSON object on stdout: {"error": ...} for bad usage, {"accepted": false,
 * "error": ...} for an input that could not be verified. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "json.h"
#include "util.h"
#include "skep/insn.h"
#include "skep/object.h"
#include "skep/verifier.h"

#define USAGE "usage: skep prog verify FILE [--prog NAME] [--type TYPE] [--log-level 1|2] [-j]"
#define LOG_SIZE ((size_t)16 << 20)

struct vopts {
	const char *file, *type, *prog;
	int type_id, level, json;
};

static void help(void)
{
	printf(USAGE "\n\nVerify the programs of FILE as the kernel's verifier would at load.\n"
	       "FILE is an ELF object (every program, or the one --prog names; the type comes\n"
	       "from each program's section, the maps from the object), or assembly text or\n"
	       "raw bytecode given --type:\n"
	       "xdp, socket (socket_filter), tc (sched_cls), sched_act, kprobe, tracepoint,\n"
	       "raw_tracepoint, perf_event, cgroup_skb, cgroup_sock, sock_ops, cgroup_sock_addr.\n\n"
	       "  --prog NAME     only this program of the object\n"
	       "  --type TYPE     the program type (objects: overrides the section's)\n"
	       "  --log-level N   1: the failing path, 2: every instruction with its state\n"
	       "  -j, --json      one JSON object per program, one a line: prog, accepted, error,\n"
	       "                  insn, source, processed_insns, verification_us, states, log\n"
	       "Exit status 0 when every program is accepted, 1 when one is refused, 2 on bad usage.\n");
}

/* One program's verdict, as text or one JSON line. */
static void report(const struct vopts *o, const char *name, size_t n, const struct skep_verify_result *r,
		   const char *log)
{
	if (o->json) {
		struct json j;
		json_init(&j, stdout);
		json_obj(&j, NULL);
		if (name)
			json_str(&j, "prog", name);
		json_bool(&j, "accepted", r->accepted);
		if (!r->accepted) {
			json_str(&j, "error", r->msg);
			json_i64(&j, "insn", r->insn);
			json_i64(&j, "errno", r->error);
		}
		json_u64(&j, "insns", n);
		json_u64(&j, "processed_insns", r->processed_insns);
		json_u64(&j, "verification_us", r->verification_us);
		json_u64(&j, "total_states", r->total_states);
		json_u64(&j, "peak_states", r->peak_states);
		json_u64(&j, "max_states_per_insn", r->max_states_per_insn);
		json_u64(&j, "stack_depth", r->stack_depth);
		if (log)
			json_str(&j, "log", log);
		json_end(&j);
		json_nl(&j);
		return;
	}
	if (log)
		fputs(log, stdout);
	if (name)
		printf("%s: ", name);
	if (r->accepted)
		printf("accepted: %zu insns, processed %llu, %u states, %llu us\n", n,
		       (unsigned long long)r->processed_insns, r->total_states,
		       (unsigned long long)r->verification_us);
	else
		printf("refused: %s\n", r->msg);
}

/* An error that stops before any verdict: exit 1, and {"error": ...} with -j. */
static int failed(const struct vopts *o, const char *msg)
{
	fprintf(stderr, "skep prog verify: %s\n", msg);
	if (o->json) {
		struct json j;
		json_init(&j, stdout);
		json_obj(&j, NULL);
		json_bool(&j, "accepted", 0);
		json_str(&j, "error", msg);
		json_end(&j);
		json_nl(&j);
	}
	return 1;
}

/* Bad usage: exit 2, the reason and where to look on stderr, {"error": ...} with -j. */
static int usage_err(const struct vopts *o, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "skep prog verify: %s (try: skep prog verify --help)\n", msg);
	if (o->json) {
		struct json j;
		json_init(&j, stdout);
		json_obj(&j, NULL);
		json_str(&j, "error", msg);
		json_end(&j);
		json_nl(&j);
	}
	return 2;
}

static int verify_object(const struct vopts *o, char *log)
{
	char err[512];
	skep_object *obj = open_object(o->file, err, sizeof err);
	if (!obj)
		return failed(o, err);
	int rc = 0, count = 0;
	if (o->prog && !skep_object_find_program_by_name(obj, o->prog)) {
		object_program(obj, o->file, o->prog, err, sizeof err);  /* lists the choices */
		skep_object_close(obj);
		return failed(o, err);
	}
	for (skep_program *p = skep_object_next_program(obj, NULL); p; p = skep_object_next_program(obj, p)) {
		if (o->prog && strcmp(skep_program_name(p), o->prog))
			continue;
		count++;
		if (o->type)
			skep_program_set_type(p, (uint32_t)o->type_id);
		size_t n;
		skep_program_insns(p, &n);
		struct skep_verify_opts vo = {.sz = sizeof vo, .log_level = o->level, .log_buf = log,
					      .log_size = log ? LOG_SIZE : 0};
		struct skep_verify_result r;
		int e = skep_program_verify(p, &vo, &r);
		if (e) {
			snprintf(err, sizeof err, "%s: program '%s': the verifier could not run: %s", o->file,
				 skep_program_name(p), strerror(-e));
			rc = failed(o, err);
			continue;
		}
		report(o, skep_program_name(p), n, &r, log);
		rc |= !r.accepted;
		skep_verify_result_free(&r);
	}
	skep_object_close(obj);
	if (!count)
		return failed(o, "the object has no programs");
	return rc;
}

static int verify_insns(const struct vopts *o, char *log)
{
	struct skep_insn *insns;
	size_t n;
	char err[512];
	if (read_program(o->file, 1, &insns, &n, err, sizeof err))
		return failed(o, err);  /* unreadable or malformed input: a failed operation */
	struct skep_verify_opts vo = {.sz = sizeof vo, .prog_type = (uint32_t)o->type_id, .log_level = o->level,
				      .log_buf = log, .log_size = log ? LOG_SIZE : 0};
	struct skep_verify_result r;
	int e = skep_verify(insns, n, &vo, &r);
	free(insns);
	if (e) {
		snprintf(err, sizeof err, "the verifier could not run: %s", strerror(-e));
		return failed(o, err);
	}
	report(o, NULL, n, &r, log);
	int accepted = r.accepted;
	skep_verify_result_free(&r);
	return accepted ? 0 : 1;
}

int cmd_prog_verify(int argc, char **argv)
{
	struct vopts o = {0};
	for (int i = 1; i < argc; i++)  /* before parsing: a usage error is JSON too */
		o.json |= !strcmp(argv[i], "-j") || !strcmp(argv[i], "--json");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			help();
			return 0;
		} else if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			o.json = 1;
		} else if ((!strcmp(a, "--type") || !strcmp(a, "--prog") || !strcmp(a, "--log-level")) &&
			   i + 1 >= argc) {
			return usage_err(&o, "%s needs a value", a);
		} else if (!strcmp(a, "--type")) {
			o.type = argv[++i];
		} else if (!strcmp(a, "--prog")) {
			o.prog = argv[++i];
		} else if (!strcmp(a, "--log-level")) {
			char *end;
			o.level = (int)strtol(argv[++i], &end, 10);
			if (*end || o.level < 1 || o.level > 2) {
				return usage_err(&o, "--log-level takes 1 or 2");
			}
		} else if (a[0] == '-' && a[1]) {
			return usage_err(&o, "unknown option '%s'", a);
		} else if (!o.file) {
			o.file = a;
		} else {
			return usage_err(&o, "one FILE only, not '%s' too", a);
		}
	}
	if (!o.file) {
		return usage_err(&o, "no FILE");
	}
	if (o.type && (o.type_id = skep_verify_type_by_name(o.type)) < 0) {
		return usage_err(&o, "unknown program type '%s'", o.type);
	}
	int elf = strcmp(o.file, "-") && is_elf_file(o.file);
	if (!elf && !o.type) {
		return usage_err(&o, "--type is needed for assembly and bytecode");
	}
	if (!elf && o.prog) {
		return usage_err(&o, "--prog names a program of an ELF object; %s is not one", o.file);
	}
	char *log = o.level ? malloc(LOG_SIZE) : NULL;
	if (o.level && !log)
		return failed(&o, strerror(ENOMEM));
	int rc = elf ? verify_object(&o, log) : verify_insns(&o, log);
	free(log);
	return rc;
}
