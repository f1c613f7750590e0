/* Tail calls through real PROG_ARRAY maps: programs put in by the host (map API, value
 * = program id as libbpf passes prog fds), on the interpreter, the checked engine and
 * the JIT (hit, empty slot, out of range, the 33-call limit, a program freed while in
 * the array, type ownership), and a clang-built object whose prog array is initialised
 * in BTF, run on every engine and compared with the kernel (libbpf, dlopen'ed). */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "insn_macros.h"
#include "kernel.h"
#include "kmap.h"
#include "skep/map.h"
#include "skep/object.h"
#include "skep/prog.h"
#include "skep/progtype.h"
#include "skep/testrun.h"

static const char *const engine_name[] = {"interp", "checked", "jit"};
static char objdir[512];
static const char *variant = "";  /* "" or "/v4" (clang-19 -mcpu=v4) */

enum { R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 };
#define LD_MAP(DST, ID) BPF_LD_IMM64_RAW(DST, 1 /* BPF_PSEUDO_MAP_FD */, (uint32_t)(ID))
#define N(a) (sizeof (a) / sizeof (a)[0])

static skep_prog *load(const struct skep_insn *in, size_t n, enum skep_engine e)
{
	skep_prog *p = skep_prog_new();
	int rc = skep_prog_load(p, in, n);
	if (!rc)
		rc = skep_prog_set_engine(p, e);
	if (rc) {
		fprintf(stderr, "load: %s\n", skep_prog_error(p));
		skep_prog_free(p);
		return NULL;
	}
	return p;
}

static int put(skep_map *m, uint32_t idx, const skep_prog *p)
{
	uint32_t id = skep_prog_id(p);
	return skep_map_update_elem(m, &idx, &id, 0);
}

