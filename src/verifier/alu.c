/* ALU instructions: the transfer functions of every operation on scalars, 64- and
 * 32-bit (the kernel's adjust_scalar_min_max_vals), and pointer arithmetic
 * (adjust_ptr_min_max_vals): which pointer types may move, by how much, and what a
 * moved packet pointer forgets. */
#include <errno.h>
#include <string.h>

#include "verifier.h"


static const char *const alu_str[16] = {"+", "-", "*", "/", "|", "&", "<<", ">>", "neg", "%",
					"^", "=", "s>>", "endian", "?", "?"};

/* ---- scalar transfer functions ---- */

static void scalar32_add(struct vreg *d, const struct vreg *s)
{
	int32_t smin, smax;
	if (__builtin_add_overflow(d->s32_min, s->s32_min, &smin) ||
	    __builtin_add_overflow(d->s32_max, s->s32_max, &smax))
		d->s32_min = S32_MIN, d->s32_max = S32_MAX;
	else
		d->s32_min = smin, d->s32_max = smax;
	uint32_t umin, umax;
	bool o1 = __builtin_add_overflow(d->u32_min, s->u32_min, &umin);
	bool o2 = __builtin_add_overflow(d->u32_max, s->u32_max, &umax);
	if (!o1 && o2)   /* only the top wraps: the result range is not contiguous */
		d->u32_min = 0, d->u32_max = U32_MAX;
	else
		d->u32_min = umin, d->u32_max = umax;
}

static void scalar_add(struct vreg *d, const struct vreg *s)
{
	int64_t smin, smax;
	if (__builtin_add_overflow(d->smin, s->smin, &smin) ||
	    __builtin_add_overflow(d->smax, s->smax, &smax))
		d->smin = S64_MIN, d->smax = S64_MAX;
	else
		d->smin = smin, d->smax = smax;
	uint64_t umin, umax;
	bool o1 = __builtin_add_overflow(d->umin, s->umin, &umin);
	bool o2 = __builtin_add_overflow(d->umax, s->umax, &umax);
	if (!o1 && o2)
		d->umin = 0, d->umax = U64_MAX;
	else
		d->umin = umin, d->umax = umax;
}

static void scalar32_sub(struct vreg *d, const struct vreg *s)
{
	int32_t smin, smax;
	if (__builtin_sub_overflow(d->s32_min, s->s32_max, &smin) ||
	    __builtin_sub_overflow(d->s32_max, s->s32_min, &smax))
		d->s32_min = S32_MIN, d->s32_max = S32_MAX;
	else
		d->s32_min = smin, d->s32_max = smax;
	uint32_t umin, umax;
	bool o1 = __builtin_sub_overflow(d->u32_min, s->u32_max, &umin);
	bool o2 = __builtin_sub_overflow(d->u32_max, s->u32_min, &umax);
	if (o1 && !o2)   /* only the bottom wraps */
		d->u32_min = 0, d->u32_max = U32_MAX;
	else
		d->u32_min = umin, d->u32_max = umax;
}

static void scalar_sub(struct vreg *d, const struct vreg *s)
{
	int64_t smin, smax;
	if (__builtin_sub_overflow(d->smin, s->smax, &smin) ||
	    __builtin_sub_overflow(d->smax, s->smin, &smax))
		d->smin = S64_MIN, d->smax = S64_MAX;
	else
		d->smin = smin, d->smax = smax;
	uint64_t umin, umax;
	bool o1 = __builtin_sub_overflow(d->umin, s->umax, &umin);
	bool o2 = __builtin_sub_overflow(d->umax, s->umin, &umax);
	if (o1 && !o2)
		d->umin = 0, d->umax = U64_MAX;
	else
		d->umin = umin, d->umax = umax;
}

