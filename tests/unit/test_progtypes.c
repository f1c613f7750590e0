/* Program types without the kernel: the registry, access rules, the context rewrite and
 * its register tracking, test runs of the tracing types (pt_regs for uprobes, trace
 * entries, raw tracepoint args, perf events), embedder types, and test-run errors. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "skep/insn.h"
#include "skep/prog.h"
#include "skep/progtype.h"
#include "skep/testrun.h"

static const enum skep_engine engines[] = {SKEP_ENGINE_INTERP, SKEP_ENGINE_CHECKED, SKEP_ENGINE_JIT};
static const char *const ename[] = {"interp", "checked", "jit"};

/* Assemble and load text as a program of type on engine; NULL (with *err and msg) on failure. */
static skep_prog *load(uint32_t type, const char *text, int engine, int *err, char *msg, size_t msglen)
{
	struct skep_insn *in;
	size_t n;
	struct skep_diag d;
	*err = skep_assemble(text, &in, &n, &d);
	if (*err) {
		snprintf(msg, msglen, "asm: %s", d.msg);
		return NULL;
	}
	skep_prog *p = skep_prog_new();
	*err = skep_prog_set_engine(p, engines[engine]);
	if (!*err)
		*err = skep_prog_set_type(p, type);
	if (!*err)
		*err = skep_prog_load(p, in, n);
	free(in);
	if (*err) {
		snprintf(msg, msglen, "%s", skep_prog_error(p));
		skep_prog_free(p);
		return NULL;
	}
	msg[0] = 0;
	return p;
}

/* Load must fail with err and a message containing want. */
static void refused(const char *name, uint32_t type, const char *text, int want_err, const char *want)
{
	int err;
	char msg[600];
	skep_prog *p = load(type, text, 0, &err, msg, sizeof msg);
	CHECK(!p && err == want_err && strstr(msg, want), name, "err %d (want %d), message \"%s\" (want \"%s\")",
	      err, want_err, msg, want);
	skep_prog_free(p);
}

/* Run on every engine with opts (copied per engine); every engine must give err and
 * retval. */
static void run_all(const char *name, uint32_t type, const char *text, const struct skep_test_run_opts *o,
		    int want_err, uint32_t want_ret)
{
	for (int e = 0; e < 3; e++) {
		char nm[160], msg[600];
		snprintf(nm, sizeof nm, "%s/%s", name, ename[e]);
		int err;
		skep_prog *p = load(type, text, e, &err, msg, sizeof msg);
		if (!p) {
			CHECK(0, nm, "load: %d %s", err, msg);
			continue;
		}
		struct skep_test_run_opts t = *o;
		err = skep_prog_test_run(p, &t);
		CHECK(err == want_err && (err || t.retval == want_ret), nm, "err %d (want %d: %s), retval %#x (want %#x)",
		      err, want_err, skep_prog_error(p), t.retval, want_ret);
		skep_prog_free(p);
	}
}

static int count_types(void *arg, const struct skep_prog_type_desc *d)
{
	uint32_t *last = arg;
	if (d->type <= last[0] && last[1])
		return -1;   /* out of order */
	last[0] = d->type, last[1]++;
	return 0;
}

