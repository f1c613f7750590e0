/* Context rewrite after load: every load and store through the context pointer moves to
 * the field's place in the real in-memory context (xdp_md's 32-bit data becomes a
 * 64-bit pointer load), as the kernel's convert_ctx_accesses.
 *
 * TEMPORARY until the verifier hands over its list of context accesses: which register
 * holds the context is found here by a small dataflow analysis of its own. Values are
 * sets of {other, ctx, modified ctx, frame pointer + k, frame pointer + unknown}; r1 is
 * the context at entry, moves copy, add/sub of a constant moves a frame pointer and
 * makes a ctx pointer "modified", 8-byte spills to and fills from known stack slots keep
 * what they store, helper calls clobber r0-r5, bpf-to-bpf calls pass r1-r5 (merged over
 * call sites) and return r0. An access whose base may be the context is rewritten only
 * when it is surely the unmodified context; anything else that may touch the context
 * (modified pointer, context on one path only, atomics) is refused with the instruction
 * named. A stack pointer given to a subprogram or callback is "foreign" there: once the
 * program has stored the context anywhere, loads through foreign pointers may be the
 * context (their use is then refused), and a caller's stack slots may hold it after a
 * call that got one of its stack pointers. A context stored into other memory (map
 * values), which the kernel's verifier refuses, is not followed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/exec.h"
#include "isa/isa.h"
#include "progtypes.h"

/* V_FOREIGN: a pointer into another frame's stack (given to a subprogram or callback);
 * V_FUNC: a callback's address (lddw src=BPF_PSEUDO_FUNC). */
enum { V_OTHER = 1, V_CTX = 2, V_CTXMOD = 4, V_FP = 8, V_FPVAR = 16, V_FOREIGN = 32, V_FUNC = 64 };
#define V_CTXANY (V_CTX | V_CTXMOD)
#define NSLOTS (SKEP_STACK_SIZE / 8)

struct val {
	uint8_t m;
	int16_t off;    /* frame offset with V_FP */
};
struct st {
	struct val r[11];
	uint8_t slot[NSLOTS];   /* masks of V_OTHER, V_CTX, V_CTXMOD, V_FPVAR */
	uint8_t live;
};

static const struct val OTHER = {V_OTHER, 0};

static struct val merge_val(struct val a, struct val b)
{
	if (!a.m)
		return b;
	if (!b.m)
		return a;
	struct val v = {(uint8_t)(a.m | b.m), a.off};
	if ((a.m & V_FP) && (b.m & V_FP) && a.off != b.off)
		v.m = (uint8_t)((v.m & ~V_FP) | V_FPVAR);
	if (!(a.m & V_FP))
		v.off = b.off;
	return v;
}

/* Merge s into *d; 1 if *d changed. */
static int merge(struct st *d, const struct st *s)
{
	if (!d->live) {
		*d = *s;
		d->live = 1;
		return 1;
	}
	int ch = 0;
	for (int i = 0; i < 11; i++) {
		struct val v = merge_val(d->r[i], s->r[i]);
		if (v.m != d->r[i].m || v.off != d->r[i].off)
			d->r[i] = v, ch = 1;
	}
	for (int i = 0; i < NSLOTS; i++) {
		uint8_t m = d->slot[i] | s->slot[i];
		if (m != d->slot[i])
			d->slot[i] = m, ch = 1;
	}
	return ch;
}

/* What a value becomes under pointer arithmetic other than "fp + k". */
static uint8_t derive(uint8_t m)
{
	uint8_t r = (uint8_t)(m & (V_OTHER | V_FOREIGN));
	if (m & V_FUNC)
		r |= V_OTHER;
	if (m & V_CTXANY)
		r |= V_CTXMOD;
	if (m & (V_FP | V_FPVAR))
		r |= V_FPVAR;
	return r;
}

/* A value stored in a stack slot (a frame pointer loses its offset). */
static uint8_t to_slot(struct val v)
{
	return (uint8_t)((v.m & ~V_FP) | (v.m & V_FP ? V_FPVAR : 0));
}

struct an {
	const struct skep_insn *in;
	size_t n;
	struct st *s;
	size_t *work;
	size_t nwork;
	uint8_t *queued;
	uint8_t *is_entry;    /* 1: subprogram, 2: callback */
	uint32_t *fn;         /* the entry of the subprogram each instruction is in */
	int ctx_stored;       /* a store of the context has been seen */
	int stored_late;      /* ... after loads through foreign pointers were analysed */
	int foreign_loads;
	struct val *ret;      /* r0 at a subprogram's exits, by entry index */
};

static void push(struct an *a, size_t i, const struct st *s)
{
	if (i >= a->n || !merge(&a->s[i], s) || a->queued[i])
		return;
	a->queued[i] = 1;
	a->work[a->nwork++] = i;
}