static void scalar32_mul(struct vreg *d, const struct vreg *s)
{
	uint32_t umin, umax;
	if (__builtin_mul_overflow(d->u32_max, s->u32_max, &umax) ||
	    __builtin_mul_overflow(d->u32_min, s->u32_min, &umin))
		d->u32_min = 0, d->u32_max = U32_MAX;
	else
		d->u32_min = umin, d->u32_max = umax;
	int32_t p[4];
	if (__builtin_mul_overflow(d->s32_min, s->s32_min, &p[0]) ||
	    __builtin_mul_overflow(d->s32_min, s->s32_max, &p[1]) ||
	    __builtin_mul_overflow(d->s32_max, s->s32_min, &p[2]) ||
	    __builtin_mul_overflow(d->s32_max, s->s32_max, &p[3])) {
		d->s32_min = S32_MIN, d->s32_max = S32_MAX;
	} else {
		d->s32_min = MIN(MIN(p[0], p[1]), MIN(p[2], p[3]));
		d->s32_max = MAX(MAX(p[0], p[1]), MAX(p[2], p[3]));
	}
}

static void scalar_mul(struct vreg *d, const struct vreg *s)
{
	uint64_t umin, umax;
	if (__builtin_mul_overflow(d->umax, s->umax, &umax) ||
	    __builtin_mul_overflow(d->umin, s->umin, &umin))
		d->umin = 0, d->umax = U64_MAX;
	else
		d->umin = umin, d->umax = umax;
	int64_t p[4];
	if (__builtin_mul_overflow(d->smin, s->smin, &p[0]) ||
	    __builtin_mul_overflow(d->smin, s->smax, &p[1]) ||
	    __builtin_mul_overflow(d->smax, s->smin, &p[2]) ||
	    __builtin_mul_overflow(d->smax, s->smax, &p[3])) {
		d->smin = S64_MIN, d->smax = S64_MAX;
	} else {
		d->smin = MIN(MIN(p[0], p[1]), MIN(p[2], p[3]));
		d->smax = MAX(MAX(p[0], p[1]), MAX(p[2], p[3]));
	}
}

/* and/or/xor: the tnum (already computed into d) is the source of truth */
static void scalar32_and(struct vreg *d, const struct vreg *s)
{
	struct tnum v = tnum_subreg(d->var_off);
	if (tnum_subreg_is_const(s->var_off) && tnum_subreg_is_const(d->var_off)) {
		mark_reg32_known(d, v.value);
		return;
	}
	d->u32_min = (uint32_t)v.value;
	d->u32_max = MIN(d->u32_max, s->u32_max);
	if ((int32_t)d->u32_min <= (int32_t)d->u32_max)
		d->s32_min = (int32_t)d->u32_min, d->s32_max = (int32_t)d->u32_max;
	else
		d->s32_min = S32_MIN, d->s32_max = S32_MAX;
}

static void scalar_and(struct vreg *d, const struct vreg *s)
{
	if (tnum_is_const(s->var_off) && tnum_is_const(d->var_off)) {
		mark_reg_known(d, d->var_off.value);
		return;
	}
	d->umin = d->var_off.value;
	d->umax = MIN(d->umax, s->umax);
	if ((int64_t)d->umin <= (int64_t)d->umax)
		d->smin = (int64_t)d->umin, d->smax = (int64_t)d->umax;
	else
		d->smin = S64_MIN, d->smax = S64_MAX;
	update_reg_bounds(d);
}

static void scalar32_or(struct vreg *d, const struct vreg *s)
{
	struct tnum v = tnum_subreg(d->var_off);
	if (tnum_subreg_is_const(s->var_off) && tnum_subreg_is_const(d->var_off)) {
		mark_reg32_known(d, v.value);
		return;
	}
	d->u32_min = MAX(d->u32_min, s->u32_min);
	d->u32_max = (uint32_t)(v.value | v.mask);
	if ((int32_t)d->u32_min <= (int32_t)d->u32_max)
		d->s32_min = (int32_t)d->u32_min, d->s32_max = (int32_t)d->u32_max;
	else
		d->s32_min = S32_MIN, d->s32_max = S32_MAX;
}

