/* Calls: helper calls checked against their prototypes (include/skep/helpers.h, plus
 * the kernel helpers Skep does not run yet, which the verifier still knows so kernel
 * programs verify offline), results typed, references to ring buffer records tracked,
 * spin locks, tail calls, callbacks (bpf_loop, bpf_for_each_map_elem: verified as
 * their own frames, re-entered until their states converge), bpf-to-bpf calls and
 * returns, and what must hold at program exit. */
#include <errno.h>
#include <string.h>

#include "skep/helpers.h"
#include "skep/map.h"
#include "skep/progtype.h"
#include "verifier.h"
#include "isa/text.h"

#define MAP   SKEP_ARG_CONST_MAP_PTR
#define ANY   SKEP_ARG_ANYTHING
#define CTX   SKEP_ARG_PTR_TO_CTX
#define RMEM  (SKEP_ARG_PTR_TO_MEM | SKEP_ARG_RDONLY)
#define UMEM  SKEP_ARG_PTR_TO_UNINIT_MEM
#define SZ    SKEP_ARG_CONST_SIZE
#define SZ0   SKEP_ARG_CONST_SIZE_OR_ZERO
#define INT   SKEP_RET_INTEGER

/* Helpers that may move or resize the packet: every packet pointer is forgotten. */
static bool changes_pkt_data(uint32_t id)
{
	/* the kernel's bpf_helper_changes_pkt_data (a tail call that returns changed nothing) */
	switch (id) {
	case 9: case 10: case 11: case 13: case 18: case 19: case 31: case 38: case 39:
	case 43: case 44: case 50: case 54: case 63: case 65: case 73: case 74: case 75: case 76:
	case 90: case 91: case 143:
		return true;
	default:
		return false;
	}
}

static const struct skep_helper_proto *find_proto(uint32_t id)
{
	const struct skep_helper_proto *p = skep_helper_proto(id);
	if (p)
		return p;
	return kernel_helper_proto(id);
}

static const char *helper_name(uint32_t id)
{
	const struct skep_helper_proto *p = find_proto(id);
	if (p)
		return p->name;
	const char *n = isa_helper_name((int32_t)id);
	return n ? n : "unknown";
}

