/* The driver: walks every path of the program depth first (branches wait on a stack,
 * as in the kernel), keeps states at prune points and stops a path whose state is
 * contained in one already explored, refuses loops whose state does not progress, and
 * gives up after 1,000,000 processed instructions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "skep/map.h"
#include "verifier.h"

#define COMPLEXITY_LIMIT_JMP_SEQ 8192
#define COMPLEXITY_LIMIT_STATES 64   /* unprivileged: states kept per instruction */

uint32_t new_id(struct venv *env) { return ++env->id_gen; }

int push_stack(struct venv *env, int insn_idx, int prev_insn_idx, struct vstate **out)
{
	if (env->stack_len >= COMPLEXITY_LIMIT_JMP_SEQ)
		return verr_code(env, -E2BIG, "The sequence of %d jumps is too complex.", env->stack_len);
	if (env->stack_len == env->stack_cap) {
		int cap = env->stack_cap ? env->stack_cap * 2 : 64;
		struct vstate **s = realloc(env->stack, sizeof *s * (size_t)cap);
		if (!s)
			return -ENOMEM;
		env->stack = s;
		env->stack_cap = cap;
	}
	struct vstate *st = state_new();
	if (!st || state_copy(st, env->cur)) {
		free(st);
		return -ENOMEM;
	}
	st->insn_idx = insn_idx;
	st->prev_insn_idx = prev_insn_idx;
	st->last_idx = prev_insn_idx;
	st->log_pos = env->log.len;
	if (st->parent)
		st->parent->branches++;
	env->stack[env->stack_len++] = st;
	*out = st;
	return 0;
}

static void update_branch_counts(struct checkpoint *c)
{
	while (c) {
		if (--c->branches)
			break;
		c = c->parent;
	}
}

void drop_pushed(struct venv *env)
{
	struct vstate *st = env->stack[--env->stack_len];
	update_branch_counts(st->parent);
	state_free(st);
}

static bool is_cb_call(struct venv *env, int idx)
{
	const struct skep_insn *in = &env->insns[idx];
	return in->code == (BPF_JMP | BPF_CALL) && in->src == 0 && (in->imm == 181 || in->imm == 164);
}

static bool same_scalar(const struct vreg *a, const struct vreg *b)
{
	return a->type == SCALAR && b->type == SCALAR && a->var_off.value == b->var_off.value &&
	       a->var_off.mask == b->var_off.mask && a->smin == b->smin && a->smax == b->smax &&
	       a->umin == b->umin && a->umax == b->umax;
}

/* Scalars of cur that differ from old's become unknown (registers and spills). */
static void widen(const struct vstate *old, struct vstate *cur)
{
	if (old->curframe != cur->curframe)
		return;
	for (int i = 0; i <= cur->curframe; i++) {
		const struct vframe *of = old->frame[i];
		struct vframe *cf = cur->frame[i];
		for (int r = 0; r < MAX_BPF_REG; r++)
			if (cf->regs[r].type == SCALAR && !same_scalar(&of->regs[r], &cf->regs[r]))
				mark_reg_unknown(&cf->regs[r]);
		for (int s = 0; s < cf->nslots; s++) {
			struct vslot *cs = &cf->stack[s];
			if (cs->type[BPF_REG_SIZE - 1] != STACK_SPILL || cs->spilled.type != SCALAR)
				continue;
			if (s < of->nslots && of->stack[s].type[BPF_REG_SIZE - 1] == STACK_SPILL &&
			    same_scalar(&of->stack[s].spilled, &cs->spilled))
				continue;
			mark_reg_unknown(&cs->spilled);
		}
	}
}

