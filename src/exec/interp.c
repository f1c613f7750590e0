/* The interpreter: a pre-decoded program run by threaded code (interp_loop.h).
 *
 * interp_prepare turns each instruction into a 32-byte entry: the fast engine's handler
 * address, the op (the checked engine's handler index), register numbers, the
 * immediate widened to 64 bits (lddw's full value), and either the memory offset or the
 * jump/call target as a pointer to its decoded entry. Entries stay one per original
 * slot (a lddw's second slot is never reached), so index arithmetic gives the
 * instruction number for error messages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "isa/isa.h"
#include "isa/text.h"

struct dinsn {
	const void *label;              /* fast engine handler */
	uint64_t imm;                   /* sign-extended imm, or lddw's 64-bit value */
	union {
		const struct dinsn *target; /* jumps and bpf-to-bpf calls */
		int64_t off;                /* memory offset */
	};
	uint8_t dst, src;
	uint16_t op;                    /* enum isa_op */
	uint8_t safe;                   /* checked engine: the verifier proved its access in bounds */
	uint8_t pad[3];
};

/* Handlers beyond the opcode table's ops. */
enum { OPI_TAIL_CALL = OP__COUNT + 1, OPI__COUNT };

struct interp_code {
	size_t n;
	struct dinsn insns[];     /* then one struct interp_cb per lddw of a callback */
};

/* What a lddw src=BPF_PSEUDO_FUNC loads in the interpreter (tagged EXEC_CB_INTERP):
 * the program and code the callback belongs to and its entry (see exec_cb_call). */
struct interp_cb {
	struct skep_prog *prog;
	const struct interp_code *code;
	const struct dinsn *entry;
};

/* Unaligned, alias-anything access types for program loads and stores. */
typedef uint8_t u8u __attribute__((may_alias, aligned(1)));
typedef uint16_t u16u __attribute__((may_alias, aligned(1)));
typedef uint32_t u32u __attribute__((may_alias, aligned(1)));
typedef uint64_t u64u __attribute__((may_alias, aligned(1)));
typedef int8_t s8u __attribute__((may_alias, aligned(1)));
typedef int16_t s16u __attribute__((may_alias, aligned(1)));
typedef int32_t s32u __attribute__((may_alias, aligned(1)));

/* Division as the kernel defines it: x / 0 = 0, x % 0 = x, and for signed division
 * INT_MIN / -1 = INT_MIN, INT_MIN % -1 = 0 (the kernel rewrites / -1 into a negation).
 * 32-bit forms take the low halves and return zero-extended results. */
static inline uint64_t udiv64(uint64_t a, uint64_t b) { return b ? a / b : 0; }
static inline uint64_t umod64(uint64_t a, uint64_t b) { return b ? a % b : a; }
static inline uint64_t udiv32(uint32_t a, uint32_t b) { return b ? a / b : 0; }
static inline uint64_t umod32(uint32_t a, uint32_t b) { return b ? a % b : a; }
static inline uint64_t sdiv64(uint64_t a, uint64_t b)
{
	int64_t d = (int64_t)a, s = (int64_t)b;
	return s == 0 ? 0 : s == -1 ? -a : (uint64_t)(d / s);
}
static inline uint64_t smod64(uint64_t a, uint64_t b)
{
	int64_t d = (int64_t)a, s = (int64_t)b;
	return s == 0 ? a : s == -1 ? 0 : (uint64_t)(d % s);
}
static inline uint64_t sdiv32(uint32_t a, uint32_t b)
{
	int32_t d = (int32_t)a, s = (int32_t)b;
	return s == 0 ? 0 : s == -1 ? (uint32_t)-a : (uint32_t)(d / s);
}
static inline uint64_t smod32(uint32_t a, uint32_t b)
{
	int32_t d = (int32_t)a, s = (int32_t)b;
	return s == 0 ? a : s == -1 ? 0 : (uint32_t)(d % s);
}

/* Big-endian packet read for ld_abs/ld_ind; 0 when [off, off + size) is outside. */
static inline int pkt_load(const struct skep_run_args *a, int32_t off, int size, uint64_t *out)
{
	if (!a->pkt || off < 0 || (size_t)off + (size_t)size > a->pkt_len)
		return 0;
	const uint8_t *b = (const uint8_t *)a->pkt + off;
	uint64_t v = 0;
	for (int i = 0; i < size; i++)
		v = v << 8 | b[i];
	*out = v;
	return 1;
}

