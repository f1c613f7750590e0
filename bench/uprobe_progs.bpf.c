/* The programs bench_uprobe.c attaches, the same object for Skep and the kernel. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

SEC("uprobe")
int empty(void *ctx)
{
	return 0;
}

SEC("uprobe")
int count(void *ctx)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&hits, &k), one = 1;
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&hits, &k, &one, BPF_NOEXIST);
	return 0;
}

SEC("uretprobe")
int ret_empty(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
