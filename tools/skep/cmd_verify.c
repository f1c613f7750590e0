/* skep prog verify: run the verifier on a program, as the kernel would at load.
 *
 *   skep prog verify FILE --type TYPE [--prog NAME] [--log-level 1|2] [-j]
 *
 * FILE is assembly text (*.s, or text) or raw bytecode; TYPE a program type name
 * (xdp, socket, tc, kprobe, tracepoint, ...). ELF objects come with the loader.
 * Exit status: 0 accepted, 1 refused, 2 bad usage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "util.h"
#include "skep/insn.h"
#include "skep/verifier.h"

int cmd_prog_verify(int argc, char **argv);

#define USAGE "usage: skep prog verify FILE --type TYPE [--prog NAME] [--log-level 1|2] [-j]"

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

int cmd_prog_verify(int argc, char **argv)
{
	const char *file = NULL, *type = NULL, *prog = NULL;
	int level = 0, json = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf(USAGE "\n\nVerify FILE (assembly text or raw bytecode) as a program of TYPE:\n"
			       "xdp, socket (socket_filter), tc (sched_cls), sched_act, kprobe, tracepoint,\n"
			       "raw_tracepoint, perf_event, cgroup_skb, cgroup_sock, sock_ops, cgroup_sock_addr.\n\n"
			       "  --log-level N   1: the failing path, 2: every instruction with its state\n"
			       "  -j, --json      one JSON object: accepted, error, insn, processed_insns,\n"
			       "                  verification_us, total_states, peak_states\n"
			       "Exit status 0 when accepted, 1 when refused, 2 on bad usage.\n");
			return 0;
		} else if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			json = 1;
		} else if (!strcmp(a, "--type") && i + 1 < argc) {
			type = argv[++i];
		} else if (!strcmp(a, "--prog") && i + 1 < argc) {
			prog = argv[++i];
		} else if (!strcmp(a, "--log-level") && i + 1 < argc) {
			char *end;
			level = (int)strtol(argv[++i], &end, 10);
			if (*end || level < 1 || level > 2) {
				fprintf(stderr, "skep prog verify: --log-level takes 1 or 2\n");
				return 2;
			}
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "skep prog verify: unknown option '%s' (" USAGE ")\n", a);
			return 2;
		} else if (!file) {
			file = a;
		} else {
			fprintf(stderr, "skep prog verify: one FILE only (" USAGE ")\n");
			return 2;
		}
	}
	if (!file) {
		fprintf(stderr, "skep prog verify: no FILE (" USAGE ")\n");
		return 2;
	}
	if (!type) {
		fprintf(stderr, "skep prog verify: --type is needed for assembly and bytecode (" USAGE ")\n");
		return 2;
	}
	int t = skep_verify_type_by_name(type);
	if (t < 0) {
		fprintf(stderr, "skep prog verify: unknown program type '%s'\n", type);
		return 2;
	}
	if (prog) {
		fprintf(stderr, "skep prog verify: --prog needs an ELF object (not supported for %s yet)\n", file);
		return 2;
	}
	struct skep_insn *insns;
	size_t n;
	char err[512];
	if (read_program(file, 1, &insns, &n, err, sizeof err)) {
		fprintf(stderr, "skep prog verify: %s\n", err);
		return 1;  /* unreadable or malformed input: a failed operation, not bad usage */
	}
	size_t logsz = level ? (size_t)64 << 20 : 0;
	char *log = logsz ? malloc(logsz) : NULL;
	struct skep_verify_opts o = {.sz = sizeof o, .prog_type = (uint32_t)t, .log_level = level,
				     .log_buf = log, .log_size = log ? logsz : 0};
	struct skep_verify_result r;
	int rc = skep_verify(insns, n, &o, &r);
	free(insns);
	if (rc) {
		fprintf(stderr, "skep prog verify: %s\n", strerror(-rc));
		free(log);
		return 1;
	}
	if (json) {
		printf("{\"accepted\":%s,", r.accepted ? "true" : "false");
		if (!r.accepted) {
			printf("\"error\":");
			json_str(stdout, r.msg);
			printf(",\"insn\":%ld,", r.insn);
		}
		printf("\"processed_insns\":%llu,\"verification_us\":%llu,\"total_states\":%u,"
		       "\"peak_states\":%u,\"max_states_per_insn\":%u",
		       (unsigned long long)r.processed_insns, (unsigned long long)r.verification_us,
		       r.total_states, r.peak_states, r.max_states_per_insn);
		if (log) {
			printf(",\"log\":");
			json_str(stdout, log);
		}
		printf("}\n");
	} else {
		if (log)
			fputs(log, stdout);
		if (r.accepted)
			printf("accepted: %zu insns, processed %llu, %u states, %llu us\n", n,
			       (unsigned long long)r.processed_insns, r.total_states,
			       (unsigned long long)r.verification_us);
		else
			printf("refused: %s\n", r.msg);
	}
	int accepted = r.accepted;
	skep_verify_result_free(&r);
	free(log);
	return accepted ? 0 : 1;
}