static void test_host_array(enum skep_engine e)
{
	const char *en = engine_name[e];
	char nm[128];
	skep_map *pa = skep_map_create(SKEP_MAP_TYPE_PROG_ARRAY, "jmp", 4, 4, 4, NULL);
	if (!pa) {
		CHECK(0, "prog array created", "%s", skep_map_error(NULL));
		return;
	}
	uint32_t mid = skep_map_id(pa);
	/* target: r0 = data[0] + 120 (r1 is the caller's); on the interpreter itself: a JIT
	 * caller needs the code compiled at insert */
	const struct skep_insn tgt[] = {BPF_LDX_MEM(BPF_B, R0, R1, 0), BPF_ALU64_IMM(BPF_ADD, R0, 120),
					BPF_EXIT_INSN()};
	skep_prog *t = load(tgt, N(tgt), SKEP_ENGINE_INTERP);
	/* caller: tail call to slot data[1]; falls through to r0 = 1 */
	const struct skep_insn call[] = {
		BPF_MOV64_IMM(R6, 20), LD_MAP(R2, mid), BPF_LDX_MEM(BPF_W, R3, R1, 4),
		BPF_CALL_HELPER(12), BPF_MOV64_IMM(R0, 1), BPF_EXIT_INSN(),
	};
	skep_prog *c = load(call, N(call), e);
	if (!t || !c) {
		CHECK(0, "programs load", "%s", "failed");
		goto out;
	}
	CHECK(skep_prog_engine(c) == e, "caller runs on the engine chosen", "%s: %s", en,
	      skep_prog_fallback_reason(c) ? skep_prog_fallback_reason(c) : "");
	uint32_t got = 0, k0 = 0;
	CHECK(put(pa, 0, t) == 0, "update with a program id", "%s", skep_map_error(pa));
	CHECK(skep_map_lookup_elem(pa, &k0, &got) == 0 && got == skep_prog_id(t) && skep_prog_by_id(got) == t,
	      "host lookup returns the program id", "got %u id %u", got, skep_prog_id(t));
	struct { uint32_t idx; uint64_t want; const char *what; } cases[] = {
		{0, 123, "hit"}, {1, 1, "empty slot falls through"}, {4, 1, "index == max_entries falls through"},
		{0xffffffffu, 1, "index 0xffffffff falls through"},
	};
	for (size_t i = 0; i < N(cases); i++) {
		uint32_t m[2] = {3, cases[i].idx};
		uint64_t r0 = 0;
		int rc = skep_prog_run_mem(c, m, 8, &r0);
		snprintf(nm, sizeof nm, "%s: %s", en, cases[i].what);
		CHECK(rc == 0 && r0 == cases[i].want, nm, "rc %d r0 %llu (%s)", rc, (unsigned long long)r0,
		      skep_prog_error(c));
	}
	/* delete: the slot is empty again */
	uint32_t m[2] = {3, 0};
	uint64_t r0 = 0;
	int rc = skep_map_delete_elem(pa, &k0);
	rc = rc ?: skep_prog_run_mem(c, m, 8, &r0);
	snprintf(nm, sizeof nm, "%s: deleted slot falls through", en);
	CHECK(rc == 0 && r0 == 1, nm, "rc %d r0 %llu", rc, (unsigned long long)r0);
	/* the target's helpers change after insertion: JIT callers still reach it */
	put(pa, 0, t);
	skep_prog_set_helper(t, 5, NULL);
	rc = skep_prog_run_mem(c, m, 8, &r0);
	snprintf(nm, sizeof nm, "%s: target still reached after its helpers changed", en);
	CHECK(rc == 0 && r0 == 123, nm, "rc %d r0 %llu", rc, (unsigned long long)r0);

	/* a program freed while in the array leaves it */
	skep_prog *t2 = load(tgt, N(tgt), e);
	uint32_t k2 = 2, id2 = t2 ? skep_prog_id(t2) : 0;
	m[1] = 2;
	rc = t2 ? put(pa, 2, t2) : -ENOMEM;
	rc = rc ?: skep_prog_run_mem(c, m, 8, &r0);
	snprintf(nm, sizeof nm, "%s: second target hit", en);
	CHECK(rc == 0 && r0 == 123, nm, "rc %d r0 %llu", rc, (unsigned long long)r0);
	skep_prog_free(t2);
	rc = skep_prog_run_mem(c, m, 8, &r0);
	snprintf(nm, sizeof nm, "%s: a freed program's slot falls through", en);
	CHECK(rc == 0 && r0 == 1, nm, "rc %d r0 %llu", rc, (unsigned long long)r0);
	snprintf(nm, sizeof nm, "%s: a freed program leaves the map and the registry", en);
	CHECK(skep_map_lookup_elem(pa, &k2, &got) == -ENOENT && !skep_prog_by_id(id2) &&
	      skep_map_update_elem(pa, &k2, &id2, 0) == -EBADF, nm, "%s", skep_map_error(pa));

	/* the 33-call limit: a program tail-calling itself runs 1 + 33 times per run */
	const struct skep_insn self[] = {
		BPF_LDX_MEM(BPF_DW, R0, R1, 0), BPF_ALU64_IMM(BPF_ADD, R0, 1), BPF_STX_MEM(BPF_DW, R1, R0, 0),
		LD_MAP(R2, mid), BPF_MOV64_IMM(R3, 3), BPF_CALL_HELPER(12),
		BPF_LDX_MEM(BPF_DW, R0, R1, 0), BPF_EXIT_INSN(),
	};
	skep_prog *s = load(self, N(self), e);
	uint64_t counter = 0;
	rc = s ? put(pa, 3, s) : -ENOMEM;
	rc = rc ?: skep_prog_run_mem(s, &counter, 8, &r0);
	snprintf(nm, sizeof nm, "%s: at most 33 tail calls per run", en);
	CHECK(rc == 0 && r0 == 34 && counter == 34, nm, "rc %d r0 %llu counter %llu", rc,
	      (unsigned long long)r0, (unsigned long long)counter);
	rc = skep_prog_run_mem(s, &counter, 8, &r0);
	snprintf(nm, sizeof nm, "%s: the budget is per run", en);
	CHECK(rc == 0 && counter == 68, nm, "rc %d counter %llu", rc, (unsigned long long)counter);
	/* entered by a tail call from another program: 33 in all, the first one included */
	uint32_t mm[4] = {3, 3};
	rc = skep_prog_run_mem(c, mm, 16, &r0);
	snprintf(nm, sizeof nm, "%s: a chain entered by a tail call stops after 33", en);
	CHECK(rc == 0 && r0 == 0x300000003ull + 33, nm, "rc %d r0 0x%llx", rc, (unsigned long long)r0);
	skep_prog_free(s);

	/* ownership: the first program type that uses the table; others are refused */
	skep_prog *x = skep_prog_new();
	rc = skep_prog_set_type(x, 6 /* XDP */);
	const struct skep_insn ret2[] = {BPF_MOV64_IMM(R0, 2), BPF_EXIT_INSN()};
	rc = rc ?: skep_prog_load(x, ret2, N(ret2));
	uint32_t xid = skep_prog_id(x), k1 = 1;
	snprintf(nm, sizeof nm, "%s: a program of another type is refused", en);
	CHECK(rc == 0 && skep_map_update_elem(pa, &k1, &xid, 0) == -EINVAL, nm, "rc %d: %s", rc, skep_map_error(pa));
	skep_prog *x2 = skep_prog_new();
	skep_prog_set_type(x2, 6);
	const struct skep_insn use[] = {
		LD_MAP(R2, mid), BPF_MOV64_IMM(R3, 0), BPF_CALL_HELPER(12), BPF_MOV64_IMM(R0, 1), BPF_EXIT_INSN(),
	};
	rc = skep_prog_load(x2, use, N(use));
	snprintf(nm, sizeof nm, "%s: loading a program of another type that uses the table fails", en);
	CHECK(rc == -EINVAL && strstr(skep_prog_error(x2), "another type"), nm, "rc %d: %s", rc, skep_prog_error(x2));
	skep_prog_free(x);
	skep_prog_free(x2);
out:
	skep_prog_free(c);
	skep_prog_free(t);
	skep_map_close(pa);
}