static void scalar_or(struct vreg *d, const struct vreg *s)
{
	if (tnum_is_const(s->var_off) && tnum_is_const(d->var_off)) {
		mark_reg_known(d, d->var_off.value);
		return;
	}
	d->umin = MAX(d->umin, s->umin);
	d->umax = d->var_off.value | d->var_off.mask;
	if ((int64_t)d->umin <= (int64_t)d->umax)
		d->smin = (int64_t)d->umin, d->smax = (int64_t)d->umax;
	else
		d->smin = S64_MIN, d->smax = S64_MAX;
	update_reg_bounds(d);
}

static void scalar32_xor(struct vreg *d, const struct vreg *s)
{
	struct tnum v = tnum_subreg(d->var_off);
	if (tnum_subreg_is_const(s->var_off) && tnum_subreg_is_const(d->var_off)) {
		mark_reg32_known(d, v.value);
		return;
	}
	d->u32_min = (uint32_t)v.value;
	d->u32_max = (uint32_t)(v.value | v.mask);
	if ((int32_t)d->u32_min <= (int32_t)d->u32_max)
		d->s32_min = (int32_t)d->u32_min, d->s32_max = (int32_t)d->u32_max;
	else
		d->s32_min = S32_MIN, d->s32_max = S32_MAX;
}

static void scalar_xor(struct vreg *d, const struct vreg *s)
{
	if (tnum_is_const(s->var_off) && tnum_is_const(d->var_off)) {
		mark_reg_known(d, d->var_off.value);
		return;
	}
	d->umin = d->var_off.value;
	d->umax = d->var_off.value | d->var_off.mask;
	if ((int64_t)d->umin <= (int64_t)d->umax)
		d->smin = (int64_t)d->umin, d->smax = (int64_t)d->umax;
	else
		d->smin = S64_MIN, d->smax = S64_MAX;
	update_reg_bounds(d);
}

static void scalar32_lsh(struct vreg *d, const struct vreg *s)
{
	uint32_t umin = s->u32_min, umax = s->u32_max;
	struct tnum sub = tnum_subreg(d->var_off);
	d->s32_min = S32_MIN, d->s32_max = S32_MAX;
	if (umax > 31 || d->u32_max > (1ULL << (31 - umax)))
		d->u32_min = 0, d->u32_max = U32_MAX;
	else
		d->u32_min <<= umin, d->u32_max <<= umax;
	d->var_off = tnum_subreg(tnum_lshift(sub, (uint8_t)umin));
	update_reg_bounds(d);
}

static void scalar_lsh(struct vreg *d, const struct vreg *s)
{
	uint64_t umin = s->umin, umax = s->umax;
	/* <<32 of a non-negative 32-bit value: a common sign-extension idiom */
	if (umin == 32 && umax == 32 && d->s32_max >= 0)
		d->smax = (int64_t)d->s32_max << 32;
	else
		d->smax = S64_MAX;
	if (umin == 32 && umax == 32 && d->s32_min >= 0)
		d->smin = (int64_t)d->s32_min << 32;
	else
		d->smin = S64_MIN;
	if (umax > 63 || d->umax > (1ULL << (63 - umax)))
		d->umin = 0, d->umax = U64_MAX;
	else
		d->umin <<= umin, d->umax <<= umax;
	d->var_off = tnum_lshift(d->var_off, (uint8_t)umin);
	mark_reg32_unbounded(d);
	update_reg_bounds(d);
}

static void scalar32_rsh(struct vreg *d, const struct vreg *s)
{
	uint32_t umin = s->u32_min, umax = s->u32_max;
	struct tnum sub = tnum_subreg(d->var_off);
	d->s32_min = S32_MIN, d->s32_max = S32_MAX;
	sub = tnum_rshift(sub, (uint8_t)umin);
	d->u32_min >>= umax;
	d->u32_max >>= umin;
	d->var_off = sub;
	mark_reg64_unbounded(d);
	update_reg_bounds(d);
}

static void scalar_rsh(struct vreg *d, const struct vreg *s)
{
	uint64_t umin = s->umin, umax = s->umax;
	d->smin = S64_MIN, d->smax = S64_MAX;
	d->var_off = tnum_rshift(d->var_off, (uint8_t)umin);
	d->umin >>= umax;
	d->umax >>= umin;
	mark_reg32_unbounded(d);
	update_reg_bounds(d);
}

