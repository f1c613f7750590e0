/* A tc classifier: reads the DSCP of IPv4/IPv6 packets, sets skb->mark (0x100 | dscp),
 * skb->priority (the class, dscp >> 3) and skb->tc_classid (1:class+1), drops
 * lower-effort traffic (DSCP 1, RFC 8622) with TC_ACT_SHOT, and re-marks IPv4 packets
 * claiming network control (CS6/CS7) to best effort, fixing the header checksum
 * incrementally (RFC 1624).  Counts packets per class (PERCPU_HASH). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);    /* class */
	__type(value, __u64);  /* packets */
} class_count SEC(".maps");

static __always_inline void count(__u32 cls)
{
	__u64 one = 1, *v = bpf_map_lookup_elem(&class_count, &cls);
	if (v)
		*v += 1;
	else
		bpf_map_update_elem(&class_count, &cls, &one, BPF_NOEXIST);
}

/* Replace the TOS byte, keeping ECN, and fix the checksum: HC' = ~(~HC + ~m + m'). */
static __always_inline void remark(struct iphdr *ip, __u8 dscp)
{
	__u16 *w = (__u16 *)ip, old = *w;
	ip->tos = (__u8)(dscp << 2 | (ip->tos & 3));
	__u32 sum = (__u16)~ip->check + (__u16)~old + *w;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	ip->check = (__u16)~sum;
}

SEC("tc")
int classify(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u8 dscp;
	if ((void *)(eth + 1) > end)
		return TC_ACT_OK;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > end)
			return TC_ACT_OK;
		dscp = ip->tos >> 2;
		if (dscp >= 48) {
			remark(ip, 0);
			dscp = 0;
		}
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > end)
			return TC_ACT_OK;
		dscp = (__u8)((ip6->priority << 4 | ip6->flow_lbl[0] >> 4) >> 2);
	} else {
		return TC_ACT_OK;
	}
	__u32 cls = dscp >> 3;
	count(cls);
	if (dscp == 1)
		return TC_ACT_SHOT;
	skb->mark = 0x100 | dscp;
	skb->priority = cls;
	skb->tc_classid = (1 << 16) | (cls + 1);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
