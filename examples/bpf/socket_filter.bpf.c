/* Socket filters that accept only TCP to port 80: the whole packet (its length) or
 * nothing (0).  A socket filter sees the packet from the network header on.
 * http_only reads with bpf_skb_load_bytes, http_ldabs with the legacy ld_abs/ld_ind
 * instructions; both count accepted and rejected packets (ARRAY) and hits per source
 * port (LRU_HASH). */
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* ld_abs/ld_ind: the value in host order, as the instructions give it */
unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);   /* 0 rejected, 1 accepted */
	__type(key, __u32);
	__type(value, __u64);
} verdicts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 64);
	__type(key, __u16);       /* TCP source port, host order */
	__type(value, __u32);
} sport_hits SEC(".maps");

static __always_inline int verdict(struct __sk_buff *skb, int ok, __u16 sport)
{
	__u32 k = ok;
	__u64 *v = bpf_map_lookup_elem(&verdicts, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	if (!ok)
		return 0;
	__u32 one = 1, *h = bpf_map_lookup_elem(&sport_hits, &sport);
	if (h)
		*h += 1;
	else
		bpf_map_update_elem(&sport_hits, &sport, &one, BPF_ANY);
	return skb->len;
}

SEC("socket")
int http_only(struct __sk_buff *skb)
{
	struct iphdr ip;
	struct tcphdr th;
	if (skb->protocol != bpf_htons(ETH_P_IP) || bpf_skb_load_bytes(skb, 0, &ip, sizeof ip) ||
	    ip.protocol != IPPROTO_TCP || (ip.frag_off & bpf_htons(0x1fff)))
		return verdict(skb, 0, 0);
	if (bpf_skb_load_bytes(skb, ip.ihl * 4, &th, sizeof th))
		return verdict(skb, 0, 0);
	return verdict(skb, th.dest == bpf_htons(80), bpf_ntohs(th.source));
}

SEC("socket")
int http_ldabs(struct __sk_buff *skb)
{
	if (skb->protocol != bpf_htons(ETH_P_IP) || load_byte(skb, offsetof(struct iphdr, protocol)) != IPPROTO_TCP ||
	    (load_half(skb, offsetof(struct iphdr, frag_off)) & 0x1fff))
		return verdict(skb, 0, 0);
	__u32 hl = (load_byte(skb, 0) & 0xf) * 4;
	__u16 dport = load_half(skb, hl + offsetof(struct tcphdr, dest));
	__u16 sport = load_half(skb, hl + offsetof(struct tcphdr, source));
	return verdict(skb, dport == 80, sport);
}

char LICENSE[] SEC("license") = "GPL";
