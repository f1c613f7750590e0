/* The verifier's internals, shared by its files:
 *   tnum.c    tristate numbers (known bits)          bounds.c  range deduction and casts
 *   alu.c     ALU transfer functions (scalar, ptr)   branch.c  conditional jumps
 *   state.c   states: copy, free, subsumption        mem.c     loads, stores, atomics
 *   calls.c   helpers, bpf-to-bpf calls, exits       ctx.c     program type contexts
 *   cfg.c     structure, subprograms, liveness       log.c     the kernel-style log
 *   verifier.c the driver: path exploration, pruning, the budget
 * Names follow the kernel's kernel/bpf/verifier.c where there is one to follow. */
#ifndef SKEP_VERIFIER_INT_H
#define SKEP_VERIFIER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isa/isa.h"
#include "skep/verifier.h"

/* ---- tnum.c: a value whose bits are known (mask 0) or unknown (mask 1) ---- */
struct tnum {
	uint64_t value, mask;
};
#define TNUM(v, m) ((struct tnum){(v), (m)})
extern const struct tnum tnum_unknown;
struct tnum tnum_const(uint64_t v);
struct tnum tnum_range(uint64_t min, uint64_t max);
struct tnum tnum_lshift(struct tnum a, uint8_t shift);
struct tnum tnum_rshift(struct tnum a, uint8_t shift);
struct tnum tnum_arshift(struct tnum a, uint8_t shift, uint8_t bits);
struct tnum tnum_add(struct tnum a, struct tnum b);
struct tnum tnum_sub(struct tnum a, struct tnum b);
struct tnum tnum_neg(struct tnum a);
struct tnum tnum_and(struct tnum a, struct tnum b);
struct tnum tnum_or(struct tnum a, struct tnum b);
struct tnum tnum_xor(struct tnum a, struct tnum b);
struct tnum tnum_mul(struct tnum a, struct tnum b);
struct tnum tnum_intersect(struct tnum a, struct tnum b);
struct tnum tnum_union(struct tnum a, struct tnum b);
struct tnum tnum_cast(struct tnum a, uint8_t size);
bool tnum_is_aligned(struct tnum a, uint64_t size);
bool tnum_in(struct tnum a, struct tnum b);
bool tnum_overlap(struct tnum a, struct tnum b);
struct tnum tnum_subreg(struct tnum a);
struct tnum tnum_clear_subreg(struct tnum a);
struct tnum tnum_with_subreg(struct tnum reg, struct tnum subreg);
struct tnum tnum_const_subreg(struct tnum a, uint32_t v);
static inline bool tnum_is_const(struct tnum a) { return !a.mask; }
static inline bool tnum_equals_const(struct tnum a, uint64_t b) { return !a.mask && a.value == b; }
static inline bool tnum_is_unknown(struct tnum a) { return !~a.mask; }
static inline bool tnum_subreg_is_const(struct tnum a) { return !(uint32_t)a.mask; }
int tnum_str(char *buf, size_t size, struct tnum a);

/* ---- register and stack state ---- */
enum vtype {
	NOT_INIT = 0,
	SCALAR,
	PTR_TO_CTX,
	CONST_PTR_TO_MAP,
	PTR_TO_MAP_VALUE,
	PTR_TO_MAP_KEY,
	PTR_TO_STACK,
	PTR_TO_PACKET_META,
	PTR_TO_PACKET,
	PTR_TO_PACKET_END,
	PTR_TO_MEM,
	PTR_TO_FUNC,
	PTR_TO_FLOW_KEYS,
	PTR_TO_SOCKET,
	PTR_TO_BTF_ID,          /* a kernel object (task, inode, ...) from a verify-only helper */
	VTYPE__COUNT,
};
#define PTR_MAYBE_NULL 0x100u
#define MEM_RDONLY     0x200u
#define MEM_RINGBUF    0x400u
#define BASE_TYPE(t) ((t) & 0xffu)

