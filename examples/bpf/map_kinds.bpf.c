/* The other map kinds, from one XDP program over IPv4 packets:
 *   LPM_TRIE        source prefixes -> class (the program installs them itself)
 *   LRU_PERCPU_HASH packets per class
 *   QUEUE, STACK    the last four sources, oldest first and newest first
 *   BLOOM_FILTER    sources seen before (stats[0] new, stats[1] repeated)
 *   ARRAY_OF_MAPS   per class an inner ARRAY holding the bytes of that class
 * Every packet passes; non-IPv4 ones are only counted in stats[2]. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct lpm_v4 {
	__u32 prefixlen;
	__u32 addr;       /* network order */
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_v4);
	__type(value, __u32);
} prefixes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} class_packets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 4);
	__type(value, __u32);
} recent_q SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__uint(max_entries, 4);
	__type(value, __u32);
} recent_s SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 64);
	__uint(map_extra, 3);   /* hash functions */
	__type(value, __u32);
} seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} bytes_c1 SEC(".maps"), bytes_c2 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner);
} by_class SEC(".maps") = {
	.values = { [1] = &bytes_c1, [2] = &bytes_c2 },
};

static __always_inline void bump(void *map, __u32 k, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(map, &k);
	if (v)
		__sync_fetch_and_add(v, n);
}

static __always_inline void add_prefix(__u32 plen, __u32 addr, __u32 cls)
{
	struct lpm_v4 k = {plen, bpf_htonl(addr)};
	bpf_map_update_elem(&prefixes, &k, &cls, BPF_NOEXIST);
}

SEC("xdp")
int xdp_maps(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) {
		bump(&stats, 2, 1);
		return XDP_PASS;
	}
	add_prefix(8, 0x0a000000, 1);    /* 10/8 */
	add_prefix(16, 0x0a010000, 2);   /* 10.1/16 */
	add_prefix(16, 0xc0a80000, 3);   /* 192.168/16 */

	__u32 src = ip->saddr, cls = 0;
	struct lpm_v4 k = {32, src};
	__u32 *c = bpf_map_lookup_elem(&prefixes, &k);
	if (c)
		cls = *c;

	__u64 one = 1, *n = bpf_map_lookup_elem(&class_packets, &cls);
	if (n)
		*n += 1;
	else
		bpf_map_update_elem(&class_packets, &cls, &one, BPF_NOEXIST);

	bpf_map_push_elem(&recent_q, &src, BPF_EXIST);   /* full: drop the oldest */
	bpf_map_push_elem(&recent_s, &src, BPF_EXIST);

	if (bpf_map_peek_elem(&seen, &src) == 0) {
		bump(&stats, 1, 1);
	} else {
		bump(&stats, 0, 1);
		bpf_map_push_elem(&seen, &src, 0);
	}

	void *inner = bpf_map_lookup_elem(&by_class, &cls);
	if (inner)
		bump(inner, 0, end - data);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
