/* Verifier states: registers and stack slots per frame, references held; copying and
 * freeing them; and subsumption for pruning (states_equal: every value the current
 * state allows, the explored one allowed too, so exploring it again proves nothing new). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "verifier.h"

struct vframe *frame_new(int frameno, int callsite, int subprog)
{
	struct vframe *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	for (int i = 0; i < MAX_BPF_REG; i++)
		mark_reg_not_init(&f->regs[i]);
	f->regs[BPF_REG_FP].type = PTR_TO_STACK;
	mark_reg_known_zero(&f->regs[BPF_REG_FP]);
	f->regs[BPF_REG_FP].frameno = (uint8_t)frameno;
	f->frameno = frameno;
	f->callsite = callsite;
	f->subprog = subprog;
	return f;
}

void frame_free(struct vframe *f)
{
	if (f) {
		free(f->stack);
		free(f);
	}
}

struct vframe *frame_dup(const struct vframe *src)
{
	struct vframe *f = malloc(sizeof *f);
	if (!f)
		return NULL;
	*f = *src;
	f->stack = NULL;
	if (src->nslots) {
		f->stack = malloc(sizeof *f->stack * (size_t)src->nslots);
		if (!f->stack) {
			free(f);
			return NULL;
		}
		memcpy(f->stack, src->stack, sizeof *f->stack * (size_t)src->nslots);
	}
	return f;
}

int grow_stack(struct vframe *f, int nslots)
{
	if (nslots <= f->nslots)
		return 0;
	struct vslot *s = realloc(f->stack, sizeof *s * (size_t)nslots);
	if (!s)
		return -ENOMEM;
	memset(s + f->nslots, 0, sizeof *s * (size_t)(nslots - f->nslots));
	for (int i = f->nslots; i < nslots; i++)
		mark_reg_not_init(&s[i].spilled);
	f->stack = s;
	f->nslots = nslots;
	return 0;
}

struct vstate *state_new(void)
{
	return calloc(1, sizeof(struct vstate));
}

/* Frees what a state owns (frames and history); the state itself stays. */
void state_free_frames(struct vstate *st)
{
	for (int i = 0; i < MAX_CALL_FRAMES; i++) {
		frame_free(st->frame[i]);
		st->frame[i] = NULL;
	}
	free(st->hist);
	st->hist = NULL;
	st->hist_len = st->hist_cap = 0;
}

void state_free(struct vstate *st)
{
	if (st) {
		state_free_frames(st);
		free(st);
	}
}

int state_copy(struct vstate *dst, const struct vstate *src)
{
	state_free_frames(dst);
	struct vframe *fr[MAX_CALL_FRAMES] = {0};
	for (int i = 0; i <= src->curframe; i++) {
		fr[i] = frame_dup(src->frame[i]);
		if (!fr[i]) {
			for (int j = 0; j < i; j++)
				frame_free(fr[j]);
			return -ENOMEM;
		}
	}
	struct hent *h = NULL;
	if (src->hist_len) {
		h = malloc(sizeof *h * (size_t)src->hist_len);
		if (!h) {
			for (int j = 0; j <= src->curframe; j++)
				frame_free(fr[j]);
			return -ENOMEM;
		}
		memcpy(h, src->hist, sizeof *h * (size_t)src->hist_len);
	}
	*dst = *src;
	memcpy(dst->frame, fr, sizeof fr);
	dst->hist = h;
	dst->hist_cap = src->hist_len;
	return 0;
}

void copy_reg(struct vreg *dst, const struct vreg *src) { *dst = *src; }

void state_for_each_reg(struct vstate *st, void (*fn)(struct vreg *r, void *arg), void *arg)
{
	for (int i = 0; i <= st->curframe; i++) {
		struct vframe *f = st->frame[i];
		for (int r = 0; r < MAX_BPF_REG; r++)
			fn(&f->regs[r], arg);
		for (int s = 0; s < f->nslots; s++)
			if (f->stack[s].type[BPF_REG_SIZE - 1] == STACK_SPILL)
				fn(&f->stack[s].spilled, arg);
	}
}

int check_reg_read(struct venv *env, int regno)
{
	if (cur_regs(env)[regno].type == NOT_INIT)
		return verr(env, "R%d !read_ok", regno);
	return 0;
}

/* ---- references (ring buffer records) ---- */

int acquire_ref(struct venv *env, int insn)
{
	struct vstate *st = env->cur;
	if (st->nrefs >= MAX_REFS) {
		verr(env, "too many references held (%d)", MAX_REFS);
		return -E2BIG;
	}
	uint32_t id = new_id(env);
	st->refs[st->nrefs].id = id;
	st->refs[st->nrefs].insn = insn;
	st->nrefs++;
	return (int)id;
}

struct inval_arg {
	uint32_t ref;
};