/* the kernel's names for the bounds of each width */
#define S64_MIN INT64_MIN
#define S64_MAX INT64_MAX
#define U64_MAX UINT64_MAX
#define S32_MIN INT32_MIN
#define S32_MAX INT32_MAX
#define U32_MAX UINT32_MAX
#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif

#define MAX_BPF_REG   11
#define BPF_REG_FP    10
#define BPF_REG_SIZE  8
#define MAX_BPF_STACK 512
#define MAX_CALL_FRAMES 8
#define BPF_MAX_VAR_OFF (1 << 29)
#define MAX_PACKET_OFF 0xffff
#define MAX_REFS 64
#define PKT_AT_END     0xffffffffu   /* packet range markers (the kernel's -1 and -2) */
#define PKT_BEYOND_END 0xfffffffeu

#define MAP_RDONLY_PROG (1u << 7)   /* BPF_F_RDONLY_PROG: programs only read */
#define MAP_WRONLY_PROG (1u << 8)   /* BPF_F_WRONLY_PROG: programs only write */

struct vmap {
	struct skep_verifier_map m;
	int src;
	int32_t imm;
};

struct vreg {
	uint16_t type;          /* enum vtype | PTR_MAYBE_NULL | MEM_* */
	uint8_t frameno;        /* PTR_TO_STACK: the frame it points into */
	int32_t off;            /* pointers: fixed offset */
	struct tnum var_off;    /* scalars: the value; pointers: the variable offset */
	int64_t smin, smax;
	uint64_t umin, umax;
	int32_t s32_min, s32_max;
	uint32_t u32_min, u32_max;
	uint32_t id;            /* same id: same value (scalars), same null-ness, same packet base */
	uint32_t ref_obj_id;    /* references to release (ring buffer records) */
	uint32_t range;         /* packet: bytes proven from the base; mem: size;
				 * socket: 1 for a sock_common (fewer fields) */
	const struct vmap *map; /* CONST_PTR_TO_MAP, PTR_TO_MAP_VALUE/KEY */
	int32_t subprog;        /* PTR_TO_FUNC: target subprogram */
	bool precise;           /* scalars in checkpoints: some path's safety depends on the value */
};

enum { STACK_INVALID = 0, STACK_SPILL, STACK_MISC, STACK_ZERO };

struct vslot {
	struct vreg spilled;
	uint8_t type[BPF_REG_SIZE];   /* type[i]: byte at fp-8*spi-1-i */
};

struct vframe {
	struct vreg regs[MAX_BPF_REG];
	int callsite;           /* call insn in the caller, -1 for the main frame */
	int frameno;
	int subprog;
	int nslots;             /* allocated 8-byte slots */
	struct vslot *stack;    /* stack[spi] covers fp-8*(spi+1) .. fp-8*spi-1 */
	/* callbacks: where to go on exit and what r0 may be */
	int in_callback;        /* 1 when this frame runs a helper's callback */
	int cb_helper;          /* the helper id that called it */
	int64_t cb_ret_min, cb_ret_max;
};

struct vref {
	uint32_t id;
	int insn;
};

struct checkpoint;

/* The path's history since its last checkpoint (the kernel's jmp history): entries for
 * instructions reached by a jump, stack spills and fills, and conditional jumps on linked
 * scalars. Precision backtracking walks it backwards. */
enum {
	HF_STACK = 1u << 0,       /* spill or fill of slot spi of frame fr */
	HF_LINKED = 1u << 1,      /* conditional jump: scalars sharing an operand's id, in linked */
	HF_LINKED_FAR = 1u << 2,  /* ... and some in other frames or spilled (not tracked) */
};
struct hent {
	int32_t idx, prev;
	uint8_t flags, fr, spi;
	uint16_t linked;          /* registers of the current frame */
	uint64_t lslots;          /* and its spilled slots */
};