static void registry(void)
{
	uint32_t st[2] = {0, 0};
	CHECK(skep_prog_type_foreach(count_types, st) == 0 && st[1] == 12, "registry/foreach",
	      "%u types, or out of id order", st[1]);
	static const struct { uint32_t id; const char *name; } b[] = {
		{1, "socket_filter"}, {2, "kprobe"}, {3, "sched_cls"}, {4, "sched_act"},
		{5, "tracepoint"}, {6, "xdp"}, {7, "perf_event"}, {8, "cgroup_skb"},
		{9, "cgroup_sock"}, {13, "sock_ops"}, {17, "raw_tracepoint"}, {18, "cgroup_sock_addr"},
	};
	for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
		const struct skep_prog_type_desc *d = skep_prog_type_by_id(b[i].id);
		CHECK(d && d->type == b[i].id && !strcmp(d->name, b[i].name) &&
		      skep_prog_type_by_name(b[i].name) == d, b[i].name, "lookup by id %u / name", b[i].id);
	}
	CHECK(!skep_prog_type_by_id(0) && !skep_prog_type_by_id(99) && !skep_prog_type_by_name("nope") &&
	      !skep_prog_type_by_name(NULL), "registry/unknown", "unknown types found");
	const struct skep_prog_type_desc *x = skep_prog_type_by_id(SKEP_PROG_TYPE_XDP);
	CHECK(skep_prog_type_allows_helper(x, 44) && skep_prog_type_allows_helper(x, 1) &&
	      !skep_prog_type_allows_helper(x, 26), "registry/xdp-helpers", "adjust_head, map lookup yes; skb_load_bytes no");
	const struct skep_prog_type_desc *cg = skep_prog_type_by_id(SKEP_PROG_TYPE_CGROUP_SKB);
	CHECK((cg->flags & SKEP_PT_RET_RANGE) && cg->ret_min == 0 && cg->ret_max == 1 && !(cg->flags & SKEP_PT_LD_ABS),
	      "registry/cgroup_skb-flags", "flags %#x", cg->flags);
	CHECK(skep_prog_type_by_id(SKEP_PROG_TYPE_SOCK_OPS)->flags & SKEP_PT_VERIFY_ONLY,
	      "registry/sock_ops-verify-only", "flag missing");

	/* access rules and their messages */
	char why[200];
	const struct skep_prog_type_desc *tc = skep_prog_type_by_id(SKEP_PROG_TYPE_SCHED_CLS);
	const struct skep_prog_type_desc *sf = skep_prog_type_by_id(SKEP_PROG_TYPE_SOCKET_FILTER);
	struct { const struct skep_prog_type_desc *d; uint32_t off, size; int acc; int ok; const char *msg; } a[] = {
		{tc, 8, 4, SKEP_CTX_WRITE, 1, ""},
		{sf, 8, 4, SKEP_CTX_WRITE, 0, "write of socket_filter.mark"},
		{tc, 76, 4, SKEP_CTX_READ, 1, ""},
		{sf, 76, 4, SKEP_CTX_READ, 0, "read of socket_filter.data"},
		{tc, 76, 2, SKEP_CTX_READ, 0, "2-byte read of sched_cls.data"},
		{tc, 49, 1, SKEP_CTX_WRITE, 1, ""},
		{tc, 64, 8, SKEP_CTX_READ, 0, "no field"},
		{tc, 2, 4, SKEP_CTX_READ, 0, "misaligned"},
		{tc, 192, 4, SKEP_CTX_READ, 0, "off=192"},
		{tc, 144, 8, SKEP_CTX_READ, 0, "no field"},
		{x, 20, 4, SKEP_CTX_READ, 0, "no field"},
		{x, 12, 2, SKEP_CTX_READ, 0, "2-byte read of xdp.ingress_ifindex"},
		{tc, 0, 3, SKEP_CTX_READ, 0, "3-byte"},
	};
	for (size_t i = 0; i < sizeof a / sizeof a[0]; i++) {
		char name[64];
		snprintf(name, sizeof name, "access/%s-%u-%u-%d", a[i].d->name, a[i].off, a[i].size, a[i].acc);
		why[0] = 0;
		int r = skep_ctx_access_check(a[i].d, a[i].off, a[i].size, a[i].acc, why, sizeof why);
		CHECK(a[i].ok ? r == 0 : r == -EACCES && strstr(why, a[i].msg), name, "got %d \"%s\"", r, why);
	}
	const struct skep_ctx_field *f = skep_ctx_field_at(x, 4, 4);
	CHECK(f && !strcmp(f->name, "data_end") && f->kind == SKEP_CTX_PKT_END && f->real_size == 8,
	      "access/field-at", "xdp off 4");
}

static const struct skep_insn *insns_of(skep_prog *p, size_t *n) { return skep_prog_insns(p, n); }