static void invalidate(struct vreg *r, void *arg)
{
	struct inval_arg *a = arg;
	if (r->ref_obj_id == a->ref)
		mark_reg_unknown(r);   /* any copy of a released record becomes a number */
}

int release_ref(struct venv *env, uint32_t ref_obj_id)
{
	struct vstate *st = env->cur;
	for (int i = 0; i < st->nrefs; i++) {
		if (st->refs[i].id != ref_obj_id)
			continue;
		st->refs[i] = st->refs[--st->nrefs];
		struct inval_arg a = {ref_obj_id};
		state_for_each_reg(st, invalidate, &a);
		return 0;
	}
	return -EINVAL;
}

/* ---- subsumption ---- */

#define IDMAP_MAX 64
struct idmap {
	int n;
	uint32_t old[IDMAP_MAX], cur[IDMAP_MAX];
	uint32_t tmp;
};

/* ids must correspond one to one between the states */
static bool check_ids(uint32_t old, uint32_t cur, struct idmap *m)
{
	if (!old && !cur)
		return true;
	if (!old || !cur)
		return false;
	for (int i = 0; i < m->n; i++) {
		if (m->old[i] == old)
			return m->cur[i] == cur;
		if (m->cur[i] == cur)
			return false;
	}
	if (m->n == IDMAP_MAX)
		return false;
	m->old[m->n] = old;
	m->cur[m->n] = cur;
	m->n++;
	return true;
}

/* Scalar ids: an old register without an id asks nothing of cur; an old id needs a
 * consistent partner, a cur without id gets a fresh one (so it matches only once). */
static bool check_scalar_ids(uint32_t old, uint32_t cur, struct idmap *m)
{
	if (!old)
		return true;
	if (!cur)
		cur = 0x80000000u + ++m->tmp;
	return check_ids(old, cur, m);
}

static bool range_within(const struct vreg *o, const struct vreg *c)
{
	return o->umin <= c->umin && o->umax >= c->umax && o->smin <= c->smin && o->smax >= c->smax &&
	       o->u32_min <= c->u32_min && o->u32_max >= c->u32_max &&
	       o->s32_min <= c->s32_min && o->s32_max >= c->s32_max;
}

static bool regs_exact(const struct vreg *o, const struct vreg *c, struct idmap *m)
{
	struct vreg a = *o, b = *c;
	a.id = b.id = 0;
	a.ref_obj_id = b.ref_obj_id = 0;
	a.precise = b.precise = false;
	return !memcmp(&a, &b, sizeof a) && check_ids(o->id, c->id, m) &&
	       check_ids(o->ref_obj_id, c->ref_obj_id, m);
}

static bool regsafe(const struct vreg *o, const struct vreg *c, struct idmap *m, int mode)
{
	bool exact = mode == EXACT;
	if (o->type == NOT_INIT)
		return exact ? c->type == NOT_INIT : true;
	if (c->type == NOT_INIT)
		return false;
	if (exact)
		return regs_exact(o, c, m);
	if (o->type != c->type)
		return false;
	switch (BASE_TYPE(o->type)) {
	case SCALAR:
		/* no explored path used its value: any number will do */
		if (mode == NOT_EXACT && !o->precise)
			return true;
		return range_within(o, c) && tnum_in(o->var_off, c->var_off) &&
		       check_scalar_ids(o->id, c->id, m);
	case PTR_TO_PACKET:
	case PTR_TO_PACKET_META:
		/* old needed at most the range cur has */
		if ((int32_t)o->range > (int32_t)c->range)
			return false;
		if (o->off != c->off)
			return false;
		if (!check_ids(o->id, c->id, m))
			return false;
		return range_within(o, c) && tnum_in(o->var_off, c->var_off);
	case PTR_TO_MAP_VALUE:
	case PTR_TO_MAP_KEY:
	case PTR_TO_MEM:
	case PTR_TO_STACK:
	case PTR_TO_CTX:
	case PTR_TO_FLOW_KEYS:
	case PTR_TO_SOCKET:
	case PTR_TO_BTF_ID:
		if (o->off != c->off || o->map != c->map || o->frameno != c->frameno ||
		    o->range != c->range)
			return false;
		if ((o->type & PTR_MAYBE_NULL) || o->ref_obj_id || c->ref_obj_id) {
			if (!check_ids(o->id, c->id, m) || !check_ids(o->ref_obj_id, c->ref_obj_id, m))
				return false;
		} else if (o->id && !check_ids(o->id, c->id, m)) {
			return false;
		}
		return range_within(o, c) && tnum_in(o->var_off, c->var_off);
	default:
		return regs_exact(o, c, m);
	}
}

