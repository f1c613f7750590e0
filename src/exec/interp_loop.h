/* The interpreter loop, included twice by interp.c: once with CHECKED 0 (the fast
 * engine) and once with CHECKED 1 (bounds-checked, counting), under the function name
 * INTERP_FN. One source, so the two engines cannot disagree on semantics.
 *
 * Threaded code: every handler ends with its own indirect jump (GCC's computed goto).
 * The fast engine jumps through the address stored in the decoded instruction; the
 * checked one looks its own handler up by op, after counting the instruction.
 * Labels are L_<op name of optable.def>, so a missing handler fails the build. */

/* p is the program run (errors, count and limit go there); cur and c, the program
 * executing now and its code, change with tail calls. */
static int INTERP_FN(struct skep_prog *p, const struct interp_code *c, const struct dinsn *start,
		     const struct skep_run_args *a, uint64_t *r0, const void *const **export)
{
	static const void *const labels[OPI__COUNT] = {
#define X(name, ...) [OP_##name] = &&L_##name,
#include "isa/optable.def"
#undef X
		[OP_INVALID] = &&L_INVALID,
		[OPI_TAIL_CALL] = &&L_TAIL_CALL,
	};
	if (export) {
		*export = labels;
		return 0;
	}

	const struct dinsn *ip = start;  /* c->insns, or a callback's entry */
	const struct skep_prog *cur = p;
	uint64_t reg[11];
	struct {
		const struct dinsn *ret;
		const struct skep_prog *prog;
		const struct interp_code *code;
		uint64_t r6, r7, r8, r9;
	} fr[SKEP_MAX_CALL_DEPTH];
	unsigned depth = 0, tail_calls = 0;
	/* frame k lives in stack[MAX - 1 - k]: deeper frames at lower addresses. The stack
	 * is this call's own memory. Like the kernel, the fast engine does not clear it
	 * (a verified program never reads a slot it did not write; clearing 512 bytes
	 * would triple the cost of a short run); the checked engine zero-fills each frame
	 * when it is entered, so its runs are deterministic even for unverified code. */
	_Alignas(64) uint8_t stack[SKEP_MAX_CALL_DEPTH][SKEP_STACK_SIZE];
	uint64_t addr;
	int access;  /* checked engine: what the faulting access was */
	(void)access;
#if CHECKED
	uint64_t count = 0, limit = p->insn_limit ? p->insn_limit : UINT64_MAX;
#define SAVE_COUNT(n) __atomic_store_n(&p->insn_count, (n), __ATOMIC_RELAXED)
#define DISPATCH() do { if (__builtin_expect(++count > limit, 0)) goto limit_hit; \
			goto *labels[ip->op]; } while (0)
	/* refuse [addr, addr + n) unless it is inside an active frame or a region */
	/* (not for an access the verifier proved in bounds: ip->safe) */
#define MEM(n, kind) do { access = (kind); \
		if (__builtin_expect(!ip->safe && !mem_ok(addr, (n), (kind), stack, depth, a), 0)) goto fault; \
	} while (0)
#define MEM_ATOMIC(n) do { MEM(n, ACC_ATOMIC); if (addr & ((n) - 1)) goto misaligned; } while (0)
#else
#define SAVE_COUNT(n) ((void)0)
#define DISPATCH() goto *ip->label
#define MEM(n, kind) ((void)0)
#define MEM_ATOMIC(n) ((void)0)
#endif
#define NEXT() do { ip++; DISPATCH(); } while (0)
#define DST reg[ip->dst]
#define SRC reg[ip->src]
#define IMM (ip->imm)
#define OFF (ip->off)

#if CHECKED
	memset(stack[SKEP_MAX_CALL_DEPTH - 1], 0, SKEP_STACK_SIZE);
#endif
	reg[0] = 0;
	for (int i = 0; i < 5; i++) {
		uint64_t v = a->r[i];
		__asm__("" : "+r"(v));  /* keep it scalar: a vector copy stalls on the caller's stores */
		reg[i + 1] = v;
	}
	reg[6] = reg[7] = reg[8] = reg[9] = 0;
	reg[10] = (uint64_t)(uintptr_t)stack[SKEP_MAX_CALL_DEPTH];
	DISPATCH();

	/* ALU: 32-bit results are zero-extended into the 64-bit register */
