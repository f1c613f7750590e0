/* Skep: the verifier. Proves a program safe before it runs, as the kernel's does:
 * path-sensitive abstract interpretation over registers (type, tnum, signed and
 * unsigned 64/32-bit bounds, pointer offsets, ids) and stack slots, state pruning at
 * jump targets, bounded loops under a budget of 1,000,000 processed instructions, and a
 * log in the kernel's style.
 *
 * The verifier runs with the rights of the kernel's root (CAP_BPF + CAP_PERFMON):
 * pointer arithmetic, pointer comparisons and storing pointers are allowed, as they are
 * for root; two rules are stricter than the kernel's root by default (see flags). */
#ifndef SKEP_VERIFIER_H
#define SKEP_VERIFIER_H

#include <stddef.h>
#include <stdint.h>

#include "insn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Program types are the kernel's BPF_PROG_TYPE_* numbers; 0 is Skep's memory program
 * (r1 = buffer, r2 = its length), which only the checked engine can make safe: the
 * verifier refuses it. */

/* What the verifier needs to know about a map a program names with lddw. */
struct skep_verifier_map {
	uint32_t type;         /* SKEP_MAP_TYPE_* (BPF_MAP_TYPE_*) */
	uint32_t key_size, value_size, max_entries;
	int32_t spin_lock_off; /* offset of a struct bpf_spin_lock in the value, -1 if none */
	const void *inner;     /* map-in-map: the inner map template's handle (opaque) */
	uint32_t inner_key_size, inner_value_size, inner_type;
	uint32_t map_flags;    /* BPF_F_*: RDONLY_PROG (1 << 7) and WRONLY_PROG (1 << 8) matter */
};

/* Resolve the map of a lddw: src is BPF_PSEUDO_MAP_FD (1) or BPF_PSEUDO_MAP_VALUE (2),
 * imm the first half's immediate. 0, or a negative errno when there is no such map. */
typedef int (*skep_verifier_map_fn)(void *ctx, int src, int32_t imm, struct skep_verifier_map *out);

enum {
	/* Read uninitialised stack bytes as unknown scalars, as the kernel allows root
	 * (default: refused, a read of bytes the program never wrote). */
	SKEP_VERIFY_ALLOW_UNINIT_STACK = 1 << 0,
	/* The kernel's rules for programs loaded without CAP_PERFMON: no pointer leaks
	 * (storing a pointer into a map or the context, returning one), no pointer
	 * comparisons. */
	SKEP_VERIFY_UNPRIV = 1 << 1,
};

struct skep_verify_opts {
	size_t sz;                  /* sizeof(struct skep_verify_opts) (0 is taken as current) */
	uint32_t prog_type;         /* BPF_PROG_TYPE_* */
	uint32_t expected_attach_type;
	int log_level;              /* 0 none, 1 the failing path, 2 everything */
	char *log_buf;              /* NUL-terminated log (truncated to log_size) */
	size_t log_size;
	unsigned flags;             /* SKEP_VERIFY_* */
	uint32_t insn_limit;        /* processed-instruction budget, 0 = 1,000,000 */
	/* maps named by lddw: NULL resolves BPF_PSEUDO_MAP_FD imm as skep_map_id() */
	skep_verifier_map_fn map_info;
	void *map_ctx;
};

struct skep_verify_result {
	int accepted;               /* 1 when proven safe */
	int error;                  /* refused: negative errno (-EACCES, -EINVAL, -E2BIG, ...) */
	long insn;                  /* refused: the instruction index, -1 when none */
	char msg[256];              /* refused: "insn N: reason" */
	uint64_t processed_insns;
	uint32_t max_states_per_insn, total_states, peak_states;
	uint64_t verification_us;
	uint32_t stack_depth;       /* deepest frame chain's combined stack, bytes */
	/* Per instruction (n entries, malloc'ed, NULL when refused): bit 0 set when the
	 * instruction accesses memory and every access it makes on every path was proven
	 * inside its object (what the JIT may run without checks). Free with
	 * skep_verify_result_free. */
	uint8_t *mem_safe;
	size_t n;
};

/* Verify insns[0..n). Returns 0 when the verifier ran (result->accepted says the
 * verdict) or a negative errno when it could not (-ENOMEM, -EINVAL bad arguments). */
int skep_verify(const struct skep_insn *insns, size_t n, const struct skep_verify_opts *opts,
		struct skep_verify_result *result);
void skep_verify_result_free(struct skep_verify_result *result);

/* Program types the verifier knows, by name ("xdp", "socket" / "socket_filter", "kprobe",
 * "tracepoint", "sched_cls" / "tc", ...): the number, or -1. And a number's name (NULL
 * if unknown). */
int skep_verify_type_by_name(const char *name);
const char *skep_verify_type_name(uint32_t type);

/* The prototype the verifier checks a call to helper id against: Skep's (helpers.h), or
 * a kernel helper's that Skep verifies but does not run; NULL if unknown. */
struct skep_helper_proto;
const struct skep_helper_proto *skep_verify_helper_proto(uint32_t id);

#ifdef __cplusplus
}
#endif
#endif