static bool all_data(const struct vslot *s)
{
	for (int i = 0; i < BPF_REG_SIZE; i++)
		if (s->type[i] != STACK_MISC && s->type[i] != STACK_ZERO)
			return false;
	return true;
}

static bool stacksafe(const struct vframe *o, const struct vframe *c, struct idmap *m, int mode,
		      bool allow_uninit)
{
	bool exact = mode == EXACT;
	for (int spi = 0; spi < o->nslots; spi++) {
		const struct vslot *os = &o->stack[spi];
		const struct vslot *cs = spi < c->nslots ? &c->stack[spi] : NULL;
		/* an imprecise 8-byte scalar spill: cur's data bytes read as some scalar too */
		if (mode == NOT_EXACT && cs && os->spilled.type == SCALAR && !os->spilled.precise &&
		    all_data(cs)) {
			bool full = true;
			for (int i = 0; i < BPF_REG_SIZE; i++)
				full &= os->type[i] == STACK_SPILL;
			if (full)
				continue;
		}
		for (int i = 0; i < BPF_REG_SIZE; i++) {
			uint8_t ot = os->type[i], ct = cs ? cs->type[i] : STACK_INVALID;
			if (exact) {
				if (ot != ct)
					return false;
				continue;
			}
			if (ot == STACK_INVALID)
				continue;
			if (ot == STACK_MISC) {
				if (allow_uninit)
					continue;
				if (ct == STACK_MISC || ct == STACK_ZERO)
					continue;
				if (ct == STACK_SPILL && cs->spilled.type == SCALAR)
					continue;
				return false;
			}
			if (ot == STACK_ZERO) {
				if (ct == STACK_ZERO)
					continue;
				if (ct == STACK_SPILL && reg_is_null(&cs->spilled))
					continue;
				return false;
			}
			if (ct != STACK_SPILL)
				return false;
		}
		if (os->type[BPF_REG_SIZE - 1] == STACK_SPILL &&
		    !regsafe(&os->spilled, &cs->spilled, m, mode))
			return false;
		if (exact && cs && cs->type[BPF_REG_SIZE - 1] == STACK_SPILL &&
		    !regsafe(&os->spilled, &cs->spilled, m, mode))
			return false;
	}
	if (exact)
		for (int spi = o->nslots; spi < c->nslots; spi++)
			for (int i = 0; i < BPF_REG_SIZE; i++)
				if (c->stack[spi].type[i] != STACK_INVALID)
					return false;
	return true;
}

static bool refsafe(const struct vstate *o, const struct vstate *c, struct idmap *m)
{
	if (o->nrefs != c->nrefs)
		return false;
	for (int i = 0; i < o->nrefs; i++)
		if (!check_ids(o->refs[i].id, c->refs[i].id, m))
			return false;
	if (!!o->active_lock_id != !!c->active_lock_id)
		return false;
	if (o->active_lock_id && (!check_ids(o->active_lock_id, c->active_lock_id, m) ||
				  o->active_lock_map != c->active_lock_map))
		return false;
	return o->active_rcu == c->active_rcu;
}

/* Live registers of frame i of a state stopped at insn: the top frame's from the
 * liveness analysis, a caller's from where its call returns to. */
static uint16_t frame_live(struct venv *env, const struct vstate *st, int i, int insn)
{
	if (i == st->curframe)
		return env->aux[insn].live;
	int ret = st->frame[i + 1]->callsite + 1;
	return (uint16_t)(env->aux[ret].live & ~0x3fu);   /* r0..r5 are set by the return */
}

bool states_equal(struct venv *env, const struct vstate *old, const struct vstate *cur, int mode)
{
	bool exact = mode == EXACT;
	if (mode == NOT_EXACT && !env->allow_ptr_leaks)
		mode = RANGE_WITHIN;   /* unprivileged: every scalar is precise, as the kernel's */
	struct idmap m;
	m.n = 0;
	m.tmp = 0;
	if (old->curframe != cur->curframe)
		return false;
	for (int i = 0; i <= old->curframe; i++)
		if (old->frame[i]->callsite != cur->frame[i]->callsite ||
		    old->frame[i]->in_callback != cur->frame[i]->in_callback)
			return false;
	if (!refsafe(old, cur, &m))
		return false;
	for (int i = 0; i <= old->curframe; i++) {
		const struct vframe *of = old->frame[i], *cf = cur->frame[i];
		uint16_t live = exact ? 0x7ff : frame_live(env, cur, i, cur->insn_idx);
		for (int r = 0; r < MAX_BPF_REG; r++) {
			if (!(live & (1u << r)) && r != BPF_REG_FP)
				continue;
			if (!regsafe(&of->regs[r], &cf->regs[r], &m, mode))
				return false;
		}
		if (!stacksafe(of, cf, &m, mode, env->allow_uninit_stack))
			return false;
	}
	return true;
}