/* Map types a helper accepts (the kernel's check_map_func_compatibility, in short). */
static int check_map_func(struct venv *env, const struct vmap *m, uint32_t id)
{
	uint32_t t = m->m.type;
	bool ok = true;
	switch (id) {
	case 1: case 2: case 3:
		ok = t != SKEP_MAP_TYPE_RINGBUF && t != SKEP_MAP_TYPE_PROG_ARRAY &&
		     t != SKEP_MAP_TYPE_PERF_EVENT_ARRAY && t != SKEP_MAP_TYPE_QUEUE &&
		     t != SKEP_MAP_TYPE_STACK && t != SKEP_MAP_TYPE_STACK_TRACE &&
		     t != SKEP_MAP_TYPE_BLOOM_FILTER;
		if (id != 1 && (t == SKEP_MAP_TYPE_ARRAY_OF_MAPS || t == SKEP_MAP_TYPE_HASH_OF_MAPS))
			ok = false;
		break;
	case 12: ok = t == SKEP_MAP_TYPE_PROG_ARRAY; break;
	case 25: ok = t == SKEP_MAP_TYPE_PERF_EVENT_ARRAY; break;
	case 27: case 67: ok = t == SKEP_MAP_TYPE_STACK_TRACE; break;
	case 87: case 88: case 89:
		ok = t == SKEP_MAP_TYPE_QUEUE || t == SKEP_MAP_TYPE_STACK || t == SKEP_MAP_TYPE_BLOOM_FILTER;
		break;
	case 130: case 131: case 134: ok = t == SKEP_MAP_TYPE_RINGBUF; break;
	case 164:
		ok = t == SKEP_MAP_TYPE_HASH || t == SKEP_MAP_TYPE_ARRAY || t == SKEP_MAP_TYPE_PERCPU_HASH ||
		     t == SKEP_MAP_TYPE_PERCPU_ARRAY || t == SKEP_MAP_TYPE_LRU_HASH ||
		     t == SKEP_MAP_TYPE_LRU_PERCPU_HASH;
		break;
	/* verify-only helpers (map type numbers: the kernel's BPF_MAP_TYPE_*) */
	case 22: case 55: case 111: case 121: ok = t == SKEP_MAP_TYPE_PERF_EVENT_ARRAY; break;
	case 33: case 37: ok = t == 8; break;                     /* cgroup_array */
	case 51: ok = t == 14 || t == 16 || t == 17 || t == 25; break; /* dev, cpu, xsk maps */
	case 52: case 53: case 60: ok = t == 15; break;           /* sockmap */
	case 70: case 71: case 72: ok = t == 18; break;           /* sockhash */
	case 81: ok = t == 19 || t == 21; break;                  /* cgroup_storage */
	case 82: ok = t == 20 || t == 15 || t == 18; break;       /* reuseport_sockarray */
	case 107: case 108: ok = t == 24; break;                  /* sk_storage */
	case 145: case 146: ok = t == 28; break;                  /* inode_storage */
	case 156: case 157: ok = t == 29; break;                  /* task_storage */
	case 198: ok = t == SKEP_MAP_TYPE_RINGBUF; break;
	case 209: ok = t == 31; break;                            /* user_ringbuf */
	case 210: case 211: ok = t == 32; break;                  /* cgrp_storage */
	case 195: ok = t == SKEP_MAP_TYPE_PERCPU_ARRAY || t == SKEP_MAP_TYPE_PERCPU_HASH ||
		       t == SKEP_MAP_TYPE_LRU_PERCPU_HASH; break;
	default: break;
	}
	/* and the reverse: special maps only with their helpers */
	if (ok) {
		switch (t) {
		case SKEP_MAP_TYPE_RINGBUF: ok = id == 130 || id == 131 || id == 134 || id == 198; break;
		case SKEP_MAP_TYPE_PROG_ARRAY: ok = id == 12; break;
		case SKEP_MAP_TYPE_PERF_EVENT_ARRAY: ok = id == 25 || id == 22 || id == 55 || id == 111 || id == 121;
			break;
		case SKEP_MAP_TYPE_STACK_TRACE: ok = id == 27; break;
		default: break;
		}
	}
	if (!ok)
		return verr_code(env, -EINVAL, "cannot pass map_type %u into func %s#%u", t, helper_name(id), id);
	return 0;
}

/* The inner map of a map-in-map, from its template (skep_verifier_map.inner_*): one
 * vmap per outer map, kept with the others (src -1, imm the outer's index). */
static const struct vmap *inner_vmap(struct venv *env, const struct vmap *outer)
{
	if (!outer->m.inner_type)
		return NULL;
	int32_t idx = (int32_t)(outer - env->maps);
	for (int i = 0; i < env->nmaps; i++)
		if (env->maps[i].src == -1 && env->maps[i].imm == idx)
			return &env->maps[i];
	if (env->nmaps == env->maps_cap)
		return NULL;
	struct vmap *v = &env->maps[env->nmaps++];
	memset(v, 0, sizeof *v);
	v->src = -1;
	v->imm = idx;
	v->m.type = outer->m.inner_type;
	v->m.key_size = outer->m.inner_key_size;
	v->m.value_size = outer->m.inner_value_size;
	v->m.max_entries = 0;   /* unknown: no lookup is proven non-NULL by its key */
	v->m.spin_lock_off = -1;
	return v;
}

struct call_meta {
	const struct vmap *map;
	int regno_mem;          /* register of the last memory argument */
	uint16_t mem_arg;       /* its type */
	uint32_t ref_release;   /* ref_obj_id released by this call */
	uint64_t alloc_size;
	int subprog;            /* callback target */
	bool pkt_arg;
};

static bool is_mem_ptr_type(uint32_t t)
{
	t = BASE_TYPE(t);
	return t == PTR_TO_STACK || t == PTR_TO_PACKET || t == PTR_TO_PACKET_META ||
	       t == PTR_TO_MAP_KEY || t == PTR_TO_MAP_VALUE || t == PTR_TO_MEM;
}