#define ALU(N, OP) \
	L_##N##64_IMM: DST = DST OP IMM; NEXT(); \
	L_##N##64_REG: DST = DST OP SRC; NEXT(); \
	L_##N##32_IMM: DST = (uint32_t)DST OP (uint32_t)IMM; NEXT(); \
	L_##N##32_REG: DST = (uint32_t)DST OP (uint32_t)SRC; NEXT();
	ALU(ADD, +)
	ALU(SUB, -)
	ALU(MUL, *)
	ALU(OR, |)
	ALU(AND, &)
	ALU(XOR, ^)
#undef ALU
	/* shift amounts are masked to the operand width */
#define SHIFT(N, OP) \
	L_##N##64_IMM: DST = DST OP (IMM & 63); NEXT(); \
	L_##N##64_REG: DST = DST OP (SRC & 63); NEXT(); \
	L_##N##32_IMM: DST = (uint32_t)DST OP (IMM & 31); NEXT(); \
	L_##N##32_REG: DST = (uint32_t)DST OP (SRC & 31); NEXT();
	SHIFT(LSH, <<)
	SHIFT(RSH, >>)
#undef SHIFT
	L_ARSH64_IMM: DST = (uint64_t)((int64_t)DST >> (IMM & 63)); NEXT();
	L_ARSH64_REG: DST = (uint64_t)((int64_t)DST >> (SRC & 63)); NEXT();
	L_ARSH32_IMM: DST = (uint32_t)((int32_t)DST >> (IMM & 31)); NEXT();
	L_ARSH32_REG: DST = (uint32_t)((int32_t)DST >> (SRC & 31)); NEXT();
	/* division: see the helpers in interp.c for the by-zero and overflow cases */
#define DIV(N, F64, F32) \
	L_##N##64_IMM: DST = F64(DST, IMM); NEXT(); \
	L_##N##64_REG: DST = F64(DST, SRC); NEXT(); \
	L_##N##32_IMM: DST = F32((uint32_t)DST, (uint32_t)IMM); NEXT(); \
	L_##N##32_REG: DST = F32((uint32_t)DST, (uint32_t)SRC); NEXT();
	DIV(DIV, udiv64, udiv32)
	DIV(MOD, umod64, umod32)
	DIV(SDIV, sdiv64, sdiv32)
	DIV(SMOD, smod64, smod32)
#undef DIV
	L_NEG64: DST = -DST; NEXT();
	L_NEG32: DST = (uint32_t)-(uint32_t)DST; NEXT();
	L_MOV64_IMM: DST = IMM; NEXT();
	L_MOV64_REG: DST = SRC; NEXT();
	L_MOV32_IMM: DST = (uint32_t)IMM; NEXT();
	L_MOV32_REG: DST = (uint32_t)SRC; NEXT();
	L_MOVSX32_8: DST = (uint32_t)(int32_t)(int8_t)SRC; NEXT();
	L_MOVSX32_16: DST = (uint32_t)(int32_t)(int16_t)SRC; NEXT();
	L_MOVSX64_8: DST = (uint64_t)(int64_t)(int8_t)SRC; NEXT();
	L_MOVSX64_16: DST = (uint64_t)(int64_t)(int16_t)SRC; NEXT();
	L_MOVSX64_32: DST = (uint64_t)(int64_t)(int32_t)SRC; NEXT();
	/* byte order: le/be convert from host order, then zero-extend; bswap always swaps */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	L_LE16: DST = (uint16_t)DST; NEXT();
	L_LE32: DST = (uint32_t)DST; NEXT();
	L_LE64: NEXT();
	L_BE16: DST = __builtin_bswap16((uint16_t)DST); NEXT();
	L_BE32: DST = __builtin_bswap32((uint32_t)DST); NEXT();
	L_BE64: DST = __builtin_bswap64(DST); NEXT();
#else
	L_BE16: DST = (uint16_t)DST; NEXT();
	L_BE32: DST = (uint32_t)DST; NEXT();
	L_BE64: NEXT();
	L_LE16: DST = __builtin_bswap16((uint16_t)DST); NEXT();
	L_LE32: DST = __builtin_bswap32((uint32_t)DST); NEXT();
	L_LE64: DST = __builtin_bswap64(DST); NEXT();
#endif
	L_BSWAP16: DST = __builtin_bswap16((uint16_t)DST); NEXT();
	L_BSWAP32: DST = __builtin_bswap32((uint32_t)DST); NEXT();
	L_BSWAP64: DST = __builtin_bswap64(DST); NEXT();

	/* jumps: targets were resolved to decoded instructions by interp_prepare */
	L_JA: L_GOTOL: ip = ip->target; DISPATCH();