/* The checked engine: r2 must be a prog array the program references, r1 the context. */
static void test_checked_args(void)
{
	skep_prog *t = skep_prog_new();
	const struct skep_insn ret[] = {BPF_MOV64_IMM(R0, 5), BPF_EXIT_INSN()};
	skep_prog_load(t, ret, N(ret));
	struct skep_prog_array_like { uint32_t max; skep_prog *const *progs; } fake = {1, (skep_prog *const[]){t}};
	const struct skep_insn hand[] = {
		BPF_LD_IMM64(R2, (uint64_t)(uintptr_t)&fake), BPF_MOV64_IMM(R3, 0), BPF_CALL_HELPER(12),
		BPF_MOV64_IMM(R0, 1), BPF_EXIT_INSN(),
	};
	uint64_t r0 = 0, mem = 0;
	skep_prog *p = load(hand, N(hand), SKEP_ENGINE_INTERP);
	int rc = p ? skep_prog_run_mem(p, &mem, 8, &r0) : -1;
	CHECK(rc == 0 && r0 == 5, "interp: a hand-built table is followed", "rc %d r0 %llu", rc, (unsigned long long)r0);
	rc = p ? skep_prog_set_engine(p, SKEP_ENGINE_CHECKED) : -1;
	rc = rc ?: skep_prog_run_mem(p, &mem, 8, &r0);
	CHECK(rc == -EFAULT && strstr(skep_prog_error(p), "arg 2 (r2)") &&
	      strstr(skep_prog_error(p), "not a prog array this program references"),
	      "checked: a hand-built table is refused", "rc %d: %s", rc, p ? skep_prog_error(p) : "");
	skep_prog_free(p);

	skep_map *pa = skep_map_create(SKEP_MAP_TYPE_PROG_ARRAY, NULL, 4, 4, 1, NULL);
	skep_map *ar = skep_map_create(SKEP_MAP_TYPE_ARRAY, NULL, 4, 4, 1, NULL);
	put(pa, 0, t);
	const struct skep_insn notctx[] = {
		BPF_MOV64_REG(R1, R10), LD_MAP(R2, skep_map_id(pa)), BPF_MOV64_IMM(R3, 0), BPF_CALL_HELPER(12),
		BPF_MOV64_IMM(R0, 1), BPF_EXIT_INSN(),
	};
	p = load(notctx, N(notctx), SKEP_ENGINE_CHECKED);
	rc = p ? skep_prog_run_mem(p, &mem, 8, &r0) : -1;
	CHECK(rc == -EFAULT && strstr(skep_prog_error(p), "arg 1 (r1)"), "checked: r1 must be the context",
	      "rc %d: %s", rc, p ? skep_prog_error(p) : "");
	skep_prog_free(p);
	const struct skep_insn array[] = {
		LD_MAP(R2, skep_map_id(ar)), BPF_MOV64_IMM(R3, 0), BPF_CALL_HELPER(12),
		BPF_MOV64_IMM(R0, 1), BPF_EXIT_INSN(),
	};
	p = load(array, N(array), SKEP_ENGINE_CHECKED);
	rc = p ? skep_prog_run_mem(p, &mem, 8, &r0) : -1;
	CHECK(rc == -EFAULT && strstr(skep_prog_error(p), "not a prog array"), "checked: an ARRAY map is refused",
	      "rc %d: %s", rc, p ? skep_prog_error(p) : "");
	skep_prog_free(p);
	const struct skep_insn good[] = {
		LD_MAP(R2, skep_map_id(pa)), BPF_MOV64_IMM(R3, 0), BPF_CALL_HELPER(12),
		BPF_MOV64_IMM(R0, 1), BPF_EXIT_INSN(),
	};
	p = load(good, N(good), SKEP_ENGINE_CHECKED);
	rc = p ? skep_prog_run_mem(p, &mem, 8, &r0) : -1;
	CHECK(rc == 0 && r0 == 5, "checked: a referenced prog array is followed", "rc %d r0 %llu: %s", rc,
	      (unsigned long long)r0, p ? skep_prog_error(p) : "");
	skep_prog_free(p);
	skep_map_close(pa);
	skep_map_close(ar);
	skep_prog_free(t);
}

