/* Tristate numbers, as the kernel's kernel/bpf/tnum.c: value holds the known bits,
 * mask the unknown ones (a bit is never set in both). */
#include <stdio.h>

#include "verifier.h"

const struct tnum tnum_unknown = {0, ~0ULL};

struct tnum tnum_const(uint64_t v) { return TNUM(v, 0); }

/* The smallest tnum holding every value of [min, max]. */
struct tnum tnum_range(uint64_t min, uint64_t max)
{
	uint64_t chi = min ^ max;
	int bits = chi ? 64 - __builtin_clzll(chi) : 0;
	if (bits > 63)
		return tnum_unknown;
	uint64_t delta = (1ULL << bits) - 1;
	return TNUM(min & ~delta, delta);
}

struct tnum tnum_lshift(struct tnum a, uint8_t s) { return TNUM(a.value << s, a.mask << s); }
struct tnum tnum_rshift(struct tnum a, uint8_t s) { return TNUM(a.value >> s, a.mask >> s); }

struct tnum tnum_arshift(struct tnum a, uint8_t s, uint8_t bits)
{
	/* the sign bit may be unknown: shifting the mask arithmetically spreads it */
	if (bits == 32)
		return TNUM((uint32_t)((int32_t)a.value >> s), (uint32_t)((int32_t)a.mask >> s));
	return TNUM((uint64_t)((int64_t)a.value >> s), (uint64_t)((int64_t)a.mask >> s));
}

struct tnum tnum_add(struct tnum a, struct tnum b)
{
	uint64_t sm = a.mask + b.mask, sv = a.value + b.value, sigma = sm + sv;
	uint64_t chi = sigma ^ sv, mu = chi | a.mask | b.mask;
	return TNUM(sv & ~mu, mu);
}

struct tnum tnum_sub(struct tnum a, struct tnum b)
{
	uint64_t dv = a.value - b.value, alpha = dv + a.mask, beta = dv - b.mask;
	uint64_t chi = alpha ^ beta, mu = chi | a.mask | b.mask;
	return TNUM(dv & ~mu, mu);
}

struct tnum tnum_neg(struct tnum a) { return tnum_sub(TNUM(0, 0), a); }

struct tnum tnum_and(struct tnum a, struct tnum b)
{
	uint64_t alpha = a.value | a.mask, beta = b.value | b.mask, v = a.value & b.value;
	return TNUM(v, alpha & beta & ~v);
}

struct tnum tnum_or(struct tnum a, struct tnum b)
{
	uint64_t v = a.value | b.value, mu = a.mask | b.mask;
	return TNUM(v, mu & ~v);
}

struct tnum tnum_xor(struct tnum a, struct tnum b)
{
	uint64_t v = a.value ^ b.value, mu = a.mask | b.mask;
	return TNUM(v & ~mu, mu);
}

/* Shift-and-add over a's bits: known ones add b, unknown ones add b's possible bits. */
struct tnum tnum_mul(struct tnum a, struct tnum b)
{
	uint64_t acc_v = a.value * b.value;
	struct tnum acc_m = TNUM(0, 0);
	while (a.value || a.mask) {
		if (a.value & 1)
			acc_m = tnum_add(acc_m, TNUM(0, b.mask));
		else if (a.mask & 1)
			acc_m = tnum_add(acc_m, TNUM(0, b.value | b.mask));
		a = tnum_rshift(a, 1);
		b = tnum_lshift(b, 1);
	}
	return tnum_add(TNUM(acc_v, 0), acc_m);
}

/* Values in both a and b (the caller knows they overlap). */
struct tnum tnum_intersect(struct tnum a, struct tnum b)
{
	uint64_t v = a.value | b.value, mu = a.mask & b.mask;
	return TNUM(v & ~mu, mu);
}

/* Values in a or b. */
struct tnum tnum_union(struct tnum a, struct tnum b)
{
	uint64_t mu = (a.value ^ b.value) | a.mask | b.mask;
	return TNUM(a.value & ~mu, mu);
}

struct tnum tnum_cast(struct tnum a, uint8_t size)
{
	if (size >= 8)
		return a;
	uint64_t m = (1ULL << (size * 8)) - 1;
	return TNUM(a.value & m, a.mask & m);
}

bool tnum_is_aligned(struct tnum a, uint64_t size)
{
	return !size || !((a.value | a.mask) & (size - 1));
}

/* Is every value of b also a value of a? */
bool tnum_in(struct tnum a, struct tnum b)
{
	if (b.mask & ~a.mask)
		return false;
	return a.value == (b.value & ~a.mask);
}

/* Can a and b hold the same value? */
bool tnum_overlap(struct tnum a, struct tnum b)
{
	uint64_t mu = ~a.mask & ~b.mask;
	return !((a.value ^ b.value) & mu);
}

struct tnum tnum_subreg(struct tnum a) { return tnum_cast(a, 4); }
struct tnum tnum_clear_subreg(struct tnum a) { return tnum_lshift(tnum_rshift(a, 32), 32); }
struct tnum tnum_with_subreg(struct tnum reg, struct tnum subreg)
{
	return tnum_or(tnum_clear_subreg(reg), tnum_subreg(subreg));
}
struct tnum tnum_const_subreg(struct tnum a, uint32_t v) { return tnum_with_subreg(a, tnum_const(v)); }

int tnum_str(char *buf, size_t size, struct tnum a)
{
	return snprintf(buf, size, "(0x%llx; 0x%llx)", (unsigned long long)a.value,
			(unsigned long long)a.mask);
}