/* 1: cur is contained in an explored state (prune), 0: go on, < 0: refused. */
static int is_state_visited(struct venv *env, int idx)
{
	struct vstate *cur = env->cur;
	struct insn_aux *aux = &env->aux[idx];
	bool add = aux->force_checkpoint ||
		   (env->jmps_processed - env->prev_jmps_processed >= 2 &&
		    env->insn_processed - env->prev_insn_processed >= 8);
	bool cb = is_cb_call(env, idx), widened = false;
	uint32_t nstates = 0, n;
	cur->insn_idx = idx;
	struct checkpoint **pprev = &env->explored[idx], *c;
	while ((c = *pprev)) {
		nstates++;
		if (c->branches) {
			/* an ancestor of this path: coming back no wider means looping forever,
			 * except at a callback's call, where the helper bounds the repetition */
			if (cb && !widened) {
				/* the callback ran again from here: what changed may change on every
				 * run, so forget it (widening), and the next run will be contained */
				widen(&c->st, cur);
				widened = true;
			}
			if (states_equal(env, &c->st, cur, RANGE_WITHIN)) {
				if (cb) {
					/* c is still being explored: what its paths will need is not
					 * known yet, so everything on this path is needed */
					c->hit++;
					mark_all_scalars_precise(env, cur);
					return 1;
				}
				vlog_state(env, cur, -1);
				return verr_code(env, -EINVAL, "infinite loop detected at insn %d", idx);
			}
			goto miss;
		}
		if (states_equal(env, &c->st, cur, NOT_EXACT)) {
			c->hit++;
			int err = 0;
			if (cur->last_idx >= 0 && cur->last_idx != idx - 1)
				err = hist_push(env, idx, cur->last_idx);
			if (!err)
				err = propagate_precision(env, &c->st);
			return err ? err : 1;
		}
miss:
		/* a state that keeps missing (an earlier loop iteration) costs more than it
		 * saves: off the list (the kernel's heuristic, more patient with loop heads
		 * still being explored), kept alive for the paths whose parent it is; counted
		 * only when a new state replaces it */
		n = aux->force_checkpoint && c->branches ? 64 : 3;
		if (add && ++c->miss > c->hit * n + n) {
			*pprev = c->next;
			c->next = env->free_list;
			c->in_free_list = true;
			env->free_list = c;
			env->cur_states--;
			nstates--;
			continue;
		}
		pprev = &c->next;
	}
	if (!add || (!env->allow_ptr_leaks && nstates >= COMPLEXITY_LIMIT_STATES))
		return 0;
	c = calloc(1, sizeof *c);
	if (!c || state_copy(&c->st, cur)) {
		free(c);
		return -ENOMEM;
	}
	c->insn = idx;
	c->branches = 1;
	c->parent = cur->parent;
	c->st.parent = NULL;
	cur->hist_len = 0;   /* the checkpoint keeps the path's history up to here */
	c->next = env->explored[idx];
	env->explored[idx] = c;
	cur->parent = c;
	env->prev_jmps_processed = env->jmps_processed;
	env->prev_insn_processed = env->insn_processed;
	env->total_states++;
	env->cur_states++;
	if (env->cur_states > env->peak_states)
		env->peak_states = env->cur_states;
	if (nstates + 1 > env->max_states_per_insn)
		env->max_states_per_insn = nstates + 1;
	return 0;
}

static const struct vmap *find_map(struct venv *env, int src, int32_t imm, int *err)
{
	int key_src = (src == BPF_PSEUDO_MAP_VALUE) ? BPF_PSEUDO_MAP_FD :
		      (src == BPF_PSEUDO_MAP_IDX_VALUE) ? BPF_PSEUDO_MAP_IDX : src;
	for (int i = 0; i < env->nmaps; i++)
		if (env->maps[i].src == key_src && env->maps[i].imm == imm)
			return &env->maps[i];
	struct skep_verifier_map m;
	memset(&m, 0, sizeof m);
	m.spin_lock_off = -1;
	int r;
	if (env->map_info) {
		r = env->map_info(env->map_ctx, key_src, imm, &m);
	} else if (key_src == BPF_PSEUDO_MAP_FD) {
		skep_map *sm = skep_map_by_id((uint32_t)imm);
		r = sm ? 0 : -EBADF;
		if (sm) {
			m.type = skep_map_type(sm);
			m.key_size = skep_map_key_size(sm);
			m.value_size = skep_map_value_size(sm);
			m.max_entries = skep_map_max_entries(sm);
			struct skep_map_info mi;
			if (!skep_map_get_info(sm, &mi))
				m.map_flags = mi.map_flags;
		}
	} else {
		r = -EBADF;
	}
	if (r) {
		*err = verr_code(env, -EBADF, "fd %d is not pointing to valid bpf_map", imm);
		return NULL;
	}
	if (env->nmaps == env->maps_cap) {
		/* maps are few; registers point into this array, so it never moves */
		*err = verr_code(env, -E2BIG, "too many maps (%d)", env->maps_cap);
		return NULL;
	}
	struct vmap *v = &env->maps[env->nmaps++];
	v->m = m;
	v->src = key_src;
	v->imm = imm;
	return v;
}

