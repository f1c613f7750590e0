/* Conditional jumps: which way a comparison can go, and what each side learns —
 * ranges and known bits for scalars (the kernel's is_scalar_branch_taken and
 * regs_refine_cond_op), null-ness for maybe-null pointers, packet ranges from
 * comparisons with the packet end. Facts learned about a register go to every copy
 * of it (same id). */
#include <errno.h>
#include <string.h>

#include "verifier.h"

#define SWAP(a, b) do { __typeof__(a) t_ = (a); (a) = (b); (b) = t_; } while (0)

#define BPF_JSET_X (BPF_JSET | BPF_X)   /* "not JSET", for the false branch */

int is_scalar_branch_taken(const struct vreg *reg1, const struct vreg *reg2, uint8_t opcode, bool is32)
{
	struct tnum t1 = is32 ? tnum_subreg(reg1->var_off) : reg1->var_off;
	struct tnum t2 = is32 ? tnum_subreg(reg2->var_off) : reg2->var_off;
	uint64_t umin1 = is32 ? reg1->u32_min : reg1->umin, umax1 = is32 ? reg1->u32_max : reg1->umax;
	uint64_t umin2 = is32 ? reg2->u32_min : reg2->umin, umax2 = is32 ? reg2->u32_max : reg2->umax;
	int64_t smin1 = is32 ? reg1->s32_min : reg1->smin, smax1 = is32 ? reg1->s32_max : reg1->smax;
	int64_t smin2 = is32 ? reg2->s32_min : reg2->smin, smax2 = is32 ? reg2->s32_max : reg2->smax;

	switch (opcode) {
	case BPF_JEQ:
		if (tnum_is_const(t1) && tnum_is_const(t2))
			return t1.value == t2.value;
		if (!tnum_overlap(t1, t2))
			return 0;
		if (umin1 > umax2 || umax1 < umin2 || smin1 > smax2 || smax1 < smin2)
			return 0;
		if (!is32 && (reg1->u32_min > reg2->u32_max || reg1->u32_max < reg2->u32_min ||
			      reg1->s32_min > reg2->s32_max || reg1->s32_max < reg2->s32_min))
			return 0;
		break;
	case BPF_JNE:
		if (tnum_is_const(t1) && tnum_is_const(t2))
			return t1.value != t2.value;
		if (!tnum_overlap(t1, t2))
			return 1;
		if (umin1 > umax2 || umax1 < umin2 || smin1 > smax2 || smax1 < smin2)
			return 1;
		if (!is32 && (reg1->u32_min > reg2->u32_max || reg1->u32_max < reg2->u32_min ||
			      reg1->s32_min > reg2->s32_max || reg1->s32_max < reg2->s32_min))
			return 1;
		break;
	case BPF_JSET:
		if (!tnum_is_const(t2))
			SWAP(t1, t2);
		if (!tnum_is_const(t2))
			return -1;
		if ((~t1.mask & t1.value) & t2.value)
			return 1;
		if (!((t1.mask | t1.value) & t2.value))
			return 0;
		break;
	case BPF_JGT:
		if (umin1 > umax2) return 1;
		if (umax1 <= umin2) return 0;
		break;
	case BPF_JSGT:
		if (smin1 > smax2) return 1;
		if (smax1 <= smin2) return 0;
		break;
	case BPF_JLT:
		if (umax1 < umin2) return 1;
		if (umin1 >= umax2) return 0;
		break;
	case BPF_JSLT:
		if (smax1 < smin2) return 1;
		if (smin1 >= smax2) return 0;
		break;
	case BPF_JGE:
		if (umin1 >= umax2) return 1;
		if (umax1 < umin2) return 0;
		break;
	case BPF_JSGE:
		if (smin1 >= smax2) return 1;
		if (smax1 < smin2) return 0;
		break;
	case BPF_JLE:
		if (umax1 <= umin2) return 1;
		if (umin1 > umax2) return 0;
		break;
	case BPF_JSLE:
		if (smax1 <= smin2) return 1;
		if (smin1 > smax2) return 0;
		break;
	}
	return -1;
}