#define JCC(N, T, T32, COND) \
	L_##N##_IMM: ip = COND((T)DST, (T)IMM) ? ip->target : ip + 1; DISPATCH(); \
	L_##N##_REG: ip = COND((T)DST, (T)SRC) ? ip->target : ip + 1; DISPATCH(); \
	L_##N##32_IMM: ip = COND((T32)DST, (T32)IMM) ? ip->target : ip + 1; DISPATCH(); \
	L_##N##32_REG: ip = COND((T32)DST, (T32)SRC) ? ip->target : ip + 1; DISPATCH();
#define C_EQ(x, y) ((x) == (y))
#define C_NE(x, y) ((x) != (y))
#define C_GT(x, y) ((x) > (y))
#define C_GE(x, y) ((x) >= (y))
#define C_LT(x, y) ((x) < (y))
#define C_LE(x, y) ((x) <= (y))
#define C_SET(x, y) (((x) & (y)) != 0)
	JCC(JEQ, uint64_t, uint32_t, C_EQ)
	JCC(JNE, uint64_t, uint32_t, C_NE)
	JCC(JGT, uint64_t, uint32_t, C_GT)
	JCC(JGE, uint64_t, uint32_t, C_GE)
	JCC(JLT, uint64_t, uint32_t, C_LT)
	JCC(JLE, uint64_t, uint32_t, C_LE)
	JCC(JSET, uint64_t, uint32_t, C_SET)
	JCC(JSGT, int64_t, int32_t, C_GT)
	JCC(JSGE, int64_t, int32_t, C_GE)
	JCC(JSLT, int64_t, int32_t, C_LT)
	JCC(JSLE, int64_t, int32_t, C_LE)
#undef JCC

	L_CALL: {
		skep_helper_fn fn = IMM < cur->nhelpers ? cur->helpers[IMM] : NULL;
		if (__builtin_expect(!fn, 0))
			goto unbound;
#if CHECKED
		/* r1..r5 against the helper's prototype (helper_check.c) */
		const struct hc_env he = {p, cur, c, a, stack[SKEP_MAX_CALL_DEPTH - 1 - depth],
					  (size_t)(depth + 1) * SKEP_STACK_SIZE, (size_t)(ip - c->insns), 0, NULL};
		int herr = helper_check(&he, (uint32_t)IMM, fn, &reg[1]);
		if (__builtin_expect(herr != 0, 0)) {
			SAVE_COUNT(count);
			return herr;
		}
		/* helpers that call back into the program (exec_cb_*) learn the run's
		 * memory from here, and report a failed callback run */
		struct exec_run run;
		run.args = a, run.stack = stack[SKEP_MAX_CALL_DEPTH - 1 - depth];
		run.stack_size = (size_t)(depth + 1) * SKEP_STACK_SIZE;
		run.err = 0, run.prev = exec_run_cur;
		exec_run_cur = &run;
		reg[0] = fn(reg[1], reg[2], reg[3], reg[4], reg[5]);
		exec_run_cur = run.prev;
		reg[0] = helper_checked_ret((uint32_t)IMM, fn, &reg[1], reg[0]);
		if (__builtin_expect(run.err != 0, 0)) {
			SAVE_COUNT(count);
			return prog_fail(p, run.err, "insn %zu: in a callback: %s", (size_t)(ip - c->insns), run.msg);
		}
#else
		reg[0] = fn(reg[1], reg[2], reg[3], reg[4], reg[5]);
#endif
		NEXT();
	}
	/* bpf-to-bpf call: a new frame with its own stack; r6-r9 saved for the caller */
	L_CALL_LOCAL:
		if (__builtin_expect(depth + 1 >= SKEP_MAX_CALL_DEPTH, 0))
			goto too_deep;
		fr[depth].ret = ip + 1;
		fr[depth].prog = cur, fr[depth].code = c;
		fr[depth].r6 = reg[6], fr[depth].r7 = reg[7];
		fr[depth].r8 = reg[8], fr[depth].r9 = reg[9];
		depth++;
#if CHECKED
		memset(stack[SKEP_MAX_CALL_DEPTH - 1 - depth], 0, SKEP_STACK_SIZE);