static int check_size_arg(struct venv *env, int regno, uint16_t arg, struct call_meta *meta)
{
	struct vreg *r = &cur_regs(env)[regno];
	bool zero_ok = (arg & 0xff) == SKEP_ARG_CONST_SIZE_OR_ZERO;
	int err;
	if (r->type != SCALAR)
		return verr(env, "R%d type=%s expected=scalar", regno, reg_type_str(r->type));
	if ((err = mark_chain_precision(env, regno)))
		return err;
	if (r->smin < 0)
		return verr(env, "R%d min value is negative, either use unsigned or 'var &= const'", regno);
	if (r->umin == 0 && !zero_ok)
		return verr(env, "R%d invalid zero-sized read: u64=[%llu,%llu]", regno,
			    (unsigned long long)r->umin, (unsigned long long)r->umax);
	if (r->umax >= (1u << 29))
		return verr(env, "R%d unbounded memory access, use 'var &= const' or 'if (var < const)'", regno);
	int mreg = regno - 1;
	uint16_t marg = meta->mem_arg;
	struct vreg *m = &cur_regs(env)[mreg];
	if ((marg & SKEP_ARG_MAYBE_NULL) && reg_is_null(m)) {
		if (r->umax != 0)
			return verr(env, "R%d type=scalar expected=fp, pkt, pkt_meta, map_key, map_value, mem", mreg);
		return 0;
	}
	int t = (marg & SKEP_ARG_UNINIT) ? BPF_WRITE : BPF_READ;
	return check_helper_mem_access(env, mreg, r->smin, r->umax, t, zero_ok);
}

