/* Helpers by kernel id, called from programs on every engine (interpreter, checked,
 * JIT): prototypes, map references at load, map helpers with the kernel's return codes
 * (compared with the kernel running the same program), callbacks (bpf_loop,
 * bpf_for_each_map_elem), ring and perf buffers, spin locks across threads, time and
 * process facts, probe_read, trace_printk and snprintf formats, strings, csum_diff,
 * stacks, signals, embedder helpers; and the time of a map lookup from JIT code. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "insn_macros.h"
#include "kernel.h"
#include "kmap.h"
#include "skep/helpers.h"
#include "skep/map.h"
#include "skep/prog.h"

enum { R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 };
static const enum skep_engine engines[] = {SKEP_ENGINE_INTERP, SKEP_ENGINE_CHECKED, SKEP_ENGINE_JIT};
static const char *const ename[] = {"interp", "checked", "jit"};
#define NENG 3

/* ---- a small program builder */
struct pb {
	struct skep_insn in[1024];
	size_t n;
};
static void add_n(struct pb *b, const struct skep_insn *x, size_t n)
{
	for (size_t k = 0; k < n && b->n < sizeof b->in / sizeof b->in[0]; k++)
		b->in[b->n++] = x[k];
}
#define A(b, ...) add_n(b, (struct skep_insn[]){__VA_ARGS__}, \
			sizeof((struct skep_insn[]){__VA_ARGS__}) / sizeof(struct skep_insn))
static void ld_map(struct pb *b, int reg, uint32_t id) { A(b, BPF_LD_IMM64_RAW(reg, BPF_PSEUDO_MAP_FD, id)); }
static void call(struct pb *b, int32_t id) { A(b, BPF_CALL_HELPER(id)); }
/* *(u64 *)(r6 + 8 * slot) = r0 */
static void save(struct pb *b, int slot) { A(b, BPF_STX_MEM(BPF_DW, R6, R0, (int16_t)(8 * slot))); }
/* r0 = r0 ? *(u64 *)r0 : -1, then save */
static void save_deref(struct pb *b, int slot)
{
	A(b, BPF_JMP_IMM(BPF_JEQ, R0, 0, 2), BPF_LDX_MEM(BPF_DW, R0, R0, 0), BPF_JMP_A(1),
	  BPF_MOV64_IMM(R0, -1));
	save(b, slot);
}
static void key32(struct pb *b, int32_t k) { A(b, BPF_ST_MEM(BPF_W, R10, -8, k)); }
static void val64(struct pb *b, int32_t v) { A(b, BPF_ST_MEM(BPF_DW, R10, -16, v)); }
static void r2_key(struct pb *b) { A(b, BPF_MOV64_REG(R2, R10), BPF_ALU64_IMM(BPF_ADD, R2, -8)); }
static void r3_val(struct pb *b) { A(b, BPF_MOV64_REG(R3, R10), BPF_ALU64_IMM(BPF_ADD, R3, -16)); }
static void r2_val(struct pb *b) { A(b, BPF_MOV64_REG(R2, R10), BPF_ALU64_IMM(BPF_ADD, R2, -16)); }
static void ret0(struct pb *b) { A(b, BPF_MOV64_IMM(R0, 0), BPF_EXIT_INSN()); }

/* Load and run on engine e with r1 = mem, r2 = len. 0 or the error (msg in why). */
static int run(enum skep_engine e, const struct skep_insn *v, size_t n, void *mem, size_t len,
	       uint64_t *r0, char *why, size_t wl)
{
	skep_prog *p = skep_prog_new();
	int err = skep_prog_load(p, v, n);
	if (!err)
		err = skep_prog_set_engine(p, e);
	if (!err && e == SKEP_ENGINE_JIT && skep_prog_fallback_reason(p)) {
		snprintf(why, wl, "JIT fell back: %s", skep_prog_fallback_reason(p));
		skep_prog_free(p);
		return -EOPNOTSUPP;
	}
	if (!err)
		err = skep_prog_run_mem(p, mem, len, r0);
	if (err)
		snprintf(why, wl, "%s", skep_prog_error(p));
	skep_prog_free(p);
	return err;
}

/* Run the memory program in the kernel once (XDP, data = mem); 1 ok, 0 skipped or
 * failed (reported). A verifier refusal is reported unless its log has accept_refusal
 * (then -1, or a skip when skip_refusal). */
static const char *accept_refusal, *skip_refusal;
static int krun(const char *name, const struct skep_insn *v, size_t n, void *mem, size_t len, uint32_t *ret)
{
	char why[256];
	if (!kernel_available(why, sizeof why)) {
		t_skip(name, "kernel: %s", why);
		return 0;
	}
	int type;
	size_t wn;
	struct skep_insn *w = kernel_wrap_mem(v, n, len, 0, &type, &wn);
	static char log[1 << 16];
	int fd = w ? kernel_prog_load(type, w, wn, log, sizeof log) : -ENOMEM;
	free(w);
	if (fd < 0 && skip_refusal && strstr(log, skip_refusal)) {
		t_skip(name, "the kernel needs %s", skip_refusal);
		return 0;
	}
	if (fd < 0 && accept_refusal && strstr(log, accept_refusal))
		return -1;
	if (fd < 0) {
		const char *tail = strlen(log) > 300 ? log + strlen(log) - 300 : log;
		t_result(0, name, "kernel refused (%d): %s", fd, tail);
		return 0;
	}
	size_t outlen = len;
	uint8_t *out = malloc(len);
	int err = kernel_test_run(fd, mem, len, NULL, 0, 1, ret, NULL, out, &outlen);
	close(fd);
	if (!err)
		memcpy(mem, out, len);
	free(out);
	if (err) {
		t_result(0, name, "kernel test run: %d", err);
		return 0;
	}
	return 1;
}

/* ============================== prototypes and registry */
static uint64_t h_triple(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e) { return 3 * a + b; }
static uint64_t h_other(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e) { return 1000; }

static void test_protos(void)
{
	const struct skep_helper_proto *p = skep_helper_proto(1);
	CHECK(p && !strcmp(p->name, "bpf_map_lookup_elem") && p->ret == SKEP_RET_PTR_TO_MAP_VALUE_OR_NULL &&
	      p->arg[0] == SKEP_ARG_CONST_MAP_PTR && p->arg[1] == SKEP_ARG_PTR_TO_MAP_KEY && !p->arg[2],
	      "proto: map_lookup_elem", "%s", p ? p->name : "missing");
	p = skep_helper_proto(SKEP_FUNC_ringbuf_reserve);
	CHECK(p && p->ret == SKEP_RET_PTR_TO_RINGBUF_MEM_OR_NULL && p->arg[1] == SKEP_ARG_CONST_ALLOC_SIZE_OR_ZERO,
	      "proto: ringbuf_reserve returns ringbuf memory or NULL", "%u", p ? p->ret : 0);
	p = skep_helper_proto(SKEP_FUNC_probe_read_kernel);
	CHECK(p && p->gpl_only && p->arg[0] == SKEP_ARG_PTR_TO_UNINIT_MEM && p->arg[1] == SKEP_ARG_CONST_SIZE_OR_ZERO,
	      "proto: probe_read_kernel (gpl, uninit mem, size or zero)", "-");
	p = skep_helper_proto(SKEP_FUNC_strtol);
	CHECK(p && (p->arg[3] & SKEP_ARG_FIXED_SIZE) && p->arg_size[3] == 8, "proto: strtol's result is 8 fixed bytes", "-");
	p = skep_helper_proto(SKEP_FUNC_loop);
	CHECK(p && p->arg[1] == SKEP_ARG_PTR_TO_FUNC && p->arg[2] == SKEP_ARG_PTR_TO_STACK_OR_NULL, "proto: loop", "-");
	p = skep_helper_proto(SKEP_FUNC_spin_lock);
	CHECK(p && p->ret == SKEP_RET_VOID && p->arg[0] == SKEP_ARG_PTR_TO_SPIN_LOCK, "proto: spin_lock", "-");
	CHECK(skep_helper_proto(9) == NULL && skep_helper_proto(100000) == NULL, "proto: unknown ids", "-");
	/* every implemented helper has a prototype, names match the kernel's ids */
	static const struct { uint32_t id; const char *name; } some[] = {
		{5, "ktime_get_ns"}, {6, "trace_printk"}, {16, "get_current_comm"}, {28, "csum_diff"},
		{87, "map_push_elem"}, {105, "strtol"}, {125, "ktime_get_boot_ns"}, {165, "snprintf"},
		{181, "loop"}, {182, "strncmp"}, {195, "map_lookup_percpu_elem"}, {208, "ktime_get_tai_ns"},
	};
	int ok = 1;
	for (size_t i = 0; i < sizeof some / sizeof some[0]; i++)
		ok &= skep_helper_by_name(some[i].name) == some[i].id && skep_helper_impl(some[i].id) != NULL;
	CHECK(ok && skep_helper_by_name("bpf_loop") == 181 && skep_helper_by_name("nope") == -1,
	      "helpers by name", "-");
	CHECK(skep_helper_impl(SKEP_FUNC_tail_call) == NULL && skep_helper_proto(SKEP_FUNC_tail_call),
	      "tail_call: prototype, no function (a jump in the engines)", "-");

	/* embedder helpers */
	struct skep_helper_proto up = {.ret = SKEP_RET_INTEGER, .arg = {SKEP_ARG_ANYTHING, SKEP_ARG_ANYTHING}};
	CHECK(skep_helper_register(5, "mine", h_triple, &up) == -EINVAL, "register: kernel id refused", "-");
	CHECK(skep_helper_register(SKEP_HELPER_USER_END, "mine", h_triple, &up) == -EINVAL, "register: id too big", "-");
	struct skep_helper_proto bad = {.arg = {SKEP_ARG_CONST_SIZE}};
	CHECK(skep_helper_register(SKEP_HELPER_USER_BASE + 9, "bad", h_triple, &bad) == -EINVAL,
	      "register: a size with no memory before it is refused", "-");
	CHECK(skep_helper_register(SKEP_HELPER_USER_BASE, "triple", h_triple, &up) == 0, "register", "-");
	CHECK(skep_helper_register(SKEP_HELPER_USER_BASE, "other", h_other, &up) == -EEXIST, "register: id taken", "-");
	CHECK(skep_helper_register(SKEP_HELPER_USER_BASE + 1, "triple", h_other, &up) == -EEXIST, "register: name taken", "-");
	p = skep_helper_proto(SKEP_HELPER_USER_BASE);
	CHECK(p && !strcmp(p->name, "triple") && p->id == SKEP_HELPER_USER_BASE && p->arg[1] == SKEP_ARG_ANYTHING &&
	      skep_helper_by_name("triple") == SKEP_HELPER_USER_BASE, "registered prototype", "-");
	const struct skep_insn prog[] = {
		BPF_MOV64_IMM(R1, 5), BPF_MOV64_IMM(R2, 7), BPF_CALL_HELPER(SKEP_HELPER_USER_BASE), BPF_EXIT_INSN(),
	};
	for (int e = 0; e < NENG; e++) {
		uint64_t r0 = 0;
		char why[512] = "", nm[96];
		int rc = run(engines[e], prog, 4, NULL, 0, &r0, why, sizeof why);
		snprintf(nm, sizeof nm, "%s: embedder helper bound by default", ename[e]);
		CHECK(rc == 0 && r0 == 22, nm, "rc %d r0 %" PRIu64 " %s", rc, r0, why);
		/* skep_prog_set_helper overrides, before load too */
		skep_prog *q = skep_prog_new();
		skep_prog_set_helper(q, SKEP_HELPER_USER_BASE, h_other);
		skep_prog_load(q, prog, 4);
		skep_prog_set_engine(q, engines[e]);
		rc = skep_prog_run_mem(q, NULL, 0, &r0);
		snprintf(nm, sizeof nm, "%s: skep_prog_set_helper before load overrides", ename[e]);
		CHECK(rc == 0 && r0 == 1000, nm, "rc %d r0 %" PRIu64, rc, r0);
		skep_prog_set_helper(q, SKEP_HELPER_USER_BASE, h_triple);
		rc = skep_prog_run_mem(q, NULL, 0, &r0);
		snprintf(nm, sizeof nm, "%s: and after load", ename[e]);
		CHECK(rc == 0 && r0 == 22, nm, "rc %d r0 %" PRIu64, rc, r0);
		skep_prog_free(q);
	}
	CHECK(skep_helper_unregister(SKEP_HELPER_USER_BASE) == 0 && skep_helper_impl(SKEP_HELPER_USER_BASE) == NULL &&
	      skep_helper_unregister(SKEP_HELPER_USER_BASE) == -ENOENT, "unregister", "-");
	uint64_t r0;
	char why[512];
	int rc = run(SKEP_ENGINE_INTERP, prog, 4, NULL, 0, &r0, why, sizeof why);
	CHECK(rc == -ENOSYS, "unregistered helper is unbound in new programs", "rc %d", rc);
}

