/* Skep: helper functions by the kernel's ids, their prototypes (what the verifier checks
 * a call against, in the kernel's vocabulary), helpers an embedding application adds,
 * and the trace pipe bpf_trace_printk writes to.
 *
 * Every program gets Skep's implementation of each helper it calls at load time
 * (skep_prog_load binds them, as the kernel makes every allowed helper available);
 * skep_prog_set_helper, before or after load, overrides one binding. */
#ifndef SKEP_HELPERS_H
#define SKEP_HELPERS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "prog.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Argument types: the kernel's enum bpf_arg_type (base type in the low byte, flags
 * above, as the kernel composes them). */
enum skep_arg_type {
	SKEP_ARG_DONTCARE = 0,         /* unused argument */
	SKEP_ARG_CONST_MAP_PTR,        /* a map (lddw map_fd) */
	SKEP_ARG_PTR_TO_MAP_KEY,       /* key_size readable bytes */
	SKEP_ARG_PTR_TO_MAP_VALUE,     /* value_size bytes */
	SKEP_ARG_PTR_TO_MEM,           /* memory sized by the next argument (or fixed size) */
	SKEP_ARG_CONST_SIZE,           /* size of the previous argument, > 0 */
	SKEP_ARG_CONST_SIZE_OR_ZERO,   /* size of the previous argument, may be 0 */
	SKEP_ARG_PTR_TO_CTX,
	SKEP_ARG_ANYTHING,             /* any scalar or pointer */
	SKEP_ARG_PTR_TO_SPIN_LOCK,     /* a struct bpf_spin_lock inside a map value */
	SKEP_ARG_PTR_TO_RINGBUF_MEM,   /* a record from bpf_ringbuf_reserve */
	SKEP_ARG_CONST_ALLOC_SIZE_OR_ZERO, /* size of the memory returned */
	SKEP_ARG_PTR_TO_FUNC,          /* a callback: lddw src=BPF_PSEUDO_FUNC */
	SKEP_ARG_PTR_TO_STACK,
	SKEP_ARG_PTR_TO_CONST_STR,     /* NUL-terminated string in a read-only map value */
	SKEP_ARG__BASE = 0xff,
	SKEP_ARG_MAYBE_NULL = 1 << 8,  /* PTR_MAYBE_NULL */
	SKEP_ARG_RDONLY = 1 << 9,      /* MEM_RDONLY: the helper only reads */
	SKEP_ARG_UNINIT = 1 << 10,     /* MEM_UNINIT: may be uninitialised, the helper fills it */
	SKEP_ARG_WRITE = 1 << 11,      /* MEM_WRITE */
	SKEP_ARG_FIXED_SIZE = 1 << 12, /* MEM_FIXED_SIZE: size in skep_helper_proto.arg_size */
};
#define SKEP_ARG_PTR_TO_UNINIT_MEM (SKEP_ARG_PTR_TO_MEM | SKEP_ARG_UNINIT | SKEP_ARG_WRITE)
#define SKEP_ARG_PTR_TO_MEM_OR_NULL (SKEP_ARG_PTR_TO_MEM | SKEP_ARG_MAYBE_NULL)
#define SKEP_ARG_PTR_TO_STACK_OR_NULL (SKEP_ARG_PTR_TO_STACK | SKEP_ARG_MAYBE_NULL)
#define SKEP_ARG_PTR_TO_CTX_OR_NULL (SKEP_ARG_PTR_TO_CTX | SKEP_ARG_MAYBE_NULL)
#define SKEP_ARG_PTR_TO_UNINIT_MAP_VALUE (SKEP_ARG_PTR_TO_MAP_VALUE | SKEP_ARG_UNINIT | SKEP_ARG_WRITE)

/* Return types: the kernel's enum bpf_return_type. */
enum skep_ret_type {
	SKEP_RET_INTEGER = 0,
	SKEP_RET_VOID,
	SKEP_RET_PTR_TO_MAP_VALUE,
	SKEP_RET_PTR_TO_MEM,           /* size from the ARG_CONST_ALLOC_SIZE_OR_ZERO argument */
	SKEP_RET__BASE = 0xff,
	SKEP_RET_MAYBE_NULL = 1 << 8,
	SKEP_RET_RINGBUF = 1 << 9,     /* MEM_RINGBUF: must be submitted or discarded */
};
#define SKEP_RET_PTR_TO_MAP_VALUE_OR_NULL (SKEP_RET_PTR_TO_MAP_VALUE | SKEP_RET_MAYBE_NULL)
#define SKEP_RET_PTR_TO_MEM_OR_NULL (SKEP_RET_PTR_TO_MEM | SKEP_RET_MAYBE_NULL)
#define SKEP_RET_PTR_TO_RINGBUF_MEM_OR_NULL \
	(SKEP_RET_PTR_TO_MEM | SKEP_RET_RINGBUF | SKEP_RET_MAYBE_NULL)