struct vstate {
	struct vframe *frame[MAX_CALL_FRAMES];
	int curframe;
	int nrefs;
	struct vref refs[MAX_REFS];
	uint32_t active_lock_id;        /* spin lock held: id of the map value, 0 if none */
	const struct vmap *active_lock_map;
	int active_rcu;
	struct checkpoint *parent;       /* last checkpoint on this path */
	int insn_idx, prev_insn_idx;
	int last_idx;                    /* the instruction executed last on this path, -1 */
	int hist_len, hist_cap;
	struct hent *hist;
	size_t log_pos;                  /* log length where this branch was pushed */
	bool speculative;
};

/* ---- per-instruction facts gathered during the walk ---- */
struct insn_aux {
	uint8_t prune_point;      /* jump target or after a conditional jump: states kept */
	uint8_t force_checkpoint; /* loop head: always keep a state */
	uint8_t seen;             /* reached by the walk */
	uint8_t mem_unsafe;       /* some path accessed memory not proven in bounds */
	uint8_t mem_access;       /* accesses memory */
	uint16_t live;            /* registers live on entry (bit per register) */
	int subprog;              /* the subprogram it belongs to */
};

struct subprog {
	int start, end;           /* [start, end) */
	int stack_depth;          /* deepest byte used (positive), from the walk */
	int is_cb;                /* used as a callback */
	int has_tail_call;
};

/* Checkpoints: states kept at prune points, in a list per instruction. */
struct checkpoint {
	struct vstate st;
	struct checkpoint *next;       /* same instruction */
	struct checkpoint *parent;
	int insn;
	uint32_t branches;             /* paths still being explored below this state */
	uint32_t hit, miss;
	bool in_free_list;
};

struct vlog {
	char *buf;
	size_t size, len;       /* len: bytes wanted so far (may exceed size) */
	int level;
};

struct ctx_desc;

struct venv {
	const struct skep_insn *insns;
	size_t n;
	uint32_t prog_type, attach_type;
	unsigned flags;
	bool allow_ptr_leaks, allow_uninit_stack;
	const struct ctx_desc *ctx;
	struct insn_aux *aux;
	struct subprog *subprogs;
	int nsubprogs;
	struct vmap *maps;
	int nmaps, maps_cap;
	skep_verifier_map_fn map_info;
	void *map_ctx;
	struct vstate *cur;
	/* the worklist: pushed branches (DFS, like the kernel's) */
	struct vstate **stack;
	int stack_len, stack_cap;
	struct checkpoint **explored;  /* per insn */
	uint32_t id_gen;
	uint64_t insn_processed, insn_limit;
	uint64_t prev_insn_processed, jmps_processed, prev_jmps_processed;
	uint32_t total_states, peak_states, cur_states, max_states_per_insn;
	struct vlog log;
	int err_insn;
	char errmsg[256];
	struct vreg fake_reg[2];
	bool has_tail_call;
	bool seen_ld_abs;
	struct checkpoint *free_list;   /* evicted checkpoints: still parents of states */
	bool hist_fresh;        /* the history's last entry is this instruction's */
	uint64_t precise_marks; /* backtracking walks, for statistics */
};