static void scalar32_arsh(struct vreg *d, const struct vreg *s)
{
	uint32_t umin = s->u32_min;
	d->s32_min >>= umin;
	d->s32_max >>= umin;
	d->var_off = tnum_arshift(tnum_subreg(d->var_off), (uint8_t)umin, 32);
	d->u32_min = 0, d->u32_max = U32_MAX;
	mark_reg64_unbounded(d);
	update_reg_bounds(d);
}

static void scalar_arsh(struct vreg *d, const struct vreg *s)
{
	uint64_t umin = s->umin;
	d->smin >>= umin;
	d->smax >>= umin;
	d->var_off = tnum_arshift(d->var_off, (uint8_t)umin, 64);
	d->umin = 0, d->umax = U64_MAX;
	mark_reg32_unbounded(d);
	update_reg_bounds(d);
}

/* Ops whose result range the kernel computes; for the others (div, mod) the result is
 * unknown. Shifts only by a constant below the width. */
static bool safe_to_compute(uint8_t opcode, const struct vreg *src, bool alu32)
{
	switch (opcode) {
	case BPF_ADD: case BPF_SUB: case BPF_AND: case BPF_XOR: case BPF_OR: case BPF_MUL:
		return true;
	case BPF_LSH: case BPF_RSH: case BPF_ARSH:
		return reg_is_const(src, alu32) && (alu32 ? src->u32_max < 32 : src->umax < 64);
	default:
		return false;
	}
}

static void adjust_scalar(struct vreg *dst, struct vreg src, uint8_t opcode, bool alu32)
{
	if (!safe_to_compute(opcode, &src, alu32)) {
		mark_reg_unknown(dst);
		/* the kernel forgets the upper half too */
		return;
	}
	switch (opcode) {
	case BPF_ADD:
		scalar32_add(dst, &src);
		scalar_add(dst, &src);
		dst->var_off = tnum_add(dst->var_off, src.var_off);
		break;
	case BPF_SUB:
		scalar32_sub(dst, &src);
		scalar_sub(dst, &src);
		dst->var_off = tnum_sub(dst->var_off, src.var_off);
		break;
	case BPF_MUL:
		dst->var_off = tnum_mul(dst->var_off, src.var_off);
		scalar32_mul(dst, &src);
		scalar_mul(dst, &src);
		break;
	case BPF_AND:
		dst->var_off = tnum_and(dst->var_off, src.var_off);
		scalar32_and(dst, &src);
		scalar_and(dst, &src);
		break;
	case BPF_OR:
		dst->var_off = tnum_or(dst->var_off, src.var_off);
		scalar32_or(dst, &src);
		scalar_or(dst, &src);
		break;
	case BPF_XOR:
		dst->var_off = tnum_xor(dst->var_off, src.var_off);
		scalar32_xor(dst, &src);
		scalar_xor(dst, &src);
		break;
	case BPF_LSH:
		if (alu32)
			scalar32_lsh(dst, &src);
		else
			scalar_lsh(dst, &src);
		break;
	case BPF_RSH:
		if (alu32)
			scalar32_rsh(dst, &src);
		else
			scalar_rsh(dst, &src);
		break;
	case BPF_ARSH:
		if (alu32)
			scalar32_arsh(dst, &src);
		else
			scalar_arsh(dst, &src);
		break;
	}
	if (alu32)
		zext_32_to_64(dst);
	reg_bounds_sync(dst);
}

/* ---- pointers ---- */

static bool check_reg_sane_offset(struct venv *env, const struct vreg *reg, uint32_t type)
{
	bool known = tnum_is_const(reg->var_off);
	int64_t val = (int64_t)reg->var_off.value, smin = reg->smin;
	if (known && (val >= BPF_MAX_VAR_OFF || val <= -BPF_MAX_VAR_OFF)) {
		verr(env, "math between %s pointer and %lld is not allowed", reg_type_str(type),
		     (long long)val);
		return false;
	}
	if (reg->off >= BPF_MAX_VAR_OFF || reg->off <= -BPF_MAX_VAR_OFF) {
		verr(env, "%s pointer offset %d is not allowed", reg_type_str(type), reg->off);
		return false;
	}
	if (smin == S64_MIN) {
		verr(env, "math between %s pointer and register with unbounded min value is not allowed",
		     reg_type_str(type));
		return false;
	}
	if (smin >= BPF_MAX_VAR_OFF || smin <= -BPF_MAX_VAR_OFF) {
		verr(env, "value %lld makes %s pointer be out of bounds", (long long)smin,
		     reg_type_str(type));
		return false;
	}
	return true;
}