static uint8_t rev_opcode(uint8_t op)
{
	switch (op) {
	case BPF_JEQ: return BPF_JNE;
	case BPF_JNE: return BPF_JEQ;
	case BPF_JSET: return BPF_JSET_X;
	case BPF_JSET_X: return BPF_JSET;
	case BPF_JGE: return BPF_JLT;
	case BPF_JGT: return BPF_JLE;
	case BPF_JLE: return BPF_JGT;
	case BPF_JLT: return BPF_JGE;
	case BPF_JSGE: return BPF_JSLT;
	case BPF_JSGT: return BPF_JSLE;
	case BPF_JSLE: return BPF_JSGT;
	case BPF_JSLT: return BPF_JSGE;
	default: return 0;
	}
}

/* a op b  <=>  b flip(op) a */
static uint8_t flip_opcode(uint8_t op)
{
	switch (op) {
	case BPF_JGT: return BPF_JLT;
	case BPF_JGE: return BPF_JLE;
	case BPF_JLT: return BPF_JGT;
	case BPF_JLE: return BPF_JGE;
	case BPF_JSGT: return BPF_JSLT;
	case BPF_JSGE: return BPF_JSLE;
	case BPF_JSLT: return BPF_JSGT;
	case BPF_JSLE: return BPF_JSGE;
	default: return op;
	}
}

static bool is_pow2(uint64_t v) { return v && !(v & (v - 1)); }