enum { ACC_LOAD, ACC_STORE, ACC_ATOMIC };

/* 0 = allowed, 1 = outside every frame and region, 2 = only in read-only regions. */
static int mem_check(uint64_t addr, uint64_t size, int kind, uint8_t (*stack)[SKEP_STACK_SIZE],
		     unsigned depth, const struct skep_run_args *a)
{
	uint64_t end = addr + size;
	if (end < addr)
		return 1;
	for (unsigned k = 0; k <= depth; k++) {  /* one frame each: no straddling two */
		uint64_t lo = (uint64_t)(uintptr_t)stack[SKEP_MAX_CALL_DEPTH - 1 - k];
		if (addr >= lo && end <= lo + SKEP_STACK_SIZE)
			return 0;
	}
	int ro = 0;
	for (size_t i = 0; i < a->nregions; i++) {
		const struct skep_region *r = &a->regions[i];
		uint64_t lo = (uint64_t)(uintptr_t)r->base;
		if (addr < lo || end > lo + r->size)
			continue;
		if (kind == ACC_LOAD || r->writable)
			return 0;
		ro = 1;
	}
	return ro ? 2 : 1;
}

static inline int mem_ok(uint64_t addr, uint64_t size, int kind, uint8_t (*stack)[SKEP_STACK_SIZE],
			 unsigned depth, const struct skep_run_args *a)
{
	return mem_check(addr, size, kind, stack, depth, a) == 0;
}

static __attribute__((noinline, cold)) int
mem_fault(struct skep_prog *p, const struct skep_prog *cur, const struct interp_code *c,
	  const struct dinsn *ip, uint64_t addr, int kind, uint8_t (*stack)[SKEP_STACK_SIZE],
	  unsigned depth, const struct skep_run_args *a)
{
	static const char *const what[] = {"load from", "store to", "atomic access to"};
	const struct skep_insn *in = &cur->insns[ip - c->insns];
	int size = isa_size_bytes(in->code);
	int base = kind == ACC_LOAD ? in->src : in->dst;
	int why = mem_check(addr, (uint64_t)size, kind, stack, depth, a);
	return prog_fail(p, -EFAULT, "insn %zu: %d-byte %s 0x%llx (r%d %c %d) is %s",
			 (size_t)(ip - c->insns), size, what[kind], (unsigned long long)addr, base,
			 in->off < 0 ? '-' : '+', in->off < 0 ? -(int)in->off : (int)in->off,
			 why == 2 ? "in read-only memory"
				  : "outside the stack, context and caller memory");
}

/* A helper call the runtime cannot make: name the helper (a verified program may call
 * any kernel helper; Skep implements a subset). */
__attribute__((noinline, cold)) int
helper_missing(struct skep_prog *p, size_t insn, uint64_t id)
{
	const char *name = id <= INT32_MAX ? isa_helper_name((int32_t)id) : NULL;
	return prog_fail(p, -ENOSYS, "insn %zu: call to helper %llu which is not bound%s%s%s", insn,
			 (unsigned long long)id, name ? " (" : "", name ? name : "",
			 name ? ": Skep's runtime does not implement it; skep_prog_set_helper binds one)" : "");
}

#define CHECKED 0
#define INTERP_FN run_fast
#include "interp_loop.h"
#undef CHECKED
#undef INTERP_FN

#define CHECKED 1
#define INTERP_FN run_checked
#include "interp_loop.h"
#undef CHECKED
#undef INTERP_FN