/* ============================== map references at load */
static void test_maprefs(void)
{
	char why[512];
	uint64_t r0;
	const struct skep_insn bad[] = {
		BPF_MOV64_IMM(R0, 0), BPF_MOV64_IMM(R0, 0), BPF_MOV64_IMM(R0, 0),
		BPF_LD_IMM64_RAW(R1, BPF_PSEUDO_MAP_FD, 77777), BPF_EXIT_INSN(),
	};
	skep_prog *p = skep_prog_new();
	int rc = skep_prog_load(p, bad, 6);
	CHECK(rc == -EBADF && strstr(skep_prog_error(p), "insn 3: map id 77777 does not exist"),
	      "unknown map id: -EBADF naming the instruction", "rc %d: %s", rc, skep_prog_error(p));
	skep_prog_free(p);

	/* map_value: the address of the value of a one-element array (global data) */
	skep_map *g = skep_map_create(SKEP_MAP_TYPE_ARRAY, "glob", 4, 16, 1, NULL);
	uint32_t k0 = 0;
	uint64_t gv[2] = {0x1111, 0x2222};
	skep_map_update_elem(g, &k0, gv, 0);
	struct skep_insn rd[] = {
		BPF_LD_IMM64_RAW(R1, BPF_PSEUDO_MAP_VALUE, skep_map_id(g)),
		BPF_LDX_MEM(BPF_DW, R0, R1, 0), BPF_ST_MEM(BPF_DW, R1, 0, 0x3333), BPF_EXIT_INSN(),
	};
	rd[1].imm = 8;
	for (int e = 0; e < NENG; e++) {
		char nm[64];
		gv[1] = 0x2222;
		skep_map_update_elem(g, &k0, gv, 0);
		rc = run(engines[e], rd, 5, NULL, 0, &r0, why, sizeof why);
		uint64_t now[2];
		skep_map_lookup_elem(g, &k0, now);
		snprintf(nm, sizeof nm, "%s: lddw map_value reads and writes the value", ename[e]);
		CHECK(rc == 0 && r0 == 0x2222 && now[1] == 0x3333, nm, "rc %d r0 %" PRIx64 " %s", rc, r0, why);
	}
	struct skep_insn off[] = {BPF_LD_IMM64_RAW(R1, BPF_PSEUDO_MAP_VALUE, skep_map_id(g)), BPF_EXIT_INSN()};
	off[1].imm = 16;
	p = skep_prog_new();
	rc = skep_prog_load(p, off, 3);
	CHECK(rc == -EINVAL && strstr(skep_prog_error(p), "insn 0"), "map_value offset beyond the value",
	      "rc %d: %s", rc, skep_prog_error(p));
	/* the rewrite leaves a plain lddw, as the kernel does */
	const struct skep_insn ok[] = {BPF_LD_IMM64_RAW(R0, BPF_PSEUDO_MAP_FD, skep_map_id(g)), BPF_EXIT_INSN()};
	rc = skep_prog_load(p, ok, 3);
	size_t n;
	const struct skep_insn *li = skep_prog_insns(p, &n);
	skep_prog_run_mem(p, NULL, 0, &r0);
	CHECK(rc == 0 && li[0].src == 0 && r0 != 0 && r0 != skep_map_id(g), "map_fd becomes the map's address",
	      "rc %d src %d", rc, li[0].src);
	skep_map_close(g);
	skep_prog_free(p);
	const struct skep_insn idx[] = {BPF_LD_IMM64_RAW(R0, BPF_PSEUDO_MAP_IDX, 0), BPF_EXIT_INSN()};
	p = skep_prog_new();
	rc = skep_prog_load(p, idx, 3);
	CHECK(rc == -EPROTO, "map_idx without fd_array", "rc %d: %s", rc, skep_prog_error(p));
	skep_prog_free(p);
	/* closing the creator's handle does not free a map a program uses */
	skep_map *a = skep_map_create(SKEP_MAP_TYPE_ARRAY, "kept", 4, 8, 2, NULL);
	uint64_t v = 99;
	skep_map_update_elem(a, &k0, &v, 0);
	const struct skep_insn keep[] = {
		BPF_ST_MEM(BPF_W, R10, -4, 0), BPF_LD_IMM64_RAW(R1, BPF_PSEUDO_MAP_FD, skep_map_id(a)),
		BPF_MOV64_REG(R2, R10), BPF_ALU64_IMM(BPF_ADD, R2, -4), BPF_CALL_HELPER(1),
		BPF_LDX_MEM(BPF_DW, R0, R0, 0), BPF_EXIT_INSN(),
	};
	p = skep_prog_new();
	rc = skep_prog_load(p, keep, 8);
	skep_map_close(a);
	if (!rc)
		rc = skep_prog_run_mem(p, NULL, 0, &r0);
	CHECK(rc == 0 && r0 == 99, "a loaded program holds its maps", "rc %d r0 %" PRIu64 " %s", rc, r0,
	      skep_prog_error(p));
	skep_prog_free(p);
}

/* ============================== map helpers: one program, the kernel's return codes */
enum { NSLOT = 32 };
static const int64_t map_expect[NSLOT] = {
	0, -E2BIG, -EEXIST, 42, -EINVAL,                         /* array */
	-1, 0, -EEXIST, -ENOENT, 0, -E2BIG, 80, 0, -ENOENT, -EINVAL, /* hash */
	-ENOENT, 0, 0, -E2BIG, 0, 0, 22, 0, 22, 0, 33, -ENOENT,  /* queue */
	0, 0, 0, 0, 0,
};

static size_t map_prog(struct pb *b, uint32_t arr, uint32_t hash, uint32_t queue)
{
	b->n = 0;
	A(b, BPF_MOV64_REG(R6, R1));
	/* array (u32 -> u64, 4 entries) */
	key32(b, 1), val64(b, 42), ld_map(b, R1, arr), r2_key(b), r3_val(b), A(b, BPF_MOV64_IMM(R4, 0)), call(b, 2), save(b, 0);
	key32(b, 9), ld_map(b, R1, arr), r2_key(b), r3_val(b), A(b, BPF_MOV64_IMM(R4, 0)), call(b, 2), save(b, 1);
	key32(b, 1), ld_map(b, R1, arr), r2_key(b), r3_val(b), A(b, BPF_MOV64_IMM(R4, 1)), call(b, 2), save(b, 2);
	ld_map(b, R1, arr), r2_key(b), call(b, 1), save_deref(b, 3);
	ld_map(b, R1, arr), r2_key(b), call(b, 3), save(b, 4);
	/* hash (u32 -> u64, 2 entries) */
	key32(b, 7), ld_map(b, R1, hash), r2_key(b), call(b, 1), save_deref(b, 5);
	val64(b, 70), ld_map(b, R1, hash), r2_key(b), r3_val(b), A(b, BPF_MOV64_IMM(R4, 1)), call(b, 2), save(b, 6);
	ld_map(b, R1, hash), r2_key(b), r3_val(b), A(b, BPF_MOV64_IMM(R4, 1)), call(b, 2), save(b, 7);
	key32(b, 8), val64(b, 80), ld_map(b, R1, hash), r2_key(b), r3_val(b), A(b, BPF_MOV64_IMM(R4, 2)), call(b, 2), save(b, 8);
	ld_map(b, R1, hash), r2_key(b), r3_val(b), A(b, BPF_MOV64_IMM(R4, 0)), call(b, 2), save(b, 9);
	key32(b, 9), ld_map(b, R1, hash), r2_key(b), r3_val(b), A(b, BPF_MOV64_IMM(R4, 0)), call(b, 2), save(b, 10);
	key32(b, 8), ld_map(b, R1, hash), r2_key(b), call(b, 1), save_deref(b, 11);
	key32(b, 7), ld_map(b, R1, hash), r2_key(b), call(b, 3), save(b, 12);
	ld_map(b, R1, hash), r2_key(b), call(b, 3), save(b, 13);
	ld_map(b, R1, hash), r2_key(b), r3_val(b), A(b, BPF_MOV64_IMM(R4, 8)), call(b, 2), save(b, 14);
	/* queue (u64, 2 entries) */
	ld_map(b, R1, queue), r2_val(b), call(b, 88), save(b, 15);
	val64(b, 11), ld_map(b, R1, queue), r2_val(b), A(b, BPF_MOV64_IMM(R3, 0)), call(b, 87), save(b, 16);
	val64(b, 22), ld_map(b, R1, queue), r2_val(b), A(b, BPF_MOV64_IMM(R3, 0)), call(b, 87), save(b, 17);
	val64(b, 33), ld_map(b, R1, queue), r2_val(b), A(b, BPF_MOV64_IMM(R3, 0)), call(b, 87), save(b, 18);
	ld_map(b, R1, queue), r2_val(b), A(b, BPF_MOV64_IMM(R3, 2)), call(b, 87), save(b, 19); /* BPF_EXIST: evict 11 */
	ld_map(b, R1, queue), r2_val(b), call(b, 89), save(b, 20);
	A(b, BPF_LDX_MEM(BPF_DW, R0, R10, -16)), save(b, 21);
	ld_map(b, R1, queue), r2_val(b), call(b, 88), save(b, 22);
	A(b, BPF_LDX_MEM(BPF_DW, R0, R10, -16)), save(b, 23);
	ld_map(b, R1, queue), r2_val(b), call(b, 88), save(b, 24);
	A(b, BPF_LDX_MEM(BPF_DW, R0, R10, -16)), save(b, 25);
	ld_map(b, R1, queue), r2_val(b), call(b, 88), save(b, 26);
	ret0(b);
	return b->n;
}