static bool is_pkt(uint32_t t) { return t == PTR_TO_PACKET || t == PTR_TO_PACKET_META; }

/* dst = ptr op off (dst may be ptr or off). */
static int adjust_ptr(struct venv *env, const struct skep_insn *insn, const struct vreg *ptr,
		      const struct vreg *off_reg)
{
	struct vreg *regs = cur_regs(env), *dst = &regs[insn->dst];
	uint8_t opcode = BPF_OP(insn->code);
	bool known = tnum_is_const(off_reg->var_off);
	int64_t smin_val = off_reg->smin, smax_val = off_reg->smax;
	uint64_t umin_val = off_reg->umin, umax_val = off_reg->umax;
	struct vreg p = *ptr;

	if (BPF_CLASS(insn->code) != BPF_ALU64) {
		if (opcode == BPF_SUB && env->allow_ptr_leaks) {
			mark_reg_unknown(dst);
			return 0;
		}
		return verr(env, "R%d 32-bit pointer arithmetic prohibited", insn->dst);
	}
	if (p.type & PTR_MAYBE_NULL)
		return verr(env, "R%d pointer arithmetic on %s prohibited, null-check it first",
			    insn->dst, reg_type_str(p.type));
	switch (BASE_TYPE(p.type)) {
	case PTR_TO_CTX: case PTR_TO_MAP_VALUE: case PTR_TO_MAP_KEY: case PTR_TO_STACK:
	case PTR_TO_PACKET_META: case PTR_TO_PACKET: case PTR_TO_MEM: case PTR_TO_FUNC:
		break;
	case PTR_TO_FLOW_KEYS:
		if (known)
			break;
		/* fallthrough */
	case CONST_PTR_TO_MAP:
		if (known && smin_val == 0 && opcode == BPF_ADD)
			break;
		/* fallthrough */
	default:
		return verr(env, "R%d pointer arithmetic on %s prohibited", insn->dst,
			    reg_type_str(p.type));
	}
	if (opcode != BPF_ADD && opcode != BPF_SUB) {
		if (opcode == BPF_AND || opcode == BPF_OR || opcode == BPF_XOR)
			return verr(env, "R%d bitwise operator %s= on pointer prohibited", insn->dst,
				    alu_str[opcode >> 4]);
		return verr(env, "R%d pointer arithmetic with %s= operator prohibited", insn->dst,
			    alu_str[opcode >> 4]);
	}
	if (!check_reg_sane_offset(env, off_reg, p.type) || !check_reg_sane_offset(env, &p, p.type))
		return -EACCES;

	struct vreg d = p;
	mark_reg32_unbounded(&d);
	if (opcode == BPF_ADD) {
		if (known && p.off + smin_val == (int64_t)(int32_t)(p.off + smin_val)) {
			/* constant: the fixed offset moves, a packet range stays */
			d.off = (int32_t)(p.off + smin_val);
		} else {
			int64_t a, b;
			if (__builtin_add_overflow(p.smin, smin_val, &a) ||
			    __builtin_add_overflow(p.smax, smax_val, &b))
				d.smin = S64_MIN, d.smax = S64_MAX;
			else
				d.smin = a, d.smax = b;
			uint64_t c, e;
			if (__builtin_add_overflow(p.umin, umin_val, &c) ||
			    __builtin_add_overflow(p.umax, umax_val, &e))
				d.umin = 0, d.umax = U64_MAX;
			else
				d.umin = c, d.umax = e;
			d.var_off = tnum_add(p.var_off, off_reg->var_off);
			if (is_pkt(BASE_TYPE(p.type))) {
				/* a new base: nothing proven yet past it */
				d.id = new_id(env);
				d.range = 0;
			}
		}
	} else {
		if (ptr == off_reg || dst == off_reg)
			return verr(env, "R%d tried to subtract pointer from scalar", insn->dst);
		if (BASE_TYPE(p.type) == PTR_TO_STACK)
			return verr(env, "R%d subtraction from stack pointer prohibited", insn->dst);
		if (known && p.off - smin_val == (int64_t)(int32_t)(p.off - smin_val)) {
			d.off = (int32_t)(p.off - smin_val);
		} else {
			int64_t a, b;
			if (__builtin_sub_overflow(p.smin, smax_val, &a) ||
			    __builtin_sub_overflow(p.smax, smin_val, &b))
				d.smin = S64_MIN, d.smax = S64_MAX;
			else
				d.smin = a, d.smax = b;
			if (p.umin < umax_val)
				d.umin = 0, d.umax = U64_MAX;
			else
				d.umin = p.umin - umax_val, d.umax = p.umax - umin_val;
			d.var_off = tnum_sub(p.var_off, off_reg->var_off);
			if (is_pkt(BASE_TYPE(p.type))) {
				d.id = new_id(env);
				if (smin_val < 0)
					d.range = 0;
			}
		}
	}
	if (!check_reg_sane_offset(env, &d, d.type))
		return -EACCES;
	reg_bounds_sync(&d);
	*dst = d;
	return 0;
}