/* Narrow reg1 and reg2 to the values for which "reg1 op reg2" holds. */
static void regs_refine_cond_op(struct vreg *reg1, struct vreg *reg2, uint8_t opcode, bool is32)
{
	struct tnum t;
	uint64_t val;
again:
	switch (opcode) {
	case BPF_JEQ:
		if (is32) {
			reg1->u32_min = MAX(reg1->u32_min, reg2->u32_min);
			reg1->u32_max = MIN(reg1->u32_max, reg2->u32_max);
			reg1->s32_min = MAX(reg1->s32_min, reg2->s32_min);
			reg1->s32_max = MIN(reg1->s32_max, reg2->s32_max);
			reg2->u32_min = reg1->u32_min, reg2->u32_max = reg1->u32_max;
			reg2->s32_min = reg1->s32_min, reg2->s32_max = reg1->s32_max;
			t = tnum_intersect(tnum_subreg(reg1->var_off), tnum_subreg(reg2->var_off));
			reg1->var_off = tnum_with_subreg(reg1->var_off, t);
			reg2->var_off = tnum_with_subreg(reg2->var_off, t);
		} else {
			reg1->umin = MAX(reg1->umin, reg2->umin);
			reg1->umax = MIN(reg1->umax, reg2->umax);
			reg1->smin = MAX(reg1->smin, reg2->smin);
			reg1->smax = MIN(reg1->smax, reg2->smax);
			reg2->umin = reg1->umin, reg2->umax = reg1->umax;
			reg2->smin = reg1->smin, reg2->smax = reg1->smax;
			reg1->var_off = tnum_intersect(reg1->var_off, reg2->var_off);
			reg2->var_off = reg1->var_off;
		}
		break;
	case BPF_JNE:
		if (!reg_is_const(reg2, is32))
			SWAP(reg1, reg2);
		if (!reg_is_const(reg2, is32))
			break;
		/* a constant at an edge of the range moves the edge */
		val = reg_const_value(reg2, is32);
		if (is32) {
			if (reg1->u32_min == (uint32_t)val) reg1->u32_min++;
			if (reg1->u32_max == (uint32_t)val) reg1->u32_max--;
			if (reg1->s32_min == (int32_t)val) reg1->s32_min++;
			if (reg1->s32_max == (int32_t)val) reg1->s32_max--;
		} else {
			if (reg1->umin == val) reg1->umin++;
			if (reg1->umax == val) reg1->umax--;
			if (reg1->smin == (int64_t)val) reg1->smin++;
			if (reg1->smax == (int64_t)val) reg1->smax--;
		}
		break;
	case BPF_JSET:
		if (!reg_is_const(reg2, is32))
			SWAP(reg1, reg2);
		if (!reg_is_const(reg2, is32))
			break;
		val = reg_const_value(reg2, is32);
		/* some bit of val is set: only a single bit says which */
		if (!is_pow2(val))
			break;
		if (is32) {
			t = tnum_or(tnum_subreg(reg1->var_off), tnum_const(val));
			reg1->var_off = tnum_with_subreg(reg1->var_off, t);
		} else {
			reg1->var_off = tnum_or(reg1->var_off, tnum_const(val));
		}
		break;
	case BPF_JSET_X:
		if (!reg_is_const(reg2, is32))
			SWAP(reg1, reg2);
		if (!reg_is_const(reg2, is32))
			break;
		val = reg_const_value(reg2, is32);
		/* every bit of val is clear */
		if (is32) {
			t = tnum_and(tnum_subreg(reg1->var_off), tnum_const(~val));
			reg1->var_off = tnum_with_subreg(reg1->var_off, t);
		} else {
			reg1->var_off = tnum_and(reg1->var_off, tnum_const(~val));
		}
		break;
	case BPF_JLE:
		if (is32) {
			reg1->u32_max = MIN(reg1->u32_max, reg2->u32_max);
			reg2->u32_min = MAX(reg1->u32_min, reg2->u32_min);
		} else {
			reg1->umax = MIN(reg1->umax, reg2->umax);
			reg2->umin = MAX(reg1->umin, reg2->umin);
		}
		break;
	case BPF_JLT:
		if (is32) {
			if (reg2->u32_max == 0 || reg1->u32_min == UINT32_MAX) {
				reg1->u32_min = 1, reg1->u32_max = 0;   /* impossible */
				break;
			}
			reg1->u32_max = MIN(reg1->u32_max, reg2->u32_max - 1);
			reg2->u32_min = MAX(reg1->u32_min + 1, reg2->u32_min);
		} else {
			if (reg2->umax == 0 || reg1->umin == UINT64_MAX) {
				reg1->umin = 1, reg1->umax = 0;
				break;
			}
			reg1->umax = MIN(reg1->umax, reg2->umax - 1);
			reg2->umin = MAX(reg1->umin + 1, reg2->umin);
		}
		break;
	case BPF_JSLE:
		if (is32) {
			reg1->s32_max = MIN(reg1->s32_max, reg2->s32_max);
			reg2->s32_min = MAX(reg1->s32_min, reg2->s32_min);
		} else {
			reg1->smax = MIN(reg1->smax, reg2->smax);
			reg2->smin = MAX(reg1->smin, reg2->smin);
		}
		break;
	case BPF_JSLT:
		if (is32) {
			if (reg2->s32_max == S32_MIN || reg1->s32_min == INT32_MAX) {
				reg1->s32_min = 1, reg1->s32_max = 0;
				break;
			}
			reg1->s32_max = MIN(reg1->s32_max, reg2->s32_max - 1);
			reg2->s32_min = MAX(reg1->s32_min + 1, reg2->s32_min);
		} else {
			if (reg2->smax == S64_MIN || reg1->smin == INT64_MAX) {
				reg1->smin = 1, reg1->smax = 0;
				break;
			}
			reg1->smax = MIN(reg1->smax, reg2->smax - 1);
			reg2->smin = MAX(reg1->smin + 1, reg2->smin);
		}
		break;
	case BPF_JGE: case BPF_JGT: case BPF_JSGE: case BPF_JSGT:
		SWAP(reg1, reg2);
		opcode = flip_opcode(opcode);
		goto again;
	}
}

/* Both sides of a scalar comparison; false when a side is impossible. */
static void refine(struct vreg *r1, struct vreg *r2, uint8_t opcode, bool is32, bool *ok)
{
	regs_refine_cond_op(r1, r2, opcode, is32);
	*ok = reg_bounds_sane(r1) && reg_bounds_sane(r2);
	if (*ok) {
		reg_bounds_sync(r1);
		reg_bounds_sync(r2);
		*ok = reg_bounds_sane(r1) && reg_bounds_sane(r2);
	}
}