/* ---- the object, in Skep and in the kernel */
struct run { const char *prog; uint8_t sel, cnt; };
static const struct run runs[] = {
	{"entry", 0, 5},    /* entry -> stage1 -> stage2: 25 */
	{"entry", 1, 5},    /* empty slot: 101 */
	{"entry", 2, 7},    /* stage2: 27 */
	{"entry", 3, 0},    /* loop, entered by a tail call: 33 runs, 1033 */
	{"entry", 4, 0},    /* out of range: 104 */
	{"entry", 200, 0},
	{"loop", 0, 0},     /* 1 + 33 runs */
	{"stage1", 0, 9},
	{"stage2", 0, 1},
};
#define NRUNS N(runs)

static int skep_object_runs(enum skep_engine e, uint32_t *ret, uint64_t *hits)
{
	char path[600];
	snprintf(path, sizeof path, "%s%s/tailcall.o", objdir, variant);
	skep_object *obj;
	int rc = skep_object_open_file(path, NULL, &obj);
	if (rc) {
		fprintf(stderr, "open %s: %d\n", path, rc);
		return rc;
	}
	rc = skep_object_load(obj);
	if (rc) {
		fprintf(stderr, "load: %s\n", skep_object_error(obj));
		skep_object_close(obj);
		return rc;
	}
	for (skep_program *p = NULL; (p = skep_object_next_program(obj, p));)
		if ((rc = skep_prog_set_engine(skep_program_prog(p), e)))
			break;
	for (size_t i = 0; !rc && i < NRUNS; i++) {
		skep_program *p = skep_object_find_program_by_name(obj, runs[i].prog);
		uint8_t pkt[64] = {runs[i].sel, runs[i].cnt};
		struct skep_test_run_opts o = {.data_in = pkt, .data_size_in = sizeof pkt};
		rc = p ? skep_prog_test_run(skep_program_prog(p), &o) : -ENOENT;
		if (rc)
			fprintf(stderr, "%s run %zu: %s\n", engine_name[e], i, p ? skep_prog_error(skep_program_prog(p)) : "?");
		ret[i] = o.retval;
	}
	skep_object_map *hm = skep_object_find_map_by_name(obj, "hits");
	uint32_t k = 0;
	if (!rc)
		rc = hm ? skep_map_lookup_elem(skep_object_map_handle(hm), &k, hits) : -ENOENT;
	skep_object_close(obj);
	return rc;
}

/* libbpf, dlopen'ed (its headers clash with the ISA's macros): open and load only; the
 * runs and map reads go through bpf() (tests/lib). */
struct bpf_object;
struct bpf_program;
struct bpf_map;
static struct {
	void *h;
	struct bpf_object *(*open)(const char *path, const void *opts);
	int (*load)(struct bpf_object *obj);
	void (*close)(struct bpf_object *obj);
	struct bpf_program *(*find_prog)(const struct bpf_object *obj, const char *name);
	struct bpf_map *(*find_map)(const struct bpf_object *obj, const char *name);
	int (*prog_fd)(const struct bpf_program *p);
	int (*map_fd)(const struct bpf_map *m);
	void *(*set_print)(int (*fn)(int level, const char *fmt, va_list ap));
} lb;

static int quiet(int level, const char *f, va_list ap) { return 0; }