int check_reg_read(struct venv *env, int regno);

static int check_alu_inner(struct venv *env, const struct skep_insn *insn, enum isa_op op)
{
	struct vreg *regs = cur_regs(env);
	const struct isa_opinfo *oi = &isa_ops[op];
	bool alu32 = BPF_CLASS(insn->code) == BPF_ALU;
	uint8_t opcode = BPF_OP(insn->code);
	struct vreg *dst = &regs[insn->dst];
	int err;

	if (oi->kind == K_NEG || oi->kind == K_END) {
		if ((err = check_reg_read(env, insn->dst)))
			return err;
		if (insn->dst == BPF_REG_FP)
			return verr(env, "frame pointer is read only");
		if (dst->type != SCALAR) {
			if (is_pointer_value(env, dst))
				return verr(env, "R%d pointer arithmetic prohibited", insn->dst);
			/* root: the pointer's bits become an unknown number, as the kernel's
			 * check_alu_op marks the destination */
			mark_reg_unknown(dst);
			return 0;
		}
		if (oi->kind == K_NEG) {
			struct vreg zero, d = *dst;
			memset(&zero, 0, sizeof zero);
			zero.type = SCALAR;
			mark_reg_known(&zero, 0);
			/* 0 - dst, as the kernel does since 6.13 */
			adjust_scalar(&zero, d, BPF_SUB, alu32);
			*dst = zero;
			dst->id = 0;
			return 0;
		}
		/* byte swaps and truncations move known bits; the ranges follow from them */
		struct tnum t = dst->var_off;
		int bits = insn->imm;
		bool swap = BPF_CLASS(insn->code) == BPF_ALU64 || BPF_SRC(insn->code) == BPF_TO_BE;
		t = tnum_cast(t, (uint8_t)(bits / 8));
		if (swap) {
			struct tnum s = TNUM(0, 0);
			for (int b = 0; b < bits / 8; b++) {
				s.value |= ((t.value >> (8 * b)) & 0xff) << (bits - 8 - 8 * b);
				s.mask |= ((t.mask >> (8 * b)) & 0xff) << (bits - 8 - 8 * b);
			}
			t = s;
		}
		mark_reg_unknown(dst);
		dst->var_off = t;
		reg_bounds_sync(dst);
		return 0;
	}

	if (oi->kind == K_MOV || oi->kind == K_MOVSX) {
		if (BPF_SRC(insn->code) == BPF_X && (err = check_reg_read(env, insn->src)))
			return err;
		if (insn->dst == BPF_REG_FP)
			return verr(env, "frame pointer is read only");
		if (BPF_SRC(insn->code) == BPF_K) {
			memset(dst, 0, sizeof *dst);
			dst->type = SCALAR;
			mark_reg_known(dst, alu32 ? (uint64_t)(uint32_t)insn->imm : (uint64_t)(int64_t)insn->imm);
			return 0;
		}
		struct vreg *src = &regs[insn->src];
		if (!alu32) {
			if (oi->kind == K_MOV) {
				if (src->type == SCALAR && !src->id && !tnum_is_const(src->var_off))
					src->id = new_id(env);   /* copies share what branches learn */
				*dst = *src;
				return 0;
			}
			if (src->type != SCALAR && !env->allow_ptr_leaks)
				return verr(env, "R%d sign-extension part of pointer", insn->src);
			if (src->type != SCALAR) {
				mark_reg_unknown(dst);
				return 0;
			}
			struct vreg s = *src;
			s.id = 0;
			coerce_reg_to_size_sx(&s, insn->off / 8);
			*dst = s;
			reg_bounds_sync(dst);
			return 0;
		}
		if (src->type != SCALAR) {
			if (!env->allow_ptr_leaks)
				return verr(env, "R%d partial copy of pointer", insn->src);
			mark_reg_unknown(dst);
			zext_32_to_64(dst);
			reg_bounds_sync(dst);
			return 0;
		}
		struct vreg s = *src;
		s.id = 0;
		if (oi->kind == K_MOVSX)
			coerce_subreg_to_size_sx(&s, insn->off / 8);
		*dst = s;
		zext_32_to_64(dst);
		reg_bounds_sync(dst);
		return 0;
	}

	/* dst op= src / imm */
	if ((err = check_reg_read(env, insn->dst)))
		return err;
	if (BPF_SRC(insn->code) == BPF_X && (err = check_reg_read(env, insn->src)))
		return err;
	if (insn->dst == BPF_REG_FP)
		return verr(env, "frame pointer is read only");
	if (BPF_SRC(insn->code) == BPF_K) {
		if ((opcode == BPF_DIV || opcode == BPF_MOD) && insn->imm == 0)
			return verr_code(env, -EINVAL, "div by zero");
		if ((opcode == BPF_LSH || opcode == BPF_RSH || opcode == BPF_ARSH) &&
		    (insn->imm < 0 || insn->imm >= (alu32 ? 32 : 64)))
			return verr_code(env, -EINVAL, "invalid shift %d", insn->imm);
	}
	struct vreg src;
	if (BPF_SRC(insn->code) == BPF_X) {
		src = regs[insn->src];
		if (src.type != SCALAR) {
			if (dst->type != SCALAR) {
				if (opcode == BPF_SUB && env->allow_ptr_leaks) {
					mark_reg_unknown(dst);
					return 0;
				}
				return verr(env, "R%d pointer %s= pointer prohibited", insn->dst,
					    alu_str[opcode >> 4]);
			}
			/* scalar += pointer */
			struct vreg ptr = src, off = *dst;
			/* 32-bit: adjust_ptr's rule first (root: a meaningless number), as the
			 * kernel's adjust_ptr_min_max_vals */
			if (opcode == BPF_SUB && BPF_CLASS(insn->code) == BPF_ALU64)
				return verr(env, "R%d tried to subtract pointer from scalar", insn->dst);
			/* the offset's value decides where the pointer points */
			if ((err = mark_chain_precision(env, insn->dst)))
				return err;
			return adjust_ptr(env, insn, &ptr, &off);
		}
	} else {
		memset(&src, 0, sizeof src);
		src.type = SCALAR;
		mark_reg_known(&src, (uint64_t)(int64_t)insn->imm);
	}
	if (dst->type != SCALAR) {
		struct vreg ptr = *dst;
		if (BPF_SRC(insn->code) == BPF_X && (err = mark_chain_precision(env, insn->src)))
			return err;
		return adjust_ptr(env, insn, &ptr, &src);
	}
	dst->id = 0;
	adjust_scalar(dst, src, opcode, alu32);
	return 0;
}

int check_alu_op(struct venv *env, const struct skep_insn *insn, enum isa_op op)
{
	return check_alu_inner(env, insn, op);
}
