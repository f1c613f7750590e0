/* The program object: instructions, engine choice, helper bindings, and the run API
 * that hands a run to the interpreter or the JIT. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "jit.h"
#include "skep/verifier.h"

int prog_fail(struct skep_prog *p, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->err, sizeof p->err, fmt, ap);
	va_end(ap);
	return err;
}

skep_prog *skep_prog_new(void)
{
	return calloc(1, sizeof(struct skep_prog));
}

static void drop_jit(struct skep_prog *p)
{
	if (p->jit) {
		jit_free(p->jit);
		p->jit = NULL;
	}
}

void skep_prog_free(skep_prog *p)
{
	if (!p)
		return;
	prog_reg_del(p);  /* first: tail-call tables stop reaching p */
	drop_jit(p);
	interp_free(p->interp);
	prog_release_maps(p);
	free(p->helpers);
	free(p->insns);
	free(p->mem_safe);
	free(p);
}

#define UNVERIFIED_MSG "the program was loaded without verification: only the checked engine may run it"

/* Compiles lazily; several threads may reach a program's first run at once. */
static pthread_mutex_t jit_lock = PTHREAD_MUTEX_INITIALIZER;

int prog_jit(struct skep_prog *p)
{
	if (__atomic_load_n(&p->jit, __ATOMIC_ACQUIRE))
		return 0;
	if (!p->insns)
		return prog_fail(p, -EINVAL, "no program loaded");
	if (p->verification == SKEP_PROG_UNVERIFIED)
		return prog_fail(p, -EPERM, UNVERIFIED_MSG);
	pthread_mutex_lock(&jit_lock);
	int err = p->jit ? 0 : jit_compile(p);
	if (!err && !p->jit)
		err = prog_fail(p, -EOPNOTSUPP, "the JIT produced no code");
	pthread_mutex_unlock(&jit_lock);
	return err;
}

/* The JIT engine was chosen: compile, or fall back to the interpreter and keep the
 * reason (skep_prog_fallback_reason). Running out of memory is an error, not a
 * fallback. */
static int jit_or_fallback(struct skep_prog *p)
{
	p->fallback[0] = 0;
	int err = prog_jit(p);
	if (!err || err == -ENOMEM)
		return err;
	snprintf(p->fallback, sizeof p->fallback, "%s", p->err);
	p->err[0] = 0;
	return 0;
}

/* The load shared by the raw and the verified paths; mem_safe (n bytes, may be NULL) is
 * the verifier's proof per instruction. */
static int prog_load(skep_prog *p, const struct skep_insn *insns, size_t n, const uint8_t *mem_safe,
		     enum skep_prog_verification verification)
{
	struct skep_diag d;
	p->err[0] = 0;
	int err = skep_insns_validate(insns, n, 0, &d);
	if (err)
		return prog_fail(p, err, "%s", d.msg[0] ? d.msg : "invalid program");
	struct skep_insn *copy = malloc(n * sizeof *copy);
	uint8_t *safe = mem_safe ? malloc(n) : NULL;
	if (!copy || (mem_safe && !safe)) {
		free(copy);
		return prog_fail(p, -ENOMEM, "out of memory copying %zu instructions", n);
	}
	memcpy(copy, insns, n * sizeof *copy);
	if (safe)
		memcpy(safe, mem_safe, n);
	drop_jit(p);
	interp_free(p->interp);
	p->interp = NULL;
	free(p->insns);
	free(p->mem_safe);
	p->insns = copy;
	p->n = n;
	p->mem_safe = safe;
	if (p->verification != SKEP_PROG_UNVERIFIED)  /* the opt-out sticks */
		p->verification = (uint8_t)verification;
	p->insn_count = 0;
	p->fallback[0] = 0;
	err = progtype_rewrite(p) ?: prog_resolve_maps(p);
	if (!err)
		err = prog_bind_helpers(p);
	if (!err)
		err = interp_prepare(p);
	if (!err && p->engine == SKEP_ENGINE_JIT)
		err = jit_or_fallback(p);
	if (!err)
		err = prog_reg_add(p);
	if (err) {
		prog_release_maps(p);
		free(p->insns);
		free(p->mem_safe);
		p->insns = NULL;
		p->mem_safe = NULL;
		p->n = 0;
		return err;
	}
	prog_reg_changed(p);
	return 0;
}