/* An lddw of a map value's address (BPF_PSEUDO_MAP_VALUE): as the kernel's
 * array_map_direct_value_addr, only a single-element array, and inside its value. */
static int check_direct_value(struct venv *env, const struct vmap *m, uint32_t off)
{
	if (off >= m->m.value_size)
		return verr(env, "invalid access to map value pointer, value_size=%u off=%u",
			    m->m.value_size, off);
	if (m->m.type != SKEP_MAP_TYPE_ARRAY || m->m.max_entries != 1)
		return verr_code(env, -EINVAL, "map direct value access needs a single-element array");
	return 0;
}

static int check_ld_imm(struct venv *env, const struct skep_insn *insn, int idx)
{
	struct vreg *dst = &cur_regs(env)[insn->dst];
	const struct skep_insn *hi = &env->insns[idx + 1];
	int err = 0;
	if (insn->dst == BPF_REG_FP)
		return verr(env, "frame pointer is read only");
	memset(dst, 0, sizeof *dst);
	switch (insn->src) {
	case 0:
		dst->type = SCALAR;
		mark_reg_known(dst, (uint64_t)(uint32_t)insn->imm | (uint64_t)(uint32_t)hi->imm << 32);
		return 0;
	case BPF_PSEUDO_FUNC: {
		int sp = find_subprog(env, idx + insn->imm + 1);
		if (sp < 0)
			return verr_code(env, -EINVAL, "no subprogram at insn %d", idx + insn->imm + 1);
		dst->type = PTR_TO_FUNC;
		mark_reg_known_zero(dst);
		dst->subprog = sp;
		return 0;
	}
	case BPF_PSEUDO_MAP_FD:
	case BPF_PSEUDO_MAP_IDX: {
		const struct vmap *m = find_map(env, insn->src, insn->imm, &err);
		if (!m)
			return err;
		dst->type = CONST_PTR_TO_MAP;
		mark_reg_known_zero(dst);
		dst->map = m;
		return 0;
	}
	case BPF_PSEUDO_MAP_VALUE:
	case BPF_PSEUDO_MAP_IDX_VALUE: {
		const struct vmap *m = find_map(env, insn->src, insn->imm, &err);
		if (!m)
			return err;
		if ((err = check_direct_value(env, m, (uint32_t)hi->imm)))
			return err;
		dst->type = PTR_TO_MAP_VALUE;
		mark_reg_known_zero(dst);
		dst->map = m;
		dst->off = hi->imm;
		return 0;
	}
	default:
		return verr_code(env, -EINVAL, "unsupported lddw pseudo source %d", insn->src);
	}
}

/* Every map an lddw names must exist, reachable or not: the kernel resolves them all
 * before it verifies (resolve_pseudo_ldimm64), so dead code cannot hide a bad one. */
static int resolve_maps(struct venv *env)
{
	int err = 0;
	for (size_t i = 0; i + 1 < env->n; i++) {
		const struct skep_insn *in = &env->insns[i];
		if (in->code != 0x18)
			continue;
		if (in->src == BPF_PSEUDO_MAP_FD || in->src == BPF_PSEUDO_MAP_VALUE ||
		    in->src == BPF_PSEUDO_MAP_IDX || in->src == BPF_PSEUDO_MAP_IDX_VALUE) {
			env->cur->insn_idx = (int)i;
			const struct vmap *m = find_map(env, in->src, in->imm, &err);
			if (!m)
				return err;
			if ((in->src == BPF_PSEUDO_MAP_VALUE || in->src == BPF_PSEUDO_MAP_IDX_VALUE) &&
			    (err = check_direct_value(env, m, (uint32_t)in[1].imm)))
				return err;
		}
		i++;
	}
	env->cur->insn_idx = 0;
	return 0;
}

static int pop_stack(struct venv *env)
{
	state_free(env->cur);
	env->cur = NULL;
	if (!env->stack_len)
		return 0;
	struct vstate *st = env->stack[--env->stack_len];
	env->cur = st;
	if (env->log.level == 1)
		vlog_reset(env, st->log_pos);
	if (env->log.level >= 2) {
		vlog(env, "\nfrom %d to %d:", st->prev_insn_idx, st->insn_idx);
		vlog_state(env, st, -1);
	}
	return 1;
}

