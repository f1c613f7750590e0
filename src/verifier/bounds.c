/* The scalar domain: a tnum plus signed and unsigned 64- and 32-bit ranges, kept
 * consistent by deducing each from the others (the kernel's reg_bounds_sync), and the
 * casts loads and movsx perform. */
#include <string.h>

#include "verifier.h"


void mark_reg_known(struct vreg *r, uint64_t imm)
{
	r->var_off = tnum_const(imm);
	r->smin = r->smax = (int64_t)imm;
	r->umin = r->umax = imm;
	r->s32_min = r->s32_max = (int32_t)imm;
	r->u32_min = r->u32_max = (uint32_t)imm;
}

void mark_reg32_known(struct vreg *r, uint64_t imm)
{
	r->var_off = tnum_const_subreg(r->var_off, (uint32_t)imm);
	r->s32_min = r->s32_max = (int32_t)imm;
	r->u32_min = r->u32_max = (uint32_t)imm;
}

void mark_reg64_unbounded(struct vreg *r)
{
	r->smin = S64_MIN, r->smax = S64_MAX;
	r->umin = 0, r->umax = U64_MAX;
}

void mark_reg32_unbounded(struct vreg *r)
{
	r->s32_min = S32_MIN, r->s32_max = S32_MAX;
	r->u32_min = 0, r->u32_max = U32_MAX;
}

void mark_reg_unbounded(struct vreg *r)
{
	mark_reg64_unbounded(r);
	mark_reg32_unbounded(r);
}

void mark_reg_unknown(struct vreg *r)
{
	memset(r, 0, sizeof *r);
	r->type = SCALAR;
	r->var_off = tnum_unknown;
	mark_reg_unbounded(r);
}

void mark_reg_not_init(struct vreg *r)
{
	mark_reg_unknown(r);
	r->type = NOT_INIT;
}

/* Pointer with no offset (type kept): everything but the type zeroed. */
void mark_reg_known_zero(struct vreg *r)
{
	uint16_t t = r->type;
	memset(r, 0, sizeof *r);
	r->type = t;
	mark_reg_known(r, 0);
}

void mark_reg_const_zero(struct vreg *r)
{
	memset(r, 0, sizeof *r);
	r->type = SCALAR;
	mark_reg_known(r, 0);
}

static void update_reg32_bounds(struct vreg *r)
{
	struct tnum v = tnum_subreg(r->var_off);
	r->s32_min = MAX(r->s32_min, (int32_t)(v.value | (v.mask & (1ULL << 31))));
	r->s32_max = MIN(r->s32_max, (int32_t)(v.value | (v.mask & S32_MAX)));
	r->u32_min = MAX(r->u32_min, (uint32_t)v.value);
	r->u32_max = MIN(r->u32_max, (uint32_t)(v.value | v.mask));
}

static void update_reg64_bounds(struct vreg *r)
{
	struct tnum v = r->var_off;
	r->smin = MAX(r->smin, (int64_t)(v.value | (v.mask & (1ULL << 63))));
	r->smax = MIN(r->smax, (int64_t)(v.value | (v.mask & S64_MAX)));
	r->umin = MAX(r->umin, v.value);
	r->umax = MIN(r->umax, v.value | v.mask);
}

void update_reg_bounds(struct vreg *r)
{
	update_reg32_bounds(r);
	update_reg64_bounds(r);
}

static void reg32_deduce_bounds(struct vreg *r)
{
	/* upper 32 bits fixed across the 64-bit range: the low halves range likewise */
	if ((r->umin >> 32) == (r->umax >> 32)) {
		r->u32_min = MAX(r->u32_min, (uint32_t)r->umin);
		r->u32_max = MIN(r->u32_max, (uint32_t)r->umax);
		if ((int32_t)r->umin <= (int32_t)r->umax) {
			r->s32_min = MAX(r->s32_min, (int32_t)r->umin);
			r->s32_max = MIN(r->s32_max, (int32_t)r->umax);
		}
	}
	if ((r->smin >> 32) == (r->smax >> 32)) {
		r->u32_min = MAX(r->u32_min, (uint32_t)r->smin);
		r->u32_max = MIN(r->u32_max, (uint32_t)r->smax);
		if ((int32_t)r->smin <= (int32_t)r->smax) {
			r->s32_min = MAX(r->s32_min, (int32_t)r->smin);
			r->s32_max = MIN(r->s32_max, (int32_t)r->smax);
		}
	}
	/* upper halves differ by one and the low halves cross from negative to positive:
	 * the low halves form a contiguous signed range */
	if ((uint32_t)(r->umin >> 32) + 1 == (uint32_t)(r->umax >> 32) &&
	    (int32_t)r->umin < 0 && (int32_t)r->umax >= 0) {
		r->s32_min = MAX(r->s32_min, (int32_t)r->umin);
		r->s32_max = MIN(r->s32_max, (int32_t)r->umax);
	}
	if ((uint32_t)((uint64_t)r->smin >> 32) + 1 == (uint32_t)((uint64_t)r->smax >> 32) &&
	    (int32_t)r->smin < 0 && (int32_t)r->smax >= 0) {
		r->s32_min = MAX(r->s32_min, (int32_t)r->smin);
		r->s32_max = MIN(r->s32_max, (int32_t)r->smax);
	}
	if ((int32_t)r->u32_min <= (int32_t)r->u32_max) {
		r->s32_min = MAX(r->s32_min, (int32_t)r->u32_min);
		r->s32_max = MIN(r->s32_max, (int32_t)r->u32_max);
	}
	if ((uint32_t)r->s32_min <= (uint32_t)r->s32_max) {
		r->u32_min = MAX(r->u32_min, (uint32_t)r->s32_min);
		r->u32_max = MIN(r->u32_max, (uint32_t)r->s32_max);
	}
}