/* ---- propagation to copies ---- */

struct sync_arg {
	uint32_t id;
	const struct vreg *known;
};

static void sync_one(struct vreg *r, void *arg)
{
	struct sync_arg *a = arg;
	if (r->type == SCALAR && r->id == a->id && r != a->known)
		*r = *a->known;
}

static void sync_linked_regs(struct vstate *st, const struct vreg *known)
{
	if (known->type != SCALAR || !known->id)
		return;
	struct sync_arg a = {known->id, known};
	state_for_each_reg(st, sync_one, &a);
}

/* ---- null checks ---- */

struct null_arg {
	uint32_t id;
	bool is_null;
};

static void mark_ptr_or_null(struct vreg *r, void *arg)
{
	struct null_arg *a = arg;
	if (!(r->type & PTR_MAYBE_NULL) || r->id != a->id)
		return;
	if (a->is_null) {
		uint32_t id = r->id;
		mark_reg_const_zero(r);
		r->id = 0;
		(void)id;
		return;
	}
	r->type &= (uint16_t)~PTR_MAYBE_NULL;
	/* map values lose the id (no more null checks needed); references keep theirs */
	if (!r->ref_obj_id && BASE_TYPE(r->type) == PTR_TO_MAP_VALUE && r->map &&
	    r->map->m.spin_lock_off < 0)
		r->id = 0;
}

static void mark_ptr_or_null_regs(struct venv *env, struct vstate *st, uint32_t id, bool is_null,
				  uint32_t ref_obj_id)
{
	struct null_arg a = {id, is_null};
	state_for_each_reg(st, mark_ptr_or_null, &a);
	/* a reference found to be NULL needs no release */
	if (is_null && ref_obj_id) {
		struct vstate *save = env->cur;
		env->cur = st;
		release_ref(env, ref_obj_id);
		env->cur = save;
	}
}

/* ---- packet pointers ---- */

struct pkt_arg {
	uint32_t type, id, range;
};

static void mark_pkt_range(struct vreg *r, void *arg)
{
	struct pkt_arg *a = arg;
	/* ranges compare as the kernel's signed ints: the end markers are below any range */
	if (r->type == a->type && r->id == a->id && (int32_t)r->range < (int32_t)a->range)
		r->range = a->range;
}

/* The register compared is at (or beyond) the packet end on this side: accesses
 * through it are refused (the kernel's mark_pkt_end). */
static void mark_pkt_end(struct vstate *st, int regno, bool beyond)
{
	struct vreg *r = &st->frame[st->curframe]->regs[regno];
	if (r->type == PTR_TO_PACKET)
		r->range = beyond ? PKT_BEYOND_END : PKT_AT_END;
}

/* dst (a packet pointer) was compared with the end: on this side [base, base + off
 * (+1 when the comparison was strict)) is inside the packet, for every pointer with
 * dst's base (id). */
static void find_good_pkt_pointers(struct vstate *st, const struct vreg *dst, bool right_open)
{
	if (dst->off < 0 || (dst->off == 0 && !right_open))
		return;
	if (dst->umax > MAX_PACKET_OFF || dst->umax + (uint64_t)dst->off > MAX_PACKET_OFF)
		return;
	struct pkt_arg a = {dst->type, dst->id, (uint32_t)dst->off + (right_open ? 1u : 0u)};
	state_for_each_reg(st, mark_pkt_range, &a);
}

static bool reg_is_init_pkt(const struct vreg *r, uint32_t type)
{
	return r->type == type && r->off == 0 && tnum_equals_const(r->var_off, 0);
}