static void rewrite(void)
{
	int err;
	char msg[600];
	skep_prog *p = load(SKEP_PROG_TYPE_XDP,
			    "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = *(u32 *)(r1 + 8)\n"
			    "r5 = *(u32 *)(r1 + 16)\nr0 = 2\nexit", 0, &err, msg, sizeof msg);
	size_t n = 0;
	const struct skep_insn *in = p ? insns_of(p, &n) : NULL;
	CHECK(in && n == 6 && in[0].code == 0x79 && in[0].off == 0 && in[1].code == 0x79 && in[1].off == 8 &&
	      in[2].code == 0x79 && in[2].off == 16 && in[3].code == 0x61 && in[3].off == 28,
	      "rewrite/xdp-pointers", "load %d %s", err, msg);
	skep_prog_free(p);

	/* __sk_buff: narrow loads of a narrower kernel field load all of it */
	p = load(SKEP_PROG_TYPE_SCHED_CLS, "r0 = *(u16 *)(r1 + 18)\nr2 = *(u8 *)(r1 + 17)\n"
		 "r3 = *(u32 *)(r1 + 80)\n*(u32 *)(r1 + 12) = r0\nexit", 0, &err, msg, sizeof msg);
	in = p ? insns_of(p, &n) : NULL;
	CHECK(in && in[0].code == 0x69 && in[0].off == 16 && in[1].code == 0x71 && in[1].off == 17 &&
	      in[2].code == 0x79 && in[2].off == 200 && in[3].code == 0x6b && in[3].off == 12,
	      "rewrite/skb-narrow", "load %d %s", err, msg);
	skep_prog_free(p);

	/* tracking: copies, spills, subprograms; each reads ingress_ifindex (1 in test runs) */
	static const uint8_t pkt[64] = {0};
	struct skep_test_run_opts o = {.data_in = pkt, .data_size_in = sizeof pkt};
	run_all("track/r6-across-helper", SKEP_PROG_TYPE_XDP,
		"r6 = r1\ncall 7\nr0 = *(u32 *)(r6 + 12)\nexit", &o, 0, 1);
	run_all("track/spill-fill", SKEP_PROG_TYPE_XDP,
		"*(u64 *)(r10 - 8) = r1\nr1 = 0\nr3 = *(u64 *)(r10 - 8)\nr0 = *(u32 *)(r3 + 12)\nexit", &o, 0, 1);
	run_all("track/spill-via-fp-copy", SKEP_PROG_TYPE_XDP,
		"r2 = r10\nr2 += -16\n*(u64 *)(r2 + 0) = r1\nr1 = 0\nr3 = *(u64 *)(r10 - 16)\n"
		"r0 = *(u32 *)(r3 + 12)\nexit", &o, 0, 1);
	run_all("track/subprogram", SKEP_PROG_TYPE_XDP,
		"r6 = r1\ncall sub\nr7 = *(u32 *)(r6 + 16)\nr0 += r7\nexit\nsub:\nr0 = *(u32 *)(r1 + 12)\n"
		"r0 += 10\nexit", &o, 0, 11);
	run_all("track/subprogram-both-args", SKEP_PROG_TYPE_XDP,
		"r2 = 5\ncall sub\nexit\nsub:\nr0 = *(u32 *)(r1 + 12)\nr0 += r2\nexit", &o, 0, 6);
	run_all("track/join-same", SKEP_PROG_TYPE_XDP,
		"r2 = *(u32 *)(r1 + 16)\nif r2 == 0 goto +2\nr3 = r1\ngoto +1\nr3 = r1\nr0 = *(u32 *)(r3 + 12)\nexit",
		&o, 0, 1);
	run_all("track/stack-not-ctx", SKEP_PROG_TYPE_XDP,
		"*(u32 *)(r10 - 4) = 77\nr0 = *(u32 *)(r10 - 4)\nexit", &o, 0, 77);
	run_all("track/partial-overwrite", SKEP_PROG_TYPE_XDP,
		"*(u64 *)(r10 - 8) = r1\n*(u32 *)(r10 - 8) = 9\nr0 = *(u32 *)(r10 - 8)\nexit", &o, 0, 9);

	refused("refuse/some-paths", SKEP_PROG_TYPE_XDP,
		"r2 = *(u32 *)(r1 + 16)\nr3 = r10\nr3 += -8\nif r2 == 0 goto +1\nr3 = r1\nr0 = *(u32 *)(r3 + 0)\nexit",
		-EACCES, "insn 5: r3 is the context on some paths only");
	refused("refuse/modified", SKEP_PROG_TYPE_XDP, "r1 += 4\nr0 = *(u32 *)(r1 + 0)\nexit", -EACCES,
		"insn 1: r1 may be a context pointer moved by arithmetic");
	refused("refuse/atomic", SKEP_PROG_TYPE_SCHED_CLS, "r2 = 1\nlock *(u32 *)(r1 + 8) += r2\nr0 = 0\nexit",
		-EACCES, "insn 1: atomic access to the sched_cls context");
	refused("refuse/write", SKEP_PROG_TYPE_XDP, "*(u32 *)(r1 + 12) = 1\nr0 = 0\nexit", -EACCES,
		"insn 0: write of xdp.ingress_ifindex (off 12) is not allowed");
	refused("refuse/negative", SKEP_PROG_TYPE_XDP, "r0 = *(u32 *)(r1 - 4)\nexit", -EACCES,
		"negative context offset");
	refused("refuse/ld_abs", SKEP_PROG_TYPE_XDP, "r6 = r1\nr0 = *(u8 *)skb[0]\nexit", -EINVAL,
		"insn 1: ld_abs/ld_ind is not allowed in xdp programs");
	refused("refuse/helper", SKEP_PROG_TYPE_XDP, "call 26\nexit", -EINVAL,
		"insn 0: helper 26 is not allowed in xdp programs");
	refused("refuse/spilled-then-sub-mixed", SKEP_PROG_TYPE_XDP,
		"r6 = r1\ncall sub\nr1 = r10\nr1 += -8\ncall sub\nr0 = 0\nexit\nsub:\nr0 = *(u32 *)(r1 + 0)\nexit",
		-EACCES, "insn 7: r1 is the context on some paths only");

	/* the context through a stack pointer given to a subprogram: refused, not missed */
	refused("refuse/ctx-via-caller-stack", SKEP_PROG_TYPE_XDP,
		"*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\ncall sub\nexit\n"
		"sub:\nr2 = *(u64 *)(r1 + 0)\nr0 = *(u32 *)(r2 + 12)\nexit",
		-EACCES, "insn 6: r2 is the context on some paths only");
	refused("refuse/ctx-stored-after-foreign-load", SKEP_PROG_TYPE_XDP,
		"r6 = r1\nr1 = r10\nr1 += -8\n*(u64 *)(r10 - 8) = 0\ncall sub\n*(u64 *)(r10 - 16) = r6\n"
		"r0 = 0\nexit\nsub:\nr2 = *(u64 *)(r1 + 0)\nr0 = *(u32 *)(r2 + 12)\nexit",
		-EACCES, "insn 9: r2 is the context on some paths only");
	refused("refuse/callee-writes-ctx-into-caller", SKEP_PROG_TYPE_XDP,
		"r6 = r1\n*(u64 *)(r10 - 8) = 0\nr2 = r6\nr1 = r10\nr1 += -8\ncall sub\n"
		"r3 = *(u64 *)(r10 - 8)\nr0 = *(u32 *)(r3 + 12)\nexit\n"
		"sub:\n*(u64 *)(r1 + 0) = r2\nr0 = 0\nexit",
		-EACCES, "insn 7: r3 is the context on some paths only");
	run_all("track/foreign-without-ctx", SKEP_PROG_TYPE_XDP,
		"*(u64 *)(r10 - 8) = 41\nr1 = r10\nr1 += -8\ncall sub\nexit\n"
		"sub:\nr0 = *(u64 *)(r1 + 0)\nr0 += 1\nexit", &o, 0, 42);

	/* type set after load, unknown type */
	p = load(SKEP_PROG_TYPE_XDP, "r0 = 2\nexit", 0, &err, msg, sizeof msg);
	CHECK(p && skep_prog_set_type(p, SKEP_PROG_TYPE_SCHED_CLS) == -EBUSY &&
	      skep_prog_set_type(p, SKEP_PROG_TYPE_XDP) == 0 && skep_prog_type(p) == SKEP_PROG_TYPE_XDP,
	      "set_type/after-load", "%s", p ? skep_prog_error(p) : msg);
	skep_prog_free(p);
	p = skep_prog_new();
	CHECK(skep_prog_set_type(p, 1234) == -ENOENT && strstr(skep_prog_error(p), "unknown program type 1234"),
	      "set_type/unknown", "%s", skep_prog_error(p));
	skep_prog_free(p);
}

