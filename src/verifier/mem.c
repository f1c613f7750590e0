/* Memory accesses: loads, stores and atomics checked per pointer type — the stack
 * (slots tracked per byte: spilled register, data, zero, uninitialised; spill and fill
 * keep a scalar's bounds), the context (the program type's descriptor), map values and
 * keys, packets (the range proven by comparisons with the end), helper memory — and
 * memory arguments of helpers. */
#include <errno.h>
#include <string.h>

#include "verifier.h"

#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define MIN(a, b) ((a) < (b) ? (a) : (b))

bool is_pointer_value(struct venv *env, const struct vreg *r)
{
	return !env->allow_ptr_leaks && r->type != SCALAR && r->type != NOT_INIT;
}

static const char *access_str(int t) { return t == BPF_WRITE ? " write to" : " read from"; }

/* ---- the stack ---- */

static struct vframe *stack_frame(struct venv *env, const struct vreg *reg)
{
	return env->cur->frame[reg->frameno];
}

static void note_stack_depth(struct venv *env, const struct vframe *f, int64_t lowest)
{
	struct subprog *sp = &env->subprogs[f->subprog];
	if (-lowest > sp->stack_depth)
		sp->stack_depth = (int)-lowest;
}

static int check_stack_bounds(struct venv *env, int regno, const struct vreg *reg, int off,
			      int size, const char *what, int64_t *min_off, int64_t *max_off)
{
	int64_t lo, hi;
	if (tnum_is_const(reg->var_off)) {
		lo = (int64_t)reg->var_off.value + reg->off + off;
		hi = lo + size;
	} else {
		if (reg->smax >= BPF_MAX_VAR_OFF || reg->smin <= -BPF_MAX_VAR_OFF) {
			return verr(env, "invalid unbounded variable-offset%s stack R%d", what, regno);
		}
		lo = reg->smin + reg->off + off;
		hi = reg->smax + reg->off + off + size;
	}
	if (lo < -MAX_BPF_STACK || hi > 0 || size < 0 || (size == 0 && lo >= 0)) {
		if (tnum_is_const(reg->var_off))
			return verr(env, "invalid%s stack R%d off=%lld size=%d", what, regno,
				    (long long)((int64_t)reg->var_off.value + reg->off + off), size);
		char tn[48];
		tnum_str(tn, sizeof tn, reg->var_off);
		return verr(env, "invalid variable-offset%s stack R%d var_off=%s off=%d size=%d", what,
			    regno, tn, reg->off + off, size);
	}
	*min_off = lo;
	*max_off = hi;
	return 0;
}

static uint8_t *byte_type(struct vframe *f, int64_t a)
{
	int64_t slot = -a - 1;
	return &f->stack[slot / BPF_REG_SIZE].type[slot % BPF_REG_SIZE];
}

static int ensure_slots(struct vframe *f, int64_t lowest)
{
	int need = (int)((-lowest + BPF_REG_SIZE - 1) / BPF_REG_SIZE);
	return grow_stack(f, need);
}

/* A slot stops being a spill (its bytes become data). */
static void scrub_slot(struct vslot *s)
{
	if (s->type[BPF_REG_SIZE - 1] != STACK_SPILL && s->spilled.type == NOT_INIT)
		return;
	for (int i = 0; i < BPF_REG_SIZE; i++)
		if (s->type[i] == STACK_SPILL)
			s->type[i] = STACK_MISC;
	mark_reg_not_init(&s->spilled);
}

static void save_register_state(struct vslot *s, const struct vreg *reg, int size)
{
	s->spilled = *reg;
	int i;
	for (i = BPF_REG_SIZE; i > BPF_REG_SIZE - size; i--)
		s->type[i - 1] = STACK_SPILL;
	for (; i; i--)
		if (s->type[i - 1] == STACK_SPILL)
			s->type[i - 1] = STACK_MISC;
}