int skep_prog_load(skep_prog *p, const struct skep_insn *insns, size_t n)
{
	return prog_load(p, insns, n, NULL, SKEP_PROG_NOT_VERIFIED);
}

int skep_prog_load_verified(skep_prog *p, const struct skep_insn *insns, size_t n,
			    const struct skep_verify_opts *opts, struct skep_verify_result *res)
{
	struct skep_verify_opts o = {0};
	if (opts)
		memcpy(&o, opts, opts->sz && opts->sz < sizeof o ? opts->sz : sizeof o);
	o.sz = sizeof o;
	o.prog_type = p->type;
	struct skep_verify_result own, *r = res ? res : &own;
	p->err[0] = 0;
	int err = skep_verify(insns, n, &o, r);
	if (err)
		return prog_fail(p, err, "the verifier could not run: %s", strerror(-err));
	if (!r->accepted)
		err = prog_fail(p, r->error ? r->error : -EACCES, "%s", r->msg);
	else if (p->verification == SKEP_PROG_UNVERIFIED)
		err = prog_fail(p, -EINVAL, "the program is marked unverified (skep_prog_set_unverified)");
	else
		err = prog_load(p, insns, n, r->mem_safe, SKEP_PROG_VERIFIED);
	if (!res)
		skep_verify_result_free(&own);
	return err;
}

int skep_prog_set_unverified(skep_prog *p)
{
	p->verification = SKEP_PROG_UNVERIFIED;
	p->engine = SKEP_ENGINE_CHECKED;
	p->fallback[0] = 0;
	drop_jit(p);
	if (p->mem_safe) {  /* the checked engine must check every access again */
		free(p->mem_safe);
		p->mem_safe = NULL;
		if (p->interp) {
			int err = interp_prepare(p);
			if (err) {  /* never keep code that trusts the dropped proofs */
				interp_free(p->interp);
				p->interp = NULL;
				return err;
			}
		}
	}
	if (p->interp)
		prog_reg_changed(p);
	return 0;
}

enum skep_prog_verification skep_prog_verification(const skep_prog *p)
{
	return (enum skep_prog_verification)p->verification;
}

const char *skep_prog_error(const skep_prog *p) { return p->err; }

int skep_prog_set_engine(skep_prog *p, enum skep_engine engine)
{
	if (p->verification == SKEP_PROG_UNVERIFIED && engine != SKEP_ENGINE_CHECKED)
		return prog_fail(p, -EPERM, UNVERIFIED_MSG);
	switch (engine) {
	case SKEP_ENGINE_INTERP:
	case SKEP_ENGINE_CHECKED:
		break;
	case SKEP_ENGINE_JIT:
#if !defined(__x86_64__)
		return prog_fail(p, -EOPNOTSUPP, "the JIT needs an x86-64 host");
#endif
		p->engine = engine;
		return p->insns ? jit_or_fallback(p) : 0;
	default:
		return prog_fail(p, -EINVAL, "unknown engine %d", (int)engine);
	}
	p->engine = engine;
	return 0;
}

enum skep_engine skep_prog_engine(const skep_prog *p)
{
	return p->engine == SKEP_ENGINE_JIT && p->fallback[0] ? SKEP_ENGINE_INTERP : p->engine;
}

const char *skep_prog_fallback_reason(const skep_prog *p)
{
	return p->fallback[0] ? p->fallback : NULL;
}

