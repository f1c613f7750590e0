/* bpf-to-bpf calls: .text subprograms (global and static) shared by several programs,
 * a callback passed by address, several programs in one section.  No maps and no
 * helpers besides bpf_loop, so the programs run as plain memory programs. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__attribute__((noinline)) int mul_add(int a, int b, int c)
{
	return a * b + c;
}

static __attribute__((noinline)) int square_plus(int x)
{
	return mul_add(x, x, 1);
}

static __attribute__((noinline)) int depth3(int x)
{
	return square_plus(x) + mul_add(x, 2, 0);
}

SEC("xdp")
int calc_a(struct xdp_md *ctx)
{
	return square_plus(6);           /* 37 */
}

SEC("xdp")
int calc_b(struct xdp_md *ctx)
{
	return depth3(3) + mul_add(1, 1, 1);   /* 10 + 6 + 2 = 18 */
}

SEC("tc")
int calc_c(struct __sk_buff *skb)
{
	return mul_add(7, 6, 0);         /* 42 */
}

static int loop_cb(__u32 i, void *ctx)
{
	*(int *)ctx += i;
	return 0;
}

SEC("xdp")
int with_loop(struct xdp_md *ctx)
{
	int sum = 0;
	bpf_loop(4, loop_cb, &sum, 0);
	return sum;                      /* 0 + 1 + 2 + 3 = 6 */
}

char LICENSE[] SEC("license") = "GPL";
