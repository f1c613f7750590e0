/* Ring buffer output: one small event per packet (length, EtherType, IPv4 addresses
 * and protocol), written with bpf_ringbuf_output and read on the host; an ARRAY keeps
 * the sequence number and the count of failed outputs. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct event {
	__u32 seq;
	__u16 len;
	__u16 ethertype;   /* host order */
	__u32 saddr, daddr;
	__u8 proto, ttl, pad[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);    /* 0 next sequence number, 1 failed outputs */
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

SEC("xdp")
int xdp_events(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct event e = {};
	__u32 k0 = 0, k1 = 1;
	__u64 *seq = bpf_map_lookup_elem(&stats, &k0), *lost = bpf_map_lookup_elem(&stats, &k1);
	if (!seq || !lost)
		return XDP_ABORTED;
	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	e.seq = (__u32)(*seq)++;
	e.len = (__u16)(end - data);
	e.ethertype = bpf_ntohs(eth->h_proto);
	struct iphdr *ip = (void *)(eth + 1);
	if (eth->h_proto == bpf_htons(ETH_P_IP) && (void *)(ip + 1) <= end) {
		e.saddr = ip->saddr;
		e.daddr = ip->daddr;
		e.proto = ip->protocol;
		e.ttl = ip->ttl;
	}
	if (bpf_ringbuf_output(&events, &e, sizeof e, 0))
		*lost += 1;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