static void reg64_deduce_bounds(struct vreg *r)
{
	if ((int64_t)r->umin <= (int64_t)r->umax) {
		r->smin = MAX(r->smin, (int64_t)r->umin);
		r->smax = MIN(r->smax, (int64_t)r->umax);
	}
	if ((uint64_t)r->smin <= (uint64_t)r->smax) {
		r->umin = MAX(r->umin, (uint64_t)r->smin);
		r->umax = MIN(r->umax, (uint64_t)r->smax);
	} else {
		/* the signed range crosses the sign boundary: the unsigned one may cut a side */
		if (r->umax < (uint64_t)r->smin) {
			/* only the non-negative part [0, smax] meets the unsigned range */
			r->smin = (int64_t)r->umin;
			r->umax = MIN(r->umax, (uint64_t)r->smax);
		} else if ((uint64_t)r->smax < r->umin) {
			/* only the negative part [smin, -1] does */
			r->smax = (int64_t)r->umax;
			r->umin = MAX(r->umin, (uint64_t)r->smin);
		}
	}
}

static void reg_deduce_mixed_bounds(struct vreg *r)
{
	uint64_t nu_min = (r->umin & ~0xffffffffULL) | r->u32_min;
	uint64_t nu_max = (r->umax & ~0xffffffffULL) | r->u32_max;
	r->umin = MAX(r->umin, nu_min);
	r->umax = MIN(r->umax, nu_max);
	int64_t ns_min = (int64_t)(((uint64_t)r->smin & ~0xffffffffULL) | r->u32_min);
	int64_t ns_max = (int64_t)(((uint64_t)r->smax & ~0xffffffffULL) | r->u32_max);
	r->smin = MAX(r->smin, ns_min);
	r->smax = MIN(r->smax, ns_max);
	/* a sign-extended 32-bit value whose low half is non-negative is that low half */
	if (r->s32_min >= 0 && r->smin >= S32_MIN && r->smax <= S32_MAX) {
		r->smin = r->s32_min;
		r->smax = r->s32_max;
		r->umin = (uint64_t)r->s32_min;
		r->umax = (uint64_t)r->s32_max;
		r->var_off = tnum_intersect(r->var_off, tnum_range((uint64_t)r->smin, (uint64_t)r->smax));
	}
}

static void reg_deduce_bounds(struct vreg *r)
{
	reg32_deduce_bounds(r);
	reg64_deduce_bounds(r);
	reg_deduce_mixed_bounds(r);
}

/* Known bits from the ranges. */
static void reg_bound_offset(struct vreg *r)
{
	struct tnum v64 = tnum_intersect(r->var_off, tnum_range(r->umin, r->umax));
	struct tnum v32 = tnum_intersect(tnum_subreg(v64), tnum_range(r->u32_min, r->u32_max));
	r->var_off = tnum_or(tnum_clear_subreg(v64), v32);
}

void reg_bounds_sync(struct vreg *r)
{
	update_reg_bounds(r);
	reg_deduce_bounds(r);
	reg_deduce_bounds(r);
	reg_bound_offset(r);
	update_reg_bounds(r);
}

/* Consistent: some value satisfies every component (else the path is impossible). */
bool reg_bounds_sane(const struct vreg *r)
{
	if (r->umin > r->umax || r->smin > r->smax || r->u32_min > r->u32_max ||
	    r->s32_min > r->s32_max)
		return false;
	if (r->var_off.value & r->var_off.mask)
		return false;
	if (r->umin > (r->var_off.value | r->var_off.mask) || r->umax < r->var_off.value)
		return false;
	if (tnum_is_const(r->var_off)) {
		uint64_t v = r->var_off.value;
		if (v < r->umin || v > r->umax || (int64_t)v < r->smin || (int64_t)v > r->smax ||
		    (uint32_t)v < r->u32_min || (uint32_t)v > r->u32_max ||
		    (int32_t)v < r->s32_min || (int32_t)v > r->s32_max)
			return false;
	}
	return true;
}

