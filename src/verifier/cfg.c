/* Structure, before any path is walked: valid instructions, jumps inside their
 * subprogram and not into a lddw, every subprogram ending in exit or a jump, every
 * instruction reachable, no recursion, no call chain over 8 frames; prune points and
 * loop heads; which registers are live at each instruction (so pruning can ignore dead
 * ones); and after the walk, the combined stack of every call chain. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "verifier.h"

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

int find_subprog(struct venv *env, int start)
{
	int lo = 0, hi = env->nsubprogs - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		if (env->subprogs[mid].start == start)
			return mid;
		if (env->subprogs[mid].start < start)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* Jump target of insn i, or -1 when it is not a jump. */
static long jump_target(const struct skep_insn *in, long i, enum isa_op op)
{
	switch (isa_ops[op].kind) {
	case K_JA: return i + 1 + (op == OP_GOTOL ? in->imm : in->off);
	case K_JCOND: return i + 1 + in->off;
	default: return -1;
	}
}

static bool is_second_half(const unsigned char *half, long t) { return half[t]; }

/* Registers an instruction reads and writes (bit per register). */
static void insn_use_def(const struct skep_insn *in, enum isa_op op, uint16_t *use, uint16_t *def)
{
	const struct isa_opinfo *oi = &isa_ops[op];
	uint16_t u = 0, d = 0;
	uint16_t D = (uint16_t)(1u << in->dst), S = (uint16_t)(1u << in->src);
	switch (oi->kind) {
	case K_ALU: u = D | (BPF_SRC(in->code) == BPF_X ? S : 0); d = D; break;
	case K_NEG: case K_END: u = D; d = D; break;
	case K_MOV: case K_MOVSX: u = BPF_SRC(in->code) == BPF_X ? S : 0; d = D; break;
	case K_JA: break;
	case K_JCOND: u = D | (BPF_SRC(in->code) == BPF_X ? S : 0); break;
	case K_CALL: u = 0x3e; d = 0x3f; break;           /* r1-r5 in, r0-r5 clobbered */
	case K_EXIT: u = 1; break;
	case K_LDDW: d = D; break;
	case K_LDX: u = S; d = D; break;
	case K_ST: u = D; break;
	case K_STX: u = D | S; break;
	case K_ATOMIC:
		u = D | S;
		if (in->imm == BPF_CMPXCHG) { u |= 1; d = 1; }
		else if (in->imm & BPF_FETCH) d = S;
		break;
	case K_LDPKT: u = (1u << 6) | (BPF_MODE(in->code) == BPF_IND ? S : 0); d = 0x3f; break;
	}
	*use = u;
	*def = d;
}

static void compute_liveness(struct venv *env)
{
	size_t n = env->n;
	uint16_t *use = calloc(n, sizeof *use), *def = calloc(n, sizeof *def);
	if (!use || !def) {
		/* without the analysis every register counts as live: pruning is weaker, not wrong */
		for (size_t i = 0; i < n; i++)
			env->aux[i].live = 0x7ff;
		free(use);
		free(def);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		enum isa_op op = isa_decode(&env->insns[i]);
		if (op != OP_INVALID)
			insn_use_def(&env->insns[i], op, &use[i], &def[i]);
		env->aux[i].live = 0;
	}
	bool changed = true;
	while (changed) {
		changed = false;
		for (long i = (long)n - 1; i >= 0; i--) {
			const struct skep_insn *in = &env->insns[i];
			if (i > 0 && isa_is_lddw(env->insns[i - 1].code) && !env->aux[i].seen && env->aux[i].subprog < 0)
				continue;
			enum isa_op op = isa_decode(in);
			if (op == OP_INVALID)
				continue;
			uint16_t out = 0;
			int kind = isa_ops[op].kind;
			long next = i + (kind == K_LDDW ? 2 : 1);
			if (kind != K_EXIT && kind != K_JA && next < (long)n)
				out |= env->aux[next].live;
			long t = jump_target(in, i, op);
			if (t >= 0 && t < (long)n)
				out |= env->aux[t].live;
			uint16_t live = (uint16_t)(use[i] | (out & ~def[i]));
			if (live != env->aux[i].live) {
				env->aux[i].live = live;
				changed = true;
			}
		}
	}
	free(use);
	free(def);
}

