/* skep feature probe [-j]: what this Skep supports, as bpftool feature probe reports
 * what a kernel supports. Every fact comes from the library: program types from the
 * registry (run, or verify only), the verifier's known types, map types from the map
 * layer, helpers per type with their implementations (run) or only the verifier's
 * prototypes (verify only), the opcode table,
 * the JIT (probed by compiling a two-instruction program) and the limits' constants. */
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "json.h"
#include "util.h"
#include "skep/helpers.h"
#include "skep/insn.h"
#include "skep/map.h"
#include "skep/prog.h"
#include "skep/progtype.h"
#include "skep/verifier.h"


enum mode { M_NONE, M_VERIFY, M_RUN };
static const char *const mode_name[] = {"none", "verify", "run"};

static enum mode prog_type_mode(uint32_t t)
{
	const struct skep_prog_type_desc *d = skep_prog_type_by_id(t);
	if (d && d->test_init && !(d->flags & SKEP_PT_VERIFY_ONLY))
		return M_RUN;
	return d || skep_verify_type_name(t) ? M_VERIFY : M_NONE;
}

/* The kernel's program types, by bpftool's names: 1 .. the last one with a name. */
static uint32_t prog_type_count(void)
{
	uint32_t t = 1;
	while (strcmp(prog_type_str(t), "unknown"))
		t++;
	return t;
}

static uint32_t map_type_count(void)
{
	uint32_t t = 1;
	while (strcmp(map_type_str(t), "unknown"))
		t++;
	return t;
}

/* JIT availability, probed: compile r0 = 0; exit. */
static void probe_jit(int *jit, int *harden)
{
	static const struct skep_insn p[] = {{.code = 0xb7}, {.code = 0x95}};
	skep_prog *pr = skep_prog_new();
	*jit = *harden = 0;
	if (!pr)
		return;
	if (!skep_prog_load(pr, p, 2) && !skep_prog_set_engine(pr, SKEP_ENGINE_JIT)) {
		*jit = !skep_prog_fallback_reason(pr) && skep_prog_engine(pr) == SKEP_ENGINE_JIT;
		*harden = *jit && !skep_prog_set_jit_harden(pr, 1) && skep_prog_func(pr) != NULL;
	}
	skep_prog_free(pr);
}

/* A helper a type lists: M_RUN, M_VERIFY (a prototype, no implementation) or M_NONE
 * (neither: calls are refused). */
static enum mode helper_mode(const struct skep_prog_type_desc *d, uint32_t id)
{
	if (skep_prog_type_helper_runs(d, id))
		return M_RUN;
	return skep_verify_helper_proto(id) ? M_VERIFY : M_NONE;
}

static void isa_text(void)
{
	struct skep_isa_op op;
	size_t per[5] = {0}, n = 0;
	int maxcpu = 1;
	for (; !skep_isa_op(n, &op); n++) {
		per[op.cpu < 5 ? op.cpu : 0]++;
		maxcpu = op.cpu > maxcpu ? op.cpu : maxcpu;
	}
	printf("Scanning eBPF instruction set...\n");
	printf("ISA version: cpu v%d (RFC 9669 and the kernel's pseudo instructions), %zu ops\n", maxcpu, n);
	for (int v = 1; v <= maxcpu; v++) {
		printf("ISA extension v%d is available: %zu ops", v, per[v]);
		if (v > 1) {
			printf(":");
			for (size_t i = 0; !skep_isa_op(i, &op); i++)
				if (op.cpu == v)
					printf(" %s", op.name);
		}
		printf("\n");
	}
	printf("Atomic operations are available:");
	for (size_t i = 0; !skep_isa_op(i, &op); i++)
		if (!strcmp(op.group, "atomic"))
			printf(" %s", op.name);
	printf("\n\n");
}

static void isa_json(struct json *j)
{
	struct skep_isa_op op;
	size_t per[5] = {0}, n = 0;
	int maxcpu = 1;
	for (; !skep_isa_op(n, &op); n++) {
		per[op.cpu < 5 ? op.cpu : 0]++;
		maxcpu = op.cpu > maxcpu ? op.cpu : maxcpu;
	}
	json_obj(j, "isa");
	json_u64(j, "cpu_version", (uint64_t)maxcpu);
	json_u64(j, "ops", n);
	for (int v = 1; v <= maxcpu; v++) {
		char key[16];
		snprintf(key, sizeof key, "v%d", v);
		json_arr(j, key);
		for (size_t i = 0; !skep_isa_op(i, &op); i++)
			if (op.cpu == v)
				json_str(j, NULL, op.name);
		json_end(j);
	}
	json_arr(j, "atomics");
	for (size_t i = 0; !skep_isa_op(i, &op); i++)
		if (!strcmp(op.group, "atomic"))
			json_str(j, NULL, op.name);
	json_end(j);
	json_end(j);
}

