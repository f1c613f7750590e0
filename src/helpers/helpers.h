/* The helper layer's internals: every family's implementations (one file each) and
 * the pieces they share. Helpers take and return raw registers (skep_helper_fn). */
#ifndef SKEP_HELPERS_INT_H
#define SKEP_HELPERS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "skep/helpers.h"

typedef uint64_t u64;
#define HELPER(name) uint64_t hlp_##name(u64 r1, u64 r2, u64 r3, u64 r4, u64 r5)
#define PTR(r) ((void *)(uintptr_t)(r))
#define RET(err) ((uint64_t)(int64_t)(err))

/* maps.c */
HELPER(map_lookup_elem); HELPER(map_update_elem); HELPER(map_delete_elem);
HELPER(map_push_elem); HELPER(map_pop_elem); HELPER(map_peek_elem);
HELPER(map_lookup_percpu_elem); HELPER(spin_lock); HELPER(spin_unlock);
/* callbacks.c (callers' r12 reaches them through EXEC_CB_HELPER) */
HELPER(loop); HELPER(for_each_map_elem);
/* time.c */
HELPER(ktime_get_ns); HELPER(ktime_get_boot_ns); HELPER(ktime_get_coarse_ns);
HELPER(ktime_get_tai_ns); HELPER(jiffies64);
/* printk.c */
HELPER(trace_printk); HELPER(trace_vprintk); HELPER(snprintf);
/* strings.c */
HELPER(strncmp); HELPER(strtol); HELPER(strtoul);
/* probe.c */
HELPER(probe_read); HELPER(probe_read_str);
/* ringbuf.c */
HELPER(ringbuf_output); HELPER(ringbuf_reserve); HELPER(ringbuf_submit);
HELPER(ringbuf_discard); HELPER(ringbuf_query); HELPER(perf_event_output);
/* misc.c */
HELPER(get_prandom_u32); HELPER(get_smp_processor_id); HELPER(get_numa_node_id);
HELPER(get_current_pid_tgid); HELPER(get_current_uid_gid); HELPER(get_current_comm);
HELPER(get_func_ip); HELPER(get_attach_cookie); HELPER(send_signal);
HELPER(send_signal_thread); HELPER(csum_diff);
/* stack.c */
HELPER(get_stackid); HELPER(get_stack);

/* probe.c: fault-tolerant reads of this process's memory. probe_copy: 0 or -EFAULT
 * (dst zeroed); probe_str: bytes copied including the NUL (size when truncated), 0 for
 * size 0, or -EFAULT (dst zeroed), as strncpy_from_kernel_nofault. */
int probe_copy(void *dst, const void *src, size_t size);
long probe_str(char *dst, const void *src, size_t size);

/* printk.c: the kernel's bpf_bprintf_prepare + bstr_printf: format fmt (at most fmt_size
 * bytes, NUL within them) with args[0..nargs) into out (size bytes, NUL-terminated if
 * size > 0). Returns the length of the full output (without NUL) or -EINVAL/-ENOSPC. */
int bprintf(char *out, size_t size, const char *fmt, size_t fmt_size, const uint64_t *args,
	    size_t nargs);

/* tracepipe.c: append one message (NUL-terminated) to the trace pipe. */
void trace_pipe_write(const char *msg);

/* misc.c: the calling thread's comm (prctl PR_GET_NAME) */
void current_comm(char comm[16]);

#endif