/* 0, 1 = no libbpf / no permission (skip), or -1 = a failure */
static int kernel_runs(uint32_t *ret, uint64_t *hits)
{
	if (!lb.h && !(lb.h = dlopen("libbpf.so.1", RTLD_NOW)))
		return 1;
#define S(f, n) *(void **)&lb.f = dlsym(lb.h, #n)
	S(open, bpf_object__open_file); S(load, bpf_object__load); S(close, bpf_object__close);
	S(find_prog, bpf_object__find_program_by_name); S(find_map, bpf_object__find_map_by_name);
	S(prog_fd, bpf_program__fd); S(map_fd, bpf_map__fd); S(set_print, libbpf_set_print);
#undef S
	if (!lb.open || !lb.load || !lb.close || !lb.find_prog || !lb.find_map || !lb.prog_fd || !lb.map_fd ||
	    !lb.set_print || !kernel_available(NULL, 0))
		return 1;
	lb.set_print(quiet);
	char path[600];
	snprintf(path, sizeof path, "%s%s/tailcall.o", objdir, variant);
	struct bpf_object *obj = lb.open(path, NULL);
	if (!obj || (uintptr_t)obj >= (uintptr_t)-4095)
		return -1;
	int rc = lb.load(obj);
	if (rc) {
		lb.close(obj);
		return rc == -EPERM || rc == -EACCES ? 1 : -1;
	}
	for (size_t i = 0; !rc && i < NRUNS; i++) {
		struct bpf_program *p = lb.find_prog(obj, runs[i].prog);
		uint8_t pkt[64] = {runs[i].sel, runs[i].cnt};
		rc = p ? kernel_test_run(lb.prog_fd(p), pkt, sizeof pkt, NULL, 0, 1, &ret[i], NULL, NULL, NULL) : -1;
	}
	uint32_t k = 0;
	struct bpf_map *hm = lb.find_map(obj, "hits");
	if (!rc)
		rc = hm ? kmap_lookup(lb.map_fd(hm), &k, hits, 0) : -1;
	lb.close(obj);
	return rc ? -1 : 0;
}

static void test_object(void)
{
	uint32_t kret[NRUNS] = {0};
	uint64_t khits = 0;
	int krc = kernel_runs(kret, &khits);
	CHECK(krc >= 0, "kernel: the object loads and runs", "%s: rc %d", variant, krc);
	/* what the kernel gives, also checked on its own (so a skipped kernel leaves a test) */
	static const uint32_t want[NRUNS] = {25, 101, 27, 1033, 104, 300, 1034, 29, 21};
	for (int e = 0; e < 3; e++) {
		uint32_t ret[NRUNS] = {0};
		uint64_t hits = 0;
		char nm[128];
		int rc = skep_object_runs((enum skep_engine)e, ret, &hits);
		snprintf(nm, sizeof nm, "%s%s: object with a BTF-initialised prog array runs", engine_name[e], variant);
		CHECK(rc == 0, nm, "rc %d", rc);
		for (size_t i = 0; !rc && i < NRUNS; i++) {
			snprintf(nm, sizeof nm, "%s%s: %s sel %u cnt %u", engine_name[e], variant, runs[i].prog, runs[i].sel,
				 runs[i].cnt);
			CHECK(ret[i] == want[i], nm, "retval %u, want %u", ret[i], want[i]);
			if (krc == 0) {
				snprintf(nm, sizeof nm, "%s%s: %s sel %u cnt %u as the kernel", engine_name[e], variant,
					 runs[i].prog, runs[i].sel, runs[i].cnt);
				CHECK(ret[i] == kret[i], nm, "skep %u kernel %u", ret[i], kret[i]);
			}
		}
		snprintf(nm, sizeof nm, "%s%s: the tail-called stage updated its own map", engine_name[e], variant);
		CHECK(!rc && hits == 2 && (krc != 0 || hits == khits), nm, "skep %llu kernel %llu",
		      (unsigned long long)hits, (unsigned long long)khits);
	}
	if (krc == 1)
		t_skip("kernel comparison", "%s", "libbpf or bpf() not available");
}

int main(int argc, char **argv)
{
	const char *s = strrchr(argv[0], '/');
	snprintf(objdir, sizeof objdir, "%.*s/../objects", s ? (int)(s - argv[0]) : 1, s ? argv[0] : ".");
	if (getenv("SKEP_OBJDIR"))
		snprintf(objdir, sizeof objdir, "%s", getenv("SKEP_OBJDIR"));
	for (int e = 0; e < 3; e++)
		test_host_array((enum skep_engine)e);
	test_checked_args();
	test_object();
	char v4[600];
	snprintf(v4, sizeof v4, "%s/v4/tailcall.o", objdir);
	if (!access(v4, F_OK)) {
		variant = "/v4";
		test_object();
	}
	return t_done();
}
