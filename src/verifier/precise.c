/* Precision tracking, as the kernel's mark_chain_precision: a scalar in a checkpoint is
 * compared by value (range and known bits) only when it is "precise", that is when some
 * path from that checkpoint used its value for safety (a pointer offset, a helper's size,
 * a branch decided by its range, a return value checked against a range). Every other
 * scalar of an explored state matches any scalar, so loops whose counters or results do
 * not matter for safety converge.
 *
 * When a value starts to matter, the instructions of the current path are walked
 * backwards (the path's history: jumps, spills and fills, linked registers at conditional
 * jumps) to find the registers and stack slots it was computed from, and these are marked
 * precise in every checkpoint of the path, after the fact. Anything the walk cannot
 * follow (calls into subprograms and callbacks, atomics on the stack, other frames) falls
 * back to marking every scalar of the path's checkpoints precise: slower, never unsound. */
#include <errno.h>
#include <stdlib.h>

#include "verifier.h"

#define HF_BAD 0x80u   /* two stack accesses noted for one instruction: not followed */
#define ENOTSUPP 524   /* the kernel's: backtracking cannot follow this */

static bool is_helper_with_callback(int32_t id)
{
	return id == 181 || id == 164 || id == 170 || id == 180 || id == 209;
}

static int hist_grow(struct vstate *st)
{
	if (st->hist_len < st->hist_cap)
		return 0;
	int cap = st->hist_cap ? st->hist_cap * 2 : 16;
	struct hent *h = realloc(st->hist, sizeof *h * (size_t)cap);
	if (!h)
		return -ENOMEM;
	st->hist = h;
	st->hist_cap = cap;
	return 0;
}

int hist_push(struct venv *env, int idx, int prev)
{
	struct vstate *st = env->cur;
	if (hist_grow(st))
		return -ENOMEM;
	st->hist[st->hist_len++] = (struct hent){.idx = idx, .prev = prev};
	env->hist_fresh = true;
	return 0;
}

/* The entry of the instruction being checked, made if it has none yet. */
static struct hent *hist_this(struct venv *env)
{
	struct vstate *st = env->cur;
	if (env->hist_fresh && st->hist_len && st->hist[st->hist_len - 1].idx == st->insn_idx)
		return &st->hist[st->hist_len - 1];
	if (hist_push(env, st->insn_idx, st->insn_idx - 1))
		return NULL;
	return &st->hist[st->hist_len - 1];
}

int hist_note_stack(struct venv *env, int fr, int spi)
{
	struct hent *h = hist_this(env);
	if (!h)
		return -ENOMEM;
	if (h->flags & HF_STACK)
		h->flags |= HF_BAD;
	h->flags |= HF_STACK;
	h->fr = (uint8_t)fr;
	h->spi = (uint8_t)spi;
	return 0;
}

/* A conditional jump on scalars: what it learns reaches every scalar sharing an id with
 * an operand, so precision of any of them needs all of them. */
int hist_note_linked(struct venv *env, int dst, int src)
{
	struct vstate *st = env->cur;
	const struct vreg *regs = cur_regs(env);
	uint32_t ids[2] = {regs[dst].type == SCALAR ? regs[dst].id : 0,
			   src >= 0 && regs[src].type == SCALAR ? regs[src].id : 0};
	if (!ids[0] && !ids[1])
		return 0;
	uint16_t linked = 0;
	uint64_t lslots = 0;
	bool far = false;
	for (int fi = 0; fi <= st->curframe; fi++) {
		const struct vframe *f = st->frame[fi];
		for (int r = 0; r < MAX_BPF_REG; r++) {
			const struct vreg *x = &f->regs[r];
			if (x->type != SCALAR || !x->id || (x->id != ids[0] && x->id != ids[1]))
				continue;
			if (fi == st->curframe)
				linked |= (uint16_t)(1u << r);
			else
				far = true;
		}
		for (int s = 0; s < f->nslots; s++) {
			const struct vreg *x = &f->stack[s].spilled;
			if (f->stack[s].type[BPF_REG_SIZE - 1] != STACK_SPILL || x->type != SCALAR || !x->id ||
			    (x->id != ids[0] && x->id != ids[1]))
				continue;
			if (fi == st->curframe && s < 64)
				lslots |= 1ull << s;
			else
				far = true;
		}
	}
	if (__builtin_popcount(linked) + __builtin_popcountll(lslots) < 2 && !far)
		return 0;
	struct hent *h = hist_this(env);
	if (!h)
		return -ENOMEM;
	h->flags |= HF_LINKED | (far ? HF_LINKED_FAR : 0);
	h->fr = (uint8_t)st->curframe;
	h->linked = linked;
	h->lslots = lslots;
	return 0;
}

