/* The execution layer's internals: the program object shared by the engines
 * (prog.c owns it), the interpreter (interp.c) and the x86-64 JIT (jit_*.c). */
#ifndef SKEP_EXEC_H
#define SKEP_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "skep/prog.h"

struct interp_code;   /* pre-decoded form, owned by interp.c */
struct jit_image;     /* native code, owned by the JIT */

struct skep_prog {
	struct skep_insn *insns;
	size_t n;
	enum skep_engine engine;
	skep_helper_fn *helpers;     /* indexed by helper id; NULL = unbound */
	uint32_t nhelpers;           /* size of helpers[] */
	uint64_t insn_limit;         /* checked engine: 0 = none */
	struct interp_code *interp;  /* built at load */
	struct jit_image *jit;       /* built on demand; dropped when helpers change */
	uint8_t jit_harden;          /* constant blinding (skep_prog_set_jit_harden) */
	uint64_t insn_count;         /* instructions of the last checked run */
	char fallback[512];          /* why the JIT engine runs on the interpreter, or "" */
	uint32_t type;               /* program type (progtype.h); 0 = plain memory program */
	uint32_t ctx_max;            /* highest context byte accessed + 1 (set by the ctx rewrite) */
	struct skep_map **maps;      /* handles on the maps the program references (maprefs.c) */
	uint32_t nmaps;
	uint32_t id;                 /* registry id (prog_registry.c), 0 until loaded */
	uint8_t verification;        /* enum skep_prog_verification */
	uint8_t *mem_safe;           /* verified: per insn, accesses proven in bounds (or NULL) */
	char err[512];
};

/* Rewrite context accesses of a typed program to its real context (src/progtypes);
 * 0 for type 0. Called by skep_prog_load after copying the instructions. */
int progtype_rewrite(struct skep_prog *p);