static void requeue_calls_to(struct an *a, size_t callee)
{
	for (size_t i = 0; i < a->n; i++) {
		const struct skep_insn *in = &a->in[i];
		if (in->code == (BPF_JMP | BPF_CALL) && in->src == BPF_PSEUDO_CALL &&
		    (long)i + 1 + in->imm == (long)callee && a->s[i].live && !a->queued[i]) {
			a->queued[i] = 1;
			a->work[a->nwork++] = i;
		}
	}
}

static void entry_state(struct st *e)
{
	memset(e, 0, sizeof *e);
	for (int i = 0; i < 10; i++)
		e->r[i] = OTHER;
	e->r[10] = (struct val){V_FP, 0};
	memset(e->slot, V_OTHER, sizeof e->slot);
}

static int slot_of(int off, int size)
{
	/* slot index of an access at fp+off of size bytes inside one 8-byte slot, else -1 */
	if (off >= 0 || off < -SKEP_STACK_SIZE)
		return -1;
	int lo = off + SKEP_STACK_SIZE;
	if (lo / 8 != (lo + size - 1) / 8)
		return -1;
	return lo / 8;
}

/* Effect of a store of v (size bytes, precise = exact full-slot spill) through base. */
static void stack_store(struct st *s, struct val base, int off, int size, struct val v, int spill)
{
	if (!(base.m & (V_FP | V_FPVAR)))
		return;
	uint8_t m = spill ? to_slot(v) : V_OTHER;
	if (base.m == V_FP) {
		int lo = base.off + off;
		for (int b = lo; b < lo + size; b++) {
			int k = slot_of(b, 1);
			if (k >= 0)
				s->slot[k] = (spill && size == 8 && slot_of(lo, 8) >= 0) ? m : V_OTHER;
		}
		return;
	}
	for (int k = 0; k < NSLOTS; k++)   /* unknown slot: a weak update of all */
		s->slot[k] |= m;
}

static struct val stack_load(struct an *a, const struct st *s, struct val base, int off, int size)
{
	if (base.m & V_FOREIGN) {
		a->foreign_loads = 1;
		if (a->ctx_stored) {
			struct val v = base.m & (V_FP | V_FPVAR) ? stack_load(a, s, (struct val){
						(uint8_t)(base.m & ~V_FOREIGN), base.off}, off, size) : OTHER;
			v.m |= V_OTHER | V_CTX;
			return v;
		}
	}
	if (!(base.m & (V_FP | V_FPVAR)))
		return OTHER;
	if (base.m == V_FP) {
		int k = slot_of(base.off + off, size);
		if (k >= 0 && size == 8 && ((base.off + off) & 7) == 0) {
			uint8_t m = s->slot[k];
			return (struct val){m ? m : V_OTHER, 0};
		}
		return OTHER;
	}
	uint8_t m = V_OTHER;
	for (int k = 0; k < NSLOTS; k++)
		m |= s->slot[k];
	return (struct val){m, 0};
}

/* A call that may let the callee write into the caller's stack (a stack pointer given
 * to a subprogram, or to a helper with a callback): once a context was stored anywhere,
 * every slot may hold it. */
static void calls_out(struct an *a, struct st *s, int with_func)
{
	int fp = 0, func = 0;
	for (int r = 1; r <= 5; r++) {
		fp |= s->r[r].m & (V_FP | V_FPVAR);
		func |= s->r[r].m & V_FUNC;
	}
	if (fp && (func || with_func) && a->ctx_stored)
		for (int k = 0; k < NSLOTS; k++)
			s->slot[k] |= V_CTX;
}

static struct val foreign(struct val v)
{
	if (v.m & (V_FP | V_FPVAR))
		v.m = (uint8_t)((v.m & ~(V_FP | V_FPVAR)) | V_FOREIGN);
	v.off = 0;
	return v;
}

