/* Global data (.data, .rodata, .bss, strings), BTF-defined maps, .text subprograms
 * called from several programs, several programs in one section. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct pair { __u32 a; __u64 b; });
} pairs SEC(".maps");

int data_var = 7;
long data_arr[3] = {1, 2, 3};
const volatile __u32 ro_limit = 100;
const volatile char ro_tag[8] = "skep";
__u64 bss_hits;
__u32 bss_last;

__attribute__((noinline)) int add3(int a, int b, int c)
{
	return a + b + c;
}

static __attribute__((noinline)) int twice(int x)
{
	return add3(x, x, 0);
}

SEC("xdp")
int xdp_one(struct xdp_md *ctx)
{
	bss_hits++;
	bss_last = ro_limit;
	return twice(data_var) + (int)data_arr[2];
}

SEC("xdp")
int xdp_two(struct xdp_md *ctx)
{
	return add3(1, 2, ro_tag[0]);
}

SEC("socket")
int sock_prog(struct __sk_buff *skb)
{
	__u32 k = 1;
	__u64 *v = bpf_map_lookup_elem(&counts, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	bpf_printk("hi %d", k);
	return twice(3);
}

char LICENSE[] SEC("license") = "GPL";
