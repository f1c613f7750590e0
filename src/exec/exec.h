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
	char err[512];
};

/* Set p->err from a format; returns err (a negative errno) for tail calls. */
int prog_fail(struct skep_prog *p, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Interpreter: pre-decode p->insns (already validated) into p->interp. */
int interp_prepare(struct skep_prog *p);
void interp_free(struct interp_code *c);
/* Run; checked != 0 bounds-checks every memory access against args->regions
 * and the run's own stack frames. */
int interp_run(struct skep_prog *p, const struct skep_run_args *args, int checked, uint64_t *r0);

/* JIT: compile p->insns (helpers resolved now) into p->jit. -EOPNOTSUPP when the
 * host is not x86-64; any other failure leaves p->err saying why. */
int jit_compile(struct skep_prog *p);
/* Compile p once, thread-safely (prog.c); 0 when p->jit is ready. */
int prog_jit(struct skep_prog *p);
void jit_free(struct jit_image *img);
int jit_run(struct skep_prog *p, const struct skep_run_args *args, uint64_t *r0);

/* Tail calls: helper id 12 (bpf_tail_call(ctx, array, index)) is a jump, not a call.
 * r2 points to a struct skep_prog_array (the map layer's BPF_MAP_TYPE_PROG_ARRAY puts
 * one at offset 0 of its map), r3's low 32 bits are the index. The target starts with
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

#endif
