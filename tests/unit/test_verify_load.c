/* Loading runs the verifier: skep_prog_load_verified (verdicts, what the checked engine
 * does with the proofs), the explicit opt-out (checked engine only), helpers the runtime
 * lacks refused at run time by name, and skep_object_load verifying every program of an
 * object (type from the section, maps from the object, the refusal naming program,
 * instruction, reason and source line). Objects come from <build>/objects as in
 * test_loader. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "skep/insn.h"
#include "skep/object.h"
#include "skep/prog.h"
#include "skep/progtype.h"
#include "skep/testrun.h"
#include "skep/verifier.h"

static char objdir[512];

static int has(const char *s, const char *sub) { return s && strstr(s, sub) != NULL; }

static struct skep_insn *asm_of(const char *text, size_t *n)
{
	struct skep_insn *insns = NULL;
	struct skep_diag d;
	if (skep_assemble(text, &insns, n, &d)) {
		fprintf(stderr, "assemble: %s\n", d.msg);
		return NULL;
	}
	return insns;
}

/* XDP: r0 = packet[12] & 1 + 1 after checking 16 bytes (accesses at 0, 1, 6), else 2. */
static const char *const GOOD =
	"r2 = *(u32 *)(r1 + 0)\n"
	"r3 = *(u32 *)(r1 + 4)\n"
	"r4 = r2\n"
	"r4 += 16\n"
	"r0 = 2\n"
	"if r4 > r3 goto +3\n"
	"r0 = *(u8 *)(r2 + 12)\n"
	"r0 &= 1\n"
	"r0 += 1\n"
	"exit\n";

/* packet[20] without a bounds check: refused at insn 4. */
static const char *const BAD =
	"r2 = *(u32 *)(r1 + 0)\n"
	"r3 = *(u32 *)(r1 + 4)\n"
	"r4 = r2\n"
	"r0 = 2\n"
	"r0 = *(u8 *)(r2 + 20)\n"
	"exit\n";

/* packet[30000]: past any test run's buffer. */
static const char *const FAR =
	"r2 = *(u32 *)(r1 + 0)\n"
	"r0 = *(u8 *)(r2 + 30000)\n"
	"exit\n";

/* A kernel helper Skep's runtime does not implement (bpf_fib_lookup, #69), on a
 * zeroed 8-byte stack buffer: verified, then refused when the call runs. */
static const char *const FIB =
	"*(u64 *)(r10 - 8) = 0\n"
	"r2 = r10\n"
	"r2 += -8\n"
	"r3 = 8\n"
	"r4 = 0\n"
	"call 69\n"
	"r0 = 2\n"
	"exit\n";

static skep_prog *typed(uint32_t type)
{
	skep_prog *p = skep_prog_new();
	if (p && skep_prog_set_type(p, type)) {
		skep_prog_free(p);
		return NULL;
	}
	return p;
}

static int test_run(skep_prog *p, const void *pkt, uint32_t len, uint32_t *ret, int *err)
{
	uint8_t out[256];
	struct skep_test_run_opts t = {.data_in = pkt, .data_size_in = len, .data_out = out,
				       .data_size_out = sizeof out};
	*err = skep_prog_test_run(p, &t);
	*ret = t.retval;
	return *err;
}