/* struct pt_regs (x86-64) offsets */
enum { R_AX = 80, R_CX = 88, R_DX = 96, R_SI = 104, R_DI = 112, R_IP = 128, R_SP = 152 };

static void tracing(void)
{
	uint64_t regs[21] = {0};
	regs[R_DI / 8] = 0x1111222233334444ull;   /* PT_REGS_PARM1 */
	regs[R_SI / 8] = 7;                        /* PT_REGS_PARM2 */
	regs[R_AX / 8] = 0xfffffffffffffff2ull;   /* PT_REGS_RC: -14 */
	regs[R_IP / 8] = 0x401000;
	uint64_t out[21];
	struct skep_test_run_opts o = {.ctx_in = regs, .ctx_size_in = sizeof regs, .ctx_out = out,
				       .ctx_size_out = sizeof out};
	/* BPF_KPROBE(fn, a, b): a = ctx->di, b = ctx->si */
	run_all("kprobe/parm1+parm2", SKEP_PROG_TYPE_KPROBE,
		"r2 = *(u64 *)(r1 + 112)\nr3 = *(u64 *)(r1 + 104)\nr0 = r2\nr0 += r3\nexit", &o, 0, 0x3333444bu);
	run_all("kprobe/narrow-parm1-high", SKEP_PROG_TYPE_KPROBE, "r0 = *(u32 *)(r1 + 116)\nexit", &o, 0, 0x11112222u);
	run_all("kprobe/byte", SKEP_PROG_TYPE_KPROBE, "r0 = *(u8 *)(r1 + 114)\nexit", &o, 0, 0x33);
	/* BPF_KRETPROBE: the return value in ax */
	run_all("kretprobe/rc", SKEP_PROG_TYPE_KPROBE, "r0 = *(u64 *)(r1 + 80)\nr0 = -r0\nexit", &o, 0, 14);
	{
		int err;
		char msg[600];
		skep_prog *p = load(SKEP_PROG_TYPE_KPROBE, "r0 = *(u64 *)(r1 + 128)\nexit", 1, &err, msg, sizeof msg);
		struct skep_test_run_opts t = o;
		memset(out, 0, sizeof out);
		err = p ? skep_prog_test_run(p, &t) : err;
		CHECK(!err && t.retval == 0x401000 && t.ctx_size_out == 168 && !memcmp(out, regs, sizeof regs),
		      "kprobe/ctx_out", "err %d retval %#x ctx_size_out %u", err, t.retval, t.ctx_size_out);
		t = o;
		t.ctx_size_out = 100;
		err = p ? skep_prog_test_run(p, &t) : err;
		CHECK(err == -ENOSPC && t.ctx_size_out == 168 && t.retval == 0x401000, "kprobe/ctx_out-small",
		      "err %d size %u", err, t.ctx_size_out);
		t = o;
		t.data_in = regs, t.data_size_in = 8;
		err = p ? skep_prog_test_run(p, &t) : err;
		CHECK(err == -EINVAL && strstr(skep_prog_error(p), "take no data_in"), "kprobe/no-data",
		      "err %d %s", err, p ? skep_prog_error(p) : "");
		uint8_t big[200] = {0};
		big[190] = 1;
		t = o;
		t.ctx_in = big, t.ctx_size_in = sizeof big;
		err = p ? skep_prog_test_run(p, &t) : err;
		CHECK(err == -E2BIG, "kprobe/ctx-tail", "err %d", err);
		skep_prog_free(p);
	}
	refused("kprobe/write-refused", SKEP_PROG_TYPE_KPROBE, "*(u64 *)(r1 + 112) = 1\nr0 = 0\nexit", -EACCES,
		"write of kprobe.di");
	refused("kprobe/past-end", SKEP_PROG_TYPE_KPROBE, "r0 = *(u64 *)(r1 + 168)\nexit", -EACCES, "off=168");

	/* tracepoint: the entry's bytes past the common 8-byte header */
	uint8_t entry[64];
	for (int i = 0; i < 64; i++)
		entry[i] = (uint8_t)i;
	struct skep_test_run_opts tp = {.ctx_in = entry, .ctx_size_in = sizeof entry};
	run_all("tracepoint/field", SKEP_PROG_TYPE_TRACEPOINT, "r0 = *(u32 *)(r1 + 8)\nexit", &tp, 0, 0x0b0a0908);
	run_all("tracepoint/past-given", SKEP_PROG_TYPE_TRACEPOINT, "r0 = *(u64 *)(r1 + 4000)\nexit", &tp, 0, 0);
	refused("tracepoint/header-refused", SKEP_PROG_TYPE_TRACEPOINT, "r0 = *(u32 *)(r1 + 0)\nexit", -EACCES,
		"no field");

	/* raw tracepoint: ctx_size_in must cover what the program reads */
	uint64_t args[4] = {10, 20, 30, 40};
	struct skep_test_run_opts rt = {.ctx_in = args, .ctx_size_in = 32};
	run_all("raw_tp/arg3", SKEP_PROG_TYPE_RAW_TRACEPOINT, "r0 = *(u64 *)(r1 + 24)\nexit", &rt, 0, 40);
	rt.ctx_size_in = 24;
	run_all("raw_tp/short", SKEP_PROG_TYPE_RAW_TRACEPOINT, "r0 = *(u64 *)(r1 + 24)\nexit", &rt, -EINVAL, 0);

	/* perf_event: registers as 8-byte reads, sample_period and addr narrow */
	uint64_t pe[23] = {0};
	pe[R_IP / 8] = 0xabc;
	pe[21] = 0x100000007ull;   /* sample_period */
	pe[22] = 0xdead0000beefull;
	struct skep_test_run_opts po = {.ctx_in = pe, .ctx_size_in = sizeof pe};
	run_all("perf_event/sample_period", SKEP_PROG_TYPE_PERF_EVENT, "r0 = *(u64 *)(r1 + 168)\nexit", &po, 0, 7);
	run_all("perf_event/sample_period-hi", SKEP_PROG_TYPE_PERF_EVENT, "r0 = *(u32 *)(r1 + 172)\nexit", &po, 0, 1);
	run_all("perf_event/addr-u16", SKEP_PROG_TYPE_PERF_EVENT, "r0 = *(u16 *)(r1 + 176)\nexit", &po, 0, 0xbeef);
	run_all("perf_event/ip", SKEP_PROG_TYPE_PERF_EVENT, "r0 = *(u64 *)(r1 + 128)\nexit", &po, 0, 0xabc);
	refused("perf_event/narrow-reg", SKEP_PROG_TYPE_PERF_EVENT, "r0 = *(u32 *)(r1 + 128)\nexit", -EACCES,
		"4-byte read of perf_event.ip");

	/* verify-only types load (their accesses are checked) but do not test-run */
	refused("cgroup_sock/family-write", SKEP_PROG_TYPE_CGROUP_SOCK, "*(u32 *)(r1 + 4) = 2\nr0 = 1\nexit",
		-EACCES, "write of cgroup_sock.family");
	int err;
	char msg[600];
	skep_prog *p = load(SKEP_PROG_TYPE_CGROUP_SOCK, "*(u32 *)(r1 + 16) = 2\nr0 = *(u16 *)(r1 + 48)\nexit", 0,
			    &err, msg, sizeof msg);
	struct skep_test_run_opts none = {0};
	CHECK(p && skep_prog_test_run(p, &none) == -EOPNOTSUPP &&
	      strstr(skep_prog_error(p), "cgroup_sock programs have no test run"), "cgroup_sock/no-test-run",
	      "%s", p ? skep_prog_error(p) : msg);
	skep_prog_free(p);
	p = load(SKEP_PROG_TYPE_SOCK_OPS, "r2 = *(u64 *)(r1 + 192)\nr3 = *(u64 *)(r1 + 200)\n"
		 "*(u32 *)(r1 + 4) = 1\nr0 = 1\nexit", 0, &err, msg, sizeof msg);
	CHECK(p != NULL, "sock_ops/skb_data-pointers", "%s", msg);
	skep_prog_free(p);
	refused("sock_ops/op-write", SKEP_PROG_TYPE_SOCK_OPS, "*(u32 *)(r1 + 0) = 1\nr0 = 1\nexit", -EACCES,
		"write of sock_ops.op");
	refused("cgroup_sock_addr/family-narrow", SKEP_PROG_TYPE_CGROUP_SOCK_ADDR, "r0 = *(u8 *)(r1 + 28)\nexit",
		-EACCES, "1-byte read of cgroup_sock_addr.family");
}