static int stack_write_fixed(struct venv *env, struct vframe *f, int64_t a, int size,
			     int value_regno, const struct skep_insn *insn)
{
	struct vslot *s = &f->stack[(-a - 1) / BPF_REG_SIZE];
	const struct vreg *reg = value_regno >= 0 ? &cur_regs(env)[value_regno] : NULL;
	bool aligned8 = !(a % BPF_REG_SIZE);
	int spi = (int)((-a - 1) / BPF_REG_SIZE), err;
	if (reg && aligned8 && reg->type == SCALAR) {
		if ((err = hist_note_stack(env, f->frameno, spi)))
			return err;
		save_register_state(s, reg, size);
		/* a narrowing spill keeps the bounds but not the link to copies */
		if (size < 8 && (reg->umax >> (size * 8)))
			s->spilled.id = 0;
	} else if (!reg && aligned8 && BPF_CLASS(insn->code) == BPF_ST) {
		struct vreg k;
		memset(&k, 0, sizeof k);
		k.type = SCALAR;
		mark_reg_known(&k, (uint64_t)(int64_t)insn->imm);
		if ((err = hist_note_stack(env, f->frameno, spi)))
			return err;
		save_register_state(s, &k, size);
	} else if (reg && reg->type != SCALAR) {
		if (size != BPF_REG_SIZE)
			return verr(env, "invalid size of register spill");
		if (f != cur_frame(env) && BASE_TYPE(reg->type) == PTR_TO_STACK)
			return verr_code(env, -EINVAL,
					 "cannot spill pointers to stack into stack frame of the caller");
		save_register_state(s, reg, size);
	} else {
		if (!env->allow_ptr_leaks && s->type[BPF_REG_SIZE - 1] == STACK_SPILL &&
		    s->spilled.type != SCALAR)
			return verr(env, "attempt to corrupt spilled pointer on stack");
		scrub_slot(s);
		uint8_t t = STACK_MISC;
		if ((reg && reg_is_null(reg)) || (!reg && insn->imm == 0))
			t = STACK_ZERO;
		/* zero bytes are no spill that backtracking follows: the zero must stay zero */
		if (t == STACK_ZERO && reg && (err = mark_chain_precision(env, value_regno)))
			return err;
		for (int i = 0; i < size; i++)
			*byte_type(f, a + i) = t;
	}
	return 0;
}

static int stack_write_var(struct venv *env, struct vframe *f, int64_t lo, int64_t hi,
			   int value_regno, const struct skep_insn *insn)
{
	const struct vreg *reg = value_regno >= 0 ? &cur_regs(env)[value_regno] : NULL;
	bool zero = (reg && reg_is_null(reg)) || (!reg && insn->imm == 0);
	int err;
	if (zero && reg && (err = mark_chain_precision(env, value_regno)))
		return err;
	for (int64_t a = lo; a < hi; a++) {
		uint8_t *t = byte_type(f, a);
		if (*t == STACK_INVALID && !env->allow_uninit_stack)
			return verr_code(env, -EINVAL,
					 "uninit stack in range of var-offset write prohibited for !root; insn %d, off: %lld",
					 env->cur->insn_idx, (long long)a);
	}
	for (int64_t a = lo; a < hi; a++) {
		scrub_slot(&f->stack[(-a - 1) / BPF_REG_SIZE]);
		uint8_t *t = byte_type(f, a);
		*t = zero && *t == STACK_ZERO ? STACK_ZERO : STACK_MISC;
	}
	return 0;
}

static bool byte_readable(struct venv *env, const struct vslot *s, uint8_t t)
{
	if (t == STACK_MISC || t == STACK_ZERO)
		return true;
	if (t == STACK_SPILL)
		return s->spilled.type == SCALAR || env->allow_ptr_leaks;
	return env->allow_uninit_stack;
}

static void mark_read_result(struct vreg *dst, bool all_zero)
{
	if (all_zero)
		mark_reg_const_zero(dst);
	else
		mark_reg_unknown(dst);
}

static int stack_read_fixed(struct venv *env, struct vframe *f, int64_t a, int size, int dst_regno)
{
	struct vslot *s = &f->stack[(-a - 1) / BPF_REG_SIZE];
	struct vreg *dst = dst_regno >= 0 ? &cur_regs(env)[dst_regno] : NULL;
	if (s->type[BPF_REG_SIZE - 1] == STACK_SPILL) {
		int err;
		/* a fill: the loaded value is the spilled register's, backtracking follows it */
		if (dst && (err = hist_note_stack(env, f->frameno, (int)((-a - 1) / BPF_REG_SIZE))))
			return err;
		int spill = 1;
		for (int i = BPF_REG_SIZE - 1; i > 0 && s->type[i - 1] == STACK_SPILL; i--)
			spill++;
		if (size != BPF_REG_SIZE || spill != BPF_REG_SIZE) {
			if (s->spilled.type != SCALAR)
				return verr(env, "invalid size of register fill");
			if (!dst)
				return 0;
			if (size <= spill && !(a % BPF_REG_SIZE)) {
				*dst = s->spilled;
				if (size < 8 && (dst->umax >> (size * 8)))
					dst->id = 0;
			} else {
				int nspill = 0, nzero = 0;
				for (int i = 0; i < size; i++) {
					uint8_t t = *byte_type(f, a + i);
					if (t == STACK_SPILL) nspill++;
					else if (t == STACK_ZERO) nzero++;
					else if (t != STACK_MISC && !env->allow_uninit_stack)
						return verr(env, "invalid read from stack off %lld+%d size %d",
							    (long long)a, i, size);
				}
				mark_read_result(dst, (nspill == size && reg_is_null(&s->spilled)) ||
						 nzero == size);
			}
			return 0;
		}
		if (dst)
			*dst = s->spilled;
		else if (is_pointer_value(env, &s->spilled))
			return verr(env, "leaking pointer from stack off %lld", (long long)a);
		return 0;
	}
	int nzero = 0;
	for (int i = 0; i < size; i++) {
		uint8_t t = *byte_type(f, a + i);
		if (t == STACK_ZERO)
			nzero++;
		else if (t != STACK_MISC && !(t == STACK_INVALID && env->allow_uninit_stack))
			return verr(env, "invalid read from stack off %lld+%d size %d", (long long)a, i, size);
	}
	if (dst)
		mark_read_result(dst, nzero == size);
	return 0;
}