/* this: the fall-through state, other: the jump target's. */
static bool try_match_pkt_pointers(const struct skep_insn *insn, const struct vreg *dst,
				   const struct vreg *src, struct vstate *this_st, struct vstate *other_st)
{
	if (BPF_SRC(insn->code) != BPF_X || BPF_CLASS(insn->code) == BPF_JMP32)
		return false;
	bool dst_pkt = (dst->type == PTR_TO_PACKET && src->type == PTR_TO_PACKET_END) ||
		       (dst->type == PTR_TO_PACKET_META && reg_is_init_pkt(src, PTR_TO_PACKET));
	bool src_pkt = (dst->type == PTR_TO_PACKET_END && src->type == PTR_TO_PACKET) ||
		       (reg_is_init_pkt(dst, PTR_TO_PACKET) && src->type == PTR_TO_PACKET_META);
	int d = insn->dst, sr = insn->src;
	switch (BPF_OP(insn->code)) {
	case BPF_JGT:
		if (dst_pkt) {          /* pkt > end */
			find_good_pkt_pointers(this_st, dst, false);
			mark_pkt_end(other_st, d, true);
		} else if (src_pkt) {   /* end > pkt */
			find_good_pkt_pointers(other_st, src, true);
			mark_pkt_end(this_st, sr, false);
		} else {
			return false;
		}
		break;
	case BPF_JLT:
		if (dst_pkt) {          /* pkt < end */
			find_good_pkt_pointers(other_st, dst, true);
			mark_pkt_end(this_st, d, false);
		} else if (src_pkt) {   /* end < pkt */
			find_good_pkt_pointers(this_st, src, false);
			mark_pkt_end(other_st, sr, true);
		} else {
			return false;
		}
		break;
	case BPF_JGE:
		if (dst_pkt) {          /* pkt >= end */
			find_good_pkt_pointers(this_st, dst, true);
			mark_pkt_end(other_st, d, false);
		} else if (src_pkt) {   /* end >= pkt */
			find_good_pkt_pointers(other_st, src, false);
			mark_pkt_end(this_st, sr, true);
		} else {
			return false;
		}
		break;
	case BPF_JLE:
		if (dst_pkt) {          /* pkt <= end */
			find_good_pkt_pointers(other_st, dst, false);
			mark_pkt_end(this_st, d, true);
		} else if (src_pkt) {   /* end <= pkt */
			find_good_pkt_pointers(this_st, src, true);
			mark_pkt_end(other_st, sr, false);
		} else {
			return false;
		}
		break;
	default:
		return false;
	}
	return true;
}

static bool reg_not_null(const struct vreg *r)
{
	uint32_t t = BASE_TYPE(r->type);
	if (r->type & PTR_MAYBE_NULL)
		return false;
	/* the kernel's list (reg_not_null): not the stack, context or packet pointers */
	return t == PTR_TO_MAP_VALUE || t == PTR_TO_MAP_KEY || t == PTR_TO_MEM || t == PTR_TO_SOCKET ||
	       t == PTR_TO_BTF_ID;
}

int check_reg_read(struct venv *env, int regno);

static int mark_branch_regs(struct venv *env, const struct skep_insn *insn, const struct vreg *dst,
			    const struct vreg *src)
{
	int err = 0;
	if (dst->type == SCALAR)
		err = mark_chain_precision(env, insn->dst);
	if (!err && BPF_SRC(insn->code) == BPF_X && src->type == SCALAR)
		err = mark_chain_precision(env, insn->src);
	return err;
}