static void test_runs(void)
{
	/* the plain memory program */
	uint8_t data[16] = {1, 2, 3, 4}, out[16];
	struct skep_test_run_opts o = {.data_in = data, .data_size_in = 16, .data_out = out, .data_size_out = 16};
	run_all("plain/sum", 0, "r0 = *(u8 *)(r1 + 3)\nr0 += r2\n*(u8 *)(r1 + 0) = 9\nexit", &o, 0, 20);
	int err;
	char msg[600];
	skep_prog *p = load(0, "*(u8 *)(r1 + 0) = 9\nr0 = 0\nexit", 2, &err, msg, sizeof msg);
	struct skep_test_run_opts t = o;
	err = skep_prog_test_run(p, &t);
	CHECK(!err && out[0] == 9 && out[1] == 2 && t.data_size_out == 16 && data[0] == 1, "plain/data_out",
	      "err %d", err);
	t = o;
	t.data_size_out = 4;
	err = skep_prog_test_run(p, &t);
	CHECK(err == -ENOSPC && t.data_size_out == 16, "plain/enospc", "err %d size %u", err, t.data_size_out);
	t = o;
	t.flags = 1;
	CHECK(skep_prog_test_run(p, &t) == -EINVAL, "plain/flags", "flags accepted");
	CHECK(skep_prog_test_run(p, NULL) == -EINVAL, "plain/no-opts", "NULL options accepted");
	skep_prog_free(p);
	p = skep_prog_new();
	CHECK(skep_prog_test_run(p, &o) == -EINVAL && strstr(skep_prog_error(p), "no program loaded"),
	      "testrun/not-loaded", "%s", skep_prog_error(p));
	skep_prog_free(p);

	/* repeat: the context is not reset between runs; duration is the mean */
	static uint8_t pkt[100];
	struct skep_test_run_opts x = {.data_in = pkt, .data_size_in = sizeof pkt, .repeat = 5};
	static uint8_t xout[400];
	x.data_out = xout, x.data_size_out = sizeof xout;
	p = load(SKEP_PROG_TYPE_XDP, "r2 = -4\ncall 44\nr0 = 2\nexit", 0, &err, msg, sizeof msg);
	err = p ? skep_prog_test_run(p, &x) : err;
	CHECK(!err && x.data_size_out == 120 && x.retval == 2 && x.duration < 1000000000u, "xdp/repeat-accumulates",
	      "err %d size %u", err, x.data_size_out);
	skep_prog_free(p);

	/* the checked engine confines a program to its context and packet buffer */
	p = load(SKEP_PROG_TYPE_XDP, "r2 = *(u32 *)(r1 + 0)\nr0 = *(u8 *)(r2 + 8000)\nexit", 1, &err, msg, sizeof msg);
	x.repeat = 1;
	err = p ? skep_prog_test_run(p, &x) : err;
	CHECK(err == -EFAULT && strstr(skep_prog_error(p), "insn 1"), "checked/outside-packet", "err %d %s", err,
	      p ? skep_prog_error(p) : msg);
	skep_prog_free(p);
	p = load(SKEP_PROG_TYPE_XDP, "r2 = *(u32 *)(r1 + 0)\nr0 = *(u8 *)(r2 - 200)\nexit", 1, &err, msg, sizeof msg);
	err = p ? skep_prog_test_run(p, &x) : err;
	CHECK(!err, "checked/headroom-inside-buffer", "err %d %s", err, p ? skep_prog_error(p) : msg);
	skep_prog_free(p);
}