int skep_prog_set_helper(skep_prog *p, uint32_t id, skep_helper_fn fn)
{
	if (id >= p->nhelpers) {
		if (id >= (1u << 20))
			return prog_fail(p, -EINVAL, "helper id %u is too large", id);
		uint32_t n = p->nhelpers ? p->nhelpers : 64;
		while (n <= id)
			n *= 2;
		skep_helper_fn *h = realloc(p->helpers, n * sizeof *h);
		if (!h)
			return prog_fail(p, -ENOMEM, "out of memory binding helper %u", id);
		memset(h + p->nhelpers, 0, (n - p->nhelpers) * sizeof *h);
		p->helpers = h;
		p->nhelpers = n;
	}
	p->helpers[id] = fn;
	drop_jit(p);  /* the JIT resolves helpers at compile time */
	p->fallback[0] = 0;
	if (p->interp)  /* not while skep_prog_load binds helpers */
		prog_reg_changed(p);
	return 0;
}

void skep_prog_set_insn_limit(skep_prog *p, uint64_t limit) { p->insn_limit = limit; }

/* A JIT-compiled program that needs no per-run block (no tail calls, ld_abs/ld_ind or
 * unbounded call depth) cannot fail: the per-call fast path calls its code directly. */
static inline const struct jit_image *jit_direct(const skep_prog *p)
{
	const struct jit_image *img = p->jit;
	return p->engine == SKEP_ENGINE_JIT && img && !img->block ? img : NULL;
}

/* Every other case, out of line so the fast path needs no frame. */
static __attribute__((noinline)) int run_slow(skep_prog *p, const struct skep_run_args *args, uint64_t *r0)
{
	if (p->engine == SKEP_ENGINE_JIT && p->jit != NULL)
		return jit_run(p, args, r0);
	if (!p->interp)
		return prog_fail(p, -EINVAL, "no program loaded");
	switch (p->engine) {
	case SKEP_ENGINE_CHECKED:
		return interp_run(p, args, 1, r0);
	case SKEP_ENGINE_JIT:
		if (!p->fallback[0]) {  /* dropped by a helper change: compile again */
			int err = jit_or_fallback(p);
			if (err)
				return err;
			if (p->jit)
				return jit_run(p, args, r0);
		}
		return interp_run(p, args, 0, r0);
	default:
		return interp_run(p, args, 0, r0);
	}
}

int skep_prog_run(skep_prog *p, const struct skep_run_args *args, uint64_t *r0)
{
	const struct jit_image *img = jit_direct(p);
	if (__builtin_expect(img != NULL, 1)) {
		*r0 = img->entry(args->r[0], args->r[1], args->r[2], args->r[3], args->r[4], NULL);
		return 0;
	}
	return run_slow(p, args, r0);
}

/* Out of line, so the fast path below needs no frame for the run arguments. */
static __attribute__((noinline)) int run_mem_slow(skep_prog *p, void *mem, size_t len, uint64_t *r0)
{
	struct skep_region region = {mem, len, 1};
	struct skep_run_args a = {
		.r = {(uint64_t)(uintptr_t)mem, len},
		.regions = &region,
		.nregions = 1,
		.pkt = mem,
		.pkt_len = len,
	};
	return run_slow(p, &a, r0);
}

int skep_prog_run_mem(skep_prog *p, void *mem, size_t len, uint64_t *r0)
{
	const struct jit_image *img = jit_direct(p);
	if (__builtin_expect(img != NULL, 1)) {
		*r0 = img->entry((uint64_t)(uintptr_t)mem, len, 0, 0, 0, NULL);
		return 0;
	}
	return run_mem_slow(p, mem, len, r0);
}

uint64_t skep_prog_insn_count(const skep_prog *p)
{
	return __atomic_load_n(&p->insn_count, __ATOMIC_RELAXED);
}

const struct skep_insn *skep_prog_insns(const skep_prog *p, size_t *n)
{
	if (n)
		*n = p->n;
	return p->insns;
}