/* Every byte of [lo, hi) initialised (helper arguments, variable-offset reads). */
static int stack_range_init(struct venv *env, struct vframe *f, int regno, int64_t lo, int64_t hi,
			    bool *all_zero)
{
	int nzero = 0;
	for (int64_t a = lo; a < hi; a++) {
		int64_t spi = (-a - 1) / BPF_REG_SIZE;
		if (spi >= f->nslots)
			goto bad;
		const struct vslot *s = &f->stack[spi];
		uint8_t t = *byte_type(f, a);
		if (t == STACK_SPILL && s->type[BPF_REG_SIZE - 1] != STACK_SPILL)
			t = STACK_MISC;
		if (t == STACK_ZERO || (t == STACK_SPILL && reg_is_null(&s->spilled)))
			nzero++;
		if (!byte_readable(env, s, t))
			goto bad;
		continue;
bad:
		return verr(env, "invalid read from stack R%d off %lld+%lld size %lld", regno,
			    (long long)lo, (long long)(a - lo), (long long)(hi - lo));
	}
	if (all_zero)
		*all_zero = nzero == hi - lo;
	return 0;
}

static int check_stack_access(struct venv *env, int regno, int off, int size, int t, int value_regno,
			      const struct skep_insn *insn)
{
	const struct vreg *reg = &cur_regs(env)[regno];
	struct vframe *f = stack_frame(env, reg);
	int64_t lo, hi;
	int err = check_stack_bounds(env, regno, reg, off, size, access_str(t), &lo, &hi);
	if (err)
		return err;
	if ((err = ensure_slots(f, lo)))
		return err;
	note_stack_depth(env, f, lo);
	if (t == BPF_WRITE) {
		if (tnum_is_const(reg->var_off))
			return stack_write_fixed(env, f, lo, size, value_regno, insn);
		return stack_write_var(env, f, lo, hi, value_regno, insn);
	}
	if (tnum_is_const(reg->var_off))
		return stack_read_fixed(env, f, lo, size, value_regno);
	bool zero;
	if ((err = stack_range_init(env, f, regno, lo, hi, &zero)))
		return err;
	if (value_regno >= 0)
		mark_read_result(&cur_regs(env)[value_regno], zero);
	return 0;
}

/* ---- regions with a size: map values and keys, helper memory ---- */

static int region_error(struct venv *env, int regno, const struct vreg *reg, int64_t off, int size,
			uint64_t mem_size)
{
	switch (BASE_TYPE(reg->type)) {
	case PTR_TO_MAP_VALUE:
		return verr(env, "invalid access to map value, value_size=%llu off=%lld size=%d",
			    (unsigned long long)mem_size, (long long)off, size);
	case PTR_TO_MAP_KEY:
		return verr(env, "invalid access to map key, key_size=%llu off=%lld size=%d",
			    (unsigned long long)mem_size, (long long)off, size);
	case PTR_TO_PACKET:
	case PTR_TO_PACKET_META:
		return verr(env, "invalid access to packet, off=%lld size=%d, R%d(id=%u,off=%d,r=%u)",
			    (long long)off, size, regno, reg->id, reg->off, reg->range);
	default:
		return verr(env, "invalid access to memory, mem_size=%llu off=%lld size=%d",
			    (unsigned long long)mem_size, (long long)off, size);
	}
}