static void test_map_helpers(void)
{
	static struct pb b;
	uint64_t mem[NSLOT];
	for (int e = 0; e < NENG; e++) {
		skep_map *arr = skep_map_create(SKEP_MAP_TYPE_ARRAY, "a", 4, 8, 4, NULL);
		skep_map *h = skep_map_create(SKEP_MAP_TYPE_HASH, "h", 4, 8, 2, NULL);
		skep_map *q = skep_map_create(SKEP_MAP_TYPE_QUEUE, "q", 0, 8, 2, NULL);
		size_t n = map_prog(&b, skep_map_id(arr), skep_map_id(h), skep_map_id(q));
		memset(mem, 0, sizeof mem);
		uint64_t r0;
		char why[512] = "", nm[96];
		int rc = run(engines[e], b.in, n, mem, sizeof mem, &r0, why, sizeof why);
		snprintf(nm, sizeof nm, "%s: map helper program runs", ename[e]);
		CHECK(rc == 0, nm, "rc %d %s", rc, why);
		for (int s = 0; s < 27 && !rc; s++) {
			snprintf(nm, sizeof nm, "%s: map helpers slot %d", ename[e], s);
			CHECK((int64_t)mem[s] == map_expect[s], nm, "got %" PRId64 " want %" PRId64, (int64_t)mem[s],
			      map_expect[s]);
		}
		uint32_t k = 1;
		uint64_t v = 0;
		CHECK(skep_map_lookup_elem(arr, &k, &v) == 0 && v == 42, "host sees the program's update", "%" PRIu64, v);
		skep_map_close(arr);
		skep_map_close(h);
		skep_map_close(q);
	}
	/* the same program in the kernel */
	if (!kmap_available()) {
		t_skip("map helpers vs kernel", "no kernel maps here");
		return;
	}
	int ka = kmap_create(SKEP_MAP_TYPE_ARRAY, 4, 8, 4, 0, 0), kh = kmap_create(SKEP_MAP_TYPE_HASH, 4, 8, 2, 0, 0);
	int kq = kmap_create(SKEP_MAP_TYPE_QUEUE, 0, 8, 2, 0, 0);
	size_t n = map_prog(&b, (uint32_t)ka, (uint32_t)kh, (uint32_t)kq);
	memset(mem, 0, sizeof mem);
	uint32_t kr;
	if (krun("map helpers vs kernel", b.in, n, mem, sizeof mem, &kr)) {
		int same = 1, s;
		for (s = 0; s < 27 && same; s++)
			same = (int64_t)mem[s] == map_expect[s];
		CHECK(same, "map helpers: the kernel returns the same codes", "slot %d: kernel %" PRId64 " skep %" PRId64,
		      s - 1, (int64_t)mem[s - 1], map_expect[s - 1]);
	}
	close(ka), close(kh), close(kq);
}

/* per-CPU lookups */
static void test_percpu(void)
{
	skep_map *pa = skep_map_create(SKEP_MAP_TYPE_PERCPU_ARRAY, "pa", 4, 8, 2, NULL);
	int nc = skep_num_possible_cpus();
	uint64_t *all = calloc((size_t)nc, 8);
	for (int c = 0; c < nc; c++)
		all[c] = 100 + (uint64_t)c;
	uint32_t k = 1;
	skep_map_update_elem(pa, &k, all, 0);
	struct pb b = {.n = 0};
	A(&b, BPF_MOV64_REG(R6, R1));
	key32(&b, 1), ld_map(&b, R1, skep_map_id(pa)), r2_key(&b), A(&b, BPF_MOV64_IMM(R3, 0)), call(&b, 195), save_deref(&b, 0);
	ld_map(&b, R1, skep_map_id(pa)), r2_key(&b), A(&b, BPF_MOV64_IMM(R3, nc - 1)), call(&b, 195), save_deref(&b, 1);
	ld_map(&b, R1, skep_map_id(pa)), r2_key(&b), A(&b, BPF_MOV64_IMM(R3, nc)), call(&b, 195), save_deref(&b, 2);
	ld_map(&b, R1, skep_map_id(pa)), r2_key(&b), call(&b, 1), save_deref(&b, 3);
	call(&b, 8), save(&b, 4);
	ret0(&b);
	for (int e = 0; e < NENG; e++) {
		uint64_t mem[5], r0;
		char why[512] = "", nm[96];
		int rc = run(engines[e], b.in, b.n, mem, sizeof mem, &r0, why, sizeof why);
		snprintf(nm, sizeof nm, "%s: map_lookup_percpu_elem", ename[e]);
		CHECK(rc == 0 && mem[0] == 100 && mem[1] == 100 + (uint64_t)nc - 1 && (int64_t)mem[2] == -1, nm,
		      "rc %d %" PRIu64 " %" PRIu64 " %" PRId64 " %s", rc, mem[0], mem[1], (int64_t)mem[2], why);
		/* lookup gives this CPU's slot (the thread may move between the calls) */
		snprintf(nm, sizeof nm, "%s: per-CPU lookup gives a CPU's value", ename[e]);
		CHECK(rc == 0 && mem[3] >= 100 && mem[3] < 100 + (uint64_t)nc, nm, "%" PRIu64, mem[3]);
	}
	free(all);
	skep_map_close(pa);
}

/* ============================== callbacks */
static void test_loop(void)
{
	const struct skep_insn prog[] = {
		BPF_MOV64_REG(R6, R1), BPF_ST_MEM(BPF_DW, R10, -8, 0), BPF_MOV64_IMM(R1, 10),
		BPF_LD_IMM64_RAW(R2, BPF_PSEUDO_FUNC, 10), BPF_MOV64_REG(R3, R10), BPF_ALU64_IMM(BPF_ADD, R3, -8),
		BPF_MOV64_IMM(R4, 0), BPF_CALL_HELPER(181), BPF_STX_MEM(BPF_DW, R6, R0, 0),
		BPF_LDX_MEM(BPF_DW, R0, R10, -8), BPF_STX_MEM(BPF_DW, R6, R0, 8), BPF_MOV64_IMM(R0, 0), BPF_EXIT_INSN(),
		/* 14: callback(index, ctx): *ctx += index; stop after index 5 */
		BPF_LDX_MEM(BPF_DW, R3, R2, 0), BPF_ALU64_REG(BPF_ADD, R3, R1), BPF_STX_MEM(BPF_DW, R2, R3, 0),
		BPF_MOV64_IMM(R0, 0), BPF_JMP_IMM(BPF_JNE, R1, 5, 1), BPF_MOV64_IMM(R0, 1), BPF_EXIT_INSN(),
	};
	size_t n = sizeof prog / sizeof prog[0];
	for (int e = 0; e < NENG; e++) {
		uint64_t mem[2] = {0}, r0;
		char why[512] = "", nm[96];
		int rc = run(engines[e], prog, n, mem, sizeof mem, &r0, why, sizeof why);
		snprintf(nm, sizeof nm, "%s: bpf_loop calls back, stops on 1", ename[e]);
		CHECK(rc == 0 && mem[0] == 6 && mem[1] == 15, nm, "rc %d iterations %" PRIu64 " sum %" PRIu64 " %s", rc,
		      mem[0], mem[1], why);
	}
	uint64_t km[2] = {0};
	uint32_t kr;
	skip_refusal = "missing btf func_info";  /* callbacks need BTF in the kernel */
	int kk = krun("bpf_loop vs kernel", prog, n, km, sizeof km, &kr);
	skip_refusal = NULL;
	if (kk)
		CHECK(km[0] == 6 && km[1] == 15, "bpf_loop: the kernel agrees", "%" PRIu64 " %" PRIu64, km[0], km[1]);
	/* flags and the loop limit */
	struct skep_insn lim[sizeof prog / sizeof prog[0]];
	memcpy(lim, prog, sizeof prog);
	lim[7] = BPF_MOV64_IMM(R4, 1);
	for (int e = 0; e < NENG; e++) {
		uint64_t mem[2] = {0}, r0;
		char why[512] = "", nm[96];
		int rc = run(engines[e], lim, n, mem, sizeof mem, &r0, why, sizeof why);
		snprintf(nm, sizeof nm, "%s: bpf_loop flags -> -EINVAL", ename[e]);
		CHECK(rc == 0 && (int64_t)mem[0] == -EINVAL, nm, "rc %d %" PRId64, rc, (int64_t)mem[0]);
	}
	memcpy(lim, prog, sizeof prog);
	lim[2] = BPF_MOV32_IMM(R1, (8 << 20) + 1);
	uint64_t mem[2] = {0}, r0;
	char why[512];
	run(SKEP_ENGINE_INTERP, lim, n, mem, sizeof mem, &r0, why, sizeof why);
	CHECK((int64_t)mem[0] == -E2BIG, "bpf_loop beyond 1<<23 iterations -> -E2BIG", "%" PRId64, (int64_t)mem[0]);
	/* the checked engine checks the callback's accesses and fails the run */
	struct skep_insn bad[sizeof prog / sizeof prog[0]];
	memcpy(bad, prog, sizeof prog);
	bad[14] = BPF_LDX_MEM(BPF_DW, R3, R1, 64);  /* reads from the index as an address */
	int rc = run(SKEP_ENGINE_CHECKED, bad, n, mem, sizeof mem, &r0, why, sizeof why);
	CHECK(rc == -EFAULT && strstr(why, "in a callback") && strstr(why, "insn 14"),
	      "checked: a fault in a callback fails the run", "rc %d: %s", rc, why);
	/* a callback calling a helper, nested in another bpf_loop */
	const struct skep_insn nest[] = {
		BPF_MOV64_REG(R6, R1), BPF_ST_MEM(BPF_DW, R10, -8, 0), BPF_MOV64_IMM(R1, 3),
		BPF_LD_IMM64_RAW(R2, BPF_PSEUDO_FUNC, 8), BPF_MOV64_REG(R3, R10), BPF_ALU64_IMM(BPF_ADD, R3, -8),
		BPF_MOV64_IMM(R4, 0), BPF_CALL_HELPER(181), BPF_LDX_MEM(BPF_DW, R0, R10, -8),
		BPF_STX_MEM(BPF_DW, R6, R0, 0), BPF_EXIT_INSN(),
		/* 12: outer callback: bpf_loop(4, inner, ctx) */
		BPF_MOV64_REG(R3, R2), BPF_MOV64_IMM(R1, 4), BPF_LD_IMM64_RAW(R2, BPF_PSEUDO_FUNC, 5),
		BPF_MOV64_IMM(R4, 0), BPF_CALL_HELPER(181), BPF_MOV64_IMM(R0, 0), BPF_EXIT_INSN(),
		/* 20: inner callback: *ctx += 1 (+ 0 * a helper's result) */
		BPF_MOV64_REG(R7, R2), BPF_CALL_HELPER(8), BPF_ALU64_IMM(BPF_MUL, R0, 0),
		BPF_LDX_MEM(BPF_DW, R1, R7, 0), BPF_ALU64_IMM(BPF_ADD, R1, 1), BPF_ALU64_REG(BPF_ADD, R1, R0),
		BPF_STX_MEM(BPF_DW, R7, R1, 0), BPF_MOV64_IMM(R0, 0), BPF_EXIT_INSN(),
	};
	for (int e = 0; e < NENG; e++) {
		uint64_t m1[1] = {0};
		char nm[96];
		rc = run(engines[e], nest, sizeof nest / sizeof nest[0], m1, sizeof m1, &r0, why, sizeof why);
		snprintf(nm, sizeof nm, "%s: nested bpf_loop with helper calls in the callback", ename[e]);
		CHECK(rc == 0 && m1[0] == 12, nm, "rc %d %" PRIu64 " %s", rc, m1[0], why);
	}
}

/* A callback calling a recursive function: the JIT counts call depth at run time in
 * its per-run block (r12), which the callback must get from the helper's caller. */