static int check_func_arg(struct venv *env, int argi, uint16_t arg, uint32_t size_fixed,
			  struct call_meta *meta, uint32_t id)
{
	int regno = argi + 1, err;
	struct vreg *regs = cur_regs(env), *r = &regs[regno];
	uint16_t base = arg & 0xff;
	if (base == SKEP_ARG_DONTCARE)
		return 0;
	if ((err = check_reg_read(env, regno)))
		return err;
	if ((BASE_TYPE(r->type) == PTR_TO_PACKET || BASE_TYPE(r->type) == PTR_TO_PACKET_META))
		meta->pkt_arg = true;
	switch (base) {
	case SKEP_ARG_CONST_MAP_PTR:
		if (r->type != CONST_PTR_TO_MAP)
			return verr(env, "R%d type=%s expected=map_ptr", regno, reg_type_str(r->type));
		meta->map = r->map;
		return check_map_func(env, r->map, id);
	case SKEP_ARG_PTR_TO_MAP_KEY:
	case SKEP_ARG_PTR_TO_MAP_VALUE: {
		if (!meta->map)
			return verr(env, "invalid map_ptr to access map->%s", base == SKEP_ARG_PTR_TO_MAP_KEY ? "key" : "value");
		if ((arg & SKEP_ARG_MAYBE_NULL) && reg_is_null(r))
			return 0;
		if (!is_mem_ptr_type(r->type) || (r->type & PTR_MAYBE_NULL))
			return verr(env, "R%d type=%s expected=fp, pkt, pkt_meta, map_key, map_value", regno,
				    reg_type_str(r->type));
		uint32_t sz = base == SKEP_ARG_PTR_TO_MAP_KEY ? meta->map->m.key_size : meta->map->m.value_size;
		return check_helper_mem_access(env, regno, sz, sz, (arg & SKEP_ARG_UNINIT) ? BPF_WRITE : BPF_READ,
					       false);
	}
	case SKEP_ARG_PTR_TO_MEM:
		meta->regno_mem = regno;
		meta->mem_arg = arg;
		if (id == 197 && BASE_TYPE(r->type) != PTR_TO_MAP_VALUE)
			return verr(env, "Unsupported reg type %s for bpf_dynptr_from_mem data", reg_type_str(r->type));
		if ((arg & SKEP_ARG_MAYBE_NULL) && reg_is_null(r))
			return 0;
		if (!is_mem_ptr_type(r->type) || (r->type & PTR_MAYBE_NULL))
			return verr(env, "R%d type=%s expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem",
				    regno, reg_type_str(r->type));
		if (arg & SKEP_ARG_FIXED_SIZE)
			return check_helper_mem_access(env, regno, size_fixed, size_fixed,
						       (arg & SKEP_ARG_UNINIT) ? BPF_WRITE : BPF_READ, false);
		return 0;
	case SKEP_ARG_CONST_SIZE:
	case SKEP_ARG_CONST_SIZE_OR_ZERO:
		return check_size_arg(env, regno, arg, meta);
	case SKEP_ARG_PTR_TO_CTX:
		if ((arg & SKEP_ARG_MAYBE_NULL) && reg_is_null(r))
			return 0;
		if (r->type != PTR_TO_CTX)
			return verr(env, "R%d type=%s expected=ctx", regno, reg_type_str(r->type));
		if (r->off || !tnum_equals_const(r->var_off, 0))
			return verr(env, "dereference of modified ctx ptr R%d off=%d disallowed", regno, r->off);
		return 0;
	case SKEP_ARG_ANYTHING:
		if (is_pointer_value(env, r))
			return verr(env, "R%d leaks addr into helper function", regno);
		return 0;
	case SKEP_ARG_PTR_TO_SPIN_LOCK: {
		if (BASE_TYPE(r->type) != PTR_TO_MAP_VALUE || (r->type & PTR_MAYBE_NULL))
			return verr(env, "R%d type=%s expected=map_value", regno, reg_type_str(r->type));
		if (!tnum_is_const(r->var_off))
			return verr(env, "R%d doesn't have constant offset. bpf_spin_lock has to be at the constant offset",
				    regno);
		if (r->map->m.spin_lock_off < 0)
			return verr(env, "map has no valid bpf_spin_lock");
		int64_t off = (int64_t)r->var_off.value + r->off;
		if (off != r->map->m.spin_lock_off)
			return verr(env, "off %lld doesn't point to 'struct bpf_spin_lock' that is at %d",
				    (long long)off, r->map->m.spin_lock_off);
		struct vstate *st = env->cur;
		uint32_t lock_id = r->id ? r->id : 1;
		if (id == SKEP_FUNC_spin_lock) {
			if (st->active_lock_id)
				return verr(env, "Locking two bpf_spin_locks are not allowed");
			st->active_lock_id = lock_id;
			st->active_lock_map = r->map;
		} else {
			if (!st->active_lock_id)
				return verr(env, "bpf_spin_unlock without taking a lock");
			if (st->active_lock_id != lock_id || st->active_lock_map != r->map)
				return verr(env, "bpf_spin_unlock of different lock");
			st->active_lock_id = 0;
			st->active_lock_map = NULL;
		}
		return 0;
	}
	case SKEP_ARG_PTR_TO_RINGBUF_MEM:
		if (r->type != (PTR_TO_MEM | MEM_RINGBUF))
			return verr(env, "R%d type=%s expected=ringbuf_mem", regno, reg_type_str(r->type));
		if (r->off || !tnum_equals_const(r->var_off, 0))
			return verr(env, "R%d must have zero offset when passed to release func", regno);
		if (!r->ref_obj_id)
			return verr(env, "R%d must be referenced when passed to release func", regno);
		meta->ref_release = r->ref_obj_id;
		return 0;
	case SKEP_ARG_CONST_ALLOC_SIZE_OR_ZERO:
		if (r->type != SCALAR || !tnum_is_const(r->var_off))
			return verr(env, "R%d is not a known constant'", regno);
		if ((err = mark_chain_precision(env, regno)))
			return err;
		meta->alloc_size = r->var_off.value;
		return 0;
	case SKEP_ARG_PTR_TO_FUNC:
		if (r->type != PTR_TO_FUNC)
			return verr(env, "R%d type=%s expected=func", regno, reg_type_str(r->type));
		meta->subprog = r->subprog;
		return 0;
	case SKEP_ARG_PTR_TO_STACK:
		if ((arg & SKEP_ARG_MAYBE_NULL) && reg_is_null(r))
			return 0;
		if (BASE_TYPE(r->type) != PTR_TO_STACK)
			return verr(env, "R%d type=%s expected=fp", regno, reg_type_str(r->type));
		return 0;
	case SKEP_ARG_PTR_TO_CONST_STR:
		if (BASE_TYPE(r->type) != PTR_TO_MAP_VALUE || (r->type & PTR_MAYBE_NULL))
			return verr(env, "R%d type=%s expected=map_value", regno, reg_type_str(r->type));
		return verr(env, "R%d does not point to a readonly map'", regno);
	case KA_SOCK:
	case KA_BTF:
		if ((arg & SKEP_ARG_MAYBE_NULL) && reg_is_null(r))
			return 0;
		if ((BASE_TYPE(r->type) != PTR_TO_SOCKET && BASE_TYPE(r->type) != PTR_TO_BTF_ID) ||
		    (base == KA_SOCK && BASE_TYPE(r->type) != PTR_TO_SOCKET && r->type != PTR_TO_BTF_ID))
			return verr(env, "R%d type=%s expected=%s", regno, reg_type_str(r->type),
				    base == KA_SOCK ? "sock, sock_common, tcp_sock" : "ptr_");
		if (r->type & PTR_MAYBE_NULL)
			return verr(env, "Possibly NULL pointer passed to helper arg%d", regno);
		if (r->off || !tnum_equals_const(r->var_off, 0))
			return verr(env, "R%d must have zero offset when passed to helper", regno);
		if (arg & KA_RELEASE) {
			if (!r->ref_obj_id)
				return verr(env, "R%d must be referenced when passed to release function", regno);
			meta->ref_release = r->ref_obj_id;
		}
		return 0;
	case KA_MAP_VALUE:
		if (BASE_TYPE(r->type) != PTR_TO_MAP_VALUE || (r->type & PTR_MAYBE_NULL))
			return verr(env, "R%d type=%s expected=map_value", regno, reg_type_str(r->type));
		if (!tnum_is_const(r->var_off))
			return verr(env, "R%d doesn't have constant offset", regno);
		if (!meta->map)
			meta->map = r->map;
		return check_helper_mem_access(env, regno, 8, 8, BPF_READ, false);
	case KA_DYNPTR:
	case KA_DYNPTR_UNINIT:
		/* struct bpf_dynptr: 16 bytes of stack (its kind and reference are not tracked) */
		if (BASE_TYPE(r->type) != PTR_TO_STACK)
			return verr(env, "R%d type=%s expected=fp (a struct bpf_dynptr on the stack)", regno,
				    reg_type_str(r->type));
		if (!tnum_is_const(r->var_off) || (r->off + (int64_t)r->var_off.value) % 8)
			return verr(env, "dynptr has to be at a constant offset");
		return check_helper_mem_access(env, regno, 16, 16, base == KA_DYNPTR ? BPF_READ : BPF_WRITE,
					       false);
	default:
		return verr_code(env, -EINVAL, "unsupported arg type %u of helper %s#%u", arg, helper_name(id), id);
	}
}