/* An embedder type: a request context with a body the program reads through pointers
 * (32-bit in the program's view, 64-bit underneath) and a writable verdict. */
struct req_view { uint32_t method, body, body_end, verdict; };
struct req_real { uint64_t body, body_end; uint32_t method, verdict; };

static uint64_t req_count;
static uint64_t count_helper(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	req_count += a;
	return req_count;
}

static const struct skep_ctx_field req_fields[] = {
	{"method", 0, 4, SKEP_CTX_READ, SKEP_CTX_SCALAR, SKEP_CTX_NARROW, offsetof(struct req_real, method), 4},
	{"body", 4, 4, SKEP_CTX_READ, SKEP_CTX_PKT_DATA, 0, offsetof(struct req_real, body), 8},
	{"body_end", 8, 4, SKEP_CTX_READ, SKEP_CTX_PKT_END, 0, offsetof(struct req_real, body_end), 8},
	{"verdict", 12, 4, SKEP_CTX_RW, SKEP_CTX_SCALAR, 0, offsetof(struct req_real, verdict), 4},
};
static const uint32_t req_helpers[] = {0x1001};
static const struct skep_helper_bind req_binds[] = {{0x1001, count_helper}};

static void embedder(void)
{
	struct skep_prog_type_desc d = {
		.name = "test_req", .type = SKEP_PROG_TYPE_EMBEDDER_BASE + 7, .ctx_size = sizeof(struct req_view),
		.real_ctx_size = sizeof(struct req_real), .fields = req_fields, .nfields = 4,
		.helpers = req_helpers, .nhelpers = 1, .binds = req_binds, .nbinds = 1,
	};
	struct skep_prog_type_desc bad = d;
	bad.type = 40;
	CHECK(skep_prog_type_register(&bad) == -EINVAL, "embedder/id-below-base", "accepted");
	static const struct skep_ctx_field overlap[] = {
		{"a", 0, 4, SKEP_CTX_READ, SKEP_CTX_SCALAR, 0, 0, 4}, {"b", 2, 4, SKEP_CTX_READ, SKEP_CTX_SCALAR, 0, 4, 4},
	};
	bad = d, bad.fields = overlap, bad.nfields = 2;
	CHECK(skep_prog_type_register(&bad) == -EINVAL, "embedder/overlap", "accepted");
	static const struct skep_ctx_field wptr[] = {{"p", 0, 4, SKEP_CTX_RW, SKEP_CTX_PKT_DATA, 0, 0, 8}};
	bad = d, bad.fields = wptr, bad.nfields = 1;
	CHECK(skep_prog_type_register(&bad) == -EINVAL, "embedder/writable-pointer", "accepted");
	static const struct skep_ctx_field past[] = {{"p", 12, 8, SKEP_CTX_READ, SKEP_CTX_SCALAR, 0, 0, 8}};
	bad = d, bad.fields = past, bad.nfields = 1;
	CHECK(skep_prog_type_register(&bad) == -EINVAL, "embedder/past-ctx", "accepted");
	bad = d, bad.name = "xdp";
	CHECK(skep_prog_type_register(&bad) == -EEXIST, "embedder/name-taken", "accepted");
	CHECK(skep_prog_type_register(&d) == 0 && skep_prog_type_by_name("test_req") == &d &&
	      skep_prog_type_by_id(d.type) == &d, "embedder/register", "lookup failed");
	CHECK(skep_prog_type_register(&d) == -EEXIST, "embedder/twice", "accepted");

	const char *text =
		"r6 = r1\n"
		"r2 = *(u32 *)(r6 + 4)\n"      /* body */
		"r3 = *(u32 *)(r6 + 8)\n"      /* body_end */
		"r0 = 0\n"
		"r4 = r2\n"
		"r4 += 4\n"
		"if r4 > r3 goto out\n"
		"r1 = *(u32 *)(r2 + 0)\n"
		"call 0x1001\n"
		"r7 = *(u8 *)(r6 + 0)\n"        /* method, narrow */
		"*(u32 *)(r6 + 12) = r7\n"     /* verdict */
		"out:\n"
		"exit";
	for (int e = 0; e < 3; e++) {
		char name[64], msg[600];
		int err;
		snprintf(name, sizeof name, "embedder/run/%s", ename[e]);
		skep_prog *p = load(d.type, text, e, &err, msg, sizeof msg);
		if (!p) {
			CHECK(0, name, "load: %s", msg);
			continue;
		}
		uint32_t body[2] = {5, 6};
		struct req_real r = {(uint64_t)(uintptr_t)body, (uint64_t)(uintptr_t)(body + 2), 0x302, 0};
		struct skep_region reg[2] = {{&r, sizeof r, 1}, {body, sizeof body, 0}};
		struct skep_run_args a = {.r = {(uint64_t)(uintptr_t)&r}, .regions = reg, .nregions = 2};
		uint64_t r0 = 0;
		req_count = 0;
		err = skep_prog_run(p, &a, &r0);
		CHECK(!err && r0 == 5 && r.verdict == 2 && req_count == 5, name, "err %d r0 %llu verdict %u (%s)", err,
		      (unsigned long long)r0, r.verdict, skep_prog_error(p));
		struct skep_test_run_opts o = {0};
		CHECK(skep_prog_test_run(p, &o) == -EOPNOTSUPP, "embedder/no-test-run", "accepted");
		skep_prog_free(p);
	}
	refused("embedder/write-method", d.type, "*(u32 *)(r1 + 0) = 1\nr0 = 0\nexit", -EACCES,
		"write of test_req.method");
	refused("embedder/foreign-helper", d.type, "call 1\nexit", -EINVAL, "helper 1 is not allowed in test_req");
	CHECK(skep_prog_type_unregister(d.type) == 0 && !skep_prog_type_by_id(d.type) &&
	      skep_prog_type_unregister(d.type) == -ENOENT, "embedder/unregister", "still there");
}

int main(void)
{
	registry();
	rewrite();
	tracing();
	test_runs();
	embedder();
	return t_done();
}
