/* The tracing types: KPROBE (used for uprobes: x86-64 struct pt_regs, so libbpf's
 * PT_REGS_PARM1() and BPF_KPROBE/BPF_KRETPROBE work), TRACEPOINT (the trace entry's
 * bytes), RAW_TRACEPOINT (u64 args[]) and PERF_EVENT (struct bpf_perf_event_data). Their
 * contexts are plain memory: the real layout is the UAPI one. The kernel test-runs only
 * raw tracepoints; Skep test-runs all four with the context bytes from ctx_in. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "progtypes.h"

#define PT_REGS_SIZE 168u            /* struct pt_regs, x86-64 */
#define TP_MAX_SIZE 8192u            /* PERF_MAX_TRACE_SIZE */
#define RAW_TP_MAX_ARGS 12u          /* MAX_BPF_FUNC_ARGS */
#define PERF_DATA_SIZE (PT_REGS_SIZE + 16)

#define RD SKEP_CTX_READ
#define REG(nm, i) {nm, (i) * 8, 8, RD, SKEP_CTX_SCALAR, SKEP_CTX_ANY_SIZE, (i) * 8, 8}
/* kprobe_prog_is_valid_access: any aligned read inside pt_regs */
#define PT_REGS_FIELDS(REGF) \
	REGF("r15", 0), REGF("r14", 1), REGF("r13", 2), REGF("r12", 3), REGF("bp", 4), \
	REGF("bx", 5), REGF("r11", 6), REGF("r10", 7), REGF("r9", 8), REGF("r8", 9), \
	REGF("ax", 10), REGF("cx", 11), REGF("dx", 12), REGF("si", 13), REGF("di", 14), \
	REGF("orig_ax", 15), REGF("ip", 16), REGF("cs", 17), REGF("flags", 18), REGF("sp", 19), \
	REGF("ss", 20)
static const struct skep_ctx_field kprobe_fields[] = {PT_REGS_FIELDS(REG)};

/* pe_prog_is_valid_access: registers as whole 8-byte reads, the two u64 narrow */
#define REG8(nm, i) {nm, (i) * 8, 8, RD, SKEP_CTX_SCALAR, 0, (i) * 8, 8}
static const struct skep_ctx_field perf_fields[] = {
	PT_REGS_FIELDS(REG8),
	{"sample_period", 168, 8, RD, SKEP_CTX_SCALAR, SKEP_CTX_NARROW, 168, 8},
	{"addr", 176, 8, RD, SKEP_CTX_SCALAR, SKEP_CTX_NARROW, 176, 8},
};

/* tp_prog_is_valid_access: reads past the 8-byte common header, up to the maximum */
static const struct skep_ctx_field tp_fields[] = {
	{"data", 8, TP_MAX_SIZE - 8, RD, SKEP_CTX_SCALAR, SKEP_CTX_ANY_SIZE, 8, TP_MAX_SIZE - 8},
};

#define ARG(i) {"args[" #i "]", (i) * 8, 8, RD, SKEP_CTX_SCALAR, SKEP_CTX_ANY_SIZE, (i) * 8, 8}
static const struct skep_ctx_field raw_tp_fields[] = {
	ARG(0), ARG(1), ARG(2), ARG(3), ARG(4), ARG(5), ARG(6), ARG(7), ARG(8), ARG(9), ARG(10), ARG(11),
};

/* bpf_tracing_func_proto and the types' own additions */
#define TRACING_HELPERS \
	PT_HELPERS_BASE, \
	4, 14, 15, 16, 17, 22, 25, 27, 36, 45, 55, 67, 80, 109, 117, 120, 123, 141, \
	156, 157, 173, 174, 175, 176, 179, 180, 191
static const uint32_t kprobe_helpers[] = {TRACING_HELPERS, 58 /* override_return */};
static const uint32_t tp_helpers[] = {TRACING_HELPERS};
static const uint32_t perf_helpers[] = {TRACING_HELPERS, 56 /* perf_prog_read_value */,
					119 /* read_branch_records */};

/* The context is ctx_in's bytes in a zeroed context of d->ctx_size; no packet. */
static int bytes_init(const struct skep_prog_type_desc *d, const struct skep_test_run_opts *o,
		      struct skep_test_env *env)
{
	if (o->data_in || o->data_out || o->data_size_in)
		return pt_fail(env, -EINVAL, "%s test runs take no data_in or data_out", d->name);
	if (d->type == SKEP_PROG_TYPE_RAW_TRACEPOINT &&
	    (o->ctx_size_in < env->ctx_max || o->ctx_size_in > d->ctx_size))
		return pt_fail(env, -EINVAL, "ctx_size_in %u: the program reads %u bytes of args, at "
			       "most %u are taken", o->ctx_size_in, env->ctx_max, d->ctx_size);
	void *c = calloc(1, d->ctx_size);
	if (!c)
		return pt_fail(env, -ENOMEM, "out of memory");
	env->ctx = c;
	if (o->ctx_in) {
		const uint8_t *in = o->ctx_in;
		for (size_t i = d->ctx_size; i < o->ctx_size_in; i++)
			if (in[i])
				return pt_fail(env, -E2BIG, "ctx_in is non-zero past the %u bytes of the context",
					       d->ctx_size);
		memcpy(c, in, o->ctx_size_in < d->ctx_size ? o->ctx_size_in : d->ctx_size);
	}
	env->regions[0] = (struct skep_region){c, d->ctx_size, 0};
	env->nregions = 1;
	return 0;
}

static int bytes_finish(const struct skep_prog_type_desc *d, struct skep_test_run_opts *o,
			struct skep_test_env *env)
{
	if (d->type == SKEP_PROG_TYPE_RAW_TRACEPOINT)
		return 0;   /* the kernel gives no ctx_out for raw tracepoints */
	return pt_ctx_finish(o, env->ctx, d->ctx_size);
}

#define TRACE_DESC(var, nm, id, fl, hl, sz, extra) \
	const struct skep_prog_type_desc var = { \
		.name = nm, .type = id, .ctx_size = sz, .real_ctx_size = sz, .fields = fl, \
		.nfields = PT_ARRAY_SIZE(fl), .helpers = hl, .nhelpers = PT_ARRAY_SIZE(hl), \
		.ret_min = 0, .ret_max = UINT32_MAX, .flags = extra, \
		.test_init = bytes_init, .test_finish = bytes_finish, \
	};

TRACE_DESC(pt_kprobe, "kprobe", SKEP_PROG_TYPE_KPROBE, kprobe_fields, kprobe_helpers, PT_REGS_SIZE, 0)
TRACE_DESC(pt_tracepoint, "tracepoint", SKEP_PROG_TYPE_TRACEPOINT, tp_fields, tp_helpers, TP_MAX_SIZE, 0)
TRACE_DESC(pt_raw_tracepoint, "raw_tracepoint", SKEP_PROG_TYPE_RAW_TRACEPOINT, raw_tp_fields,
	   tp_helpers, RAW_TP_MAX_ARGS * 8, SKEP_PT_CTX_ARGS)
TRACE_DESC(pt_perf_event, "perf_event", SKEP_PROG_TYPE_PERF_EVENT, perf_fields, perf_helpers,
	   PERF_DATA_SIZE, 0)
