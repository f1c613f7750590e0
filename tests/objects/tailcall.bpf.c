/* Tail calls through a prog array initialised in BTF (`.values = { [i] = &prog }`): the
 * loader fills the slots once the programs are loaded, as libbpf does.  The packet's
 * byte 0 picks the slot, byte 1 is a counter the stages increment or report. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

int stage1(struct xdp_md *ctx);
int stage2(struct xdp_md *ctx);
int loop(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, int (void *));
} jmp SEC(".maps") = {
	.values = { [0] = (void *)&stage1, [2] = (void *)&stage2, [3] = (void *)&loop },
};

/* only stage1 uses it: the entry's run reaches it by a tail call */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

#define PKT(ctx, p) \
	__u8 *p = (__u8 *)(long)(ctx)->data; \
	if (p + 2 > (__u8 *)(long)(ctx)->data_end) \
		return 0

SEC("xdp")
int entry(struct xdp_md *ctx)
{
	PKT(ctx, p);
	bpf_tail_call(ctx, &jmp, p[0]);
	return 100 + p[0];               /* empty slot or out of range */
}

SEC("xdp")
int stage1(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 *h = bpf_map_lookup_elem(&hits, &k);
	if (h)
		__sync_fetch_and_add(h, 1);
	bpf_tail_call(ctx, &jmp, 2);
	return 11;
}

SEC("xdp")
int stage2(struct xdp_md *ctx)
{
	PKT(ctx, p);
	return 20 + p[1];
}

/* tail-calls itself: runs until the 33-tail-call limit makes the call fall through */
SEC("xdp")
int loop(struct xdp_md *ctx)
{
	PKT(ctx, p);
	p[1]++;
	bpf_tail_call(ctx, &jmp, 3);
	return 1000 + p[1];
}

char LICENSE[] SEC("license") = "GPL";