static void clear_pkt(struct vreg *r, void *arg)
{
	(void)arg;
	uint32_t t = BASE_TYPE(r->type);
	if (t == PTR_TO_PACKET || t == PTR_TO_PACKET_META || t == PTR_TO_PACKET_END)
		mark_reg_unknown(r);
}

/* Enter a new frame for subprog (a bpf-to-bpf call or a callback). */
static int setup_frame(struct venv *env, int subprog, int callsite, struct vframe **out)
{
	struct vstate *st = env->cur;
	if (st->curframe + 1 >= MAX_CALL_FRAMES)
		return verr_code(env, -E2BIG, "the call stack of %d frames is too deep !", st->curframe + 2);
	struct vframe *f = frame_new(st->curframe + 1, callsite, subprog);
	if (!f)
		return -ENOMEM;
	st->frame[++st->curframe] = f;
	*out = f;
	return 0;
}

/* bpf_loop, bpf_for_each_map_elem; verify-only: bpf_timer_set_callback, bpf_find_vma,
 * bpf_user_ringbuf_drain */
enum { FUNC_timer_set_callback = 170, FUNC_find_vma = 180, FUNC_user_ringbuf_drain = 209 };
static bool calls_callback(uint32_t id)
{
	return id == SKEP_FUNC_loop || id == SKEP_FUNC_for_each_map_elem || id == FUNC_timer_set_callback ||
	       id == FUNC_find_vma || id == FUNC_user_ringbuf_drain;
}