static int do_check(struct venv *env)
{
	for (;;) {
		struct vstate *st = env->cur;
		int idx = st->insn_idx, at = idx, err = 0;
		env->hist_fresh = false;
		if (idx < 0 || (size_t)idx >= env->n)
			return verr_code(env, -EFAULT, "invalid insn idx %d insn_cnt %zu", idx, env->n);
		if (++env->insn_processed > env->insn_limit)
			return verr_code(env, -E2BIG, "BPF program is too large. Processed %llu insn",
					 (unsigned long long)env->insn_processed);
		if (env->aux[idx].prune_point || env->aux[idx].force_checkpoint) {
			err = is_state_visited(env, idx);
			if (err < 0)
				return err;
			if (err == 1) {
				if (env->log.level)
					vlog(env, "%d: safe\n", idx);
				goto path_end;
			}
		}
		if (st->last_idx >= 0 && st->last_idx != idx - 1 && (err = hist_push(env, idx, st->last_idx)))
			return err;
		const struct skep_insn *insn = &env->insns[idx];
		enum isa_op op = isa_decode(insn);
		if (env->log.level)
			vlog_insn(env, idx);
		env->aux[idx].seen = 1;
		st->insn_idx = idx;
		switch (isa_ops[op].kind) {
		case K_ALU: case K_NEG: case K_MOV: case K_MOVSX: case K_END:
			err = check_alu_op(env, insn, op);
			break;
		case K_LDX: case K_ST: case K_STX:
			err = check_load_store(env, insn, op, idx);
			break;
		case K_ATOMIC:
			err = check_atomic(env, insn, op, idx);
			break;
		case K_LDDW:
			err = check_ld_imm(env, insn, idx);
			idx++;
			break;
		case K_LDPKT:
			err = check_ld_abs(env, insn, op);
			break;
		case K_JA:
			env->jmps_processed++;
			idx += op == OP_GOTOL ? insn->imm : insn->off;
			break;
		case K_JCOND:
			env->jmps_processed++;
			err = check_cond_jmp_op(env, insn, &idx);
			if (err == 1) {
				/* the fall-through cannot happen */
				goto path_end;
			}
			break;
		case K_CALL:
			env->jmps_processed++;
			if (op == OP_CALL_LOCAL)
				err = check_func_call(env, insn, &idx);
			else if (op == OP_CALL_KFUNC)
				/* a kfunc is named by its BTF id in the kernel's (or a module's, off) BTF:
				 * without that BTF its prototype is unknown */
				err = verr_code(env, -EINVAL, "calling kernel functions is not supported: kfunc "
						"with BTF id %d (btf %d) needs the kernel's BTF to be checked",
						insn->imm, insn->off);
			else
				err = check_helper_call(env, insn, &idx);
			break;
		case K_EXIT:
			env->jmps_processed++;
			if (st->curframe) {
				err = prepare_func_exit(env, &idx);
				break;
			}
			if ((err = check_return_code(env)))
				return err;
			goto path_end;
		default:
			return verr_code(env, -EINVAL, "unknown opcode %02x", insn->code);
		}
		if (err)
			return err;
		if (env->log.level >= 2) {
			vlog(env, "%d:", idx);
			vlog_state(env, env->cur, -1);
		}
		env->cur->insn_idx = idx + 1;
		env->cur->last_idx = at;
		continue;
path_end:
		update_branch_counts(env->cur->parent);
		if (!pop_stack(env))
			return 0;
	}
}

