/* malloc/free per call site, like bcc's mallocstacks: a uprobe on libc's malloc reads
 * the return address from the stack at entry (*(u64 *)SP: the call site) and counts
 * calls and bytes per site, with a log2 histogram of the sizes per site; a uprobe on
 * free counts frees.
 *
 *   skep trace build/examples/mallocstacks.o -- ./build/victims/allocs
 *
 * Histogram convention of `skep trace` (see tools/skep/cmd_trace.c): a map whose name
 * starts with "hist" and whose value is an array of integers is one log2 histogram per
 * key (slot 0: value 0, slot k: [2^(k-1), 2^k)). */
#ifndef __TARGET_ARCH_x86
#define __TARGET_ARCH_x86
#endif
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define SLOTS 40

struct site_stats {
	__u64 mallocs;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);                 /* call site: the return address */
	__type(value, struct site_stats);
} sites SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);                 /* call site */
	__type(value, __u64[SLOTS]);        /* log2 histogram of the sizes asked for */
} hist_sites SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} frees SEC(".maps");

static __always_inline __u32 log2l(__u64 v)
{
	__u32 r = 0;
	for (int i = 0; i < 64 && v; i++) {   /* bounded: the verifier sees 64 at most */
		v >>= 1;
		r++;
	}
	return r;   /* 0 for 0, k for [2^(k-1), 2^k) */
}

SEC("uprobe/libc.so.6:malloc")
int BPF_KPROBE(malloc_enter, __u64 size)
{
	__u64 site = 0;
	bpf_probe_read_user(&site, sizeof site, (void *)PT_REGS_SP(ctx));
	struct site_stats zero = {}, *s = bpf_map_lookup_elem(&sites, &site);
	if (!s) {
		bpf_map_update_elem(&sites, &site, &zero, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&sites, &site);
		if (!s)
			return 0;
	}
	__sync_fetch_and_add(&s->mallocs, 1);
	__sync_fetch_and_add(&s->bytes, size);

	__u64 *h = bpf_map_lookup_elem(&hist_sites, &site);
	if (!h) {
		__u64 empty[SLOTS] = {};
		bpf_map_update_elem(&hist_sites, &site, empty, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hist_sites, &site);
		if (!h)
			return 0;
	}
	__u32 slot = log2l(size);
	if (slot < SLOTS)
		__sync_fetch_and_add(&h[slot], 1);
	return 0;
}

SEC("uprobe/libc.so.6:free")
int BPF_KPROBE(free_enter, void *ptr)
{
	__u32 k = 0;
	__u64 *n = bpf_map_lookup_elem(&frees, &k);
	if (n && ptr)
		__sync_fetch_and_add(n, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
