/* Skep: loading instructions into a program and running it. */
#ifndef SKEP_PROG_H
#define SKEP_PROG_H

#include <stddef.h>
#include <stdint.h>

#include "insn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct skep_prog skep_prog;

/* The engine a program runs on. */
enum skep_engine {
	SKEP_ENGINE_INTERP = 0,   /* threaded interpreter, trusts the program */
	SKEP_ENGINE_CHECKED = 1,  /* interpreter checking every memory access against the run's regions */
	SKEP_ENGINE_JIT = 2,      /* x86-64 native code */
};

/* A helper as the program calls it: r1..r5 in, r0 out. */
typedef uint64_t (*skep_helper_fn)(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5);

/* Memory a run may touch besides its own stack (the checked engine enforces this). */
struct skep_region {
	void *base;
	size_t size;
	int writable;
};

/* Arguments of one run. */
struct skep_run_args {
	uint64_t r[5];                       /* r1..r5 at entry */
	const struct skep_region *regions;   /* memory the program may access */
	size_t nregions;
	const void *pkt;                     /* packet seen by ld_abs/ld_ind (NULL: none) */
	size_t pkt_len;
};

/* A new, empty program; NULL only when out of memory. */
skep_prog *skep_prog_new(void);
void skep_prog_free(skep_prog *p);

/* Load instructions (copied): validates the structure and prepares the engine.
 * Returns 0 or a negative errno; skep_prog_error() then says where and why. */
int skep_prog_load(skep_prog *p, const struct skep_insn *insns, size_t n);

/* The last error message of this program ("" if none). */
const char *skep_prog_error(const skep_prog *p);

/* Select the engine (before or after load). Returns -EOPNOTSUPP if unavailable. */
int skep_prog_set_engine(skep_prog *p, enum skep_engine engine);
enum skep_engine skep_prog_engine(const skep_prog *p);

/* Bind helper id to fn for calls from this program. */
int skep_prog_set_helper(skep_prog *p, uint32_t id, skep_helper_fn fn);

/* Stop a run after this many executed instructions (0 = no limit; checked engine only). */
void skep_prog_set_insn_limit(skep_prog *p, uint64_t limit);

/* Run with explicit arguments. Returns 0 with *r0 set, or a negative errno
 * (-EFAULT for a refused memory access in the checked engine, -E2BIG for the
 * instruction limit, -ENOSYS for an unbound helper) with skep_prog_error() naming the
 * instruction. */
int skep_prog_run(skep_prog *p, const struct skep_run_args *args, uint64_t *r0);

/* A plain memory program, as uBPF runs them: r1 = mem, r2 = len. */
int skep_prog_run_mem(skep_prog *p, void *mem, size_t len, uint64_t *r0);

/* The loaded instructions. */
const struct skep_insn *skep_prog_insns(const skep_prog *p, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