static bool reg32_bound_s64(int32_t a) { return a >= 0; }

static void reg_assign_32_into_64(struct vreg *r)
{
	r->umin = r->u32_min;
	r->umax = r->u32_max;
	if (reg32_bound_s64(r->s32_min) && reg32_bound_s64(r->s32_max)) {
		r->smin = r->s32_min;
		r->smax = r->s32_max;
	} else {
		r->smin = 0;
		r->smax = U32_MAX;
	}
}

void zext_32_to_64(struct vreg *r)
{
	r->var_off = tnum_subreg(r->var_off);
	reg_assign_32_into_64(r);
}

/* Truncation to size bytes (a narrow load, or le16/le32). */
void coerce_reg_to_size(struct vreg *r, int size)
{
	r->var_off = tnum_cast(r->var_off, (uint8_t)size);
	uint64_t mask = size >= 8 ? U64_MAX : (1ULL << (size * 8)) - 1;
	if ((r->umin & ~mask) == (r->umax & ~mask)) {
		r->umin &= mask;
		r->umax &= mask;
	} else {
		r->umin = 0;
		r->umax = mask;
	}
	r->smin = (int64_t)r->umin;
	r->smax = (int64_t)r->umax;
	if (size < 4)
		mark_reg32_unbounded(r);
	else if (size == 4) {
		/* the subregister ranges already describe the low half */
	}
	reg_bounds_sync(r);
}

static int64_t sext(uint64_t v, int size)
{
	switch (size) {
	case 1: return (int8_t)v;
	case 2: return (int16_t)v;
	case 4: return (int32_t)v;
	default: return (int64_t)v;
	}
}

static void set_sext64_default(struct vreg *r, int size)
{
	int64_t lo = -(1LL << (size * 8 - 1)), hi = (1LL << (size * 8 - 1)) - 1;
	r->smin = lo, r->smax = hi;
	r->s32_min = (int32_t)lo, r->s32_max = (int32_t)hi;
	r->umin = 0, r->umax = U64_MAX;
	r->u32_min = 0, r->u32_max = U32_MAX;
	r->var_off = tnum_unknown;
}

/* Sign extension from size bytes to 64 bits (ldsx, movsx). */
void coerce_reg_to_size_sx(struct vreg *r, int size)
{
	if (tnum_is_const(r->var_off)) {
		mark_reg_known(r, (uint64_t)sext(r->var_off.value, size));
		return;
	}
	int bits = size * 8;
	uint64_t top_max = ((uint64_t)r->smax >> bits) << bits;
	uint64_t top_min = ((uint64_t)r->smin >> bits) << bits;
	if (top_max == top_min) {
		int64_t a = sext((uint64_t)r->smax, size), b = sext((uint64_t)r->smin, size);
		int64_t hi = MAX(a, b), lo = MIN(a, b);
		if ((hi >= 0) == (lo >= 0)) {
			r->smin = lo, r->smax = hi;
			r->s32_min = (int32_t)lo, r->s32_max = (int32_t)hi;
			r->umin = (uint64_t)lo, r->umax = (uint64_t)hi;
			r->u32_min = (uint32_t)lo, r->u32_max = (uint32_t)hi;
			r->var_off = tnum_range((uint64_t)lo, (uint64_t)hi);
			return;
		}
	}
	set_sext64_default(r, size);
}

/* Sign extension from size bytes to 32 bits (movsx on w registers), before zext. */
void coerce_subreg_to_size_sx(struct vreg *r, int size)
{
	if (tnum_subreg_is_const(r->var_off)) {
		uint32_t v = (uint32_t)sext(r->var_off.value, size);
		r->var_off = tnum_const(v);
		r->s32_min = r->s32_max = (int32_t)v;
		r->u32_min = r->u32_max = v;
		return;
	}
	int bits = size * 8;
	uint32_t top_max = ((uint32_t)r->s32_max >> bits) << bits;
	uint32_t top_min = ((uint32_t)r->s32_min >> bits) << bits;
	if (top_max == top_min) {
		int32_t a = (int32_t)sext((uint32_t)r->s32_max, size);
		int32_t b = (int32_t)sext((uint32_t)r->s32_min, size);
		int32_t hi = MAX(a, b), lo = MIN(a, b);
		if ((hi >= 0) == (lo >= 0)) {
			r->s32_min = lo, r->s32_max = hi;
			r->u32_min = (uint32_t)lo, r->u32_max = (uint32_t)hi;
			r->var_off = tnum_subreg(tnum_range((uint32_t)lo, (uint32_t)hi));
			return;
		}
	}
	int32_t lo = -(1 << (bits - 1)), hi = (1 << (bits - 1)) - 1;
	r->s32_min = lo, r->s32_max = hi;
	r->u32_min = 0, r->u32_max = U32_MAX;
	r->var_off = tnum_subreg(tnum_unknown);
}