int interp_prepare(struct skep_prog *p)
{
	const void *const *labels;
	run_fast(NULL, NULL, NULL, NULL, NULL, &labels);
	size_t ncb = 0;
	for (size_t i = 0; i < p->n; i++)
		ncb += p->insns[i].code == (BPF_LD | BPF_IMM | BPF_DW) && p->insns[i].src == BPF_PSEUDO_FUNC;
	size_t bytes = sizeof(struct interp_code) + p->n * sizeof(struct dinsn) + ncb * sizeof(struct interp_cb);
	bytes = (bytes + 63) & ~(size_t)63;
	struct interp_code *c = aligned_alloc(64, bytes);
	if (!c)
		return prog_fail(p, -ENOMEM, "out of memory decoding %zu instructions", p->n);
	memset(c, 0, bytes);
	c->n = p->n;
	struct interp_cb *cb = (struct interp_cb *)&c->insns[p->n];
	for (size_t i = 0; i < p->n; i++) {
		const struct skep_insn *in = &p->insns[i];
		struct dinsn *d = &c->insns[i];
		enum isa_op op = isa_decode(in);
		d->op = (uint16_t)op;
		d->label = labels[op];
		d->dst = in->dst;
		d->src = in->src;
		d->imm = (uint64_t)(int64_t)in->imm;
		d->off = in->off;
		d->safe = p->mem_safe ? p->mem_safe[i] & 1 : 0;
		switch (op == OP_INVALID ? -1 : isa_ops[op].kind) {
		case K_LDDW:
			d->imm = (uint32_t)in->imm | (uint64_t)(uint32_t)in[1].imm << 32;
			if (op == OP_LDDW_FUNC) {
				*cb = (struct interp_cb){p, c, &c->insns[(long)i + 1 + in->imm]};
				d->imm = EXEC_CB_INTERP | (uint64_t)(uintptr_t)cb++;
			}
			/* the second slot is never a jump target (validated): mark it unreachable */
			i++;
			c->insns[i].op = OP_INVALID;
			c->insns[i].label = labels[OP_INVALID];
			break;
		case K_JA:
			d->target = &c->insns[(long)i + 1 + (op == OP_GOTOL ? in->imm : in->off)];
			break;
		case K_JCOND:
			d->target = &c->insns[(long)i + 1 + in->off];
			break;
		case K_CALL:
			if (op == OP_CALL_LOCAL) {
				d->target = &c->insns[(long)i + 1 + in->imm];
				d->src = 0;
			} else {
				/* helper ids are unsigned: a negative imm never matches a helper */
				d->imm = (uint32_t)in->imm;
				d->src = 0;
				if (op == OP_CALL && d->imm == SKEP_HELPER_TAIL_CALL) {
					d->op = OPI_TAIL_CALL;
					d->label = labels[OPI_TAIL_CALL];
				}
			}
			break;
		default:
			break;
		}
	}
	interp_free(p->interp);
	p->interp = c;
	return 0;
}

void interp_free(struct interp_code *c) { free(c); }

int interp_run(struct skep_prog *p, const struct skep_run_args *args, int checked, uint64_t *r0)
{
	if (!p->interp)
		return prog_fail(p, -EINVAL, "no program loaded");
	if (checked) {
		struct skep_run_args wa;
		struct skep_region *maps = prog_map_regions(p, args, &wa);  /* + the maps' memory */
		struct hc_run hc;  /* helper calls' state (helper_check.c) */
		hc_begin(&hc, args->r[0], 1);
		int err = run_checked(p, p->interp, p->interp->insns, maps ? &wa : args, r0, NULL);
		hc_end(&hc);
		free(maps);
		return err;
	}
	if (__atomic_load_n(&p->insn_count, __ATOMIC_RELAXED))
		__atomic_store_n(&p->insn_count, 0, __ATOMIC_RELAXED);
	return run_fast(p, p->interp, p->interp->insns, args, r0, NULL);
}

int interp_callback(uint64_t fn, const struct skep_run_args *args, uint64_t *r0, char *msg,
		    size_t msgsz)
{
	const struct interp_cb *cb = (const struct interp_cb *)(uintptr_t)(fn & ~EXEC_CB_MASK);
	int err;
	if (fn & EXEC_CB_CHECKED) {
		struct hc_run hc;
		hc_begin(&hc, 0, 0);
		err = run_checked(cb->prog, cb->code, cb->entry, args, r0, NULL);
		hc_end(&hc);
	} else {
		err = run_fast(cb->prog, cb->code, cb->entry, args, r0, NULL);
	}
	if (err && msgsz)
		snprintf(msg, msgsz, "%s", cb->prog->err);
	return err;
}

int interp_callback_valid(const struct interp_code *c, uint64_t fn)
{
	for (size_t i = 0; c && i < c->n; i++)
		if (c->insns[i].op == OP_LDDW_FUNC && c->insns[i].imm == (fn & ~EXEC_CB_CHECKED))
			return 1;
	return 0;
}
