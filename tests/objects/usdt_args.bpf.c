/* A USDT program written for libbpf (BPF_USDT, bpf_usdt_arg, bpf_usdt_cookie from
 * <bpf/usdt.bpf.h>): records the arguments of skeptest:hit (tests/unit/test_usdt.c)
 * into a map. Also loads in the kernel with libbpf. */
#ifndef __TARGET_ARCH_x86
#define __TARGET_ARCH_x86   /* bpf_tracing.h's PT_REGS_* (clang -target bpf defines no arch) */
#endif
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <stdbool.h>          /* usdt.bpf.h (libbpf 1.1) uses bool without it */
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

struct seen {
	__u64 count;
	__s64 a, b, c, d, e;   /* the five arguments, as bpf_usdt_arg returns them */
	__s64 argcnt;
	__u64 cookie;
	__s64 missing;         /* bpf_usdt_arg of argument 5: -ENOENT */
	__u64 ip;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct seen);
} seen SEC(".maps");

SEC("usdt")
int BPF_USDT(on_hit, int a, long b, short c, long d, unsigned char e)
{
	__u32 k = a < 0;   /* slot 1 for the second site's negative a */
	struct seen *s = bpf_map_lookup_elem(&seen, &k);
	long v;
	if (!s)
		return 0;
	s->count++;
	s->a = a;
	s->b = b;
	s->c = c;
	s->d = d;
	s->e = e;
	s->argcnt = bpf_usdt_arg_cnt(ctx);
	s->cookie = bpf_usdt_cookie(ctx);
	s->missing = bpf_usdt_arg(ctx, 5, &v);
	s->ip = PT_REGS_IP(ctx);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
