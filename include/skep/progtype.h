/* Skep: program types as data. Each type (the kernel's BPF_PROG_TYPE_* numbers, or an
 * embedder's above SKEP_PROG_TYPE_EMBEDDER_BASE) describes its context: the layout the
 * program sees (the UAPI struct, e.g. struct xdp_md), per field its access and kind, and
 * where the field really is in the in-memory context a run passes in r1. After loading,
 * context accesses are rewritten to the real layout, as the kernel does (a 32-bit load
 * of xdp_md->data becomes a 64-bit pointer load). A type also lists the helpers its
 * programs may call, its return range, and how a test run builds its context (see
 * testrun.h). */
#ifndef SKEP_PROGTYPE_H
#define SKEP_PROGTYPE_H

#include <stddef.h>
#include <stdint.h>

#include "prog.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The kernel's numbers for the types Skep describes. */
enum {
	SKEP_PROG_TYPE_PLAIN = 0,          /* Skep's plain memory program: r1 = data, r2 = len */
	SKEP_PROG_TYPE_SOCKET_FILTER = 1,
	SKEP_PROG_TYPE_KPROBE = 2,
	SKEP_PROG_TYPE_SCHED_CLS = 3,
	SKEP_PROG_TYPE_SCHED_ACT = 4,
	SKEP_PROG_TYPE_TRACEPOINT = 5,
	SKEP_PROG_TYPE_XDP = 6,
	SKEP_PROG_TYPE_PERF_EVENT = 7,
	SKEP_PROG_TYPE_CGROUP_SKB = 8,
	SKEP_PROG_TYPE_CGROUP_SOCK = 9,
	SKEP_PROG_TYPE_SOCK_OPS = 13,
	SKEP_PROG_TYPE_RAW_TRACEPOINT = 17,
	SKEP_PROG_TYPE_CGROUP_SOCK_ADDR = 18,
};
/* Embedder types have ids from here up (the kernel's numbers stay far below). */
#define SKEP_PROG_TYPE_EMBEDDER_BASE 0x10000u

/* Access a program may make to a context field. */
enum skep_ctx_access {
	SKEP_CTX_READ = 1,
	SKEP_CTX_WRITE = 2,
	SKEP_CTX_RW = 3,
};

/* What a load of the field gives the program (the verifier's register type). */
enum skep_ctx_kind {
	SKEP_CTX_SCALAR = 0,
	SKEP_CTX_PKT_DATA,      /* packet start (PTR_TO_PACKET) */
	SKEP_CTX_PKT_END,       /* packet end (PTR_TO_PACKET_END) */
	SKEP_CTX_PKT_META,      /* metadata start (PTR_TO_PACKET_META) */
	SKEP_CTX_SOCK_OR_NULL,  /* struct bpf_sock * or NULL (PTR_TO_SOCK_COMMON_OR_NULL) */
};

/* Field flags. */
enum {
	SKEP_CTX_NARROW = 1 << 0,   /* reads narrower than the field (aligned) are allowed */
	SKEP_CTX_ANY_SIZE = 1 << 1, /* any 1/2/4/8-byte access aligned to its size inside the
				     * field, reads and (if writable) writes: __sk_buff cb[] */
};

struct skep_ctx_field {
	const char *name;
	uint16_t off, size;          /* in the context the program sees */
	uint8_t access;              /* SKEP_CTX_READ | SKEP_CTX_WRITE */
	uint8_t kind;                /* enum skep_ctx_kind */
	uint8_t flags;               /* SKEP_CTX_NARROW, SKEP_CTX_ANY_SIZE */
	uint16_t real_off, real_size;/* in the in-memory context; pointers are 8 bytes there */
};
/* A scalar's real_size may be less than its size: the kernel's own field is narrower
 * (__sk_buff.protocol is a u16 in the sk_buff). The in-memory context still holds size
 * bytes, zero above real_size; loads and stores of the whole field, and narrow loads of
 * real_size bytes or more anywhere inside it, then access real_size bytes at real_off,
 * as the kernel's convert_ctx_accesses (a u16 load of protocol's upper half gives the
 * protocol). */