/* Set p->err from a format; returns err (a negative errno) for tail calls. */
int prog_fail(struct skep_prog *p, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Interpreter: pre-decode p->insns (already validated) into p->interp. */
int interp_prepare(struct skep_prog *p);
void interp_free(struct interp_code *c);
/* Run; checked != 0 bounds-checks every memory access against args->regions
 * and the run's own stack frames. */
int interp_run(struct skep_prog *p, const struct skep_run_args *args, int checked, uint64_t *r0);
/* -ENOSYS with the message naming helper id that no function is bound to (interp.c). */
int helper_missing(struct skep_prog *p, size_t insn, uint64_t id);

/* JIT: compile p->insns (helpers resolved now) into p->jit. -EOPNOTSUPP when the
 * host is not x86-64; any other failure leaves p->err saying why. */
int jit_compile(struct skep_prog *p);
/* Compile p once, thread-safely (prog.c); 0 when p->jit is ready. */
int prog_jit(struct skep_prog *p);
void jit_free(struct jit_image *img);
int jit_run(struct skep_prog *p, const struct skep_run_args *args, uint64_t *r0);

/* Tail calls: helper id 12 (bpf_tail_call(ctx, array, index)) is a jump, not a call.
 * r2 points to a struct skep_prog_array (what `lddw map_fd` of a PROG_ARRAY resolves to:
 * the map's table in this process, prog_registry.c), r3's low 32 bits are the index.
 * The caller's engine runs the target: the JIT jumps to its native code, which
 * prog_registry.c compiles when the program is put in a PROG_ARRAY. The target starts with
 * the caller's r1 and replaces the caller's frame: its exit returns to the caller's
 * caller. An index >= max_entries, an empty slot, a target with no code for the
 * running engine (the JIT needs target->jit compiled) or the 34th tail call of one run
 * falls through to the next instruction, as in the kernel (MAX_TAIL_CALL_CNT = 33). */
#define SKEP_HELPER_TAIL_CALL 12
#define SKEP_MAX_TAIL_CALLS   33
struct skep_prog_array {
	uint32_t max_entries;
	struct skep_prog *const *progs;  /* max_entries slots, NULL = empty */
};

/* ---- the program registry and PROG_ARRAY maps (prog_registry.c). A PROG_ARRAY holds
 * program ids (skep_prog_id); each one this process uses has a struct skep_prog_array
 * shadow kept in sync by the map's update/delete, which is what `lddw map_fd` of a
 * PROG_ARRAY resolves to (maprefs.c). */
struct skep_map;
/* Give p an id at its first load (0 or -ENOMEM); drop it and every tail-call slot
 * holding p (skep_prog_free). */
int prog_reg_add(struct skep_prog *p);
void prog_reg_del(struct skep_prog *p);
/* p was reloaded or lost its native code: compile it again if a table holds it. */
void prog_reg_changed(struct skep_prog *p);
/* The shadow of PROG_ARRAY m for a program of type `type` referencing it (m becomes a
 * holder): NULL with *err -ENOMEM, or -EINVAL when the table's programs are of another
 * type. */
const struct skep_prog_array *prog_array_use(struct skep_map *m, uint32_t type, int *err);
/* m's shadow if m is a PROG_ARRAY handle holding one, else NULL. */
const struct skep_prog_array *prog_array_shadow(const struct skep_map *m);
/* The map layer's PROG_ARRAY update (idx already checked < max_entries; id a program
 * id: -EBADF unknown, -EINVAL other type, a JIT error) and delete (-ENOENT empty);
 * release when a handle holding a shadow closes. */
int prog_array_update(struct skep_map *m, uint32_t idx, uint32_t id);
int prog_array_delete(struct skep_map *m, uint32_t idx);
void prog_array_release(struct skep_map *m);

/* ---- callbacks (callback.c): helpers such as bpf_loop call a function of the running
 * program. A lddw src=BPF_PSEUDO_FUNC loads, in the JIT, the callee's native address (a
 * SysV function of r1..r5; programs with a per-run block also expect it in r12) and, in
 * the interpreter, EXEC_CB_INTERP | a descriptor built by interp_prepare, with
 * EXEC_CB_CHECKED added by the checked engine. User-space addresses never have these
 * bits, so a helper tells the engines apart by the value alone, at no cost to runs. */
#define EXEC_CB_INTERP  (1ULL << 63)
#define EXEC_CB_CHECKED (1ULL << 62)
#define EXEC_CB_MASK    (EXEC_CB_INTERP | EXEC_CB_CHECKED)

/* The checked engine publishes its run around every helper call: callbacks check their
 * accesses against the same regions plus the caller's active frames, and a callback
 * that fails sets err/msg, which fails the calling run. */
struct exec_run {
	const struct skep_run_args *args;
	void *stack;           /* the caller's active frames */
	size_t stack_size;
	int err;
	struct exec_run *prev;
	char msg[256];
};
extern __thread struct exec_run *exec_run_cur;

/* Run the interpreter from a callback descriptor with r1..r5 = args->r; on failure the
 * message is copied to msg. */
int interp_callback(uint64_t fn, const struct skep_run_args *args, uint64_t *r0, char *msg,
		    size_t msgsz);

/* One helper call's view of a callback: exec_cb_begin once, exec_cb_call per call (0, or
 * a negative errno when the callback's run failed: too deep, unbound helper, and in the
 * checked engine a refused access, which also fails the calling run), exec_cb_end.
 * blk is the r12 the helper was called with (EXEC_CB_HELPER passes it); extra is memory
 * of the helper's own the callback may read (a key it passes), for the checked engine. */
struct exec_cb {
	uint64_t fn, blk;
	struct skep_run_args args;
	struct skep_region *regions;
};
int exec_cb_begin(struct exec_cb *cb, uint64_t fn, uint64_t blk, const void *extra, size_t extra_size);
int exec_cb_call(struct exec_cb *cb, uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
		 uint64_t r5, uint64_t *r0);
void exec_cb_end(struct exec_cb *cb);

/* Define helper NAME (a skep_helper_fn) whose implementation IMPL takes r1..r5 and, as a
 * sixth argument, the caller's r12 (the JIT's per-run block), for exec_cb_begin. */
#if defined(__x86_64__)
#define EXEC_CB_HELPER(NAME, IMPL) \
	uint64_t NAME(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t); \
	__attribute__((visibility("hidden"))) uint64_t IMPL(uint64_t, uint64_t, uint64_t, uint64_t, \
							     uint64_t, uint64_t); \
	__asm__(".text\n.globl " #NAME "\n.type " #NAME ", @function\n" #NAME ":\n" \
		"\tmov %r12, %r9\n\tjmp " #IMPL "\n.size " #NAME ", .-" #NAME "\n")
#else
#define EXEC_CB_HELPER(NAME, IMPL) \
	uint64_t NAME(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e) \
	{ return IMPL(a, b, c, d, e, 0); }
#endif

/* Map references (maprefs.c): rewrite lddw src=BPF_PSEUDO_MAP_FD (imm = skep_map_id) into
 * the map's address and src=BPF_PSEUDO_MAP_VALUE (imm = id, next imm = offset) into the
 * value's address, as the kernel does at load; the program keeps its own handle on each
 * map it references (p->maps), so the maps live as long as it does. */
int prog_resolve_maps(struct skep_prog *p);
void prog_release_maps(struct skep_prog *p);
/* The checked engine's regions for a run: a's plus the memory of every map the program
 * references (read-only for BPF_F_RDONLY_PROG maps), in a malloc'ed array (out->regions)
 * the caller frees; NULL (out untouched) when the program references no map. */
struct skep_region *prog_map_regions(const struct skep_prog *p, const struct skep_run_args *a,
				     struct skep_run_args *out);
/* Bind Skep's helpers (src/helpers) for every helper id the program calls that has no
 * binding yet (skep_prog_set_helper before or after load overrides). */
int prog_bind_helpers(struct skep_prog *p);


/* ---- helper calls on the checked engine (helper_check.c): r1..r5 are validated
 * against the callee's prototype before it runs (-EFAULT or -EINVAL, p->err naming the
 * instruction, helper and argument). Per run (thread-local, nested for callbacks):
 * ring buffer records reserved and not yet released (leaked ones are discarded when
 * the run ends) and inner maps that map-in-map lookups returned. */
struct skep_helper_proto;
#define HC_MAX_RECORDS 64
#define HC_MAX_INNER   16
struct hc_rec {
	void *rec;
	struct skep_map *map;
};
struct hc_run {
	struct hc_run *prev;
	int top;                 /* a program's outermost run (callbacks: 0) */
	uint64_t ctx;            /* r1 at entry of the outermost run */
	const void *pstack;      /* callbacks: the calling run's active frames */
	size_t pstack_size;
	uint32_t nrec, ninner;
	struct hc_rec rec[HC_MAX_RECORDS];
	struct skep_map *inner[HC_MAX_INNER];
};
extern __thread struct hc_run *hc_cur;
void hc_begin(struct hc_run *h, uint64_t ctx, int top);
void hc_end(struct hc_run *h);
/* What the checked loop knows at a call. */
struct hc_env {
	struct skep_prog *p;                  /* the program run (errors go there) */
	const struct skep_prog *cur;          /* the program executing (after tail calls) */
	const struct interp_code *code;       /* its code (callback descriptors) */
	const struct skep_run_args *a;        /* regions, with the maps' memory */
	const void *stack;                    /* the active frames, lowest first */
	size_t stack_size;
	size_t insn;
	uint64_t ctx;
	const struct skep_helper_proto *proto;  /* set by helper_check */
};
/* 0, or a negative errno with p->err set. */
int helper_check(const struct hc_env *e, uint32_t id, skep_helper_fn fn, const uint64_t r[5]);
/* After the call: track what it returned; returns r0 (0 when a reservation is refused). */
uint64_t helper_checked_ret(uint32_t id, skep_helper_fn fn, const uint64_t r[5], uint64_t r0);
/* bpf_tail_call on the checked engine: r1 the context, r2 a PROG_ARRAY the running
 * program references; 0 or -EFAULT with p->err set. */
int helper_check_tail_call(const struct hc_env *e, const uint64_t r[5]);
/* interp.c: is fn a checked-engine callback descriptor of code c? */
int interp_callback_valid(const struct interp_code *c, uint64_t fn);

#endif