static void test_verified(void)
{
	size_t n;
	struct skep_insn *in = asm_of(GOOD, &n);
	skep_prog *p = typed(SKEP_PROG_TYPE_XDP);
	if (!in || !p) {
		CHECK(0, "verified: setup", "assembly or program");
		goto out;
	}
	struct skep_verify_result r;
	int rc = skep_prog_load_verified(p, in, n, NULL, &r);
	CHECK(rc == 0 && r.accepted, "verified: accepted and loaded", "%d %s", rc, skep_prog_error(p));
	CHECK(skep_prog_verification(p) == SKEP_PROG_VERIFIED, "verified: state", "%d", skep_prog_verification(p));
	CHECK(r.mem_safe && r.n == n && r.mem_safe[0] && r.mem_safe[1] && r.mem_safe[6] && !r.mem_safe[2] &&
	      !r.mem_safe[5], "verified: the proofs per instruction", "%p", (void *)r.mem_safe);
	skep_verify_result_free(&r);
	uint8_t pkt[64] = {0};
	uint32_t ret;
	int err;
	static const enum skep_engine engines[] = {SKEP_ENGINE_INTERP, SKEP_ENGINE_CHECKED, SKEP_ENGINE_JIT};
	for (size_t e = 0; e < 3; e++) {
		int se = skep_prog_set_engine(p, engines[e]);
		test_run(p, pkt, sizeof pkt, &ret, &err);
		CHECK(se == 0 && err == 0 && ret == 1, "verified: runs on every engine", "engine %d: set %d run %d ret %u %s",
		      (int)engines[e], se, err, ret, skep_prog_error(p));
		test_run(p, pkt, 14, &ret, &err);  /* short packet: the bounds check's branch */
		CHECK(err == 0 && ret == 2, "verified: short packet takes the bounds check", "engine %d: %d ret %u %s",
		      (int)engines[e], err, ret, skep_prog_error(p));
	}

	/* The checked engine does not check again what the verifier proved: a context whose
	 * packet lies outside every declared region runs when verified, and faults when the
	 * same program was loaded raw. */
	const struct skep_prog_type_desc *d = skep_prog_type_by_id(SKEP_PROG_TYPE_XDP);
	const struct skep_ctx_field *fd = d ? skep_ctx_field_at(d, 0, 4) : NULL, *fe = d ? skep_ctx_field_at(d, 4, 4) : NULL;
	if (!fd || !fe || d->real_ctx_size > 256) {
		CHECK(0, "verified: xdp descriptor", "%p %p", (void *)fd, (void *)fe);
		goto out;
	}
	_Alignas(8) uint8_t ctx[256] = {0};
	void *data = pkt, *end = pkt + sizeof pkt;
	memcpy(ctx + fd->real_off, &data, sizeof data);
	memcpy(ctx + fe->real_off, &end, sizeof end);
	struct skep_run_args a = {.r = {(uint64_t)(uintptr_t)ctx}};
	uint64_t r0 = 0;
	skep_prog_set_engine(p, SKEP_ENGINE_CHECKED);
	rc = skep_prog_run(p, &a, &r0);
	CHECK(rc == 0 && r0 == 1, "verified: proven accesses run unchecked on the checked engine", "%d r0 %llu %s", rc,
	      (unsigned long long)r0, skep_prog_error(p));
	skep_prog *raw = typed(SKEP_PROG_TYPE_XDP);
	rc = raw ? skep_prog_load(raw, in, n) : -1;
	CHECK(rc == 0 && skep_prog_verification(raw) == SKEP_PROG_NOT_VERIFIED, "raw load: not verified", "%d", rc);
	if (raw) {
		skep_prog_set_engine(raw, SKEP_ENGINE_CHECKED);
		rc = skep_prog_run(raw, &a, &r0);
		CHECK(rc == -EFAULT && has(skep_prog_error(raw), "insn 0"), "raw load: the checked engine checks every access",
		      "%d %s", rc, skep_prog_error(raw));
		CHECK(skep_prog_set_engine(raw, SKEP_ENGINE_JIT) == 0, "raw load: any engine (the embedder's choice)", "%s",
		      skep_prog_error(raw));
	}
	skep_prog_free(raw);
out:
	skep_prog_free(p);
	free(in);
}

static void test_refused(void)
{
	size_t n;
	struct skep_insn *in = asm_of(BAD, &n);
	skep_prog *p = typed(SKEP_PROG_TYPE_XDP);
	char log[4096];
	struct skep_verify_opts o = {.sz = sizeof o, .log_level = 1, .log_buf = log, .log_size = sizeof log,
				     .prog_type = SKEP_PROG_TYPE_SOCKET_FILTER /* ignored: p's type */};
	struct skep_verify_result r;
	int rc = in && p ? skep_prog_load_verified(p, in, n, &o, &r) : -1;
	CHECK(rc == -EACCES && !r.accepted && r.insn == 4 && has(skep_prog_error(p), "insn 4") &&
	      has(skep_prog_error(p), "packet"), "refused: errno, instruction and reason", "%d %ld %s", rc, r.insn,
	      p ? skep_prog_error(p) : "");
	CHECK(has(log, "processed") && has(log, "4: "), "refused: the log", "%.200s", log);
	size_t k = 1;
	CHECK(p && !skep_prog_insns(p, &k) && k == 0, "refused: nothing loaded", "%zu", k);
	skep_verify_result_free(&r);
	/* memory programs (type 0) cannot be verified: only the raw load takes them */
	skep_prog *m = skep_prog_new();
	rc = m && in ? skep_prog_load_verified(m, in, n, NULL, NULL) : -1;
	CHECK(rc < 0 && has(skep_prog_error(m), "type 0"), "refused: a memory program", "%d %s", rc, skep_prog_error(m));
	skep_prog_free(m);
	skep_prog_free(p);
	free(in);
}