static int check_mem_region(struct venv *env, int regno, int off, int size, uint64_t mem_size,
			    bool zero_size_allowed)
{
	const struct vreg *reg = &cur_regs(env)[regno];
	int64_t smin = reg->smin;
	off += reg->off;
	if (smin < 0 && (smin == INT64_MIN || off + smin != (int64_t)(int32_t)(off + smin) ||
			 smin + off < 0))
		return verr(env, "R%d min value is negative, either use unsigned index or 'var &= const'",
			    regno);
	int64_t lo = smin + off;
	if (!(lo >= 0 && (size > 0 || zero_size_allowed) && (uint64_t)lo + (uint64_t)size <= mem_size)) {
		region_error(env, regno, reg, lo, size, mem_size);
		if (!tnum_is_const(reg->var_off))
			return verr(env, "R%d min value is outside of the allowed memory range", regno);
		return -EACCES;
	}
	if (reg->umax >= BPF_MAX_VAR_OFF)
		return verr(env, "R%d unbounded memory access, make sure to bounds check any such access",
			    regno);
	uint64_t hi = reg->umax + (uint64_t)(int64_t)off;
	if ((int64_t)hi < 0 || hi + (uint64_t)size > mem_size) {
		region_error(env, regno, reg, (int64_t)hi, size, mem_size);
		return verr(env, "R%d max value is outside of the allowed memory range", regno);
	}
	return 0;
}

static int check_map_value_access(struct venv *env, int regno, int off, int size, int t)
{
	const struct vreg *reg = &cur_regs(env)[regno];
	const struct vmap *m = reg->map;
	if (t == BPF_WRITE && ((reg->type & MEM_RDONLY) || (m->m.map_flags & MAP_RDONLY_PROG)))
		return verr(env, "write into map forbidden, value_size=%u off=%d size=%d",
			    m->m.value_size, off, size);
	if (t == BPF_READ && (m->m.map_flags & MAP_WRONLY_PROG))
		return verr(env, "read from map forbidden, value_size=%u off=%d size=%d",
			    m->m.value_size, off, size);
	int err = check_mem_region(env, regno, off, size, m->m.value_size, false);
	if (err)
		return err;
	if (m->m.spin_lock_off >= 0) {
		int64_t lo = reg->smin + reg->off + off, hi = (int64_t)reg->umax + reg->off + off + size;
		if (lo < m->m.spin_lock_off + 4 && hi > m->m.spin_lock_off)
			return verr(env, "bpf_spin_lock cannot be accessed directly by load/store");
	}
	return 0;
}

static int check_packet_access(struct venv *env, int regno, int off, int size, bool zero_size_allowed)
{
	const struct vreg *reg = &cur_regs(env)[regno];
	if (reg->smin < 0)
		return verr(env, "R%d min value is negative, either use unsigned index or do a if (index >=0) check.",
			    regno);
	int64_t o = (int64_t)off + reg->off;
	if ((int32_t)reg->range < 0 || !(o >= 0 && (size > 0 || zero_size_allowed) && (uint64_t)o + (uint64_t)size <= reg->range)) {
		region_error(env, regno, reg, o, size, reg->range);
		return verr(env, "R%d offset is outside of the packet", regno);
	}
	return 0;
}

static bool may_access_pkt(struct venv *env, int t)
{
	if (!env->ctx || !env->ctx->has_pkt)
		return false;
	if (t == BPF_WRITE)
		return env->prog_type == 6 || env->prog_type == 3 || env->prog_type == 4;
	return true;
}

static int check_ctx_access(struct venv *env, int regno, int off, int size, int t, int value_regno,
			    bool is_ldsx)
{
	const struct vreg *reg = &cur_regs(env)[regno];
	if (reg->off)
		return verr(env, "dereference of modified ctx ptr R%d off=%d disallowed", regno, reg->off);
	if (!tnum_is_const(reg->var_off) || reg->var_off.value) {
		char tn[48];
		tnum_str(tn, sizeof tn, reg->var_off);
		return verr(env, "variable ctx access var_off=%s off=%d size=%d", tn, off, size);
	}
	int kind, fsize;
	/* a sign-extending load of a field that gives a pointer is refused (the kernel's
	 * is_valid_access functions refuse is_ldsx there) */
	if (!env->ctx || ctx_access_ok(env->ctx, off, size, t, &kind, &fsize, env->attach_type) < 0 ||
	    (is_ldsx && kind != CF_SCALAR))
		return verr(env, "invalid bpf_context access off=%d size=%d", off, size);
	if (t == BPF_WRITE || value_regno < 0)
		return 0;
	struct vreg *dst = &cur_regs(env)[value_regno];
	switch (kind) {
	case CF_PKT: case CF_PKT_END: case CF_PKT_META:
		mark_reg_unknown(dst);
		dst->type = kind == CF_PKT ? PTR_TO_PACKET : kind == CF_PKT_END ? PTR_TO_PACKET_END
						       : PTR_TO_PACKET_META;
		mark_reg_known_zero(dst);
		break;
	case CF_PTR_FLOW_KEYS:
		mark_reg_unknown(dst);
		dst->type = PTR_TO_FLOW_KEYS;
		mark_reg_known_zero(dst);
		break;
	case CF_PTR_SOCK_NN:
		mark_reg_unknown(dst);
		dst->type = PTR_TO_SOCKET;
		mark_reg_known_zero(dst);
		break;
	case CF_PTR_SOCK:
	case CF_PTR_SOCK_COMMON:
		mark_reg_unknown(dst);
		dst->type = PTR_TO_SOCKET | PTR_MAYBE_NULL;
		mark_reg_known_zero(dst);
		dst->id = new_id(env);
		dst->range = kind == CF_PTR_SOCK_COMMON;
		break;
	default:
		mark_reg_unknown(dst);
		break;
	}
	return 0;
}