static void mark_btf_ptr(struct vreg *r)
{
	mark_reg_unknown(r);
	r->type = PTR_TO_BTF_ID;
	mark_reg_known_zero(r);
}

int check_helper_call(struct venv *env, const struct skep_insn *insn, int *insn_idx)
{
	uint32_t id = (uint32_t)insn->imm;
	const struct skep_helper_proto *p = find_proto(id);
	struct vreg *regs = cur_regs(env);
	int err;
	if (!p)
		return verr_code(env, -EINVAL, "invalid func %s#%d", helper_name(id), insn->imm);
	if (env->prog_type < SKEP_PROG_TYPE_EMBEDDER_BASE || 1) {
		const struct skep_prog_type_desc *d = skep_prog_type_by_id(env->prog_type);
		if (d && d->nhelpers && !skep_prog_type_allows_helper(d, id) && id < SKEP_HELPER_USER_BASE)
			return verr_code(env, -EINVAL, "program of this type cannot use helper %s#%u",
					 p->name, id);
	}
	if (env->cur->active_lock_id && id != SKEP_FUNC_spin_unlock && id != SKEP_FUNC_spin_lock)
		return verr_code(env, -EINVAL, "function calls are not allowed while holding a lock");
	struct call_meta meta;
	memset(&meta, 0, sizeof meta);
	meta.subprog = -1;
	for (int i = 0; i < 5; i++)
		if ((err = check_func_arg(env, i, p->arg[i], p->arg_size[i], &meta, id)))
			return err;
	if (meta.pkt_arg && !p->pkt_access)
		return verr(env, "helper access to the packet is not allowed");

	if (id == SKEP_FUNC_tail_call) {
		if (env->cur->nrefs)
			return verr_code(env, -EINVAL, "tail_call would lead to reference leak");
		env->has_tail_call = true;
		env->subprogs[cur_frame(env)->subprog].has_tail_call = 1;
	}
	if (calls_callback(id)) {
		/* explore the callback with the caller's state, then come back to this call:
		 * the call is re-run until the state here converges (pruned) */
		if (meta.subprog < 0)
			return verr(env, "callback is missing");
		struct vstate *cb;
		if ((err = push_stack(env, *insn_idx + 1, *insn_idx, &cb)))
			return err;
		/* the pushed state continues after the call; this one enters the callback */
		struct vreg caller[6];
		memcpy(caller, regs, sizeof caller);
		struct vframe *f;
		if ((err = setup_frame(env, meta.subprog, *insn_idx, &f)))
			return err;
		env->subprogs[meta.subprog].is_cb = 1;
		f->in_callback = 1;
		f->cb_helper = (int)id;
		f->cb_ret_min = 0;
		f->cb_ret_max = 1;
		if (id == SKEP_FUNC_loop) {
			mark_reg_unknown(&f->regs[1]);
			f->regs[2] = caller[3];
		} else if (id == FUNC_find_vma) {
			/* (task, vma, ctx) */
			mark_btf_ptr(&f->regs[1]);
			mark_btf_ptr(&f->regs[2]);
			f->regs[3] = caller[4];
		} else if (id == FUNC_user_ringbuf_drain) {
			/* (dynptr, ctx): the dynptr is opaque here */
			mark_btf_ptr(&f->regs[1]);
			f->regs[2] = caller[3];
		} else {
			const struct vmap *m = meta.map;
			f->regs[1].type = CONST_PTR_TO_MAP;
			mark_reg_known_zero(&f->regs[1]);
			f->regs[1].map = m;
			f->regs[2].type = PTR_TO_MAP_KEY;
			mark_reg_known_zero(&f->regs[2]);
			f->regs[2].map = m;
			f->regs[3].type = PTR_TO_MAP_VALUE;
			mark_reg_known_zero(&f->regs[3]);
			f->regs[3].map = m;
			if (id == SKEP_FUNC_for_each_map_elem)
				f->regs[4] = caller[3];
			else
				f->cb_ret_max = 0;   /* a timer callback returns 0 */
		}
		/* the state after the call: r0 a number, r1-r5 gone */
		struct vreg *cregs = cb->frame[cb->curframe]->regs;
		for (int r = 1; r <= 5; r++)
			mark_reg_not_init(&cregs[r]);
		mark_reg_unknown(&cregs[0]);
		*insn_idx = env->subprogs[meta.subprog].start - 1;
		return 0;
	}

	/* an array lookup with a constant key inside the array cannot fail (kernel 6.14+) */
	bool never_null = false;
	uint64_t key;
	if (id == SKEP_FUNC_map_lookup_elem && meta.map &&
	    (meta.map->m.type == SKEP_MAP_TYPE_ARRAY || meta.map->m.type == SKEP_MAP_TYPE_PERCPU_ARRAY) &&
	    meta.map->m.key_size == 4 && stack_const_key(env, &regs[2], 4, &key) &&
	    key < meta.map->m.max_entries)
		never_null = true;
	if (meta.ref_release) {
		if (release_ref(env, meta.ref_release))
			return verr(env, "reference has not been acquired before");
	}
	for (int r = 1; r <= 5; r++)
		mark_reg_not_init(&regs[r]);
	struct vreg *r0 = &regs[0];
	uint16_t ret = p->ret, rbase = ret & 0xff;
	switch (rbase) {
	case SKEP_RET_INTEGER:
		mark_reg_unknown(r0);
		break;
	case SKEP_RET_VOID:
		mark_reg_not_init(r0);
		break;
	case SKEP_RET_PTR_TO_MAP_VALUE: {
		const struct vmap *m = meta.map;
		mark_reg_unknown(r0);
		if (m && (m->m.type == SKEP_MAP_TYPE_ARRAY_OF_MAPS || m->m.type == SKEP_MAP_TYPE_HASH_OF_MAPS)) {
			/* a map-in-map lookup gives the inner map (or NULL), described by the
			 * outer map's inner template, as the kernel's inner_map_meta */
			const struct vmap *in = inner_vmap(env, m);
			if (!in)
				return verr_code(env, -EINVAL, "map-in-map fd %d has no inner map template",
						 m->imm);
			r0->type = CONST_PTR_TO_MAP | PTR_MAYBE_NULL;
			mark_reg_known_zero(r0);
			r0->map = in;
			r0->id = new_id(env);
			break;
		}
		r0->type = PTR_TO_MAP_VALUE;
		mark_reg_known_zero(r0);
		r0->map = m;
		if ((ret & SKEP_RET_MAYBE_NULL) && !never_null) {
			r0->type |= PTR_MAYBE_NULL;
			r0->id = new_id(env);
		}
		break;
	}
	case SKEP_RET_PTR_TO_MEM:
		mark_reg_unknown(r0);
		r0->type = PTR_TO_MEM;
		mark_reg_known_zero(r0);
		r0->range = (uint32_t)meta.alloc_size;
		if (ret & SKEP_RET_RINGBUF)
			r0->type |= MEM_RINGBUF;
		if (ret & SKEP_RET_MAYBE_NULL) {
			r0->type |= PTR_MAYBE_NULL;
			r0->id = new_id(env);
		}
		if (ret & SKEP_RET_RINGBUF) {
			int ref = acquire_ref(env, *insn_idx);
			if (ref < 0)
				return ref;
			r0->ref_obj_id = (uint32_t)ref;
		}
		break;
	case KR_SOCK:
	case KR_BTF:
		mark_reg_unknown(r0);
		r0->type = rbase == KR_SOCK ? PTR_TO_SOCKET : PTR_TO_BTF_ID;
		mark_reg_known_zero(r0);
		if (ret & SKEP_RET_MAYBE_NULL) {
			r0->type |= PTR_MAYBE_NULL;
			r0->id = new_id(env);
		}
		if (id == 99)
			r0->range = 1;   /* bpf_skc_lookup_tcp: a sock_common */
		if (ret & KR_ACQUIRE) {
			int ref = acquire_ref(env, *insn_idx);
			if (ref < 0)
				return ref;
			r0->ref_obj_id = (uint32_t)ref;
		}
		break;
	default:
		return verr_code(env, -EINVAL, "unknown return type %u of func %s#%u", ret, p->name, id);
	}
	if (changes_pkt_data(id))
		state_for_each_reg(env->cur, clear_pkt, NULL);
	return 0;
}