#endif
		reg[10] = (uint64_t)(uintptr_t)stack[SKEP_MAX_CALL_DEPTH - depth];
		ip = ip->target;
		DISPATCH();
	L_EXIT:
		if (depth == 0)
			goto done;
		depth--;
		reg[6] = fr[depth].r6, reg[7] = fr[depth].r7;
		reg[8] = fr[depth].r8, reg[9] = fr[depth].r9;
		reg[10] = (uint64_t)(uintptr_t)stack[SKEP_MAX_CALL_DEPTH - depth];
		ip = fr[depth].ret;
		cur = fr[depth].prog, c = fr[depth].code;
		DISPATCH();
	/* tail call (helper 12, see exec.h): the target replaces the running program in
	 * this frame, keeping r1 and the stack; any failure falls through */
	L_TAIL_CALL: {
#if CHECKED
		/* r1 the context, r2 a prog array this program references (helper_check.c) */
		const struct hc_env he = {p, cur, c, a, NULL, 0, (size_t)(ip - c->insns), 0, NULL};
		int terr = helper_check_tail_call(&he, &reg[1]);
		if (__builtin_expect(terr != 0, 0)) {
			SAVE_COUNT(count);
			return terr;
		}
#endif
		const struct skep_prog_array *arr = (const struct skep_prog_array *)(uintptr_t)reg[2];
		uint32_t idx = (uint32_t)reg[3];
		const struct skep_prog *t;
		if (!arr || idx >= arr->max_entries || tail_calls >= SKEP_MAX_TAIL_CALLS ||
		    !(t = arr->progs[idx]) || !t->interp ||
		    (!CHECKED && t->verification == SKEP_PROG_UNVERIFIED))  /* checked engine only */
			NEXT();
		tail_calls++;
		cur = t, c = t->interp;
		ip = c->insns;
		DISPATCH();
	}
	L_CALL_KFUNC:
		goto kfunc;

	/* lddw: one decoded entry holding the 64-bit value; the second slot is skipped.
	 * Map fd and map value sources were rewritten at load (src/helpers/maprefs.c);
	 * the other forms load imm64, except callbacks below. */
	L_LDDW: L_LDDW_MAP_FD: L_LDDW_MAP_VALUE: L_LDDW_BTF_ID:
	L_LDDW_MAP_IDX: L_LDDW_MAP_IDX_VALUE:
		DST = IMM;
		ip += 2;
		DISPATCH();
	/* a callback: interp_prepare made IMM a tagged descriptor (exec.h) */
	L_LDDW_FUNC:
		DST = IMM | (CHECKED ? EXEC_CB_CHECKED : 0);
		ip += 2;
		DISPATCH();

	/* memory */
#define LDX(N, T, EXT) L_##N: addr = SRC + OFF; MEM(sizeof(T), ACC_LOAD); \
	DST = (uint64_t)(EXT)*(const T *)(uintptr_t)addr; NEXT();
	LDX(LDX_u8, u8u, uint64_t)
	LDX(LDX_u16, u16u, uint64_t)
	LDX(LDX_u32, u32u, uint64_t)
	LDX(LDX_u64, u64u, uint64_t)
	LDX(LDXSX_s8, s8u, int64_t)
	LDX(LDXSX_s16, s16u, int64_t)
	LDX(LDXSX_s32, s32u, int64_t)
#undef LDX
#define ST(N, T, V) L_##N: addr = DST + OFF; MEM(sizeof(T), ACC_STORE); \
	*(T *)(uintptr_t)addr = (T)(V); NEXT();
	ST(ST_u8, u8u, IMM)
	ST(ST_u16, u16u, IMM)
	ST(ST_u32, u32u, IMM)
	ST(ST_u64, u64u, IMM)
	ST(STX_u8, u8u, SRC)
	ST(STX_u16, u16u, SRC)
	ST(STX_u32, u32u, SRC)
	ST(STX_u64, u64u, SRC)
#undef ST

	/* atomics: real atomic instructions, since maps are shared across threads and
	 * processes; the address is taken before src may be overwritten by a fetch */
#define ATOMIC(N, FN) \
	L_##N##64: addr = DST + OFF; MEM_ATOMIC(8); \
		FN((uint64_t *)(uintptr_t)addr, SRC, __ATOMIC_SEQ_CST); NEXT(); \
	L_##N##32: addr = DST + OFF; MEM_ATOMIC(4); \
		FN((uint32_t *)(uintptr_t)addr, (uint32_t)SRC, __ATOMIC_SEQ_CST); NEXT(); \
	L_##N##_FETCH64: addr = DST + OFF; MEM_ATOMIC(8); \
		SRC = FN((uint64_t *)(uintptr_t)addr, SRC, __ATOMIC_SEQ_CST); NEXT(); \
	L_##N##_FETCH32: addr = DST + OFF; MEM_ATOMIC(4); \
		SRC = FN((uint32_t *)(uintptr_t)addr, (uint32_t)SRC, __ATOMIC_SEQ_CST); NEXT();
	ATOMIC(ATOMIC_ADD, __atomic_fetch_add)
	ATOMIC(ATOMIC_OR, __atomic_fetch_or)
	ATOMIC(ATOMIC_AND, __atomic_fetch_and)
	ATOMIC(ATOMIC_XOR, __atomic_fetch_xor)