/* A helper's prototype, as the kernel's struct bpf_func_proto. */
struct skep_helper_proto {
	const char *name;        /* "bpf_map_lookup_elem" */
	uint32_t id;
	uint16_t ret;            /* enum skep_ret_type */
	uint16_t arg[5];         /* enum skep_arg_type; SKEP_ARG_DONTCARE past the last */
	uint32_t arg_size[5];    /* bytes, for SKEP_ARG_FIXED_SIZE */
	uint8_t gpl_only;        /* the kernel refuses it to non-GPL programs */
	uint8_t might_sleep;
	uint8_t pkt_access;      /* may be given packet pointers */
};

/* Kernel ids of the helpers Skep implements (the kernel's BPF_FUNC_*). */
enum {
	SKEP_FUNC_map_lookup_elem = 1, SKEP_FUNC_map_update_elem = 2, SKEP_FUNC_map_delete_elem = 3,
	SKEP_FUNC_probe_read = 4, SKEP_FUNC_ktime_get_ns = 5, SKEP_FUNC_trace_printk = 6,
	SKEP_FUNC_get_prandom_u32 = 7, SKEP_FUNC_get_smp_processor_id = 8, SKEP_FUNC_tail_call = 12,
	SKEP_FUNC_get_current_pid_tgid = 14, SKEP_FUNC_get_current_uid_gid = 15,
	SKEP_FUNC_get_current_comm = 16, SKEP_FUNC_perf_event_output = 25, SKEP_FUNC_get_stackid = 27,
	SKEP_FUNC_csum_diff = 28, SKEP_FUNC_get_numa_node_id = 42, SKEP_FUNC_probe_read_str = 45,
	SKEP_FUNC_get_stack = 67, SKEP_FUNC_map_push_elem = 87, SKEP_FUNC_map_pop_elem = 88,
	SKEP_FUNC_map_peek_elem = 89, SKEP_FUNC_spin_lock = 93, SKEP_FUNC_spin_unlock = 94,
	SKEP_FUNC_strtol = 105, SKEP_FUNC_strtoul = 106, SKEP_FUNC_send_signal = 109,
	SKEP_FUNC_probe_read_user = 112, SKEP_FUNC_probe_read_kernel = 113,
	SKEP_FUNC_probe_read_user_str = 114, SKEP_FUNC_probe_read_kernel_str = 115,
	SKEP_FUNC_send_signal_thread = 117, SKEP_FUNC_jiffies64 = 118,
	SKEP_FUNC_ktime_get_boot_ns = 125, SKEP_FUNC_ringbuf_output = 130,
	SKEP_FUNC_ringbuf_reserve = 131, SKEP_FUNC_ringbuf_submit = 132,
	SKEP_FUNC_ringbuf_discard = 133, SKEP_FUNC_ringbuf_query = 134,
	SKEP_FUNC_ktime_get_coarse_ns = 160, SKEP_FUNC_for_each_map_elem = 164,
	SKEP_FUNC_snprintf = 165, SKEP_FUNC_get_func_ip = 173, SKEP_FUNC_get_attach_cookie = 174,
	SKEP_FUNC_trace_vprintk = 177, SKEP_FUNC_loop = 181, SKEP_FUNC_strncmp = 182,
	SKEP_FUNC_map_lookup_percpu_elem = 195, SKEP_FUNC_ktime_get_tai_ns = 208,
};

/* Embedder helpers have ids from SKEP_HELPER_USER_BASE up (below SKEP_HELPER_USER_END);
 * the kernel's range below is refused. Programs index their helper table by id, so the
 * base is kept small: 4096 leaves the kernel room for 20 times its current helpers. */
#define SKEP_HELPER_USER_BASE 0x1000u
#define SKEP_HELPER_USER_END  0x2000u

