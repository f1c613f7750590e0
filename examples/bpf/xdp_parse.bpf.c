/* XDP packet parser and counter: Ethernet -> IPv4/IPv6 -> TCP/UDP with the bounds
 * checks the verifier asks for.  Counts packets per protocol (PERCPU_ARRAY), bytes per
 * IPv4 source (HASH), drops UDP to port 9 (discard), passes the rest. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

enum { C_OTHER, C_ARP, C_IPV4, C_IPV6, C_TCP, C_UDP, C_DROP, C_SHORT, C_NR };

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, C_NR);
	__type(key, __u32);
	__type(value, __u64);
} proto_count SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);    /* IPv4 source, network order */
	__type(value, __u64);  /* bytes */
} src_bytes SEC(".maps");

static __always_inline void count(__u32 k)
{
	__u64 *v = bpf_map_lookup_elem(&proto_count, &k);
	if (v)
		*v += 1;
}

static __always_inline int l4(void *p, void *end, __u8 proto)
{
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = p;
		if ((void *)(th + 1) > end)
			return count(C_SHORT), XDP_DROP;
		count(C_TCP);
	} else if (proto == IPPROTO_UDP) {
		struct udphdr *uh = p;
		if ((void *)(uh + 1) > end)
			return count(C_SHORT), XDP_DROP;
		count(C_UDP);
		if (uh->dest == bpf_htons(9))
			return count(C_DROP), XDP_DROP;
	}
	return XDP_PASS;
}

SEC("xdp")
int xdp_parse(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return count(C_SHORT), XDP_DROP;
	if (eth->h_proto == bpf_htons(ETH_P_ARP))
		return count(C_ARP), XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > end || ip->ihl < 5)
			return count(C_SHORT), XDP_DROP;
		count(C_IPV4);
		__u32 src = ip->saddr;
		__u64 len = end - data, *b = bpf_map_lookup_elem(&src_bytes, &src);
		if (b)
			__sync_fetch_and_add(b, len);
		else
			bpf_map_update_elem(&src_bytes, &src, &len, BPF_NOEXIST);
		if (ip->frag_off & bpf_htons(0x1fff))
			return XDP_PASS;  /* a later fragment: no L4 header */
		return l4((void *)ip + ip->ihl * 4, end, ip->protocol);
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > end)
			return count(C_SHORT), XDP_DROP;
		count(C_IPV6);
		return l4(ip6 + 1, end, ip6->nexthdr);
	}
	count(C_OTHER);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