static const char *reg_name_for_err(const struct vreg *r) { return reg_type_str(r->type); }

static int check_alignment(struct venv *env, const struct vreg *reg, int off, int size, bool strict)
{
	const char *desc = "";
	switch (BASE_TYPE(reg->type)) {
	case PTR_TO_STACK:
		desc = "stack ";
		strict = true;   /* spill tracking relies on aligned stack accesses */
		break;
	case PTR_TO_MAP_VALUE: desc = "value "; break;
	case PTR_TO_MAP_KEY: desc = "key "; break;
	case PTR_TO_CTX: desc = "context "; break;
	case PTR_TO_PACKET: case PTR_TO_PACKET_META: desc = "packet "; break;
	default: break;
	}
	if (!strict || size == 1)
		return 0;
	int ip_align = (BASE_TYPE(reg->type) == PTR_TO_PACKET || BASE_TYPE(reg->type) == PTR_TO_PACKET_META) ? 2 : 0;
	struct tnum r = tnum_add(reg->var_off, tnum_const((uint64_t)(int64_t)(ip_align + reg->off + off)));
	if (!tnum_is_aligned(r, (uint64_t)size)) {
		char tn[48];
		tnum_str(tn, sizeof tn, reg->var_off);
		return verr(env, "misaligned %saccess off %s+%d+%d size %d", desc, tn, ip_align + reg->off,
			    off, size);
	}
	return 0;
}

/* struct bpf_sock through a socket pointer: read-only u32 fields, narrow loads of the
 * address, family, type, protocol, port and state fields (bpf_sock_is_valid_access) */
static int check_sock_access(struct venv *env, int regno, int off, int size, int t)
{
	const struct vreg *reg = &cur_regs(env)[regno];
	if (!tnum_is_const(reg->var_off) || reg->var_off.value)
		return verr(env, "R%d invalid variable offset to sock access", regno);
	off += reg->off;
	bool ok = t == BPF_READ && off >= 0 && off < 80 && off % size == 0 && size <= 4;
	if (ok) {
		if (off >= 48 && off < 52)          /* dst_port (a u16 and a hole) */
			ok = size == 4 || (size <= 2 && off + size <= 50);
		else if (off < 4 || (off >= 16 && off < 24))
			ok = size == 4;                 /* bound_dev_if, mark, priority */
		if (reg->range && off >= 8 && off < 24)
			ok = false;                     /* sock_common: no type..priority */
	}
	if (!ok)
		return verr(env, "R%d invalid %s access off=%d size=%d", regno,
			    reg->range ? "sock_common" : "sock", off, size);
	return 0;
}

