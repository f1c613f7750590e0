/* Global data and bpf-to-bpf calls.  .rodata holds the configuration the loader sets
 * before load (the port to bounce, whether to swap MAC addresses), .data a table with
 * initial values the program updates, .bss counters.  The work is split into noinline
 * functions, so the object has real subprogram calls (BPF_PSEUDO_CALL). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* One struct, so a loader without a skeleton finds the fields at fixed offsets. */
const volatile struct {
	__u16 bounce_port;   /* UDP port to send back (7: echo) */
	__u8 swap_macs;      /* swap source and destination MAC addresses first */
} cfg = {7, 0};

__u64 weights[4] = {1, 10, 100, 1000};  /* .data: added to score per packet kind */
__u64 packets, bounced, score;          /* .bss */
__u32 last_len;

static __noinline int kind_of(struct ethhdr *eth, void *end)
{
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return 0;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || ip->ihl != 5)
		return 1;
	if (ip->protocol != IPPROTO_UDP)
		return 2;
	struct udphdr *uh = (void *)(ip + 1);
	if ((void *)(uh + 1) > end)
		return 2;
	return uh->dest == bpf_htons(cfg.bounce_port) ? 3 : 2;
}

static __noinline void swap(__u8 *a, __u8 *b, int n)
{
	for (int i = 0; i < n; i++) {
		__u8 t = a[i];
		a[i] = b[i];
		b[i] = t;
	}
}

static __noinline __u64 account(int kind, __u32 len)
{
	packets++;
	last_len = len;
	weights[kind & 3] += 1;   /* the table learns too */
	score += weights[kind & 3];
	return score;
}

SEC("xdp")
int bounce(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return XDP_ABORTED;
	int kind = kind_of(eth, end);
	account(kind, (__u32)(end - data));
	if (kind != 3)
		return XDP_PASS;
	bounced++;
	if (cfg.swap_macs)
		swap(eth->h_dest, eth->h_source, ETH_ALEN);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