/* ---- log.c ---- */
void vlog(struct venv *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The refusal: logged, and kept as the result's message ("insn N: ..."). Returns -EACCES
 * (or the errno given by verr_code). */
int verr(struct venv *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int verr_code(struct venv *env, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void vlog_insn(struct venv *env, int idx);
void vlog_state(struct venv *env, const struct vstate *st, int only_frame);
const char *reg_type_str(uint32_t type);
void vlog_reset(struct venv *env, size_t pos);

/* ---- bounds.c ---- */
void mark_reg_known(struct vreg *r, uint64_t imm);
void mark_reg32_known(struct vreg *r, uint64_t imm);
void mark_reg_unbounded(struct vreg *r);
void mark_reg64_unbounded(struct vreg *r);
void mark_reg32_unbounded(struct vreg *r);
void mark_reg_unknown(struct vreg *r);      /* scalar, nothing known, no id */
void mark_reg_not_init(struct vreg *r);
void mark_reg_known_zero(struct vreg *r);   /* keeps type: pointers with offset 0 */
void mark_reg_const_zero(struct vreg *r);   /* scalar 0 */
void update_reg_bounds(struct vreg *r);
void reg_bounds_sync(struct vreg *r);
bool reg_bounds_sane(const struct vreg *r);
void zext_32_to_64(struct vreg *r);
void coerce_reg_to_size(struct vreg *r, int size);
void coerce_reg_to_size_sx(struct vreg *r, int size);
void coerce_subreg_to_size_sx(struct vreg *r, int size);
static inline bool reg_is_const(const struct vreg *r, bool is32)
{
	return is32 ? tnum_subreg_is_const(r->var_off) : tnum_is_const(r->var_off);
}
static inline uint64_t reg_const_value(const struct vreg *r, bool is32)
{
	return is32 ? (uint32_t)r->var_off.value : r->var_off.value;
}
static inline bool reg_is_null(const struct vreg *r)
{
	return r->type == SCALAR && tnum_equals_const(r->var_off, 0);
}

/* ---- alu.c ---- */
int check_alu_op(struct venv *env, const struct skep_insn *insn, enum isa_op op);

/* ---- branch.c ---- */
int check_cond_jmp_op(struct venv *env, const struct skep_insn *insn, int *insn_idx);
/* -1 unknown, 0 never taken, 1 always taken */
int is_scalar_branch_taken(const struct vreg *r1, const struct vreg *r2, uint8_t opcode, bool is32);

/* ---- state.c ---- */
struct vstate *state_new(void);
int state_copy(struct vstate *dst, const struct vstate *src);
void state_free_frames(struct vstate *st);
void state_free(struct vstate *st);
struct vframe *frame_new(int frameno, int callsite, int subprog);
struct vframe *frame_dup(const struct vframe *f);
void frame_free(struct vframe *f);
int grow_stack(struct vframe *f, int nslots);
enum { NOT_EXACT, RANGE_WITHIN, EXACT };   /* states_equal: how to compare scalars */
bool states_equal(struct venv *env, const struct vstate *old, const struct vstate *cur, int mode);
static inline struct vframe *cur_frame(struct venv *env) { return env->cur->frame[env->cur->curframe]; }
static inline struct vreg *cur_regs(struct venv *env) { return cur_frame(env)->regs; }
void copy_reg(struct vreg *dst, const struct vreg *src);
/* Apply fn to every register and spilled register of every frame. */
void state_for_each_reg(struct vstate *st, void (*fn)(struct vreg *r, void *arg), void *arg);
int acquire_ref(struct venv *env, int insn);
int release_ref(struct venv *env, uint32_t ref_obj_id);

/* ---- precise.c: precision tracking (the kernel's mark_chain_precision) ---- */
int hist_push(struct venv *env, int idx, int prev);
int hist_note_stack(struct venv *env, int fr, int spi);
int hist_note_linked(struct venv *env, int dst, int src);
int mark_chain_precision(struct venv *env, int regno);
int mark_stack_precise(struct venv *env, int fr, int spi);
int propagate_precision(struct venv *env, const struct vstate *old);
void mark_all_scalars_precise(struct venv *env, struct vstate *st);

/* ---- mem.c ---- */
enum { BPF_READ = 1, BPF_WRITE = 2 };
int check_mem_access(struct venv *env, int insn_idx, int regno, int off, int size, int t,
		     int value_regno, bool strict_align, bool is_ldsx);
int check_load_store(struct venv *env, const struct skep_insn *insn, enum isa_op op, int idx);
int check_atomic(struct venv *env, const struct skep_insn *insn, enum isa_op op, int idx);
int check_ld_abs(struct venv *env, const struct skep_insn *insn, enum isa_op op);
/* A helper's memory argument: [reg, reg + size) with size in [size_min, size_max].
 * t is BPF_READ (must be initialised) or BPF_WRITE (will be written). */
int check_helper_mem_access(struct venv *env, int regno, int64_t size_min, uint64_t size_max,
			    int t, bool zero_size_allowed);
int check_stack_slots_init(struct venv *env, const struct vreg *reg, int off, int size, int regno);
bool is_pointer_value(struct venv *env, const struct vreg *r);
bool stack_const_key(struct venv *env, const struct vreg *reg, int size, uint64_t *val);

/* ---- ctx.c: contexts of program types ---- */
enum ctx_kind { CF_SCALAR, CF_PKT, CF_PKT_END, CF_PKT_META, CF_PTR_FLOW_KEYS, CF_PTR_SOCK, CF_PTR_SOCK_NN,
	       CF_PTR_SOCK_COMMON };
struct ctx_field {
	uint16_t off, size;   /* the field */
	uint8_t kind;         /* enum ctx_kind */
	uint8_t write;        /* writable */
	uint8_t narrow;       /* narrower aligned loads allowed */
	uint8_t wide;         /* 8-byte loads allowed (u64 fields) */
	uint64_t attach;      /* attach types (bit per BPF_* attach type) allowed, 0: all */
	uint64_t wattach;     /* writes: attach types allowed to write, 0: as attach */
};
struct ctx_desc {
	uint32_t prog_type;
	const char *name;
	const char *alias;
	uint32_t size;
	const struct ctx_field *fields;  /* NULL: any aligned read of 1..8 bytes inside size */
	int nfields;
	uint32_t min_off;                /* tracepoints: the first 8 bytes are hidden */
	int ret_min, ret_max;            /* enforced return range, ret_max < ret_min: none */
	bool has_pkt, ld_abs;            /* direct packet access, legacy packet loads */
	bool any_write;                  /* no field table: writes allowed */
};
const struct ctx_desc *ctx_desc_for(uint32_t prog_type);
/* Check one access; on success *kind says what a load gives. -1 when not allowed. */
int ctx_access_ok(const struct ctx_desc *d, int off, int size, int t, int *kind, int *field_size,
		  uint32_t attach);

/* ---- calls.c ---- */
int check_helper_call(struct venv *env, const struct skep_insn *insn, int *insn_idx);
int check_func_call(struct venv *env, const struct skep_insn *insn, int *insn_idx);
int prepare_func_exit(struct venv *env, int *insn_idx);
int check_return_code(struct venv *env);
int check_reference_leak(struct venv *env, bool exception_exit);

/* ---- kprotos.c: kernel helpers Skep does not run, for the verifier only ---- */
/* Private argument kinds (beyond include/skep/helpers.h's), flags as SKEP_ARG_* */
enum {
	KA_SOCK = 0x40,         /* a socket (ARG_PTR_TO_SOCK_COMMON, ARG_PTR_TO_BTF_ID_SOCK_COMMON) */
	KA_BTF,                 /* a kernel object (ARG_PTR_TO_BTF_ID, ARG_PTR_TO_PERCPU_BTF_ID) */
	KA_MAP_VALUE,           /* a map value holding a bpf_timer or kptr (ARG_PTR_TO_TIMER, _KPTR) */
	KA_DYNPTR,              /* an initialised struct bpf_dynptr on the stack */
	KA_DYNPTR_UNINIT,       /* a struct bpf_dynptr on the stack the helper initialises */
	KA_RELEASE = 1 << 13,   /* OBJ_RELEASE: the argument's reference is released */
};
/* Private return kinds, flags as SKEP_RET_* */
enum {
	KR_SOCK = 0x40,         /* RET_PTR_TO_SOCKET (and sock_common, tcp_sock) */
	KR_BTF,                 /* RET_PTR_TO_BTF_ID */
	KR_ACQUIRE = 1 << 12,   /* a reference the program must release */
};
const struct skep_helper_proto *kernel_helper_proto(uint32_t id);
size_t kernel_helper_count(void);

/* ---- cfg.c ---- */
int check_structure(struct venv *env);
int check_max_stack_depth(struct venv *env);
int find_subprog(struct venv *env, int start);

/* ---- verifier.c ---- */
int push_stack(struct venv *env, int insn_idx, int prev_insn_idx, struct vstate **out);
void drop_pushed(struct venv *env);   /* undo the last push_stack */
int check_reg_read(struct venv *env, int regno);
uint32_t new_id(struct venv *env);

#endif