/* The prototype of helper id (Skep's, or a registered one); NULL if unknown. */
const struct skep_helper_proto *skep_helper_proto(uint32_t id);
/* The implementation programs get by default; NULL if none. */
skep_helper_fn skep_helper_impl(uint32_t id);
/* Id of a helper by name ("bpf_loop" or "loop"), or -1. */
int64_t skep_helper_by_name(const char *name);

/* For tools (skep feature probe): a helper's name by id (its prototype's, else the
 * kernel's name for a kernel id; NULL if unknown); whether Skep can run it (an
 * implementation exists, or the engines do it: tail calls) rather than only verify
 * calls to it; and the tail-call chain limit (the kernel's MAX_TAIL_CALL_CNT). */
const char *skep_helper_name(uint32_t id);
int skep_helper_runs(uint32_t id);
uint32_t skep_helper_tail_call_limit(void);

/* Register an embedder helper: id in [SKEP_HELPER_USER_BASE, SKEP_HELPER_USER_END),
 * name (copied), fn and its prototype (copied; proto->id and name are set from the
 * arguments). Programs loaded afterwards get it by default. -EINVAL for an id in the
 * kernel's range, a NULL fn/proto or a bad prototype; -EEXIST if the id or name is
 * taken. */
int skep_helper_register(uint32_t id, const char *name, skep_helper_fn fn,
			 const struct skep_helper_proto *proto);
/* Remove a registered helper (programs that have it keep their binding). -ENOENT. */
int skep_helper_unregister(uint32_t id);

/* Bind the default implementation of every helper p calls that is not bound (what
 * skep_prog_load does). 0 or a negative errno. */
int skep_prog_bind_helpers(skep_prog *p);

/* Per-thread facts helpers report, set by whoever runs programs (the attach layer):
 * bpf_get_func_ip and bpf_get_attach_cookie return them (0 by default). */
void skep_helper_set_func_ip(uint64_t ip);
void skep_helper_set_attach_cookie(uint64_t cookie);

/* ---- the trace pipe: bpf_trace_printk and bpf_trace_vprintk append a line to it, the
 * host reads lines back (consuming them, as the kernel's trace_pipe). It is a ring
 * buffer map of SKEP_TRACE_PIPE_SIZE bytes; lines that do not fit are dropped and
 * counted. By default each process has its own; skep_trace_pipe_use(name) shares one
 * pinned under that name (skep_map_pin_dir()) with every process that uses it, as the
 * kernel's single trace buffer (the environment variable SKEP_TRACE_PIPE names it too). */
#define SKEP_TRACE_PIPE_SIZE (1u << 20)
#define SKEP_TRACE_MSG_MAX 512   /* bytes of one message, as the kernel's MAX_BPRINTF_BUF */

struct skep_trace_line {
	uint64_t ts_ns;          /* CLOCK_MONOTONIC */
	uint32_t pid, tid, cpu;
	char comm[16];
	const char *msg;         /* the formatted text, without newline */
};

/* Switch this process to the pipe pinned as name (created if needed), or NULL for a
 * private one. 0 or a negative errno. */
int skep_trace_pipe_use(const char *name);
/* Consume lines: cb per line in order (a negative return stops and is returned).
 * Waits up to timeout_ms (-1: forever, 0: not at all) for the first. Returns the number
 * of lines consumed or a negative errno. */
typedef int (*skep_trace_line_fn)(void *ctx, const struct skep_trace_line *line);
int skep_trace_pipe_consume(skep_trace_line_fn cb, void *ctx, int timeout_ms);
/* Read whole lines as the kernel's trace_pipe prints them
 * ("<comm>-<tid> [<cpu>] <sec>.<usec>: bpf_trace_printk: <msg>\n") into buf, NUL
 * terminated; a line that does not fit stays for the next read. Returns the bytes read
 * (0 when nothing came within timeout_ms) or a negative errno. */
ssize_t skep_trace_pipe_read(char *buf, size_t size, int timeout_ms);
/* Format one line as skep_trace_pipe_read does; returns the length snprintf would. */
int skep_trace_line_format(const struct skep_trace_line *line, char *buf, size_t size);
/* Lines dropped because the pipe was full. */
uint64_t skep_trace_pipe_dropped(void);

#ifdef __cplusplus
}
#endif
#endif