/* Type flags. */
enum {
	SKEP_PT_LD_ABS = 1 << 0,      /* legacy ld_abs/ld_ind allowed (r6 = ctx) */
	SKEP_PT_PKT_READ = 1 << 1,    /* direct packet reads through data/data_end */
	SKEP_PT_PKT_WRITE = 1 << 2,   /* direct packet writes */
	SKEP_PT_RET_RANGE = 1 << 3,   /* the verifier enforces [ret_min, ret_max] on r0 */
	SKEP_PT_VERIFY_ONLY = 1 << 4, /* described for the verifier; no test run */
	SKEP_PT_CTX_ARGS = 1 << 5,    /* context size given by the run (raw_tracepoint args) */
};

struct skep_test_run_opts;
struct skep_test_env;

/* A helper implementation bound to every program of a type (skep_prog_set_type). */
struct skep_helper_bind {
	uint32_t id;
	skep_helper_fn fn;
};

struct skep_prog_type_desc {
	const char *name;            /* bpftool's name: "xdp", "sched_cls", ... */
	uint32_t type;               /* BPF_PROG_TYPE_* or >= SKEP_PROG_TYPE_EMBEDDER_BASE */
	uint32_t ctx_size;           /* the context the program sees; accesses beyond are refused */
	uint32_t real_ctx_size;      /* the in-memory context */
	const struct skep_ctx_field *fields;
	size_t nfields;
	const uint32_t *helpers;     /* helper ids programs of this type may call */
	size_t nhelpers;
	const struct skep_helper_bind *binds;  /* implementations bound per program */
	size_t nbinds;
	int64_t ret_min, ret_max;    /* with SKEP_PT_RET_RANGE */
	uint32_t flags;              /* SKEP_PT_* */
	/* Test run: build the in-memory context (and packet) from the options into env,
	 * then after the runs write data_out/ctx_out back. NULL test_init: no test run
	 * (-EOPNOTSUPP). Return 0 or a negative errno with env->err saying why. */
	int (*test_init)(const struct skep_prog_type_desc *d, const struct skep_test_run_opts *o,
			 struct skep_test_env *env);
	int (*test_finish)(const struct skep_prog_type_desc *d, struct skep_test_run_opts *o,
			   struct skep_test_env *env);
	void *user;                  /* for the embedder */
};

/* Register a type (the descriptor and what it points to must outlive its use; it is not
 * copied). Embedder types need type >= SKEP_PROG_TYPE_EMBEDDER_BASE and a unique name.
 * 0, -EINVAL (bad id, fields outside ctx_size or real_ctx_size, overlapping fields),
 * -EEXIST. */
int skep_prog_type_register(const struct skep_prog_type_desc *d);
int skep_prog_type_unregister(uint32_t type);
/* The descriptor of a type, or NULL. Names are bpftool's ("xdp", "socket_filter"). */
const struct skep_prog_type_desc *skep_prog_type_by_id(uint32_t type);
const struct skep_prog_type_desc *skep_prog_type_by_name(const char *name);
/* Calls fn for each registered type in id order; stops at a nonzero return (returned);
 * -ENOMEM. */
int skep_prog_type_foreach(int (*fn)(void *arg, const struct skep_prog_type_desc *d), void *arg);

/* The field of d containing [off, off + size), or NULL. */
const struct skep_ctx_field *skep_ctx_field_at(const struct skep_prog_type_desc *d,
					       uint32_t off, uint32_t size);
/* Whether a program of type d may access [off, off + size) with access (SKEP_CTX_READ
 * or SKEP_CTX_WRITE) as the kernel's is_valid_access; 0 if yes, else -EACCES with why
 * (e.g. "write to xdp_md.data (off 0) is not allowed"). */
int skep_ctx_access_check(const struct skep_prog_type_desc *d, uint32_t off, uint32_t size,
			  int access, char *why, size_t whylen);
/* Whether helper id is allowed for programs of type d. */
int skep_prog_type_allows_helper(const struct skep_prog_type_desc *d, uint32_t id);

/* Whether programs of type d can run helper id in Skep: 1 when the type binds an
 * implementation or skep_helper_runs(id); 0 when calls to it are only verified. */
int skep_prog_type_helper_runs(const struct skep_prog_type_desc *d, uint32_t id);

/* Give a program a type before loading it (0 = plain memory program, the default): the
 * load then rewrites its context accesses, and the type's helper implementations are
 * bound. 0, -ENOENT (unknown type), -EBUSY (a program is already loaded with another
 * type). */
int skep_prog_set_type(skep_prog *p, uint32_t type);
uint32_t skep_prog_type(const skep_prog *p);

#ifdef __cplusplus
}
#endif
#endif