int check_mem_access(struct venv *env, int insn_idx, int regno, int off, int size, int t,
		     int value_regno, bool strict_align, bool is_ldsx)
{
	struct vreg *regs = cur_regs(env), *reg = &regs[regno];
	const struct skep_insn *insn = &env->insns[insn_idx];
	int err;
	env->aux[insn_idx].mem_access = 1;
	if ((err = check_alignment(env, reg, off, size, strict_align)))
		return err;
	if (reg->type & PTR_MAYBE_NULL)
		return verr(env, "R%d invalid mem access '%s'", regno, reg_name_for_err(reg));
	switch (BASE_TYPE(reg->type)) {
	case PTR_TO_STACK:
		if ((err = check_stack_access(env, regno, off, size, t, t == BPF_READ ? value_regno : value_regno, insn)))
			return err;
		break;
	case PTR_TO_MAP_VALUE:
		if (t == BPF_WRITE && value_regno >= 0 && is_pointer_value(env, &regs[value_regno]))
			return verr(env, "R%d leaks addr into map", value_regno);
		if ((err = check_map_value_access(env, regno, off, size, t)))
			return err;
		if (t == BPF_READ && value_regno >= 0)
			mark_reg_unknown(&regs[value_regno]);
		break;
	case PTR_TO_MAP_KEY:
		if (t == BPF_WRITE)
			return verr(env, "write to change key R%d not allowed", regno);
		if ((err = check_mem_region(env, regno, off, size, reg->map->m.key_size, false)))
			return err;
		if (value_regno >= 0)
			mark_reg_unknown(&regs[value_regno]);
		break;
	case PTR_TO_MEM:
		if (t == BPF_WRITE && (reg->type & MEM_RDONLY))
			return verr(env, "R%d cannot write into %s", regno, reg_type_str(reg->type));
		if (t == BPF_WRITE && value_regno >= 0 && is_pointer_value(env, &regs[value_regno]))
			return verr(env, "R%d leaks addr into mem", value_regno);
		if ((err = check_mem_region(env, regno, off, size, reg->range, false)))
			return err;
		if (t == BPF_READ && value_regno >= 0)
			mark_reg_unknown(&regs[value_regno]);
		break;
	case PTR_TO_CTX:
		if (t == BPF_WRITE && value_regno >= 0 && is_pointer_value(env, &regs[value_regno]))
			return verr(env, "R%d leaks addr into ctx", value_regno);
		if ((err = check_ctx_access(env, regno, off, size, t, value_regno, is_ldsx)))
			return err;
		break;
	case PTR_TO_PACKET:
	case PTR_TO_PACKET_META:
		if (!may_access_pkt(env, t))
			return verr(env, "cannot write into packet");
		if (t == BPF_WRITE && value_regno >= 0 && is_pointer_value(env, &regs[value_regno]))
			return verr(env, "R%d leaks addr into packet", value_regno);
		if ((err = check_packet_access(env, regno, off, size, false)))
			return err;
		if (t == BPF_READ && value_regno >= 0)
			mark_reg_unknown(&regs[value_regno]);
		break;
	case PTR_TO_SOCKET:
		if ((err = check_sock_access(env, regno, off, size, t)))
			return err;
		if (value_regno >= 0)
			mark_reg_unknown(&regs[value_regno]);
		break;
	case PTR_TO_BTF_ID:
		return verr(env, "R%d: reading a kernel object (%s) needs its BTF type, which Skep's verifier "
			    "does not track", regno, reg_name_for_err(reg));
	default:
		return verr(env, "R%d invalid mem access '%s'", regno, reg_name_for_err(reg));
	}
	if (t == BPF_READ && value_regno >= 0 && size < BPF_REG_SIZE && regs[value_regno].type == SCALAR) {
		if (is_ldsx)
			coerce_reg_to_size_sx(&regs[value_regno], size);
		else
			coerce_reg_to_size(&regs[value_regno], size);
	} else if (t == BPF_READ && value_regno >= 0 && is_ldsx && regs[value_regno].type == SCALAR) {
		/* 8-byte ldsx does not exist */
	}
	(void)insn;
	return 0;
}

int check_load_store(struct venv *env, const struct skep_insn *insn, enum isa_op op, int idx)
{
	const struct isa_opinfo *oi = &isa_ops[op];
	int size = isa_size_bytes(insn->code), err;
	struct vreg *regs = cur_regs(env);
	if (oi->kind == K_LDX) {
		if ((err = check_reg_read(env, insn->src)))
			return err;
		if (insn->dst == BPF_REG_FP)
			return verr(env, "frame pointer is read only");
		/* the load result goes to dst; keep src's state in case dst == src */
		struct vreg src = regs[insn->src];
		(void)src;
		return check_mem_access(env, idx, insn->src, insn->off, size, BPF_READ, insn->dst, false,
					BPF_MODE(insn->code) == BPF_MEMSX);
	}
	if (oi->kind == K_STX) {
		if ((err = check_reg_read(env, insn->src)) || (err = check_reg_read(env, insn->dst)))
			return err;
		return check_mem_access(env, idx, insn->dst, insn->off, size, BPF_WRITE, insn->src, false, false);
	}
	/* ST: immediate (into the context too, as the kernel allows since 6.x) */
	if ((err = check_reg_read(env, insn->dst)))
		return err;
	return check_mem_access(env, idx, insn->dst, insn->off, size, BPF_WRITE, -1, false, false);
}