int check_cond_jmp_op(struct venv *env, const struct skep_insn *insn, int *insn_idx)
{
	struct vstate *this_st = env->cur;
	struct vreg *regs = cur_regs(env);
	uint8_t opcode = BPF_OP(insn->code);
	bool is32 = BPF_CLASS(insn->code) == BPF_JMP32;
	int err;

	if ((err = check_reg_read(env, insn->dst)))
		return err;
	struct vreg *dst = &regs[insn->dst], *src, fake;
	if (BPF_SRC(insn->code) == BPF_X) {
		if ((err = check_reg_read(env, insn->src)))
			return err;
		src = &regs[insn->src];
		if (!env->allow_ptr_leaks && (dst->type != SCALAR || src->type != SCALAR) &&
		    !(reg_is_null(dst) || reg_is_null(src)))
			return verr(env, "R%d pointer comparison prohibited",
				    dst->type != SCALAR ? insn->dst : insn->src);
	} else {
		memset(&fake, 0, sizeof fake);
		fake.type = SCALAR;
		mark_reg_known(&fake, is32 ? (uint64_t)(uint32_t)insn->imm : (uint64_t)(int64_t)insn->imm);
		src = &fake;
		if (!env->allow_ptr_leaks && dst->type != SCALAR && insn->imm != 0)
			return verr(env, "R%d pointer comparison prohibited", insn->dst);
	}

	int pred = -1;
	bool scalars = dst->type == SCALAR && src->type == SCALAR;
	if (scalars && (err = hist_note_linked(env, insn->dst, BPF_SRC(insn->code) == BPF_X ? insn->src : -1)))
		return err;
	if (scalars) {
		pred = is_scalar_branch_taken(dst, src, opcode, is32);
	} else if ((opcode == BPF_JEQ || opcode == BPF_JNE) && !is32) {
		/* a pointer that cannot be NULL compared with 0 */
		const struct vreg *p = dst->type != SCALAR ? dst : src, *z = p == dst ? src : dst;
		if (p->type != SCALAR && reg_is_null(z) && reg_not_null(p))
			pred = opcode == BPF_JNE;
	}
	int target = *insn_idx + 1 + insn->off;
	/* a branch decided by the operands' ranges: other values could take the other way */
	if (pred >= 0 && (err = mark_branch_regs(env, insn, dst, src)))
		return err;
	if (pred == 1) {
		*insn_idx = target - 1;   /* the driver adds 1 */
		return 0;
	}
	if (pred == 0)
		return 0;

	struct vstate *other;
	if ((err = push_stack(env, target, *insn_idx, &other)))
		return err;
	struct vreg *oregs = other->frame[other->curframe]->regs;
	struct vreg *odst = &oregs[insn->dst], *osrc, ofake;
	if (BPF_SRC(insn->code) == BPF_X) {
		osrc = &oregs[insn->src];
	} else {
		ofake = fake;
		osrc = &ofake;
	}

	bool ok_this = true, ok_other = true;
	if (dst->type == SCALAR && src->type == SCALAR) {
		refine(odst, osrc, opcode, is32, &ok_other);
		refine(dst, src, rev_opcode(opcode), is32, &ok_this);
		if (ok_other) {
			sync_linked_regs(other, odst);
			if (BPF_SRC(insn->code) == BPF_X)
				sync_linked_regs(other, osrc);
		}
		if (ok_this) {
			sync_linked_regs(this_st, dst);
			if (BPF_SRC(insn->code) == BPF_X)
				sync_linked_regs(this_st, src);
		}
	} else if (!is32 && (opcode == BPF_JEQ || opcode == BPF_JNE) && BPF_SRC(insn->code) == BPF_K &&
		   insn->imm == 0 && (dst->type & PTR_MAYBE_NULL)) {
		/* only against the immediate 0, as the kernel (a register holding 0 is not
		 * a null check there) */
		const struct vreg *p = dst;
		uint32_t id = p->id, ref = p->ref_obj_id;
		/* JEQ: the target sees NULL, the fall-through a valid pointer; JNE the reverse */
		mark_ptr_or_null_regs(env, other, id, opcode == BPF_JEQ, ref);
		mark_ptr_or_null_regs(env, this_st, id, opcode != BPF_JEQ, ref);
	} else {
		try_match_pkt_pointers(insn, dst, src, this_st, other);
	}
	if ((!ok_other || !ok_this) && (err = mark_branch_regs(env, insn, dst, src)))
		return err;
	if (!ok_other) {
		/* the jump cannot be taken: drop the pushed state */
		drop_pushed(env);
	}
	if (!ok_this) {
		/* the fall-through is impossible: continue at the target instead */
		return 1;
	}
	return 0;
}