#undef ATOMIC
	L_XCHG64: addr = DST + OFF; MEM_ATOMIC(8);
		SRC = __atomic_exchange_n((uint64_t *)(uintptr_t)addr, SRC, __ATOMIC_SEQ_CST);
		NEXT();
	L_XCHG32: addr = DST + OFF; MEM_ATOMIC(4);
		SRC = __atomic_exchange_n((uint32_t *)(uintptr_t)addr, (uint32_t)SRC, __ATOMIC_SEQ_CST);
		NEXT();
	L_CMPXCHG64: {
		addr = DST + OFF; MEM_ATOMIC(8);
		uint64_t old = reg[0];  /* left holding the value found, swapped or not */
		__atomic_compare_exchange_n((uint64_t *)(uintptr_t)addr, &old, SRC, 0,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		reg[0] = old;
		NEXT();
	}
	L_CMPXCHG32: {
		addr = DST + OFF; MEM_ATOMIC(4);
		uint32_t old = (uint32_t)reg[0];
		__atomic_compare_exchange_n((uint32_t *)(uintptr_t)addr, &old, (uint32_t)SRC, 0,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		reg[0] = old;
		NEXT();
	}

	/* legacy packet loads: big-endian from args->pkt at imm (+ src); out of bounds ends
	 * the program with r0 = 0, as the kernel does */
#define LDPKT(N, SZ, OFFSET) L_##N: \
	if (!pkt_load(a, (OFFSET), (SZ), &reg[0])) { reg[0] = 0; goto done; } NEXT();
	LDPKT(LDABS_u8, 1, (int32_t)IMM)
	LDPKT(LDABS_u16, 2, (int32_t)IMM)
	LDPKT(LDABS_u32, 4, (int32_t)IMM)
	LDPKT(LDIND_u8, 1, (int32_t)((uint32_t)SRC + (uint32_t)IMM))
	LDPKT(LDIND_u16, 2, (int32_t)((uint32_t)SRC + (uint32_t)IMM))
	LDPKT(LDIND_u32, 4, (int32_t)((uint32_t)SRC + (uint32_t)IMM))
#undef LDPKT

	L_INVALID:
		SAVE_COUNT(count);
		return prog_fail(p, -EFAULT, "insn %zu: internal error: executing a non-instruction",
				 (size_t)(ip - c->insns));
	unbound:
		SAVE_COUNT(count);
		return helper_missing(p, (size_t)(ip - c->insns), IMM);
	kfunc:
		SAVE_COUNT(count);
		return prog_fail(p, -ENOSYS, "insn %zu: call to kfunc %d: kfuncs are not supported",
				 (size_t)(ip - c->insns), (int)(int32_t)IMM);
	too_deep:
		SAVE_COUNT(count);
		return prog_fail(p, -E2BIG, "insn %zu: the call stack of %d frames is too deep",
				 (size_t)(ip - c->insns), SKEP_MAX_CALL_DEPTH + 1);
	done:
	SAVE_COUNT(count);
	*r0 = reg[0];
	return 0;
#if CHECKED
	limit_hit:
		SAVE_COUNT(limit);
		return prog_fail(p, -E2BIG, "insn %zu: instruction limit of %llu reached",
				 (size_t)(ip - c->insns), (unsigned long long)limit);
	fault:
		SAVE_COUNT(count);
		return mem_fault(p, cur, c, ip, addr, access, stack, depth, a);
	misaligned:
		SAVE_COUNT(count);
		return prog_fail(p, -EFAULT, "insn %zu: atomic access to 0x%llx (r%d %c %lld) is not aligned",
				 (size_t)(ip - c->insns), (unsigned long long)addr, ip->dst,
				 ip->off < 0 ? '-' : '+', ip->off < 0 ? -(long long)ip->off : (long long)ip->off);
#endif
#undef DISPATCH
#undef SAVE_COUNT
#undef MEM
#undef MEM_ATOMIC
#undef NEXT
#undef DST
#undef SRC
#undef IMM
#undef OFF
}