int check_atomic(struct venv *env, const struct skep_insn *insn, enum isa_op op, int idx)
{
	int size = isa_size_bytes(insn->code), err;
	struct vreg *regs = cur_regs(env);
	bool cmpxchg = insn->imm == BPF_CMPXCHG, fetch = insn->imm & BPF_FETCH;
	if ((err = check_reg_read(env, insn->src)) || (err = check_reg_read(env, insn->dst)))
		return err;
	if (cmpxchg && (err = check_reg_read(env, 0)))
		return err;
	if (is_pointer_value(env, &regs[insn->src]))
		return verr(env, "R%d leaks addr into mem", insn->src);
	if (cmpxchg && is_pointer_value(env, &regs[0]))
		return verr(env, "R0 leaks addr into mem");
	uint32_t t = BASE_TYPE(regs[insn->dst].type);
	if (t == PTR_TO_CTX || t == PTR_TO_PACKET || t == PTR_TO_PACKET_META || t == PTR_TO_FLOW_KEYS ||
	    t == PTR_TO_SOCKET)
		return verr(env, "BPF_ATOMIC stores into R%d %s is not allowed", insn->dst,
			    reg_type_str(regs[insn->dst].type));
	if (regs[insn->src].type != SCALAR && regs[insn->dst].type != SCALAR && t == PTR_TO_STACK &&
	    !fetch) {
		/* pointer added into a stack slot: the slot turns into data */
	}
	int load_reg = cmpxchg ? 0 : fetch ? insn->src : -1;
	/* read (into the fetch register), then write: the slot turns into data */
	if ((err = check_mem_access(env, idx, insn->dst, insn->off, size, BPF_READ, load_reg, true, false)))
		return err;
	if (load_reg >= 0 && regs[load_reg].type != SCALAR) {
		/* a spilled pointer fetched back: a number */
		mark_reg_unknown(&regs[load_reg]);
		if (size < 8)
			coerce_reg_to_size(&regs[load_reg], size);
	}
	if (t == PTR_TO_STACK) {
		/* the atomic's result is unknown data: write "misc" over the slot */
		struct vreg save = regs[insn->src];
		struct vreg unk;
		mark_reg_unknown(&unk);
		regs[insn->src] = unk;
		err = check_mem_access(env, idx, insn->dst, insn->off, size, BPF_WRITE, insn->src, true, false);
		regs[insn->src] = save;
		if (load_reg == (int)insn->src) {
			mark_reg_unknown(&regs[insn->src]);
			if (size < 8)
				coerce_reg_to_size(&regs[insn->src], size);
		}
		return err;
	}
	return check_mem_access(env, idx, insn->dst, insn->off, size, BPF_WRITE, -1, true, false);
}

int check_ld_abs(struct venv *env, const struct skep_insn *insn, enum isa_op op)
{
	struct vreg *regs = cur_regs(env);
	int err;
	(void)op;
	if (!env->ctx || !env->ctx->ld_abs)
		return verr_code(env, -EINVAL, "BPF_LD_[ABS|IND] instructions not allowed for this program type");
	if (env->cur->curframe || env->nsubprogs > 1)
		return verr_code(env, -EINVAL, "BPF_LD_[ABS|IND] instructions cannot be mixed with bpf-to-bpf calls");
	if ((err = check_reg_read(env, 6)))
		return err;
	if (BPF_MODE(insn->code) == BPF_IND && (err = check_reg_read(env, insn->src)))
		return err;
	if (BASE_TYPE(regs[6].type) != PTR_TO_CTX || regs[6].off)
		return verr_code(env, -EINVAL, "at the time of BPF_LD_ABS|IND R6 != pointer to skb");
	if (env->cur->nrefs)
		return verr_code(env, -EINVAL, "BPF_LD_[ABS|IND] cannot be mixed with socket references");
	if (BPF_MODE(insn->code) == BPF_IND && regs[insn->src].type != SCALAR)
		return verr(env, "R%d type=%s expected=scalar", insn->src, reg_type_str(regs[insn->src].type));
	/* a call in disguise: r1-r5 are clobbered, r0 is the loaded value */
	for (int r = 1; r <= 5; r++)
		mark_reg_not_init(&regs[r]);
	mark_reg_unknown(&regs[0]);
	coerce_reg_to_size(&regs[0], isa_size_bytes(insn->code));
	return 0;
}

/* ---- helper memory arguments ---- */

int check_stack_slots_init(struct venv *env, const struct vreg *reg, int off, int size, int regno)
{
	struct vframe *f = env->cur->frame[reg->frameno];
	int64_t lo, hi;
	int err = check_stack_bounds(env, regno, reg, off, size, " indirect access to", &lo, &hi);
	if (err)
		return err;
	if ((err = ensure_slots(f, lo)))
		return err;
	note_stack_depth(env, f, lo);
	return stack_range_init(env, f, regno, lo, hi, NULL);
}