static void test_loop_recursion(void)
{
	const struct skep_insn prog[] = {
		BPF_MOV64_REG(R6, R1), BPF_ST_MEM(BPF_DW, R10, -8, 0), BPF_MOV64_IMM(R1, 3),
		BPF_LD_IMM64_RAW(R2, BPF_PSEUDO_FUNC, 7), BPF_MOV64_REG(R3, R10), BPF_ALU64_IMM(BPF_ADD, R3, -8),
		BPF_MOV64_IMM(R4, 0), BPF_CALL_HELPER(181), BPF_LDX_MEM(BPF_DW, R0, R10, -8), BPF_EXIT_INSN(),
		/* 11: callback: *ctx += fact(4) */
		BPF_MOV64_REG(R7, R2), BPF_MOV64_IMM(R1, 4), BPF_CALL_REL(5), BPF_LDX_MEM(BPF_DW, R1, R7, 0),
		BPF_ALU64_REG(BPF_ADD, R1, R0), BPF_STX_MEM(BPF_DW, R7, R1, 0), BPF_MOV64_IMM(R0, 0), BPF_EXIT_INSN(),
		/* 19: fact(n) */
		BPF_JMP_IMM(BPF_JGT, R1, 1, 2), BPF_MOV64_IMM(R0, 1), BPF_EXIT_INSN(), BPF_MOV64_REG(R6, R1),
		BPF_ALU64_IMM(BPF_ADD, R1, -1), BPF_CALL_REL(-6), BPF_ALU64_REG(BPF_MUL, R0, R6), BPF_EXIT_INSN(),
	};
	for (int e = 0; e < NENG; e++) {
		uint64_t r0 = 0;
		char why[512] = "", nm[96];
		int rc = run(engines[e], prog, sizeof prog / sizeof prog[0], NULL, 0, &r0, why, sizeof why);
		snprintf(nm, sizeof nm, "%s: bpf_loop callback with a recursive call", ename[e]);
		CHECK(rc == 0 && r0 == 72, nm, "rc %d r0 %" PRIu64 " %s", rc, r0, why);
	}
}

/* for_each_map_elem: sum of value + 100 * key; the count of elements visited */
static size_t each_prog(struct skep_insn *v, uint32_t map, int stop)
{
	const struct skep_insn p[] = {
		BPF_MOV64_REG(R6, R1), BPF_ST_MEM(BPF_DW, R10, -8, 0), BPF_LD_IMM64_RAW(R1, BPF_PSEUDO_MAP_FD, map),
		BPF_LD_IMM64_RAW(R2, BPF_PSEUDO_FUNC, 10), BPF_MOV64_REG(R3, R10), BPF_ALU64_IMM(BPF_ADD, R3, -8),
		BPF_MOV64_IMM(R4, 0), BPF_CALL_HELPER(164), BPF_STX_MEM(BPF_DW, R6, R0, 0),
		BPF_LDX_MEM(BPF_DW, R0, R10, -8), BPF_STX_MEM(BPF_DW, R6, R0, 8), BPF_MOV64_IMM(R0, 0), BPF_EXIT_INSN(),
		/* 15: callback(map, key, value, ctx) */
		BPF_LDX_MEM(BPF_DW, R5, R3, 0), BPF_LDX_MEM(BPF_W, R0, R2, 0), BPF_ALU64_IMM(BPF_MUL, R0, 100),
		BPF_ALU64_REG(BPF_ADD, R5, R0), BPF_LDX_MEM(BPF_DW, R1, R4, 0), BPF_ALU64_REG(BPF_ADD, R1, R5),
		BPF_STX_MEM(BPF_DW, R4, R1, 0), BPF_MOV64_IMM(R0, stop), BPF_EXIT_INSN(),
	};
	memcpy(v, p, sizeof p);
	return sizeof p / sizeof p[0];
}

static void test_for_each(void)
{
	struct skep_insn v[32];
	for (int e = 0; e < NENG; e++) {
		skep_map *a = skep_map_create(SKEP_MAP_TYPE_ARRAY, "fa", 4, 8, 4, NULL);
		skep_map *h = skep_map_create(SKEP_MAP_TYPE_HASH, "fh", 4, 8, 8, NULL);
		for (uint32_t k = 0; k < 4; k++) {
			uint64_t x = k + 1, y = 10 * (k + 1);
			skep_map_update_elem(a, &k, &x, 0);
			if (k < 3) {
				uint32_t hk = k + 1;
				skep_map_update_elem(h, &hk, &y, 0);
			}
		}
		char why[512] = "", nm[96];
		uint64_t mem[2] = {0}, r0;
		int rc = run(engines[e], v, each_prog(v, skep_map_id(a), 0), mem, sizeof mem, &r0, why, sizeof why);
		snprintf(nm, sizeof nm, "%s: for_each_map_elem over an array", ename[e]);
		CHECK(rc == 0 && mem[0] == 4 && mem[1] == 610, nm, "rc %d n %" PRIu64 " sum %" PRIu64 " %s", rc, mem[0],
		      mem[1], why);
		memset(mem, 0, sizeof mem);
		rc = run(engines[e], v, each_prog(v, skep_map_id(h), 0), mem, sizeof mem, &r0, why, sizeof why);
		snprintf(nm, sizeof nm, "%s: for_each_map_elem over a hash", ename[e]);
		CHECK(rc == 0 && mem[0] == 3 && mem[1] == 660, nm, "rc %d n %" PRIu64 " sum %" PRIu64 " %s", rc, mem[0],
		      mem[1], why);
		memset(mem, 0, sizeof mem);
		rc = run(engines[e], v, each_prog(v, skep_map_id(a), 1), mem, sizeof mem, &r0, why, sizeof why);
		snprintf(nm, sizeof nm, "%s: for_each_map_elem stops on 1", ename[e]);
		CHECK(rc == 0 && mem[0] == 1 && mem[1] == 1, nm, "rc %d n %" PRIu64 " sum %" PRIu64, rc, mem[0], mem[1]);
		skep_map_close(a);
		skep_map_close(h);
	}
	if (!kmap_available())
		return;
	int ka = kmap_create(SKEP_MAP_TYPE_ARRAY, 4, 8, 4, 0, 0);
	for (uint32_t k = 0; k < 4; k++) {
		uint64_t x = k + 1;
		kmap_update(ka, &k, &x, 0);
	}
	uint64_t mem[2] = {0};
	uint32_t kr;
	skip_refusal = "missing btf func_info";
	int kk = krun("for_each_map_elem vs kernel", v, each_prog(v, (uint32_t)ka, 0), mem, sizeof mem, &kr);
	skip_refusal = NULL;
	if (kk)
		CHECK(mem[0] == 4 && mem[1] == 610, "for_each_map_elem: the kernel agrees", "%" PRIu64 " %" PRIu64,
		      mem[0], mem[1]);
	close(ka);
}

/* ============================== ring buffer and perf buffer */
struct recs {
	int n;
	uint64_t first[2];
	size_t size[4];
};
static int on_rec(void *ctx, void *data, size_t size)
{
	struct recs *r = ctx;
	if (r->n == 0)
		memcpy(r->first, data, size < 16 ? size : 16);
	if (r->n < 4)
		r->size[r->n] = size;
	r->n++;
	return 0;
}

static size_t rb_prog(struct pb *b, uint32_t rb)
{
	b->n = 0;
	A(b, BPF_MOV64_REG(R6, R1));
	ld_map(b, R1, rb), A(b, BPF_MOV64_IMM(R2, 16), BPF_MOV64_IMM(R3, 0)), call(b, 131);
	A(b, BPF_JMP_IMM(BPF_JEQ, R0, 0, 5), BPF_ST_MEM(BPF_DW, R0, 0, 111), BPF_ST_MEM(BPF_DW, R0, 8, 222),
	  BPF_MOV64_REG(R1, R0), BPF_MOV64_IMM(R2, 0), BPF_CALL_HELPER(132));
	ld_map(b, R1, rb), A(b, BPF_MOV64_IMM(R2, 16), BPF_MOV64_IMM(R3, 0)), call(b, 131);
	A(b, BPF_JMP_IMM(BPF_JEQ, R0, 0, 3), BPF_MOV64_REG(R1, R0), BPF_MOV64_IMM(R2, 0), BPF_CALL_HELPER(133));
	val64(b, 333), ld_map(b, R1, rb), r2_val(b), A(b, BPF_MOV64_IMM(R3, 8), BPF_MOV64_IMM(R4, 0)), call(b, 130), save(b, 0);
	ld_map(b, R1, rb), A(b, BPF_MOV64_IMM(R2, 0)), call(b, 134), save(b, 1);
	ld_map(b, R1, rb), A(b, BPF_MOV64_IMM(R2, 1)), call(b, 134), save(b, 2);
	ld_map(b, R1, rb), A(b, BPF_MOV64_IMM(R2, 0), BPF_MOV64_IMM(R3, 1)), call(b, 131), save(b, 3); /* bad flags: NULL */
	A(b, BPF_JMP_IMM(BPF_JEQ, R0, 0, 3), BPF_MOV64_REG(R1, R0), BPF_MOV64_IMM(R2, 0), BPF_CALL_HELPER(133));
	ret0(b);
	return b->n;
}

static void test_ringbuf(void)
{
	static struct pb b;
	for (int e = 0; e < NENG; e++) {
		skep_map *rb = skep_map_create(SKEP_MAP_TYPE_RINGBUF, "rb", 0, 0, 4096, NULL);
		struct recs r = {0};
		skep_ringbuf_consumer *c = skep_ringbuf_consumer_new(rb, on_rec, &r);
		uint64_t mem[4] = {0}, r0;
		char why[512] = "", nm[96];
		int rc = run(engines[e], b.in, rb_prog(&b, skep_map_id(rb)), mem, sizeof mem, &r0, why, sizeof why);
		snprintf(nm, sizeof nm, "%s: ringbuf output/query from a program", ename[e]);
		CHECK(rc == 0 && mem[0] == 0 && mem[1] == 64 && mem[2] == 4096 && mem[3] == 0, nm,
		      "rc %d out %" PRId64 " avail %" PRIu64 " size %" PRIu64 " bad %" PRIu64 " %s", rc, (int64_t)mem[0],
		      mem[1], mem[2], mem[3], why);
		int got = skep_ringbuf_consumer_consume(c);
		snprintf(nm, sizeof nm, "%s: host consumes submitted records, not discarded ones", ename[e]);
		CHECK(got == 2 && r.n == 2 && r.first[0] == 111 && r.first[1] == 222 && r.size[0] == 16 && r.size[1] == 8, nm,
		      "got %d n %d %" PRIu64 " %" PRIu64, got, r.n, r.first[0], r.first[1]);
		skep_ringbuf_consumer_free(c);
		skep_map_close(rb);
	}
	if (!kmap_available())
		return;
	int kr = kmap_create(SKEP_MAP_TYPE_RINGBUF, 0, 0, 4096, 0, 0);
	uint64_t mem[4] = {0};
	uint32_t ret;
	if (krun("ringbuf vs kernel", b.in, rb_prog(&b, (uint32_t)kr), mem, sizeof mem, &ret))
		CHECK(mem[0] == 0 && mem[1] == 64 && mem[2] == 4096 && mem[3] == 0, "ringbuf: the kernel agrees",
		      "%" PRId64 " %" PRIu64 " %" PRIu64, (int64_t)mem[0], mem[1], mem[2]);
	close(kr);
}

static int perf_n;
static uint64_t perf_v;
static void on_perf(void *ctx, int cpu, void *data, uint32_t size)
{
	perf_n++;
	if (size >= 8)
		memcpy(&perf_v, data, 8);
}