int check_func_call(struct venv *env, const struct skep_insn *insn, int *insn_idx)
{
	int target = *insn_idx + insn->imm + 1;
	int sp = find_subprog(env, target);
	struct vreg *caller = cur_regs(env);
	if (sp < 0)
		return verr_code(env, -EFAULT, "verifier bug. No program starts at insn %d", target);
	if (env->cur->active_lock_id)
		return verr_code(env, -EINVAL, "function calls are not allowed while holding a lock");
	struct vframe *f;
	int err = setup_frame(env, sp, *insn_idx, &f);
	if (err)
		return err;
	for (int r = 1; r <= 5; r++)
		f->regs[r] = caller[r];
	/* the caller's r1-r5 are gone when the callee returns */
	for (int r = 1; r <= 5; r++)
		mark_reg_not_init(&caller[r]);
	mark_reg_not_init(&caller[0]);
	*insn_idx = target - 1;
	return 0;
}

int prepare_func_exit(struct venv *env, int *insn_idx)
{
	struct vstate *st = env->cur;
	struct vframe *callee = st->frame[st->curframe], *caller = st->frame[st->curframe - 1];
	struct vreg *r0 = &callee->regs[0];
	/* a static subprogram may leave r0 unset (clang drops an unused return value): the
	 * caller gets it uninitialised, as the kernel's prepare_func_exit copies it */
	if (r0->type == NOT_INIT && callee->in_callback)
		return verr(env, "R0 !read_ok");
	if (callee->in_callback) {
		if (r0->type != SCALAR)
			return verr(env, "At callback return the register R0 is not a known value (%s)",
				    reg_type_str(r0->type));
		int err = mark_chain_precision(env, 0);
		if (err)
			return err;
		if (r0->smin < callee->cb_ret_min || r0->smax > callee->cb_ret_max)
			return verr(env, "At callback return the register R0 has smin=%lld smax=%lld should have been in [%lld, %lld]",
				    (long long)r0->smin, (long long)r0->smax, (long long)callee->cb_ret_min,
				    (long long)callee->cb_ret_max);
		/* back to the helper call: it may call the callback again */
		*insn_idx = callee->callsite - 1;
		frame_free(callee);
		st->frame[st->curframe--] = NULL;
		return 0;
	}
	if (BASE_TYPE(r0->type) == PTR_TO_STACK && r0->frameno == callee->frameno)
		return verr(env, "cannot return stack pointer to the caller frame");
	caller->regs[0] = *r0;
	*insn_idx = callee->callsite;
	frame_free(callee);
	st->frame[st->curframe--] = NULL;
	return 0;
}

