/* The program types' internals: the built-in descriptors (one file per family), the
 * real in-memory contexts the packet types run on, and the packet helpers. */
#ifndef SKEP_PROGTYPES_H
#define SKEP_PROGTYPES_H

#include <stddef.h>
#include <stdint.h>

#include "skep/progtype.h"
#include "skep/testrun.h"

/* Built-in descriptors (registry.c lists them). */
extern const struct skep_prog_type_desc pt_socket_filter, pt_sched_cls, pt_sched_act,
	pt_cgroup_skb, pt_xdp, pt_kprobe, pt_tracepoint, pt_raw_tracepoint, pt_perf_event,
	pt_cgroup_sock, pt_cgroup_sock_addr, pt_sock_ops;

/* Sizes of the kernel's test-run buffers (x86-64, 4 KiB pages). */
#define PT_PAGE_SIZE        4096u
#define PT_ETH_HLEN         14u
#define PT_XDP_HEADROOM     256u   /* XDP_PACKET_HEADROOM */
#define PT_SHINFO_SIZE      320u   /* SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) */
#define PT_XDP_FRAME_SIZE   40u    /* sizeof(struct xdp_frame): adjust_head/meta keep it free */
#define PT_SKB_HEADROOM     66u    /* NET_SKB_PAD + NET_IP_ALIGN (64 + 2) */
#define PT_XDP_MAX_FRAGS    17u    /* MAX_SKB_FRAGS */
#define PT_CTX_MAGIC        0x736b6570u  /* "skep": marks a real context for the helpers */

/* The real context of XDP programs (what r1 points to): struct xdp_md's pointers are
 * 64-bit here, and the buffer bounds the adjust helpers need follow. */
struct pt_xdp_ctx {
	uint64_t data, data_end, data_meta;
	uint32_t ingress_ifindex, rx_queue_index, egress_ifindex, magic;
	uint64_t hard_start;   /* start of the buffer (headroom begins here) */
	uint32_t frame_sz;     /* buffer size, as xdp_buff.frame_sz */
	uint32_t nr_frags;     /* fragments past the linear part (multi-buffer packets) */
	uint64_t frags;        /* PT_XDP_MAX_FRAGS pages of PT_PAGE_SIZE, one per fragment */
	uint32_t frag_len[PT_XDP_MAX_FRAGS];
};

/* The real context of __sk_buff programs: the UAPI struct's scalar fields at their own
 * offsets, then the packet pointers and what the helpers need. */
#define PT_SKB_UAPI_SIZE 192u
#define PT_BPF_SOCK_SIZE 80u   /* struct bpf_sock */
struct pt_skb_ctx {
	uint8_t uapi[PT_SKB_UAPI_SIZE];
	uint64_t data, data_end, data_meta;
	uint64_t pkt;          /* skb->data: what ld_abs and bpf_skb_load_bytes read */
	uint32_t pkt_len;      /* skb->len */
	uint32_t magic;
	uint8_t sock[PT_BPF_SOCK_SIZE];  /* the test run's socket as a struct bpf_sock, what
					  * __sk_buff.sk points to (its fields in UAPI layout) */
};

/* Packet helpers (pkt_helpers.c). */
uint64_t pt_xdp_adjust_head(uint64_t ctx, uint64_t off, uint64_t, uint64_t, uint64_t);
uint64_t pt_xdp_adjust_tail(uint64_t ctx, uint64_t off, uint64_t, uint64_t, uint64_t);
uint64_t pt_xdp_adjust_meta(uint64_t ctx, uint64_t off, uint64_t, uint64_t, uint64_t);
uint64_t pt_skb_load_bytes(uint64_t ctx, uint64_t off, uint64_t to, uint64_t len, uint64_t);
uint64_t pt_sk_fullsock(uint64_t sk, uint64_t, uint64_t, uint64_t, uint64_t);

/* Helper ids every type with the kernel's bpf_base_func_proto may call (privileged):
 * map access, time, random, tail calls, ring buffers, spin locks, timers, loops,
 * strings, printk, dynptrs, and the probe_read family. */
#define PT_HELPERS_BASE \
	1, 2, 3,                 /* map_lookup_elem, map_update_elem, map_delete_elem */ \
	5, 6, 7, 8, 12,          /* ktime_get_ns, trace_printk, get_prandom_u32, get_smp_processor_id, tail_call */ \
	35, 42,                  /* get_current_task, get_numa_node_id */ \
	87, 88, 89, 93, 94,      /* map_push/pop/peek_elem, spin_lock, spin_unlock */ \
	112, 113, 114, 115, 118, /* probe_read_user, _kernel, _user_str, _kernel_str, jiffies64 */ \
	125, 130, 131, 132, 133, 134, /* ktime_get_boot_ns, ringbuf_output/reserve/submit/discard/query */ \
	149, 153, 154, 158, 160, /* snprintf_btf, per_cpu_ptr, this_cpu_ptr, get_current_task_btf, ktime_get_coarse_ns */ \
	164, 165, 169, 170, 171, 172, /* for_each_map_elem, snprintf, timer_init/set_callback/start/cancel */ \
	177, 181, 182, 194, 195, /* trace_vprintk, loop, strncmp, kptr_xchg, map_lookup_percpu_elem */ \
	197, 198, 199, 200, 201, 202, 203, /* dynptr_from_mem, ringbuf_*_dynptr, dynptr_read/write/data */ \
	208, 209                 /* ktime_get_tai_ns, user_ringbuf_drain */
#define PT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A test-run error: sets env->err, returns err. */
int pt_fail(struct skep_test_env *env, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Copy ctx_in into a zeroed buffer of size as the kernel's bpf_ctx_init: a ctx_in larger
 * than size must be zero past it (-E2BIG). Returns 0 with *out malloc'ed (NULL when
 * neither ctx_in nor ctx_out is given), or a negative errno. */
int pt_ctx_init(const struct skep_test_run_opts *o, size_t size, void **out,
		struct skep_test_env *env);
/* Write ctx (size bytes) to ctx_out as bpf_ctx_finish: -ENOSPC when it does not fit. */
int pt_ctx_finish(struct skep_test_run_opts *o, const void *ctx, uint32_t size);
/* Write data to data_out as bpf_test_finish: -ENOSPC when it does not fit. */
int pt_data_finish(struct skep_test_run_opts *o, const void *data, uint32_t size);

#endif