static void test_perf(void)
{
	for (int e = 0; e < NENG; e++) {
		skep_map *pm = skep_map_create(SKEP_MAP_TYPE_PERF_EVENT_ARRAY, "pe", 4, 4, (uint32_t)skep_num_possible_cpus(), NULL);
		skep_perfbuf_consumer *c = pm ? skep_perfbuf_consumer_new(pm, on_perf, NULL, NULL) : NULL;
		struct pb b = {.n = 0};
		A(&b, BPF_MOV64_REG(R6, R1));
		val64(&b, 4242), A(&b, BPF_MOV64_REG(R1, R6)), ld_map(&b, R2, skep_map_id(pm));
		A(&b, BPF_MOV32_IMM(R3, -1), BPF_MOV64_REG(R4, R10), BPF_ALU64_IMM(BPF_ADD, R4, -16), BPF_MOV64_IMM(R5, 8));
		call(&b, 25), save(&b, 0), ret0(&b);
		uint64_t mem[1] = {1}, r0;
		char why[512] = "", nm[96];
		perf_n = 0, perf_v = 0;
		int rc = run(engines[e], b.in, b.n, mem, sizeof mem, &r0, why, sizeof why);
		int got = c ? skep_perfbuf_consumer_poll(c, 100) : -1;
		snprintf(nm, sizeof nm, "%s: perf_event_output reaches the perf buffer consumer", ename[e]);
		CHECK(rc == 0 && mem[0] == 0 && perf_n == 1 && perf_v == 4242, nm, "rc %d ret %" PRId64 " got %d n %d v %" PRIu64 " %s",
		      rc, (int64_t)mem[0], got, perf_n, perf_v, why);
		skep_perfbuf_consumer_free(c);
		skep_map_close(pm);
	}
}

/* ============================== spin locks: two threads, one program, exact total */
struct spin_arg {
	skep_prog *p;
	int runs, fails;
};
static void *spin_thread(void *x)
{
	struct spin_arg *a = x;
	for (int i = 0; i < a->runs; i++) {
		uint64_t r0;
		a->fails += skep_prog_run_mem(a->p, NULL, 0, &r0) != 0 || r0 != 0;
	}
	return NULL;
}

static void test_spin_lock(void)
{
	struct skep_map_create_opts o = {.sz = sizeof o, .has_spin_lock = 1, .spin_lock_off = 0};
	for (int e = 0; e < NENG; e++) {
		skep_map *m = skep_map_create(SKEP_MAP_TYPE_ARRAY, "sl", 4, 16, 1, &o);
		struct pb b = {.n = 0};
		key32(&b, 0), ld_map(&b, R1, skep_map_id(m)), r2_key(&b), call(&b, 1);
		A(&b, BPF_JMP_IMM(BPF_JNE, R0, 0, 2), BPF_MOV64_IMM(R0, 1), BPF_EXIT_INSN(), BPF_MOV64_REG(R7, R0),
		  BPF_MOV64_REG(R1, R7), BPF_CALL_HELPER(93),
		  /* a read-modify-write the lock must keep whole, made slow on purpose */
		  BPF_LDX_MEM(BPF_DW, R8, R7, 8), BPF_CALL_HELPER(7), BPF_CALL_HELPER(7), BPF_ALU64_IMM(BPF_ADD, R8, 1),
		  BPF_STX_MEM(BPF_DW, R7, R8, 8), BPF_MOV64_REG(R1, R7), BPF_CALL_HELPER(94));
		ret0(&b);
		skep_prog *p = skep_prog_new();
		int rc = skep_prog_load(p, b.in, b.n);
		if (!rc)
			rc = skep_prog_set_engine(p, engines[e]);
		struct spin_arg a1 = {p, 20000, 0}, a2 = {p, 20000, 0};
		pthread_t t1, t2;
		pthread_create(&t1, NULL, spin_thread, &a1);
		pthread_create(&t2, NULL, spin_thread, &a2);
		pthread_join(t1, NULL);
		pthread_join(t2, NULL);
		uint32_t k = 0;
		uint64_t v[2] = {0};
		skep_map_lookup_elem(m, &k, v);
		char nm[96];
		snprintf(nm, sizeof nm, "%s: bpf_spin_lock: two threads, exact total", ename[e]);
		CHECK(rc == 0 && a1.fails + a2.fails == 0 && v[1] == 40000, nm, "rc %d fails %d total %" PRIu64 " %s", rc,
		      a1.fails + a2.fails, v[1], skep_prog_error(p));
		skep_prog_free(p);
		skep_map_close(m);
	}
}

/* ============================== trace_printk and formats */
/* Store str (NUL-padded to a multiple of 4) at r10 + off. */
static void put_str(struct pb *b, int off, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i += 4) {
		uint32_t w = 0;
		memcpy(&w, s + i, len - i < 4 ? len - i : 4);
		A(b, BPF_ST_MEM(BPF_W, R10, (int16_t)(off + (int)i), (int32_t)w));
	}
}

#define HCALL(id, a, b_, c, d, e) \
	skep_helper_impl(id)((uint64_t)(uintptr_t)(a), (uint64_t)(uintptr_t)(b_), (uint64_t)(uintptr_t)(c), \
			     (uint64_t)(uintptr_t)(d), (uint64_t)(uintptr_t)(e))

static void test_trace_printk(void)
{
	char buf[4096];
	while (skep_trace_pipe_read(buf, sizeof buf, 0) > 0)
		;  /* empty the pipe */
	static const char fmt[] = "n=%d s=%s\n";
	const char *str = "str";
	for (int e = 0; e < NENG; e++) {
		struct pb b = {.n = 0};
		A(&b, BPF_MOV64_REG(R6, R1));
		put_str(&b, -32, fmt, sizeof fmt);
		A(&b, BPF_MOV64_REG(R1, R10), BPF_ALU64_IMM(BPF_ADD, R1, -32), BPF_MOV64_IMM(R2, sizeof fmt),
		  BPF_MOV64_IMM(R3, 40 + e), BPF_LD_IMM64(R4, (uint64_t)(uintptr_t)str));
		call(&b, 6), save(&b, 0), ret0(&b);
		uint64_t mem[1], r0;
		char why[512] = "", nm[96];
		int rc = run(engines[e], b.in, b.n, mem, sizeof mem, &r0, why, sizeof why);
		snprintf(nm, sizeof nm, "%s: trace_printk returns the length", ename[e]);
		CHECK(rc == 0 && mem[0] == strlen("n=40 s=str\n"), nm, "rc %d %" PRId64 " %s", rc, (int64_t)mem[0], why);
	}
	ssize_t n = skep_trace_pipe_read(buf, sizeof buf, 100);
	char comm[16] = {0};
	prctl(PR_GET_NAME, comm);
	char want[64];
	snprintf(want, sizeof want, "%s-%ld", comm, (long)syscall(SYS_gettid));
	CHECK(n > 0 && strstr(buf, "bpf_trace_printk: n=40 s=str\n") && strstr(buf, "bpf_trace_printk: n=41 s=str\n") &&
	      strstr(buf, "bpf_trace_printk: n=42 s=str\n") && strstr(buf, want), "trace pipe has the three lines",
	      "%zd: '%s' (want %s)", n, buf, want);
	CHECK(skep_trace_pipe_read(buf, sizeof buf, 0) == 0, "trace pipe consumed", "'%s'", buf);
	/* refusals at run time, nothing written */
	static const struct { const char *fmt; int want; } bad[] = {
		{"%hd", -EINVAL}, {"%5.2d", -EINVAL}, {"%#x", -EINVAL}, {"%d %d %d %d", -EINVAL}, {"%q", -EINVAL},
		{"%lc", -EINVAL}, {"%sx", -EINVAL}, {"%pZ", -EINVAL}, {"bell\a", -EINVAL}, {"%", -EINVAL},
		{"%d %u %x", 5}, {"%lld|%llu|%llx|%ld", 0}, {"100%%", 4}, {"%pI4", 7}, {"%s", 0}, {"%-3c|", 4},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint8_t ip[4] = {1, 2, 3, 4};
		uint64_t a3 = strstr(bad[i].fmt, "pI4") ? (uint64_t)(uintptr_t)ip : strcmp(bad[i].fmt, "%s") ? 1 : 8;
		int64_t r = (int64_t)HCALL(6, bad[i].fmt, strlen(bad[i].fmt) + 1, a3, 2, 3);
		char nm[96];
		snprintf(nm, sizeof nm, "trace_printk \"%s\"", bad[i].fmt);
		int w = bad[i].want;
		if (!strcmp(bad[i].fmt, "%lld|%llu|%llx|%ld"))
			w = -EINVAL;  /* four specifiers, three arguments */
		CHECK(r == w, nm, "got %" PRId64 " want %d", r, w);
	}
	int64_t r = (int64_t)HCALL(6, "abc", 3, 0, 0, 0);
	CHECK(r == -EINVAL, "trace_printk: format not NUL-terminated within its size", "%" PRId64, r);
	n = skep_trace_pipe_read(buf, sizeof buf, 0);
	CHECK(n > 0 && strstr(buf, ": 1 2 3\n") && strstr(buf, ": 100%\n") && strstr(buf, ": 1.2.3.4\n") &&
	      !strstr(buf, "%hd"), "accepted formats reach the pipe, refused ones do not", "'%s'", buf);
	/* a short read leaves whole lines for the next one */
	HCALL(6, "first line", 11, 0, 0, 0);
	HCALL(6, "second line", 12, 0, 0, 0);
	char small[100];
	ssize_t a = skep_trace_pipe_read(small, sizeof small, 0);
	int one = a > 0 && strstr(small, "first line") && !strstr(small, "second");
	ssize_t c = skep_trace_pipe_read(small, sizeof small, 0);
	CHECK(one && c > 0 && strstr(small, "second line\n"), "trace_pipe_read returns whole lines", "%zd %zd '%s'", a, c, small);
	/* a pipe shared by name: another handle (as another process would) reads it */
	char name[64];
	snprintf(name, sizeof name, "skep-test-trace-%d", (int)getpid());
	CHECK(skep_trace_pipe_use(name) == 0, "trace pipe pinned by name", "-");
	HCALL(6, "shared %d", 10, 7, 0, 0);
	skep_map *m = skep_map_open_pinned(name);
	CHECK(m && skep_map_type(m) == SKEP_MAP_TYPE_RINGBUF, "the named pipe is a pinned ring buffer", "-");
	n = skep_trace_pipe_read(buf, sizeof buf, 0);
	CHECK(n > 0 && strstr(buf, "shared 7"), "named pipe carries lines", "'%s'", buf);
	skep_map_close(m);
	skep_map_unpin(name);
	skep_trace_pipe_use(NULL);
}

/* bpf_snprintf: the same formats in Skep and in the kernel (fmt in a frozen read-only
 * map value, as ARG_PTR_TO_CONST_STR requires). */