int check_reference_leak(struct venv *env, bool exception_exit)
{
	(void)exception_exit;
	struct vstate *st = env->cur;
	if (st->nrefs)
		return verr(env, "Unreleased reference id=%u alloc_insn=%d", st->refs[0].id, st->refs[0].insn);
	return 0;
}

int check_return_code(struct venv *env)
{
	struct vreg *r0 = &cur_regs(env)[0];
	if (r0->type == NOT_INIT)
		return verr(env, "R0 !read_ok");
	if (env->cur->active_lock_id)
		return verr(env, "bpf_spin_unlock is missing");
	int err = check_reference_leak(env, false);
	if (err)
		return err;
	const struct ctx_desc *d = env->ctx;
	if (d && d->ret_max >= d->ret_min) {
		if (r0->type != SCALAR)
			return verr(env, "At program exit the register R0 is not a known value (%s)",
				    reg_type_str(r0->type));
		if ((err = mark_chain_precision(env, 0)))
			return err;
		if (r0->smin < d->ret_min || r0->smax > d->ret_max)
			return verr(env, "At program exit the register R0 has smin=%lld smax=%lld should have been in [%d, %d]",
				    (long long)r0->smin, (long long)r0->smax, d->ret_min, d->ret_max);
		return 0;
	}
	if (is_pointer_value(env, r0))
		return verr(env, "R0 leaks addr as return value");
	return 0;
}