static void step(struct an *a, size_t i)
{
	const struct skep_insn *in = &a->in[i];
	struct st s = a->s[i];
	enum isa_op op = isa_decode(in);
	if (op == OP_INVALID)
		return;
	uint8_t cls = BPF_CLASS(in->code), kind = isa_ops[op].kind;
	int is64 = cls == BPF_ALU64;
	switch (kind) {
	case K_MOV:
		s.r[in->dst] = is64 && BPF_SRC(in->code) == BPF_X ? s.r[in->src] : OTHER;
		break;
	case K_ALU:
		if (!is64) {
			s.r[in->dst] = OTHER;
		} else if (BPF_SRC(in->code) == BPF_K &&
			   (BPF_OP(in->code) == BPF_ADD || BPF_OP(in->code) == BPF_SUB)) {
			struct val *d = &s.r[in->dst];
			long k = (long)d->off + (BPF_OP(in->code) == BPF_ADD ? in->imm : -(long)in->imm);
			if (d->m == V_FP && k >= -32768 && k <= 32767)
				d->off = (int16_t)k;
			else
				d->m = derive(d->m);
		} else {
			uint8_t m = derive(s.r[in->dst].m);
			if (BPF_SRC(in->code) == BPF_X)
				m |= derive(s.r[in->src].m);
			s.r[in->dst] = (struct val){m ? m : V_OTHER, 0};
		}
		break;
	case K_NEG:
	case K_MOVSX:
	case K_END:
		s.r[in->dst] = OTHER;
		break;
	case K_LDDW:
		s.r[in->dst] = in->src == BPF_PSEUDO_FUNC ? (struct val){V_FUNC, 0} : OTHER;
		push(a, i + 2, &s);
		return;
	case K_LDX:
		s.r[in->dst] = (s.r[in->src].m & V_CTXANY) ? OTHER
			      : stack_load(a, &s, s.r[in->src], in->off, isa_size_bytes(in->code));
		break;
	case K_ST:
		stack_store(&s, s.r[in->dst], in->off, isa_size_bytes(in->code), OTHER, 0);
		break;
	case K_STX:
		if ((s.r[in->src].m & V_CTXANY) && !a->ctx_stored) {
			a->ctx_stored = 1;
			a->stored_late |= a->foreign_loads;
		}
		stack_store(&s, s.r[in->dst], in->off, isa_size_bytes(in->code), s.r[in->src], 1);
		break;
	case K_ATOMIC:
		stack_store(&s, s.r[in->dst], in->off, isa_size_bytes(in->code), OTHER, 0);
		if (in->imm & BPF_FETCH) {
			if (in->imm == BPF_CMPXCHG)
				s.r[0] = OTHER;
			else
				s.r[in->src] = OTHER;
		}
		break;
	case K_LDPKT:
		for (int r = 0; r <= 5; r++)
			s.r[r] = OTHER;
		break;
	case K_CALL:
		if (in->src == BPF_PSEUDO_CALL) {
			size_t t = (size_t)((long)i + 1 + in->imm);
			struct st e;
			entry_state(&e);
			for (int r = 1; r <= 5; r++)
				e.r[r] = foreign(s.r[r]);
			push(a, t, &e);
			s.r[0] = a->ret[t].m ? a->ret[t] : OTHER;
			calls_out(a, &s, 1);
		} else {
			s.r[0] = OTHER;
			calls_out(a, &s, 0);
		}
		for (int r = 1; r <= 5; r++)
			s.r[r] = OTHER;
		break;
	case K_EXIT: {
		size_t f = a->fn[i];   /* the subprogram this exit ends */
		if (f > 0) {
			struct val v = foreign(s.r[0]);
			struct val m = merge_val(a->ret[f], v);
			if (m.m != a->ret[f].m) {
				a->ret[f] = m;
				requeue_calls_to(a, f);
			}
		}
		return;
	}
	case K_JA: {
		long d = cls == BPF_JMP32 ? in->imm : in->off;
		push(a, (size_t)((long)i + 1 + d), &s);
		return;
	}
	case K_JCOND:
		push(a, (size_t)((long)i + 1 + in->off), &s);
		break;
	default:
		break;
	}
	push(a, i + 1, &s);
}