struct fcase {
	const char *fmt;
	int nargs;
	int64_t a[3];     /* an argument 1000 means: the address of the 16 bytes at r10-48 */
	const char *mem;  /* those bytes */
	uint32_t size;    /* output size */
	int64_t want;     /* return value */
	const char *out;
};
static const struct fcase fcases[] = {
	{"hello", 0, {0}, NULL, 64, 6, "hello"},
	{"%d|%u|%x", 3, {-5, -5, 255}, NULL, 64, 17, "-5|4294967291|ff"},
	{"%lld %llu", 2, {-5, -5}, NULL, 64, 24, "-5 18446744073709551611"},
	{"%llx %lX", 2, {-5, 0xabc}, NULL, 64, 21, "fffffffffffffffb ABC"},
	{"%5d|%-5d|%05d", 3, {42, 42, 42}, NULL, 64, 18, "   42|42   |00042"},
	{"%+d % d %li", 3, {7, 7, -9}, NULL, 64, 9, "+7  7 -9"},
	{"%c%c%c", 3, {'a', 'b', 'c'}, NULL, 64, 4, "abc"},
	{"%%d %d", 1, {1}, NULL, 64, 5, "%d 1"},
	{"%s!", 1, {1000}, "str", 64, 5, "str!"},
	{"[%6s]", 1, {1000}, "ab", 64, 9, "[    ab]"},
	{"%pI4 %pi4", 2, {1000, 1000}, "\x01\x02\xc8\x04", 64, 26, "1.2.200.4 001.002.200.004"},
	{"%px", 1, {0x1234}, NULL, 64, 17, "0000000000001234"},
	{"abcdefghijkl", 0, {0}, NULL, 8, 13, "abcdefg"},
	{"%d", 1, {1}, NULL, 0, 2, NULL},
	{"%hd", 1, {1}, NULL, 64, -EINVAL, NULL},
	{"%.2d", 1, {1}, NULL, 64, -EINVAL, NULL},
	{"%#x", 1, {1}, NULL, 64, -EINVAL, NULL},
	{"%d %d", 1, {1}, NULL, 64, -EINVAL, NULL},
	{"%sx", 1, {1000}, "s", 64, -EINVAL, NULL},
	{"%lc", 1, {1}, NULL, 64, -EINVAL, NULL},
	{"%pZ", 1, {1000}, NULL, 64, -EINVAL, NULL},
	{"%z", 1, {1}, NULL, 64, -EINVAL, NULL},
};

static size_t snprintf_prog(struct pb *b, uint32_t fmt_map, const struct fcase *c)
{
	b->n = 0;
	A(b, BPF_MOV64_REG(R6, R1));
	for (int off = -128; off < -64; off += 8)
		A(b, BPF_ST_MEM(BPF_DW, R10, (int16_t)off, 0));
	A(b, BPF_ST_MEM(BPF_DW, R10, -48, 0), BPF_ST_MEM(BPF_DW, R10, -40, 0));
	if (c->mem)
		put_str(b, -48, c->mem, strlen(c->mem) + 1);
	for (int i = 0; i < 3; i++) {
		if (c->a[i] == 1000)
			A(b, BPF_MOV64_REG(R1, R10), BPF_ALU64_IMM(BPF_ADD, R1, -48));
		else
			A(b, BPF_LD_IMM64(R1, (uint64_t)c->a[i]));
		A(b, BPF_STX_MEM(BPF_DW, R10, R1, (int16_t)(-24 + 8 * i)));
	}
	A(b, BPF_MOV64_REG(R1, R10), BPF_ALU64_IMM(BPF_ADD, R1, -128), BPF_MOV64_IMM(R2, c->size),
	  BPF_LD_IMM64_RAW(R3, BPF_PSEUDO_MAP_VALUE, fmt_map), BPF_MOV64_REG(R4, R10), BPF_ALU64_IMM(BPF_ADD, R4, -24),
	  BPF_MOV64_IMM(R5, 8 * c->nargs));
	if (!c->nargs)
		A(b, BPF_MOV64_IMM(R4, 0));
	call(b, 165), save(b, 0);
	for (int i = 0; i < 8; i++)
		A(b, BPF_LDX_MEM(BPF_DW, R0, R10, (int16_t)(-128 + 8 * i)), BPF_STX_MEM(BPF_DW, R6, R0, (int16_t)(8 + 8 * i)));
	ret0(b);
	return b->n;
}

static void test_snprintf(void)
{
	static struct pb b;
	int kok = kmap_available();
	for (size_t i = 0; i < sizeof fcases / sizeof fcases[0]; i++) {
		const struct fcase *c = &fcases[i];
		char fv[64] = {0};
		strcpy(fv, c->fmt);
		struct skep_map_create_opts o = {.sz = sizeof o, .map_flags = SKEP_F_RDONLY_PROG};
		skep_map *fm = skep_map_create(SKEP_MAP_TYPE_ARRAY, "fmt", 4, 64, 1, &o);
		uint32_t k0 = 0;
		skep_map_update_elem(fm, &k0, fv, 0);
		skep_map_freeze(fm);
		size_t n = snprintf_prog(&b, skep_map_id(fm), c);
		uint64_t res[NENG][9];
		for (int e = 0; e < NENG; e++) {
			uint64_t r0;
			char why[512] = "", nm[128];
			memset(res[e], 0, sizeof res[e]);
			int rc = run(engines[e], b.in, n, res[e], sizeof res[e], &r0, why, sizeof why);
			const char *out = (const char *)&res[e][1];
			snprintf(nm, sizeof nm, "%s: snprintf \"%s\"", ename[e], c->fmt);
			CHECK(rc == 0 && (int64_t)res[e][0] == c->want && (!c->out || !strcmp(out, c->out)), nm,
			      "rc %d ret %" PRId64 " (want %" PRId64 ") out '%.64s' (want '%s') %s", rc, (int64_t)res[e][0],
			      c->want, out, c->out ? c->out : "", why);
		}
		skep_map_close(fm);
		if (!kok)
			continue;
		int kf = kmap_create(SKEP_MAP_TYPE_ARRAY, 4, 64, 1, SKEP_F_RDONLY_PROG, 0);
		kmap_update(kf, &k0, fv, 0);
		kmap_freeze(kf);
		n = snprintf_prog(&b, (uint32_t)kf, c);
		uint64_t km[9] = {0};
		uint32_t kr;
		char nm[128];
		snprintf(nm, sizeof nm, "snprintf \"%s\" vs kernel", c->fmt);
		accept_refusal = "Invalid format string";  /* the verifier checks constant formats */
		int kk = krun(nm, b.in, n, km, sizeof km, &kr);
		accept_refusal = NULL;
		if (kk < 0)
			CHECK(c->want == -EINVAL, nm, "the kernel refuses the format at load, skep returns %" PRId64, c->want);
		else if (kk)
			CHECK(km[0] == res[0][0] && !memcmp(&km[1], &res[0][1], 64), nm, "kernel %" PRId64 " '%.64s' skep %" PRId64 " '%.64s'",
			      (int64_t)km[0], (const char *)&km[1], (int64_t)res[0][0], (const char *)&res[0][1]);
		close(kf);
	}
	/* twelve arguments; a bad pointer for %s prints nothing */
	uint64_t args[12];
	for (int i = 0; i < 12; i++)
		args[i] = (uint64_t)i;
	char out[128];
	int64_t r = (int64_t)HCALL(165, out, sizeof out, "%d%d%d%d%d%d%d%d%d%d%d%d", args, sizeof args);
	CHECK(r == 15 && !strcmp(out, "01234567891011"), "snprintf: 12 arguments", "%" PRId64 " '%s'", r, out);
	r = (int64_t)HCALL(165, out, sizeof out, "%d", args, 13 * 8);
	CHECK(r == -EINVAL, "snprintf: 13 arguments refused", "%" PRId64, r);
	uint64_t badp[1] = {8};
	r = (int64_t)HCALL(165, out, sizeof out, "<%s>", badp, 8);
	CHECK(r == 3 && !strcmp(out, "<>"), "snprintf: %s of a bad pointer prints nothing", "%" PRId64 " '%s'", r, out);
}

/* ============================== strings */
struct scase {
	const char *s;
	uint32_t len;      /* 0: strlen */
	uint64_t flags;
	int64_t ret, val;  /* strtol */
	int64_t uret;      /* strtoul */
	uint64_t uval;
};
static const struct scase scases[] = {
	{"123", 0, 0, 3, 123, 3, 123},
	{"  -42xyz", 0, 0, 5, -42, -EINVAL, 0},
	{"0x1f", 0, 0, 4, 31, 4, 31},
	{"0x1f", 0, 16, 4, 31, 4, 31},
	{"0x", 0, 0, 1, 0, 1, 0},
	{"0x", 0, 16, -EINVAL, 0, -EINVAL, 0},
	{"017", 0, 0, 3, 15, 3, 15},
	{"019", 0, 8, 2, 1, 2, 1},
	{"ff", 0, 16, 2, 255, 2, 255},
	{"ff", 0, 10, -EINVAL, 0, -EINVAL, 0},
	{"12345", 3, 10, 3, 123, 3, 123},
	{"9223372036854775807", 0, 0, 19, INT64_MAX, 19, INT64_MAX},
	{"9223372036854775808", 0, 0, -ERANGE, 0, 19, 9223372036854775808ull},
	{"-9223372036854775808", 0, 0, 20, INT64_MIN, -EINVAL, 0},
	{"18446744073709551615", 0, 0, -ERANGE, 0, 20, UINT64_MAX},
	{"18446744073709551616", 0, 0, -ERANGE, 0, -ERANGE, 0},
	{"", 1, 0, -EINVAL, 0, -EINVAL, 0},
	{"   ", 0, 0, -EINVAL, 0, -EINVAL, 0},
	{"-", 0, 0, -EINVAL, 0, -EINVAL, 0},
	{"12", 0, 3, -EINVAL, 0, -EINVAL, 0},
	{"12", 0, 0x20 | 10, -EINVAL, 0, -EINVAL, 0},
	{"\t\n+5", 0, 0, -EINVAL, 0, -EINVAL, 0},
	{"00000000000000000000000000000000000000000000000000000000000000007", 0, 10, 63, 0, 63, 0},
};

static size_t strto_prog(struct pb *b, const struct scase *c, int id)
{
	uint32_t len = c->len ? c->len : (uint32_t)strlen(c->s);
	b->n = 0;
	A(b, BPF_MOV64_REG(R6, R1), BPF_ST_MEM(BPF_DW, R10, -8, 0x5555));
	put_str(b, -80, c->s, strlen(c->s) + 1 > 72 ? 72 : strlen(c->s) + 1);
	A(b, BPF_MOV64_REG(R1, R10), BPF_ALU64_IMM(BPF_ADD, R1, -80), BPF_MOV64_IMM(R2, len),
	  BPF_MOV64_IMM(R3, (int32_t)c->flags), BPF_MOV64_REG(R4, R10), BPF_ALU64_IMM(BPF_ADD, R4, -8));
	call(b, id), save(b, 0);
	A(b, BPF_LDX_MEM(BPF_DW, R0, R10, -8)), save(b, 1);
	ret0(b);
	return b->n;
}