int check_helper_mem_access(struct venv *env, int regno, int64_t size_min, uint64_t size_max,
			    int t, bool zero_size_allowed)
{
	struct vreg *reg = &cur_regs(env)[regno];
	int err;
	if (size_max == 0 && !zero_size_allowed)
		return verr(env, "R%d invalid zero-sized read", regno + 1);
	if (size_max >= (1u << 29))
		return verr(env, "R%d unbounded memory access, use 'var &= const' or 'if (var < const)'",
			    regno + 1);
	int size = (int)size_max;
	(void)size_min;
	switch (BASE_TYPE(reg->type)) {
	case PTR_TO_PACKET:
	case PTR_TO_PACKET_META:
		if (t == BPF_WRITE && !may_access_pkt(env, BPF_WRITE))
			return verr(env, "cannot write into packet");
		return check_packet_access(env, regno, 0, size, zero_size_allowed);
	case PTR_TO_MAP_KEY:
		if (t == BPF_WRITE)
			return verr(env, "R%d cannot write into %s", regno, reg_type_str(reg->type));
		return check_mem_region(env, regno, 0, size, reg->map->m.key_size, zero_size_allowed);
	case PTR_TO_MAP_VALUE:
		if (t == BPF_WRITE && ((reg->type & MEM_RDONLY) || (reg->map->m.map_flags & MAP_RDONLY_PROG)))
			return verr(env, "write into map forbidden, value_size=%u off=%d size=%d",
				    reg->map->m.value_size, reg->off, size);
		if (t == BPF_READ && (reg->map->m.map_flags & MAP_WRONLY_PROG))
			return verr(env, "read from map forbidden, value_size=%u off=%d size=%d",
				    reg->map->m.value_size, reg->off, size);
		return check_mem_region(env, regno, 0, size, reg->map->m.value_size, zero_size_allowed);
	case PTR_TO_MEM:
		if (t == BPF_WRITE && (reg->type & MEM_RDONLY))
			return verr(env, "R%d cannot write into %s", regno, reg_type_str(reg->type));
		return check_mem_region(env, regno, 0, size, reg->range, zero_size_allowed);
	case PTR_TO_CTX:
		/* helpers given the context pointer with a size read it whole */
		return verr(env, "R%d type=ctx expected=fp, pkt, pkt_meta, map_key, map_value, mem", regno);
	case PTR_TO_STACK: {
		if (size == 0 && zero_size_allowed)
			return 0;
		struct vframe *f = env->cur->frame[reg->frameno];
		int64_t lo, hi;
		err = check_stack_bounds(env, regno, reg, 0, size, " indirect access to", &lo, &hi);
		if (err)
			return err;
		if ((err = ensure_slots(f, lo)))
			return err;
		note_stack_depth(env, f, lo);
		if (t == BPF_READ)
			return stack_range_init(env, f, regno, lo, hi, NULL);
		/* the helper writes: the bytes become data */
		for (int64_t a = lo; a < hi; a++) {
			scrub_slot(&f->stack[(-a - 1) / BPF_REG_SIZE]);
			*byte_type(f, a) = STACK_MISC;
		}
		return 0;
	}
	default:
		if (reg_is_null(reg) && zero_size_allowed && size_max == 0)
			return 0;
		return verr(env, "R%d type=%s expected=fp, pkt, pkt_meta, map_key, map_value, mem", regno,
			    reg_type_str(reg->type));
	}
}

/* The constant a map key on the stack holds (array lookups with such a key cannot
 * return NULL). */
bool stack_const_key(struct venv *env, const struct vreg *reg, int size, uint64_t *val)
{
	if (BASE_TYPE(reg->type) != PTR_TO_STACK || !tnum_is_const(reg->var_off))
		return false;
	int64_t a = (int64_t)reg->var_off.value + reg->off;
	struct vframe *f = env->cur->frame[reg->frameno];
	if (a >= 0 || a < -MAX_BPF_STACK || (-a - 1) / BPF_REG_SIZE >= f->nslots || a + size > 0)
		return false;
	const struct vslot *s = &f->stack[(-a - 1) / BPF_REG_SIZE];
	if (!(a % BPF_REG_SIZE) && s->type[BPF_REG_SIZE - 1] == STACK_SPILL) {
		int spill = 1;
		for (int i = BPF_REG_SIZE - 1; i > 0 && s->type[i - 1] == STACK_SPILL; i--)
			spill++;
		if (spill < size || s->spilled.type != SCALAR || !tnum_is_const(s->spilled.var_off))
			return false;
		*val = size >= 8 ? s->spilled.var_off.value :
		       s->spilled.var_off.value & ((1ULL << (size * 8)) - 1);
		/* what the caller decides from the key depends on the spilled value */
		mark_stack_precise(env, reg->frameno, (int)((-a - 1) / BPF_REG_SIZE));
		return true;
	}
	for (int i = 0; i < size; i++)
		if (*byte_type(f, a + i) != STACK_ZERO)
			return false;
	*val = 0;
	return true;
}