static int probe(int json)
{
	int jit, harden;
	probe_jit(&jit, &harden);
	uint32_t npt = prog_type_count(), nmt = map_type_count();
	struct json jw, *j = &jw;
	if (json) {
		json_init(j, stdout);
		json_obj(j, NULL);
		json_obj(j, "system_config");
		json_str(j, "skep_version", SKEP_VERSION);
		json_bool(j, "jit_available", jit);
		json_bool(j, "jit_harden_available", harden);
		json_u64(j, "possible_cpus", (uint64_t)skep_num_possible_cpus());
		json_end(j);
		isa_json(j);
		json_obj(j, "program_types");
		for (uint32_t t = 1; t < npt; t++) {
			char key[64];
			snprintf(key, sizeof key, "have_%s_prog_type", prog_type_str(t));
			json_bool(j, key, prog_type_mode(t) != M_NONE);
		}
		json_end(j);
		json_obj(j, "program_type_modes");
		for (uint32_t t = 1; t < npt; t++)
			if (prog_type_mode(t) != M_NONE)
				json_str(j, prog_type_str(t), mode_name[prog_type_mode(t)]);
		json_end(j);
		json_obj(j, "map_types");
		for (uint32_t t = 1; t < nmt; t++) {
			char key[64];
			snprintf(key, sizeof key, "have_%s_map_type", map_type_str(t));
			json_bool(j, key, skep_map_type_supported(t));
		}
		json_end(j);
		json_obj(j, "helpers");
		for (uint32_t t = 1; t < npt; t++) {
			const struct skep_prog_type_desc *d = skep_prog_type_by_id(t);
			if (!d)
				continue;
			char key[64];
			snprintf(key, sizeof key, "%s_available_helpers", d->name);
			json_arr(j, key);
			for (size_t i = 0; i < d->nhelpers; i++)
				if (helper_mode(d, d->helpers[i]) != M_NONE && skep_helper_name(d->helpers[i]))
					json_str(j, NULL, skep_helper_name(d->helpers[i]));
			json_end(j);
		}
		json_end(j);
		json_obj(j, "helpers_verify_only");
		for (uint32_t t = 1; t < npt; t++) {
			const struct skep_prog_type_desc *d = skep_prog_type_by_id(t);
			if (!d)
				continue;
			json_arr(j, d->name);
			for (size_t i = 0; i < d->nhelpers; i++)
				if (helper_mode(d, d->helpers[i]) == M_VERIFY && skep_helper_name(d->helpers[i]))
					json_str(j, NULL, skep_helper_name(d->helpers[i]));
			json_end(j);
		}
		json_end(j);
		json_obj(j, "limits");
		json_u64(j, "max_processed_insns", SKEP_MAX_INSNS);
		json_u64(j, "stack_size", SKEP_STACK_SIZE);
		json_u64(j, "max_call_frames", SKEP_MAX_CALL_DEPTH);
		json_u64(j, "max_tail_calls", skep_helper_tail_call_limit());
		json_end(j);
		json_end(j);
		json_nl(j);
		return 0;
	}
	printf("Scanning system configuration...\n");
	printf("Skep %s runs eBPF in user space: no kernel configuration is needed\n", SKEP_VERSION);
	printf("JIT compiler (x86-64) is %savailable\n", jit ? "" : "NOT ");
	printf("JIT constant blinding is %savailable\n", harden ? "" : "NOT ");
	printf("Possible CPUs (per-CPU map slots): %d\n\n", skep_num_possible_cpus());
	isa_text();
	printf("Scanning eBPF program types...\n");
	for (uint32_t t = 1; t < npt; t++) {
		enum mode m = prog_type_mode(t);
		printf("eBPF program_type %s is %s\n", prog_type_str(t),
		       m == M_RUN ? "available" : m == M_VERIFY ? "available (verify only)" : "NOT available");
	}
	printf("\nScanning eBPF map types...\n");
	for (uint32_t t = 1; t < nmt; t++)
		printf("eBPF map_type %s is %savailable\n", map_type_str(t), skep_map_type_supported(t) ? "" : "NOT ");
	printf("\nScanning eBPF helper functions...\n");
	for (uint32_t t = 1; t < npt; t++) {
		const struct skep_prog_type_desc *d = skep_prog_type_by_id(t);
		if (!d)
			continue;
		printf("eBPF helpers supported for program type %s:\n", d->name);
		for (size_t i = 0; i < d->nhelpers; i++) {
			enum mode m = helper_mode(d, d->helpers[i]);
			const char *name = skep_helper_name(d->helpers[i]);
			if (m != M_NONE && name)
				printf("\t- %s%s\n", name, m == M_VERIFY ? " (verify only)" : "");
		}
	}
	printf("\nScanning limits...\n");
	printf("Processed instructions per program (verifier budget): %u\n", SKEP_MAX_INSNS);
	printf("Stack per frame: %d bytes\n", SKEP_STACK_SIZE);
	printf("Call frames (bpf-to-bpf calls): %d\n", SKEP_MAX_CALL_DEPTH);
	printf("Tail calls per chain: %u\n", skep_helper_tail_call_limit());
	return 0;
}

/* Bad usage: one line with a hint on stderr, {"error": ...} on stdout with -j. */
static int usage_error(int json, const char *fmt, const char *arg)
{
	char msg[256];
	snprintf(msg, sizeof msg, fmt, arg);
	fprintf(stderr, "skep feature: %s (see: skep feature help)\n", msg);
	if (json) {
		struct json j;
		json_init(&j, stdout);
		json_obj(&j, NULL);
		json_str(&j, "error", msg);
		json_end(&j);
		json_nl(&j);
	}
	return 2;
}

int cmd_feature(int argc, char **argv)
{
	int json = 0;
	const char *sub = NULL;
	for (int i = 1; i < argc; i++)
		json |= !strcmp(argv[i], "-j") || !strcmp(argv[i], "--json");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-j") || !strcmp(a, "--json"))
			continue;
		if (!strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "help"))
			return help_show("feature", NULL);
		if (a[0] == '-')
			return usage_error(json, "unknown option '%s'", a);
		if (sub)
			return usage_error(json, "unexpected argument '%s'", a);
		sub = a;
	}
	if (!sub)
		return usage_error(json, "%s", "missing subcommand (skep feature probe [-j])");
	if (strcmp(sub, "probe"))
		return usage_error(json, "unknown subcommand '%s'", sub);
	return probe(json);
}