static void test_strings(void)
{
	static struct pb b;
	int kok = kmap_available() > 0;
	for (size_t i = 0; i < sizeof scases / sizeof scases[0]; i++) {
		const struct scase *c = &scases[i];
		for (int f = 0; f < 2; f++) {
			int id = f ? 106 : 105;
			int64_t wret = f ? c->uret : c->ret;
			int64_t wval = wret < 0 ? 0 : f ? (int64_t)c->uval : c->val;
			size_t n = strto_prog(&b, c, id);
			char nm[160];
			uint64_t m0[2] = {0};
			for (int e = 0; e < NENG; e++) {
				uint64_t m[2] = {0}, r0;
				char why[512] = "";
				int rc = run(engines[e], b.in, n, m, sizeof m, &r0, why, sizeof why);
				snprintf(nm, sizeof nm, "%s: %s(\"%s\", %u, %#llx)", ename[e], f ? "strtoul" : "strtol", c->s,
					 c->len ? c->len : (unsigned)strlen(c->s), (unsigned long long)c->flags);
				CHECK(rc == 0 && (int64_t)m[0] == wret && (int64_t)m[1] == wval, nm,
				      "rc %d ret %" PRId64 " (want %" PRId64 ") val %" PRId64 " (want %" PRId64 ") %s", rc,
				      (int64_t)m[0], wret, (int64_t)m[1], wval, why);
				if (!e)
					memcpy(m0, m, sizeof m);
			}
			if (!kok)
				continue;
			uint64_t km[2] = {0};
			uint32_t kr;
			snprintf(nm, sizeof nm, "%s(\"%s\", %#llx) vs kernel", f ? "strtoul" : "strtol", c->s,
				 (unsigned long long)c->flags);
			if (krun(nm, b.in, n, km, sizeof km, &kr))
				CHECK(km[0] == m0[0] && km[1] == m0[1], nm, "kernel %" PRId64 " %" PRId64 " skep %" PRId64 " %" PRId64,
				      (int64_t)km[0], (int64_t)km[1], (int64_t)m0[0], (int64_t)m0[1]);
		}
	}
	/* strncmp: -1, 0, 1 like the kernel's generic strncmp; stops at s1_sz or a NUL */
	static const struct { const char *a, *b; uint32_t n; int64_t want; } sc[] = {
		{"abc", "abc", 4, 0}, {"abc", "abd", 4, -1}, {"abd", "abc", 4, 1}, {"abcX", "abcY", 3, 0},
		{"ab", "abc", 3, -1}, {"abc", "ab", 4, 1}, {"\xff", "a", 2, 1}, {"x", "y", 0, 0},
	};
	for (size_t i = 0; i < sizeof sc / sizeof sc[0]; i++) {
		int64_t r = (int64_t)HCALL(182, sc[i].a, sc[i].n, sc[i].b, 0, 0);
		char nm[96];
		snprintf(nm, sizeof nm, "strncmp(\"%s\", %u, \"%s\")", sc[i].a, sc[i].n, sc[i].b);
		CHECK(r == sc[i].want, nm, "%" PRId64, r);
	}
}

/* ============================== probe_read */
static uint64_t host_word = 0x1122334455667788ull;
static const char host_str[] = "hello";

static void test_probe_read(void)
{
	for (int e = 0; e < NENG; e++) {
		struct pb b = {.n = 0};
		A(&b, BPF_MOV64_REG(R6, R1));
		static const int ids[] = {4, 112, 113};
		for (int k = 0; k < 3; k++) {
			/* a bad address: -EFAULT and the destination zeroed */
			A(&b, BPF_ST_MEM(BPF_DW, R10, -16, 0x5555), BPF_MOV64_REG(R1, R10), BPF_ALU64_IMM(BPF_ADD, R1, -16),
			  BPF_MOV64_IMM(R2, 8), BPF_MOV64_IMM(R3, 16));
			call(&b, ids[k]), save(&b, 4 * k);
			A(&b, BPF_LDX_MEM(BPF_DW, R0, R10, -16)), save(&b, 4 * k + 1);
			/* a good one */
			A(&b, BPF_MOV64_REG(R1, R10), BPF_ALU64_IMM(BPF_ADD, R1, -16), BPF_MOV64_IMM(R2, 8),
			  BPF_LD_IMM64(R3, (uint64_t)(uintptr_t)&host_word));
			call(&b, ids[k]), save(&b, 4 * k + 2);
			A(&b, BPF_LDX_MEM(BPF_DW, R0, R10, -16)), save(&b, 4 * k + 3);
		}
		static const int sids[] = {45, 114, 115};
		for (int k = 0; k < 3; k++) {
			A(&b, BPF_MOV64_REG(R1, R10), BPF_ALU64_IMM(BPF_ADD, R1, -32), BPF_MOV64_IMM(R2, 16),
			  BPF_LD_IMM64(R3, (uint64_t)(uintptr_t)host_str));
			call(&b, sids[k]), save(&b, 12 + 3 * k);
			/* truncated: size 3 gives "he" and 3 */
			A(&b, BPF_MOV64_REG(R1, R10), BPF_ALU64_IMM(BPF_ADD, R1, -24), BPF_MOV64_IMM(R2, 3),
			  BPF_LD_IMM64(R3, (uint64_t)(uintptr_t)host_str));
			call(&b, sids[k]), save(&b, 13 + 3 * k);
			A(&b, BPF_MOV64_REG(R1, R10), BPF_ALU64_IMM(BPF_ADD, R1, -24), BPF_MOV64_IMM(R2, 8), BPF_MOV64_IMM(R3, 0));
			call(&b, sids[k]), save(&b, 14 + 3 * k);
		}
		A(&b, BPF_LDX_MEM(BPF_DW, R0, R10, -32)), save(&b, 21);
		ret0(&b);
		uint64_t m[22] = {0}, r0;
		char why[512] = "", nm[96];
		int rc = run(engines[e], b.in, b.n, m, sizeof m, &r0, why, sizeof why);
		int ok = rc == 0;
		for (int k = 0; k < 3; k++)
			ok &= (int64_t)m[4 * k] == -EFAULT && m[4 * k + 1] == 0 && m[4 * k + 2] == 0 && m[4 * k + 3] == host_word;
		snprintf(nm, sizeof nm, "%s: probe_read[_user|_kernel]: bad address -EFAULT, zeroed; good one read", ename[e]);
		CHECK(ok, nm, "rc %d %" PRId64 " %" PRIx64 " %" PRId64 " %" PRIx64 " %s", rc, (int64_t)m[0], m[1], (int64_t)m[2], m[3], why);
		ok = rc == 0 && !memcmp(&m[21], "hello", 6);
		for (int k = 0; k < 3; k++)
			ok &= m[12 + 3 * k] == 6 && m[13 + 3 * k] == 3 && (int64_t)m[14 + 3 * k] == -EFAULT;
		snprintf(nm, sizeof nm, "%s: probe_read*_str: length with NUL, truncation, NULL", ename[e]);
		CHECK(ok, nm, "%" PRId64 " %" PRId64 " %" PRId64, (int64_t)m[12], (int64_t)m[13], (int64_t)m[14]);
	}
	/* across an unmapped page: the string's end is found, the rest is a fault */
	long pg = sysconf(_SC_PAGESIZE);
	char *two = aligned_alloc((size_t)pg, (size_t)pg * 2);
	char dst[32];
	int64_t r = (int64_t)HCALL(4, dst, 8, (uintptr_t)(-4096 + 8), 0, 0);
	CHECK(r == -EFAULT, "probe_read of a kernel address", "%" PRId64, r);
	memcpy(two + pg - 3, "ab", 3);
	r = (int64_t)HCALL(45, dst, 32, two + pg - 3, 0, 0);
	CHECK(r == 3 && !strcmp(dst, "ab"), "probe_read_str up to a page end", "%" PRId64, r);
	memset(dst, 'x', sizeof dst);
	r = (int64_t)HCALL(4, dst, 0, 16, 0, 0);
	CHECK(r == 0, "probe_read of size 0", "%" PRId64, r);
	free(two);
}

/* ============================== csum_diff */
static uint32_t fold16(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

static void test_csum(void)
{
	uint8_t from[8] = {0x45, 0x00, 0x00, 0x54, 0xab, 0xcd, 0x40, 0x00};
	uint8_t to[12] = {0x45, 0x00, 0x00, 0x58, 0x12, 0x34, 0x40, 0x00, 0xff, 0xff, 0x00, 0x01};
	static const struct { uint32_t fs, ts, seed; } cs[] = {{8, 12, 0}, {8, 0, 0x1234}, {0, 12, 0xfffe}, {4, 4, 0xffffffff},
								 {3, 4, 0}, {0, 0, 7}};
	for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
		int64_t r = (int64_t)HCALL(28, cs[i].fs ? from : NULL, cs[i].fs, cs[i].ts ? to : NULL, cs[i].ts, cs[i].seed);
		/* reference: RFC 1071 sum of ~from, to and the seed, folded to 16 bits */
		uint64_t s = (uint64_t)(cs[i].seed & 0xffff) + (cs[i].seed >> 16);
		for (uint32_t k = 0; k < cs[i].fs; k += 2)  /* an odd last byte is a word's low byte */
			s += (uint16_t)~(from[k] | (k + 1 < cs[i].fs ? from[k + 1] << 8 : 0));
		for (uint32_t k = 0; k < cs[i].ts; k += 2)
			s += (uint16_t)(to[k] | (k + 1 < cs[i].ts ? to[k + 1] << 8 : 0));
		char nm[64];
		snprintf(nm, sizeof nm, "csum_diff(%u, %u, %#x)", cs[i].fs, cs[i].ts, cs[i].seed);
		CHECK(r >= 0 && r <= 0xffff && (uint32_t)r % 0xffff == fold16(s) % 0xffff, nm, "%" PRIx64 " ref %x",
		      (uint64_t)r, fold16(s));
	}
	/* the kernel's exact 32-bit value */
	struct pb b = {.n = 0};
	A(&b, BPF_MOV64_REG(R6, R1));
	put_str(&b, -16, (const char *)from, 8);
	put_str(&b, -32, (const char *)to, 12);
	for (size_t i = 0; i < 5; i++) {
		A(&b, BPF_MOV64_REG(R1, R10), BPF_ALU64_IMM(BPF_ADD, R1, -16), BPF_MOV64_IMM(R2, cs[i].fs),
		  BPF_MOV64_REG(R3, R10), BPF_ALU64_IMM(BPF_ADD, R3, -32), BPF_MOV64_IMM(R4, cs[i].ts),
		  BPF_MOV32_IMM(R5, (int32_t)cs[i].seed));
		call(&b, 28), save(&b, (int)i);
	}
	ret0(&b);
	uint64_t m[NENG][5];
	for (int e = 0; e < NENG; e++) {
		uint64_t r0;
		char why[512] = "", nm[64];
		memset(m[e], 0, sizeof m[e]);
		int rc = run(engines[e], b.in, b.n, m[e], sizeof m[e], &r0, why, sizeof why);
		snprintf(nm, sizeof nm, "%s: csum_diff from a program", ename[e]);
		CHECK(rc == 0 && !memcmp(m[e], m[0], sizeof m[0]) && m[e][4] == 0x5800, nm, "rc %d %" PRIx64 " %s", rc,
		      m[e][4], why);
	}
	uint64_t km[5] = {0};
	uint32_t kr;
	if (kmap_available() && krun("csum_diff vs kernel", b.in, b.n, km, sizeof km, &kr))
		CHECK(!memcmp(km, m[0], sizeof km), "csum_diff: the kernel's exact values",
		      "kernel %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64 " skep %" PRIx64 " %" PRIx64 " %" PRIx64
		      " %" PRIx64 " %" PRIx64, km[0], km[1], km[2], km[3], km[4], m[0][0], m[0][1], m[0][2], m[0][3], m[0][4]);
}

