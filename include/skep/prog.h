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
 * Returns 0 or a negative errno; skep_prog_error() then says where and why.
 *
 * skep_prog_load does NOT run the verifier. It is the raw load: memory programs (type 0:
 * r1 = a buffer, r2 = its length, as uBPF runs them, which no verifier can prove safe)
 * and instructions an embedder chooses to trust. Running such a program on the fast
 * interpreter or the JIT trusts it completely; only the checked engine protects the
 * host from it. That is the embedder's explicit choice. Programs of a kernel type are
 * verified by skep_prog_load_verified, and skep_object_load verifies every program of
 * an object by default. */
int skep_prog_load(skep_prog *p, const struct skep_insn *insns, size_t n);

/* What is known of a program's safety. */
enum skep_prog_verification {
	SKEP_PROG_NOT_VERIFIED = 0,  /* skep_prog_load: trusted by the embedder's choice; any engine */
	SKEP_PROG_VERIFIED = 1,      /* proven safe by the verifier at load; any engine */
	/* Verification was turned off explicitly (skep_prog_set_unverified, the object load
	 * option no_verify, `skep prog run --no-verify`): only the checked engine runs it.
	 * skep_prog_set_engine refuses the others with -EPERM, the JIT does not compile it
	 * (skep_prog_func returns NULL), and a fast-interpreter tail call to it falls
	 * through as to an empty slot. */
	SKEP_PROG_UNVERIFIED = 2,
};

/* Verify, then load (skep/verifier.h): the program type is p's (skep_prog_set_type, set
 * before); opts (may be NULL) gives the log, flags, budget and map resolution, and its
 * prog_type is ignored. A refusal is -EACCES (or the verifier's errno) with
 * skep_prog_error() holding the verifier's "insn N: reason"; res (may be NULL) gets the
 * verifier's whole result (free it with skep_verify_result_free). A verified program
 * runs on any engine; on the checked engine the accesses the verifier proved in bounds
 * (skep_verify_result.mem_safe) are not checked again at run time: this trusts that r1
 * is the context the program type defines (as skep_prog_test_run and attachments pass
 * it), as the kernel does. */
struct skep_verify_opts;
struct skep_verify_result;
int skep_prog_load_verified(skep_prog *p, const struct skep_insn *insns, size_t n,
			    const struct skep_verify_opts *opts, struct skep_verify_result *res);

/* Mark p as a program whose verification was turned off (before or after load; a later
 * skep_prog_load keeps the mark): its engine becomes the checked interpreter and no
 * other may be chosen (see SKEP_PROG_UNVERIFIED). Drops the verifier's proofs. 0 or
 * -ENOMEM. */
int skep_prog_set_unverified(skep_prog *p);
enum skep_prog_verification skep_prog_verification(const skep_prog *p);

/* The last error message of this program ("" if none). */
const char *skep_prog_error(const skep_prog *p);

/* Select the engine (before or after load). The JIT compiles at once when a program is
 * loaded; one it cannot compile runs on the interpreter instead, with the reason kept
 * (skep_prog_fallback_reason). Errors: -EOPNOTSUPP (no JIT on this host), -ENOMEM,
 * -EPERM (an unverified program: only SKEP_ENGINE_CHECKED, see above). */
int skep_prog_set_engine(skep_prog *p, enum skep_engine engine);
/* The engine runs will use: SKEP_ENGINE_INTERP when the JIT was chosen but could not
 * compile the program (the reason is then kept, see below). */
enum skep_engine skep_prog_engine(const skep_prog *p);
/* Why the chosen JIT engine fell back to the interpreter, or NULL. */
const char *skep_prog_fallback_reason(const skep_prog *p);

/* The program's id, as the kernel's prog ids: given at its first load, unique in the
 * process, never reused (0 before load). What a PROG_ARRAY update takes as its value
 * (where libbpf passes a prog fd) and what its lookups return. */
uint32_t skep_prog_id(const skep_prog *p);
/* The loaded program with that id, or NULL (ids of freed programs find nothing). */
skep_prog *skep_prog_by_id(uint32_t id);

/* Bind helper id to fn for calls from this program. */
int skep_prog_set_helper(skep_prog *p, uint32_t id, skep_helper_fn fn);

/* Stop a run after this many executed instructions (0 = no limit; checked engine only). */
void skep_prog_set_insn_limit(skep_prog *p, uint64_t limit);

/* Run with explicit arguments. Returns 0 with *r0 set, or a negative errno
 * (-EFAULT for a refused memory access in the checked engine, -E2BIG for the
 * instruction limit, -ENOSYS for a helper this runtime lacks or that is not bound,
 * named in the message) with skep_prog_error() naming the instruction. */
int skep_prog_run(skep_prog *p, const struct skep_run_args *args, uint64_t *r0);

/* A plain memory program, as uBPF runs them: r1 = mem, r2 = len. */
int skep_prog_run_mem(skep_prog *p, void *mem, size_t len, uint64_t *r0);

/* Instructions executed by the last run on the checked engine (for benchmarks and
 * tests that report ns per instruction); 0 for the other engines. */
uint64_t skep_prog_insn_count(const skep_prog *p);

/* The loaded instructions. */
const struct skep_insn *skep_prog_insns(const skep_prog *p, size_t *n);

/* The JIT (x86-64 hosts). */

/* The program compiled to native code as a plain C function: r1 = ctx, r2 = len (r3..r5
 * undefined), returns r0. Compiles now if needed; NULL if the JIT cannot compile the
 * program (skep_prog_error says why). A direct call into the code, for hosts that run
 * a program very often. Valid until the program is freed or reloaded, or its helpers or
 * hardening change. No packet for ld_abs/ld_ind (they see an empty one); a run that
 * fails (bpf-to-bpf calls nested beyond 8 frames) returns 0. */
typedef uint64_t (*skep_prog_fn)(void *ctx, uint64_t len);
skep_prog_fn skep_prog_func(skep_prog *p);

/* Constant blinding in JIT-compiled code, as the kernel's bpf_jit_harden: immediates are
 * stored xor'ed with random values, so the native code never holds a constant chosen by
 * the program's author. Off by default. Drops code compiled before. */
int skep_prog_set_jit_harden(skep_prog *p, int on);

/* The native code of a JIT-compiled program, for disassemblers. */
struct skep_jited_func {
	uint32_t insn, insn_end;   /* instructions [insn, insn_end) */
	uint32_t entry;            /* code offset of the prologue */
	uint32_t body;             /* of the first instruction */
	uint32_t epilogue;         /* of the epilogue, and of what follows (cold paths) */
	uint32_t end;
};
struct skep_jited {
	const uint8_t *code;
	size_t size;
	const uint32_t *insn_off;  /* n + 1 entries: where each instruction's code starts */
	size_t n;
	const struct skep_jited_func *funcs;
	size_t nfuncs;
	uint32_t entry;            /* offset called by skep_prog_run (0 is skep_prog_func's) */
};
/* Compiles now if needed. 0 or a negative errno (skep_prog_error says why). The pointers
 * stay valid as long as the code does (see skep_prog_func). */
int skep_prog_jited(skep_prog *p, struct skep_jited *out);

#ifdef __cplusplus
}
#endif
#endif
