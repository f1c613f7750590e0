/* Uprobe programs as a libbpf user writes them, attached by tests/unit/test_attach.c to
 * its own functions by section name. (Built with -D__TARGET_ARCH_x86 by the Makefile;
 * the guard keeps it building by hand too.) */
#ifndef __TARGET_ARCH_x86
#define __TARGET_ARCH_x86
#endif
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

static void add(__u32 k, __u64 v)
{
	__u64 *p = bpf_map_lookup_elem(&counts, &k);
	if (p)
		__sync_fetch_and_add(p, v);
}

SEC("uprobe//proc/self/exe:v_six")
int BPF_KPROBE(on_six, long a, long b, long c, long d, long e)
{
	long f = ctx->r9;   /* PT_REGS_PARM6: not in older libbpf headers */
	add(0, 1);
	add(1, a + b + c + d + e + f);
	return 0;
}

SEC("uretprobe//proc/self/exe:v_fact")
int BPF_KRETPROBE(on_fact_ret, long rc)
{
	add(2, rc);
	return 0;
}

/* no target: attached through skep_attach_uprobe with a cookie */
SEC("uprobe")
int BPF_KPROBE(no_target)
{
	add(3, bpf_get_attach_cookie(ctx));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