int skep_verify(const struct skep_insn *insns, size_t n, const struct skep_verify_opts *opts,
		struct skep_verify_result *res)
{
	if (!insns || !opts || !res)
		return -EINVAL;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(res, 0, sizeof *res);
	res->insn = -1;
	struct venv *env = calloc(1, sizeof *env);
	if (!env)
		return -ENOMEM;
	env->insns = insns;
	env->n = n;
	env->prog_type = opts->prog_type;
	env->attach_type = opts->expected_attach_type;
	env->flags = opts->flags;
	env->allow_ptr_leaks = !(opts->flags & SKEP_VERIFY_UNPRIV);
	env->allow_uninit_stack = opts->flags & SKEP_VERIFY_ALLOW_UNINIT_STACK;
	env->insn_limit = opts->insn_limit ? opts->insn_limit : SKEP_MAX_INSNS;
	env->map_info = opts->map_info;
	env->map_ctx = opts->map_ctx;
	env->log.buf = opts->log_buf;
	env->log.size = opts->log_buf ? opts->log_size : 0;
	env->log.level = opts->log_buf && opts->log_size ? opts->log_level : 0;
	if (env->log.buf && env->log.size)
		env->log.buf[0] = 0;
	env->err_insn = -1;
	env->maps_cap = 64;
	env->maps = calloc((size_t)env->maps_cap, sizeof *env->maps);
	env->aux = calloc(n ? n : 1, sizeof *env->aux);
	env->explored = calloc(n ? n : 1, sizeof *env->explored);
	env->cur = state_new();
	int err = 0;
	if (!env->maps || !env->aux || !env->explored || !env->cur) {
		err = -ENOMEM;
		goto done;
	}
	env->cur->last_idx = -1;
	env->cur->frame[0] = frame_new(0, -1, 0);
	if (!env->cur->frame[0]) {
		err = -ENOMEM;
		goto done;
	}
	env->ctx = ctx_desc_for(env->prog_type);
	if (env->prog_type == 0) {
		err = verr_code(env, -EOPNOTSUPP,
				"memory programs (type 0) cannot be verified: r1's size is known only at run time; "
				"give a program type, or run on the checked engine");
		goto done;
	}
	if (!env->ctx) {
		err = verr_code(env, -EINVAL, "unknown program type %u", env->prog_type);
		goto done;
	}
	struct vreg *r1 = &env->cur->frame[0]->regs[1];
	r1->type = PTR_TO_CTX;
	mark_reg_known_zero(r1);
	if ((err = check_structure(env)) || (err = resolve_maps(env)))
		goto done;
	env->cur->insn_idx = 0;
	if ((err = do_check(env)))
		goto done;
	if ((err = check_max_stack_depth(env)))
		goto done;
done:
	clock_gettime(CLOCK_MONOTONIC, &t1);
	res->verification_us = (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000);
	res->processed_insns = env->insn_processed;
	res->total_states = env->total_states;
	res->peak_states = env->peak_states;
	res->max_states_per_insn = env->max_states_per_insn;
	int ret = 0;
	if (err == -ENOMEM && !env->errmsg[0]) {
		ret = -ENOMEM;
	} else if (err) {
		res->accepted = 0;
		res->error = err;
		res->insn = env->err_insn;
		snprintf(res->msg, sizeof res->msg, "%s", env->errmsg[0] ? env->errmsg : "refused");
		if (env->cur && env->log.level && env->cur->frame[0])
			vlog_state(env, env->cur, -1);
	} else {
		res->accepted = 1;
		res->mem_safe = calloc(n, 1);
		res->n = n;
		if (res->mem_safe)
			for (size_t i = 0; i < n; i++)
				res->mem_safe[i] = env->aux[i].mem_access && !env->aux[i].mem_unsafe;
	}
	if (env->subprogs) {
		int depth = 0;
		for (int i = 0; i < env->nsubprogs; i++)
			depth += env->subprogs[i].stack_depth;
		res->stack_depth = (uint32_t)depth;
	}
	if (env->log.level) {
		vlog(env, "processed %llu insns (limit %llu) max_states_per_insn %u total_states %u peak_states %u mark_read 0\n",
		     (unsigned long long)env->insn_processed, (unsigned long long)env->insn_limit,
		     env->max_states_per_insn, env->total_states, env->peak_states);
		vlog(env, "verification time %llu usec\n", (unsigned long long)res->verification_us);
	}
	/* free */
	if (env->explored) {
		for (size_t i = 0; i < n; i++) {
			struct checkpoint *c = env->explored[i];
			while (c) {
				struct checkpoint *nx = c->next;
				state_free_frames(&c->st);
				free(c);
				c = nx;
			}
		}
	}
	for (struct checkpoint *c = env->free_list, *nx; c; c = nx) {
		nx = c->next;
		state_free_frames(&c->st);
		free(c);
	}
	for (int i = 0; i < env->stack_len; i++)
		state_free(env->stack[i]);
	free(env->stack);
	state_free(env->cur);
	free(env->explored);
	free(env->aux);
	free(env->subprogs);
	free(env->maps);
	free(env);
	return ret;
}

void skep_verify_result_free(struct skep_verify_result *res)
{
	if (res) {
		free(res->mem_safe);
		res->mem_safe = NULL;
	}
}