static void test_unverified(void)
{
	size_t n;
	struct skep_insn *in = asm_of(BAD, &n);
	skep_prog *p = typed(SKEP_PROG_TYPE_XDP);
	if (!in || !p) {
		CHECK(0, "unverified: setup", "-");
		goto out;
	}
	int rc = skep_prog_set_unverified(p);
	rc = rc ? rc : skep_prog_load(p, in, n);
	CHECK(rc == 0 && skep_prog_verification(p) == SKEP_PROG_UNVERIFIED && skep_prog_engine(p) == SKEP_ENGINE_CHECKED,
	      "unverified: loads on the checked engine", "%d %s", rc, skep_prog_error(p));
	rc = skep_prog_set_engine(p, SKEP_ENGINE_JIT);
	CHECK(rc == -EPERM && has(skep_prog_error(p), "checked engine"), "unverified: no JIT", "%d %s", rc, skep_prog_error(p));
	rc = skep_prog_set_engine(p, SKEP_ENGINE_INTERP);
	CHECK(rc == -EPERM, "unverified: no fast interpreter", "%d", rc);
	CHECK(skep_prog_func(p) == NULL, "unverified: no native entry", "-");
	CHECK(skep_prog_engine(p) == SKEP_ENGINE_CHECKED, "unverified: engine stays checked", "%d", skep_prog_engine(p));
	uint8_t pkt[64] = {0};
	pkt[20] = 7;
	uint32_t ret;
	int err;
	test_run(p, pkt, sizeof pkt, &ret, &err);
	CHECK(err == 0 && ret == 7, "unverified: runs checked", "%d %u %s", err, ret, skep_prog_error(p));
	/* the mark sticks across a raw reload */
	free(in);
	in = asm_of(FAR, &n);
	rc = in ? skep_prog_load(p, in, n) : -1;
	CHECK(rc == 0 && skep_prog_verification(p) == SKEP_PROG_UNVERIFIED, "unverified: kept across reload", "%d", rc);
	test_run(p, pkt, sizeof pkt, &ret, &err);
	CHECK(err == -EFAULT && has(skep_prog_error(p), "insn 1"), "unverified: the checked engine catches a bad access",
	      "%d %s", err, skep_prog_error(p));
	free(in);
	in = asm_of(GOOD, &n);
	rc = in ? skep_prog_load_verified(p, in, n, NULL, NULL) : -1;
	CHECK(rc == -EINVAL && has(skep_prog_error(p), "marked unverified"),
	      "unverified: a verified load of a marked program is refused", "%d %s", rc, skep_prog_error(p));
out:
	skep_prog_free(p);
	free(in);
}

static void test_missing_helper(void)
{
	size_t n;
	struct skep_insn *in = asm_of(FIB, &n);
	skep_prog *p = typed(SKEP_PROG_TYPE_XDP);
	int rc = in && p ? skep_prog_load_verified(p, in, n, NULL, NULL) : -1;
	CHECK(rc == 0, "missing helper: verified (the verifier knows every kernel helper)", "%d %s", rc,
	      p ? skep_prog_error(p) : "");
	uint8_t pkt[64] = {0};
	uint32_t ret;
	int err;
	static const enum skep_engine engines[] = {SKEP_ENGINE_INTERP, SKEP_ENGINE_CHECKED, SKEP_ENGINE_JIT};
	for (size_t e = 0; !rc && e < 3; e++) {
		skep_prog_set_engine(p, engines[e]);
		test_run(p, pkt, sizeof pkt, &ret, &err);
		CHECK(err == -ENOSYS && has(skep_prog_error(p), "bpf_fib_lookup") && has(skep_prog_error(p), "insn 5"),
		      "missing helper: refused at run time, by name", "engine %d: %d %s", (int)engines[e], err,
		      skep_prog_error(p));
	}
	skep_prog_free(p);
	free(in);
}

static skep_object *open_obj(const char *name)
{
	char path[700];
	snprintf(path, sizeof path, "%s/%s", objdir, name);
	skep_object *obj = NULL;
	int rc = skep_object_open_file(path, NULL, &obj);
	CHECK(rc == 0, name, "open: %d %s", rc, skep_object_error(NULL));
	return obj;
}