/* Rewrite the accesses once the analysis is done. */
static int apply(struct skep_prog *p, const struct skep_prog_type_desc *d, struct an *a)
{
	uint32_t max = 0;
	for (size_t i = 0; i < a->n; i++) {
		struct skep_insn *in = &p->insns[i];
		if (!a->s[i].live)
			continue;
		enum isa_op op = isa_decode(in);
		if (op == OP_INVALID)
			continue;
		uint8_t kind = isa_ops[op].kind;
		if (kind == K_LDPKT && !(d->flags & SKEP_PT_LD_ABS))
			return prog_fail(p, -EINVAL, "insn %zu: ld_abs/ld_ind is not allowed in %s programs",
					 i, d->name);
		if (kind == K_CALL && in->src == 0 && !skep_prog_type_allows_helper(d, (uint32_t)in->imm))
			return prog_fail(p, -EINVAL, "insn %zu: helper %d is not allowed in %s programs",
					 i, in->imm, d->name);
		if (kind != K_LDX && kind != K_ST && kind != K_STX && kind != K_ATOMIC)
			continue;
		int base = kind == K_LDX ? in->src : in->dst;
		uint8_t m = a->s[i].r[base].m;
		if (!(m & V_CTXANY))
			continue;
		if (m & V_CTXMOD)
			return prog_fail(p, -EACCES, "insn %zu: r%d may be a context pointer moved by "
					 "arithmetic (dereference of modified ctx ptr disallowed)", i, base);
		if (m != V_CTX)
			return prog_fail(p, -EACCES, "insn %zu: r%d is the context on some paths only; "
					 "cannot rewrite the access (Skep's pre-verifier context tracking)",
					 i, base);
		if (kind == K_ATOMIC)
			return prog_fail(p, -EACCES, "insn %zu: atomic access to the %s context", i, d->name);
		int size = isa_size_bytes(in->code);
		long off = in->off;
		char why[200];
		if (off < 0 || skep_ctx_access_check(d, (uint32_t)off, (uint32_t)size,
						     kind == K_LDX ? SKEP_CTX_READ : SKEP_CTX_WRITE,
						     why, sizeof why))
			return prog_fail(p, -EACCES, "insn %zu: %s", i,
					 off < 0 ? "negative context offset" : why);
		const struct skep_ctx_field *f = skep_ctx_field_at(d, (uint32_t)off, (uint32_t)size);
		if (f->kind != SKEP_CTX_SCALAR) {
			if (BPF_MODE(in->code) == BPF_MEMSX)
				return prog_fail(p, -EACCES, "insn %zu: sign-extending load of the pointer %s.%s",
						 i, d->name, f->name);
			in->code = (uint8_t)(BPF_LDX | BPF_MEM | BPF_DW);
			in->off = (int16_t)f->real_off;
		} else if (f->real_size < f->size && (BPF_CLASS(in->code) != BPF_LDX || size >= f->real_size)) {
			/* the kernel's field is narrower: access all of it (see progtype.h) */
			static const uint8_t sz[9] = {[1] = BPF_B, [2] = BPF_H, [4] = BPF_W, [8] = BPF_DW};
			in->code = (uint8_t)((in->code & ~0x18) | sz[f->real_size]);
			in->off = (int16_t)f->real_off;
		} else {
			in->off = (int16_t)(f->real_off + (off - f->off));
		}
		if ((uint32_t)(off + size) > max)
			max = (uint32_t)(off + size);
	}
	p->ctx_max = max;
	return 0;
}

int progtype_rewrite(struct skep_prog *p)
{
	p->ctx_max = 0;
	if (!p->type)
		return 0;
	const struct skep_prog_type_desc *d = skep_prog_type_by_id(p->type);
	if (!d)
		return prog_fail(p, -ENOENT, "unknown program type %u", p->type);
	size_t n = p->n;
	struct an a = {.in = p->insns, .n = n};
	a.s = calloc(n, sizeof *a.s);
	a.work = malloc(n * sizeof *a.work);
	a.queued = calloc(n, 1);
	a.is_entry = calloc(n, 1);
	a.ret = calloc(n, sizeof *a.ret);
	a.fn = malloc(n * sizeof *a.fn);
	int err = 0;
	if (!a.s || !a.work || !a.queued || !a.is_entry || !a.ret || !a.fn) {
		err = prog_fail(p, -ENOMEM, "out of memory rewriting context accesses");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct skep_insn *in = &p->insns[i];
		long t = (long)i + 1 + in->imm;
		if (in->code == (BPF_JMP | BPF_CALL) && in->src == BPF_PSEUDO_CALL && t >= 0 && (size_t)t < n)
			a.is_entry[t] |= 1;
		if (isa_is_lddw(in->code)) {
			if (in->src == BPF_PSEUDO_FUNC && t >= 0 && (size_t)t < n)
				a.is_entry[t] |= 2;
			i++;
		}
	}
	for (size_t i = 0, f = 0; i < n; i++)
		a.fn[i] = (uint32_t)(f = a.is_entry[i] ? i : f);
	for (int pass = 0; pass < 2; pass++) {
		struct st e;
		entry_state(&e);
		e.r[1] = (struct val){V_CTX, 0};
		push(&a, 0, &e);
		entry_state(&e);
		for (int r = 1; r <= 5; r++)   /* callbacks: the helper's values, maybe our stack */
			e.r[r] = (struct val){V_OTHER | V_FOREIGN, 0};
		for (size_t i = 1; i < n; i++)
			if (a.is_entry[i] & 2)
				push(&a, i, &e);
		while (a.nwork) {
			size_t i = a.work[--a.nwork];
			a.queued[i] = 0;
			step(&a, i);
		}
		if (!a.stored_late)
			break;
		/* a context store was found after foreign loads were analysed: again, knowing it */
		memset(a.s, 0, n * sizeof *a.s);
		memset(a.ret, 0, n * sizeof *a.ret);
		a.stored_late = 0;
	}
	err = apply(p, d, &a);
out:
	free(a.s);
	free(a.work);
	free(a.queued);
	free(a.is_entry);
	free(a.ret);
	free(a.fn);
	return err;
}