/* ============================== time, process facts, random numbers */
static uint64_t mono(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void test_misc(void)
{
	static const struct { int id; clockid_t c; const char *name; } clocks[] = {
		{5, CLOCK_MONOTONIC, "ktime_get_ns"}, {125, CLOCK_BOOTTIME, "ktime_get_boot_ns"},
		{160, CLOCK_MONOTONIC_COARSE, "ktime_get_coarse_ns"}, {208, CLOCK_TAI, "ktime_get_tai_ns"},
	};
	for (size_t i = 0; i < 4; i++) {
		uint64_t a = mono(clocks[i].c);
		uint64_t v = HCALL(clocks[i].id, 0, 0, 0, 0, 0);
		uint64_t z = mono(clocks[i].c);
		CHECK(v >= a && v <= z, clocks[i].name, "%" PRIu64 " not in [%" PRIu64 ", %" PRIu64 "]", v, a, z);
	}
	struct timespec res;
	clock_getres(CLOCK_MONOTONIC_COARSE, &res);
	uint64_t hz = 1000000000u / (uint64_t)res.tv_nsec;
	uint64_t j1 = HCALL(118, 0, 0, 0, 0, 0);
	struct timespec d = {0, 50000000};
	nanosleep(&d, NULL);
	uint64_t j2 = HCALL(118, 0, 0, 0, 0, 0);
	uint64_t ticks = j2 - j1;
	CHECK(j1 > (uint32_t)(-300 * (int64_t)hz) && ticks >= hz / 20 - 2 && ticks <= hz / 20 + hz / 10 + 2,
	      "jiffies64 ticks at HZ", "HZ %" PRIu64 " ticks in 50ms %" PRIu64, hz, ticks);
	uint32_t or = 0, and = ~0u;
	int same = 0;
	uint32_t prev = 0;
	for (int i = 0; i < 1000; i++) {
		uint32_t v = (uint32_t)HCALL(7, 0, 0, 0, 0, 0);
		or |= v, and &= v;
		same += v == prev;
		prev = v;
	}
	CHECK(or == ~0u && and == 0 && same < 3, "get_prandom_u32 varies in every bit", "or %x and %x", or, and);
	uint64_t cpu = HCALL(8, 0, 0, 0, 0, 0);
	CHECK(cpu < (uint64_t)skep_num_possible_cpus(), "get_smp_processor_id", "%" PRIu64, cpu);
	CHECK(HCALL(42, 0, 0, 0, 0, 0) < 1024, "get_numa_node_id", "-");
	CHECK(HCALL(15, 0, 0, 0, 0, 0) == ((uint64_t)getgid() << 32 | getuid()), "get_current_uid_gid", "-");
	skep_helper_set_func_ip(0xabc);
	skep_helper_set_attach_cookie(77);
	CHECK(HCALL(173, 0, 0, 0, 0, 0) == 0xabc && HCALL(174, 0, 0, 0, 0, 0) == 77, "func_ip and attach cookie", "-");
	skep_helper_set_func_ip(0);
	skep_helper_set_attach_cookie(0);

	char old[16] = {0};
	prctl(PR_GET_NAME, old);
	prctl(PR_SET_NAME, "helper-comm-xyz");
	uint64_t want_pt = (uint64_t)getpid() << 32 | (uint64_t)syscall(SYS_gettid);
	for (int e = 0; e < NENG; e++) {
		struct pb b = {.n = 0};
		A(&b, BPF_MOV64_REG(R6, R1), BPF_MOV64_REG(R1, R6), BPF_ALU64_IMM(BPF_ADD, R1, 16), BPF_MOV64_IMM(R2, 16));
		call(&b, 16), save(&b, 0);
		A(&b, BPF_MOV64_REG(R1, R6), BPF_ALU64_IMM(BPF_ADD, R1, 32), BPF_MOV64_IMM(R2, 5));
		call(&b, 16);
		call(&b, 14), save(&b, 1);
		call(&b, 5), save(&b, 5);
		ret0(&b);
		uint64_t m[6], r0;
		memset(m, 0x77, sizeof m);
		char why[512] = "", nm[96];
		uint64_t t0 = mono(CLOCK_MONOTONIC);
		int rc = run(engines[e], b.in, b.n, m, sizeof m, &r0, why, sizeof why);
		uint64_t t1 = mono(CLOCK_MONOTONIC);
		snprintf(nm, sizeof nm, "%s: get_current_comm, pid_tgid, ktime from a program", ename[e]);
		CHECK(rc == 0 && m[0] == 0 && !memcmp(&m[2], "helper-comm-xyz", 16) && !memcmp(&m[4], "help\0\x77\x77\x77", 8) &&
		      m[1] == want_pt && m[5] >= t0 && m[5] <= t1, nm, "rc %d comm '%.16s' '%.8s' pt %" PRIx64 " %s", rc,
		      (char *)&m[2], (char *)&m[4], m[1], why);
	}
	prctl(PR_SET_NAME, old);
}

/* ============================== signals */
static volatile sig_atomic_t got_sig;
static void on_sig(int s) { got_sig = s; }

static void test_signal(void)
{
	signal(SIGUSR1, on_sig);
	for (int e = 0; e < NENG; e++) {
		struct pb b = {.n = 0};
		A(&b, BPF_MOV64_REG(R6, R1), BPF_MOV64_IMM(R1, SIGUSR1));
		call(&b, 117), save(&b, 0);
		A(&b, BPF_MOV64_IMM(R1, 65));
		call(&b, 109), save(&b, 1);
		ret0(&b);
		uint64_t m[2], r0;
		char why[512] = "", nm[96];
		got_sig = 0;
		int rc = run(engines[e], b.in, b.n, m, sizeof m, &r0, why, sizeof why);
		snprintf(nm, sizeof nm, "%s: send_signal_thread delivers; signal 65 -> -EINVAL", ename[e]);
		CHECK(rc == 0 && m[0] == 0 && got_sig == SIGUSR1 && (int64_t)m[1] == -EINVAL, nm, "rc %d %" PRId64 " %d %" PRId64,
		      rc, (int64_t)m[0], (int)got_sig, (int64_t)m[1]);
	}
	got_sig = 0;
	int64_t r = (int64_t)HCALL(109, SIGUSR1, 0, 0, 0, 0);
	CHECK(r == 0 && got_sig == SIGUSR1, "send_signal to the process", "%" PRId64, r);
	signal(SIGUSR1, SIG_DFL);
}

/* ============================== stacks */
static void test_stack(void)
{
	for (int e = 0; e < NENG; e++) {
		skep_map *st = skep_map_create(SKEP_MAP_TYPE_STACK_TRACE, "st", 4, 8 * 16, 64, NULL);
		struct pb b = {.n = 0};
		A(&b, BPF_MOV64_REG(R6, R1));
		/* twice from the same call site (with the JIT, the stack ends at the program's code) */
		A(&b, BPF_MOV64_IMM(R8, 0));
		size_t head = b.n;
		A(&b, BPF_MOV64_REG(R1, R6)), ld_map(&b, R2, skep_map_id(st)), A(&b, BPF_MOV64_IMM(R3, 256));
		call(&b, 27);
		A(&b, BPF_MOV64_REG(R1, R6), BPF_ALU64_REG(BPF_ADD, R1, R8), BPF_STX_MEM(BPF_DW, R1, R0, 0),
		  BPF_ALU64_IMM(BPF_ADD, R8, 8));
		A(&b, BPF_JMP_IMM(BPF_JNE, R8, 16, (int16_t)(head - b.n - 1)));  /* b.n: the jump's index */
		A(&b, BPF_MOV64_REG(R1, R6), BPF_MOV64_REG(R2, R10), BPF_ALU64_IMM(BPF_ADD, R2, -64), BPF_MOV64_IMM(R3, 64),
		  BPF_MOV64_IMM(R4, 256));
		call(&b, 67), save(&b, 2);
		A(&b, BPF_LDX_MEM(BPF_DW, R0, R10, -64)), save(&b, 3);
		A(&b, BPF_MOV64_REG(R1, R6), BPF_MOV64_REG(R2, R10), BPF_ALU64_IMM(BPF_ADD, R2, -64), BPF_MOV64_IMM(R3, 64),
		  BPF_MOV64_IMM(R4, 1 << 11));
		call(&b, 67), save(&b, 4);
		ret0(&b);
		uint64_t m[5] = {0}, r0;
		char why[512] = "", nm[96];
		int rc = run(engines[e], b.in, b.n, m, sizeof m, &r0, why, sizeof why);
		uint64_t ips[16] = {0};
		uint32_t id = (uint32_t)m[0];
		int have = skep_map_lookup_elem(st, &id, ips) == 0;
		snprintf(nm, sizeof nm, "%s: get_stackid: one id for one stack, stored", ename[e]);
		CHECK(rc == 0 && (int64_t)m[0] >= 0 && m[0] == m[1] && have && ips[0] != 0, nm, "rc %d %" PRId64 " %" PRId64 " %s",
		      rc, (int64_t)m[0], (int64_t)m[1], why);
		snprintf(nm, sizeof nm, "%s: get_stack: user return addresses; build ids refused", ename[e]);
		CHECK(rc == 0 && (int64_t)m[2] > 0 && m[2] % 8 == 0 && m[3] != 0 && (int64_t)m[4] == -EINVAL, nm,
		      "%" PRId64 " %" PRIx64 " %" PRId64, (int64_t)m[2], m[3], (int64_t)m[4]);
		skep_map_close(st);
	}
}

/* ============================== time of a lookup from JIT code (report only) */
static void measure(void)
{
	static const uint32_t types[] = {SKEP_MAP_TYPE_ARRAY, SKEP_MAP_TYPE_HASH};
	const int N = 2000000;
	for (int t = 0; t < 2; t++) {
		skep_map *m = skep_map_create(types[t], "bench", 4, 8, 1024, NULL);
		for (uint32_t k = 0; k < 1024; k++) {
			uint64_t v = k;
			skep_map_update_elem(m, &k, &v, 0);
		}
		double ns[2];
		for (int withcall = 0; withcall < 2; withcall++) {
			struct pb b = {.n = 0};
			A(&b, BPF_LD_IMM64(R6, N), BPF_MOV64_IMM(R7, 0));
			/* loop: key = r6 & 1023; r0 = lookup; r7 += r0 != 0 */
			size_t head = b.n;
			A(&b, BPF_MOV64_REG(R1, R6), BPF_ALU64_IMM(BPF_AND, R1, 1023), BPF_STX_MEM(BPF_W, R10, R1, -8));
			if (withcall) {
				ld_map(&b, R1, skep_map_id(m)), r2_key(&b), call(&b, 1);
				A(&b, BPF_JMP_IMM(BPF_JEQ, R0, 0, 1), BPF_ALU64_IMM(BPF_ADD, R7, 1));
			}
			A(&b, BPF_ALU64_IMM(BPF_SUB, R6, 1));
			A(&b, BPF_JMP_IMM(BPF_JNE, R6, 0, (int16_t)(head - b.n - 1)));
			A(&b, BPF_MOV64_REG(R0, R7), BPF_EXIT_INSN());
			skep_prog *p = skep_prog_new();
			skep_prog_load(p, b.in, b.n);
			skep_prog_set_engine(p, SKEP_ENGINE_JIT);
			uint64_t r0 = 0;
			ns[withcall] = 1e9;
			for (int rep = 0; rep < 5; rep++) {  /* the best of five */
				uint64_t t0 = mono(CLOCK_MONOTONIC);
				skep_prog_run_mem(p, NULL, 0, &r0);
				double dt = (double)(mono(CLOCK_MONOTONIC) - t0) / N;
				ns[withcall] = dt < ns[withcall] ? dt : ns[withcall];
			}
			if (withcall)
				CHECK(r0 == (uint64_t)N, types[t] == SKEP_MAP_TYPE_ARRAY ? "bench loop: array lookups all hit"
											 : "bench loop: hash lookups all hit",
				      "%" PRIu64, r0);
			skep_prog_free(p);
		}
		printf("measure: bpf_map_lookup_elem on %s (1024 entries) from a JIT loop: %.2f ns (loop alone %.2f ns)\n",
		       t ? "hash" : "array", ns[1] - ns[0], ns[0]);
		skep_map_close(m);
	}
}

int main(void)
{
	test_protos();
	test_maprefs();
	test_map_helpers();
	test_percpu();
	test_loop();
	test_loop_recursion();
	test_for_each();
	test_ringbuf();
	test_perf();
	test_spin_lock();
	test_trace_printk();
	test_snprintf();
	test_strings();
	test_probe_read();
	test_csum();
	test_misc();
	test_signal();
	test_stack();
	measure();
	return t_done();
}