static void test_objects(void)
{
	/* every program of calls.o (bpf-to-bpf calls, a loop) and globals.o (global data
	 * through map values) verifies, with its maps from the object */
	static const char *const good[] = {"calls.o", "globals.o"};
	for (size_t i = 0; i < 2; i++) {
		skep_object *obj = open_obj(good[i]);
		if (!obj)
			continue;
		int rc = skep_object_load(obj);
		CHECK(rc == 0, "object: loads verified", "%s: %d %s", good[i], rc, skep_object_error(obj));
		int all = 1, cnt = 0;
		for (skep_program *p = skep_object_next_program(obj, NULL); p; p = skep_object_next_program(obj, p), cnt++)
			all &= skep_program_prog(p) && skep_prog_verification(skep_program_prog(p)) == SKEP_PROG_VERIFIED;
		CHECK(!rc && all && cnt > 0, "object: every program verified", "%s: %d programs", good[i], cnt);
		skep_object_close(obj);
	}

	/* tailcall.o's stage2 reads the packet through xdp_md; as a socket filter the same
	 * loads give scalars (skb->len, skb->pkt_type): refused, by program, instruction,
	 * reason and source line */
	skep_object *obj = open_obj("tailcall.o");
	skep_program *p = obj ? skep_object_find_program_by_name(obj, "stage2") : NULL;
	if (p) {
		struct skep_verify_result r;
		skep_program_set_type(p, SKEP_PROG_TYPE_SOCKET_FILTER);
		int rc = skep_program_verify(p, NULL, &r);
		CHECK(rc == 0 && !r.accepted && r.insn >= 0 && has(r.msg, "invalid mem access 'scalar'") &&
		      has(r.msg, "(tailcall.bpf.c:") && has(r.msg, "p[1]"), "object: verify offline names the source line",
		      "%d %s", rc, r.msg);
		skep_verify_result_free(&r);
		for (skep_program *q = skep_object_next_program(obj, NULL); q; q = skep_object_next_program(obj, q))
			skep_program_set_autoload(q, q == p);
		rc = skep_object_load(obj);
		const char *e = skep_object_error(obj);
		CHECK(rc == -EACCES && has(e, "program 'stage2': insn ") && has(e, "invalid mem access") &&
		      has(e, "tailcall.bpf.c:") && has(e, "return 20 + p[1];"), "object: a refused program fails the load",
		      "%d %s", rc, e);
		CHECK(!skep_program_prog(p) || !skep_prog_insns(skep_program_prog(p), NULL), "object: the refused program is not loaded", "-");
	}
	skep_object_close(obj);

	/* the explicit opt-out: loaded unverified, only the checked engine runs it, and it
	 * catches the access the verifier refused */
	obj = open_obj("tailcall.o");
	p = obj ? skep_object_find_program_by_name(obj, "stage2") : NULL;
	if (p) {
		skep_program_set_type(p, SKEP_PROG_TYPE_SOCKET_FILTER);
		for (skep_program *q = skep_object_next_program(obj, NULL); q; q = skep_object_next_program(obj, q))
			skep_program_set_autoload(q, q == p);
		struct skep_object_load_opts lo = {.sz = sizeof lo, .no_verify = 1};
		int rc = skep_object_load_with(obj, &lo);
		skep_prog *sp = skep_program_prog(p);
		CHECK(rc == 0 && sp && skep_prog_verification(sp) == SKEP_PROG_UNVERIFIED &&
		      skep_prog_engine(sp) == SKEP_ENGINE_CHECKED, "object: no_verify loads unverified", "%d %s", rc,
		      skep_object_error(obj));
		if (sp) {
			CHECK(skep_prog_set_engine(sp, SKEP_ENGINE_JIT) == -EPERM, "object: no_verify refuses the JIT", "%s",
			      skep_prog_error(sp));
			uint8_t pkt[64] = {0};
			uint32_t ret;
			int err;
			test_run(sp, pkt, sizeof pkt, &ret, &err);  /* p = skb->len (64) > end = pkt_type (0) */
			CHECK(err == 0 && ret == 0, "object: no_verify runs on the checked engine", "%d %u %s", err, ret,
			      skep_prog_error(sp));
		}
	}
	skep_object_close(obj);

	/* with a log */
	obj = open_obj("calls.o");
	if (obj) {
		char log[1 << 16];
		struct skep_object_load_opts lo = {.sz = sizeof lo, .log_level = 2, .log_buf = log, .log_size = sizeof log};
		int rc = skep_object_load_with(obj, &lo);
		CHECK(rc == 0 && has(log, "processed ") && has(log, "verification time"), "object: the verifier's log", "%d %.200s",
		      rc, log);
	}
	skep_object_close(obj);
}

int main(int argc, char **argv)
{
	const char *s = strrchr(argv[0], '/');
	snprintf(objdir, sizeof objdir, "%.*s/../objects", s ? (int)(s - argv[0]) : 1, s ? argv[0] : ".");
	if (getenv("SKEP_OBJDIR"))
		snprintf(objdir, sizeof objdir, "%s", getenv("SKEP_OBJDIR"));
	(void)argc;
	test_verified();
	test_refused();
	test_unverified();
	test_missing_helper();
	test_objects();
	return t_done();
}