/* Call graph: recursion and frame depth. */
static int check_call_graph(struct venv *env, int sp, int depth, int *onstack, int *path, int *plen)
{
	if (depth > MAX_CALL_FRAMES)
		return verr_code(env, -E2BIG, "the call stack of %d frames is too deep !", depth);
	onstack[sp] = 1;
	path[(*plen)++] = sp;
	const struct subprog *s = &env->subprogs[sp];
	for (int i = s->start; i < s->end; i++) {
		const struct skep_insn *in = &env->insns[i];
		enum isa_op op = isa_decode(in);
		if (op != OP_CALL_LOCAL && op != OP_LDDW_FUNC)
			continue;
		int t = find_subprog(env, i + in->imm + 1);
		if (t < 0)
			continue;
		if (onstack[t]) {
			env->cur->insn_idx = i;
			return verr_code(env, -EINVAL, "recursive call from insn %d to %d", i, env->subprogs[t].start);
		}
		int err = check_call_graph(env, t, depth + 1, onstack, path, plen);
		if (err)
			return err;
	}
	onstack[sp] = 0;
	(*plen)--;
	return 0;
}

int check_structure(struct venv *env)
{
	const struct skep_insn *insns = env->insns;
	size_t n = env->n;
	struct skep_diag diag;
	int err = 0;

	if (n == 0)
		return verr_code(env, -EINVAL, "empty program");
	if (n > SKEP_MAX_INSNS)
		return verr_code(env, -E2BIG, "BPF program is too large: %zu insns (limit %u)", n, SKEP_MAX_INSNS);
	unsigned char *half = calloc(n, 1);
	int *starts = malloc(sizeof *starts * (n + 1));
	if (!half || !starts) {
		free(half);
		free(starts);
		return -ENOMEM;
	}
	int nstarts = 0;
	starts[nstarts++] = 0;
	/* opcodes and lddw pairs first, kernel-style messages for jumps after */
	for (size_t i = 0; i < n; i++) {
		if (half[i])
			continue;
		enum isa_op op = isa_decode(&insns[i]);
		if (op == OP_INVALID)
			break;   /* the validator below names it */
		if (isa_ops[op].kind == K_LDDW) {
			if (i + 1 >= n) {
				env->cur->insn_idx = (int)i;
				err = verr_code(env, -EINVAL, "invalid bpf_ld_imm64 insn");
				goto out;
			}
			half[i + 1] = 1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (half[i])
			continue;
		enum isa_op op = isa_decode(&insns[i]);
		if (op == OP_INVALID)
			continue;
		int kind = isa_ops[op].kind;
		bool local = op == OP_CALL_LOCAL || op == OP_LDDW_FUNC;
		if (kind != K_JA && kind != K_JCOND && !local)
			continue;
		long t = local ? (long)i + 1 + insns[i].imm : jump_target(&insns[i], (long)i, op);
		env->cur->insn_idx = (int)i;
		if (t < 0 || t >= (long)n) {
			err = verr_code(env, -EINVAL, "jump out of range from insn %zu to %ld", i, t);
			goto out;
		}
		if (is_second_half(half, t)) {
			err = verr_code(env, -EINVAL, "jump to the middle of ldimm64 insn %ld", t);
			goto out;
		}
		if (local)
			starts[nstarts++] = (int)t;
	}
	/* subprograms */
	qsort(starts, (size_t)nstarts, sizeof *starts, cmp_int);
	int ns = 0;
	for (int i = 0; i < nstarts; i++)
		if (!ns || starts[ns - 1] != starts[i])
			starts[ns++] = starts[i];
	env->subprogs = calloc((size_t)ns, sizeof *env->subprogs);
	if (!env->subprogs) {
		err = -ENOMEM;
		goto out;
	}
	env->nsubprogs = ns;
	for (int i = 0; i < ns; i++) {
		env->subprogs[i].start = starts[i];
		env->subprogs[i].end = i + 1 < ns ? starts[i + 1] : (int)n;
		for (int k = env->subprogs[i].start; k < env->subprogs[i].end; k++)
			env->aux[k].subprog = i;
	}
	for (int s = 0; s < ns; s++) {
		const struct subprog *sp = &env->subprogs[s];
		for (int i = sp->start; i < sp->end; i++) {
			if (half[i])
				continue;
			enum isa_op op = isa_decode(&insns[i]);
			if (op == OP_INVALID || (isa_ops[op].kind != K_JA && isa_ops[op].kind != K_JCOND))
				continue;
			long t = jump_target(&insns[i], i, op);
			if ((t < sp->start || t >= sp->end)) {
				env->cur->insn_idx = i;
				err = verr_code(env, -EINVAL, "jump out of range from insn %d to %ld", i, t);
				goto out;
			}
		}
		int last = sp->end - 1;
		enum isa_op op = half[last] ? OP_INVALID : isa_decode(&insns[last]);
		if (op != OP_INVALID && op != OP_EXIT && op != OP_JA && op != OP_GOTOL) {
			env->cur->insn_idx = last;
			err = verr_code(env, -EINVAL, "last insn is not an exit or jmp");
			goto out;
		}
	}
	if (skep_insns_validate(insns, n, 0, &diag)) {
		const char *m = diag.msg;
		const char *colon = strstr(m, ": ");
		env->cur->insn_idx = (int)(diag.where >= 0 ? diag.where : 0);
		err = verr_code(env, -EINVAL, "%s", colon ? colon + 2 : m);
		goto out;
	}
	/* reachability (iterative DFS) and loop heads (targets of back edges) */
	{
		int *stack = malloc(sizeof *stack * n);
		uint8_t *state = calloc(n, 1);   /* 0 new, 1 on the DFS path, 2 done */
		int *next_edge = calloc(n, sizeof *next_edge);
		if (!stack || !state || !next_edge) {
			free(stack);
			free(state);
			free(next_edge);
			err = -ENOMEM;
			goto out;
		}
		for (int root = 0; root < ns; root++) {
			int r0 = env->subprogs[root].start;
			if (state[r0])
				continue;
			if (root && !env->aux[r0].seen)
				continue;   /* subprograms only from their calls */
			int sp = 0;
			stack[sp++] = r0;
			state[r0] = 1;
			env->aux[r0].seen = 1;
			while (sp) {
				int i = stack[sp - 1];
				enum isa_op op = isa_decode(&insns[i]);
				int kind = isa_ops[op].kind;
				long succ[3];
				int nsucc = 0;
				if (kind != K_EXIT && kind != K_JA)
					succ[nsucc++] = i + (kind == K_LDDW ? 2 : 1);
				long t = jump_target(&insns[i], i, op);
				if (t >= 0)
					succ[nsucc++] = t;
				if (op == OP_CALL_LOCAL || op == OP_LDDW_FUNC) {
					long c = i + 1 + insns[i].imm;
					env->aux[c].seen = 1;   /* walked as its own root */
				}
				if (next_edge[i] < nsucc) {
					long s = succ[next_edge[i]++];
					if (s >= (long)n)
						continue;
					if (t >= 0 && s == t)
						env->aux[s].prune_point = 1;
					if (state[s] == 1) {
						env->aux[s].force_checkpoint = 1;   /* loop head */
					} else if (!state[s]) {
						state[s] = 1;
						env->aux[s].seen = 1;
						stack[sp++] = (int)s;
					}
					continue;
				}
				state[i] = 2;
				sp--;
			}
			/* later subprograms may have become reachable: restart the scan */
			if (root + 1 < ns)
				for (int k = 0; k <= root; k++)
					(void)k;
		}
		/* subprograms reached only through calls from later roots: loop until stable */
		bool again = true;
		while (again) {
			again = false;
			for (int root = 1; root < ns; root++) {
				int r0 = env->subprogs[root].start;
				if (!env->aux[r0].seen || state[r0])
					continue;
				again = true;
				int sp = 0;
				stack[sp++] = r0;
				state[r0] = 1;
				while (sp) {
					int i = stack[sp - 1];
					enum isa_op op = isa_decode(&insns[i]);
					int kind = isa_ops[op].kind;
					long succ[3];
					int nsucc = 0;
					if (kind != K_EXIT && kind != K_JA)
						succ[nsucc++] = i + (kind == K_LDDW ? 2 : 1);
					long t = jump_target(&insns[i], i, op);
					if (t >= 0)
						succ[nsucc++] = t;
					if (op == OP_CALL_LOCAL || op == OP_LDDW_FUNC)
						env->aux[i + 1 + insns[i].imm].seen = 1;
					if (next_edge[i] < nsucc) {
						long s = succ[next_edge[i]++];
						if (s >= (long)n)
							continue;
						if (t >= 0 && s == t)
							env->aux[s].prune_point = 1;
						if (state[s] == 1)
							env->aux[s].force_checkpoint = 1;
						else if (!state[s]) {
							state[s] = 1;
							env->aux[s].seen = 1;
							stack[sp++] = (int)s;
						}
						continue;
					}
					state[i] = 2;
					sp--;
				}
			}
		}
		for (size_t i = 0; i < n && !err; i++) {
			if (half[i] || state[i])
				continue;
			env->cur->insn_idx = (int)i;
			err = verr_code(env, -EINVAL, "unreachable insn %zu", i);
		}
		free(stack);
		free(state);
		free(next_edge);
		if (err)
			goto out;
	}
	/* prune points: conditional jumps, calls and what follows them */
	for (size_t i = 0; i < n; i++) {
		if (half[i])
			continue;
		enum isa_op op = isa_decode(&insns[i]);
		int kind = isa_ops[op].kind;
		if (kind == K_JCOND || kind == K_CALL) {
			env->aux[i].prune_point = 1;
			if (i + 1 < n)
				env->aux[i + 1].prune_point = 1;
		}
		if (op == OP_CALL && (insns[i].imm == 181 || insns[i].imm == 164))
			env->aux[i].force_checkpoint = 1;
	}
	{
		int *onstack = calloc((size_t)ns, sizeof *onstack), *path = calloc((size_t)ns + 1, sizeof *path);
		int plen = 0;
		if (!onstack || !path)
			err = -ENOMEM;
		else
			err = check_call_graph(env, 0, 1, onstack, path, &plen);
		free(onstack);
		free(path);
		if (err)
			goto out;
	}
	for (size_t i = 0; i < n; i++)
		env->aux[i].seen = 0;
	compute_liveness(env);
out:
	free(half);
	free(starts);
	return err;
}

/* After the walk: the deepest chain of frames, each rounded up to 32 bytes as the
 * kernel does, must fit in 512 bytes. */
static int stack_chain(struct venv *env, int sp, int depth, int *max_depth, int *frames)
{
	const struct subprog *s = &env->subprogs[sp];
	int d = s->stack_depth < 1 ? 1 : s->stack_depth;
	d = (d + 31) & ~31;
	depth += d;
	if (depth > MAX_BPF_STACK)
		return verr_code(env, -EACCES, "combined stack size of %d calls is %d. Too large", *frames, depth);
	if (depth > *max_depth)
		*max_depth = depth;
	for (int i = s->start; i < s->end; i++) {
		enum isa_op op = isa_decode(&env->insns[i]);
		if (op != OP_CALL_LOCAL && op != OP_LDDW_FUNC)
			continue;
		int t = find_subprog(env, i + env->insns[i].imm + 1);
		if (t < 0)
			continue;
		(*frames)++;
		int err = stack_chain(env, t, depth, max_depth, frames);
		(*frames)--;
		if (err)
			return err;
	}
	return 0;
}

int check_max_stack_depth(struct venv *env)
{
	int max = 0, frames = 1;
	if (env->nsubprogs <= 1) {
		env->subprogs[0].stack_depth = env->subprogs[0].stack_depth;
		return 0;
	}
	return stack_chain(env, 0, 0, &max, &frames);
}