struct bt {
	int fr;
	uint16_t regs;
	uint64_t slots;
};

/* What instruction i needed, given what was needed after it (the kernel's backtrack_insn).
 * -ENOTSUPP: not followed. */
static int backtrack_insn(struct venv *env, int i, const struct hent *h, struct bt *bt)
{
	const struct skep_insn *in = &env->insns[i];
	uint8_t cls = BPF_CLASS(in->code), op = BPF_OP(in->code), mode = BPF_MODE(in->code);
	uint16_t dm = (uint16_t)(1u << in->dst), sm = (uint16_t)(1u << in->src);
	bool x = BPF_SRC(in->code) == BPF_X;
	if (h && (h->flags & HF_BAD))
		return -ENOTSUPP;
	switch (cls) {
	case BPF_ALU:
	case BPF_ALU64:
		if (!(bt->regs & dm))
			return 0;
		if (op == BPF_END || op == BPF_NEG)
			return 0;
		if (op == BPF_MOV) {
			bt->regs &= (uint16_t)~dm;
			if (x && in->src != BPF_REG_FP)
				bt->regs |= sm;
		} else if (x && in->src != BPF_REG_FP) {
			bt->regs |= sm;   /* dst op= src: both needed */
		}
		return 0;
	case BPF_LDX:
		if (!(bt->regs & dm))
			return 0;
		bt->regs &= (uint16_t)~dm;
		/* only spilled registers keep their value on the stack; loads from elsewhere
		 * are as precise as their memory */
		if (h && (h->flags & HF_STACK)) {
			if (h->fr != bt->fr)
				return -ENOTSUPP;
			bt->slots |= 1ull << h->spi;
		}
		return 0;
	case BPF_ST:
	case BPF_STX:
		if (bt->regs & dm)
			return -ENOTSUPP;   /* a scalar used as an address: pointer subtraction */
		if (cls == BPF_STX && mode == BPF_ATOMIC) {
			if (h && (h->flags & HF_STACK) && (bt->regs || bt->slots))
				return -ENOTSUPP;
			return 0;
		}
		if (!h || !(h->flags & HF_STACK) || h->fr != bt->fr || !(bt->slots & (1ull << h->spi)))
			return 0;
		bt->slots &= ~(1ull << h->spi);
		if (cls == BPF_STX)
			bt->regs |= sm;
		return 0;
	case BPF_LD:
		if (mode == BPF_IMM) {
			bt->regs &= (uint16_t)~dm;
			return 0;
		}
		return bt->regs & 0x3f ? -ENOTSUPP : 0;   /* legacy packet loads set r0, clobber r1-r5 */
	case BPF_JMP:
	case BPF_JMP32:
		if (op == BPF_EXIT)
			return bt->regs || bt->slots ? -ENOTSUPP : 0;
		if (op == BPF_CALL) {
			if (in->src != 0 || is_helper_with_callback(in->imm))
				return bt->regs || bt->slots ? -ENOTSUPP : 0;
			bt->regs &= (uint16_t)~1u;        /* r0: the helper's result */
			return bt->regs & 0x3e ? -ENOTSUPP : 0;
		}
		if (op == BPF_JA)
			return 0;
		if (h && (h->flags & HF_LINKED) && ((bt->regs & h->linked) || (bt->slots & h->lslots))) {
			if ((h->flags & HF_LINKED_FAR) || h->fr != bt->fr)
				return -ENOTSUPP;
			bt->regs |= h->linked;
			bt->slots |= h->lslots;
		}
		if (x && (bt->regs & (dm | sm)))
			bt->regs |= dm | sm;   /* dst <cond> src: both needed */
		return 0;
	}
	return -ENOTSUPP;
}

/* The instruction before i on the path, -1 at the start of the segment. */
static int get_prev(const struct vstate *st, int first, int i, int *hend)
{
	if (i == first && (!*hend || (*hend == 1 && st->hist[0].idx == i)))
		return -1;
	if (*hend && st->hist[*hend - 1].idx == i)
		return st->hist[--*hend].prev;
	return i - 1;
}

static int seg_first(const struct checkpoint *parent) { return parent ? parent->insn : 0; }

/* Mark in the checkpoints of the current path what bt needs (the current instruction is
 * not walked: bt describes the state before it). */
static int backtrack(struct venv *env, struct bt *bt)
{
	const struct vstate *st = env->cur;
	struct checkpoint *c = st->parent;
	int first = seg_first(c), i = st->insn_idx, hend = st->hist_len;
	bool skip = true;
	env->precise_marks++;
	for (;;) {
		while (i >= 0) {
			const struct hent *h = hend && st->hist[hend - 1].idx == i ? &st->hist[hend - 1] : NULL;
			if (!skip) {
				int err = backtrack_insn(env, i, h, bt);
				if (err)
					return err;
			}
			skip = false;
			if (!bt->regs && !bt->slots)
				return 0;
			i = get_prev(st, first, i, &hend);
		}
		if (!c)
			return -ENOTSUPP;   /* needed at the program's start: not followed */
		struct vstate *ps = &c->st;
		if (ps->curframe != bt->fr)
			return -ENOTSUPP;
		struct vframe *f = ps->frame[bt->fr];
		for (int r = 0; r < MAX_BPF_REG; r++) {
			if (!(bt->regs & (1u << r)))
				continue;
			struct vreg *reg = &f->regs[r];
			if (reg->type != SCALAR || reg->precise)
				bt->regs &= (uint16_t)~(1u << r);
			else
				reg->precise = true;
		}
		for (int s = 0; s < 64; s++) {
			if (!(bt->slots & (1ull << s)))
				continue;
			if (s >= f->nslots)
				return -ENOTSUPP;
			struct vslot *sl = &f->stack[s];
			if (sl->type[BPF_REG_SIZE - 1] != STACK_SPILL || sl->spilled.type != SCALAR ||
			    sl->spilled.precise)
				bt->slots &= ~(1ull << s);
			else
				sl->spilled.precise = true;
		}
		if (!bt->regs && !bt->slots)
			return 0;
		st = ps;
		first = seg_first(c->parent);
		i = ps->last_idx;
		hend = ps->hist_len;
		c = c->parent;
	}
}

static void mark_all(struct vreg *r, void *arg)
{
	(void)arg;
	if (r->type == SCALAR)
		r->precise = true;
}

/* The fallback: every scalar of every checkpoint of the path (the current state's own
 * marks are not needed: it is no checkpoint). */
void mark_all_scalars_precise(struct venv *env, struct vstate *st)
{
	(void)env;
	for (struct checkpoint *c = st->parent; c; c = c->parent)
		state_for_each_reg(&c->st, mark_all, NULL);
}

static int run(struct venv *env, struct bt *bt)
{
	int err = backtrack(env, bt);
	if (err == -ENOTSUPP) {
		mark_all_scalars_precise(env, env->cur);
		err = 0;
	}
	return err;
}

int mark_chain_precision(struct venv *env, int regno)
{
	if (!env->allow_ptr_leaks || cur_regs(env)[regno].type != SCALAR)
		return 0;   /* unprivileged: every scalar is compared by value anyway */
	struct bt bt = {env->cur->curframe, (uint16_t)(1u << regno), 0};
	return run(env, &bt);
}

int mark_stack_precise(struct venv *env, int fr, int spi)
{
	if (!env->allow_ptr_leaks)
		return 0;
	if (fr != env->cur->curframe || spi < 0 || spi >= 64) {
		mark_all_scalars_precise(env, env->cur);
		return 0;
	}
	struct bt bt = {fr, 0, 1ull << spi};
	return run(env, &bt);
}

/* A path pruned at an explored state: what was precise there must be precise on this
 * path too, or a later state could be pruned here with a value the explored paths never
 * saw (the kernel's propagate_precision). */
int propagate_precision(struct venv *env, const struct vstate *old)
{
	if (!env->allow_ptr_leaks)
		return 0;
	struct bt bt = {old->curframe, 0, 0};
	for (int fi = 0; fi <= old->curframe; fi++) {
		const struct vframe *f = old->frame[fi];
		uint16_t regs = 0;
		uint64_t slots = 0;
		for (int r = 0; r < BPF_REG_FP; r++)
			if (f->regs[r].type == SCALAR && f->regs[r].precise)
				regs |= (uint16_t)(1u << r);
		for (int s = 0; s < f->nslots; s++)
			if (f->stack[s].type[BPF_REG_SIZE - 1] == STACK_SPILL && f->stack[s].spilled.type == SCALAR &&
			    f->stack[s].spilled.precise) {
				if (s >= 64)
					regs |= 0x8000;   /* out of the mask: fall back */
				else
					slots |= 1ull << s;
			}
		if (!regs && !slots)
			continue;
		if (fi != old->curframe || (regs & 0x8000)) {
			mark_all_scalars_precise(env, env->cur);
			return 0;
		}
		bt.regs = regs;
		bt.slots = slots;
	}
	if (!bt.regs && !bt.slots)
		return 0;
	return run(env, &bt);
}
